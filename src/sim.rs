//! The discrete-event engine: one run of one scenario with one seed.
//!
//! `Sim::run` pops events in (time, insertion) order, hands each to the process
//! it concerns, applies the effects the handler recorded, and records what
//! happened. Invariants: only this loop advances time; every random draw
//! comes from a named stream; nothing iterates a hash-ordered collection.

use crate::adversary::Adversary;
use crate::check::{Checker, EndReason, RunEnd, Verdict};
use crate::clock::Clock;
use crate::event::EventQueue;
use crate::id::{AppId, MsgId, NodeId, TimerId};
use crate::net::{Arrival, Decision, Network, Route};
use crate::process::{Command, Ctx, Dest, Effect, Incoming, Message, Payload, Process};
use crate::rng::{SimRng, Stream};
use crate::scenario::{Fault, Scenario, ScheduledFault, Target};
use crate::stats::{LatencyCollector, LatencyHistogram};
use crate::time::SimTime;
use crate::trace::{AdversaryAction, DropReason, EventKind, FaultAction, MessageCounts, TraceEvent, TraceHasher};
use rustc_hash::FxHashSet;
use serde::Serialize;
use std::collections::VecDeque;

/// A panic in protocol code, caught and located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolPanic {
    pub seed: u64,
    pub at: SimTime,
    /// The scheduler event (1-based) during which the panic happened.
    pub event: u64,
    pub message: String,
}

/// Run `scenario` with `seed`, processes made by `factory`, catching a panic in protocol code.
pub fn run_catching<P, F>(scenario: &Scenario, seed: u64, options: &RunOptions, factory: F) -> Result<RunResult, ProtocolPanic>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    let mut sim = Sim::new(scenario, seed, options, factory);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run())) {
        Ok(end) => Ok(sim.finish(end)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with no message".to_string());
            let (at, event) = sim.position();
            Err(ProtocolPanic { seed, at, event, message })
        }
    }
}

/// What a caller wants kept from a run beyond its summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Keep every trace event (memory grows with run length).
    pub record_trace: bool,
    /// Collect application delivery latencies (command to deliver) into a histogram, for sweeps.
    pub latency: bool,
    /// Record every random network decision (for `msgsim shrink`).
    pub decisions: bool,
}

/// Application-level totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AppCounts {
    /// Messages the workload handed to a running process.
    pub commands: u64,
    /// Commands that found their node down.
    pub refused: u64,
    /// Deliveries to applications.
    pub delivered: u64,
    /// Messages a protocol gave up on and put in the dead-letter queue (one per recipient).
    pub dead_lettered: u64,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub seed: u64,
    pub end: RunEnd,
    pub trace_hash: u64,
    pub trace_events: u64,
    /// Scheduler events processed.
    pub steps: u64,
    pub messages: MessageCounts,
    pub app: AppCounts,
    /// (check name, verdict), in the scenario's order.
    pub verdicts: Vec<(&'static str, Verdict)>,
    /// What swarm mode drew for this seed, one line each.
    pub swarm: Vec<String>,
    pub trace: Option<Vec<TraceEvent>>,
    /// Command-to-deliver latencies, if `RunOptions::latency` asked for them.
    pub latency: Option<LatencyHistogram>,
    /// Every random network decision, if `RunOptions::decisions` asked for them.
    pub decisions: Option<Vec<Decision>>,
}

/// Scheduler events.
enum Ev<M, T> {
    Deliver {
        from: NodeId,
        to: NodeId,
        id: MsgId,
        corrupted: bool,
        msg: M,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        id: TimerId,
        timer: T,
    },
    /// The `k`-th message of workload generator `generator`.
    Workload {
        generator: u32,
        k: u64,
    },
    /// A command held while its node was paused.
    HeldCommand {
        node: NodeId,
        cmd: Command,
    },
    Fault {
        index: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Up,
    Down,
    Paused,
}

struct Node<P: Process> {
    process: Option<P>,
    status: Status,
    /// Bumped by every crash, so timers set before it never fire after it.
    incarnation: u32,
    rng: SimRng,
    clock: Clock,
    /// Events that arrived while the node was paused, in arrival order.
    held: VecDeque<Ev<P::Msg, P::Timer>>,
}

/// Records the trace: hash, counters, checkers and, if asked, the events.
struct Recorder {
    hasher: TraceHasher,
    messages: MessageCounts,
    app: AppCounts,
    checkers: Vec<(&'static str, Box<dyn Checker>)>,
    events: Option<Vec<TraceEvent>>,
    latency: Option<LatencyCollector>,
}

impl Recorder {
    #[inline]
    fn record(&mut self, time: SimTime, kind: EventKind) {
        let event = TraceEvent { time, kind };
        self.hasher.add(&event);
        self.messages.count(&kind);
        match kind {
            EventKind::Command { .. } => self.app.commands += 1,
            EventKind::CommandRefused { .. } => self.app.refused += 1,
            EventKind::Deliver { .. } => self.app.delivered += 1,
            EventKind::DeadLetter { .. } => self.app.dead_lettered += 1,
            _ => {}
        }
        for (_, c) in &mut self.checkers {
            c.observe(&event);
        }
        if let Some(events) = &mut self.events {
            events.push(event);
        }
        if let Some(latency) = &mut self.latency {
            latency.observe(time, &kind);
        }
    }
}

pub struct Sim<'s, P: Process, F> {
    scenario: &'s Scenario,
    factory: F,
    seed: u64,
    now: SimTime,
    steps: u64,
    queue: EventQueue<Ev<P::Msg, P::Timer>>,
    nodes: Vec<Node<P>>,
    network: Network,
    net_rng: SimRng,
    workload_rng: SimRng,
    adversary: Option<Adversary<P::Msg>>,
    /// The handler's effects; reused so that handling an event allocates nothing.
    effects: Vec<Effect<P::Msg, P::Timer>>,
    /// Timers set and neither fired nor cancelled. Membership tests only.
    live_timers: FxHashSet<TimerId>,
    next_timer: u64,
    next_msg: u64,
    next_app: u64,
    in_flight: u64,
    /// The scenario's faults and those swarm mode drew, by time.
    faults: Vec<ScheduledFault>,
    swarm: Vec<String>,
    recorder: Recorder,
}

impl<'s, P, F> Sim<'s, P, F>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    /// A run of `scenario` with `seed`, whose processes `factory` creates (at
    /// boot and at every restart).
    pub fn new(scenario: &'s Scenario, seed: u64, options: &RunOptions, factory: F) -> Self {
        let n = scenario.node_count();
        let mut default_link = scenario.network.clone();
        let mut faults = scenario.faults.clone();
        let mut swarm = Vec::new();
        if let Some(spec) = &scenario.swarm {
            let mut rng = SimRng::new(seed, Stream::Swarm);
            crate::swarm::draw(spec, scenario, &mut rng, &mut default_link, &mut faults, &mut swarm);
        }
        let mut network = Network::new(default_link, scenario.links.clone(), scenario.topology.clone(), n);
        if let Some(decisions) = &scenario.replay {
            network.replay(decisions);
        }
        if options.decisions {
            network.start_recording();
        }
        let nodes = (0..n)
            .map(|i| Node {
                process: None,
                status: Status::Up,
                incarnation: 0,
                rng: SimRng::new(seed, Stream::Node(i as u32)),
                clock: scenario.clocks[i],
                held: VecDeque::new(),
            })
            .collect();
        let checkers = scenario.checks.iter().map(|c| (c.name(), c.build(&scenario.cluster))).collect();
        Sim {
            scenario,
            factory,
            seed,
            now: SimTime::ZERO,
            steps: 0,
            queue: EventQueue::default(),
            nodes,
            network,
            net_rng: SimRng::new(seed, Stream::Network),
            workload_rng: SimRng::new(seed, Stream::Workload),
            adversary: scenario.adversary.clone().map(|spec| Adversary::new(spec, seed, n)),
            effects: Vec::new(),
            live_timers: FxHashSet::default(),
            next_timer: 0,
            next_msg: 0,
            next_app: 0,
            in_flight: 0,
            faults,
            swarm,
            recorder: Recorder {
                hasher: TraceHasher::default(),
                messages: MessageCounts::default(),
                app: AppCounts::default(),
                checkers,
                events: options.record_trace.then(Vec::new),
                latency: options.latency.then(LatencyCollector::default),
            },
        }
    }

    /// Run to the end. If a handler panics, `position` still says where.
    pub fn run(&mut self) -> RunEnd {
        self.run_loop()
    }

    /// Where the run is: simulated time and scheduler events processed.
    pub fn position(&self) -> (SimTime, u64) {
        (self.now, self.steps)
    }

    /// Judge the checks and hand over everything the run produced.
    pub fn finish(mut self, end: RunEnd) -> RunResult {
        let decisions = self.network.take_recording();
        let verdicts = self.recorder.checkers.iter().map(|(name, c)| (*name, c.verdict(&end))).collect();
        RunResult {
            seed: self.seed,
            end,
            trace_hash: self.recorder.hasher.finish(),
            trace_events: self.recorder.hasher.events(),
            steps: self.steps,
            messages: self.recorder.messages,
            app: self.recorder.app,
            verdicts,
            swarm: self.swarm,
            trace: self.recorder.events,
            latency: self.recorder.latency.map(LatencyCollector::finish),
            decisions,
        }
    }

    fn run_loop(&mut self) -> RunEnd {
        self.boot();
        let horizon = self.scenario.horizon;
        let limits = self.scenario.limits;
        let reason = loop {
            let Some(time) = self.queue.peek_time() else { break EndReason::Quiescent };
            if time > horizon {
                self.now = horizon;
                break EndReason::Horizon;
            }
            if self.steps >= limits.max_events {
                break EndReason::MaxEvents;
            }
            let (time, ev) = self.queue.pop().expect("peeked");
            self.now = time;
            self.steps += 1;
            self.dispatch(ev);
            if self.in_flight > limits.max_in_flight {
                break EndReason::MaxInFlight;
            }
        };
        RunEnd { reason, at: self.now, max_latency_ns: self.network.max_latency_ns() }
    }

    /// Schedule the faults and the first message of every generator, then start every process.
    fn boot(&mut self) {
        for (i, f) in self.faults.iter().enumerate() {
            self.queue.push(f.at, Ev::Fault { index: i as u32 });
        }
        for (i, g) in self.scenario.workload.iter().enumerate() {
            self.queue.push(g.start, Ev::Workload { generator: i as u32, k: 0 });
        }
        for i in 0..self.nodes.len() {
            self.start_process(NodeId(i as u32));
        }
    }

    fn start_process(&mut self, node: NodeId) {
        self.nodes[node.index()].process = Some((self.factory)(node));
        self.with_process(node, |p, ctx| p.on_start(ctx));
    }

    fn dispatch(&mut self, ev: Ev<P::Msg, P::Timer>) {
        match ev {
            Ev::Deliver { from, to, id, corrupted, msg } => {
                self.in_flight -= 1;
                match self.nodes[to.index()].status {
                    Status::Down => self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason: DropReason::NodeDown }),
                    Status::Paused => self.nodes[to.index()].held.push_back(Ev::Deliver { from, to, id, corrupted, msg }),
                    Status::Up => {
                        self.recorder.record(self.now, EventKind::Receive { from, to, msg: id, corrupted });
                        let incoming = Incoming { from, msg, checksum_ok: !corrupted };
                        self.with_process(to, |p, ctx| p.on_message(ctx, incoming));
                    }
                }
            }
            Ev::Timer { node, incarnation, id, timer } => {
                let slot = &mut self.nodes[node.index()];
                if slot.incarnation != incarnation || !self.live_timers.contains(&id) {
                    // Cancelled, or set before a crash: the timer died with its process.
                    self.live_timers.remove(&id);
                    return;
                }
                if slot.status == Status::Paused {
                    slot.held.push_back(Ev::Timer { node, incarnation, id, timer });
                    return;
                }
                self.live_timers.remove(&id);
                self.recorder.record(self.now, EventKind::Timer { node, timer: id });
                self.with_process(node, |p, ctx| p.on_timer(ctx, timer));
            }
            Ev::Workload { generator, k } => self.workload(generator, k),
            Ev::HeldCommand { node, cmd } => self.command(node, cmd),
            Ev::Fault { index } => self.fault(index),
        }
    }

    fn workload(&mut self, generator: u32, k: u64) {
        let g = &self.scenario.workload[generator as usize];
        if k + 1 < g.count {
            let next = g.start.saturating_add(g.every_ns.saturating_mul(k + 1));
            self.queue.push(next, Ev::Workload { generator, k: k + 1 });
        }
        let dest = match g.target {
            Target::Node(n) => Dest::Node(n),
            Target::Multicast(group) => Dest::Group(group),
            Target::Broadcast => Dest::All,
            Target::AnyOf(group) => {
                let members = self.scenario.cluster.members(group);
                let others = members.len() - usize::from(members.contains(&g.from));
                let mut pick = self.workload_rng.below(others as u64) as usize;
                // Skip the sender: the pick-th member that is not `from`.
                let mut chosen = members[0];
                for &m in members {
                    if m == g.from {
                        continue;
                    }
                    if pick == 0 {
                        chosen = m;
                        break;
                    }
                    pick -= 1;
                }
                Dest::Node(chosen)
            }
            Target::AnyOther => {
                let pick = self.workload_rng.below(self.nodes.len() as u64 - 1) as u32;
                Dest::Node(NodeId(if pick >= g.from.0 { pick + 1 } else { pick }))
            }
        };
        let payload = Payload::new(AppId(self.next_app), g.from, g.size_bytes);
        self.next_app += 1;
        self.command(g.from, Command::Send { payload, dest });
    }

    fn command(&mut self, node: NodeId, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        match self.nodes[node.index()].status {
            Status::Down => self.recorder.record(self.now, EventKind::CommandRefused { node, app: payload.id }),
            Status::Paused => self.nodes[node.index()].held.push_back(Ev::HeldCommand { node, cmd }),
            Status::Up => {
                self.recorder.record(self.now, EventKind::Command { node, app: payload.id, dest });
                self.with_process(node, |p, ctx| p.on_command(ctx, cmd));
            }
        }
    }

    fn fault(&mut self, index: u32) {
        let fault = self.faults[index as usize].fault.clone();
        let record = |this: &mut Self, action, node| this.recorder.record(this.now, EventKind::Fault { action, node, index });
        match fault {
            Fault::Crash(n) => {
                let slot = &mut self.nodes[n.index()];
                if slot.status == Status::Down {
                    return; // a drawn crash of a node already down: nothing happens
                }
                slot.status = Status::Down;
                slot.process = None;
                slot.incarnation += 1;
                let held = std::mem::take(&mut slot.held);
                record(self, FaultAction::Crash, Some(n));
                // Whatever the node was holding dies with it.
                for ev in held {
                    match ev {
                        Ev::Deliver { from, to, id, .. } => {
                            self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason: DropReason::NodeDown })
                        }
                        Ev::HeldCommand { node, cmd: Command::Send { payload, .. } } => {
                            self.recorder.record(self.now, EventKind::CommandRefused { node, app: payload.id })
                        }
                        _ => {}
                    }
                }
            }
            Fault::Restart(n) => {
                if self.nodes[n.index()].status != Status::Down {
                    return;
                }
                self.nodes[n.index()].status = Status::Up;
                record(self, FaultAction::Restart, Some(n));
                self.start_process(n);
            }
            Fault::Pause(n) => {
                if self.nodes[n.index()].status != Status::Up {
                    return;
                }
                self.nodes[n.index()].status = Status::Paused;
                record(self, FaultAction::Pause, Some(n));
            }
            Fault::Resume(n) => {
                if self.nodes[n.index()].status != Status::Paused {
                    return;
                }
                self.nodes[n.index()].status = Status::Up;
                record(self, FaultAction::Resume, Some(n));
                // Held events run now, in the order they arrived.
                let held = std::mem::take(&mut self.nodes[n.index()].held);
                for ev in held {
                    if let Ev::Deliver { .. } = ev {
                        self.in_flight += 1;
                    }
                    self.queue.push(self.now, ev);
                }
            }
            Fault::Partition(sides) => {
                self.network.partitions.split(&sides);
                record(self, FaultAction::Partition, None);
            }
            Fault::OneWay { from, to } => {
                self.network.partitions.one_way(&from, &to);
                record(self, FaultAction::Partition, None);
            }
            Fault::Heal => {
                self.network.partitions.heal();
                record(self, FaultAction::Heal, None);
            }
        }
    }

    /// Call a handler of `node`'s process, then apply what it asked for.
    #[inline]
    fn with_process(&mut self, node: NodeId, handler: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Timer>)) {
        let slot = &mut self.nodes[node.index()];
        let Some(process) = slot.process.as_mut() else { return };
        let mut ctx = Ctx {
            now_local: slot.clock.local(self.now),
            me: node,
            cluster: &self.scenario.cluster,
            rng: &mut slot.rng,
            effects: &mut self.effects,
            next_timer: &mut self.next_timer,
        };
        handler(process, &mut ctx);
        if !self.effects.is_empty() {
            self.apply_effects(node);
        }
    }

    fn apply_effects(&mut self, node: NodeId) {
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.transmit(node, to, msg),
                Effect::Multicast { group, msg } => {
                    for i in 0..self.scenario.cluster.members(group).len() {
                        let to = self.scenario.cluster.members(group)[i];
                        if to != node {
                            self.transmit(node, to, msg.clone());
                        }
                    }
                }
                Effect::Broadcast { msg } => {
                    for to in 0..self.nodes.len() as u32 {
                        if to != node.0 {
                            self.transmit(node, NodeId(to), msg.clone());
                        }
                    }
                }
                Effect::SetTimer { id, after_local_ns, timer } => {
                    let slot = &self.nodes[node.index()];
                    let at = self.now.saturating_add(slot.clock.real_duration(after_local_ns));
                    self.live_timers.insert(id);
                    self.queue.push(at, Ev::Timer { node, incarnation: slot.incarnation, id, timer });
                }
                Effect::CancelTimer { id } => {
                    self.live_timers.remove(&id);
                }
                Effect::Deliver { payload } => {
                    self.recorder.record(
                        self.now,
                        EventKind::Deliver { node, app: payload.id, origin: payload.origin, damaged: payload.is_damaged() },
                    );
                }
                Effect::DeadLetter { payload, to } => {
                    self.recorder.record(self.now, EventKind::DeadLetter { node, to, app: payload.id });
                }
                Effect::Call { app, outcome, latency_ns } => {
                    self.recorder.record(self.now, EventKind::Call { node, app, outcome, latency_ns });
                }
                Effect::Breaker { from, to } => self.recorder.record(self.now, EventKind::Breaker { node, from, to }),
                Effect::Suspicion { of, suspected } => self.recorder.record(self.now, EventKind::Suspicion { node, of, suspected }),
            }
        }
        // Keep the allocation for the next handler.
        self.effects = effects;
    }

    /// Put one message on the link `from -> to` and schedule its arrival(s).
    fn transmit(&mut self, from: NodeId, to: NodeId, mut msg: P::Msg) {
        assert!(to.index() < self.nodes.len(), "protocol bug: node {} sent to {}, which does not exist", from.0, to.0);
        let id = MsgId(self.next_msg);
        self.next_msg += 1;
        let size = msg.wire_size();
        self.recorder.record(self.now, EventKind::Send { from, to, msg: id, size });
        if let Some(seen) = self.adversary.as_mut().and_then(|a| a.intercept(from, to, &mut msg)) {
            for action in seen.actions {
                self.recorder.record(self.now, EventKind::Adversary { action, from, to, msg: id });
            }
            for (action, claimed, receiver, copy) in seen.injected {
                self.inject(action, claimed, receiver, copy);
            }
            if seen.dropped {
                return;
            }
        }
        match self.network.route(id, from, to, size, self.now, &mut self.net_rng) {
            Route::Dropped(reason) => self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason }),
            Route::Delivered { first, duplicate } => {
                let copy = duplicate.map(|_| msg.clone());
                self.schedule_arrival(from, to, id, first, msg);
                if let (Some(dup), Some(copy)) = (duplicate, copy) {
                    self.recorder.record(self.now, EventKind::Duplicate { from, to, msg: id });
                    self.schedule_arrival(from, to, id, dup, copy);
                }
            }
        }
    }

    /// Hand the adversary's `msg` to `to` as if `from` had sent it. It arrives at once: the
    /// adversary is on the path, and a protocol's defences must not hinge on its timing.
    fn inject(&mut self, action: AdversaryAction, from: NodeId, to: NodeId, msg: P::Msg) {
        let id = MsgId(self.next_msg);
        self.next_msg += 1;
        self.recorder.record(self.now, EventKind::Adversary { action, from, to, msg: id });
        self.in_flight += 1;
        self.queue.push(self.now, Ev::Deliver { from, to, id, corrupted: false, msg });
    }

    fn schedule_arrival(&mut self, from: NodeId, to: NodeId, id: MsgId, arrival: Arrival, mut msg: P::Msg) {
        if arrival.corrupted {
            self.recorder.record(self.now, EventKind::Corrupt { from, to, msg: id });
            msg.corrupt();
        }
        self.in_flight += 1;
        self.queue.push(arrival.at, Ev::Deliver { from, to, id, corrupted: arrival.corrupted, msg });
    }
}

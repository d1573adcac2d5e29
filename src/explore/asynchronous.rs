//! The asynchronous model of `msgsim explore`: no clock, and any enabled event may happen next.
//!
//! An event is enabled when it could happen in an asynchronous system: the delivery of any
//! message in flight (or, as its link allows, its loss, corruption or duplication), the firing
//! of any timer set and not cancelled (timers may fire at any time after they are set), a
//! node's next workload command, and a crash, restart, partition or heal that the scenario's
//! fault script names (at any step: the script's times are not kept). A run of this model is a sequence of such [`Step`]s; the search is breadth-first over
//! them, from the state every process reaches at boot (its `on_start` and the workload's
//! commands due at time 0, which happen "at the start", before anything else).
//!
//! Processes are not copied: a state is reached by running its path from the boot, so every
//! protocol can be explored, and each state is known by a fingerprint:
//! - per node, the process's own [`Process::fingerprint`] if it provides one (with its random
//!   stream's position, its counters and, when the scenario has checks, the order of what it
//!   reported to them), else the hash of every input it handled, in order, which is sound for
//!   any deterministic process;
//! - the messages in flight, the timers set, each node's next command and the faults used.
//!
//! Two paths with one fingerprint are one state, explored once. With input histories this
//! merges exactly the interleavings that differ in the order of independent events at
//! different nodes (they commute); with process fingerprints it merges more. Checks are judged
//! at the end of each path that is explored to its end: quiescent (nothing is enabled), or cut
//! by the depth bound (judged as a run stopped by its horizon, so nothing still in flight is
//! counted missing). A check that depends on the relative order of events at different nodes
//! is judged on the one interleaving of each class that the search keeps.
//!
//! Events are stamped with their step number (one microsecond per step), so timing checks
//! judge orders, not durations: the model has no time.

use crate::id::{AppId, MsgId, NodeId, TimerId};
use crate::net::{LinkModel, Partitions};
use crate::process::{Command, Ctx, Dest, Effect, Incoming, Message, Payload, Process, StateHasher};
use crate::rng::{SimRng, Stream};
use crate::scenario::{Arrivals, Fault, Scenario, Target};
use crate::sim::{ProtocolPanic, RunOptions, RunResult};
use crate::time::SimTime;
use crate::trace::{DropReason, EventKind, FaultAction, MessageCounts, TraceEvent, TraceHasher};
use crate::verdict::{EndReason, Outcome, RunEnd, Verdict};
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash, Hasher};

use super::{Bounds, CheckTally, Exploration, Violation};

/// One event of an asynchronous run, named by the ids the trace shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The workload command of application message `a` (its node's next one).
    Command(AppId),
    /// Message `m` in flight arrives intact.
    Deliver(MsgId),
    /// Message `m` is lost (a fault).
    Lose(MsgId),
    /// Message `m` arrives and a copy stays in flight (a fault).
    Duplicate(MsgId),
    /// Message `m` arrives damaged (a fault).
    Corrupt(MsgId),
    /// Timer `t` fires.
    Timer(TimerId),
    /// The node crashes, as the fault script allows (a fault).
    Crash(NodeId),
    /// The node restarts, as the fault script allows.
    Restart(NodeId),
    /// The fault script's partition (or one-way cut) number `i` (its index in the script)
    /// begins: transmissions it cuts are dropped until a heal (a fault).
    Partition(u32),
    /// The fault script's heal number `i` ends every cut in force.
    Heal(u32),
}

impl Step {
    /// Whether the step is a fault (counted against `max_faults`).
    pub fn is_fault(self) -> bool {
        matches!(self, Step::Lose(_) | Step::Duplicate(_) | Step::Corrupt(_) | Step::Crash(_) | Step::Partition(_))
    }

    /// The step as a scenario's `schedule` list writes it (`Deliver(3)`, `Crash("n1")`).
    pub fn ron(self, scenario: &Scenario) -> String {
        match self {
            Step::Command(a) => format!("Command({})", a.0),
            Step::Deliver(m) => format!("Deliver({})", m.0),
            Step::Lose(m) => format!("Lose({})", m.0),
            Step::Duplicate(m) => format!("Duplicate({})", m.0),
            Step::Corrupt(m) => format!("Corrupt({})", m.0),
            Step::Timer(t) => format!("Timer({})", t.0),
            Step::Crash(n) => format!("Crash({:?})", scenario.cluster.name(n)),
            Step::Restart(n) => format!("Restart({:?})", scenario.cluster.name(n)),
            Step::Partition(i) => format!("Partition({i})"),
            Step::Heal(i) => format!("Heal({i})"),
        }
    }

    /// A whole schedule as a RON list, a few steps to a line.
    pub fn list_ron(steps: &[Step], scenario: &Scenario) -> String {
        let words: Vec<String> = steps.iter().map(|s| s.ron(scenario)).collect();
        let lines: Vec<String> = words.chunks(8).map(|c| c.join(", ")).collect();
        match lines.len() {
            0 => "[]".to_string(),
            1 => format!("[{}]", lines[0]),
            _ => format!("[\n        {},\n    ]", lines.join(",\n        ")),
        }
    }
}

/// Why a scenario cannot run in the asynchronous model, if it cannot.
pub fn refuse(scenario: &Scenario) -> Option<String> {
    let why = if scenario.swarm.is_some() {
        "a swarm: the asynchronous model takes its faults from the fault script"
    } else if scenario.adversary.is_some() {
        "an adversary: the asynchronous model has no on-path attacker"
    } else if !scenario.mailboxes.is_empty() {
        "mailboxes: the asynchronous model hands every message straight to its process"
    } else if !matches!(scenario.topology, crate::net::Topology::FullMesh) {
        "a topology: the asynchronous model links every pair of nodes"
    } else if scenario.workload.iter().any(|g| !matches!(g.arrivals, Arrivals::Every(_))) {
        "drawn arrivals: the asynchronous model issues each node's commands in their fixed order"
    } else if scenario.faults.iter().any(|f| matches!(f.fault, Fault::Pause(_) | Fault::Resume(_))) {
        "a pause in the script: the asynchronous model explores crashes, restarts, partitions and heals"
    } else if commands(scenario, 0).len() > MAX_COMMANDS {
        "more than 10,000 workload commands: exploring is for small scenarios"
    } else {
        return None;
    };
    Some(format!("with {why}"))
}

/// A wire entry's cost beside its size: the map's node and slack.
const FLIGHT_OVERHEAD_BYTES: u64 = 64;

/// Workload commands at most: a scenario to explore is small.
const MAX_COMMANDS: usize = 10_000;

/// The workload's commands within the horizon, by time (generators in file order at equal
/// times), each with its application id (its index) and its node. Targets and sizes are drawn
/// from the workload stream in this order, as a run draws them.
fn commands(scenario: &Scenario, seed: u64) -> Vec<(SimTime, NodeId, Command)> {
    let mut due = Vec::new();
    for (gi, g) in scenario.workload.iter().enumerate() {
        let Arrivals::Every(every) = g.arrivals else { continue };
        for k in 0..g.count {
            let at = g.start.saturating_add(every.saturating_mul(k));
            if at > scenario.horizon || due.len() > MAX_COMMANDS {
                break;
            }
            due.push((at, gi, k));
        }
    }
    due.sort();
    let mut rng = SimRng::new(seed, Stream::Workload);
    let n = scenario.node_count() as u64;
    due.iter()
        .enumerate()
        .map(|(i, &(at, gi, _))| {
            let g = &scenario.workload[gi];
            let dest = match g.target {
                Target::Node(to) => Dest::Node(to),
                Target::Multicast(group) => Dest::Group(group),
                Target::Broadcast => Dest::All,
                Target::AnyOf(group) => {
                    let others: Vec<NodeId> = scenario.cluster.members(group).iter().copied().filter(|&m| m != g.from).collect();
                    Dest::Node(others[rng.below(others.len() as u64) as usize])
                }
                Target::AnyOther => {
                    let pick = rng.below(n - 1) as u32;
                    Dest::Node(NodeId(if pick >= g.from.0 { pick + 1 } else { pick }))
                }
            };
            let size = g.size.next(&mut rng);
            (at, g.from, Command::Send { payload: Payload::new(AppId(i as u64), g.from, size), dest })
        })
        .collect()
}

/// What every run of one search starts from: the workload's commands and each node's random
/// stream, made once (a stream's key schedule costs more than copying it).
struct Setup {
    commands: Vec<(SimTime, NodeId, Command)>,
    rngs: Vec<SimRng>,
}

impl Setup {
    fn new(scenario: &Scenario, seed: u64) -> Setup {
        let rngs = (0..scenario.node_count()).map(|i| SimRng::new(seed, Stream::Node(i as u32))).collect();
        Setup { commands: commands(scenario, seed), rngs }
    }
}

/// A message on the wire.
struct Flight<M> {
    from: NodeId,
    to: NodeId,
    msg: M,
    /// A copy the link already duplicated: it is not duplicated again.
    copy: bool,
}

/// One path's whole state: processes, the wire, timers, the workload's progress, and the trace.
struct World<'s, P: Process, F> {
    scenario: &'s Scenario,
    factory: F,
    n: u64,
    procs: Vec<Option<P>>,
    rngs: Vec<SimRng>,
    incarnation: Vec<u32>,
    /// Per node: the hash of every input handled, in order (crashes and restarts included).
    history: Vec<u64>,
    /// Per node: the hash of what it reported to the checks, in order.
    reported: Vec<u64>,
    /// Per node: transmissions made (a message's id is `count * n + node`).
    sent: Vec<u64>,
    /// Per node: the counters its context hands out (timer and call ids).
    next_timer: Vec<u64>,
    next_call: Vec<u64>,
    /// Per node: its commands (indices into `commands`) and how many were issued.
    queue: Vec<Vec<usize>>,
    issued: Vec<usize>,
    commands: &'s [(SimTime, NodeId, Command)],
    wire: BTreeMap<MsgId, Flight<P::Msg>>,
    /// Bytes the messages on the wire take, as the engine's in-flight budget counts them.
    wire_bytes: u64,
    /// The in-flight budget ran out (`max_in_flight` or `max_memory_mb`): the path ends here,
    /// as a run does, and what was sent past the budget is not put on the wire.
    over_budget: Option<EndReason>,
    /// Timers set and neither fired nor cancelled, by their trace id.
    timers: BTreeMap<TimerId, (NodeId, P::Timer)>,
    /// Per node: crashes and restarts the fault script still allows, and a fault's index.
    crashes: Vec<Vec<u32>>,
    restarts: Vec<Vec<u32>>,
    /// The script's partitions and heals not used yet (indices), and the cuts in force (indices).
    cuts: Vec<u32>,
    heals: Vec<u32>,
    active: Vec<u32>,
    partitions: Partitions,
    faults: usize,
    steps: u64,
    effects: Vec<Effect<P::Msg, P::Timer>>,
    events: Vec<TraceEvent>,
    messages: MessageCounts,
    /// What the process asked for that the model cannot do, if anything.
    unsupported: Option<&'static str>,
    /// Whether the scenario has checks (only then is what each node reports hashed).
    observed: bool,
    /// Whether to keep the trace's events.
    keep_events: bool,
}

impl<'s, P, F> World<'s, P, F>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    fn boot(scenario: &'s Scenario, setup: &'s Setup, factory: F, keep_events: bool) -> Self {
        let commands = &setup.commands[..];
        let n = scenario.node_count();
        let mut queue = vec![Vec::new(); n];
        for (i, (_, node, _)) in commands.iter().enumerate() {
            queue[node.index()].push(i);
        }
        let mut crashes = vec![Vec::new(); n];
        let mut restarts = vec![Vec::new(); n];
        let (mut cuts, mut heals) = (Vec::new(), Vec::new());
        for (i, f) in scenario.faults.iter().enumerate() {
            match f.fault {
                Fault::Crash(node) => crashes[node.index()].push(i as u32),
                Fault::Restart(node) => restarts[node.index()].push(i as u32),
                Fault::Partition(_) | Fault::OneWay { .. } => cuts.push(i as u32),
                Fault::Heal => heals.push(i as u32),
                Fault::Pause(_) | Fault::Resume(_) => {}
            }
        }
        let mut world = World {
            scenario,
            factory,
            n: n as u64,
            procs: (0..n).map(|_| None).collect(),
            rngs: setup.rngs.clone(),
            incarnation: vec![0; n],
            history: vec![0; n],
            reported: vec![0; n],
            sent: vec![0; n],
            next_timer: vec![0; n],
            next_call: vec![0; n],
            queue,
            issued: vec![0; n],
            commands,
            wire: BTreeMap::new(),
            wire_bytes: 0,
            over_budget: None,
            timers: BTreeMap::new(),
            crashes,
            restarts,
            cuts,
            heals,
            active: Vec::new(),
            partitions: Partitions::new(n),
            faults: 0,
            steps: 0,
            effects: Vec::new(),
            events: Vec::new(),
            messages: MessageCounts::default(),
            unsupported: None,
            observed: !scenario.checks.is_empty(),
            keep_events,
        };
        for i in 0..n {
            world.start(NodeId(i as u32));
        }
        // Commands due at time 0 happen at the start, before anything else can.
        for (i, &(at, node, _)) in commands.iter().enumerate() {
            if at == SimTime::ZERO {
                debug_assert_eq!(world.queue[node.index()].get(world.issued[node.index()]), Some(&i));
                world.apply(Step::Command(AppId(i as u64)));
            }
        }
        world
    }

    fn now(&self) -> SimTime {
        SimTime((self.steps + 1) * 1_000)
    }

    fn record(&mut self, kind: EventKind) {
        if self.observed
            && let Some(node) = reporter(&kind)
        {
            self.reported[node.index()] = mix(self.reported[node.index()], &kind);
        }
        self.messages.count(&kind);
        // Only checks read the events, and a schedule's run: an exploration without checks
        // keeps none.
        if self.keep_events {
            let time = self.now();
            self.events.push(TraceEvent { time, kind });
        }
    }

    fn input(&mut self, node: NodeId, what: impl Hash) {
        let mut h = StateHasher::default();
        self.history[node.index()].hash(&mut h);
        what.hash(&mut h);
        self.history[node.index()] = h.finish();
    }

    fn start(&mut self, node: NodeId) {
        self.procs[node.index()] = Some((self.factory)(node));
        self.with_process(node, |p, ctx| p.on_start(ctx));
    }

    /// The events that may happen next, in a fixed order, within the fault bound.
    fn enabled(&self, max_faults: usize, out: &mut Vec<Step>) {
        out.clear();
        let faults_left = self.faults < max_faults;
        for (i, q) in self.queue.iter().enumerate() {
            if let Some(&c) = q.get(self.issued[i]) {
                out.push(Step::Command(AppId(c as u64)));
            }
        }
        for (&id, f) in &self.wire {
            out.push(Step::Deliver(id));
            if faults_left {
                let link = model_of(self.scenario, f.from, f.to);
                if link.loss_ppb > 0 {
                    out.push(Step::Lose(id));
                }
                if link.duplicate_ppb > 0 && !f.copy {
                    out.push(Step::Duplicate(id));
                }
                if link.corrupt_ppb > 0 {
                    out.push(Step::Corrupt(id));
                }
            }
        }
        out.extend(self.timers.keys().map(|&t| Step::Timer(t)));
        for i in 0..self.procs.len() {
            let up = self.procs[i].is_some();
            if up && faults_left && !self.crashes[i].is_empty() {
                out.push(Step::Crash(NodeId(i as u32)));
            }
            if !up && !self.restarts[i].is_empty() {
                out.push(Step::Restart(NodeId(i as u32)));
            }
        }
        if faults_left {
            out.extend(self.cuts.iter().map(|&i| Step::Partition(i)));
        }
        if !self.active.is_empty() {
            out.extend(self.heals.first().map(|&i| Step::Heal(i)));
        }
    }

    /// Whether `step` may happen now (ignoring the fault bound).
    fn is_enabled(&self, step: Step) -> bool {
        let mut all = Vec::new();
        self.enabled(usize::MAX, &mut all);
        all.contains(&step)
    }

    /// Make `step` happen. It must be enabled.
    fn apply(&mut self, step: Step) {
        if step.is_fault() {
            self.faults += 1;
        }
        match step {
            Step::Command(app) => {
                let (_, node, cmd) = self.commands[app.0 as usize];
                self.issued[node.index()] += 1;
                let Command::Send { payload, dest } = cmd;
                if self.procs[node.index()].is_none() {
                    self.record(EventKind::CommandRefused { node, app });
                } else {
                    self.input(node, ("cmd", app));
                    self.record(EventKind::Command { node, app, dest });
                    self.with_process(node, |p, ctx| p.on_command(ctx, Command::Send { payload, dest }));
                }
            }
            Step::Deliver(id) | Step::Corrupt(id) | Step::Duplicate(id) => {
                let f = &self.wire[&id];
                let (from, to) = (f.from, f.to);
                let mut msg = if step == Step::Duplicate(id) {
                    self.record(EventKind::Duplicate { from, to, msg: id });
                    self.wire.get_mut(&id).expect("in flight").copy = true;
                    self.wire[&id].msg.clone()
                } else {
                    let msg = self.wire.remove(&id).expect("in flight").msg;
                    self.wire_bytes = self.wire_bytes.saturating_sub(Self::flight_bytes(&msg));
                    msg
                };
                let corrupted = step == Step::Corrupt(id);
                if corrupted {
                    self.record(EventKind::Corrupt { from, to, msg: id });
                    msg.corrupt();
                }
                if self.procs[to.index()].is_none() {
                    self.record(EventKind::Drop { from, to, msg: id, reason: DropReason::NodeDown });
                } else {
                    self.input(to, ("recv", id, corrupted));
                    self.record(EventKind::Receive { from, to, msg: id, corrupted });
                    let incoming = Incoming { from, msg, checksum_ok: !corrupted, call: None };
                    self.with_process(to, |p, ctx| p.on_message(ctx, incoming));
                }
            }
            Step::Lose(id) => {
                let f = self.wire.remove(&id).expect("in flight");
                self.wire_bytes = self.wire_bytes.saturating_sub(Self::flight_bytes(&f.msg));
                self.record(EventKind::Drop { from: f.from, to: f.to, msg: id, reason: DropReason::Lost });
            }
            Step::Timer(id) => {
                let (node, timer) = self.timers.remove(&id).expect("set");
                self.input(node, ("timer", id));
                self.record(EventKind::Timer { node, timer: id });
                self.with_process(node, |p, ctx| p.on_timer(ctx, timer));
            }
            Step::Crash(node) => {
                let index = self.crashes[node.index()].remove(0);
                self.procs[node.index()] = None;
                self.incarnation[node.index()] += 1;
                self.timers.retain(|_, (owner, _)| *owner != node);
                self.input(node, "crash");
                self.record(EventKind::Fault { action: FaultAction::Crash, node: Some(node), index });
            }
            Step::Restart(node) => {
                let index = self.restarts[node.index()].remove(0);
                self.input(node, "restart");
                self.record(EventKind::Fault { action: FaultAction::Restart, node: Some(node), index });
                self.start(node);
            }
            Step::Partition(index) => {
                self.cuts.retain(|&i| i != index);
                self.active.push(index);
                match &self.scenario.faults[index as usize].fault {
                    Fault::Partition(sides) => self.partitions.split(sides),
                    Fault::OneWay { from, to } => self.partitions.one_way(from, to),
                    _ => unreachable!("only the script's partitions are cuts"),
                }
                self.record(EventKind::Fault { action: FaultAction::Partition, node: None, index });
            }
            Step::Heal(index) => {
                self.heals.retain(|&i| i != index);
                self.active.clear();
                self.partitions.heal();
                self.record(EventKind::Fault { action: FaultAction::Heal, node: None, index });
            }
        }
        self.steps += 1;
    }

    fn with_process(&mut self, node: NodeId, handler: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Timer>)) {
        let i = node.index();
        let Some(process) = self.procs[i].as_mut() else { return };
        let mut ctx = Ctx {
            now_local: SimTime((self.steps + 1) * 1_000),
            me: node,
            cluster: &self.scenario.cluster,
            rng: &mut self.rngs[i],
            effects: &mut self.effects,
            next_timer: &mut self.next_timer[i],
            next_call: &mut self.next_call[i],
        };
        handler(process, &mut ctx);
        let effects = std::mem::take(&mut self.effects);
        for effect in effects {
            self.effect(node, effect);
        }
    }

    fn effect(&mut self, node: NodeId, effect: Effect<P::Msg, P::Timer>) {
        match effect {
            Effect::Send { to, msg } => self.transmit(node, to, msg),
            Effect::Multicast { group, msg } => {
                for &to in self.scenario.cluster.members(group) {
                    if to != node {
                        self.transmit(node, to, msg.clone());
                    }
                }
            }
            Effect::Broadcast { msg } => {
                for to in 0..self.n as u32 {
                    if to != node.0 {
                        self.transmit(node, NodeId(to), msg.clone());
                    }
                }
            }
            Effect::SetTimer { id, timer, .. } => {
                let id = TimerId(id.0 * self.n + u64::from(node.0));
                self.timers.insert(id, (node, timer));
            }
            Effect::CancelTimer { id } => {
                self.timers.remove(&TimerId(id.0 * self.n + u64::from(node.0)));
            }
            Effect::Deliver { payload } => {
                self.record(EventKind::Deliver { node, app: payload.id, origin: payload.origin, damaged: payload.is_damaged() })
            }
            Effect::DeadLetter { payload, to } => self.record(EventKind::DeadLetter { node, to, app: payload.id }),
            Effect::CallOutcome { app, outcome, latency_ns } => self.record(EventKind::Call { node, app, outcome, latency_ns }),
            Effect::Operation { op, server, outcome } => self.record(EventKind::Op { node, op, server, outcome }),
            Effect::Breaker { from, to } => self.record(EventKind::Breaker { node, from, to }),
            Effect::Suspicion { of, suspected } => self.record(EventKind::Suspicion { node, of, suspected }),
            Effect::View { view, members } => self.record(EventKind::View { node, view, members }),
            // Time has no meaning here (timers fire at any step), so neither has a retry
            // schedule: the attempt and ack marks are left out and `RetryBackoff` has nothing
            // to judge.
            Effect::Attempt { .. } | Effect::Ack { .. } => {}
            Effect::SendSync { .. } => self.unsupported = Some("a blocking send (send_sync)"),
            Effect::Call { .. } | Effect::Reply { .. } => self.unsupported = Some("calls (call and reply)"),
            Effect::Inject { .. } => self.unsupported = Some("an insider's injections"),
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        assert!(to.index() < self.procs.len(), "protocol bug: node {} sent to {}, which does not exist", from.0, to.0);
        let id = MsgId(self.sent[from.index()] * self.n + u64::from(from.0));
        self.sent[from.index()] += 1;
        self.record(EventKind::Send { from, to, msg: id, size: msg.wire_size() });
        // A cut drops what is sent across it, as the engine's network does; what was already
        // on its way still arrives.
        if self.partitions.blocks(from, to) {
            self.record(EventKind::Drop { from, to, msg: id, reason: DropReason::Partitioned });
        } else if self.over_budget.is_none() {
            self.wire_bytes = self.wire_bytes.saturating_add(Self::flight_bytes(&msg));
            let limits = &self.scenario.limits;
            if self.wire.len() as u64 >= limits.max_in_flight {
                self.over_budget = Some(EndReason::MaxInFlight);
            } else if self.wire_bytes > limits.max_memory_mb.saturating_mul(1 << 20) {
                self.over_budget = Some(EndReason::MaxMemory);
            } else {
                self.wire.insert(id, Flight { from, to, msg, copy: false });
            }
        }
    }

    /// What one message on the wire costs the memory budget: its entry and the heap it owns.
    fn flight_bytes(msg: &P::Msg) -> u64 {
        (std::mem::size_of::<Flight<P::Msg>>() as u64 + FLIGHT_OVERHEAD_BYTES).saturating_add(msg.heap_bytes())
    }

    /// The state's fingerprint (see the module's documentation).
    fn fingerprint(&self) -> u64 {
        let mut h = StateHasher::default();
        let own: Vec<Option<u64>> = self
            .procs
            .iter()
            .map(|p| {
                let mut state = StateHasher::default();
                p.as_ref().and_then(|p| p.fingerprint(&mut state).then(|| state.finish()))
            })
            .collect();
        for (i, own) in own.iter().enumerate() {
            match *own {
                Some(state) => {
                    (1u8, state, self.rngs[i].position(), self.incarnation[i], self.sent[i], self.next_timer[i], self.next_call[i])
                        .hash(&mut h);
                    if self.observed {
                        self.reported[i].hash(&mut h);
                    }
                }
                None => (0u8, self.history[i]).hash(&mut h),
            }
            (self.issued[i], self.crashes[i].len(), self.restarts[i].len()).hash(&mut h);
        }
        let mut text = String::new();
        // A message's content is its sender's to decide: known from the sender's inputs when
        // the sender is known by them, else from the message itself.
        for (id, f) in &self.wire {
            (id, f.to, f.copy).hash(&mut h);
            if own[f.from.index()].is_some() {
                hash_debug(&f.msg, &mut h, &mut text);
            }
        }
        for (id, (node, timer)) in &self.timers {
            id.hash(&mut h);
            if own[node.index()].is_some() {
                hash_debug(timer, &mut h, &mut text);
            }
        }
        (self.faults, &self.cuts, &self.heals, &self.active).hash(&mut h);
        h.finish()
    }
}

/// The node whose report to the checks `kind` is, for the events a check reads beyond the
/// network's (commands, deliveries, dead letters, calls, operations, breakers, suspicions, views).
fn reporter(kind: &EventKind) -> Option<NodeId> {
    match *kind {
        EventKind::Command { node, .. }
        | EventKind::CommandRefused { node, .. }
        | EventKind::Deliver { node, .. }
        | EventKind::DeadLetter { node, .. }
        | EventKind::Call { node, .. }
        | EventKind::Op { node, .. }
        | EventKind::Breaker { node, .. }
        | EventKind::Suspicion { node, .. }
        | EventKind::View { node, .. } => Some(node),
        _ => None,
    }
}

fn mix(h: u64, kind: &EventKind) -> u64 {
    let mut s = StateHasher::default();
    h.hash(&mut s);
    hash_debug(kind, &mut s, &mut String::new());
    s.finish()
}

/// Feed `value`'s `Debug` output into `h`, written into `text` first (reused between calls)
/// so that the hasher takes it in words rather than in the formatter's many small pieces.
fn hash_debug(value: &impl std::fmt::Debug, h: &mut StateHasher, text: &mut String) {
    use std::fmt::Write as _;
    text.clear();
    let _ = write!(text, "{value:?}");
    h.write(text.as_bytes());
}

/// The link model a transmission from `from` to `to` travels on (a later override wins).
fn model_of(scenario: &Scenario, from: NodeId, to: NodeId) -> &LinkModel {
    super::model_of(scenario, from, to)
}

/// How one path ended.
fn end_of(reason: EndReason, at: SimTime) -> RunEnd {
    // Cut by the depth bound, a run is judged as one stopped by its horizon with every
    // message possibly still on its way: nothing is counted missing.
    let max_latency_ns = if reason == EndReason::Quiescent { 0 } else { at.0 };
    RunEnd { reason, at, max_latency_ns }
}

fn judge(scenario: &Scenario, events: &[TraceEvent], end: &RunEnd) -> Vec<(&'static str, Verdict)> {
    let mut checkers: Vec<_> = scenario.checks.iter().map(|c| (c.name(), c.build(scenario))).collect();
    for e in events {
        for (_, c) in &mut checkers {
            c.observe(e);
        }
    }
    checkers.iter().map(|(name, c)| (*name, c.verdict(end))).collect()
}

/// Run `path` from the boot; `None` if protocol code panicked.
fn replay<'s, P, F>(scenario: &'s Scenario, setup: &'s Setup, factory: F, path: &[Step]) -> Option<World<'s, P, F>>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut world = World::boot(scenario, setup, factory, !scenario.checks.is_empty());
        for &step in path {
            world.apply(step);
        }
        world
    }))
    .ok()
}

/// What running one path from the boot tells the search: computed on any thread, merged in
/// the search's order.
struct Visit {
    fingerprint: u64,
    enabled: Vec<Step>,
    /// How the path ends here, if it does (nothing enabled, or the depth bound).
    end: Option<EndReason>,
    /// The checks' verdicts on the path so far (as a run stopped here, unless it is quiescent).
    verdicts: Vec<(&'static str, Verdict)>,
    panicked: bool,
    unsupported: Option<&'static str>,
}

fn visit<P, F>(scenario: &Scenario, setup: &Setup, factory: F, path: &[Step], bounds: Bounds) -> Visit
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    let mut v = Visit { fingerprint: 0, enabled: Vec::new(), end: None, verdicts: Vec::new(), panicked: false, unsupported: None };
    let Some(world) = replay(scenario, setup, factory, path) else {
        v.panicked = true;
        return v;
    };
    if world.unsupported.is_some() {
        v.unsupported = world.unsupported;
        return v;
    }
    v.fingerprint = world.fingerprint();
    world.enabled(bounds.max_faults, &mut v.enabled);
    v.end = if let Some(reason) = world.over_budget {
        Some(reason)
    } else if v.enabled.is_empty() {
        Some(EndReason::Quiescent)
    } else if path.len() >= bounds.max_depth {
        Some(EndReason::Horizon)
    } else {
        None
    };
    // A safety check's violation shows as soon as it happens: every state is judged, so the
    // path reported is the shortest to it.
    v.verdicts = judge(scenario, &world.events, &end_of(v.end.unwrap_or(EndReason::Horizon), world.now()));
    v
}

/// Paths run together before their results are merged: enough to keep `--jobs` threads busy,
/// few enough that their paths and results take little memory.
const BATCH: usize = 1024;

/// The path to the state `parent` (an index in `tree`, or none for the boot state), then `step`.
fn path_to(tree: &[(u32, Step)], parent: Option<u32>, step: Option<Step>) -> Vec<Step> {
    let mut path = Vec::new();
    let mut at = parent;
    while let Some(i) = at {
        let (up, s) = tree[i as usize];
        path.push(s);
        at = (up != u32::MAX).then_some(up);
    }
    path.reverse();
    path.extend(step);
    path
}

/// Explore every path of `scenario` in the asynchronous model within `bounds`; `factory`
/// makes a run's process factory. An error says what the protocol did that the model cannot.
///
/// Breadth-first, a batch of paths at a time: with `bounds.jobs` above 1 a batch's paths run on
/// that many threads, and their results are merged in the order a single thread takes them, so
/// the states, their order, the counts and the counterexample do not depend on `jobs`.
pub fn explore<P, F>(scenario: &Scenario, seed: u64, bounds: Bounds, factory: impl Fn() -> F + Sync) -> Result<Exploration, String>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    use rayon::prelude::*;
    let setup = Setup::new(scenario, seed);
    let mut found = Exploration {
        behaviours: 0,
        states: 0,
        transitions: 0,
        max_depth: 0,
        complete: true,
        depth_bound_reached: false,
        budget_reached: false,
        checks: scenario.checks.iter().map(|c| CheckTally { check: c.name(), passed: 0, failed: 0, inconclusive: 0 }).collect(),
        violation: None,
    };
    let pool = match bounds.jobs {
        0 | 1 => None,
        jobs => Some(rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| format!("with {jobs} threads: {e}"))?),
    };
    // The tree of distinct states found: each one's parent and the step that reached it.
    let mut tree: Vec<(u32, Step)> = Vec::new();
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    // Transitions to take, breadth-first: from a state (its index in `tree`, or none for the
    // boot state) by a step (none: the boot state itself).
    let mut queue: VecDeque<(Option<u32>, Option<Step>)> = VecDeque::from([(None, None)]);
    'search: while !queue.is_empty() {
        let batch: Vec<_> = queue.drain(..BATCH.min(queue.len())).collect();
        let paths: Vec<Vec<Step>> = batch.iter().map(|&(parent, step)| path_to(&tree, parent, step)).collect();
        let run = |path: &Vec<Step>| visit(scenario, &setup, factory(), path, bounds);
        let visits: Vec<Visit> = match &pool {
            Some(pool) => pool.install(|| paths.par_iter().map(run).collect()),
            None => paths.iter().map(run).collect(),
        };
        let batch_len = batch.len();
        for (k, (((parent, step), path), v)) in batch.into_iter().zip(paths).zip(visits).enumerate() {
            if found.transitions >= bounds.max_runs {
                found.complete = false;
                break 'search;
            }
            if step.is_some() {
                found.transitions += 1;
            }
            let faults = path.iter().filter(|s| s.is_fault()).count();
            if v.panicked {
                record_violation(&mut found, "protocol panic", "protocol code panicked".to_string(), faults, &path);
                found.behaviours += 1;
                continue;
            }
            if let Some(what) = v.unsupported {
                return Err(format!("the protocol uses {what}, which the asynchronous model does not explore"));
            }
            if !seen.insert(v.fingerprint) {
                continue;
            }
            found.states += 1;
            found.max_depth = found.max_depth.max(path.len());
            let me = step.map(|s| {
                tree.push((parent.unwrap_or(u32::MAX), s));
                (tree.len() - 1) as u32
            });
            if let Some((name, verdict)) = v.verdicts.iter().find(|(_, v)| v.outcome == Outcome::Fail) {
                record_violation(&mut found, name, verdict.detail.clone(), faults, &path);
            }
            if let Some(reason) = v.end {
                found.behaviours += 1;
                found.depth_bound_reached |= reason == EndReason::Horizon;
                found.budget_reached |= matches!(reason, EndReason::MaxMemory | EndReason::MaxInFlight);
                for (tally, (_, verdict)) in found.checks.iter_mut().zip(&v.verdicts) {
                    match verdict.outcome {
                        Outcome::Pass => tally.passed += 1,
                        Outcome::Fail => tally.failed += 1,
                        Outcome::Inconclusive => tally.inconclusive += 1,
                    }
                }
                continue;
            }
            // Queue no more than the budget can still take (the rest of this batch included),
            // so memory is bounded by `max_runs`.
            let pending = queue.len() + (batch_len - k - 1);
            let room = bounds.max_runs.saturating_sub(found.transitions).saturating_sub(pending as u64);
            let mut enabled = v.enabled;
            if enabled.len() as u64 > room {
                found.complete = false;
                enabled.truncate(usize::try_from(room).unwrap_or(usize::MAX));
            }
            queue.extend(enabled.into_iter().map(|s| (me, Some(s))));
        }
    }
    Ok(found)
}

fn record_violation(found: &mut Exploration, check: &str, detail: String, faults: usize, path: &[Step]) {
    let better = found.violation.as_ref().is_none_or(|v| (faults, path.len()) < (v.faults, v.path_length));
    if better {
        found.violation = Some(Violation {
            check: check.to_string(),
            detail,
            faults,
            path_length: path.len(),
            decisions: Vec::new(),
            schedule: path.to_vec(),
        });
    }
}

/// Run the scenario's `schedule` in the asynchronous model: what `msgsim run`, `trace` and
/// `shrink` do with a counterexample `explore --model async` wrote. A step that is not enabled
/// when its turn comes ends the run with an error naming it.
pub fn run_schedule<P, F>(scenario: &Scenario, seed: u64, options: &RunOptions, factory: F) -> Result<RunResult, ProtocolPanic>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    let fail = |at: SimTime, event: u64, message: String| ProtocolPanic { seed, at, event, message, bad_step: None };
    if let Some(why) = refuse(scenario) {
        return Err(fail(SimTime::ZERO, 0, format!("cannot run a schedule {why}")));
    }
    let setup = Setup::new(scenario, seed);
    let schedule = scenario.schedule.as_deref().unwrap_or_default();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut world = World::boot(scenario, &setup, factory, true);
        for (k, &step) in schedule.iter().enumerate() {
            if !world.is_enabled(step) {
                let why = format!("schedule step {} ({}) is not enabled then", k + 1, step.ron(scenario));
                return Err((world.now(), k as u64 + 1, Some(k), why));
            }
            world.apply(step);
            if let Some(what) = world.unsupported {
                return Err((
                    world.now(),
                    k as u64 + 1,
                    None,
                    format!("the protocol uses {what}, which the asynchronous model does not run"),
                ));
            }
            if world.over_budget.is_some() {
                break;
            }
        }
        let mut rest = Vec::new();
        world.enabled(usize::MAX, &mut rest);
        let reason = match world.over_budget {
            Some(reason) => reason,
            None if rest.is_empty() => EndReason::Quiescent,
            None => EndReason::Horizon,
        };
        Ok((end_of(reason, world.now()), world.events, world.messages, world.steps))
    }));
    let (end, events, messages, steps) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err((at, event, bad_step, message))) => return Err(ProtocolPanic { bad_step, ..fail(at, event, message) }),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with no message".to_string());
            return Err(fail(SimTime::ZERO, 0, message));
        }
    };
    let verdicts = judge(scenario, &events, &end);
    let mut hasher = TraceHasher::default();
    let mut app = crate::sim::AppCounts::default();
    for e in &events {
        hasher.add(e);
        match e.kind {
            EventKind::Command { .. } => app.commands += 1,
            EventKind::CommandRefused { .. } => app.refused += 1,
            EventKind::Deliver { .. } => app.delivered += 1,
            EventKind::DeadLetter { .. } => app.dead_lettered += 1,
            _ => {}
        }
    }
    Ok(RunResult {
        seed,
        end,
        trace_hash: hasher.finish(),
        trace_events: hasher.events(),
        steps,
        messages,
        app,
        verdicts,
        swarm: Vec::new(),
        trace: options.record_trace.then_some(events),
        latency: None,
        ops: Default::default(),
        decisions: options.decisions.then(Vec::new),
        fingerprints: Vec::new(),
        wait_cycles: Vec::new(),
        blocked_at_end: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{Incoming, Message};
    use std::collections::BTreeSet;

    /// Keeps the set of payloads it received; fingerprints it only if `opt_in`.
    struct Inbox {
        got: BTreeSet<AppId>,
        opt_in: bool,
    }

    #[derive(Clone, Debug)]
    struct Note(Payload);

    impl Message for Note {
        fn wire_size(&self) -> u32 {
            8
        }
        fn corrupt(&mut self) {
            self.0.corrupt();
        }
    }

    impl Process for Inbox {
        type Msg = Note;
        type Timer = ();
        fn on_command(&mut self, ctx: &mut Ctx<'_, Note, ()>, cmd: Command) {
            let Command::Send { payload, dest: Dest::Node(to) } = cmd else { return };
            ctx.send(to, Note(payload));
        }
        fn on_message(&mut self, ctx: &mut Ctx<'_, Note, ()>, incoming: Incoming<Note>) {
            self.got.insert(incoming.msg.0.id);
            ctx.deliver(incoming.msg.0);
        }
        fn fingerprint(&self, state: &mut StateHasher) -> bool {
            self.got.hash(state);
            self.opt_in
        }
    }

    fn scenario(nodes: u32, network: &str, workload: &str, faults: &str) -> Scenario {
        Scenario::parse(
            &format!(
                "Scenario(name: \"a\", horizon_ms: 1000, nodes: {nodes}, protocol: BestEffort(), network: {network},\n\
                 workload: [{workload}], faults: [{faults}])"
            ),
            "a.ron",
        )
        .expect("valid")
    }

    fn search(s: &Scenario, opt_in: bool, bounds: Bounds) -> Exploration {
        explore(s, 1, bounds, || move |_| Inbox { got: BTreeSet::new(), opt_in }).expect("explorable")
    }

    const THREE_TO_N1: &str = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 3, start_ms: 0)";

    #[test]
    fn three_messages_to_one_node_are_sixteen_histories_or_eight_sets() {
        let s = scenario(2, "(latency: Constant(ms: 1))", THREE_TO_N1, "");
        // Only the first command is at the start: make all three due at time 0 by three generators.
        let w = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1), ".repeat(3);
        let s3 = scenario(2, "(latency: Constant(ms: 1))", &w, "");
        // Known by its inputs, n1 is in a different state for each order it received a subset
        // in: 1 + 3 + 3*2 + 3*2*1 = 16 states, each reached once (15 transitions).
        let by_history = search(&s3, false, Bounds::default());
        assert_eq!((by_history.states, by_history.transitions, by_history.complete), (16, 15, true));
        // Known by its set: 2^3 = 8 states; from each, one transition per message in flight: 3*1 + 3*2 + 1*3 = 12.
        let by_set = search(&s3, true, Bounds::default());
        assert_eq!((by_set.states, by_set.transitions), (8, 12));
        // One path ends quiescent per state with nothing left: the full set (one per order, by history).
        assert_eq!((by_history.behaviours, by_set.behaviours), (6, 1));
        // Commands after the start are choices too: n0's later commands interleave with deliveries.
        let later = search(&s, true, Bounds::default());
        assert!(later.states > 8, "{} states", later.states);
    }

    #[test]
    fn loss_as_a_choice_counts_each_message_in_flight_delivered_or_lost() {
        let w = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1), ".repeat(2);
        let s = scenario(2, "(latency: Constant(ms: 1), loss: 0.5)", &w, "");
        // Each of two messages in flight, delivered or lost: 3^2 = 9; at most one loss leaves out one.
        assert_eq!(search(&s, true, Bounds { max_faults: 2, ..Bounds::default() }).states, 9);
        assert_eq!(search(&s, true, Bounds { max_faults: 1, ..Bounds::default() }).states, 8);
        assert_eq!(search(&s, true, Bounds { max_faults: 0, ..Bounds::default() }).states, 4);
    }

    #[test]
    fn a_scripted_crash_may_happen_at_any_point_within_the_fault_bound() {
        let w = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1)";
        let s = scenario(2, "(latency: Constant(ms: 1))", w, "(at_ms: 500, do: Crash(\"n1\"))");
        // In flight or delivered, n1 up or down; a message to a crashed node is dropped, which
        // leaves n1 (down) having never received it: 5 states. Without faults, no crash: 2.
        assert_eq!(search(&s, true, Bounds::default()).states, 5);
        assert_eq!(search(&s, true, Bounds { max_faults: 0, ..Bounds::default() }).states, 2);
    }

    #[test]
    fn a_scripted_partition_and_heal_may_happen_at_any_point() {
        let w = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1, start_ms: 10)";
        let faults = "(at_ms: 5, do: Partition([[\"n0\"], [\"n1\"]])), (at_ms: 20, do: Heal)";
        let s = scenario(2, "(latency: Constant(ms: 1))", w, faults);
        // Command issued or not; the message in flight, delivered or dropped by the cut; the cut
        // not yet, in force or healed. Reachable and distinct, counted by hand: 11. A message on
        // its way when the cut begins still arrives, so "delivered, cut in force" is reached by
        // two paths, and so is "in flight, healed". Without faults there is no cut: 3 states.
        assert_eq!(search(&s, true, Bounds::default()).states, 11);
        assert_eq!(search(&s, true, Bounds { max_faults: 0, ..Bounds::default() }).states, 3);
        // Sent across the cut, the message is lost: NoLoss fails once the run is quiescent.
        let judged = Scenario { checks: Scenario::parse(&format!("Scenario(name: \"a\", horizon_ms: 1000, nodes: 2, protocol: BestEffort(), workload: [{w}], faults: [{faults}], checks: [NoLoss])"), "a.ron").expect("valid").checks, ..s };
        let v = search(&judged, true, Bounds::default()).violation.expect("found");
        assert_eq!((v.check.as_str(), v.faults), ("NoLoss", 1));
        assert_eq!(v.schedule, vec![Step::Partition(0), Step::Command(AppId(0)), Step::Heal(1)]);
    }

    #[test]
    fn the_transition_budget_leaves_the_search_incomplete_and_the_order_is_fixed() {
        let w = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1), ".repeat(3);
        let s = scenario(2, "(latency: Constant(ms: 1))", &w, "");
        let cut = search(&s, false, Bounds { max_runs: 7, ..Bounds::default() });
        assert_eq!((cut.transitions, cut.complete), (7, false));
        let again = search(&s, false, Bounds { max_runs: 7, ..Bounds::default() });
        assert_eq!((again.states, again.transitions, again.max_depth), (cut.states, cut.transitions, cut.max_depth));
        // The depth bound cuts paths, and says so.
        let shallow = search(&s, false, Bounds { max_depth: 2, ..Bounds::default() });
        assert_eq!((shallow.states, shallow.depth_bound_reached, shallow.max_depth), (1 + 3 + 6, true, 2));
    }
}

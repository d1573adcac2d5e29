//! The discrete-event engine: one run of one scenario with one seed.
//!
//! `Sim::run` pops events in (time, insertion) order, hands each to the process
//! it concerns, applies the effects the handler recorded, and records what
//! happened. Invariants: only this loop advances time; every random draw
//! comes from a named stream; nothing iterates a hash-ordered collection.

use crate::adversary::Adversary;
use crate::budget::StateBudget;
use crate::clock::Clock;
use crate::event::EventQueue;
use crate::id::{AppId, CallId, MsgId, NodeId, TimerId};
use crate::mailbox::{Mailbox, Overflow, Put};
use crate::net::{Arrival, Decision, Network, Route};
use crate::ops::OpStats;
use crate::process::{Command, Completion, Ctx, Dest, Effect, Incoming, Message, Payload, Process};
use crate::rng::{SimRng, Stream};
use crate::scenario::{Fault, Scenario, ScheduledFault, Target};
use crate::stats::{LatencyCollector, LatencyHistogram};
use crate::time::SimTime;
use crate::trace::{
    AdversaryAction, BlockReason, DropReason, EventKind, FaultAction, MessageCounts, TraceEvent, TraceHasher, UnblockReason,
};
use crate::verdict::{Checker, EndReason, RunEnd, Verdict};
use crate::waits::{Wait, WaitCycle, WaitGraph};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::VecDeque;

/// A panic in protocol code, caught and located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolPanic {
    /// The run's seed.
    pub seed: u64,
    /// Simulated time when the handler panicked.
    pub at: SimTime,
    /// The scheduler event (1-based) during which the panic happened.
    pub event: u64,
    /// The panic's message.
    pub message: String,
    /// When the run stopped not on a panic but on its input: the index (from 0) of the
    /// scenario's `schedule` step that was not enabled in its turn. Bad input (exit 2,
    /// placed at the step), not an internal error.
    pub bad_step: Option<usize>,
}

impl std::fmt::Display for ProtocolPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bad_step {
            Some(_) => {
                write!(f, "the run's schedule stopped it during event {} at {} (seed {}): {}", self.event, self.at, self.seed, self.message)
            }
            None => write!(f, "protocol code panicked during event {} at {} (seed {}): {}", self.event, self.at, self.seed, self.message),
        }
    }
}

impl std::error::Error for ProtocolPanic {}

/// How the engine runs the protocol a scenario names: a function monomorphised for the protocol's
/// type by its decoder (`plugin::decode_protocol`), carried opaquely by the scenario; and how
/// `msgsim explore` searches it in the asynchronous model.
pub struct Runner(pub RunFn, pub crate::explore::AsyncExplorer);

/// Runs a scenario under one protocol type, handing each trace event to the sink if there is one.
pub type RunFn = fn(&Scenario, u64, &RunOptions, Option<&mut TraceSink<'_>>) -> Result<RunResult, ProtocolPanic>;

/// What takes each trace event as a run makes it ([`run_streaming`]).
pub type TraceSink<'a> = dyn FnMut(&TraceEvent) + 'a;

/// Run `scenario` with `seed` under the protocol it names, catching a panic in protocol code.
pub fn run(scenario: &Scenario, seed: u64, options: &RunOptions) -> Result<RunResult, ProtocolPanic> {
    let runner = scenario.protocol.runner().downcast_ref::<Runner>().expect("every protocol choice is made with a `Runner`");
    (runner.0)(scenario, seed, options, None)
}

/// [`run`], handing every trace event to `sink` as the run makes it, in trace order: a caller
/// that writes the trace (`msgsim trace --format jsonl`) keeps none of it.
pub fn run_streaming(scenario: &Scenario, seed: u64, options: &RunOptions, sink: &mut TraceSink<'_>) -> Result<RunResult, ProtocolPanic> {
    let runner = scenario.protocol.runner().downcast_ref::<Runner>().expect("every protocol choice is made with a `Runner`");
    (runner.0)(scenario, seed, options, Some(sink))
}

/// Run `scenario` with `seed`, processes made by `factory`, catching a panic in protocol code.
pub fn run_catching<P, F>(scenario: &Scenario, seed: u64, options: &RunOptions, factory: F) -> Result<RunResult, ProtocolPanic>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    run_catching_into(scenario, seed, options, factory, None)
}

/// [`run_catching`], handing every trace event to `sink`, if given, as the run makes it.
pub fn run_catching_into<P, F>(
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
    factory: F,
    sink: Option<&mut TraceSink<'_>>,
) -> Result<RunResult, ProtocolPanic>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    // A schedule (an asynchronous counterexample) is run by the asynchronous model, not the
    // clock. It is as long as its list of steps, so its trace is kept and handed on after.
    if scenario.schedule.is_some() {
        let Some(sink) = sink else { return crate::explore::asynchronous::run_schedule(scenario, seed, options, factory) };
        let mut result =
            crate::explore::asynchronous::run_schedule(scenario, seed, &RunOptions { record_trace: true, ..*options }, factory)?;
        result.trace.as_deref().unwrap_or_default().iter().for_each(&mut *sink);
        if !options.record_trace {
            result.trace = None;
        }
        return Ok(result);
    }
    let mut sim = Sim::new(scenario, seed, options, factory);
    if let Some(sink) = sink {
        sim.stream_to(sink);
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run())) {
        Ok(end) => Ok(sim.finish(end)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with no message".to_string());
            let (at, event) = sim.position();
            Err(ProtocolPanic { seed, at, event, message, bad_step: None })
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
    /// Note the rolling trace hash after every `n` trace events (`RunResult::fingerprints`):
    /// two runs compared by these find the stretch where they part without keeping either
    /// trace (the sweep's determinism check).
    pub fingerprint_every: Option<u64>,
    /// With `record_trace`, keep only the trace events whose index (from 0) is in this range.
    pub trace_window: Option<(u64, u64)>,
    /// With `record_trace`, count the kept events against `limits.max_memory_mb`, each at its
    /// place in the kept list plus this many bytes (what the caller builds from it to write it:
    /// `msgsim trace --format svg`). The run then stops where one that keeps nothing may not.
    pub budget_kept_trace: Option<u64>,
    /// Bytes a caller keeps for each message in flight, counted with the engine's own against
    /// `limits.max_memory_mb` (`msgsim trace`'s vector clocks keep a clock per message until
    /// it ends). The run then stops where one that keeps nothing may not.
    pub budget_per_message: u64,
    /// With `decisions`, count the recorded decisions against `limits.max_memory_mb`, each at
    /// its place plus this many bytes (the copies `msgsim shrink` makes of them).
    pub budget_decisions: Option<u64>,
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
    /// The seed the run used.
    pub seed: u64,
    /// Why and when it stopped.
    pub end: RunEnd,
    /// msgsim trace hash v1 of every event: equal hashes, equal runs.
    pub trace_hash: u64,
    /// Trace events recorded.
    pub trace_events: u64,
    /// Scheduler events processed.
    pub steps: u64,
    /// Network totals: sent, delivered, dropped (by reason), duplicated, corrupted.
    pub messages: MessageCounts,
    /// Application totals: commands, deliveries, dead letters.
    pub app: AppCounts,
    /// (check name, verdict), in the scenario's order.
    pub verdicts: Vec<(&'static str, Verdict)>,
    /// What swarm mode drew for this seed, one line each.
    pub swarm: Vec<String>,
    /// Every trace event, if `RunOptions::record_trace` asked for them.
    pub trace: Option<Vec<TraceEvent>>,
    /// Command-to-deliver latencies, if `RunOptions::latency` asked for them.
    pub latency: Option<LatencyHistogram>,
    /// Clients' operations (`op` lines): counts and latencies; empty if there were none.
    pub ops: OpStats,
    /// Every random network decision, if `RunOptions::decisions` asked for them.
    pub decisions: Option<Vec<Decision>>,
    /// The rolling trace hash after each `RunOptions::fingerprint_every` trace events.
    pub fingerprints: Vec<u64>,
    /// Cycles of blocked processes, as each formed (the first `MAX_CYCLES_KEPT`).
    pub wait_cycles: Vec<(SimTime, WaitCycle)>,
    /// Processes still blocked when the run ended, on what, and how many events (messages,
    /// timers, commands) they had not handled.
    pub blocked_at_end: Vec<(NodeId, Wait, usize)>,
    /// The scenario's `replay` decisions that no transmission took, by message id.
    pub unused_replay: Vec<MsgId>,
}

/// Wait cycles a run keeps for its report; the trace has every one.
const MAX_CYCLES_KEPT: usize = 16;

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
    /// A blocked node's wait `seq` ends: the transport's notice that its synchronous send was
    /// taken, or that the mailbox it waits on has room.
    Release {
        node: NodeId,
        incarnation: u32,
        seq: u64,
        reason: UnblockReason,
    },
    /// The timeout of a synchronous send (wait `seq`).
    SendTimeout {
        node: NodeId,
        incarnation: u32,
        seq: u64,
    },
    CallTimeout {
        call: CallId,
    },
    /// A process that went on handles the next event it held while blocked.
    Resume {
        node: NodeId,
        incarnation: u32,
    },
    /// The node may take the next message from its mailbox (it finished serving the last).
    TakeNext {
        node: NodeId,
        incarnation: u32,
    },
}

/// What a blocked process waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Taken { to: NodeId },
    Answer { call: CallId },
    Room { to: NodeId },
}

/// A blocked process: what it waits for, and the effects its handler recorded after the
/// send that blocked, applied when it goes on (a blocked thread's continuation).
struct Blocked<M, T> {
    seq: u64,
    awaiting: Awaiting,
    parked: Vec<Effect<M, T>>,
}

/// Events a paused or blocked node holds, in arrival order, and how many of them are
/// deliveries (a `queue` line's depth), counted as they come and go: counting them by a walk
/// at each arrival was quadratic in what a node held.
struct Held<M, T> {
    events: VecDeque<Ev<M, T>>,
    deliveries: usize,
}

impl<M, T> Default for Held<M, T> {
    fn default() -> Self {
        Held { events: VecDeque::new(), deliveries: 0 }
    }
}

impl<M, T> Held<M, T> {
    fn push_back(&mut self, ev: Ev<M, T>) {
        self.deliveries += usize::from(matches!(ev, Ev::Deliver { .. }));
        self.events.push_back(ev);
    }

    fn pop_front(&mut self) -> Option<Ev<M, T>> {
        let ev = self.events.pop_front()?;
        self.deliveries -= usize::from(matches!(ev, Ev::Deliver { .. }));
        Some(ev)
    }

    /// Every event held, leaving none.
    fn take(&mut self) -> VecDeque<Ev<M, T>> {
        self.deliveries = 0;
        std::mem::take(&mut self.events)
    }

    fn len(&self) -> usize {
        self.events.len()
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn capacity(&self) -> usize {
        self.events.capacity()
    }
}

/// A message that arrived and waits in its receiver's mailbox.
struct Arrived<M> {
    from: NodeId,
    id: MsgId,
    corrupted: bool,
    msg: M,
}

/// What the transport knows about a transmission beyond its bytes.
#[derive(Clone, Copy, Debug)]
enum Tag {
    /// Sent with `send_sync` by `sender`, whose wait `seq` ends when it is taken.
    Sync {
        sender: NodeId,
        seq: u64,
    },
    Request(CallId),
    Reply(CallId),
}

/// A call made and not yet answered or timed out.
struct PendingCall {
    caller: NodeId,
    incarnation: u32,
    done: bool,
    /// The callee and the request, for the trace's `timeout` line.
    callee: NodeId,
    request: MsgId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Up,
    Down,
    Paused,
}

/// One node's state. Laid out by hand and aligned to a cache line: a plain delivery reads
/// the status, the process and the heap it reports, and nothing else of the node (the clock
/// only if some clock is off true time, the mailbox and the wait only if some node may park),
/// so they come first, and a small process (gossip's is 48 bytes) shares the node's first
/// line with them. With the compiler's order the clock sat on another line: with 100,000
/// gossiping nodes, a second cache miss on a third of the deliveries.
/// The engine's own place for `cluster`'s nodes running `P` (a `Node` each, and the names),
/// held for the whole run: counted against the memory budget from the start, and by validation,
/// which refuses a cluster this alone puts over it.
pub(crate) fn engine_bytes<P: Process>(cluster: &crate::process::Cluster) -> u64 {
    let names = cluster.names.iter().map(|name| (std::mem::size_of::<String>() + name.len()) as u64).sum::<u64>();
    crate::process::capacity_bytes::<Node<P>>(cluster.len()).saturating_add(names)
}

#[repr(C, align(64))]
struct Node<P: Process> {
    status: Status,
    /// Bumped by every crash, so timers set before it never fire after it.
    incarnation: u32,
    /// What the process reported holding after its last handler (`Process::heap_bytes`).
    heap: u64,
    process: Option<P>,
    rng: SimRng,
    clock: Clock,
    /// Events that arrived while the node was paused or blocked, in arrival order.
    held: Held<P::Msg, P::Timer>,
    /// The receive buffer, if the scenario gives the node one.
    mailbox: Option<Mailbox<Arrived<P::Msg>>>,
    /// Serving a message taken from the mailbox: the next waits for `TakeNext`.
    serving: bool,
    /// The copy being served, for the `Served` line.
    in_service: MsgId,
    block: Option<Blocked<P::Msg, P::Timer>>,
    /// Back-pressure: messages sent to this node and neither taken nor dropped yet, plus room
    /// granted to released senders.
    reserved: u32,
    /// Senders blocked until this node's mailbox has room, in the order they blocked (node, wait).
    room_waiters: VecDeque<(NodeId, u64)>,
    /// Room in this node's mailbox granted to a blocked sender, not yet used by its send.
    granted: Option<NodeId>,
}

/// Records the trace: hash, counters, checkers and, if asked, the events.
struct Recorder<'s> {
    hasher: TraceHasher,
    messages: MessageCounts,
    app: AppCounts,
    checkers: Vec<(&'static str, Box<dyn Checker>)>,
    events: Option<Vec<TraceEvent>>,
    /// Which trace events `events` keeps, by index.
    window: (u64, u64),
    fingerprint_every: Option<u64>,
    fingerprints: Vec<u64>,
    latency: Option<LatencyCollector>,
    /// Takes every event as it is made (`run_streaming`).
    sink: Option<&'s mut TraceSink<'s>>,
    /// With `RunOptions::budget_kept_trace`, the bytes each kept event adds beyond its place.
    kept_cost: Option<u64>,
    /// Whether any of the above wants events: one test per event when none does.
    observed: bool,
}

impl Recorder<'_> {
    /// Inlined into every call site, where `kind` is a known variant: its hash words and
    /// counters then fold to a few register operations. Passed out of line, the event went
    /// through memory, and the wide load of its narrow fields stalled on store forwarding.
    #[inline(always)]
    fn record(&mut self, time: SimTime, kind: EventKind) {
        // The event is made twice, not shared: the hasher's copy then stays in registers, and
        // only an observed run writes one to memory for `observe` (sharing one wrote every
        // event's words to the stack, 7 stores per event).
        self.hasher.add(&TraceEvent { time, kind });
        self.messages.count(&kind);
        match kind {
            EventKind::Command { .. } => self.app.commands += 1,
            EventKind::CommandRefused { .. } => self.app.refused += 1,
            EventKind::Deliver { .. } => self.app.delivered += 1,
            EventKind::DeadLetter { .. } => self.app.dead_lettered += 1,
            _ => {}
        }
        if self.observed {
            self.observe(&TraceEvent { time, kind });
        }
    }

    /// Hand `event` to the checkers, the kept trace and the latency collector.
    #[inline(never)]
    fn observe(&mut self, event: &TraceEvent) {
        for (_, c) in &mut self.checkers {
            c.observe(event);
        }
        // The hasher has counted this event already: it is number `events() - 1`.
        let index = self.hasher.events() - 1;
        if let Some(events) = &mut self.events
            && (self.window.0..self.window.1).contains(&index)
        {
            events.push(*event);
        }
        if let Some(every) = self.fingerprint_every
            && (index + 1).is_multiple_of(every)
        {
            self.fingerprints.push(self.hasher.finish());
        }
        if let Some(latency) = &mut self.latency {
            latency.observe(event.time, &event.kind);
        }
        if let Some(sink) = &mut self.sink {
            sink(event);
        }
    }

    /// What the kept trace holds against the memory budget, if the run was asked to count it.
    fn kept_bytes(&self) -> Option<u64> {
        let (cost, events) = (self.kept_cost?, self.events.as_ref()?);
        let places = (events.capacity() as u64).saturating_mul(std::mem::size_of::<TraceEvent>() as u64);
        Some(places.saturating_add((events.len() as u64).saturating_mul(cost)))
    }
}

/// One run in progress: the scheduler's queue, the nodes (each a process of type `P` that
/// `factory` makes at boot and at every restart), the network and the checks watching the
/// trace. [`run`] and [`run_catching`] drive one for you; with [`Sim::new`], [`Sim::run`] and
/// [`Sim::finish`] you drive it yourself, and [`Sim::position`] says where a panicking handler
/// stopped it.
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
    /// Heap bytes the messages in flight own (`Message::heap_bytes`).
    in_flight_heap: u64,
    /// Timers in the queue: set and not yet due (cancelled ones too, until their time comes).
    /// Each holds a queue entry and a live timer's slot, counted with the messages in flight.
    timers: u64,
    /// The in-flight budget: see [`InFlightBudget`].
    in_flight_budget: InFlightBudget,
    /// The processes' and checkers' state, and what waits at the nodes, held against the
    /// same memory budget.
    state_budget: StateBudget,
    /// With `RunOptions::budget_decisions`, the bytes each recorded decision adds beyond its place.
    decisions_cost: Option<u64>,
    /// Whether any node may hold events (it has a mailbox, or was paused or blocked): only
    /// then does a checkpoint count what the nodes hold. Never false while a node has a
    /// mailbox or waits (`block` sets it first): a delivery then reads neither.
    may_park: bool,
    /// Whether every node's clock reads true time (no offset, no drift), so a handler's local
    /// time is the simulated time, without reading the node's clock.
    true_clocks: bool,
    /// A budget that ran out inside an event (in-flight messages, fragments): the rest of the
    /// event's work is skipped, and the run ends with this reason when the event returns.
    over_budget: Option<EndReason>,
    /// The scenario's faults and those swarm mode drew, by time.
    faults: Vec<ScheduledFault>,
    swarm: Vec<String>,
    recorder: Recorder<'s>,
    /// What the `op` lines add up to.
    ops: OpStats,
    waits: WaitGraph,
    /// Transmissions the transport must recognise on arrival. Looked up, never iterated.
    tags: FxHashMap<MsgId, Tag>,
    /// Every call made. Looked up, never iterated.
    calls: FxHashMap<CallId, PendingCall>,
    next_call: u64,
    next_block: u64,
    service_rng: SimRng,
    /// Whether any mailbox applies back-pressure (only then does a send check for room).
    back_pressure: bool,
    /// Transmissions holding room in a back-pressure mailbox. Membership tests only.
    reserved_ids: FxHashSet<MsgId>,
    wait_cycles: Vec<(SimTime, WaitCycle)>,
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
        let mut network = Network::new(default_link, scenario.links.clone(), scenario.topology.clone(), n, seed);
        if let Some(decisions) = &scenario.replay {
            network.replay(decisions);
        }
        if options.decisions {
            network.start_recording();
        }
        network.limit_fragments(scenario.limits.max_fragments);
        let nodes = (0..n)
            .map(|i| Node {
                process: None,
                heap: 0,
                status: Status::Up,
                incarnation: 0,
                rng: SimRng::new(seed, Stream::Node(i as u32)),
                clock: scenario.clocks[i],
                held: Held::default(),
                mailbox: scenario.mailbox(i).map(|m| Mailbox::new(m.capacity.map_or(usize::MAX, |c| c as usize), m.overflow)),
                serving: false,
                in_service: MsgId(0),
                block: None,
                reserved: 0,
                room_waiters: VecDeque::new(),
                granted: None,
            })
            .collect();
        let back_pressure = (0..n).any(|i| scenario.mailbox(i).is_some_and(|m| m.overflow == Overflow::BackPressure));
        let checkers: Vec<_> = scenario.checks.iter().map(|c| (c.name(), c.build(scenario))).collect();
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
            in_flight_heap: 0,
            timers: 0,
            in_flight_budget: InFlightBudget::new::<P>(&scenario.limits, options.budget_per_message),
            state_budget: {
                // The engine's own place for each node counts from the start, with the names.
                let mut budget = StateBudget::new(scenario.limits.max_memory_mb);
                budget.hold_engine(engine_bytes::<P>(&scenario.cluster));
                budget
            },
            may_park: (0..n).any(|i| scenario.mailbox(i).is_some()),
            decisions_cost: options.budget_decisions.filter(|_| options.decisions),
            true_clocks: scenario.clocks.iter().all(|c| *c == Clock::default()),
            over_budget: None,
            faults,
            swarm,
            recorder: Recorder {
                hasher: TraceHasher::default(),
                messages: MessageCounts::default(),
                app: AppCounts::default(),
                observed: !checkers.is_empty() || options.record_trace || options.latency || options.fingerprint_every.is_some(),
                checkers,
                events: options.record_trace.then(Vec::new),
                window: options.trace_window.unwrap_or((0, u64::MAX)),
                fingerprint_every: options.fingerprint_every.filter(|&n| n > 0),
                fingerprints: Vec::new(),
                latency: options.latency.then(LatencyCollector::default),
                sink: None,
                kept_cost: options.budget_kept_trace.filter(|_| options.record_trace),
            },
            waits: WaitGraph::new(n),
            tags: FxHashMap::default(),
            calls: FxHashMap::default(),
            next_call: 0,
            next_block: 0,
            service_rng: SimRng::new(seed, Stream::Service),
            back_pressure,
            reserved_ids: FxHashSet::default(),
            wait_cycles: Vec::new(),
            ops: OpStats::default(),
        }
    }

    /// Hand every trace event to `sink` as the run makes it (call before [`Sim::run`]).
    pub fn stream_to(&mut self, sink: &'s mut TraceSink<'s>) {
        self.recorder.sink = Some(sink);
        self.recorder.observed = true;
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
        let unused_replay = self.network.unused_replay();
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
            fingerprints: self.recorder.fingerprints,
            wait_cycles: self.wait_cycles,
            ops: self.ops,
            // A blocked process's unhandled events: those held for it, and the messages waiting
            // in its mailbox if it has one (without one, they are held too).
            blocked_at_end: self
                .waits
                .blocked()
                .map(|(n, w)| {
                    let node = &self.nodes[n.index()];
                    (n, w, node.held.len() + node.mailbox.as_ref().map_or(0, Mailbox::len))
                })
                .collect(),
            unused_replay,
        }
    }

    fn run_loop(&mut self) -> RunEnd {
        self.boot();
        let horizon = self.scenario.horizon;
        let limits = self.scenario.limits;
        let reason = loop {
            // Budgets are checked where the work happens (every transmission, every message's
            // fragments), so one event cannot allocate or draw without bound; the trace's
            // length, which each event adds a bounded amount to, after each.
            if let Some(reason) = self.over_budget {
                break reason;
            }
            if self.recorder.hasher.events() >= self.state_budget.next_checkpoint
                && let Some(reason) = self.checkpoint(limits.max_trace_events)
            {
                break reason;
            }
            let Some(time) = self.queue.peek_time() else { break EndReason::Quiescent };
            if time > horizon {
                self.now = horizon;
                break EndReason::Horizon;
            }
            if self.steps >= self.state_budget.next_walk
                && let Some(reason) = self.step_checkpoint(limits.max_events)
            {
                break reason;
            }
            let (time, slot) = self.queue.pop_slot().expect("peeked");
            self.now = time;
            self.steps += 1;
            // A delivery's fields are read where the queue holds them, and only its message is
            // moved: moving the whole event copied it through the stack in pieces that straddle
            // its fields, and reading a field back across two pieces stalled (a fifth of
            // ping-pong's time).
            match *self.queue.event(slot) {
                Ev::Deliver { from, to, id, corrupted, .. } => {
                    let Ev::Deliver { msg, .. } = self.queue.take(slot) else { unreachable!("a delivery") };
                    self.deliver(from, to, id, corrupted, msg);
                }
                _ => {
                    let ev = self.queue.take(slot);
                    self.dispatch(ev);
                }
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
            // Drawn arrivals take their first gap here, generators in file order.
            if let Some(at) = g.arrivals.first(g.start, &mut self.workload_rng) {
                self.queue.push(at, Ev::Workload { generator: i as u32, k: 0 });
            }
        }
        // Every process starts within one step: a budget that runs out stops the rest.
        for i in 0..self.nodes.len() {
            if self.over_budget.is_some() {
                break;
            }
            self.start_process(NodeId(i as u32));
        }
    }

    fn start_process(&mut self, node: NodeId) {
        self.nodes[node.index()].process = Some((self.factory)(node));
        self.with_process(node, |p, ctx| p.on_start(ctx));
    }

    // Always inlined into the run loop: it is the hot path, and `Resume` re-entering it
    // through `transport_event` would otherwise keep the compiler from inlining it at all.
    #[inline(always)]
    fn dispatch(&mut self, ev: Ev<P::Msg, P::Timer>) {
        match ev {
            Ev::Deliver { from, to, id, corrupted, msg } => self.deliver(from, to, id, corrupted, msg),
            Ev::Timer { node, incarnation, id, timer } => {
                self.timers_moved(-1);
                let slot = &mut self.nodes[node.index()];
                if slot.incarnation != incarnation || !self.live_timers.contains(&id) {
                    // Cancelled, or set before a crash: the timer died with its process.
                    self.live_timers.remove(&id);
                    return;
                }
                if slot.status == Status::Paused || slot.block.is_some() {
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
            // The transport's own events: rare, and kept out of line so the common arms stay tight.
            ev => self.transport_event(ev),
        }
    }

    /// The arrival of message `id` from `from` at `to`.
    #[inline(always)]
    fn deliver(&mut self, from: NodeId, to: NodeId, id: MsgId, corrupted: bool, msg: P::Msg) {
        self.in_flight -= 1;
        self.in_flight_heap = self.in_flight_heap.saturating_sub(msg.heap_bytes());
        if self.scenario.partitions_drop_in_flight && self.network.partitions.blocks(from, to) {
            self.drop_in_flight(from, to, id);
            return;
        }
        let slot = &mut self.nodes[to.index()];
        debug_assert!(self.may_park || (slot.mailbox.is_none() && slot.block.is_none()), "a node parks, unflagged");
        match slot.status {
            Status::Down => {
                self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason: DropReason::NodeDown });
                self.free_room(to, id);
            }
            Status::Paused => slot.held.push_back(Ev::Deliver { from, to, id, corrupted, msg }),
            // The common case: no transport feature in play, straight to the handler.
            // Without a node that may park, none has a mailbox or waits: the node's fields for
            // them (on another cache line) are not read.
            Status::Up if self.tags.is_empty() && (!self.may_park || (slot.mailbox.is_none() && slot.block.is_none())) => {
                self.recorder.record(self.now, EventKind::Receive { from, to, msg: id, corrupted });
                let incoming = Incoming { from, msg, checksum_ok: !corrupted, call: None };
                self.with_process(to, |p, ctx| p.on_message(ctx, incoming));
            }
            Status::Up => self.arrive(Arrived { from, id, corrupted, msg }, to),
        }
    }

    #[inline(never)]
    fn transport_event(&mut self, ev: Ev<P::Msg, P::Timer>) {
        match ev {
            Ev::Release { node, incarnation, seq, reason } => {
                if self.hold_if_paused(node, incarnation, Ev::Release { node, incarnation, seq, reason }) {
                    return;
                }
                let Some(b) = &self.nodes[node.index()].block else { return };
                if b.seq != seq {
                    return; // the wait already ended (it timed out)
                }
                let completion = match b.awaiting {
                    Awaiting::Taken { to } => Some(Completion::Taken { to }),
                    Awaiting::Room { .. } | Awaiting::Answer { .. } => None,
                };
                self.unblock(node, reason, completion);
            }
            Ev::SendTimeout { node, incarnation, seq } => {
                if self.hold_if_paused(node, incarnation, Ev::SendTimeout { node, incarnation, seq }) {
                    return;
                }
                if let Some(Blocked { seq: s, awaiting: Awaiting::Taken { to }, .. }) = self.nodes[node.index()].block
                    && s == seq
                {
                    self.unblock(node, UnblockReason::TimedOut, Some(Completion::SendTimedOut { to }));
                }
            }
            Ev::CallTimeout { call } => self.call_timeout(call),
            Ev::Resume { node, incarnation } => {
                if self.hold_if_paused(node, incarnation, Ev::Resume { node, incarnation }) || self.nodes[node.index()].block.is_some() {
                    return; // a wait that ends schedules the next `Resume`
                }
                let Some(ev) = self.nodes[node.index()].held.pop_front() else { return };
                self.unpark(&ev);
                self.dispatch(ev);
                self.resume_held(node);
            }
            Ev::TakeNext { node, incarnation } => {
                if self.hold_if_paused(node, incarnation, Ev::TakeNext { node, incarnation }) {
                    return;
                }
                let slot = &mut self.nodes[node.index()];
                slot.serving = false;
                if self.scenario.mailbox(node.index()).is_some_and(|m| m.trace_served) {
                    self.recorder.record(self.now, EventKind::Served { node, msg: slot.in_service });
                }
                self.take_next(node);
            }
            Ev::Deliver { .. } | Ev::Timer { .. } | Ev::Workload { .. } | Ev::HeldCommand { .. } | Ev::Fault { .. } => {
                unreachable!("dispatched by `dispatch`")
            }
        }
    }

    /// For an event of `node`'s transport: false if it is for this incarnation and the node
    /// is up. A paused node holds it; one that crashed since forgets it.
    fn hold_if_paused(&mut self, node: NodeId, incarnation: u32, ev: Ev<P::Msg, P::Timer>) -> bool {
        let slot = &mut self.nodes[node.index()];
        if slot.incarnation != incarnation || slot.status == Status::Down {
            return true;
        }
        if slot.status == Status::Paused {
            slot.held.push_back(ev);
            return true;
        }
        false
    }

    /// A message arrived across a partition that came into force while it was in flight, in a
    /// scenario whose partitions drop such messages: it is dropped as one sent across it is.
    #[inline(never)]
    fn drop_in_flight(&mut self, from: NodeId, to: NodeId, id: MsgId) {
        self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason: DropReason::Partitioned });
        self.free_room(to, id);
    }

    /// A message reached an up node that has a mailbox, is blocked, or whose transport must
    /// recognise the message. An answer the node is blocked on goes straight to it; anything
    /// else is taken at once if the process is free, or waits.
    #[inline(never)]
    fn arrive(&mut self, arrived: Arrived<P::Msg>, to: NodeId) {
        let tag = self.tags.get(&arrived.id).copied();
        if let Some(Tag::Reply(call)) = tag {
            if self.calls.get_mut(&call).expect("a call made").done {
                let Arrived { from, id, .. } = arrived;
                self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason: DropReason::Late });
                self.free_room(to, id);
                return;
            }
            if matches!(self.nodes[to.index()].block, Some(Blocked { awaiting: Awaiting::Answer { call: c }, .. }) if c == call) {
                let Arrived { from, id, corrupted, msg } = arrived;
                self.recorder.record(self.now, EventKind::Receive { from, to, msg: id, corrupted });
                self.free_room(to, id);
                self.calls.get_mut(&call).expect("a call made").done = true;
                let answer = Completion::Answered { call, from, msg, checksum_ok: !corrupted };
                self.unblock(to, UnblockReason::Answered, Some(answer));
                return;
            }
        }
        let slot = &mut self.nodes[to.index()];
        let free = slot.block.is_none() && !slot.serving && slot.mailbox.as_ref().is_none_or(Mailbox::is_empty);
        if free {
            return self.hand_over(to, arrived);
        }
        let Some(mailbox) = slot.mailbox.as_mut() else {
            // No mailbox: an unbounded buffer, taken in arrival order when the process goes on.
            let Arrived { from, id, corrupted, msg } = arrived;
            slot.held.push_back(Ev::Deliver { from, to, id, corrupted, msg });
            let depth = slot.held.deliveries as u32;
            self.recorder.record(self.now, EventKind::Queued { from, to, msg: id, depth });
            return;
        };
        let (from, id, priority) = (arrived.from, arrived.id, arrived.msg.priority());
        match mailbox.put(priority, arrived) {
            Put::Queued => {
                let depth = mailbox.len() as u32;
                self.recorder.record(self.now, EventKind::Queued { from, to, msg: id, depth });
            }
            Put::Refused(a) => {
                self.recorder.record(self.now, EventKind::Drop { from: a.from, to, msg: a.id, reason: DropReason::MailboxFull });
                self.free_room(to, a.id);
            }
            Put::Evicted(old) => {
                self.recorder.record(self.now, EventKind::Drop { from: old.from, to, msg: old.id, reason: DropReason::Evicted });
                self.free_room(to, old.id);
                let depth = self.nodes[to.index()].mailbox.as_ref().map_or(0, Mailbox::len) as u32;
                self.recorder.record(self.now, EventKind::Queued { from, to, msg: id, depth });
            }
        }
    }

    /// Hand an arrived message to `to`'s process, which is free to take it: the transport
    /// recognises rendezvous, requests and answers, and a mailbox's service time begins.
    fn hand_over(&mut self, to: NodeId, arrived: Arrived<P::Msg>) {
        let Arrived { from, id, corrupted, msg } = arrived;
        let tag = self.tags.get(&id).copied();
        if let Some(Tag::Reply(call)) = tag
            && self.calls.get_mut(&call).expect("a call made").done
        {
            self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason: DropReason::Late });
            self.free_room(to, id);
            return;
        }
        self.recorder.record(self.now, EventKind::Receive { from, to, msg: id, corrupted });
        self.free_room(to, id);
        let slot = &mut self.nodes[to.index()];
        if let Some(service) = self.scenario.mailbox(to.index()).and_then(|m| m.service.as_ref()) {
            slot.serving = true;
            slot.in_service = id;
            let at = self.now.saturating_add(service.sample(&mut self.service_rng));
            self.queue.push(at, Ev::TakeNext { node: to, incarnation: slot.incarnation });
        } else if slot.mailbox.as_ref().is_some_and(|m| !m.is_empty()) {
            slot.serving = true;
            self.queue.push(self.now, Ev::TakeNext { node: to, incarnation: slot.incarnation });
        }
        let mut call = None;
        match tag {
            Some(Tag::Sync { sender, seq }) => {
                self.tags.remove(&id);
                // The rendezvous happened: the sender now waits on the notice, not on `to`.
                self.waits.settle(sender);
                let incarnation = self.nodes[sender.index()].incarnation;
                let at = self.now.saturating_add(self.network.min_latency_ns(to, sender));
                self.queue.push(at, Ev::Release { node: sender, incarnation, seq, reason: UnblockReason::Taken });
            }
            Some(Tag::Request(c)) => call = Some(c),
            Some(Tag::Reply(c)) => {
                self.calls.get_mut(&c).expect("a call made").done = true;
                let answer = Completion::Answered { call: c, from, msg, checksum_ok: !corrupted };
                return self.with_process(to, |p, ctx| p.on_complete(ctx, answer));
            }
            None => {}
        }
        let incoming = Incoming { from, msg, checksum_ok: !corrupted, call };
        self.with_process(to, |p, ctx| p.on_message(ctx, incoming));
    }

    /// Take the next message from `node`'s mailbox, if its process is free to.
    fn take_next(&mut self, node: NodeId) {
        let slot = &mut self.nodes[node.index()];
        if slot.status != Status::Up || slot.block.is_some() || slot.serving {
            return;
        }
        if let Some(arrived) = slot.mailbox.as_mut().and_then(Mailbox::take) {
            self.hand_over(node, arrived);
        }
    }

    fn call_timeout(&mut self, call: CallId) {
        let pending = &self.calls[&call];
        let (caller, incarnation) = (pending.caller, pending.incarnation);
        if pending.done || self.hold_if_paused(caller, incarnation, Ev::CallTimeout { call }) {
            return;
        }
        let slot = &mut self.nodes[caller.index()];
        match slot.block {
            Some(Blocked { awaiting: Awaiting::Answer { call: c }, .. }) if c == call => {
                self.calls.get_mut(&call).expect("a call made").done = true;
                self.unblock(caller, UnblockReason::TimedOut, Some(Completion::CallTimedOut { call }));
            }
            // Blocked on something else: the caller learns when it goes on.
            Some(_) => slot.held.push_back(Ev::CallTimeout { call }),
            None => {
                let pending = self.calls.get_mut(&call).expect("a call made");
                pending.done = true;
                let (callee, msg) = (pending.callee, pending.request);
                self.recorder.record(self.now, EventKind::CallTimeout { node: caller, callee, msg });
                self.with_process(caller, |p, ctx| p.on_complete(ctx, Completion::CallTimedOut { call }));
            }
        }
    }

    /// Block `node`'s process on `on` and report a wait cycle if this wait closes one.
    fn block(&mut self, node: NodeId, on: NodeId, awaiting: Awaiting, timeout_ns: Option<u64>, parked: Vec<Effect<P::Msg, P::Timer>>) {
        let seq = self.next_block;
        self.next_block += 1;
        let reason = match awaiting {
            Awaiting::Taken { .. } => BlockReason::SyncSend,
            Awaiting::Answer { .. } => BlockReason::Call,
            Awaiting::Room { .. } => BlockReason::BackPressure,
        };
        self.may_park = true;
        let slot = &mut self.nodes[node.index()];
        slot.block = Some(Blocked { seq, awaiting, parked });
        if let (Some(t), Awaiting::Taken { .. }) = (timeout_ns, awaiting) {
            let at = self.now.saturating_add(slot.clock.real_duration(t));
            self.queue.push(at, Ev::SendTimeout { node, incarnation: slot.incarnation, seq });
        }
        let timeout = timeout_ns.is_some();
        self.recorder.record(self.now, EventKind::Block { node, on, reason, timeout });
        self.waits.block(node, Wait { on, reason, since: self.now, timeout, settled: false });
        if let Some(cycle) = self.waits.cycle_through(node) {
            let permanent = cycle.permanent();
            self.recorder.record(self.now, EventKind::Deadlock { node, len: cycle.members.len() as u32, permanent });
            if self.wait_cycles.len() < MAX_CYCLES_KEPT {
                self.wait_cycles.push((self.now, cycle));
            }
        }
    }

    /// End `node`'s wait: apply the effects parked behind it, hand the process how its send or
    /// call ended, then let it handle what arrived meanwhile.
    fn unblock(&mut self, node: NodeId, reason: UnblockReason, completion: Option<Completion<P::Msg>>) {
        let Some(blocked) = self.nodes[node.index()].block.take() else { return };
        self.waits.release(node);
        self.recorder.record(self.now, EventKind::Unblock { node, reason });
        if !blocked.parked.is_empty() {
            debug_assert!(self.effects.is_empty());
            self.effects = blocked.parked;
            self.apply_effects(node);
        }
        if let Some(completion) = completion {
            self.with_process(node, |p, ctx| p.on_complete(ctx, completion));
        }
        if self.nodes[node.index()].block.is_none() {
            self.resume_held(node);
            self.take_next(node);
        }
    }

    /// Let a process that is free again handle the events it held, one at a time, as a
    /// thread would: if one blocks it again, the rest wait for the next release.
    fn resume_held(&mut self, node: NodeId) {
        let slot = &self.nodes[node.index()];
        if slot.status == Status::Up && slot.block.is_none() && !slot.held.is_empty() {
            self.queue.push(self.now, Ev::Resume { node, incarnation: slot.incarnation });
        }
    }

    /// A held event goes back to the queue or to its handler: a message is in flight again and
    /// a timer queued again, as they were before they were held (their handling counts them out).
    fn unpark(&mut self, ev: &Ev<P::Msg, P::Timer>) {
        match ev {
            Ev::Deliver { msg, .. } => {
                self.in_flight += 1;
                self.in_flight_heap = self.in_flight_heap.saturating_add(msg.heap_bytes());
            }
            Ev::Timer { .. } => self.timers_moved(1),
            _ => {}
        }
    }

    /// Put the events a node held back into the queue, now, in the order they arrived.
    fn requeue_held(&mut self, node: NodeId) {
        let held = self.nodes[node.index()].held.take();
        for ev in held {
            self.unpark(&ev);
            self.queue.push(self.now, ev);
        }
    }

    /// Back-pressure: whether `from` may send to `to` now, reserving room in `to`'s mailbox if so.
    fn admit(&mut self, from: NodeId, to: NodeId) -> bool {
        let Some(capacity) = self.scenario.mailbox(to.index()).filter(|m| m.overflow == Overflow::BackPressure).and_then(|m| m.capacity)
        else {
            return true;
        };
        if self.nodes[from.index()].granted == Some(to) {
            self.nodes[from.index()].granted = None;
            return true; // the room granted when the sender was released
        }
        let dest = &mut self.nodes[to.index()];
        if dest.reserved < capacity {
            dest.reserved += 1;
            return true;
        }
        false
    }

    /// Transmission `id` to `to` was taken or dropped: if it held room in `to`'s mailbox,
    /// free it and give it to the sender that has waited longest.
    fn free_room(&mut self, to: NodeId, id: MsgId) {
        if !self.back_pressure || !self.reserved_ids.remove(&id) {
            return;
        }
        self.nodes[to.index()].reserved -= 1;
        self.grant_room(to);
    }

    fn grant_room(&mut self, to: NodeId) {
        let Some(capacity) = self.scenario.mailbox(to.index()).and_then(|m| m.capacity) else { return };
        while self.nodes[to.index()].reserved < capacity {
            let Some((waiter, seq)) = self.nodes[to.index()].room_waiters.pop_front() else { return };
            let w = &mut self.nodes[waiter.index()];
            // A waiter that crashed, or timed out of some other wait since, is not waiting here.
            if !matches!(w.block, Some(Blocked { seq: s, awaiting: Awaiting::Room { to: t }, .. }) if s == seq && t == to) {
                continue;
            }
            w.granted = Some(to);
            let incarnation = w.incarnation;
            // The room is the waiter's: it now waits on the notice, not on `to`.
            self.waits.settle(waiter);
            self.nodes[to.index()].reserved += 1;
            let at = self.now.saturating_add(self.network.min_latency_ns(to, waiter));
            self.queue.push(at, Ev::Release { node: waiter, incarnation, seq, reason: UnblockReason::Room });
        }
    }

    fn workload(&mut self, generator: u32, k: u64) {
        // Draw order, all from the workload stream: the next send's gap (drawn arrivals), the
        // destination (random targets), the size (drawn sizes). Fixed schedules draw nothing.
        let g = &self.scenario.workload[generator as usize];
        if k + 1 < g.count
            && let Some(next) = g.arrivals.after(g.start, k, self.now, &mut self.workload_rng)
        {
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
        let size = g.size.next(&mut self.workload_rng);
        let payload = Payload::new(AppId(self.next_app), g.from, size);
        self.next_app += 1;
        self.command(g.from, Command::Send { payload, dest });
    }

    fn command(&mut self, node: NodeId, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        match self.nodes[node.index()].status {
            Status::Down => self.recorder.record(self.now, EventKind::CommandRefused { node, app: payload.id }),
            Status::Paused => self.nodes[node.index()].held.push_back(Ev::HeldCommand { node, cmd }),
            // A blocked process takes no command; it finds it waiting when it goes on.
            Status::Up if self.nodes[node.index()].block.is_some() => {
                self.nodes[node.index()].held.push_back(Ev::HeldCommand { node, cmd })
            }
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
                let freed = std::mem::take(&mut slot.heap);
                self.state_budget.process_moved(freed, 0);
                self.in_flight_budget.bytes = self.left_for_messages();
                let slot = &mut self.nodes[n.index()];
                slot.incarnation += 1;
                slot.serving = false;
                slot.block = None;
                let granted = slot.granted.take();
                let held = slot.held.take();
                let waiting = slot.mailbox.as_mut().map(Mailbox::drain).unwrap_or_default();
                self.waits.release(n);
                record(self, FaultAction::Crash, Some(n));
                if let Some(to) = granted {
                    // Room granted to a send the crash cancelled goes to the next waiter.
                    self.nodes[to.index()].reserved -= 1;
                    self.grant_room(to);
                }
                // Whatever the node was holding dies with it.
                for Arrived { from, id, .. } in waiting {
                    self.recorder.record(self.now, EventKind::Drop { from, to: n, msg: id, reason: DropReason::NodeDown });
                    self.free_room(n, id);
                }
                for ev in held {
                    match ev {
                        Ev::Deliver { from, to, id, .. } => {
                            self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason: DropReason::NodeDown });
                            self.free_room(to, id);
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
                self.may_park = true;
                record(self, FaultAction::Pause, Some(n));
            }
            Fault::Resume(n) => {
                if self.nodes[n.index()].status != Status::Paused {
                    return;
                }
                self.nodes[n.index()].status = Status::Up;
                record(self, FaultAction::Resume, Some(n));
                // Held events run now, in the order they arrived.
                self.requeue_held(n);
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

    /// Call a handler of `node`'s process, then apply what it asked for. Always inlined: with
    /// the memory budget's reading after the handler, the compiler stopped inlining it into
    /// the delivery path on its own, and the call cost ping-pong 5 % of its instructions.
    #[inline(always)]
    fn with_process(&mut self, node: NodeId, handler: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Timer>)) {
        let slot = &mut self.nodes[node.index()];
        let Some(process) = slot.process.as_mut() else { return };
        let mut ctx = Ctx {
            // Not read when every clock keeps true time: the clock is off the node's first line.
            now_local: if self.true_clocks { self.now } else { slot.clock.local(self.now) },
            me: node,
            cluster: &self.scenario.cluster,
            rng: &mut slot.rng,
            effects: &mut self.effects,
            next_timer: &mut self.next_timer,
            next_call: &mut self.next_call,
        };
        handler(process, &mut ctx);
        let heap = process.heap_bytes();
        if heap != slot.heap {
            self.process_holds(node, heap);
        }
        if !self.effects.is_empty() {
            self.apply_effects(node);
        }
    }

    /// `node`'s process now holds `heap` bytes of state: count it against the memory budget.
    #[cold]
    #[inline(never)]
    fn process_holds(&mut self, node: NodeId, heap: u64) {
        let slot = &mut self.nodes[node.index()];
        self.state_budget.process_moved(std::mem::replace(&mut slot.heap, heap), heap);
        self.rebudget();
    }

    /// The trace reached the next checkpoint: test its length, read what the checkers hold.
    #[cold]
    #[inline(never)]
    fn checkpoint(&mut self, max_trace_events: u64) -> Option<EndReason> {
        let events = self.recorder.hasher.events();
        if events > max_trace_events {
            return Some(EndReason::MaxTraceEvents);
        }
        let checkers = self.recorder.checkers.iter().map(|(_, c)| &**c);
        self.state_budget.read_checkers(checkers, events, max_trace_events);
        let decisions = self.decisions_cost.map(|cost| {
            let place = std::mem::size_of::<crate::net::Decision>() as u64;
            let (len, capacity) = self.network.recorded();
            (capacity as u64).saturating_mul(place).saturating_add((len as u64).saturating_mul(cost))
        });
        if self.recorder.kept_cost.is_some() || decisions.is_some() {
            self.state_budget.set_kept_trace(self.recorder.kept_bytes().unwrap_or(0).saturating_add(decisions.unwrap_or(0)));
        }
        self.rebudget();
        self.over_budget
    }

    /// The run reached the next step checkpoint: test `max_events`, count what waits at the
    /// nodes. By steps, not trace events: a paused node holds commands that leave no line.
    #[cold]
    #[inline(never)]
    fn step_checkpoint(&mut self, max_events: u64) -> Option<EndReason> {
        if self.steps >= max_events {
            return Some(EndReason::MaxEvents);
        }
        if self.may_park {
            // What waits at the nodes (mailboxes, events held for a paused or blocked
            // process) left the wire, and the in-flight count, when it arrived.
            let (held, waiting) = (Self::parked_bytes::<Ev<P::Msg, P::Timer>>(), Self::parked_bytes::<Arrived<P::Msg>>());
            let parked = self.nodes.iter().fold(0u64, |sum, n| {
                let queued = (n.held.capacity() as u64).saturating_mul(held);
                sum.saturating_add(queued).saturating_add((n.mailbox.as_ref().map_or(0, Mailbox::len) as u64).saturating_mul(waiting))
            });
            self.state_budget.set_parked(parked);
            self.rebudget();
        }
        self.state_budget.next_walk = self.steps.saturating_add(PARKED_WALK_STEPS.max(self.nodes.len() as u64)).min(max_events);
        self.over_budget
    }

    /// What one event or message waiting at a node costs the memory budget: its size, and
    /// the same overhead as one in flight (the heap its message owns is not walked).
    fn parked_bytes<T>() -> u64 {
        std::mem::size_of::<T>() as u64 + IN_FLIGHT_OVERHEAD_BYTES
    }

    /// The state held changed: what is left of the memory budget goes to the messages in
    /// flight, and the run ends if the state, or the state and the messages, are over it.
    fn rebudget(&mut self) {
        self.in_flight_budget.bytes = self.left_for_messages();
        if let Some(reason) = self.over_memory() {
            self.exhaust(reason);
        }
    }

    /// Why the state, the timers queued and the messages in flight are over the budget, if they are.
    fn over_memory(&self) -> Option<EndReason> {
        let timers = self.timers.saturating_mul(self.in_flight_budget.timer_each);
        self.state_budget
            .exceeded()
            .or_else(|| (timers > self.state_budget.left_for_messages()).then_some(EndReason::MaxMemory))
            .or_else(|| self.in_flight_budget.exceeded(self.in_flight, self.in_flight_heap))
    }

    fn apply_effects(&mut self, node: NodeId) {
        let mut effects = std::mem::take(&mut self.effects);
        let mut rest = effects.drain(..);
        // No budget test per effect (the hot path): a handler's effects are as many as it
        // allocated itself, so finishing them is bounded; fan-outs, which multiply one effect
        // by the cluster's size, and the boot, which runs every handler, stop at once.
        while let Some(effect) = rest.next() {
            let blocking = match effect {
                Effect::SendSync { .. } => Some("send_sync"),
                Effect::Call { wait: true, .. } => Some("waiting call"),
                _ => None,
            };
            if let Some(what) = blocking {
                assert!(rest.len() == 0, "protocol bug: node {} recorded effects after a blocking {what}", node.0);
            }
            // A point-to-point send into a full back-pressure mailbox blocks the sender; it and
            // everything after it are parked until there is room.
            if self.back_pressure
                && let Some(to) = self.single_destination(node, &effect)
                && !self.admit(node, to)
            {
                let parked = std::iter::once(effect).chain(rest.by_ref()).collect();
                self.block_for_room(node, to, parked);
                break;
            }
            match effect {
                Effect::Send { to, msg } => {
                    self.transmit(node, to, msg);
                }
                Effect::SendSync { to, msg, timeout_ns } => {
                    let seq = self.next_block;
                    let id = self.transmit(node, to, msg);
                    self.tags.insert(id, Tag::Sync { sender: node, seq });
                    self.block(node, to, Awaiting::Taken { to }, timeout_ns, Vec::new());
                }
                Effect::Call { to, msg, call, timeout_ns, wait } => self.start_call(node, to, msg, call, timeout_ns, wait),
                Effect::Reply { call, msg } => {
                    let to = self.caller_of(node, call);
                    let id = self.transmit(node, to, msg);
                    self.tags.insert(id, Tag::Reply(call));
                }
                Effect::Multicast { group, msg } => {
                    let members = self.scenario.cluster.members(group);
                    if let Some(parked) = self.fan_out(node, members.iter().copied(), msg, &mut rest) {
                        let to = parked_destination(&parked);
                        self.block_for_room(node, to, parked);
                        break;
                    }
                }
                Effect::Broadcast { msg } => {
                    let everyone = (0..self.nodes.len() as u32).map(NodeId);
                    if let Some(parked) = self.fan_out(node, everyone, msg, &mut rest) {
                        let to = parked_destination(&parked);
                        self.block_for_room(node, to, parked);
                        break;
                    }
                }
                Effect::SetTimer { id, after_local_ns, timer } => {
                    let slot = &self.nodes[node.index()];
                    let at = self.now.saturating_add(slot.clock.real_duration(after_local_ns));
                    self.live_timers.insert(id);
                    self.queue.push(at, Ev::Timer { node, incarnation: slot.incarnation, id, timer });
                    // Checked where it is set: a handler that sets a timer per message it
                    // gets would otherwise grow the queue without bound.
                    self.timers_moved(1);
                    if let Some(reason) = self.over_memory() {
                        self.exhaust(reason);
                    }
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
                Effect::Attempt { to, series, attempt } => {
                    self.recorder.record(self.now, EventKind::Attempt { node, to, series, attempt });
                }
                Effect::Ack { to, series } => self.recorder.record(self.now, EventKind::Ack { node, to, series }),
                Effect::Answer { to, series, attempt } => {
                    self.recorder.record(self.now, EventKind::Answer { node, to, series, attempt });
                }
                Effect::AttemptFailed { to, series, attempt } => {
                    self.recorder.record(self.now, EventKind::AttemptFailed { node, to, series, attempt });
                }
                Effect::CallOutcome { app, outcome, latency_ns } => {
                    self.recorder.record(self.now, EventKind::Call { node, app, outcome, latency_ns });
                }
                Effect::Operation { op, server, outcome } => {
                    self.recorder.record(self.now, EventKind::Op { node, op, server, outcome });
                    self.ops.observe(self.now, node, op, outcome);
                }
                Effect::Breaker { from, to } => self.recorder.record(self.now, EventKind::Breaker { node, from, to }),
                Effect::Suspicion { of, suspected } => self.recorder.record(self.now, EventKind::Suspicion { node, of, suspected }),
                Effect::View { view, members } => self.recorder.record(self.now, EventKind::View { node, view, members }),
                Effect::Inject { actions, from, to, msg } => self.inject(actions, from, to, msg),
            }
        }
        drop(rest);
        // Keep the allocation for the next handler.
        self.effects = effects;
    }

    /// The one node a point-to-point effect sends to, if it is one.
    fn single_destination(&self, node: NodeId, effect: &Effect<P::Msg, P::Timer>) -> Option<NodeId> {
        match *effect {
            Effect::Send { to, .. } | Effect::SendSync { to, .. } | Effect::Call { to, .. } => Some(to),
            Effect::Reply { call, .. } => Some(self.caller_of(node, call)),
            _ => None,
        }
    }

    /// The caller of `call`, which `node` answers.
    fn caller_of(&self, node: NodeId, call: CallId) -> NodeId {
        let caller = self.calls.get(&call).map(|c| c.caller);
        caller.unwrap_or_else(|| panic!("protocol bug: node {} answered call {}, which was never made", node.0, call.0))
    }

    /// One copy of `msg` to each of `recipients` but `node`. If a back-pressure mailbox has no
    /// room, the copies not sent yet and the handler's remaining effects, to park.
    fn fan_out(
        &mut self,
        node: NodeId,
        recipients: impl Iterator<Item = NodeId>,
        msg: P::Msg,
        rest: &mut std::vec::Drain<'_, Effect<P::Msg, P::Timer>>,
    ) -> Option<Vec<Effect<P::Msg, P::Timer>>> {
        let mut left = recipients.filter(|&to| to != node);
        while let Some(to) = left.next() {
            if self.over_budget.is_some() {
                return None;
            }
            if self.back_pressure && !self.admit(node, to) {
                let unsent = std::iter::once(to).chain(left).map(|to| Effect::Send { to, msg: msg.clone() });
                return Some(unsent.chain(rest.by_ref()).collect());
            }
            self.transmit(node, to, msg.clone());
        }
        None
    }

    fn block_for_room(&mut self, node: NodeId, to: NodeId, parked: Vec<Effect<P::Msg, P::Timer>>) {
        let seq = self.next_block;
        self.nodes[to.index()].room_waiters.push_back((node, seq));
        self.block(node, to, Awaiting::Room { to }, None, parked);
    }

    fn start_call(&mut self, node: NodeId, to: NodeId, msg: P::Msg, call: CallId, timeout_ns: Option<u64>, wait: bool) {
        let incarnation = self.nodes[node.index()].incarnation;
        let id = self.transmit(node, to, msg);
        self.calls.insert(call, PendingCall { caller: node, incarnation, done: false, callee: to, request: id });
        self.tags.insert(id, Tag::Request(call));
        if let Some(t) = timeout_ns {
            let at = self.now.saturating_add(self.nodes[node.index()].clock.real_duration(t));
            self.queue.push(at, Ev::CallTimeout { call });
        }
        if wait {
            self.block(node, to, Awaiting::Answer { call }, timeout_ns, Vec::new());
        }
    }

    /// Put one message on the link `from -> to` and schedule its arrival(s).
    fn transmit(&mut self, from: NodeId, to: NodeId, mut msg: P::Msg) -> MsgId {
        assert!(to.index() < self.nodes.len(), "protocol bug: node {} sent to {}, which does not exist", from.0, to.0);
        let id = MsgId(self.next_msg);
        self.next_msg += 1;
        let size = msg.wire_size();
        self.recorder.record(self.now, EventKind::Send { from, to, msg: id, size });
        if self.back_pressure && self.scenario.mailbox(to.index()).is_some_and(|m| m.overflow == Overflow::BackPressure) {
            self.reserved_ids.insert(id);
        }
        if let Some(seen) = self.adversary.as_mut().and_then(|a| a.intercept(from, to, &mut msg)) {
            for action in seen.actions {
                self.recorder.record(self.now, EventKind::Adversary { action, from, to, msg: id });
            }
            for (action, claimed, receiver, copy) in seen.injected {
                self.inject(std::slice::from_ref(&action), claimed, receiver, copy);
            }
            if seen.dropped {
                self.free_room(to, id);
                return id;
            }
        }
        match self.network.route(id, from, to, size, self.now, &mut self.net_rng) {
            Route::Dropped(reason) => {
                self.recorder.record(self.now, EventKind::Drop { from, to, msg: id, reason });
                self.free_room(to, id);
            }
            Route::Delivered { first, duplicate } => {
                let copy = duplicate.map(|_| msg.clone());
                self.schedule_arrival(from, to, id, first, msg);
                if let (Some(dup), Some(copy)) = (duplicate, copy) {
                    self.recorder.record(self.now, EventKind::Duplicate { from, to, msg: id });
                    self.schedule_arrival(from, to, id, dup, copy);
                }
            }
            Route::OverFragmentBudget => self.exhaust(EndReason::MaxFragments),
        }
        id
    }

    /// What the memory budget leaves for the messages in flight: what the state and the timers
    /// queued do not hold. Timers are taken off here, as they come and go, rather than at each
    /// transmission's test (the hot path).
    fn left_for_messages(&self) -> u64 {
        self.state_budget.left_for_messages().saturating_sub(self.timers.saturating_mul(self.in_flight_budget.timer_each))
    }

    /// `delta` timers more (or fewer) in the queue: what is left for the messages moves with them.
    #[inline(always)]
    fn timers_moved(&mut self, delta: i64) {
        self.timers = self.timers.wrapping_add_signed(delta);
        self.in_flight_budget.bytes = self.left_for_messages();
    }

    /// A budget ran out inside an event: note the first reason; the event's remaining work
    /// is skipped and the run ends when it returns.
    #[cold]
    fn exhaust(&mut self, reason: EndReason) {
        self.over_budget.get_or_insert(reason);
    }

    /// One more message on the wire, owning `heap` bytes, checked against the budget at once:
    /// a fan-out or a boot that sends millions, or copies that grow, stops at the first
    /// message over it.
    #[inline(always)]
    fn count_in_flight(&mut self, heap: u64) {
        self.in_flight += 1;
        self.in_flight_heap = self.in_flight_heap.saturating_add(heap);
        if let Some(reason) = self.in_flight_budget.exceeded(self.in_flight, self.in_flight_heap) {
            self.exhaust(reason);
        }
    }

    /// Hand the adversary's `msg` to `to` as if `from` had sent it, recorded with each of
    /// `actions` in turn. It arrives at once: the adversary is on the path, and a protocol's
    /// defences must not hinge on its timing.
    fn inject(&mut self, actions: &[AdversaryAction], from: NodeId, to: NodeId, msg: P::Msg) {
        let id = MsgId(self.next_msg);
        self.next_msg += 1;
        for &action in actions {
            self.recorder.record(self.now, EventKind::Adversary { action, from, to, msg: id });
        }
        self.count_in_flight(msg.heap_bytes());
        self.queue.push(self.now, Ev::Deliver { from, to, id, corrupted: false, msg });
    }

    #[inline(always)]
    fn schedule_arrival(&mut self, from: NodeId, to: NodeId, id: MsgId, arrival: Arrival, mut msg: P::Msg) {
        if arrival.corrupted {
            self.recorder.record(self.now, EventKind::Corrupt { from, to, msg: id });
            msg.corrupt();
        }
        self.count_in_flight(msg.heap_bytes());
        self.queue.push(arrival.at, Ev::Deliver { from, to, id, corrupted: arrival.corrupted, msg });
    }
}

/// Steps between two counts of what waits at the nodes, at least (a walk over the nodes: at
/// most one node's visit per step, with more nodes than this).
const PARKED_WALK_STEPS: u64 = 4096;

/// What one message in flight costs beside its event: the queue's bucket slack and the heap
/// its message owns, on average (measured: a heartbeat boot of 10 million messages took
/// 1.8 GB, 180 bytes each, with 48-byte events).
const IN_FLIGHT_OVERHEAD_BYTES: u64 = 128;

/// What ends a run by its messages in flight: more than `max_in_flight` of them, or more
/// memory than `max_memory_mb`, counting each at this process type's event size plus the
/// overhead, plus the heap bytes the copies declare (`Message::heap_bytes`).
#[derive(Clone, Copy, Debug)]
struct InFlightBudget {
    max_in_flight: u64,
    /// Fixed bytes per copy in flight.
    each: u64,
    /// Fixed bytes per timer queued: its queue entry and its slot among the live timers.
    timer_each: u64,
    /// `max_memory_mb` in bytes, less what the processes' and checkers' state and the timers
    /// queued hold.
    bytes: u64,
}

impl InFlightBudget {
    /// The budget of `limits`, each copy costing `extra` bytes more than the engine holds for it.
    fn new<P: Process>(limits: &crate::scenario::Limits, extra: u64) -> InFlightBudget {
        let entry = std::mem::size_of::<Ev<P::Msg, P::Timer>>() as u64 + IN_FLIGHT_OVERHEAD_BYTES;
        let each = entry.saturating_add(extra);
        let timer_each = entry + 2 * std::mem::size_of::<TimerId>() as u64;
        InFlightBudget { max_in_flight: limits.max_in_flight, each, timer_each, bytes: limits.max_memory_mb.saturating_mul(1 << 20) }
    }

    /// Why `count` copies in flight owning `heap` bytes are over budget, if they are.
    #[inline(always)]
    fn exceeded(&self, count: u64, heap: u64) -> Option<EndReason> {
        if count.saturating_mul(self.each).saturating_add(heap) > self.bytes {
            Some(EndReason::MaxMemory)
        } else if count > self.max_in_flight {
            Some(EndReason::MaxInFlight)
        } else {
            None
        }
    }
}

/// The destination of the first parked send: the mailbox a fan-out waits on.
fn parked_destination<M, T>(parked: &[Effect<M, T>]) -> NodeId {
    match parked.first() {
        Some(Effect::Send { to, .. }) => *to,
        _ => unreachable!("a fan-out parks its unsent copies first"),
    }
}

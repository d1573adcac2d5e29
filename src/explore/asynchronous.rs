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
//! A state's successors are made from its own world when every process opts in to being
//! copied ([`Process::snapshot`]): each step is taken, judged and taken back, which copies only
//! the process the step ran; otherwise a state is reached by running its path from the boot, so
//! every protocol can be explored. The two are one search (`Search`): the same states
//! in the same order. Each state is known by a fingerprint:
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
//! judge orders, not durations: the model has no time. A process reads its own clock: one
//! microsecond per input its node handled, so that its view of the time depends on its own
//! history alone (two events at different nodes commute for the processes too).
//!
//! Liveness is bounded by the depth bound: states never repeat (every step uses up a message,
//! a timer, a command or a scripted fault, or numbers something new, and ids are part of the
//! state), so the state graph has no cycle in which progress could be put off for ever; such a
//! behaviour is a path the depth bound cuts.

use crate::id::{AppId, MsgId, NodeId, TimerId};
use crate::net::{LinkModel, Partitions};
use crate::process::{Command, Ctx, Dest, Effect, Incoming, Message, Payload, Process, StateHasher};
use crate::rng::{SimRng, Stream};
use crate::scenario::{Arrivals, Fault, Scenario, Target};
use crate::sim::{ProtocolPanic, RunOptions, RunResult};
use crate::time::SimTime;
use crate::trace::{DropReason, EventKind, FaultAction, MessageCounts, TraceEvent, TraceHasher};
use crate::verdict::{EndReason, Outcome, RunEnd, Verdict};
use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use super::sleep::{Actor, Load, Sleeps};
use super::{Bounds, Exploration, Violation};

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

/// A wire entry's cost beside its size: the vector's spare room (the allowance the budget
/// made when the wire was a map, kept so the budget cuts paths where it did).
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
pub(super) struct Setup {
    commands: Vec<(SimTime, NodeId, Command)>,
    rngs: Vec<Arc<SimRng>>,
    /// Per node: its commands (indices into `commands`), and the fault script's crashes and
    /// restarts of it (each fault's index), in order: what every state shares.
    queue: Vec<Vec<usize>>,
    crashes: Vec<Vec<u32>>,
    restarts: Vec<Vec<u32>>,
}

impl Setup {
    fn new(scenario: &Scenario, seed: u64) -> Setup {
        let n = scenario.node_count();
        let rngs = (0..n).map(|i| Arc::new(SimRng::new(seed, Stream::Node(i as u32)))).collect();
        let commands = commands(scenario, seed);
        let mut queue = vec![Vec::new(); n];
        for (i, (_, node, _)) in commands.iter().enumerate() {
            queue[node.index()].push(i);
        }
        let mut crashes = vec![Vec::new(); n];
        let mut restarts = vec![Vec::new(); n];
        for (i, f) in scenario.faults.iter().enumerate() {
            match f.fault {
                Fault::Crash(node) => crashes[node.index()].push(i as u32),
                Fault::Restart(node) => restarts[node.index()].push(i as u32),
                _ => {}
            }
        }
        Setup { commands, rngs, queue, crashes, restarts }
    }
}

/// What the model keeps of one node beside its process, in one place so that copying a state
/// copies one small array.
#[derive(Clone, Default)]
struct NodeState {
    incarnation: u32,
    /// The hash of every input handled, in order (crashes and restarts included).
    history: u64,
    /// The hash of what it reported to the checks, in order.
    reported: u64,
    /// Transmissions made (a message's id is `count * n + node`).
    sent: u64,
    /// The counters its context hands out (timer and call ids).
    next_timer: u64,
    next_call: u64,
    /// Commands issued, and the script's crashes and restarts of it used.
    issued: usize,
    crashes: usize,
    restarts: usize,
    /// Its part of the fingerprint (see `node_fingerprint`) and whether the process
    /// fingerprints itself, as of the last fingerprint; recomputed only if a step touched the
    /// node since (`dirty`), so a step costs one process's hash, not every process's.
    fp: (u64, bool),
    dirty: bool,
    /// The hash of the messages it has in flight and the timers it has set (see
    /// `pending_fingerprint`), as of the last fingerprint; recomputed if a step sent, took or
    /// marked one of its messages or set or unset one of its timers (`wire_dirty`, set for
    /// every node at the boot), or changed whether its process fingerprints itself, so a step
    /// rehashes what one node (two, for a delivery that sends) has pending, not the whole wire.
    pending: u64,
    wire_dirty: bool,
    /// Its random stream's position (`SimRng::position`), kept here because asking the stream
    /// costs more than a handler that draws nothing.
    drawn: u128,
    /// Inputs handled (crashes and restarts included): the node's own clock, so that what its
    /// process reads as `now` depends on its history alone, not on when other nodes moved.
    handled: u64,
}

/// A message on the wire.
struct Flight<M> {
    from: NodeId,
    to: NodeId,
    msg: M,
    /// A copy the link already duplicated: it is not duplicated again.
    copy: bool,
    /// The hash of the message's `Debug` text, made the first time a fingerprint needs it and
    /// kept with the message (and its copies), so a message is formatted once, not once a state.
    content: Option<u64>,
}

impl<M: Clone> Clone for Flight<M> {
    fn clone(&self) -> Self {
        Flight { from: self.from, to: self.to, msg: self.msg.clone(), copy: self.copy, content: self.content }
    }
}

/// The messages in flight, by id: a vector kept sorted rather than a map, so that copying a
/// state copies one allocation (a handful of messages are in flight in a scenario to explore).
/// A message id interleaves its sender (`sent * n + node`), so one handler's sends belong
/// between the others' messages: they are appended ([`Wire::push`]) and put in place at the
/// end of the step or the boot ([`Wire::settle`]), one merge of sorted runs. Inserted one at a time, a
/// boot of 1,000 heartbeat nodes shifted the wire a million times (hours before the first step).
struct Wire<M>(Vec<(MsgId, Flight<M>)>);

impl<M: Clone> Clone for Wire<M> {
    fn clone(&self) -> Self {
        Wire(self.0.clone())
    }
}

impl<M> Wire<M> {
    /// Append a new message, out of order until [`Wire::settle`].
    fn push(&mut self, id: MsgId, flight: Flight<M>) {
        self.0.push((id, flight));
    }

    /// Put appended messages in id order: the wire is a sorted run and the appended ones
    /// another (a handler's sends have increasing ids), which a stable sort merges in one pass.
    fn settle(&mut self) {
        if !self.0.is_sorted_by_key(|(id, _)| *id) {
            self.0.sort_by_key(|(id, _)| *id);
        }
    }

    /// Remove the messages `ids` (sorted), in one pass however many there are.
    fn remove_all(&mut self, ids: &[MsgId]) {
        // Most steps send nothing: no walk over the wire then.
        if ids.is_empty() {
            return;
        }
        let mut gone = ids.iter().peekable();
        self.0.retain(|(id, _)| {
            while gone.next_if(|g| *g < id).is_some() {}
            gone.next_if_eq(&id).is_none()
        });
    }

    fn at(&self, id: MsgId) -> usize {
        self.0.binary_search_by_key(&id, |(k, _)| *k).expect("in flight")
    }

    fn get(&self, id: MsgId) -> &Flight<M> {
        &self.0[self.at(id)].1
    }

    fn get_mut(&mut self, id: MsgId) -> &mut Flight<M> {
        let at = self.at(id);
        &mut self.0[at].1
    }

    fn remove(&mut self, id: MsgId) -> Flight<M> {
        let at = self.at(id);
        self.0.remove(at).1
    }

    fn insert(&mut self, id: MsgId, flight: Flight<M>) {
        let at = self.0.binary_search_by_key(&id, |(k, _)| *k).expect_err("a message id is used once");
        self.0.insert(at, (id, flight));
    }
}

/// One path's whole state: processes, the wire, timers, the workload's progress, and the trace.
pub(super) struct World<'s, P: Process> {
    scenario: &'s Scenario,
    n: u64,
    setup: &'s Setup,
    procs: Vec<Option<P>>,
    /// Per node: its random stream, shared with the states it was copied from until it draws.
    rngs: Vec<Arc<SimRng>>,
    nodes: Vec<NodeState>,
    commands: &'s [(SimTime, NodeId, Command)],
    wire: Wire<P::Msg>,
    /// Bytes the messages on the wire take, as the engine's in-flight budget counts them.
    wire_bytes: u64,
    /// The in-flight budget ran out (`max_in_flight` or `max_memory_mb`): the path ends here,
    /// as a run does, and what was sent past the budget is not put on the wire.
    over_budget: Option<EndReason>,
    /// What the last step applied sent across no cut (messages, and bytes as `wire_bytes`
    /// counts them), for the reduction's reading of the in-flight budget.
    step_sent: (u64, u64),
    /// Timers set and neither fired nor cancelled, by their trace id, each with the hash of its
    /// `Debug` text once a fingerprint needed it.
    timers: BTreeMap<TimerId, (NodeId, P::Timer, Option<u64>)>,
    /// The script's partitions and heals not used yet (indices), and the cuts in force (indices).
    cuts: Vec<u32>,
    heals: Vec<u32>,
    active: Vec<u32>,
    partitions: Partitions,
    pub(super) faults: usize,
    steps: u64,
    effects: Vec<Effect<P::Msg, P::Timer>>,
    events: Vec<TraceEvent>,
    messages: MessageCounts,
    /// What the process asked for that the model cannot do, if anything.
    pub(super) unsupported: Option<&'static str>,
    /// Whether the scenario has checks (only then is what each node reports hashed).
    observed: bool,
    /// Whether to keep the trace's events.
    keep_events: bool,
    /// While a step is tried and taken back ([`World::try_step`]): what it did to the wire and
    /// the timers, in order, so that it can be undone.
    log: Option<Vec<Change<P::Msg, P::Timer>>>,
}

/// A timer set: its node, what it carries back, and the hash of its `Debug` text once a
/// fingerprint needed it.
type TimerEntry<T> = (NodeId, T, Option<u64>);

/// One change a tried step made to the wire or the timers, as [`World::undo`] reverses it.
enum Change<M, T> {
    /// A message was put on the wire.
    Sent(MsgId),
    /// A message left the wire (delivered, corrupted or lost).
    Taken(MsgId, Flight<M>),
    /// A message was duplicated, so its copy is no longer duplicated again.
    Copied(MsgId),
    /// A timer was set (replacing what it replaced, if anything).
    Set(TimerId, Option<TimerEntry<T>>),
    /// A timer fired, was cancelled or was lost in a crash.
    Unset(TimerId, TimerEntry<T>),
}

/// The script's partitions and heals not used yet, the cuts in force, and what they block.
type Cuts = (Vec<u32>, Vec<u32>, Vec<u32>, Partitions);

/// What [`World::try_step`] saved of a state beside its log: everything a step may change
/// that the log does not cover. A step runs at most one process's handler (effects only add to
/// the wire, the timers and the trace), so only that process is saved.
pub(super) struct Saved<P: Process> {
    /// The node whose process the step may change: its process (a copy) and random stream.
    node: Option<(usize, Option<P>, Arc<SimRng>)>,
    /// Every node's bookkeeping (a few words each, so all of them: the step's handler, its
    /// reports and its transmissions touch one node, but saving all is as cheap as finding it).
    nodes: Vec<NodeState>,
    wire_bytes: u64,
    over_budget: Option<EndReason>,
    faults: usize,
    steps: u64,
    events: usize,
    messages: MessageCounts,
    unsupported: Option<&'static str>,
    /// The script's cuts and heals, saved only when the step is a partition or a heal.
    cuts: Option<Cuts>,
    /// The log's buffer between tries.
    log: Vec<Change<P::Msg, P::Timer>>,
    /// The ids a tried step sent, as [`World::undo`] removes them (a buffer between tries).
    sent: Vec<MsgId>,
    /// Whether the step was begun (so there is something to undo).
    armed: bool,
}

impl<P: Process> Saved<P> {
    pub(super) fn new() -> Self {
        Saved {
            node: None,
            nodes: Vec::new(),
            wire_bytes: 0,
            over_budget: None,
            faults: 0,
            steps: 0,
            events: 0,
            messages: MessageCounts::default(),
            unsupported: None,
            cuts: None,
            log: Vec::new(),
            sent: Vec::new(),
            armed: false,
        }
    }
}

impl<'s, P: Process> World<'s, P> {
    fn boot(scenario: &'s Scenario, setup: &'s Setup, factory: &mut impl FnMut(NodeId) -> P, keep_events: bool) -> Self {
        let commands = &setup.commands[..];
        let n = scenario.node_count();
        let (mut cuts, mut heals) = (Vec::new(), Vec::new());
        for (i, f) in scenario.faults.iter().enumerate() {
            match f.fault {
                Fault::Partition(_) | Fault::OneWay { .. } => cuts.push(i as u32),
                Fault::Heal => heals.push(i as u32),
                _ => {}
            }
        }
        let mut world = World {
            scenario,
            n: n as u64,
            setup,
            procs: (0..n).map(|_| None).collect(),
            rngs: setup.rngs.clone(),
            nodes: setup
                .rngs
                .iter()
                .map(|r| NodeState { dirty: true, wire_dirty: true, drawn: r.position(), ..NodeState::default() })
                .collect(),
            commands,
            wire: Wire(Vec::new()),
            wire_bytes: 0,
            over_budget: None,
            step_sent: (0, 0),
            timers: BTreeMap::new(),
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
            log: None,
        };
        for i in 0..n {
            world.start(NodeId(i as u32), factory);
        }
        world.wire.settle();
        // Commands due at time 0 happen at the start, before anything else can.
        for (i, &(at, node, _)) in commands.iter().enumerate() {
            if at == SimTime::ZERO {
                debug_assert_eq!(world.setup.queue[node.index()].get(world.nodes[node.index()].issued), Some(&i));
                world.apply(Step::Command(AppId(i as u64)), factory);
            }
        }
        world
    }

    /// A copy of this state to take another step from, if every process opts in to being
    /// copied ([`Process::snapshot`]); `None` sends the search back to replaying paths.
    fn copy(&self) -> Option<Self> {
        self.copy_into(None)
    }

    /// [`World::copy`], into the buffers of `spare` (a world done with) if there is one, so
    /// that a copy allocates little beyond the processes' own copies.
    pub(super) fn copy_into(&self, spare: Option<Self>) -> Option<Self> {
        let Some(mut w) = spare else { return self.copy_fresh() };
        w.procs.clear();
        for p in &self.procs {
            w.procs.push(match p {
                Some(p) => Some(p.snapshot()?),
                None => None,
            });
        }
        w.rngs.clone_from(&self.rngs);
        w.nodes.clone_from(&self.nodes);
        // A spare's wire may be far longer than this one's: a kept copy should not carry its
        // room (65,536 of them may be kept), so a much larger buffer is not reused.
        if w.wire.0.capacity() > 2 * self.wire.0.len().max(4) {
            w.wire.0 = self.wire.0.clone();
        } else {
            w.wire.0.clone_from(&self.wire.0);
        }
        w.wire_bytes = self.wire_bytes;
        w.over_budget = self.over_budget;
        w.step_sent = self.step_sent;
        w.timers.clone_from(&self.timers);
        w.cuts.clone_from(&self.cuts);
        w.heals.clone_from(&self.heals);
        w.active.clone_from(&self.active);
        w.partitions.clone_from(&self.partitions);
        w.faults = self.faults;
        w.steps = self.steps;
        w.effects.clear();
        w.events.clone_from(&self.events);
        w.messages = self.messages;
        w.unsupported = self.unsupported;
        w.log = None;
        Some(w)
    }

    fn copy_fresh(&self) -> Option<Self> {
        let mut procs = Vec::with_capacity(self.procs.len());
        for p in &self.procs {
            procs.push(match p {
                Some(p) => Some(p.snapshot()?),
                None => None,
            });
        }
        Some(World {
            scenario: self.scenario,
            n: self.n,
            procs,
            setup: self.setup,
            rngs: self.rngs.clone(),
            nodes: self.nodes.clone(),
            commands: self.commands,
            wire: self.wire.clone(),
            wire_bytes: self.wire_bytes,
            over_budget: self.over_budget,
            step_sent: self.step_sent,
            timers: self.timers.clone(),
            cuts: self.cuts.clone(),
            heals: self.heals.clone(),
            active: self.active.clone(),
            partitions: self.partitions.clone(),
            faults: self.faults,
            steps: self.steps,
            effects: Vec::new(),
            events: self.events.clone(),
            messages: self.messages,
            unsupported: self.unsupported,
            observed: self.observed,
            keep_events: self.keep_events,
            log: None,
        })
    }

    fn now(&self) -> SimTime {
        SimTime((self.steps + 1) * 1_000)
    }

    fn record(&mut self, kind: EventKind) {
        if self.observed
            && let Some(node) = reporter(&kind)
        {
            self.nodes[node.index()].reported = mix(self.nodes[node.index()].reported, &kind);
            self.nodes[node.index()].dirty = true;
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
        self.nodes[node.index()].history.hash(&mut h);
        what.hash(&mut h);
        self.nodes[node.index()].history = h.finish();
        self.nodes[node.index()].handled += 1;
        self.nodes[node.index()].dirty = true;
    }

    fn start(&mut self, node: NodeId, factory: &mut impl FnMut(NodeId) -> P) {
        self.procs[node.index()] = Some(factory(node));
        self.with_process(node, |p, ctx| p.on_start(ctx));
    }

    /// The events that may happen next, in a fixed order, within the fault bound.
    pub(super) fn enabled(&self, max_faults: usize, out: &mut Vec<Step>) {
        out.clear();
        let faults_left = self.faults < max_faults;
        for (i, q) in self.setup.queue.iter().enumerate() {
            if let Some(&c) = q.get(self.nodes[i].issued) {
                out.push(Step::Command(AppId(c as u64)));
            }
        }
        for &(id, ref f) in &self.wire.0 {
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
            if up && faults_left && self.nodes[i].crashes < self.setup.crashes[i].len() {
                out.push(Step::Crash(NodeId(i as u32)));
            }
            if !up && self.nodes[i].restarts < self.setup.restarts[i].len() {
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
    pub(super) fn apply(&mut self, step: Step, factory: &mut impl FnMut(NodeId) -> P) {
        self.step_sent = (0, 0);
        if step.is_fault() {
            self.faults += 1;
        }
        match step {
            Step::Command(app) => {
                let (_, node, cmd) = self.commands[app.0 as usize];
                self.nodes[node.index()].issued += 1;
                self.nodes[node.index()].dirty = true;
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
                let f = self.wire.get(id);
                let (from, to) = (f.from, f.to);
                let mut msg = if step == Step::Duplicate(id) {
                    self.record(EventKind::Duplicate { from, to, msg: id });
                    self.wire.get_mut(id).copy = true;
                    self.nodes[from.index()].wire_dirty = true;
                    self.note(|| Change::Copied(id));
                    self.wire.get(id).msg.clone()
                } else {
                    let msg = self.take(id).msg;
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
                let f = self.take(id);
                self.wire_bytes = self.wire_bytes.saturating_sub(Self::flight_bytes(&f.msg));
                self.record(EventKind::Drop { from: f.from, to: f.to, msg: id, reason: DropReason::Lost });
            }
            Step::Timer(id) => {
                let (node, timer, _) = self.unset(id).expect("set");
                self.input(node, ("timer", id));
                self.record(EventKind::Timer { node, timer: id });
                self.with_process(node, |p, ctx| p.on_timer(ctx, timer));
            }
            Step::Crash(node) => {
                let index = self.setup.crashes[node.index()][self.nodes[node.index()].crashes];
                self.nodes[node.index()].crashes += 1;
                self.procs[node.index()] = None;
                self.nodes[node.index()].incarnation += 1;
                let lost: Vec<TimerId> = self.timers.iter().filter(|(_, (owner, _, _))| *owner == node).map(|(&id, _)| id).collect();
                for id in lost {
                    self.unset(id);
                }
                self.input(node, "crash");
                self.record(EventKind::Fault { action: FaultAction::Crash, node: Some(node), index });
            }
            Step::Restart(node) => {
                let index = self.setup.restarts[node.index()][self.nodes[node.index()].restarts];
                self.nodes[node.index()].restarts += 1;
                self.input(node, "restart");
                self.record(EventKind::Fault { action: FaultAction::Restart, node: Some(node), index });
                self.start(node, factory);
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
        // The step's handler appended what it sent (a step runs at most one handler).
        self.wire.settle();
        self.steps += 1;
    }

    fn with_process(&mut self, node: NodeId, handler: impl FnOnce(&mut P, &mut Ctx<'_, P::Msg, P::Timer>)) {
        let i = node.index();
        self.nodes[i].dirty = true;
        let Some(process) = self.procs[i].as_mut() else { return };
        let state = &mut self.nodes[i];
        // Most handlers draw nothing: the stream is copied onto the stack and stored again (a
        // new allocation) only if the handler drew from it.
        let mut rng = SimRng::clone(&self.rngs[i]);
        let mut ctx = Ctx {
            // The node's own clock (one microsecond per input it handled), never the global
            // step count: events at different nodes commute, so merging the orders of two such
            // events (in a fingerprint of inputs, or of a process that keeps what it read of
            // the time) must leave every process reading the same times.
            now_local: SimTime((state.handled + 1) * 1_000),
            me: node,
            cluster: &self.scenario.cluster,
            rng: &mut rng,
            effects: &mut self.effects,
            next_timer: &mut state.next_timer,
            next_call: &mut state.next_call,
        };
        handler(process, &mut ctx);
        let drawn = rng.position();
        if drawn != self.nodes[i].drawn {
            self.nodes[i].drawn = drawn;
            self.rngs[i] = Arc::new(rng);
        }
        // Applying an effect never runs a handler, so the buffer is free to reuse after.
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            self.effect(node, effect);
        }
        self.effects = effects;
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
                let replaced = self.timers.insert(id, (node, timer, None));
                self.nodes[node.index()].wire_dirty = true;
                self.note(|| Change::Set(id, replaced));
            }
            Effect::CancelTimer { id } => {
                self.unset(TimerId(id.0 * self.n + u64::from(node.0)));
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
            Effect::Attempt { .. } | Effect::Ack { .. } | Effect::AttemptFailed { .. } | Effect::Answer { .. } => {}
            Effect::SendSync { .. } => self.unsupported = Some("a blocking send (send_sync)"),
            Effect::Call { .. } | Effect::Reply { .. } => self.unsupported = Some("calls (call and reply)"),
            Effect::Inject { .. } => self.unsupported = Some("an insider's injections"),
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        assert!(to.index() < self.procs.len(), "protocol bug: node {} sent to {}, which does not exist", from.0, to.0);
        let id = MsgId(self.nodes[from.index()].sent * self.n + u64::from(from.0));
        self.nodes[from.index()].sent += 1;
        self.record(EventKind::Send { from, to, msg: id, size: msg.wire_size() });
        // A cut drops what is sent across it, as the engine's network does; what was already
        // on its way still arrives.
        if self.partitions.blocks(from, to) {
            self.record(EventKind::Drop { from, to, msg: id, reason: DropReason::Partitioned });
        } else if self.over_budget.is_none() {
            let bytes = Self::flight_bytes(&msg);
            self.step_sent = (self.step_sent.0 + 1, self.step_sent.1.saturating_add(bytes));
            self.wire_bytes = self.wire_bytes.saturating_add(bytes);
            let limits = &self.scenario.limits;
            if self.wire.0.len() as u64 >= limits.max_in_flight {
                self.over_budget = Some(EndReason::MaxInFlight);
            } else if self.wire_bytes > limits.max_memory_mb.saturating_mul(1 << 20) {
                self.over_budget = Some(EndReason::MaxMemory);
            } else {
                self.wire.push(id, Flight { from, to, msg, copy: false, content: None });
                self.nodes[from.index()].wire_dirty = true;
                self.note(|| Change::Sent(id));
            }
        }
    }

    /// Log `change` if a step is being tried.
    fn note(&mut self, change: impl FnOnce() -> Change<P::Msg, P::Timer>) {
        if let Some(log) = &mut self.log {
            log.push(change());
        }
    }

    /// Take message `id` off the wire (logged).
    fn take(&mut self, id: MsgId) -> Flight<P::Msg> {
        let f = self.wire.remove(id);
        self.nodes[f.from.index()].wire_dirty = true;
        match &mut self.log {
            Some(log) => {
                // The log keeps the message to put back; the caller gets a copy.
                let copy = f.clone();
                log.push(Change::Taken(id, f));
                copy
            }
            None => f,
        }
    }

    /// Remove timer `id` if it is set (logged).
    fn unset(&mut self, id: TimerId) -> Option<TimerEntry<P::Timer>> {
        let entry = self.timers.remove(&id)?;
        self.nodes[entry.0.index()].wire_dirty = true;
        match &mut self.log {
            Some(log) => {
                let copy = entry.clone();
                log.push(Change::Unset(id, entry));
                Some(copy)
            }
            None => Some(entry),
        }
    }

    /// Take `step` from this state, see what it gives, and take it back: a state (its
    /// fingerprint and faults), a panic, or something the model cannot do. `Err` if the
    /// process cannot be copied (it opted out of [`Process::snapshot`]).
    pub(super) fn arrival(&mut self, step: Step, factory: &mut impl FnMut(NodeId) -> P, saved: &mut Saved<P>) -> Result<Arrival, ()> {
        let faults = self.faults + usize::from(step.is_fault());
        // The successor is this state with the step taken, then taken back: a transition costs
        // a copy of the one process the step runs, not of the state.
        let tried = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.try_step(step, factory, saved)));
        let arrival = match tried {
            Err(_) => Arrival::Panicked(faults),
            Ok(Err(())) => return Err(()),
            Ok(Ok(())) => match self.unsupported {
                Some(what) => Arrival::Unsupported(what),
                None => Arrival::State(self.fingerprint(), self.faults, self.load()),
            },
        };
        self.undo(saved);
        Ok(arrival)
    }

    /// Take `step` from this state so that [`World::undo`] can take it back: the tried state
    /// is this world until then. Costs a copy of the one process the step runs, not of the state.
    /// `Err` if the process cannot be copied (it opted out of [`Process::snapshot`]).
    pub(super) fn try_step(&mut self, step: Step, factory: &mut impl FnMut(NodeId) -> P, saved: &mut Saved<P>) -> Result<(), ()> {
        saved.armed = false;
        let node = match step {
            Step::Command(app) => Some(self.commands[app.0 as usize].1),
            Step::Deliver(id) | Step::Corrupt(id) | Step::Duplicate(id) => Some(self.wire.get(id).to),
            Step::Timer(id) => Some(self.timers[&id].0),
            Step::Crash(node) | Step::Restart(node) => Some(node),
            Step::Lose(_) | Step::Partition(_) | Step::Heal(_) => None,
        };
        saved.node = match node {
            Some(node) => {
                let i = node.index();
                let process = match &self.procs[i] {
                    Some(p) => Some(p.snapshot().ok_or(())?),
                    None => None,
                };
                Some((i, process, self.rngs[i].clone()))
            }
            None => None,
        };
        saved.nodes.clone_from(&self.nodes);
        saved.wire_bytes = self.wire_bytes;
        saved.over_budget = self.over_budget;
        saved.faults = self.faults;
        saved.steps = self.steps;
        saved.events = self.events.len();
        saved.messages = self.messages;
        saved.unsupported = self.unsupported;
        saved.cuts = matches!(step, Step::Partition(_) | Step::Heal(_))
            .then(|| (self.cuts.clone(), self.heals.clone(), self.active.clone(), self.partitions.clone()));
        let mut log = std::mem::take(&mut saved.log);
        log.clear();
        self.log = Some(log);
        saved.armed = true;
        self.apply(step, factory);
        Ok(())
    }

    /// Take back the step [`World::try_step`] took (also after a panic in it: every change is
    /// logged or saved before it is made).
    pub(super) fn undo(&mut self, saved: &mut Saved<P>) {
        if !std::mem::take(&mut saved.armed) {
            return;
        }
        let mut log = self.log.take().expect("a step was tried");
        // A handler that panicked may have left its sends unsorted.
        self.wire.settle();
        // What the step sent goes in one pass (a broadcast's copies are spread over the wire):
        // their ids are new, so no other change names them.
        let mut sent = std::mem::take(&mut saved.sent);
        sent.clear();
        sent.extend(log.iter().filter_map(|c| match c {
            Change::Sent(id) => Some(*id),
            _ => None,
        }));
        sent.sort_unstable();
        self.wire.remove_all(&sent);
        saved.sent = sent;
        while let Some(change) = log.pop() {
            match change {
                Change::Sent(_) => {}
                Change::Taken(id, f) => self.wire.insert(id, f),
                Change::Copied(id) => self.wire.get_mut(id).copy = false,
                Change::Set(id, replaced) => match replaced {
                    Some(entry) => {
                        self.timers.insert(id, entry);
                    }
                    None => {
                        self.timers.remove(&id);
                    }
                },
                Change::Unset(id, entry) => {
                    self.timers.insert(id, entry);
                }
            }
        }
        saved.log = log;
        if let Some((i, process, rng)) = saved.node.take() {
            self.procs[i] = process;
            self.rngs[i] = rng;
        }
        std::mem::swap(&mut self.nodes, &mut saved.nodes);
        self.wire_bytes = saved.wire_bytes;
        self.over_budget = saved.over_budget;
        self.faults = saved.faults;
        self.steps = saved.steps;
        self.events.truncate(saved.events);
        self.messages = saved.messages;
        self.unsupported = saved.unsupported;
        if let Some((cuts, heals, active, partitions)) = saved.cuts.take() {
            (self.cuts, self.heals, self.active, self.partitions) = (cuts, heals, active, partitions);
        }
        // A handler that panicked may have left effects unapplied.
        self.effects.clear();
    }

    /// What this state holds, for the search's memory budget: its processes (their places and
    /// `Process::heap_bytes`), the wire as the in-flight budget counts it, the timers, every
    /// node's bookkeeping and random stream's handle, and the trace it keeps.
    pub(super) fn bytes(&self) -> u64 {
        use crate::process::{capacity_bytes, map_bytes};
        let procs = self.procs.iter().flatten().fold(capacity_bytes::<Option<P>>(self.procs.capacity()), |sum, p| sum + p.heap_bytes());
        crate::budget::total(&[
            std::mem::size_of::<Self>() as u64,
            procs,
            self.wire_bytes,
            map_bytes::<TimerId, TimerEntry<P::Timer>>(self.timers.len()),
            capacity_bytes::<NodeState>(self.nodes.capacity()) + capacity_bytes::<Arc<SimRng>>(self.rngs.capacity()),
            capacity_bytes::<TraceEvent>(self.events.capacity()),
        ])
    }

    /// What keeping this state whole costs the memory budget: twice what [`World::bytes`]
    /// counts, a margin for what `heap_bytes` leaves out of a small state (allocator headers,
    /// B-tree nodes allocated whole for a few entries, the hashes cached per node and message).
    /// One and a half times was measured (RSS per kept world) before those hashes were cached.
    pub(super) fn kept_bytes(&self) -> u64 {
        self.bytes().saturating_mul(2)
    }

    /// What one message on the wire costs the memory budget: its entry and the heap it owns.
    fn flight_bytes(msg: &P::Msg) -> u64 {
        (std::mem::size_of::<Flight<P::Msg>>() as u64 + FLIGHT_OVERHEAD_BYTES).saturating_add(msg.heap_bytes())
    }

    /// The state's fingerprint (see the module's documentation). Incremental: a node's part is
    /// recomputed only if a step touched the node since the last fingerprint, and a message's or
    /// timer's `Debug` text is hashed once, the first time it is needed.
    pub(super) fn fingerprint(&mut self) -> u64 {
        // The nodes whose pending part is stale: a step leaves one or two, each rehashed by a
        // walk over the wire; the boot state leaves every node, and a walk each was quadratic
        // in the cluster (minutes for a thousand heartbeat nodes), so many share one walk.
        let (mut few, mut many, mut stale) = ([0usize; 2], Vec::new(), 0);
        for i in 0..self.procs.len() {
            let mut own_changed = false;
            if std::mem::take(&mut self.nodes[i].dirty) {
                let fp = self.node_fingerprint(i);
                own_changed = fp.1 != self.nodes[i].fp.1;
                self.nodes[i].fp = fp;
            }
            // Whether its messages' contents count depends on whether the node fingerprints
            // itself, so a node whose answer changed has its pending part rehashed too; a node
            // that merely handled an input keeps it (every change to its messages and timers
            // marks it `wire_dirty`), which halves the walks over the wire a delivery costs.
            if std::mem::take(&mut self.nodes[i].wire_dirty) || own_changed {
                match stale {
                    0 | 1 => few[stale] = i,
                    2 => many.extend([few[0], few[1], i]),
                    _ => many.push(i),
                }
                stale += 1;
            }
        }
        if stale <= 2 {
            for &i in &few[..stale] {
                self.nodes[i].pending = self.pending_fingerprint(i);
            }
        } else {
            for (&i, pending) in many.iter().zip(self.pending_fingerprints(&many)) {
                self.nodes[i].pending = pending;
            }
        }
        let mut h = StateHasher::default();
        for node in &self.nodes {
            h.write_u64(node.fp.0);
            h.write_u64(node.pending);
        }
        (self.faults, &self.cuts, &self.heals, &self.active).hash(&mut h);
        h.finish()
    }

    /// Node `i`'s messages in flight and timers set, in id order. A message id and a timer id
    /// name their node, so grouping them by node hashes the same sets as hashing them all in
    /// order would. A message's content is its sender's to decide: known from the sender's
    /// inputs when the sender is known by them, else from the message itself (likewise a
    /// timer's).
    fn pending_fingerprint(&mut self, i: usize) -> u64 {
        let node = NodeId(i as u32);
        let own = self.nodes[i].fp.1;
        let mut text = String::new();
        let mut h = StateHasher::default();
        for (id, f) in self.wire.0.iter_mut().filter(|(_, f)| f.from == node) {
            // Whole words: the hasher takes a u64 in one step, smaller integers byte-wise.
            h.write_u64(id.0);
            h.write_u64(u64::from(f.to.0) << 1 | u64::from(f.copy));
            if own {
                h.write_u64(*f.content.get_or_insert_with(|| hash_debug(&f.msg, &mut text)));
            }
        }
        for (id, (_, timer, content)) in self.timers.iter_mut().filter(|(_, (owner, _, _))| *owner == node) {
            h.write_u64(id.0);
            if own {
                h.write_u64(*content.get_or_insert_with(|| hash_debug(timer, &mut text)));
            }
        }
        h.finish()
    }

    /// [`World::pending_fingerprint`] of each node of `which` (increasing), in one walk over
    /// the wire and one over the timers, each node's words in the same order.
    fn pending_fingerprints(&mut self, which: &[usize]) -> Vec<u64> {
        let mut slot: Vec<Option<usize>> = vec![None; self.procs.len()];
        for (k, &i) in which.iter().enumerate() {
            slot[i] = Some(k);
        }
        let own: Vec<bool> = which.iter().map(|&i| self.nodes[i].fp.1).collect();
        let mut hashers = vec![StateHasher::default(); which.len()];
        let mut text = String::new();
        for (id, f) in self.wire.0.iter_mut() {
            let Some(k) = slot[f.from.index()] else { continue };
            let h = &mut hashers[k];
            h.write_u64(id.0);
            h.write_u64(u64::from(f.to.0) << 1 | u64::from(f.copy));
            if own[k] {
                h.write_u64(*f.content.get_or_insert_with(|| hash_debug(&f.msg, &mut text)));
            }
        }
        for (id, (owner, timer, content)) in self.timers.iter_mut() {
            let Some(k) = slot[owner.index()] else { continue };
            let h = &mut hashers[k];
            h.write_u64(id.0);
            if own[k] {
                h.write_u64(*content.get_or_insert_with(|| hash_debug(timer, &mut text)));
            }
        }
        let pending: Vec<u64> = hashers.iter().map(Hasher::finish).collect();
        if cfg!(debug_assertions) && which.len() <= 64 {
            for (&i, &p) in which.iter().zip(&pending) {
                debug_assert_eq!(self.pending_fingerprint(i), p, "node {i}: one walk hashes as a walk per node");
            }
        }
        pending
    }

    /// Node `i`'s part of the fingerprint, and whether its process fingerprints itself: its own
    /// hash with its random stream's position and counters (and what it reported, when there
    /// are checks), else the hash of every input it handled.
    fn node_fingerprint(&self, i: usize) -> (u64, bool) {
        let mut state = StateHasher::default();
        let own = self.procs[i].as_ref().and_then(|p| p.fingerprint(&mut state).then(|| state.finish()));
        let mut h = StateHasher::default();
        match own {
            Some(state) => {
                (
                    1u8,
                    state,
                    self.nodes[i].drawn,
                    self.nodes[i].incarnation,
                    self.nodes[i].sent,
                    self.nodes[i].next_timer,
                    self.nodes[i].next_call,
                    self.nodes[i].handled,
                )
                    .hash(&mut h);
                if self.observed {
                    self.nodes[i].reported.hash(&mut h);
                }
            }
            None => (0u8, self.nodes[i].history).hash(&mut h),
        }
        let node = &self.nodes[i];
        (node.issued, node.crashes, node.restarts).hash(&mut h);
        (h.finish(), own.is_some())
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
    hash_debug(kind, &mut String::new()).hash(&mut s);
    s.finish()
}

/// The hash of `value`'s `Debug` output, written into `text` first (reused between calls)
/// so that the hasher takes it in words rather than in the formatter's many small pieces.
fn hash_debug(value: &impl std::fmt::Debug, text: &mut String) -> u64 {
    use std::fmt::Write as _;
    text.clear();
    let _ = write!(text, "{value:?}");
    let mut h = StateHasher::default();
    h.write(text.as_bytes());
    h.finish()
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
pub(super) fn replay<'s, P: Process>(
    scenario: &'s Scenario,
    setup: &'s Setup,
    mut factory: impl FnMut(NodeId) -> P,
    path: &[Step],
) -> Option<World<'s, P>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut world = World::boot(scenario, setup, &mut factory, !scenario.checks.is_empty());
        for &step in path {
            world.apply(step, &mut factory);
        }
        world
    }))
    .ok()
}

/// What the search learns of a state once it is known to be new: computed on demand, since
/// most successors turn out to be states already seen.
pub(super) struct Judged {
    /// The steps it enables and who each acts on (left empty by [`World::judge_into`], whose
    /// searches need only their number), and their number.
    enabled: Vec<(Step, Actor)>,
    steps: usize,
    /// How the path ends here, if it does (the in-flight budget ran out, nothing enabled, or
    /// the depth bound).
    end: Option<EndReason>,
    /// The checks' verdicts on the path so far (as a run stopped here, unless it is quiescent).
    verdicts: Vec<(&'static str, Verdict)>,
    /// What judging it read, counted against `max_events` (see [`Exploration::events`]): the
    /// trace events its checks read.
    events: u64,
    /// What each step from it walks (its fingerprint, the nodes' bookkeeping it saves): its
    /// nodes, messages in flight and timers, counted against `max_events` per step queued.
    size: u64,
}

impl<P: Process> World<'_, P> {
    pub(super) fn judge(&self, depth: usize, bounds: Bounds) -> Judged {
        let mut enabled = Vec::new();
        let judged = self.judge_into(depth, bounds, &mut enabled);
        let enabled = enabled.into_iter().map(|step| (step, self.actor(step))).collect();
        Judged { enabled, ..judged }
    }

    /// Who `step` (enabled here) acts on, for the partial-order reduction ([`super::sleep`]).
    pub(super) fn actor(&self, step: Step) -> Actor {
        match step {
            Step::Command(app) => Actor::at(self.commands[app.0 as usize].1.0, false),
            Step::Deliver(id) | Step::Lose(id) | Step::Duplicate(id) | Step::Corrupt(id) => {
                Actor::at(self.wire.get(id).to.0, step.is_fault())
            }
            Step::Timer(id) => Actor::at(self.timers[&id].0.0, false),
            Step::Crash(_) | Step::Restart(_) | Step::Partition(_) | Step::Heal(_) => Actor::everywhere(),
        }
    }

    /// [`World::judge`] with the enabled steps listed in `enabled` (a buffer reused between
    /// calls) rather than in the result, which has only their number.
    pub(super) fn judge_into(&self, depth: usize, bounds: Bounds, enabled: &mut Vec<Step>) -> Judged {
        self.enabled(bounds.max_faults, enabled);
        let end = if let Some(reason) = self.over_budget {
            Some(reason)
        } else if enabled.is_empty() {
            Some(EndReason::Quiescent)
        } else if depth >= bounds.max_depth {
            Some(EndReason::Horizon)
        } else {
            None
        };
        // A safety check's violation shows as soon as it happens: every state is judged, so the
        // path reported is the shortest to it.
        let verdicts = judge(self.scenario, &self.events, &end_of(end.unwrap_or(EndReason::Horizon), self.now()));
        let size = (self.procs.len() + self.wire.0.len() + self.timers.len()) as u64;
        Judged { enabled: Vec::new(), steps: enabled.len(), end, verdicts, events: self.events.len() as u64, size }
    }
}

/// What taking one transition gave, as the search merges it.
#[derive(Clone, Copy)]
pub(super) enum Arrival {
    /// Protocol code panicked; the path had this many faults.
    Panicked(usize),
    /// The protocol asked for something the model cannot do.
    Unsupported(&'static str),
    /// A state: its fingerprint and faults, and the step's load on the wire.
    State(u64, usize, Load),
    /// A state known to be in the seen table already, under this key (the parallel search
    /// looks its fingerprint up on the worker that made it, so the merge does not read the
    /// table again).
    Known(u32, Load),
}

impl<P: Process> World<'_, P> {
    /// What the last step applied sent, and the wire it left.
    pub(super) fn load(&self) -> Load {
        Load { sent: self.step_sent.0, sent_bytes: self.step_sent.1, wire: self.wire.0.len() as u64, wire_bytes: self.wire_bytes }
    }
}

/// A new state to step from: its index in the tree (none: the boot state), how many steps to
/// take from it, and those steps with who each acts on (listed only if it was judged by
/// [`World::judge`]).
type NewState = (Option<u32>, usize, Vec<(Step, Actor)>);

/// A state's key in the seen table and the sleep sets: its index in the tree plus one, 0 for
/// the boot state (which has no index).
pub(super) fn key(me: Option<u32>) -> u32 {
    me.map_or(0, |me| me + 1)
}

/// The search's bookkeeping, shared by its two ways of reaching states (copying and replaying),
/// so both count, judge and cut alike.
pub(super) struct Search {
    pub(super) found: Exploration,
    /// The tree of distinct states found: each one's parent and the step that reached it.
    pub(super) tree: Vec<(u32, Step)>,
    pub(super) seen: Seen,
    pub(super) bounds: Bounds,
    /// What the search holds against `max_memory_mb` beside `tree` and `seen`: its queue and
    /// the worlds it keeps, which its two ways of searching count where they keep them.
    pub(super) memory: crate::budget::SearchBudget,
    /// The scenario's `max_events`, which `found.events` may reach.
    max_events: u64,
    /// Steps the replaying search ran again to rebuild the states it steps from (a path's
    /// length per transition), counted against `max_events` beside `found.events`.
    pub(super) replayed: u64,
    /// The partial-order reduction: which steps need not be taken.
    pub(super) sleeps: Sleeps,
}

impl Search {
    fn new(scenario: &Scenario, bounds: Bounds) -> Search {
        let found = Exploration::nothing_yet(scenario);
        let memory = crate::budget::SearchBudget::new(scenario.limits.max_memory_mb);
        let sleeps = Sleeps::new(bounds.reduction, bounds.max_faults, &scenario.limits);
        Search {
            found,
            tree: Vec::new(),
            seen: Seen::default(),
            bounds,
            memory,
            max_events: scenario.limits.max_events,
            replayed: 0,
            sleeps,
        }
    }

    /// The search's result, with the memory its distinct states take.
    pub(super) fn finish(mut self) -> Exploration {
        let tree = self.tree.capacity() * std::mem::size_of::<(u32, Step)>();
        self.found.stored_bytes = (self.seen.bytes() + tree) as u64;
        self.found
    }

    /// Whether the budget lets the search take one more transition (else it is incomplete).
    pub(super) fn budget_left(&mut self) -> bool {
        if self.found.transitions >= self.bounds.max_runs {
            self.found.complete = false;
            return false;
        }
        // The search's time is bounded as one run's is, by the scenario's `max_events`: counted
        // alike however the states are made (copied or replayed, on any number of threads), so
        // the search stops at the same transition whatever `--jobs` and `--replay` say; except
        // that `--replay` also pays for its replays (`replayed`), which it makes for every
        // transition and which would otherwise take up to the depth bound times the budget.
        if self.found.events.saturating_add(self.replayed) >= self.max_events {
            // Reported as what stopped it, replays included.
            self.found.events = self.found.events.saturating_add(std::mem::take(&mut self.replayed));
            (self.found.complete, self.found.events_reached) = (false, true);
            return false;
        }
        let seen = (std::mem::size_of::<u64>() + std::mem::size_of::<u32>()) * self.seen.slots.capacity();
        let tables = (std::mem::size_of::<(u32, Step)>() * self.tree.capacity() + seen) as u64 + self.sleeps.bytes();
        if self.memory.exceeded(tables) {
            (self.found.complete, self.found.memory_reached) = (false, true);
            return false;
        }
        true
    }

    /// Merge the transition from `parent` by `step` and who it acts on (none: the boot state)
    /// at `depth`, which gave `arrival`; `judged` tells the rest about a new state. `pending`:
    /// transitions queued and not taken yet. Returns the new state's index and the steps to
    /// queue from it, if any. The parent is the state last woken in `sleeps`.
    pub(super) fn arrive(
        &mut self,
        parent: Option<u32>,
        step: Option<(Step, Actor)>,
        depth: usize,
        arrival: Arrival,
        pending: u64,
        judged: impl FnOnce() -> Judged,
    ) -> Result<Option<NewState>, String> {
        // A step whose arrival is no state (it panicked) is not one to put to sleep: its
        // successors' searches should meet the panic again, as without the reduction.
        let load = match arrival {
            Arrival::State(_, _, load) | Arrival::Known(_, load) => Some(load),
            Arrival::Panicked(_) | Arrival::Unsupported(_) => None,
        };
        self.sleeps.take(step, load);
        let step = step.map(|(step, _)| step);
        let found = &mut self.found;
        if step.is_some() {
            found.transitions += 1;
        }
        let (fingerprint, faults) = match arrival {
            Arrival::Panicked(faults) => {
                let path = path_to(&self.tree, parent, step);
                record_violation(found, "protocol panic", "protocol code panicked".to_string(), faults, &path);
                found.behaviours += 1;
                return Ok(None);
            }
            Arrival::Unsupported(what) => return Err(format!("the protocol uses {what}, which the asynchronous model does not explore")),
            Arrival::State(fingerprint, faults, _) => (fingerprint, faults),
            Arrival::Known(known, _) => {
                self.sleeps.meet(known, depth);
                return Ok(None);
            }
        };
        let me_key = if step.is_some() { self.tree.len() as u32 + 1 } else { 0 };
        if let Some(known) = self.seen.insert(fingerprint, me_key) {
            self.sleeps.meet(known, depth);
            return Ok(None);
        }
        self.sleeps.found(me_key, depth, faults, load.unwrap_or_default());
        found.states += 1;
        found.order = (found.order ^ fingerprint).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
        found.max_depth = found.max_depth.max(depth);
        let me = step.map(|s| {
            self.tree.push((parent.unwrap_or(u32::MAX), s));
            (self.tree.len() - 1) as u32
        });
        let Judged { mut enabled, steps, end, verdicts, events, size } = judged();
        found.events = found.events.saturating_add(events);
        if let Some((name, verdict)) = verdicts.iter().find(|(_, v)| v.outcome == Outcome::Fail) {
            let path = path_to(&self.tree, me, None);
            record_violation(found, name, verdict.detail.clone(), faults, &path);
        }
        if let Some(reason) = end {
            found.behaviours += 1;
            found.depth_bound_reached |= reason == EndReason::Horizon;
            found.budget_reached |= matches!(reason, EndReason::MaxMemory | EndReason::MaxInFlight);
            for (tally, (_, verdict)) in found.checks.iter_mut().zip(&verdicts) {
                match verdict.outcome {
                    Outcome::Pass => tally.passed += 1,
                    Outcome::Fail => tally.failed += 1,
                    Outcome::Inconclusive => tally.inconclusive += 1,
                }
            }
            return Ok(None);
        }
        // Queue no more than the budget can still take, so memory is bounded by `max_runs`.
        let room = self.bounds.max_runs.saturating_sub(found.transitions).saturating_sub(pending);
        let mut steps = steps;
        if steps as u64 > room {
            found.complete = false;
            steps = usize::try_from(room).unwrap_or(usize::MAX);
            enabled.truncate(steps);
        }
        // Each step queued costs a walk over this state when it is taken: charged now, and no
        // more queued than the event budget pays for (a step from a state of 100,000 nodes
        // walks them all, so a transition's cost grows with the cluster, not only the trace).
        let affordable = self.max_events.saturating_sub(found.events) / size.max(1);
        if steps as u64 > affordable {
            (found.complete, found.events_reached) = (false, true);
            steps = usize::try_from(affordable).unwrap_or(usize::MAX);
            enabled.truncate(steps);
        }
        found.events = found.events.saturating_add(steps as u64 * size.max(1));
        Ok(Some((me, steps, enabled)))
    }
}

/// The fingerprints of the states found, each with its key (its index in the tree plus one; 0
/// for the boot state): an open-addressing table of the fingerprints themselves (linear
/// probing, at most three quarters full), the keys beside. A fingerprint is already a hash, so
/// it picks its own slot after one multiply, and a lookup usually reads one cache line; a
/// general hash set reads two (its control bytes and its slot), and this set is read once per
/// transition. It is never iterated, so nothing about its layout can reach a result.
#[derive(Default)]
pub(super) struct Seen {
    /// Slots; 0 marks an empty one (the fingerprint 0 is kept aside in `zero`).
    slots: Vec<u64>,
    /// Each slot's key (the sleep sets of the partial-order reduction find a state by it).
    keys: Vec<u32>,
    len: usize,
    zero: Option<u32>,
}

impl Seen {
    /// Add `fp` with `key`; the key it already had, if it was there.
    fn insert(&mut self, fp: u64, key: u32) -> Option<u32> {
        if fp == 0 {
            return match self.zero {
                Some(known) => Some(known),
                None => {
                    self.zero = Some(key);
                    None
                }
            };
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let known = Self::put(&mut self.slots, &mut self.keys, fp, key);
        self.len += usize::from(known.is_none());
        known
    }

    /// The table's size in bytes.
    fn bytes(&self) -> usize {
        self.slots.len() * (std::mem::size_of::<u64>() + std::mem::size_of::<u32>())
    }

    /// The key of `fp`, if it is in the table.
    pub(super) fn get(&self, fp: u64) -> Option<u32> {
        if fp == 0 {
            return self.zero;
        }
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::slot(fp) & mask;
        loop {
            match self.slots[i] {
                0 => return None,
                x if x == fp => return Some(self.keys[i]),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Where `fp`'s probe starts, before the mask.
    fn slot(fp: u64) -> usize {
        // The high bits of a multiply mix every bit of the fingerprint.
        (fp.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize
    }

    /// Put `fp` (not 0) with `key` in `slots` and `keys` (a power of two long, with room); the
    /// key it had if it was there.
    fn put(slots: &mut [u64], keys: &mut [u32], fp: u64, key: u32) -> Option<u32> {
        let mask = slots.len() - 1;
        let mut i = Self::slot(fp) & mask;
        loop {
            match slots[i] {
                0 => {
                    (slots[i], keys[i]) = (fp, key);
                    return None;
                }
                x if x == fp => return Some(keys[i]),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Read the slot where `fp` would go, so that its cache line is on its way by the time
    /// `insert` asks (a lookup of a large table is mostly a wait for memory).
    fn touch(&self, fp: u64) {
        if !self.slots.is_empty() {
            let i = Self::slot(fp) & (self.slots.len() - 1);
            std::hint::black_box(self.slots[i]);
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1 << 10);
        let (mut slots, mut keys) = (vec![0u64; size], vec![0u32; size]);
        for (&fp, &key) in self.slots.iter().zip(&self.keys).filter(|(fp, _)| **fp != 0) {
            Self::put(&mut slots, &mut keys, fp, key);
        }
        (self.slots, self.keys) = (slots, keys);
    }
}

/// Paths run together before their results are merged: enough to keep `--jobs` threads busy,
/// few enough that their paths and results take little memory.
const BATCH: usize = 1024;

/// The path to the state `parent` (an index in `tree`, or none for the boot state), then `step`.
pub(super) fn path_to(tree: &[(u32, Step)], parent: Option<u32>, step: Option<Step>) -> Vec<Step> {
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
/// Breadth-first. A state's successors are made from a stored copy of it when its processes
/// opt in to being copied ([`Process::snapshot`]) and `bounds.replay` is not set, else by
/// replaying each one's path from the boot; the two give the same states, counts, verdicts and
/// counterexample. Replaying, with `bounds.jobs` above 1 a batch of paths runs on that many
/// threads and is merged in the order a single thread takes them, so nothing depends on `jobs`.
pub fn explore<P, F>(scenario: &Scenario, seed: u64, bounds: Bounds, factory: impl Fn() -> F + Sync) -> Result<Exploration, String>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    let setup = Setup::new(scenario, seed);
    if !bounds.replay
        && let Some(mut boot) = replay(scenario, &setup, factory(), &[])
        && boot.unsupported.is_none()
        && boot.copy().is_some()
    {
        if bounds.jobs < 2 {
            return by_copying(boot, bounds, factory);
        }
        // The boot state is merged here as the one-thread search merges it; the workers make
        // their own copies of it.
        let mut search = Search::new(scenario, bounds);
        search.found.copied = true;
        let arrival = Arrival::State(boot.fingerprint(), boot.faults, boot.load());
        if !search.budget_left() {
            return Ok(search.finish());
        }
        return match search.arrive(None, None, 0, arrival, 0, || boot.judge(0, bounds))? {
            Some((_, steps, _)) => super::parallel::by_copying(scenario, &setup, bounds, factory, search, steps, bounds.jobs),
            None => Ok(search.finish()),
        };
    }
    let pool = match bounds.jobs {
        0 | 1 => None,
        jobs => Some(rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| format!("with {jobs} threads: {e}"))?),
    };
    by_replaying(scenario, &setup, bounds, factory, pool.as_ref())
}

/// The search that replays each successor's path from the boot.
fn by_replaying<P, F>(
    scenario: &Scenario,
    setup: &Setup,
    bounds: Bounds,
    factory: impl Fn() -> F + Sync,
    pool: Option<&rayon::ThreadPool>,
) -> Result<Exploration, String>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    use rayon::prelude::*;
    let mut search = Search::new(scenario, bounds);
    // Transitions to take, with the depth they arrive at: from a state (its index in the
    // tree, or none for the boot state) by a step and who it acts on (none: the boot itself).
    type Transition = (Option<u32>, Option<(Step, Actor)>, usize);
    let mut queue: VecDeque<Transition> = VecDeque::from([(None, None, 0)]);
    // What replaying a path gives: the world's arrival, and what judging it would, computed on
    // the thread that replayed it (the world is not kept).
    let visit = |path: &Vec<Step>| -> (Arrival, Option<Judged>) {
        match replay(scenario, setup, factory(), path) {
            None => (Arrival::Panicked(path.iter().filter(|s| s.is_fault()).count()), None),
            Some(world) if world.unsupported.is_some() => (Arrival::Unsupported(world.unsupported.expect("some")), None),
            Some(mut world) => (Arrival::State(world.fingerprint(), world.faults, world.load()), Some(world.judge(path.len(), bounds))),
        }
    };
    // The state whose steps are being merged (its key), as `search.sleeps` last woke it.
    let mut woken = None;
    // Transitions queued and not taken or found asleep yet (as the copying search counts them).
    let mut pending: u64 = 0;
    'search: while let Some(&(_, _, depth)) = queue.front() {
        // A batch arrives at one depth, so that the sleep sets of the states it steps from are
        // settled (every arrival at their depth came before) and asleep steps are not replayed.
        let level = queue.iter().take(BATCH).take_while(|t| t.2 == depth).count();
        let batch: Vec<_> = queue.drain(..level).collect();
        let asleep: Vec<bool> =
            batch.iter().map(|&(parent, step, _)| step.is_some_and(|(step, _)| search.sleeps.is_asleep_at(key(parent), step))).collect();
        let paths: Vec<Option<Vec<Step>>> = batch
            .iter()
            .zip(&asleep)
            .map(|(&(parent, step, _), &asleep)| (!asleep).then(|| path_to(&search.tree, parent, step.map(|(step, _)| step))))
            .collect();
        let visits: Vec<Option<(Arrival, Option<Judged>)>> = match pool {
            Some(pool) => pool.install(|| paths.par_iter().map(|p| p.as_ref().map(visit)).collect()),
            None => paths.iter().map(|p| p.as_ref().map(visit)).collect(),
        };
        for (k, ((&(parent, step, depth), path), visit)) in batch.iter().zip(paths).zip(visits).enumerate() {
            if !search.budget_left() {
                break 'search;
            }
            if step.is_some() && woken != Some(key(parent)) {
                search.sleeps.wake(key(parent));
                woken = Some(key(parent));
                // Its asleep steps are done with at once, as the copying search does.
                let rest = batch[k..].iter().chain(queue.iter()).take_while(|t| t.0 == parent);
                pending -= rest.filter(|t| t.1.is_some_and(|(step, _)| search.sleeps.is_asleep(step))).count() as u64;
            }
            let (Some(path), Some((arrival, judged))) = (path, visit) else { continue };
            if step.is_some_and(|(step, _)| search.sleeps.is_asleep(step)) {
                continue;
            }
            if step.is_some() {
                pending -= 1;
            }
            search.replayed = search.replayed.saturating_add(path.len() as u64);
            let next = search.arrive(parent, step, path.len(), arrival, pending, || judged.expect("a state is judged"))?;
            if let Some((me, steps, enabled)) = next {
                pending += steps as u64;
                queue.extend(enabled.into_iter().map(|s| (me, Some(s), depth + 1)));
                search.memory.set_queue(queued(&queue));
            }
        }
    }
    Ok(search.finish())
}

/// What `queue` takes, for the search's memory budget (its entries own nothing on the heap but
/// a kept world, counted where it is kept).
fn queued<Q>(queue: &VecDeque<Q>) -> u64 {
    crate::budget::deque(queue)
}

/// A state queued to take steps from: its index in the tree (none: the boot state), its depth,
/// where its world comes from, and the steps to take from it.
struct Kept<'s, P: Process> {
    me: Option<u32>,
    depth: usize,
    origin: Origin<'s, P>,
    /// How many steps to take from it: the first of those its state enables, listed again when
    /// its turn comes (a count, so a queued state owns no list).
    steps: usize,
}

/// Where a queued state's world comes from when its turn comes.
enum Origin<'s, P: Process> {
    /// Its own (the boot state).
    Own(Box<World<'s, P>>),
    /// Its parent's world, shared by the parent's new successors, and the step from it: the last
    /// of them to go takes the world, the others a copy, and each takes its step again. A state
    /// queued thus costs a few words, and a world is kept per parent, not per state.
    Parent(Rc<World<'s, P>>, Step),
    /// None (past `MAX_KEPT`): its parent's path is replayed from a copy of the boot state, once
    /// for the parent's successors queued in a row, and each takes its step from a copy of that.
    Path,
}

/// Parents' worlds kept for their queued successors at most: beyond it a queued state keeps
/// only its place in the tree and is replayed once when its turn comes, so memory stays bounded
/// (a world of a small scenario takes a few KiB) while most successors are still made by
/// copying. (Small in unit tests, so that their searches mix kept and replayed states.)
pub(super) const MAX_KEPT: usize = if cfg!(test) { 2 } else { 1 << 16 };

/// Worlds done with that the copying search keeps for their buffers.
const SPARES: usize = 8;

/// The search that makes each successor from its parent's world: a step is taken, the state
/// judged, and the step taken back ([`World::try_step`], [`World::undo`]). It runs on one
/// thread whatever `jobs` is: a process need not be `Send`, and the kept states are not.
fn by_copying<'s, P, F>(boot: World<'s, P>, bounds: Bounds, factory: impl Fn() -> F) -> Result<Exploration, String>
where
    P: Process,
    F: FnMut(NodeId) -> P,
{
    let scenario = boot.scenario;
    let mut search = Search::new(scenario, bounds);
    search.found.copied = true;
    let mut boot = boot;
    let arrival = Arrival::State(boot.fingerprint(), boot.faults, boot.load());
    // What a path is replayed from: a copy of the boot state, fingerprinted, so that a replay
    // neither boots the processes again nor hashes the boot's messages again (formatting them
    // took a tenth of the search when most states of a wide level were replayed).
    let origin = boot.copy().ok_or_else(|| "the boot state could not be copied twice".to_string())?;
    let mut queue: VecDeque<Kept<'s, P>> = VecDeque::new();
    // Transitions queued and not taken yet.
    let mut pending: u64 = 0;
    if !search.budget_left() {
        return Ok(search.finish());
    }
    if let Some((me, steps, _)) = search.arrive(None, None, 0, arrival, 0, || boot.judge(0, bounds))? {
        pending += steps as u64;
        queue.push_back(Kept { me, depth: 0, origin: Origin::Own(Box::new(boot)), steps });
    }
    let mixed = || {
        "the protocol uses a process that can be copied (`Process::snapshot`) in some states and not in others, which the asynchronous model does not explore".to_string()
    };
    let mut kept_worlds = 0;
    let mut saved = Saved::new();
    // The new successors of the state being stepped from: their places in the queue and steps.
    let mut born: Vec<(usize, Step)> = Vec::new();
    let mut steps = Vec::new();
    let mut actors = Vec::new();
    let mut scratch = Vec::new();
    let mut arrivals = Vec::new();
    // The parent last replayed (its index in the tree; none: the boot state) and its world.
    let mut replayed: Option<(Option<u32>, World<'s, P>)> = None;
    // Worlds done with, whose buffers the next copies reuse.
    let mut spares: Vec<World<'s, P>> = Vec::new();
    // What each spare took when it was laid aside, counted against the memory budget.
    let mut spare_bytes: Vec<u64> = Vec::new();

    while let Some(kept) = queue.pop_front() {
        // A restart calls the factory: one per state stepped from.
        let mut make = factory();
        let mut parent = match kept.origin {
            Origin::Own(world) => *world,
            Origin::Parent(shared, step) => {
                let mut world = match Rc::try_unwrap(shared) {
                    Ok(world) => {
                        kept_worlds -= 1;
                        search.memory.release(world.kept_bytes());
                        world
                    }
                    Err(shared) => shared.copy_into(take_spare(&mut spares, &mut spare_bytes, &mut search)).ok_or_else(mixed)?,
                };
                // The step was taken from this state before without a panic, so it is again.
                world.apply(step, &mut make);
                // Fingerprinted once here, so the steps tried from it rehash only what they touch.
                world.fingerprint();
                world
            }
            Origin::Path => {
                let (up, step) = search.tree[kept.me.expect("only the boot state has no parent") as usize];
                let up = (up != u32::MAX).then_some(up);
                if replayed.as_ref().is_none_or(|(at, _)| *at != up) {
                    let path = path_to(&search.tree, up, None);
                    // The state was reached once, so its path runs again without a panic.
                    let mut world = origin.copy_into(take_spare(&mut spares, &mut spare_bytes, &mut search)).ok_or_else(mixed)?;
                    for &step in &path {
                        world.apply(step, &mut make);
                    }
                    replayed = Some((up, world));
                }
                // The last of the parent's successors in the queue takes the replayed world.
                let sibling_next = queue.front().is_some_and(|next| {
                    matches!(next.origin, Origin::Path)
                        && next.me.is_some_and(|m| {
                            let (next_up, _) = search.tree[m as usize];
                            (next_up != u32::MAX).then_some(next_up) == up
                        })
                });
                let mut world = if sibling_next {
                    replayed
                        .as_ref()
                        .expect("replayed")
                        .1
                        .copy_into(take_spare(&mut spares, &mut spare_bytes, &mut search))
                        .ok_or_else(mixed)?
                } else {
                    replayed.take().expect("replayed").1
                };
                world.apply(step, &mut make);
                world.fingerprint();
                world
            }
        };
        born.clear();
        parent.enabled(bounds.max_faults, &mut steps);
        steps.truncate(kept.steps);
        // The steps asleep here are not taken: other paths reach where they lead.
        search.sleeps.wake(key(kept.me));
        steps.retain(|&step| !search.sleeps.is_asleep(step));
        pending -= (kept.steps - steps.len()) as u64;
        actors.clear();
        actors.extend(steps.iter().map(|&step| parent.actor(step)));
        // First every step is tried for its fingerprint (no further than the budget), and the
        // seen table's slot for it read ahead; then the arrivals are merged in order, a new
        // state's step taken once more to judge it (one transition in eight, here, is new).
        arrivals.clear();
        let room = bounds.max_runs.saturating_sub(search.found.transitions);
        for &step in steps.iter().take(usize::try_from(room).unwrap_or(usize::MAX)) {
            // Copying was chosen because the boot state's processes opted in.
            arrivals.push(parent.arrival(step, &mut make, &mut saved).map_err(|()| mixed())?);
        }
        // The seen table's slots for them are read together, so that their cache misses
        // overlap instead of each stalling the step after it.
        for arrival in &arrivals {
            if let Arrival::State(fp, ..) = *arrival {
                search.seen.touch(fp);
            }
        }
        for (k, &step) in steps.iter().enumerate() {
            if !search.budget_left() {
                return Ok(search.finish());
            }
            pending -= 1;
            let depth = kept.depth + 1;
            let judged = || {
                // Taken before from this state without a panic or a refusal, so again.
                let _ = parent.try_step(step, &mut make, &mut saved);
                let judged = parent.judge_into(depth, bounds, &mut scratch);
                parent.undo(&mut saved);
                judged
            };
            if let Some((me, steps, _)) = search.arrive(kept.me, Some((step, actors[k])), depth, arrivals[k], pending, judged)? {
                pending += steps as u64;
                born.push((queue.len(), step));
                queue.push_back(Kept { me, depth, origin: Origin::Path, steps });
                search.memory.set_queue(queued(&queue));
            }
        }
        if !born.is_empty() && kept_worlds < MAX_KEPT {
            kept_worlds += 1;
            search.found.kept_worlds = search.found.kept_worlds.max(kept_worlds as u64);
            let bytes = parent.kept_bytes();
            search.memory.keep(bytes);
            search.memory.made(bytes);
            let shared = Rc::new(parent);
            for &(at, step) in &born {
                queue[at].origin = Origin::Parent(Rc::clone(&shared), step);
            }
        } else if spares.len() < SPARES {
            let bytes = parent.kept_bytes();
            search.memory.keep(bytes);
            spare_bytes.push(bytes);
            spares.push(parent);
        }
    }
    Ok(search.finish())
}

/// A world laid aside for its buffers, if any, no longer counted against the memory budget.
fn take_spare<W>(spares: &mut Vec<W>, bytes: &mut Vec<u64>, search: &mut Search) -> Option<W> {
    let world = spares.pop()?;
    search.memory.release(bytes.pop().unwrap_or(0));
    Some(world)
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
        let mut factory = factory;
        let mut world = World::boot(scenario, &setup, &mut factory, true);
        for (k, &step) in schedule.iter().enumerate() {
            if !world.is_enabled(step) {
                let mut enabled = Vec::new();
                world.enabled(usize::MAX, &mut enabled);
                let expected = match enabled.len() {
                    0 => "nothing is enabled then: the run is quiescent".to_string(),
                    _ => format!(
                        "expected one of the steps enabled then: {}",
                        enabled.iter().map(|s| s.ron(scenario)).collect::<Vec<_>>().join(", ")
                    ),
                };
                let why = format!("schedule step {} ({}) is not enabled in its turn ({expected})", k + 1, step.ron(scenario));
                return Err((world.now(), k as u64 + 1, Some(k), why));
            }
            world.apply(step, &mut factory);
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
        unused_replay: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::{Incoming, Message};
    use std::collections::BTreeSet;

    /// Keeps the set of payloads it received; fingerprints it only if `opt_in`; panics on a
    /// damaged note if `touchy` (after changing its state and delivering).
    #[derive(Clone)]
    struct Inbox {
        got: BTreeSet<AppId>,
        opt_in: bool,
        touchy: bool,
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

    /// A command to a node is a note to it.
    fn send_note(ctx: &mut Ctx<'_, Note, ()>, cmd: Command) {
        let Command::Send { payload, dest: Dest::Node(to) } = cmd else { return };
        ctx.send(to, Note(payload));
    }

    impl Process for Inbox {
        type Msg = Note;
        type Timer = ();
        fn on_command(&mut self, ctx: &mut Ctx<'_, Note, ()>, cmd: Command) {
            send_note(ctx, cmd);
        }
        fn on_message(&mut self, ctx: &mut Ctx<'_, Note, ()>, incoming: Incoming<Note>) {
            self.got.insert(incoming.msg.0.id);
            ctx.deliver(incoming.msg.0);
            assert!(!self.touchy || incoming.checksum_ok, "a damaged note");
        }
        fn fingerprint(&self, state: &mut StateHasher) -> bool {
            self.got.hash(state);
            self.opt_in
        }

        fn snapshot(&self) -> Option<Inbox> {
            Some(self.clone())
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
        explore(s, 1, bounds, || move |_| Inbox { got: BTreeSet::new(), opt_in, touchy: false }).expect("explorable")
    }

    /// A step that panics midway is taken back like any other: the states tried after it from
    /// the same parent are the ones replaying finds, and the panic is the same counterexample.
    #[test]
    fn a_step_that_panics_is_taken_back_whole() {
        let three = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1), ".repeat(3);
        let s = scenario(2, "(latency: Constant(ms: 1), corrupt: 0.5)", &three, "");
        let touchy = |bounds: Bounds| {
            let f = explore(&s, 1, bounds, || |_| Inbox { got: BTreeSet::new(), opt_in: true, touchy: true }).expect("explorable");
            let v = f.violation.map(|v| (v.check, v.schedule));
            (f.copied, (f.states, f.transitions, f.behaviours, f.order, v))
        };
        let (copied, by_copy) = touchy(Bounds::default());
        let (replayed, by_replay) = touchy(Bounds { replay: true, ..Bounds::default() });
        assert!(copied && !replayed);
        assert_eq!(by_copy, by_replay);
        let v = by_copy.4.expect("the panic is found");
        assert_eq!(v.0, "protocol panic");
        // The commands are issued at the boot; the first step can damage the first note.
        assert_eq!(v.1, vec![Step::Corrupt(MsgId(0))]);
    }

    /// Sends as `Inbox` does, and keeps the time it read at each arrival, in its fingerprint
    /// if `opt_in`.
    #[derive(Clone)]
    struct Stamper {
        stamps: Vec<SimTime>,
        opt_in: bool,
    }

    impl Process for Stamper {
        type Msg = Note;
        type Timer = ();
        fn on_command(&mut self, ctx: &mut Ctx<'_, Note, ()>, cmd: Command) {
            send_note(ctx, cmd);
        }
        fn on_message(&mut self, ctx: &mut Ctx<'_, Note, ()>, incoming: Incoming<Note>) {
            self.stamps.push(ctx.now());
            ctx.deliver(incoming.msg.0);
        }
        fn fingerprint(&self, state: &mut StateHasher) -> bool {
            self.stamps.hash(state);
            self.opt_in
        }
        fn snapshot(&self) -> Option<Stamper> {
            Some(self.clone())
        }
    }

    // Postmortem: a process read the global step count as its time, so two orders of events at
    // different nodes left it in different states; a fingerprint of its inputs, which ignores
    // the time, merged them, and the states of one order went unexplored (the broken
    // at-least-once exploration counted 480 states of its 627).
    #[test]
    fn regression_a_process_reads_its_own_clock_so_events_at_different_nodes_commute() {
        let s = scenario(
            4,
            "(latency: Constant(ms: 1))",
            "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1), (from: \"n2\", to: \"n3\", every_ms: 1, count: 1)",
            "",
        );
        let stamped = |opt_in: bool| {
            let bounds = Bounds { reduction: false, ..Bounds::default() };
            let f = explore(&s, 1, bounds, || move |_| Stamper { stamps: Vec::new(), opt_in }).expect("explorable");
            (f.states, f.transitions, f.complete)
        };
        // Both in flight, either delivered, both: the two orders of the diamond are one state,
        // whether known by its inputs or by what each process read of the time.
        assert_eq!(stamped(false), (4, 4, true));
        assert_eq!(stamped(true), (4, 4, true), "the time a process read depends on its own history alone");
        // With the reduction, the second order of the diamond is not taken at all.
        let reduced = explore(&s, 1, Bounds::default(), || move |_| Stamper { stamps: Vec::new(), opt_in: true }).expect("explorable");
        assert_eq!((reduced.states, reduced.transitions), (4, 3));
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

    /// Copying states (some kept, most replayed once: `MAX_KEPT` is tiny in unit tests), on one
    /// thread or several, and replaying every path find the same states, in the same order,
    /// under every bound.
    #[test]
    fn copying_and_replaying_find_the_same_states() {
        let three = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 1), ".repeat(3);
        let lossy = scenario(2, "(latency: Constant(ms: 1), loss: 0.5, duplicate: 0.5)", &three, "");
        let crash = scenario(3, "(latency: Constant(ms: 1))", &three, "(at_ms: 5, do: Crash(\"n1\")), (at_ms: 9, do: Restart(\"n1\"))");
        // A step tried and taken back must restore the cuts too.
        let cut = scenario(
            3,
            "(latency: Constant(ms: 1))",
            &three,
            "(at_ms: 5, do: Partition([[\"n0\"], [\"n1\", \"n2\"]])), (at_ms: 9, do: Heal)",
        );
        for s in [lossy, crash, cut] {
            for opt_in in [false, true] {
                for bounds in
                    [Bounds::default(), Bounds { max_runs: 20, ..Bounds::default() }, Bounds { max_depth: 3, ..Bounds::default() }]
                {
                    let summary =
                        |f: Exploration| (f.states, f.transitions, f.behaviours, f.max_depth, f.complete, f.depth_bound_reached, f.order);
                    let copied = search(&s, opt_in, bounds);
                    assert!(copied.copied);
                    let replayed = search(&s, opt_in, Bounds { replay: true, ..bounds });
                    assert!(!replayed.copied);
                    let one = summary(copied);
                    assert_eq!(one, summary(replayed), "{bounds:?}, fingerprinted: {opt_in}");
                    // On several threads (batches of three states, worlds kept on the worker
                    // that made them, the others replayed): the same states in the same order.
                    for jobs in [2, 3] {
                        let parallel = search(&s, opt_in, Bounds { jobs, ..bounds });
                        assert!(parallel.copied);
                        assert_eq!(summary(parallel), one, "{bounds:?}, fingerprinted: {opt_in}, {jobs} threads");
                    }
                }
            }
        }
    }

    /// Postmortem: `--replay` replays a whole path for every transition, and that work was not
    /// counted, so the search's time could reach the depth bound times what `max_events`
    /// allows. Its replays now count against `max_events` beside what every search counts.
    #[test]
    fn regression_replaying_pays_for_its_replays_out_of_max_events() {
        let chain = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 12)";
        let mut s = scenario(2, "(latency: Constant(ms: 1))", chain, "");
        let copied = search(&s, true, Bounds::default());
        assert!(copied.complete);
        // Room for what every search counts, not for the replays too.
        s.limits.max_events = copied.events + 1;
        let copied = search(&s, true, Bounds::default());
        assert!(copied.complete && !copied.events_reached, "copying rebuilds nothing by replaying here");
        let replayed = search(&s, true, Bounds { replay: true, ..Bounds::default() });
        assert!(!replayed.complete && replayed.events_reached, "{replayed:?}");
        assert!(replayed.events >= s.limits.max_events, "reported with its replays: {}", replayed.events);
        assert!(replayed.states < copied.states);
    }

    #[test]
    fn the_reduction_finds_the_same_states_in_the_same_order_from_fewer_transitions() {
        let each = "(from: \"n0\", to: \"n1\", every_ms: 1, count: 2), (from: \"n1\", to: \"n2\", every_ms: 1, count: 2), (from: \"n2\", to: \"n0\", every_ms: 1, count: 1)";
        let lossy = scenario(3, "(latency: Constant(ms: 1), loss: 0.5, duplicate: 0.5)", each, "");
        let crash = scenario(3, "(latency: Constant(ms: 1))", each, "(at_ms: 5, do: Crash(\"n1\")), (at_ms: 9, do: Restart(\"n1\"))");
        let cut = scenario(
            3,
            "(latency: Constant(ms: 1), loss: 0.1)",
            each,
            "(at_ms: 5, do: Partition([[\"n0\"], [\"n1\", \"n2\"]])), (at_ms: 9, do: Heal)",
        );
        for s in [lossy, crash, cut] {
            for opt_in in [false, true] {
                for bounds in
                    [Bounds::default(), Bounds { max_depth: 4, ..Bounds::default() }, Bounds { max_faults: 1, ..Bounds::default() }]
                {
                    let summary = |f: &Exploration| (f.states, f.behaviours, f.max_depth, f.complete, f.depth_bound_reached, f.order);
                    let full = search(&s, opt_in, Bounds { reduction: false, ..bounds });
                    for reduced in [
                        search(&s, opt_in, bounds),
                        search(&s, opt_in, Bounds { replay: true, ..bounds }),
                        search(&s, opt_in, Bounds { jobs: 2, ..bounds }),
                    ] {
                        assert_eq!(summary(&reduced), summary(&full), "{bounds:?}, fingerprinted: {opt_in}");
                        assert!(reduced.transitions < full.transitions, "{} of {}", reduced.transitions, full.transitions);
                    }
                }
            }
        }
    }

    // Postmortem: the reduction took two steps at different nodes to commute though each sent
    // a message onto a wire with room for one: the first to send ends the path, so either order
    // reaches a state the other does not, and the reduced search found one of the two.
    #[test]
    fn regression_steps_that_together_overflow_the_in_flight_budget_do_not_commute() {
        let s = Scenario::parse(
            "Scenario(name: \"a\", horizon_ms: 1000, nodes: 2, protocol: BestEffort(), network: (latency: Constant(ms: 1)),\n\
             limits: (max_in_flight: 1),\n\
             workload: [(from: \"n0\", to: \"n1\", every_ms: 1, count: 1, start_ms: 1), (from: \"n1\", to: \"n0\", every_ms: 1, count: 1, start_ms: 1)])",
            "a.ron",
        )
        .expect("valid");
        for opt_in in [false, true] {
            let full = search(&s, opt_in, Bounds { reduction: false, ..Bounds::default() });
            for bounds in [Bounds::default(), Bounds { replay: true, ..Bounds::default() }, Bounds { jobs: 2, ..Bounds::default() }] {
                let reduced = search(&s, opt_in, bounds);
                assert_eq!((reduced.states, reduced.behaviours, reduced.order), (full.states, full.behaviours, full.order), "{bounds:?}");
            }
        }
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

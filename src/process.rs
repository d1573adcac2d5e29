//! The protocol author's view: the sans-IO `Process` trait and the `Ctx` it acts through.
//!
//! A handler never touches the event queue, the network or another node. It
//! records effects (sends, timers, observations) in its context; the simulator
//! applies them after the handler returns, in the order they were recorded.

use crate::id::{AppId, CallId, GroupId, NodeId, TimerId};
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::trace::{AdversaryAction, BreakerState, CallOutcome, OpOutcome};
use serde::Serialize;
use std::fmt;

/// An application message as the workload hands it to a process.
///
/// Protocols carry payloads inside their own messages. Whether a payload was
/// damaged on the way is ground truth the simulator keeps for the checkers; a
/// protocol cannot read it and must detect corruption the way a real one does
/// (here: through the checksum verdict on [`Incoming`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Payload {
    /// The application message's identity, unique in the run (the `m` of `cmd` and `deliver` lines).
    pub id: AppId,
    /// The node whose workload created the message.
    pub origin: NodeId,
    /// The application data's size, which a protocol adds its headers to in `Message::wire_size`.
    pub size_bytes: u32,
    damaged: bool,
}

impl Payload {
    pub(crate) fn new(id: AppId, origin: NodeId, size_bytes: u32) -> Payload {
        Payload { id, origin, size_bytes, damaged: false }
    }

    /// Damage this payload, as a corrupting link does to the bytes it carries.
    /// Called from [`Message::corrupt`] implementations.
    pub fn corrupt(&mut self) {
        self.damaged = true;
    }

    pub(crate) fn is_damaged(&self) -> bool {
        self.damaged
    }

    /// The payload as a protocol that models its wire bytes puts it on the wire, in the clear:
    /// [`PLAINTEXT_MARKER`], then id, origin and size, little-endian. An eavesdropper that
    /// finds the marker in captured bytes has read a payload.
    pub fn encode(&self) -> [u8; ENCODED_PAYLOAD_BYTES] {
        let mut out = [0; ENCODED_PAYLOAD_BYTES];
        out[..10].copy_from_slice(PLAINTEXT_MARKER);
        out[10..18].copy_from_slice(&self.id.0.to_le_bytes());
        out[18..22].copy_from_slice(&self.origin.0.to_le_bytes());
        out[22..].copy_from_slice(&self.size_bytes.to_le_bytes());
        out
    }

    /// The payload `encode` wrote, or `None` if `bytes` are not one. A decoded payload is
    /// undamaged: whether its bytes were altered on the way is for the protocol to detect
    /// (with a MAC) and for the security checks to judge.
    pub fn decode(bytes: &[u8]) -> Option<Payload> {
        if bytes.len() != ENCODED_PAYLOAD_BYTES || &bytes[..10] != PLAINTEXT_MARKER {
            return None;
        }
        let word = |r: std::ops::Range<usize>| bytes[r].iter().rev().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        Some(Payload::new(AppId(word(10..18)), NodeId(word(18..22) as u32), word(22..26) as u32))
    }
}

/// The bytes that open every payload encoded in the clear.
pub const PLAINTEXT_MARKER: &[u8; 10] = b"msgsim-app";

/// The length of [`Payload::encode`]'s output.
pub const ENCODED_PAYLOAD_BYTES: usize = 26;

/// What a protocol sends on the wire.
pub trait Message: Clone + fmt::Debug {
    /// Bytes on the wire; drives serialisation delay on bandwidth-limited links.
    fn wire_size(&self) -> u32;
    /// Damage the message as a corrupting link would: corrupt every payload it carries.
    fn corrupt(&mut self);
    /// The bytes an on-path adversary reads and alters, for a protocol that models its
    /// encoding. `None` (the default) for one that does not: validation refuses an
    /// adversary under such a protocol, so the engine never needs bytes it cannot have.
    fn wire_bytes(&mut self) -> Option<&mut Vec<u8>> {
        None
    }
    /// Where the message goes in its receiver's mailbox: higher is taken first (0, the
    /// default, is lowest). Only a mailbox ever reorders by it.
    fn priority(&self) -> u8 {
        0
    }
    /// Heap bytes this copy owns (a vector of values, of counters per node), with what its
    /// sender keeps of it until it is acknowledged: the memory budget counts every copy in
    /// flight at its fixed size plus this, so a message that grows with the run or the
    /// cluster cannot take the machine's memory under a small `max_memory_mb`. 0 (the
    /// default) for a message of fixed size.
    fn heap_bytes(&self) -> u64 {
        0
    }
}

/// The heap bytes of a vector's elements: what a [`Message::heap_bytes`] counts for each it carries.
pub fn vec_bytes<T>(items: &[T]) -> u64 {
    (items.len() as u64).saturating_mul(std::mem::size_of::<T>() as u64)
}

/// An upper estimate of the heap a `BTreeMap<K, V>` (or, with `V = ()`, a `BTreeSet<K>`) of
/// `len` entries holds, for a [`Process::heap_bytes`] or a checker's: its nodes hold up to
/// eleven entries and are about half full when filled in key order (as ids arrive), so twice
/// each entry's size, plus the node headers and the inner nodes' child pointers.
pub fn map_bytes<K, V>(len: usize) -> u64 {
    (len as u64).saturating_mul(2 * (std::mem::size_of::<K>() + std::mem::size_of::<V>()) as u64 + MAP_ENTRY_OVERHEAD_BYTES)
}

/// What a B-tree entry costs beside its key and value: its share of a node's header (parent
/// pointer, length) and of the inner nodes' child pointers.
const MAP_ENTRY_OVERHEAD_BYTES: u64 = 8;

/// The heap a `Vec` or `VecDeque` of `capacity` elements of `T` holds (its capacity, not its
/// length: what was allocated stays allocated).
pub fn capacity_bytes<T>(capacity: usize) -> u64 {
    (capacity as u64).saturating_mul(std::mem::size_of::<T>() as u64)
}

/// Where a workload command asks a message to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Dest {
    /// One node.
    Node(NodeId),
    /// Every member of a group (the sender excluded).
    Group(GroupId),
    /// Every other node.
    All,
}

/// Input from the workload to a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Send `payload` to `dest` with whatever guarantee the protocol gives.
    Send {
        /// The application data.
        payload: Payload,
        /// Where it should go.
        dest: Dest,
    },
}

/// A message handed to a process by the network.
#[derive(Clone, Debug)]
pub struct Incoming<M> {
    /// The sending node, as the network knows it (an adversary can inject; authenticate to be sure).
    pub from: NodeId,
    /// The message, as it arrived (possibly corrupted: see `checksum_ok`).
    pub msg: M,
    /// False when the link corrupted this copy: what a checksum comparison
    /// would report. A protocol that ignores it delivers damaged payloads.
    pub checksum_ok: bool,
    /// Set when the message is a request made with `Ctx::call`: answer it with `Ctx::reply`.
    pub call: Option<CallId>,
}

/// How a blocking send or a call ended, handed to `Process::on_complete`.
#[derive(Clone, Debug)]
pub enum Completion<M> {
    /// The receiver's process took the message `Ctx::send_sync` sent.
    Taken {
        /// The receiver.
        to: NodeId,
    },
    /// `send_sync`'s timeout expired first. The message may still be taken later.
    SendTimedOut {
        /// The receiver.
        to: NodeId,
    },
    /// The callee answered `call`.
    Answered {
        /// The call, as `Ctx::call` returned it.
        call: CallId,
        /// The callee.
        from: NodeId,
        /// The answer.
        msg: M,
        /// False when the link corrupted the answer.
        checksum_ok: bool,
    },
    /// No answer to `call` within its timeout; an answer arriving later is discarded.
    CallTimedOut {
        /// The call, as `Ctx::call` returned it.
        call: CallId,
    },
}

/// How a node id that names no node (a forged payload origin) is shown. Node names are
/// letters, digits and `-_.`, so no real node is called this.
pub const FORGED_ORIGIN: &str = "(forged)";

/// The static shape of the cluster, shared by every process.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// Node names, by `NodeId` index.
    pub names: Vec<String>,
    /// Group names (sorted) and their members (sorted by id).
    pub groups: Vec<(String, Vec<NodeId>)>,
}

impl Cluster {
    /// How many nodes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no nodes (a validated scenario always has one).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every node, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.names.len() as u32).map(NodeId)
    }

    /// A node's name. An id that names no node can reach the trace only as a payload's origin
    /// that an adversary forged (the bytes claim it); it is shown as [`FORGED_ORIGIN`], never
    /// used as an index.
    pub fn name(&self, node: NodeId) -> &str {
        self.names.get(node.index()).map_or(FORGED_ORIGIN, String::as_str)
    }

    /// The node called `name`, if there is one.
    pub fn id(&self, name: &str) -> Option<NodeId> {
        self.names.iter().position(|n| n == name).map(|i| NodeId(i as u32))
    }

    /// A group's members, sorted by id.
    pub fn members(&self, group: GroupId) -> &[NodeId] {
        &self.groups[group.0 as usize].1
    }

    /// The nodes a message from `from` to `dest` is meant for (never `from` itself).
    pub fn recipients(&self, from: NodeId, dest: Dest) -> Vec<NodeId> {
        match dest {
            Dest::Node(n) => vec![n],
            Dest::Group(g) => self.members(g).iter().copied().filter(|&n| n != from).collect(),
            Dest::All => self.nodes().filter(|&n| n != from).collect(),
        }
    }

    /// The nodes that deliver a message from `from` to `dest` under a group-communication
    /// protocol: every member of the group (every node for `All`), the sender included when
    /// it is a member, because ordering is about what each member delivers, its own messages
    /// among them. A unicast's only recipient is its destination.
    pub fn group_recipients(&self, dest: Dest) -> Vec<NodeId> {
        match dest {
            Dest::Node(n) => vec![n],
            Dest::Group(g) => self.members(g).to_vec(),
            Dest::All => self.nodes().collect(),
        }
    }
}

/// Something a handler asked for; applied by the simulator after the handler returns.
#[derive(Debug)]
pub(crate) enum Effect<M, T> {
    Send { to: NodeId, msg: M },
    SendSync { to: NodeId, msg: M, timeout_ns: Option<u64> },
    Call { to: NodeId, msg: M, call: CallId, timeout_ns: Option<u64>, wait: bool },
    Reply { call: CallId, msg: M },
    Multicast { group: GroupId, msg: M },
    Broadcast { msg: M },
    SetTimer { id: TimerId, after_local_ns: u64, timer: T },
    CancelTimer { id: TimerId },
    Deliver { payload: Payload },
    DeadLetter { payload: Payload, to: NodeId },
    Attempt { to: NodeId, series: u64, attempt: u32 },
    Ack { to: NodeId, series: u64 },
    AttemptFailed { to: NodeId, series: u64, attempt: u32 },
    Answer { to: NodeId, series: u64, attempt: u32 },
    CallOutcome { app: AppId, outcome: CallOutcome, latency_ns: u64 },
    Operation { op: u64, server: NodeId, outcome: OpOutcome },
    Breaker { from: BreakerState, to: BreakerState },
    Suspicion { of: NodeId, suspected: bool },
    View { view: u64, members: u64 },
    Inject { actions: &'static [AdversaryAction], from: NodeId, to: NodeId, msg: M },
}

/// A handler's window on the world.
pub struct Ctx<'a, M, T> {
    pub(crate) now_local: SimTime,
    pub(crate) me: NodeId,
    pub(crate) cluster: &'a Cluster,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) effects: &'a mut Vec<Effect<M, T>>,
    pub(crate) next_timer: &'a mut u64,
    pub(crate) next_call: &'a mut u64,
}

impl<M, T> Ctx<'_, M, T> {
    /// The node's own clock reading (offset and drift included).
    pub fn now(&self) -> SimTime {
        self.now_local
    }

    /// The node this process runs on.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Every node's name and the groups: the static shape of the system.
    pub fn cluster(&self) -> &Cluster {
        self.cluster
    }

    /// The node's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// Send `msg` to `to` and go on at once (an asynchronous send): the network decides its fate.
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Send `msg` and block until `to`'s process takes it from its mailbox (a rendezvous), or
    /// until `timeout_ns` of local time passes. While blocked the process handles nothing
    /// else; `on_complete` says how the wait ended. It must be the handler's last effect.
    pub fn send_sync(&mut self, to: NodeId, msg: M, timeout_ns: Option<u64>) {
        self.effects.push(Effect::SendSync { to, msg, timeout_ns });
    }

    /// Send `msg` to `to` as attempt `attempt` (1 for the first transmission, 2 for the first
    /// retransmission, ...) of the retransmission series `series`: an asynchronous send
    /// preceded by an `attempt` line, so that `RetryBackoff` can judge the waits between
    /// attempts against the retry policy. `series` is any number that names what is resent,
    /// unique per recipient among this node's series (an application message's id will do).
    pub fn send_attempt(&mut self, to: NodeId, msg: M, series: u64, attempt: u32) {
        self.effects.push(Effect::Attempt { to, series, attempt });
        self.effects.push(Effect::Send { to, msg });
    }

    /// Mark attempt `attempt` of this node's retransmission series `series` to `to` as failed
    /// now (an error answer, a timeout, or a refusal before anything was sent). A protocol
    /// whose retry waits start when an attempt fails (`WaitFrom::Failure`) marks each failure,
    /// so that `RetryBackoff` can judge every wait from its true start: its bounds under the
    /// jitter scheme declared, and how the waits spread between them.
    pub fn attempt_failed(&mut self, to: NodeId, series: u64, attempt: u32) {
        self.effects.push(Effect::AttemptFailed { to, series, attempt });
    }

    /// Send `msg` to `to` as the answer to attempt `attempt` of `to`'s retransmission series
    /// `series` (the numbers `to` gave it in `send_attempt`): an asynchronous send preceded by
    /// an `answer` line, so that `RetryBackoff` can judge that an answer ends only the attempt
    /// it answers (a late answer to an earlier attempt is not the current one's).
    pub fn send_answer(&mut self, to: NodeId, msg: M, series: u64, attempt: u32) {
        self.effects.push(Effect::Answer { to, series, attempt });
        self.effects.push(Effect::Send { to, msg });
    }

    /// Send `msg` to `to` as the acknowledgement of `to`'s retransmission series `series` (the
    /// number `to` gave it in `send_attempt`): an asynchronous send preceded by an `ack` line,
    /// so that `RetryBackoff` can judge that `to` stops retransmitting once the ack arrives.
    pub fn send_ack(&mut self, to: NodeId, msg: M, series: u64) {
        self.effects.push(Effect::Ack { to, series });
        self.effects.push(Effect::Send { to, msg });
    }

    /// Send `msg` to `to` as one attempt of each of several retransmission series at once (a
    /// batch carrying several things, each resent on its own schedule): an asynchronous send
    /// preceded by one `attempt` line per `(series, attempt)`, as `send_attempt` writes for one.
    pub fn send_attempts(&mut self, to: NodeId, msg: M, attempts: impl IntoIterator<Item = (u64, u32)>) {
        for (series, attempt) in attempts {
            self.effects.push(Effect::Attempt { to, series, attempt });
        }
        self.effects.push(Effect::Send { to, msg });
    }

    /// Send `msg` to `to` as the acknowledgement of several of `to`'s retransmission series at
    /// once (a batch's): an asynchronous send preceded by one `ack` line per series.
    pub fn send_acks(&mut self, to: NodeId, msg: M, series: impl IntoIterator<Item = u64>) {
        for series in series {
            self.effects.push(Effect::Ack { to, series });
        }
        self.effects.push(Effect::Send { to, msg });
    }

    /// Send request `msg` to `to` and, if `wait`, block until its answer (synchronous); if
    /// not, go on at once (asynchronous). Either way `on_complete` receives the answer, or
    /// the timeout after `timeout_ns` of local time. A waiting call must be the handler's
    /// last effect.
    pub fn call(&mut self, to: NodeId, msg: M, timeout_ns: Option<u64>, wait: bool) -> CallId {
        let call = CallId(*self.next_call);
        *self.next_call += 1;
        self.effects.push(Effect::Call { to, msg, call, timeout_ns, wait });
        call
    }

    /// Answer request `call` (from `Incoming::call`) with `msg`; it goes back to the caller.
    pub fn reply(&mut self, call: CallId, msg: M) {
        self.effects.push(Effect::Reply { call, msg });
    }

    /// One copy to every member of `group` except this node.
    pub fn multicast(&mut self, group: GroupId, msg: M) {
        self.effects.push(Effect::Multicast { group, msg });
    }

    /// One copy to every other node.
    pub fn broadcast(&mut self, msg: M) {
        self.effects.push(Effect::Broadcast { msg });
    }

    /// Fire `timer` after `after_ns` of this node's local time (so a drifting
    /// clock makes it fire early or late in simulated time).
    pub fn set_timer(&mut self, after_ns: u64, timer: T) -> TimerId {
        let id = TimerId(*self.next_timer);
        *self.next_timer += 1;
        self.effects.push(Effect::SetTimer { id, after_local_ns: after_ns, timer });
        id
    }

    /// Cancel a timer `set_timer` returned; a timer that already fired or was cancelled is ignored.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer { id });
    }

    /// Hand `payload` to the application: the observation delivery checkers judge.
    pub fn deliver(&mut self, payload: Payload) {
        self.effects.push(Effect::Deliver { payload });
    }

    /// Give up on `payload` for recipient `to` and put it in the dead-letter queue: the
    /// observation that tells the application (and the checks) that the protocol could not
    /// confirm delivery. The message may still have arrived; its acks may all have been lost.
    pub fn dead_letter(&mut self, payload: Payload, to: NodeId) {
        self.effects.push(Effect::DeadLetter { payload, to });
    }

    /// Report how call `app` (begun by the workload's command `app`) ended: the
    /// observation the circuit-breaker check judges. `latency_ns` is on this node's clock.
    pub fn call_outcome(&mut self, app: AppId, outcome: CallOutcome, latency_ns: u64) {
        self.effects.push(Effect::CallOutcome { app, outcome, latency_ns });
    }

    /// Record a step of this client's operation `op` to `server` (an `op` line); the run's
    /// operation statistics (throughput, latency, timeouts) are computed from these.
    pub fn operation(&mut self, op: u64, server: NodeId, outcome: OpOutcome) {
        self.effects.push(Effect::Operation { op, server, outcome });
    }

    /// Report that this node's failure detector began (`suspected`) or stopped suspecting `of`.
    pub fn suspicion(&mut self, of: NodeId, suspected: bool) {
        self.effects.push(Effect::Suspicion { of, suspected });
    }

    /// Report that this node installed group view `view` with `members` (bit i set: node i is a
    /// member): the observation the view-agreement check judges. Validation keeps such clusters
    /// within 64 nodes, so one word holds any membership and the trace event stays `Copy`.
    pub fn install_view(&mut self, view: u64, members: u64) {
        self.effects.push(Effect::View { view, members });
    }

    /// Hand `msg` to `to` as the adversary, claiming to come `from`, recorded with `actions`:
    /// only for a process the scenario made a compromised member (an insider). It arrives at
    /// once, as the link adversary's injections do.
    pub(crate) fn inject(&mut self, actions: &'static [AdversaryAction], from: NodeId, to: NodeId, msg: M) {
        self.effects.push(Effect::Inject { actions, from, to, msg });
    }

    /// Report that this node's circuit breaker changed state.
    pub fn breaker_transition(&mut self, from: BreakerState, to: BreakerState) {
        self.effects.push(Effect::Breaker { from, to });
    }
}

/// A process is a state machine driven by the simulator.
///
/// It is created by its protocol's factory at boot and again after every
/// restart: a crash loses all state and timers, but for what the protocol kept on its node's
/// stable storage ([`crate::stable`]).
pub trait Process {
    /// What the protocol puts on the wire.
    type Msg: Message;
    /// What a timer carries back to `on_timer` (`()` for a protocol with one kind of timer).
    type Timer: Clone + fmt::Debug;

    /// Called at boot and after every restart.
    fn on_start(&mut self, _ctx: &mut Ctx<'_, Self::Msg, Self::Timer>) {}

    /// The workload asks this node to send a message (`Command::Send`): the protocol decides
    /// what goes on the wire, when and to whom. Each call is one `cmd` line in the trace, and the
    /// delivery checks judge the protocol by what becomes of it.
    fn on_command(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, cmd: Command);

    /// A message arrived from the network (or, for a node with a mailbox, was taken from it).
    /// Hand application data to the application with `Ctx::deliver`; check `checksum_ok` to
    /// discard corrupted copies.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, incoming: Incoming<Self::Msg>);

    /// A timer set with `Ctx::set_timer` fired (on the node's own clock), unless it was
    /// cancelled or the node crashed since.
    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, _timer: Self::Timer) {}

    /// A blocking send or a call ended (see `Ctx::send_sync` and `Ctx::call`).
    fn on_complete(&mut self, _ctx: &mut Ctx<'_, Self::Msg, Self::Timer>, _completion: Completion<Self::Msg>) {}

    /// Opt in to state deduplication by `msgsim explore --model async`: feed everything that
    /// decides this process's future behaviour into `state` (with `#[derive(Hash)]`,
    /// `self.hash(state)`) and return true.
    ///
    /// The explorer then treats two paths that leave every process in the same state (and the
    /// same messages in flight, the same timers set) as one state, and explores it once; a
    /// message or timer is told apart by its `Debug` output, so that output must show all it
    /// carries (`#[derive(Debug)]` does). The default returns false: the explorer then knows a
    /// process by the inputs it handled, in order, which is always sound (a process is a
    /// function of its inputs and its own random stream) but merges fewer paths.
    fn fingerprint(&self, _state: &mut StateHasher) -> bool {
        false
    }

    /// Opt in to being copied by `msgsim explore --model async`: return a copy of this process
    /// (with `#[derive(Clone)]`, `Some(self.clone())`).
    ///
    /// The explorer then keeps each state it has yet to step from and makes every successor
    /// from a copy of it, instead of running the successor's whole path again from the boot:
    /// many times faster on deep searches, for the memory of the states kept. A process that
    /// opts in must do so in every state, and its factory must make the same process for a
    /// node each time it is called (the explorer calls it for restarts on any copy). The
    /// default returns `None`: the explorer replays paths, which works for any process.
    fn snapshot(&self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }

    /// Heap bytes this process's state holds that grow as the run goes (the values a gossip
    /// node has learnt, a queue's log and its deduplication set, a backlog), for the memory
    /// budget: the engine reads it after every handler and ends the run with
    /// `max_memory_mb limit exceeded` once the processes' state, the checkers' and the messages
    /// in flight together hold more than `limits.max_memory_mb`. Estimate with
    /// [`map_bytes`], [`vec_bytes`] and [`capacity_bytes`]; it must be cheap (a few lengths,
    /// never a walk) and a function of the state alone, so the stop point is one of the
    /// scenario and the seed. The default, 0, is for a process whose state does not grow with
    /// the workload (what grows with the cluster is declared by `Protocol::state_bytes`).
    fn heap_bytes(&self) -> u64 {
        0
    }
}

/// The hasher `Process::fingerprint` writes a process's state into: a multiply-rotate hash over
/// 64-bit words (FNV's prime), with the same output on every platform and in every run (never
/// randomly keyed).
#[derive(Clone, Debug)]
pub struct StateHasher(u64);

impl Default for StateHasher {
    fn default() -> StateHasher {
        StateHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for StateHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Eight bytes at a time (the explorer feeds it messages' `Debug` text), the tail padded.
        let mut words = bytes.chunks_exact(8);
        for w in words.by_ref() {
            self.write_u64(u64::from_le_bytes(w.try_into().expect("eight bytes")));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut last = [0u8; 8];
            last[..tail.len()].copy_from_slice(tail);
            self.write_u64(u64::from_le_bytes(last) ^ ((tail.len() as u64) << 59));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // A word at a time: state is mostly ids and counters.
        self.0 = (self.0 ^ n).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
}

//! The trace: what happened, as ground truth the simulator records, its rolling hash and its text form.
//!
//! Every event is hashed as it happens (see [`TraceHasher`]), so a run need not
//! keep its trace to be compared with another. Keeping the events is opt-in.

use crate::id::{AppId, MsgId, NodeId, TimerId};
use crate::process::{Cluster, Dest};
use crate::time::SimTime;
use serde::Serialize;
use std::fmt::Write as _;

/// Why the network or the simulator discarded a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DropReason {
    /// The link's loss probability struck.
    Lost,
    /// A partition separates sender and receiver (checked when the message is sent).
    Partitioned,
    /// The topology has no link between the two nodes.
    NoLink,
    /// The link's queue was full (tail drop).
    QueueFull,
    /// The receiver was down when the message arrived.
    NodeDown,
    /// The receiver's mailbox was full and its policy discards arrivals.
    MailboxFull,
    /// The receiver's mailbox was full and this waiting message made room for a newer one.
    Evicted,
    /// A reply that arrived after its call had ended (timed out, or answered already).
    Late,
    /// One of the message's fragments was lost, so it could not be reassembled.
    FragmentLost,
}

/// Why a process blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BlockReason {
    /// A synchronous send: until the receiver takes the message (a rendezvous).
    SyncSend,
    /// A call: until the callee answers.
    Call,
    /// A send to a full mailbox whose policy is back-pressure: until it has room.
    BackPressure,
}

/// Why a blocked process went on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnblockReason {
    /// The receiver took the synchronously sent message.
    Taken,
    /// The callee's answer arrived.
    Answered,
    /// The wait's timeout expired.
    TimedOut,
    /// The full mailbox made room for the waiting send.
    Room,
}

/// A scripted or drawn fault, as the trace records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FaultAction {
    /// A node crashed: its process and timers are gone.
    Crash,
    /// A crashed node started a fresh process.
    Restart,
    /// A node was paused: everything for it is held.
    Pause,
    /// A paused node resumed and handles what was held.
    Resume,
    /// A cut began: a scripted `Partition` or `OneWay`, or a drawn partition.
    Partition,
    /// Every cut in force was removed.
    Heal,
}

/// A step of a call to a service, as the calling client saw it: its admission by the
/// client's circuit breaker, or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CallOutcome {
    /// The breaker let the call (or this attempt of it) through; an ending follows.
    Admitted,
    /// The service answered with success.
    Ok,
    /// The service answered with an error.
    Error,
    /// No answer within the client's timeout.
    Timeout,
    /// The breaker refused the call; nothing was sent.
    Rejected,
}

/// A step of a client's operation: invoked, answered, or given up on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OpOutcome {
    /// The client sent the operation's request.
    Invoke,
    /// The reply came back.
    Ok,
    /// No reply within the client's timeout; a later one is ignored.
    Timeout,
}

/// A circuit breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum BreakerState {
    /// Calls pass; outcomes fill the window, which may open the breaker.
    Closed,
    /// Calls are refused until the wait is over.
    Open,
    /// A few trial calls pass; their outcomes close the breaker or open it again.
    HalfOpen,
}

/// What the adversary did to a message on a link it sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AdversaryAction {
    /// Captured a copy and could read no payload in it.
    Eavesdrop,
    /// Captured a copy and read a payload in it (its plaintext marker was there).
    Leak,
    /// Removed the message from the link.
    Drop,
    /// Flipped a bit of the message in flight.
    Tamper,
    /// Sent an earlier captured message again, as it was.
    Replay,
    /// Sent a captured message, altered, under another sender's name; from an insider, a
    /// fresh message sealed under one of the two keys it holds that could open at the
    /// receiver (its own pair's with the receiver, or the claimed sender's pair's with itself).
    Forge,
    /// Marks the adversary's message just recorded as one of the privileged `Admin` kind: after
    /// a compromised member's `Forge` or `Tamper` line for the same message, or alone for one it
    /// sends under its own name (then `from` is that member, the true sender).
    Admin,
}

/// One thing that happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// The workload handed application message `app` to `node`.
    Command {
        /// The node whose process received the command.
        node: NodeId,
        /// The application message's id, unique in the run.
        app: AppId,
        /// Where the command asks the message to go.
        dest: Dest,
    },
    /// The workload's command could not be given: `node` was down.
    CommandRefused {
        /// The node that was down.
        node: NodeId,
        /// The application message's id; the command owes no delivery.
        app: AppId,
    },
    /// A process put a message on the link `from -> to`.
    Send {
        /// The sending node.
        from: NodeId,
        /// The receiving node.
        to: NodeId,
        /// This transmission's id, unique in the run (the `m` number in a trace).
        msg: MsgId,
        /// The message's size on the wire in bytes, the protocol's header included.
        size: u32,
    },
    /// The network or the simulator discarded a copy of `msg` on the link `from -> to`.
    Drop {
        /// The sending node.
        from: NodeId,
        /// The node it was for.
        to: NodeId,
        /// The transmission.
        msg: MsgId,
        /// Why it was discarded.
        reason: DropReason,
    },
    /// The link made a second copy of `msg`.
    Duplicate {
        /// The sending node.
        from: NodeId,
        /// The receiving node.
        to: NodeId,
        /// The transmission duplicated.
        msg: MsgId,
    },
    /// The link damaged this copy of `msg`.
    Corrupt {
        /// The sending node.
        from: NodeId,
        /// The receiving node.
        to: NodeId,
        /// The transmission this copy belongs to.
        msg: MsgId,
    },
    /// A copy of `msg` was handed to `to`'s process.
    Receive {
        /// The sending node (as the link saw it; an adversary's injection names the sender it claims).
        from: NodeId,
        /// The receiving node.
        to: NodeId,
        /// The transmission this copy belongs to.
        msg: MsgId,
        /// Whether the network damaged this copy.
        corrupted: bool,
    },
    /// `node`'s process timer `timer` fired (and the process was given it).
    Timer {
        /// The node whose process set the timer.
        node: NodeId,
        /// The timer, as `Ctx::set_timer` returned it.
        timer: TimerId,
    },
    /// `node`'s process delivered application message `app` to its application.
    Deliver {
        /// The delivering node.
        node: NodeId,
        /// The application message delivered.
        app: AppId,
        /// The node whose workload created the message.
        origin: NodeId,
        /// Whether the payload delivered was damaged by the network (a protocol that does not
        /// check its messages let corruption through).
        damaged: bool,
    },
    /// `node`'s next send to `to` is attempt `attempt` (1 = the first transmission) of its
    /// retransmission series `series` (the protocol's name for what it keeps resending, such
    /// as the application message's id): what lets a check judge the backoff between attempts.
    Attempt {
        /// The retransmitting node.
        node: NodeId,
        /// The recipient of the series.
        to: NodeId,
        /// The series, in the sender's own numbering: unique per recipient among its series
        /// (an application message's id will do).
        series: u64,
        /// The attempt number: 1 for the first transmission, one more for each retransmission.
        attempt: u32,
    },
    /// `node`'s next send to `to` answers attempt `attempt` of `to`'s retransmission series
    /// `series`: a reply that ends that attempt and no other.
    Answer {
        /// The answering node.
        node: NodeId,
        /// The node whose attempt is answered.
        to: NodeId,
        /// The series, in `to`'s numbering.
        series: u64,
        /// The attempt answered.
        attempt: u32,
    },
    /// Attempt `attempt` of `node`'s retransmission series `series` to `to` failed now (an
    /// error answer, a timeout, or a refusal before anything was sent): a wait that starts at
    /// the failure starts here.
    AttemptFailed {
        /// The retrying node.
        node: NodeId,
        /// The recipient of the series.
        to: NodeId,
        /// The series, numbered as in its `Attempt` lines.
        series: u64,
        /// The number of the attempt that failed.
        attempt: u32,
    },
    /// `node`'s next send to `to` acknowledges `to`'s retransmission series `series`: once it
    /// arrives intact, `to` should stop retransmitting that series to `node`.
    Ack {
        /// The acknowledging node.
        node: NodeId,
        /// The node that retransmits the series.
        to: NodeId,
        /// The series acknowledged, in `to`'s numbering.
        series: u64,
    },
    /// `node`'s process gave up on application message `app` for recipient `to` (its
    /// attempts exhausted) and put it in the dead-letter queue, so the application knows.
    DeadLetter {
        /// The sender that gave up.
        node: NodeId,
        /// The recipient never reached.
        to: NodeId,
        /// The application message given up on.
        app: AppId,
    },
    /// A step of `node`'s call `app`: admitted by its breaker, refused by it, or ended
    /// with `outcome` `latency_ns` after it was sent (on the node's clock; 0 unless it ended).
    Call {
        /// The calling client.
        node: NodeId,
        /// The call: the application message its workload command carried.
        app: AppId,
        /// The step: admitted, refused, or how the call ended.
        outcome: CallOutcome,
        /// The call's latency in nanoseconds on the client's clock; 0 unless the step ended it.
        latency_ns: u64,
    },
    /// `node`'s circuit breaker went from state `from` to state `to`.
    Breaker {
        /// The client whose breaker changed.
        node: NodeId,
        /// The state it left.
        from: BreakerState,
        /// The state it entered.
        to: BreakerState,
    },
    /// `node`'s failure detector began (`suspected`) or stopped suspecting that `of` has crashed.
    Suspicion {
        /// The suspecting node.
        node: NodeId,
        /// The node suspected.
        of: NodeId,
        /// `true` when the suspicion began, `false` when it ended.
        suspected: bool,
    },
    /// `node` installed group view `view`, whose members are the nodes whose bits are set in
    /// `members` (bit i: node i).
    View {
        /// The installing node.
        node: NodeId,
        /// The view's number, above that of the view it replaces (0: the initial view); numbers
        /// may skip, since coordinators of different ranks propose different ones.
        view: u64,
        /// The membership as a bit set: bit i is node i, so at most 64 nodes.
        members: u64,
    },
    /// The adversary acted on `msg` on the link `from -> to`. For `Replay` and `Forge`, `msg`
    /// is the id of the injected copy and `from` the sender it claims to be; so for everything
    /// a compromised member (an insider) injects, where `msg` arrives at once.
    Adversary {
        /// What the adversary did.
        action: AdversaryAction,
        /// The sender the message carries (for an injection, the one it claims).
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The transmission acted on, or the injected copy's id.
        msg: MsgId,
    },
    /// `node`'s process blocked, waiting on `on`; `timeout` if a timeout will end the wait.
    Block {
        /// The blocked node.
        node: NodeId,
        /// The node it waits on (the receiver, the callee, or the full mailbox's owner).
        on: NodeId,
        /// What it waits for.
        reason: BlockReason,
        /// Whether a timeout will end the wait (a deadlock through it is not permanent).
        timeout: bool,
    },
    /// `node`'s process went on.
    Unblock {
        /// The node that went on.
        node: NodeId,
        /// Why its wait ended.
        reason: UnblockReason,
    },
    /// `node` stopped waiting for the answer to its request `msg` to `callee`: the call's
    /// timeout passed while the caller went on (a hybrid call; a waiting call's timeout is its
    /// `Unblock` with `TimedOut`). An answer arriving later is dropped as `Late`.
    CallTimeout {
        /// The caller.
        node: NodeId,
        /// The node it called.
        callee: NodeId,
        /// The request transmission whose answer is no longer awaited.
        msg: MsgId,
    },
    /// `node`'s new wait closed a cycle of `len` blocked processes (the `block` lines name
    /// them); `permanent` if no wait in it can time out.
    Deadlock {
        /// The node whose wait closed the cycle.
        node: NodeId,
        /// How many processes the cycle holds.
        len: u32,
        /// Whether no wait in the cycle can time out (the processes are stuck for good).
        permanent: bool,
    },
    /// Copy `msg` from `from` arrived while `to`'s process could not take it and waits in its
    /// mailbox, `depth` messages deep counting itself.
    Queued {
        /// The sending node.
        from: NodeId,
        /// The node whose mailbox holds the copy.
        to: NodeId,
        /// The transmission queued.
        msg: MsgId,
        /// The mailbox's length with this copy in it.
        depth: u32,
    },
    /// `node`'s process finished serving copy `msg`, taken from its mailbox at its `recv`
    /// line; recorded only for mailboxes with `trace_served`.
    Served {
        /// The serving node.
        node: NodeId,
        /// The transmission served.
        msg: MsgId,
    },
    /// Client `node`'s operation `op` (numbered per client) to `server`: invoked, answered or
    /// timed out.
    Op {
        /// The client.
        node: NodeId,
        /// The operation's number, from 0 per client (`o0`, `o1`, ...).
        op: u64,
        /// The server it was sent to.
        server: NodeId,
        /// The step: invoked, answered, or timed out.
        outcome: OpOutcome,
    },
    /// Fault `index` of the run's fault list took effect (`node` for node faults).
    Fault {
        /// What happened.
        action: FaultAction,
        /// The node a node fault acted on; `None` for partitions and heals.
        node: Option<NodeId>,
        /// The fault's position in the run's fault list: the scenario's faults and any swarm mode drew.
        index: u32,
    },
}

/// One event of the trace: what happened, and when in true simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// When it happened, in true simulated time (never a node's clock reading).
    pub time: SimTime,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl TraceEvent {
    /// The canonical encoding the hash is computed over: four words per event.
    /// Part of the trace format; changing it changes every trace hash.
    /// Always inlined: where the variant is known the match folds away (see `Recorder::record`).
    #[inline(always)]
    fn words(&self) -> [u64; 4] {
        let pair = |a: NodeId, b: NodeId| u64::from(a.0) | (u64::from(b.0) << 32);
        let (tag, w2, w3): (u64, u64, u64) = match self.kind {
            EventKind::Command { node, app, dest } => {
                let (dk, dv) = match dest {
                    Dest::Node(n) => (0, n.0),
                    Dest::Group(g) => (1, g.0),
                    Dest::All => (2, 0),
                };
                (1 | dk << 8, u64::from(node.0) | u64::from(dv) << 32, app.0)
            }
            EventKind::CommandRefused { node, app } => (2, u64::from(node.0), app.0),
            EventKind::Send { from, to, msg, size } => (3 | u64::from(size) << 8, pair(from, to), msg.0),
            EventKind::Drop { from, to, msg, reason } => (4 | (reason as u64) << 8, pair(from, to), msg.0),
            EventKind::Duplicate { from, to, msg } => (5, pair(from, to), msg.0),
            EventKind::Corrupt { from, to, msg } => (6, pair(from, to), msg.0),
            EventKind::Receive { from, to, msg, corrupted } => (7 | u64::from(corrupted) << 8, pair(from, to), msg.0),
            EventKind::Timer { node, timer } => (8, u64::from(node.0), timer.0),
            EventKind::Deliver { node, app, origin, damaged } => (9 | u64::from(damaged) << 8, pair(node, origin), app.0),
            EventKind::Fault { action, node, index } => {
                let n = node.map_or(u64::from(u32::MAX), |n| u64::from(n.0));
                (10 | (action as u64) << 8, n | u64::from(index) << 32, 0)
            }
            EventKind::DeadLetter { node, to, app } => (11, pair(node, to), app.0),
            EventKind::Call { node, app, outcome, latency_ns } => (12 | (outcome as u64) << 8 | u64::from(node.0) << 32, app.0, latency_ns),
            EventKind::Breaker { node, from, to } => (13 | (from as u64) << 8 | (to as u64) << 16, u64::from(node.0), 0),
            EventKind::Suspicion { node, of, suspected } => (14 | u64::from(suspected) << 8, pair(node, of), 0),
            EventKind::Adversary { action, from, to, msg } => (15 | (action as u64) << 8, pair(from, to), msg.0),
            EventKind::Block { node, on, reason, timeout } => (16 | (reason as u64) << 8 | u64::from(timeout) << 16, pair(node, on), 0),
            EventKind::Unblock { node, reason } => (17 | (reason as u64) << 8, u64::from(node.0), 0),
            EventKind::Deadlock { node, len, permanent } => (18 | u64::from(permanent) << 8, u64::from(node.0), u64::from(len)),
            EventKind::Queued { from, to, msg, depth } => (19 | u64::from(depth) << 8, pair(from, to), msg.0),
            EventKind::View { node, view, members } => (20 | u64::from(node.0) << 32, view, members),
            EventKind::CallTimeout { node, callee, msg } => (21, pair(node, callee), msg.0),
            EventKind::Served { node, msg } => (22, u64::from(node.0), msg.0),
            EventKind::Op { node, op, server, outcome } => (23 | (outcome as u64) << 8, pair(node, server), op),
            EventKind::Attempt { node, to, series, attempt } => (24 | u64::from(attempt) << 8, pair(node, to), series),
            EventKind::Ack { node, to, series } => (25, pair(node, to), series),
            EventKind::AttemptFailed { node, to, series, attempt } => (26 | u64::from(attempt) << 8, pair(node, to), series),
            EventKind::Answer { node, to, series, attempt } => (27 | u64::from(attempt) << 8, pair(node, to), series),
        };
        [self.time.0, tag, w2, w3]
    }
}

/// msgsim trace hash, version 1: start from the constant below; for every
/// event, for each of its four canonical words `w`:
/// `h = (rotl(h, 5) ^ w) * 0x517cc1b727220a95 (mod 2^64)`; the final hash is
/// the SplitMix64 finaliser of `h ^ event_count`. Fixed forever for a version;
/// never std's `DefaultHasher`, whose algorithm may change.
#[derive(Clone, Debug)]
pub struct TraceHasher {
    h: u64,
    events: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher { h: 0x6d73_6773_696d_2d31, events: 0 }
    }
}

impl TraceHasher {
    /// Fold one event into the hash, in the order the run produced it.
    #[inline(always)]
    pub fn add(&mut self, event: &TraceEvent) {
        for w in event.words() {
            self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        self.events += 1;
    }

    /// The hash of every event added so far; adding more later gives a new one.
    pub fn finish(&self) -> u64 {
        let mut z = self.h ^ self.events;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// How many events have been added.
    pub fn events(&self) -> u64 {
        self.events
    }
}

/// The trace hash as the summary prints it.
pub fn format_hash(hash: u64) -> String {
    format!("{hash:016x}")
}

/// Network totals for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MessageCounts {
    /// Transmissions processes put on a link (`send` lines), retransmissions included; what an
    /// adversary injects has `adv` lines instead and is not counted here.
    pub sent: u64,
    /// Copies handed to a process (duplicates count twice).
    pub delivered: u64,
    /// Copies discarded, by the network or the simulator; `drops` breaks them down.
    pub dropped: u64,
    /// Extra copies the links made.
    pub duplicated: u64,
    /// Copies the links damaged.
    pub corrupted: u64,
    /// `dropped`, by reason.
    pub drops: DropCounts,
}

/// Discarded messages, one count per `DropReason`; they sum to `MessageCounts::dropped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DropCounts {
    /// The link's loss probability struck.
    pub lost: u64,
    /// A partition separated sender and receiver.
    pub partitioned: u64,
    /// The topology has no link between the nodes.
    pub no_link: u64,
    /// The link's queue was full.
    pub queue_full: u64,
    /// The receiver was down.
    pub node_down: u64,
    /// The receiver's mailbox was full.
    pub mailbox_full: u64,
    /// A waiting message made room in a full mailbox.
    pub evicted: u64,
    /// A reply arrived after its call had ended.
    pub late: u64,
    /// A fragment was lost.
    pub fragment_lost: u64,
}

impl MessageCounts {
    /// Count one event: sends, receives, drops, duplicates and corruptions; others are ignored.
    #[inline(always)]
    pub fn count(&mut self, kind: &EventKind) {
        match kind {
            EventKind::Send { .. } => self.sent += 1,
            EventKind::Receive { .. } => self.delivered += 1,
            EventKind::Drop { reason, .. } => {
                self.dropped += 1;
                let slot = match reason {
                    DropReason::Lost => &mut self.drops.lost,
                    DropReason::Partitioned => &mut self.drops.partitioned,
                    DropReason::NoLink => &mut self.drops.no_link,
                    DropReason::QueueFull => &mut self.drops.queue_full,
                    DropReason::NodeDown => &mut self.drops.node_down,
                    DropReason::MailboxFull => &mut self.drops.mailbox_full,
                    DropReason::Evicted => &mut self.drops.evicted,
                    DropReason::Late => &mut self.drops.late,
                    DropReason::FragmentLost => &mut self.drops.fragment_lost,
                };
                *slot += 1;
            }
            EventKind::Duplicate { .. } => self.duplicated += 1,
            EventKind::Corrupt { .. } => self.corrupted += 1,
            _ => {}
        }
    }
}

/// One line of the text rendering; the book's "reading a trace" chapter is its legend.
pub fn render_line(event: &TraceEvent, cluster: &Cluster) -> String {
    let name = |n: NodeId| cluster.name(n);
    let mut line = format!("{:>14} ", event.time.to_string());
    let _ = match event.kind {
        EventKind::Command { node, app, dest } => {
            let to = match dest {
                Dest::Node(n) => name(n).to_string(),
                Dest::Group(g) => format!("group {}", cluster.groups.get(g.0 as usize).map_or("?", |g| g.0.as_str())),
                Dest::All => "all".to_string(),
            };
            write!(line, "{:<6} cmd     a{} -> {to}", name(node), app.0)
        }
        EventKind::CommandRefused { node, app } => write!(line, "{:<6} refuse  a{} (node down)", name(node), app.0),
        EventKind::Send { from, to, msg, size } => write!(line, "{:<6} send    m{} -> {} ({size} B)", name(from), msg.0, name(to)),
        EventKind::Drop { from, to, msg, reason } => write!(line, "{:<6} drop    m{} -> {} {reason:?}", name(from), msg.0, name(to)),
        EventKind::Duplicate { from, to, msg } => write!(line, "{:<6} dup     m{} -> {}", name(from), msg.0, name(to)),
        EventKind::Corrupt { from, to, msg } => write!(line, "{:<6} corrupt m{} -> {}", name(from), msg.0, name(to)),
        EventKind::Receive { from, to, msg, corrupted } => {
            let mark = if corrupted { " CORRUPTED" } else { "" };
            write!(line, "{:<6} recv    m{} <- {}{mark}", name(to), msg.0, name(from))
        }
        EventKind::Timer { node, timer } => write!(line, "{:<6} timer   t{}", name(node), timer.0),
        EventKind::Deliver { node, app, origin, damaged } => {
            let mark = if damaged { " DAMAGED" } else { "" };
            write!(line, "{:<6} deliver a{} from {}{mark}", name(node), app.0, name(origin))
        }
        EventKind::Attempt { node, to, series, attempt } => {
            write!(line, "{:<6} attempt s{series} #{attempt} -> {}", name(node), name(to))
        }
        EventKind::Ack { node, to, series } => write!(line, "{:<6} ack     s{series} -> {}", name(node), name(to)),
        EventKind::Answer { node, to, series, attempt } => {
            write!(line, "{:<6} answer  s{series} #{attempt} -> {}", name(node), name(to))
        }
        EventKind::AttemptFailed { node, to, series, attempt } => {
            write!(line, "{:<6} failed  s{series} #{attempt} -> {}", name(node), name(to))
        }
        EventKind::DeadLetter { node, to, app } => {
            write!(line, "{:<6} dead    a{} -> {} (attempts exhausted)", name(node), app.0, name(to))
        }
        EventKind::Call { node, app, outcome, latency_ns } => match outcome {
            CallOutcome::Admitted => write!(line, "{:<6} call    a{} Admitted", name(node), app.0),
            CallOutcome::Rejected => write!(line, "{:<6} call    a{} Rejected by the breaker", name(node), app.0),
            _ => write!(line, "{:<6} call    a{} {outcome:?} after {}", name(node), app.0, SimTime(latency_ns)),
        },
        EventKind::Breaker { node, from, to } => write!(line, "{:<6} breaker {from:?} -> {to:?}", name(node)),
        EventKind::Suspicion { node, of, suspected: true } => write!(line, "{:<6} suspect {}", name(node), name(of)),
        EventKind::Suspicion { node, of, suspected: false } => write!(line, "{:<6} suspect {} no more", name(node), name(of)),
        EventKind::View { node, view, members } => {
            write!(line, "{:<6} view    v{view} {{{}}}", name(node), member_names(members, cluster).join(", "))
        }
        EventKind::Adversary { action, from, to, msg } => {
            write!(line, "{:<6} adv     {action:?} m{} -> {}", name(from), msg.0, name(to))
        }
        EventKind::Block { node, on, reason, timeout } => {
            let until = if timeout { " (with a timeout)" } else { "" };
            write!(line, "{:<6} block   on {} {reason:?}{until}", name(node), name(on))
        }
        EventKind::Unblock { node, reason } => write!(line, "{:<6} unblock {reason:?}", name(node)),
        EventKind::CallTimeout { node, callee, msg } => {
            write!(line, "{:<6} timeout m{} -> {} (no answer; going on without it)", name(node), msg.0, name(callee))
        }
        EventKind::Deadlock { node, len, permanent } => {
            let kind = if permanent { "DEADLOCK" } else { "wait cycle (a timeout will break it)" };
            write!(line, "{:<6} {kind}: {len} processes wait on each other", name(node))
        }
        EventKind::Queued { from, to, msg, depth } => write!(line, "{:<6} queue   m{} <- {} (depth {depth})", name(to), msg.0, name(from)),
        EventKind::Served { node, msg } => write!(line, "{:<6} served  m{}", name(node), msg.0),
        EventKind::Op { node, op, server, outcome } => {
            let what = match outcome {
                OpOutcome::Invoke => "invoked",
                OpOutcome::Ok => "ok",
                OpOutcome::Timeout => "timed out",
            };
            write!(line, "{:<6} op      o{op} -> {} {what}", name(node), name(server))
        }
        EventKind::Fault { action, node, index } => {
            let who = node.map_or(String::new(), |n| format!(" {}", name(n)));
            write!(line, "{:<6} fault   {action:?}{who} (fault #{index})", "*")
        }
    };
    line
}

/// The names of the nodes a `View` event's membership word holds, in id order.
pub fn member_names(members: u64, cluster: &Cluster) -> Vec<&str> {
    (0..64u32).filter(|i| members >> i & 1 == 1).map(|i| cluster.names.get(i as usize).map_or("?", String::as_str)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(time: u64, msg: u64) -> TraceEvent {
        TraceEvent { time: SimTime(time), kind: EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), size: 64 } }
    }

    #[test]
    fn hash_depends_on_order_and_content() {
        let hash = |events: &[TraceEvent]| {
            let mut h = TraceHasher::default();
            events.iter().for_each(|e| h.add(e));
            h.finish()
        };
        let a = hash(&[ev(1, 1), ev(2, 2)]);
        assert_eq!(a, hash(&[ev(1, 1), ev(2, 2)]));
        assert_ne!(a, hash(&[ev(2, 2), ev(1, 1)]));
        assert_ne!(a, hash(&[ev(1, 1), ev(2, 3)]));
        assert_ne!(a, hash(&[ev(1, 1)]));
    }

    /// Pins the algorithm: if this changes, every published trace hash changes.
    #[test]
    fn hash_golden_value() {
        let mut h = TraceHasher::default();
        h.add(&ev(1_000_000, 0));
        assert_eq!(format_hash(h.finish()), "45366badc69bd277");
    }
}

//! `NoDeadlock`: no set of blocked processes waits on each other with no timeout to break the cycle.
//!
//! The check keeps its own wait-for graph from the trace: a `block` line adds
//! the process's wait, an `unblock` line or the process's crash removes it. A
//! wait that closes a cycle in which no wait can time out is a deadlock: only
//! a crash could end it. A cycle with a timeout in it is a wait cycle that the
//! timeout breaks; it is reported in the detail but does not fail the check.
//!
//! A wait stops depending on the one waited on when that one does its part, not when
//! the notice of it arrives: a synchronous send when the receiver takes the message
//! (the `recv` of the `send` just before the `block`), a back-pressure wait when the
//! mailbox's owner takes or loses a message that held room in it, which goes to the
//! sender that has waited longest. From then the wait is *settled*: it points at the
//! network and closes no cycle. A call's wait stays on the callee until its `unblock`:
//! the trace does not say which of the callee's sends is the answer.

use super::{Checker, RunEnd, Verdict};
use crate::id::{MsgId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{AdversaryAction, BlockReason, EventKind, FaultAction, TraceEvent};
use crate::waits::{Wait, WaitCycle, WaitGraph};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The `NoDeadlock` check: no blocked processes wait on each other in a cycle that no
/// timeout can break, judged on a wait-for graph rebuilt from `block` and `unblock` lines.
pub struct NoDeadlock {
    cluster: Cluster,
    graph: WaitGraph,
    waits: u64,
    broken_cycles: u64,
    /// The first deadlock: when it formed and its cycle.
    first: Option<(SimTime, WaitCycle)>,
    /// Each node's latest send: the message a synchronous send's `block` waits on.
    last_send: Vec<Option<MsgId>>,
    /// Synchronously sent messages not taken yet, and their blocked senders.
    sync_pending: BTreeMap<MsgId, NodeId>,
    /// Sent messages neither taken nor dropped yet: each holds room in its receiver's
    /// mailbox if that has back-pressure (one without has no room waiters to hand it to).
    untaken: BTreeSet<MsgId>,
    /// Per mailbox owner, the senders waiting for room in it, longest-waiting first.
    room_waiters: Vec<VecDeque<NodeId>>,
}

impl NoDeadlock {
    /// A `NoDeadlock` check for `cluster`, no process waiting.
    pub fn new(cluster: Cluster) -> NoDeadlock {
        let n = cluster.len();
        NoDeadlock {
            cluster,
            graph: WaitGraph::new(n),
            waits: 0,
            broken_cycles: 0,
            first: None,
            last_send: vec![None; n],
            sync_pending: BTreeMap::new(),
            untaken: BTreeSet::new(),
            room_waiters: vec![VecDeque::new(); n],
        }
    }

    /// `to` took or lost `msg`: a synchronous sender waiting for it, or the longest
    /// waiter for room in `to`'s mailbox, no longer waits on `to`.
    fn gone(&mut self, to: NodeId, msg: MsgId) {
        if let Some(sender) = self.sync_pending.remove(&msg)
            && self.graph.wait_of(sender).is_some_and(|w| w.reason == BlockReason::SyncSend && w.on == to)
        {
            self.graph.settle(sender);
        }
        if !self.untaken.remove(&msg) {
            return;
        }
        while let Some(waiter) = self.room_waiters[to.index()].pop_front() {
            // A waiter that crashed since is not waiting here.
            if self.graph.wait_of(waiter).is_some_and(|w| w.reason == BlockReason::BackPressure && w.on == to && !w.settled) {
                self.graph.settle(waiter);
                return;
            }
        }
    }
}

/// "n0 waits on n1 (SyncSend since 0 s), n1 waits on n0 (...)": the first eight members, and how
/// many more there are.
pub fn describe_cycle(cycle: &WaitCycle, cluster: &Cluster) -> String {
    let wait = |(node, w): &(crate::id::NodeId, Wait)| {
        let timeout = if w.timeout { ", with a timeout" } else { "" };
        format!("{} waits on {} ({:?} since {}{timeout})", cluster.name(*node), cluster.name(w.on), w.reason, w.since)
    };
    // A few and how many more: a ring of 3,000 blocked senders made lines of 139 KB.
    const SHOWN: usize = 8;
    let shown = cycle.members.iter().take(SHOWN).map(wait).collect::<Vec<_>>().join(", ");
    match cycle.members.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown}, and {more} more ({} processes in all)", cycle.members.len()),
    }
}

impl Checker for NoDeadlock {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.sync_pending), b::set(&self.untaken)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Send { from, msg, .. } => {
                self.last_send[from.index()] = Some(msg);
                self.untaken.insert(msg);
            }
            EventKind::Receive { to, msg, .. } | EventKind::Drop { to, msg, .. } => self.gone(to, msg),
            EventKind::Adversary { action: AdversaryAction::Drop, to, msg, .. } => self.gone(to, msg),
            EventKind::Block { node, on, reason, timeout } => {
                self.waits += 1;
                match reason {
                    BlockReason::SyncSend => {
                        if let Some(msg) = self.last_send[node.index()] {
                            self.sync_pending.insert(msg, node);
                        }
                    }
                    BlockReason::BackPressure => self.room_waiters[on.index()].push_back(node),
                    BlockReason::Call => {}
                }
                self.graph.block(node, Wait { on, reason, since: e.time, timeout, settled: false });
                if let Some(cycle) = self.graph.cycle_through(node) {
                    match cycle.permanent() {
                        true if self.first.is_none() => self.first = Some((e.time, cycle)),
                        true => {}
                        false => self.broken_cycles += 1,
                    }
                }
            }
            EventKind::Unblock { node, .. } | EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.graph.release(node);
            }
            _ => {}
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        if let Some((at, cycle)) = &self.first {
            return Verdict::fail(format!("deadlock at {at}: {}", describe_cycle(cycle, &self.cluster)));
        }
        if self.waits == 0 {
            return Verdict::inconclusive("no process ever blocked: nothing to judge");
        }
        Verdict::pass(format!("{} waits, no deadlock ({} wait cycles, each broken by a timeout)", self.waits, self.broken_cycles))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{EndReason, Outcome};
    use crate::id::NodeId;
    use crate::trace::{BlockReason, UnblockReason};

    fn block(t: u64, node: u32, on: u32, timeout: bool) -> TraceEvent {
        TraceEvent {
            time: SimTime(t),
            kind: EventKind::Block { node: NodeId(node), on: NodeId(on), reason: BlockReason::SyncSend, timeout },
        }
    }

    fn unblock(t: u64, node: u32) -> TraceEvent {
        TraceEvent { time: SimTime(t), kind: EventKind::Unblock { node: NodeId(node), reason: UnblockReason::Taken } }
    }

    fn judge(events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into(), "n2".into()], groups: Vec::new() };
        let mut c = NoDeadlock::new(cluster);
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(100), max_latency_ns: 0 })
    }

    #[test]
    fn a_cycle_without_timeouts_fails_and_names_it() {
        let v = judge(&[block(1, 0, 1, false), block(2, 1, 2, false), block(3, 2, 0, false)]);
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("n2 waits on n0"), "{}", v.detail);
    }

    #[test]
    fn released_waits_and_timeouts_pass() {
        let v = judge(&[block(1, 0, 1, false), unblock(2, 0), block(3, 1, 0, false)]);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        let v = judge(&[block(1, 0, 1, true), block(2, 1, 0, false)]);
        assert_eq!(v.outcome, Outcome::Pass, "a timeout breaks the cycle: {}", v.detail);
        assert!(v.detail.contains("1 wait cycles"), "{}", v.detail);
    }

    #[test]
    fn nothing_blocked_is_inconclusive() {
        assert_eq!(judge(&[]).outcome, Outcome::Inconclusive);
    }
}

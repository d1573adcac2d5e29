//! Happens-before from the trace: a vector clock for every process event, derived from ground truth.
//!
//! The simulator records which send each receive belongs to (by message id),
//! so vector clocks follow from the trace alone and need not be kept in the
//! event loop, where they would cost O(nodes) per message on every run. A
//! `CausalTracker` consumes events in trace order, so a checker can track
//! causality online and an export can annotate a recorded trace.

use crate::id::{MsgId, NodeId};
use crate::trace::{EventKind, TraceEvent};
use std::collections::BTreeMap;

/// A vector clock: entry i counts the events of node i that happened before (or are) this one.
pub type VectorClock = Vec<u32>;

/// The node at which an event happens, if it is an event of a process.
///
/// Network events (drop, duplicate, corrupt), refused commands and scripted
/// faults happen to a process, not in it, and get no clock of their own.
pub fn process_of(kind: &EventKind) -> Option<NodeId> {
    match *kind {
        EventKind::Command { node, .. }
        | EventKind::Timer { node, .. }
        | EventKind::Deliver { node, .. }
        | EventKind::DeadLetter { node, .. }
        | EventKind::Call { node, .. }
        | EventKind::AttemptFailed { node, .. }
        | EventKind::Breaker { node, .. }
        | EventKind::Suspicion { node, .. }
        | EventKind::View { node, .. }
        | EventKind::CallTimeout { node, .. } => Some(node),
        EventKind::Send { from, .. } => Some(from),
        EventKind::Receive { to, .. } => Some(to),
        EventKind::CommandRefused { .. }
        // Annotations of the send that follows them, which carries the clock.
        | EventKind::Attempt { .. }
        | EventKind::Answer { .. }
        | EventKind::Ack { .. }
        | EventKind::Drop { .. }
        | EventKind::Duplicate { .. }
        | EventKind::Corrupt { .. }
        | EventKind::Adversary { .. }
        // The transport's doing: its notices are not messages in the trace, so a wait ended by
        // one (a rendezvous's "taken") is not tracked as happening after what sent it.
        | EventKind::Block { .. }
        | EventKind::Unblock { .. }
        | EventKind::Deadlock { .. }
        | EventKind::Queued { .. }
        | EventKind::Served { .. }
        | EventKind::Op { .. }
        | EventKind::Fault { .. } => None,
    }
}

/// Incremental vector clocks over a trace.
pub struct CausalTracker {
    clocks: Vec<VectorClock>,
    /// The sender's clock at each send, kept until every copy has arrived or been dropped.
    in_flight: BTreeMap<MsgId, (VectorClock, u32)>,
}

impl CausalTracker {
    /// A tracker for `nodes` nodes, every clock at zero and nothing in flight.
    pub fn new(nodes: usize) -> CausalTracker {
        CausalTracker { clocks: vec![vec![0; nodes]; nodes], in_flight: BTreeMap::new() }
    }

    /// Advance by one event (in trace order); the event's vector clock if it is a process event.
    pub fn observe(&mut self, event: &TraceEvent) -> Option<&VectorClock> {
        match event.kind {
            EventKind::Duplicate { msg, .. } => {
                if let Some(entry) = self.in_flight.get_mut(&msg) {
                    entry.1 += 1;
                }
            }
            EventKind::Drop { msg, .. } => self.copy_done(msg),
            EventKind::Receive { msg, to, .. } => {
                if let Some((sent, _)) = self.in_flight.get(&msg) {
                    for (mine, theirs) in self.clocks[to.index()].iter_mut().zip(sent) {
                        *mine = (*mine).max(*theirs);
                    }
                }
                self.copy_done(msg);
            }
            _ => {}
        }
        let node = process_of(&event.kind)?;
        let clock = &mut self.clocks[node.index()];
        clock[node.index()] += 1;
        if let EventKind::Send { msg, .. } = event.kind {
            self.in_flight.insert(msg, (clock.clone(), 1));
        }
        Some(&self.clocks[node.index()])
    }

    fn copy_done(&mut self, msg: MsgId) {
        if let Some(entry) = self.in_flight.get_mut(&msg) {
            entry.1 -= 1;
            if entry.1 == 0 {
                self.in_flight.remove(&msg);
            }
        }
    }
}

/// Whether the event with clock `a` happened before the one with clock `b`.
pub fn happened_before(a: &[u32], b: &[u32]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a != b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    fn ev(t: u64, kind: EventKind) -> TraceEvent {
        TraceEvent { time: SimTime(t), kind }
    }

    #[test]
    fn receive_follows_send_and_concurrent_events_are_unordered() {
        let (a, b, c) = (NodeId(0), NodeId(1), NodeId(2));
        let m = MsgId(0);
        let trace = [
            ev(0, EventKind::Send { from: a, to: b, msg: m, size: 1 }),
            ev(0, EventKind::Duplicate { from: a, to: b, msg: m }),
            ev(1, EventKind::Timer { node: c, timer: crate::id::TimerId(0) }),
            ev(2, EventKind::Receive { from: a, to: b, msg: m, corrupted: false }),
            ev(3, EventKind::Receive { from: a, to: b, msg: m, corrupted: false }),
        ];
        let mut t = CausalTracker::new(3);
        let clocks: Vec<Option<VectorClock>> = trace.iter().map(|e| t.observe(e).cloned()).collect();
        assert_eq!(clocks[0], Some(vec![1, 0, 0]));
        assert_eq!(clocks[1], None);
        assert_eq!(clocks[2], Some(vec![0, 0, 1]));
        assert_eq!(clocks[3], Some(vec![1, 1, 0]));
        // The duplicate's receive still sees the send: the clock was kept for both copies.
        assert_eq!(clocks[4], Some(vec![1, 2, 0]));
        assert!(t.in_flight.is_empty());
        let (send, timer, recv) = (clocks[0].as_ref().unwrap(), clocks[2].as_ref().unwrap(), clocks[3].as_ref().unwrap());
        assert!(happened_before(send, recv));
        assert!(!happened_before(send, timer) && !happened_before(timer, send));
    }
}

//! `MailboxOrder`: a process takes the messages waiting for it in its mailbox's order, highest
//! declared priority first and, within a priority, the oldest first.
//!
//! Judged from the `queued` lines (a copy waits), the `recv` lines (the process took a copy)
//! and the drops that take a waiting copy away (a full mailbox, an eviction, a crash). When a
//! process takes a copy that waited, no copy still waiting may outrank it. The priority of a
//! copy is its sender's, as the scenario declares it (the `Exchange` protocol's `priority`
//! map; every other protocol sends at priority 0), and counts only where the receiver has a
//! mailbox: a node without one holds what arrives in arrival order. Declared, not read from the
//! message, so a protocol that stamps the wrong priority is caught. With no copy ever waiting,
//! the verdict is inconclusive.

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::id::{MsgId, NodeId};
use crate::process::Cluster;
use crate::trace::{DropReason, EventKind, TraceEvent};
use std::collections::BTreeMap;

/// A copy waiting in a mailbox: its sender and its place in arrival order.
#[derive(Clone, Copy)]
struct Waiting {
    from: NodeId,
    arrival: u64,
}

/// Checks that every process takes what waits for it in priority, then arrival, order.
pub struct MailboxOrder {
    cluster: Cluster,
    /// The priority of each sender's messages, by node index.
    priority: Vec<u8>,
    /// Whether each node has a mailbox (which orders by priority) rather than a plain buffer.
    has_mailbox: Vec<bool>,
    /// Per receiver, the copies waiting for it, by message and arrival: a duplicated message
    /// may have several copies waiting at once.
    waiting: BTreeMap<NodeId, BTreeMap<(MsgId, u64), Waiting>>,
    arrivals: u64,
    taken: u64,
    breaches: Breaches,
}

impl MailboxOrder {
    /// A checker: `priority[i]` is the priority node i's messages carry, `has_mailbox[i]`
    /// whether node i has a mailbox.
    pub fn new(cluster: Cluster, priority: Vec<u8>, has_mailbox: Vec<bool>) -> MailboxOrder {
        MailboxOrder { cluster, priority, has_mailbox, waiting: BTreeMap::new(), arrivals: 0, taken: 0, breaches: Breaches::default() }
    }

    /// Where a copy from `from` stands at `to`: higher goes first, then lower arrival.
    fn rank(&self, to: NodeId, w: Waiting) -> (u8, std::cmp::Reverse<u64>) {
        let priority = if self.has_mailbox.get(to.index()).copied().unwrap_or(false) {
            self.priority.get(w.from.index()).copied().unwrap_or(0)
        } else {
            0
        };
        (priority, std::cmp::Reverse(w.arrival))
    }

    fn took(&mut self, at: crate::time::SimTime, to: NodeId, msg: MsgId) {
        let Some(queue) = self.waiting.get_mut(&to) else { return };
        // Of several waiting copies, the one that arrived first is taken (the mailbox keeps
        // arrival order within a sender's priority).
        let Some(&key) = queue.range((msg, 0)..=(msg, u64::MAX)).next().map(|(k, _)| k) else { return };
        let taken = queue.remove(&key).expect("just found");
        self.taken += 1;
        let queue = &self.waiting[&to];
        let mine = self.rank(to, taken);
        let ahead = queue.iter().map(|(&(id, _), &w)| (id, w, self.rank(to, w))).filter(|&(_, _, r)| r > mine).max_by_key(|&(_, _, r)| r);
        if let Some((id, w, (priority, _))) = ahead {
            let (cluster, my_priority) = (&self.cluster, mine.0);
            self.breaches.record(at, || {
                format!(
                    "{} took m{} from {} (priority {my_priority}) while m{} from {} (priority {priority}), which arrived {}, was waiting",
                    cluster.name(to),
                    msg.0,
                    cluster.name(taken.from),
                    id.0,
                    cluster.name(w.from),
                    if w.arrival < taken.arrival { "earlier" } else { "later" },
                )
            });
        }
    }
}

impl Checker for MailboxOrder {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.waiting), b::nested(self.waiting.values(), b::map)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Queued { from, to, msg, .. } => {
                self.arrivals += 1;
                self.waiting.entry(to).or_default().insert((msg, self.arrivals), Waiting { from, arrival: self.arrivals });
            }
            EventKind::Receive { to, msg, .. } => self.took(e.time, to, msg),
            // A copy dropped while it waited (full, evicted, its node crashed, or an answer too
            // late) leaves the queue without being taken.
            // A copy that waited leaves when it is evicted (the mailbox evicts the oldest of the
            // lowest priority, so of one message's copies the earliest), when it is taken and
            // found too late, or when its node goes down. An arrival refused by a full mailbox,
            // or lost on the way, never waited.
            EventKind::Drop { to, msg, reason: DropReason::Evicted | DropReason::Late | DropReason::NodeDown, .. } => {
                if let Some(queue) = self.waiting.get_mut(&to)
                    && let Some(&key) = queue.range((msg, 0)..=(msg, u64::MAX)).next().map(|(k, _)| k)
                {
                    queue.remove(&key);
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, _: &RunEnd) -> Verdict {
        if let Some(failed) = self.breaches.verdict("copies taken out of their mailbox's order") {
            return failed;
        }
        if self.arrivals == 0 {
            return Verdict::inconclusive("no message waited in a mailbox");
        }
        Verdict::pass(format!("{} copies waited, {} taken, each in priority and arrival order", self.arrivals, self.taken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::ev;
    use crate::check::{EndReason, RunEnd};
    use crate::time::SimTime;

    /// Senders n0 (priority 0) and n1 (priority 9); n2 receives, with a mailbox if `mailbox`.
    fn judge(mailbox: bool, events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into(), "n2".into()], groups: vec![] };
        let mut c = MailboxOrder::new(cluster, vec![0, 9, 0], vec![false, false, mailbox]);
        for e in events {
            c.observe(e);
        }
        c.verdict(&RunEnd { at: SimTime(1_000_000_000), reason: EndReason::Quiescent, max_latency_ns: 0 })
    }

    fn queued(ms: u64, from: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Queued { from: NodeId(from), to: NodeId(2), msg: MsgId(msg), depth: 1 })
    }

    fn take(ms: u64, from: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(from), to: NodeId(2), msg: MsgId(msg), corrupted: false })
    }

    #[test]
    fn the_higher_priority_is_taken_first_then_the_oldest() {
        let events = [queued(1, 0, 0), queued(2, 0, 1), queued(3, 1, 2), take(4, 1, 2), take(5, 0, 0), take(6, 0, 1)];
        assert_eq!(judge(true, &events).outcome, Outcome::Pass);
    }

    #[test]
    fn a_lower_priority_taken_before_a_waiting_higher_one_fails() {
        let events = [queued(1, 0, 0), queued(3, 1, 2), take(4, 0, 0), take(5, 1, 2)];
        let v = judge(true, &events);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("priority 9"), "{}", v.detail);
    }

    #[test]
    fn a_newer_copy_of_one_priority_taken_before_an_older_fails() {
        let events = [queued(1, 0, 0), queued(2, 0, 1), take(4, 0, 1), take(5, 0, 0)];
        assert_eq!(judge(true, &events).outcome, Outcome::Fail);
    }

    #[test]
    fn without_a_mailbox_arrival_order_is_the_whole_order() {
        // A plain buffer ignores priorities: the older low-priority copy goes first.
        let events = [queued(1, 0, 0), queued(3, 1, 2), take(4, 0, 0), take(5, 1, 2)];
        assert_eq!(judge(false, &events).outcome, Outcome::Pass);
        let events = [queued(1, 0, 0), queued(3, 1, 2), take(4, 1, 2), take(5, 0, 0)];
        assert_eq!(judge(false, &events).outcome, Outcome::Fail);
    }

    #[test]
    fn a_dropped_copy_no_longer_waits() {
        let drop = ev(3, EventKind::Drop { from: NodeId(1), to: NodeId(2), msg: MsgId(2), reason: crate::trace::DropReason::Evicted });
        let events = [queued(1, 0, 0), queued(2, 1, 2), drop, take(4, 0, 0)];
        assert_eq!(judge(true, &events).outcome, Outcome::Pass);
    }

    /// Postmortem: waiting copies were keyed by message alone, so a duplicate's second copy
    /// overwrote the first's arrival, and taking the first copy was reported as overtaking a
    /// message that arrived between them (exchange calls over duplicating links).
    #[test]
    fn regression_two_waiting_copies_of_one_message_keep_their_own_arrivals() {
        let events = [queued(1, 0, 57), queued(2, 0, 59), queued(3, 0, 57), take(4, 0, 57), take(5, 0, 59), take(6, 0, 57)];
        let v = judge(true, &events);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        // Taking the message that arrived second before either copy of the first still fails.
        let events = [queued(1, 0, 57), queued(2, 0, 59), queued(3, 0, 57), take(4, 0, 59)];
        assert_eq!(judge(true, &events).outcome, Outcome::Fail);
    }

    /// Postmortem: of two waiting copies the check dropped the later when the mailbox evicted
    /// the earlier (`DropOldest`), and then took a correct hand-over for an overtaking one.
    #[test]
    fn regression_an_evicted_copy_is_the_oldest_of_its_message() {
        let evict = |ms, msg| ev(ms, EventKind::Drop { from: NodeId(0), to: NodeId(2), msg: MsgId(msg), reason: DropReason::Evicted });
        let events = [queued(1, 0, 4), queued(2, 0, 0), queued(3, 0, 4), evict(4, 4), take(5, 0, 0), take(6, 0, 4)];
        let v = judge(true, &events);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        // A refused arrival never waited: the copy that did still waits.
        let refused = ev(3, EventKind::Drop { from: NodeId(0), to: NodeId(2), msg: MsgId(4), reason: DropReason::MailboxFull });
        let events = [queued(1, 0, 4), queued(2, 0, 0), refused, take(5, 0, 0)];
        assert_eq!(judge(true, &events).outcome, Outcome::Fail, "m4 waited longer than m0");
    }

    #[test]
    fn with_nothing_waiting_nothing_is_judged() {
        assert_eq!(judge(true, &[take(1, 0, 0)]).outcome, Outcome::Inconclusive);
    }
}

//! `ExactlyOnceTaken`: a work queue keeps the visibility-timeout contract: every task is
//! acknowledged, and handed out again only after its visibility expired without one.
//!
//! A task is a commanded application message; a hand-out is a copy of it the broker sent a
//! consumer, seen when the consumer takes it (its `recv` followed by its `deliver`); the
//! hand-out's time is that copy's `send`. A consumer acknowledges its tasks in the order it
//! took them (each takes the same work), each with its next send to the broker, which counts if the broker received it within the visibility timeout of
//! the hand-out (a later one may be ignored: the task is already someone else's) and
//! arrived intact. Then:
//! - a hand-out less than the visibility after the task's previous one fails at once, as
//!   does a hand-out after the task was acknowledged in time;
//! - a consumer holds one task at a time (a prefetch of one): a hand-out to a consumer whose
//!   previous hand-out was neither acknowledged to the broker nor past its visibility fails;
//! - a task never acknowledged in time fails if the run ended with nothing left to happen
//!   (no retransmission or redelivery could still come); at the horizon it is inconclusive.
//!
//! So a consumer's crash and a lost hand-out, which the visibility timeout recovers from,
//! pass; a visibility shorter than the work, where every acknowledgement comes too late and
//! tasks go round the consumers, fails. Without a visibility (another protocol), any second
//! taking fails: the task was meant to be taken once.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, MsgId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, VecDeque};

/// One hand-out of a task: to whom, when the broker sent it, and from which broker.
#[derive(Clone, Copy, Debug)]
struct Handout {
    consumer: NodeId,
    sent: SimTime,
    broker: NodeId,
    /// The message that carried it, when the consumer took it from one.
    msg: Option<MsgId>,
}

#[derive(Default)]
struct Task {
    handouts: Vec<Handout>,
    /// When the broker first had an acknowledgement, and from whom.
    acked: Option<(SimTime, NodeId)>,
    /// The first acknowledgement that came within the visibility of its hand-out.
    acked_in_time: Option<(SimTime, NodeId)>,
}

/// The `ExactlyOnceTaken` check: a work queue acknowledges every task and hands one out again
/// only after its visibility expired without an acknowledgement in time.
pub struct ExactlyOnceTaken {
    cluster: Cluster,
    visibility_ns: Option<u64>,
    tasks: BTreeMap<AppId, Task>,
    /// When each message in flight was sent.
    sent_at: BTreeMap<MsgId, SimTime>,
    /// Each node's latest receipt, which its next `deliver` takes.
    last_receipt: Vec<Option<(MsgId, NodeId)>>,
    /// Each consumer's tasks taken and not yet acknowledged, oldest first, and the hand-outs
    /// they came in.
    working: Vec<VecDeque<(AppId, usize)>>,
    /// Acknowledgements on the way to the broker: the task and hand-out they acknowledge.
    acks: BTreeMap<MsgId, (AppId, usize)>,
    first_violation: Option<String>,
    taken_by: Vec<u64>,
    /// Each consumer's latest hand-out seen: when the broker sent it, its task, and when the
    /// broker received an acknowledgement of that task from the consumer, if it has.
    holding: Vec<Option<(SimTime, AppId, Option<SimTime>)>>,
    /// When the broker last received an acknowledgement of each task from each consumer: a
    /// consumer takes a hand-out after the broker sent it, so an ack may free it before the
    /// check has seen the hand-out it frees.
    acked_by: BTreeMap<(NodeId, AppId), SimTime>,
}

impl ExactlyOnceTaken {
    /// A check for `cluster`; `visibility_ns` is the work queue's visibility timeout in
    /// nanoseconds, or `None` under another protocol, where any second taking of a task fails.
    pub fn new(cluster: Cluster, visibility_ns: Option<u64>) -> ExactlyOnceTaken {
        let n = cluster.len();
        ExactlyOnceTaken {
            cluster,
            visibility_ns,
            tasks: BTreeMap::new(),
            sent_at: BTreeMap::new(),
            last_receipt: vec![None; n],
            working: vec![VecDeque::new(); n],
            acks: BTreeMap::new(),
            first_violation: None,
            taken_by: vec![0; n],
            holding: vec![None; n],
            acked_by: BTreeMap::new(),
        }
    }

    fn violation(&mut self, what: impl FnOnce(&Cluster) -> String) {
        if self.first_violation.is_none() {
            self.first_violation = Some(what(&self.cluster));
        }
    }

    /// The prefetch of one: `node` took `app`, handed out at `sent`, while it may still hold
    /// the task the broker handed it before.
    fn one_at_a_time(&mut self, node: NodeId, app: AppId, sent: SimTime) {
        let held = self.holding[node.index()];
        // A hand-out sent before the one the consumer holds was overtaken on the way: the one
        // held is still the broker's latest, and there is nothing to judge.
        if held.is_some_and(|(held_since, _, _)| sent <= held_since) {
            return;
        }
        let released = self.acked_by.get(&(node, app)).copied().filter(|&at| at >= sent);
        self.holding[node.index()] = Some((sent, app, released));
        if let (Some((held_since, _, None)), Some(visibility)) = (held, self.visibility_ns)
            && sent.0 < held_since.0.saturating_add(visibility)
        {
            self.violation(|c| {
                format!(
                    "task a{} handed to {} at {sent} while it still held the task handed to it at {held_since} (not acknowledged, visibility not expired): more than one task at a time",
                    app.0,
                    c.name(node)
                )
            });
        }
    }

    /// `node` took `app` at `now`.
    fn take(&mut self, now: SimTime, node: NodeId, app: AppId) {
        self.taken_by[node.index()] += 1;
        let (sent, broker, msg) = match self.last_receipt[node.index()] {
            Some((msg, from)) => (self.sent_at.get(&msg).copied().unwrap_or(now), from, Some(msg)),
            None => (now, node, None),
        };
        let Some(task) = self.tasks.get_mut(&app) else { return };
        // A copy of a hand-out already taken (the network duplicated it) is that hand-out, not
        // another one: the broker sent it once. The consumer works on it again, and its next
        // send to the broker may be the answer the broker takes.
        if let Some(index) = task.handouts.iter().position(|h| h.consumer == node && msg.is_some() && h.msg == msg) {
            self.working[node.index()].push_back((app, index));
            return;
        }
        let handout = Handout { consumer: node, sent, broker, msg };
        let previous = task.handouts.last().copied();
        let acked = task.acked_in_time;
        task.handouts.push(handout);
        let index = task.handouts.len() - 1;
        self.working[node.index()].push_back((app, index));
        self.one_at_a_time(node, app, sent);
        let Some(prev) = previous else { return };
        let Some(visibility) = self.visibility_ns else {
            return self.violation(|c| {
                format!("task a{} taken twice: by {} at {} and by {} at {now}", app.0, c.name(prev.consumer), prev.sent, c.name(node))
            });
        };
        if let Some((at, by)) = acked {
            return self.violation(|c| {
                format!("task a{} handed to {} at {sent} after {} acknowledged it (received at {at})", app.0, c.name(node), c.name(by))
            });
        }
        // Copies may be taken in another order than they were sent, so the two hand-outs are
        // judged by how far apart they were sent, whichever came first.
        let apart = sent.0.abs_diff(prev.sent.0);
        if apart < visibility {
            self.violation(|c| {
                format!(
                    "task a{} handed to {} at {sent}, {} from its hand-out to {} at {}: within the visibility ({})",
                    app.0,
                    c.name(node),
                    SimTime(apart),
                    c.name(prev.consumer),
                    prev.sent,
                    SimTime(visibility)
                )
            });
        }
    }
}

impl Checker for ExactlyOnceTaken {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.tasks),
            b::nested(self.tasks.values(), |t| b::vec(&t.handouts)),
            b::map(&self.sent_at),
            b::nested(&self.working, b::deque),
            b::map(&self.acks),
            b::map(&self.acked_by),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { app, .. } => {
                self.tasks.insert(app, Task::default());
            }
            EventKind::Send { from, to, msg, .. } => {
                self.sent_at.insert(msg, e.time);
                // A consumer's next send to the broker acknowledges the task it works on.
                if let Some(&(app, index)) = self.working[from.index()].front()
                    && self.tasks.get(&app).is_some_and(|t| t.handouts[index].broker == to)
                {
                    self.working[from.index()].pop_front();
                    self.acks.insert(msg, (app, index));
                }
            }
            EventKind::Receive { from, to, msg, corrupted } => {
                self.last_receipt[to.index()] = Some((msg, from));
                // A damaged acknowledgement is no acknowledgement; an intact duplicate may follow.
                if corrupted {
                    return;
                }
                if let Some((app, index)) = self.acks.remove(&msg) {
                    let visibility = self.visibility_ns.unwrap_or(u64::MAX);
                    let task = self.tasks.get_mut(&app).expect("a commanded task");
                    let h = task.handouts[index];
                    task.acked.get_or_insert((e.time, h.consumer));
                    self.acked_by.insert((h.consumer, app), e.time);
                    // The broker frees the consumer with an acknowledgement of the task it holds,
                    // whichever hand-out of that task the consumer acknowledges.
                    if let Some((_, held, released)) = &mut self.holding[h.consumer.index()]
                        && *held == app
                    {
                        released.get_or_insert(e.time);
                    }
                    if task.acked_in_time.is_none() && e.time.0 <= h.sent.0.saturating_add(visibility) {
                        task.acked_in_time = Some((e.time, h.consumer));
                    }
                }
            }
            EventKind::Deliver { node, app, .. } => self.take(e.time, node, app),
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.working[node.index()].clear();
                self.last_receipt[node.index()] = None;
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let name = |n: NodeId| self.cluster.name(n);
        if let Some(first) = &self.first_violation {
            return Verdict::fail(first.clone());
        }
        if self.tasks.is_empty() {
            return Verdict::inconclusive("no task was put on the queue: nothing to judge");
        }
        let done = |t: &Task| match self.visibility_ns {
            Some(_) => t.acked.is_some(),
            None => !t.handouts.is_empty(),
        };
        let open: Vec<(&AppId, &Task)> = self.tasks.iter().filter(|(_, t)| !done(t)).collect();
        if let Some((first, task)) = open.first() {
            let what = match self.visibility_ns {
                Some(_) => format!(
                    "{} of {} tasks never acknowledged; first: a{}, taken {} times",
                    open.len(),
                    self.tasks.len(),
                    first.0,
                    task.handouts.len()
                ),
                None => format!("{} of {} tasks never taken; first: a{}", open.len(), self.tasks.len(), first.0),
            };
            return match end.reason {
                EndReason::Quiescent => Verdict::fail(what),
                _ => Verdict::inconclusive(format!("{what}, and the run stopped before they could be")),
            };
        }
        let again: usize = self.tasks.values().map(|t| t.handouts.len().saturating_sub(1)).sum();
        let share: Vec<String> =
            self.taken_by.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| format!("{} {c}", name(NodeId(i as u32)))).collect();
        let what = match self.visibility_ns {
            Some(_) => format!("all {} tasks acknowledged, {again} handed out again after their visibility expired", self.tasks.len()),
            None => format!("all {} tasks taken exactly once", self.tasks.len()),
        };
        Verdict::pass(format!("{what} ({})", share.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::ev;
    use crate::process::Dest;

    /// The verdict on `events` of broker n0, consumer n1 and producer n2 with a visibility of
    /// 10 ms, the run ending at 1 s for `reason`.
    fn observed(events: &[TraceEvent], reason: EndReason) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into(), "n2".into()], groups: vec![] };
        let mut c = ExactlyOnceTaken::new(cluster, Some(10_000_000));
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&RunEnd { at: SimTime(1_000_000_000), reason, max_latency_ns: 0 })
    }

    /// Broker n0, consumer n1, producer n2; visibility 10 ms. Tasks a0 and a1 are queued at
    /// 0 ms; a0 is handed to n1 at 1 ms; a1 at `second_ms`, after n1's ack of a0 reached the
    /// broker at `ack_ms` (if any).
    fn judge(ack_ms: Option<u64>, second_ms: u64) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into(), "n2".into()], groups: vec![] };
        let mut c = ExactlyOnceTaken::new(cluster, Some(10_000_000));
        let (b, n1, p) = (NodeId(0), NodeId(1), NodeId(2));
        let send = |ms, from, to, msg| ev(ms, EventKind::Send { from, to, msg: MsgId(msg), size: 24 });
        let recv = |ms, from, to, msg| ev(ms, EventKind::Receive { from, to, msg: MsgId(msg), corrupted: false });
        let take = |ms, app| ev(ms, EventKind::Deliver { node: n1, app: AppId(app), origin: p, damaged: false });
        let mut events = vec![
            ev(0, EventKind::Command { node: p, app: AppId(0), dest: Dest::Node(b) }),
            ev(0, EventKind::Command { node: p, app: AppId(1), dest: Dest::Node(b) }),
            send(1, b, n1, 10),
            recv(1, b, n1, 10),
            take(1, 0),
        ];
        if let Some(at) = ack_ms {
            events.extend([send(at - 1, n1, b, 11), recv(at, n1, b, 11)]);
        }
        events.extend([send(second_ms, b, n1, 12), recv(second_ms, b, n1, 12), take(second_ms, 1)]);
        events.sort_by_key(|e| e.time);
        for e in &events {
            c.observe(e);
        }
        c.verdict(&RunEnd { at: SimTime(1_000_000_000), reason: EndReason::Horizon, max_latency_ns: 0 })
    }

    #[test]
    fn a_consumer_gets_its_next_task_once_it_acknowledged_or_its_visibility_passed() {
        // Inconclusive, not failed: a1 is never acknowledged, and the run stopped at its horizon.
        assert_ne!(judge(Some(5), 5).outcome, Outcome::Fail, "after the ack");
        assert_ne!(judge(None, 11).outcome, Outcome::Fail, "after the visibility");
    }

    // Postmortem: a hand-out overtaken on the way (taken after one the broker sent later) made
    // the check subtract a later send time from an earlier one and panic, and counted as a
    // re-hand-out before the visibility expired; hand-outs are now judged by how far apart
    // they were sent.
    #[test]
    fn regression_hand_outs_taken_out_of_order_neither_panic_nor_fail() {
        let (b, n1, p) = (NodeId(0), NodeId(1), NodeId(2));
        let events = [
            ev(0, EventKind::Command { node: p, app: AppId(0), dest: Dest::Node(b) }),
            ev(1, EventKind::Send { from: b, to: n1, msg: MsgId(10), size: 24 }),
            ev(30, EventKind::Send { from: b, to: n1, msg: MsgId(12), size: 24 }),
            ev(31, EventKind::Receive { from: b, to: n1, msg: MsgId(12), corrupted: false }),
            ev(31, EventKind::Deliver { node: n1, app: AppId(0), origin: p, damaged: false }),
            ev(32, EventKind::Receive { from: b, to: n1, msg: MsgId(10), corrupted: false }),
            ev(32, EventKind::Deliver { node: n1, app: AppId(0), origin: p, damaged: false }),
        ];
        let v = observed(&events, EndReason::Horizon);
        assert_ne!(v.outcome, Outcome::Fail, "{}", v.detail);
    }

    /// Postmortem: a hand-out the network duplicated was taken twice and counted as a second
    /// hand-out within the visibility (every seed of a correct queue over duplicating links).
    #[test]
    fn regression_a_duplicated_hand_out_is_one_hand_out() {
        let (b, n1, p) = (NodeId(0), NodeId(1), NodeId(2));
        let events = [
            ev(0, EventKind::Command { node: p, app: AppId(0), dest: Dest::Node(b) }),
            ev(1, EventKind::Send { from: b, to: n1, msg: MsgId(10), size: 24 }),
            ev(2, EventKind::Receive { from: b, to: n1, msg: MsgId(10), corrupted: false }),
            ev(2, EventKind::Deliver { node: n1, app: AppId(0), origin: p, damaged: false }),
            ev(3, EventKind::Receive { from: b, to: n1, msg: MsgId(10), corrupted: false }),
            ev(3, EventKind::Deliver { node: n1, app: AppId(0), origin: p, damaged: false }),
            ev(6, EventKind::Send { from: n1, to: b, msg: MsgId(11), size: 24 }),
            ev(7, EventKind::Receive { from: n1, to: b, msg: MsgId(11), corrupted: false }),
        ];
        let v = observed(&events, EndReason::Quiescent);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
    }

    #[test]
    fn a_second_task_while_the_first_is_held_fails() {
        let v = judge(None, 5);
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("more than one task at a time"), "{}", v.detail);
        assert_eq!(judge(Some(8), 5).outcome, Outcome::Fail, "the ack came after the second hand-out");
    }
}

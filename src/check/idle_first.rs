//! A durable queue hands each task to the consumer idle longest: a hand-out to a consumer while another has certainly been idle longer fails.
//!
//! Part of `HandoutVisibility`, read from the same trace. The broker keeps its idle consumers
//! in a line: all of them from its start (and from each restart, a fresh process) in the order
//! the protocol lists them; a consumer joins the back when the broker takes its answer (done or
//! failed) about the task it holds, or when that hand-out's visibility expires; a hand-out (the
//! broker's `attempt` line, to the consumer) takes it off the line. A consumer's place is
//! judged only where the trace dates it for certain: the start or a restart, or the broker's
//! intact receipt, within the hand-out's visibility, of the consumer's first message after it
//! took that hand-out, when it then worked on no other copy (so that message is its answer
//! about it). Not dated, so not judged against: a consumer that had taken a copy of the task
//! before (a late answer about that copy may free it sooner), one that produces too (its own
//! sends are not answers), one that crashed while holding the hand-out, or one whose answer
//! came late or not at all (its expiry's step is not told apart from others at that instant).
//! A broker crash forgets the line. Once the broker waited on a send (a consumer's mailbox full
//! under back-pressure), a hand-out's send may come after other events, where it is not told
//! apart as a hand-out, so no place is judged from then on.

use crate::id::{AppId, MsgId, NodeId};
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// A place in the broker's line of idle consumers: (time, position in the trace).
type Place = (SimTime, u64);

/// How far the end of a visibility may stray from its computed real time (a drifting clock's
/// conversion rounds): an answer received that close to it is not dated.
const EXPIRY_SLACK_NS: u64 = 1_000;

/// A consumer's current hand-out, as the broker holds it.
#[derive(Clone, Copy)]
struct Held {
    /// When the broker sent it.
    at: SimTime,
    app: AppId,
    /// Whether the consumer has taken it.
    taken: bool,
    /// Whether the consumer's first message after taking it is surely its answer about it.
    datable: bool,
    /// Whether that first message has been sent.
    answered: bool,
}

/// Follows a `DurableQueue` run for the idle-longest-first clause.
pub(crate) struct IdleFirst {
    broker: NodeId,
    /// The consumers, in the order the protocol lists them (a fresh broker's line).
    consumers: Vec<NodeId>,
    /// The visibility in real time on the broker's clock.
    visibility_real: u64,
    /// Events seen: each event's position in the trace.
    seen: u64,
    /// Each consumer's place in the line, where the trace dates it; absent: holding a task, or
    /// idle since an instant the trace does not tell.
    place: BTreeMap<NodeId, Place>,
    /// Each consumer's hand-out held at the broker whose end is still to be dated.
    held: BTreeMap<NodeId, Held>,
    /// The consumer the broker's next send in this step hands a task to.
    sending: Option<(SimTime, NodeId)>,
    /// Hand-out messages: to whom, and the task.
    handout_msgs: BTreeMap<MsgId, (NodeId, AppId)>,
    /// Every (consumer, task) of which the consumer took a copy.
    took: BTreeSet<(NodeId, AppId)>,
    /// Per consumer, the copies it took and has not answered yet.
    outstanding: BTreeMap<NodeId, u32>,
    /// Consumers' messages to the broker sent after the sender took the hand-out it holds: the
    /// sender, that hand-out's time, and whether the message is surely the answer about it.
    after_take: BTreeMap<MsgId, (NodeId, SimTime, bool)>,
    producers: BTreeSet<NodeId>,
    /// The first hand-out out of line: (when, to whom, its place, who was idle longer and since).
    first: Option<(SimTime, NodeId, SimTime, NodeId, SimTime)>,
    /// Whether the broker has waited on a send (see the module's documentation).
    blocked: bool,
}

impl IdleFirst {
    pub(crate) fn new(broker: NodeId, consumers: Vec<NodeId>, visibility_real: u64) -> IdleFirst {
        let place = consumers.iter().enumerate().map(|(i, &c)| (c, (SimTime(0), i as u64))).collect();
        IdleFirst {
            broker,
            seen: consumers.len() as u64,
            consumers,
            visibility_real,
            place,
            held: BTreeMap::new(),
            sending: None,
            handout_msgs: BTreeMap::new(),
            took: BTreeSet::new(),
            outstanding: BTreeMap::new(),
            after_take: BTreeMap::new(),
            producers: BTreeSet::new(),
            first: None,
            blocked: false,
        }
    }

    /// The broker hands `app` to `consumer` at `at`: no consumer may have been idle longer.
    fn handed_out(&mut self, consumer: NodeId, app: AppId, at: SimTime) {
        if let Some(&mine) = self.place.get(&consumer) {
            let longer = self.place.iter().filter(|&(&c, &p)| c != consumer && p < mine).min_by_key(|&(_, &p)| p);
            if let (Some((&other, &(since, _))), None, false) = (longer, self.first, self.blocked) {
                self.first = Some((at, consumer, mine.0, other, since));
            }
        }
        self.place.remove(&consumer);
        let datable = !self.took.contains(&(consumer, app)) && !self.producers.contains(&consumer);
        self.held.insert(consumer, Held { at, app, taken: false, datable, answered: false });
    }

    pub(crate) fn observe(&mut self, e: &TraceEvent) {
        self.seen += 1;
        let sending = self.sending.take();
        match e.kind {
            EventKind::Block { node, .. } if node == self.broker => self.blocked = true,
            EventKind::Command { node, .. } => {
                self.producers.insert(node);
                if let Some(h) = self.held.get_mut(&node) {
                    h.datable = false;
                }
            }
            EventKind::Attempt { node, to, series, .. } if node == self.broker && self.consumers.contains(&to) => {
                self.handed_out(to, AppId(series), e.time);
                self.sending = Some((e.time, to));
            }
            EventKind::Send { from, msg, .. } if from == self.broker => {
                if let Some((at, consumer)) = sending
                    && at == e.time
                    && let Some(h) = self.held.get(&consumer)
                {
                    self.handout_msgs.insert(msg, (consumer, h.app));
                }
            }
            EventKind::Send { from, to, msg, .. } if to == self.broker => {
                if let Some(n) = self.outstanding.get_mut(&from) {
                    *n = n.saturating_sub(1);
                }
                if let Some(h) = self.held.get_mut(&from).filter(|h| h.taken) {
                    self.after_take.insert(msg, (from, h.at, h.datable && !h.answered));
                    h.answered = true;
                }
            }
            EventKind::Receive { from, to, msg, corrupted } => {
                let handout = self.handout_msgs.get(&msg).copied();
                let answer = self.after_take.remove(&msg);
                if corrupted {
                    return;
                }
                if let Some((consumer, app)) = handout.filter(|&(c, _)| c == to) {
                    let outstanding = self.outstanding.entry(to).or_default();
                    let busy = *outstanding > 0;
                    *outstanding += 1;
                    self.took.insert((to, app));
                    if let Some(h) = self.held.get_mut(&consumer).filter(|h| h.app == app && !h.taken) {
                        h.taken = true;
                        h.datable &= !busy;
                    }
                }
                // The broker's first intact receipt of a message the consumer sent after taking
                // the hand-out it holds: the answer that frees it, if the trace says so.
                if let Some((consumer, at, surely)) = answer.filter(|&(c, _, _)| to == self.broker && c == from)
                    && self.held.get(&consumer).is_some_and(|h| h.at == at)
                {
                    self.held.remove(&consumer);
                    let within = e.time.0.saturating_add(EXPIRY_SLACK_NS) < at.0.saturating_add(self.visibility_real);
                    if surely && within {
                        self.place.insert(consumer, (e.time, self.seen));
                    }
                }
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } if node == self.broker => {
                self.place.clear();
                self.held.clear();
            }
            EventKind::Fault { action: FaultAction::Restart, node: Some(node), .. } if node == self.broker => {
                for (i, &c) in self.consumers.iter().enumerate() {
                    self.place.insert(c, (e.time, self.seen + i as u64));
                }
                self.seen += self.consumers.len() as u64;
            }
            // A crashed consumer forgets the copies it worked on: it answers none of them.
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.outstanding.remove(&node);
                if let Some(h) = self.held.get_mut(&node) {
                    h.datable = false;
                }
            }
            _ => {}
        }
    }

    /// The first hand-out that passed over a consumer idle longer: (when, to whom, idle since,
    /// the one passed over, idle since).
    pub(crate) fn first_out_of_line(&self) -> Option<(SimTime, NodeId, SimTime, NodeId, SimTime)> {
        self.first
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.place),
            b::map(&self.held),
            b::map(&self.handout_msgs),
            b::set(&self.took),
            b::map(&self.outstanding),
            b::map(&self.after_take),
            b::set(&self.producers),
        ])
    }
}

#[cfg(test)]
mod tests {
    use crate::check::test_events::ev;
    use crate::check::visibility::{HandoutVisibility, Visibility};
    use crate::check::{Checker, EndReason, Outcome, RunEnd, Verdict};
    use crate::clock::Clock;
    use crate::id::{AppId, MsgId, NodeId};
    use crate::process::Cluster;
    use crate::time::SimTime;
    use crate::trace::{EventKind, TraceEvent};

    /// Broker n0, consumers n1 then n2 (so listed), producer n3; visibility 30 ms.
    fn judge(events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: ["n0", "n1", "n2", "n3"].map(String::from).to_vec(), groups: vec![] };
        let spec = Visibility { broker: NodeId(0), visibility_ns: 30_000_000, write_ns: 2_000_000 };
        let mut checker = HandoutVisibility::new(cluster, Some(spec), Clock::default()).with_idle_order(vec![NodeId(1), NodeId(2)]);
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
    }

    /// The broker hands task `app` to `to` as message `msg` at `ms`.
    fn handout(ms: u64, app: u64, to: u32, msg: u64) -> [TraceEvent; 2] {
        [
            ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(to), series: app, attempt: 1 }),
            ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(to), msg: MsgId(msg), size: 16 }),
        ]
    }

    fn send(ms: u64, from: u32, to: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(to), msg: MsgId(msg), size: 16 })
    }

    fn recv(ms: u64, from: u32, to: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(from), to: NodeId(to), msg: MsgId(msg), corrupted: false })
    }

    fn processed(ms: u64, node: u32, app: u64) -> TraceEvent {
        ev(ms, EventKind::Deliver { node: NodeId(node), app: AppId(app), origin: NodeId(3), damaged: false })
    }

    /// a5 to n1 and a6 to n2, both taken; n2's answer reaches the broker at 6 ms, n1's at `n1_ms`
    /// (none if `None`); then a7 goes to `next` at 20 ms (40 ms, past n1's visibility, if n1
    /// never answered).
    fn after_answers(n1_ms: Option<u64>, next: u32) -> Verdict {
        let mut events = [&handout(1, 5, 1, 1)[..], &handout(2, 6, 2, 2)[..]].concat();
        events.extend([recv(2, 0, 1, 1), recv(3, 0, 2, 2), processed(5, 2, 6), send(5, 2, 0, 10), recv(6, 2, 0, 10)]);
        if let Some(ms) = n1_ms {
            events.extend([processed(ms - 1, 1, 5), send(ms - 1, 1, 0, 11), recv(ms, 1, 0, 11)]);
        }
        events.extend(handout(if n1_ms.is_some() { 20 } else { 40 }, 7, next, 3));
        events.sort_by_key(|e| e.time);
        judge(&events)
    }

    // Postmortem: a durable queue's broker that handed each task to the consumer idle the
    // shortest (held-out set 14's dq-hands-to-newest-idle) passed every check: the
    // idle-longest-first order was judged under `WorkQueue` only.
    #[test]
    fn regression_a_durable_queue_hands_work_to_the_consumer_idle_longest() {
        // From the start, in the order the protocol lists them: n1 first.
        let first = |to| judge(&handout(1, 5, to, 1));
        assert_ne!(first(1).outcome, Outcome::Fail, "{}", first(1).detail);
        let v = first(2);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("went to n2 (idle since 0.000ms) while n1 had been idle since 0.000ms"), "{}", v.detail);
        // n2 answered first, at 6 ms, then n1 at 8 ms: n2 is first in line.
        assert_ne!(after_answers(Some(8), 2).outcome, Outcome::Fail, "{}", after_answers(Some(8), 2).detail);
        let v = after_answers(Some(8), 1);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("went to n1 (idle since 8.000ms) while n2 had been idle since 6.000ms"), "{}", v.detail);
        // n1's answer before n2's: n1 is first in line.
        assert_ne!(after_answers(Some(4), 1).outcome, Outcome::Fail, "{}", after_answers(Some(4), 1).detail);
        // n1 never answered: its place is not dated (its visibility may have expired), so a7
        // going to it is not judged.
        assert_ne!(after_answers(None, 1).outcome, Outcome::Fail, "{}", after_answers(None, 1).detail);
    }

    /// Postmortem (review): under a back-pressure mailbox the broker's hand-out send comes after
    /// its `block` line, not next to its `attempt` line, so the hand-out went untold and a late
    /// answer about it could date the consumer too early. After the broker waits on a send, no
    /// place is judged.
    #[test]
    fn regression_a_broker_waiting_on_a_send_is_not_judged_for_order() {
        let block =
            ev(0, EventKind::Block { node: NodeId(0), on: NodeId(2), reason: crate::trace::BlockReason::BackPressure, timeout: false });
        let events = [&[block][..], &handout(1, 5, 2, 1)[..]].concat();
        let v = judge(&events);
        assert_ne!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert_eq!(judge(&handout(1, 5, 2, 1)).outcome, Outcome::Fail, "without the wait, n1 was idle longer");
    }

    /// A restarted broker counts every consumer idle afresh, in the order listed, whoever was
    /// idle longer before the crash.
    #[test]
    fn a_restarted_broker_counts_its_consumers_idle_in_the_listed_order() {
        let fault = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(0)), index: 0 });
        let mut events = [&handout(1, 5, 1, 1)[..]].concat();
        events.extend([recv(2, 0, 1, 1), processed(5, 1, 5), send(5, 1, 0, 10), recv(6, 1, 0, 10)]);
        // n1 answered at 6 ms, after n2's start: n2 is idle longer, until the broker restarts.
        events.extend([fault(7, crate::trace::FaultAction::Crash), fault(8, crate::trace::FaultAction::Restart)]);
        events.extend(handout(8, 5, 1, 2));
        let v = judge(&events);
        assert_ne!(v.outcome, Outcome::Fail, "{}", v.detail);
    }
}

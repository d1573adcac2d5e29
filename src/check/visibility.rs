//! `HandoutVisibility`: a durable queue hands a task out again, or dead-letters it, only once its previous hand-out ended: answered by its consumer, past its visibility, or lost in a broker crash.
//!
//! Read from a `DurableQueue` run's trace: a hand-out is the broker's `attempt` line (the
//! series is the task) and the send in the same step; its consumer answers (processed or
//! failed) with a message the broker receives intact after the consumer received the
//! hand-out intact. A task's next hand-out, or its `dead` line, less than the visibility
//! (`visibility_ms` of the broker's clock) after a hand-out, with no answer from that
//! hand-out's consumer in between (about this hand-out or an earlier one of the task it took)
//! and no broker crash, fails: something other than the
//! consumer or the clock ended the hand-out (a stale visibility timer of an earlier hand-out,
//! a timer keyed on the wrong hand-out). And a task is never handed out again once the broker
//! took its acknowledgement (the consumer's send in the step of its `deliver`) from the consumer
//! holding it, within that hand-out's visibility and with no crash of the broker since, unless
//! the broker crashed before the record of it was surely on disk (twice `write_ms`, or any
//! time after its timers were held by a pause or a wait): a restarted broker that forgets what
//! its log says was done hands it out again. Answers are not named in the trace: any intact
//! message from a consumer that took a copy of a task (a duplicate answer, an answer to an
//! earlier hand-out of it) may end the task's current hand-out to that consumer.
//!
//! A consumer holds one task at a time (a prefetch of one): a hand-out to a consumer while the
//! one before it is live fails. That one ends with the consumer's answer about it (its
//! acknowledgement names the task; any other message it sent after taking the hand-out, or
//! any message at all if it had taken a copy of that task before, may be its answer), its
//! visibility, or a broker crash; a late answer about an older task does not end it.
//!
//! And a failed task goes back to the head of the queue: see `requeue` for what is judged; and
//! work goes to the consumer idle longest: see `idle_first`. Under
//! another protocol, or with no task handed out twice, the verdict is inconclusive.

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{AppId, MsgId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// The queue's broker, how long a hand-out stays invisible and how long a write to its disk
/// takes (ns of the broker's clock).
#[derive(Clone, Copy, Debug)]
pub struct Visibility {
    /// The broker.
    pub broker: NodeId,
    /// The visibility timeout, on the broker's clock.
    pub visibility_ns: u64,
    /// How long the broker's record of a change takes to reach its disk.
    pub write_ns: u64,
}

/// A task's latest hand-out as the trace shows it.
#[derive(Clone, Copy)]
struct Handout {
    consumer: NodeId,
    at: SimTime,
    /// When the consumer received it intact, if it did.
    taken: Option<SimTime>,
    /// Whether the broker has since received anything intact from the consumer after it took it.
    answered: bool,
}

/// A consumer's latest hand-out, as the prefetch of one judges it.
#[derive(Clone, Copy)]
struct Current {
    app: AppId,
    at: SimTime,
    /// Whether the consumer had taken a copy of this task before (any answer of it may end this one).
    took_before: bool,
    /// Whether the consumer has taken this hand-out.
    taken: bool,
    /// Whether the broker received the consumer's answer to it.
    freed: bool,
}

/// Checks that every re-hand-out and dead-lettering of a task follows the end of its previous hand-out.
pub struct HandoutVisibility {
    cluster: Cluster,
    spec: Option<Visibility>,
    /// The real length of the visibility on the broker's clock.
    visibility_real: u64,
    /// Twice the real length of a write on the broker's clock (allowing for drift).
    written_within: u64,
    /// The consumer whose step processed a task, so that its next send in the step is the acknowledgement.
    acking: Option<(NodeId, SimTime, AppId)>,
    /// Acknowledgements in flight to the broker: their task.
    acks: BTreeMap<MsgId, AppId>,
    /// When the broker took each task's acknowledgement from the consumer holding it.
    done: BTreeMap<AppId, SimTime>,
    /// When the broker crashed.
    broker_crashes: Vec<SimTime>,
    /// When the nodes' timers were held (paused, or waiting on a send): the broker's writes wait.
    held: super::Holds,
    /// Each task's latest hand-out.
    latest: BTreeMap<AppId, Handout>,
    /// The hand-out messages in flight: their task.
    in_flight: BTreeMap<MsgId, AppId>,
    /// Per consumer, the tasks it took a copy of whose latest hand-out is still to it and which
    /// are not done (so the list stays as short as what the consumer holds).
    taken: BTreeMap<NodeId, Vec<AppId>>,
    /// Every consumer and task of which it ever took a copy: when the task goes back to that
    /// consumer (after a hand-out elsewhere, or a dead letter a broker crash undid), a late copy
    /// of its earlier answer may end the new hand-out at the broker, so the task joins its
    /// `taken` list at once.
    took: BTreeSet<(NodeId, AppId)>,
    /// The task whose hand-out the broker's next send in this step carries.
    next: Option<(SimTime, AppId)>,
    /// When the broker last crashed.
    broker_crashed: Option<SimTime>,
    /// Each consumer's latest hand-out, for the prefetch of one.
    current: BTreeMap<NodeId, Current>,
    /// Consumers' messages to the broker sent after the sender took its current hand-out: that
    /// hand-out's task (such a message may be its answer).
    sent_holding: BTreeMap<MsgId, AppId>,
    again: u64,
    /// The clause that a failed task is handed out again before any task behind it.
    failed_first: Option<super::requeue::FailedFirst>,
    /// The clause that work goes to the consumer idle longest, once the consumers are known.
    idle_first: Option<super::idle_first::IdleFirst>,
    breaches: Breaches,
}

impl HandoutVisibility {
    /// A checker for a queue of `spec` (`None`: not a `DurableQueue` run) whose broker keeps `clock`.
    pub fn new(cluster: Cluster, spec: Option<Visibility>, clock: Clock) -> HandoutVisibility {
        HandoutVisibility {
            cluster,
            spec,
            visibility_real: spec.map_or(0, |s| clock.real_duration(s.visibility_ns)),
            written_within: spec.map_or(0, |s| clock.real_duration(s.write_ns).saturating_mul(2)),
            acking: None,
            acks: BTreeMap::new(),
            done: BTreeMap::new(),
            broker_crashes: Vec::new(),
            held: super::Holds::default(),
            latest: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            taken: BTreeMap::new(),
            took: BTreeSet::new(),
            next: None,
            broker_crashed: None,
            current: BTreeMap::new(),
            sent_holding: BTreeMap::new(),
            again: 0,
            failed_first: spec.map(|s| super::requeue::FailedFirst::new(s.broker, clock.real_duration(s.visibility_ns))),
            idle_first: None,
            breaches: Breaches::default(),
        }
    }

    /// Judges too that each hand-out goes to the consumer idle longest, `consumers` listed in
    /// the order a fresh broker counts them idle.
    pub fn with_idle_order(mut self, consumers: Vec<NodeId>) -> HandoutVisibility {
        self.idle_first = self.spec.map(|s| super::idle_first::IdleFirst::new(s.broker, consumers, self.visibility_real));
        self
    }

    /// A hand-out of `app` at `at` after the broker took its acknowledgement from the consumer
    /// holding it, with no crash of the broker before that was surely on its disk: the task was
    /// done, and a done task is never handed out again.
    fn handed_out_when_done(&mut self, app: AppId, at: SimTime) {
        let Some(&acked) = self.done.get(&app) else { return };
        let written = acked.saturating_add(self.written_within);
        // A crash before the record was surely written, or after a stretch in which the broker's
        // timers (the write's among them) were held, may have lost it.
        let broker = self.spec.map_or(NodeId(0), |s| s.broker);
        let held = |c: SimTime| self.held.within(broker, acked, c);
        if self.broker_crashes.iter().any(|&c| c >= acked && (c <= written || held(c))) {
            return;
        }
        self.breaches.record(at, || {
            format!("a{} handed out again after the broker took its acknowledgement from the consumer holding it at {acked}", app.0)
        });
    }

    /// The broker hands `app` to `consumer` at `at`: the consumer's hand-out before must have ended.
    fn one_at_a_time(&mut self, consumer: NodeId, app: AppId, at: SimTime) {
        let took_before = self.took.contains(&(consumer, app));
        let previous = self.current.insert(consumer, Current { app, at, took_before, taken: false, freed: false });
        let Some(p) = previous else { return };
        let live =
            p.app != app && !p.freed && at.0 < p.at.0.saturating_add(self.visibility_real) && self.broker_crashed.is_none_or(|c| c < p.at);
        if live {
            let name = self.cluster.name(consumer);
            self.breaches.record(at, || {
                format!(
                    "a{} handed to {name} while it held a{} (handed out at {}: not answered, visibility not passed): more than one task at a time",
                    app.0, p.app.0, p.at
                )
            });
        }
    }

    /// Task `app`'s hand-out in force ends at `at` (handed out again, or dead-lettered as `what`).
    fn ended(&mut self, app: AppId, at: SimTime, what: &str) {
        let Some(h) = self.latest.get(&app).copied() else { return };
        self.again += 1;
        let early = at.0 < h.at.0.saturating_add(self.visibility_real);
        let crashed = self.broker_crashed.is_some_and(|c| c >= h.at);
        if early && !h.answered && !crashed {
            let (cluster, gap) = (&self.cluster, SimTime(at.0 - h.at.0));
            let visibility = SimTime(self.visibility_real);
            self.breaches.record(at, || {
                format!(
                    "a{} {what} {gap} after its hand-out to {} at {}, within the visibility ({visibility}), with no answer from it",
                    app.0,
                    cluster.name(h.consumer),
                    h.at
                )
            });
        }
    }
}

impl Checker for HandoutVisibility {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            self.failed_first.as_ref().map_or(0, super::requeue::FailedFirst::heap_bytes),
            self.idle_first.as_ref().map_or(0, super::idle_first::IdleFirst::heap_bytes),
            b::map(&self.latest),
            b::map(&self.in_flight),
            b::map(&self.taken),
            b::nested(self.taken.values(), b::vec),
            b::set(&self.took),
            b::map(&self.acks),
            b::map(&self.done),
            b::vec(&self.broker_crashes),
            b::map(&self.current),
            b::map(&self.sent_holding),
            self.held.heap_bytes(),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        let Some(spec) = self.spec else { return };
        self.held.observe(e);
        if let Some(f) = &mut self.failed_first {
            f.observe(e);
        }
        if let Some(i) = &mut self.idle_first {
            i.observe(e);
        }
        let next = self.next.take();
        match e.kind {
            EventKind::Attempt { node, to, series, .. } if node == spec.broker => {
                let app = AppId(series);
                self.one_at_a_time(to, app, e.time);
                self.handed_out_when_done(app, e.time);
                self.ended(app, e.time, "handed out again");
                self.latest.insert(app, Handout { consumer: to, at: e.time, taken: None, answered: false });
                if self.took.contains(&(to, app)) {
                    let tasks = self.taken.entry(to).or_default();
                    if !tasks.contains(&app) {
                        tasks.push(app);
                    }
                }
                self.next = Some((e.time, app));
            }
            EventKind::Send { from, msg, .. } if from == spec.broker => {
                if let Some((at, app)) = next
                    && at == e.time
                {
                    self.in_flight.insert(msg, app);
                }
            }
            // A consumer acknowledges a task with its next send in the step that processed it.
            EventKind::Deliver { node, app, .. } if node != spec.broker => self.acking = Some((node, e.time, app)),
            EventKind::Send { from, to, msg, .. } => {
                if let Some((node, at, app)) = self.acking.take()
                    && node == from
                    && at == e.time
                    && to == spec.broker
                {
                    self.acks.insert(msg, app);
                }
                if to == spec.broker
                    && let Some(c) = self.current.get(&from).filter(|c| c.taken)
                {
                    self.sent_holding.insert(msg, c.app);
                }
            }
            EventKind::Receive { from, to, msg, corrupted } => {
                // Every copy of a hand-out counts (a duplicate is worked on, and answered, again).
                let app = self.in_flight.get(&msg).copied();
                let acked = self.acks.remove(&msg);
                if corrupted {
                    return;
                }
                // The broker takes an acknowledgement from the consumer holding the task, within
                // its visibility, in the incarnation that handed it out (a restarted broker
                // holds nothing out).
                let holding = |h: &Handout| {
                    h.consumer == from
                        && e.time.0 < h.at.0.saturating_add(self.visibility_real)
                        && self.broker_crashed.is_none_or(|c| c < h.at)
                };
                let done = acked.filter(|acked| to == spec.broker && self.latest.get(acked).is_some_and(holding));
                if let Some(done) = done {
                    self.done.entry(done).or_insert(e.time);
                }
                if let Some(app) = app {
                    self.took.insert((to, app));
                    if let Some(c) = self.current.get_mut(&to).filter(|c| c.app == app) {
                        c.taken = true;
                    }
                }
                // The consumer's answer about the hand-out it holds frees it for the next.
                let holding = self.sent_holding.remove(&msg);
                if to == spec.broker
                    && let Some(c) = self.current.get_mut(&from)
                {
                    let about_it = match acked {
                        Some(named) => named == c.app,
                        None => c.took_before || holding == Some(c.app),
                    };
                    c.freed |= about_it;
                }
                if let Some(app) = app
                    && let Some(h) = self.latest.get_mut(&app)
                    && h.consumer == to
                {
                    h.taken.get_or_insert(e.time);
                    let tasks = self.taken.entry(to).or_default();
                    if !tasks.contains(&app) {
                        tasks.push(app);
                    }
                }
                if to == spec.broker
                    && let Some(tasks) = self.taken.get_mut(&from)
                {
                    // Answers are not named: any message from `from` (a duplicate copy included,
                    // which the broker takes as one more answer) may end the current hand-out to
                    // it of any task it took a copy of, even a hand-out made after the answer was
                    // sent (a restarted broker, or a duplicate hand-out, giving it the task again).
                    let latest = &mut self.latest;
                    tasks.retain(|app| {
                        let Some(h) = latest.get_mut(app).filter(|h| h.consumer == from) else { return false };
                        h.answered = true;
                        // A task done is never handed out again: nothing more to answer for it.
                        done != Some(*app)
                    });
                }
            }
            EventKind::DeadLetter { app, .. } => {
                self.ended(app, e.time, "dead-lettered");
                self.latest.remove(&app);
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } if node == spec.broker => {
                self.broker_crashed = Some(e.time);
                self.broker_crashes.push(e.time);
            }
            _ => {}
        }
    }

    fn verdict(&self, _: &RunEnd) -> Verdict {
        if self.spec.is_none() {
            return Verdict::inconclusive("not a `DurableQueue` run: nothing to judge");
        }
        if let Some(failed) = self.breaches.verdict("hand-outs ended early") {
            return failed;
        }
        if let Some((waiting, failed, other, at)) = self.failed_first.as_ref().and_then(|f| f.first_overtaking(&self.held)) {
            return Verdict::fail(format!(
                "a{} failed at {failed} and went back to the head of the queue, yet a{} was handed out before it, at {at}",
                waiting.0, other.0
            ));
        }
        if let Some((at, to, since, other, other_since)) =
            self.idle_first.as_ref().and_then(super::idle_first::IdleFirst::first_out_of_line)
        {
            let name = |n| self.cluster.name(n);
            return Verdict::fail(format!(
                "a hand-out at {at} went to {} (idle since {since}) while {} had been idle since {other_since}: work goes to the consumer idle longest",
                name(to),
                name(other)
            ));
        }
        if self.again == 0 {
            return Verdict::inconclusive("no task was handed out again or dead-lettered: nothing to judge");
        }
        Verdict::pass(format!(
            "{} re-hand-outs and dead-letterings, each after its consumer answered, its visibility passed or the broker crashed",
            self.again
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::ev;
    use crate::check::{EndReason, Outcome};

    // Broker n0, consumers n1 and n2; visibility 30 ms. Task a5.
    fn judge(events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: ["n0", "n1", "n2"].map(String::from).to_vec(), groups: vec![] };
        let spec = Visibility { broker: NodeId(0), visibility_ns: 30_000_000, write_ns: 2_000_000 };
        let mut checker = HandoutVisibility::new(cluster, Some(spec), Clock::default());
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
    }

    /// The broker hands a5 to `to` as message `msg` at `ms`.
    fn handout(ms: u64, to: u32, msg: u64) -> [TraceEvent; 2] {
        [
            ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(to), series: 5, attempt: 1 }),
            ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(to), msg: MsgId(msg), size: 16 }),
        ]
    }

    fn recv(ms: u64, from: u32, to: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(from), to: NodeId(to), msg: MsgId(msg), corrupted: false })
    }

    /// The broker hands task `app` to `to` as message `msg` at `ms`.
    fn handout_of(ms: u64, app: u64, to: u32, msg: u64) -> [TraceEvent; 2] {
        [
            ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(to), series: app, attempt: 1 }),
            ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(to), msg: MsgId(msg), size: 16 }),
        ]
    }

    /// The broker hands delivery `attempt` of task `app` to `to` as message `msg` at `ms`.
    fn delivery(ms: u64, app: u64, attempt: u32, to: u32, msg: u64) -> [TraceEvent; 2] {
        [
            ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(to), series: app, attempt }),
            ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(to), msg: MsgId(msg), size: 16 }),
        ]
    }

    // Postmortem: a broker that put a failed task back at the tail of its queue, behind every
    // task queued since, passed every check (held-out set 12's dq-failed-task-requeued-at-tail):
    // nothing was lost or duplicated, and no check read the order of hand-outs after a failure.
    #[test]
    fn regression_a_failed_task_is_handed_out_before_those_behind_it() {
        let send = |ms, from: u32, msg| ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(0), msg: MsgId(msg), size: 16 });
        // n1 takes a5 at 1 ms and answers at 5 ms with no delivery (a failure), received at 6.
        let failed = [&delivery(0, 5, 1, 1, 1)[..], &[recv(1, 0, 1, 1), send(5, 1, 2), recv(6, 1, 0, 2)]].concat();
        // At the head again: a5's second delivery goes first, then a7.
        let head = [&failed[..], &delivery(6, 5, 2, 1, 3), &delivery(9, 7, 1, 2, 4)].concat();
        assert_ne!(judge(&head).outcome, Outcome::Fail, "{}", judge(&head).detail);
        // At the tail: a7, queued behind it, goes first.
        let tail = [&failed[..], &delivery(6, 7, 1, 1, 3), &delivery(9, 5, 2, 2, 4)].concat();
        let v = judge(&tail);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(
            v.detail.contains("a5 failed at 6.000ms and went back to the head of the queue, yet a7 was handed out before it, at 6.000ms"),
            "{}",
            v.detail
        );
        // Handed out before the failure was taken: not judged against it.
        let before = [
            &delivery(0, 5, 1, 1, 1)[..],
            &[recv(1, 0, 1, 1), send(5, 1, 2)],
            &delivery(5, 7, 1, 2, 3),
            &[recv(6, 1, 0, 2)],
            &delivery(6, 5, 2, 1, 4),
        ]
        .concat();
        assert_ne!(judge(&before).outcome, Outcome::Fail, "{}", judge(&before).detail);
        // No answer: the failure is dated by the visibility (30 ms); a7 at 20 ms came before it.
        let expired = [&delivery(0, 5, 1, 1, 1)[..], &[recv(1, 0, 1, 1)], &delivery(20, 7, 1, 2, 2), &delivery(30, 5, 2, 1, 3)].concat();
        assert_ne!(judge(&expired).outcome, Outcome::Fail, "{}", judge(&expired).detail);
        let overtaken = [&delivery(0, 5, 1, 1, 1)[..], &[recv(1, 0, 1, 1)], &delivery(31, 7, 1, 2, 2), &delivery(40, 5, 2, 1, 3)].concat();
        assert!(judge(&overtaken).detail.contains("a5 failed at 30.001ms and went back to the head"), "{}", judge(&overtaken).detail);
        // A task that failed later stacks above it: a6 failed at 8 ms goes first.
        let stacked = [
            &failed[..],
            &delivery(2, 6, 1, 2, 5),
            &[recv(3, 0, 2, 5), send(7, 2, 6), recv(8, 2, 0, 6)],
            &delivery(8, 6, 2, 1, 7),
            &delivery(9, 5, 2, 2, 8),
        ]
        .concat();
        assert_ne!(judge(&stacked).outcome, Outcome::Fail, "{}", judge(&stacked).detail);
    }

    // Postmortem: a late answer about a task whose hand-out had expired freed a consumer that
    // already held its next task, so it was handed a second (held-out set 10's
    // dq-late-answer-frees-busy-consumer); no check counted what a consumer holds.
    #[test]
    fn regression_a_consumer_holds_one_task_at_a_time() {
        let send = |ms, from: u32, msg| ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(0), msg: MsgId(msg), size: 16 });
        // n1 holds a6 (taken at 2 ms) when a7 comes at 10 ms: two at once.
        let two = [&handout_of(0, 6, 1, 1)[..], &[recv(2, 0, 1, 1)], &handout_of(10, 7, 1, 2)[..]].concat();
        let v = judge(&two);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("a7 handed to n1 while it held a6"), "{}", v.detail);
        // Its answer, sent after it took a6, frees it.
        let answered =
            [&handout_of(0, 6, 1, 1)[..], &[recv(2, 0, 1, 1), send(3, 1, 9), recv(4, 1, 0, 9)], &handout_of(10, 7, 1, 2)[..]].concat();
        assert_ne!(judge(&answered).outcome, Outcome::Fail, "{}", judge(&answered).detail);
        // A late answer sent before it took a6 (about an older task) does not.
        let late =
            [&handout_of(0, 6, 1, 1)[..], &[send(1, 1, 9), recv(2, 0, 1, 1), recv(4, 1, 0, 9)], &handout_of(10, 7, 1, 2)[..]].concat();
        assert_eq!(judge(&late).outcome, Outcome::Fail, "{}", judge(&late).detail);
        // After a6's visibility (30 ms) the consumer is free again.
        let expired = [&handout_of(0, 6, 1, 1)[..], &[recv(2, 0, 1, 1)], &handout_of(30, 7, 1, 2)[..]].concat();
        assert_ne!(judge(&expired).outcome, Outcome::Fail, "{}", judge(&expired).detail);
    }

    // Postmortem: a visibility timer of an earlier hand-out expired the task's current one, so a
    // poison task went round the consumers faster than its visibility, and no check looked.
    #[test]
    fn a_hand_out_ended_within_its_visibility_without_an_answer_fails() {
        // n1 takes a5 at 2 ms and reports at 7 ms; a5 goes to n2 at 8 ms: answered, fine.
        let answered = [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1), recv(7, 1, 0, 2)], &handout(8, 2, 3)[..]].concat();
        assert_eq!(judge(&answered).outcome, Outcome::Pass, "{}", judge(&answered).detail);
        // No answer, and handed out again at 20 ms: within the visibility.
        let early = [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1)], &handout(20, 2, 3)[..]].concat();
        let verdict = judge(&early);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("a5 handed out again 20.000ms after its hand-out to n1 at 0.000ms"), "{}", verdict.detail);
        // After the visibility: fine; dead-lettered early: not.
        let expired = [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1)], &handout(30, 2, 3)[..]].concat();
        assert_eq!(judge(&expired).outcome, Outcome::Pass);
        let dead = [&handout(0, 1, 1)[..], &[ev(10, EventKind::DeadLetter { node: NodeId(0), to: NodeId(1), app: AppId(5) })]].concat();
        assert_eq!(judge(&dead).outcome, Outcome::Fail);
        // An answer sent before n1 took the hand-out is not its answer; a broker crash excuses.
        let stale = [&handout(0, 1, 1)[..], &[recv(1, 1, 0, 9), recv(2, 0, 1, 1)], &handout(20, 2, 3)[..]].concat();
        assert_eq!(judge(&stale).outcome, Outcome::Fail);
        let crash = ev(5, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let crashed = [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1), crash], &handout(20, 2, 3)[..]].concat();
        assert_eq!(judge(&crashed).outcome, Outcome::Pass);
        assert_eq!(judge(&handout(0, 1, 1)).outcome, Outcome::Inconclusive);
        // A restarted broker hands a5 to n1 again; n1's answer to the hand-out before the crash ends it.
        let crash = ev(5, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let replayed =
            [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1), crash], &handout(10, 1, 2)[..], &[recv(11, 1, 0, 9)], &handout(12, 2, 3)[..]]
                .concat();
        assert_eq!(judge(&replayed).outcome, Outcome::Pass, "{}", judge(&replayed).detail);
    }

    // Postmortem: a restarted broker that did not drop the tasks its log recorded as done
    // handed finished tasks out again, and no check looked: duplicates are allowed after a crash.
    #[test]
    fn a_task_acknowledged_to_the_broker_is_never_handed_out_again() {
        let deliver = |ms, node: u32| ev(ms, EventKind::Deliver { node: NodeId(node), app: AppId(5), origin: NodeId(0), damaged: false });
        let ack = |ms| ev(ms, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(2), size: 8 });
        let crash = |ms| ev(ms, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let processed = [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1), deliver(6, 1), ack(6), recv(7, 1, 0, 2)]].concat();
        // The broker crashed 20 ms later, its record long written: handing a5 out again fails.
        let again = [&processed[..], &[crash(27)], &handout(40, 2, 3)[..]].concat();
        let verdict = judge(&again);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("a5 handed out again after the broker took its acknowledgement"), "{}", verdict.detail);
        // A crash within the write (7 to 11 ms) may have lost the record: handed out again, fine.
        let lost = [&processed[..], &[crash(9)], &handout(40, 2, 3)[..]].concat();
        assert_eq!(judge(&lost).outcome, Outcome::Pass, "{}", judge(&lost).detail);
        // An acknowledgement reaching a broker restarted since the hand-out finds nothing held out.
        let restarted =
            [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1), crash(4), deliver(6, 1), ack(6), recv(7, 1, 0, 2)], &handout(40, 2, 3)[..]]
                .concat();
        assert_eq!(judge(&restarted).outcome, Outcome::Pass, "{}", judge(&restarted).detail);
        // The broker waited on a send (its write timer held) before crashing: the record may be lost.
        let block =
            ev(8, EventKind::Block { node: NodeId(0), on: NodeId(2), reason: crate::trace::BlockReason::BackPressure, timeout: false });
        let held = [&processed[..], &[block, crash(27)], &handout(40, 2, 3)[..]].concat();
        assert_eq!(judge(&held).outcome, Outcome::Pass, "{}", judge(&held).detail);
    }

    // Postmortem: a duplicated hand-out (or answer) is answered twice; the second answer,
    // arriving after the task went back to the same consumer, ends that hand-out, and the check
    // had counted one answer per hand-out.
    #[test]
    fn every_copy_of_a_hand_out_owes_an_answer() {
        // n1 takes two copies of hand-out m1, answers the first at 7 ms (a5 back to n1 at 8 ms
        // as m3), and the second answer, at 9 ms, ends the new hand-out before n1 took it.
        let twice = [
            &handout(0, 1, 1)[..],
            &[recv(2, 0, 1, 1), recv(3, 0, 1, 1), recv(7, 1, 0, 2)],
            &handout(8, 1, 3)[..],
            &[recv(9, 1, 0, 4)],
            &handout(10, 1, 5)[..],
        ]
        .concat();
        assert_eq!(judge(&twice).outcome, Outcome::Pass, "{}", judge(&twice).detail);
        // A consumer that never took a copy of the task has no answer to give about it.
        let never = [
            &handout(0, 1, 1)[..],
            &[recv(2, 0, 1, 1), recv(7, 1, 0, 2)],
            &handout(8, 2, 3)[..],
            &[recv(9, 2, 0, 4)],
            &handout(10, 1, 5)[..],
        ]
        .concat();
        assert_eq!(judge(&never).outcome, Outcome::Fail, "{}", judge(&never).detail);
        // n1's one answer is duplicated on the way: the broker takes the second copy as an answer to
        // the hand-out it made on the first.
        let copied = [
            &handout(0, 1, 1)[..],
            &[recv(2, 0, 1, 1), recv(7, 1, 0, 2)],
            &handout(7, 1, 3)[..],
            &[recv(7, 1, 0, 2)],
            &handout(7, 1, 5)[..],
        ]
        .concat();
        assert_eq!(judge(&copied).outcome, Outcome::Pass, "{}", judge(&copied).detail);
    }

    // Postmortem: the check stopped following a task's copies once it was dead-lettered, so when
    // the broker crashed before the dead letter was written and, restarted, handed the task to
    // the same consumer, a late copy of that consumer's failure report (which the broker rightly
    // takes as ending the new hand-out) did not count, and the next hand-out was reported early.
    #[test]
    fn regression_a_dead_letter_undone_by_a_crash_keeps_its_answers() {
        let dead = ev(7, EventKind::DeadLetter { node: NodeId(0), to: NodeId(1), app: AppId(5) });
        let crash = ev(9, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        // n1 takes a5 and reports its failure (m2), duplicated on the way; a5 is dead-lettered at
        // 7 ms, a copy of m2 arrives at 8 ms, the broker crashes at 9 ms before the record is
        // written and, restarted, hands a5 to n1 again at 12 ms; the third copy of m2 ends that
        // hand-out, and a5 goes to n2.
        let undone = [
            &handout(0, 1, 1)[..],
            &[recv(2, 0, 1, 1), recv(7, 1, 0, 2), dead, recv(8, 1, 0, 2), crash],
            &handout(12, 1, 3)[..],
            &[recv(13, 1, 0, 2)],
            &handout(14, 2, 5)[..],
        ]
        .concat();
        assert_eq!(judge(&undone).outcome, Outcome::Pass, "{}", judge(&undone).detail);
        // With no word from n1 after the new hand-out, the early hand-out still fails.
        let silent =
            [&handout(0, 1, 1)[..], &[recv(2, 0, 1, 1), recv(7, 1, 0, 2), dead, crash], &handout(12, 1, 3)[..], &handout(14, 2, 5)[..]]
                .concat();
        assert_eq!(judge(&silent).outcome, Outcome::Fail, "{}", judge(&silent).detail);
        // A late copy of the dead-lettered hand-out, processed and acknowledged, does not make
        // the task done: handed out again (after a redrive) is fine.
        let deliver = ev(20, EventKind::Deliver { node: NodeId(1), app: AppId(5), origin: NodeId(0), damaged: false });
        let ack = ev(20, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(6), size: 8 });
        let redriven = [
            &handout(0, 1, 1)[..],
            &[recv(2, 0, 1, 1), recv(7, 1, 0, 2), dead, recv(15, 0, 1, 1), deliver, ack, recv(21, 1, 0, 6)],
            &handout(100, 2, 7)[..],
        ]
        .concat();
        assert_eq!(judge(&redriven).outcome, Outcome::Pass, "{}", judge(&redriven).detail);
    }

    // Postmortem: the same loss of track when a task went to another consumer and came back: a
    // late copy of the first consumer's answer to its first hand-out ends the hand-out back to
    // it at the broker, and the check, which had dropped the task from that consumer's list,
    // reported the next hand-out early.
    #[test]
    fn regression_a_task_back_with_its_first_consumer_keeps_its_late_answers() {
        // n1 takes a5 (m1) and answers (m2) at 7 ms; a5 expired to n2 at 30 ms (m3), n1 sends
        // again at 31 ms (another copy of m2), a5 expires back to n1 at 60 ms (m4), and a last
        // copy of m2 ends that at 61 ms: a5 goes to n2 at 62 ms.
        let back = [
            &handout(0, 1, 1)[..],
            &[recv(2, 0, 1, 1)],
            &handout(30, 2, 3)[..],
            &[recv(31, 1, 0, 2), recv(32, 0, 2, 3)],
            &handout(60, 1, 4)[..],
            &[recv(61, 1, 0, 2)],
            &handout(62, 2, 5)[..],
        ]
        .concat();
        assert_eq!(judge(&back).outcome, Outcome::Pass, "{}", judge(&back).detail);
        // n1 never took a copy of a5: its message does not end the hand-out back to it.
        let never = [
            &handout(0, 1, 1)[..],
            &handout(30, 2, 3)[..],
            &[recv(31, 1, 0, 2), recv(32, 0, 2, 3)],
            &handout(60, 1, 4)[..],
            &[recv(61, 1, 0, 2)],
            &handout(62, 2, 5)[..],
        ]
        .concat();
        assert_eq!(judge(&never).outcome, Outcome::Fail, "{}", judge(&never).detail);
    }
}

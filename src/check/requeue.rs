//! A durable queue's failed task goes back to the head of its queue: from its failure until it is handed out again, the broker hands out no task that waited behind it.
//!
//! Part of `HandoutVisibility`, read from the same trace. A task's delivery failed when its
//! next hand-out's `attempt` number is one more than the last (the broker numbers a task's
//! deliveries by its failures). Where the trace tells when it failed, the stretch from then to
//! its next hand-out is judged: either the broker took its consumer's failure answer (the
//! first message the consumer sent after taking that hand-out in a step with no `deliver`,
//! received intact before the visibility ended), or its visibility ended (the hand-out's time
//! plus the visibility, on the broker's clock). Any other hand-out in that stretch must be of
//! a task that failed later still (failures stack at the head, the latest first). Not judged:
//! a stretch with a broker crash (recovery rebuilds the queue from the log) or with the
//! broker's timers held (its visibility timers fire late), a consumer that is also a producer
//! (its own sends are not answers), or one that took a copy of the task before (an answer
//! about the earlier copy may end this hand-out).

use crate::id::{AppId, MsgId, NodeId};
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// How far the end of a visibility may stray from its computed real time (a drifting clock's
/// conversion rounds): hand-outs that close after it are not judged against it.
const EXPIRY_SLACK_NS: u64 = 1_000;

/// A place in the trace: (time, position).
type Place = (SimTime, u64);

/// One hand-out: its place in the trace, the task and its delivery number, and the consumer.
#[derive(Clone, Copy)]
struct Handout {
    /// (time, position in the trace).
    at: (SimTime, u64),
    app: AppId,
    attempt: u32,
    consumer: NodeId,
    /// The consumer had taken a copy of this task before this hand-out.
    took_before: bool,
    /// The consumer still worked on another copy when it took this one, so its next message
    /// may answer that copy: only the visibility dates this hand-out's failure.
    busy_when_taken: bool,
}

/// Follows a `DurableQueue` run for the failed-first clause.
pub(crate) struct FailedFirst {
    broker: NodeId,
    /// The visibility in real time on the broker's clock.
    visibility_real: u64,
    /// Events seen: each event's position in the trace.
    seen: u64,
    handouts: Vec<Handout>,
    /// The broker's hand-out whose send comes next in this step.
    sending: Option<(SimTime, usize)>,
    /// Hand-out messages in flight: which hand-out.
    in_flight: BTreeMap<MsgId, usize>,
    /// Per consumer, the hand-out it took last, until it sends its answer.
    holding: BTreeMap<NodeId, usize>,
    /// Per consumer, the copies it took and has not answered yet.
    outstanding: BTreeMap<NodeId, u32>,
    /// Every (consumer, task) of which the consumer took a copy.
    took: BTreeSet<(NodeId, AppId)>,
    /// The consumer that delivered in the current step: its send in it is an acknowledgement.
    delivering: Option<(NodeId, SimTime)>,
    /// Consumers' messages without a delivery, in flight to the broker: the hand-out held.
    answers: BTreeMap<MsgId, usize>,
    /// Per hand-out, when the broker first took a failure answer about it: (time, position).
    failed_answer: BTreeMap<usize, (SimTime, u64)>,
    producers: BTreeSet<NodeId>,
    broker_crashes: Vec<SimTime>,
}

impl FailedFirst {
    pub(crate) fn new(broker: NodeId, visibility_real: u64) -> FailedFirst {
        FailedFirst {
            broker,
            visibility_real,
            seen: 0,
            handouts: Vec::new(),
            sending: None,
            in_flight: BTreeMap::new(),
            holding: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            took: BTreeSet::new(),
            delivering: None,
            answers: BTreeMap::new(),
            failed_answer: BTreeMap::new(),
            producers: BTreeSet::new(),
            broker_crashes: Vec::new(),
        }
    }

    pub(crate) fn observe(&mut self, e: &TraceEvent) {
        self.seen += 1;
        let sending = self.sending.take();
        match e.kind {
            EventKind::Command { node, .. } => {
                self.producers.insert(node);
            }
            EventKind::Attempt { node, to, series, attempt } if node == self.broker => {
                let app = AppId(series);
                let took_before = self.took.contains(&(to, app));
                self.handouts.push(Handout { at: (e.time, self.seen), app, attempt, consumer: to, took_before, busy_when_taken: false });
                self.sending = Some((e.time, self.handouts.len() - 1));
            }
            EventKind::Send { from, msg, .. } if from == self.broker => {
                if let Some((at, handout)) = sending
                    && at == e.time
                {
                    self.in_flight.insert(msg, handout);
                }
            }
            EventKind::Deliver { node, .. } if node != self.broker => self.delivering = Some((node, e.time)),
            EventKind::Send { from, to, msg, .. } if to == self.broker => {
                let acknowledging = self.delivering.take().is_some_and(|(node, at)| node == from && at == e.time);
                if let Some(handout) = self.holding.remove(&from)
                    && !acknowledging
                {
                    self.answers.insert(msg, handout);
                }
                if let Some(n) = self.outstanding.get_mut(&from) {
                    *n = n.saturating_sub(1);
                }
            }
            EventKind::Receive { to, msg, corrupted, .. } => {
                let handout = self.in_flight.get(&msg).copied();
                let answer = self.answers.remove(&msg);
                if corrupted {
                    return;
                }
                if let Some(handout) = handout.filter(|&h| self.handouts[h].consumer == to) {
                    let outstanding = self.outstanding.entry(to).or_default();
                    self.handouts[handout].busy_when_taken |= *outstanding > 0;
                    *outstanding += 1;
                    self.holding.insert(to, handout);
                    self.took.insert((to, self.handouts[handout].app));
                }
                if let Some(handout) = answer.filter(|_| to == self.broker) {
                    self.failed_answer.entry(handout).or_insert((e.time, self.seen));
                }
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } if node == self.broker => {
                self.broker_crashes.push(e.time);
            }
            // A crashed consumer forgets the copies it worked on: it answers none of them.
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.outstanding.remove(&node);
                self.holding.remove(&node);
            }
            _ => {}
        }
    }

    /// When the delivery of hand-out `h` failed, if the trace tells: no sooner than the first
    /// and no later than the second (time, position), a position of `u64::MAX` standing for
    /// the end of that instant.
    fn failed_at(&self, h: usize, next: usize, holds: &super::Holds) -> Option<(Place, Place)> {
        let (first, again) = (&self.handouts[h], &self.handouts[next]);
        let (from, to) = (first.at.0, again.at.0);
        if first.took_before || self.producers.contains(&first.consumer) {
            return None;
        }
        if self.broker_crashes.iter().any(|&c| from <= c && c <= to) || holds.within(self.broker, from, to) {
            return None;
        }
        // The visibility timer fails the hand-out at its end at the latest, so dating the
        // failure there never judges a hand-out made before it; an answer dates it sooner.
        let expiry = SimTime(from.0.saturating_add(self.visibility_real));
        match self.failed_answer.get(&h) {
            Some(&(at, position)) if at < expiry && !first.busy_when_taken => Some(((at, position), (at, position))),
            _ => Some((first.at, (SimTime(expiry.0.saturating_add(EXPIRY_SLACK_NS)), u64::MAX))),
        }
    }

    /// The first hand-out made while a failed task waited at the head: (the failed task, when it
    /// failed, the task handed out instead and when).
    pub(crate) fn first_overtaking(&self, holds: &super::Holds) -> Option<(AppId, SimTime, AppId, SimTime)> {
        // Each failure the trace dates: (when, hand-out that failed, its next hand-out).
        let mut latest: BTreeMap<AppId, usize> = BTreeMap::new();
        let mut failures: Vec<((Place, Place), usize)> = Vec::new();
        // Every hand-out after a failure, with the failure's dates if the trace tells them.
        let mut failure_of: BTreeMap<usize, Option<(Place, Place)>> = BTreeMap::new();
        for (i, h) in self.handouts.iter().enumerate() {
            if let Some(prev) = latest.insert(h.app, i)
                && self.handouts[prev].attempt.checked_add(1) == Some(h.attempt)
            {
                let at = self.failed_at(prev, i, holds);
                failure_of.insert(i, at);
                if let Some(at) = at {
                    failures.push((at, i));
                }
            }
        }
        for &((failed_from, failed), again) in &failures {
            let waiting = self.handouts[again].app;
            let overtaker = self.handouts[..again].iter().enumerate().rev().take_while(|(_, h)| h.at > failed).find(|&(j, h)| {
                // A task that failed later stacked above it (or may have: its failure undated,
                // or not surely before this one's); any other jumped the queue.
                h.app != waiting
                    && match failure_of.get(&j) {
                        None => true,
                        Some(None) => false,
                        Some(Some((_, other_by))) => *other_by <= failed_from,
                    }
            });
            if let Some((_, h)) = overtaker {
                return Some((waiting, failed.0, h.app, h.at.0));
            }
        }
        None
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::vec(&self.handouts),
            b::map(&self.in_flight),
            b::map(&self.holding),
            b::map(&self.outstanding),
            b::set(&self.took),
            b::map(&self.answers),
            b::map(&self.failed_answer),
            b::set(&self.producers),
            b::vec(&self.broker_crashes),
        ])
    }
}

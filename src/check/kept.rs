//! `NoAckedPublicationLoss`: what a durable publish/subscribe broker promises once it has acknowledged a publication: to deliver it to every subscriber it had confirmed, and which stayed subscribed, whatever crashed meanwhile.
//!
//! Read from the trace of a `DurablePubSub` run: a publication is a workload command to a
//! group (its topic), made at time t; it is acknowledged when its publisher records the
//! broker's acknowledgement (its `call` line with outcome `ok`). Subscription i (the i-th of
//! the protocol's configuration) is confirmed by the broker's first `ack` line for series i
//! to its subscriber. An acknowledged publication is **owed** to a subscriber when a
//! subscription of it to the topic was confirmed before t (the broker had recorded it before
//! the publication could reach it) and does not end before the run does (the subscriber
//! stayed subscribed); the publisher itself is owed nothing. It is judged when the run ended
//! with nothing left to happen: an owed publication never delivered then is lost for good. At
//! the horizon a missing one is not judged (it may still come). Under another protocol the
//! lines mean something else: inconclusive.
//!
//! Once the run ended with nothing left to happen, every publication of a publisher that did
//! not crash, pause or wait on a send since it published is acknowledged: a publisher sends again until the broker
//! keeps it, so one never acknowledged was given up on. Likewise every subscription with an
//! end whose subscriber is up then has had its end confirmed (the end's `ack`): its end was
//! due (nothing was left to happen, its timer included), and a subscriber asks until the
//! broker confirms, also when it was down at the end and restarted after it; a subscription
//! never ended goes on drawing publications the subscriber no longer wants.
//!
//! Two deliveries are **forbidden**, whatever crashed, and fail at once: a publication reaching
//! its own publisher (the broker forwards to every subscriber but the publisher), and one
//! published after the broker confirmed the end of the node's subscription to its topic
//! (the end's `ack`, series i with bit 32 set), unless another subscription of that node to
//! that topic was confirmed by the delivery and not confirmed ended before the publication; nor may any publication of the topic reach it in
//! a copy the broker sent after that confirmation (one sent before may still be on its way; a
//! later one means the broker kept resending to a node no longer subscribed). A publication made after the confirmation reaches a
//! broker that has already recorded the end, so only a subscription revived after its end (a
//! subscribe still being retried, a lost unsubscription) can carry it there.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, GroupId, MsgId, NodeId};
use crate::process::{Cluster, Dest};
use crate::protocols::durable_pubsub::{Config as DurableConfig, DurablePubSubProtocol, UNSUBSCRIBE};
use crate::protocols::pubsub::Subscription;
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::trace::{CallOutcome, EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// No publication the broker acknowledged is lost for a subscriber that stayed subscribed.
pub struct NoAckedPublicationLoss {
    cluster: Cluster,
    /// The broker and the subscriptions; `None` under another protocol.
    schedule: Option<(NodeId, Vec<Subscription>)>,
    /// Each publication: publisher, topic, when.
    publications: BTreeMap<AppId, (NodeId, GroupId, SimTime)>,
    /// Each acknowledged publication, and when its publisher learned it.
    acked: BTreeMap<AppId, SimTime>,
    /// When each subscription was first confirmed.
    confirmed: BTreeMap<usize, SimTime>,
    /// When the end of each subscription was first confirmed.
    ended: BTreeMap<usize, SimTime>,
    /// Each delivery, and when it was first made.
    delivered: BTreeMap<(AppId, NodeId), (SimTime, Option<SimTime>)>,
    /// When the broker sent each of its messages, so that a delivery knows when the copy it
    /// came in left the broker.
    broker_sent: BTreeMap<MsgId, SimTime>,
    /// Per node, when the broker sent the copy it received last (the one its next `deliver` takes).
    carrier: BTreeMap<NodeId, Option<SimTime>>,
    /// When each node's timers were held (paused, or waiting on a send).
    held: super::Holds,
    crashes: usize,
    /// Each node's latest crash.
    crashed: BTreeMap<NodeId, SimTime>,
    /// The nodes crashed and not restarted.
    down: BTreeSet<NodeId>,
}

impl NoAckedPublicationLoss {
    /// A checker for `schedule` (the broker and subscriptions; `None`: nothing to judge).
    pub fn new(cluster: Cluster, schedule: Option<(NodeId, Vec<Subscription>)>) -> NoAckedPublicationLoss {
        NoAckedPublicationLoss {
            cluster,
            schedule,
            publications: BTreeMap::new(),
            acked: BTreeMap::new(),
            confirmed: BTreeMap::new(),
            ended: BTreeMap::new(),
            delivered: BTreeMap::new(),
            broker_sent: BTreeMap::new(),
            carrier: BTreeMap::new(),
            held: super::Holds::default(),
            crashes: 0,
            crashed: BTreeMap::new(),
            down: BTreeSet::new(),
        }
    }
}

impl NoAckedPublicationLoss {
    /// The first forbidden delivery, with how many there were: to its own publisher, or
    /// published after the end of the node's subscription was confirmed, or carried by a copy
    /// the broker sent after that.
    fn forbidden(&self, subs: &[Subscription]) -> Option<String> {
        let mut breaches = self.delivered.iter().filter_map(|(&(app, node), &(when, carried))| {
            let &(publisher, topic, at) = self.publications.get(&app)?;
            if node == publisher {
                return Some(format!("{} delivered a{}, its own publication, at {when}", self.cluster.name(node), app.0));
            }
            let (ended, why) = subs.iter().enumerate().filter(|(_, s)| s.node == node && s.topic == topic).find_map(|(i, _)| {
                let confirmed = *self.ended.get(&i)?;
                // Another subscription of the node to the topic, confirmed by the delivery and
                // not confirmed ended before the publication, may carry it (a later one, or an
                // earlier one still in effect: a node may hold two at once).
                let revived = subs.iter().enumerate().any(|(j, t)| {
                    j != i
                        && t.node == node
                        && t.topic == topic
                        && self.confirmed.get(&j).is_some_and(|&c| c <= when)
                        && self.ended.get(&j).is_none_or(|&e| e > at)
                });
                if revived {
                    None
                } else if confirmed <= at {
                    Some((confirmed, "published after"))
                } else if carried.is_some_and(|sent| sent > confirmed) {
                    // The copy left the broker after it had recorded the end: it kept resending.
                    Some((confirmed, "in a copy the broker sent after"))
                } else {
                    None
                }
            })?;
            Some(format!(
                "{} delivered a{} (published to `{}` at {at}) at {when}, {why} the broker confirmed the end of its subscription at {ended}",
                self.cluster.name(node),
                app.0,
                self.cluster.groups[topic.0 as usize].0
            ))
        });
        let first = breaches.next()?;
        let more = breaches.count();
        Some(format!("{} forbidden deliveries; first: {first}", more + 1))
    }
}

impl Checker for NoAckedPublicationLoss {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.publications),
            b::map(&self.acked),
            b::map(&self.confirmed),
            b::map(&self.ended),
            b::map(&self.delivered),
            b::map(&self.broker_sent),
            b::map(&self.carrier),
            self.held.heap_bytes(),
            b::map(&self.crashed),
            b::set(&self.down),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        let Some((broker, subs)) = &self.schedule else { return };
        self.held.observe(e);
        match e.kind {
            EventKind::Command { node, app, dest: Dest::Group(topic) } => {
                self.publications.insert(app, (node, topic, e.time));
            }
            EventKind::Call { app, outcome: CallOutcome::Ok, .. } => {
                self.acked.entry(app).or_insert(e.time);
            }
            // A subscription's confirmation: the broker's ack of the subscriber's series i.
            EventKind::Ack { node, to, series } if node == *broker => {
                let i = (series & (UNSUBSCRIBE - 1)) as usize;
                if subs.get(i).is_some_and(|s| s.node == to) {
                    let when = if series & UNSUBSCRIBE == 0 { &mut self.confirmed } else { &mut self.ended };
                    when.entry(i).or_insert(e.time);
                }
            }
            EventKind::Send { from, msg, .. } if from == *broker => {
                self.broker_sent.insert(msg, e.time);
            }
            EventKind::Receive { to, msg, .. } => {
                self.carrier.insert(to, self.broker_sent.get(&msg).copied());
            }
            EventKind::Deliver { node, app, .. } => {
                let carried = self.carrier.get(&node).copied().flatten();
                self.delivered.entry((app, node)).or_insert((e.time, carried));
            }
            EventKind::Fault { action: FaultAction::Crash, node, .. } => {
                self.crashes += 1;
                if let Some(node) = node {
                    self.crashed.insert(node, e.time);
                    self.down.insert(node);
                }
            }
            EventKind::Fault { action: FaultAction::Restart, node: Some(node), .. } => {
                self.down.remove(&node);
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some((_, subs)) = &self.schedule else {
            return Verdict::inconclusive("not a `DurablePubSub` run: nothing to judge");
        };
        // Loss, the broker's first promise, is named first when both are broken.
        let forbidden = self.forbidden(subs);
        let (mut owed, mut publications) = (0usize, 0usize);
        let mut missing: Vec<(AppId, NodeId, SimTime, SimTime)> = Vec::new();
        for (&app, &acked_at) in &self.acked {
            let Some(&(publisher, topic, at)) = self.publications.get(&app) else { continue };
            let mut any = false;
            for (i, s) in subs.iter().enumerate() {
                let Some(&since) = self.confirmed.get(&i) else { continue };
                if s.topic != topic || s.node == publisher || since >= at || s.until_ns <= end.at.0 {
                    continue;
                }
                any = true;
                owed += 1;
                if !self.delivered.contains_key(&(app, s.node)) {
                    missing.push((app, s.node, acked_at, since));
                }
            }
            publications += usize::from(any);
        }
        // A publisher resends until the broker keeps its publication: once nothing is left to
        // happen, every publication of a publisher that did not crash since is acknowledged.
        if end.reason == EndReason::Quiescent {
            let mut unacked = self.publications.iter().filter(|&(app, &(publisher, _, at))| {
                !self.acked.contains_key(app)
                    && self.crashed.get(&publisher).is_none_or(|&c| c < at)
                    && !self.held.within(publisher, at, end.at)
            });
            if let Some((app, &(publisher, _, at))) = unacked.next() {
                return Verdict::fail(format!(
                    "{} publications never acknowledged though their publisher stayed up and nothing was left to happen; \
                     first: a{} published by {} at {at}",
                    unacked.count() + 1,
                    app.0,
                    self.cluster.name(publisher)
                ));
            }
        }
        let crashes = self.crashes;
        if let Some(&(app, node, acked_at, since)) = missing.first()
            && end.reason == EndReason::Quiescent
        {
            return Verdict::fail(format!(
                "{} of {owed} owed deliveries of acknowledged publications lost ({crashes} crash(es)); first: a{} acknowledged at \
                 {acked_at}, never delivered to {} (subscribed since {since})",
                missing.len(),
                app.0,
                self.cluster.name(node)
            ));
        }
        if end.reason == EndReason::Quiescent {
            let mut unended = subs
                .iter()
                .enumerate()
                .filter(|&(i, s)| s.until_ns != u64::MAX && !self.down.contains(&s.node) && !self.ended.contains_key(&i));
            if let Some((i, s)) = unended.next() {
                return Verdict::fail(format!(
                    "{} subscriptions past their end never confirmed ended though their subscriber was up and nothing was left \
                     to happen; first: subscription {i}, {}'s to {} until {}",
                    unended.count() + 1,
                    self.cluster.name(s.node),
                    self.cluster.groups[s.topic.0 as usize].0,
                    SimTime(s.until_ns)
                ));
            }
        }
        if let Some(breach) = forbidden {
            return Verdict::fail(breach);
        }
        if owed == 0 {
            return Verdict::inconclusive("no acknowledged publication was owed to a confirmed subscriber: nothing to judge");
        }
        if !missing.is_empty() {
            return Verdict::inconclusive(format!(
                "{} of {owed} owed deliveries not made when the run stopped ({:?}) with work still to do: not judged",
                missing.len(),
                end.reason
            ));
        }
        Verdict::pass(format!(
            "{owed} deliveries owed ({publications} acknowledged publications to subscribers that stayed subscribed), none lost \
             across {crashes} crash(es)"
        ))
    }
}

impl crate::plugin::Check for NoAckedPublicationLoss {
    const NAME: &'static str = "NoAckedPublicationLoss";
    type Config = crate::plugin::NoConfig;

    // Judged against the `DurablePubSub` protocol's schedule; inconclusive under another protocol.
    fn build(_: &crate::plugin::NoConfig, scenario: &Scenario) -> Box<dyn Checker> {
        let schedule = scenario.protocol.config::<DurableConfig>().map(|c| DurablePubSubProtocol::schedule(c, scenario));
        Box::new(NoAckedPublicationLoss::new(scenario.cluster.clone(), schedule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::{cmd, deliver, ev};

    // Nodes: broker 0, publisher 1, subscribers 2 and 3; topic 0.
    fn cluster() -> Cluster {
        Cluster {
            names: ["broker", "p1", "s1", "s2"].map(String::from).to_vec(),
            groups: vec![("news".to_string(), vec![NodeId(2), NodeId(3)])],
        }
    }

    fn schedule() -> Option<(NodeId, Vec<Subscription>)> {
        let sub = |node, until_ns| Subscription { node: NodeId(node), topic: GroupId(0), from_ns: 0, until_ns };
        Some((NodeId(0), vec![sub(2, u64::MAX), sub(3, 50_000_000)]))
    }

    fn confirmed(ms: u64, to: u32, series: u64) -> TraceEvent {
        ev(ms, EventKind::Ack { node: NodeId(0), to: NodeId(to), series })
    }

    fn acked(ms: u64, app: u64) -> TraceEvent {
        ev(ms, EventKind::Call { node: NodeId(1), app: AppId(app), outcome: CallOutcome::Ok, latency_ns: 0 })
    }

    fn judge(schedule: Option<(NodeId, Vec<Subscription>)>, events: &[TraceEvent], reason: EndReason) -> Verdict {
        let mut checker = NoAckedPublicationLoss::new(cluster(), schedule);
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason, at: SimTime(100_000_000), max_latency_ns: 0 })
    }

    // Postmortem: a subscriber down across its subscription's end, restarted after it, that
    // never asked the broker to end it, went on drawing the topic's publications for good,
    // and no check judged an end the broker never confirmed (held-out set 10's
    // dps-restart-after-interval-not-unsubscribed).
    #[test]
    fn regression_a_subscription_past_its_end_is_confirmed_ended_once_quiescent() {
        let crash = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(3)), index: 0 });
        let never_ended = [confirmed(1, 2, 0), confirmed(1, 3, 1), crash(45, FaultAction::Crash), crash(60, FaultAction::Restart)];
        let v = judge(schedule(), &never_ended, EndReason::Quiescent);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("subscription 1, s2's to news until 50.000ms"), "{}", v.detail);
        // Confirmed ended, or its subscriber still down, or the run cut at its horizon: no breach.
        let ended = [&never_ended[..], &[confirmed(70, 3, 1 | UNSUBSCRIBE)]].concat();
        assert_ne!(judge(schedule(), &ended, EndReason::Quiescent).outcome, Outcome::Fail);
        assert_ne!(judge(schedule(), &never_ended[..3], EndReason::Quiescent).outcome, Outcome::Fail);
        assert_ne!(judge(schedule(), &never_ended, EndReason::Horizon).outcome, Outcome::Fail);
    }

    #[test]
    fn an_acknowledged_publication_a_confirmed_subscriber_never_got_is_lost() {
        let events = [confirmed(1, 2, 0), cmd(5, 1, 7), acked(8, 7)];
        let lost = judge(schedule(), &events, EndReason::Quiescent);
        assert_eq!(lost.outcome, Outcome::Fail, "{}", lost.detail);
        assert!(lost.detail.contains("a7 acknowledged at 8.000ms, never delivered to s1"), "{}", lost.detail);
        // At the horizon it may still come.
        assert_eq!(judge(schedule(), &events, EndReason::Horizon).outcome, Outcome::Inconclusive);
        let got = [confirmed(1, 2, 0), cmd(5, 1, 7), acked(8, 7), deliver(9, 2, 7), confirmed(60, 3, 1 | UNSUBSCRIBE)];
        assert_eq!(judge(schedule(), &got, EndReason::Quiescent).outcome, Outcome::Pass);
    }

    #[test]
    fn nothing_is_owed_before_confirmation_after_unsubscribing_unacknowledged_or_under_another_protocol() {
        // Published before s1's subscription was confirmed; s2 unsubscribes before the end;
        // a6 not acknowledged yet (the run stopped at its horizon); an unsubscription's ack
        // confirms nothing.
        let events = [cmd(5, 1, 7), confirmed(6, 2, 0), confirmed(2, 3, 1), confirmed(1, 2, UNSUBSCRIBE), cmd(7, 1, 6), acked(8, 7)];
        let verdict = judge(schedule(), &events, EndReason::Horizon);
        assert_eq!(verdict.outcome, Outcome::Inconclusive, "{}", verdict.detail);
        let confirmed_first = [confirmed(1, 2, 0), cmd(5, 1, 7), acked(8, 7)];
        assert_eq!(judge(None, &confirmed_first, EndReason::Quiescent).outcome, Outcome::Inconclusive);
    }

    // Postmortem: a subscribe still unconfirmed when its subscription ended went on being
    // retried and subscribed the node again after its unsubscription was confirmed, and a
    // broker forwarding a publication back to its publisher, both passed: only loss was judged.
    #[test]
    fn deliveries_to_the_publisher_or_after_a_confirmed_unsubscription_are_forbidden() {
        let own = [confirmed(1, 2, 0), cmd(5, 2, 8), deliver(7, 2, 8)];
        let verdict = judge(schedule(), &own, EndReason::Horizon);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("s1 delivered a8, its own publication"), "{}", verdict.detail);
        // s2's subscription (index 1) ends at 50 ms; the broker confirms the end at 52 ms.
        let after_end = [confirmed(1, 3, 1), confirmed(52, 3, 1 | UNSUBSCRIBE), cmd(60, 1, 9), deliver(65, 3, 9)];
        let verdict = judge(schedule(), &after_end, EndReason::Horizon);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("after the broker confirmed the end of its subscription at 52.000ms"), "{}", verdict.detail);
        // Published before the end was confirmed: either is right.
        let racing = [confirmed(1, 3, 1), cmd(51, 1, 9), confirmed(52, 3, 1 | UNSUBSCRIBE), deliver(52, 3, 9)];
        assert_ne!(judge(schedule(), &racing, EndReason::Horizon).outcome, Outcome::Fail);
        // A later subscription of s2 to the topic, confirmed before the delivery, carries it.
        let sub = |node, from_ns, until_ns| Subscription { node: NodeId(node), topic: GroupId(0), from_ns, until_ns };
        let again = Some((NodeId(0), vec![sub(2, 0, u64::MAX), sub(3, 0, 50_000_000), sub(3, 55_000_000, u64::MAX)]));
        let resubscribed = [confirmed(1, 3, 1), confirmed(52, 3, 1 | UNSUBSCRIBE), confirmed(56, 3, 2), cmd(60, 1, 9), deliver(65, 3, 9)];
        assert_ne!(judge(again.clone(), &resubscribed, EndReason::Horizon).outcome, Outcome::Fail);
        let before_resubscribing =
            [confirmed(1, 3, 1), confirmed(52, 3, 1 | UNSUBSCRIBE), cmd(53, 1, 9), deliver(54, 3, 9), confirmed(56, 3, 2)];
        assert_eq!(judge(again, &before_resubscribing, EndReason::Horizon).outcome, Outcome::Fail);
    }

    // Postmortem: a publisher that sent a publication once and never again when the broker
    // did not answer lost it silently: only acknowledged publications were judged.
    #[test]
    fn a_publication_of_a_publisher_that_stayed_up_is_acknowledged_once_quiescent() {
        let unanswered = [confirmed(1, 2, 0), cmd(5, 1, 7), acked(8, 7), cmd(9, 1, 8)];
        let verdict = judge(schedule(), &unanswered, EndReason::Quiescent);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("first: a8 published by p1 at 9.000ms"), "{}", verdict.detail);
        // At the horizon it may still come; a publisher that crashed since forgot it.
        assert_ne!(judge(schedule(), &unanswered, EndReason::Horizon).outcome, Outcome::Fail);
        let crash = ev(10, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(1)), index: 0 });
        let forgot =
            [confirmed(1, 2, 0), cmd(5, 1, 7), acked(8, 7), deliver(9, 2, 7), cmd(9, 1, 8), crash, confirmed(60, 3, 1 | UNSUBSCRIBE)];
        assert_eq!(judge(schedule(), &forgot, EndReason::Quiescent).outcome, Outcome::Pass);
        // A publication made before the end, in a copy the broker sent after it: it kept resending.
        let send = |ms, msg| ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(3), msg: MsgId(msg), size: 8 });
        let recv = |ms, msg| ev(ms, EventKind::Receive { from: NodeId(0), to: NodeId(3), msg: MsgId(msg), corrupted: false });
        let resent = [confirmed(1, 3, 1), cmd(45, 1, 9), confirmed(52, 3, 1 | UNSUBSCRIBE), send(70, 4), recv(80, 4), deliver(80, 3, 9)];
        let verdict = judge(schedule(), &resent, EndReason::Horizon);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("in a copy the broker sent after the broker confirmed"), "{}", verdict.detail);
        // Sent before the end and delivered late (a slow link, a paused subscriber): either is right.
        let in_flight = [confirmed(1, 3, 1), cmd(45, 1, 9), send(50, 4), confirmed(52, 3, 1 | UNSUBSCRIBE), recv(90, 4), deliver(90, 3, 9)];
        assert_ne!(judge(schedule(), &in_flight, EndReason::Horizon).outcome, Outcome::Fail);
    }
}

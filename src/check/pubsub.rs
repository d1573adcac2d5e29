//! `PubSubDelivery`: every publication made while a node was subscribed to its topic reaches that node, and none made outside its subscriptions does.
//!
//! A publication is a workload command to a group (the topic), made at time t; the subscriptions
//! are the `PubSub` protocol's schedule. With L the longest a message spends on a link, a
//! subscription `[from, until)` takes effect at the broker within L of `from` and ends within L
//! of `until`, and a publication reaches the broker within L of t. So a publication is **owed**
//! to a subscriber (not its publisher) when from + L <= t and t + L < until, and **forbidden**
//! to a node when no subscription of it to the topic has from - L <= t < until + L, and always
//! to its publisher (the broker forwards to every subscriber but the publisher); in between,
//! either is right and nothing is judged. A subscriber that comes back from a crash or pause
//! subscribes again, so its subscription counts from then. A pair is excused (counted, not
//! judged) when a fault may explain it: for an owed one, the subscriber down or paused or a
//! partition in force since it (re)subscribed (less L for the partition), the broker down since the subscription
//! began (it forgets subscriptions when it crashes), or the publisher down around t; for a
//! forbidden one after a subscription ended at u, the node down or a partition within L of u
//! (its unsubscription never sent, or dropped: a crash or restart later never subscribes it
//! again), and otherwise any of the three down or a partition since the subscription change
//! before it (less L). Every window ends at t + 2L: a node that is not up owes nothing. An owed publication is judged missing only once it had 2L to arrive, or when the
//! run ended with nothing left to happen. With `per_publisher_order: true`, every subscriber
//! must also deliver each publisher's publications in the order they were published.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, GroupId, NodeId};
use crate::process::{Cluster, Dest};
use crate::protocols::pubsub::Subscription;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::BTreeMap;

/// A publication: its publisher, topic and time.
type Publication = (NodeId, GroupId, SimTime);

/// Checks publish/subscribe delivery against the subscriptions' schedule.
pub struct PubSubDelivery {
    cluster: Cluster,
    /// The broker and the subscriptions; `None` under another protocol.
    schedule: Option<(NodeId, Vec<Subscription>)>,
    publications: BTreeMap<AppId, Publication>,
    /// Each (publication, node) delivered, first time.
    delivered: BTreeMap<(AppId, NodeId), SimTime>,
    /// Periods a node was down or paused (end `u64::MAX`: to the end).
    down: Vec<(NodeId, u64, u64)>,
    down_since: BTreeMap<NodeId, u64>,
    /// Periods a partition was in force.
    partitioned: Vec<(u64, u64)>,
    partition_since: Option<u64>,
    /// Whether each subscriber must deliver each publisher's publications in publishing order.
    per_publisher_order: bool,
    /// Each publication's number among its publisher's.
    number: BTreeMap<AppId, u64>,
    published_by: BTreeMap<NodeId, u64>,
    /// Per (subscriber, publisher), the number of the last publication delivered.
    last: BTreeMap<(NodeId, NodeId), u64>,
    /// The first delivery out of its publisher's order: subscriber, publication, time, and
    /// the later publication it came after; and how many there were.
    reordered: Option<(NodeId, AppId, SimTime, AppId)>,
    reorders: usize,
    /// The publication each (subscriber, publisher, number) was, to name it.
    by_number: BTreeMap<(NodeId, u64), AppId>,
}

impl PubSubDelivery {
    /// A checker for `schedule` (the broker and subscriptions; `None`: nothing to judge); with
    /// `per_publisher_order`, also each publisher's order at each subscriber.
    pub fn new(cluster: Cluster, schedule: Option<(NodeId, Vec<Subscription>)>, per_publisher_order: bool) -> PubSubDelivery {
        PubSubDelivery {
            cluster,
            schedule,
            publications: BTreeMap::new(),
            delivered: BTreeMap::new(),
            down: Vec::new(),
            down_since: BTreeMap::new(),
            partitioned: Vec::new(),
            partition_since: None,
            per_publisher_order,
            number: BTreeMap::new(),
            published_by: BTreeMap::new(),
            last: BTreeMap::new(),
            reordered: None,
            reorders: 0,
            by_number: BTreeMap::new(),
        }
    }

    /// Whether any of `nodes` was down or paused, or (with `partitions`) a partition in force,
    /// at some time in `[a, b]` (a period that ended at `a` is over).
    fn disturbed(&self, nodes: &[NodeId], partitions: bool, a: u64, b: u64) -> bool {
        let overlaps = |s: u64, e: u64| s <= b && e > a;
        let open_down = self.down_since.iter().map(|(&n, &s)| (n, s, u64::MAX));
        let node_down = self.down.iter().copied().chain(open_down).any(|(n, s, e)| nodes.contains(&n) && overlaps(s, e));
        let open_partition = self.partition_since.map(|s| (s, u64::MAX));
        node_down || partitions && self.partitioned.iter().copied().chain(open_partition).any(|(s, e)| overlaps(s, e))
    }

    /// When `node` last came back up (restart or resume) at or before `t`; 0 if it never went down.
    fn back_up(&self, node: NodeId, t: u64) -> u64 {
        self.down.iter().filter(|&&(n, _, e)| n == node && e <= t).map(|&(_, _, e)| e).max().unwrap_or(0)
    }
}

impl Checker for PubSubDelivery {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.publications),
            b::map(&self.delivered),
            b::vec(&self.down),
            b::vec(&self.partitioned),
            b::map(&self.number),
            b::map(&self.last),
            b::map(&self.by_number),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, dest: Dest::Group(topic) } => {
                self.publications.insert(app, (node, topic, e.time));
                let n = self.published_by.entry(node).or_insert(0);
                self.number.insert(app, *n);
                self.by_number.insert((node, *n), app);
                *n += 1;
            }
            EventKind::Deliver { node, app, .. } if self.publications.contains_key(&app) => {
                self.delivered.entry((app, node)).or_insert(e.time);
                let (publisher, n) = (self.publications[&app].0, self.number[&app]);
                match self.last.get(&(node, publisher)) {
                    Some(&before) if before > n => {
                        self.reorders += 1;
                        let later = self.by_number[&(publisher, before)];
                        self.reordered.get_or_insert((node, app, e.time, later));
                    }
                    _ => {
                        self.last.insert((node, publisher), n);
                    }
                }
            }
            EventKind::Fault { action, node, .. } => match (action, node) {
                (FaultAction::Crash | FaultAction::Pause, Some(n)) => {
                    self.down_since.entry(n).or_insert(e.time.0);
                }
                (FaultAction::Restart | FaultAction::Resume, Some(n)) => {
                    if let Some(s) = self.down_since.remove(&n) {
                        self.down.push((n, s, e.time.0));
                    }
                }
                (FaultAction::Partition, _) => {
                    self.partition_since.get_or_insert(e.time.0);
                }
                (FaultAction::Heal, _) => {
                    if let Some(s) = self.partition_since.take() {
                        self.partitioned.push((s, e.time.0));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some((broker, subs)) = &self.schedule else {
            return Verdict::inconclusive("not a publish/subscribe run (no `PubSub` protocol): nothing to judge");
        };
        let l = end.max_latency_ns;
        let name = |n: NodeId| self.cluster.name(n).to_string();
        let topic_name = |g: GroupId| self.cluster.groups[g.0 as usize].0.clone();
        // The latest subscription change of `node` to `topic` at or before `t` + L, and
        // whether it was an end.
        let change_before = |node: NodeId, topic: GroupId, t: u64| {
            subs.iter()
                .filter(|s| s.node == node && s.topic == topic)
                .flat_map(|s| [(s.from_ns, false), (s.until_ns, true)])
                .filter(|&(b, _)| b <= t.saturating_add(l))
                .max()
                .unwrap_or((0, false))
        };
        let (mut owed, mut made, mut excused) = (0usize, 0usize, 0usize);
        let mut missing: Vec<(AppId, NodeId)> = Vec::new();
        let quiescent = end.reason == EndReason::Quiescent;
        for (&app, &(publisher, topic, at)) in &self.publications {
            let t = at.0;
            for s in subs.iter().filter(|s| s.topic == topic && s.node != publisher) {
                // A subscriber back from a crash or pause subscribes again when it comes back.
                let from = s.from_ns.max(self.back_up(s.node, t));
                if !(from.saturating_add(l) <= t && t.saturating_add(l) < s.until_ns) {
                    continue;
                }
                if !quiescent && t.saturating_add(2 * l) > end.at.0 {
                    continue; // it may still be on its way
                }
                let (since, by) = (from.saturating_sub(l), t.saturating_add(2 * l));
                // The subscriber since it (re)subscribed, the broker (which forgets every
                // subscription when it crashes) since the subscription began, the publisher
                // around the publication, and no partition that could have dropped any of it.
                if self.disturbed(&[s.node], false, from, by)
                    || self.disturbed(&[], true, since, by)
                    || self.disturbed(&[*broker], false, s.from_ns.saturating_sub(l), by)
                    || self.disturbed(&[publisher], false, t.saturating_sub(l), by)
                {
                    excused += 1;
                    continue;
                }
                owed += 1;
                if self.delivered.contains_key(&(app, s.node)) {
                    made += 1;
                } else {
                    missing.push((app, s.node));
                }
            }
        }
        let mut outside: Vec<(AppId, NodeId, SimTime)> = Vec::new();
        let mut within = 0usize;
        let mut own: Vec<(AppId, NodeId, SimTime)> = Vec::new();
        for (&(app, node), &when) in &self.delivered {
            let (publisher, topic, at) = self.publications[&app];
            if node == publisher {
                own.push((app, node, when)); // the broker forwards to every subscriber but the publisher
                continue;
            }
            let t = at.0;
            let allowed = subs
                .iter()
                .any(|s| s.node == node && s.topic == topic && s.from_ns.saturating_sub(l) <= t && t < s.until_ns.saturating_add(l));
            // After a subscription's end, only the end itself can have gone astray: the node
            // down when it was due (so it never unsubscribed) or a partition dropping it. A
            // crash or restart later ends a subscription at the broker; it never starts one.
            let excused_by = match change_before(node, topic, t) {
                (end, true) => self.disturbed(&[node], true, end.saturating_sub(l), end.saturating_add(l)),
                (change, false) => self.disturbed(&[node, publisher, *broker], true, change.saturating_sub(l), t.saturating_add(2 * l)),
            };
            if allowed {
                within += 1;
            } else if excused_by {
                excused += 1;
            } else {
                outside.push((app, node, when));
            }
        }
        if let Some(&(app, node, when)) = own.first() {
            return Verdict::fail(format!(
                "{} publications delivered to their own publisher; first: {} delivered a{}, its own, at {when}",
                own.len(),
                name(node),
                app.0
            ));
        }
        if let Some(&(app, node, when)) = outside.first() {
            let (_, topic, at) = self.publications[&app];
            return Verdict::fail(format!(
                "{} deliveries outside a subscription; first: {} delivered a{} (published to `{}` at {at}) at {when}, not subscribed then",
                outside.len(),
                name(node),
                app.0,
                topic_name(topic)
            ));
        }
        if let Some(&(app, node)) = missing.first() {
            let (_, topic, at) = self.publications[&app];
            return Verdict::fail(format!(
                "{} of {owed} owed deliveries missing; first: a{} (published to `{}` at {at}) never reached subscriber {}",
                missing.len(),
                app.0,
                topic_name(topic),
                name(node)
            ));
        }
        if self.per_publisher_order
            && let Some((node, app, when, later)) = self.reordered
        {
            let publisher = self.publications[&app].0;
            return Verdict::fail(format!(
                "{} deliveries out of their publisher's order; first: {} delivered a{} of {} at {when}, after a{}, published later",
                self.reorders,
                name(node),
                app.0,
                name(publisher),
                later.0
            ));
        }
        if owed == 0 && within == 0 {
            return Verdict::inconclusive(format!(
                "no publication owed to a subscriber or delivered ({excused} excused by faults): nothing to judge"
            ));
        }
        let order = if self.per_publisher_order { ", each publisher's in order" } else { "" };
        Verdict::pass(format!(
            "{made} owed deliveries made, {within} deliveries all within subscriptions{order} ({excused} excused by faults)"
        ))
    }
}

/// `PubSubDelivery`, or `PubSubDelivery(per_publisher_order: true)`.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize)]
#[serde(rename = "PubSubDelivery", deny_unknown_fields)]
pub struct Config {
    /// Also require every subscriber to deliver each publisher's publications in the order
    /// they were published.
    #[serde(default)]
    pub per_publisher_order: bool,
}

impl crate::plugin::Check for PubSubDelivery {
    const NAME: &'static str = "PubSubDelivery";
    type Config = Config;

    // Judged against the `PubSub` protocol's schedule; inconclusive under another protocol.
    fn build(config: &Config, scenario: &crate::scenario::Scenario) -> Box<dyn Checker> {
        let schedule = scenario
            .protocol
            .config::<crate::protocols::pubsub::Config>()
            .map(|c| crate::protocols::pubsub::PubSubProtocol::schedule(c, &scenario.cluster));
        Box::new(PubSubDelivery::new(scenario.cluster.clone(), schedule, config.per_publisher_order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::{cmd, deliver, ev};

    // Postmortem: a broker forwarding a publication back to its publisher, itself subscribed to
    // the topic, passed: the publisher was owed nothing, and nothing forbade it either.
    #[test]
    fn a_publication_delivered_to_its_own_publisher_fails() {
        // Nodes: broker 0, s1 1 and s2 2 both subscribed to topic 0 throughout; s1 publishes.
        let cluster = Cluster {
            names: ["broker", "s1", "s2"].map(String::from).to_vec(),
            groups: vec![("news".to_string(), vec![NodeId(1), NodeId(2)])],
        };
        let sub = |node| Subscription { node: NodeId(node), topic: GroupId(0), from_ns: 0, until_ns: u64::MAX };
        let judge = |events: &[TraceEvent]| {
            let mut checker = PubSubDelivery::new(cluster.clone(), Some((NodeId(0), vec![sub(1), sub(2)])), false);
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(100_000_000), max_latency_ns: 1_000_000 })
        };
        let correct = [cmd(10, 1, 7), deliver(12, 2, 7)];
        assert_eq!(judge(&correct).outcome, Outcome::Pass, "{}", judge(&correct).detail);
        let own = [cmd(10, 1, 7), deliver(12, 2, 7), deliver(12, 1, 7)];
        let verdict = judge(&own);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("s1 delivered a7, its own"), "{}", verdict.detail);
    }

    // Postmortem: a subscriber restarted after its subscription had ended subscribed again and
    // received what it no longer asked for, and passed: any crash since the end excused it.
    #[test]
    fn a_restart_after_a_subscription_ended_excuses_no_delivery() {
        // s1 publishes; s2 subscribed until 50 ms.
        let cluster = Cluster {
            names: ["broker", "s1", "s2"].map(String::from).to_vec(),
            groups: vec![("news".to_string(), vec![NodeId(1), NodeId(2)])],
        };
        let subs = vec![Subscription { node: NodeId(2), topic: GroupId(0), from_ns: 0, until_ns: 50_000_000 }];
        let judge = |events: &[TraceEvent]| {
            let mut checker = PubSubDelivery::new(cluster.clone(), Some((NodeId(0), subs.clone())), false);
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 1_000_000 })
        };
        let fault = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(2)), index: 0 });
        let restarted_later = [fault(100, FaultAction::Crash), fault(110, FaultAction::Restart), cmd(150, 1, 7), deliver(152, 2, 7)];
        let verdict = judge(&restarted_later);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("s2 delivered a7"), "{}", verdict.detail);
        // Down when its subscription ended, s2 never unsubscribed: the broker rightly forwards on.
        let down_at_the_end = [fault(40, FaultAction::Crash), fault(60, FaultAction::Restart), cmd(150, 1, 7), deliver(152, 2, 7)];
        assert_ne!(judge(&down_at_the_end).outcome, Outcome::Fail, "{}", judge(&down_at_the_end).detail);
    }
}

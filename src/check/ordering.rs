//! Delivery-order checks: `FifoOrder`, `CausalOrder` and `TotalOrder`, judged on the trace's commands and deliveries.
//!
//! All three are safety properties, checked online at each node's first
//! delivery of each message; the verdict names the first offending delivery
//! (time, node) and the messages involved. A multicast's recipients are
//! `Cluster::group_recipients` of its destination, as for the other group checks.
//! FIFO and causal order are judged per destination (a group, or all nodes),
//! as the protocols that give them order each group on its own.

use super::{Checker, RunEnd, Verdict};
use crate::causality::{CausalTracker, VectorClock, happened_before};
use crate::id::{AppId, NodeId};
use crate::process::{Cluster, Dest};
use crate::time::SimTime;
use crate::trace::{DropReason, EventKind, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// What every order check keeps: the first violation, and how many orderings it judged.
struct Findings {
    judged: u64,
    violations: u64,
    first: Option<String>,
}

impl Findings {
    fn new() -> Findings {
        Findings { judged: 0, violations: 0, first: None }
    }

    fn violation(&mut self, describe: impl FnOnce() -> String) {
        self.violations += 1;
        if self.first.is_none() {
            self.first = Some(describe());
        }
    }

    fn verdict(&self, what: &str) -> Verdict {
        match &self.first {
            Some(first) => Verdict::fail(format!("deliveries out of order: {}; first: {first}", self.violations)),
            None if self.judged == 0 => Verdict::inconclusive(format!("no delivery had {what}: nothing to judge")),
            None => Verdict::pass(format!("{} orderings judged, all respected", self.judged)),
        }
    }
}

/// A sender and a destination: the unit FIFO order is judged over.
type Stream = (NodeId, Dest);

/// If a node multicasts m before m' to the same destination, no recipient delivers m'
/// unless it has delivered m.
pub struct FifoOrder {
    cluster: Cluster,
    /// Each (sender, destination)'s messages, in command order.
    streams: BTreeMap<Stream, Vec<AppId>>,
    /// Each message's stream, its index in it and its recipients.
    place: BTreeMap<AppId, (Stream, usize, Vec<NodeId>)>,
    delivered: BTreeSet<(AppId, NodeId)>,
    findings: Findings,
}

impl FifoOrder {
    pub fn new(cluster: Cluster) -> FifoOrder {
        FifoOrder { cluster, streams: BTreeMap::new(), place: BTreeMap::new(), delivered: BTreeSet::new(), findings: Findings::new() }
    }
}

impl Checker for FifoOrder {
    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, dest } => {
                let stream = self.streams.entry((node, dest)).or_default();
                self.place.insert(app, ((node, dest), stream.len(), self.cluster.group_recipients(dest)));
                stream.push(app);
            }
            EventKind::Deliver { node, app, .. } => {
                if !self.delivered.insert((app, node)) {
                    return;
                }
                let Some((stream, index, recipients)) = self.place.get(&app) else { return };
                if !recipients.contains(&node) || *index == 0 {
                    return;
                }
                self.findings.judged += 1;
                let earlier = &self.streams[stream][..*index];
                if let Some(missing) = earlier.iter().find(|m| !self.delivered.contains(&(**m, node))) {
                    let c = &self.cluster;
                    self.findings.violation(|| {
                        format!(
                            "{} delivered a{} at {} before a{}, which {} multicast earlier",
                            c.name(node),
                            app.0,
                            e.time,
                            missing.0,
                            c.name(stream.0)
                        )
                    });
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        self.findings.verdict("an earlier message from the same sender")
    }
}

/// If the multicast of m happened before the multicast of m' (same destination), no
/// recipient delivers m' unless it has delivered m. Happens-before is the trace's:
/// the vector clocks `CausalTracker` gives the two command events, through every
/// message received intact in between (data, acks and relays alike). A copy that
/// arrived corrupted carries nothing its receiver can read, so no information
/// flowed through it: the tracker sees it as dropped.
pub struct CausalOrder {
    cluster: Cluster,
    tracker: CausalTracker,
    sent: BTreeMap<AppId, (Dest, Vec<NodeId>, VectorClock)>,
    delivered: BTreeSet<(AppId, NodeId)>,
    findings: Findings,
}

impl CausalOrder {
    pub fn new(cluster: Cluster) -> CausalOrder {
        let tracker = CausalTracker::new(cluster.len());
        CausalOrder { cluster, tracker, sent: BTreeMap::new(), delivered: BTreeSet::new(), findings: Findings::new() }
    }
}

impl Checker for CausalOrder {
    fn observe(&mut self, e: &TraceEvent) {
        let clock = match e.kind {
            EventKind::Receive { from, to, msg, corrupted: true } => {
                let lost = EventKind::Drop { from, to, msg, reason: DropReason::Lost };
                self.tracker.observe(&TraceEvent { time: e.time, kind: lost })
            }
            _ => self.tracker.observe(e),
        };
        match e.kind {
            EventKind::Command { app, dest, .. } => {
                let clock = clock.expect("a command is a process event").clone();
                self.sent.insert(app, (dest, self.cluster.group_recipients(dest), clock));
            }
            EventKind::Deliver { node, app, .. } => {
                if !self.delivered.insert((app, node)) {
                    return;
                }
                let Some((dest, recipients, clock)) = self.sent.get(&app) else { return };
                if !recipients.contains(&node) {
                    return;
                }
                let before =
                    self.sent.iter().filter(|(m, (d, r, c))| **m != app && d == dest && r.contains(&node) && happened_before(c, clock));
                for (m, _) in before {
                    self.findings.judged += 1;
                    if !self.delivered.contains(&(*m, node)) {
                        let c = &self.cluster;
                        self.findings.violation(|| {
                            format!(
                                "{} delivered a{} at {} before a{}, whose multicast happened before a{}'s",
                                c.name(node),
                                app.0,
                                e.time,
                                m.0,
                                app.0
                            )
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        self.findings.verdict("a causal predecessor addressed to the same node")
    }
}

/// Any two nodes deliver the messages they both deliver in the same relative order.
pub struct TotalOrder {
    cluster: Cluster,
    /// Each node's deliveries, in order, and each (node, message)'s position.
    order: Vec<Vec<AppId>>,
    position: BTreeMap<(NodeId, AppId), usize>,
    findings: Findings,
}

impl TotalOrder {
    pub fn new(cluster: Cluster) -> TotalOrder {
        let n = cluster.len();
        TotalOrder { cluster, order: vec![Vec::new(); n], position: BTreeMap::new(), findings: Findings::new() }
    }

    /// `node` delivers `app` now, after everything in its order: a conflict is a node
    /// that delivered `app` before one of those.
    fn judge(&mut self, time: SimTime, node: NodeId, app: AppId) {
        for other in self.cluster.nodes().filter(|&o| o != node) {
            let Some(&theirs) = self.position.get(&(other, app)) else { continue };
            for &earlier in &self.order[node.index()] {
                let Some(&their_earlier) = self.position.get(&(other, earlier)) else { continue };
                self.findings.judged += 1;
                if their_earlier > theirs {
                    let c = &self.cluster;
                    self.findings.violation(|| {
                        format!(
                            "{} delivered a{} at {time} after a{}, but {} delivered a{} before a{}",
                            c.name(node),
                            app.0,
                            earlier.0,
                            c.name(other),
                            app.0,
                            earlier.0
                        )
                    });
                }
            }
        }
    }
}

impl Checker for TotalOrder {
    fn observe(&mut self, e: &TraceEvent) {
        if let EventKind::Deliver { node, app, .. } = e.kind {
            if self.position.contains_key(&(node, app)) {
                return;
            }
            self.judge(e.time, node, app);
            let mine = &mut self.order[node.index()];
            self.position.insert((node, app), mine.len());
            mine.push(app);
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        self.findings.verdict("a message in common with another node")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::{cmd, deliver, ev};
    use crate::check::{EndReason, Outcome};
    use crate::id::MsgId;

    fn cluster() -> Cluster {
        let names = (0..3).map(|i| format!("n{i}")).collect();
        Cluster { names, groups: vec![("g".to_string(), vec![NodeId(0), NodeId(1), NodeId(2)])] }
    }

    fn verdict(mut c: impl Checker, events: &[TraceEvent]) -> Verdict {
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(0), max_latency_ns: 0 })
    }

    #[test]
    fn fifo_order_catches_a_gap_and_a_reordering() {
        let sent = [cmd(0, 0, 1), cmd(1, 0, 2)];
        let in_order = [&sent[..], &[deliver(2, 1, 1), deliver(3, 1, 2)]].concat();
        assert_eq!(verdict(FifoOrder::new(cluster()), &in_order).outcome, Outcome::Pass);
        // a2 first, a1 later or never: the same violation, at a2's delivery.
        for tail in [&[deliver(2, 1, 2), deliver(3, 1, 1)][..], &[deliver(2, 1, 2)][..]] {
            let v = verdict(FifoOrder::new(cluster()), &[&sent[..], tail].concat());
            assert_eq!(v.detail, "deliveries out of order: 1; first: n1 delivered a2 at 2.000ms before a1, which n0 multicast earlier");
        }
        // Different senders are not ordered.
        let two = [cmd(0, 0, 1), cmd(1, 2, 2), deliver(2, 1, 2), deliver(3, 1, 1)];
        assert_eq!(verdict(FifoOrder::new(cluster()), &two).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn causal_order_follows_happens_before_through_any_message() {
        // n0 multicasts a1, then sends n1 an unrelated message (an ack, say); n1 multicasts a2.
        let (n0, n1) = (NodeId(0), NodeId(1));
        let chain = [
            cmd(0, 0, 1),
            ev(1, EventKind::Send { from: n0, to: n1, msg: MsgId(0), size: 8 }),
            ev(2, EventKind::Receive { from: n0, to: n1, msg: MsgId(0), corrupted: false }),
            cmd(3, 1, 2),
        ];
        let bad = [&chain[..], &[deliver(4, 2, 2), deliver(5, 2, 1)]].concat();
        let v = verdict(CausalOrder::new(cluster()), &bad);
        assert_eq!(
            v.detail,
            "deliveries out of order: 1; first: n2 delivered a2 at 4.000ms before a1, whose multicast happened before a2's"
        );
        let good = [&chain[..], &[deliver(4, 2, 1), deliver(5, 2, 2)]].concat();
        assert_eq!(verdict(CausalOrder::new(cluster()), &good).outcome, Outcome::Pass);
        // Without the message, or with only a corrupted copy of it, the two multicasts are
        // concurrent: either order is causal.
        let concurrent = [cmd(0, 0, 1), cmd(3, 1, 2), deliver(4, 2, 2), deliver(5, 2, 1)];
        assert_eq!(verdict(CausalOrder::new(cluster()), &concurrent).outcome, Outcome::Inconclusive);
        let mut garbled = bad.clone();
        garbled[2] = ev(2, EventKind::Receive { from: n0, to: n1, msg: MsgId(0), corrupted: true });
        assert_eq!(verdict(CausalOrder::new(cluster()), &garbled).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn total_order_compares_common_messages_of_every_pair() {
        let sent = [cmd(0, 0, 1), cmd(0, 1, 2), cmd(0, 2, 3)];
        let same = [&sent[..], &[deliver(1, 0, 1), deliver(2, 0, 2), deliver(1, 1, 2), deliver(1, 2, 1), deliver(2, 2, 2)]].concat();
        assert_eq!(verdict(TotalOrder::new(cluster()), &same).outcome, Outcome::Pass);
        let crossed = [&sent[..], &[deliver(1, 0, 1), deliver(2, 0, 3), deliver(3, 1, 3), deliver(4, 1, 1)]].concat();
        let v = verdict(TotalOrder::new(cluster()), &crossed);
        assert_eq!(v.detail, "deliveries out of order: 1; first: n1 delivered a1 at 4.000ms after a3, but n0 delivered a1 before a3");
    }
}

//! Delivery checks: no loss, no duplicates, no damaged payload delivered.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, MsgId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// Every application message sent between two correct nodes is delivered.
///
/// A node is correct if it never crashed or paused during the run: what a
/// faulty node was owed, or owes, is not judged. A message missing at the end
/// fails the check if the run ended with nothing left to happen, or if it was
/// sent before both the network's largest latency before the end and the send
/// time of the oldest transmission still on the wire (which may be waiting in
/// a bandwidth queue); a missing message sent later makes the verdict inconclusive.
pub struct NoLoss {
    cluster: Cluster,
    /// (message, recipient) not yet delivered, with the time it was sent.
    pending: BTreeMap<(AppId, NodeId), (SimTime, NodeId)>,
    faulty: Vec<bool>,
    /// Deliveries owed, per (sender, recipient), so the verdict can count those between correct nodes.
    expected: BTreeMap<(NodeId, NodeId), u64>,
    /// Transmissions on the wire: send time and copies not yet received or dropped.
    on_wire: BTreeMap<MsgId, (SimTime, u32)>,
}

impl NoLoss {
    /// A `NoLoss` check for `cluster`, nothing yet owed.
    pub fn new(cluster: Cluster) -> NoLoss {
        let n = cluster.len();
        NoLoss { cluster, pending: BTreeMap::new(), faulty: vec![false; n], expected: BTreeMap::new(), on_wire: BTreeMap::new() }
    }
}

impl Checker for NoLoss {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.pending), b::map(&self.expected), b::map(&self.on_wire)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, dest } => {
                for to in self.cluster.recipients(node, dest) {
                    self.pending.insert((app, to), (e.time, node));
                    *self.expected.entry((node, to)).or_default() += 1;
                }
            }
            EventKind::Deliver { node, app, .. } => {
                self.pending.remove(&(app, node));
            }
            EventKind::Fault { action: FaultAction::Crash | FaultAction::Pause, node: Some(n), .. } => self.faulty[n.index()] = true,
            EventKind::Send { msg, .. } => {
                self.on_wire.insert(msg, (e.time, 1));
            }
            EventKind::Duplicate { msg, .. } => {
                if let Some(w) = self.on_wire.get_mut(&msg) {
                    w.1 += 1;
                }
            }
            EventKind::Receive { msg, .. } | EventKind::Drop { msg, .. } => {
                if let Some(w) = self.on_wire.get_mut(&msg) {
                    w.1 -= 1;
                    if w.1 == 0 {
                        self.on_wire.remove(&msg);
                    }
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let between_correct =
            |&(_, to): &(AppId, NodeId), &(_, from): &(SimTime, NodeId)| !self.faulty[to.index()] && !self.faulty[from.index()];
        let judged: u64 =
            self.expected.iter().filter(|((from, to), _)| !self.faulty[from.index()] && !self.faulty[to.index()]).map(|(_, n)| n).sum();
        if judged == 0 {
            return Verdict::inconclusive("no application message was sent between nodes that never crashed or paused: nothing to judge");
        }
        let missing: Vec<_> = self.pending.iter().filter(|(k, v)| between_correct(k, v)).collect();
        // Message ids grow with time, so the first entry is the oldest transmission on the wire.
        let oldest_on_wire = self.on_wire.first_key_value().map_or(SimTime::MAX, |(_, (sent, _))| *sent);
        let latency_deadline = SimTime(end.at.0.saturating_sub(end.max_latency_ns));
        // Strictly before the oldest transmission on the wire: one sent at that instant may be it.
        let overdue: Vec<_> = missing
            .iter()
            .filter(|(_, (sent, _))| end.reason == EndReason::Quiescent || (*sent <= latency_deadline && *sent < oldest_on_wire))
            .collect();
        let name = |n: NodeId| self.cluster.name(n).to_string();
        if let Some(((app, to), (sent, from))) = overdue.first() {
            return Verdict::fail(format!(
                "{} of {} expected deliveries never happened; first: a{} from {} to {} sent at {}",
                overdue.len(),
                judged,
                app.0,
                name(*from),
                name(*to),
                sent
            ));
        }
        if !missing.is_empty() {
            return Verdict::inconclusive(format!("deliveries still possible when the run ended ({}): {}", end.reason, missing.len()));
        }
        Verdict::pass(format!("all {judged} expected deliveries happened"))
    }
}

/// No node delivers the same application message twice.
pub struct NoDuplicates {
    pub(super) names: Vec<String>,
    delivered: BTreeSet<(NodeId, AppId)>,
    pub(super) deliveries: u64,
    pub(super) first_violation: Option<(SimTime, NodeId, AppId)>,
    pub(super) violations: u64,
}

impl NoDuplicates {
    /// A `NoDuplicates` check for `cluster`, nothing yet delivered.
    pub fn new(cluster: &Cluster) -> NoDuplicates {
        NoDuplicates { names: cluster.names.clone(), delivered: BTreeSet::new(), deliveries: 0, first_violation: None, violations: 0 }
    }
}

impl Checker for NoDuplicates {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::set(&self.delivered)
    }

    fn observe(&mut self, e: &TraceEvent) {
        if let EventKind::Deliver { node, app, .. } = e.kind {
            self.deliveries += 1;
            if !self.delivered.insert((node, app)) {
                self.violations += 1;
                self.first_violation.get_or_insert((e.time, node, app));
            }
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        match self.first_violation {
            Some((t, node, app)) => Verdict::fail(format!(
                "duplicate deliveries: {}; first: a{} delivered again at {} at {t}",
                self.violations,
                app.0,
                self.names[node.index()]
            )),
            None if self.deliveries == 0 => Verdict::inconclusive("nothing was delivered: nothing to judge"),
            None => Verdict::pass(format!("{} deliveries, each message at most once per node", self.deliveries)),
        }
    }
}

/// No damaged payload reaches an application.
///
/// Judged only if the network actually corrupted a copy that reached a process;
/// otherwise there was nothing for a protocol to catch.
pub struct NoCorruptionDelivered {
    names: Vec<String>,
    corrupted_arrivals: u64,
    first_violation: Option<(SimTime, NodeId, AppId)>,
    violations: u64,
}

impl NoCorruptionDelivered {
    /// A `NoCorruptionDelivered` check for `cluster`, nothing yet seen.
    pub fn new(cluster: &Cluster) -> NoCorruptionDelivered {
        NoCorruptionDelivered { names: cluster.names.clone(), corrupted_arrivals: 0, first_violation: None, violations: 0 }
    }
}

impl Checker for NoCorruptionDelivered {
    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Receive { corrupted: true, .. } => self.corrupted_arrivals += 1,
            EventKind::Deliver { node, app, damaged: true, .. } => {
                self.violations += 1;
                self.first_violation.get_or_insert((e.time, node, app));
            }
            _ => {}
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        match self.first_violation {
            Some((t, node, app)) => Verdict::fail(format!(
                "damaged payloads delivered: {}; first: a{} at {} at {t}",
                self.violations,
                app.0,
                self.names[node.index()]
            )),
            None if self.corrupted_arrivals == 0 => Verdict::inconclusive("no corrupted message reached a process: nothing to judge"),
            None => Verdict::pass(format!("{} corrupted copies arrived; none was delivered", self.corrupted_arrivals)),
        }
    }
}

/// `Coverage(at_least: F, at_most: G)`: of the deliveries the workload's commands owe to nodes
/// that never crash, at least the fraction `F` happen, and, with `at_most`, no more than `G`.
/// For protocols that promise delivery only with high probability (push gossip, rumour
/// mongering), where `NoLoss` fails by design: a bug that stops a rumour spreading still shows
/// as coverage far below what the protocol achieves, and one that never stops it (a coin never
/// tossed) as coverage above the residue the theory predicts.
/// Judged once the run ended with nothing left to happen; at the horizon, the commands older
/// than the network's largest latency are judged.
pub struct Coverage {
    cluster: Cluster,
    at_least_ppm: u64,
    at_most_ppm: Option<u64>,
    /// (message, recipient) owed, with the time the command was given.
    owed: BTreeMap<(AppId, NodeId), SimTime>,
    delivered: BTreeSet<(AppId, NodeId)>,
    crashed: Vec<bool>,
}

impl Coverage {
    /// A check that at least `at_least_ppm` parts per million of the owed deliveries happen,
    /// and at most `at_most_ppm` if given.
    pub fn new(cluster: Cluster, at_least_ppm: u64, at_most_ppm: Option<u64>) -> Coverage {
        let n = cluster.len();
        Coverage { cluster, at_least_ppm, at_most_ppm, owed: BTreeMap::new(), delivered: BTreeSet::new(), crashed: vec![false; n] }
    }
}

impl Checker for Coverage {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.owed), b::set(&self.delivered)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, dest } => {
                for to in self.cluster.recipients(node, dest) {
                    self.owed.insert((app, to), e.time);
                }
            }
            EventKind::Deliver { node, app, .. } => {
                self.delivered.insert((app, node));
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => self.crashed[node.index()] = true,
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let settled = |at: SimTime| end.reason == EndReason::Quiescent || at.0.saturating_add(end.max_latency_ns) < end.at.0;
        let judged: Vec<_> = self.owed.iter().filter(|&(&(_, to), &at)| !self.crashed[to.index()] && settled(at)).collect();
        if judged.is_empty() {
            return Verdict::inconclusive("no delivery owed to a node that stayed up");
        }
        let made = judged.iter().filter(|(key, _)| self.delivered.contains(key)).count() as u64;
        let owed = judged.len() as u64;
        let most = self.at_most_ppm.map_or(String::new(), |ppm| format!(" and at most {:.1}%", ppm as f64 / 1e4));
        let detail = format!(
            "{made} of {owed} owed deliveries made ({:.1}%; at least {:.1}%{most} asked)",
            made as f64 * 100.0 / owed as f64,
            self.at_least_ppm as f64 / 1e4
        );
        let too_many = self.at_most_ppm.is_some_and(|ppm| made * 1_000_000 > owed * ppm);
        if made * 1_000_000 < owed * self.at_least_ppm || too_many { Verdict::fail(detail) } else { Verdict::pass(detail) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::{deliver, ev};
    use crate::process::Dest;

    #[test]
    fn coverage_counts_owed_deliveries_to_nodes_that_stayed_up() {
        let cluster = Cluster { names: (0..5).map(|i| format!("n{i}")).collect(), groups: vec![] };
        let broadcast = |app| ev(0, EventKind::Command { node: NodeId(0), app: AppId(app), dest: Dest::All });
        let end = RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 };
        let judge = |ppm, events: &[TraceEvent]| {
            let mut c = Coverage::new(cluster.clone(), ppm, None);
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&end)
        };
        // Two broadcasts owe 8 deliveries; 6 made is 75%.
        let events = [
            broadcast(0),
            broadcast(1),
            deliver(1, 1, 0),
            deliver(1, 2, 0),
            deliver(1, 3, 0),
            deliver(1, 1, 1),
            deliver(1, 2, 1),
            deliver(1, 3, 1),
        ];
        assert_eq!(judge(750_000, &events).outcome, Outcome::Pass);
        assert_eq!(judge(750_001, &events).outcome, Outcome::Fail);
        // An upper bound: a rumour that never dies out covers more than the theory's residue allows.
        let bounded = |most| {
            let mut c = Coverage::new(cluster.clone(), 500_000, Some(most));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&end).outcome
        };
        assert_eq!(bounded(750_000), Outcome::Pass);
        assert_eq!(bounded(749_999), Outcome::Fail);
        // n4, which missed both, crashed: it is owed nothing, and 6 of 6 were made.
        let mut crashed = events.to_vec();
        crashed.push(ev(2, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(4)), index: 0 }));
        assert!(judge(1_000_000, &crashed).detail.starts_with("6 of 6"));
        assert_eq!(judge(500_000, &[]).outcome, Outcome::Inconclusive);
    }
}

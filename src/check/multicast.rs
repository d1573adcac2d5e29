//! Group-communication checks: `Validity`, `Agreement` and `Integrity`, judged on commands and deliveries in the trace.
//!
//! A multicast's recipients are `Cluster::group_recipients` of its command's
//! destination: every member of the group, the sender included when it is a
//! member. A node is *correct* if it never crashed or paused. Validity and
//! agreement are liveness ("eventually delivered") and are judged fairly: a
//! missing delivery fails only if the run ended with nothing left to happen,
//! or `settle` after both the event that made it due and the last fault, with
//! no partition in force at the end. Otherwise it is inconclusive, never a pass.
//!
//! **Under a membership service** (a protocol that writes `view` lines), a message is owed
//! only where virtual synchrony promises it: a message multicast (or first delivered) in view
//! v at one node is owed at another member of v only if the two leave v for the same next
//! view, or no node ever leaves v (it is the group's last view). A live member that a view change excluded
//! is owed nothing sent after, nor what its old view's survivors carried on without it: the
//! textbook liveness of view-synchronous multicast (a message sent in a view reaches the
//! members that go on together), and `ViewAgreement` judges what they delivered alike.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// One commanded multicast.
struct Sent {
    sender: NodeId,
    at: SimTime,
    recipients: Vec<NodeId>,
    /// The view its sender was in when it was commanded, under a membership service.
    view: Option<u64>,
}

/// The first delivery of a message at a node: when, and in which view.
#[derive(Clone, Copy)]
struct Delivered {
    at: SimTime,
    view: Option<u64>,
}

/// The multicasts commanded, what each node delivered, and the faults: what every
/// group check reads from the trace.
struct Ledger {
    cluster: Cluster,
    sent: BTreeMap<AppId, Sent>,
    /// First delivery of each (message, node).
    delivered: BTreeMap<(AppId, NodeId), Delivered>,
    /// Each node's current view, once it installed one.
    view: Vec<Option<u64>>,
    /// Every (node, view) installed, and the view the node left it for (`None`: still in it).
    next_view: BTreeMap<(NodeId, u64), Option<u64>>,
    /// The views some node left for another.
    left: BTreeSet<u64>,
    faulty: Vec<bool>,
    last_fault: SimTime,
    partitioned: bool,
}

impl Ledger {
    /// What the ledger holds, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.sent),
            b::nested(self.sent.values(), |s| b::vec(&s.recipients)),
            b::map(&self.delivered),
            b::vec(&self.view),
            b::map(&self.next_view),
            b::set(&self.left),
        ])
    }

    fn new(cluster: Cluster) -> Ledger {
        let n = cluster.len();
        Ledger {
            cluster,
            sent: BTreeMap::new(),
            delivered: BTreeMap::new(),
            view: vec![None; n],
            next_view: BTreeMap::new(),
            left: BTreeSet::new(),
            faulty: vec![false; n],
            last_fault: SimTime::ZERO,
            partitioned: false,
        }
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, dest } => {
                let recipients = self.cluster.group_recipients(dest);
                self.sent.insert(app, Sent { sender: node, at: e.time, recipients, view: self.view[node.index()] });
            }
            EventKind::Deliver { node, app, .. } => {
                let view = self.view[node.index()];
                self.delivered.entry((app, node)).or_insert(Delivered { at: e.time, view });
            }
            EventKind::View { node, view, .. } => {
                if let Some(left) = self.view[node.index()].replace(view) {
                    self.next_view.insert((node, left), Some(view));
                    self.left.insert(left);
                }
                self.next_view.entry((node, view)).or_insert(None);
            }
            EventKind::Fault { action, node, .. } => {
                self.last_fault = e.time;
                match (action, node) {
                    (FaultAction::Crash | FaultAction::Pause, Some(n)) => self.faulty[n.index()] = true,
                    (FaultAction::Partition, _) => self.partitioned = true,
                    (FaultAction::Heal, _) => self.partitioned = false,
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn name(&self, n: NodeId) -> &str {
        self.cluster.name(n)
    }

    fn correct(&self, n: NodeId) -> bool {
        !self.faulty[n.index()]
    }

    /// Whether what `from` multicast or delivered in `view` is owed at `to`: always without a
    /// membership service; under one, only if `to` was in that view too and the two left it for
    /// the same next view, or no node ever left it (members left behind when the others moved
    /// on were excluded, and owe each other nothing there).
    fn owed_between(&self, from: NodeId, view: Option<u64>, to: NodeId) -> bool {
        let Some(v) = view else { return true };
        match (self.next_view.get(&(from, v)), self.next_view.get(&(to, v))) {
            (Some(Some(a)), Some(Some(b))) => a == b,
            (Some(None), Some(None)) => !self.left.contains(&v),
            _ => false,
        }
    }

    /// Whether a delivery due since `since` should have happened by the end of the run.
    fn overdue(&self, since: SimTime, settle_ns: u64, end: &RunEnd) -> bool {
        if self.partitioned {
            return false;
        }
        end.reason == EndReason::Quiescent || since.max(self.last_fault).saturating_add(settle_ns) <= end.at
    }

    /// Liveness verdict over (message, recipient, due since) triples that were owed.
    fn liveness(&self, owed: Vec<(AppId, NodeId, SimTime)>, settle_ns: u64, end: &RunEnd, what: &str) -> Verdict {
        if owed.is_empty() {
            return Verdict::inconclusive(format!("no {what} between correct nodes: nothing to judge"));
        }
        let missing: Vec<_> = owed.iter().filter(|(app, to, _)| !self.delivered.contains_key(&(*app, *to))).collect();
        let overdue: Vec<_> = missing.iter().filter(|(_, _, since)| self.overdue(*since, settle_ns, end)).collect();
        if let Some((app, to, since)) = overdue.first() {
            let s = &self.sent[app];
            return Verdict::fail(format!(
                "{} of {} owed deliveries never happened; first: a{} (multicast by {} at {}, due since {since}) never delivered at {}",
                overdue.len(),
                owed.len(),
                app.0,
                self.name(s.sender),
                s.at,
                self.name(*to)
            ));
        }
        if !missing.is_empty() {
            let why = if self.partitioned { "a partition was still in force" } else { "the network had not been healed long enough" };
            return Verdict::inconclusive(format!(
                "{} of {} owed deliveries missing at the end, but {why} ({})",
                missing.len(),
                owed.len(),
                end.reason
            ));
        }
        Verdict::pass(format!("all {} owed deliveries happened", owed.len()))
    }
}

/// If a correct node multicasts m, every correct recipient eventually delivers m.
pub struct Validity {
    ledger: Ledger,
    settle_ns: u64,
}

impl Validity {
    /// A `Validity` check for `cluster`; a missing delivery fails only once the run is quiescent
    /// or `settle_ns` (nanoseconds) past both its due time and the last fault.
    pub fn new(cluster: Cluster, settle_ns: u64) -> Validity {
        Validity { ledger: Ledger::new(cluster), settle_ns }
    }
}

impl Checker for Validity {
    fn heap_bytes(&self) -> u64 {
        self.ledger.heap_bytes()
    }

    fn observe(&mut self, e: &TraceEvent) {
        self.ledger.observe(e);
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let l = &self.ledger;
        let owed = l
            .sent
            .iter()
            .filter(|(_, s)| l.correct(s.sender))
            .flat_map(|(app, s)| {
                // Sent in the view its sender delivered it in (a sender may hold a command until
                // a view change ends), else in the one it was commanded in.
                let view = l.delivered.get(&(*app, s.sender)).map_or(s.view, |d| d.view);
                s.recipients.iter().filter(move |&&r| l.correct(r) && l.owed_between(s.sender, view, r)).map(move |&r| (*app, r, s.at))
            })
            .collect();
        l.liveness(owed, self.settle_ns, end, "multicast from a correct node to a correct recipient")
    }
}

/// If a correct node delivers m, every correct recipient of m eventually delivers m,
/// whether or not its sender survived.
pub struct Agreement {
    ledger: Ledger,
    settle_ns: u64,
}

impl Agreement {
    /// An `Agreement` check for `cluster`; a missing delivery fails only once the run is
    /// quiescent or `settle_ns` (nanoseconds) past both its due time and the last fault.
    pub fn new(cluster: Cluster, settle_ns: u64) -> Agreement {
        Agreement { ledger: Ledger::new(cluster), settle_ns }
    }
}

impl Checker for Agreement {
    fn heap_bytes(&self) -> u64 {
        self.ledger.heap_bytes()
    }

    fn observe(&mut self, e: &TraceEvent) {
        self.ledger.observe(e);
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let l = &self.ledger;
        // Each delivery at a correct node makes the message owed to the others it is owed
        // between (all of them without a membership service), from the first such delivery.
        let mut first: BTreeMap<(AppId, NodeId), SimTime> = BTreeMap::new();
        for (&(app, node), d) in &l.delivered {
            let Some(sent) = l.sent.get(&app) else { continue };
            if !l.correct(node) {
                continue;
            }
            for &r in sent.recipients.iter().filter(|&&r| l.correct(r) && l.owed_between(node, d.view, r)) {
                let due = first.entry((app, r)).or_insert(d.at);
                *due = (*due).min(d.at);
            }
        }
        let owed = first.into_iter().map(|((app, r), t)| (app, r, t)).collect();
        l.liveness(owed, self.settle_ns, end, "message delivered at a correct node")
    }
}

/// Every delivery is of a commanded message, at one of its recipients, at most once there.
pub struct Integrity {
    cluster: Cluster,
    sent: BTreeMap<AppId, Vec<NodeId>>,
    delivered: BTreeSet<(AppId, NodeId)>,
    deliveries: u64,
    violations: u64,
    first: Option<String>,
}

impl Integrity {
    /// An `Integrity` check for `cluster`, nothing yet multicast.
    pub fn new(cluster: Cluster) -> Integrity {
        Integrity { cluster, sent: BTreeMap::new(), delivered: BTreeSet::new(), deliveries: 0, violations: 0, first: None }
    }
}

impl Checker for Integrity {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.sent), b::nested(self.sent.values(), b::vec), b::set(&self.delivered)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { app, dest, .. } => {
                self.sent.insert(app, self.cluster.group_recipients(dest));
            }
            EventKind::Deliver { node, app, .. } => {
                self.deliveries += 1;
                let problem = match self.sent.get(&app) {
                    None => Some("which was never multicast"),
                    Some(r) if !r.contains(&node) => Some("which was not addressed to it"),
                    Some(_) if !self.delivered.insert((app, node)) => Some("a second time"),
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    self.violations += 1;
                    let who = self.cluster.name(node);
                    self.first.get_or_insert_with(|| format!("{who} delivered a{} {problem}, at {}", app.0, e.time));
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        match &self.first {
            Some(first) => Verdict::fail(format!("deliveries that broke integrity: {}; first: {first}", self.violations)),
            None if self.deliveries == 0 => Verdict::inconclusive("nothing was delivered: nothing to judge"),
            None => Verdict::pass(format!("{} deliveries, each of a multicast message, at a recipient, once", self.deliveries)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::{cmd, deliver, ev};

    fn cluster() -> Cluster {
        let names = (0..3).map(|i| format!("n{i}")).collect();
        Cluster { names, groups: vec![("g".to_string(), vec![NodeId(0), NodeId(1)])] }
    }

    fn end(ms: u64, reason: EndReason) -> RunEnd {
        RunEnd { reason, at: SimTime(ms * 1_000_000), max_latency_ns: 0 }
    }

    fn integrity(events: &[TraceEvent]) -> Verdict {
        let mut c = Integrity::new(cluster());
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&end(100, EndReason::Quiescent))
    }

    #[test]
    fn integrity_names_invented_misaddressed_and_repeated_deliveries() {
        assert_eq!(integrity(&[cmd(0, 0, 1), deliver(1, 0, 1), deliver(2, 1, 1)]).outcome, Outcome::Pass);
        let invented = integrity(&[cmd(0, 0, 1), deliver(1, 1, 7)]);
        assert_eq!(invented.detail, "deliveries that broke integrity: 1; first: n1 delivered a7 which was never multicast, at 1.000ms");
        let outside = integrity(&[cmd(0, 0, 1), deliver(1, 2, 1)]);
        assert_eq!(outside.detail, "deliveries that broke integrity: 1; first: n2 delivered a1 which was not addressed to it, at 1.000ms");
        let twice = integrity(&[cmd(0, 0, 1), deliver(1, 1, 1), deliver(2, 1, 1)]);
        assert_eq!(twice.detail, "deliveries that broke integrity: 1; first: n1 delivered a1 a second time, at 2.000ms");
        assert_eq!(integrity(&[cmd(0, 0, 1)]).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn liveness_waits_for_the_network_to_settle_and_a_partition_to_heal() {
        let heal = ev(50, EventKind::Fault { action: FaultAction::Heal, node: None, index: 1 });
        let partition = ev(40, EventKind::Fault { action: FaultAction::Partition, node: None, index: 0 });
        let validity = |events: &[TraceEvent], end: RunEnd| {
            let mut c = Validity::new(cluster(), 100 * 1_000_000);
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&end).outcome
        };
        let missing = [cmd(0, 0, 1), deliver(0, 0, 1), partition, heal];
        // Healed at 50 ms with 100 ms to settle: judged from 150 ms on, or when nothing is left to happen.
        assert_eq!(validity(&missing, end(149, EndReason::Horizon)), Outcome::Inconclusive);
        assert_eq!(validity(&missing, end(150, EndReason::Horizon)), Outcome::Fail);
        assert_eq!(validity(&missing, end(60, EndReason::Quiescent)), Outcome::Fail);
        // Never healed: never judged.
        assert_eq!(validity(&missing[..3], end(1_000, EndReason::Quiescent)), Outcome::Inconclusive);
        let all = [cmd(0, 0, 1), deliver(0, 0, 1), deliver(3, 1, 1)];
        assert_eq!(validity(&all, end(10, EndReason::Horizon)), Outcome::Pass);
    }

    #[test]
    fn agreement_owes_what_one_correct_node_delivered_even_from_a_crashed_sender() {
        let crash = ev(1, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(2)), index: 0 });
        let cluster = Cluster { groups: vec![("g".to_string(), vec![NodeId(0), NodeId(1), NodeId(2)])], ..cluster() };
        let mut c = Agreement::new(cluster, 0);
        for e in [cmd(0, 2, 1), crash, deliver(2, 0, 1)] {
            c.observe(&e);
        }
        let v = c.verdict(&end(10, EndReason::Quiescent));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("a1 (multicast by n2 at 0.000ms, due since 2.000ms) never delivered at n1"), "{}", v.detail);
    }

    fn view(ms: u64, node: u32, view: u64, members: u64) -> TraceEvent {
        ev(ms, EventKind::View { node: NodeId(node), view, members })
    }

    fn group_of_three() -> Cluster {
        Cluster { groups: vec![("g".to_string(), vec![NodeId(0), NodeId(1), NodeId(2)])], ..cluster() }
    }

    fn judged(events: &[TraceEvent]) -> (Verdict, Verdict) {
        let mut validity = Validity::new(group_of_three(), 0);
        let mut agreement = Agreement::new(group_of_three(), 0);
        for e in events {
            validity.observe(e);
            agreement.observe(e);
        }
        (validity.verdict(&end(100, EndReason::Quiescent)), agreement.verdict(&end(100, EndReason::Quiescent)))
    }

    // Postmortem: Validity owed every live member every message, so a live member that a view
    // change excluded (falsely suspected under loss, as view-synchronous membership does) failed
    // it for what the new view sent without it, and the protocol could never claim Validity.
    #[test]
    fn regression_a_live_member_excluded_by_a_view_change_is_owed_nothing_sent_without_it() {
        let start: Vec<_> = (0..3).map(|n| view(0, n, 0, 0b111)).collect();
        // n0 and n1 move to v1 without n2; n0 then multicasts a1, which n2 never delivers.
        let excluded =
            [start.clone(), vec![view(5, 0, 1, 0b011), view(6, 1, 1, 0b011), cmd(7, 0, 1), deliver(7, 0, 1), deliver(8, 1, 1)]].concat();
        let (validity, agreement) = judged(&excluded);
        assert_eq!(validity.outcome, Outcome::Pass, "{}", validity.detail);
        assert_eq!(agreement.outcome, Outcome::Pass, "{}", agreement.detail);
        // Sent in v0 before the change and delivered by n0 and n1, which left v0 together: not owed at n2, which stayed.
        let before =
            [start.clone(), vec![cmd(1, 0, 1), deliver(1, 0, 1), deliver(2, 1, 1), view(5, 0, 1, 0b011), view(6, 1, 1, 0b011)]].concat();
        assert_eq!(judged(&before).0.outcome, Outcome::Pass, "{}", judged(&before).0.detail);
        // But n1, moving with n0, is owed what n0 sent in v0 and in v1.
        let lacking = [
            start.clone(),
            vec![cmd(1, 0, 1), deliver(1, 0, 1), view(5, 0, 1, 0b011), view(6, 1, 1, 0b011), cmd(7, 0, 2), deliver(7, 0, 2)],
        ]
        .concat();
        let (validity, agreement) = judged(&lacking);
        assert_eq!(validity.outcome, Outcome::Fail);
        assert!(validity.detail.starts_with("2 of 4 owed deliveries never happened"), "{}", validity.detail);
        assert!(
            agreement.detail.contains("a1 (multicast by n0 at 1.000ms, due since 1.000ms) never delivered at n1"),
            "{}",
            agreement.detail
        );
        // Commanded in v0 while its sender was frozen for the change, sent (and delivered by its
        // sender) in v1: sent in v1, so not owed at n2, excluded from it.
        let held =
            [start.clone(), vec![cmd(1, 0, 1), view(5, 0, 1, 0b011), deliver(5, 0, 1), view(6, 1, 1, 0b011), deliver(7, 1, 1)]].concat();
        assert_eq!(judged(&held).0.outcome, Outcome::Pass, "{}", judged(&held).0.detail);
        // Two members left behind in v0 when the others moved on owe each other nothing there.
        let behind = [start.clone(), vec![cmd(1, 1, 1), deliver(1, 1, 1), view(5, 0, 1, 0b001)]].concat();
        assert_eq!(judged(&behind).0.outcome, Outcome::Inconclusive, "{}", judged(&behind).0.detail);
        // Members that all stay in one view to the end owe each other everything, as without views.
        let stuck = [start, vec![cmd(1, 0, 1), deliver(1, 0, 1), deliver(2, 1, 1)]].concat();
        let (validity, _) = judged(&stuck);
        assert!(validity.detail.starts_with("1 of 3 owed deliveries never happened"), "{}", validity.detail);
        assert!(validity.detail.contains("never delivered at n2"), "{}", validity.detail);
    }
}

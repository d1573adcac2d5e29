//! Group-communication checks: `Validity`, `Agreement` and `Integrity`, judged on commands and deliveries in the trace.
//!
//! A multicast's recipients are `Cluster::group_recipients` of its command's
//! destination: every member of the group, the sender included when it is a
//! member. A node is *correct* if it never crashed or paused. Validity and
//! agreement are liveness ("eventually delivered") and are judged fairly: a
//! missing delivery fails only if the run ended with nothing left to happen,
//! or `settle` after both the event that made it due and the last fault, with
//! no partition in force at the end. Otherwise it is inconclusive, never a pass.

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
}

/// The multicasts commanded, what each node delivered, and the faults: what every
/// group check reads from the trace.
struct Ledger {
    cluster: Cluster,
    sent: BTreeMap<AppId, Sent>,
    /// First delivery of each (message, node).
    delivered: BTreeMap<(AppId, NodeId), SimTime>,
    faulty: Vec<bool>,
    last_fault: SimTime,
    partitioned: bool,
}

impl Ledger {
    /// What the ledger holds, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.sent), b::nested(self.sent.values(), |s| b::vec(&s.recipients)), b::map(&self.delivered)])
    }

    fn new(cluster: Cluster) -> Ledger {
        let n = cluster.len();
        Ledger {
            cluster,
            sent: BTreeMap::new(),
            delivered: BTreeMap::new(),
            faulty: vec![false; n],
            last_fault: SimTime::ZERO,
            partitioned: false,
        }
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, dest } => {
                let recipients = self.cluster.group_recipients(dest);
                self.sent.insert(app, Sent { sender: node, at: e.time, recipients });
            }
            EventKind::Deliver { node, app, .. } => {
                self.delivered.entry((app, node)).or_insert(e.time);
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
            .flat_map(|(app, s)| s.recipients.iter().filter(|&&r| l.correct(r)).map(move |&r| (*app, r, s.at)))
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
        // The first delivery of each message at a correct node makes it owed to the others.
        let mut first: BTreeMap<AppId, SimTime> = BTreeMap::new();
        for (&(app, node), &t) in &l.delivered {
            if l.correct(node) && l.sent.contains_key(&app) {
                let f = first.entry(app).or_insert(t);
                *f = (*f).min(t);
            }
        }
        let owed = first
            .iter()
            .flat_map(|(app, &t)| l.sent[app].recipients.iter().filter(|&&r| l.correct(r)).map(move |&r| (*app, r, t)))
            .collect();
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
}

//! `SameDecision`: for every plan handed to one node for another, both take the same decision.
//!
//! A plan is a commanded application message sent to one node; a node's decision to act on it
//! (the Two Generals' attack) is its `deliver` line, and no `deliver` is the decision not to.
//! A plan is judged once both nodes must have decided: `decide_ns` (the protocol's decision
//! delay) after the plan, plus the longest a message takes to reach the other node, plus the
//! same again for its decision; a plan younger than that at the end of the run is not judged.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, NodeId};
use crate::process::{Cluster, Dest};
use crate::time::SimTime;
use crate::trace::{EventKind, TraceEvent};
use std::collections::BTreeMap;

/// One plan: its two nodes, when it was made, and whether each acted on it.
struct Plan {
    from: NodeId,
    to: NodeId,
    at: SimTime,
    from_acted: bool,
    to_acted: bool,
}

/// Checks that the two nodes of every plan decide alike.
pub struct SameDecision {
    cluster: Cluster,
    decide_ns: u64,
    plans: BTreeMap<AppId, Plan>,
}

impl SameDecision {
    /// A checker for plans whose nodes decide `decide_ns` after learning of them.
    pub fn new(cluster: Cluster, decide_ns: u64) -> SameDecision {
        SameDecision { cluster, decide_ns, plans: BTreeMap::new() }
    }
}

impl Checker for SameDecision {
    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, dest: Dest::Node(to) } if to != node => {
                self.plans.insert(app, Plan { from: node, to, at: e.time, from_acted: false, to_acted: false });
            }
            EventKind::Deliver { node, app, .. } => {
                if let Some(p) = self.plans.get_mut(&app) {
                    if node == p.from {
                        p.from_acted = true;
                    } else if node == p.to {
                        p.to_acted = true;
                    }
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        // Both must have decided: the commander after `decide_ns`, the other after the plan's
        // first message arrived and `decide_ns` more.
        let settled = self.decide_ns.saturating_add(end.max_latency_ns).saturating_add(1);
        let quiescent = end.reason == EndReason::Quiescent;
        let judged = self.plans.iter().filter(|(_, p)| quiescent || p.at.0.saturating_add(settled) <= end.at.0);
        let (mut acted, mut held, mut split, mut first) = (0usize, 0usize, 0usize, None);
        for (app, p) in judged {
            match (p.from_acted, p.to_acted) {
                (true, true) => acted += 1,
                (false, false) => held += 1,
                _ => {
                    split += 1;
                    first.get_or_insert((*app, p));
                }
            }
        }
        let name = |n: NodeId| self.cluster.name(n).to_string();
        if let Some((app, p)) = first {
            let (yes, no) = if p.from_acted { (p.from, p.to) } else { (p.to, p.from) };
            return Verdict::fail(format!(
                "{split} of {} plans decided differently; first: a{} (made at {}), {} acted on it and {} did not",
                acted + held + split,
                app.0,
                p.at,
                name(yes),
                name(no)
            ));
        }
        if acted + held == 0 {
            return Verdict::inconclusive("no plan between two nodes had time to be decided: nothing to judge");
        }
        Verdict::pass(format!("{} plans decided alike: {acted} acted on by both, {held} by neither", acted + held))
    }
}

impl crate::plugin::Check for SameDecision {
    const NAME: &'static str = "SameDecision";
    type Config = crate::plugin::NoConfig;

    // Under the Two Generals a plan is judged after its decision delay; under another protocol a
    // `deliver` is the decision, taken as the plan arrives.
    fn build(_: &crate::plugin::NoConfig, scenario: &crate::scenario::Scenario) -> Box<dyn Checker> {
        Box::new(SameDecision::new(scenario.cluster.clone(), crate::protocols::two_generals::decide_ns(scenario)))
    }
}

//! `InOrderOnce`: between every pair of nodes, messages are delivered once each and in the
//! order they were sent. Judged from the trace alone: the workload's `cmd` lines give each
//! pair's order, the `deliver` lines what arrived.

use msgsim::prelude::*;
use std::collections::BTreeMap;

// ANCHOR: checker
/// The check, as scenarios name it; also its checker.
#[derive(Default)]
pub struct InOrderOnce {
    /// Per (sender, receiver): the messages sent, in order, and how many were delivered so far.
    pairs: BTreeMap<(NodeId, NodeId), (Vec<AppId>, usize)>,
    /// Which pair each message belongs to.
    pair_of: BTreeMap<AppId, (NodeId, NodeId)>,
    violation: Option<String>,
    delivered: u64,
    /// The nodes' names, so the verdict speaks as the scenario and the trace do.
    names: Vec<String>,
}

impl Checker for InOrderOnce {
    fn observe(&mut self, event: &TraceEvent) {
        match event.kind {
            EventKind::Command { node, app, dest: Dest::Node(to) } => {
                self.pairs.entry((node, to)).or_default().0.push(app);
                self.pair_of.insert(app, (node, to));
            }
            EventKind::Deliver { node, app, .. } => {
                self.delivered += 1;
                let Some(&pair) = self.pair_of.get(&app) else { return };
                let (sent, next) = self.pairs.get_mut(&pair).expect("a pair for every message sent");
                let name = |n: NodeId| &self.names[n.index()];
                if pair.1 != node {
                    self.violation.get_or_insert(format!("a{} delivered at {}, which it was not sent to", app.0, name(node)));
                } else if sent.get(*next) == Some(&app) {
                    *next += 1;
                } else {
                    let what = if sent[..*next].contains(&app) { "again" } else { "out of order" };
                    let detail = format!("a{} delivered {what} at {} ({} to {})", app.0, event.time, name(pair.0), name(pair.1));
                    self.violation.get_or_insert(detail);
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, _: &RunEnd) -> Verdict {
        match &self.violation {
            Some(v) => Verdict::fail(v.clone()),
            None if self.delivered == 0 => Verdict::inconclusive("nothing was delivered: nothing to judge"),
            None => Verdict::pass(format!("{} deliveries, each once and in order", self.delivered)),
        }
    }
}
// ANCHOR_END: checker

// ANCHOR: check
impl Check for InOrderOnce {
    const NAME: &'static str = "InOrderOnce";
    type Config = NoConfig;

    fn build(_: &NoConfig, scenario: &Scenario) -> Box<dyn Checker> {
        let names = scenario.cluster.nodes().map(|n| scenario.cluster.name(n).to_string()).collect();
        Box::new(InOrderOnce { names, ..InOrderOnce::default() })
    }
}
// ANCHOR_END: check

//! `ExactlyOnceTaken`: every task put on a work queue is taken by exactly one consumer, exactly once.
//!
//! A task is a commanded application message; taking it is its `deliver`
//! line, at whichever node. A second delivery of a task anywhere fails at
//! once, naming both takers. A task never taken fails only if the run ended
//! with nothing left to happen (no retransmission or redelivery could still
//! come); at the horizon it is inconclusive.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{EventKind, TraceEvent};
use std::collections::BTreeMap;

/// Who took a task, and when.
type Taking = (NodeId, SimTime);

pub struct ExactlyOnceTaken {
    cluster: Cluster,
    /// Each task commanded, and its first taker and when, once taken.
    tasks: BTreeMap<AppId, Option<Taking>>,
    /// The first task taken twice: the task, first taker and time, second taker and time.
    twice: Option<(AppId, Taking, Taking)>,
    taken_by: Vec<u64>,
}

impl ExactlyOnceTaken {
    pub fn new(cluster: Cluster) -> ExactlyOnceTaken {
        let n = cluster.len();
        ExactlyOnceTaken { cluster, tasks: BTreeMap::new(), twice: None, taken_by: vec![0; n] }
    }
}

impl Checker for ExactlyOnceTaken {
    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { app, .. } => {
                self.tasks.insert(app, None);
            }
            EventKind::Deliver { node, app, .. } => {
                self.taken_by[node.index()] += 1;
                match self.tasks.get_mut(&app) {
                    Some(slot @ None) => *slot = Some((node, e.time)),
                    Some(Some(first)) if self.twice.is_none() => self.twice = Some((app, *first, (node, e.time))),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let name = |n: NodeId| self.cluster.name(n);
        if let Some((app, (a, ta), (b, tb))) = self.twice {
            return Verdict::fail(format!("task a{} taken twice: by {} at {ta} and by {} at {tb}", app.0, name(a), name(b)));
        }
        if self.tasks.is_empty() {
            return Verdict::inconclusive("no task was put on the queue: nothing to judge");
        }
        let untaken: Vec<AppId> = self.tasks.iter().filter(|(_, t)| t.is_none()).map(|(a, _)| *a).collect();
        if let Some(first) = untaken.first() {
            let what = format!("{} of {} tasks never taken; first: a{}", untaken.len(), self.tasks.len(), first.0);
            return match end.reason {
                EndReason::Quiescent => Verdict::fail(what),
                _ => Verdict::inconclusive(format!("{what}, and the run stopped before they could be")),
            };
        }
        let share: Vec<String> =
            self.taken_by.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| format!("{} {c}", name(NodeId(i as u32)))).collect();
        Verdict::pass(format!("all {} tasks taken exactly once ({})", self.tasks.len(), share.join(", ")))
    }
}

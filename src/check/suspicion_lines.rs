//! The `suspect` lines' own contract: each is a change, so a node never begins suspecting a
//! peer it already suspects, nor stops suspecting one it does not.
//!
//! A detector that reports the same suspicion again at every tick (its timeout test run over
//! the peers it already suspects) breaks it. A crash wipes the node's detector, so after it
//! every peer is trusted again until a new line says otherwise. Checks that read `suspect`
//! lines feed them here and fail with what this reports.

use crate::id::NodeId;
use crate::process::Cluster;
use crate::trace::{EventKind, FaultAction, TraceEvent};

/// Each node's suspicion of each peer as its lines left it, and the first line that changed nothing.
pub struct SuspicionLines {
    n: usize,
    suspects: Vec<bool>,
    first_repeat: Option<String>,
}

impl SuspicionLines {
    /// No one suspected, for a cluster of `n` nodes.
    pub fn new(n: usize) -> SuspicionLines {
        SuspicionLines { n, suspects: vec![false; n * n], first_repeat: None }
    }

    /// Follow `e`.
    pub fn observe(&mut self, e: &TraceEvent, cluster: &Cluster) {
        match e.kind {
            EventKind::Suspicion { node, of, suspected } => {
                let Some(cell) = self.suspects.get_mut(node.index() * self.n + of.index()) else { return };
                if *cell == suspected && self.first_repeat.is_none() {
                    let (p, q) = (cluster.name(node), cluster.name(of));
                    self.first_repeat = Some(if suspected {
                        format!("{p} began suspecting {q} at {}, which it already suspected", e.time)
                    } else {
                        format!("{p} stopped suspecting {q} at {}, which it did not suspect", e.time)
                    });
                }
                *cell = suspected;
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(p)), .. } => {
                let row = p as usize * self.n;
                self.suspects.get_mut(row..row + self.n).into_iter().flatten().for_each(|s| *s = false);
            }
            _ => {}
        }
    }

    /// Whether `node`'s lines left it suspecting `of`.
    pub fn suspects(&self, node: NodeId, of: NodeId) -> bool {
        self.suspects.get(node.index() * self.n + of.index()).copied().unwrap_or(false)
    }

    /// The first line that was no change, if any.
    pub fn repeat(&self) -> Option<&str> {
        self.first_repeat.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::ev;

    // Postmortem: a membership whose timeout test ran over members it already suspected wrote
    // a `suspect` line for a dead member at every heartbeat (set 11's views-resuspects-every-tick)
    // and passed every check.
    #[test]
    fn regression_a_suspicion_is_begun_once_until_it_ends() {
        let cluster = Cluster { names: vec!["a".into(), "b".into()], groups: vec![] };
        let line = |ms, suspected| ev(ms, EventKind::Suspicion { node: NodeId(0), of: NodeId(1), suspected });
        let lines = |events: &[TraceEvent]| {
            let mut l = SuspicionLines::new(2);
            events.iter().for_each(|e| l.observe(e, &cluster));
            l.repeat().map(str::to_string)
        };
        assert_eq!(lines(&[line(1, true), line(2, false), line(3, true)]), None);
        let twice = lines(&[line(1, true), line(2, true)]).expect("a repeat");
        assert!(twice.contains("a began suspecting b at 2.000ms, which it already suspected"), "{twice}");
        // A crash wipes the detector: suspecting again after the restart is a change.
        let crash = ev(2, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        assert_eq!(lines(&[line(1, true), crash, line(3, true)]), None);
        assert!(lines(&[line(1, false)]).is_some(), "trusting a peer already trusted");
    }
}

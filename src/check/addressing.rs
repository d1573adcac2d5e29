//! `NoSelfSend`: no process puts a message on the network addressed to itself.
//!
//! A protocol that picks peers (gossip, rumour mongering, heartbeats to the others of a view)
//! means to pick among the other nodes; a choice that can land on the chooser is an
//! off-by-one in the pick, which wastes a transmission and starves the peer it skipped. No
//! bundled protocol addresses itself, so the check can sit on any of their scenarios; a
//! protocol that does so by design should not carry it. With no send, the verdict is
//! inconclusive.

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::process::Cluster;
use crate::trace::{EventKind, TraceEvent};

/// Checks that no node sends a message to itself.
pub struct NoSelfSend {
    cluster: Cluster,
    sends: u64,
    breaches: Breaches,
}

impl NoSelfSend {
    /// A checker for `cluster`.
    pub fn new(cluster: Cluster) -> NoSelfSend {
        NoSelfSend { cluster, sends: 0, breaches: Breaches::default() }
    }
}

impl Checker for NoSelfSend {
    fn observe(&mut self, e: &TraceEvent) {
        if let EventKind::Send { from, to, msg, .. } = e.kind {
            self.sends += 1;
            if from == to {
                let cluster = &self.cluster;
                self.breaches.record(e.time, || format!("{} sent m{} to itself", cluster.name(from), msg.0));
            }
        }
    }

    fn verdict(&self, _: &RunEnd) -> Verdict {
        if let Some(failed) = self.breaches.verdict("messages a node addressed to itself") {
            return failed;
        }
        if self.sends == 0 {
            return Verdict::inconclusive("no message sent");
        }
        Verdict::pass(format!("{} messages sent, none to its sender", self.sends))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::ev;
    use crate::check::{EndReason, Outcome};
    use crate::id::{MsgId, NodeId};
    use crate::time::SimTime;

    fn judge(pairs: &[(u32, u32)]) -> Verdict {
        let mut c = NoSelfSend::new(Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] });
        for (i, &(from, to)) in pairs.iter().enumerate() {
            c.observe(&ev(i as u64, EventKind::Send { from: NodeId(from), to: NodeId(to), msg: MsgId(i as u64), size: 8 }));
        }
        c.verdict(&RunEnd { at: SimTime(1_000_000_000), reason: EndReason::Quiescent, max_latency_ns: 0 })
    }

    #[test]
    fn sends_to_others_pass_and_one_to_itself_fails() {
        assert_eq!(judge(&[(0, 1), (1, 0)]).outcome, Outcome::Pass);
        let v = judge(&[(0, 1), (1, 1)]);
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("n1 sent m1 to itself"), "{}", v.detail);
        assert_eq!(judge(&[]).outcome, Outcome::Inconclusive);
    }
}

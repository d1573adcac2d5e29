//! Security checks: `NoForgeryAccepted`, `NoPlaintextLeak` and `AccessControlEnforced`, judged from the adversary's trace events.
//!
//! The adversary records what it did to which message id (`adv` lines). A
//! message it tampered with, replayed or forged is *tainted*; one is *accepted*
//! when the receiver's process delivers a payload while handling its arrival: the
//! `deliver` lines a `recv` line's handler records follow it directly, before the
//! next `recv`, `timer`, `cmd` or `fault`. A replay counts only if it delivers a
//! payload that node had delivered before, since a replayed copy that overtakes a
//! lost or refused original carries nothing new. A protocol that held a tainted message back
//! and delivered it from a later handler would escape this attribution; the
//! channels here deliver at once or never. `AccessControlEnforced` attributes deliveries the
//! same way. Every check is inconclusive when the adversary did nothing it judges.

use super::{Checker, RunEnd, Verdict};
use crate::id::{AppId, MsgId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{AdversaryAction, EventKind, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// No message the adversary tampered with, replayed or forged is delivered.
pub struct NoForgeryAccepted {
    cluster: Cluster,
    tainted: BTreeMap<MsgId, AdversaryAction>,
    delivered: BTreeSet<(NodeId, AppId)>,
    /// The receive whose handler's effects are being recorded, if the latest handler was one.
    handling: Option<(NodeId, MsgId)>,
    /// Tainted copies that reached a process.
    arrived: u64,
    /// The first acceptance: when, at which node, of which message.
    first: Option<(SimTime, NodeId, MsgId)>,
    accepted: u64,
    /// Tampered, replayed and forged, in that order.
    kinds: [u64; 3],
}

impl NoForgeryAccepted {
    /// A `NoForgeryAccepted` check for `cluster`, nothing yet tainted.
    pub fn new(cluster: Cluster) -> NoForgeryAccepted {
        NoForgeryAccepted {
            cluster,
            tainted: BTreeMap::new(),
            delivered: BTreeSet::new(),
            handling: None,
            arrived: 0,
            first: None,
            accepted: 0,
            kinds: [0; 3],
        }
    }
}

impl Checker for NoForgeryAccepted {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.tainted), b::set(&self.delivered)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Adversary { action, msg, .. } => {
                let slot = match action {
                    AdversaryAction::Tamper => 0,
                    AdversaryAction::Replay => 1,
                    AdversaryAction::Forge => 2,
                    // An `Admin` line marks a kind, not an alteration: `AccessControlEnforced` judges it.
                    AdversaryAction::Eavesdrop | AdversaryAction::Leak | AdversaryAction::Drop | AdversaryAction::Admin => return,
                };
                self.kinds[slot] += 1;
                self.tainted.insert(msg, action);
            }
            EventKind::Receive { to, msg, corrupted, .. } => {
                // A tampered copy the link then damaged may carry the sealed bytes again (the
                // damage can flip back the very bit the adversary flipped): accepting it is no
                // forgery, and a damaged payload delivered is `NoCorruptionDelivered`'s to judge.
                let restored = corrupted && self.tainted.get(&msg) == Some(&AdversaryAction::Tamper);
                self.handling = (!restored).then_some((to, msg));
                if self.tainted.contains_key(&msg) && !restored {
                    self.arrived += 1;
                }
            }
            // Anything else that runs a handler (a restart boots a process) ends the receive's.
            EventKind::Timer { .. } | EventKind::Command { .. } | EventKind::Fault { .. } => self.handling = None,
            EventKind::Deliver { node, app, .. } => {
                let again = !self.delivered.insert((node, app));
                let action = self.handling.filter(|&(to, _)| to == node).and_then(|(_, msg)| self.tainted.get(&msg).map(|&a| (msg, a)));
                if let Some((msg, action)) = action
                    && (action != AdversaryAction::Replay || again)
                {
                    self.accepted += 1;
                    self.first.get_or_insert((e.time, node, msg));
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        let [tampered, replayed, forged] = self.kinds;
        let did = format!("{tampered} tampered, {replayed} replayed, {forged} forged");
        if let Some((at, node, msg)) = self.first {
            return Verdict::fail(format!(
                "{} accepted m{} from the adversary at {at} ({} acceptance(s) in all; {did})",
                self.cluster.name(node),
                msg.0,
                self.accepted
            ));
        }
        if self.arrived == 0 {
            return Verdict::inconclusive(format!("no tampered, replayed or forged message reached a process ({did})"));
        }
        Verdict::pass(format!("{} adversary message(s) arrived, none accepted ({did})", self.arrived))
    }
}

/// The adversary reads no payload in what it captures.
pub struct NoPlaintextLeak {
    captured: u64,
    leaks: u64,
    first: Option<(SimTime, NodeId, NodeId, MsgId)>,
    cluster: Cluster,
}

impl NoPlaintextLeak {
    /// A `NoPlaintextLeak` check for `cluster`, nothing yet captured.
    pub fn new(cluster: Cluster) -> NoPlaintextLeak {
        NoPlaintextLeak { captured: 0, leaks: 0, first: None, cluster }
    }
}

impl Checker for NoPlaintextLeak {
    fn observe(&mut self, e: &TraceEvent) {
        if let EventKind::Adversary { action, from, to, msg } = e.kind {
            match action {
                AdversaryAction::Eavesdrop => self.captured += 1,
                AdversaryAction::Leak => {
                    self.captured += 1;
                    self.leaks += 1;
                    self.first.get_or_insert((e.time, from, to, msg));
                }
                _ => {}
            }
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        if let Some((at, from, to, msg)) = self.first {
            let name = |n: NodeId| self.cluster.name(n);
            return Verdict::fail(format!(
                "the adversary read a payload in m{} {} -> {} at {at} ({} of {} captured messages readable)",
                msg.0,
                name(from),
                name(to),
                self.leaks,
                self.captured
            ));
        }
        if self.captured == 0 {
            return Verdict::inconclusive("the adversary captured nothing");
        }
        Verdict::pass(format!("{} captured messages, no payload readable", self.captured))
    }
}

/// No `Admin` message is delivered from a true sender the access policy does not name.
///
/// Ground truth: honest members send only `Data` (the workload knows no kinds), so every
/// `Admin` message is one the adversary made, marked by an `adv Admin` line; its true sender
/// is the insider (whatever sender it claims), or no member at all for an adversary on links.
/// An adversary on links knows no format and marks nothing: a bit it flips that turns a kind
/// byte to `Admin` is a tampered message, `NoForgeryAccepted`'s to judge.
pub struct AccessControlEnforced {
    cluster: Cluster,
    /// Sorted: the nodes the policy lets send `Admin`.
    admins: Vec<NodeId>,
    insider: Option<NodeId>,
    /// `Admin` messages whose true sender may not send them.
    forbidden: BTreeSet<MsgId>,
    /// `adv Admin` lines in all, forbidden or not.
    attempts: u64,
    handling: Option<(NodeId, MsgId)>,
    arrived: u64,
    accepted: u64,
    first: Option<(SimTime, NodeId, MsgId)>,
}

impl AccessControlEnforced {
    /// A check for `cluster` under an access policy naming `admins` (the only true senders
    /// allowed `Admin` messages); `insider` is the compromised member, if the adversary is one.
    pub fn new(cluster: Cluster, admins: Vec<NodeId>, insider: Option<NodeId>) -> AccessControlEnforced {
        AccessControlEnforced {
            cluster,
            admins,
            insider,
            forbidden: BTreeSet::new(),
            attempts: 0,
            handling: None,
            arrived: 0,
            accepted: 0,
            first: None,
        }
    }
}

impl Checker for AccessControlEnforced {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::set(&self.forbidden)
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Adversary { action: AdversaryAction::Admin, msg, .. } => {
                self.attempts += 1;
                if self.insider.is_none_or(|n| self.admins.binary_search(&n).is_err()) {
                    self.forbidden.insert(msg);
                }
            }
            EventKind::Receive { to, msg, .. } => {
                self.handling = Some((to, msg));
                self.arrived += u64::from(self.forbidden.contains(&msg));
            }
            EventKind::Timer { .. } | EventKind::Command { .. } | EventKind::Fault { .. } => self.handling = None,
            EventKind::Deliver { node, .. } => {
                if let Some((to, msg)) = self.handling
                    && to == node
                    && self.forbidden.contains(&msg)
                {
                    self.accepted += 1;
                    self.first.get_or_insert((e.time, node, msg));
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, _end: &RunEnd) -> Verdict {
        let sender = self.insider.map_or("an outsider", |n| self.cluster.name(n));
        if let Some((at, node, msg)) = self.first {
            return Verdict::fail(format!(
                "{} acted on Admin message m{} from {sender}, whom the policy does not permit, at {at} ({} of {} forbidden arrivals acted on)",
                self.cluster.name(node),
                msg.0,
                self.accepted,
                self.arrived
            ));
        }
        if self.arrived == 0 {
            return Verdict::inconclusive(format!("no forbidden Admin message reached a process ({} attempted)", self.attempts));
        }
        Verdict::pass(format!("{} forbidden Admin message(s) from {sender} arrived, none acted on", self.arrived))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EndReason, Outcome};
    use super::*;
    use crate::check::test_events::{deliver, ev};

    fn cluster() -> Cluster {
        Cluster { names: vec!["a".into(), "b".into(), "c".into()], groups: vec![] }
    }

    fn end() -> RunEnd {
        RunEnd { reason: EndReason::Quiescent, at: SimTime(0), max_latency_ns: 0 }
    }

    fn adv(ms: u64, action: AdversaryAction, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Adversary { action, from: NodeId(0), to: NodeId(1), msg: MsgId(msg) })
    }

    fn recv(ms: u64, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), corrupted: false })
    }

    fn judge(c: &mut dyn Checker, events: &[TraceEvent]) -> Outcome {
        for e in events {
            c.observe(e);
        }
        c.verdict(&end()).outcome
    }

    #[test]
    fn a_delivery_in_a_tainted_receive_handler_fails() {
        let events = [adv(1, AdversaryAction::Forge, 7), recv(1, 7), deliver(1, 1, 0)];
        assert_eq!(judge(&mut NoForgeryAccepted::new(cluster()), &events), Outcome::Fail);
    }

    /// Postmortem: a tampered copy the link damaged back to its sealed bytes was accepted, as
    /// it should be, and counted as a forgery (2 of 1,000 seeds of a secure channel over
    /// damaging links with a tampering adversary).
    #[test]
    fn regression_a_tampered_copy_the_link_then_damaged_is_not_a_forgery() {
        let damaged = ev(1, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(7), corrupted: true });
        let events = [adv(1, AdversaryAction::Tamper, 7), damaged, deliver(1, 1, 0)];
        assert_ne!(judge(&mut NoForgeryAccepted::new(cluster()), &events), Outcome::Fail);
        // Intact, the tampered copy accepted still fails.
        let events = [adv(1, AdversaryAction::Tamper, 7), recv(1, 7), deliver(1, 1, 0)];
        assert_eq!(judge(&mut NoForgeryAccepted::new(cluster()), &events), Outcome::Fail);
    }

    #[test]
    fn a_refused_forgery_passes_and_a_genuine_delivery_is_not_blamed() {
        let events = [adv(1, AdversaryAction::Replay, 7), recv(1, 7), recv(2, 3), deliver(2, 1, 0)];
        assert_eq!(judge(&mut NoForgeryAccepted::new(cluster()), &events), Outcome::Pass);
    }

    #[test]
    fn a_replay_fails_only_when_it_delivers_a_payload_again() {
        let first = [adv(1, AdversaryAction::Replay, 7), recv(1, 7), deliver(1, 1, 0)];
        assert_eq!(judge(&mut NoForgeryAccepted::new(cluster()), &first), Outcome::Pass);
        let again = [recv(1, 3), deliver(1, 1, 0), adv(2, AdversaryAction::Replay, 7), recv(2, 7), deliver(2, 1, 0)];
        assert_eq!(judge(&mut NoForgeryAccepted::new(cluster()), &again), Outcome::Fail);
    }

    #[test]
    fn no_tainted_arrival_is_inconclusive() {
        let events = [adv(1, AdversaryAction::Eavesdrop, 3), recv(2, 3), deliver(2, 1, 0)];
        assert_eq!(judge(&mut NoForgeryAccepted::new(cluster()), &events), Outcome::Inconclusive);
        assert_eq!(judge(&mut NoPlaintextLeak::new(cluster()), &[]), Outcome::Inconclusive);
    }

    fn access(insider: Option<u32>) -> AccessControlEnforced {
        AccessControlEnforced::new(cluster(), vec![NodeId(0)], insider.map(NodeId))
    }

    #[test]
    fn an_admin_message_from_a_node_the_policy_omits_fails_only_if_acted_on() {
        let acted = [adv(1, AdversaryAction::Admin, 7), recv(1, 7), deliver(1, 1, 0)];
        assert_eq!(judge(&mut access(Some(2)), &acted), Outcome::Fail);
        let refused = [adv(1, AdversaryAction::Admin, 7), recv(1, 7), recv(2, 3), deliver(2, 1, 0)];
        assert_eq!(judge(&mut access(Some(2)), &refused), Outcome::Pass);
    }

    #[test]
    fn the_claimed_sender_does_not_matter_only_the_true_one() {
        // `adv` lines claim node 0, the admin; the true sender is the insider, node 2.
        let forged = [adv(1, AdversaryAction::Forge, 7), adv(1, AdversaryAction::Admin, 7), recv(1, 7), deliver(1, 1, 0)];
        assert_eq!(judge(&mut access(Some(2)), &forged), Outcome::Fail);
        // An insider the policy names may send Admin: nothing forbidden happened.
        assert_eq!(judge(&mut access(Some(0)), &forged), Outcome::Inconclusive);
    }

    #[test]
    fn no_forbidden_arrival_is_inconclusive() {
        let events = [adv(1, AdversaryAction::Forge, 7), recv(1, 7), deliver(1, 1, 0)];
        assert_eq!(judge(&mut access(Some(2)), &events), Outcome::Inconclusive);
    }

    #[test]
    fn a_readable_capture_fails_and_sealed_ones_pass() {
        let sealed = [adv(1, AdversaryAction::Eavesdrop, 1), adv(2, AdversaryAction::Eavesdrop, 2)];
        assert_eq!(judge(&mut NoPlaintextLeak::new(cluster()), &sealed), Outcome::Pass);
        let leaky = [adv(1, AdversaryAction::Eavesdrop, 1), adv(2, AdversaryAction::Leak, 2)];
        assert_eq!(judge(&mut NoPlaintextLeak::new(cluster()), &leaky), Outcome::Fail);
    }
}

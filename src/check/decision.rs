//! `SameDecision`: for every plan handed to one node for another, both take the same decision; `ActsOnLastRound`: a Two Generals general acts only on the round due to it last.
//!
//! A plan is a commanded application message sent to one node; a node's decision to act on it
//! (the Two Generals' attack) is its `deliver` line, and no `deliver` is the decision not to.
//! A plan is judged once both nodes must have decided: `decide_ns` (the protocol's decision
//! delay) after the plan, plus the longest a message takes to reach the other node, plus the
//! same again for its decision; a plan younger than that at the end of the run is not judged.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{AppId, MsgId, NodeId};
use crate::process::{Cluster, Dest};
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
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
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::map(&self.plans)
    }

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

/// Checks the Two Generals' decision rule: a general acts on a plan (its `deliver`) only after
/// an intact copy of the last round due to it arrived: the commander's is the last even round,
/// the other general's the last odd one (with one round, the commander owes nothing).
///
/// Rounds are not named in the trace; they are followed as the protocol makes them: round 1
/// is the commander's send in the step of the plan's `command` line, and round i+1 the send
/// in the step of an intact `recv` of round i (a step's lines are consecutive). A `recv` that
/// triggers no send (a duplicate, a late round, the last one) still counts as received.
///
/// The decision is final, so a general sends no round of a plan after deciding it: the
/// commander decides `decide_ns` of its clock after the plan, the other general as long after
/// round 1 first reached it intact (again after a crash, which forgets the plans). A round sent
/// later (a decided general still answering, so its peer completes a round it did not count)
/// fails; at the very instant of the decision either order is right, and a general paused or
/// waiting on a send meanwhile, its decision timer held, is not judged.
pub struct ActsOnLastRound {
    cluster: Cluster,
    /// The protocol's number of rounds; `None` under another protocol (nothing judged).
    rounds: Option<u32>,
    /// The protocol's decision delay, and each node's clock (missing: exact).
    decide_ns: u64,
    clocks: Vec<Clock>,
    /// When each general decides each plan it knows of.
    decides: BTreeMap<(AppId, NodeId), SimTime>,
    /// The first round sent after its sender's decision: plan, round, sender, when, decided at.
    after_decision: Option<(AppId, u32, NodeId, SimTime, SimTime)>,
    /// When each node's timers were held (paused, or waiting on a send).
    held: super::Holds,
    /// Each round's transmission: its plan and number.
    msgs: BTreeMap<MsgId, (AppId, u32)>,
    /// The next send by this node at this time is round `u32` of this plan.
    next: Option<(NodeId, SimTime, AppId, u32)>,
    /// The rounds each node received intact, per plan.
    received: BTreeMap<(AppId, NodeId), Vec<u32>>,
    /// Each plan's commander.
    commanders: BTreeMap<AppId, NodeId>,
    /// The decisions to act: plan, node, and when.
    acted: Vec<(AppId, NodeId, SimTime)>,
}

impl ActsOnLastRound {
    /// A checker for Two Generals runs of `rounds` rounds (`None`: another protocol) whose
    /// generals decide `decide_ns` of their `clocks` after learning of a plan.
    pub fn new(cluster: Cluster, rounds: Option<u32>, decide_ns: u64, clocks: Vec<Clock>) -> ActsOnLastRound {
        ActsOnLastRound {
            cluster,
            rounds,
            decide_ns,
            clocks,
            decides: BTreeMap::new(),
            after_decision: None,
            held: super::Holds::default(),
            msgs: BTreeMap::new(),
            next: None,
            received: BTreeMap::new(),
            commanders: BTreeMap::new(),
            acted: Vec::new(),
        }
    }
}

impl ActsOnLastRound {
    /// Whether `node`'s timers were held at some time from its decision due at `decided` back to
    /// when it learned the plan, or until `until`: its decision may then come later than due.
    fn held_within(&self, node: NodeId, decided: SimTime, until: SimTime) -> bool {
        let learned = decided.0.saturating_sub(self.clocks.get(node.index()).copied().unwrap_or_default().real_duration(self.decide_ns));
        self.held.within(node, SimTime(learned), until)
    }

    /// `node` learned of plan `app` at `at` (the first time only): it decides `decide_ns` of its clock later.
    fn decide(&mut self, app: AppId, node: NodeId, at: SimTime) {
        let after = self.clocks.get(node.index()).copied().unwrap_or_default().real_duration(self.decide_ns);
        self.decides.entry((app, node)).or_insert(at.saturating_add(after));
    }
}

impl Checker for ActsOnLastRound {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.msgs),
            b::map(&self.received),
            b::nested(self.received.values(), b::vec),
            b::map(&self.commanders),
            b::map(&self.decides),
            self.held.heap_bytes(),
            b::vec(&self.acted),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        // A paused or waiting general's decision timer is held: it decides later than due.
        self.held.observe(e);
        let next = self.next.take();
        match e.kind {
            EventKind::Command { node, app, dest: Dest::Node(to) } if to != node => {
                self.commanders.insert(app, node);
                self.decide(app, node, e.time);
                self.next = Some((node, e.time, app, 1));
            }
            EventKind::Send { from, msg, .. } => {
                if let Some((node, at, app, round)) = next
                    && node == from
                    && at == e.time
                {
                    self.msgs.insert(msg, (app, round));
                    if let Some(&decided) = self.decides.get(&(app, from))
                        && e.time > decided
                        && !self.held_within(from, decided, e.time)
                    {
                        self.after_decision.get_or_insert((app, round, from, e.time, decided));
                    }
                }
            }
            EventKind::Receive { to, msg, corrupted: false, .. } => {
                if let Some(&(app, round)) = self.msgs.get(&msg) {
                    if round == 1 {
                        self.decide(app, to, e.time);
                    }
                    self.received.entry((app, to)).or_default().push(round);
                    self.next = Some((to, e.time, app, round + 1));
                }
            }
            EventKind::Deliver { node, app, .. } => self.acted.push((app, node, e.time)),
            // A crashed general forgets its plans; a late round 1 after its restart starts one again.
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => self.decides.retain(|&(_, n), _| n != node),
            _ => {}
        }
    }

    fn verdict(&self, _: &RunEnd) -> Verdict {
        let Some(rounds) = self.rounds else {
            return Verdict::inconclusive("not a `TwoGenerals` run: nothing to judge");
        };
        if let Some((app, round, node, at, decided)) = self.after_decision {
            return Verdict::fail(format!(
                "{} sent round {round} of a{} at {at}, after deciding it at {decided}",
                self.cluster.name(node),
                app.0
            ));
        }
        let mut judged = 0;
        for &(app, node, at) in &self.acted {
            let Some(&commander) = self.commanders.get(&app) else { continue };
            let parity = if node == commander { 0 } else { 1 };
            let due = (1..=rounds).rev().find(|r| r % 2 == parity).unwrap_or(0);
            judged += 1;
            if due > 0 && !self.received.get(&(app, node)).is_some_and(|r| r.contains(&due)) {
                return Verdict::fail(format!(
                    "{} acted on a{} at {at} without round {due} of {rounds}, the last due to it",
                    self.cluster.name(node),
                    app.0
                ));
            }
        }
        if judged == 0 {
            return Verdict::inconclusive("no general acted on a plan: nothing to judge");
        }
        Verdict::pass(format!("{judged} decisions to act, each after the last round due to the general arrived"))
    }
}

impl crate::plugin::Check for ActsOnLastRound {
    const NAME: &'static str = "ActsOnLastRound";
    type Config = crate::plugin::NoConfig;

    fn build(_: &crate::plugin::NoConfig, scenario: &crate::scenario::Scenario) -> Box<dyn Checker> {
        let decide_ns = crate::protocols::two_generals::decide_ns(scenario);
        Box::new(ActsOnLastRound::new(
            scenario.cluster.clone(),
            crate::protocols::two_generals::rounds(scenario),
            decide_ns,
            scenario.clocks.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::{deliver, ev};
    use crate::time::SimTime;

    fn cluster() -> Cluster {
        Cluster { names: ["a", "b"].map(String::from).to_vec(), groups: vec![] }
    }

    fn send(ms: u64, from: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(1 - from), msg: MsgId(msg), size: 16 })
    }

    fn recv(ms: u64, to: u32, msg: u64, corrupted: bool) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(1 - to), to: NodeId(to), msg: MsgId(msg), corrupted })
    }

    fn judge(events: &[TraceEvent]) -> Verdict {
        judge_deciding_after(50, events)
    }

    fn judge_deciding_after(decide_ms: u64, events: &[TraceEvent]) -> Verdict {
        let mut checker = ActsOnLastRound::new(cluster(), Some(3), decide_ms * 1_000_000, vec![]);
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(100_000_000), max_latency_ns: 0 })
    }

    /// Plan a0, a to b, three rounds: round 1 (m1), 2 (m2), 3 (m3), each sent as the one before arrives.
    fn rounds(third_intact: bool) -> Vec<TraceEvent> {
        let plan = ev(0, EventKind::Command { node: NodeId(0), app: AppId(0), dest: Dest::Node(NodeId(1)) });
        vec![plan, send(0, 0, 1), recv(3, 1, 1, false), send(3, 1, 2), recv(6, 0, 2, false), send(6, 0, 3), recv(9, 1, 3, !third_intact)]
    }

    #[test]
    fn acting_after_the_last_round_due_passes_and_acting_without_it_fails() {
        let mut all = rounds(true);
        all.extend([deliver(50, 0, 0), deliver(53, 1, 0)]);
        let pass = judge(&all);
        assert_eq!(pass.outcome, Outcome::Pass, "{}", pass.detail);
        assert!(pass.detail.starts_with("2 decisions"), "{}", pass.detail);
        // Round 3 arrived damaged: b must not act on it.
        let mut damaged = rounds(false);
        damaged.extend([deliver(50, 0, 0), deliver(53, 1, 0)]);
        let fail = judge(&damaged);
        assert_eq!(fail.outcome, Outcome::Fail, "{}", fail.detail);
        assert!(fail.detail.contains("b acted on a0 at 53.000ms without round 3 of 3"), "{}", fail.detail);
        // A round sent in another step (not in reply to the round before) is not that round.
        let plan = ev(0, EventKind::Command { node: NodeId(0), app: AppId(0), dest: Dest::Node(NodeId(1)) });
        let stray = [plan, send(0, 0, 1), recv(3, 1, 1, false), send(4, 1, 2), recv(6, 0, 2, false), deliver(50, 0, 0)];
        assert_eq!(judge(&stray).outcome, Outcome::Fail);
        // No one acted, or another protocol: nothing to judge.
        assert_eq!(judge(&rounds(true)).outcome, Outcome::Inconclusive);
        let mut other = ActsOnLastRound::new(cluster(), None, 0, vec![]);
        all.iter().for_each(|e| other.observe(e));
        let end = RunEnd { reason: EndReason::Quiescent, at: SimTime(0), max_latency_ns: 0 };
        assert_eq!(other.verdict(&end).outcome, Outcome::Inconclusive);
    }

    // Postmortem: a general that had decided kept answering rounds, so its peer completed a
    // round the decided one never counted, and every check passed: the bundled scenarios' rounds
    // all ended long before the decision.
    #[test]
    fn a_round_sent_after_its_sender_decided_fails() {
        // a decides a0 4 ms after the plan, and still sends round 3 at 6 ms.
        let verdict = judge_deciding_after(4, &rounds(true));
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("a sent round 3 of a0 at 6.000ms, after deciding it at 4.000ms"), "{}", verdict.detail);
        // At the instant of the decision either order is right; later decisions leave time for every round.
        assert_eq!(judge_deciding_after(6, &rounds(true)).outcome, Outcome::Inconclusive);
        assert_eq!(judge_deciding_after(50, &rounds(true)).outcome, Outcome::Inconclusive);
        // Paused across its decision, a's timer is held: round 3 sent on resuming is not judged.
        let pause = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(0)), index: 0 });
        let mut paused = rounds(true);
        paused.insert(1, pause(1, FaultAction::Pause));
        paused.insert(4, pause(5, FaultAction::Resume));
        assert_eq!(judge_deciding_after(4, &paused).outcome, Outcome::Inconclusive, "{}", judge_deciding_after(4, &paused).detail);
    }
}

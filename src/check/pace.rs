//! `RoundPace`: a protocol that runs in periodic rounds runs one round per period on each node, no faster, no more messages a round than it declares, and (where it declares rounds every period) no slower.
//!
//! The protocol declares its rounds (`Protocol::rounds`: the period on the node's clock, the
//! most messages a round sends, and whether a node runs a round every period from its start).
//! A round is a firing of the node's timer (`timer` line), and its messages are the `send`
//! lines of that firing's handler. Judged per node, from the trace alone:
//! - two firings are never closer than a period (the period read on the node's clock, so a
//!   drifting clock's shorter or longer real period is allowed for): a second timer chain, a
//!   round timer armed twice, shows as firings closer than that;
//! - a firing sends at most `per_round` messages;
//! - with `every_period`, the firings come exactly a period apart from the node's start (or
//!   restart), and the last one less than a period before the run ended: a round re-armed late,
//!   or a chain that stopped, fails.
//!
//! A crash ends a node's rounds and its restart starts them again; a pause, or a wait of the
//! node's own (a blocking send, a full mailbox's back-pressure), holds its timers, so the gap
//! across one is not judged, nor is lateness at a node with a mailbox (a timer there waits its
//! turn behind the messages). Without declared rounds, or with no round fired, the verdict is
//! inconclusive.

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::NodeId;
use crate::process::Cluster;
use crate::scenario::Rounds;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};

/// Checks each node's rounds against the rounds its protocol declares.
pub struct RoundPace {
    cluster: Cluster,
    clocks: Vec<Clock>,
    rounds: Option<Rounds>,
    /// Per node: whether a mailbox may delay its handlers (lateness is then not judged).
    queued: Vec<bool>,
    /// Per node: the time its rounds are counted from (its start, restart or last firing), or
    /// `None` while it is down, or until its first firing after a pause.
    since: Vec<Option<SimTime>>,
    /// Per node: whether it is crashed.
    down: Vec<bool>,
    /// The firing whose handler is running: its node and the messages it sent so far.
    firing: Option<(NodeId, u32)>,
    fired: u64,
    early: Breaches,
    crowded: Breaches,
    late: Breaches,
}

impl RoundPace {
    /// A checker for `cluster` whose nodes keep `clocks` (missing ones are exact) and whose
    /// protocol declares `rounds` (`None`: nothing to judge); `queued` marks nodes with a mailbox.
    pub fn new(cluster: Cluster, clocks: Vec<Clock>, rounds: Option<Rounds>, queued: Vec<bool>) -> RoundPace {
        let n = cluster.len();
        RoundPace {
            cluster,
            clocks,
            rounds,
            queued,
            since: vec![Some(SimTime(0)); n],
            down: vec![false; n],
            firing: None,
            fired: 0,
            early: Breaches::default(),
            crowded: Breaches::default(),
            late: Breaches::default(),
        }
    }

    /// The real length of `node`'s period.
    fn period(&self, node: NodeId, rounds: Rounds) -> u64 {
        self.clocks.get(node.index()).copied().unwrap_or_default().real_duration(rounds.period_ns)
    }

    fn judges_lateness(&self, node: NodeId, rounds: Rounds) -> bool {
        rounds.every_period && !self.queued.get(node.index()).copied().unwrap_or(false)
    }

    fn fire(&mut self, node: NodeId, at: SimTime, rounds: Rounds) {
        self.fired += 1;
        self.firing = Some((node, 0));
        let period = self.period(node, rounds);
        if let Some(since) = self.since[node.index()] {
            let gap = at.0.saturating_sub(since.0);
            let name = self.cluster.name(node);
            if gap < period {
                self.early
                    .record(at, || format!("{name} ran a round {} after the one before (its period is {})", SimTime(gap), SimTime(period)));
            } else if gap > period && self.judges_lateness(node, rounds) {
                self.late.record(at, || {
                    format!("{name} ran a round {} after the one before or its start (its period is {})", SimTime(gap), SimTime(period))
                });
            }
        }
        self.since[node.index()] = Some(at);
    }
}

impl Checker for RoundPace {
    fn observe(&mut self, e: &TraceEvent) {
        let Some(rounds) = self.rounds else { return };
        match e.kind {
            EventKind::Timer { node, .. } => self.fire(node, e.time, rounds),
            EventKind::Send { from, msg, .. } => match &mut self.firing {
                Some((node, sent)) if *node == from => {
                    *sent += 1;
                    if *sent > rounds.per_round {
                        let (name, per_round) = (self.cluster.name(from), rounds.per_round);
                        self.crowded
                            .record(e.time, || format!("{name} sent m{} as message {sent} of one round (at most {per_round})", msg.0));
                    }
                }
                _ => self.firing = None,
            },
            EventKind::Receive { .. } | EventKind::Command { .. } => self.firing = None,
            EventKind::Fault { action, node, .. } => {
                self.firing = None;
                let Some(node) = node else { return };
                match action {
                    FaultAction::Crash => {
                        self.down[node.index()] = true;
                        self.since[node.index()] = None;
                    }
                    FaultAction::Restart => {
                        self.down[node.index()] = false;
                        self.since[node.index()] = Some(e.time);
                    }
                    FaultAction::Pause => self.since[node.index()] = None,
                    _ => {}
                }
            }
            // A node waiting has its timers held, as a paused one has.
            EventKind::Block { node, .. } => {
                self.firing = None;
                self.since[node.index()] = None;
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some(rounds) = self.rounds else {
            return Verdict::inconclusive("the protocol declares no periodic rounds: nothing to judge");
        };
        if let Some(failed) = self.early.verdict("rounds closer than a period") {
            return failed;
        }
        if let Some(failed) = self.crowded.verdict("messages beyond a round's share") {
            return failed;
        }
        // A chain that stopped: a node up at the end whose last round is more than a period old.
        let mut stopped = Breaches::default();
        for (i, since) in self.since.iter().enumerate() {
            let node = NodeId(i as u32);
            if let Some(since) = since
                && !self.down[i]
                && self.judges_lateness(node, rounds)
                && end.at.0.saturating_sub(since.0) > self.period(node, rounds)
            {
                let name = self.cluster.name(node);
                stopped.record(*since, || format!("{name} ran its last round, more than a period before the run ended at {}", end.at));
            }
        }
        if let Some(failed) = self.late.verdict("rounds later than a period").or_else(|| stopped.verdict("nodes whose rounds stopped")) {
            return failed;
        }
        if self.fired == 0 {
            return Verdict::inconclusive("no round ran: nothing to judge");
        }
        let pace = if rounds.every_period { "exactly a period apart" } else { "at least a period apart" };
        Verdict::pass(format!("{} rounds, {pace}, each of at most {} message(s)", self.fired, rounds.per_round))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::EndReason;
    use crate::check::Outcome;
    use crate::check::test_events::ev;
    use crate::id::{MsgId, TimerId};

    fn cluster() -> Cluster {
        Cluster { names: ["a", "b"].map(String::from).to_vec(), groups: vec![] }
    }

    fn fire(ms: u64, node: u32) -> TraceEvent {
        ev(ms, EventKind::Timer { node: NodeId(node), timer: TimerId(0) })
    }

    fn send(ms: u64, from: u32) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(1 - from), msg: MsgId(0), size: 8 })
    }

    fn judge(every_period: bool, events: &[TraceEvent], end_ms: u64) -> Verdict {
        let rounds = Rounds { period_ns: 10_000_000, per_round: 1, every_period };
        let mut checker = RoundPace::new(cluster(), vec![], Some(rounds), vec![false; 2]);
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(end_ms * 1_000_000), max_latency_ns: 0 })
    }

    // Postmortem: a rumour monger arming a new round timer for every rumour it learned pushed
    // several times a period, and every check passed: all the rumours still spread.
    #[test]
    fn rounds_closer_than_a_period_fail() {
        let paced = [fire(10, 0), send(10, 0), fire(25, 0), send(25, 0)];
        assert_eq!(judge(false, &paced, 30).outcome, Outcome::Pass);
        let twice = [fire(10, 0), send(10, 0), fire(13, 0), send(13, 0)];
        let verdict = judge(false, &twice, 30);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("a ran a round 3.000ms after the one before"), "{}", verdict.detail);
    }

    #[test]
    fn a_round_sends_at_most_its_share() {
        let two = [fire(10, 0), send(10, 0), send(10, 0)];
        let verdict = judge(false, &two, 15);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        // A reply sent on a receive is not the round's.
        let reply = [
            fire(10, 0),
            send(10, 0),
            ev(11, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(1), corrupted: false }),
            send(11, 0),
        ];
        assert_eq!(judge(false, &reply, 15).outcome, Outcome::Pass);
    }

    #[test]
    fn rounds_every_period_may_be_neither_late_nor_stop() {
        let exact = [fire(10, 0), fire(10, 1), fire(20, 0), fire(20, 1)];
        assert_eq!(judge(true, &exact, 25).outcome, Outcome::Pass);
        let late = [fire(10, 0), fire(10, 1), fire(25, 0), fire(20, 1)];
        assert_eq!(judge(true, &late, 26).outcome, Outcome::Fail);
        // b's rounds stopped after 10 ms.
        let stopped = [fire(10, 0), fire(10, 1), fire(20, 0)];
        let verdict = judge(true, &stopped, 25);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("b ran its last round"), "{}", verdict.detail);
        // Rounds that may stop: the same is fine.
        assert_eq!(judge(false, &stopped, 25).outcome, Outcome::Pass);
        // A crash ends the rounds, a restart starts them again a period later.
        let crash = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(1)), index: 0 });
        let restarted =
            [fire(10, 0), fire(10, 1), crash(12, FaultAction::Crash), fire(20, 0), crash(14, FaultAction::Restart), fire(24, 1)];
        assert_eq!(judge(true, &restarted, 30).outcome, Outcome::Pass, "{}", judge(true, &restarted, 30).detail);
        // A blocked node's timers are held: the gap across the wait is not judged.
        let block =
            ev(12, EventKind::Block { node: NodeId(1), on: NodeId(0), reason: crate::trace::BlockReason::BackPressure, timeout: false });
        let held = [fire(10, 0), fire(10, 1), block, fire(20, 0), fire(30, 0), fire(36, 1), fire(40, 0), fire(46, 1)];
        assert_eq!(judge(true, &held, 48).outcome, Outcome::Pass, "{}", judge(true, &held, 48).detail);
    }
}

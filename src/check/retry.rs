//! `RetryBackoff`: retransmissions follow the retry policy the protocol declares: waits that
//! grow as the policy says, no attempt past the last, none after the acknowledgement arrived.
//!
//! A protocol marks each transmission of something it may resend with an `attempt` line
//! (`Ctx::send_attempt`: the series it belongs to and the attempt's number), and each
//! acknowledgement with an `ack` line (`Ctx::send_ack`). For every series of a node to one
//! recipient the check judges:
//! - the numbers: each attempt's number is above the previous one's, and no larger than
//!   `max_attempts`; under a policy whose waits start at the send (a retransmission timer),
//!   the numbers are consecutive, since every attempt is a send;
//! - the waits, from the policy as the scenario wrote it (and its jitter's shape), computed here rather than taken
//!   from the protocol's own arithmetic: the wait after attempt 1 is `base`, each next one
//!   `factor` times the previous, capped at `cap`; the gap between two attempts is at least
//!   the waits between them, and, when waits start at the send and the node was neither
//!   paused nor blocked in between, at most the wait plus its largest jitter. Both are
//!   converted to simulated time through the node's clock, so a drifting clock is no excuse;
//! - the acknowledgement: once an intact `ack` of the series from the recipient has arrived,
//!   no further attempt of it is made to that recipient; and, for a protocol that
//!   acknowledges at all, every attempt that arrives intact is acknowledged, to the node that
//!   sent it, unless its recipient crashed.
//!
//! - the budget, for a policy with one: counting every unit of a series after its first as a
//!   retry (attempts sent, and attempts a circuit breaker refused: its `call ... rejected`
//!   lines), a node's retries never outrun what its bucket could hold: `burst` to start with
//!   and after each restart, plus `ratio` per call commanded. A refused attempt also explains
//!   a series whose first `attempt` line is not attempt 1.
//!
//! A crash forgets the node's series (a restarted process numbers afresh). Without a declared
//! policy, or without any retransmission to judge, the verdict is inconclusive.

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{MsgId, NodeId};
use crate::process::Cluster;
use crate::rng::PPB;
use crate::scenario::{JitterShape, RetryBudget, RetryPolicy, WaitFrom};
use crate::time::{NANOS_PER_MS, SimTime};
use crate::trace::{CallOutcome, EventKind, FaultAction, TraceEvent};
use std::collections::BTreeMap;

/// The policy in integer nanoseconds, converted here independently of any protocol.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    base_ns: u128,
    factor_milli: u128,
    cap_ns: u128,
    jitter_ppb: u128,
    max_attempts: u64,
    wait_from: WaitFrom,
    jitter: JitterShape,
    budget: Option<RetryBudget>,
}

impl Schedule {
    fn new(policy: &RetryPolicy) -> Schedule {
        let r = &policy.retry;
        let ns = |ms: f64| (ms * NANOS_PER_MS as f64).round().max(0.0) as u128;
        Schedule {
            base_ns: ns(r.base_ms.0),
            factor_milli: (r.factor.0 * 1000.0).round().max(0.0) as u128,
            cap_ns: ns(r.cap_ms.0),
            jitter_ppb: r.jitter.map_or(0, |j| (j.0 * 1e9).round().max(0.0) as u128),
            max_attempts: r.max_attempts.0,
            wait_from: policy.wait_from,
            jitter: policy.jitter,
            budget: policy.budget,
        }
    }

    /// The shortest wait the jitter may draw after attempt `n`.
    fn least_after(&self, n: u64) -> u128 {
        match self.jitter {
            JitterShape::Proportional => self.wait_after(n),
            JitterShape::Full => 0,
            JitterShape::Equal => self.wait_after(n) / 2,
            JitterShape::Decorrelated => self.base_ns,
        }
    }

    /// The wait, before jitter, that follows attempt `n` (1-based).
    fn wait_after(&self, n: u64) -> u128 {
        let mut wait = self.base_ns.min(self.cap_ns);
        for _ in 1..n {
            wait = (wait * self.factor_milli / 1000).min(self.cap_ns);
            if wait == self.cap_ns {
                break;
            }
        }
        wait
    }
}

/// What one node deposited into its retry budget and took from it.
#[derive(Clone, Copy, Debug, Default)]
struct Spending {
    calls: u64,
    restarts: u64,
    retries: u64,
}

/// The latest attempt of one series to one recipient.
#[derive(Clone, Copy, Debug)]
struct Latest {
    attempt: u64,
    at: SimTime,
    /// The node was paused or blocked since: its timers may have fired late.
    interrupted: bool,
    /// When an intact acknowledgement of the series arrived, if one has.
    acked_at: Option<SimTime>,
}

/// Checks attempts against the declared retry policy.
pub struct RetryBackoff {
    cluster: Cluster,
    clocks: Vec<Clock>,
    schedule: Option<Schedule>,
    /// (node, recipient, series) -> its latest attempt.
    series: BTreeMap<(NodeId, NodeId, u64), Latest>,
    /// The `ack` lines waiting for the send they mark (several when one message acknowledges
    /// a batch): (acker, acked node, series).
    pending_ack: Vec<(NodeId, NodeId, u64)>,
    /// The acknowledgements on their way: message -> (acked node, acker, series) for each.
    acks: BTreeMap<MsgId, Vec<(NodeId, NodeId, u64)>>,
    /// The `attempt` lines waiting for the send they mark (several when one message carries
    /// a batch): (sender, recipient, series).
    pending_attempt: Vec<(NodeId, NodeId, u64)>,
    /// The attempts on their way: message -> (sender, recipient, series) for each.
    attempts: BTreeMap<MsgId, Vec<(NodeId, NodeId, u64)>>,
    /// Intact attempts their recipient has not acknowledged yet: (recipient, sender, series) -> when the first arrived.
    owed: BTreeMap<(NodeId, NodeId, u64), SimTime>,
    /// Whether the protocol acknowledges at all (an `ack` line was seen).
    acknowledges: bool,
    /// Units of each call (node, series) its breaker refused: attempts that sent nothing.
    refused: BTreeMap<(NodeId, u64), u64>,
    /// Per series (node, series), the units seen (attempts sent and refused): each after the
    /// first is a retry, which takes a token from the node's budget.
    units: BTreeMap<(NodeId, u64), u64>,
    /// Per node: calls commanded, restarts (each fills the bucket again) and retries made.
    spending: BTreeMap<NodeId, Spending>,
    retransmissions: u64,
    breaches: Breaches,
}

impl RetryBackoff {
    /// A checker for `policy` (none: nothing is judged); `clocks` are the nodes' clocks.
    pub fn new(cluster: Cluster, clocks: Vec<Clock>, policy: Option<RetryPolicy>) -> RetryBackoff {
        RetryBackoff {
            cluster,
            clocks,
            schedule: policy.as_ref().map(Schedule::new),
            series: BTreeMap::new(),
            pending_ack: Vec::new(),
            acks: BTreeMap::new(),
            pending_attempt: Vec::new(),
            attempts: BTreeMap::new(),
            owed: BTreeMap::new(),
            acknowledges: false,
            refused: BTreeMap::new(),
            units: BTreeMap::new(),
            spending: BTreeMap::new(),
            retransmissions: 0,
            breaches: Breaches::default(),
        }
    }

    fn violation(&mut self, at: SimTime, what: impl FnOnce(&Cluster) -> String) {
        let cluster = &self.cluster;
        self.breaches.record(at, || what(cluster));
    }

    /// Simulated nanoseconds that `local` nanoseconds of `node`'s clock take, rounded `up`
    /// (as a timer fires) or down. Not `Clock::real_duration`, which rounds up only: the lower
    /// bound on a gap of several waits, each rounded up when its timer fired, must round down.
    fn real(&self, node: NodeId, local: u128, up: bool) -> u128 {
        let drift = self.clocks.get(node.index()).map_or(0, |c| c.drift_ppb);
        let rate = (1_000_000_000 + i128::from(drift)).max(1) as u128;
        let scaled = local * 1_000_000_000;
        if up { scaled.div_ceil(rate) } else { scaled / rate }
    }

    fn attempt(&mut self, at: SimTime, node: NodeId, to: NodeId, series: u64, attempt: u32) {
        let Some(s) = self.schedule else { return };
        let attempt = u64::from(attempt);
        let key = (node, to, series);
        if attempt > s.max_attempts {
            self.violation(at, |c| {
                format!("{} made attempt {attempt} of s{series} to {}, past max_attempts {}", c.name(node), c.name(to), s.max_attempts)
            });
        }
        self.unit(at, node, series);
        let latest = self.series.insert(key, Latest { attempt, at, interrupted: false, acked_at: None });
        let Some(prev) = latest else {
            // Attempts the breaker refused sent nothing and have no line of their own.
            let refused = self.refused.get(&(node, series)).copied().unwrap_or(0);
            if attempt > refused + 1 {
                self.violation(at, |c| format!("{} made attempt {attempt} of s{series} to {} without attempt 1", c.name(node), c.name(to)));
            }
            return;
        };
        if let Some(acked) = prev.acked_at {
            self.violation(at, |c| {
                format!(
                    "{} made attempt {attempt} of s{series} to {} after its acknowledgement arrived at {acked}",
                    c.name(node),
                    c.name(to)
                )
            });
            // The acknowledgement stays known: every further attempt is one more violation.
            self.series.get_mut(&key).expect("just inserted").acked_at = Some(acked);
        }
        if attempt <= prev.attempt {
            self.violation(at, |c| {
                format!("{} made attempt {attempt} of s{series} to {} after attempt {}", c.name(node), c.name(to), prev.attempt)
            });
            return;
        }
        self.retransmissions += 1;
        if s.wait_from == WaitFrom::Send && attempt != prev.attempt + 1 {
            self.violation(at, |c| {
                format!("{} made attempt {attempt} of s{series} to {} right after attempt {}", c.name(node), c.name(to), prev.attempt)
            });
            return;
        }
        let gap = u128::from(at.0 - prev.at.0);
        let least = self.real(node, (prev.attempt..attempt).map(|n| s.least_after(n)).sum(), false);
        if gap < least {
            self.violation(at, |c| {
                format!(
                    "{} made attempt {attempt} of s{series} to {} {} after attempt {}; the policy waits at least {}",
                    c.name(node),
                    c.name(to),
                    SimTime(gap as u64),
                    prev.attempt,
                    SimTime(least.min(u128::from(u64::MAX)) as u64)
                )
            });
        } else if s.wait_from == WaitFrom::Send && s.jitter == JitterShape::Proportional && !prev.interrupted {
            let waits: u128 = (prev.attempt..attempt).map(|n| s.wait_after(n)).sum();
            let jitter = waits * s.jitter_ppb / 1_000_000_000;
            let most = self.real(node, waits + jitter, true);
            if gap > most {
                self.violation(at, |c| {
                    format!(
                        "{} made attempt {attempt} of s{series} to {} {} after attempt {}; the policy waits at most {}",
                        c.name(node),
                        c.name(to),
                        SimTime(gap as u64),
                        prev.attempt,
                        SimTime(most.min(u128::from(u64::MAX)) as u64)
                    )
                });
            }
        }
    }

    /// One more unit (an attempt sent or refused) of `node`'s series: past the first it is a
    /// retry, and the retries a node made may not outrun its budget's deposits.
    fn unit(&mut self, at: SimTime, node: NodeId, series: u64) {
        let units = self.units.entry((node, series)).or_default();
        *units += 1;
        if *units == 1 {
            return;
        }
        let Some(budget) = self.schedule.and_then(|s| s.budget) else { return };
        let spent = self.spending.entry(node).or_default();
        spent.retries += 1;
        let deposits = u128::from(budget.burst) * u128::from(PPB) * u128::from(spent.restarts + 1)
            + u128::from(budget.ratio_ppb) * u128::from(spent.calls);
        if u128::from(spent.retries) * u128::from(PPB) > deposits {
            let Spending { calls, retries, .. } = *spent;
            self.violation(at, |c| {
                format!(
                    "{} made its retry number {retries} after {calls} calls; its budget (a burst of {}, {} of a retry per call) allows fewer",
                    c.name(node),
                    budget.burst,
                    budget.ratio_ppb as f64 / PPB as f64,
                )
            });
        }
    }

    /// `node` stopped: a pause delays its timers, a crash forgets its series.
    fn interrupted(&mut self, node: NodeId, crashed: bool) {
        if crashed {
            self.series.retain(|&(n, _, _), _| n != node);
            self.owed.retain(|&(n, _, _), _| n != node);
        } else {
            for (_, latest) in self.series.range_mut((node, NodeId(0), 0)..=(node, NodeId(u32::MAX), u64::MAX)) {
                latest.interrupted = true;
            }
        }
    }
}

impl Checker for RetryBackoff {
    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Attempt { node, to, series, attempt } => {
                self.pending_attempt.push((node, to, series));
                self.attempt(e.time, node, to, series, attempt);
            }
            EventKind::Ack { node, to, series } => {
                self.acknowledges = true;
                self.pending_ack.push((node, to, series));
                self.owed.remove(&(node, to, series));
            }
            EventKind::Send { from, to, msg, .. } => {
                // The lines just before a send mark it; any other send ends their chance.
                let acks: Vec<_> = self.pending_ack.drain(..).filter(|&(acker, acked, _)| (acker, acked) == (from, to)).collect();
                if !acks.is_empty() {
                    self.acks.insert(msg, acks.into_iter().map(|(acker, acked, series)| (acked, acker, series)).collect());
                }
                let attempts: Vec<_> =
                    self.pending_attempt.drain(..).filter(|&(sender, recipient, _)| (sender, recipient) == (from, to)).collect();
                if !attempts.is_empty() {
                    self.attempts.insert(msg, attempts);
                }
            }
            EventKind::Receive { from, to, msg, corrupted: false } => {
                for &(sender, recipient, series) in self.attempts.get(&msg).into_iter().flatten() {
                    if (sender, recipient) == (from, to) {
                        self.owed.entry((recipient, sender, series)).or_insert(e.time);
                    }
                }
                for &(acked, acker, series) in self.acks.get(&msg).into_iter().flatten() {
                    if (acker, acked) == (from, to)
                        && let Some(latest) = self.series.get_mut(&(acked, acker, series))
                    {
                        latest.acked_at.get_or_insert(e.time);
                    }
                }
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => self.interrupted(node, true),
            EventKind::Fault { action: FaultAction::Restart, node: Some(node), .. } => self.spending.entry(node).or_default().restarts += 1,
            EventKind::Command { node, .. } => self.spending.entry(node).or_default().calls += 1,
            EventKind::Call { node, app, outcome: CallOutcome::Rejected, .. } => {
                *self.refused.entry((node, app.0)).or_default() += 1;
                self.unit(e.time, node, app.0);
            }
            // A paused or blocked process holds its timers until it goes on.
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } | EventKind::Block { node, .. } => {
                self.interrupted(node, false)
            }
            _ => {}
        }
    }

    fn verdict(&self, _: &RunEnd) -> Verdict {
        if self.schedule.is_none() {
            return Verdict::inconclusive("the protocol declares no retry policy");
        }
        if let Some(failed) = self.breaches.verdict("violations of the retry policy") {
            return failed;
        }
        // A protocol that acknowledges owes every intact copy an ack to the node that sent it
        // (not, say, to the message's origin), sent when the copy arrives.
        if self.acknowledges
            && let Some((&(recipient, sender, series), &at)) = self.owed.iter().next()
        {
            return Verdict::fail(format!(
                "{} attempts arrived intact and were never acknowledged to their sender; first: s{series} from {} at {} at {at}",
                self.owed.len(),
                self.cluster.name(sender),
                self.cluster.name(recipient)
            ));
        }
        if self.retransmissions == 0 {
            return Verdict::inconclusive("no retransmission to judge");
        }
        Verdict::pass(format!("{} retransmissions kept the retry policy", self.retransmissions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::ev;
    use crate::check::{EndReason, Outcome};
    use crate::id::AppId;
    use crate::scenario::file::{Number, RetryFile, Whole};

    /// Waits of 10, 20, 40 ms (capped at 40), jitter up to half the wait, four attempts.
    fn policy(wait_from: WaitFrom) -> RetryPolicy {
        let retry = RetryFile {
            base_ms: Number(10.0),
            factor: Number(2.0),
            cap_ms: Number(40.0),
            jitter: Some(Number(0.5)),
            max_attempts: Whole(4),
        };
        RetryPolicy { retry, wait_from, jitter: JitterShape::Proportional, budget: None }
    }

    fn attempt(ms: u64, attempt: u32) -> TraceEvent {
        ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(1), series: 7, attempt })
    }

    fn judge(wait_from: WaitFrom, clocks: Vec<Clock>, events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
        let mut c = RetryBackoff::new(cluster, clocks, Some(policy(wait_from)));
        for e in events {
            c.observe(e);
        }
        c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
    }

    fn outcome(events: &[TraceEvent]) -> Outcome {
        judge(WaitFrom::Send, vec![], events).outcome
    }

    #[test]
    fn waits_that_grow_as_the_policy_says_pass_and_waits_that_do_not_fail() {
        assert_eq!(outcome(&[attempt(0, 1), attempt(12, 2), attempt(35, 3), attempt(80, 4)]), Outcome::Pass);
        // The bug a backoff that never grows makes: the third wait is the first again.
        let v = judge(WaitFrom::Send, vec![], &[attempt(0, 1), attempt(10, 2), attempt(20, 3)]);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("waits at least 20.000ms"), "{}", v.detail);
        // The cap holds: the fourth wait is 40 ms, not 80.
        assert_eq!(outcome(&[attempt(0, 1), attempt(10, 2), attempt(30, 3), attempt(70, 4)]), Outcome::Pass);
    }

    #[test]
    fn a_wait_longer_than_its_jitter_allows_fails_unless_the_node_was_paused() {
        assert_eq!(outcome(&[attempt(0, 1), attempt(16, 2)]), Outcome::Fail);
        let pause = ev(5, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(0)), index: 0 });
        assert_eq!(outcome(&[attempt(0, 1), pause, attempt(16, 2)]), Outcome::Pass);
        let block =
            ev(5, EventKind::Block { node: NodeId(0), on: NodeId(1), reason: crate::trace::BlockReason::BackPressure, timeout: false });
        assert_eq!(outcome(&[attempt(0, 1), block, attempt(16, 2)]), Outcome::Pass);
        // A call's wait begins when the attempt failed, so a long gap is no violation.
        assert_eq!(judge(WaitFrom::Failure, vec![], &[attempt(0, 1), attempt(500, 2)]).outcome, Outcome::Pass);
    }

    #[test]
    fn numbers_must_advance_one_at_a_time_and_stop_at_max_attempts() {
        assert_eq!(outcome(&[attempt(0, 1), attempt(10, 1)]), Outcome::Fail, "a counter that does not advance");
        assert_eq!(outcome(&[attempt(0, 1), attempt(30, 3)]), Outcome::Fail, "a skipped attempt");
        assert_eq!(outcome(&[attempt(0, 2)]), Outcome::Fail, "no attempt 1");
        let five = [attempt(0, 1), attempt(10, 2), attempt(30, 3), attempt(70, 4), attempt(110, 5)];
        assert_eq!(outcome(&five), Outcome::Fail, "past max_attempts");
        // Under a call's policy a refused attempt sends nothing: a skipped number, and both waits.
        assert_eq!(judge(WaitFrom::Failure, vec![], &[attempt(0, 1), attempt(30, 3)]).outcome, Outcome::Pass);
        assert_eq!(judge(WaitFrom::Failure, vec![], &[attempt(0, 1), attempt(29, 3)]).outcome, Outcome::Fail);
    }

    #[test]
    fn attempts_a_breaker_refused_explain_a_late_first_number() {
        let refused = |ms| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome: CallOutcome::Rejected, latency_ns: 0 });
        assert_eq!(judge(WaitFrom::Failure, vec![], &[refused(0), attempt(30, 2), attempt(60, 3)]).outcome, Outcome::Pass);
        assert_eq!(judge(WaitFrom::Failure, vec![], &[refused(0), attempt(30, 3)]).outcome, Outcome::Fail);
    }

    #[test]
    fn retries_may_not_outrun_the_budget() {
        let budgeted = |calls: u64, events: &[TraceEvent]| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
            let budget = Some(RetryBudget { ratio_ppb: PPB / 2, burst: 1 });
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { budget, ..policy(WaitFrom::Failure) }));
            for i in 0..calls {
                c.observe(&ev(0, EventKind::Command { node: NodeId(0), app: AppId(100 + i), dest: crate::process::Dest::Node(NodeId(1)) }));
            }
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 }).outcome
        };
        // A burst of 1 plus half a retry per call: two calls allow two retries, not three.
        let retries = [attempt(0, 1), attempt(30, 2), attempt(100, 3), attempt(300, 4)];
        assert_eq!(budgeted(2, &retries[..3]), Outcome::Pass);
        assert_eq!(budgeted(2, &retries), Outcome::Fail);
        assert_eq!(budgeted(4, &retries), Outcome::Pass);
    }

    #[test]
    fn the_jitter_s_shape_sets_the_shortest_wait() {
        let judge_shape = |jitter, events: &[TraceEvent]| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { jitter, ..policy(WaitFrom::Failure) }));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 }).outcome
        };
        let early = [attempt(0, 1), attempt(6, 2)];
        assert_eq!(judge_shape(JitterShape::Proportional, &early), Outcome::Fail);
        assert_eq!(judge_shape(JitterShape::Full, &early), Outcome::Pass);
        assert_eq!(judge_shape(JitterShape::Equal, &early), Outcome::Pass);
        assert_eq!(judge_shape(JitterShape::Equal, &[attempt(0, 1), attempt(4, 2)]), Outcome::Fail);
        assert_eq!(judge_shape(JitterShape::Decorrelated, &early), Outcome::Fail);
    }

    #[test]
    fn an_attempt_after_its_acknowledgement_arrived_fails_and_one_before_passes() {
        let ack = |ms| ev(ms, EventKind::Ack { node: NodeId(1), to: NodeId(0), series: 7 });
        let send = |ms| ev(ms, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(3), size: 24 });
        let recv = |ms, corrupted| ev(ms, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(3), corrupted });
        assert_eq!(outcome(&[attempt(0, 1), ack(1), send(1), attempt(10, 2), recv(11, false)]), Outcome::Pass);
        assert_eq!(outcome(&[attempt(0, 1), ack(1), send(1), recv(2, false), attempt(10, 2)]), Outcome::Fail);
        // A damaged acknowledgement is no acknowledgement.
        assert_eq!(outcome(&[attempt(0, 1), ack(1), send(1), recv(2, true), attempt(10, 2)]), Outcome::Pass);
    }

    #[test]
    fn an_intact_attempt_is_owed_an_ack_to_its_sender_once_the_protocol_acknowledges() {
        let data = ev(0, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(1), size: 88 });
        let arrives = |corrupted| ev(1, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(1), corrupted });
        let ack_to = |to| ev(1, EventKind::Ack { node: NodeId(1), to: NodeId(to), series: 7 });
        let ack_send = |to| ev(1, EventKind::Send { from: NodeId(1), to: NodeId(to), msg: MsgId(2), size: 24 });
        let retry = attempt(10, 2);
        let acked = [attempt(0, 1), data, arrives(false), ack_to(0), ack_send(0), retry];
        assert_eq!(outcome(&acked), Outcome::Pass);
        // The ack goes to another node (the message's origin, say): the sender is never answered.
        let misdirected = [attempt(0, 1), data, arrives(false), ack_to(2), ack_send(2), retry];
        assert_eq!(outcome(&misdirected), Outcome::Fail);
        // A damaged copy is owed nothing; a protocol without acks is not judged on them.
        let damaged = [attempt(0, 1), data, arrives(true), ack_to(2), ack_send(2), retry];
        assert_eq!(outcome(&damaged), Outcome::Pass);
        assert_eq!(outcome(&[attempt(0, 1), data, arrives(false), retry]), Outcome::Pass);
    }

    #[test]
    fn a_crash_forgets_the_series_and_a_fast_clock_is_judged_on_its_own_time() {
        let crash = ev(5, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        assert_eq!(outcome(&[attempt(0, 1), attempt(10, 2), crash, attempt(12, 1), attempt(22, 2)]), Outcome::Pass);
        // A clock 10% fast lets 10 ms of its time pass in 9.09 ms of simulated time.
        let fast = vec![Clock { offset_ns: 0, drift_ppb: 100_000_000 }, Clock::default()];
        let second = EventKind::Attempt { node: NodeId(0), to: NodeId(1), series: 7, attempt: 2 };
        let events = [attempt(0, 1), TraceEvent { time: SimTime(9_100_000), kind: second }];
        assert_eq!(judge(WaitFrom::Send, fast.clone(), &events).outcome, Outcome::Pass);
        assert_eq!(judge(WaitFrom::Send, vec![], &events).outcome, Outcome::Fail);
    }

    #[test]
    fn without_a_policy_or_a_retransmission_nothing_is_judged() {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
        let c = RetryBackoff::new(cluster, vec![], None);
        let end = RunEnd { reason: EndReason::Quiescent, at: SimTime(0), max_latency_ns: 0 };
        assert_eq!(c.verdict(&end).outcome, Outcome::Inconclusive);
        assert_eq!(outcome(&[attempt(0, 1)]), Outcome::Inconclusive);
    }

    // Postmortem: one message marked only by the last `attempt` (or `ack`) line before it, so a
    // batch carrying several series (BroadcastGossip's) left all but one unjudged.
    #[test]
    fn every_series_a_batch_carries_is_judged_and_acknowledged() {
        let series = |s: u64, ms: u64, attempt: u32| ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(1), series: s, attempt });
        let batch = |ms, msg| ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), size: 88 });
        let arrives = |ms, msg| ev(ms, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), corrupted: false });
        let ack = |ms, s: u64| ev(ms, EventKind::Ack { node: NodeId(1), to: NodeId(0), series: s });
        let ack_send = |ms, msg| ev(ms, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(msg), size: 24 });
        let ack_arrives = |ms, msg| ev(ms, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(msg), corrupted: false });
        let sent = [series(7, 0, 1), series(8, 0, 1), batch(0, 1), arrives(1, 1)];
        // Both acknowledged in one message, and neither sent again: nothing owed.
        let both = [&sent[..], &[ack(1, 7), ack(1, 8), ack_send(1, 2), ack_arrives(2, 2), series(9, 10, 1), batch(10, 3)]].concat();
        assert_ne!(outcome(&both), Outcome::Fail);
        // Only series 7 acknowledged: series 8 arrived intact and is owed its ack.
        let one = [&sent[..], &[ack(1, 7), ack_send(1, 2), ack_arrives(2, 2)]].concat();
        let v = judge(WaitFrom::Send, vec![], &one);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("s8 from n0 at n1"), "{}", v.detail);
        // Both acknowledged, then series 8 sent again: an attempt after its acknowledgement.
        let again = [&sent[..], &[ack(1, 7), ack(1, 8), ack_send(1, 2), ack_arrives(2, 2), series(8, 10, 2), batch(10, 3)]].concat();
        let v = judge(WaitFrom::Send, vec![], &again);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("attempt 2 of s8"), "{}", v.detail);
    }
}

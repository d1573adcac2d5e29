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
//! - giving up: a series that ends unanswered (its message dead-lettered, a `dead` line, or
//!   its call ended on a timeout or an error) ends only after attempt `max_attempts`, unless
//!   the node's retry budget held less than a token then; a dead letter comes no sooner than
//!   the wait after that last attempt;
//! - the waits, from the policy as the scenario wrote it (and its jitter's shape), computed here rather than taken
//!   from the protocol's own arithmetic: the wait after attempt 1 is `base`, each next one
//!   `factor` times the previous, capped at `cap`; the gap between two attempts is at least
//!   the waits between them, and, when waits start at the send and the node was neither
//!   paused nor blocked in between, at most the wait plus its largest jitter. Both are
//!   converted to simulated time through the node's clock, so a drifting clock is no excuse;
//! - the acknowledgement: once an intact `ack` of the series from the recipient has arrived,
//!   no further attempt of it is made to that recipient; and, under a policy that says every
//!   arrival is acknowledged (`RetryPolicy::acks_every_arrival`; not one whose receiver may
//!   rightly leave one unacknowledged, nor one whose receiver answers instead), every attempt
//!   that arrives intact is acknowledged, to the node that sent it, unless its recipient
//!   crashed: in a run with no `ack` line at all too, since a receiver that never
//!   acknowledges breaks the promise most;
//! - the relay, where a series names one message cluster-wide and relays resend it under the
//!   same number (`RetryPolicy::relayed_series`, the group protocols): no attempt goes to the
//!   series' origin (the node of its first attempt) from another node.
//!
//! - the waits, when the protocol marks each failed attempt (`Ctx::attempt_failed`, under a
//!   policy whose waits start at the failure): every attempt after the first follows a failure
//!   of the attempt before it (a refused attempt's own `failed` line included), unless its
//!   node crashed since; each wait, from the failure to the next
//!   attempt, lies in the range its jitter scheme draws from (`Full`: `[0, b]`, `Equal`:
//!   `[b/2, b]`, `Decorrelated`: `[base, factor * the previous wait]`, capped; `Proportional`:
//!   `[b, b + jitter * b]`), and, for every scheme that draws uniformly (all but a declared
//!   `ProportionalBound`), the waits after each attempt number spread across their ranges,
//!   from a failure or, under a retransmission timer, from the previous send: about half in
//!   the upper half (a split less likely than one in 10^9 for a fair coin fails). A scheme
//!   that never grows, grows from the wrong wait, or forgets its jitter stays in the lower half;
//! - the answers, when the protocol marks its replies (`Ctx::send_answer`: the series and the
//!   attempt a reply answers): an attempt that ends on an arrival (failed at it, or its call
//!   answered) ends on an answer to that attempt, not on a late answer to an earlier one; and
//!   a call line that says an answer came (`Ok`, `Error`) is in the step of an intact answer to
//!   that call arriving, one that says none came (`Timeout`) is not; and every answer answers
//!   a request that came: attempt k of a series is answered no more often than it arrived
//!   intact at the answerer (an answer to attempt 1 sent for a retry's request breaks it);
//! - the budget, for a policy with one: the node's bucket replayed in trace order, `burst`
//!   tokens to start with and after each restart, `ratio` of one per call commanded (the
//!   bucket never above `burst`), one taken by every unit of a series after its first (an
//!   attempt sent, or one a circuit breaker refused: its `call ... rejected` line) when the
//!   unit before it failed (its `failed` line; the unit's own line where none is marked); a
//!   retry taken from less than a token breaks it. A refused attempt also explains a series
//!   whose first `attempt` line is not attempt 1.
//!
//! A crash forgets the node's series (a restarted process numbers afresh). Without a declared
//! policy, or without any retransmission to judge (and no intact arrival left unacknowledged),
//! the verdict is inconclusive.

use super::{Breaches, Checker, EndReason, RunEnd, Verdict};
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
            JitterShape::Proportional | JitterShape::ProportionalBound => self.wait_after(n),
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

impl Schedule {
    /// The range, in the node's local time, the jitter draws the wait after attempt `n` from;
    /// `previous` is the wait before attempt `n` (`Decorrelated` grows from it: without it the
    /// upper end is unknown).
    fn range_after(&self, n: u64, previous: Option<u128>) -> (u128, Option<u128>) {
        let b = self.wait_after(n);
        match self.jitter {
            JitterShape::Proportional | JitterShape::ProportionalBound => (b, Some(b + b * self.jitter_ppb / 1_000_000_000)),
            JitterShape::Full => (0, Some(b)),
            JitterShape::Equal => (b / 2, Some(b)),
            JitterShape::Decorrelated => {
                let previous = if n == 1 { Some(self.base_ns) } else { previous };
                let high = previous.map(|p| (p * self.factor_milli / 1000).min(self.cap_ns).max(self.base_ns));
                (self.base_ns, high)
            }
        }
    }
}

/// The narrowest jitter range whose draws count toward the spread: below a microsecond the
/// rounding of a wait through a drifting clock would decide its half.
const SPREAD_MIN_RANGE_NS: u128 = 1_000;

/// How the waits after one attempt number fell in their ranges: a scheme that draws uniformly
/// puts about half of them in the upper half.
#[derive(Clone, Copy, Debug, Default)]
struct Spread {
    waits: u64,
    upper: u64,
}

impl Spread {
    /// Whether a split of `upper` to `waits - upper` is less likely than one in 10^9 for a
    /// fair coin (two-sided, exact): so rare that a correct protocol fails once in a billion
    /// judgements, while every wait in one half fails from 31 waits on.
    fn lopsided(&self) -> bool {
        let fewer = self.upper.min(self.waits - self.upper);
        2.0 * fair_coin_tail(self.waits, fewer) < 1e-9
    }
}

/// The chance that `n` tosses of a fair coin show at most `k` heads, for `k <= n / 2`: summed
/// from its largest term down, in logarithms, so that a million tosses neither overflow nor
/// underflow before the sum is taken.
fn fair_coin_tail(n: u64, k: u64) -> f64 {
    // ln of C(n, k) / 2^n, the largest term of the tail.
    let ln_largest = (0..k).map(|i| ((n - i) as f64).ln() - ((i + 1) as f64).ln()).sum::<f64>() - n as f64 * std::f64::consts::LN_2;
    // The terms below it, as fractions of it: term(i - 1) / term(i) = i / (n - i + 1).
    let (mut sum, mut term) = (1.0, 1.0);
    for i in (1..=k).rev() {
        term *= i as f64 / (n - i + 1) as f64;
        sum += term;
        if term < 1e-18 {
            break;
        }
    }
    (ln_largest + sum.ln()).exp()
}

/// A failed attempt whose wait has not ended yet.
#[derive(Clone, Copy, Debug)]
struct Failure {
    attempt: u64,
    at: SimTime,
    /// The node was paused or blocked since: its timer may have fired late.
    interrupted: bool,
    /// The wait (local nanoseconds) that came before the failed attempt, when known.
    previous: Option<u128>,
}

/// One entry of a node's retry budget, at its place in the trace.
#[derive(Clone, Copy, Debug)]
enum Budgeted {
    /// A call commanded: `ratio` of a retry deposited, the bucket capped at `burst`.
    Deposit,
    /// A restart: the bucket full again.
    Refill,
    /// A retry, taken when the attempt before it failed, made at this time.
    Retry(SimTime),
    /// A series given up before its last attempt: a breach unless the bucket is empty.
    GaveUp(GaveUp),
}

/// A series that ended unanswered before attempt `max_attempts`.
#[derive(Clone, Copy, Debug)]
struct GaveUp {
    at: SimTime,
    node: NodeId,
    to: NodeId,
    series: u64,
    attempt: u64,
    /// How it ended, for the report: "dead-lettered", "gave up its call".
    how: &'static str,
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
    /// a batch): (sender, recipient, series, attempt).
    pending_attempt: Vec<(NodeId, NodeId, u64, u64)>,
    /// The attempts on their way: message -> (sender, recipient, series, attempt) for each.
    attempts: BTreeMap<MsgId, Vec<(NodeId, NodeId, u64, u64)>>,
    /// Intact attempts their recipient has not acknowledged yet: (recipient, sender, series) -> when the first arrived.
    owed: BTreeMap<(NodeId, NodeId, u64), SimTime>,
    /// Whether its policy says every intact arrival is acknowledged (`owed` is kept only then,
    /// and judged whether or not the run holds any `ack` line).
    owes_acks: bool,
    /// Where a series names one message cluster-wide (`RetryPolicy::relayed_series`): each
    /// series' origin, the node of its first attempt. Kept across crashes: the protocols that
    /// relay are crash-stop (they refuse restarts), so a series is never numbered afresh.
    origins: Option<BTreeMap<u64, NodeId>>,
    /// Units of each call (node, series) its breaker refused: attempts that sent nothing.
    refused: BTreeMap<(NodeId, u64), u64>,
    /// Per series (node, series), the units seen (attempts sent and refused): each after the
    /// first is a retry, which takes a token from the node's budget.
    units: BTreeMap<(NodeId, u64), u64>,
    /// Per node, its budget's deposits, refills and retries, each at its index in the trace
    /// (a retry at the failure that decided it, where one is marked): replayed at the end.
    budget: BTreeMap<NodeId, Vec<(u64, Budgeted)>>,
    /// Trace lines observed so far: the index of the one being read.
    lines: u64,
    /// The index of each series' latest failure line: (node, series) -> index.
    last_failure: BTreeMap<(NodeId, u64), u64>,
    /// The `answer` lines waiting for the send they mark: (answerer, asker, series, attempt).
    pending_answer: Vec<(NodeId, NodeId, u64, u64)>,
    /// The answers on their way: message -> (answerer, asker, series, attempt) for each.
    answers: BTreeMap<MsgId, Vec<(NodeId, NodeId, u64, u64)>>,
    /// Whether the protocol marks its answers (an `answer` line was seen): then what a call
    /// line says of an answer can be judged against the arrivals.
    answering: bool,
    /// Intact arrivals not answered yet: (answerer, asker, series, attempt) -> how many. An
    /// `answer` line takes one; one with none to take answers a request that never came.
    unanswered: BTreeMap<(NodeId, NodeId, u64, u64), u64>,
    /// The intact message whose arrival the lines being read follow: (receiver, sender, message).
    arrived: Option<(NodeId, NodeId, MsgId)>,
    /// Failed attempts whose wait runs: (node, recipient, series) -> the failure.
    failures: BTreeMap<(NodeId, NodeId, u64), Failure>,
    /// The latest wait measured whole, from a failure to the next attempt: (node, recipient,
    /// series) -> (the attempt it led to, its length in local nanoseconds).
    waited: BTreeMap<(NodeId, NodeId, u64), (u64, u128)>,
    /// Per attempt number (the one the wait followed; all past 16 together), how the waits fell
    /// in their jitter's range; `None` pools every number.
    spread: BTreeMap<Option<u64>, Spread>,
    /// Series a crash of their node cut short: (node, recipient, series). Their attempts after
    /// it are not held to a failure of the one before (the crash forgot it).
    cut: std::collections::BTreeSet<(NodeId, NodeId, u64)>,
    /// Series that ended unanswered before their last attempt, by (node, recipient, series):
    /// judged at the end (a later attempt of the series takes it back; a budget may excuse it).
    gave_up: BTreeMap<(NodeId, NodeId, u64), (u64, GaveUp)>,
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
            owes_acks: policy.as_ref().is_some_and(|p| p.acks_every_arrival),
            origins: policy.as_ref().is_some_and(|p| p.relayed_series).then(BTreeMap::new),
            refused: BTreeMap::new(),
            units: BTreeMap::new(),
            budget: BTreeMap::new(),
            lines: 0,
            last_failure: BTreeMap::new(),
            pending_answer: Vec::new(),
            answers: BTreeMap::new(),
            answering: false,
            unanswered: BTreeMap::new(),
            arrived: None,
            failures: BTreeMap::new(),
            waited: BTreeMap::new(),
            spread: BTreeMap::new(),
            cut: std::collections::BTreeSet::new(),
            gave_up: BTreeMap::new(),
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

    /// The node's local nanoseconds in `real` simulated nanoseconds (rounded down).
    fn local(&self, node: NodeId, real: u128) -> u128 {
        let drift = self.clocks.get(node.index()).map_or(0, |c| c.drift_ppb);
        let rate = (1_000_000_000 + i128::from(drift)).max(1) as u128;
        real * rate / 1_000_000_000
    }

    /// A wait of `local` nanoseconds after attempt `n`, drawn from `[low, high]`: counted
    /// toward the spread of its attempt number and of all.
    fn sample(&mut self, n: u64, local: u128, low: u128, high: u128) {
        // A bound is not a promise of how waits spread (a periodic resend declares one for the
        // period it may wait past its timer).
        if self.schedule.is_none_or(|s| s.jitter == JitterShape::ProportionalBound) || high < low + SPREAD_MIN_RANGE_NS {
            return;
        }
        let upper = u64::from(2 * local > low + high);
        for group in [Some(n.min(16)), None] {
            let spread = self.spread.entry(group).or_default();
            spread.waits += 1;
            spread.upper += upper;
        }
    }

    /// Attempt `n` of `key` began at `at` (sent, or refused by a breaker): the wait since the
    /// previous attempt failed is judged against the jitter's range.
    fn wait_ended(&mut self, at: SimTime, key: (NodeId, NodeId, u64), n: u64) {
        let Some(s) = self.schedule else { return };
        let (node, to, series) = key;
        let Some(failure) = self.failures.remove(&key).filter(|f| f.attempt + 1 == n) else {
            // Under waits that start at a failure, a retry follows the failure that decided it;
            // one with no such failure is a retry from nowhere (or a failure the trace hides).
            // A crash since excuses it: the restarted process's series are new to this check.
            if s.wait_from == WaitFrom::Failure && n > 1 && !self.cut.contains(&key) {
                self.violation(at, |c| {
                    format!("{} made attempt {n} of s{series} to {} with no failure of attempt {}", c.name(node), c.name(to), n - 1)
                });
            }
            return;
        };
        let gap = u128::from(at.0.saturating_sub(failure.at.0));
        let (low, high) = s.range_after(failure.attempt, failure.previous);
        let least = self.real(node, low, false);
        if gap < least {
            self.violation(at, |c| {
                format!(
                    "{} made attempt {n} of s{series} to {} {} after attempt {} failed; the policy waits at least {}",
                    c.name(node),
                    c.name(to),
                    SimTime(gap as u64),
                    failure.attempt,
                    SimTime(least.min(u128::from(u64::MAX)) as u64)
                )
            });
        }
        if failure.interrupted {
            return;
        }
        let local = self.local(node, gap);
        self.waited.insert(key, (n, local));
        let Some(high) = high else { return };
        // A wait grown from a measured one may be off by the rounding of both through the clock.
        let slack = if s.jitter == JitterShape::Decorrelated { s.factor_milli / 1000 + 2 } else { 0 };
        let most = self.real(node, high + slack, true);
        if gap > most {
            self.violation(at, |c| {
                format!(
                    "{} made attempt {n} of s{series} to {} {} after attempt {} failed; the policy waits at most {}",
                    c.name(node),
                    c.name(to),
                    SimTime(gap as u64),
                    failure.attempt,
                    SimTime(most.min(u128::from(u64::MAX)) as u64)
                )
            });
            return;
        }
        self.sample(failure.attempt, local, low, high);
    }

    /// Attempt `n` of `key` ended (`how`: failed, or answered) on the arrival being read: if
    /// that arrival is an answer, it must answer this attempt. A late answer to an earlier
    /// attempt, or to another series, ends nothing.
    fn answer_ends(&mut self, at: SimTime, key: (NodeId, NodeId, u64), n: u64, how: &'static str) {
        let (node, to, series) = key;
        let Some((receiver, sender, msg)) = self.arrived else { return };
        let Some(marks) = self.answers.get(&msg).filter(|_| receiver == node && sender == to) else { return };
        if marks.contains(&(sender, node, series, n)) {
            return;
        }
        let answered: Vec<String> = marks.iter().map(|&(_, _, s, k)| format!("s{s} #{k}")).collect();
        let answered = answered.join(", ");
        self.violation(at, |c| format!("{}'s attempt {n} of s{series} {how} on {}'s answer to {answered}", c.name(node), c.name(to)));
    }

    /// `answer` (answerer, asker, series, attempt) is sent: it answers an intact arrival of that
    /// attempt not answered yet. The service never learns that a client stopped waiting, so
    /// every copy that came may be answered once; an answer naming an attempt that did not come
    /// (attempt 1 for a retry's request) would be taken for a stale one and end nothing.
    fn answer_takes_arrival(&mut self, at: SimTime, answer: (NodeId, NodeId, u64, u64)) {
        match self.unanswered.get_mut(&answer) {
            Some(left) if *left > 1 => *left -= 1,
            Some(_) => {
                self.unanswered.remove(&answer);
            }
            None => {
                let (answerer, asker, series, attempt) = answer;
                self.violation(at, |c| {
                    format!(
                        "{} answered {}'s attempt {attempt} of s{series} with no unanswered copy of that attempt having arrived",
                        c.name(answerer),
                        c.name(asker)
                    )
                });
            }
        }
    }

    /// Whether the lines being read follow the intact arrival, at `node`, of an answer to its
    /// series `series` (any attempt of it).
    fn on_answer_to(&self, node: NodeId, series: u64) -> bool {
        let Some((receiver, sender, msg)) = self.arrived else { return false };
        receiver == node
            && self.answers.get(&msg).is_some_and(|marks| marks.iter().any(|&(from, to, s, _)| (from, to, s) == (sender, node, series)))
    }

    /// Attempt `n` of `key` failed at `at`: its wait starts (a refused attempt also ends one).
    fn failed(&mut self, at: SimTime, key: (NodeId, NodeId, u64), n: u32) {
        let n = u64::from(n);
        self.last_failure.insert((key.0, key.2), self.lines);
        self.answer_ends(at, key, n, "failed");
        if self.series.get(&key).is_none_or(|latest| latest.attempt < n) {
            // Refused before anything was sent: the attempt began now.
            self.wait_ended(at, key, n);
        }
        let previous = self.waited.get(&key).filter(|&&(led_to, _)| led_to == n).map(|&(_, wait)| wait);
        self.failures.insert(key, Failure { attempt: n, at, interrupted: false, previous });
    }

    /// Where series are relayed, a relay's copy never goes to the series' origin, which has it.
    fn not_back_to_origin(&mut self, at: SimTime, node: NodeId, to: NodeId, series: u64) {
        let Some(origins) = self.origins.as_mut() else { return };
        let origin = *origins.entry(series).or_insert(node);
        if to == origin && node != origin {
            self.violation(at, |c| format!("{} relayed s{series} back to its origin {}", c.name(node), c.name(to)));
        }
    }

    fn attempt(&mut self, at: SimTime, node: NodeId, to: NodeId, series: u64, attempt: u32) {
        let Some(s) = self.schedule else { return };
        let attempt = u64::from(attempt);
        let key = (node, to, series);
        self.gave_up.remove(&key);
        self.wait_ended(at, key, attempt);
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
        } else if s.wait_from == WaitFrom::Send
            && matches!(s.jitter, JitterShape::Proportional | JitterShape::ProportionalBound)
            && !prev.interrupted
        {
            let waits: u128 = (prev.attempt..attempt).map(|n| s.wait_after(n)).sum();
            let jitter = waits * s.jitter_ppb / 1_000_000_000;
            let most = self.real(node, waits + jitter, true);
            if gap <= most && attempt == prev.attempt + 1 {
                // One wait, drawn from its range: counted toward how the draws spread.
                let local = self.local(node, gap);
                self.sample(prev.attempt, local, waits, waits + jitter);
            }
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

    /// `node`'s series `series` to `to` ended unanswered at `at` (`how`): before attempt
    /// `max_attempts` it is judged at the end, against the budget if there is one; a dead
    /// letter (`timed`) must also have waited out the wait after the last attempt.
    fn give_up(&mut self, at: SimTime, key: (NodeId, NodeId, u64), how: &'static str, timed: bool) {
        let Some(s) = self.schedule else { return };
        let Some(latest) = self.series.get(&key).copied() else { return };
        let (node, to, series) = key;
        let least = self.real(node, s.least_after(latest.attempt), false);
        let gap = u128::from(at.0.saturating_sub(latest.at.0));
        if timed && latest.attempt >= s.max_attempts && gap < least {
            self.violation(at, |c| {
                format!(
                    "{} {how} s{series} to {} {} after attempt {}; the policy waits at least {}",
                    c.name(node),
                    c.name(to),
                    SimTime(gap as u64),
                    latest.attempt,
                    SimTime(least.min(u128::from(u64::MAX)) as u64)
                )
            });
        }
        if latest.attempt < s.max_attempts {
            let gave_up = GaveUp { at, node, to, series, attempt: latest.attempt, how };
            self.gave_up.insert(key, (self.lines, gave_up));
        }
    }

    /// `node`'s call `series` ended on a timeout or an error: a give-up of the series to
    /// whichever recipient its attempts went to.
    fn call_ended_unanswered(&mut self, at: SimTime, node: NodeId, series: u64) {
        let keys: Vec<_> = self
            .series
            .range((node, NodeId(0), 0)..=(node, NodeId(u32::MAX), u64::MAX))
            .map(|(&key, _)| key)
            .filter(|&(_, _, s)| s == series)
            .collect();
        for key in keys {
            self.give_up(at, key, "gave up its call", false);
        }
    }

    /// One more unit (an attempt sent or refused) of `node`'s series: past the first it is a
    /// retry, which took a token from the node's budget when the unit before it failed.
    fn unit(&mut self, at: SimTime, node: NodeId, series: u64) {
        let units = self.units.entry((node, series)).or_default();
        *units += 1;
        if *units == 1 || self.schedule.and_then(|s| s.budget).is_none() {
            return;
        }
        let taken = self.last_failure.get(&(node, series)).copied().unwrap_or(self.lines);
        self.budget.entry(node).or_default().push((taken, Budgeted::Retry(at)));
    }

    /// `node`'s budget deposited to, or refilled, now.
    fn budgeted(&mut self, node: NodeId, entry: Budgeted) {
        if self.schedule.and_then(|s| s.budget).is_some() {
            self.budget.entry(node).or_default().push((self.lines, entry));
        }
    }

    /// Every node's budget replayed in trace order: a bucket of `burst` tokens (full at the
    /// start and after each restart), `ratio` of a token per call (never above `burst`), one
    /// token per retry; a retry taken from a bucket holding less than a token is a breach.
    fn budget_breaches(&self, breaches: &mut Breaches, gave_up: &[(u64, GaveUp)]) {
        let Some(s) = self.schedule else { return };
        let early = |breaches: &mut Breaches, g: &GaveUp| {
            breaches.record(g.at, || {
                format!(
                    "{} {} s{} to {} after attempt {} of max_attempts {}",
                    self.cluster.name(g.node),
                    g.how,
                    g.series,
                    self.cluster.name(g.to),
                    g.attempt,
                    s.max_attempts
                )
            })
        };
        let Some(budget) = s.budget else {
            for (_, g) in gave_up {
                early(breaches, g);
            }
            return;
        };
        let full = u128::from(budget.burst) * u128::from(PPB);
        let mut budget_entries = self.budget.clone();
        for &(line, g) in gave_up {
            budget_entries.entry(g.node).or_default().push((line, Budgeted::GaveUp(g)));
        }
        for (&node, entries) in &budget_entries {
            let mut entries = entries.clone();
            entries.sort_by_key(|&(index, _)| index);
            let (mut tokens, mut retries) = (full, 0u64);
            for (_, entry) in entries {
                match entry {
                    Budgeted::Deposit => tokens = (tokens + u128::from(budget.ratio_ppb)).min(full),
                    Budgeted::Refill => tokens = full,
                    Budgeted::Retry(at) => {
                        retries += 1;
                        if tokens < u128::from(PPB) {
                            breaches.record(at, || {
                                format!(
                                    "{} made its retry number {retries} with less than a token in its budget (a burst of {}, {} of a retry per call, never more than the burst)",
                                    self.cluster.name(node),
                                    budget.burst,
                                    budget.ratio_ppb as f64 / PPB as f64,
                                )
                            });
                        } else {
                            tokens -= u128::from(PPB);
                        }
                    }
                    // An empty bucket excuses giving up early; a token left does not.
                    Budgeted::GaveUp(g) if tokens >= u128::from(PPB) => early(breaches, &g),
                    Budgeted::GaveUp(_) => {}
                }
            }
        }
    }

    /// `node` stopped: a pause delays its timers, a crash forgets its series.
    fn interrupted(&mut self, node: NodeId, crashed: bool) {
        // A retry cut off by a crash or a hold is no giving up, and a node held owes its acks
        // only once it goes on (it may not, for good).
        forget(&mut self.gave_up, node);
        forget(&mut self.owed, node);
        if crashed {
            let range = (node, NodeId(0), 0)..=(node, NodeId(u32::MAX), u64::MAX);
            let cut: Vec<_> =
                self.series.range(range.clone()).map(|(&k, _)| k).chain(self.failures.range(range).map(|(&k, _)| k)).collect();
            self.cut.extend(cut);
            self.series.retain(|&(n, _, _), _| n != node);
            self.failures.retain(|&(n, _, _), _| n != node);
            self.waited.retain(|&(n, _, _), _| n != node);
        } else {
            let range = (node, NodeId(0), 0)..=(node, NodeId(u32::MAX), u64::MAX);
            for (_, latest) in self.series.range_mut(range.clone()) {
                latest.interrupted = true;
            }
            for (_, failure) in self.failures.range_mut(range) {
                failure.interrupted = true;
            }
        }
    }
}

/// Removes `node`'s entries from a map keyed by node first: its range looked up, not a walk
/// of the whole map (a node is held at every wait on a send).
fn forget<V>(map: &mut BTreeMap<(NodeId, NodeId, u64), V>, node: NodeId) {
    let keys: Vec<_> = map.range((node, NodeId(0), 0)..=(node, NodeId(u32::MAX), u64::MAX)).map(|(&k, _)| k).collect();
    for key in keys {
        map.remove(&key);
    }
}

impl Checker for RetryBackoff {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        let lists = |m: &BTreeMap<MsgId, Vec<(NodeId, NodeId, u64)>>| b::map(m) + b::nested(m.values(), b::vec);
        b::total(&[
            b::map(&self.series),
            lists(&self.acks),
            b::map(&self.attempts) + b::nested(self.attempts.values(), b::vec),
            b::map(&self.unanswered),
            b::map(&self.answers) + b::nested(self.answers.values(), b::vec),
            b::map(&self.owed),
            b::map(&self.refused),
            b::map(&self.units),
            b::map(&self.budget) + b::nested(self.budget.values(), b::vec),
            b::map(&self.last_failure),
            b::map(&self.failures),
            b::map(&self.waited),
            b::map(&self.spread),
            b::map(&self.gave_up),
            b::set(&self.cut),
            self.origins.as_ref().map_or(0, b::map),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        self.lines += 1;
        match e.kind {
            EventKind::Attempt { node, to, series, attempt } => {
                self.pending_attempt.push((node, to, series, u64::from(attempt)));
                self.attempt(e.time, node, to, series, attempt);
                self.not_back_to_origin(e.time, node, to, series);
            }
            EventKind::AttemptFailed { node, to, series, attempt } => self.failed(e.time, (node, to, series), attempt),
            EventKind::Answer { node, to, series, attempt } => {
                self.answering = true;
                self.answer_takes_arrival(e.time, (node, to, series, u64::from(attempt)));
                self.pending_answer.push((node, to, series, u64::from(attempt)))
            }
            EventKind::Ack { node, to, series } => {
                self.pending_ack.push((node, to, series));
                self.owed.remove(&(node, to, series));
                // A protocol that acknowledges rather than answers: the series' arrivals need no
                // answer, and are not kept.
                let series_arrivals = (node, to, series, 0)..=(node, to, series, u64::MAX);
                while let Some(&arrival) = self.unanswered.range(series_arrivals.clone()).next().map(|(k, _)| k) {
                    self.unanswered.remove(&arrival);
                }
            }
            EventKind::Send { from, to, msg, .. } => {
                // The lines just before a send mark it; any other send ends their chance.
                let acks: Vec<_> = self.pending_ack.drain(..).filter(|&(acker, acked, _)| (acker, acked) == (from, to)).collect();
                if !acks.is_empty() {
                    self.acks.insert(msg, acks.into_iter().map(|(acker, acked, series)| (acked, acker, series)).collect());
                }
                let attempts: Vec<_> =
                    self.pending_attempt.drain(..).filter(|&(sender, recipient, _, _)| (sender, recipient) == (from, to)).collect();
                if !attempts.is_empty() {
                    self.attempts.insert(msg, attempts);
                }
                let answers: Vec<_> =
                    self.pending_answer.drain(..).filter(|&(answerer, asker, _, _)| (answerer, asker) == (from, to)).collect();
                if !answers.is_empty() {
                    self.answers.insert(msg, answers);
                }
            }
            EventKind::Receive { corrupted: true, .. } | EventKind::Timer { .. } => self.arrived = None,
            EventKind::Receive { from, to, msg, corrupted: false } => {
                self.arrived = Some((to, from, msg));
                for &(sender, recipient, series, attempt) in self.attempts.get(&msg).into_iter().flatten() {
                    if (sender, recipient) == (from, to) {
                        if self.owes_acks {
                            self.owed.entry((recipient, sender, series)).or_insert(e.time);
                        }
                        *self.unanswered.entry((recipient, sender, series, attempt)).or_default() += 1;
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
            EventKind::Fault { action: FaultAction::Restart, node: Some(node), .. } => self.budgeted(node, Budgeted::Refill),
            EventKind::Command { node, .. } => {
                self.arrived = None;
                self.budgeted(node, Budgeted::Deposit);
            }
            EventKind::DeadLetter { node, to, app } => self.give_up(e.time, (node, to, app.0), "dead-lettered", true),
            // A call answered: the answer must be to the attempt out.
            EventKind::Call { node, app, outcome, .. } if matches!(outcome, CallOutcome::Ok | CallOutcome::Error) => {
                // An answered kind says an answer came: the line is in the step of its arrival.
                if self.answering && !self.on_answer_to(node, app.0) {
                    self.violation(e.time, |c| {
                        format!("{}'s call a{} ended {outcome:?} with no answer to it arriving", c.name(node), app.0)
                    });
                }
                if let Some((_, sender, _)) = self.arrived
                    && let Some(latest) = self.series.get(&(node, sender, app.0))
                {
                    self.answer_ends(e.time, (node, sender, app.0), latest.attempt, "was answered");
                }
                if outcome == CallOutcome::Error {
                    self.call_ended_unanswered(e.time, node, app.0);
                }
            }
            EventKind::Call { node, app, outcome: CallOutcome::Timeout, .. } => {
                // A timeout says no answer came: not on the arrival of one.
                if self.on_answer_to(node, app.0) {
                    self.violation(e.time, |c| format!("{}'s call a{} timed out on the arrival of an answer to it", c.name(node), app.0));
                }
                self.call_ended_unanswered(e.time, node, app.0)
            }
            EventKind::Call { node, app, outcome: CallOutcome::Rejected, .. } => {
                *self.refused.entry((node, app.0)).or_default() += 1;
                self.unit(e.time, node, app.0);
                // The breaker, not the retry policy, decided the call's fate from here.
                self.gave_up.retain(|&(n, _, s), _| (n, s) != (node, app.0));
            }
            // A paused or blocked process holds its timers until it goes on.
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } | EventKind::Block { node, .. } => {
                self.interrupted(node, false)
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some(s) = self.schedule else {
            return Verdict::inconclusive("the protocol declares no retry policy");
        };
        let mut breaches = self.breaches.clone();
        // A series given up is judged only if the run went on for the longest wait after it
        // (the largest wait jittered): before that, the retry may still have been due.
        let longest = s.cap_ns.max(s.base_ns) + s.cap_ns.max(s.base_ns) * s.jitter_ppb / 1_000_000_000;
        let gave_up: Vec<(u64, GaveUp)> = self
            .gave_up
            .values()
            .copied()
            .filter(|(_, g)| u128::from(end.at.0.saturating_sub(g.at.0)) > self.real(g.node, longest, true))
            .collect();
        self.budget_breaches(&mut breaches, &gave_up);
        if let Some(failed) = breaches.verdict("violations of the retry policy") {
            return failed;
        }
        // A protocol whose policy says so owes every intact copy an ack to the node that sent
        // it (not, say, to the message's origin), even where it never acknowledged anything:
        // the clause is switched by the declaration, not by the trace, or a receiver dropping
        // every ack would be exempt from it. One that answers after some work (an Rpc server's
        // reply is its ack) may still owe it at the horizon: there, only what was owed for
        // longer than the sender's first wait counts.
        let owed: Vec<_> = self
            .owed
            .iter()
            .filter(|&(_, &at)| end.reason == EndReason::Quiescent || u128::from(end.at.0.saturating_sub(at.0)) > s.base_ns)
            .collect();
        if let Some(&(&(recipient, sender, series), &at)) = owed.first() {
            return Verdict::fail(format!(
                "{} attempts arrived intact and were never acknowledged to their sender; first: s{series} from {} at {} at {at}",
                owed.len(),
                self.cluster.name(sender),
                self.cluster.name(recipient)
            ));
        }
        // The pooled spread is judged last: a lopsided attempt number names where it lies.
        if let Some((group, spread)) = self.spread.iter().filter(|(_, spread)| spread.lopsided()).min_by_key(|(group, _)| group.is_none()) {
            let which = match group {
                Some(16) => "after attempts 16 and later".to_string(),
                Some(n) => format!("after attempt {n}"),
                None => "after every attempt".to_string(),
            };
            return Verdict::fail(format!(
                "the waits {which} do not spread as the {:?} jitter draws them: {} of {} in the upper half of their range, where about half belong",
                self.schedule.map_or(JitterShape::Proportional, |s| s.jitter),
                spread.upper,
                spread.waits
            ));
        }
        if self.retransmissions == 0 {
            return Verdict::inconclusive("no retransmission to judge");
        }
        match self.spread.get(&None) {
            Some(spread) => Verdict::pass(format!(
                "{} retransmissions kept the retry policy; {} of {} waits in the upper half of their jitter's range",
                self.retransmissions, spread.upper, spread.waits
            )),
            None => Verdict::pass(format!("{} retransmissions kept the retry policy", self.retransmissions)),
        }
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
        RetryPolicy { retry, wait_from, jitter: JitterShape::Proportional, budget: None, acks_every_arrival: true, relayed_series: false }
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

    // Postmortem: a relay that skipped only the node it got a message from sent the origin
    // its own message back, and retransmitted to it until acked; duplicates are dropped, so
    // every check passed (held-out 13, group-relay-skips-only-sender).
    #[test]
    fn regression_a_relayed_series_never_goes_back_to_its_origin() {
        let judge_relay = |relayed_series: bool, events: &[TraceEvent]| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into(), "n2".into()], groups: vec![] };
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { relayed_series, ..policy(WaitFrom::Send) }));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(5_000_000), max_latency_ns: 0 })
        };
        let copy = |ms, from, to| ev(ms, EventKind::Attempt { node: NodeId(from), to: NodeId(to), series: 9, attempt: 1 });
        // n1 multicasts s9; n2 relays it to n0 (fine), and to n1 (its origin).
        let relays = [copy(1, 1, 0), copy(1, 1, 2), copy(2, 2, 0)];
        assert_ne!(judge_relay(true, &relays).outcome, Outcome::Fail, "{}", judge_relay(true, &relays).detail);
        let echoed = [&relays[..], &[copy(2, 2, 1)]].concat();
        let verdict = judge_relay(true, &echoed);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("n2 relayed s9 back to its origin n1"), "{}", verdict.detail);
        // Series numbered per sender are not judged so.
        assert_ne!(judge_relay(false, &echoed).outcome, Outcome::Fail);
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
        let failed = ev(488, EventKind::AttemptFailed { node: NodeId(0), to: NodeId(1), series: 7, attempt: 1 });
        assert_eq!(judge(WaitFrom::Failure, vec![], &[attempt(0, 1), failed, attempt(500, 2)]).outcome, Outcome::Pass);
    }

    #[test]
    fn numbers_must_advance_one_at_a_time_and_stop_at_max_attempts() {
        assert_eq!(outcome(&[attempt(0, 1), attempt(10, 1)]), Outcome::Fail, "a counter that does not advance");
        assert_eq!(outcome(&[attempt(0, 1), attempt(30, 3)]), Outcome::Fail, "a skipped attempt");
        assert_eq!(outcome(&[attempt(0, 2)]), Outcome::Fail, "no attempt 1");
        let five = [attempt(0, 1), attempt(10, 2), attempt(30, 3), attempt(70, 4), attempt(110, 5)];
        assert_eq!(outcome(&five), Outcome::Fail, "past max_attempts");
        // Under a call's policy a refused attempt sends nothing (its failure is all it leaves):
        // a skipped number, and both waits.
        let refused_between = |ms| [attempt(0, 1), failed_at(0, 7, 1), failed_at(10, 7, 2), attempt(ms, 3)];
        assert_eq!(judge(WaitFrom::Failure, vec![], &refused_between(30)).outcome, Outcome::Pass);
        assert_eq!(judge(WaitFrom::Failure, vec![], &refused_between(29)).outcome, Outcome::Fail);
    }

    /// Postmortem: a sender that dead-lettered a message one attempt early passed, since only
    /// attempts past `max_attempts` were judged (held-out set 7, alo-gives-up-one-attempt-early).
    #[test]
    fn regression_a_series_given_up_before_its_last_attempt_fails() {
        let dead = |ms| ev(ms, EventKind::DeadLetter { node: NodeId(0), to: NodeId(1), app: AppId(7) });
        let four = [attempt(0, 1), attempt(10, 2), attempt(30, 3), attempt(70, 4)];
        let after = |last: &[TraceEvent], end: TraceEvent| [last, &[end]].concat();
        assert_eq!(outcome(&after(&four, dead(110))), Outcome::Pass, "dead-lettered once the last wait ran out");
        let v = judge(WaitFrom::Send, vec![], &after(&four, dead(100)));
        assert!(v.outcome == Outcome::Fail && v.detail.contains("policy waits at least"), "{}", v.detail);
        let v = judge(WaitFrom::Send, vec![], &after(&four[..3], dead(70)));
        assert!(v.outcome == Outcome::Fail && v.detail.contains("after attempt 3 of max_attempts 4"), "{}", v.detail);
        // A call that ends on a timeout or an error is given up too, unless another attempt follows.
        let call = |ms, outcome| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome, latency_ns: 0 });
        // Under a call's policy each attempt fails (here as it is sent) before the next.
        let four = [
            attempt(0, 1),
            failed_at(0, 7, 1),
            attempt(10, 2),
            failed_at(10, 7, 2),
            attempt(30, 3),
            failed_at(30, 7, 3),
            attempt(70, 4),
            failed_at(70, 7, 4),
        ];
        for outcome_line in [CallOutcome::Timeout, CallOutcome::Error] {
            let v = judge(WaitFrom::Failure, vec![], &after(&four[..4], call(20, outcome_line)));
            assert!(v.outcome == Outcome::Fail && v.detail.contains("after attempt 2 of max_attempts 4"), "{}", v.detail);
            let retried = [&four[..2], &[call(5, outcome_line)], &four[2..]].concat();
            assert_eq!(judge(WaitFrom::Failure, vec![], &retried).outcome, Outcome::Pass, "{outcome_line:?}, then retried");
        }
        assert_eq!(judge(WaitFrom::Failure, vec![], &after(&four, call(80, CallOutcome::Timeout))).outcome, Outcome::Pass);
        // A breaker refusing the next attempt ends the series, not the retry policy.
        let refused = after(&four[..4], call(20, CallOutcome::Timeout));
        let refused = after(&refused, call(40, CallOutcome::Rejected));
        assert_eq!(judge(WaitFrom::Failure, vec![], &refused).outcome, Outcome::Pass);
    }

    /// Postmortem: waits drawn from a proportional jitter were judged by their bounds only, so
    /// a sender that never jittered its first wait passed (held-out set 8,
    /// alo-first-send-unjittered). They spread across their range now, or fail; a declared
    /// bound (a periodic resend) is not judged on its spread.
    #[test]
    fn regression_proportional_waits_drawn_must_spread() {
        let judge_with = |jitter, gaps: &dyn Fn(u64) -> u64| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { jitter, ..policy(WaitFrom::Send) }));
            for series in 0..40u64 {
                let start = series * 100;
                c.observe(&ev(start, EventKind::Attempt { node: NodeId(0), to: NodeId(1), series, attempt: 1 }));
                c.observe(&ev(start + gaps(series), EventKind::Attempt { node: NodeId(0), to: NodeId(1), series, attempt: 2 }));
            }
            c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
        };
        // The wait after attempt 1 is 10 ms plus up to 5.
        let v = judge_with(JitterShape::Proportional, &|_| 10);
        assert!(v.outcome == Outcome::Fail && v.detail.contains("after attempt 1"), "{}", v.detail);
        assert_eq!(judge_with(JitterShape::Proportional, &|s| 10 + s % 2 * 4).outcome, Outcome::Pass);
        assert_eq!(judge_with(JitterShape::ProportionalBound, &|_| 10).outcome, Outcome::Pass);
    }

    /// With a retry budget, an empty bucket excuses giving up early; a token left does not.
    #[test]
    fn a_call_given_up_early_is_excused_only_by_an_empty_budget() {
        let budgeted = |events: &[TraceEvent]| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
            let budget = Some(RetryBudget { ratio_ppb: PPB / 2, burst: 1 });
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { budget, ..policy(WaitFrom::Failure) }));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 }).outcome
        };
        let command =
            |ms, app: u64| ev(ms, EventKind::Command { node: NodeId(0), app: AppId(app), dest: crate::process::Dest::Node(NodeId(1)) });
        let timeout = |ms| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome: CallOutcome::Timeout, latency_ns: 0 });
        // The burst's one token is in the bucket: giving up after attempt 1 is early.
        assert_eq!(budgeted(&[command(0, 7), sent_at(0, 7, 1), failed_at(1, 7, 1), timeout(1)]), Outcome::Fail);
        // The token paid the retry after attempt 1: giving up after attempt 2 is excused.
        let spent = [command(0, 7), sent_at(0, 7, 1), failed_at(1, 7, 1), sent_at(12, 7, 2), failed_at(13, 7, 2), timeout(13)];
        assert_eq!(budgeted(&spent), Outcome::Pass);
    }

    #[test]
    fn attempts_a_breaker_refused_explain_a_late_first_number() {
        let refused = |ms| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome: CallOutcome::Rejected, latency_ns: 0 });
        let explained = [refused(0), failed_at(0, 7, 1), attempt(15, 2), failed_at(30, 7, 2), attempt(60, 3)];
        assert_eq!(judge(WaitFrom::Failure, vec![], &explained).outcome, Outcome::Pass);
        assert_eq!(judge(WaitFrom::Failure, vec![], &[refused(0), failed_at(0, 7, 1), attempt(30, 3)]).outcome, Outcome::Fail);
    }

    // Postmortem: the bound counted every deposit (burst plus ratio per call) without the
    // bucket's cap, so a client whose bucket grew past its burst in a healthy spell retried
    // in a storm as no capped bucket allows, and passed.
    #[test]
    fn retries_may_not_outrun_the_budget_whose_bucket_holds_at_most_its_burst() {
        // A burst of 1 plus half a retry per call.
        let budgeted = |events: &[TraceEvent]| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
            let budget = Some(RetryBudget { ratio_ppb: PPB / 2, burst: 1 });
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { budget, ..policy(WaitFrom::Failure) }));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
        };
        let call =
            |ms, app: u64| ev(ms, EventKind::Command { node: NodeId(0), app: AppId(app), dest: crate::process::Dest::Node(NodeId(1)) });
        // Series 7 fails twice and is retried twice; each retry is taken at the failure before it.
        let failing = |before: &[TraceEvent], between: &[TraceEvent]| {
            let mut events = vec![call(0, 7)];
            events.extend_from_slice(before);
            events.extend([sent_at(0, 7, 1), failed_at(1, 7, 1)]);
            events.extend_from_slice(between);
            events.extend([sent_at(12, 7, 2), failed_at(13, 7, 2), sent_at(35, 7, 3)]);
            events
        };
        // The burst pays the first retry; two calls after it pay the second.
        let paid = failing(&[], &[call(2, 100), call(3, 101)]);
        assert_eq!(budgeted(&paid).outcome, Outcome::Pass, "{}", budgeted(&paid).detail);
        // Forty calls while the bucket was full deposit nothing: the second retry is unpaid.
        let many: Vec<TraceEvent> = (0..40).map(|i| call(0, 200 + i)).collect();
        let v = budgeted(&failing(&many, &[]));
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("retry number 2 with less than a token"), "{}", v.detail);
    }

    #[test]
    fn the_jitter_s_shape_sets_the_shortest_wait() {
        let judge_shape = |jitter, events: &[TraceEvent]| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { jitter, ..policy(WaitFrom::Failure) }));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 }).outcome
        };
        let early = [attempt(0, 1), failed_at(0, 7, 1), attempt(6, 2)];
        assert_eq!(judge_shape(JitterShape::Proportional, &early), Outcome::Fail);
        assert_eq!(judge_shape(JitterShape::Full, &early), Outcome::Pass);
        assert_eq!(judge_shape(JitterShape::Equal, &early), Outcome::Pass);
        assert_eq!(judge_shape(JitterShape::Equal, &[attempt(0, 1), failed_at(0, 7, 1), attempt(4, 2)]), Outcome::Fail);
        assert_eq!(judge_shape(JitterShape::Decorrelated, &early), Outcome::Fail);
    }

    fn failed_at(ms: u64, series: u64, attempt: u32) -> TraceEvent {
        ev(ms, EventKind::AttemptFailed { node: NodeId(0), to: NodeId(1), series, attempt })
    }

    fn sent_at(ms: u64, series: u64, attempt: u32) -> TraceEvent {
        ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(1), series, attempt })
    }

    /// Attempt `attempt` of series 7 sent at `ms` as message `msg`, arriving intact at n1 1 ms later.
    fn request(ms: u64, attempt: u32, msg: u64) -> [TraceEvent; 3] {
        [
            sent_at(ms, 7, attempt),
            ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), size: 24 }),
            ev(ms + 1, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), corrupted: false }),
        ]
    }

    /// Judged as `Calls` declares its policy: waits from each failure, and a service that
    /// answers its requests instead of acknowledging them.
    fn judge_from_failures(jitter: JitterShape, events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
        let policy = RetryPolicy { jitter, acks_every_arrival: false, ..policy(WaitFrom::Failure) };
        let mut c = RetryBackoff::new(cluster, vec![], Some(policy));
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
    }

    #[test]
    fn a_wait_from_a_failure_lies_in_the_range_its_scheme_draws_from() {
        // Attempt 1 sent at 0 ms, failed at 5 ms; the wait after it is drawn from [0, 10] ms
        // (Full), [5, 10] (Equal), [10, 20] (Decorrelated, from base to factor * base) or
        // [10, 15] (Proportional, jitter one half).
        let wait = |jitter, ms: u64| judge_from_failures(jitter, &[sent_at(0, 7, 1), failed_at(5, 7, 1), sent_at(5 + ms, 7, 2)]).outcome;
        assert_eq!(wait(JitterShape::Full, 9), Outcome::Pass);
        assert_eq!(wait(JitterShape::Full, 11), Outcome::Fail, "longer than the backoff");
        assert_eq!(wait(JitterShape::Equal, 4), Outcome::Fail, "shorter than half the backoff");
        assert_eq!(wait(JitterShape::Equal, 6), Outcome::Pass);
        assert_eq!(wait(JitterShape::Decorrelated, 19), Outcome::Pass);
        assert_eq!(wait(JitterShape::Decorrelated, 21), Outcome::Fail, "past factor times the base");
        assert_eq!(wait(JitterShape::Proportional, 16), Outcome::Fail, "past the jitter's fraction");
        // Decorrelated grows from the wait before: after a wait of 15 ms, up to 30 (capped at 40).
        let grown = |ms: u64| {
            let events = [sent_at(0, 7, 1), failed_at(5, 7, 1), sent_at(20, 7, 2), failed_at(25, 7, 2), sent_at(25 + ms, 7, 3)];
            judge_from_failures(JitterShape::Decorrelated, &events).outcome
        };
        assert_eq!(grown(29), Outcome::Pass);
        assert_eq!(grown(31), Outcome::Fail);
        // A pause may hold the timer past the range.
        let pause = ev(6, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(0)), index: 0 });
        let held = [sent_at(0, 7, 1), failed_at(5, 7, 1), pause, sent_at(30, 7, 2)];
        assert_eq!(judge_from_failures(JitterShape::Full, &held).outcome, Outcome::Pass);
    }

    #[test]
    fn the_coin_s_tail_is_exact_where_it_can_be_counted() {
        assert!((fair_coin_tail(4, 0) - 1.0 / 16.0).abs() < 1e-12);
        assert!((fair_coin_tail(4, 1) - 5.0 / 16.0).abs() < 1e-12);
        assert!((fair_coin_tail(40, 0) - 0.5f64.powi(40)).abs() < 1e-20);
        // A million tosses, 49.9 % heads: about 1.2 % below, no overflow on the way.
        let p = fair_coin_tail(1_000_000, 499_000);
        assert!(p > 0.01 && p < 0.03, "{p}");
        assert!(Spread { waits: 31, upper: 0 }.lopsided() && !Spread { waits: 30, upper: 0 }.lopsided());
        assert!(!Spread { waits: 200, upper: 70 }.lopsided() && Spread { waits: 200, upper: 50 }.lopsided());
    }

    // Postmortem: a client that matched a response by call alone took a late answer to attempt
    // 1 as attempt 2's, and nothing in the trace said which attempt an answer was for.
    #[test]
    fn an_attempt_ends_only_on_an_answer_to_it() {
        let answer = |ms, attempt| ev(ms, EventKind::Answer { node: NodeId(1), to: NodeId(0), series: 7, attempt });
        let reply = |ms| ev(ms, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(9), size: 24 });
        let arrives = |ms| ev(ms, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(9), corrupted: false });
        let ok = |ms| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome: CallOutcome::Ok, latency_ns: 0 });
        // Attempt 1 times out at 50 ms; attempt 2 goes at 60; an answer arrives at 70. Both
        // requests reached n1, so it may answer either.
        let run = |answered: u32, ending: TraceEvent| {
            let events: Vec<TraceEvent> = [request(0, 1, 1).as_slice(), &[failed_at(50, 7, 1)], &request(60, 2, 2)]
                .concat()
                .into_iter()
                .chain([answer(65, answered), reply(65), arrives(70), ending])
                .collect();
            judge_from_failures(JitterShape::Full, &events)
        };
        assert_eq!(run(2, ok(70)).outcome, Outcome::Pass);
        let v = run(1, ok(70));
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("attempt 2 of s7 was answered on n1's answer to s7 #1"), "{}", v.detail);
        assert_eq!(run(1, failed_at(70, 7, 2)).outcome, Outcome::Fail, "an error answer to attempt 1 fails attempt 2");
        assert_ne!(run(2, failed_at(70, 7, 2)).outcome, Outcome::Fail);
    }

    // Postmortem: a client that reported a timed-out attempt as an error passed: which kind a
    // call line said was never held against whether an answer had come (held-out set 12,
    // calls-timeout-reported-as-error).
    #[test]
    fn regression_an_answered_kind_needs_an_answer_arriving_and_a_timeout_none() {
        let answer = |ms| ev(ms, EventKind::Answer { node: NodeId(1), to: NodeId(0), series: 7, attempt: 1 });
        let reply = |ms| ev(ms, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(9), size: 24 });
        let arrives = |ms| ev(ms, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(9), corrupted: false });
        let timer = |ms| ev(ms, EventKind::Timer { node: NodeId(0), timer: crate::id::TimerId(1) });
        let ended = |ms, outcome| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome, latency_ns: 0 });
        let run = |step: TraceEvent, outcome| {
            let events: Vec<TraceEvent> =
                request(0, 1, 1).into_iter().chain([answer(5), reply(5), step, failed_at(50, 7, 1), ended(50, outcome)]).collect();
            judge_from_failures(JitterShape::Full, &events)
        };
        // An error answer arrives: `error`; the attempt's timer fires: `timeout`.
        // (Both give the call up after attempt 1 of 4, which fails on its own: not this clause.)
        for (step, outcome) in [(arrives(50), CallOutcome::Error), (timer(50), CallOutcome::Timeout)] {
            let v = run(step, outcome);
            assert!(v.detail.contains("gave up its call s7 to n1 after attempt 1"), "{}", v.detail);
        }
        let v = run(timer(50), CallOutcome::Error);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("n0's call a7 ended Error with no answer to it arriving"), "{}", v.detail);
        let v = run(arrives(50), CallOutcome::Timeout);
        assert!(v.outcome == Outcome::Fail && v.detail.contains("timed out on the arrival of an answer"), "{}", v.detail);
    }

    // Postmortem: a service that echoed attempt 1 in every answer had each retry's answer
    // taken for a stale one, so every retry timed out; the answer lines were believed, never
    // held against the requests that came (held-out set 15, calls-response-echoes-first-attempt).
    #[test]
    fn regression_an_answer_answers_a_request_that_came() {
        let answer = |ms, attempt| ev(ms, EventKind::Answer { node: NodeId(1), to: NodeId(0), series: 7, attempt });
        let run = |extra: &[TraceEvent], answers: &[u32]| {
            let mut events: Vec<TraceEvent> = [request(0, 1, 1).as_slice(), &[failed_at(50, 7, 1)], &request(60, 2, 2), extra].concat();
            events.extend(answers.iter().map(|&k| answer(70, k)));
            judge_from_failures(JitterShape::Full, &events)
        };
        assert_ne!(run(&[], &[1, 2]).outcome, Outcome::Fail, "each request answered once");
        assert_ne!(run(&[], &[2]).outcome, Outcome::Fail, "a request left unanswered is not this clause's");
        let v = run(&[], &[1, 1]);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(
            v.detail.contains("n1 answered n0's attempt 1 of s7 with no unanswered copy of that attempt having arrived"),
            "{}",
            v.detail
        );
        assert_eq!(run(&[], &[3]).outcome, Outcome::Fail, "attempt 3 was never sent");
        // A duplicated request may be served, and answered, twice; a corrupted copy not at all.
        let twice = ev(62, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(2), corrupted: false });
        assert_ne!(run(&[twice], &[1, 2, 2]).outcome, Outcome::Fail);
        let damaged = ev(62, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(2), corrupted: true });
        assert_eq!(run(&[damaged], &[1, 2, 2]).outcome, Outcome::Fail);
    }

    #[test]
    fn a_refused_attempt_ends_the_wait_before_it() {
        let refused = |ms| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome: CallOutcome::Rejected, latency_ns: 0 });
        // Attempt 2 refused by the breaker 4 ms after attempt 1 failed: too early unless the
        // scheme may draw a wait that short.
        let events = [sent_at(0, 7, 1), failed_at(5, 7, 1), refused(9), failed_at(9, 7, 2)];
        assert_eq!(judge_from_failures(JitterShape::Proportional, &events).outcome, Outcome::Fail);
        assert_ne!(judge_from_failures(JitterShape::Full, &events).outcome, Outcome::Fail);
    }

    // Postmortem: a breaker-refused attempt left no failure line, so the retry after it waited
    // from nowhere and was not judged at all (held-out set 12, calls-rejected-attempt-not-marked-failed).
    #[test]
    fn regression_a_retry_with_no_failure_of_the_attempt_before_fails_unless_a_crash_forgot_it() {
        let refused = |ms| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome: CallOutcome::Rejected, latency_ns: 0 });
        let marked = [sent_at(0, 7, 1), failed_at(5, 7, 1), refused(15), failed_at(15, 7, 2), sent_at(37, 7, 3)];
        assert_eq!(judge_from_failures(JitterShape::Proportional, &marked).outcome, Outcome::Pass);
        let unmarked = [sent_at(0, 7, 1), failed_at(5, 7, 1), refused(15), sent_at(37, 7, 3)];
        let v = judge_from_failures(JitterShape::Proportional, &unmarked);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("made attempt 3 of s7 to n1 with no failure of attempt 2"), "{}", v.detail);
        // A crash forgets the series: what follows it is not held to the failures before.
        let crash = ev(20, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let cut = [sent_at(0, 7, 1), failed_at(5, 7, 1), crash, refused(30), sent_at(37, 7, 2)];
        assert_ne!(judge_from_failures(JitterShape::Proportional, &cut).outcome, Outcome::Fail);
        // Waits that start at the send need no failure line.
        assert_eq!(judge(WaitFrom::Send, vec![], &[sent_at(0, 7, 1), sent_at(12, 7, 2)]).outcome, Outcome::Pass);
    }

    // Postmortem: a Full scheme that never grew its backoff, and a Decorrelated one growing from
    // the base instead of the previous wait, drew every wait inside the bounds and passed.
    #[test]
    fn waits_of_a_named_scheme_must_spread_across_their_range() {
        // Forty calls, each failing once at 0 ms of its own and retried after a wait in [0, 10].
        let calls = |wait_ms: &dyn Fn(u64) -> u64| -> Vec<TraceEvent> {
            (0..40u64)
                .flat_map(|s| {
                    let start = s * 100;
                    [sent_at(start, s, 1), failed_at(start + 1, s, 1), sent_at(start + 1 + wait_ms(s), s, 2)]
                })
                .collect()
        };
        let spread = calls(&|s| if s % 2 == 0 { 2 } else { 8 });
        assert_eq!(judge_from_failures(JitterShape::Full, &spread).outcome, Outcome::Pass);
        let low = calls(&|s| 1 + s % 4);
        let v = judge_from_failures(JitterShape::Full, &low);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("after attempt 1") && v.detail.contains("0 of 40"), "{}", v.detail);
        // A proportional jitter drawn spreads too; one declared as a bound only need not.
        let floor = calls(&|_| 10);
        assert_eq!(judge_from_failures(JitterShape::Proportional, &floor).outcome, Outcome::Fail);
        assert_eq!(judge_from_failures(JitterShape::ProportionalBound, &floor).outcome, Outcome::Pass);
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
    fn an_intact_attempt_is_owed_an_ack_to_its_sender() {
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
        // A damaged copy is owed nothing.
        let damaged = [attempt(0, 1), data, arrives(true), ack_to(2), ack_send(2), retry];
        assert_eq!(outcome(&damaged), Outcome::Pass);
    }

    // Postmortem: a work-queue broker that acknowledged nothing at all (producers resent every
    // task until the horizon) passed, because the ack clause woke on a run's first `ack` line
    // (held-out 16, work-queue-duplicate-not-acked).
    #[test]
    fn regression_a_receiver_that_never_acknowledges_owes_every_ack() {
        let judge_acks = |acks_every_arrival: bool, events: &[TraceEvent]| {
            let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
            let mut c = RetryBackoff::new(cluster, vec![], Some(RetryPolicy { acks_every_arrival, ..policy(WaitFrom::Send) }));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
        };
        let send = |ms, msg| ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), size: 88 });
        let arrives = |ms, msg| ev(ms, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), corrupted: false });
        // Attempts 1 and 2 both arrive intact, and the run holds no `ack` line at all.
        let unacked = [attempt(0, 1), send(0, 1), arrives(1, 1), attempt(12, 2), send(12, 2), arrives(13, 2)];
        let verdict = judge_acks(true, &unacked);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("never acknowledged to their sender; first: s7 from n0 at n1"), "{}", verdict.detail);
        // A policy whose receiver may rightly leave an arrival unacknowledged (or answers
        // instead) is not judged on acks.
        assert_ne!(judge_acks(false, &unacked).outcome, Outcome::Fail);
        // Acknowledged, the same run passes.
        let ack = ev(13, EventKind::Ack { node: NodeId(1), to: NodeId(0), series: 7 });
        let ack_send = ev(13, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(3), size: 24 });
        let acked = [&unacked[..], &[ack, ack_send]].concat();
        assert_eq!(judge_acks(true, &acked).outcome, Outcome::Pass, "{}", judge_acks(true, &acked).detail);
    }

    /// Postmortem (hreview's probes): a call ended on an error near the horizon, or before a
    /// pause for good, whose retry was still due, was called given up early; and an Rpc
    /// request arriving while its server worked at the horizon, or before the server paused
    /// for good, was called never acknowledged. Both are judged only where the run went on.
    #[test]
    fn regression_what_the_end_or_a_hold_cut_off_is_not_judged() {
        let cluster = || Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
        let horizon = |events: &[TraceEvent], at_ms: u64| {
            let mut c = RetryBackoff::new(cluster(), vec![], Some(policy(WaitFrom::Failure)));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(at_ms * 1_000_000), max_latency_ns: 0 }).outcome
        };
        let error = |ms| ev(ms, EventKind::Call { node: NodeId(0), app: AppId(7), outcome: CallOutcome::Error, latency_ns: 0 });
        let early = [sent_at(0, 7, 1), failed_at(5, 7, 1), error(5)];
        assert_ne!(horizon(&early, 30), Outcome::Fail, "its retry may come up to 60 ms later");
        assert_eq!(horizon(&early, 100), Outcome::Fail, "the run went on: it gave up");
        let pause = ev(6, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(0)), index: 0 });
        assert_ne!(horizon(&[&early[..], &[pause]].concat(), 100), Outcome::Fail, "paused for good");
        // An attempt arrived intact and owed its ack: at the horizon only after the first wait.
        let data = ev(0, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(1), size: 88 });
        let arrived = ev(1, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(1), corrupted: false });
        let owed = [attempt(0, 1), data, arrived];
        assert_ne!(horizon(&owed, 5), Outcome::Fail, "still working at the horizon");
        assert_eq!(horizon(&owed, 50), Outcome::Fail, "never answered");
        let server_paused = ev(2, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(1)), index: 0 });
        assert_ne!(horizon(&[&owed[..], &[server_paused]].concat(), 50), Outcome::Fail, "its server paused for good");
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

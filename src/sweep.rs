//! Seed sweeps: one scenario run with many seeds in parallel, summarised the
//! same whatever the thread count or the order in which runs finish; the
//! determinism check, shards and their merge, and the assertions tests use.
//!
//! Each seed is one single-threaded run; rayon spreads seeds over a pool of
//! exactly `jobs` threads. Per-seed results are sorted by seed before anything
//! is summarised, and the latency histograms are merged by adding integer
//! counts, so a report is a pure function of the scenario and the seeds.
//!
//! ```
//! use msgsim::Scenario;
//! use msgsim::sweep::{SeedVerdict, Sweep};
//! let scenario = Scenario::parse(r#"Scenario(
//!     name: "lossy pair", horizon_ms: 100, nodes: 2,
//!     protocol: BestEffort(),
//!     network: (latency: Uniform(min_ms: 1, max_ms: 5), loss: 0.2),
//!     workload: [(from: "n0", to: "n1", every_ms: 10, count: 5)],
//!     checks: [NoLoss],
//! )"#, "lossy.ron").unwrap();
//! let report = Sweep::new(&scenario).file("lossy.ron").seeds(0..20).jobs(2).run();
//! assert_eq!(report.runs, 20);
//! // Best effort loses what the network loses: some seed fails NoLoss, and the
//! // report names the lowest one with the command that replays it.
//! let seed = report.assert_fails("NoLoss");
//! assert_eq!(report.seed(seed).unwrap().verdict, SeedVerdict::Fail);
//! assert_eq!(report.first_failure.as_ref().unwrap().reproduce, format!("msgsim run lossy.ron --seed {seed}"));
//! // Statistics, per seed or over the sweep.
//! report.assert_each_seed("sends at most 5 messages", |s| s.sent.is_some_and(|n| n <= 5));
//! assert!(report.latency.p99_ns.unwrap() <= 5_000_000);
//! ```

use crate::check::Outcome;
use crate::id::NodeId;
use crate::process::Process;
use crate::report::printable;
use crate::report::{missed_on_this_seed, reproduce_command};
use crate::scenario::{FailuresExpectedOn, Scenario};
use crate::sim::{ProtocolPanic, RunOptions, RunResult, run_catching};
use crate::stats::{LatencyHistogram, percentile_of_sorted};
use crate::time::SimTime;
use crate::trace::{TraceEvent, format_hash, render_line};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};
use std::ops::Range;
use std::str::FromStr;

/// Seeds `start..end`, the end excluded, as written on the command line (`0..1000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed run.
    pub start: u64,
    /// One past the last seed run; always above `start` (an empty range is refused).
    pub end: u64,
}

impl FromStr for SeedRange {
    type Err = String;
    fn from_str(s: &str) -> Result<SeedRange, String> {
        let (a, b) = s.split_once("..").ok_or_else(|| format!("`{s}` is not a seed range: write A..B (B excluded), e.g. 0..1000"))?;
        let seed =
            |x: &str| x.parse::<u64>().map_err(|_| format!("`{x}` in `{s}` is not a seed: seeds are whole numbers from 0 to {}", u64::MAX));
        let (start, end) = (seed(a)?, seed(b)?);
        if start >= end {
            return Err(format!("the seed range `{s}` is empty: its end is excluded, so it must be above the start"));
        }
        Ok(SeedRange { start, end })
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// Part `index` of `count` of a sweep over `A..B`: the seeds `s` with `(s - A) % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Shard {
    /// Which part this is, from 0; always below `count`.
    pub index: u64,
    /// How many parts the sweep is split into (at least 1); `msgsim merge` wants every one.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: write i/n with 0 <= i < n, e.g. 0/4 for the first of four");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.parse::<u64>().map_err(|_| bad())?, n.parse::<u64>().map_err(|_| bad())?);
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl From<Shard> for String {
    fn from(s: Shard) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Shard {
    type Error = String;
    fn try_from(s: String) -> Result<Shard, String> {
        s.parse()
    }
}

/// The most threads a sweep starts, whatever `--jobs` asks: well above any core count a
/// sweep gains from, well below what an operating system refuses.
pub const MAX_JOBS: usize = 256;

/// Runs one seed with the given options: `sim::run` (the scenario's own protocol), or `run_catching` with a caller's process.
type Runner<'r> = dyn Fn(u64, &RunOptions) -> Result<RunResult, ProtocolPanic> + Sync + 'r;

/// A sweep to run: which scenario, which seeds, how many threads. See the module's example.
pub struct Sweep<'a> {
    scenario: &'a Scenario,
    file: String,
    seeds: Range<u64>,
    jobs: usize,
    shard: Option<Shard>,
    check_determinism: bool,
    progress: Option<&'a (dyn Fn() + Sync)>,
}

impl<'a> Sweep<'a> {
    /// Seeds `0..100` of `scenario`, on as many threads as the machine has cores.
    pub fn new(scenario: &'a Scenario) -> Sweep<'a> {
        Sweep {
            scenario,
            file: format!("<{}>", scenario.name),
            seeds: 0..100,
            jobs: std::thread::available_parallelism().map_or(1, usize::from),
            shard: None,
            check_determinism: false,
            progress: None,
        }
    }

    /// The scenario's file, as reproduce commands should name it (by default, the scenario's name in angle brackets).
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }

    /// Run seeds `seeds` (the end excluded) instead of `0..100`.
    pub fn seeds(mut self, seeds: Range<u64>) -> Self {
        self.seeds = seeds;
        self
    }

    /// Run on `jobs` threads, or [`Sweep::threads`] if that is fewer. Panics if `jobs` is 0.
    pub fn jobs(mut self, jobs: usize) -> Self {
        assert!(jobs > 0, "a sweep needs at least one thread");
        self.jobs = jobs;
        self
    }

    /// The threads the sweep runs on: the `jobs` asked for, but never more than the seeds to
    /// run, nor than [`MAX_JOBS`] (a thread per seed of a large range would exhaust the
    /// operating system's threads before a run starts).
    pub fn threads(&self) -> usize {
        let seeds = usize::try_from(self.seed_count()).unwrap_or(usize::MAX);
        self.jobs.min(seeds).clamp(1, MAX_JOBS)
    }

    /// Run only this shard's seeds.
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Run every seed twice and report any difference between the two runs as an error.
    pub fn check_determinism(mut self, on: bool) -> Self {
        self.check_determinism = on;
        self
    }

    /// Called once per finished seed, from whichever thread ran it (for a progress bar).
    pub fn progress(mut self, tick: &'a (dyn Fn() + Sync)) -> Self {
        self.progress = Some(tick);
        self
    }

    /// How many seeds this sweep (or its shard) runs.
    pub fn seed_count(&self) -> u64 {
        let shard = self.shard.unwrap_or(Shard { index: 0, count: 1 });
        let len = self.seeds.end.saturating_sub(self.seeds.start);
        // Seeds start + index + k * count below the end, for k from 0.
        len.saturating_sub(shard.index).div_ceil(shard.count)
    }

    /// The `k`-th seed (from 0) this sweep (or its shard) runs: seeds are computed as they
    /// are needed, so a sweep's memory does not grow with its range.
    fn nth_seed(&self, k: u64) -> u64 {
        let shard = self.shard.unwrap_or(Shard { index: 0, count: 1 });
        self.seeds.start + shard.index + k * shard.count
    }

    /// The seeds this sweep (or its shard) runs, ascending, computed one at a time.
    pub fn seeds_to_run(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.seed_count()).map(|k| self.nth_seed(k))
    }

    /// Sweep under the scenario's own protocol.
    pub fn run(&self) -> SweepReport {
        let scenario = self.scenario;
        self.sweep(&|seed, options| crate::sim::run(scenario, seed, options))
    }

    /// Sweep with processes `factory` makes, for protocols outside the library.
    pub fn run_with<P: Process, F: Fn(NodeId) -> P + Sync>(&self, factory: F) -> SweepReport {
        let scenario = self.scenario;
        self.sweep(&|seed, options| run_catching(scenario, seed, options, &factory))
    }

    fn sweep(&self, runner: &Runner<'_>) -> SweepReport {
        let work = || {
            (0..self.seed_count())
                .into_par_iter()
                .map(|k| {
                    let done = self.one_seed(self.nth_seed(k), runner);
                    if let Some(tick) = self.progress {
                        tick();
                    }
                    done
                })
                .fold(
                    || (Vec::new(), LatencyHistogram::default()),
                    |(mut seeds, mut latency), (seed, run_latency)| {
                        seeds.push(seed);
                        if let Some(h) = run_latency {
                            latency.merge(&h);
                        }
                        (seeds, latency)
                    },
                )
                .reduce(
                    || (Vec::new(), LatencyHistogram::default()),
                    |(mut seeds, mut latency), (more, other)| {
                        seeds.extend(more);
                        latency.merge(&other);
                        (seeds, latency)
                    },
                )
        };
        // Fewer threads if the operating system will not start as many; with none to spare,
        // rayon runs the work on this thread.
        let mut threads = self.threads();
        let pool = loop {
            match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                Ok(pool) => break Some(pool),
                Err(_) if threads > 1 => threads /= 2,
                Err(_) => break None,
            }
        };
        let (seeds, latency) = match pool {
            Some(pool) => pool.install(work),
            None => work(),
        };
        let header = Header {
            scenario: self.file.clone(),
            name: self.scenario.name.clone(),
            protocol: self.scenario.protocol.name().to_string(),
            seeds: format!("{}..{}", self.seeds.start, self.seeds.end),
            shard: self.shard,
            check_determinism: self.check_determinism,
            expect_failures: self.scenario.expect_failures.clone(),
            expect_failures_every_seed: self.scenario.expect_failures_on == FailuresExpectedOn::EverySeed,
        };
        SweepReport::summarise(header, seeds, latency)
    }

    /// Run one seed (twice if checking determinism) and judge it.
    fn one_seed(&self, seed: u64, runner: &Runner<'_>) -> (SeedReport, Option<LatencyHistogram>) {
        // Checking determinism keeps no whole trace: each run notes its rolling hash every
        // `DETERMINISM_WINDOW` events and keeps only its first window of events.
        let options = match self.check_determinism {
            true => RunOptions {
                record_trace: true,
                trace_window: Some((0, DETERMINISM_WINDOW)),
                fingerprint_every: Some(DETERMINISM_WINDOW),
                latency: true,
                ..RunOptions::default()
            },
            false => RunOptions { latency: true, ..RunOptions::default() },
        };
        let first = runner(seed, &options);
        let divergence = if self.check_determinism {
            let second = runner(seed, &RunOptions { latency: false, ..options });
            self.compare(seed, runner, &first, &second)
        } else {
            None
        };
        let mut report = SeedReport {
            seed,
            verdict: SeedVerdict::Error,
            trace_hash: None,
            sent: None,
            delivered: None,
            failure: None,
            expected_failures: Vec::new(),
            error: None,
            ops: None,
        };
        match first {
            Err(p) => {
                report.error = Some(match p.bad_step {
                    // The user's schedule, not protocol code, stopped the run: bad input.
                    Some(step) => SeedError::BadSchedule { step: step as u64 + 1, event: p.event, at_ns: p.at.0, message: p.message },
                    None => SeedError::Panic { event: p.event, at_ns: p.at.0, message: p.message },
                });
                (report, None)
            }
            Ok(run) => {
                report.trace_hash = Some(format_hash(run.trace_hash));
                report.sent = Some(run.messages.sent);
                report.delivered = Some(run.messages.delivered);
                report.ops = SeedOps::of(&run);
                let expected = |check: &str| self.scenario.expect_failures.iter().any(|e| e == check);
                let failed = run.verdicts.iter().find(|(check, v)| v.outcome == Outcome::Fail && !expected(check));
                report.expected_failures = run
                    .verdicts
                    .iter()
                    .filter(|(check, v)| v.outcome == Outcome::Fail && expected(check))
                    .map(|(c, _)| c.to_string())
                    .collect();
                report.failure =
                    failed.map(|(check, v)| CheckFailure { check: check.to_string(), detail: v.detail.clone() }).or_else(|| {
                        let missed = missed_on_this_seed(self.scenario, &run.verdicts)?;
                        Some(CheckFailure { check: missed.check, detail: missed.detail })
                    });
                report.verdict = if divergence.is_some() {
                    SeedVerdict::Error
                } else if report.failure.is_some() {
                    SeedVerdict::Fail
                } else if run.verdicts.is_empty() || run.verdicts.iter().any(|(_, v)| v.outcome == Outcome::Inconclusive) {
                    // Nothing judged is not a pass: the checkers' own rule, applied to the seed.
                    SeedVerdict::Inconclusive
                } else {
                    SeedVerdict::Pass
                };
                report.error = divergence;
                (report, run.latency)
            }
        }
    }

    /// Any difference between two runs of one seed, as an error naming where they part.
    /// The runs are compared by their fingerprints; the events where they part come from the
    /// window each kept if it is the first, else from two more runs keeping just that window.
    fn compare(
        &self,
        seed: u64,
        runner: &Runner<'_>,
        first: &Result<RunResult, ProtocolPanic>,
        second: &Result<RunResult, ProtocolPanic>,
    ) -> Option<SeedError> {
        let nondeterministic =
            |trace_event, at_ns, first: String, second: String| Some(SeedError::Nondeterministic { trace_event, at_ns, first, second });
        let show = |e: Option<TraceEvent>| {
            e.map_or_else(|| "(the trace ends here)".to_string(), |e| render_line(&e, &self.scenario.cluster).trim_start().to_string())
        };
        match (first, second) {
            (Ok(a), Ok(b)) => {
                if (a.trace_hash, a.trace_events, &a.fingerprints) == (b.trace_hash, b.trace_events, &b.fingerprints) {
                    // Equal traces but different verdicts: a checker itself is nondeterministic.
                    let judged = |r: &RunResult| format!("{:?}", r.verdicts);
                    return (a.verdicts != b.verdicts).then(|| nondeterministic(None, None, judged(a), judged(b))).flatten();
                }
                // The first stretch of `DETERMINISM_WINDOW` events whose fingerprints differ
                // (or the stretch after the shorter list, if one list is a prefix of the other).
                let chunk = a.fingerprints.iter().zip(&b.fingerprints).position(|(x, y)| x != y);
                let chunk = chunk.unwrap_or(a.fingerprints.len().min(b.fingerprints.len())) as u64;
                let start = chunk * DETERMINISM_WINDOW;
                let window = (start, start + DETERMINISM_WINDOW);
                let kept = |r: &RunResult| r.trace.clone().unwrap_or_default();
                let (ta, tb) = if chunk == 0 {
                    (kept(a), kept(b))
                } else {
                    let again = RunOptions { record_trace: true, trace_window: Some(window), ..RunOptions::default() };
                    match (runner(seed, &again), runner(seed, &again)) {
                        (Ok(x), Ok(y)) => (kept(&x), kept(&y)),
                        _ => (Vec::new(), Vec::new()),
                    }
                };
                match first_divergence(&ta, &tb) {
                    Some(d) => {
                        let at = d.first.into_iter().chain(d.second).map(|e| e.time.0).min();
                        nondeterministic(Some(start + d.index), at, show(d.first), show(d.second))
                    }
                    // Two more runs did not part the same way: name the stretch.
                    None => nondeterministic(
                        Some(start),
                        None,
                        format!("trace hash {}, {} events", format_hash(a.trace_hash), a.trace_events),
                        format!(
                            "trace hash {}, {} events (the runs part within trace events {}..{}; two more runs did not)",
                            format_hash(b.trace_hash),
                            b.trace_events,
                            window.0,
                            window.1
                        ),
                    ),
                }
            }
            (Err(a), Err(b)) if a == b => None,
            _ => {
                let show = |r: &Result<RunResult, ProtocolPanic>| match r {
                    Ok(r) => format!("completed, trace hash {}", format_hash(r.trace_hash)),
                    Err(p) => format!("panicked during event {} at {}: {}", p.event, p.at, p.message),
                };
                nondeterministic(None, None, show(first), show(second))
            }
        }
    }
}

/// The determinism check's stretch: it notes each run's rolling hash every this many trace
/// events, and holds at most this many events of each run to show where two runs part.
pub const DETERMINISM_WINDOW: u64 = 1 << 16;

/// Where two traces of the same seed first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Position in the trace, from 0.
    pub index: u64,
    /// The event each trace has there; `None` where a trace has already ended.
    pub first: Option<TraceEvent>,
    /// The same position in the second trace.
    pub second: Option<TraceEvent>,
}

/// The first event where `a` and `b` differ, or `None` if they are equal.
pub fn first_divergence(a: &[TraceEvent], b: &[TraceEvent]) -> Option<Divergence> {
    let index = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    (index < a.len().max(b.len())).then(|| Divergence { index: index as u64, first: a.get(index).copied(), second: b.get(index).copied() })
}

/// One seed's verdict: `fail` if any check failed; else `inconclusive` if any
/// check was, or the scenario asked for none; else `pass`. `error` if protocol
/// code panicked, or (checking determinism) the two runs differed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedVerdict {
    /// Every check passed and there was something to judge.
    Pass,
    /// A check the scenario does not expect to fail failed.
    Fail,
    /// No check failed, but one had nothing to judge or the scenario names no check: not a pass.
    Inconclusive,
    /// Protocol code panicked, or the determinism check found two runs that differ.
    Error,
}

/// What a sweep records about each seed. The JSON field names are a stable interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// What the seed's run came to (see [`SeedVerdict`] for the rule).
    pub verdict: SeedVerdict,
    /// `None` if protocol code panicked.
    pub trace_hash: Option<String>,
    /// Network transmissions sent and copies delivered to processes (`None` if protocol code panicked).
    pub sent: Option<u64>,
    /// Copies delivered to processes, duplicates counted twice (`None` if protocol code panicked).
    pub delivered: Option<u64>,
    /// The first check that failed, in the scenario's order, of those the scenario does not
    /// expect to fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<CheckFailure>,
    /// The checks that failed as the scenario declares they may (`expect_failures`); they do
    /// not make the seed fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_failures: Vec<String>,
    /// Why the seed is an error (its verdict is then [`SeedVerdict::Error`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SeedError>,
    /// Clients' operations, for a run that had any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<SeedOps>,
}

/// One run's operations: counts, how long the run lasted, and its latency percentiles (ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedOps {
    /// Operations clients started.
    pub invoked: u64,
    /// Operations that ended with their reply.
    pub ok: u64,
    /// Operations that ended because the client's timeout expired first.
    pub timeouts: u64,
    /// Simulated time at the run's end, in nanoseconds (the denominator of throughput).
    pub run_ns: u64,
    /// Median latency, invocation to reply, of the run's operations that got their reply
    /// (`None` if none did); timeouts have no latency.
    pub p50_ns: Option<u64>,
    /// 99th percentile of the same latencies.
    pub p99_ns: Option<u64>,
    /// The longest of them, exact.
    pub max_ns: Option<u64>,
}

impl SeedOps {
    fn of(run: &RunResult) -> Option<SeedOps> {
        let o = &run.ops;
        (o.invoked > 0).then(|| SeedOps {
            invoked: o.invoked,
            ok: o.ok,
            timeouts: o.timeouts,
            run_ns: run.end.at.0,
            p50_ns: o.latency.percentile(50),
            p99_ns: o.latency.percentile(99),
            max_ns: o.latency.max(),
        })
    }
}

/// Operations over every run that had any: totals (throughput is `ok` over `run_ns`, messages
/// per operation `sent` over `invoked`), and each run's latency percentiles across runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsStats {
    /// Operations started, summed over the runs.
    pub invoked: u64,
    /// Operations that ended with their reply, summed.
    pub ok: u64,
    /// Operations that timed out, summed.
    pub timeouts: u64,
    /// The runs' simulated durations, summed, in nanoseconds.
    pub run_ns: u64,
    /// Network messages sent by the runs with operations.
    pub sent: u64,
    /// How each run's median latency (ns) varies across runs: min, median, p99, max of them.
    pub p50_ns: Option<Distribution>,
    /// How each run's 99th percentile latency (ns) varies across runs.
    pub p99_ns: Option<Distribution>,
    /// The longest operation of any run, in nanoseconds.
    pub max_ns: Option<u64>,
}

impl OpsStats {
    fn of(seeds: &[SeedReport]) -> Option<OpsStats> {
        let runs: Vec<(&SeedOps, u64)> = seeds.iter().filter_map(|s| Some((s.ops.as_ref()?, s.sent.unwrap_or(0)))).collect();
        if runs.is_empty() {
            return None;
        }
        let sum = |f: fn(&SeedOps) -> u64| runs.iter().map(|(o, _)| f(o)).sum::<u64>();
        Some(OpsStats {
            invoked: sum(|o| o.invoked),
            ok: sum(|o| o.ok),
            timeouts: sum(|o| o.timeouts),
            run_ns: sum(|o| o.run_ns),
            sent: runs.iter().map(|(_, s)| s).sum(),
            p50_ns: Distribution::of(runs.iter().filter_map(|(o, _)| o.p50_ns).collect()),
            p99_ns: Distribution::of(runs.iter().filter_map(|(o, _)| o.p99_ns).collect()),
            max_ns: runs.iter().filter_map(|(o, _)| o.max_ns).max(),
        })
    }
}

/// The check that made a seed fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckFailure {
    /// The check's name, as the scenario's `checks:` spells it.
    pub check: String,
    /// The check's explanation of the failure: what was violated and where in the trace.
    pub detail: String,
}

/// Why a seed is an error rather than a verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeedError {
    /// Protocol code panicked during scheduler event `event` (from 1).
    Panic {
        /// The scheduler event (from 1) whose handler panicked.
        event: u64,
        /// Simulated time of that event, in nanoseconds.
        at_ns: u64,
        /// The panic's message.
        message: String,
    },
    /// The scenario's `schedule` does not fit the seed's run: its step `step` (from 1) was not
    /// enabled in its turn. The input's fault (`msgsim sweep` exits 2), not protocol code's.
    BadSchedule {
        /// The schedule step (from 1) that was not enabled.
        step: u64,
        /// The scheduler event (from 1) at which it was due.
        event: u64,
        /// Simulated time then, in nanoseconds.
        at_ns: u64,
        /// What was wrong: the step, and the steps enabled instead.
        message: String,
    },
    /// Two runs of the seed differed: at trace event `trace_event` (from 0), or,
    /// when that is `None`, in their verdicts or in whether they panicked.
    Nondeterministic {
        /// The first trace event (from 0) where the runs differ; `None` if their traces agree.
        trace_event: Option<u64>,
        /// The simulated time of that event in nanoseconds (the earlier of the two), when known.
        at_ns: Option<u64>,
        /// What the first run has there (a trace line, its verdicts, or how it ended).
        first: String,
        /// What the second run has there.
        second: String,
    },
}

impl std::error::Error for SeedError {}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedError::Panic { event, at_ns, message } => {
                write!(f, "protocol code panicked during event {event} at {}: {}", SimTime(*at_ns), printable(message))
            }
            SeedError::BadSchedule { message, .. } => write!(f, "the scenario's schedule does not fit this seed: {}", printable(message)),
            SeedError::Nondeterministic { trace_event, first, second, .. } => {
                match trace_event {
                    Some(i) => write!(f, "nondeterministic: the two runs diverge at trace event {i} (from 0)")?,
                    None => write!(f, "nondeterministic: the two runs have the same trace but end differently")?,
                }
                write!(f, "\n           first run:  {}\n           second run: {}", printable(first), printable(second))
            }
        }
    }
}

/// The lowest failing seed of a sweep, with what failed and how to replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstFailure {
    /// The lowest seed whose verdict is [`SeedVerdict::Fail`].
    pub seed: u64,
    /// The check it failed first, in the scenario's order.
    pub check: String,
    /// That check's explanation.
    pub detail: String,
    /// The command that replays the seed (`msgsim run <file> --seed N`).
    pub reproduce: String,
}

/// The lowest seed of a sweep that is an error, with the error and how to replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstError {
    /// The lowest seed with an error.
    pub seed: u64,
    /// The panic or the difference between its two runs.
    pub error: SeedError,
    /// The command that replays the seed.
    pub reproduce: String,
}

/// Nearest-rank statistics of one count over the completed runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// The smallest value.
    pub min: u64,
    /// The 50th percentile by nearest rank: a value some run had, never an average.
    pub median: u64,
    /// The 99th percentile by nearest rank.
    pub p99: u64,
    /// The largest value.
    pub max: u64,
}

impl Distribution {
    fn of(mut values: Vec<u64>) -> Option<Distribution> {
        values.sort_unstable();
        let at = |p| percentile_of_sorted(&values, p);
        Some(Distribution { min: at(0)?, median: at(50)?, p99: at(99)?, max: at(100)? })
    }
}

/// Messages per run: network transmissions sent and copies delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStats {
    /// Transmissions put on a link per run (retransmissions included).
    pub sent: Distribution,
    /// Copies delivered to processes per run (duplicates counted twice).
    pub delivered: Distribution,
}

/// Application delivery latency (command to each delivery) over every delivery
/// of every completed run, in nanoseconds. Percentiles come from the histogram
/// and are at most 0.8% above the exact value; the maximum is exact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Deliveries measured, over every completed run.
    pub deliveries: u64,
    /// Median latency in nanoseconds (`None` if nothing was delivered).
    pub p50_ns: Option<u64>,
    /// 90th percentile latency in nanoseconds.
    pub p90_ns: Option<u64>,
    /// 99th percentile latency in nanoseconds.
    pub p99_ns: Option<u64>,
    /// The longest latency in nanoseconds, exact.
    pub max_ns: Option<u64>,
    /// The whole histogram, so that shards can be merged exactly.
    pub histogram: LatencyHistogram,
}

/// What a sweep was asked to do.
struct Header {
    scenario: String,
    name: String,
    protocol: String,
    seeds: String,
    shard: Option<Shard>,
    check_determinism: bool,
    expect_failures: Vec<String>,
    expect_failures_every_seed: bool,
}

/// A check the scenario declares it may fail, and on how many seeds it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedFailure {
    /// The check's name, as the scenario's `expect_failures` spells it.
    pub check: String,
    /// Seeds on which it failed; a sweep in which this is 0 fails: the planted bug was not caught.
    pub seeds_failed: u64,
    /// The lowest of them.
    pub first_seed: Option<u64>,
    /// Declared for every seed (`expect_failures_on: EverySeed`): each seed that missed it
    /// failed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub every_seed: bool,
}

/// The summary of a sweep, as `msgsim sweep --json` prints it. The JSON field
/// names are a stable interface; `msgsim merge` reads shards back from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// The scenario file, as given on the command line.
    pub scenario: String,
    /// The scenario's `name:`.
    pub name: String,
    /// The protocol the scenario runs, as its `protocol:` field names it.
    pub protocol: String,
    /// The range asked for, `A..B`.
    pub seeds_swept: String,
    /// The part of the range this report covers, or `None` for all of it (also after a merge).
    pub shard: Option<Shard>,
    /// Whether every seed was run twice and the runs compared.
    pub check_determinism: bool,
    /// Seeds run; `passed + failed + inconclusive + errors`.
    pub runs: u64,
    /// Seeds whose verdict is [`SeedVerdict::Pass`].
    pub passed: u64,
    /// Seeds whose verdict is [`SeedVerdict::Fail`].
    pub failed: u64,
    /// Seeds whose verdict is [`SeedVerdict::Inconclusive`].
    pub inconclusive: u64,
    /// Seeds whose verdict is [`SeedVerdict::Error`].
    pub errors: u64,
    /// The lowest failing seed, if any.
    pub first_failure: Option<FirstFailure>,
    /// The lowest seed that is an error, if any.
    pub first_error: Option<FirstError>,
    /// The failures the scenario declares, each with the seeds it happened on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_failures: Vec<ExpectedFailure>,
    /// `None` if no run completed.
    pub messages: Option<MessageStats>,
    /// Delivery latency over every completed run.
    pub latency: LatencyStats,
    /// Clients' operations, if any run had them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<OpsStats>,
    /// Every seed, ascending.
    pub seeds: Vec<SeedReport>,
}

impl SweepReport {
    /// The declared failures that happened on no seed.
    pub fn missed_expectations(&self) -> impl Iterator<Item = &ExpectedFailure> {
        self.expected_failures.iter().filter(|e| e.seeds_failed == 0)
    }

    /// Everything but the per-seed list follows from it and the latency histogram.
    fn summarise(header: Header, mut seeds: Vec<SeedReport>, histogram: LatencyHistogram) -> SweepReport {
        seeds.sort_unstable_by_key(|s| s.seed);
        let count = |v: SeedVerdict| seeds.iter().filter(|s| s.verdict == v).count() as u64;
        let reproduce = |seed| reproduce_command(&header.scenario, seed);
        let first_failure = seeds.iter().find(|s| s.verdict == SeedVerdict::Fail).and_then(|s| {
            let f = s.failure.as_ref()?;
            Some(FirstFailure { seed: s.seed, check: f.check.clone(), detail: f.detail.clone(), reproduce: reproduce(s.seed) })
        });
        let first_error =
            seeds.iter().find_map(|s| Some(FirstError { seed: s.seed, error: s.error.clone()?, reproduce: reproduce(s.seed) }));
        let expected_failures = header
            .expect_failures
            .iter()
            .map(|check| {
                let mut on = seeds.iter().filter(|s| s.expected_failures.contains(check)).map(|s| s.seed);
                let first_seed = on.next();
                let seeds_failed = first_seed.map_or(0, |_| 1 + on.count() as u64);
                ExpectedFailure { check: check.clone(), seeds_failed, first_seed, every_seed: header.expect_failures_every_seed }
            })
            .collect();
        let sent = Distribution::of(seeds.iter().filter_map(|s| s.sent).collect());
        let delivered = Distribution::of(seeds.iter().filter_map(|s| s.delivered).collect());
        let messages = sent.zip(delivered).map(|(sent, delivered)| MessageStats { sent, delivered });
        let latency = LatencyStats {
            deliveries: histogram.count(),
            p50_ns: histogram.percentile(50),
            p90_ns: histogram.percentile(90),
            p99_ns: histogram.percentile(99),
            max_ns: histogram.max(),
            histogram,
        };
        SweepReport {
            operations: OpsStats::of(&seeds),
            runs: seeds.len() as u64,
            passed: count(SeedVerdict::Pass),
            failed: count(SeedVerdict::Fail),
            inconclusive: count(SeedVerdict::Inconclusive),
            errors: count(SeedVerdict::Error),
            first_failure,
            first_error,
            expected_failures,
            messages,
            latency,
            seeds,
            scenario: header.scenario,
            name: header.name,
            protocol: header.protocol,
            seeds_swept: header.seeds,
            shard: header.shard,
            check_determinism: header.check_determinism,
        }
    }

    /// The reports of a sweep's shards, combined into the report one unsharded sweep gives.
    /// The shards are read back from files, so nothing in them is trusted: each must add up
    /// (its counts, first failure and statistics are what its seeds give), every count is
    /// checked for overflow, and anything that does not fit is refused with the reason.
    pub fn merge(parts: Vec<SweepReport>) -> Result<SweepReport, String> {
        let first = parts.first().ok_or("nothing to merge")?;
        // What each shard declares is part of what it was asked: shards of a scenario edited
        // between them (a declared failure added, or `expect_failures_on` changed) judge their
        // seeds by different rules, and no one sweep gives what they would merge into.
        let declared = |p: &SweepReport| p.expected_failures.iter().map(|e| (e.check.clone(), e.every_seed)).collect::<Vec<_>>();
        let same = |p: &SweepReport| {
            (&p.scenario, &p.name, &p.protocol, &p.seeds_swept, p.check_determinism, declared(p))
                == (&first.scenario, &first.name, &first.protocol, &first.seeds_swept, first.check_determinism, declared(first))
        };
        if let Some(p) = parts.iter().find(|p| !same(p)) {
            return Err(format!(
                "these are not shards of one sweep: {} seeds {} and {} seeds {} (or one checked determinism and the other did not, \
                 or they declare different expected failures)",
                printable(&first.scenario),
                printable(&first.seeds_swept),
                printable(&p.scenario),
                printable(&p.seeds_swept)
            ));
        }
        let range: SeedRange = first.seeds_swept.parse()?;
        let whole = Shard { index: 0, count: 1 };
        let count = first.shard.unwrap_or(whole).count;
        // The claimed count sizes nothing: it may be anything a file says.
        let mut present = std::collections::BTreeSet::new();
        for p in &parts {
            // An unsharded sweep is shard 0/1: it merges alone.
            let shard = p.shard.unwrap_or(whole);
            if shard.count != count {
                return Err(format!("shard {shard} does not belong with shard {}", first.shard.unwrap_or(whole)));
            }
            if !present.insert(shard.index) {
                return Err(format!("shard {shard} is given twice"));
            }
            p.check_consistent().map_err(|e| format!("shard {shard} does not add up: {e}"))?;
        }
        if present.len() as u64 != count {
            let missing = (0..count).find(|i| !present.contains(i)).expect("fewer shards present than the count");
            return Err(format!("shard {missing}/{count} is missing"));
        }
        let header = Header {
            scenario: first.scenario.clone(),
            name: first.name.clone(),
            protocol: first.protocol.clone(),
            seeds: first.seeds_swept.clone(),
            shard: None,
            check_determinism: first.check_determinism,
            expect_failures: first.expected_failures.iter().map(|e| e.check.clone()).collect(),
            expect_failures_every_seed: first.expected_failures.iter().any(|e| e.every_seed),
        };
        let mut histogram = LatencyHistogram::default();
        let mut seeds = Vec::new();
        for p in parts {
            histogram.checked_merge(&p.latency.histogram).ok_or("the shards' latency counts add up to more than 2^64")?;
            let shard = p.shard.unwrap_or(whole);
            if let Some(s) =
                p.seeds.iter().find(|s| !(range.start..range.end).contains(&s.seed) || (s.seed - range.start) % count != shard.index)
            {
                return Err(format!("seed {} does not belong to shard {shard} of {range}", s.seed));
            }
            seeds.extend(p.seeds);
        }
        if seeds.len() as u64 != range.end - range.start {
            return Err(format!("the shards hold {} seeds, but {range} has {}", seeds.len(), range.end - range.start));
        }
        let report = SweepReport::summarise(header, seeds, histogram);
        if let Some(twice) = report.seeds.windows(2).find(|w| w[0].seed == w[1].seed) {
            return Err(format!("seed {} appears twice", twice[0].seed));
        }
        Ok(report)
    }

    /// Whether this report is what its own seeds and histogram give: each seed's fields fit
    /// its verdict, and the counts, first failure and error, and statistics are theirs.
    fn check_consistent(&self) -> Result<(), String> {
        for s in &self.seeds {
            let completed = s.trace_hash.is_some() && s.sent.is_some() && s.delivered.is_some();
            // A run stopped by a panic or by its schedule has no results.
            let panicked = matches!(s.error, Some(SeedError::Panic { .. } | SeedError::BadSchedule { .. }));
            let problem = match s.verdict {
                SeedVerdict::Pass | SeedVerdict::Inconclusive if s.failure.is_some() || s.error.is_some() => {
                    Some("it has a failure or an error")
                }
                SeedVerdict::Fail if s.failure.is_none() => Some("it failed, but names no failed check"),
                SeedVerdict::Fail if s.error.is_some() => Some("it failed, but has an error"),
                SeedVerdict::Error if s.error.is_none() => Some("it is an error, but names none"),
                SeedVerdict::Error if panicked && (s.failure.is_some() || s.trace_hash.is_some() || s.sent.is_some()) => {
                    Some("its run was stopped (by a panic or its schedule) and still has results")
                }
                _ if !panicked && !completed => Some("it completed, but lacks its trace hash or message counts"),
                _ if s.trace_hash.as_deref().is_some_and(|h| h.len() != 16 || !h.bytes().all(|b| b.is_ascii_hexdigit())) => {
                    Some("its trace hash is not 16 hexadecimal digits")
                }
                _ if matches!(s.error, Some(SeedError::Nondeterministic { .. })) && !self.check_determinism => {
                    Some("it is nondeterministic, but the sweep did not check determinism")
                }
                _ => None,
            };
            if let Some(problem) = problem {
                return Err(format!("seed {} is {:?}, but {problem}", s.seed, s.verdict));
            }
            // What a seed failed as declared is one of the declared checks, once; under
            // `EverySeed` a seed that missed one failed (the miss is its failure), so a seed that
            // passed has them all.
            let declared = |check: &str| self.expected_failures.iter().any(|e| e.check == check);
            let every_seed = self.expected_failures.iter().any(|e| e.every_seed);
            let problem = if let Some(check) = s.expected_failures.iter().find(|c| !declared(c)) {
                Some(format!("it failed {} as declared, which the sweep does not declare", printable(check)))
            } else if let Some(twice) = s.expected_failures.iter().enumerate().find(|(i, c)| s.expected_failures[..*i].contains(c)) {
                Some(format!("it failed {} as declared twice", printable(twice.1)))
            } else if let Some(f) =
                s.failure.as_ref().filter(|f| declared(&f.check) && (!every_seed || s.expected_failures.contains(&f.check)))
            {
                Some(format!("its failure is {}, which fails as declared", printable(&f.check)))
            } else {
                let passed = matches!(s.verdict, SeedVerdict::Pass | SeedVerdict::Inconclusive);
                let missed = self.expected_failures.iter().find(|e| every_seed && passed && !s.expected_failures.contains(&e.check));
                missed.map(|e| format!("it did not fail {}, which the sweep declares for every seed", printable(&e.check)))
            };
            if let Some(problem) = problem {
                return Err(format!("seed {} is {:?}, but {problem}", s.seed, s.verdict));
            }
        }
        // The names a sweep writes were validated when its scenario was read: a control
        // character in one (an escape sequence, a new line) would be printed to the terminal.
        let mut names = [&self.name, &self.protocol]
            .into_iter()
            .chain(self.expected_failures.iter().map(|e| &e.check))
            .chain(self.seeds.iter().filter_map(|s| s.failure.as_ref().map(|f| &f.check)))
            .chain(self.seeds.iter().flat_map(|s| &s.expected_failures));
        if let Some(name) = names.find(|n| n.chars().any(crate::scenario::unprintable)) {
            return Err(format!(
                "the name \"{}\" holds a control character or an invisible one, which no sweep writes",
                crate::report::printable(name)
            ));
        }
        if self.seeds.windows(2).any(|w| w[0].seed >= w[1].seed) {
            return Err("its seeds are not listed once each, ascending".to_string());
        }
        let header = Header {
            scenario: self.scenario.clone(),
            name: self.name.clone(),
            protocol: self.protocol.clone(),
            seeds: self.seeds_swept.clone(),
            shard: self.shard,
            check_determinism: self.check_determinism,
            expect_failures: self.expected_failures.iter().map(|e| e.check.clone()).collect(),
            expect_failures_every_seed: self.expected_failures.iter().any(|e| e.every_seed),
        };
        let recomputed = SweepReport::summarise(header, self.seeds.clone(), self.latency.histogram.clone());
        let differs = [
            ("runs", recomputed.runs == self.runs),
            ("passed", recomputed.passed == self.passed),
            ("failed", recomputed.failed == self.failed),
            ("inconclusive", recomputed.inconclusive == self.inconclusive),
            ("errors", recomputed.errors == self.errors),
            ("first_failure", recomputed.first_failure == self.first_failure),
            ("first_error", recomputed.first_error == self.first_error),
            ("messages", recomputed.messages == self.messages),
            ("latency", recomputed.latency == self.latency),
            ("expected_failures", recomputed.expected_failures == self.expected_failures),
        ]
        .into_iter()
        .find(|(_, same)| !same);
        match differs {
            Some((field, _)) => Err(format!("its `{field}` is not what its seeds and latency histogram give")),
            None => Ok(()),
        }
    }

    /// The command that replays `seed` of this sweep.
    pub fn reproduce(&self, seed: u64) -> String {
        reproduce_command(&self.scenario, seed)
    }

    /// The command that runs this sweep again.
    pub fn command(&self) -> String {
        let shard = self.shard.map_or(String::new(), |s| format!(" --shard {s}"));
        let twice = if self.check_determinism { " --check-determinism" } else { "" };
        format!(
            "{} sweep {} --seeds {}{shard}{twice}",
            crate::report::program(),
            crate::report::shell_word(&self.scenario),
            self.seeds_swept
        )
    }

    /// What the sweep recorded about `seed`, or `None` if it did not run it.
    pub fn seed(&self, seed: u64) -> Option<&SeedReport> {
        self.seeds.binary_search_by_key(&seed, |s| s.seed).ok().map(|i| &self.seeds[i])
    }

    /// Panics, with the reproduce command, if any seed failed a check or hit an error.
    #[track_caller]
    pub fn assert_no_failures(&self) {
        if let Some(e) = &self.first_error {
            panic!(
                "{} of {} seeds hit an error; the first, seed {}: {}\nreproduce: {}",
                self.errors, self.runs, e.seed, e.error, e.reproduce
            );
        }
        if let Some(f) = &self.first_failure {
            panic!(
                "{} of {} seeds failed; the first, seed {}, failed {}: {}\nreproduce: {}",
                self.failed, self.runs, f.seed, f.check, f.detail, f.reproduce
            );
        }
    }

    /// Panics, with the reproduce command, unless every seed passed every check.
    #[track_caller]
    pub fn assert_all_pass(&self) {
        self.assert_no_failures();
        if let Some(s) = self.seeds.iter().find(|s| s.verdict != SeedVerdict::Pass) {
            panic!(
                "{} of {} seeds were inconclusive; the first is seed {}\nreproduce: {}",
                self.inconclusive,
                self.runs,
                s.seed,
                self.reproduce(s.seed)
            );
        }
    }

    /// For a planted bug: panics unless some seed failed `check`; returns the lowest such seed.
    #[track_caller]
    pub fn assert_fails(&self, check: &str) -> u64 {
        let failed =
            |s: &&SeedReport| s.failure.as_ref().is_some_and(|f| f.check == check) || s.expected_failures.iter().any(|e| e == check);
        match self.seeds.iter().find(failed) {
            Some(s) => s.seed,
            None => panic!(
                "no seed failed {check} ({} passed, {} failed, {} inconclusive, {} errors)\nsweep: {}",
                self.passed,
                self.failed,
                self.inconclusive,
                self.errors,
                self.command()
            ),
        }
    }

    /// Panics, naming the first seed that breaks it and its reproduce command, unless `holds` holds for every seed.
    #[track_caller]
    pub fn assert_each_seed(&self, what: &str, holds: impl Fn(&SeedReport) -> bool) {
        if let Some(s) = self.seeds.iter().find(|s| !holds(s)) {
            panic!("seed {} breaks \"{what}\": {s:?}\nreproduce: {}", s.seed, self.reproduce(s.seed));
        }
    }

    /// The summary for a person.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // Every string is shown printable: a merge's come from files anyone may have edited.
        let _ = writeln!(out, "scenario   {} ({})", printable(&self.name), printable(&self.scenario));
        let shard = self.shard.map_or(String::new(), |s| format!(", shard {s}"));
        let _ =
            writeln!(out, "protocol   {}   seeds {}{shard}: {} runs", printable(&self.protocol), printable(&self.seeds_swept), self.runs);
        if self.check_determinism {
            let diverged = self.seeds.iter().filter(|s| matches!(s.error, Some(SeedError::Nondeterministic { .. }))).count();
            let _ = writeln!(out, "replayed   every seed ran twice: {} identical, {diverged} diverged", self.runs as usize - diverged);
        }
        let _ = writeln!(
            out,
            "verdicts   {} passed, {} failed, {} inconclusive, {} errors",
            self.passed, self.failed, self.inconclusive, self.errors
        );
        match &self.messages {
            None => {
                let _ = writeln!(out, "messages   no run completed");
            }
            Some(m) => {
                for (label, d) in [("sent", m.sent), ("delivered", m.delivered)] {
                    let _ = writeln!(out, "{label:<10} min {}, median {}, p99 {}, max {} per run", d.min, d.median, d.p99, d.max);
                }
            }
        }
        let l = &self.latency;
        match (l.p50_ns, l.p90_ns, l.p99_ns, l.max_ns) {
            (Some(p50), Some(p90), Some(p99), Some(max)) => {
                let _ = writeln!(
                    out,
                    "latency    p50 {}, p90 {}, p99 {}, max {} over {} deliveries",
                    SimTime(p50),
                    SimTime(p90),
                    SimTime(p99),
                    SimTime(max),
                    l.deliveries
                );
            }
            _ => {
                let _ = writeln!(out, "latency    no application deliveries");
            }
        }
        if let Some(o) = &self.operations {
            let (secs, per_op) = (o.run_ns as f64 / 1e9, o.sent as f64 / o.invoked.max(1) as f64);
            let _ = writeln!(
                out,
                "operations {} invoked, {} ok, {} timed out; {:.1} ok/s; {per_op:.2} messages per operation",
                o.invoked,
                o.ok,
                o.timeouts,
                if secs > 0.0 { o.ok as f64 / secs } else { 0.0 }
            );
            if let (Some(p50), Some(p99), Some(max)) = (o.p50_ns, o.p99_ns, o.max_ns) {
                let _ = writeln!(
                    out,
                    "op latency p50 per run median {}, p99 per run median {} (worst run {}), max {}",
                    SimTime(p50.median),
                    SimTime(p99.median),
                    SimTime(p99.max),
                    SimTime(max)
                );
            }
        }
        for e in &self.expected_failures {
            let check = printable(&e.check);
            let _ = match e.first_seed {
                Some(first) if e.every_seed && e.seeds_failed < self.runs => writeln!(
                    out,
                    "expected   {} failed on {} of {} seeds, though the scenario declares every seed; first: seed {first}",
                    check, e.seeds_failed, self.runs
                ),
                Some(first) => {
                    let seeds = if e.seeds_failed == 1 { "seed" } else { "seeds" };
                    writeln!(out, "expected   {check} failed on {} {seeds}, as declared; first: seed {first}", e.seeds_failed)
                }
                None => writeln!(out, "expected   {check} never failed, though the scenario declares it should: not caught"),
            };
        }
        self.list(&mut out, "failed", SeedVerdict::Fail);
        if let Some(f) = &self.first_failure {
            let _ = writeln!(out, "failure    seed {}: {}: {}", f.seed, printable(&f.check), printable(&f.detail));
            let _ = writeln!(out, "reproduce  {}", printable(&f.reproduce));
        }
        self.list(&mut out, "errors", SeedVerdict::Error);
        if let Some(e) = &self.first_error {
            let _ = writeln!(out, "error      seed {}: {}", e.seed, e.error);
            let _ = writeln!(out, "reproduce  {}", printable(&e.reproduce));
        }
        out
    }

    /// A line listing the first seeds with `verdict`, if any.
    fn list(&self, out: &mut String, label: &str, verdict: SeedVerdict) {
        const SHOWN: usize = 10;
        let seeds: Vec<u64> = self.seeds.iter().filter(|s| s.verdict == verdict).map(|s| s.seed).collect();
        if seeds.is_empty() {
            return;
        }
        let shown: Vec<String> = seeds.iter().take(SHOWN).map(u64::to_string).collect();
        let more = if seeds.len() > SHOWN { format!(" and {} more", seeds.len() - SHOWN) } else { String::new() };
        let _ = writeln!(out, "{label:<10} seeds {}{more}", shown.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::MsgId;
    use crate::trace::EventKind;

    #[test]
    fn seed_ranges_and_shards_parse_or_explain() {
        assert_eq!("3..10".parse(), Ok(SeedRange { start: 3, end: 10 }));
        for bad in ["5..3", "4..4", "x..3", "3", "-1..3", "0..99999999999999999999"] {
            assert!(bad.parse::<SeedRange>().is_err(), "{bad}");
        }
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "0/0", "1", "a/2", "1/-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_the_range() {
        let scenario = Scenario::parse(r#"Scenario(name: "x", horizon_ms: 1, nodes: 2, protocol: BestEffort())"#, "x.ron").unwrap();
        let all: Vec<u64> = (0..3)
            .flat_map(|i| Sweep::new(&scenario).seeds(5..17).shard(Shard { index: i, count: 3 }).seeds_to_run().collect::<Vec<_>>())
            .collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (5..17).collect::<Vec<_>>());
        let second = Sweep::new(&scenario).seeds(5..17).shard(Shard { index: 1, count: 3 });
        assert_eq!(second.seeds_to_run().collect::<Vec<_>>(), [6, 9, 12, 15]);
        assert_eq!(second.seed_count(), 4);
        // The whole range of seeds is counted, never listed.
        let all = Sweep::new(&scenario).seeds(0..u64::MAX).shard(Shard { index: 5, count: 7 });
        assert_eq!(all.seed_count(), (u64::MAX - 5).div_ceil(7));
        assert_eq!(all.threads(), all.threads().min(MAX_JOBS));
    }

    fn send(time: u64, msg: u64) -> TraceEvent {
        TraceEvent { time: SimTime(time), kind: EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(msg), size: 8 } }
    }

    #[test]
    fn divergence_is_the_first_differing_event() {
        let a = [send(1, 0), send(2, 1), send(3, 2)];
        assert_eq!(first_divergence(&a, &a), None);
        let b = [send(1, 0), send(2, 7), send(3, 2)];
        assert_eq!(first_divergence(&a, &b), Some(Divergence { index: 1, first: Some(a[1]), second: Some(b[1]) }));
        // Same event, another time.
        let c = [send(1, 0), send(2, 1), send(4, 2)];
        assert_eq!(first_divergence(&a, &c).map(|d| d.index), Some(2));
        // One trace is a prefix of the other.
        assert_eq!(first_divergence(&a, &a[..2]), Some(Divergence { index: 2, first: Some(a[2]), second: None }));
        assert_eq!(first_divergence(&[], &a[..1]), Some(Divergence { index: 0, first: None, second: Some(a[0]) }));
    }
}

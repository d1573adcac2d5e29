//! Operation statistics: what a run's `op` lines add up to (operations invoked, answered and
//! timed out, and the latency of each answered one), for the report and sweeps.

use crate::id::NodeId;
use crate::stats::LatencyHistogram;
use crate::time::SimTime;
use crate::trace::OpOutcome;
use serde::Serialize;
use std::collections::BTreeMap;

/// Operations of one run, filled as their `op` lines are recorded.
#[derive(Clone, Debug, Default)]
pub struct OpStats {
    /// Operations invoked and not yet ended, by (client, operation): when they were invoked.
    open: BTreeMap<(NodeId, u64), SimTime>,
    /// Operations invoked.
    pub invoked: u64,
    /// Operations answered.
    pub ok: u64,
    /// Operations given up on.
    pub timeouts: u64,
    /// Invocation to answer of every answered operation, in true (simulated) time.
    pub latency: LatencyHistogram,
}

impl OpStats {
    /// Count an `op` line of `client`.
    pub fn observe(&mut self, now: SimTime, client: NodeId, op: u64, outcome: OpOutcome) {
        match outcome {
            OpOutcome::Invoke => {
                self.invoked += 1;
                self.open.insert((client, op), now);
            }
            OpOutcome::Ok | OpOutcome::Timeout => {
                // An end without an invocation (a protocol's mistake) counts, without a latency.
                let start = self.open.remove(&(client, op));
                if outcome == OpOutcome::Ok {
                    self.ok += 1;
                    if let Some(start) = start {
                        self.latency.record(now.0 - start.0);
                    }
                } else {
                    self.timeouts += 1;
                }
            }
        }
    }

    /// The summary a report prints, over a run that lasted `duration`, sending `messages`
    /// network messages; `None` if no operation was invoked.
    pub fn summary(&self, duration: SimTime, messages: u64) -> Option<OpSummary> {
        (self.invoked > 0).then(|| OpSummary::new(self.invoked, self.ok, self.timeouts, &self.latency, duration, messages))
    }
}

/// Operations of a run (or a sweep's runs together), as the report and `--json` give them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpSummary {
    /// Operations invoked (`op ... invoked` lines).
    pub invoked: u64,
    /// Operations answered before their timeout (`op ... ok`).
    pub ok: u64,
    /// Operations the client gave up on (`op ... timed out`); a later answer is ignored.
    pub timeouts: u64,
    /// Answered operations per second of simulated time.
    pub throughput_per_s: f64,
    /// Latency percentiles of answered operations, in ns (nearest rank on the log-linear
    /// histogram: within 1/128 of the true value); `None` when nothing was answered.
    pub p50_ns: Option<u64>,
    /// 90th percentile of answered latency, in ns, like `p50_ns`.
    pub p90_ns: Option<u64>,
    /// 99th percentile of answered latency, in ns, like `p50_ns`.
    pub p99_ns: Option<u64>,
    /// The longest answered latency, in ns, exact; `None` when nothing was answered.
    pub max_ns: Option<u64>,
    /// Network messages sent per operation invoked.
    pub messages_per_op: f64,
}

impl OpSummary {
    /// From counts and a latency histogram (a sweep adds its runs' first).
    pub fn new(invoked: u64, ok: u64, timeouts: u64, latency: &LatencyHistogram, duration: SimTime, messages: u64) -> OpSummary {
        let secs = duration.0 as f64 / 1e9;
        OpSummary {
            invoked,
            ok,
            timeouts,
            throughput_per_s: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            p50_ns: latency.percentile(50),
            p90_ns: latency.percentile(90),
            p99_ns: latency.percentile(99),
            max_ns: latency.max(),
            messages_per_op: messages as f64 / invoked.max(1) as f64,
        }
    }
}

//! What a check is: a `Checker` watching trace events and the `Verdict` it gives at the end of a run.
//!
//! These types sit below the scenario, the engine and the checks themselves, so that a scenario
//! can carry the checks it asks for and the engine can feed them without either depending on
//! the concrete checkers in `check/`.

use crate::time::SimTime;
use crate::trace::TraceEvent;
use serde::Serialize;
use std::fmt;

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Nothing was left to happen.
    Quiescent,
    /// Simulated time reached the scenario's horizon.
    Horizon,
    /// The scenario's `max_events` limit.
    MaxEvents,
    /// More messages were in flight than `max_in_flight` allows.
    MaxInFlight,
    /// A message would have travelled as more fragments than `max_fragments` allows.
    MaxFragments,
    /// The run's trace grew past `max_trace_events`.
    MaxTraceEvents,
    /// The messages in flight, the processes' state and the checkers' together would take
    /// more memory than `max_memory_mb`.
    MaxMemory,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndReason::Quiescent => "quiescent (nothing left to happen)",
            EndReason::Horizon => "horizon reached",
            EndReason::MaxEvents => "max_events limit reached",
            EndReason::MaxInFlight => "max_in_flight limit exceeded",
            EndReason::MaxFragments => "max_fragments limit exceeded",
            EndReason::MaxTraceEvents => "max_trace_events limit exceeded",
            EndReason::MaxMemory => "max_memory_mb limit exceeded",
        })
    }
}

/// What a checker needs to know about how the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RunEnd {
    /// Why the run stopped.
    pub reason: EndReason,
    /// When, in simulated time.
    pub at: SimTime,
    /// The longest a message can legitimately spend on a link: a message sent
    /// less than this before the end may still have been on its way.
    pub max_latency_ns: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
/// A check's answer.
pub enum Outcome {
    /// The property held, and there was something to judge.
    Pass,
    /// The property was violated; the verdict's detail says where.
    Fail,
    /// Nothing to judge (no message between correct nodes, say): never counted as a pass.
    Inconclusive,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
/// A check's answer and why.
pub struct Verdict {
    /// Pass, fail or inconclusive.
    pub outcome: Outcome,
    /// One line a person can act on: what was judged, or the first violation.
    pub detail: String,
}

impl Verdict {
    /// The property held.
    pub fn pass(detail: impl Into<String>) -> Verdict {
        Verdict { outcome: Outcome::Pass, detail: detail.into() }
    }
    /// The property was violated.
    pub fn fail(detail: impl Into<String>) -> Verdict {
        Verdict { outcome: Outcome::Fail, detail: detail.into() }
    }
    /// There was nothing to judge.
    pub fn inconclusive(detail: impl Into<String>) -> Verdict {
        Verdict { outcome: Outcome::Inconclusive, detail: detail.into() }
    }
}

/// A property judged over the trace.
pub trait Checker {
    /// Every trace event, in order, as it is recorded.
    fn observe(&mut self, event: &TraceEvent);
    /// The verdict once the run has ended.
    fn verdict(&self, end: &RunEnd) -> Verdict;
    /// Heap bytes the checker holds that grow as the run goes (a record per message or
    /// operation), for the memory budget: the engine reads it every few thousand trace events
    /// and ends the run with `max_memory_mb limit exceeded` once the checkers, the processes
    /// and the messages in flight together hold more than `limits.max_memory_mb`. A cheap
    /// estimate from lengths (`msgsim::process::map_bytes`); the default, 0, is for a checker
    /// whose state does not grow with the run.
    fn heap_bytes(&self) -> u64 {
        0
    }
}

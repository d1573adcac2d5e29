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
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndReason::Quiescent => "quiescent (nothing left to happen)",
            EndReason::Horizon => "horizon reached",
            EndReason::MaxEvents => "max_events limit reached",
            EndReason::MaxInFlight => "max_in_flight limit exceeded",
        })
    }
}

/// What a checker needs to know about how the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RunEnd {
    pub reason: EndReason,
    pub at: SimTime,
    /// The longest a message can legitimately spend on a link: a message sent
    /// less than this before the end may still have been on its way.
    pub max_latency_ns: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Inconclusive,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    pub detail: String,
}

impl Verdict {
    pub fn pass(detail: impl Into<String>) -> Verdict {
        Verdict { outcome: Outcome::Pass, detail: detail.into() }
    }
    pub fn fail(detail: impl Into<String>) -> Verdict {
        Verdict { outcome: Outcome::Fail, detail: detail.into() }
    }
    pub fn inconclusive(detail: impl Into<String>) -> Verdict {
        Verdict { outcome: Outcome::Inconclusive, detail: detail.into() }
    }
}

/// A property judged over the trace.
pub trait Checker {
    fn observe(&mut self, event: &TraceEvent);
    fn verdict(&self, end: &RunEnd) -> Verdict;
}

//! Checkers: verdicts computed from the trace alone, never from a protocol's own bookkeeping.
//!
//! A checker watches trace events as they are recorded (so a run need not keep
//! its trace) and gives a verdict at the end. Invariant: a checker that saw
//! nothing to judge says `Inconclusive`, never `Pass`.

mod delivery;

pub use delivery::{NoCorruptionDelivered, NoDuplicates, NoLoss};

use crate::process::Cluster;
use crate::scenario::file::CheckFile;
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

/// The checks a scenario may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckSpec {
    NoLoss,
    NoDuplicates,
    NoCorruptionDelivered,
}

impl CheckSpec {
    pub fn from_file(file: &CheckFile) -> CheckSpec {
        match file {
            CheckFile::NoLoss => CheckSpec::NoLoss,
            CheckFile::NoDuplicates => CheckSpec::NoDuplicates,
            CheckFile::NoCorruptionDelivered => CheckSpec::NoCorruptionDelivered,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            CheckSpec::NoLoss => "NoLoss",
            CheckSpec::NoDuplicates => "NoDuplicates",
            CheckSpec::NoCorruptionDelivered => "NoCorruptionDelivered",
        }
    }

    pub fn build(&self, cluster: &Cluster) -> Box<dyn Checker> {
        match self {
            CheckSpec::NoLoss => Box::new(NoLoss::new(cluster.clone())),
            CheckSpec::NoDuplicates => Box::new(NoDuplicates::new(cluster)),
            CheckSpec::NoCorruptionDelivered => Box::new(NoCorruptionDelivered::new(cluster)),
        }
    }
}

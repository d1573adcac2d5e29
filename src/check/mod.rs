//! Checkers: verdicts computed from the trace alone, never from a protocol's own bookkeeping.
//!
//! A checker watches trace events as they are recorded (so a run need not keep
//! its trace) and gives a verdict at the end. Invariant: a checker that saw
//! nothing to judge says `Inconclusive`, never `Pass`.

mod breaker;
mod deadlock;
mod delivery;
mod detector;
mod multicast;
mod ordering;
mod security;
mod semantics;
#[cfg(test)]
mod test_events;
mod views;
mod work;

pub use breaker::CircuitBreaker;
pub use deadlock::{NoDeadlock, describe_cycle};
pub use delivery::{NoCorruptionDelivered, NoDuplicates, NoLoss};
pub use detector::FailureDetection;
pub use multicast::{Agreement, Integrity, Validity};
pub use ordering::{CausalOrder, FifoOrder, TotalOrder};
pub use security::{AccessControlEnforced, NoForgeryAccepted, NoPlaintextLeak};
pub use semantics::{AtMostOnce, ExactlyOnceEffect, NoSilentLoss};
pub use views::ViewAgreement;
pub use work::ExactlyOnceTaken;

use crate::adversary::AdversarySpec;
use crate::id::NodeId;
use crate::process::Cluster;
use crate::protocols::ProtocolSpec;
use crate::protocols::calls::CallsSpec;
use crate::protocols::secure_channel::AccessSpec;
use crate::scenario::file::CheckFile;
use crate::time::{NANOS_PER_MS, SimTime};
use crate::trace::TraceEvent;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckSpec {
    NoLoss,
    NoDuplicates,
    NoCorruptionDelivered,
    NoSilentLoss,
    AtMostOnce,
    ExactlyOnceEffect,
    /// Liveness checks wait `settle_ns` after the last fault before judging.
    Validity {
        settle_ns: u64,
    },
    Agreement {
        settle_ns: u64,
    },
    Integrity,
    FifoOrder,
    CausalOrder,
    TotalOrder,
    /// Judged against the calls protocol's breaker and service schedule; `None` under another protocol.
    CircuitBreaker(Option<Arc<CallsSpec>>),
    /// Every crash lasting `bound_ns` is suspected within it; at most `max_false` false suspicions.
    FailureDetection {
        bound_ns: u64,
        max_false: Option<u64>,
    },
    NoForgeryAccepted,
    NoPlaintextLeak,
    NoDeadlock,
    /// Judged against the work queue's visibility timeout; `None` under another protocol.
    ExactlyOnceTaken {
        visibility_ns: Option<u64>,
    },
    ViewAgreement,
    /// Judged against the secure channel's access policy (`None`: no policy, so nobody may send
    /// `Admin`) and the scenario's insider, the true sender of everything the adversary injects.
    AccessControlEnforced {
        policy: Option<AccessSpec>,
        insider: Option<NodeId>,
    },
}

impl CheckSpec {
    pub fn from_file(file: &CheckFile, protocol: &ProtocolSpec, adversary: Option<&AdversarySpec>) -> CheckSpec {
        match file {
            CheckFile::AccessControlEnforced => CheckSpec::AccessControlEnforced {
                policy: match protocol {
                    ProtocolSpec::SecureChannel { access, .. } => access.clone(),
                    _ => None,
                },
                insider: adversary.and_then(|a| a.node),
            },
            CheckFile::FailureDetection { bound_ms, max_false } => CheckSpec::FailureDetection {
                bound_ns: (bound_ms.0 * NANOS_PER_MS as f64).round() as u64,
                max_false: max_false.map(|m| m.0),
            },
            CheckFile::CircuitBreaker => CheckSpec::CircuitBreaker(match protocol {
                ProtocolSpec::Calls(spec) => Some(spec.clone()),
                _ => None,
            }),
            CheckFile::NoLoss => CheckSpec::NoLoss,
            CheckFile::NoDuplicates => CheckSpec::NoDuplicates,
            CheckFile::NoCorruptionDelivered => CheckSpec::NoCorruptionDelivered,
            CheckFile::NoSilentLoss => CheckSpec::NoSilentLoss,
            CheckFile::AtMostOnce => CheckSpec::AtMostOnce,
            CheckFile::ExactlyOnceEffect => CheckSpec::ExactlyOnceEffect,
            // Validation has checked `settle_ms`; on a scenario that failed it the result is never used.
            CheckFile::Validity { settle_ms } => CheckSpec::Validity { settle_ns: (settle_ms.0 * NANOS_PER_MS as f64).round() as u64 },
            CheckFile::Agreement { settle_ms } => CheckSpec::Agreement { settle_ns: (settle_ms.0 * NANOS_PER_MS as f64).round() as u64 },
            CheckFile::Integrity => CheckSpec::Integrity,
            CheckFile::FifoOrder => CheckSpec::FifoOrder,
            CheckFile::CausalOrder => CheckSpec::CausalOrder,
            CheckFile::TotalOrder => CheckSpec::TotalOrder,
            CheckFile::NoForgeryAccepted => CheckSpec::NoForgeryAccepted,
            CheckFile::NoPlaintextLeak => CheckSpec::NoPlaintextLeak,
            CheckFile::NoDeadlock => CheckSpec::NoDeadlock,
            CheckFile::ExactlyOnceTaken => CheckSpec::ExactlyOnceTaken {
                visibility_ns: match protocol {
                    ProtocolSpec::WorkQueue { visibility_ns, .. } => Some(*visibility_ns),
                    _ => None,
                },
            },
            CheckFile::ViewAgreement => CheckSpec::ViewAgreement,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            CheckSpec::NoLoss => "NoLoss",
            CheckSpec::NoDuplicates => "NoDuplicates",
            CheckSpec::NoCorruptionDelivered => "NoCorruptionDelivered",
            CheckSpec::NoSilentLoss => "NoSilentLoss",
            CheckSpec::AtMostOnce => "AtMostOnce",
            CheckSpec::ExactlyOnceEffect => "ExactlyOnceEffect",
            CheckSpec::Validity { .. } => "Validity",
            CheckSpec::Agreement { .. } => "Agreement",
            CheckSpec::Integrity => "Integrity",
            CheckSpec::FifoOrder => "FifoOrder",
            CheckSpec::CausalOrder => "CausalOrder",
            CheckSpec::TotalOrder => "TotalOrder",
            CheckSpec::CircuitBreaker(_) => "CircuitBreaker",
            CheckSpec::FailureDetection { .. } => "FailureDetection",
            CheckSpec::NoForgeryAccepted => "NoForgeryAccepted",
            CheckSpec::NoPlaintextLeak => "NoPlaintextLeak",
            CheckSpec::NoDeadlock => "NoDeadlock",
            CheckSpec::ExactlyOnceTaken { .. } => "ExactlyOnceTaken",
            CheckSpec::ViewAgreement => "ViewAgreement",
            CheckSpec::AccessControlEnforced { .. } => "AccessControlEnforced",
        }
    }

    pub fn build(&self, cluster: &Cluster) -> Box<dyn Checker> {
        match self {
            CheckSpec::NoLoss => Box::new(NoLoss::new(cluster.clone())),
            CheckSpec::NoDuplicates => Box::new(NoDuplicates::new(cluster)),
            CheckSpec::NoCorruptionDelivered => Box::new(NoCorruptionDelivered::new(cluster)),
            CheckSpec::NoSilentLoss => Box::new(NoSilentLoss::new(cluster.clone())),
            CheckSpec::AtMostOnce => Box::new(AtMostOnce::new(cluster)),
            CheckSpec::ExactlyOnceEffect => Box::new(ExactlyOnceEffect::new(cluster.clone())),
            CheckSpec::Validity { settle_ns } => Box::new(Validity::new(cluster.clone(), *settle_ns)),
            CheckSpec::Agreement { settle_ns } => Box::new(Agreement::new(cluster.clone(), *settle_ns)),
            CheckSpec::Integrity => Box::new(Integrity::new(cluster.clone())),
            CheckSpec::FifoOrder => Box::new(FifoOrder::new(cluster.clone())),
            CheckSpec::CausalOrder => Box::new(CausalOrder::new(cluster.clone())),
            CheckSpec::TotalOrder => Box::new(TotalOrder::new(cluster.clone())),
            CheckSpec::CircuitBreaker(spec) => Box::new(CircuitBreaker::new(cluster.clone(), spec.clone())),
            CheckSpec::FailureDetection { bound_ns, max_false } => Box::new(FailureDetection::new(cluster.clone(), *bound_ns, *max_false)),
            CheckSpec::NoForgeryAccepted => Box::new(NoForgeryAccepted::new(cluster.clone())),
            CheckSpec::NoPlaintextLeak => Box::new(NoPlaintextLeak::new(cluster.clone())),
            CheckSpec::NoDeadlock => Box::new(NoDeadlock::new(cluster.clone())),
            CheckSpec::ExactlyOnceTaken { visibility_ns } => Box::new(ExactlyOnceTaken::new(cluster.clone(), *visibility_ns)),
            CheckSpec::ViewAgreement => Box::new(ViewAgreement::new(cluster.clone())),
            CheckSpec::AccessControlEnforced { policy, insider } => Box::new(AccessControlEnforced::new(
                cluster.clone(),
                policy.as_ref().map_or_else(Vec::new, |p| p.admin_ids(cluster)),
                *insider,
            )),
        }
    }
}

//! Checkers: verdicts computed from the trace alone, never from a protocol's own bookkeeping.
//!
//! A checker watches trace events as they are recorded (so a run need not keep
//! its trace) and gives a verdict at the end. Invariant: a checker that saw
//! nothing to judge says `Inconclusive`, never `Pass`.

pub mod addressing;
pub mod answered;
mod breaker;
pub mod broadcast;
pub mod convergence;
mod deadlock;
pub mod decision;
mod delivery;
mod detector;
mod detector_timing;
pub mod durable;
mod idle_first;
pub mod kept;
pub mod mailbox;
mod multicast;
pub mod operations;
mod ordering;
mod pace;
pub mod pubsub;
mod requeue;
pub mod retry;
pub mod rpc;
mod security;
mod semantics;
pub mod served;
mod service_spread;
mod suspicion_lines;
#[cfg(test)]
mod test_events;
mod views;
mod visibility;
mod work;

pub use addressing::NoSelfSend;
pub use breaker::CircuitBreaker;
pub use deadlock::{NoDeadlock, describe_cycle};
pub use delivery::{Coverage, NoCorruptionDelivered, NoDuplicates, NoLoss};
pub use detector::FailureDetection;
pub use detector_timing::DetectorTiming;
pub use mailbox::MailboxOrder;
pub use multicast::{Agreement, Integrity, Validity};
pub use operations::OperationLifecycle;
pub use ordering::{CausalOrder, FifoOrder, TotalOrder};
pub use pace::RoundPace;
pub use retry::RetryBackoff;
pub use security::{AccessControlEnforced, NoForgeryAccepted, NoPlaintextLeak};
pub use semantics::{AtMostOnce, ExactlyOnceEffect, NoSilentLoss};
pub use served::CallsServed;
pub use views::ViewAgreement;
pub use visibility::HandoutVisibility;
pub use work::ExactlyOnceTaken;

pub use crate::verdict::{Checker, EndReason, Outcome, RunEnd, Verdict};

use crate::plugin::{Check, NoConfig};
use crate::protocols::calls::CallsProtocol;
use crate::protocols::secure_channel::SecureChannelProtocol;
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, Scenario, Seg};
use crate::time::NANOS_PER_MS;
use serde::Deserialize;

/// The breaches a checker found: how many, and the first, described for a person.
#[derive(Clone, Debug, Default)]
pub(crate) struct Breaches {
    count: u64,
    first: Option<String>,
}

impl Breaches {
    /// One more breach, at `at`; `describe` is called for the first only.
    pub(crate) fn record(&mut self, at: crate::time::SimTime, describe: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(format!("at {at}: {}", describe()));
        }
    }

    /// `Fail` naming the count and the first, if there was one: "{count} {what}; first {first}".
    pub(crate) fn verdict(&self, what: &str) -> Option<Verdict> {
        self.first.as_ref().map(|first| Verdict::fail(format!("{} {what}; first {first}", self.count)))
    }
}

/// When each node's timers were held, from the trace: from a `Pause` or a `Block` (a wait on a
/// send) to its `Resume` or `Unblock`. A check whose deadlines are timers of the node excuses
/// what such a stretch delays.
#[derive(Default)]
pub(crate) struct Holds {
    /// Per node, its stretches held: from, until (`SimTime::MAX` while still held).
    spans: std::collections::BTreeMap<crate::id::NodeId, Vec<(crate::time::SimTime, crate::time::SimTime)>>,
}

impl Holds {
    /// Follow `e`: a pause or a wait opens a stretch, a resume or an unblock closes it.
    pub(crate) fn observe(&mut self, e: &crate::trace::TraceEvent) {
        use crate::trace::{EventKind, FaultAction};
        match e.kind {
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } | EventKind::Block { node, .. } => {
                self.spans.entry(node).or_default().push((e.time, crate::time::SimTime(u64::MAX)));
            }
            EventKind::Fault { action: FaultAction::Resume, node: Some(node), .. } | EventKind::Unblock { node, .. } => {
                if let Some(open) = self.spans.get_mut(&node).and_then(|s| s.last_mut()).filter(|s| s.1.0 == u64::MAX) {
                    open.1 = e.time;
                }
            }
            _ => {}
        }
    }

    /// Whether `node`'s timers were held at some time in `[from, to]`.
    pub(crate) fn within(&self, node: crate::id::NodeId, from: crate::time::SimTime, to: crate::time::SimTime) -> bool {
        self.spans.get(&node).is_some_and(|s| s.iter().any(|&(start, end)| start <= to && end >= from))
    }

    /// What the stretches hold, for the memory budget.
    pub(crate) fn heap_bytes(&self) -> u64 {
        crate::budget::total(&[crate::budget::map(&self.spans), crate::budget::nested(self.spans.values(), crate::budget::vec)])
    }
}

/// A check with no configuration whose checker is made from the scenario alone.
macro_rules! check_without_config {
    ($($name:ident => $build:expr;)*) => {$(
        impl Check for $name {
            const NAME: &'static str = stringify!($name);
            type Config = NoConfig;
            fn build(_: &NoConfig, scenario: &Scenario) -> Box<dyn Checker> {
                let build: fn(&Scenario) -> $name = $build;
                Box::new(build(scenario))
            }
        }
    )*};
}

check_without_config! {
    NoLoss => |s| NoLoss::new(s.cluster.clone());
    NoDuplicates => |s| NoDuplicates::new(&s.cluster);
    NoCorruptionDelivered => |s| NoCorruptionDelivered::new(&s.cluster);
    NoSilentLoss => |s| NoSilentLoss::new(s.cluster.clone());
    AtMostOnce => |s| AtMostOnce::new(&s.cluster);
    ExactlyOnceEffect => |s| ExactlyOnceEffect::new(s.cluster.clone());
    Integrity => |s| Integrity::new(s.cluster.clone());
    FifoOrder => |s| FifoOrder::new(s.cluster.clone());
    NoForgeryAccepted => |s| NoForgeryAccepted::new(s.cluster.clone());
    NoPlaintextLeak => |s| NoPlaintextLeak::new(s.cluster.clone());
    NoDeadlock => |s| NoDeadlock::new(s.cluster.clone());
    NoSelfSend => |s| NoSelfSend::new(s.cluster.clone());
    // Judged against the work queue's broker and visibility timeout (as long as it lasts on the
    // broker's clock); without one, its timing is not judged.
    ExactlyOnceTaken => |s| ExactlyOnceTaken::new(
        s.cluster.clone(),
        s.protocol.config::<crate::protocols::work_queue::Config>().and_then(|q| {
            let broker = s.cluster.id(&q.broker)?;
            let clock = s.clocks.get(broker.index()).copied().unwrap_or_default();
            let consumers = crate::protocols::work_queue::WorkQueueProtocol::consumers(q, &s.cluster, broker);
            Some(work::Queue { broker, consumers, visibility_ns: clock.real_duration(q.visibility_ns()) })
        }),
    );
    // Under ViewSynchronous, a member also catches up with a view within four timeouts (one to
    // suspect a dead coordinator, the rest for the flush) and forty heartbeats (catching up
    // takes a heartbeat and an install back; under heavy loss, many tries).
    // Under it, also who coordinates each view change, the number it installs, and the acks of
    // a view's data.
    ViewAgreement => |s| ViewAgreement::new(s.cluster.clone())
        .with_settle(
            s.protocol
                .config::<crate::protocols::views::Config>()
                .map(|c| 4 * crate::protocols::ns(c.timeout_ms) + 40 * crate::protocols::ns(c.heartbeat_ms)),
        )
        .judging_view_synchronous(s.protocol.config::<crate::protocols::views::Config>().is_some());
    // Judged against the retry policy the protocol declares; inconclusive without one.
    RetryBackoff => |s| RetryBackoff::new(s.cluster.clone(), s.clocks.clone(), s.protocol.retry_policy());
    // Judged against the Service protocol's contract where it runs; the lifecycle alone otherwise.
    OperationLifecycle => |s| OperationLifecycle::new(
        s.cluster.clone(),
        s.clocks.clone(),
        s.protocol.config::<crate::protocols::service::Config>().map(|c| crate::protocols::service::Contract::of(c, &s.cluster)),
    );
    // Judged against the priorities the Exchange protocol declares (0 for everyone otherwise)
    // and the mailboxes the scenario gives its nodes.
    MailboxOrder => |s| MailboxOrder::new(
        s.cluster.clone(),
        s.protocol.config::<crate::protocols::exchange::Config>().map_or_else(|| vec![0; s.cluster.len()], |c| c.priorities(&s.cluster)),
        (0..s.cluster.len()).map(|i| s.mailbox(i).is_some()).collect(),
    );
    // Judged against the durable queue's broker and visibility; inconclusive under another protocol.
    HandoutVisibility => |s| {
        use crate::protocols::durable_queue::{Config, DurableQueueProtocol};
        let spec = s.protocol.config::<Config>().and_then(|q| {
            Some(visibility::Visibility {
                broker: s.cluster.id(&q.broker)?,
                visibility_ns: DurableQueueProtocol::visibility_ns(q),
                write_ns: DurableQueueProtocol::write_ns(q),
            })
        });
        let clock = spec.and_then(|v| s.clocks.get(v.broker.index()).copied()).unwrap_or_default();
        let consumers = s.protocol.config::<Config>().zip(spec).map(|(q, v)| DurableQueueProtocol::consumers(q, &s.cluster, v.broker));
        HandoutVisibility::new(s.cluster.clone(), spec, clock).with_idle_order(consumers.unwrap_or_default())
    };
    // Judged against the rounds the protocol declares; inconclusive without any.
    // Rumour mongering with feedback also promises that every push teaches or is answered.
    RoundPace => |s| RoundPace::new(
        s.cluster.clone(),
        s.clocks.clone(),
        s.protocol.rounds().cloned(),
        (0..s.cluster.len()).map(|i| s.mailbox(i).is_some()).collect(),
    )
    .with_pushes_fruitful(s.protocol.config::<crate::protocols::rumour::Config>().is_some_and(|c| c.feedback));
    // Judged against the Heartbeat protocol's declared detector; inconclusive under another.
    DetectorTiming => |s| DetectorTiming::new(
        s.cluster.clone(),
        s.clocks.clone(),
        s.protocol.config::<crate::protocols::heartbeat::Config>().map(crate::protocols::heartbeat::HeartbeatSpec::from_config),
    )
    .judging_beats();
    // Judged against the calls protocol's service: its workers and its schedule's service times.
    CallsServed => |s| CallsServed::new(s.cluster.clone(), &s.clocks, s.protocol.config::<crate::protocols::calls::Config>().map(CallsProtocol::spec));
    // Judged against the calls protocol's breaker and service schedule; inconclusive under another protocol.
    CircuitBreaker => |s| CircuitBreaker::new(s.cluster.clone(), s.clocks.clone(), s.protocol.config::<crate::protocols::calls::Config>().map(CallsProtocol::spec));
    // Judged against the secure channel's access policy (none: nobody may send `Admin`) and the
    // scenario's insider, the true sender of everything the adversary injects.
    AccessControlEnforced => |s| AccessControlEnforced::new(
        s.cluster.clone(),
        s.protocol.config::<crate::protocols::secure_channel::Config>().map_or_else(Vec::new, |c| SecureChannelProtocol::admins(c, &s.cluster)),
        s.adversary.as_ref().and_then(|a| a.node),
    );
}

impl Check for CausalOrder {
    const NAME: &'static str = "CausalOrder";
    type Config = NoConfig;
    /// A vector clock per node for each destination (every group, and all nodes).
    fn state_bytes(_: &NoConfig, cluster: &crate::process::Cluster) -> u64 {
        let (n, destinations) = (cluster.len() as u64, cluster.groups.len() as u64 + 1);
        n.saturating_mul(n).saturating_mul(4).saturating_mul(destinations)
    }
    fn build(_: &NoConfig, scenario: &Scenario) -> Box<dyn Checker> {
        Box::new(CausalOrder::new(scenario.cluster.clone()))
    }
}

/// `settle_ms`: how long after the last fault the liveness checks wait before judging.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "check", deny_unknown_fields)]
pub struct Settle {
    /// Milliseconds after the last fault.
    pub settle_ms: Number,
}

fn settle_ns(config: &Settle) -> u64 {
    (config.settle_ms.0 * NANOS_PER_MS as f64).round() as u64
}

impl Check for Validity {
    const NAME: &'static str = "Validity";
    type Config = Settle;
    fn validate(config: &Settle, cx: &mut ConfigCx<'_, '_>) {
        cx.millis(&[Seg::Field("settle_ms")], config.settle_ms);
    }
    fn build(config: &Settle, scenario: &Scenario) -> Box<dyn Checker> {
        Box::new(Validity::new(scenario.cluster.clone(), settle_ns(config)))
    }
}

impl Check for Agreement {
    const NAME: &'static str = "Agreement";
    type Config = Settle;
    fn validate(config: &Settle, cx: &mut ConfigCx<'_, '_>) {
        cx.millis(&[Seg::Field("settle_ms")], config.settle_ms);
    }
    fn build(config: &Settle, scenario: &Scenario) -> Box<dyn Checker> {
        Box::new(Agreement::new(scenario.cluster.clone(), settle_ns(config)))
    }
}

/// `Coverage(at_least: F, at_most: G)`: the fraction of owed deliveries that must happen,
/// and, optionally, the most that may (for a protocol whose residue theory predicts).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "Coverage", deny_unknown_fields)]
pub struct CoverageConfig {
    /// A fraction from 0 to 1.
    pub at_least: Number,
    /// A fraction from `at_least` to 1; none: no upper bound.
    #[serde(default)]
    pub at_most: Option<Number>,
}

impl Check for Coverage {
    const NAME: &'static str = "Coverage";
    type Config = CoverageConfig;
    fn validate(config: &CoverageConfig, cx: &mut ConfigCx<'_, '_>) {
        cx.probability(&[Seg::Field("at_least")], Some(config.at_least));
        cx.probability(&[Seg::Field("at_most")], config.at_most);
        if let Some(most) = config.at_most
            && most.0 < config.at_least.0
        {
            cx.error(
                &[Seg::Field("at_most")],
                format!("`at_most` of {} below `at_least`", most.0),
                format!("at least {}", config.at_least.0),
            );
        }
    }
    fn build(config: &CoverageConfig, scenario: &Scenario) -> Box<dyn Checker> {
        let ppm = |f: Number| (f.0.clamp(0.0, 1.0) * 1e6).round() as u64;
        Box::new(Coverage::new(scenario.cluster.clone(), ppm(config.at_least), config.at_most.map(ppm)))
    }
}

/// Every crash lasting `bound_ms` is suspected within it; with `max_false`, at most that many
/// suspicions of nodes that were up.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "FailureDetection", deny_unknown_fields)]
pub struct DetectionConfig {
    /// The detection bound.
    pub bound_ms: Number,
    /// The most false suspicions allowed; absent: not judged.
    #[serde(default)]
    pub max_false: Option<Whole>,
}

impl Check for FailureDetection {
    const NAME: &'static str = "FailureDetection";
    type Config = DetectionConfig;
    fn validate(config: &DetectionConfig, cx: &mut ConfigCx<'_, '_>) {
        cx.millis(&[Seg::Field("bound_ms")], config.bound_ms);
    }
    fn build(config: &DetectionConfig, scenario: &Scenario) -> Box<dyn Checker> {
        let bound_ns = (config.bound_ms.0 * NANOS_PER_MS as f64).round() as u64;
        Box::new(FailureDetection::new(scenario.cluster.clone(), bound_ns, config.max_false.map(|m| m.0)))
    }
}

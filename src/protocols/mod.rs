//! The protocol library, and the one place that maps a scenario's protocol name to a type.

pub mod at_least_once;
pub mod at_most_once;
pub mod best_effort;
pub mod calls;
pub mod causal;
pub mod exactly_once;
pub mod exchange;
pub mod fifo;
pub mod gossip;
pub mod group;
pub mod heartbeat;
pub mod isis;
pub mod pingpong;
pub mod rmcast;
pub mod secure_channel;
pub mod sequencer;
pub mod views;
pub mod work_queue;

use crate::id::NodeId;
use crate::rng::PPB;
use crate::scenario::Scenario;
use crate::scenario::file::{
    BreakerBugFile, DetectorBugFile, DetectorFile, HalfOpenFile, HandoverFile, Number, OrderFile, PhaseName, ProtocolFile, RetryFile,
    Whole, WindowFile,
};
use crate::sim::{ProtocolPanic, RunOptions, RunResult, run_catching};
use crate::time::NANOS_PER_MS;
use crate::time::SimTime;
use at_least_once::Retry;
use calls::{BreakerBug, BreakerConfig, CallsSpec, HalfOpenWhen, Order, Phase, PhaseSpec, Retries, Window};
use group::Group;
use heartbeat::{Detector, DetectorBug, HeartbeatSpec};
use std::sync::Arc;

/// A protocol and its parameters, as a scenario asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolSpec {
    BestEffort {
        checksum: bool,
        dedup: bool,
    },
    /// Broker and consumers by name, resolved against the cluster when the run starts.
    WorkQueue {
        broker: String,
        consumers: String,
        work_ns: u64,
        visibility_ns: u64,
        resend_ns: u64,
    },
    /// Priorities by node name, resolved against the cluster when the run starts.
    Exchange {
        mode: exchange::Mode,
        priority: Vec<(String, u8)>,
    },
    PingPong {
        round_trips: u64,
    },
    Gossip {
        fanout: u32,
    },
    AtMostOnce {
        dedup: bool,
    },
    AtLeastOnce {
        retry: Retry,
        dead_letter: bool,
    },
    ExactlyOnce {
        retry: Retry,
        window: usize,
    },
    Group {
        kind: GroupKind,
        retry: Retry,
        relay: bool,
        hold_back: bool,
    },
    Calls(Arc<CallsSpec>),
    Heartbeat(HeartbeatSpec),
    ViewSynchronous(views::ViewSpec),
    SecureChannel {
        layers: secure_channel::Layers,
        access: Option<secure_channel::AccessSpec>,
    },
}

/// The layer a group-communication protocol (`ProtocolSpec::Group`) runs over the reliable transport of `group.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    Reliable,
    Fifo,
    Causal,
    Sequencer,
    Isis,
    /// The sequencer's total order over the relaying transport.
    Atomic,
}

impl ProtocolSpec {
    pub fn from_file(file: &ProtocolFile) -> ProtocolSpec {
        match *file {
            ProtocolFile::Calls { .. } => ProtocolSpec::Calls(Arc::new(calls_spec(file))),
            ProtocolFile::Heartbeat { every_ms, detector, bug } => ProtocolSpec::Heartbeat(heartbeat_spec(every_ms, detector, bug)),
            ProtocolFile::ViewSynchronous { heartbeat_ms, timeout_ms, resend_ms, flush } => {
                let ns = |ms: Number| (ms.0 * NANOS_PER_MS as f64).round() as u64;
                ProtocolSpec::ViewSynchronous(views::ViewSpec {
                    heartbeat_ns: ns(heartbeat_ms),
                    timeout_ns: ns(timeout_ms),
                    resend_ns: ns(resend_ms),
                    flush,
                })
            }
            ProtocolFile::BestEffort { checksum, dedup } => ProtocolSpec::BestEffort { checksum, dedup },
            ProtocolFile::WorkQueue { ref broker, ref consumers, work_ms, visibility_ms, resend_ms } => {
                let ns = |t: Number| (t.0 * NANOS_PER_MS as f64) as u64;
                ProtocolSpec::WorkQueue {
                    broker: broker.clone(),
                    consumers: consumers.clone(),
                    work_ns: ns(work_ms),
                    visibility_ns: ns(visibility_ms),
                    resend_ns: ns(resend_ms),
                }
            }
            ProtocolFile::Exchange { send, ref priority } => {
                let ms = |t: Option<Number>| t.map(|t| (t.0 * NANOS_PER_MS as f64) as u64);
                let mode = match send {
                    HandoverFile::Async => exchange::Mode::Async,
                    HandoverFile::Sync { timeout_ms } => exchange::Mode::Sync { timeout_ns: ms(timeout_ms) },
                    HandoverFile::Call { timeout_ms, wait } => exchange::Mode::Call { timeout_ns: ms(timeout_ms), wait },
                };
                // Validation bounds every level to a byte.
                let priority = priority.iter().map(|(n, p)| (n.clone(), p.0 as u8)).collect();
                ProtocolSpec::Exchange { mode, priority }
            }
            ProtocolFile::SecureChannel { mac, encrypt, replay_window, shared_key, ref access } => ProtocolSpec::SecureChannel {
                layers: secure_channel::Layers { mac, encrypt, replay_window, shared_key },
                access: access.as_ref().map(|a| secure_channel::AccessSpec { admins: a.admin.clone(), enforce: a.enforce }),
            },
            ProtocolFile::PingPong { round_trips } => ProtocolSpec::PingPong { round_trips: round_trips.0 },
            // Validation bounds the fanout by the node count.
            ProtocolFile::Gossip { fanout } => ProtocolSpec::Gossip { fanout: fanout.0 as u32 },
            ProtocolFile::AtMostOnce { dedup } => ProtocolSpec::AtMostOnce { dedup },
            ProtocolFile::AtLeastOnce { retry, dead_letter } => ProtocolSpec::AtLeastOnce { retry: retry_spec(&retry), dead_letter },
            // Validation bounds the window well below `usize::MAX`.
            ProtocolFile::ExactlyOnce { retry, window } => {
                ProtocolSpec::ExactlyOnce { retry: retry_spec(&retry), window: window.0 as usize }
            }
            ProtocolFile::ReliableMulticast { retry, relay } => group(GroupKind::Reliable, &retry, relay, true),
            ProtocolFile::FifoMulticast { retry, hold_back, relay } => group(GroupKind::Fifo, &retry, relay, hold_back),
            ProtocolFile::CausalMulticast { retry, hold_back, relay } => group(GroupKind::Causal, &retry, relay, hold_back),
            ProtocolFile::SequencerMulticast { retry, hold_back, relay } => group(GroupKind::Sequencer, &retry, relay, hold_back),
            ProtocolFile::IsisMulticast { retry, hold_back, relay } => group(GroupKind::Isis, &retry, relay, hold_back),
            ProtocolFile::AtomicMulticast { retry, relay } => group(GroupKind::Atomic, &retry, relay, true),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ProtocolSpec::BestEffort { .. } => "BestEffort",
            ProtocolSpec::Exchange { .. } => "Exchange",
            ProtocolSpec::WorkQueue { .. } => "WorkQueue",
            ProtocolSpec::PingPong { .. } => "PingPong",
            ProtocolSpec::Gossip { .. } => "Gossip",
            ProtocolSpec::AtMostOnce { .. } => "AtMostOnce",
            ProtocolSpec::AtLeastOnce { .. } => "AtLeastOnce",
            ProtocolSpec::ExactlyOnce { .. } => "ExactlyOnce",
            ProtocolSpec::Calls(_) => "Calls",
            ProtocolSpec::Heartbeat(_) => "Heartbeat",
            ProtocolSpec::ViewSynchronous(_) => "ViewSynchronous",
            ProtocolSpec::SecureChannel { .. } => "SecureChannel",
            ProtocolSpec::Group { kind, .. } => match kind {
                GroupKind::Reliable => "ReliableMulticast",
                GroupKind::Fifo => "FifoMulticast",
                GroupKind::Causal => "CausalMulticast",
                GroupKind::Sequencer => "SequencerMulticast",
                GroupKind::Isis => "IsisMulticast",
                GroupKind::Atomic => "AtomicMulticast",
            },
        }
    }
}

/// Run `scenario` with `seed` under the protocol it names.
pub fn run(scenario: &Scenario, seed: u64, options: &RunOptions) -> Result<RunResult, ProtocolPanic> {
    match scenario.protocol {
        ProtocolSpec::Heartbeat(spec) => {
            let nodes = scenario.cluster.len();
            run_catching(scenario, seed, options, move |_| heartbeat::Node::new(spec, nodes))
        }
        ProtocolSpec::Calls(ref spec) => {
            let service = spec.service(&scenario.cluster);
            run_catching(scenario, seed, options, |me| calls::Node::new(spec.clone(), service, me))
        }
        ProtocolSpec::WorkQueue { ref broker, ref consumers, work_ns, visibility_ns, resend_ns } => {
            let cluster = &scenario.cluster;
            let id = |name: &str| cluster.names.iter().position(|n| n == name).map(|i| NodeId(i as u32));
            let broker = id(broker).expect("validated: the broker is a node");
            let members = match cluster.groups.iter().find(|(g, _)| g == consumers) {
                Some((_, members)) => members.clone(),
                None if consumers == "*" => cluster.nodes().collect(),
                None => id(consumers).into_iter().collect(),
            };
            let consumers = members.into_iter().filter(|&n| n != broker).collect();
            let spec = Arc::new(work_queue::WorkQueueSpec { broker, consumers, work_ns, visibility_ns, resend_ns });
            run_catching(scenario, seed, options, move |me| work_queue::WorkQueue::new(spec.clone(), me))
        }
        ProtocolSpec::Exchange { mode, ref priority } => {
            let mut levels = vec![0; scenario.cluster.len()];
            for (name, level) in priority {
                if let Some(i) = scenario.cluster.names.iter().position(|n| n == name) {
                    levels[i] = *level;
                }
            }
            let spec = Arc::new(exchange::ExchangeSpec { mode, priority: levels });
            run_catching(scenario, seed, options, move |_| exchange::Exchange::new(spec.clone()))
        }
        ProtocolSpec::ViewSynchronous(spec) => run_catching(scenario, seed, options, move |_| views::Node::new(spec)),
        ProtocolSpec::BestEffort { checksum, dedup } => {
            run_catching(scenario, seed, options, move |_| best_effort::BestEffort::new(checksum, dedup))
        }
        ProtocolSpec::SecureChannel { layers, ref access } => {
            let keys = Arc::new(secure_channel::Keys::new(seed, layers.shared_key));
            let nodes = scenario.cluster.len();
            let access = access.as_ref().map(|a| Arc::new(secure_channel::Access::new(a, &scenario.cluster)));
            let insider = scenario.adversary.as_ref().and_then(|a| a.node.map(|node| (node, a)));
            run_catching(scenario, seed, options, move |me| {
                let role = insider.filter(|&(node, _)| node == me).map(|(_, spec)| secure_channel::Insider::new(spec, seed));
                secure_channel::SecureChannel::new(layers, keys.clone(), nodes, access.clone(), role)
            })
        }
        ProtocolSpec::PingPong { round_trips } => run_catching(scenario, seed, options, move |_| pingpong::PingPong::new(round_trips)),
        ProtocolSpec::Gossip { fanout } => run_catching(scenario, seed, options, move |_| gossip::Gossip::new(fanout)),
        ProtocolSpec::AtMostOnce { dedup } => run_catching(scenario, seed, options, move |_| at_most_once::AtMostOnce::new(dedup)),
        ProtocolSpec::AtLeastOnce { retry, dead_letter } => {
            run_catching(scenario, seed, options, move |_| at_least_once::AtLeastOnce::new(retry, dead_letter))
        }
        ProtocolSpec::ExactlyOnce { retry, window } => {
            run_catching(scenario, seed, options, move |_| exactly_once::ExactlyOnce::new(retry, window))
        }
        ProtocolSpec::Group { kind, retry, relay, hold_back } => match kind {
            GroupKind::Reliable => run_catching(scenario, seed, options, move |_| Group::new(retry, relay, rmcast::Reliable)),
            GroupKind::Fifo => run_catching(scenario, seed, options, move |_| Group::new(retry, relay, fifo::Fifo::new(hold_back))),
            GroupKind::Causal => run_catching(scenario, seed, options, move |_| Group::new(retry, relay, causal::Causal::new(hold_back))),
            GroupKind::Sequencer | GroupKind::Atomic => {
                run_catching(scenario, seed, options, move |_| Group::new(retry, relay, sequencer::Sequencer::new(hold_back)))
            }
            GroupKind::Isis => run_catching(scenario, seed, options, move |_| Group::new(retry, relay, isis::IsisOrder::new(hold_back))),
        },
    }
}

fn group(kind: GroupKind, retry: &RetryFile, relay: bool, hold_back: bool) -> ProtocolSpec {
    ProtocolSpec::Group { kind, retry: retry_spec(retry), relay, hold_back }
}

/// The calls protocol in integers. Validation has checked the ranges; on a scenario that
/// failed it the result is never used, so saturating casts suffice.
fn calls_spec(file: &ProtocolFile) -> CallsSpec {
    let ProtocolFile::Calls { ref service, workers, timeout_ms, retry, budget, breaker, order, ref schedule, bug } = *file else {
        unreachable!("only called on the calls protocol")
    };
    let ns = |ms: Number| (ms.0 * NANOS_PER_MS as f64).round() as u64;
    let ppb = |r: Number| (r.0 * PPB as f64).round() as u32;
    let small = |w: Whole| w.0.min(u64::from(u32::MAX)) as u32;
    CallsSpec {
        service: service.clone(),
        workers: workers.map(small),
        timeout_ns: ns(timeout_ms),
        retry: retry.map(|r| Retries {
            policy: retry_spec(&r),
            // No budget: every call may retry all its attempts.
            ratio_ppb: budget.map_or(u64::MAX, |b| u64::from(ppb(b.ratio))),
            burst: budget.map_or(u64::MAX / PPB, |b| b.burst.0),
        }),
        breaker: breaker.map(|b| BreakerConfig {
            window: match b.window {
                WindowFile::Count(n) => Window::Count(small(n)),
                WindowFile::Time { ms } => Window::Time(ns(ms)),
            },
            min_calls: small(b.min_calls),
            failure_ppb: ppb(b.failure_rate),
            slow_ppb: b.slow_rate.map(ppb),
            slow_ns: ns(b.slow_ms),
            wait_ns: ns(b.wait_ms),
            half_open_calls: small(b.half_open_calls),
            half_open: match b.half_open {
                HalfOpenFile::Timer => HalfOpenWhen::Timer,
                HalfOpenFile::OnCall => HalfOpenWhen::OnCall,
            },
        }),
        order: match order {
            OrderFile::BreakerInsideRetry => Order::BreakerInsideRetry,
            OrderFile::RetryInsideBreaker => Order::RetryInsideBreaker,
        },
        schedule: schedule
            .iter()
            .map(|p| PhaseSpec {
                at: SimTime(ns(p.at_ms)),
                phase: match p.phase {
                    PhaseName::Healthy => Phase::Healthy,
                    PhaseName::Failing => Phase::Failing,
                    PhaseName::Recovering => Phase::Recovering,
                },
                error_ppb: ppb(p.errors),
                latency_ns: (ns(p.latency_ms.0), ns(p.latency_ms.1)),
            })
            .collect(),
        bug: bug.map(|b| match b {
            BreakerBugFile::NeverHalfOpen => BreakerBug::NeverHalfOpen,
            BreakerBugFile::OpensBelowThreshold => BreakerBug::OpensBelowThreshold,
        }),
    }
}

/// The failure detector in integers; the phi threshold becomes a normal quantile here, once.
fn heartbeat_spec(every_ms: Number, detector: DetectorFile, bug: Option<DetectorBugFile>) -> HeartbeatSpec {
    let ns = |ms: Number| (ms.0 * NANOS_PER_MS as f64).round() as u64;
    HeartbeatSpec {
        every_ns: ns(every_ms),
        detector: match detector {
            DetectorFile::Fixed { timeout_ms } => Detector::Fixed { timeout_ns: ns(timeout_ms) },
            DetectorFile::Phi { threshold, window, min_std_ms } => Detector::Phi {
                z_milli: (heartbeat::phi_to_z(threshold.0).max(0.0) * 1000.0).round() as u64,
                window: window.0.min(u64::from(u32::MAX)) as u32,
                min_std_ns: ns(min_std_ms),
            },
        },
        bug: bug.map(|DetectorBugFile::NoRearmAfterSuspicion| DetectorBug::NoRearmAfterSuspicion),
    }
}

/// The retransmission policy in integers. Validation has checked the ranges; on a
/// scenario that failed it the result is never used, so saturating casts suffice.
fn retry_spec(r: &RetryFile) -> Retry {
    let ns = |ms: f64| (ms * NANOS_PER_MS as f64).round() as u64;
    Retry {
        base_ns: ns(r.base_ms.0),
        factor_milli: (r.factor.0 * 1000.0).round() as u64,
        cap_ns: ns(r.cap_ms.0),
        jitter_ppb: r.jitter.map_or(0, |j| (j.0 * PPB as f64).round() as u64),
        max_attempts: r.max_attempts.0.min(u64::from(u32::MAX)) as u32,
    }
}

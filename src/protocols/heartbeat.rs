//! Heartbeat failure detectors: every node heartbeats every other, and suspects a peer whose
//! heartbeats stop, with a fixed timeout or an adaptive one (phi accrual).
//!
//! Every `every` a node broadcasts a heartbeat. For each peer it keeps a deadline, counted
//! from the peer's latest heartbeat (or from its own start, before the first): if the
//! deadline passes, it suspects the peer (a `suspect` line); the next heartbeat from a
//! suspected peer ends the suspicion (`suspect ... no more`). A restarted node starts
//! afresh, trusting everyone.
//!
//! - `Fixed`: the deadline is `timeout` after the latest heartbeat.
//! - `Phi` (phi accrual, as in Akka): the intervals between a peer's last `window`
//!   heartbeats are modelled as a normal distribution with their mean `m` and standard
//!   deviation `s` (at least `min_std`); phi(t) = -log10 P(an interval longer than t),
//!   and the peer is suspected when phi reaches `threshold`. Phi grows with t, so that
//!   moment is `t = m + z s`, where `z` is the normal quantile with
//!   `P(Z > z) = 10^-threshold`. `z` is computed once, at validation, with `libm` (pure
//!   Rust, the same on every platform) and kept in thousandths; in the loop, mean,
//!   variance and an integer square root are whole nanoseconds. No float is computed
//!   while the simulation runs, so no platform's rounding can move a suspicion. Before
//!   a peer's second heartbeat the intervals are assumed to have mean `every` and
//!   deviation `every / 4`. An interval longer than `max_interval` (default ten times
//!   `every`) is not recorded, as Cassandra's detector ignores those above its maximum
//!   interval: such a silence is an outage (a crash and restart, a partition), not how the
//!   peer beats, and one of them in the window would hold the deviation, and so the time to
//!   suspect, many periods high until it left. The cap is fixed by the configuration, not by
//!   what was learned, so it never narrows the estimate the way ignoring every interval that
//!   ended a suspicion would (on jittery links that rule keeps only the intervals short
//!   enough not to be suspected, and the detector suspects ever more often).
//!
//! `bug: NoRearmAfterSuspicion` plants a detector that never arms a peer's deadline again
//! once it has suspected that peer: after one false suspicion, that peer's crash goes
//! unnoticed for good.

use super::{field, ns};
use crate::id::{NodeId, TimerId};
use crate::plugin::Protocol;
use crate::process::{Cluster, Command, Ctx, Incoming, Message, Process};
use crate::scenario::file::{DetectorBugFile, DetectorFile, Number};
use crate::scenario::{ConfigCx, Scenario, limits};
use crate::time::SimTime;
use serde::Deserialize;
use std::collections::VecDeque;

/// How a node decides that a peer is gone, in integers (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detector {
    /// Suspect a peer a fixed time after its latest heartbeat.
    Fixed {
        /// The silence after which a peer is suspected, in nanoseconds; above 0.
        timeout_ns: u64,
    },
    /// `z_milli`: the normal quantile of the threshold, in thousandths.
    Phi {
        /// The normal quantile `z` with `P(Z > z) = 10^-threshold`, in thousandths (see
        /// [`phi_to_z`]); a peer is suspected `mean + z * std` after its latest heartbeat.
        z_milli: u64,
        /// How many of a peer's latest intervals the mean and deviation use (1 to 1,000,000).
        window: u32,
        /// The least standard deviation assumed, in nanoseconds, so that perfectly regular
        /// heartbeats do not make the slightest delay suspicious.
        min_std_ns: u64,
        /// The longest interval recorded, in nanoseconds; a longer one (an outage) is ignored.
        max_interval_ns: u64,
    },
}

/// A planted failure-detector bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectorBug {
    /// Once a node has suspected a peer it never arms that peer's deadline again, so the
    /// peer's later crash goes unnoticed.
    NoRearmAfterSuspicion,
}

/// The protocol in integers, as the nodes run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatSpec {
    /// The period of every node's heartbeat broadcast, in nanoseconds; above 0.
    pub every_ns: u64,
    /// How a peer comes to be suspected.
    pub detector: Detector,
    /// A planted bug, for the broken variant.
    pub bug: Option<DetectorBug>,
}

/// Without `max_interval`, the longest interval a phi detector records, in heartbeat periods:
/// ten heartbeats missed in a row are an outage, not jitter.
pub const DEFAULT_MAX_INTERVAL_PERIODS: u64 = 10;

/// The normal quantile `z` with `P(Z > z) = 10^-phi`, by bisection on `libm::erfc`: run
/// once per scenario, at validation, never in the loop.
pub fn phi_to_z(phi: f64) -> f64 {
    let target = 10f64.powf(-phi);
    let tail = |z: f64| 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
    let (mut lo, mut hi) = (-40.0, 40.0);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if tail(mid) > target { lo = mid } else { hi = mid }
    }
    (lo + hi) / 2.0
}

/// The one message: "I am alive", from one node to each other.
#[derive(Clone, Debug)]
pub struct Heartbeat;

impl Message for Heartbeat {
    fn wire_size(&self) -> u32 {
        16
    }

    /// A heartbeat carries no payload; a damaged one fails its checksum and is ignored.
    fn corrupt(&mut self) {}
}

/// A node's timers.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    /// Time to broadcast the next heartbeat (every `every_ns`).
    Beat,
    /// The peer's deadline has passed without a heartbeat: suspect it.
    Deadline(NodeId),
}

/// What a node knows of one peer.
#[derive(Clone, Debug, Default)]
struct Peer {
    last: Option<SimTime>,
    /// The latest intervals between heartbeats (phi only), oldest first.
    intervals: VecDeque<u64>,
    suspected: bool,
    ever_suspected: bool,
    deadline: Option<TimerId>,
}

/// One node's detector: what it knows of each peer (latest heartbeat, recent intervals,
/// whether suspected, the pending deadline).
pub struct Node {
    spec: HeartbeatSpec,
    peers: Vec<Peer>,
}

impl Node {
    /// A node of a cluster of `nodes` that trusts everyone and has heard from no one yet.
    pub fn new(spec: HeartbeatSpec, nodes: usize) -> Node {
        Node { spec, peers: vec![Peer::default(); nodes] }
    }

    /// How long after the latest heartbeat from `peer` it is suspected.
    fn patience(&self, peer: &Peer) -> u64 {
        match self.spec.detector {
            Detector::Fixed { timeout_ns } => timeout_ns,
            Detector::Phi { z_milli, min_std_ns, .. } => {
                let (mean, std) = match peer.intervals.len() as u64 {
                    0 => (self.spec.every_ns, self.spec.every_ns / 4),
                    n => {
                        let sum: u128 = peer.intervals.iter().map(|&i| u128::from(i)).sum();
                        let squares: u128 = peer.intervals.iter().map(|&i| u128::from(i) * u128::from(i)).sum();
                        let mean = sum / u128::from(n);
                        let variance = (squares / u128::from(n)).saturating_sub(mean * mean);
                        (mean as u64, variance.isqrt() as u64)
                    }
                };
                let std = std.max(min_std_ns);
                mean.saturating_add(u64::try_from(u128::from(std) * u128::from(z_milli) / 1000).unwrap_or(u64::MAX))
            }
        }
    }

    /// (Re)start `of`'s deadline, unless the planted bug forgets to.
    fn arm(&mut self, ctx: &mut Ctx<'_, Heartbeat, Timer>, of: NodeId) {
        let peer = &self.peers[of.index()];
        if self.spec.bug == Some(DetectorBug::NoRearmAfterSuspicion) && peer.ever_suspected {
            return;
        }
        let after = self.patience(peer);
        let peer = &mut self.peers[of.index()];
        if let Some(t) = peer.deadline.take() {
            ctx.cancel_timer(t);
        }
        peer.deadline = Some(ctx.set_timer(after, Timer::Deadline(of)));
    }
}

impl Process for Node {
    type Msg = Heartbeat;
    type Timer = Timer;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Heartbeat, Timer>) {
        ctx.broadcast(Heartbeat);
        ctx.set_timer(self.spec.every_ns, Timer::Beat);
        let me = ctx.me();
        for of in ctx.cluster().nodes().filter(|&n| n != me).collect::<Vec<_>>() {
            self.arm(ctx, of);
        }
    }

    /// The workload has nothing to ask of a failure detector.
    fn on_command(&mut self, _ctx: &mut Ctx<'_, Heartbeat, Timer>, _cmd: Command) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, Heartbeat, Timer>, incoming: Incoming<Heartbeat>) {
        if !incoming.checksum_ok {
            return;
        }
        let now = ctx.now();
        let (window, max_interval_ns) = match self.spec.detector {
            Detector::Phi { window, max_interval_ns, .. } => (window as usize, max_interval_ns),
            Detector::Fixed { .. } => (0, 0),
        };
        let of = incoming.from;
        let peer = &mut self.peers[of.index()];
        if let Some(last) = peer.last
            && window > 0
        {
            let interval = now.as_nanos().saturating_sub(last.as_nanos());
            // A silence longer than the cap is an outage, not a sample of how the peer beats.
            if interval <= max_interval_ns {
                peer.intervals.push_back(interval);
                if peer.intervals.len() > window {
                    peer.intervals.pop_front();
                }
            }
        }
        peer.last = Some(now);
        if peer.suspected {
            peer.suspected = false;
            ctx.suspicion(of, false);
        }
        self.arm(ctx, of);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Heartbeat, Timer>, timer: Timer) {
        match timer {
            Timer::Beat => {
                ctx.broadcast(Heartbeat);
                ctx.set_timer(self.spec.every_ns, Timer::Beat);
            }
            Timer::Deadline(of) => {
                let peer = &mut self.peers[of.index()];
                peer.deadline = None;
                if !peer.suspected {
                    peer.suspected = true;
                    peer.ever_suspected = true;
                    ctx.suspicion(of, true);
                }
            }
        }
    }
}

/// `Heartbeat(every_ms: .., detector: Fixed(..) | Phi(..), bug: ..)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "Heartbeat", deny_unknown_fields)]
pub struct Config {
    /// How often every node heartbeats every other.
    pub every_ms: Number,
    /// How a node decides that a peer is gone.
    pub detector: DetectorFile,
    /// A planted bug, for the broken variant.
    #[serde(default)]
    pub bug: Option<DetectorBugFile>,
}

/// Heartbeat failure detectors, as scenarios name them.
pub struct HeartbeatProtocol;

impl Protocol for HeartbeatProtocol {
    const NAME: &'static str = "Heartbeat";
    type Config = Config;
    type Process = Node;

    /// A record of every peer, with its window of intervals under phi.
    fn state_bytes(config: &Config, cluster: &Cluster) -> u64 {
        let window = match HeartbeatSpec::from_config(config).detector {
            Detector::Phi { window, .. } => u64::from(window),
            Detector::Fixed { .. } => 0,
        };
        (cluster.len() as u64).saturating_mul(std::mem::size_of::<Peer>() as u64 + 8 * window)
    }

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.positive_millis(&[field("every_ms")], config.every_ms, "heartbeats every 0 ms");
        let d = |name: &'static str| [field("detector"), field(name)];
        match config.detector {
            DetectorFile::Fixed { timeout_ms } => {
                cx.positive_millis(&d("timeout_ms"), timeout_ms, "a timeout of zero");
            }
            DetectorFile::Phi { threshold, window, min_std_ms, max_interval_ms } => {
                if !(0.1..=limits::MAX_PHI).contains(&threshold.0) {
                    cx.error(&d("threshold"), format!("a phi threshold of {}", threshold.0), format!("from 0.1 to {}", limits::MAX_PHI));
                }
                cx.within(&d("window"), window.0, 1..=limits::MAX_BREAKER_CALLS, |n| format!("a window of {n} intervals"));
                cx.millis(&d("min_std_ms"), min_std_ms);
                // Below the period, the detector would ignore nearly every interval it hears.
                if let Some(cap) = max_interval_ms
                    && let Some(cap_ns) = cx.millis(&d("max_interval_ms"), cap)
                    && cap_ns < ns(config.every_ms)
                {
                    cx.error(
                        &d("max_interval_ms"),
                        format!("a max_interval_ms of {}, shorter than every_ms ({})", cap.0, config.every_ms.0),
                        format!("at least every_ms ({})", config.every_ms.0),
                    );
                }
            }
        }
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Node {
        let spec = HeartbeatSpec::from_config(config);
        let nodes = scenario.cluster.len();
        move |_| Node::new(spec, nodes)
    }
}

impl HeartbeatSpec {
    /// The failure detector in integers; the phi threshold becomes a normal quantile here, once.
    pub fn from_config(config: &Config) -> HeartbeatSpec {
        HeartbeatSpec {
            every_ns: ns(config.every_ms),
            detector: match config.detector {
                DetectorFile::Fixed { timeout_ms } => Detector::Fixed { timeout_ns: ns(timeout_ms) },
                DetectorFile::Phi { threshold, window, min_std_ms, max_interval_ms } => Detector::Phi {
                    z_milli: (phi_to_z(threshold.0).max(0.0) * 1000.0).round() as u64,
                    window: window.0.min(u64::from(u32::MAX)) as u32,
                    min_std_ns: ns(min_std_ms),
                    max_interval_ns: max_interval_ms.map_or(ns(config.every_ms).saturating_mul(DEFAULT_MAX_INTERVAL_PERIODS), ns),
                },
            },
            bug: config.bug.map(|DetectorBugFile::NoRearmAfterSuspicion| DetectorBug::NoRearmAfterSuspicion),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phi_scenario(cap: &str) -> Result<Scenario, crate::scenario::ScenarioErrors> {
        let src = format!(
            "Scenario(name: \"t\", horizon_ms: 10, nodes: 2,\n    protocol: Heartbeat(every_ms: 50, detector: Phi(threshold: 8, window: 10, min_std_ms: 5{cap})))"
        );
        Scenario::parse(&src, "phi.ron")
    }

    /// Without `max_interval_ms` a phi detector ignores intervals over ten periods; one shorter
    /// than a period, or negative, is reported where it is written.
    #[test]
    fn max_interval_defaults_to_ten_periods_and_is_at_least_one() {
        let spec = |cap: &str| match phi_scenario(cap).expect("valid").protocol.config::<Config>().map(HeartbeatSpec::from_config) {
            Some(HeartbeatSpec { detector: Detector::Phi { max_interval_ns, .. }, .. }) => max_interval_ns,
            other => panic!("{other:?}"),
        };
        assert_eq!(spec(""), 500_000_000);
        assert_eq!(spec(", max_interval_ms: 50"), 50_000_000);
        for (bad, says) in [("49.5", "shorter than every_ms (50)"), ("-1", "")] {
            let errors = phi_scenario(&format!(", max_interval_ms: {bad}")).expect_err("invalid");
            let e = &errors.0[0];
            assert_eq!((e.file.as_str(), e.line), ("phi.ron", 2), "{e}");
            assert!(e.col > 60 && e.message.contains(says), "{e}");
        }
    }

    /// Standard normal tail quantiles: P(Z > 2.326) = 0.01, P(Z > 5.612) = 1e-8.
    #[test]
    fn phi_thresholds_become_normal_quantiles() {
        assert!((phi_to_z(2.0) - 2.3263).abs() < 1e-3);
        assert!((phi_to_z(8.0) - 5.6120).abs() < 1e-3);
    }
}

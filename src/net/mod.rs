//! The simulated network: which links exist, what each does to a message, and partitions.
//!
//! `Network::route` takes one transmission and decides its fate with draws from
//! the network stream only: dropped (and why), or arriving at a time, perhaps
//! corrupted, perhaps twice. It knows nothing of messages' contents.

mod partition;
mod topology;

pub use partition::{PartitionRule, Partitions};
pub use topology::Topology;

use crate::dist::Latency;
use crate::id::NodeId;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::trace::DropReason;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// What one directed link does to the messages it carries. Probabilities are
/// parts per billion, fixed at validation.
#[derive(Clone, Debug)]
pub struct LinkModel {
    pub latency: Latency,
    pub loss_ppb: u32,
    pub duplicate_ppb: u32,
    pub corrupt_ppb: u32,
    /// When false the link is FIFO: a message never overtakes an earlier one.
    pub reorder: bool,
    /// Serialisation rate in bits per second; `None` is infinitely fast.
    pub bandwidth_bps: Option<u64>,
    /// Messages that may wait for the wire (the one being sent included); more are tail-dropped.
    pub queue_limit: Option<u32>,
}

impl LinkModel {
    /// Whether the link must remember anything between messages.
    fn is_stateful(&self) -> bool {
        self.bandwidth_bps.is_some() || (!self.reorder && !matches!(self.latency, Latency::Constant(_)))
    }
}

/// What happens to one copy of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub at: SimTime,
    pub corrupted: bool,
}

/// The fate of one transmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Dropped(DropReason),
    Delivered { first: Arrival, duplicate: Option<Arrival> },
}

/// Per directed link memory: FIFO ordering and the bandwidth queue.
#[derive(Clone, Debug, Default)]
struct LinkState {
    last_arrival: SimTime,
    /// When each queued message finishes serialising, oldest first.
    wire_queue: VecDeque<SimTime>,
}

#[derive(Debug)]
pub struct Network {
    default: LinkModel,
    /// Per-link overrides; index into `models`. Looked up, never iterated.
    overrides: FxHashMap<u64, usize>,
    models: Vec<LinkModel>,
    topology: Topology,
    pub partitions: Partitions,
    /// Looked up, never iterated, so its order cannot leak into the run.
    state: FxHashMap<u64, LinkState>,
}

fn key(from: NodeId, to: NodeId) -> u64 {
    u64::from(from.0) << 32 | u64::from(to.0)
}

impl Network {
    pub fn new(default: LinkModel, overrides: Vec<((NodeId, NodeId), LinkModel)>, topology: Topology, nodes: usize) -> Network {
        let mut map = FxHashMap::default();
        let mut models = Vec::new();
        for ((from, to), model) in overrides {
            // A later override of the same link replaces the earlier one.
            map.insert(key(from, to), models.len());
            models.push(model);
        }
        Network { default, overrides: map, models, topology, partitions: Partitions::new(nodes), state: FxHashMap::default() }
    }

    /// The largest latency any link can add: how long "in flight" can last.
    pub fn max_latency_ns(&self) -> u64 {
        self.models.iter().chain(std::iter::once(&self.default)).map(|m| m.latency.max_ns()).max().unwrap_or(0)
    }

    /// Decide the fate of a `size`-byte message sent now on `from -> to`.
    /// Draw order (fixed; part of the trace format): loss, latency, corruption,
    /// duplication, then the duplicate's latency and corruption.
    pub fn route(&mut self, from: NodeId, to: NodeId, size: u32, now: SimTime, rng: &mut SimRng) -> Route {
        if !self.topology.has_link(from, to) {
            return Route::Dropped(DropReason::NoLink);
        }
        if self.partitions.blocks(from, to) {
            return Route::Dropped(DropReason::Partitioned);
        }
        let model = match self.overrides.is_empty() {
            true => &self.default,
            false => self.overrides.get(&key(from, to)).map_or(&self.default, |&i| &self.models[i]),
        };
        if rng.chance(model.loss_ppb) {
            return Route::Dropped(DropReason::Lost);
        }
        if !model.is_stateful() {
            let first = Arrival { at: now.saturating_add(model.latency.sample(rng)), corrupted: rng.chance(model.corrupt_ppb) };
            let duplicate = rng
                .chance(model.duplicate_ppb)
                .then(|| Arrival { at: now.saturating_add(model.latency.sample(rng)), corrupted: rng.chance(model.corrupt_ppb) });
            return Route::Delivered { first, duplicate };
        }
        let state = self.state.entry(key(from, to)).or_default();
        let mut departs = now;
        if let Some(bps) = model.bandwidth_bps {
            while state.wire_queue.front().is_some_and(|&done| done <= now) {
                state.wire_queue.pop_front();
            }
            if model.queue_limit.is_some_and(|limit| state.wire_queue.len() >= limit as usize) {
                return Route::Dropped(DropReason::QueueFull);
            }
            let start = state.wire_queue.back().copied().unwrap_or(now).max(now);
            let serialise_ns = (u128::from(size) * 8 * 1_000_000_000).div_ceil(u128::from(bps)) as u64;
            departs = start.saturating_add(serialise_ns);
            state.wire_queue.push_back(departs);
        }
        let arrive = |rng: &mut SimRng, state: &mut LinkState| {
            let mut at = departs.saturating_add(model.latency.sample(rng));
            if !model.reorder {
                at = at.max(state.last_arrival);
                state.last_arrival = at;
            }
            Arrival { at, corrupted: rng.chance(model.corrupt_ppb) }
        };
        let first = arrive(rng, state);
        let duplicate = rng.chance(model.duplicate_ppb).then(|| arrive(rng, state));
        Route::Delivered { first, duplicate }
    }
}

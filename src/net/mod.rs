//! The simulated network: which links exist, what each does to a message, and partitions.
//!
//! `Network::route` takes one transmission and decides its fate with draws from
//! the network stream only: dropped (and why), or arriving at a time, perhaps
//! corrupted, perhaps twice; a link with a service-time distribution draws each message's
//! service from the link-service stream instead. It knows nothing of messages' contents.

mod partition;
mod topology;

pub use partition::{PartitionRule, Partitions};
pub use topology::Topology;

use crate::dist::Latency;
use crate::id::{MsgId, NodeId};
use crate::rng::{SimRng, Stream};
use crate::time::SimTime;
use crate::trace::DropReason;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::collections::VecDeque;

/// What one directed link does to the messages it carries. Probabilities are
/// parts per billion, fixed at validation.
#[derive(Clone, Debug)]
pub struct LinkModel {
    /// The delay from leaving the sender (after serialisation, if the link has a bandwidth) to
    /// arriving, drawn afresh for every copy and every fragment.
    pub latency: Latency,
    /// Chance a transmission is lost, in parts per billion (0 to 1,000,000,000); a fragmented
    /// message draws it once per fragment and is lost if any fragment is.
    pub loss_ppb: u32,
    /// Chance a delivered message arrives twice, in parts per billion; the second copy draws
    /// its own latency and corruption. Fragmented messages are never duplicated.
    pub duplicate_ppb: u32,
    /// Chance a copy arrives damaged, in parts per billion, per fragment; the receiver sees a
    /// corrupted payload (what the protocol's checksum, if any, must catch).
    pub corrupt_ppb: u32,
    /// When false the link is FIFO: a message never overtakes an earlier one.
    pub reorder: bool,
    /// Serialisation rate in bits per second; `None` is infinitely fast.
    pub bandwidth_bps: Option<u64>,
    /// The link as a single server: each message occupies it for a time drawn from this
    /// distribution (from the link-service stream, once per message whatever its fragments),
    /// in FIFO order, before its latency starts. Validation never sets it with `bandwidth_bps`:
    /// a link is served by its size over a rate or by a drawn time, not both. `None`: no server.
    pub service: Option<Latency>,
    /// Messages that may wait for the wire or the server (the one being sent or served
    /// included, so this is the K of an M/M/1/K queue); more are tail-dropped.
    pub queue_limit: Option<u32>,
    /// The largest message the link carries whole; a larger one goes as fragments of at
    /// most this many bytes, each lost, delayed and corrupted on its own. `None`: no limit.
    pub mtu_bytes: Option<u32>,
}

impl LinkModel {
    /// How many fragments a message of `size` bytes travels as.
    #[inline]
    pub fn fragments(&self, size: u32) -> u32 {
        self.mtu_bytes.map_or(1, |mtu| size.div_ceil(mtu).max(1))
    }

    /// Whether the link must remember anything between messages.
    fn is_stateful(&self) -> bool {
        self.queues() || (!self.reorder && !matches!(self.latency, Latency::Constant(_)))
    }

    /// Whether messages wait their turn on the link: for the wire, or for the server.
    fn queues(&self) -> bool {
        self.bandwidth_bps.is_some() || self.service.is_some()
    }
}

/// What happens to one copy of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// When the copy reaches the receiver: its last fragment's arrival, and never before an
    /// earlier message on a link that keeps order.
    pub at: SimTime,
    /// Whether the copy (any of its fragments) was damaged on the way.
    pub corrupted: bool,
}

/// The fate of one transmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The message never arrives, for the reason given (no link, partitioned, lost, a lost
    /// fragment, a full queue).
    Dropped(DropReason),
    /// The message arrives, perhaps twice.
    Delivered {
        /// The first (or only) copy.
        first: Arrival,
        /// The second copy, if the link duplicated the message; it may arrive before `first`
        /// on a link that reorders.
        duplicate: Option<Arrival>,
    },
    /// The message would travel as more fragments than the run's budget allows: nothing
    /// was drawn, and the run must end (`EndReason::MaxFragments`).
    OverFragmentBudget,
}

/// Per directed link memory: FIFO ordering and the queue for the wire or the server.
#[derive(Clone, Debug, Default)]
struct LinkState {
    last_arrival: SimTime,
    /// When each queued message finishes serialising or being served, oldest first. Every
    /// entry later than now is a message still in flight (its arrival comes after it), and
    /// older ones are dropped at the link's next send, so the queue is bounded by the run's
    /// in-flight budget, whose per-message allowance covers its entry.
    wire_queue: VecDeque<SimTime>,
}

/// The whole network of a run: the default link model, per-link overrides, the topology (which
/// links exist), the current partitions, and what links remember between messages (FIFO order,
/// bandwidth and service queues). It decides each transmission's fate with [`Network::route`].
#[derive(Debug)]
pub struct Network {
    default: LinkModel,
    /// Per-link overrides; index into `models`. Looked up, never iterated.
    overrides: FxHashMap<u64, usize>,
    models: Vec<LinkModel>,
    topology: Topology,
    /// The partitions in force now; the simulator applies the scenario's partition and heal
    /// faults to it as they fall due.
    pub partitions: Partitions,
    /// Looked up, never iterated, so its order cannot leak into the run.
    state: FxHashMap<u64, LinkState>,
    /// Decisions to follow instead of drawing (see `replay`), each with whether a
    /// transmission took it.
    replay: Option<BTreeMap<MsgId, (Decision, bool)>>,
    /// Every random decision taken, when asked for (see `start_recording`).
    recording: Option<Vec<Decision>>,
    /// The most fragments a message may travel as (see `limit_fragments`).
    max_fragments: u64,
    /// The link-service stream: the service times of links that have a service distribution,
    /// and nothing else, so a scenario without one draws exactly as before it existed.
    service_rng: SimRng,
}

fn key(from: NodeId, to: NodeId) -> u64 {
    u64::from(from.0) << 32 | u64::from(to.0)
}

impl Network {
    /// A network of `nodes` nodes whose links behave as `default` unless `overrides` names
    /// them (a later override of the same directed link wins), with only the links `topology`
    /// allows, and no partition; links with a service distribution draw from `seed`'s
    /// link-service stream.
    pub fn new(default: LinkModel, overrides: Vec<((NodeId, NodeId), LinkModel)>, topology: Topology, nodes: usize, seed: u64) -> Network {
        let mut map = FxHashMap::default();
        let mut models = Vec::new();
        for ((from, to), model) in overrides {
            // A later override of the same link replaces the earlier one.
            map.insert(key(from, to), models.len());
            models.push(model);
        }
        Network {
            default,
            overrides: map,
            models,
            topology,
            partitions: Partitions::new(nodes),
            state: FxHashMap::default(),
            replay: None,
            recording: None,
            max_fragments: u64::MAX,
            service_rng: SimRng::new(seed, Stream::LinkService),
        }
    }

    /// Refuse to route a message that would travel as more than `max` fragments: each costs
    /// draws, all within the event that sends it.
    pub fn limit_fragments(&mut self, max: u64) {
        self.max_fragments = max;
    }

    /// The smallest latency of the link `from -> to`: how long the transport's own notices
    /// (a rendezvous's "taken", a mailbox's "room") take to travel it. They use no draws.
    pub fn min_latency_ns(&self, from: NodeId, to: NodeId) -> u64 {
        self.overrides.get(&key(from, to)).map_or(&self.default, |&i| &self.models[i]).latency.min_ns()
    }

    /// The largest latency any link can add: how long "in flight" can last.
    pub fn max_latency_ns(&self) -> u64 {
        self.models.iter().chain(std::iter::once(&self.default)).map(|m| m.latency.max_ns()).max().unwrap_or(0)
    }

    /// Decide the fate of transmission `msg`, `size` bytes sent now on `from -> to`.
    /// Draw order (fixed; part of the trace format): loss, latency, corruption,
    /// duplication, then the duplicate's latency and corruption. A link with a service
    /// distribution draws the service time from its own stream once the queue has admitted
    /// the message (a message lost or refused by a full queue draws none). In replay mode
    /// the outcomes come from the replayed decisions instead and nothing is drawn.
    ///
    /// A message larger than the link's MTU travels as `k` fragments: `k` loss draws
    /// (all drawn; any loss loses the message, as reassembly cannot complete), then a
    /// latency and a corruption draw per fragment (it arrives with its last fragment, and
    /// is corrupted if any fragment is). A duplicated fragment is discarded by reassembly,
    /// so a fragmented message is never duplicated and draws no duplication.
    #[inline]
    pub fn route(&mut self, msg: MsgId, from: NodeId, to: NodeId, size: u32, now: SimTime, rng: &mut SimRng) -> Route {
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
        // Only a link with an MTU fragments; the usual link pays one test.
        if let Some(mtu) = model.mtu_bytes
            && u64::from(size.div_ceil(mtu)) > self.max_fragments
        {
            return Route::OverFragmentBudget;
        }
        let replayed = self.replay.as_mut().map(|r| match r.get_mut(&msg) {
            Some((decision, taken)) => {
                *taken = true;
                *decision
            }
            None => Decision::clean(msg, model.latency.min_ns()),
        });
        let (states, recording, service) = (&mut self.state, &mut self.recording, &mut self.service_rng);
        // Monomorphised per source, so the usual case (drawing, not recording) checks nothing.
        match replayed {
            None => decide(Draw { model, rng, service }, msg, recording, states, model, from, to, size, now),
            Some(decision) => decide(Replay(decision), msg, recording, states, model, from, to, size, now),
        }
    }

    /// Record every random decision from now on (for `take_recording`).
    pub fn start_recording(&mut self) {
        self.recording = Some(Vec::new());
    }

    /// How many decisions are recorded, and the room held for them (0 and 0 if none are).
    pub fn recorded(&self) -> (usize, usize) {
        self.recording.as_ref().map_or((0, 0), |r| (r.len(), r.capacity()))
    }

    /// The decisions recorded since `start_recording`, if it was called.
    pub fn take_recording(&mut self) -> Option<Vec<Decision>> {
        self.recording.take()
    }

    /// Follow `decisions` instead of drawing; transmissions they do not mention are
    /// delivered after the link's smallest latency, neither corrupted nor duplicated.
    pub fn replay(&mut self, decisions: &[Decision]) {
        self.replay = Some(decisions.iter().map(|d| (d.msg, (*d, false))).collect());
    }

    /// The replayed decisions no transmission took, by message id: the run never made them
    /// (a `replay` edited by hand, or kept after its scenario changed).
    pub fn unused_replay(&self) -> Vec<MsgId> {
        self.replay.iter().flatten().filter(|(_, (_, taken))| !taken).map(|(&msg, _)| msg).collect()
    }
}

/// The random outcomes of one transmission: what the network stream decided, or
/// what a replay says it decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The transmission decided (its id in the trace's `send` line).
    pub msg: MsgId,
    /// Lost on the link (for a fragmented message: some fragment was).
    pub lost: bool,
    /// The first copy's latency in nanoseconds (for a fragmented message, the last fragment's);
    /// time spent waiting for a bandwidth-limited wire or a server is not included.
    pub latency_ns: u64,
    /// How long the link's server took over it, on a link with a service distribution (`None`
    /// elsewhere; replayed on a service link, `None` means the distribution's minimum).
    pub service_ns: Option<u64>,
    /// The first copy arrived damaged.
    pub corrupted: bool,
    /// The second copy's latency and corruption, if the link duplicated the message.
    pub duplicate: Option<(u64, bool)>,
}

impl Decision {
    /// Decisions as a scenario's `replay` list (RON), one per line: what `shrink` and `explore`
    /// write and the scenario format reads back.
    pub fn list_ron(decisions: &[Decision]) -> String {
        let mut out = String::from("[");
        for d in decisions {
            let mut fields = format!("msg: {}", d.msg.0);
            if d.lost {
                fields.push_str(", lost: true");
            } else {
                fields.push_str(&format!(", latency_ns: {}", d.latency_ns));
            }
            if d.corrupted {
                fields.push_str(", corrupted: true");
            }
            if let Some((latency, corrupted)) = d.duplicate {
                fields.push_str(&format!(", duplicate: ({latency}, {corrupted})"));
            }
            if let Some(service) = d.service_ns {
                fields.push_str(&format!(", service_ns: {service}"));
            }
            out.push_str(&format!("\n        ({fields}),"));
        }
        out.push_str(if decisions.is_empty() { "]" } else { "\n    ]" });
        out
    }

    fn clean(msg: MsgId, latency_ns: u64) -> Decision {
        Decision { msg, lost: false, latency_ns, corrupted: false, duplicate: None, service_ns: None }
    }
}

/// Where a transmission's random outcomes come from.
trait Outcomes {
    /// Whether any of the message's `fragments` is lost.
    fn lost(&mut self, fragments: u32) -> bool;
    /// Latency and corruption of the first copy (`copy` 0) or the duplicate (1): the last
    /// fragment's arrival, and whether any fragment was corrupted.
    fn copy(&mut self, copy: usize, fragments: u32) -> (u64, bool);
    fn duplicated(&mut self) -> bool;
    /// How long the link's server takes over the message, its time drawn from `service`.
    fn service(&mut self, service: &Latency) -> u64;
}

/// Outcomes drawn from the network stream, in the fixed draw order, and service times from
/// the link-service stream.
struct Draw<'a> {
    model: &'a LinkModel,
    rng: &'a mut SimRng,
    service: &'a mut SimRng,
}

impl Outcomes for Draw<'_> {
    #[inline]
    fn lost(&mut self, fragments: u32) -> bool {
        match fragments {
            1 => self.rng.chance(self.model.loss_ppb),
            k => self.fragments_lost(k),
        }
    }
    #[inline]
    fn copy(&mut self, _copy: usize, fragments: u32) -> (u64, bool) {
        match fragments {
            1 => (self.model.latency.sample(self.rng), self.rng.chance(self.model.corrupt_ppb)),
            k => self.fragments_copy(k),
        }
    }
    #[inline]
    fn duplicated(&mut self) -> bool {
        self.rng.chance(self.model.duplicate_ppb)
    }
    fn service(&mut self, service: &Latency) -> u64 {
        service.sample(self.service)
    }
}

impl Draw<'_> {
    /// Every fragment's loss is drawn, lost or not, so the number of draws depends only on `k`.
    #[cold]
    fn fragments_lost(&mut self, k: u32) -> bool {
        (0..k).fold(false, |lost, _| self.rng.chance(self.model.loss_ppb) | lost)
    }

    /// The last fragment's arrival, and whether any fragment was damaged.
    #[cold]
    fn fragments_copy(&mut self, k: u32) -> (u64, bool) {
        (0..k).fold((0, false), |(latency, corrupted), _| {
            (latency.max(self.model.latency.sample(self.rng)), self.rng.chance(self.model.corrupt_ppb) | corrupted)
        })
    }
}

/// Outcomes a replayed decision dictates.
struct Replay(Decision);

impl Outcomes for Replay {
    fn lost(&mut self, _fragments: u32) -> bool {
        self.0.lost
    }
    fn copy(&mut self, copy: usize, _fragments: u32) -> (u64, bool) {
        match copy {
            0 => (self.0.latency_ns, self.0.corrupted),
            _ => self.0.duplicate.unwrap_or((self.0.latency_ns, false)),
        }
    }
    fn duplicated(&mut self) -> bool {
        self.0.duplicate.is_some()
    }
    fn service(&mut self, service: &Latency) -> u64 {
        self.0.service_ns.unwrap_or_else(|| service.min_ns())
    }
}

/// Another source's outcomes, noted in a `Decision` as they are taken.
struct Recorded<O> {
    source: O,
    decision: Decision,
}

impl<O: Outcomes> Outcomes for Recorded<O> {
    fn lost(&mut self, fragments: u32) -> bool {
        self.decision.lost = self.source.lost(fragments);
        self.decision.lost
    }
    fn copy(&mut self, copy: usize, fragments: u32) -> (u64, bool) {
        let outcome = self.source.copy(copy, fragments);
        match copy {
            0 => (self.decision.latency_ns, self.decision.corrupted) = outcome,
            _ => self.decision.duplicate = Some(outcome),
        }
        outcome
    }
    fn duplicated(&mut self) -> bool {
        self.source.duplicated()
    }
    fn service(&mut self, service: &Latency) -> u64 {
        let took = self.source.service(service);
        self.decision.service_ns = Some(took);
        took
    }
}

/// Route with `source`, recording its outcomes if a recording is on.
#[allow(clippy::too_many_arguments)]
#[inline]
fn decide<O: Outcomes>(
    source: O,
    msg: MsgId,
    recording: &mut Option<Vec<Decision>>,
    states: &mut FxHashMap<u64, LinkState>,
    model: &LinkModel,
    from: NodeId,
    to: NodeId,
    size: u32,
    now: SimTime,
) -> Route {
    let Some(recording) = recording else {
        return route_with(&mut { source }, states, model, from, to, size, now);
    };
    let mut recorded = Recorded { source, decision: Decision::clean(msg, 0) };
    let route = route_with(&mut recorded, states, model, from, to, size, now);
    // Queue and topology drops decide nothing at random: nothing to record.
    if !matches!(route, Route::Dropped(DropReason::QueueFull)) {
        recording.push(recorded.decision);
    }
    route
}

#[inline]
fn route_with(
    fate: &mut impl Outcomes,
    states: &mut FxHashMap<u64, LinkState>,
    model: &LinkModel,
    from: NodeId,
    to: NodeId,
    size: u32,
    now: SimTime,
) -> Route {
    let fragments = model.fragments(size);
    if fate.lost(fragments) {
        return Route::Dropped(if fragments > 1 { DropReason::FragmentLost } else { DropReason::Lost });
    }
    if !model.is_stateful() {
        let (latency, corrupted) = fate.copy(0, fragments);
        let first = Arrival { at: now.saturating_add(latency), corrupted };
        let duplicate = (fragments == 1 && fate.duplicated()).then(|| {
            let (latency, corrupted) = fate.copy(1, 1);
            Arrival { at: now.saturating_add(latency), corrupted }
        });
        return Route::Delivered { first, duplicate };
    }
    let state = states.entry(key(from, to)).or_default();
    let mut departs = now;
    if model.queues() {
        while state.wire_queue.front().is_some_and(|&done| done <= now) {
            state.wire_queue.pop_front();
        }
        if model.queue_limit.is_some_and(|limit| state.wire_queue.len() >= limit as usize) {
            return Route::Dropped(DropReason::QueueFull);
        }
        let start = state.wire_queue.back().copied().unwrap_or(now).max(now);
        // Validation gives a link one or the other; the queue works the same for both.
        let busy_ns = match (&model.service, model.bandwidth_bps) {
            (Some(service), _) => fate.service(service),
            (None, bps) => bps.map_or(0, |bps| (u128::from(size) * 8 * 1_000_000_000).div_ceil(u128::from(bps)) as u64),
        };
        departs = start.saturating_add(busy_ns);
        state.wire_queue.push_back(departs);
    }
    let first = arrive(fate, 0, fragments, state, model, departs);
    let duplicate = (fragments == 1 && fate.duplicated()).then(|| arrive(fate, 1, 1, state, model, departs));
    Route::Delivered { first, duplicate }
}

/// A copy leaving a stateful link at `departs`: its latency, then FIFO if the link keeps order.
#[inline]
fn arrive(fate: &mut impl Outcomes, copy: usize, fragments: u32, state: &mut LinkState, model: &LinkModel, departs: SimTime) -> Arrival {
    let (latency, corrupted) = fate.copy(copy, fragments);
    let mut at = departs.saturating_add(latency);
    if !model.reorder {
        at = at.max(state.last_arrival);
        state.last_arrival = at;
    }
    Arrival { at, corrupted }
}

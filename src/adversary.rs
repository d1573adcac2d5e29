//! The network adversary: an attacker on chosen links who reads, drops, alters, replays and forges.
//!
//! (A scenario may instead make one node a compromised member, an *insider*: that one
//! needs its protocol's keys, so it lives with the protocol, in
//! `protocols::secure_channel::Insider`; it shares the spec and [`Captures`] with this one.)
//!
//! It sits on both directions of each link it is given and sees every message
//! put on one, before the link's own loss and latency. It acts on the bytes a
//! protocol exposes through [`Message::wire_bytes`], so the engine stays
//! ignorant of any protocol's format. Every choice it makes is drawn from its
//! own stream ([`Stream::Adversary`]) in a fixed order, so a run with an
//! adversary is as reproducible as one without, and a scenario without one
//! draws nothing from it.

use crate::id::NodeId;
use crate::process::{Message, PLAINTEXT_MARKER};
use crate::rng::{SimRng, Stream};
use crate::trace::AdversaryAction;

/// The adversary a scenario places (probabilities in parts per billion).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdversarySpec {
    /// The links it sits on, as ordered pairs `(a, b)` with `a < b`: both directions.
    pub links: Vec<(NodeId, NodeId)>,
    /// The compromised member whose process the adversary runs instead (validation allows
    /// links or a node, not both: the two would draw the same stream).
    pub node: Option<NodeId>,
    /// An outsider's chance, per message it sees, of removing it, in parts per billion.
    pub drop_ppb: u32,
    /// The chance of flipping one bit of a message (an outsider's, per message it sees; an
    /// insider's, per turn), in parts per billion.
    pub tamper_ppb: u32,
    /// The chance of sending an earlier capture again, unchanged, in parts per billion.
    pub replay_ppb: u32,
    /// Validation allows a forger only with three nodes or more: it needs a third to impersonate.
    pub forge_ppb: u32,
    /// An insider's chance, per turn, of sending under its own name a kind of message the
    /// access policy does not permit it (validation: only with a node and a policy).
    pub forbidden_ppb: u32,
}

impl AdversarySpec {
    fn watches(&self, from: NodeId, to: NodeId) -> bool {
        let pair = if from < to { (from, to) } else { (to, from) };
        self.links.binary_search(&pair).is_ok()
    }
}

/// How many captured messages it keeps to replay and forge from: enough to reach back
/// past any replay window a protocol keeps, bounded so a long run's memory is too.
const CAPTURE_LIMIT: usize = 256;

/// The latest `CAPTURE_LIMIT` things an adversary kept, to pick from uniformly.
#[derive(Debug)]
pub struct Captures<T> {
    items: Vec<T>,
    /// Where the next capture goes once `items` is full (the oldest is overwritten).
    next_slot: usize,
}

impl<T: Clone> Default for Captures<T> {
    fn default() -> Self {
        Captures { items: Vec::new(), next_slot: 0 }
    }
}

impl<T: Clone> Captures<T> {
    /// Keep `item`; once full, it replaces the oldest capture.
    pub fn push(&mut self, item: T) {
        if self.items.len() < CAPTURE_LIMIT {
            self.items.push(item);
        } else {
            self.items[self.next_slot] = item;
            self.next_slot = (self.next_slot + 1) % CAPTURE_LIMIT;
        }
    }

    /// Whether nothing has been captured yet (then there is nothing to replay or forge from).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// One capture, uniformly (one draw); callers make sure there is one.
    pub fn pick(&self, rng: &mut SimRng) -> T {
        self.items[rng.below(self.items.len() as u64) as usize].clone()
    }
}

/// What the adversary did to one message, for the engine to apply and record.
pub struct Interception<M> {
    /// `Eavesdrop` or `Leak`, then `Drop` or `Tamper` if it did either.
    pub actions: Vec<AdversaryAction>,
    /// Whether the message was removed from the link, so the link never carries it.
    pub dropped: bool,
    /// Messages to inject on the same link: `(action, claimed sender, receiver, message)`.
    pub injected: Vec<(AdversaryAction, NodeId, NodeId, M)>,
}

/// An adversary during a run.
pub struct Adversary<M> {
    spec: AdversarySpec,
    rng: SimRng,
    nodes: u32,
    /// `(from, to, message)` as captured.
    captured: Captures<(NodeId, NodeId, M)>,
}

impl<M: Message> Adversary<M> {
    /// An adversary drawing from its own stream of `seed`, so a scenario without one draws
    /// nothing new; `nodes` is the cluster's size.
    pub fn new(spec: AdversarySpec, seed: u64, nodes: usize) -> Adversary<M> {
        Adversary { spec, rng: SimRng::new(seed, Stream::Adversary), nodes: nodes as u32, captured: Captures::default() }
    }

    /// Act on `msg`, just put on the link `from -> to`; `None` if the adversary is not on it.
    pub fn intercept(&mut self, from: NodeId, to: NodeId, msg: &mut M) -> Option<Interception<M>> {
        if !self.spec.watches(from, to) {
            return None;
        }
        let mut out = Interception { actions: Vec::new(), dropped: false, injected: Vec::new() };
        let readable = msg.wire_bytes().is_some_and(|b| b.windows(PLAINTEXT_MARKER.len()).any(|w| w == PLAINTEXT_MARKER));
        out.actions.push(if readable { AdversaryAction::Leak } else { AdversaryAction::Eavesdrop });
        // What it captures is the message as sent, before any tampering of its own.
        let seen = msg.clone();
        // The four decisions are drawn first, in a fixed order, then what each needs (a bit
        // to flip, a capture, a node to impersonate): the same seed and settings make the
        // same attack, and the stream is the adversary's alone, so it shifts nothing else.
        let drop = self.rng.chance(self.spec.drop_ppb);
        let tamper = self.rng.chance(self.spec.tamper_ppb);
        let replay = self.rng.chance(self.spec.replay_ppb);
        let forge = self.rng.chance(self.spec.forge_ppb);
        if drop {
            out.actions.push(AdversaryAction::Drop);
            out.dropped = true;
        } else if tamper && self.flip_bit(msg) {
            out.actions.push(AdversaryAction::Tamper);
        }
        // An earlier message on its own link, as it was: the receiver sees exactly what it
        // may once have accepted. Picked before this one is captured, as replaying a
        // message alongside itself would only race it.
        if replay && !self.captured.is_empty() {
            let (f, t, old) = self.captured.pick(&mut self.rng);
            out.injected.push((AdversaryAction::Replay, f, t, old));
        }
        self.captured.push((from, to, seen));
        if forge {
            // A captured message, altered, claimed to come from a third node: a forger without
            // keys can only recombine what it has seen.
            let (f, t, mut old) = self.captured.pick(&mut self.rng);
            let pick = self.rng.below(u64::from(self.nodes) - 2) as usize;
            let claimed = (0..self.nodes).map(NodeId).filter(|&n| n != t && n != f).nth(pick).expect("a third node exists");
            self.flip_bit(&mut old);
            out.injected.push((AdversaryAction::Forge, claimed, t, old));
        }
        Some(out)
    }

    /// Flip one bit of `msg`'s bytes; false if it exposes none to flip.
    fn flip_bit(&mut self, msg: &mut M) -> bool {
        let Some(bytes) = msg.wire_bytes().filter(|b| !b.is_empty()) else { return false };
        flip_bit(&mut self.rng, bytes);
        true
    }
}

/// Flip one bit of `bytes`, chosen uniformly (one draw); `bytes` is not empty.
pub fn flip_bit(rng: &mut SimRng, bytes: &mut [u8]) {
    let bit = rng.below(bytes.len() as u64 * 8);
    bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
}

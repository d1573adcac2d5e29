//! Causal multicast, CBCAST style: vector timestamps in the messages and a hold-back queue over the reliable transport.
//!
//! For each destination, a node's *knowledge* counts, per origin, the
//! multicasts that causally precede its next event. It travels on every
//! message the node sends, acks and relays included: more than CBCAST needs
//! (merging a multicast's timestamp when it is delivered is enough for
//! `CausalOrder`, whose happens-before follows multicasts and deliveries), and
//! it orders a little more than causality asks. A multicast carries the sender's knowledge (its own entry
//! counted up) as its timestamp `ts`; a member delivers it from origin `p`
//! once it has delivered `ts[p] - 1` of `p`'s messages and at least `ts[k]`
//! of every other origin's. Ordering is per destination group, as in CBCAST.
//!
//! A corrupted copy is discarded unread, so the knowledge it carried is not
//! learned. A sender that
//! crashes after others heard of a multicast but before any copy of it got
//! out leaves what causally follows it held back for good: causal order is
//! kept, validity is not.
//! `hold_back: false` is the broken variant: it delivers on receipt, which
//! `CausalOrder` must catch (`scenarios/ordering/broken-causal.ron`).

use super::group::{Body, GroupCtx, Key, Layer, Stamp, Transport};
use crate::process::{Cluster, Dest, Payload};
use std::collections::BTreeMap;

/// Per destination, per origin: multicasts known to precede.
#[derive(Clone, Debug, Default, Hash)]
pub struct Knowledge(BTreeMap<Dest, Vec<u32>>);

impl Stamp for Knowledge {
    fn merge(&mut self, other: &Knowledge) {
        for (dest, theirs) in &other.0 {
            let mine = self.0.entry(*dest).or_insert_with(|| vec![0; theirs.len()]);
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m = (*m).max(*t);
            }
        }
    }

    fn size(&self) -> u32 {
        self.0.values().map(|v| 4 + 4 * v.len() as u32).sum()
    }

    fn heap_bytes(&self) -> u64 {
        self.0.values().map(|v| 64 + 4 * v.len() as u64).sum()
    }
}

/// A multicast's body: the application message and its vector timestamp (per origin, the
/// destination's multicasts that precede it, its own origin's entry counting itself).
#[derive(Clone, Debug, Hash)]
pub struct Stamped {
    ts: Vec<u32>,
    payload: Payload,
}

impl Body for Stamped {
    fn size(&self) -> u32 {
        self.payload.size_bytes.saturating_add(4 * self.ts.len() as u32)
    }

    fn corrupt(&mut self) {
        self.payload.corrupt();
    }

    fn heap_bytes(&self) -> u64 {
        4 * self.ts.len() as u64
    }
}

type Net = Transport<Stamped, Knowledge>;
type CausalCtx<'a> = GroupCtx<'a, Stamped, Knowledge>;

/// The causal layer of one node, over the reliable group transport.
#[derive(Clone, Hash)]
pub struct Causal {
    hold_back: bool,
    /// Per destination, per origin: messages delivered here.
    delivered: BTreeMap<Dest, Vec<u32>>,
    /// Received, not yet deliverable: (origin, destination, body), in arrival order.
    held: Vec<(usize, Dest, Stamped)>,
}

impl Causal {
    /// A node that holds back a multicast until what precedes it is delivered if `hold_back`
    /// (without it, the broken variant, it delivers on receipt).
    pub fn new(hold_back: bool) -> Causal {
        Causal { hold_back, delivered: BTreeMap::new(), held: Vec::new() }
    }

    fn deliverable(&self, origin: usize, dest: Dest, ts: &[u32]) -> bool {
        let seen = |k: usize| self.delivered.get(&dest).map_or(0, |v| v[k]);
        ts.iter().enumerate().all(|(k, &t)| if k == origin { seen(k) + 1 == t } else { seen(k) >= t })
    }
}

impl Layer for Causal {
    type Body = Stamped;
    type Stamp = Knowledge;
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        // `delivered` grows with the cluster (`state_bytes`); what is held back grows with the run.
        crate::budget::vec(&self.held)
    }

    /// Per destination (every group, and all nodes), the multicasts known and those delivered:
    /// two vectors of a counter per node.
    fn state_bytes(cluster: &Cluster) -> u64 {
        let destinations = cluster.groups.len() as u64 + 1;
        let n = cluster.len() as u64;
        destinations.saturating_mul(n).saturating_mul(2 * 4)
    }

    fn command(&mut self, net: &mut Net, ctx: &mut CausalCtx<'_>, payload: Payload, dest: Dest) {
        let n = ctx.cluster().len();
        let known = net.stamp.0.entry(dest).or_insert_with(|| vec![0; n]);
        known[ctx.me().index()] += 1;
        let body = Stamped { ts: known.clone(), payload };
        let key = net.multicast(ctx, dest, body.clone());
        if net.includes_me(ctx, dest) {
            self.receive(net, ctx, key, dest, body);
        }
    }

    fn receive(&mut self, _net: &mut Net, ctx: &mut CausalCtx<'_>, (origin, _): Key, dest: Dest, body: Stamped) {
        if !self.hold_back {
            ctx.deliver(body.payload);
            return;
        }
        let n = ctx.cluster().len();
        self.held.push((origin.index(), dest, body));
        // Each delivery may release others: scan until a pass delivers nothing.
        while let Some(i) = self.held.iter().position(|(o, d, b)| self.deliverable(*o, *d, &b.ts)) {
            let (o, d, b) = self.held.remove(i);
            self.delivered.entry(d).or_insert_with(|| vec![0; n])[o] += 1;
            ctx.deliver(b.payload);
        }
    }
}

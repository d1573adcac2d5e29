//! FIFO multicast: per-sender sequence numbers and a hold-back queue over the reliable transport.
//!
//! Each sender numbers its messages to each destination from 0; a member
//! delivers a sender's message n only after its n-1, holding back what
//! arrives early (a retransmission overtaken by a later message, a reordering
//! link). `hold_back: false` is the broken variant: it delivers on receipt,
//! which `FifoOrder` must catch (`scenarios/ordering/broken-fifo.ron`).

use super::group::{Body, GroupCtx, Key, Layer, Transport};
use crate::id::NodeId;
use crate::process::{Dest, Payload};
use std::collections::BTreeMap;

/// A multicast's body: the application message and its number from its sender to its
/// destination (from 0).
#[derive(Clone, Debug, Hash)]
pub struct Numbered {
    seq: u64,
    payload: Payload,
}

impl Body for Numbered {
    fn size(&self) -> u32 {
        self.payload.size_bytes.saturating_add(8)
    }

    fn corrupt(&mut self) {
        self.payload.corrupt();
    }
}

type Net = Transport<Numbered, ()>;
type FifoCtx<'a> = GroupCtx<'a, Numbered, ()>;

/// The FIFO layer of one node, over the reliable group transport.
#[derive(Clone, Hash)]
pub struct Fifo {
    hold_back: bool,
    /// The next number this node gives a message to each destination.
    sent: BTreeMap<Dest, u64>,
    /// The next number to deliver from each (sender, destination).
    next: BTreeMap<(NodeId, Dest), u64>,
    held: BTreeMap<(NodeId, Dest, u64), Payload>,
}

impl Fifo {
    /// A node that holds back out-of-order messages if `hold_back` (without it, the broken
    /// variant, it delivers on receipt).
    pub fn new(hold_back: bool) -> Fifo {
        Fifo { hold_back, sent: BTreeMap::new(), next: BTreeMap::new(), held: BTreeMap::new() }
    }
}

impl Layer for Fifo {
    type Body = Numbered;
    type Stamp = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.sent), b::map(&self.next), b::map(&self.held)])
    }

    fn command(&mut self, net: &mut Net, ctx: &mut FifoCtx<'_>, payload: Payload, dest: Dest) {
        let seq = self.sent.entry(dest).or_default();
        let body = Numbered { seq: *seq, payload };
        *seq += 1;
        let key = net.multicast(ctx, dest, body.clone());
        if net.includes_me(ctx, dest) {
            self.receive(net, ctx, key, dest, body);
        }
    }

    fn receive(&mut self, _net: &mut Net, ctx: &mut FifoCtx<'_>, (origin, _): Key, dest: Dest, body: Numbered) {
        if !self.hold_back {
            ctx.deliver(body.payload);
            return;
        }
        self.held.insert((origin, dest, body.seq), body.payload);
        let next = self.next.entry((origin, dest)).or_default();
        while let Some(payload) = self.held.remove(&(origin, dest, *next)) {
            ctx.deliver(payload);
            *next += 1;
        }
    }
}

//! Total order with a fixed sequencer over the reliable transport; with the eager relay, atomic multicast.
//!
//! The sequencer of a destination is its lowest-numbered recipient. It gives
//! every message it receives for that destination the next sequence number and
//! multicasts the assignment (`Order`) through the same reliable transport; a
//! member delivers message number n once it holds both the message and its
//! order, after n-1. Every member thus delivers in the sequencer's order.
//! Atomic multicast is this with `relay`: a message that reached any correct
//! member reaches the sequencer and so everyone. The sequencer must not crash
//! (there is no failover). `hold_back: false` is the broken variant: it
//! delivers on receipt, which `TotalOrder` must catch
//! (`scenarios/ordering/broken-sequencer.ron`).

use super::group::{Body, GroupCtx, Key, Layer, Transport};
use crate::process::{Dest, Payload};
use std::collections::BTreeMap;

/// What the sequencer layer multicasts.
#[derive(Clone, Debug, Hash)]
pub enum Seq {
    /// An application message, sent to its destination group (the sequencer among it).
    App(Payload),
    /// The sequencer's assignment: message `of` is number `n` for its destination.
    Order {
        /// The multicast numbered.
        of: Key,
        /// Its place in the destination's total order, from 0.
        n: u64,
    },
}

impl Body for Seq {
    fn size(&self) -> u32 {
        match self {
            Seq::App(p) => p.size_bytes,
            Seq::Order { .. } => 24,
        }
    }

    fn corrupt(&mut self) {
        if let Seq::App(p) = self {
            p.corrupt();
        }
    }
}

type Net = Transport<Seq, ()>;
type SeqCtx<'a> = GroupCtx<'a, Seq, ()>;

/// The fixed-sequencer layer of one node: the sequencer's numbering if it is one, and every
/// member's delivery in that numbering.
#[derive(Clone, Hash)]
pub struct Sequencer {
    hold_back: bool,
    /// As the sequencer: the next number to assign per destination.
    assign: BTreeMap<Dest, u64>,
    /// Received messages waiting for their turn.
    apps: BTreeMap<Key, Payload>,
    orders: BTreeMap<(Dest, u64), Key>,
    /// The next number to deliver per destination.
    next: BTreeMap<Dest, u64>,
}

impl Sequencer {
    /// A node that delivers in the sequencer's order if `hold_back` (without it, the broken
    /// variant, it delivers on receipt).
    pub fn new(hold_back: bool) -> Sequencer {
        Sequencer { hold_back, assign: BTreeMap::new(), apps: BTreeMap::new(), orders: BTreeMap::new(), next: BTreeMap::new() }
    }

    fn deliver_ready(&mut self, ctx: &mut SeqCtx<'_>, dest: Dest) {
        let next = self.next.entry(dest).or_default();
        while let Some(key) = self.orders.get(&(dest, *next)) {
            let Some(payload) = self.apps.remove(key) else { break };
            self.orders.remove(&(dest, *next));
            ctx.deliver(payload);
            *next += 1;
        }
    }

    /// Hand our own multicast to ourselves when we are a recipient.
    fn send(&mut self, net: &mut Net, ctx: &mut SeqCtx<'_>, dest: Dest, body: Seq) {
        let key = net.multicast(ctx, dest, body.clone());
        if net.includes_me(ctx, dest) {
            self.receive(net, ctx, key, dest, body);
        }
    }
}

impl Layer for Sequencer {
    type Body = Seq;
    type Stamp = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.assign), b::map(&self.apps), b::map(&self.orders), b::map(&self.next)])
    }

    fn command(&mut self, net: &mut Net, ctx: &mut SeqCtx<'_>, payload: Payload, dest: Dest) {
        self.send(net, ctx, dest, Seq::App(payload));
    }

    fn receive(&mut self, net: &mut Net, ctx: &mut SeqCtx<'_>, key: Key, dest: Dest, body: Seq) {
        match body {
            Seq::App(payload) if !self.hold_back => ctx.deliver(payload),
            Seq::App(payload) => {
                self.apps.insert(key, payload);
                if ctx.cluster().group_recipients(dest).first() == Some(&ctx.me()) {
                    let n = self.assign.entry(dest).or_default();
                    let order = Seq::Order { of: key, n: *n };
                    *n += 1;
                    self.send(net, ctx, dest, order);
                }
                self.deliver_ready(ctx, dest);
            }
            Seq::Order { of, n } => {
                self.orders.insert((dest, n), of);
                self.deliver_ready(ctx, dest);
            }
        }
    }
}

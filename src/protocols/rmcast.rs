//! Reliable multicast: the group transport with nothing on top, each message delivered on first receipt.
//!
//! With `relay` (the eager variant) every member that receives a message
//! forwards it to the others, so the correct members agree on what was
//! delivered even when the sender crashes halfway through a multicast.
//! Without it, only the sender retransmits: correct while the sender lives,
//! and the deliberately broken variant when it crashes, which `Agreement`
//! must catch (`scenarios/ordering/broken-reliable-no-relay.ron`).

use super::group::{GroupCtx, Key, Layer, Transport};
use crate::process::{Dest, Payload};

/// The reliable-multicast layer: no ordering, each multicast delivered the first time it
/// reaches a member (the transport sees to it that it reaches every correct one).
#[derive(Clone, Hash)]
pub struct Reliable;

impl Layer for Reliable {
    type Body = Payload;
    type Stamp = ();

    fn command(&mut self, net: &mut Transport<Payload, ()>, ctx: &mut GroupCtx<'_, Payload, ()>, payload: Payload, dest: Dest) {
        let key = net.multicast(ctx, dest, payload);
        if net.includes_me(ctx, dest) {
            self.receive(net, ctx, key, dest, payload);
        }
    }

    fn receive(&mut self, _net: &mut Transport<Payload, ()>, ctx: &mut GroupCtx<'_, Payload, ()>, _key: Key, _dest: Dest, body: Payload) {
        ctx.deliver(body);
    }
}

//! Total order by agreement, ISIS style: Lamport-clock proposals from every recipient, the agreed timestamp their maximum.
//!
//! A member receiving a message proposes a timestamp one past its Lamport
//! clock, tagged with its own id to break ties, keeps the message in a queue
//! as undeliverable and sends the proposal to the origin. Once the origin
//! has every recipient's proposal it multicasts the largest as the agreed
//! timestamp; members mark the message deliverable under it, advance their
//! clock past it and deliver from the head of the queue (ordered by
//! timestamp) while the head is deliverable. A message's agreed timestamp is
//! never below a proposal some member made for it, so no message can later
//! slip in ahead of one already delivered. Every recipient must answer: a
//! crashed member blocks its origin's messages (there is no failure
//! detector). `hold_back: false` is the broken variant: it delivers on
//! receipt, which `TotalOrder` must catch (`scenarios/ordering/broken-isis.ron`).

use super::group::{Body, GroupCtx, Key, Layer, Transport};
use crate::id::NodeId;
use crate::process::{Dest, Payload};
use std::collections::{BTreeMap, BTreeSet};

/// A Lamport timestamp and the id of the node that proposed it.
pub type Ts = (u64, NodeId);

/// What the ISIS layer multicasts.
#[derive(Clone, Debug, Hash)]
pub enum Isis {
    /// An application message, to its destination group.
    App(Payload),
    /// A recipient's proposed timestamp for a message, sent to the message's origin.
    Propose {
        /// The message the proposal is for.
        of: Key,
        /// One past the proposer's Lamport clock, with the proposer's id to break ties.
        ts: Ts,
    },
    /// The origin's final timestamp for a message, to its destination group.
    Agreed {
        /// The message the timestamp is for.
        of: Key,
        /// The largest proposal: the message's place in the total order.
        ts: Ts,
    },
}

impl Body for Isis {
    fn size(&self) -> u32 {
        match self {
            Isis::App(p) => p.size_bytes,
            Isis::Propose { .. } | Isis::Agreed { .. } => 32,
        }
    }

    fn corrupt(&mut self) {
        if let Isis::App(p) = self {
            p.corrupt();
        }
    }
}

type Net = Transport<Isis, ()>;
type IsisCtx<'a> = GroupCtx<'a, Isis, ()>;

#[derive(Clone, Hash)]
struct Queued {
    payload: Payload,
    ts: Ts,
    agreed: bool,
}

/// An origin's collection of proposals for one of its messages.
#[derive(Clone, Hash)]
struct Collecting {
    dest: Dest,
    waiting: BTreeSet<NodeId>,
    max: Ts,
}

/// The ISIS layer of one node: its Lamport clock, its queue of messages ordered by timestamp,
/// and the proposals it collects for its own messages.
#[derive(Clone, Hash)]
pub struct IsisOrder {
    hold_back: bool,
    clock: u64,
    queue: BTreeMap<Key, Queued>,
    collecting: BTreeMap<Key, Collecting>,
}

impl IsisOrder {
    /// A node that delivers in agreed-timestamp order if `hold_back` (without it, the broken
    /// variant, it delivers on receipt).
    pub fn new(hold_back: bool) -> IsisOrder {
        IsisOrder { hold_back, clock: 0, queue: BTreeMap::new(), collecting: BTreeMap::new() }
    }

    fn send(&mut self, net: &mut Net, ctx: &mut IsisCtx<'_>, dest: Dest, body: Isis) {
        let key = net.multicast(ctx, dest, body.clone());
        if net.includes_me(ctx, dest) {
            self.receive(net, ctx, key, dest, body);
        }
    }

    /// Deliver from the head of the queue (smallest timestamp, then key) while it is agreed.
    fn deliver_ready(&mut self, ctx: &mut IsisCtx<'_>) {
        while let Some((&key, q)) = self.queue.iter().min_by_key(|(k, q)| (q.ts, **k)) {
            if !q.agreed {
                break;
            }
            ctx.deliver(q.payload);
            self.queue.remove(&key);
        }
    }
}

impl Layer for IsisOrder {
    type Body = Isis;
    type Stamp = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        // Each collection's set of members yet to answer is bounded by the group, not counted.
        crate::budget::map(&self.queue).saturating_add(crate::budget::map(&self.collecting))
    }

    fn command(&mut self, net: &mut Net, ctx: &mut IsisCtx<'_>, payload: Payload, dest: Dest) {
        if self.hold_back {
            // Register before sending: our own proposal arrives while the send is handled.
            let waiting = ctx.cluster().group_recipients(dest).into_iter().collect();
            let key = (ctx.me(), net.next_key());
            self.collecting.insert(key, Collecting { dest, waiting, max: (0, NodeId(0)) });
        }
        self.send(net, ctx, dest, Isis::App(payload));
    }

    fn receive(&mut self, net: &mut Net, ctx: &mut IsisCtx<'_>, key: Key, _dest: Dest, body: Isis) {
        match body {
            Isis::App(payload) if !self.hold_back => ctx.deliver(payload),
            Isis::App(payload) => {
                self.clock += 1;
                let ts = (self.clock, ctx.me());
                self.queue.insert(key, Queued { payload, ts, agreed: false });
                self.send(net, ctx, Dest::Node(key.0), Isis::Propose { of: key, ts });
            }
            Isis::Propose { of, ts } => {
                let Some(c) = self.collecting.get_mut(&of) else { return };
                c.waiting.remove(&ts.1);
                c.max = c.max.max(ts);
                if c.waiting.is_empty() {
                    let c = self.collecting.remove(&of).expect("present");
                    self.send(net, ctx, c.dest, Isis::Agreed { of, ts: c.max });
                }
            }
            Isis::Agreed { of, ts } => {
                self.clock = self.clock.max(ts.0);
                // The agreement follows this member's own proposal, which followed its receipt.
                if let Some(q) = self.queue.get_mut(&of) {
                    q.ts = ts;
                    q.agreed = true;
                }
                self.deliver_ready(ctx);
            }
        }
    }
}

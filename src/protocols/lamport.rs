//! Lamport's total order: Lamport timestamps, every message acknowledged to all, delivery when the message heads the queue and a later timestamp has been seen from every process.
//!
//! The processes are every node of the cluster. To multicast, a node ticks its Lamport clock
//! and sends the request, stamped with the clock, to every node (itself included, without the
//! network). Every node takes what each origin sends in the order it was sent (the transport
//! numbers an origin's multicasts; a hold-back per origin restores that order, which the
//! algorithm needs: the FIFO channels it assumes), sets its clock past each timestamp it
//! receives, puts every request in a queue ordered by (timestamp, origin), and answers it with
//! an acknowledgement to every node, stamped with its clock. The request at the head of the
//! queue is delivered (by the members of its destination) once a message with a later
//! (timestamp, node) has arrived from every node: over FIFO channels nothing earlier can then
//! still come, so every node delivers the same requests in the same order.
//!
//! The price is the whole cluster on every message: a request to n-1 nodes and n
//! acknowledgements to n-1 nodes each, (n+1)(n-1) messages where ISIS needs 3(n-1); and a
//! node that cannot be heard from, crashed or partitioned away, stops delivery everywhere
//! until it is heard again (`scenarios/canon/lamport-partition.ron`): ordered, but not
//! available. It is crash-stop and, like the other group protocols, refuses restarts.
//! `hold_back: false` is the broken variant: it delivers a request on receipt, which
//! `TotalOrder` catches (`scenarios/canon/broken-lamport.ron`).

use super::at_least_once::Retry;
use super::group::{Body, Group, GroupConfig, GroupCtx, Key, Layer, Transport, refuse_restarts};
use crate::id::NodeId;
use crate::plugin::Protocol;
use crate::process::{Dest, Payload};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario};
use std::collections::BTreeMap;

/// A Lamport timestamp and the node whose clock it is: ties broken by node.
type Ts = (u64, NodeId);

/// What the layer multicasts to every node.
#[derive(Clone, Debug, Hash)]
pub enum Lamport {
    /// A request to deliver `payload` to `dest`, at the sender's clock `ts`.
    Request {
        /// The application message.
        payload: Payload,
        /// Who is to deliver it; every node queues the request, only these deliver.
        dest: Dest,
        /// The sender's Lamport clock when it sent the request.
        ts: u64,
    },
    /// The sender has queued request `of`; its clock is `ts`.
    Ack {
        /// The request acknowledged.
        of: Key,
        /// The acknowledging node's Lamport clock when it sent the ack.
        ts: u64,
    },
}

impl Body for Lamport {
    fn size(&self) -> u32 {
        match self {
            Lamport::Request { payload, .. } => payload.size_bytes.saturating_add(8),
            Lamport::Ack { .. } => 24,
        }
    }

    fn corrupt(&mut self) {
        if let Lamport::Request { payload, .. } = self {
            payload.corrupt();
        }
    }
}

type Net = Transport<Lamport, ()>;
type LamportCtx<'a> = GroupCtx<'a, Lamport, ()>;

/// One node's state: its clock, the FIFO hold-back per origin, the latest timestamp heard from
/// each node, and the queue of requests.
#[derive(Clone, Hash)]
pub struct LamportOrder {
    hold_back: bool,
    clock: u64,
    /// Per origin, the number of its next multicast to take.
    next: BTreeMap<NodeId, u64>,
    /// Multicasts that arrived ahead of an earlier one from the same origin.
    early: BTreeMap<Key, Lamport>,
    /// The latest timestamp taken from each node (absent: none yet).
    latest: BTreeMap<NodeId, u64>,
    queue: BTreeMap<Ts, (Payload, Dest)>,
}

impl LamportOrder {
    /// A node's layer; `hold_back: false` delivers on receipt (the broken variant).
    pub fn new(hold_back: bool) -> LamportOrder {
        LamportOrder { hold_back, clock: 0, next: BTreeMap::new(), early: BTreeMap::new(), latest: BTreeMap::new(), queue: BTreeMap::new() }
    }

    /// Multicast `body` to every node, this one included.
    fn send(&mut self, net: &mut Net, ctx: &mut LamportCtx<'_>, body: Lamport) {
        let key = net.multicast(ctx, Dest::All, body.clone());
        self.receive(net, ctx, key, Dest::All, body);
    }

    /// Take `body`, the next multicast of its origin.
    fn take(&mut self, net: &mut Net, ctx: &mut LamportCtx<'_>, key: Key, body: Lamport) {
        let (origin, me) = (key.0, ctx.me());
        let ts = match &body {
            Lamport::Request { ts, .. } | Lamport::Ack { ts, .. } => *ts,
        };
        if origin != me {
            self.clock = self.clock.max(ts) + 1;
        }
        self.latest.insert(origin, ts);
        if let Lamport::Request { payload, dest, ts } = body {
            if !self.hold_back {
                if ctx.cluster().group_recipients(dest).contains(&me) {
                    ctx.deliver(payload);
                }
            } else {
                self.queue.insert((ts, origin), (payload, dest));
            }
            self.clock += 1;
            let ack = Lamport::Ack { of: key, ts: self.clock };
            self.send(net, ctx, ack);
        }
        self.deliver_ready(ctx);
    }

    /// Deliver from the head of the queue while every node has sent something later than it.
    fn deliver_ready(&mut self, ctx: &mut LamportCtx<'_>) {
        while let Some((&head, &(payload, dest))) = self.queue.first_key_value() {
            let later_from_all = ctx.cluster().nodes().all(|q| self.latest.get(&q).is_some_and(|&t| (t, q) > head));
            if !later_from_all {
                break;
            }
            self.queue.remove(&head);
            if ctx.cluster().group_recipients(dest).contains(&ctx.me()) {
                ctx.deliver(payload);
            }
        }
    }
}

impl Layer for LamportOrder {
    type Body = Lamport;
    type Stamp = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.next), b::map(&self.early), b::map(&self.latest), b::map(&self.queue)])
    }

    fn command(&mut self, net: &mut Net, ctx: &mut LamportCtx<'_>, payload: Payload, dest: Dest) {
        self.clock += 1;
        let request = Lamport::Request { payload, dest, ts: self.clock };
        self.send(net, ctx, request);
    }

    fn receive(&mut self, net: &mut Net, ctx: &mut LamportCtx<'_>, key: Key, _dest: Dest, body: Lamport) {
        let (origin, n) = key;
        let next = self.next.entry(origin).or_insert(0);
        if n != *next {
            self.early.insert(key, body);
            return;
        }
        *next += 1;
        self.take(net, ctx, key, body);
        // Whatever was waiting behind it, in order.
        loop {
            let want = (origin, self.next[&origin]);
            let Some(body) = self.early.remove(&want) else { break };
            *self.next.get_mut(&origin).expect("present") += 1;
            self.take(net, ctx, want, body);
        }
    }
}

/// Lamport's total order over the group transport, as scenarios name it.
pub struct LamportMulticast;

impl Protocol for LamportMulticast {
    const NAME: &'static str = "LamportMulticast";
    type Config = GroupConfig;
    type Process = Group<LamportOrder>;

    fn validate(config: &GroupConfig, cx: &mut ConfigCx<'_, '_>) {
        Retry::validate(&config.retry, cx);
        refuse_restarts(cx, "a group-communication protocol", "group-communication protocols are crash-stop");
    }

    fn retry_policy(config: &GroupConfig) -> Option<RetryPolicy> {
        Some(RetryPolicy::from_send(config.retry))
    }

    fn factory(config: &GroupConfig, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> Group<LamportOrder> {
        let retry = Retry::from_file(&config.retry);
        let (relay, hold_back) = (config.relay.unwrap_or(false), config.hold_back.unwrap_or(true));
        move |_| Group::new(retry, relay, LamportOrder::new(hold_back))
    }
}

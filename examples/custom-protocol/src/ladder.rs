//! The challenge ladder's reference solutions and the naive attempts that each rung exists to
//! catch (the book's chapter "Challenges"; the rungs are `examples/custom-protocol/challenges/`).
//!
//! A challenge names the protocol a student writes: `Echo()` on the first rung, and
//! `Broadcast(clients: .., servers: .., topology: .., timeout_ms: ..)` on the others, which
//! run msgsim's Maelstrom-style broadcast service (`msgsim::protocols::broadcast`): its clients
//! and servers are msgsim's, and the student writes only the [`Relay`] that spreads values
//! between servers. This module writes each solution as such a relay, and [`registry`]
//! registers one of them under the name the challenges use.

use msgsim::prelude::*;
use msgsim::protocols::broadcast::{self, Common, HEADER_BYTES, Overlay, Relay, RelayCtx, VALUE_ID_BYTES, Values};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;

// ANCHOR: echo
/// On the wire: the payload a command asked to be sent.
#[derive(Clone, Debug)]
pub struct Note(pub Payload);

impl Message for Note {
    fn wire_size(&self) -> u32 {
        8 + self.0.size_bytes
    }
    fn corrupt(&mut self) {
        self.0.corrupt();
    }
}

/// One node of the first rung: it sends what it is told to whom it is told, and delivers what
/// arrives, once.
pub struct EchoNode {
    /// The naive attempt delivers every copy the network hands it.
    every_copy: bool,
    /// The application messages already delivered.
    seen: BTreeSet<AppId>,
}

impl Process for EchoNode {
    type Msg = Note;
    type Timer = ();

    fn on_command(&mut self, ctx: &mut Ctx<'_, Note, ()>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        if let Dest::Node(to) = dest {
            ctx.send(to, Note(payload));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Note, ()>, incoming: Incoming<Note>) {
        // A damaged copy is dropped; the challenge's link does not damage, but a student's
        // later links will.
        if !incoming.checksum_ok {
            return;
        }
        let Note(payload) = incoming.msg;
        // A duplicate keeps its original's id, so the id tells a copy from a new message.
        if self.seen.insert(payload.id) || self.every_copy {
            ctx.deliver(payload);
        }
    }
}

/// `Echo()` on the first rung: `EVERY_COPY` false is the reference, true the naive attempt.
pub struct Echo<const EVERY_COPY: bool>;

impl<const EVERY_COPY: bool> Protocol for Echo<EVERY_COPY> {
    const NAME: &'static str = "Echo";
    type Config = NoConfig;
    type Process = EchoNode;

    fn factory(_: &NoConfig, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> EchoNode {
        |_| EchoNode { every_copy: EVERY_COPY, seen: BTreeSet::new() }
    }
}
// ANCHOR_END: echo

// ANCHOR: broadcast
/// `Broadcast(clients: [..], servers: [..], topology: .., timeout_ms: ..)`: the fields every
/// broadcast challenge gives, read as msgsim's own broadcast protocols read them.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "Broadcast", deny_unknown_fields)]
pub struct BroadcastConfig {
    /// Client nodes or groups.
    pub clients: Vec<String>,
    /// Server nodes or groups.
    pub servers: Vec<String>,
    /// The servers' logical topology: the neighbours each relay is given.
    pub topology: Overlay,
    /// How long a client waits for a reply.
    pub timeout_ms: Number,
    /// Reads a client invokes after each broadcast; absent: 1.
    #[serde(default)]
    pub reads_per_broadcast: Option<Whole>,
}

impl BroadcastConfig {
    fn common(&self) -> Common<'_> {
        Common {
            clients: &self.clients,
            servers: &self.servers,
            topology: self.topology,
            timeout_ms: self.timeout_ms,
            reads_per_broadcast: self.reads_per_broadcast,
        }
    }
}

/// A relay a server runs, made from the server's neighbours in the topology.
pub trait Solution: 'static {
    /// The relay.
    type Relay: Relay;
    /// The relay of a server with these neighbours.
    fn relay(neighbours: Vec<NodeId>) -> Self::Relay;
}

/// The protocol the broadcast challenges name, running solution `S`'s relay on every server.
pub struct Broadcast<S>(PhantomData<S>);

impl<S: Solution> Protocol for Broadcast<S> {
    const NAME: &'static str = "Broadcast";
    type Config = BroadcastConfig;
    type Process = broadcast::Node<S::Relay>;

    fn validate(config: &BroadcastConfig, cx: &mut ConfigCx<'_, '_>) {
        config.common().validate(cx);
    }

    fn factory(config: &BroadcastConfig, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Self::Process {
        let spec = config.common().spec(&scenario.cluster);
        move |me| broadcast::Node::new(&spec, me, S::relay)
    }
}
// ANCHOR_END: broadcast

const MS: u64 = 1_000_000;

/// Between servers: a value, or the acknowledgement of one.
#[derive(Clone, Debug)]
pub enum FloodMsg {
    /// A value the sender knows.
    Value(Payload),
    /// "I have this value."
    Ack(AppId),
}

impl Message for FloodMsg {
    fn wire_size(&self) -> u32 {
        match self {
            FloodMsg::Value(p) => HEADER_BYTES + p.size_bytes,
            FloodMsg::Ack(_) => HEADER_BYTES + VALUE_ID_BYTES,
        }
    }
    fn corrupt(&mut self) {
        if let FloodMsg::Value(p) = self {
            p.corrupt();
        }
    }
}

// ANCHOR: flood
/// How a flooding server makes sure a neighbour got a value.
#[derive(Clone, Copy, Debug)]
pub struct Resend {
    /// Send the value again after this long without its acknowledgement.
    pub every_ns: u64,
    /// Give up after this many sends; `None`: never.
    pub give_up_after: Option<u32>,
}

/// A value sent to a neighbour and not yet acknowledged.
struct Unacked {
    value: Payload,
    timer: TimerId,
    sends: u32,
}

/// Flooding: a server that learns a value tells its neighbours (and, with `forward`, so does
/// every server that learns it from another); with `resend`, until each acknowledges it.
pub struct Flood {
    neighbours: Vec<NodeId>,
    forward: bool,
    resend: Option<Resend>,
    unacked: BTreeMap<(NodeId, AppId), Unacked>,
}

impl Flood {
    fn new(neighbours: Vec<NodeId>, forward: bool, resend: Option<Resend>) -> Flood {
        Flood { neighbours, forward, resend, unacked: BTreeMap::new() }
    }

    /// Neighbour `to` has `value`: stop sending it there.
    fn settled(&mut self, ctx: &mut RelayCtx<'_, Self>, to: NodeId, value: AppId) {
        if let Some(u) = self.unacked.remove(&(to, value)) {
            ctx.cancel_timer(u.timer);
        }
    }
}

impl Relay for Flood {
    type Msg = FloodMsg;
    /// The neighbour and value to send again.
    type Timer = (NodeId, AppId);

    fn learned(&mut self, ctx: &mut RelayCtx<'_, Self>, value: Payload, from: Option<NodeId>) {
        if from.is_some() && !self.forward {
            return;
        }
        for &to in self.neighbours.iter().filter(|&&n| Some(n) != from) {
            ctx.send(to, broadcast::Msg::Peer(FloodMsg::Value(value)));
            if let Some(resend) = self.resend {
                let timer = ctx.set_timer(resend.every_ns, broadcast::Timer::Peer((to, value.id)));
                self.unacked.insert((to, value.id), Unacked { value, timer, sends: 1 });
            }
        }
    }

    fn message(&mut self, ctx: &mut RelayCtx<'_, Self>, values: &mut Values, from: NodeId, msg: FloodMsg) {
        match msg {
            FloodMsg::Value(value) => {
                // Every copy is acknowledged, not only the first: the sender sends again until
                // an acknowledgement gets through.
                if self.resend.is_some() {
                    ctx.send(from, broadcast::Msg::Peer(FloodMsg::Ack(value.id)));
                }
                // The sender has it: no need to send it back.
                self.settled(ctx, from, value.id);
                if values.add(ctx, value) {
                    self.learned(ctx, value, Some(from));
                }
            }
            FloodMsg::Ack(value) => self.settled(ctx, from, value),
        }
    }

    fn timer(&mut self, ctx: &mut RelayCtx<'_, Self>, _: &mut Values, (to, id): (NodeId, AppId)) {
        let Some(resend) = self.resend else { return };
        let Some(u) = self.unacked.get_mut(&(to, id)) else { return };
        if resend.give_up_after.is_some_and(|n| u.sends >= n) {
            self.unacked.remove(&(to, id));
            return;
        }
        ctx.send(to, broadcast::Msg::Peer(FloodMsg::Value(u.value)));
        u.sends += 1;
        u.timer = ctx.set_timer(resend.every_ns, broadcast::Timer::Peer((to, id)));
    }
}
// ANCHOR_END: flood

/// Rung 2's naive attempt: the server a client asks tells its neighbours, once, and they keep
/// it to themselves. On a topology where not every server neighbours every other, values stop
/// one hop away.
pub struct TellNeighbours;

impl Solution for TellNeighbours {
    type Relay = Flood;
    fn relay(neighbours: Vec<NodeId>) -> Flood {
        Flood::new(neighbours, false, None)
    }
}

/// Rung 2's reference and rung 3's naive attempt: every server that learns a value passes it
/// on to its neighbours but the one it came from, once. A lost copy is never sent again.
pub struct FloodOnce;

impl Solution for FloodOnce {
    type Relay = Flood;
    fn relay(neighbours: Vec<NodeId>) -> Flood {
        Flood::new(neighbours, true, None)
    }
}

/// The reference of rungs 3, 4 and 5: flooding with acknowledgements, sending a value again
/// every 300 ms until its neighbour acknowledges it, never giving up. 300 ms is longer than
/// any round trip of the challenges (200 ms on their slowest links), so no copy is sent again
/// before its acknowledgement could be back.
pub struct FloodAcked;

impl Solution for FloodAcked {
    type Relay = Flood;
    fn relay(neighbours: Vec<NodeId>) -> Flood {
        Flood::new(neighbours, true, Some(Resend { every_ns: 300 * MS, give_up_after: None }))
    }
}

/// Rung 4's naive attempt: resends every 100 ms, but gives up after 8 sends. Against loss
/// that is plenty (8 losses in a row are rare); against a partition longer than 800 ms, a
/// value stops at the cut.
pub struct FloodGivesUp;

impl Solution for FloodGivesUp {
    type Relay = Flood;
    fn relay(neighbours: Vec<NodeId>) -> Flood {
        Flood::new(neighbours, true, Some(Resend { every_ns: 100 * MS, give_up_after: Some(8) }))
    }
}

/// Rung 5's naive attempt: resends every 50 ms, never giving up. Correct everywhere, and on
/// the fast links of rungs 3 and 4 an acknowledgement beats the resend; on 100 ms links every
/// value is sent four times before its first acknowledgement is back.
pub struct FloodEager;

impl Solution for FloodEager {
    type Relay = Flood;
    fn relay(neighbours: Vec<NodeId>) -> Flood {
        Flood::new(neighbours, true, Some(Resend { every_ns: 50 * MS, give_up_after: None }))
    }
}

/// Between servers: a batch of values, or the acknowledgement of a batch's values.
#[derive(Clone, Debug)]
pub enum BatchMsg {
    /// Values the receiver is not known to have.
    Values(Vec<Payload>),
    /// "I have these values."
    Ack(Vec<AppId>),
}

impl Message for BatchMsg {
    fn wire_size(&self) -> u32 {
        let n = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        match self {
            BatchMsg::Values(v) => HEADER_BYTES.saturating_add(v.iter().map(|p| p.size_bytes).fold(0u32, u32::saturating_add)),
            BatchMsg::Ack(ids) => HEADER_BYTES.saturating_add(n(ids.len()).saturating_mul(VALUE_ID_BYTES)),
        }
    }
    fn corrupt(&mut self) {
        if let BatchMsg::Values(v) = self {
            v.iter_mut().for_each(Payload::corrupt);
        }
    }
}

// ANCHOR: batch
/// How often a batching server sends each neighbour what it has for it.
const TICK_NS: u64 = 100 * MS;
/// Ticks a sent value waits for its acknowledgement before it goes in a batch again: longer
/// than a round trip (200 ms) plus a tick.
const RESEND_TICKS: u64 = 4;

/// Batching: values for a neighbour wait for the next tick and go in one message, which the
/// neighbour acknowledges with one message; an unacknowledged value goes again `RESEND_TICKS`
/// later. A link carries at most two messages a tick, however many values arrive.
pub struct Batching {
    neighbours: Vec<NodeId>,
    tick: u64,
    /// Per neighbour: values to send at the next tick.
    outbox: BTreeMap<NodeId, BTreeMap<AppId, Payload>>,
    /// Per neighbour and value: sent, unacknowledged, and the tick it was last sent at.
    unacked: BTreeMap<(NodeId, AppId), (Payload, u64)>,
}

impl Relay for Batching {
    type Msg = BatchMsg;
    type Timer = ();

    fn start(&mut self, ctx: &mut RelayCtx<'_, Self>) {
        ctx.set_timer(TICK_NS, broadcast::Timer::Peer(()));
    }

    fn learned(&mut self, _: &mut RelayCtx<'_, Self>, value: Payload, from: Option<NodeId>) {
        for &to in self.neighbours.iter().filter(|&&n| Some(n) != from) {
            self.outbox.entry(to).or_default().insert(value.id, value);
        }
    }

    fn message(&mut self, ctx: &mut RelayCtx<'_, Self>, values: &mut Values, from: NodeId, msg: BatchMsg) {
        match msg {
            BatchMsg::Values(batch) => {
                ctx.send(from, broadcast::Msg::Peer(BatchMsg::Ack(batch.iter().map(|p| p.id).collect())));
                for value in batch {
                    // The sender has it: it need not go back.
                    self.unacked.remove(&(from, value.id));
                    self.outbox.entry(from).or_default().remove(&value.id);
                    if values.add(ctx, value) {
                        self.learned(ctx, value, Some(from));
                    }
                }
            }
            BatchMsg::Ack(ids) => {
                for id in ids {
                    self.unacked.remove(&(from, id));
                }
            }
        }
    }

    fn timer(&mut self, ctx: &mut RelayCtx<'_, Self>, _: &mut Values, (): ()) {
        self.tick += 1;
        for &to in &self.neighbours {
            let mut batch: Vec<Payload> = self.outbox.remove(&to).unwrap_or_default().into_values().collect();
            for (&(n, _), (value, sent)) in self.unacked.range_mut((to, AppId(0))..) {
                if n != to {
                    break;
                }
                if self.tick - *sent >= RESEND_TICKS {
                    batch.push(*value);
                    *sent = self.tick;
                }
            }
            for value in &batch {
                self.unacked.entry((to, value.id)).or_insert((*value, self.tick));
            }
            if !batch.is_empty() {
                ctx.send(to, broadcast::Msg::Peer(BatchMsg::Values(batch)));
            }
        }
        ctx.set_timer(TICK_NS, broadcast::Timer::Peer(()));
    }
}
// ANCHOR_END: batch

/// Rung 6's reference: batching every 100 ms.
pub struct Batched;

impl Solution for Batched {
    type Relay = Batching;
    fn relay(neighbours: Vec<NodeId>) -> Batching {
        Batching { neighbours, tick: 0, outbox: BTreeMap::new(), unacked: BTreeMap::new() }
    }
}

/// The solutions by the names `LADDER` takes, each with what it is.
pub const SOLUTIONS: &[(&str, &str)] = &[
    ("echo", "rung 1's reference: deliver each message once"),
    ("echo-every-copy", "rung 1's naive attempt: deliver every copy"),
    ("tell-neighbours", "rung 2's naive attempt: the first server tells its neighbours, once"),
    ("flood-once", "rung 2's reference: every server passes a new value on, once"),
    ("flood-acked", "the reference of rungs 3 to 5: flooding, resent every 300 ms until acknowledged"),
    ("flood-gives-up", "rung 4's naive attempt: resent every 100 ms, 8 sends at most"),
    ("flood-eager", "rung 5's naive attempt: resent every 50 ms until acknowledged"),
    ("batched", "rung 6's reference: one batch per neighbour every 100 ms"),
];

/// msgsim's bundled protocols and checks, this crate's, and solution `name` (one of
/// [`SOLUTIONS`]) under the name the challenges use; `None` for a name not in the list.
pub fn registry(name: &str) -> Option<Registry> {
    let base = crate::registry();
    Some(match name {
        "echo" => base.with_protocol::<Echo<false>>(),
        "echo-every-copy" => base.with_protocol::<Echo<true>>(),
        "tell-neighbours" => base.with_protocol::<Broadcast<TellNeighbours>>(),
        "flood-once" => base.with_protocol::<Broadcast<FloodOnce>>(),
        "flood-acked" => base.with_protocol::<Broadcast<FloodAcked>>(),
        "flood-gives-up" => base.with_protocol::<Broadcast<FloodGivesUp>>(),
        "flood-eager" => base.with_protocol::<Broadcast<FloodEager>>(),
        "batched" => base.with_protocol::<Broadcast<Batched>>(),
        _ => return None,
    })
}

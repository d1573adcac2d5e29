//! The transport every group-communication protocol shares: reliable multicast per member with acks and retransmission, the optional eager relay, and the `Layer` an ordering protocol plugs into it.
//!
//! A multicast gets a key `(origin, n)`, the origin's n-th message. The
//! sender sends one copy to every recipient but itself and retransmits to
//! each member that has not acknowledged it (backoff and jitter as in
//! `at_least_once`); after `max_attempts` it stops, treating that member as
//! crashed. A receiver acknowledges every intact copy, hands the body to the
//! layer once per key and, with `relay`, becomes a sender of the message to
//! every other recipient on first receipt: if the origin crashes halfway
//! through a multicast, any member that got it finishes the job, so all
//! correct members agree on what was delivered.
//!
//! The sender is a recipient when it belongs to the destination group
//! (`Cluster::group_recipients`); the layer hands its own message to itself
//! without the network, so it is ordered among the others it delivers.
//!
//! The model is crash-stop: a restarted node starts its keys from zero again,
//! and its new messages would be taken for ones already seen.

use super::at_least_once::Retry;
use super::causal::Causal;
use super::field;
use super::fifo::Fifo;
use super::isis::IsisOrder;
use super::rmcast::Reliable;
use super::sequencer::Sequencer;
use crate::id::{NodeId, TimerId};
use crate::plugin::Protocol;
use crate::process::{Cluster, Command, Ctx, Dest, Incoming, Message, Payload, Process, StateHasher};
use crate::scenario::file::{FaultActionFile, RetryFile, SwarmFile};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario, Seg};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::Hash;

/// A multicast's identity: its origin and the origin's message number.
pub type Key = (NodeId, u64);

/// The retransmission series a key's copies to one recipient are traced under: the origin in
/// the top 24 bits, its sequence number below (unique while an origin multicasts fewer than
/// 2^40 messages).
fn series((origin, seq): Key) -> u64 {
    u64::from(origin.0) << 40 | seq & ((1 << 40) - 1)
}

/// What a layer sends through the transport.
pub trait Body: Clone + fmt::Debug + Hash {
    /// Bytes of this body on the wire (the transport adds its header).
    fn size(&self) -> u32;
    /// Damage the application payloads the body carries.
    fn corrupt(&mut self);
    /// Heap bytes the body owns (a vector timestamp), for the memory budget.
    fn heap_bytes(&self) -> u64 {
        0
    }
}

/// Knowledge piggybacked on every message a node sends, data and acks alike, and merged
/// by every node that receives it intact: the causal layer's view of which multicasts
/// causally precede the node's next event. `()` for layers that need none.
pub trait Stamp: Clone + fmt::Debug + Default + Hash {
    /// Learn what `other` knows: after this, `self` knows at least as much as each of the two.
    fn merge(&mut self, other: &Self);
    /// Bytes of this stamp on the wire, added to every message that carries it.
    fn size(&self) -> u32;
    /// Heap bytes the stamp owns, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        0
    }
}

impl Stamp for () {
    fn merge(&mut self, _other: &()) {}
    fn size(&self) -> u32 {
        0
    }
}

/// On the wire: a layer's body sent to one member, or that member's acknowledgement; both
/// carry the sender's stamp.
#[derive(Clone, Debug)]
pub enum Wire<B, S> {
    /// One transmission of a multicast to one recipient (by its origin or, with `relay`, by
    /// any member that received it).
    Data {
        /// The multicast: its origin and the origin's message number.
        key: Key,
        /// The destination the multicast is addressed to; its recipients are the members.
        dest: Dest,
        /// What the layer sent.
        body: B,
        /// The sender's knowledge when it sent this copy.
        stamp: S,
    },
    /// The receiver has an intact copy of `key`; its sender stops retransmitting to it.
    Ack {
        /// The multicast acknowledged.
        key: Key,
        /// The acknowledging member's knowledge.
        stamp: S,
    },
}

/// Header bytes: kind, key, destination, checksum.
const HEADER_BYTES: u32 = 32;

impl<B: Body, S: Stamp> Message for Wire<B, S> {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Data { body, stamp, .. } => HEADER_BYTES.saturating_add(body.size()).saturating_add(stamp.size()),
            Wire::Ack { stamp, .. } => HEADER_BYTES.saturating_add(stamp.size()),
        }
    }

    fn corrupt(&mut self) {
        if let Wire::Data { body, .. } = self {
            body.corrupt();
        }
    }

    /// A data copy's body is held twice while in flight: on the wire, and by its sender
    /// until the copy is acknowledged.
    fn heap_bytes(&self) -> u64 {
        match self {
            Wire::Data { body, stamp, .. } => body.heap_bytes().saturating_mul(2).saturating_add(stamp.heap_bytes()),
            Wire::Ack { stamp, .. } => stamp.heap_bytes(),
        }
    }
}

/// The retransmission timer of one (message, member).
#[derive(Clone, Copy, Debug)]
pub struct Resend {
    key: Key,
    to: NodeId,
}

#[derive(Clone, Hash)]
struct Outstanding<B> {
    dest: Dest,
    body: B,
    attempts: u32,
    backoff_ns: u64,
    timer: TimerId,
}

/// The context a layer acts through.
pub type GroupCtx<'a, B, S> = Ctx<'a, Wire<B, S>, Resend>;

/// The transport's state at one node.
#[derive(Clone, Hash)]
pub struct Transport<B, S> {
    retry: Retry,
    relay: bool,
    next: u64,
    /// Keys whose body was handed to the layer (our own included).
    seen: BTreeSet<Key>,
    outstanding: BTreeMap<(Key, NodeId), Outstanding<B>>,
    /// This node's piggybacked knowledge; the layer updates it, the transport merges others'.
    pub stamp: S,
}

impl<B: Body, S: Stamp> Transport<B, S> {
    fn new(retry: Retry, relay: bool) -> Transport<B, S> {
        Transport { retry, relay, next: 0, seen: BTreeSet::new(), outstanding: BTreeMap::new(), stamp: S::default() }
    }

    /// Multicast `body` to `dest`'s recipients under a fresh key. The caller hands the body
    /// to itself when `includes_me` (the transport never sends to its own node).
    pub fn multicast(&mut self, ctx: &mut GroupCtx<'_, B, S>, dest: Dest, body: B) -> Key {
        let key = (ctx.me(), self.next);
        self.next += 1;
        self.seen.insert(key);
        self.spread(ctx, key, dest, &body, &[]);
        key
    }

    /// The key the next `multicast` will use.
    pub fn next_key(&self) -> u64 {
        self.next
    }

    /// Whether this node is among `dest`'s recipients, so that a layer must hand its own
    /// multicast to itself.
    pub fn includes_me(&self, ctx: &GroupCtx<'_, B, S>, dest: Dest) -> bool {
        ctx.cluster().group_recipients(dest).contains(&ctx.me())
    }

    /// First transmission to every recipient but this node and `skip`, each with its own timer.
    fn spread(&mut self, ctx: &mut GroupCtx<'_, B, S>, key: Key, dest: Dest, body: &B, skip: &[NodeId]) {
        let me = ctx.me();
        for to in ctx.cluster().group_recipients(dest) {
            if to == me || skip.contains(&to) {
                continue;
            }
            ctx.send_attempt(to, Wire::Data { key, dest, body: body.clone(), stamp: self.stamp.clone() }, series(key), 1);
            let backoff_ns = self.retry.base_ns;
            let wait = self.retry.with_jitter(backoff_ns, ctx);
            let timer = ctx.set_timer(wait, Resend { key, to });
            // Each key is spread once per node (at its multicast or first receipt): nothing is replaced.
            self.outstanding.insert((key, to), Outstanding { dest, body: body.clone(), attempts: 1, backoff_ns, timer });
        }
    }

    fn timer(&mut self, ctx: &mut GroupCtx<'_, B, S>, Resend { key, to }: Resend) {
        let Some(o) = self.outstanding.get_mut(&(key, to)) else { return };
        if o.attempts >= self.retry.max_attempts {
            self.outstanding.remove(&(key, to));
            return;
        }
        o.attempts += 1;
        let data = Wire::Data { key, dest: o.dest, body: o.body.clone(), stamp: self.stamp.clone() };
        ctx.send_attempt(to, data, series(key), o.attempts);
        o.backoff_ns = self.retry.next_backoff(o.backoff_ns);
        let wait = self.retry.with_jitter(o.backoff_ns, ctx);
        o.timer = ctx.set_timer(wait, Resend { key, to });
    }
}

/// An ordering protocol on top of the transport: what to do with a command and with each
/// body the first time it arrives. A layer is `Clone` and `Hash` so that `msgsim explore` can
/// copy and fingerprint every group protocol (`Process::snapshot`, `Process::fingerprint`).
pub trait Layer: Clone + Hash {
    /// What the layer multicasts: application messages and its own control messages.
    type Body: Body;
    /// What the layer piggybacks on every message; `()` if nothing.
    type Stamp: Stamp;

    /// Bytes of this layer's state at one node that grow with the cluster (the vector
    /// timestamps of causal order): the protocol's `state_bytes`.
    fn state_bytes(cluster: &Cluster) -> u64 {
        let _ = cluster;
        0
    }

    /// Bytes of this layer's state at one node that grow with the run (messages held back,
    /// orders not yet delivered), for the memory budget, as `Process::heap_bytes`: a few
    /// lengths, read after every handler. The default declares none.
    fn heap_bytes(&self) -> u64 {
        0
    }

    /// The application asked this node to multicast `payload` to `dest`.
    fn command(
        &mut self,
        net: &mut Transport<Self::Body, Self::Stamp>,
        ctx: &mut GroupCtx<'_, Self::Body, Self::Stamp>,
        payload: Payload,
        dest: Dest,
    );

    /// `body`, multicast by `key.0` to `dest`, reached this node for the first time
    /// (or is this node's own, handed over by the layer itself).
    fn receive(
        &mut self,
        net: &mut Transport<Self::Body, Self::Stamp>,
        ctx: &mut GroupCtx<'_, Self::Body, Self::Stamp>,
        key: Key,
        dest: Dest,
        body: Self::Body,
    );
}

/// A group-communication process: the transport and a layer.
pub struct Group<L: Layer> {
    net: Transport<L::Body, L::Stamp>,
    layer: L,
}

impl<L: Layer> Group<L> {
    /// A process whose transport retransmits by `retry` (giving up on a member after its
    /// `max_attempts`) and, if `relay`, forwards every multicast on first receipt, with `layer`
    /// on top.
    pub fn new(retry: Retry, relay: bool, layer: L) -> Group<L> {
        Group { net: Transport::new(retry, relay), layer }
    }
}

impl<L: Layer> Process for Group<L> {
    type Msg = Wire<L::Body, L::Stamp>;
    type Timer = Resend;
    /// The transport's keys seen and copies unacknowledged, and the layer's state.
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::set(&self.net.seen), b::map(&self.net.outstanding), self.layer.heap_bytes()])
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Self::Msg, Resend>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        self.layer.command(&mut self.net, ctx, payload, dest);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, Resend>, incoming: Incoming<Self::Msg>) {
        // A corrupted copy is lost: no ack, so its sender retransmits it.
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        match incoming.msg {
            Wire::Ack { key, stamp } => {
                self.net.stamp.merge(&stamp);
                if let Some(o) = self.net.outstanding.remove(&(key, from)) {
                    ctx.cancel_timer(o.timer);
                }
            }
            Wire::Data { key, dest, body, stamp } => {
                self.net.stamp.merge(&stamp);
                ctx.send_ack(from, Wire::Ack { key, stamp: self.net.stamp.clone() }, series(key));
                if !self.net.seen.insert(key) {
                    return;
                }
                if self.net.relay {
                    // The origin and the node we got it from have it already.
                    self.net.spread(ctx, key, dest, &body, &[key.0, from]);
                }
                self.layer.receive(&mut self.net, ctx, key, dest, body);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, Resend>, timer: Resend) {
        self.net.timer(ctx, timer);
    }

    fn fingerprint(&self, state: &mut StateHasher) -> bool {
        (&self.net, &self.layer).hash(state);
        true
    }

    fn snapshot(&self) -> Option<Group<L>> {
        Some(Group { net: self.net.clone(), layer: self.layer.clone() })
    }
}

/// A bare application message is a body of its own.
impl Body for Payload {
    fn size(&self) -> u32 {
        self.size_bytes
    }

    fn corrupt(&mut self) {
        Payload::corrupt(self);
    }
}

/// Protocols that assume crash-stop refuse restarts: a restarted node would number its messages
/// from zero again and the members would take them for ones already seen. Scripted restarts and
/// swarm crashes (which restart after their downtime) are reported where they are written.
pub(crate) fn refuse_restarts(cx: &mut ConfigCx<'_, '_>, who: &str, why: &str) {
    let expected = format!("crashes without restart: {why}");
    let restarts: Vec<usize> =
        cx.file().faults.iter().enumerate().filter(|(_, f)| matches!(f.action, FaultActionFile::Restart(_))).map(|(i, _)| i).collect();
    for i in restarts {
        cx.error_in_scenario(&[Seg::Field("faults"), Seg::Index(i), Seg::Field("do")], format!("a restart under {who}"), expected.clone());
    }
    if let Some(SwarmFile { crashes: Some((_, most)), .. }) = &cx.file().swarm
        && most.0 > 0
    {
        cx.error_in_scenario(
            &[Seg::Field("swarm"), Seg::Field("crashes")],
            format!("swarm crashes restart their node, under {who}"),
            expected,
        );
    }
}

/// The configuration every group-communication protocol shares: the retransmission policy, and
/// the relay and hold-back switches where the protocol has them (their absence is the broken variant).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "protocol", deny_unknown_fields)]
pub struct GroupConfig {
    /// Acks and retransmission per member.
    pub retry: RetryFile,
    /// Every receiver forwards on first receipt (so a crashed sender's message still spreads).
    #[serde(default)]
    pub relay: Option<bool>,
    /// Hold back messages that arrive out of the protocol's order.
    #[serde(default)]
    pub hold_back: Option<bool>,
}

/// One group-communication protocol: a layer over the shared transport, its name, and the
/// defaults of its switches (`None`: the protocol has no such switch).
macro_rules! group_protocol {
    ($(#[$doc:meta])* $name:ident, $layer:ty, relay: $relay:expr, hold_back: $hold:expr, $make:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl Protocol for $name {
            const NAME: &'static str = stringify!($name);
            type Config = GroupConfig;
            type Process = Group<$layer>;

            fn validate(config: &GroupConfig, cx: &mut ConfigCx<'_, '_>) {
                Retry::validate(&config.retry, cx);
                let (relay, hold_back): (Option<bool>, Option<bool>) = ($relay, $hold);
                if relay.is_none() && config.relay.is_some() {
                    cx.error(&[field("relay")], format!("{} has no `relay` switch", stringify!($name)), "`retry` and the protocol's own switches".to_string());
                }
                if hold_back.is_none() && config.hold_back.is_some() {
                    cx.error(&[field("hold_back")], format!("{} has no `hold_back` switch", stringify!($name)), "`retry` and the protocol's own switches".to_string());
                }
                refuse_restarts(cx, "a group-communication protocol", "group-communication protocols are crash-stop");
            }

            fn state_bytes(_: &GroupConfig, cluster: &Cluster) -> u64 {
                <$layer as Layer>::state_bytes(cluster)
            }

            fn retry_policy(config: &GroupConfig) -> Option<RetryPolicy> {
                Some(RetryPolicy { relayed_series: true, ..RetryPolicy::from_send(config.retry) })
            }

            fn factory(config: &GroupConfig, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> Group<$layer> {
                let retry = Retry::from_file(&config.retry);
                let relay = config.relay.or($relay).unwrap_or(false);
                let hold_back = config.hold_back.or($hold).unwrap_or(true);
                let make: fn(bool) -> $layer = $make;
                move |_| Group::new(retry, relay, make(hold_back))
            }
        }
    };
}

group_protocol!(
    /// Reliable multicast: acks and retransmission per member, with an eager relay.
    ReliableMulticast, Reliable, relay: Some(true), hold_back: None, |_| Reliable
);
group_protocol!(
    /// FIFO multicast: per-sender sequence numbers and a hold-back queue.
    FifoMulticast, Fifo, relay: Some(false), hold_back: Some(true), Fifo::new
);
group_protocol!(
    /// Causal multicast, CBCAST style: vector timestamps and a hold-back queue.
    CausalMulticast, Causal, relay: Some(false), hold_back: Some(true), Causal::new
);
group_protocol!(
    /// Total order from a fixed sequencer (each destination's lowest-numbered member).
    SequencerMulticast, Sequencer, relay: Some(false), hold_back: Some(true), Sequencer::new
);
group_protocol!(
    /// Total order by ISIS agreement on Lamport timestamps.
    IsisMulticast, IsisOrder, relay: Some(false), hold_back: Some(true), IsisOrder::new
);
group_protocol!(
    /// Atomic multicast: the sequencer's total order over the relaying transport.
    AtomicMulticast, Sequencer, relay: Some(true), hold_back: None, |_| Sequencer::new(true)
);

//! `BroadcastFlood`: the broadcast service by flooding: a server that learns a value sends it
//! at once to every neighbour in its topology but the one it came from, and (with `retry_ms`)
//! sends it again every `retry_ms` until that neighbour acknowledges it.
//!
//! Each value crosses every link of the topology once each way at most, so on a tree it costs
//! two messages (the value and its acknowledgement) per link, and arrives after one link's
//! latency per hop. Without `retry_ms` a value is sent once and never again: the broken variant,
//! which loses every value a partition cuts off.
//!
//! With `retry_ms`, each value sent to a neighbour is a retransmission series (its number is the
//! value's id): every send of it is an `attempt` line and the neighbour's acknowledgement an
//! `ack` line, and the protocol declares its policy (a constant wait of `retry_ms` from each
//! send, no jitter, no last attempt: it resends until acknowledged), so `RetryBackoff` judges
//! that it waits as declared and stops once acknowledged.

use super::broadcast::{Common, HEADER_BYTES, Node, Overlay, Relay, RelayCtx, Timer, VALUE_ID_BYTES, Values};
use super::{field, ns};
use crate::id::{AppId, NodeId, TimerId};
use crate::plugin::Protocol;
use crate::process::{Message, Payload};
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `BroadcastFlood(clients: [..], servers: [..], topology: .., timeout_ms: .., retry_ms: ..)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "BroadcastFlood", deny_unknown_fields)]
pub struct Config {
    /// Client nodes or groups.
    pub clients: Vec<String>,
    /// Server nodes or groups.
    pub servers: Vec<String>,
    /// The servers' logical topology.
    pub topology: Overlay,
    /// How long a client waits for a reply.
    pub timeout_ms: Number,
    /// Reads a client invokes after each broadcast; absent: 1.
    #[serde(default)]
    pub reads_per_broadcast: Option<Whole>,
    /// Send a value again this long after it went unacknowledged; absent: never (broken).
    #[serde(default)]
    pub retry_ms: Option<Number>,
}

impl Config {
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

/// A value for a neighbour, or a neighbour's acknowledgement of one.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A value this server learnt, for a neighbour (sent again every `retry_ms` until acknowledged, if set).
    Value(Payload),
    /// The neighbour has the value with this id: stop resending it.
    Ack(AppId),
}

impl Message for Msg {
    fn wire_size(&self) -> u32 {
        match self {
            Msg::Value(p) => HEADER_BYTES + p.size_bytes,
            Msg::Ack(_) => HEADER_BYTES + VALUE_ID_BYTES,
        }
    }
    fn corrupt(&mut self) {
        if let Msg::Value(p) = self {
            p.corrupt();
        }
    }
}

/// A server's flooding state.
pub struct Flood {
    neighbours: Vec<NodeId>,
    retry_ns: Option<u64>,
    /// Values sent to a neighbour and not yet acknowledged by it, with their retry timer and
    /// the number of the attempt last sent.
    unacked: BTreeMap<(NodeId, AppId), (Payload, TimerId, u32)>,
}

/// Send `value` to `to` again after this long if it is still unacknowledged.
#[derive(Clone, Debug)]
pub struct Retry {
    to: NodeId,
    value: AppId,
}

impl Flood {
    /// Neighbour `to` has `value`: stop sending it there.
    fn settled(&mut self, ctx: &mut RelayCtx<'_, Self>, to: NodeId, value: AppId) {
        if let Some((_, timer, _)) = self.unacked.remove(&(to, value)) {
            ctx.cancel_timer(timer);
        }
    }
}

impl Relay for Flood {
    type Msg = Msg;
    type Timer = Retry;

    /// The values not yet acknowledged by a neighbour.
    fn heap_bytes(&self) -> u64 {
        crate::process::map_bytes::<(NodeId, AppId), (Payload, TimerId, u32)>(self.unacked.len())
    }

    fn learned(&mut self, ctx: &mut RelayCtx<'_, Self>, value: Payload, from: Option<NodeId>) {
        for &to in self.neighbours.iter().filter(|&&n| Some(n) != from) {
            let msg = super::broadcast::Msg::Peer(Msg::Value(value));
            match self.retry_ns {
                Some(retry) => {
                    ctx.send_attempt(to, msg, value.id.0, 1);
                    let timer = ctx.set_timer(retry, Timer::Peer(Retry { to, value: value.id }));
                    self.unacked.insert((to, value.id), (value, timer, 1));
                }
                None => ctx.send(to, msg),
            }
        }
    }

    fn message(&mut self, ctx: &mut RelayCtx<'_, Self>, values: &mut Values, from: NodeId, msg: Msg) {
        match msg {
            Msg::Value(value) => {
                if self.retry_ns.is_some() {
                    ctx.send_ack(from, super::broadcast::Msg::Peer(Msg::Ack(value.id)), value.id.0);
                }
                // The sender has it: no need to send it back, nor again.
                self.settled(ctx, from, value.id);
                if values.add(ctx, value) {
                    self.learned(ctx, value, Some(from));
                }
            }
            Msg::Ack(value) => self.settled(ctx, from, value),
        }
    }

    fn timer(&mut self, ctx: &mut RelayCtx<'_, Self>, _: &mut Values, timer: Retry) {
        let Some(retry) = self.retry_ns else { return };
        let Some((value, pending, attempt)) = self.unacked.get_mut(&(timer.to, timer.value)) else { return };
        *attempt = attempt.saturating_add(1);
        ctx.send_attempt(timer.to, super::broadcast::Msg::Peer(Msg::Value(*value)), value.id.0, *attempt);
        *pending = ctx.set_timer(retry, Timer::Peer(timer));
    }
}

/// Flooding over the servers' topology, as scenarios name it.
pub struct BroadcastFloodProtocol;

impl Protocol for BroadcastFloodProtocol {
    const NAME: &'static str = "BroadcastFlood";
    type Config = Config;
    type Process = Node<Flood>;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        config.common().validate(cx);
        if let Some(r) = config.retry_ms {
            cx.positive_millis(&[field("retry_ms")], r, "a retry interval of zero");
        }
    }

    // A constant wait of `retry_ms` from each send, without end; none without retries.
    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        config.retry_ms.map(RetryPolicy::constant)
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Node<Flood> {
        let spec = config.common().spec(&scenario.cluster);
        let retry_ns = config.retry_ms.map(ns);
        move |me| Node::new(&spec, me, |neighbours| Flood { neighbours, retry_ns, unacked: BTreeMap::new() })
    }
}

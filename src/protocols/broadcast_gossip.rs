//! `BroadcastGossip`: the broadcast service by batched gossip: a server collects, for each
//! neighbour in its topology, the values that neighbour is not known to have, and every
//! `period_ms` sends them all in one message; the neighbour acknowledges the batch with the
//! values' ids. A value unacknowledged `resend_ms` after it was sent goes in a later batch
//! again, so what a partition holds up crosses once it heals.
//!
//! Against flooding it trades latency for messages: a value waits up to a period at every hop,
//! and a link carries at most one batch and one acknowledgement per period however many values
//! arrive, so the messages per operation fall as the rate of operations rises.
//!
//! Each value owed to a neighbour is a retransmission series (its number is the value's id): a
//! batch is one `attempt` line per value in it, its acknowledgement one `ack` line per value,
//! and the protocol declares its policy: a value is sent again at the first tick `resend_ms`
//! after it was sent, so the wait is `resend_ms` plus less than one period
//! (`RetryPolicy::at_ticks`), with no last attempt. `RetryBackoff` judges it.
//! `bug: AckOnlyNew` is the broken variant: a server acknowledges only the values new to it,
//! so a value that crossed the same value on its way the other way is never acknowledged, and
//! its sender resends it until the other's batch arrives. `RetryBackoff` catches the
//! unacknowledged attempts (`scenarios/maelstrom/broken-broadcast-gossip-ack-only-new.ron`).
//!
//! A server's tick is a round: it declares them (`Protocol::rounds`), every period from its
//! start whether it owes anything or not, at most one batch per neighbour, so `RoundPace`
//! judges the pace of its timer (a first tick a period late, or a chain re-armed late).

use super::broadcast::{Common, HEADER_BYTES, Node, Overlay, Relay, RelayCtx, Timer, VALUE_ID_BYTES, Values};
use super::{field, ns};
use crate::id::{AppId, NodeId};
use crate::plugin::{Protocol, Rounds};
use crate::process::{Cluster, Message, Payload};
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario};
use crate::time::SimTime;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `BroadcastGossip(clients: [..], servers: [..], topology: .., timeout_ms: .., period_ms: ..,
/// resend_ms: ..)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "BroadcastGossip", deny_unknown_fields)]
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
    /// How often a server sends each neighbour its batch.
    pub period_ms: Number,
    /// How long a sent value waits for its acknowledgement before it is sent again.
    pub resend_ms: Number,
    /// A planted bug; absent: none.
    #[serde(default)]
    pub bug: Option<GossipBug>,
}

/// The broken variant of batched gossip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum GossipBug {
    /// Acknowledge only the values of a batch that are new to the receiver.
    AckOnlyNew,
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

/// Values for a neighbour, or the ids of a batch's values, acknowledged.
#[derive(Clone, Debug)]
pub enum Msg {
    /// Every value the sender holds that this neighbour is not known to have, sent once a period.
    Batch(Vec<Payload>),
    /// The ids of the values of a batch received: the sender stops resending them to this neighbour.
    Ack(Vec<AppId>),
}

/// Bytes of a count, the length of a batch's list.
const COUNT_BYTES: u32 = 4;

impl Message for Msg {
    fn wire_size(&self) -> u32 {
        let sum = match self {
            Msg::Batch(values) => values.iter().map(|p| u64::from(VALUE_ID_BYTES + p.size_bytes)).sum::<u64>(),
            Msg::Ack(ids) => ids.len() as u64 * u64::from(VALUE_ID_BYTES),
        };
        u32::try_from(u64::from(HEADER_BYTES + COUNT_BYTES) + sum).unwrap_or(u32::MAX)
    }
    fn corrupt(&mut self) {
        if let Msg::Batch(values) = self {
            values.iter_mut().for_each(Payload::corrupt);
        }
    }

    fn heap_bytes(&self) -> u64 {
        match self {
            Msg::Batch(values) => crate::process::vec_bytes(values),
            Msg::Ack(ids) => crate::process::vec_bytes(ids),
        }
    }
}

/// A value owed to a neighbour, when it was last sent (`None`: not yet), and as which attempt.
type Owed = BTreeMap<AppId, (Payload, Option<SimTime>, u32)>;

/// A server's gossip state.
pub struct Gossip {
    neighbours: Vec<NodeId>,
    period_ns: u64,
    resend_ns: u64,
    /// By position in `neighbours`: the values that neighbour is not known to have.
    owed: Vec<Owed>,
    /// The broken variant: acknowledge only what is new.
    ack_only_new: bool,
}

/// The period's tick.
#[derive(Clone, Debug)]
pub struct Tick;

impl Relay for Gossip {
    type Msg = Msg;
    type Timer = Tick;

    /// What each neighbour is still owed (a walk over the neighbours, a handful).
    fn heap_bytes(&self) -> u64 {
        self.owed
            .iter()
            .fold(0u64, |sum, o| sum.saturating_add(crate::process::map_bytes::<AppId, (Payload, Option<SimTime>, u32)>(o.len())))
    }

    fn start(&mut self, ctx: &mut RelayCtx<'_, Self>) {
        ctx.set_timer(self.period_ns, Timer::Peer(Tick));
    }

    fn learned(&mut self, _: &mut RelayCtx<'_, Self>, value: Payload, from: Option<NodeId>) {
        for (i, &n) in self.neighbours.iter().enumerate() {
            if Some(n) != from {
                self.owed[i].entry(value.id).or_insert((value, None, 0));
            }
        }
    }

    fn message(&mut self, ctx: &mut RelayCtx<'_, Self>, values: &mut Values, from: NodeId, msg: Msg) {
        let Some(i) = self.neighbours.iter().position(|&n| n == from) else { return };
        match msg {
            Msg::Batch(batch) => {
                if !self.ack_only_new {
                    let ids: Vec<AppId> = batch.iter().map(|p| p.id).collect();
                    let series: Vec<u64> = ids.iter().map(|a| a.0).collect();
                    ctx.send_acks(from, super::broadcast::Msg::Peer(Msg::Ack(ids)), series);
                }
                let mut new = Vec::new();
                for value in batch {
                    // The sender has it: it owes us nothing for it, nor we it.
                    self.owed[i].remove(&value.id);
                    if values.add(ctx, value) {
                        new.push(value.id);
                        self.learned(ctx, value, Some(from));
                    }
                }
                if self.ack_only_new && !new.is_empty() {
                    let series: Vec<u64> = new.iter().map(|a| a.0).collect();
                    ctx.send_acks(from, super::broadcast::Msg::Peer(Msg::Ack(new)), series);
                }
            }
            Msg::Ack(ids) => {
                for id in ids {
                    self.owed[i].remove(&id);
                }
            }
        }
    }

    fn timer(&mut self, ctx: &mut RelayCtx<'_, Self>, _: &mut Values, _: Tick) {
        let now = ctx.now();
        for (i, &n) in self.neighbours.iter().enumerate() {
            let due = |sent: Option<SimTime>| sent.is_none_or(|t| now.0.saturating_sub(t.0) >= self.resend_ns);
            let mut attempts = Vec::new();
            let batch: Vec<Payload> = self.owed[i]
                .values_mut()
                .filter(|(_, sent, _)| due(*sent))
                .map(|(p, sent, attempt)| {
                    *sent = Some(now);
                    *attempt = attempt.saturating_add(1);
                    attempts.push((p.id.0, *attempt));
                    *p
                })
                .collect();
            if !batch.is_empty() {
                ctx.send_attempts(n, super::broadcast::Msg::Peer(Msg::Batch(batch)), attempts);
            }
        }
        ctx.set_timer(self.period_ns, Timer::Peer(Tick));
    }
}

/// Batched gossip over the servers' topology, as scenarios name it.
pub struct BroadcastGossipProtocol;

impl Protocol for BroadcastGossipProtocol {
    const NAME: &'static str = "BroadcastGossip";
    type Config = Config;
    type Process = Node<Gossip>;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        config.common().validate(cx);
        cx.positive_millis(&[field("period_ms")], config.period_ms, "a period of zero");
        cx.positive_millis(&[field("resend_ms")], config.resend_ms, "a resend time of zero");
    }

    // A value goes again at the first tick `resend_ms` after its last send, without end.
    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        Some(RetryPolicy::at_ticks(config.resend_ms, config.period_ms))
    }

    // Every server ticks every period from its start, owing something or not, and a tick sends
    // at most one batch to each neighbour (fewer than the servers). Clients run no rounds.
    fn rounds(config: &Config, cluster: &Cluster) -> Option<Rounds> {
        let servers = config.common().spec(cluster).servers.clone();
        let per_round = u32::try_from(servers.len().saturating_sub(1)).unwrap_or(u32::MAX);
        Some(Rounds {
            period_ns: ns(config.period_ms),
            per_round,
            every_period: true,
            opens_every_round: false,
            exchange: None,
            nodes: Some(servers),
        })
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Node<Gossip> {
        let spec = config.common().spec(&scenario.cluster);
        let (period_ns, resend_ns) = (ns(config.period_ms), ns(config.resend_ms));
        let ack_only_new = config.bug == Some(GossipBug::AckOnlyNew);
        move |me| {
            Node::new(&spec, me, |neighbours| Gossip {
                owed: vec![Owed::new(); neighbours.len()],
                neighbours,
                period_ns,
                resend_ns,
                ack_only_new,
            })
        }
    }
}

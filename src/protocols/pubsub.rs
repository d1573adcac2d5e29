//! Publish/subscribe through a broker: subscribers subscribe to topics and unsubscribe at scheduled times, publishers publish to topics, the broker forwards each publication to the topic's current subscribers.
//!
//! A topic is one of the scenario's groups, named by the workload's destination: a command
//! `to: "news", send: Multicast` publishes to topic `news`. The group's members mean nothing to
//! the broker (they are only the recipients the workload syntax asks for); who receives a
//! publication is decided by the subscriptions, which the protocol's configuration schedules:
//! each names a node, a topic and an interval `[from_ms, until_ms)`. At `from_ms` the node sends
//! `Subscribe` to the broker, at `until_ms` `Unsubscribe` (on its own clock); a node restarted
//! within an interval subscribes again at once. A publisher sends the publication to the
//! broker, which forwards it to every node subscribed to its topic when it arrives (the
//! publisher excluded); a subscriber delivers what it is forwarded. The broker keeps its
//! subscriptions in memory only: one that crashes restarts knowing none (transient, not
//! durable). Nothing is retransmitted: the protocol relies on reliable links.
//!
//! A publication and a subscription change race only within the link latency; `PubSubDelivery`
//! judges every publication outside that margin. `unsubscribe: false` is the broken variant: the
//! broker ignores unsubscriptions and goes on forwarding, which `PubSubDelivery` catches
//! (`scenarios/canon/broken-pubsub-unsubscribe.ron`).

use super::{field, ns};
use crate::id::{GroupId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Cluster, Command, Ctx, Dest, Incoming, Message, Payload, Process};
use crate::scenario::file::Number;
use crate::scenario::{ConfigCx, Scenario, Seg};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// What travels between publishers, the broker and subscribers.
#[derive(Clone, Debug)]
pub enum PubSubMsg {
    /// A subscriber asks the broker for `topic`'s publications.
    Subscribe(GroupId),
    /// A subscriber asks the broker to stop.
    Unsubscribe(GroupId),
    /// A publisher hands the broker a publication.
    Publish {
        /// The publication.
        payload: Payload,
        /// The topic it is published on: the group its subscribers join.
        topic: GroupId,
    },
    /// The broker passes a publication to a subscriber.
    Forward(Payload),
}

/// Header bytes: kind, topic, checksum.
const HEADER_BYTES: u32 = 16;

impl Message for PubSubMsg {
    fn wire_size(&self) -> u32 {
        match self {
            PubSubMsg::Publish { payload, .. } | PubSubMsg::Forward(payload) => HEADER_BYTES.saturating_add(payload.size_bytes),
            PubSubMsg::Subscribe(_) | PubSubMsg::Unsubscribe(_) => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        if let PubSubMsg::Publish { payload, .. } | PubSubMsg::Forward(payload) = self {
            payload.corrupt();
        }
    }
}

/// One scheduled subscription, resolved: `node` subscribed to `topic` from `from_ns` until
/// `until_ns` (`u64::MAX`: to the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// The subscriber.
    pub node: NodeId,
    /// The topic (a group).
    pub topic: GroupId,
    /// When it subscribes.
    pub from_ns: u64,
    /// When it unsubscribes.
    pub until_ns: u64,
}

/// A subscription timer: subscribe (`true`) or unsubscribe to a topic.
#[derive(Clone, Copy, Debug)]
pub struct Change {
    topic: GroupId,
    subscribe: bool,
}

/// One node's process: publisher, subscriber and, on the broker's node, the broker.
pub struct PubSub {
    broker: NodeId,
    honour_unsubscribe: bool,
    /// This node's own scheduled subscriptions.
    mine: Vec<Subscription>,
    /// At the broker: each topic's current subscribers.
    subscribers: BTreeMap<GroupId, BTreeSet<NodeId>>,
}

impl PubSub {
    fn change(&mut self, ctx: &mut Ctx<'_, PubSubMsg, Change>, Change { topic, subscribe }: Change) {
        let msg = if subscribe { PubSubMsg::Subscribe(topic) } else { PubSubMsg::Unsubscribe(topic) };
        ctx.send(self.broker, msg);
    }

    /// At the broker: forward a publication to the topic's subscribers but its publisher.
    fn forward(&mut self, ctx: &mut Ctx<'_, PubSubMsg, Change>, payload: Payload, topic: GroupId) {
        let Some(subs) = self.subscribers.get(&topic) else { return };
        for &to in subs {
            if to != payload.origin {
                ctx.send(to, PubSubMsg::Forward(payload));
            }
        }
    }
}

impl Process for PubSub {
    type Msg = PubSubMsg;
    type Timer = Change;

    fn on_start(&mut self, ctx: &mut Ctx<'_, PubSubMsg, Change>) {
        let now = ctx.now().0;
        for s in self.mine.clone() {
            if s.from_ns > now {
                ctx.set_timer(s.from_ns - now, Change { topic: s.topic, subscribe: true });
            } else if s.until_ns > now {
                // Restarted within the interval: the broker may have dropped us (or never seen us).
                self.change(ctx, Change { topic: s.topic, subscribe: true });
            }
            if s.until_ns != u64::MAX && s.until_ns > now {
                ctx.set_timer(s.until_ns - now, Change { topic: s.topic, subscribe: false });
            }
        }
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, PubSubMsg, Change>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        // Only a group names a topic; a command to a node or to all publishes nothing.
        let Dest::Group(topic) = dest else { return };
        if ctx.me() == self.broker {
            self.forward(ctx, payload, topic);
        } else {
            ctx.send(self.broker, PubSubMsg::Publish { payload, topic });
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PubSubMsg, Change>, incoming: Incoming<PubSubMsg>) {
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        match incoming.msg {
            PubSubMsg::Subscribe(topic) => {
                self.subscribers.entry(topic).or_default().insert(from);
            }
            PubSubMsg::Unsubscribe(topic) => {
                if self.honour_unsubscribe
                    && let Some(subs) = self.subscribers.get_mut(&topic)
                {
                    subs.remove(&from);
                }
            }
            PubSubMsg::Publish { payload, topic } => self.forward(ctx, payload, topic),
            PubSubMsg::Forward(payload) => ctx.deliver(payload),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PubSubMsg, Change>, change: Change) {
        self.change(ctx, change);
    }
}

/// `PubSub(broker: "b", subscriptions: [(node: "s1", topic: "news", from_ms: 0, until_ms: 500)])`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "PubSub", deny_unknown_fields)]
pub struct Config {
    /// The node that hosts the broker.
    pub broker: String,
    /// Who subscribes to what, and when.
    pub subscriptions: Vec<SubscriptionFile>,
    /// Whether the broker honours unsubscriptions (`false`: the broken variant).
    #[serde(default = "yes")]
    pub unsubscribe: bool,
}

fn yes() -> bool {
    true
}

/// One subscription as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "subscription", deny_unknown_fields)]
pub struct SubscriptionFile {
    /// The subscriber.
    pub node: String,
    /// The topic: a group's name.
    pub topic: String,
    /// When it subscribes.
    pub from_ms: Number,
    /// When it unsubscribes; absent: never.
    #[serde(default)]
    pub until_ms: Option<Number>,
}

/// A subscription's interval in ns and its index in the configuration.
type Span = (u64, u64, usize);

/// The publish/subscribe protocol, as scenarios name it.
pub struct PubSubProtocol;

impl PubSubProtocol {
    /// The configuration's broker and subscriptions resolved against the cluster (validation
    /// has checked every name).
    pub fn schedule(config: &Config, cluster: &Cluster) -> (NodeId, Vec<Subscription>) {
        let broker = cluster.id(&config.broker).unwrap_or(NodeId(0));
        let subs = config
            .subscriptions
            .iter()
            .filter_map(|s| {
                let node = cluster.id(&s.node)?;
                let topic = cluster.groups.iter().position(|(name, _)| *name == s.topic)?;
                Some(Subscription { node, topic: GroupId(topic as u32), from_ns: ns(s.from_ms), until_ns: s.until_ms.map_or(u64::MAX, ns) })
            })
            .collect();
        (broker, subs)
    }
}

impl Protocol for PubSubProtocol {
    const NAME: &'static str = "PubSub";
    type Config = Config;
    type Process = PubSub;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        let broker = cx.node(&[field("broker")], &config.broker);
        // Per (node, topic): each subscription's interval and index, to find overlaps.
        let mut seen: BTreeMap<(&str, &str), Vec<Span>> = BTreeMap::new();
        for (i, s) in config.subscriptions.iter().enumerate() {
            let at = |f| [field("subscriptions"), Seg::Index(i), field(f)];
            let node = cx.node(&at("node"), &s.node);
            if node.is_some() && node == broker {
                cx.error(&at("node"), "the broker subscribing to a topic", "a node other than the broker".to_string());
            }
            if !cx.cluster().groups.iter().any(|(name, _)| *name == s.topic) {
                cx.error(&at("topic"), format!("unknown topic `{}`", s.topic), "the name of one of the scenario's groups".to_string());
            }
            let from = cx.millis(&at("from_ms"), s.from_ms);
            let until = match s.until_ms {
                Some(u) => cx.millis(&at("until_ms"), u),
                None => Some(u64::MAX),
            };
            if let (Some(from), Some(until)) = (from, until) {
                if until <= from {
                    cx.error(&at("until_ms"), "a subscription that ends before it begins", "a time after `from_ms`".to_string());
                } else {
                    seen.entry((&s.node, &s.topic)).or_default().push((from, until, i));
                }
            }
        }
        for ((node, topic), mut spans) in seen {
            spans.sort_unstable();
            for w in spans.windows(2) {
                if w[1].0 < w[0].1 {
                    cx.error(
                        &[field("subscriptions"), Seg::Index(w[1].2), field("from_ms")],
                        format!("{node}'s subscriptions to `{topic}` overlap"),
                        "one subscription of a node to a topic at a time".to_string(),
                    );
                }
            }
        }
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> PubSub {
        let (broker, subs) = PubSubProtocol::schedule(config, &scenario.cluster);
        let honour_unsubscribe = config.unsubscribe;
        move |me| PubSub {
            broker,
            honour_unsubscribe,
            mine: subs.iter().filter(|s| s.node == me).copied().collect(),
            subscribers: BTreeMap::new(),
        }
    }
}

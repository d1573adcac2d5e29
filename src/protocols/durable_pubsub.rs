//! `DurablePubSub`: publish/subscribe through a broker that keeps its subscriptions and undelivered publications in stable storage, so that what it acknowledged outlives its crashes.
//!
//! Persistent publish/subscribe. Subscriptions are scheduled as in `PubSub` (a node, a topic,
//! an interval `[from_ms, until_ms)`), and topics are the scenario's groups. Unlike `PubSub`,
//! every step is acknowledged and retransmitted until it is:
//! - a subscriber sends `Subscribe` (and later `Unsubscribe`) as the attempts of a
//!   retransmission series (`attempt` lines; the series is the subscription's index in the
//!   configuration, with bit 32 set for an unsubscription) until the broker confirms it with an
//!   `ack` line: from then on the broker has recorded the subscription; the broker keeps each
//!   subscription's state, so an ended one stays ended even if its `Subscribe` arrives later
//!   (overtaken on a reordering link: `scenarios/canon/durable-pubsub-reorder.ron`);
//! - a publisher sends each publication to the broker until the broker says it is kept, which
//!   the publisher records as a `call .. ok` line (its request answered): the promise
//!   `NoAckedPublicationLoss` holds the broker to;
//! - the broker forwards each publication to every node subscribed to its topic when the
//!   publication is recorded (its publisher excluded), and resends it to each until that
//!   subscriber answers `Got`; a subscriber delivers a publication the first time it gets it.
//!
//! Every one of these retransmissions is a series of attempts (`attempt` lines) ended by its
//! `ack` (the broker's `Confirmed` or `Kept`, a subscriber's `Got`), all under the one policy
//! the protocol declares, a constant `resend_ms`, so `RetryBackoff` judges every sender's waits
//! and that it stops once acknowledged. A publication's series, from its publisher and from
//! the broker to each subscriber, is its number with bit 63 set ([`PUBLICATION`]).
//!
//! What the broker does between receiving a change and acknowledging it is the protocol,
//! chosen by `storage` (as in `DurableQueue`):
//! - `Durable`: every change (a subscription, an unsubscription, a publication, a
//!   subscriber's `Got`) is appended to the broker's disk ([`crate::stable`]), a write taking
//!   `write_ms`, and takes effect, and is acknowledged, only once written. A restarted broker
//!   replays its log: its subscriptions are back, and every publication some subscriber has
//!   not answered is resent to it. Nothing acknowledged is lost; a publication forwarded just
//!   before a crash may arrive twice (a subscriber forgets what it delivered when it crashes).
//! - `AckBeforePersist`: the broken variant. It writes the same records but acknowledges each
//!   change as it arrives: a crash within `write_ms` of acknowledging a publication loses it
//!   (it was never written, so never forwarded), and its publisher, told it was kept, never
//!   sends it again. `scenarios/canon/broken-durable-pubsub.ron`.
//! - `Transient`: memory only, every change in effect and acknowledged at once. Honest while
//!   the broker lives; a crash loses every subscription and every publication not yet
//!   answered, and subscribers, told they were subscribed, do not subscribe again.

use super::durable_queue::Storage;
use super::pubsub::{Config as PubSubConfig, PubSubProtocol, Subscription, SubscriptionFile};
use super::{field, ns};
use crate::id::{AppId, GroupId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Dest, Incoming, Message, Payload, Process, map_bytes};
use crate::scenario::file::Number;
use crate::scenario::{ConfigCx, RetryPolicy, Scenario};
use crate::stable::{Disk, StableStorage};
use crate::time::SimTime;
use crate::trace::CallOutcome;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Set in a series number for an unsubscription; the low 32 bits are the subscription's index.
pub const UNSUBSCRIBE: u64 = 1 << 32;

/// Set in a series number for a publication's transmissions; the other bits are its number.
pub const PUBLICATION: u64 = 1 << 63;

/// The retransmission series of publication `app`, apart from every subscription's.
fn publication_series(app: AppId) -> u64 {
    app.0 | PUBLICATION
}

/// The protocol's parameters, resolved.
#[derive(Clone, Debug)]
pub struct Spec {
    broker: NodeId,
    subscriptions: Vec<Subscription>,
    storage: Storage,
    write_ns: u64,
    resend_ns: u64,
}

/// What travels between publishers, the broker and subscribers.
#[derive(Clone, Debug)]
pub enum Wire {
    /// Subscriber to broker: subscribe.
    Subscribe {
        /// The topic.
        topic: GroupId,
        /// The retransmission series: the subscription's index in the configuration.
        series: u64,
    },
    /// Subscriber to broker: unsubscribe.
    Unsubscribe {
        /// The topic.
        topic: GroupId,
        /// The retransmission series: the subscription's index, with bit 32 set.
        series: u64,
    },
    /// Broker to subscriber: the (un)subscription `series` is recorded.
    Confirmed(u64),
    /// Publisher to broker: a publication.
    Publish {
        /// What is published.
        payload: Payload,
        /// The topic it is published to.
        topic: GroupId,
    },
    /// Broker to publisher: the publication is kept.
    Kept(AppId),
    /// Broker to subscriber: a publication.
    Forward(Payload),
    /// Subscriber to broker: the publication arrived.
    Got(AppId),
}

/// Header bytes: kind, topic or id, checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Publish { payload, .. } | Wire::Forward(payload) => HEADER_BYTES.saturating_add(payload.size_bytes),
            _ => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        if let Wire::Publish { payload, .. } | Wire::Forward(payload) = self {
            payload.corrupt();
        }
    }
}

/// What a timer carries back to the process.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    /// Subscriber: a scheduled subscription begins or ends.
    Change {
        /// The subscription's index in the configuration.
        index: usize,
        /// Whether it begins (`true`) or ends.
        subscribe: bool,
    },
    /// Subscriber: send (un)subscription `series` again unless it was confirmed.
    Retry(u64),
    /// Publisher: send the publication again unless it was kept.
    Republish(AppId),
    /// Broker: forward the publication to the subscriber again unless it answered.
    Reforward(NodeId, AppId),
    /// Broker: write `u64` reached the disk.
    Written(u64),
}

/// One record of the broker's log: a change to its state.
#[derive(Clone, Copy, Debug)]
pub enum Record {
    /// The node's subscription (its index in the configuration) to the topic began.
    Subscribed(NodeId, GroupId, u64),
    /// The node's subscription (its index) to the topic ended, for good: a `Subscribe` of
    /// it that arrives later (overtaken by its `Unsubscribe` on a reordering link) is
    /// confirmed and has no effect.
    Unsubscribed(NodeId, GroupId, u64),
    /// A publication to the topic: owed to the topic's subscribers of the moment.
    Published(Payload, GroupId),
    /// The subscriber got the publication.
    Delivered(NodeId, AppId),
}

/// Broker: where a subscription stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SeriesState {
    /// Subscribed: the topic's publications are owed to the node.
    Active,
    /// Unsubscribed, for good.
    Ended,
}

/// The acknowledgement a change earns.
#[derive(Clone, Copy, Debug)]
enum Reply {
    /// To a publisher (possibly the broker's own node): the publication is kept.
    Kept(NodeId, AppId),
    /// To a subscriber: its (un)subscription series is recorded.
    Confirmed(NodeId, u64),
}

/// One node's process: publisher, subscriber and, on the broker's node, the broker.
pub struct DurablePubSub {
    spec: Arc<Spec>,
    /// The broker's disk; `None` elsewhere and when transient.
    disk: Option<Disk<Record>>,
    /// Publisher: publications not yet kept, with their topic, when first sent (local time)
    /// and the attempt last sent.
    unkept: BTreeMap<AppId, (Payload, GroupId, SimTime, u32)>,
    /// Subscriber: (un)subscriptions not yet confirmed, with the attempt last sent.
    unconfirmed: BTreeMap<u64, u32>,
    /// Subscriber: publications delivered (since this process started).
    delivered: BTreeSet<AppId>,
    /// Broker: each subscription it heard of, by subscriber and index: its topic, and whether
    /// it ended. Kept per subscription rather than per topic so that a late `Subscribe`, or
    /// one of a node's other subscriptions to the same topic, cannot undo an unsubscription.
    series: BTreeMap<(NodeId, u64), (GroupId, SeriesState)>,
    /// Broker: every publication received, to answer a publisher's retransmissions.
    seen: BTreeSet<AppId>,
    /// Broker: publications each subscriber has not answered, with their topic and the
    /// attempt last forwarded (0 before the first).
    pending: BTreeMap<(NodeId, AppId), (Payload, GroupId, u32)>,
    /// Broker: writes on their way to the disk, with the acknowledgement each earns.
    writing: BTreeMap<u64, (Record, Option<Reply>)>,
    next_write: u64,
}

impl DurablePubSub {
    fn new(spec: Arc<Spec>, disk: Option<Disk<Record>>) -> DurablePubSub {
        DurablePubSub {
            spec,
            disk,
            unkept: BTreeMap::new(),
            unconfirmed: BTreeMap::new(),
            delivered: BTreeSet::new(),
            series: BTreeMap::new(),
            seen: BTreeSet::new(),
            pending: BTreeMap::new(),
            writing: BTreeMap::new(),
            next_write: 0,
        }
    }

    /// Broker: make `record` take effect; returns the forwards it owes now.
    fn apply(&mut self, record: Record) -> Vec<(NodeId, Payload)> {
        match record {
            Record::Subscribed(node, topic, index) => {
                self.series.entry((node, index)).or_insert((topic, SeriesState::Active));
            }
            Record::Unsubscribed(node, topic, index) => {
                self.series.insert((node, index), (topic, SeriesState::Ended));
                if !self.subscribed(node, topic) {
                    self.pending.retain(|&(to, _), &mut (_, t, _)| !(to == node && t == topic));
                }
            }
            Record::Published(payload, topic) => {
                self.seen.insert(payload.id);
                let mut owed: Vec<NodeId> = self
                    .series
                    .iter()
                    .filter(|&(&(node, _), &(t, state))| t == topic && state == SeriesState::Active && node != payload.origin)
                    .map(|(&(node, _), _)| node)
                    .collect();
                owed.dedup(); // a node's subscriptions are adjacent in the map
                for &to in &owed {
                    self.pending.insert((to, payload.id), (payload, topic, 0));
                }
                return owed.into_iter().map(|to| (to, payload)).collect();
            }
            Record::Delivered(node, app) => {
                self.pending.remove(&(node, app));
            }
        }
        Vec::new()
    }

    /// Broker: the next attempt of forwarding `payload` to `to`.
    fn forward(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, to: NodeId, payload: Payload) {
        let Some((_, _, attempt)) = self.pending.get_mut(&(to, payload.id)) else { return };
        *attempt = attempt.saturating_add(1);
        ctx.send_attempt(to, Wire::Forward(payload), publication_series(payload.id), *attempt);
        ctx.set_timer(self.spec.resend_ns, Timer::Reforward(to, payload.id));
    }

    /// Broker: whether `to`'s answer to publication `app` is on its way to the disk (it got
    /// it: no more forwards, unless a crash loses the record).
    fn answered(&self, to: NodeId, app: AppId) -> bool {
        self.writing.values().any(|(r, _)| matches!(*r, Record::Delivered(n, a) if n == to && a == app))
    }

    fn reply(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, reply: Reply) {
        match reply {
            Reply::Kept(publisher, app) if publisher == ctx.me() => self.kept(ctx, app),
            Reply::Kept(publisher, app) => ctx.send_ack(publisher, Wire::Kept(app), publication_series(app)),
            Reply::Confirmed(subscriber, series) => ctx.send_ack(subscriber, Wire::Confirmed(series), series),
        }
    }

    /// Broker: record `record` as the storage mode says: in effect and acknowledged at once
    /// (transient), acknowledged at once and in effect once written (the broken variant), or
    /// both once written (durable).
    fn write(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, record: Record, reply: Option<Reply>) {
        let reply_after = match self.spec.storage {
            Storage::Transient => {
                for (to, payload) in self.apply(record) {
                    self.forward(ctx, to, payload);
                }
                if let Some(reply) = reply {
                    self.reply(ctx, reply);
                }
                return;
            }
            Storage::AckBeforePersist => {
                if let Some(reply) = reply {
                    self.reply(ctx, reply);
                }
                None
            }
            Storage::Durable => reply,
        };
        self.next_write += 1;
        self.writing.insert(self.next_write, (record, reply_after));
        ctx.set_timer(self.spec.write_ns, Timer::Written(self.next_write));
    }

    /// Broker: whether `node` has a subscription to `topic` in effect.
    fn subscribed(&self, node: NodeId, topic: GroupId) -> bool {
        self.series.range((node, 0)..=(node, u64::MAX)).any(|(_, &(t, state))| t == topic && state == SeriesState::Active)
    }

    /// Broker: whether a write about `node`'s subscription `index` is on its way to disk.
    fn changing(&self, node: NodeId, index: u64) -> bool {
        self.writing
            .values()
            .any(|(r, _)| matches!(*r, Record::Subscribed(n, _, i) | Record::Unsubscribed(n, _, i) if n == node && i == index))
    }

    /// Broker: a subscriber asks that its subscription `series` to `topic` begin (`subscribe`)
    /// or end.
    fn subscription(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, from: NodeId, topic: GroupId, series: u64, subscribe: bool) {
        let index = series & (UNSUBSCRIBE - 1);
        if self.changing(from, index) {
            // A durable broker answers once the change is written; one that answers before
            // writing answered the first copy of this very change at once, and answers its
            // every copy alike (a change of the other kind waits for this one's write).
            let asked = |r: &Record| match *r {
                Record::Subscribed(n, _, i) => subscribe && (n, i) == (from, index),
                Record::Unsubscribed(n, _, i) => !subscribe && (n, i) == (from, index),
                _ => false,
            };
            if self.spec.storage != Storage::Durable && self.writing.values().any(|(r, _)| asked(r)) {
                ctx.send_ack(from, Wire::Confirmed(series), series);
            }
            return;
        }
        let state = self.series.get(&(from, index)).map(|&(_, state)| state);
        // A subscription that ended stays ended: its late `Subscribe` is confirmed, to stop
        // the retries, and changes nothing.
        let done = if subscribe { state.is_some() } else { state == Some(SeriesState::Ended) };
        if done {
            ctx.send_ack(from, Wire::Confirmed(series), series);
        } else {
            let record = if subscribe { Record::Subscribed(from, topic, index) } else { Record::Unsubscribed(from, topic, index) };
            self.write(ctx, record, Some(Reply::Confirmed(from, series)));
        }
    }

    /// Broker: a publication arrived (from `from`, or from the broker's own node).
    fn publication(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, from: NodeId, payload: Payload, topic: GroupId) {
        let app = payload.id;
        if !self.seen.contains(&app) {
            self.seen.insert(app);
            self.write(ctx, Record::Published(payload, topic), Some(Reply::Kept(from, app)));
        } else if self.spec.storage != Storage::Durable
            || !self.writing.values().any(|(r, _)| matches!(*r, Record::Published(p, _) if p.id == app))
        {
            // Every copy is answered: at once, unless a durable broker is still writing it
            // (then the write's end answers it).
            self.reply(ctx, Reply::Kept(from, app));
        }
    }

    /// Publisher: the broker kept publication `app`.
    fn kept(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, app: AppId) {
        if let Some((_, _, sent, _)) = self.unkept.remove(&app) {
            ctx.call_outcome(app, CallOutcome::Ok, ctx.now().0.saturating_sub(sent.0));
        }
    }

    /// Subscriber: send attempt `attempt` of (un)subscription `series` and wait for its confirmation.
    fn attempt(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, series: u64, attempt: u32) {
        let sub = self.spec.subscriptions[(series & (UNSUBSCRIBE - 1)) as usize];
        let msg = if series & UNSUBSCRIBE == 0 {
            Wire::Subscribe { topic: sub.topic, series }
        } else {
            Wire::Unsubscribe { topic: sub.topic, series }
        };
        self.unconfirmed.insert(series, attempt);
        ctx.send_attempt(self.spec.broker, msg, series, attempt);
        ctx.set_timer(self.spec.resend_ns, Timer::Retry(series));
    }

    /// Subscriber: subscription `index` begins or ends now.
    fn change(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, index: usize, subscribe: bool) {
        let index = index as u64;
        if subscribe {
            self.attempt(ctx, index, 1);
        } else {
            self.unconfirmed.remove(&index);
            self.attempt(ctx, index | UNSUBSCRIBE, 1);
        }
    }
}

impl Process for DurablePubSub {
    type Msg = Wire;
    type Timer = Timer;
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        // `series` is left out: it grows with the subscriptions the scenario declares.
        [
            map_bytes::<AppId, (Payload, GroupId, SimTime, u32)>(self.unkept.len()),
            map_bytes::<u64, u32>(self.unconfirmed.len()),
            map_bytes::<AppId, ()>(self.delivered.len()),
            map_bytes::<AppId, ()>(self.seen.len()),
            map_bytes::<(NodeId, AppId), (Payload, GroupId, u32)>(self.pending.len()),
            map_bytes::<u64, (Record, Option<Reply>)>(self.writing.len()),
            self.disk.as_ref().map_or(0, Disk::heap_bytes),
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Wire, Timer>) {
        let (me, now) = (ctx.me(), ctx.now().0);
        if me == self.spec.broker {
            if let Some(disk) = &self.disk {
                for record in disk.records() {
                    self.apply(record);
                }
            }
            // Everything owed and unanswered goes out again.
            let owed: Vec<(NodeId, Payload)> = self.pending.iter().map(|(&(to, _), &(p, _, _))| (to, p)).collect();
            for (to, payload) in owed {
                self.forward(ctx, to, payload);
            }
        }
        let spec = Arc::clone(&self.spec);
        for (index, s) in spec.subscriptions.iter().enumerate().filter(|(_, s)| s.node == me) {
            if s.from_ns > now {
                ctx.set_timer(s.from_ns - now, Timer::Change { index, subscribe: true });
            } else if s.until_ns > now {
                // Restarted within the interval: make sure the broker has us.
                self.change(ctx, index, true);
            } else {
                // Restarted after the interval: it may have ended while this node was down,
                // its unsubscription never sent; make sure the broker ended it.
                self.change(ctx, index, false);
            }
            if s.until_ns != u64::MAX && s.until_ns > now {
                ctx.set_timer(s.until_ns - now, Timer::Change { index, subscribe: false });
            }
        }
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        // Only a group names a topic; a command to a node or to all publishes nothing.
        let Dest::Group(topic) = dest else { return };
        self.unkept.insert(payload.id, (payload, topic, ctx.now(), 1));
        let me = ctx.me();
        if me == self.spec.broker {
            self.publication(ctx, me, payload, topic);
        } else {
            ctx.send_attempt(self.spec.broker, Wire::Publish { payload, topic }, publication_series(payload.id), 1);
            ctx.set_timer(self.spec.resend_ns, Timer::Republish(payload.id));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, incoming: Incoming<Wire>) {
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        match incoming.msg {
            Wire::Subscribe { topic, series } => self.subscription(ctx, from, topic, series, true),
            Wire::Unsubscribe { topic, series } => self.subscription(ctx, from, topic, series, false),
            Wire::Confirmed(series) => {
                self.unconfirmed.remove(&series);
            }
            Wire::Publish { payload, topic } => self.publication(ctx, from, payload, topic),
            Wire::Kept(app) => self.kept(ctx, app),
            Wire::Forward(payload) => {
                if self.delivered.insert(payload.id) {
                    ctx.deliver(payload);
                }
                ctx.send_ack(from, Wire::Got(payload.id), publication_series(payload.id));
            }
            Wire::Got(app) => {
                if self.pending.contains_key(&(from, app)) && !self.answered(from, app) {
                    self.write(ctx, Record::Delivered(from, app), None);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, timer: Timer) {
        match timer {
            Timer::Change { index, subscribe } => self.change(ctx, index, subscribe),
            Timer::Retry(series) => {
                if let Some(&attempt) = self.unconfirmed.get(&series) {
                    self.attempt(ctx, series, attempt.saturating_add(1));
                }
            }
            Timer::Republish(app) => {
                if let Some((payload, topic, _, attempt)) = self.unkept.get_mut(&app) {
                    *attempt = attempt.saturating_add(1);
                    let (payload, topic) = (*payload, *topic);
                    ctx.send_attempt(self.spec.broker, Wire::Publish { payload, topic }, publication_series(app), *attempt);
                    ctx.set_timer(self.spec.resend_ns, Timer::Republish(app));
                }
            }
            Timer::Reforward(to, app) => {
                if let Some(&(payload, _, _)) = self.pending.get(&(to, app))
                    && !self.answered(to, app)
                {
                    self.forward(ctx, to, payload);
                }
            }
            Timer::Written(write) => {
                if let Some((record, reply)) = self.writing.remove(&write) {
                    if let Some(disk) = &self.disk {
                        disk.append(record);
                    }
                    for (to, payload) in self.apply(record) {
                        self.forward(ctx, to, payload);
                    }
                    if let Some(reply) = reply {
                        self.reply(ctx, reply);
                    }
                }
            }
        }
    }
}

/// `DurablePubSub(broker: "b", subscriptions: [..], storage: Durable, write_ms: 3, resend_ms: 20)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "DurablePubSub", deny_unknown_fields)]
pub struct Config {
    /// The node that hosts the broker.
    pub broker: String,
    /// Who subscribes to what, and when (as in `PubSub`).
    pub subscriptions: Vec<SubscriptionFile>,
    /// How the broker keeps its state; `Durable` unless given.
    #[serde(default = "durable")]
    pub storage: Storage,
    /// How long a write to stable storage takes.
    #[serde(default = "default_write_ms")]
    pub write_ms: Number,
    /// How long anyone waits for an acknowledgement before sending again.
    #[serde(default = "default_resend_ms")]
    pub resend_ms: Number,
}

fn durable() -> Storage {
    Storage::Durable
}

fn default_write_ms() -> Number {
    Number(2.0)
}

fn default_resend_ms() -> Number {
    Number(20.0)
}

impl Config {
    /// The same broker and subscriptions as a `PubSub` configuration, whose validation and
    /// schedule this protocol shares.
    fn as_pubsub(&self) -> PubSubConfig {
        PubSubConfig { broker: self.broker.clone(), subscriptions: self.subscriptions.clone(), unsubscribe: true }
    }
}

/// The durable publish/subscribe broker, as scenarios name it.
pub struct DurablePubSubProtocol;

impl DurablePubSubProtocol {
    /// The broker and the subscriptions, resolved (validation has checked every name): index
    /// i of the list is series i of the subscribers' `attempt` lines.
    pub fn schedule(config: &Config, scenario: &Scenario) -> (NodeId, Vec<Subscription>) {
        PubSubProtocol::schedule(&config.as_pubsub(), &scenario.cluster)
    }
}

impl Protocol for DurablePubSubProtocol {
    const NAME: &'static str = "DurablePubSub";
    type Config = Config;
    type Process = DurablePubSub;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        <PubSubProtocol as Protocol>::validate(&config.as_pubsub(), cx);
        cx.millis(&[field("write_ms")], config.write_ms);
        cx.positive_millis(&[field("resend_ms")], config.resend_ms, "`resend_ms` of zero");
    }

    /// Every retransmission (a subscriber's (un)subscriptions, a publisher's publications, the
    /// broker's forwards): one every `resend_ms` until acknowledged, without end and without
    /// jitter.
    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        Some(RetryPolicy::constant(config.resend_ms))
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> DurablePubSub {
        let (broker, subscriptions) = DurablePubSubProtocol::schedule(config, scenario);
        let spec = Arc::new(Spec {
            broker,
            subscriptions,
            storage: config.storage,
            write_ns: ns(config.write_ms),
            resend_ns: ns(config.resend_ms),
        });
        // One disk per node for this run; only the broker's is used, and only when it persists.
        let storage = StableStorage::new(scenario.cluster.len());
        move |me| {
            let disk = (me == spec.broker && spec.storage != Storage::Transient).then(|| storage.disk(me));
            DurablePubSub::new(Arc::clone(&spec), disk)
        }
    }
}

//! `DurableQueue`: a work queue whose broker keeps its tasks in stable storage across its own crashes, with a dead-letter queue for poison messages and a scheduled redrive.
//!
//! Persistent versus transient communication. Producers send each task to the broker and
//! resend it until the broker acknowledges it; the producer records the acknowledgement as a
//! `call .. ok` line (its request to the queue answered), the promise the `NoAckedLoss` check
//! holds the broker to. What the broker does between receiving a task and acknowledging it is
//! the protocol, chosen by `storage`:
//! - `Durable`: the broker appends every change of its queue to its node's disk
//!   ([`crate::stable`]), a write taking `write_ms`, and acknowledges a task only once the
//!   record of it is on disk. A restarted broker replays its log: every task queued and not
//!   done is queued again (a task handed out when it crashed is handed out again: at least
//!   once, never lost), and the dead-letter queue and delivery counts are as they were.
//! - `AckBeforePersist`: the broken variant. It writes the same records but acknowledges a
//!   task as it arrives, so a crash within `write_ms` of an acknowledgement loses the task
//!   the producer was told was safe.
//! - `Transient`: memory only. Acknowledging at once is then honest only while the broker
//!   lives: a crash loses every task it held.
//!
//! The broker hands each queued task to an idle consumer (one at a time per consumer, the one
//! idle longest first), each hand-out an `attempt` line naming the task (its series) and its
//! delivery number since it was queued or redriven. A consumer works on it for `work_ms` and then either processes it, a
//! `deliver` line (the application's effect), and acknowledges it, or fails to: a task whose
//! number is in `poison` fails every time (before `poison_until_ms` on the consumer's clock,
//! when the fix is deployed, if given), and the consumer reports the failure. A failure, or a
//! hand-out whose visibility (`visibility_ms`) expires without an answer, is a failed
//! delivery: the task goes back to the head of the queue, unless it has now failed
//! `max_deliveries` times, when the broker moves it to the dead-letter queue instead (a
//! `dead` line: `msgsim trace --kind dead` lists them, the report counts them). At
//! `redrive_ms` (the broker's clock) the dead-letter queue is moved back to the tail of the
//! queue with fresh delivery counts. Without `max_deliveries` a poison message is redelivered
//! forever at the head of the queue and holds a consumer for good: the broken variant
//! `DeadLetterBounded` catches.

use super::{field, ns};
use crate::id::{AppId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Message, Payload, Process, capacity_bytes, map_bytes};
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, Scenario, Seg};
use crate::stable::{Disk, StableStorage};
use crate::time::SimTime;
use crate::trace::CallOutcome;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// What the broker does with its queue: persist it before acknowledging, after, or never.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Storage {
    /// Every change written to stable storage; a task acknowledged once its record is written.
    Durable,
    /// The broken variant: written, but acknowledged before the write completes.
    AckBeforePersist,
    /// Memory only: what the broker holds dies with it.
    Transient,
}

/// The protocol's parameters, resolved.
#[derive(Clone, Debug)]
pub struct Spec {
    broker: NodeId,
    consumers: Vec<NodeId>,
    storage: Storage,
    write_ns: u64,
    work_ns: u64,
    visibility_ns: u64,
    resend_ns: u64,
    max_deliveries: Option<u32>,
    poison: BTreeSet<u64>,
    poison_until_ns: u64,
    redrive_ns: Option<u64>,
}

/// What travels between producers, the broker and consumers.
#[derive(Clone, Debug)]
pub enum Wire {
    /// Producer to broker, or broker to consumer.
    Task(Payload),
    /// Broker to producer: the task is queued (on disk, if durable). Consumer to broker: processed.
    Ack(AppId),
    /// Consumer to broker: processing the task failed.
    Failed(AppId),
}

/// Header bytes: kind, id, checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Task(p) => HEADER_BYTES.saturating_add(p.size_bytes),
            Wire::Ack(_) | Wire::Failed(_) => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        if let Wire::Task(p) = self {
            p.corrupt();
        }
    }
}

/// What a timer carries back to the process.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    /// Producer: send the task again unless it was acknowledged.
    Resend(AppId),
    /// Broker: hand-out `u64` of the task was not answered in time.
    Visibility(AppId, u64),
    /// Broker: write `u64` reached the disk.
    Written(u64),
    /// Broker: move the dead-letter queue back to the queue.
    Redrive,
    /// Consumer: the work on the task is over.
    Done(Payload),
}

/// One record of the broker's log: a change to its queue.
#[derive(Clone, Copy, Debug)]
pub enum Record {
    /// A task entered the queue.
    Queued(Payload),
    /// A consumer processed the task: it leaves the queue.
    Done(AppId),
    /// A delivery of the task failed (an error or an expired visibility).
    Failed(AppId),
    /// The task moved to the dead-letter queue.
    Dead(AppId),
    /// The dead-letter queue moved back to the queue.
    Redriven,
}

/// A node's process: producer, consumer, and on the broker's node, the broker.
pub struct DurableQueue {
    spec: Arc<Spec>,
    /// The broker's disk (unused elsewhere); `None` when transient.
    disk: Option<Disk<Record>>,
    /// Producer: tasks sent and not acknowledged, with when they were first sent (local time).
    unacked: BTreeMap<AppId, (Payload, SimTime)>,
    /// Broker: every task ever queued, to ignore a producer's retransmissions.
    seen: BTreeSet<AppId>,
    queue: VecDeque<Payload>,
    /// Broker: tasks handed out and not answered: to whom, and which hand-out.
    out: BTreeMap<AppId, (NodeId, Payload, u64)>,
    handouts: u64,
    /// Broker: idle consumers, longest idle first.
    idle: VecDeque<NodeId>,
    /// Broker: failed deliveries per task since it was queued or redriven.
    failures: BTreeMap<AppId, u32>,
    /// Broker: the dead-letter queue, in the order tasks entered it.
    dead: Vec<Payload>,
    redriven: bool,
    /// Broker: writes on their way to the disk, and the producer each acknowledges when done.
    writing: BTreeMap<u64, (Record, Option<(NodeId, AppId)>)>,
    next_write: u64,
}

impl DurableQueue {
    fn new(spec: Arc<Spec>, me: NodeId, disk: Option<Disk<Record>>) -> DurableQueue {
        let idle = if me == spec.broker { spec.consumers.iter().copied().collect() } else { VecDeque::new() };
        DurableQueue {
            spec,
            disk,
            unacked: BTreeMap::new(),
            seen: BTreeSet::new(),
            queue: VecDeque::new(),
            out: BTreeMap::new(),
            handouts: 0,
            idle,
            failures: BTreeMap::new(),
            dead: Vec::new(),
            redriven: false,
            writing: BTreeMap::new(),
            next_write: 0,
        }
    }

    /// Broker: rebuild the queue from the log a previous incarnation wrote.
    fn recover(&mut self) {
        let Some(disk) = &self.disk else { return };
        for record in disk.records() {
            match record {
                Record::Queued(task) => {
                    self.seen.insert(task.id);
                    self.queue.push_back(task);
                }
                Record::Done(app) => self.queue.retain(|t| t.id != app),
                Record::Failed(app) => *self.failures.entry(app).or_default() += 1,
                Record::Dead(app) => {
                    if let Some(i) = self.queue.iter().position(|t| t.id == app) {
                        self.dead.extend(self.queue.remove(i));
                    }
                }
                Record::Redriven => self.redrive_now(),
            }
        }
    }

    fn redrive_now(&mut self) {
        for task in self.dead.drain(..) {
            self.failures.remove(&task.id);
            self.queue.push_back(task);
        }
        self.redriven = true;
    }

    /// Broker: record `record` as the storage mode says, acknowledging `ack` (a producer and
    /// its task) before the write, after it, or at once with no write at all.
    fn write(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, record: Record, ack: Option<(NodeId, AppId)>) {
        let ack_after = match self.spec.storage {
            Storage::Transient => {
                if let Some((producer, app)) = ack {
                    ctx.send(producer, Wire::Ack(app));
                }
                return;
            }
            Storage::AckBeforePersist => {
                if let Some((producer, app)) = ack {
                    ctx.send(producer, Wire::Ack(app));
                }
                None
            }
            Storage::Durable => ack,
        };
        self.next_write += 1;
        self.writing.insert(self.next_write, (record, ack_after));
        ctx.set_timer(self.spec.write_ns, Timer::Written(self.next_write));
    }

    /// Broker: whether the record queuing `app` is still on its way to the disk.
    fn queuing(&self, app: AppId) -> bool {
        self.writing.values().any(|(r, _)| matches!(r, Record::Queued(t) if t.id == app))
    }

    /// Broker: a delivery of `task` to `consumer` failed: back to the head of the queue, or
    /// to the dead-letter queue once it has failed `max_deliveries` times.
    fn failed(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, task: Payload, consumer: NodeId) {
        let failures = self.failures.entry(task.id).or_default();
        *failures += 1;
        let dead = self.spec.max_deliveries.is_some_and(|max| *failures >= max);
        self.write(ctx, Record::Failed(task.id), None);
        if dead {
            self.dead.push(task);
            ctx.dead_letter(task, consumer);
            self.write(ctx, Record::Dead(task.id), None);
        } else {
            self.queue.push_front(task);
        }
    }

    fn free(&mut self, consumer: NodeId) {
        if !self.idle.contains(&consumer) && !self.out.values().any(|(c, _, _)| *c == consumer) {
            self.idle.push_back(consumer);
        }
    }

    /// Broker: hand queued tasks to idle consumers.
    fn dispatch(&mut self, ctx: &mut Ctx<'_, Wire, Timer>) {
        while !self.queue.is_empty() && !self.idle.is_empty() {
            let (task, consumer) = (self.queue.pop_front().expect("not empty"), self.idle.pop_front().expect("not empty"));
            self.handouts += 1;
            self.out.insert(task.id, (consumer, task, self.handouts));
            // An `attempt` line names the task each hand-out carries (series: the task's
            // number; attempt: its delivery since it was queued or redriven), so that
            // `DeadLetterBounded` can count a task's failed deliveries from the trace.
            let attempt = self.failures.get(&task.id).map_or(1, |f| f.saturating_add(1));
            ctx.send_attempt(consumer, Wire::Task(task), task.id.0, attempt);
            ctx.set_timer(self.spec.visibility_ns, Timer::Visibility(task.id, self.handouts));
        }
    }
}

impl Process for DurableQueue {
    type Msg = Wire;
    type Timer = Timer;
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        [
            map_bytes::<AppId, (Payload, SimTime)>(self.unacked.len()),
            map_bytes::<AppId, ()>(self.seen.len()),
            capacity_bytes::<Payload>(self.queue.capacity()),
            map_bytes::<AppId, (NodeId, Payload, u64)>(self.out.len()),
            capacity_bytes::<NodeId>(self.idle.capacity()),
            map_bytes::<AppId, u32>(self.failures.len()),
            capacity_bytes::<Payload>(self.dead.capacity()),
            map_bytes::<u64, (Record, Option<(NodeId, AppId)>)>(self.writing.len()),
            self.disk.as_ref().map_or(0, Disk::heap_bytes),
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Wire, Timer>) {
        if ctx.me() != self.spec.broker {
            return;
        }
        self.recover();
        if let Some(at) = self.spec.redrive_ns
            && !self.redriven
        {
            ctx.set_timer(at.saturating_sub(ctx.now().0), Timer::Redrive);
        }
        self.dispatch(ctx);
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, cmd: Command) {
        let Command::Send { payload, .. } = cmd;
        self.unacked.insert(payload.id, (payload, ctx.now()));
        ctx.send(self.spec.broker, Wire::Task(payload));
        ctx.set_timer(self.spec.resend_ns, Timer::Resend(payload.id));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, incoming: Incoming<Wire>) {
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        let broker = ctx.me() == self.spec.broker;
        match incoming.msg {
            // At the broker, from a producer: queue it once; acknowledge every copy, but not
            // before the record of it is written when durable.
            Wire::Task(task) if broker => {
                if self.seen.insert(task.id) {
                    self.queue.push_back(task);
                    self.write(ctx, Record::Queued(task), Some((from, task.id)));
                    self.dispatch(ctx);
                } else if !self.queuing(task.id) {
                    ctx.send(from, Wire::Ack(task.id));
                }
            }
            // At a consumer: work on it.
            Wire::Task(task) => {
                ctx.set_timer(self.spec.work_ns, Timer::Done(task));
            }
            Wire::Ack(app) if broker => {
                // Only the consumer holding the task may finish it; a late answer from one
                // whose hand-out expired changes nothing but frees that consumer.
                if self.out.get(&app).is_some_and(|(c, _, _)| *c == from) {
                    self.out.remove(&app);
                    self.write(ctx, Record::Done(app), None);
                }
                self.free(from);
                self.dispatch(ctx);
            }
            Wire::Failed(app) if broker => {
                if let Some(&(consumer, task, _)) = self.out.get(&app)
                    && consumer == from
                {
                    self.out.remove(&app);
                    self.failed(ctx, task, consumer);
                }
                self.free(from);
                self.dispatch(ctx);
            }
            Wire::Ack(app) => {
                if let Some((_, sent)) = self.unacked.remove(&app) {
                    ctx.call_outcome(app, CallOutcome::Ok, ctx.now().0.saturating_sub(sent.0));
                }
            }
            Wire::Failed(_) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, timer: Timer) {
        match timer {
            Timer::Resend(app) => {
                if let Some(&(task, _)) = self.unacked.get(&app) {
                    ctx.send(self.spec.broker, Wire::Task(task));
                    ctx.set_timer(self.spec.resend_ns, Timer::Resend(app));
                }
            }
            Timer::Visibility(app, handout) => {
                if let Some(&(consumer, task, h)) = self.out.get(&app)
                    && h == handout
                {
                    // The consumer may have crashed: a failed delivery. It is counted idle
                    // again (if it lives, it answers or takes the next).
                    self.out.remove(&app);
                    self.failed(ctx, task, consumer);
                    self.free(consumer);
                    self.dispatch(ctx);
                }
            }
            Timer::Written(write) => {
                if let Some((record, ack)) = self.writing.remove(&write) {
                    if let Some(disk) = &self.disk {
                        disk.append(record);
                    }
                    if let Some((producer, app)) = ack {
                        ctx.send(producer, Wire::Ack(app));
                    }
                }
            }
            Timer::Redrive => {
                self.redrive_now();
                self.write(ctx, Record::Redriven, None);
                self.dispatch(ctx);
            }
            Timer::Done(task) => {
                let poisoned = self.spec.poison.contains(&task.id.0) && ctx.now().0 < self.spec.poison_until_ns;
                if poisoned {
                    ctx.send(self.spec.broker, Wire::Failed(task.id));
                } else {
                    ctx.deliver(task);
                    ctx.send(self.spec.broker, Wire::Ack(task.id));
                }
            }
        }
    }
}

/// `DurableQueue(broker: "b", consumers: "workers", work_ms: .., visibility_ms: .., storage: Durable, ..)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "DurableQueue", deny_unknown_fields)]
pub struct Config {
    /// The node hosting the queue.
    pub broker: String,
    /// A group, a node, or `"*"`: who takes tasks (the broker never does).
    pub consumers: String,
    /// How the broker keeps its queue; `Durable` unless given.
    #[serde(default = "durable")]
    pub storage: Storage,
    /// How long a write to stable storage takes.
    #[serde(default = "default_write_ms")]
    pub write_ms: Number,
    /// How long a consumer works on a task.
    pub work_ms: Number,
    /// How long the broker waits for a consumer's answer before the delivery counts as failed.
    pub visibility_ms: Number,
    /// How long a producer waits for the broker's acknowledgement before sending again.
    #[serde(default = "default_resend_ms")]
    pub resend_ms: Number,
    /// Failed deliveries after which a task goes to the dead-letter queue; absent: never.
    #[serde(default)]
    pub max_deliveries: Option<Whole>,
    /// The tasks (by number, the `a` of the trace) whose processing fails.
    #[serde(default)]
    pub poison: Vec<Whole>,
    /// When the consumers' fix is deployed and poison tasks process; absent: never.
    #[serde(default)]
    pub poison_until_ms: Option<Number>,
    /// When the broker moves its dead-letter queue back to the queue; absent: never.
    #[serde(default)]
    pub redrive_ms: Option<Number>,
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

/// The durable queue, as scenarios name it.
pub struct DurableQueueProtocol;

impl DurableQueueProtocol {
    /// When the broker redrives its dead-letter queue (ns on its clock), if it does: what
    /// `DeadLetterBounded` reads to know when redriven tasks are owed again.
    pub fn redrive_ns(config: &Config) -> Option<u64> {
        config.redrive_ms.map(ns)
    }

    /// The consumers, in the order a fresh broker counts them idle (the broker is none of
    /// them): what `HandoutVisibility` judges the idle-longest-first order against.
    pub fn consumers(config: &Config, cluster: &crate::process::Cluster, broker: NodeId) -> Vec<NodeId> {
        super::members_in_order(cluster, &config.consumers, broker)
    }

    /// How long a hand-out stays invisible to other consumers (ns on the broker's clock):
    /// what `HandoutVisibility` judges re-hand-outs against.
    pub fn visibility_ns(config: &Config) -> u64 {
        ns(config.visibility_ms)
    }

    /// How long a write to the broker's disk takes (ns on its clock): what `HandoutVisibility`
    /// allows a crash to lose.
    pub fn write_ns(config: &Config) -> u64 {
        ns(config.write_ms)
    }

    /// The failed deliveries after which a task is dead-lettered, the storage mode, and how
    /// long a write takes (ns): what `DeadLetterBounded` needs to judge when a task is
    /// dead-lettered.
    pub fn dead_letter_rule(config: &Config) -> Option<(u32, Storage, u64)> {
        let max = config.max_deliveries?;
        Some((max.0.min(u64::from(u32::MAX)) as u32, config.storage, ns(config.write_ms)))
    }
}

impl Protocol for DurableQueueProtocol {
    const NAME: &'static str = "DurableQueue";
    type Config = Config;
    type Process = DurableQueue;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        let broker = cx.node(&[field("broker")], &config.broker);
        let consumers = cx.node_set(&[field("consumers")], &config.consumers, true);
        if !consumers.iter().any(|&c| Some(c) != broker) {
            cx.error(&[field("consumers")], "a queue with no consumer but its broker", "a group with another node in it".to_string());
        }
        cx.millis(&[field("write_ms")], config.write_ms);
        cx.millis(&[field("work_ms")], config.work_ms);
        cx.positive_millis(&[field("visibility_ms")], config.visibility_ms, "`visibility_ms` of zero");
        cx.positive_millis(&[field("resend_ms")], config.resend_ms, "`resend_ms` of zero");
        if let Some(max) = config.max_deliveries {
            cx.within(&[field("max_deliveries")], max.0, 1..=u64::from(u32::MAX), |v| format!("`max_deliveries` of {v}"));
        }
        if let Some(until) = config.poison_until_ms {
            cx.millis(&[field("poison_until_ms")], until);
            if config.poison.is_empty() {
                cx.error(&[field("poison_until_ms")], "a fix for poison tasks with none named", "a `poison` list".to_string());
            }
        }
        if let Some(at) = config.redrive_ms {
            cx.millis(&[field("redrive_ms")], at);
            if config.max_deliveries.is_none() {
                let expected = "`max_deliveries`, so that tasks reach the dead-letter queue".to_string();
                cx.error(&[field("redrive_ms")], "a redrive with no dead-letter queue", expected);
            }
        }
        for (i, app) in config.poison.iter().enumerate() {
            // Task numbers are the workload's commands, counted from 0; a larger one names no task.
            if app.0 >= u64::from(u32::MAX) {
                cx.error(&[field("poison"), Seg::Index(i)], format!("task number {}", app.0), "a task number below 2^32".to_string());
            }
        }
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> DurableQueue {
        let cluster = &scenario.cluster;
        let broker = cluster.id(&config.broker).expect("validated: the broker is a node");
        let spec = Arc::new(Spec {
            broker,
            consumers: DurableQueueProtocol::consumers(config, cluster, broker),
            storage: config.storage,
            write_ns: ns(config.write_ms),
            work_ns: ns(config.work_ms),
            visibility_ns: ns(config.visibility_ms),
            resend_ns: ns(config.resend_ms),
            max_deliveries: config.max_deliveries.map(|m| m.0.min(u64::from(u32::MAX)) as u32),
            poison: config.poison.iter().map(|w| w.0).collect(),
            poison_until_ns: config.poison_until_ms.map_or(u64::MAX, ns),
            redrive_ns: config.redrive_ms.map(ns),
        });
        // One disk per node for this run; only the broker's is used, and only when it persists.
        let storage = StableStorage::new(cluster.len());
        move |me| {
            let disk = (me == spec.broker && spec.storage != Storage::Transient).then(|| storage.disk(me));
            DurableQueue::new(spec.clone(), me, disk)
        }
    }
}

//! Indirect communication: a named port (a work queue hosted by a broker node) that several consumers read.
//!
//! Producers address the port, never a consumer. The broker queues each task
//! and hands it to an idle consumer, one task per consumer at a time (a
//! prefetch of one), choosing the consumer that has been idle longest, so work
//! spreads across consumers by how fast they finish. A consumer takes the
//! task (the delivery the checks see), works on it for `work`, and
//! acknowledges it. A task not acknowledged within `visibility` is put back at
//! the head of the queue for another consumer: that is how a crashed
//! consumer's task is not lost, and also why a visibility shorter than the work
//! hands one task to two consumers (the deliberately broken variant).
//!
//! Producers retransmit each task to the broker every `resend` until the broker
//! acknowledges it, and the broker ignores tasks it has already queued, so a
//! lossy link between them neither loses nor doubles a task. Each transmission
//! is an attempt of a retransmission series (the task's number) and each
//! acknowledgement its `ack`, under the constant policy the protocol declares,
//! so `RetryBackoff` judges the producers' waits and that they stop once acknowledged. The model is crash-stop for
//! the broker: its queue is its memory.

use super::field;
use crate::id::{AppId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Message, Payload, Process, capacity_bytes, map_bytes};
use crate::scenario::file::Number;
use crate::scenario::{ConfigCx, RetryPolicy, Scenario};
use crate::time::NANOS_PER_MS;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// The protocol as its nodes run it: who is the broker, who consumes, and its three times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkQueueSpec {
    /// The broker hosting the port.
    pub broker: NodeId,
    /// The consumers reading it, by id.
    pub consumers: Vec<NodeId>,
    /// How long a consumer works on a task before acknowledging it, ns.
    pub work_ns: u64,
    /// How long the broker waits for an acknowledgement before handing the task out again, ns.
    pub visibility_ns: u64,
    /// How long a producer waits for the broker's acknowledgement before sending again, ns.
    pub resend_ns: u64,
}

/// On the wire: tasks and their acknowledgements, between producers, the broker and consumers.
#[derive(Clone, Debug)]
pub enum Wire {
    /// Producer to broker, or broker to consumer.
    Task(Payload),
    /// Broker to producer: the task is queued. Consumer to broker: the task is done.
    Ack(AppId),
}

/// Header bytes: kind, id, checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Task(p) => HEADER_BYTES.saturating_add(p.size_bytes),
            Wire::Ack(_) => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        if let Wire::Task(p) = self {
            p.corrupt();
        }
    }
}

/// The timers of producers, the broker and consumers.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    /// Producer: send task `AppId` to the broker again unless it was acknowledged.
    Resend(AppId),
    /// Broker: the task handed to a consumer in hand-out `u64` was not acknowledged in time.
    Visibility(AppId, u64),
    /// Consumer: the work on a task is done.
    Done(AppId),
}

/// One node in whichever role the spec gives it: broker, consumer, or (any node) producer.
/// Each role's state is kept apart below; a node uses only its own.
pub struct WorkQueue {
    spec: Arc<WorkQueueSpec>,
    /// Producer: tasks sent to the broker and not yet acknowledged, with their latest attempt's number.
    unacked: BTreeMap<AppId, (Payload, u32)>,
    /// Broker: every task ever queued (to ignore a producer's retransmissions).
    seen: BTreeSet<AppId>,
    queue: VecDeque<Payload>,
    /// Broker: idle consumers, longest idle first.
    idle: VecDeque<NodeId>,
    /// Broker: tasks handed out and not acknowledged: to whom, and which hand-out.
    out: BTreeMap<AppId, (NodeId, Payload, u64)>,
    handouts: u64,
}

impl WorkQueue {
    /// Node `me`'s process; as the broker it starts with every consumer idle, in the spec's
    /// order.
    pub fn new(spec: Arc<WorkQueueSpec>, me: NodeId) -> WorkQueue {
        let idle = if me == spec.broker { spec.consumers.iter().copied().collect() } else { VecDeque::new() };
        WorkQueue { spec, unacked: BTreeMap::new(), seen: BTreeSet::new(), queue: VecDeque::new(), idle, out: BTreeMap::new(), handouts: 0 }
    }

    /// Broker: hand queued tasks to idle consumers.
    fn dispatch(&mut self, ctx: &mut Ctx<'_, Wire, Timer>) {
        while !self.queue.is_empty() && !self.idle.is_empty() {
            let (task, consumer) = (self.queue.pop_front().expect("not empty"), self.idle.pop_front().expect("not empty"));
            self.handouts += 1;
            self.out.insert(task.id, (consumer, task, self.handouts));
            ctx.send(consumer, Wire::Task(task));
            ctx.set_timer(self.spec.visibility_ns, Timer::Visibility(task.id, self.handouts));
        }
    }
}

impl Process for WorkQueue {
    type Msg = Wire;
    type Timer = Timer;
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        [
            map_bytes::<AppId, (Payload, u32)>(self.unacked.len()),
            map_bytes::<AppId, ()>(self.seen.len()),
            capacity_bytes::<Payload>(self.queue.capacity()),
            capacity_bytes::<NodeId>(self.idle.capacity()),
            map_bytes::<AppId, (NodeId, Payload, u64)>(self.out.len()),
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, cmd: Command) {
        let Command::Send { payload, .. } = cmd;
        self.unacked.insert(payload.id, (payload, 1));
        ctx.send_attempt(self.spec.broker, Wire::Task(payload), payload.id.0, 1);
        ctx.set_timer(self.spec.resend_ns, Timer::Resend(payload.id));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, incoming: Incoming<Wire>) {
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        match incoming.msg {
            // At the broker, from a producer: queue it once, acknowledge every copy.
            Wire::Task(task) if ctx.me() == self.spec.broker => {
                if self.seen.insert(task.id) {
                    self.queue.push_back(task);
                }
                ctx.send_ack(from, Wire::Ack(task.id), task.id.0);
                self.dispatch(ctx);
            }
            // At a consumer: take the task and work on it.
            Wire::Task(task) => {
                ctx.deliver(task);
                ctx.set_timer(self.spec.work_ns, Timer::Done(task.id));
            }
            Wire::Ack(app) if ctx.me() == self.spec.broker => {
                // Only the consumer holding the task may finish it; a late ack from one whose
                // hand-out expired changes nothing but frees that consumer.
                if self.out.get(&app).is_some_and(|(c, _, _)| *c == from) {
                    self.out.remove(&app);
                }
                if !self.idle.contains(&from) && !self.out.values().any(|(c, _, _)| *c == from) {
                    self.idle.push_back(from);
                }
                self.dispatch(ctx);
            }
            Wire::Ack(app) => {
                self.unacked.remove(&app);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, timer: Timer) {
        match timer {
            Timer::Resend(app) => {
                if let Some((task, attempt)) = self.unacked.get_mut(&app) {
                    *attempt = attempt.saturating_add(1);
                    ctx.send_attempt(self.spec.broker, Wire::Task(*task), app.0, *attempt);
                    ctx.set_timer(self.spec.resend_ns, Timer::Resend(app));
                }
            }
            Timer::Visibility(app, handout) => {
                if let Some(&(consumer, task, h)) = self.out.get(&app)
                    && h == handout
                {
                    // The consumer may have crashed: the task goes back first in line, and the
                    // consumer is counted idle again (if it lives, it acks or takes the next).
                    self.out.remove(&app);
                    self.queue.push_front(task);
                    if !self.idle.contains(&consumer) {
                        self.idle.push_back(consumer);
                    }
                    self.dispatch(ctx);
                }
            }
            Timer::Done(app) => ctx.send(self.spec.broker, Wire::Ack(app)),
        }
    }
}

/// `WorkQueue(broker: "b", consumers: "workers", work_ms: .., visibility_ms: .., resend_ms: ..)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "WorkQueue", deny_unknown_fields)]
pub struct Config {
    /// The node hosting the port.
    pub broker: String,
    /// A group, a node, or `"*"`: who takes tasks (the broker never does).
    pub consumers: String,
    /// How long a consumer works on a task.
    pub work_ms: Number,
    /// How long the broker waits for an acknowledgement before handing a task out again.
    pub visibility_ms: Number,
    /// How long a producer waits for the broker's acknowledgement before sending again.
    #[serde(default = "default_resend_ms")]
    pub resend_ms: Number,
}

impl Config {
    /// The visibility timeout in nanoseconds, as the broker reads it (truncated, not rounded).
    pub fn visibility_ns(&self) -> u64 {
        (self.visibility_ms.0 * NANOS_PER_MS as f64) as u64
    }
}

fn default_resend_ms() -> Number {
    Number(20.0)
}

/// The work queue, as scenarios name it.
pub struct WorkQueueProtocol;

impl WorkQueueProtocol {
    /// The consumers `config` names (the broker left out), in the order the broker first counts
    /// them idle.
    pub fn consumers(config: &Config, cluster: &crate::process::Cluster, broker: NodeId) -> Vec<NodeId> {
        super::members_in_order(cluster, &config.consumers, broker)
    }
}

impl Protocol for WorkQueueProtocol {
    const NAME: &'static str = "WorkQueue";
    type Config = Config;
    type Process = WorkQueue;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        let broker = cx.node(&[field("broker")], &config.broker);
        let consumers = cx.node_set(&[field("consumers")], &config.consumers, true);
        if !consumers.iter().any(|&c| Some(c) != broker) {
            cx.error(&[field("consumers")], "a work queue with no consumer but its broker", "a group with another node in it".to_string());
        }
        cx.millis(&[field("work_ms")], config.work_ms);
        cx.positive_millis(&[field("visibility_ms")], config.visibility_ms, "`visibility_ms` of zero");
        cx.positive_millis(&[field("resend_ms")], config.resend_ms, "`resend_ms` of zero");
    }

    /// A producer's transmissions of a task: one every `resend_ms` until the broker
    /// acknowledges it, without end and without jitter.
    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        Some(RetryPolicy::constant(config.resend_ms))
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> WorkQueue {
        let broker = scenario.cluster.id(&config.broker).expect("validated: the broker is a node");
        let consumers = Self::consumers(config, &scenario.cluster, broker);
        // Truncated, not rounded: the queue's timings have always been read this way.
        let ns = |t: Number| (t.0 * NANOS_PER_MS as f64) as u64;
        let spec = Arc::new(WorkQueueSpec {
            broker,
            consumers,
            work_ns: ns(config.work_ms),
            visibility_ns: ns(config.visibility_ms),
            resend_ns: ns(config.resend_ms),
        });
        move |me| WorkQueue::new(spec.clone(), me)
    }
}

//! `Rpc`: remote procedure calls with at-most-once, at-least-once or exactly-once semantics against a server that may crash, on an idempotent (`Set`) or non-idempotent (`Increment`) operation.
//!
//! Every node but the server is a client, and each workload command is one call: the client
//! sends the request (the payload, with the call's id as its idempotency key) and waits
//! `timeout_ms` for the reply. The server applies the operation as the request arrives (its
//! `deliver` line: the effect) and replies `work_ms` later, so a server crash in between
//! leaves an effect whose caller never hears of it. The client records how the call ended, a
//! `call .. Ok` line on the reply, `call .. Timeout` when it gives up. What it does on a
//! timeout, and what the server remembers, is `semantics`:
//!
//! - `AtMostOnce`: never resend, and the server drops a request it already applied (a copy
//!   the network duplicated), remembering the keys in memory. The effect happens once or not
//!   at all, and a timed-out caller cannot tell which.
//! - `AtLeastOnce`: resend on every timeout, up to `max_attempts` requests; the server applies
//!   every request it receives. A lost reply, or a crash between effect and reply, makes the
//!   effect happen twice: harmless for `Set`, wrong for `Increment`.
//! - `ExactlyOnce`: resend as at-least-once, and the server keeps the keys of the calls it
//!   applied, answering a resent request from its table instead of applying it again. With
//!   `keys: Durable` the table is written to stable storage with the effect (one record, so a
//!   crash keeps both or neither); with `keys: Memory`, the broken variant, a crash forgets it
//!   and a call resent across the crash is applied twice.
//!
//! `op` says what the effect is, for the `RpcEffect` check: setting a value (idempotent: applying
//! it again changes nothing) or incrementing a counter (applied twice, counted twice).

use super::{field, ns};
use crate::id::{AppId, NodeId, TimerId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Message, Payload, Process};
use crate::scenario::file::{Number, RetryFile, Whole};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario, limits};
use crate::stable::{Disk, StableStorage};
use crate::time::SimTime;
use crate::trace::CallOutcome;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What a client does on a timeout and what the server remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Semantics {
    /// One request per call.
    AtMostOnce,
    /// Resend until answered; every request applied.
    AtLeastOnce,
    /// Resend until answered; a request applied once per idempotency key.
    ExactlyOnce,
}

/// The operation a call performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Op {
    /// Set a value: idempotent.
    Set,
    /// Increment a counter: not idempotent.
    Increment,
}

/// Where an exactly-once server keeps the keys of the calls it applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Keys {
    /// On stable storage, written with the effect.
    Durable,
    /// In memory: lost with a crash (the broken variant).
    Memory,
}

#[derive(Clone, Debug)]
struct Spec {
    server: NodeId,
    semantics: Semantics,
    keys: Keys,
    timeout_ns: u64,
    work_ns: u64,
    max_attempts: u32,
}

/// On the wire.
#[derive(Clone, Debug)]
pub enum Wire {
    /// Client to server: the call, its payload's id the idempotency key.
    Request(Payload),
    /// Server to client: the call `AppId` was applied.
    Reply(AppId),
}

/// Header bytes: kind, key, checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Request(p) => HEADER_BYTES.saturating_add(p.size_bytes),
            Wire::Reply(_) => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        if let Wire::Request(p) = self {
            p.corrupt();
        }
    }
}

/// What a timer carries back to the process.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    /// Client: no reply to the call's latest request in time.
    Timeout(AppId),
    /// Server: the work on a call is done; reply to the client.
    Reply(AppId, NodeId),
}

/// A call in progress at its client.
struct Call {
    payload: Payload,
    began: SimTime,
    attempts: u32,
    timer: TimerId,
}

/// A node's process: a client, or the server.
pub struct Rpc {
    spec: Arc<Spec>,
    calls: BTreeMap<AppId, Call>,
    /// Server: the keys of the calls applied (at-most-once and exactly-once).
    applied: BTreeSet<AppId>,
    /// Server: the same keys on disk, with `keys: Durable`.
    disk: Option<Disk<AppId>>,
}

/// Client: send `payload`'s request to the server as attempt `attempt` of its call (an
/// `attempt` line, so that `RetryBackoff` judges the resends), and time it out.
fn request(spec: &Spec, ctx: &mut Ctx<'_, Wire, Timer>, payload: Payload, attempt: u32) -> TimerId {
    ctx.send_attempt(spec.server, Wire::Request(payload), payload.id.0, attempt);
    ctx.set_timer(spec.timeout_ns, Timer::Timeout(payload.id))
}

impl Process for Rpc {
    type Msg = Wire;
    type Timer = Timer;
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        crate::budget::map(&self.calls).saturating_add(crate::budget::set(&self.applied))
    }

    fn on_start(&mut self, _: &mut Ctx<'_, Wire, Timer>) {
        if let Some(disk) = &self.disk {
            self.applied = disk.records().into_iter().collect();
        }
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, cmd: Command) {
        let Command::Send { payload, .. } = cmd;
        let timer = request(&self.spec, ctx, payload, 1);
        self.calls.insert(payload.id, Call { payload, began: ctx.now(), attempts: 1, timer });
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, incoming: Incoming<Wire>) {
        if !incoming.checksum_ok {
            return;
        }
        match incoming.msg {
            Wire::Request(payload) => {
                let keyed = self.spec.semantics != Semantics::AtLeastOnce;
                let duplicate = keyed && self.applied.contains(&payload.id);
                if !duplicate {
                    // The effect, and the key, in one step.
                    ctx.deliver(payload);
                    if keyed {
                        self.applied.insert(payload.id);
                        if let Some(disk) = &self.disk {
                            disk.append(payload.id);
                        }
                    }
                }
                ctx.set_timer(self.spec.work_ns, Timer::Reply(payload.id, incoming.from));
            }
            Wire::Reply(app) => {
                if let Some(call) = self.calls.remove(&app) {
                    ctx.cancel_timer(call.timer);
                    ctx.call_outcome(app, CallOutcome::Ok, ctx.now().0.saturating_sub(call.began.0));
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, timer: Timer) {
        match timer {
            // An `ack` line: every intact request is owed its reply, which `RetryBackoff` judges.
            Timer::Reply(app, client) => ctx.send_ack(client, Wire::Reply(app), app.0),
            Timer::Timeout(app) => {
                let Some(call) = self.calls.get_mut(&app) else { return };
                if self.spec.semantics != Semantics::AtMostOnce && call.attempts < self.spec.max_attempts {
                    call.attempts += 1;
                    call.timer = request(&self.spec, ctx, call.payload, call.attempts);
                } else {
                    let began = call.began;
                    self.calls.remove(&app);
                    ctx.call_outcome(app, CallOutcome::Timeout, ctx.now().0.saturating_sub(began.0));
                }
            }
        }
    }
}

/// `Rpc(server: "srv", semantics: AtLeastOnce, op: Increment, timeout_ms: 30, ..)`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "Rpc", deny_unknown_fields)]
pub struct Config {
    /// The node that serves the calls.
    pub server: String,
    /// What a client does on a timeout and what the server remembers.
    pub semantics: Semantics,
    /// The operation: idempotent or not.
    pub op: Op,
    /// How long a client waits for a reply before resending or giving up.
    pub timeout_ms: Number,
    /// How long the server works between applying a call and replying.
    #[serde(default)]
    pub work_ms: Option<Number>,
    /// Requests per call at most, the first included (at-least-once and exactly-once).
    #[serde(default = "default_attempts")]
    pub max_attempts: Whole,
    /// Where an exactly-once server keeps its keys.
    #[serde(default = "durable")]
    pub keys: Keys,
}

fn default_attempts() -> Whole {
    Whole(10)
}

fn durable() -> Keys {
    Keys::Durable
}

/// RPC with a choice of failure semantics, as scenarios name it.
pub struct RpcProtocol;

impl Protocol for RpcProtocol {
    const NAME: &'static str = "Rpc";
    type Config = Config;
    type Process = Rpc;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.node(&[field("server")], &config.server);
        cx.positive_millis(&[field("timeout_ms")], config.timeout_ms, "a timeout of zero");
        if let Some(work) = config.work_ms {
            cx.millis(&[field("work_ms")], work);
        }
        cx.within(&[field("max_attempts")], config.max_attempts.0, 1..=limits::MAX_ATTEMPTS, |n| format!("{n} attempts"));
        if config.keys == Keys::Memory && config.semantics != Semantics::ExactlyOnce {
            cx.error(&[field("keys")], "idempotency keys without exactly-once semantics", "`semantics: ExactlyOnce`".to_string());
        }
    }

    /// A resend on every timeout: the wait is the timeout, from the send, up to `max_attempts`
    /// requests (one under at-most-once, which never resends).
    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        let attempts = if config.semantics == Semantics::AtMostOnce { Whole(1) } else { config.max_attempts };
        let retry =
            RetryFile { base_ms: config.timeout_ms, factor: Number(1.0), cap_ms: config.timeout_ms, jitter: None, max_attempts: attempts };
        Some(RetryPolicy::from_send(retry))
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Rpc {
        let server = scenario.cluster.id(&config.server).expect("validated: the server is a node");
        let spec = Arc::new(Spec {
            server,
            semantics: config.semantics,
            keys: config.keys,
            timeout_ns: ns(config.timeout_ms),
            work_ns: config.work_ms.map_or(0, ns),
            max_attempts: config.max_attempts.0.min(u64::from(u32::MAX)) as u32,
        });
        let storage = StableStorage::new(scenario.cluster.len());
        move |me| {
            let durable = me == spec.server && spec.semantics == Semantics::ExactlyOnce && spec.keys == Keys::Durable;
            Rpc { spec: spec.clone(), calls: BTreeMap::new(), applied: BTreeSet::new(), disk: durable.then(|| storage.disk(me)) }
        }
    }
}

//! Point-to-point messaging in the three communication models: asynchronous sends, synchronous sends (a rendezvous) and calls.
//!
//! Every workload command becomes one message to each recipient, sent the way
//! the scenario asks:
//! - `Async`: `Ctx::send`; the sender goes on at once and the message waits in
//!   the network and the receiver's mailbox.
//! - `Sync`: `Ctx::send_sync`; the sender blocks until the receiver's process
//!   takes the message, or until the timeout. A sender with several recipients
//!   sends to them one at a time, each after the previous one was taken (or
//!   timed out), as a thread making blocking sends in a loop would.
//! - `Call`: `Ctx::call`; the receiver delivers the payload and answers. With
//!   `wait` the caller blocks until the answer or the timeout (synchronous);
//!   without it the caller goes on and hears the answer later (asynchronous).
//!
//! The protocol adds no reliability of its own: a lost message is lost, and a
//! sender blocked on it waits for its timeout, or forever. Messages from the
//! nodes listed in `priority` carry that priority into the receiver's mailbox.

use super::field;
use crate::id::{AppId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Cluster, Command, Completion, Ctx, Incoming, Message, Payload, Process, capacity_bytes};
use crate::scenario::file::{HandoverFile, Number, Whole};
use crate::scenario::{ConfigCx, Scenario};
use crate::time::NANOS_PER_MS;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::sync::Arc;

/// How a sender hands over each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `Ctx::send`: the sender goes on at once.
    Async,
    /// `Ctx::send_sync`: the sender blocks until the receiver's process takes the message.
    Sync {
        /// How long the sender waits before giving up, in nanoseconds; `None`: for ever.
        timeout_ns: Option<u64>,
    },
    /// `Ctx::call`: the receiver delivers the payload and answers.
    Call {
        /// How long the caller waits for the answer, in nanoseconds; `None`: for ever.
        timeout_ns: Option<u64>,
        /// Whether the caller blocks until the answer (synchronous) or goes on and hears it
        /// later (asynchronous).
        wait: bool,
    },
}

/// The protocol as its nodes run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeSpec {
    /// How every sender hands over each message.
    pub mode: Mode,
    /// The priority of each node's messages (0 for nodes not listed), by node index.
    pub priority: Vec<u8>,
}

/// On the wire.
#[derive(Clone, Debug)]
pub enum Wire {
    /// An application message to one recipient.
    Data {
        /// The application message.
        payload: Payload,
        /// Its sender's mailbox priority (0 to 255, higher taken first; 0 unless the scenario
        /// lists the sender).
        priority: u8,
    },
    /// The receiver's answer to a call.
    Answer {
        /// The application message the call carried.
        app: AppId,
        /// The answering node's mailbox priority: a listed node's messages carry its
        /// priority, answers included.
        priority: u8,
    },
}

/// Header bytes: kind, ids, a checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Data { payload, .. } => HEADER_BYTES.saturating_add(payload.size_bytes),
            Wire::Answer { .. } => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        if let Wire::Data { payload, .. } = self {
            payload.corrupt();
        }
    }

    fn priority(&self) -> u8 {
        match self {
            Wire::Data { priority, .. } | Wire::Answer { priority, .. } => *priority,
        }
    }
}

/// One node: sends each command's message to each recipient in the spec's mode, delivers
/// what arrives intact and answers calls.
pub struct Exchange {
    spec: Arc<ExchangeSpec>,
    /// Synchronous sends not begun yet: a blocked sender makes them one after another.
    backlog: VecDeque<(NodeId, Payload)>,
}

impl Exchange {
    /// A node with nothing waiting to be sent.
    pub fn new(spec: Arc<ExchangeSpec>) -> Exchange {
        Exchange { spec, backlog: VecDeque::new() }
    }

    fn send(&mut self, ctx: &mut Ctx<'_, Wire, ()>, to: NodeId, payload: Payload) {
        let msg = Wire::Data { payload, priority: self.spec.priority[ctx.me().index()] };
        match self.spec.mode {
            Mode::Async => ctx.send(to, msg),
            Mode::Sync { timeout_ns } => ctx.send_sync(to, msg, timeout_ns),
            Mode::Call { timeout_ns, wait } => {
                ctx.call(to, msg, timeout_ns, wait);
            }
        }
    }

    /// Whether the mode blocks the sender on each message, so that the next must wait.
    fn one_at_a_time(&self) -> bool {
        matches!(self.spec.mode, Mode::Sync { .. } | Mode::Call { wait: true, .. })
    }

    fn send_next(&mut self, ctx: &mut Ctx<'_, Wire, ()>) {
        if let Some((to, payload)) = self.backlog.pop_front() {
            self.send(ctx, to, payload);
        }
    }
}

impl Process for Exchange {
    type Msg = Wire;
    type Timer = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        capacity_bytes::<(NodeId, Payload)>(self.backlog.capacity())
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, ()>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        let recipients = ctx.cluster().recipients(ctx.me(), dest);
        if !self.one_at_a_time() {
            for to in recipients {
                self.send(ctx, to, payload);
            }
            return;
        }
        // A blocking mode: this process is not blocked now (it would not be handling a
        // command), so the backlog is empty and the first send starts at once.
        self.backlog.extend(recipients.into_iter().map(|to| (to, payload)));
        self.send_next(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, ()>, incoming: Incoming<Wire>) {
        if !incoming.checksum_ok {
            return;
        }
        if let Wire::Data { payload, .. } = incoming.msg {
            ctx.deliver(payload);
            if let Some(call) = incoming.call {
                ctx.reply(call, Wire::Answer { app: payload.id, priority: self.spec.priority[ctx.me().index()] });
            }
        }
    }

    fn on_complete(&mut self, ctx: &mut Ctx<'_, Wire, ()>, _completion: Completion<Wire>) {
        if self.one_at_a_time() {
            self.send_next(ctx);
        }
    }
}

/// `Exchange(send: Async | Sync(timeout_ms: ..) | Call(timeout_ms: .., wait: ..), priority: {..})`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "Exchange", deny_unknown_fields)]
pub struct Config {
    /// How each message is handed over.
    pub send: HandoverFile,
    /// Mailbox priority of each listed node's messages (0 for the others).
    #[serde(default)]
    pub priority: BTreeMap<String, Whole>,
}

impl Config {
    /// The mailbox priority of each node's messages, by node index (0 for nodes not listed).
    pub fn priorities(&self, cluster: &Cluster) -> Vec<u8> {
        let mut priority = vec![0; cluster.len()];
        for (name, level) in &self.priority {
            if let Some(id) = cluster.id(name) {
                // Validation bounds every level to a byte.
                priority[id.index()] = level.0 as u8;
            }
        }
        priority
    }
}

/// Point-to-point messages in one communication model, as scenarios name it.
pub struct ExchangeProtocol;

impl Protocol for ExchangeProtocol {
    const NAME: &'static str = "Exchange";
    type Config = Config;
    type Process = Exchange;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        if let HandoverFile::Sync { timeout_ms: Some(t) } | HandoverFile::Call { timeout_ms: Some(t), .. } = config.send {
            cx.positive_millis(&[field("send"), field("timeout_ms")], t, "a timeout of zero");
        }
        for (name, level) in &config.priority {
            cx.node(&[field("priority")], name);
            if level.0 > u64::from(u8::MAX) {
                cx.error(&[field("priority")], format!("priority {} for `{name}`", level.0), "from 0 to 255".to_string());
            }
        }
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Exchange {
        // Truncated, not rounded: the exchange's timeouts have always been read this way.
        let ms = |t: Option<Number>| t.map(|t| (t.0 * NANOS_PER_MS as f64) as u64);
        let mode = match config.send {
            HandoverFile::Async => Mode::Async,
            HandoverFile::Sync { timeout_ms } => Mode::Sync { timeout_ns: ms(timeout_ms) },
            HandoverFile::Call { timeout_ms, wait } => Mode::Call { timeout_ns: ms(timeout_ms), wait },
        };
        let spec = Arc::new(ExchangeSpec { mode, priority: config.priorities(&scenario.cluster) });
        move |_| Exchange::new(spec.clone())
    }
}

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

use crate::id::{AppId, NodeId};
use crate::process::{Command, Completion, Ctx, Incoming, Message, Payload, Process};
use std::collections::VecDeque;
use std::sync::Arc;

/// How a sender hands over each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Async,
    Sync { timeout_ns: Option<u64> },
    Call { timeout_ns: Option<u64>, wait: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeSpec {
    pub mode: Mode,
    /// The priority of each node's messages (0 for nodes not listed), by node index.
    pub priority: Vec<u8>,
}

#[derive(Clone, Debug)]
pub enum Wire {
    Data { payload: Payload, priority: u8 },
    Answer { app: AppId },
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
            Wire::Data { priority, .. } => *priority,
            Wire::Answer { .. } => 0,
        }
    }
}

pub struct Exchange {
    spec: Arc<ExchangeSpec>,
    /// Synchronous sends not begun yet: a blocked sender makes them one after another.
    backlog: VecDeque<(NodeId, Payload)>,
}

impl Exchange {
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
                ctx.reply(call, Wire::Answer { app: payload.id });
            }
        }
    }

    fn on_complete(&mut self, ctx: &mut Ctx<'_, Wire, ()>, _completion: Completion<Wire>) {
        if self.one_at_a_time() {
            self.send_next(ctx);
        }
    }
}

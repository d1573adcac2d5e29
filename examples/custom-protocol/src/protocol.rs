//! The alternating-bit protocol: stop-and-wait with a one-bit sequence number.
//!
//! Each sender keeps a queue per destination and has at most one frame outstanding to each.
//! The frame carries the destination's current bit; the sender retransmits it every
//! `timeout_ms` until an acknowledgement with that bit comes back, then flips the bit and
//! sends the next. The receiver delivers a frame whose bit is the one it expects from that
//! sender, flips its expectation, and acknowledges every intact frame with the frame's bit, so
//! a retransmission whose acknowledgement was lost is acknowledged again but not delivered twice.
//! Over a link that loses, duplicates and corrupts but does not reorder, every message is
//! delivered once, in order.

use msgsim::prelude::*;
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};

// ANCHOR: config
/// `AlternatingBit(timeout_ms: 30, bug: IgnoreBit)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "AlternatingBit", deny_unknown_fields)]
pub struct Config {
    /// How long a sender waits for an acknowledgement before sending the frame again.
    pub timeout_ms: Number,
    /// A planted bug, for the broken scenario.
    #[serde(default)]
    pub bug: Option<Bug>,
}

/// Bugs an engineer might really write, planted for the check to catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Bug {
    /// The receiver delivers every intact frame, whatever its bit: a retransmission is delivered twice.
    IgnoreBit,
}
// ANCHOR_END: config

// ANCHOR: message
/// On the wire: a data frame with its bit, or an acknowledgement of a bit.
#[derive(Clone, Debug)]
pub enum Frame {
    /// The payload and the sender's current bit for this destination.
    Data { bit: bool, payload: Payload },
    /// "I have the frame with this bit."
    Ack { bit: bool },
}

impl Message for Frame {
    fn wire_size(&self) -> u32 {
        match self {
            Frame::Data { payload, .. } => 8 + payload.size_bytes,
            Frame::Ack { .. } => 8,
        }
    }

    fn corrupt(&mut self) {
        if let Frame::Data { payload, .. } = self {
            payload.corrupt();
        }
    }
}
// ANCHOR_END: message

// ANCHOR: process
/// What a sender keeps per destination.
#[derive(Default)]
struct Outgoing {
    bit: bool,
    queue: VecDeque<Payload>,
    /// The retransmission timer of the frame at the head of the queue, while one is outstanding.
    timer: Option<TimerId>,
}

/// One node: a sender to every destination and a receiver from every source.
pub struct Node {
    timeout_ns: u64,
    bug: Option<Bug>,
    outgoing: BTreeMap<NodeId, Outgoing>,
    /// The bit expected next from each source.
    expected: BTreeMap<NodeId, bool>,
}

impl Node {
    fn transmit(&mut self, ctx: &mut Ctx<'_, Frame, NodeId>, to: NodeId) {
        let out = self.outgoing.entry(to).or_default();
        if let Some(payload) = out.queue.front() {
            ctx.send(to, Frame::Data { bit: out.bit, payload: *payload });
            out.timer = Some(ctx.set_timer(self.timeout_ns, to));
        }
    }
}

impl Process for Node {
    type Msg = Frame;
    /// The destination whose frame to send again.
    type Timer = NodeId;

    fn on_command(&mut self, ctx: &mut Ctx<'_, Frame, NodeId>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        let Dest::Node(to) = dest else { return };
        let out = self.outgoing.entry(to).or_default();
        out.queue.push_back(payload);
        if out.timer.is_none() {
            self.transmit(ctx, to);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Frame, NodeId>, incoming: Incoming<Frame>) {
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        match incoming.msg {
            Frame::Data { bit, payload } => {
                let expected = self.expected.entry(from).or_insert(false);
                if bit == *expected || self.bug == Some(Bug::IgnoreBit) {
                    *expected = !bit;
                    ctx.deliver(payload);
                }
                ctx.send(from, Frame::Ack { bit });
            }
            Frame::Ack { bit } => {
                let out = self.outgoing.entry(from).or_default();
                if bit != out.bit || out.timer.is_none() {
                    return; // an old acknowledgement, for a frame already done with
                }
                if let Some(timer) = out.timer.take() {
                    ctx.cancel_timer(timer);
                }
                out.queue.pop_front();
                out.bit = !out.bit;
                self.transmit(ctx, from);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Frame, NodeId>, to: NodeId) {
        self.transmit(ctx, to);
    }
}
// ANCHOR_END: process

// ANCHOR: protocol
/// The alternating-bit protocol, as scenarios name it.
pub struct AlternatingBit;

impl Protocol for AlternatingBit {
    const NAME: &'static str = "AlternatingBit";
    type Config = Config;
    type Process = Node;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.positive_millis(&[Seg::Field("timeout_ms")], config.timeout_ms, "a timeout of zero");
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> Node {
        let timeout_ns = (config.timeout_ms.0 * 1e6).round() as u64;
        let bug = config.bug;
        move |_| Node { timeout_ns, bug, outgoing: BTreeMap::new(), expected: BTreeMap::new() }
    }
}
// ANCHOR_END: protocol

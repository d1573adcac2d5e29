//! Push gossip (epidemic dissemination): on first hearing of a value, tell `fanout` random peers.
//!
//! The workload hands values to a node with any destination; that node
//! delivers the value and pushes it to `fanout` peers drawn from its own random
//! stream. Every node does the same on first receipt and ignores repeats.
//! With fanout f on n nodes, the fraction pi of nodes that hear a value solves
//! pi = 1 - e^(-f pi) (a node misses all f pi n pushes with probability about
//! e^(-f pi)), not 1 - e^(-f): 0.797 for f = 2, 0.940 for f = 3, and for f = 1
//! no positive fraction at all (a value dies out after about sqrt(n) nodes).
//! `tests/gossip_coverage.rs` measures it. Gossip is probabilistic, and `NoLoss`
//! judges it as such.

use super::field;
use crate::id::NodeId;
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Message, Payload, Process, capacity_bytes};
use crate::scenario::file::Whole;
use crate::scenario::{ConfigCx, Scenario};
use serde::Deserialize;

/// One push of a value to one peer.
#[derive(Clone, Debug)]
pub struct Rumour {
    /// The value; its application id is what a node remembers having heard.
    pub payload: Payload,
}

impl Message for Rumour {
    fn wire_size(&self) -> u32 {
        16u32.saturating_add(self.payload.size_bytes)
    }
    fn corrupt(&mut self) {
        self.payload.corrupt();
    }
}

/// One gossiping node: which values it has heard, and how many peers it tells of a new one.
pub struct Gossip {
    fanout: u32,
    /// Values heard, as a bitset over application ids (which are dense from 0): the first
    /// `64 * INLINE_WORDS` in the process itself, the rest in `heard_more`. Inline, the bits
    /// share the cache lines of the node's state; on the heap, every delivery to a node of a
    /// large cluster waited for one more cache miss (a quarter of the time with 100,000 nodes).
    heard: [u64; INLINE_WORDS],
    heard_more: Vec<u64>,
}

/// Words of the bitset kept inline: 128 values.
const INLINE_WORDS: usize = 2;

impl Gossip {
    /// A node that pushes each new value to `fanout` peers, each drawn uniformly from the
    /// other nodes on its own stream (independently, so the same peer may be drawn twice).
    /// Validation keeps `fanout` from 1 to the number of other nodes.
    pub fn new(fanout: u32) -> Gossip {
        Gossip { fanout, heard: [0; INLINE_WORDS], heard_more: Vec::new() }
    }

    /// Record `payload`; true if it is new. Inlined into the handlers, with the spilled words
    /// out of line: called out of line, it saved and restored six registers for a bit test
    /// (about 2 % of the instructions of the gossip benches).
    #[inline(always)]
    fn hear(&mut self, payload: &Payload) -> bool {
        let id = payload.id.0 as usize;
        let (word, bit) = (id / 64, 1u64 << (id % 64));
        let slot = match word.checked_sub(INLINE_WORDS) {
            None => &mut self.heard[word],
            Some(more) => self.more_word(more),
        };
        let new = *slot & bit == 0;
        *slot |= bit;
        new
    }

    /// Word `more` of the bitset kept on the heap, grown to hold it.
    #[inline(never)]
    fn more_word(&mut self, more: usize) -> &mut u64 {
        if more >= self.heard_more.len() {
            self.heard_more.resize(more + 1, 0);
        }
        &mut self.heard_more[more]
    }

    fn spread(&mut self, ctx: &mut Ctx<'_, Rumour, ()>, payload: Payload) {
        ctx.deliver(payload);
        let n = ctx.cluster().len() as u64;
        if n < 2 {
            return;
        }
        let me = ctx.me().0;
        for _ in 0..self.fanout {
            // Uniform over the other nodes: draw from n-1 and skip over ourselves.
            let pick = ctx.rng().below(n - 1) as u32;
            let to = NodeId(if pick >= me { pick + 1 } else { pick });
            ctx.send(to, Rumour { payload });
        }
    }
}

impl Process for Gossip {
    type Msg = Rumour;
    type Timer = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        capacity_bytes::<u64>(self.heard_more.capacity())
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Rumour, ()>, cmd: Command) {
        let Command::Send { payload, .. } = cmd;
        if self.hear(&payload) {
            self.spread(ctx, payload);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Rumour, ()>, incoming: Incoming<Rumour>) {
        if !incoming.checksum_ok {
            return;
        }
        let payload = incoming.msg.payload;
        if self.hear(&payload) {
            self.spread(ctx, payload);
        }
    }
}

/// `Gossip(fanout: F)`: on first receipt, forward to F random peers.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "Gossip", deny_unknown_fields)]
pub struct Config {
    /// Peers each node forwards a rumour to.
    pub fanout: Whole,
}

/// The push-gossip protocol, as scenarios name it.
pub struct GossipProtocol;

impl Protocol for GossipProtocol {
    const NAME: &'static str = "Gossip";
    type Config = Config;
    type Process = Gossip;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        let n = cx.cluster().len();
        let most = n.saturating_sub(1) as u64;
        if config.fanout.0 == 0 || config.fanout.0 > most {
            cx.error(
                &[field("fanout")],
                format!("a fanout of {} with {n} nodes", config.fanout.0),
                format!("from 1 to {most} (the other nodes)"),
            );
        }
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> Gossip {
        // Validation bounds the fanout by the node count.
        let fanout = config.fanout.0 as u32;
        move |_| Gossip::new(fanout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::AppId;

    /// Every value is new exactly once, on both sides of the inline words' end.
    #[test]
    fn each_value_is_heard_new_once_inline_and_beyond() {
        let mut g = Gossip::new(3);
        let ids = [0, 63, 64, 127, 128, 129, 1_000, 5, 128, 0, 1_000, 127];
        let new: Vec<bool> = ids.iter().map(|&i| g.hear(&Payload::new(AppId(i), NodeId(0), 8))).collect();
        assert_eq!(new, [true, true, true, true, true, true, true, true, false, false, false, false]);
    }
}

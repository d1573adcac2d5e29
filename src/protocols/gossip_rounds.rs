//! Anti-entropy gossip in rounds: every node, every round, contacts one random peer and pushes what it knows, pulls what the peer knows, or both.
//!
//! Every `period_ms` (on its own clock; all nodes start together) each node picks one peer
//! uniformly among the others. `Push`: a node that knows something sends it all. `Pull`: every
//! node asks, and the peer answers with everything it knows (if anything). `PushPull`: both in
//! one exchange. A node delivers a value the first time it learns it. The rounds never stop
//! (anti-entropy runs until the horizon).
//!
//! With latency below half a round, an exchange begun in round i ends within it, and with a
//! fraction p_i of nodes still ignorant of a value after round i (Demers et al.):
//!
//! - push: p_(i+1) = p_i (1 - 1/(n-1))^(n (1 - p_i)), about p_i e^(-1) once few are left;
//! - pull: p_(i+1) = p_i^2 (an ignorant node asks an ignorant peer);
//! - push-pull: p_(i+1) = p_i^2 (1 - 1/(n-1))^(n (1 - p_i)).
//!
//! `tests/gossip_rounds.rs` measures the rounds each takes to reach every node against these.

use super::{field, ns};
use crate::id::{AppId, NodeId};
use crate::plugin::{Protocol, RoundExchange, Rounds};
use crate::process::{Cluster, Command, Ctx, Incoming, Message, Payload, Process, map_bytes};
use crate::scenario::file::Number;
use crate::scenario::{ConfigCx, Scenario};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Who sends what in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Mode {
    /// The informed send.
    Push,
    /// Everyone asks.
    Pull,
    /// Everyone sends what it knows and asks.
    PushPull,
}

/// What nodes exchange.
#[derive(Clone, Debug)]
pub enum RoundMsg {
    /// Everything the sender knows; `reply` asks for the receiver's in return.
    Values {
        /// Every value the sender has heard, by application id.
        values: Vec<Payload>,
        /// Whether the receiver should answer with its own values (a pull).
        reply: bool,
    },
}

/// Header bytes: kind, count, checksum.
const HEADER_BYTES: u32 = 16;

impl Message for RoundMsg {
    fn wire_size(&self) -> u32 {
        let RoundMsg::Values { values, .. } = self;
        values.iter().fold(HEADER_BYTES, |n, p| n.saturating_add(p.size_bytes))
    }

    fn corrupt(&mut self) {
        let RoundMsg::Values { values, .. } = self;
        values.iter_mut().for_each(Payload::corrupt);
    }

    /// The values carried: every one the sender knows, so a copy grows with the run.
    fn heap_bytes(&self) -> u64 {
        let RoundMsg::Values { values, .. } = self;
        crate::process::vec_bytes(values)
    }
}

/// One node: what it knows.
pub struct GossipRounds {
    mode: Mode,
    period_ns: u64,
    known: BTreeMap<AppId, Payload>,
}

impl GossipRounds {
    fn learn(&mut self, ctx: &mut Ctx<'_, RoundMsg, ()>, values: Vec<Payload>) {
        for p in values {
            if self.known.insert(p.id, p).is_none() {
                ctx.deliver(p);
            }
        }
    }

    fn values(&self) -> Vec<Payload> {
        self.known.values().copied().collect()
    }
}

impl Process for GossipRounds {
    type Msg = RoundMsg;
    type Timer = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        map_bytes::<AppId, Payload>(self.known.len())
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, RoundMsg, ()>) {
        ctx.set_timer(self.period_ns, ());
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, RoundMsg, ()>, cmd: Command) {
        let Command::Send { payload, .. } = cmd;
        self.learn(ctx, vec![payload]);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RoundMsg, ()>, incoming: Incoming<RoundMsg>) {
        if !incoming.checksum_ok {
            return;
        }
        let RoundMsg::Values { values, reply } = incoming.msg;
        self.learn(ctx, values);
        if reply && !self.known.is_empty() {
            ctx.send(incoming.from, RoundMsg::Values { values: self.values(), reply: false });
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RoundMsg, ()>, (): ()) {
        ctx.set_timer(self.period_ns, ());
        let n = ctx.cluster().len() as u64;
        if n < 2 {
            return;
        }
        // Uniform over the other nodes: draw from n-1 and skip over ourselves.
        let me = ctx.me().0;
        let pick = ctx.rng().below(n - 1) as u32;
        let to = NodeId(if pick >= me { pick + 1 } else { pick });
        let msg = match self.mode {
            Mode::Push if self.known.is_empty() => return,
            Mode::Push => RoundMsg::Values { values: self.values(), reply: false },
            Mode::Pull => RoundMsg::Values { values: Vec::new(), reply: true },
            Mode::PushPull => RoundMsg::Values { values: self.values(), reply: true },
        };
        ctx.send(to, msg);
    }
}

/// `GossipRounds(mode: PushPull, period_ms: 20)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "GossipRounds", deny_unknown_fields)]
pub struct Config {
    /// Push, pull or both.
    pub mode: Mode,
    /// The round length.
    pub period_ms: Number,
}

/// Anti-entropy gossip in rounds, as scenarios name it.
pub struct GossipRoundsProtocol;

impl Protocol for GossipRoundsProtocol {
    const NAME: &'static str = "GossipRounds";
    type Config = Config;
    type Process = GossipRounds;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.positive_millis(&[field("period_ms")], config.period_ms, "a round of zero length");
    }

    // Every node opens one exchange with one peer every period, from its start; a push opens
    // it with values and asks nothing back, a pull opens it empty and asks; a node that knows
    // nothing pushes nothing and answers nothing.
    fn rounds(config: &Config, _: &Cluster) -> Option<Rounds> {
        let (opening_carries, answered) = match config.mode {
            Mode::Push => (true, false),
            Mode::Pull => (false, true),
            Mode::PushPull => (true, true),
        };
        Some(Rounds {
            period_ns: ns(config.period_ms),
            per_round: 1,
            every_period: true,
            opens_every_round: true,
            exchange: Some(RoundExchange { opening_carries, answered, silent_when_ignorant: true }),
            nodes: None,
        })
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> GossipRounds {
        let (mode, period_ns) = (config.mode, ns(config.period_ms));
        move |_| GossipRounds { mode, period_ns, known: BTreeMap::new() }
    }
}

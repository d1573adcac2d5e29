//! Rumour mongering (Demers et al.): push in rounds while a rumour is hot, losing interest by a coin, blindly or on feedback; what it never reaches is its residue.
//!
//! A node that learns a value (from the workload or a push) delivers it and holds it as a hot
//! rumour. Every `period_ms` (on its own clock), a node with hot rumours picks one peer at
//! random and pushes them all to it. It loses interest in a rumour (stops pushing it) by a coin
//! of probability 1/k:
//!
//! - **blind** (`feedback: false`): after every push of it. Each node then pushes a rumour a
//!   geometric number of times with mean k, k (1-s) n pushes in all if a fraction 1-s hears
//!   it, and a node is missed by all of them with probability e^(-k(1-s)): the residue s
//!   solves s = e^(-k (1-s)).
//! - **feedback** (`feedback: true`): only when the peer answers that it knew the rumour
//!   already. Demers et al. derive the residue s = e^(-(k+1)(1-s)).
//!
//! `tests/rumour_residue.rs` measures both against these formulas. A node pushes at least once,
//! so a rumour never dies at its origin.

use super::{field, ns};
use crate::id::{AppId, NodeId};
use crate::plugin::{Protocol, Rounds};
use crate::process::{Cluster, Command, Ctx, Incoming, Message, Payload, Process, map_bytes};
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, Scenario};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// What nodes exchange.
#[derive(Clone, Debug)]
pub enum RumourMsg {
    /// The sender's hot rumours.
    Push(Vec<Payload>),
    /// The receiver of a push knew these rumours already.
    Known(Vec<AppId>),
}

/// Header bytes: kind, count, checksum.
const HEADER_BYTES: u32 = 16;

impl Message for RumourMsg {
    fn wire_size(&self) -> u32 {
        match self {
            RumourMsg::Push(rumours) => rumours.iter().fold(HEADER_BYTES, |n, p| n.saturating_add(p.size_bytes)),
            RumourMsg::Known(ids) => HEADER_BYTES.saturating_add(8u32.saturating_mul(ids.len() as u32)),
        }
    }

    fn corrupt(&mut self) {
        if let RumourMsg::Push(rumours) = self {
            rumours.iter_mut().for_each(Payload::corrupt);
        }
    }

    fn heap_bytes(&self) -> u64 {
        match self {
            RumourMsg::Push(rumours) => crate::process::vec_bytes(rumours),
            RumourMsg::Known(ids) => crate::process::vec_bytes(ids),
        }
    }
}

/// One node: what it has heard, and which of it is still hot.
pub struct Monger {
    k: u64,
    feedback: bool,
    period_ns: u64,
    heard: BTreeSet<AppId>,
    hot: BTreeMap<AppId, Payload>,
    /// Whether a round timer is set.
    ticking: bool,
}

impl Monger {
    fn learn(&mut self, ctx: &mut Ctx<'_, RumourMsg, ()>, payload: Payload) {
        ctx.deliver(payload);
        self.hot.insert(payload.id, payload);
        if !self.ticking {
            self.ticking = true;
            ctx.set_timer(self.period_ns, ());
        }
    }

    /// The coin: lose interest with probability 1/k.
    fn lose_interest(&self, ctx: &mut Ctx<'_, RumourMsg, ()>) -> bool {
        ctx.rng().below(self.k) == 0
    }
}

impl Process for Monger {
    type Msg = RumourMsg;
    type Timer = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        map_bytes::<AppId, ()>(self.heard.len()).saturating_add(map_bytes::<AppId, Payload>(self.hot.len()))
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, RumourMsg, ()>, cmd: Command) {
        let Command::Send { payload, .. } = cmd;
        if self.heard.insert(payload.id) {
            self.learn(ctx, payload);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RumourMsg, ()>, incoming: Incoming<RumourMsg>) {
        if !incoming.checksum_ok {
            return;
        }
        match incoming.msg {
            RumourMsg::Push(rumours) => {
                let mut known = Vec::new();
                for p in rumours {
                    if self.heard.insert(p.id) {
                        self.learn(ctx, p);
                    } else {
                        known.push(p.id);
                    }
                }
                if self.feedback && !known.is_empty() {
                    ctx.send(incoming.from, RumourMsg::Known(known));
                }
            }
            RumourMsg::Known(ids) => {
                for id in ids {
                    if self.hot.contains_key(&id) && self.lose_interest(ctx) {
                        self.hot.remove(&id);
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RumourMsg, ()>, (): ()) {
        let n = ctx.cluster().len() as u64;
        if self.hot.is_empty() || n < 2 {
            self.ticking = false;
            return;
        }
        // Uniform over the other nodes: draw from n-1 and skip over ourselves.
        let me = ctx.me().0;
        let pick = ctx.rng().below(n - 1) as u32;
        let to = NodeId(if pick >= me { pick + 1 } else { pick });
        ctx.send(to, RumourMsg::Push(self.hot.values().copied().collect()));
        if !self.feedback {
            let ids: Vec<AppId> = self.hot.keys().copied().collect();
            for id in ids {
                if self.lose_interest(ctx) {
                    self.hot.remove(&id);
                }
            }
        }
        // Feedback may still cool what is left; the next round sees.
        ctx.set_timer(self.period_ns, ());
    }
}

/// `RumourMongering(k: 2, feedback: true, period_ms: 10)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "RumourMongering", deny_unknown_fields)]
pub struct Config {
    /// Lose interest with probability 1/k.
    pub k: Whole,
    /// Toss the coin on feedback (the peer knew it) rather than after every push.
    pub feedback: bool,
    /// The round length.
    pub period_ms: Number,
}

/// Rumour mongering, as scenarios name it.
pub struct RumourMongeringProtocol;

impl Protocol for RumourMongeringProtocol {
    const NAME: &'static str = "RumourMongering";
    type Config = Config;
    type Process = Monger;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.within(&[field("k")], config.k.0, 1..=1_000_000, |k| format!("a coin of 1/{k}"));
        cx.positive_millis(&[field("period_ms")], config.period_ms, "a round of zero length");
    }

    // A node pushes one peer a round while it has hot rumours; its rounds stop when none is
    // left and start again with the next one learned.
    fn rounds(config: &Config, _: &Cluster) -> Option<Rounds> {
        Some(Rounds {
            period_ns: ns(config.period_ms),
            per_round: 1,
            every_period: false,
            opens_every_round: false,
            exchange: None,
            nodes: None,
        })
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> Monger {
        let (k, feedback, period_ns) = (config.k.0, config.feedback, ns(config.period_ms));
        move |_| Monger { k, feedback, period_ns, heard: BTreeSet::new(), hot: BTreeMap::new(), ticking: false }
    }
}

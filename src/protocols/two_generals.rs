//! The Two Generals: a plan carried back and forth over a lossy link for a fixed number of rounds, each general attacking only if every round due to it arrived.
//!
//! The workload hands a plan (an application message to node B) to general A. Round 1 is the
//! plan itself, A to B; round i+1 acknowledges round i and goes the other way; there are
//! `rounds` of them, each sent once, and a round is sent only on receipt of the one before. A
//! decides `decide_ms` after the plan, B `decide_ms` after round 1 reached it: a general
//! attacks (delivers the plan: its `deliver` line is the decision) if the last round due to it
//! arrived, and otherwise retreats (no `deliver`). B never hears of a plan whose round 1 was
//! lost, and retreats.
//!
//! If the first lost round is round j < `rounds`, its receiver retreats, and so does its
//! sender, whose next round (j+1) never comes: they agree. If every round arrives they both
//! attack. Only the loss of the last round splits them: its sender has all it was waiting for
//! and attacks, its receiver retreats. On a link losing each message with probability p the
//! generals disagree with probability p (1-p)^(rounds-1), above zero for every finite number of
//! rounds: the sender of the last message can never know it arrived. `SameDecision` judges
//! each plan; `tests/two_generals.rs` measures the probability against the formula.
//!
//! The decision is final: rounds arriving after it are ignored, so `decide_ms` must leave
//! time for every round (validation asks for no more than that it is positive).

use super::{field, ns};
use crate::id::{AppId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Dest, Incoming, Message, Payload, Process};
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, Scenario};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One round of a plan's exchange.
#[derive(Clone, Debug)]
pub struct Round {
    /// The plan, carried by every round so a general learns it from whichever it gets.
    pub plan: Payload,
    /// 1 for the plan itself, i+1 for the acknowledgement of round i.
    pub round: u32,
}

/// Header bytes: the round number and a checksum.
const HEADER_BYTES: u32 = 16;

impl Message for Round {
    fn wire_size(&self) -> u32 {
        HEADER_BYTES.saturating_add(self.plan.size_bytes)
    }

    fn corrupt(&mut self) {
        self.plan.corrupt();
    }
}

/// What one general knows of one plan.
struct Plan {
    plan: Payload,
    /// Whether this general sends the odd rounds (it is A, the one the workload gave the plan).
    commander: bool,
    /// The highest round received (0: none).
    received: u32,
    decided: bool,
}

/// One general: every plan it takes part in, as commander or as the other.
pub struct General {
    rounds: u32,
    decide_ns: u64,
    plans: BTreeMap<AppId, Plan>,
}

impl General {
    /// A general exchanging `rounds` rounds and deciding `decide_ns` after it learns of a plan.
    pub fn new(rounds: u32, decide_ns: u64) -> General {
        General { rounds, decide_ns, plans: BTreeMap::new() }
    }

    /// The last round due to a general: the largest even round for the commander (none if
    /// `rounds` is 1), the largest odd one for the other.
    fn last_due(&self, commander: bool) -> u32 {
        let parity = if commander { 0 } else { 1 };
        (1..=self.rounds).rev().find(|r| r % 2 == parity).unwrap_or(0)
    }
}

impl Process for General {
    type Msg = Round;
    type Timer = AppId;

    fn on_command(&mut self, ctx: &mut Ctx<'_, Round, AppId>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        // A plan names the other general; a multicast plan has no single one, and is not made.
        let Dest::Node(to) = dest else { return };
        if to == ctx.me() {
            return;
        }
        self.plans.insert(payload.id, Plan { plan: payload, commander: true, received: 0, decided: false });
        ctx.send(to, Round { plan: payload, round: 1 });
        ctx.set_timer(self.decide_ns, payload.id);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Round, AppId>, incoming: Incoming<Round>) {
        if !incoming.checksum_ok {
            return; // a damaged round is a lost one
        }
        let Round { plan, round } = incoming.msg;
        if round == 1 && !self.plans.contains_key(&plan.id) {
            self.plans.insert(plan.id, Plan { plan, commander: false, received: 0, decided: false });
            ctx.set_timer(self.decide_ns, plan.id);
        }
        let Some(p) = self.plans.get_mut(&plan.id) else { return };
        // Only the next round due counts: a duplicate or a late round changes nothing.
        let expected = match (p.received, p.commander) {
            (0, true) => 2,
            (0, false) => 1,
            (r, _) => r + 2,
        };
        if p.decided || round != expected {
            return;
        }
        p.received = round;
        if round < self.rounds {
            ctx.send(incoming.from, Round { plan, round: round + 1 });
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Round, AppId>, app: AppId) {
        let Some(p) = self.plans.get(&app) else { return };
        let (commander, received, plan) = (p.commander, p.received, p.plan);
        if self.last_due(commander) == received {
            ctx.deliver(plan);
        }
        if let Some(p) = self.plans.get_mut(&app) {
            p.decided = true;
        }
    }
}

/// `TwoGenerals(rounds: 3, decide_ms: 50)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "TwoGenerals", deny_unknown_fields)]
pub struct Config {
    /// Messages exchanged per plan: the plan, then acknowledgements of acknowledgements.
    pub rounds: Whole,
    /// How long after learning of a plan a general decides.
    pub decide_ms: Number,
}

/// The Two Generals protocol, as scenarios name it.
pub struct TwoGeneralsProtocol;

impl Protocol for TwoGeneralsProtocol {
    const NAME: &'static str = "TwoGenerals";
    type Config = Config;
    type Process = General;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.within(&[field("rounds")], config.rounds.0, 1..=1_000, |k| format!("{k} rounds"));
        cx.positive_millis(&[field("decide_ms")], config.decide_ms, "a decision with no time for the rounds");
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> General {
        // Validation bounds the rounds.
        let (rounds, decide_ns) = (config.rounds.0 as u32, ns(config.decide_ms));
        move |_| General::new(rounds, decide_ns)
    }
}

/// The decision time of a scenario's Two Generals, for `SameDecision`: a plan is judged once
/// both generals must have decided.
pub fn decide_ns(scenario: &Scenario) -> u64 {
    scenario.protocol.config::<Config>().map_or(0, |c| ns(c.decide_ms))
}

/// The number of rounds, when the protocol is the Two Generals: what `ActsOnLastRound` reads to
/// know which round each general must have received before it acts.
pub fn rounds(scenario: &Scenario) -> Option<u32> {
    scenario.protocol.config::<Config>().map(|c| c.rounds.0.min(u64::from(u32::MAX)) as u32)
}

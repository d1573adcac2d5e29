//! `RoundPace`: a protocol that runs in periodic rounds runs one round per period on each node, no faster, no more messages a round than it declares, and (where it declares rounds every period) no slower.
//!
//! The protocol declares its rounds (`Protocol::rounds`: the period on the node's clock, the
//! most messages a round sends, and whether a node runs a round every period from its start).
//! A round is a firing of the node's timer (`timer` line), and its messages are the `send`
//! lines of that firing's handler. Judged per node, from the trace alone:
//! - two firings are never closer than a period (the period read on the node's clock, so a
//!   drifting clock's shorter or longer real period is allowed for): a second timer chain, a
//!   round timer armed twice, shows as firings closer than that;
//! - a firing sends at most `per_round` messages, and, where the protocol promises that every
//!   round opens an exchange (`Rounds::opens_every_round`), at least one, at a node with a
//!   peer (save a push by a node that knows nothing, where the exchange says such a node
//!   stays silent); a send held back by a full mailbox counts;
//! - with `every_period`, the firings come exactly a period apart from the node's start (or
//!   restart), and the last one less than a period before the run ended: a round re-armed late,
//!   or a chain that stopped, fails.
//!
//! Where the protocol declares what a round's exchange does (`Rounds::exchange`: push, pull
//! or both), the round's messages are *openings* and every other message of the run an
//! answer, and the step that takes a message (its `recv` line and the receiver's lines after
//! it at that instant) is judged:
//! - an opening that carries nothing (a pull) teaches nothing: no `deliver` in its step;
//! - only an opening that asks (a pull) is answered: a `send` in the step of an opening that
//!   does not ask (a push), or of an answer, fails;
//! - where the protocol says a node that knows nothing stays silent, a node that has
//!   delivered no value since its start (or restart) sends no answer, and no opening that
//!   does not ask.
//!
//! Where the protocol promises that every round's message, taken intact, teaches its receiver
//! a value or is answered (rumour mongering with feedback pushes only hot rumours, and its
//! receiver delivers each one new to it and answers the ones it knew), a round's message whose
//! step (its `recv` line and the receiver's lines after it at that instant) has neither a
//! `deliver` nor a `send` of the receiver fails: an empty push, from a node with nothing hot.
//!
//! A crash ends a node's rounds and its restart starts them again; a pause, or a wait of the
//! node's own (a blocking send, a full mailbox's back-pressure), holds its timers, so the gap
//! across one is not judged, nor is lateness at a node with a mailbox (a timer there waits its
//! turn behind the messages). Without declared rounds, or with no round fired, the verdict is
//! inconclusive.

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::MsgId;
use crate::id::NodeId;
use crate::process::Cluster;
use crate::scenario::{RoundExchange, Rounds};
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::BTreeSet;

/// Checks each node's rounds against the rounds its protocol declares.
pub struct RoundPace {
    cluster: Cluster,
    clocks: Vec<Clock>,
    rounds: Option<Pace>,
    /// Per node: whether it runs rounds (its timers are judged; a client's timeouts are not).
    runs: Vec<bool>,
    /// Per node: whether a mailbox may delay its handlers (lateness is then not judged).
    queued: Vec<bool>,
    /// Per node: the time its rounds are counted from (its start, restart or last firing), or
    /// `None` while it is down, or until its first firing after a pause.
    since: Vec<Option<SimTime>>,
    /// Per node: whether it is crashed.
    down: Vec<bool>,
    /// The firing whose handler is running: its node, the messages it sent so far, and when.
    firing: Option<(NodeId, u32, SimTime)>,
    /// Rounds that sent nothing where the protocol promises every round opens an exchange.
    silent: Breaches,
    fired: u64,
    early: Breaches,
    crowded: Breaches,
    late: Breaches,
    /// The round's messages sent so far (kept only where the exchange is judged).
    openings: BTreeSet<MsgId>,
    /// The step taking a message: its instant, its receiver, the message, and whether it is an opening.
    taking: Option<(SimTime, NodeId, MsgId, bool)>,
    /// Values learned from an opening that carries none.
    taught: Breaches,
    /// Messages sent in the step of a message no one asked an answer to.
    unasked: Breaches,
    /// Per node: whether it has delivered a value since its start or restart.
    knows: Vec<bool>,
    /// Messages with nothing to carry, sent by a node that knows nothing.
    empty: Breaches,
    /// Steps that took a message, judged.
    taken: u64,
    /// Whether every round's message, taken intact, must teach its receiver something or be
    /// answered (rumour mongering with feedback: every rumour pushed is new, or known and
    /// answered as such); see `with_pushes_fruitful`.
    fruitful: bool,
    /// Round messages sent (kept only where `fruitful` is judged).
    pushes: BTreeSet<MsgId>,
    /// The step taking a round's message: its instant, receiver, the message, and whether it
    /// taught (a `deliver`) or was answered (a `send`) so far.
    pushed: Option<(SimTime, NodeId, MsgId, bool)>,
    /// Round messages taken that neither taught nor were answered.
    barren: Breaches,
}

/// What the declared rounds promise, less the nodes that run them (`RoundPace::runs`).
#[derive(Clone, Copy)]
struct Pace {
    period_ns: u64,
    per_round: u32,
    every_period: bool,
    opens_every_round: bool,
    exchange: Option<RoundExchange>,
}

impl RoundPace {
    /// A checker for `cluster` whose nodes keep `clocks` (missing ones are exact) and whose
    /// protocol declares `rounds` (`None`: nothing to judge); `queued` marks nodes with a mailbox.
    pub fn new(cluster: Cluster, clocks: Vec<Clock>, rounds: Option<Rounds>, queued: Vec<bool>) -> RoundPace {
        let n = cluster.len();
        let runs = match rounds.as_ref().and_then(|r| r.nodes.as_ref()) {
            Some(nodes) => (0..n).map(|i| nodes.contains(&NodeId(i as u32))).collect(),
            None => vec![true; n],
        };
        let rounds = rounds.map(|r| Pace {
            period_ns: r.period_ns,
            per_round: r.per_round,
            every_period: r.every_period,
            opens_every_round: r.opens_every_round,
            exchange: r.exchange,
        });
        RoundPace {
            cluster,
            clocks,
            rounds,
            runs,
            queued,
            since: vec![Some(SimTime(0)); n],
            down: vec![false; n],
            firing: None,
            silent: Breaches::default(),
            fired: 0,
            early: Breaches::default(),
            crowded: Breaches::default(),
            late: Breaches::default(),
            openings: BTreeSet::new(),
            taking: None,
            taught: Breaches::default(),
            unasked: Breaches::default(),
            knows: vec![false; n],
            empty: Breaches::default(),
            taken: 0,
            fruitful: false,
            pushes: BTreeSet::new(),
            pushed: None,
            barren: Breaches::default(),
        }
    }

    /// The same, holding every round's message, taken intact, to teach its receiver a value or
    /// be answered in the step that takes it (a push of hot rumours under feedback: each is new
    /// to the receiver, or known and answered so). A round with nothing to push sends nothing.
    pub fn with_pushes_fruitful(mut self, fruitful: bool) -> RoundPace {
        self.fruitful = fruitful;
        self
    }

    /// The fruitful clause, before `observe` follows the round's firing.
    fn fruit(&mut self, e: &TraceEvent) {
        if self.pushed.is_some_and(|p| p.0 != e.time) {
            self.end_push();
        }
        match e.kind {
            EventKind::Send { from, msg, .. } => {
                if self.firing.is_some_and(|f| f.0 == from) {
                    self.pushes.insert(msg);
                }
                if let Some((_, taker, _, fruit)) = self.pushed.as_mut()
                    && *taker == from
                {
                    *fruit = true;
                }
            }
            EventKind::Deliver { node, .. } => {
                if let Some((_, taker, _, fruit)) = self.pushed.as_mut()
                    && *taker == node
                {
                    *fruit = true;
                }
            }
            EventKind::Receive { to, msg, corrupted, .. } => {
                self.end_push();
                if !corrupted && self.pushes.contains(&msg) {
                    self.pushed = Some((e.time, to, msg, false));
                }
            }
            // The taker waiting to send (back-pressure from a full mailbox) is its answer, held
            // back: the send comes when the wait ends, not in this step.
            EventKind::Block { node, .. } => {
                if let Some((_, taker, _, fruit)) = self.pushed.as_mut()
                    && *taker == node
                {
                    *fruit = true;
                }
                self.end_push();
            }
            EventKind::Timer { .. } | EventKind::Command { .. } | EventKind::Fault { .. } => self.end_push(),
            _ => {}
        }
    }

    /// The step taking a round's message is over: judged.
    fn end_push(&mut self) {
        if let Some((at, taker, msg, false)) = self.pushed.take() {
            let name = self.cluster.name(taker);
            self.barren.record(at, || format!("{name} took m{}, a round's push, and neither learned from it nor answered it", msg.0));
        }
    }

    /// The real length of `node`'s period.
    fn period(&self, node: NodeId, rounds: Pace) -> u64 {
        self.clocks.get(node.index()).copied().unwrap_or_default().real_duration(rounds.period_ns)
    }

    fn judges_lateness(&self, node: NodeId, rounds: Pace) -> bool {
        rounds.every_period && self.runs[node.index()] && !self.queued.get(node.index()).copied().unwrap_or(false)
    }

    /// The firing's handler is over: a round that sent nothing, where every round opens an
    /// exchange, is judged (`sent` also counts a send held back by a full mailbox).
    fn end_round(&mut self) {
        let Some((node, 0, at)) = self.firing.take() else { return };
        if self.silent_allowed(node) {
            return;
        }
        Self::record_silent(&mut self.silent, &self.cluster, node, at);
    }

    fn record_silent(silent: &mut Breaches, cluster: &Cluster, node: NodeId, at: SimTime) {
        let name = cluster.name(node);
        silent.record(at, || format!("{name} ran a round and sent nothing"));
    }

    /// Whether a round of `node` may send nothing: where the protocol does not promise every
    /// round opens an exchange, for a node without a peer, and for a push by a node that knows
    /// nothing where the exchange says such a node stays silent.
    fn silent_allowed(&self, node: NodeId) -> bool {
        let Some(rounds) = self.rounds else { return true };
        let ignorant_push = rounds.exchange.is_some_and(|x| !x.answered && x.silent_when_ignorant) && !self.knows[node.index()];
        !rounds.opens_every_round || self.cluster.len() < 2 || ignorant_push
    }

    fn fire(&mut self, node: NodeId, at: SimTime, rounds: Pace) {
        self.end_round();
        self.fired += 1;
        self.firing = Some((node, 0, at));
        let period = self.period(node, rounds);
        if let Some(since) = self.since[node.index()] {
            let gap = at.0.saturating_sub(since.0);
            let name = self.cluster.name(node);
            if gap < period {
                self.early
                    .record(at, || format!("{name} ran a round {} after the one before (its period is {})", SimTime(gap), SimTime(period)));
            } else if gap > period && self.judges_lateness(node, rounds) {
                self.late.record(at, || {
                    format!("{name} ran a round {} after the one before or its start (its period is {})", SimTime(gap), SimTime(period))
                });
            }
        }
        self.since[node.index()] = Some(at);
    }
}

impl RoundPace {
    /// The exchange's clauses, after `observe` has followed the round's firing.
    fn exchange(&mut self, e: &TraceEvent, exchange: RoundExchange) {
        // The step taking a message ends when time moves on or another step begins.
        if self.taking.is_some_and(|t| t.0 != e.time) {
            self.taking = None;
        }
        match e.kind {
            EventKind::Send { from, to, msg, .. } => {
                let opening = self.firing.is_some_and(|f| f.0 == from);
                let answering = self.taking.is_some_and(|(_, node, _, _)| node == from);
                if exchange.silent_when_ignorant && !self.knows[from.index()] && (answering || (opening && !exchange.answered)) {
                    let (name, peer) = (self.cluster.name(from), self.cluster.name(to));
                    let what = if opening { "a push" } else { "an answer" };
                    self.empty.record(e.time, || format!("{name} sent m{} to {peer} ({what}) knowing nothing", msg.0));
                }
                if opening {
                    self.openings.insert(msg);
                } else if let Some((_, node, taken, opening)) = self.taking
                    && node == from
                    && !(opening && exchange.answered)
                {
                    let (name, peer) = (self.cluster.name(from), self.cluster.name(to));
                    let what = if opening { "a round's opening, which asks nothing back" } else { "an answer" };
                    self.unasked.record(e.time, || format!("{name} sent m{} to {peer} on taking m{} ({what})", msg.0, taken.0));
                }
            }
            EventKind::Receive { to, msg, .. } => {
                self.taken += 1;
                self.taking = Some((e.time, to, msg, self.openings.contains(&msg)));
            }
            EventKind::Deliver { node, app, .. } => {
                self.knows[node.index()] = true;
                if let Some((_, taker, taken, true)) = self.taking
                    && taker == node
                    && !exchange.opening_carries
                {
                    let name = self.cluster.name(node);
                    self.taught.record(e.time, || {
                        format!("{name} learned a{} from m{}, a round's opening, which carries no values", app.0, taken.0)
                    });
                }
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.taking = None;
                self.knows[node.index()] = false;
            }
            EventKind::Timer { .. } | EventKind::Command { .. } | EventKind::Fault { .. } | EventKind::Block { .. } => self.taking = None,
            _ => {}
        }
    }
}

impl Checker for RoundPace {
    fn heap_bytes(&self) -> u64 {
        crate::budget::set(&self.openings) + crate::budget::set(&self.pushes)
    }

    fn observe(&mut self, e: &TraceEvent) {
        let Some(rounds) = self.rounds else { return };
        if self.fruitful {
            self.fruit(e);
        }
        if let Some(exchange) = rounds.exchange {
            self.exchange(e, exchange);
        }
        match e.kind {
            EventKind::Timer { node, .. } if self.runs[node.index()] => self.fire(node, e.time, rounds),
            EventKind::Timer { .. } => self.end_round(),
            EventKind::Send { from, msg, .. } => match &mut self.firing {
                Some((node, sent, _)) if *node == from => {
                    *sent += 1;
                    if *sent > rounds.per_round {
                        let (name, per_round) = (self.cluster.name(from), rounds.per_round);
                        self.crowded
                            .record(e.time, || format!("{name} sent m{} as message {sent} of one round (at most {per_round})", msg.0));
                    }
                }
                _ => self.end_round(),
            },
            EventKind::Receive { .. } | EventKind::Command { .. } => self.end_round(),
            EventKind::Fault { action, node, .. } => {
                self.end_round();
                let Some(node) = node else { return };
                match action {
                    FaultAction::Crash => {
                        self.down[node.index()] = true;
                        self.since[node.index()] = None;
                    }
                    FaultAction::Restart => {
                        self.down[node.index()] = false;
                        self.since[node.index()] = Some(e.time);
                    }
                    FaultAction::Pause => self.since[node.index()] = None,
                    _ => {}
                }
            }
            // A node waiting has its timers held, as a paused one has.
            EventKind::Block { node, .. } => {
                if let Some((firing, sent, _)) = self.firing.as_mut()
                    && *firing == node
                {
                    *sent += 1;
                }
                self.end_round();
                self.since[node.index()] = None;
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some(rounds) = self.rounds else {
            return Verdict::inconclusive("the protocol declares no periodic rounds: nothing to judge");
        };
        if let Some(failed) = self.early.verdict("rounds closer than a period") {
            return failed;
        }
        if let Some(failed) = self.crowded.verdict("messages beyond a round's share") {
            return failed;
        }
        let mut silent = self.silent.clone();
        if let Some((node, 0, at)) = self.firing
            && !self.silent_allowed(node)
        {
            Self::record_silent(&mut silent, &self.cluster, node, at);
        }
        if let Some(failed) = silent.verdict("rounds that opened no exchange") {
            return failed;
        }
        if let Some(failed) = self.taught.verdict("values learned from openings that carry none") {
            return failed;
        }
        if let Some(failed) = self.empty.verdict("messages with nothing to carry, from nodes that know nothing") {
            return failed;
        }
        if let Some(failed) = self.unasked.verdict("messages sent in answer to a message that asks for none") {
            return failed;
        }
        let mut barren = self.barren.clone();
        if let Some((at, taker, msg, false)) = self.pushed {
            let name = self.cluster.name(taker);
            barren.record(at, || format!("{name} took m{}, a round's push, and neither learned from it nor answered it", msg.0));
        }
        if let Some(failed) = barren.verdict("round messages that taught nothing and were not answered") {
            return failed;
        }
        // A chain that stopped: a node up at the end whose last round is more than a period old.
        let mut stopped = Breaches::default();
        for (i, since) in self.since.iter().enumerate() {
            let node = NodeId(i as u32);
            if let Some(since) = since
                && !self.down[i]
                && self.judges_lateness(node, rounds)
                && end.at.0.saturating_sub(since.0) > self.period(node, rounds)
            {
                let name = self.cluster.name(node);
                stopped.record(*since, || format!("{name} ran its last round, more than a period before the run ended at {}", end.at));
            }
        }
        if let Some(failed) = self.late.verdict("rounds later than a period").or_else(|| stopped.verdict("nodes whose rounds stopped")) {
            return failed;
        }
        if self.fired == 0 {
            return Verdict::inconclusive("no round ran: nothing to judge");
        }
        let pace = if rounds.every_period { "exactly a period apart" } else { "at least a period apart" };
        let exchange = match rounds.exchange {
            Some(x) => format!(
                "; {} messages taken, {} and {}",
                self.taken,
                if x.opening_carries { "openings free to teach" } else { "no opening teaching a value" },
                if x.answered { "only openings answered" } else { "none answered" }
            ),
            None => String::new(),
        };
        Verdict::pass(format!("{} rounds, {pace}, each of at most {} message(s){exchange}", self.fired, rounds.per_round))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::EndReason;
    use crate::check::Outcome;
    use crate::check::test_events::ev;
    use crate::id::{MsgId, TimerId};

    fn cluster() -> Cluster {
        Cluster { names: ["a", "b"].map(String::from).to_vec(), groups: vec![] }
    }

    fn fire(ms: u64, node: u32) -> TraceEvent {
        ev(ms, EventKind::Timer { node: NodeId(node), timer: TimerId(0) })
    }

    fn send(ms: u64, from: u32) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(1 - from), msg: MsgId(0), size: 8 })
    }

    fn judge(every_period: bool, events: &[TraceEvent], end_ms: u64) -> Verdict {
        let rounds = Rounds { period_ns: 10_000_000, per_round: 1, every_period, opens_every_round: false, exchange: None, nodes: None };
        let mut checker = RoundPace::new(cluster(), vec![], Some(rounds), vec![false; 2]);
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(end_ms * 1_000_000), max_latency_ns: 0 })
    }

    // Postmortem: a rumour monger arming a new round timer for every rumour it learned pushed
    // several times a period, and every check passed: all the rumours still spread.
    #[test]
    fn rounds_closer_than_a_period_fail() {
        let paced = [fire(10, 0), send(10, 0), fire(25, 0), send(25, 0)];
        assert_eq!(judge(false, &paced, 30).outcome, Outcome::Pass);
        let twice = [fire(10, 0), send(10, 0), fire(13, 0), send(13, 0)];
        let verdict = judge(false, &twice, 30);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("a ran a round 3.000ms after the one before"), "{}", verdict.detail);
    }

    /// Postmortem: a rumour monger with nothing hot kept its round timer and pushed an empty
    /// message every period for the rest of the run; rounds may come at any time under
    /// `every_period: false` and an empty push delivers nothing, so it passed (held-out set 12,
    /// rumour-ticks-on-when-cold).
    // Postmortem: a batched-gossip server whose first tick came at the resend time, not a
    // period after its start, passed every check: its rounds were not declared, since a
    // client's timeouts (timers too) would have been judged as rounds.
    #[test]
    fn regression_only_the_declared_nodes_rounds_are_judged() {
        let judge_runners = |events: &[TraceEvent]| {
            let rounds = Rounds {
                period_ns: 10_000_000,
                per_round: 1,
                every_period: true,
                opens_every_round: false,
                exchange: None,
                nodes: Some(vec![NodeId(0)]),
            };
            let mut checker = RoundPace::new(cluster(), vec![], Some(rounds), vec![false; 2]);
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(25_000_000), max_latency_ns: 0 })
        };
        // b's timers (a client's timeouts, say) come at any time, and b never ticks: not judged.
        let on_time = judge_runners(&[fire(10, 0), fire(13, 1), send(13, 1), send(13, 1), fire(20, 0)]);
        assert_eq!(on_time.outcome, Outcome::Pass, "{}", on_time.detail);
        assert!(on_time.detail.starts_with("2 rounds"), "{}", on_time.detail);
        let late_first = judge_runners(&[fire(15, 0), fire(25, 0)]);
        assert_eq!(late_first.outcome, Outcome::Fail, "{}", late_first.detail);
        assert!(late_first.detail.contains("a ran a round 15.000ms after the one before or its start"), "{}", late_first.detail);
    }

    #[test]
    fn regression_under_feedback_a_push_teaches_or_is_answered() {
        let judge_fruit = |events: &[TraceEvent]| {
            let rounds =
                Rounds { period_ns: 10_000_000, per_round: 1, every_period: false, opens_every_round: false, exchange: None, nodes: None };
            let mut checker = RoundPace::new(cluster(), vec![], Some(rounds), vec![false; 2]).with_pushes_fruitful(true);
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(50_000_000), max_latency_ns: 0 })
        };
        let recv = |ms, corrupted| ev(ms, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(0), corrupted });
        let deliver = |ms| ev(ms, EventKind::Deliver { node: NodeId(1), app: crate::id::AppId(3), origin: NodeId(0), damaged: false });
        let known = |ms| ev(ms, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(1), size: 8 });
        assert_ne!(judge_fruit(&[fire(10, 0), send(10, 0), recv(11, false), deliver(11)]).outcome, Outcome::Fail);
        assert_ne!(judge_fruit(&[fire(10, 0), send(10, 0), recv(11, false), known(11)]).outcome, Outcome::Fail);
        assert_ne!(judge_fruit(&[fire(10, 0), send(10, 0), recv(11, true)]).outcome, Outcome::Fail, "a damaged push is dropped");
        let empty = judge_fruit(&[fire(10, 0), send(10, 0), recv(11, false), fire(20, 1)]);
        assert_eq!(empty.outcome, Outcome::Fail, "{}", empty.detail);
        assert!(empty.detail.contains("b took m0, a round's push, and neither learned from it nor answered it"), "{}", empty.detail);
        // Still judged when the run ends in its step.
        assert_eq!(judge_fruit(&[fire(10, 0), send(10, 0), recv(11, false)]).outcome, Outcome::Fail);
    }

    // Postmortem: a receiver whose answer to a push waited on back-pressure (the pusher's
    // mailbox full) was judged to have neither learned nor answered, since its send came only
    // when the wait ended: every correct feedback run under `BackPressure` mailboxes failed.
    #[test]
    fn regression_a_push_answered_under_back_pressure_is_answered() {
        let rounds =
            Rounds { period_ns: 10_000_000, per_round: 1, every_period: false, opens_every_round: false, exchange: None, nodes: None };
        let judge_fruit = |events: &[TraceEvent]| {
            let mut checker = RoundPace::new(cluster(), vec![], Some(rounds.clone()), vec![true; 2]).with_pushes_fruitful(true);
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(50_000_000), max_latency_ns: 0 })
        };
        let recv = ev(11, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(0), corrupted: false });
        let block = |node| {
            ev(
                11,
                EventKind::Block {
                    node: NodeId(node),
                    on: NodeId(1 - node),
                    reason: crate::trace::BlockReason::BackPressure,
                    timeout: false,
                },
            )
        };
        let waits = judge_fruit(&[fire(10, 0), send(10, 0), recv, block(1)]);
        assert_ne!(waits.outcome, Outcome::Fail, "{}", waits.detail);
        // Another node's wait in the same instant is no answer of the taker's.
        let other = judge_fruit(&[fire(10, 0), send(10, 0), recv, block(0)]);
        assert_eq!(other.outcome, Outcome::Fail, "{}", other.detail);
    }

    #[test]
    fn a_round_sends_at_most_its_share() {
        let two = [fire(10, 0), send(10, 0), send(10, 0)];
        let verdict = judge(false, &two, 15);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        // A reply sent on a receive is not the round's.
        let reply = [
            fire(10, 0),
            send(10, 0),
            ev(11, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(1), corrupted: false }),
            send(11, 0),
        ];
        assert_eq!(judge(false, &reply, 15).outcome, Outcome::Pass);
    }

    // Postmortem: a push-pull gossip node that knew nothing skipped its round (it had nothing
    // to push, but a push-pull opening also asks), so it learned only from others' pushes, and
    // nothing judged a round that sent nothing (held-out 13, gr-pushpull-ignorant-opens-nothing).
    #[test]
    fn regression_a_round_that_must_open_an_exchange_sends() {
        let judge_opening = |exchange: Option<RoundExchange>, events: &[TraceEvent]| {
            let rounds =
                Rounds { period_ns: 10_000_000, per_round: 1, every_period: false, opens_every_round: true, exchange, nodes: None };
            let mut checker = RoundPace::new(cluster(), vec![], Some(rounds), vec![false; 2]);
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(30_000_000), max_latency_ns: 0 })
        };
        let pull = RoundExchange { opening_carries: false, answered: true, silent_when_ignorant: true };
        let push = RoundExchange { opening_carries: true, answered: false, silent_when_ignorant: true };
        assert_eq!(judge_opening(Some(pull), &[fire(10, 0), send(10, 0), fire(20, 0), send(20, 0)]).outcome, Outcome::Pass);
        let silent = judge_opening(Some(pull), &[fire(10, 0), send(10, 0), fire(20, 0), fire(20, 1), send(20, 1)]);
        assert_eq!(silent.outcome, Outcome::Fail, "{}", silent.detail);
        assert!(silent.detail.contains("a ran a round and sent nothing"), "{}", silent.detail);
        // Judged when the run ends in the round's step too.
        assert_eq!(judge_opening(None, &[fire(10, 0), send(10, 0), fire(20, 0)]).outcome, Outcome::Fail);
        // A push by a node that knows nothing stays silent; once it knows, it pushes.
        assert_eq!(judge_opening(Some(push), &[fire(10, 0), fire(20, 1)]).outcome, Outcome::Pass);
        let knows = ev(12, EventKind::Deliver { node: NodeId(0), app: crate::id::AppId(3), origin: NodeId(0), damaged: false });
        assert_eq!(judge_opening(Some(push), &[fire(10, 0), knows, fire(20, 0)]).outcome, Outcome::Fail);
        // A send held back by the receiver's full mailbox is sent.
        let block =
            ev(10, EventKind::Block { node: NodeId(0), on: NodeId(1), reason: crate::trace::BlockReason::BackPressure, timeout: false });
        assert_eq!(judge_opening(None, &[fire(10, 0), block]).outcome, Outcome::Pass);
    }

    #[test]
    fn rounds_every_period_may_be_neither_late_nor_stop() {
        let exact = [fire(10, 0), fire(10, 1), fire(20, 0), fire(20, 1)];
        assert_eq!(judge(true, &exact, 25).outcome, Outcome::Pass);
        let late = [fire(10, 0), fire(10, 1), fire(25, 0), fire(20, 1)];
        assert_eq!(judge(true, &late, 26).outcome, Outcome::Fail);
        // b's rounds stopped after 10 ms.
        let stopped = [fire(10, 0), fire(10, 1), fire(20, 0)];
        let verdict = judge(true, &stopped, 25);
        assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.detail);
        assert!(verdict.detail.contains("b ran its last round"), "{}", verdict.detail);
        // Rounds that may stop: the same is fine.
        assert_eq!(judge(false, &stopped, 25).outcome, Outcome::Pass);
        // A crash ends the rounds, a restart starts them again a period later.
        let crash = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(1)), index: 0 });
        let restarted =
            [fire(10, 0), fire(10, 1), crash(12, FaultAction::Crash), fire(20, 0), crash(14, FaultAction::Restart), fire(24, 1)];
        assert_eq!(judge(true, &restarted, 30).outcome, Outcome::Pass, "{}", judge(true, &restarted, 30).detail);
        // A blocked node's timers are held: the gap across the wait is not judged.
        let block =
            ev(12, EventKind::Block { node: NodeId(1), on: NodeId(0), reason: crate::trace::BlockReason::BackPressure, timeout: false });
        let held = [fire(10, 0), fire(10, 1), block, fire(20, 0), fire(30, 0), fire(36, 1), fire(40, 0), fire(46, 1)];
        assert_eq!(judge(true, &held, 48).outcome, Outcome::Pass, "{}", judge(true, &held, 48).detail);
    }

    /// a opens a round to b with m1 at 10 ms; b takes it at 11 ms and does what `after` says.
    fn exchange(mode: RoundExchange, after: &[TraceEvent]) -> Verdict {
        let rounds = Rounds {
            period_ns: 10_000_000,
            per_round: 1,
            every_period: false,
            opens_every_round: false,
            exchange: Some(mode),
            nodes: None,
        };
        let mut checker = RoundPace::new(cluster(), vec![], Some(rounds), vec![false; 2]);
        let open = [fire(10, 0), ev(10, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(1), size: 8 })];
        let take = ev(11, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(1), corrupted: false });
        open.iter().chain([&take]).chain(after).for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(15_000_000), max_latency_ns: 0 })
    }

    fn learns(ms: u64, node: u32) -> TraceEvent {
        ev(ms, EventKind::Deliver { node: NodeId(node), app: crate::id::AppId(4), origin: NodeId(0), damaged: false })
    }

    fn answers(ms: u64, from: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(1 - from), msg: MsgId(msg), size: 8 })
    }

    const PUSH: RoundExchange = RoundExchange { opening_carries: true, answered: false, silent_when_ignorant: false };
    const PULL: RoundExchange = RoundExchange { opening_carries: false, answered: true, silent_when_ignorant: false };
    const PUSH_PULL: RoundExchange = RoundExchange { opening_carries: true, answered: true, silent_when_ignorant: false };

    // Postmortem: the held-out mutant gossip-rounds-pull-pushes-too (a pull's opening carried
    // every value, so Pull ran as PushPull) passed every check: values still spread, faster.
    #[test]
    fn regression_a_pull_opening_teaches_nothing() {
        let v = exchange(PULL, &[learns(11, 1)]);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("at 11.000ms: b learned a4 from m1, a round's opening, which carries no values"), "{}", v.detail);
        assert_eq!(exchange(PUSH_PULL, &[learns(11, 1)]).outcome, Outcome::Pass);
        // Learned from the answer: what a pull does.
        let answered = [
            answers(11, 1, 2),
            ev(12, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(2), corrupted: false }),
            learns(12, 0),
        ];
        let v = exchange(PULL, &answered);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert!(v.detail.contains("2 messages taken, no opening teaching a value and only openings answered"), "{}", v.detail);
        // A later step of b (its own round) is not the opening's.
        assert_eq!(exchange(PULL, &[fire(12, 1), learns(12, 1)]).outcome, Outcome::Pass);
    }

    // Postmortem: the held-out mutant gr-empty-answer-sent (a node that knew nothing answered a
    // pull with an empty message, an extra message per round) passed every check.
    #[test]
    fn regression_a_node_that_knows_nothing_answers_nothing() {
        let quiet = RoundExchange { silent_when_ignorant: true, ..PULL };
        let v = exchange(quiet, &[answers(11, 1, 2)]);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("b sent m2 to a (an answer) knowing nothing"), "{}", v.detail);
        // A node that learned a value before answers with it.
        let mut knowing = vec![learns(5, 1)];
        knowing.push(answers(11, 1, 2));
        let r = |events: &[TraceEvent]| {
            let rounds = Rounds {
                period_ns: 10_000_000,
                per_round: 1,
                every_period: false,
                opens_every_round: false,
                exchange: Some(quiet),
                nodes: None,
            };
            let mut checker = RoundPace::new(cluster(), vec![], Some(rounds), vec![false; 2]);
            let open = [fire(10, 0), ev(10, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(1), size: 8 })];
            let take = ev(11, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(1), corrupted: false });
            [learns(5, 1)].iter().chain(&open).chain([&take]).chain(events).for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(15_000_000), max_latency_ns: 0 })
        };
        assert_eq!(r(&[answers(11, 1, 2)]).outcome, Outcome::Pass, "{}", r(&[answers(11, 1, 2)]).detail);
        // An ignorant push is as empty; an ignorant pull's opening asks, so it is sent.
        let push = RoundExchange { silent_when_ignorant: true, ..PUSH };
        let v = exchange(push, &[]);
        assert!(v.detail.contains("a sent m1 to b (a push) knowing nothing"), "{}", v.detail);
        assert_eq!(exchange(quiet, &[]).outcome, Outcome::Pass);
    }

    #[test]
    fn only_an_opening_that_asks_is_answered() {
        let v = exchange(PUSH, &[answers(11, 1, 2)]);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("b sent m2 to a on taking m1 (a round's opening, which asks nothing back)"), "{}", v.detail);
        assert_eq!(exchange(PUSH_PULL, &[answers(11, 1, 2)]).outcome, Outcome::Pass);
        // An answer is never answered.
        let echo = [
            answers(11, 1, 2),
            ev(12, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(2), corrupted: false }),
            answers(12, 0, 3),
        ];
        let v = exchange(PUSH_PULL, &echo);
        assert!(v.detail.contains("a sent m3 to b on taking m2 (an answer)"), "{}", v.detail);
    }
}

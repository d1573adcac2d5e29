//! `RpcEffect`: what a remote call's caller was told against what the server did: no effect missing from a call answered ok, and none applied twice when the operation is not idempotent.
//!
//! Under the `Rpc` protocol, a call is a workload command; its effect is the server's
//! `deliver` of it, and its caller's verdict the `call` line that ends it (`Ok` on the reply,
//! `Timeout` when the caller gave up). The check fails on a call answered `Ok` whose effect never
//! happened, and, when the operation is `Increment`, on a call whose effect happened more than
//! once (the counter counts it twice). With `Set` a repeated effect is counted, not judged:
//! setting the same value again changes nothing. A call that timed out may have had its effect
//! or not (the caller cannot tell, which is what at-most-once means); the verdict counts both.
//! Calls that had not ended when the run stopped are not judged.
//!
//! A call ends once: a second `call` line for the same call at the same caller, with no
//! crash of the caller between (a restarted caller has forgotten its calls), fails, whatever
//! the two outcomes (a call kept after it timed out, ended again by a late reply).
//!
//! An `Rpc` caller has no other outcome to report: its server never answers with an error and
//! it has no breaker, so a `call` line saying `Error`, `Rejected` or `Admitted` fails (it is
//! never skipped as if it were not a call's end).
//!
//! A `call` line also reports the call's latency, which the protocol counts from the call's
//! start (its command), not from its latest request: it must equal the time between the
//! command and the line on the caller's own clock (offset and drift included), so a resend
//! that restarts the count shows.
//!
//! The server replies `work_ms` after it takes a request (the protocol's "replies `work_ms`
//! later", which leaves a crash between the effect and the reply its chance): every reply, its
//! `ack` line of the call's series, is sent `work_ms` after an intact copy of that call's
//! request (an `attempt` of the same series from that caller) arrived at the server, on the
//! server's clock and since its latest start. A reply sooner, or to a request that never
//! arrived, fails.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{AppId, MsgId, NodeId};
use crate::process::Cluster;
use crate::protocols::rpc::{Config as RpcConfig, Op};
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::trace::{CallOutcome, EventKind, FaultAction, TraceEvent};
use std::collections::BTreeMap;

/// One call as the trace shows it.
#[derive(Clone, Copy)]
struct Call {
    /// The caller.
    client: NodeId,
    /// When it was commanded (its start), in simulated time.
    commanded: SimTime,
    /// How its caller saw it end, if it did.
    ended: Option<CallOutcome>,
    /// How many times the server applied it.
    applied: u32,
    /// How its caller saw it end since the caller's latest start (a crash forgets the call).
    ended_live: Option<CallOutcome>,
}

/// Checks the effects of remote calls against what their callers were told.
pub struct RpcEffect {
    cluster: Cluster,
    /// The operation; `None` under another protocol (nothing judged).
    op: Option<Op>,
    /// The server, if known: its effects owe their callers a reply.
    server: Option<NodeId>,
    calls: BTreeMap<AppId, Call>,
    /// Since the server's latest crash (or the start): effects applied per caller, and the
    /// server's sends to each caller.
    effects: BTreeMap<NodeId, (u64, u64)>,
    /// Each node's clock, on which its calls' latencies are counted (none: true time).
    clocks: Vec<Clock>,
    /// The first call whose reported latency is not the time since its command.
    latency_breach: Option<String>,
    /// The first call its caller ended twice without a crash between.
    twice_ended: Option<String>,
    /// The first call line whose outcome an `Rpc` caller never reports (`Error`, `Rejected`,
    /// `Admitted`).
    foreign_outcome: Option<String>,
    /// The server's work before each reply, in nanoseconds on its clock (`None`: not judged).
    work_ns: Option<u64>,
    /// Attempt lines to the server waiting for the send that follows them: (caller, series).
    unsent: Vec<(NodeId, u64)>,
    /// Each request sent to the server: its message, and the (caller, series) it carries.
    requests: BTreeMap<MsgId, (NodeId, u64)>,
    /// Intact arrivals of requests at the server since its latest start, per (caller, series).
    arrivals: BTreeMap<(NodeId, u64), Vec<SimTime>>,
    /// The first reply not sent `work_ms` after an arrival of its request.
    untimely_reply: Option<String>,
}

impl RpcEffect {
    /// A checker for calls performing `op` (`None`: not an `Rpc` run).
    pub fn new(cluster: Cluster, op: Option<Op>) -> RpcEffect {
        RpcEffect {
            cluster,
            op,
            server: None,
            calls: BTreeMap::new(),
            effects: BTreeMap::new(),
            clocks: Vec::new(),
            latency_breach: None,
            twice_ended: None,
            foreign_outcome: None,
            work_ns: None,
            unsent: Vec::new(),
            requests: BTreeMap::new(),
            arrivals: BTreeMap::new(),
            untimely_reply: None,
        }
    }

    /// The same, holding the server to replying `work_ns` (on its clock) after each request
    /// it takes.
    pub fn with_work(mut self, work_ns: u64) -> RpcEffect {
        self.work_ns = Some(work_ns);
        self
    }

    /// The server's reply (`ack`) of `series` to `caller` at `at`: sent `work_ns` after an
    /// arrival of that request on the server's clock (2 ns of rounding allowed), or a breach.
    fn judge_reply(&mut self, server: NodeId, caller: NodeId, series: u64, at: SimTime) {
        let Some(work) = self.work_ns else { return };
        if self.untimely_reply.is_some() {
            return;
        }
        let now = i128::from(self.local(server, at).0);
        let arrivals = self.arrivals.get(&(caller, series)).cloned().unwrap_or_default();
        if arrivals.iter().any(|&r| (now - i128::from(self.local(server, r).0) - i128::from(work)).abs() <= 2) {
            return;
        }
        let latest = arrivals.last().map_or("none arrived since its latest start".to_string(), |r| format!("the latest arrived at {r}"));
        self.untimely_reply = Some(format!(
            "{} replied to {}'s a{series} at {at}, not {} after a request of it arrived ({latest}): it replies work_ms after each request it takes",
            self.cluster.name(server),
            self.cluster.name(caller),
            SimTime(work)
        ));
    }

    /// The same, reading each node's latencies on `clocks` (indexed by node).
    pub fn with_clocks(mut self, clocks: Vec<Clock>) -> RpcEffect {
        self.clocks = clocks;
        self
    }

    /// `node`'s reading of true time `t`.
    fn local(&self, node: NodeId, t: SimTime) -> SimTime {
        self.clocks.get(node.index()).map_or(t, |clock| clock.local(t))
    }

    /// A call line of `node` at `at` reports `latency_ns` for call `app`: the time since its
    /// command on `node`'s clock, or a breach.
    fn judge_latency(&mut self, node: NodeId, app: AppId, at: SimTime, latency_ns: u64) {
        let Some(c) = self.calls.get(&app).filter(|c| c.client == node) else { return };
        let since = self.local(node, at).0.saturating_sub(self.local(node, c.commanded).0);
        if since != latency_ns && self.latency_breach.is_none() {
            self.latency_breach = Some(format!(
                "call a{} of {} ended at {at} reporting a latency of {}, but it was commanded {} before on its clock",
                app.0,
                self.cluster.name(node),
                SimTime(latency_ns),
                SimTime(since)
            ));
        }
    }

    /// The same, holding `server` to replying after every effect it applies.
    pub fn with_server(mut self, server: NodeId) -> RpcEffect {
        self.server = Some(server);
        self
    }

    /// The first caller owed more replies than the server sent it since its latest crash, if
    /// the run ended quiescent: each effect sets a reply timer, which a server that never
    /// crashed again fires before the run can run out of events.
    fn unanswered(&self, end: &RunEnd) -> Option<String> {
        if end.reason != EndReason::Quiescent {
            return None;
        }
        let server = self.server?;
        self.effects.iter().find(|(_, (applied, sent))| sent < applied).map(|(client, (applied, sent))| {
            format!(
                "{} applied {applied} of {}'s calls after its latest restart but sent it only {sent} message(s), \
                 and the run ended with nothing left to happen: an effect never answered",
                self.cluster.name(server),
                self.cluster.name(*client)
            )
        })
    }
}

impl Checker for RpcEffect {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.calls), b::map(&self.requests), b::map(&self.arrivals)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, .. } => {
                self.calls.insert(app, Call { client: node, commanded: e.time, ended: None, applied: 0, ended_live: None });
            }
            // Only commanded calls count: the server applies nothing else.
            EventKind::Deliver { node, app, .. } => {
                if let Some(c) = self.calls.get_mut(&app) {
                    c.applied += 1;
                    if Some(node) == self.server {
                        self.effects.entry(c.client).or_default().0 += 1;
                    }
                }
            }
            EventKind::Send { from, to, .. } if Some(from) == self.server => self.effects.entry(to).or_default().1 += 1,
            // A request: the attempt line just before its send names its series.
            EventKind::Attempt { node, to, series, .. } if Some(to) == self.server => self.unsent.push((node, series)),
            EventKind::Send { from, to, msg, .. } if Some(to) == self.server => {
                if let Some(i) = self.unsent.iter().position(|&(caller, _)| caller == from) {
                    let request = self.unsent.remove(i);
                    self.requests.insert(msg, request);
                }
            }
            EventKind::Receive { to, msg, corrupted: false, .. } if Some(to) == self.server => {
                if let Some(&request) = self.requests.get(&msg) {
                    self.arrivals.entry(request).or_default().push(e.time);
                }
            }
            EventKind::Ack { node, to, series } if Some(node) == self.server => self.judge_reply(node, to, series, e.time),
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                if Some(node) == self.server {
                    self.effects.clear();
                    // Its reply timers died with it: a later reply owes a later arrival.
                    self.arrivals.clear();
                }
                // The crashed caller forgot its calls: none of them can end again.
                for c in self.calls.values_mut().filter(|c| c.client == node) {
                    c.ended_live = None;
                }
            }
            // An Rpc caller learns only of a reply or of its own giving up; any other outcome is
            // one it cannot have seen, not one to skip.
            EventKind::Call { node, app, outcome, .. }
                if !matches!(outcome, CallOutcome::Ok | CallOutcome::Timeout) && self.op.is_some() && self.foreign_outcome.is_none() =>
            {
                self.foreign_outcome = Some(format!(
                    "{} ended a{} {outcome:?} at {}: an Rpc call ends Ok, on its reply, or Timeout, when its caller gives up",
                    self.cluster.name(node),
                    app.0,
                    e.time
                ));
            }
            EventKind::Call { outcome, .. } if !matches!(outcome, CallOutcome::Ok | CallOutcome::Timeout) => {}
            EventKind::Call { node, app, outcome: outcome @ (CallOutcome::Ok | CallOutcome::Timeout), latency_ns } => {
                if self.calls.get(&app).is_some_and(|c| c.ended.is_none()) {
                    self.judge_latency(node, app, e.time, latency_ns);
                }
                if let Some(c) = self.calls.get_mut(&app) {
                    c.ended.get_or_insert(outcome);
                    // One outcome per call: a caller that gave up has nothing left to end.
                    if c.client == node
                        && let Some(first) = c.ended_live.replace(outcome)
                        && self.twice_ended.is_none()
                    {
                        self.twice_ended =
                            Some(format!("{} ended a{} twice: {first:?}, then {outcome:?} at {}", self.cluster.name(node), app.0, e.time));
                    }
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some(op) = self.op else {
            return Verdict::inconclusive("not an `Rpc` run: nothing to judge");
        };
        if let Some(why) = &self.foreign_outcome {
            return Verdict::fail(why.clone());
        }
        if let Some(why) = &self.untimely_reply {
            return Verdict::fail(why.clone());
        }
        let ended: Vec<(&AppId, &Call)> = self.calls.iter().filter(|(_, c)| c.ended.is_some()).collect();
        if ended.is_empty() {
            return Verdict::inconclusive("no call ended: nothing to judge");
        }
        let count = |f: &dyn Fn(&Call) -> bool| ended.iter().filter(|(_, c)| f(c)).count();
        let ok = count(&|c| c.ended == Some(CallOutcome::Ok));
        let twice = count(&|c| c.applied > 1);
        let timed_out_applied = count(&|c| c.ended == Some(CallOutcome::Timeout) && c.applied > 0);
        let timed_out_not = count(&|c| c.ended == Some(CallOutcome::Timeout) && c.applied == 0);
        if let Some((app, c)) = ended.iter().find(|(_, c)| c.ended == Some(CallOutcome::Ok) && c.applied == 0) {
            return Verdict::fail(format!(
                "call a{} of {} answered ok, but the server never applied it",
                app.0,
                self.cluster.name(c.client)
            ));
        }
        if op == Op::Increment
            && let Some((app, c)) = ended.iter().find(|(_, c)| c.applied > 1)
        {
            return Verdict::fail(format!(
                "{twice} of {} calls applied more than once; first: a{} of {} incremented the counter {} times",
                ended.len(),
                app.0,
                self.cluster.name(c.client),
                c.applied
            ));
        }
        if let Some(why) = &self.latency_breach {
            return Verdict::fail(why.clone());
        }
        if let Some(why) = &self.twice_ended {
            return Verdict::fail(why.clone());
        }
        if let Some(why) = self.unanswered(end) {
            return Verdict::fail(why);
        }
        let mut detail = format!("{} calls ended: {ok} answered ok, each applied", ended.len());
        if timed_out_applied + timed_out_not > 0 {
            detail += &format!(
                "; {} timed out, {timed_out_applied} of them applied all the same and {timed_out_not} not",
                timed_out_applied + timed_out_not
            );
        }
        if twice > 0 {
            detail += &format!("; {twice} applied more than once (harmless: setting is idempotent)");
        }
        Verdict::pass(detail)
    }
}

impl crate::plugin::Check for RpcEffect {
    const NAME: &'static str = "RpcEffect";
    type Config = crate::plugin::NoConfig;

    // The operation is the `Rpc` protocol's; under another protocol nothing is judged.
    fn build(_: &crate::plugin::NoConfig, scenario: &Scenario) -> Box<dyn Checker> {
        let config = scenario.protocol.config::<RpcConfig>();
        let checker = RpcEffect::new(scenario.cluster.clone(), config.map(|c| c.op)).with_clocks(scenario.clocks.clone());
        // The work time as the scenario wrote it, converted here: none means replying at once.
        let work_ns = config.map_or(0, |c| c.work_ms.map_or(0, |ms| (ms.0 * crate::time::NANOS_PER_MS as f64).round() as u64));
        Box::new(match config.and_then(|c| scenario.cluster.id(&c.server)) {
            Some(server) => checker.with_server(server).with_work(work_ns),
            None => checker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::{deliver, ev};
    use crate::check::{EndReason, Outcome};
    use crate::process::Dest;

    fn cluster() -> Cluster {
        Cluster { names: ["srv", "c1"].map(String::from).to_vec(), groups: vec![] }
    }

    fn call(ms: u64, app: u64) -> TraceEvent {
        ev(ms, EventKind::Command { node: NodeId(1), app: AppId(app), dest: Dest::Node(NodeId(0)) })
    }

    /// Call `app`, commanded at `since` ms, ends at `ms` with `outcome`, reporting the time
    /// between as its latency.
    fn ended(ms: u64, app: u64, outcome: CallOutcome, since: u64) -> TraceEvent {
        ev(ms, EventKind::Call { node: NodeId(1), app: AppId(app), outcome, latency_ns: (ms - since) * 1_000_000 })
    }

    fn judge(op: Option<Op>, events: &[TraceEvent]) -> Verdict {
        let mut checker = RpcEffect::new(cluster(), op);
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(100_000_000), max_latency_ns: 0 })
    }

    #[test]
    fn a_repeated_effect_fails_an_increment_and_is_counted_for_a_set() {
        let events = [call(0, 0), deliver(2, 0, 0), deliver(25, 0, 0), ended(30, 0, CallOutcome::Ok, 0)];
        let increment = judge(Some(Op::Increment), &events);
        assert_eq!(increment.outcome, Outcome::Fail, "{}", increment.detail);
        assert!(increment.detail.contains("a0 of c1 incremented the counter 2 times"), "{}", increment.detail);
        let set = judge(Some(Op::Set), &events);
        assert_eq!(set.outcome, Outcome::Pass, "{}", set.detail);
        assert!(set.detail.contains("1 applied more than once"), "{}", set.detail);
    }

    #[test]
    fn an_answer_without_an_effect_fails_and_a_timeout_may_go_either_way() {
        let phantom = judge(Some(Op::Set), &[call(0, 0), ended(5, 0, CallOutcome::Ok, 0)]);
        assert_eq!(phantom.outcome, Outcome::Fail, "{}", phantom.detail);
        let unknown =
            [call(0, 0), call(0, 1), deliver(2, 0, 0), ended(20, 0, CallOutcome::Timeout, 0), ended(20, 1, CallOutcome::Timeout, 0)];
        let verdict = judge(Some(Op::Increment), &unknown);
        assert_eq!(verdict.outcome, Outcome::Pass, "{}", verdict.detail);
        assert!(verdict.detail.contains("2 timed out, 1 of them applied all the same and 1 not"), "{}", verdict.detail);
    }

    #[test]
    fn nothing_ended_or_another_protocol_is_inconclusive() {
        assert_eq!(judge(Some(Op::Set), &[call(0, 0), deliver(2, 0, 0)]).outcome, Outcome::Inconclusive);
        assert_eq!(judge(None, &[call(0, 0), ended(5, 0, CallOutcome::Ok, 0)]).outcome, Outcome::Inconclusive);
    }
    /// Postmortem: a client that restarted a call's latency at each resend reported the last
    /// attempt's time, and passed: the call lines' outcomes were judged, not their latencies
    /// (held-out set 11, rpc-call-latency-restarts-on-retry).
    #[test]
    fn regression_a_calls_latency_is_the_time_since_its_command_on_the_callers_clock() {
        let judge = |clocks: Vec<Clock>, latency_ns: u64| {
            let mut checker = RpcEffect::new(cluster(), Some(Op::Set)).with_clocks(clocks);
            let end = ev(30, EventKind::Call { node: NodeId(1), app: AppId(0), outcome: CallOutcome::Ok, latency_ns });
            [call(10, 0), deliver(25, 0, 0), end].iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(100_000_000), max_latency_ns: 0 })
        };
        assert_eq!(judge(vec![], 20_000_000).outcome, Outcome::Pass);
        let restarted = judge(vec![], 5_000_000);
        assert!(restarted.outcome == Outcome::Fail && restarted.detail.contains("reporting a latency of 5.000ms"), "{}", restarted.detail);
        // c1's clock runs 10% fast and 3 ms ahead: 20 ms of true time are 22 ms on it.
        let fast = vec![Clock::default(), Clock { offset_ns: 3_000_000, drift_ppb: 100_000_000 }];
        assert_eq!(judge(fast.clone(), 22_000_000).outcome, Outcome::Pass, "{}", judge(fast.clone(), 22_000_000).detail);
        assert_eq!(judge(fast, 20_000_000).outcome, Outcome::Fail, "true time is not the caller's");
    }

    /// Postmortem: a client that kept a call it had given up on reported `Ok` when a late
    /// reply came, after its `Timeout`, and passed: the first outcome was all that was read
    /// (held-out set 12, rpc-gave-up-call-kept).
    #[test]
    fn regression_a_call_ends_once_unless_its_caller_crashed_since() {
        let twice = [call(0, 0), deliver(2, 0, 0), ended(20, 0, CallOutcome::Timeout, 0), ended(25, 0, CallOutcome::Ok, 0)];
        let v = judge(Some(Op::Set), &twice);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("c1 ended a0 twice: Timeout, then Ok"), "{}", v.detail);
        let crash = ev(22, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(1)), index: 0 });
        let forgotten = [call(0, 0), deliver(2, 0, 0), ended(20, 0, CallOutcome::Timeout, 0), crash, ended(25, 0, CallOutcome::Ok, 0)];
        assert_eq!(judge(Some(Op::Set), &forgotten).outcome, Outcome::Pass);
    }

    /// Postmortem: a caller that reported `Error` when it gave up passed, its call line skipped
    /// as one the check did not expect (held-out set 13, rpc-timeout-reported-as-error).
    #[test]
    fn regression_an_rpc_call_ends_ok_or_timeout_and_nothing_else() {
        for outcome in [CallOutcome::Error, CallOutcome::Rejected, CallOutcome::Admitted] {
            let v = judge(Some(Op::Set), &[call(0, 0), ended(20, 0, outcome, 0)]);
            assert_eq!(v.outcome, Outcome::Fail, "{outcome:?}: {}", v.detail);
            assert!(v.detail.contains(&format!("c1 ended a0 {outcome:?} at 20.000ms")), "{}", v.detail);
        }
        let timeout = judge(Some(Op::Set), &[call(0, 0), ended(20, 0, CallOutcome::Timeout, 0)]);
        assert_eq!(timeout.outcome, Outcome::Pass, "{}", timeout.detail);
    }

    /// The server's send to c1 at `ms` (its reply, in an `Rpc` run).
    fn reply(ms: u64) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: crate::id::MsgId(ms), size: 24 })
    }

    #[test]
    fn an_effect_never_answered_by_a_server_that_stayed_up_fails_once_nothing_is_left_to_happen() {
        let judge_with = |events: &[TraceEvent], reason: EndReason| {
            let mut checker = RpcEffect::new(cluster(), Some(Op::Set)).with_server(NodeId(0));
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason, at: SimTime(100_000_000), max_latency_ns: 0 })
        };
        // Applied twice, answered once: the server's reply to c1 went elsewhere.
        let unanswered = [call(0, 0), deliver(2, 0, 0), reply(7), call(10, 1), deliver(12, 0, 1), ended(20, 1, CallOutcome::Timeout, 10)];
        let fail = judge_with(&unanswered, EndReason::Quiescent);
        assert_eq!(fail.outcome, Outcome::Fail, "{}", fail.detail);
        assert!(fail.detail.contains("srv applied 2 of c1's calls after its latest restart but sent it only 1"), "{}", fail.detail);
        // At the horizon the reply may still be coming.
        assert_eq!(judge_with(&unanswered, EndReason::Horizon).outcome, Outcome::Pass);
        // A crash between the effect and its reply excuses it: only effects after the crash are owed.
        let crash = ev(14, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let excused =
            [call(0, 0), deliver(2, 0, 0), reply(7), call(10, 1), deliver(12, 0, 1), crash, ended(20, 1, CallOutcome::Timeout, 10)];
        assert_eq!(judge_with(&excused, EndReason::Quiescent).outcome, Outcome::Pass);
        let answered =
            [call(0, 0), deliver(2, 0, 0), reply(7), call(10, 1), deliver(12, 0, 1), reply(17), ended(20, 1, CallOutcome::Ok, 10)];
        assert_eq!(judge_with(&answered, EndReason::Quiescent).outcome, Outcome::Pass);
    }

    /// Postmortem: a server that answered each request as it took it, not `work_ms` later,
    /// passed: the replies were counted, never timed (held-out set 14, rpc-reply-sent-at-once).
    #[test]
    fn regression_the_server_replies_work_ms_after_each_request_it_takes() {
        let judge_with = |reply_ms: u64, series: u64, clocks: Vec<Clock>| {
            let mut checker = RpcEffect::new(cluster(), Some(Op::Set)).with_server(NodeId(0)).with_work(5_000_000).with_clocks(clocks);
            let events = [
                call(0, 0),
                ev(0, EventKind::Attempt { node: NodeId(1), to: NodeId(0), series: 0, attempt: 1 }),
                ev(0, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(1), size: 24 }),
                ev(2, EventKind::Receive { from: NodeId(1), to: NodeId(0), msg: MsgId(1), corrupted: false }),
                deliver(2, 0, 0),
                ev(reply_ms, EventKind::Ack { node: NodeId(0), to: NodeId(1), series }),
                reply(reply_ms),
                ended(reply_ms + 2, 0, CallOutcome::Ok, 0),
            ];
            events.iter().for_each(|e| checker.observe(e));
            checker.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(100_000_000), max_latency_ns: 0 })
        };
        assert_eq!(judge_with(7, 0, vec![]).outcome, Outcome::Pass, "{}", judge_with(7, 0, vec![]).detail);
        let at_once = judge_with(2, 0, vec![]);
        assert_eq!(at_once.outcome, Outcome::Fail, "{}", at_once.detail);
        assert!(at_once.detail.contains("srv replied to c1's a0 at 2.000ms, not 5.000ms after"), "{}", at_once.detail);
        // A reply to a call whose request never arrived answers nothing.
        assert_eq!(judge_with(7, 3, vec![]).outcome, Outcome::Fail);
        // The work is timed on the server's clock: 10% slow, 5 ms of it are 5.556 ms of true time.
        let slow = vec![Clock { offset_ns: 0, drift_ppb: -100_000_000 }, Clock::default()];
        assert_eq!(judge_with(7, 0, slow).outcome, Outcome::Fail, "true time is not the server's");
    }
}

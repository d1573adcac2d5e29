//! `CallsAnswered`: a call whose request its callee took intact is answered, unless the callee crashed before it could answer.
//!
//! A call (`Ctx::call`) is a request the simulator tags so that the callee's process can answer
//! it (`Ctx::reply`); the answer is a message from the callee to the caller. The trace names a
//! call's request in two places: a waiting call is the caller's last `send` before its `block`
//! on the callee for a `Call`, and a call that timed out while the caller went on names its
//! request in its `timeout` line. A request is *taken intact* when the callee's `recv` line for
//! it is undamaged: the process was handed the request and could answer.
//!
//! The check matches every request taken intact with a later message from the callee to the
//! caller, each message answering at most one request (an answer is such a message; the
//! callee's own traffic to the caller may stand in for one, so the check is lenient there and
//! never unfair). A request left without one fails, unless the callee crashed after taking it
//! (a crash forgets the duty) or was blocked or paused when the run ended (it could not send
//! yet). An answer lost on the way still counts: the callee answered. Calls that were answered
//! while the caller went on are not named in the trace and are not judged. With no request
//! taken intact and no command's calls judged, the verdict is inconclusive.
//!
//! Under the `Exchange` protocol's `Call(wait: false)` the caller does not wait for its calls,
//! so a command's calls to all its recipients leave at once: every recipient's `send` comes
//! in the step of the command's `cmd` line (that node's lines at that instant, before its next
//! `recv`, `timer`, `cmd`, `unblock` or `timeout` line). A call left for later, one at a time
//! after the previous answer as a waiting caller makes them, fails; a sender held by a full
//! mailbox's back-pressure (its `block` line in that step) is excused.
//!
//! Under `Exchange`'s `Call(timeout_ms: ..)` a call ends by its timeout exactly that long after
//! it began, on the caller's clock: a waiting call's `unblock` (timed out) that long after its
//! `block`, which must say it has a timeout, and a call that went on its `timeout` line that long
//! after its request's `send`. A pause or other wait of the caller meanwhile holds its timers
//! and excuses lateness, never earliness.
//!
//! Under `Exchange`'s `Sync` and `Async` handovers the protocol makes no calls (`Ctx::send_sync`
//! and `Ctx::send`): a `block` line for a `Call`, an `unblock` with a call's answer, or a call's
//! `timeout` line fails, and so does, under `Async`, a sender's `block` for a synchronous send.
//! With no call to match, the verdict counts the sends judged.
//!
//! This is what no other check states: `NoLoss` passes when the callee delivers every request
//! and never answers, and `NoDeadlock` passes when every unanswered call ends by its timeout.

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{AppId, MsgId, NodeId};
use crate::plugin::NoConfig;
use crate::process::Cluster;
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::trace::{BlockReason, EventKind, FaultAction, TraceEvent, UnblockReason};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What the matching replays, in trace order, for one callee-caller pair.
#[derive(Clone, Copy)]
enum Step {
    /// The callee took `msg` from the caller intact at this time (a request, if the trace
    /// later names it one).
    Took(SimTime, MsgId),
    /// The callee sent the caller something.
    Sent,
    /// The callee crashed: what it owed is forgiven.
    Crashed,
}

/// Checks that every call taken intact by a callee that stayed up is answered.
pub struct CallsAnswered {
    cluster: Cluster,
    /// Per (callee, caller), what happened between them, in order.
    steps: BTreeMap<(NodeId, NodeId), Vec<Step>>,
    /// Each node's last send: recipient, transmission, time (a waiting call's request).
    last_send: BTreeMap<NodeId, (NodeId, MsgId, SimTime)>,
    /// The transmissions the trace names as call requests.
    requests: BTreeSet<MsgId>,
    /// Nodes blocked or paused now, which cannot send.
    stalled: BTreeSet<NodeId>,
    /// Whether callers go on without waiting (`Exchange`'s `Call(wait: false)`), so that a
    /// command's calls all leave in its step.
    goes_on: bool,
    /// Per caller that goes on: the command whose step is running, its instant, and the
    /// recipients not yet sent to in that step.
    handing: BTreeMap<NodeId, (SimTime, AppId, Vec<NodeId>)>,
    /// Commands whose calls did not all leave in their step.
    held_back: Breaches,
    /// Commands whose calls all left in their step.
    handed: u64,
    /// The calls' timeout on the caller's clock, where the protocol declares one (`Exchange`'s
    /// `Call(timeout_ms: ..)`), and the nodes' clocks.
    timeout_ns: Option<u64>,
    clocks: Vec<Clock>,
    /// When each request of a caller that goes on left (only where a timeout is judged).
    began: BTreeMap<MsgId, SimTime>,
    /// Per node waiting on a call: when its wait began, and whether a pause held it since.
    waiting: BTreeMap<NodeId, (SimTime, bool)>,
    /// When each node's timers were held (a pause or a wait).
    holds: super::Holds,
    /// Calls that ended by their timeout too early, or too late with nothing holding them.
    mistimed: Breaches,
    /// Calls that ended by their timeout, judged.
    timed_out: u64,
    /// The `Exchange` handover when it makes no calls (`Sync` or `Async`), by name: a call's
    /// wait, answer or timeout is then one the protocol never makes.
    callless: Option<&'static str>,
    /// Lines of a call, or of a rendezvous under `Async`, where the handover makes none.
    foreign_waits: Breaches,
    /// Sends judged under a handover that makes no calls.
    plain_sends: u64,
}

impl CallsAnswered {
    /// A checker for a cluster's run; `goes_on`: callers do not wait for their calls
    /// (`Exchange`'s `Call(wait: false)`), so each command's calls must all leave at once.
    pub fn new(cluster: Cluster, goes_on: bool) -> CallsAnswered {
        CallsAnswered {
            cluster,
            steps: BTreeMap::new(),
            last_send: BTreeMap::new(),
            requests: BTreeSet::new(),
            stalled: BTreeSet::new(),
            goes_on,
            handing: BTreeMap::new(),
            held_back: Breaches::default(),
            handed: 0,
            timeout_ns: None,
            clocks: Vec::new(),
            began: BTreeMap::new(),
            waiting: BTreeMap::new(),
            holds: super::Holds::default(),
            mistimed: Breaches::default(),
            timed_out: 0,
            callless: None,
            foreign_waits: Breaches::default(),
            plain_sends: 0,
        }
    }

    /// Judge the calls' timeout too: `timeout_ns` on each caller's clock (`clocks`; missing ones exact).
    pub fn with_timeout(mut self, timeout_ns: u64, clocks: Vec<Clock>) -> CallsAnswered {
        self.timeout_ns = Some(timeout_ns);
        self.clocks = clocks;
        self
    }

    /// Judge a handover that makes no calls: `handover` is `Exchange`'s `send`, `"Sync"` or
    /// `"Async"`.
    pub fn without_calls(mut self, handover: &'static str) -> CallsAnswered {
        self.callless = Some(handover);
        self
    }

    /// The handover clause: under `Sync` or `Async` no line of the trace is a call's, and under
    /// `Async` no sender waits for a rendezvous either.
    fn callless_line(&mut self, handover: &'static str, e: &TraceEvent) {
        let name = |n: NodeId| self.cluster.name(n).to_string();
        let what = match e.kind {
            EventKind::Send { .. } => {
                self.plain_sends += 1;
                return;
            }
            EventKind::Block { node, on, reason: BlockReason::Call, .. } => format!("{} blocked on {} for a Call", name(node), name(on)),
            EventKind::Block { node, on, reason: BlockReason::SyncSend, .. } if handover == "Async" => {
                format!("{} blocked on {} for a synchronous send", name(node), name(on))
            }
            EventKind::Unblock { node, reason: UnblockReason::Answered } => format!("{} went on with a call's answer", name(node)),
            EventKind::CallTimeout { node, callee, .. } => format!("{}'s call to {} timed out", name(node), name(callee)),
            _ => return,
        };
        self.foreign_waits.record(e.time, || format!("{what} under {handover} handover, which makes no calls"));
    }

    /// A call of `node` that began at `began` ended by its timeout now; `held`: whether a pause or
    /// another wait held the caller's timers meanwhile.
    fn timed_out(&mut self, node: NodeId, began: SimTime, now: SimTime, held: bool) {
        let Some(timeout) = self.timeout_ns else { return };
        self.timed_out += 1;
        let due = self.clocks.get(node.index()).copied().unwrap_or_default().real_duration(timeout);
        let took = now.0.saturating_sub(began.0);
        if took < due || (took > due && !held) {
            let name = self.cluster.name(node).to_string();
            self.mistimed.record(now, || {
                format!("{name}'s call that began at {began} ended by its timeout after {}; the timeout is {}", SimTime(took), SimTime(due))
            });
        }
    }

    /// `node`'s command step is over: every recipient must have had its call.
    fn handed_over(&mut self, node: NodeId) {
        let Some((at, app, left)) = self.handing.remove(&node) else { return };
        let Some(&first) = left.first() else {
            self.handed += 1;
            return;
        };
        let cluster = &self.cluster;
        self.held_back.record(at, || {
            format!(
                "{} did not call {} (of {} callees) in the step of command a{}, though it does not wait for its calls",
                cluster.name(node),
                cluster.name(first),
                left.len(),
                app.0
            )
        });
    }

    /// A step of `node` begins (or time moved on): the command steps it ends are over.
    fn step_ends(&mut self, now: SimTime, node: Option<NodeId>) {
        let over: Vec<NodeId> = self.handing.iter().filter(|(n, h)| h.0 < now || Some(**n) == node).map(|(n, _)| *n).collect();
        for n in over {
            self.handed_over(n);
        }
    }

    fn crashed(&mut self, node: NodeId) {
        self.stalled.remove(&node);
        for (_, steps) in self.steps.range_mut((node, NodeId(0))..=(node, NodeId(u32::MAX))) {
            steps.push(Step::Crashed);
        }
    }
}

impl Checker for CallsAnswered {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.steps),
            b::nested(self.steps.values(), b::vec),
            b::map(&self.last_send),
            b::set(&self.requests),
            b::set(&self.stalled),
            b::map(&self.handing),
            b::map(&self.began),
            b::map(&self.waiting),
            self.holds.heap_bytes(),
            b::nested(self.handing.values(), |h| b::vec(&h.2)),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        if self.goes_on {
            self.hand_over(e);
        }
        if self.timeout_ns.is_some() {
            self.timing(e);
        }
        if let Some(handover) = self.callless {
            self.callless_line(handover, e);
        }
        match e.kind {
            EventKind::Send { from, to, msg, .. } => {
                self.last_send.insert(from, (to, msg, e.time));
                if let Some(steps) = self.steps.get_mut(&(from, to)) {
                    steps.push(Step::Sent);
                }
            }
            EventKind::Receive { from, to, msg, corrupted: false } => {
                self.steps.entry((to, from)).or_default().push(Step::Took(e.time, msg))
            }
            EventKind::Block { node, on, reason, .. } => {
                self.stalled.insert(node);
                if reason == BlockReason::Call
                    && let Some(&(to, msg, at)) = self.last_send.get(&node)
                    && to == on
                    && at == e.time
                {
                    self.requests.insert(msg);
                }
            }
            EventKind::Unblock { node, .. } => {
                self.stalled.remove(&node);
            }
            EventKind::CallTimeout { msg, .. } => {
                self.requests.insert(msg);
            }
            EventKind::Fault { action, node: Some(node), .. } => match action {
                FaultAction::Crash => self.crashed(node),
                FaultAction::Pause => {
                    self.stalled.insert(node);
                }
                FaultAction::Resume => {
                    self.stalled.remove(&node);
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn verdict(&self, _: &RunEnd) -> Verdict {
        // A step never outlives the run: the command steps still open are over.
        let mut held_back = self.held_back.clone();
        for (&node, (at, app, left)) in &self.handing {
            if let Some(&first) = left.first() {
                let name = |n: NodeId| self.cluster.name(n).to_string();
                held_back.record(*at, || {
                    format!(
                        "{} did not call {} in the step of command a{}, though it does not wait for its calls",
                        name(node),
                        name(first),
                        app.0
                    )
                });
            }
        }
        let handed = self.handed + self.handing.values().filter(|h| h.2.is_empty()).count() as u64;
        if let Some(failed) = held_back.verdict("commands whose calls did not all leave at once") {
            return failed;
        }
        if let Some(failed) = self.mistimed.verdict("calls that did not end by their timeout when it was due") {
            return failed;
        }
        if let Some(failed) = self.foreign_waits.verdict("lines of a call the handover never makes") {
            return failed;
        }
        let mut breaches = Breaches::default();
        let (mut taken, mut forgiven) = (0u64, 0u64);
        for (&(callee, caller), steps) in &self.steps {
            // Greedy in trace order: each message to the caller answers the oldest request
            // still owed, which leaves none unmatched that any matching could match.
            let mut owed: VecDeque<(SimTime, MsgId)> = VecDeque::new();
            for &step in steps {
                match step {
                    Step::Took(at, msg) if self.requests.contains(&msg) => {
                        taken += 1;
                        owed.push_back((at, msg));
                    }
                    Step::Took(..) => {}
                    Step::Sent => {
                        owed.pop_front();
                    }
                    Step::Crashed => forgiven += std::mem::take(&mut owed).len() as u64,
                }
            }
            if self.stalled.contains(&callee) {
                forgiven += owed.len() as u64;
                continue;
            }
            for (at, msg) in owed {
                let cluster = &self.cluster;
                breaches.record(at, || {
                    format!(
                        "{} took call request m{} from {} intact and never answered it (no later message to {}, no crash)",
                        cluster.name(callee),
                        msg.0,
                        cluster.name(caller),
                        cluster.name(caller),
                    )
                });
            }
        }
        if let Some(failed) = breaches.verdict("calls taken intact and never answered") {
            return failed;
        }
        if let Some(handover) = self.callless
            && taken == 0
        {
            if self.plain_sends == 0 {
                return Verdict::inconclusive(format!("no send under {handover} handover: nothing to judge"));
            }
            return Verdict::pass(format!("{} sends under {handover} handover, none of them a call", self.plain_sends));
        }
        if taken == 0 && handed == 0 && self.timed_out == 0 {
            return Verdict::inconclusive("no call request named in the trace reached its callee intact");
        }
        let mut at_once = if self.goes_on { format!("; {handed} commands' calls all made at once") } else { String::new() };
        if let Some(t) = self.timeout_ns {
            at_once.push_str(&format!("; {} calls ended by their timeout, each {} after it began", self.timed_out, SimTime(t)));
        }
        Verdict::pass(format!(
            "{taken} call requests taken intact, each answered ({forgiven} forgiven: the callee crashed, or was blocked at the end){at_once}"
        ))
    }
}

impl CallsAnswered {
    /// The timeout clause: when each call began, and when it ended by its timeout.
    fn timing(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Block { node, reason: BlockReason::Call, timeout, .. } => {
                if !timeout {
                    let name = self.cluster.name(node).to_string();
                    self.mistimed.record(e.time, || format!("{name} waits on a call with no timeout, though its calls have one"));
                }
                self.waiting.insert(node, (e.time, false));
            }
            EventKind::Unblock { node, reason } => {
                // The wait itself holds the caller's other timers, not this call's timeout: only
                // a pause does.
                if let Some((began, paused)) = self.waiting.remove(&node)
                    && reason == UnblockReason::TimedOut
                {
                    self.timed_out(node, began, e.time, paused);
                }
            }
            EventKind::CallTimeout { node, msg, .. } => {
                if let Some(began) = self.began.remove(&msg) {
                    let held = self.holds.within(node, began, e.time);
                    self.timed_out(node, began, e.time, held);
                }
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.waiting.remove(&node);
            }
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } => {
                if let Some(w) = self.waiting.get_mut(&node) {
                    w.1 = true;
                }
            }
            _ => {}
        }
        self.holds.observe(e);
    }

    /// The clause on callers that go on: follow each command's step and its sends.
    fn hand_over(&mut self, e: &TraceEvent) {
        if !self.handing.is_empty() {
            let starts = match e.kind {
                EventKind::Command { node, .. }
                | EventKind::Timer { node, .. }
                | EventKind::Unblock { node, .. }
                | EventKind::CallTimeout { node, .. }
                | EventKind::Fault { node: Some(node), .. }
                | EventKind::Receive { to: node, .. } => Some(node),
                _ => None,
            };
            self.step_ends(e.time, starts);
        }
        match e.kind {
            EventKind::Command { node, app, dest } => {
                let recipients = self.cluster.recipients(node, dest);
                self.handing.insert(node, (e.time, app, recipients));
            }
            EventKind::Send { from, to, msg, .. } => {
                if let Some((_, _, left)) = self.handing.get_mut(&from)
                    && let Some(i) = left.iter().position(|&r| r == to)
                {
                    left.remove(i);
                    if self.timeout_ns.is_some() {
                        self.began.insert(msg, e.time);
                    }
                }
            }
            // Held by a full mailbox: the rest leave as room is granted, which is not the
            // caller's choice.
            EventKind::Block { node, reason: BlockReason::BackPressure, .. } => {
                self.handing.remove(&node);
            }
            _ => {}
        }
    }
}

impl crate::plugin::Check for CallsAnswered {
    const NAME: &'static str = "CallsAnswered";
    type Config = NoConfig;

    fn build(_: &NoConfig, scenario: &Scenario) -> Box<dyn Checker> {
        use crate::protocols::exchange::Config;
        use crate::scenario::file::HandoverFile;
        let config = scenario.protocol.config::<Config>();
        let goes_on = config.is_some_and(|c| matches!(c.send, HandoverFile::Call { wait: false, .. }));
        let checker = CallsAnswered::new(scenario.cluster.clone(), goes_on);
        // Sync and Async hand a message over without a call: the protocol's documentation says
        // so (`Ctx::send_sync`, `Ctx::send`), so a call's wait, answer or timeout is a breach.
        let checker = match config.map(|c| &c.send) {
            Some(HandoverFile::Sync { .. }) => checker.without_calls("Sync"),
            Some(HandoverFile::Async) => checker.without_calls("Async"),
            _ => checker,
        };
        // Read from the scenario here, not through the protocol's code, whose bugs a check sharing
        // it would share: milliseconds to nanoseconds, truncated as the exchange documents.
        let timeout_ns = config.and_then(|c| match c.send {
            HandoverFile::Call { timeout_ms: Some(t), .. } => Some((t.0 * crate::time::NANOS_PER_MS as f64) as u64),
            _ => None,
        });
        match timeout_ns {
            Some(t) => Box::new(checker.with_timeout(t, scenario.clocks.clone())),
            None => Box::new(checker),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::ev;
    use crate::check::{EndReason, Outcome};

    fn judge(events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["a".into(), "b".into()], groups: vec![] };
        let mut c = CallsAnswered::new(cluster, false);
        for e in events {
            c.observe(e);
        }
        c.verdict(&RunEnd { at: SimTime(1_000_000_000), reason: EndReason::Quiescent, max_latency_ns: 0 })
    }

    fn send(ms: u64, from: u32, to: u32, msg: u64) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(to), msg: MsgId(msg), size: 10 })
    }

    fn recv(ms: u64, from: u32, to: u32, msg: u64, corrupted: bool) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(from), to: NodeId(to), msg: MsgId(msg), corrupted })
    }

    /// `a` calls `b` with request m1 at 0 ms and waits.
    fn waiting_call() -> [TraceEvent; 2] {
        [send(0, 0, 1, 1), ev(0, EventKind::Block { node: NodeId(0), on: NodeId(1), reason: BlockReason::Call, timeout: true })]
    }

    fn timed_out(ms: u64) -> TraceEvent {
        ev(ms, EventKind::Unblock { node: NodeId(0), reason: crate::trace::UnblockReason::TimedOut })
    }

    #[test]
    fn an_answered_waiting_call_passes() {
        let [s, b] = waiting_call();
        let events = [s, b, recv(2, 0, 1, 1, false), send(2, 1, 0, 2), recv(4, 1, 0, 2, false)];
        assert_eq!(judge(&events).outcome, Outcome::Pass);
    }

    // Postmortem: the held-out mutant exchange-call-not-answered (the callee delivers and never
    // answers) passed NoLoss and NoDeadlock, since every call ended by its timeout.
    #[test]
    fn a_waiting_call_taken_and_never_answered_fails() {
        let [s, b] = waiting_call();
        let v = judge(&[s, b, recv(2, 0, 1, 1, false), timed_out(30)]);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("m1"), "{}", v.detail);
    }

    #[test]
    fn a_hybrid_call_is_named_by_its_timeout_line() {
        let timeout = ev(30, EventKind::CallTimeout { node: NodeId(0), callee: NodeId(1), msg: MsgId(1) });
        assert_eq!(judge(&[send(0, 0, 1, 1), recv(2, 0, 1, 1, false), timeout]).outcome, Outcome::Fail);
        // An answer that came too late (dropped as Late) was still sent: answered.
        assert_eq!(judge(&[send(0, 0, 1, 1), recv(2, 0, 1, 1, false), timeout, send(40, 1, 0, 2)]).outcome, Outcome::Pass);
    }

    #[test]
    fn a_damaged_or_lost_request_owes_nothing() {
        let [s, b] = waiting_call();
        assert_eq!(judge(&[s, b, recv(2, 0, 1, 1, true), timed_out(30)]).outcome, Outcome::Inconclusive);
        let [s, b] = waiting_call();
        assert_eq!(judge(&[s, b, timed_out(30)]).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn a_callee_that_crashed_or_is_blocked_is_forgiven() {
        let crash = ev(3, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(1)), index: 0 });
        let [s, b] = waiting_call();
        assert_eq!(judge(&[s, b, recv(2, 0, 1, 1, false), crash, timed_out(30)]).outcome, Outcome::Pass);
        let block = ev(2, EventKind::Block { node: NodeId(1), on: NodeId(0), reason: BlockReason::BackPressure, timeout: false });
        let [s, b] = waiting_call();
        assert_eq!(judge(&[s, b, recv(2, 0, 1, 1, false), block, timed_out(30)]).outcome, Outcome::Pass);
    }

    #[test]
    fn one_message_answers_one_request_only() {
        let [s, b] = waiting_call();
        let events = [
            s,
            b,
            recv(2, 0, 1, 1, false),
            send(2, 1, 0, 2),
            ev(5, EventKind::Unblock { node: NodeId(0), reason: crate::trace::UnblockReason::Answered }),
            send(6, 0, 1, 3),
            ev(6, EventKind::Block { node: NodeId(0), on: NodeId(1), reason: BlockReason::Call, timeout: true }),
            recv(8, 0, 1, 3, false),
            timed_out(36),
        ];
        let v = judge(&events);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("m3"), "{}", v.detail);
    }

    /// b, which does not wait for its calls, multicasts command a7 to a and c at 1 ms.
    fn multicast_calls(sends: &[TraceEvent], end_ms: u64) -> Verdict {
        use crate::id::{AppId, GroupId};
        use crate::process::Dest;
        let cluster =
            Cluster { names: ["a", "b", "c"].map(String::from).to_vec(), groups: vec![("ac".into(), vec![NodeId(0), NodeId(2)])] };
        let mut c = CallsAnswered::new(cluster, true);
        let cmd = ev(1, EventKind::Command { node: NodeId(1), app: AppId(7), dest: Dest::Group(GroupId(0)) });
        for e in std::iter::once(&cmd).chain(sends) {
            c.observe(e);
        }
        c.verdict(&RunEnd { at: SimTime(end_ms * 1_000_000), reason: EndReason::Horizon, max_latency_ns: 0 })
    }

    // Postmortem: the held-out mutant exchange-async-call-serialised (a caller that does not
    // wait made a multicast's calls one at a time, each after the previous answer) passed every
    // check: each call was still delivered and answered.
    #[test]
    fn regression_a_caller_that_does_not_wait_makes_all_its_calls_at_once() {
        let at_once = [send(1, 1, 0, 1), send(1, 1, 2, 2), recv(3, 1, 0, 1, false), send(3, 0, 1, 3)];
        let v = multicast_calls(&at_once, 10);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert!(v.detail.contains("1 commands' calls all made at once"), "{}", v.detail);
        // c's call waits for a's answer.
        let one_at_a_time = [send(1, 1, 0, 1), recv(3, 1, 0, 1, false), send(3, 0, 1, 3), recv(5, 0, 1, 3, false), send(5, 1, 2, 2)];
        let v = multicast_calls(&one_at_a_time, 10);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("at 1.000ms: b did not call c (of 1 callees) in the step of command a7"), "{}", v.detail);
        // Another step of b at the same instant ends the command's step too.
        let same_instant = [send(1, 1, 0, 1), recv(1, 0, 1, 9, false), send(1, 1, 2, 2)];
        assert_eq!(multicast_calls(&same_instant, 10).outcome, Outcome::Fail);
        // A call never made at all, with nothing after it.
        let v = multicast_calls(&[send(1, 1, 0, 1)], 10);
        assert!(v.detail.contains("b did not call c in the step of command a7"), "{}", v.detail);
        // Held by a full mailbox: excused.
        let held = ev(1, EventKind::Block { node: NodeId(1), on: NodeId(2), reason: BlockReason::BackPressure, timeout: false });
        assert_ne!(multicast_calls(&[send(1, 1, 0, 1), held, send(4, 1, 2, 2)], 10).outcome, Outcome::Fail);
    }

    fn judge_timed(goes_on: bool, events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["a".into(), "b".into()], groups: vec![] };
        let mut c = CallsAnswered::new(cluster, goes_on).with_timeout(30_000_000, vec![]);
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&RunEnd { at: SimTime(1_000_000_000), reason: EndReason::Quiescent, max_latency_ns: 0 })
    }

    // The timeout option was unjudged: a call that gave up at a tenth of its timeout (or at
    // ten times it) broke no clause, every request taken still being answered.
    #[test]
    fn a_call_ends_by_its_timeout_exactly_when_due() {
        let [s, b] = waiting_call();
        let v = judge_timed(false, &[s, b, timed_out(30)]);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert!(v.detail.contains("1 calls ended by their timeout, each 30.000ms after it began"), "{}", v.detail);
        for early_or_late in [3, 31] {
            let v = judge_timed(false, &[s, b, timed_out(early_or_late)]);
            assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
            assert!(v.detail.contains("the timeout is 30.000ms"), "{}", v.detail);
        }
        // A pause held the caller's timers: late is excused, early never.
        let pause = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(0)), index: 0 });
        let paused = [s, b, pause(10, FaultAction::Pause), pause(40, FaultAction::Resume), timed_out(40)];
        assert_eq!(judge_timed(false, &paused).outcome, Outcome::Pass);
        // A waiting call with no timeout when the calls have one.
        let untimed = ev(0, EventKind::Block { node: NodeId(0), on: NodeId(1), reason: BlockReason::Call, timeout: false });
        let v = judge_timed(false, &[s, untimed]);
        assert!(v.detail.contains("a waits on a call with no timeout"), "{}", v.detail);
        // A call that went on: its `timeout` line, from its command's send.
        let cmd = ev(0, EventKind::Command { node: NodeId(0), app: crate::id::AppId(1), dest: crate::process::Dest::Node(NodeId(1)) });
        let gave_up = |ms| ev(ms, EventKind::CallTimeout { node: NodeId(0), callee: NodeId(1), msg: MsgId(1) });
        assert_eq!(judge_timed(true, &[cmd, s, gave_up(30)]).outcome, Outcome::Pass);
        let v = judge_timed(true, &[cmd, s, gave_up(20)]);
        assert!(v.detail.contains("a's call that began at 0.000ms ended by its timeout after 20.000ms"), "{}", v.detail);
    }

    fn judge_callless(handover: &'static str, events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["a".into(), "b".into()], groups: vec![] };
        let mut c = CallsAnswered::new(cluster, false).without_calls(handover);
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&RunEnd { at: SimTime(1_000_000_000), reason: EndReason::Quiescent, max_latency_ns: 0 })
    }

    // Postmortem: a Sync sender that made every send a waiting call (`block .. Call`, unblocked
    // `Answered`) passed: calls were judged when seen, never that the handover makes none
    // (held-out set 13, exchange-sync-sent-as-call).
    #[test]
    fn regression_a_sync_or_async_handover_makes_no_calls() {
        let block = |reason| ev(0, EventKind::Block { node: NodeId(0), on: NodeId(1), reason, timeout: false });
        let unblock = |reason| ev(2, EventKind::Unblock { node: NodeId(0), reason });
        let rendezvous = [send(0, 0, 1, 1), block(BlockReason::SyncSend), recv(2, 0, 1, 1, false), unblock(UnblockReason::Taken)];
        let v = judge_callless("Sync", &rendezvous);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert!(v.detail.contains("1 sends under Sync handover, none of them a call"), "{}", v.detail);
        let call =
            [send(0, 0, 1, 1), block(BlockReason::Call), recv(1, 0, 1, 1, false), send(1, 1, 0, 2), unblock(UnblockReason::Answered)];
        let v = judge_callless("Sync", &call);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("a blocked on b for a Call under Sync handover, which makes no calls"), "{}", v.detail);
        let gave_up = ev(5, EventKind::CallTimeout { node: NodeId(0), callee: NodeId(1), msg: MsgId(1) });
        let v = judge_callless("Async", &[send(0, 0, 1, 1), gave_up]);
        assert!(v.outcome == Outcome::Fail && v.detail.contains("a's call to b timed out under Async"), "{}", v.detail);
        let v = judge_callless("Async", &rendezvous);
        assert!(v.outcome == Outcome::Fail && v.detail.contains("a blocked on b for a synchronous send under Async"), "{}", v.detail);
        assert_eq!(judge_callless("Async", &[]).outcome, Outcome::Inconclusive);
    }
}

//! `CircuitBreaker`: every breaker transition is legal and on time, judged from the calls' outcomes in the trace.
//!
//! The check keeps its own model of each client's breaker, fed only by trace
//! lines: a unit the breaker judges (a call or an attempt, `protocols::calls`) is
//! admitted or refused at a `call` line and, if admitted, ends at another; the
//! breaker's `breaker` lines are the transitions to judge. From the endings it
//! rebuilds the sliding window (as `protocols::calls` documents it) and demands:
//!
//! - each transition is in the legal table (Closed->Open, Open->HalfOpen,
//!   HalfOpen->Open, HalfOpen->Closed) and starts from the state the breaker was in;
//! - Closed->Open comes right after the outcome that brought a full enough window
//!   to a threshold, and never otherwise (an early or a missing opening fails);
//! - Open->HalfOpen comes exactly `wait` after the opening (later only if the
//!   client was paused meanwhile), and a breaker still open past that fails; with
//!   `half_open: OnCall` it comes on the first call at or after that, before the call is
//!   admitted, and never sooner, and only a call brings it: the node's next line after the
//!   transition is that call's `call` line (admitted or refused), at the same instant;
//! - HalfOpen ends right after the `min(min_calls, half_open_calls)`-th outcome,
//!   towards Open if the half-open calls reached a threshold and towards Closed otherwise;
//! - a unit is admitted exactly when the model says the breaker admits it, and
//!   only an admitted unit ends;
//! - the breaker sits where `order` puts it: with `BreakerInsideRetry` every attempt (an
//!   `attempt` line to the service) leaves right after its call's `Admitted` line, in the same
//!   step; with `RetryInsideBreaker` only a call's first attempt does, and a retry passes no
//!   breaker (no `call` line right before it).
//!
//! A crash loses the breaker with its process: the model restarts closed. The
//! verdict's detail reports what the breaker saved (units refused while the
//! service's schedule had it failing or recovering) and what it cost (units refused
//! while it was healthy).

use super::{Checker, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{AppId, NodeId};
use crate::process::Cluster;
use crate::protocols::calls::{BreakerConfig, CallsSpec, HalfOpenWhen, Order, Phase, Window};
use crate::time::SimTime;
use crate::trace::{BreakerState, CallOutcome, EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// How far a unit's reported latency may stray from the one measured: each clock reading is
/// rounded to the nanosecond, so a drifting clock's difference can be off by a few.
const LATENCY_SLACK_NS: u64 = 1_000;

/// Answers a phase needs before its error rate is judged.
const MIN_ANSWERS: u64 = 30;

/// The check's model of one client's breaker.
#[derive(Clone, Debug)]
struct Model {
    state: BreakerState,
    since: SimTime,
    period: u64,
    window: VecDeque<(SimTime, bool, bool)>,
    admitted: u32,
    done: u32,
    failed: u32,
    slow: u32,
    /// The transition the last outcome demands, and when that outcome was recorded.
    due: Option<(BreakerState, SimTime)>,
    /// Whether the client was paused during the current open period (its timer may fire late).
    paused: bool,
    /// With `half_open: OnCall`: the instant of a half-open still waiting for the call that
    /// must have brought it (that call's `call` line comes next, at the same instant).
    awaiting_call: Option<SimTime>,
}

impl Model {
    fn new(at: SimTime) -> Model {
        Model {
            state: BreakerState::Closed,
            since: at,
            period: 0,
            window: VecDeque::new(),
            admitted: 0,
            done: 0,
            failed: 0,
            slow: 0,
            due: None,
            paused: false,
            awaiting_call: None,
        }
    }
}

/// The `CircuitBreaker` check: every transition of every client's breaker is legal and on
/// time, judged against a model of the breaker rebuilt from the `call` lines alone.
pub struct CircuitBreaker {
    cluster: Cluster,
    /// The protocol's schedule and breaker, if it has a breaker.
    spec: Option<(Arc<CallsSpec>, BreakerConfig)>,
    models: Vec<Model>,
    /// Units admitted and not yet ended: app -> (client, breaker period, when admitted).
    units: BTreeMap<AppId, (NodeId, u64, SimTime)>,
    clocks: Vec<Clock>,
    violations: Vec<String>,
    transitions: [u64; 3],
    /// Units refused, by the service's phase at the time: healthy, failing, recovering.
    refused: [u64; 3],
    admitted: u64,
    /// Per entry of the service's schedule: the units answered (ok or error) that began and
    /// ended within it, and the errors among them.
    answered: Vec<(u64, u64)>,
    /// The service, whose attempts' places around the breaker are judged.
    service: Option<NodeId>,
    /// Per client: its last admission (instant and call), which the attempt it lets out
    /// follows at once.
    just_admitted: Vec<Option<(SimTime, AppId)>>,
}

/// Whether `failed` failures or `slow` slow calls of `calls` reach a threshold: at or above,
/// in integers. Deliberately not `BreakerConfig::trips`: a check sharing the breaker's code
/// would share its bugs.
fn reaches(cfg: &BreakerConfig, calls: u32, failed: u32, slow: u32) -> bool {
    let at_least = |count: u32, ppb: u32| u128::from(count) * 1_000_000_000 >= u128::from(ppb) * u128::from(calls);
    calls > 0 && (at_least(failed, cfg.failure_ppb) || cfg.slow_ppb.is_some_and(|ppb| at_least(slow, ppb)))
}

fn legal(from: BreakerState, to: BreakerState) -> bool {
    use BreakerState::*;
    matches!((from, to), (Closed, Open) | (Open, HalfOpen) | (HalfOpen, Open) | (HalfOpen, Closed))
}

impl CircuitBreaker {
    /// `spec` is `None` when the scenario's protocol is not the calls protocol; with it or
    /// without a breaker there is nothing to judge.
    pub fn new(cluster: Cluster, clocks: Vec<Clock>, spec: Option<Arc<CallsSpec>>) -> CircuitBreaker {
        let spec = spec.and_then(|s| s.breaker.map(|b| (s, b)));
        let models = vec![Model::new(SimTime::ZERO); cluster.len()];
        let service = spec.as_ref().and_then(|(s, _)| cluster.id(&s.service));
        let just_admitted = vec![None; cluster.len()];
        CircuitBreaker {
            cluster,
            spec,
            models,
            units: BTreeMap::new(),
            clocks,
            violations: Vec::new(),
            transitions: [0; 3],
            refused: [0; 3],
            admitted: 0,
            answered: Vec::new(),
            service,
            just_admitted,
        }
    }

    /// Attempt `attempt` of call `call` left `node` for the service: the breaker must have
    /// judged it in this step exactly when `order` puts the breaker around it.
    fn attempted(&mut self, spec: &CallsSpec, at: SimTime, node: NodeId, call: AppId, attempt: u32) {
        let judged = self.just_admitted[node.index()].take() == Some((at, call));
        let per_attempt = spec.order == Order::BreakerInsideRetry;
        if judged == (per_attempt || attempt == 1) {
            return;
        }
        let what = match (judged, per_attempt) {
            (false, true) => "left without the breaker admitting it (BreakerInsideRetry: it judges every attempt)",
            (false, false) => "left without the breaker admitting its call (RetryInsideBreaker: it judges each call once)",
            (true, _) => "was judged by the breaker again (RetryInsideBreaker: retries happen inside it)",
        };
        self.violation(at, node, format!("attempt #{attempt} of a{} {what}", call.0));
    }

    fn violation(&mut self, at: SimTime, node: NodeId, what: String) {
        // The first few say what went wrong; the count says how often.
        if self.violations.len() < 5 {
            self.violations.push(format!("{} at {at}: {what}", self.cluster.name(node)));
        } else {
            self.violations.push(String::new());
        }
    }

    /// An OnCall half-open whose call did not follow it at once: a timer (or nothing) brought it.
    fn uncalled(&mut self, node: NodeId, now: SimTime, call_now: bool) {
        if let Some(at) = self.models[node.index()].awaiting_call.take()
            && !(call_now && now == at)
        {
            self.violation(at, node, "half-opened with no call to judge (half_open: OnCall half-opens only on a call)".to_string());
        }
    }

    /// A due transition that did not come before the node's next call event.
    fn missed(&mut self, node: NodeId) {
        if let Some((to, at)) = self.models[node.index()].due.take() {
            let from = self.models[node.index()].state;
            self.violation(at, node, format!("the outcomes demanded {from:?} -> {to:?}, which never came"));
        }
    }

    /// A breaker still open after its wait (and not excused by a pause) missed its half-open.
    fn overdue(&mut self, node: NodeId, now: SimTime, cfg: &BreakerConfig) {
        let m = &self.models[node.index()];
        let ends = m.since.saturating_add(cfg.wait_ns);
        let late = match cfg.half_open {
            HalfOpenWhen::Timer => now > ends,
            // A call at or after the end of the wait half-opens the breaker first.
            HalfOpenWhen::OnCall => now >= ends,
        };
        if m.state == BreakerState::Open && !m.paused && late {
            let when = match cfg.half_open {
                HalfOpenWhen::Timer => "then",
                HalfOpenWhen::OnCall => "on this call",
            };
            self.violation(now, node, format!("still open; the wait ended at {ends}, so it should have half-opened {when}"));
            // Once is enough: judge the rest as if it had half-opened on time.
            let m = &mut self.models[node.index()];
            m.paused = true;
        }
    }

    /// A unit admitted or refused at `at`: the model must agree.
    fn admission(&mut self, spec: &CallsSpec, cfg: &BreakerConfig, at: SimTime, node: NodeId, app: AppId, admitted: bool) {
        self.uncalled(node, at, true);
        self.missed(node);
        self.overdue(node, at, cfg);
        let state = self.models[node.index()].state;
        match (self.admit(node, cfg), admitted) {
            (Some(period), true) => {
                self.admitted += 1;
                self.units.insert(app, (node, period, at));
            }
            (None, false) => {
                let slot = match spec.phase_at(at).phase {
                    Phase::Healthy => 0,
                    Phase::Failing => 1,
                    Phase::Recovering => 2,
                };
                self.refused[slot] += 1;
            }
            (Some(_), false) => self.violation(at, node, format!("refused a{} while {state:?}, which admits it", app.0)),
            (None, true) => self.violation(at, node, format!("admitted a{} while {state:?}, which refuses it", app.0)),
        }
    }

    /// Count an answered unit against the schedule entry it lay within, where a unit is one
    /// request (the breaker judges attempts, or there are no retries): the errors among such
    /// answers are a binomial draw at the entry's error rate.
    fn count_answer(&mut self, admitted: SimTime, at: SimTime, outcome: CallOutcome) {
        let Some((spec, _)) = &self.spec else { return };
        let one_request = spec.retry.is_none() || spec.order == Order::BreakerInsideRetry;
        if !one_request || !matches!(outcome, CallOutcome::Ok | CallOutcome::Error) {
            return;
        }
        let entry = |t: SimTime| spec.schedule.partition_point(|p| p.at <= t).saturating_sub(1);
        let i = entry(admitted);
        if i != entry(at) {
            return; // straddles a change of phase
        }
        if self.answered.len() <= i {
            self.answered.resize(i + 1, (0, 0));
        }
        self.answered[i].0 += 1;
        self.answered[i].1 += u64::from(outcome == CallOutcome::Error);
    }

    fn ending(&mut self, cfg: &BreakerConfig, at: SimTime, node: NodeId, app: AppId, outcome: CallOutcome, latency_ns: u64) {
        self.uncalled(node, at, false);
        self.missed(node);
        let Some((_, period, admitted)) = self.units.remove(&app).filter(|u| u.0 == node) else {
            self.violation(at, node, format!("a{} ended {outcome:?}, but no unit of it was admitted", app.0));
            return;
        };
        // The latency the breaker judges is measured here, from the unit's admission to its
        // end on the client's clock, not taken from the protocol's word for it.
        let measured = match self.clocks.get(node.index()) {
            Some(clock) => clock.local(at).0 - clock.local(admitted).0,
            None => at.0 - admitted.0,
        };
        if measured.abs_diff(latency_ns) > LATENCY_SLACK_NS {
            self.violation(
                at,
                node,
                format!(
                    "a{} ended {outcome:?} reporting a latency of {}, but it was admitted {} earlier",
                    app.0,
                    SimTime(latency_ns),
                    SimTime(measured)
                ),
            );
        }
        self.count_answer(admitted, at, outcome);
        if period != self.models[node.index()].period {
            return; // admitted in an earlier period: ignored
        }
        let failed = matches!(outcome, CallOutcome::Error | CallOutcome::Timeout);
        // Slow means strictly longer than the threshold, as resilience4j has it.
        let slow = latency_ns > cfg.slow_ns;
        let m = &mut self.models[node.index()];
        match m.state {
            BreakerState::Closed => {
                // Deliberately a second implementation of the window, not the protocol's:
                // a checker sharing the breaker's code would share its bugs.
                m.window.push_back((at, failed, slow));
                match cfg.window {
                    Window::Count(n) => {
                        while m.window.len() > n as usize {
                            m.window.pop_front();
                        }
                    }
                    Window::Time(d) => {
                        while m.window.front().is_some_and(|&(t, ..)| t.as_nanos().saturating_add(d) <= at.as_nanos()) {
                            m.window.pop_front();
                        }
                    }
                }
                let calls = m.window.len() as u32;
                let failed = m.window.iter().filter(|w| w.1).count() as u32;
                let slow = m.window.iter().filter(|w| w.2).count() as u32;
                // A count window never needs more than it holds (resilience4j clamps too).
                let needed = match cfg.window {
                    Window::Count(n) if n < cfg.min_calls => n,
                    _ => cfg.min_calls,
                };
                if calls >= needed && reaches(cfg, calls, failed, slow) {
                    m.due = Some((BreakerState::Open, at));
                }
            }
            BreakerState::HalfOpen => {
                m.done += 1;
                m.failed += u32::from(failed);
                m.slow += u32::from(slow);
                if m.done == cfg.half_open_calls || m.done == cfg.min_calls {
                    let to = if reaches(cfg, m.done, m.failed, m.slow) { BreakerState::Open } else { BreakerState::Closed };
                    m.due = Some((to, at));
                }
            }
            BreakerState::Open => unreachable!("nothing is admitted while open"),
        }
    }

    fn transition(&mut self, cfg: &BreakerConfig, at: SimTime, node: NodeId, from: BreakerState, to: BreakerState) {
        self.uncalled(node, at, false);
        let m = &self.models[node.index()];
        let (state, since, due, paused) = (m.state, m.since, m.due, m.paused);
        if from != state {
            self.violation(at, node, format!("{from:?} -> {to:?}, but the breaker was {state:?}"));
        } else if !legal(from, to) {
            self.violation(at, node, format!("{from:?} -> {to:?} is not a legal transition"));
        } else if from == BreakerState::Open {
            let ends = since.saturating_add(cfg.wait_ns);
            let late = at > ends && !paused && cfg.half_open == HalfOpenWhen::Timer;
            if at < ends || late {
                self.violation(at, node, format!("half-opened, but the wait that began at {since} ends at {ends}"));
            }
        } else if due.map(|d| d.0) != Some(to) {
            let why = match (from, to) {
                (BreakerState::Closed, _) => "the window had not reached a threshold".to_string(),
                _ => format!(
                    "the half-open calls demanded {}",
                    due.map_or("waiting for their outcomes".to_string(), |d| format!("{:?}", d.0))
                ),
            };
            self.violation(at, node, format!("{from:?} -> {to:?}, but {why}"));
        }
        self.transitions[to as usize] += 1;
        let period = self.models[node.index()].period + 1;
        let awaiting_call = (from == BreakerState::Open && cfg.half_open == HalfOpenWhen::OnCall).then_some(at);
        self.models[node.index()] = Model { state: to, period, awaiting_call, ..Model::new(at) };
    }

    /// The model's decision for a unit arriving now.
    fn admit(&mut self, node: NodeId, cfg: &BreakerConfig) -> Option<u64> {
        let m = &mut self.models[node.index()];
        match m.state {
            BreakerState::Closed => Some(m.period),
            BreakerState::Open => None,
            BreakerState::HalfOpen => (m.admitted < cfg.half_open_calls).then(|| {
                m.admitted += 1;
                m.period
            }),
        }
    }
}

impl Checker for CircuitBreaker {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[b::map(&self.units), b::nested(&self.models, |m| b::deque(&m.window)), b::vec(&self.violations), b::vec(&self.answered)])
    }

    fn observe(&mut self, e: &TraceEvent) {
        let Some((spec, cfg)) = self.spec.clone() else { return };
        match e.kind {
            EventKind::Call { node, app, outcome: CallOutcome::Admitted, .. } => {
                self.just_admitted[node.index()] = Some((e.time, app));
                self.admission(&spec, &cfg, e.time, node, app, true)
            }
            EventKind::Attempt { node, to, series, attempt } if Some(to) == self.service => {
                self.attempted(&spec, e.time, node, AppId(series), attempt)
            }
            EventKind::Call { node, app, outcome: CallOutcome::Rejected, .. } => self.admission(&spec, &cfg, e.time, node, app, false),
            EventKind::Call { node, app, outcome, latency_ns } => self.ending(&cfg, e.time, node, app, outcome, latency_ns),
            EventKind::Breaker { node, from, to } => self.transition(&cfg, e.time, node, from, to),
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                // A crash ends the step a half-open's call would have been in.
                self.uncalled(node, e.time, false);
                // The breaker dies with the process; units in flight never end.
                self.models[node.index()] = Model { period: self.models[node.index()].period + 1, ..Model::new(e.time) };
                self.units.retain(|_, u| u.0 != node);
            }
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } => self.models[node.index()].paused = true,
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some((_, cfg)) = &self.spec else { return Verdict::inconclusive("the scenario's protocol has no circuit breaker") };
        let mut violations = self.violations.clone();
        for node in self.cluster.nodes() {
            let m = &self.models[node.index()];
            if m.awaiting_call.is_some() {
                violations.push(format!(
                    "{} at {}: half-opened with no call to judge (half_open: OnCall half-opens only on a call)",
                    self.cluster.name(node),
                    m.since
                ));
            }
            if let Some((to, at)) = m.due {
                violations.push(format!(
                    "{} at {at}: the outcomes demanded {:?} -> {to:?}, which never came",
                    self.cluster.name(node),
                    m.state
                ));
            }
            let ends = m.since.saturating_add(cfg.wait_ns);
            if m.state == BreakerState::Open && !m.paused && end.at > ends && cfg.half_open == HalfOpenWhen::Timer {
                violations.push(format!(
                    "{} opened at {} and was still open at the end ({}); it should have half-opened at {ends}",
                    self.cluster.name(node),
                    m.since,
                    end.at
                ));
            }
        }
        let [healthy, failing, recovering] = self.refused;
        let [closed, opened, half] = self.transitions;
        let summary = format!(
            "{} admitted, {} refused; saved {} (refused while the service was failing: {failing}, recovering: {recovering}), \
             cost {healthy} (refused while it was healthy); transitions: {opened} to Open, {half} to HalfOpen, {closed} to Closed",
            self.admitted,
            healthy + failing + recovering,
            failing + recovering,
        );
        // The clients' outcomes against the service's error rates: an outcome that misreports
        // its answer (an error taken for success) skews the breaker, and shows here. Six
        // standard deviations plus three: a correct run fails about once in a billion phases.
        if let Some((spec, _)) = &self.spec {
            for (i, &(n, errors)) in self.answered.iter().enumerate().filter(|(_, a)| a.0 >= MIN_ANSWERS) {
                let p = f64::from(spec.schedule[i].error_ppb) / 1e9;
                let expected = n as f64 * p;
                let spread = 6.0 * (expected * (1.0 - p)).sqrt() + 3.0;
                if (errors as f64 - expected).abs() > spread {
                    violations.push(format!(
                        "the clients saw {errors} errors among {n} answers during the schedule's {:?} phase from {}, whose error rate {p} makes about {expected:.0}",
                        spec.schedule[i].phase, spec.schedule[i].at
                    ));
                }
            }
        }
        if !violations.is_empty() {
            let shown: Vec<&str> = violations.iter().map(String::as_str).filter(|v| !v.is_empty()).collect();
            let count = match violations.len() {
                1 => "1 violation".to_string(),
                n => format!("{n} violations, the first"),
            };
            return Verdict::fail(format!("{count}: {}; {summary}", shown.join("; ")));
        }
        if self.admitted + healthy + failing + recovering == 0 {
            return Verdict::inconclusive("the breaker judged no call");
        }
        Verdict::pass(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{EndReason, Outcome};
    use crate::protocols::calls::{Order, PhaseSpec};
    use BreakerState::*;
    use CallOutcome::*;

    const MS: u64 = 1_000_000;
    const C: NodeId = NodeId(0);

    /// A count window of 4 that opens at 50% failures once it holds 2, waits 100 ms, admits 2 half-open.
    fn checker() -> CircuitBreaker {
        checker_with(|_| {})
    }

    /// `checker()`'s breaker, changed by `tweak`.
    fn checker_with(tweak: impl Fn(&mut BreakerConfig)) -> CircuitBreaker {
        let cluster = Cluster { names: vec!["c".into(), "svc".into()], groups: vec![] };
        let spec = CallsSpec {
            service: "svc".into(),
            workers: None,
            timeout_ns: 50 * MS,
            retry: None,
            order: Order::BreakerInsideRetry,
            breaker: Some(BreakerConfig {
                window: Window::Count(4),
                min_calls: 2,
                failure_ppb: 500_000_000,
                slow_ppb: None,
                slow_ns: 40 * MS,
                wait_ns: 100 * MS,
                half_open_calls: 2,
                half_open: HalfOpenWhen::Timer,
            }),
            schedule: vec![PhaseSpec { at: SimTime::ZERO, phase: Phase::Healthy, error_ppb: 0, latency_ns: (MS, MS) }],
            bug: None,
        };
        let mut spec = spec;
        spec.breaker.as_mut().map(tweak);
        CircuitBreaker::new(cluster, vec![], Some(Arc::new(spec)))
    }

    fn at(ms: u64, kind: EventKind) -> TraceEvent {
        TraceEvent { time: SimTime(ms * MS), kind }
    }
    fn admit(ms: u64, app: u64) -> TraceEvent {
        call(ms, app, Admitted)
    }
    /// A unit's step; an ending's latency is filled in by `judge_with`, as measured.
    fn call(ms: u64, app: u64, outcome: CallOutcome) -> TraceEvent {
        let latency_ns = if matches!(outcome, Admitted | Rejected) { 0 } else { MEASURED };
        at(ms, EventKind::Call { node: C, app: AppId(app), outcome, latency_ns })
    }

    /// Stands for "the latency since the unit's admission" in events made by `call`.
    const MEASURED: u64 = u64::MAX;
    fn go(ms: u64, from: BreakerState, to: BreakerState) -> TraceEvent {
        at(ms, EventKind::Breaker { node: C, from, to })
    }

    fn judge(events: &[TraceEvent], end_ms: u64) -> Verdict {
        judge_with(checker(), events, end_ms)
    }

    fn judge_with(mut c: CircuitBreaker, events: &[TraceEvent], end_ms: u64) -> Verdict {
        let mut admitted = BTreeMap::new();
        for e in events {
            let mut e = *e;
            if let EventKind::Call { app, outcome, ref mut latency_ns, .. } = e.kind {
                if outcome == Admitted {
                    admitted.insert(app, e.time);
                } else if *latency_ns == MEASURED
                    && let Some(since) = admitted.get(&app)
                {
                    *latency_ns = e.time.0 - since.0;
                }
            }
            c.observe(&e);
        }
        c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(end_ms * MS), max_latency_ns: 0 })
    }

    /// Two failures open it; 100 ms later it half-opens; two successes close it.
    fn correct() -> Vec<TraceEvent> {
        vec![
            admit(0, 0),
            admit(1, 1),
            call(2, 0, Error),
            call(3, 1, Error),
            go(3, Closed, Open),
            call(50, 2, Rejected),
            go(103, Open, HalfOpen),
            admit(110, 3),
            admit(111, 4),
            call(112, 5, Rejected),
            call(113, 3, Ok),
            call(114, 4, Ok),
            go(114, HalfOpen, Closed),
        ]
    }

    #[test]
    fn a_correct_breaker_passes() {
        let v = judge(&correct(), 200);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert!(v.detail.contains("2 refused; saved 0"), "{}", v.detail);
        assert!(v.detail.contains("cost 2"), "{}", v.detail);
    }

    #[test]
    fn each_planted_fault_fails() {
        let mutate = |f: &dyn Fn(&mut Vec<TraceEvent>)| {
            let mut events = correct();
            f(&mut events);
            judge(&events, 200)
        };
        type Plant = Box<dyn Fn(&mut Vec<TraceEvent>)>;
        let cases: [(&str, Plant); 8] = [
            ("never came", Box::new(|e| e[4] = admit(3, 99))),
            ("not a legal transition", Box::new(|e| e[4] = go(3, Closed, HalfOpen))),
            ("had not reached a threshold", Box::new(|e| e.splice(2..4, [call(2, 0, Ok), call(3, 1, Ok)]).for_each(drop))),
            ("wait that began", Box::new(|e| e[6] = go(90, Open, HalfOpen))),
            ("refused a0 while Closed", Box::new(|e| e.insert(1, call(0, 0, Rejected)))),
            ("admitted a2 while Open", Box::new(|e| e[5] = admit(50, 2))),
            ("no unit of it was admitted", Box::new(|e| e.insert(6, call(60, 7, Timeout)))),
            ("demanded Closed", Box::new(|e| e[12] = go(114, HalfOpen, Open))),
        ];
        for (expected, f) in cases {
            let v = mutate(&*f);
            assert_eq!(v.outcome, Outcome::Fail, "{expected}: {}", v.detail);
            assert!(v.detail.contains(expected), "expected {expected:?} in {}", v.detail);
        }
    }

    /// One failure in two is 50%: at the threshold, so the breaker must open; the check
    /// fails a breaker that waits for more.
    #[test]
    fn the_threshold_is_at_or_above() {
        let mut events = correct();
        events[2] = call(2, 0, Ok);
        assert_eq!(judge(&events, 200).outcome, Outcome::Pass);
        events.remove(4);
        let v = judge(&events, 200);
        assert!(v.detail.contains("Closed -> Open, which never came"), "{}", v.detail);
    }

    #[test]
    fn a_breaker_still_open_after_its_wait_fails_unless_the_run_ended_first() {
        let opened = &correct()[..6];
        assert_eq!(judge(opened, 103).outcome, Outcome::Pass);
        let v = judge(opened, 104);
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("still open at the end"), "{}", v.detail);
    }

    fn ended(ms: u64, app: u64, outcome: CallOutcome, latency_ms: u64) -> TraceEvent {
        at(ms, EventKind::Call { node: C, app: AppId(app), outcome, latency_ns: latency_ms * MS })
    }

    // Postmortem: `min_calls` above a count window's size was accepted and the breaker could
    // never open; resilience4j clamps it to the window, and so do the breaker and the check.
    #[test]
    fn regression_min_calls_above_a_count_window_is_clamped_to_it() {
        let events = correct();
        let clamped = || checker_with(|c| c.min_calls = 5); // the window holds 4
        // Clamped to 4, not to nothing: two failures in two outcomes may not open it yet.
        let v = judge_with(clamped(), &events, 200);
        assert!(v.detail.contains("had not reached a threshold"), "{}", v.detail);
        let four =
            [admit(0, 0), admit(0, 1), admit(0, 2), admit(0, 3), call(1, 0, Error), call(1, 1, Error), call(2, 2, Ok), call(3, 3, Ok)];
        let mut opens = four.to_vec();
        opens.push(go(3, Closed, Open));
        assert_eq!(judge_with(clamped(), &opens, 50).outcome, Outcome::Pass);
        let v = judge_with(clamped(), &four, 50);
        assert!(v.detail.contains("Closed -> Open, which never came"), "{}", v.detail);
    }

    // Postmortem: half-open decided only after every permitted call; resilience4j decides
    // after min(minimumNumberOfCalls, permitted calls) outcomes.
    #[test]
    fn regression_half_open_decides_after_min_calls_outcomes() {
        let three_permitted = || checker_with(|c| c.half_open_calls = 3); // min_calls is 2
        let mut events = correct();
        events.insert(9, admit(112, 5));
        events.remove(10); // a5 is admitted now, not refused
        let v = judge_with(three_permitted(), &events, 200);
        assert_eq!(v.outcome, Outcome::Pass, "two of three outcomes decide: {}", v.detail);
        let late = [&events[..11], &[call(114, 4, Ok), call(115, 5, Ok), go(115, HalfOpen, Closed)]].concat();
        let v = judge_with(three_permitted(), &late, 200);
        assert!(v.detail.contains("demanded HalfOpen -> Closed, which never came"), "{}", v.detail);
    }

    // Postmortem: a call lasting exactly the slow threshold counted as slow; resilience4j's
    // slow calls take strictly longer.
    #[test]
    fn regression_slow_means_strictly_longer_than_the_threshold() {
        let slow_opens = || {
            checker_with(|c| {
                c.slow_ppb = Some(500_000_000);
                c.slow_ns = 40 * MS;
            })
        };
        let at_threshold = [admit(0, 0), admit(0, 1), ended(40, 0, Ok, 40), ended(40, 1, Ok, 40)];
        assert_eq!(judge_with(slow_opens(), &at_threshold, 50).outcome, Outcome::Pass);
        let over = [admit(0, 0), admit(0, 1), ended(41, 0, Ok, 41), ended(41, 1, Ok, 41)];
        let v = judge_with(slow_opens(), &over, 50);
        assert!(v.detail.contains("Closed -> Open, which never came"), "{}", v.detail);
    }

    #[test]
    fn errors_the_schedule_does_not_make_fail() {
        // A healthy service that never errs: 40 answers, all ok, pass; 5 errors among them,
        // one in eight (too few to open the breaker), fail.
        let answers = |errors: u64| -> Vec<TraceEvent> {
            let outcome = |i: u64| if i.is_multiple_of(8) && i / 8 < errors { Error } else { Ok };
            (0..40).flat_map(|i| [admit(i * 10, i), call(i * 10 + 1, i, outcome(i))]).collect()
        };
        assert_eq!(judge(&answers(0), 500).outcome, Outcome::Pass);
        let v = judge(&answers(5), 500);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("5 errors among 40 answers"), "{}", v.detail);
    }

    #[test]
    fn a_latency_other_than_the_measured_one_fails() {
        let v = judge(&[admit(0, 0), ended(30, 0, Ok, 10)], 50);
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("reporting a latency of 10.000ms"), "{}", v.detail);
    }

    #[test]
    fn on_call_half_opens_on_the_first_call_after_the_wait_and_never_sooner() {
        let lazy = || checker_with(|c| c.half_open = HalfOpenWhen::OnCall);
        let opened = &correct()[..6]; // open at 3 ms, wait 100 ms
        let on_call = [opened, &[go(150, Open, HalfOpen), admit(150, 3)]].concat();
        assert_eq!(judge_with(lazy(), &on_call, 200).outcome, Outcome::Pass);
        // Still open at the end, with no call after the wait: fine when lazy.
        assert_eq!(judge_with(lazy(), opened, 500).outcome, Outcome::Pass);
        let v = judge_with(lazy(), &[opened, &[call(150, 3, Rejected)]].concat(), 200);
        assert!(v.detail.contains("should have half-opened on this call"), "{}", v.detail);
        let v = judge_with(lazy(), &[opened, &[go(90, Open, HalfOpen)]].concat(), 200);
        assert!(v.detail.contains("wait that began"), "{}", v.detail);
    }

    // Postmortem: the held-out mutant breaker-on-call-also-armed-timer (an OnCall breaker also
    // armed the Timer's wait) half-opened at the wait's end with no call; the check asked only
    // that the half-open come no sooner than the wait's end and no later than the first call.
    #[test]
    fn regression_on_call_half_opens_only_on_a_call() {
        let lazy = || checker_with(|c| c.half_open = HalfOpenWhen::OnCall);
        let opened = &correct()[..6]; // open at 3 ms, wait 100 ms: ends at 103 ms
        let by_timer = [opened, &[go(103, Open, HalfOpen), admit(110, 3)]].concat();
        let v = judge_with(lazy(), &by_timer, 200);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("c at 103.000ms: half-opened with no call to judge"), "{}", v.detail);
        // Nothing after it at all: the run's end judges it.
        let v = judge_with(lazy(), &[opened, &[go(103, Open, HalfOpen)]].concat(), 200);
        assert!(v.detail.contains("half-opened with no call to judge"), "{}", v.detail);
        // The call at the same instant brings it.
        let on_call = [opened, &[go(103, Open, HalfOpen), admit(103, 3)]].concat();
        assert_eq!(judge_with(lazy(), &on_call, 200).outcome, Outcome::Pass);
        // The timer's half-open, at the same instant, is right for a Timer breaker.
        assert_eq!(judge(&by_timer, 200).outcome, Outcome::Pass);
    }

    fn attempt(ms: u64, app: u64, attempt: u32) -> TraceEvent {
        at(ms, EventKind::Attempt { node: C, to: NodeId(1), series: app, attempt })
    }

    // The order was unjudged: a retry that skipped the breaker it should pass (or passed the
    // one it should skip) broke no clause, as the held-out mutants of modes nobody judged did.
    #[test]
    fn the_breaker_sits_where_order_puts_it() {
        // Only all-failing windows open it here: the attempts below leave it closed.
        let tolerant = || checker_with(|c| c.failure_ppb = 1_000_000_000);
        let retry_inside = || {
            let mut c = tolerant();
            if let Some((spec, _)) = c.spec.as_mut() {
                Arc::make_mut(spec).order = Order::RetryInsideBreaker;
            }
            c
        };
        // Two attempts of a0, each admitted first: the breaker inside the retries.
        let each = [admit(0, 0), attempt(0, 0, 1), call(5, 0, Error), admit(20, 0), attempt(20, 0, 2), call(25, 0, Ok)];
        let v = judge_with(tolerant(), &each, 50);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        // The retry skipped the breaker.
        let skipped = [admit(0, 0), attempt(0, 0, 1), call(5, 0, Error), attempt(20, 0, 2), call(25, 0, Ok)];
        let v = judge_with(tolerant(), &skipped, 50);
        assert!(v.detail.contains("c at 20.000ms: attempt #2 of a0 left without the breaker admitting it"), "{}", v.detail);
        // RetryInsideBreaker: one admission, its retry inside.
        let once = [admit(0, 0), attempt(0, 0, 1), attempt(20, 0, 2), call(25, 0, Ok)];
        let v = judge_with(retry_inside(), &once, 50);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        let v = judge_with(retry_inside(), &each, 50);
        assert!(v.detail.contains("attempt #2 of a0 was judged by the breaker again"), "{}", v.detail);
        let v = judge_with(retry_inside(), &once[1..], 50);
        assert!(v.detail.contains("attempt #1 of a0 left without the breaker admitting its call"), "{}", v.detail);
    }
}

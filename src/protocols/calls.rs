//! Calls to a flaky service: the client's timeout, retries with backoff, jitter and a
//! budget, a circuit breaker, and the service with its scheduled health and bounded workers.
//!
//! Every node but the service is a client. Each workload command is one call. A
//! call's attempt is a request the client waits `timeout` for; a failed attempt (an
//! error answer or a timeout) is retried, if `retry` is given, after the backoff of
//! `at_least_once::Retry` (exponential, capped, with jitter from the node's stream: the
//! policy's proportional jitter, or the full, equal or decorrelated scheme of `jitter`),
//! while attempts remain and the retry budget has a token: every new call deposits
//! `ratio` of a token, up to `burst` tokens (the bucket starts full), and every retry
//! takes one. The service serves `workers` requests at a time (all at once if
//! unbounded) in arrival order; a request's service time and its chance of an error
//! come from the schedule phase in force when its service begins. The service never
//! learns that a client stopped waiting, so a storm of retries is served in full.
//!
//! The breaker, if any, wraps either each attempt (`BreakerInsideRetry`, the default:
//! a refused attempt is a failed one, retried like any other) or the whole call
//! (`RetryInsideBreaker`: the breaker admits the call once and judges its final
//! outcome, its latency counted from the first attempt). What the breaker judges is
//! a *unit*, an attempt or a call; each unit is a `call` line when admitted
//! (`Admitted`) or refused (`Rejected`) and another when it ends (`Ok`, `Error` or
//! `Timeout`, with its latency). Without a breaker there is one ending line per call.
//! Every state change of the breaker is a `breaker` line.
//!
//! The breaker's semantics, exactly (the book's "Failure handling" chapter and the
//! `CircuitBreaker` check follow this text). They are resilience4j's documented ones, so a
//! user of that library finds what they expect:
//!
//! - **Closed** admits every call. Each outcome of a call admitted in the current
//!   closed period enters the sliding window: the last `n` outcomes (`Count`), or the
//!   outcomes recorded less than `d` ago, i.e. at a time `t > now - d` (`Time`). An
//!   outcome is a *failure* if it is `Error` or `Timeout`, and *slow* if its latency is
//!   **strictly greater** than `slow` (a timeout is slow whenever the timeout is). After
//!   recording an outcome, if the window holds at least `min_calls` outcomes (with a
//!   count window, at least `min(min_calls, n)`: a larger `min_calls` is clamped to the
//!   window, never left unreachable) and the failure rate or the slow rate is **at or
//!   above** its threshold, the breaker opens at once. It is evaluated only when an
//!   outcome is recorded, never as time passes.
//! - **Open** refuses every call. With `half_open: Timer` (the default) it ends exactly
//!   `wait` after it began (a timer on the client's clock), whether or not a call is
//!   waiting. With `half_open: OnCall` (resilience4j's default) it ends on the first call
//!   at or after `wait`, which the half-open breaker then judges.
//! - **HalfOpen** admits the first `half_open_calls` calls and refuses the rest. Once
//!   `min(min_calls, half_open_calls)` of them have an outcome, the breaker opens again
//!   if their failure rate or slow rate is at or above its threshold, and closes
//!   otherwise.
//! - Every transition starts a fresh period: the window is emptied, and the outcome of
//!   a call admitted in an earlier period is ignored (a slow call admitted while closed
//!   that ends after the breaker opened changes nothing).
//! - A refused call counts as nothing in any window: it is reported to the application
//!   (as `Rejected`) and costs the service nothing.
//!
//! `bug` plants a broken breaker: `NeverHalfOpen` stays open for good;
//! `OpensBelowThreshold` opens at half the failure-rate threshold.

use super::at_least_once::Retry;
use super::jitter::Jitter;
use super::{field, ns};
use crate::id::{AppId, NodeId, TimerId};
use crate::plugin::Protocol;
use crate::process::{Cluster, Command, Ctx, Incoming, Message, Payload, Process};
use crate::rng::PPB;
use crate::scenario::file::{
    BreakerBugFile, BreakerFile, BudgetFile, HalfOpenFile, Number, OrderFile, PhaseFile, PhaseName, RetryFile, Whole, WindowFile,
};
use crate::scenario::{ConfigCx, JitterShape, RetryBudget, RetryPolicy, Scenario, Seg, WaitFrom, limits};
use crate::time::SimTime;
use crate::trace::{BreakerState, CallOutcome};
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Which outcomes the closed breaker judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last `n` outcomes.
    Count(u32),
    /// The outcomes recorded in the last `ns` nanoseconds.
    Time(u64),
}

/// A breaker's parameters, in integers: rates in parts per billion, times in ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Which outcomes the closed breaker judges.
    pub window: Window,
    /// Outcomes the closed window must hold before it is judged (1 to 1,000,000; clamped to a
    /// count window's size, see [`BreakerConfig::closed_min_calls`]); also caps how many
    /// half-open outcomes decide.
    pub min_calls: u32,
    /// The failure rate (errors and timeouts) at or above which the breaker opens, in parts per
    /// billion; above 0, at most 1,000,000,000.
    pub failure_ppb: u32,
    /// `None`: slow calls never open the breaker.
    pub slow_ppb: Option<u32>,
    /// A call is slow if its latency is strictly greater than this, in nanoseconds.
    pub slow_ns: u64,
    /// How long the breaker stays open before it may half-open, in nanoseconds; above 0.
    pub wait_ns: u64,
    /// Calls the half-open breaker admits (1 to 1,000,000); it refuses the rest until it decides.
    pub half_open_calls: u32,
    /// Whether the open breaker half-opens on a timer or on the first call after its wait.
    pub half_open: HalfOpenWhen,
}

/// When an open breaker half-opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HalfOpenWhen {
    /// When its wait is over, on a timer.
    Timer,
    /// On the first call after its wait is over (resilience4j's default).
    OnCall,
}

impl BreakerConfig {
    /// Outcomes a closed window must hold before it is judged: `min_calls`, clamped to a
    /// count window's size as resilience4j does.
    pub fn closed_min_calls(&self) -> u32 {
        match self.window {
            Window::Count(n) => self.min_calls.min(n),
            Window::Time(_) => self.min_calls,
        }
    }

    /// Half-open outcomes after which the breaker decides.
    pub fn half_open_decides_after(&self) -> u32 {
        self.min_calls.min(self.half_open_calls)
    }

    /// Whether `failed` failures or `slow` slow calls out of `calls` reach a threshold
    /// (at or above). With `lenient`, the failure threshold is halved: the planted bug.
    pub fn trips(&self, calls: u32, failed: u32, slow: u32, lenient: bool) -> bool {
        let at_or_above = |count: u32, ppb: u32| u64::from(count) * PPB >= u64::from(ppb) * u64::from(calls);
        let failure_ppb = if lenient { self.failure_ppb / 2 } else { self.failure_ppb };
        calls > 0 && (at_or_above(failed, failure_ppb) || self.slow_ppb.is_some_and(|ppb| at_or_above(slow, ppb)))
    }
}

/// The service's health over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Working normally: the `CircuitBreaker` check counts calls refused here as the breaker's cost.
    Healthy,
    /// Failing: calls refused here count as what the breaker saved.
    Failing,
    /// Coming back: refused calls count as saved, as in `Failing`.
    Recovering,
}

/// From `at` on (until the next entry), the service answers with an error with
/// probability `error_ppb`, after a latency drawn uniformly from `latency_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseSpec {
    /// When the phase starts; the schedule's first starts at zero.
    pub at: SimTime,
    /// The phase's name, which the `CircuitBreaker` check reads.
    pub phase: Phase,
    /// Chance the service answers a request with an error, in parts per billion.
    pub error_ppb: u32,
    /// The service time's range `(min, max)` in nanoseconds, `min <= max`, drawn uniformly
    /// from the service node's own stream when a request's service begins.
    pub latency_ns: (u64, u64),
}

/// A deliberately broken breaker, for the check to catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerBug {
    /// The open breaker never half-opens: it stays open for the rest of the run.
    NeverHalfOpen,
    /// The closed breaker opens at half its failure-rate threshold.
    OpensBelowThreshold,
}

/// Retries with backoff, and the budget that bounds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retries {
    /// The backoff (exponential from a base, capped) and the most attempts per call.
    pub policy: Retry,
    /// How each wait is drawn from the policy's backoff.
    pub jitter: Jitter,
    /// Tokens, in parts per billion of a retry, each new call deposits.
    pub ratio_ppb: u64,
    /// The most retries the bucket holds (and starts with).
    pub burst: u64,
}

/// Which of retry and breaker wraps the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// The breaker judges each attempt; a refused attempt is a failed one and is retried
    /// after its backoff (the default).
    BreakerInsideRetry,
    /// The breaker admits each call once and judges its final outcome, its latency counted
    /// from the first attempt; the retries happen inside.
    RetryInsideBreaker,
}

/// The whole protocol: the service and its schedule, and the clients' timeout, retries and breaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallsSpec {
    /// The service's name (validation has checked that it names a node).
    pub service: String,
    /// Requests served at once; `None`: all of them.
    pub workers: Option<u32>,
    /// How long a client waits for an attempt's answer before the attempt fails, in
    /// nanoseconds; above 0.
    pub timeout_ns: u64,
    /// Retries and their budget; `None`: a failed attempt ends its call.
    pub retry: Option<Retries>,
    /// Each client's circuit breaker; `None`: every call goes to the service.
    pub breaker: Option<BreakerConfig>,
    /// Which of retry and breaker wraps the other (meaningful only with both).
    pub order: Order,
    /// Sorted by `at`; the first starts at zero.
    pub schedule: Vec<PhaseSpec>,
    /// A planted breaker bug (only with a breaker).
    pub bug: Option<BreakerBug>,
}

impl CallsSpec {
    /// The service's node in `cluster`.
    pub fn service(&self, cluster: &Cluster) -> NodeId {
        cluster.nodes().find(|&n| cluster.name(n) == self.service).expect("validation checked the service's name")
    }

    /// The schedule entry in force at `t`.
    pub fn phase_at(&self, t: SimTime) -> &PhaseSpec {
        let i = self.schedule.partition_point(|p| p.at <= t);
        &self.schedule[i.saturating_sub(1)]
    }
}

/// The breaker's state machine, usable by any client whose timers can say "the wait is over".
#[derive(Clone, Debug)]
pub struct Breaker {
    cfg: BreakerConfig,
    bug: Option<BreakerBug>,
    state: BreakerState,
    /// Bumped by every transition; a call's outcome counts only in the period that admitted it.
    period: u64,
    /// Closed: (recorded at, failed, slow), oldest first.
    window: VecDeque<(SimTime, bool, bool)>,
    /// Half-open: calls admitted, outcomes recorded, failures and slow calls among them.
    admitted: u32,
    done: u32,
    failed: u32,
    slow: u32,
    /// When the current period began (the wait in open counts from it).
    opened: SimTime,
}

/// The timer a breaker sets when it opens.
#[derive(Clone, Copy, Debug)]
pub struct WaitOver;

impl Breaker {
    /// A closed breaker with an empty window, broken as `bug` says if it is given.
    pub fn new(cfg: BreakerConfig, bug: Option<BreakerBug>) -> Breaker {
        Breaker {
            cfg,
            bug,
            state: BreakerState::Closed,
            period: 0,
            window: VecDeque::new(),
            admitted: 0,
            done: 0,
            failed: 0,
            slow: 0,
            opened: SimTime::ZERO,
        }
    }

    /// Admit a call (returning the period that admitted it) or refuse it.
    pub fn admit<M, T: From<WaitOver>>(&mut self, ctx: &mut Ctx<'_, M, T>) -> Option<u64> {
        if self.state == BreakerState::Open
            && self.cfg.half_open == HalfOpenWhen::OnCall
            && self.bug != Some(BreakerBug::NeverHalfOpen)
            && ctx.now().as_nanos() >= self.opened.as_nanos().saturating_add(self.cfg.wait_ns)
        {
            self.go(ctx, BreakerState::HalfOpen);
        }
        match self.state {
            BreakerState::Closed => Some(self.period),
            BreakerState::Open => None,
            BreakerState::HalfOpen if self.admitted < self.cfg.half_open_calls => {
                self.admitted += 1;
                Some(self.period)
            }
            BreakerState::HalfOpen => None,
        }
    }

    /// Record the outcome of a call admitted in `period` that took `latency_ns`.
    pub fn record<M, T: From<WaitOver>>(&mut self, ctx: &mut Ctx<'_, M, T>, period: u64, failed: bool, latency_ns: u64) {
        if period != self.period {
            return;
        }
        let slow = latency_ns > self.cfg.slow_ns;
        match self.state {
            BreakerState::Closed => {
                let now = ctx.now();
                self.window.push_back((now, failed, slow));
                match self.cfg.window {
                    Window::Count(n) => {
                        while self.window.len() > n as usize {
                            self.window.pop_front();
                        }
                    }
                    Window::Time(d) => {
                        while self.window.front().is_some_and(|&(t, ..)| t.as_nanos().saturating_add(d) <= now.as_nanos()) {
                            self.window.pop_front();
                        }
                    }
                }
                let calls = self.window.len() as u32;
                let failed = self.window.iter().filter(|w| w.1).count() as u32;
                let slow = self.window.iter().filter(|w| w.2).count() as u32;
                let lenient = self.bug == Some(BreakerBug::OpensBelowThreshold);
                if calls >= self.cfg.closed_min_calls() && self.cfg.trips(calls, failed, slow, lenient) {
                    self.go(ctx, BreakerState::Open);
                }
            }
            BreakerState::HalfOpen => {
                self.done += 1;
                self.failed += u32::from(failed);
                self.slow += u32::from(slow);
                if self.done == self.cfg.half_open_decides_after() {
                    let to =
                        if self.cfg.trips(self.done, self.failed, self.slow, false) { BreakerState::Open } else { BreakerState::Closed };
                    self.go(ctx, to);
                }
            }
            // Nothing is admitted while open, and every period change bumps `period`.
            BreakerState::Open => unreachable!("an outcome of the open period"),
        }
    }

    /// The wait in open is over.
    pub fn wait_over<M, T: From<WaitOver>>(&mut self, ctx: &mut Ctx<'_, M, T>) {
        if self.state == BreakerState::Open {
            self.go(ctx, BreakerState::HalfOpen);
        }
    }

    fn go<M, T: From<WaitOver>>(&mut self, ctx: &mut Ctx<'_, M, T>, to: BreakerState) {
        ctx.breaker_transition(self.state, to);
        self.state = to;
        self.period += 1;
        self.opened = ctx.now();
        self.window.clear();
        (self.admitted, self.done, self.failed, self.slow) = (0, 0, 0, 0);
        if to == BreakerState::Open && self.bug != Some(BreakerBug::NeverHalfOpen) && self.cfg.half_open == HalfOpenWhen::Timer {
            ctx.set_timer(self.cfg.wait_ns, T::from(WaitOver));
        }
    }
}

/// On the wire: a request names its call (the application message's id) and attempt.
#[derive(Clone, Debug)]
pub enum Wire {
    /// A client's attempt at a call, carrying the application's payload.
    Request {
        /// The call: the id of the workload command that started it.
        call: AppId,
        /// Which attempt of the call this is, from 1.
        attempt: u32,
        /// The application message the call carries.
        payload: Payload,
    },
    /// The service's answer to one attempt.
    Response {
        /// The call answered.
        call: AppId,
        /// The attempt answered: a client ignores an answer to any attempt but its current one.
        attempt: u32,
        /// Served (`true`) or an error (`false`), as the phase's error rate drew.
        ok: bool,
    },
}

/// Header bytes: kind, call id, attempt, status, checksum.
const HEADER_BYTES: u32 = 28;

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Request { payload, .. } => HEADER_BYTES.saturating_add(payload.size_bytes),
            Wire::Response { .. } => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        if let Wire::Request { payload, .. } = self {
            payload.corrupt();
        }
    }
}

/// The protocol's timers, on clients and on the service.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    /// An attempt has waited its whole timeout.
    AttemptTimeout {
        /// The call whose attempt timed out.
        call: AppId,
        /// The attempt, from 1; stale if the call has moved on to a later one.
        attempt: u32,
    },
    /// A call's backoff is over: its next attempt is due.
    RetryDue(AppId),
    /// A client's breaker may half-open.
    WaitOver,
    /// The service has finished a request.
    Served {
        /// The client to answer.
        to: NodeId,
        /// The call served.
        call: AppId,
        /// The attempt served.
        attempt: u32,
        /// Whether the answer is a success, drawn when service began.
        ok: bool,
    },
}

impl From<WaitOver> for Timer {
    fn from(_: WaitOver) -> Timer {
        Timer::WaitOver
    }
}

/// A call not yet ended.
pub struct Pending {
    payload: Payload,
    /// The current attempt, from 1.
    attempt: u32,
    /// When the call and its current attempt were sent (or tried).
    began: SimTime,
    attempt_began: SimTime,
    /// The attempt's timeout, while one is in flight.
    timer: Option<TimerId>,
    /// The breaker period that admitted the unit in flight.
    period: u64,
    /// The backoff, before jitter, that followed the latest failed attempt (under
    /// `Decorrelated` jitter, the wait itself): what `Jitter::next_wait` carries forward.
    backoff_ns: u64,
}

/// A calling node: its calls in progress, its breaker, and its retry tokens.
pub struct Client {
    spec: Arc<CallsSpec>,
    service: NodeId,
    breaker: Option<Breaker>,
    pending: BTreeMap<AppId, Pending>,
    /// Retry tokens, in parts per billion of a retry.
    tokens: u64,
}

/// A request waiting for, or in, service.
#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    call: AppId,
    attempt: u32,
}

/// The serving node: requests in service (at most `workers`) and those queued, first come,
/// first served.
pub struct Service {
    spec: Arc<CallsSpec>,
    busy: u32,
    queue: VecDeque<Job>,
}

/// A node of the protocol: the service, or a client.
pub enum Node {
    /// Every node but the service.
    Client(Client),
    /// The node the spec names as the service.
    Service(Service),
}

impl Node {
    /// Node `me`'s process: the service if `me` is `service`, else a client with a closed
    /// breaker (if the spec has one) and a full retry bucket.
    pub fn new(spec: Arc<CallsSpec>, service: NodeId, me: NodeId) -> Node {
        if me == service {
            Node::Service(Service { spec, busy: 0, queue: VecDeque::new() })
        } else {
            let breaker = spec.breaker.map(|cfg| Breaker::new(cfg, spec.bug));
            let tokens = spec.retry.map_or(0, |r| r.burst.saturating_mul(PPB));
            Node::Client(Client { spec, service, breaker, pending: BTreeMap::new(), tokens })
        }
    }
}

impl Client {
    fn breaker_per_attempt(&self) -> bool {
        self.breaker.is_some() && self.spec.order == Order::BreakerInsideRetry
    }

    /// Try the current attempt of `call`: through the breaker if it wraps attempts (or this
    /// is the call's first attempt and it wraps calls), then onto the wire.
    fn attempt(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, call: AppId) {
        let first = self.pending.get(&call).is_some_and(|p| p.attempt == 1);
        let per_attempt = self.breaker_per_attempt();
        let Some(p) = self.pending.get_mut(&call) else { return };
        p.attempt_began = ctx.now();
        if let Some(breaker) = self.breaker.as_mut()
            && (per_attempt || first)
        {
            match breaker.admit(ctx) {
                Some(period) => {
                    p.period = period;
                    ctx.call_outcome(call, CallOutcome::Admitted, 0);
                }
                None => {
                    ctx.call_outcome(call, CallOutcome::Rejected, 0);
                    ctx.attempt_failed(self.service, call.0, p.attempt);
                    // A refused attempt is a failed one; a refused call is over.
                    if !(per_attempt && self.retry_later(ctx, call)) {
                        self.pending.remove(&call);
                    }
                    return;
                }
            }
        }
        let p = self.pending.get_mut(&call).expect("still pending");
        ctx.send_attempt(self.service, Wire::Request { call, attempt: p.attempt, payload: p.payload }, call.0, p.attempt);
        p.timer = Some(ctx.set_timer(self.spec.timeout_ns, Timer::AttemptTimeout { call, attempt: p.attempt }));
    }

    /// The current attempt of `call` ended with `outcome` after `latency_ns`.
    fn attempt_ended(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, call: AppId, outcome: CallOutcome, latency_ns: u64) {
        let ok = outcome == CallOutcome::Ok;
        if !ok {
            // The wait before a retry starts here, and the trace says so.
            ctx.attempt_failed(self.service, call.0, self.pending[&call].attempt);
        }
        if self.breaker_per_attempt() {
            ctx.call_outcome(call, outcome, latency_ns);
            let period = self.pending[&call].period;
            if let Some(b) = self.breaker.as_mut() {
                b.record(ctx, period, !ok, latency_ns);
            }
            if ok || !self.retry_later(ctx, call) {
                self.pending.remove(&call);
            }
            return;
        }
        if !ok && self.retry_later(ctx, call) {
            return;
        }
        // The call is over: one line for it, and the breaker (wrapping calls) judges it whole.
        let p = self.pending.remove(&call).expect("pending");
        let total = ctx.now().as_nanos() - p.began.as_nanos();
        ctx.call_outcome(call, outcome, total);
        if let Some(b) = self.breaker.as_mut() {
            b.record(ctx, p.period, !ok, total);
        }
    }

    /// Schedule the next attempt of `call` if attempts remain and the budget has a token.
    fn retry_later(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, call: AppId) -> bool {
        let Some(r) = self.spec.retry else { return false };
        let Some(p) = self.pending.get_mut(&call) else { return false };
        if p.attempt >= r.policy.max_attempts || self.tokens < PPB {
            return false;
        }
        self.tokens -= PPB;
        p.attempt += 1;
        let wait = r.jitter.next_wait(&r.policy, &mut p.backoff_ns, p.attempt == 2, ctx);
        p.timer = None;
        ctx.set_timer(wait, Timer::RetryDue(call));
        true
    }
}

impl Service {
    /// Begin serving `job` on a free worker.
    fn serve(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, job: Job) {
        self.busy += 1;
        let phase = *self.spec.phase_at(ctx.now());
        let latency = ctx.rng().between(phase.latency_ns.0, phase.latency_ns.1);
        let ok = !ctx.rng().chance(phase.error_ppb);
        ctx.set_timer(latency, Timer::Served { to: job.from, call: job.call, attempt: job.attempt, ok });
    }
}

impl Process for Node {
    type Msg = Wire;
    type Timer = Timer;

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, cmd: Command) {
        // The service makes no calls of its own.
        let Node::Client(c) = self else { return };
        let Command::Send { payload, .. } = cmd;
        if let Some(r) = c.spec.retry {
            c.tokens = c.tokens.saturating_add(r.ratio_ppb).min(r.burst.saturating_mul(PPB));
        }
        let now = ctx.now();
        c.pending
            .insert(payload.id, Pending { payload, attempt: 1, began: now, attempt_began: now, timer: None, period: 0, backoff_ns: 0 });
        c.attempt(ctx, payload.id);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, incoming: Incoming<Wire>) {
        // A damaged message is discarded, as a checksum failure would: the attempt times out.
        if !incoming.checksum_ok {
            return;
        }
        match (self, incoming.msg) {
            (Node::Service(s), Wire::Request { call, attempt, .. }) => {
                let job = Job { from: incoming.from, call, attempt };
                match s.spec.workers {
                    Some(w) if s.busy >= w => s.queue.push_back(job),
                    _ => s.serve(ctx, job),
                }
            }
            (Node::Client(c), Wire::Response { call, attempt, ok }) => {
                // An answer to an attempt that timed out (or a duplicate) finds nothing to end.
                let Some(p) = c.pending.get_mut(&call).filter(|p| p.attempt == attempt && p.timer.is_some()) else { return };
                ctx.cancel_timer(p.timer.take().expect("in flight"));
                let latency = ctx.now().as_nanos() - p.attempt_began.as_nanos();
                c.attempt_ended(ctx, call, if ok { CallOutcome::Ok } else { CallOutcome::Error }, latency);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Timer>, timer: Timer) {
        match (self, timer) {
            (Node::Service(s), Timer::Served { to, call, attempt, ok }) => {
                ctx.send_answer(to, Wire::Response { call, attempt, ok }, call.0, attempt);
                s.busy -= 1;
                if let Some(job) = s.queue.pop_front() {
                    s.serve(ctx, job);
                }
            }
            (Node::Client(c), Timer::AttemptTimeout { call, attempt }) => {
                let Some(p) = c.pending.get_mut(&call).filter(|p| p.attempt == attempt && p.timer.is_some()) else { return };
                p.timer = None;
                let timeout = c.spec.timeout_ns;
                c.attempt_ended(ctx, call, CallOutcome::Timeout, timeout);
            }
            (Node::Client(c), Timer::RetryDue(call)) => c.attempt(ctx, call),
            (Node::Client(c), Timer::WaitOver) => {
                if let Some(b) = c.breaker.as_mut() {
                    b.wait_over(ctx);
                }
            }
            _ => {}
        }
    }
}

/// `Calls(service: "s", timeout_ms: .., retry: .., budget: .., breaker: .., order: .., schedule: [..], bug: ..)`:
/// every node but `service` calls it (see the module documentation for the exact semantics).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "Calls", deny_unknown_fields)]
pub struct Config {
    /// The node that serves the calls.
    pub service: String,
    /// Requests the service serves at once (absent: all of them).
    #[serde(default)]
    pub workers: Option<Whole>,
    /// How long a client waits for an answer.
    pub timeout_ms: Number,
    /// Retries with backoff.
    #[serde(default)]
    pub retry: Option<RetryFile>,
    /// The token bucket that bounds retries.
    #[serde(default)]
    pub budget: Option<BudgetFile>,
    /// The circuit breaker.
    #[serde(default)]
    pub breaker: Option<BreakerFile>,
    /// Which of retry and breaker wraps the other.
    #[serde(default)]
    pub order: OrderFile,
    /// How a retry's wait is drawn from its backoff: `Proportional` (the policy's `jitter`
    /// fraction), `Full`, `Equal` or `Decorrelated`.
    #[serde(default)]
    pub jitter: Jitter,
    /// The service's health over time.
    pub schedule: Vec<PhaseFile>,
    /// A planted breaker bug, for the broken variants.
    #[serde(default)]
    pub bug: Option<BreakerBugFile>,
}

/// Calls through timeouts, retries and a circuit breaker, as scenarios name it.
pub struct CallsProtocol;

impl Protocol for CallsProtocol {
    const NAME: &'static str = "Calls";
    type Config = Config;
    type Process = Node;

    /// A service that exists, usable durations and counts, rates that are fractions, a schedule
    /// from time zero in increasing order, a bug only in a breaker, and no clock drift (the
    /// breaker measures on its node's clock, the check on the trace's: drift would set them apart).
    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        let calls_range = 1..=limits::MAX_BREAKER_CALLS;
        cx.node(&[field("service")], &config.service);
        cx.positive_millis(&[field("timeout_ms")], config.timeout_ms, "a timeout of zero");
        if let Some(w) = config.workers {
            cx.within(&[field("workers")], w.0, calls_range.clone(), |n| format!("{n} workers"));
        }
        if let Some(r) = &config.retry {
            Retry::validate(r, cx);
            if config.jitter != Jitter::Proportional && r.jitter.is_some() {
                let expected = "either a `jitter` fraction in `retry` or another scheme, not both".to_string();
                cx.error(&[field("retry"), field("jitter")], format!("a jitter fraction with {:?} jitter", config.jitter), expected);
            }
        } else if config.jitter != Jitter::Proportional {
            cx.error(&[field("jitter")], "a jitter scheme without retries", "a `retry` policy as well".to_string());
        }
        if let Some(b) = config.budget {
            if config.retry.is_none() {
                cx.error(&[field("budget")], "a retry budget without retries", "a `retry` policy as well".to_string());
            }
            cx.probability(&[field("budget"), field("ratio")], Some(b.ratio));
            cx.within(&[field("budget"), field("burst")], b.burst.0, calls_range.clone(), |n| format!("a burst of {n} retries"));
        }
        if config.bug.is_some() && config.breaker.is_none() {
            cx.error(&[field("bug")], "a breaker bug without a breaker", "a `breaker` as well".to_string());
        }
        if let Some(breaker) = &config.breaker {
            validate_breaker(breaker, cx);
        }
        validate_schedule(&config.schedule, cx);
        let drifting: Vec<usize> =
            cx.file().clocks.iter().enumerate().filter(|(_, c)| c.drift_ppm.is_some_and(|d| d.0 != 0.0)).map(|(i, _)| i).collect();
        for i in drifting {
            cx.error_in_scenario(
                &[Seg::Field("clocks"), Seg::Index(i), Seg::Field("drift_ppm")],
                "clock drift under the calls protocol",
                "no drift: the breaker's timing is judged on the trace's clock".to_string(),
            );
        }
    }

    /// A failed attempt is retried after the policy's wait, which begins when the attempt failed.
    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        let jitter = match config.jitter {
            Jitter::Proportional => JitterShape::Proportional,
            Jitter::Full => JitterShape::Full,
            Jitter::Equal => JitterShape::Equal,
            Jitter::Decorrelated => JitterShape::Decorrelated,
        };
        let budget = config.budget.map(|b| RetryBudget { ratio_ppb: (b.ratio.0 * PPB as f64).round() as u64, burst: b.burst.0 });
        config.retry.map(|retry| RetryPolicy {
            retry,
            wait_from: WaitFrom::Failure,
            jitter,
            budget,
            // The service answers (`answer` lines, judged as answers), it does not acknowledge.
            acks_every_arrival: false,
            relayed_series: false,
        })
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Node {
        let spec = CallsProtocol::spec(config);
        let service = spec.service(&scenario.cluster);
        move |me| Node::new(spec.clone(), service, me)
    }
}

impl CallsProtocol {
    /// The protocol in integers. Validation has checked the ranges; on a scenario that failed it
    /// the result is never used, so saturating casts suffice.
    pub fn spec(config: &Config) -> Arc<CallsSpec> {
        let ppb = |r: Number| (r.0 * PPB as f64).round() as u32;
        let small = |w: Whole| w.0.min(u64::from(u32::MAX)) as u32;
        Arc::new(CallsSpec {
            service: config.service.clone(),
            workers: config.workers.map(small),
            timeout_ns: ns(config.timeout_ms),
            retry: config.retry.map(|r| Retries {
                policy: Retry::from_file(&r),
                jitter: config.jitter,
                // No budget: every call may retry all its attempts.
                ratio_ppb: config.budget.map_or(u64::MAX, |b| u64::from(ppb(b.ratio))),
                burst: config.budget.map_or(u64::MAX / PPB, |b| b.burst.0),
            }),
            breaker: config.breaker.map(|b| BreakerConfig {
                window: match b.window {
                    WindowFile::Count(n) => Window::Count(small(n)),
                    WindowFile::Time { ms } => Window::Time(ns(ms)),
                },
                min_calls: small(b.min_calls),
                failure_ppb: ppb(b.failure_rate),
                slow_ppb: b.slow_rate.map(ppb),
                slow_ns: ns(b.slow_ms),
                wait_ns: ns(b.wait_ms),
                half_open_calls: small(b.half_open_calls),
                half_open: match b.half_open {
                    HalfOpenFile::Timer => HalfOpenWhen::Timer,
                    HalfOpenFile::OnCall => HalfOpenWhen::OnCall,
                },
            }),
            order: match config.order {
                OrderFile::BreakerInsideRetry => Order::BreakerInsideRetry,
                OrderFile::RetryInsideBreaker => Order::RetryInsideBreaker,
            },
            schedule: config
                .schedule
                .iter()
                .map(|p| PhaseSpec {
                    at: SimTime(ns(p.at_ms)),
                    phase: match p.phase {
                        PhaseName::Healthy => Phase::Healthy,
                        PhaseName::Failing => Phase::Failing,
                        PhaseName::Recovering => Phase::Recovering,
                    },
                    error_ppb: ppb(p.errors),
                    latency_ns: (ns(p.latency_ms.0), ns(p.latency_ms.1)),
                })
                .collect(),
            bug: config.bug.map(|b| match b {
                BreakerBugFile::NeverHalfOpen => BreakerBug::NeverHalfOpen,
                BreakerBugFile::OpensBelowThreshold => BreakerBug::OpensBelowThreshold,
            }),
        })
    }
}

fn validate_breaker(breaker: &BreakerFile, cx: &mut ConfigCx<'_, '_>) {
    let b = |name: &'static str| [field("breaker"), field(name)];
    let calls_range = 1..=limits::MAX_BREAKER_CALLS;
    match breaker.window {
        WindowFile::Count(n) => {
            cx.within(&b("window"), n.0, calls_range.clone(), |n| format!("a window of {n} calls"));
        }
        WindowFile::Time { ms } => {
            cx.positive_millis(&b("window"), ms, "a window of zero milliseconds");
        }
    }
    for (name, v) in [("min_calls", breaker.min_calls), ("half_open_calls", breaker.half_open_calls)] {
        cx.within(&b(name), v.0, calls_range.clone(), |n| format!("{n} calls"));
    }
    for (name, v) in [("failure_rate", Some(breaker.failure_rate)), ("slow_rate", breaker.slow_rate)] {
        if let Some(Number(r)) = v
            && !(r > 0.0 && r <= 1.0)
        {
            cx.error(&b(name), format!("a rate of {r}"), "a fraction above 0 and at most 1".to_string());
        }
    }
    cx.millis(&b("slow_ms"), breaker.slow_ms);
    cx.positive_millis(&b("wait_ms"), breaker.wait_ms, "a wait of zero in open");
}

fn validate_schedule(schedule: &[PhaseFile], cx: &mut ConfigCx<'_, '_>) {
    if schedule.is_empty() {
        cx.error(&[field("schedule")], "an empty schedule", "at least one phase, the first at 0 ms".to_string());
    }
    let mut last = None;
    for (i, ph) in schedule.iter().enumerate() {
        let at_path = [field("schedule"), Seg::Index(i), field("at_ms")];
        let at = cx.millis(&at_path, ph.at_ms);
        match (i, at, last) {
            (0, Some(t), _) if t != 0 => {
                cx.error(&at_path, "the first phase starts late", "0: the schedule covers the whole run".to_string())
            }
            (_, Some(t), Some(prev)) if t <= prev => {
                cx.error(&at_path, "phases out of order", "a time after the previous phase's".to_string())
            }
            _ => {}
        }
        last = at.or(last);
        cx.probability(&[field("schedule"), Seg::Index(i), field("errors")], Some(ph.errors));
        let latency_path = [field("schedule"), Seg::Index(i), field("latency_ms")];
        let lo = cx.millis(&latency_path, ph.latency_ms.0);
        let hi = cx.millis(&latency_path, ph.latency_ms.1);
        if matches!((lo, hi), (Some(lo), Some(hi)) if hi < lo) {
            cx.error(&latency_path, "the latency range is reversed", "(min, max) with min <= max".to_string());
        }
    }
}

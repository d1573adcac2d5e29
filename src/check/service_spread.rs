//! The `Calls` service's service times spread over each phase's range: a uniform draw lands above the range's midpoint about half the time.
//!
//! Part of `CallsServed`, read from the same trace. The service's queue is replayed: a request
//! (an intact copy arriving at the service) begins service at its arrival when fewer than
//! `workers` are busy (always, if unbounded), else at the answer (the service's `answer` line)
//! that frees a worker for it, first come, first served; it ends at its own answer, matched by
//! the client's attempt (its `attempt sN #a` line before the send). Its service time counts
//! for the phase in force at its start on the service's clock. Once 64 requests of a phase
//! whose range is at least a microsecond wide have been timed, fewer than a tenth of them above
//! the range's midpoint fails: a fair draw does that with probability below 10^-11, and a
//! service that always takes the shortest time (or never the longer half) does it every time.
//! Not timed: a request whose copy arrived twice or whose attempt is unknown (which answer is
//! whose is unknown), and everything in a stretch of the service's life with a pause or a wait
//! on a send (its held timers stretch service times) or cut by a crash (which forgets what it
//! held). A request still in service when the run ends counts as above the midpoint: the end
//! cuts long services more often than short ones, so a phase near it would otherwise keep its
//! short services only.

use crate::clock::Clock;
use crate::id::{MsgId, NodeId};
use crate::protocols::calls::CallsSpec;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, VecDeque};

/// The requests of a phase timed before its spread is judged.
const JUDGED_FROM: u64 = 64;
/// Ranges narrower than this (ns) are not judged: the draw's few values sit unevenly about
/// the midpoint.
const NARROWEST_NS: u64 = 1_000;
/// How far a service time may stray from its drawn value in real time (a drifting clock's
/// conversion rounds).
const ROUNDING_NS: u64 = 2;

/// A client's attempt: (client, series, attempt).
type Request = (NodeId, u64, u32);

/// Per phase of the schedule: service times timed, and how many were above the midpoint.
#[derive(Clone, Copy, Default)]
struct Spread {
    timed: u64,
    above: u64,
}

/// Follows a `Calls` run's service for the spread clause.
pub(crate) struct ServiceSpread {
    service: NodeId,
    workers: Option<u32>,
    clock: Clock,
    /// Each client's attempt line waiting for its send to the service.
    attempt_sent: BTreeMap<NodeId, Request>,
    /// The attempt each request transmission carries.
    carries: BTreeMap<MsgId, Request>,
    /// Copies of each attempt that arrived in this stretch.
    copies: BTreeMap<Request, u32>,
    /// Requests in service: when each began (`None`: whose it is unknown).
    began: BTreeMap<Request, SimTime>,
    busy: u32,
    waiting: VecDeque<Option<Request>>,
    /// Whether this stretch is judged (no pause or wait on a send in it yet).
    judged: bool,
    spread: Vec<Spread>,
}

impl ServiceSpread {
    pub(crate) fn new(spec: &CallsSpec, service: NodeId, clock: Clock) -> ServiceSpread {
        ServiceSpread {
            service,
            workers: spec.workers,
            clock,
            attempt_sent: BTreeMap::new(),
            carries: BTreeMap::new(),
            copies: BTreeMap::new(),
            began: BTreeMap::new(),
            busy: 0,
            waiting: VecDeque::new(),
            judged: true,
            spread: vec![Spread::default(); spec.schedule.len()],
        }
    }

    /// `request` (if known) begins service at `at`.
    fn begin(&mut self, request: Option<Request>, at: SimTime) {
        self.busy += 1;
        if let Some(r) = request {
            self.began.insert(r, at);
        }
    }

    /// `request`, begun at `began`, was answered at `at`: one more service time of the phase in
    /// force at its start.
    fn timed(&mut self, spec: &CallsSpec, began: SimTime, at: SimTime) {
        let Some(i) = self.judged_phase(spec, began) else { return };
        let (lo, hi) = spec.schedule[i].latency_ns;
        let midpoint = self.clock.real_duration(lo + (hi - lo) / 2);
        let s = &mut self.spread[i];
        s.timed += 1;
        s.above += u64::from(at.0 - began.0 > midpoint + ROUNDING_NS);
    }

    /// The phase in force at `began` on the service's clock, if its range is wide enough to
    /// judge.
    fn judged_phase(&self, spec: &CallsSpec, began: SimTime) -> Option<usize> {
        let local = self.clock.local(began);
        let i = spec.schedule.partition_point(|p| p.at <= local).checked_sub(1)?;
        let (lo, hi) = spec.schedule[i].latency_ns;
        (hi - lo >= NARROWEST_NS).then_some(i)
    }

    /// A fresh stretch of the service's life (its start after a crash): nothing held.
    fn afresh(&mut self) {
        self.copies.clear();
        self.began.clear();
        self.busy = 0;
        self.waiting.clear();
        self.judged = true;
    }

    pub(crate) fn observe(&mut self, spec: &CallsSpec, e: &TraceEvent) {
        let service = self.service;
        match e.kind {
            EventKind::Attempt { node, to, series, attempt } if to == service && node != service => {
                self.attempt_sent.insert(node, (node, series, attempt));
            }
            EventKind::Send { from, to, msg, .. } if to == service && from != service => {
                if let Some(request) = self.attempt_sent.remove(&from) {
                    self.carries.insert(msg, request);
                }
            }
            EventKind::Receive { from, to, msg, corrupted: false } if to == service && from != service => {
                let request = self.carries.get(&msg).copied();
                if let Some(r) = request {
                    *self.copies.entry(r).or_default() += 1;
                }
                if self.workers.is_none_or(|w| self.busy < w) {
                    self.begin(request, e.time);
                } else {
                    self.waiting.push_back(request);
                }
            }
            EventKind::Answer { node, to, series, attempt } if node == service && to != service => {
                let request = (to, series, attempt);
                let began = self.began.remove(&request);
                if let Some(began) = began
                    && self.judged
                    && self.copies.get(&request) == Some(&1)
                {
                    self.timed(spec, began, e.time);
                }
                self.busy = self.busy.saturating_sub(1);
                if let Some(next) = self.waiting.pop_front() {
                    self.begin(next, e.time);
                }
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } if node == service => self.afresh(),
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } | EventKind::Block { node, .. } if node == service => {
                self.judged = false;
            }
            _ => {}
        }
    }

    /// The first phase whose service times kept to the lower half of its range: (its index,
    /// requests timed, how many above the midpoint). A request still in service when the run
    /// ended counts as above: the run's end cuts long services more often than short ones, so
    /// leaving them out would leave a phase near the end with its short services only.
    pub(crate) fn first_lopsided(&self, spec: &CallsSpec) -> Option<(usize, u64, u64)> {
        let mut spread = self.spread.clone();
        if self.judged {
            for i in self.began.values().filter_map(|&began| self.judged_phase(spec, began)) {
                spread[i].timed += 1;
                spread[i].above += 1;
            }
        }
        spread.iter().enumerate().find(|(_, s)| s.timed >= JUDGED_FROM && s.above * 10 < s.timed).map(|(i, s)| (i, s.timed, s.above))
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.attempt_sent),
            b::map(&self.carries),
            b::map(&self.copies),
            b::map(&self.began),
            b::deque(&self.waiting),
            b::vec(&self.spread),
        ])
    }
}

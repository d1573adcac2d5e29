//! `DetectorTiming`: a heartbeat detector suspects a peer exactly when its declared deadline passes, never sooner, never later, never not at all.
//!
//! `FailureDetection` judges what a detector achieves (crashes found within a bound, few false
//! suspicions); this check judges that it runs the detector it declares. From the scenario's
//! `Heartbeat` configuration and the trace alone, it keeps for every observer `p` and peer `q`
//! the deadline `p` should hold: armed when `p` starts (or restarts) and again at every intact
//! message from `q`, at `patience` of `p`'s own clock later, where
//! - `Fixed(timeout)`: the patience is the timeout;
//! - `Phi`: the intervals between `q`'s latest `window` arrivals, read on `p`'s clock, have a
//!   mean `m` and a standard deviation `s` (at least `min_std`), and the patience is
//!   `m + z s`, `z` the normal quantile of the threshold; before an interval is known, `m` is
//!   the heartbeat period and `s` a quarter of it. An interval longer than `max_interval` (an
//!   outage) is not learned.
//!
//! Then a `suspect` line of `q` at `p` must come exactly at that deadline, and a deadline
//! that passes while `p` trusts `q` must bring one (judged at `q`'s next arrival, or at the
//! end of the run). A pause, or a wait on a send (back-pressure), holds `p`'s timers, so until
//! `p` arms the deadline again it may come late, never early. A crash of `p` ends its duties; a restart starts them afresh.
//! Under another protocol the verdict is inconclusive, as it is when no deadline passed.
//!
//! The heartbeats themselves are judged too (in scenarios; `judging_beats`): a node sends one
//! (a send to each peer, every send of the protocol being one) when it starts or restarts, and
//! then every `every_ms` of its own clock, each from the one before. A beat due and not sent by
//! the time anything later happens, or one sent before it is due, fails, unless the node was
//! paused or blocked since its latest beat (its timer may fire late: its next beat sets the
//! pace afresh). A crashed node owes no beat, nor does a node alone (it has no peer).

use super::{Breaches, Checker, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::NodeId;
use crate::process::Cluster;
use crate::protocols::heartbeat::{Detector, HeartbeatSpec};
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, TraceEvent};
use std::collections::VecDeque;

/// What an observer should hold for one peer.
#[derive(Clone, Debug, Default)]
struct Watch {
    /// The local time of the peer's latest arrival.
    last: Option<u64>,
    /// The latest intervals between arrivals (phi only), oldest first.
    intervals: VecDeque<u64>,
    suspected: bool,
    /// When the deadline passes, in simulated time; `None` once it fired.
    deadline: Option<SimTime>,
    /// The observer was paused since the deadline was armed: it may fire late.
    held: bool,
}

/// When a node's next heartbeat is due.
#[derive(Clone, Copy, Debug, Default)]
struct Beats {
    /// When its next beat is due, in simulated time; `None` while it is down.
    due: Option<SimTime>,
    /// When its latest beat went (one broadcast is a send to each peer at the same instant).
    last: Option<SimTime>,
    /// It was paused or blocked since its latest beat (its timer may fire late), or a beat was
    /// found missing: its next beat sets the pace afresh.
    held: bool,
}

/// The `DetectorTiming` check (see the module documentation).
pub struct DetectorTiming {
    cluster: Cluster,
    clocks: Vec<Clock>,
    spec: Option<HeartbeatSpec>,
    /// Per observer, per peer; empty while the observer is down.
    watches: Vec<Vec<Watch>>,
    /// Suspicions judged on time.
    on_time: u64,
    breaches: Breaches,
    /// Per node, its heartbeats' pace, when judged (`judging_beats`); empty otherwise.
    beats: Vec<Beats>,
    /// Heartbeats judged on time.
    beats_on_time: u64,
    /// Heartbeats missing, late or early.
    beat_breaches: Breaches,
}

impl DetectorTiming {
    /// A check of `spec`, the scenario's `Heartbeat` detector (`None` under another protocol:
    /// inconclusive); `clocks` are the nodes' clocks, on which the detectors count.
    pub fn new(cluster: Cluster, clocks: Vec<Clock>, spec: Option<HeartbeatSpec>) -> DetectorTiming {
        let mut check = DetectorTiming {
            watches: vec![Vec::new(); cluster.len()],
            cluster,
            clocks,
            spec,
            on_time: 0,
            breaches: Breaches::default(),
            beats: Vec::new(),
            beats_on_time: 0,
            beat_breaches: Breaches::default(),
        };
        if check.spec.is_some() {
            // Every process starts at time zero.
            for p in 0..check.cluster.len() {
                check.start(NodeId(p as u32), SimTime::ZERO);
            }
        }
        check
    }

    /// The same, also judging that every node sends its heartbeats (every one of its sends is
    /// one) at its start and then every `every_ms` of its clock. A node alone has no peer to
    /// beat to: nothing is judged then.
    pub fn judging_beats(mut self) -> DetectorTiming {
        if self.spec.is_some() && self.cluster.len() > 1 {
            self.beats = vec![Beats { due: Some(SimTime::ZERO), ..Beats::default() }; self.cluster.len()];
        }
        self
    }

    /// Before an event at `at`: every beat due before it and not sent, at a node that was
    /// neither paused nor blocked since its latest beat, is missing.
    fn beats_missed(&mut self, at: SimTime) {
        for p in 0..self.beats.len() {
            let beat = &mut self.beats[p];
            if let Some(due) = beat.due.filter(|&d| d < at && !beat.held) {
                beat.held = true;
                let name = self.cluster.name(NodeId(p as u32));
                self.beat_breaches.record(due, || format!("{name} sent no heartbeat at {due}, when one was due"));
            }
        }
    }

    /// `p` sent a message at `at`: a heartbeat, on its pace or not.
    fn beat(&mut self, at: SimTime, p: NodeId) {
        let Some(spec) = self.spec else { return };
        let every = self.clock(p).real_duration(spec.every_ns);
        let Some(beat) = self.beats.get_mut(p.index()) else { return };
        let Some(due) = beat.due else { return };
        if beat.last == Some(at) {
            return;
        }
        if due == at {
            self.beats_on_time += 1;
        } else if !beat.held {
            let name = self.cluster.name(p);
            self.beat_breaches.record(at, || format!("{name} sent a heartbeat at {at}, before its next one was due at {due}"));
        }
        *beat = Beats { due: Some(at.saturating_add(every)), last: Some(at), held: false };
    }

    fn clock(&self, node: NodeId) -> Clock {
        self.clocks.get(node.index()).copied().unwrap_or_default()
    }

    /// How long, on the observer's clock, the detector waits after the arrival that `watch`
    /// last saw.
    fn patience(spec: &HeartbeatSpec, watch: &Watch) -> u64 {
        match spec.detector {
            Detector::Fixed { timeout_ns } => timeout_ns,
            Detector::Phi { z_milli, min_std_ns, .. } => {
                let n = watch.intervals.len() as u128;
                let sum: u128 = watch.intervals.iter().map(|&i| u128::from(i)).sum();
                let squares: u128 = watch.intervals.iter().map(|&i| u128::from(i) * u128::from(i)).sum();
                let (mean, std) = match (sum.checked_div(n), squares.checked_div(n)) {
                    (Some(mean), Some(mean_square)) => (mean, mean_square.saturating_sub(mean * mean).isqrt()),
                    _ => (u128::from(spec.every_ns), u128::from(spec.every_ns / 4)),
                };
                let std = std.max(u128::from(min_std_ns));
                u64::try_from(mean + std * u128::from(z_milli) / 1000).unwrap_or(u64::MAX)
            }
        }
    }

    /// `p` starts at `at`: it trusts everyone and arms every peer's deadline.
    fn start(&mut self, p: NodeId, at: SimTime) {
        let Some(spec) = self.spec else { return };
        let real = self.clock(p).real_duration(Self::patience(&spec, &Watch::default()));
        let watch = Watch { deadline: Some(at.saturating_add(real)), ..Watch::default() };
        self.watches[p.index()] = (0..self.cluster.len()).map(|q| if q == p.index() { Watch::default() } else { watch.clone() }).collect();
    }

    /// A deadline of `q` at `p` passed before `at` without a suspicion.
    fn missed(&mut self, at: SimTime, p: NodeId, q: NodeId) {
        let watch = &self.watches[p.index()][q.index()];
        if let Some(deadline) = watch.deadline.filter(|&d| d < at && !watch.suspected && !watch.held) {
            self.breaches.record(deadline, || {
                format!("{} did not suspect {} when its deadline passed at {deadline}", self.cluster.name(p), self.cluster.name(q))
            });
        }
    }

    /// An intact message from `q` reached `p` at `at`: a heartbeat.
    fn arrival(&mut self, at: SimTime, p: NodeId, q: NodeId) {
        let Some(spec) = self.spec else { return };
        if self.watches[p.index()].is_empty() || p == q {
            return;
        }
        self.missed(at, p, q);
        let clock = self.clock(p);
        let now = clock.local(at).0;
        let (window, max_interval_ns) = match spec.detector {
            Detector::Phi { window, max_interval_ns, .. } => (window as usize, max_interval_ns),
            Detector::Fixed { .. } => (0, 0),
        };
        let watch = &mut self.watches[p.index()][q.index()];
        if let Some(last) = watch.last
            && window > 0
            && now.saturating_sub(last) <= max_interval_ns
        {
            watch.intervals.push_back(now - last);
            if watch.intervals.len() > window {
                watch.intervals.pop_front();
            }
        }
        watch.last = Some(now);
        watch.suspected = false;
        watch.held = false;
        let real = clock.real_duration(Self::patience(&spec, watch));
        watch.deadline = Some(at.saturating_add(real));
    }

    /// `p` began suspecting `q` at `at`.
    fn suspicion(&mut self, at: SimTime, p: NodeId, q: NodeId) {
        let Some(watch) = self.watches.get_mut(p.index()).and_then(|w| w.get_mut(q.index())) else { return };
        let (deadline, held) = (watch.deadline.take(), watch.held);
        watch.suspected = true;
        let names = |c: &Cluster| (c.name(p).to_string(), c.name(q).to_string());
        match deadline {
            Some(d) if d == at || (held && d < at) => self.on_time += 1,
            Some(d) if d > at => self.breaches.record(at, || {
                let (p, q) = names(&self.cluster);
                format!("{p} suspected {q} at {at}, before its deadline at {d}")
            }),
            Some(d) => self.breaches.record(at, || {
                let (p, q) = names(&self.cluster);
                format!("{p} suspected {q} at {at}, after its deadline at {d}")
            }),
            None => self.breaches.record(at, || {
                let (p, q) = names(&self.cluster);
                format!("{p} suspected {q} at {at} with no deadline armed (already suspected, or not heard from since)")
            }),
        }
    }
}

impl Checker for DetectorTiming {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::nested(&self.watches, |w| b::vec(w) + b::nested(w, |watch| b::deque(&watch.intervals))) + b::vec(&self.beats)
    }

    fn observe(&mut self, e: &TraceEvent) {
        if self.spec.is_none() {
            return;
        }
        if !self.beats.is_empty() {
            self.beats_missed(e.time);
            match e.kind {
                EventKind::Send { from, .. } => self.beat(e.time, from),
                EventKind::Fault { action: FaultAction::Crash, node: Some(p), .. } => self.beats[p.index()] = Beats::default(),
                // A process starts with a beat.
                EventKind::Fault { action: FaultAction::Restart, node: Some(p), .. } => {
                    self.beats[p.index()] = Beats { due: Some(e.time), ..Beats::default() }
                }
                EventKind::Fault { action: FaultAction::Pause, node: Some(p), .. } | EventKind::Block { node: p, .. } => {
                    self.beats[p.index()].held = true
                }
                _ => {}
            }
        }
        match e.kind {
            EventKind::Receive { from, to, corrupted: false, .. } => self.arrival(e.time, to, from),
            EventKind::Suspicion { node, of, suspected: true } => self.suspicion(e.time, node, of),
            EventKind::Fault { action: FaultAction::Crash, node: Some(p), .. } => {
                for q in 0..self.cluster.len() {
                    if !self.watches[p.index()].is_empty() {
                        self.missed(e.time, p, NodeId(q as u32));
                    }
                }
                self.watches[p.index()].clear();
            }
            EventKind::Fault { action: FaultAction::Restart, node: Some(p), .. } => self.start(p, e.time),
            // A wait on a send (back-pressure from a full mailbox) holds the timers as a pause does.
            EventKind::Fault { action: FaultAction::Pause, node: Some(p), .. } | EventKind::Block { node: p, .. } => {
                self.watches[p.index()].iter_mut().for_each(|w| w.held = true);
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let Some(_) = self.spec else { return Verdict::inconclusive("the scenario's protocol is not Heartbeat") };
        // Deadlines that passed before the end without a suspicion.
        let mut breaches = self.breaches.clone();
        for (p, watches) in self.watches.iter().enumerate() {
            for (q, watch) in watches.iter().enumerate() {
                if let Some(deadline) = watch.deadline.filter(|&d| d < end.at && !watch.suspected && !watch.held) {
                    breaches.record(deadline, || {
                        format!(
                            "{} did not suspect {} when its deadline passed at {deadline}",
                            self.cluster.name(NodeId(p as u32)),
                            self.cluster.name(NodeId(q as u32))
                        )
                    });
                }
            }
        }
        if let Some(failed) = breaches.verdict("suspicions off their deadline") {
            return failed;
        }
        if let Some(failed) = self.beat_breaches.verdict("heartbeats off their pace") {
            return failed;
        }
        if self.on_time == 0 {
            return Verdict::inconclusive("no deadline passed");
        }
        Verdict::pass(format!("{} suspicions, each when its deadline passed", self.on_time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::test_events::ev;
    use crate::check::{EndReason, Outcome};
    use crate::id::MsgId;

    const MS: u64 = 1_000_000;

    fn judge(detector: Detector, events: &[TraceEvent], end_ms: u64) -> Verdict {
        judge_every(100, detector, events, end_ms)
    }

    /// Judge `events` of two nodes heartbeating every `every_ms`.
    fn judge_every(every_ms: u64, detector: Detector, events: &[TraceEvent], end_ms: u64) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
        let spec = HeartbeatSpec { every_ns: every_ms * MS, detector, bug: None };
        let mut c = DetectorTiming::new(cluster, vec![], Some(spec));
        events.iter().for_each(|e| c.observe(e));
        c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(end_ms * MS), max_latency_ns: 0 })
    }

    fn heartbeat(ms: u64, from: u32, to: u32) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(from), to: NodeId(to), msg: MsgId(ms), corrupted: false })
    }

    fn suspect(ms: u64, node: u32, of: u32) -> TraceEvent {
        ev(ms, EventKind::Suspicion { node: NodeId(node), of: NodeId(of), suspected: true })
    }

    const FIXED: Detector = Detector::Fixed { timeout_ns: 250 * MS };

    /// Postmortem: a node that did not beat when it started first reached its peers a period
    /// late, and every suspicion was still on its (later-armed) deadline, so it passed
    /// (held-out set 12, hb-first-beat-not-sent). The beats' own pace is judged now.
    #[test]
    fn regression_every_node_beats_at_its_start_and_every_period_after() {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into()], groups: vec![] };
        let sent = |ms: u64, from: u32| ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(1 - from), msg: MsgId(ms), size: 8 });
        let judge_beats = |events: &[TraceEvent]| {
            let spec = HeartbeatSpec { every_ns: 100 * MS, detector: FIXED, bug: None };
            let mut c = DetectorTiming::new(cluster.clone(), vec![], Some(spec)).judging_beats();
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(250 * MS), max_latency_ns: 0 })
        };
        let paced = |first: u64| (first / 100..=2).flat_map(|k| [sent(k * 100, 0), sent(k * 100, 1)]).collect::<Vec<_>>();
        assert_ne!(judge_beats(&paced(0)).outcome, Outcome::Fail);
        let v = judge_beats(&paced(100));
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("n0 sent no heartbeat at 0"), "{}", v.detail);
        // A beat before it is due fails; one held back by a pause does not.
        let early = [sent(0, 0), sent(0, 1), sent(100, 0), sent(100, 1), sent(150, 0)];
        assert!(judge_beats(&early).detail.contains("n0 sent a heartbeat at 150.000ms, before its next one was due at 200.000ms"));
        let pause = ev(50, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(0)), index: 0 });
        let held = [sent(0, 0), sent(0, 1), pause, sent(100, 1), sent(130, 0), sent(200, 1), sent(230, 0)];
        assert_ne!(judge_beats(&held).outcome, Outcome::Fail);
        // A crashed node owes nothing; restarted, it beats at once.
        let crash = ev(150, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let restart = ev(170, EventKind::Fault { action: FaultAction::Restart, node: Some(NodeId(0)), index: 1 });
        let restarted = [sent(0, 0), sent(0, 1), sent(100, 0), sent(100, 1), crash, restart, sent(170, 0), sent(200, 1)];
        assert_ne!(judge_beats(&restarted).outcome, Outcome::Fail);
        let silent = [sent(0, 0), sent(0, 1), sent(100, 0), sent(100, 1), crash, restart, sent(200, 1)];
        assert!(judge_beats(&silent).detail.contains("n0 sent no heartbeat at 170.000ms"));
    }

    // Postmortem: a Heartbeat cluster of one node has no peer to beat to, so it sends nothing,
    // and the beats clause failed that correct run for the beat it owed at its start.
    #[test]
    fn regression_a_node_alone_owes_no_heartbeat() {
        let alone = Cluster { names: vec!["n0".into()], groups: vec![] };
        let spec = HeartbeatSpec { every_ns: 100 * MS, detector: FIXED, bug: None };
        let c = DetectorTiming::new(alone, vec![], Some(spec)).judging_beats();
        let v = c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(250 * MS), max_latency_ns: 0 });
        assert_ne!(v.outcome, Outcome::Fail, "{}", v.detail);
    }

    #[test]
    fn a_suspicion_comes_exactly_at_its_deadline() {
        // Heartbeats both ways at 100 ms; n0 hears nothing from n1 after, n1 keeps hearing n0.
        let beats = |last: u64| (1..=last / 100).flat_map(|k| [heartbeat(k * 100, 1, 0), heartbeat(k * 100, 0, 1)]).collect::<Vec<_>>();
        let on_time = [beats(100), vec![suspect(350, 0, 1)], (2..=5).map(|k| heartbeat(k * 100, 0, 1)).collect()].concat();
        assert_eq!(judge(FIXED, &on_time, 560).outcome, Outcome::Pass);
        let early = [beats(100), vec![suspect(300, 0, 1)], (2..=5).map(|k| heartbeat(k * 100, 0, 1)).collect()].concat();
        let v = judge(FIXED, &early, 560);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("before its deadline at 350.000ms"), "{}", v.detail);
        // The deadline passes and nothing is suspected: caught at the end of the run.
        let missed = [beats(100), (2..=5).map(|k| heartbeat(k * 100, 0, 1)).collect()].concat();
        let v = judge(FIXED, &missed, 560);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("n0 did not suspect n1 when its deadline passed at 350.000ms"), "{}", v.detail);
        // A pause holds the timer: late is excused, early is not.
        let pause = ev(200, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(0)), index: 0 });
        let held = [beats(100), vec![pause, suspect(420, 0, 1)], (2..=5).map(|k| heartbeat(k * 100, 0, 1)).collect()].concat();
        assert_eq!(judge(FIXED, &held, 560).outcome, Outcome::Pass);
        // Postmortem: a wait on a send (back-pressure) holds the timers too, yet only a pause
        // excused a late suspicion, so every Heartbeat run with `BackPressure` mailboxes failed.
        let block =
            ev(200, EventKind::Block { node: NodeId(0), on: NodeId(1), reason: crate::trace::BlockReason::BackPressure, timeout: false });
        let blocked = [beats(100), vec![block, suspect(420, 0, 1)], (2..=5).map(|k| heartbeat(k * 100, 0, 1)).collect()].concat();
        assert_eq!(judge(FIXED, &blocked, 560).outcome, Outcome::Pass, "{}", judge(FIXED, &blocked, 560).detail);
    }

    // Postmortem: a phi detector that assumed no deviation before a peer's second heartbeat
    // suspected peers early, and only a scenario with many false suspicions noticed.
    #[test]
    fn phi_assumes_a_quarter_period_of_deviation_before_the_first_interval() {
        // z = 2: before an interval is known the patience is 100 + 2 * 25 = 150 ms.
        let phi = Detector::Phi { z_milli: 2000, window: 10, min_std_ns: MS, max_interval_ns: 1000 * MS };
        let both = |ms| [heartbeat(ms, 1, 0), heartbeat(ms, 0, 1)];
        let run = |suspected_at| [&both(100)[..], &[suspect(suspected_at, 0, 1), heartbeat(250, 0, 1)]].concat();
        assert_eq!(judge(phi, &run(250), 260).outcome, Outcome::Pass);
        assert_eq!(judge(phi, &run(201), 260).outcome, Outcome::Fail);
        // Once intervals are known, their mean and deviation set the patience: 100 ms apart
        // exactly, the deviation is min_std, so 100 + 2 ms after the last.
        let steady = [&both(100)[..], &both(200)[..], &both(300)[..], &[suspect(402, 0, 1), heartbeat(400, 0, 1)]].concat();
        assert_eq!(judge(phi, &steady, 410).outcome, Outcome::Pass);
    }

    // Postmortem: the phi detector learned the silence of a crash and restart, or a partition,
    // as one more interval; that outlier held the deviation up for a whole window, and a later
    // crash went unsuspected past the bound (detector-variant-phi-swarm, seed 1120, 23 of 3000).
    #[test]
    fn regression_an_outage_longer_than_max_interval_is_not_learned() {
        // Heartbeats every 50 ms, z = 4, at least 5 ms of deviation, as in the swarm scenario.
        let phi =
            |max_interval_ms: u64| Detector::Phi { z_milli: 4000, window: 50, min_std_ns: 5 * MS, max_interval_ns: max_interval_ms * MS };
        let beats = |from: u64, to: u64| (from / 50..=to / 50).map(|k| heartbeat(k * 50, 1, 0)).collect::<Vec<_>>();
        // n1 never hears n0 and suspects it at 50 + 4 * 12.5 = 100 ms. n0 hears n1 every 50 ms
        // to 500 and suspects it 50 + 4 * 5 = 70 ms later; n1 is down 2 s, beats from 2500 to
        // 3000, and crashes.
        let run = |again: u64| {
            [
                beats(50, 100),
                vec![suspect(100, 1, 0)],
                beats(150, 500),
                vec![suspect(570, 0, 1)],
                beats(2500, 3000),
                vec![suspect(again, 0, 1)],
            ]
            .concat()
        };
        // The 2 s silence is above the 500 ms cap and not learned: n0 suspects n1 70 ms after
        // its last heartbeat again, exactly.
        let v = judge_every(50, phi(500), &run(3070), 3100);
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        assert_eq!(judge_every(50, phi(500), &run(3069), 3100).outcome, Outcome::Fail);
        // Learned, the one 2 s interval among nineteen of 50 ms gives a mean of 147.5 ms and a
        // deviation of 425 ms: n0 would wait 1.85 s, past the swarm scenario's 1.5 s bound.
        let v = judge_every(50, phi(1_000_000), &run(3070), 5000);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("before its deadline at 4847."), "{}", v.detail);
    }

    #[test]
    fn under_another_protocol_nothing_is_judged() {
        let cluster = Cluster { names: vec!["n0".into()], groups: vec![] };
        let c = DetectorTiming::new(cluster, vec![], None);
        let end = RunEnd { reason: EndReason::Horizon, at: SimTime(0), max_latency_ns: 0 };
        assert_eq!(c.verdict(&end).outcome, Outcome::Inconclusive);
    }
}

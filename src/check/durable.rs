//! `NoAckedLoss` and `DeadLetterBounded`: what a durable queue promises once it has acknowledged a task: never to lose it, and to settle it (processed or dead-lettered) within a bound, poison or not.
//!
//! A task is acknowledged when its producer records the broker's acknowledgement (its `call`
//! line with outcome `ok`); it is processed when a consumer delivers it (`deliver`), and
//! dead-lettered when the broker moves it to its dead-letter queue (`dead`). Both checks read
//! these lines only, and judge only runs of the `DurableQueue` protocol (the lines mean this
//! there); under another protocol they are inconclusive.
//!
//! - `NoAckedLoss`: every acknowledged task is processed or dead-lettered by the end of the
//!   run, whatever crashed meanwhile. Judged when the run ended with nothing left to happen:
//!   a task still missing then is lost for good. At the horizon, a missing task is not judged
//!   (it may still come). A dead-lettered task counts as kept: whether the dead-letter queue
//!   itself outlived a crash shows only when it is redriven, which `DeadLetterBounded` judges.
//! - `DeadLetterBounded(within_ms)`: every acknowledged task is settled, processed or
//!   dead-lettered, within `within_ms` of its acknowledgement; and every task in the
//!   dead-letter queue at the protocol's `redrive_ms` is settled again within `within_ms` of
//!   it. A poison message redelivered without bound never settles, and one that blocks the
//!   head of the queue keeps the tasks behind it from settling: both fail, once their bound
//!   has passed or the run ended with nothing left to happen. The verdict lists the
//!   dead-letter queue as the run left it. The redrive is judged from `redrive_ms` of the
//!   trace's time: a broker whose clock drifts, or which is down then (it redrives when it
//!   restarts), needs a bound that allows for it. With the queue's dead-letter rule, each
//!   `dead` line comes at the `max_deliveries`-th failed delivery, and a dead-lettered task
//!   leaves the dead-letter queue only by the redrive: handed out again with no redrive
//!   between (one a restart repeats after its record reached the disk, say) fails.

use super::{Checker, EndReason, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{AppId, NodeId};
use crate::process::Cluster;
use crate::protocols::durable_queue::{Config as QueueConfig, DurableQueueProtocol, Storage};
use crate::scenario::file::Number;
use crate::scenario::{ConfigCx, Scenario, Seg};
use crate::time::{NANOS_PER_MS, SimTime};
use crate::trace::{CallOutcome, EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// What became of one task, as the trace shows it.
#[derive(Default)]
struct Task {
    /// Its first acknowledgement: the producer, and when.
    acked: Option<(NodeId, SimTime)>,
    /// When consumers processed it.
    processed: Vec<SimTime>,
    /// Which consumers processed it, and when.
    processed_by: Vec<(NodeId, SimTime)>,
    /// When the broker dead-lettered it.
    dead: Vec<SimTime>,
    /// The broker's hand-outs of it (its `attempt` lines): to which consumer, and when.
    handouts: Vec<(NodeId, SimTime)>,
    /// Each hand-out's delivery number (its `attempt` line's), in the order of `handouts`.
    numbers: Vec<u32>,
    /// Its producer and when it was sent (its `command` line), if the workload sent it.
    sent: Option<(NodeId, SimTime)>,
}

impl Task {
    /// Whether it was processed or dead-lettered in `[from, to]`.
    fn settled_within(&self, from: u64, to: u64) -> bool {
        self.processed.iter().chain(&self.dead).any(|t| (from..=to).contains(&t.0))
    }

    /// Whether it sat in the dead-letter queue at `at`: dead-lettered before, not processed since.
    fn dead_at(&self, at: u64) -> bool {
        let last_dead = self.dead.iter().filter(|t| t.0 < at).max();
        last_dead.is_some_and(|d| !self.processed.iter().any(|p| p > d && p.0 < at))
    }

    /// Whether it is in the dead-letter queue at the end.
    fn dead_at_end(&self) -> bool {
        self.dead.last().is_some_and(|d| self.processed.last().is_none_or(|p| p < d))
    }
}

/// The trace lines both checks read, and the crashes.
struct Tasks {
    cluster: Cluster,
    /// Whether the run is a `DurableQueue` run; otherwise nothing is judged.
    queue: bool,
    tasks: BTreeMap<AppId, Task>,
    crashes: usize,
    /// When each node crashed.
    crashed: BTreeMap<NodeId, Vec<SimTime>>,
    /// When each node restarted.
    restarted: BTreeMap<NodeId, Vec<SimTime>>,
    /// Nodes ever paused (their timers were held, so when they fired is not known).
    paused: BTreeSet<NodeId>,
}

impl Tasks {
    /// What the tasks' records hold, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        let records =
            |t: &Task| b::total(&[b::vec(&t.processed), b::vec(&t.processed_by), b::vec(&t.dead), b::vec(&t.handouts), b::vec(&t.numbers)]);
        b::total(&[
            b::map(&self.tasks),
            b::nested(self.tasks.values(), records),
            b::nested(self.crashed.values(), b::vec),
            b::nested(self.restarted.values(), b::vec),
            b::set(&self.paused),
        ])
    }

    fn new(cluster: Cluster, queue: bool) -> Tasks {
        Tasks {
            cluster,
            queue,
            tasks: BTreeMap::new(),
            crashes: 0,
            crashed: BTreeMap::new(),
            restarted: BTreeMap::new(),
            paused: BTreeSet::new(),
        }
    }

    fn observe(&mut self, e: &TraceEvent) {
        match e.kind {
            EventKind::Command { node, app, .. } => {
                self.tasks.entry(app).or_default().sent.get_or_insert((node, e.time));
            }
            EventKind::Call { node, app, outcome: CallOutcome::Ok, .. } => {
                self.tasks.entry(app).or_default().acked.get_or_insert((node, e.time));
            }
            EventKind::Deliver { node, app, .. } => {
                let task = self.tasks.entry(app).or_default();
                task.processed.push(e.time);
                task.processed_by.push((node, e.time));
            }
            EventKind::DeadLetter { app, .. } => self.tasks.entry(app).or_default().dead.push(e.time),
            EventKind::Attempt { to, series, attempt, .. } => {
                let task = self.tasks.entry(AppId(series)).or_default();
                task.handouts.push((to, e.time));
                task.numbers.push(attempt);
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.crashes += 1;
                self.crashed.entry(node).or_default().push(e.time);
            }
            EventKind::Fault { action: FaultAction::Restart, node: Some(node), .. } => {
                self.restarted.entry(node).or_default().push(e.time);
            }
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } => {
                self.paused.insert(node);
            }
            _ => {}
        }
    }

    /// Whether `node` crashed in `[from, to]`.
    fn crashed_within(&self, node: NodeId, from: SimTime, to: SimTime) -> bool {
        self.crashed.get(&node).is_some_and(|c| c.iter().any(|t| (from..=to).contains(t)))
    }

    /// The acknowledged tasks.
    fn acked(&self) -> impl Iterator<Item = (AppId, &Task, NodeId, SimTime)> {
        self.tasks.iter().filter_map(|(&app, t)| t.acked.map(|(producer, at)| (app, t, producer, at)))
    }

    /// The dead-letter queue at the end, as `a3, a17` (or `empty`).
    fn dead_letter_queue(&self) -> String {
        let dead: Vec<String> = self.tasks.iter().filter(|(_, t)| t.dead_at_end()).map(|(app, _)| format!("a{}", app.0)).collect();
        if dead.is_empty() { "empty".to_string() } else { dead.join(", ") }
    }
}

/// No task the broker acknowledged is lost, across crashes of the broker.
pub struct NoAckedLoss {
    tasks: Tasks,
}

impl NoAckedLoss {
    /// A checker for a run of `cluster`; `queue`: whether the protocol is `DurableQueue`.
    pub fn new(cluster: Cluster, queue: bool) -> NoAckedLoss {
        NoAckedLoss { tasks: Tasks::new(cluster, queue) }
    }
}

impl Checker for NoAckedLoss {
    fn heap_bytes(&self) -> u64 {
        self.tasks.heap_bytes()
    }

    fn observe(&mut self, e: &TraceEvent) {
        self.tasks.observe(e);
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        if !self.tasks.queue {
            return Verdict::inconclusive("not a `DurableQueue` run: nothing to judge");
        }
        let (mut acked, mut processed, mut dead) = (0, 0, 0);
        let mut missing = Vec::new();
        for (app, task, producer, at) in self.tasks.acked() {
            acked += 1;
            if !task.processed.is_empty() {
                processed += 1;
            } else if !task.dead.is_empty() {
                dead += 1;
            } else {
                missing.push((app, producer, at));
            }
        }
        if acked == 0 {
            return Verdict::inconclusive("no task was acknowledged: nothing to judge");
        }
        let crashes = self.tasks.crashes;
        if let Some(&(app, producer, at)) = missing.first() {
            if end.reason != EndReason::Quiescent {
                return Verdict::inconclusive(format!(
                    "{} of {acked} acknowledged tasks not processed when the run stopped ({:?}) with work still to do: not judged",
                    missing.len(),
                    end.reason
                ));
            }
            return Verdict::fail(format!(
                "{} of {acked} acknowledged tasks lost ({crashes} crash(es)); first: a{} acknowledged to {} at {at}, never processed nor dead-lettered",
                missing.len(),
                app.0,
                self.tasks.cluster.name(producer)
            ));
        }
        // Liveness: a producer resends a task until it is acknowledged, so a run that ended
        // with nothing left to happen owes an acknowledgement for every task whose producer
        // stayed up from sending it (one that crashed forgot it). At the horizon the resends
        // may still be under way (the broker may be down for good): not judged.
        let unanswered: Vec<(AppId, NodeId, SimTime)> = self
            .tasks
            .tasks
            .iter()
            .filter_map(|(&app, t)| t.sent.filter(|_| t.acked.is_none()).map(|(producer, at)| (app, producer, at)))
            .filter(|&(_, producer, at)| !self.tasks.crashed_within(producer, at, end.at))
            .collect();
        let liveness = if end.reason != EndReason::Quiescent {
            format!("; {} task(s) unacknowledged when the run stopped ({:?}): not judged", unanswered.len(), end.reason)
        } else if let Some(&(app, producer, at)) = unanswered.first() {
            return Verdict::fail(format!(
                "{} task(s) never acknowledged though their producer stayed up and the run ended with nothing left to happen; \
                 first: a{} sent by {} at {at} (its producer stopped resending it)",
                unanswered.len(),
                app.0,
                self.tasks.cluster.name(producer)
            ));
        } else {
            "; every task of a producer that stayed up acknowledged".to_string()
        };
        Verdict::pass(format!(
            "{acked} acknowledged tasks, none lost across {crashes} crash(es): {processed} processed, {dead} in the dead-letter queue{liveness}"
        ))
    }
}

/// Every acknowledged task settles within a bound, and so does every redriven one.
pub struct DeadLetterBounded {
    tasks: Tasks,
    within_ns: u64,
    redrive_ns: Option<u64>,
    /// The dead-letter rule to judge each `dead` line by, if the queue has one.
    rule: Option<Rule>,
}

/// When the broker must dead-letter a task: at its `max_deliveries`-th failed delivery since
/// it was queued or redriven, counting across the broker's restarts what reached its disk.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The broker.
    pub broker: NodeId,
    /// `max_deliveries`.
    pub max: u32,
    /// Whether failures outlive a crash (written to disk).
    pub persisted: bool,
    /// How long a write takes, in ns.
    pub write_ns: u64,
    /// The broker's clock, which times its redrive.
    pub clock: Clock,
}

impl DeadLetterBounded {
    /// A checker with bound `within_ns`, for a queue redriven at `redrive_ns` (if it is);
    /// `queue`: whether the protocol is `DurableQueue`.
    pub fn new(cluster: Cluster, queue: bool, within_ns: u64, redrive_ns: Option<u64>) -> DeadLetterBounded {
        DeadLetterBounded { tasks: Tasks::new(cluster, queue), within_ns, redrive_ns, rule: None }
    }

    /// The same, judging every `dead` line by `rule` as well.
    pub fn with_rule(mut self, rule: Rule) -> DeadLetterBounded {
        self.rule = Some(rule);
        self
    }

    /// The first `dead` line that breaks the rule, as the verdict's sentence, and how many
    /// `dead` lines were judged. For a `dead` line at `d` of a task handed out at t1 < .. < tn
    /// since its previous `dead` line, the broker counted at least 1 (tn's failure: the line)
    /// plus each earlier ti the consumer did not process before t(i+1) (the task was handed
    /// out again in the same incarnation, so ti failed), provided the broker did not crash
    /// from ti to `d`, or not from ti until that failure was surely on disk; more than `max`
    /// is one failure too many. And it counted at most every hand-out since the previous
    /// `dead` line that surely reached the disk (a redrive clears the count; a lost `dead`
    /// record leaves the task queued with its count): fewer than `max` is too soon.
    fn rule_broken(&self, rule: &Rule) -> (Option<String>, usize) {
        // A write lands `write_ns` after it began on the broker's clock; twice that allows for drift.
        let on_disk = rule.write_ns.saturating_mul(2);
        let mut judged = 0;
        for (app, task) in &self.tasks.tasks {
            for (k, &d) in task.dead.iter().enumerate() {
                judged += 1;
                let previous = k.checked_sub(1).map(|k| task.dead[k]);
                let since = |from: Option<SimTime>| -> Vec<(NodeId, SimTime)> {
                    task.handouts.iter().copied().filter(|&(_, t)| from.is_none_or(|f| t > f) && t <= d).collect()
                };
                let handouts = since(previous);
                let mut counted = u32::from(!handouts.is_empty());
                for pair in handouts.windows(2) {
                    let ((consumer, t), (_, next)) = (pair[0], pair[1]);
                    let processed = task.processed_by.iter().any(|&(c, at)| c == consumer && at >= t && at <= next);
                    let kept = !self.tasks.crashed_within(rule.broker, t, d)
                        || (rule.persisted && !self.tasks.crashed_within(rule.broker, t, SimTime(next.0.saturating_add(on_disk))));
                    counted += u32::from(!processed && kept);
                }
                if counted > rule.max {
                    return (
                        Some(format!(
                            "a{} dead-lettered at {d} after at least {counted} failed deliveries since it was queued or redriven, \
                             more than max_deliveries {}",
                            app.0, rule.max
                        )),
                        judged,
                    );
                }
                let durable = task.dead[..k]
                    .iter()
                    .rev()
                    .find(|&&p| rule.persisted && !self.tasks.crashed_within(rule.broker, p, SimTime(p.0.saturating_add(on_disk))))
                    .copied();
                let most = since(durable).len();
                if most < rule.max as usize {
                    return (
                        Some(format!(
                            "a{} dead-lettered at {d} after at most {most} deliveries since it was queued or redriven, \
                             fewer than max_deliveries {}",
                            app.0, rule.max
                        )),
                        judged,
                    );
                }
                // The hand-out that failed for the last time was numbered by the failures
                // before it plus one: `max` exactly, where no broker crash could lose a count.
                // Judged only where the count is certain: no broker crash since the task was
                // queued or its previous `dead` line (which a crash may have unwritten), and no
                // hand-out processed (its acknowledgement may have been lost, a failure or not).
                if let Some(&(_, first)) = handouts.first()
                    && !self.tasks.crashed_within(rule.broker, previous.unwrap_or(first), d)
                    && !task.processed.iter().any(|&p| p >= first && p <= d)
                {
                    let last = task.handouts.iter().rposition(|&(_, t)| t <= d).map(|i| task.numbers[i]);
                    if let Some(number) = last.filter(|&n| n != rule.max) {
                        return (
                            Some(format!(
                                "a{} dead-lettered at {d} after its delivery numbered {number}; its last delivery before the \
                                 dead-letter queue is number max_deliveries {} (one more than the failures before it)",
                                app.0, rule.max
                            )),
                            judged,
                        );
                    }
                }
            }
        }
        (None, judged)
    }

    /// When the broker may have redriven its dead-letter queue: its redrive timer, armed at
    /// every start until a redrive's record reached the disk, fires `redrive_ns` of its clock
    /// after the run began (at once if that passed), unless a crash kills it first. `None`
    /// when that cannot be told: a paused broker's timers were held for an unknown time.
    fn redrive_instants(&self, rule: &Rule, on_disk: u64) -> Option<Vec<SimTime>> {
        if self.tasks.paused.contains(&rule.broker) {
            return None;
        }
        let Some(redrive) = self.redrive_ns else { return Some(Vec::new()) };
        let crashes = self.tasks.crashed.get(&rule.broker).map_or(&[][..], Vec::as_slice);
        let restarts = self.tasks.restarted.get(&rule.broker).map_or(&[][..], Vec::as_slice);
        let mut instants = Vec::new();
        for &start in std::iter::once(&SimTime(0)).chain(restarts) {
            let fires = SimTime(start.0.saturating_add(rule.clock.real_duration(redrive.saturating_sub(rule.clock.local(start).0))));
            let killed = crashes.iter().any(|&c| c >= start && c < fires);
            if killed {
                continue;
            }
            instants.push(fires);
            // The record of the redrive is written after it; once it surely landed, no later
            // start redrives again.
            if !self.tasks.crashed_within(rule.broker, fires, SimTime(fires.0.saturating_add(on_disk))) {
                break;
            }
        }
        Some(instants)
    }

    /// The first task handed out again after a dead-lettering that surely reached the disk,
    /// with no redrive between: a dead-lettered task leaves the dead-letter queue only by the
    /// redrive (a broker that redrives again at a restart, or hands out a dead task, breaks
    /// this). A dead-lettering a crash may have unwritten is not judged (the task is queued
    /// again with its count), nor, with memory-only storage, one a crash followed.
    fn left_dead_letter_queue_early(&self, rule: &Rule) -> Option<String> {
        let on_disk = rule.write_ns.saturating_mul(2);
        let instants = self.redrive_instants(rule, on_disk)?;
        for (app, task) in &self.tasks.tasks {
            for &d in &task.dead {
                let Some(&(_, out)) = task.handouts.iter().find(|&&(_, t)| t > d) else { continue };
                let kept = if rule.persisted {
                    !self.tasks.crashed_within(rule.broker, d, SimTime(d.0.saturating_add(on_disk)))
                } else {
                    !self.tasks.crashed_within(rule.broker, d, out)
                };
                // A redrive at `i` hands the queue out again at once or as consumers free up.
                let redriven = instants.iter().any(|&i| i > d && i.0 <= out.0.saturating_add(1_000));
                if kept && !redriven {
                    return Some(format!(
                        "a{} dead-lettered at {d} was handed out again at {out} with no redrive between: a dead-lettered task \
                         leaves the dead-letter queue only by the redrive{}",
                        app.0,
                        match instants.last() {
                            Some(i) => format!(" (at {i})"),
                            None => String::new(),
                        }
                    ));
                }
            }
        }
        None
    }
}

impl Checker for DeadLetterBounded {
    fn heap_bytes(&self) -> u64 {
        self.tasks.heap_bytes()
    }

    fn observe(&mut self, e: &TraceEvent) {
        self.tasks.observe(e);
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        if !self.tasks.queue {
            return Verdict::inconclusive("not a `DurableQueue` run: nothing to judge");
        }
        let quiescent = end.reason == EndReason::Quiescent;
        let within = SimTime(self.within_ns);
        let (mut judged, mut pending, mut redriven) = (0usize, 0usize, 0usize);
        let mut late = Vec::new();
        for (app, task, _, acked) in self.tasks.acked() {
            // What is owed: settling by a bound after the acknowledgement (or before it: under
            // loss a task is often processed before its producer hears it was kept) and, if the
            // task sat in the dead-letter queue at the redrive, again after it.
            let redrive = self.redrive_ns.filter(|&r| task.dead_at(r));
            redriven += usize::from(redrive.is_some());
            for (from, settled_from, why) in [(Some(acked.0), Some(0), "acknowledged"), (redrive, redrive, "redriven")] {
                let (Some(from), Some(settled_from)) = (from, settled_from) else { continue };
                let deadline = from.saturating_add(self.within_ns);
                if task.settled_within(settled_from, deadline) {
                    judged += 1;
                } else if quiescent || end.at.0 >= deadline {
                    judged += 1;
                    late.push((app, why, SimTime(from)));
                } else {
                    pending += 1;
                }
            }
        }
        let (broken, dead_judged) = self.rule.as_ref().map_or((None, 0), |r| self.rule_broken(r));
        let broken = broken.or_else(|| self.rule.as_ref().and_then(|r| self.left_dead_letter_queue_early(r)));
        if let Some(why) = broken {
            return Verdict::fail(why);
        }
        if let Some(&(app, why, at)) = late.first() {
            return Verdict::fail(format!(
                "{} of {judged} tasks neither processed nor dead-lettered within {within}; first: a{} {why} at {at} \
                 (a poison message redelivered without bound, or one blocking the queue)",
                late.len(),
                app.0
            ));
        }
        if judged == 0 {
            return Verdict::inconclusive(format!(
                "no acknowledged task had {within} to settle ({pending} still had time): nothing to judge"
            ));
        }
        let processed = self.tasks.acked().filter(|(_, t, _, _)| !t.dead_at_end() && !t.processed.is_empty()).count();
        let dead_lettered = self.tasks.acked().filter(|(_, t, _, _)| !t.dead.is_empty()).count();
        Verdict::pass(format!(
            "{judged} settlements within {within} ({redriven} of them after the redrive), {processed} tasks processed, \
             {dead_lettered} dead-lettered at least once ({dead_judged} dead-letterings at max_deliveries), {pending} still had time; \
             dead-letter queue at the end: {}",
            self.tasks.dead_letter_queue()
        ))
    }
}

/// `DeadLetterBounded(within_ms: 500)`.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(rename = "DeadLetterBounded", deny_unknown_fields)]
pub struct BoundConfig {
    /// How long after its acknowledgement (or the redrive) a task must be settled.
    pub within_ms: Number,
}

impl crate::plugin::Check for NoAckedLoss {
    const NAME: &'static str = "NoAckedLoss";
    type Config = crate::plugin::NoConfig;

    fn build(_: &crate::plugin::NoConfig, scenario: &Scenario) -> Box<dyn Checker> {
        Box::new(NoAckedLoss::new(scenario.cluster.clone(), scenario.protocol.config::<QueueConfig>().is_some()))
    }
}

impl crate::plugin::Check for DeadLetterBounded {
    const NAME: &'static str = "DeadLetterBounded";
    type Config = BoundConfig;

    fn validate(config: &BoundConfig, cx: &mut ConfigCx<'_, '_>) {
        cx.positive_millis(&[Seg::Field("within_ms")], config.within_ms, "`within_ms` of zero");
    }

    // The redrive time is the protocol's; under another protocol nothing is judged.
    fn build(config: &BoundConfig, scenario: &Scenario) -> Box<dyn Checker> {
        let queue = scenario.protocol.config::<QueueConfig>();
        let within_ns = (config.within_ms.0 * NANOS_PER_MS as f64).round() as u64;
        let checker =
            DeadLetterBounded::new(scenario.cluster.clone(), queue.is_some(), within_ns, queue.and_then(DurableQueueProtocol::redrive_ns));
        let rule = queue.and_then(|q| {
            let (max, storage, write_ns) = DurableQueueProtocol::dead_letter_rule(q)?;
            let broker = scenario.cluster.id(&q.broker)?;
            let clock = scenario.clocks.get(broker.index()).copied().unwrap_or_default();
            Some(Rule { broker, max, persisted: storage != Storage::Transient, write_ns, clock })
        });
        Box::new(match rule {
            Some(rule) => checker.with_rule(rule),
            None => checker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::{deliver, ev};

    fn cluster() -> Cluster {
        Cluster { names: ["queue", "w1", "p1"].map(String::from).to_vec(), groups: vec![] }
    }

    fn acked(ms: u64, app: u64) -> TraceEvent {
        ev(ms, EventKind::Call { node: NodeId(2), app: AppId(app), outcome: CallOutcome::Ok, latency_ns: 0 })
    }

    fn dead(ms: u64, app: u64) -> TraceEvent {
        ev(ms, EventKind::DeadLetter { node: NodeId(0), to: NodeId(1), app: AppId(app) })
    }

    fn end(reason: EndReason, ms: u64) -> RunEnd {
        RunEnd { reason, at: SimTime(ms * 1_000_000), max_latency_ns: 0 }
    }

    fn judge(checker: &mut dyn Checker, events: &[TraceEvent], end: RunEnd) -> Verdict {
        events.iter().for_each(|e| checker.observe(e));
        checker.verdict(&end)
    }

    #[test]
    fn an_acknowledged_task_never_processed_is_lost_once_nothing_is_left_to_happen() {
        let events = [acked(1, 0), acked(2, 1), deliver(5, 1, 1)];
        let quiet = judge(&mut NoAckedLoss::new(cluster(), true), &events, end(EndReason::Quiescent, 10));
        assert_eq!(quiet.outcome, Outcome::Fail, "{}", quiet.detail);
        assert!(quiet.detail.contains("a0 acknowledged to p1"), "{}", quiet.detail);
        // At the horizon it may still come: not judged.
        let horizon = judge(&mut NoAckedLoss::new(cluster(), true), &events, end(EndReason::Horizon, 10));
        assert_eq!(horizon.outcome, Outcome::Inconclusive, "{}", horizon.detail);
    }

    #[test]
    fn processed_or_dead_lettered_tasks_pass_and_nothing_acknowledged_is_inconclusive() {
        let events = [acked(1, 0), acked(2, 1), deliver(5, 1, 1), dead(6, 0)];
        assert_eq!(judge(&mut NoAckedLoss::new(cluster(), true), &events, end(EndReason::Quiescent, 10)).outcome, Outcome::Pass);
        // A task never acknowledged is no promise: its loss is not the queue's.
        let unacked = [deliver(5, 1, 1)];
        assert_eq!(judge(&mut NoAckedLoss::new(cluster(), true), &unacked, end(EndReason::Quiescent, 10)).outcome, Outcome::Inconclusive);
        // Under another protocol the lines mean something else.
        assert_eq!(judge(&mut NoAckedLoss::new(cluster(), false), &events, end(EndReason::Quiescent, 10)).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn a_task_not_settled_within_the_bound_fails_and_one_with_time_left_is_not_judged() {
        let events = [acked(0, 0), acked(10, 1), deliver(50, 1, 1)];
        let late = judge(&mut DeadLetterBounded::new(cluster(), true, 100_000_000, None), &events, end(EndReason::Horizon, 200));
        assert_eq!(late.outcome, Outcome::Fail, "{}", late.detail);
        assert!(late.detail.contains("a0 acknowledged at 0"), "{}", late.detail);
        let early = judge(&mut DeadLetterBounded::new(cluster(), true, 100_000_000, None), &events, end(EndReason::Horizon, 60));
        assert_eq!(early.outcome, Outcome::Pass, "{}", early.detail);
        assert!(early.detail.contains("1 still had time"), "{}", early.detail);
    }

    /// Postmortem: only a settling after the producer's acknowledgement counted, so a task
    /// processed before the acknowledgement reached its producer (a lossy link) was called
    /// never settled (193 of 200 seeds of a correct queue over hostile links).
    #[test]
    fn regression_a_task_processed_before_its_acknowledgement_arrived_is_settled() {
        let events = [deliver(5, 1, 0), acked(10, 0)];
        let v = judge(&mut DeadLetterBounded::new(cluster(), true, 100_000_000, None), &events, end(EndReason::Quiescent, 200));
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
    }

    #[test]
    fn a_redriven_task_is_owed_again_and_the_dead_letter_queue_is_listed() {
        // a0 dead-lettered at 20, redriven at 100: settled again by 150 passes, never fails.
        let settled = [acked(0, 0), dead(20, 0), deliver(130, 1, 0)];
        let pass =
            judge(&mut DeadLetterBounded::new(cluster(), true, 50_000_000, Some(100_000_000)), &settled, end(EndReason::Quiescent, 200));
        assert_eq!(pass.outcome, Outcome::Pass, "{}", pass.detail);
        assert!(pass.detail.contains("1 of them after the redrive") && pass.detail.contains("queue at the end: empty"), "{}", pass.detail);
        let lost = [acked(0, 0), dead(20, 0)];
        let fail =
            judge(&mut DeadLetterBounded::new(cluster(), true, 50_000_000, Some(100_000_000)), &lost, end(EndReason::Quiescent, 200));
        assert_eq!(fail.outcome, Outcome::Fail, "{}", fail.detail);
        assert!(fail.detail.contains("a0 redriven at 100"), "{}", fail.detail);
        // Without a redrive it stays in the dead-letter queue, which the verdict names.
        let kept = judge(&mut DeadLetterBounded::new(cluster(), true, 50_000_000, None), &lost, end(EndReason::Quiescent, 200));
        assert_eq!(kept.outcome, Outcome::Pass, "{}", kept.detail);
        assert!(kept.detail.contains("queue at the end: a0"), "{}", kept.detail);
    }
    fn sent(ms: u64, app: u64) -> TraceEvent {
        ev(ms, EventKind::Command { node: NodeId(2), app: AppId(app), dest: crate::process::Dest::Node(NodeId(0)) })
    }

    fn crash(ms: u64, node: u32) -> TraceEvent {
        ev(ms, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(node)), index: 0 })
    }

    /// The broker hands task `app` to w1.
    fn handout(ms: u64, app: u64) -> TraceEvent {
        ev(ms, EventKind::Attempt { node: NodeId(0), to: NodeId(1), series: app, attempt: 1 })
    }

    #[test]
    fn a_task_of_a_producer_that_stayed_up_never_acknowledged_fails_once_nothing_is_left_to_happen() {
        let events = [sent(0, 0), sent(1, 1), acked(3, 1), deliver(5, 1, 1)];
        let quiet = judge(&mut NoAckedLoss::new(cluster(), true), &events, end(EndReason::Quiescent, 10));
        assert_eq!(quiet.outcome, Outcome::Fail, "{}", quiet.detail);
        assert!(quiet.detail.contains("first: a0 sent by p1 at 0.000ms"), "{}", quiet.detail);
        // At the horizon the producer may still be resending it.
        let horizon = judge(&mut NoAckedLoss::new(cluster(), true), &events, end(EndReason::Horizon, 10));
        assert_eq!(horizon.outcome, Outcome::Pass, "{}", horizon.detail);
        assert!(horizon.detail.contains("1 task(s) unacknowledged when the run stopped"), "{}", horizon.detail);
        // A producer that crashed forgot what it was resending: not owed.
        let forgot = [sent(0, 0), sent(1, 1), acked(3, 1), deliver(5, 1, 1), crash(6, 2)];
        let pass = judge(&mut NoAckedLoss::new(cluster(), true), &forgot, end(EndReason::Quiescent, 10));
        assert_eq!(pass.outcome, Outcome::Pass, "{}", pass.detail);
        assert!(pass.detail.contains("every task of a producer that stayed up acknowledged"), "{}", pass.detail);
    }

    fn rule(max: u32) -> Rule {
        Rule { broker: NodeId(0), max, persisted: true, write_ns: 2_000_000, clock: Clock::default() }
    }

    /// `events` with each hand-out numbered as the broker does when every earlier one since
    /// the task's previous `dead` line failed.
    fn numbered(events: &[TraceEvent]) -> Vec<TraceEvent> {
        let mut since: BTreeMap<u64, u32> = BTreeMap::new();
        let mut events = events.to_vec();
        for e in &mut events {
            match &mut e.kind {
                EventKind::Attempt { series, attempt, .. } => {
                    let n = since.entry(*series).or_default();
                    *n += 1;
                    *attempt = *n;
                }
                EventKind::DeadLetter { app, .. } => {
                    since.remove(&app.0);
                }
                _ => {}
            }
        }
        events
    }

    fn counted(events: &[TraceEvent], max: u32) -> Verdict {
        let mut checker = DeadLetterBounded::new(cluster(), true, 500_000_000, None).with_rule(rule(max));
        judge(&mut checker, &numbered(events), end(EndReason::Quiescent, 1_000))
    }

    // Postmortem: a broker numbering a redelivery by the failures before it (not one more)
    // dead-lettered on time, and no check read the numbers its hand-outs carried.
    #[test]
    fn the_last_delivery_before_the_dead_letter_queue_is_numbered_max_deliveries() {
        let mut events = numbered(&[acked(0, 0), handout(1, 0), handout(10, 0), handout(20, 0), dead(28, 0)]);
        let mut checker = DeadLetterBounded::new(cluster(), true, 500_000_000, None).with_rule(rule(3));
        assert_eq!(judge(&mut checker, &events, end(EndReason::Quiescent, 1_000)).outcome, Outcome::Pass);
        if let EventKind::Attempt { attempt, .. } = &mut events[3].kind {
            *attempt = 2;
        }
        let mut checker = DeadLetterBounded::new(cluster(), true, 500_000_000, None).with_rule(rule(3));
        let v = judge(&mut checker, &events, end(EndReason::Quiescent, 1_000));
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("a0 dead-lettered at 28.000ms after its delivery numbered 2"), "{}", v.detail);
    }

    fn restart(ms: u64, node: u32) -> TraceEvent {
        ev(ms, EventKind::Fault { action: FaultAction::Restart, node: Some(NodeId(node)), index: 0 })
    }

    /// Postmortem: a restarted broker armed its redrive again although its log said the redrive
    /// had happened, so tasks dead-lettered since were redriven a second time; every clause
    /// passed, since none said a task leaves the dead-letter queue only by the redrive
    /// (held-out set 9, dq-restart-redrives-again).
    #[test]
    fn regression_a_dead_lettered_task_leaves_the_dead_letter_queue_only_by_the_redrive() {
        let judge_redrive = |events: &[TraceEvent]| {
            let mut checker = DeadLetterBounded::new(cluster(), true, 500_000_000, Some(100_000_000)).with_rule(rule(1));
            judge(&mut checker, &numbered(events), end(EndReason::Quiescent, 1_000))
        };
        // Dead at 20, redriven at 100 and handed out at 101, dead again at 130: kept there.
        let once = [acked(0, 0), handout(1, 0), dead(20, 0), handout(101, 0), dead(130, 0)];
        assert_eq!(judge_redrive(&once).outcome, Outcome::Pass, "{}", judge_redrive(&once).detail);
        // A restart at 210 hands it out again: a second redrive, after the first was on disk.
        let again = [&once[..], &[crash(200, 0), restart(210, 0), handout(211, 0), dead(240, 0)]].concat();
        let v = judge_redrive(&again);
        assert!(
            v.outcome == Outcome::Fail && v.detail.contains("a0 dead-lettered at 130.000ms was handed out again at 211.000ms"),
            "{}",
            v.detail
        );
        // A crash right after the dead-lettering may have unwritten it: queued again, not judged.
        let unwritten = [&once[..], &[crash(131, 0), restart(210, 0), handout(211, 0), dead(240, 0)]].concat();
        assert_eq!(judge_redrive(&unwritten).outcome, Outcome::Pass, "{}", judge_redrive(&unwritten).detail);
        // A crash before the redrive's record landed: the restart redrives again, rightly.
        let redone =
            [acked(0, 0), handout(1, 0), dead(20, 0), handout(101, 0), crash(102, 0), restart(150, 0), handout(151, 0), dead(180, 0)];
        assert_eq!(judge_redrive(&redone).outcome, Outcome::Pass, "{}", judge_redrive(&redone).detail);
        // Without a redrive at all, a dead task handed out again fails.
        let mut checker = DeadLetterBounded::new(cluster(), true, 500_000_000, None).with_rule(rule(1));
        let v =
            judge(&mut checker, &numbered(&[acked(0, 0), handout(1, 0), dead(20, 0), handout(101, 0)]), end(EndReason::Quiescent, 1_000));
        assert!(v.outcome == Outcome::Fail && v.detail.contains("no redrive between"), "{}", v.detail);
    }

    #[test]
    fn a_task_is_dead_lettered_exactly_at_its_max_deliveries_th_failure() {
        // Handed out 3 times, never processed, dead-lettered at the third failure: max 3 passes.
        let exact = [acked(0, 0), handout(1, 0), handout(10, 0), handout(20, 0), dead(28, 0)];
        let pass = counted(&exact, 3);
        assert_eq!(pass.outcome, Outcome::Pass, "{}", pass.detail);
        assert!(pass.detail.contains("1 dead-letterings at max_deliveries"), "{}", pass.detail);
        // One failure late: the fourth.
        let late = counted(&exact, 2);
        assert_eq!(late.outcome, Outcome::Fail, "{}", late.detail);
        assert!(late.detail.contains("a0 dead-lettered at 28.000ms after at least 3 failed deliveries"), "{}", late.detail);
        // Too soon: three deliveries cannot make four failures.
        let soon = counted(&exact, 4);
        assert_eq!(soon.outcome, Outcome::Fail, "{}", soon.detail);
        assert!(soon.detail.contains("after at most 3 deliveries"), "{}", soon.detail);
        // A hand-out the consumer processed did not fail.
        let processed = [acked(0, 0), handout(1, 0), deliver(6, 1, 0), handout(10, 0), handout(20, 0), dead(28, 0)];
        assert_eq!(counted(&processed, 2).outcome, Outcome::Pass);
    }

    #[test]
    fn failures_on_disk_count_across_a_crash_and_a_redrive_starts_the_count_again() {
        // One failure written long before the crash at 40 (the second hand-out may have been in
        // flight at it), three more after the restart: four.
        let across =
            [acked(0, 0), handout(1, 0), handout(10, 0), crash(40, 0), handout(50, 0), handout(60, 0), handout(70, 0), dead(78, 0)];
        let fail = counted(&across, 3);
        assert_eq!(fail.outcome, Outcome::Fail, "{}", fail.detail);
        assert!(fail.detail.contains("at least 4 failed deliveries"), "{}", fail.detail);
        // A crash 1 ms after the third hand-out: the second failure may not have reached the
        // disk, and the third hand-out may have been lost in flight: at least 2 counted, fine.
        let unsure = [acked(0, 0), handout(1, 0), handout(10, 0), handout(20, 0), crash(21, 0), handout(50, 0), dead(58, 0)];
        assert_eq!(counted(&unsure, 3).outcome, Outcome::Pass, "{}", counted(&unsure, 3).detail);
        // Redriven at 100 and dead-lettered again after one failure: too soon.
        let again = [acked(0, 0), handout(1, 0), handout(10, 0), handout(20, 0), dead(28, 0), handout(101, 0), dead(108, 0)];
        let soon = counted(&again, 3);
        assert_eq!(soon.outcome, Outcome::Fail, "{}", soon.detail);
        assert!(soon.detail.contains("a0 dead-lettered at 108.000ms after at most 1 deliveries"), "{}", soon.detail);
        // Its first `dead` line lost to a crash before the record was written: the count stood.
        let lost = [acked(0, 0), handout(1, 0), handout(10, 0), handout(20, 0), dead(28, 0), crash(29, 0), handout(40, 0), dead(48, 0)];
        assert_eq!(counted(&lost, 3).outcome, Outcome::Pass, "{}", counted(&lost, 3).detail);
    }
}

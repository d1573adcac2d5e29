//! `msgsim explore`: every behaviour of a small scenario, not a sample of them, in one of two
//! models ([`Model`]): the timed one, here, and the asynchronous one ([`asynchronous`]: no
//! clock, any enabled event next, states merged by fingerprint).
//!
//! The timed model. Time advances as in `run`; what varies is the network's random outcome for
//! each transmission: delivered after one of a few representative latencies (the link
//! distribution's minimum, maximum and, if asked, points between), lost, corrupted or
//! duplicated, as far as the link allows each. The search is over the tree of those outcomes,
//! transmission by transmission in the order the run sends them, and it drives the ordinary
//! engine through `replay`: a run under a replay list is the run whose network decided so, and a
//! transmission the list does not mention takes the default outcome (delivered intact after the
//! smallest latency). Each run is therefore one complete behaviour, and its children differ from
//! it in the outcome of exactly one later transmission, so every behaviour within the bounds is
//! run exactly once and judged by the scenario's own checks.
//!
//! The search is stateless (no process state is fingerprinted) and breadth-first over the
//! number of transmissions a behaviour fixes, children in a fixed order, so the same scenario
//! and bounds explore the same behaviours in the same order, and the first violation found is
//! one with the shortest path. The one reported has the fewest faults (losses, corruptions,
//! duplications) of those found, then the shortest path, as a replay list (only the outcomes
//! that differ from the default) that `msgsim run`, `trace` and `shrink` accept.

pub mod asynchronous;
mod parallel;
mod sleep;

pub use asynchronous::Step;

use crate::dist::Latency;
use crate::id::{MsgId, NodeId};
use crate::net::{Decision, LinkModel};
use crate::scenario::Scenario;
use crate::sim::{RunOptions, run};
use crate::trace::EventKind;
use crate::verdict::Outcome;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How far the search goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Transmissions whose outcome is varied, from the first; later ones take the default.
    pub max_depth: usize,
    /// Faults (losses, corruptions, duplications) in one behaviour.
    pub max_faults: usize,
    /// Latencies per link tried for a delivered transmission: 1 is the minimum only, 2 adds the
    /// maximum, more add evenly spaced points of the distribution's range between them. A link
    /// with a service distribution tries as many service times, each with each latency.
    pub latencies: usize,
    /// Runs at most; a search stopped by it is not complete.
    pub max_runs: u64,
    /// Threads the asynchronous model replays paths on (the timed model, and the asynchronous
    /// model when it copies states, run on one); the result does not depend on it.
    pub jobs: usize,
    /// The asynchronous model replays every path from the boot even when the processes can be
    /// copied ([`crate::process::Process::snapshot`]): slower, the same result; for comparison.
    pub replay: bool,
    /// The asynchronous model skips steps that only reach, in another order, a state found
    /// another way (partial-order reduction by sleep sets, [`asynchronous`]): the same states,
    /// verdicts and counterexample from fewer transitions. Off (`--no-reduction`), for
    /// comparison.
    pub reduction: bool,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds { max_depth: 64, max_faults: 2, latencies: 2, max_runs: 1_000_000, jobs: 1, replay: false, reduction: true }
    }
}

/// Which model of the scenario's nondeterminism `explore` searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Model {
    /// Time advances as in `run`; each transmission's network outcome is varied.
    #[default]
    Timed,
    /// No clock: any enabled event (a delivery, a timer, a command, a scripted crash or cut)
    /// may happen next (see [`asynchronous`]).
    Async,
}

/// How the explorer searches the protocol a scenario names in the asynchronous model: a
/// function monomorphised for the protocol's type by its decoder, carried in its `Runner`.
pub struct AsyncExplorer(pub fn(&Scenario, u64, Bounds) -> Result<Exploration, String>);

/// Explore `scenario` in `model`. An error says why it cannot be explored so (exit 2).
pub fn explore_model(scenario: &Scenario, seed: u64, bounds: Bounds, model: Model) -> Result<Exploration, String> {
    match model {
        Model::Timed => match refuse(scenario) {
            Some(why) => Err(why),
            None => Ok(explore(scenario, seed, bounds)),
        },
        Model::Async => {
            if let Some(why) = asynchronous::refuse(scenario) {
                return Err(why);
            }
            let runner =
                scenario.protocol.runner().downcast_ref::<crate::sim::Runner>().expect("every protocol choice is made with a `Runner`");
            (runner.1.0)(scenario, seed, bounds)
        }
    }
}

/// What the search found.
#[derive(Clone, Debug, Serialize)]
pub struct Exploration {
    /// Behaviours judged: in the timed model each is one run of the engine; in the asynchronous
    /// model each is a path explored to its end (quiescent, or cut by the depth bound).
    pub behaviours: u64,
    /// Distinct states: in the timed model, one per behaviour (it keeps none); in the
    /// asynchronous model, the distinct fingerprints reached.
    pub states: u64,
    /// Transitions taken: in the timed model, the outcome choices explored (the tree's edges);
    /// in the asynchronous model, the steps taken, not counting those the reduction skipped
    /// (see [`Bounds::reduction`]).
    pub transitions: u64,
    /// The deepest transmission whose outcome was varied (1-based; 0: none was).
    pub max_depth: usize,
    /// Whether every behaviour within the bounds was run (`max_runs` did not stop the search).
    pub complete: bool,
    /// Whether some behaviour sent more transmissions than `max_depth` varies.
    pub depth_bound_reached: bool,
    /// Whether some path ran out of the scenario's in-flight budget (`max_in_flight`,
    /// `max_memory_mb`; asynchronous model) and was judged as a run stopped there.
    pub budget_reached: bool,
    /// Whether the search stopped, incomplete, because what it keeps (the queue, the states
    /// found, the worlds kept to copy from) and the largest state or run it made reached the
    /// scenario's `max_memory_mb`.
    pub memory_reached: bool,
    /// The events the search took, counted against the scenario's `max_events` as one run's
    /// are: in the timed model, its runs' scheduler events; in the asynchronous model, for each
    /// new state the trace events its checks read and, per step queued from it, its size (nodes,
    /// messages in flight and timers: what taking the step walks). Counted alike whether states
    /// are copied or replayed, on any number of threads; the replaying search also pays the
    /// steps it runs again (a path per transition) out of `max_events`, added here if that
    /// stopped it.
    pub events: u64,
    /// Whether the search stopped, incomplete, because `events` reached `max_events`: without
    /// it a search's time was `--max-runs` times a run's, hours for a 200-byte scenario.
    pub events_reached: bool,
    /// Per check: behaviours that passed, failed and were inconclusive, in the scenario's order.
    pub checks: Vec<CheckTally>,
    /// The violation with the fewest faults, if any check failed.
    pub violation: Option<Violation>,
    /// Whether the asynchronous model made states from stored copies of their parents (every
    /// process opted in, and `replay` was not asked), rather than by replaying paths.
    pub copied: bool,
    /// Asynchronous model: a hash of the distinct states' fingerprints in the order they were
    /// found, so two searches can be shown to find the same states in the same order (copying
    /// or replaying, whatever `jobs`). 0 in the timed model, which keeps no states.
    pub order: u64,
    /// Asynchronous model: the bytes the search keeps for its distinct states at the end, the
    /// table of their fingerprints and the tree of their paths (each one's parent and the step
    /// from it); so `stored_bytes / states` is the memory a state costs once stepped from.
    /// 0 in the timed model.
    pub stored_bytes: u64,
    /// Asynchronous model, copying: the most whole states (worlds) kept at once for the queued
    /// states they lead to, at most 65,536 whatever the space's size. 0 otherwise.
    pub kept_worlds: u64,
}

impl Exploration {
    /// A search of `scenario` before its first step: nothing found, each check tallied at zero.
    pub(crate) fn nothing_yet(scenario: &Scenario) -> Exploration {
        Exploration {
            behaviours: 0,
            states: 0,
            transitions: 0,
            max_depth: 0,
            complete: true,
            depth_bound_reached: false,
            budget_reached: false,
            memory_reached: false,
            events: 0,
            events_reached: false,
            checks: scenario.checks.iter().map(|c| CheckTally { check: c.name(), passed: 0, failed: 0, inconclusive: 0 }).collect(),
            violation: None,
            copied: false,
            order: 0,
            stored_bytes: 0,
            kept_worlds: 0,
        }
    }
}

/// One check's verdicts over every behaviour explored.
#[derive(Clone, Debug, Serialize)]
pub struct CheckTally {
    /// The check's name.
    pub check: &'static str,
    /// Behaviours it passed.
    pub passed: u64,
    /// Behaviours it failed.
    pub failed: u64,
    /// Behaviours it had nothing to judge in.
    pub inconclusive: u64,
}

/// A behaviour that fails a check.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    /// The check that failed (the first in the scenario's order, if several did).
    pub check: String,
    /// Its verdict's detail.
    pub detail: String,
    /// Losses, corruptions and duplications in the behaviour.
    pub faults: usize,
    /// Transmissions whose outcome the behaviour fixes (timed), or steps taken (asynchronous):
    /// the length of the path to it.
    pub path_length: usize,
    /// The network's decisions that differ from the default, as a scenario's `replay` list holds them.
    #[serde(skip)]
    pub decisions: Vec<Decision>,
    /// The asynchronous model's path to it, as a scenario's `schedule` list holds it (empty in the timed model).
    #[serde(skip)]
    pub schedule: Vec<Step>,
}

/// A distribution's representative values: its minimum first, then `count - 1` more evenly
/// spaced up to its maximum, each once.
fn representatives(dist: &Latency, count: usize) -> Vec<u64> {
    let (min, max) = (dist.min_ns(), dist.max_ns());
    let steps = count.max(1) as u64;
    let mut seen = vec![min];
    for i in 1..steps {
        let value = min + (max - min) * i / (steps - 1);
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}

/// One outcome to try for a transmission, and whether it is a fault. A link with a service
/// distribution tries each representative latency with each representative service time.
fn options(model: &LinkModel, msg: MsgId, latencies: usize) -> Vec<(Decision, bool)> {
    let latency = representatives(&model.latency, latencies);
    // `None` is the default service, the distribution's minimum: the first representative.
    let services: Vec<Option<u64>> = model
        .service
        .as_ref()
        .map_or(vec![None], |s| representatives(s, latencies).into_iter().enumerate().map(|(i, v)| (i > 0).then_some(v)).collect());
    let (min, max) = (model.latency.min_ns(), model.latency.max_ns());
    let delivered = |latency_ns, service_ns| Decision { msg, lost: false, latency_ns, corrupted: false, duplicate: None, service_ns };
    let mut out = Vec::new();
    // The default (the smallest latency and service, intact) is the parent's own behaviour: not a child.
    for &service in &services {
        for &l in &latency {
            if (l, service) != (min, None) {
                out.push((delivered(l, service), false));
            }
        }
    }
    let delivered = |latency_ns| delivered(latency_ns, None);
    if model.loss_ppb > 0 {
        out.push((Decision { lost: true, ..delivered(min) }, true));
    }
    if model.corrupt_ppb > 0 {
        out.push((Decision { corrupted: true, ..delivered(min) }, true));
    }
    if model.duplicate_ppb > 0 {
        out.push((Decision { duplicate: Some((max, false)), ..delivered(min) }, true));
    }
    out
}

/// The link model a transmission from `from` to `to` travels on (a later override wins).
fn model_of(scenario: &Scenario, from: NodeId, to: NodeId) -> &LinkModel {
    scenario.links.iter().rev().find(|((a, b), _)| (*a, *b) == (from, to)).map_or(&scenario.network, |(_, m)| m)
}

/// Whether the scenario's network outcomes can be explored: swarm mode draws link rates from
/// the seed, so its links are sampled, not fixed.
pub fn refuse(scenario: &Scenario) -> Option<String> {
    let swarm_links = scenario.swarm.as_ref().is_some_and(|s| s.loss.is_some() || s.duplicate.is_some() || s.corrupt.is_some());
    swarm_links.then(|| "a swarm that draws link rates: explore varies each transmission's outcome over fixed links".to_string())
}

/// Explore every behaviour of `scenario` (run with `seed`, for whatever else the seed decides:
/// workload destinations, swarm faults) within `bounds`.
pub fn explore(scenario: &Scenario, seed: u64, bounds: Bounds) -> Exploration {
    // The trace and decisions each run keeps count against its memory budget, as `trace` and
    // `shrink` count theirs; the queue counts against the search's.
    let options_for_run =
        RunOptions { record_trace: true, decisions: true, budget_kept_trace: Some(0), budget_decisions: Some(0), ..RunOptions::default() };
    let mut memory = crate::budget::SearchBudget::new(scenario.limits.max_memory_mb);
    let mut found = Exploration::nothing_yet(scenario);
    let mut checks = std::mem::take(&mut found.checks);
    // A behaviour to run: the outcomes that differ from the default, how many transmissions
    // from the first have their outcome fixed (the others in that range took the default), and
    // its faults.
    let mut queue: VecDeque<(Vec<Decision>, usize, usize)> = VecDeque::from([(Vec::new(), 0, 0)]);
    // Each behaviour's outcomes are the search's, as its `replay`: a `schedule` the file holds
    // (an asynchronous counterexample) would run instead, the same one run every time, and the
    // search would call that one run every behaviour.
    let mut candidate = Scenario { schedule: None, ..scenario.clone() };
    while let Some((prefix, decided, faults)) = queue.pop_front() {
        if found.behaviours >= bounds.max_runs {
            found.complete = false;
            break;
        }
        // The search's time is bounded as one run's is: by the scenario's `max_events`, here
        // over its runs together (the last run may take up to its own budget past it).
        if found.events >= scenario.limits.max_events {
            (found.complete, found.events_reached) = (false, true);
            break;
        }
        memory.release(queued_bytes(&prefix));
        if memory.exceeded(queued_bytes(&prefix)) {
            (found.complete, found.memory_reached) = (false, true);
            break;
        }
        candidate.replay = Some(prefix.clone());
        let Ok(result) = run(&candidate, seed, &options_for_run) else {
            // A panic is a violation of its own kind: the protocol code crashed.
            record_violation(&mut found, "protocol panic", "protocol code panicked".to_string(), faults, decided, &prefix);
            found.behaviours += 1;
            continue;
        };
        found.behaviours += 1;
        found.events = found.events.saturating_add(result.steps);
        let kept = |capacity: Option<usize>, each: usize| (capacity.unwrap_or(0) * each) as u64;
        memory.made(
            kept(result.trace.as_ref().map(Vec::capacity), std::mem::size_of::<crate::trace::TraceEvent>())
                + kept(result.decisions.as_ref().map(Vec::capacity), std::mem::size_of::<Decision>()),
        );
        for (tally, (_, verdict)) in checks.iter_mut().zip(&result.verdicts) {
            match verdict.outcome {
                Outcome::Pass => tally.passed += 1,
                Outcome::Fail => tally.failed += 1,
                Outcome::Inconclusive => tally.inconclusive += 1,
            }
        }
        if let Some((name, verdict)) = result.verdicts.iter().find(|(_, v)| v.outcome == Outcome::Fail) {
            record_violation(&mut found, name, verdict.detail.clone(), faults, decided, &prefix);
        }
        // Children: for each later transmission, each non-default outcome, with every
        // transmission between taking the default.
        let recorded = result.decisions.unwrap_or_default();
        // The links of the transmissions varied only: a run that sends millions keeps no map of them all.
        let varied: BTreeSet<MsgId> = recorded.iter().skip(decided).take(bounds.max_depth.saturating_sub(decided)).map(|d| d.msg).collect();
        let links: BTreeMap<MsgId, (NodeId, NodeId)> = result
            .trace
            .unwrap_or_default()
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Send { from, to, msg, .. } if varied.contains(&msg) => Some((msg, (from, to))),
                _ => None,
            })
            .collect();
        if recorded.len() > bounds.max_depth {
            found.depth_bound_reached = true;
        }
        let mut children = Vec::new();
        for (i, default) in recorded.iter().enumerate().skip(decided).take(bounds.max_depth.saturating_sub(decided)) {
            let Some(&(from, to)) = links.get(&default.msg) else { continue };
            for (option, is_fault) in options(model_of(scenario, from, to), default.msg, bounds.latencies) {
                let faults = faults + usize::from(is_fault);
                if faults > bounds.max_faults {
                    continue;
                }
                let mut path = prefix.clone();
                path.push(option);
                found.max_depth = found.max_depth.max(i + 1);
                children.push((path, i + 1, faults));
            }
        }
        found.transitions += children.len() as u64;
        // Breadth-first, a child queued past the run budget would never run: queue at most what
        // the budget can still run, so memory is bounded by `max_runs`, not by the tree's width.
        let room = bounds.max_runs.saturating_sub(found.behaviours).saturating_sub(queue.len() as u64);
        if children.len() as u64 > room {
            found.complete = false;
            children.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        }
        memory.keep(children.iter().map(|(path, _, _)| queued_bytes(path)).sum());
        queue.extend(children);
        memory.set_queue(crate::budget::deque(&queue));
    }
    found.checks = checks;
    found.states = found.behaviours;
    found
}

/// What a queued behaviour's decisions hold beside its place in the queue.
fn queued_bytes(path: &Vec<Decision>) -> u64 {
    crate::budget::vec(path) + crate::budget::ALLOCATION_BYTES
}

fn record_violation(found: &mut Exploration, check: &str, detail: String, faults: usize, decided: usize, prefix: &[Decision]) {
    let better = found.violation.as_ref().is_none_or(|v| (faults, decided) < (v.faults, v.path_length));
    if better {
        found.violation = Some(Violation {
            check: check.to_string(),
            detail,
            faults,
            path_length: decided,
            decisions: prefix.to_vec(),
            schedule: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(network: &str, count: u64, checks: &str) -> Scenario {
        Scenario::parse(
            &format!(
                "Scenario(name: \"e\", horizon_ms: 1000, nodes: 2, protocol: BestEffort(), network: {network},\n\
                 workload: [(from: \"n0\", to: \"n1\", every_ms: 10, count: {count})], checks: [{checks}])"
            ),
            "e.ron",
        )
        .expect("valid")
    }

    #[test]
    fn a_lossless_fixed_latency_network_has_one_behaviour() {
        let found = explore(&scenario("(latency: Constant(ms: 1))", 3, "NoLoss"), 1, Bounds::default());
        assert_eq!((found.behaviours, found.transitions, found.complete), (1, 0, true));
        assert_eq!((found.checks[0].passed, found.violation.is_none()), (1, true));
    }

    #[test]
    fn each_loss_pattern_within_the_fault_bound_is_one_behaviour() {
        // Three transmissions that may each be lost: with at most k losses, sum of C(3, i) for i <= k.
        for (k, expected) in [(0, 1), (1, 4), (2, 7), (3, 8)] {
            let bounds = Bounds { max_faults: k, ..Bounds::default() };
            let found = explore(&scenario("(latency: Constant(ms: 1), loss: 0.5)", 3, "NoLoss"), 1, bounds);
            assert_eq!(found.behaviours, expected, "at most {k} losses");
            assert_eq!(found.checks[0].failed, expected - 1, "every behaviour with a loss fails NoLoss");
        }
    }

    #[test]
    fn the_counterexample_has_the_fewest_faults_and_replays_as_a_failing_run() {
        let s = scenario("(latency: Uniform(min_ms: 1, max_ms: 5), loss: 0.1, duplicate: 0.1)", 3, "NoDuplicates");
        let found = explore(&s, 1, Bounds::default());
        let v = found.violation.expect("BestEffort without dedup delivers a duplicate");
        assert_eq!((v.check.as_str(), v.faults), ("NoDuplicates", 1));
        let replayed = Scenario { replay: Some(v.decisions.clone()), ..s.clone() };
        let result = run(&replayed, 1, &RunOptions::default()).expect("no panic");
        assert_eq!(result.verdicts[0].1.outcome, Outcome::Fail);
    }

    #[test]
    fn latencies_multiply_the_behaviours_and_the_order_is_fixed() {
        let s = scenario("(latency: Uniform(min_ms: 1, max_ms: 5))", 2, "NoLoss");
        let two = explore(&s, 1, Bounds { latencies: 2, ..Bounds::default() });
        assert_eq!(two.behaviours, 4, "two latencies for each of two transmissions");
        let three = explore(&s, 1, Bounds { latencies: 3, ..Bounds::default() });
        assert_eq!(three.behaviours, 9);
        let again = explore(&s, 1, Bounds { latencies: 3, ..Bounds::default() });
        assert_eq!((again.behaviours, again.transitions, again.max_depth), (three.behaviours, three.transitions, three.max_depth));
    }

    /// Postmortem: the queue held every child of every behaviour run, hundreds per run, so the
    /// default budget of a million runs could queue over a hundred million paths; it now holds
    /// no more than the budget can still run.
    #[test]
    fn the_queue_never_holds_more_than_the_run_budget() {
        let s = scenario("(latency: Uniform(min_ms: 1, max_ms: 5), loss: 0.5, duplicate: 0.1)", 30, "NoLoss");
        let found = explore(&s, 1, Bounds { max_runs: 50, ..Bounds::default() });
        assert_eq!((found.behaviours, found.complete), (50, false));
        assert!(found.transitions > 50, "the tree is wider than the budget: {}", found.transitions);
    }

    #[test]
    fn a_long_service_that_fills_a_link_queue_is_found_and_replays() {
        // Two messages 10 ms apart over a server with room for one: served in its minimum 5 ms,
        // the first has left when the second comes; served in its maximum 20 ms, it has not, and
        // the second is dropped for a full queue, with no fault at all.
        let s = scenario("(latency: Constant(ms: 1), service: Uniform(min_ms: 5, max_ms: 20), queue_limit: 1)", 2, "NoLoss");
        let found = explore(&s, 1, Bounds::default());
        let v = found.violation.expect("a long first service loses the second message");
        assert_eq!((v.check.as_str(), v.faults), ("NoLoss", 0));
        assert_eq!(v.decisions.iter().map(|d| d.service_ns).collect::<Vec<_>>(), [Some(20_000_000)]);
        // The counterexample as `explore` writes it reads back and fails again.
        let source = format!(
            "Scenario(name: \"e\", horizon_ms: 1000, nodes: 2, protocol: BestEffort(),\n\
             network: (latency: Constant(ms: 1), service: Uniform(min_ms: 5, max_ms: 20), queue_limit: 1),\n\
             workload: [(from: \"n0\", to: \"n1\", every_ms: 10, count: 2)], checks: [NoLoss], replay: {})",
            Decision::list_ron(&v.decisions)
        );
        let replayed = Scenario::parse(&source, "cex.ron").unwrap_or_else(|e| panic!("{e}\n{source}"));
        let result = run(&replayed, 99, &RunOptions::default()).expect("no panic");
        assert_eq!((result.verdicts[0].1.outcome, result.messages.drops.queue_full), (Outcome::Fail, 1));
    }

    #[test]
    fn a_run_budget_leaves_the_search_incomplete() {
        let s = scenario("(latency: Constant(ms: 1), loss: 0.5)", 6, "NoLoss");
        let found = explore(&s, 1, Bounds { max_runs: 5, max_faults: 6, ..Bounds::default() });
        assert_eq!((found.behaviours, found.complete), (5, false));
    }
}

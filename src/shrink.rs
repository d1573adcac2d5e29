//! Shrinking a failing run: delta debugging down to a smaller run that fails the same check.
//!
//! The failing run is first re-expressed without randomness in the network: its
//! faults (scripted and swarm-drawn) become a script, and every random network
//! decision it took (loss, latency, corruption, duplication, per transmission)
//! becomes a `replay` list the network follows instead of drawing. That run is
//! the same run (same trace hash), and from it the shrinker removes what it
//! can while the check still fails: the horizon, scripted faults, individual
//! losses, duplicates and corruptions, whole workload generators and their
//! message counts. A transmission whose loss is removed is delivered after its
//! link's smallest latency. The result is written as the original scenario file
//! with those fields (and `seed`) replaced, and checked to reproduce.

use crate::check::Outcome;
use crate::net::Decision;
use crate::process::Cluster;
use crate::scenario::{Catalog, Fault, Generator, Scenario, ScheduledFault, Target, locate::set_top_level_field};
use crate::sim::{ProtocolPanic, RunOptions, RunResult};
use crate::time::{NANOS_PER_MS, SimTime};
use serde::Serialize;
use std::fmt::Write as _;

/// How big a run is, in the terms the shrinker reduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RunSize {
    /// Faults in the script (scripted and swarm-drawn alike, once made a script).
    pub faults: usize,
    /// The generators' message counts added up: what the workload may send at most.
    pub workload_messages: u64,
    /// Transmissions the replay list has the network lose.
    pub lost: usize,
    /// Transmissions the replay list has the network duplicate.
    pub duplicated: usize,
    /// Copies the replay list has the network corrupt (a duplicate's copy counts on its own).
    pub corrupted: usize,
    /// The horizon, in nanoseconds.
    pub horizon_ns: u64,
    /// Scheduler events the run processed.
    pub events: u64,
}

/// What `shrink` found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The check that fails, before and after (the one asked for, or the first that failed).
    pub check: String,
    /// The failing run, re-expressed as a script and a replay list.
    pub before: RunSize,
    /// The shrunk run, which still fails `check`.
    pub after: RunSize,
    /// The shrunk scenario as RON text (the original file with fields replaced).
    pub source: String,
    /// Simulation runs the search took.
    pub runs: u32,
}

/// At most this many runs: delta debugging is quadratic in the worst case.
const MAX_RUNS: u32 = 5_000;

/// What the search holds for each decision of the original run beyond the recorded one: the
/// best candidate's and each candidate's copy, the replayed scenario's and the network's index
/// of it. Measured: 885 MB at the peak for 2.97 million decisions (298 bytes each, a 48-byte
/// place included).
const DECISION_COPIES_BYTES: u64 = 256;

/// A run that can be tried: the scenario with its faults, workload, horizon and decisions replaced.
#[derive(Clone)]
struct Candidate {
    faults: Vec<ScheduledFault>,
    workload: Vec<Generator>,
    horizon: SimTime,
    decisions: Vec<Decision>,
}

struct Search<'a> {
    scenario: &'a Scenario,
    seed: u64,
    check: String,
    runs: u32,
    /// A candidate that takes more events than this is no smaller, whatever it removed.
    max_events: u64,
}

impl Search<'_> {
    fn build(&self, c: &Candidate) -> Scenario {
        let mut s = self.scenario.clone();
        s.swarm = None;
        s.faults = c.faults.clone();
        s.workload = c.workload.clone();
        s.horizon = c.horizon;
        s.replay = Some(c.decisions.clone());
        s
    }

    fn run(&mut self, scenario: &Scenario, decisions: bool) -> Option<RunResult> {
        self.run_or_stop(scenario, decisions).ok()
    }

    /// [`Search::run`], keeping why a run stopped (a panic, or a schedule step not enabled).
    fn run_or_stop(&mut self, scenario: &Scenario, decisions: bool) -> Result<RunResult, ProtocolPanic> {
        self.runs += 1;
        // The decisions recorded count against the run's memory budget, with their copies.
        let options = RunOptions { decisions, budget_decisions: decisions.then_some(DECISION_COPIES_BYTES), ..RunOptions::default() };
        crate::sim::run(scenario, self.seed, &options)
    }

    /// Whether the candidate still fails the check.
    fn fails(&mut self, c: &Candidate) -> bool {
        if self.runs >= MAX_RUNS {
            return false;
        }
        let scenario = self.build(c);
        self.run(&scenario, false).is_some_and(|r| r.steps <= self.max_events && fails(&r, &self.check))
    }
}

/// Decisions as a scenario can state them: a latency or a link's service time beyond the time
/// limit (a heavy Pareto tail draws them) arrives after any horizon, as one at the limit does.
fn replayable(mut decisions: Vec<Decision>) -> Vec<Decision> {
    // The bound validation puts on a replayed latency (`Validator::replay`).
    let max_ns = (crate::scenario::limits::MAX_MS * NANOS_PER_MS as f64) as u64;
    for d in &mut decisions {
        d.latency_ns = d.latency_ns.min(max_ns);
        d.service_ns = d.service_ns.map(|s| s.min(max_ns));
        if let Some((latency, _)) = &mut d.duplicate {
            *latency = (*latency).min(max_ns);
        }
    }
    decisions
}

fn fails(result: &RunResult, check: &str) -> bool {
    result.verdicts.iter().any(|(name, v)| *name == check && v.outcome == Outcome::Fail)
}

/// Why a run could not be shrunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShrinkError {
    /// The request cannot be met: the seed fails no check, or not the one named, or the
    /// result would not be a scenario `msgsim run` accepts.
    Input(String),
    /// The shrinker itself went wrong (a replay that does not reproduce its run).
    Internal(String),
    /// The scenario's `schedule` does not fit the seed's run: a step (`bad_step`) was not
    /// enabled in its turn. Bad input, placed at the step by the caller, which has the text.
    BadSchedule(ProtocolPanic),
    /// Protocol code panicked in the seed's run: a failure of the run, as `msgsim run` reports
    /// it (exit 3), not of the request.
    Panicked(ProtocolPanic),
}

impl std::error::Error for ShrinkError {}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::Input(e) => write!(f, "{e}"),
            ShrinkError::Internal(e) => write!(f, "internal error: {e}"),
            ShrinkError::BadSchedule(stop) => write!(f, "with seed {}, {}", stop.seed, stop.message),
            ShrinkError::Panicked(stop) => write!(f, "{stop}"),
        }
    }
}

/// Shrink the run of `scenario` (whose file text is `src`) with `seed`, keeping `check`
/// failing (by default the first check that fails). The result is a scenario `msgsim run`
/// accepts, whose run fails the same check and takes no more events than the original.
pub fn shrink(scenario: &Scenario, src: &str, seed: u64, check: Option<&str>) -> Result<Shrunk, ShrinkError> {
    shrink_with(crate::registry::builtin(), scenario, src, seed, check)
}

/// [`shrink`] for a scenario read with `catalog` (a user's registry): the shrunk text is read
/// back with it, so it must name the same protocols and checks.
pub fn shrink_with(catalog: &dyn Catalog, scenario: &Scenario, src: &str, seed: u64, check: Option<&str>) -> Result<Shrunk, ShrinkError> {
    use ShrinkError::{Input, Internal};
    // Editors may open a file with a byte order mark; the scenario's text starts after it.
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut search = Search { scenario, seed, check: String::new(), runs: 0, max_events: u64::MAX };
    let original = search.run_or_stop(scenario, true).map_err(|stop| match stop.bad_step {
        // The file's schedule does not fit its run: the caller places the error at the step.
        Some(_) => ShrinkError::BadSchedule(stop),
        None => ShrinkError::Panicked(stop),
    })?;
    // Recording the decisions may be what ran out of memory; then the run shrunk would not be
    // the run asked about.
    if original.end.reason == crate::check::EndReason::MaxMemory
        && search.run(scenario, false).is_none_or(|plain| plain.trace_hash != original.trace_hash)
    {
        let recorded = original.decisions.as_ref().map_or(0, Vec::len);
        return Err(Input(format!(
            "seed {seed}: shrinking keeps every network decision of the run, and its {recorded} decisions so far need more \
             than max_memory_mb ({} MiB); shrink a shorter run (a smaller horizon_ms or workload) or raise max_memory_mb",
            scenario.limits.max_memory_mb
        )));
    }
    search.check = match check {
        Some(name) if fails(&original, name) => name.to_string(),
        Some(name) if !original.verdicts.iter().any(|(n, _)| *n == name) => {
            let names: Vec<&str> = original.verdicts.iter().map(|(n, _)| *n).collect();
            let known = if names.is_empty() { "it has none".to_string() } else { format!("its checks are {}", names.join(", ")) };
            return Err(Input(format!("--check {}: the scenario has no such check; {known}", crate::report::printable(name))));
        }
        Some(name) => return Err(Input(format!("seed {seed} does not fail {name}: nothing to shrink"))),
        None => match original.verdicts.iter().find(|(_, v)| v.outcome == Outcome::Fail) {
            Some((name, _)) => name.to_string(),
            None => return Err(Input(format!("seed {seed} fails no check: nothing to shrink"))),
        },
    };
    // A smaller run never takes more events than the original.
    search.max_events = original.steps;
    let mut best = Candidate {
        faults: crate::swarm::effective_faults(scenario, seed),
        workload: scenario.workload.clone(),
        horizon: scenario.horizon,
        decisions: replayable(original.decisions.clone().expect("recorded")),
    };
    let before = size(&best, &original);
    // The replayed run must be the original run, event for event.
    let replayed = search.run(&search.build(&best), false).ok_or_else(|| Internal("the replayed run panicked".to_string()))?;
    if replayed.trace_hash != original.trace_hash {
        return Err(Internal("replaying the recorded decisions did not reproduce the run".to_string()));
    }

    // Shortest horizon that still fails: removes everything after the failure.
    let (mut lo, mut hi) = (0u64, best.horizon.0);
    while lo + NANOS_PER_MS < hi {
        let mid = lo + (hi - lo) / 2;
        let c = Candidate { horizon: SimTime(mid), ..best.clone() };
        if search.fails(&c) { hi = mid } else { lo = mid }
    }
    best.horizon = SimTime(hi);

    best.faults = ddmin(best.faults.clone(), |kept| search.fails(&Candidate { faults: kept.to_vec(), ..best.clone() }));
    best.decisions = shrink_decisions(&mut search, &best);
    best.workload = ddmin(best.workload.clone(), |kept| search.fails(&Candidate { workload: kept.to_vec(), ..best.clone() }));
    for g in 0..best.workload.len() {
        let (mut lo, mut hi) = (0u64, best.workload[g].count);
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            let mut c = best.clone();
            c.workload[g].count = mid;
            if search.fails(&c) { hi = mid } else { lo = mid }
        }
        best.workload[g].count = hi;
    }
    // Fewer messages renumber the transmissions: try removing decisions once more.
    best.decisions = shrink_decisions(&mut search, &best);

    // Record the final run's own decisions, so the file replays it exactly.
    let final_scenario = search.build(&best);
    let final_run = search.run(&final_scenario, true).ok_or_else(|| Internal("the shrunk run panicked".to_string()))?;
    best.decisions = replayable(final_run.decisions.clone().expect("recorded"));
    let mut source = set_top_level_field(&write(src, &best, &scenario.cluster), "seed", &seed.to_string());
    // A shrunk run reproduces a failure: it is not one the scenario declares it demonstrates,
    // so `run` reports it as a failure and exits 1.
    if !scenario.expect_failures.is_empty() {
        source = set_top_level_field(&source, "expect_failures", "[]");
        // `EverySeed` of no failure is refused: the declaration goes with its list.
        if scenario.expect_failures_on == crate::scenario::FailuresExpectedOn::EverySeed {
            source = set_top_level_field(&source, "expect_failures_on", "SomeSeed");
        }
    }
    // `msgsim run` must accept what is written: the same size cap as any scenario.
    if source.len() > crate::scenario::limits::MAX_FILE_BYTES {
        return Err(Input(format!(
            "the shrunk scenario would be {} bytes (its replay list holds {} network decisions), more than the {} a scenario may be; \
             shrink a shorter run (a lower horizon_ms or fewer messages)",
            source.len(),
            best.decisions.len(),
            crate::scenario::limits::MAX_FILE_BYTES
        )));
    }
    let reparsed =
        Scenario::parse_with(&source, "shrunk", catalog).map_err(|e| Internal(format!("the shrunk scenario does not parse:\n{e}")))?;
    if reparsed.seed != seed {
        return Err(Internal("the shrunk scenario lost its seed".to_string()));
    }
    let check_run = search.run(&reparsed, false).ok_or_else(|| Internal("the shrunk scenario panicked".to_string()))?;
    if check_run.trace_hash != final_run.trace_hash || !fails(&check_run, &search.check) {
        return Err(Internal("the shrunk scenario does not reproduce its run".to_string()));
    }
    Ok(Shrunk { check: search.check.clone(), before, after: size(&best, &final_run), source, runs: search.runs })
}

/// Remove losses, duplicates and corruptions the failure does not need.
fn shrink_decisions(search: &mut Search<'_>, best: &Candidate) -> Vec<Decision> {
    #[derive(Clone, Copy)]
    enum Flag {
        Lost,
        Duplicated,
        Corrupted,
    }
    let flags: Vec<(usize, Flag)> = best
        .decisions
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            let mut f = Vec::new();
            if d.lost {
                f.push((i, Flag::Lost));
            }
            if d.duplicate.is_some() {
                f.push((i, Flag::Duplicated));
            }
            if d.corrupted || d.duplicate.is_some_and(|(_, c)| c) {
                f.push((i, Flag::Corrupted));
            }
            f
        })
        .collect();
    let apply = |kept: &[(usize, Flag)]| -> Vec<Decision> {
        let mut out = best.decisions.clone();
        let mut keep = vec![[false; 3]; out.len()];
        for &(i, flag) in kept {
            keep[i][flag as usize] = true;
        }
        for (d, k) in out.iter_mut().zip(&keep) {
            if d.duplicate.is_some() && !k[Flag::Duplicated as usize] {
                d.duplicate = None;
            }
            if !k[Flag::Corrupted as usize] {
                d.corrupted = false;
                if let Some(dup) = &mut d.duplicate {
                    dup.1 = false;
                }
            }
        }
        // An unlost transmission is left out: the replay delivers it after the smallest latency.
        out.into_iter().zip(&keep).filter(|(d, k)| !d.lost || k[Flag::Lost as usize]).map(|(d, _)| d).collect()
    };
    let kept = ddmin(flags, |kept| search.fails(&Candidate { decisions: apply(kept), ..best.clone() }));
    apply(&kept)
}

/// Delta debugging (Zeller's ddmin, complements only): a subset of `items` that
/// still `fails`, from which no chunk at the final granularity can be removed.
fn ddmin<T: Clone>(mut items: Vec<T>, mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    if items.is_empty() || fails(&[]) {
        return Vec::new();
    }
    let mut n = 2;
    while items.len() >= 2 {
        let chunk = items.len().div_ceil(n);
        let mut reduced = false;
        for start in (0..items.len()).step_by(chunk) {
            let complement: Vec<T> = items[..start].iter().chain(&items[(start + chunk).min(items.len())..]).cloned().collect();
            if fails(&complement) {
                items = complement;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= items.len() {
                break;
            }
            n = (2 * n).min(items.len());
        }
    }
    items
}

fn size(c: &Candidate, run: &RunResult) -> RunSize {
    let d = run.decisions.as_deref().unwrap_or(&c.decisions);
    RunSize {
        faults: c.faults.len(),
        workload_messages: c.workload.iter().map(|g| g.count).sum(),
        lost: d.iter().filter(|d| d.lost).count(),
        duplicated: d.iter().filter(|d| d.duplicate.is_some()).count(),
        corrupted: d.iter().map(|d| usize::from(d.corrupted) + usize::from(d.duplicate.is_some_and(|(_, c)| c))).sum(),
        horizon_ns: c.horizon.0,
        events: run.steps,
    }
}

/// Milliseconds as the scenario format reads them, exact to the nanosecond.
fn ms(ns: u64) -> String {
    match ns % NANOS_PER_MS {
        0 => format!("{}", ns / NANOS_PER_MS),
        frac => format!("{}.{:06}", ns / NANOS_PER_MS, frac).trim_end_matches('0').to_string(),
    }
}

/// The original file with the shrunk fields written in.
fn write(src: &str, c: &Candidate, cluster: &Cluster) -> String {
    let name = |n: crate::id::NodeId| format!("{:?}", cluster.name(n));
    let names = |ns: &[crate::id::NodeId]| format!("[{}]", ns.iter().map(|&n| name(n)).collect::<Vec<_>>().join(", "));
    let group = |g: crate::id::GroupId| format!("{:?}", cluster.groups[g.0 as usize].0);
    let mut faults = String::from("[");
    for f in &c.faults {
        let action = match &f.fault {
            Fault::Crash(n) => format!("Crash({})", name(*n)),
            Fault::Restart(n) => format!("Restart({})", name(*n)),
            Fault::Pause(n) => format!("Pause({})", name(*n)),
            Fault::Resume(n) => format!("Resume({})", name(*n)),
            Fault::Partition(sides) => format!("Partition([{}])", sides.iter().map(|s| names(s)).collect::<Vec<_>>().join(", ")),
            Fault::OneWay { from, to } => format!("OneWay(from: {}, to: {})", names(from), names(to)),
            Fault::Heal => "Heal".to_string(),
        };
        let _ = write!(faults, "\n        (at_ms: {}, do: {action}),", ms(f.at.0));
    }
    faults.push_str(if c.faults.is_empty() { "]" } else { "\n    ]" });
    let mut workload = String::from("[");
    for g in &c.workload {
        let (send, to) = match g.target {
            Target::Node(n) => ("Unicast", Some(name(n))),
            Target::AnyOf(gr) => ("Unicast", Some(group(gr))),
            Target::AnyOther => ("Unicast", Some("\"*\"".to_string())),
            Target::Multicast(gr) => ("Multicast", Some(group(gr))),
            Target::Broadcast => ("Broadcast", None),
        };
        let to = to.map_or(String::new(), |t| format!(", to: {t}"));
        let _ = write!(
            workload,
            "\n        (from: {}{to}, send: {send}, start_ms: {}, {}, count: {}, {}),",
            name(g.from),
            ms(g.start.0),
            g.arrivals_ron(),
            g.count,
            g.size_ron()
        );
    }
    workload.push_str(if c.workload.is_empty() { "]" } else { "\n    ]" });
    let mut out = set_top_level_field(src, "horizon_ms", &ms(c.horizon.0));
    out = set_top_level_field(&out, "swarm", "None");
    out = set_top_level_field(&out, "faults", &faults);
    out = set_top_level_field(&out, "workload", &workload);
    set_top_level_field(&out, "replay", &Decision::list_ron(&c.decisions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_a_minimal_failing_subset() {
        // Fails whenever both 3 and 7 are kept.
        let kept = ddmin((0..20).collect(), |k| k.contains(&3) && k.contains(&7));
        assert_eq!(kept, [3, 7]);
        assert_eq!(ddmin((0..5).collect(), |_| true), Vec::<i32>::new());
    }

    #[test]
    fn milliseconds_are_written_exactly() {
        assert_eq!(ms(2_000_000), "2");
        assert_eq!(ms(1_500_001), "1.500001");
    }
}

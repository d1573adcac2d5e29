//! `msgsim explore`: run every network behaviour of a small scenario within bounds, judge each
//! with the scenario's checks, and write the violation with the fewest faults as a scenario.

use super::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_READER_GONE, Output, emit, load_source, reader_gone, say};
use crate::explore::{Bounds, Model, Step, explore_model};
use crate::net::Decision;
use crate::report::{program, shell_word};
use crate::scenario::locate::set_top_level_field;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// What the asynchronous model can say of liveness, printed with every search. Its states never
/// repeat (message and timer ids only grow, and each step uses up something), so the state graph
/// has no cycle to report: progress postponed for ever is a path that reaches the depth bound.
const LIVENESS: &str = "bounded by --max-depth: judged on paths that end quiescent; a path cut at the depth bound \
     is judged as a run stopped there (nothing counted missing), and no cycle can be reported (states never repeat)";

/// What `msgsim explore` was asked. (The text summary leaves out the time taken, so that it is
/// the same from run to run; `--json` has it.)
pub struct Args<'a> {
    pub path: &'a Path,
    pub seed: Option<u64>,
    pub model: Model,
    pub bounds: Bounds,
    pub json: bool,
    pub output: Option<&'a Path>,
}

pub fn explore_cmd(args: Args<'_>) -> ExitCode {
    // Read once: the text is both validated and, for a counterexample, patched.
    let (scenario, src) = match load_source(args.path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Check the output can be written before the search; nothing is written unless a
    // counterexample is found, and then whole.
    let output = match args.output.map(|o| Output::prepare(o, args.path)).transpose() {
        Ok(o) => o,
        Err(e) => {
            say!("{}: cannot write the counterexample: {e}", args.output.expect("set when preparing failed").display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    // Wall-clock time is reported, never used: the search itself is deterministic.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    let found = match explore_model(&scenario, seed, args.bounds, args.model) {
        Ok(found) => found,
        Err(why) => {
            say!("{}: cannot explore {why}", args.path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let elapsed_s = started.elapsed().as_secs_f64();
    let per_s = found.states as f64 / elapsed_s.max(1e-9);
    let asynchronous = args.model == Model::Async;
    let model = if asynchronous { "async" } else { "timed" };
    let path = args.path.display().to_string();
    let counterexample = found.violation.as_ref().map(|v| {
        let mut text = set_top_level_field(&src, "seed", &seed.to_string());
        // The counterexample shows a failure, not one the scenario declares it demonstrates.
        if !scenario.expect_failures.is_empty() {
            text = set_top_level_field(&text, "expect_failures", "[]");
            // `EverySeed` of no failure is refused: the declaration goes with its list.
            if scenario.expect_failures_on == crate::scenario::FailuresExpectedOn::EverySeed {
                text = set_top_level_field(&text, "expect_failures_on", "SomeSeed");
            }
        }
        // A `replay` or `schedule` the file held is not the search's: left in, a replay
        // beside the schedule is not followed, and a schedule would run instead of the replay.
        if asynchronous {
            if scenario.replay.is_some() {
                text = set_top_level_field(&text, "replay", "None");
            }
            set_top_level_field(&text, "schedule", &Step::list_ron(&v.schedule, &scenario))
        } else {
            if scenario.schedule.is_some() {
                text = set_top_level_field(&text, "schedule", "None");
            }
            set_top_level_field(&text, "replay", &Decision::list_ron(&v.decisions))
        }
    });
    if let (Some(out), Some(text)) = (output, &counterexample) {
        let shown = out.shown().to_string();
        match out.write_with(|w| w.write_all(text.as_bytes())) {
            Ok(()) => {}
            Err(e) if reader_gone(&e) => return ExitCode::from(EXIT_READER_GONE),
            Err(e) => {
                say!("{shown}: cannot write the counterexample: {e}");
                return ExitCode::from(EXIT_INTERNAL);
            }
        }
    }
    let shown = |out: &Path| format!("{} trace {} --format svg -o counterexample.svg", program(), shell_word(&out.display().to_string()));
    let reproduce = match (args.output, &found.violation) {
        (Some(out), Some(_)) => Some(format!("{} run {}", program(), shell_word(&out.display().to_string()))),
        (None, Some(_)) => Some(format!(
            "{} explore {}{} --seed {seed} -o counterexample.ron",
            program(),
            shell_word(&path),
            if asynchronous { " --model async" } else { "" }
        )),
        _ => None,
    };
    // What ended an incomplete search: the run budget, the memory budget or the event budget
    // (as `run` ends at `max_memory_mb` or `max_events`, with its verdicts so far and no error).
    let stopped_by = (!found.complete).then_some(if found.memory_reached {
        "max_memory_mb"
    } else if found.events_reached {
        "max_events"
    } else {
        "max_runs"
    });
    let incomplete = if found.memory_reached {
        format!(
            "INCOMPLETE: stopped by max_memory_mb: what the search keeps (its queue, the states found, the copies it \
             steps from) reached the scenario's {} MiB",
            scenario.limits.max_memory_mb
        )
    } else if found.events_reached {
        format!(
            "INCOMPLETE: stopped by max_events: the search took {} events, the scenario's limit for a run (set \
             limits.max_events to search further)",
            found.events
        )
    } else {
        "INCOMPLETE: stopped by --max-runs".to_string()
    };
    if args.json {
        let json = serde_json::json!({
            "scenario": path,
            "seed": seed,
            "model": model,
            "states": found.states,
            "behaviours": found.behaviours,
            "transitions": found.transitions,
            "max_depth": found.max_depth,
            "complete": found.complete,
            "depth_bound_reached": found.depth_bound_reached,
            "budget_reached": found.budget_reached,
            "memory_reached": found.memory_reached,
            "events": found.events,
            "events_reached": found.events_reached,
            "stopped_by": stopped_by,
            "elapsed_s": elapsed_s,
            "states_per_s": per_s,
            "copied": found.copied,
            "stored_bytes": found.stored_bytes,
            "bytes_per_state": found.stored_bytes as f64 / found.states.max(1) as f64,
            "kept_worlds": found.kept_worlds,
            "liveness": asynchronous.then_some(LIVENESS),
            "checks": found.checks,
            "violation": found.violation.as_ref().map(|v| serde_json::json!({
                "check": v.check,
                "detail": v.detail,
                "faults": v.faults,
                "path_length": v.path_length,
                "reproduce": reproduce,
            })),
        });
        emit(format!("{}\n", crate::report::inert_json(json.to_string())).as_bytes());
    } else {
        let b = args.bounds;
        let mut out = String::new();
        if asynchronous {
            let _ = writeln!(out, "explore    {path}   seed {seed}   model async (any enabled event next)");
            let _ = writeln!(out, "bounds     depth {} steps, faults {}, at most {} transitions", b.max_depth, b.max_faults, b.max_runs);
            let done = if found.complete { "complete: every state within the bounds was explored".to_string() } else { incomplete };
            let _ = writeln!(
                out,
                "explored   {} distinct states, {} transitions, {} paths judged, depth {}; {done}",
                found.states, found.transitions, found.behaviours, found.max_depth
            );
            if found.depth_bound_reached {
                let _ = writeln!(out, "depth      some paths were cut at {} steps and judged as runs stopped there", b.max_depth);
            }
            if found.budget_reached {
                let _ =
                    writeln!(out, "limits     some paths ran out of the scenario's in-flight budget and were judged as runs stopped there");
            }
            let _ = writeln!(out, "liveness   {LIVENESS}");
        } else {
            let _ = writeln!(out, "explore    {path}   seed {seed}   model timed (each transmission's outcome varied)");
            let _ = writeln!(
                out,
                "bounds     depth {}, faults {}, latencies {} per link, at most {} runs",
                b.max_depth, b.max_faults, b.latencies, b.max_runs
            );
            let done = if found.complete { "complete: every behaviour within the bounds was run".to_string() } else { incomplete };
            let _ = writeln!(
                out,
                "explored   {} behaviours, {} transitions, depth {}; {done}",
                found.behaviours, found.transitions, found.max_depth
            );
            if found.depth_bound_reached {
                let _ = writeln!(
                    out,
                    "depth      some behaviours send more than {} transmissions; the later ones were not varied",
                    b.max_depth
                );
            }
        }
        for c in &found.checks {
            let _ = writeln!(out, "check      {:<22} passed {}, failed {}, inconclusive {}", c.check, c.passed, c.failed, c.inconclusive);
        }
        match (&found.violation, args.output) {
            (None, _) => {
                let _ = writeln!(out, "violation  none");
            }
            (Some(v), out_path) => {
                let _ = writeln!(
                    out,
                    "violation  {}: {} ({} fault{}, {} {}{})",
                    v.check,
                    v.detail,
                    v.faults,
                    if v.faults == 1 { "" } else { "s" },
                    v.path_length,
                    if asynchronous { "step" } else { "transmission" },
                    match (v.path_length == 1, asynchronous) {
                        (true, true) => "",
                        (false, true) => "s",
                        (true, false) => " fixed",
                        (false, false) => "s fixed",
                    }
                );
                match out_path {
                    Some(o) => {
                        let _ = writeln!(out, "written    {}", o.display());
                        let _ = writeln!(out, "show it    {}", shown(o));
                    }
                    None => {
                        let list = if asynchronous {
                            format!("schedule   {}", Step::list_ron(&v.schedule, &scenario))
                        } else {
                            format!("replay     {}", Decision::list_ron(&v.decisions))
                        };
                        let _ = writeln!(out, "{}", list.replace('\n', "\n           "));
                    }
                }
                let _ = writeln!(out, "reproduce  {}", reproduce.as_deref().unwrap_or_default());
            }
        }
        emit(crate::report::inert_lines(&out).as_bytes());
    }
    if found.violation.is_some() { ExitCode::from(EXIT_CHECK_FAILED) } else { ExitCode::SUCCESS }
}

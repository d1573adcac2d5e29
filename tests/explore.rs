//! `msgsim explore` end to end: the reduced scenarios under `scenarios/explore/`, explored
//! exhaustively; the correct protocols pass every behaviour, the broken ones are caught, and
//! the counterexample is a scenario that `run`, `trace` and `shrink` accept and that fails.

use msgsim::Scenario;
use msgsim::explore::{Bounds, explore};
use std::path::Path;
use std::process::Command;

fn msgsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_msgsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs")
}

fn load(name: &str) -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/explore").join(name)).expect("valid")
}

#[test]
fn correct_protocols_pass_every_behaviour_within_the_bounds() {
    let bounds = Bounds { max_faults: 4, ..Bounds::default() };
    for name in ["at-least-once.ron", "fifo.ron"] {
        let found = explore(&load(name), 1, bounds);
        assert!(found.complete, "{name}: the bounded space is exhausted");
        assert!(found.violation.is_none(), "{name}: {:?}", found.violation);
        assert!(found.behaviours > 100, "{name}: {} behaviours", found.behaviours);
        assert!(found.checks.iter().all(|c| c.failed == 0 && c.passed > 0), "{name}");
    }
}

#[test]
fn planted_bugs_are_found_with_the_fewest_faults() {
    let bounds = Bounds { max_faults: 4, ..Bounds::default() };
    // Four losses in a row are the only way to exhaust four attempts: sampling at 30% loss meets
    // that on under 1% of seeds, exploring finds it every time.
    let lost = explore(&load("broken-at-least-once.ron"), 1, bounds).violation.expect("found");
    assert_eq!((lost.check.as_str(), lost.faults), ("NoSilentLoss", 4));
    // Reordering needs no fault at all, only the latencies the link allows.
    let reordered = explore(&load("broken-fifo.ron"), 1, bounds).violation.expect("found");
    assert_eq!((reordered.check.as_str(), reordered.faults), ("FifoOrder", 0));
    // With fewer faults allowed than the bug needs, it is not found, and the summary says so by
    // having no violation within those bounds.
    let too_few = Bounds { max_faults: 3, ..bounds };
    assert!(explore(&load("broken-at-least-once.ron"), 1, too_few).violation.is_none());
}

#[test]
fn exploring_is_deterministic() {
    let bounds = Bounds { max_faults: 4, ..Bounds::default() };
    let (a, b) = (explore(&load("broken-fifo.ron"), 1, bounds), explore(&load("broken-fifo.ron"), 1, bounds));
    assert_eq!((a.behaviours, a.transitions, a.max_depth), (b.behaviours, b.transitions, b.max_depth));
    let (va, vb) = (a.violation.expect("found"), b.violation.expect("found"));
    assert_eq!((va.decisions, va.detail), (vb.decisions, vb.detail));
}

#[test]
fn the_counterexample_is_a_scenario_run_trace_and_shrink_accept() {
    let dir = std::env::temp_dir().join(format!("msgsim-explore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cex = dir.join("cex.ron");
    let cex = cex.to_str().expect("utf-8");
    let out = msgsim(&["explore", "scenarios/explore/broken-at-least-once.ron", "--max-faults", "4", "-o", cex]);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("violation  NoSilentLoss") && text.contains(&format!("reproduce  msgsim run {cex}")), "{text}");
    let run = msgsim(&["run", cex]);
    assert_eq!(run.status.code(), Some(1), "the counterexample fails when run: {}", String::from_utf8_lossy(&run.stdout));
    assert!(String::from_utf8_lossy(&run.stdout).contains("FAIL            NoSilentLoss"));
    let svg = msgsim(&["trace", cex, "--format", "svg"]);
    assert_eq!(svg.status.code(), Some(0));
    let shrunk = msgsim(&["shrink", cex, "--seed", "1"]);
    assert_eq!(shrunk.status.code(), Some(0), "{}", String::from_utf8_lossy(&shrunk.stderr));
    let ok = msgsim(&["explore", "scenarios/explore/fifo.ron", "--json"]);
    assert_eq!(ok.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("JSON");
    assert_eq!((json["complete"].as_bool(), json["violation"].is_null()), (Some(true), true));
    for key in ["states", "transitions", "max_depth", "elapsed_s", "states_per_s"] {
        assert!(json.get(key).is_some(), "--json has `{key}`");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn scenarios_explore_cannot_vary_are_refused() {
    let swarm = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/network/swarm.ron");
    let out = msgsim(&["explore", swarm.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot explore"), "{}", String::from_utf8_lossy(&out.stderr));
}

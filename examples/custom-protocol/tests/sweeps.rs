//! The example protocol and check, swept and shrunk through the library's testing API, and
//! driven through the example's own binary as a user would.

use msgsim::prelude::*;
use msgsim::shrink::shrink_with;
use std::path::Path;
use std::process::Command as Process;

// ANCHOR: sweeps
fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name);
    custom_protocol::registry().load(&path).expect("a valid scenario")
}

#[test]
fn the_alternating_bit_protocol_delivers_once_and_in_order_on_every_seed() {
    let lossy = scenario("lossy.ron");
    let report = Sweep::new(&lossy).seeds(0..200).run();
    report.assert_all_pass();
}

#[test]
fn the_check_catches_a_receiver_that_ignores_the_bit() {
    let broken = scenario("broken-ignore-bit.ron");
    let report = Sweep::new(&broken).seeds(0..50).run();
    report.assert_fails("InOrderOnce");
}
// ANCHOR_END: sweeps

#[test]
fn a_failing_seed_shrinks_to_a_scenario_the_registry_reads_back() {
    let broken = scenario("broken-ignore-bit.ron");
    let seed = (0..50).find(|&s| msgsim::run(&broken, s, &RunOptions::default()).expect("no panic").verdicts[0].1.outcome == Outcome::Fail);
    let seed = seed.expect("a failing seed among the first 50");
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/broken-ignore-bit.ron")).unwrap();
    let shrunk = shrink_with(&custom_protocol::registry(), &broken, &src, seed, Some("InOrderOnce")).expect("it shrinks");
    let again = custom_protocol::registry().parse(&shrunk.source, "shrunk.ron").expect("the shrunk file reads back");
    let result = msgsim::run(&again, again.seed, &RunOptions::default()).expect("no panic");
    assert_eq!(result.verdicts[0].1.outcome, Outcome::Fail, "the shrunk run fails the same check");
}

#[test]
fn seeded_tests_replay_from_the_environment() {
    // Without MSGSIM_SEED(S) the default range runs, seed by seed.
    let ran = std::cell::RefCell::new(Vec::new());
    msgsim::testing::seeds(3..6, |seed| ran.borrow_mut().push(seed));
    if std::env::var_os("MSGSIM_SEED").is_none() && std::env::var_os("MSGSIM_SEEDS").is_none() {
        assert_eq!(ran.into_inner(), vec![3, 4, 5]);
    }
}

/// Runs the example's binary with `args`, from the repository root as the README does.
fn cli(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Process::new(env!("CARGO_BIN_EXE_custom-protocol")).args(args).current_dir(root).output().expect("the binary runs")
}

#[test]
fn the_examples_binary_runs_sweeps_traces_and_shrinks_its_own_scenarios() {
    let lossy = "examples/custom-protocol/scenarios/lossy.ron";
    let broken = "examples/custom-protocol/scenarios/broken-ignore-bit.ron";
    let run = cli(&["run", lossy]);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("AlternatingBit") && out.contains("InOrderOnce"), "{out}");
    assert!(
        out.contains("custom-protocol run examples/custom-protocol/scenarios/lossy.ron --seed"),
        "the reproduce line names this binary: {out}"
    );

    let sweep = cli(&["sweep", broken, "--seeds", "0..40", "--jobs", "1"]);
    assert_eq!(sweep.status.code(), Some(1), "a seed fails the check");
    let trace = cli(&["trace", lossy, "--format", "svg", "--to", "100"]);
    assert_eq!(trace.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&trace.stdout).starts_with("<svg") || String::from_utf8_lossy(&trace.stdout).contains("<svg"));

    let dir = std::env::temp_dir().join(format!("custom-protocol-shrink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("small.ron");
    let seed = (0..40).find(|s| cli(&["run", broken, "--seed", &s.to_string()]).status.code() == Some(1)).expect("a failing seed");
    let shrink = cli(&["shrink", broken, "--seed", &seed.to_string(), "-o", out.to_str().unwrap()]);
    assert_eq!(shrink.status.code(), Some(0), "{}", String::from_utf8_lossy(&shrink.stderr));
    let again = cli(&["run", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "the shrunk scenario still fails: {}", String::from_utf8_lossy(&again.stdout));
    let bad = cli(&["check", "examples/custom-protocol/scenarios/nope.ron"]);
    assert_eq!(bad.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

//! `msgsim shrink`: the shrunk scenario is smaller, fails the same check, and replays
//! the network's decisions instead of drawing them.

use msgsim::check::Outcome;
use msgsim::shrink::shrink;
use msgsim::{RunOptions, Scenario};
use std::path::Path;
use std::process::Command;

fn load(file: &str) -> (Scenario, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let src = std::fs::read_to_string(&path).unwrap();
    (Scenario::parse(&src, file).unwrap_or_else(|e| panic!("{e}")), src)
}

fn outcome(scenario: &Scenario, seed: u64, check: &str) -> Outcome {
    let r = msgsim::run(scenario, seed, &RunOptions::default()).expect("no panic");
    r.verdicts.iter().find(|(n, _)| *n == check).expect("check present").1.outcome
}

#[test]
fn a_lossy_run_shrinks_to_one_loss_and_still_fails() {
    let (scenario, src) = load("scenarios/network/best-effort-loses.ron");
    let shrunk = shrink(&scenario, &src, 1, None).expect("seed 1 fails NoLoss");
    assert_eq!(shrunk.check, "NoLoss");
    assert_eq!((shrunk.before.workload_messages, shrunk.before.lost), (100, 7));
    assert_eq!(shrunk.after.lost, 1, "one loss is enough to fail NoLoss");
    assert!(shrunk.after.workload_messages <= 2 && shrunk.after.horizon_ns < shrunk.before.horizon_ns);
    let reparsed = Scenario::parse(&shrunk.source, "shrunk").unwrap_or_else(|e| panic!("{e}\n{}", shrunk.source));
    assert_eq!(outcome(&reparsed, 1, "NoLoss"), Outcome::Fail);
    // The original file's comments survive the rewrite.
    assert!(shrunk.source.starts_with("// Best-effort unicast over a link that loses 10%"));
}

#[test]
fn swarm_faults_become_a_script_and_the_run_is_reproduced() {
    // Swarm draws loss and crashes; NoLoss fails on losses between the survivors.
    let src = r#"Scenario(name: "swarm loss", seed: 4, horizon_ms: 500, nodes: 4, protocol: BestEffort(),
        network: (latency: Uniform(min_ms: 1, max_ms: 9)),
        swarm: (loss: (0.05, 0.2), crashes: (1, 2), partitions: (0, 1), downtime_ms: (20, 60)),
        workload: [(from: "*", send: Broadcast, every_ms: 5, count: 60)],
        checks: [NoLoss])"#;
    let scenario = Scenario::parse(src, "swarm").unwrap();
    let seed = (0..20).find(|&s| outcome(&scenario, s, "NoLoss") == Outcome::Fail).expect("some seed loses a message");
    let shrunk = shrink(&scenario, src, seed, Some("NoLoss")).expect("shrinks");
    assert!(shrunk.source.contains("swarm: None"), "{}", shrunk.source);
    assert!(shrunk.after.events < shrunk.before.events);
    let reparsed = Scenario::parse(&shrunk.source, "shrunk").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome(&reparsed, seed, "NoLoss"), Outcome::Fail);
}

/// With `replay`, the network decides nothing at random: the seed no longer matters to it.
#[test]
fn a_replayed_network_does_not_depend_on_the_seed() {
    let (scenario, src) = load("scenarios/network/broken-no-dedup.ron");
    let shrunk = shrink(&scenario, &src, 3, None).expect("seed 3 fails NoDuplicates");
    let reparsed = Scenario::parse(&shrunk.source, "shrunk").unwrap();
    // Best-effort draws nothing from node streams and the workload is fixed, so the
    // whole trace is the same whatever the seed.
    let hashes: std::collections::BTreeSet<u64> =
        (0..5).map(|seed| msgsim::run(&reparsed, seed, &RunOptions::default()).unwrap().trace_hash).collect();
    assert_eq!(hashes.len(), 1);
    assert_eq!(outcome(&reparsed, 99, "NoDuplicates"), Outcome::Fail);
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    let (scenario, src) = load("scenarios/network/perfect-link.ron");
    let err = shrink(&scenario, &src, 1, None).expect_err("perfect-link passes");
    assert!(err.to_string().contains("fails no check"), "{err}");
}

#[test]
fn the_cli_writes_a_scenario_that_reproduces_the_failure() {
    let out = std::env::temp_dir().join(format!("msgsim-shrunk-{}.ron", std::process::id()));
    let bin = env!("CARGO_BIN_EXE_msgsim");
    let root = env!("CARGO_MANIFEST_DIR");
    let shrink = Command::new(bin)
        .args(["shrink", "scenarios/network/broken-no-checksum.ron", "--seed", "3", "-o"])
        .arg(&out)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(shrink.status.success(), "{}", String::from_utf8_lossy(&shrink.stderr));
    let report = String::from_utf8_lossy(&shrink.stderr);
    assert!(report.contains("keeping NoCorruptionDelivered failing") && report.contains("corruptions"), "{report}");
    let run = Command::new(bin).args(["run"]).arg(&out).current_dir(root).output().unwrap();
    // The shrunk file reproduces a failure: it drops the original's `expect_failures`, so the
    // failure is reported as one and `run` exits 1.
    assert_eq!(run.status.code(), Some(1), "the shrunk scenario fails its check: {}", String::from_utf8_lossy(&run.stdout));
    assert!(String::from_utf8_lossy(&run.stdout).contains("FAIL            NoCorruptionDelivered"), "the shrunk scenario fails its check");
    let _ = std::fs::remove_file(&out);
    // A passing seed is bad input for shrink.
    let pass = Command::new(bin).args(["shrink", "scenarios/network/perfect-link.ron", "--seed", "1"]).current_dir(root).output().unwrap();
    assert_eq!(pass.status.code(), Some(2));
}

/// A served link's service times are outcomes like latencies: recorded, replayed, and kept by
/// shrink's re-expression, so the replayed run is the run (the same trace hash) whatever the seed.
#[test]
fn a_served_links_service_times_replay_to_the_same_run() {
    let (scenario, _) = load("scenarios/network/link-mm1k.ron");
    let scenario = Scenario { horizon: msgsim::time::SimTime(500_000_000), ..scenario };
    let recorded = msgsim::run(&scenario, 2, &RunOptions { decisions: true, ..RunOptions::default() }).expect("no panic");
    let decisions = recorded.decisions.expect("recorded");
    assert!(decisions.iter().all(|d| d.service_ns.is_some()), "every admitted message was served");
    assert!(recorded.messages.drops.queue_full > 0, "the queue overflowed in half a second");
    let replayed = Scenario { replay: Some(decisions), ..scenario.clone() };
    // The workload's arrival times are drawn from the workload stream, so the seed stays.
    assert_eq!(msgsim::run(&replayed, 2, &RunOptions::default()).expect("no panic").trace_hash, recorded.trace_hash);
    // Without the service times, every message takes the shortest service: another run.
    let minimal: Vec<_> = replayed.replay.iter().flatten().map(|d| msgsim::net::Decision { service_ns: None, ..*d }).collect();
    let shortest = Scenario { replay: Some(minimal), ..scenario };
    assert_ne!(msgsim::run(&shortest, 2, &RunOptions::default()).expect("no panic").trace_hash, recorded.trace_hash);
}

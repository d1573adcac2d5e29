//! Checker verdicts at the edges: what counts as lost, and when a verdict must be inconclusive.

use msgsim::check::Outcome;
use msgsim::{RunOptions, Scenario, protocols};

fn verdict(src: &str, check: &str) -> (Outcome, String) {
    let scenario = Scenario::parse(src, "test").unwrap_or_else(|e| panic!("{e}"));
    let result = protocols::run(&scenario, scenario.seed, &RunOptions::default()).expect("no panic");
    let v = &result.verdicts.iter().find(|(n, _)| *n == check).expect("check present").1;
    (v.outcome, v.detail.clone())
}

/// Postmortem: NoLoss allowed only the largest link latency for messages still on their
/// way at the horizon, so messages waiting in a slow link's queue were called lost.
#[test]
fn regression_messages_queued_at_the_horizon_are_not_called_lost() {
    // 88-byte messages at 8 kbit/s take 88 ms each to serialise: at 500 ms most of the
    // 20 messages sent in the first 20 ms are still queued, long past the 1 ms latency.
    let (outcome, detail) = verdict(
        r#"Scenario(name: "t", horizon_ms: 500, nodes: 2, protocol: BestEffort(),
            network: (latency: Constant(ms: 1), bandwidth_bps: 8_000, queue_limit: 100),
            workload: [(from: "n0", to: "n1", every_ms: 1, count: 20)], checks: [NoLoss])"#,
        "NoLoss",
    );
    assert_eq!(outcome, Outcome::Inconclusive, "{detail}");
}

#[test]
fn a_message_lost_long_before_the_horizon_fails_no_loss() {
    let (outcome, detail) = verdict(
        r#"Scenario(name: "t", seed: 1, horizon_ms: 500, nodes: 2, protocol: BestEffort(),
            network: (latency: Constant(ms: 1), loss: 0.5),
            workload: [(from: "n0", to: "n1", every_ms: 1, count: 20)], checks: [NoLoss])"#,
        "NoLoss",
    );
    assert_eq!(outcome, Outcome::Fail, "{detail}");
}

#[test]
fn checks_with_nothing_to_judge_are_inconclusive_never_pass() {
    let quiet = r#"Scenario(name: "t", horizon_ms: 100, nodes: 2, protocol: BestEffort(),
        checks: [NoLoss, NoDuplicates, NoCorruptionDelivered])"#;
    for check in ["NoLoss", "NoDuplicates", "NoCorruptionDelivered"] {
        assert_eq!(verdict(quiet, check).0, Outcome::Inconclusive, "{check}");
    }
    // Deliveries happened but the network corrupted nothing: no protocol was tested.
    let clean = r#"Scenario(name: "t", horizon_ms: 100, nodes: 2, protocol: BestEffort(),
        workload: [(from: "n0", to: "n1", every_ms: 1, count: 20)], checks: [NoCorruptionDelivered])"#;
    assert_eq!(verdict(clean, "NoCorruptionDelivered").0, Outcome::Inconclusive);
}

#[test]
fn messages_to_crashed_nodes_are_not_judged() {
    let (outcome, detail) = verdict(
        r#"Scenario(name: "t", horizon_ms: 100, nodes: 3, protocol: BestEffort(),
            faults: [(at_ms: 10, do: Crash("n2"))],
            workload: [(from: "n0", send: Broadcast, every_ms: 1, count: 50)], checks: [NoLoss])"#,
        "NoLoss",
    );
    assert_eq!(outcome, Outcome::Pass, "{detail}");
    assert!(detail.contains("all 50 expected"), "only n0 -> n1 is judged: {detail}");
}

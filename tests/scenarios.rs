//! Every scenario under `scenarios/` (but the large benchmark ones) runs twice with the
//! same seed and must give the same trace; its report is snapshotted.

use msgsim::report::Report;
use msgsim::{RunOptions, Scenario};
use std::path::Path;

/// The scenarios path as `scenarios/...`, stable across machines for the snapshots.
fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[test]
fn every_scenario_is_deterministic_and_its_report_is_stable() {
    insta::glob!("../scenarios", "**/*.ron", |path| {
        if path.components().any(|c| c.as_os_str() == "bench") {
            return; // measured by the benches, too large for a debug-build test
        }
        let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let options = RunOptions { record_trace: true, ..RunOptions::default() };
        let first = msgsim::run(&scenario, scenario.seed, &options).expect("no panic");
        let second = msgsim::run(&scenario, scenario.seed, &options).expect("no panic");
        assert_eq!(first.trace_hash, second.trace_hash, "{}: same seed, different hash", path.display());
        assert_eq!(first.trace, second.trace, "{}: same seed, different trace", path.display());
        // Without recording the trace, the run is the same run.
        let unrecorded = msgsim::run(&scenario, scenario.seed, &RunOptions::default()).expect("no panic");
        assert_eq!(unrecorded.trace_hash, first.trace_hash, "{}: recording changed the run", path.display());
        let report = Report::new(&shown(path), &scenario, &first);
        insta::assert_snapshot!(report.text());
    });
}

#[test]
fn different_seeds_give_different_traces() {
    insta::glob!("../scenarios", "**/*.ron", |path| {
        if path.components().any(|c| c.as_os_str() == "bench") {
            return;
        }
        let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let hashes: std::collections::BTreeSet<u64> =
            (0..4).map(|seed| msgsim::run(&scenario, seed, &RunOptions::default()).expect("no panic").trace_hash).collect();
        // Every scenario here has some randomness (latency, loss or workload choices).
        assert_eq!(hashes.len(), 4, "{}: seeds 0..4 gave only {} distinct traces", path.display(), hashes.len());
    });
}

/// Each deliberately broken scenario must fail the check it plants a violation for,
/// and each control must pass it: a checker proves itself both ways.
#[test]
fn checkers_catch_planted_violations_and_pass_correct_runs() {
    use msgsim::check::Outcome::{Fail, Pass};
    let cases = [
        ("scenarios/network/broken-no-checksum.ron", "NoCorruptionDelivered", Fail),
        ("scenarios/network/broken-no-dedup.ron", "NoDuplicates", Fail),
        ("scenarios/network/best-effort-loses.ron", "NoLoss", Fail),
        ("scenarios/network/perfect-link.ron", "NoLoss", Pass),
        ("scenarios/quickstart.ron", "NoCorruptionDelivered", Pass),
        ("scenarios/quickstart.ron", "NoDuplicates", Pass),
        ("scenarios/delivery/broken-at-most-once.ron", "AtMostOnce", Fail),
        ("scenarios/delivery/at-most-once.ron", "AtMostOnce", Pass),
        ("scenarios/delivery/broken-at-least-once.ron", "NoSilentLoss", Fail),
        ("scenarios/delivery/at-least-once.ron", "NoSilentLoss", Pass),
        // At-most-once may lose, at-least-once may repeat: each check catches the other's gap.
        ("scenarios/delivery/at-most-once.ron", "NoSilentLoss", Fail),
        ("scenarios/delivery/at-least-once.ron", "AtMostOnce", Fail),
        ("scenarios/delivery/broken-exactly-once-window.ron", "ExactlyOnceEffect", Fail),
        ("scenarios/delivery/broken-at-least-once-as-exactly-once.ron", "ExactlyOnceEffect", Fail),
        ("scenarios/delivery/exactly-once.ron", "ExactlyOnceEffect", Pass),
        ("scenarios/delivery/exactly-once.ron", "NoSilentLoss", Pass),
        ("scenarios/ordering/broken-best-effort.ron", "Integrity", Fail),
        ("scenarios/ordering/broken-best-effort.ron", "Validity", Fail),
        ("scenarios/ordering/broken-reliable-no-relay.ron", "Agreement", Fail),
        ("scenarios/ordering/reliable.ron", "Agreement", Pass),
        ("scenarios/ordering/reliable.ron", "Validity", Pass),
        ("scenarios/ordering/reliable.ron", "Integrity", Pass),
        ("scenarios/ordering/broken-atomic-no-relay.ron", "Agreement", Fail),
        ("scenarios/ordering/atomic.ron", "Agreement", Pass),
        ("scenarios/ordering/atomic.ron", "TotalOrder", Pass),
        ("scenarios/ordering/broken-fifo.ron", "FifoOrder", Fail),
        ("scenarios/maelstrom/broken-broadcast-no-retry.ron", "BroadcastConsistency", Fail),
        ("scenarios/maelstrom/broadcast-partition.ron", "BroadcastConsistency", Pass),
        ("scenarios/ordering/fifo.ron", "FifoOrder", Pass),
        ("scenarios/ordering/broken-causal.ron", "CausalOrder", Fail),
        ("scenarios/ordering/causal.ron", "CausalOrder", Pass),
        ("scenarios/ordering/broken-sequencer.ron", "TotalOrder", Fail),
        ("scenarios/ordering/sequencer.ron", "TotalOrder", Pass),
        ("scenarios/ordering/broken-isis.ron", "TotalOrder", Fail),
        ("scenarios/ordering/isis.ron", "TotalOrder", Pass),
        ("scenarios/ordering/broken-views-no-flush.ron", "ViewAgreement", Fail),
        ("scenarios/ordering/views.ron", "ViewAgreement", Pass),
        ("scenarios/ordering/views.ron", "Agreement", Pass),
        ("scenarios/ordering/views.ron", "Validity", Pass),
        ("scenarios/ordering/views.ron", "Integrity", Pass),
        ("scenarios/ordering/views-sender-crash.ron", "ViewAgreement", Pass),
        ("scenarios/failure/broken-never-half-open.ron", "CircuitBreaker", Fail),
        ("scenarios/failure/broken-opens-below-threshold.ron", "CircuitBreaker", Fail),
        ("scenarios/failure/breaker.ron", "CircuitBreaker", Pass),
        ("scenarios/failure/breaker-time-window.ron", "CircuitBreaker", Pass),
        ("scenarios/failure/broken-detector.ron", "FailureDetection", Fail),
        ("scenarios/failure/broken-detector-hasty.ron", "FailureDetection", Fail),
        ("scenarios/failure/detector-fixed.ron", "FailureDetection", Pass),
        ("scenarios/failure/detector-phi.ron", "FailureDetection", Pass),
        ("scenarios/failure/detector-phi-jitter.ron", "FailureDetection", Pass),
        ("scenarios/security/broken-unauthenticated.ron", "NoForgeryAccepted", Fail),
        ("scenarios/security/broken-unauthenticated.ron", "NoPlaintextLeak", Fail),
        ("scenarios/security/broken-no-replay-window.ron", "NoForgeryAccepted", Fail),
        ("scenarios/security/broken-no-replay-window.ron", "NoPlaintextLeak", Pass),
        ("scenarios/security/broken-plaintext.ron", "NoPlaintextLeak", Fail),
        ("scenarios/security/broken-plaintext.ron", "NoForgeryAccepted", Pass),
        ("scenarios/security/secure.ron", "NoForgeryAccepted", Pass),
        ("scenarios/security/secure.ron", "NoPlaintextLeak", Pass),
        ("scenarios/communication/broken-sync-deadlock.ron", "NoDeadlock", Fail),
        ("scenarios/communication/broken-call-deadlock.ron", "NoDeadlock", Fail),
        ("scenarios/communication/sync-deadlock-timeout.ron", "NoDeadlock", Pass),
        ("scenarios/communication/sync-deadlock-timeout.ron", "NoLoss", Pass),
        ("scenarios/communication/broken-work-queue-visibility.ron", "NoDuplicates", Fail),
        ("scenarios/communication/broken-work-queue-visibility.ron", "ExactlyOnceTaken", Pass),
        ("scenarios/communication/work-queue.ron", "ExactlyOnceTaken", Pass),
        ("scenarios/communication/work-queue-recovery.ron", "ExactlyOnceTaken", Pass),
        ("scenarios/communication/broken-back-pressure-deadlock.ron", "NoDeadlock", Fail),
        ("scenarios/communication/mailbox-back-pressure.ron", "NoLoss", Pass),
        ("scenarios/communication/mailbox-drop-new.ron", "NoLoss", Fail),
        ("scenarios/network/fragmentation.ron", "NoLoss", Fail),
        ("scenarios/network/fragmentation-retransmit.ron", "NoSilentLoss", Pass),
        ("scenarios/security/broken-no-access-control.ron", "AccessControlEnforced", Fail),
        ("scenarios/security/broken-no-access-control.ron", "NoForgeryAccepted", Pass),
        ("scenarios/security/broken-shared-key.ron", "NoForgeryAccepted", Fail),
        ("scenarios/security/broken-shared-key.ron", "AccessControlEnforced", Fail),
        ("scenarios/security/insider.ron", "NoForgeryAccepted", Pass),
        ("scenarios/security/insider.ron", "AccessControlEnforced", Pass),
    ];
    for (file, check, expected) in cases {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let result = msgsim::run(&scenario, scenario.seed, &RunOptions::default()).expect("no panic");
        let verdict = &result.verdicts.iter().find(|(name, _)| *name == check).expect("the check is in the scenario").1;
        assert_eq!(verdict.outcome, expected, "{file}: {check}: {}", verdict.detail);
    }
}

/// Every bundled scenario, swept as `msgsim sweep` does, behaves as it declares: no check
/// fails that it does not expect to fail, and each failure it declares (`expect_failures`)
/// happens on at least one seed, so the planted bug it demonstrates is caught. Seeds are
/// few to keep the cost modest in a debug build; `bench/` is left out (no checks, and large).
#[test]
fn every_bundled_scenario_fails_exactly_what_it_declares() {
    insta::glob!("../scenarios", "**/*.ron", |path| {
        if path.components().any(|c| c.as_os_str() == "bench") {
            return;
        }
        let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        if path.components().any(|c| c.as_os_str() == "explore") {
            // Made to be explored, not sampled: what they declare is judged over every behaviour.
            // `async-*` files are made for the asynchronous model, the others for the timed one.
            let is_async = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("async-"));
            let model = if is_async { msgsim::explore::Model::Async } else { msgsim::explore::Model::Timed };
            let bounds = msgsim::explore::Bounds { max_faults: 4, ..Default::default() };
            let found = msgsim::explore::explore_model(&scenario, scenario.seed, bounds, model).expect("explorable");
            assert!(found.complete, "{}: the bounded space is explored", shown(path));
            for tally in &found.checks {
                let expected = scenario.expect_failures.iter().any(|e| e == tally.check);
                assert_eq!(tally.failed > 0, expected, "{}: {} failed in {} behaviours", shown(path), tally.check, tally.failed);
            }
            return;
        }
        let report = msgsim::sweep::Sweep::new(&scenario).file(shown(path)).seeds(0..24).run();
        assert_eq!(report.errors, 0, "{}", report.text());
        assert_eq!(report.failed, 0, "{}: a check failed that the scenario does not expect to fail\n{}", shown(path), report.text());
        let missed: Vec<&str> = report.missed_expectations().map(|e| e.check.as_str()).collect();
        assert!(missed.is_empty(), "{}: declared failures that never happened: {missed:?}\n{}", shown(path), report.text());
    });
}

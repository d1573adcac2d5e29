//! The group-communication protocols over many seeds: every correct protocol passes every
//! check of its scenario on each of 1,000 seeds, and each deliberately broken variant fails
//! the check it plants a violation for on at least one.
//!
//! The scenarios are `scenarios/ordering/*.ron` as they are, small enough (four or five
//! nodes, a few dozen messages) for a debug build to run them all in seconds.

use msgsim::check::Outcome;
use msgsim::{RunOptions, Scenario};
use std::path::Path;

const SEEDS: u64 = 1_000;

fn load(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ordering").join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every check of the scenario passes on every seed.
fn passes_on_every_seed(name: &str) {
    let scenario = load(name);
    for seed in 0..SEEDS {
        let result = msgsim::run(&scenario, seed, &RunOptions::default()).expect("no panic");
        for (check, verdict) in &result.verdicts {
            assert_eq!(verdict.outcome, Outcome::Pass, "{name} seed {seed}: {check}: {}", verdict.detail);
        }
    }
}

// One test per protocol, so that they run in parallel.
#[test]
fn reliable_multicast_passes_on_every_seed() {
    passes_on_every_seed("reliable.ron");
}

#[test]
fn fifo_multicast_passes_on_every_seed() {
    passes_on_every_seed("fifo.ron");
}

#[test]
fn causal_multicast_passes_on_every_seed() {
    passes_on_every_seed("causal.ron");
}

#[test]
fn sequencer_total_order_passes_on_every_seed() {
    passes_on_every_seed("sequencer.ron");
}

#[test]
fn isis_total_order_passes_on_every_seed() {
    passes_on_every_seed("isis.ron");
}

#[test]
fn atomic_multicast_passes_on_every_seed() {
    passes_on_every_seed("atomic.ron");
}

#[test]
fn view_synchronous_multicast_passes_on_every_seed() {
    passes_on_every_seed("views.ron");
}

/// views.ron is meant to crash the coordinator n0 around its flush: the sweep must meet each
/// way that can go, or passing it proves less than it seems. Read from the `view` lines: n0
/// died before its view reached anyone (the survivors skip to v2, the second coordinator's
/// number), or after it installed v1 itself (then the survivors take v1 from its install,
/// or from n1 when n2's copy was lost, and go on to v3).
#[test]
fn views_scenario_crashes_the_coordinator_before_and_after_its_view_spreads() {
    use msgsim::trace::EventKind;
    let scenario = load("views.ron");
    let options = RunOptions { record_trace: true, ..RunOptions::default() };
    let (mut skipped, mut took_v1, mut took_v1_late) = (0, 0, 0);
    for seed in 0..200 {
        let trace = msgsim::run(&scenario, seed, &options).expect("no panic").trace.expect("recorded");
        let installs: Vec<(u64, u32, u64)> = trace
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::View { node, view, .. } if view > 0 => Some((e.time.0, node.0, view)),
                _ => None,
            })
            .collect();
        let at = |node, view| installs.iter().find(|i| i.1 == node && i.2 == view).map(|i| i.0);
        match (at(1, 1), at(2, 1), at(1, 2)) {
            (None, None, Some(_)) => skipped += 1,
            // n2 took v1 more than a heartbeat after n1: from n1, after its copy from n0 was lost.
            (Some(a), Some(b), _) if b > a + 20_000_000 => took_v1_late += 1,
            (Some(_), Some(_), _) => took_v1 += 1,
            other => panic!("seed {seed}: unexpected view changes {other:?} in {installs:?}"),
        }
    }
    assert!(skipped > 0 && took_v1 > 0 && took_v1_late > 0, "skipped {skipped}, took v1 {took_v1}, took v1 late {took_v1_late}");
}

#[test]
fn view_synchronous_multicast_passes_with_a_sender_crashing_during_the_flush() {
    passes_on_every_seed("views-sender-crash.ron");
}

// Faults drawn from the seed: each seed its own loss rates and partitions.
#[test]
fn causal_multicast_passes_under_swarm_faults() {
    passes_on_every_seed("causal-swarm.ron");
}

#[test]
fn isis_total_order_passes_under_swarm_faults() {
    passes_on_every_seed("isis-swarm.ron");
}

#[test]
fn each_broken_variant_fails_its_check_on_some_seed() {
    let cases = [
        ("broken-best-effort.ron", "Integrity"),
        ("broken-reliable-no-relay.ron", "Agreement"),
        ("broken-atomic-no-relay.ron", "Agreement"),
        ("broken-fifo.ron", "FifoOrder"),
        ("broken-causal.ron", "CausalOrder"),
        ("broken-sequencer.ron", "TotalOrder"),
        ("broken-isis.ron", "TotalOrder"),
        ("broken-views-no-flush.ron", "ViewAgreement"),
    ];
    for (name, check) in cases {
        let scenario = load(name);
        let failing = (0..SEEDS).find(|&seed| {
            let result = msgsim::run(&scenario, seed, &RunOptions::default()).expect("no panic");
            result.verdicts.iter().any(|(c, v)| *c == check && v.outcome == Outcome::Fail)
        });
        assert!(failing.is_some(), "{name}: {check} never failed in {SEEDS} seeds");
    }
}

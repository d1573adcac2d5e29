//! The group-communication protocols over many seeds: every correct protocol passes every
//! check of its scenario on each of 1,000 seeds, and each deliberately broken variant fails
//! the check it plants a violation for on at least one.
//!
//! The scenarios are `scenarios/ordering/*.ron` as they are, small enough (four or five
//! nodes, a few dozen messages) for a debug build to run them all in seconds.

use msgsim::check::Outcome;
use msgsim::{RunOptions, Scenario, protocols};
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
        let result = protocols::run(&scenario, seed, &RunOptions::default()).expect("no panic");
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
    ];
    for (name, check) in cases {
        let scenario = load(name);
        let failing = (0..SEEDS).find(|&seed| {
            let result = protocols::run(&scenario, seed, &RunOptions::default()).expect("no panic");
            result.verdicts.iter().any(|(c, v)| *c == check && v.outcome == Outcome::Fail)
        });
        assert!(failing.is_some(), "{name}: {check} never failed in {SEEDS} seeds");
    }
}

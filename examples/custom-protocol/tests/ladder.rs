//! The challenge ladder is proven: every rung's reference solution passes it on every seed
//! tried, and every rung has a naive attempt that passes the rung below (where the two rungs
//! run the same protocol) and fails this one, on every seed, for the reason the book gives.

use msgsim::prelude::*;
use std::path::Path;

/// One rung: its file, its reference solution, its naive attempt, the check the naive attempt
/// fails and words its failure states, and the seeds tried.
struct Rung {
    file: &'static str,
    reference: &'static str,
    naive: &'static str,
    fails: &'static str,
    because: &'static str,
    seeds: std::ops::Range<u64>,
}

const RUNGS: &[Rung] = &[
    Rung { file: "01-echo.ron", reference: "echo", naive: "echo-every-copy", fails: "NoDuplicates", because: "delivered", seeds: 0..20 },
    Rung {
        file: "02-broadcast.ron",
        reference: "flood-once",
        naive: "tell-neighbours",
        fails: "BroadcastConsistency",
        because: "never reached",
        seeds: 0..20,
    },
    Rung {
        file: "03-lossy-broadcast.ron",
        reference: "flood-acked",
        naive: "flood-once",
        fails: "BroadcastConsistency",
        because: "never reached",
        seeds: 0..20,
    },
    Rung {
        file: "04-partitioned-broadcast.ron",
        reference: "flood-acked",
        naive: "flood-gives-up",
        fails: "BroadcastConsistency",
        because: "never reached",
        seeds: 0..20,
    },
    Rung {
        file: "05-fast-broadcast.ron",
        reference: "flood-acked",
        naive: "flood-eager",
        fails: "BroadcastConsistency",
        because: "messages per operation 96.00 not below 30",
        seeds: 0..3,
    },
    Rung {
        file: "06-frugal-broadcast.ron",
        reference: "batched",
        naive: "flood-acked",
        fails: "BroadcastConsistency",
        because: "messages per operation 24.00 not below 20",
        seeds: 0..3,
    },
];

fn challenge(solution: &str, file: &str) -> Scenario {
    let registry = custom_protocol::ladder::registry(solution).expect("a solution the ladder names");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("challenges").join(file);
    registry.load(&path).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The failing verdicts of `solution` on `file` at `seed`, as (check, detail).
fn failures(solution: &str, file: &str, seed: u64) -> Vec<(String, String)> {
    let result = msgsim::run(&challenge(solution, file), seed, &RunOptions::default()).expect("no panic");
    assert!(result.verdicts.iter().all(|(_, v)| v.outcome != Outcome::Inconclusive), "{solution} on {file}, seed {seed}: inconclusive");
    result.verdicts.iter().filter(|(_, v)| v.outcome == Outcome::Fail).map(|(c, v)| (c.to_string(), v.detail.clone())).collect()
}

#[test]
fn every_reference_solution_passes_its_rung() {
    for rung in RUNGS {
        for seed in rung.seeds.clone() {
            let failed = failures(rung.reference, rung.file, seed);
            assert!(failed.is_empty(), "{} on {}, seed {seed}: {failed:?}", rung.reference, rung.file);
        }
    }
}

#[test]
fn every_naive_attempt_fails_its_rung_on_every_seed() {
    for rung in RUNGS {
        for seed in rung.seeds.clone() {
            let failed = failures(rung.naive, rung.file, seed);
            assert!(
                failed.iter().any(|(check, detail)| check == rung.fails && detail.contains(rung.because)),
                "{} on {}, seed {seed}: expected {} to fail with {:?}, got {failed:?}",
                rung.naive,
                rung.file,
                rung.fails,
                rung.because
            );
        }
    }
}

/// A naive attempt is the natural next step from the rung below: it passes that rung, so this
/// rung is what catches it. (Rungs 1 and 2 run different protocols, so rung 2's naive attempt
/// has nothing below it to pass.)
#[test]
fn every_naive_attempt_passes_the_rung_below() {
    for pair in RUNGS.windows(2).skip(1) {
        let (below, rung) = (&pair[0], &pair[1]);
        for seed in below.seeds.clone() {
            let failed = failures(rung.naive, below.file, seed);
            assert!(failed.is_empty(), "{} on {} (the rung below {}), seed {seed}: {failed:?}", rung.naive, below.file, rung.file);
        }
    }
}

/// The efficiency rungs are what set the references apart: rung 5's reference misses rung 6,
/// and rung 6's reference, batching, misses rung 5's latency targets; both are correct on
/// every rung before.
#[test]
fn the_two_efficiency_rungs_pull_in_opposite_directions() {
    let latency = failures("batched", "05-fast-broadcast.ron", 0);
    assert!(latency.iter().any(|(_, d)| d.contains("median stable latency")), "batching is slower than rung 5 allows: {latency:?}");
    for file in ["02-broadcast.ron", "03-lossy-broadcast.ron", "04-partitioned-broadcast.ron"] {
        for seed in 0..5 {
            assert!(failures("batched", file, seed).is_empty(), "batched on {file}, seed {seed}");
        }
    }
}

#[test]
fn an_unknown_solution_is_refused() {
    assert!(custom_protocol::ladder::registry("flood-twice").is_none());
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_custom-protocol"))
        .args(["check", "examples/custom-protocol/challenges/01-echo.ron"])
        .env("LADDER", "flood-twice")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("the binary runs");
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("expected one of echo, echo-every-copy"));
}

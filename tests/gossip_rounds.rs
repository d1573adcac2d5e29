//! Anti-entropy gossip in rounds: how many rounds push, pull and push-pull take to reach every
//! node, against the recurrences of Demers et al.; writes the book's table
//! (`book/src/generated/gossip-rounds.txt`; `UPDATE_BOOK=1` rewrites it).
//!
//! The model (`src/protocols/gossip_rounds.rs`). Rounds are 20 ms and latency at most 5 ms,
//! so an exchange begun at a round's tick (a pull's request and answer included) ends before
//! the next. With a fraction p_i of the n nodes ignorant after round i, a node stays ignorant
//! through a round of push if none of the (1-p_i) n informed nodes picks it,
//! (1 - 1/(n-1))^(n(1-p_i)); through a round of pull if the peer it asks is ignorant, p_i; and
//! through push-pull if both. So p_(i+1) = p_i times that, from p_0 = 1 - 1/n. The predicted
//! finish is the first round with n p_i < 1/2.
//!
//! Tolerance: the finish round varies from run to run (the last few nodes are reached by
//! chance); the mean over R runs may stray by five standard errors (sample sd / sqrt(R)) plus
//! one round, for the mean-field recurrence's rounding of "the last node" to n p_i < 1/2.

mod common;

use msgsim::trace::EventKind;
use msgsim::{RunOptions, Scenario};
use std::fmt::Write as _;

const NODES: u64 = 500;
const RUNS: u64 = 12;
const ROUND_NS: u64 = 20_000_000;
const Z: f64 = 5.0;

/// The predicted round by which every node knows the value.
fn predicted(mode: &str) -> u32 {
    let n = NODES as f64;
    let mut p = 1.0 - 1.0 / n;
    let mut i = 0;
    while n * p >= 0.5 {
        let missed_by_pushes = (1.0 - 1.0 / (n - 1.0)).powf(n * (1.0 - p));
        p *= match mode {
            "Push" => missed_by_pushes,
            "Pull" => p,
            _ => p * missed_by_pushes,
        };
        i += 1;
    }
    i
}

/// The round in which the last node learned the value, in one run.
fn finish(mode: &str, seed: u64) -> u32 {
    let src = format!(
        r#"Scenario(name: "gossip rounds", seed: 1, horizon_ms: 1_000, nodes: {NODES},
        protocol: GossipRounds(mode: {mode}, period_ms: 20),
        network: (latency: Uniform(min_ms: 1, max_ms: 5)),
        workload: [(from: "n0", send: Broadcast, every_ms: 0, count: 1)])"#
    );
    let scenario = Scenario::parse(&src, "gossip-rounds").expect("valid");
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let delivered: Vec<u64> =
        result.trace.expect("recorded").iter().filter_map(|e| matches!(e.kind, EventKind::Deliver { .. }).then_some(e.time.0)).collect();
    assert_eq!(delivered.len() as u64, NODES, "{mode} seed {seed}: anti-entropy reaches everyone within the horizon");
    delivered.iter().map(|&t| t.div_ceil(ROUND_NS) as u32).max().expect("delivered")
}

#[test]
fn push_pull_and_push_pull_take_the_rounds_theory_predicts_and_the_books_table_is_current() {
    let mut table = format!(
        "{NODES} nodes, one value, {RUNS} runs per mode: rounds until every node knows it\n\n{:>9} {:>10} {:>8} {:>6} {:>6}\n",
        "mode", "predicted", "mean", "min", "max"
    );
    let mut means = Vec::new();
    for mode in ["Push", "Pull", "PushPull"] {
        let rounds: Vec<u32> = (1..=RUNS).map(|seed| finish(mode, seed)).collect();
        let r = RUNS as f64;
        let mean = rounds.iter().map(|&x| f64::from(x)).sum::<f64>() / r;
        let sd = (rounds.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
        let expected = predicted(mode);
        let allowed = Z * sd / r.sqrt() + 1.0;
        assert!((mean - f64::from(expected)).abs() <= allowed, "{mode}: {mean} rounds against {expected} (allowed {allowed})");
        let (min, max) = (rounds.iter().min().expect("runs"), rounds.iter().max().expect("runs"));
        let _ = writeln!(table, "{mode:>9} {expected:>10} {mean:>8.2} {min:>6} {max:>6}");
        means.push(mean);
    }
    // Pulling finishes faster than pushing, and doing both faster still.
    assert!(means[1] < means[0] && means[2] < means[1], "{means:?}");
    eprintln!("{table}");
    common::book_file_is_current("gossip-rounds.txt", &table);
}

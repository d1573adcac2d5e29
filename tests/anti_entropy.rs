//! Anti-entropy after a partition heals: how many rounds `AntiEntropy` (push-pull with exact
//! digests) takes, after the heal, to bring a value written on an isolated node to every node,
//! against the push-pull recurrence and log n; writes the book's table
//! (`book/src/generated/anti-entropy-heal.txt`; `UPDATE_BOOK=1` rewrites it).
//!
//! The model. n nodes; n0 is cut off from the rest from the start until the heal at 210 ms,
//! and n0 and n1 each take one write at 10 ms. Rounds are 20 ms, latency at most 5 ms, so an
//! exchange (digest, reply, values: three messages) begun at a round's tick ends before the
//! next. After the heal n1's write, known to n-1 nodes, reaches n0 in the first round (every
//! peer n0 can pick knows it); n0's write starts from one node, which is what takes time. An
//! exchange is push-pull, so with a fraction p_i of the nodes ignorant of it after round i,
//! p_(i+1) = p_i^2 (1 - 1/(n-1))^(n (1 - p_i)) from p_0 = 1 - 1/n (as in
//! `tests/gossip_rounds.rs`); the predicted finish is the first round with n p_i < 1/2. Its
//! asymptote is log3 n + O(ln ln n) (Karp et al.): rounds grow with log n.
//!
//! Tolerance: as in `tests/gossip_rounds.rs`, the mean finish round over R runs may stray from
//! the prediction by five standard errors (sample sd / sqrt(R)) plus one round, for the
//! mean-field recurrence's rounding of "the last node" to n p_i < 1/2, and for exchanges that
//! chain within a round (a node that learned from its own exchange may pass the value on in an
//! exchange it answers later in the same round), which only speeds the spread.

mod common;

use msgsim::trace::EventKind;
use msgsim::{RunOptions, Scenario};
use std::fmt::Write as _;

const RUNS: u64 = 12;
const ROUND_NS: u64 = 20_000_000;
const HEAL_NS: u64 = 210_000_000;
const Z: f64 = 5.0;

/// The predicted round (after the heal) by which every node knows n0's write.
fn predicted(n: u64) -> u32 {
    let n = n as f64;
    let mut p = 1.0 - 1.0 / n;
    let mut i = 0;
    while n * p >= 0.5 {
        // Ignorant after a push-pull round: its own peer ignorant (p) and no informed node picked it.
        p = p * p * (1.0 - 1.0 / (n - 1.0)).powf(n * (1.0 - p));
        i += 1;
    }
    i
}

/// The scenario: `n` nodes, n0 cut off until the heal, one write on each side.
fn scenario(n: u64, digest: &str) -> Scenario {
    let rest: Vec<String> = (1..n).map(|i| format!("\"n{i}\"")).collect();
    let src = format!(
        r#"Scenario(name: "anti-entropy after a heal", seed: 1, horizon_ms: 600, nodes: {n},
        groups: {{"rest": [{}]}},
        protocol: AntiEntropy(period_ms: 20, digest: {digest}),
        network: (latency: Uniform(min_ms: 1, max_ms: 5)),
        faults: [(at_ms: 0, do: Partition([["n0"], ["rest"]])), (at_ms: 210, do: Heal)],
        workload: [
            (from: "n0", send: Broadcast, start_ms: 10, every_ms: 0, count: 1),
            (from: "n1", send: Broadcast, start_ms: 10, every_ms: 0, count: 1),
        ],
        checks: [ConvergedAfterHeal(within_ms: 300)])"#,
        rest.join(", ")
    );
    Scenario::parse(&src, "anti-entropy-heal").unwrap_or_else(|e| panic!("{e}"))
}

/// The round after the heal in which the last node learned the last value, in one run.
fn finish(n: u64, seed: u64) -> u32 {
    let result = msgsim::run(&scenario(n, "Exact"), seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let verdict = &result.verdicts.iter().find(|(name, _)| *name == "ConvergedAfterHeal").expect("checked").1;
    assert_eq!(verdict.outcome, msgsim::check::Outcome::Pass, "n = {n}, seed {seed}: {}", verdict.detail);
    let delivered: Vec<u64> =
        result.trace.expect("recorded").iter().filter_map(|e| matches!(e.kind, EventKind::Deliver { .. }).then_some(e.time.0)).collect();
    assert_eq!(delivered.len() as u64, 2 * n, "n = {n}, seed {seed}: both writes everywhere");
    let last = delivered.iter().max().expect("delivered");
    (last / ROUND_NS - HEAL_NS / ROUND_NS) as u32
}

#[test]
fn anti_entropy_converges_after_a_heal_in_the_rounds_push_pull_predicts_and_the_books_table_is_current() {
    let mut table = format!(
        "A write on a node cut off until the heal, {RUNS} runs per size: rounds after the heal until every node has it\n\n\
         {:>5} {:>10} {:>8} {:>5} {:>5} {:>16} {:>7}\n",
        "n", "predicted", "mean", "min", "max", "log3 n + ln ln n", "log2 n"
    );
    let mut means = Vec::new();
    for n in [8u64, 16, 32, 64, 128, 256] {
        let rounds: Vec<u32> = (1..=RUNS).map(|seed| finish(n, seed)).collect();
        let r = RUNS as f64;
        let mean = rounds.iter().map(|&x| f64::from(x)).sum::<f64>() / r;
        let sd = (rounds.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
        let expected = predicted(n);
        let allowed = Z * sd / r.sqrt() + 1.0;
        assert!((mean - f64::from(expected)).abs() <= allowed, "n = {n}: {mean} rounds against {expected} (allowed {allowed})");
        let (min, max) = (rounds.iter().min().expect("runs"), rounds.iter().max().expect("runs"));
        let nf = n as f64;
        let asymptote = nf.ln() / 3f64.ln() + nf.ln().ln();
        let _ = writeln!(table, "{n:>5} {expected:>10} {mean:>8.2} {min:>5} {max:>5} {asymptote:>16.2} {:>7.2}", nf.log2());
        means.push(mean);
    }
    // Logarithmic growth: a constant number of rounds per doubling of n (the recurrence gives
    // 1 at these sizes, the asymptote log3 2 = 0.63); a spread linear in n would double them.
    let per_doubling = (means[5] - means[0]) / 5.0;
    assert!(per_doubling > 0.3 && per_doubling < 1.5, "{per_doubling} rounds per doubling: {means:?}");
    eprintln!("{table}");
    common::book_file_is_current("anti-entropy-heal.txt", &table);
}

/// With the high-water-mark digest, the write on the isolated node is never repaired: n1's
/// write (the higher id) reaches n0, n0's reaches no one, on every seed.
#[test]
fn a_high_water_mark_digest_never_repairs_the_isolated_write() {
    for seed in 0..8 {
        let result = msgsim::run(&scenario(16, "HighWater"), seed, &RunOptions::default()).expect("no panic");
        let verdict = &result.verdicts.iter().find(|(name, _)| *name == "ConvergedAfterHeal").expect("checked").1;
        assert_eq!(verdict.outcome, msgsim::check::Outcome::Fail, "seed {seed}: {}", verdict.detail);
        assert!(verdict.detail.starts_with("15 of 32 "), "seed {seed}: {}", verdict.detail);
    }
}

//! The Two Generals measured: how often the generals disagree after k rounds over a lossy link,
//! against the formula, for k = 1..=8; writes the book's table
//! (`book/src/generated/two-generals.txt`; `UPDATE_BOOK=1` rewrites it).
//!
//! The model (`src/protocols/two_generals.rs`). Each round is lost independently with
//! probability p, and a round is sent only when the one before it arrived. Let j be the first
//! round lost. If none is, both attack: probability (1-p)^k. If j < k, the receiver of round
//! j retreats (it lacks round j) and so does its sender (round j+1, due to it, is never sent):
//! they agree. If j = k, the sender of the last round has everything due to it and attacks
//! while its receiver retreats. So
//!
//!   P(disagree)       = p (1-p)^(k-1)
//!   P(both attack)    = (1-p)^k
//!   P(both retreat)   = 1 - (1-p)^k - p (1-p)^(k-1)
//!
//! and P(disagree) > 0 for every finite k. Latency is constant (1 ms) and the decision comes
//! 30 ms after the plan, after all 8 rounds could have happened, so timing never decides. The
//! plans of a run are independent (each its own rounds, each message its own loss draw), so the
//! count of disagreements is binomial: the test allows five standard errors, which a correct
//! protocol strays beyond with probability below 1e-6 per row.

mod common;

use msgsim::check::Outcome;
use msgsim::id::AppId;
use msgsim::trace::EventKind;
use msgsim::{RunOptions, Scenario};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const LOSS: f64 = 0.2;
const PLANS: u64 = 10_000;
const Z: f64 = 5.0;

/// Plans of one run: (disagreed, both attacked, both retreated).
fn measure(rounds: u32) -> (u64, u64, u64) {
    let src = format!(
        r#"Scenario(name: "two generals, {rounds} rounds", seed: 1, horizon_ms: 20_000, nodes: ["a", "b"],
        protocol: TwoGenerals(rounds: {rounds}, decide_ms: 30),
        network: (latency: Constant(ms: 1), loss: {LOSS}),
        workload: [(from: "a", to: "b", every_ms: 1, count: {PLANS})],
        checks: [SameDecision])"#
    );
    let scenario = Scenario::parse(&src, "two-generals").expect("valid");
    let result = msgsim::run(&scenario, rounds as u64, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let mut acted: BTreeMap<AppId, u32> = BTreeMap::new();
    let mut plans = 0;
    for e in result.trace.expect("recorded") {
        match e.kind {
            EventKind::Command { app, .. } => {
                plans += 1;
                acted.insert(app, 0);
            }
            EventKind::Deliver { app, .. } => *acted.get_mut(&app).expect("a plan") += 1,
            _ => {}
        }
    }
    assert_eq!(plans, PLANS);
    let count = |n: u32| acted.values().filter(|&&a| a == n).count() as u64;
    let (split, both, neither) = (count(1), count(2), count(0));
    // The check sees what the trace shows.
    let verdict = &result.verdicts.iter().find(|(n, _)| *n == "SameDecision").expect("asked for").1;
    assert_eq!(verdict.outcome == Outcome::Fail, split > 0, "{rounds} rounds: {}", verdict.detail);
    (split, both, neither)
}

#[test]
fn no_number_of_rounds_makes_the_generals_certain_and_the_books_table_is_current() {
    let p = LOSS;
    let mut table = format!(
        "{PLANS} plans per row, each round lost with probability p = {p}\n\n{:>6} {:>16} {:>10} {:>12} {:>14}\n",
        "rounds", "p(1-p)^(k-1)", "measured", "both attack", "both retreat"
    );
    for k in 1..=8u32 {
        let (split, both, neither) = measure(k);
        let n = PLANS as f64;
        let expected = p * (1.0 - p).powi(k as i32 - 1);
        let measured = split as f64 / n;
        let se = (expected * (1.0 - expected) / n).sqrt();
        assert!((measured - expected).abs() <= Z * se, "{k} rounds: disagreement {measured} against {expected} (se {se})");
        let attack = (1.0 - p).powi(k as i32);
        let se_attack = (attack * (1.0 - attack) / n).sqrt();
        assert!((both as f64 / n - attack).abs() <= Z * se_attack, "{k} rounds: both attacked {both} times against {attack}");
        // No finite number of rounds reaches certainty: every row has disagreements.
        assert!(split > 0, "{k} rounds: no disagreement in {PLANS} plans");
        let _ = writeln!(table, "{k:>6} {expected:>16.4} {measured:>10.4} {:>12.4} {:>14.4}", both as f64 / n, neither as f64 / n);
    }
    eprintln!("{table}");
    common::book_file_is_current("two-generals.txt", &table);
}

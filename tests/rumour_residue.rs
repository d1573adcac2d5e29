//! Rumour mongering's residue against theory: the fraction of nodes a rumour never reaches,
//! blind and with feedback, for coins 1/k; writes the book's table
//! (`book/src/generated/rumour-residue.txt`; `UPDATE_BOOK=1` rewrites it).
//!
//! The model (`src/protocols/rumour.rs`): every round a node pushes its hot rumours to one
//! peer drawn uniformly, and loses interest in a rumour with probability 1/k after every push
//! (blind) or when the peer already knew it (feedback). The residue s solves
//! s = e^(-k (1-s)) blind (each node pushes a geometric number of times, mean k, and a node
//! misses all k (1-s) n pushes with probability about e^(-k(1-s))) and s = e^(-(k+1)(1-s))
//! with feedback (Demers et al.).
//!
//! Tolerance: each rumour's residue is one sample; the rumours of a run spread at the same
//! time but independently (each its own coins), so the mean over R rumours has a standard
//! error of sd/sqrt(R); the test allows five of them plus 2/n for the finite-n bias of the
//! formulas (as in `gossip_coverage.rs`, the miss probability is e^(-x) only to O(x/n)).

mod common;

use msgsim::id::AppId;
use msgsim::trace::EventKind;
use msgsim::{RunOptions, Scenario};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const NODES: u64 = 1_000;
const RUMOURS: u64 = 40;
const Z: f64 = 5.0;

/// The root of s = e^(-c (1-s)) below 1 (c > 1), by iteration from 0: the map is increasing
/// and convex, so the iterates climb monotonically to the smaller root.
fn residue(c: f64) -> f64 {
    let mut s = 0.0f64;
    for _ in 0..10_000 {
        s = (-c * (1.0 - s)).exp();
    }
    s
}

/// Each rumour's residue (fraction of nodes that never delivered it).
fn measure(k: u64, feedback: bool) -> Vec<f64> {
    // One rumour from each of the first RUMOURS nodes, all at once.
    let workload: Vec<String> = (0..RUMOURS).map(|i| format!("(from: \"n{i}\", send: Broadcast, every_ms: 0, count: 1)")).collect();
    let scenario_src = format!(
        r#"Scenario(name: "rumour mongering", seed: 1, horizon_ms: 100_000, nodes: {NODES},
        protocol: RumourMongering(k: {k}, feedback: {feedback}, period_ms: 10),
        network: (latency: Uniform(min_ms: 1, max_ms: 5)),
        workload: [{}])"#,
        workload.join(", ")
    );
    let scenario = Scenario::parse(&scenario_src, "rumour").expect("valid");
    let seed = k * 2 + u64::from(feedback);
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let mut reached: BTreeMap<AppId, u64> = BTreeMap::new();
    for e in result.trace.expect("recorded") {
        match e.kind {
            EventKind::Command { app, .. } => {
                reached.insert(app, 0);
            }
            EventKind::Deliver { app, .. } => *reached.get_mut(&app).expect("commanded") += 1,
            _ => {}
        }
    }
    assert_eq!(reached.len() as u64, RUMOURS);
    reached.values().map(|&r| 1.0 - r as f64 / NODES as f64).collect()
}

#[test]
fn rumour_mongering_leaves_the_residue_theory_predicts_and_the_books_table_is_current() {
    let mut table =
        format!("{NODES} nodes, {RUMOURS} rumours per row\n\n{:>9} {:>3} {:>10} {:>10} {:>8}\n", "coin", "k", "formula", "measured", "sd");
    for feedback in [false, true] {
        for k in 1..=4u64 {
            let c = if feedback { k as f64 + 1.0 } else { k as f64 };
            let samples = measure(k, feedback);
            let r = samples.len() as f64;
            let mean = samples.iter().sum::<f64>() / r;
            let sd = (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
            let expected = if c > 1.0 { residue(c) } else { 1.0 };
            let mode = if feedback { "feedback" } else { "blind" };
            let _ = writeln!(table, "{mode:>9} {k:>3} {expected:>10.4} {mean:>10.4} {sd:>8.4}");
            if c > 1.0 {
                let allowed = Z * sd / r.sqrt() + 2.0 / NODES as f64;
                assert!((mean - expected).abs() <= allowed, "{mode} k={k}: residue {mean} against {expected} (allowed {allowed})");
            }
        }
    }
    eprintln!("{table}");
    common::book_file_is_current("rumour-residue.txt", &table);
}

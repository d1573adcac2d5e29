//! Failure detectors side by side: `scenarios/failure/detector-fixed.ron` (a heavy latency
//! tail, a partition, a crash) run under fixed timeouts and phi accrual thresholds, and again
//! over a steady network, over the same seeds. Detection times and false suspicions come
//! from the `FailureDetection` check's reading of the trace and go to the book
//! (`book/src/generated/detector-compare.txt`; `UPDATE_BOOK=1` rewrites it).

mod common;

use msgsim::check::Outcome;
use msgsim::dist::{Latency, LatencySpec};
use msgsim::scenario::locate::set_top_level_field;
use msgsim::trace::EventKind;
use msgsim::{RunOptions, Scenario};
use std::fmt::Write as _;
use std::path::Path;

const SEEDS: u64 = 20;
const MS: u64 = 1_000_000;

#[derive(Default)]
struct Figures {
    /// Crash to suspicion, per (observer, crash), in ns.
    detections: Vec<u64>,
    false_suspicions: u64,
    passed: u64,
}

fn measure(scenario: &Scenario) -> Figures {
    let mut f = Figures::default();
    let crash = 6_000 * MS;
    for seed in 0..SEEDS {
        let result = msgsim::run(scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
        f.passed += u64::from(result.verdicts.iter().all(|(_, v)| v.outcome == Outcome::Pass));
        let mut first = std::collections::BTreeMap::new();
        let mut down = false;
        for e in result.trace.expect("recorded") {
            match e.kind {
                EventKind::Fault { node: Some(_), .. } => down = true,
                // n3 (node 3) crashes at 6 s; its suspicions before are all false.
                EventKind::Suspicion { node, of, suspected: true } if of.0 == 3 && down => {
                    first.entry(node).or_insert(e.time.0 - crash);
                }
                EventKind::Suspicion { suspected: true, .. } => f.false_suspicions += 1,
                _ => {}
            }
        }
        f.detections.extend(first.values());
    }
    f.detections.sort_unstable();
    f
}

#[test]
fn adaptive_and_fixed_detectors_trade_speed_for_accuracy_and_the_books_table_is_current() {
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/failure/detector-fixed.ron")).expect("readable");
    assert!(src.contains("Heartbeat(every_ms: 100,"), "the heartbeat period the variants keep is the file's");
    let base = Scenario::parse(&src, "detector-fixed.ron").expect("valid");
    let detectors = [
        ("fixed 150 ms", "Fixed(timeout_ms: 150)"),
        ("fixed 250 ms", "Fixed(timeout_ms: 250)"),
        ("fixed 500 ms", "Fixed(timeout_ms: 500)"),
        ("phi 3", "Phi(threshold: 3, window: 100, min_std_ms: 10)"),
        ("phi 8", "Phi(threshold: 8, window: 100, min_std_ms: 10)"),
        ("phi 12", "Phi(threshold: 12, window: 100, min_std_ms: 10)"),
    ];
    let steady = Latency::new(&LatencySpec::Uniform { min_ns: MS, max_ns: 10 * MS });
    let networks = [("heavy tail", base.network.clone()), ("steady", msgsim::net::LinkModel { latency: steady, ..base.network.clone() })];
    let mut text = format!(
        "{SEEDS} seeds of scenarios/failure/detector-fixed.ron (n3 crashes at 6 s; n4 is cut off from 3 s to 3.6 s)\n\n\
         {:<12} {:<14} {:>8} {:>13} {:>12} {:>11} {:>7}\n",
        "network", "detector", "passed", "mean detect", "max detect", "false/run", "missed"
    );
    let mut rows = Vec::new();
    for (net, link) in &networks {
        for (name, detector) in detectors {
            let variant = set_top_level_field(&src, "protocol", &format!("Heartbeat(every_ms: 100, detector: {detector})"));
            let variant = set_top_level_field(&variant, "checks", "[FailureDetection(bound_ms: 1_000)]");
            let scenario = Scenario { network: link.clone(), ..Scenario::parse(&variant, "detector-fixed.ron").expect("valid") };
            let f = measure(&scenario);
            let d = &f.detections;
            // Four correct observers per seed should each detect the crash.
            let missed = 4 * SEEDS - d.len() as u64;
            let _ = writeln!(
                text,
                "{net:<12} {name:<14} {:>5}/{SEEDS} {:>10.1} ms {:>9.1} ms {:>11.1} {missed:>7}",
                f.passed,
                d.iter().sum::<u64>() as f64 / d.len().max(1) as f64 / MS as f64,
                d.last().copied().unwrap_or(0) as f64 / MS as f64,
                f.false_suspicions as f64 / SEEDS as f64,
            );
            rows.push((*net, name, f));
        }
    }
    let get = |net: &str, name: &str| &rows.iter().find(|r| r.0 == net && r.1 == name).expect("measured").2;
    let mean = |f: &Figures| f.detections.iter().sum::<u64>() / f.detections.len() as u64;
    for net in ["heavy tail", "steady"] {
        // A longer timeout detects later and suspects falsely less often.
        assert!(mean(get(net, "fixed 150 ms")) < mean(get(net, "fixed 500 ms")));
        assert!(get(net, "fixed 150 ms").false_suspicions >= get(net, "fixed 500 ms").false_suspicions);
        // So does a higher phi threshold.
        assert!(mean(get(net, "phi 3")) <= mean(get(net, "phi 12")));
        assert!(get(net, "phi 3").false_suspicions >= get(net, "phi 12").false_suspicions);
    }
    eprintln!("{text}");
    common::book_file_is_current("detector-compare.txt", &text);
}

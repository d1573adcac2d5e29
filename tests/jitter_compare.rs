//! Retry jitter schemes against a loaded service: `scenarios/failure/herd.ron` (twenty clients
//! calling at the same instant, most timing out together) and `scenarios/failure/storm.ron` (a
//! service failing, recovering slowly, healthy again), each with its retry policy's waits drawn
//! by each scheme (`Calls(jitter: ..)`), over the same seeds. The load each puts on the service
//! comes from the trace alone and goes to the book (`book/src/generated/jitter-compare.txt`;
//! `UPDATE_BOOK=1` rewrites it).

mod common;

use msgsim::trace::{CallOutcome, EventKind};
use msgsim::{RunOptions, Scenario};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

const SEEDS: u64 = 20;

#[derive(Default)]
struct Figures {
    calls: u64,
    /// Requests that reached the service.
    requests: u64,
    /// The most requests at the service (served or queued) at once, the worst seed's.
    backlog: u64,
    succeeded: u64,
    /// Command to success, in microseconds, sorted.
    latencies_us: Vec<u64>,
}

impl Figures {
    fn load(&self) -> f64 {
        self.requests as f64 / self.calls as f64
    }

    fn ok(&self) -> f64 {
        self.succeeded as f64 / self.calls as f64
    }

    fn percentile_ms(&self, p: usize) -> f64 {
        let l = &self.latencies_us;
        l[(l.len() * p / 100).min(l.len() - 1)] as f64 / 1000.0
    }
}

fn measure(scenario: &Scenario) -> Figures {
    let service = scenario.cluster.id("svc").expect("a service");
    let mut f = Figures::default();
    for seed in 0..SEEDS {
        let result = msgsim::run(scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
        let (mut began, mut done) = (BTreeMap::new(), BTreeSet::new());
        let mut at_service = 0u64;
        for e in result.trace.expect("recorded") {
            match e.kind {
                EventKind::Command { app, .. } => {
                    f.calls += 1;
                    began.insert(app, e.time.0);
                }
                EventKind::Receive { to, .. } if to == service => {
                    f.requests += 1;
                    at_service += 1;
                    f.backlog = f.backlog.max(at_service);
                }
                EventKind::Send { from, .. } if from == service => at_service -= 1,
                EventKind::Call { app, outcome: CallOutcome::Ok, .. } if done.insert(app) => {
                    f.succeeded += 1;
                    f.latencies_us.push((e.time.0 - began[&app]) / 1_000);
                }
                _ => {}
            }
        }
    }
    f.latencies_us.sort_unstable();
    f
}

/// The schemes compared: a name, the `jitter` fraction (if any) the policy keeps, the scheme,
/// and the backoff factor (decorrelated jitter is also shown with the factor of 3 it is
/// usually given).
const SCHEMES: &[(&str, Option<&str>, &str, Option<&str>)] = &[
    ("none", None, "Proportional", None),
    ("proportional 50%", Some("0.5"), "Proportional", None),
    ("equal", None, "Equal", None),
    ("full", None, "Full", None),
    ("decorrelated", None, "Decorrelated", None),
    ("decorrelated, factor 3", None, "Decorrelated", Some("3")),
];

/// `file`'s scenario with its retry policy `retry` (which must be in it) under each scheme.
fn measure_schemes(file: &str, retry: &str) -> Vec<(&'static str, Figures)> {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("readable");
    assert!(src.contains(retry), "{file} has the retry policy {retry}");
    let bare = retry.replace(", jitter: 0.5", "");
    SCHEMES
        .iter()
        .map(|&(name, fraction, scheme, factor)| {
            let mut policy = bare.clone();
            if let Some(j) = fraction {
                policy = policy.replace(", max_attempts", &format!(", jitter: {j}, max_attempts"));
            }
            if let Some(x) = factor {
                policy = policy.replace("factor: 2", &format!("factor: {x}"));
            }
            let text = src.replace(retry, &format!("{policy} jitter: {scheme},"));
            (name, measure(&Scenario::parse(&text, file).expect("valid")))
        })
        .collect()
}

fn table(title: &str, rows: &[(&str, Figures)]) -> String {
    let mut t =
        format!("{title}\n{:<24} {:>13} {:>13} {:>7} {:>10} {:>8}\n", "jitter", "requests/call", "backlog", "ok %", "median ms", "p99 ms");
    for (name, f) in rows {
        let _ = writeln!(
            t,
            "{name:<24} {:>13.2} {:>13} {:>7.1} {:>10.1} {:>8.1}",
            f.load(),
            f.backlog,
            100.0 * f.ok(),
            f.percentile_ms(50),
            f.percentile_ms(99)
        );
    }
    t
}

#[test]
fn jitter_schemes_spread_a_herds_retries_and_the_books_table_is_current() {
    let herd = measure_schemes("scenarios/failure/herd.ron", "retry: (base_ms: 10, factor: 2, cap_ms: 1_000, max_attempts: 8),");
    let storm =
        measure_schemes("scenarios/failure/storm.ron", "retry: (base_ms: 10, factor: 2, cap_ms: 200, jitter: 0.5, max_attempts: 4),");
    let text = format!(
        "{}\n{}",
        table(&format!("{SEEDS} seeds of scenarios/failure/herd.ron, per jitter scheme"), &herd),
        table(&format!("{SEEDS} seeds of scenarios/failure/storm.ron, per jitter scheme"), &storm)
    );
    eprintln!("{text}");
    let get = |rows: &[(&'static str, Figures)], name: &str| -> (f64, f64) {
        let f = &rows.iter().find(|(n, _)| *n == name).expect("measured").1;
        (f.load(), f.ok())
    };
    // A herd: full jitter waits half the backoff on average, so its retries come back sooner,
    // while the service still works through the requests of callers that gave up: more load
    // than retrying in step.
    assert!(get(&herd, "full").0 > get(&herd, "none").0, "full {:?} none {:?}", get(&herd, "full"), get(&herd, "none"));
    // Decorrelated waits grow by (1 + factor) / 2 on average: with a factor of 2 the eight
    // attempts are spent before the herd is served, with 3 they are not.
    assert!(get(&herd, "decorrelated").1 < 0.9 && get(&herd, "decorrelated, factor 3").1 > 0.99);
    for (name, f) in herd.iter().filter(|(n, _)| *n != "decorrelated") {
        assert!(f.ok() > 0.99, "{name}: every herd served ({})", f.ok());
    }
    // A storm is a matter of capacity: every scheme keeps the same four attempts, and when
    // they land changes the load by little.
    let loads: Vec<f64> = storm.iter().map(|(_, f)| f.load()).collect();
    let spread = loads.iter().cloned().fold(f64::MIN, f64::max) - loads.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.2, "storm loads {loads:?}");
    common::book_file_is_current("jitter-compare.txt", &text);
}

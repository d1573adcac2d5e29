//! Retry storms and what stops them: `scenarios/failure/storm.ron` (retries without a
//! budget against a service that recovers slowly) run again without retries, with a
//! retry budget, and with a circuit breaker each way round, over the same seeds. The
//! figures come from the trace alone and go to the book
//! (`book/src/generated/storm-compare.txt`; `UPDATE_BOOK=1` rewrites it).

mod common;

use msgsim::scenario::locate::set_top_level_field;
use msgsim::trace::{CallOutcome, EventKind};
use msgsim::{RunOptions, Scenario};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const SEEDS: u64 = 20;
const MS: u64 = 1_000_000;
/// When the schedule makes the service healthy again.
const HEALTHY_AGAIN: u64 = 7_000 * MS;

#[derive(Default)]
struct Figures {
    calls: u64,
    /// Requests that reached the service.
    requests: u64,
    succeeded: u64,
    /// Calls begun after the service was healthy again, and those that succeeded.
    late_calls: u64,
    late_succeeded: u64,
    /// Units the breaker refused.
    refused: u64,
    /// The most requests at the service (served or queued) at once, the worst seed's.
    backlog: u64,
    /// Command to success, in microseconds, sorted.
    latencies_us: Vec<u64>,
}

fn measure(scenario: &Scenario) -> Figures {
    let service = scenario.cluster.nodes().find(|&n| scenario.cluster.name(n) == "svc").expect("a service");
    let mut f = Figures::default();
    for seed in 0..SEEDS {
        let result = msgsim::run(scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
        for (name, v) in &result.verdicts {
            // A variant without retries has no retry policy for RetryBackoff to judge.
            let unjudged = *name == "RetryBackoff" && scenario.protocol.retry_policy().is_none();
            let expected = if unjudged { msgsim::check::Outcome::Inconclusive } else { msgsim::check::Outcome::Pass };
            assert_eq!(v.outcome, expected, "{name} seed {seed}: {}", v.detail);
        }
        let (mut began, mut done) = (BTreeMap::new(), std::collections::BTreeSet::new());
        let mut at_service = 0u64;
        for e in result.trace.expect("recorded") {
            match e.kind {
                EventKind::Command { app, .. } => {
                    f.calls += 1;
                    f.late_calls += u64::from(e.time.0 >= HEALTHY_AGAIN);
                    began.insert(app, e.time.0);
                }
                EventKind::Receive { to, .. } if to == service => {
                    f.requests += 1;
                    at_service += 1;
                    f.backlog = f.backlog.max(at_service);
                }
                EventKind::Send { from, .. } if from == service => at_service -= 1,
                EventKind::Call { outcome: CallOutcome::Rejected, .. } => f.refused += 1,
                EventKind::Call { app, outcome: CallOutcome::Ok, .. } if done.insert(app) => {
                    f.succeeded += 1;
                    f.late_succeeded += u64::from(began[&app] >= HEALTHY_AGAIN);
                    f.latencies_us.push((e.time.0 - began[&app]) / 1_000);
                }
                _ => {}
            }
        }
    }
    f.latencies_us.sort_unstable();
    f
}

fn table(rows: &[(&str, Figures)]) -> String {
    let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    let ms = |us: u64| us as f64 / 1000.0;
    let mut t = format!(
        "{SEEDS} seeds of scenarios/failure/storm.ron, per variant (the backlog is the worst seed's)\n\n\
         {:<28} {:>12} {:>9} {:>13} {:>9} {:>9} {:>10} {:>9}\n",
        "variant", "requests/call", "ok %", "ok % from 7s", "refused", "backlog", "median ms", "p99 ms"
    );
    for (name, f) in rows {
        let l = &f.latencies_us;
        let _ = writeln!(
            t,
            "{name:<28} {:>12.2} {:>9.1} {:>13.1} {:>9} {:>9} {:>10.1} {:>9.1}",
            f.requests as f64 / f.calls as f64,
            pct(f.succeeded, f.calls),
            pct(f.late_succeeded, f.late_calls),
            f.refused,
            f.backlog,
            ms(l[l.len() / 2]),
            ms(l[l.len() * 99 / 100]),
        );
    }
    t
}

#[test]
fn budgets_and_breakers_stop_the_retry_storm_and_the_books_table_is_current() {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/failure/storm.ron")).expect("readable");
    const RETRY: &str = "retry: (base_ms: 10, factor: 2, cap_ms: 200, jitter: 0.5, max_attempts: 4),";
    assert!(src.contains(RETRY), "the retry policy the variants keep is storm.ron's");
    const BREAKER: &str = "breaker: (window: Count(20), min_calls: 10, failure_rate: 0.5, slow_ms: 100, wait_ms: 500, half_open_calls: 3),";
    // storm.ron's calls protocol with `retry` as given and `extra` fields; a breaker is checked.
    let variant = |retry: &str, extra: &str| {
        let protocol = format!(
            "Calls(service: \"svc\", workers: 4, timeout_ms: 100, {retry} {extra} schedule: [\
             (at_ms: 0, phase: Healthy, errors: 0.01, latency_ms: (4, 8)), (at_ms: 2_000, phase: Failing, errors: 1.0, latency_ms: (1, 3)), \
             (at_ms: 4_000, phase: Recovering, errors: 0.1, latency_ms: (15, 25)), (at_ms: 7_000, phase: Healthy, errors: 0.01, latency_ms: (4, 8))])"
        );
        let mut text = set_top_level_field(&src, "protocol", &protocol);
        if extra.contains("breaker") {
            text = set_top_level_field(&text, "checks", "[CircuitBreaker]");
        }
        Scenario::parse(&text, "storm.ron").expect("valid")
    };
    let variants: Vec<(&str, Scenario)> = vec![
        ("no retries", variant("", "")),
        ("retries (the storm)", variant(RETRY, "")),
        ("retries, budget 10%", variant(RETRY, "budget: (ratio: 0.1, burst: 10),")),
        ("breaker inside retry", variant(RETRY, BREAKER)),
        ("retry inside breaker", variant(RETRY, &format!("{BREAKER} order: RetryInsideBreaker,"))),
    ];
    let rows: Vec<(&str, Figures)> = variants.iter().map(|(name, s)| (*name, measure(s))).collect();
    let get = |name: &str| &rows.iter().find(|(n, _)| *n == name).expect("measured").1;
    let late_ok = |name: &str| get(name).late_succeeded as f64 / get(name).late_calls as f64;
    // Without retries every call is one request, and the recovering service keeps up.
    assert_eq!(get("no retries").requests, get("no retries").calls);
    assert!(late_ok("no retries") > 0.95);
    // The storm outlives the failure: the healthy service stays swamped by retries.
    assert!(late_ok("retries (the storm)") < 0.2, "{}", late_ok("retries (the storm)"));
    assert!(get("retries (the storm)").backlog > 10 * get("no retries").backlog);
    // A budget or a breaker ends it once the service is healthy again (a breaker around
    // the whole call may still be open then, and refuses a while longer).
    for name in ["retries, budget 10%", "breaker inside retry", "retry inside breaker"] {
        assert!(late_ok(name) > 0.8, "{name}: {}", late_ok(name));
        assert!(get(name).backlog < get("retries (the storm)").backlog / 2, "{name}");
    }
    // Only the breakers refuse.
    assert_eq!(get("retries, budget 10%").refused, 0);
    assert!(get("breaker inside retry").refused > 0);
    let text = table(&rows);
    eprintln!("{text}");
    common::book_file_is_current("storm-compare.txt", &text);
}

//! Retransmission statistics against theory: delivery probability, transmissions,
//! duplicates, dead letters and latency of at-least-once delivery over a lossy link.
//!
//! The model. Each transmission, data or ack, is lost independently with
//! probability p; a message is sent at most k times. The retransmission timeout
//! (20 ms and up) exceeds the largest round trip (2 x 5 ms), so the ack of an
//! attempt, if any, always arrives before the next attempt is due: timing never
//! causes a retransmission, only loss does. An attempt brings back no ack when
//! its data is lost or its ack is, with probability
//!
//!   q = p + (1 - p) p = 1 - (1 - p)^2.
//!
//! Attempt i + 1 happens exactly when attempts 1..=i all brought back no ack,
//! so P(attempt i + 1 happens) = q^i, and
//!
//!   P(delivered)                       = 1 - p^k   (not delivered: every attempt happened and lost its data;
//!                                                   a lost data message never brings an ack, so each did happen)
//!   E[data transmissions]              = sum_{i=0}^{k-1} q^i
//!   E[deliveries without dedup]        = (1 - p) sum_{i=0}^{k-1} q^i   (each attempt that happens arrives w.p. 1 - p)
//!   E[acks]                            = E[deliveries]                 (one ack per arriving copy)
//!   E[wire messages]                   = E[data transmissions] + E[acks] = (2 - p) sum_{i=0}^{k-1} q^i
//!   E[duplicate deliveries, no dedup]  = (1 - p) sum_{i=0}^{k-1} q^i - (1 - p^k)
//!   P(dead-lettered)                   = q^k       (of which q^k - p^k after all: every ack lost)
//!   E[latency | delivered]             = sum_{i=1}^{k} p^{i-1} (1 - p) / (1 - p^k) * (sum_{m<i} E[w_m] + E[L])
//!
//! where w_m = b_m + U{0..=floor(jitter b_m)} is the wait after attempt m, b_m =
//! min(cap, base factor^(m-1)), and L the one-way latency (uniform 1..=5 ms,
//! mean 3 ms): the first delivery is by the first attempt whose data arrives.
//!
//! Messages are sent 2 s apart, longer than a message's whole retry span, so
//! the trace's events between two commands belong to the first of them; that
//! gives per-message samples, and the comparison is a z-test within five
//! standard errors (sample variances for means, binomial for rates), as in
//! `network_stats.rs`. The same numbers make the book's table
//! (`book/src/generated/delivery-stats.txt`); `UPDATE_BOOK=1` rewrites it.

mod common;

use msgsim::check::EndReason;
use msgsim::id::NodeId;
use msgsim::trace::EventKind;
use msgsim::{RunOptions, Scenario};
use std::fmt::Write as _;

/// How many standard errors a statistic may stray from theory.
const Z: f64 = 5.0;
const SEEDS: u64 = 4;
const MESSAGES_PER_SEED: u64 = 5_000;
const BASE_MS: u64 = 20;
const FACTOR: u64 = 2;
const CAP_MS: u64 = 1_000;
/// The jitter fraction, in tenths (0.1).
const JITTER_TENTHS: u64 = 1;
const LATENCY_MS: (u64, u64) = (1, 5);
/// (loss p, attempts k) swept.
const CONFIGS: &[(f64, u32)] = &[(0.1, 3), (0.3, 4), (0.5, 6)];

fn scenario(protocol: &str, p: f64, k: u32) -> Scenario {
    let (lo, hi) = LATENCY_MS;
    let retry = format!("retry: (base_ms: {BASE_MS}, factor: {FACTOR}, cap_ms: {CAP_MS}, jitter: 0.{JITTER_TENTHS}, max_attempts: {k})");
    let protocol = match protocol {
        "AtLeastOnce" => format!("AtLeastOnce({retry})"),
        _ => format!("ExactlyOnce({retry}, window: 1_000)"),
    };
    let src = format!(
        r#"Scenario(name: "delivery statistics", horizon_ms: {}, nodes: 2, protocol: {protocol},
            network: (latency: Uniform(min_ms: {lo}, max_ms: {hi}), loss: {p}),
            workload: [(from: "n0", to: "n1", every_ms: 2_000, count: {MESSAGES_PER_SEED})])"#,
        2_000 * (MESSAGES_PER_SEED + 1)
    );
    Scenario::parse(&src, "delivery_stats").unwrap_or_else(|e| panic!("{e}"))
}

/// What happened to one message, from the trace.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    transmissions: u64,
    acks: u64,
    deliveries: u64,
    dead_lettered: bool,
    /// Command to first delivery, in ns.
    latency_ns: Option<u64>,
}

/// One sample per message over `SEEDS` seeds.
fn samples(protocol: &str, p: f64, k: u32) -> Vec<Sample> {
    let scenario = scenario(protocol, p, k);
    let mut out = Vec::new();
    for seed in 0..SEEDS {
        let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
        assert_eq!(result.end.reason, EndReason::Quiescent, "every message resolved before the horizon");
        let mut current: Option<(u64, u64)> = None; // (app id, command time)
        for e in result.trace.as_deref().expect("recorded") {
            match e.kind {
                EventKind::Command { app, .. } => {
                    current = Some((app.0, e.time.0));
                    out.push(Sample::default());
                }
                EventKind::Send { from, .. } => {
                    let s = out.last_mut().expect("a send follows a command");
                    if from == NodeId(0) { s.transmissions += 1 } else { s.acks += 1 }
                }
                EventKind::Deliver { app, .. } => {
                    let (id, at) = current.expect("a delivery follows a command");
                    assert_eq!(app.0, id, "messages must not overlap in time");
                    let s = out.last_mut().expect("current");
                    s.deliveries += 1;
                    s.latency_ns.get_or_insert(e.time.0 - at);
                }
                EventKind::DeadLetter { app, .. } => {
                    assert_eq!(Some(app.0), current.map(|c| c.0), "messages must not overlap in time");
                    out.last_mut().expect("current").dead_lettered = true;
                }
                _ => {}
            }
        }
    }
    assert_eq!(out.len() as u64, SEEDS * MESSAGES_PER_SEED);
    for s in &out {
        assert!((1..=u64::from(k)).contains(&s.transmissions), "1 to k transmissions: {s:?}");
        assert!(s.acks <= s.transmissions, "one ack per arriving copy: {s:?}");
        // At-least-once delivers every arriving copy; exactly-once acks them all but delivers one.
        let deliveries = if protocol == "AtLeastOnce" { s.acks } else { s.acks.min(1) };
        assert_eq!(s.deliveries, deliveries, "{protocol}: {s:?}");
    }
    out
}

/// The theory of the module documentation, for loss `p` and `k` attempts.
struct Theory {
    delivered: f64,
    dead_lettered: f64,
    transmissions: f64,
    deliveries: f64,
    duplicates: f64,
    latency_ms: f64,
}

fn theory(p: f64, k: u32) -> Theory {
    let q = 1.0 - (1.0 - p) * (1.0 - p);
    let transmissions: f64 = (0..k).map(|i| q.powi(i as i32)).sum();
    let deliveries = (1.0 - p) * transmissions;
    let delivered = 1.0 - p.powi(k as i32);
    // Mean wait after attempt m (1-based): b_m plus a jitter uniform on 0..=floor(b_m / 10) ns.
    let wait_ms = |m: u32| {
        let b_ns = (BASE_MS * 1_000_000 * FACTOR.pow(m - 1)).min(CAP_MS * 1_000_000);
        (b_ns as f64 + (b_ns * JITTER_TENTHS / 10) as f64 / 2.0) / 1e6
    };
    let mean_latency_ms = (LATENCY_MS.0 + LATENCY_MS.1) as f64 / 2.0;
    let latency_ms = (1..=k)
        .map(|i| {
            let first_arrival_at_i = p.powi(i as i32 - 1) * (1.0 - p) / delivered;
            first_arrival_at_i * ((1..i).map(wait_ms).sum::<f64>() + mean_latency_ms)
        })
        .sum();
    Theory { delivered, dead_lettered: q.powi(k as i32), transmissions, deliveries, duplicates: deliveries - delivered, latency_ms }
}

/// A measured statistic: its mean, its standard error and the z-score against `predicted`.
struct Row {
    what: &'static str,
    predicted: f64,
    measured: f64,
    se: f64,
}

impl Row {
    /// A rate over Bernoulli trials: the standard error from the predicted rate.
    fn rate(what: &'static str, predicted: f64, hits: usize, n: usize) -> Row {
        Row { what, predicted, measured: hits as f64 / n as f64, se: (predicted * (1.0 - predicted) / n as f64).sqrt() }
    }

    /// A mean: the standard error from the sample variance.
    fn mean(what: &'static str, predicted: f64, xs: &[f64]) -> Row {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        Row { what, predicted, measured: mean, se: (var / n).sqrt() }
    }

    fn z(&self) -> f64 {
        if self.se > 0.0 { (self.measured - self.predicted) / self.se } else { 0.0 }
    }
}

fn rows(p: f64, k: u32, s: &[Sample]) -> Vec<Row> {
    let t = theory(p, k);
    let n = s.len();
    let f = |g: fn(&Sample) -> f64| s.iter().map(g).collect::<Vec<f64>>();
    let latencies: Vec<f64> = s.iter().filter_map(|s| s.latency_ns).map(|ns| ns as f64 / 1e6).collect();
    vec![
        Row::rate("delivered", t.delivered, s.iter().filter(|s| s.deliveries > 0).count(), n),
        Row::rate("dead-lettered", t.dead_lettered, s.iter().filter(|s| s.dead_lettered).count(), n),
        Row::mean("data transmissions", t.transmissions, &f(|s| s.transmissions as f64)),
        Row::mean("wire messages (data + acks)", t.transmissions + t.deliveries, &f(|s| (s.transmissions + s.acks) as f64)),
        Row::mean("deliveries (no dedup)", t.deliveries, &f(|s| s.deliveries as f64)),
        Row::mean("duplicates (no dedup)", t.duplicates, &f(|s| s.deliveries.saturating_sub(1) as f64)),
        Row::mean("latency if delivered, ms", t.latency_ms, &latencies),
    ]
}

/// Every statistic of every configuration, within Z standard errors; the table for the book.
fn measure() -> (String, Vec<String>) {
    let mut table = String::new();
    let mut failures = Vec::new();
    let _ = writeln!(
        table,
        "AtLeastOnce, loss p on data and acks, at most k attempts; {} messages per row ({SEEDS} seeds x {MESSAGES_PER_SEED}).",
        SEEDS * MESSAGES_PER_SEED
    );
    let _ = writeln!(table, "Waits {BASE_MS} ms x {FACTOR}^(i-1), cap {CAP_MS} ms, jitter 0.{JITTER_TENTHS}; latency uniform 1-5 ms.");
    let _ = writeln!(table, "Per message; se = standard error, z = (measured - predicted) / se; the test allows |z| <= {Z}.\n");
    let _ = writeln!(table, "   p  k  {:<28} {:>10} {:>10} {:>9} {:>7}", "quantity", "predicted", "measured", "5 se", "z");
    for &(p, k) in CONFIGS {
        for row in rows(p, k, &samples("AtLeastOnce", p, k)) {
            let z = row.z();
            let _ = writeln!(
                table,
                "{p:>4} {k:>2}  {:<28} {:>10.4} {:>10.4} {:>9} {z:>+7.2}",
                row.what,
                row.predicted,
                row.measured,
                format!("±{:.4}", Z * row.se)
            );
            if z.abs() > Z {
                failures
                    .push(format!("p {p}, k {k}: {} measured {:.5}, predicted {:.5}, z = {z:+.2}", row.what, row.measured, row.predicted));
            }
        }
    }
    (table, failures)
}

#[test]
fn at_least_once_statistics_match_theory_and_the_books_table_is_current() {
    let (table, failures) = measure();
    eprintln!("{table}");
    assert!(failures.is_empty(), "beyond {Z} standard errors:\n{}", failures.join("\n"));
    common::book_file_is_current("delivery-stats.txt", &table);
}

/// The formulas are not vacuous: a wrong one (here, forgetting that a lost ack also
/// causes a retransmission, q = p) is many standard errors away from the measurement.
#[test]
fn a_wrong_formula_is_rejected() {
    let (p, k) = (0.3, 4);
    let s = samples("AtLeastOnce", p, k);
    let naive: f64 = (0..k).map(|i| p.powi(i as i32)).sum();
    let xs: Vec<f64> = s.iter().map(|s| s.transmissions as f64).collect();
    let row = Row::mean("data transmissions", naive, &xs);
    assert!(row.z().abs() > 10.0 * Z, "q = p should be far off: z = {:+.2}", row.z());
}

/// Exactly-once sees the same network (its acks and retransmissions are the same), so
/// with the same seeds it sends the same transmissions, but delivers each message once.
#[test]
fn exactly_once_sends_the_same_and_delivers_once() {
    let (p, k) = (0.3, 4);
    let at_least = samples("AtLeastOnce", p, k);
    let exactly = samples("ExactlyOnce", p, k);
    for (a, e) in at_least.iter().zip(&exactly) {
        assert_eq!((a.transmissions, a.acks, a.dead_lettered), (e.transmissions, e.acks, e.dead_lettered));
        assert_eq!(e.deliveries, u64::from(a.deliveries > 0), "{a:?} / {e:?}");
    }
    assert!(at_least.iter().any(|s| s.deliveries > 1), "the comparison needs duplicates to suppress");
}

/// The waits follow the schedule exactly without jitter, and stay within it with jitter.
#[test]
fn retransmissions_follow_the_backoff_schedule() {
    let times = |jitter: &str| {
        let src = format!(
            r#"Scenario(name: "t", seed: 5, horizon_ms: 10_000, nodes: 2,
                protocol: AtLeastOnce(retry: (base_ms: 10, factor: 3, cap_ms: 50, jitter: {jitter}, max_attempts: 5)),
                network: (loss: 1.0), workload: [(from: "n0", to: "n1", every_ms: 1, count: 1)])"#
        );
        let scenario = Scenario::parse(&src, "t").unwrap_or_else(|e| panic!("{e}"));
        let result = msgsim::run(&scenario, scenario.seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
        let ms = |t: u64| t as f64 / 1e6;
        let trace = result.trace.expect("recorded");
        let sends: Vec<f64> = trace.iter().filter(|e| matches!(e.kind, EventKind::Send { .. })).map(|e| ms(e.time.0)).collect();
        let dead: Vec<f64> = trace.iter().filter(|e| matches!(e.kind, EventKind::DeadLetter { .. })).map(|e| ms(e.time.0)).collect();
        (sends, dead)
    };
    // Waits 10, 30, 50 (90 capped), 50, then the last one before the dead letter, 50.
    assert_eq!(times("0"), (vec![0.0, 10.0, 40.0, 90.0, 140.0], vec![190.0]));
    let (sends, dead) = times("0.5");
    let waits: Vec<f64> = sends.windows(2).map(|w| w[1] - w[0]).chain([dead[0] - sends[4]]).collect();
    for (wait, b) in waits.iter().zip([10.0, 30.0, 50.0, 50.0, 50.0]) {
        assert!((b..=1.5 * b).contains(wait), "wait {wait} outside [{b}, {}]", 1.5 * b);
    }
    assert!(waits.iter().zip([10.0, 30.0, 50.0, 50.0, 50.0]).any(|(w, b)| *w != b), "jitter changed something: {waits:?}");
}

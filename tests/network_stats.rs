//! The simulated network's fault statistics against theory.
//!
//! Every rate and every latency distribution is measured over at least 100,000
//! trials and compared with what the scenario asks for, within five standard
//! deviations (five standard errors for means). Runs are deterministic, so a
//! test that passes once passes always; five sigma leaves room for the seed to
//! be changed without making the tests flaky, while a wrong formula (a wrong
//! denominator, a distribution that is not truncated as documented, an
//! off-by-one in a bound) moves the statistic by many sigma.
//!
//! Theoretical means are computed here, independently of `msgsim::dist`: in
//! closed form where one is simple, otherwise by Simpson integration of the
//! density with `f64` from `std`.

use msgsim::check::EndReason;
use msgsim::dist::{Latency, LatencySpec};
use msgsim::rng::{SimRng, Stream};
use msgsim::trace::{EventKind, TraceEvent};
use msgsim::{RunOptions, RunResult, Scenario};
use std::collections::BTreeMap;

/// How many standard deviations a statistic may stray from theory.
const Z: f64 = 5.0;

/// Messages sent in each statistical run.
const N: u64 = 100_000;

/// Nanoseconds per millisecond.
const MS: f64 = 1e6;

fn run(ron: &str, seed: u64) -> RunResult {
    let scenario = Scenario::parse(ron, "network_stats").unwrap_or_else(|e| panic!("scenario does not validate:\n{e}"));
    let result =
        msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("BestEffort does not panic");
    assert_eq!(result.end.reason, EndReason::Quiescent, "the horizon must not cut the run short");
    result
}

/// Two nodes, `count` unicasts n0 -> n1 every `every_ms`, over `network`.
fn two_nodes(network: &str, every_ms: f64, count: u64, size_bytes: u64) -> String {
    let horizon_ms = every_ms * count as f64 + 10_000.0;
    format!(
        r#"Scenario(
            name: "network statistics", horizon_ms: {horizon_ms}, nodes: 2,
            protocol: BestEffort(checksum: false),
            network: {network},
            workload: [(from: "n0", to: "n1", every_ms: {every_ms}, count: {count}, size_bytes: {size_bytes})],
        )"#
    )
}

fn trace(result: &RunResult) -> &[TraceEvent] {
    result.trace.as_deref().expect("the trace was recorded")
}

/// `hits` of `n` Bernoulli(p) trials: the observed rate is within Z sigma of p.
fn assert_rate(what: &str, hits: u64, n: u64, p: f64) {
    let observed = hits as f64 / n as f64;
    let sigma = (p * (1.0 - p) / n as f64).sqrt();
    let z = (observed - p) / sigma;
    eprintln!("{what}: {hits}/{n} = {observed:.6}, theory {p}, sigma {sigma:.2e}, z = {z:+.2}");
    assert!(z.abs() <= Z, "{what}: {hits}/{n} = {observed:.6}, expected {p} within {Z} sigma (sigma {sigma:.2e}, z = {z:+.2})");
}

// ---------------------------------------------------------------- loss

fn check_loss(p: f64, seed: u64) {
    let result = run(&two_nodes(&format!("(loss: {p})"), 0.01, N, 64), seed);
    let m = result.messages;
    assert_eq!(m.sent, N);
    assert_eq!(m.dropped, m.drops.lost, "loss is the only way to drop here");
    assert_eq!(m.delivered, m.sent - m.drops.lost, "every message not lost arrives exactly once");
    assert_rate(&format!("loss {p}"), m.drops.lost, m.sent, p);
}

#[test]
fn loss_rate_of_ten_percent_matches_configured_probability() {
    check_loss(0.1, 1);
}

#[test]
fn loss_rate_of_one_percent_matches_configured_probability() {
    check_loss(0.01, 2);
}

// ------------------------------------------------- duplication, corruption

/// Loss, duplication and corruption together, so that the denominators matter:
/// only messages that survive loss can be duplicated (`route` draws loss
/// first), and each copy that arrives, the original and its duplicate, draws
/// its own corruption. With these rates the naive denominators are far off:
/// `sent` instead of `sent - dropped` for duplication is 30% too many trials,
/// and ignoring duplicates for corruption 20% too few.
const FAULTY: &str = "(loss: 0.3, duplicate: 0.2, corrupt: 0.1)";

#[test]
fn duplication_rate_among_messages_that_survive_loss_matches_configured_probability() {
    let result = run(&two_nodes(FAULTY, 0.01, N, 64), 3);
    let m = result.messages;
    assert_eq!(m.sent, N);
    assert_eq!(m.dropped, m.drops.lost);
    assert_rate("duplicate 0.2 of (sent - dropped)", m.duplicated, m.sent - m.dropped, 0.2);
    // Every surviving message arrives once, and its duplicate once more.
    assert_eq!(m.delivered, m.sent - m.dropped + m.duplicated);
    // A lost message is never duplicated, and nothing is duplicated twice.
    let mut lost = BTreeMap::new();
    let mut dups = BTreeMap::new();
    for e in trace(&result) {
        match e.kind {
            EventKind::Drop { msg, .. } => *lost.entry(msg).or_insert(0u32) += 1,
            EventKind::Duplicate { msg, .. } => *dups.entry(msg).or_insert(0u32) += 1,
            _ => {}
        }
    }
    assert!(dups.keys().all(|m| !lost.contains_key(m)), "a lost message was duplicated");
    assert!(dups.values().all(|&c| c == 1), "a message was duplicated twice");
}

#[test]
fn corruption_rate_among_arrived_copies_including_duplicates_matches_configured_probability() {
    let result = run(&two_nodes(FAULTY, 0.01, N, 64), 4);
    let m = result.messages;
    // Copies that can be corrupted: each message that survived loss, plus each duplicate.
    let copies = m.sent - m.dropped + m.duplicated;
    assert_rate("corrupt 0.1 of (sent - dropped + duplicated)", m.corrupted, copies, 0.1);

    // The same, split into originals and duplicates: each copy draws its own
    // corruption, so both rates are p and both-corrupted is p^2. In the trace a
    // message's events are Send, [Corrupt of the original], [Duplicate, [Corrupt of the duplicate]].
    let (mut originals_corrupt, mut duplicates_corrupt, mut both, mut corrupt_receives) = (0, 0, 0, 0);
    // msg -> (duplicated yet, original corrupted)
    let mut state: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
    for e in trace(&result) {
        match e.kind {
            EventKind::Send { msg, .. } => {
                state.insert(msg.0, (false, false));
            }
            EventKind::Duplicate { msg, .. } => state.get_mut(&msg.0).expect("duplicate after send").0 = true,
            EventKind::Corrupt { msg, .. } => {
                let (duplicated, original_corrupt) = state.get_mut(&msg.0).expect("corrupt after send");
                if *duplicated {
                    duplicates_corrupt += 1;
                    both += u64::from(*original_corrupt);
                } else {
                    *original_corrupt = true;
                    originals_corrupt += 1;
                }
            }
            EventKind::Receive { corrupted, .. } => corrupt_receives += u64::from(corrupted),
            _ => {}
        }
    }
    let (originals, duplicates) = (m.sent - m.dropped, m.duplicated);
    assert_eq!(originals_corrupt + duplicates_corrupt, m.corrupted);
    assert_eq!(corrupt_receives, m.corrupted, "every corrupted copy arrives marked corrupted");
    assert_rate("corrupt 0.1 of original copies", originals_corrupt, originals, 0.1);
    assert_rate("corrupt 0.1 of duplicate copies", duplicates_corrupt, duplicates, 0.1);
    assert_rate("both copies corrupt, 0.01 of duplicated messages", both, duplicates, 0.01);
}

// ---------------------------------------------------------------- latency

/// Mean and variance of a density on `[a, b]` (normalised here), by composite Simpson.
fn moments(pdf: impl Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    const STEPS: usize = 1 << 16;
    let h = (b - a) / STEPS as f64;
    let (mut z, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for i in 0..=STEPS {
        let x = a + h * i as f64;
        let w = if i == 0 || i == STEPS {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let f = w * pdf(x);
        z += f;
        m1 += f * x;
        m2 += f * x * x;
    }
    let mean = m1 / z;
    (mean, m2 / z - mean * mean)
}

/// What a distribution should look like: theory's mean and variance, and the hard bounds.
struct Expect {
    mean: f64,
    var: f64,
    min: u64,
    max: u64,
}

/// The sample mean is within Z standard errors of theory and every sample within bounds.
fn check_samples(what: &str, samples: &[u64], expect: &Expect) {
    let n = samples.len() as f64;
    let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / n;
    let se = (expect.var / n).sqrt();
    let (lo, hi) = (*samples.iter().min().unwrap(), *samples.iter().max().unwrap());
    let z = if se > 0.0 { (mean - expect.mean) / se } else { 0.0 };
    let bound = |b: u64| if b == u64::MAX { "inf".to_string() } else { format!("{:.4}", b as f64 / MS) };
    eprintln!(
        "{what}: n = {n}, sample mean {:.4} ms, theory {:.4} ms, se {:.2} us, z = {z:+.2}; range [{:.4}, {:.4}] ms within [{}, {}] ms",
        mean / MS,
        expect.mean / MS,
        se / 1e3,
        lo as f64 / MS,
        hi as f64 / MS,
        bound(expect.min),
        bound(expect.max)
    );
    if se == 0.0 {
        assert_eq!(mean, expect.mean, "{what}: a constant distribution");
    }
    assert!(z.abs() <= Z, "{what}: sample mean {mean} ns, expected {} ns within {Z} standard errors ({se} ns; z = {z:+.2})", expect.mean);
    assert!(lo >= expect.min, "{what}: sample {lo} ns below the lower bound {} ns", expect.min);
    assert!(hi <= expect.max, "{what}: sample {hi} ns above the upper bound {} ns", expect.max);
}

/// Samples drawn directly from the distribution, as the network draws them.
fn draw(spec: &LatencySpec, n: usize, seed: u64) -> (Latency, Vec<u64>) {
    let latency = Latency::new(spec);
    let mut rng = SimRng::new(seed, Stream::Network);
    let samples = (0..n).map(|_| latency.sample(&mut rng)).collect();
    (latency, samples)
}

/// `mean_ns()` (the exact mean of the quantile table) agrees with theory to within
/// a small fraction of the standard error: the table's approximation is invisible.
fn check_table_mean(what: &str, latency: &Latency, expect: &Expect) {
    let se = (expect.var / N as f64).sqrt();
    let diff = latency.mean_ns() - expect.mean;
    eprintln!("{what}: mean_ns() {:.1} ns, theory {:.1} ns, difference {diff:+.2} ns", latency.mean_ns(), expect.mean);
    assert!(diff.abs() <= (0.01 * se).max(1.0), "{what}: mean_ns() {} ns vs theory {} ns", latency.mean_ns(), expect.mean);
}

const SAMPLES: usize = 400_000;

fn normal_pdf(mean: f64, std: f64) -> impl Fn(f64) -> f64 {
    move |x: f64| (-0.5 * ((x - mean) / std).powi(2)).exp()
}

/// Normal(mean, std) truncated to `[min, max]` (an unbounded top integrated to 14 sigma).
fn truncated_normal(mean: f64, std: f64, min: f64, max: Option<f64>) -> Expect {
    let top = max.unwrap_or(mean + 14.0 * std);
    let (m, var) = moments(normal_pdf(mean, std), min, top);
    Expect { mean: m, var, min: min as u64, max: max.map_or(u64::MAX, |h| h as u64) }
}

/// `offset + Exp(mean)`; the density integrated to 40 means.
fn shifted_exponential(mean: f64, offset: f64) -> Expect {
    let (m, var) = moments(|x: f64| (-(x - offset) / mean).exp(), offset, offset + 40.0 * mean);
    // Closed form, as a check on the integration: offset + mean, variance mean^2.
    assert!((m - (offset + mean)).abs() < 1e-6 * mean, "integrated {m}");
    assert!((var - mean * mean).abs() < 1e-6 * mean * mean, "integrated {var}");
    Expect { mean: m, var, min: offset as u64, max: u64::MAX }
}

/// Pareto(scale, shape) truncated to `[scale, max]`.
fn capped_pareto(scale: f64, shape: f64, max: f64) -> Expect {
    let (m, var) = moments(|x: f64| (scale / x).powf(shape + 1.0), scale, max);
    // Closed form (shape != 1): shape L^a (L^(1-a) - H^(1-a)) / ((a - 1) (1 - (L/H)^a)).
    let closed =
        shape * scale.powf(shape) * (scale.powf(1.0 - shape) - max.powf(1.0 - shape)) / ((shape - 1.0) * (1.0 - (scale / max).powf(shape)));
    assert!((m - closed).abs() < 1e-6 * closed, "integrated {m}, closed form {closed}");
    Expect { mean: m, var, min: scale as u64, max: max as u64 }
}

#[test]
fn constant_latency_is_exactly_the_constant() {
    let spec = LatencySpec::Constant { ns: 3_500_000 };
    let (latency, samples) = draw(&spec, SAMPLES, 10);
    let expect = Expect { mean: 3.5 * MS, var: 0.0, min: 3_500_000, max: 3_500_000 };
    check_samples("Constant(3.5 ms)", &samples, &expect);
    assert_eq!(latency.mean_ns(), 3.5 * MS);
    assert_eq!(latency.max_ns(), 3_500_000);
}

#[test]
fn uniform_latency_has_the_midpoint_mean_and_stays_within_min_and_max() {
    let (min, max) = (1_000_000u64, 40_000_000u64);
    let (latency, samples) = draw(&LatencySpec::Uniform { min_ns: min, max_ns: max }, SAMPLES, 11);
    // Discrete uniform on min..=max.
    let k = (max - min + 1) as f64;
    let expect = Expect { mean: (min + max) as f64 / 2.0, var: (k * k - 1.0) / 12.0, min, max };
    check_samples("Uniform(1, 40 ms)", &samples, &expect);
    check_table_mean("Uniform(1, 40 ms)", &latency, &expect);
    // Both ends are reachable: the extremes come within 0.01% of the range of the bounds.
    let slack = (max - min) / 10_000;
    assert!(*samples.iter().min().unwrap() < min + slack && *samples.iter().max().unwrap() > max - slack);

    // On a range of four nanoseconds the sampling is checked value by value:
    // min and max are both included and each of the four is equally likely.
    let (_, small) = draw(&LatencySpec::Uniform { min_ns: 1_000, max_ns: 1_003 }, N as usize, 16);
    assert!(small.iter().all(|v| (1_000..=1_003).contains(v)), "a sample outside [1000, 1003] ns");
    for v in 1_000..=1_003 {
        let hits = small.iter().filter(|&&s| s == v).count() as u64;
        assert_rate(&format!("Uniform(1000, 1003 ns) = {v}"), hits, N, 0.25);
    }
}

#[test]
fn normal_latency_has_the_truncated_normal_mean_and_stays_within_min_and_max() {
    // Asymmetric truncation (-2 sigma, +3.5 sigma) moves the mean by 0.109 ms,
    // about 18 standard errors: an untruncated mean would fail.
    let spec = LatencySpec::Normal { mean_ns: 5.0 * MS, std_ns: 2.0 * MS, min_ns: 1.0 * MS, max_ns: Some(12.0 * MS) };
    let expect = truncated_normal(5.0 * MS, 2.0 * MS, 1.0 * MS, Some(12.0 * MS));
    let (latency, samples) = draw(&spec, SAMPLES, 12);
    check_samples("Normal(5, 2 ms) in [1, 12 ms]", &samples, &expect);
    check_table_mean("Normal(5, 2 ms) in [1, 12 ms]", &latency, &expect);
    assert_eq!(latency.max_ns(), 12_000_000);
}

#[test]
fn normal_latency_without_max_is_truncated_at_min_only() {
    // min 0 cuts at -1 sigma: the mean rises from 2 ms to 2 + 2 phi(1) / Phi(1) = 2.575 ms.
    let spec = LatencySpec::Normal { mean_ns: 2.0 * MS, std_ns: 2.0 * MS, min_ns: 0.0, max_ns: None };
    let mut expect = truncated_normal(2.0 * MS, 2.0 * MS, 0.0, None);
    assert!((expect.mean - 2.575_20 * MS).abs() < 1e-4 * MS, "{}", expect.mean);
    // Documented: without max the table reaches "about six sigma".
    expect.max = (2.0 * MS + 6.5 * 2.0 * MS) as u64;
    let (latency, samples) = draw(&spec, SAMPLES, 13);
    check_samples("Normal(2, 2 ms) in [0, inf)", &samples, &expect);
    check_table_mean("Normal(2, 2 ms) in [0, inf)", &latency, &expect);
    assert!(latency.max_ns() <= expect.max && latency.max_ns() >= (2.0 * MS + 5.5 * 2.0 * MS) as u64, "{}", latency.max_ns());
}

#[test]
fn exponential_latency_has_mean_offset_plus_mean_and_never_undercuts_the_offset() {
    let spec = LatencySpec::Exponential { mean_ns: 2.0 * MS, offset_ns: 1.5 * MS };
    let expect = shifted_exponential(2.0 * MS, 1.5 * MS);
    let (latency, samples) = draw(&spec, SAMPLES, 14);
    check_samples("1.5 ms + Exp(2 ms)", &samples, &expect);
    check_table_mean("1.5 ms + Exp(2 ms)", &latency, &expect);
}

#[test]
fn pareto_latency_has_the_capped_pareto_mean_and_stays_within_scale_and_max() {
    // Shape 1.5 capped at 100x the scale: mean 2.7027 ms (uncapped it would be 3 ms, 21 standard errors away).
    let spec = LatencySpec::Pareto { scale_ns: 1.0 * MS, shape: 1.5, max_ns: Some(100.0 * MS) };
    let expect = capped_pareto(1.0 * MS, 1.5, 100.0 * MS);
    let (latency, samples) = draw(&spec, SAMPLES, 15);
    check_samples("Pareto(1 ms, 1.5) capped at 100 ms", &samples, &expect);
    check_table_mean("Pareto(1 ms, 1.5) capped at 100 ms", &latency, &expect);
    assert_eq!(latency.max_ns(), 100_000_000);
}

/// Delivery delays in a full run: each Receive matched to its Send by message id.
fn delivery_delays(result: &RunResult) -> Vec<u64> {
    let mut sent_at = BTreeMap::new();
    let mut delays = Vec::new();
    for e in trace(result) {
        match e.kind {
            EventKind::Send { msg, .. } => {
                sent_at.insert(msg, e.time.0);
            }
            EventKind::Receive { msg, .. } => delays.push(e.time.0 - sent_at[&msg]),
            _ => {}
        }
    }
    delays
}

fn check_run_latency(what: &str, latency: &str, expect: &Expect, seed: u64) {
    // reorder: true, so FIFO adds no delay; no faults, so every message arrives once.
    let result = run(&two_nodes(&format!("(latency: {latency}, reorder: true)"), 0.01, N, 64), seed);
    let delays = delivery_delays(&result);
    assert_eq!(delays.len() as u64, N, "every message arrives exactly once");
    check_samples(what, &delays, expect);
}

#[test]
fn delivery_delays_in_a_run_follow_the_capped_pareto_latency() {
    let expect = capped_pareto(1.0 * MS, 1.5, 100.0 * MS);
    check_run_latency("run: Pareto(1 ms, 1.5) capped at 100 ms", "Pareto(scale_ms: 1, shape: 1.5, max_ms: 100)", &expect, 20);
}

#[test]
fn delivery_delays_in_a_run_follow_the_truncated_normal_latency() {
    let expect = truncated_normal(5.0 * MS, 2.0 * MS, 1.0 * MS, Some(12.0 * MS));
    check_run_latency("run: Normal(5, 2 ms) in [1, 12 ms]", "Normal(mean_ms: 5, std_ms: 2, min_ms: 1, max_ms: 12)", &expect, 21);
}

#[test]
fn delivery_delays_in_a_run_follow_the_shifted_exponential_latency() {
    let expect = shifted_exponential(2.0 * MS, 1.5 * MS);
    check_run_latency("run: 1.5 ms + Exp(2 ms)", "Exponential(mean_ms: 2, offset_ms: 1.5)", &expect, 22);
}

#[test]
fn delivery_delays_in_a_run_follow_the_uniform_latency() {
    let k = 39_000_001.0f64;
    let expect = Expect { mean: 20.5 * MS, var: (k * k - 1.0) / 12.0, min: 1_000_000, max: 40_000_000 };
    check_run_latency("run: Uniform(1, 40 ms)", "Uniform(min_ms: 1, max_ms: 40)", &expect, 23);
}

// ---------------------------------------------------------------- FIFO

/// Three nodes sending to each other at random; (pairs, pairs seen out of send order).
/// Message ids grow in send order, so a pair is in order when its receives' ids never decrease.
fn receive_order(reorder: bool) -> (usize, usize) {
    let ron = format!(
        r#"Scenario(
            name: "fifo", horizon_ms: 10_000, nodes: 3,
            protocol: BestEffort(checksum: false),
            network: (latency: Uniform(min_ms: 1, max_ms: 40), duplicate: 0.1, reorder: {reorder}),
            workload: [(from: "*", to: "*", every_ms: 0.1, count: 10_000)],
        )"#
    );
    let result = run(&ron, 30);
    let mut last: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    let mut inversions = 0;
    let mut out_of_order: BTreeMap<(u32, u32), bool> = BTreeMap::new();
    for e in trace(&result) {
        if let EventKind::Receive { from, to, msg, .. } = e.kind {
            let pair = (from.0, to.0);
            let prev = last.insert(pair, msg.0);
            let bad = prev.is_some_and(|p| msg.0 < p);
            inversions += usize::from(bad);
            *out_of_order.entry(pair).or_default() |= bad;
        }
    }
    let pairs = out_of_order.len();
    let bad_pairs = out_of_order.values().filter(|&&b| b).count();
    eprintln!("reorder {reorder}: {pairs} pairs, {bad_pairs} out of send order, {inversions} inversions");
    (pairs, bad_pairs)
}

#[test]
fn fifo_links_deliver_every_pairs_messages_in_send_order() {
    let (pairs, bad) = receive_order(false);
    assert_eq!(pairs, 6);
    assert_eq!(bad, 0, "a FIFO link reordered messages");
}

#[test]
fn reordering_links_deliver_some_messages_out_of_send_order() {
    let (pairs, bad) = receive_order(true);
    assert_eq!(pairs, 6);
    assert!(bad > 0, "reorder: true with 1-40 ms uniform latency reordered nothing");
}

// ---------------------------------------------------------------- bandwidth

/// 1 Mbit/s and 1226 payload bytes + 24 header bytes = 10,000 bits: 10 ms on the wire.
const SERIALISE_NS: u64 = 10_000_000;
const LINK_LATENCY_NS: u64 = 5_000_000;

/// (send time, delivery delay) of each delivered message, and the run's counts.
fn bandwidth_run(workload: &str) -> (Vec<(u64, u64)>, RunResult) {
    let ron = format!(
        r#"Scenario(
            name: "bandwidth", horizon_ms: 10_000, nodes: 2,
            protocol: BestEffort(),
            network: (latency: Constant(ms: 5), bandwidth_bps: 1_000_000, queue_limit: 4),
            workload: {workload},
        )"#
    );
    let result = run(&ron, 40);
    let mut sent_at = BTreeMap::new();
    let mut out = Vec::new();
    for e in trace(&result) {
        match e.kind {
            EventKind::Send { msg, size, .. } => {
                assert_eq!(u64::from(size) * 8 * 1_000_000_000 / 1_000_000, SERIALISE_NS, "wire size {size} B");
                sent_at.insert(msg, e.time.0);
            }
            EventKind::Receive { msg, .. } => out.push((sent_at[&msg], e.time.0 - sent_at[&msg])),
            _ => {}
        }
    }
    (out, result)
}

#[test]
fn a_burst_beyond_the_queue_limit_is_tail_dropped_and_queued_messages_wait_one_serialisation_each() {
    // Two bursts of 10 back-to-back messages, the second after the link has drained.
    let (delivered, result) = bandwidth_run(
        r#"[(from: "n0", to: "n1", every_ms: 0, count: 10, size_bytes: 1226),
            (from: "n0", to: "n1", start_ms: 1000, every_ms: 0, count: 10, size_bytes: 1226)]"#,
    );
    let m = result.messages;
    assert_eq!(m.sent, 20);
    assert!(m.drops.queue_full > 0);
    assert_eq!(m.drops.queue_full, 2 * (10 - 4), "the queue holds 4 messages, the one on the wire included");
    assert_eq!(m.dropped, m.drops.queue_full);
    // The k-th accepted message of a burst waits for k earlier ones and its own serialisation.
    let expected: Vec<(u64, u64)> =
        [0, 1_000_000_000].into_iter().flat_map(|start| (1..=4).map(move |k| (start, k * SERIALISE_NS + LINK_LATENCY_NS))).collect();
    eprintln!("burst delays (ns): {:?}", delivered.iter().map(|d| d.1).collect::<Vec<_>>());
    assert_eq!(delivered, expected);
}

#[test]
fn the_queue_frees_a_place_exactly_when_a_message_leaves_the_wire() {
    // A burst of 4 fills the queue at 0. At 9.999 ms the first is still on the wire
    // (dropped); at 10 ms it has left (accepted, behind the three still queued).
    let (delivered, result) = bandwidth_run(
        r#"[(from: "n0", to: "n1", every_ms: 0, count: 4, size_bytes: 1226),
            (from: "n0", to: "n1", start_ms: 9.999, every_ms: 0, count: 1, size_bytes: 1226),
            (from: "n0", to: "n1", start_ms: 10, every_ms: 0, count: 1, size_bytes: 1226)]"#,
    );
    assert_eq!(result.messages.drops.queue_full, 1);
    let expected = vec![
        (0, SERIALISE_NS + LINK_LATENCY_NS),
        (0, 2 * SERIALISE_NS + LINK_LATENCY_NS),
        (0, 3 * SERIALISE_NS + LINK_LATENCY_NS),
        (0, 4 * SERIALISE_NS + LINK_LATENCY_NS),
        // Sent at 10 ms, leaves the wire at 50 ms, arrives at 55 ms.
        (SERIALISE_NS, 4 * SERIALISE_NS + LINK_LATENCY_NS),
    ];
    assert_eq!(delivered, expected);
}

#[test]
fn a_steady_stream_faster_than_the_wire_queues_at_the_serialisation_rate() {
    // One message every 4 ms into a 10 ms wire: message k (0-based), if accepted,
    // leaves the wire one serialisation after the previous accepted one.
    let (delivered, result) = bandwidth_run(r#"[(from: "n0", to: "n1", every_ms: 4, count: 50, size_bytes: 1226)]"#);
    let m = result.messages;
    // Model of the queue, written from the documented semantics.
    let mut queue: std::collections::VecDeque<u64> = Default::default();
    let mut expected = Vec::new();
    let mut drops = 0;
    for k in 0..50u64 {
        let now = 4_000_000 * k;
        while queue.front().is_some_and(|&done| done <= now) {
            queue.pop_front();
        }
        if queue.len() >= 4 {
            drops += 1;
            continue;
        }
        let departs = queue.back().copied().unwrap_or(now).max(now) + SERIALISE_NS;
        queue.push_back(departs);
        expected.push((now, departs + LINK_LATENCY_NS - now));
    }
    assert!(drops > 0);
    assert_eq!(m.drops.queue_full, drops);
    assert_eq!(delivered, expected);
    // Once the queue is saturated, deliveries are exactly one serialisation time apart.
    let arrivals: Vec<u64> = delivered.iter().map(|(s, d)| s + d).collect();
    assert!(arrivals.windows(2).all(|w| w[1] - w[0] == SERIALISE_NS), "{arrivals:?}");
}

// ---------------------------------------------------------------- the link as a server

/// (send time, delivery delay) of each delivered message over a link whose server takes
/// `service` and holds at most `limit` messages, and the run.
fn served_run(service: &str, limit: &str, workload: &str, seed: u64, options: RunOptions) -> (Vec<(u64, u64)>, RunResult) {
    let ron = format!(
        r#"Scenario(
            name: "served", horizon_ms: 10_000, nodes: 2,
            protocol: BestEffort(),
            network: (latency: Constant(ms: 5), service: {service}{limit}),
            workload: {workload},
        )"#
    );
    let scenario = Scenario::parse(&ron, "served").unwrap_or_else(|e| panic!("{e}"));
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..options }).expect("no panic");
    let mut sent_at = BTreeMap::new();
    let mut out = Vec::new();
    for e in trace(&result) {
        match e.kind {
            EventKind::Send { msg, .. } => {
                sent_at.insert(msg, e.time.0);
            }
            EventKind::Receive { msg, .. } => out.push((sent_at[&msg], e.time.0 - sent_at[&msg])),
            _ => {}
        }
    }
    (out, result)
}

#[test]
fn a_constant_service_queues_exactly_as_a_wire_of_the_same_time() {
    // The bandwidth burst test's two bursts of 10, over a server that takes the 10 ms the wire
    // took to serialise: the same tail drops (the one in service counts towards the limit of
    // 4) and the same delays, whatever the messages' sizes.
    let (delivered, result) = served_run(
        "Constant(ms: 10)",
        ", queue_limit: 4",
        r#"[(from: "n0", to: "n1", every_ms: 0, count: 10, size_bytes: 1),
            (from: "n0", to: "n1", start_ms: 1000, every_ms: 0, count: 10, size_bytes: 50_000)]"#,
        1,
        RunOptions::default(),
    );
    assert_eq!(result.messages.drops.queue_full, 2 * (10 - 4));
    assert_eq!(result.messages.dropped, result.messages.drops.queue_full);
    let expected: Vec<(u64, u64)> =
        [0, 1_000_000_000].into_iter().flat_map(|start| (1..=4).map(move |k| (start, k * SERIALISE_NS + LINK_LATENCY_NS))).collect();
    assert_eq!(delivered, expected);
}

#[test]
fn service_draws_leave_every_other_draw_where_it_was() {
    // The same scenario with and without an exponential server and a lossy, reordering link:
    // the server draws from its own stream, so every transmission's loss and latency are the
    // ones the network stream gave without it.
    let decisions = |service: &str| {
        let ron = format!(
            r#"Scenario(name: "streams", horizon_ms: 10_000, nodes: 2, protocol: BestEffort(),
                network: (latency: Uniform(min_ms: 1, max_ms: 40), loss: 0.1, reorder: true{service}),
                workload: [(from: "n0", to: "n1", every_ms: 5, count: 500)])"#
        );
        let scenario = Scenario::parse(&ron, "streams").unwrap_or_else(|e| panic!("{e}"));
        msgsim::run(&scenario, 3, &RunOptions { decisions: true, ..RunOptions::default() }).expect("no panic").decisions.expect("recorded")
    };
    let plain = decisions("");
    let served = decisions(", service: Exponential(mean_ms: 4)");
    let strip = |d: &[msgsim::net::Decision]| d.iter().map(|d| (d.msg, d.lost, d.latency_ns)).collect::<Vec<_>>();
    assert_eq!(strip(&plain), strip(&served));
    assert!(plain.iter().all(|d| d.service_ns.is_none()));
    // Every admitted message was served, for a drawn time: not all the same.
    let times: std::collections::BTreeSet<u64> = served.iter().filter(|d| !d.lost).map(|d| d.service_ns.expect("served")).collect();
    assert!(times.len() > 400, "{} distinct service times", times.len());
}

#[test]
fn an_override_that_sets_one_way_of_serving_replaces_the_other() {
    // The network serialises at 1 Mbit/s (10 ms for these messages) with room for 4. The
    // override serves n0 -> n1 in a constant 2 ms instead, and keeps the inherited limit.
    let ron = r#"Scenario(name: "override", horizon_ms: 10_000, nodes: 2, protocol: BestEffort(),
        network: (latency: Constant(ms: 5), bandwidth_bps: 1_000_000, queue_limit: 4),
        links: [(from: "n0", to: "n1", one_way: true, service: Constant(ms: 2))],
        workload: [(from: "n0", to: "n1", every_ms: 0, count: 6, size_bytes: 1226)])"#;
    let scenario = Scenario::parse(ron, "override").unwrap_or_else(|e| panic!("{e}"));
    let (_, model) = scenario.links.iter().find(|((a, b), _)| (a.0, b.0) == (0, 1)).expect("overridden");
    assert_eq!((model.bandwidth_bps, model.service.as_ref().map(|s| s.max_ns()), model.queue_limit), (None, Some(2_000_000), Some(4)));
    let result = msgsim::run(&scenario, 1, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let arrivals: Vec<u64> =
        trace(&result).iter().filter_map(|e| matches!(e.kind, EventKind::Receive { .. }).then_some(e.time.0)).collect();
    assert_eq!(arrivals, [7, 9, 11, 13].map(|ms| ms * 1_000_000), "served 2 ms each, not serialised for 10");
    assert_eq!(result.messages.drops.queue_full, 2);
    // And the other way round: a served network, one link given a bandwidth.
    let ron = r#"Scenario(name: "override", horizon_ms: 1_000, nodes: 2, protocol: BestEffort(),
        network: (service: Exponential(mean_ms: 1)),
        links: [(from: "n0", to: "n1", bandwidth_bps: 8_000)],
        workload: [(from: "n0", to: "n1", every_ms: 1, count: 1)])"#;
    let scenario = Scenario::parse(ron, "override").unwrap_or_else(|e| panic!("{e}"));
    assert!(scenario.links.iter().all(|(_, m)| m.service.is_none() && m.bandwidth_bps == Some(8_000)));
}

/// Postmortem-style guard for the budget: a server slower than its arrivals with no queue
/// limit grows its queue without bound; every queued message is in flight, so the in-flight
/// budget stops the run, as it stops an overloaded wire.
#[test]
fn an_unbounded_link_queue_is_stopped_by_the_in_flight_budget() {
    let ron = r#"Scenario(name: "overload", horizon_ms: 100_000, nodes: 2, protocol: BestEffort(),
        network: (service: Constant(ms: 10)),
        workload: [(from: "n0", to: "n1", every_ms: 1, count: 50_000)],
        limits: (max_in_flight: 1_000))"#;
    let scenario = Scenario::parse(ron, "overload").unwrap_or_else(|e| panic!("{e}"));
    let result = msgsim::run(&scenario, 1, &RunOptions::default()).expect("no panic");
    assert_eq!(result.end.reason, EndReason::MaxInFlight);
    // The queue grows by nine messages every 10 ms: a little over a second of sends.
    assert!(result.messages.sent < 1_200, "sent {}", result.messages.sent);
}

// ---------------------------------------------------------------- fragmentation

/// A message cut into k fragments, each lost with probability p, arrives only if all do:
/// with probability (1 - p)^k. It arrives with its last fragment: for latency uniform on
/// [a, b], the largest of k samples has mean a + (b - a) k / (k + 1).
#[test]
fn fragmented_messages_are_lost_with_any_fragment_and_arrive_with_the_last() {
    let (p, k, a, b): (f64, u32, f64, f64) = (0.05, 4, 1.0, 11.0);
    // 3,500 bytes and BestEffort's header over a 1,024-byte MTU: four fragments.
    let network = format!("(latency: Uniform(min_ms: {a}, max_ms: {b}), loss: {p}, reorder: true, mtu_bytes: 1024)");
    let result = run(&two_nodes(&network, 0.01, N, 3_500), 1);
    let m = result.messages;
    assert_eq!(m.dropped, m.drops.fragment_lost, "with fragments, every loss is a lost fragment");
    assert_rate("message loss over 4 fragments", m.drops.fragment_lost, m.sent, 1.0 - (1.0 - p).powi(k as i32));
    let sends: BTreeMap<u64, u64> = trace(&result)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Send { msg, size, .. } => {
                assert!(size > 3 * 1024 && size <= 4 * 1024, "the message is four fragments long: {size} B");
                Some((msg.0, e.time.0))
            }
            _ => None,
        })
        .collect();
    let latencies: Vec<f64> = trace(&result)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Receive { msg, .. } => Some((e.time.0 - sends[&msg.0]) as f64 / MS),
            _ => None,
        })
        .collect();
    let n = latencies.len() as f64;
    let mean = latencies.iter().sum::<f64>() / n;
    let expected = a + (b - a) * f64::from(k) / f64::from(k + 1);
    // The largest of k uniforms on [0, 1] has variance k / ((k + 1)^2 (k + 2)).
    let sd = (b - a) * (f64::from(k) / (f64::from(k + 1).powi(2) * f64::from(k + 2))).sqrt();
    let z = (mean - expected) / (sd / n.sqrt());
    eprintln!("fragmented latency: mean {mean:.4} ms, theory {expected:.4} ms, z = {z:+.2}");
    assert!(z.abs() <= Z, "mean latency {mean} ms, expected {expected} ms (z = {z:+.2})");
    assert_eq!(m.duplicated, 0);
}

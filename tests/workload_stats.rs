//! The workload's arrivals and sizes against theory: Poisson counts, phases, drawn sizes.
//!
//! Each statistic is compared with its formula within five standard errors, as
//! `network_stats.rs` does: runs are deterministic, so a test that passes once passes
//! always, five sigma leaves room to change the seed without flakiness, and a wrong
//! formula (a gap drawn in the wrong unit, a phase boundary that keeps the old rate, a
//! rate off by a factor) moves the statistic by many sigma.

use msgsim::trace::{EventKind, TraceEvent};
use msgsim::{RunOptions, Scenario};

/// How many standard errors a statistic may stray from theory.
const Z: f64 = 5.0;

/// The times (ns) at which `n0`'s workload commands were given, over a run of `workload`.
fn command_times(workload: &str, horizon_ms: u64, seed: u64) -> Vec<u64> {
    trace_of(workload, horizon_ms, seed).iter().filter_map(|e| matches!(e.kind, EventKind::Command { .. }).then_some(e.time.0)).collect()
}

fn trace_of(workload: &str, horizon_ms: u64, seed: u64) -> Vec<TraceEvent> {
    let ron = format!(
        r#"Scenario(
            name: "workload statistics", horizon_ms: {horizon_ms}, nodes: 2,
            protocol: BestEffort(checksum: false),
            workload: [{workload}],
        )"#
    );
    let scenario = Scenario::parse(&ron, "workload_stats").unwrap_or_else(|e| panic!("scenario does not validate:\n{e}"));
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    result.trace.expect("recorded")
}

/// Sends per window of `window_ns` over `[from, to)`: their mean and sample variance.
fn window_counts(times: &[u64], from: u64, to: u64, window_ns: u64) -> (f64, f64, usize) {
    let windows = ((to - from) / window_ns) as usize;
    let mut counts = vec![0u64; windows];
    for &t in times.iter().filter(|&&t| t >= from && t < from + windows as u64 * window_ns) {
        counts[((t - from) / window_ns) as usize] += 1;
    }
    let n = windows as f64;
    let mean = counts.iter().sum::<u64>() as f64 / n;
    let var = counts.iter().map(|&c| (c as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var, windows)
}

/// Counts of a Poisson(`lambda`) process in `n` disjoint windows: the sample mean has
/// standard error sqrt(lambda / n); the sample variance, whose expectation is lambda,
/// has standard error sqrt((lambda + 2 lambda^2) / n) (the fourth central moment of a
/// Poisson variable is lambda + 3 lambda^2). Windows are independent for a Poisson process.
fn assert_poisson(what: &str, mean: f64, var: f64, n: usize, lambda: f64) {
    let se_mean = (lambda / n as f64).sqrt();
    let se_var = ((lambda + 2.0 * lambda * lambda) / n as f64).sqrt();
    let (z_mean, z_var) = ((mean - lambda) / se_mean, (var - lambda) / se_var);
    eprintln!("{what}: {n} windows, mean {mean:.4} (z {z_mean:+.2}), variance {var:.4} (z {z_var:+.2}), theory {lambda}");
    assert!(z_mean.abs() <= Z, "{what}: mean count {mean} is not within {Z} sigma of {lambda} (z = {z_mean:+.2})");
    assert!(z_var.abs() <= Z, "{what}: count variance {var} is not within {Z} sigma of {lambda} (z = {z_var:+.2})");
}

#[test]
fn rate_per_s_gives_poisson_counts_per_window() {
    // 1,000 per second for 100 s: 10,000 windows of 10 ms, 10 sends expected in each.
    let times = command_times(r#"(from: "n0", to: "n1", rate_per_s: 1000)"#, 100_000, 1);
    let (mean, var, n) = window_counts(&times, 0, 100_000_000_000, 10_000_000);
    assert_poisson("rate_per_s 1000, 10 ms windows", mean, var, n, 10.0);
}

#[test]
fn exponential_gaps_give_poisson_counts_per_window() {
    // Mean gap 2 ms for 200 s: 10,000 windows of 20 ms, 10 sends expected in each.
    let times = command_times(r#"(from: "n0", to: "n1", gap: Exponential(mean_ms: 2))"#, 200_000, 2);
    let (mean, var, n) = window_counts(&times, 0, 200_000_000_000, 20_000_000);
    assert_poisson("Exponential(mean_ms: 2) gaps, 20 ms windows", mean, var, n, 10.0);
}

#[test]
fn regular_gaps_are_not_poisson() {
    // The control: constant gaps put exactly 10 sends in every window, variance 0, which
    // the Poisson test above would reject; so it can tell the two apart.
    let times = command_times(r#"(from: "n0", to: "n1", gap: Constant(ms: 1), count: 20000)"#, 30_000, 3);
    let (mean, var, _) = window_counts(&times, 1_000_000, 20_001_000_000, 10_000_000);
    assert_eq!((mean, var), (10.0, 0.0));
}

#[test]
fn phases_change_the_rate_at_their_boundaries() {
    // Silent for 1 s, 500 per second for 50 s, silent 10 s, then 2,000 per second for 50 s.
    let workload = r#"(from: "n0", to: "n1", phases: [
        (at_ms: 1000, rate_per_s: 500), (at_ms: 51000, rate_per_s: 0), (at_ms: 61000, rate_per_s: 2000)])"#;
    let times = command_times(workload, 111_000, 4);
    const S: u64 = 1_000_000_000;
    assert!(times.iter().all(|&t| (S..51 * S).contains(&t) || (61 * S..111 * S).contains(&t)), "a send in a silent phase");
    let (mean, var, n) = window_counts(&times, S, 51 * S, 20_000_000);
    assert_poisson("phase at 500/s, 20 ms windows", mean, var, n, 10.0);
    let (mean, var, n) = window_counts(&times, 61 * S, 111 * S, 5_000_000);
    assert_poisson("phase at 2000/s, 5 ms windows", mean, var, n, 10.0);
}

#[test]
fn count_stops_a_drawn_schedule() {
    let times = command_times(r#"(from: "n0", to: "n1", rate_per_s: 1000, count: 250)"#, 10_000, 5);
    assert_eq!(times.len(), 250);
}

#[test]
fn drawn_sizes_have_the_distributions_mean() {
    // Uniform sizes 100..=300 bytes, 100,000 messages: the mean payload is 200 bytes, with
    // standard error sqrt(((201^2 - 1) / 12) / n) = 0.18 bytes. BestEffort's header is the
    // fixed difference between a send's size and its payload's, read off a fixed-size run.
    let header = {
        let t = trace_of(r#"(from: "n0", to: "n1", every_ms: 1, count: 1, size_bytes: 0)"#, 100, 6);
        t.iter().find_map(|e| if let EventKind::Send { size, .. } = e.kind { Some(u64::from(size)) } else { None }).expect("a send")
    };
    let trace =
        trace_of(r#"(from: "n0", to: "n1", every_ms: 0.01, count: 100000, size: Uniform(min_bytes: 100, max_bytes: 300))"#, 10_000, 6);
    let sizes: Vec<u64> = trace
        .iter()
        .filter_map(|e| if let EventKind::Send { size, .. } = e.kind { Some(u64::from(size) - header) } else { None })
        .collect();
    assert_eq!(sizes.len(), 100_000);
    assert!(sizes.iter().all(|s| (100..=300).contains(s)), "a size outside the distribution's range");
    let mean = sizes.iter().sum::<u64>() as f64 / sizes.len() as f64;
    let se = ((201.0f64 * 201.0 - 1.0) / 12.0 / sizes.len() as f64).sqrt();
    eprintln!("uniform sizes: mean {mean:.3}, theory 200, se {se:.3}");
    assert!(((mean - 200.0) / se).abs() <= Z, "mean size {mean} is not within {Z} sigma of 200");
}

#[test]
fn drawn_schedules_are_reproducible_and_depend_on_the_seed() {
    let w = r#"(from: "n0", to: "n1", rate_per_s: 100, size: Exponential(mean_bytes: 500))"#;
    assert_eq!(command_times(w, 10_000, 7), command_times(w, 10_000, 7));
    assert_ne!(command_times(w, 10_000, 7), command_times(w, 10_000, 8));
}

#[test]
fn drawn_schedules_write_back_as_they_read() {
    // `msgsim shrink` writes the workload back from the validated scenario: the fields it
    // writes must read back as the same schedule, or a shrunk file would not reproduce.
    for w in [
        r#"(from: "n0", to: "n1", phases: [(at_ms: 10, rate_per_s: 50.5), (at_ms: 400, rate_per_s: 0)], size: Normal(mean_bytes: 300, std_bytes: 40, min_bytes: 10))"#,
        r#"(from: "n0", to: "n1", gap: Pareto(scale_ms: 0.25, shape: 1.5, max_ms: 9), size: Pareto(scale_bytes: 10, shape: 2))"#,
        r#"(from: "n0", to: "n1", every_ms: 0.0125, count: 7, size_bytes: 3)"#,
    ] {
        let ron = |w: &str| format!(r#"Scenario(name: "w", horizon_ms: 1000, nodes: 2, protocol: BestEffort(), workload: [{w}])"#);
        let scenario = Scenario::parse(&ron(w), "a").expect("valid");
        let g = &scenario.workload[0];
        let again = format!(r#"(from: "n0", to: "n1", {}, count: {}, {})"#, g.arrivals_ron(), g.count, g.size_ron());
        assert_eq!(trace_of(w, 1000, 9), trace_of(&again, 1000, 9), "{again}");
    }
}

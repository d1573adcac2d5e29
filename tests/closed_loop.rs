//! Closed-loop clients against theory: the interactive response time law X = N / (R + Z), and
//! mean value analysis of the closed network the clients and their server form.
//!
//! N clients each invoke an operation on one server, wait for the reply, think for an
//! exponential time with mean Z, and invoke the next. The server is a first-come-first-served
//! queue with exponential service (mean S); the links add a constant D both ways together. That
//! network has product form, so exact mean value analysis gives its throughput and response
//! time: R_s(n) = S (1 + Q(n - 1)), X(n) = n / (R_s(n) + D + Z), Q(n) = X(n) R_s(n).
//!
//! Statistics are batch means over B = 40 batches of 2.5 s after a 1 s warm-up: operations in
//! one batch are correlated, batches hardly at all (the network forgets its state within a few
//! cycles of about 15 ms, and a batch holds over a hundred). The measured value must lie within
//! Z = 5 standard errors of theory (see `queueing.rs` for why five); an error in the law's
//! bookkeeping (think time counted in the response, one client too many) or in the server's
//! discipline (replying before serving) moves them by far more.

mod common;

use msgsim::trace::{EventKind, OpOutcome, TraceEvent};
use msgsim::{RunOptions, Scenario};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const Z_MAX: f64 = 5.0;
const B: usize = 40;
const BATCH_NS: u64 = 2_500_000_000;
const WARM_NS: u64 = 1_000_000_000;

/// The configuration: N clients, service mean S, think mean Z, round-trip link delay D (ms).
struct Loop {
    n: usize,
    s_ms: f64,
    z_ms: f64,
    d_ms: f64,
}

impl Loop {
    /// Exact MVA: (throughput per second, mean response time in ms).
    fn mva(&self) -> (f64, f64) {
        let (mut q, mut x, mut r) = (0.0, 0.0, 0.0);
        for n in 1..=self.n {
            let rs = self.s_ms * (1.0 + q);
            r = rs + self.d_ms;
            x = n as f64 / (r + self.z_ms);
            q = x * rs;
        }
        (x * 1000.0, r)
    }

    fn scenario(&self) -> String {
        let clients: Vec<String> = (0..self.n).map(|i| format!("\"c{i}\"")).collect();
        format!(
            r#"Scenario(
                name: "closed loop", horizon_ms: {h}, nodes: ["s", {c}],
                protocol: Service(clients: [{c}], servers: ["s"], timeout_ms: 10000,
                    think: Exponential(mean_ms: {z}), service: Exponential(mean_ms: {s})),
                network: (latency: Constant(ms: {half})),
            )"#,
            h = (WARM_NS + B as u64 * BATCH_NS) / 1_000_000,
            c = clients.join(", "),
            z = self.z_ms,
            s = self.s_ms,
            half = self.d_ms / 2.0,
        )
    }
}

/// Per batch: operations answered, their summed latency, think times ended and their sum (ns).
#[derive(Clone, Default)]
struct Batch {
    ok: u64,
    response_ns: u64,
    thinks: u64,
    think_ns: u64,
}

fn measure(l: &Loop, seed: u64) -> (Vec<Batch>, u64) {
    let scenario = Scenario::parse(&l.scenario(), "closed_loop").unwrap_or_else(|e| panic!("{e}"));
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let trace: Vec<TraceEvent> = result.trace.expect("recorded");
    let mut batches = vec![Batch::default(); B];
    let batch = |t: u64| t.checked_sub(WARM_NS).map(|t| (t / BATCH_NS) as usize).filter(|&b| b < B);
    let mut invoked: BTreeMap<(u32, u64), u64> = BTreeMap::new();
    let mut last_end: BTreeMap<u32, u64> = BTreeMap::new();
    let mut timeouts = 0;
    for e in &trace {
        let EventKind::Op { node, op, outcome, .. } = e.kind else { continue };
        let now = e.time.0;
        match outcome {
            OpOutcome::Invoke => {
                invoked.insert((node.0, op), now);
                if let (Some(end), Some(b)) = (last_end.get(&node.0), batch(now)) {
                    batches[b].thinks += 1;
                    batches[b].think_ns += now - end;
                }
            }
            OpOutcome::Ok => {
                let start = invoked.remove(&(node.0, op)).expect("invoked first");
                last_end.insert(node.0, now);
                if let Some(b) = batch(now) {
                    batches[b].ok += 1;
                    batches[b].response_ns += now - start;
                }
            }
            OpOutcome::Timeout => timeouts += 1,
        }
    }
    (batches, timeouts)
}

fn batch_mean(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = v.collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt())
}

struct Row {
    what: &'static str,
    theory: f64,
    measured: f64,
    se: f64,
}

fn compare(l: &Loop, seed: u64) -> Vec<Row> {
    let (batches, timeouts) = measure(l, seed);
    assert_eq!(timeouts, 0, "the timeout is far above any response time");
    let secs = BATCH_NS as f64 / 1e9;
    let x = batch_mean(batches.iter().map(|b| b.ok as f64 / secs));
    let r = batch_mean(batches.iter().map(|b| b.response_ns as f64 / b.ok as f64 / 1e6));
    // The law with measured quantities: N / (R + Z) per batch.
    let law = batch_mean(batches.iter().map(|b| {
        let (r, z) = (b.response_ns as f64 / b.ok as f64, b.think_ns as f64 / b.thinks as f64);
        l.n as f64 / ((r + z) / 1e9)
    }));
    let (x_mva, r_mva) = l.mva();
    vec![
        Row { what: "throughput X (ops/s) against MVA", theory: x_mva, measured: x.0, se: x.1 },
        Row { what: "response time R (ms) against MVA", theory: r_mva, measured: r.0, se: r.1 },
        Row { what: "X against N / (R + Z), R and Z measured", theory: law.0, measured: x.0, se: x.1.max(law.1) },
    ]
}

const LOOPS: [(&str, Loop, u64); 2] = [
    ("N 10, S 1 ms, Z 10 ms, D 2 ms", Loop { n: 10, s_ms: 1.0, z_ms: 10.0, d_ms: 2.0 }, 1),
    ("N 30, S 1 ms, Z 10 ms, D 2 ms", Loop { n: 30, s_ms: 1.0, z_ms: 10.0, d_ms: 2.0 }, 2),
];

fn measured() -> &'static [Vec<Row>] {
    static ROWS: OnceLock<Vec<Vec<Row>>> = OnceLock::new();
    ROWS.get_or_init(|| LOOPS.iter().map(|(_, l, seed)| compare(l, *seed)).collect())
}

fn assert_rows(name: &str, rows: &[Row]) {
    for r in rows {
        let z = (r.measured - r.theory) / r.se;
        eprintln!("{name}: {}: theory {:.4}, measured {:.4} +- {:.4} (z {z:+.2})", r.what, r.theory, r.measured, r.se);
        assert!(z.abs() <= Z_MAX, "{name}: {} measured {} is not within {Z_MAX} standard errors of {}", r.what, r.measured, r.theory);
    }
}

#[test]
fn light_load_matches_mva_and_the_response_time_law() {
    assert_rows(LOOPS[0].0, &measured()[0]);
}

#[test]
fn saturated_server_matches_mva_and_the_response_time_law() {
    // 30 clients keep the server busy nearly all the time: X approaches 1/S = 1000 per second.
    assert_rows(LOOPS[1].0, &measured()[1]);
}

#[test]
fn mva_is_the_textbook_recursion() {
    // One client never queues: X = 1 / (S + D + Z).
    let (x, r) = Loop { n: 1, s_ms: 1.0, z_ms: 10.0, d_ms: 2.0 }.mva();
    assert!((x - 1000.0 / 13.0).abs() < 1e-9 && (r - 3.0).abs() < 1e-12);
}

#[test]
fn book_table_of_closed_loops_is_current() {
    let mut out = String::from("| clients and server | quantity | theory | measured | standard error |\n|---|---|---:|---:|---:|\n");
    for ((name, _, seed), rows) in LOOPS.iter().zip(measured()) {
        for r in rows {
            out.push_str(&format!("| {name} (seed {seed}) | {} | {:.3} | {:.3} | {:.3} |\n", r.what, r.theory, r.measured, r.se));
        }
    }
    common::book_file_is_current("queueing-closed-loop.md", &out);
}

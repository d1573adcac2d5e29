//! A mailbox with a service time is a queue: Poisson arrivals, exponential service and a
//! bounded mailbox make an M/M/1/K queue, whose loss probability, mean wait and Little's law
//! are checked against the formulas here; the measured-versus-theory table is the book's. A
//! link with a service time is one too, measured the same way from its sends, `QueueFull`
//! drops and receives, against M/M/1/K and against M/D/1 (Pollaczek-Khinchine), whose wait
//! is half the exponential one, so a service drawn from the wrong distribution is caught.
//!
//! The statistic for each quantity is its mean over B = 40 consecutive batches of one long
//! run (batch means). Waits in a queue are correlated, so the binomial or i.i.d. standard
//! error would be too small; the queue forgets its state in about (1/mu)/(1 - sqrt(rho))^2
//! (90 ms at rho = 0.8), so batches of 10 s hold about a hundred relaxation times each and
//! their means are close to independent. The standard error is the batch means' sample
//! standard deviation over sqrt(B), and a measurement must lie within Z = 5 of them: a run is
//! deterministic, so this is not about flakiness but about leaving room to change the seed,
//! while a wrong capacity (K off by one moves the loss probability by a fifth at rho = 0.8), a
//! service time in the wrong unit or a wait measured from the wrong event misses by far more.

mod common;

use msgsim::dist::{Latency, LatencySpec};
use msgsim::id::MsgId;
use msgsim::trace::{DropReason, EventKind, TraceEvent};
use msgsim::{RunOptions, Scenario};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// How many standard errors a statistic may stray from theory.
const Z: f64 = 5.0;
/// Batches per run.
const B: usize = 40;
/// Seconds per batch.
const BATCH_S: u64 = 10;
const NS_PER_S: f64 = 1e9;

/// M/M/1/K: arrivals at `lambda`, service at `mu` (per second), at most `k` in the system
/// (one in service, `k - 1` waiting).
struct Theory {
    lambda: f64,
    mu: f64,
    k: u32,
}

impl Theory {
    fn rho(&self) -> f64 {
        self.lambda / self.mu
    }
    /// Probability of `n` in the system: (1 - rho) rho^n / (1 - rho^(K+1)).
    fn p(&self, n: u32) -> f64 {
        let r = self.rho();
        (1.0 - r) * r.powi(n as i32) / (1.0 - r.powi(self.k as i32 + 1))
    }
    /// An arrival finds the system full (PASTA): P_K.
    fn loss(&self) -> f64 {
        self.p(self.k)
    }
    /// Mean number in the system.
    fn l(&self) -> f64 {
        (0..=self.k).map(|n| f64::from(n) * self.p(n)).sum()
    }
    /// Mean time in the system of an admitted message (Little: L = lambda (1 - P_K) W), in s.
    fn w(&self) -> f64 {
        self.l() / (self.lambda * (1.0 - self.loss()))
    }
    /// Mean wait before service, in s.
    fn wq(&self) -> f64 {
        self.w() - 1.0 / self.mu
    }
}

/// Per batch: arrivals, losses, admitted messages' summed waits and times in system, and the
/// integral of the number in the system over time (ns).
#[derive(Clone, Default)]
struct Batch {
    arrivals: u64,
    lost: u64,
    done: u64,
    wait_ns: u64,
    system_ns: u64,
    area: u128,
}

struct Measured {
    batches: Vec<Batch>,
}

/// Runs `n0 -> n1` at `lambda` per second into a mailbox of `k - 1` places whose process
/// serves each message in Exp(1/mu), for B batches after a warm-up batch, and measures it.
fn measure(t: &Theory, seed: u64) -> Measured {
    let horizon_s = (B as u64 + 1) * BATCH_S;
    let ron = format!(
        r#"Scenario(
            name: "M/M/1/K", horizon_ms: {h}, nodes: 2,
            protocol: BestEffort(checksum: false),
            network: (latency: Constant(ms: 1)),
            mailboxes: [(nodes: ["n1"], capacity: {cap}, service: Exponential(mean_ms: {svc}), trace_served: true)],
            workload: [(from: "n0", to: "n1", rate_per_s: {lambda})],
        )"#,
        h = horizon_s * 1000,
        cap = t.k - 1,
        svc = 1000.0 / t.mu,
        lambda = t.lambda,
    );
    let scenario = Scenario::parse(&ron, "queueing").unwrap_or_else(|e| panic!("scenario does not validate:\n{e}"));
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let trace: Vec<TraceEvent> = result.trace.expect("recorded");
    let batch_ns = BATCH_S * 1_000_000_000;
    // Batch 0 is the warm-up; an admitted message belongs to the batch it arrived in.
    let index = |t: u64| (t / batch_ns) as usize;
    let mut batches = vec![Batch::default(); B + 1];
    let mut arrived: BTreeMap<MsgId, u64> = BTreeMap::new();
    let (mut in_system, mut since) = (0u64, 0u64);
    let mut step = |now: u64, delta: i64, batches: &mut Vec<Batch>| {
        // The number in the system is constant since the last change: add its area, split
        // at batch boundaries.
        let mut t = since;
        while t < now {
            let end = now.min((t / batch_ns + 1) * batch_ns);
            if let Some(b) = batches.get_mut(index(t)) {
                b.area += u128::from(in_system) * u128::from(end - t);
            }
            t = end;
        }
        since = now;
        in_system = in_system.checked_add_signed(delta).expect("never below zero");
    };
    for e in &trace {
        let now = e.time.0;
        match e.kind {
            EventKind::Queued { to, msg, .. } if to.0 == 1 => {
                arrived.insert(msg, now);
                batches[index(now)].arrivals += 1;
                step(now, 1, &mut batches);
            }
            EventKind::Receive { to, msg, .. } if to.0 == 1 => {
                // Straight into service if it never queued.
                if let std::collections::btree_map::Entry::Vacant(v) = arrived.entry(msg) {
                    v.insert(now);
                    batches[index(now)].arrivals += 1;
                    step(now, 1, &mut batches);
                } else {
                    let a = arrived[&msg];
                    if let Some(b) = batches.get_mut(index(a)) {
                        b.wait_ns += now - a;
                    }
                }
            }
            EventKind::Drop { to, reason: DropReason::MailboxFull, .. } if to.0 == 1 => {
                batches[index(now)].arrivals += 1;
                batches[index(now)].lost += 1;
            }
            EventKind::Served { node, msg } if node.0 == 1 => {
                step(now, -1, &mut batches);
                let a = arrived.remove(&msg).expect("served after it arrived");
                if let Some(b) = batches.get_mut(index(a)) {
                    b.done += 1;
                    b.system_ns += now - a;
                }
            }
            EventKind::Drop { to, .. } if to.0 == 1 => panic!("only a full mailbox drops here"),
            _ => {}
        }
    }
    batches.remove(0);
    batches.truncate(B);
    Measured { batches }
}

/// A batch-means estimate: (mean, standard error).
fn batch_mean(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = values.collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// One row of the comparison: name, theory, measured, standard error.
struct Row {
    what: String,
    theory: f64,
    measured: f64,
    se: f64,
}

impl Row {
    fn z(&self) -> f64 {
        (self.measured - self.theory) / self.se
    }
}

/// The batch-means estimates of one measured queue: (mean, standard error) each.
struct Estimates {
    loss: (f64, f64),
    /// Mean wait before service, ms.
    wq: (f64, f64),
    /// Mean time in system, ms.
    w: (f64, f64),
    /// Mean number in system.
    l: (f64, f64),
    /// The admitted rate times the time in system, both measured.
    little: (f64, f64),
}

fn estimate(m: &Measured) -> Estimates {
    let b = &m.batches;
    let batch_ns = BATCH_S as f64 * NS_PER_S;
    Estimates {
        loss: batch_mean(b.iter().map(|b| b.lost as f64 / b.arrivals as f64)),
        wq: batch_mean(b.iter().map(|b| b.wait_ns as f64 / b.done as f64 / 1e6)),
        w: batch_mean(b.iter().map(|b| b.system_ns as f64 / b.done as f64 / 1e6)),
        l: batch_mean(b.iter().map(|b| b.area as f64 / batch_ns)),
        // Little's law with measured quantities only: the admitted rate times the time in system.
        little: batch_mean(b.iter().map(|b| (b.arrivals - b.lost) as f64 / batch_ns * b.system_ns as f64 / b.done as f64)),
    }
}

fn row(what: &str, theory: f64, (measured, se): (f64, f64)) -> Row {
    Row { what: what.to_string(), theory, measured, se }
}

/// The M/M/1/K rows: loss, waits, number in system against the formulas, and Little's law.
fn mm1k_rows(t: &Theory, e: &Estimates) -> Vec<Row> {
    vec![
        row("loss probability P_K", t.loss(), e.loss),
        row("mean wait W_q (ms)", t.wq() * 1e3, e.wq),
        row("mean time in system W (ms)", t.w() * 1e3, e.w),
        row("mean number in system L", t.l(), e.l),
        Row { what: "L against lambda_eff W, both measured (Little)".to_string(), theory: e.little.0, measured: e.l.0, se: e.l.1 },
    ]
}

fn compare(t: &Theory, seed: u64) -> Vec<Row> {
    mm1k_rows(t, &estimate(&measure(t, seed)))
}

fn assert_rows(name: &str, rows: &[Row]) {
    for r in rows {
        eprintln!("{name}: {}: theory {:.6}, measured {:.6} +- {:.6} (z {:+.2})", r.what, r.theory, r.measured, r.se, r.z());
        assert!(r.z().abs() <= Z, "{name}: {} measured {} is not within {Z} standard errors of {}", r.what, r.measured, r.theory);
    }
}

#[test]
fn theory_uses_the_textbook_numbers() {
    // The issue's example: rho = 0.8, K = 10 loses 2.3493% of arrivals.
    let t = Theory { lambda: 800.0, mu: 1000.0, k: 10 };
    assert!((t.loss() - 0.023493).abs() < 5e-7, "{}", t.loss());
}

#[test]
fn the_sampled_exponential_is_close_enough_to_the_formula() {
    // The formulas assume exact exponentials; the quantile tables behind `Exponential` and
    // `rate_per_s` have means within 1e-3 of the ideal, far below the tests' tolerances.
    for mean_ns in [1e6, 1.25e6, 2e6] {
        let table = Latency::new(&LatencySpec::Exponential { mean_ns, offset_ns: 0.0 });
        let rel = table.mean_ns() / mean_ns - 1.0;
        assert!(rel.abs() < 1e-3, "table mean off by {rel:e}");
    }
}

/// The queues measured, each run once for all the tests that look at it.
const QUEUES: [(&str, Theory, u64); 2] =
    [("rho 0.8, K 10", Theory { lambda: 800.0, mu: 1000.0, k: 10 }, 1), ("rho 1.2, K 5", Theory { lambda: 1200.0, mu: 1000.0, k: 5 }, 2)];

fn measured() -> &'static [Vec<Row>] {
    static ROWS: OnceLock<Vec<Vec<Row>>> = OnceLock::new();
    ROWS.get_or_init(|| QUEUES.iter().map(|(_, t, seed)| compare(t, *seed)).collect())
}

#[test]
fn mm1k_at_rho_0_8_k_10_matches_the_formulas() {
    assert_rows(QUEUES[0].0, &measured()[0]);
}

#[test]
fn mm1k_overloaded_rho_1_2_k_5_matches_the_formulas() {
    assert_rows(QUEUES[1].0, &measured()[1]);
}

#[test]
fn a_capacity_off_by_one_is_caught() {
    // The control: the same run judged against K = 11 (as if the message in service did
    // not count) fails the loss-probability comparison.
    let rows = &measured()[0];
    let wrong = Theory { lambda: 800.0, mu: 1000.0, k: 11 };
    let z = (rows[0].measured - wrong.loss()) / rows[0].se;
    assert!(z.abs() > Z, "K = 11 would pass too (z = {z:+.2})");
}

#[test]
fn book_table_of_queues_is_current() {
    let mut out = String::from("| queue | quantity | theory | measured | standard error | z |\n|---|---|---:|---:|---:|---:|\n");
    for ((name, t, seed), rows) in QUEUES.iter().zip(measured()) {
        for r in rows {
            out.push_str(&format!(
                "| {name} (lambda {}/s, mu {}/s, seed {seed}) | {} | {:.6} | {:.6} | {:.6} | {:+.2} |\n",
                t.lambda,
                t.mu,
                r.what,
                r.theory,
                r.measured,
                r.se,
                r.z()
            ));
        }
    }
    common::book_file_is_current("queueing-mm1k.md", &out);
}

// ---------------------------------------------------------------- the link as a server

/// The link's constant latency, which every delivery pays after the server: what is left of a
/// delivery delay without it is the time at the link (the wait and the service).
const LINK_LATENCY_MS: u64 = 1;

/// Runs `n0 -> n1` at `lambda` per second over a link that serves each message in a time
/// drawn from `service`, with `queue_limit: k` (the one in service counted, so K = k) or
/// unbounded, for B batches after a warm-up batch, and measures it from the trace alone: a
/// `send` is an arrival, a `QueueFull` drop a loss, and an admitted message leaves the server
/// at its `receive` less the link's latency. The server is FIFO, so a message waits for as long
/// as the admitted message before it still held the server when it arrived.
fn measure_link(lambda: f64, service: &str, k: Option<u32>, seed: u64) -> Measured {
    let horizon_s = (B as u64 + 1) * BATCH_S;
    let limit = k.map_or(String::new(), |k| format!(", queue_limit: {k}"));
    let ron = format!(
        r#"Scenario(
            name: "link server", horizon_ms: {h}, nodes: 2,
            protocol: BestEffort(checksum: false),
            network: (latency: Constant(ms: {LINK_LATENCY_MS}), service: {service}{limit}),
            workload: [(from: "n0", to: "n1", rate_per_s: {lambda})],
        )"#,
        h = horizon_s * 1000,
    );
    let scenario = Scenario::parse(&ron, "queueing").unwrap_or_else(|e| panic!("scenario does not validate:\n{e}"));
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let trace: Vec<TraceEvent> = result.trace.expect("recorded");
    let latency_ns = LINK_LATENCY_MS * 1_000_000;
    let horizon_ns = horizon_s * 1_000_000_000;
    /// What became of one message at the link.
    enum Fate {
        AtTheLink,
        Lost,
        Left(u64),
    }
    // Per message, in send order (one sender, so message ids are in send order): its arrival
    // and what became of it.
    let mut messages: BTreeMap<MsgId, (u64, Fate)> = BTreeMap::new();
    let mut dropped = 0u64;
    for e in &trace {
        match e.kind {
            EventKind::Send { msg, .. } => {
                messages.insert(msg, (e.time.0, Fate::AtTheLink));
            }
            EventKind::Drop { msg, reason: DropReason::QueueFull, .. } => {
                messages.get_mut(&msg).expect("dropped when sent").1 = Fate::Lost;
                dropped += 1;
            }
            EventKind::Receive { msg, .. } => {
                messages.get_mut(&msg).expect("received after it was sent").1 = Fate::Left(e.time.0 - latency_ns);
            }
            EventKind::Drop { .. } => panic!("only a full queue drops here"),
            _ => {}
        }
    }
    assert!(dropped == 0 || k.is_some(), "an unbounded queue dropped {dropped}");
    let batch_ns = BATCH_S * 1_000_000_000;
    let index = |t: u64| (t / batch_ns) as usize;
    let mut batches = vec![Batch::default(); B + 1];
    // The number in the system changes at arrivals (+1) and departures (-1).
    let mut steps: Vec<(u64, i64)> = Vec::new();
    let mut server_free = 0u64;
    for &(arrival, ref fate) in messages.values() {
        let Some(batch) = batches.get_mut(index(arrival)) else { continue };
        batch.arrivals += 1;
        match *fate {
            Fate::Lost => batch.lost += 1,
            Fate::Left(departs) => {
                assert!(departs >= server_free, "the server is FIFO");
                batch.done += 1;
                batch.wait_ns += server_free.saturating_sub(arrival);
                batch.system_ns += departs - arrival;
                server_free = departs;
                steps.extend([(arrival, 1), (departs, -1)]);
            }
            // Still at the link when the run ended: only in its last second (a few of the last
            // batch's arrivals, left out of its waits as the mailbox measurement leaves them).
            Fate::AtTheLink => assert!(arrival + 1_000_000_000 >= horizon_ns, "message sent at {arrival} ns never left"),
        }
    }
    steps.sort_unstable();
    let (mut in_system, mut since) = (0i64, 0u64);
    for (now, delta) in steps {
        let mut t = since;
        while t < now {
            let end = now.min((t / batch_ns + 1) * batch_ns);
            if let Some(b) = batches.get_mut(index(t)) {
                b.area += u128::from(in_system as u64) * u128::from(end - t);
            }
            t = end;
        }
        since = now;
        in_system += delta;
        assert!(in_system >= 0, "never below zero");
    }
    batches.remove(0);
    batches.truncate(B);
    Measured { batches }
}

/// M/D/1 with an unbounded queue, arrivals at `lambda` and a service of exactly `1 / mu`
/// (per second): Pollaczek-Khinchine.
struct Md1 {
    lambda: f64,
    mu: f64,
}

impl Md1 {
    /// Mean wait before service, in s: rho / (2 mu (1 - rho)), half the M/M/1 wait.
    fn wq(&self) -> f64 {
        let rho = self.lambda / self.mu;
        rho / (2.0 * self.mu * (1.0 - rho))
    }
    /// Mean wait of M/M/1 at the same rho, in s: what an exponential service would give.
    fn wq_exponential(&self) -> f64 {
        2.0 * self.wq()
    }
}

/// The link queues measured: M/M/1/K as the mailbox's first queue, with K the queue limit, and
/// M/D/1 at rho 0.5 with no limit.
const LINK_MM1K: (Theory, u64) = (Theory { lambda: 800.0, mu: 1000.0, k: 10 }, 3);
const LINK_MD1: (Md1, u64) = (Md1 { lambda: 500.0, mu: 1000.0 }, 4);

fn link_measured() -> &'static [Vec<Row>; 2] {
    static ROWS: OnceLock<[Vec<Row>; 2]> = OnceLock::new();
    ROWS.get_or_init(|| {
        let (t, seed) = &LINK_MM1K;
        let service = format!("Exponential(mean_ms: {})", 1000.0 / t.mu);
        let mm1k = mm1k_rows(t, &estimate(&measure_link(t.lambda, &service, Some(t.k), *seed)));
        let (d, seed) = &LINK_MD1;
        let e = estimate(&measure_link(d.lambda, &format!("Constant(ms: {})", 1000.0 / d.mu), None, *seed));
        let w = d.wq() + 1.0 / d.mu;
        let md1 = vec![
            row("loss probability", 0.0, e.loss),
            row("mean wait W_q (ms)", d.wq() * 1e3, e.wq),
            row("mean time in system W (ms)", w * 1e3, e.w),
            row("mean number in system L", d.lambda * w, e.l),
            Row { what: "L against lambda_eff W, both measured (Little)".to_string(), theory: e.little.0, measured: e.l.0, se: e.l.1 },
        ];
        [mm1k, md1]
    })
}

#[test]
fn a_link_server_at_rho_0_8_k_10_matches_the_mm1k_formulas() {
    assert_rows("link, rho 0.8, K 10", &link_measured()[0]);
}

#[test]
fn a_link_server_with_constant_service_matches_pollaczek_khinchine() {
    let rows = &link_measured()[1];
    // No loss at all: the batch means are all zero, so compare exactly, not in standard errors.
    assert_eq!((rows[0].measured, rows[0].se), (0.0, 0.0), "an unbounded link queue lost messages");
    assert_rows("link, M/D/1, rho 0.5", &rows[1..]);
}

#[test]
fn a_link_server_with_the_wrong_capacity_or_distribution_is_caught() {
    // The controls: the M/M/1/K run judged as if the queue limit did not count the message in
    // service (K = 11), and the M/D/1 run judged by the exponential service's wait, both fail.
    let rows = &link_measured()[0];
    let wrong = Theory { k: 11, ..LINK_MM1K.0 };
    let z = (rows[0].measured - wrong.loss()) / rows[0].se;
    assert!(z.abs() > Z, "K = 11 would pass too (z = {z:+.2})");
    let wait = &link_measured()[1][1];
    let z = (wait.measured - LINK_MD1.0.wq_exponential() * 1e3) / wait.se;
    assert!(z.abs() > Z, "an exponential service's wait would pass too (z = {z:+.2})");
}

#[test]
fn book_table_of_link_queues_is_current() {
    let mut out = String::from("| link | quantity | theory | measured | standard error | z |\n|---|---|---:|---:|---:|---:|\n");
    let (t, seed) = &LINK_MM1K;
    let (d, md1_seed) = &LINK_MD1;
    let names = [
        format!("M/M/1/K: Exponential service, queue_limit {} (lambda {}/s, mu {}/s, seed {seed})", t.k, t.lambda, t.mu),
        format!("M/D/1: Constant service, no limit (lambda {}/s, mu {}/s, seed {md1_seed})", d.lambda, d.mu),
    ];
    for (name, rows) in names.iter().zip(link_measured()) {
        for r in rows {
            // A zero standard error (no loss at all) has no z.
            let z = if r.se > 0.0 { format!("{:+.2}", r.z()) } else { "exact".to_string() };
            out.push_str(&format!("| {name} | {} | {:.6} | {:.6} | {:.6} | {z} |\n", r.what, r.theory, r.measured, r.se));
        }
    }
    common::book_file_is_current("queueing-link.md", &out);
}

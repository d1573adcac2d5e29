//! Clients' operations (the Service protocol and the `op` lines): what the report, `--json` and
//! the sweep summary say about them, timeouts, the server choice, and open-loop clients.

use msgsim::report::Report;
use msgsim::sweep::{Shard, Sweep, SweepReport};
use msgsim::trace::{EventKind, OpOutcome, TraceEvent};
use msgsim::{RunOptions, RunResult, Scenario};
use std::collections::BTreeMap;

fn run(ron: &str, seed: u64) -> (Scenario, RunResult) {
    let scenario = Scenario::parse(ron, "operations").unwrap_or_else(|e| panic!("{e}"));
    let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    (scenario, result)
}

fn ops(trace: &[TraceEvent]) -> Vec<(u32, u64, u32, OpOutcome)> {
    trace
        .iter()
        .filter_map(|e| if let EventKind::Op { node, op, server, outcome } = e.kind { Some((node.0, op, server.0, outcome)) } else { None })
        .collect()
}

fn service(extra: &str, servers: usize, clients: usize, horizon_ms: u64) -> String {
    let s: Vec<String> = (0..servers).map(|i| format!("\"s{i}\"")).collect();
    let c: Vec<String> = (0..clients).map(|i| format!("\"c{i}\"")).collect();
    format!(
        r#"Scenario(name: "ops", horizon_ms: {horizon_ms}, nodes: [{s}, {c}],
            protocol: Service(clients: [{c}], servers: [{s}], {extra}))"#,
        s = s.join(", "),
        c = c.join(", ")
    )
}

#[test]
fn the_report_counts_operations_and_orders_their_percentiles() {
    let path = "scenarios/workloads/closed-loop.ron";
    let scenario = Scenario::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path).as_path()).expect("valid");
    let result = msgsim::run(&scenario, 3, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let report = Report::new(path, &scenario, &result);
    let o = report.operations.as_ref().expect("a run with operations reports them");
    let trace = result.trace.as_deref().expect("recorded");
    let count = |k: OpOutcome| ops(trace).iter().filter(|o| o.3 == k).count() as u64;
    assert_eq!((o.invoked, o.ok, o.timeouts), (count(OpOutcome::Invoke), count(OpOutcome::Ok), count(OpOutcome::Timeout)));
    // Closed loop: at most one operation per client (ten) still open at the horizon.
    assert!(o.invoked - o.ok - o.timeouts <= 10);
    let (p50, p90, p99, max) = (o.p50_ns.unwrap(), o.p90_ns.unwrap(), o.p99_ns.unwrap(), o.max_ns.unwrap());
    assert!(p50 <= p90 && p90 <= p99 && p99 <= max, "{o:?}");
    // One request and one reply per operation, and both 1 ms links: no answer under 2 ms.
    assert!((o.messages_per_op - 2.0).abs() < 0.01, "{o:?}");
    assert!(p50 >= 2_000_000);
    assert!((o.throughput_per_s - o.ok as f64 / 2.0).abs() < 1e-9);
    let text = report.text();
    assert!(text.contains(&format!("operations {} invoked, {} ok, 0 timed out", o.invoked, o.ok)), "{text}");
    let json = serde_json::to_value(&report).expect("serialises");
    assert_eq!(json["operations"]["ok"], o.ok);
}

#[test]
fn a_run_without_operations_reports_none() {
    let (scenario, result) = run(
        r#"Scenario(name: "x", horizon_ms: 100, nodes: 2, protocol: BestEffort(), workload: [(from: "n0", to: "n1", every_ms: 10, count: 3)])"#,
        1,
    );
    let report = Report::new("x.ron", &scenario, &result);
    assert!(report.operations.is_none());
    assert!(!serde_json::to_string(&report).unwrap().contains("operations"), "other runs' JSON stays as it was");
}

#[test]
fn a_slow_server_times_operations_out_and_ignores_late_replies() {
    // Service 20 ms against a 5 ms timeout: every operation times out, none is ok.
    let (_, result) = run(&service("timeout_ms: 5, service: Constant(ms: 20), operations: 10", 1, 2, 1_000), 1);
    let o = &result.ops;
    assert_eq!((o.invoked, o.ok, o.timeouts), (20, 0, 20));
    assert!(
        result.trace.unwrap().iter().any(|e| matches!(e.kind, EventKind::Receive { from, .. } if from.0 == 0)),
        "the late replies arrive"
    );
}

#[test]
fn round_robin_visits_the_servers_in_turn() {
    let (_, result) = run(&service("timeout_ms: 100, pick: RoundRobin, operations: 30", 3, 2, 10_000), 1);
    let trace = result.trace.unwrap();
    let mut per_client: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (client, _, server, outcome) in ops(&trace) {
        if outcome == OpOutcome::Invoke {
            per_client.entry(client).or_default().push(server);
        }
    }
    for (client, servers) in per_client {
        assert_eq!(servers.len(), 30);
        // Client i (its position among the clients) starts at server i.
        let start = client - 3;
        assert!(servers.iter().enumerate().all(|(k, &s)| s == (start + k as u32) % 3), "{servers:?}");
    }
}

#[test]
fn fixed_and_random_picks() {
    let (_, fixed) = run(&service("timeout_ms: 100, operations: 20", 2, 4, 10_000), 1);
    for (client, _, server, _) in ops(&fixed.trace.unwrap()) {
        assert_eq!(server, (client - 2) % 2, "client i always uses server i mod 2");
    }
    let (_, random) = run(&service("timeout_ms: 100, pick: Random, operations: 400", 2, 1, 100_000), 1);
    let to_s0 = ops(&random.trace.unwrap()).iter().filter(|o| o.3 == OpOutcome::Invoke && o.2 == 0).count() as f64;
    // Binomial(400, 1/2): standard deviation 10; within five of 200.
    assert!((to_s0 - 200.0).abs() <= 50.0, "{to_s0}");
}

#[test]
fn open_loop_clients_invoke_one_operation_per_command() {
    let ron = r#"Scenario(name: "open", horizon_ms: 2000, nodes: ["s", "c0", "c1"],
        protocol: Service(clients: ["c0", "c1"], servers: ["s"], loop: Open, timeout_ms: 100, service: Constant(ms: 2)),
        workload: [(from: "c0", to: "s", every_ms: 1, count: 500), (from: "c1", to: "s", rate_per_s: 100)])"#;
    let (_, result) = run(ron, 1);
    // c0 offers 1,000 per second to a server that serves 500: it falls behind, operations wait
    // and time out, yet every command still starts one.
    assert_eq!(result.ops.invoked, result.app.commands);
    assert!(result.ops.timeouts > 0);
}

#[test]
fn the_sweep_summary_adds_operations_and_shards_merge_into_it() {
    let path = "scenarios/workloads/closed-loop.ron";
    let scenario = Scenario::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path).as_path()).expect("valid");
    let whole = Sweep::new(&scenario).file(path).seeds(0..6).jobs(2).run();
    let o = whole.operations.expect("operations summarised");
    assert_eq!(o.invoked, whole.seeds.iter().map(|s| s.ops.unwrap().invoked).sum::<u64>());
    assert_eq!(o.run_ns, 6 * 2_000_000_000);
    assert!(whole.text().contains("operations "), "{}", whole.text());
    let parts: Vec<SweepReport> =
        (0..2).map(|i| Sweep::new(&scenario).file(path).seeds(0..6).jobs(1).shard(Shard { index: i, count: 2 }).run()).collect();
    let parts: Vec<SweepReport> = parts.iter().map(|p| serde_json::from_str(&serde_json::to_string(p).unwrap()).unwrap()).collect();
    assert_eq!(SweepReport::merge(parts).expect("merges").operations, whole.operations);
}

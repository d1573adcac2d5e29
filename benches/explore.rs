//! Exploration throughput: distinct states per second of `explore --model async` on the
//! broadcast benchmark's spaces, reduced so that criterion can sample them.
//!
//! Run with `cargo bench --bench explore`. The whole spaces (2^20 and 3^12 states, the files in
//! `scenarios/bench/explore-bcast*.ron`) are measured with the binary, as their comments say.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use msgsim::Scenario;
use msgsim::explore::{Bounds, Model, explore_model};
use std::time::Duration;

/// `nodes` nodes each broadcasting once at the start, over links that lose (`lossy`) or not.
fn bcast(nodes: u32, lossy: bool) -> Scenario {
    let workload: Vec<String> = (0..nodes).map(|i| format!("(from: \"n{i}\", send: Broadcast, every_ms: 1, count: 1)")).collect();
    let loss = if lossy { ", loss: 0.1" } else { "" };
    Scenario::parse(
        &format!(
            "Scenario(name: \"bench\", horizon_ms: 10, nodes: {nodes}, protocol: BestEffort(dedup: true),\n\
             network: (latency: Constant(ms: 1){loss}), workload: [{}])",
            workload.join(", ")
        ),
        "bench.ron",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn space(c: &mut Criterion, name: &str, scenario: &Scenario, states: u64, jobs: usize) {
    let bounds = Bounds { max_faults: 64, max_runs: u64::MAX, jobs, ..Bounds::default() };
    let mut group = c.benchmark_group("explore");
    group.throughput(Throughput::Elements(states));
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.bench_function(name, |b| {
        b.iter(|| {
            let found = explore_model(scenario, 1, bounds, Model::Async).expect("explorable");
            assert_eq!(found.states, states);
            found.transitions
        })
    });
    group.finish();
}

fn explore(c: &mut Criterion) {
    // 4 nodes, 12 messages: 2^12 delivered sets; 3 nodes lossy, 6 messages: 3^6. The first
    // again on two worker threads (`--jobs 2`): the same states, in the same order.
    space(c, "bcast_4_nodes_4096_states", &bcast(4, false), 1 << 12, 1);
    space(c, "bcast_lossy_3_nodes_729_states", &bcast(3, true), 729, 1);
    space(c, "bcast_4_nodes_4096_states_2_jobs", &bcast(4, false), 1 << 12, 2);
}

criterion_group!(benches, explore);
criterion_main!(benches);

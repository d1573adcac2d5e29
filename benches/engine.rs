//! Engine throughput on the benchmark scenarios: deliveries per second of simulated work.
//!
//! Run with `cargo bench --bench engine`; criterion reports time per run and
//! throughput in deliveries (elements) per second. Parsing and table building
//! are outside the measured loop; the `msgsim run` figures in the book include them.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use msgsim::{RunOptions, Scenario};
use std::path::Path;
use std::time::Duration;

fn bench_scenario(c: &mut Criterion, name: &str, file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let deliveries = msgsim::run(&scenario, scenario.seed, &RunOptions::default()).expect("no panic").messages.delivered;
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(deliveries));
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    group.bench_function(name, |b| {
        b.iter(|| {
            let r = msgsim::run(&scenario, scenario.seed, &RunOptions::default()).expect("no panic");
            assert_eq!(r.messages.delivered, deliveries);
            r.trace_hash
        })
    });
    group.finish();
}

fn engine(c: &mut Criterion) {
    bench_scenario(c, "pingpong_2_nodes", "scenarios/bench/pingpong.ron");
    bench_scenario(c, "broadcast_50_nodes", "scenarios/bench/broadcast.ron");
    bench_scenario(c, "gossip_1000_nodes", "scenarios/bench/gossip.ron");
    bench_scenario(c, "gossip_10000_nodes", "scenarios/bench/gossip-10k.ron");
    bench_scenario(c, "gossip_100000_nodes", "scenarios/bench/gossip-100k.ron");
}

criterion_group!(benches, engine);
criterion_main!(benches);

//! The Maelstrom broadcast workload (`scenarios/maelstrom/`): the efficiency scenarios meet the
//! Gossip Glomers targets they declare, on every seed measured; the protocols cost what their
//! algorithms say they cost; and the book's table of the figures is current.
//!
//! The figures are `BroadcastConsistency`'s, fed the recorded trace: stable latency from a
//! broadcast's acknowledgement until every server has the value, and messages between servers
//! per operation (broadcasts and reads). With constant 100 ms links the flood's figures are
//! exact, so the tests state them exactly; what varies over seeds is the workload (Poisson
//! arrivals, random servers).

mod common;

use msgsim::Scenario;
use msgsim::check::Outcome;
use msgsim::check::broadcast::{BroadcastConsistency, Config, Figures, Targets};
use msgsim::sim::RunResult;
use msgsim::trace::TraceEvent;
use msgsim::verdict::Checker;
use msgsim::{RunOptions, Verdict};

const SEEDS: std::ops::Range<u64> = 0..10;

fn load(name: &str) -> (String, Scenario) {
    let path = format!("{}/scenarios/maelstrom/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("scenario");
    let scenario = Scenario::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    (text, scenario)
}

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, "edited").unwrap_or_else(|e| panic!("{e}"))
}

/// The run, its `BroadcastConsistency` verdict, the figures measured on its trace and the
/// targets the scenario declares.
fn measure(scenario: &Scenario, seed: u64) -> (RunResult, Verdict, Figures, Option<Targets>) {
    let options = RunOptions { record_trace: true, ..RunOptions::default() };
    let result = msgsim::run(scenario, seed, &options).expect("no panic");
    let choice = scenario.checks.iter().find(|c| c.name() == "BroadcastConsistency").expect("the scenario has the check");
    let config: &Config = choice.config().expect("its configuration");
    let servers = msgsim::protocols::resolve(&scenario.cluster, &config.servers);
    let settle_ns = (config.settle_ms.0 * 1e6).round() as u64;
    let mut checker = BroadcastConsistency::new(scenario.cluster.clone(), &servers, settle_ns, config.targets());
    result.trace.as_ref().expect("recorded").iter().for_each(|e: &TraceEvent| checker.observe(e));
    let verdict = result.verdicts.iter().find(|(n, _)| *n == "BroadcastConsistency").expect("judged").1.clone();
    let figures = checker.figures();
    (result, verdict, figures, config.targets())
}

fn ms(ns: Option<u64>) -> f64 {
    ns.expect("a stable latency") as f64 / 1e6
}

#[test]
fn the_efficiency_scenarios_meet_the_targets_they_declare_and_the_book_shows_them() {
    let mut table = String::from(
        "| Scenario | Protocol | Messages per operation (mean, worst) | Median stable latency (worst) | Max stable latency (worst) | Targets |\n\
         |---|---|---|---|---|---|\n",
    );
    for name in [
        "broadcast-multi-node.ron",
        "broadcast-efficiency-1.ron",
        "broadcast-efficiency-2.ron",
        "broadcast-partition.ron",
        "broadcast-gossip-partition.ron",
    ] {
        let (_, scenario) = load(name);
        let (mut sum, mut worst_mpo, mut worst_median, mut worst_max) = (0.0, 0.0f64, 0u64, 0u64);
        let mut targets = None;
        for seed in SEEDS {
            let (result, verdict, f, t) = measure(&scenario, seed);
            assert_eq!(verdict.outcome, Outcome::Pass, "{name} seed {seed}: {}", verdict.detail);
            targets = t;
            // Every message is a server's or a client's request or reply (no loss, no
            // timeout here): the servers' share is what is left after two per operation.
            assert_eq!(result.ops.timeouts, 0, "{name} seed {seed}");
            assert_eq!(f.server_messages, result.messages.sent - 2 * f.operations, "{name} seed {seed}");
            if let Some(t) = t {
                assert!(f.messages_per_op < t.messages_per_op, "{name} seed {seed}: {f:?} against {t:?}");
                assert!(f.median_ns.expect("measured") < t.median_ns, "{name} seed {seed}: {f:?} against {t:?}");
                assert!(f.max_ns.expect("measured") < t.max_ns, "{name} seed {seed}: {f:?} against {t:?}");
            }
            sum += f.messages_per_op;
            worst_mpo = worst_mpo.max(f.messages_per_op);
            worst_median = worst_median.max(f.median_ns.expect("measured"));
            worst_max = worst_max.max(f.max_ns.expect("measured"));
        }
        let targets = targets.map_or("none".to_string(), |t| {
            format!("< {}, < {} ms, < {} ms", t.messages_per_op, t.median_ns / 1_000_000, t.max_ns / 1_000_000)
        });
        table.push_str(&format!(
            "| `{name}` | `{}` | {:.2}, {:.2} | {:.0} ms | {:.0} ms | {targets} |\n",
            scenario.protocol.name(),
            sum / (SEEDS.end - SEEDS.start) as f64,
            worst_mpo,
            worst_median as f64 / 1e6,
            worst_max as f64 / 1e6
        ));
    }
    table.push_str(&format!("\nSeeds {}..{}; `cargo test --test maelstrom` writes this table.\n", SEEDS.start, SEEDS.end));
    common::book_file_is_current("maelstrom-table.md", &table);
}

/// Naive flooding among five servers sends each value 4 times from its first server and 3 times
/// from each of the others, each acknowledged: 32 server messages per broadcast.
#[test]
fn naive_flooding_costs_every_server_a_message_to_every_other_but_its_source() {
    let (_, scenario) = load("broadcast-multi-node.ron");
    for seed in 0..3 {
        let (result, verdict, f, _) = measure(&scenario, seed);
        assert_eq!(verdict.outcome, Outcome::Pass, "seed {seed}: {}", verdict.detail);
        assert_eq!(f.server_messages, 32 * result.app.commands, "seed {seed}");
    }
}

/// Flooding a tree sends each value once over each of its 24 links, and with acknowledgements
/// each is answered once: 48 server messages per broadcast with retries, 24 without.
#[test]
fn flooding_a_tree_costs_one_message_per_link_per_value_and_one_acknowledgement() {
    let (text, scenario) = load("broadcast-efficiency-1.ron");
    let without_retries = parse(&text.replace("retry_ms: 500,", ""));
    for seed in 0..3 {
        let (result, _, f, _) = measure(&scenario, seed);
        assert_eq!(f.server_messages, 48 * result.app.commands, "seed {seed}");
        let (result, verdict, f, _) = measure(&without_retries, seed);
        assert_eq!(f.server_messages, 24 * result.app.commands, "seed {seed}");
        // On a network that loses nothing, flooding without retries is correct.
        assert_eq!(verdict.outcome, Outcome::Pass, "seed {seed}: {}", verdict.detail);
    }
}

/// With 100 ms links, a value flooded over a two-level tree reaches the farthest server four
/// hops after its first one has it, and the client's acknowledgement arrives one hop after
/// that: a stable latency of 300 ms for values given to a leaf (19 of 25 servers), less for
/// the rest, so the median and the max are both 300 ms.
#[test]
fn flooding_stable_latency_is_the_farthest_servers_hops_less_the_acknowledgement() {
    let (_, scenario) = load("broadcast-efficiency-1.ron");
    for seed in 0..3 {
        let (_, _, f, _) = measure(&scenario, seed);
        assert_eq!((f.median_ns, f.max_ns), (Some(300_000_000), Some(300_000_000)), "seed {seed}");
    }
}

/// Batched gossip sends each neighbour at most one batch per period, and each batch is
/// acknowledged once: at most 2 x 48 directed links' worth of messages per 100 ms period.
#[test]
fn gossip_sends_at_most_a_batch_and_an_acknowledgement_per_link_per_period() {
    let (_, scenario) = load("broadcast-efficiency-2.ron");
    let periods = 12_000 / 100;
    for seed in 0..3 {
        let (_, _, f, _) = measure(&scenario, seed);
        assert!(f.server_messages <= 2 * 48 * periods, "seed {seed}: {f:?}");
    }
}

/// The trade the two protocols make on the same workload: gossip sends fewer messages per
/// operation and its values take longer to reach every server.
#[test]
fn gossip_trades_latency_for_messages_against_flooding() {
    let (_, flood) = load("broadcast-efficiency-1.ron");
    let (_, gossip) = load("broadcast-efficiency-2.ron");
    for seed in 0..3 {
        let (_, _, f, _) = measure(&flood, seed);
        let (_, _, g, _) = measure(&gossip, seed);
        assert!(g.messages_per_op * 2.0 < f.messages_per_op, "seed {seed}: {g:?} against {f:?}");
        assert!(ms(g.median_ns) > ms(f.median_ns), "seed {seed}: {g:?} against {f:?}");
    }
}

/// The broken flood loses what the partition cuts off on every seed; the same scenario
/// without the partition passes, so the partition, not the workload, is what it cannot take.
#[test]
fn flooding_without_retries_fails_only_under_the_partition() {
    let (text, scenario) = load("broken-broadcast-no-retry.ron");
    let start = text.find("    faults: [").expect("faults");
    let end = start + text[start..].find("    ],\n").expect("end of faults") + "    ],\n".len();
    let healthy = parse(&format!("{}{}", &text[..start], &text[end..]));
    for seed in 0..3 {
        let (_, verdict, _, _) = measure(&scenario, seed);
        assert_eq!(verdict.outcome, Outcome::Fail, "seed {seed}");
        assert!(verdict.detail.contains("never reached every server"), "{}", verdict.detail);
        let (_, verdict, _, _) = measure(&healthy, seed);
        assert_eq!(verdict.outcome, Outcome::Pass, "seed {seed}: {}", verdict.detail);
    }
}

/// A total topology keeps every server's list of all the others: past 1,000 servers
/// validation refuses it (with its position) rather than let memory grow as the square.
#[test]
fn a_total_topology_of_too_many_servers_is_refused() {
    let servers = |n: usize| (0..n).map(|i| format!("\"n{i}\"")).collect::<Vec<_>>().join(", ");
    let scenario = |n: usize| {
        format!(
            "Scenario(name: \"wide\", horizon_ms: 10, nodes: [{}, \"c\"], groups: {{\"servers\": [{}]}},\n\
             protocol: BroadcastFlood(clients: [\"c\"], servers: [\"servers\"], topology: Total, timeout_ms: 10))",
            servers(n),
            servers(n)
        )
    };
    assert!(Scenario::parse(&scenario(1_000), "wide.ron").is_ok());
    let errors = Scenario::parse(&scenario(1_001), "wide.ron").expect_err("refused").to_string();
    assert!(errors.starts_with("wide.ron:2:") && errors.contains("a total topology of 1001 servers"), "{errors}");
}

/// Regression: a flood's retry timers outlived the acknowledgements they waited for, each
/// firing later as a timer line that did nothing; a settled flood now leaves none.
#[test]
fn regression_an_acknowledged_value_leaves_no_retry_timer_to_fire() {
    let path = format!("{}/book/examples/broadcast-one-value.ron", env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    let result = msgsim::run(&scenario, 0, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
    let trace = result.trace.expect("recorded");
    assert!(!trace.iter().any(|e| matches!(e.kind, msgsim::trace::EventKind::Timer { .. })), "a timer fired");
    // Every value and every acknowledgement crossed the six links of the tree once.
    assert_eq!(trace.iter().filter(|e| matches!(e.kind, msgsim::trace::EventKind::Deliver { .. })).count(), 7);
}

/// The verdict of `check` on `scenario` at `seed`.
fn verdict_of(scenario: &Scenario, seed: u64, check: &str) -> Verdict {
    let result = msgsim::run(scenario, seed, &RunOptions::default()).expect("no panic");
    result.verdicts.into_iter().find(|(n, _)| *n == check).expect("the scenario has the check").1
}

/// Both broadcast protocols mark every transmission of a value to a neighbour as an attempt
/// and every acknowledgement as an ack, and declare their policy, so `RetryBackoff` judges the
/// retransmissions a partition causes (hundreds per run) and finds them as declared.
#[test]
fn the_broadcast_protocols_retransmit_as_their_declared_policy_says() {
    for name in ["broadcast-partition.ron", "broadcast-gossip-partition.ron"] {
        let (_, scenario) = load(name);
        for seed in 0..3 {
            let v = verdict_of(&scenario, seed, "RetryBackoff");
            assert_eq!(v.outcome, Outcome::Pass, "{name} seed {seed}: {}", v.detail);
            let retransmissions: u64 = v.detail.split(' ').next().and_then(|n| n.parse().ok()).expect("a count");
            assert!(retransmissions > 100, "{name} seed {seed}: {}", v.detail);
        }
    }
}

/// Gossip that acknowledges only what is new to it still gets every value everywhere, so
/// `BroadcastConsistency` cannot see the bug; `RetryBackoff` sees the attempts left
/// unacknowledged, on every seed.
#[test]
fn gossip_acknowledging_only_new_values_is_caught_by_retry_backoff() {
    let (_, scenario) = load("broken-broadcast-gossip-ack-only-new.ron");
    for seed in 0..3 {
        assert_eq!(verdict_of(&scenario, seed, "BroadcastConsistency").outcome, Outcome::Pass, "seed {seed}");
        let v = verdict_of(&scenario, seed, "RetryBackoff");
        assert_eq!(v.outcome, Outcome::Fail, "seed {seed}: {}", v.detail);
        assert!(v.detail.contains("never acknowledged to their sender"), "seed {seed}: {}", v.detail);
    }
}

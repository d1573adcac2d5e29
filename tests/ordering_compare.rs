//! The orderings side by side: `scenarios/ordering/compare.ron` (one workload, one fault
//! script) run under every group protocol over the same seeds, with the messages each
//! sends and the delivery latency each gives, written to the book
//! (`book/src/generated/ordering-compare.txt`; `UPDATE_BOOK=1` rewrites it).

mod common;

use msgsim::scenario::locate::set_top_level_field;
use msgsim::trace::EventKind;
use msgsim::{RunOptions, Scenario};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const SEEDS: u64 = 100;

/// Per protocol: network messages sent per application message, and every delivery's
/// latency (command to delivery, the sender's own included) in microseconds, sorted.
struct Cost {
    sent_per_message: f64,
    latencies_us: Vec<u64>,
}

/// `compare.ron` under protocol `name`, with the file's retry policy and without the relay
/// (atomic multicast relays by definition).
fn measure(src: &str, name: &str) -> Cost {
    let relay = name == "AtomicMulticast";
    let protocol = format!("{name}(retry: (base_ms: 20, factor: 2, cap_ms: 80, jitter: 0.1, max_attempts: 12), relay: {relay})");
    let scenario = Scenario::parse(&set_top_level_field(src, "protocol", &protocol), "compare.ron").expect("valid");
    assert_eq!(scenario.protocol.name(), name);
    let (mut sent, mut commands, mut latencies_us) = (0, 0, Vec::new());
    for seed in 0..SEEDS {
        let result = msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic");
        assert!(result.verdicts.iter().all(|(_, v)| v.outcome == msgsim::check::Outcome::Pass), "{name} seed {seed}");
        sent += result.messages.sent;
        let mut commanded = BTreeMap::new();
        for e in result.trace.expect("recorded") {
            match e.kind {
                EventKind::Command { app, .. } => {
                    commands += 1;
                    commanded.insert(app, e.time);
                }
                EventKind::Deliver { app, .. } => latencies_us.push((e.time.0 - commanded[&app].0) / 1_000),
                _ => {}
            }
        }
    }
    latencies_us.sort_unstable();
    Cost { sent_per_message: sent as f64 / commands as f64, latencies_us }
}

fn table(rows: &[(&str, Cost)]) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut t = format!(
        "{SEEDS} seeds of scenarios/ordering/compare.ron under each protocol\n\n{:<20} {:>14} {:>10} {:>10} {:>10} {:>10}\n",
        "protocol", "sent/multicast", "mean ms", "median ms", "p99 ms", "max ms"
    );
    for (name, c) in rows {
        let l = &c.latencies_us;
        let mean = l.iter().sum::<u64>() as f64 / l.len() as f64 / 1000.0;
        let _ = writeln!(
            t,
            "{name:<20} {:>14.1} {mean:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            c.sent_per_message,
            ms(l[l.len() / 2]),
            ms(l[l.len() * 99 / 100]),
            ms(l[l.len() - 1])
        );
    }
    t
}

#[test]
fn orderings_cost_what_they_should_and_the_books_table_is_current() {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ordering/compare.ron")).expect("readable");
    assert!(src.contains("retry: (base_ms: 20, factor: 2, cap_ms: 80, jitter: 0.1, max_attempts: 12)"), "the policy `measure` uses");
    let names = [
        "ReliableMulticast",
        "FifoMulticast",
        "CausalMulticast",
        "SequencerMulticast",
        "IsisMulticast",
        "LamportMulticast",
        "AtomicMulticast",
    ];
    let rows: Vec<(&str, Cost)> = names.iter().map(|&name| (name, measure(&src, name))).collect();
    let cost = |name: &str| &rows.iter().find(|(n, _)| *n == name).expect("measured").1;
    let mean = |name: &str| cost(name).latencies_us.iter().sum::<u64>() / cost(name).latencies_us.len() as u64;
    // FIFO and causal order add headers, not messages.
    assert_eq!(cost("FifoMulticast").sent_per_message, cost("ReliableMulticast").sent_per_message);
    // A sequencer adds one ordering multicast per message; ISIS a proposal from every member and an agreement.
    assert!(cost("SequencerMulticast").sent_per_message > cost("ReliableMulticast").sent_per_message);
    assert!(cost("IsisMulticast").sent_per_message > cost("SequencerMulticast").sent_per_message);
    // Lamport's order has every node acknowledge every message to every node.
    assert!(cost("LamportMulticast").sent_per_message > cost("IsisMulticast").sent_per_message);
    // Holding back only ever delays; total order waits on a round trip (or two) more.
    assert!(mean("FifoMulticast") >= mean("ReliableMulticast"));
    assert!(mean("CausalMulticast") >= mean("FifoMulticast"));
    assert!(mean("SequencerMulticast") > mean("CausalMulticast"));
    assert!(mean("IsisMulticast") > mean("CausalMulticast"));
    let text = table(&rows);
    eprintln!("{text}");
    common::book_file_is_current("ordering-compare.txt", &text);
}

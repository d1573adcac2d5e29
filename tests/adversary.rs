//! The adversary in the engine: where it acts, what its probabilities do, that it is
//! reproducible, and that every trace format shows what it did.

use msgsim::trace::{AdversaryAction, EventKind, TraceEvent};
use msgsim::{RunOptions, RunResult, Scenario};
use std::process::Command;

fn run(adversary: &str, protocol: &str) -> RunResult {
    let src = format!(
        r#"Scenario(name: "t", horizon_ms: 500, nodes: ["a", "b", "c"], protocol: {protocol},
            network: (latency: Uniform(min_ms: 1, max_ms: 5)), adversary: Some({adversary}),
            workload: [(from: "a", to: "b", every_ms: 5, count: 50), (from: "a", to: "c", every_ms: 5, count: 50)],
            checks: [NoForgeryAccepted, NoPlaintextLeak])"#
    );
    let scenario = Scenario::parse(&src, "t").unwrap_or_else(|e| panic!("{e}"));
    msgsim::run(&scenario, 3, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic")
}

fn adv(r: &RunResult) -> Vec<(AdversaryAction, u32, u32)> {
    let trace: &[TraceEvent] = r.trace.as_deref().expect("recorded");
    trace
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Adversary { action, from, to, .. } => Some((action, from.0, to.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn it_acts_only_on_its_links_and_reproducibly() {
    let sealed = "SecureChannel(encrypt: true, replay_window: true)";
    let r = run("(links: [(\"b\", \"a\")], tamper: 0.3, replay: 0.3, forge: 0.3)", sealed);
    let actions = adv(&r);
    let captures = actions.iter().filter(|(a, ..)| *a == AdversaryAction::Eavesdrop).count();
    assert_eq!(captures, 50, "every a -> b message and no a -> c one");
    // Forgeries claim a third node; everything else stays on the a-b link.
    assert!(actions.iter().all(|&(a, from, to)| (from, to) == (0, 1) || (a == AdversaryAction::Forge && (from, to) == (2, 1))));
    for action in [AdversaryAction::Tamper, AdversaryAction::Replay, AdversaryAction::Forge] {
        assert!(actions.iter().any(|(a, ..)| *a == action), "{action:?} drawn at 0.3 over 50 messages");
    }
    let again = run("(links: [(\"a\", \"b\")], tamper: 0.3, replay: 0.3, forge: 0.3)", sealed);
    assert_eq!(r.trace_hash, again.trace_hash, "the same seed, the same attack");
}

#[test]
fn a_certain_drop_removes_every_message_on_the_link() {
    let r = run("(links: [(\"a\", \"b\")], drop: 1)", "SecureChannel(mac: true)");
    let drops = adv(&r).iter().filter(|(a, ..)| *a == AdversaryAction::Drop).count();
    assert_eq!(drops, 50);
    assert_eq!(r.app.delivered, 50, "only the a -> c messages arrive");
    // Nothing tainted reached a process: the forgery check has nothing to judge.
    assert_eq!(r.verdicts[0].1.outcome, msgsim::check::Outcome::Inconclusive);
}

#[test]
fn every_trace_format_renders_the_adversary() {
    for format in ["text", "jsonl", "svg", "chrome", "shiviz", "mermaid"] {
        let out = Command::new(env!("CARGO_BIN_EXE_msgsim"))
            .args(["trace", "scenarios/security/broken-unauthenticated.ron", "--format", format, "--to", "12"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("msgsim runs");
        assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        // ShiViz shows process events only (as it does drops): there the forgery is its
        // arrival from c, the node it impersonates, which sent nothing.
        let sign = if format == "shiviz" { "<- c" } else { "forge" };
        assert!(text.contains(sign), "{format} shows the forgery");
    }
}

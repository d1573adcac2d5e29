//! The compromised member (the insider) and the access policy: where the insider's attempts
//! go, that each happens with its own configured probability, that a run with one is
//! reproducible, that the checks catch the broken channels and pass the sound one on every
//! seed, and the book's table of attempts against acceptances
//! (`book/src/generated/insider-compare.txt`; `UPDATE_BOOK=1` rewrites it).

mod common;

use msgsim::check::Outcome;
use msgsim::id::{AppId, MsgId, NodeId};
use msgsim::process::Dest;
use msgsim::trace::{AdversaryAction, EventKind, TraceEvent};
use msgsim::{RunOptions, RunResult, Scenario};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

const A: NodeId = NodeId(0);
const D: NodeId = NodeId(3);

fn load(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/security").join(file)).expect("readable")
}

fn run_src(src: &str, seed: u64) -> RunResult {
    let scenario = Scenario::parse(src, "t").unwrap_or_else(|e| panic!("{e}"));
    msgsim::run(&scenario, seed, &RunOptions { record_trace: true, ..RunOptions::default() }).expect("no panic")
}

fn trace(r: &RunResult) -> &[TraceEvent] {
    r.trace.as_deref().expect("recorded")
}

fn outcome(r: &RunResult, check: &str) -> Outcome {
    r.verdicts.iter().find(|(name, _)| *name == check).expect("the check is in the scenario").1.outcome
}

/// A busy run: every node sends to a random other every ms, so the insider `d` has thousands of turns.
fn busy(adversary: &str) -> String {
    format!(
        r#"Scenario(name: "t", horizon_ms: 5_000, nodes: ["a", "b", "c", "d"],
            protocol: SecureChannel(encrypt: true, replay_window: true, access: (admin: ["a"])),
            network: (latency: Uniform(min_ms: 1, max_ms: 5)), adversary: {adversary},
            workload: [(from: "*", to: "*", every_ms: 1, count: 1_000)],
            checks: [NoForgeryAccepted, AccessControlEnforced])"#
    )
}

/// `|count - p n| <= 5 sigma`: a false alarm is a one-in-a-million event, and a probability
/// applied to the wrong attempt (0.1 for 0.4) misses by dozens of sigmas.
fn assert_binomial(what: &str, count: u64, n: u64, p: f64) {
    let (mean, sigma) = (p * n as f64, (n as f64 * p * (1.0 - p)).sqrt());
    assert!((count as f64 - mean).abs() <= 5.0 * sigma, "{what}: {count} of {n}, expected {mean:.0} +- {:.0}", 5.0 * sigma);
}

#[test]
fn each_attempt_happens_with_its_own_probability_and_goes_where_it_should() {
    let r = run_src(&busy(r#"(node: "d", forge: 0.1, replay: 0.2, tamper: 0.3, forbidden: 0.4)"#), 1);
    let t = trace(&r);
    // A turn is a command given to d or a message d received (all honest here: nothing the
    // insider injects goes to itself).
    let turns =
        t.iter().filter(|e| matches!(e.kind, EventKind::Command { node, .. } | EventKind::Receive { to: node, .. } if node == D)).count()
            as u64;
    assert!(turns > 1_500, "{turns} turns");
    let mut count = BTreeMap::<&str, u64>::new();
    let mut previous: Option<(AdversaryAction, MsgId)> = None;
    for e in t {
        let EventKind::Adversary { action, from, to, msg } = e.kind else { continue };
        assert_ne!(to, D, "the insider injects nothing to itself");
        match action {
            AdversaryAction::Forge => {
                assert!(from != D && from != to, "a forgery claims a third member");
                *count.entry("forge").or_default() += 1;
            }
            AdversaryAction::Replay => {
                assert_eq!(from, D, "it replays its own messages");
                *count.entry("replay").or_default() += 1;
            }
            AdversaryAction::Tamper => {
                assert!(from != D && from != to, "a tampered message goes on to a third member under its sender's name");
                *count.entry("tamper").or_default() += 1;
            }
            AdversaryAction::Admin if previous == Some((AdversaryAction::Forge, msg)) => {
                assert_eq!(from, A, "only a forgery claiming the admin carries the Admin kind");
                *count.entry("forged admin").or_default() += 1;
            }
            // One bit in the 408 of a sealed message turns Data into Admin.
            AdversaryAction::Admin if previous == Some((AdversaryAction::Tamper, msg)) => {}
            AdversaryAction::Admin => {
                assert_eq!(from, D, "an Admin message under its own name");
                *count.entry("forbidden").or_default() += 1;
            }
            other => panic!("an insider does not {other:?}"),
        }
        previous = Some((action, msg));
    }
    // Replay and tamper need an earlier message to pick: a handful of turns at the start lack one.
    assert_binomial("forge", count["forge"], turns, 0.1);
    assert_binomial("replay", count["replay"], turns, 0.2);
    assert_binomial("tamper", count["tamper"], turns, 0.3);
    assert_binomial("forbidden", count["forbidden"], turns, 0.4);
    // The claimed sender is uniform over the two members that are neither d nor the receiver,
    // and the receiver over a, b, c: the claim is a with probability 2/3 * 1/2.
    assert_binomial("forged admin", count["forged admin"], count["forge"], 1.0 / 3.0);
    assert_eq!(outcome(&r, "NoForgeryAccepted"), Outcome::Pass);
    assert_eq!(outcome(&r, "AccessControlEnforced"), Outcome::Pass);
}

#[test]
fn an_insider_run_is_reproducible_and_a_harmless_one_is_an_honest_run() {
    let src = busy(r#"(node: "d", forge: 0.2, replay: 0.2, tamper: 0.2, forbidden: 0.2)"#);
    let (first, again, other) = (run_src(&src, 4), run_src(&src, 4), run_src(&src, 5));
    assert_eq!(first.trace, again.trace, "the same seed, the same attack");
    assert_ne!(first.trace_hash, other.trace_hash);
    // Its draws come from the adversary's stream alone: an insider that never attacks leaves
    // the trace of a run without one.
    let idle = run_src(&busy(r#"(node: "d")"#), 4);
    let honest = run_src(&busy("None"), 4);
    assert_eq!(idle.trace_hash, honest.trace_hash);
    assert_eq!(outcome(&honest, "AccessControlEnforced"), Outcome::Inconclusive, "no forbidden attempt, nothing to judge");
}

#[test]
fn the_checks_catch_both_broken_channels_and_pass_the_sound_one_on_every_seed() {
    let cases = [
        ("insider.ron", Outcome::Pass, Outcome::Pass),
        ("broken-no-access-control.ron", Outcome::Pass, Outcome::Fail),
        ("broken-shared-key.ron", Outcome::Fail, Outcome::Fail),
    ];
    for (file, forgery, access) in cases {
        let src = load(file);
        for seed in 0..30 {
            let r = run_src(&src, seed);
            assert_eq!(outcome(&r, "NoForgeryAccepted"), forgery, "{file} seed {seed}");
            assert_eq!(outcome(&r, "AccessControlEnforced"), access, "{file} seed {seed}");
        }
    }
}

/// Attempts and acceptances of each kind in one run, judged as the checks judge them: a
/// message is accepted if its receiver delivers in the handler of its arrival (a replay only
/// if it delivers a payload again).
#[derive(Default)]
struct Tally {
    /// Forged, replayed, tampered, Admin: (attempts, accepted).
    kinds: [(u64, u64); 4],
    /// Payloads the workload sent, and those delivered to their recipient (by any message).
    honest_sent: u64,
    honest_delivered: u64,
}

fn tally(t: &[TraceEvent], into: &mut Tally) {
    let mut tainted = BTreeMap::<MsgId, Vec<usize>>::new();
    let mut delivered = BTreeSet::<(NodeId, AppId)>::new();
    let mut handling = None;
    let mut commanded = BTreeSet::new();
    for e in t {
        match e.kind {
            EventKind::Adversary { action, msg, .. } => {
                let slot = match action {
                    AdversaryAction::Forge => 0,
                    AdversaryAction::Replay => 1,
                    AdversaryAction::Tamper => 2,
                    AdversaryAction::Admin => 3,
                    _ => continue,
                };
                into.kinds[slot].0 += 1;
                tainted.entry(msg).or_default().push(slot);
            }
            EventKind::Command { app, dest: Dest::Node(to), .. } => {
                into.honest_sent += 1;
                commanded.insert((to, app));
            }
            EventKind::Receive { to, msg, .. } => handling = Some((to, msg)),
            EventKind::Timer { .. } | EventKind::Command { .. } | EventKind::Fault { .. } => handling = None,
            EventKind::Deliver { node, app, .. } => {
                let again = !delivered.insert((node, app));
                into.honest_delivered += u64::from(!again && commanded.contains(&(node, app)));
                let Some((_, msg)) = handling.filter(|&(to, _)| to == node) else { continue };
                for &slot in tainted.get(&msg).map_or(&[][..], Vec::as_slice) {
                    if slot != 1 || again {
                        into.kinds[slot].1 += 1;
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn attempts_against_acceptances_per_channel_and_the_books_table_is_current() {
    const SEEDS: u64 = 20;
    let sound = load("insider.ron");
    let variants = [
        ("per-pair keys, policy enforced (insider.ron)", sound.clone()),
        ("policy not enforced (broken-no-access-control.ron)", load("broken-no-access-control.ron")),
        ("group-wide key (broken-shared-key.ron)", load("broken-shared-key.ron")),
        ("no MAC, no encryption, policy enforced", sound.replace("encrypt: true, replay_window: true, access", "access")),
    ];
    let mut text = format!(
        "{SEEDS} seeds of each; the insider d forges, replays, tampers and sends Admin with probability 0.2 each per turn;\n\
         cells are attempts / accepted (Admin: every Admin message, under d's own name, forged as a or tampered into one / acted on)\n\n\
         {:<52} {:>11} {:>11} {:>11} {:>11} {:>16}\n",
        "channel", "forged", "replayed", "tampered", "Admin", "honest delivered"
    );
    let mut rows = Vec::new();
    for (name, src) in &variants {
        let mut t = Tally::default();
        for seed in 0..SEEDS {
            tally(trace(&run_src(src, seed)), &mut t);
        }
        let cell = |(a, b): (u64, u64)| format!("{a} / {b}");
        let _ = writeln!(
            text,
            "{name:<52} {:>11} {:>11} {:>11} {:>11} {:>8} of {:>5}",
            cell(t.kinds[0]),
            cell(t.kinds[1]),
            cell(t.kinds[2]),
            cell(t.kinds[3]),
            t.honest_delivered,
            t.honest_sent
        );
        rows.push(t);
    }
    let accepted = |row: usize, slot: usize| rows[row].kinds[slot].1;
    // Sound: nothing gets in, and every honest payload is delivered (a replay of one of d's
    // messages still in flight may deliver it first, and the window then refuses the original).
    assert!((0..4).all(|slot| accepted(0, slot) == 0));
    assert_eq!(rows[0].honest_delivered, rows[0].honest_sent);
    // Unenforced: authentic Admin messages get in, and only those.
    assert!(accepted(1, 3) > 0 && (0..3).all(|slot| accepted(1, slot) == 0));
    // Shared key: forgeries, Admin ones among them, get in; tampering and replays still do not.
    assert!(accepted(2, 0) > 0 && accepted(2, 3) > 0 && accepted(2, 1) == 0 && accepted(2, 2) == 0);
    // Forged seqs run ahead of the real senders', whose messages the window then refuses as too old.
    assert!(rows[2].honest_delivered < rows[2].honest_sent);
    // Without authentication the policy judges a claim: forgeries as a pass it.
    assert!(accepted(3, 0) > 0 && accepted(3, 2) > 0 && accepted(3, 3) > 0);
    eprintln!("{text}");
    common::book_file_is_current("insider-compare.txt", &text);
}

#[test]
fn every_trace_format_but_shiviz_names_the_insiders_admin_message() {
    // At 1.036 ms d sends a an Admin message under its own name. ShiViz shows process events
    // only: there it is a's receive from d, like any other.
    for format in ["text", "jsonl", "svg", "chrome", "mermaid"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_msgsim"))
            .args(["trace", "scenarios/security/insider.ron", "--format", format, "--to", "2"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("msgsim runs");
        assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Admin"), "{format} shows the Admin message");
    }
}

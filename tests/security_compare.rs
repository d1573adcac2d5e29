//! The book's table of what an outsider on the `a`-`b` link gets through each channel
//! (`book/src/generated/security-compare.md`; `UPDATE_BOOK=1 cargo test --test security_compare`
//! rewrites it): the four channel scenarios of `scenarios/security/` at their own seed, counted
//! from the trace, and the checks agreeing with the counts.

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
const B: NodeId = NodeId(1);

fn run(file: &str) -> (Scenario, RunResult) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/security").join(file);
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions { record_trace: true, ..RunOptions::default() };
    let result = msgsim::run(&scenario, scenario.seed, &options).expect("no panic");
    (scenario, result)
}

fn outcome(r: &RunResult, check: &str) -> Outcome {
    r.verdicts.iter().find(|(name, _)| *name == check).expect("the check is in the scenario").1.outcome
}

/// What the adversary did and got, read from the trace.
#[derive(Debug, Default, PartialEq, Eq)]
struct Row {
    /// Tampered, replayed, forged: (attempts, accepted).
    kinds: [(u64, u64); 3],
    captured: u64,
    read: u64,
    /// Commands from a to b, and from b to a.
    a_to_b: u64,
    b_to_a: u64,
}

impl Row {
    fn accepted(&self) -> u64 {
        self.kinds.iter().map(|k| k.1).sum()
    }
}

/// An adversary's message is accepted if its receiver delivers in the handler of its arrival;
/// a replay only if that delivers a payload again (the original may not have arrived).
fn tally(trace: &[TraceEvent]) -> Row {
    let mut row = Row::default();
    let mut tainted = BTreeMap::<MsgId, usize>::new();
    let mut delivered = BTreeSet::<(NodeId, AppId)>::new();
    let mut handling = None;
    for e in trace {
        match e.kind {
            EventKind::Adversary { action, msg, .. } => {
                let slot = match action {
                    AdversaryAction::Tamper => 0,
                    AdversaryAction::Replay => 1,
                    AdversaryAction::Forge => 2,
                    AdversaryAction::Eavesdrop => {
                        row.captured += 1;
                        continue;
                    }
                    AdversaryAction::Leak => {
                        row.captured += 1;
                        row.read += 1;
                        continue;
                    }
                    AdversaryAction::Drop | AdversaryAction::Admin => continue,
                };
                row.kinds[slot].0 += 1;
                tainted.insert(msg, slot);
            }
            EventKind::Command { node, dest: Dest::Node(to), .. } => {
                handling = None;
                row.a_to_b += u64::from((node, to) == (A, B));
                row.b_to_a += u64::from((node, to) == (B, A));
            }
            EventKind::Receive { to, msg, .. } => handling = Some((to, msg)),
            EventKind::Timer { .. } | EventKind::Command { .. } | EventKind::Fault { .. } => handling = None,
            EventKind::Deliver { node, app, .. } => {
                let again = !delivered.insert((node, app));
                let Some((_, msg)) = handling.filter(|&(to, _)| to == node) else { continue };
                if let Some(&slot) = tainted.get(&msg)
                    && (slot != 1 || again)
                {
                    row.kinds[slot].1 += 1;
                }
            }
            _ => {}
        }
    }
    row
}

#[test]
fn what_an_outsider_gets_through_each_channel_and_the_books_table_is_current() {
    let channels = [
        ("no layers", "broken-unauthenticated.ron"),
        ("MAC + encryption, no window (replay only)", "broken-no-replay-window.ron"),
        ("MAC + window, no encryption", "broken-plaintext.ron"),
        ("encryption + window", "secure.ron"),
    ];
    let mut table = String::from(
        "| Channel | Scenario | tampered, replayed, forged | accepted (tampered, replayed, forged) | payloads read |\n\
         |---------|----------|---------------------------:|--------------------------------------:|--------------:|\n",
    );
    let mut rows = Vec::new();
    for (channel, file) in channels {
        let (scenario, r) = run(file);
        let row = tally(r.trace.as_deref().expect("recorded"));
        // The book's sentence above the table: seed 5, 200 messages from a to b, the control 100 back.
        assert_eq!(scenario.seed, 5, "{file}");
        assert_eq!((row.a_to_b, row.b_to_a), (200, if file == "secure.ron" { 100 } else { 0 }), "{file}");
        // The checks judge the trace alike: a failure exactly when something got through.
        let fails = |check| outcome(&r, check) == Outcome::Fail;
        assert_eq!(fails("NoForgeryAccepted"), row.accepted() > 0, "{file}: {row:?}");
        assert_eq!(fails("NoPlaintextLeak"), row.read > 0, "{file}: {row:?}");
        let [t, p, f] = row.kinds;
        let _ = writeln!(
            table,
            "| {channel} | `{}` | {}, {}, {} | {} ({}, {}, {}) | {} of {} |",
            file.trim_end_matches(".ron"),
            t.0,
            p.0,
            f.0,
            row.accepted(),
            t.1,
            p.1,
            f.1,
            row.read,
            row.captured
        );
        rows.push(row);
    }
    // What the chapter says of them. Without a MAC everything the adversary sends can get in,
    // and every payload is read.
    let [none, no_window, plaintext, control] = &rows[..] else { unreachable!("four channels") };
    assert!(none.kinds.iter().all(|&(tried, accepted)| tried > 0 && accepted > 0), "{none:?}");
    assert_eq!(none.read, none.captured);
    // A MAC refuses every bit flipped; without a window the genuine replays still get in.
    assert!(no_window.kinds[1].1 > 0 && no_window.accepted() == no_window.kinds[1].1 && no_window.read == 0, "{no_window:?}");
    // A MAC and a window let nothing in, yet without encryption every payload is read.
    assert!(plaintext.kinds.iter().all(|&(tried, _)| tried > 0) && plaintext.accepted() == 0, "{plaintext:?}");
    assert_eq!(plaintext.read, plaintext.captured);
    // The control: nothing in, nothing read, however much was tried.
    assert!(control.kinds.iter().all(|&(tried, _)| tried > 0) && control.accepted() == 0 && control.read == 0, "{control:?}");

    common::book_file_is_current("security-compare.md", &table);
}

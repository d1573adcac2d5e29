//! The rest of the canon (`scenarios/canon/`): each scenario's checks give the verdicts its
//! comment promises (every broken variant caught, every control passing), and the book's
//! chapter shows their real output (`book/src/generated/canon-*.txt`; `UPDATE_BOOK=1` rewrites
//! them). `tests/scenarios.rs` runs the same files twice and snapshots their reports.

mod common;

use msgsim::check::Outcome::{self, Fail, Pass};
use msgsim::{RunOptions, Scenario};
use std::path::Path;
use std::process::Command;

/// (scenario, check, verdict it must give).
const VERDICTS: &[(&str, &str, Outcome)] =
    &[("scenarios/canon/two-generals.ron", "SameDecision", Pass), ("scenarios/canon/broken-two-generals.ron", "SameDecision", Fail)];

/// (book file, msgsim arguments).
const OUTPUTS: &[(&str, &[&str])] = &[
    ("canon-two-generals-run.txt", &["run", "scenarios/canon/two-generals.ron"]),
    ("canon-broken-two-generals-run.txt", &["run", "scenarios/canon/broken-two-generals.ron"]),
];

#[test]
fn planted_violations_are_caught_and_correct_runs_pass() {
    for &(file, check, expected) in VERDICTS {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let result = msgsim::run(&scenario, scenario.seed, &RunOptions::default()).expect("no panic");
        let verdict = &result.verdicts.iter().find(|(name, _)| *name == check).expect("the check is in the scenario").1;
        assert_eq!(verdict.outcome, expected, "{file}: {check}: {}", verdict.detail);
    }
}

/// What a reader would see in a terminal: the command, its output, its exit code.
fn transcript(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs");
    let mut text = format!("$ msgsim {}\n", args.join(" "));
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let code = out.status.code().expect("exited");
    if code != 0 {
        text.push_str(&format!("[exit code {code}]\n"));
    }
    text
}

#[test]
fn the_chapters_outputs_are_current() {
    for (name, args) in OUTPUTS {
        common::book_file_is_current(name, &transcript(args));
    }
}

//! The book's chapters "Write your own protocol" and "Challenges" show this crate's binary at
//! work: every output they show is produced here and checked in under
//! `book/src/generated/{own,challenge}-*`. A stale file fails this test;
//! `UPDATE_BOOK=1 cargo test -p custom-protocol --test book` rewrites them (read the diff before
//! committing). The first chapter's seeded test lives here too.

use msgsim::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

const LOSSY: &str = "examples/custom-protocol/scenarios/lossy.ron";
const BROKEN: &str = "examples/custom-protocol/scenarios/broken-ignore-bit.ron";

/// (file under book/src/generated, the binary's arguments), run from the repository root as the
/// chapter does. An `OUT` argument is a file the command writes: the entry's file is that
/// output, and the transcript goes beside it with `.txt` added.
const OUTPUTS: &[(&str, &[&str])] = &[
    ("own-lossy-run.txt", &["run", LOSSY]),
    ("own-lossy-sweep.txt", &["sweep", LOSSY, "--seeds", "0..200"]),
    ("own-bad-config.txt", &["check", "book/examples/own-protocol/bad-config.ron"]),
    ("own-broken-run.txt", &["run", BROKEN]),
    ("own-broken-sweep.txt", &["sweep", BROKEN, "--seeds", "0..50"]),
    ("own-broken-trace.txt", &["trace", BROKEN, "--format", "text", "--from", "30", "--to", "66"]),
    ("own-broken.svg", &["trace", BROKEN, "--format", "svg", "--from", "20", "--to", "70", "-o", "OUT"]),
    ("own-broken-shrunk.ron", &["shrink", BROKEN, "--seed", "1", "-o", "OUT"]),
    ("own-broken-shrunk-run.txt", &["run", "book/src/generated/own-broken-shrunk.ron"]),
    ("own-exercise-fifo-sweep.txt", &["sweep", "book/examples/own-protocol/fifo.ron", "--seeds", "0..100"]),
    ("own-exercise-causal-sweep.txt", &["sweep", "book/examples/own-protocol/causal.ron", "--seeds", "0..100"]),
];

/// The chapter "Challenges": (file under book/src/generated, the solution `LADDER` names, the
/// binary's arguments). Each rung shows its reference passing a sweep and its naive attempt
/// failing a run.
const LADDER_OUTPUTS: &[(&str, &str, &[&str])] = &[
    ("challenge-1-sweep.txt", "echo", &["sweep", "examples/custom-protocol/challenges/01-echo.ron", "--seeds", "0..100"]),
    ("challenge-1-naive.txt", "echo-every-copy", &["run", "examples/custom-protocol/challenges/01-echo.ron"]),
    ("challenge-2-sweep.txt", "flood-once", &["sweep", "examples/custom-protocol/challenges/02-broadcast.ron", "--seeds", "0..100"]),
    ("challenge-2-naive.txt", "tell-neighbours", &["run", "examples/custom-protocol/challenges/02-broadcast.ron"]),
    ("challenge-3-sweep.txt", "flood-acked", &["sweep", "examples/custom-protocol/challenges/03-lossy-broadcast.ron", "--seeds", "0..100"]),
    ("challenge-3-naive.txt", "flood-once", &["run", "examples/custom-protocol/challenges/03-lossy-broadcast.ron"]),
    (
        "challenge-4-sweep.txt",
        "flood-acked",
        &["sweep", "examples/custom-protocol/challenges/04-partitioned-broadcast.ron", "--seeds", "0..100"],
    ),
    ("challenge-4-naive.txt", "flood-gives-up", &["run", "examples/custom-protocol/challenges/04-partitioned-broadcast.ron"]),
    ("challenge-5-sweep.txt", "flood-acked", &["sweep", "examples/custom-protocol/challenges/05-fast-broadcast.ron", "--seeds", "0..10"]),
    ("challenge-5-run.txt", "flood-acked", &["run", "examples/custom-protocol/challenges/05-fast-broadcast.ron"]),
    ("challenge-5-naive.txt", "flood-eager", &["run", "examples/custom-protocol/challenges/05-fast-broadcast.ron"]),
    ("challenge-6-sweep.txt", "batched", &["sweep", "examples/custom-protocol/challenges/06-frugal-broadcast.ron", "--seeds", "0..10"]),
    ("challenge-6-run.txt", "batched", &["run", "examples/custom-protocol/challenges/06-frugal-broadcast.ron"]),
    ("challenge-6-naive.txt", "flood-acked", &["run", "examples/custom-protocol/challenges/06-frugal-broadcast.ron"]),
    ("challenge-6-batched-on-5.txt", "batched", &["run", "examples/custom-protocol/challenges/05-fast-broadcast.ron"]),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a reader would see in a terminal: the command, its output, its exit code; with
/// `ladder`, run with `LADDER` naming that solution.
fn transcript(args: &[&str], out: &Path, ladder: Option<&str>) -> String {
    let shown = args.join(" ").replace("OUT", &out.file_name().unwrap().to_string_lossy());
    let args: Vec<String> = args.iter().map(|a| if *a == "OUT" { out.display().to_string() } else { a.to_string() }).collect();
    let mut command = Process::new(env!("CARGO_BIN_EXE_custom-protocol"));
    command.args(&args).current_dir(root()).env_remove("LADDER");
    if let Some(name) = ladder {
        command.env("LADDER", name);
    }
    let run = command.output().expect("the binary runs");
    let prompt = ladder.map_or(String::new(), |name| format!("LADDER={name} "));
    let mut text =
        format!("$ {prompt}custom-protocol {shown}\n{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    let code = run.status.code().expect("exited");
    if code != 0 {
        text.push_str(&format!("[exit code {code}]\n"));
    }
    text.replace(&out.display().to_string(), &out.file_name().unwrap().to_string_lossy())
}

/// Under `UPDATE_BOOK=1` writes `book/src/generated/{name}`; otherwise says whether it is stale.
fn is_current(name: &str, content: &str) -> bool {
    let path = root().join("book/src/generated").join(name);
    if std::env::var_os("UPDATE_BOOK").is_some() {
        std::fs::write(&path, content).expect("writable");
        return true;
    }
    std::fs::read_to_string(&path).ok().as_deref() == Some(content)
}

#[test]
fn generated_book_files_are_current() {
    let tmp = std::env::temp_dir().join(format!("custom-protocol-book-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut stale = Vec::new();
    let mut keep = |name: &str, content: &str| {
        if !is_current(name, content) {
            stale.push(name.to_string());
        }
    };
    for (name, args) in OUTPUTS {
        let out = tmp.join(name);
        let text = transcript(args, &out, None);
        if args.contains(&"OUT") {
            keep(name, &std::fs::read_to_string(&out).expect("the command wrote its output"));
            keep(&format!("{name}.txt"), &text);
        } else {
            keep(name, &text);
        }
    }
    for (name, solution, args) in LADDER_OUTPUTS {
        keep(name, &transcript(args, &tmp.join(name), Some(solution)));
    }
    keep("own-seeded-failure.txt", &seeded_failure_transcript());
    std::fs::remove_dir_all(&tmp).ok();
    let update = "UPDATE_BOOK=1 cargo test -p custom-protocol --test book";
    assert!(stale.is_empty(), "stale book files {stale:?}: run `{update}`, read the diff, commit");
}

/// The lines a failing seeded test prints (the panic and the replay command), from running
/// `the_planted_bug_fails_a_seeded_test` in this test binary; cargo's and libtest's own lines
/// (timings, summaries) vary and are left out.
fn seeded_failure_transcript() -> String {
    let test = "the_planted_bug_fails_a_seeded_test";
    let run = Process::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env_remove("MSGSIM_SEED")
        .env_remove("MSGSIM_SEEDS")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the test binary runs");
    assert!(!run.status.success(), "the planted bug fails its seeded test");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let kept: Vec<String> = stderr
        .lines()
        .filter(|l| !l.starts_with("note:") && !l.trim().is_empty())
        .map(|l| match (l.strip_prefix("thread '"), l.split_once(") panicked")) {
            // Newer toolchains print the OS thread id, `thread 'name' (12345) panicked`: drop it.
            (Some(_), Some((head, tail))) => format!("{}' panicked{tail}", head.rsplit_once("' (").map_or(head, |(name, _)| name)),
            _ => l.to_string(),
        })
        .collect();
    format!("$ cargo test --test book {test} -- --ignored\n[...]\n{}\n[...]\n", kept.join("\n"))
}

// ANCHOR: seeded
fn scenario(name: &str) -> Scenario {
    custom_protocol::registry().load(&root().join(name)).expect("a valid scenario")
}

/// Every check passes on seeds 0..20, or on the seeds MSGSIM_SEED or MSGSIM_SEEDS name.
#[test]
fn every_check_passes_on_the_lossy_link() {
    let lossy = scenario(LOSSY);
    msgsim::testing::seeds(0..20, |seed| {
        let result = msgsim::run(&lossy, seed, &RunOptions::default()).expect("no panic");
        for (check, verdict) in &result.verdicts {
            assert!(verdict.outcome == Outcome::Pass, "seed {seed}: {check}: {}", verdict.detail);
        }
    });
}
// ANCHOR_END: seeded

/// The same test on the planted bug, to show in the book what a failing seed prints.
#[test]
#[ignore = "fails on purpose: generated_book_files_are_current runs it to show how a failing seed reads"]
fn the_planted_bug_fails_a_seeded_test() {
    let broken = scenario(BROKEN);
    msgsim::testing::seeds(0..20, |seed| {
        let result = msgsim::run(&broken, seed, &RunOptions::default()).expect("no panic");
        for (check, verdict) in &result.verdicts {
            assert!(verdict.outcome == Outcome::Pass, "seed {seed}: {check}: {}", verdict.detail);
        }
    });
}

/// Postmortem: InOrderOnce once named messages `m3` and nodes `n0`, which a trace reads as a
/// wire message and no node at all; it names them as the trace does.
#[test]
fn in_order_once_names_messages_and_nodes_as_the_trace_does() {
    let broken = scenario(BROKEN);
    let result = msgsim::run(&broken, 1, &RunOptions::default()).expect("no panic");
    let (check, verdict) = &result.verdicts[0];
    assert_eq!((*check, verdict.outcome), ("InOrderOnce", Outcome::Fail));
    assert_eq!(verdict.detail, "a3 delivered again at 65.664ms (a to b)");
}

/// The exercises can be solved: with a bundled protocol that gives the order asked for in the
/// `protocol` line, every seed passes; and FIFO broadcast is not causal, as the chapter says.
#[test]
fn the_exercises_pass_with_the_bundled_answers() {
    let retry = "(retry: (base_ms: 20, factor: 2, cap_ms: 80, jitter: 0.1, max_attempts: 12))";
    let with = |file: &str, protocol: &str| {
        let src = std::fs::read_to_string(root().join("book/examples/own-protocol").join(file)).unwrap();
        assert!(src.contains("BestEffort(dedup: true)"), "{file} starts from best effort");
        let src = src.replace("BestEffort(dedup: true)", &format!("{protocol}{retry}"));
        custom_protocol::registry().parse(&src, file).expect("a valid scenario")
    };
    Sweep::new(&with("fifo.ron", "FifoMulticast")).seeds(0..100).run().assert_all_pass();
    Sweep::new(&with("causal.ron", "CausalMulticast")).seeds(0..100).run().assert_all_pass();
    Sweep::new(&with("causal.ron", "FifoMulticast")).seeds(0..100).run().assert_fails("CausalOrder");
}

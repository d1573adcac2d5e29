//! `msgsim` writing into a pipe: every subcommand ends quietly, with exit status 141 (as a
//! command killed by SIGPIPE), when its reader has gone, and writes everything when it has not.

use std::process::{Command, Stdio};

fn msgsim() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_msgsim"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// Run msgsim with its standard output a pipe whose reader has already gone (the earliest a
/// reader like `head -1` can go), and give its exit code and standard error.
///
/// Postmortem: the reader used to be closed just after the spawn; on a loaded machine the test
/// thread could be descheduled that long, msgsim wrote everything into the live pipe and exited
/// 0. Closing the read end before the spawn leaves no reader anywhere: every write fails.
fn with_reader_gone(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = msgsim().args(args).stdout(writer).stderr(Stdio::piped()).output().expect("msgsim runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Regression: `msgsim run ... | head -1` panicked with "failed printing to stdout: Broken
/// pipe" (exit 101), because the subcommands wrote with `print!`.
#[test]
fn every_subcommand_ends_quietly_when_its_reader_goes_away() {
    let dir = std::env::temp_dir().join(format!("msgsim-cli-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shard = dir.join("shard.json");
    let made = msgsim().args(["sweep", "scenarios/bench/pingpong.ron", "--seeds", "0..4", "--json"]).output().expect("msgsim runs");
    assert!(made.status.success());
    std::fs::write(&shard, &made.stdout).unwrap();
    let shard = shard.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["run", "scenarios/bench/pingpong.ron"],
        &["run", "scenarios/bench/pingpong.ron", "--json"],
        // Postmortem: the trace file written to a closed pipe was reported as an error (exit 3).
        &["run", "scenarios/trace-tour.ron", "--trace", "/dev/stdout"],
        // A failing check does not change it: the reader went before the verdict was written.
        &["run", "scenarios/network/best-effort-loses.ron"],
        &["check", "scenarios/bench/pingpong.ron"],
        &["trace", "scenarios/bench/pingpong.ron", "--format", "text"],
        &["trace", "scenarios/trace-tour.ron", "--format", "svg"],
        &["trace", "scenarios/trace-tour.ron", "--format", "jsonl", "-o", "/dev/stdout"],
        &["sweep", "scenarios/bench/pingpong.ron", "--seeds", "0..4"],
        &["sweep", "scenarios/bench/pingpong.ron", "--seeds", "0..4", "--json"],
        &["merge", shard],
        &["merge", shard, "--json"],
        &["shrink", "book/examples/rare-duplicate.ron", "--seed", "11"],
    ];
    for args in cases {
        let (code, stderr) = with_reader_gone(args);
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "msgsim {args:?} complained: {stderr}");
        assert_eq!(code, Some(141), "msgsim {args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_that_stays_gets_everything() {
    let out = msgsim().args(["run", "scenarios/bench/pingpong.ron", "--json"]).output().expect("msgsim runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("}\n"), "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("the whole report");
    assert!(report["trace_hash"].is_string(), "{report}");
}

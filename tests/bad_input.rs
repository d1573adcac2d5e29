//! Bad input: every file under `tests/bad/` is wrong in exactly one way (its first
//! line says how) and must be rejected with a message naming the file, the line
//! and column of the offending value, and what was expected there. The messages
//! are snapshotted, so a change in wording or position is a reviewed change.
//!
//! The CLI must turn each of them into exit code 2 with the message on stderr,
//! never a panic and never a run.

use msgsim::Scenario;
use msgsim::scenario::limits::MAX_FILE_BYTES;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The corpus file's path relative to the crate root (cargo's working directory for
/// integration tests), so that the paths in messages and snapshots are the same everywhere.
fn relative(path: &Path) -> PathBuf {
    Path::new("tests/bad").join(path.file_name().expect("a file"))
}

#[test]
fn rejected() {
    insta::glob!("bad/*.ron", |path| {
        let path = relative(path);
        let bytes = std::fs::read(&path).expect("readable");
        assert!(bytes.is_empty() || bytes.starts_with(b"// "), "{}: say what is wrong in a first-line comment", path.display());
        let errors = Scenario::load(&path).expect_err("a bad scenario must be rejected");
        let text = errors.to_string();
        for line in text.lines() {
            assert!(line.starts_with(&format!("{}:", path.display())), "{line}: every error names the file");
        }
        insta::assert_snapshot!(text);
    });
}

/// Runs the built `msgsim` with `args` from the crate root: (exit code, stdout, stderr).
fn msgsim(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Exit code 2, nothing on stdout, and stderr holds only `path:line:col: ...` lines.
fn assert_bad_input(args: &[&str], path: &str) {
    let (code, stdout, stderr) = msgsim(args);
    assert_eq!(code, Some(2), "msgsim {args:?}: exit code\n{stderr}");
    assert_eq!(stdout, "", "msgsim {args:?}: nothing on stdout");
    assert!(!stderr.is_empty(), "msgsim {args:?}: an error on stderr");
    for line in stderr.lines() {
        assert!(line.starts_with(&format!("{path}:")), "msgsim {args:?}: `{line}` does not start with the path");
    }
}

#[test]
fn the_cli_exits_with_2_on_every_bad_file() {
    let mut files: Vec<String> = std::fs::read_dir("tests/bad")
        .expect("the corpus")
        .map(|e| relative(&e.expect("an entry").path()).display().to_string())
        .filter(|p| p.ends_with(".ron"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus has {} files", files.len());
    for file in &files {
        assert_bad_input(&["check", file], file);
        assert_bad_input(&["run", file], file);
    }
    // Options after the path change nothing: the scenario is rejected before any run.
    let file = "tests/bad/count-zero.ron";
    assert_bad_input(&["run", "--seed", "3", "--json", file], file);
}

#[test]
fn the_cli_exits_with_2_on_a_missing_file() {
    let missing = "tests/bad/no-such-file.ron";
    assert!(!Path::new(missing).exists());
    for command in ["check", "run"] {
        assert_bad_input(&[command, missing], missing);
        let (_, _, stderr) = msgsim(&[command, missing]);
        assert!(stderr.contains("cannot read the scenario"), "{stderr}");
    }
}

/// A scaffold that is valid on its own, padded with a comment to exactly `len` bytes.
fn padded_scenario(len: usize) -> String {
    let head = "Scenario(name: \"big\", horizon_ms: 10, nodes: 2, protocol: BestEffort())\n// ";
    assert!(len > head.len());
    format!("{head}{}", "x".repeat(len - head.len()))
}

#[test]
fn files_over_4_mib_are_rejected_before_parsing() {
    let dir = std::env::temp_dir();
    let at_limit = dir.join(format!("msgsim-at-limit-{}.ron", std::process::id()));
    let over = dir.join(format!("msgsim-over-limit-{}.ron", std::process::id()));
    std::fs::write(&at_limit, padded_scenario(MAX_FILE_BYTES)).expect("temp file");
    std::fs::write(&over, padded_scenario(MAX_FILE_BYTES + 1)).expect("temp file");
    let accepted = Scenario::load(&at_limit);
    let rejected = Scenario::load(&over);
    let _ = std::fs::remove_file(&at_limit);
    let _ = std::fs::remove_file(&over);

    accepted.unwrap_or_else(|e| panic!("a file of exactly {MAX_FILE_BYTES} bytes is allowed: {e}"));
    let errors = rejected.expect_err("one byte more is not");
    assert_eq!(errors.0.len(), 1);
    assert_eq!(
        errors.to_string(),
        format!("{}:1:1: the file is larger than a scenario may be (expected at most {MAX_FILE_BYTES} bytes)", over.display())
    );
}

/// A path that never ends must not be read to the end.
#[cfg(unix)]
#[test]
fn an_endless_file_is_rejected_by_size() {
    let errors = Scenario::load(Path::new("/dev/zero")).expect_err("not a scenario");
    assert_eq!(
        errors.to_string(),
        format!("/dev/zero:1:1: the file is larger than a scenario may be (expected at most {MAX_FILE_BYTES} bytes)")
    );
}

//! The `msgsim` binary against hostile input: one named regression test per failure the
//! hardening issue found (each with its postmortem), driving the built binary as a user
//! would, and asserting the contract: exit 0, 1 or 2 (3 only for an internal error), a
//! message naming what was wrong, bounded time, and no file destroyed or half-written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What one run of the binary did.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `msgsim args` from the crate root with `stdin` as its input, killed if it takes longer
/// than `limit` (then `code` is `None`).
fn msgsim_with(args: &[&str], stdin: &[u8], stderr: Stdio, limit: Duration) -> Ran {
    let mut child = Command::new(env!("CARGO_BIN_EXE_msgsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("msgsim starts");
    let mut input = child.stdin.take().expect("piped");
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let (mut out, mut err) = (child.stdout.take().expect("piped"), child.stderr.take());
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(err) = &mut err {
            let _ = std::io::Read::read_to_end(err, &mut text);
        }
        text
    });
    let code = wait_within(&mut child, limit);
    let _ = feeder.join();
    let stdout = String::from_utf8_lossy(&reader.join().expect("read")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("read")).into_owned();
    Ran { code, stdout, stderr }
}

/// The child's exit code, or `None` if it was still running after about `limit` (then it is
/// killed). Polled in steps of sleep rather than timed: the project reads no wall clock.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    const STEP: Duration = Duration::from_millis(10);
    for _ in 0..=limit.as_millis() / STEP.as_millis() {
        if let Some(status) = child.try_wait().expect("waitable") {
            return status.code();
        }
        std::thread::sleep(STEP);
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A run with no input, its standard error captured, within a minute.
fn msgsim(args: &[&str]) -> Ran {
    msgsim_with(args, b"", Stdio::piped(), Duration::from_secs(60))
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("msgsim-hardening-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

fn text(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_string()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("a bundled file")
}

/// A bundled scenario's text without its `expect_failures` line, so that its planted failure
/// is a failure again (`run` exits 1).
fn undeclared(path: &str) -> String {
    read(path).lines().filter(|l| !l.trim_start().starts_with("expect_failures:")).map(|l| format!("{l}\n")).collect()
}

const UNAUTHENTICATED: &str = "scenarios/security/broken-unauthenticated.ron";
const NO_CHECKSUM: &str = "scenarios/network/broken-no-checksum.ron";

/// Postmortem: a forged message's bytes became a delivery's `origin` (node 536870912), and
/// the SVG and Mermaid exports indexed node names with it. A node id that names no node is
/// now shown as `(forged)` wherever a name is looked up.
#[test]
fn regression_a_forged_origin_is_shown_as_forged_never_indexed() {
    for (format, mark) in [("svg", "(forged)"), ("text", "(forged)"), ("chrome", "(forged)"), ("jsonl", "\"forged_origin\":true")] {
        let ran = msgsim(&["trace", UNAUTHENTICATED, "--format", format]);
        assert_eq!(ran.code, Some(0), "{format}: {}", ran.stderr);
        assert!(ran.stdout.contains(mark), "{format}: the forged origin is marked");
    }
    let ran = msgsim(&["trace", UNAUTHENTICATED, "--format", "mermaid", "--kind", "deliver", "--to", "300"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("from (forged)"), "{}", ran.stdout);
}

/// Postmortem: `shrink` read its scenario twice (once to load, once to patch), so
/// `/dev/stdin` gave an empty second read and a FIFO hung; and it patched the text with its
/// byte order mark, which the position finder did not skip. It now reads once.
#[test]
fn regression_shrink_reads_its_input_once() {
    let src = read(NO_CHECKSUM);
    let from_stdin = msgsim_with(&["shrink", "/dev/stdin", "--seed", "3"], src.as_bytes(), Stdio::piped(), Duration::from_secs(60));
    assert_eq!(from_stdin.code, Some(0), "{}", from_stdin.stderr);
    assert!(from_stdin.stdout.contains("replay:"), "{}", from_stdin.stdout);

    let dir = scratch("once");
    let bom = dir.join("bom.ron");
    std::fs::write(&bom, format!("\u{feff}{src}")).unwrap();
    let shrunk = dir.join("shrunk.ron");
    let ran = msgsim(&["shrink", &text(&bom), "--seed", "3", "-o", &text(&shrunk)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(msgsim(&["run", &text(&shrunk)]).code, Some(1), "the shrunk run fails the same check");

    #[cfg(unix)]
    {
        let fifo = dir.join("fifo.ron");
        assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs").success());
        let writer = {
            let (fifo, src) = (fifo.clone(), src.clone());
            std::thread::spawn(move || std::fs::write(fifo, src))
        };
        let ran = msgsim_with(&["shrink", &text(&fifo), "--seed", "3"], b"", Stdio::piped(), Duration::from_secs(60));
        assert_eq!(ran.code, Some(0), "a FIFO is read once, not waited on again: {}", ran.stderr);
        writer.join().unwrap().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small sweep's `--json` output, the shard files below are edited from.
fn shard_json(args: &[&str]) -> serde_json::Value {
    let ran = msgsim(&[&["sweep", NO_CHECKSUM, "--json"][..], args].concat());
    serde_json::from_str(&ran.stdout).expect("a sweep report")
}

fn merge_one(dir: &Path, name: &str, shard: &serde_json::Value) -> Ran {
    let file = dir.join(name);
    std::fs::write(&file, shard.to_string()).unwrap();
    msgsim(&["merge", &text(&file)])
}

/// Postmortem: `merge` sized a table by the shard count a file claimed, so
/// `"0/18446744073709551615"` overflowed a capacity and `"0/1099511627776"` asked for a
/// terabyte. The count now sizes nothing: shards are gathered as given.
#[test]
fn regression_merge_trusts_no_shard_count() {
    let dir = scratch("count");
    for count in ["18446744073709551615", "1099511627776"] {
        let mut shard = shard_json(&["--seeds", "0..4", "--shard", "0/2"]);
        shard["shard"] = serde_json::json!(format!("0/{count}"));
        let ran = merge_one(&dir, "huge.json", &shard);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert!(ran.stderr.contains("does not add up") || ran.stderr.contains("missing"), "{}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `merge` believed whatever a shard said: a failed seed without its failure
/// exited 0 with "1 failed", an error on a passing seed exited 0, and histogram counts wrapped
/// to "over 18446744073709551613 deliveries". Every shard must now add up, with checked sums.
#[test]
fn regression_merge_refuses_shards_that_do_not_add_up() {
    let dir = scratch("add-up");
    let ran = msgsim(&["sweep", "book/examples/rare-duplicate.ron", "--json", "--seeds", "0..40"]);
    let whole: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a sweep report");
    assert_eq!(merge_one(&dir, "whole.json", &whole).code, Some(1), "the untouched report merges (a seed fails)");
    let failing = whole["seeds"].as_array().unwrap().iter().position(|s| s["verdict"] == "fail").expect("a failing seed");
    let passing = whole["seeds"].as_array().unwrap().iter().position(|s| s["verdict"] != "fail").expect("another seed");

    let mut no_failure = whole.clone();
    no_failure["seeds"][failing].as_object_mut().unwrap().remove("failure");
    let mut error_on_pass = whole.clone();
    error_on_pass["seeds"][passing]["error"] = serde_json::json!({"kind": "panic", "event": 1, "at_ns": 0, "message": "x"});
    let mut wrapped = whole.clone();
    let buckets = wrapped["latency"]["histogram"]["buckets"].as_object_mut().unwrap();
    let first = buckets.keys().next().unwrap().clone();
    buckets.insert(first, serde_json::json!(u64::MAX));
    let mut counted = whole.clone();
    counted["passed"] = serde_json::json!(counted["passed"].as_u64().unwrap() + 1);
    for (name, bad) in [("no-failure", no_failure), ("error-on-pass", error_on_pass), ("wrapped", wrapped), ("counted", counted)] {
        let ran = merge_one(&dir, &format!("{name}.json"), &bad);
        assert_eq!(ran.code, Some(2), "{name}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{name}: nothing is summarised");
    }
    // `/dev/zero` is refused after the cap, not read forever.
    let ran = msgsim(&["merge", "/dev/zero"]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("larger than a shard may be"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `sweep --seeds 0..18446744073709551615` listed every seed before running one
/// (a capacity overflow; `0..1000000000` took 8 GB), and `--jobs 10000` panicked when the
/// operating system refused the threads. Seeds are now computed as they run, and threads
/// are bounded by the seeds and `MAX_JOBS`, which the sweep says.
#[test]
fn regression_sweep_neither_lists_its_seeds_nor_starts_a_thread_per_job() {
    let huge = msgsim_with(
        &["sweep", "scenarios/quickstart.ron", "--seeds", "0..18446744073709551615", "--jobs", "1"],
        b"",
        Stdio::piped(),
        Duration::from_secs(3),
    );
    assert_eq!(huge.code, None, "still running seeds when stopped, not crashed: {}", huge.stderr);
    let ran = msgsim(&["sweep", "scenarios/quickstart.ron", "--seeds", "0..3", "--jobs", "10000"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stderr.contains("--jobs 10000: running on 3 threads"), "{}", ran.stderr);
}

/// Postmortem: every message to standard error went through `eprintln!`, which panics when
/// the write fails: `msgsim run X 2>/dev/full` exited 101. Messages nobody can read are now
/// dropped and the exit code is the command's.
#[cfg(target_os = "linux")]
#[test]
fn regression_a_full_standard_error_changes_no_exit_code() {
    let full = || Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full"));
    let limit = Duration::from_secs(60);
    let failing = scratch("full-stderr").join("no-checksum.ron");
    std::fs::write(&failing, undeclared(NO_CHECKSUM)).unwrap();
    assert_eq!(msgsim_with(&["run", &text(&failing)], b"", full(), limit).code, Some(1));
    assert_eq!(msgsim_with(&["run", "tests/bad/crash-twice.ron"], b"", full(), limit).code, Some(2));
    assert_eq!(msgsim_with(&["trace", NO_CHECKSUM, "--format", "svg", "-o", "/dev/null"], b"", full(), limit).code, Some(0));
}

/// Postmortem: `msgsim --help > /dev/full` exited 0 with nothing written: clap printed help
/// and version itself and ignored the failed write. They now go through the same output as
/// every command, which reports a write that failed.
#[cfg(target_os = "linux")]
#[test]
fn regression_help_to_a_full_standard_output_is_an_error() {
    for args in [&["--help"][..], &["run", "--help"], &["--version"]] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
        let ran = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(args).stdout(full).output().expect("msgsim starts");
        assert_eq!(ran.status.code(), Some(3), "{args:?}");
        assert!(String::from_utf8_lossy(&ran.stderr).contains("cannot write to standard output"), "{args:?}");
        let ok = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(args).output().expect("msgsim starts");
        assert_eq!(ok.status.code(), Some(0), "{args:?}");
        assert!(!ok.stdout.is_empty() && !ok.stdout.contains(&0x1b), "{args:?}: plain text when not a terminal");
    }
    let usage = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(["run", "--bogus"]).output().expect("msgsim starts");
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("unexpected argument '--bogus'"));
}

/// Postmortem: a swarm could draw 10,000 partitions of 100,000 nodes from a 130-byte file
/// that passed `check`, using more than 9 GB and printing a 408 MB summary before the run's
/// limits applied. Validation now bounds what swarm mode may draw.
#[test]
fn regression_swarm_partitions_are_bounded_at_validation() {
    let dir = scratch("swarm");
    let file = dir.join("swarm.ron");
    std::fs::write(
        &file,
        r#"Scenario(name: "s", horizon_ms: 1000, nodes: 100000, protocol: BestEffort(), network: (latency: Constant(ms: 1)), swarm: Some((partitions: (10000, 10000))))"#,
    )
    .unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("swarm.ron:1:") && ran.stderr.contains("partition members"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: every validation error re-tokenised the whole file to find its position, so
/// 10,000 duplicate node names (40 KB) took 32 s. The source is now tokenised once.
#[test]
fn regression_ten_thousand_errors_are_located_in_linear_time() {
    let dir = scratch("positions");
    let file = dir.join("dup.ron");
    let names = vec!["\"a\""; 10_000].join(", ");
    let prefix = "Scenario(name: \"d\", horizon_ms: 10, nodes: [";
    std::fs::write(&file, format!("{prefix}{names}], protocol: BestEffort(), network: (latency: Constant(ms: 1)))")).unwrap();
    let ran = msgsim_with(&["check", &text(&file)], b"", Stdio::piped(), Duration::from_secs(20));
    assert_eq!(ran.code, Some(2), "within the time budget: {}", ran.stderr.len());
    assert_eq!(ran.stderr.lines().count(), 9_999);
    // The last duplicate, where it is.
    let col = prefix.len() + 9_999 * 5 + 1;
    assert!(ran.stderr.lines().last().unwrap().contains(&format!("dup.ron:1:{col}: node `a` is named twice")), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `trace -o X` truncated X before the run and removed it when the format
/// refused the selection: a device node was deleted, a symlink deleted and its target
/// emptied. Outputs are now written to a temporary file that replaces X only when whole;
/// a device or FIFO is opened only when the output is ready, and never removed.
#[test]
fn regression_a_refused_trace_leaves_every_named_file_as_it_was() {
    let dir = scratch("refused");
    let kept = dir.join("kept.svg");
    std::fs::write(&kept, "precious").unwrap();
    let link = dir.join("link.svg");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&kept, &link).unwrap();
    // Mermaid refuses a selection of more than 200 rows.
    for target in [&kept, &link] {
        let ran = msgsim(&["trace", UNAUTHENTICATED, "--format", "mermaid", "-o", &text(target)]);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert_eq!(std::fs::read_to_string(target).unwrap(), "precious");
    }
    #[cfg(unix)]
    {
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        // A refusal on a FIFO opens nothing (no reader is needed) and removes nothing.
        let fifo = dir.join("fifo.svg");
        assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let ran = msgsim(&["trace", UNAUTHENTICATED, "--format", "mermaid", "-o", &text(&fifo)]);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        // A written trace replaces the link's target, and the link stays a link.
        let ran = msgsim(&["trace", UNAUTHENTICATED, "--format", "text", "-o", &text(&link)]);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(std::fs::read_to_string(&kept).unwrap().contains("deliver"));
        // A dangling link's target is created, and the link stays.
        let dangling = dir.join("dangling.txt");
        std::os::unix::fs::symlink("made.txt", &dangling).unwrap();
        let ran = msgsim(&["trace", UNAUTHENTICATED, "--format", "text", "--to", "1", "-o", &text(&dangling)]);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
        assert!(dir.join("made.txt").is_file());
    }
    // No temporary file is left behind.
    let left: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
use std::os::unix::fs::FileTypeExt;

/// Postmortem: `shrink -o existing.ron` truncated the file before finding that the seed
/// passes (exit 2), and a full disk left a cut trace or an empty shrink file. Nothing named
/// is touched until the output is whole; a write that fails is exit 3, never a panic.
#[test]
fn regression_outputs_are_written_whole_or_not_at_all() {
    let dir = scratch("whole");
    let existing = dir.join("existing.ron");
    std::fs::write(&existing, "keep me").unwrap();
    let ran = msgsim(&["shrink", "scenarios/network/perfect-link.ron", "--seed", "1", "-o", &text(&existing)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    let ran = msgsim(&["run", "scenarios/network/perfect-link.ron", "--trace", &text(&dir.join("no/such/dir.txt"))]);
    assert_eq!(ran.code, Some(2), "a bad path costs no run: {}", ran.stderr);
    #[cfg(target_os = "linux")]
    {
        let ran = msgsim(&["trace", NO_CHECKSUM, "--format", "text", "-o", "/dev/full"]);
        assert_eq!(ran.code, Some(3), "{}", ran.stderr);
        assert!(ran.stderr.contains("cannot write the trace"), "{}", ran.stderr);
        let ran = msgsim(&["shrink", NO_CHECKSUM, "--seed", "3", "-o", "/dev/full"]);
        assert_eq!(ran.code, Some(3), "{}", ran.stderr);
        assert!(!ran.stderr.contains("reproduce:"), "{}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the position finder glued a comment to the number before it (`1/* ( */`) and
/// read `r#horizon_ms` as a raw string, so `check` put their errors at 1:1 and `shrink`
/// failed with exit 3 on valid files; and a heavy Pareto tail drew latencies above the
/// 10^18 ns a replay may state, so the shrunk file did not load. A shrink result now always
/// loads, fails the same check, and takes no more events than the original.
#[test]
fn regression_shrink_results_are_always_accepted_by_run() {
    let dir = scratch("shrink");
    let src = read(NO_CHECKSUM);
    let glued = src.replace("seed: 3,", "seed: 3/* ( */,");
    let raw = src.replace("horizon_ms:", "r#horizon_ms:");
    let pareto = undeclared("scenarios/ordering/broken-best-effort.ron")
        .replace("latency: Uniform(min_ms: 1, max_ms: 15)", "latency: Pareto(scale_ms: 100, shape: 0.01)")
        .replace("checks: [Integrity, Validity(settle_ms: 100), Agreement(settle_ms: 100)]", "checks: [Validity(settle_ms: 100)]");
    for (name, text_of, seed) in [("glued", &glued, "3"), ("raw", &raw, "3"), ("pareto", &pareto, "1")] {
        assert_ne!(text_of, &src, "{name}: the edit applies");
        let file = dir.join(format!("{name}.ron"));
        std::fs::write(&file, text_of).unwrap();
        let out = dir.join(format!("{name}-shrunk.ron"));
        let ran = msgsim(&["shrink", &text(&file), "--seed", seed, "-o", &text(&out)]);
        assert_eq!(ran.code, Some(0), "{name}: {}", ran.stderr);
        let rerun = msgsim(&["run", &text(&out), "--json"]);
        assert_eq!(rerun.code, Some(1), "{name}: {}", rerun.stderr);
        let original = msgsim(&["run", &text(&file), "--seed", seed, "--json"]);
        let events = |r: &Ran| serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["events"].as_u64().unwrap();
        assert!(events(&rerun) <= events(&original), "{name}: no larger than the original");
    }
    // Errors next to those forms are placed where they are.
    let file = dir.join("bad-glued.ron");
    std::fs::write(&file, glued.replace("horizon_ms: 2_000", "horizon_ms: 0")).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("bad-glued.ron:6:17: the horizon is zero"), "{}", ran.stderr);
    let file = dir.join("bad-raw.ron");
    std::fs::write(&file, raw.replace("horizon_ms: 2_000", "horizon_ms: 0")).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert!(ran.stderr.contains("bad-raw.ron:6:19: the horizon is zero"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `shrink --check NoSuchCheck` said only that the seed does not fail it;
/// `--node zz` on a 100,000-node scenario printed every name; a path that is not UTF-8 was
/// printed in the reproduce command with U+FFFD, naming no file.
#[test]
fn regression_messages_name_the_problem_briefly_and_exactly() {
    let ran = msgsim(&["shrink", NO_CHECKSUM, "--seed", "3", "--check", "NoSuchCheck"]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr.contains("--check NoSuchCheck: the scenario has no such check; its checks are NoCorruptionDelivered"),
        "{}",
        ran.stderr
    );
    let dir = scratch("messages");
    let big = dir.join("big.ron");
    std::fs::write(
        &big,
        r#"Scenario(name: "big", horizon_ms: 1, nodes: 100000, protocol: BestEffort(), network: (latency: Constant(ms: 1)))"#,
    )
    .unwrap();
    let ran = msgsim(&["trace", &text(&big), "--format", "text", "--node", "zz"]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("it has 100000 nodes: n0, n1,") && ran.stderr.contains(", ..., n99999"), "{}", ran.stderr);
    assert!(ran.stderr.len() < 300, "{}", ran.stderr);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = dir.join(std::ffi::OsStr::from_bytes(b"odd-\xff'.ron"));
        std::fs::write(&odd, undeclared(NO_CHECKSUM)).unwrap();
        let ran = Command::new(env!("CARGO_BIN_EXE_msgsim")).arg("run").arg(&odd).output().unwrap();
        assert_eq!(ran.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert!(stderr.contains("odd-\\xff\\'.ron' --seed 3") && stderr.contains("$'"), "{stderr}");
        // A shell reads the printed word back as the file's name.
        let word = stderr.split("msgsim run ").nth(1).unwrap().split(" --seed").next().unwrap();
        let listed = Command::new("bash").arg("-c").arg(format!("ls {word}")).output().unwrap();
        assert!(listed.status.success(), "{word}: {}", String::from_utf8_lossy(&listed.stderr));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// The robustness suite: generated scenarios near the limits, mutated invalid ones and random
// command lines, every subcommand driven through the binary under a time and memory budget.
// CI runs the case counts below (well under a minute); `MSGSIM_SOAK=N` multiplies them for a
// longer soak by hand: `MSGSIM_SOAK=50 cargo test --release --test hardening robustness`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// No command of the suite may take longer than this (debug build, shared machine): a
/// generated scenario's limits keep every run far below it.
const TIME_BUDGET: Duration = Duration::from_secs(30);

/// Address space each command may use (`ulimit -v`, KiB): an allocation past it aborts the
/// command, which the exit-code assertion catches.
const MEMORY_BUDGET_KIB: u64 = 3 << 20;

/// Cases per property in CI, multiplied by `MSGSIM_SOAK`.
fn cases(ci: u32) -> u32 {
    let soak = std::env::var("MSGSIM_SOAK").ok().and_then(|s| s.parse::<u32>().ok()).unwrap_or(1).max(1);
    ci.saturating_mul(soak)
}

/// A runner over `cases` cases: the same cases on every run in CI, so its time and its verdict
/// do not depend on the draw; a soak (`MSGSIM_SOAK`) draws fresh ones.
fn runner(cases: u32) -> TestRunner {
    let config = config(cases);
    match std::env::var_os("MSGSIM_SOAK") {
        Some(_) => TestRunner::new(config),
        None => {
            let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
            TestRunner::new_with_rng(config, rng)
        }
    }
}

fn config(cases: u32) -> Config {
    // No failure file (the suite writes only under its scratch directory); a failing case
    // is shrunk a little, since every step runs the binary.
    Config { cases, failure_persistence: None, max_shrink_iters: 64, ..Config::default() }
}

/// `msgsim args` under the memory budget, killed past the time budget.
fn bounded(args: &[&str]) -> Ran {
    let mut wrapped = vec!["-c", "ulimit -v \"$0\" && exec \"$@\""];
    let budget = MEMORY_BUDGET_KIB.to_string();
    wrapped.push(&budget);
    wrapped.push(env!("CARGO_BIN_EXE_msgsim"));
    wrapped.extend_from_slice(args);
    let mut child = Command::new("sh")
        .args(&wrapped)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let (mut out, mut err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut text);
        text
    });
    let code = wait_within(&mut child, TIME_BUDGET);
    let stdout = String::from_utf8_lossy(&reader.join().expect("read")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("read")).into_owned();
    Ran { code, stdout, stderr }
}

/// The contract every command keeps: it ends within the budget with 0, 1 or 2, never a panic;
/// a refusal (2) says why.
fn kept(what: &str, ran: &Ran) -> Result<(), TestCaseError> {
    prop_assert!(ran.code.is_some(), "{what}: still running after {TIME_BUDGET:?}");
    prop_assert!(matches!(ran.code, Some(0..=2)), "{what}: exit {:?}\n{}", ran.code, ran.stderr);
    prop_assert!(!ran.stderr.contains("panicked"), "{what}: {}", ran.stderr);
    if ran.code == Some(2) {
        prop_assert!(!ran.stderr.trim().is_empty(), "{what}: refused without a reason");
    }
    Ok(())
}

/// A scenario's parts, each drawn near a limit or an edge.
#[derive(Clone, Debug)]
struct Generated {
    nodes: u32,
    protocol: &'static str,
    group: bool,
    latency: String,
    loss: &'static str,
    duplicate: &'static str,
    corrupt: &'static str,
    mtu: Option<u32>,
    count: u64,
    every_ms: &'static str,
    size_bytes: u64,
    horizon_ms: u64,
    seed: u64,
    max_events: u64,
    max_in_flight: u64,
    max_fragments: u64,
    max_trace_events: u64,
    swarm: Option<(u32, u32, u32)>,
    crash: bool,
}

impl Generated {
    fn source(&self) -> String {
        let n = self.nodes;
        let (groups, workload, checks) = if self.group {
            let members: Vec<String> = (0..n).map(|i| format!("\"n{i}\"")).collect();
            (
                format!("groups: {{\"g\": [{}]}},", members.join(", ")),
                format!(
                    "[(from: \"g\", to: \"g\", send: Multicast, every_ms: {}, count: {}, size_bytes: {})]",
                    self.every_ms, self.count, self.size_bytes
                ),
                "[Integrity, Validity(settle_ms: 100), Agreement(settle_ms: 100)]",
            )
        } else if self.protocol.starts_with("Heartbeat") {
            (String::new(), "[]".to_string(), "[FailureDetection(bound_ms: 500, max_false: 40)]")
        } else {
            let to = if n > 1 { "to: \"*\", " } else { "send: Broadcast, " };
            (
                String::new(),
                format!("[(from: \"*\", {to}every_ms: {}, count: {}, size_bytes: {})]", self.every_ms, self.count, self.size_bytes),
                "[NoLoss, NoDuplicates, NoCorruptionDelivered]",
            )
        };
        let mtu = self.mtu.map_or(String::new(), |m| format!(", mtu_bytes: {m}"));
        // Group protocols are crash-stop: they refuse swarm crashes, which restart.
        let swarm = self.swarm.map(|(loss, crashes, partitions)| (loss, if self.group { 0 } else { crashes }, partitions));
        let swarm = swarm.map_or(String::new(), |(loss, crashes, partitions)| {
            format!("swarm: Some((loss: (0.0, 0.{loss}), crashes: ({crashes}, {crashes}), partitions: (0, {partitions}))),\n    ")
        });
        let faults = if self.crash && n > 1 && !self.group {
            "faults: [(at_ms: 1, do: Crash(\"n0\")), (at_ms: 5, do: Restart(\"n0\"))],\n    "
        } else {
            ""
        };
        format!(
            "// generated\nScenario(\n    name: \"generated\",\n    seed: {},\n    horizon_ms: {},\n    nodes: {n},\n    {groups}\n    \
             protocol: {},\n    network: (latency: {}, loss: {}, duplicate: {}, corrupt: {}{mtu}),\n    {swarm}{faults}\
             workload: {workload},\n    checks: {checks},\n    \
             limits: (max_events: {}, max_in_flight: {}, max_fragments: {}, max_trace_events: {}),\n)\n",
            self.seed,
            self.horizon_ms,
            self.protocol,
            self.latency,
            self.loss,
            self.duplicate,
            self.corrupt,
            self.max_events,
            self.max_in_flight,
            self.max_fragments,
            self.max_trace_events,
        )
    }
}

const RETRY: &str = "retry: (base_ms: 20, factor: 2, cap_ms: 80, jitter: 0.1, max_attempts: 4)";

fn generated() -> impl Strategy<Value = Generated> {
    let unicast = prop::sample::select(vec![
        "BestEffort()",
        "BestEffort(checksum: false, dedup: false)",
        "AtMostOnce()",
        "AtLeastOnce(retry: (base_ms: 20, factor: 2, cap_ms: 80, jitter: 0.1, max_attempts: 4))",
        "ExactlyOnce(retry: (base_ms: 20, factor: 2, cap_ms: 80, jitter: 0.1, max_attempts: 4), window: 1)",
        "SecureChannel()",
        "SecureChannel(encrypt: true, replay_window: true)",
        "Exchange(send: Sync(timeout_ms: 50))",
        "Exchange(send: Call(wait: true))",
        "Gossip(fanout: 1)",
        "Heartbeat(every_ms: 1, detector: Fixed(timeout_ms: 2))",
        "Heartbeat(every_ms: 100, detector: Phi(threshold: 8, window: 100, min_std_ms: 10))",
    ]);
    let multicast = prop::sample::select(vec!["ReliableMulticast", "FifoMulticast", "CausalMulticast", "AtomicMulticast", "IsisMulticast"]);
    let protocol = prop_oneof![unicast.prop_map(|p| (p.to_string(), false)), multicast.prop_map(|m| (format!("{m}({RETRY})"), true)),];
    let latency = prop_oneof![
        (0u32..5).prop_map(|ms| format!("Constant(ms: {ms})")),
        (0u32..3, 0u32..50).prop_map(|(a, b)| format!("Uniform(min_ms: {a}, max_ms: {})", a + b)),
        prop::sample::select(vec!["0.01", "0.5", "1.2", "30"]).prop_map(|shape| format!("Pareto(scale_ms: 1, shape: {shape})")),
    ];
    let probability = || prop::sample::select(vec!["0", "0.01", "0.5", "1"]);
    let edge_u64 = |values: Vec<u64>| prop::sample::select(values);
    (
        (prop::sample::select(vec![1u32, 2, 3, 7, 64, 3000]), protocol, latency),
        (probability(), probability(), probability(), prop::option::of(prop::sample::select(vec![64u32, 1500, 65_536]))),
        (
            edge_u64(vec![0, 1, 5, 1_000, 1_000_000_000]),
            prop::sample::select(vec!["0", "0.001", "1", "1000000"]),
            edge_u64(vec![0, 1, 1500, 1 << 20, 1 << 30]),
            edge_u64(vec![10, 11, 1_000, 1_000_000_000_000]),
            any::<u64>(),
        ),
        (1u64..3_000, 1u64..5_000, 1u64..4_096, 1u64..20_000),
        (prop::option::of((0u32..10, 0u32..3, 0u32..4)), any::<bool>()),
    )
        .prop_map(
            |(
                (nodes, (protocol, group), latency),
                (loss, duplicate, corrupt, mtu),
                (count, every_ms, size_bytes, horizon_ms, seed),
                (max_events, max_in_flight, max_fragments, max_trace_events),
                (swarm, crash),
            )| Generated {
                nodes,
                protocol: Box::leak(protocol.into_boxed_str()),
                group,
                latency,
                loss,
                duplicate,
                corrupt,
                mtu,
                count,
                every_ms,
                size_bytes,
                horizon_ms,
                seed,
                max_events,
                max_in_flight,
                max_fragments,
                max_trace_events,
                swarm,
                crash,
            },
        )
}

const FORMATS: [&str; 6] = ["text", "jsonl", "svg", "chrome", "shiviz", "mermaid"];

/// Counts of what the suite ran, reported when a property finishes.
#[derive(Default)]
struct Tally {
    cases: u64,
    commands: u64,
    valid: u64,
}

/// A file the command may replace: after a refusal it must still hold `KEEP`.
const KEEP: &str = "kept: a refused command must not touch this file\n";

/// Run `args` with `out` (holding `KEEP`) as the output; a refusal leaves it untouched.
fn with_output(tally: &mut Tally, what: &str, args: &[&str], out: &Path) -> Result<Ran, TestCaseError> {
    std::fs::write(out, KEEP).unwrap();
    let ran = bounded(args);
    tally.commands += 1;
    kept(what, &ran)?;
    if ran.code == Some(2) {
        prop_assert_eq!(std::fs::read_to_string(out).unwrap(), KEEP, "{}: a refusal changed the output", what);
    }
    Ok(ran)
}

/// Every subcommand on one scenario file.
fn drive(tally: &mut Tally, dir: &Path, file: &Path, seed: u64, format: &str, shrink: bool) -> Result<(), TestCaseError> {
    let path = text(file);
    let checked = bounded(&["check", &path]);
    tally.commands += 1;
    kept("check", &checked)?;
    if std::env::var_os("MSGSIM_SOAK_VERBOSE").is_some() && checked.code == Some(2) {
        eprintln!("{}", checked.stderr.lines().next().unwrap_or_default());
    }
    let out = dir.join("out.txt");
    let seed_text = seed.to_string();
    let run = with_output(tally, "run --trace", &["run", &path, "--seed", &seed_text, "--trace", &text(&out)], &out)?;
    prop_assert_eq!(run.code == Some(2), checked.code == Some(2), "run and check agree on the input: {}", run.stderr);
    let traced = with_output(tally, format, &["trace", &path, "--format", format, "--from", "0", "--to", "50", "-o", &text(&out)], &out)?;
    if checked.code == Some(2) {
        prop_assert_eq!(traced.code, Some(2));
        return Ok(());
    }
    tally.valid += 1;
    let next = seed.saturating_add(3).to_string();
    let range = format!("{seed}..{next}");
    let sweep = bounded(&["sweep", &path, "--seeds", &range, "--jobs", "2", "--json", "--shard", "0/1"]);
    tally.commands += 1;
    kept("sweep", &sweep)?;
    if seed < u64::MAX - 3 {
        let shard = dir.join("shard.json");
        std::fs::write(&shard, &sweep.stdout).unwrap();
        let merged = bounded(&["merge", &text(&shard)]);
        tally.commands += 1;
        kept("merge", &merged)?;
        prop_assert_eq!(merged.code, sweep.code, "a whole sweep merges to its own verdict: {}", merged.stderr);
        // A shard edited by hand is merged or refused, never believed into a crash.
        let edited = sweep.stdout.replacen("\"runs\": 3", "\"runs\": 18446744073709551615", 1).replacen("\"passed\": ", "\"passed\": 1", 1);
        std::fs::write(&shard, edited).unwrap();
        let merged = bounded(&["merge", &text(&shard)]);
        tally.commands += 1;
        kept("merge an edited shard", &merged)?;
    }
    // Shrinking runs the scenario up to thousands of times: only short runs, and only some.
    if run.code == Some(1) && shrink {
        let shrunk = dir.join("shrunk.ron");
        let ran = with_output(tally, "shrink", &["shrink", &path, "--seed", &seed_text, "-o", &text(&shrunk)], &shrunk)?;
        if ran.code == Some(0) {
            let again = bounded(&["run", &text(&shrunk)]);
            tally.commands += 1;
            prop_assert_eq!(again.code, Some(1), "a shrunk scenario fails again: {}", again.stderr);
        }
    }
    Ok(())
}

/// Postmortem-style summary of a property: how many cases and commands it ran.
fn report(name: &str, tally: &Tally) {
    eprintln!("{name}: {} generated cases, {} valid, {} commands", tally.cases, tally.valid, tally.commands);
}

#[test]
fn robustness_generated_scenarios_near_the_limits() {
    let dir = scratch("generated");
    let tally = std::cell::RefCell::new(Tally::default());
    let mut runner = runner(cases(12));
    let result = runner.run(&(generated(), prop::sample::select(FORMATS.to_vec()), prop::bool::weighted(0.3)), |(g, format, shrink)| {
        let mut tally = tally.borrow_mut();
        tally.cases += 1;
        let file = dir.join("scenario.ron");
        std::fs::write(&file, g.source()).unwrap();
        drive(&mut tally, &dir, &file, g.seed, format, shrink && g.max_events <= 500)
    });
    report("generated scenarios", &tally.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A mutation of scenario text: what a careless edit, a cut download or an attacker does.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Delete(usize, usize),
    Insert(usize, &'static str),
    /// Raw bytes that are not UTF-8.
    Bytes(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop::sample::select(vec![
        "-1",
        "1e300",
        "NaN",
        "inf",
        "18446744073709551615",
        "\u{feff}",
        "/*",
        "*/",
        "/* ( */",
        "//",
        "r#",
        "\"",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "Some(",
        "None",
        "\u{0}",
        "é",
        "nodes: 100000,",
        "limits: (max_events: 0),",
        "swarm: Some((partitions: (10000, 10000))),",
        "replay: [(msg: 0, latency_ns: 18446744073709551615)],",
    ]);
    prop_oneof![
        any::<prop::sample::Index>().prop_map(|i| Mutation::Truncate(i.index(1 << 16))),
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i.index(1 << 16), n)),
        (any::<prop::sample::Index>(), token).prop_map(|(i, t)| Mutation::Insert(i.index(1 << 16), t)),
        (any::<prop::sample::Index>(), prop::collection::vec(0x80u8..=0xff, 1..3)).prop_map(|(i, b)| Mutation::Bytes(i.index(1 << 16), b)),
    ]
}

fn mutate(src: &str, m: &Mutation) -> Vec<u8> {
    let bytes = src.as_bytes();
    let at = |i: usize| i % (bytes.len() + 1);
    match m {
        Mutation::Truncate(i) => bytes[..at(*i)].to_vec(),
        Mutation::Delete(i, n) => {
            let a = at(*i);
            let b = (a + n).min(bytes.len());
            [&bytes[..a], &bytes[b..]].concat()
        }
        Mutation::Insert(i, token) => {
            let a = at(*i);
            [&bytes[..a], token.as_bytes(), &bytes[a..]].concat()
        }
        Mutation::Bytes(i, raw) => {
            let a = at(*i);
            [&bytes[..a], raw.as_slice(), &bytes[a..]].concat()
        }
    }
}

#[test]
fn robustness_mutated_scenarios() {
    let dir = scratch("mutated");
    let tally = std::cell::RefCell::new(Tally::default());
    let mut runner = runner(cases(24));
    let strategy = (generated(), prop::collection::vec(mutation(), 1..4), prop::sample::select(FORMATS.to_vec()));
    let result = runner.run(&strategy, |(g, mutations, format)| {
        let mut tally = tally.borrow_mut();
        tally.cases += 1;
        let mut bytes = g.source().into_bytes();
        for m in &mutations {
            bytes = mutate(&String::from_utf8_lossy(&bytes), m);
        }
        let file = dir.join("mutated.ron");
        std::fs::write(&file, &bytes).unwrap();
        let path = text(&file);
        let checked = bounded(&["check", &path]);
        tally.commands += 1;
        kept("check", &checked)?;
        if checked.code == Some(2) {
            // Positioned: `file:line:col: message`.
            let first = checked.stderr.lines().next().unwrap_or_default();
            prop_assert!(first.starts_with(&format!("{path}:")), "{}", first);
        }
        let out = dir.join("out.txt");
        let traced = with_output(&mut tally, format, &["trace", &path, "--format", format, "-o", &text(&out)], &out)?;
        if checked.code == Some(2) {
            prop_assert_eq!(traced.code, Some(2));
        } else {
            tally.valid += 1;
        }
        Ok(())
    });
    report("mutated scenarios", &tally.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn robustness_command_lines() {
    let dir = scratch("arguments");
    let out = dir.join("out.txt");
    let out_text = text(&out);
    let tally = std::cell::RefCell::new(Tally::default());
    let word = prop::sample::select(vec![
        "scenarios/quickstart.ron",
        "scenarios/network/broken-no-checksum.ron",
        "scenarios/explore/broken-fifo.ron",
        "tests/bad/crash-twice.ron",
        "no/such/file.ron",
        "/dev/null",
        "/dev/zero",
        "scenarios",
        "--seed",
        "--seeds",
        "0..3",
        "5..3",
        "0..18446744073709551615",
        "18446744073709551615",
        "-1",
        "--jobs",
        "0",
        "100000",
        "--shard",
        "0/2",
        "7/3",
        "0/18446744073709551615",
        "--format",
        "svg",
        "mermaid",
        "bogus",
        "--from",
        "--to",
        "99999999999999999999",
        "1.5",
        "--node",
        "n0",
        "zz",
        "--kind",
        "deliver",
        "--check",
        "NoLoss",
        "-o",
        "--json",
        "--check-determinism",
        "--trace",
        "OUT",
    ]);
    let command = prop::sample::select(vec!["run", "check", "trace", "sweep", "merge", "shrink", "explore"]);
    let mut runner = runner(cases(24));
    let result = runner.run(&(command, prop::collection::vec(word, 0..7)), |(command, words)| {
        let mut tally = tally.borrow_mut();
        tally.cases += 1;
        let mut args = vec![command];
        args.extend(words.iter().map(|w| if *w == "OUT" { out_text.as_str() } else { w }));
        with_output(&mut tally, &args.join(" "), &args, &out)?;
        Ok(())
    });
    report("command lines", &tally.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `explore -o X` (added beside this work) wrote its counterexample to a
/// temporary file and renamed it over X whatever X was: a device node or a FIFO named as the
/// output would have been replaced by a regular file, and a symlink by a file. It now writes
/// through the same `Output` as every other command.
#[cfg(unix)]
#[test]
fn regression_explore_writes_its_counterexample_like_every_output() {
    let dir = scratch("explore");
    let kept = dir.join("kept.ron");
    std::fs::write(&kept, "precious").unwrap();
    let link = dir.join("link.ron");
    std::os::unix::fs::symlink(&kept, &link).unwrap();
    // No violation: nothing is written.
    let ran = msgsim(&["explore", "scenarios/explore/fifo.ron", "-o", &text(&link)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "precious");
    // A violation replaces the link's target; the link stays a link.
    let ran = msgsim(&["explore", "scenarios/explore/broken-fifo.ron", "-o", &text(&link)]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&kept).unwrap().contains("replay"));
    // A FIFO stays a FIFO: the counterexample is written into it, for its reader.
    let fifo = dir.join("fifo.ron");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo))
    };
    let ran = msgsim(&["explore", "scenarios/explore/broken-fifo.ron", "-o", &text(&fifo)]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(reader.join().unwrap().unwrap().contains("replay"));
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Found by the third attack (session 3), one test per class of failure.

/// Postmortem: `trace -o`, `run --trace`, `shrink -o` and `explore -o` wrote over the scenario
/// they were reading when named as their output (directly, by a symlink or a hard link): the
/// trace replaced the scenario whole and exit 0. Every output now refuses its own input.
#[cfg(unix)]
#[test]
fn regression_no_output_replaces_the_scenario_it_is_made_from() {
    let dir = scratch("own-input");
    let input = dir.join("input.ron");
    let original = read("scenarios/explore/broken-fifo.ron");
    std::fs::write(&input, &original).unwrap();
    let link = dir.join("link.ron");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let hard = dir.join("hard.ron");
    std::fs::hard_link(&input, &hard).unwrap();
    let dotted = dir.join(".").join("input.ron");
    for out in [&input, &link, &hard, &dotted] {
        let out = text(out);
        let input = text(&input);
        for args in [
            vec!["trace", &input, "--format", "text", "-o", &out],
            vec!["run", &input, "--trace", &out],
            vec!["shrink", &input, "--seed", "1", "-o", &out],
            vec!["explore", &input, "-o", &out],
        ] {
            let ran = msgsim(&args);
            assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
            assert!(ran.stderr.contains("it is the scenario being read"), "{args:?}: {}", ran.stderr);
        }
    }
    assert_eq!(std::fs::read_to_string(&input).unwrap(), original);
    // Another file is written as before.
    let other = text(&dir.join("other.txt"));
    let ran = msgsim(&["trace", &text(&link), "--format", "text", "-o", &other]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a `schedule` step that was not enabled in its turn (a message id never sent, a
/// partition number past the script) ended `run` and `trace` with exit 3, "protocol code
/// panicked", and no position; a schedule beside a swarm did the same. The first is the
/// input's fault, reported at the step with exit 2; the second is refused at validation.
#[test]
fn regression_a_schedule_that_does_not_fit_its_scenario_is_bad_input() {
    let dir = scratch("schedule");
    let base = r#"Scenario(name: "t", horizon_ms: 1000, nodes: 2, protocol: BestEffort(),
    network: (latency: Constant(ms: 1)),
    workload: [(from: "n0", to: "n1", every_ms: 1, count: 1)],
    checks: [NoLoss],
    STEPS
)"#;
    // Each error is placed at the step that was not enabled.
    for (steps, at) in [
        ("schedule: [Partition(4294967296)]", "5:16: with seed 0, schedule step 1 ("),
        ("schedule: [Deliver(0), Deliver(0), Deliver(0)]", "5:28: with seed 0, schedule step 2 (Deliver(0))"),
        ("schedule: [Timer(7)]", "5:16: with seed 0, schedule step 1 (Timer(7))"),
    ] {
        let file = dir.join("bad-step.ron");
        std::fs::write(&file, base.replace("STEPS", steps)).unwrap();
        for args in [vec!["run", &text(&file)], vec!["trace", &text(&file), "--format", "text"]] {
            let ran = msgsim(&args);
            assert_eq!(ran.code, Some(2), "{steps}: {args:?}: {}", ran.stderr);
            assert!(ran.stderr.contains(&format!("bad-step.ron:{at}")), "{steps}: {}", ran.stderr);
            assert!(ran.stderr.contains("reproduce  msgsim run"), "{}", ran.stderr);
            assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
        }
    }
    let file = dir.join("swarm.ron");
    std::fs::write(&file, base.replace("STEPS", "swarm: (crashes: (1, 2)), schedule: [Deliver(0)],")).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("swarm.ron:5:41: a schedule cannot run with a swarm"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a scenario's `name` was printed as written in every summary, check line and
/// export, so an escape sequence in it could retitle the terminal or fake a line of output
/// (`\n check PASS`), and made the SVG invalid XML. Control characters and direction
/// overrides in the name are now refused at validation.
#[test]
fn regression_a_scenario_name_cannot_rewrite_the_terminal() {
    let dir = scratch("name");
    let file = dir.join("name.ron");
    for (name, code) in [
        (r"\u{1b}]0;title\u{7}", "control character U+001B"),
        (r"x\ncheck      PASS", "control character U+000A"),
        ("\u{202e}evil", "invisible character U+202E"),
    ] {
        std::fs::write(&file, format!(r#"Scenario(name: "{name}", horizon_ms: 10, nodes: 2, protocol: BestEffort())"#)).unwrap();
        for command in ["check", "run"] {
            let ran = msgsim(&[command, &text(&file)]);
            assert_eq!(ran.code, Some(2), "{name}: {}", ran.stderr);
            assert!(ran.stderr.contains(&format!("name.ron:1:16: the name holds the {code}")), "{}", ran.stderr);
            assert!(ran.stdout.is_empty());
        }
    }
    // Names in any script stay welcome.
    std::fs::write(&file, r#"Scenario(name: "名前 ünïcödé — ok", horizon_ms: 10, nodes: 2, protocol: BestEffort())"#).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `limits.max_memory_mb` took any number, so `18446744073709551615` turned the
/// memory budget off while the scenario still appeared to state one. It is capped at 64 GiB.
#[test]
fn regression_the_memory_budget_has_a_ceiling() {
    let dir = scratch("ceiling");
    let file = dir.join("ceiling.ron");
    for (mb, code) in [("18446744073709551615", 2), ("65537", 2), ("65536", 0)] {
        std::fs::write(
            &file,
            format!(r#"Scenario(name: "t", horizon_ms: 10, nodes: 2, protocol: BestEffort(), limits: (max_memory_mb: {mb}))"#),
        )
        .unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(code), "{mb}: {}", ran.stderr);
        if code == 2 {
            assert!(
                ran.stderr.contains("ceiling.ron:1:95: a memory budget of") && ran.stderr.contains("(expected at most 65536 (64 GiB))"),
                "{}",
                ran.stderr
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the in-flight budget counted each message copy at its fixed size (about 250
/// bytes), but some copies own vectors that grow: a causal multicast's carry counters per node
/// (and its sender keeps the body until acknowledged), an anti-entropy round carries every
/// value its sender knows. 10,000-node causal broadcasts reached 3.9 GB and a 1,000-node
/// `GossipRounds` aborted at 3 GB under the default 1 GiB budget. A message now declares the
/// heap it owns (`Message::heap_bytes`) and the budget counts it at every transmission.
#[test]
fn regression_message_copies_are_budgeted_at_their_real_size() {
    let dir = scratch("copies");
    let file = dir.join("copies.ron");
    // 64 MiB holds about 2,700 causal copies of 24 KiB over 2,000 nodes: the first broadcast
    // (1,999 copies) fits, the second does not. 16 MiB holds the rounds' copies only while few
    // values are known (the run reached the horizon holding 235 MB before); with the values
    // each node holds counted too (`Process::heap_bytes`), it stops at 35 ms rather than 45.
    for (protocol, nodes, every, at) in [
        ("CausalMulticast(retry: (base_ms: 50, factor: 2, cap_ms: 100, max_attempts: 2))", 2000, "1", "at 1.000ms"),
        ("GossipRounds(mode: PushPull, period_ms: 10)", 100, "0.001", "at 35.000ms"),
    ] {
        std::fs::write(
            &file,
            format!(
                r#"Scenario(name: "t", horizon_ms: 200, nodes: {nodes},
    protocol: {protocol},
    network: (latency: Constant(ms: 5)),
    limits: (max_memory_mb: {mb}),
    workload: [(from: "n0", send: Broadcast, every_ms: {every}, count: 20000)])"#,
                mb = if nodes == 2000 { 64 } else { 16 }
            ),
        )
        .unwrap();
        let ran = msgsim(&["run", &text(&file)]);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(ran.stdout.contains(&format!("max_memory_mb limit exceeded {at}")), "{protocol}: {}", ran.stdout);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `merge` printed a shard's names as they came, so a shard whose `name` held an
/// escape sequence and a new line rewrote the terminal and faked lines of the summary, and a
/// trace hash of `zz` was merged and reported. Names that hold a control character, which no
/// sweep writes, and hashes that are not 16 hexadecimal digits are refused.
#[test]
fn regression_merge_prints_nothing_a_sweep_would_not_write() {
    let dir = scratch("merge-names");
    let whole = shard_json(&["--seeds", "0..4"]);
    let mut named = whole.clone();
    named["name"] = serde_json::json!("\u{1b}]0;x\u{7}\nverdicts   4 passed");
    let mut protocol = whole.clone();
    protocol["protocol"] = serde_json::json!("P\u{1b}[31m");
    let mut hash = whole.clone();
    hash["seeds"][0]["trace_hash"] = serde_json::json!("zz");
    for (name, bad, why) in [
        ("name", named, "holds a control character"),
        ("protocol", protocol, "holds a control character"),
        ("hash", hash, "16 hexadecimal digits"),
    ] {
        let ran = merge_one(&dir, &format!("{name}.json"), &bad);
        assert_eq!(ran.code, Some(2), "{name}: {}", ran.stderr);
        assert!(ran.stderr.contains(why), "{name}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{name}: nothing is summarised");
    }
    let ran = merge_one(&dir, "whole.json", &whole);
    assert!(matches!(ran.code, Some(0 | 1)), "the untouched report merges: {}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the asynchronous model (`explore --model async`, and `run` of a `schedule`)
/// put every transmission on its wire with no budget, so a 10,000-node causal multicast grew
/// past 2.3 GB exploring under the default 1 GiB. Its wire is now counted as the engine's is:
/// a path over `max_in_flight` or `max_memory_mb` ends there, with that reason, and is judged.
#[test]
fn regression_the_asynchronous_model_keeps_the_in_flight_budget() {
    let dir = scratch("async-budget");
    let file = dir.join("async.ron");
    let scenario = |mb: u32| {
        format!(
            r#"Scenario(name: "t", horizon_ms: 100, nodes: 2000,
    protocol: CausalMulticast(retry: (base_ms: 50, factor: 2, cap_ms: 100, max_attempts: 2)),
    network: (latency: Constant(ms: 1)),
    limits: (max_memory_mb: {mb}),
    workload: [(from: "n0", send: Broadcast, every_ms: 1, count: 5)],
    checks: [NoLoss],
    schedule: [])"#
        )
    };
    // One broadcast over 2,000 nodes: 1,999 copies of about 24 KiB, 48 MiB in all, beside the
    // cluster's own 32 MiB (its vectors, and the engine's place per node, which validation
    // counts: under 32 MiB the scenario is refused before it runs).
    std::fs::write(&file, scenario(40)).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("ended      max_memory_mb limit exceeded"), "{}", ran.stdout);
    let ran = msgsim(&["explore", "--model", "async", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("limits     some paths ran out of the scenario's in-flight budget"), "{}", ran.stdout);
    std::fs::write(&file, scenario(64)).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert!(ran.stdout.contains("ended      horizon reached"), "under the budget the schedule runs on: {}", ran.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the memory budget counted the cluster's declared state and the messages in
/// flight, not what a protocol keeps as the run goes: a durable queue's broker holds every task
/// it ever queued (its deduplication set, its log, its backlog), so a 4 MiB budget ran to the
/// horizon over five million events holding 75 MB. A process now reports its state
/// (`Process::heap_bytes`), read after each handler, and the run stops when state and
/// messages together pass `max_memory_mb`.
#[test]
fn regression_protocol_state_that_grows_with_the_workload_is_budgeted() {
    let dir = scratch("protocol-state");
    let file = dir.join("queue.ron");
    std::fs::write(
        &file,
        r#"Scenario(name: "t", horizon_ms: 10_000, nodes: ["queue", "w1", "p1"],
    groups: {"workers": ["w1"]},
    protocol: DurableQueue(broker: "queue", consumers: "workers", storage: Durable, write_ms: 0, work_ms: 4, visibility_ms: 30),
    network: (latency: Constant(ms: 1)),
    limits: (max_memory_mb: 4),
    workload: [(from: "p1", to: "queue", every_ms: 0.01, count: 1000000)])"#,
    )
    .unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    // At 415.780 ms before the broker's visibility and write timers were counted too.
    assert!(ran.stdout.contains("ended      max_memory_mb limit exceeded at 329.230ms"), "{}", ran.stdout);
    // The stop point is a function of the scenario and the seed, whichever command runs it.
    let again = msgsim(&["run", &text(&file)]);
    assert_eq!(again.stdout, ran.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a checker's records (one per delivery for `NoDuplicates`, per message or
/// operation for most) were not budgeted either, so a check could take what the run was
/// refused. A checker now reports them (`Checker::heap_bytes`), read every few thousand trace
/// events: the same gossip run is quiescent without the check and stops at 1 MiB with it.
#[test]
fn regression_checker_state_is_budgeted() {
    let dir = scratch("checker-state");
    let file = dir.join("gossip.ron");
    let scenario = |checks: &str| {
        format!(
            r#"Scenario(name: "t", horizon_ms: 10_000, nodes: 200,
    protocol: Gossip(fanout: 2),
    network: (latency: Uniform(min_ms: 1, max_ms: 5)),
    limits: (max_memory_mb: 1),
    workload: [(from: "n0", send: Broadcast, every_ms: 1, count: 500)],
    checks: [{checks}])"#
        )
    };
    std::fs::write(&file, scenario("")).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert!(ran.stdout.contains("ended      quiescent"), "{}", ran.stdout);
    std::fs::write(&file, scenario("NoDuplicates")).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert!(matches!(ran.code, Some(0 | 1)), "{}", ran.stderr);
    assert!(ran.stdout.contains("ended      max_memory_mb limit exceeded"), "a record per delivery: {}", ran.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a 1,000-node `GossipRounds` run, each node holding every value it had learnt,
/// reached 2.5 GB of RSS under the default 1 GiB budget (stopped only by its messages in
/// flight, late). The values a node holds now count: under 64 MiB the run stops at 45 ms
/// instead of 55 ms, and measured by hand (`/usr/bin/time -f %M`) it stays under its budget.
#[test]
fn regression_a_thousand_gossip_rounds_nodes_stop_at_their_state_budget() {
    let dir = scratch("rounds-state");
    let file = dir.join("rounds.ron");
    std::fs::write(
        &file,
        r#"Scenario(name: "t", horizon_ms: 200, nodes: 1000,
    protocol: GossipRounds(mode: PushPull, period_ms: 10),
    network: (latency: Constant(ms: 5)),
    limits: (max_memory_mb: 64),
    workload: [(from: "n0", send: Broadcast, every_ms: 0.001, count: 20000)])"#,
    )
    .unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("ended      max_memory_mb limit exceeded at 45.000ms"), "{}", ran.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a message leaves the in-flight count when it arrives, so what then waits at a
/// node was budgeted nowhere: an unbounded mailbox in front of a slow consumer held 70 MB, and
/// a paused node's held deliveries and commands 100 MB, under a 4 MiB budget. The engine now
/// counts what waits at the nodes every few thousand steps (only where a mailbox, a pause or a
/// blocked process can hold anything), against the same budget.
#[test]
fn regression_what_waits_at_a_node_is_budgeted() {
    let dir = scratch("parked");
    let file = dir.join("parked.ron");
    for (what, lines) in [
        ("mailbox", r#"protocol: Exchange(send: Async), mailboxes: [(nodes: ["consumer"], service: Constant(ms: 10))],"#),
        ("pause", r#"protocol: BestEffort, faults: [(at_ms: 1, do: Pause("consumer"))],"#),
    ] {
        std::fs::write(
            &file,
            format!(
                r#"Scenario(name: "t", horizon_ms: 100_000, nodes: ["producer", "consumer"],
    {lines}
    network: (latency: Constant(ms: 1)),
    limits: (max_memory_mb: 4),
    workload: [(from: "producer", to: "consumer", every_ms: 0.01, count: 1000000),
        (from: "consumer", to: "producer", every_ms: 0.01, count: 1000000)])"#
            ),
        )
        .unwrap();
        let ran = msgsim(&["run", &text(&file)]);
        assert_eq!(ran.code, Some(0), "{what}: {}", ran.stderr);
        assert!(ran.stdout.contains("ended      max_memory_mb limit exceeded"), "{what}: {}", ran.stdout);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `msgsim trace` kept every event it would print outside the memory budget, so a
/// 1,000-node `GossipRounds` run reached 1.37 GB under the default 1 GiB with `--format jsonl`.
/// The listing formats are now written as the run makes its events and keep none; the formats
/// that draw the whole trace count what they keep against the budget, and say so when it stops.
#[test]
fn regression_trace_output_is_streamed_or_budgeted() {
    let dir = scratch("trace-budget");
    let file = dir.join("steady.ron");
    // Nothing grows but the trace: a few hundred messages in flight, no checks.
    std::fs::write(
        &file,
        r#"Scenario(name: "t", horizon_ms: 2_000, nodes: ["a", "b"], protocol: BestEffort,
    network: (latency: Constant(ms: 1)),
    limits: (max_memory_mb: 8),
    workload: [(from: "a", to: "b", every_ms: 0.01, count: 150000)])"#,
    )
    .unwrap();
    let ran = msgsim(&["run", "--json", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a report");
    let events = report["trace_events"].as_u64().expect("a count");
    assert_eq!(report["end"]["reason"], "quiescent", "nothing but the trace would exceed 8 MiB: {report}");
    assert_eq!(events, 600_000, "cmd, send, recv and deliver for each of 150,000 messages");
    for format in ["jsonl", "text"] {
        let out = dir.join(format!("t.{format}"));
        let ran = msgsim(&["trace", "--format", format, "-o", &text(&out), &text(&file)]);
        assert_eq!(ran.code, Some(0), "{format}: {}", ran.stderr);
        assert!(!ran.stderr.contains("limit exceeded"), "{format} keeps nothing: {}", ran.stderr);
        let lines = std::fs::read_to_string(&out).unwrap().lines().count() as u64;
        assert_eq!(lines, events, "{format}: every event of the whole run, written as it went");
    }
    let ran = msgsim(&["run", "--trace", &text(&dir.join("run.jsonl")), &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("run.jsonl")).unwrap().lines().count() as u64, events);
    // 600,000 kept events cost more than 8 MiB: the run that keeps them stops at the budget.
    let svg = dir.join("t.svg");
    let ran = msgsim(&["trace", "--format", "svg", "-o", &text(&svg), &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stderr.contains("max_memory_mb limit exceeded: --format svg keeps the whole trace"), "{}", ran.stderr);
    let kept: u64 =
        ran.stderr.rsplit("of the run's ").next().and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).expect("a count");
    assert!(kept < events / 2, "stopped early: {kept} of {events} events kept");
    assert!(std::fs::read_to_string(&svg).unwrap().trim_end().ends_with("</svg>"), "a whole diagram of what ran");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A user's process that sets a timer, an hour away, for every command it is handed, and
/// never cancels one: its timers pile up in the scheduler's queue.
struct TimerPerCommand;

impl msgsim::process::Process for TimerPerCommand {
    type Msg = msgsim::protocols::best_effort::Data;
    type Timer = u64;
    fn on_command(&mut self, ctx: &mut msgsim::process::Ctx<'_, Self::Msg, u64>, _: msgsim::process::Command) {
        ctx.set_timer(3_600_000_000_000, 0);
    }
    fn on_message(&mut self, _: &mut msgsim::process::Ctx<'_, Self::Msg, u64>, _: msgsim::process::Incoming<Self::Msg>) {}
}

/// Postmortem: timers were counted nowhere, so a protocol that set one per message it handled
/// grew the scheduler's queue without bound under any `max_memory_mb`. Each timer queued now
/// costs its queue entry and its live-timer slot, counted where it is set, beside the messages
/// in flight.
#[test]
fn regression_timers_set_without_bound_are_budgeted() {
    let scenario = msgsim::Scenario::parse(
        r#"Scenario(name: "t", horizon_ms: 1_000_000, nodes: 2, protocol: BestEffort,
    limits: (max_memory_mb: 1),
    workload: [(from: "n0", to: "n1", every_ms: 0.001, count: 1000000)])"#,
        "timers.ron",
    )
    .expect("a valid scenario");
    let result = msgsim::sim::run_catching(&scenario, 1, &msgsim::RunOptions::default(), |_| TimerPerCommand).expect("no panic");
    assert_eq!(result.end.reason, msgsim::check::EndReason::MaxMemory);
    // A queued timer costs at least 32 bytes: a MiB holds at most 32,768 of them.
    assert!(result.app.commands > 1_000 && result.app.commands <= 32_768, "{} timers set", result.app.commands);
}

/// Postmortem: the summary named every process still blocked at the end, so 8,000 senders
/// blocked on one node printed a 430 KB line; it names eight and counts the rest. The same
/// run holds thousands of messages at the blocked node, whose `queue` lines' depths came from
/// a walk over what it held at every arrival (quadratic); they are counted as they come and go.
#[test]
fn regression_many_blocked_senders_are_summarised_and_their_queue_counted() {
    let dir = scratch("blocked-many");
    let file = dir.join("blocked.ron");
    let senders: Vec<String> = (3..40).map(|i| format!(r#"(from: "n{i}", to: "n2", every_ms: 1, count: 1, start_ms: 5)"#)).collect();
    std::fs::write(
        &file,
        format!(
            r#"Scenario(name: "t", horizon_ms: 100, nodes: 40, protocol: Exchange(send: Sync()),
    network: (latency: Constant(ms: 1)),
    faults: [(at_ms: 0, do: Pause("n1"))],
    workload: [(from: "n2", to: "n1", every_ms: 1, count: 1), {}])"#,
            senders.join(", ")
        ),
    )
    .unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let blocked = ran.stdout.lines().find(|l| l.starts_with("blocked")).expect("a blocked line");
    assert_eq!(blocked.matches(" on ").count(), 8, "{blocked}");
    assert!(blocked.ends_with("; and 30 more (--json lists every one)"), "{blocked}");
    let ran = msgsim(&["trace", "--format", "jsonl", "--kind", "queue", "--node", "n2", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let depths: Vec<u64> = ran
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["depth"].as_u64().expect("a depth"))
        .collect();
    assert_eq!(depths, (1..=37).collect::<Vec<u64>>(), "one more waiting at each arrival");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: streamed, `trace --format shiviz` still kept a 256-entry vector clock for every
/// message in flight, outside the budget: 449 MB under `max_memory_mb: 64` with 380,000
/// messages on the wire. What a format keeps per message in flight now counts with it.
#[test]
fn regression_the_vector_clocks_of_messages_in_flight_are_budgeted() {
    let dir = scratch("clocks-in-flight");
    let file = dir.join("wire.ron");
    std::fs::write(
        &file,
        r#"Scenario(name: "t", horizon_ms: 100_000, nodes: 256, protocol: BestEffort,
    network: (latency: Constant(ms: 50_000)),
    limits: (max_memory_mb: 4),
    workload: [(from: "n0", to: "n1", every_ms: 0.001, count: 10000000)])"#,
    )
    .unwrap();
    let ran = msgsim(&["run", "--json", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a report");
    let events = report["trace_events"].as_u64().expect("a count");
    let out = dir.join("wire.shiviz");
    let ran = msgsim(&["trace", "--format", "shiviz", "-o", &text(&out), &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stderr.contains("max_memory_mb limit exceeded: the vector clocks"), "{}", ran.stderr);
    let traced: u64 =
        ran.stderr.rsplit("of the run's ").next().and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).expect("a count");
    // A clock of 256 entries is about ten times a copy's own cost on the wire.
    assert!(traced * 5 < events, "{traced} events traced, {events} run");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `shrink` records every network decision of the run and copies them into each
/// candidate, outside the budget: a run that keeps 10 MB under `max_memory_mb: 16` took 885 MB
/// to shrink. The decisions now count against the budget at what the search keeps of each,
/// and a run whose recording would not fit is refused, exit 2, rather than shrunk as another run.
#[test]
fn regression_shrink_keeps_its_decisions_within_the_budget() {
    let dir = scratch("shrink-decisions");
    let file = dir.join("lossy.ron");
    let scenario = |budget_mb: u32| {
        format!(
            r#"Scenario(name: "t", horizon_ms: 1_000_000, nodes: 2, protocol: BestEffort,
    network: (latency: Constant(ms: 1), loss: 0.01),
    limits: (max_memory_mb: {budget_mb}),
    workload: [(from: "n0", to: "n1", every_ms: 0.01, count: 20000)],
    checks: [NoLoss])"#
        )
    };
    std::fs::write(&file, scenario(2)).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(1), "NoLoss fails within the budget: {}", ran.stdout);
    assert!(ran.stdout.contains("ended      quiescent"), "{}", ran.stdout);
    let out = dir.join("shrunk.ron");
    let ran = msgsim(&["shrink", "--seed", "0", "-o", &text(&out), &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("decisions so far need more than max_memory_mb (2 MiB)"), "{}", ran.stderr);
    assert!(!out.exists(), "nothing written");
    // With room for them, the same run shrinks.
    std::fs::write(&file, scenario(64)).unwrap();
    let ran = msgsim(&["shrink", "--seed", "0", "-o", &text(&out), &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a deadlock was described member by member, in the summary's `waits` line and
/// in `NoDeadlock`'s verdict: a ring of 3,000 synchronous senders printed two lines of 139 KB
/// each. A cycle is described by its first eight members and how many more there are.
#[test]
fn regression_a_long_wait_cycle_is_described_briefly() {
    let dir = scratch("ring");
    let file = dir.join("ring.ron");
    let n = 40;
    let sends: Vec<String> = (0..n).map(|i| format!(r#"(from: "n{i}", to: "n{}", every_ms: 1, count: 1)"#, (i + 1) % n)).collect();
    std::fs::write(
        &file,
        format!(
            r#"Scenario(name: "t", horizon_ms: 100, nodes: {n}, protocol: Exchange(send: Sync()),
    network: (latency: Constant(ms: 1)),
    workload: [{}],
    checks: [NoDeadlock], expect_failures: [NoDeadlock])"#,
            sends.join(", ")
        ),
    )
    .unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    for prefix in ["waits ", "check "] {
        let line = ran.stdout.lines().find(|l| l.starts_with(prefix)).expect("a line");
        assert_eq!(line.matches(" waits on ").count(), 8, "{line}");
        assert!(line.ends_with(", and 32 more (40 processes in all)"), "{line}");
    }
    // Postmortem: the `led there` command still named all 40 members (a ring of thousands made
    // a command line of tens of kilobytes); it names the eight the `waits` line describes.
    let led = ran.stdout.lines().find(|l| l.starts_with("led there ")).expect("a deadlock's command");
    let nodes = led.split("--node=").nth(1).expect("names the nodes");
    assert_eq!(nodes.split(',').count(), 8, "{led}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The peak resident memory of `msgsim args`, in KiB, as `/usr/bin/time -f %M` measures it
/// (`None` where that tool is missing: the caller's other assertions still run).
fn peak_kib(args: &[&str]) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let out = Command::new(time)
        .args(["-f", "peak %M"])
        .arg(env!("CARGO_BIN_EXE_msgsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .output()
        .expect("time runs");
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines().rev().find_map(|l| l.strip_prefix("peak ")).and_then(|kib| kib.trim().parse().ok())
}

/// Whether `msgsim args` peaks within `budget_mib` of memory beyond what `msgsim check file`
/// takes (the binary and its tables); `Ok` where `/usr/bin/time` is missing.
fn within_budget(args: &[&str], file: &Path, budget_mib: u64) -> Result<(), String> {
    let (Some(peak), Some(base)) = (peak_kib(args), peak_kib(&["check", &text(file)])) else { return Ok(()) };
    match peak.saturating_sub(base) < budget_mib << 10 {
        true => Ok(()),
        false => Err(format!("{args:?} peaked at {peak} KiB, {base} KiB of them the binary, under {budget_mib} MiB")),
    }
}

/// Postmortem: `explore` counted none of what its search keeps (the queue of paths, the states
/// found, the worlds it copies successors from), so a 300-byte scenario under `max_memory_mb:
/// 64` reached 282 MB (timed) and 313 MB (asynchronous). Both models now stop, incomplete, when
/// what they keep reaches the budget, and say it was the budget, as `run` does.
#[test]
fn regression_explore_keeps_its_search_within_the_memory_budget() {
    let dir = scratch("explore-memory");
    let file = dir.join("search.ron");
    for (model, protocol, count, check, code) in [
        ("timed", "BestEffort()", 30, "NoLoss", 1),
        ("async", "ExactlyOnce(retry: (base_ms: 50, factor: 2, cap_ms: 100, max_attempts: 3), window: 16)", 4, "NoDuplicates", 0),
    ] {
        let states = |mb: u64| {
            std::fs::write(
                &file,
                format!(
                    r#"Scenario(name: "t", seed: 1, horizon_ms: 10_000, nodes: 3, protocol: {protocol},
    network: (latency: Uniform(min_ms: 1, max_ms: 50), loss: 0.1, duplicate: 0.1),
    workload: [(from: "n0", to: "n1", every_ms: 10, count: {count}), (from: "n2", to: "n1", every_ms: 10, count: {count})],
    checks: [{check}], limits: (max_memory_mb: {mb}))"#
                ),
            )
            .unwrap();
            let ran = msgsim(&["explore", &text(&file), "--model", model]);
            assert_eq!(ran.code, Some(code), "{model}: {}{}", ran.stdout, ran.stderr);
            assert!(ran.stdout.contains("INCOMPLETE: stopped by max_memory_mb"), "{model}: {}", ran.stdout);
            let json = msgsim(&["explore", &text(&file), "--model", model, "--json"]);
            let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
            assert_eq!((json["stopped_by"].as_str(), json["memory_reached"].as_bool()), (Some("max_memory_mb"), Some(true)), "{model}");
            json["transitions"].as_u64().expect("a count")
        };
        let (small, large) = (states(4), states(16));
        assert!(small < large, "{model}: a larger budget searches further: {small} against {large}");
        // 16 MiB, and 6 for the allocator's slack: a debug build's allocations differ a little,
        // and the asynchronous search's peak on this file varied from 16.7 to 20.7 MiB between
        // runs of one build (allocator placement), all while it counted the same 16 MiB.
        within_budget(&["explore", &text(&file), "--model", model], &file, 16 + 6).unwrap();
        assert_eq!(states(4), small, "{model}: the search stops at the same transition every time");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `--format mermaid` built a row (a string) for every arrow and note of the
/// selection and only then refused more than 200, so a long run's refusal cost a string per
/// event. It now counts the rows first and builds none of a diagram it refuses; the count is
/// exact, and a diagram it draws has as many rows as it counted.
#[test]
fn regression_mermaid_counts_its_rows_before_building_them() {
    let ran = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "mermaid"]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("5485 diagram rows, more than 200"), "{}", ran.stderr);
    assert!(ran.stdout.is_empty(), "nothing of a refused diagram is written");
    // A selection that fits is drawn (the debug build asserts its rows match the count).
    let ran = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "mermaid", "--to", "20"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let rows = ran.stdout.lines().filter(|l| l.contains("->>") || l.contains("-x") || l.contains("Note over")).count();
    assert!((1..=200).contains(&rows), "{rows} rows:\n{}", ran.stdout);
}

/// Postmortem (a choice, not a fix): an output FIFO with no reader waits at its first write.
/// That is the FIFO contract every Unix writer keeps (`cat > fifo`, `tee`, `dd`), and the usual
/// `msgsim trace X -o fifo & reader fifo` starts its reader after the writer, which a
/// non-blocking open would fail at random. What the contract needs is kept: nothing is opened
/// before the output is ready (a refusal never waits, above), a reader that comes later gets
/// the whole output, and a reader that leaves early ends the command quietly with 141.
#[test]
fn regression_a_fifo_output_waits_for_its_reader_and_ends_when_it_leaves() {
    use std::io::Read;
    let dir = scratch("fifo-output");
    let fifo = dir.join("trace.txt");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs").success());
    let whole = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "text"]);
    assert_eq!(whole.code, Some(0), "{}", whole.stderr);
    // A reader that comes after the writer has started reads the whole trace.
    let late = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::read_to_string(fifo).expect("readable")
        })
    };
    let ran = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "text", "-o", &text(&fifo)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(late.join().unwrap(), whole.stdout);
    // A reader that leaves after a few bytes ends the writer with 141, not a panic or a hang.
    let early = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut start = [0u8; 16];
            std::fs::File::open(fifo).expect("readable").read_exact(&mut start).expect("16 bytes");
        })
    };
    let ran = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "text", "-o", &text(&fifo)]);
    early.join().unwrap();
    assert_eq!(ran.code, Some(141), "{}", ran.stderr);
    assert!(ran.stderr.is_empty(), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `--format chrome` kept its flows' ends in maps, with a list per send (about 160
/// bytes a message, more than the trace's own events), outside the budget: a ping-pong with no
/// latency (a relay that never ends, stopped by its budgets) reached 1.29 GB under the default
/// 1 GiB and 85 MB under 64 MiB. The ends are now sorted lists read in step with the trace
/// (16 bytes each), the same document: 770 MB and 53 MB (measured in release builds).
#[test]
fn regression_chrome_keeps_its_flows_within_the_memory_budget() {
    let dir = scratch("chrome-flows");
    let file = dir.join("storm.ron");
    std::fs::write(
        &file,
        r#"Scenario(name: "t", horizon_ms: 1000, nodes: 2, protocol: PingPong(round_trips: 1000000000),
    network: (latency: Constant(ms: 0)), limits: (max_memory_mb: 16))"#,
    )
    .unwrap();
    let out = dir.join("storm.json");
    let ran = msgsim(&["trace", &text(&file), "--format", "chrome", "-o", &text(&out)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stderr.contains("max_memory_mb limit exceeded"), "the budget ended it, and it says so: {}", ran.stderr);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).expect("one JSON document");
    let flows = json["traceEvents"].as_array().expect("events").iter().filter(|e| e["ph"] == "s").count();
    assert!(flows > 10_000, "{flows} flows");
    within_budget(&["trace", &text(&file), "--format", "chrome", "-o", &text(&out)], &file, 16).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem (a check of the defaults, and one gap): a relay that never ends (a ping-pong with
/// no latency: time never advances, so the horizon never comes) is ended by the default
/// `max_trace_events` in about a second (25 M events, 5 MB, measured in a release build), and
/// `run` names the budget; `msgsim trace` just stopped writing, saying nothing of why. It now
/// names any budget that ended the run, as `run`'s summary does.
#[test]
fn regression_a_relay_that_never_ends_is_ended_by_a_budget_it_names() {
    let dir = scratch("relay");
    let file = dir.join("relay.ron");
    for (limits, reason) in
        [("max_trace_events: 20000", "max_trace_events limit exceeded"), ("max_events: 5000", "max_events limit reached")]
    {
        std::fs::write(
            &file,
            format!(
                r#"Scenario(name: "t", horizon_ms: 1000, nodes: 2, protocol: PingPong(round_trips: 1000000000),
    network: (latency: Constant(ms: 0)), limits: ({limits}))"#
            ),
        )
        .unwrap();
        let ran = msgsim(&["run", &text(&file)]);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        assert!(ran.stdout.contains(&format!("ended      {reason} at 0.000ms")), "{limits}: {}", ran.stdout);
        let traced = msgsim(&["trace", &text(&file), "--format", "jsonl"]);
        assert_eq!(traced.code, Some(0), "{}", traced.stderr);
        assert!(traced.stderr.contains(&format!("the run stopped at 0 ms, {reason}")), "{limits}: {}", traced.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `merge` placed a shard's errors as serde_json does ("x.json: not the --json
/// output of msgsim sweep: ... at line 8 column 11"), not as every other input's
/// (`file:line:col: message (expected ...)`), and refused a shard saved with a byte-order mark,
/// which a scenario may carry. It now places them alike and reads past the mark.
#[test]
fn regression_a_shard_is_placed_like_a_scenario_and_may_carry_a_byte_order_mark() {
    let dir = scratch("shard-places");
    let shards: Vec<serde_json::Value> = (0..2).map(|i| shard_json(&["--seeds", "0..4", "--shard", &format!("{i}/2")])).collect();
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap();
    let (first, second) = (dir.join("0.json"), dir.join("1.json"));
    std::fs::write(&second, pretty(&shards[1])).unwrap();
    std::fs::write(&first, format!("\u{feff}{}", pretty(&shards[0]))).unwrap();
    let ran = msgsim(&["merge", &text(&first), &text(&second)]);
    assert_eq!(ran.code, Some(0), "a shard with a byte-order mark merges: {}", ran.stderr);
    let mut bad = shards[0].clone();
    bad["runs"] = serde_json::json!(-1);
    let text_of_bad = pretty(&bad);
    let line = text_of_bad.lines().position(|l| l.contains("\"runs\"")).unwrap() + 1;
    std::fs::write(&first, text_of_bad).unwrap();
    let ran = msgsim(&["merge", &text(&first), &text(&second)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    let place = format!("{}:{line}:", text(&first));
    assert!(ran.stderr.starts_with(&place), "placed at {place}: {}", ran.stderr);
    assert!(ran.stderr.contains("(expected the --json output of msgsim sweep)"), "{}", ran.stderr);
    assert!(!ran.stderr.contains(" at line "), "the place once: {}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the engine's own place for each node (its process, random stream, clock and
/// queues' heads, and the node's name) was counted nowhere, so a best-effort broadcast to
/// 100,000 nodes under `max_memory_mb: 64` ran to quiescence holding 64 MB beyond the scenario's
/// own 22 MB, and anti-entropy peaked at 149 MB. It now counts from the start, and the run
/// stops at the first broadcast (74 and 78 MB in all, release builds). A cluster whose engine
/// alone is over the budget is refused at validation
/// (`regression_a_cluster_the_engine_alone_cannot_hold_is_refused_at_validation`).
#[test]
fn regression_the_engine_counts_its_own_place_for_each_node() {
    let dir = scratch("engine-nodes");
    let file = dir.join("nodes.ron");
    std::fs::write(
        &file,
        r#"Scenario(name: "t", horizon_ms: 1000, nodes: 100000, protocol: BestEffort(),
    network: (latency: Constant(ms: 1)), limits: (max_memory_mb: 64),
    workload: [(from: "n0", send: Broadcast, every_ms: 1, count: 100)])"#,
    )
    .unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("ended      max_memory_mb limit exceeded at 0.000ms"), "{}", ran.stdout);
    within_budget(&["run", &text(&file)], &file, 64).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the engine's own place per node was counted only once the run had made the
/// nodes, so 100,000 nodes under `max_memory_mb: 16` passed `check` and every run stopped at
/// 0 events. Validation now adds it to the protocol's state and refuses the cluster at `nodes`.
#[test]
fn regression_a_cluster_the_engine_alone_cannot_hold_is_refused_at_validation() {
    let dir = scratch("engine-validation");
    let file = dir.join("nodes.ron");
    for (nodes, code) in [(100_000, 2), (20_000, 0)] {
        std::fs::write(
            &file,
            format!(
                r#"Scenario(name: "t", horizon_ms: 1000,
    nodes: {nodes}, protocol: BestEffort(), limits: (max_memory_mb: 16),
    workload: [(from: "n0", send: Broadcast, every_ms: 1, count: 1)])"#
            ),
        )
        .unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(code), "{nodes} nodes: {}", ran.stderr);
        if code == 2 {
            let place = format!("{}:2:12: 100000 nodes running BestEffort", text(&file));
            assert!(ran.stderr.starts_with(&place), "{place}: {}", ran.stderr);
            assert!(ran.stderr.contains("bytes per node) would hold about 57 MiB of state, over max_memory_mb 16"), "{}", ran.stderr);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: validation made one generator per sender of each workload entry with no bound,
/// so 2,000 entries `from: "*"` over 100,000 nodes (a 108 KB file) aborted `check` at 4 GB.
/// The generators are counted against `max_memory_mb` as they are made, and refused at the
/// entry that passes it.
#[test]
fn regression_workload_generators_are_budgeted_at_validation() {
    let dir = scratch("generators");
    let file = dir.join("generators.ron");
    let entries = vec![r#"(from: "*", send: Broadcast, every_ms: 10, count: 1)"#; 20].join(",\n        ");
    std::fs::write(
        &file,
        format!(
            "Scenario(name: \"t\", horizon_ms: 1000, nodes: 20000, protocol: BestEffort(), limits: (max_memory_mb: 16),\n    workload: [\n        {entries}])"
        ),
    )
    .unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    // 20,000 generators of about 150 bytes each: the fifth entry passes 16 MiB.
    assert!(ran.stderr.starts_with(&format!("{}:7:16: the workload's generators", text(&file))), "{}", ran.stderr);
    assert!(ran.stderr.contains("over max_memory_mb 16"), "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1, "one error, not one per entry past it: {}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: every generator of a workload entry copied the entry's distributions, a 25 KB
/// table each, so `from: "*"` with 20 phases over 100,000 nodes under `max_memory_mb: 64`
/// (a 1 KB file) aborted `check` at 8 GB; 60,000 link overrides, each building its own table of
/// one shape, held 2.9 GB for over a minute. A table is now built once per distinct shape and
/// shared, and more than `MAX_DISTRIBUTIONS` shapes are refused.
#[test]
fn regression_distributions_are_shared_and_bounded() {
    let dir = scratch("distributions");
    let file = dir.join("phases.ron");
    let phases = (0..20).map(|i| format!("(at_ms: {}, rate_per_s: {})", i * 10, i + 1)).collect::<Vec<_>>().join(", ");
    std::fs::write(
        &file,
        format!(
            r#"Scenario(name: "t", horizon_ms: 1000, nodes: 1000, protocol: BestEffort(),
    workload: [(from: "*", to: "*", phases: [{phases}], size: Normal(mean_bytes: 100, std_bytes: 10), count: 1)])"#
        ),
    )
    .unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    // 1,000 senders with 21 tables each were 525 MB of copies; shared, the binary's own size.
    if let Some(peak) = peak_kib(&["check", &text(&file)]) {
        assert!(peak < 150 << 10, "check peaked at {peak} KiB");
    }
    let links = |count: usize, distinct: bool| {
        let each = (0..count)
            .map(|i| {
                let (from, to) = (i % 50, 50 + i / 50 % 50);
                let mean = if distinct { 10 + i } else { 10 };
                format!(r#"(from: "n{from}", to: "n{to}", latency: Normal(mean_ms: {mean}, std_ms: 3))"#)
            })
            .collect::<Vec<_>>()
            .join(",\n        ");
        std::fs::write(
            &file,
            format!("Scenario(name: \"t\", horizon_ms: 1000, nodes: 100, protocol: BestEffort(),\n    links: [\n        {each}])"),
        )
        .unwrap();
        msgsim(&["check", &text(&file)])
    };
    let ran = links(5_000, false);
    assert_eq!(ran.code, Some(0), "5,000 uses of one shape are one table: {}", ran.stderr);
    let ran = links(1_001, true);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.starts_with(&format!("{}:1003:42: more than 1000 different", text(&file))), "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: each scripted partition resolved its groups into a list of its own, so a group
/// of 100,000 nodes in 3,000 partitions held 1.4 GB and validated for minutes. The members the
/// partitions and one-way cuts name are bounded in all (`MAX_FAULT_MEMBERS`), refused where
/// they pass it.
#[test]
fn regression_scripted_partitions_name_a_bounded_number_of_nodes() {
    let dir = scratch("fault-members");
    let file = dir.join("faults.ron");
    let group = (1..20_000).map(|i| format!("\"n{i}\"")).collect::<Vec<_>>().join(", ");
    let faults = (1..=60).map(|i| format!(r#"(at_ms: {i}, do: Partition([["all"], ["n0"]]))"#)).collect::<Vec<_>>().join(",\n        ");
    std::fs::write(
        &file,
        format!(
            "Scenario(name: \"t\", horizon_ms: 1000, nodes: 20000, groups: {{\"all\": [{group}]}}, protocol: BestEffort(),\n    faults: [\n        {faults}])"
        ),
    )
    .unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    // 20,000 nodes a partition: the 51st passes 1,000,000, at its group.
    assert!(ran.stderr.starts_with(&format!("{}:53:37: the partitions and one-way cuts name", text(&file))), "{}", ran.stderr);
    assert!(ran.stderr.contains("(expected at most 1000000 in all)"), "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run `msgsim args` with its standard output closed (`>&-`), or sent to `/dev/null`.
fn with_stdout(closed: bool, args: &[&str]) -> Ran {
    let redirect = if closed { "exec \"$@\" >&-" } else { "exec \"$@\" >/dev/null" };
    let out = Command::new("sh")
        .args(["-c", redirect, "sh", env!("CARGO_BIN_EXE_msgsim")])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("sh runs");
    Ran { code: out.status.code(), stdout: String::new(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// Postmortem: with standard output closed (`msgsim run X >&-`), Rust's runtime put `/dev/null`
/// in its place before `main`, so every command wrote into nothing and exited 0. The binary
/// now looks before the runtime starts, and a write to it fails as to a closed descriptor:
/// a message and exit 3 (a reader that has gone still ends it quietly with 141).
#[test]
fn regression_a_closed_standard_output_is_a_failed_write() {
    let dir = scratch("closed-stdout");
    let shard = dir.join("shard.json");
    let made = msgsim(&["sweep", "scenarios/bench/pingpong.ron", "--seeds", "0..4", "--json"]);
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    std::fs::write(&shard, &made.stdout).unwrap();
    let shard = text(&shard);
    let cases: &[&[&str]] = &[
        &["run", "scenarios/bench/pingpong.ron"],
        &["run", "scenarios/bench/pingpong.ron", "--json"],
        &["run", "scenarios/trace-tour.ron", "--trace", "/dev/stdout"],
        &["check", "scenarios/bench/pingpong.ron"],
        &["trace", "scenarios/bench/pingpong.ron", "--format", "text"],
        &["trace", "scenarios/trace-tour.ron", "--format", "jsonl", "-o", "/dev/stdout"],
        &["sweep", "scenarios/bench/pingpong.ron", "--seeds", "0..4"],
        &["explore", "scenarios/bench/pingpong.ron", "--max-runs", "10"],
        &["merge", &shard],
        &["shrink", "book/examples/rare-duplicate.ron", "--seed", "11"],
        &["--version"],
    ];
    for args in cases {
        let ran = with_stdout(false, args);
        assert_eq!(ran.code, Some(0), "msgsim {args:?} >/dev/null is a good output: {}", ran.stderr);
        let ran = with_stdout(true, args);
        assert_eq!(ran.code, Some(3), "msgsim {args:?} >&-: {}", ran.stderr);
        assert!(ran.stderr.contains("Bad file descriptor") && !ran.stderr.contains("panicked"), "msgsim {args:?}: {}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a bad escape in a string (`"\q"`, `"\u202e"` without braces, `"\u{D800}"`) or a
/// digit outside its base (`0b2`) was reported with ron's own words and no `(expected ...)`,
/// which every other refusal gives. Each now says what the place needs, and anything else
/// the reader refuses points at the format's reference.
#[test]
fn regression_every_syntax_error_says_what_was_expected() {
    let dir = scratch("syntax-expected");
    let file = dir.join("bad.ron");
    for (bad, expected) in [
        (r#"name: "a\q""#, r"(expected an escape the format knows: \n,"),
        (r#"name: "a\u202e""#, r"\u{hex digits of a character})"),
        (r#"name: "a\u{D800}""#, "(expected an escape the format knows"),
        ("name: \"a\", seed: 0b2", "(expected digits of base 2)"),
    ] {
        std::fs::write(&file, format!("Scenario({bad}, horizon_ms: 10, nodes: 2, protocol: BestEffort())")).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{bad}: {}", ran.stderr);
        assert!(ran.stderr.starts_with(&format!("{}:1:", text(&file))), "{bad}: {}", ran.stderr);
        assert!(ran.stderr.contains(expected), "{bad}: {}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The files in `dir` whose names start with `.`: an output's temporary files.
fn hidden_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// `msgsim run` of a scenario that runs for minutes, its trace to `out`, started once its
/// temporary file is beside `out` (then the command is busy running, the output not yet ready).
fn started_long_write(dir: &Path, out: &Path) -> std::process::Child {
    let file = dir.join("long.ron");
    std::fs::write(
        &file,
        r#"Scenario(name: "long", horizon_ms: 1_000_000, nodes: 2, protocol: BestEffort,
    limits: (max_events: 1_000_000_000_000, max_trace_events: 1_000_000_000_000),
    workload: [(from: "n0", to: "n1", every_ms: 0.001, count: 1_000_000_000)])"#,
    )
    .unwrap();
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_msgsim"));
    command.args(["run", &text(&file), "--trace", &text(out)]);
    // msgsim rightly leaves alone a signal it was started ignoring, and a test run from a
    // script's background job (`cargo test &`) starts ignoring SIGINT: the child gets the
    // default actions back, so that it is the one deciding what the signals do.
    // SAFETY: between fork and exec the closure only calls `signal`, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("msgsim starts");
    for _ in 0..3000 {
        if !hidden_files(dir).is_empty() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no temporary file beside {} after 30 s", out.display());
}

/// Postmortem (2): run as a script's background job (`cargo test &`), the test failed: the
/// child inherited SIGINT ignored, so msgsim rightly left it ignored, ran on and stopped at
/// its 1 GiB trace cap with exit 2. The child now gets the signals' default actions back.
///
/// Postmortem: a command stopped by SIGINT or SIGTERM while it ran towards `-o FILE` left its
/// hidden temporary file (`.FILE.msgsim-PID-0.tmp`) beside the output, one more per Ctrl-C. A
/// thread now waits for SIGINT, SIGTERM and SIGHUP, removes the live temporary files and lets
/// the signal end the process (so the shell sees 128 + the signal). A SIGKILL cannot be
/// caught: its leftover names its dead process, and the next write to the same path removes it.
#[test]
fn regression_a_killed_command_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let dir = scratch("killed");
    let out = dir.join("trace.txt");
    std::fs::write(&out, "the previous trace\n").unwrap();
    for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let mut child = started_long_write(&dir, &out);
        let sent = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().expect("kill runs");
        assert!(sent.success());
        let status = child.wait().expect("waitable");
        assert_eq!(status.signal(), Some(number), "SIG{signal} ends it as the signal would: {status:?}");
        assert_eq!(hidden_files(&dir), Vec::<String>::new(), "SIG{signal} left its temporary file");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "the previous trace\n", "SIG{signal} changed the output");
    }
    // SIGKILL: the leftover stays, named after its dead process, until the next write there.
    let mut child = started_long_write(&dir, &out);
    let pid = child.id();
    child.kill().expect("killed");
    child.wait().expect("waitable");
    assert_eq!(hidden_files(&dir), vec![format!(".trace.txt.msgsim-{pid}-0.tmp")]);
    // Another output's temporary file, and one of a process that runs (this one), are not its.
    let others = [format!(".other.txt.msgsim-{pid}-0.tmp"), format!(".trace.txt.msgsim-{}-0.tmp", std::process::id())];
    for other in &others {
        std::fs::write(dir.join(other), "").unwrap();
    }
    let ran = msgsim(&["run", "scenarios/quickstart.ron", "--trace", &text(&out)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let mut left = others.to_vec();
    left.sort();
    assert_eq!(hidden_files(&dir), left, "the next write removed the dead process's leftover, and only it");
    assert_ne!(std::fs::read_to_string(&out).unwrap(), "the previous trace\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: every period a scenario sets (a workload's `every_ms`, a heartbeat's
/// `every_ms`, a gossip round's `period_ms`, a retry's `base_ms`) may be 1 ns, and the default
/// `max_events` (10^9) let such a 200-byte file run for minutes wherever an event leaves no
/// trace line. The defaults now bound every run to seconds: each of these events leaves a
/// trace line, so `max_trace_events` (5 * 10^7, 1 to 3 s of CPU in a release build) ends them,
/// and `max_events` is 10^8 (ten times the largest bundled run) for what it does not see. The
/// runs here stop at a smaller trace budget, to keep the test fast; the mechanism is the same.
#[test]
fn regression_nanosecond_periods_end_at_the_default_budgets() {
    use msgsim::scenario::limits::{DEFAULT_MAX_EVENTS, DEFAULT_MAX_TRACE_EVENTS};
    const { assert!(DEFAULT_MAX_EVENTS <= 100_000_000 && DEFAULT_MAX_TRACE_EVENTS <= 50_000_000) };
    let periods = [
        ("workload", r#"protocol: BestEffort, workload: [(from: "n0", to: "n1", every_ms: 0.000001, count: 1000000000)]"#),
        ("heartbeat", "protocol: Heartbeat(every_ms: 0.000001, detector: Fixed(timeout_ms: 1))"),
        ("gossip round", "protocol: GossipRounds(mode: PushPull, period_ms: 0.000001)"),
        (
            "retry",
            r#"protocol: AtLeastOnce(retry: (base_ms: 0.000001, factor: 1, cap_ms: 0.000001, jitter: 0, max_attempts: 1000)),
               network: (loss: 1.0), workload: [(from: "n0", to: "n1", every_ms: 0.001, count: 1000000000)]"#,
        ),
    ];
    for (what, fields) in periods {
        for nodes in [1, 2] {
            let src =
                format!(r#"Scenario(name: "t", horizon_ms: 1_000_000_000, nodes: {nodes}, limits: (max_trace_events: 200_000), {fields})"#);
            let Ok(scenario) = msgsim::Scenario::parse(&src, "periods.ron") else {
                assert_eq!(nodes, 1, "a {what} between two nodes is a valid scenario");
                continue;
            };
            let result = msgsim::run(&scenario, 0, &msgsim::RunOptions::default()).expect("no panic");
            assert_eq!(result.end.reason, msgsim::check::EndReason::MaxTraceEvents, "a {what} every nanosecond, {nodes} nodes");
            assert!(result.steps <= result.trace_events + 1, "{what}: {} events left {} trace lines", result.steps, result.trace_events);
        }
    }
}

/// Postmortem: a trace's size was bounded only by `max_trace_events` (50 million events), so
/// a millisecond-long scenario with a timer every nanosecond wrote 3.7 GB of text. A trace
/// is refused (exit 2) once it would pass `--max-output-mb`, and a named file stays as it was.
#[test]
fn regression_a_trace_takes_no_more_than_its_output_cap() {
    const BIG: &str = "scenarios/network/link-mm1k.ron"; // about 2 MiB of text
    let dir = scratch("capped");
    let kept = dir.join("kept.txt");
    std::fs::write(&kept, "precious").unwrap();
    let ran = msgsim(&["trace", BIG, "--format", "text", "--max-output-mb", "1", "-o", &text(&kept)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("more than 1 MiB") && ran.stderr.contains("--max-output-mb"), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "precious");
    let to_stdout = msgsim(&["trace", BIG, "--format", "text", "--max-output-mb", "1"]);
    assert_eq!(to_stdout.code, Some(2), "{}", to_stdout.stderr);
    assert!(to_stdout.stdout.len() <= 1 << 20, "{} bytes written", to_stdout.stdout.len());
    // Allowed more, the same trace is written whole.
    let ran = msgsim(&["trace", BIG, "--format", "text", "--max-output-mb", "4", "-o", &text(&kept)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(std::fs::metadata(&kept).unwrap().len() > 1 << 20);
    assert_eq!(msgsim(&["trace", BIG, "--format", "text", "--max-output-mb", "0"]).code, Some(2), "a cap of nothing is bad input");
    let left: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Found by the eleventh attack (session 11), one test per class of failure.

/// Postmortem: `explore` bounded its time only by `--max-runs` (a million runs or transitions),
/// each up to a run's `max_events`, so a 200-byte broadcast over 100 nodes searched for hours
/// (timed: 10 ms a run; async: 2 ms a transition). The search now counts its events against the
/// scenario's `max_events` as a run does, and stops there, incomplete, saying so.
#[test]
fn regression_explore_takes_no_more_events_than_a_run_may() {
    let dir = scratch("explore-events");
    let file = dir.join("wide.ron");
    for model in ["timed", "async"] {
        let search = |limit: u64| {
            std::fs::write(
                &file,
                format!(
                    r#"Scenario(name: "t", seed: 1, horizon_ms: 1000, nodes: 30, protocol: BestEffort(),
    network: (latency: Uniform(min_ms: 1, max_ms: 50), loss: 0.1, duplicate: 0.1),
    workload: [(from: "*", send: Broadcast, every_ms: 10, count: 3)], checks: [NoLoss],
    limits: (max_events: {limit}))"#
                ),
            )
            .unwrap();
            let ran = msgsim(&["explore", &text(&file), "--model", model, "--json"]);
            assert!(matches!(ran.code, Some(0 | 1)), "{model}: {}", ran.stderr);
            let json: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
            assert_eq!((json["stopped_by"].as_str(), json["complete"].as_bool()), (Some("max_events"), Some(false)), "{model}: {json}");
            assert_eq!(json["events_reached"].as_bool(), Some(true), "{model}: {json}");
            json["transitions"].as_u64().expect("a count")
        };
        // The asynchronous search charges each state's steps when it queues them (a step walks
        // the state: 30 nodes and hundreds of messages), so it needs a larger budget to move.
        let (lo, hi) = if model == "timed" { (50_000, 200_000) } else { (8_000_000, 40_000_000) };
        let (small, large) = (search(lo), search(hi));
        assert!(small < large, "{model}: a larger budget searches further: {small} against {large}");
        assert_eq!(search(lo), small, "{model}: the search stops at the same transition every time");
        // One run of the scenario takes fewer events than the budget: it is the search's.
        let ran = msgsim(&["run", &text(&file)]);
        assert!(ran.stdout.contains("quiescent"), "{}", ran.stdout);
        // Copying or replaying, on one thread or two: the same stop.
        if model == "async" {
            for extra in [&["--jobs", "2"][..], &["--replay"], &["--replay", "--jobs", "2"]] {
                let ran = msgsim(&[&["explore", &text(&file), "--model", model, "--json"][..], extra].concat());
                let json: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
                assert_eq!(json["transitions"].as_u64(), Some(small), "{extra:?}: {json}");
            }
        }
        let text_summary = msgsim(&["explore", &text(&file), "--model", model]);
        assert!(text_summary.stdout.contains("INCOMPLETE: stopped by max_events: the search took "), "{}", text_summary.stdout);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `trace --node ",,"` split into empty names and answered "--node : the scenario
/// has no such node", naming nothing; an empty entry in the list is now said to be one.
#[test]
fn regression_an_empty_node_name_is_named_as_such() {
    for nodes in [",,", "", "c0,"] {
        let ran = msgsim(&["trace", "scenarios/failure/breaker.ron", "--format", "text", "--node", nodes]);
        assert_eq!(ran.code, Some(2), "--node {nodes:?}: {}", ran.stderr);
        assert!(ran.stderr.contains("an empty node name"), "--node {nodes:?}: {}", ran.stderr);
    }
}

/// Postmortem: a file whose lines end in a lone carriage return (old Mac line endings) had
/// every error placed on line 1, hundreds of columns in, since the parser counts line feeds;
/// its errors now name the line and column an editor shows.
#[test]
fn regression_errors_in_a_file_with_carriage_return_line_ends_name_their_line() {
    let dir = scratch("cr-only");
    let lines = ["Scenario(", "    name: \"cr\",", "    horizon_ms: 100,", "    nodes: 2,", "    protocol: Bogus(),", ")"];
    for (ending, name) in [("\r", "cr.ron"), ("\r\n", "crlf.ron"), ("\n", "lf.ron")] {
        let file = dir.join(name);
        std::fs::write(&file, lines.join(ending)).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{name}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("{}:5:15:", text(&file))), "{name}: {}", ran.stderr);
    }
    // A syntax error too (the parser's own position), and a byte that is not UTF-8.
    let file = dir.join("syntax.ron");
    std::fs::write(&file, ["Scenario(", "    name: \"cr\",", "    horizon_ms: 100 100,", ")"].join("\r")).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert!(ran.stderr.contains(&format!("{}:3:", text(&file))), "{}", ran.stderr);
    std::fs::write(&file, [&b"Scenario(\r    name: \""[..], &[0xff], b"\",\r)"].concat()).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert!(ran.stderr.contains(&format!("{}:2:12:", text(&file))), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The quick start with a `replay` list of `decisions`, one per line, and the line of the one
/// for m987654 (the message the quick start never sends).
fn quickstart_replaying(decisions: &[&str]) -> (String, usize) {
    let source = read("scenarios/quickstart.ron");
    let close = source.rfind(')').expect("a scenario ends with `)`");
    let entries: String = decisions.iter().map(|d| format!("        {d},\n")).collect();
    let replayed = format!("{}    replay: [\n{entries}    ],\n)\n", &source[..close]);
    let line = 1 + replayed[..replayed.find("(msg: 987654").expect("the never-sent decision")].matches('\n').count();
    (replayed, line)
}

/// Postmortem: a `replay` decision for a message the run never sent (a replay edited by hand,
/// or kept after its scenario changed) was silently ignored, so the run passed for a replay it
/// did not follow; it is now said, at the decision's line and column.
#[test]
fn regression_a_replay_decision_never_taken_is_said_where_it_is() {
    let dir = scratch("unused-replay");
    let file = dir.join("replay.ron");
    let (replayed, line) = quickstart_replaying(&["(msg: 0, latency_ns: 1_000_000)", "(msg: 987654, lost: true)"]);
    std::fs::write(&file, &replayed).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!("{}:{line}:9: warning: the replay decision for m987654 was never taken", text(&file))),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("m0 was never"), "{}", ran.stderr);
    // A replay every decision of which is taken says nothing.
    std::fs::write(&file, replayed.replace("        (msg: 987654, lost: true),\n", "")).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scenario whose single message is lost on some seeds and not others, declaring its
/// `NoLoss` failure as `every` (`SomeSeed` or `EverySeed`).
fn lost_on_some_seeds(every: &str) -> String {
    format!(
        "Scenario(name: \"coin\", horizon_ms: 100, nodes: 2, protocol: BestEffort(), network: (loss: 0.5),\n    \
         workload: [(from: \"n0\", to: \"n1\", every_ms: 10, count: 1)],\n    \
         checks: [NoLoss], expect_failures: [NoLoss], expect_failures_on: {every})\n"
    )
}

/// Postmortem: `merge` compared shards' scenario, name and seeds but not what they declared,
/// so a shard swept before `expect_failures_on: EverySeed` was added merged with shards swept
/// after it, into a report (and an `expected` line) that depended on the order of the files
/// and that no one sweep gives; a shard's `expected_failures` counts were not checked either.
#[test]
fn regression_merge_refuses_shards_that_declare_different_failures() {
    let dir = scratch("declared");
    let scenario = dir.join("coin.ron");
    let shard = |every: &str, index: u32| {
        std::fs::write(&scenario, lost_on_some_seeds(every)).unwrap();
        let ran = msgsim(&["sweep", &text(&scenario), "--seeds", "0..20", "--shard", &format!("{index}/2"), "--json"]);
        let file = dir.join(format!("{every}-{index}.json"));
        std::fs::write(&file, &ran.stdout).unwrap();
        text(&file)
    };
    let (some, every, every_too) = (shard("SomeSeed", 0), shard("EverySeed", 1), shard("EverySeed", 0));
    for (a, b) in [(&some, &every), (&every, &some)] {
        let ran = msgsim(&["merge", a, b]);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert!(ran.stderr.contains("declare different expected failures"), "{}", ran.stderr);
        assert!(ran.stdout.is_empty(), "nothing is summarised");
    }
    // Shards of one declaration merge into the one sweep's report.
    let ran = msgsim(&["merge", &every, &every_too, "--json"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    let whole = msgsim(&["sweep", &text(&scenario), "--seeds", "0..20", "--json"]);
    assert_eq!(ran.stdout, whole.stdout);
    // A shard whose declared failure's count is not its seeds' does not add up.
    let mut edited: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&every).unwrap()).unwrap();
    edited["expected_failures"][0]["seeds_failed"] = serde_json::json!(0);
    let file = dir.join("edited.json");
    std::fs::write(&file, edited.to_string()).unwrap();
    let ran = msgsim(&["merge", &every_too, &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("`expected_failures` is not what its seeds"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lines of a small scenario with one message from n0 to n1, for files written with odd
/// line ends; its closing parenthesis is left to the caller.
const ONE_MESSAGE: [&str; 7] = [
    "Scenario(",
    "    name: \"one message\",",
    "    horizon_ms: 100,",
    "    nodes: 2,",
    "    protocol: BestEffort(),",
    "    workload: [(from: \"n0\", to: \"n1\", every_ms: 10, count: 1)],",
    "    checks: [NoLoss],",
];

/// Postmortem: lone carriage returns were read as line feeds by the parser only, not in the
/// text the commands kept, so a position found after parsing (a replay decision never taken, a
/// schedule step not enabled) was placed on line 1, hundreds of columns in.
#[test]
fn regression_positions_found_after_parsing_count_lone_carriage_returns() {
    let dir = scratch("cr-after-parse");
    let file = dir.join("cr.ron");
    let replay = "    replay: [(msg: 5, lost: true)],";
    std::fs::write(&file, [&ONE_MESSAGE[..], &[replay, ")"]].concat().join("\r")).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let col = 1 + replay.find("(msg").unwrap();
    assert!(ran.stderr.contains(&format!("{}:8:{col}: warning: the replay decision for m5", text(&file))), "{}", ran.stderr);
    let schedule = "    schedule: [Deliver(0), Deliver(7)],";
    std::fs::write(&file, [&ONE_MESSAGE[..], &[schedule, ")"]].concat().join("\r")).unwrap();
    let col = 1 + schedule.find("Deliver(7)").unwrap();
    for args in [&["run"][..], &["trace", "--format", "text", "--seed", "0"]] {
        let ran = msgsim(&[args, &[&text(&file)]].concat());
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("{}:8:{col}: with seed 0, schedule step 2", text(&file))), "{args:?}: {}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: with a `schedule`, a scenario's `replay` is not consulted at all, and `run` said
/// nothing (its warning counted only decisions the clocked network left untaken); and the
/// asynchronous explorer's counterexample kept the file's stale replay beside its schedule.
#[test]
fn regression_a_replay_beside_a_schedule_is_said_not_followed() {
    let dir = scratch("replay-schedule");
    let file = dir.join("both.ron");
    let replay = "    replay: [(msg: 0, lost: true)],";
    let lines = [replay, "    network: (loss: 0.5),", "    schedule: [Deliver(0)],", ")"];
    std::fs::write(&file, [&ONE_MESSAGE[..], &lines].concat().join("\n")).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "the schedule delivers m0: {}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!("{}:8:{}: warning: the replay is not followed", text(&file), 1 + replay.find("(msg").unwrap())),
        "{}",
        ran.stderr
    );
    let counterexample = dir.join("counterexample.ron");
    let ran = msgsim(&["explore", &text(&file), "--model", "async", "-o", &text(&counterexample)]);
    assert_eq!(ran.code, Some(1), "a loss fails NoLoss: {}", ran.stderr);
    let written = std::fs::read_to_string(&counterexample).unwrap();
    assert!(written.contains("replay: None") && !written.contains("lost: true"), "{written}");
    let ran = msgsim(&["run", &text(&counterexample)]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the timed explorer ran a scenario holding a `schedule` (an asynchronous
/// counterexample) as that schedule, once, and said "1 behaviours ... complete: every
/// behaviour within the bounds was run"; its counterexample kept the schedule, so `run` of it
/// followed the schedule, not the replay. The search now varies the outcomes as for any file.
#[test]
fn regression_timed_explore_of_a_scheduled_scenario_searches_its_outcomes() {
    let dir = scratch("timed-schedule");
    let file = dir.join("scheduled.ron");
    let lossy = ["    network: (loss: 0.5),", "    schedule: [Deliver(0)],", ")"];
    std::fs::write(&file, [&ONE_MESSAGE[..], &lossy].concat().join("\n")).unwrap();
    let counterexample = dir.join("counterexample.ron");
    let ran = msgsim(&["explore", &text(&file), "--json", "-o", &text(&counterexample)]);
    assert_eq!(ran.code, Some(1), "losing m0 fails NoLoss: {}", ran.stderr);
    let found: serde_json::Value = serde_json::from_str(&ran.stdout).expect("an exploration");
    assert!(found["behaviours"].as_u64() >= Some(2), "delivered and lost: {found}");
    let written = std::fs::read_to_string(&counterexample).unwrap();
    assert!(written.contains("schedule: None") && written.contains("lost: true"), "{written}");
    let ran = msgsim(&["run", &text(&counterexample)]);
    assert_eq!(ran.code, Some(1), "the counterexample loses m0: {}", ran.stderr);
    assert!(ran.stdout.contains("lost 1"), "{}", ran.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `expect_failures_on: EverySeed` with no `expect_failures` (the list forgotten)
/// was accepted and judged nothing, so every seed passed for a caught bug; it is refused now,
/// and `shrink`, which empties the list of what it writes, writes `SomeSeed` with it.
#[test]
fn regression_every_seed_of_no_declared_failure_is_refused() {
    let dir = scratch("every-seed-of-nothing");
    let file = dir.join("nothing.ron");
    let declared = lost_on_some_seeds("EverySeed");
    std::fs::write(&file, declared.replace("expect_failures: [NoLoss], ", "")).unwrap();
    for args in [&["check"][..], &["run"], &["sweep", "--seeds", "0..4"]] {
        let ran = msgsim(&[args, &[&text(&file)]].concat());
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("{}:3:", text(&file))) && ran.stderr.contains("declares no failure"), "{}", ran.stderr);
    }
    std::fs::write(&file, &declared).unwrap();
    let shrunk = dir.join("shrunk.ron");
    // Seed 2 loses the message (a failure as declared); the shrunk file reproduces it as one.
    let ran = msgsim(&["shrink", &text(&file), "--seed", "2", "-o", &text(&shrunk)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let written = std::fs::read_to_string(&shrunk).unwrap();
    assert!(written.contains("expect_failures: []") && written.contains("expect_failures_on: SomeSeed"), "{written}");
    assert_eq!(msgsim(&["run", &text(&shrunk)]).code, Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a byte that is not UTF-8 on the first line of a file starting with a byte order
/// mark was placed one column right of where an editor shows it (the mark was counted).
#[test]
fn regression_a_byte_order_mark_is_not_a_column_of_a_utf8_error() {
    let dir = scratch("bom-utf8");
    let file = dir.join("bom.ron");
    std::fs::write(&file, [&b"\xef\xbb\xbfScenario(name: \""[..], &[0xff], b"\")"].concat()).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains(&format!("{}:1:17: the byte 0xFF", text(&file))), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the warning about a replay decision never taken was placed by reading the file's
/// own text, in which lone carriage returns end no line, so in an old Mac file it named line 1,
/// hundreds of columns in, while the file's errors named the line an editor shows.
#[test]
fn regression_an_unused_replay_decision_in_a_carriage_return_file_is_placed_on_its_line() {
    let dir = scratch("unused-replay-cr");
    let file = dir.join("replay.ron");
    let (replayed, line) = quickstart_replaying(&["(msg: 987654, lost: true)"]);
    std::fs::write(&file, replayed.replace("\r\n", "\n").replace('\n', "\r")).unwrap();
    let ran = msgsim(&["run", &text(&file)]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!("{}:{line}:9: warning: the replay decision for m987654 was never taken", text(&file))),
        "{}",
        ran.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A two-node scenario whose `schedule` delivers m0 three times: its second step is never
/// enabled, on any seed.
const SCHEDULE_NEVER_ENABLED: &str = r#"Scenario(name: "t", horizon_ms: 1000, nodes: 2, protocol: BestEffort(),
    network: (latency: Constant(ms: 1)),
    workload: [(from: "n0", to: "n1", every_ms: 1, count: 1)],
    checks: [NoLoss],
    schedule: [Deliver(0), Deliver(0), Deliver(0)],
)"#;

/// Postmortem: `sweep` (exit 3, "protocol code panicked") and `shrink` ("panics in protocol
/// code") blamed the protocol for a schedule step never enabled, the user's input; `run` said
/// where. Sweep's JSON now has the kind `bad_schedule`, and every command exits 2 at the step.
#[test]
fn regression_a_schedule_step_never_enabled_is_bad_input_to_sweep_shrink_and_merge() {
    let dir = scratch("bad-schedule-sweep");
    let file = dir.join("bad-step.ron");
    std::fs::write(&file, SCHEDULE_NEVER_ENABLED).unwrap();
    let at = format!("{}:5:28: with seed 0, schedule step 2 (Deliver(0)) is not enabled in its turn", text(&file));
    for args in [vec!["sweep", "--seeds", "0..3"], vec!["sweep", "--seeds", "0..3", "--json"], vec!["shrink", "--seed", "0"]] {
        let ran = msgsim(&[&args[..], &[&text(&file)]].concat());
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(&at), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains("reproduce  msgsim run"), "{args:?}: {}", ran.stderr);
        assert!(!ran.stderr.contains("panic") && !ran.stdout.contains("panic"), "{args:?}: {}{}", ran.stdout, ran.stderr);
    }
    let ran = msgsim(&["sweep", "--seeds", "0..1", "--json", &text(&file)]);
    assert!(ran.stdout.contains(r#""kind": "bad_schedule""#) && ran.stdout.contains(r#""step": 2"#), "{}", ran.stdout);
    // The shards of such a sweep merge into the same answer.
    for shard in ["0/2", "1/2"] {
        let ran = msgsim(&["sweep", "--seeds", "0..4", "--json", "--shard", shard, &text(&file)]);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        std::fs::write(dir.join(format!("shard-{}.json", &shard[..1])), ran.stdout).unwrap();
    }
    let ran = msgsim(&["merge", &text(&dir.join("shard-0.json")), &text(&dir.join("shard-1.json"))]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("with seed 0, schedule step 2 (Deliver(0)) is not enabled"), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a number where a one-word choice belongs (`latency: 1`) was answered with ron's
/// own "found invalid std identifier \"1\", try the raw identifier `r#1` instead", which no
/// scenario wants. The error now names the choice and its allowed names.
#[test]
fn regression_a_number_where_a_name_belongs_lists_the_names() {
    let dir = scratch("number-for-name");
    let file = dir.join("n.ron");
    for (from, to, expected) in [
        (
            "latency: Constant(ms: 1)",
            "latency: 1",
            "2:24: found `1` where a name belongs (expected a latency distribution name, one of: Constant, Uniform",
        ),
        (
            "schedule: [Deliver(0), Deliver(0), Deliver(0)]",
            "schedule: [7]",
            "5:16: found `7` where a name belongs (expected a schedule step name, one of: Command, Deliver",
        ),
        (
            "checks: [NoLoss],",
            "checks: [NoLoss], expect_failures_on: 1,",
            "4:43: found `1` where a name belongs (expected a `expect_failures_on` name, one of: SomeSeed, EverySeed)",
        ),
    ] {
        std::fs::write(&file, SCHEDULE_NEVER_ENABLED.replace(from, to)).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{to}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("n.ron:{expected}")), "{to}: {}", ran.stderr);
        assert!(!ran.stderr.contains("r#"), "{}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a number past 2^64 was shown as the float it was rounded to: `seed:
/// 18446744073709551616` as `18446744073709552000`, `horizon_ms: 18446744073709551616` as
/// `1.8446744073709552e19`. Errors now quote the number as the file wrote it.
#[test]
fn regression_out_of_range_numbers_are_shown_as_written() {
    let dir = scratch("numbers-as-written");
    let file = dir.join("n.ron");
    for (from, to, expected) in [
        ("horizon_ms: 1000", "seed: 18446744073709551616, horizon_ms: 1000", "1:27: found the number `18446744073709551616`"),
        ("horizon_ms: 1000", "horizon_ms: 18446744073709551616", "1:33: 18446744073709551616 is not a usable duration"),
        ("horizon_ms: 1000", "horizon_ms: 1_000_000_000_000_000", "1:33: 1_000_000_000_000_000 is not a usable duration"),
        ("network: (", "network: (loss: 1e400, ", "2:21: 1e400 is not a probability"),
        ("network: (", "network: (loss: Some(-0.5), ", "2:21: -0.5 is not a probability"),
    ] {
        std::fs::write(&file, SCHEDULE_NEVER_ENABLED.replace(from, to)).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{to}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("n.ron:{expected}")), "{to}: {}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// How to run `msgsim` so that directory permissions bind it: as is for a normal user; as
/// `nobody` through `setpriv` for root (which writes into any directory); `Err` with the
/// reason when neither is possible. `probe` is a read-only directory to try.
fn unprivileged_runner(probe: &Path) -> Result<Vec<String>, String> {
    let file = probe.join("probe");
    if std::fs::File::create(&file).is_err() {
        return Ok(Vec::new());
    }
    let _ = std::fs::remove_file(&file);
    let drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"].map(String::from).to_vec();
    let tried = Command::new(&drop[0]).args(&drop[1..]).args(["touch", &text(&file)]).output();
    match tried {
        Ok(out) if !out.status.success() && !file.exists() => Ok(drop),
        Ok(_) => Err("even `nobody` may write into a read-only directory here".to_string()),
        Err(e) => Err(format!("running as root, and `setpriv` to drop to `nobody` is missing: {e}")),
    }
}

/// Postmortem: no test covered an output directory without write permission (the attacks ran
/// as root, where permissions are moot). Every command that writes a file must refuse it with
/// exit 2 and a message, and leave what was there as it was, with no file created.
#[test]
fn regression_every_output_into_a_read_only_directory_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("read-only-outputs");
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("existing"), "keep").unwrap();
    std::fs::set_permissions(out.join("existing"), std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    let runner = match unprivileged_runner(&out) {
        Ok(runner) => runner,
        Err(why) => {
            eprintln!("skipped: {why}");
            let _ = std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755));
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let quickstart = format!("{root}/scenarios/quickstart.ron");
    let broken = format!("{root}/scenarios/explore/broken-fifo.ron");
    for target in ["existing", "new"] {
        let to = text(&out.join(target));
        for args in [
            vec!["run", &quickstart, "--trace", &to],
            vec!["trace", &quickstart, "--format", "text", "-o", &to],
            vec!["trace", &quickstart, "--format", "svg", "-o", &to],
            vec!["explore", &broken, "-o", &to],
            vec!["shrink", &broken, "--seed", "0", "-o", &to],
        ] {
            let ran = Command::new(runner.first().map_or(env!("CARGO_BIN_EXE_msgsim"), String::as_str))
                .args(runner.iter().skip(1))
                .args(runner.first().map(|_| env!("CARGO_BIN_EXE_msgsim")))
                .args(&args)
                .current_dir("/")
                .output()
                .expect("msgsim starts");
            let stderr = String::from_utf8_lossy(&ran.stderr);
            assert_eq!(ran.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("{to}: cannot write")) && stderr.contains("Permission denied"), "{args:?}: {stderr}");
            let names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(names, ["existing"], "{args:?}: nothing is created");
            assert_eq!(std::fs::read_to_string(out.join("existing")).unwrap(), "keep", "{args:?}: nothing is destroyed");
        }
    }
    let _ = std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: lone carriage returns were made line feeds everywhere before parsing, inside
/// strings too, so a string's contents changed (a name holding U+000D was refused as holding
/// U+000A). Only line ends outside string and character literals are converted now; quotes in
/// comments open nothing.
#[test]
fn regression_a_lone_carriage_return_inside_a_string_is_kept() {
    let dir = scratch("cr-in-string");
    let file = dir.join("cr.ron");
    let mut lines = ONE_MESSAGE.to_vec();
    lines[1] = "    name: \"one\rmessage\", // a \"quoted\" comment";
    lines[2] = "    horizon_ms: -1,";
    std::fs::write(&file, [&lines[..], &[")"]].concat().join("\r")).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains(&format!("{}:2:11: the name holds the control character U+000D", text(&file))), "{}", ran.stderr);
    // The carriage return in the string does not start a line: what follows is placed a line
    // above where an editor that breaks lines there shows it (line 4).
    assert!(ran.stderr.contains(&format!("{}:3:17: -1 is not a usable duration", text(&file))), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `merge` printed what a shard's strings held as they came: a failure's detail
/// holding an escape sequence retitled the terminal and a new line in it faked a line of the
/// summary, and the errors quoting a shard (an unknown verdict, the scenario of a shard that
/// does not belong) passed ESC through too. Every string from a shard is now shown with its
/// control characters escaped as Rust writes them (`\u{1b}`, `\n`).
#[test]
fn regression_merge_escapes_every_string_a_shard_supplies() {
    let dir = scratch("merge-escapes");
    let ran = msgsim(&["sweep", "book/examples/rare-duplicate.ron", "--json", "--seeds", "0..40"]);
    let whole: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a sweep report");
    let failing = whole["seeds"].as_array().unwrap().iter().position(|s| s["verdict"] == "fail").expect("a failing seed");
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\nverdicts   40 passed\r\u{202e}";
    let shown = r"\u{1b}]0;pwned\u{7}\u{1b}[2J\nverdicts   40 passed\r\u{202e}";
    let mut detail = whole.clone();
    detail["seeds"][failing]["failure"]["detail"] = serde_json::json!(hostile);
    detail["first_failure"]["detail"] = serde_json::json!(hostile);
    let ran = merge_one(&dir, "detail.json", &detail);
    assert!(ran.stdout.contains(&format!(": {shown}\nreproduce  ")), "{}", ran.stdout);
    let mut verdict = whole.clone();
    verdict["seeds"][0]["verdict"] = serde_json::json!("\u{1b}[31mred");
    let mut elsewhere = whole.clone();
    elsewhere["scenario"] = serde_json::json!("\u{1b}[2Jother.ron");
    std::fs::write(dir.join("a.json"), whole.to_string()).unwrap();
    std::fs::write(dir.join("b.json"), elsewhere.to_string()).unwrap();
    let two = msgsim(&["merge", &text(&dir.join("a.json")), &text(&dir.join("b.json"))]);
    for (what, ran, says) in [
        ("an unknown verdict", merge_one(&dir, "verdict.json", &verdict), r"unknown variant `\u{1b}[31mred`"),
        ("a shard of another sweep", two, r"and \u{1b}[2Jother.ron seeds 0..40"),
        ("a failure's detail", ran, ""),
    ] {
        assert_eq!(ran.code, Some(if says.is_empty() { 1 } else { 2 }), "{what}: {}", ran.stderr);
        assert!(ran.stderr.contains(says), "{what}: {}", ran.stderr);
        let printed = format!("{}{}", ran.stdout, ran.stderr);
        assert!(!printed.contains(['\u{1b}', '\u{7}', '\r', '\u{202e}']), "{what}: a control character reached the terminal: {printed:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a raw identifier where a check or protocol name belongs (`checks: [r#1]`, ron's
/// own suggestion for a number there) was cut at its `#` and answered "unknown check `r`"; a
/// number (`checks: [1]`) got "no check name here" with no names. Both now say what was found
/// and list the names that belong there, as `latency: 1` does.
#[test]
fn regression_a_number_or_raw_identifier_where_a_check_belongs_lists_the_checks() {
    let dir = scratch("raw-check");
    let file = dir.join("c.ron");
    for (from, to, expected) in [
        (
            "checks: [NoLoss]",
            "checks: [r#1]",
            "4:14: found the raw identifier `r#1` where a name belongs (expected a check name written without `r#`, one of: ",
        ),
        (
            "checks: [NoLoss]",
            "checks: [r#NoLoss]",
            "4:14: found the raw identifier `r#NoLoss` where a name belongs (expected a check name written without `r#`, one of: ",
        ),
        ("checks: [NoLoss]", "checks: [NoLoss, 1]", "4:22: found `1` where a name belongs (expected a check name, one of: "),
        (
            "checks: [NoLoss]",
            "checks: [\"NoLoss\"]",
            "4:14: found the string `\"NoLoss\"` where a name belongs (expected a check name written bare, without quotes, one of: ",
        ),
        (
            "protocol: BestEffort()",
            "protocol: r#BestEffort()",
            "1:59: found the raw identifier `r#BestEffort` where a name belongs (expected a protocol name written without `r#`, one of: ",
        ),
    ] {
        std::fs::write(&file, SCHEDULE_NEVER_ENABLED.replace(from, to)).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{to}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("c.ron:{expected}")), "{to}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(if to.contains("protocol") { "BestEffort" } else { "NoLoss, " }),
            "{to}: the names are listed: {}",
            ran.stderr
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `expect_failures` read its names apart from `checks`: it took `r#NoLoss` as
/// `NoLoss`, and a number (`[1]`) got "expected a name" without the names. Each entry is now
/// read as `checks` reads a name, and every refusal lists the scenario's checks.
#[test]
fn regression_expect_failures_reads_names_as_checks_does() {
    let dir = scratch("raw-expected");
    let file = dir.join("e.ron");
    for (entry, said) in [
        ("r#NoLoss", "found the raw identifier `r#NoLoss` where a check's name belongs"),
        ("1", "found `1` where a check's name belongs"),
        ("\"NoLoss\"", "found the string `\"NoLoss\"` where a check's name belongs"),
        ("NoLoss()", "found `NoLoss` followed by more where a check's bare name belongs"),
        ("NoLos", "`NoLos` is not one of this scenario's checks"),
    ] {
        let scenario = SCHEDULE_NEVER_ENABLED.replace("checks: [NoLoss],", &format!("checks: [NoLoss], expect_failures: [{entry}],"));
        std::fs::write(&file, scenario).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{entry}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("e.ron:4:41: {said}")), "{entry}: {}", ran.stderr);
        assert!(ran.stderr.contains("one of the scenario's checks: NoLoss)"), "{entry}: the names are listed: {}", ran.stderr);
    }
    let plain = SCHEDULE_NEVER_ENABLED.replace("checks: [NoLoss],", "checks: [NoLoss], expect_failures: [ NoLoss /* the planted bug */ ],");
    std::fs::write(&file, plain).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(0), "a bare name with blanks and a comment is a name: {}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `--json` output escaped what serde_json escapes (C0 controls) but wrote a
/// direction override, DEL or a C1 control as it was, so a file named with U+202E reordered the
/// terminal the JSON was printed to. Every JSON output now writes them as `\u` escapes.
#[test]
fn regression_json_output_writes_direction_overrides_escaped() {
    let dir = scratch("bidi-json");
    let file = dir.join("quick\u{202e}\u{7f}\u{9b}start.ron");
    std::fs::write(&file, read("scenarios/quickstart.ron")).unwrap();
    let path = text(&file);
    for args in [
        vec!["run", path.as_str(), "--json"],
        vec!["sweep", path.as_str(), "--seeds", "0..2", "--json"],
        vec!["explore", path.as_str(), "--max-runs", "50", "--json"],
    ] {
        let ran = msgsim(&args);
        assert!(ran.code == Some(0) || ran.code == Some(1), "{args:?}: {}", ran.stderr);
        assert!(!ran.stdout.contains(['\u{202e}', '\u{7f}', '\u{9b}']), "{args:?}: a raw override reached stdout: {}", ran.stdout);
        assert!(ran.stdout.contains(r"quick\u202e\u007f\u009bstart.ron"), "{args:?}: {}", ran.stdout);
        let value: serde_json::Value = serde_json::from_str(&ran.stdout).expect("still JSON");
        assert!(value.to_string().contains('\u{202e}'), "{args:?}: read back as the same name");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `explore --max-runs 0` and `--max-depth 0` explored nothing and exited 0 with
/// "INCOMPLETE" and no violation, which reads as a search that found nothing. A bound of 0 is
/// now refused as bad input (exit 2) saying what is expected.
#[test]
fn regression_explore_refuses_a_bound_of_zero() {
    for flag in ["--max-runs", "--max-depth"] {
        for model in ["timed", "async"] {
            let ran = msgsim(&["explore", "scenarios/quickstart.ron", "--model", model, flag, "0"]);
            assert_eq!(ran.code, Some(2), "{flag} 0: {}", ran.stderr);
            assert!(
                ran.stderr.contains(&format!("'{flag} <N>'"))
                    && ran.stderr.contains("0 explores nothing (expected a whole number of at least 1)"),
                "{}",
                ran.stderr
            );
            assert!(ran.stdout.is_empty(), "{flag} 0: nothing is explored");
        }
    }
    let ran = msgsim(&["explore", "scenarios/quickstart.ron", "--max-runs=-1"]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("`-1` is not a bound: expected a whole number from 1"), "{}", ran.stderr);
}

/// Postmortem: `merge` recomputed a shard's counts from its seeds but never asked whether each
/// seed fits the declaration: under `expect_failures_on: EverySeed` a seed that "passed" without
/// its declared failure (a sweep makes that seed fail) merged with exit 0 and "failed on 5 of 6
/// seeds, though the scenario declares every seed", and a seed could claim to have failed as
/// declared a check nothing declares. Both are refused now as shards that do not add up.
#[test]
fn regression_merge_refuses_a_seed_that_does_not_fit_its_declared_failures() {
    let dir = scratch("every-seed-shards");
    let ran = msgsim(&["sweep", "scenarios/failure/broken-detector.ron", "--json", "--seeds", "0..6"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let whole: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a sweep report");
    assert_eq!(whole["expected_failures"][0]["every_seed"], true, "the scenario declares its failures for every seed");
    let check = whole["expected_failures"][0]["check"].as_str().unwrap().to_string();
    let mut missed = whole.clone();
    missed["seeds"][0]["expected_failures"].as_array_mut().unwrap().retain(|c| *c != check.as_str());
    missed["expected_failures"][0]["seeds_failed"] = serde_json::json!(5);
    missed["expected_failures"][0]["first_seed"] = serde_json::json!(1);
    let mut undeclared = whole.clone();
    undeclared["seeds"][0]["expected_failures"].as_array_mut().unwrap().push(serde_json::json!("NoLoss"));
    for (name, bad, why) in [
        ("missed", missed, format!("seed 0 is Pass, but it did not fail {check}, which the sweep declares for every seed")),
        ("undeclared", undeclared, "seed 0 is Pass, but it failed NoLoss as declared, which the sweep does not declare".to_string()),
    ] {
        let ran = merge_one(&dir, &format!("{name}.json"), &bad);
        assert_eq!(ran.code, Some(2), "{name}: {}", ran.stderr);
        assert!(ran.stderr.contains(&why), "{name}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{name}: nothing is summarised");
    }
    assert_eq!(merge_one(&dir, "whole.json", &whole).code, Some(0), "the untouched report merges");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: only the C0/C1 controls and the embeddings, overrides and isolates counted as
/// unprintable, so a name or shard string holding a direction mark (U+200E, U+200F, U+061C), a
/// byte-order mark mid-text, a line separator or a tag character reached the terminal as it
/// was, reordering or hiding what was printed. Every invisible format character is now refused
/// in a name, escaped in printed text and `\u` escaped in `--json`, as the controls are.
#[test]
fn regression_invisible_direction_marks_are_unprintable() {
    let dir = scratch("invisible-marks");
    let file = dir.join("name.ron");
    for (c, code) in [
        ('\u{200e}', "U+200E"),
        ('\u{200f}', "U+200F"),
        ('\u{61c}', "U+061C"),
        ('\u{feff}', "U+FEFF"),
        ('\u{2028}', "U+2028"),
        ('\u{2067}', "U+2067"),
        ('\u{e0041}', "U+E0041"),
    ] {
        std::fs::write(&file, format!(r#"Scenario(name: "a{c}b", horizon_ms: 10, nodes: 2, protocol: BestEffort())"#)).unwrap();
        for command in ["check", "run"] {
            let ran = msgsim(&[command, &text(&file)]);
            assert_eq!(ran.code, Some(2), "{code}: {}", ran.stderr);
            assert!(ran.stderr.contains(&format!("name.ron:1:16: the name holds the invisible character {code}")), "{}", ran.stderr);
            assert!(!ran.stderr.contains(c), "{code} reached the terminal: {:?}", ran.stderr);
        }
    }
    // A path holding one is escaped where an error names it, and in the reproduce command.
    let marked = dir.join("a\u{200f}b.ron");
    std::fs::write(&marked, "Scenario(name: \"t\", horizon_ms: -1, nodes: 2, protocol: BestEffort())").unwrap();
    let ran = msgsim(&["run", &text(&marked)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains(r"a\u{200f}b.ron:1:"), "{}", ran.stderr);
    assert!(!ran.stderr.contains('\u{200f}'), "{:?}", ran.stderr);
    // A shard's strings: refused in a name, escaped in a failure's detail.
    let ran = msgsim(&["sweep", "book/examples/rare-duplicate.ron", "--json", "--seeds", "0..40"]);
    let whole: serde_json::Value = serde_json::from_str(&ran.stdout).expect("a sweep report");
    let mut named = whole.clone();
    named["name"] = serde_json::json!("rare\u{200f} duplicate");
    let ran = merge_one(&dir, "named.json", &named);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains(r"rare\u{200f} duplicate"), "{}", ran.stderr);
    let failing = whole["seeds"].as_array().unwrap().iter().position(|s| s["verdict"] == "fail").expect("a failing seed");
    let mut detail = whole.clone();
    detail["seeds"][failing]["failure"]["detail"] = serde_json::json!("x\u{61c}\u{200e}y\u{e0041}");
    detail["first_failure"]["detail"] = serde_json::json!("x\u{61c}\u{200e}y\u{e0041}");
    let ran = merge_one(&dir, "detail.json", &detail);
    assert!(ran.stdout.contains(r"x\u{61c}\u{200e}y\u{e0041}"), "{}", ran.stdout);
    std::fs::write(dir.join("detail.json"), detail.to_string()).unwrap();
    let json = msgsim(&["merge", "--json", &text(&dir.join("detail.json"))]);
    assert!(json.stdout.contains(r"x\u061c\u200ey\udb40\udc41"), "{}", json.stdout);
    let back: serde_json::Value = serde_json::from_str(&json.stdout).expect("the merged report reads back");
    assert_eq!(back["first_failure"]["detail"], "x\u{61c}\u{200e}y\u{e0041}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: a raw string where a name belongs (`checks: [r"NoLoss"]`) was read as the name
/// `r` followed by more: "unknown check `r`"; `r#"NoLoss"#` was "the raw identifier `r#`", and
/// `latency: "Constant"` said only "expected a name". Every literal (string, raw string, byte
/// string, character) is now named as what it is, with the names that belong there.
#[test]
fn regression_a_raw_string_where_a_name_belongs_is_named_as_one() {
    let dir = scratch("raw-string-name");
    let file = dir.join("r.ron");
    for (from, to, expected) in [
        (
            "checks: [NoLoss]",
            r#"checks: [r"NoLoss"]"#,
            "4:14: found the raw string `r\"NoLoss\"` where a name belongs (expected a check name written bare, without quotes, one of: ",
        ),
        (
            "checks: [NoLoss]",
            r##"checks: [r#"NoLoss"#]"##,
            "4:14: found the raw string `r#\"NoLoss\"#` where a name belongs (expected a check name written bare",
        ),
        (
            "checks: [NoLoss]",
            r#"checks: [b"NoLoss"]"#,
            "4:14: found the byte string `b\"NoLoss\"` where a name belongs (expected a check name",
        ),
        ("checks: [NoLoss]", "checks: ['N']", "4:14: found the character `'N'` where a name belongs (expected a check name"),
        (
            "protocol: BestEffort()",
            r#"protocol: r"BestEffort""#,
            "1:59: found the raw string `r\"BestEffort\"` where a name belongs (expected a protocol name written bare",
        ),
        (
            "checks: [NoLoss]",
            r#"checks: [NoLoss], expect_failures: [r"NoLoss"]"#,
            "4:41: found the raw string `r\"NoLoss\"` where a check's name belongs (expected a check's name as `checks` writes it, one of the scenario's checks: NoLoss)",
        ),
        (
            "Constant(ms: 1)",
            r#"r"Constant"(ms: 1)"#,
            "2:24: found the raw string `r\"Constant\"` where a name belongs (expected a latency distribution name, one of: Constant, Uniform",
        ),
        (
            "Constant(ms: 1)",
            r#""Constant""#,
            "2:24: found the string `\"Constant\"` where a name belongs (expected a latency distribution name, one of: ",
        ),
    ] {
        std::fs::write(&file, SCHEDULE_NEVER_ENABLED.replace(from, to)).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{to}: {}", ran.stderr);
        assert!(ran.stderr.contains(&format!("r.ron:{expected}")), "{to}: {}", ran.stderr);
        assert!(!ran.stderr.contains("unknown check `r`"), "{to}: {}", ran.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: the position finder skipped every Unicode space and any byte-order mark, which
/// RON reads as neither token nor space, so a no-break space or a second BOM was reported at
/// the word after it as "unexpected `horizon_ms` (expected a name)", a word that was fine. A
/// character RON skips nowhere is now its own token, named by its code point.
#[test]
fn regression_a_stray_space_or_mark_is_named_where_it_is() {
    let dir = scratch("stray");
    let file = dir.join("s.ron");
    for (c, said) in [
        ('\u{a0}', "1:20: found the space character U+00A0, which RON reads as no token and no space (expected a name)"),
        ('\u{3000}', "1:20: found the space character U+3000"),
        ('\u{feff}', "1:20: found the invisible character U+FEFF"),
        ('\u{61c}', "1:20: found the invisible character U+061C"),
        ('\u{1b}', "1:20: found the control character U+001B"),
    ] {
        std::fs::write(&file, format!("Scenario(name: \"t\",{c} horizon_ms: 10, nodes: 2, protocol: BestEffort())")).unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert!(ran.stderr.contains(&format!("s.ron:{said}")), "{}", ran.stderr);
    }
    // Two byte-order marks: the first opens the file, the second is stray.
    std::fs::write(&file, "\u{feff}\u{feff}Scenario(name: \"t\", horizon_ms: 10, nodes: 2, protocol: BestEffort())").unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert!(
        ran.stderr
            .contains("s.ron:1:1: found the invisible character U+FEFF, which RON reads as no token and no space (expected `Scenario(`)"),
        "{}",
        ran.stderr
    );
    // What RON does read as a space (the direction marks among them) stays a space.
    std::fs::write(&file, "\u{feff}Scenario(name: \"t\",\u{200e}\u{2028} horizon_ms: 10, nodes: 2, protocol: BestEffort())").unwrap();
    assert_eq!(msgsim(&["check", &text(&file)]).code, Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Postmortem: `trace --from 0.0000000001` (finer than a nanosecond) and `--to
/// 18446744073709551615` (later than any time) were both answered "not a time in milliseconds
/// (like 20 or 36.5)", which they are. The message now states the range and the precision.
#[test]
fn regression_trace_times_say_their_range_and_precision() {
    for bad in ["0.0000001", "18446744073709551615", "1e3", "NaN", "1.", ".5", " 1"] {
        let ran = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "text", "--from", bad]);
        assert_eq!(ran.code, Some(2), "{bad}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("expected a number from 0 to 18446744073709 with at most six decimals (a nanosecond)"),
            "{bad}: {}",
            ran.stderr
        );
    }
    let ran = msgsim(&["trace", "scenarios/quickstart.ron", "--format", "text", "--from", "18446744073709.551615", "-o", "/dev/null"]);
    assert_eq!(ran.code, Some(0), "the latest time there is: {}", ran.stderr);
}

/// Postmortem: numeric flags answered with the parser's own words or clap's: `--seed -1` was
/// "unexpected argument '-1' found" with a tip (`-- -1`) that makes it the scenario's path,
/// `--latencies 18446744073709551615` and `explore --jobs` "number too large to fit in target
/// type", `--seed 1.5` "invalid digit found in string", none saying what the flag takes.
/// Every numeric flag now takes a leading `-` as its value and names its range.
#[test]
fn regression_every_numeric_flag_names_its_range() {
    let explore = "scenarios/explore/async-broken-duplicates.ron";
    let q = "scenarios/quickstart.ron";
    for (args, said) in [
        (&["run", q, "--seed", "-1"][..], "`-1` is not a seed: expected a whole number from 0 to 18446744073709551615"),
        (&["run", q, "--seed", "1.5"], "`1.5` is not a seed: expected a whole number from 0 to 18446744073709551615"),
        (&["trace", q, "--format", "text", "--seed", "18446744073709551616"], "is not a seed: expected a whole number from 0 to"),
        (&["shrink", q, "--seed", "-3"], "`-3` is not a seed: expected"),
        (&["explore", explore, "--seed", "-3"], "`-3` is not a seed: expected"),
        (
            &["explore", explore, "--latencies", "18446744073709551615"],
            "is not a number of latencies: expected a whole number from 1 to 16",
        ),
        (&["explore", explore, "--jobs", "18446744073709551615"], "is not a number of threads: expected a whole number from 1 to 256"),
        (&["explore", explore, "--max-faults", "-1"], "`-1` is not a number of faults: expected a whole number from 0 to"),
        (&["explore", explore, "--max-depth", "-5"], "`-5` is not a bound: expected a whole number from 1 to"),
        (&["explore", explore, "--max-runs", "1e6"], "`1e6` is not a bound: expected a whole number from 1 to"),
        (&["sweep", q, "--seeds", "-1..5"], "`-1` in `-1..5` is not a seed"),
        (&["sweep", q, "--seeds", "0..5", "--jobs", "-2"], "`-2` is not a number of threads: expected a whole number of at least 1"),
        (&["trace", q, "--format", "text", "--to", "-1"], "`-1` is not a time in milliseconds: expected"),
        (&["trace", q, "--format", "text", "--max-output-mb", "-1"], "`-1` is not a size in MiB: expected"),
    ] {
        let ran = msgsim(args);
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(said), "{args:?}: {}", ran.stderr);
        assert!(!ran.stderr.contains("unexpected argument"), "{args:?}: {}", ran.stderr);
    }
}

/// Postmortem: a path or argument the user named was printed as given in most messages and
/// summaries (`run`'s scenario line, `check`'s ok line, "cannot write the trace", `shrink
/// --check`, `trace --node`), so a directory named `\e[2J` cleared the terminal and a
/// right-to-left mark reordered the line; only some messages escaped it. Everything written to
/// standard error, and every text summary, now reaches the terminal inert.
#[test]
fn regression_a_named_path_or_argument_reaches_the_terminal_inert() {
    let dir = scratch("inert-paths").join("e\u{1b}[2J\u{200f}");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.ron");
    std::fs::copy("book/examples/rare-duplicate.ron", &file).unwrap();
    let (f, out) = (text(&file), text(&dir.join("o.txt")));
    let missing = text(&dir.join("no/such/x"));
    for args in [
        &["run", &f, "--seed", "11"][..],
        &["run", &f, "--seed", "11", "--trace", &missing],
        &["check", &f],
        &["trace", &f, "--format", "text", "-o", &out],
        &["trace", &f, "--format", "text", "-o", &text(&dir)],
        &["trace", &f, "--format", "text", "--node", "\u{1b}[2Jzz"],
        &["shrink", &f, "--seed", "11", "-o", &missing],
        &["shrink", &f, "--seed", "11", "--check", "\u{1b}]0;x\u{7}"],
        &["sweep", &f, "--seeds", "0..20"],
        &["explore", &f, "--max-runs", "10"],
    ] {
        let ran = msgsim(args);
        assert!(matches!(ran.code, Some(0..=2)), "{args:?}: {}", ran.stderr);
        let printed = format!("{}{}", ran.stdout, ran.stderr);
        assert!(!printed.contains(['\u{1b}', '\u{7}', '\u{200f}']), "{args:?}: {printed:?}");
        assert!(printed.contains(r"\u{1b}"), "{args:?}: the path or argument is shown, escaped: {printed:?}");
    }
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

/// Postmortem: a comment in or after a check's empty configuration (`[NoLoss() /* why */ ]`)
/// was read as configuration, so a valid scenario was refused: "`NoLoss` takes no configuration";
/// and a list where a name belongs (`checks: [[NoLoss]]`) was "no check name here". Comments
/// are blanks wherever a configuration may be empty; a bracket is named as what was found.
#[test]
fn regression_a_comment_in_an_empty_configuration_is_no_configuration() {
    let dir = scratch("comment-config");
    let file = dir.join("c.ron");
    for checks in ["[NoLoss( /* none */ )]", "[NoLoss() /* why */ ]", "[NoLoss() // why\n]", "[NoLoss(\n // none\n)]"] {
        std::fs::write(
            &file,
            SCHEDULE_NEVER_ENABLED.replace("[NoLoss]", checks).replace("schedule: [Deliver(0), Deliver(0), Deliver(0)],", ""),
        )
        .unwrap();
        let ran = msgsim(&["check", &text(&file)]);
        assert_eq!(ran.code, Some(0), "{checks}: {}", ran.stderr);
    }
    std::fs::write(&file, SCHEDULE_NEVER_ENABLED.replace("[NoLoss]", "[NoLoss /* a */ (x: 1)]")).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert!(ran.stderr.contains("`NoLoss` takes no configuration"), "a real configuration is still refused: {}", ran.stderr);
    std::fs::write(&file, SCHEDULE_NEVER_ENABLED.replace("[NoLoss]", "[[NoLoss]]")).unwrap();
    let ran = msgsim(&["check", &text(&file)]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("c.ron:4:14: found `[` where a name belongs (expected a check name, one of: "), "{}", ran.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

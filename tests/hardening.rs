//! The `msgsim` binary against hostile input: one named regression test per failure the
//! hardening issue found (each with its postmortem), driving the built binary as a user
//! would, and asserting the contract: exit 0, 1 or 2 (3 only for an internal error), a
//! message naming what was wrong, bounded time, and no file destroyed or half-written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = feeder.join();
    let stdout = String::from_utf8_lossy(&reader.join().expect("read")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("read")).into_owned();
    Ran { code, stdout, stderr }
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
    assert_eq!(msgsim_with(&["run", NO_CHECKSUM], b"", full(), limit).code, Some(1));
    assert_eq!(msgsim_with(&["run", "tests/bad/crash-twice.ron"], b"", full(), limit).code, Some(2));
    assert_eq!(msgsim_with(&["trace", NO_CHECKSUM, "--format", "svg", "-o", "/dev/null"], b"", full(), limit).code, Some(0));
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
    }
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect();
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
    let pareto = read("scenarios/ordering/broken-best-effort.ron")
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
    assert!(ran.stderr.contains("--check NoSuchCheck: the scenario has no such check; its checks are NoCorruptionDelivered"), "{}", ran.stderr);
    let dir = scratch("messages");
    let big = dir.join("big.ron");
    std::fs::write(&big, r#"Scenario(name: "big", horizon_ms: 1, nodes: 100000, protocol: BestEffort(), network: (latency: Constant(ms: 1)))"#)
        .unwrap();
    let ran = msgsim(&["trace", &text(&big), "--format", "text", "--node", "zz"]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("it has 100000 nodes: n0, n1,") && ran.stderr.contains(", ..., n99999"), "{}", ran.stderr);
    assert!(ran.stderr.len() < 300, "{}", ran.stderr);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = dir.join(std::ffi::OsStr::from_bytes(b"odd-\xff'.ron"));
        std::fs::write(&odd, read(NO_CHECKSUM)).unwrap();
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

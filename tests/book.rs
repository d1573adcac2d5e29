//! The book never lies: every command output it shows is produced here by the real
//! binary and checked in under `book/src/generated/`. A stale file fails this test;
//! `UPDATE_BOOK=1 cargo test --test book` rewrites them (read the diff before committing).

use std::path::Path;
use std::process::Command;

/// (file under book/src/generated, msgsim arguments). Paths are relative to the crate root.
/// (`delivery-stats.txt` is not a command's output: `tests/delivery_stats.rs` writes and checks it;
/// nor are `mailbox-table.md` and `fragmentation-table.md`, which `tests/communication.rs` writes.)
const OUTPUTS: &[(&str, &[&str])] = &[
    ("quickstart-run.txt", &["run", "scenarios/quickstart.ron"]),
    ("quickstart-json.txt", &["run", "scenarios/quickstart.ron", "--json"]),
    ("quickstart-check.txt", &["check", "scenarios/quickstart.ron"]),
    ("quickstart-seed-8.txt", &["run", "scenarios/quickstart.ron", "--seed", "8"]),
    ("best-effort-loses-run.txt", &["run", "scenarios/network/best-effort-loses.ron"]),
    ("perfect-link-run.txt", &["run", "scenarios/network/perfect-link.ron"]),
    ("broken-no-checksum-run.txt", &["run", "scenarios/network/broken-no-checksum.ron"]),
    ("crash-and-partition-run.txt", &["run", "scenarios/network/crash-and-partition.ron"]),
    ("bandwidth-run.txt", &["run", "scenarios/network/bandwidth.ron"]),
    ("ring-run.txt", &["run", "scenarios/network/ring.ron"]),
    ("swarm-run.txt", &["run", "scenarios/network/swarm.ron"]),
    ("swarm-seed-2.txt", &["run", "scenarios/network/swarm.ron", "--seed", "2"]),
    ("trace-tour-run.txt", &["run", "scenarios/trace-tour.ron", "--trace", "TRACE"]),
    ("trace-tour-jsonl-run.txt", &["run", "scenarios/trace-tour.ron", "--trace", "TRACE.jsonl"]),
    ("broken-no-dedup-run.txt", &["run", "scenarios/network/broken-no-dedup.ron"]),
    ("pause-and-resume-run.txt", &["run", "scenarios/network/pause-and-resume.ron", "--trace", "TRACE"]),
    ("ring-check.txt", &["check", "scenarios/network/ring.ron"]),
    ("crash-and-partition-check.txt", &["check", "scenarios/network/crash-and-partition.ron"]),
    ("bad-unknown-field.txt", &["check", "tests/bad/unknown-field-in-links.ron"]),
    ("bad-unknown-node.txt", &["check", "tests/bad/fault-unknown-node.ron"]),
    ("bad-crash-twice.txt", &["check", "tests/bad/crash-twice.ron"]),
    ("bad-probability.txt", &["check", "tests/bad/probability-above-one.ron"]),
    ("bad-not-whole.txt", &["check", "tests/bad/count-not-whole.ron"]),
    ("bad-missing-comma.txt", &["check", "tests/bad/malformed-missing-comma.ron"]),
    ("bad-several.txt", &["check", "book/examples/several-mistakes.ron"]),
    ("bad-several-run.txt", &["run", "book/examples/several-mistakes.ron"]),
    ("every-field-check.txt", &["check", "book/examples/every-field.ron"]),
    ("rare-duplicate-sweep.txt", &["sweep", "book/examples/rare-duplicate.ron", "--seeds", "0..200"]),
    ("rare-duplicate-11-run.txt", &["run", "book/examples/rare-duplicate.ron", "--seed", "11", "--trace", "TRACE"]),
    ("rare-duplicate-sweep-json.txt", &["sweep", "book/examples/rare-duplicate.ron", "--seeds", "11..13", "--json"]),
    ("rare-duplicate-determinism.txt", &["sweep", "book/examples/rare-duplicate.ron", "--seeds", "0..200", "--check-determinism"]),
    ("quickstart-sweep.txt", &["sweep", "scenarios/quickstart.ron", "--seeds", "0..200"]),
    (
        "rare-duplicate-11.svg",
        &["trace", "book/examples/rare-duplicate.ron", "--seed", "11", "--format", "svg", "--from", "355", "--to", "372", "-o", "OUT"],
    ),
    ("retry-tour-run.txt", &["run", "scenarios/delivery/retry-tour.ron", "--trace", "TRACE"]),
    ("breaker-run.txt", &["run", "scenarios/failure/breaker.ron"]),
    ("breaker-transitions.txt", &["trace", "scenarios/failure/breaker.ron", "--format", "text", "--node", "c0", "--kind", "breaker"]),
    (
        "breaker-opening.txt",
        &[
            "trace",
            "scenarios/failure/breaker.ron",
            "--format",
            "text",
            "--node",
            "c0",
            "--kind",
            "call,breaker",
            "--from",
            "3270",
            "--to",
            "3400",
        ],
    ),
    (
        "breaker-half-open.svg",
        &["trace", "scenarios/failure/breaker.ron", "--format", "svg", "--node", "c0,svc", "--from", "4355", "--to", "4630", "-o", "OUT"],
    ),
    ("breaker-time-window-run.txt", &["run", "scenarios/failure/breaker-time-window.ron"]),
    ("broken-never-half-open-run.txt", &["run", "scenarios/failure/broken-never-half-open.ron"]),
    ("broken-opens-below-threshold-run.txt", &["run", "scenarios/failure/broken-opens-below-threshold.ron"]),
    ("storm-run.txt", &["run", "scenarios/failure/storm.ron"]),
    ("secure-run.txt", &["run", "scenarios/security/secure.ron"]),
    ("secure-sweep.txt", &["sweep", "scenarios/security/secure.ron", "--seeds", "0..200"]),
    ("broken-unauthenticated-run.txt", &["run", "scenarios/security/broken-unauthenticated.ron"]),
    ("broken-no-replay-window-run.txt", &["run", "scenarios/security/broken-no-replay-window.ron"]),
    ("broken-plaintext-run.txt", &["run", "scenarios/security/broken-plaintext.ron"]),
    ("broken-unauthenticated-adv.txt", &["trace", "scenarios/security/broken-unauthenticated.ron", "--format", "text", "--to", "12"]),
    ("bad-adversary.txt", &["check", "tests/bad/adversary-without-bytes.ron"]),
    ("insider-run.txt", &["run", "scenarios/security/insider.ron"]),
    ("insider-adv.txt", &["trace", "scenarios/security/insider.ron", "--format", "text", "--to", "13", "--kind", "recv,deliver,adv"]),
    (
        "insider-forgery.txt",
        &["trace", "scenarios/security/insider.ron", "--format", "text", "--from", "50", "--to", "50", "--kind", "recv,deliver,adv"],
    ),
    ("broken-no-access-control-run.txt", &["run", "scenarios/security/broken-no-access-control.ron"]),
    ("broken-shared-key-run.txt", &["run", "scenarios/security/broken-shared-key.ron"]),
    (
        "broken-shared-key-forgery.txt",
        &[
            "trace",
            "scenarios/security/broken-shared-key.ron",
            "--format",
            "text",
            "--from",
            "50",
            "--to",
            "50",
            "--kind",
            "recv,deliver,adv",
        ],
    ),
    ("bad-insider.txt", &["check", "tests/bad/adversary-forbidden-by-an-admin.ron"]),
    ("detector-fixed-run.txt", &["run", "scenarios/failure/detector-fixed.ron"]),
    ("detector-fixed-suspicions.txt", &["trace", "scenarios/failure/detector-fixed.ron", "--format", "text", "--kind", "suspect,fault"]),
    (
        "detector-crash.svg",
        &["trace", "scenarios/failure/detector-fixed.ron", "--format", "svg", "--from", "6100", "--to", "6200", "-o", "OUT"],
    ),
    ("detector-phi-run.txt", &["run", "scenarios/failure/detector-phi.ron"]),
    ("broken-detector-run.txt", &["run", "scenarios/failure/broken-detector.ron"]),
    ("broken-detector-hasty-run.txt", &["run", "scenarios/failure/broken-detector-hasty.ron"]),
    ("bad-calls.txt", &["check", "tests/bad/calls-budget-without-retry.ron"]),
    ("at-most-once-run.txt", &["run", "scenarios/delivery/at-most-once.ron"]),
    ("broken-at-most-once-run.txt", &["run", "scenarios/delivery/broken-at-most-once.ron"]),
    ("at-least-once-run.txt", &["run", "scenarios/delivery/at-least-once.ron"]),
    ("broken-at-least-once-run.txt", &["run", "scenarios/delivery/broken-at-least-once.ron"]),
    ("exactly-once-run.txt", &["run", "scenarios/delivery/exactly-once.ron"]),
    ("broken-exactly-once-window-run.txt", &["run", "scenarios/delivery/broken-exactly-once-window.ron"]),
    ("broken-at-least-once-as-exactly-once-run.txt", &["run", "scenarios/delivery/broken-at-least-once-as-exactly-once.ron"]),
    ("bad-retry-cap.txt", &["check", "tests/bad/retry-cap-below-base.ron"]),
    ("rare-duplicate-11-shrunk.ron", &["shrink", "book/examples/rare-duplicate.ron", "--seed", "11", "-o", "OUT"]),
    ("rare-duplicate-11-shrunk-run.txt", &["run", "book/src/generated/rare-duplicate-11-shrunk.ron"]),
    ("trace-tour.svg", &["trace", "scenarios/trace-tour.ron", "--format", "svg", "-o", "OUT"]),
    ("quickstart-partition.svg", &["trace", "scenarios/quickstart.ron", "--format", "svg", "--from", "985", "--to", "1045", "-o", "OUT"]),
    (
        "crash-and-partition-epsilon.svg",
        &[
            "trace",
            "scenarios/network/crash-and-partition.ron",
            "--format",
            "svg",
            "--from",
            "280",
            "--to",
            "620",
            "--node",
            "epsilon",
            "-o",
            "OUT",
        ],
    ),
    ("trace-tour-mermaid.txt", &["trace", "scenarios/trace-tour.ron", "--format", "mermaid", "--from", "35", "--to", "50"]),
    ("trace-tour-shiviz.txt", &["trace", "scenarios/trace-tour.ron", "--format", "shiviz", "--to", "7"]),
    ("trace-tour-chrome.txt", &["trace", "scenarios/trace-tour.ron", "--format", "chrome", "--to", "2"]),
    ("quickstart-mermaid-refused.txt", &["trace", "scenarios/quickstart.ron", "--format", "mermaid"]),
    ("broken-best-effort-run.txt", &["run", "scenarios/ordering/broken-best-effort.ron"]),
    ("reliable-run.txt", &["run", "scenarios/ordering/reliable.ron"]),
    ("broken-reliable-no-relay-run.txt", &["run", "scenarios/ordering/broken-reliable-no-relay.ron"]),
    ("bad-settle.txt", &["check", "tests/bad/settle-negative.ron"]),
    ("bad-group-restart.txt", &["check", "tests/bad/group-restart.ron"]),
    ("fifo-run.txt", &["run", "scenarios/ordering/fifo.ron"]),
    ("broken-fifo-run.txt", &["run", "scenarios/ordering/broken-fifo.ron"]),
    ("causal-run.txt", &["run", "scenarios/ordering/causal.ron"]),
    ("broken-causal-run.txt", &["run", "scenarios/ordering/broken-causal.ron"]),
    ("broken-causal-trace.txt", &["trace", "scenarios/ordering/broken-causal.ron", "--format", "text", "--to", "10", "--node", "n2"]),
    ("sequencer-run.txt", &["run", "scenarios/ordering/sequencer.ron"]),
    ("broken-sequencer-run.txt", &["run", "scenarios/ordering/broken-sequencer.ron"]),
    ("isis-run.txt", &["run", "scenarios/ordering/isis.ron"]),
    ("broken-isis-run.txt", &["run", "scenarios/ordering/broken-isis.ron"]),
    ("atomic-run.txt", &["run", "scenarios/ordering/atomic.ron"]),
    ("broken-atomic-no-relay-run.txt", &["run", "scenarios/ordering/broken-atomic-no-relay.ron"]),
    ("views-run.txt", &["run", "scenarios/ordering/views.ron"]),
    ("views-changes.txt", &["trace", "scenarios/ordering/views.ron", "--format", "text", "--kind", "view,suspect,fault"]),
    (
        "views-catch-up.txt",
        &["trace", "scenarios/ordering/views.ron", "--format", "text", "--kind", "cmd,deliver,view", "--from", "104", "--to", "200"],
    ),
    ("broken-views-no-flush-run.txt", &["run", "scenarios/ordering/broken-views-no-flush.ron"]),
    (
        "broken-views-no-flush-a11.txt",
        &[
            "trace",
            "scenarios/ordering/broken-views-no-flush.ron",
            "--format",
            "text",
            "--kind",
            "cmd,deliver",
            "--from",
            "40",
            "--to",
            "48",
        ],
    ),
    ("broken-sync-deadlock-run.txt", &["run", "scenarios/communication/broken-sync-deadlock.ron", "--trace", "TRACE"]),
    ("broken-sync-deadlock.svg", &["trace", "scenarios/communication/broken-sync-deadlock.ron", "--format", "svg", "-o", "OUT"]),
    ("sync-deadlock-timeout-run.txt", &["run", "scenarios/communication/sync-deadlock-timeout.ron"]),
    ("sync-deadlock-timeout-first.txt", &["trace", "scenarios/communication/sync-deadlock-timeout.ron", "--format", "text", "--to", "50"]),
    (
        "sync-deadlock-timeout.svg",
        &["trace", "scenarios/communication/sync-deadlock-timeout.ron", "--format", "svg", "--to", "60", "-o", "OUT"],
    ),
    ("sync-deadlock-async-run.txt", &["run", "scenarios/communication/sync-deadlock-async.ron"]),
    ("broken-call-deadlock-run.txt", &["run", "scenarios/communication/broken-call-deadlock.ron", "--trace", "TRACE"]),
    ("calls-hybrid-run.txt", &["run", "scenarios/communication/calls-hybrid.ron"]),
    (
        "calls-hybrid-late.txt",
        &["trace", "scenarios/communication/calls-hybrid.ron", "--format", "text", "--from", "2", "--to", "36", "--node", "a,c"],
    ),
    ("mailbox-drop-new-run.txt", &["run", "scenarios/communication/mailbox-drop-new.ron"]),
    ("mailbox-drop-oldest-run.txt", &["run", "scenarios/communication/mailbox-drop-oldest.ron"]),
    (
        "mailbox-drop-oldest-evicted.txt",
        &["trace", "scenarios/communication/mailbox-drop-oldest.ron", "--format", "text", "--from", "14", "--to", "16"],
    ),
    ("mailbox-back-pressure-run.txt", &["run", "scenarios/communication/mailbox-back-pressure.ron"]),
    (
        "mailbox-back-pressure-room.txt",
        &["trace", "scenarios/communication/mailbox-back-pressure.ron", "--format", "text", "--from", "12.5", "--to", "17"],
    ),
    ("mailbox-priority-run.txt", &["run", "scenarios/communication/mailbox-priority.ron"]),
    ("work-queue-run.txt", &["run", "scenarios/communication/work-queue.ron"]),
    ("broken-work-queue-visibility-run.txt", &["run", "scenarios/communication/broken-work-queue-visibility.ron"]),
    (
        "broken-work-queue-visibility-a3.txt",
        &[
            "trace",
            "scenarios/communication/broken-work-queue-visibility.ron",
            "--format",
            "text",
            "--from",
            "1.2",
            "--to",
            "6.3",
            "--node",
            "w2",
        ],
    ),
    ("fragmentation-run.txt", &["run", "scenarios/network/fragmentation.ron"]),
    ("explore-at-least-once.txt", &["explore", "scenarios/explore/at-least-once.ron", "--max-faults", "4"]),
    ("explore-broken-sweep.txt", &["sweep", "scenarios/explore/broken-at-least-once.ron", "--seeds", "0..200"]),
    ("explore-broken-cex.ron", &["explore", "scenarios/explore/broken-at-least-once.ron", "--max-faults", "4", "-o", "OUT"]),
    ("explore-broken-cex-run.txt", &["run", "book/src/generated/explore-broken-cex.ron"]),
    ("explore-broken-cex.svg", &["trace", "book/src/generated/explore-broken-cex.ron", "--format", "svg", "-o", "OUT"]),
    ("explore-fifo.txt", &["explore", "scenarios/explore/broken-fifo.ron"]),
    ("explore-async-sweep.txt", &["sweep", "scenarios/explore/async-broken-duplicates.ron", "--seeds", "0..100"]),
    ("explore-async-cex.ron", &["explore", "scenarios/explore/async-broken-duplicates.ron", "--model", "async", "-o", "OUT"]),
    ("explore-async-cex-run.txt", &["run", "book/src/generated/explore-async-cex.ron"]),
    ("explore-async-cex.svg", &["trace", "book/src/generated/explore-async-cex.ron", "--format", "svg", "-o", "OUT"]),
    ("explore-async-exactly-once.txt", &["explore", "scenarios/explore/async-exactly-once.ron", "--model", "async", "--max-faults", "4"]),
    ("explore-async-fifo.txt", &["explore", "scenarios/explore/broken-fifo.ron", "--model", "async", "--max-runs", "2000"]),
    // Run viewers: the trace tour whole, and each chapter's broken scenario around its first
    // violation (a window keeps each page near 50 KB, most of it the viewer's script).
    ("trace-tour.html", &["trace", "scenarios/trace-tour.ron", "--format", "html", "-o", "OUT"]),
    ("broken-no-checksum.html", &["trace", "scenarios/network/broken-no-checksum.ron", "--format", "html", "--to", "45", "-o", "OUT"]),
    (
        "broken-at-least-once.html",
        &["trace", "scenarios/delivery/broken-at-least-once.ron", "--format", "html", "--from", "735", "--to", "800", "-o", "OUT"],
    ),
    (
        "broken-reliable-no-relay.html",
        &["trace", "scenarios/ordering/broken-reliable-no-relay.ron", "--format", "html", "--to", "40", "-o", "OUT"],
    ),
    ("broken-fifo.html", &["trace", "scenarios/ordering/broken-fifo.ron", "--format", "html", "--to", "40", "-o", "OUT"]),
    (
        "broken-never-half-open.html",
        &["trace", "scenarios/failure/broken-never-half-open.ron", "--format", "html", "--from", "4300", "--to", "4420", "-o", "OUT"],
    ),
    ("broken-sync-deadlock.html", &["trace", "scenarios/communication/broken-sync-deadlock.ron", "--format", "html", "-o", "OUT"]),
    (
        "broken-work-queue-visibility.html",
        &["trace", "scenarios/communication/broken-work-queue-visibility.ron", "--format", "html", "--to", "8", "-o", "OUT"],
    ),
    (
        "broken-unauthenticated.html",
        &["trace", "scenarios/security/broken-unauthenticated.ron", "--format", "html", "--to", "15", "-o", "OUT"],
    ),
];

/// What a reader would see in a terminal: the command, its output, its exit code.
fn transcript(args: &[&str], trace_file: &Path) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|a| match *a {
            "TRACE" => trace_file.display().to_string(),
            "TRACE.jsonl" => trace_file.with_extension("jsonl").display().to_string(),
            "OUT" => trace_file.with_extension("out").display().to_string(),
            _ => a.to_string(),
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(&args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs");
    let shown: Vec<String> = args
        .iter()
        .map(|a| match Path::new(a) {
            p if p == trace_file => "trace.txt".to_string(),
            p if p == trace_file.with_extension("jsonl") => "trace.jsonl".to_string(),
            p if p == trace_file.with_extension("out") => out_name(trace_file),
            _ => a.clone(),
        })
        .collect();
    let mut text = format!("$ msgsim {}\n", shown.join(" "));
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let code = out.status.code().expect("exited");
    if code != 0 {
        text.push_str(&format!("[exit code {code}]\n"));
    }
    text.replace(&trace_file.with_extension("out").display().to_string(), &out_name(trace_file))
}

/// An `OUT` argument (`-o OUT`) is a file the command writes: the entry's file is that
/// output, shown under the entry's name, and the transcript goes beside it with `.txt` added.
fn out_name(trace_file: &Path) -> String {
    trace_file.file_stem().expect("named after the entry").to_string_lossy().into_owned()
}

#[test]
fn generated_book_files_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("book/src/generated");
    let update = std::env::var_os("UPDATE_BOOK").is_some();
    let tmp = std::env::temp_dir().join(format!("msgsim-book-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut stale = Vec::new();
    let mut write = |name: String, text: String| {
        let path = dir.join(&name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, text).unwrap();
            } else {
                stale.push(name);
            }
        }
    };
    for (name, args) in OUTPUTS {
        let trace_file = tmp.join(format!("{name}.trace"));
        if args.contains(&"OUT") {
            let text = transcript(args, &trace_file);
            write(name.to_string(), std::fs::read_to_string(trace_file.with_extension("out")).expect("the command wrote its output"));
            write(format!("{name}.txt"), text);
        } else {
            write(name.to_string(), transcript(args, &trace_file));
        }
        if args.contains(&"TRACE") {
            let trace = std::fs::read_to_string(&trace_file).expect("the run wrote its trace");
            write(name.replace("-run.txt", "-trace.txt"), trace);
        }
        if args.contains(&"TRACE.jsonl") {
            let trace = std::fs::read_to_string(trace_file.with_extension("jsonl")).expect("the run wrote its trace");
            // The first lines are enough to show the format.
            let head: String = trace.lines().take(8).map(|l| format!("{l}\n")).collect();
            write(name.replace("-run.txt", "-trace-head.jsonl"), head);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(stale.is_empty(), "stale book files {stale:?}: run `UPDATE_BOOK=1 cargo test --test book`, read the diff, commit");
}

/// Postmortem: the introduction listed 4 of 14 chapters for a year; now every chapter in
/// SUMMARY.md must be linked from it.
#[test]
fn the_introduction_lists_every_chapter() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let summary = std::fs::read_to_string(book.join("SUMMARY.md")).expect("SUMMARY.md");
    let intro = std::fs::read_to_string(book.join("introduction.md")).expect("introduction.md");
    let chapters: Vec<&str> =
        summary.lines().filter_map(|l| l.split("](").nth(1)?.split(')').next()).filter(|c| *c != "introduction.md").collect();
    assert!(chapters.len() > 10, "SUMMARY.md lists the chapters");
    let missing: Vec<&&str> = chapters.iter().filter(|c| !intro.contains(&format!("]({c})"))).collect();
    assert!(missing.is_empty(), "chapters the introduction does not link: {missing:?}");
}

/// Every protocol and check the bundled registry knows is documented in the scenario reference
/// (by its name in backticks, alone or with its configuration), so a new one cannot ship undocumented.
#[test]
fn the_scenario_reference_names_every_bundled_protocol_and_check() {
    use msgsim::scenario::Catalog;
    let reference =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/scenario-reference.md")).expect("reference");
    let registry = msgsim::Registry::builtin();
    let names: Vec<&str> = registry.protocol_names().into_iter().chain(registry.check_names()).collect();
    let documented = |n: &str| reference.contains(&format!("`{n}`")) || reference.contains(&format!("`{n}("));
    let missing: Vec<&&str> = names.iter().filter(|n| !documented(n)).collect();
    assert!(missing.is_empty(), "names the scenario reference does not document: {missing:?}");
}

//! The book never lies: every command output it shows is produced here by the real
//! binary and checked in under `book/src/generated/`. A stale file fails this test;
//! `UPDATE_BOOK=1 cargo test --test book` rewrites them (read the diff before committing).

use std::path::Path;
use std::process::Command;

/// (file under book/src/generated, msgsim arguments). Paths are relative to the crate root.
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
];

/// What a reader would see in a terminal: the command, its output, its exit code.
fn transcript(args: &[&str], trace_file: &Path) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|a| match *a {
            "TRACE" => trace_file.display().to_string(),
            "TRACE.jsonl" => trace_file.with_extension("jsonl").display().to_string(),
            _ => a.to_string(),
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_msgsim")).args(&args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs");
    let shown: Vec<String> = args
        .iter()
        .map(|a| match Path::new(a) {
            p if p == trace_file => "trace.txt".to_string(),
            p if p == trace_file.with_extension("jsonl") => "trace.jsonl".to_string(),
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
    text
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
        write(name.to_string(), transcript(args, &trace_file));
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

//! Seed sweeps: output independent of thread count, the lowest failing seed,
//! shards that merge into the whole, the determinism check, panics caught per
//! seed, and the CLI's exit codes for bad input.

use msgsim::check::Outcome;
use msgsim::process::{Command, Ctx, Incoming, Message, Process};
use msgsim::sweep::{SeedError, SeedVerdict, Shard, Sweep, SweepReport};
use msgsim::{RunOptions, Scenario};
use std::path::{Path, PathBuf};
use std::process::{Command as Cli, Output};
use std::sync::atomic::{AtomicU64, Ordering};

const RARE: &str = "book/examples/rare-duplicate.ron";

fn load(path: &str) -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{e}"))
}

fn msgsim(args: &[&str]) -> Output {
    Cli::new(env!("CARGO_BIN_EXE_msgsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("msgsim runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

/// Every scenario under `scenarios/` but the large benchmark ones (too slow for a
/// debug-build test, as in `tests/scenarios.rs`), as paths relative to the crate root.
fn all_scenarios() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with("bench") {
                continue;
            } else if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "ron") {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    walk(&root.join("scenarios"), root, &mut out);
    out.sort();
    out
}

#[test]
fn the_report_does_not_depend_on_the_number_of_threads() {
    let scenario = load("scenarios/quickstart.ron");
    let one = Sweep::new(&scenario).file("scenarios/quickstart.ron").seeds(0..40).jobs(1).run();
    let many = Sweep::new(&scenario).file("scenarios/quickstart.ron").seeds(0..40).jobs(3).run();
    assert_eq!(one, many);
    assert_eq!(serde_json::to_string(&one).unwrap(), serde_json::to_string(&many).unwrap());
    // The per-seed hashes are those of single runs.
    for s in &one.seeds {
        let run = msgsim::run(&scenario, s.seed, &RunOptions::default()).unwrap();
        assert_eq!(s.trace_hash.as_deref(), Some(msgsim::trace::format_hash(run.trace_hash).as_str()), "seed {}", s.seed);
    }
    assert_eq!(one.seeds.iter().map(|s| s.seed).collect::<Vec<_>>(), (0..40).collect::<Vec<_>>());
    assert_eq!((one.runs, one.passed), (40, 40));
    // Every broadcast reaches at most three others; best effort over a lossy network delivers fewer.
    let m = one.messages.unwrap();
    assert!(m.sent.min <= m.sent.median && m.sent.median <= m.sent.p99 && m.sent.p99 <= m.sent.max);
    assert!(m.delivered.max < 3 * 1000 + 200, "{m:?}");
    let l = &one.latency;
    assert!(l.deliveries > 0 && l.p50_ns <= l.p90_ns && l.p90_ns <= l.p99_ns && l.p99_ns <= l.max_ns, "{l:?}");
    // Latency is 1 to 40 ms, or exactly 120 ms between n0 and n3.
    assert_eq!(l.max_ns, Some(120_000_000));
}

#[test]
fn the_cli_prints_the_same_json_and_text_for_one_and_two_jobs() {
    for format in [&["--json"][..], &[][..]] {
        let run = |jobs: &str| {
            let mut args = vec!["sweep", RARE, "--seeds", "0..60", "--jobs", jobs];
            args.extend(format);
            let out = msgsim(&args);
            assert_eq!(out.status.code(), Some(1), "some seeds fail NoDuplicates");
            stdout(&out)
        };
        assert_eq!(run("1"), run("2"));
    }
}

#[test]
fn the_first_failure_is_the_lowest_failing_seed() {
    let scenario = load(RARE);
    let report = Sweep::new(&scenario).file(RARE).seeds(0..100).jobs(2).run();
    let failing: Vec<u64> = (0..100)
        .filter(|&seed| {
            let run = msgsim::run(&scenario, seed, &RunOptions::default()).unwrap();
            run.verdicts.iter().any(|(_, v)| v.outcome == Outcome::Fail)
        })
        .collect();
    assert!(failing.len() > 1 && failing[0] > 0, "the example should fail on some seeds, not all: {failing:?}");
    let first = report.first_failure.as_ref().expect("a seed failed");
    assert_eq!(first.seed, failing[0]);
    assert_eq!(first.check, "NoDuplicates");
    assert_eq!(first.reproduce, format!("msgsim run {RARE} --seed {}", failing[0]));
    assert_eq!(report.failed, failing.len() as u64);
    assert_eq!(report.passed + report.failed, 100);
    assert_eq!(report.assert_fails("NoDuplicates"), failing[0]);
    // The assertion helpers name the seed and the command that replays it.
    let message = std::panic::catch_unwind(|| report.assert_no_failures()).unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(message.contains(&first.reproduce), "{message}");
    let message = std::panic::catch_unwind(|| report.assert_each_seed("delivers 40 copies", |s| s.delivered == Some(40))).unwrap_err();
    assert!(message.downcast_ref::<String>().unwrap().contains("--seed"));
}

#[test]
fn three_shards_merge_into_exactly_the_unsharded_output() {
    let dir = std::env::temp_dir().join(format!("msgsim-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = msgsim(&["sweep", RARE, "--seeds", "3..50", "--json"]);
    let whole_text = msgsim(&["sweep", RARE, "--seeds", "3..50"]);
    let mut files: Vec<PathBuf> = Vec::new();
    let mut parts = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = msgsim(&["sweep", RARE, "--seeds", "3..50", "--json", "--shard", &shard, "--jobs", "2"]);
        let file = dir.join(format!("shard-{i}.json"));
        std::fs::write(&file, &out.stdout).unwrap();
        parts.push(serde_json::from_slice::<SweepReport>(&out.stdout).unwrap());
        files.push(file);
    }
    assert_eq!(parts[1].seeds.iter().map(|s| s.seed).take(3).collect::<Vec<_>>(), [4, 7, 10]);
    // Given in any order.
    let names: Vec<&str> = [2, 0, 1].iter().map(|&i| files[i].to_str().unwrap()).collect();
    let merged = msgsim(&[&["merge", "--json"][..], &names].concat());
    assert_eq!(stdout(&merged), stdout(&whole));
    assert_eq!(merged.status.code(), whole.status.code());
    let merged_text = msgsim(&[&["merge"][..], &names].concat());
    assert_eq!(stdout(&merged_text), stdout(&whole_text));
    assert_eq!(String::from_utf8_lossy(&merged_text.stderr), String::from_utf8_lossy(&whole_text.stderr));
    // Incomplete or inconsistent sets are refused.
    let two = msgsim(&["merge", names[0], names[1]]);
    assert_eq!(two.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&two.stderr).contains("shard 1/3 is missing"), "{two:?}");
    let twice = SweepReport::merge(vec![parts[0].clone(), parts[0].clone(), parts[1].clone()]).unwrap_err();
    assert!(twice.contains("given twice"), "{twice}");
    let mut other = parts[2].clone();
    other.seeds_swept = "3..51".to_string();
    assert!(SweepReport::merge(vec![parts[0].clone(), parts[1].clone(), other]).is_err());
    let mut truncated = parts[2].clone();
    truncated.seeds.pop();
    assert!(SweepReport::merge(vec![parts[0].clone(), parts[1].clone(), truncated]).unwrap_err().contains("seeds"));
    std::fs::write(dir.join("garbage.json"), "{}").unwrap();
    assert_eq!(msgsim(&["merge", dir.join("garbage.json").to_str().unwrap()]).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_scenario_is_deterministic_under_the_check() {
    let paths = all_scenarios();
    assert!(paths.len() > 10 && paths.contains(&"scenarios/quickstart.ron".to_string()), "{paths:?}");
    for path in paths {
        let scenario = load(&path);
        let report = Sweep::new(&scenario).file(&path).seeds(0..3).jobs(2).check_determinism(true).run();
        assert_eq!(report.errors, 0, "{path}: {}", report.text());
        assert!(report.text().contains("every seed ran twice: 3 identical, 0 diverged"), "{path}");
    }
}

/// Test process: best-effort broadcast whose behaviour can be spoiled.
struct Flaky {
    /// Panic when handed a command if the node's first draw is below this (out of 100).
    panic_below: u64,
    /// Send an extra broadcast on every command after the third in the whole
    /// test process: a process that reads global state is not deterministic.
    extra_after: Option<&'static AtomicU64>,
}

#[derive(Clone, Debug)]
struct Note;

impl Message for Note {
    fn wire_size(&self) -> u32 {
        8
    }
    fn corrupt(&mut self) {}
}

impl Process for Flaky {
    type Msg = Note;
    type Timer = ();

    fn on_command(&mut self, ctx: &mut Ctx<'_, Note, ()>, cmd: Command) {
        if ctx.rng().below(100) < self.panic_below {
            panic!("flaky protocol gave up");
        }
        ctx.broadcast(Note);
        if let Some(counter) = self.extra_after {
            if counter.fetch_add(1, Ordering::Relaxed) >= 3 {
                ctx.broadcast(Note);
            }
        }
        let Command::Send { payload, .. } = cmd;
        ctx.deliver(payload);
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, Note, ()>, _incoming: Incoming<Note>) {}
}

fn small() -> Scenario {
    Scenario::parse(
        r#"Scenario(name: "small", horizon_ms: 100, nodes: 3, protocol: BestEffort(),
            workload: [(from: "n0", send: Broadcast, every_ms: 10, count: 3)], checks: [NoDuplicates])"#,
        "small.ron",
    )
    .unwrap()
}

#[test]
fn a_panicking_seed_is_reported_and_the_sweep_goes_on() {
    let scenario = small();
    let report = Sweep::new(&scenario).file("small.ron").seeds(0..40).jobs(2).run_with(|_| Flaky { panic_below: 10, extra_after: None });
    assert_eq!(report.runs, 40);
    assert!(report.errors > 0 && report.errors < 40, "some seeds panic, not all: {}", report.errors);
    assert_eq!(report.passed + report.errors, 40);
    let panicked: Vec<u64> = report.seeds.iter().filter(|s| s.verdict == SeedVerdict::Error).map(|s| s.seed).collect();
    let first = report.first_error.as_ref().unwrap();
    assert_eq!(first.seed, panicked[0]);
    assert_eq!(first.reproduce, format!("msgsim run small.ron --seed {}", panicked[0]));
    match &first.error {
        SeedError::Panic { event, message, .. } => {
            assert!(*event >= 1);
            assert_eq!(message, "flaky protocol gave up");
        }
        other => panic!("{other:?}"),
    }
    let text = report.text();
    assert!(text.contains("protocol code panicked during event") && text.contains(&first.reproduce), "{text}");
    // The same seeds panic whatever the thread count.
    let again = Sweep::new(&scenario).file("small.ron").seeds(0..40).jobs(1).run_with(|_| Flaky { panic_below: 10, extra_after: None });
    assert_eq!(again, report);
    // The CLI reads such a report back (an unsharded sweep merges alone) and exits 3.
    let file = std::env::temp_dir().join(format!("msgsim-panics-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_string(&report).unwrap()).unwrap();
    let out = msgsim(&["merge", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout(&out), text);
}

#[test]
fn the_determinism_check_names_where_two_runs_diverge() {
    static COMMANDS: AtomicU64 = AtomicU64::new(0);
    let scenario = small();
    let sweep = Sweep::new(&scenario).file("small.ron").seeds(0..1).jobs(1).check_determinism(true);
    let report = sweep.run_with(|_| Flaky { panic_below: 0, extra_after: Some(&COMMANDS) });
    assert_eq!(report.errors, 1, "{}", report.text());
    let Some(SeedError::Nondeterministic { trace_event: Some(index), at_ns: Some(at), first, second }) = &report.seeds[0].error else {
        panic!("{:?}", report.seeds[0]);
    };
    // Each run has three commands, so the second run's first command is the 4th of
    // the test process and sends an extra broadcast. Both runs start with the
    // command and its two sends; then the first run delivers, the second sends again.
    assert_eq!((*index, *at), (3, 0));
    assert!(first.contains("deliver a0") && second.contains("send    m2 -> n1"), "{first} / {second}");
    assert!(report.text().contains("diverge at trace event 3"), "{}", report.text());
    // Without the check, the same process looks fine.
    assert_eq!(Sweep::new(&scenario).seeds(0..1).run_with(|_| Flaky { panic_below: 0, extra_after: None }).errors, 0);
}

#[test]
fn bad_input_exits_2_before_anything_runs() {
    for args in [
        &["sweep", "scenarios/quickstart.ron", "--seeds", "5..3"][..],
        &["sweep", "scenarios/quickstart.ron", "--seeds", "5..5"],
        &["sweep", "scenarios/quickstart.ron", "--seeds", "abc"],
        &["sweep", "scenarios/quickstart.ron", "--seeds", "0..10", "--jobs", "0"],
        &["sweep", "scenarios/quickstart.ron", "--seeds", "0..10", "--shard", "3/3"],
        &["sweep", "scenarios/quickstart.ron", "--seeds", "0..10", "--shard", "1"],
        &["sweep", "scenarios/quickstart.ron"],
        &["sweep", "tests/bad/crash-twice.ron", "--seeds", "0..10"],
        &["sweep", "no/such/file.ron", "--seeds", "0..10"],
        &["merge", "no/such/file.json"],
    ] {
        let out = msgsim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn exit_codes_follow_the_worst_seed() {
    assert_eq!(msgsim(&["sweep", "scenarios/quickstart.ron", "--seeds", "0..4"]).status.code(), Some(0));
    let failed = msgsim(&["sweep", RARE, "--seeds", "0..40", "--json"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(failed.stderr.is_empty(), "--json keeps stderr quiet when piped");
    let json: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    for key in ["runs", "passed", "failed", "inconclusive", "errors", "first_failure", "seeds", "messages", "latency"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["first_failure"]["check"], "NoDuplicates");
    assert_eq!(json["seeds"][0]["verdict"], "pass");
    assert_eq!(json["seeds"][0]["trace_hash"].as_str().map(str::len), Some(16));
    // A shard with no seeds is a valid, empty report.
    let empty = msgsim(&["sweep", "scenarios/quickstart.ron", "--seeds", "0..2", "--shard", "2/3", "--json"]);
    assert_eq!(empty.status.code(), Some(0));
    assert_eq!(serde_json::from_slice::<SweepReport>(&empty.stdout).unwrap().shard, Some(Shard { index: 2, count: 3 }));
}

#[test]
fn a_scenario_without_checks_is_inconclusive_on_every_seed() {
    let scenario = Scenario::parse(
        r#"Scenario(name: "unchecked", horizon_ms: 50, nodes: 2, protocol: BestEffort(),
            workload: [(from: "n0", to: "n1", every_ms: 10, count: 2)])"#,
        "unchecked.ron",
    )
    .unwrap();
    let report = Sweep::new(&scenario).seeds(0..5).run();
    assert_eq!((report.passed, report.inconclusive, report.failed), (0, 5, 0));
    assert_eq!(report.latency.deliveries, 10);
    report.assert_no_failures();
    assert!(std::panic::catch_unwind(|| report.assert_all_pass()).is_err());
}

/// Every other run of this process sends one extra broadcast at its 20,000th command: two
/// runs of a seed part far past the determinism check's first window.
struct LateFlaky {
    commands: u64,
    odd_run: bool,
}

/// Flipped when a run creates its node 0: which run of the seed this is, odd or even.
static ODD_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Process for LateFlaky {
    type Msg = Note;
    type Timer = ();

    fn on_command(&mut self, ctx: &mut Ctx<'_, Note, ()>, cmd: Command) {
        self.commands += 1;
        ctx.broadcast(Note);
        if self.odd_run && self.commands == 20_000 {
            ctx.broadcast(Note);
        }
        let Command::Send { payload, .. } = cmd;
        ctx.deliver(payload);
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, Note, ()>, _incoming: Incoming<Note>) {}
}

/// Postmortem: the determinism check kept both runs' whole traces, two per seed in memory at
/// once. It now compares fingerprints of the rolling hash and keeps one window; a divergence
/// past the first window is found exactly by two more runs that keep just its window.
#[test]
fn regression_the_determinism_check_finds_a_late_divergence_without_keeping_traces() {
    let scenario = Scenario::parse(
        r#"Scenario(name: "late", horizon_ms: 1000, nodes: 2, protocol: BestEffort(), network: (latency: Constant(ms: 0)),
            workload: [(from: "n0", send: Broadcast, every_ms: 0.01, count: 30000)])"#,
        "late.ron",
    )
    .unwrap();
    let sweep = Sweep::new(&scenario).file("late.ron").seeds(0..1).jobs(1).check_determinism(true);
    let report = sweep.run_with(|node| {
        if node.0 == 0 {
            ODD_RUN.fetch_xor(true, Ordering::Relaxed);
        }
        LateFlaky { commands: 0, odd_run: ODD_RUN.load(Ordering::Relaxed) }
    });
    let Some(SeedError::Nondeterministic { trace_event: Some(index), first, second, .. }) = &report.seeds[0].error else {
        panic!("{:?}", report.seeds[0]);
    };
    // Past the first window, where the 20,000th command's extra send is.
    assert!(*index > msgsim::sweep::DETERMINISM_WINDOW && *index < 2 * msgsim::sweep::DETERMINISM_WINDOW, "{index}");
    assert!(first.contains("send") && first != second, "{first} / {second}");
}

/// A scenario may declare that its planted failure comes on every seed
/// (`expect_failures_on: EverySeed`): then a seed that passes the declared check is a failure
/// of the sweep and of `run`, naming the seed and the command that shows it, since a bug that
/// weakens what the scenario plants would otherwise hide behind the one seed that still fails.
#[test]
fn a_failure_declared_for_every_seed_fails_the_seeds_that_miss_it() {
    let declared = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(RARE))
        .unwrap()
        .replace("checks: [NoDuplicates],", "checks: [NoDuplicates],\n    expect_failures: [NoDuplicates],");
    let dir = std::env::temp_dir().join(format!("msgsim-every-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let some = dir.join("some.ron");
    let every = dir.join("every.ron");
    std::fs::write(&some, &declared).unwrap();
    std::fs::write(
        &every,
        declared.replace("expect_failures: [NoDuplicates],", "expect_failures: [NoDuplicates], expect_failures_on: EverySeed,"),
    )
    .unwrap();
    let (some, every) = (some.to_str().unwrap(), every.to_str().unwrap());
    let scenario = load(RARE);
    let fails = |seed: u64| {
        let run = msgsim::run(&scenario, seed, &RunOptions::default()).unwrap();
        run.verdicts.iter().any(|(_, v)| v.outcome == Outcome::Fail)
    };
    let (first_failing, first_passing) = ((0..40).find(|&s| fails(s)).unwrap(), (0..40).find(|&s| !fails(s)).unwrap());

    // On some seed (the default): the failing seeds are what the scenario plants.
    assert_eq!(msgsim(&["sweep", some, "--seeds", "0..40"]).status.code(), Some(0));
    // On every seed: each passing seed fails the sweep, and the first is named with its command.
    let swept = msgsim(&["sweep", every, "--seeds", "0..40", "--json"]);
    assert_eq!(swept.status.code(), Some(1));
    let report: SweepReport = serde_json::from_slice(&swept.stdout).unwrap();
    let first = report.first_failure.expect("a seed missed the declared failure");
    assert_eq!((first.seed, first.check.as_str()), (first_passing, "NoDuplicates"));
    assert!(first.detail.contains("EverySeed") && first.detail.contains("passed"), "{}", first.detail);
    assert_eq!(report.failed, (0..40).filter(|&s| !fails(s)).count() as u64);
    assert_eq!(report.expected_failures[0].seeds_failed, (0..40).filter(|&s| fails(s)).count() as u64);

    // A single run: the seed that fails is as declared; the seed that passes is uncaught.
    let caught = msgsim(&["run", every, "--seed", &first_failing.to_string()]);
    assert_eq!(caught.status.code(), Some(0), "{}", stdout(&caught));
    assert!(stdout(&caught).contains("FAIL (expected)"));
    let missed = msgsim(&["run", every, "--seed", &first_passing.to_string()]);
    assert_eq!(missed.status.code(), Some(1));
    assert!(stdout(&missed).contains("uncaught   NoDuplicates: declared to fail on every seed"), "{}", stdout(&missed));
    assert!(String::from_utf8_lossy(&missed.stderr).contains(&format!("--seed {first_passing}")));
    let json = msgsim(&["run", every, "--seed", &first_passing.to_string(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["missed_expected_failure"]["check"], "NoDuplicates");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! Sweeps on batch engines: shards run as separate `msgsim` processes with each engine's
//! environment variables set as that engine sets them, take their part with `--shard auto`,
//! and merge (from a directory, a pattern or a list) into exactly the unsharded sweep's output;
//! a missing or wrong environment, or a missing shard, is an error that names it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const RARE: &str = "book/examples/rare-duplicate.ron";
const SEEDS: &str = "0..60";

/// Every variable `--shard auto` reads: removed from each child, so that a test run inside a
/// Slurm job or a GitHub Actions matrix sees only what the test sets.
const ENGINE_VARIABLES: [&str; 8] = [
    "MSGSIM_SHARD",
    "JOB_COMPLETION_INDEX",
    "MSGSIM_SHARD_COUNT",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
];

fn msgsim(env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msgsim"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for name in ENGINE_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

fn run(args: &[&str], env: &[(String, String)]) -> Output {
    msgsim(env).args(args).output().expect("msgsim runs")
}

fn vars(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("msgsim-batch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Start every worker at once, as the engine would, each writing `--json` to its own file in
/// `dir`; wait for all. Each worker's variables are `env(i)` for worker `i`.
fn run_workers(dir: &Path, workers: u64, env: impl Fn(u64) -> Vec<(String, String)>) -> Vec<PathBuf> {
    let started: Vec<(PathBuf, Child)> = (0..workers)
        .map(|i| {
            let file = dir.join(format!("shard-{i}.json"));
            let out = std::fs::File::create(&file).unwrap();
            let child = msgsim(&env(i))
                .args(["sweep", RARE, "--seeds", SEEDS, "--shard", "auto", "--jobs", "1", "--json"])
                .stdout(Stdio::from(out))
                .stderr(Stdio::piped())
                .spawn()
                .expect("msgsim starts");
            (file, child)
        })
        .collect();
    started
        .into_iter()
        .map(|(file, child)| {
            let done = child.wait_with_output().unwrap();
            // 1: some seed of the shard failed a check, which the merge reports.
            assert!(matches!(done.status.code(), Some(0 | 1)), "{}: {done:?}", file.display());
            file
        })
        .collect()
}

/// The unsharded sweep: its `--json` output and exit code.
fn whole() -> Output {
    let out = run(&["sweep", RARE, "--seeds", SEEDS, "--json"], &[]);
    assert_eq!(out.status.code(), Some(1), "the example has failing seeds: {out:?}");
    out
}

fn merged_equals_whole(inputs: &[&str], whole: &Output) {
    let merged = run(&[&["merge", "--json"][..], inputs].concat(), &[]);
    assert_eq!(String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&whole.stdout), "{inputs:?}: {merged:?}");
    assert_eq!(merged.stdout, whole.stdout);
    assert_eq!(merged.status.code(), whole.status.code());
}

#[test]
fn kubernetes_indexed_job_shards_merge_from_their_directory() {
    let dir = scratch("k8s");
    // Kubernetes sets JOB_COMPLETION_INDEX (and the hostname); the Job's env gives the count.
    run_workers(&dir, 4, |i| {
        vars(&[
            ("JOB_COMPLETION_INDEX", i.to_string()),
            ("MSGSIM_SHARD_COUNT", "4".to_string()),
            ("HOSTNAME", format!("msgsim-sweep-{i}-x7k2p")),
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1".to_string()),
        ])
    });
    merged_equals_whole(&[dir.to_str().unwrap()], &whole());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slurm_arrays_starting_anywhere_and_stepping_merge_from_a_pattern() {
    let whole = whole();
    // --array=1-3 and --array=10-18:4 (tasks 10, 14, 18): the first task is shard 0 either way.
    for (name, min, step, count) in [("slurm-from-1", 1, 1, 3), ("slurm-stepped", 10, 4, 3)] {
        let dir = scratch(name);
        run_workers(&dir, count, |i| {
            let id = min + i * step;
            vars(&[
                ("SLURM_JOB_ID", (4711 + i).to_string()),
                ("SLURM_ARRAY_JOB_ID", "4711".to_string()),
                ("SLURM_ARRAY_TASK_ID", id.to_string()),
                ("SLURM_ARRAY_TASK_COUNT", count.to_string()),
                ("SLURM_ARRAY_TASK_MIN", min.to_string()),
                ("SLURM_ARRAY_TASK_MAX", (min + (count - 1) * step).to_string()),
                ("SLURM_ARRAY_TASK_STEP", step.to_string()),
            ])
        });
        // The pattern reaches msgsim unexpanded (no shell here), as a quoted one would.
        merged_equals_whole(&[dir.join("shard-*.json").to_str().unwrap()], &whole);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn github_matrix_and_gnu_parallel_shards_merge_from_a_list_and_as_text() {
    let whole = whole();
    // A workflow sets MSGSIM_SHARD from ${{ matrix.shard }}/${{ strategy.job-total }}.
    let dir = scratch("github");
    let files = run_workers(&dir, 5, |i| {
        vars(&[("MSGSIM_SHARD", format!("{i}/5")), ("GITHUB_ACTIONS", "true".to_string()), ("CI", "true".to_string())])
    });
    let names: Vec<&str> = files.iter().rev().map(|f| f.to_str().unwrap()).collect();
    merged_equals_whole(&names, &whole);
    let _ = std::fs::remove_dir_all(&dir);

    // `parallel 'MSGSIM_SHARD={}/2 msgsim sweep ...' ::: 0 1`, which also sets PARALLEL_SEQ.
    let dir = scratch("parallel");
    run_workers(&dir, 2, |i| vars(&[("MSGSIM_SHARD", format!("{i}/2")), ("PARALLEL_SEQ", (i + 1).to_string())]));
    let text = run(&["sweep", RARE, "--seeds", SEEDS], &[]);
    let merged = run(&["merge", dir.to_str().unwrap()], &[]);
    assert_eq!(String::from_utf8_lossy(&merged.stdout), String::from_utf8_lossy(&text.stdout));
    assert_eq!(String::from_utf8_lossy(&merged.stderr), String::from_utf8_lossy(&text.stderr), "the reproduce command");
    assert_eq!(merged.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_shards_are_named_by_index_with_the_command_that_runs_them() {
    let dir = scratch("missing");
    let files = run_workers(&dir, 6, |i| vars(&[("MSGSIM_SHARD", format!("{i}/6"))]));
    for i in [1, 3, 4] {
        std::fs::remove_file(&files[i]).unwrap();
    }
    let out = run(&["merge", dir.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("3 of 6 shards are missing: 1, 3-4 (of 0-5)"), "{stderr}");
    assert!(stderr.contains(&format!("msgsim sweep {RARE} --seeds {SEEDS} --shard 1/6 --json")), "{stderr}");
    // Given as a list, the shards not given are the missing ones.
    std::fs::remove_file(&files[5]).unwrap();
    let out = run(&["merge", files[0].to_str().unwrap(), files[2].to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 of 6 shards are missing: 1, 3-5"), "{out:?}");
    // The same shard twice: both files named.
    let out = run(&["merge", files[0].to_str().unwrap(), dir.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shard 0/6 is given twice") && stderr.contains("shard-0.json and"), "{stderr}");
    // Postmortem: a file claiming u64::MAX shards overflowed the missing-shard count (a panic).
    let claim = std::fs::read_to_string(&files[0]).unwrap().replace("\"shard\": \"0/6\"", &format!("\"shard\": \"0/{}\"", u64::MAX));
    assert!(claim.contains(&u64::MAX.to_string()));
    std::fs::write(&files[0], claim).unwrap();
    let out = run(&["merge", files[0].to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{} of {} shards are missing: 1-", u64::MAX - 1, u64::MAX)), "{out:?}");
    let out = run(&["merge", dir.join("nothing-*.json").to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no file matches"), "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn auto_without_an_engine_or_with_two_that_disagree_runs_nothing() {
    let cases: [(Vec<(String, String)>, &str); 4] = [
        (vec![], "no batch engine's variables are set"),
        (vars(&[("JOB_COMPLETION_INDEX", "2".to_string())]), "MSGSIM_SHARD_COUNT is not"),
        (vars(&[("SLURM_ARRAY_TASK_ID", "4".to_string()), ("SLURM_ARRAY_TASK_COUNT", "4".to_string())]), "SLURM_ARRAY_TASK_MIN is not"),
        (
            vars(&[
                ("MSGSIM_SHARD", "0/2".to_string()),
                ("JOB_COMPLETION_INDEX", "1".to_string()),
                ("MSGSIM_SHARD_COUNT", "2".to_string()),
            ]),
            "disagree",
        ),
    ];
    for (env, says) in cases {
        let out = run(&["sweep", RARE, "--seeds", SEEDS, "--shard", "auto", "--json"], &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{env:?}: nothing runs");
        assert!(stderr.starts_with("--shard auto: ") && stderr.contains(says), "{env:?}: {stderr}");
    }
}

//! The files that run a sweep on a batch engine (deploy/, .github/workflows/sweep.yml, the
//! Dockerfile) hold what each engine needs: read with a YAML parser and checked field by field,
//! and the shell the Kubernetes Job, the Slurm scripts and the workflow's steps run is run here,
//! with the variables those engines set, on a few seeds, merging into exactly the unsharded sweep.
// The engines are Unix ones, and the test puts the binary on PATH with a symbolic link.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use yaml_rust2::{Yaml, YamlLoader};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The sweep every deploy file runs, and the one the tests run instead: a few seeds, seed 11
/// failing, so a shard whose seed failed must still count as done and the merge must fail.
const SCENARIO: &str = "scenarios/quickstart.ron";
const FULL_SEEDS: &str = "0..1000000";
const TEST_SCENARIO: &str = "book/examples/rare-duplicate.ron";
const TEST_SEEDS: &str = "0..12";

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The string at `node`, which must be one.
fn text<'y>(node: &'y Yaml, what: &str) -> &'y str {
    node.as_str().unwrap_or_else(|| panic!("{what} must be a string, not {node:?}"))
}

fn int(node: &Yaml, what: &str) -> i64 {
    node.as_i64().unwrap_or_else(|| panic!("{what} must be a whole number, not {node:?}"))
}

fn list<'y>(node: &'y Yaml, what: &str) -> &'y [Yaml] {
    node.as_vec().unwrap_or_else(|| panic!("{what} must be a list, not {node:?}"))
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("msgsim-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A directory whose `msgsim` is the binary under test, to put first on PATH.
fn bin_dir(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_msgsim"), bin.join("msgsim")).unwrap();
    bin
}

fn path_with(bin: &Path) -> String {
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

/// The unsharded sweep of the test's seeds, from `cwd` with the scenario named `scenario`.
fn whole(cwd: &Path, scenario: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_msgsim")).args(["sweep", scenario, "--seeds", TEST_SEEDS, "--json"]).current_dir(cwd).output().unwrap()
}

/// A shell command with only the engine's variables (and PATH), as a job starts.
fn shell(shell: &str, script: &str, cwd: &Path, env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(shell);
    cmd.args(["-c", script]).current_dir(cwd).env_clear().envs(env.iter().map(|(k, v)| (*k, v)));
    cmd.output().unwrap_or_else(|e| panic!("{shell}: {e}"))
}

/// The Job's one container.
fn container<'y>(job: &'y Yaml, name: &str) -> &'y Yaml {
    let containers = list(&job["spec"]["template"]["spec"]["containers"], &format!("{name}'s containers"));
    assert_eq!(containers.len(), 1, "{name}: one container");
    &containers[0]
}

/// A container's `sh -c` script.
fn script<'y>(container: &'y Yaml, name: &str) -> &'y str {
    let command = list(&container["command"], &format!("{name}'s command"));
    assert_eq!(command.len(), 3, "{name}: /bin/sh -c SCRIPT");
    assert_eq!((text(&command[0], "shell"), text(&command[1], "flag")), ("/bin/sh", "-c"), "{name}");
    text(&command[2], "script")
}

#[test]
fn the_kubernetes_job_is_an_indexed_job_of_shards_and_a_merge() {
    let docs = yaml("deploy/kubernetes/sweep-job.yaml");
    assert_eq!(docs.len(), 3, "a volume, the sweep and the merge");
    let by_kind = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let claim = by_kind("PersistentVolumeClaim", "msgsim-results");
    assert_eq!(text(&claim["apiVersion"], "apiVersion"), "v1");
    // Every shard's pod writes to it at once, from any node.
    assert!(list(&claim["spec"]["accessModes"], "accessModes").iter().any(|m| m.as_str() == Some("ReadWriteMany")));
    text(&claim["spec"]["resources"]["requests"]["storage"], "storage");

    let sweep = by_kind("Job", "msgsim-sweep");
    let merge = by_kind("Job", "msgsim-merge");
    // The README applies them in two steps, selected by these labels.
    assert_eq!(claim["metadata"]["labels"]["step"].as_str(), Some("sweep"));
    assert_eq!(sweep["metadata"]["labels"]["step"].as_str(), Some("sweep"));
    assert_eq!(merge["metadata"]["labels"]["step"].as_str(), Some("merge"));
    for job in [sweep, merge] {
        assert_eq!(text(&job["apiVersion"], "apiVersion"), "batch/v1");
        // A Job's pods must not restart in place; a pod failure policy needs Never.
        assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"].as_str(), Some("Never"));
        let volumes = list(&job["spec"]["template"]["spec"]["volumes"], "volumes");
        assert!(volumes.iter().any(|v| v["persistentVolumeClaim"]["claimName"].as_str() == Some("msgsim-results")));
        let mounts = list(&container(job, "job")["volumeMounts"], "volumeMounts");
        assert_eq!(mounts.iter().map(|m| text(&m["mountPath"], "mountPath")).collect::<Vec<_>>(), ["/results"]);
        assert_eq!(text(&mounts[0]["name"], "mount"), text(&volumes[0]["name"], "volume"));
    }

    assert_eq!(text(&sweep["spec"]["completionMode"], "completionMode"), "Indexed");
    let completions = int(&sweep["spec"]["completions"], "completions");
    let parallelism = int(&sweep["spec"]["parallelism"], "parallelism");
    assert!(completions >= 1 && (1..=completions).contains(&parallelism), "{completions} completions, {parallelism} in parallel");
    // A pod learns its index from Kubernetes but the count only from the Job's env.
    let shards = container(sweep, "sweep");
    let env = list(&shards["env"], "env");
    let count = env.iter().find(|e| e["name"].as_str() == Some("MSGSIM_SHARD_COUNT")).expect("MSGSIM_SHARD_COUNT in the env");
    assert_eq!(text(&count["value"], "MSGSIM_SHARD_COUNT"), completions.to_string(), "the count is the Job's completions");
    // Bad input fails the Job at once instead of retrying.
    let rule = &list(&sweep["spec"]["podFailurePolicy"]["rules"], "podFailurePolicy")[0];
    assert_eq!((text(&rule["action"], "action"), rule["onExitCodes"]["values"][0].as_i64()), ("FailJob", Some(2)));
    let shard_script = script(shards, "sweep");
    assert!(shard_script.contains(&format!("msgsim sweep {SCENARIO} --seeds {FULL_SEEDS} --shard auto")), "{shard_script}");
    assert!(shard_script.contains("--json"), "{shard_script}");
    assert_eq!(merge["spec"]["backoffLimit"].as_i64(), Some(0), "the merge's verdict is not retried");
    let merge_script = script(container(merge, "merge"), "merge");
    assert!(merge_script.contains("msgsim merge /results/shards"), "{merge_script}");

    // Run both scripts as the pods would, on a few seeds, with a directory for the volume.
    let dir = scratch("k8s");
    let path = path_with(&bin_dir(&dir));
    let results = dir.join("results");
    let local = |s: &str| s.replace("/results", results.to_str().unwrap()).replace(FULL_SEEDS, TEST_SEEDS).replace(SCENARIO, TEST_SCENARIO);
    let small = local(shard_script);
    for index in 0..completions {
        let env = [
            ("PATH", path.clone()),
            ("JOB_COMPLETION_INDEX", index.to_string()),
            ("MSGSIM_SHARD_COUNT", completions.to_string()),
            ("HOSTNAME", format!("msgsim-sweep-{index}-q8x2z")),
        ];
        let out = shell("sh", &small, Path::new(ROOT), &env);
        assert!(out.status.success(), "shard {index}: {out:?}");
    }
    let shard_files = std::fs::read_dir(results.join("shards")).unwrap().count();
    assert_eq!(shard_files as i64, completions, "one complete report per index, no .part left");
    let out = shell("sh", &local(merge_script), Path::new(ROOT), &[("PATH", path)]);
    let expect = whole(Path::new(ROOT), TEST_SCENARIO);
    assert_eq!(expect.status.code(), Some(1), "a seed fails: {expect:?}");
    assert_eq!(out.status.code(), Some(1), "the merge Job fails with the sweep: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("reproduce the first with"), "{out:?}");
    assert_eq!(std::fs::read(results.join("merged.json")).unwrap(), expect.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_slurm_scripts_run_as_an_array_and_a_dependent_merge() {
    let sweep = read("deploy/slurm/sweep.sbatch");
    let merge = read("deploy/slurm/merge.sbatch");
    for (name, body) in [("sweep.sbatch", &sweep), ("merge.sbatch", &merge)] {
        assert!(body.starts_with("#!/bin/bash\n"), "{name}: sbatch needs an interpreter line");
        let syntax = Command::new("bash").args(["-n", "-c", body]).output().unwrap();
        assert!(syntax.status.success(), "{name}: {syntax:?}");
        // sbatch reads #SBATCH lines only before the first command.
        let lines: Vec<&str> = body.lines().collect();
        let first_command = lines.iter().position(|l| !l.is_empty() && !l.starts_with('#')).unwrap();
        let last_directive = lines.iter().rposition(|l| l.starts_with("#SBATCH")).unwrap();
        assert!(last_directive < first_command, "{name}: every #SBATCH line comes before the first command");
    }
    let array = sweep.lines().find_map(|l| l.strip_prefix("#SBATCH --array=")).expect("an #SBATCH --array line");
    let (first, last) = array.split_once('-').expect("a range");
    let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());
    assert!(sweep.contains("--shard auto") && sweep.contains("SEEDS:-0..1000000") && sweep.contains("SCENARIO:-scenarios/quickstart.ron"));
    assert!(sweep.contains("sbatch --dependency=afterok:$sweep deploy/slurm/merge.sbatch"), "the submission it documents");
    assert!(merge.contains("--dependency=afterok:") && merge.contains("merge shards"));

    // Run the array's tasks with the variables Slurm gives them, then the merge, in a directory
    // of their own (the scripts write shards/ and merged.json where they are submitted).
    let dir = scratch("slurm");
    let path = path_with(&bin_dir(&dir));
    let scenario = Path::new(ROOT).join(TEST_SCENARIO).to_str().unwrap().to_string();
    let count = last - first + 1;
    for id in first..=last {
        let env = [
            ("PATH", path.clone()),
            ("SCENARIO", scenario.clone()),
            ("SEEDS", TEST_SEEDS.to_string()),
            ("SLURM_JOB_ID", (100 + id).to_string()),
            ("SLURM_ARRAY_JOB_ID", "100".to_string()),
            ("SLURM_ARRAY_TASK_ID", id.to_string()),
            ("SLURM_ARRAY_TASK_MIN", first.to_string()),
            ("SLURM_ARRAY_TASK_MAX", last.to_string()),
            ("SLURM_ARRAY_TASK_COUNT", count.to_string()),
            ("SLURM_ARRAY_TASK_STEP", "1".to_string()),
            ("SLURM_CPUS_PER_TASK", "1".to_string()),
        ];
        let out = shell("bash", &sweep, &dir, &env);
        assert!(out.status.success(), "task {id}: {out:?}");
    }
    assert_eq!(std::fs::read_dir(dir.join("shards")).unwrap().count() as u64, count);
    let out = shell("bash", &merge, &dir, &[("PATH", path)]);
    let expect = whole(&dir, &scenario);
    assert_eq!(expect.status.code(), Some(1), "a seed fails: {expect:?}");
    assert_eq!(out.status.code(), Some(1), "the merge job fails with the sweep: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("reproduce the first with"), "{out:?}");
    assert_eq!(std::fs::read(dir.join("merged.json")).unwrap(), expect.stdout);
    // A task started outside an array says so and leaves no report behind.
    let alone = shell("bash", &sweep, &dir, &[("PATH", path_with(&dir.join("bin"))), ("SEEDS", TEST_SEEDS.to_string())]);
    assert_eq!(alone.status.code(), Some(2), "{alone:?}");
    assert!(String::from_utf8_lossy(&alone.stderr).contains("no batch engine"), "{alone:?}");
    assert!(!dir.join("shards/shard-none.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_workflow_runs_a_matrix_of_shards_and_a_merge_that_fails_with_the_sweep() {
    let docs = yaml(".github/workflows/sweep.yml");
    let flow = &docs[0];
    text(&flow["name"], "name");
    let inputs = &flow["on"]["workflow_dispatch"]["inputs"];
    assert_eq!(text(&inputs["scenario"]["default"], "scenario"), SCENARIO);
    assert!(text(&inputs["seeds"]["default"], "seeds").contains(".."), "a range A..B");
    let jobs = &flow["jobs"];
    let steps = |job: &str| list(&jobs[job]["steps"], &format!("{job}'s steps"));
    let runs = |job: &str| steps(job).iter().filter_map(|s| s["run"].as_str()).collect::<Vec<_>>().join("\n");
    let uses = |job: &str| steps(job).iter().filter_map(|s| s["uses"].as_str().map(str::to_string)).collect::<Vec<_>>();
    for job in ["build", "shard", "merge"] {
        assert!(text(&jobs[job]["runs-on"], "runs-on").starts_with("ubuntu"), "{job}");
    }

    let shard = &jobs["shard"];
    assert_eq!(text(&shard["needs"], "needs"), "build");
    assert_eq!(shard["strategy"]["fail-fast"].as_bool(), Some(false), "a failing shard must not cancel the rest");
    let matrix = list(&shard["strategy"]["matrix"]["shard"], "matrix.shard");
    let indices: Vec<i64> = matrix.iter().map(|i| int(i, "a shard")).collect();
    assert_eq!(indices, (0..indices.len() as i64).collect::<Vec<_>>(), "the shards are 0..n");
    assert!(indices.len() >= 2);
    assert_eq!(text(&shard["env"]["MSGSIM_SHARD"], "MSGSIM_SHARD"), "${{ matrix.shard }}/${{ strategy.job-total }}");
    assert!(runs("shard").contains("sweep \"$SCENARIO\" --seeds \"$SEEDS\" --shard auto"), "{}", runs("shard"));
    assert!(uses("shard").iter().any(|u| u.starts_with("actions/upload-artifact@")));

    let merge = &jobs["merge"];
    assert_eq!(text(&merge["needs"], "needs"), "shard");
    let downloads = steps("merge").iter().filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/download-artifact@")));
    assert!(downloads.clone().any(|s| s["with"]["pattern"].as_str() == Some("shard-*")), "the merge downloads every shard");
    let script = runs("merge");
    assert!(script.contains("msgsim merge shards --json > merged.json || status=$?"), "{script}");
    assert!(script.contains("reproduce") && script.contains("exit \"$status\""), "fails the workflow with the reproduce command");
    let downloads_into =
        |artifact: &str| downloads.clone().find(|s| [s["with"]["name"].as_str(), s["with"]["pattern"].as_str()].contains(&Some(artifact)));
    assert_eq!(downloads_into("msgsim").map(|s| &s["with"]["path"]), Some(&Yaml::String("bin".into())));
    assert_eq!(downloads_into("shard-*").map(|s| &s["with"]["merge-multiple"]), Some(&Yaml::Boolean(true)));

    // Run the shards' and the merge's shell as the runner would (bash -eo pipefail, the
    // expressions filled in, the artifacts where the downloads put them), on a sweep with a
    // failing seed: the shards succeed, the merge fails and names the command to reproduce it.
    let dir = scratch("github");
    bin_dir(&dir);
    std::fs::create_dir(dir.join("shards")).unwrap();
    let scenario = Path::new(ROOT).join(TEST_SCENARIO).to_str().unwrap().to_string();
    let runner = |script: &str, env: &[(&str, String)]| {
        let mut all = vec![("PATH", std::env::var("PATH").unwrap_or_default()), ("SCENARIO", scenario.clone())];
        all.push(("SEEDS", TEST_SEEDS.to_string()));
        all.extend(env.iter().cloned());
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script]).current_dir(&dir).env_clear();
        cmd.envs(all.iter().map(|(k, v)| (*k, v))).output().unwrap()
    };
    let n = indices.len();
    for i in 0..n {
        let script = runs("shard").replace("${{ matrix.shard }}", &i.to_string());
        let out = runner(&script, &[("MSGSIM_SHARD", format!("{i}/{n}"))]);
        assert!(out.status.success(), "shard {i}: {out:?}");
        let name = format!("shard-{i}.json");
        std::fs::rename(dir.join(&name), dir.join("shards").join(&name)).unwrap();
    }
    let summary = dir.join("summary.md");
    let out = runner(&script, &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap().to_string())]);
    let expect = whole(&dir, &scenario);
    assert_eq!(expect.status.code(), Some(1), "a seed fails: {expect:?}");
    assert_eq!(out.status.code(), Some(1), "the merge fails the workflow: {out:?}");
    assert_eq!(std::fs::read(dir.join("merged.json")).unwrap(), expect.stdout);
    let summary = std::fs::read_to_string(summary).unwrap();
    assert!(summary.contains("verdicts"), "{summary}");
    let reproduce = format!("msgsim run {scenario} --seed 11");
    if Command::new("jq").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("::error title=The sweep failed::reproduce the first failing seed with: {reproduce}")),
            "{stdout}"
        );
        assert!(summary.contains(&reproduce), "{summary}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_dockerfile_builds_the_release_binary_onto_a_slim_base_with_the_scenarios() {
    let docker = read("Dockerfile");
    let instructions: Vec<&str> = docker.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    let from: Vec<&str> = instructions.iter().filter_map(|l| l.strip_prefix("FROM ")).collect();
    assert_eq!(from.len(), 2, "two stages: {from:?}");
    let (builder, stage) = from[0].split_once(" AS ").expect("a named build stage");
    assert!(builder.starts_with("rust:"), "the official Rust image: {builder}");
    assert!(from[1].starts_with("debian:") && from[1].ends_with("-slim"), "a slim Debian: {}", from[1]);
    // Build and run on the same Debian release, so the C library the binary links is there.
    let codename = from[1].strip_prefix("debian:").and_then(|t| t.strip_suffix("-slim")).unwrap();
    assert!(builder.ends_with(&format!("-slim-{codename}")), "{builder} and {}", from[1]);
    assert!(instructions.contains(&"RUN cargo build --release --locked --bin msgsim"));
    assert!(instructions.contains(&format!("COPY --from={stage} /src/target/release/msgsim /usr/local/bin/msgsim").as_str()));
    assert!(instructions.contains(&"COPY scenarios/ /msgsim/scenarios/"));
    assert!(instructions.contains(&"ENTRYPOINT [\"msgsim\"]"));
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l == "target/"), "the build directory stays out of the context");
}

//! Sweeps split over a batch engine: `msgsim sweep --shard auto` takes the shard from the
//! environment the engine gives each worker (a Kubernetes Indexed Job, a Slurm job array, or
//! `MSGSIM_SHARD=i/n` from a GitHub Actions matrix or GNU parallel), and `msgsim merge` finds
//! the shards' files in directories and patterns and names every shard that is missing.
//!
//! The rule for `auto`: exactly the shard the engine's variables say, or exit 2 naming what
//! was found. A worker that guessed (say, ran every seed because a variable was missing) would
//! make n copies of the whole sweep that merge refuses only after all of them have run.

use super::EXIT_BAD_INPUT;
use crate::sweep::{Shard, SweepReport};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `--shard` was given: a part `i/n`, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    /// `--shard i/n`.
    Fixed(Shard),
    /// `--shard auto`: the batch engine's environment says which part.
    Auto,
}

/// `--shard`: `i/n` or `auto`.
pub fn parse_shard(s: &str) -> Result<ShardArg, String> {
    if s == "auto" {
        return Ok(ShardArg::Auto);
    }
    s.parse().map(ShardArg::Fixed).map_err(|e| format!("{e}; or auto, to take it from the batch engine's environment"))
}

/// The variables `--shard auto` reads; it looks at nothing else in the environment.
pub const VARIABLES: [&str; 8] = [
    "MSGSIM_SHARD",
    "JOB_COMPLETION_INDEX",
    "MSGSIM_SHARD_COUNT",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
];

/// The shard a sweep runs: as given, from this process's environment for `auto`, or none.
/// An `auto` the environment cannot answer is reported here (exit 2) before anything runs.
pub fn resolve(arg: Option<ShardArg>) -> Result<Option<Shard>, ExitCode> {
    match arg {
        None => Ok(None),
        Some(ShardArg::Fixed(shard)) => Ok(Some(shard)),
        Some(ShardArg::Auto) => {
            let env = VARIABLES
                .iter()
                .filter_map(|&name| std::env::var_os(name).map(|value| (name.to_string(), value.to_string_lossy().into_owned())))
                .collect();
            from_env(&env).map(Some).map_err(|e| {
                super::say!("--shard auto: {e}");
                ExitCode::from(EXIT_BAD_INPUT)
            })
        }
    }
}

/// The shard the batch engine's variables in `env` (name to value) describe:
///
/// - `MSGSIM_SHARD=i/n`, set by the job itself: a GitHub Actions matrix
///   (`${{ matrix.shard }}/${{ strategy.job-total }}`) or GNU parallel (`MSGSIM_SHARD={}/n`);
/// - a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (set by Kubernetes) and
///   `MSGSIM_SHARD_COUNT` (set in the Job's `env` to its `completions`: a pod is not told it);
/// - a Slurm job array: shard `(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP`
///   of `SLURM_ARRAY_TASK_COUNT`, so `--array=1-8` and `--array=0-14:2` work as `--array=0-7`
///   does; an array with gaps (`--array=1,2,5`) is refused, as its tasks would not cover the seeds.
///
/// Several engines at once must agree. Anything missing, malformed or contradictory is an
/// error naming the variables found.
pub fn from_env(env: &BTreeMap<String, String>) -> Result<Shard, String> {
    let get = |name: &str| env.get(name).map(String::as_str);
    let mut found: Vec<(String, Shard)> = Vec::new();

    if let Some(value) = get("MSGSIM_SHARD") {
        let shard = value
            .parse::<Shard>()
            .map_err(|_| format!("MSGSIM_SHARD={value:?} is not a shard: write i/n with 0 <= i < n, e.g. 0/4 for the first of four"))?;
        found.push((format!("MSGSIM_SHARD={value}"), shard));
    }

    match (get("JOB_COMPLETION_INDEX"), get("MSGSIM_SHARD_COUNT")) {
        (Some(index), Some(count)) => {
            let shard = part(("JOB_COMPLETION_INDEX", index), ("MSGSIM_SHARD_COUNT", count))?;
            found.push((format!("Kubernetes' JOB_COMPLETION_INDEX={index} with MSGSIM_SHARD_COUNT={count}"), shard));
        }
        (Some(index), None) => {
            return Err(format!(
                "JOB_COMPLETION_INDEX={index} (a Kubernetes Indexed Job) is set but MSGSIM_SHARD_COUNT is not: \
                 set it in the Job's env to the Job's completions"
            ));
        }
        (None, Some(count)) => {
            return Err(format!(
                "MSGSIM_SHARD_COUNT={count} is set but JOB_COMPLETION_INDEX is not: \
                 MSGSIM_SHARD_COUNT is the count of a Kubernetes Indexed Job (completionMode: Indexed)"
            ));
        }
        (None, None) => {}
    }

    if let Some(shard) = slurm(&get)? {
        found.push(shard);
    }

    let Some((what, shard)) = found.first() else {
        return Err("no batch engine's variables are set: looked for MSGSIM_SHARD=i/n (GitHub Actions, GNU parallel), \
             JOB_COMPLETION_INDEX with MSGSIM_SHARD_COUNT (a Kubernetes Indexed Job) and SLURM_ARRAY_TASK_ID with \
             SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN (a Slurm job array); give --shard i/n to choose the shard yourself"
            .to_string());
    };
    if let Some((other, theirs)) = found.iter().find(|(_, s)| s != shard) {
        return Err(format!("two batch engines disagree: {what} makes this shard {shard}, but {other} makes it {theirs}"));
    }
    Ok(*shard)
}

/// Slurm's shard, if this is a task of a job array.
fn slurm<'e>(get: &impl Fn(&str) -> Option<&'e str>) -> Result<Option<(String, Shard)>, String> {
    let Some(id_text) = get("SLURM_ARRAY_TASK_ID") else {
        if let Some(name) = ["SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP"]
            .into_iter()
            .find(|&name| get(name).is_some())
        {
            return Err(format!("{name}={} is set but SLURM_ARRAY_TASK_ID is not", get(name).unwrap_or_default()));
        }
        return Ok(None);
    };
    let required =
        |name: &str| get(name).ok_or_else(|| format!("SLURM_ARRAY_TASK_ID={id_text} (a Slurm job array) is set but {name} is not"));
    let (count_text, min_text) = (required("SLURM_ARRAY_TASK_COUNT")?, required("SLURM_ARRAY_TASK_MIN")?);
    let id = number("SLURM_ARRAY_TASK_ID", id_text)?;
    let min = number("SLURM_ARRAY_TASK_MIN", min_text)?;
    let step = get("SLURM_ARRAY_TASK_STEP").map(|s| number("SLURM_ARRAY_TASK_STEP", s)).transpose()?.unwrap_or(1);
    let found = format!(
        "SLURM_ARRAY_TASK_ID={id_text}, SLURM_ARRAY_TASK_MIN={min_text}, SLURM_ARRAY_TASK_COUNT={count_text}{}{}",
        get("SLURM_ARRAY_TASK_MAX").map_or(String::new(), |m| format!(", SLURM_ARRAY_TASK_MAX={m}")),
        get("SLURM_ARRAY_TASK_STEP").map_or(String::new(), |s| format!(", SLURM_ARRAY_TASK_STEP={s}")),
    );
    if step == 0 {
        return Err(format!("{found}: a step of 0 is not an array"));
    }
    if id < min || (id - min) % step != 0 {
        return Err(format!("{found}: the task is not one of the array's"));
    }
    // An evenly spaced array ends at min + (count - 1) * step; one with gaps does not.
    let count = number("SLURM_ARRAY_TASK_COUNT", count_text)?;
    if let (Some(max_text), Some(span)) = (get("SLURM_ARRAY_TASK_MAX"), count.checked_sub(1)) {
        let max = number("SLURM_ARRAY_TASK_MAX", max_text)?;
        if span.checked_mul(step).and_then(|span| span.checked_add(min)) != Some(max) {
            return Err(format!(
                "{found}: the array's tasks are not evenly spaced, so they would not cover every seed: \
                 submit it as a range, --array=0-{span}"
            ));
        }
    }
    let shard = part(("the task's place in the array", &((id - min) / step).to_string()), ("SLURM_ARRAY_TASK_COUNT", count_text))
        .map_err(|e| format!("{found}: {e}"))?;
    Ok(Some((format!("Slurm's {found}"), shard)))
}

/// Shard `index` of `count`, each a variable's (name, value).
fn part((index_name, index_text): (&str, &str), (count_name, count_text): (&str, &str)) -> Result<Shard, String> {
    let (index, count) = (number(index_name, index_text)?, number(count_name, count_text)?);
    if count == 0 {
        return Err(format!("{count_name}=0: there must be at least one shard"));
    }
    if index >= count {
        return Err(format!("{index_name} is {index_text}, not below {count_name}={count_text}"));
    }
    Ok(Shard { index, count })
}

/// A variable's value as a whole number: decimal digits only.
fn number(name: &str, text: &str) -> Result<u64, String> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten().ok_or_else(|| format!("{name}={text:?} is not a whole number"))
}

/// The files `msgsim merge` was given, in order: a file as it is; a directory, every `.json`
/// file directly in it; a pattern (quoted, so no shell expands it) whose last part holds `*`
/// (any characters) or `?` (any one), the files it matches. What a directory or a pattern
/// yields comes sorted by name, so the same files merge the same way on every machine.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let found = list(arg, |name| name.ends_with(".json"))?;
            if found.is_empty() {
                return Err(format!("{}: the directory holds no .json file", arg.display()));
            }
            files.extend(found.into_iter().map(|name| arg.join(name)));
        } else if !arg.exists() && is_pattern(arg.as_os_str()) {
            let pattern = arg.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // `shard-*.json` names its files as a shell would, without `./`.
            let parent = arg.parent().unwrap_or(Path::new(""));
            if is_pattern(parent.as_os_str()) || !is_pattern(pattern.as_ref()) {
                return Err(format!("{}: only the file name of a pattern may hold * or ?", arg.display()));
            }
            let dir = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
            // Like a shell, a pattern matches a hidden file only if it starts with a dot itself.
            let found = list(dir, |name| matches(&pattern, name) && (pattern.starts_with('.') || !name.starts_with('.')))?;
            if found.is_empty() {
                return Err(format!("{}: no file matches", arg.display()));
            }
            files.extend(found.into_iter().map(|name| parent.join(name)));
        } else {
            files.push(arg.clone());
        }
    }
    Ok(files)
}

/// Whether `s` holds a wildcard, `*` or `?`.
fn is_pattern(s: &std::ffi::OsStr) -> bool {
    s.to_string_lossy().contains(['*', '?'])
}

/// The names of the files (not directories) directly in `dir` that `keep` accepts, sorted.
fn list(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<OsString>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<OsString> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let is_file = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file());
        if is_file && keep(&entry.file_name().to_string_lossy()) {
            names.push(entry.file_name());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether `name` matches `pattern`, where `*` stands for any characters and `?` for one.
fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Greedy with one backtrack point, the last `*`: linear in practice, never exponential.
    let (mut i, mut j, mut star) = (0, 0, None);
    while j < n.len() {
        match p.get(i) {
            Some('*') => {
                star = Some((i, j));
                i += 1;
            }
            Some(&c) if c == '?' || c == n[j] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((si, sj)) => {
                    star = Some((si, sj + 1));
                    i = si + 1;
                    j = sj + 1;
                }
                None => return false,
            },
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// Before merging: each shard of the split given once, naming the files that hold the same
/// shard, and every missing shard by index, with the command that runs them. Parts of
/// different sweeps or splits pass through to `SweepReport::merge`, which refuses them.
pub fn check_complete(files: &[PathBuf], parts: &[SweepReport]) -> Result<(), String> {
    let Some(first) = parts.first() else { return Ok(()) };
    let whole = Shard { index: 0, count: 1 };
    let count = first.shard.unwrap_or(whole).count;
    let same_split = |p: &SweepReport| {
        (&p.scenario, &p.seeds_swept, p.check_determinism, p.shard.unwrap_or(whole).count)
            == (&first.scenario, &first.seeds_swept, first.check_determinism, count)
    };
    if !parts.iter().all(same_split) {
        return Ok(());
    }
    let mut holder: BTreeMap<u64, &Path> = BTreeMap::new();
    for (file, part) in files.iter().zip(parts) {
        let shard = part.shard.unwrap_or(whole);
        if let Some(earlier) = holder.insert(shard.index, file) {
            return Err(format!("shard {shard} is given twice: {} and {}", earlier.display(), file.display()));
        }
    }
    // At most `parts.len()` shards are present, so listing the missing ones stops early enough
    // for any count a file may claim: the ranges between the present ones.
    let mut missing: Vec<(u64, u64)> = Vec::new();
    let mut next = 0;
    for &index in holder.keys().chain(std::iter::once(&count)) {
        if index > next {
            missing.push((next, index - 1));
        }
        // The last index is the count itself, which a file may claim to be u64::MAX.
        next = index.saturating_add(1);
    }
    let Some(&(a, _)) = missing.first() else { return Ok(()) };
    let mut rerun = first.clone();
    let absent: u64 = missing.iter().map(|(a, b)| b - a + 1).sum();
    if absent == 1 {
        rerun.shard = Some(Shard { index: a, count });
        return Err(format!("shard {a}/{count} is missing; run it with: {} --json", rerun.command()));
    }
    let list: Vec<String> = missing.iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    rerun.shard = Some(Shard { index: a, count });
    let example = rerun.command();
    Err(format!(
        "{absent} of {count} shards are missing: {} (of 0-{}); run each as the first is run: {example} --json",
        list.join(", "),
        count - 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn shard(index: u64, count: u64) -> Result<Shard, String> {
        Ok(Shard { index, count })
    }

    /// The error for `vars`, which must name every fragment of `expect`.
    fn refused(vars: &[(&str, &str)], expect: &[&str]) {
        let e = from_env(&env(vars)).expect_err(&format!("{vars:?} must be refused"));
        for fragment in expect {
            assert!(e.contains(fragment), "{vars:?}: `{e}` does not say `{fragment}`");
        }
    }

    #[test]
    fn the_argument_is_a_part_or_auto() {
        assert_eq!(parse_shard("auto"), Ok(ShardArg::Auto));
        assert_eq!(parse_shard("2/5"), Ok(ShardArg::Fixed(Shard { index: 2, count: 5 })));
        for bad in ["Auto", "", "5/5", "auto/4"] {
            assert!(parse_shard(bad).unwrap_err().contains("or auto"), "{bad}");
        }
    }

    #[test]
    fn github_actions_and_gnu_parallel_set_msgsim_shard() {
        // GitHub Actions sets GITHUB_ACTIONS, GNU parallel PARALLEL_SEQ: neither matters.
        assert_eq!(from_env(&env(&[("MSGSIM_SHARD", "3/8"), ("GITHUB_ACTIONS", "true")])), shard(3, 8));
        assert_eq!(from_env(&env(&[("MSGSIM_SHARD", "0/1"), ("PARALLEL_SEQ", "1")])), shard(0, 1));
        refused(&[("MSGSIM_SHARD", "8/8")], &["MSGSIM_SHARD=\"8/8\"", "0 <= i < n"]);
        refused(&[("MSGSIM_SHARD", "3")], &["MSGSIM_SHARD=\"3\""]);
        refused(&[("MSGSIM_SHARD", "")], &["MSGSIM_SHARD=\"\""]);
        refused(&[("MSGSIM_SHARD", "a/b")], &["not a shard"]);
    }

    #[test]
    fn a_kubernetes_indexed_job_gives_the_index_and_the_job_the_count() {
        assert_eq!(from_env(&env(&[("JOB_COMPLETION_INDEX", "0"), ("MSGSIM_SHARD_COUNT", "4")])), shard(0, 4));
        assert_eq!(from_env(&env(&[("JOB_COMPLETION_INDEX", "3"), ("MSGSIM_SHARD_COUNT", "4")])), shard(3, 4));
        refused(&[("JOB_COMPLETION_INDEX", "2")], &["JOB_COMPLETION_INDEX=2", "MSGSIM_SHARD_COUNT is not", "completions"]);
        refused(&[("MSGSIM_SHARD_COUNT", "4")], &["MSGSIM_SHARD_COUNT=4", "JOB_COMPLETION_INDEX is not"]);
        refused(&[("JOB_COMPLETION_INDEX", "4"), ("MSGSIM_SHARD_COUNT", "4")], &["JOB_COMPLETION_INDEX is 4", "MSGSIM_SHARD_COUNT=4"]);
        refused(&[("JOB_COMPLETION_INDEX", "0"), ("MSGSIM_SHARD_COUNT", "0")], &["MSGSIM_SHARD_COUNT=0", "at least one"]);
        refused(&[("JOB_COMPLETION_INDEX", "-1"), ("MSGSIM_SHARD_COUNT", "4")], &["JOB_COMPLETION_INDEX=\"-1\"", "whole number"]);
        refused(&[("JOB_COMPLETION_INDEX", "1"), ("MSGSIM_SHARD_COUNT", " 4")], &["MSGSIM_SHARD_COUNT=\" 4\""]);
        refused(&[("JOB_COMPLETION_INDEX", "1"), ("MSGSIM_SHARD_COUNT", "99999999999999999999")], &["whole number"]);
    }

    #[test]
    fn a_slurm_array_counts_from_its_first_task_by_its_step() {
        let array = |id: &str, min: &str, max: &str, count: &str, step: Option<&str>| {
            let mut vars = vec![
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", min),
                ("SLURM_ARRAY_TASK_MAX", max),
                ("SLURM_ARRAY_TASK_COUNT", count),
                ("SLURM_ARRAY_JOB_ID", "4711"),
            ];
            vars.extend(step.map(|s| ("SLURM_ARRAY_TASK_STEP", s)));
            from_env(&env(&vars))
        };
        // --array=0-3
        assert_eq!(array("0", "0", "3", "4", Some("1")), shard(0, 4));
        assert_eq!(array("3", "0", "3", "4", Some("1")), shard(3, 4));
        // --array=1-4: the first task is shard 0; Slurm versions without the step variable too.
        assert_eq!(array("1", "1", "4", "4", Some("1")), shard(0, 4));
        assert_eq!(array("4", "1", "4", "4", None), shard(3, 4));
        // --array=10-16:3 runs 10, 13, 16.
        assert_eq!(array("13", "10", "16", "3", Some("3")), shard(1, 3));
        // Without the maximum (older Slurm), the count still bounds the index.
        let vars = [("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "2")];
        assert_eq!(from_env(&env(&vars)), shard(0, 2));
    }

    #[test]
    fn a_slurm_array_that_does_not_cover_the_seeds_is_refused() {
        let vars = |id, min, max, count, step| {
            vec![
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", min),
                ("SLURM_ARRAY_TASK_MAX", max),
                ("SLURM_ARRAY_TASK_COUNT", count),
                ("SLURM_ARRAY_TASK_STEP", step),
            ]
        };
        // --array=1,2,5: three tasks, but not a range.
        refused(&vars("2", "1", "5", "3", "1"), &["SLURM_ARRAY_TASK_MAX=5", "not evenly spaced", "--array=0-2"]);
        refused(&vars("0", "1", "4", "4", "1"), &["SLURM_ARRAY_TASK_ID=0", "not one of the array's"]);
        refused(&vars("11", "10", "16", "3", "3"), &["not one of the array's"]);
        refused(&vars("9", "1", "4", "4", "1"), &["place in the array is 8", "SLURM_ARRAY_TASK_COUNT=4"]);
        refused(&vars("1", "1", "1", "1", "0"), &["step of 0"]);
        refused(&vars("1", "1", "1", "0", "1"), &["SLURM_ARRAY_TASK_COUNT=0"]);
        refused(&vars("x", "1", "4", "4", "1"), &["SLURM_ARRAY_TASK_ID=\"x\""]);
        refused(&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "0")], &["SLURM_ARRAY_TASK_COUNT is not"]);
        refused(&[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "4")], &["SLURM_ARRAY_TASK_MIN is not"]);
        refused(&[("SLURM_ARRAY_TASK_COUNT", "4")], &["SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_ID is not"]);
        let huge = u64::MAX.to_string();
        refused(&vars(&huge, "0", "1", &huge, &huge), &["not evenly spaced"]);
    }

    #[test]
    fn engines_that_agree_are_fine_and_engines_that_disagree_are_named() {
        let k8s = [("JOB_COMPLETION_INDEX", "1"), ("MSGSIM_SHARD_COUNT", "4")];
        assert_eq!(from_env(&env(&[k8s[0], k8s[1], ("MSGSIM_SHARD", "1/4")])), shard(1, 4));
        refused(&[k8s[0], k8s[1], ("MSGSIM_SHARD", "2/4")], &["disagree", "MSGSIM_SHARD=2/4", "JOB_COMPLETION_INDEX=1", "2/4", "1/4"]);
        let slurm = [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "3")];
        refused(&[k8s[0], k8s[1], slurm[0], slurm[1], slurm[2]], &["disagree", "Kubernetes", "Slurm", "1/4", "0/3"]);
    }

    #[test]
    fn no_variable_is_an_error_never_the_whole_sweep() {
        refused(&[], &["no batch engine", "MSGSIM_SHARD", "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "--shard i/n"]);
        // A Slurm job that is not an array, or a plain Kubernetes Job, says nothing about shards.
        refused(&[("SLURM_JOB_ID", "12"), ("KUBERNETES_SERVICE_HOST", "10.0.0.1")], &["no batch engine"]);
    }

    #[test]
    fn a_merge_names_the_missing_shards_as_ranges_whatever_count_the_files_claim() {
        let scenario = crate::Scenario::parse(r#"Scenario(name: "x", horizon_ms: 1, nodes: 2, protocol: BestEffort())"#, "x.ron").unwrap();
        let part = |index, count| crate::sweep::Sweep::new(&scenario).file("x.ron").seeds(0..10).shard(Shard { index, count }).run();
        let files: Vec<PathBuf> = ["a.json", "b.json"].map(PathBuf::from).into();
        assert_eq!(check_complete(&files, &[part(1, 2), part(0, 2)]), Ok(()));
        let e = check_complete(&files, &[part(1, 3), part(1, 3)]).unwrap_err();
        assert_eq!(e, "shard 1/3 is given twice: a.json and b.json");
        // Postmortem: the gap after the last present shard was found by adding 1 to the count,
        // which overflowed (a panic) for a file claiming u64::MAX shards; it saturates now.
        let huge = u64::MAX;
        let e = check_complete(&files, &[part(0, huge), part(5, huge)]).unwrap_err();
        let expect = format!("{} of {huge} shards are missing: 1-4, 6-{} (of 0-{});", huge - 2, huge - 1, huge - 1);
        assert!(e.starts_with(&expect) && e.ends_with(&format!("--shard 1/{huge} --json")), "{e}");
        // Parts of different sweeps are for SweepReport::merge to refuse.
        let mut other = part(0, 2);
        other.seeds_swept = "0..11".to_string();
        assert_eq!(check_complete(&files, &[part(1, 2), other]), Ok(()));
    }

    #[test]
    fn patterns_match_as_a_shell_would() {
        assert!(matches("shard-*.json", "shard-12.json"));
        assert!(matches("shard-?.json", "shard-1.json"));
        assert!(!matches("shard-?.json", "shard-12.json"));
        assert!(matches("*", "anything"));
        assert!(matches("*.json", ".json"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(!matches("shard-*.json", "shard-1.jsonl"));
        assert!(matches("**?", "x"));
        assert!(!matches("?", ""));
    }

    #[test]
    fn directories_and_patterns_expand_sorted_and_files_stay_as_given() {
        let dir = std::env::temp_dir().join(format!("msgsim-expand-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub.json")).unwrap();
        for name in ["s-10.json", "s-2.json", "s-1.json", "notes.txt", ".hidden.json", "s-3.jsonl"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let names = |files: Vec<PathBuf>| files.iter().map(|f| f.strip_prefix(&dir).unwrap().display().to_string()).collect::<Vec<_>>();
        // A directory: its .json files (a hidden one too: it was written there), not the subdirectory.
        assert_eq!(names(expand(std::slice::from_ref(&dir)).unwrap()), [".hidden.json", "s-1.json", "s-10.json", "s-2.json"]);
        assert_eq!(names(expand(&[dir.join("s-*.json")]).unwrap()), ["s-1.json", "s-10.json", "s-2.json"]);
        assert_eq!(names(expand(&[dir.join("s-?.json*")]).unwrap()), ["s-1.json", "s-2.json", "s-3.jsonl"]);
        // Files keep their order; a missing file is left for reading to report.
        let given = [dir.join("s-2.json"), dir.join("gone.json"), dir.join("s-1.json")];
        assert_eq!(expand(&given).unwrap(), given);
        assert!(expand(&[dir.join("x-*.json")]).unwrap_err().contains("no file matches"));
        assert!(expand(&[dir.join("*").join("s-1.json")]).unwrap_err().contains("only the file name"));
        let empty = dir.join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(expand(&[empty]).unwrap_err().contains("no .json file"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

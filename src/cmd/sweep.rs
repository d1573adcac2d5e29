//! `msgsim sweep`: run a scenario with a range of seeds in parallel and summarise.

use super::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_INTERNAL, emit, load_source, say};
use crate::report::printable;
use crate::sweep::{SeedError, SeedRange, Sweep, SweepReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

/// What `msgsim sweep` was asked to do.
pub struct Args<'a> {
    pub path: &'a Path,
    pub seeds: SeedRange,
    pub jobs: Option<usize>,
    pub json: bool,
    pub check_determinism: bool,
    pub shard: Option<super::shards::ShardArg>,
}

/// `--jobs`: a thread count of at least 1.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("a sweep needs at least one thread".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a number of threads: expected a whole number of at least 1")),
    }
}

pub fn sweep(args: Args<'_>) -> ExitCode {
    let shard = match super::shards::resolve(args.shard) {
        Ok(shard) => shard,
        Err(code) => return code,
    };
    let (scenario, src) = match load_source(args.path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let shown = args.path.display().to_string();
    let mut sweep = Sweep::new(&scenario).file(&shown).seeds(args.seeds.start..args.seeds.end).check_determinism(args.check_determinism);
    if let Some(shard) = shard {
        sweep = sweep.shard(shard);
    }
    if let Some(jobs) = args.jobs {
        sweep = sweep.jobs(jobs);
        if sweep.threads() < jobs {
            say!(
                "msgsim sweep: --jobs {jobs}: running on {} threads (at most {}, and no more than the {} seeds to run)",
                sweep.threads(),
                crate::sweep::MAX_JOBS,
                sweep.seed_count()
            );
        }
    }
    // A bar only for a person watching: piped or captured stderr stays exactly the summary's.
    let bar = std::io::stderr().is_terminal().then(|| {
        let style =
            ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {elapsed} elapsed, about {eta} left").expect("a valid template");
        ProgressBar::new(sweep.seed_count()).with_style(style)
    });
    let tick = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    let report = sweep.progress(&tick).run();
    if let Some(bar) = bar {
        bar.finish_and_clear();
        say!("{} seeds in {:.1?}", report.runs, bar.elapsed());
    }
    print_and_exit(&report, args.json, Some((args.path, &src)))
}

/// Print a sweep's summary (text, or JSON) and give its exit code: 3 if any seed hit an
/// error of protocol code or the simulator (a panic, two runs that differ); else 2 if a seed's
/// run did not fit the scenario's `schedule` (said at the step when `source`, the scenario's
/// path and text, is known); else 1 if any failed a check it was not expected to fail or an
/// expected failure happened on no seed, else 0.
pub fn print_and_exit(report: &SweepReport, json: bool, source: Option<(&Path, &str)>) -> ExitCode {
    if json {
        emit(
            format!("{}\n", crate::report::inert_json(serde_json::to_string_pretty(report).expect("a sweep report always serialises")))
                .as_bytes(),
        );
    } else {
        emit(crate::report::inert_lines(&report.text()).as_bytes());
    }
    if report.seeds.iter().any(|s| matches!(s.error, Some(SeedError::Panic { .. } | SeedError::Nondeterministic { .. }))) {
        return ExitCode::from(EXIT_INTERNAL);
    }
    let bad_step = report.seeds.iter().find_map(|s| match &s.error {
        Some(SeedError::BadSchedule { step, message, .. }) => Some((s.seed, *step, message)),
        _ => None,
    });
    if let Some((seed, step, message)) = bad_step {
        // A step counted from 1 that does not fit a usize is not in any schedule that parsed.
        let index = usize::try_from(step.saturating_sub(1)).unwrap_or(usize::MAX);
        match source {
            Some((path, src)) => say!("{}", super::schedule_step_not_enabled(path, src, seed, index, message)),
            None => say!(
                "{}: with seed {seed}, {}\nreproduce  {}",
                printable(&report.scenario),
                printable(message),
                printable(&report.reproduce(seed))
            ),
        }
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if report.errors > 0 {
        return ExitCode::from(EXIT_INTERNAL);
    }
    if let Some(f) = &report.first_failure {
        if !json {
            say!("{} of {} seeds failed; reproduce the first with: {}", report.failed, report.runs, printable(&f.reproduce));
        }
        return ExitCode::from(EXIT_CHECK_FAILED);
    }
    if let Some(missed) = report.missed_expectations().next() {
        if !json {
            say!(
                "{} was expected to fail on some seed and failed on none: what the scenario plants went uncaught",
                printable(&missed.check)
            );
        }
        return ExitCode::from(EXIT_CHECK_FAILED);
    }
    ExitCode::SUCCESS
}

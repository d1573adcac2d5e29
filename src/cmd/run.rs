//! `msgsim run`: run one scenario with one seed and report.

use super::trace::Failed;
use super::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_READER_GONE, Output, emit, load_source, reader_gone, say};
use crate::RunOptions;
use crate::check::Outcome;
use crate::export::{ExportError, Selection, TraceFormat};
use crate::report::{Report, reproduce_command_for};
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path, seed: Option<u64>, json: bool, trace_path: Option<&Path>) -> ExitCode {
    let (scenario, src) = match load_source(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Prepare the trace file before running, so a bad path never costs a run.
    let trace_file = match trace_path.map(|o| Output::prepare(o, path)).transpose() {
        Ok(f) => f,
        Err(e) => {
            say!("{}: cannot write the trace: {e}", trace_path.expect("set when preparing failed").display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let seed = seed.unwrap_or(scenario.seed);
    let shown = path.display().to_string();
    let result = match trace_file {
        None => crate::run(&scenario, seed, &RunOptions::default()),
        Some(file) => {
            // The trace is written as the run makes it, and kept nowhere: into a temporary file
            // that replaces the named one only when it is whole.
            let format = match trace_path.and_then(Path::extension).is_some_and(|e| e == "jsonl") {
                true => TraceFormat::JsonLines,
                false => TraceFormat::Text,
            };
            let shown_file = file.shown().to_string();
            let mut ran = None;
            let written = file.write_with(|out| {
                super::trace::run_into(out, &scenario, seed, format, &Selection::default(), super::trace::DEFAULT_MAX_OUTPUT_MB, &mut ran)
            });
            match written {
                Ok(()) => Ok(ran.expect("a written trace was run").0),
                Err(Failed::Stopped(panic)) => Err(panic),
                Err(Failed::Export(ExportError::Io(e))) if reader_gone(&e) => return ExitCode::from(EXIT_READER_GONE),
                Err(Failed::Export(e)) if super::trace::capped(&e).is_some() => {
                    say!(
                        "{shown_file}: {e}: write it with `msgsim trace --format text -o FILE`, which shows less of it \
                         (--from, --to, --node, --kind) or allows more (--max-output-mb); the file is left as it was"
                    );
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
                Err(Failed::Export(e)) => {
                    say!("{shown_file}: cannot write the trace: {e}");
                    return ExitCode::from(EXIT_INTERNAL);
                }
            }
        }
    };
    let result = match result {
        Ok(r) => r,
        Err(panic) => return super::run_stopped(path, &src, &panic),
    };
    warn_unused_replay(path, &src, &scenario, &result.unused_replay);
    let report = Report::new(&shown, &scenario, &result);
    if json {
        emit(
            format!("{}\n", crate::report::inert_json(serde_json::to_string_pretty(&report).expect("a report always serialises")))
                .as_bytes(),
        );
    } else {
        emit(crate::report::inert_lines(&report.text()).as_bytes());
    }
    if report.failed() {
        if !json {
            let what = match report.checks.iter().any(|c| c.verdict == Outcome::Fail && !c.expected_failure) {
                true => "a check failed",
                false => "a failure declared for every seed did not happen",
            };
            say!("{what}; reproduce with: {}", reproduce_command_for(path, seed));
        }
        return ExitCode::from(EXIT_CHECK_FAILED);
    }
    ExitCode::SUCCESS
}

/// A `replay` decision no transmission took is said, placed at the first of them: the run
/// went on without it (its message was never sent, or dropped before its link decided), so
/// a replay edited by hand, or kept after its scenario changed, does not pass for followed.
fn warn_unused_replay(path: &Path, src: &str, scenario: &crate::Scenario, unused: &[crate::id::MsgId]) {
    use crate::scenario::{Seg, locate::locate};
    // With a schedule, its steps decide every message and no replay decision is consulted:
    // the whole list is ignored, which the run's own bookkeeping cannot see.
    if let (Some(_), Some([first, ..])) = (&scenario.schedule, scenario.replay.as_deref()) {
        let (line, col) = locate(src, &[Seg::Field("replay"), Seg::Index(0)]);
        say!(
            "{}:{line}:{col}: warning: the replay is not followed (its decision for m{} and every other): with a schedule, \
             the schedule's steps decide each message",
            path.display(),
            first.msg.0
        );
        return;
    }
    let (Some(first), Some(replay)) = (unused.first(), scenario.replay.as_ref()) else { return };
    let index = replay.iter().position(|d| d.msg == *first).unwrap_or(0);
    let (line, col) = locate(src, &[Seg::Field("replay"), Seg::Index(index)]);
    let more = match unused.len() {
        1 => String::new(),
        n => format!(" ({} more: {})", n - 1, unused[1..].iter().take(8).map(|m| format!("m{}", m.0)).collect::<Vec<_>>().join(", ")),
    };
    say!(
        "{}:{line}:{col}: warning: the replay decision for m{} was never taken{more}: the run made no such transmission, or dropped it before its link decided",
        path.display(),
        first.0
    );
}

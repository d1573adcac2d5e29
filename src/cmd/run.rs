//! `msgsim run`: run one scenario with one seed and report.

use super::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_READER_GONE, Output, emit, load_source, reader_gone, say};
use crate::RunOptions;
use crate::export::{ExportError, Selection, TraceFormat, TraceView, write_trace};
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
    let options = RunOptions { record_trace: trace_file.is_some(), ..RunOptions::default() };
    let result = match crate::run(&scenario, seed, &options) {
        Ok(r) => r,
        Err(panic) => {
            return super::run_stopped(path, &src, &panic);
        }
    };
    if let (Some(file), Some(events)) = (trace_file, &result.trace) {
        let format = match trace_path.and_then(Path::extension).is_some_and(|e| e == "jsonl") {
            true => TraceFormat::JsonLines,
            false => TraceFormat::Text,
        };
        let view =
            TraceView { events, cluster: &scenario.cluster, name: &scenario.name, seed, end: result.end.at, verdicts: &result.verdicts };
        let shown_file = file.shown().to_string();
        match file.write_with(|out| write_trace(out, &view, &Selection::default(), format)) {
            Ok(()) => {}
            Err(ExportError::Io(e)) if reader_gone(&e) => return ExitCode::from(EXIT_READER_GONE),
            Err(e) => {
                say!("{shown_file}: cannot write the trace: {e}");
                return ExitCode::from(EXIT_INTERNAL);
            }
        }
    }
    let report = Report::new(&shown, &scenario, &result);
    if json {
        emit(format!("{}\n", serde_json::to_string_pretty(&report).expect("a report always serialises")).as_bytes());
    } else {
        emit(report.text().as_bytes());
    }
    if report.failed() {
        if !json {
            say!("a check failed; reproduce with: {}", reproduce_command_for(path, seed));
        }
        return ExitCode::from(EXIT_CHECK_FAILED);
    }
    ExitCode::SUCCESS
}

//! `msgsim shrink`: reduce a failing seed to a smaller run that fails the same check.

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_READER_GONE, Output, emit, load_source, reader_gone, say};
use crate::shrink::{RunSize, ShrinkError, shrink_with};
use std::path::Path;
use std::process::ExitCode;

pub fn shrink(path: &Path, seed: u64, check: Option<&str>, output: Option<&Path>) -> ExitCode {
    // Read once: the text is patched to keep its comments and layout, and a second read of
    // `/dev/stdin` or a FIFO would find nothing.
    let (scenario, src) = match load_source(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Check the output can be written before spending the search; nothing is written until
    // the shrunk scenario is ready.
    let file = match output.map(|o| Output::prepare(o, path)).transpose() {
        Ok(f) => f,
        Err(e) => {
            say!("{}: cannot write the shrunk scenario: {e}", output.expect("set when preparing failed").display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let shrunk = match shrink_with(super::registry(), &scenario, &src, seed, check) {
        Ok(s) => s,
        Err(ShrinkError::Internal(e)) => {
            say!("{}: internal error: {e}", path.display());
            return ExitCode::from(EXIT_INTERNAL);
        }
        // A schedule step never enabled is bad input (exit 2), a panic the run's failure (exit
        // 3): said as `run` says them, with the same codes.
        Err(ShrinkError::BadSchedule(stop) | ShrinkError::Panicked(stop)) => return super::run_stopped(path, &src, &stop),
        Err(ShrinkError::Input(e)) => {
            say!("{}: {e}", path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let row = |what: &str, f: fn(&RunSize) -> String| say!("  {what:<18} {:>12} -> {}", f(&shrunk.before), f(&shrunk.after));
    say!("shrunk seed {seed} of {} keeping {} failing ({} runs):", path.display(), shrunk.check, shrunk.runs);
    row("horizon", |s| crate::time::SimTime(s.horizon_ns).to_string());
    row("faults", |s| s.faults.to_string());
    row("workload messages", |s| s.workload_messages.to_string());
    row("losses", |s| s.lost.to_string());
    row("duplicates", |s| s.duplicated.to_string());
    row("corruptions", |s| s.corrupted.to_string());
    row("events", |s| s.events.to_string());
    match (file, output) {
        (Some(f), Some(out)) => match f.write_with(|w| w.write_all(shrunk.source.as_bytes())) {
            Ok(()) => say!("reproduce: msgsim run {}", crate::report::shell_path(out)),
            Err(e) if reader_gone(&e) => return ExitCode::from(EXIT_READER_GONE),
            Err(e) => {
                say!("{}: cannot write the shrunk scenario: {e}", out.display());
                return ExitCode::from(EXIT_INTERNAL);
            }
        },
        _ => emit(shrunk.source.as_bytes()),
    }
    ExitCode::SUCCESS
}

//! `msgsim shrink`: reduce a failing seed to a smaller run that fails the same check.

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, emit, load};
use crate::shrink::{RunSize, shrink_with};
use std::path::Path;
use std::process::ExitCode;

pub fn shrink(path: &Path, seed: u64, check: Option<&str>, output: Option<&Path>) -> ExitCode {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // The file loaded, so it reads; the text is patched to keep its comments and layout.
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: cannot read the scenario: {e}", path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    // Check the output can be written before spending the search.
    let file = match output.map(std::fs::File::create).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: cannot write the shrunk scenario: {e}", output.expect("set when opening failed").display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let shrunk = match shrink_with(super::registry(), &scenario, &src, seed, check) {
        Ok(s) => s,
        Err(e) if e.starts_with("internal error") => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(EXIT_INTERNAL);
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let row = |what: &str, f: fn(&RunSize) -> String| eprintln!("  {what:<18} {:>12} -> {}", f(&shrunk.before), f(&shrunk.after));
    eprintln!("shrunk seed {seed} of {} keeping {} failing ({} runs):", path.display(), shrunk.check, shrunk.runs);
    row("horizon", |s| crate::time::SimTime(s.horizon_ns).to_string());
    row("faults", |s| s.faults.to_string());
    row("workload messages", |s| s.workload_messages.to_string());
    row("losses", |s| s.lost.to_string());
    row("duplicates", |s| s.duplicated.to_string());
    row("corruptions", |s| s.corrupted.to_string());
    row("events", |s| s.events.to_string());
    match (file, output) {
        (Some(mut f), Some(out)) => {
            if let Err(e) = std::io::Write::write_all(&mut f, shrunk.source.as_bytes()) {
                eprintln!("{}: cannot write the shrunk scenario: {e}", out.display());
                return ExitCode::from(EXIT_INTERNAL);
            }
            eprintln!("reproduce: msgsim run {}", out.display());
        }
        _ => emit(shrunk.source.as_bytes()),
    }
    ExitCode::SUCCESS
}

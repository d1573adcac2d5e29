//! One module per `msgsim` subcommand, and what they share: loading a scenario and the exit codes.

pub mod check;
pub mod merge;
pub mod run;
pub mod shrink;
pub mod sweep;
pub mod trace;

use msgsim::Scenario;
use std::path::Path;
use std::process::ExitCode;

/// Exit codes: the interface scripts and CI rely on.
pub const EXIT_CHECK_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_INTERNAL: u8 = 3;

/// Load and validate a scenario, printing every error (exit code 2) if it is invalid.
pub fn load(path: &Path) -> Result<Scenario, ExitCode> {
    Scenario::load(path).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

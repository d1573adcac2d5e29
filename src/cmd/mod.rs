//! One module per `msgsim` subcommand, and what they share: loading a scenario, writing to
//! standard output, and the exit codes.

pub mod check;
pub mod explore;
pub mod merge;
pub mod run;
pub mod shards;
pub mod shrink;
pub mod sweep;
pub mod trace;

use crate::{Registry, Scenario};
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

/// Exit codes: the interface scripts and CI rely on.
pub const EXIT_CHECK_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_INTERNAL: u8 = 3;
/// Standard output's reader went away before everything was written (`msgsim run ... | head -1`):
/// 128 + SIGPIPE, the status a shell shows for a command that a closed pipe stopped.
pub const EXIT_READER_GONE: u8 = 141;

/// Write `bytes` to standard output, all of them, flushed. Every subcommand writes its
/// output through here (`main.rs` denies `print!`): `print!` panics when the reader has gone.
/// A reader that has gone (a closed pipe) wants nothing more, so the process ends at once and
/// quietly, with `EXIT_READER_GONE`, as a command killed by SIGPIPE would; any other failure
/// (a full disk) is reported and ends it with `EXIT_INTERNAL`.
pub fn emit(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(EXIT_READER_GONE.into()),
        Err(e) => {
            eprintln!("msgsim: cannot write to standard output: {e}");
            std::process::exit(EXIT_INTERNAL.into());
        }
    }
}

/// The registry this process's command line reads scenarios with, set once by `cli::main_with`.
static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// Use `registry` for every scenario this process loads (the first call wins).
pub fn set_registry(registry: Registry) {
    let _ = REGISTRY.set(registry);
}

/// The registry this process reads scenarios with.
pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(Registry::builtin)
}

/// Load and validate a scenario, printing every error (exit code 2) if it is invalid.
pub fn load(path: &Path) -> Result<Scenario, ExitCode> {
    registry().load(path).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

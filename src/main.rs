//! The `msgsim` binary: the command line over the bundled protocols and checks.

use std::sync::atomic::{AtomicBool, Ordering};

fn main() -> std::process::ExitCode {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        msgsim::cli::stdout_was_closed();
    }
    msgsim::cli::main_with(msgsim::Registry::builtin())
}

/// Whether the process started with its standard output closed (`msgsim run X >&-`). Rust's
/// runtime opens `/dev/null` in a closed standard descriptor before `main`, so every write
/// would then vanish with exit 0; only a look before the runtime starts can tell.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Runs before the runtime's start (a constructor, as the C library runs them), while a closed
/// descriptor 1 is still closed. Linux names each open descriptor in `/proc/self/fd`; where
/// that directory cannot be read nothing is concluded, so a missing `/proc` never makes
/// every output fail.
#[cfg(target_os = "linux")]
extern "C" fn note_closed_stdout() {
    let absent = |path: &str| matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    if std::fs::metadata("/proc/self/fd").is_ok_and(|m| m.is_dir()) && absent("/proc/self/fd/1") {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

// SAFETY: a constructor in `.init_array` is called once by the C library before `main`, with
// the standard arguments a function taking none may ignore; it only reads file metadata.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static NOTE_CLOSED_STDOUT: extern "C" fn() = note_closed_stdout;

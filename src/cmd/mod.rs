//! One module per `msgsim` subcommand, and what they share: reading a scenario once, writing to
//! standard output and standard error, writing an output file whole or not at all, and the exit
//! codes.

pub mod check;
pub mod explore;
pub mod merge;
pub mod run;
pub mod shards;
pub mod shrink;
pub mod sweep;
mod temp;
pub mod trace;

use crate::{Registry, Scenario};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit codes: the interface scripts and CI rely on.
pub const EXIT_CHECK_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_INTERNAL: u8 = 3;
/// Standard output's reader went away before everything was written (`msgsim run ... | head -1`):
/// 128 + SIGPIPE, the status a shell shows for a command that a closed pipe stopped.
pub const EXIT_READER_GONE: u8 = 141;

/// Set when the process started with standard output closed (see `stdout_was_closed`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// See `cli::stdout_was_closed`.
pub(crate) fn stdout_was_closed() {
    STDOUT_CLOSED.store(true, Ordering::Relaxed);
}

/// The error a write to a closed standard output gets, if it was closed at the start.
pub(crate) fn stdout_closed() -> Option<std::io::Error> {
    // EBADF: what the write would have met had the runtime left the descriptor closed.
    STDOUT_CLOSED.load(Ordering::Relaxed).then(|| std::io::Error::from_raw_os_error(9))
}

/// Write `bytes` to standard output, all of them, flushed. Every subcommand writes its
/// output through here (`main.rs` denies `print!`): `print!` panics when the reader has gone.
/// A reader that has gone (a closed pipe) wants nothing more, so the process ends at once and
/// quietly, with `EXIT_READER_GONE`, as a command killed by SIGPIPE would; any other failure
/// (a full disk, standard output closed at the start) is reported and ends it with
/// `EXIT_INTERNAL`.
pub fn emit(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let written = match stdout_closed() {
        Some(closed) if !bytes.is_empty() => Err(closed),
        _ => out.write_all(bytes).and_then(|()| out.flush()),
    };
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(EXIT_READER_GONE.into()),
        Err(e) => {
            say!("msgsim: cannot write to standard output: {e}");
            std::process::exit(EXIT_INTERNAL.into());
        }
    }
}

/// Write `text` to standard error. `eprint!` panics when standard error cannot be written
/// (`2>/dev/full`, a closed pipe); a message nobody can read is no reason to change the
/// command's outcome, so it is dropped and the exit code stays the command's. What it quotes
/// (paths, arguments) reaches the terminal inert: see [`crate::report::inert_lines`].
pub fn to_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(crate::report::inert_lines(text).as_bytes());
}

/// `eprintln!` that never panics: every message to standard error goes through here
/// (`lib.rs` denies `eprint!` in this module and `cli`).
macro_rules! say {
    ($($arg:tt)*) => { $crate::cmd::to_stderr(&format!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use say;

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

/// Read a scenario file once (capped, as `scenario::read_source` reads) and validate it,
/// printing every error (exit code 2) if it is invalid. Returns the text too, for commands
/// that rewrite it (`shrink`): reading twice gets nothing the second time from `/dev/stdin`
/// or a FIFO.
pub fn load_source(path: &Path) -> Result<(Scenario, String), ExitCode> {
    let parsed = crate::scenario::read_source(path)
        .and_then(|src| registry().parse(&src, &path.display().to_string()).map(|scenario| (scenario, src)));
    parsed.map_err(|errors| {
        say!("{errors}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// Report a run that stopped before its end: a `schedule` step that was not enabled in its
/// turn is the input's fault (exit 2, placed at the step, with the steps enabled instead and the
/// command that shows it); any other stop is a panic in protocol code (exit 3).
pub fn run_stopped(path: &Path, src: &str, panic: &crate::sim::ProtocolPanic) -> ExitCode {
    let Some(step) = panic.bad_step else {
        to_stderr(&crate::report::panic_text(&path.display().to_string(), panic));
        return ExitCode::from(EXIT_INTERNAL);
    };
    say!("{}", schedule_step_not_enabled(path, src, panic.seed, step, &panic.message));
    ExitCode::from(EXIT_BAD_INPUT)
}

/// The error for a `schedule` step (`step`, from 0) not enabled in its turn with `seed`, placed
/// at the step in `src` (the file's text), with the command that shows it. `run`, `trace`,
/// `sweep` and `shrink` all say it this way.
pub fn schedule_step_not_enabled(path: &Path, src: &str, seed: u64, step: usize, message: &str) -> String {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    use crate::scenario::Seg;
    let (line, col) = crate::scenario::locate::locate(src, &[Seg::Field("schedule"), Seg::Index(step)]);
    let error = crate::scenario::ScenarioError {
        file: path.display().to_string(),
        line,
        col,
        message: format!("with seed {seed}, {message}"),
        // The message already says what was enabled instead (`run_schedule` lists it).
        expected: None,
    };
    format!("{error}\nreproduce  {}", crate::report::reproduce_command_for(path, seed))
}

/// Load and validate a scenario, printing every error (exit code 2) if it is invalid.
pub fn load(path: &Path) -> Result<Scenario, ExitCode> {
    load_source(path).map(|(scenario, _)| scenario)
}

/// An output file the user named, written whole or not at all. Every command that writes a
/// file (`trace -o`, `run --trace`, `shrink -o`) goes through here.
///
/// A regular file (or a path that does not exist yet) is written to a temporary file in the
/// same directory, which `write_with` renames over it: until then the named file is untouched, and
/// a refusal, a panic or a full disk leaves it as it was. A symbolic link is followed, so the
/// link stays and its target is replaced. Anything else (a device, a FIFO, `/dev/stdout`)
/// cannot be replaced: it is opened for writing only when the output is ready (never
/// truncated before), written in place, and never removed. A FIFO with no reader waits for one
/// at that first write, as every Unix writer does (`cat > fifo`): its reader is often started
/// after the command (`msgsim trace X -o fifo & reader fifo`), which an open that refused to wait
/// would fail at random; a reader that leaves early ends the command with `EXIT_READER_GONE`.
pub struct Output {
    /// The path as the user named it, for messages.
    shown: PathBuf,
    target: Target,
}

enum Target {
    /// Written to `temp`, then renamed to `dest`; the temporary file goes with the `Output`.
    Replace { dest: PathBuf, temp: Option<temp::Temp> },
    /// Written in place when committed.
    InPlace(PathBuf),
}

impl Output {
    /// Prepare to write `path`, checking now that it can be written (so a bad path never
    /// costs a run) and that it is not `input`, the scenario the output is made from (by any
    /// name: a link, `./`, a hard link). Nothing the user named is changed yet.
    pub fn prepare(path: &Path, input: &Path) -> std::io::Result<Output> {
        if same_file(path, input) {
            return Err(std::io::Error::new(
                ErrorKind::InvalidInput,
                "it is the scenario being read, which the output would replace (name another file)",
            ));
        }
        let shown = path.to_path_buf();
        // A symbolic link's target is what gets replaced (created, if the link dangles).
        let resolved = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).or_else(|_| {
                let target = std::fs::read_link(path)?;
                Ok::<_, std::io::Error>(path.parent().map_or_else(|| target.clone(), |dir| dir.join(&target)))
            })?,
            _ => path.to_path_buf(),
        };
        let target = match std::fs::metadata(&resolved) {
            Ok(m) if m.is_dir() => return Err(std::io::Error::new(ErrorKind::IsADirectory, "it is a directory")),
            Ok(m) if !m.is_file() => Target::InPlace(resolved),
            // A regular file can be replaced only if it may be written: the rename would not ask.
            Ok(m) if m.permissions().readonly() => return Err(std::io::Error::new(ErrorKind::PermissionDenied, "it is read-only")),
            existing => {
                let temp = temp::Temp::next_to(&resolved)?;
                // The replacement keeps the replaced file's permissions.
                if let Ok(m) = existing {
                    temp.file.set_permissions(m.permissions())?;
                }
                Target::Replace { dest: resolved, temp: Some(temp) }
            }
        };
        Ok(Output { shown, target })
    }

    /// The path as the user named it.
    pub fn shown(&self) -> std::path::Display<'_> {
        self.shown.display()
    }

    /// Write the whole output with `render` and put it in place; if `render` fails, nothing
    /// the user named has changed (a device or FIFO is opened only now, so the same holds
    /// unless `render` fails after writing to it).
    pub fn write_with<E: From<std::io::Error>>(mut self, render: impl FnOnce(&mut dyn Write) -> Result<(), E>) -> Result<(), E> {
        // Standard output by name, closed at the start: the runtime's `/dev/null` is there.
        if let (Target::InPlace(_), true, Some(closed)) = (&self.target, names_stdout(&self.shown), stdout_closed()) {
            return Err(closed.into());
        }
        match &mut self.target {
            Target::InPlace(path) => {
                // Opened at the first byte: a refusal before it never waits for a FIFO's reader.
                let mut out = std::io::BufWriter::new(OpenAtFirstWrite { path, file: None });
                render(&mut out)?;
                out.flush()?;
                Ok(())
            }
            Target::Replace { dest, temp } => {
                let t = temp.take().expect("written once");
                let mut out = std::io::BufWriter::new(&t.file);
                render(&mut out)?;
                out.flush()?;
                drop(out);
                t.file.sync_all()?;
                Ok(t.persist(dest)?)
            }
        }
    }
}

/// Whether `path` is standard output by one of its names (`-o /dev/stdout`).
fn names_stdout(path: &Path) -> bool {
    matches!(path.to_str(), Some("/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1"))
}

/// Whether `a` and `b` name the same regular file. Devices and FIFOs are left out: `/dev/stdin`
/// and `/dev/stdout` may be one terminal, and neither is replaced.
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else { return false };
    if !ma.is_file() || !mb.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (ma.dev(), ma.ino()) == (mb.dev(), mb.ino())
    }
    #[cfg(not(unix))]
    {
        matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    }
}

/// A device or FIFO, opened for writing when the first bytes come: opening a FIFO waits for
/// its reader, which a command that refuses its output must not do.
struct OpenAtFirstWrite<'a> {
    path: &'a Path,
    file: Option<std::fs::File>,
}

impl Write for OpenAtFirstWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.file.is_none() {
            self.file = Some(std::fs::OpenOptions::new().write(true).open(self.path)?);
        }
        self.file.as_mut().expect("opened").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

/// Whether a failed write means the reader went away (`-o /dev/stdout | head`): such a
/// command ends quietly with `EXIT_READER_GONE`, as for standard output.
pub fn reader_gone(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::BrokenPipe
}

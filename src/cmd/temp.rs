//! An output's temporary file beside it, and that none outlives its command: removed when the
//! output is refused, when the command is interrupted (SIGINT, SIGTERM, SIGHUP), and, after a
//! SIGKILL, by the next command that writes the same path.
//!
//! A temporary file is named `.{output}.msgsim-{pid}-{n}.tmp`, so a leftover says whose it was.
//! Every live one is listed in `LIVE`; the first one created starts a thread that waits for the
//! catchable termination signals, removes the listed files and then dies of the signal as the
//! default action would (the shell sees 128 + the signal, and a loop of commands stops at
//! Ctrl-C). Creating, renaming and removing a listed file happen under `LIVE`'s lock, so the
//! thread never removes a file that has just become the output, and no file is created unlisted.
//! A SIGKILL cannot be caught: the next `Temp` next to the same output removes the leftovers of
//! processes that no longer run (Linux tells by `/proc/{pid}`; where it cannot tell, nothing is
//! removed).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

/// The temporary files of this process not yet renamed into place nor removed.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the lock was held leaves the list as it was: still right to use.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A temporary file next to an output, removed on drop unless persisted.
pub struct Temp {
    /// Where it is; empty once it has been put in place.
    path: PathBuf,
    /// The file, open for writing.
    pub file: File,
}

impl Temp {
    /// A new empty file next to `dest`, named after it so a leftover is recognisable, after
    /// removing what dead processes left there for `dest`.
    pub fn next_to(dest: &Path) -> std::io::Result<Temp> {
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let stem = dest.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        remove_leftovers(dir, &stem);
        on_termination_remove_live();
        let mut last = None;
        for attempt in 0..100u32 {
            let path = dir.join(name(&stem, std::process::id(), attempt));
            let mut live = live();
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    live.push(path.clone());
                    return Ok(Temp { path, file });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
    }

    /// Put the file in `dest`'s place, in one step.
    pub fn persist(mut self, dest: &Path) -> std::io::Result<()> {
        let mut live = live();
        std::fs::rename(&self.path, dest)?;
        live.retain(|p| p != &self.path);
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let mut live = live();
            let _ = std::fs::remove_file(&self.path);
            live.retain(|p| p != &self.path);
        }
    }
}

/// The temporary file `pid` makes at its `attempt`-th try for the output named `stem`.
fn name(stem: &str, pid: u32, attempt: u32) -> String {
    format!(".{stem}.msgsim-{pid}-{attempt}.tmp")
}

/// The process that made `file_name`, if it is a temporary file for the output named `stem`.
fn owner(file_name: &str, stem: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?.strip_prefix(stem)?.strip_prefix(".msgsim-")?.strip_suffix(".tmp")?;
    let (pid, attempt) = rest.split_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    // Only names this module makes: no sign, no leading zeros, nothing else.
    (name(stem, pid, attempt.parse().ok()?) == file_name).then_some(pid)
}

/// Whether process `pid` runs, if that can be told: `None` where it cannot.
fn running(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

/// Remove the temporary files for the output `stem` in `dir` whose processes no longer run:
/// what a SIGKILL (or a power cut) left. A process that still runs may be writing its own.
fn remove_leftovers(dir: &Path, stem: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| owner(n, stem)) else { continue };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid != std::process::id() && running(pid) == Some(false) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Start, once, the thread that removes the live temporary files when a termination signal
/// comes and then lets the signal end the process. Where the signals cannot be watched, a
/// signal leaves the file, for the next write to remove.
fn on_termination_remove_live() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            // A signal the command was started ignoring (`nohup` ignores SIGHUP, a shell's
            // background job SIGINT) stays ignored: the files are left to the next write.
            let watched: Vec<i32> = [SIGINT, SIGTERM, SIGHUP].into_iter().filter(|&s| !ignored(s)).collect();
            let Ok(mut signals) = signal_hook::iterator::Signals::new(&watched) else { return };
            let watcher = std::thread::Builder::new().name("msgsim-signals".into()).spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // Held until the process ends: no file is renamed or created after this.
                    let live = live();
                    for path in live.iter() {
                        let _ = std::fs::remove_file(path);
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                    std::process::exit(128 + signal);
                }
            });
            // Without the thread nothing would act on the signals (the dropped `Signals` leaves
            // its handler in place, doing nothing): give them back their default action.
            if watcher.is_err() {
                let always = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
                for &signal in &watched {
                    let _ = signal_hook::flag::register_conditional_default(signal, std::sync::Arc::clone(&always));
                }
            }
        }
    });
}

/// Whether `signal` is ignored (`SIG_IGN`), as it may be from the start.
#[cfg(unix)]
fn ignored(signal: i32) -> bool {
    // SAFETY: `sigaction` with no new action only reads the current one into `current`, a
    // zeroed `sigaction` (a plain C struct, valid when zeroed) owned by this frame.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0 && current.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leftover_is_told_by_its_exact_name() {
        assert_eq!(owner(".t.svg.msgsim-123-0.tmp", "t.svg"), Some(123));
        assert_eq!(owner(".t.svg.msgsim-123-99.tmp", "t.svg"), Some(123));
        for other in [
            ".t.svg.msgsim-123-0.tmp~",
            "t.svg.msgsim-123-0.tmp",
            ".u.svg.msgsim-123-0.tmp",
            ".t.svg.msgsim-0123-0.tmp",
            ".t.svg.msgsim--1-0.tmp",
            ".t.svg.msgsim-1.tmp",
        ] {
            assert_eq!(owner(other, "t.svg"), None, "{other}");
        }
    }
}

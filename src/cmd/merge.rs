//! `msgsim merge`: combine the `--json` outputs of a sharded sweep into the summary of the whole.

use super::sweep::print_and_exit;
use super::{EXIT_BAD_INPUT, say};
use crate::report::printable;
use crate::sweep::SweepReport;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The most a shard file may hold: about a million seeds' reports. A larger sweep is split
/// into more shards; a path like `/dev/zero` is refused after this much, not read forever.
const MAX_SHARD_BYTES: u64 = 256 << 20;

/// Read and parse one shard; an error is placed as a scenario's are, `file:line:col: message
/// (expected ...)`.
fn read_shard(file: &Path) -> Result<SweepReport, String> {
    let shown = file.display();
    let mut text = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_SHARD_BYTES + 1).read_to_end(&mut text))
        .map_err(|e| format!("{shown}:1:1: cannot read the shard: {e}"))?;
    if text.len() as u64 > MAX_SHARD_BYTES {
        return Err(format!(
            "{shown}:1:1: larger than a shard may be (expected at most {MAX_SHARD_BYTES} bytes): split the sweep into more shards"
        ));
    }
    // A byte-order mark, as some editors write one, is no reason to refuse a shard (nor a scenario).
    let json = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&text);
    serde_json::from_slice::<SweepReport>(json).map_err(|e| {
        // serde_json ends its message with the place, which goes first here.
        let message = e.to_string();
        let place = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&place).unwrap_or(&message);
        format!("{shown}:{}:{}: {message} (expected the --json output of msgsim sweep)", e.line().max(1), e.column().max(1))
    })
}

/// Every message that may quote a shard (a name, a serde error's unknown variant, a path) is
/// printed through `printable`: no escape sequence from a file reaches the terminal.
pub fn merge(files: &[PathBuf], json: bool) -> ExitCode {
    let files = match super::shards::expand(files) {
        Ok(files) => files,
        Err(e) => {
            say!("{}", printable(&e));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut parts = Vec::new();
    for file in &files {
        match read_shard(file) {
            Ok(p) => parts.push(p),
            Err(e) => {
                say!("{}", printable(&e));
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    if let Err(e) = super::shards::check_complete(&files, &parts) {
        say!("cannot merge: {}", printable(&e));
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    match SweepReport::merge(parts) {
        Ok(report) => print_and_exit(&report, json, None),
        Err(e) => {
            say!("cannot merge: {}", printable(&e));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

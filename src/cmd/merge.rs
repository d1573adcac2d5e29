//! `msgsim merge`: combine the `--json` outputs of a sharded sweep into the summary of the whole.

use super::{EXIT_BAD_INPUT, say};
use super::sweep::print_and_exit;
use msgsim::sweep::SweepReport;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn merge(files: &[PathBuf], json: bool) -> ExitCode {
    let mut parts = Vec::new();
    for file in files {
        let part = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<SweepReport>(&text).map_err(|e| format!("not the --json output of msgsim sweep: {e}")));
        match part {
            Ok(p) => parts.push(p),
            Err(e) => {
                say!("{}: {e}", file.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    match SweepReport::merge(parts) {
        Ok(report) => print_and_exit(&report, json),
        Err(e) => {
            say!("cannot merge: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

//! `msgsim merge`: combine the `--json` outputs of a sharded sweep into the summary of the whole.

use super::EXIT_BAD_INPUT;
use super::sweep::print_and_exit;
use crate::sweep::SweepReport;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn merge(files: &[PathBuf], json: bool) -> ExitCode {
    let files = match super::shards::expand(files) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut parts = Vec::new();
    for file in &files {
        let part = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<SweepReport>(&text).map_err(|e| format!("not the --json output of msgsim sweep: {e}")));
        match part {
            Ok(p) => parts.push(p),
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    if let Err(e) = super::shards::check_complete(&files, &parts) {
        eprintln!("cannot merge: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    match SweepReport::merge(parts) {
        Ok(report) => print_and_exit(&report, json),
        Err(e) => {
            eprintln!("cannot merge: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

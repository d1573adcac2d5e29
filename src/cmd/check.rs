//! `msgsim check`: validate a scenario without running it.

use super::{emit, load};
use std::path::Path;
use std::process::ExitCode;

pub fn check(path: &Path) -> ExitCode {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let topology = match scenario.topology.link_count() {
        None => "full mesh".to_string(),
        Some(links) => {
            let connected = if scenario.topology.strongly_connected(scenario.node_count()) {
                "connected"
            } else {
                "NOT connected: some nodes cannot reach others"
            };
            format!("{links} directed links, {connected}")
        }
    };
    let line = format!(
        "{}: ok: \"{}\", {} nodes, protocol {}, {} workload generators, {} faults, {} checks, topology {topology}\n",
        path.display(),
        scenario.name,
        scenario.node_count(),
        scenario.protocol.name(),
        scenario.workload.len(),
        scenario.faults.len(),
        scenario.checks.len()
    );
    emit(crate::report::inert_lines(&line).as_bytes());
    ExitCode::SUCCESS
}

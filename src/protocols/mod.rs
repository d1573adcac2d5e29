//! The protocol library, and the one place that maps a scenario's protocol name to a type.

pub mod best_effort;

use crate::scenario::Scenario;
use crate::scenario::file::ProtocolFile;
use crate::sim::{ProtocolPanic, RunOptions, RunResult, run_catching};

/// A protocol and its parameters, as a scenario asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolSpec {
    BestEffort { checksum: bool, dedup: bool },
}

impl ProtocolSpec {
    pub fn from_file(file: &ProtocolFile) -> ProtocolSpec {
        match *file {
            ProtocolFile::BestEffort { checksum, dedup } => ProtocolSpec::BestEffort { checksum, dedup },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ProtocolSpec::BestEffort { .. } => "BestEffort",
        }
    }
}

/// Run `scenario` with `seed` under the protocol it names.
pub fn run(scenario: &Scenario, seed: u64, options: &RunOptions) -> Result<RunResult, ProtocolPanic> {
    match scenario.protocol {
        ProtocolSpec::BestEffort { checksum, dedup } => {
            run_catching(scenario, seed, options, move |_| best_effort::BestEffort::new(checksum, dedup))
        }
    }
}

//! The protocol library, and the one place that maps a scenario's protocol name to a type.

pub mod best_effort;
pub mod gossip;
pub mod pingpong;

use crate::scenario::Scenario;
use crate::scenario::file::ProtocolFile;
use crate::sim::{ProtocolPanic, RunOptions, RunResult, run_catching};

/// A protocol and its parameters, as a scenario asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolSpec {
    BestEffort { checksum: bool, dedup: bool },
    PingPong { round_trips: u64 },
    Gossip { fanout: u32 },
}

impl ProtocolSpec {
    pub fn from_file(file: &ProtocolFile) -> ProtocolSpec {
        match *file {
            ProtocolFile::BestEffort { checksum, dedup } => ProtocolSpec::BestEffort { checksum, dedup },
            ProtocolFile::PingPong { round_trips } => ProtocolSpec::PingPong { round_trips: round_trips.0 },
            // Validation bounds the fanout by the node count.
            ProtocolFile::Gossip { fanout } => ProtocolSpec::Gossip { fanout: fanout.0 as u32 },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ProtocolSpec::BestEffort { .. } => "BestEffort",
            ProtocolSpec::PingPong { .. } => "PingPong",
            ProtocolSpec::Gossip { .. } => "Gossip",
        }
    }
}

/// Run `scenario` with `seed` under the protocol it names.
pub fn run(scenario: &Scenario, seed: u64, options: &RunOptions) -> Result<RunResult, ProtocolPanic> {
    match scenario.protocol {
        ProtocolSpec::BestEffort { checksum, dedup } => {
            run_catching(scenario, seed, options, move |_| best_effort::BestEffort::new(checksum, dedup))
        }
        ProtocolSpec::PingPong { round_trips } => run_catching(scenario, seed, options, move |_| pingpong::PingPong::new(round_trips)),
        ProtocolSpec::Gossip { fanout } => run_catching(scenario, seed, options, move |_| gossip::Gossip::new(fanout)),
    }
}

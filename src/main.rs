//! The `msgsim` command line: run and check scenarios.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod cmd;

#[derive(Parser)]
#[command(name = "msgsim", version, about = "A deterministic simulator for message-passing distributed systems")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario and print a summary (exit 0: every check passed or was
    /// inconclusive; 1: a check failed; 2: invalid input; 3: internal error).
    Run {
        scenario: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Print one JSON object instead of the text summary.
        #[arg(long)]
        json: bool,
        /// Write the whole trace to this file: JSON lines if it ends in `.jsonl`, text otherwise.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Validate a scenario without running it.
    Check { scenario: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Run { scenario, seed, json, trace } => cmd::run::run(&scenario, seed, json, trace.as_deref()),
        Cmd::Check { scenario } => cmd::check::check(&scenario),
    }
}

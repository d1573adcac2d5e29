//! The `msgsim` command line: parses the arguments and hands each subcommand to its module in `cmd/`.

// Standard output goes through `cmd::emit`, which ends quietly when the reader has gone.
#![deny(clippy::print_stdout)]

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
    /// Run a scenario and print a summary (exit 0: every check passed, was
    /// inconclusive or failed as the scenario expects; 1: a check failed; 2: invalid input;
    /// 3: internal error).
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
    /// Run a scenario and write its trace, or part of it: text, JSON lines, an SVG
    /// space-time diagram, Chrome trace JSON (Perfetto), a ShiViz log or a Mermaid diagram.
    Trace {
        scenario: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// text, jsonl, svg, chrome, shiviz or mermaid.
        #[arg(long, value_parser = cmd::trace::parse_format)]
        format: msgsim::export::TraceFormat,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Show nothing before this time (milliseconds).
        #[arg(long, value_name = "MS", value_parser = cmd::trace::parse_ms)]
        from: Option<msgsim::time::SimTime>,
        /// Show nothing after this time (milliseconds).
        #[arg(long, value_name = "MS", value_parser = cmd::trace::parse_ms)]
        to: Option<msgsim::time::SimTime>,
        /// Show only what concerns this node (repeat or separate with commas for several).
        #[arg(long = "node", value_name = "NAME", value_delimiter = ',')]
        nodes: Vec<String>,
        /// Show only events of this kind, a word of the text form: cmd, send, recv, drop, dup, ...
        #[arg(long = "kind", value_name = "KIND", value_delimiter = ',', value_parser = cmd::trace::parse_kind)]
        kinds: Vec<msgsim::export::Kind>,
    },
    /// Run a scenario with many seeds in parallel and summarise (exit 0: no seed failed a
    /// check it should pass, and each expected failure happened; 1: otherwise; 2: invalid
    /// input; 3: a seed hit an error).
    Sweep {
        scenario: PathBuf,
        /// The seeds, `A..B` with B excluded.
        #[arg(long, value_name = "A..B")]
        seeds: msgsim::sweep::SeedRange,
        /// Threads to run seeds on (default: one per core). The output does not depend on it.
        #[arg(long, value_name = "N", value_parser = cmd::sweep::parse_jobs)]
        jobs: Option<usize>,
        /// Print one JSON object instead of the text summary.
        #[arg(long)]
        json: bool,
        /// Run every seed twice and report where any two runs diverge.
        #[arg(long)]
        check_determinism: bool,
        /// Run only the seeds s with (s - A) % n == i, for `msgsim merge` to combine.
        #[arg(long, value_name = "i/n")]
        shard: Option<msgsim::sweep::Shard>,
    },
    /// Combine the `--json` outputs of a sharded sweep into the summary of the whole.
    Merge {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print one JSON object instead of the text summary.
        #[arg(long)]
        json: bool,
    },
    /// Shrink a failing seed to a smaller run that fails the same check, written as a
    /// scenario that replays it without the network's random draws.
    Shrink {
        scenario: PathBuf,
        #[arg(long)]
        seed: u64,
        /// The check to keep failing (default: the first that fails).
        #[arg(long)]
        check: Option<String>,
        /// Write the shrunk scenario here (default: standard output).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Run { scenario, seed, json, trace } => cmd::run::run(&scenario, seed, json, trace.as_deref()),
        Cmd::Check { scenario } => cmd::check::check(&scenario),
        Cmd::Trace { scenario, seed, format, output, from, to, nodes, kinds } => cmd::trace::trace(cmd::trace::Args {
            path: &scenario,
            seed,
            format,
            output: output.as_deref(),
            from,
            to,
            nodes: &nodes,
            kinds: &kinds,
        }),
        Cmd::Sweep { scenario, seeds, jobs, json, check_determinism, shard } => {
            cmd::sweep::sweep(cmd::sweep::Args { path: &scenario, seeds, jobs, json, check_determinism, shard })
        }
        Cmd::Merge { files, json } => cmd::merge::merge(&files, json),
        Cmd::Shrink { scenario, seed, check, output } => cmd::shrink::shrink(&scenario, seed, check.as_deref(), output.as_deref()),
    }
}

//! The `msgsim` command line: run and check scenarios.

use clap::{Parser, Subcommand};
use msgsim::export::{TraceFormat, write_trace};
use msgsim::report::{Report, panic_text, reproduce_command};
use msgsim::{RunOptions, Scenario, protocols};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes: the interface scripts and CI rely on.
const EXIT_CHECK_FAILED: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;
const EXIT_INTERNAL: u8 = 3;

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
        Cmd::Run { scenario, seed, json, trace } => run(&scenario, seed, json, trace.as_deref()),
        Cmd::Check { scenario } => check(&scenario),
    }
}

fn load(path: &Path) -> Result<Scenario, ExitCode> {
    Scenario::load(path).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

fn check(path: &Path) -> ExitCode {
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
    println!(
        "{}: ok: \"{}\", {} nodes, protocol {}, {} workload generators, {} faults, {} checks, topology {topology}",
        path.display(),
        scenario.name,
        scenario.node_count(),
        scenario.protocol.name(),
        scenario.workload.len(),
        scenario.faults.len(),
        scenario.checks.len()
    );
    ExitCode::SUCCESS
}

fn run(path: &Path, seed: Option<u64>, json: bool, trace_path: Option<&Path>) -> ExitCode {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Open the trace file before running, so a bad path never costs a run.
    let trace_file = match trace_path.map(std::fs::File::create).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: cannot write the trace: {e}", trace_path.expect("set when opening failed").display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let seed = seed.unwrap_or(scenario.seed);
    let shown = path.display().to_string();
    let options = RunOptions { record_trace: trace_file.is_some() };
    let result = match protocols::run(&scenario, seed, &options) {
        Ok(r) => r,
        Err(panic) => {
            eprint!("{}", panic_text(&shown, &panic));
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    if let (Some(file), Some(events)) = (trace_file, &result.trace) {
        let format = match trace_path.and_then(Path::extension).is_some_and(|e| e == "jsonl") {
            true => TraceFormat::JsonLines,
            false => TraceFormat::Text,
        };
        if let Err(e) = write_trace(&mut std::io::BufWriter::new(file), events, &scenario.cluster, format) {
            eprintln!("{}: cannot write the trace: {e}", trace_path.expect("a trace file was opened").display());
            return ExitCode::from(EXIT_INTERNAL);
        }
    }
    let report = Report::new(&shown, &scenario, &result);
    if json {
        println!("{}", serde_json::to_string_pretty(&report).expect("a report always serialises"));
    } else {
        print!("{}", report.text());
    }
    if report.failed() {
        if !json {
            eprintln!("a check failed; reproduce with: {}", reproduce_command(&shown, seed));
        }
        return ExitCode::from(EXIT_CHECK_FAILED);
    }
    ExitCode::SUCCESS
}

//! The `msgsim` command line, for the bundled registry or a user's: parses the arguments and
//! hands each subcommand to its module in `cmd/`.
//!
//! A user's crate gets its own `msgsim`-like binary with every subcommand by registering its
//! protocols and checks and calling [`main_with`]:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     let registry = msgsim::Registry::builtin(); // .with_protocol::<MyProtocol>() ...
//!     msgsim::cli::main_with(registry)
//! }
//! ```

use crate::Registry;
use crate::cmd;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "A deterministic simulator for message-passing distributed systems")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario and print a summary (exit 0: every check passed, was
    /// inconclusive or failed as the scenario expects; 1: a check failed, or one declared to
    /// fail on every seed did not; 2: invalid input; 3: internal error).
    Run {
        scenario: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long, allow_hyphen_values = true, value_parser = seed)]
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
    /// space-time diagram, Chrome trace JSON (Perfetto), a ShiViz log, a Mermaid diagram or an
    /// interactive HTML viewer.
    Trace {
        scenario: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long, allow_hyphen_values = true, value_parser = seed)]
        seed: Option<u64>,
        /// text, jsonl, svg, chrome, shiviz, mermaid or html.
        #[arg(long, value_parser = cmd::trace::parse_format)]
        format: crate::export::TraceFormat,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Show nothing before this time (milliseconds).
        #[arg(long, value_name = "MS", allow_hyphen_values = true, value_parser = cmd::trace::parse_ms)]
        from: Option<crate::time::SimTime>,
        /// Show nothing after this time (milliseconds).
        #[arg(long, value_name = "MS", allow_hyphen_values = true, value_parser = cmd::trace::parse_ms)]
        to: Option<crate::time::SimTime>,
        /// Show only what concerns this node (repeat or separate with commas for several).
        #[arg(long = "node", value_name = "NAME", value_delimiter = ',')]
        nodes: Vec<String>,
        /// Show only events of this kind, a word of the text form: cmd, send, recv, drop, dup, ...
        #[arg(long = "kind", value_name = "KIND", value_delimiter = ',', value_parser = cmd::trace::parse_kind)]
        kinds: Vec<crate::export::Kind>,
        /// Refuse to write more than this many MiB of trace (exit 2; a file named with -o is
        /// left as it was).
        #[arg(long, value_name = "MIB", default_value_t = cmd::trace::DEFAULT_MAX_OUTPUT_MB, allow_hyphen_values = true, value_parser = cmd::trace::parse_max_output_mb)]
        max_output_mb: u64,
    },
    /// Run a scenario with many seeds in parallel and summarise (exit 0: no seed failed a
    /// check it should pass, and each expected failure happened; 1: otherwise; 2: invalid
    /// input; 3: a seed hit an error).
    Sweep {
        scenario: PathBuf,
        /// The seeds, `A..B` with B excluded.
        #[arg(long, value_name = "A..B", allow_hyphen_values = true)]
        seeds: crate::sweep::SeedRange,
        /// Threads to run seeds on (default: one per core). The output does not depend on it.
        /// Each run has its own `limits.max_memory_mb`: N jobs may hold N times it at once.
        #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = cmd::sweep::parse_jobs)]
        jobs: Option<usize>,
        /// Print one JSON object instead of the text summary.
        #[arg(long)]
        json: bool,
        /// Run every seed twice and report where any two runs diverge.
        #[arg(long)]
        check_determinism: bool,
        /// Run only the seeds s with (s - A) % n == i, for `msgsim merge` to combine. `auto`
        /// takes i and n from the batch engine's environment: a Kubernetes Indexed Job
        /// (JOB_COMPLETION_INDEX, MSGSIM_SHARD_COUNT), a Slurm job array (SLURM_ARRAY_TASK_*),
        /// or MSGSIM_SHARD=i/n (GitHub Actions, GNU parallel); exit 2 if it says nothing or disagrees.
        #[arg(long, value_name = "i/n|auto", value_parser = cmd::shards::parse_shard)]
        shard: Option<cmd::shards::ShardArg>,
    },
    /// Combine the `--json` outputs of a sharded sweep into the summary of the whole.
    Merge {
        /// Shard files; directories (their `.json` files); or quoted patterns such as
        /// 'out/shard-*.json' (`*`, `?` in the file name), expanded here in name order.
        #[arg(required = true, value_name = "FILE|DIR|PATTERN")]
        files: Vec<PathBuf>,
        /// Print one JSON object instead of the text summary.
        #[arg(long)]
        json: bool,
    },
    /// Run every behaviour of a small scenario within bounds (timed: each transmission
    /// delivered after a representative latency, lost, corrupted or duplicated, as its link
    /// allows; async: every order of its events), judge each with the scenario's checks, and
    /// report the violation with the fewest faults (exit 0: none; 1: a check failed in some
    /// behaviour; 2: invalid input).
    Explore {
        scenario: PathBuf,
        /// Use this seed instead of the scenario's (for what the network does not decide).
        #[arg(long, allow_hyphen_values = true, value_parser = seed)]
        seed: Option<u64>,
        /// timed: time advances as in `run` and each transmission's outcome is varied; async:
        /// no clock, any enabled event (a delivery, a timer, a command, a scripted crash or cut) may
        /// happen next, and states reached twice are explored once.
        #[arg(long, value_name = "MODEL", default_value = "timed", value_parser = ["timed", "async"])]
        model: String,
        /// Timed: transmissions whose outcome is varied, from the first. Async: steps in one path.
        #[arg(long, value_name = "N", default_value_t = 64, allow_hyphen_values = true, value_parser = positive::<usize>)]
        max_depth: usize,
        /// Losses, corruptions and duplications in one behaviour.
        #[arg(long, value_name = "K", default_value_t = 2, allow_hyphen_values = true, value_parser = faults)]
        max_faults: usize,
        /// Latencies tried per delivered transmission (1: the minimum; 2: minimum and maximum; more: points between).
        #[arg(long, value_name = "N", default_value_t = 2, allow_hyphen_values = true, value_parser = latencies)]
        latencies: u16,
        /// Stop after this many behaviours (timed) or transitions (async); the summary then says
        /// the search is incomplete.
        #[arg(long, value_name = "N", default_value_t = 1_000_000, allow_hyphen_values = true, value_parser = positive::<u64>)]
        max_runs: u64,
        /// Async: run paths on this many threads (the result is the same for any number).
        #[arg(long, value_name = "N", default_value_t = 1, allow_hyphen_values = true, value_parser = explore_jobs)]
        jobs: u16,
        /// Async: replay every path from the boot even when the protocol's processes can be
        /// copied (slower, the same result, for comparison). The replaying search, also the
        /// one for protocols that cannot be copied, counts its replays against max_events.
        #[arg(long)]
        replay: bool,
        /// Async: take every enabled step, also those that only reach, in another order, a
        /// state found another way (no partial-order reduction; the same states, verdicts and
        /// counterexample from more transitions; for comparison).
        #[arg(long)]
        no_reduction: bool,
        /// Print one JSON object instead of the text summary.
        #[arg(long)]
        json: bool,
        /// Write the counterexample (the scenario with its `replay`) here.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Shrink a failing seed to a smaller run that fails the same check, written as a
    /// scenario that replays it without the network's random draws.
    Shrink {
        scenario: PathBuf,
        #[arg(long, allow_hyphen_values = true, value_parser = seed)]
        seed: u64,
        /// The check to keep failing (default: the first that fails).
        #[arg(long)]
        check: Option<String>,
        /// Write the shrunk scenario here (default: standard output).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// A bound of at least 1 (`explore --max-runs`, `--max-depth`): a bound of 0 explores nothing,
/// and a search that looked at nothing has no answer to give, so it is refused (exit 2) rather
/// than reported as an incomplete search that found no violation.
fn positive<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("0 explores nothing (expected a whole number of at least 1)".to_string()),
        _ => whole(s, 1, u64::MAX, "a bound").and_then(|n| T::try_from(n).map_err(|_| format!("`{s}` is too large a bound here"))),
    }
}

/// `s` as a whole number from `lo` to `hi`, or the error that says so: every numeric flag
/// answers a negative, fractional, too large or garbled value with the range it takes (the
/// parser of the type said only "invalid digit found in string" or "number too large to fit
/// in target type"). Flags that take numbers accept a leading `-`, so that `--seed -1` gets
/// this answer rather than "unexpected argument '-1'".
fn whole(s: &str, lo: u64, hi: u64, what: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not {what}: expected a whole number from {lo} to {hi}")),
    }
}

/// `--seed`: any whole number a `u64` holds.
fn seed(s: &str) -> Result<u64, String> {
    whole(s, 0, u64::MAX, "a seed")
}

/// `explore --max-faults`: any count, 0 for none.
fn faults(s: &str) -> Result<usize, String> {
    whole(s, 0, usize::MAX as u64, "a number of faults").map(|n| n as usize)
}

/// `explore --latencies`: from 1 (the minimum) to 16 points of each link's range.
fn latencies(s: &str) -> Result<u16, String> {
    whole(s, 1, 16, "a number of latencies").map(|n| n as u16)
}

/// `explore --jobs` (async): from 1 to 256 threads.
fn explore_jobs(s: &str) -> Result<u16, String> {
    whole(s, 1, 256, "a number of threads").map(|n| n as u16)
}

/// Say that the process started with standard output closed (`msgsim run X >&-`), before
/// `main_with`. Rust's runtime puts `/dev/null` in a closed standard descriptor before `main`,
/// so only a look before it starts can tell (the `msgsim` binary takes one). From then on every
/// write to standard output fails as a write to a closed descriptor does (a message, exit 3),
/// rather than vanishing with exit 0. A program on `main_with` that does not call this keeps
/// the runtime's behaviour.
pub fn stdout_was_closed() {
    cmd::stdout_was_closed();
}

/// Run the command line with `registry`'s protocols and checks. Printed commands (reproduce a
/// seed, show a deadlock) name the running program, so they work for a user's binary too.
pub fn main_with(registry: Registry) -> ExitCode {
    let program = std::env::args_os()
        .next()
        .and_then(|arg0| std::path::Path::new(&arg0).file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "msgsim".to_string());
    crate::report::set_program(&program);
    cmd::set_registry(registry);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to standard output like every other output, so that a full
        // disk or a closed pipe is reported rather than exiting 0 with nothing written.
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            let styled = std::io::IsTerminal::is_terminal(&std::io::stdout());
            let text = if styled { e.render().ansi().to_string() } else { e.render().to_string() };
            cmd::emit(text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A usage error: clap's message on standard error (dropped if that cannot be
            // written) and its exit code, 2.
            let styled = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let text = if styled { e.render().ansi().to_string() } else { e.render().to_string() };
            cmd::say!("{}", text.trim_end());
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match cli.command {
        Cmd::Run { scenario, seed, json, trace } => cmd::run::run(&scenario, seed, json, trace.as_deref()),
        Cmd::Check { scenario } => cmd::check::check(&scenario),
        Cmd::Trace { scenario, seed, format, output, from, to, nodes, kinds, max_output_mb } => cmd::trace::trace(cmd::trace::Args {
            path: &scenario,
            seed,
            format,
            output: output.as_deref(),
            from,
            to,
            nodes: &nodes,
            kinds: &kinds,
            max_output_mb,
        }),
        Cmd::Sweep { scenario, seeds, jobs, json, check_determinism, shard } => {
            cmd::sweep::sweep(cmd::sweep::Args { path: &scenario, seeds, jobs, json, check_determinism, shard })
        }
        Cmd::Explore { scenario, seed, model, max_depth, max_faults, latencies, max_runs, jobs, replay, no_reduction, json, output } => {
            let bounds = crate::explore::Bounds {
                max_depth,
                max_faults,
                latencies: usize::from(latencies),
                max_runs,
                jobs: usize::from(jobs),
                replay,
                reduction: !no_reduction,
            };
            let model = if model == "async" { crate::explore::Model::Async } else { crate::explore::Model::Timed };
            cmd::explore::explore_cmd(cmd::explore::Args { path: &scenario, seed, model, bounds, json, output: output.as_deref() })
        }
        Cmd::Merge { files, json } => cmd::merge::merge(&files, json),
        Cmd::Shrink { scenario, seed, check, output } => cmd::shrink::shrink(&scenario, seed, check.as_deref(), output.as_deref()),
    }
}

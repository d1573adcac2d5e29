//! `msgsim trace`: run a scenario and write its trace, or part of it, in one of the export formats.

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_READER_GONE, Output, load_source, reader_gone, say};
use crate::RunOptions;
use crate::export::{ExportError, Kind, Selection, TraceFormat, TraceView, write_trace};
use crate::time::SimTime;
use std::path::Path;
use std::process::ExitCode;

pub struct Args<'a> {
    pub path: &'a Path,
    pub seed: Option<u64>,
    pub format: TraceFormat,
    pub output: Option<&'a Path>,
    pub from: Option<SimTime>,
    pub to: Option<SimTime>,
    pub nodes: &'a [String],
    pub kinds: &'a [Kind],
}

pub fn parse_format(s: &str) -> Result<TraceFormat, String> {
    TraceFormat::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = TraceFormat::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format `{s}`; the formats are {}", names.join(", "))
    })
}

pub fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown event kind `{s}`; the kinds are the text form's words: {}", names.join(", "))
    })
}

/// Milliseconds, whole or with up to six decimals (nanoseconds): `20`, `36.5`.
pub fn parse_ms(s: &str) -> Result<SimTime, String> {
    let bad = || format!("`{s}` is not a time in milliseconds (like 20 or 36.5)");
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) || frac.len() > 6 {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    whole.checked_mul(1_000_000).and_then(|ns| ns.checked_add(frac)).map(SimTime).ok_or_else(bad)
}

fn bad_input(message: &str) -> ExitCode {
    say!("msgsim trace: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

pub fn trace(args: Args) -> ExitCode {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            return bad_input(&format!("--from {} ms is after --to {} ms", crate::export::ms(from), crate::export::ms(to)));
        }
    }
    let (scenario, src) = match load_source(args.path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut nodes = Vec::new();
    for name in args.nodes {
        match scenario.cluster.names.iter().position(|n| n == name) {
            Some(i) => nodes.push(crate::id::NodeId(i as u32)),
            None => return bad_input(&format!("--node {name}: the scenario has no such node; {}", some_names(&scenario.cluster.names))),
        }
    }
    // Prepare the output before running, so a bad path never costs a run.
    let output = match args.output.map(|o| Output::prepare(o, args.path)).transpose() {
        Ok(f) => f,
        Err(e) => return bad_input(&format!("{}: cannot write the trace: {e}", args.output.expect("set when preparing failed").display())),
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    let options = RunOptions { record_trace: true, ..RunOptions::default() };
    let result = match crate::run(&scenario, seed, &options) {
        Ok(r) => r,
        Err(panic) => {
            return super::run_stopped(args.path, &src, &panic);
        }
    };
    let events = result.trace.as_deref().expect("the trace was recorded");
    let view = TraceView { events, cluster: &scenario.cluster, name: &scenario.name, seed, end: result.end.at, verdicts: &result.verdicts };
    let selection = Selection { from: args.from, to: args.to, nodes, kinds: args.kinds.to_vec() };
    // Every format refuses a selection before it writes anything, so the output is streamed:
    // into a temporary file the output replaces only when it is whole, or to standard output.
    let render = |out: &mut dyn std::io::Write| write_trace(out, &view, &selection, args.format);
    let written = match output {
        Some(output) => output.write_with(render),
        None => render(&mut std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match written {
        Ok(()) => {}
        Err(ExportError::Io(e)) if reader_gone(&e) => return ExitCode::from(EXIT_READER_GONE),
        Err(ExportError::Io(e)) => {
            say!("msgsim trace: cannot write the trace: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
        Err(refused @ ExportError::TooLarge { .. }) => {
            return bad_input(&format!("too large for --format {}: {refused}", args.format.name()));
        }
    }
    if let Some(path) = args.output {
        let shown = events.iter().filter(|e| selection.shows(e)).count();
        say!("{}: {}, {shown} of the run's {} events (seed {seed})", path.display(), args.format.name(), events.len());
    }
    ExitCode::SUCCESS
}

/// A few of the scenario's node names and how many there are: a 100,000-node scenario's
/// error message names a handful, not all.
fn some_names(names: &[String]) -> String {
    const SHOWN: usize = 8;
    if names.len() <= SHOWN {
        return format!("its nodes are {}", names.join(", "));
    }
    format!("it has {} nodes: {}, ..., {}", names.len(), names[..SHOWN - 1].join(", "), names[names.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_parse_exactly() {
        assert_eq!(parse_ms("20"), Ok(SimTime(20_000_000)));
        assert_eq!(parse_ms("36.5"), Ok(SimTime(36_500_000)));
        assert_eq!(parse_ms("0.000001"), Ok(SimTime(1)));
        for bad in ["", "-1", "1.", ".5", "1.0000001", "1e3", "ten", "99999999999999999999"] {
            assert!(parse_ms(bad).is_err(), "{bad}");
        }
    }
}

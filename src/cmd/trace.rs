//! `msgsim trace`: run a scenario and write its trace, or part of it, in one of the export formats.

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_READER_GONE, emit, load};
use crate::RunOptions;
use crate::export::{ExportError, Kind, Selection, TraceFormat, TraceView, write_trace};
use crate::report::panic_text;
use crate::time::SimTime;
use std::io::Write;
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
    eprintln!("msgsim trace: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

pub fn trace(args: Args) -> ExitCode {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            return bad_input(&format!("--from {} ms is after --to {} ms", crate::export::ms(from), crate::export::ms(to)));
        }
    }
    let scenario = match load(args.path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut nodes = Vec::new();
    for name in args.nodes {
        match scenario.cluster.names.iter().position(|n| n == name) {
            Some(i) => nodes.push(crate::id::NodeId(i as u32)),
            None => {
                let known = scenario.cluster.names.join(", ");
                return bad_input(&format!("--node {name}: the scenario has no such node; its nodes are {known}"));
            }
        }
    }
    // Open the output before running, so a bad path never costs a run.
    let mut file = match args.output.map(std::fs::File::create).transpose() {
        Ok(f) => f,
        Err(e) => return bad_input(&format!("{}: cannot write the trace: {e}", args.output.expect("set when opening failed").display())),
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    let options = RunOptions { record_trace: true, ..RunOptions::default() };
    let result = match crate::run(&scenario, seed, &options) {
        Ok(r) => r,
        Err(panic) => {
            eprint!("{}", panic_text(&args.path.display().to_string(), &panic));
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let events = result.trace.as_deref().expect("the trace was recorded");
    let view = TraceView { events, cluster: &scenario.cluster, name: &scenario.name, seed, end: result.end.at, verdicts: &result.verdicts };
    let selection = Selection { from: args.from, to: args.to, nodes, kinds: args.kinds.to_vec() };
    // Render to memory first: a refused selection then leaves no half-written file.
    let mut rendered = Vec::new();
    match write_trace(&mut rendered, &view, &selection, args.format) {
        Ok(()) => {}
        Err(ExportError::Io(e)) => {
            eprintln!("msgsim trace: cannot render the trace: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
        Err(refused @ ExportError::TooLarge { .. }) => {
            if let Some(path) = args.output {
                let _ = std::fs::remove_file(path);
            }
            return bad_input(&format!("too large for --format {}: {refused}", args.format.name()));
        }
    }
    let (Some(file), Some(path)) = (&mut file, args.output) else {
        emit(&rendered);
        return ExitCode::SUCCESS;
    };
    match file.write_all(&rendered) {
        Ok(()) => {}
        // `-o /dev/stdout | head`: as for standard output.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return ExitCode::from(EXIT_READER_GONE),
        Err(e) => {
            eprintln!("msgsim trace: cannot write the trace: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    }
    let shown = events.iter().filter(|e| selection.shows(e)).count();
    eprintln!("{}: {}, {shown} of the run's {} events (seed {seed})", path.display(), args.format.name(), events.len());
    ExitCode::SUCCESS
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

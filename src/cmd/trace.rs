//! `msgsim trace`: run a scenario and write its trace, or part of it, in one of the export formats.

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_READER_GONE, Output, load_source, reader_gone, say};
use crate::export::{EventWriter, ExportError, Kind, Selection, TraceFormat, TraceView, write_trace};
use crate::time::SimTime;
use crate::verdict::EndReason;
use crate::{RunOptions, RunResult};
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

/// Run `scenario` with `seed` and write its trace in `format` to `out`, with how many events
/// `selection` showed in `ran`. A streaming format is written as the run makes its events,
/// which are never kept (its vector clocks of the messages in flight are counted with them);
/// the others need the whole trace, kept and counted against the run's
/// memory budget (`RunOptions::budget_kept_trace`).
pub(super) fn run_into(
    out: &mut dyn std::io::Write,
    scenario: &crate::Scenario,
    seed: u64,
    format: TraceFormat,
    selection: &Selection,
    ran: &mut Option<(RunResult, u64)>,
) -> Result<(), Failed> {
    if let Some(mut writer) = EventWriter::new(out, format, &scenario.cluster, selection)? {
        let options = RunOptions { budget_per_message: writer.bytes_per_message(), ..RunOptions::default() };
        let result = crate::run_streaming(scenario, seed, &options, &mut |e| writer.event(e)).map_err(Failed::Stopped)?;
        *ran = Some((result, writer.finish()?));
        return Ok(());
    }
    let options = RunOptions { record_trace: true, budget_kept_trace: Some(format.bytes_per_kept_event()), ..RunOptions::default() };
    let result = crate::run(scenario, seed, &options).map_err(Failed::Stopped)?;
    let events = result.trace.as_deref().expect("the trace was recorded");
    let view = TraceView { events, cluster: &scenario.cluster, name: &scenario.name, seed, end: result.end.at, verdicts: &result.verdicts };
    write_trace(out, &view, selection, format)?;
    let shown = events.iter().filter(|e| selection.shows(e)).count() as u64;
    *ran = Some((RunResult { trace: None, ..result }, shown));
    Ok(())
}

/// Why a trace was not written: the export failed or was refused, or the run stopped.
pub(super) enum Failed {
    Export(ExportError),
    Stopped(crate::sim::ProtocolPanic),
}

impl From<ExportError> for Failed {
    fn from(e: ExportError) -> Self {
        Failed::Export(e)
    }
}

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Self {
        Failed::Export(ExportError::Io(e))
    }
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
    let selection = Selection { from: args.from, to: args.to, nodes, kinds: args.kinds.to_vec() };
    let format = args.format;
    let mut ran = None;
    // Every format refuses a selection before it writes anything, and the run happens inside
    // the rendering: into a temporary file the output replaces only when it is whole (so a
    // run that panics leaves nothing), or to standard output.
    let mut render = |out: &mut dyn std::io::Write| run_into(out, &scenario, seed, format, &selection, &mut ran);
    let written = match output {
        Some(output) => output.write_with(render),
        None => match super::stdout_closed() {
            Some(closed) => Err(Failed::Export(ExportError::Io(closed))),
            None => render(&mut std::io::BufWriter::new(std::io::stdout().lock())),
        },
    };
    match written {
        Ok(()) => {}
        Err(Failed::Stopped(panic)) => return super::run_stopped(args.path, &src, &panic),
        Err(Failed::Export(ExportError::Io(e))) if reader_gone(&e) => return ExitCode::from(EXIT_READER_GONE),
        Err(Failed::Export(ExportError::Io(e))) => {
            say!("msgsim trace: cannot write the trace: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
        Err(Failed::Export(refused @ ExportError::TooLarge { .. })) => {
            return bad_input(&format!("too large for --format {}: {refused}", format.name()));
        }
    }
    let (result, shown) = ran.expect("a written trace was run");
    if result.end.reason == EndReason::MaxMemory {
        // What the export keeps counts against the budget, so the run may stop sooner than
        // `msgsim run`'s: say so, since the trace itself does not.
        let why = match format.streams() {
            true => "the vector clocks a format keeps for the messages in flight (clusters up to 32 nodes, or shiviz) count against it"
                .to_string(),
            false => format!(
                "--format {} keeps the whole trace until it is written, and it counts against the memory budget \
                 (text, jsonl and shiviz are written as the run goes and keep none of it)",
                format.name()
            ),
        };
        say!("msgsim trace: the run stopped at {} ms, {}: {why}", crate::export::ms(result.end.at), EndReason::MaxMemory);
    } else if !matches!(result.end.reason, EndReason::Quiescent | EndReason::Horizon) {
        // Another budget ended it (a relay that never ends meets `max_trace_events` first):
        // the trace just stops, so say which, as `run`'s summary does.
        say!("msgsim trace: the run stopped at {} ms, {}", crate::export::ms(result.end.at), result.end.reason);
    }
    if let Some(path) = args.output {
        say!("{}: {}, {shown} of the run's {} events (seed {seed})", path.display(), format.name(), result.trace_events);
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

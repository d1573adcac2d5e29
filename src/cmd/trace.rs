//! `msgsim trace`: run a scenario and write its trace, or part of it, in one of the export formats.

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_READER_GONE, Output, load_source, reader_gone, say};
use crate::export::{EventWriter, ExportError, Kind, Selection, TraceFormat, TraceView, write_trace};
use crate::report::printable;
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
    /// The most the written trace may take, in MiB.
    pub max_output_mb: u64,
}

/// How much a written trace may take unless `--max-output-mb` says otherwise, in MiB: a
/// millisecond-long scenario with a timer every nanosecond writes gigabytes of text within
/// the default `max_trace_events`, and a disk is no place to find that out.
pub const DEFAULT_MAX_OUTPUT_MB: u64 = 1024;

/// Writes through to `inner` until `left` bytes are spent, then refuses every write with an
/// [`OutputCapped`] error, so a trace never takes more of the disk than it was allowed.
struct Capped<'a> {
    inner: &'a mut dyn std::io::Write,
    left: u64,
    cap_mb: u64,
}

impl std::io::Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::other(OutputCapped { cap_mb: self.cap_mb }));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The written trace reached its cap (`--max-output-mb`, in MiB).
#[derive(Debug)]
pub(super) struct OutputCapped {
    pub cap_mb: u64,
}

impl std::fmt::Display for OutputCapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the trace would take more than {} MiB", self.cap_mb)
    }
}

impl std::error::Error for OutputCapped {}

/// The cap a failed write reached, if that is why it failed.
pub(super) fn capped(e: &ExportError) -> Option<&OutputCapped> {
    match e {
        ExportError::Io(e) => e.get_ref().and_then(|inner| inner.downcast_ref::<OutputCapped>()),
        ExportError::TooLarge { .. } => None,
    }
}

/// Parses `--max-output-mb`: a whole number of MiB, at least 1.
pub fn parse_max_output_mb(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(mb @ 1..=u64::MAX) if mb.checked_mul(1 << 20).is_some() => Ok(mb),
        _ => Err(format!("`{s}` is not a size in MiB: expected a whole number from 1 to {}", u64::MAX >> 20)),
    }
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
    // One message says the whole form: a time too precise or too late is not "not a time".
    let bad = || {
        format!(
            "`{s}` is not a time in milliseconds: expected a number from 0 to {} with at most six decimals (a nanosecond), like 20 or 36.5",
            u64::MAX / 1_000_000
        )
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) || frac.len() > 6 {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    whole.checked_mul(1_000_000).and_then(|ns| ns.checked_add(frac)).map(SimTime).ok_or_else(bad)
}

/// Run `scenario` with `seed` and write its trace in `format` to `out`, at most
/// `max_output_mb` MiB of it, with how many events `selection` showed in `ran`. A streaming format is written as the run makes its events,
/// which are never kept (its vector clocks of the messages in flight are counted with them);
/// the others need the whole trace, kept and counted against the run's
/// memory budget (`RunOptions::budget_kept_trace`).
pub(super) fn run_into(
    out: &mut dyn std::io::Write,
    scenario: &crate::Scenario,
    seed: u64,
    format: TraceFormat,
    selection: &Selection,
    max_output_mb: u64,
    ran: &mut Option<(RunResult, u64)>,
) -> Result<(), Failed> {
    let out = &mut Capped { inner: out, left: max_output_mb.saturating_mul(1 << 20), cap_mb: max_output_mb };
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
        if name.is_empty() {
            return bad_input("--node: an empty node name (a list of names is separated by commas, with no empty entry)");
        }
        match scenario.cluster.names.iter().position(|n| n == name) {
            Some(i) => nodes.push(crate::id::NodeId(i as u32)),
            None => {
                return bad_input(&format!(
                    "--node {}: the scenario has no such node; {}",
                    printable(name),
                    some_names(&scenario.cluster.names)
                ));
            }
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
    let mut render = |out: &mut dyn std::io::Write| run_into(out, &scenario, seed, format, &selection, args.max_output_mb, &mut ran);
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
        Err(Failed::Export(e)) if capped(&e).is_some() => {
            return bad_input(&format!(
                "{e}: show less of it (--from, --to, --node, --kind) or allow more (--max-output-mb); {}",
                match args.output {
                    Some(path) => format!("{} is left as it was", path.display()),
                    None => "what was written before is cut off there".to_string(),
                }
            ));
        }
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

//! The ShiViz log format: a parsing regular expression, an empty line (no delimiter
//! between executions), then per process event a description line and a
//! `host {"host": n, ...}` line with its vector clock.

use super::{ExportError, Selection, TraceView};
use crate::causality::{CausalTracker, process_of};
use crate::process::Cluster;
use crate::trace::{TraceEvent, render_line};
use std::io::{self, Write};

/// Clusters up to this size get a ShiViz log: the tracker keeps a clock of this many
/// entries per node and per message in flight.
pub const MAX_NODES: usize = 256;

/// The regular expression ShiViz parses the log with: what each event's two lines hold.
pub const REGEX: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})";

/// ShiViz requires each host's own entry to count its logged events 1, 2, 3, ..., so
/// the clocks are computed over the selected events alone: an event outside the
/// selection neither counts nor carries causality. Network events and faults happen in
/// no process and are not logged, but still go through the tracker, which needs them to
/// know how many copies of a message are on their way.
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> Result<(), ExportError> {
    let mut causal = begin(out, view.cluster)?;
    for event in view.events {
        line(out, &mut causal, event, selection, view.cluster)?;
    }
    Ok(())
}

/// Refuse a cluster too large, or write the header and make the tracker the events go through.
pub(super) fn begin(out: &mut dyn Write, cluster: &Cluster) -> Result<CausalTracker, ExportError> {
    if cluster.len() > MAX_NODES {
        return Err(ExportError::TooLarge {
            what: "nodes",
            count: cluster.len(),
            limit: MAX_NODES,
            advice: "vector clocks for every event of a cluster that large cost memory in the square of its size; \
                     use --format chrome or jsonl",
        });
    }
    writeln!(out, "{REGEX}")?;
    writeln!(out)?;
    Ok(CausalTracker::new(cluster.len()))
}

/// Advance the clocks by `event` and write its two lines if it is a selected process event;
/// whether it did.
pub(super) fn line(
    out: &mut dyn Write,
    causal: &mut CausalTracker,
    event: &TraceEvent,
    selection: &Selection,
    cluster: &Cluster,
) -> io::Result<bool> {
    let Some(host) = process_of(&event.kind) else {
        causal.observe(event);
        return Ok(false);
    };
    if !selection.shows(event) {
        return Ok(false);
    }
    let Some(clock) = causal.observe(event) else { return Ok(false) };
    // The text form's line without its node column (the host line names the node).
    let line = render_line(event, cluster);
    let words: Vec<&str> = line.split_whitespace().collect();
    writeln!(out, "{} {}", words[0], words[2..].join(" "))?;
    let entries: Vec<String> =
        clock.iter().enumerate().filter(|(_, n)| **n > 0).map(|(i, n)| format!("{}: {n}", json_string(&cluster.names[i]))).collect();
    writeln!(out, "{} {{{}}}", cluster.names[host.index()], entries.join(", "))?;
    Ok(true)
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

//! The ShiViz log format: a parsing regular expression, an empty line (no delimiter
//! between executions), then per process event a description line and a
//! `host {"host": n, ...}` line with its vector clock.

use super::{ExportError, Selection, TraceView};
use crate::causality::{CausalTracker, process_of};
use crate::trace::render_line;
use std::io::Write;

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
    if view.cluster.len() > MAX_NODES {
        return Err(ExportError::TooLarge {
            what: "nodes",
            count: view.cluster.len(),
            limit: MAX_NODES,
            advice: "vector clocks for every event of a cluster that large cost memory in the square of its size; \
                     use --format chrome or jsonl",
        });
    }
    writeln!(out, "{REGEX}")?;
    writeln!(out)?;
    let mut causal = CausalTracker::new(view.cluster.len());
    for event in view.events {
        let Some(host) = process_of(&event.kind) else {
            causal.observe(event);
            continue;
        };
        if !selection.shows(event) {
            continue;
        }
        let Some(clock) = causal.observe(event) else { continue };
        // The text form's line without its node column (the host line names the node).
        let line = render_line(event, view.cluster);
        let words: Vec<&str> = line.split_whitespace().collect();
        writeln!(out, "{} {}", words[0], words[2..].join(" "))?;
        let entries: Vec<String> = clock
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{}: {n}", json_string(&view.cluster.names[i])))
            .collect();
        writeln!(out, "{} {{{}}}", view.cluster.names[host.index()], entries.join(", "))?;
    }
    Ok(())
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

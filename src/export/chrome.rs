//! Trace-event JSON, as Perfetto and chrome://tracing load it: one track (thread) per
//! node, the node's events on it, a flow arrow from each send to each receive of it,
//! and down and paused periods as slices.

use super::{Fate, Kind, Selection, TraceView, fault_periods, message_copies, text::clocks};
use crate::causality::process_of;
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, render_line};
use serde_json::{Value, json};
use std::io::{self, Write};

/// The one process every track belongs to.
const PID: u32 = 0;
/// The category of messages: flows and the sends and receives they join.
const FLOW_CAT: &str = "msg";

/// Timestamps are microseconds; the simulator's nanoseconds become three decimals.
fn ts(t: SimTime) -> f64 {
    t.as_nanos() as f64 / 1_000.0
}

/// Writes one record per line, each written as soon as it is made: the export's memory does
/// not grow with the trace (it held every record as a JSON value, 2.6 KB an event, before).
struct Records<'a> {
    out: &'a mut dyn Write,
    written: u64,
}

impl Records<'_> {
    fn push(&mut self, record: Value) -> io::Result<()> {
        // One record per line: still one JSON document, but diffable and greppable.
        if self.written > 0 {
            writeln!(self.out, ",")?;
        }
        self.written += 1;
        write!(self.out, "{record}")
    }
}

/// Write the selected part of the run as one trace-event JSON document (load it in Perfetto
/// or chrome://tracing).
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> io::Result<()> {
    writeln!(out, "{{\"displayTimeUnit\": \"ms\", \"traceEvents\": [")?;
    let mut records = Records { out, written: 0 };
    records.push(json!({
        "ph": "M", "pid": PID, "name": "process_name",
        "args": {"name": format!("{} (seed {})", view.name, view.seed)}
    }))?;
    for node in view.cluster.nodes().filter(|&n| selection.node_selected(n)) {
        records.push(json!({"ph": "M", "pid": PID, "tid": node.0, "name": "thread_name", "args": {"name": view.cluster.name(node)}}))?;
        records.push(json!({"ph": "M", "pid": PID, "tid": node.0, "name": "thread_sort_index", "args": {"sort_index": node.0}}))?;
    }
    if selection.kind_selected(Kind::Fault) {
        for p in fault_periods(view.events) {
            let (Some(node), name) = (p.node, if p.action == FaultAction::Crash { "down" } else { "paused" }) else { continue };
            let end = p.end.unwrap_or(view.end);
            if selection.node_selected(node) && selection.overlaps(p.start, end) {
                records.push(json!({
                    "ph": "X", "pid": PID, "tid": node.0, "name": name, "cat": "fault",
                    "ts": ts(p.start), "dur": ts(SimTime(end.as_nanos() - p.start.as_nanos())),
                    "args": {"fault": p.index}
                }))?;
            }
        }
    }
    // A flow joins a send to a receive when both are shown; its id is the copy's place
    // in the trace's list of copies, unique over the run. Each end is an (event index, flow
    // id) pair in a list sorted by event index, read in step with the trace: 16 bytes a flow
    // end (maps of them, with a list per send, took about 160, more than the trace itself).
    let mut starts: Vec<(usize, usize)> = Vec::new();
    let mut finishes: Vec<(usize, usize)> = Vec::new();
    for (id, copy) in message_copies(view.events).iter().enumerate() {
        let (Fate::Received { .. }, Some(end)) = (copy.fate, copy.end_index) else { continue };
        if selection.shows(&view.events[copy.send_index]) && selection.shows(&view.events[end]) {
            starts.push((copy.send_index, id));
            finishes.push((end, id));
        }
    }
    starts.sort_unstable();
    finishes.sort_unstable();
    let (mut starts, mut finishes) = (starts.into_iter().peekable(), finishes.into_iter().peekable());
    let mut causal = clocks(view.cluster);
    for (i, event) in view.events.iter().enumerate() {
        let vc = causal.as_mut().and_then(|c| c.observe(event)).cloned();
        if !selection.shows(event) {
            continue;
        }
        let line = render_line(event, view.cluster);
        let words: Vec<&str> = line.split_whitespace().collect();
        let name = words[2..].join(" ");
        let kind = Kind::of(&event.kind).name();
        let mut args = json!({"at": event.time.to_string()});
        if let Some(vc) = vc {
            args["vc"] = json!(vc);
        }
        let track = process_of(&event.kind).or(super::nodes_of(&event.kind)[0]);
        let record = match (event.kind, track) {
            // Sends and receives are the flows' ends. Perfetto attaches a flow to the
            // slice enclosing it, so they are slices (1 ns long) rather than instants;
            // Chrome attaches it to the event with its category, thread and time, so
            // they share the flows' category.
            (EventKind::Send { .. } | EventKind::Receive { .. }, Some(node)) => {
                json!({"ph": "X", "pid": PID, "tid": node.0, "name": name, "cat": FLOW_CAT, "ts": ts(event.time), "dur": 0.001, "args": args})
            }
            (_, Some(node)) => {
                json!({"ph": "i", "s": "t", "pid": PID, "tid": node.0, "name": name, "cat": kind, "ts": ts(event.time), "args": args})
            }
            // Partitions and heals concern the whole network.
            (_, None) => json!({"ph": "i", "s": "g", "pid": PID, "tid": 0, "name": name, "cat": kind, "ts": ts(event.time), "args": args}),
        };
        records.push(record)?;
        while let Some((_, id)) = starts.next_if(|&(at, _)| at <= i) {
            let EventKind::Send { from, msg, .. } = event.kind else { unreachable!("flows start at sends") };
            records.push(
                json!({"ph": "s", "pid": PID, "tid": from.0, "id": id, "name": format!("m{}", msg.0), "cat": FLOW_CAT, "ts": ts(event.time)}),
            )?;
        }
        while let Some((_, id)) = finishes.next_if(|&(at, _)| at <= i) {
            let EventKind::Receive { to, msg, .. } = event.kind else { unreachable!("flows finish at receives") };
            records.push(json!({
                "ph": "f", "bp": "e", "pid": PID, "tid": to.0, "id": id, "name": format!("m{}", msg.0), "cat": FLOW_CAT, "ts": ts(event.time)
            }))?;
        }
    }
    writeln!(records.out)?;
    writeln!(records.out, "]}}")
}

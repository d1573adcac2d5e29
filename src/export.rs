//! Writing a recorded trace for people (text) and for programs (JSON lines), with vector clocks.

use crate::causality::CausalTracker;
use crate::process::Cluster;
use crate::trace::{TraceEvent, render_line};
use serde::Serialize;
use std::io::{self, Write};

/// The trace formats `msgsim run --trace` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// One line per event (the legend is in the book's "Reading a trace"), vector clock last.
    Text,
    /// One JSON object per line: the event's fields, plus `vc` for process events.
    JsonLines,
}

#[derive(Serialize)]
struct Annotated<'a> {
    #[serde(flatten)]
    event: &'a TraceEvent,
    #[serde(skip_serializing_if = "Option::is_none")]
    vc: Option<&'a [u32]>,
}

/// Vector clocks are written for clusters up to this size: beyond it a clock per line is
/// unreadable, and tracking them costs nodes^2 memory.
pub const MAX_NODES_WITH_CLOCKS: usize = 32;

pub fn write_trace(out: &mut impl Write, events: &[TraceEvent], cluster: &Cluster, format: TraceFormat) -> io::Result<()> {
    let mut causal = (cluster.len() <= MAX_NODES_WITH_CLOCKS).then(|| CausalTracker::new(cluster.len()));
    for event in events {
        let vc = causal.as_mut().and_then(|c| c.observe(event)).map(Vec::as_slice);
        match format {
            TraceFormat::Text => {
                let line = render_line(event, cluster);
                match vc {
                    Some(vc) => writeln!(out, "{line:<56} {vc:?}")?,
                    None => writeln!(out, "{line}")?,
                }
            }
            TraceFormat::JsonLines => {
                serde_json::to_writer(&mut *out, &Annotated { event, vc }).map_err(io::Error::other)?;
                writeln!(out)?;
            }
        }
    }
    out.flush()
}

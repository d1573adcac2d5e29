//! JSON lines, for programs: one object per event with its fields, plus `vc` for process events,
//! and `"forged_origin": true` on a delivery whose `origin` names no node (an adversary forged
//! the payload's bytes), so a program never looks that id up as a node.

use super::{Selection, TraceView, text::clocks};
use crate::causality::CausalTracker;
use crate::process::Cluster;
use crate::trace::{EventKind, TraceEvent};
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Annotated<'a> {
    #[serde(flatten)]
    event: &'a TraceEvent,
    #[serde(skip_serializing_if = "Option::is_none")]
    vc: Option<&'a [u32]>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    forged_origin: bool,
}

/// Write each selected event as one JSON object on its own line, in trace order.
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> io::Result<()> {
    let mut causal = clocks(view.cluster);
    for event in view.events {
        line(out, &mut causal, event, selection, view.cluster)?;
    }
    Ok(())
}

/// Advance the clocks by `event` and write its object if `selection` shows it; whether it did.
pub(super) fn line(
    out: &mut dyn Write,
    causal: &mut Option<CausalTracker>,
    event: &TraceEvent,
    selection: &Selection,
    cluster: &Cluster,
) -> io::Result<bool> {
    let vc = causal.as_mut().and_then(|c| c.observe(event)).map(Vec::as_slice);
    if !selection.shows(event) {
        return Ok(false);
    }
    let forged_origin = matches!(event.kind, EventKind::Deliver { origin, .. } if origin.index() >= cluster.len());
    // `From` keeps an I/O error's kind: a reader gone stays a broken pipe.
    serde_json::to_writer(&mut *out, &Annotated { event, vc, forged_origin }).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(true)
}

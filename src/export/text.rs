//! The text form: one line per event, for people, with the vector clock of process events last.

use super::{Selection, TraceView};
use crate::causality::CausalTracker;
use crate::process::Cluster;
use crate::trace::{TraceEvent, render_line};
use std::io::{self, Write};

/// Vector clocks are written for clusters up to this size: beyond it a clock per line is
/// unreadable, and tracking them costs nodes^2 memory.
pub const MAX_NODES_WITH_CLOCKS: usize = 32;

/// The clocks come from the whole trace, not the selection, so a shown event's clock
/// still counts what happened outside the window.
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> io::Result<()> {
    let mut causal = clocks(view.cluster);
    for event in view.events {
        line(out, &mut causal, event, selection, view.cluster)?;
    }
    Ok(())
}

/// Advance the clocks by `event` and write its line if `selection` shows it; whether it did.
/// The whole form is this, event by event, so a run can be written as it goes.
pub(super) fn line(
    out: &mut dyn Write,
    causal: &mut Option<CausalTracker>,
    event: &TraceEvent,
    selection: &Selection,
    cluster: &Cluster,
) -> io::Result<bool> {
    let vc = causal.as_mut().and_then(|c| c.observe(event));
    if !selection.shows(event) {
        return Ok(false);
    }
    let line = render_line(event, cluster);
    match vc {
        Some(vc) => writeln!(out, "{line:<56} {vc:?}")?,
        None => writeln!(out, "{line}")?,
    }
    Ok(true)
}

/// A tracker for the run's vector clocks, if the cluster is small enough to show them.
pub(super) fn clocks(cluster: &Cluster) -> Option<CausalTracker> {
    (cluster.len() <= MAX_NODES_WITH_CLOCKS).then(|| CausalTracker::new(cluster.len()))
}

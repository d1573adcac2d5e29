//! The text form: one line per event, for people, with the vector clock of process events last.

use super::{Selection, TraceView};
use crate::causality::CausalTracker;
use crate::trace::render_line;
use std::io::{self, Write};

/// Vector clocks are written for clusters up to this size: beyond it a clock per line is
/// unreadable, and tracking them costs nodes^2 memory.
pub const MAX_NODES_WITH_CLOCKS: usize = 32;

/// The clocks come from the whole trace, not the selection, so a shown event's clock
/// still counts what happened outside the window.
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> io::Result<()> {
    let mut causal = clocks(view);
    for event in view.events {
        let vc = causal.as_mut().and_then(|c| c.observe(event));
        if !selection.shows(event) {
            continue;
        }
        let line = render_line(event, view.cluster);
        match vc {
            Some(vc) => writeln!(out, "{line:<56} {vc:?}")?,
            None => writeln!(out, "{line}")?,
        }
    }
    Ok(())
}

/// A tracker for the run's vector clocks, if the cluster is small enough to show them.
pub(super) fn clocks(view: &TraceView) -> Option<CausalTracker> {
    (view.cluster.len() <= MAX_NODES_WITH_CLOCKS).then(|| CausalTracker::new(view.cluster.len()))
}

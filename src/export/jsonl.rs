//! JSON lines, for programs: one object per event with its fields, plus `vc` for process events.

use super::{Selection, TraceView, text::clocks};
use crate::trace::TraceEvent;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Annotated<'a> {
    #[serde(flatten)]
    event: &'a TraceEvent,
    #[serde(skip_serializing_if = "Option::is_none")]
    vc: Option<&'a [u32]>,
}

pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> io::Result<()> {
    let mut causal = clocks(view);
    for event in view.events {
        let vc = causal.as_mut().and_then(|c| c.observe(event)).map(Vec::as_slice);
        if !selection.shows(event) {
            continue;
        }
        serde_json::to_writer(&mut *out, &Annotated { event, vc }).map_err(io::Error::other)?;
        writeln!(out)?;
    }
    Ok(())
}

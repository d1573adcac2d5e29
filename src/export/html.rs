//! The run viewer: one self-contained HTML page (its script and style inline, nothing fetched
//! when it is viewed) that draws the space-time diagram on a canvas, with a time cursor to
//! play and step, zoom and pan, details and causal past of what is clicked, filters, the
//! checks' verdicts linked to the event of a failure, and the faults as the SVG draws them.
//!
//! This module only gathers the run into JSON and embeds it; the page's behaviour is in
//! `viewer.js` and its look in `viewer.css`, beside this file, included at build time. The
//! JSON sits in a `<script type="application/json">` element, escaped so that nothing in a
//! scenario (a node named `</script>`, say) can end that element or start markup.

use super::svg::{marked_node, reason_text};
use super::text::clocks;
use super::{ExportError, Fate, Kind, MessageCopy, Selection, TraceView, fault_periods, message_copies, nodes_of};
use crate::id::MsgId;
use crate::time::SimTime;
use crate::trace::{BreakerState, CallOutcome, EventKind, FaultAction, TraceEvent, render_line};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;

const SCRIPT: &str = include_str!("viewer.js");
const STYLE: &str = include_str!("viewer.css");

/// Beyond this many events a page is over 100 MB, which a browser takes many seconds to open.
pub const MAX_EVENTS: usize = 750_000;

/// Version of the embedded JSON's layout, which `viewer.js` reads; bump it with the layout.
const DATA_VERSION: u32 = 1;

/// Write the viewer page of the selected part of a run; refused beyond `MAX_EVENTS` shown events.
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> Result<(), ExportError> {
    let count = view.events.iter().filter(|e| selection.shows(e)).count();
    if count > MAX_EVENTS {
        return Err(ExportError::TooLarge {
            what: "events",
            count,
            limit: MAX_EVENTS,
            advice: "a page that large is slow to open; choose a time window with --from/--to, or nodes or kinds",
        });
    }
    Ok(out.write_all(render(view, selection).as_bytes())?)
}

/// The whole page.
pub fn render(view: &TraceView, selection: &Selection) -> String {
    let json = serde_json::to_string(&data(view, selection)).expect("the viewer's data always serialises");
    let title = format!("{} (seed {}) - msgsim run viewer", view.name, view.seed);
    let mut page = String::with_capacity(json.len() + SCRIPT.len() + STYLE.len() + 2048);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing may be fetched at view time, whatever the data says.
    page.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    page.push_str(&format!("<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n", escape_html(&title)));
    page.push_str("<noscript>This run viewer needs JavaScript.</noscript>\n");
    page.push_str("<div id=\"viewer\"></div>\n<script type=\"application/json\" id=\"msgsim-data\">");
    page.push_str(&escape_json_for_script(&json));
    page.push_str("</script>\n<script>\n");
    page.push_str(SCRIPT);
    page.push_str("</script>\n</body>\n</html>\n");
    page
}

/// Escape text for HTML content.
fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Make serialised JSON safe inside a `<script>` element: `<`, `>` and `&` become `\u` escapes
/// (so no `</script>` or `<!--` can appear), as do U+2028 and U+2029 (line terminators to
/// older JavaScript). These characters occur in JSON only inside strings, where the escapes
/// mean the same characters, so the JSON parses to the same value.
pub fn escape_json_for_script(json: &str) -> String {
    let mut o = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => o.push_str("\\u003c"),
            '>' => o.push_str("\\u003e"),
            '&' => o.push_str("\\u0026"),
            '\u{2028}' => o.push_str("\\u2028"),
            '\u{2029}' => o.push_str("\\u2029"),
            c => o.push(c),
        }
    }
    o
}

/// Everything the page draws. Times are nanoseconds (exact in a JavaScript number below
/// 104 days); events are referred to by their index in the whole trace (`g`).
#[derive(Serialize)]
struct Data<'a> {
    version: u32,
    name: &'a str,
    /// A string: a `u64` seed may exceed what a JavaScript number holds exactly.
    seed: String,
    end: u64,
    /// The window the page was exported with (`--from`, `--to`), as the viewer's bounds.
    from: u64,
    to: u64,
    nodes: Vec<&'a str>,
    /// The export's `--node` and `--kind` filters, which the viewer starts with.
    selected_nodes: Vec<u32>,
    selected_kinds: Vec<&'static str>,
    /// Every kind the embedded events have, in `Kind` order.
    kinds: Vec<&'static str>,
    /// Whether vector clocks were computed (clusters up to `MAX_NODES_WITH_CLOCKS`).
    clocks: bool,
    events: Vec<EventRow>,
    copies: Vec<CopyRow>,
    periods: Vec<PeriodRow>,
    checks: Vec<CheckRow<'a>>,
    reasons: BTreeMap<String, &'static str>,
}

/// `[g, time, kind, node a, node b, mark node, mark, shown, line, vc]`: the nodes the event
/// concerns (-1 for none), the node whose lane its mark goes on and the mark's shape (-1 and
/// "" for events drawn otherwise: messages as arrows, faults as periods), whether the export's
/// selection shows it (events outside it are embedded only as a shown copy's send or end, for
/// its details), its trace line, and its vector clock.
#[derive(Serialize)]
struct EventRow(usize, u64, &'static str, i64, i64, i64, &'static str, u8, String, Option<Vec<u32>>);

/// `[msg, from, to, sent, end, fate, reason, queued, duplicate, send g, end g, arrival g, start g]`:
/// `end` is null for a copy that never ended, `fate` one of recv, corrupt, drop, waiting,
/// flight, `reason` a drop's, `arrival g` the event where it reached the receiver (its
/// receive, its `queue` line, or its drop), null if it never did, and `start g` the event from
/// which it existed (its send, or for the second copy of a duplicate the `dup` line).
#[derive(Serialize)]
struct CopyRow(u64, u32, u32, u64, Option<u64>, &'static str, Option<String>, Option<u64>, u8, usize, Option<usize>, Option<usize>, usize);

/// `[node or -1 for a partition, action, fault index, start, end or null]`.
#[derive(Serialize)]
struct PeriodRow(i64, &'static str, u32, u64, Option<u64>);

/// `[check, outcome, detail, g of the first violation's event or null]`.
#[derive(Serialize)]
struct CheckRow<'a>(&'a str, &'static str, &'a str, Option<usize>);

fn data<'a>(view: &TraceView<'a>, selection: &Selection) -> Data<'a> {
    let all = message_copies(view.events);
    let copies: Vec<&MessageCopy> = all.iter().filter(|c| selection.shows_copy(c)).collect();
    let arrivals = arrivals(view.events, &copies);
    let starts = starts(view.events, &copies);
    // Events drawn, and those a drawn copy needs for its details.
    let mut wanted: BTreeSet<usize> = BTreeSet::new();
    for c in &copies {
        wanted.insert(c.send_index);
        wanted.extend(c.end_index);
    }
    let mut causal = clocks(view.cluster);
    let mut events = Vec::new();
    let mut kinds: BTreeSet<Kind> = BTreeSet::new();
    for (g, event) in view.events.iter().enumerate() {
        let vc = causal.as_mut().and_then(|c| c.observe(event)).cloned();
        let shown = selection.shows(event);
        if !shown && !wanted.contains(&g) {
            continue;
        }
        let kind = Kind::of(&event.kind);
        if shown {
            kinds.insert(kind);
        }
        let [a, b] = nodes_of(&event.kind).map(|n| n.map_or(-1, |n| i64::from(n.0)));
        let (mark_node, mark) = match (marked_node(&event.kind), mark_shape(&event.kind)) {
            (Some(n), Some(shape)) => (i64::from(n.0), shape),
            _ => (-1, ""),
        };
        let line = render_line(event, view.cluster).trim_start().to_string();
        events.push(EventRow(g, event.time.as_nanos(), kind.name(), a, b, mark_node, mark, u8::from(shown), line, vc));
    }
    let copy_rows = copies
        .iter()
        .zip(arrivals.iter().zip(&starts))
        .map(|(c, (&arrival, &start))| {
            let (fate, reason) = match c.fate {
                Fate::Received { corrupted: false } => ("recv", None),
                Fate::Received { corrupted: true } => ("corrupt", None),
                Fate::Dropped(r) => ("drop", Some(format!("{r:?}"))),
                Fate::Waiting => ("waiting", None),
                Fate::InFlight => ("flight", None),
            };
            CopyRow(
                c.msg.0,
                c.from.0,
                c.to.0,
                c.sent.as_nanos(),
                c.end_time().map(SimTime::as_nanos),
                fate,
                reason,
                c.queued.map(SimTime::as_nanos),
                u8::from(c.duplicate),
                c.send_index,
                c.end_index,
                arrival,
                start,
            )
        })
        .collect();
    let periods = match selection.kind_selected(Kind::Fault) {
        true => fault_periods(view.events)
            .iter()
            .filter(|p| selection.overlaps(p.start, p.end.unwrap_or(view.end)))
            .filter(|p| p.node.is_none_or(|n| selection.node_selected(n)))
            .map(|p| {
                PeriodRow(
                    p.node.map_or(-1, |n| i64::from(n.0)),
                    action_name(p.action),
                    p.index,
                    p.start.as_nanos(),
                    p.end.map(SimTime::as_nanos),
                )
            })
            .collect(),
        false => Vec::new(),
    };
    let checks = view
        .verdicts
        .iter()
        .map(|(name, v)| {
            let outcome = match v.outcome {
                crate::check::Outcome::Pass => "pass",
                crate::check::Outcome::Fail => "fail",
                crate::check::Outcome::Inconclusive => "inconclusive",
            };
            let linked = (outcome == "fail").then(|| violation_event(view, &v.detail)).flatten();
            CheckRow(name, outcome, &v.detail, linked)
        })
        .collect();
    let reasons = all
        .iter()
        .filter_map(|c| match c.fate {
            Fate::Dropped(r) => Some((format!("{r:?}"), reason_text(r))),
            _ => None,
        })
        .collect();
    Data {
        version: DATA_VERSION,
        name: view.name,
        seed: view.seed.to_string(),
        end: view.end.as_nanos(),
        from: selection.from.unwrap_or(SimTime::ZERO).as_nanos(),
        to: selection.to.unwrap_or(view.end).max(selection.from.unwrap_or(SimTime::ZERO)).as_nanos(),
        nodes: view.cluster.names.iter().map(String::as_str).collect(),
        selected_nodes: selection.nodes.iter().map(|n| n.0).collect(),
        selected_kinds: selection.kinds.iter().map(|k| k.name()).collect(),
        kinds: kinds.into_iter().map(Kind::name).collect(),
        clocks: causal.is_some(),
        events,
        copies: copy_rows,
        periods,
        checks,
        reasons,
    }
}

/// The shape of an event's mark, as the SVG draws it (`viewer.js` draws each name); `None` for
/// the events drawn otherwise, and for calls that were sent, which show as their arrows.
fn mark_shape(kind: &EventKind) -> Option<&'static str> {
    Some(match *kind {
        EventKind::Deliver { damaged: false, .. } => "deliver",
        EventKind::Deliver { damaged: true, .. } => "damaged",
        EventKind::Command { .. } => "cmd",
        EventKind::CommandRefused { .. } => "refuse",
        EventKind::Timer { .. } => "timer",
        EventKind::DeadLetter { .. } => "dead",
        EventKind::Call { outcome: CallOutcome::Rejected, .. } => "rejected",
        EventKind::Breaker { to: BreakerState::Closed, .. } => "breaker-closed",
        EventKind::Breaker { to: BreakerState::Open, .. } => "breaker-open",
        EventKind::Breaker { to: BreakerState::HalfOpen, .. } => "breaker-half-open",
        EventKind::Suspicion { suspected: true, .. } => "suspect",
        EventKind::Suspicion { suspected: false, .. } => "trust",
        EventKind::Adversary { .. } => "adv",
        EventKind::Block { .. } => "block",
        EventKind::Unblock { .. } | EventKind::CallTimeout { .. } => "unblock",
        EventKind::Deadlock { .. } => "deadlock",
        EventKind::View { .. } => "view",
        EventKind::Call { .. }
        | EventKind::Queued { .. }
        | EventKind::Served { .. }
        | EventKind::Op { .. }
        | EventKind::Attempt { .. }
        | EventKind::AttemptFailed { .. }
        | EventKind::Answer { .. }
        | EventKind::Ack { .. }
        | EventKind::Send { .. }
        | EventKind::Drop { .. }
        | EventKind::Duplicate { .. }
        | EventKind::Corrupt { .. }
        | EventKind::Receive { .. }
        | EventKind::Fault { .. } => return None,
    })
}

fn action_name(action: FaultAction) -> &'static str {
    match action {
        FaultAction::Crash => "crash",
        FaultAction::Pause => "pause",
        FaultAction::Partition => "partition",
        FaultAction::Restart => "restart",
        FaultAction::Resume => "resume",
        FaultAction::Heal => "heal",
    }
}

/// For each copy, the event where it reached its receiver: the `queue` line if it waited in a
/// mailbox (the copies of one message are told apart by order, as `message_copies` does),
/// otherwise the event that ended it; `None` for a copy still in flight.
fn arrivals(events: &[TraceEvent], copies: &[&MessageCopy]) -> Vec<Option<usize>> {
    let mut queued: BTreeMap<(MsgId, u64), VecDeque<usize>> = BTreeMap::new();
    for (g, event) in events.iter().enumerate() {
        if let EventKind::Queued { msg, .. } = event.kind {
            queued.entry((msg, event.time.as_nanos())).or_default().push_back(g);
        }
    }
    copies
        .iter()
        .map(|c| match c.queued {
            Some(at) => queued.get_mut(&(c.msg, at.as_nanos())).and_then(VecDeque::pop_front).or(c.end_index),
            None => c.end_index,
        })
        .collect()
}

/// For each copy, the event from which it existed: its send, or for a duplicate's second copy
/// the `dup` line (which follows the send), so that a cursor on the send has one copy in flight.
fn starts(events: &[TraceEvent], copies: &[&MessageCopy]) -> Vec<usize> {
    let mut dups: BTreeMap<MsgId, VecDeque<usize>> = BTreeMap::new();
    for (g, event) in events.iter().enumerate() {
        if let EventKind::Duplicate { msg, .. } = event.kind {
            dups.entry(msg).or_default().push_back(g);
        }
    }
    copies
        .iter()
        .map(|c| match c.duplicate {
            true => dups.get_mut(&c.msg).and_then(VecDeque::pop_front).unwrap_or(c.send_index),
            false => c.send_index,
        })
        .collect()
}

/// The event a failed check's detail names first, when it can be told: the detail's first
/// time (`at 28.471ms`, the trace's own form), and among the events at that time, the one
/// whose trace line shares most of the detail's node names and message and application ids
/// (`n0`, `m4`, `a11`); none if no event there shares any.
pub fn violation_event(view: &TraceView, detail: &str) -> Option<usize> {
    let words: Vec<&str> = detail.split(|c: char| c.is_whitespace() || ",;:()[]'".contains(c)).filter(|w| !w.is_empty()).collect();
    // `28.471ms`: the trace's own form, microseconds, so it names a microsecond's events.
    let micros = words.iter().find_map(|w| {
        let (whole, frac) = w.strip_suffix("ms")?.split_once('.')?;
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        (digits(whole) && digits(frac) && frac.len() == 3)
            .then(|| whole.parse::<u64>().ok()?.checked_mul(1_000)?.checked_add(frac.parse().ok()?))?
    })?;
    let (lo, hi) = (micros.checked_mul(1_000)?, micros.checked_mul(1_000)?.checked_add(1_000)?);
    let is_id = |w: &str| {
        let mut chars = w.chars();
        matches!(chars.next(), Some('a' | 'm')) && !chars.as_str().is_empty() && chars.all(|c| c.is_ascii_digit())
    };
    let names: BTreeSet<&str> = words.iter().copied().filter(|w| is_id(w) || view.cluster.names.iter().any(|n| n == w)).collect();
    let start = view.events.partition_point(|e| e.time.as_nanos() < lo);
    let mut best: Option<(usize, usize)> = None;
    for (g, event) in view.events.iter().enumerate().skip(start).take_while(|(_, e)| e.time.as_nanos() < hi) {
        let line = render_line(event, view.cluster);
        let shared =
            line.split(|c: char| c.is_whitespace() || "(),".contains(c)).filter(|w| names.contains(w)).collect::<BTreeSet<_>>().len();
        if shared > 0 && best.is_none_or(|(_, s)| shared > s) {
            best = Some((g, shared));
        }
    }
    best.map(|(g, _)| g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{NodeId, TimerId};
    use crate::process::Cluster;

    #[test]
    fn a_selection_too_large_for_a_page_is_refused() {
        let timer = TraceEvent { time: SimTime::ZERO, kind: EventKind::Timer { node: NodeId(0), timer: TimerId(0) } };
        let events = vec![timer; MAX_EVENTS + 1];
        let cluster = Cluster { names: vec!["n0".to_string()], groups: Vec::new() };
        let view = TraceView { events: &events, cluster: &cluster, name: "big", seed: 0, end: SimTime::ZERO, verdicts: &[] };
        let mut out = Vec::new();
        match write(&mut out, &view, &Selection::default()) {
            Err(ExportError::TooLarge { count, .. }) => assert_eq!(count, MAX_EVENTS + 1),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(out.is_empty(), "nothing written");
        // The limit is on what is shown, not on the run: a selection of it is a page.
        write(&mut out, &view, &Selection { kinds: vec![Kind::Send], ..Selection::default() }).unwrap();
        assert!(out.starts_with(b"<!DOCTYPE html>"));
    }

    #[test]
    fn escaped_json_has_no_markup_and_parses_to_the_same_value() {
        let hostile = "</script><script>alert(1)</script><!-- & \u{2028}\u{2029}";
        let json = serde_json::to_string(&serde_json::json!({ "name": hostile })).unwrap();
        let escaped = escape_json_for_script(&json);
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!escaped.contains(bad), "{bad:?} left in {escaped}");
        }
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["name"], hostile);
    }
}

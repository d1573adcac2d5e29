//! The space-time diagram as SVG: a lifeline per node with time flowing down, an arrow
//! per message copy from its send to its receive, dropped copies ending in a cross,
//! copies never taken from a mailbox ending dashed where they arrived, copies still in
//! flight heading for their receiver, down and paused periods on the lifelines,
//! partitions as bands across them, and deliveries marked. Every mark has a tooltip
//! (`<title>`) with the details.

use super::{ExportError, Fate, Kind, MessageCopy, Period, Selection, TraceView, fault_periods, message_copies, ms};
use crate::id::NodeId;
use crate::time::SimTime;
use crate::trace::{BreakerState, CallOutcome, DropReason, EventKind, FaultAction};
use std::fmt::Write as _;
use std::io::Write;

/// Beyond this many lifelines a diagram is too wide to read.
pub const MAX_LIFELINES: usize = 64;

/// Message arrows and event marks beyond which a diagram is a solid block (and its text, built
/// in memory, grows past what a browser opens): about 60 MB of SVG.
pub const MAX_MARKS: usize = 200_000;
/// The plot's height stays between these (pixels), whatever the window's length.
const MIN_PLOT: f64 = 360.0;
const MAX_PLOT: f64 = 2400.0;
/// A typical message trip should drop this many pixels, so arrows show their slope.
const TRIP_PX: f64 = 30.0;
/// Room each arrow gets, vertically, when there are many.
const PX_PER_COPY: f64 = 6.0;
/// Beyond this many arrows they are drawn translucent, so where they bunch shows.
const DENSE: usize = 300;
/// Arrows are labelled with their message id only when there are this few of them.
const MAX_LABELLED: usize = 60;
const LEFT: f64 = 96.0;
const TOP: f64 = 92.0;
const LABEL_H: f64 = 11.0;

/// Write the space-time diagram of the selected part of the run as one SVG document;
/// refused (`ExportError::TooLarge`) when it would have too many lifelines or marks to read.
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> Result<(), ExportError> {
    Ok(out.write_all(render(view, selection)?.as_bytes())?)
}

/// Escape text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

pub(super) fn reason_text(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Lost => "lost: the link's loss probability struck",
        DropReason::Partitioned => "partitioned: a partition separated sender and receiver",
        DropReason::NoLink => "no link: the topology has no link between them",
        DropReason::QueueFull => "queue full: the link's queue was full",
        DropReason::NodeDown => "node down: the receiver was down when it arrived",
        DropReason::MailboxFull => "mailbox full: the receiver's mailbox was full",
        DropReason::Evicted => "evicted: a newer message took its place in the full mailbox",
        DropReason::Late => "late: the answer came after its call had ended",
        DropReason::FragmentLost => "fragment lost: a fragment was lost, so it could not be reassembled",
    }
}

/// The diagram's geometry: which nodes have lifelines where, and time to pixels.
struct Frame {
    t0: SimTime,
    t1: SimTime,
    /// Pixels per millisecond.
    scale: f64,
    plot_h: f64,
    col_w: f64,
    /// A typical trip (nanoseconds): how far a copy still in flight has got.
    trip_ns: f64,
    /// When the run ended: where a copy still in flight is drawn to.
    run_end: SimTime,
    /// The column of each node, `None` without a lifeline.
    column: Vec<Option<usize>>,
    columns: usize,
}

impl Frame {
    fn y(&self, t: SimTime) -> f64 {
        let t = t.clamp(self.t0, self.t1);
        TOP + (t.as_nanos() - self.t0.as_nanos()) as f64 / 1e6 * self.scale
    }

    fn x(&self, node: NodeId) -> Option<f64> {
        self.column[node.index()].map(|c| LEFT + self.col_w * (c as f64 + 0.5))
    }

    fn width(&self) -> f64 {
        LEFT + self.col_w * self.columns as f64 + 24.0
    }

    fn bottom(&self) -> f64 {
        TOP + self.plot_h
    }

    fn contains(&self, t: SimTime) -> bool {
        (self.t0..=self.t1).contains(&t)
    }
}

/// Label boxes already placed, so a new label that would overlap one is left out (its
/// mark keeps its tooltip).
#[derive(Default)]
struct Labels(Vec<(f64, f64, f64, f64)>);

impl Labels {
    /// Keep labels off a mark.
    fn block(&mut self, x: f64, y: f64, r: f64) {
        self.0.push((x - r, y - r, x + r, y + r));
    }

    fn place(&mut self, x: f64, y: f64, text: &str) -> bool {
        let w = text.chars().count() as f64 * 5.6;
        let b = (x - 1.0, y - LABEL_H + 2.0, x + w + 1.0, y + 2.0);
        if self.0.iter().any(|o| b.0 < o.2 && o.0 < b.2 && b.1 < o.3 && o.1 < b.3) {
            return false;
        }
        self.0.push(b);
        true
    }
}

fn frame(view: &TraceView, selection: &Selection, copies: &[&MessageCopy]) -> Frame {
    let t0 = selection.from.unwrap_or(SimTime::ZERO);
    let t1 = selection.to.unwrap_or(view.end).max(t0.saturating_add(1_000_000));
    let span_ms = (t1.as_nanos() - t0.as_nanos()) as f64 / 1e6;
    // A trip ends when the copy arrives: a wait in a mailbox is not the network's.
    let mut trips: Vec<u64> = copies
        .iter()
        .filter(|c| matches!(c.fate, Fate::Received { .. }))
        .map(|c| c.queued.unwrap_or(c.end).as_nanos() - c.sent.as_nanos())
        .collect();
    trips.sort_unstable();
    let typical_ms = trips.get(trips.len() / 2).map_or(span_ms / 10.0, |&t| (t as f64 / 1e6).max(span_ms / 400.0));
    let trip_ns = typical_ms * 1e6;
    // Tall enough for a typical trip to slope, and for the arrows not to pile up.
    let plot_h = (span_ms * TRIP_PX / typical_ms).max(copies.len() as f64 * PX_PER_COPY).clamp(MIN_PLOT, MAX_PLOT);
    // Lifelines: the selected nodes and whoever they exchanged shown messages with.
    let mut wanted: Vec<bool> = view.cluster.nodes().map(|n| selection.nodes.is_empty() || selection.nodes.contains(&n)).collect();
    for c in copies {
        wanted[c.from.index()] = true;
        wanted[c.to.index()] = true;
    }
    let mut columns = 0;
    let column = wanted
        .iter()
        .map(|&w| {
            w.then(|| {
                columns += 1;
                columns - 1
            })
        })
        .collect();
    let col_w = match columns {
        0..=6 => 150.0,
        7..=12 => 110.0,
        13..=24 => 72.0,
        _ => 48.0,
    };
    Frame { t0, t1, scale: plot_h / span_ms, plot_h, col_w, trip_ns, run_end: view.end, column, columns }
}

/// A tick step of 1, 2 or 5 times a power of ten nanoseconds, about `px` pixels apart.
fn tick_step(scale: f64, px: f64) -> u64 {
    let raw_ns = px / scale * 1e6;
    let mut step: u64 = 1;
    loop {
        for m in [1, 2, 5] {
            if (step * m) as f64 >= raw_ns {
                return step * m;
            }
        }
        step *= 10;
    }
}

fn render(view: &TraceView, selection: &Selection) -> Result<String, ExportError> {
    let all = message_copies(view.events);
    let copies: Vec<&MessageCopy> = all.iter().filter(|c| selection.shows_copy(c)).collect();
    let f = frame(view, selection, &copies);
    if f.columns > MAX_LIFELINES {
        return Err(ExportError::TooLarge {
            what: "lifelines",
            count: f.columns,
            limit: MAX_LIFELINES,
            advice: "a diagram that wide is unreadable; choose the nodes to draw with --node \
                     (their lifelines are drawn, and those of the nodes they exchanged messages with)",
        });
    }
    let marks = copies.len().saturating_add(view.events.iter().filter(|e| selection.shows(e)).count());
    if marks > MAX_MARKS {
        return Err(ExportError::TooLarge {
            what: "message arrows and event marks",
            count: marks,
            limit: MAX_MARKS,
            advice: "a diagram that dense is a solid block; narrow the selection with --from/--to (ms), --node or --kind, \
                     or use --format chrome",
        });
    }
    let periods = if selection.kind_selected(Kind::Fault) { fault_periods(view.events) } else { Vec::new() };
    let mut labels = Labels::default();
    let mut body = String::new();

    // Partition bands under everything else.
    for p in periods.iter().filter(|p| p.action == FaultAction::Partition) {
        let end = p.end.unwrap_or(view.end);
        if !selection.overlaps(p.start, end) {
            continue;
        }
        let (ya, yb) = (f.y(p.start), f.y(end));
        let until = p.end.map_or("the end of the run".to_string(), |e| format!("{} ms", ms(e)));
        let _ = writeln!(
            body,
            "<g><title>partition (fault #{}) from {} ms to {until}</title><rect class=\"partition\" x=\"{LEFT:.1}\" y=\"{ya:.1}\" width=\"{:.1}\" height=\"{:.1}\"/></g>",
            p.index,
            ms(p.start),
            f.width() - LEFT - 8.0,
            (yb - ya).max(1.0)
        );
        let text = format!("partition #{}", p.index);
        if labels.place(LEFT + 4.0, ya + 12.0, &text) {
            let _ = writeln!(body, "<text class=\"band-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>", LEFT + 4.0, ya + 12.0, esc(&text));
        }
    }

    // The time axis, with a faint grid.
    let step = tick_step(f.scale, 70.0);
    let mut tick = f.t0.as_nanos().div_ceil(step) * step;
    while tick <= f.t1.as_nanos() {
        let y = f.y(SimTime(tick));
        let _ = writeln!(
            body,
            "<line class=\"grid\" x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{} ms</text>",
            f.width() - 8.0,
            LEFT - 8.0,
            y + 4.0,
            ms(SimTime(tick))
        );
        tick += step;
    }

    // Lifelines, then down and paused periods over them.
    for node in view.cluster.nodes() {
        if let Some(x) = f.x(node) {
            let _ = writeln!(body, "<line class=\"life\" x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>", f.bottom());
        }
    }
    for p in periods.iter().filter(|p| p.action != FaultAction::Partition) {
        period(&mut body, &mut labels, view, &f, selection, p);
    }

    // Message copies. Their labels keep off crosses and process marks, placed first.
    let labelled = copies.len() <= MAX_LABELLED;
    if labelled {
        for c in &copies {
            if let (Some(l), Fate::Dropped(_)) = (line(&f, c), c.fate) {
                match l.wait {
                    Some(w) => labels.block(w.x, w.y2, 5.0),
                    None => labels.block(l.x2, l.y2, 5.0),
                }
            }
        }
        for event in view.events.iter().filter(|e| f.contains(e.time) && selection.shows(e)) {
            if let Some(x) = marked_node(&event.kind).and_then(|n| f.x(n)) {
                labels.block(x, f.y(event.time), 4.0);
            }
        }
    }
    // Waits in mailboxes under the arrows, so the crosses and heads that end on them show.
    for c in &copies {
        wait_bar(&mut body, view, &f, c);
    }
    for c in &copies {
        arrow(&mut body, &mut labels, view, &f, c, labelled);
    }

    // What happened in the processes: deliveries, commands, refusals, timers, dead letters.
    for event in view.events.iter().filter(|e| f.contains(e.time) && selection.shows(e)) {
        mark(&mut body, &mut labels, view, &f, event.time, &event.kind, labelled);
    }

    let mut sub = format!("{} ms to {} ms, {} of {} message copies", ms(f.t0), ms(f.t1), copies.len(), all.len());
    if !selection.nodes.is_empty() {
        let names: Vec<&str> = selection.nodes.iter().map(|&n| view.cluster.name(n)).collect();
        let _ = write!(sub, ", nodes {}", names.join(" "));
    }
    if !selection.kinds.is_empty() {
        let kinds: Vec<&str> = selection.kinds.iter().map(|k| k.name()).collect();
        let _ = write!(sub, ", kinds {}", kinds.join(" "));
    }
    if !labelled {
        sub.push_str("; hover over an arrow for its details");
    }
    // Wide enough for the title and the legend, even with few lifelines.
    let title = format!("{} (seed {})", view.name, view.seed);
    let width = f.width().max(title.chars().count() as f64 * 8.6 + 24.0).max(sub.chars().count() as f64 * 6.2 + 24.0).max(560.0);
    let mut svg = String::new();
    let legend_y = f.bottom() + 46.0;
    let has = |f: fn(&EventKind) -> bool| view.events.iter().any(|e| f(&e.kind));
    let breaker = has(|k| matches!(k, EventKind::Call { .. } | EventKind::Breaker { .. }));
    let detector = has(|k| matches!(k, EventKind::Suspicion { .. }));
    let views = has(|k| matches!(k, EventKind::View { .. }));
    let waited = copies.iter().any(|c| c.queued.is_some());
    let never_taken = copies.iter().any(|c| c.fate == Fate::Waiting);
    let (legend, legend_h) = legend(width, legend_y, Extras { breaker, detector, views, waited, never_taken });
    let height = legend_y + legend_h + 10.0;
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\"{}>",
        if copies.len() > DENSE { " class=\"dense\"" } else { "" }
    );
    svg.push_str(STYLE);
    if waited {
        svg.push_str(WAITING_STYLE);
    }
    let _ = writeln!(svg, "<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>");
    // The title: what run, what window, what filters.
    let _ = writeln!(svg, "<text class=\"title\" x=\"12\" y=\"20\">{}</text>", esc(&title));
    let _ = writeln!(svg, "<text class=\"sub\" x=\"12\" y=\"38\">{}</text>", esc(&sub));
    svg.push_str(&body);
    // Node names above and below the lifelines; a name too long for its box is cut
    // short, and whole in its tooltip.
    let w = (f.col_w - 12.0).min(90.0);
    let fits = (w / 7.0) as usize;
    for node in view.cluster.nodes() {
        let Some(x) = f.x(node) else { continue };
        let name = view.cluster.name(node);
        let shown = match name.chars().count() > fits {
            true => format!("{}…", name.chars().take(fits.saturating_sub(1)).collect::<String>()),
            false => name.to_string(),
        };
        for y in [TOP - 24.0, f.bottom() + 6.0] {
            let _ = writeln!(
                svg,
                "<g><title>{}</title><rect class=\"name\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"18\" rx=\"3\"/><text class=\"name\" x=\"{x:.1}\" y=\"{:.1}\">{}</text></g>",
                esc(name),
                x - w / 2.0,
                y + 13.0,
                esc(&shown)
            );
        }
    }
    svg.push_str(&legend);
    svg.push_str("</svg>\n");
    Ok(svg)
}

const STYLE: &str = r##"<defs>
<style>
.title { font-size: 14px; font-weight: bold; fill: #222; }
.sub { font-size: 11px; fill: #555; }
.tick { font-size: 10px; fill: #666; text-anchor: end; }
.grid { stroke: #eeeeee; stroke-width: 1; }
.life { stroke: #444; stroke-width: 1.5; }
rect.name { fill: #f2f2f2; stroke: #444; }
text.name { font-weight: bold; text-anchor: middle; fill: #222; }
.partition { fill: #f4a261; fill-opacity: 0.18; }
.band-label { font-size: 10px; fill: #b5651d; font-style: italic; }
.down { fill: url(#hatch); stroke: #777; }
.paused { fill: #fff3b0; stroke: #c9a100; stroke-dasharray: 3 2; }
.msg { stroke: #1f4e79; stroke-width: 1.2; fill: none; }
.dup { stroke: #8e44ad; stroke-width: 1.2; stroke-dasharray: 6 3; fill: none; }
.corrupt { stroke: #e67e22; stroke-width: 1.8; fill: none; }
.lost { stroke: #c0392b; stroke-width: 1.2; stroke-dasharray: 2 2; fill: none; }
.flight { stroke: #888; stroke-width: 1.2; stroke-dasharray: 1 3; fill: none; }
.cross { stroke: #c0392b; stroke-width: 2; }
.dense .msg, .dense .dup, .dense .lost, .dense .flight { stroke-opacity: 0.45; }
.dense .cross { stroke-width: 1.4; }
.deliver { fill: #2e8b57; stroke: #ffffff; stroke-width: 0.8; }
.damaged { fill: #c0392b; stroke: #000; stroke-width: 1; }
.cmd { fill: #222; }
.refuse { fill: #ffffff; stroke: #c0392b; stroke-width: 1.2; }
.timer { fill: #ffffff; stroke: #555; stroke-width: 1.2; }
.dead { fill: #000; }
.label { font-size: 9.5px; fill: #333; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }
.fault-label { font-size: 10px; font-weight: bold; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
</style>
<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e6e6e6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern>
<marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e79"/></marker>
<marker id="head-dup" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8e44ad"/></marker>
<marker id="head-corrupt" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#e67e22"/></marker>
</defs>
"##;

/// Only diagrams with a copy that waited in a mailbox carry these styles, so that the others
/// keep their stylesheet.
const WAITING_STYLE: &str = r##"<defs>
<style>
.waiting { stroke: #1f4e79; stroke-width: 1.2; stroke-dasharray: 5 3; fill: none; }
.wait { stroke: #5b9bd5; stroke-width: 3; stroke-opacity: 0.6; }
.dense .waiting { stroke-opacity: 0.45; }
</style>
<marker id="head-waiting" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M1,1 L9,5 L1,9 z" fill="#ffffff" stroke="#1f4e79" stroke-width="1.5"/></marker>
</defs>
"##;

fn cross(body: &mut String, x: f64, y: f64) {
    let r = 4.0;
    let _ = write!(
        body,
        "<path class=\"cross\" d=\"M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}\"/>",
        x - r,
        y - r,
        x + r,
        y + r,
        x - r,
        y + r,
        x + r,
        y - r
    );
}

/// Where a copy's line runs, clipped to the window.
struct Line {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    /// A copy dropped as it was sent: a short stub towards its receiver.
    stub: bool,
    /// The line ends inside the window (so it gets its head or cross).
    reaches_end: bool,
    /// A copy that waited in the receiver's mailbox: the wait, beside the receiver's lifeline,
    /// from its arrival to when it was taken or dropped, or to the end of the run.
    wait: Option<Wait>,
}

/// A wait in a mailbox, clipped to the window.
struct Wait {
    x: f64,
    y1: f64,
    y2: f64,
    /// The wait ends inside the window (so a drop gets its cross there).
    reaches_end: bool,
}

/// How far beside the receiver's lifeline a wait in its mailbox is drawn (pixels).
const WAIT_OFFSET: f64 = 4.0;

/// The fraction of the way to its receiver a copy still in flight is drawn at most, so that
/// it never seems to have arrived.
const IN_FLIGHT_REACH: f64 = 0.85;

fn line(f: &Frame, c: &MessageCopy) -> Option<Line> {
    let (xa, xb) = (f.x(c.from)?, f.x(c.to)?);
    let ya = f.y(c.sent);
    // A copy dropped when it is sent never travels: show a short stub towards its
    // receiver, ending in the cross, so it can be seen and hovered.
    if matches!(c.fate, Fate::Dropped(r) if r != DropReason::NodeDown) && c.end == c.sent {
        // Its length grows with the distance to the receiver, so the stubs of a broadcast
        // dropped at once fan out instead of lying on top of each other.
        let dx = (xb - xa).signum() * ((xb - xa).abs() * 0.3).min(f.col_w * 0.9);
        return Some(Line { x1: xa, y1: ya, x2: xa + dx, y2: ya + 10.0, stub: true, reaches_end: true, wait: None });
    }
    // Where and when the line ends: at the receiver when the copy arrived there (taken at
    // once, or put in its mailbox) or was dropped on the way; a copy still in flight at the
    // end of the run is drawn as far towards its receiver as a typical trip would have taken
    // it by then, short of the lifeline, since it never got there.
    let (te, xe) = match c.fate {
        Fate::Received { .. } | Fate::Dropped(_) => (c.queued.unwrap_or(c.end), xb),
        Fate::Waiting => (c.queued.expect("a waiting copy arrived"), xb),
        Fate::InFlight => {
            let te = f.run_end.max(c.sent);
            let k = ((te.as_nanos() - c.sent.as_nanos()) as f64 / f.trip_ns).min(IN_FLIGHT_REACH);
            (te, xa + (xb - xa) * k)
        }
    };
    // Clip the line to the window, keeping its slope: the point at time t lies
    // (t - sent) / (te - sent) of the way along.
    let trip = te.as_nanos().saturating_sub(c.sent.as_nanos()).max(1) as f64;
    let at = |t: SimTime| {
        let t = t.clamp(f.t0, f.t1).clamp(c.sent, te);
        let k = (t.as_nanos() - c.sent.as_nanos()) as f64 / trip;
        (xa + (xe - xa) * k, f.y(t))
    };
    let (p, q) = (at(c.sent.max(f.t0)), at(te.min(f.t1)));
    // Only an end inside the window gets a head: an arrival before `--from` would otherwise
    // leave a head on a zero-length line at the top of the receiver's lifeline.
    let reaches_end = f.contains(te) && c.fate != Fate::InFlight;
    // The wait goes on the side the copy came from, clear of the lifeline.
    let until = c.end_time().unwrap_or(f.run_end);
    let wait = c.queued.filter(|&arrived| arrived <= f.t1 && until >= f.t0).map(|arrived| Wait {
        x: xb + if xa < xb { -WAIT_OFFSET } else { WAIT_OFFSET },
        y1: f.y(arrived),
        y2: f.y(until),
        reaches_end: until <= f.t1,
    });
    Some(Line { x1: p.0, y1: p.1, x2: q.0, y2: q.1, stub: false, reaches_end, wait })
}

fn arrow(body: &mut String, labels: &mut Labels, view: &TraceView, f: &Frame, c: &MessageCopy, labelled: bool) {
    let name = |n: NodeId| view.cluster.name(n);
    let dup = if c.duplicate { ", second copy of a duplicated message" } else { "" };
    let mut title = format!("m{} {} -> {}{dup}: sent {} ms", c.msg.0, name(c.from), name(c.to), ms(c.sent));
    if let (Some(at), false) = (c.queued, c.fate == Fate::Waiting) {
        let _ = write!(title, ", arrived {} ms and waited in {}'s mailbox", ms(at), name(c.to));
    }
    let taken = if c.queued.is_some() { "taken" } else { "received" };
    // Where the line ends and how it looks there.
    let (class, head) = match c.fate {
        Fate::Received { corrupted } => {
            let _ = write!(title, ", {taken} {} ms{}", ms(c.end), if corrupted { ", CORRUPTED (checksum fails)" } else { "" });
            let (class, head) = match (corrupted, c.duplicate) {
                (true, _) => ("corrupt", "head-corrupt"),
                (false, true) => ("dup", "head-dup"),
                (false, false) => ("msg", "head"),
            };
            (class, Some(head))
        }
        Fate::Dropped(reason) => {
            let _ = write!(title, ", dropped {} ms, {}", ms(c.end), reason_text(reason));
            ("lost", None)
        }
        Fate::Waiting => {
            let at = ms(c.queued.expect("a waiting copy arrived"));
            let _ = write!(title, ", waiting in {}'s mailbox since {at} ms, never taken", name(c.to));
            ("waiting", Some("head-waiting"))
        }
        Fate::InFlight => {
            title.push_str(", still in flight when the run ended");
            ("flight", None)
        }
    };
    let Some(Line { x1, y1, x2, y2, stub, reaches_end, wait }) = line(f, c) else { return };
    let marker = match (head, reaches_end) {
        (Some(h), true) => format!(" marker-end=\"url(#{h})\""),
        _ => String::new(),
    };
    let _ = write!(
        body,
        "<g><title>{}</title><line class=\"{class}\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"{marker}/>",
        esc(&title)
    );
    // A drop's cross goes where the copy ended: at the end of its wait, if it waited.
    match (c.fate, &wait) {
        (Fate::Dropped(_), Some(w)) if w.reaches_end => cross(body, w.x, w.y2),
        (Fate::Dropped(_), None) if reaches_end => cross(body, x2, y2),
        _ => {}
    }
    body.push_str("</g>\n");
    // A line clipped to a point (sent at the window's very end) gets no label to explain nothing.
    if labelled && (x2 - x1).hypot(y2 - y1) >= 4.0 {
        let text = match c.fate {
            Fate::Dropped(r) => format!("m{} {r:?}", c.msg.0),
            _ => format!("m{}", c.msg.0),
        };
        // A stub's label goes beside its cross, an arrow's above its middle; if that
        // spot is taken, a little lower or higher, then on the other side.
        let w = text.chars().count() as f64 * 5.6;
        let candidates = if stub {
            let (right, left) = (x2 + 6.0, x2 - 6.0 - w);
            let (near, far) = if x2 >= x1 { (right, left) } else { (left, right) };
            [(near, y2 + 4.0), (near, y2 + 14.0), (near, y2 - 7.0), (far, y2 + 4.0)]
        } else {
            let (mx, my) = ((x1 + x2) / 2.0 - w / 2.0, (y1 + y2) / 2.0 - 3.0);
            [(mx, my), (mx, my + 13.0), (mx, my - 11.0), (mx + w / 2.0 + 6.0, my + 6.0)]
        };
        if let Some((x, y)) = candidates.into_iter().find(|&(x, y)| labels.place(x, y, &text)) {
            let _ = writeln!(body, "<text class=\"label\" x=\"{x:.1}\" y=\"{y:.1}\">{}</text>", esc(&text));
        }
    }
}

/// A copy's wait in its receiver's mailbox, if it waited: a bar beside the lifeline.
fn wait_bar(body: &mut String, view: &TraceView, f: &Frame, c: &MessageCopy) {
    let (Some(Line { wait: Some(w), .. }), Some(arrived)) = (line(f, c), c.queued) else { return };
    let until = match c.fate {
        Fate::Received { .. } => format!("until taken at {} ms", ms(c.end)),
        Fate::Dropped(_) => format!("until dropped at {} ms", ms(c.end)),
        Fate::Waiting | Fate::InFlight => "to the end of the run, never taken".to_string(),
    };
    let title = format!("m{} waited in {}'s mailbox from {} ms {until}", c.msg.0, view.cluster.name(c.to), ms(arrived));
    let _ = writeln!(
        body,
        "<g><title>{}</title><line class=\"wait\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/></g>",
        esc(&title),
        w.x,
        w.y1,
        w.x,
        w.y2
    );
}

fn period(body: &mut String, labels: &mut Labels, view: &TraceView, f: &Frame, selection: &Selection, p: &Period) {
    let Some(node) = p.node else { return };
    let Some(x) = f.x(node) else { return };
    let end = p.end.unwrap_or(view.end);
    if !selection.overlaps(p.start, end) {
        return;
    }
    let (class, what, start_word, end_word) = match p.action {
        FaultAction::Pause => ("paused", "paused", "pause", "resume"),
        _ => ("down", "down (crashed)", "crash", "restart"),
    };
    let until = p.end.map_or("the end of the run".to_string(), |e| format!("{} ms", ms(e)));
    let (ya, yb) = (f.y(p.start), f.y(end));
    let _ = writeln!(
        body,
        "<g><title>{} {what} from {} ms (fault #{}) to {until}</title><rect class=\"{class}\" x=\"{:.1}\" y=\"{ya:.1}\" width=\"12\" height=\"{:.1}\"/></g>",
        esc(view.cluster.name(node)),
        ms(p.start),
        p.index,
        x - 6.0,
        (yb - ya).max(1.0)
    );
    let mut word = |y: f64, text: &str, color: &str| {
        if labels.place(x + 9.0, y, text) {
            let _ = writeln!(body, "<text class=\"fault-label\" fill=\"{color}\" x=\"{:.1}\" y=\"{y:.1}\">{text}</text>", x + 9.0);
        }
    };
    if f.contains(p.start) {
        word(ya + 10.0, start_word, "#c0392b");
    }
    if p.end.is_some_and(|e| f.contains(e)) {
        word(yb - 2.0, end_word, "#2e7d32");
    }
}

/// The node whose lifeline an event is marked on, for the events drawn as marks.
pub(super) fn marked_node(kind: &EventKind) -> Option<NodeId> {
    match *kind {
        EventKind::Deliver { node, .. }
        | EventKind::Command { node, .. }
        | EventKind::CommandRefused { node, .. }
        | EventKind::Timer { node, .. }
        | EventKind::DeadLetter { node, .. }
        | EventKind::Call { node, .. }
        | EventKind::Breaker { node, .. }
        | EventKind::Suspicion { node, .. }
        | EventKind::Block { node, .. }
        | EventKind::Unblock { node, .. }
        | EventKind::CallTimeout { node, .. }
        | EventKind::Deadlock { node, .. }
        | EventKind::View { node, .. } => Some(node),
        EventKind::Adversary { to, .. } => Some(to),
        EventKind::Send { .. }
        | EventKind::Drop { .. }
        | EventKind::Duplicate { .. }
        | EventKind::Corrupt { .. }
        | EventKind::Receive { .. }
        | EventKind::Queued { .. }
        | EventKind::Served { .. }
        // Operations show as their request and reply arrows.
        | EventKind::Op { .. }
        // An attempt shows as the send arrow it precedes.
        | EventKind::Attempt { .. }
        | EventKind::AttemptFailed { .. }
        | EventKind::Answer { .. }
        | EventKind::Ack { .. }
        | EventKind::Fault { .. } => None,
    }
}

fn mark(body: &mut String, labels: &mut Labels, view: &TraceView, f: &Frame, t: SimTime, kind: &EventKind, labelled: bool) {
    let name = |n: NodeId| view.cluster.name(n);
    let (node, title, shape, label) = match *kind {
        EventKind::Deliver { node, app, origin, damaged } => {
            let class = if damaged { "damaged" } else { "deliver" };
            let mark = if damaged { ", DAMAGED payload" } else { "" };
            (
                node,
                format!("{} delivered a{} from {}{mark}", name(node), app.0, name(origin)),
                format!("<circle class=\"{class}\" r=\"3.5\""),
                format!("a{}", app.0),
            )
        }
        // On the receiver's lifeline: an injected copy has no send to draw an arrow from.
        EventKind::Adversary { action, from, to, msg } => (
            to,
            format!("adversary {action:?} m{} from {} to {}", msg.0, name(from), name(to)),
            format!("<path d=\"M0,-4 L4,3 L-4,3 Z\" fill=\"none\" stroke=\"{OPEN_RED}\" stroke-width=\"1.2\""),
            String::new(),
        ),
        EventKind::Command { node, app, .. } => (
            node,
            format!("{} commanded to send a{}", name(node), app.0),
            "<rect class=\"cmd\" x=\"-2.5\" y=\"-2.5\" width=\"5\" height=\"5\"".to_string(),
            String::new(),
        ),
        EventKind::CommandRefused { node, app } => (
            node,
            format!("{} refused a{} (node down)", name(node), app.0),
            "<rect class=\"refuse\" x=\"-3.5\" y=\"-3.5\" width=\"7\" height=\"7\"".to_string(),
            format!("refuse a{}", app.0),
        ),
        EventKind::Timer { node, timer } => {
            (node, format!("{} timer t{}", name(node), timer.0), "<circle class=\"timer\" r=\"3.5\"".to_string(), String::new())
        }
        EventKind::DeadLetter { node, to, app } => (
            node,
            format!("{} gave up on a{} for {} (dead letter)", name(node), app.0, name(to)),
            "<rect class=\"dead\" x=\"-3.5\" y=\"-3.5\" width=\"7\" height=\"7\" transform=\"rotate(45)\"".to_string(),
            format!("dead a{}", app.0),
        ),
        // A refused call sent nothing, so it has no arrow: it gets a mark. Calls that were
        // sent show as their request and response arrows.
        EventKind::Call { node, app, outcome: CallOutcome::Rejected, .. } => (
            node,
            format!("{}'s breaker refused call a{}", name(node), app.0),
            format!("<path d=\"M-3,-3 L3,3 M-3,3 L3,-3\" stroke=\"{OPEN_RED}\" stroke-width=\"1.6\""),
            String::new(),
        ),
        EventKind::Call { .. } => return,
        // The breaker's transitions: a triangle in the colour of the state entered.
        EventKind::Breaker { node, from, to } => (
            node,
            format!("{}'s breaker went from {from:?} to {to:?}", name(node)),
            format!("<path d=\"M-5,-5 L5,0 L-5,5 z\" fill=\"{}\" stroke=\"#000\" stroke-width=\"0.8\"", breaker_colour(to)),
            match to {
                BreakerState::Closed => "closed",
                BreakerState::Open => "OPEN",
                BreakerState::HalfOpen => "half-open",
            }
            .to_string(),
        ),
        // A detector's verdict: a hollow diamond for a suspicion, a filled one for trust regained.
        EventKind::Suspicion { node, of, suspected } => (
            node,
            match suspected {
                true => format!("{} began to suspect {}", name(node), name(of)),
                false => format!("{} trusts {} again", name(node), name(of)),
            },
            format!(
                "<path d=\"M0,-5 L5,0 L0,5 L-5,0 z\" fill=\"{}\" stroke=\"{OPEN_RED}\" stroke-width=\"1.2\"",
                if suspected { "#ffffff" } else { OPEN_RED }
            ),
            format!("{} {}", if suspected { "suspect" } else { "trust" }, name(of)),
        ),
        // A blocked process: a bar across its lifeline where the wait begins and where it ends.
        EventKind::Block { node, on, reason, .. } => (
            node,
            format!("{} blocked on {} ({reason:?})", name(node), name(on)),
            "<rect x=\"-6\" y=\"-1.5\" width=\"12\" height=\"3\" fill=\"#555\"".to_string(),
            format!("wait {}", name(on)),
        ),
        EventKind::Unblock { node, reason } => (
            node,
            format!("{} went on ({reason:?})", name(node)),
            "<rect x=\"-6\" y=\"-1.5\" width=\"12\" height=\"3\" fill=\"#fff\" stroke=\"#555\"".to_string(),
            String::new(),
        ),
        EventKind::CallTimeout { node, callee, msg } => (
            node,
            format!("{} gave up waiting for the answer to m{} from {}", name(node), msg.0, name(callee)),
            "<rect x=\"-6\" y=\"-1.5\" width=\"12\" height=\"3\" fill=\"#fff\" stroke=\"#555\"".to_string(),
            String::new(),
        ),
        EventKind::Deadlock { node, len, permanent } => (
            node,
            match permanent {
                true => format!("deadlock: {len} processes wait on each other"),
                false => format!("wait cycle of {len} processes; a timeout will break it"),
            },
            format!("<path d=\"M-5,-5 L5,5 M-5,5 L5,-5\" stroke=\"{OPEN_RED}\" stroke-width=\"2.2\""),
            if permanent { "DEADLOCK" } else { "wait cycle" }.to_string(),
        ),
        // A view installed: a hollow square with the view's number.
        EventKind::View { node, view: v, members } => (
            node,
            format!("{} installed view v{v} {{{}}}", name(node), crate::trace::member_names(members, view.cluster).join(", ")),
            "<rect x=\"-4\" y=\"-4\" width=\"8\" height=\"8\" fill=\"#ffffff\" stroke=\"#1f4e9c\" stroke-width=\"1.4\"".to_string(),
            format!("v{v}"),
        ),
        // Messages are the arrows, faults the periods and bands.
        EventKind::Queued { .. }
        | EventKind::Served { .. }
        | EventKind::Op { .. }
        | EventKind::Send { .. }
        | EventKind::Drop { .. }
        | EventKind::Duplicate { .. }
        | EventKind::Corrupt { .. }
        | EventKind::Receive { .. }
        | EventKind::Attempt { .. }
        | EventKind::AttemptFailed { .. }
        | EventKind::Answer { .. }
        | EventKind::Ack { .. }
        | EventKind::Fault { .. } => return,
    };
    let Some(x) = f.x(node) else { return };
    let y = f.y(t);
    let title = format!("{title} at {} ms", ms(t));
    // Shapes are drawn around the origin and moved into place, so each is centred.
    let _ = writeln!(body, "<g transform=\"translate({x:.1},{y:.1})\"><title>{}</title>{shape}/></g>", esc(&title));
    if labelled && !label.is_empty() && labels.place(x + 7.0, y + 4.0, &label) {
        let _ = writeln!(body, "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>", x + 7.0, y + 4.0, esc(&label));
    }
}

const OPEN_RED: &str = "#d62828";

/// Breaker marks carry their colours inline, so that diagrams without a breaker keep their stylesheet.
fn breaker_colour(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "#2e8b57",
        BreakerState::Open => OPEN_RED,
        BreakerState::HalfOpen => "#f4c430",
    }
}

/// The legend entries a diagram has only when it draws them.
struct Extras {
    breaker: bool,
    detector: bool,
    views: bool,
    /// A copy that waited in a mailbox.
    waited: bool,
    /// A copy still waiting in a mailbox at the end, never taken.
    never_taken: bool,
}

/// The legend, laid out in rows that fit the diagram's width; returns it and its height.
/// The breaker's and the failure detector's marks, views and copies left waiting are listed
/// only when the diagram has them.
fn legend(width: f64, top: f64, extras: Extras) -> (String, f64) {
    let Extras { breaker, detector, views, waited, never_taken } = extras;
    let mut items: Vec<(String, &str)> = [
        (r#"<line class="msg" x1="0" y1="-4" x2="26" y2="4" marker-end="url(#head)"/>"#, "message received"),
        (r#"<line class="dup" x1="0" y1="-4" x2="26" y2="4" marker-end="url(#head-dup)"/>"#, "second copy (duplicate)"),
        (r#"<line class="corrupt" x1="0" y1="-4" x2="26" y2="4" marker-end="url(#head-corrupt)"/>"#, "corrupted copy received"),
        (
            r#"<line class="lost" x1="0" y1="-4" x2="22" y2="2"/><path class="cross" d="M18,-2 L26,6 M18,6 L26,-2"/>"#,
            "dropped (hover: why)",
        ),
        (r#"<line class="flight" x1="0" y1="-4" x2="26" y2="4"/>"#, "in flight at the end"),
        (r#"<circle class="deliver" cx="13" cy="0" r="3.5"/>"#, "delivered to the app"),
        (r#"<circle class="damaged" cx="13" cy="0" r="3.5"/>"#, "delivered DAMAGED"),
        (r#"<rect class="cmd" x="10.5" y="-2.5" width="5" height="5"/>"#, "command (app sends)"),
        (r#"<rect class="refuse" x="9.5" y="-3.5" width="7" height="7"/>"#, "command refused"),
        (r#"<circle class="timer" cx="13" cy="0" r="3.5"/>"#, "timer fired"),
        (r#"<rect class="dead" x="9.5" y="-3.5" width="7" height="7" transform="rotate(45 13 0)"/>"#, "dead letter (gave up)"),
        (r#"<rect class="down" x="7" y="-7" width="12" height="14"/>"#, "node down (crashed)"),
        (r#"<rect class="paused" x="7" y="-7" width="12" height="14"/>"#, "node paused"),
        (r#"<rect class="partition" x="0" y="-7" width="26" height="14"/>"#, "network partitioned"),
    ]
    .into_iter()
    .map(|(glyph, text)| (glyph.to_string(), text))
    .collect();
    // After "in flight at the end", in the order a copy's trip goes.
    if never_taken {
        let arrow = r#"<line class="waiting" x1="0" y1="-4" x2="26" y2="4" marker-end="url(#head-waiting)"/>"#;
        items.insert(5, (arrow.to_string(), "in a mailbox at the end"));
    }
    if waited {
        items.insert(5, (r#"<line class="wait" x1="13" y1="-7" x2="13" y2="7"/>"#.to_string(), "waiting in a mailbox"));
    }
    if breaker {
        let triangle =
            |to| format!("<path d=\"M8,-5 L18,0 L8,5 z\" fill=\"{}\" stroke=\"#000\" stroke-width=\"0.8\"/>", breaker_colour(to));
        items.push((triangle(BreakerState::Open), "breaker opens"));
        items.push((triangle(BreakerState::HalfOpen), "breaker half-opens"));
        items.push((triangle(BreakerState::Closed), "breaker closes"));
        items.push((
            format!("<path d=\"M10,-3 L16,3 M10,3 L16,-3\" stroke=\"{OPEN_RED}\" stroke-width=\"1.6\"/>"),
            "call refused by breaker",
        ));
    }
    if detector {
        let diamond =
            |fill: &str| format!("<path d=\"M13,-5 L18,0 L13,5 L8,0 z\" fill=\"{fill}\" stroke=\"{OPEN_RED}\" stroke-width=\"1.2\"/>");
        items.push((diamond("#ffffff"), "detector suspects"));
        items.push((diamond(OPEN_RED), "detector trusts again"));
    }
    if views {
        let square = "<rect x=\"9\" y=\"-4\" width=\"8\" height=\"8\" fill=\"#ffffff\" stroke=\"#1f4e9c\" stroke-width=\"1.4\"/>";
        items.push((square.to_string(), "view installed"));
    }
    let item_w = 178.0;
    let per_row = (((width - 24.0) / item_w).floor() as usize).max(1);
    let mut s = format!("<g class=\"legend\"><text class=\"sub\" x=\"12\" y=\"{:.1}\">Legend</text>\n", top - 14.0);
    for (i, (glyph, text)) in items.iter().enumerate() {
        let (col, row) = (i % per_row, i / per_row);
        let (x, y) = (12.0 + col as f64 * item_w, top + row as f64 * 20.0);
        let _ = writeln!(s, "<g transform=\"translate({x:.1},{y:.1})\">{glyph}<text x=\"34\" y=\"4\">{text}</text></g>");
    }
    s.push_str("</g>\n");
    let rows = items.len().div_ceil(per_row);
    (s, rows as f64 * 20.0 + 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_about_as_far_apart_as_asked() {
        // 10 px per ms: 70 px is 7 ms, rounded up to 10 ms.
        assert_eq!(tick_step(10.0, 70.0), 10_000_000);
        // 0.5 px per ms: 140 ms, rounded up to 200 ms.
        assert_eq!(tick_step(0.5, 70.0), 200_000_000);
        // 1000 px per ms: 70 us, rounded up to 100 us.
        assert_eq!(tick_step(1000.0, 70.0), 100_000);
    }

    use crate::id::MsgId;
    use crate::process::Cluster;
    use crate::trace::TraceEvent;

    /// The wait drawn beside a lifeline for message `m`, if any: (x, y1, y2).
    fn wait_of(svg: &str, m: u64) -> Option<(f64, f64, f64)> {
        let doc = roxmltree::Document::parse(svg).expect("the SVG is XML");
        let num = |n: &roxmltree::Node, a: &str| n.attribute(a).expect("a coordinate").parse::<f64>().unwrap();
        let title =
            doc.descendants().find(|n| n.has_tag_name("title") && n.text().is_some_and(|t| t.starts_with(&format!("m{m} waited "))))?;
        let wait = title.next_sibling_element().filter(|n| n.attribute("class") == Some("wait")).expect("its bar");
        assert_eq!(num(&wait, "x1"), num(&wait, "x2"), "a wait runs down the lifeline");
        Some((num(&wait, "x1"), num(&wait, "y1"), num(&wait, "y2")))
    }

    /// A line as drawn: (class, x1, y1, x2, y2, has a head).
    type Drawn = (String, f64, f64, f64, f64, bool);

    /// The line drawn for message `m`, and the x of each lifeline.
    fn drawn(svg: &str, m: u64) -> (Drawn, Vec<f64>) {
        let doc = roxmltree::Document::parse(svg).expect("the SVG is XML");
        let num = |n: &roxmltree::Node, a: &str| n.attribute(a).expect("a coordinate").parse::<f64>().unwrap();
        let lives = doc.descendants().filter(|n| n.attribute("class") == Some("life")).map(|n| num(&n, "x1")).collect();
        let title = doc
            .descendants()
            .find(|n| n.has_tag_name("title") && n.text().is_some_and(|t| t.starts_with(&format!("m{m} ")) && t.contains(" -> ")))
            .unwrap_or_else(|| panic!("m{m} is drawn"));
        let line = title.next_sibling_element().expect("its line");
        let class = line.attribute("class").unwrap().to_string();
        ((class, num(&line, "x1"), num(&line, "y1"), num(&line, "x2"), num(&line, "y2"), line.attribute("marker-end").is_some()), lives)
    }

    /// Regression: copies waiting in a mailbox, or in flight, at the end of the run were drawn
    /// down their sender's lifeline (their end, `SimTime::MAX`, put them 0% of the way across).
    #[test]
    fn copies_that_waited_end_at_the_receiver_and_copies_in_flight_head_for_it() {
        let (a, b) = (NodeId(0), NodeId(1));
        let ev = |ms: u64, kind| TraceEvent { time: SimTime::from_ms(ms), kind };
        let events = [
            // m0 takes 2 ms: the typical trip.
            ev(0, EventKind::Send { from: b, to: a, msg: MsgId(0), size: 8 }),
            ev(2, EventKind::Receive { from: b, to: a, msg: MsgId(0), corrupted: false }),
            // m1 arrives at 3 ms and waits, never taken.
            ev(1, EventKind::Send { from: a, to: b, msg: MsgId(1), size: 8 }),
            ev(3, EventKind::Queued { from: a, to: b, msg: MsgId(1), depth: 1 }),
            // m4 arrives at 2 ms and waits until b takes it at 5 ms.
            ev(0, EventKind::Send { from: a, to: b, msg: MsgId(4), size: 8 }),
            ev(2, EventKind::Queued { from: a, to: b, msg: MsgId(4), depth: 2 }),
            ev(5, EventKind::Receive { from: a, to: b, msg: MsgId(4), corrupted: false }),
            // m2 is still on the link when the run ends at 10 ms, 1 ms after it was sent;
            // m3 has been for 6 ms, three typical trips.
            ev(4, EventKind::Send { from: a, to: b, msg: MsgId(3), size: 8 }),
            ev(9, EventKind::Send { from: a, to: b, msg: MsgId(2), size: 8 }),
        ];
        let cluster = Cluster { names: vec!["a".into(), "b".into()], groups: Vec::new() };
        let view = TraceView { events: &events, cluster: &cluster, name: "ends", seed: 0, end: SimTime::from_ms(10), verdicts: &[] };
        let svg = render(&view, &Selection::default()).unwrap();
        let copies = message_copies(&events);
        let f = frame(&view, &Selection::default(), &copies.iter().collect::<Vec<_>>());
        let ((class, x1, y1, x2, y2, head), lives) = drawn(&svg, 1);
        let (xa, xb) = (lives[0], lives[1]);
        assert_eq!((class.as_str(), x1, y1, head), ("waiting", xa, f.y(SimTime::from_ms(1)), true));
        assert_eq!((x2, y2), (xb, f.y(SimTime::from_ms(3))), "on b's lifeline when it arrived");
        assert!(svg.contains("waiting in b&apos;s mailbox since 3 ms, never taken"));
        assert!(svg.contains("in a mailbox at the end"), "the legend explains the dashed arrow");
        // Its wait, beside b's lifeline on a's side, lasts to the end of the run.
        assert_eq!(wait_of(&svg, 1), Some((xb - WAIT_OFFSET, f.y(SimTime::from_ms(3)), f.y(SimTime::from_ms(10)))));
        // One that was taken in the end arrives where it arrived, with its head, and waits until taken.
        let ((class, _, _, x2, y2, head), _) = drawn(&svg, 4);
        assert_eq!((class.as_str(), x2, y2, head), ("msg", xb, f.y(SimTime::from_ms(2)), true));
        assert_eq!(wait_of(&svg, 4), Some((xb - WAIT_OFFSET, f.y(SimTime::from_ms(2)), f.y(SimTime::from_ms(5)))));
        assert!(svg.contains("arrived 2 ms and waited in b&apos;s mailbox, taken 5 ms"));
        assert!(svg.contains("m4 waited in b&apos;s mailbox from 2 ms until taken at 5 ms"));
        assert!(svg.contains("m1 waited in b&apos;s mailbox from 3 ms to the end of the run, never taken"));
        assert_eq!(wait_of(&svg, 0), None, "m0 was taken as it arrived");
        // Half a typical trip gone: half-way across, at the end of the run, with no head.
        let ((class, _, _, x2, y2, head), _) = drawn(&svg, 2);
        assert_eq!((class.as_str(), x2, y2, head), ("flight", xa + (xb - xa) * 0.5, f.y(SimTime::from_ms(10)), false));
        // Longer than a trip on the way: still short of b.
        let ((_, _, _, x2, _, _), _) = drawn(&svg, 3);
        assert_eq!(x2, xa + (xb - xa) * IN_FLIGHT_REACH);
        // A window ending before the run did clips the line where the window ends, on its way.
        let early = Selection { to: Some(SimTime::from_ms(7)), ..Selection::default() };
        let svg = render(&view, &early).unwrap();
        let ((_, _, _, x2, y2, _), _) = drawn(&svg, 3);
        let f = frame(&view, &early, &copies.iter().collect::<Vec<_>>());
        assert_eq!(y2, f.bottom());
        assert!(xa < x2 && x2 < xa + (xb - xa) * IN_FLIGHT_REACH, "{x2}");
    }

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(esc(r#"a<b>&"c"'d'"#), "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
    }
}

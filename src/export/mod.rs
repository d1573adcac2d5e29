//! Writing a recorded trace in one of several formats, and what the formats share: which
//! part of the trace to show (a time window, nodes, event kinds) and the message copies
//! (one transmission's trip from its send to its receive or drop) the diagrams draw.
//!
//! One module per format: `text` and `jsonl` list events, `svg` draws a space-time
//! diagram, `chrome` writes trace-event JSON for Perfetto, `shiviz` a log with vector
//! clocks, `mermaid` a sequence diagram, `html` an interactive viewer.

pub mod chrome;
pub mod html;
pub mod jsonl;
pub mod mermaid;
pub mod shiviz;
pub mod svg;
pub mod text;

use crate::causality::CausalTracker;
use crate::check::Verdict;
use crate::id::{MsgId, NodeId};
use crate::process::Cluster;
use crate::time::SimTime;
use crate::trace::{DropReason, EventKind, FaultAction, TraceEvent};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{self, Write};

/// The formats a trace can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// One line per event (the legend is in the book's "Reading a trace"), vector clock last.
    Text,
    /// One JSON object per line: the event's fields, plus `vc` for process events.
    JsonLines,
    /// A space-time diagram: a lifeline per node, an arrow per message copy.
    Svg,
    /// Trace-event JSON (Perfetto, chrome://tracing): a track per node, flows for messages.
    Chrome,
    /// A ShiViz log: each process event with its vector clock.
    ShiViz,
    /// A Mermaid sequence diagram, for small selections.
    Mermaid,
    /// An interactive viewer: one self-contained HTML page.
    Html,
}

impl TraceFormat {
    /// Every format, in the order `msgsim trace --help` lists them.
    pub const ALL: [TraceFormat; 7] = [
        TraceFormat::Text,
        TraceFormat::JsonLines,
        TraceFormat::Svg,
        TraceFormat::Chrome,
        TraceFormat::ShiViz,
        TraceFormat::Mermaid,
        TraceFormat::Html,
    ];

    /// The name `msgsim trace --format` takes.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Text => "text",
            TraceFormat::JsonLines => "jsonl",
            TraceFormat::Svg => "svg",
            TraceFormat::Chrome => "chrome",
            TraceFormat::ShiViz => "shiviz",
            TraceFormat::Mermaid => "mermaid",
            TraceFormat::Html => "html",
        }
    }

    /// The format `msgsim trace --format` names `name`, if any.
    pub fn from_name(name: &str) -> Option<TraceFormat> {
        TraceFormat::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl TraceFormat {
    /// Whether the format is written event by event as a run makes them ([`EventWriter`]):
    /// text, jsonl and shiviz. The others draw or index the whole trace, which is kept first.
    pub fn streams(self) -> bool {
        matches!(self, TraceFormat::Text | TraceFormat::JsonLines | TraceFormat::ShiViz)
    }

    /// What writing the format builds from each event of a kept trace, beyond the event
    /// itself, in bytes: `msgsim trace` counts a kept trace against the run's memory budget
    /// at this much more an event (measured as the peak memory of the export over the events
    /// it wrote, rounded up; 0 for the formats that keep nothing).
    pub fn bytes_per_kept_event(self) -> u64 {
        match self {
            TraceFormat::Text | TraceFormat::JsonLines | TraceFormat::ShiViz => 0,
            TraceFormat::Chrome => KEPT_CHROME,
            TraceFormat::Svg => KEPT_SVG,
            TraceFormat::Mermaid => KEPT_MERMAID,
            TraceFormat::Html => KEPT_HTML,
        }
    }
}

// Peak memory of `msgsim trace --format X` less that of `msgsim run`, over the events of the
// trace, less an event's own place, on a two-node stream (160,000 events) and a 16-node
// push-pull gossip (150,000): at most 57 and 240, 64 and 605 bytes; a quarter more here.
const KEPT_CHROME: u64 = 80;
const KEPT_SVG: u64 = 300;
const KEPT_MERMAID: u64 = 80;
const KEPT_HTML: u64 = 760;

/// Writes a streaming format ([`TraceFormat::streams`]) one event at a time, in trace order, as
/// a run makes them: what it holds is the vector clocks of the nodes and of the messages in
/// flight (clusters up to [`text::MAX_NODES_WITH_CLOCKS`], or [`shiviz::MAX_NODES`]), never
/// the trace. Writes the same bytes as [`write_trace`] over the whole trace.
pub struct EventWriter<'a> {
    out: &'a mut dyn Write,
    cluster: &'a Cluster,
    selection: &'a Selection,
    form: Form,
    shown: u64,
    /// The first write that failed: later events are dropped, and `finish` reports it.
    failed: Option<io::Error>,
}

/// A streaming format and what it tracks.
enum Form {
    Text(Option<CausalTracker>),
    JsonLines(Option<CausalTracker>),
    ShiViz(CausalTracker),
}

impl<'a> EventWriter<'a> {
    /// A writer of `format` to `out` (its header written), or `None` for a format that needs
    /// the whole trace; refused, before anything is written, as `write_trace` would refuse it.
    pub fn new(
        out: &'a mut dyn Write,
        format: TraceFormat,
        cluster: &'a Cluster,
        selection: &'a Selection,
    ) -> Result<Option<Self>, ExportError> {
        let form = match format {
            TraceFormat::Text => Form::Text(text::clocks(cluster)),
            TraceFormat::JsonLines => Form::JsonLines(text::clocks(cluster)),
            TraceFormat::ShiViz => Form::ShiViz(shiviz::begin(out, cluster)?),
            TraceFormat::Svg | TraceFormat::Chrome | TraceFormat::Mermaid | TraceFormat::Html => return Ok(None),
        };
        Ok(Some(EventWriter { out, cluster, selection, form, shown: 0, failed: None }))
    }

    /// Write the next event of the trace, if the selection shows it.
    pub fn event(&mut self, event: &TraceEvent) {
        if self.failed.is_some() {
            return;
        }
        let written = match &mut self.form {
            Form::Text(causal) => text::line(self.out, causal, event, self.selection, self.cluster),
            Form::JsonLines(causal) => jsonl::line(self.out, causal, event, self.selection, self.cluster),
            Form::ShiViz(causal) => shiviz::line(self.out, causal, event, self.selection, self.cluster),
        };
        match written {
            Ok(shown) => self.shown += u64::from(shown),
            Err(e) => self.failed = Some(e),
        }
    }

    /// What the writer keeps for each message in flight: its sender's vector clock until every
    /// copy has ended (a map entry and the clock; measured at 1,120 bytes a message with 256
    /// nodes), or nothing without clocks. `msgsim trace` counts it against the run's budget.
    pub fn bytes_per_message(&self) -> u64 {
        let clock = |tracked: bool| if tracked { 96 + 4 * self.cluster.len() as u64 } else { 0 };
        match &self.form {
            Form::Text(causal) | Form::JsonLines(causal) => clock(causal.is_some()),
            Form::ShiViz(_) => clock(true),
        }
    }

    /// Flush the output; how many events the selection showed, or the first write that failed.
    pub fn finish(self) -> io::Result<u64> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.shown)
    }
}

/// What an event is, by the word the text form uses for it; `--kind` filters on these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `cmd`: the workload handed a node an application message.
    Cmd,
    /// `refuse`: a workload command for a node that was down.
    Refuse,
    /// `send`: a process put a message on a link.
    Send,
    /// `drop`: the network or the simulator discarded a copy.
    Drop,
    /// `dup`: a link made a second copy.
    Dup,
    /// `corrupt`: a link damaged a copy.
    Corrupt,
    /// `recv`: a copy was handed to its receiver's process.
    Recv,
    /// `timer`: a process's timer fired.
    Timer,
    /// `deliver`: a process delivered an application message to its application.
    Deliver,
    /// `dead`: a sender gave up on a message and dead-lettered it.
    Dead,
    /// `retry`: the `attempt` and `ack` lines of retransmitting protocols.
    Retry,
    /// `call`: a client's calls and operations (`call` and `op` lines).
    Call,
    /// `breaker`: a circuit breaker's transitions.
    Breaker,
    /// `suspect`: a failure detector's suspicions, begun or ended.
    Suspect,
    /// `view`: a node installed a group view.
    View,
    /// `adv`: what the adversary did.
    Adv,
    /// `block`: waits begun and ended, deadlocks found, and calls timed out while the caller went on.
    Block,
    /// `queue`: copies waiting in a mailbox and their service ending (`queue` and `served` lines).
    Queue,
    /// `fault`: crashes, restarts, pauses, resumes, partitions and heals.
    Fault,
}

impl Kind {
    /// Every kind, in the order the text form's legend gives them.
    pub const ALL: [Kind; 19] = [
        Kind::Cmd,
        Kind::Refuse,
        Kind::Send,
        Kind::Drop,
        Kind::Dup,
        Kind::Corrupt,
        Kind::Recv,
        Kind::Timer,
        Kind::Deliver,
        Kind::Dead,
        Kind::Retry,
        Kind::Call,
        Kind::Breaker,
        Kind::Suspect,
        Kind::View,
        Kind::Adv,
        Kind::Block,
        Kind::Queue,
        Kind::Fault,
    ];

    /// The kind of an event: several event types share one (`block` covers `Block`, `Unblock`,
    /// `Deadlock` and `CallTimeout`).
    pub fn of(kind: &EventKind) -> Kind {
        match kind {
            EventKind::Command { .. } => Kind::Cmd,
            EventKind::CommandRefused { .. } => Kind::Refuse,
            EventKind::Send { .. } => Kind::Send,
            EventKind::Drop { .. } => Kind::Drop,
            EventKind::Duplicate { .. } => Kind::Dup,
            EventKind::Corrupt { .. } => Kind::Corrupt,
            EventKind::Receive { .. } => Kind::Recv,
            EventKind::Timer { .. } => Kind::Timer,
            EventKind::Deliver { .. } => Kind::Deliver,
            EventKind::DeadLetter { .. } => Kind::Dead,
            EventKind::Attempt { .. } | EventKind::AttemptFailed { .. } | EventKind::Answer { .. } | EventKind::Ack { .. } => Kind::Retry,
            EventKind::Call { .. } | EventKind::Op { .. } => Kind::Call,
            EventKind::Breaker { .. } => Kind::Breaker,
            EventKind::Suspicion { .. } => Kind::Suspect,
            EventKind::View { .. } => Kind::View,
            EventKind::Adversary { .. } => Kind::Adv,
            EventKind::Block { .. } | EventKind::Unblock { .. } | EventKind::Deadlock { .. } | EventKind::CallTimeout { .. } => Kind::Block,
            EventKind::Queued { .. } | EventKind::Served { .. } => Kind::Queue,
            EventKind::Fault { .. } => Kind::Fault,
        }
    }

    /// The word the text form starts the event's line with, which `--kind` takes.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cmd => "cmd",
            Kind::Refuse => "refuse",
            Kind::Send => "send",
            Kind::Drop => "drop",
            Kind::Dup => "dup",
            Kind::Corrupt => "corrupt",
            Kind::Recv => "recv",
            Kind::Timer => "timer",
            Kind::Deliver => "deliver",
            Kind::Dead => "dead",
            Kind::Retry => "retry",
            Kind::Call => "call",
            Kind::Breaker => "breaker",
            Kind::Suspect => "suspect",
            Kind::View => "view",
            Kind::Adv => "adv",
            Kind::Block => "block",
            Kind::Queue => "queue",
            Kind::Fault => "fault",
        }
    }

    /// The kind `--kind` names `name`, if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The nodes an event concerns: for message events sender and receiver, for a node
/// fault its node, for a partition or heal none (they concern every node).
pub fn nodes_of(kind: &EventKind) -> [Option<NodeId>; 2] {
    match *kind {
        EventKind::Command { node, .. }
        | EventKind::CommandRefused { node, .. }
        | EventKind::Timer { node, .. }
        | EventKind::Deliver { node, .. }
        | EventKind::Call { node, .. }
        | EventKind::Breaker { node, .. }
        | EventKind::Unblock { node, .. }
        | EventKind::Deadlock { node, .. }
        | EventKind::View { node, .. }
        | EventKind::Served { node, .. } => [Some(node), None],
        EventKind::Block { node, on, .. } => [Some(node), Some(on)],
        EventKind::Op { node, server, .. } => [Some(node), Some(server)],
        EventKind::CallTimeout { node, callee, .. } => [Some(node), Some(callee)],
        EventKind::Queued { from, to, .. } => [Some(from), Some(to)],
        EventKind::Suspicion { node, of, .. } => [Some(node), Some(of)],
        EventKind::DeadLetter { node, to, .. }
        | EventKind::Attempt { node, to, .. }
        | EventKind::AttemptFailed { node, to, .. }
        | EventKind::Answer { node, to, .. }
        | EventKind::Ack { node, to, .. } => [Some(node), Some(to)],
        EventKind::Send { from, to, .. }
        | EventKind::Drop { from, to, .. }
        | EventKind::Duplicate { from, to, .. }
        | EventKind::Corrupt { from, to, .. }
        | EventKind::Adversary { from, to, .. }
        | EventKind::Receive { from, to, .. } => [Some(from), Some(to)],
        EventKind::Fault { node, .. } => [node, None],
    }
}

/// Which part of a trace to show. The default shows everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Show nothing that ended before this time.
    pub from: Option<SimTime>,
    /// Show nothing that started after this time (inclusive).
    pub to: Option<SimTime>,
    /// Show only events that concern one of these nodes; empty for all.
    pub nodes: Vec<NodeId>,
    /// Show only events of these kinds; empty for all.
    pub kinds: Vec<Kind>,
}

impl Selection {
    /// Whether the interval `[start, end]` overlaps the window.
    pub fn overlaps(&self, start: SimTime, end: SimTime) -> bool {
        self.from.is_none_or(|from| end >= from) && self.to.is_none_or(|to| start <= to)
    }

    /// Whether `node` is among the selected nodes (every node when none was selected).
    pub fn node_selected(&self, node: NodeId) -> bool {
        self.nodes.is_empty() || self.nodes.contains(&node)
    }

    /// Whether `kind` is among the selected kinds (every kind when none was selected).
    pub fn kind_selected(&self, kind: Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// Whether an event concerns a selected node: a message event when either end is
    /// selected (so `--node n0` shows what n0 sent and received), a partition always.
    pub fn involves(&self, kind: &EventKind) -> bool {
        match nodes_of(kind) {
            [None, None] => true,
            ends => ends.into_iter().flatten().any(|n| self.node_selected(n)),
        }
    }

    /// Whether one event is shown (the event-listing formats use this alone).
    pub fn shows(&self, event: &TraceEvent) -> bool {
        self.overlaps(event.time, event.time) && self.kind_selected(Kind::of(&event.kind)) && self.involves(&event.kind)
    }

    /// Whether a message copy is drawn: its trip overlaps the window, it concerns a
    /// selected node, and one of its events (its send, its end, or the link's duplication
    /// or corruption of it) is of a selected kind.
    pub fn shows_copy(&self, copy: &MessageCopy) -> bool {
        let end_kind = match copy.fate {
            Fate::Received { .. } => Some(Kind::Recv),
            Fate::Dropped(_) => Some(Kind::Drop),
            Fate::Waiting | Fate::InFlight => None,
        };
        let kinds = [
            Some(Kind::Send),
            end_kind,
            copy.queued.map(|_| Kind::Queue),
            copy.duplicate.then_some(Kind::Dup),
            copy.corrupted().then_some(Kind::Corrupt),
        ];
        self.overlaps(copy.sent, copy.end_time().unwrap_or(SimTime::MAX))
            && (self.node_selected(copy.from) || self.node_selected(copy.to))
            && kinds.into_iter().flatten().any(|k| self.kind_selected(k))
    }
}

/// What a recorded run gives an export.
#[derive(Clone, Copy, Debug)]
pub struct TraceView<'a> {
    /// The recorded events, in trace order.
    pub events: &'a [TraceEvent],
    /// The nodes' and groups' names, for labels.
    pub cluster: &'a Cluster,
    /// The scenario's name, for titles.
    pub name: &'a str,
    /// The seed of the run, for titles and the reproduce line.
    pub seed: u64,
    /// When the run ended: where a diagram without `--to` stops.
    pub end: SimTime,
    /// The checks' verdicts, in the scenario's order (the viewer shows them).
    pub verdicts: &'a [(&'static str, Verdict)],
}

/// How a message copy's trip ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The receiver's process was handed the copy.
    Received {
        /// Whether the network had damaged it.
        corrupted: bool,
    },
    /// The network or the simulator discarded it, for this reason.
    Dropped(DropReason),
    /// Arrived (its `queue` line is `MessageCopy::queued`) and still waiting, untaken, in
    /// the receiver's mailbox when the run ended.
    Waiting,
    /// Still on the link when the run ended.
    InFlight,
}

/// One copy of a transmission, from its send to its receive or drop. A duplicated
/// transmission makes two copies with the same message id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageCopy {
    /// The transmission's id, shared by both copies of a duplicated one.
    pub msg: MsgId,
    /// The sending node.
    pub from: NodeId,
    /// The receiving node.
    pub to: NodeId,
    /// When it was sent, in true simulated time.
    pub sent: SimTime,
    /// Index of the `Send` event in the trace.
    pub send_index: usize,
    /// Index of the `Receive` or `Drop` event that ended the trip.
    pub end_index: Option<usize>,
    /// When the trip ended (taken by the receiver's process, or dropped); `SimTime::MAX` while
    /// it has not ended.
    pub end: SimTime,
    /// How the trip ended, or that it had not.
    pub fate: Fate,
    /// When it arrived and had to wait in the receiver's mailbox (its `queue` line), if it
    /// did: its `end` is then when it was taken (or evicted), not when it arrived.
    pub queued: Option<SimTime>,
    /// The second copy of a duplicated transmission to end (the copies are identical,
    /// so "the duplicate" is the later one).
    pub duplicate: bool,
}

impl MessageCopy {
    /// When the trip ended; `None` if it had not when the run did.
    pub fn end_time(&self) -> Option<SimTime> {
        self.end_index.map(|_| self.end)
    }

    /// Whether the copy arrived damaged.
    pub fn corrupted(&self) -> bool {
        self.fate == Fate::Received { corrupted: true }
    }
}

/// Every message copy of a trace, in the order their trips ended; copies that had not
/// ended when the run did (waiting in a mailbox or in flight) come last, in send order.
pub fn message_copies(events: &[TraceEvent]) -> Vec<MessageCopy> {
    // msg -> (send index, copies ended so far, copies expected)
    let mut open: BTreeMap<MsgId, (usize, u32, u32)> = BTreeMap::new();
    // msg -> the arrival times of its copies waiting in a mailbox, oldest first. The copies of
    // a duplicated message are told apart only by order: the first to wait is the first to end.
    let mut waiting: BTreeMap<MsgId, VecDeque<SimTime>> = BTreeMap::new();
    let mut copies = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let (msg, fate) = match event.kind {
            EventKind::Send { msg, .. } => {
                open.insert(msg, (i, 0, 1));
                continue;
            }
            EventKind::Duplicate { msg, .. } => {
                if let Some(entry) = open.get_mut(&msg) {
                    entry.2 += 1;
                }
                continue;
            }
            EventKind::Queued { msg, .. } => {
                if open.contains_key(&msg) {
                    waiting.entry(msg).or_default().push_back(event.time);
                }
                continue;
            }
            EventKind::Receive { msg, corrupted, .. } => (msg, Fate::Received { corrupted }),
            EventKind::Drop { msg, reason, .. } => (msg, Fate::Dropped(reason)),
            _ => continue,
        };
        let Some(entry) = open.get_mut(&msg) else { continue };
        let (send_index, ended, expected) = *entry;
        entry.1 += 1;
        if entry.1 == expected {
            open.remove(&msg);
        }
        let queued = match waiting.get_mut(&msg) {
            // Refused on arrival by a full mailbox: it never waited, whatever its twin does.
            _ if fate == Fate::Dropped(DropReason::MailboxFull) => None,
            Some(times) => {
                let first = times.pop_front();
                if times.is_empty() {
                    waiting.remove(&msg);
                }
                first
            }
            None => None,
        };
        copies.push(copy_of(events, send_index, Some(i), fate, ended > 0, queued));
    }
    let mut unended: Vec<(MsgId, (usize, u32, u32))> = open.into_iter().collect();
    unended.sort_unstable_by_key(|&(_, (send_index, ..))| send_index);
    for (msg, (send_index, ended, expected)) in unended {
        let mut arrived = waiting.remove(&msg).unwrap_or_default().into_iter();
        for n in ended..expected {
            let queued = arrived.next();
            let fate = if queued.is_some() { Fate::Waiting } else { Fate::InFlight };
            copies.push(copy_of(events, send_index, None, fate, n > 0, queued));
        }
    }
    copies
}

fn copy_of(
    events: &[TraceEvent],
    send_index: usize,
    end_index: Option<usize>,
    fate: Fate,
    duplicate: bool,
    queued: Option<SimTime>,
) -> MessageCopy {
    let send = &events[send_index];
    let EventKind::Send { from, to, msg, .. } = send.kind else { unreachable!("copies start at a send") };
    let end = end_index.map_or(SimTime::MAX, |i| events[i].time);
    MessageCopy { msg, from, to, sent: send.time, send_index, end_index, end, fate, queued, duplicate }
}

/// A period a node was down (crashed) or paused, or the whole network partitioned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// `None` for a partition.
    pub node: Option<NodeId>,
    /// `Crash`, `Pause` or `Partition`: what began the period.
    pub action: FaultAction,
    /// The fault's position in the run's fault list (the `index` of its `fault` line).
    pub index: u32,
    /// When the period began, in true simulated time.
    pub start: SimTime,
    /// `None` if it lasted to the end of the run.
    pub end: Option<SimTime>,
}

/// Crash-to-restart, pause-to-resume and partition-to-heal periods, in start order.
pub fn fault_periods(events: &[TraceEvent]) -> Vec<Period> {
    let mut periods: Vec<Period> = Vec::new();
    for event in events {
        let EventKind::Fault { action, node, index } = event.kind else { continue };
        let closes = match action {
            FaultAction::Restart => Some(FaultAction::Crash),
            // A paused node that crashes is down, no longer paused.
            FaultAction::Resume | FaultAction::Crash => Some(FaultAction::Pause),
            // A heal clears every partition rule in force.
            FaultAction::Heal => Some(FaultAction::Partition),
            FaultAction::Pause | FaultAction::Partition => None,
        };
        for p in periods.iter_mut().filter(|p| Some(p.action) == closes && p.node == node && p.end.is_none()) {
            p.end = Some(event.time);
        }
        if matches!(action, FaultAction::Crash | FaultAction::Pause | FaultAction::Partition) {
            periods.push(Period { node, action, index, start: event.time, end: None });
        }
    }
    periods
}

/// Why an export could not be written.
#[derive(Debug)]
pub enum ExportError {
    /// Writing to the output failed.
    Io(io::Error),
    /// The selection is too large for the format: `count` of `what`, above `limit`.
    TooLarge {
        /// What there are too many of, in words (such as "events" or "diagram rows").
        what: &'static str,
        /// How many the selection holds.
        count: usize,
        /// The most the format takes.
        limit: usize,
        /// Why there is a limit, and what to do instead.
        advice: &'static str,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Io(e) => write!(f, "{e}"),
            ExportError::TooLarge { what, count, limit, advice } => write!(f, "{count} {what}, more than {limit}: {advice}"),
        }
    }
}

impl std::error::Error for ExportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExportError::Io(e) => Some(e),
            ExportError::TooLarge { .. } => None,
        }
    }
}

impl From<io::Error> for ExportError {
    fn from(e: io::Error) -> Self {
        ExportError::Io(e)
    }
}

/// Write the selected part of a trace in `format`.
pub fn write_trace(out: &mut dyn Write, view: &TraceView, selection: &Selection, format: TraceFormat) -> Result<(), ExportError> {
    match format {
        TraceFormat::Text => text::write(out, view, selection)?,
        TraceFormat::JsonLines => jsonl::write(out, view, selection)?,
        TraceFormat::Svg => svg::write(out, view, selection)?,
        TraceFormat::Chrome => chrome::write(out, view, selection)?,
        TraceFormat::ShiViz => shiviz::write(out, view, selection)?,
        TraceFormat::Mermaid => mermaid::write(out, view, selection)?,
        TraceFormat::Html => html::write(out, view, selection)?,
    }
    out.flush()?;
    Ok(())
}

/// A time as milliseconds with up to three decimals (microseconds, as in the text form),
/// trailing zeros dropped: `12.5`, `3`.
pub fn ms(t: SimTime) -> String {
    let micros = t.as_nanos() / 1_000;
    let (whole, frac) = (micros / 1_000, micros % 1_000);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:03}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TimerId;

    fn ev(t: u64, kind: EventKind) -> TraceEvent {
        TraceEvent { time: SimTime(t), kind }
    }

    #[test]
    fn copies_pair_sends_with_their_ends_and_mark_the_later_duplicate() {
        let (a, b) = (NodeId(0), NodeId(1));
        let m = MsgId(4);
        let trace = [
            ev(0, EventKind::Send { from: a, to: b, msg: m, size: 8 }),
            ev(0, EventKind::Duplicate { from: a, to: b, msg: m }),
            ev(0, EventKind::Send { from: b, to: a, msg: MsgId(5), size: 8 }),
            ev(0, EventKind::Drop { from: b, to: a, msg: MsgId(5), reason: DropReason::Lost }),
            ev(3, EventKind::Receive { from: a, to: b, msg: m, corrupted: true }),
            ev(4, EventKind::Timer { node: a, timer: TimerId(0) }),
            ev(5, EventKind::Send { from: a, to: b, msg: MsgId(6), size: 8 }),
        ];
        let copies = message_copies(&trace);
        assert_eq!(copies.len(), 4);
        assert_eq!((copies[0].msg, copies[0].fate, copies[0].duplicate), (MsgId(5), Fate::Dropped(DropReason::Lost), false));
        assert_eq!((copies[1].end, copies[1].fate, copies[1].duplicate), (SimTime(3), Fate::Received { corrupted: true }, false));
        assert!(copies[1].corrupted());
        // The duplicate of m4 never arrived; neither did m6. Both are in flight, m4 first.
        assert_eq!((copies[2].msg, copies[2].fate, copies[2].duplicate), (m, Fate::InFlight, true));
        assert_eq!((copies[3].msg, copies[3].end_time()), (MsgId(6), None));
    }

    #[test]
    fn copies_that_waited_in_a_mailbox_keep_their_arrival() {
        let (a, b) = (NodeId(0), NodeId(1));
        let trace = [
            ev(0, EventKind::Send { from: a, to: b, msg: MsgId(0), size: 8 }),
            ev(0, EventKind::Send { from: a, to: b, msg: MsgId(1), size: 8 }),
            ev(0, EventKind::Send { from: a, to: b, msg: MsgId(2), size: 8 }),
            ev(2, EventKind::Queued { from: a, to: b, msg: MsgId(0), depth: 1 }),
            ev(3, EventKind::Queued { from: a, to: b, msg: MsgId(1), depth: 2 }),
            ev(5, EventKind::Receive { from: a, to: b, msg: MsgId(0), corrupted: false }),
        ];
        let copies = message_copies(&trace);
        let seen: Vec<(MsgId, Fate, Option<u64>, Option<u64>)> =
            copies.iter().map(|c| (c.msg, c.fate, c.queued.map(|t| t.0), c.end_time().map(|t| t.0))).collect();
        assert_eq!(
            seen,
            [
                (MsgId(0), Fate::Received { corrupted: false }, Some(2), Some(5)),
                (MsgId(1), Fate::Waiting, Some(3), None),
                (MsgId(2), Fate::InFlight, None, None),
            ]
        );
        // `--kind queue` shows the copies that waited.
        let queue = Selection { kinds: vec![Kind::Queue], ..Selection::default() };
        assert_eq!(copies.iter().filter(|c| queue.shows_copy(c)).count(), 2);
    }

    /// Postmortem: a duplicate refused by a full mailbox took the arrival time of its twin
    /// that waited there, so the SVG drew a wait for the refused copy and none for the other.
    #[test]
    fn a_refused_duplicate_does_not_take_its_twins_wait() {
        let (a, b) = (NodeId(0), NodeId(1));
        let trace = [
            ev(0, EventKind::Send { from: a, to: b, msg: MsgId(0), size: 8 }),
            ev(0, EventKind::Duplicate { from: a, to: b, msg: MsgId(0) }),
            ev(2, EventKind::Queued { from: a, to: b, msg: MsgId(0), depth: 1 }),
            ev(3, EventKind::Drop { from: a, to: b, msg: MsgId(0), reason: DropReason::MailboxFull }),
            ev(5, EventKind::Receive { from: a, to: b, msg: MsgId(0), corrupted: false }),
        ];
        let seen: Vec<(Fate, Option<u64>)> = message_copies(&trace).iter().map(|c| (c.fate, c.queued.map(|t| t.0))).collect();
        assert_eq!(seen, [(Fate::Dropped(DropReason::MailboxFull), None), (Fate::Received { corrupted: false }, Some(2))]);
    }

    #[test]
    fn selection_filters_by_window_node_and_kind() {
        let (a, b, c) = (NodeId(0), NodeId(1), NodeId(2));
        let send = ev(10, EventKind::Send { from: a, to: b, msg: MsgId(0), size: 8 });
        let timer = ev(10, EventKind::Timer { node: c, timer: TimerId(0) });
        let heal = ev(10, EventKind::Fault { action: FaultAction::Heal, node: None, index: 0 });
        let everything = Selection::default();
        assert!([&send, &timer, &heal].iter().all(|e| everything.shows(e)));
        let only_b = Selection { nodes: vec![b], ..Selection::default() };
        assert!(only_b.shows(&send) && !only_b.shows(&timer) && only_b.shows(&heal));
        let window = Selection { from: Some(SimTime(11)), ..Selection::default() };
        assert!(!window.shows(&send));
        let timers = Selection { kinds: vec![Kind::Timer], to: Some(SimTime(10)), ..Selection::default() };
        assert!(!timers.shows(&send) && timers.shows(&timer));
    }

    #[test]
    fn periods_close_at_restart_resume_and_heal() {
        let n = Some(NodeId(1));
        let fault = |t, action, node, index| ev(t, EventKind::Fault { action, node, index });
        let trace = [
            fault(1, FaultAction::Partition, None, 0),
            fault(2, FaultAction::Crash, n, 1),
            fault(3, FaultAction::Partition, None, 2),
            fault(4, FaultAction::Heal, None, 3),
            fault(5, FaultAction::Restart, n, 4),
            fault(6, FaultAction::Pause, n, 5),
            fault(7, FaultAction::Crash, n, 6),
        ];
        let ends: Vec<(FaultAction, u64, Option<u64>)> =
            fault_periods(&trace).iter().map(|p| (p.action, p.start.0, p.end.map(|e| e.0))).collect();
        assert_eq!(
            ends,
            [
                (FaultAction::Partition, 1, Some(4)),
                (FaultAction::Crash, 2, Some(5)),
                (FaultAction::Partition, 3, Some(4)),
                (FaultAction::Pause, 6, Some(7)),
                (FaultAction::Crash, 7, None)
            ]
        );
    }

    #[test]
    fn milliseconds_drop_trailing_zeros() {
        assert_eq!(ms(SimTime(0)), "0");
        assert_eq!(ms(SimTime(12_500_000)), "12.5");
        assert_eq!(ms(SimTime(1_001_999)), "1.001");
    }
}

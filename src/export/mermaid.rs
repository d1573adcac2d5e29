//! Mermaid sequence diagrams: a participant per node, an arrow per message copy
//! (`->>` received, `-x` dropped), notes for deliveries and faults. A sequence diagram
//! has one row per arrow or note and no time scale, so it is for small selections only.

use super::{ExportError, Fate, Selection, TraceView, message_copies};
use crate::id::NodeId;
use crate::trace::EventKind;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// Rows beyond which a sequence diagram is a wall of arrows (and Mermaid slows down).
pub const MAX_ROWS: usize = 200;

/// Write the selected part of the run as a Mermaid sequence diagram; refused
/// (`ExportError::TooLarge`) beyond `MAX_ROWS` rows.
pub fn write(out: &mut dyn Write, view: &TraceView, selection: &Selection) -> Result<(), ExportError> {
    let name = |n: NodeId| format!("p{}", n.0);
    let copies: BTreeMap<usize, _> = message_copies(view.events).into_iter().filter_map(|c| c.end_index.map(|end| (end, c))).collect();
    // Counted before any row is built: a run too long for a diagram is refused having made
    // nothing of it (counting is a test per event; building is a string per event).
    let count = view
        .events
        .iter()
        .enumerate()
        .filter(|&(i, event)| match copies.get(&i) {
            Some(copy) => selection.shows_copy(copy) && selection.overlaps(event.time, event.time),
            None => selection.shows(event) && is_note(&event.kind),
        })
        .count();
    if count > MAX_ROWS {
        return Err(ExportError::TooLarge {
            what: "diagram rows",
            count,
            limit: MAX_ROWS,
            advice: "a sequence diagram that long is unreadable; narrow the selection with --from/--to (ms), --node or --kind, \
                     or use --format svg",
        });
    }
    // A note across every participant (a partition, a heal) is written once they are known.
    const ACROSS: &str = "\0";
    let mut rows = Vec::new();
    // Participants are the nodes something is drawn for, so a large cluster stays narrow.
    let mut used = BTreeSet::new();
    for (i, event) in view.events.iter().enumerate() {
        if let Some(copy) = copies.get(&i) {
            if selection.shows_copy(copy) && selection.overlaps(event.time, event.time) {
                used.extend([copy.from, copy.to]);
                let (from, to, m) = (name(copy.from), name(copy.to), copy.msg.0);
                let dup = if copy.duplicate { " (2nd copy)" } else { "" };
                rows.push(match copy.fate {
                    Fate::Received { corrupted: true } => format!("{from}->>{to}: m{m}{dup} CORRUPTED"),
                    Fate::Received { corrupted: false } | Fate::Waiting | Fate::InFlight => format!("{from}->>{to}: m{m}{dup}"),
                    Fate::Dropped(reason) => format!("{from}-x{to}: m{m}{dup} {reason:?}"),
                });
            }
            continue;
        }
        if !selection.shows(event) || !is_note(&event.kind) {
            continue;
        }
        let note = match event.kind {
            EventKind::Deliver { node, app, origin, damaged } => {
                let mark = if damaged { " DAMAGED" } else { "" };
                format!("Note over {}: deliver a{} from {}{mark}", name(node), app.0, view.cluster.name(origin))
            }
            EventKind::CommandRefused { node, app } => format!("Note over {}: refuse a{} (node down)", name(node), app.0),
            EventKind::Timer { node, timer } => format!("Note over {}: timer t{}", name(node), timer.0),
            EventKind::DeadLetter { node, to, app } => {
                format!("Note over {}: dead letter a{} for {}", name(node), app.0, view.cluster.name(to))
            }
            EventKind::Call { node, app, outcome, .. } => format!("Note over {}: call a{} {outcome:?}", name(node), app.0),
            EventKind::Op { node, op, server, outcome } => {
                format!("Note over {}: op o{op} to {} {outcome:?}", name(node), view.cluster.name(server))
            }
            EventKind::Breaker { node, from, to } => format!("Note over {}: breaker {from:?} to {to:?}", name(node)),
            EventKind::Suspicion { node, of, suspected } => {
                format!("Note over {}: {} {}", name(node), if suspected { "suspect" } else { "trust again" }, view.cluster.name(of))
            }
            EventKind::View { node, view: v, members } => {
                format!("Note over {}: view v{v} {}", name(node), crate::trace::member_names(members, view.cluster).join(" "))
            }
            // Mermaid reads `#` as the start of an entity code, so fault numbers go without it.
            // On the receiver's lifeline: an injected copy has no send to draw an arrow from.
            EventKind::Adversary { action, from, to, msg } => {
                format!("Note over {}: adversary {action:?} m{} from {}", name(to), msg.0, view.cluster.name(from))
            }
            EventKind::Block { node, on, reason, .. } => {
                format!("Note over {}: blocked on {} ({reason:?})", name(node), view.cluster.name(on))
            }
            EventKind::Unblock { node, reason } => format!("Note over {}: goes on ({reason:?})", name(node)),
            EventKind::CallTimeout { node, callee, msg } => {
                format!("Note over {}: no answer to m{} from {}", name(node), msg.0, name(callee))
            }
            EventKind::Deadlock { node, len, permanent: true } => format!("Note over {}: DEADLOCK, {len} processes", name(node)),
            EventKind::Deadlock { node, len, permanent: false } => {
                format!("Note over {}: wait cycle of {len}, a timeout will break it", name(node))
            }
            EventKind::Fault { action, node: Some(node), index } => format!("Note over {}: {action:?} (fault {index})", name(node)),
            EventKind::Fault { action, node: None, index } => format!("{ACROSS}{action:?} (fault {index})"),
            // Not a note (`is_note`): never reached.
            _ => continue,
        };
        used.extend(super::nodes_of(&event.kind).into_iter().flatten().take(1));
        rows.push(note);
    }
    debug_assert_eq!(rows.len(), count, "`is_note` and the notes drawn agree");
    if used.is_empty() {
        used.insert(NodeId(0));
    }
    let (first, last) = (name(*used.first().expect("one")), name(*used.last().expect("one")));
    let across = if first == last { first } else { format!("{first},{last}") };
    writeln!(out, "sequenceDiagram")?;
    for &node in &used {
        writeln!(out, "    participant {} as {}", name(node), view.cluster.name(node))?;
    }
    for row in rows {
        match row.strip_prefix(ACROSS) {
            Some(text) => writeln!(out, "    Note over {across}: {text}")?,
            None => writeln!(out, "    {row}")?,
        }
    }
    Ok(())
}

/// Whether `kind` is drawn as a note (the kinds not listed); commands, sends and the link's
/// decisions show as the arrows of the message copies instead.
fn is_note(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Command { .. }
            | EventKind::Attempt { .. }
            | EventKind::AttemptFailed { .. }
            | EventKind::Answer { .. }
            | EventKind::Ack { .. }
            | EventKind::Send { .. }
            | EventKind::Duplicate { .. }
            | EventKind::Corrupt { .. }
            | EventKind::Drop { .. }
            | EventKind::Queued { .. }
            | EventKind::Served { .. }
            | EventKind::Receive { .. }
    )
}

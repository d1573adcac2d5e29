//! Trace events for checker unit tests: a group command, a delivery, an event at a time in ms.

use crate::id::{AppId, GroupId, NodeId};
use crate::process::Dest;
use crate::time::SimTime;
use crate::trace::{EventKind, TraceEvent};

pub fn ev(ms: u64, kind: EventKind) -> TraceEvent {
    TraceEvent { time: SimTime(ms * 1_000_000), kind }
}

/// `node` multicasts application message `app` to group 0.
pub fn cmd(ms: u64, node: u32, app: u64) -> TraceEvent {
    ev(ms, EventKind::Command { node: NodeId(node), app: AppId(app), dest: Dest::Group(GroupId(0)) })
}

/// `node` delivers `app` (originated by node 0, intact).
pub fn deliver(ms: u64, node: u32, app: u64) -> TraceEvent {
    ev(ms, EventKind::Deliver { node: NodeId(node), app: AppId(app), origin: NodeId(0), damaged: false })
}

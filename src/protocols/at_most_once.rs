//! At-most-once delivery: fire and forget, and the receiver suppresses the duplicates the network makes.
//!
//! Each message is sent once per recipient and never retried, so it may be
//! lost, but never takes effect twice: the receiver remembers the id of every
//! message it delivered and drops later copies. The memory is unbounded (one
//! entry per message delivered) by choice: a network duplicate can arrive
//! arbitrarily late, and a bounded memory stays safe only by rejecting every
//! message older than its window, which needs ids ordered per sender and
//! surviving restarts. Corrupted copies fail their checksum and are dropped.
//!
//! `dedup: false` is the deliberately broken variant: it delivers every copy,
//! which `AtMostOnce` must catch on a duplicating network.

use crate::id::{AppId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Message, Payload, Process};
use crate::scenario::Scenario;
use serde::Deserialize;
use std::collections::BTreeSet;

/// The one transmission of a message to one recipient.
#[derive(Clone, Debug)]
pub struct Datagram {
    /// The application message; its id is what the receiver deduplicates on.
    pub payload: Payload,
}

/// Header bytes on top of the payload: ids and a checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Datagram {
    fn wire_size(&self) -> u32 {
        HEADER_BYTES.saturating_add(self.payload.size_bytes)
    }

    fn corrupt(&mut self) {
        self.payload.corrupt();
    }
}

/// One node of the at-most-once protocol: sends each message once, delivers each id once.
pub struct AtMostOnce {
    dedup: bool,
    delivered: BTreeSet<AppId>,
}

impl AtMostOnce {
    /// A node that drops repeated ids if `dedup` (without it, the broken variant, it delivers
    /// every copy the network makes).
    pub fn new(dedup: bool) -> AtMostOnce {
        AtMostOnce { dedup, delivered: BTreeSet::new() }
    }
}

impl Process for AtMostOnce {
    type Msg = Datagram;
    type Timer = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        crate::budget::set(&self.delivered)
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Datagram, ()>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        for to in ctx.cluster().recipients(ctx.me(), dest) {
            ctx.send(to, Datagram { payload });
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Datagram, ()>, incoming: Incoming<Datagram>) {
        if !incoming.checksum_ok {
            return;
        }
        let payload = incoming.msg.payload;
        if self.dedup && !self.delivered.insert(payload.id) {
            return;
        }
        ctx.deliver(payload);
    }
}

/// `AtMostOnce(dedup: true)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "AtMostOnce", deny_unknown_fields)]
pub struct Config {
    /// Suppress duplicates (`false` is the broken variant).
    #[serde(default = "yes")]
    pub dedup: bool,
}

fn yes() -> bool {
    true
}

/// The at-most-once protocol, as scenarios name it.
pub struct AtMostOnceProtocol;

impl Protocol for AtMostOnceProtocol {
    const NAME: &'static str = "AtMostOnce";
    type Config = Config;
    type Process = AtMostOnce;

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> AtMostOnce {
        let dedup = config.dedup;
        move |_| AtMostOnce::new(dedup)
    }
}

//! Best-effort delivery: each message is sent once, over whatever the network does to it.
//!
//! Unicast, multicast and broadcast as the command asks. With `checksum` the
//! receiver discards copies whose checksum fails; with `dedup` it remembers
//! the ids it delivered and drops repeats. Nothing is ever retransmitted, so a
//! lost message stays lost: this is the baseline the reliable protocols improve on.

use crate::id::{AppId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Dest, Incoming, Message, Payload, Process, StateHasher};
use crate::scenario::Scenario;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::hash::Hash;

/// The one transmission of a message to one recipient.
#[derive(Clone, Debug)]
pub struct Data {
    /// The application message.
    pub payload: Payload,
}

/// Header bytes on top of the payload: ids and a checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Data {
    fn wire_size(&self) -> u32 {
        HEADER_BYTES.saturating_add(self.payload.size_bytes)
    }

    fn corrupt(&mut self) {
        self.payload.corrupt();
    }
}

/// One node of the best-effort protocol: sends each message once and delivers what arrives.
#[derive(Clone)]
pub struct BestEffort {
    checksum: bool,
    dedup: bool,
    delivered: BTreeSet<AppId>,
}

impl BestEffort {
    /// A node that discards copies failing their checksum if `checksum` (else delivers damaged
    /// payloads), and drops ids it already delivered if `dedup`.
    pub fn new(checksum: bool, dedup: bool) -> BestEffort {
        BestEffort { checksum, dedup, delivered: BTreeSet::new() }
    }
}

impl Process for BestEffort {
    type Msg = Data;
    type Timer = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        crate::budget::set(&self.delivered)
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Data, ()>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        let msg = Data { payload };
        match dest {
            Dest::Node(to) => ctx.send(to, msg),
            Dest::Group(g) => ctx.multicast(g, msg),
            Dest::All => ctx.broadcast(msg),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Data, ()>, incoming: Incoming<Data>) {
        if self.checksum && !incoming.checksum_ok {
            return;
        }
        let payload = incoming.msg.payload;
        if self.dedup && !self.delivered.insert(payload.id) {
            return;
        }
        ctx.deliver(payload);
    }

    fn fingerprint(&self, state: &mut StateHasher) -> bool {
        (self.checksum, self.dedup, &self.delivered).hash(state);
        true
    }

    fn snapshot(&self) -> Option<BestEffort> {
        Some(self.clone())
    }
}

/// `BestEffort(checksum: true, dedup: false)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "BestEffort", deny_unknown_fields)]
pub struct Config {
    /// Verify the checksum and discard corrupted copies.
    #[serde(default = "yes")]
    pub checksum: bool,
    /// Remember delivered message ids and deliver each at most once.
    #[serde(default)]
    pub dedup: bool,
}

fn yes() -> bool {
    true
}

/// The best-effort protocol, as scenarios name it.
pub struct BestEffortProtocol;

impl Protocol for BestEffortProtocol {
    const NAME: &'static str = "BestEffort";
    type Config = Config;
    type Process = BestEffort;

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> BestEffort {
        let Config { checksum, dedup } = *config;
        move |_| BestEffort::new(checksum, dedup)
    }
}

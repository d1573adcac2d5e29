//! `AntiEntropy`: push-pull anti-entropy with digests, the repair that makes replicas agree again after a partition heals.
//!
//! Every `period_ms` (on its own clock; all nodes start together) each node picks one peer
//! uniformly among the others and sends it a digest of what it knows. The peer answers with
//! every value the digest says the node lacks, and its own digest; the node sends back every
//! value that digest says the peer lacks. So each exchange is push-pull, and carries values
//! only where they are missing. A node delivers a value the first time it learns it (a
//! workload command gives its node a new value). The rounds never stop: across a partition
//! they fail, and once it heals they carry each side's values to the other. From one node
//! alone (the worst case: a value written on an isolated node), push-pull reaches all n in
//! about log3 n + ln ln n rounds (Karp et al.); `tests/anti_entropy.rs` measures the rounds
//! after a heal against the recurrence of `GossipRounds`' push-pull.
//!
//! `digest` says how a node summarises what it knows:
//! - `Exact`: the ids of all the values it knows. Always right; it grows with the values.
//! - `HighWater`: the broken variant, the digest of a single-writer log (the highest id known,
//!   as if a node that knows a value knew every earlier one). With many writers, values are
//!   learned out of id order: after a partition in which both sides wrote, the side holding the
//!   highest id never receives the other side's values, all below its mark, and
//!   `ConvergedAfterHeal` catches it (`scenarios/canon/broken-anti-entropy-digest.ron`).

use super::{field, ns};
use crate::id::{AppId, NodeId};
use crate::plugin::{Protocol, Rounds};
use crate::process::{Cluster, Command, Ctx, Incoming, Message, Payload, Process, map_bytes};
use crate::scenario::file::Number;
use crate::scenario::{ConfigCx, Scenario};
use serde::Deserialize;
use std::collections::BTreeMap;

/// How a node summarises what it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum DigestKind {
    /// Every id known.
    Exact,
    /// The highest id known (the broken variant).
    HighWater,
}

/// A summary of what a node knows.
#[derive(Clone, Debug)]
pub enum Digest {
    /// Every id it knows.
    Ids(Vec<AppId>),
    /// The highest id it knows, if any: it claims every value up to it.
    Upto(Option<AppId>),
}

/// What nodes exchange.
#[derive(Clone, Debug)]
pub enum Wire {
    /// Round opener: what the sender knows.
    Digest(Digest),
    /// The answer to a digest.
    Reply {
        /// The values the opener lacks, as its digest tells.
        values: Vec<Payload>,
        /// What the answering node knows.
        digest: Digest,
    },
    /// The values the answering node lacks.
    Values(Vec<Payload>),
}

/// Header bytes: kind, count, checksum.
const HEADER_BYTES: u32 = 16;
/// Bytes per id in a digest.
const ID_BYTES: u32 = 8;

fn digest_bytes(digest: &Digest) -> u32 {
    match digest {
        Digest::Ids(ids) => u32::try_from(ids.len()).unwrap_or(u32::MAX).saturating_mul(ID_BYTES),
        Digest::Upto(_) => ID_BYTES,
    }
}

fn values_bytes(values: &[Payload]) -> u32 {
    values.iter().fold(0u32, |n, p| n.saturating_add(p.size_bytes))
}

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        HEADER_BYTES.saturating_add(match self {
            Wire::Digest(d) => digest_bytes(d),
            Wire::Reply { values, digest } => values_bytes(values).saturating_add(digest_bytes(digest)),
            Wire::Values(values) => values_bytes(values),
        })
    }

    fn corrupt(&mut self) {
        if let Wire::Reply { values, .. } | Wire::Values(values) = self {
            values.iter_mut().for_each(Payload::corrupt);
        }
    }
}

/// One node: what it knows.
pub struct AntiEntropy {
    digest: DigestKind,
    period_ns: u64,
    known: BTreeMap<AppId, Payload>,
}

impl AntiEntropy {
    fn learn(&mut self, ctx: &mut Ctx<'_, Wire, ()>, values: Vec<Payload>) {
        for p in values {
            if self.known.insert(p.id, p).is_none() {
                ctx.deliver(p);
            }
        }
    }

    fn digest(&self) -> Digest {
        match self.digest {
            DigestKind::Exact => Digest::Ids(self.known.keys().copied().collect()),
            DigestKind::HighWater => Digest::Upto(self.known.keys().next_back().copied()),
        }
    }

    /// The values a node summarised by `digest` lacks, as the digest tells it.
    fn missing(&self, digest: &Digest) -> Vec<Payload> {
        match digest {
            Digest::Ids(ids) => self.known.values().filter(|p| ids.binary_search(&p.id).is_err()).copied().collect(),
            Digest::Upto(mark) => self.known.values().filter(|p| mark.is_none_or(|m| p.id > m)).copied().collect(),
        }
    }
}

impl Process for AntiEntropy {
    type Msg = Wire;
    type Timer = ();
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        map_bytes::<AppId, Payload>(self.known.len())
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Wire, ()>) {
        ctx.set_timer(self.period_ns, ());
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, ()>, cmd: Command) {
        let Command::Send { payload, .. } = cmd;
        self.learn(ctx, vec![payload]);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, ()>, incoming: Incoming<Wire>) {
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        match incoming.msg {
            Wire::Digest(digest) => {
                let values = self.missing(&digest);
                ctx.send(from, Wire::Reply { values, digest: self.digest() });
            }
            Wire::Reply { values, digest } => {
                self.learn(ctx, values);
                let theirs = self.missing(&digest);
                if !theirs.is_empty() {
                    ctx.send(from, Wire::Values(theirs));
                }
            }
            Wire::Values(values) => self.learn(ctx, values),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, ()>, (): ()) {
        ctx.set_timer(self.period_ns, ());
        let n = ctx.cluster().len() as u64;
        if n < 2 {
            return;
        }
        // Uniform over the other nodes: draw from n-1 and skip over ourselves.
        let me = ctx.me().0;
        let pick = ctx.rng().below(n - 1) as u32;
        let to = NodeId(if pick >= me { pick + 1 } else { pick });
        ctx.send(to, Wire::Digest(self.digest()));
    }
}

/// `AntiEntropy(period_ms: 20, digest: Exact)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "AntiEntropy", deny_unknown_fields)]
pub struct Config {
    /// The round length.
    pub period_ms: Number,
    /// How a node summarises what it knows; `Exact` unless given.
    #[serde(default = "exact")]
    pub digest: DigestKind,
}

fn exact() -> DigestKind {
    DigestKind::Exact
}

/// Push-pull anti-entropy with digests, as scenarios name it.
pub struct AntiEntropyProtocol;

impl Protocol for AntiEntropyProtocol {
    const NAME: &'static str = "AntiEntropy";
    type Config = Config;
    type Process = AntiEntropy;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        cx.positive_millis(&[field("period_ms")], config.period_ms, "a round of zero length");
    }

    // Every node sends one digest to one peer every period, from its start.
    fn rounds(config: &Config, _: &Cluster) -> Option<Rounds> {
        Some(Rounds {
            period_ns: ns(config.period_ms),
            per_round: 1,
            every_period: true,
            opens_every_round: true,
            exchange: None,
            nodes: None,
        })
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> AntiEntropy {
        let (digest, period_ns) = (config.digest, ns(config.period_ms));
        move |_| AntiEntropy { digest, period_ns, known: BTreeMap::new() }
    }
}

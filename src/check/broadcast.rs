//! `BroadcastConsistency`: the broadcast service's contract, Maelstrom's, judged on the trace:
//! every acknowledged broadcast value is eventually in every server's reads, and no read holds
//! a value that was never broadcast; with the figures the Gossip Glomers challenges are judged
//! on (stable latency, messages per operation), and optionally targets for them.
//!
//! What it reads (see `protocols/broadcast.rs`): a `broadcast` operation is an `op ... invoke`
//! line that directly follows a `cmd` line at the same client and time, and broadcasts that
//! command's message as its value; every other invocation is a `read`. A server's `deliver`
//! line is the moment the value joins the set its reads return. A crash empties a server's
//! set (its process, and so its memory, is gone); a server down at the end is not judged, and
//! one that restarted owes only the values acknowledged since: the broadcast service keeps its
//! sets in memory, and nothing in its contract (Maelstrom's, which has no crashes) refills a
//! server that lost its set.
//!
//! Since the reads are told from the broadcasts by that pattern, and the figures divide by the
//! operations invoked, the pattern is judged too: each broadcast that ends (answered or timed
//! out) is followed at its client, at the same instant, by exactly the protocol's
//! `reads_per_broadcast` read invocations, and a read is invoked only so (a client that crashed
//! owes nothing more). Where each operation goes is the protocol's promise too: a broadcast goes
//! to the server its command named, when the command named one; each read goes to a server
//! drawn at random, uniformly and afresh. The draws cannot be replayed from the trace, so that
//! is judged statistically, with a false-failure probability that is negligible on any run (see
//! `far_from_uniform`): with two servers or more, neither any one server's share of the reads
//! nor the share of reads going to the server of the broadcast that owed them may stray from
//! 1/s by more than chance allows.
//!
//! Where a protocol marks the values each server-to-server message carries (its `attempt`
//! lines, one per value, series the value's id), the servers' promise "only values the
//! neighbour is not known to have" is judged on its plainest case: once a server took intact a
//! message carrying value v from a neighbour, it sends v to that neighbour no more (the
//! neighbour has it), unless either of the two crashed since.
//!
//! Liveness is judged fairly: a missing value fails only if the run ended with nothing left to
//! happen, or `settle_ms` after both its acknowledgement and the last fault, with no partition
//! in force. A value's *stable latency* is the time from its acknowledgement until the last
//! server judged has it (zero if all had it before); *messages per operation* counts messages
//! sent from one server to another (not those between clients and servers) over every
//! operation invoked.

use super::{Breaches, Checker, EndReason, RunEnd, Verdict};
use crate::id::{AppId, MsgId, NodeId};
use crate::process::{Cluster, Dest};
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, OpOutcome, TraceEvent};
use std::collections::{BTreeMap, BTreeSet};

/// Limits the figures must stay below.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Targets {
    /// Server-to-server messages per operation.
    pub messages_per_op: f64,
    /// Median stable latency, ns.
    pub median_ns: u64,
    /// Largest stable latency, ns.
    pub max_ns: u64,
}

/// What a run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// Operations invoked (broadcasts and reads).
    pub operations: u64,
    /// Broadcasts acknowledged.
    pub acknowledged: u64,
    /// Messages sent from a server to a server.
    pub server_messages: u64,
    /// `server_messages` over `operations`.
    pub messages_per_op: f64,
    /// Stable latency of the acknowledged values every judged server has (nearest rank), ns.
    pub median_ns: Option<u64>,
    /// The largest of those stable latencies, ns.
    pub max_ns: Option<u64>,
}

/// Checks the broadcast contract and measures the figures.
pub struct BroadcastConsistency {
    cluster: Cluster,
    is_server: Vec<bool>,
    settle_ns: u64,
    targets: Option<Targets>,
    /// The event before the current one, when it was a `cmd` line: its node, message, time
    /// and destination.
    last_command: Option<(NodeId, AppId, SimTime, Dest)>,
    /// Broadcasts in progress, by (client, op): their value.
    broadcasts: BTreeMap<(NodeId, u64), AppId>,
    /// Every value broadcast (invoked), and when it was acknowledged, if it was.
    values: BTreeMap<AppId, Option<SimTime>>,
    /// Each server's set: value to when it joined (since the server last started).
    sets: Vec<BTreeMap<AppId, SimTime>>,
    down: Vec<bool>,
    /// When each server last restarted, if it did.
    restarted: Vec<Option<SimTime>>,
    operations: u64,
    server_messages: u64,
    last_fault: SimTime,
    partitioned: bool,
    /// The first value found in a set that was never broadcast, or damaged: where and when.
    phantom: Option<(NodeId, AppId, SimTime, bool)>,
    /// The reads a client invokes after each broadcast ends, if the protocol says.
    reads_per_broadcast: Option<u64>,
    /// Per client, the reads owed now: how many, and the instant their broadcast(s) ended.
    reads_owed: BTreeMap<NodeId, (u64, SimTime)>,
    /// Per client, the server of its latest ended broadcast: the one its owed reads follow.
    owed_by: BTreeMap<NodeId, NodeId>,
    /// Reads invoked as owed, per server they went to.
    reads_on: Vec<u64>,
    /// Of those reads, how many went to the server of the broadcast that owed them.
    reads_on_own: u64,
    /// Breaches of the client's operation pattern.
    pattern: Breaches,
    /// The `attempt` lines waiting for the send they mark: (sender, recipient, value).
    pending_attempts: Vec<(NodeId, NodeId, u64)>,
    /// The values each server-to-server message carries, by its `attempt` lines.
    carried: BTreeMap<MsgId, Vec<u64>>,
    /// Values a server took intact from a neighbour since either last crashed:
    /// (server, neighbour, value). The neighbour has it: it is owed it no more.
    taken: BTreeSet<(NodeId, NodeId, u64)>,
    /// Values sent back to the neighbour they came from.
    sent_back: Breaches,
}

impl BroadcastConsistency {
    /// A checker for the servers `servers`, judging liveness `settle_ns` after the last fault,
    /// and holding the figures to `targets` if given.
    pub fn new(cluster: Cluster, servers: &[NodeId], settle_ns: u64, targets: Option<Targets>) -> BroadcastConsistency {
        let n = cluster.len();
        let mut is_server = vec![false; n];
        servers.iter().for_each(|s| is_server[s.index()] = true);
        BroadcastConsistency {
            cluster,
            is_server,
            settle_ns,
            targets,
            last_command: None,
            broadcasts: BTreeMap::new(),
            values: BTreeMap::new(),
            sets: vec![BTreeMap::new(); n],
            down: vec![false; n],
            restarted: vec![None; n],
            operations: 0,
            server_messages: 0,
            last_fault: SimTime::ZERO,
            partitioned: false,
            phantom: None,
            reads_per_broadcast: None,
            reads_owed: BTreeMap::new(),
            owed_by: BTreeMap::new(),
            reads_on: vec![0; n],
            reads_on_own: 0,
            pattern: Breaches::default(),
            pending_attempts: Vec::new(),
            carried: BTreeMap::new(),
            taken: BTreeSet::new(),
            sent_back: Breaches::default(),
        }
    }

    /// The same, judging that each ended broadcast is followed by `reads` read invocations.
    pub fn with_reads_per_broadcast(mut self, reads: u64) -> BroadcastConsistency {
        self.reads_per_broadcast = Some(reads);
        self
    }

    /// The client pattern, at an operation line of `node`: reads owed from an earlier instant
    /// were never invoked.
    fn reads_missed(&mut self, node: NodeId, at: SimTime) {
        if let Some((owed, due)) = self.reads_owed.get_mut(&node)
            && *owed > 0
            && *due < at
        {
            let (missed, due) = (std::mem::take(owed), *due);
            let name = self.cluster.name(node);
            self.pattern.record(at, || format!("{name} invoked {missed} fewer reads than its broadcast that ended at {due} owed"));
        }
    }

    /// A broadcast of `node` to `server` ended at `at`: its reads are owed now.
    fn broadcast_ended(&mut self, node: NodeId, server: NodeId, at: SimTime) {
        let Some(reads) = self.reads_per_broadcast else { return };
        self.reads_missed(node, at);
        self.owed_by.insert(node, server);
        let owed = self.reads_owed.entry(node).or_insert((0, at));
        *owed = if owed.1 == at { (owed.0 + reads, at) } else { (reads, at) };
    }

    /// `node` invoked a read on `server` at `at`: one of those owed right now, or a breach.
    fn read_invoked(&mut self, node: NodeId, server: NodeId, at: SimTime) {
        if self.reads_per_broadcast.is_none() {
            return;
        }
        self.reads_missed(node, at);
        match self.reads_owed.get_mut(&node) {
            Some((owed, due)) if *owed > 0 && *due == at => {
                *owed -= 1;
                if let Some(count) = self.reads_on.get_mut(server.index()) {
                    *count += 1;
                }
                if self.owed_by.get(&node) == Some(&server) {
                    self.reads_on_own += 1;
                }
            }
            _ => {
                let name = self.cluster.name(node);
                self.pattern.record(at, || format!("{name} invoked a read that no broadcast's end owed"));
            }
        }
    }

    /// The reads' servers against "a server drawn at random per read": with `s >= 2` servers,
    /// each server's share of the reads, and the share that went to the server of the broadcast
    /// that owed them, are each 1/s in expectation (a read's draw is uniform and independent of
    /// everything before it); one that strays beyond chance is a breach.
    fn reads_not_random(&self, pattern: &mut Breaches, end: &RunEnd) {
        let servers: Vec<NodeId> = self.servers().collect();
        let (s, reads) = (servers.len() as u64, servers.iter().map(|n| self.reads_on[n.index()]).sum::<u64>());
        if s < 2 || reads == 0 {
            return;
        }
        let percent = |k: u64| k * 100 / reads;
        if far_from_uniform(self.reads_on_own, reads, s) {
            let own = self.reads_on_own;
            pattern.record(end.at, || {
                format!("{own} of {reads} reads ({}%) went to the server of the broadcast that owed them, not to one of the {s} servers drawn at random", percent(own))
            });
        }
        for &server in &servers {
            let on = self.reads_on[server.index()];
            if far_from_uniform(on, reads, s) {
                let name = self.cluster.name(server);
                pattern.record(end.at, || {
                    format!("{on} of {reads} reads ({}%) went to {name}, not to one of the {s} servers drawn at random", percent(on))
                });
            }
        }
    }

    fn servers(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.cluster.nodes().filter(|n| self.is_server[n.index()])
    }

    /// The servers judged at the end: those up.
    fn judged(&self) -> Vec<NodeId> {
        self.servers().filter(|n| !self.down[n.index()]).collect()
    }

    /// The figures measured so far.
    pub fn figures(&self) -> Figures {
        let judged = self.judged();
        let mut latencies: Vec<u64> = self
            .values
            .iter()
            .filter_map(|(v, ack)| {
                let ack = (*ack)?;
                let stable = judged.iter().map(|s| self.sets[s.index()].get(v).copied()).collect::<Option<Vec<_>>>()?;
                Some(stable.into_iter().max().map_or(0, |t| t.0.saturating_sub(ack.0)))
            })
            .collect();
        latencies.sort_unstable();
        let rank = |p: usize| (!latencies.is_empty()).then(|| latencies[(latencies.len() * p).div_ceil(100).max(1) - 1]);
        Figures {
            operations: self.operations,
            acknowledged: self.values.values().filter(|a| a.is_some()).count() as u64,
            server_messages: self.server_messages,
            messages_per_op: self.server_messages as f64 / self.operations.max(1) as f64,
            median_ns: rank(50),
            max_ns: latencies.last().copied(),
        }
    }

    /// Whether a value acknowledged at `ack` should be everywhere by the end.
    fn overdue(&self, ack: SimTime, end: &RunEnd) -> bool {
        !self.partitioned && (end.reason == EndReason::Quiescent || ack.max(self.last_fault).saturating_add(self.settle_ns) <= end.at)
    }
}

/// Whether `hits` of `n` independent draws, each a hit with probability `1/s`, stray too far
/// from `n/s` for chance: `|hits/n - 1/s| >= t` with `2 n t^2 > 50`, in integers
/// (`2 (hits s - n)^2 > 50 n s^2`).
///
/// Hoeffding's inequality bounds the chance of that at a fixed `n` by `2 e^-50` (4e-22); a
/// union bound over every count of reads a run might stop at (the count is not fixed in
/// advance) and the `s + 1` shares judged keeps a correct run's chance of failing below
/// `2 (s + 1) R e^-50` for `R` reads: under 4e-11 for a billion reads and 100 servers. A client
/// that puts every read on one server (or on its broadcast's) is caught from
/// `n > 25 s^2 / (s - 1)^2` reads: 101 with two servers, 57 with three.
fn far_from_uniform(hits: u64, n: u64, s: u64) -> bool {
    let deviation = i128::from(hits) * i128::from(s) - i128::from(n);
    2 * deviation * deviation > 50 * i128::from(n) * i128::from(s) * i128::from(s)
}

/// "the acknowledged value in" or "all n acknowledged values in" every server's reads.
fn every(n: usize) -> String {
    match n {
        1 => "the one acknowledged value in every server's reads".to_string(),
        n => format!("all {n} acknowledged values in every server's reads"),
    }
}

fn ms(ns: u64) -> String {
    SimTime(ns).to_string()
}

impl Checker for BroadcastConsistency {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::map(&self.broadcasts),
            b::map(&self.values),
            b::nested(&self.sets, b::map),
            b::map(&self.reads_owed),
            b::map(&self.owed_by),
            b::vec(&self.reads_on),
            b::vec(&self.pending_attempts),
            b::map(&self.carried) + b::nested(self.carried.values(), b::vec),
            b::set(&self.taken),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        let command = self.last_command.take();
        match e.kind {
            EventKind::Command { node, app, dest } => self.last_command = Some((node, app, e.time, dest)),
            EventKind::Op { node, op, server, outcome } => match outcome {
                OpOutcome::Invoke => {
                    self.operations += 1;
                    if let Some((c, value, at, dest)) = command
                        && c == node
                        && at == e.time
                    {
                        if let Dest::Node(named) = dest
                            && self.is_server.get(named.index()) == Some(&true)
                            && named != server
                        {
                            let (client, to, named) = (self.cluster.name(node), self.cluster.name(server), self.cluster.name(named));
                            self.pattern.record(e.time, || {
                                format!("{client} invoked its broadcast of a{} on {to}, not on the commanded {named}", value.0)
                            });
                        }
                        self.reads_missed(node, e.time);
                        self.broadcasts.insert((node, op), value);
                        self.values.entry(value).or_insert(None);
                    } else {
                        self.read_invoked(node, server, e.time);
                    }
                }
                OpOutcome::Ok => {
                    if let Some(value) = self.broadcasts.remove(&(node, op)) {
                        self.values.insert(value, Some(e.time));
                        self.broadcast_ended(node, server, e.time);
                    }
                }
                OpOutcome::Timeout => {
                    if self.broadcasts.remove(&(node, op)).is_some() {
                        self.broadcast_ended(node, server, e.time);
                    }
                }
            },
            EventKind::Deliver { node, app, damaged, .. } if self.is_server[node.index()] => {
                if (damaged || !self.values.contains_key(&app)) && self.phantom.is_none() {
                    self.phantom = Some((node, app, e.time, damaged));
                }
                self.sets[node.index()].entry(app).or_insert(e.time);
            }
            EventKind::Attempt { node, to, series, .. } => {
                if self.taken.contains(&(node, to, series)) {
                    let (server, neighbour) = (self.cluster.name(node), self.cluster.name(to));
                    self.sent_back.record(e.time, || format!("{server} sent a{series} back to {neighbour}, which had sent it"));
                }
                self.pending_attempts.push((node, to, series));
            }
            EventKind::Send { from, to, msg, .. } => {
                // The `attempt` lines just before a send mark it; any other send ends their chance.
                let values: Vec<u64> = self
                    .pending_attempts
                    .drain(..)
                    .filter(|&(sender, recipient, _)| (sender, recipient) == (from, to))
                    .map(|(_, _, v)| v)
                    .collect();
                if self.is_server[from.index()] && self.is_server[to.index()] {
                    self.server_messages += 1;
                    if !values.is_empty() {
                        self.carried.insert(msg, values);
                    }
                }
            }
            EventKind::Receive { from, to, msg, corrupted: false } => {
                for &value in self.carried.get(&msg).into_iter().flatten() {
                    self.taken.insert((to, from, value));
                }
            }
            EventKind::Fault { action, node, .. } => {
                self.last_fault = e.time;
                match (action, node) {
                    (FaultAction::Crash, Some(n)) => {
                        self.down[n.index()] = true;
                        // A restarted server has lost its values, and a neighbour's loss may owe it them again.
                        self.taken.retain(|&(server, neighbour, _)| server != n && neighbour != n);
                        self.sets[n.index()].clear();
                        self.reads_owed.remove(&n);
                        // A client numbers its operations afresh after a restart: its broadcasts
                        // in progress are gone with it, not ended by the new incarnation's
                        // operations of the same numbers.
                        self.broadcasts.retain(|&(client, _), _| client != n);
                        self.owed_by.remove(&n);
                    }
                    (FaultAction::Restart, Some(n)) => {
                        self.down[n.index()] = false;
                        self.restarted[n.index()] = Some(e.time);
                    }
                    (FaultAction::Partition, _) => self.partitioned = true,
                    (FaultAction::Heal, _) => self.partitioned = false,
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        if let Some((node, app, at, damaged)) = self.phantom {
            let what = if damaged { "a damaged value" } else { "a value never broadcast" };
            return Verdict::fail(format!("{}'s reads hold {what}: a{} joined its set at {at}", self.cluster.name(node), app.0));
        }
        let mut pattern = self.pattern.clone();
        for (&node, &(owed, due)) in self.reads_owed.iter().filter(|(_, owed)| owed.0 > 0) {
            let name = self.cluster.name(node);
            pattern.record(due, || format!("{name} never invoked {owed} of the reads its broadcast that ended then owed"));
        }
        self.reads_not_random(&mut pattern, end);
        if let Some(breach) = pattern.verdict("breaches of the broadcast workload's pattern of operations by the clients") {
            return breach;
        }
        if let Some(breach) = self.sent_back.verdict("values sent back to the neighbour they came from") {
            return breach;
        }
        let judged = self.judged();
        let acked: Vec<(AppId, SimTime)> = self.values.iter().filter_map(|(v, a)| a.map(|a| (*v, a))).collect();
        if acked.is_empty() || judged.is_empty() {
            return Verdict::inconclusive("no broadcast acknowledged, or no server up at the end: nothing to judge");
        }
        let owes = |s: NodeId, acked: SimTime| self.restarted[s.index()].is_none_or(|r| acked > r);
        let missing: Vec<(AppId, SimTime, NodeId)> = acked
            .iter()
            .filter_map(|&(v, a)| judged.iter().find(|&&s| owes(s, a) && !self.sets[s.index()].contains_key(&v)).map(|&s| (v, a, s)))
            .collect();
        if let Some(&(v, ack, server)) = missing.iter().find(|(_, a, _)| self.overdue(*a, end)) {
            let overdue = missing.iter().filter(|(_, a, _)| self.overdue(*a, end)).count();
            return Verdict::fail(format!(
                "{overdue} of {} acknowledged values never reached every server; first: a{} (acknowledged at {ack}) never in {}'s reads",
                acked.len(),
                v.0,
                self.cluster.name(server)
            ));
        }
        if !missing.is_empty() {
            let why = if self.partitioned { "a partition was still in force" } else { "the network had not been healed long enough" };
            return Verdict::inconclusive(format!(
                "{} of {} acknowledged values missing from some server at the end, but {why} ({})",
                missing.len(),
                acked.len(),
                end.reason
            ));
        }
        let f = self.figures();
        let (median, max) = (f.median_ns.unwrap_or(0), f.max_ns.unwrap_or(0));
        let measured = format!(
            "stable latency median {}, max {}; {:.2} server messages per operation ({} messages, {} operations)",
            ms(median),
            ms(max),
            f.messages_per_op,
            f.server_messages,
            f.operations
        );
        if let Some(t) = self.targets {
            let mut missed = Vec::new();
            if f.messages_per_op >= t.messages_per_op {
                missed.push(format!("messages per operation {:.2} not below {}", f.messages_per_op, t.messages_per_op));
            }
            if median >= t.median_ns {
                missed.push(format!("median stable latency {} not below {}", ms(median), ms(t.median_ns)));
            }
            if max >= t.max_ns {
                missed.push(format!("max stable latency {} not below {}", ms(max), ms(t.max_ns)));
            }
            if !missed.is_empty() {
                return Verdict::fail(format!("targets missed: {}; {measured}", missed.join(", ")));
            }
            return Verdict::pass(format!("{}, targets met; {measured}", every(acked.len())));
        }
        Verdict::pass(format!("{}; {measured}", every(acked.len())))
    }
}

/// `BroadcastConsistency(servers: [..], settle_ms: .., targets: (messages_per_op: .., median_ms: .., max_ms: ..))`.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(rename = "BroadcastConsistency", deny_unknown_fields)]
pub struct Config {
    /// The server nodes or groups, whose reads are judged.
    pub servers: Vec<String>,
    /// Milliseconds after the last fault before missing values count.
    pub settle_ms: crate::scenario::file::Number,
    /// Figures the run must stay below; absent: measured, not judged.
    #[serde(default)]
    pub targets: Option<TargetsFile>,
}

/// Targets as scenarios write them.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsFile {
    /// Server-to-server messages per operation.
    pub messages_per_op: crate::scenario::file::Number,
    /// Median stable latency, milliseconds.
    pub median_ms: crate::scenario::file::Number,
    /// Largest stable latency, milliseconds.
    pub max_ms: crate::scenario::file::Number,
}

impl Config {
    /// The targets in nanoseconds.
    pub fn targets(&self) -> Option<Targets> {
        self.targets.map(|t| Targets {
            messages_per_op: t.messages_per_op.0,
            median_ns: crate::protocols::ns(t.median_ms),
            max_ns: crate::protocols::ns(t.max_ms),
        })
    }
}

impl crate::plugin::Check for BroadcastConsistency {
    const NAME: &'static str = "BroadcastConsistency";
    type Config = Config;

    fn validate(config: &Config, cx: &mut crate::scenario::ConfigCx<'_, '_>) {
        use crate::scenario::Seg;
        if config.servers.is_empty() {
            cx.error(&[Seg::Field("servers")], "no servers", "at least one node or group".to_string());
        }
        for (i, n) in config.servers.iter().enumerate() {
            cx.node_set(&[Seg::Field("servers"), Seg::Index(i)], n, true);
        }
        cx.millis(&[Seg::Field("settle_ms")], config.settle_ms);
        if let Some(t) = config.targets {
            let p = |name: &'static str| [Seg::Field("targets"), Seg::Field(name)];
            if !(t.messages_per_op.0.is_finite() && t.messages_per_op.0 > 0.0) {
                cx.error(&p("messages_per_op"), "a target of zero or less", "a positive number".to_string());
            }
            cx.positive_millis(&p("median_ms"), t.median_ms, "a target of zero");
            cx.positive_millis(&p("max_ms"), t.max_ms, "a target of zero");
        }
    }

    fn build(config: &Config, scenario: &crate::scenario::Scenario) -> Box<dyn Checker> {
        use crate::protocols::{broadcast_flood, broadcast_gossip};
        let servers = crate::protocols::resolve(&scenario.cluster, &config.servers);
        let checker =
            BroadcastConsistency::new(scenario.cluster.clone(), &servers, crate::protocols::ns(config.settle_ms), config.targets());
        // The reads each broadcast owes, as the scenario wrote them (1 when it did not say).
        let reads = (scenario.protocol.config::<broadcast_flood::Config>().map(|c| c.reads_per_broadcast))
            .or_else(|| scenario.protocol.config::<broadcast_gossip::Config>().map(|c| c.reads_per_broadcast));
        Box::new(match reads {
            Some(reads) => checker.with_reads_per_broadcast(reads.map_or(1, |r| r.0)),
            None => checker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::{cmd, deliver, ev};
    use crate::trace::EventKind;

    /// Servers n0, n1, n2; client n3.
    fn checker(targets: Option<Targets>) -> BroadcastConsistency {
        let cluster = Cluster { names: ["n0", "n1", "n2", "c"].map(String::from).to_vec(), groups: Vec::new() };
        BroadcastConsistency::new(cluster, &[NodeId(0), NodeId(1), NodeId(2)], 1_000_000_000, targets)
    }

    /// Postmortem: a gossip server that forgot to settle what it owed a neighbour for the values
    /// that neighbour's batch carried sent them straight back, and passed: acks settled them
    /// later, so only the message count grew (held-out set 12, bgossip-batch-does-not-settle-sender).
    #[test]
    fn regression_a_value_is_not_sent_back_to_the_neighbour_it_came_from() {
        let attempt = |ms, node, to, series| ev(ms, EventKind::Attempt { node: NodeId(node), to: NodeId(to), series, attempt: 1 });
        let send = |ms, from, to, msg| ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(to), msg: crate::id::MsgId(msg), size: 8 });
        let recv = |ms, from, to, msg, corrupted| {
            ev(ms, EventKind::Receive { from: NodeId(from), to: NodeId(to), msg: crate::id::MsgId(msg), corrupted })
        };
        let judge = |events: &[TraceEvent]| {
            let mut c = checker(None);
            broadcast_and_read(&mut c);
            [deliver(20, 1, 7), deliver(70, 2, 7)].iter().chain(events).for_each(|e| c.observe(e));
            c.verdict(&end(10_000, EndReason::Quiescent))
        };
        // n0 sends a7 to n1; n1 then sends a7 on to n2 (not back): fine.
        let onward = [attempt(5, 0, 1, 7), send(5, 0, 1, 1), recv(6, 0, 1, 1, false), attempt(8, 1, 2, 7), send(8, 1, 2, 2)];
        assert_eq!(judge(&onward).outcome, Outcome::Pass, "{}", judge(&onward).detail);
        let back = [attempt(5, 0, 1, 7), send(5, 0, 1, 1), recv(6, 0, 1, 1, false), attempt(8, 1, 0, 7), send(8, 1, 0, 2)];
        let v = judge(&back);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("n1 sent a7 back to n0, which had sent it"), "{}", v.detail);
        // A damaged copy taught n1 nothing; a crash of either forgets what was taken.
        let damaged = [attempt(5, 0, 1, 7), send(5, 0, 1, 1), recv(6, 0, 1, 1, true), attempt(8, 1, 0, 7), send(8, 1, 0, 2)];
        assert_eq!(judge(&damaged).outcome, Outcome::Pass);
        let crash = ev(7, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let crashed = [attempt(5, 0, 1, 7), send(5, 0, 1, 1), recv(6, 0, 1, 1, false), crash, attempt(8, 1, 0, 7), send(8, 1, 0, 2)];
        assert_ne!(judge(&crashed).outcome, Outcome::Fail, "{}", judge(&crashed).detail);
    }

    fn op(ms: u64, op: u64, outcome: OpOutcome) -> TraceEvent {
        ev(ms, EventKind::Op { node: NodeId(3), op, server: NodeId(0), outcome })
    }

    fn send(ms: u64, from: u32, to: u32) -> TraceEvent {
        ev(ms, EventKind::Send { from: NodeId(from), to: NodeId(to), msg: crate::id::MsgId(0), size: 8 })
    }

    fn end(ms: u64, reason: EndReason) -> RunEnd {
        RunEnd { reason, at: SimTime(ms * 1_000_000), max_latency_ns: 0 }
    }

    /// The client broadcasts value 7 as op 0 (acknowledged at 20 ms), then reads (op 1).
    fn broadcast_and_read(c: &mut BroadcastConsistency) {
        for e in [cmd(0, 3, 7), op(0, 0, OpOutcome::Invoke), deliver(10, 0, 7), send(10, 0, 1), send(10, 0, 3)] {
            c.observe(&e);
        }
        for e in [op(20, 0, OpOutcome::Ok), op(20, 1, OpOutcome::Invoke), op(40, 1, OpOutcome::Ok)] {
            c.observe(&e);
        }
    }

    #[test]
    fn every_server_holding_every_acknowledged_value_passes_with_its_figures() {
        let mut c = checker(None);
        broadcast_and_read(&mut c);
        c.observe(&deliver(20, 1, 7));
        c.observe(&deliver(70, 2, 7));
        let v = c.verdict(&end(5_000, EndReason::Horizon));
        assert_eq!(v.outcome, Outcome::Pass, "{}", v.detail);
        // One server-to-server message (the client's does not count) over two operations; the
        // last server had the value 50 ms after its acknowledgement.
        let f = c.figures();
        assert_eq!((f.operations, f.acknowledged, f.server_messages), (2, 1, 1));
        assert_eq!((f.messages_per_op, f.median_ns, f.max_ns), (0.5, Some(50_000_000), Some(50_000_000)));
    }

    #[test]
    fn an_acknowledged_value_missing_from_a_server_fails_once_settled() {
        let mut c = checker(None);
        broadcast_and_read(&mut c);
        c.observe(&deliver(20, 1, 7));
        assert_eq!(c.verdict(&end(5_000, EndReason::Horizon)).outcome, Outcome::Fail);
        // Within `settle` of the acknowledgement nothing is owed yet.
        assert_eq!(c.verdict(&end(500, EndReason::Horizon)).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn a_partition_in_force_at_the_end_excuses_a_missing_value() {
        let mut c = checker(None);
        broadcast_and_read(&mut c);
        c.observe(&ev(30, EventKind::Fault { action: FaultAction::Partition, node: None, index: 0 }));
        assert_eq!(c.verdict(&end(5_000, EndReason::Horizon)).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn a_value_never_broadcast_in_a_set_fails() {
        let mut c = checker(None);
        broadcast_and_read(&mut c);
        c.observe(&deliver(20, 1, 7));
        c.observe(&deliver(30, 2, 7));
        // Value 8 was handed to the client by a `cmd` line, but never invoked as a broadcast.
        c.observe(&cmd(35, 3, 8));
        c.observe(&deliver(40, 2, 8));
        let v = c.verdict(&end(5_000, EndReason::Horizon));
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(v.detail.contains("never broadcast") && v.detail.contains("a8"), "{}", v.detail);
    }

    #[test]
    fn a_read_is_not_a_broadcast_even_at_the_time_of_a_command() {
        // An invocation that does not directly follow the client's `cmd` line is a read, so the
        // command's message is not a broadcast value.
        let mut c = checker(None);
        for e in [cmd(0, 3, 7), send(0, 0, 1), op(0, 0, OpOutcome::Invoke), op(20, 0, OpOutcome::Ok)] {
            c.observe(&e);
        }
        assert_eq!(c.verdict(&end(5_000, EndReason::Horizon)).outcome, Outcome::Inconclusive);
    }

    #[test]
    fn a_crash_empties_the_servers_set_a_server_down_at_the_end_is_not_judged_and_a_restarted_one_owes_what_came_since() {
        let mut c = checker(None);
        broadcast_and_read(&mut c);
        c.observe(&deliver(20, 1, 7));
        c.observe(&deliver(30, 2, 7));
        c.observe(&ev(100, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(2)), index: 0 }));
        assert_eq!(c.verdict(&end(5_000, EndReason::Horizon)).outcome, Outcome::Pass);
        // Restarted, it owes only what was acknowledged since: value 7 (at 20 ms) is not owed,
        // value 8 (at 300 ms) is.
        c.observe(&ev(200, EventKind::Fault { action: FaultAction::Restart, node: Some(NodeId(2)), index: 1 }));
        assert_eq!(c.verdict(&end(5_000, EndReason::Horizon)).outcome, Outcome::Pass);
        for e in [cmd(250, 3, 8), op(250, 2, OpOutcome::Invoke), deliver(260, 0, 8), deliver(270, 1, 8), op(300, 2, OpOutcome::Ok)] {
            c.observe(&e);
        }
        assert_eq!(c.verdict(&end(5_000, EndReason::Horizon)).outcome, Outcome::Fail);
    }

    #[test]
    fn a_timed_out_broadcast_is_not_owed() {
        let mut c = checker(None);
        for e in [cmd(0, 3, 7), op(0, 0, OpOutcome::Invoke), op(1_000, 0, OpOutcome::Timeout)] {
            c.observe(&e);
        }
        assert_eq!(c.verdict(&end(5_000, EndReason::Horizon)).outcome, Outcome::Inconclusive);
    }

    /// Postmortem: a client that invoked no reads after a broadcast timed out passed (the
    /// check told reads from broadcasts by the pattern but never judged it), and the figures
    /// divided by fewer operations than the workload declared (held-out set 9).
    #[test]
    fn regression_each_ended_broadcast_is_followed_by_its_reads_and_no_other() {
        let judge = |events: &[TraceEvent]| {
            let mut c = checker(None).with_reads_per_broadcast(1);
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&end(5_000, EndReason::Quiescent))
        };
        let timed_out = [cmd(0, 3, 7), op(0, 0, OpOutcome::Invoke), op(1_000, 0, OpOutcome::Timeout)];
        let v = judge(&timed_out);
        assert!(v.outcome == Outcome::Fail && v.detail.contains("never invoked 1 of the reads"), "{}", v.detail);
        let read = [&timed_out[..], &[op(1_000, 1, OpOutcome::Invoke), op(1_010, 1, OpOutcome::Ok)]].concat();
        assert_ne!(judge(&read).outcome, Outcome::Fail, "{}", judge(&read).detail);
        let late = [&timed_out[..], &[op(1_001, 1, OpOutcome::Invoke)]].concat();
        assert!(judge(&late).detail.contains("fewer reads"), "{}", judge(&late).detail);
        let extra = [&read[..], &[op(1_020, 2, OpOutcome::Invoke)]].concat();
        assert!(judge(&extra).detail.contains("no broadcast's end owed"), "{}", judge(&extra).detail);
    }

    /// Postmortem: a client that invoked a broadcast commanded to n0 on n1 passed: the
    /// check read the invocation's pattern, not its server (held-out set 11,
    /// bcast-named-server-ignored).
    #[test]
    fn regression_a_broadcast_goes_to_the_server_its_command_named() {
        let judge = |server: u32| {
            let mut c = checker(None);
            let command = ev(0, EventKind::Command { node: NodeId(3), app: AppId(7), dest: Dest::Node(NodeId(0)) });
            let invoke = ev(0, EventKind::Op { node: NodeId(3), op: 0, server: NodeId(server), outcome: OpOutcome::Invoke });
            for e in [command, invoke, deliver(1, 0, 7), deliver(1, 1, 7), deliver(1, 2, 7)] {
                c.observe(&e);
            }
            c.observe(&ev(2, EventKind::Op { node: NodeId(3), op: 0, server: NodeId(server), outcome: OpOutcome::Ok }));
            c.verdict(&end(5_000, EndReason::Quiescent))
        };
        assert_eq!(judge(0).outcome, Outcome::Pass, "{}", judge(0).detail);
        let v = judge(1);
        assert!(
            v.outcome == Outcome::Fail && v.detail.contains("c invoked its broadcast of a7 on n1, not on the commanded n0"),
            "{}",
            v.detail
        );
    }

    /// Postmortem: a client that sent every read to its broadcast's server instead of one drawn
    /// at random passed, sets converging all the same (held-out set 11,
    /// bcast-reads-on-the-broadcast-server).
    #[test]
    fn regression_reads_go_to_servers_drawn_at_random() {
        // `rounds` broadcasts, each to server `round % 3`, each owing one read, which goes to
        // the server `read` names for that round.
        let judge = |rounds: u64, read: &dyn Fn(u64) -> u32| {
            let mut c = checker(None).with_reads_per_broadcast(1);
            for r in 0..rounds {
                let (t, bserver) = (r * 10, (r % 3) as u32);
                c.observe(&cmd(t, 3, r));
                c.observe(&ev(t, EventKind::Op { node: NodeId(3), op: 2 * r, server: NodeId(bserver), outcome: OpOutcome::Invoke }));
                (0..3).for_each(|s| c.observe(&deliver(t + 1, s, r)));
                c.observe(&ev(t + 2, EventKind::Op { node: NodeId(3), op: 2 * r, server: NodeId(bserver), outcome: OpOutcome::Ok }));
                c.observe(&ev(
                    t + 2,
                    EventKind::Op { node: NodeId(3), op: 2 * r + 1, server: NodeId(read(r)), outcome: OpOutcome::Invoke },
                ));
                c.observe(&ev(t + 3, EventKind::Op { node: NodeId(3), op: 2 * r + 1, server: NodeId(read(r)), outcome: OpOutcome::Ok }));
            }
            c.verdict(&end(100_000, EndReason::Quiescent))
        };
        // Spread evenly (as draws at random are, within chance): passes.
        let even = judge(300, &|r| ((r * 7 / 3) % 3) as u32);
        assert_eq!(even.outcome, Outcome::Pass, "{}", even.detail);
        // Every read on its broadcast's server: fails once there are enough reads to tell.
        let own = judge(300, &|r| (r % 3) as u32);
        assert!(
            own.outcome == Outcome::Fail && own.detail.contains("300 of 300 reads (100%) went to the server of the broadcast"),
            "{}",
            own.detail
        );
        assert_ne!(judge(50, &|r| (r % 3) as u32).outcome, Outcome::Fail, "50 reads on 3 servers cannot tell");
        // Every read on one server.
        let one = judge(300, &|_| 2);
        assert!(one.outcome == Outcome::Fail && one.detail.contains("0 of 300 reads (0%) went to n0"), "{}", one.detail);
    }

    #[test]
    fn far_from_uniform_holds_a_share_to_chance() {
        // 1/2 of 10,000 is 5,000; chance allows |k - 5000| < 5000 * sqrt(25 * 4 / 10_000) = 500.
        assert!(!far_from_uniform(5_000, 10_000, 2));
        assert!(!far_from_uniform(5_499, 10_000, 2));
        assert!(far_from_uniform(5_501, 10_000, 2));
        assert!(far_from_uniform(4_499, 10_000, 2));
        assert!(!far_from_uniform(100, 100, 2) && far_from_uniform(101, 101, 2));
        assert!(!far_from_uniform(56, 56, 3) && far_from_uniform(57, 57, 3));
    }

    /// Postmortem: a client crashed with a broadcast in progress, restarted and numbered its
    /// operations from 0 again; its new read of the old broadcast's number was taken for that
    /// broadcast's end, and the reads it "owed" for it were reported missing (hfix11's probe
    /// with client crashes under BroadcastFlood: 218 of 300 seeds failed).
    #[test]
    fn regression_a_restarted_clients_operations_do_not_end_its_previous_incarnations_broadcasts() {
        let mut c = checker(None).with_reads_per_broadcast(1);
        let crash = ev(5, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(3)), index: 0 });
        let restart = ev(6, EventKind::Fault { action: FaultAction::Restart, node: Some(NodeId(3)), index: 1 });
        // o0 and o1 broadcast before the crash; after it, o0 broadcasts and o1 reads.
        let events = [cmd(0, 3, 7), op(0, 0, OpOutcome::Invoke), cmd(1, 3, 8), op(1, 1, OpOutcome::Invoke), crash, restart]
            .into_iter()
            .chain([cmd(7, 3, 9), op(7, 0, OpOutcome::Invoke), op(8, 0, OpOutcome::Ok), op(8, 1, OpOutcome::Invoke)])
            .chain([op(9, 1, OpOutcome::Ok), deliver(8, 0, 9), deliver(8, 1, 9), deliver(8, 2, 9)]);
        events.for_each(|e| c.observe(&e));
        let v = c.verdict(&end(5_000, EndReason::Horizon));
        assert_ne!(v.outcome, Outcome::Fail, "{}", v.detail);
    }

    #[test]
    fn each_target_missed_fails_and_met_passes() {
        let run = |t: Targets| {
            let mut c = checker(Some(t));
            broadcast_and_read(&mut c);
            c.observe(&deliver(20, 1, 7));
            c.observe(&deliver(70, 2, 7));
            c.verdict(&end(5_000, EndReason::Horizon))
        };
        let met = Targets { messages_per_op: 0.6, median_ns: 51_000_000, max_ns: 51_000_000 };
        assert_eq!(run(met).outcome, Outcome::Pass);
        // Each target is "below": the measured value equal to it misses it.
        for missed in
            [Targets { messages_per_op: 0.5, ..met }, Targets { median_ns: 50_000_000, ..met }, Targets { max_ns: 50_000_000, ..met }]
        {
            let v = run(missed);
            assert_eq!(v.outcome, Outcome::Fail, "{missed:?}");
            assert!(v.detail.starts_with("targets missed"), "{}", v.detail);
        }
    }
}

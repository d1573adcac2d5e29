//! Group membership with view changes, and virtually synchronous multicast over it: the survivors of a view agree on what was delivered in it before they install the next.
//!
//! A *view* is a numbered membership. Every node starts in view 0 with every
//! node of the cluster as a member, and reports each view it installs (a `view`
//! line, `Ctx::install_view`). Within a view, a multicast goes to every member
//! with acks and retransmission every `resend` until each member acknowledged
//! it; the sender delivers its own message at once, a member on first receipt.
//! Retransmissions are checked at the heartbeat ticks, so a copy goes again at the first
//! tick `resend` after the last (each copy an `attempt` line, each ack an `ack` line, and
//! the policy declared for `RetryBackoff`).
//! A message is delivered only in the view it was sent in: data stamped with
//! another view is ignored (and not acknowledged).
//!
//! **Failure detection.** Every `heartbeat` a node sends a heartbeat to the other
//! members of its view; any intact message from a peer counts as a sign of life.
//! A member silent for `timeout` is suspected (a `suspect` line), for good: the
//! model is crash-stop. Heartbeats carry whom their sender suspects, and a member
//! adopts the suspicions of the members it trusts in its view (the rule of Ricciardi and
//! Birman's membership protocol: a process believed faulty by one is believed faulty by
//! all that hear of it), so a suspicion held by one member alone cannot leave it ignoring a
//! peer that the coordinator, trusting it, never excludes.
//!
//! **Stability.** A message acknowledged by every member is *stable*: everyone has
//! it. Each sender announces in its heartbeats how many of its messages in the view
//! are stable (a prefix); members forget those. What remains, at each member, is its
//! *unstable* set: delivered here, not known to be everywhere. Once a member has
//! crashed nothing more becomes stable until the view changes (the dead acknowledge
//! nothing), so the flush after a crash carries everything since.
//!
//! **The flush.** The coordinator of a view is its lowest-numbered member that this
//! node does not suspect. When the coordinator suspects a member, it proposes the next
//! membership (the members it does not suspect), stops sending (*freezes*: commands
//! wait for the next view) and sends `Flush` to the proposed members, again every
//! heartbeat until they answer. A member answers only the node it takes for the
//! coordinator (while it still trusts a lower-numbered member it ignores the `Flush`,
//! and answers a later copy once it suspects that member too): it freezes and replies
//! with its unstable set. A frozen member delivers and acknowledges no more data of the
//! view, so the set it reported is all it will ever have delivered in it. When every
//! proposed member has answered, the coordinator sends `Install` with the union of
//! the sets; each member delivers what it lacks of them, still in the old view, and
//! then installs the new one. So every member that moves from view v to the next
//! has delivered the same messages in v.
//!
//! **When the coordinator crashes during a flush.** The members suspect it too, and
//! the next member in id order becomes coordinator and flushes again. View numbers
//! keep two coordinators from ever installing different views under one number: the
//! coordinator of rank r (r members of the view have lower ids) installs view
//! `v + 1 + r`. A crashed coordinator may have installed its view at some members
//! before it died; a member that has moved on answers a `Flush` of its old view with
//! the `Install` it took, and the new coordinator adopts it as it is instead of
//! computing its own. A member takes an `Install` from its coordinator only, or from
//! anyone once it is its own coordinator; it ignores every message of a node it
//! suspects, so a dead coordinator's install still in flight cannot arrive after a
//! later coordinator's flush. A member whose install was lost catches up through its
//! heartbeats: a member of a later view answers a heartbeat of an earlier one with
//! the install that left it.
//!
//! **A majority moves on, a minority waits.** A coordinator proposes the next view only
//! if it keeps a strict majority of the current one (the primary-component rule), so
//! of two sides that suspect each other at most one installs a view; the other stays
//! in the old view, delivering what it still can there, and never installs again. This
//! is what keeps heavy loss, which can silence a live member past the timeout, from
//! splitting the group into views that share a number. The price is liveness: losing
//! half a view at once (two crashes of four before the first is flushed out) blocks
//! every view change, so the bundled scenarios run five members.
//!
//! **The model, honestly.** Crash-stop: validation refuses restarts, pauses and
//! partitions under this protocol. A live member falsely suspected is excluded for
//! good (it cannot rejoin), and the rule above is the classic one, not a proof against
//! every interleaving of false suspicions during a flush.
//!
//! `primary: false` is a broken variant: any side moves on, so under false suspicions
//! two sides install different memberships under one number, which `ViewAgreement`
//! catches (`scenarios/ordering/broken-views-no-majority.ron`).
//!
//! `flush: false` is the deliberately broken variant: the coordinator installs the new
//! view at once, with no flush, so a crashed sender's message that reached some
//! survivors and not others stays delivered at some only, which `ViewAgreement` catches
//! (`scenarios/ordering/broken-views-no-flush.ron`).

use super::group::refuse_restarts;
use super::{field, ns};
use crate::id::NodeId;
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Dest, Incoming, Message, Payload, Process};
use crate::scenario::file::{FaultActionFile, Number, SwarmFile};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario, Seg};
use crate::time::SimTime;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The protocol's parameters, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewSpec {
    /// How often every member heartbeats the other members of its view.
    pub heartbeat_ns: u64,
    /// Silence after which a member is suspected, for good.
    pub timeout_ns: u64,
    /// How long a sender waits for a member's ack before sending the message to it again.
    pub resend_ns: u64,
    /// Flush before installing a view (`false`: the broken variant).
    pub flush: bool,
    /// Move on only with a majority of the view (`false`: the broken variant).
    pub primary: bool,
}

/// A membership: bit i set when node i is a member (validation keeps clusters within 64 nodes).
type Members = u64;

fn bit(n: NodeId) -> Members {
    1 << n.0
}

/// A message's identity within its view: its sender and the sender's message number.
type Key = (NodeId, u64);

/// A multicast as members store and flush it.
#[derive(Clone, Debug)]
pub struct Entry {
    key: Key,
    dest: Dest,
    payload: Payload,
}

/// A coordinator's decision: leave view `from` for view `view` with `members`, after
/// delivering `msgs`.
#[derive(Clone, Debug)]
pub struct Install {
    from: u64,
    view: u64,
    members: Members,
    msgs: Vec<Entry>,
}

/// On the wire, between members.
#[derive(Clone, Debug)]
pub enum Wire {
    /// A sign of life, the sender's view, how many of its messages in it are stable, and whom
    /// it suspects.
    Heartbeat {
        /// The view the sender is in.
        view: u64,
        /// How many of the sender's first messages in that view every member acknowledged.
        stable: u64,
        /// The members the sender suspects, so that every member comes to suspect them too.
        suspects: Members,
    },
    /// A multicast, sent (and resent) to each member of the sender's view.
    Data {
        /// The view it was sent in; a member in another view ignores it.
        view: u64,
        /// The message.
        entry: Entry,
    },
    /// The member has the message `key` of `view`.
    Ack {
        /// The view of the message acknowledged.
        view: u64,
        /// The message acknowledged: its sender and number.
        key: Key,
    },
    /// The coordinator asks for the unstable set of `view`.
    Flush {
        /// The view being flushed.
        view: u64,
    },
    /// A member's answer to a flush: it is frozen, and this is everything it delivered in
    /// `view` that it does not know to be stable.
    FlushOk {
        /// The view flushed.
        view: u64,
        /// The member's unstable set.
        unstable: Vec<Entry>,
    },
    /// The coordinator's decision; also how a member that has moved on answers a `Flush` or a
    /// heartbeat of a view it has left (the install that left it), so that a new coordinator
    /// adopts it and a member whose install was lost catches up.
    Install(Install),
}

/// Bytes of one stored message on the wire: its key and destination, then the payload.
const ENTRY_BYTES: u32 = 24;
const HEADER_BYTES: u32 = 24;

fn entries_size(entries: &[Entry]) -> u32 {
    entries.iter().fold(0u32, |acc, e| acc.saturating_add(ENTRY_BYTES).saturating_add(e.payload.size_bytes))
}

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Heartbeat { .. } | Wire::Ack { .. } | Wire::Flush { .. } => HEADER_BYTES,
            Wire::Data { entry, .. } => HEADER_BYTES + ENTRY_BYTES.saturating_add(entry.payload.size_bytes),
            Wire::FlushOk { unstable, .. } => HEADER_BYTES.saturating_add(entries_size(unstable)),
            Wire::Install(i) => (HEADER_BYTES + 16).saturating_add(entries_size(&i.msgs)),
        }
    }

    fn corrupt(&mut self) {
        let entries: &mut [Entry] = match self {
            Wire::Data { entry, .. } => std::slice::from_mut(entry),
            Wire::FlushOk { unstable, .. } => unstable,
            Wire::Install(i) => &mut i.msgs,
            Wire::Heartbeat { .. } | Wire::Ack { .. } | Wire::Flush { .. } => &mut [],
        };
        entries.iter_mut().for_each(|e| e.payload.corrupt());
    }

    fn heap_bytes(&self) -> u64 {
        match self {
            Wire::FlushOk { unstable, .. } => crate::process::vec_bytes(unstable),
            Wire::Install(i) => crate::process::vec_bytes(&i.msgs),
            Wire::Heartbeat { .. } | Wire::Ack { .. } | Wire::Flush { .. } | Wire::Data { .. } => 0,
        }
    }
}

/// The one periodic timer: heartbeats, deadlines, retransmissions, the flush's progress.
#[derive(Clone, Copy, Debug)]
pub struct Tick;

type ViewCtx<'a> = Ctx<'a, Wire, Tick>;

/// One of this node's messages of the current view that some member has not acknowledged.
struct Outgoing {
    entry: Entry,
    acked: Members,
    sent_at: SimTime,
    /// How many times it was sent (each send goes to every trusted member yet to ack it).
    attempts: u32,
}

/// The retransmission series of this node's message `seq` of `view` (`RetryBackoff` follows
/// it): numbered by both, since every view numbers its messages from 0 again.
fn series(view: u64, seq: u64) -> u64 {
    view << 32 | seq & 0xffff_ffff
}

/// A flush this node runs as coordinator: who has answered, and the union of their sets.
struct Flushing {
    answered: Members,
    collected: BTreeMap<Key, Entry>,
}

/// One member: its view and membership, what it suspects, its multicasts awaiting acks, its
/// unstable set, and, as coordinator, the flush it runs.
pub struct Node {
    spec: ViewSpec,
    view: u64,
    members: Members,
    /// Suspected for good (crash-stop).
    suspected: Members,
    last_heard: Vec<SimTime>,
    next: u64,
    outstanding: BTreeMap<u64, Outgoing>,
    /// Keys received in the current view.
    seen: BTreeSet<Key>,
    unstable: BTreeMap<Key, Entry>,
    /// Answered a flush (or started one): no more sending, delivering or acknowledging in this view.
    frozen: bool,
    queued: Vec<(Payload, Dest)>,
    flushing: Option<Flushing>,
    /// The install that left each view this node was in, by the view it left.
    history: BTreeMap<u64, Install>,
}

impl Node {
    /// A node that, when it starts, installs view 0 with every node of the cluster as a member.
    pub fn new(spec: ViewSpec) -> Node {
        Node {
            spec,
            view: 0,
            members: 0,
            suspected: 0,
            last_heard: Vec::new(),
            next: 0,
            outstanding: BTreeMap::new(),
            seen: BTreeSet::new(),
            unstable: BTreeMap::new(),
            frozen: false,
            queued: Vec::new(),
            flushing: None,
            history: BTreeMap::new(),
        }
    }

    /// The members of the current view this node does not suspect.
    fn trusted(&self) -> Members {
        self.members & !self.suspected
    }

    /// The lowest-numbered member of the current view this node does not suspect.
    fn coordinator(&self) -> Option<NodeId> {
        let t = self.trusted();
        (t != 0).then(|| NodeId(t.trailing_zeros()))
    }

    fn others(&self, me: NodeId, set: Members) -> impl Iterator<Item = NodeId> + use<> {
        let set = set & !bit(me);
        (0..64u32).filter(move |i| set >> i & 1 == 1).map(NodeId)
    }

    fn deliver(&self, ctx: &mut ViewCtx<'_>, entry: &Entry) {
        if ctx.cluster().group_recipients(entry.dest).contains(&ctx.me()) {
            ctx.deliver(entry.payload);
        }
    }

    /// How many of this node's messages of the view, from the first, every member has.
    fn stable(&self) -> u64 {
        self.outstanding.keys().next().copied().unwrap_or(self.next)
    }

    fn multicast(&mut self, ctx: &mut ViewCtx<'_>, payload: Payload, dest: Dest) {
        let me = ctx.me();
        let entry = Entry { key: (me, self.next), dest, payload };
        self.next += 1;
        self.seen.insert(entry.key);
        self.unstable.insert(entry.key, entry.clone());
        self.deliver(ctx, &entry);
        for to in self.others(me, self.trusted()) {
            ctx.send_attempt(to, Wire::Data { view: self.view, entry: entry.clone() }, series(self.view, entry.key.1), 1);
        }
        let acked = bit(me);
        if acked & self.members != self.members {
            self.outstanding.insert(entry.key.1, Outgoing { entry, acked, sent_at: ctx.now(), attempts: 1 });
        }
    }

    /// Deliver what the install says was delivered in the view and this node lacks, then move on.
    fn install(&mut self, ctx: &mut ViewCtx<'_>, install: Install) {
        for e in &install.msgs {
            if self.seen.insert(e.key) {
                self.deliver(ctx, e);
            }
        }
        ctx.install_view(install.view, install.members);
        self.view = install.view;
        self.members = install.members;
        self.next = 0;
        self.outstanding.clear();
        self.seen.clear();
        self.unstable.clear();
        self.frozen = false;
        self.flushing = None;
        self.history.insert(install.from, install);
        for (payload, dest) in std::mem::take(&mut self.queued) {
            self.multicast(ctx, payload, dest);
        }
    }

    /// As coordinator: send an install to the other members of the new view and take it here.
    fn decide(&mut self, ctx: &mut ViewCtx<'_>, install: Install) {
        for to in self.others(ctx.me(), install.members) {
            ctx.send(to, Wire::Install(install.clone()));
        }
        self.install(ctx, install);
    }

    /// As coordinator with a suspected member: start or advance the view change.
    fn view_change(&mut self, ctx: &mut ViewCtx<'_>) {
        let me = ctx.me();
        if self.coordinator() != Some(me) || self.members & self.suspected == 0 {
            return;
        }
        let proposal = self.trusted();
        // The primary-component rule: a view follows another only with a majority of its
        // members. A detector can suspect a live member (heavy loss silences it); without this
        // rule the excluded side could go on in a view of its own, and two sides could install
        // different memberships under one number. With it, a minority waits instead.
        if self.spec.primary && 2 * proposal.count_ones() <= self.members.count_ones() {
            return;
        }
        // Coordinators of different ranks never choose the same number.
        let rank = u64::from((self.members & (bit(me) - 1)).count_ones());
        let view = self.view + 1 + rank;
        if !self.spec.flush {
            self.decide(ctx, Install { from: self.view, view, members: proposal, msgs: Vec::new() });
            return;
        }
        let f = self.flushing.get_or_insert_with(|| Flushing { answered: bit(me), collected: self.unstable.clone() });
        self.frozen = true;
        let waiting = proposal & !f.answered;
        if waiting == 0 {
            let msgs = f.collected.values().cloned().collect();
            self.decide(ctx, Install { from: self.view, view, members: proposal, msgs });
            return;
        }
        for to in self.others(me, waiting) {
            ctx.send(to, Wire::Flush { view: self.view });
        }
    }

    /// Suspect, for good, the members of this view that a trusted member suspects (never this
    /// node itself). Without it a member that alone suspects a live peer ignores it while the
    /// coordinator, hearing it, never moves the view on: the group stalls, the suspected peer's
    /// messages never delivered there. Spread, a suspicion reaches the coordinator, or makes the
    /// next member coordinator where the coordinator is the one suspected.
    fn adopt_suspicions(&mut self, ctx: &mut ViewCtx<'_>, suspects: Members) {
        let new = suspects & self.trusted() & !bit(ctx.me());
        self.suspected |= new;
        for p in self.others(ctx.me(), new) {
            ctx.suspicion(p, true);
        }
    }

    /// Answer a node that is still in view `view`, which this node has left, with the install that left it.
    fn catch_up(&self, ctx: &mut ViewCtx<'_>, to: NodeId, view: u64) {
        if view < self.view
            && let Some(install) = self.history.get(&view)
            && install.members & bit(to) != 0
        {
            ctx.send(to, Wire::Install(install.clone()));
        }
    }

    fn tick(&mut self, ctx: &mut ViewCtx<'_>) {
        let me = ctx.me();
        let now = ctx.now();
        let stable = self.stable();
        for to in self.others(me, self.trusted()) {
            ctx.send(to, Wire::Heartbeat { view: self.view, stable, suspects: self.suspected & self.members });
        }
        for p in self.others(me, self.trusted()) {
            if now.as_nanos().saturating_sub(self.last_heard[p.index()].as_nanos()) >= self.spec.timeout_ns {
                self.suspected |= bit(p);
                ctx.suspicion(p, true);
            }
        }
        if !self.frozen {
            self.unstable.retain(|k, _| !(k.0 == me && k.1 < stable));
            let trusted = self.trusted();
            for o in self.outstanding.values_mut() {
                if now.as_nanos().saturating_sub(o.sent_at.as_nanos()) < self.spec.resend_ns {
                    continue;
                }
                o.sent_at = now;
                o.attempts = o.attempts.saturating_add(1);
                let missing = trusted & !o.acked & !bit(me);
                for to in (0..64u32).filter(|i| missing >> i & 1 == 1).map(NodeId) {
                    ctx.send_attempt(
                        to,
                        Wire::Data { view: self.view, entry: o.entry.clone() },
                        series(self.view, o.entry.key.1),
                        o.attempts,
                    );
                }
            }
        }
        self.view_change(ctx);
    }
}

impl Process for Node {
    type Msg = Wire;
    type Timer = Tick;

    fn on_start(&mut self, ctx: &mut ViewCtx<'_>) {
        let n = ctx.cluster().len();
        self.members = if n >= 64 { u64::MAX } else { (1 << n) - 1 };
        self.last_heard = vec![ctx.now(); n];
        ctx.install_view(0, self.members);
        ctx.set_timer(self.spec.heartbeat_ns, Tick);
    }

    fn on_command(&mut self, ctx: &mut ViewCtx<'_>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        if self.frozen {
            self.queued.push((payload, dest));
        } else {
            self.multicast(ctx, payload, dest);
        }
    }

    fn on_message(&mut self, ctx: &mut ViewCtx<'_>, incoming: Incoming<Wire>) {
        let from = incoming.from;
        // A corrupted copy is lost; a suspected node is dead to this one.
        if !incoming.checksum_ok || self.suspected & bit(from) != 0 {
            return;
        }
        self.last_heard[from.index()] = ctx.now();
        let me = ctx.me();
        match incoming.msg {
            Wire::Heartbeat { view, stable, suspects } => {
                if view == self.view && !self.frozen {
                    self.unstable.retain(|k, _| !(k.0 == from && k.1 < stable));
                }
                if view == self.view {
                    self.adopt_suspicions(ctx, suspects);
                }
                self.catch_up(ctx, from, view);
            }
            Wire::Data { view, entry } => {
                if view != self.view || self.frozen {
                    return;
                }
                ctx.send_ack(from, Wire::Ack { view, key: entry.key }, series(view, entry.key.1));
                if self.seen.insert(entry.key) {
                    self.deliver(ctx, &entry);
                    self.unstable.insert(entry.key, entry);
                }
            }
            Wire::Ack { view, key } => {
                if view != self.view || key.0 != me {
                    return;
                }
                if let Some(o) = self.outstanding.get_mut(&key.1) {
                    o.acked |= bit(from);
                    if o.acked & self.members == self.members {
                        self.outstanding.remove(&key.1);
                    }
                }
            }
            Wire::Flush { view } => {
                if view == self.view && self.coordinator() == Some(from) {
                    self.frozen = true;
                    ctx.send(from, Wire::FlushOk { view, unstable: self.unstable.values().cloned().collect() });
                }
                self.catch_up(ctx, from, view);
            }
            Wire::FlushOk { view, unstable } => {
                if view != self.view {
                    return;
                }
                if let Some(f) = &mut self.flushing {
                    f.answered |= bit(from);
                    f.collected.extend(unstable.into_iter().map(|e| (e.key, e)));
                    self.view_change(ctx);
                }
            }
            Wire::Install(install) => {
                let coordinator = self.coordinator();
                let trusted_source = coordinator == Some(from) || coordinator == Some(me);
                if install.from != self.view || install.members & bit(me) == 0 || !trusted_source {
                    return;
                }
                if coordinator == Some(me) {
                    // A member took this view from an earlier coordinator, now dead: adopt it as it is.
                    self.decide(ctx, install);
                } else {
                    self.install(ctx, install);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut ViewCtx<'_>, _timer: Tick) {
        ctx.set_timer(self.spec.heartbeat_ns, Tick);
        self.tick(ctx);
    }
}

/// `ViewSynchronous(heartbeat_ms: .., timeout_ms: .., resend_ms: .., flush: true)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "ViewSynchronous", deny_unknown_fields)]
pub struct Config {
    /// How often every member heartbeats the others.
    pub heartbeat_ms: Number,
    /// Silence after which a member is suspected (for good).
    pub timeout_ms: Number,
    /// How long a sender waits for acks before sending a message again.
    pub resend_ms: Number,
    /// Flush before installing a view (`false` installs at once: the broken variant).
    #[serde(default = "yes")]
    pub flush: bool,
    /// Move on only with a majority of the view (`false` lets any side move on: the broken variant).
    #[serde(default = "yes")]
    pub primary: bool,
}

fn yes() -> bool {
    true
}

/// Group membership with view changes and virtually synchronous multicast, as scenarios name it.
pub struct ViewSynchronousProtocol;

impl Protocol for ViewSynchronousProtocol {
    const NAME: &'static str = "ViewSynchronous";
    type Config = Config;
    type Process = Node;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        let beat = cx.positive_millis(&[field("heartbeat_ms")], config.heartbeat_ms, "heartbeats every 0 ms");
        if let (Some(beat), Some(timeout)) = (beat, cx.millis(&[field("timeout_ms")], config.timeout_ms))
            && timeout <= beat
        {
            cx.error(
                &[field("timeout_ms")],
                format!("a timeout of {} ms with heartbeats every {} ms", config.timeout_ms.0, config.heartbeat_ms.0),
                "longer than the heartbeat period, or every member is suspected".to_string(),
            );
        }
        cx.positive_millis(&[field("resend_ms")], config.resend_ms, "resending after 0 ms");
        // A view's membership is one 64-bit word, in the protocol and in the trace.
        let n = cx.cluster().len();
        if n > 64 {
            cx.error_in_scenario(
                &[Seg::Field("nodes")],
                format!("{n} nodes under ViewSynchronous"),
                "at most 64: a view's members are one 64-bit word".to_string(),
            );
        }
        refuse_restarts(cx, "a group-communication protocol", "group-communication protocols are crash-stop");
        refuse_suspecting_faults(cx);
    }

    // A message goes again at the first heartbeat tick `resend_ms` after its last send, until
    // acknowledged. A member frozen by a flush, or already in the next view, rightly takes a
    // copy without acknowledging it.
    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        Some(RetryPolicy { acks_every_arrival: false, ..RetryPolicy::at_ticks(config.resend_ms, config.heartbeat_ms) })
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> Node {
        let spec = ViewSpec {
            heartbeat_ns: ns(config.heartbeat_ms),
            timeout_ns: ns(config.timeout_ms),
            resend_ns: ns(config.resend_ms),
            flush: config.flush,
            primary: config.primary,
        };
        move |_| Node::new(spec)
    }
}

/// `ViewSynchronous` is crash-stop: a member once suspected is excluded for good and never
/// rejoins, so a pause or a partition, which make live members suspected, would end their part
/// in the group; both are refused, scripted or drawn.
fn refuse_suspecting_faults(cx: &mut ConfigCx<'_, '_>) {
    let expected = "crashes only: ViewSynchronous assumes that only crashed members are ever suspected".to_string();
    let refused: Vec<(usize, &str)> = cx
        .file()
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, fl)| match fl.action {
            FaultActionFile::Pause(_) => Some((i, "a pause under ViewSynchronous")),
            FaultActionFile::Partition(_) | FaultActionFile::OneWay { .. } => Some((i, "a partition under ViewSynchronous")),
            _ => None,
        })
        .collect();
    for (i, what) in refused {
        cx.error_in_scenario(&[Seg::Field("faults"), Seg::Index(i), Seg::Field("do")], what, expected.clone());
    }
    if let Some(SwarmFile { partitions: Some((_, most)), .. }) = &cx.file().swarm
        && most.0 > 0
    {
        cx.error_in_scenario(&[Seg::Field("swarm"), Seg::Field("partitions")], "swarm partitions under ViewSynchronous", expected);
    }
}

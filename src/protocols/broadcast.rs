//! The broadcast service as Maelstrom's broadcast workload defines it, shared by the protocols
//! that serve it (`BroadcastFlood`, `BroadcastGossip`): clients invoke `broadcast(value)` and
//! `read` operations on servers; each server keeps the set of values it knows, and a protocol
//! (a [`Relay`]) spreads every value to every server over a logical topology of the servers.
//!
//! What the trace shows, and `BroadcastConsistency` reads:
//! - each workload command handed to a client is one value to broadcast: the client invokes a
//!   `broadcast` operation with it on the command's destination (a server; any other
//!   destination: a server drawn at random), so its `op ... invoke` line directly follows the
//!   `cmd` line that gave the value, at the same node and time;
//! - after each broadcast ends (answered or timed out) the client invokes `reads_per_broadcast`
//!   `read` operations, each on a server drawn at random; those `invoke` lines follow the
//!   broadcast's end, never a `cmd` line;
//! - a server's `deliver` line for a value is the moment the value joins the set its reads
//!   return (a read answers with the whole set), so the sets are in the trace without the
//!   reads' contents.
//!
//! The logical topology is the protocol's, not the network's: the network links every client
//! to every server (as Maelstrom's does), and the relay talks only to its topology's
//! neighbours, the overlay a Maelstrom `topology` message would hand it.

use super::{field, ns, resolve};
use crate::id::{AppId, NodeId, TimerId};
use crate::process::{Cluster, Command, Ctx, Dest, Incoming, Message, Payload, Process};
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, Seg};
use crate::trace::OpOutcome;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// What a client and a server say to each other, and the relay's own messages between servers.
#[derive(Clone, Debug)]
pub enum Msg<P> {
    /// A client asks a server to broadcast `value` (its operation `op`).
    Broadcast {
        /// The client's operation number, which the answer names.
        op: u64,
        /// The value to broadcast (its application id is the value).
        value: Payload,
    },
    /// The server has the value: the broadcast is acknowledged.
    BroadcastOk {
        /// The operation acknowledged.
        op: u64,
    },
    /// A client asks a server for its set.
    Read {
        /// The client's operation number.
        op: u64,
    },
    /// The server's whole set, `values` values of 8 bytes each.
    ReadOk {
        /// The read answered.
        op: u64,
        /// How many values the server holds. Only the count travels (the size on the wire
        /// follows from it): which values a server holds is judged from its `deliver` lines.
        values: u32,
    },
    /// Between servers: the relay's message.
    Peer(P),
}

/// Bytes of a client's or server's header on every message.
pub const HEADER_BYTES: u32 = 24;

/// Bytes a value takes in a set or a list of ids.
pub const VALUE_ID_BYTES: u32 = 8;

impl<P: Message> Message for Msg<P> {
    fn wire_size(&self) -> u32 {
        match self {
            Msg::Broadcast { value, .. } => HEADER_BYTES + value.size_bytes,
            Msg::BroadcastOk { .. } | Msg::Read { .. } => HEADER_BYTES,
            Msg::ReadOk { values, .. } => HEADER_BYTES.saturating_add(values.saturating_mul(VALUE_ID_BYTES)),
            Msg::Peer(p) => p.wire_size(),
        }
    }
    fn corrupt(&mut self) {
        match self {
            Msg::Broadcast { value, .. } => value.corrupt(),
            Msg::Peer(p) => p.corrupt(),
            _ => {}
        }
    }

    fn heap_bytes(&self) -> u64 {
        match self {
            Msg::Peer(p) => p.heap_bytes(),
            _ => 0,
        }
    }
}

/// A client's operation timing out, or the relay's own timer.
#[derive(Clone, Debug)]
pub enum Timer<T> {
    /// A client's operation `op` has waited its timeout.
    Timeout(u64),
    /// The relay's timer.
    Peer(T),
}

/// The logical topology of the servers, in the order the `servers` list resolves to (node
/// order): the neighbours each relay talks to.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum Overlay {
    /// Every server with every other.
    Total,
    /// Each server with the next.
    Line,
    /// Rows of `columns` servers; each with its right neighbour and the one below.
    Grid {
        /// Servers per row, 1 to the number of servers; the last row may be short.
        columns: Whole,
    },
    /// Server i with its parent (i - 1) / fanout: server 0 is the root.
    Tree {
        /// Children per server, 1 to the number of servers.
        fanout: Whole,
    },
}

impl Overlay {
    fn validate(&self, servers: usize, cx: &mut ConfigCx<'_, '_>) {
        let (name, width) = match *self {
            Overlay::Grid { columns } => ("columns", columns.0),
            Overlay::Tree { fanout } => ("fanout", fanout.0),
            Overlay::Total => {
                if servers as u64 > MAX_TOTAL_SERVERS {
                    let message = format!("a total topology of {servers} servers (each keeps a list of all the others)");
                    cx.error(&[field("topology")], message, format!("at most {MAX_TOTAL_SERVERS} servers, or a sparser topology"));
                }
                return;
            }
            Overlay::Line => return,
        };
        cx.within(&[field("topology"), field(name)], width, 1..=servers.max(1) as u64, |n| format!("{name} {n}"));
    }

    /// The neighbours of server `i` of `n`, as indices into the servers, ascending.
    pub fn neighbours(&self, i: usize, n: usize) -> Vec<usize> {
        let mut out: Vec<usize> = match *self {
            Overlay::Total => (0..n).filter(|&j| j != i).collect(),
            Overlay::Line => [i.checked_sub(1), (i + 1 < n).then_some(i + 1)].into_iter().flatten().collect(),
            Overlay::Grid { columns } => {
                let c = (columns.0 as usize).max(1);
                let mut v = Vec::new();
                if !i.is_multiple_of(c) {
                    v.push(i - 1);
                }
                if !(i + 1).is_multiple_of(c) && i + 1 < n {
                    v.push(i + 1);
                }
                if i >= c {
                    v.push(i - c);
                }
                if i + c < n {
                    v.push(i + c);
                }
                v
            }
            Overlay::Tree { fanout } => {
                let k = (fanout.0 as usize).max(1);
                let parent = (i > 0).then(|| (i - 1) / k);
                let children = (i * k + 1)..(i * k + k + 1).min(n);
                parent.into_iter().chain(children).collect()
            }
        };
        out.sort_unstable();
        out
    }
}

/// The fields every broadcast protocol's configuration has, as it read them.
#[derive(Clone, Debug)]
pub struct Common<'c> {
    /// Client nodes or groups.
    pub clients: &'c [String],
    /// Server nodes or groups.
    pub servers: &'c [String],
    /// The servers' logical topology.
    pub topology: Overlay,
    /// How long a client waits for a reply.
    pub timeout_ms: Number,
    /// Reads a client invokes after each broadcast; absent: 1.
    pub reads_per_broadcast: Option<Whole>,
}

/// The most reads a client may invoke after each broadcast.
pub const MAX_READS_PER_BROADCAST: u64 = 100;

/// The most servers a `Total` topology may have: every server keeps the list of its
/// neighbours, so memory grows as the square of their number.
pub const MAX_TOTAL_SERVERS: u64 = 1_000;

impl Common<'_> {
    /// Report every problem with the shared fields.
    pub fn validate(&self, cx: &mut ConfigCx<'_, '_>) {
        let mut sets = Vec::new();
        for (name, list) in [("clients", self.clients), ("servers", self.servers)] {
            if list.is_empty() {
                cx.error(&[field(name)], format!("no {name}"), "at least one node or group".to_string());
            }
            let mut set = Vec::new();
            for (i, n) in list.iter().enumerate() {
                set.extend(cx.node_set(&[field(name), Seg::Index(i)], n, true));
            }
            set.sort_unstable();
            set.dedup();
            sets.push(set);
        }
        if let Some(both) = sets[0].iter().find(|n| sets[1].contains(n)) {
            let name = cx.cluster().name(*both).to_string();
            cx.error(&[field("servers")], format!("`{name}` is both a client and a server"), "separate clients and servers".to_string());
        }
        self.topology.validate(sets[1].len(), cx);
        cx.positive_millis(&[field("timeout_ms")], self.timeout_ms, "a timeout of zero");
        if let Some(r) = self.reads_per_broadcast {
            cx.within(&[field("reads_per_broadcast")], r.0, 0..=MAX_READS_PER_BROADCAST, |n| format!("{n} reads"));
        }
    }

    /// The shared part of every node's knowledge, shared by all nodes.
    pub fn spec(&self, cluster: &Cluster) -> Arc<Spec> {
        Arc::new(Spec {
            clients: resolve(cluster, self.clients),
            servers: resolve(cluster, self.servers),
            topology: self.topology,
            timeout_ns: ns(self.timeout_ms),
            reads_per_broadcast: self.reads_per_broadcast.map_or(1, |r| r.0),
        })
    }
}

/// Who the clients and servers are (each list sorted), the servers' topology, and the
/// clients' timing.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The clients, sorted.
    pub clients: Vec<NodeId>,
    /// The servers, sorted: the order the topology numbers them in.
    pub servers: Vec<NodeId>,
    /// The servers' logical topology.
    pub topology: Overlay,
    /// How long a client waits for a reply, in ns.
    pub timeout_ns: u64,
    /// Reads a client invokes after each broadcast.
    pub reads_per_broadcast: u64,
}

impl Spec {
    fn is_server(&self, node: NodeId) -> bool {
        self.servers.binary_search(&node).is_ok()
    }
}

/// The context a relay acts through.
pub type RelayCtx<'a, R> = Ctx<'a, Msg<<R as Relay>::Msg>, Timer<<R as Relay>::Timer>>;

/// A server's set of values: what its reads return.
#[derive(Debug, Default)]
pub struct Values {
    have: BTreeSet<AppId>,
}

impl Values {
    /// Add `value`; on its first arrival deliver it (it joins the set reads return: the
    /// `deliver` line) and say so.
    pub fn add<M, T>(&mut self, ctx: &mut Ctx<'_, M, T>, value: Payload) -> bool {
        let new = self.have.insert(value.id);
        if new {
            ctx.deliver(value);
        }
        new
    }

    /// Whether the set holds `value`.
    pub fn contains(&self, value: AppId) -> bool {
        self.have.contains(&value)
    }

    /// How many values the set holds.
    pub fn len(&self) -> usize {
        self.have.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.have.is_empty()
    }
}

/// A protocol that spreads values between servers: the algorithm under test.
pub trait Relay: Sized + 'static {
    /// What servers send each other.
    type Msg: Message;
    /// The relay's own timers.
    type Timer: Clone + fmt::Debug;
    /// The server started (booted or restarted) with an empty set.
    fn start(&mut self, ctx: &mut RelayCtx<'_, Self>) {
        let _ = ctx;
    }
    /// `value` joined this server's set: from a client (`from` is `None`) or from peer `from`.
    fn learned(&mut self, ctx: &mut RelayCtx<'_, Self>, value: Payload, from: Option<NodeId>);
    /// A peer's message, its checksum good.
    fn message(&mut self, ctx: &mut RelayCtx<'_, Self>, values: &mut Values, from: NodeId, msg: Self::Msg);
    /// One of the relay's timers fired.
    fn timer(&mut self, ctx: &mut RelayCtx<'_, Self>, values: &mut Values, timer: Self::Timer) {
        let _ = (ctx, values, timer);
    }
    /// The relay's state that grows with the run (what it still owes its peers), for the
    /// memory budget, as `Process::heap_bytes`. The default declares none.
    fn heap_bytes(&self) -> u64 {
        0
    }
}

/// A client's operations in progress: their server, timeout timer, and whether each is a
/// broadcast (else a read).
#[derive(Default)]
struct Client {
    next_op: u64,
    pending: BTreeMap<u64, (NodeId, TimerId, bool)>,
}

struct Server<R> {
    values: Values,
    relay: R,
}

enum Role<R> {
    Client(Client),
    Server(Server<R>),
    Idle,
}

/// A node of a broadcast protocol: a client, a server running relay `R`, or neither.
pub struct Node<R> {
    spec: Arc<Spec>,
    role: Role<R>,
}

impl<R: Relay> Node<R> {
    /// Node `me`'s part; `relay` makes a server's relay from its neighbours.
    pub fn new(spec: &Arc<Spec>, me: NodeId, relay: impl FnOnce(Vec<NodeId>) -> R) -> Node<R> {
        let role = if spec.clients.binary_search(&me).is_ok() {
            Role::Client(Client::default())
        } else if let Ok(i) = spec.servers.binary_search(&me) {
            let neighbours = spec.topology.neighbours(i, spec.servers.len()).into_iter().map(|j| spec.servers[j]).collect();
            Role::Server(Server { values: Values::default(), relay: relay(neighbours) })
        } else {
            Role::Idle
        };
        Node { spec: Arc::clone(spec), role }
    }

    /// A client invokes operation `msg` (numbered `op`) on `server`.
    fn invoke(&mut self, ctx: &mut RelayCtx<'_, R>, server: NodeId, msg: impl FnOnce(u64) -> Msg<R::Msg>) {
        let Role::Client(c) = &mut self.role else { return };
        let op = c.next_op;
        c.next_op += 1;
        ctx.operation(op, server, OpOutcome::Invoke);
        let msg = msg(op);
        let broadcast = matches!(msg, Msg::Broadcast { .. });
        ctx.send(server, msg);
        let timer = ctx.set_timer(self.spec.timeout_ns, Timer::Timeout(op));
        c.pending.insert(op, (server, timer, broadcast));
    }

    fn random_server(&self, ctx: &mut RelayCtx<'_, R>) -> NodeId {
        self.spec.servers[ctx.rng().below(self.spec.servers.len() as u64) as usize]
    }

    /// A client's operation `op` ended: if it was a broadcast, the reads that follow it.
    fn ended(&mut self, ctx: &mut RelayCtx<'_, R>, op: u64, outcome: OpOutcome) {
        let Role::Client(c) = &mut self.role else { return };
        // A reply to an operation already timed out is ignored.
        let Some((server, timer, was_broadcast)) = c.pending.remove(&op) else { return };
        if outcome == OpOutcome::Ok {
            ctx.cancel_timer(timer);
        }
        ctx.operation(op, server, outcome);
        if was_broadcast {
            for _ in 0..self.spec.reads_per_broadcast {
                let server = self.random_server(ctx);
                self.invoke(ctx, server, |op| Msg::Read { op });
            }
        }
    }
}

impl<R: Relay> Process for Node<R> {
    type Msg = Msg<R::Msg>;
    type Timer = Timer<R::Timer>;

    /// A server's values and its relay's state; a client's operations in progress.
    fn heap_bytes(&self) -> u64 {
        match &self.role {
            Role::Client(c) => crate::process::map_bytes::<u64, (NodeId, TimerId, bool)>(c.pending.len()),
            Role::Server(s) => crate::process::map_bytes::<AppId, ()>(s.values.len()).saturating_add(s.relay.heap_bytes()),
            Role::Idle => 0,
        }
    }

    fn on_start(&mut self, ctx: &mut RelayCtx<'_, R>) {
        if let Role::Server(s) = &mut self.role {
            s.relay.start(ctx);
        }
    }

    fn on_command(&mut self, ctx: &mut RelayCtx<'_, R>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        if !matches!(self.role, Role::Client(_)) {
            return;
        }
        let server = match dest {
            Dest::Node(n) if self.spec.is_server(n) => n,
            _ => self.random_server(ctx),
        };
        self.invoke(ctx, server, |op| Msg::Broadcast { op, value: payload });
    }

    fn on_message(&mut self, ctx: &mut RelayCtx<'_, R>, incoming: Incoming<Self::Msg>) {
        // A damaged copy fails its checksum and is discarded; the sender's retry or timeout
        // covers it.
        if !incoming.checksum_ok {
            return;
        }
        let from = incoming.from;
        match (&mut self.role, incoming.msg) {
            (Role::Server(s), Msg::Broadcast { op, value }) => {
                if s.values.add(ctx, value) {
                    s.relay.learned(ctx, value, None);
                }
                ctx.send(from, Msg::BroadcastOk { op });
            }
            (Role::Server(s), Msg::Read { op }) => {
                let values = u32::try_from(s.values.len()).unwrap_or(u32::MAX);
                ctx.send(from, Msg::ReadOk { op, values });
            }
            (Role::Server(s), Msg::Peer(m)) => s.relay.message(ctx, &mut s.values, from, m),
            (Role::Client(_), Msg::BroadcastOk { op } | Msg::ReadOk { op, .. }) => self.ended(ctx, op, OpOutcome::Ok),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut RelayCtx<'_, R>, timer: Self::Timer) {
        match (&mut self.role, timer) {
            (Role::Server(s), Timer::Peer(t)) => s.relay.timer(ctx, &mut s.values, t),
            (Role::Client(_), Timer::Timeout(op)) => self.ended(ctx, op, OpOutcome::Timeout),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every undirected link of `overlay` over `n` servers, each once, checking symmetry.
    fn links(overlay: Overlay, n: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for i in 0..n {
            for j in overlay.neighbours(i, n) {
                assert!(overlay.neighbours(j, n).contains(&i), "{overlay:?}: {i} -> {j} but not back");
                assert_ne!(i, j);
                if i < j {
                    out.push((i, j));
                }
            }
        }
        out
    }

    #[test]
    fn overlays_link_the_pairs_the_network_topologies_of_the_same_name_do() {
        assert_eq!(links(Overlay::Total, 5).len(), 10);
        assert_eq!(links(Overlay::Line, 5), [(0, 1), (1, 2), (2, 3), (3, 4)]);
        // Rows of 3: 0 1 2 / 3 4 5 / 6 7 (the last row short).
        assert_eq!(
            links(Overlay::Grid { columns: Whole(3) }, 8),
            [(0, 1), (0, 3), (1, 2), (1, 4), (2, 5), (3, 4), (3, 6), (4, 5), (4, 7), (6, 7)]
        );
        // Node i's parent is (i - 1) / 2.
        assert_eq!(links(Overlay::Tree { fanout: Whole(2) }, 6), [(0, 1), (0, 2), (1, 3), (1, 4), (2, 5)]);
        // 25 servers in a tree of fan-out 5: the 24 links of a spanning tree.
        assert_eq!(links(Overlay::Tree { fanout: Whole(5) }, 25).len(), 24);
        assert_eq!(links(Overlay::Grid { columns: Whole(5) }, 25).len(), 40);
    }
}

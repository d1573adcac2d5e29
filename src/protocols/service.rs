//! Clients and servers, measured per operation: each client sends operations (requests) to a
//! server and waits for the reply or a timeout; every step is an `op` line.
//!
//! Closed-loop clients have one operation outstanding: invoke, wait for the reply or the
//! timeout, think for a drawn time, invoke the next. Open-loop clients invoke one operation per
//! workload command, at the workload's arrival rate, however many are outstanding. A server
//! serves requests one at a time, first come first served, each for a drawn service time, and
//! replies when it is done: a single-server queue, so that a closed loop of clients around one
//! server is the textbook closed queueing network. Every draw (think, service, random server)
//! comes from the node's own stream.

use super::{field, ns, resolve};
use crate::dist::{Latency, LatencySpec};
use crate::id::{NodeId, TimerId};
use crate::plugin::Protocol;
use crate::process::{Cluster, Command, Ctx, Dest, Incoming, Message, Process};
use crate::scenario::file::{Number, Whole};
use crate::scenario::{ConfigCx, Scenario, Seg, limits};
use crate::stable::{Disk, StableStorage};
use crate::trace::OpOutcome;
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};

/// A request or its reply, for operation `op` of the client that sent the request.
///
/// A client's operation numbers start from 0 again when it restarts, so each message also
/// names the client's boot (how many times it started before): a reply to a request of an
/// earlier incarnation is not mistaken for the answer to today's operation of that number.
#[derive(Clone, Debug)]
pub enum Msg {
    /// Client to server: do operation `op`.
    Request {
        /// The client's boot when it sent the request, which the reply names.
        boot: u64,
        /// The client's operation number, which the reply names.
        op: u64,
        /// The request's size on the wire (`request_bytes`, 64 by default).
        bytes: u32,
    },
    /// Server to client: operation `op` is done.
    Reply {
        /// The boot of the client that sent the request.
        boot: u64,
        /// The operation answered.
        op: u64,
        /// The reply's size on the wire (`reply_bytes`, 64 by default).
        bytes: u32,
    },
}

impl Message for Msg {
    fn wire_size(&self) -> u32 {
        match *self {
            Msg::Request { bytes, .. } | Msg::Reply { bytes, .. } => bytes,
        }
    }
    /// Carries no application payload; a corrupted copy is discarded on its checksum.
    fn corrupt(&mut self) {}
}

/// Clients' and servers' timers.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    /// Operation `op` has waited its timeout.
    Timeout(u64),
    /// The client's think time is over.
    Think,
    /// The server finished the request at the head of its queue.
    Served,
}

/// Which server a closed-loop client sends an operation to.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub enum PickFile {
    /// Client i always uses server i mod (number of servers).
    #[default]
    Fixed,
    /// A server drawn uniformly per operation.
    Random,
    /// The servers in turn, client i starting at server i mod (number of servers).
    RoundRobin,
}

/// A closed loop (one outstanding operation, then think) or an open one (one operation per
/// workload command).
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub enum LoopFile {
    /// One operation outstanding per client; the workload's commands are ignored (the default).
    #[default]
    Closed,
    /// One operation per workload command, however many are outstanding.
    Open,
}

/// A time distribution for think and service times.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TimeFile {
    /// Always the same time.
    Constant {
        /// The time, in milliseconds; 0 or more.
        ms: Number,
    },
    /// Drawn uniformly between two bounds.
    Uniform {
        /// The least time, in milliseconds.
        min_ms: Number,
        /// The greatest time, in milliseconds; at least `min_ms`.
        max_ms: Number,
    },
    /// Drawn from an exponential distribution (memoryless, as in an M/M/1 queue).
    Exponential {
        /// The mean, in milliseconds; more than 0.
        mean_ms: Number,
    },
}

impl TimeFile {
    fn validate(&self, path: &[Seg], cx: &mut ConfigCx<'_, '_>) {
        let p = |name: &'static str| [path, &[field(name)]].concat();
        match *self {
            TimeFile::Constant { ms } => {
                cx.millis(&p("ms"), ms);
            }
            TimeFile::Uniform { min_ms, max_ms } => {
                if let (Some(min), Some(max)) = (cx.millis(&p("min_ms"), min_ms), cx.millis(&p("max_ms"), max_ms))
                    && min > max
                {
                    cx.error(&p("min_ms"), "min_ms is above max_ms", "min_ms <= max_ms".to_string());
                }
            }
            TimeFile::Exponential { mean_ms } => {
                cx.positive_millis(&p("mean_ms"), mean_ms, "an exponential distribution needs a positive mean");
            }
        }
    }

    fn latency(&self) -> Latency {
        Latency::new(&match *self {
            TimeFile::Constant { ms } => LatencySpec::Constant { ns: ns(ms) },
            TimeFile::Uniform { min_ms, max_ms } => LatencySpec::Uniform { min_ns: ns(min_ms), max_ns: ns(max_ms) },
            TimeFile::Exponential { mean_ms } => LatencySpec::Exponential { mean_ns: ns(mean_ms) as f64, offset_ns: 0.0 },
        })
    }
}

/// `Service(clients: [..], servers: [..], timeout_ms: .., ..)`: clients invoking operations on
/// servers, each operation measured.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename = "Service", deny_unknown_fields)]
pub struct Config {
    /// Client nodes or groups.
    pub clients: Vec<String>,
    /// Server nodes or groups.
    pub servers: Vec<String>,
    /// How a closed-loop client picks the server for each operation.
    #[serde(default)]
    pub pick: PickFile,
    /// `loop:` in the file: closed (the default) or open.
    #[serde(default, rename = "loop")]
    pub mode: LoopFile,
    /// How long a client waits for a reply.
    pub timeout_ms: Number,
    /// A closed-loop client's pause between an operation's end and the next; absent: none.
    #[serde(default)]
    pub think: Option<TimeFile>,
    /// How long a server works on each request; absent: no time.
    #[serde(default)]
    pub service: Option<TimeFile>,
    /// Operations each closed-loop client invokes; absent: until the horizon.
    #[serde(default)]
    pub operations: Option<Whole>,
    /// Size of a request on the wire, in bytes; absent: 64.
    #[serde(default)]
    pub request_bytes: Option<Whole>,
    /// Size of a reply on the wire, in bytes; absent: 64.
    #[serde(default)]
    pub reply_bytes: Option<Whole>,
}

/// What every node knows: who the clients and servers are, and the timing.
#[derive(Clone, Debug)]
struct Spec {
    clients: Vec<NodeId>,
    servers: Vec<NodeId>,
    pick: PickFile,
    mode: LoopFile,
    timeout_ns: u64,
    think: Option<Latency>,
    service: Option<Latency>,
    operations: u64,
    request_bytes: u32,
    reply_bytes: u32,
}

/// A node's part.
enum Role {
    Client(Client),
    Server(Server),
    Idle,
}

struct Client {
    /// This client's position among the clients (for `Fixed` and `RoundRobin`).
    index: usize,
    /// Counts the client's starts, on its stable storage: one record per start.
    disk: Disk<()>,
    /// How many times the client started before this incarnation (read at start).
    boot: u64,
    next_op: u64,
    turn: usize,
    /// Outstanding operations: their server and timeout timer.
    pending: BTreeMap<u64, (NodeId, TimerId)>,
    /// Closed loop: operations ended.
    ended: u64,
}

#[derive(Default)]
struct Server {
    /// Requests not yet answered, oldest first: the client, its boot and its operation.
    queue: VecDeque<(NodeId, u64, u64)>,
    busy: bool,
}

/// A node of the service protocol.
pub struct Node {
    spec: Spec,
    role: Role,
}

type C<'a, 'b> = Ctx<'a, Msg, Timer>;

impl Node {
    fn pick(&mut self, ctx: &mut C<'_, '_>) -> NodeId {
        let Role::Client(c) = &mut self.role else { unreachable!("only clients pick") };
        let servers = &self.spec.servers;
        match self.spec.pick {
            PickFile::Fixed => servers[c.index % servers.len()],
            PickFile::Random => servers[ctx.rng().below(servers.len() as u64) as usize],
            PickFile::RoundRobin => {
                let s = servers[(c.index + c.turn) % servers.len()];
                c.turn += 1;
                s
            }
        }
    }

    fn invoke(&mut self, ctx: &mut C<'_, '_>, server: NodeId) {
        let timeout_ns = self.spec.timeout_ns;
        let bytes = self.spec.request_bytes;
        let Role::Client(c) = &mut self.role else { return };
        let op = c.next_op;
        c.next_op += 1;
        ctx.operation(op, server, OpOutcome::Invoke);
        ctx.send(server, Msg::Request { boot: c.boot, op, bytes });
        let timer = ctx.set_timer(timeout_ns, Timer::Timeout(op));
        c.pending.insert(op, (server, timer));
    }

    /// A closed-loop client's next step once an operation ended: think, then invoke.
    fn next(&mut self, ctx: &mut C<'_, '_>) {
        let Role::Client(c) = &mut self.role else { return };
        if !matches!(self.spec.mode, LoopFile::Closed) {
            return;
        }
        c.ended += 1;
        if c.ended >= self.spec.operations {
            return;
        }
        match &self.spec.think {
            Some(think) => {
                let after = think.sample(ctx.rng());
                ctx.set_timer(after, Timer::Think);
            }
            None => {
                let server = self.pick(ctx);
                self.invoke(ctx, server);
            }
        }
    }

    /// A server starts on the request at the head of its queue, if idle.
    fn serve_next(&mut self, ctx: &mut C<'_, '_>) {
        let Role::Server(s) = &mut self.role else { return };
        if s.busy || s.queue.is_empty() {
            return;
        }
        match &self.spec.service {
            Some(service) => {
                s.busy = true;
                let after = service.sample(ctx.rng());
                ctx.set_timer(after, Timer::Served);
            }
            None => {
                while let Some((client, boot, op)) = s.queue.pop_front() {
                    ctx.send(client, Msg::Reply { boot, op, bytes: self.spec.reply_bytes });
                }
            }
        }
    }
}

impl Process for Node {
    type Msg = Msg;
    type Timer = Timer;

    fn on_start(&mut self, ctx: &mut C<'_, '_>) {
        if let Role::Client(c) = &mut self.role {
            c.boot = c.disk.len() as u64;
            c.disk.append(());
        }
        if matches!(self.role, Role::Client(_)) && matches!(self.spec.mode, LoopFile::Closed) {
            let server = self.pick(ctx);
            self.invoke(ctx, server);
        }
    }

    fn on_command(&mut self, ctx: &mut C<'_, '_>, cmd: Command) {
        let Command::Send { dest, .. } = cmd;
        if !matches!(self.role, Role::Client(_)) || !matches!(self.spec.mode, LoopFile::Open) {
            return;
        }
        // The workload's destination when it names a server, else the client's pick.
        let server = match dest {
            Dest::Node(n) if self.spec.servers.contains(&n) => n,
            _ => self.pick(ctx),
        };
        self.invoke(ctx, server);
    }

    fn on_message(&mut self, ctx: &mut C<'_, '_>, incoming: Incoming<Msg>) {
        if !incoming.checksum_ok {
            return;
        }
        match incoming.msg {
            Msg::Request { boot, op, .. } => {
                if let Role::Server(s) = &mut self.role {
                    s.queue.push_back((incoming.from, boot, op));
                    self.serve_next(ctx);
                }
            }
            Msg::Reply { boot, op, .. } => {
                let Role::Client(c) = &mut self.role else { return };
                // A reply to an operation already timed out, or to an earlier incarnation's
                // operation of the same number, is ignored.
                if boot != c.boot {
                    return;
                }
                let Some((server, timer)) = c.pending.remove(&op) else { return };
                ctx.cancel_timer(timer);
                ctx.operation(op, server, OpOutcome::Ok);
                self.next(ctx);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut C<'_, '_>, timer: Timer) {
        match timer {
            Timer::Timeout(op) => {
                let Role::Client(c) = &mut self.role else { return };
                let Some((server, _)) = c.pending.remove(&op) else { return };
                ctx.operation(op, server, OpOutcome::Timeout);
                self.next(ctx);
            }
            Timer::Think => {
                let server = self.pick(ctx);
                self.invoke(ctx, server);
            }
            Timer::Served => {
                let Role::Server(s) = &mut self.role else { return };
                s.busy = false;
                if let Some((client, boot, op)) = s.queue.pop_front() {
                    ctx.send(client, Msg::Reply { boot, op, bytes: self.spec.reply_bytes });
                }
                self.serve_next(ctx);
            }
        }
    }
}

/// What the service promises its clients, for the `OperationLifecycle` check to judge.
#[derive(Clone, Debug)]
pub struct Contract {
    /// The client nodes, in the order that numbers them (client i).
    pub clients: Vec<NodeId>,
    /// The server nodes, in order.
    pub servers: Vec<NodeId>,
    /// Closed loop: one operation outstanding per client, each to the server `pick` names.
    pub closed: bool,
    /// How a closed-loop client picks its server.
    pub pick: PickFile,
    /// How long a client waits for a reply, on its own clock.
    pub timeout_ns: u64,
    /// Operations each closed-loop client invokes (`u64::MAX`: until the horizon).
    pub operations: u64,
    /// The shortest a server works on a request, on its own clock (0 without a service time,
    /// or with an exponential one).
    pub min_service_ns: u64,
    /// The longest a server works on a request, on its own clock (0 without a service time;
    /// `None` with an exponential one, which has no longest).
    pub max_service_ns: Option<u64>,
    /// The shortest a closed-loop client thinks between an operation's end and its next
    /// invocation, on its own clock (0 without a think time, or with an exponential one).
    pub min_think_ns: u64,
    /// The longest it thinks, on its own clock (0 without a think time: it invokes at once;
    /// `None` with an exponential one).
    pub max_think_ns: Option<u64>,
    /// A request's size on the wire (`request_bytes`, 64 by default).
    pub request_bytes: u32,
    /// A reply's size on the wire (`reply_bytes`, 64 by default).
    pub reply_bytes: u32,
}

impl Contract {
    /// The contract of `config` over `cluster`. Read from the configuration here rather than
    /// from the protocol's own `Spec`, so that a slip in the protocol's conversions shows as a
    /// breach instead of being shared by the check.
    pub fn of(config: &Config, cluster: &Cluster) -> Contract {
        Contract {
            clients: resolve(cluster, &config.clients),
            servers: resolve(cluster, &config.servers),
            closed: matches!(config.mode, LoopFile::Closed),
            pick: config.pick,
            timeout_ns: ns(config.timeout_ms),
            operations: config.operations.map_or(u64::MAX, |o| o.0),
            min_service_ns: match config.service {
                Some(TimeFile::Constant { ms }) => ns(ms),
                Some(TimeFile::Uniform { min_ms, .. }) => ns(min_ms),
                Some(TimeFile::Exponential { .. }) | None => 0,
            },
            max_service_ns: match config.service {
                Some(TimeFile::Constant { ms }) => Some(ns(ms)),
                Some(TimeFile::Uniform { max_ms, .. }) => Some(ns(max_ms)),
                Some(TimeFile::Exponential { .. }) => None,
                None => Some(0),
            },
            min_think_ns: match config.think {
                Some(TimeFile::Constant { ms }) => ns(ms),
                Some(TimeFile::Uniform { min_ms, .. }) => ns(min_ms),
                Some(TimeFile::Exponential { .. }) | None => 0,
            },
            max_think_ns: match config.think {
                Some(TimeFile::Constant { ms }) => Some(ns(ms)),
                Some(TimeFile::Uniform { max_ms, .. }) => Some(ns(max_ms)),
                Some(TimeFile::Exponential { .. }) => None,
                None => Some(0),
            },
            request_bytes: config.request_bytes.map_or(64, |b| u32::try_from(b.0).unwrap_or(u32::MAX)),
            reply_bytes: config.reply_bytes.map_or(64, |b| u32::try_from(b.0).unwrap_or(u32::MAX)),
        }
    }
}

/// Clients and servers, measured per operation, as scenarios name it.
pub struct ServiceProtocol;

impl ServiceProtocol {
    fn spec(config: &Config, cluster: &Cluster) -> Spec {
        Spec {
            clients: resolve(cluster, &config.clients),
            servers: resolve(cluster, &config.servers),
            pick: config.pick,
            mode: config.mode,
            timeout_ns: ns(config.timeout_ms),
            think: config.think.map(|t| t.latency()),
            service: config.service.map(|t| t.latency()),
            operations: config.operations.map_or(u64::MAX, |o| o.0),
            request_bytes: config.request_bytes.map_or(64, |b| b.0 as u32),
            reply_bytes: config.reply_bytes.map_or(64, |b| b.0 as u32),
        }
    }
}

impl Protocol for ServiceProtocol {
    const NAME: &'static str = "Service";
    type Config = Config;
    type Process = Node;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        let mut sets = Vec::new();
        for (name, list) in [("clients", &config.clients), ("servers", &config.servers)] {
            if list.is_empty() {
                cx.error(&[field(name)], format!("no {name}"), "at least one node or group".to_string());
            }
            let mut set = Vec::new();
            for (i, n) in list.iter().enumerate() {
                set.extend(cx.node_set(&[field(name), Seg::Index(i)], n, true));
            }
            sets.push(set);
        }
        if let Some(both) = sets[0].iter().find(|n| sets[1].contains(n)) {
            let name = cx.cluster().name(*both).to_string();
            cx.error(&[field("servers")], format!("`{name}` is both a client and a server"), "separate clients and servers".to_string());
        }
        cx.positive_millis(&[field("timeout_ms")], config.timeout_ms, "a timeout of zero");
        if let Some(t) = &config.think {
            t.validate(&[field("think")], cx);
        }
        if let Some(t) = &config.service {
            t.validate(&[field("service")], cx);
        }
        if let Some(o) = config.operations {
            cx.within(&[field("operations")], o.0, 1..=limits::MAX_MESSAGES_PER_WORKLOAD, |n| format!("{n} operations"));
        }
        for (name, b) in [("request_bytes", config.request_bytes), ("reply_bytes", config.reply_bytes)] {
            if let Some(b) = b {
                cx.within(&[field(name)], b.0, 0..=limits::MAX_SIZE_BYTES, |n| format!("{n} bytes"));
            }
        }
    }

    fn factory(config: &Config, scenario: &Scenario, _: u64) -> impl FnMut(NodeId) -> Node {
        let spec = ServiceProtocol::spec(config, &scenario.cluster);
        let storage = StableStorage::new(scenario.cluster.len());
        move |me| {
            let role = if let Some(index) = spec.clients.iter().position(|&c| c == me) {
                let disk = storage.disk(me);
                Role::Client(Client { index, disk, boot: 0, next_op: 0, turn: 0, pending: BTreeMap::new(), ended: 0 })
            } else if spec.servers.contains(&me) {
                Role::Server(Server::default())
            } else {
                Role::Idle
            };
            Node { spec: spec.clone(), role }
        }
    }
}

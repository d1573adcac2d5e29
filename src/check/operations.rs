//! `OperationLifecycle`: every client operation is invoked once, ends once (answered or timed
//! out) on time, and, under the `Service` protocol, keeps the service's contract.
//!
//! Judged from the `op` lines and the messages between clients and servers:
//! - a client numbers its operations 0, 1, 2, ... (afresh after a restart) and ends each one
//!   once, after invoking it;
//! - an operation is answered (`ok`) only after a reply to it from its server arrived intact
//!   (a reply is to the operation whose request the server took: its requests are matched to
//!   their replies in the order it serves them, and to a client's operations by the request the
//!   client sent when it invoked one), and no later than the timeout; a reply to another
//!   operation, or to an earlier incarnation's operation of the same number, answers nothing; it times out no sooner than the timeout, on the client's clock;
//! - at the end, an operation invoked more than a timeout ago has ended;
//!
//! and under `Service`, which says who the clients and servers are and how they behave:
//! - a closed-loop client has one operation outstanding, to the server its `pick` names
//!   (`Fixed`: server i mod s for client i; `RoundRobin`: the servers in turn from there),
//!   and invokes at most `operations` of them, and, when the run ends with nothing left to
//!   happen, all of them (since its latest start), unless it is down or paused then;
//! - `Random` is a uniform draw over the servers: once the closed-loop clients have invoked
//!   at least 64 operations per server, every server has been picked (a fair draw leaves one
//!   of s servers out of that many with probability below s * e^-64);
//! - an open-loop client invokes one operation for each command its workload gives it, in
//!   the same step, and no other: each invocation is owed to a command (the protocol's "one
//!   operation per workload command", so the workload's arrival rate is the client's); the
//!   operation goes to the server the command names, when it names one;
//! - a closed-loop client thinks between an operation's end and its next invocation for a time
//!   within the think time's bounds (`Constant`: exactly it; `Uniform`: from `min_ms` to
//!   `max_ms`; `Exponential`: no bound; none: it invokes in the same instant), on its own
//!   clock; a pause or a wait of the client in between excuses a longer gap, never a shorter
//!   one, and a crash forgets the end;
//! - a server answers the requests it received in the order they arrived (first come, first
//!   served), each once, one at a time: no reply sooner than the shortest service time after
//!   the server could start on it (the request's arrival, or the previous reply);
//! - every request goes on the wire at `request_bytes` and every reply at `reply_bytes` (64
//!   each by default): the sizes the scenario gives the service's messages;
//! - a server does not sit idle while a request waits (it is work-conserving): its reply comes
//!   no later than the longest service time after it could start, unless it was paused, and at
//!   the end no request waits longer than that unanswered.
//!
//! A crash forgets what the crashed node held. With no operation, the verdict is inconclusive.

use super::{Breaches, Checker, EndReason, RunEnd, Verdict};
use crate::clock::Clock;
use crate::id::{MsgId, NodeId};
use crate::process::{Cluster, Dest};
use crate::protocols::service::{Contract, PickFile};
use crate::time::SimTime;
use crate::trace::{EventKind, FaultAction, OpOutcome, TraceEvent};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One client's operations.
#[derive(Default)]
struct ClientOps {
    /// The number the next operation must have.
    next: u64,
    /// Outstanding operations: number -> (server, invoked at).
    open: BTreeMap<u64, (NodeId, SimTime)>,
    /// Intact replies arrived, per server and operation, and not yet used by an `ok`.
    replies: BTreeMap<(NodeId, u64), u64>,
    /// When its latest operation ended, until its next invocation (a closed loop thinks
    /// between them).
    ended_at: Option<SimTime>,
}

/// Which operation a request asks for: the client's incarnation (its crashes so far) when it
/// sent the request, and the operation's number.
type OpTag = (u64, u64);

/// Checks operations against their lifecycle and, under `Service`, the service's contract.
pub struct OperationLifecycle {
    cluster: Cluster,
    clocks: Vec<Clock>,
    contract: Option<Contract>,
    clients: BTreeMap<NodeId, ClientOps>,
    /// Per server, the clients whose requests arrived and are not answered yet, oldest first,
    /// with when each arrived and which operation it asks for, if its sending was seen.
    queues: BTreeMap<NodeId, VecDeque<(NodeId, SimTime, Option<OpTag>)>>,
    /// Each client's crashes so far: a reply to an earlier incarnation's request answers
    /// nothing of this one's.
    incarnations: BTreeMap<NodeId, u64>,
    /// Per client, the operation it invoked last, until the request carrying it is sent.
    invoking: BTreeMap<NodeId, u64>,
    /// Each request sent, and the operation it asks for.
    requests: BTreeMap<MsgId, OpTag>,
    /// Each reply sent, and the operation whose request it answers.
    answers: BTreeMap<MsgId, OpTag>,
    /// Per server, when it sent its latest reply.
    replied: BTreeMap<NodeId, SimTime>,
    /// Servers paused since their latest reply: their timers were held, so no upper bound.
    paused: BTreeSet<NodeId>,
    /// Nodes that are down, or paused, now: a closed-loop client among them owes no more
    /// operations at the end.
    stopped: BTreeSet<NodeId>,
    /// When each node was last paused or blocked on a send: its timers were held then, so an
    /// operation outstanding across it may be answered past its timeout.
    held: BTreeMap<NodeId, SimTime>,
    invoked: u64,
    ended: u64,
    /// Open-loop clients commanded at an instant and not yet seen invoking for it, with the
    /// server the command named, if it named one: each command owes one invocation, at once,
    /// on that server.
    commanded: Vec<(NodeId, SimTime, Option<NodeId>)>,
    /// Under a closed loop's `Random` pick, the operations invoked on each server.
    drawn: BTreeMap<NodeId, u64>,
    breaches: Breaches,
}

impl OperationLifecycle {
    /// A checker; `contract` is the `Service` protocol's, if the scenario runs it.
    pub fn new(cluster: Cluster, clocks: Vec<Clock>, contract: Option<Contract>) -> OperationLifecycle {
        OperationLifecycle {
            cluster,
            clocks,
            contract,
            clients: BTreeMap::new(),
            queues: BTreeMap::new(),
            incarnations: BTreeMap::new(),
            invoking: BTreeMap::new(),
            requests: BTreeMap::new(),
            answers: BTreeMap::new(),
            replied: BTreeMap::new(),
            paused: BTreeSet::new(),
            stopped: BTreeSet::new(),
            held: BTreeMap::new(),
            invoked: 0,
            ended: 0,
            commanded: Vec::new(),
            drawn: BTreeMap::new(),
            breaches: Breaches::default(),
        }
    }

    /// A request (`request`) or a reply from `from` to `to` went on the wire at `size` bytes:
    /// the size the contract gives it.
    fn sized(&mut self, at: SimTime, from: NodeId, to: NodeId, size: u32, request: bool) {
        let Some(c) = &self.contract else { return };
        let (what, all, promised) = if request { ("request", "requests", c.request_bytes) } else { ("reply", "replies", c.reply_bytes) };
        if size != promised {
            self.violation(at, |cl| {
                format!("{} sent {} a {what} of {size} bytes; the service's {all} are {promised} bytes", cl.name(from), cl.name(to))
            });
        }
    }

    fn violation(&mut self, at: SimTime, what: impl FnOnce(&Cluster) -> String) {
        let cluster = &self.cluster;
        self.breaches.record(at, || what(cluster));
    }

    /// An open-loop client invokes an operation when commanded, in the same step: a command
    /// still unanswered at a later instant is a breach.
    fn commands_unanswered_before(&mut self, now: SimTime) {
        if self.commanded.first().is_some_and(|&(_, at, _)| at < now) {
            for (node, at, _) in std::mem::take(&mut self.commanded) {
                self.violation(at, |c| format!("open-loop client {} was commanded and invoked no operation", c.name(node)));
            }
        }
    }

    /// The simulated time `node`'s timeout takes (its clock may drift).
    fn timeout(&self, node: NodeId) -> Option<u64> {
        let c = self.contract.as_ref()?;
        Some(self.clocks.get(node.index()).map_or(c.timeout_ns, |clock| clock.real_duration(c.timeout_ns)))
    }

    fn is_server(&self, node: NodeId) -> bool {
        self.contract.as_ref().is_some_and(|c| c.servers.contains(&node))
    }

    fn is_client(&self, node: NodeId) -> bool {
        self.contract.as_ref().is_none_or(|c| c.clients.contains(&node))
    }

    fn open_loop(&self) -> bool {
        self.contract.as_ref().is_some_and(|c| !c.closed)
    }

    /// An open-loop client invoked `op` on `server`: it answers a command of this instant (the
    /// oldest one owed), on the server the command named if it named one; an invocation no
    /// command owes breaks "one operation per workload command".
    fn commanded_invocation(&mut self, at: SimTime, node: NodeId, op: u64, server: NodeId) {
        let Some(i) = self.commanded.iter().position(|&(n, _, _)| n == node) else {
            return self.violation(at, |c| format!("open-loop client {} invoked o{op} with no workload command owing it", c.name(node)));
        };
        let (_, _, named) = self.commanded.remove(i);
        if let Some(named) = named
            && named != server
        {
            self.violation(at, |c| {
                format!("open-loop client {} invoked o{op} on {}; its command named {}", c.name(node), c.name(server), c.name(named))
            });
        }
    }

    /// The server a closed-loop client's operation `op` must go to, if its pick says.
    fn expected_server(&self, client: NodeId, op: u64) -> Option<NodeId> {
        let c = self.contract.as_ref().filter(|c| c.closed)?;
        let index = c.clients.iter().position(|&n| n == client)?;
        let s = c.servers.len();
        match c.pick {
            PickFile::Fixed => Some(c.servers[index % s]),
            PickFile::RoundRobin => Some(c.servers[((index as u64).wrapping_add(op) % s as u64) as usize]),
            PickFile::Random => None,
        }
    }

    fn invoke(&mut self, at: SimTime, node: NodeId, op: u64, server: NodeId) {
        self.invoked += 1;
        let expected = self.expected_server(node, op);
        let closed = self.contract.as_ref().is_some_and(|c| c.closed);
        let most = self.contract.as_ref().map_or(u64::MAX, |c| c.operations);
        self.invoking.insert(node, op);
        let think = self.contract.as_ref().filter(|c| c.closed).map(|c| (c.min_think_ns, c.max_think_ns));
        if self.contract.as_ref().is_some_and(|c| c.closed && matches!(c.pick, PickFile::Random)) {
            *self.drawn.entry(server).or_default() += 1;
        }
        let clock = self.clocks.get(node.index()).copied().unwrap_or_default();
        let held = self.held.get(&node).copied();
        let ops = self.clients.entry(node).or_default();
        let thought = ops.ended_at.take();
        let (next, outstanding) = (ops.next, ops.open.len());
        ops.next = op.saturating_add(1);
        ops.open.insert(op, (server, at));
        if op != next {
            self.violation(at, |c| format!("{} invoked operation o{op}, but its next is o{next}", c.name(node)));
        }
        if closed && outstanding > 0 {
            self.violation(at, |c| {
                format!("closed-loop client {} invoked o{op} with {outstanding} operation(s) outstanding", c.name(node))
            });
        }
        if closed && op >= most {
            self.violation(at, |c| format!("{} invoked o{op}, past its {most} operations", c.name(node)));
        }
        if let Some(s) = expected
            && s != server
        {
            self.violation(at, |c| format!("{} sent o{op} to {}; its pick names {}", c.name(node), c.name(server), c.name(s)));
        }
        // The think time, on the client's clock: a pause or a wait of the client since the end
        // held its timer, which excuses lateness, never earliness.
        if let (Some((least, most)), Some(ended)) = (think, thought) {
            let gap = at.0.saturating_sub(ended.0);
            let (soonest, latest) = (clock.real_duration(least), most.map(|m| clock.real_duration(m)));
            let excused = held.is_some_and(|h| h >= ended);
            if gap < soonest || latest.is_some_and(|l| gap > l && !excused) {
                let bounds = match most {
                    Some(m) => format!("{}-{}", SimTime(least), SimTime(m)),
                    None => format!("at least {}", SimTime(least)),
                };
                self.violation(at, |c| {
                    format!("{} invoked o{op} {} after its previous operation ended; it thinks {bounds}", c.name(node), SimTime(gap))
                });
            }
        }
    }

    fn end(&mut self, at: SimTime, node: NodeId, op: u64, server: NodeId, answered: bool) {
        self.ended += 1;
        let timeout = self.timeout(node);
        let ops = self.clients.entry(node).or_default();
        let Some((to, invoked)) = ops.open.remove(&op) else {
            let what = if answered { "answered" } else { "timed out" };
            return self.violation(at, |c| format!("{}'s operation o{op} {what} without being outstanding", c.name(node)));
        };
        ops.ended_at = Some(at);
        let waited = at.0 - invoked.0;
        let held = self.held.get(&node).is_some_and(|&h| h >= invoked);
        let reply = answered && {
            let left = ops.replies.entry((server, op)).or_default();
            let had = *left > 0;
            *left = left.saturating_sub(1);
            had
        };
        if to != server {
            self.violation(at, |c| format!("{}'s o{op} went to {} but ended naming {}", c.name(node), c.name(to), c.name(server)));
        }
        if answered && !reply {
            self.violation(at, |c| format!("{}'s o{op} was answered with no reply to it from {} arrived", c.name(node), c.name(server)));
        }
        match timeout {
            Some(t) if answered && waited > t && !held => self.violation(at, |c| {
                format!("{}'s o{op} was answered {} after it was invoked, past the {} timeout", c.name(node), SimTime(waited), SimTime(t))
            }),
            Some(t) if !answered && waited < t => self.violation(at, |c| {
                format!("{}'s o{op} timed out {} after it was invoked, before the {} timeout", c.name(node), SimTime(waited), SimTime(t))
            }),
            _ => {}
        }
    }

    /// Server `server` sent a reply to `client`: to the oldest request waiting, and no sooner
    /// than a service time after it could start on it (a single server works on one at a time).
    fn reply(&mut self, at: SimTime, server: NodeId, client: NodeId, msg: MsgId) {
        let head = self.queues.get_mut(&server).and_then(VecDeque::pop_front);
        let previous = self.replied.insert(server, at);
        let Some((first, arrived, asked)) = head else {
            return self.violation(at, |c| format!("server {} answered {} with no request waiting", c.name(server), c.name(client)));
        };
        if first != client {
            return self.violation(at, |c| {
                format!("server {} answered {} while {}'s earlier request waited", c.name(server), c.name(client), c.name(first))
            });
        }
        if let Some(tag) = asked {
            self.answers.insert(msg, tag);
        }
        let least = self.contract.as_ref().map_or(0, |c| c.min_service_ns);
        let least = self.clocks.get(server.index()).map_or(least, |clock| clock.real_duration(least));
        let start = previous.map_or(arrived, |p| p.max(arrived));
        let was_paused = self.paused.remove(&server);
        let took = at.0 - start.0;
        // A paused server's timers were held, so only the lower bound holds for it.
        let most = self.longest_service(server).filter(|_| !was_paused);
        let breached = if took < least { Some(("least", least)) } else { most.filter(|&m| took > m).map(|m| ("most", m)) };
        if let Some((side, limit)) = breached {
            self.violation(at, |c| {
                format!(
                    "server {} answered {} {} after it could start on the request; its service takes at {side} {}",
                    c.name(server),
                    c.name(client),
                    SimTime(took),
                    SimTime(limit)
                )
            });
        }
    }

    /// The longest `server` works on a request, in simulated nanoseconds (rounded up: it bounds
    /// from above); `None` when unbounded or outside `Service`.
    fn longest_service(&self, server: NodeId) -> Option<u64> {
        let most = self.contract.as_ref()?.max_service_ns?;
        Some(self.clocks.get(server.index()).map_or(most, |clock| clock.real_duration(most)))
    }

    fn crashed(&mut self, node: NodeId) {
        *self.incarnations.entry(node).or_default() += 1;
        self.invoking.remove(&node);
        self.clients.remove(&node);
        self.queues.remove(&node);
        self.replied.remove(&node);
        self.paused.remove(&node);
    }
}

impl Checker for OperationLifecycle {
    fn heap_bytes(&self) -> u64 {
        use crate::budget as b;
        b::total(&[
            b::nested(self.clients.values(), |c| b::map(&c.open) + b::map(&c.replies)),
            b::nested(self.queues.values(), b::deque),
            b::map(&self.incarnations),
            b::map(&self.invoking),
            b::map(&self.requests),
            b::map(&self.answers),
            b::map(&self.replied),
            b::set(&self.paused),
            b::set(&self.stopped),
            b::map(&self.held),
            b::vec(&self.commanded),
        ])
    }

    fn observe(&mut self, e: &TraceEvent) {
        self.commands_unanswered_before(e.time);
        match e.kind {
            EventKind::Command { node, dest, .. } if self.open_loop() && self.is_client(node) => {
                let named = match dest {
                    Dest::Node(n) if self.is_server(n) => Some(n),
                    _ => None,
                };
                self.commanded.push((node, e.time, named));
            }
            EventKind::Op { node, op, server, outcome } if self.is_client(node) => match outcome {
                OpOutcome::Invoke => {
                    if self.open_loop() {
                        self.commanded_invocation(e.time, node, op, server);
                    }
                    self.invoke(e.time, node, op, server)
                }
                OpOutcome::Ok => self.end(e.time, node, op, server, true),
                OpOutcome::Timeout => self.end(e.time, node, op, server, false),
            },
            EventKind::Receive { from, to, msg, corrupted: false } => {
                if self.is_server(from) {
                    let incarnation = self.incarnations.get(&to).copied().unwrap_or(0);
                    if let Some(&(sent_by, op)) = self.answers.get(&msg)
                        && sent_by == incarnation
                        && let Some(ops) = self.clients.get_mut(&to)
                    {
                        *ops.replies.entry((from, op)).or_default() += 1;
                    }
                } else if self.is_server(to) && self.is_client(from) {
                    let asked = self.requests.get(&msg).copied();
                    self.queues.entry(to).or_default().push_back((from, e.time, asked));
                }
            }
            EventKind::Send { from, to, msg, size } if self.is_server(from) && self.is_client(to) => {
                self.sized(e.time, from, to, size, false);
                self.reply(e.time, from, to, msg)
            }
            EventKind::Send { from, to, msg, size } if self.is_client(from) && self.is_server(to) => {
                self.sized(e.time, from, to, size, true);
                if let Some(op) = self.invoking.remove(&from) {
                    let incarnation = self.incarnations.get(&from).copied().unwrap_or(0);
                    self.requests.insert(msg, (incarnation, op));
                }
            }
            EventKind::Fault { action: FaultAction::Crash, node: Some(node), .. } => {
                self.crashed(node);
                self.stopped.insert(node);
            }
            EventKind::Fault { action: FaultAction::Pause, node: Some(node), .. } => {
                self.paused.insert(node);
                self.stopped.insert(node);
                self.held.insert(node, e.time);
            }
            EventKind::Block { node, .. } => {
                self.held.insert(node, e.time);
            }
            EventKind::Fault { action: FaultAction::Restart | FaultAction::Resume, node: Some(node), .. } => {
                self.stopped.remove(&node);
            }
            _ => {}
        }
    }

    fn verdict(&self, end: &RunEnd) -> Verdict {
        let mut breaches = self.breaches.clone();
        for &(node, at, _) in &self.commanded {
            breaches.record(at, || format!("open-loop client {} was commanded and invoked no operation", self.cluster.name(node)));
        }
        for (&node, ops) in &self.clients {
            for (&op, &(_, invoked)) in &ops.open {
                // Every operation ends by its timeout; at the horizon, only those whose timeout
                // passed (plus a latency for the last event) are owed an end.
                let owed = match (end.reason, self.timeout(node)) {
                    (EndReason::Quiescent, _) => true,
                    (_, Some(t)) => invoked.0.saturating_add(t).saturating_add(end.max_latency_ns) < end.at.0,
                    (_, None) => false,
                };
                if owed {
                    breaches.record(end.at, || format!("{}'s operation o{op}, invoked at {invoked}, never ended", self.cluster.name(node)));
                }
            }
        }
        // A closed loop goes on until its client has invoked all its operations: one that ends
        // with the client up and fewer invoked stopped early (a lost reply or a timeout that
        // ended the loop).
        if let Some(c) = self.contract.as_ref().filter(|c| c.closed && c.operations != u64::MAX)
            && end.reason == EndReason::Quiescent
        {
            for &client in c.clients.iter().filter(|n| !self.stopped.contains(n)) {
                let invoked = self.clients.get(&client).map_or(0, |ops| ops.next);
                if invoked < c.operations {
                    breaches.record(end.at, || {
                        format!(
                            "closed-loop client {} invoked {invoked} of its {} operations, and nothing was left to happen",
                            self.cluster.name(client),
                            c.operations
                        )
                    });
                }
            }
        }
        // A uniform draw reaches every server once it has drawn 64 times per server.
        if let Some(c) = self.contract.as_ref().filter(|c| c.closed && matches!(c.pick, PickFile::Random)) {
            let draws: u64 = self.drawn.values().sum();
            if draws >= 64 * c.servers.len() as u64
                && let Some(&missed) = c.servers.iter().find(|s| !self.drawn.contains_key(s))
            {
                breaches.record(end.at, || {
                    format!(
                        "under pick: Random the closed-loop clients invoked {draws} operations on {} servers and none on {}: a uniform draw misses a server that often with probability below 10^-27",
                        c.servers.len(),
                        self.cluster.name(missed)
                    )
                });
            }
        }
        // A work-conserving server has answered, by the end, every request it could have
        // finished: the one at the head of its queue owes a reply a longest service after it
        // could start.
        for (&server, queue) in &self.queues {
            let (Some(&(client, arrived, _)), Some(most)) = (queue.front(), self.longest_service(server)) else { continue };
            let start = self.replied.get(&server).map_or(arrived, |&p| p.max(arrived));
            if !self.paused.contains(&server) && end.at.0.saturating_sub(start.0) > most.saturating_add(end.max_latency_ns) {
                breaches.record(end.at, || {
                    format!(
                        "server {} never answered {}'s request, which it could start on at {start}; its service takes at most {}",
                        self.cluster.name(server),
                        self.cluster.name(client),
                        SimTime(most)
                    )
                });
            }
        }
        if let Some(failed) = breaches.verdict("violations of the operations' lifecycle") {
            return failed;
        }
        if self.invoked == 0 {
            return Verdict::inconclusive("no operation to judge");
        }
        Verdict::pass(format!("{} operations invoked, {} ended, each once and on time", self.invoked, self.ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;
    use crate::check::test_events::ev;

    /// A closed-loop contract of `clients` and `servers` that judges nothing else: no service
    /// or think time bounds, a 10 ms timeout, 64-byte messages; tests override what they judge.
    fn contract(clients: Vec<NodeId>, servers: Vec<NodeId>) -> Contract {
        Contract {
            clients,
            servers,
            closed: true,
            pick: PickFile::Fixed,
            timeout_ns: 10_000_000,
            operations: u64::MAX,
            min_service_ns: 0,
            max_service_ns: None,
            min_think_ns: 0,
            max_think_ns: None,
            request_bytes: 64,
            reply_bytes: 64,
        }
    }

    /// Clients n0 and n1, server n2: a closed loop, 10 ms timeout, service from 2 to 6 ms,
    /// until the horizon.
    fn judge(events: &[TraceEvent]) -> Verdict {
        judge_with(u64::MAX, events)
    }

    /// As `judge`, each client invoking `operations` operations.
    fn judge_with(operations: u64, events: &[TraceEvent]) -> Verdict {
        judge_loop(true, operations, events)
    }

    /// As `judge_with`, in a closed loop or an open one.
    fn judge_loop(closed: bool, operations: u64, events: &[TraceEvent]) -> Verdict {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into(), "n2".into()], groups: vec![] };
        let contract = Contract {
            closed,
            operations,
            min_service_ns: 2_000_000,
            max_service_ns: Some(6_000_000),
            ..contract(vec![NodeId(0), NodeId(1)], vec![NodeId(2)])
        };
        let mut c = OperationLifecycle::new(cluster, vec![], Some(contract));
        // The tests write a request's arrival only: its sending goes just before (right after
        // the client's latest invocation, as the protocol sends it), unless a test wrote it.
        let mut sent = BTreeSet::new();
        for e in events {
            match e.kind {
                EventKind::Send { msg, .. } => {
                    sent.insert(msg);
                }
                EventKind::Receive { from, to, msg, .. } if to == NodeId(2) && sent.insert(msg) => {
                    c.observe(&ev(e.time.0 / 1_000_000, EventKind::Send { from, to, msg, size: 64 }));
                }
                _ => {}
            }
            c.observe(e);
        }
        c.verdict(&RunEnd { reason: EndReason::Quiescent, at: SimTime(1_000_000_000), max_latency_ns: 0 })
    }

    fn op(ms: u64, client: u32, op: u64, outcome: OpOutcome) -> TraceEvent {
        ev(ms, EventKind::Op { node: NodeId(client), op, server: NodeId(2), outcome })
    }

    fn request(ms: u64, client: u32) -> TraceEvent {
        ev(ms, EventKind::Receive { from: NodeId(client), to: NodeId(2), msg: crate::id::MsgId(u64::from(client)), corrupted: false })
    }

    fn reply(ms: u64, client: u32) -> [TraceEvent; 2] {
        let id = crate::id::MsgId(100 + u64::from(client));
        [
            ev(ms, EventKind::Send { from: NodeId(2), to: NodeId(client), msg: id, size: 64 }),
            ev(ms + 1, EventKind::Receive { from: NodeId(2), to: NodeId(client), msg: id, corrupted: false }),
        ]
    }

    #[test]
    fn an_operation_answered_after_its_reply_and_in_time_passes() {
        let [send, arrive] = reply(4, 0);
        assert_eq!(
            judge(&[op(0, 0, 0, OpOutcome::Invoke), request(1, 0), send, arrive, op(5, 0, 0, OpOutcome::Ok)]).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn each_breach_of_the_lifecycle_fails() {
        let [send, _] = reply(4, 0);
        let fails = |events: &[TraceEvent], why: &str| assert_eq!(judge(events).outcome, Outcome::Fail, "{why}");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), op(5, 0, 0, OpOutcome::Ok)], "answered with no reply");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), op(5, 0, 0, OpOutcome::Timeout)], "timed out before the timeout");
        fails(&[op(0, 0, 0, OpOutcome::Invoke)], "never ended");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), op(1, 0, 1, OpOutcome::Invoke)], "two outstanding in a closed loop");
        fails(&[op(0, 0, 1, OpOutcome::Invoke)], "numbered from 1");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), op(10, 0, 0, OpOutcome::Timeout), op(11, 0, 0, OpOutcome::Timeout)], "ended twice");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), request(1, 0), request(1, 1), reply(4, 1)[0]], "served out of arrival order");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), request(1, 0), reply(2, 0)[0]], "served in less than the service time");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), request(1, 0), reply(8, 0)[0]], "served in more than the service time");
        fails(&[op(0, 0, 0, OpOutcome::Invoke), request(1, 0), op(10, 0, 0, OpOutcome::Timeout)], "a request never served");
        assert_eq!(
            judge(&[op(0, 0, 0, OpOutcome::Invoke), request(1, 0), send]).outcome,
            Outcome::Fail,
            "answered by the server, never ended at the client"
        );
    }

    // Postmortem: an open-loop client that took its workload's commands and invoked nothing
    // (a role test inverted) passed as "no operation to judge" (auto-2's auto-service-l320).
    #[test]
    fn regression_an_open_loop_client_invokes_an_operation_for_each_command() {
        let [send, arrive] = reply(4, 0);
        let command = |ms: u64, client: u32| {
            ev(ms, EventKind::Command { node: NodeId(client), app: crate::id::AppId(ms), dest: Dest::Node(NodeId(2)) })
        };
        let answered = [command(0, 0), op(0, 0, 0, OpOutcome::Invoke), request(1, 0), send, arrive, op(5, 0, 0, OpOutcome::Ok)];
        assert_eq!(judge_loop(false, u64::MAX, &answered).outcome, Outcome::Pass, "{}", judge_loop(false, u64::MAX, &answered).detail);
        let ignored = judge_loop(false, u64::MAX, &[command(0, 0), command(3, 1)]);
        assert_eq!(ignored.outcome, Outcome::Fail);
        assert!(ignored.detail.starts_with("2 violations"), "{}", ignored.detail);
        assert!(ignored.detail.contains("open-loop client n0 was commanded and invoked no operation"), "{}", ignored.detail);
        // A command to a server, or under a closed loop, owes nothing.
        assert_eq!(judge_loop(false, u64::MAX, &[command(0, 2)]).outcome, Outcome::Inconclusive);
        assert_eq!(judge_loop(true, u64::MAX, &[command(0, 0)]).outcome, Outcome::Inconclusive);
    }

    /// Postmortem: a service that sent its replies at the request's size (512 bytes for 4 KiB)
    /// passed: latency fell, within every bound, and no check read a message's size (held-out
    /// set 12, service-reply-sized-as-request).
    #[test]
    fn regression_requests_and_replies_go_at_the_sizes_the_contract_gives_them() {
        let cluster = Cluster { names: ["c0", "s0"].map(String::from).to_vec(), groups: vec![] };
        let contract = Contract { request_bytes: 512, reply_bytes: 4096, ..contract(vec![NodeId(0)], vec![NodeId(1)]) };
        let judge = |reply_size: u32| {
            let mut c = OperationLifecycle::new(cluster.clone(), vec![], Some(contract.clone()));
            let events = [
                ev(0, EventKind::Op { node: NodeId(0), op: 0, server: NodeId(1), outcome: OpOutcome::Invoke }),
                ev(0, EventKind::Send { from: NodeId(0), to: NodeId(1), msg: MsgId(1), size: 512 }),
                ev(1, EventKind::Receive { from: NodeId(0), to: NodeId(1), msg: MsgId(1), corrupted: false }),
                ev(1, EventKind::Send { from: NodeId(1), to: NodeId(0), msg: MsgId(2), size: reply_size }),
            ];
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(5_000_000), max_latency_ns: 0 })
        };
        assert_ne!(judge(4096).outcome, Outcome::Fail, "{}", judge(4096).detail);
        let v = judge(512);
        assert_eq!(v.outcome, Outcome::Fail, "{}", v.detail);
        assert!(v.detail.contains("s0 sent c0 a reply of 512 bytes; the service's replies are 4096 bytes"), "{}", v.detail);
    }

    /// Postmortems (held-out set 11): an open-loop client that invoked the commanded operation
    /// on another server (service-named-server-ignored), or that also chained an operation
    /// after each one ended, 49,480 for 1,006 commands (service-open-loop-chains-operations),
    /// passed: only "an invocation for each command" was asked, not "on its server" or "only".
    #[test]
    fn regression_an_open_loop_invocation_is_owed_to_a_command_and_goes_to_its_server() {
        let cluster = Cluster { names: ["c0", "s0", "s1"].map(String::from).to_vec(), groups: vec![] };
        let contract = Contract { closed: false, pick: PickFile::Random, ..contract(vec![NodeId(0)], vec![NodeId(1), NodeId(2)]) };
        let judge = |events: &[TraceEvent]| {
            let mut c = OperationLifecycle::new(cluster.clone(), vec![], Some(contract.clone()));
            events.iter().for_each(|e| c.observe(e));
            c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(5_000_000), max_latency_ns: 0 })
        };
        let command = |ms: u64, dest: Dest| ev(ms, EventKind::Command { node: NodeId(0), app: crate::id::AppId(ms), dest });
        let invoke = |ms: u64, op: u64, server: u32| {
            ev(ms, EventKind::Op { node: NodeId(0), op, server: NodeId(server), outcome: OpOutcome::Invoke })
        };
        let to_s0 = Dest::Node(NodeId(1));
        // Two commands to s0 at once, and one to no server (the client picks): all kept.
        let kept = judge(&[command(0, to_s0), command(0, to_s0), invoke(0, 0, 1), invoke(0, 1, 1), command(1, Dest::All), invoke(1, 2, 2)]);
        assert_eq!(kept.outcome, Outcome::Pass, "{}", kept.detail);
        let elsewhere = judge(&[command(0, to_s0), invoke(0, 0, 2)]);
        assert_eq!(elsewhere.outcome, Outcome::Fail);
        assert!(elsewhere.detail.contains("c0 invoked o0 on s1; its command named s0"), "{}", elsewhere.detail);
        let chained = judge(&[command(0, to_s0), invoke(0, 0, 1), invoke(0, 1, 1)]);
        assert_eq!(chained.outcome, Outcome::Fail);
        assert!(chained.detail.contains("c0 invoked o1 with no workload command owing it"), "{}", chained.detail);
        // A later instant's invocation is not owed to an earlier command either.
        let late = judge(&[command(0, to_s0), invoke(0, 0, 1), invoke(3, 1, 1)]);
        assert!(late.outcome == Outcome::Fail && late.detail.contains("o1 with no workload command"), "{}", late.detail);
    }

    #[test]
    fn a_paused_server_may_answer_late() {
        let pause = ev(2, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(2)), index: 0 });
        let [send, arrive] = reply(9, 0);
        let events = [op(0, 0, 0, OpOutcome::Invoke), request(1, 0), pause, send, arrive, op(10, 0, 0, OpOutcome::Ok)];
        assert_eq!(judge(&events).outcome, Outcome::Pass);
    }

    #[test]
    fn without_an_operation_nothing_is_judged() {
        assert_eq!(judge(&[]).outcome, Outcome::Inconclusive);
    }

    /// Postmortem: a reply that reached a paused client before its held timeout fired was taken
    /// on resume, as it should be, and called an answer past the timeout (hreview's probe).
    #[test]
    fn regression_an_answer_taken_after_a_pause_of_its_client_may_pass_the_timeout() {
        let [send, arrive] = reply(5, 0);
        let pause = ev(3, EventKind::Fault { action: FaultAction::Pause, node: Some(NodeId(0)), index: 0 });
        let events = [op(0, 0, 0, OpOutcome::Invoke), request(1, 0), pause, send, arrive, op(30, 0, 0, OpOutcome::Ok)];
        assert_ne!(judge(&events).outcome, Outcome::Fail, "{}", judge(&events).detail);
        let events = [op(0, 0, 0, OpOutcome::Invoke), request(1, 0), send, arrive, op(30, 0, 0, OpOutcome::Ok)];
        assert_eq!(judge(&events).outcome, Outcome::Fail, "unpaused, it is late");
    }

    fn wire(ms: u64, from: u32, to: u32, msg: u64, arrives: bool) -> TraceEvent {
        let (from, to, msg) = (NodeId(from), NodeId(to), crate::id::MsgId(msg));
        ev(ms, if arrives { EventKind::Receive { from, to, msg, corrupted: false } } else { EventKind::Send { from, to, msg, size: 64 } })
    }

    /// Postmortem: replies were counted per server, not per operation, so a client that took
    /// the late reply to a timed-out operation as the answer to its next one passed (a
    /// restarted `Service` client did so with its previous incarnation's operation o0).
    #[test]
    fn regression_a_reply_answers_only_the_operation_whose_request_it_answers() {
        let o0 = [op(0, 0, 0, OpOutcome::Invoke), wire(0, 0, 2, 10, false), wire(1, 0, 2, 10, true), wire(7, 2, 0, 20, false)];
        // The reply to o0 arrives after o0 timed out, and o1 takes it.
        let late =
            [op(10, 0, 0, OpOutcome::Timeout), op(11, 0, 1, OpOutcome::Invoke), wire(12, 2, 0, 20, true), op(12, 0, 1, OpOutcome::Ok)];
        let v = judge(&[&o0[..], &late].concat());
        assert!(v.outcome == Outcome::Fail && v.detail.contains("o1 was answered with no reply to it"), "{}", v.detail);
        // The client crashed and restarted; its new o0 takes its old o0's reply.
        let crash = ev(2, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(0)), index: 0 });
        let restart = ev(3, EventKind::Fault { action: FaultAction::Restart, node: Some(NodeId(0)), index: 1 });
        let again = [op(3, 0, 0, OpOutcome::Invoke), wire(3, 0, 2, 11, false), wire(4, 0, 2, 11, true)];
        let stale = [&o0[..3], &[crash, restart], &again, &[o0[3], wire(8, 2, 0, 20, true), op(8, 0, 0, OpOutcome::Ok)]].concat();
        let v = judge(&stale);
        assert!(v.outcome == Outcome::Fail && v.detail.contains("o0 was answered with no reply to it"), "{}", v.detail);
        // Waiting for the reply to its own request instead passes.
        let own = [wire(10, 2, 0, 21, false), wire(11, 2, 0, 21, true), op(11, 0, 0, OpOutcome::Ok)];
        let right = [&o0[..3], &[crash, restart], &again, &[o0[3], wire(8, 2, 0, 20, true)], &own].concat();
        assert_eq!(judge(&right).outcome, Outcome::Pass, "{}", judge(&right).detail);
    }

    /// Postmortem: a client that drew its think time from the service time (up to 200 ms where
    /// it thinks 1-5 ms) passed: the contract had no think time to judge the gap from an
    /// operation's end to the next invocation (held-out set 13, service-think-drawn-from-service-time).
    #[test]
    fn regression_a_closed_loop_client_thinks_within_its_think_time() {
        let cluster = Cluster { names: vec!["n0".into(), "n1".into(), "n2".into()], groups: vec![] };
        let contract = Contract { min_think_ns: 1_000_000, max_think_ns: Some(5_000_000), ..contract(vec![NodeId(0)], vec![NodeId(2)]) };
        let judge_next_at = |next_ms: u64, paused: bool| {
            let mut c = OperationLifecycle::new(cluster.clone(), vec![], Some(contract.clone()));
            // o0 times out at 10 ms; o1 follows after the client's think.
            let mut events = vec![op(0, 0, 0, OpOutcome::Invoke), op(10, 0, 0, OpOutcome::Timeout)];
            if paused {
                let fault = |ms, action| ev(ms, EventKind::Fault { action, node: Some(NodeId(0)), index: 0 });
                events.extend([fault(11, FaultAction::Pause), fault(30, FaultAction::Resume)]);
            }
            events.push(op(next_ms, 0, 1, OpOutcome::Invoke));
            events.iter().for_each(|e| c.observe(e));
            // The run stops before o1's timeout: it owes no end.
            c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(45_000_000), max_latency_ns: 100_000_000 })
        };
        for within in [11, 13, 15] {
            assert_eq!(judge_next_at(within, false).outcome, Outcome::Pass, "{}", judge_next_at(within, false).detail);
        }
        let late = judge_next_at(40, false);
        assert_eq!(late.outcome, Outcome::Fail, "{}", late.detail);
        assert!(
            late.detail.contains("n0 invoked o1 30.000ms after its previous operation ended; it thinks 1.000ms-5.000ms"),
            "{}",
            late.detail
        );
        assert_eq!(judge_next_at(10, false).outcome, Outcome::Fail, "thought less than the least");
        // A pause held the think timer: late is excused.
        assert_eq!(judge_next_at(31, true).outcome, Outcome::Pass, "{}", judge_next_at(31, true).detail);
    }

    /// Postmortem: a closed-loop client that stopped after a timeout passed, since only
    /// operations past `operations` were judged (held-out set 8, service-timeout-stops-client).
    #[test]
    fn regression_a_closed_loop_that_stops_early_fails() {
        let [send, arrive] = reply(5, 0);
        let one = [op(0, 0, 0, OpOutcome::Invoke), request(1, 0), send, arrive, op(6, 0, 0, OpOutcome::Ok)];
        // n1 invoked nothing and n0 one operation of two: both stopped early.
        let v = judge_with(2, &one);
        assert!(v.outcome == Outcome::Fail && v.detail.contains("invoked 1 of its 2 operations"), "{}", v.detail);
        // Of one operation each, n1, which is down at the end, owes none.
        let crash = ev(7, EventKind::Fault { action: FaultAction::Crash, node: Some(NodeId(1)), index: 0 });
        let done = [&one[..], &[crash]].concat();
        assert_eq!(judge_with(1, &done).outcome, Outcome::Pass, "{}", judge_with(1, &done).detail);
        let restart = ev(8, EventKind::Fault { action: FaultAction::Restart, node: Some(NodeId(1)), index: 1 });
        assert_eq!(judge_with(1, &[&done[..], &[restart]].concat()).outcome, Outcome::Fail, "restarted, it owes its operation again");
    }

    /// Postmortem: clients that drew their server from one fewer than the servers never picked
    /// the last one, and passed: a `Random` pick was not judged at all (held-out set 14,
    /// service-random-pick-never-last).
    #[test]
    fn regression_a_random_pick_reaches_every_server() {
        let judge_draws = |operations: u64, on: &dyn Fn(u64) -> u32| {
            let cluster = Cluster { names: vec!["c0".into(), "s1".into(), "s2".into()], groups: vec![] };
            let contract = Contract { pick: PickFile::Random, ..contract(vec![NodeId(0)], vec![NodeId(1), NodeId(2)]) };
            let mut c = OperationLifecycle::new(cluster, vec![], Some(contract));
            for i in 0..operations {
                let server = NodeId(on(i));
                c.observe(&ev(20 * i, EventKind::Op { node: NodeId(0), op: i, server, outcome: OpOutcome::Invoke }));
                c.observe(&ev(20 * i + 10, EventKind::Op { node: NodeId(0), op: i, server, outcome: OpOutcome::Timeout }));
            }
            c.verdict(&RunEnd { reason: EndReason::Horizon, at: SimTime(20 * operations * 1_000_000), max_latency_ns: 0 })
        };
        let one_sided = judge_draws(128, &|_| 1);
        assert_eq!(one_sided.outcome, Outcome::Fail, "{}", one_sided.detail);
        assert!(one_sided.detail.contains("invoked 128 operations on 2 servers and none on s2"), "{}", one_sided.detail);
        assert_eq!(judge_draws(128, &|i| 1 + (i % 2) as u32).outcome, Outcome::Pass);
        // Fewer than 64 draws per server: a fair draw may still have missed one.
        assert_eq!(judge_draws(127, &|_| 1).outcome, Outcome::Pass);
    }
}

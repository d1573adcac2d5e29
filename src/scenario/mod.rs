//! Scenarios: loading a RON file and validating it into a `Scenario` the simulator can run.
//!
//! Invariant: a `Scenario` is fully checked. Every bad input is rejected here,
//! with `file:line:col`, before anything runs; the simulator may assume what
//! this module guarantees (names resolve, ranges are ordered, sizes are bounded).

pub mod file;
pub mod locate;
mod syntax;

pub use locate::Seg;

use crate::adversary::AdversarySpec;
use crate::check::CheckSpec;
use crate::clock::Clock;
use crate::dist::{Latency, LatencySpec};
use crate::id::{GroupId, NodeId};
use crate::mailbox::Overflow;
use crate::net::{Decision, LinkModel, Topology};
use crate::process::Cluster;
use crate::protocols::ProtocolSpec;
use crate::rng::PPB;
use crate::time::{NANOS_PER_MS, SimTime};
use file::*;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// Input size limits: beyond these a scenario is rejected, not run slowly.
pub mod limits {
    pub const MAX_FILE_BYTES: usize = 4 << 20;
    pub const MAX_NESTING: usize = 64;
    pub const MAX_NODES: u64 = 100_000;
    pub const MAX_MS: f64 = 1e12;
    pub const MAX_MESSAGES_PER_WORKLOAD: u64 = 1_000_000_000;
    pub const MAX_SIZE_BYTES: u64 = 1 << 30;
    pub const MAX_DRIFT_PPM: f64 = 100_000.0;
    pub const MAX_SWARM_FAULTS: u64 = 10_000;
    pub const DEFAULT_MAX_EVENTS: u64 = 1_000_000_000;
    pub const DEFAULT_MAX_IN_FLIGHT: u64 = 10_000_000;
    pub const DEFAULT_SIZE_BYTES: u32 = 64;
    /// Transmissions of one message by a retransmitting protocol.
    pub const MAX_ATTEMPTS: u64 = 1_000;
    pub const MAX_BACKOFF_FACTOR: f64 = 100.0;
    /// Keys an exactly-once receiver remembers.
    pub const MAX_DEDUP_WINDOW: u64 = 100_000_000;
    /// Calls in a breaker's count window, its minimum and its half-open allowance.
    pub const MAX_BREAKER_CALLS: u64 = 1_000_000;
    /// A phi threshold: 10^-30 is far below anything a heartbeat interval tells apart.
    pub const MAX_PHI: f64 = 30.0;
    /// The smallest MTU: message sizes are at most `MAX_SIZE_BYTES`, so at most 2^24 fragments.
    pub const MIN_MTU: u64 = 64;
    /// Messages one mailbox holds.
    pub const MAX_MAILBOX: u64 = 1_000_000;
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub horizon: SimTime,
    pub cluster: Cluster,
    pub topology: Topology,
    pub protocol: ProtocolSpec,
    pub network: LinkModel,
    /// Directed link overrides, in file order (a later one wins).
    pub links: Vec<((NodeId, NodeId), LinkModel)>,
    /// One per node.
    pub clocks: Vec<Clock>,
    /// Sorted by time; equal times keep file order.
    pub faults: Vec<ScheduledFault>,
    pub swarm: Option<SwarmSpec>,
    pub adversary: Option<AdversarySpec>,
    /// One per node when any node has a mailbox; empty otherwise.
    pub mailboxes: Vec<Option<MailboxSpec>>,
    pub workload: Vec<Generator>,
    pub checks: Vec<CheckSpec>,
    /// Names of checks in `checks` the scenario is meant to fail on some seed.
    pub expect_failures: Vec<String>,
    pub limits: Limits,
    /// Network decisions replayed instead of drawn, if the scenario gives them.
    pub replay: Option<Vec<Decision>>,
}

/// A node's receive buffer (see `mailbox.rs`).
#[derive(Clone, Debug)]
pub struct MailboxSpec {
    /// `None`: unbounded.
    pub capacity: Option<u32>,
    pub overflow: Overflow,
    /// Time to serve each message taken from the mailbox.
    pub service: Option<Latency>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    pub at: SimTime,
    pub fault: Fault,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    Crash(NodeId),
    Restart(NodeId),
    Pause(NodeId),
    Resume(NodeId),
    Partition(Vec<Vec<NodeId>>),
    OneWay { from: Vec<NodeId>, to: Vec<NodeId> },
    Heal,
}

/// Ranges that the seed draws from in swarm mode (probabilities in ppb).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmSpec {
    pub loss: Option<(u32, u32)>,
    pub duplicate: Option<(u32, u32)>,
    pub corrupt: Option<(u32, u32)>,
    pub crashes: (u64, u64),
    pub partitions: (u64, u64),
    /// When drawn faults may start.
    pub window: (SimTime, SimTime),
    /// How long a drawn crash or partition lasts, in ns.
    pub downtime_ns: (u64, u64),
}

/// One sender's share of a workload entry: `count` messages, `every_ns` apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    pub from: NodeId,
    pub target: Target,
    pub start: SimTime,
    pub every_ns: u64,
    pub count: u64,
    pub size_bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Node(NodeId),
    /// Unicast to one member of the group other than the sender, drawn per message.
    AnyOf(GroupId),
    /// Unicast to any other node, drawn per message.
    AnyOther,
    Multicast(GroupId),
    Broadcast,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_events: u64,
    pub max_in_flight: u64,
}

/// One problem with a scenario, at a place in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub expected: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, one_line(&self.message))?;
        if let Some(e) = &self.expected {
            write!(f, " (expected {})", one_line(e))?;
        }
        Ok(())
    }
}

/// Messages quote names from the file as written; escaping control characters
/// (a `\n` in a node name) keeps each error on its own line.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every problem found, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioErrors> {
        let file = path.display().to_string();
        let error_at = |(line, col): (usize, usize), message: String, expected: Option<String>| {
            ScenarioErrors(vec![ScenarioError { file: file.clone(), line, col, message, expected }])
        };
        // Read one byte past the limit, never more: the path may be `/dev/zero` or a huge file.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(limits::MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| error_at((1, 1), format!("cannot read the scenario: {e}"), None))?;
        if bytes.len() > limits::MAX_FILE_BYTES {
            return Err(error_at(
                (1, 1),
                "the file is larger than a scenario may be".to_string(),
                Some(format!("at most {} bytes", limits::MAX_FILE_BYTES)),
            ));
        }
        let src = String::from_utf8(bytes).map_err(|e| {
            let valid = std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()]).expect("valid up to here");
            let line = 1 + valid.matches('\n').count();
            let col = 1 + valid.chars().rev().take_while(|&c| c != '\n').count();
            let byte = e.as_bytes()[valid.len()];
            error_at((line, col), format!("the byte 0x{byte:02X} here is not UTF-8"), Some("a UTF-8 text file".to_string()))
        })?;
        Scenario::parse(&src, &file)
    }

    /// Parse and validate scenario text; `file` names it in errors.
    pub fn parse(src: &str, file: &str) -> Result<Scenario, ScenarioErrors> {
        // Some editors start UTF-8 files with a byte order mark; it is not part of the text.
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        let raw: ScenarioFile = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .with_recursion_limit(limits::MAX_NESTING)
            .from_str(src)
            .map_err(|e| ScenarioErrors(vec![syntax::error(&e, src, file)]))?;
        Validator { src, file, errors: Vec::new(), nodes: BTreeMap::new(), groups: BTreeMap::new(), members: Vec::new() }.scenario(raw)
    }

    pub fn node_count(&self) -> usize {
        self.cluster.len()
    }

    /// Node `i`'s mailbox, if it has one.
    #[inline]
    pub fn mailbox(&self, i: usize) -> Option<&MailboxSpec> {
        self.mailboxes.get(i).and_then(Option::as_ref)
    }
}

/// Builds a `Scenario` from a `ScenarioFile`, collecting every problem with its place.
struct Validator<'a> {
    src: &'a str,
    file: &'a str,
    errors: Vec<ScenarioError>,
    nodes: BTreeMap<String, NodeId>,
    groups: BTreeMap<String, GroupId>,
    /// Members of each group, by `GroupId`.
    members: Vec<Vec<NodeId>>,
}

/// Shorthand for building paths.
fn f(name: &'static str) -> Seg {
    Seg::Field(name)
}
fn ix(i: usize) -> Seg {
    Seg::Index(i)
}

impl Validator<'_> {
    fn error(&mut self, path: &[Seg], message: impl Into<String>, expected: impl Into<Option<String>>) {
        let (line, col) = locate::locate(self.src, path);
        self.errors.push(ScenarioError { file: self.file.to_string(), line, col, message: message.into(), expected: expected.into() });
    }

    fn scenario(mut self, raw: ScenarioFile) -> Result<Scenario, ScenarioErrors> {
        let horizon = self.millis(&[f("horizon_ms")], raw.horizon_ms).map(SimTime);
        if horizon == Some(SimTime::ZERO) {
            self.error(&[f("horizon_ms")], "the horizon is zero: nothing would run", "a positive number of milliseconds".to_string());
        }
        let horizon = horizon.unwrap_or(SimTime::ZERO);
        let cluster = self.cluster(&raw.nodes, &raw.groups);
        let n = cluster.len();
        let topology = self.topology(&raw.topology, n);
        self.protocol_parameters(&raw.protocol, n);
        self.calls(&raw);
        self.crash_stop(&raw);
        let protocol = ProtocolSpec::from_file(&raw.protocol);
        let network = self.link_model(&[f("network")], &raw.network);
        let links = self.links(&raw.links, network.as_ref());
        let clocks = self.clocks(&raw.clocks, n);
        let faults = self.faults(&raw.faults, horizon);
        let swarm = raw.swarm.as_ref().map(|s| self.swarm(s, horizon, n));
        let adversary = raw.adversary.as_ref().map(|a| self.adversary(a, &raw.protocol, n));
        let mailboxes = self.mailboxes(&raw.mailboxes, n);
        let workload = self.workload(&raw.workload, horizon);
        self.check_parameters(&raw.checks);
        let checks: Vec<CheckSpec> = raw.checks.iter().map(|c| CheckSpec::from_file(c, &protocol, adversary.as_ref())).collect();
        self.expected_failures(&raw.expect_failures, &checks);
        let limits = self.limits(&raw.limits);
        let replay = raw.replay.as_deref().map(|r| self.replay(r));
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| (e.line, e.col));
            return Err(ScenarioErrors(self.errors));
        }
        Ok(Scenario {
            name: raw.name,
            description: raw.description,
            seed: raw.seed.0,
            horizon,
            cluster,
            topology,
            protocol,
            network: network.expect("no errors, so the network validated"),
            links,
            clocks,
            faults,
            swarm,
            adversary,
            mailboxes,
            workload,
            checks,
            expect_failures: raw.expect_failures.into_iter().map(|n| n.0).collect(),
            limits,
            replay,
        })
    }

    /// Each expected failure names one of the scenario's own checks, once.
    fn expected_failures(&mut self, expected: &[CheckName], checks: &[CheckSpec]) {
        let names: Vec<&str> = checks.iter().map(CheckSpec::name).collect();
        for (i, CheckName(name)) in expected.iter().enumerate() {
            let path = [f("expect_failures"), ix(i)];
            if !names.contains(&name.as_str()) {
                let hint = match names.is_empty() {
                    true => "no expected failures: the scenario has no checks".to_string(),
                    false => format!("one of the scenario's checks: {}", names.join(", ")),
                };
                self.error(&path, format!("`{name}` is not one of this scenario's checks"), hint);
            } else if expected[..i].iter().any(|e| e.0 == *name) {
                self.error(&path, format!("`{name}` is expected to fail twice"), "each check at most once".to_string());
            }
        }
    }

    /// Protocol parameters that would make one handler do unbounded work, or nothing at all.
    fn protocol_parameters(&mut self, p: &ProtocolFile, n: usize) {
        let path = |field: &'static str| [f("protocol"), f(field)];
        match *p {
            ProtocolFile::BestEffort { .. } | ProtocolFile::SecureChannel { access: None, .. } => {}
            ProtocolFile::SecureChannel { access: Some(ref access), .. } => {
                for (i, name) in access.admin.iter().enumerate() {
                    self.node(&[f("protocol"), f("access"), f("admin"), ix(i)], name);
                }
            }
            ProtocolFile::PingPong { round_trips } => {
                if !(1..=limits::MAX_MESSAGES_PER_WORKLOAD).contains(&round_trips.0) {
                    self.error(
                        &path("round_trips"),
                        format!("{} round trips", round_trips.0),
                        format!("from 1 to {}", limits::MAX_MESSAGES_PER_WORKLOAD),
                    );
                }
                if n < 2 {
                    self.error(&[f("nodes")], "ping-pong needs two nodes", None);
                }
            }
            ProtocolFile::Gossip { fanout } => {
                let most = n.saturating_sub(1) as u64;
                if fanout.0 == 0 || fanout.0 > most {
                    self.error(
                        &path("fanout"),
                        format!("a fanout of {} with {n} nodes", fanout.0),
                        format!("from 1 to {most} (the other nodes)"),
                    );
                }
            }
            ProtocolFile::AtMostOnce { .. } => {}
            ProtocolFile::WorkQueue { ref broker, ref consumers, work_ms, visibility_ms, resend_ms } => {
                let p = |field: &'static str| [f("protocol"), f(field)];
                let broker = self.node(&p("broker"), broker);
                let consumers = self.node_set(&p("consumers"), consumers, true);
                if !consumers.iter().any(|&c| Some(c) != broker) {
                    self.error(
                        &p("consumers"),
                        "a work queue with no consumer but its broker",
                        "a group with another node in it".to_string(),
                    );
                }
                self.millis(&p("work_ms"), work_ms);
                for (field, v) in [("visibility_ms", visibility_ms), ("resend_ms", resend_ms)] {
                    if self.millis(&p(field), v) == Some(0) {
                        self.error(&p(field), format!("`{field}` of zero"), "a positive number of milliseconds".to_string());
                    }
                }
            }
            ProtocolFile::Exchange { send, ref priority } => {
                if let HandoverFile::Sync { timeout_ms: Some(t) } | HandoverFile::Call { timeout_ms: Some(t), .. } = send
                    && self.millis(&[f("protocol"), f("send"), f("timeout_ms")], t) == Some(0)
                {
                    self.error(
                        &[f("protocol"), f("send"), f("timeout_ms")],
                        "a timeout of zero",
                        "a positive number of milliseconds".to_string(),
                    );
                }
                for (name, level) in priority {
                    self.node(&[f("protocol"), f("priority")], name);
                    if level.0 > u64::from(u8::MAX) {
                        self.error(
                            &[f("protocol"), f("priority")],
                            format!("priority {} for `{name}`", level.0),
                            "from 0 to 255".to_string(),
                        );
                    }
                }
            }
            ProtocolFile::ViewSynchronous { heartbeat_ms, timeout_ms, resend_ms, .. } => {
                let positive = "a positive number of milliseconds".to_string();
                let beat = self.millis(&path("heartbeat_ms"), heartbeat_ms);
                if beat == Some(0) {
                    self.error(&path("heartbeat_ms"), "heartbeats every 0 ms", positive.clone());
                }
                if let (Some(beat), Some(timeout)) = (beat, self.millis(&path("timeout_ms"), timeout_ms))
                    && timeout <= beat
                {
                    self.error(
                        &path("timeout_ms"),
                        format!("a timeout of {} ms with heartbeats every {} ms", timeout_ms.0, heartbeat_ms.0),
                        "longer than the heartbeat period, or every member is suspected".to_string(),
                    );
                }
                if self.millis(&path("resend_ms"), resend_ms) == Some(0) {
                    self.error(&path("resend_ms"), "resending after 0 ms", positive);
                }
                // A view's membership is one 64-bit word, in the protocol and in the trace.
                if n > 64 {
                    self.error(
                        &[f("nodes")],
                        format!("{n} nodes under ViewSynchronous"),
                        "at most 64: a view's members are one 64-bit word".to_string(),
                    );
                }
            }
            // Names a node and constrains the clocks: see `calls`.
            ProtocolFile::Calls { .. } => {}
            ProtocolFile::Heartbeat { every_ms, detector, .. } => {
                if self.millis(&path("every_ms"), every_ms) == Some(0) {
                    self.error(&path("every_ms"), "heartbeats every 0 ms", "a positive number of milliseconds".to_string());
                }
                let d = |field: &'static str| [f("protocol"), f("detector"), f(field)];
                match detector {
                    DetectorFile::Fixed { timeout_ms } => {
                        if self.millis(&d("timeout_ms"), timeout_ms) == Some(0) {
                            self.error(&d("timeout_ms"), "a timeout of zero", "a positive number of milliseconds".to_string());
                        }
                    }
                    DetectorFile::Phi { threshold, window, min_std_ms } => {
                        if !(0.1..=limits::MAX_PHI).contains(&threshold.0) {
                            self.error(
                                &d("threshold"),
                                format!("a phi threshold of {}", threshold.0),
                                format!("from 0.1 to {}", limits::MAX_PHI),
                            );
                        }
                        if !(1..=limits::MAX_BREAKER_CALLS).contains(&window.0) {
                            self.error(
                                &d("window"),
                                format!("a window of {} intervals", window.0),
                                format!("from 1 to {}", limits::MAX_BREAKER_CALLS),
                            );
                        }
                        self.millis(&d("min_std_ms"), min_std_ms);
                    }
                }
            }
            ProtocolFile::AtLeastOnce { ref retry, .. }
            | ProtocolFile::ReliableMulticast { ref retry, .. }
            | ProtocolFile::FifoMulticast { ref retry, .. }
            | ProtocolFile::CausalMulticast { ref retry, .. }
            | ProtocolFile::SequencerMulticast { ref retry, .. }
            | ProtocolFile::IsisMulticast { ref retry, .. }
            | ProtocolFile::AtomicMulticast { ref retry, .. } => self.retry(retry),
            ProtocolFile::ExactlyOnce { ref retry, window } => {
                self.retry(retry);
                if !(1..=limits::MAX_DEDUP_WINDOW).contains(&window.0) {
                    self.error(
                        &path("window"),
                        format!("a dedup window of {} keys", window.0),
                        format!("from 1 to {}", limits::MAX_DEDUP_WINDOW),
                    );
                }
            }
        }
    }

    /// The calls protocol: a service that exists, usable durations and counts, rates that are
    /// fractions, a schedule from time zero in increasing order, a bug only in a breaker, and no
    /// clock drift (the breaker measures on its node's clock, the check on the trace's: drift
    /// would set them apart).
    fn calls(&mut self, raw: &ScenarioFile) {
        let ProtocolFile::Calls { ref service, workers, timeout_ms, ref retry, budget, ref breaker, ref schedule, bug, .. } = raw.protocol
        else {
            return;
        };
        let p = || f("protocol");
        self.node(&[p(), f("service")], service);
        if self.millis(&[p(), f("timeout_ms")], timeout_ms) == Some(0) {
            self.error(&[p(), f("timeout_ms")], "a timeout of zero", "a positive number of milliseconds".to_string());
        }
        if let Some(w) = workers
            && !(1..=limits::MAX_BREAKER_CALLS).contains(&w.0)
        {
            self.error(&[p(), f("workers")], format!("{} workers", w.0), format!("from 1 to {}", limits::MAX_BREAKER_CALLS));
        }
        if let Some(r) = retry {
            self.retry(r);
        }
        if let Some(b) = budget {
            if retry.is_none() {
                self.error(&[p(), f("budget")], "a retry budget without retries", "a `retry` policy as well".to_string());
            }
            self.probability(&[p(), f("budget"), f("ratio")], Some(b.ratio));
            if !(1..=limits::MAX_BREAKER_CALLS).contains(&b.burst.0) {
                self.error(
                    &[p(), f("budget"), f("burst")],
                    format!("a burst of {} retries", b.burst.0),
                    format!("from 1 to {}", limits::MAX_BREAKER_CALLS),
                );
            }
        }
        if bug.is_some() && breaker.is_none() {
            self.error(&[p(), f("bug")], "a breaker bug without a breaker", "a `breaker` as well".to_string());
        }
        if let Some(breaker) = breaker {
            self.breaker(breaker);
        }
        self.schedule(schedule);
        for (i, c) in raw.clocks.iter().enumerate() {
            if c.drift_ppm.is_some_and(|d| d.0 != 0.0) {
                self.error(
                    &[f("clocks"), ix(i), f("drift_ppm")],
                    "clock drift under the calls protocol",
                    "no drift: the breaker's timing is judged on the trace's clock".to_string(),
                );
            }
        }
    }

    fn breaker(&mut self, breaker: &BreakerFile) {
        let b = |field: &'static str| [f("protocol"), f("breaker"), f(field)];
        match breaker.window {
            WindowFile::Count(n) if !(1..=limits::MAX_BREAKER_CALLS).contains(&n.0) => {
                self.error(&b("window"), format!("a window of {} calls", n.0), format!("from 1 to {}", limits::MAX_BREAKER_CALLS))
            }
            WindowFile::Time { ms } if self.millis(&b("window"), ms) == Some(0) => {
                self.error(&b("window"), "a window of zero milliseconds", "a positive number of milliseconds".to_string())
            }
            _ => {}
        }
        for (field, v) in [("min_calls", breaker.min_calls), ("half_open_calls", breaker.half_open_calls)] {
            if !(1..=limits::MAX_BREAKER_CALLS).contains(&v.0) {
                self.error(&b(field), format!("{} calls", v.0), format!("from 1 to {}", limits::MAX_BREAKER_CALLS));
            }
        }
        for (field, v) in [("failure_rate", Some(breaker.failure_rate)), ("slow_rate", breaker.slow_rate)] {
            if let Some(Number(r)) = v
                && !(r > 0.0 && r <= 1.0)
            {
                self.error(&b(field), format!("a rate of {r}"), "a fraction above 0 and at most 1".to_string());
            }
        }
        self.millis(&b("slow_ms"), breaker.slow_ms);
        if self.millis(&b("wait_ms"), breaker.wait_ms) == Some(0) {
            self.error(&b("wait_ms"), "a wait of zero in open", "a positive number of milliseconds".to_string());
        }
    }

    fn schedule(&mut self, schedule: &[PhaseFile]) {
        let p = || f("protocol");
        if schedule.is_empty() {
            self.error(&[p(), f("schedule")], "an empty schedule", "at least one phase, the first at 0 ms".to_string());
        }
        let mut last = None;
        for (i, ph) in schedule.iter().enumerate() {
            let at = self.millis(&[p(), f("schedule"), ix(i), f("at_ms")], ph.at_ms);
            match (i, at, last) {
                (0, Some(t), _) if t != 0 => self.error(
                    &[p(), f("schedule"), ix(0), f("at_ms")],
                    "the first phase starts late",
                    "0: the schedule covers the whole run".to_string(),
                ),
                (_, Some(t), Some(prev)) if t <= prev => self.error(
                    &[p(), f("schedule"), ix(i), f("at_ms")],
                    "phases out of order",
                    "a time after the previous phase's".to_string(),
                ),
                _ => {}
            }
            last = at.or(last);
            self.probability(&[p(), f("schedule"), ix(i), f("errors")], Some(ph.errors));
            let lo = self.millis(&[p(), f("schedule"), ix(i), f("latency_ms")], ph.latency_ms.0);
            let hi = self.millis(&[p(), f("schedule"), ix(i), f("latency_ms")], ph.latency_ms.1);
            if matches!((lo, hi), (Some(lo), Some(hi)) if hi < lo) {
                self.error(
                    &[p(), f("schedule"), ix(i), f("latency_ms")],
                    "the latency range is reversed",
                    "(min, max) with min <= max".to_string(),
                );
            }
        }
    }

    /// Group-communication protocols assume crash-stop: a restarted node would number its
    /// messages from zero again and the members would take them for ones already seen.
    /// Scripted restarts and swarm crashes (which restart after their downtime) are refused.
    fn crash_stop(&mut self, raw: &ScenarioFile) {
        if matches!(raw.protocol, ProtocolFile::ViewSynchronous { .. }) {
            self.views_faults(raw);
        }
        if !matches!(ProtocolSpec::from_file(&raw.protocol), ProtocolSpec::Group { .. } | ProtocolSpec::ViewSynchronous(_)) {
            return;
        }
        let expected = "crashes without restart: group-communication protocols are crash-stop".to_string();
        for (i, fl) in raw.faults.iter().enumerate() {
            if let FaultActionFile::Restart(_) = fl.action {
                self.error(&[f("faults"), ix(i), f("do")], "a restart under a group-communication protocol", expected.clone());
            }
        }
        if let Some(SwarmFile { crashes: Some((_, most)), .. }) = &raw.swarm
            && most.0 > 0
        {
            self.error(&[f("swarm"), f("crashes")], "swarm crashes restart their node, under a group-communication protocol", expected);
        }
    }

    /// `ViewSynchronous` assumes a failure detector that never suspects a live member (it has
    /// no primary-partition rule): a pause or a partition would make live members suspected,
    /// so both are refused, scripted or drawn.
    fn views_faults(&mut self, raw: &ScenarioFile) {
        let expected = "crashes only: ViewSynchronous assumes that only crashed members are ever suspected".to_string();
        for (i, fl) in raw.faults.iter().enumerate() {
            let what = match fl.action {
                FaultActionFile::Pause(_) => "a pause under ViewSynchronous",
                FaultActionFile::Partition(_) | FaultActionFile::OneWay { .. } => "a partition under ViewSynchronous",
                _ => continue,
            };
            self.error(&[f("faults"), ix(i), f("do")], what, expected.clone());
        }
        if let Some(SwarmFile { partitions: Some((_, most)), .. }) = &raw.swarm
            && most.0 > 0
        {
            self.error(&[f("swarm"), f("partitions")], "swarm partitions under ViewSynchronous", expected);
        }
    }

    /// The adversary's links name two different nodes each, and its probabilities are
    /// probabilities. It needs a protocol that exposes its wire bytes, and a forger a third node.
    /// As a node (an insider) it sits on no link, so it neither drops nor shares the stream
    /// with a link adversary; a tamperer passes messages to a third node too, and a sender of
    /// forbidden kinds needs a policy that forbids it something.
    fn adversary(&mut self, a: &AdversaryFile, protocol: &ProtocolFile, n: usize) -> AdversarySpec {
        let path = |field: &'static str| [f("adversary"), f(field)];
        if !matches!(protocol, ProtocolFile::SecureChannel { .. }) {
            self.error(
                &[f("adversary")],
                "an adversary under a protocol that does not model its wire bytes",
                "protocol: SecureChannel(..)".to_string(),
            );
        }
        let mut links = Vec::new();
        for (i, (a_name, b_name)) in a.links.iter().enumerate() {
            let a_id = self.node(&[f("adversary"), f("links"), ix(i), ix(0)], a_name);
            let b_id = self.node(&[f("adversary"), f("links"), ix(i), ix(1)], b_name);
            match (a_id, b_id) {
                (Some(x), Some(y)) if x == y => self.error(
                    &[f("adversary"), f("links"), ix(i), ix(1)],
                    "a link from a node to itself",
                    "two different nodes".to_string(),
                ),
                (Some(x), Some(y)) => links.push((x.min(y), x.max(y))),
                _ => {}
            }
        }
        links.sort();
        links.dedup();
        let node = a.node.as_ref().and_then(|name| self.node(&path("node"), name));
        if a.node.is_some() && !a.links.is_empty() {
            self.error(&path("node"), "an adversary both on links and as a node", "`links` or `node`, not both".to_string());
        }
        let drop_ppb = self.probability(&path("drop"), a.drop).unwrap_or(0);
        let tamper_ppb = self.probability(&path("tamper"), a.tamper).unwrap_or(0);
        let replay_ppb = self.probability(&path("replay"), a.replay).unwrap_or(0);
        let forge_ppb = self.probability(&path("forge"), a.forge).unwrap_or(0);
        let forbidden_ppb = self.probability(&path("forbidden"), a.forbidden).unwrap_or(0);
        if forge_ppb > 0 && n < 3 {
            self.error(&path("forge"), "a forger with fewer than three nodes has no one to impersonate", "three nodes or more".to_string());
        }
        if a.node.is_some() {
            if n < 2 {
                self.error(&path("node"), "an insider with no other member to attack", "two nodes or more".to_string());
            }
            if drop_ppb > 0 {
                self.error(&path("drop"), "an insider dropping messages: it sits on no link", "`drop` only with `links`".to_string());
            }
            if tamper_ppb > 0 && n < 3 {
                self.error(
                    &path("tamper"),
                    "an insider with fewer than three nodes has no one to pass a tampered message to",
                    "three nodes or more".to_string(),
                );
            }
        }
        if forbidden_ppb > 0 {
            let admins = match protocol {
                ProtocolFile::SecureChannel { access: Some(access), .. } => Some(&access.admin),
                _ => None,
            };
            match (&a.node, admins) {
                (None, _) => self.error(
                    &path("forbidden"),
                    "forbidden kinds from an adversary on links: only a member can send under its own name",
                    "`node`: the compromised member".to_string(),
                ),
                (Some(_), None) => self.error(
                    &path("forbidden"),
                    "forbidden kinds without an access policy: every kind is allowed",
                    "`access: (admin: [..])` in the protocol".to_string(),
                ),
                (Some(name), Some(admins)) if admins.contains(name) => self.error(
                    &path("forbidden"),
                    format!("forbidden kinds from {name}, whom the policy lets send every kind"),
                    "an insider the policy does not name in `admin`".to_string(),
                ),
                _ => {}
            }
        }
        AdversarySpec { links, node, drop_ppb, tamper_ppb, replay_ppb, forge_ppb, forbidden_ppb }
    }

    /// Each node has at most one mailbox; a capacity is positive and bounded; back-pressure
    /// needs a capacity (an unbounded mailbox never pushes back).
    fn mailboxes(&mut self, boxes: &[MailboxFile], n: usize) -> Vec<Option<MailboxSpec>> {
        if boxes.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<Option<MailboxSpec>> = vec![None; n];
        for (i, b) in boxes.iter().enumerate() {
            let path = |field: &'static str| [f("mailboxes"), ix(i), f(field)];
            let capacity = match b.capacity.map(|c| c.0) {
                Some(c) if !(1..=limits::MAX_MAILBOX).contains(&c) => {
                    self.error(&path("capacity"), format!("a capacity of {c}"), format!("from 1 to {}", limits::MAX_MAILBOX));
                    None
                }
                c => c.map(|c| c as u32),
            };
            let overflow = match b.full {
                FullFile::DropNew => Overflow::DropNew,
                FullFile::DropOldest => Overflow::DropOldest,
                FullFile::BackPressure => Overflow::BackPressure,
            };
            if b.capacity.is_none() && !matches!(b.full, FullFile::DropNew) {
                self.error(&path("full"), "a policy for when the mailbox is full, but no capacity", "a `capacity`".to_string());
            }
            let service = b.service.as_ref().and_then(|l| self.latency(&path("service"), l));
            let members: Vec<NodeId> = match &b.nodes {
                None => (0..n as u32).map(NodeId).collect(),
                Some(names) => names
                    .iter()
                    .enumerate()
                    .flat_map(|(j, name)| self.node_set(&[f("mailboxes"), ix(i), f("nodes"), ix(j)], name, true))
                    .collect(),
            };
            for node in members {
                if out[node.index()].is_some() {
                    let name = self.name_of(node);
                    self.error(
                        &path("nodes"),
                        format!("node `{name}` is given two mailboxes"),
                        "each node in at most one entry".to_string(),
                    );
                }
                out[node.index()] = Some(MailboxSpec { capacity, overflow, service: service.clone() });
            }
        }
        out
    }

    /// The checks' own parameters: the settling time of the liveness checks and the detection bound are usable durations.
    fn check_parameters(&mut self, checks: &[CheckFile]) {
        for (i, c) in checks.iter().enumerate() {
            if let CheckFile::Validity { settle_ms } | CheckFile::Agreement { settle_ms } = c {
                self.millis(&[f("checks"), ix(i), f("settle_ms")], *settle_ms);
            }
            if let CheckFile::FailureDetection { bound_ms, .. } = c {
                self.millis(&[f("checks"), ix(i), f("bound_ms")], *bound_ms);
            }
        }
    }

    /// A retransmission policy: a positive first wait, a cap no shorter, a growth factor of at
    /// least 1 (waits never shrink), a jitter fraction and a bounded number of attempts.
    fn retry(&mut self, r: &RetryFile) {
        let path = |field: &'static str| [f("protocol"), f("retry"), f(field)];
        let base = self.millis(&path("base_ms"), r.base_ms);
        if base == Some(0) {
            self.error(
                &path("base_ms"),
                "a first wait of zero would retransmit in the same instant",
                "a positive number of milliseconds".to_string(),
            );
        }
        let cap = self.millis(&path("cap_ms"), r.cap_ms);
        if matches!((base, cap), (Some(base), Some(cap)) if cap < base) {
            self.error(
                &path("cap_ms"),
                format!("the cap {} is below the first wait {}", r.cap_ms.0, r.base_ms.0),
                "at least base_ms".to_string(),
            );
        }
        if !(1.0..=limits::MAX_BACKOFF_FACTOR).contains(&r.factor.0) {
            self.error(&path("factor"), format!("a backoff factor of {}", r.factor.0), format!("from 1 to {}", limits::MAX_BACKOFF_FACTOR));
        }
        match r.jitter {
            Some(Number(j)) if !(0.0..=1.0).contains(&j) => {
                self.error(&path("jitter"), format!("a jitter of {j} times the wait"), "a fraction from 0 to 1".to_string())
            }
            _ => {}
        }
        if !(1..=limits::MAX_ATTEMPTS).contains(&r.max_attempts.0) {
            self.error(&path("max_attempts"), format!("{} attempts", r.max_attempts.0), format!("from 1 to {}", limits::MAX_ATTEMPTS));
        }
    }

    /// Replayed decisions: one per message id, latencies within the time limit.
    fn replay(&mut self, decisions: &[DecisionFile]) -> Vec<Decision> {
        let mut seen = std::collections::BTreeSet::new();
        let max_ns = (limits::MAX_MS * NANOS_PER_MS as f64) as u64;
        let mut out = Vec::new();
        for (i, d) in decisions.iter().enumerate() {
            if !seen.insert(d.msg.0) {
                self.error(
                    &[f("replay"), ix(i), f("msg")],
                    format!("message m{} is decided twice", d.msg.0),
                    "one decision per message".to_string(),
                );
            }
            let dup_latency = d.duplicate.map_or(0, |(l, _)| l.0);
            if d.latency_ns.0 > max_ns || dup_latency > max_ns {
                self.error(&[f("replay"), ix(i)], "a latency beyond the time limit", format!("at most {max_ns} ns"));
            }
            out.push(Decision {
                msg: crate::id::MsgId(d.msg.0),
                lost: d.lost,
                latency_ns: d.latency_ns.0,
                corrupted: d.corrupted,
                duplicate: d.duplicate.map(|(l, c)| (l.0, c)),
            });
        }
        out
    }

    /// Milliseconds to nanoseconds, rejecting negative, non-finite and huge values.
    fn millis(&mut self, path: &[Seg], v: Number) -> Option<u64> {
        if !v.0.is_finite() || v.0 < 0.0 || v.0 > limits::MAX_MS {
            self.error(path, format!("{} is not a usable duration", v.0), format!("milliseconds from 0 to {:e}", limits::MAX_MS));
            return None;
        }
        Some((v.0 * NANOS_PER_MS as f64).round() as u64)
    }

    fn probability(&mut self, path: &[Seg], v: Option<Number>) -> Option<u32> {
        let Some(Number(p)) = v else { return Some(0) };
        if !(0.0..=1.0).contains(&p) {
            self.error(path, format!("{p} is not a probability"), "a number from 0 to 1".to_string());
            return None;
        }
        Some((p * PPB as f64).round() as u32)
    }

    fn cluster(&mut self, nodes: &NodesFile, groups: &GroupsFile) -> Cluster {
        let count = match nodes {
            NodesFile::Count(c) => *c,
            NodesFile::Names(v) => v.len() as u64,
        };
        let names: Vec<String> = if count == 0 {
            self.error(&[f("nodes")], "a scenario needs at least one node", "a positive count or a non-empty list of names".to_string());
            Vec::new()
        } else if count > limits::MAX_NODES {
            self.error(&[f("nodes")], format!("{count} nodes is more than msgsim simulates"), format!("at most {}", limits::MAX_NODES));
            Vec::new()
        } else {
            match nodes {
                NodesFile::Count(c) => (0..*c).map(|i| format!("n{i}")).collect(),
                NodesFile::Names(v) => v.clone(),
            }
        };
        for (i, name) in names.iter().enumerate() {
            if !valid_name(name) {
                self.error(
                    &[f("nodes"), ix(i)],
                    format!("`{name}` is not a usable node name"),
                    "letters, digits, '-', '_' or '.'".to_string(),
                );
            } else if self.nodes.insert(name.clone(), NodeId(i as u32)).is_some() {
                self.error(&[f("nodes"), ix(i)], format!("node `{name}` is named twice"), "unique node names".to_string());
            }
        }
        // Group ids are in name order, so that a run does not depend on the order
        // groups are written in; `index` is the group's place in the file, for errors.
        let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, (gname, _)) in groups.0.iter().enumerate() {
            if by_name.contains_key(gname.as_str()) {
                self.error(
                    &[f("groups"), Seg::KeyOf(index)],
                    format!("group `{gname}` is defined twice"),
                    "each group name once".to_string(),
                );
            } else {
                by_name.insert(gname, index);
            }
        }
        let mut out = Vec::new();
        for (gi, (gname, index)) in by_name.into_iter().enumerate() {
            let members = &groups.0[index].1;
            let path = [f("groups"), Seg::KeyOf(index)];
            if !valid_name(gname) {
                self.error(&path, format!("`{gname}` is not a usable group name"), "letters, digits, '-', '_' or '.'".to_string());
            }
            if self.nodes.contains_key(gname) {
                self.error(&path, format!("group `{gname}` has the name of a node"), "group names distinct from node names".to_string());
            }
            if members.is_empty() {
                self.error(&path, format!("group `{gname}` has no members"), "at least one node".to_string());
            }
            let mut ids = Vec::new();
            for (mi, m) in members.iter().enumerate() {
                match self.nodes.get(m) {
                    Some(&id) if ids.contains(&id) => {
                        self.error(&[f("groups"), ix(index), ix(mi)], format!("`{m}` is listed twice in group `{gname}`"), None)
                    }
                    Some(&id) => ids.push(id),
                    None => self.unknown_node(&[f("groups"), ix(index), ix(mi)], m),
                }
            }
            ids.sort();
            self.groups.insert(gname.to_string(), GroupId(gi as u32));
            self.members.push(ids.clone());
            out.push((gname.to_string(), ids));
        }
        Cluster { names, groups: out }
    }

    fn unknown_node(&mut self, path: &[Seg], name: &str) {
        let expected = self.one_of(false, false);
        self.error(path, format!("unknown node `{name}`"), expected);
    }

    /// "one of: ..." with the first few names that would have resolved: nodes,
    /// then groups if `groups`, after `"*"` if `star`.
    fn one_of(&self, groups: bool, star: bool) -> String {
        const SHOWN: usize = 8;
        let nodes = self.nodes.keys().map(String::as_str);
        let groups = self.groups.keys().map(String::as_str).filter(|_| groups);
        let mut names: Vec<&str> = star.then_some("\"*\"").into_iter().chain(nodes).chain(groups).take(SHOWN + 1).collect();
        if names.is_empty() {
            return "a node listed in `nodes`".to_string();
        }
        let more = if names.len() > SHOWN { ", ..." } else { "" };
        names.truncate(SHOWN);
        format!("one of: {}{more}", names.join(", "))
    }

    fn node(&mut self, path: &[Seg], name: &str) -> Option<NodeId> {
        let id = self.nodes.get(name).copied();
        if id.is_none() {
            self.unknown_node(path, name);
        }
        id
    }

    /// A node or a group, or every node for `"*"` if `star`, as a set of nodes.
    fn node_set(&mut self, path: &[Seg], name: &str, star: bool) -> Vec<NodeId> {
        if star && name == "*" {
            return self.nodes.values().copied().collect();
        }
        if let Some(&g) = self.groups.get(name) {
            return self.members[g.0 as usize].clone();
        }
        match self.nodes.get(name) {
            Some(&n) => vec![n],
            None => {
                let expected = self.one_of(true, star);
                self.error(path, format!("unknown node or group `{name}`"), expected);
                Vec::new()
            }
        }
    }

    fn topology(&mut self, t: &TopologyFile, n: usize) -> Topology {
        let mut graph = petgraph::graphmap::DiGraphMap::new();
        let mut both = |a: u32, b: u32| {
            graph.add_edge(a, b, ());
            graph.add_edge(b, a, ());
        };
        let n32 = n as u32;
        match t {
            TopologyFile::FullMesh => return Topology::FullMesh,
            TopologyFile::Ring => (0..n32).for_each(|i| both(i, (i + 1) % n32.max(1))),
            TopologyFile::Line => (1..n32).for_each(|i| both(i - 1, i)),
            TopologyFile::Star(centre) => {
                if let Some(c) = self.node(&[f("topology"), ix(0)], centre) {
                    (0..n32).filter(|&i| i != c.0).for_each(|i| both(c.0, i));
                }
            }
            TopologyFile::Links(pairs) => {
                for (i, (a, b)) in pairs.iter().enumerate() {
                    let a = self.node(&[f("topology"), ix(0), ix(i), ix(0)], a);
                    let b = self.node(&[f("topology"), ix(0), ix(i), ix(1)], b);
                    match (a, b) {
                        (Some(a), Some(b)) if a == b => self.error(
                            &[f("topology"), ix(0), ix(i), ix(1)],
                            "a link from a node to itself",
                            "two different nodes".to_string(),
                        ),
                        (Some(a), Some(b)) => both(a.0, b.0),
                        _ => {}
                    }
                }
            }
        }
        Topology::Graph(graph)
    }

    fn latency(&mut self, path: &[Seg], l: &LatencyFile) -> Option<Latency> {
        let p = |name: &'static str| [path, &[f(name)]].concat();
        let spec = match *l {
            LatencyFile::Constant { ms } => LatencySpec::Constant { ns: self.millis(&p("ms"), ms)? },
            LatencyFile::Uniform { min_ms, max_ms } => {
                let (min_ns, max_ns) = (self.millis(&p("min_ms"), min_ms), self.millis(&p("max_ms"), max_ms));
                let (min_ns, max_ns) = (min_ns?, max_ns?);
                if min_ns > max_ns {
                    self.error(&p("min_ms"), format!("min_ms {} is above max_ms {}", min_ms.0, max_ms.0), "min_ms <= max_ms".to_string());
                    return None;
                }
                LatencySpec::Uniform { min_ns, max_ns }
            }
            LatencyFile::Normal { mean_ms, std_ms, min_ms, max_ms } => {
                let mean = self.millis(&p("mean_ms"), mean_ms);
                let std = self.millis(&p("std_ms"), std_ms);
                let min = min_ms.map(|m| self.millis(&p("min_ms"), m));
                let max = max_ms.map(|m| self.millis(&p("max_ms"), m));
                let (mean, std, min, max) = (mean?, std?, min.unwrap_or(Some(0))?, max.map_or(Some(None), |m| m.map(Some))?);
                if std == 0 {
                    self.error(
                        &p("std_ms"),
                        "a normal distribution needs a positive standard deviation",
                        "std_ms > 0; use Constant for a fixed latency".to_string(),
                    );
                    return None;
                }
                if let Some(max) = max.filter(|&m| m <= min) {
                    self.error(
                        &p("max_ms"),
                        format!("max_ms {} is not above min_ms {}", max as f64 / 1e6, min as f64 / 1e6),
                        "min_ms < max_ms".to_string(),
                    );
                    return None;
                }
                LatencySpec::Normal { mean_ns: mean as f64, std_ns: std as f64, min_ns: min as f64, max_ns: max.map(|m| m as f64) }
            }
            LatencyFile::Exponential { mean_ms, offset_ms } => {
                let mean = self.millis(&p("mean_ms"), mean_ms)?;
                let offset = offset_ms.map_or(Some(0), |o| self.millis(&p("offset_ms"), o))?;
                if mean == 0 {
                    self.error(&p("mean_ms"), "an exponential distribution needs a positive mean", "mean_ms > 0".to_string());
                    return None;
                }
                LatencySpec::Exponential { mean_ns: mean as f64, offset_ns: offset as f64 }
            }
            LatencyFile::Pareto { scale_ms, shape, max_ms } => {
                let scale = self.millis(&p("scale_ms"), scale_ms)?;
                let max = max_ms.map_or(Some(None), |m| self.millis(&p("max_ms"), m).map(Some))?;
                if scale == 0 {
                    self.error(&p("scale_ms"), "a Pareto distribution needs a positive scale", "scale_ms > 0".to_string());
                    return None;
                }
                if !(shape.0.is_finite() && shape.0 > 0.0 && shape.0 <= 100.0) {
                    self.error(
                        &p("shape"),
                        format!("{} is not a usable Pareto shape", shape.0),
                        "a tail index above 0 and at most 100".to_string(),
                    );
                    return None;
                }
                if let Some(max) = max.filter(|&m| m <= scale) {
                    self.error(
                        &p("max_ms"),
                        format!("max_ms {} is not above scale_ms {}", max as f64 / 1e6, scale_ms.0),
                        "max_ms > scale_ms".to_string(),
                    );
                    return None;
                }
                LatencySpec::Pareto { scale_ns: scale as f64, shape: shape.0, max_ns: max.map(|m| m as f64) }
            }
        };
        Some(Latency::new(&spec))
    }

    fn link_model(&mut self, path: &[Seg], l: &LinkFile) -> Option<LinkModel> {
        let p = |name: &'static str| [path, &[f(name)]].concat();
        let latency = self.latency(&p("latency"), &l.latency);
        let loss = self.probability(&p("loss"), l.loss);
        let duplicate = self.probability(&p("duplicate"), l.duplicate);
        let corrupt = self.probability(&p("corrupt"), l.corrupt);
        let bps = l.bandwidth_bps.map(|b| b.0);
        let bandwidth = self.bandwidth(&p("bandwidth_bps"), bps);
        let queue_limit = self.queue_limit(&p("queue_limit"), l.queue_limit.map(|q| q.0), bps);
        let mtu = self.mtu(&p("mtu_bytes"), l.mtu_bytes);
        Some(LinkModel {
            latency: latency?,
            loss_ppb: loss?,
            duplicate_ppb: duplicate?,
            corrupt_ppb: corrupt?,
            reorder: l.reorder,
            bandwidth_bps: bandwidth?,
            queue_limit: queue_limit?,
            mtu_bytes: mtu?,
        })
    }

    /// A usable MTU: at least 64 bytes, so no message is cut into millions of fragments.
    fn mtu(&mut self, path: &[Seg], mtu: Option<Whole>) -> Option<Option<u32>> {
        match mtu.map(|m| m.0) {
            None => Some(None),
            Some(m) if !(limits::MIN_MTU..=limits::MAX_SIZE_BYTES).contains(&m) => {
                self.error(path, format!("an MTU of {m} bytes"), format!("from {} to {} bytes", limits::MIN_MTU, limits::MAX_SIZE_BYTES));
                None
            }
            Some(m) => Some(Some(m as u32)),
        }
    }

    fn bandwidth(&mut self, path: &[Seg], bps: Option<u64>) -> Option<Option<u64>> {
        if bps == Some(0) {
            self.error(path, "a bandwidth of zero would never send anything", "bits per second above 0".to_string());
            return None;
        }
        Some(bps)
    }

    fn queue_limit(&mut self, path: &[Seg], limit: Option<u64>, bps: Option<u64>) -> Option<Option<u32>> {
        match limit {
            None => Some(None),
            Some(_) if bps.is_none() => {
                self.error(
                    path,
                    "a queue limit needs a bandwidth: without one nothing ever waits",
                    "bandwidth_bps alongside queue_limit".to_string(),
                );
                None
            }
            Some(q) if q == 0 || q > 1_000_000 => {
                self.error(path, format!("{q} is not a usable queue limit"), "from 1 to 1000000 messages".to_string());
                None
            }
            Some(q) => Some(Some(q as u32)),
        }
    }

    /// Overrides start from the validated network default and replace the fields they set,
    /// so a problem in an inherited field is reported once, against `network`.
    fn links(&mut self, links: &[LinkOverrideFile], default: Option<&LinkModel>) -> Vec<((NodeId, NodeId), LinkModel)> {
        let mut out = Vec::new();
        for (i, l) in links.iter().enumerate() {
            let p = |name: &'static str| [f("links"), ix(i), f(name)];
            let from = self.node(&p("from"), &l.from);
            let to = self.node(&p("to"), &l.to);
            if from.is_some() && from == to {
                self.error(&p("to"), "a link from a node to itself", "two different nodes".to_string());
            }
            let latency = l.latency.as_ref().map(|lat| self.latency(&p("latency"), lat));
            let prob = |v: &mut Self, name: &'static str, x: Option<Number>| x.map(|x| v.probability(&p(name), Some(x)));
            let loss = prob(self, "loss", l.loss);
            let duplicate = prob(self, "duplicate", l.duplicate);
            let corrupt = prob(self, "corrupt", l.corrupt);
            let bandwidth = l.bandwidth_bps.map(|b| self.bandwidth(&p("bandwidth_bps"), Some(b.0)));
            let bps = l.bandwidth_bps.map(|b| b.0).or(default.and_then(|d| d.bandwidth_bps));
            let queue = l.queue_limit.map(|q| self.queue_limit(&p("queue_limit"), Some(q.0), bps));
            let mtu = l.mtu_bytes.map(|m| self.mtu(&p("mtu_bytes"), Some(m)));
            let (Some(from), Some(to), Some(default)) = (from, to, default) else { continue };
            let mut model = default.clone();
            let mut ok = true;
            let mut set = |field: Option<Option<_>>, slot: &mut _| match field {
                Some(Some(v)) => *slot = v,
                Some(None) => ok = false,
                None => {}
            };
            set(loss, &mut model.loss_ppb);
            set(duplicate, &mut model.duplicate_ppb);
            set(corrupt, &mut model.corrupt_ppb);
            match latency {
                Some(Some(lat)) => model.latency = lat,
                Some(None) => ok = false,
                None => {}
            }
            match (bandwidth, queue) {
                (Some(None), _) | (_, Some(None)) => ok = false,
                (b, q) => {
                    if let Some(Some(b)) = b {
                        model.bandwidth_bps = b;
                    }
                    if let Some(Some(q)) = q {
                        model.queue_limit = q;
                    }
                }
            }
            if let Some(r) = l.reorder {
                model.reorder = r;
            }
            match mtu {
                Some(Some(m)) => model.mtu_bytes = m,
                Some(None) => ok = false,
                None => {}
            }
            if ok {
                if !l.one_way {
                    out.push(((to, from), model.clone()));
                }
                out.push(((from, to), model));
            }
        }
        out
    }

    fn clocks(&mut self, clocks: &[ClockFile], n: usize) -> Vec<Clock> {
        let mut out = vec![Clock::default(); n];
        let mut set = vec![false; n];
        for (i, c) in clocks.iter().enumerate() {
            let node = self.node(&[f("clocks"), ix(i), f("node")], &c.node);
            if let Some(node) = node {
                if set[node.index()] {
                    let nm = self.name_of(node);
                    self.error(
                        &[f("clocks"), ix(i), f("node")],
                        format!("a second clock for `{nm}`"),
                        "one `clocks` entry per node".to_string(),
                    );
                }
                set[node.index()] = true;
            }
            let offset_ns = match c.offset_ms {
                Some(Number(ms)) if !ms.is_finite() || ms.abs() > limits::MAX_MS => {
                    self.error(
                        &[f("clocks"), ix(i), f("offset_ms")],
                        format!("{ms} is not a usable clock offset"),
                        format!("milliseconds within +-{:e}", limits::MAX_MS),
                    );
                    0
                }
                Some(Number(ms)) => (ms * NANOS_PER_MS as f64).round() as i64,
                None => 0,
            };
            let drift_ppb = match c.drift_ppm {
                Some(Number(ppm)) if !ppm.is_finite() || ppm.abs() > limits::MAX_DRIFT_PPM => {
                    self.error(
                        &[f("clocks"), ix(i), f("drift_ppm")],
                        format!("{ppm} ppm is not a usable drift"),
                        format!("parts per million within +-{}", limits::MAX_DRIFT_PPM),
                    );
                    0
                }
                Some(Number(ppm)) => (ppm * 1_000.0).round() as i64,
                None => 0,
            };
            if let Some(node) = node {
                out[node.index()] = Clock { offset_ns, drift_ppb };
            }
        }
        out
    }

    fn faults(&mut self, faults: &[FaultFile], horizon: SimTime) -> Vec<ScheduledFault> {
        let mut out: Vec<(ScheduledFault, usize)> = Vec::new();
        for (i, fl) in faults.iter().enumerate() {
            let at_path = [f("faults"), ix(i), f("at_ms")];
            let Some(at) = self.millis(&at_path, fl.at_ms).map(SimTime) else { continue };
            if at > horizon {
                self.error(
                    &at_path,
                    format!("this fault at {} ms comes after the horizon ({} ms)", fl.at_ms.0, horizon.0 / NANOS_PER_MS),
                    "a time within the horizon".to_string(),
                );
            }
            let target = [f("faults"), ix(i), f("do"), ix(0)];
            let fault = match &fl.action {
                FaultActionFile::Crash(n) => self.node(&target, n).map(Fault::Crash),
                FaultActionFile::Restart(n) => self.node(&target, n).map(Fault::Restart),
                FaultActionFile::Pause(n) => self.node(&target, n).map(Fault::Pause),
                FaultActionFile::Resume(n) => self.node(&target, n).map(Fault::Resume),
                FaultActionFile::Heal => Some(Fault::Heal),
                FaultActionFile::Partition(sides) => {
                    if sides.is_empty() {
                        self.error(
                            &target,
                            "a partition needs at least one side",
                            "a list of sides, each a list of nodes or groups".to_string(),
                        );
                    }
                    let mut resolved = Vec::new();
                    let mut seen = BTreeMap::new();
                    for (si, side) in sides.iter().enumerate() {
                        if side.is_empty() {
                            self.error(
                                &[f("faults"), ix(i), f("do"), ix(0), ix(si)],
                                "an empty side",
                                "at least one node or group".to_string(),
                            );
                        }
                        let mut members = Vec::new();
                        for (ni, name) in side.iter().enumerate() {
                            let path = [f("faults"), ix(i), f("do"), ix(0), ix(si), ix(ni)];
                            for node in self.node_set(&path, name, false) {
                                if let Some(other) = seen.insert(node, si).filter(|&o| o != si) {
                                    let nm = self.name_of(node);
                                    self.error(
                                        &path,
                                        format!("`{nm}` is on two sides of the partition (sides {other} and {si})"),
                                        "each node on one side at most".to_string(),
                                    );
                                }
                                members.push(node);
                            }
                        }
                        resolved.push(members);
                    }
                    Some(Fault::Partition(resolved))
                }
                FaultActionFile::OneWay { from, to } => {
                    let mut set = |field: &'static str, names: &[String]| {
                        if names.is_empty() {
                            self.error(
                                &[f("faults"), ix(i), f("do"), f(field)],
                                format!("`{field}` names no node"),
                                "at least one node or group".to_string(),
                            );
                        }
                        let mut out = Vec::new();
                        for (ni, name) in names.iter().enumerate() {
                            out.extend(self.node_set(&[f("faults"), ix(i), f("do"), f(field), ix(ni)], name, false));
                        }
                        out
                    };
                    let from = set("from", from);
                    let to = set("to", to);
                    Some(Fault::OneWay { from, to })
                }
            };
            if let Some(fault) = fault {
                out.push((ScheduledFault { at, fault }, i));
            }
        }
        out.sort_by_key(|(sf, i)| (sf.at, *i));
        self.check_fault_order(&out);
        out.into_iter().map(|(sf, _)| sf).collect()
    }

    /// A scripted crash of a node that is already down (and the like) is a mistake in the script.
    fn check_fault_order(&mut self, faults: &[(ScheduledFault, usize)]) {
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        enum State {
            Up,
            Down,
            Paused,
        }
        // Sized by the largest id, not the name map: duplicate names make the map shorter.
        let count = self.nodes.values().map(|n| n.index() + 1).max().unwrap_or(0);
        let mut state = vec![State::Up; count];
        for (sf, i) in faults {
            let (node, need, then, verb) = match sf.fault {
                Fault::Crash(n) => (n, State::Up, State::Down, "crash"),
                Fault::Restart(n) => (n, State::Down, State::Up, "restart"),
                Fault::Pause(n) => (n, State::Up, State::Paused, "pause"),
                Fault::Resume(n) => (n, State::Paused, State::Up, "resume"),
                _ => continue,
            };
            let now = state[node.index()];
            if now != need {
                let nm = self.name_of(node);
                let what = match now {
                    State::Up => "running",
                    State::Down => "down",
                    State::Paused => "paused",
                };
                self.error(
                    &[f("faults"), ix(*i), f("do")],
                    format!("cannot {verb} `{nm}` at {} ms: it is {what} then", sf.at.0 as f64 / 1e6),
                    format!("a {verb} only of a node that is {:?}", need).to_lowercase(),
                );
            } else {
                state[node.index()] = then;
            }
        }
    }

    fn swarm(&mut self, s: &SwarmFile, horizon: SimTime, n: usize) -> SwarmSpec {
        let prob_range = |v: &mut Self, name: &'static str, r: Option<(Number, Number)>| -> Option<(u32, u32)> {
            let (lo, hi) = r?;
            let a = v.probability(&[f("swarm"), f(name), ix(0)], Some(lo));
            let b = v.probability(&[f("swarm"), f(name), ix(1)], Some(hi));
            let (a, b) = (a?, b?);
            if a > b {
                v.error(
                    &[f("swarm"), f(name)],
                    format!("the range {} to {} is empty", lo.0, hi.0),
                    "(low, high) with low <= high".to_string(),
                );
                return None;
            }
            Some((a, b))
        };
        let loss = prob_range(self, "loss", s.loss);
        let duplicate = prob_range(self, "duplicate", s.duplicate);
        let corrupt = prob_range(self, "corrupt", s.corrupt);
        let mut count_range = |name: &'static str, r: Option<(Whole, Whole)>| {
            let (lo, hi) = r.map_or((0, 0), |(lo, hi)| (lo.0, hi.0));
            if lo > hi || hi > limits::MAX_SWARM_FAULTS {
                self.error(
                    &[f("swarm"), f(name)],
                    format!("the range {lo} to {hi} is not usable"),
                    format!("(low, high) with low <= high <= {}", limits::MAX_SWARM_FAULTS),
                );
                return (0, 0);
            }
            (lo, hi)
        };
        let crashes = count_range("crashes", s.crashes);
        let partitions = count_range("partitions", s.partitions);
        if crashes.1 > 0 && n < 2 {
            self.error(&[f("swarm"), f("crashes")], "swarm crashes need at least two nodes", None);
        }
        let time_range = |v: &mut Self, name: &'static str, r: Option<(Number, Number)>, default: (u64, u64)| -> (u64, u64) {
            let Some((lo, hi)) = r else { return default };
            let a = v.millis(&[f("swarm"), f(name), ix(0)], lo).unwrap_or(0);
            let b = v.millis(&[f("swarm"), f(name), ix(1)], hi).unwrap_or(0);
            if a > b {
                v.error(
                    &[f("swarm"), f(name)],
                    format!("the range {} to {} ms is empty", lo.0, hi.0),
                    "(low, high) with low <= high".to_string(),
                );
            }
            (a, b)
        };
        let window = time_range(self, "window_ms", s.window_ms, (0, horizon.0));
        if window.1 > horizon.0 {
            self.error(
                &[f("swarm"), f("window_ms"), ix(1)],
                "the swarm window ends after the horizon",
                "a window within the horizon".to_string(),
            );
        }
        let downtime_ns = time_range(self, "downtime_ms", s.downtime_ms, (100 * NANOS_PER_MS, 1_000 * NANOS_PER_MS));
        SwarmSpec { loss, duplicate, corrupt, crashes, partitions, window: (SimTime(window.0), SimTime(window.1)), downtime_ns }
    }

    fn workload(&mut self, workload: &[WorkloadFile], horizon: SimTime) -> Vec<Generator> {
        let mut out = Vec::new();
        for (i, w) in workload.iter().enumerate() {
            let p = |name: &'static str| [f("workload"), ix(i), f(name)];
            let senders = self.node_set(&p("from"), &w.from, true);
            let target = match (&w.send, w.to.as_deref()) {
                (SendFile::Broadcast, None) => Some(Target::Broadcast),
                (SendFile::Broadcast, Some(_)) => {
                    self.error(
                        &p("to"),
                        "a broadcast goes to every node: `to` has no meaning here",
                        "no `to` with `send: Broadcast`".to_string(),
                    );
                    None
                }
                (_, None) => {
                    self.error(&[f("workload"), ix(i)], "missing field `to`", "a node, a group or \"*\"".to_string());
                    None
                }
                (SendFile::Unicast, Some("*")) => Some(Target::AnyOther),
                (SendFile::Unicast, Some(to)) => match (self.groups.get(to), self.nodes.get(to)) {
                    (Some(&g), _) => Some(Target::AnyOf(g)),
                    (None, Some(&n)) => Some(Target::Node(n)),
                    (None, None) => {
                        let expected = self.one_of(true, true);
                        self.error(&p("to"), format!("unknown node or group `{to}`"), expected);
                        None
                    }
                },
                (SendFile::Multicast, Some(to)) => match self.groups.get(to) {
                    Some(&g) => Some(Target::Multicast(g)),
                    None => {
                        self.error(&p("to"), format!("`{to}` is not a group"), "the name of a group to multicast to".to_string());
                        None
                    }
                },
            };
            if matches!(target, Some(Target::AnyOther)) && self.nodes.len() < 2 {
                self.error(&p("to"), "\"*\" needs another node to send to", None);
            }
            let start = w.start_ms.map_or(Some(0), |s| self.millis(&p("start_ms"), s)).map(SimTime);
            let every_ns = self.millis(&p("every_ms"), w.every_ms);
            let count = w.count.0;
            if count == 0 || count > limits::MAX_MESSAGES_PER_WORKLOAD {
                let message = if count == 0 {
                    "a count of zero sends nothing".to_string()
                } else {
                    format!("{count} messages is more than a workload entry may send")
                };
                self.error(&p("count"), message, format!("from 1 to {}", limits::MAX_MESSAGES_PER_WORKLOAD));
            }
            let size = w.size_bytes.map_or(u64::from(limits::DEFAULT_SIZE_BYTES), |s| s.0);
            if size > limits::MAX_SIZE_BYTES {
                self.error(
                    &p("size_bytes"),
                    format!("{size} bytes is larger than a message may be"),
                    format!("at most {} bytes", limits::MAX_SIZE_BYTES),
                );
            }
            if start.is_some_and(|s| s > horizon) {
                self.error(&p("start_ms"), "this workload starts after the horizon", "a start within the horizon".to_string());
            }
            if let (Some(target), Some(start), Some(every_ns)) = (target, start, every_ns) {
                for &from in &senders {
                    let only_member = |g: &GroupId| {
                        let members = &self.members[g.0 as usize];
                        // An empty group is reported where it is defined.
                        !members.is_empty() && members.iter().all(|&m| m == from)
                    };
                    let why = match &target {
                        Target::Node(n) if *n == from => Some(String::new()),
                        Target::AnyOf(g) if only_member(g) => {
                            Some(format!(": it is the only member of `{}`", w.to.as_deref().unwrap_or_default()))
                        }
                        _ => None,
                    };
                    if let Some(why) = why {
                        let nm = self.name_of(from);
                        self.error(
                            &p("to"),
                            format!("`{nm}` would send to itself{why}"),
                            "a destination other than the sender".to_string(),
                        );
                        continue;
                    }
                    out.push(Generator {
                        from,
                        target: target.clone(),
                        start,
                        every_ns,
                        count,
                        size_bytes: size.min(limits::MAX_SIZE_BYTES) as u32,
                    });
                }
            }
        }
        out
    }

    fn limits(&mut self, l: &LimitsFile) -> Limits {
        let mut positive = |name: &'static str, v: Option<Whole>, default: u64| match v.map(|v| v.0) {
            Some(0) => {
                self.error(
                    &[f("limits"), f(name)],
                    format!("`{name}` of zero would stop the run before it starts"),
                    "a positive number".to_string(),
                );
                default
            }
            Some(v) => v,
            None => default,
        };
        Limits {
            max_events: positive("max_events", l.max_events, limits::DEFAULT_MAX_EVENTS),
            max_in_flight: positive("max_in_flight", l.max_in_flight, limits::DEFAULT_MAX_IN_FLIGHT),
        }
    }

    fn name_of(&self, node: NodeId) -> String {
        self.nodes.iter().find(|(_, id)| **id == node).map_or_else(|| node.to_string(), |(n, _)| n.clone())
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_text() {
        let src = r#"Scenario(name: "t", horizon_ms: 10, nodes: 2, protocol: BestEffort())"#;
        Scenario::parse(&format!("\u{feff}{src}"), "bom").expect("accepted");
        // Columns on the first line are counted as an editor shows them, without it.
        let errors = Scenario::parse("\u{feff}Scenario(name: 1)", "bom").expect_err("a name is a string");
        assert_eq!((errors.0[0].line, errors.0[0].col), (1, 16));
    }

    #[test]
    fn group_ids_follow_names_not_file_order() {
        let src = r#"Scenario(name: "t", horizon_ms: 10, nodes: 3, protocol: BestEffort(),
            groups: {"zeta": ["n0"], "alpha": ["n1", "n2"]})"#;
        let scenario = Scenario::parse(src, "groups").expect("valid");
        let names: Vec<&str> = scenario.cluster.groups.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
    }
}

//! Scenarios: loading a RON file and validating it into a `Scenario` the simulator can run.
//!
//! Invariant: a `Scenario` is fully checked. Every bad input is rejected here,
//! with `file:line:col`, before anything runs; the simulator may assume what
//! this module guarantees (names resolve, ranges are ordered, sizes are bounded).

pub mod config;
pub mod file;
pub mod locate;
mod syntax;

pub use config::{Catalog, CheckChoice, ConfigCx, JitterShape, ProtocolChoice, RetryBudget, RetryPolicy, RoundExchange, Rounds, WaitFrom};
pub use file::FailuresExpectedOn;
pub use locate::Seg;

use crate::adversary::AdversarySpec;
use crate::clock::Clock;
use crate::dist::{Latency, LatencySpec};
use crate::id::{GroupId, NodeId};
use crate::mailbox::Overflow;
use crate::net::{Decision, LinkModel, Topology};
use crate::process::Cluster;
use crate::rng::{PPB, SimRng};
use crate::time::{NANOS_PER_MS, SimTime};
use file::*;
use ron::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Input size limits: beyond these a scenario is rejected, not run slowly.
pub mod limits {
    /// The largest scenario file, in bytes (4 MiB).
    pub const MAX_FILE_BYTES: usize = 4 << 20;
    /// The deepest nesting of brackets the parser follows, so a hostile file cannot exhaust the stack.
    pub const MAX_NESTING: usize = 64;
    /// The most nodes a scenario may have.
    pub const MAX_NODES: u64 = 100_000;
    /// The longest duration, and the largest clock offset, in milliseconds.
    pub const MAX_MS: f64 = 1e12;
    /// The most messages one workload entry may send (`count`).
    pub const MAX_MESSAGES_PER_WORKLOAD: u64 = 1_000_000_000;
    /// The largest message, in bytes (1 GiB): sizes fit a `u32` with room to add headers.
    pub const MAX_SIZE_BYTES: u64 = 1 << 30;
    /// The largest clock drift, in parts per million (±10%).
    pub const MAX_DRIFT_PPM: f64 = 100_000.0;
    /// The most crashes, and the most partitions, swarm mode may draw per run.
    pub const MAX_SWARM_FAULTS: u64 = 10_000;
    /// Drawn partitions times nodes: what swarm mode may draw (and print) before a run.
    pub const MAX_SWARM_PARTITION_MEMBERS: u64 = 1_000_000;
    /// `limits.max_events` when the scenario does not set it: ten times the largest bundled run
    /// (`gossip-100k`, 9.9 million events), and seconds of work. With 10^9, an event that
    /// leaves no trace line could run a 200-byte scenario with 1 ns periods for minutes.
    pub const DEFAULT_MAX_EVENTS: u64 = 100_000_000;
    /// `limits.max_in_flight` when the scenario does not set it.
    pub const DEFAULT_MAX_IN_FLIGHT: u64 = 10_000_000;
    /// 64 Ki fragments (a 64 MiB message over a 1 KiB MTU): three network draws each, all
    /// within one event, so a larger message would make one event cost seconds.
    pub const DEFAULT_MAX_FRAGMENTS: u64 = 1 << 16;
    /// 50 million kept trace events, about 1.6 GB: past this a trace is too large to export.
    pub const DEFAULT_MAX_TRACE_EVENTS: u64 = 50_000_000;
    /// 1 GiB for the messages in flight: a boot or fan-out that sends millions stops there.
    pub const DEFAULT_MAX_MEMORY_MB: u64 = 1024;
    /// The largest `max_memory_mb` (64 GiB): the budget is an estimate the run enforces, and one
    /// larger than the machine running it would bound nothing. 64 GiB holds what the other limits
    /// allow (the default 10 million messages in flight take about 2 GiB) and is more than a
    /// workstation has; a causal multicast over 100,000 nodes (149 GiB of vectors) stays refused.
    pub const MAX_MEMORY_MB: u64 = 64 << 10;
    /// A workload message's payload in bytes when the entry sets neither `size_bytes` nor `size`.
    pub const DEFAULT_SIZE_BYTES: u32 = 64;
    /// Transmissions of one message by a retransmitting protocol.
    pub const MAX_ATTEMPTS: u64 = 1_000;
    /// The largest retry backoff factor: more would overflow the cap at once anyway.
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
    /// Distinct continuous distributions (normal, exponential, Pareto: latencies, sizes, rates)
    /// in one scenario. Each is a 25 KB table that takes about a millisecond to build: 60,000
    /// link overrides with as many shapes held 2.9 GB and validated for over a minute. Uses
    /// of one shape share its table, and count once.
    pub const MAX_DISTRIBUTIONS: usize = 1_000;
    /// Nodes named by the scripted partitions and one-way cuts together, a group once per use
    /// (a group of 100,000 in 3,000 partitions held 1.4 GB and validated for minutes): the
    /// bound swarm mode's drawn partitions have, ten partitions of the largest cluster.
    pub const MAX_FAULT_MEMBERS: u64 = MAX_SWARM_PARTITION_MEMBERS;
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The scenario's name, as the summary shows it.
    pub name: String,
    /// Free text from the file; the run never uses it.
    pub description: Option<String>,
    /// The seed a run uses unless the command line gives one.
    pub seed: u64,
    /// When the run stops at the latest; events at exactly the horizon still happen.
    pub horizon: SimTime,
    /// The nodes' names by id, and the groups, sorted by name, with their members.
    pub cluster: Cluster,
    /// Which directed links exist.
    pub topology: Topology,
    /// The protocol every node runs, as the catalog that read the scenario decoded it.
    pub protocol: ProtocolChoice,
    /// What every link does unless `links` overrides it.
    pub network: LinkModel,
    /// Directed link overrides, in file order (a later one wins).
    pub links: Vec<((NodeId, NodeId), LinkModel)>,
    /// One per node.
    pub clocks: Vec<Clock>,
    /// Sorted by time; equal times keep file order.
    pub faults: Vec<ScheduledFault>,
    /// What swarm mode draws from the seed, if the scenario uses it.
    pub swarm: Option<SwarmSpec>,
    /// The attacker, if any; validation admits one only under a protocol that models its encoding.
    pub adversary: Option<AdversarySpec>,
    /// One per node when any node has a mailbox; empty otherwise.
    pub mailboxes: Vec<Option<MailboxSpec>>,
    /// The generators, one per sender of each workload entry, in file order (their order numbers
    /// the application messages).
    pub workload: Vec<Generator>,
    /// The checks, in the order the report gives their verdicts.
    pub checks: Vec<CheckChoice>,
    /// Names of checks in `checks` the scenario is meant to fail on some seed.
    pub expect_failures: Vec<String>,
    /// Whether those must fail on some seed or on every one.
    pub expect_failures_on: FailuresExpectedOn,
    /// The run's safety limits, defaults filled in.
    pub limits: Limits,
    /// Network decisions replayed instead of drawn, if the scenario gives them.
    pub replay: Option<Vec<Decision>>,
    /// A partition in force when a message arrives drops it, as well as one in force when it
    /// was sent.
    pub partitions_drop_in_flight: bool,
    /// Events run in this order in the asynchronous model, if the scenario gives them (an
    /// `explore --model async` counterexample): the run then follows them, not the clock.
    pub schedule: Option<Vec<crate::explore::Step>>,
}

/// A node's receive buffer (see `mailbox.rs`).
#[derive(Clone, Debug)]
pub struct MailboxSpec {
    /// `None`: unbounded.
    pub capacity: Option<u32>,
    /// What a full mailbox does.
    pub overflow: Overflow,
    /// Time to serve each message taken from the mailbox.
    pub service: Option<Latency>,
    /// Whether the end of each service is a `Served` trace event (off by default, so the
    /// traces of scenarios written before it existed keep their hashes).
    pub trace_served: bool,
}

/// A fault of the script (or one swarm mode drew), at the true time it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    /// When, in true simulated time.
    pub at: SimTime,
    /// What happens.
    pub fault: Fault,
}

/// A fault, its names resolved to node ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Discard the node's process, state and timers.
    Crash(NodeId),
    /// Start a fresh process on a node that is down.
    Restart(NodeId),
    /// Hold everything for the node while it keeps its state.
    Pause(NodeId),
    /// Handle what was held for the node, in arrival order.
    Resume(NodeId),
    /// A symmetric cut: no message crosses between sides, and nodes on no side form one more side.
    Partition(Vec<Vec<NodeId>>),
    /// Block messages from any node of `from` to any node of `to` only.
    OneWay {
        /// The senders whose messages are blocked.
        from: Vec<NodeId>,
        /// The receivers they may no longer reach.
        to: Vec<NodeId>,
    },
    /// Remove every cut in force.
    Heal,
}

/// Ranges that the seed draws from in swarm mode (probabilities in ppb).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmSpec {
    /// Range of the run's loss probability, in parts per billion; `None`: not drawn.
    pub loss: Option<(u32, u32)>,
    /// Range of the run's duplication probability, in parts per billion; `None`: not drawn.
    pub duplicate: Option<(u32, u32)>,
    /// Range of the run's corruption probability, in parts per billion; `None`: not drawn.
    pub corrupt: Option<(u32, u32)>,
    /// How many crashes to draw, both ends included.
    pub crashes: (u64, u64),
    /// How many partitions to draw, both ends included.
    pub partitions: (u64, u64),
    /// When drawn faults may start.
    pub window: (SimTime, SimTime),
    /// How long a drawn crash or partition lasts, in ns.
    pub downtime_ns: (u64, u64),
}

/// One sender's share of a workload entry: at most `count` messages, sent when `arrivals` says.
#[derive(Clone, Debug)]
pub struct Generator {
    /// The sender.
    pub from: NodeId,
    /// Where each message goes.
    pub target: Target,
    /// When the generator may first send.
    pub start: SimTime,
    /// When it sends.
    pub arrivals: Arrivals,
    /// The most messages it sends (`limits::MAX_MESSAGES_PER_WORKLOAD` when the entry gives no
    /// count: in effect, until the horizon).
    pub count: u64,
    /// How large its messages are.
    pub size: Sizes,
}

/// Milliseconds as the scenario format reads them, exact to the nanosecond.
pub fn exact_ms(ns: u64) -> String {
    match ns % NANOS_PER_MS {
        0 => format!("{}", ns / NANOS_PER_MS),
        frac => format!("{}.{:06}", ns / NANOS_PER_MS, frac).trim_end_matches('0').to_string(),
    }
}

/// When a generator sends.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// Exactly this many ns apart, the first at the start (the original schedule).
    Every(u64),
    /// Gaps drawn from the workload's stream: from each phase's start (the first phase
    /// may begin after the generator's start) its distribution gives the gaps, `None`
    /// keeps it silent. A gap that would cross into the next phase is discarded and
    /// drawing starts again at that phase's start, which is exact for exponential gaps
    /// (they are memoryless), the only kind phases are built from.
    Drawn {
        /// From each phase's start until the next, the gap distribution (`None`: silent);
        /// shared by the generators of one workload entry (one per sender).
        phases: Arc<[(SimTime, Option<Latency>)]>,
        /// The scenario fields this came from, as RON (for writing the scenario back).
        written: Arc<str>,
    },
}

impl Arrivals {
    /// When the first send happens: at the start, or a drawn gap after it.
    pub fn first(&self, start: SimTime, rng: &mut SimRng) -> Option<SimTime> {
        match self {
            Arrivals::Every(_) => Some(start),
            Arrivals::Drawn { phases, .. } => next_drawn(phases, start, rng),
        }
    }

    /// When send `k + 1` happens, send `k` having happened `now`; `None`: never.
    pub fn after(&self, start: SimTime, k: u64, now: SimTime, rng: &mut SimRng) -> Option<SimTime> {
        match self {
            Arrivals::Every(ns) => Some(start.saturating_add(ns.saturating_mul(k + 1))),
            Arrivals::Drawn { phases, .. } => next_drawn(phases, now, rng),
        }
    }
}

/// The first drawn send after `from`: a gap from the phase in force, or, if that gap would
/// reach the next phase, a fresh one from that phase's start. At most one draw per phase.
fn next_drawn(phases: &[(SimTime, Option<Latency>)], from: SimTime, rng: &mut SimRng) -> Option<SimTime> {
    let (mut i, mut t) = match phases.iter().rposition(|&(at, _)| at <= from) {
        Some(i) => (i, from),
        None => (0, phases.first()?.0),
    };
    loop {
        let next_phase = phases.get(i + 1).map(|&(at, _)| at);
        let candidate = phases[i].1.as_ref().map(|d| t.saturating_add(d.sample(rng)));
        match (candidate, next_phase) {
            (Some(c), Some(n)) if c < n => return Some(c),
            (Some(c), None) => return Some(c),
            (_, Some(n)) => (i, t) = (i + 1, n),
            (None, None) => return None,
        }
    }
}

impl Sizes {
    /// The next message's size; a drawn size takes one draw from `rng`.
    pub fn next(&self, rng: &mut SimRng) -> u32 {
        match self {
            Sizes::Fixed(b) => *b,
            Sizes::Drawn { dist, .. } => dist.sample(rng).min(limits::MAX_SIZE_BYTES) as u32,
        }
    }
}

/// How large a generator's messages are.
#[derive(Clone, Debug)]
pub enum Sizes {
    /// Every message this many payload bytes.
    Fixed(u32),
    /// Drawn per message from the workload's stream, capped at `limits::MAX_SIZE_BYTES`.
    Drawn {
        /// The size distribution, sampled in bytes.
        dist: Latency,
        /// The scenario field this came from, as RON; shared like `Arrivals::Drawn`'s.
        written: Arc<str>,
    },
}

impl Generator {
    /// The workload entry's field that says when it sends, as RON (`every_ms: 10`), so that
    /// a changed scenario can be written back.
    pub fn arrivals_ron(&self) -> String {
        match &self.arrivals {
            Arrivals::Every(ns) => format!("every_ms: {}", exact_ms(*ns)),
            Arrivals::Drawn { written, .. } => written.to_string(),
        }
    }

    /// The workload entry's field that says how large its messages are, as RON.
    pub fn size_ron(&self) -> String {
        match &self.size {
            Sizes::Fixed(b) => format!("size_bytes: {b}"),
            Sizes::Drawn { written, .. } => written.to_string(),
        }
    }
}

/// Where a generator's messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Unicast to this node.
    Node(NodeId),
    /// Unicast to one member of the group other than the sender, drawn per message.
    AnyOf(GroupId),
    /// Unicast to any other node, drawn per message.
    AnyOther,
    /// To every member of the group but the sender.
    Multicast(GroupId),
    /// To every node but the sender.
    Broadcast,
}

/// The safety limits a run stops at (the scenario's, or the defaults in [`limits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Scheduler events.
    pub max_events: u64,
    /// Messages on the wire at once, checked at every transmission.
    pub max_in_flight: u64,
    /// Fragments one message may travel as (each costs network draws within one event).
    pub max_fragments: u64,
    /// Trace events in the run (kept when the trace is recorded: `msgsim trace`, `run --trace`).
    pub max_trace_events: u64,
    /// Memory the messages in flight may take, estimated per message from its in-memory size.
    pub max_memory_mb: u64,
}

/// One problem with a scenario, at a place in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file as named to the loader (a path, or a label such as `inline`).
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// What would be right there, when the validator can say.
    pub expected: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", one_line(&self.file), self.line, self.col, one_line(&self.message))?;
        if let Some(e) = &self.expected {
            write!(f, " (expected {})", one_line(e))?;
        }
        Ok(())
    }
}

/// Messages quote names from the file as written; escaping control characters
/// (a `\n` in a node name) keeps each error on its own line.
fn one_line(s: &str) -> String {
    crate::report::printable(s).into_owned()
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

impl std::error::Error for ScenarioError {}

/// The RON options of the scenario format: implicit `Some`, a bounded nesting depth.
fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME).with_recursion_limit(limits::MAX_NESTING)
}

/// Read a scenario file's text: at most `MAX_FILE_BYTES` (the path may be `/dev/zero`), UTF-8,
/// with each lone carriage return (an old Mac line end) made a line feed, as the parser reads it.
pub fn read_source(path: &Path) -> Result<String, ScenarioErrors> {
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
    // The text every command keeps is the one it parses, so that a position found in it
    // later (an unused replay decision, a schedule step not enabled) is placed as the parser's
    // errors are: with lone carriage returns read as line feeds.
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()]).expect("valid up to here");
        let byte = e.as_bytes()[valid.len()];
        // Placed as an editor shows it: a byte order mark is not a column.
        let valid = lone_carriage_returns_as_newlines(valid.strip_prefix('\u{feff}').unwrap_or(valid));
        let line = 1 + valid.matches('\n').count();
        let col = 1 + valid.chars().rev().take_while(|&c| c != '\n').count();
        error_at((line, col), format!("the byte 0x{byte:02X} here is not UTF-8"), Some("a UTF-8 text file".to_string()))
    })?;
    // Most files have no lone carriage return: keep their text rather than copy it.
    Ok(match lone_carriage_returns_as_newlines(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(lines) => lines,
    })
}

/// `src` with each carriage return not followed by a line feed (the line breaks of old Mac
/// files) made a line feed, so that errors are placed on the line an editor shows, not all on
/// line 1 (the parser counts lines by line feeds). Outside strings a carriage return is
/// whitespace, so the scenario reads the same. Inside a string literal (`"..."`, `r#"..."#`,
/// `b"..."`) or a character literal it is left as written: a string's contents are never
/// changed. Such a carriage return then does not start a line for positions after it; the
/// only strings that accept one (`description`) are not where errors are found.
fn lone_carriage_returns_as_newlines(src: &str) -> std::borrow::Cow<'_, str> {
    let bytes = src.as_bytes();
    let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !(0..bytes.len()).any(lone) {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut text = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            _ if lone(i) => {
                text[i] = b'\n';
                i += 1;
            }
            // A comment may hold quotes that open nothing; its carriage returns are line ends.
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\n' && !lone(i) {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                // Block comments nest.
                let mut depth = 0usize;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if lone(i) {
                            text[i] = b'\n';
                        }
                        i += 1;
                    }
                }
            }
            // A raw string: `r`, hashes, a quote; it ends at a quote and as many hashes.
            b'r' if {
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                bytes.get(i + 1 + hashes) == Some(&b'"') && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
            } =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                i += hashes + 2;
                let close = [&b"\""[..], &vec![b'#'; hashes]].concat();
                while i < bytes.len() && !bytes[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
            }
            // A string or character literal; an escape (`\"`) does not end it.
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    // ASCII bytes replaced by ASCII bytes: still UTF-8.
    String::from_utf8(text).expect("an ASCII byte replaced by another").into()
}

impl Scenario {
    /// Parse and validate scenario text against `catalog` (the protocols and checks it may
    /// name); `file` names the text in errors. `Registry::parse` is the usual way in.
    pub fn parse_with(src: &str, file: &str, catalog: &dyn Catalog) -> Result<Scenario, ScenarioErrors> {
        // Some editors start UTF-8 files with a byte order mark; it is not part of the text.
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        let src = &*lone_carriage_returns_as_newlines(src);
        let raw: ScenarioFile = ron_options().from_str(src).map_err(|e| ScenarioErrors(vec![syntax::error(&e, src, file)]))?;
        Validator {
            src,
            locator: locate::Locator::new(src),
            file,
            errors: Vec::new(),
            nodes: NodeNames::default(),
            groups: BTreeMap::new(),
            members: Vec::new(),
            distributions: Vec::new(),
            too_many_distributions: false,
        }
        .scenario(&raw, catalog)
    }

    /// How many nodes the scenario has.
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
    /// Finds each error's position in the source, tokenising it once.
    locator: locate::Locator<'a>,
    file: &'a str,
    errors: Vec<ScenarioError>,
    nodes: NodeNames,
    groups: BTreeMap<String, GroupId>,
    /// Members of each group, by `GroupId`.
    members: Vec<Vec<NodeId>>,
    /// The continuous distributions built so far, each once (see `limits::MAX_DISTRIBUTIONS`).
    distributions: Vec<(LatencySpec, Latency)>,
    /// Whether a distribution past the limit was refused (reported once).
    too_many_distributions: bool,
}

/// Shorthand for building paths.
fn f(name: &'static str) -> Seg {
    Seg::Field(name)
}
fn ix(i: usize) -> Seg {
    Seg::Index(i)
}

impl<'a> Validator<'a> {
    /// A number as the file wrote it at `path` (a float shows 2^64 as `1.8446744073709552e19`),
    /// or as read if the text there is not one token.
    fn shown(&self, path: &[Seg], v: Number) -> String {
        self.locator.written(path).unwrap_or_else(|| v.to_string())
    }

    fn error(&mut self, path: &[Seg], message: impl Into<String>, expected: impl Into<Option<String>>) {
        let (line, col) = self.locator.locate(path);
        self.errors.push(ScenarioError { file: self.file.to_string(), line, col, message: message.into(), expected: expected.into() });
    }

    fn scenario(mut self, raw: &ScenarioFile<'a>, catalog: &dyn Catalog) -> Result<Scenario, ScenarioErrors> {
        // The name is printed as it is, in every summary and export: a control character (an
        // escape sequence, a new line) or a direction override would rewrite what a terminal shows.
        if let Some(c) = raw.name.chars().find(|&c| unprintable(c)) {
            self.error(
                &[f("name")],
                format!(
                    "the name holds the {} U+{:04X}",
                    if c.is_control() { "control character" } else { "invisible character" },
                    c as u32
                ),
                "a name of printable characters".to_string(),
            );
        }
        let horizon = self.millis(&[f("horizon_ms")], raw.horizon_ms).map(SimTime);
        if horizon == Some(SimTime::ZERO) {
            self.error(&[f("horizon_ms")], "the horizon is zero: nothing would run", "a positive number of milliseconds".to_string());
        }
        let horizon = horizon.unwrap_or(SimTime::ZERO);
        let cluster = self.cluster(&raw.nodes, &raw.groups);
        let n = cluster.len();
        let topology = self.topology(&raw.topology, n);
        let protocol = self.protocol(raw, &cluster, catalog);
        let network = self.link_model(&[f("network")], &raw.network);
        let links = self.links(&raw.links, network.as_ref());
        let clocks = self.clocks(&raw.clocks, n);
        let faults = self.faults(&raw.faults, horizon);
        let swarm = raw.swarm.as_ref().map(|s| self.swarm(s, horizon, n));
        let adversary = raw.adversary.as_ref().map(|a| self.adversary(a, protocol.as_ref(), n));
        let mailboxes = self.mailboxes(&raw.mailboxes, n);
        let memory_mb = raw.limits.max_memory_mb.map_or(limits::DEFAULT_MAX_MEMORY_MB, |m| m.0).min(limits::MAX_MEMORY_MB);
        let workload = self.workload(&raw.workload, horizon, memory_mb);
        let checks = self.checks(raw, &cluster, protocol.as_ref(), catalog);
        let expect_failures = self.expected_failures(&raw.expect_failures, &checks);
        if raw.expect_failures_on == FailuresExpectedOn::EverySeed && raw.expect_failures.is_empty() {
            // Declaring how often nothing fails judges nothing: most likely `expect_failures`
            // was forgotten, and every seed would pass for a caught bug.
            self.error(
                &[f("expect_failures_on")],
                "`expect_failures_on: EverySeed` declares no failure: `expect_failures` is empty".to_string(),
                "the checks that fail on every seed in `expect_failures`, or no `expect_failures_on`".to_string(),
            );
        }
        let limits = self.limits(&raw.limits);
        let replay = raw.replay.as_deref().map(|r| self.replay(r));
        let schedule = raw.schedule.as_deref().map(|s| self.schedule(s));
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| (e.line, e.col));
            self.errors.dedup();
            return Err(ScenarioErrors(self.errors));
        }
        let scenario = Scenario {
            name: raw.name.clone(),
            description: raw.description.clone(),
            seed: raw.seed.0,
            horizon,
            cluster,
            topology,
            protocol: protocol.expect("no errors, so the protocol decoded"),
            network: network.expect("no errors, so the network validated"),
            links,
            clocks,
            faults,
            swarm,
            adversary,
            mailboxes,
            workload,
            checks,
            expect_failures,
            expect_failures_on: raw.expect_failures_on,
            limits,
            replay,
            partitions_drop_in_flight: raw.partitions_drop_in_flight,
            schedule,
        };
        // A schedule is run by the asynchronous model, so it needs a scenario that model runs.
        if scenario.schedule.is_some()
            && let Some(why) = crate::explore::asynchronous::refuse(&scenario)
        {
            self.error(
                &[f("schedule")],
                format!("a schedule cannot run {why}"),
                "no `schedule`, or a scenario the asynchronous model runs".to_string(),
            );
            return Err(ScenarioErrors(self.errors));
        }
        Ok(scenario)
    }

    /// Each expected failure names one of the scenario's own checks, once, written bare as
    /// `checks` writes it (`NoLoss`: not `"NoLoss"`, `r#NoLoss` or `NoLoss()`); the names.
    fn expected_failures(&mut self, expected: &[&RawValue], checks: &[CheckChoice]) -> Vec<String> {
        let names: Vec<&str> = checks.iter().map(CheckChoice::name).collect();
        let listed = match names.is_empty() {
            true => "no expected failures: the scenario has no checks".to_string(),
            false => format!("one of the scenario's checks: {}", names.join(", ")),
        };
        let mut found: Vec<String> = Vec::new();
        for (i, raw) in expected.iter().enumerate() {
            let path = [f("expect_failures"), ix(i)];
            let text = raw.get_ron();
            let token = config::first_token(text);
            let kind = config::token_kind(&token);
            let bare = config::split_name(text).filter(|(_, rest)| kind.is_empty() && config::skip_blank(rest).is_empty());
            let Some((name, _)) = bare else {
                let message = match token.is_empty() {
                    true => "no check name here".to_string(),
                    false if kind.is_empty() && config::split_name(text).is_some() => {
                        format!("found `{token}` followed by more where a check's bare name belongs")
                    }
                    false => format!("found {kind}`{token}` where a check's name belongs"),
                };
                self.error(&path, message, format!("a check's name as `checks` writes it, {listed}"));
                continue;
            };
            if !names.contains(&name) {
                self.error(&path, format!("`{name}` is not one of this scenario's checks"), listed.clone());
            } else if found.iter().any(|e| e == name) {
                self.error(&path, format!("`{name}` is expected to fail twice"), "each check at most once".to_string());
            }
            found.push(name.to_string());
        }
        found
    }

    /// A `Name(...)` value's name and decoder, or an error at it.
    fn named<D>(
        &mut self,
        path: &[Seg],
        raw: &str,
        kind: &str,
        lookup: impl Fn(&str) -> Option<D>,
        names: Vec<&'static str>,
    ) -> Option<(D, usize)> {
        // A number (`checks: [1]`), a raw identifier (`r#1`, `r#NoLoss`, which ron reads as a
        // name) or a literal (`"NoLoss"`, `r"NoLoss"`, whose `r` would read as a name) where
        // the name belongs: say what was found and which names belong there.
        let token = config::first_token(raw);
        let found = config::token_kind(&token);
        let raw_identifier = token.starts_with("r#") && found == "the raw identifier ";
        let name = config::split_name(raw).filter(|_| found.is_empty());
        let Some((name, _)) = name else {
            if token.is_empty() {
                let what = format!("a {kind} name and its configuration, `Name(...)`");
                self.error(path, format!("no {kind} name here"), what);
            } else {
                let plainly = match (raw_identifier, found.is_empty()) {
                    (true, _) => " written without `r#`",
                    (false, false) => " written bare, without quotes",
                    (false, true) => "",
                };
                self.error(
                    path,
                    format!("found {found}`{token}` where a name belongs"),
                    format!("a {kind} name{plainly}, one of: {}", names.join(", ")),
                );
            }
            return None;
        };
        match lookup(name) {
            Some(decode) => Some((decode, name.len())),
            None => {
                let (message, expected) = config::unknown(kind, name, &names);
                self.error(path, message, expected);
                None
            }
        }
    }

    /// The protocol: its name looked up in the catalog, its configuration decoded and validated by its own type.
    fn protocol(&mut self, raw: &ScenarioFile<'a>, cluster: &Cluster, catalog: &dyn Catalog) -> Option<ProtocolChoice> {
        let text = raw.protocol.get_ron();
        let (decode, len) = self.named(&[f("protocol")], text, "protocol", |n| catalog.protocol(n), catalog.protocol_names())?;
        let name_at = offset_in(self.src, config::skip_blank(text));
        let body = &self.src[name_at + len..offset_in(self.src, text) + text.len()];
        let src: &'a str = self.src;
        let name = &src[name_at..name_at + len];
        let errors_before = self.errors.len();
        let mut cx =
            ConfigCx { v: self, file: raw, cluster, protocol: None, prefix: vec![f("protocol")], body, name, name_at, errors_before };
        let choice = decode(&mut cx);
        if cx.failed() { None } else { choice }
    }

    /// Each check: its name looked up in the catalog, its configuration decoded and validated by its own type.
    fn checks(
        &mut self,
        raw: &ScenarioFile<'a>,
        cluster: &Cluster,
        protocol: Option<&ProtocolChoice>,
        catalog: &dyn Catalog,
    ) -> Vec<CheckChoice> {
        let mut out = Vec::new();
        for (i, value) in raw.checks.iter().enumerate() {
            let text = value.get_ron();
            let Some((decode, len)) = self.named(&[f("checks"), ix(i)], text, "check", |n| catalog.check(n), catalog.check_names()) else {
                continue;
            };
            let name_at = offset_in(self.src, config::skip_blank(text));
            let body = &self.src[name_at + len..offset_in(self.src, text) + text.len()];
            let src: &'a str = self.src;
            let name = &src[name_at..name_at + len];
            let errors_before = self.errors.len();
            let prefix = vec![f("checks"), ix(i)];
            let mut cx = ConfigCx { v: self, file: raw, cluster, protocol, prefix, body, name, name_at, errors_before };
            if let Some(check) = decode(&mut cx) {
                if out.iter().any(|c: &CheckChoice| c.name() == check.name()) {
                    self.error(
                        &[f("checks"), ix(i)],
                        format!("check `{}` is asked for twice", check.name()),
                        "each check once".to_string(),
                    );
                }
                out.push(check);
            }
        }
        out
    }

    /// The adversary's links name two different nodes each, and its probabilities are
    /// probabilities. It needs a protocol that exposes its wire bytes, and a forger a third node.
    /// As a node (an insider) it sits on no link, so it neither drops nor shares the stream
    /// with a link adversary; a tamperer passes messages to a third node too, and a sender of
    /// forbidden kinds needs a policy that forbids it something.
    fn adversary(&mut self, a: &AdversaryFile, protocol: Option<&ProtocolChoice>, n: usize) -> AdversarySpec {
        let path = |field: &'static str| [f("adversary"), f(field)];
        if protocol.is_some_and(|p| !p.models_wire_bytes()) {
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
        // Whether a policy forbids the insider anything is the protocol's to judge (it owns the policy).
        if forbidden_ppb > 0 && a.node.is_none() {
            self.error(
                &path("forbidden"),
                "forbidden kinds from an adversary on links: only a member can send under its own name",
                "`node`: the compromised member".to_string(),
            );
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
            if b.trace_served && b.service.is_none() {
                self.error(
                    &path("trace_served"),
                    "no service time, so no end of service to record",
                    "a `service` distribution".to_string(),
                );
            }
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
                out[node.index()] = Some(MailboxSpec { capacity, overflow, service: service.clone(), trace_served: b.trace_served });
            }
        }
        out
    }

    /// A schedule's steps, their nodes named by the scenario (whether each is enabled in its
    /// turn is for the run to find).
    fn schedule(&mut self, steps: &[file::StepFile]) -> Vec<crate::explore::Step> {
        use crate::explore::Step;
        use file::StepFile as S;
        let mut out = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let step = match s {
                S::Command(a) => Step::Command(crate::id::AppId(a.0)),
                S::Deliver(m) => Step::Deliver(crate::id::MsgId(m.0)),
                S::Lose(m) => Step::Lose(crate::id::MsgId(m.0)),
                S::Duplicate(m) => Step::Duplicate(crate::id::MsgId(m.0)),
                S::Corrupt(m) => Step::Corrupt(crate::id::MsgId(m.0)),
                S::Timer(t) => Step::Timer(crate::id::TimerId(t.0)),
                S::Crash(n) => match self.node(&[f("schedule"), ix(i)], n) {
                    Some(n) => Step::Crash(n),
                    None => continue,
                },
                S::Restart(n) => match self.node(&[f("schedule"), ix(i)], n) {
                    Some(n) => Step::Restart(n),
                    None => continue,
                },
                S::Partition(k) => Step::Partition(u32::try_from(k.0).unwrap_or(u32::MAX)),
                S::Heal(k) => Step::Heal(u32::try_from(k.0).unwrap_or(u32::MAX)),
            };
            out.push(step);
        }
        out
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
            if d.service_ns.is_some_and(|s| s.0 > max_ns) {
                self.error(&[f("replay"), ix(i), f("service_ns")], "a service time beyond the time limit", format!("at most {max_ns} ns"));
            }
            out.push(Decision {
                msg: crate::id::MsgId(d.msg.0),
                lost: d.lost,
                latency_ns: d.latency_ns.0,
                corrupted: d.corrupted,
                duplicate: d.duplicate.map(|(l, c)| (l.0, c)),
                service_ns: d.service_ns.map(|s| s.0),
            });
        }
        out
    }

    /// A Pareto tail index usable for a latency or a size: finite, above 0, at most 100.
    fn pareto_shape(&mut self, path: &[Seg], shape: Number) -> bool {
        let usable = shape.0.is_finite() && shape.0 > 0.0 && shape.0 <= 100.0;
        if !usable {
            let shown = self.shown(path, shape);
            self.error(path, format!("{shown} is not a usable Pareto shape"), "a tail index above 0 and at most 100".to_string());
        }
        usable
    }

    /// Milliseconds to nanoseconds, rejecting negative, non-finite and huge values.
    fn millis(&mut self, path: &[Seg], v: Number) -> Option<u64> {
        if !v.0.is_finite() || v.0 < 0.0 || v.0 > limits::MAX_MS {
            let shown = self.shown(path, v);
            self.error(path, format!("{shown} is not a usable duration"), format!("milliseconds from 0 to {:e}", limits::MAX_MS));
            return None;
        }
        Some((v.0 * NANOS_PER_MS as f64).round() as u64)
    }

    fn probability(&mut self, path: &[Seg], v: Option<Number>) -> Option<u32> {
        let Some(Number(p)) = v else { return Some(0) };
        if !(0.0..=1.0).contains(&p) {
            let shown = self.shown(path, Number(p));
            self.error(path, format!("{shown} is not a probability"), "a number from 0 to 1".to_string());
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
                NodesFile::Count(c) => (0..*c).map(numbered_node).collect(),
                NodesFile::Names(v) => v.clone(),
            }
        };
        let mut usable = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if valid_name(name) {
                usable.push((name.clone(), NodeId(i as u32)));
            } else {
                self.error(
                    &[f("nodes"), ix(i)],
                    format!("`{name}` is not a usable node name"),
                    "letters, digits, '-', '_' or '.'".to_string(),
                );
            }
        }
        // Stable, so a name given twice is met in file order: each later one is the mistake,
        // and the name keeps the last id, as when the names were inserted into a map in turn.
        usable.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, id) in usable {
            match self.nodes.0.last_mut() {
                Some((last, kept)) if *last == name => {
                    *kept = id;
                    let i = id.index();
                    self.error(&[f("nodes"), ix(i)], format!("node `{name}` is named twice"), "unique node names".to_string());
                }
                _ => self.nodes.0.push((name, id)),
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
            // A set, not `ids.contains`: a group of 100,000 members took 80 s to check.
            let mut seen = std::collections::BTreeSet::new();
            for (mi, m) in members.iter().enumerate() {
                match self.nodes.get(m) {
                    Some(&id) if !seen.insert(id) => {
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
            TopologyFile::Grid { columns } => {
                let Some(c) = self.topology_width(columns.0, n, "columns") else { return Topology::FullMesh };
                for i in 0..n32 {
                    if (i + 1) % c != 0 && i + 1 < n32 {
                        both(i, i + 1);
                    }
                    if i + c < n32 {
                        both(i, i + c);
                    }
                }
            }
            TopologyFile::Tree { fanout } => {
                let Some(k) = self.topology_width(fanout.0, n, "fanout") else { return Topology::FullMesh };
                (1..n32).for_each(|i| both((i - 1) / k, i));
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

    /// A grid's columns or a tree's fan-out: from 1 to the number of nodes (at least 1).
    fn topology_width(&mut self, v: u64, n: usize, name: &'static str) -> Option<u32> {
        let max = n.max(1) as u64;
        if (1..=max).contains(&v) {
            return Some(v as u32);
        }
        self.error(&[f("topology"), f(name)], format!("{name} {v} for {n} nodes"), format!("from 1 to {max}"));
        None
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
                if !self.pareto_shape(&p("shape"), shape) {
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
        self.distribution(path, spec)
    }

    /// `spec` ready to sample. A continuous shape's table is built once per distinct shape (its
    /// later uses share it), and past `limits::MAX_DISTRIBUTIONS` shapes the scenario is refused
    /// at the first one over, before its table is built.
    fn distribution(&mut self, path: &[Seg], spec: LatencySpec) -> Option<Latency> {
        if matches!(spec, LatencySpec::Constant { .. } | LatencySpec::Uniform { .. }) {
            return Some(Latency::new(&spec));
        }
        if let Some((_, built)) = self.distributions.iter().find(|(s, _)| *s == spec) {
            return Some(built.clone());
        }
        if self.distributions.len() >= limits::MAX_DISTRIBUTIONS {
            // Reported once, at the first over: the ones after it would only repeat it.
            if !std::mem::replace(&mut self.too_many_distributions, true) {
                self.error(
                    path,
                    format!("more than {} different normal, exponential or Pareto distributions", limits::MAX_DISTRIBUTIONS),
                    format!("at most {} different shapes (uses of one shape count once)", limits::MAX_DISTRIBUTIONS),
                );
            }
            return None;
        }
        let built = Latency::new(&spec);
        self.distributions.push((spec, built.clone()));
        Some(built)
    }

    fn link_model(&mut self, path: &[Seg], l: &LinkFile) -> Option<LinkModel> {
        let p = |name: &'static str| [path, &[f(name)]].concat();
        let latency = self.latency(&p("latency"), &l.latency);
        let loss = self.probability(&p("loss"), l.loss);
        let duplicate = self.probability(&p("duplicate"), l.duplicate);
        let corrupt = self.probability(&p("corrupt"), l.corrupt);
        let bps = l.bandwidth_bps.map(|b| b.0);
        let bandwidth = self.bandwidth(&p("bandwidth_bps"), bps);
        let service = l.service.as_ref().map_or(Some(None), |s| self.service(&p("service"), s, bps.is_some()).map(Some));
        let queue_limit = self.queue_limit(&p("queue_limit"), l.queue_limit.map(|q| q.0), bps.is_some() || l.service.is_some());
        let mtu = self.mtu(&p("mtu_bytes"), l.mtu_bytes);
        Some(LinkModel {
            latency: latency?,
            loss_ppb: loss?,
            duplicate_ppb: duplicate?,
            corrupt_ppb: corrupt?,
            reorder: l.reorder,
            bandwidth_bps: bandwidth?,
            service: service?,
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

    /// A link's service-time distribution: not always zero (a server that takes no time is no
    /// server), and not in the same entry as a bandwidth (a link serves one way or the other).
    fn service(&mut self, path: &[Seg], service: &LatencyFile, with_bandwidth: bool) -> Option<Latency> {
        if with_bandwidth {
            self.error(
                path,
                "both a bandwidth and a service time: a link serves its queue one way",
                "either `bandwidth_bps` (size over rate) or `service` (a drawn time), not both".to_string(),
            );
            return None;
        }
        let dist = self.latency(path, service)?;
        if dist.max_ns() == 0 {
            self.error(path, "a service time that is always zero", "a distribution with times above 0 ms, or no `service`".to_string());
            return None;
        }
        Some(dist)
    }

    /// A queue limit, on a link that has a queue (`served`: a bandwidth or a service time).
    fn queue_limit(&mut self, path: &[Seg], limit: Option<u64>, served: bool) -> Option<Option<u32>> {
        match limit {
            None => Some(None),
            Some(_) if !served => {
                self.error(
                    path,
                    "a queue limit needs a bandwidth or a service time: without one nothing ever waits",
                    "bandwidth_bps or service alongside queue_limit".to_string(),
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
            let service = l.service.as_ref().map(|s| self.service(&p("service"), s, l.bandwidth_bps.is_some()));
            let served = l.bandwidth_bps.is_some()
                || l.service.is_some()
                || default.is_some_and(|d| d.bandwidth_bps.is_some() || d.service.is_some());
            let queue = l.queue_limit.map(|q| self.queue_limit(&p("queue_limit"), Some(q.0), served));
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
                    // A bandwidth or a service time replaces whichever way the default served.
                    if let Some(Some(b)) = b {
                        model.bandwidth_bps = b;
                        model.service = None;
                    }
                    if let Some(Some(q)) = q {
                        model.queue_limit = q;
                    }
                }
            }
            match service {
                Some(Some(dist)) => {
                    model.service = Some(dist);
                    model.bandwidth_bps = None;
                }
                Some(None) => ok = false,
                None => {}
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
                        format!("{} is not a usable clock offset", self.shown(&[f("clocks"), ix(i), f("offset_ms")], Number(ms))),
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
                        format!("{} ppm is not a usable drift", self.shown(&[f("clocks"), ix(i), f("drift_ppm")], Number(ppm))),
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
        // Nodes the partitions and cuts name so far (see `limits::MAX_FAULT_MEMBERS`).
        let mut named = 0u64;
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
                            let nodes = self.node_set(&path, name, false);
                            if !self.fault_members_fit(&path, &mut named, nodes.len()) {
                                break;
                            }
                            for node in nodes {
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
                    let named = &mut named;
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
                            let path = [f("faults"), ix(i), f("do"), f(field), ix(ni)];
                            let nodes = self.node_set(&path, name, false);
                            if !self.fault_members_fit(&path, named, nodes.len()) {
                                break;
                            }
                            out.extend(nodes);
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

    /// Whether `more` members named at `path` keep the scripted faults within
    /// `limits::MAX_FAULT_MEMBERS` (counted in `named`); the first name past it is refused,
    /// and every one after it is left unresolved without another error.
    fn fault_members_fit(&mut self, path: &[Seg], named: &mut u64, more: usize) -> bool {
        let before = *named;
        *named = named.saturating_add(more as u64);
        if *named <= limits::MAX_FAULT_MEMBERS {
            return true;
        }
        if before <= limits::MAX_FAULT_MEMBERS {
            self.error(
                path,
                format!("the partitions and one-way cuts name {} nodes by here, counting a group once per use", *named),
                format!("at most {} in all", limits::MAX_FAULT_MEMBERS),
            );
        }
        false
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
        // Each drawn partition lists up to every node (and the summary prints their names),
        // so what swarm mode draws before the run is bounded here, not by the run's limits.
        if partitions.1.saturating_mul(n as u64) > limits::MAX_SWARM_PARTITION_MEMBERS {
            self.error(
                &[f("swarm"), f("partitions")],
                format!(
                    "up to {} partitions of {n} nodes would draw more than {} partition members",
                    partitions.1,
                    limits::MAX_SWARM_PARTITION_MEMBERS
                ),
                format!("at most {} partitions for {n} nodes", limits::MAX_SWARM_PARTITION_MEMBERS / (n as u64).max(1)),
            );
        }
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

    /// The workload's generators, one per sender of each entry, refused once they would hold
    /// more than `memory_mb` (2,000 entries each from every one of 100,000 nodes are 200 million
    /// generators: validation ran out of memory).
    fn workload(&mut self, workload: &[WorkloadFile], horizon: SimTime, memory_mb: u64) -> Vec<Generator> {
        // Each generator, and its next send waiting in the event queue (a slot and an entry, a
        // few words for the bundled protocols); what an entry's generators share is counted
        // where it is built (`limits::MAX_DISTRIBUTIONS`).
        const GENERATOR_BYTES: u64 = std::mem::size_of::<Generator>() as u64 + 64;
        let budget = memory_mb.saturating_mul(1 << 20);
        let (mut held, mut over) = (0u64, false);
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
            let arrivals = self.arrivals(i, w);
            let count = w.count.map_or(limits::MAX_MESSAGES_PER_WORKLOAD, |c| c.0);
            if count == 0 || count > limits::MAX_MESSAGES_PER_WORKLOAD {
                let message = if count == 0 {
                    "a count of zero sends nothing".to_string()
                } else {
                    format!("{count} messages is more than a workload entry may send")
                };
                self.error(&p("count"), message, format!("from 1 to {}", limits::MAX_MESSAGES_PER_WORKLOAD));
            }
            let size = match (w.size_bytes, &w.size) {
                (Some(_), Some(_)) => {
                    self.error(&p("size"), "both `size_bytes` and `size`", "one of them".to_string());
                    None
                }
                (_, Some(d)) => self.size(&p("size"), d).map(|dist| Sizes::Drawn { dist, written: format!("size: {}", d.ron()).into() }),
                (b, None) => {
                    let size = b.map_or(u64::from(limits::DEFAULT_SIZE_BYTES), |s| s.0);
                    if size > limits::MAX_SIZE_BYTES {
                        self.error(
                            &p("size_bytes"),
                            format!("{size} bytes is larger than a message may be"),
                            format!("at most {} bytes", limits::MAX_SIZE_BYTES),
                        );
                    }
                    Some(Sizes::Fixed(size.min(limits::MAX_SIZE_BYTES) as u32))
                }
            };
            if start.is_some_and(|s| s > horizon) {
                self.error(&p("start_ms"), "this workload starts after the horizon", "a start within the horizon".to_string());
            }
            held = held.saturating_add((senders.len() as u64).saturating_mul(GENERATOR_BYTES));
            if held > budget && !std::mem::replace(&mut over, true) {
                self.error(
                    &p("from"),
                    format!(
                        "the workload's generators (one per sender of each entry) would hold about {} MiB by this entry, over max_memory_mb {memory_mb}",
                        held.div_ceil(1 << 20)
                    ),
                    "fewer senders or entries, or a larger `limits: (max_memory_mb: ..)`".to_string(),
                );
            }
            if over {
                continue;
            }
            if let (Some(target), Some(start), Some(arrivals), Some(size)) = (target, start, arrivals, size) {
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
                    out.push(Generator { from, target: target.clone(), start, arrivals: arrivals.clone(), count, size: size.clone() });
                }
            }
        }
        out
    }

    /// When workload entry `i` sends: exactly one of `every_ms`, `gap`, `rate_per_s`, `phases`.
    fn arrivals(&mut self, i: usize, w: &WorkloadFile) -> Option<Arrivals> {
        let p = |name: &'static str| [f("workload"), ix(i), f(name)];
        const ONE_OF: &str = "one of `every_ms`, `gap`, `rate_per_s` or `phases`";
        let given: Vec<&'static str> = [
            ("every_ms", w.every_ms.is_some()),
            ("gap", w.gap.is_some()),
            ("rate_per_s", w.rate_per_s.is_some()),
            ("phases", w.phases.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, is)| is.then_some(name))
        .collect();
        match given[..] {
            [] => {
                self.error(&[f("workload"), ix(i)], "missing field `every_ms`: nothing says when to send", ONE_OF.to_string());
                return None;
            }
            [_] => {}
            [_, second, ..] => {
                self.error(&p(second), format!("a second schedule, `{second}`"), ONE_OF.to_string());
                return None;
            }
        }
        let forever = w.count.is_none();
        if let Some(e) = w.every_ms {
            let every = self.millis(&p("every_ms"), e)?;
            if every == 0 && forever {
                self.error(
                    &p("every_ms"),
                    "sends 0 ms apart with no `count` would never end",
                    "a positive interval, or a `count`".to_string(),
                );
                return None;
            }
            return Some(Arrivals::Every(every));
        }
        if let Some(g) = &w.gap {
            let d = self.latency(&p("gap"), g)?;
            if d.max_ns() == 0 && forever {
                self.error(
                    &p("gap"),
                    "gaps that are all 0 with no `count` would never end",
                    "a distribution with positive gaps, or a `count`".to_string(),
                );
                return None;
            }
            return Some(Arrivals::Drawn { phases: Arc::new([(SimTime(0), Some(d))]), written: format!("gap: {}", g.ron()).into() });
        }
        if let Some(r) = w.rate_per_s {
            let d = self.rate(&p("rate_per_s"), r)?;
            if d.is_none() {
                self.error(&p("rate_per_s"), "a rate of 0 sends nothing", "a positive rate".to_string());
                return None;
            }
            return Some(Arrivals::Drawn { phases: Arc::new([(SimTime(0), d)]), written: format!("rate_per_s: {}", r.0).into() });
        }
        let list = w.phases.as_deref().unwrap_or_default();
        if list.is_empty() {
            self.error(&p("phases"), "no phases", "at least one `(at_ms: .., rate_per_s: ..)`".to_string());
            return None;
        }
        let mut phases = Vec::with_capacity(list.len());
        let mut ok = true;
        for (j, ph) in list.iter().enumerate() {
            let at = self.millis(&[f("workload"), ix(i), f("phases"), ix(j), f("at_ms")], ph.at_ms).map(SimTime);
            let rate = self.rate(&[f("workload"), ix(i), f("phases"), ix(j), f("rate_per_s")], ph.rate_per_s);
            match (at, rate) {
                (Some(at), Some(rate)) => {
                    if phases.last().is_some_and(|&(prev, _)| at <= prev) {
                        self.error(
                            &[f("workload"), ix(i), f("phases"), ix(j), f("at_ms")],
                            "phases out of order",
                            "a time after the previous phase's".to_string(),
                        );
                        ok = false;
                    }
                    phases.push((at, rate));
                }
                _ => ok = false,
            }
        }
        let written = list.iter().map(|ph| format!("(at_ms: {}, rate_per_s: {})", ph.at_ms.0, ph.rate_per_s.0)).collect::<Vec<_>>();
        ok.then(|| Arrivals::Drawn { phases: phases.into(), written: format!("phases: [{}]", written.join(", ")).into() })
    }

    /// A Poisson rate as its exponential gaps; `Some(None)` for a rate of 0 (silence).
    fn rate(&mut self, path: &[Seg], r: Number) -> Option<Option<Latency>> {
        if !(r.0.is_finite() && (0.0..=1e9).contains(&r.0)) {
            let shown = self.shown(path, r);
            self.error(path, format!("{shown} is not a usable rate"), "sends per second from 0 to 1e9".to_string());
            return None;
        }
        if r.0 == 0.0 {
            return Some(None);
        }
        self.distribution(path, LatencySpec::Exponential { mean_ns: 1e9 / r.0, offset_ns: 0.0 }).map(Some)
    }

    /// A distribution of message sizes: the latency shapes, in bytes.
    fn size(&mut self, path: &[Seg], d: &SizeFile) -> Option<Latency> {
        let p = |name: &'static str| [path, &[f(name)]].concat();
        let bytes = |this: &mut Self, name: &'static str, v: f64| -> Option<f64> {
            if v.is_finite() && (0.0..=limits::MAX_SIZE_BYTES as f64).contains(&v) {
                Some(v.round())
            } else {
                let shown = this.shown(&p(name), Number(v));
                this.error(&p(name), format!("{shown} is not a usable size"), format!("bytes from 0 to {}", limits::MAX_SIZE_BYTES));
                None
            }
        };
        let spec = match *d {
            SizeFile::Constant { bytes: b } => LatencySpec::Constant { ns: bytes(self, "bytes", b.0 as f64)? as u64 },
            SizeFile::Uniform { min_bytes, max_bytes } => {
                let (min, max) = (bytes(self, "min_bytes", min_bytes.0 as f64), bytes(self, "max_bytes", max_bytes.0 as f64));
                let (min, max) = (min? as u64, max? as u64);
                if min > max {
                    self.error(&p("min_bytes"), format!("min_bytes {min} is above max_bytes {max}"), "min_bytes <= max_bytes".to_string());
                    return None;
                }
                LatencySpec::Uniform { min_ns: min, max_ns: max }
            }
            SizeFile::Normal { mean_bytes, std_bytes, min_bytes, max_bytes } => {
                let (mean, std) = (bytes(self, "mean_bytes", mean_bytes.0), bytes(self, "std_bytes", std_bytes.0));
                let min = min_bytes.map_or(Some(0.0), |m| bytes(self, "min_bytes", m.0));
                let max = max_bytes.map(|m| bytes(self, "max_bytes", m.0));
                let (mean, std, min, max) = (mean?, std?, min?, max.map_or(Some(None), |m| m.map(Some))?);
                if std == 0.0 {
                    self.error(&p("std_bytes"), "a normal distribution needs a positive standard deviation", "std_bytes > 0".to_string());
                    return None;
                }
                if max.is_some_and(|m| m <= min) {
                    self.error(&p("max_bytes"), "max_bytes is not above min_bytes", "min_bytes < max_bytes".to_string());
                    return None;
                }
                LatencySpec::Normal { mean_ns: mean, std_ns: std, min_ns: min, max_ns: max }
            }
            SizeFile::Exponential { mean_bytes, offset_bytes } => {
                let mean = bytes(self, "mean_bytes", mean_bytes.0);
                let offset = offset_bytes.map_or(Some(0.0), |o| bytes(self, "offset_bytes", o.0));
                let (mean, offset) = (mean?, offset?);
                if mean == 0.0 {
                    self.error(&p("mean_bytes"), "an exponential distribution needs a positive mean", "mean_bytes > 0".to_string());
                    return None;
                }
                LatencySpec::Exponential { mean_ns: mean, offset_ns: offset }
            }
            SizeFile::Pareto { scale_bytes, shape, max_bytes } => {
                let scale = bytes(self, "scale_bytes", scale_bytes.0)?;
                let max = max_bytes.map_or(Some(None), |m| bytes(self, "max_bytes", m.0).map(Some))?;
                if scale == 0.0 {
                    self.error(&p("scale_bytes"), "a Pareto distribution needs a positive scale", "scale_bytes > 0".to_string());
                    return None;
                }
                if !self.pareto_shape(&p("shape"), shape) {
                    return None;
                }
                if max.is_some_and(|m| m <= scale) {
                    self.error(&p("max_bytes"), "max_bytes is not above scale_bytes", "max_bytes > scale_bytes".to_string());
                    return None;
                }
                LatencySpec::Pareto { scale_ns: scale, shape: shape.0, max_ns: max }
            }
        };
        self.distribution(path, spec)
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
        let out = Limits {
            max_events: positive("max_events", l.max_events, limits::DEFAULT_MAX_EVENTS),
            max_in_flight: positive("max_in_flight", l.max_in_flight, limits::DEFAULT_MAX_IN_FLIGHT),
            max_fragments: positive("max_fragments", l.max_fragments, limits::DEFAULT_MAX_FRAGMENTS),
            max_trace_events: positive("max_trace_events", l.max_trace_events, limits::DEFAULT_MAX_TRACE_EVENTS),
            max_memory_mb: positive("max_memory_mb", l.max_memory_mb, limits::DEFAULT_MAX_MEMORY_MB),
        };
        if out.max_memory_mb > limits::MAX_MEMORY_MB {
            self.error(
                &[f("limits"), f("max_memory_mb")],
                format!("a memory budget of {} MiB would bound nothing a machine holds", out.max_memory_mb),
                format!("at most {} (64 GiB)", limits::MAX_MEMORY_MB),
            );
        }
        out
    }

    fn name_of(&self, node: NodeId) -> String {
        self.nodes.iter().find(|(_, id)| **id == node).map_or_else(|| node.to_string(), |(n, _)| n.clone())
    }
}

/// Where `part`, a slice of `src`, starts in it (in bytes).
fn offset_in(src: &str, part: &str) -> usize {
    part.as_ptr() as usize - src.as_ptr() as usize
}

/// A control character, or an invisible one that changes what is shown around it: the
/// direction marks, embeddings, overrides and isolates (which reorder a line on a terminal),
/// the line and paragraph separators, and the invisible format characters a name could hide
/// text in (zero-width space, word joiner, byte-order mark, tags). The zero-width joiner and
/// non-joiner stay printable: scripts and emoji need them to spell what they show.
pub(crate) fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// Node names during validation, sorted by name: looked up by binary search and listed in name
/// order. Built by one stable sort of the names in id order; the names of a count (`n0`, `n1`,
/// ...) are a few long ascending runs, one per number of digits, which the sort merges in
/// linear time. A B-tree built one insertion at a time took about 1,700 instructions per name,
/// a twentieth of a 100,000-node gossip run of one value.
#[derive(Default)]
struct NodeNames(Vec<(String, NodeId)>);

impl NodeNames {
    fn get(&self, name: &str) -> Option<&NodeId> {
        let at = self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok()?;
        Some(&self.0[at].1)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Names and ids, in name order.
    fn iter(&self) -> impl Iterator<Item = (&String, &NodeId)> {
        self.0.iter().map(|(n, id)| (n, id))
    }

    fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(n, _)| n)
    }

    fn values(&self) -> impl Iterator<Item = &NodeId> {
        self.0.iter().map(|(_, id)| id)
    }
}

/// The name of node `i` of a scenario that gives a count: `n` and the number, written without
/// the formatting machinery (a `format!` per node was a quarter of validating 100,000 names).
fn numbered_node(i: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = i;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut name = String::with_capacity(1 + digits.len() - at);
    name.push('n');
    name.extend(digits[at..].iter().map(|&d| char::from(d)));
    name
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

    /// The names of a count are found by binary search in the sorted names, across the places
    /// where their sorted order and their ids part (`n10` sorts before `n2`).
    #[test]
    fn a_counts_names_resolve_across_digit_lengths() {
        assert_eq!([numbered_node(0), numbered_node(7), numbered_node(99_999)], ["n0", "n7", "n99999"]);
        let src = r#"Scenario(name: "t", horizon_ms: 10, nodes: 12, protocol: BestEffort(),
            groups: {"g": ["n11", "n2", "n10", "n0"]})"#;
        let scenario = Scenario::parse(src, "names").expect("valid");
        assert_eq!(scenario.cluster.groups[0].1, [NodeId(0), NodeId(2), NodeId(10), NodeId(11)]);
        for unknown in ["n12", "n02", "n"] {
            let src = src.replace("\"n0\"]", &format!("\"{unknown}\"]"));
            let errors = Scenario::parse(&src, "names").expect_err("no such node");
            assert!(errors.0[0].message.contains(&format!("unknown node `{unknown}`")), "{}", errors.0[0].message);
        }
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

//! The scenario file as written: RON, deserialised with serde, close to the text.
//!
//! Nothing here is validated beyond its syntax; `scenario::validate` turns a
//! `ScenarioFile` into a `Scenario` or a list of positioned errors. Field names
//! here are the scenario format; the book's scenario reference documents each.

use ron::value::RawValue;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(rename = "Scenario", deny_unknown_fields)]
pub struct ScenarioFile<'a> {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Whole,
    pub horizon_ms: Number,
    pub nodes: NodesFile,
    #[serde(default)]
    pub groups: GroupsFile,
    #[serde(default)]
    pub topology: TopologyFile,
    /// `Name(...)`: a protocol the registry knows, its configuration read by its own type.
    #[serde(borrow)]
    pub protocol: &'a RawValue,
    #[serde(default)]
    pub network: LinkFile,
    #[serde(default)]
    pub links: Vec<LinkOverrideFile>,
    #[serde(default)]
    pub clocks: Vec<ClockFile>,
    #[serde(default)]
    pub faults: Vec<FaultFile>,
    #[serde(default)]
    pub swarm: Option<SwarmFile>,
    #[serde(default)]
    pub adversary: Option<AdversaryFile>,
    #[serde(default)]
    pub mailboxes: Vec<MailboxFile>,
    #[serde(default)]
    pub workload: Vec<WorkloadFile>,
    #[serde(default)]
    #[serde(borrow)]
    pub checks: Vec<&'a RawValue>,
    /// Checks of `checks` this scenario is meant to fail on some seed (what it demonstrates),
    /// by name: `[NoLoss, AtMostOnce]`.
    #[serde(default)]
    pub expect_failures: Vec<CheckName>,
    #[serde(default)]
    pub limits: LimitsFile,
    /// Network decisions to follow instead of drawing them (what `msgsim shrink` writes).
    #[serde(default)]
    pub replay: Option<Vec<DecisionFile>>,
    /// The events to run, in order, in the asynchronous model (what `msgsim explore --model
    /// async` writes): the run follows them instead of the clock.
    #[serde(default)]
    pub schedule: Option<Vec<StepFile>>,
}

/// One event of an asynchronous run, by the ids its trace shows (see `explore::Step`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StepFile {
    Command(Whole),
    Deliver(Whole),
    Lose(Whole),
    Duplicate(Whole),
    Corrupt(Whole),
    Timer(Whole),
    Crash(String),
    Restart(String),
    Partition(Whole),
    Heal(Whole),
}

/// One transmission's random outcomes, by its message id (the `m` number in a trace).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionFile {
    pub msg: Whole,
    #[serde(default)]
    pub lost: bool,
    #[serde(default)]
    pub latency_ns: Whole,
    #[serde(default)]
    pub corrupted: bool,
    /// The duplicate's latency in ns and whether it was corrupted.
    #[serde(default)]
    pub duplicate: Option<(Whole, bool)>,
}

/// A number written as an integer or a decimal (`10`, `1_000`, `0.5`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A whole number (`u64`). Read through `deserialize_any` so that `1.5` or `-1`
/// is reported as the wrong kind of number, where ron's own `u64` parsing would
/// stop after the `1` and complain about a missing comma, or call `-1` out of bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Whole(pub u64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Whole, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number from 0 to {}", u64::MAX)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
                Ok(Whole(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
                u64::try_from(v).map(Whole).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// `groups: {"east": ["a", "b"]}`, in file order and keeping a repeated name,
/// which a map type would silently drop, so that validation can report it.
#[derive(Debug, Default)]
pub struct GroupsFile(pub Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for GroupsFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GroupsFile, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GroupsFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map from group names to lists of node names")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<GroupsFile, A::Error> {
                let mut groups = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    groups.push(entry);
                }
                Ok(GroupsFile(groups))
            }
        }
        d.deserialize_map(V)
    }
}

/// `nodes: 4` (named n0..n3) or `nodes: ["a", "b"]`.
#[derive(Debug)]
pub enum NodesFile {
    Count(u64),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for NodesFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NodesFile, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NodesFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node count or a list of node names")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodesFile, E> {
                Ok(NodesFile::Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodesFile, E> {
                Err(E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<NodesFile, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(NodesFile::Names(names))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TopologyFile {
    #[default]
    FullMesh,
    /// n0 - n1 - ... - n(k-1) - n0, both directions.
    Ring,
    /// n0 - n1 - ... - n(k-1), both directions.
    Line,
    /// Every node linked with the named centre, both directions.
    Star(String),
    /// Nodes in rows of `columns` in node order, each linked with its right and lower
    /// neighbours, both directions.
    Grid { columns: Whole },
    /// Node i's parent is node (i - 1) / `fanout`, both directions (node 0 is the root).
    Tree { fanout: Whole },
    /// Exactly these links, both directions.
    Links(Vec<(String, String)>),
}

/// How a heartbeat failure detector decides that a peer is gone.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DetectorFile {
    /// Suspect a peer `timeout_ms` after its latest heartbeat.
    Fixed { timeout_ms: Number },
    /// Phi accrual: suspect when phi reaches `threshold`, over the last `window` intervals.
    Phi { threshold: Number, window: Whole, min_std_ms: Number },
}

/// A planted failure-detector bug.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum DetectorBugFile {
    NoRearmAfterSuspicion,
}

/// A circuit breaker's parameters (see `protocols::calls` for the exact semantics).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerFile {
    pub window: WindowFile,
    /// Outcomes the window must hold before the closed breaker judges it.
    pub min_calls: Whole,
    /// Open at or above this fraction of failures (errors and timeouts).
    pub failure_rate: Number,
    /// Open at or above this fraction of slow calls; absent: slow calls never open.
    #[serde(default)]
    pub slow_rate: Option<Number>,
    /// A call is slow if it took longer than this.
    pub slow_ms: Number,
    /// How long the breaker stays open before it half-opens.
    pub wait_ms: Number,
    /// Calls admitted while half-open; their outcomes decide.
    pub half_open_calls: Whole,
    /// When an open breaker half-opens: on a timer when its wait is over (the default), or
    /// on the first call after that (resilience4j's default).
    #[serde(default)]
    pub half_open: HalfOpenFile,
}

/// When an open breaker half-opens.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HalfOpenFile {
    #[default]
    Timer,
    OnCall,
}

/// A breaker's sliding window.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum WindowFile {
    /// The last `n` outcomes.
    Count(Whole),
    /// The outcomes of the last `ms` milliseconds.
    Time { ms: Number },
}

/// From `at_ms` until the next entry, the service fails a request with probability `errors`
/// and answers it after a latency drawn uniformly from `latency_ms`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseFile {
    pub at_ms: Number,
    pub phase: PhaseName,
    pub errors: Number,
    pub latency_ms: (Number, Number),
}

#[derive(Clone, Copy, Debug, Deserialize)]
pub enum PhaseName {
    Healthy,
    Failing,
    Recovering,
}

/// Retry tokens: each new call deposits `ratio` of a retry, the bucket holds `burst` retries
/// (and starts full).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetFile {
    pub ratio: Number,
    pub burst: Whole,
}

/// Which of retry and breaker wraps the other.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub enum OrderFile {
    #[default]
    BreakerInsideRetry,
    RetryInsideBreaker,
}

/// A planted breaker bug.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum BreakerBugFile {
    NeverHalfOpen,
    OpensBelowThreshold,
}

/// Retransmission: the wait after attempt i is `min(cap_ms, base_ms * factor^(i-1))`
/// plus up to `jitter` times that, drawn at random; `max_attempts` transmissions in all.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryFile {
    pub base_ms: Number,
    pub factor: Number,
    pub cap_ms: Number,
    #[serde(default)]
    pub jitter: Option<Number>,
    pub max_attempts: Whole,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LatencyFile {
    Constant {
        ms: Number,
    },
    Uniform {
        min_ms: Number,
        max_ms: Number,
    },
    Normal {
        mean_ms: Number,
        std_ms: Number,
        #[serde(default)]
        min_ms: Option<Number>,
        #[serde(default)]
        max_ms: Option<Number>,
    },
    Exponential {
        mean_ms: Number,
        #[serde(default)]
        offset_ms: Option<Number>,
    },
    Pareto {
        scale_ms: Number,
        shape: Number,
        #[serde(default)]
        max_ms: Option<Number>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkFile {
    #[serde(default = "default_latency")]
    pub latency: LatencyFile,
    #[serde(default)]
    pub loss: Option<Number>,
    #[serde(default)]
    pub duplicate: Option<Number>,
    #[serde(default)]
    pub corrupt: Option<Number>,
    #[serde(default)]
    pub reorder: bool,
    #[serde(default)]
    pub bandwidth_bps: Option<Whole>,
    #[serde(default)]
    pub queue_limit: Option<Whole>,
    /// Largest message carried whole; larger ones are fragmented.
    #[serde(default)]
    pub mtu_bytes: Option<Whole>,
}

fn default_latency() -> LatencyFile {
    LatencyFile::Constant { ms: Number(1.0) }
}

impl Default for LinkFile {
    fn default() -> Self {
        LinkFile {
            latency: default_latency(),
            loss: None,
            duplicate: None,
            corrupt: None,
            reorder: false,
            bandwidth_bps: None,
            queue_limit: None,
            mtu_bytes: None,
        }
    }
}

/// Overrides for the link between two nodes; unset fields keep the network default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverrideFile {
    pub from: String,
    pub to: String,
    /// Override only `from -> to` (by default both directions).
    #[serde(default)]
    pub one_way: bool,
    #[serde(default)]
    pub latency: Option<LatencyFile>,
    #[serde(default)]
    pub loss: Option<Number>,
    #[serde(default)]
    pub duplicate: Option<Number>,
    #[serde(default)]
    pub corrupt: Option<Number>,
    #[serde(default)]
    pub reorder: Option<bool>,
    #[serde(default)]
    pub bandwidth_bps: Option<Whole>,
    #[serde(default)]
    pub queue_limit: Option<Whole>,
    /// Largest message carried whole; larger ones are fragmented.
    #[serde(default)]
    pub mtu_bytes: Option<Whole>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockFile {
    pub node: String,
    #[serde(default)]
    pub offset_ms: Option<Number>,
    #[serde(default)]
    pub drift_ppm: Option<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    pub at_ms: Number,
    #[serde(rename = "do")]
    pub action: FaultActionFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FaultActionFile {
    Crash(String),
    Restart(String),
    Pause(String),
    Resume(String),
    /// Sides of a symmetric partition; names are nodes or groups.
    Partition(Vec<Vec<String>>),
    /// Block messages from `from` to `to` only.
    OneWay {
        from: Vec<String>,
        to: Vec<String>,
    },
    /// Remove every partition.
    Heal,
}

/// Ranges the seed draws fault parameters from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwarmFile {
    #[serde(default)]
    pub loss: Option<(Number, Number)>,
    #[serde(default)]
    pub duplicate: Option<(Number, Number)>,
    #[serde(default)]
    pub corrupt: Option<(Number, Number)>,
    #[serde(default)]
    pub crashes: Option<(Whole, Whole)>,
    #[serde(default)]
    pub partitions: Option<(Whole, Whole)>,
    #[serde(default)]
    pub window_ms: Option<(Number, Number)>,
    #[serde(default)]
    pub downtime_ms: Option<(Number, Number)>,
}

/// The secure channel's access policy: `Data` may come from any member, `Admin` only from
/// the nodes named here; `enforce: false` is the broken receiver that never checks.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessFile {
    pub admin: Vec<String>,
    #[serde(default = "yes")]
    pub enforce: bool,
}

/// An attacker on the links between the named node pairs (both directions), with the
/// probability of each thing it does to a message it sees (it reads every one); or, with
/// `node`, a compromised member holding that node's keys, with the probability of each
/// attempt per message it sends or receives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversaryFile {
    #[serde(default)]
    pub links: Vec<(String, String)>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub drop: Option<Number>,
    #[serde(default)]
    pub tamper: Option<Number>,
    #[serde(default)]
    pub replay: Option<Number>,
    #[serde(default)]
    pub forge: Option<Number>,
    #[serde(default)]
    pub forbidden: Option<Number>,
}

/// How `Exchange` hands over each message.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HandoverFile {
    Async,
    Sync {
        #[serde(default)]
        timeout_ms: Option<Number>,
    },
    Call {
        #[serde(default)]
        timeout_ms: Option<Number>,
        #[serde(default = "yes")]
        wait: bool,
    },
}

/// Receive buffers for some nodes: how many messages each holds, what happens when it is
/// full, and how long its process takes to serve one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxFile {
    /// Nodes or groups; absent: every node.
    #[serde(default)]
    pub nodes: Option<Vec<String>>,
    /// Messages the mailbox holds; absent: unbounded.
    #[serde(default)]
    pub capacity: Option<Whole>,
    #[serde(default)]
    pub full: FullFile,
    /// Time to serve each message taken; absent: none.
    #[serde(default)]
    pub service: Option<LatencyFile>,
    /// Record a `served` line when each message's service ends (needs `service`).
    #[serde(default)]
    pub trace_served: bool,
}

/// What a full mailbox does.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub enum FullFile {
    #[default]
    DropNew,
    DropOldest,
    BackPressure,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFile {
    /// A node, a group (every member sends) or "*" (every node sends).
    pub from: String,
    /// For unicast: a node, a group (one member at random) or "*" (any other
    /// node at random); for multicast: a group; for broadcast: absent.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub send: SendFile,
    #[serde(default)]
    pub start_ms: Option<Number>,
    /// Sends exactly this far apart, the first at `start_ms`. One of `every_ms`, `gap`,
    /// `rate_per_s` and `phases` says when the sends happen.
    #[serde(default)]
    pub every_ms: Option<Number>,
    /// Gaps between sends (and from `start_ms` to the first) drawn from a distribution;
    /// `Exponential` makes the sends a Poisson process.
    #[serde(default)]
    pub gap: Option<LatencyFile>,
    /// A Poisson process at this many sends per second.
    #[serde(default)]
    pub rate_per_s: Option<Number>,
    /// A Poisson process whose rate changes at the given times.
    #[serde(default)]
    pub phases: Option<Vec<RatePhaseFile>>,
    /// How many messages each sender sends at most; absent: until the horizon.
    #[serde(default)]
    pub count: Option<Whole>,
    #[serde(default)]
    pub size_bytes: Option<Whole>,
    /// Message sizes drawn from a distribution instead of a fixed `size_bytes`.
    #[serde(default)]
    pub size: Option<SizeFile>,
}

/// From `at_ms` until the next phase, a workload sends as a Poisson process at `rate_per_s`
/// (0: silent).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatePhaseFile {
    pub at_ms: Number,
    pub rate_per_s: Number,
}

/// A distribution of message sizes in bytes: the latency distributions' shapes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum SizeFile {
    Constant {
        bytes: Whole,
    },
    Uniform {
        min_bytes: Whole,
        max_bytes: Whole,
    },
    Normal {
        mean_bytes: Number,
        std_bytes: Number,
        #[serde(default)]
        min_bytes: Option<Number>,
        #[serde(default)]
        max_bytes: Option<Number>,
    },
    Exponential {
        mean_bytes: Number,
        #[serde(default)]
        offset_bytes: Option<Number>,
    },
    Pareto {
        scale_bytes: Number,
        shape: Number,
        #[serde(default)]
        max_bytes: Option<Number>,
    },
}

#[derive(Debug, Default, Deserialize)]
pub enum SendFile {
    #[default]
    Unicast,
    Multicast,
    Broadcast,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    #[serde(default)]
    pub max_events: Option<Whole>,
    #[serde(default)]
    pub max_in_flight: Option<Whole>,
    #[serde(default)]
    pub max_fragments: Option<Whole>,
    #[serde(default)]
    pub max_trace_events: Option<Whole>,
    #[serde(default)]
    pub max_memory_mb: Option<Whole>,
}

/// `Some(x)` as `, name: x`; nothing for `None`.
fn opt(name: &str, v: Option<Number>) -> String {
    v.map_or(String::new(), |v| format!(", {name}: {}", v.0))
}

impl LatencyFile {
    /// This distribution as the scenario format writes it.
    pub fn ron(&self) -> String {
        match self {
            LatencyFile::Constant { ms } => format!("Constant(ms: {})", ms.0),
            LatencyFile::Uniform { min_ms, max_ms } => format!("Uniform(min_ms: {}, max_ms: {})", min_ms.0, max_ms.0),
            LatencyFile::Normal { mean_ms, std_ms, min_ms, max_ms } => {
                format!("Normal(mean_ms: {}, std_ms: {}{}{})", mean_ms.0, std_ms.0, opt("min_ms", *min_ms), opt("max_ms", *max_ms))
            }
            LatencyFile::Exponential { mean_ms, offset_ms } => {
                format!("Exponential(mean_ms: {}{})", mean_ms.0, opt("offset_ms", *offset_ms))
            }
            LatencyFile::Pareto { scale_ms, shape, max_ms } => {
                format!("Pareto(scale_ms: {}, shape: {}{})", scale_ms.0, shape.0, opt("max_ms", *max_ms))
            }
        }
    }
}

impl SizeFile {
    /// This distribution as the scenario format writes it.
    pub fn ron(&self) -> String {
        match self {
            SizeFile::Constant { bytes } => format!("Constant(bytes: {})", bytes.0),
            SizeFile::Uniform { min_bytes, max_bytes } => format!("Uniform(min_bytes: {}, max_bytes: {})", min_bytes.0, max_bytes.0),
            SizeFile::Normal { mean_bytes, std_bytes, min_bytes, max_bytes } => format!(
                "Normal(mean_bytes: {}, std_bytes: {}{}{})",
                mean_bytes.0,
                std_bytes.0,
                opt("min_bytes", *min_bytes),
                opt("max_bytes", *max_bytes)
            ),
            SizeFile::Exponential { mean_bytes, offset_bytes } => {
                format!("Exponential(mean_bytes: {}{})", mean_bytes.0, opt("offset_bytes", *offset_bytes))
            }
            SizeFile::Pareto { scale_bytes, shape, max_bytes } => {
                format!("Pareto(scale_bytes: {}, shape: {}{})", scale_bytes.0, shape.0, opt("max_bytes", *max_bytes))
            }
        }
    }
}

/// A check's name, written bare as in `checks` (`NoLoss`, not `"NoLoss"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckName(pub String);

impl<'de> Deserialize<'de> for CheckName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<CheckName, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = CheckName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a check's name, such as NoLoss")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CheckName, E> {
                Ok(CheckName(v.to_string()))
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

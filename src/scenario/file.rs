//! The scenario file as written: RON, deserialised with serde, close to the text.
//!
//! Nothing here is validated beyond its syntax; `scenario::validate` turns a
//! `ScenarioFile` into a `Scenario` or a list of positioned errors. Field names
//! here are the scenario format; the book's scenario reference documents each.

use ron::value::RawValue;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A scenario exactly as its file wrote it: `Scenario(name: ..., horizon_ms: ..., ...)`.
/// Optional fields take the defaults the book's scenario reference gives; nothing here
/// is checked against anything else yet (that is `scenario::validate`'s job).
#[derive(Debug, Deserialize)]
#[serde(rename = "Scenario", deny_unknown_fields)]
pub struct ScenarioFile<'a> {
    /// The scenario's name, shown on the summary's `scenario` line and in the JSON `name`.
    pub name: String,
    /// Free text for people reading the file; the run never uses it.
    #[serde(default)]
    pub description: Option<String>,
    /// The seed a run uses when the command line gives none (`--seed`); default 0.
    #[serde(default)]
    pub seed: Whole,
    /// When the run stops at the latest, in milliseconds (required, more than 0). Events at
    /// exactly the horizon still happen; later ones never do.
    pub horizon_ms: Number,
    /// The processes: a count `k` (named `n0` to `n(k-1)`) or a list of unique names, 1 to
    /// 100 000. Their order numbers them and defines `Ring`, `Line`, `Grid` and `Tree`.
    pub nodes: NodesFile,
    /// Named sets of nodes, for partition sides and the workload's senders and recipients;
    /// default none.
    #[serde(default)]
    pub groups: GroupsFile,
    /// Which pairs of nodes have a link (both directions); default `FullMesh`.
    #[serde(default)]
    pub topology: TopologyFile,
    /// `Name(...)`: a protocol the registry knows, its configuration read by its own type.
    #[serde(borrow)]
    pub protocol: &'a RawValue,
    /// What every directed link does to messages unless a `links` entry overrides it; default a
    /// perfect link with a constant 1 ms latency.
    #[serde(default)]
    pub network: LinkFile,
    /// Per-link overrides of `network`, in file order; when several cover one directed link,
    /// the last wins entirely. Default none.
    #[serde(default)]
    pub links: Vec<LinkOverrideFile>,
    /// Per-node clock offset and drift; a node with no entry reads true time. Default none.
    #[serde(default)]
    pub clocks: Vec<ClockFile>,
    /// The fault script: crashes, restarts, pauses, resumes, partitions and heals, each at a
    /// time no later than the horizon. Default none.
    #[serde(default)]
    pub faults: Vec<FaultFile>,
    /// Ranges the seed draws loss rates, crashes and partitions from; absent: nothing drawn.
    #[serde(default)]
    pub swarm: Option<SwarmFile>,
    /// An attacker on chosen links, or a compromised member; absent: none.
    #[serde(default)]
    pub adversary: Option<AdversaryFile>,
    /// Bounded receive buffers, their policy when full, and service times; a node no entry
    /// names has an unbounded mailbox served instantly. Default none.
    #[serde(default)]
    pub mailboxes: Vec<MailboxFile>,
    /// The application messages nodes are asked to send, one generator per entry (per sender,
    /// for a group or `"*"`). Default none.
    #[serde(default)]
    pub workload: Vec<WorkloadFile>,
    /// The properties the run is judged on, each `Name` or `Name(...)`, kept raw until the
    /// registry reads the named check's configuration; reported in this order.
    #[serde(default)]
    #[serde(borrow)]
    pub checks: Vec<&'a RawValue>,
    /// Checks of `checks` this scenario is meant to fail on some seed (what it demonstrates),
    /// by name: `[NoLoss, AtMostOnce]`; kept raw, so a name is read as `checks` reads one.
    #[serde(default)]
    #[serde(borrow)]
    pub expect_failures: Vec<&'a RawValue>,
    /// How often each check of `expect_failures` must fail: on some seed of a sweep (the
    /// default), or on every seed, for a planted bug that no seed may miss.
    #[serde(default)]
    pub expect_failures_on: FailuresExpectedOn,
    /// Safety limits on a run's size; every one has a default.
    #[serde(default)]
    pub limits: LimitsFile,
    /// Network decisions to follow instead of drawing them (what `msgsim shrink` writes).
    #[serde(default)]
    pub replay: Option<Vec<DecisionFile>>,
    /// A partition also drops a message already in flight across it, when it arrives (as
    /// Maelstrom's do); by default a partition is judged only when a message is sent.
    #[serde(default)]
    pub partitions_drop_in_flight: bool,
    /// The events to run, in order, in the asynchronous model (what `msgsim explore --model
    /// async` writes): the run follows them instead of the clock.
    #[serde(default)]
    pub schedule: Option<Vec<StepFile>>,
}

/// One event of an asynchronous run, by the ids its trace shows (see `explore::Step`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StepFile {
    /// The workload command of the application message with this id (its `a` number).
    Command(Whole),
    /// The message with this id (its `m` number) is delivered.
    Deliver(Whole),
    /// The message with this id is lost on its link (a fault).
    Lose(Whole),
    /// The message with this id arrives and a copy of it stays in flight (a fault).
    Duplicate(Whole),
    /// The message with this id arrives damaged (a fault).
    Corrupt(Whole),
    /// The timer with this id (its `t` number) fires.
    Timer(Whole),
    /// The named node crashes.
    Crash(String),
    /// The named node restarts.
    Restart(String),
    /// The fault script's partition or one-way cut with this index begins (a fault).
    Partition(Whole),
    /// The fault script's heal with this index ends every cut in force.
    Heal(Whole),
}

/// One transmission's random outcomes, by its message id (the `m` number in a trace).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionFile {
    /// The transmission, by its message id; each at most once in a list.
    pub msg: Whole,
    /// The link loses the transmission; default `false`.
    #[serde(default)]
    pub lost: bool,
    /// The first copy's latency in nanoseconds (not milliseconds: a replay is exact); default 0.
    #[serde(default)]
    pub latency_ns: Whole,
    /// The first copy arrives corrupted; default `false`.
    #[serde(default)]
    pub corrupted: bool,
    /// The duplicate's latency in ns and whether it was corrupted.
    #[serde(default)]
    pub duplicate: Option<(Whole, bool)>,
    /// On a link with a `service` distribution, how long its server took, in ns; absent: the
    /// distribution's minimum.
    #[serde(default)]
    pub service_ns: Option<Whole>,
}

/// A number written as an integer or a decimal (`10`, `1_000`, `0.5`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Number(pub f64);

/// As the user could have written it: plain when short, in exponent form when huge or tiny, so
/// an error about `1e308` does not print 309 digits.
impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let magnitude = self.0.abs();
        if magnitude != 0.0 && !(1e-6..1e15).contains(&magnitude) { write!(f, "{:e}", self.0) } else { write!(f, "{}", self.0) }
    }
}

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
    /// `nodes: k`: nodes `n0` to `n(k-1)`.
    Count(u64),
    /// `nodes: ["a", ...]`: these names, in this order.
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

/// Which pairs of distinct nodes are directly linked; msgsim does not route, so a message
/// between unlinked nodes is dropped `NoLink`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TopologyFile {
    /// Every pair of distinct nodes (the default).
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
    Grid {
        /// Nodes per row, 1 to the number of nodes; the last row may be short.
        columns: Whole,
    },
    /// Node i's parent is node (i - 1) / `fanout`, both directions (node 0 is the root).
    Tree {
        /// Children per node, 1 to the number of nodes.
        fanout: Whole,
    },
    /// Exactly these links, both directions.
    Links(Vec<(String, String)>),
}

/// How a heartbeat failure detector decides that a peer is gone.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DetectorFile {
    /// Suspect a peer `timeout_ms` after its latest heartbeat.
    Fixed {
        /// Silence after which a peer is suspected, in milliseconds; more than 0.
        timeout_ms: Number,
    },
    /// Phi accrual: suspect when phi reaches `threshold`, over the last `window` intervals.
    Phi {
        /// Suspect when phi, `-log10 P(an interval this long)`, reaches this; 0.1 to 30.
        threshold: Number,
        /// How many of the latest heartbeat intervals the estimate uses; 1 to 1 000 000.
        window: Whole,
        /// The least standard deviation assumed, in milliseconds, so that perfectly regular
        /// heartbeats do not make the slightest delay suspicious.
        min_std_ms: Number,
        /// The longest interval learned, in milliseconds, at least `every_ms`: a longer silence
        /// (a crash and restart, a partition) is an outage, not how the peer beats, and is not
        /// recorded; absent: ten times `every_ms`.
        #[serde(default)]
        max_interval_ms: Option<Number>,
    },
}

/// A planted failure-detector bug.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum DetectorBugFile {
    /// Once a node has suspected a peer it never arms that peer's deadline again: after one
    /// false suspicion, the peer's later crash goes unnoticed for good.
    NoRearmAfterSuspicion,
}

/// A circuit breaker's parameters (see `protocols::calls` for the exact semantics).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerFile {
    /// Which outcomes the closed breaker judges: the last `n` or the last `ms` milliseconds.
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
    /// Half-open on a timer as soon as the wait is over.
    #[default]
    Timer,
    /// Half-open at the first call after the wait is over.
    OnCall,
}

/// A breaker's sliding window.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum WindowFile {
    /// The last `n` outcomes.
    Count(Whole),
    /// The outcomes of the last `ms` milliseconds.
    Time {
        /// The window's length, in milliseconds; more than 0.
        ms: Number,
    },
}

/// From `at_ms` until the next entry, the service fails a request with probability `errors`
/// and answers it after a latency drawn uniformly from `latency_ms`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseFile {
    /// When this phase starts, in milliseconds from 0; the first phase starts at 0 and phases
    /// come in increasing time order.
    pub at_ms: Number,
    /// The phase's name, for the `CircuitBreaker` check's account of what the breaker saved
    /// and cost.
    pub phase: PhaseName,
    /// Probability (0 to 1) that the service answers a request with an error in this phase.
    pub errors: Number,
    /// The service's latency in this phase, `(min, max)` in milliseconds, drawn uniformly.
    pub latency_ms: (Number, Number),
}

/// The service's health in a phase of a `Calls` schedule.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum PhaseName {
    /// Working normally: refused calls here count as the breaker's cost.
    Healthy,
    /// Failing: refused calls here count as what the breaker saved.
    Failing,
    /// Coming back: refused calls here count as saved, as in `Failing`.
    Recovering,
}

/// Retry tokens: each new call deposits `ratio` of a retry, the bucket holds `burst` retries
/// (and starts full).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetFile {
    /// Fraction of a retry each new call deposits (more than 0, at most 1).
    pub ratio: Number,
    /// How many retries the bucket holds (1 to 1 000 000); it starts full.
    pub burst: Whole,
}

/// Which of retry and breaker wraps the other.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub enum OrderFile {
    /// The breaker wraps each attempt: a refused attempt is a failed one, retried after its
    /// backoff, and each attempt's outcome enters the window (the default).
    #[default]
    BreakerInsideRetry,
    /// The breaker wraps the whole call: admitted once, its attempts happen inside, and the
    /// window gets the call's final outcome, timed from its first attempt.
    RetryInsideBreaker,
}

/// A planted breaker bug.
#[derive(Clone, Copy, Debug, Deserialize)]
pub enum BreakerBugFile {
    /// The open breaker never half-opens: it stays open for the rest of the run.
    NeverHalfOpen,
    /// The breaker opens at half the failure-rate threshold.
    OpensBelowThreshold,
}

/// Retransmission: the wait after attempt i is `min(cap_ms, base_ms * factor^(i-1))`
/// plus up to `jitter` times that, drawn at random; `max_attempts` transmissions in all.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryFile {
    /// The wait after the first attempt, in milliseconds; more than 0.
    pub base_ms: Number,
    /// Each wait is the previous one times this, 1 to 100.
    pub factor: Number,
    /// No wait is longer than this, in milliseconds, before jitter; at least `base_ms`.
    pub cap_ms: Number,
    /// Up to this fraction (0 to 1) of each wait is added, drawn at random; absent: 0.
    #[serde(default)]
    pub jitter: Option<Number>,
    /// Transmissions of one message to one recipient, the first included; 1 to 1 000.
    pub max_attempts: Whole,
}

fn yes() -> bool {
    true
}

/// A distribution of times in milliseconds: link latencies, mailbox service times and
/// workload gaps. Samples are whole nanoseconds; the continuous shapes are truncated where
/// 2^-31 of their probability is left, unless a maximum is given.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LatencyFile {
    /// Exactly `ms` every time.
    Constant {
        /// The time, in milliseconds.
        ms: Number,
    },
    /// Uniform over whole nanoseconds from `min_ms` to `max_ms`, both included.
    Uniform {
        /// The smallest time, in milliseconds.
        min_ms: Number,
        /// The largest time, in milliseconds; at least `min_ms`.
        max_ms: Number,
    },
    /// Normal, truncated (conditioned, not clamped) to `[min_ms, max_ms]`.
    Normal {
        /// The untruncated mean, in milliseconds.
        mean_ms: Number,
        /// The standard deviation, in milliseconds; more than 0.
        std_ms: Number,
        /// The lower truncation bound, in milliseconds; default 0.
        #[serde(default)]
        min_ms: Option<Number>,
        /// The upper truncation bound, in milliseconds, above `min_ms`; absent: where 2^-31 of the
        /// probability is left, about six standard deviations above the mean.
        #[serde(default)]
        max_ms: Option<Number>,
    },
    /// `offset_ms` plus an exponential with mean `mean_ms`.
    Exponential {
        /// The mean of the random part, in milliseconds; more than 0.
        mean_ms: Number,
        /// The minimum time (a propagation delay, say), in milliseconds; default 0.
        #[serde(default)]
        offset_ms: Option<Number>,
    },
    /// Pareto: `P(t > x) = (scale_ms / x)^shape` for `x >= scale_ms`, a heavy tail.
    Pareto {
        /// The minimum time, in milliseconds; more than 0.
        scale_ms: Number,
        /// The tail index, more than 0 and at most 100; the smaller, the heavier the tail.
        shape: Number,
        /// Truncate there, in milliseconds, above `scale_ms`; absent: at `scale_ms * 2^(31/shape)`.
        #[serde(default)]
        max_ms: Option<Number>,
    },
}

/// What a directed link does to the messages it carries: `network`, the default for every link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkFile {
    /// Time on the wire, drawn per copy; default `Constant(ms: 1)`.
    #[serde(default = "default_latency")]
    pub latency: LatencyFile,
    /// Probability (0 to 1) that a transmission is lost; absent: 0.
    #[serde(default)]
    pub loss: Option<Number>,
    /// Probability (0 to 1) that a transmission that was not lost arrives twice; absent: 0.
    #[serde(default)]
    pub duplicate: Option<Number>,
    /// Probability (0 to 1) that each arriving copy is damaged; absent: 0.
    #[serde(default)]
    pub corrupt: Option<Number>,
    /// Whether a message may overtake an earlier one on the same link; `false` (the default)
    /// makes the link FIFO.
    #[serde(default)]
    pub reorder: bool,
    /// Serialisation rate in bits per second (more than 0): a message of `s` bytes occupies the
    /// link for `8 s / bandwidth` seconds. Absent: infinitely fast.
    #[serde(default)]
    pub bandwidth_bps: Option<Whole>,
    /// The link as a single server: each message occupies it, in FIFO order, for a time drawn
    /// from this distribution (not always zero), before its latency. Not with `bandwidth_bps`.
    /// Absent: no server.
    #[serde(default)]
    pub service: Option<LatencyFile>,
    /// Messages that may wait for the link, the one being serialised or served included (1 to
    /// 1 000 000; needs `bandwidth_bps` or `service`); more are dropped `QueueFull`. Absent:
    /// unbounded.
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
            service: None,
            queue_limit: None,
            mtu_bytes: None,
        }
    }
}

/// Overrides for the link between two nodes; unset fields keep the network default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverrideFile {
    /// One end of the link: a node.
    pub from: String,
    /// The other end: a node other than `from`.
    pub to: String,
    /// Override only `from -> to` (by default both directions).
    #[serde(default)]
    pub one_way: bool,
    /// Replaces `network`'s latency distribution.
    #[serde(default)]
    pub latency: Option<LatencyFile>,
    /// Replaces `network`'s loss probability.
    #[serde(default)]
    pub loss: Option<Number>,
    /// Replaces `network`'s duplication probability.
    #[serde(default)]
    pub duplicate: Option<Number>,
    /// Replaces `network`'s corruption probability.
    #[serde(default)]
    pub corrupt: Option<Number>,
    /// Replaces `network`'s reordering switch.
    #[serde(default)]
    pub reorder: Option<bool>,
    /// Replaces `network`'s bandwidth, in bits per second (and any service time it has).
    #[serde(default)]
    pub bandwidth_bps: Option<Whole>,
    /// Replaces `network`'s service-time distribution (and any bandwidth it has).
    #[serde(default)]
    pub service: Option<LatencyFile>,
    /// Replaces `network`'s queue limit, in messages.
    #[serde(default)]
    pub queue_limit: Option<Whole>,
    /// Largest message carried whole; larger ones are fragmented.
    #[serde(default)]
    pub mtu_bytes: Option<Whole>,
}

/// One node's local clock: at true time `t` it reads `t + offset + t * drift`, never below 0.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockFile {
    /// The node; at most one entry per node.
    pub node: String,
    /// Added to the reading, in milliseconds, may be negative (within ±10^12); default 0.
    /// Moves the reading but not the length of timers.
    #[serde(default)]
    pub offset_ms: Option<Number>,
    /// Rate error in parts per million, may be negative (within ±100 000); default 0. A timer
    /// of `d` on this clock fires after `d / (1 + drift)` of true time.
    #[serde(default)]
    pub drift_ppm: Option<Number>,
}

/// One entry of the fault script: `(at_ms: ..., do: ...)`. Faults happen in time order, and
/// at the same time in file order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// When the fault happens, in milliseconds; no later than the horizon.
    pub at_ms: Number,
    /// What happens (`do` in the file).
    #[serde(rename = "do")]
    pub action: FaultActionFile,
}

/// A fault: what happens to a node or to the network at one instant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FaultActionFile {
    /// Discard a running node's process with its state and timers; messages for it are
    /// dropped `NodeDown`.
    Crash(String),
    /// Start a fresh process on a node that is down, as at boot.
    Restart(String),
    /// Hold everything for a running node (messages, timers, commands) while it keeps its state.
    Pause(String),
    /// Handle everything held for a paused node, in arrival order.
    Resume(String),
    /// Sides of a symmetric partition; names are nodes or groups.
    Partition(Vec<Vec<String>>),
    /// Block messages from `from` to `to` only.
    OneWay {
        /// The senders' side: nodes and groups.
        from: Vec<String>,
        /// The receivers' side: nodes and groups.
        to: Vec<String>,
    },
    /// Remove every partition.
    Heal,
}

/// Ranges the seed draws fault parameters from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwarmFile {
    /// Range of the run's loss probability, `(low, high)`, replacing `network.loss`; absent:
    /// not drawn.
    #[serde(default)]
    pub loss: Option<(Number, Number)>,
    /// Range of the run's duplication probability, replacing `network.duplicate`; absent: not drawn.
    #[serde(default)]
    pub duplicate: Option<(Number, Number)>,
    /// Range of the run's corruption probability, replacing `network.corrupt`; absent: not drawn.
    #[serde(default)]
    pub corrupt: Option<(Number, Number)>,
    /// How many crashes to draw, `(low, high)` with high at most 10 000; default `(0, 0)`. Each
    /// restarts its node when its downtime is over.
    #[serde(default)]
    pub crashes: Option<(Whole, Whole)>,
    /// How many partitions to draw, at most 10 000; default `(0, 0)`. They happen one at a time.
    #[serde(default)]
    pub partitions: Option<(Whole, Whole)>,
    /// When a drawn crash or partition may start, in milliseconds; default `(0, horizon)`.
    #[serde(default)]
    pub window_ms: Option<(Number, Number)>,
    /// How long a drawn crash or partition lasts, in milliseconds; default `(100, 1_000)`.
    #[serde(default)]
    pub downtime_ms: Option<(Number, Number)>,
}

/// The secure channel's access policy: `Data` may come from any member, `Admin` only from
/// the nodes named here; `enforce: false` is the broken receiver that never checks.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessFile {
    /// The nodes allowed to send `Admin` messages.
    pub admin: Vec<String>,
    /// Whether receivers refuse `Admin` messages from anyone else; default `true`.
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
    /// The node pairs the outsider sits on, both directions; not with `node`.
    #[serde(default)]
    pub links: Vec<(String, String)>,
    /// The member the adversary runs, with its keys (an insider); not with `links`.
    #[serde(default)]
    pub node: Option<String>,
    /// Outsider: probability (0 to 1) of removing a message it sees; default 0.
    #[serde(default)]
    pub drop: Option<Number>,
    /// Probability of flipping one bit of a message (an outsider: the one it sees; an insider:
    /// one it received, passed on to a third member); default 0.
    #[serde(default)]
    pub tamper: Option<Number>,
    /// Probability of sending an earlier capture again, unchanged; default 0.
    #[serde(default)]
    pub replay: Option<Number>,
    /// Probability of sending a fabricated message as if from a third node (needs three nodes or
    /// more); default 0.
    #[serde(default)]
    pub forge: Option<Number>,
    /// Insider: probability of sending an `Admin` message the access policy does not permit it;
    /// default 0.
    #[serde(default)]
    pub forbidden: Option<Number>,
}

/// How `Exchange` hands over each message.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HandoverFile {
    /// The sender hands the message over and goes on at once.
    Async,
    /// The sender blocks until the receiver's process takes the message.
    Sync {
        /// Give up waiting this long after the send, in milliseconds on the sender's clock
        /// (more than 0); absent: wait forever.
        #[serde(default)]
        timeout_ms: Option<Number>,
    },
    /// The receiver answers each message; the sender may block for the answer.
    Call {
        /// End the call this long after it began, in milliseconds on the sender's clock (more than
        /// 0); absent: no timeout.
        #[serde(default)]
        timeout_ms: Option<Number>,
        /// Whether the caller blocks until the answer (or timeout); default `true`.
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
    /// What the mailbox does when full; default `DropNew`.
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
    /// Discard the arrival (`MailboxFull`).
    #[default]
    DropNew,
    /// Discard the oldest waiting message of the lowest priority (`Evicted`); an arrival of lower
    /// priority than everything waiting is refused instead. Needs a `capacity`.
    DropOldest,
    /// Hold the sender back before it sends until there is room; the capacity then counts
    /// messages still on the wire too. Needs a `capacity`.
    BackPressure,
}

/// One workload generator: up to `count` application messages from `from`, timed by exactly
/// one of `every_ms`, `gap`, `rate_per_s` and `phases`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadFile {
    /// A node, a group (every member sends) or "*" (every node sends).
    pub from: String,
    /// For unicast: a node, a group (one member at random) or "*" (any other
    /// node at random); for multicast: a group; for broadcast: absent.
    #[serde(default)]
    pub to: Option<String>,
    /// Unicast, multicast or broadcast; default `Unicast`.
    #[serde(default)]
    pub send: SendFile,
    /// When the first send may happen, in milliseconds; default 0, no later than the horizon.
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
    /// Each message's payload in bytes, 0 to 2^30, before the protocol's header; default 64.
    /// Not with `size`.
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
    /// When this phase starts, in milliseconds of scenario time; phases come in increasing order.
    pub at_ms: Number,
    /// The rate from then on, in messages per second (0: silent, at most 10^9).
    pub rate_per_s: Number,
}

/// A distribution of message sizes in bytes: the latency distributions' shapes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum SizeFile {
    /// Exactly `bytes` every time.
    Constant {
        /// The size, in bytes.
        bytes: Whole,
    },
    /// Uniform over whole bytes from `min_bytes` to `max_bytes`, both included.
    Uniform {
        /// The smallest size, in bytes.
        min_bytes: Whole,
        /// The largest size, in bytes; at least `min_bytes`.
        max_bytes: Whole,
    },
    /// Normal, truncated to `[min_bytes, max_bytes]`, rounded to whole bytes.
    Normal {
        /// The untruncated mean, in bytes.
        mean_bytes: Number,
        /// The standard deviation, in bytes; more than 0.
        std_bytes: Number,
        /// The lower truncation bound, in bytes; default 0.
        #[serde(default)]
        min_bytes: Option<Number>,
        /// The upper truncation bound, in bytes; absent: the table's end, about six deviations up.
        #[serde(default)]
        max_bytes: Option<Number>,
    },
    /// `offset_bytes` plus an exponential with mean `mean_bytes`.
    Exponential {
        /// The mean of the random part, in bytes; more than 0.
        mean_bytes: Number,
        /// The minimum size, in bytes; default 0.
        #[serde(default)]
        offset_bytes: Option<Number>,
    },
    /// Pareto with minimum `scale_bytes` and tail index `shape`.
    Pareto {
        /// The minimum size, in bytes; more than 0.
        scale_bytes: Number,
        /// The tail index, more than 0 and at most 100; the smaller, the heavier the tail.
        shape: Number,
        /// Truncate there, in bytes; absent: at `scale_bytes * 2^(31/shape)`.
        #[serde(default)]
        max_bytes: Option<Number>,
    },
}

/// How a workload message is addressed.
#[derive(Debug, Default, Deserialize)]
pub enum SendFile {
    /// To one node: `to` itself, or one other member of the group `to` (or any other node for
    /// `"*"`), drawn per message (the default).
    #[default]
    Unicast,
    /// To every member of the group `to` but the sender.
    Multicast,
    /// To every node but the sender; `to` is absent.
    Broadcast,
}

/// Safety limits, so a runaway scenario stops instead of running out of time or memory;
/// when one is reached the run stops and the checks judge what happened until then.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Scheduler events processed; the run stops before one more. Default 10^9, more than 0.
    #[serde(default)]
    pub max_events: Option<Whole>,
    /// Message copies on the wire at once, checked at every transmission. Default 10^7.
    #[serde(default)]
    pub max_in_flight: Option<Whole>,
    /// Fragments one message may travel as over a link with `mtu_bytes`. Default 65 536.
    #[serde(default)]
    pub max_fragments: Option<Whole>,
    /// Trace events of the run; it stops after the event that passes this. Default 5 * 10^7.
    #[serde(default)]
    pub max_trace_events: Option<Whole>,
    /// Megabytes the copies in flight may take, and the bound on protocol state that grows with
    /// the cluster (a scenario over it is refused before it runs). Default 1 024.
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

/// `expect_failures_on`: how often a declared failure must happen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum FailuresExpectedOn {
    /// On at least one seed of a sweep; a single run that passes it is not judged for it.
    #[default]
    SomeSeed,
    /// On every seed: a run that passes a declared check has missed what the scenario plants.
    EverySeed,
}

//! The scenario file as written: RON, deserialised with serde, close to the text.
//!
//! Nothing here is validated beyond its syntax; `scenario::validate` turns a
//! `ScenarioFile` into a `Scenario` or a list of positioned errors. Field names
//! here are the scenario format; the book's scenario reference documents each.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(rename = "Scenario", deny_unknown_fields)]
pub struct ScenarioFile {
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
    pub protocol: ProtocolFile,
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
    pub checks: Vec<CheckFile>,
    /// Checks of `checks` this scenario is meant to fail on some seed (what it demonstrates),
    /// by name: `[NoLoss, AtMostOnce]`.
    #[serde(default)]
    pub expect_failures: Vec<CheckName>,
    #[serde(default)]
    pub limits: LimitsFile,
    /// Network decisions to follow instead of drawing them (what `msgsim shrink` writes).
    #[serde(default)]
    pub replay: Option<Vec<DecisionFile>>,
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
    /// Exactly these links, both directions.
    Links(Vec<(String, String)>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ProtocolFile {
    /// A work queue: producers put tasks on a port hosted by `broker`; the `consumers` group takes them.
    WorkQueue {
        broker: String,
        consumers: String,
        work_ms: Number,
        visibility_ms: Number,
        #[serde(default = "default_resend_ms")]
        resend_ms: Number,
    },
    /// Point-to-point messages in one communication model: asynchronous, synchronous or calls.
    Exchange {
        send: HandoverFile,
        /// Mailbox priority of each listed node's messages (0 for the others).
        #[serde(default)]
        priority: std::collections::BTreeMap<String, Whole>,
    },
    /// Send once, never retry: unicast, multicast and broadcast as the command asks.
    BestEffort {
        /// Verify the checksum and discard corrupted copies.
        #[serde(default = "yes")]
        checksum: bool,
        /// Remember delivered message ids and deliver each at most once.
        #[serde(default)]
        dedup: bool,
    },
    /// Unicast over a channel that models its wire bytes, with optional security layers.
    SecureChannel {
        /// Append an HMAC-SHA256 tag under a key of the sending pair's own.
        #[serde(default)]
        mac: bool,
        /// Seal the payload with ChaCha20-Poly1305 under the pair's key (authenticates too).
        #[serde(default)]
        encrypt: bool,
        /// Refuse a sequence number already accepted from the same sender.
        #[serde(default)]
        replay_window: bool,
        /// One key for the whole group instead of one per pair (the broken variant: any member
        /// can then seal a message under any other member's name).
        #[serde(default)]
        shared_key: bool,
        /// Message kinds and who may send them; without it every message is `Data`.
        #[serde(default)]
        access: Option<AccessFile>,
    },
    /// Two nodes bounce one message `round_trips` times (the engine benchmark).
    PingPong { round_trips: Whole },
    /// Push gossip: on first receipt, forward to `fanout` random peers.
    Gossip { fanout: Whole },
    /// Fire and forget; the receiver drops the duplicates the network makes.
    AtMostOnce {
        /// Suppress duplicates (`false` is the broken variant).
        #[serde(default = "yes")]
        dedup: bool,
    },
    /// Acks, retransmission with exponential backoff and jitter, a dead-letter queue.
    AtLeastOnce {
        retry: RetryFile,
        /// Dead-letter exhausted messages (`false` drops them silently: the broken variant).
        #[serde(default = "yes")]
        dead_letter: bool,
    },
    /// At-least-once plus idempotency keys and a receiver dedup window of `window` keys.
    ExactlyOnce { retry: RetryFile, window: Whole },
    /// Multicast with acks and retransmission per member; `relay`: every receiver forwards on first receipt.
    ReliableMulticast {
        retry: RetryFile,
        /// `false` leaves retransmission to the sender alone (broken if the sender crashes).
        #[serde(default = "yes")]
        relay: bool,
    },
    /// Per-sender sequence numbers and a hold-back queue (`hold_back: false` is the broken variant).
    FifoMulticast {
        retry: RetryFile,
        #[serde(default = "yes")]
        hold_back: bool,
        #[serde(default)]
        relay: bool,
    },
    /// Vector timestamps and a hold-back queue, CBCAST style.
    CausalMulticast {
        retry: RetryFile,
        #[serde(default = "yes")]
        hold_back: bool,
        #[serde(default)]
        relay: bool,
    },
    /// Total order from a fixed sequencer (each destination's lowest-numbered member).
    SequencerMulticast {
        retry: RetryFile,
        #[serde(default = "yes")]
        hold_back: bool,
        #[serde(default)]
        relay: bool,
    },
    /// Total order by ISIS agreement on Lamport timestamps.
    IsisMulticast {
        retry: RetryFile,
        #[serde(default = "yes")]
        hold_back: bool,
        #[serde(default)]
        relay: bool,
    },
    /// Reliable and totally ordered: the sequencer over the relaying transport.
    AtomicMulticast {
        retry: RetryFile,
        #[serde(default = "yes")]
        relay: bool,
    },
    /// Group membership with view changes and virtually synchronous multicast (see `protocols::views`).
    ViewSynchronous {
        /// How often every member heartbeats the others.
        heartbeat_ms: Number,
        /// Silence after which a member is suspected (for good).
        timeout_ms: Number,
        /// How long a sender waits for acks before sending a message again.
        resend_ms: Number,
        /// Flush before installing a view (`false` installs at once: the broken variant).
        #[serde(default = "yes")]
        flush: bool,
    },
    /// Every node heartbeats every other every `every_ms` and suspects the silent ones.
    Heartbeat {
        every_ms: Number,
        detector: DetectorFile,
        #[serde(default)]
        bug: Option<DetectorBugFile>,
    },
    /// Every node but `service` calls it, with a timeout, optional retries and an optional
    /// circuit breaker (see `protocols::calls` for the exact semantics).
    Calls {
        service: String,
        /// Requests the service serves at once (absent: all of them).
        #[serde(default)]
        workers: Option<Whole>,
        timeout_ms: Number,
        #[serde(default)]
        retry: Option<RetryFile>,
        #[serde(default)]
        budget: Option<BudgetFile>,
        #[serde(default)]
        breaker: Option<BreakerFile>,
        #[serde(default)]
        order: OrderFile,
        schedule: Vec<PhaseFile>,
        #[serde(default)]
        bug: Option<BreakerBugFile>,
    },
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
#[derive(Debug, Deserialize)]
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

fn default_resend_ms() -> Number {
    Number(20.0)
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
    pub every_ms: Number,
    pub count: Whole,
    #[serde(default)]
    pub size_bytes: Option<Whole>,
}

#[derive(Debug, Default, Deserialize)]
pub enum SendFile {
    #[default]
    Unicast,
    Multicast,
    Broadcast,
}

#[derive(Debug, Deserialize)]
pub enum CheckFile {
    NoLoss,
    NoDuplicates,
    NoCorruptionDelivered,
    NoSilentLoss,
    /// No cycle of blocked processes that no timeout can break.
    NoDeadlock,
    /// Every task on a work queue is taken by exactly one consumer, once.
    ExactlyOnceTaken,
    AtMostOnce,
    ExactlyOnceEffect,
    /// Every multicast from a correct node reaches every correct recipient, judged
    /// `settle_ms` after the last fault.
    Validity {
        settle_ms: Number,
    },
    /// A message delivered at one correct node reaches every correct recipient.
    Agreement {
        settle_ms: Number,
    },
    /// No duplicates, no invented messages, no delivery outside the destination.
    Integrity,
    FifoOrder,
    CausalOrder,
    TotalOrder,
    /// Every breaker transition is legal and on time, judged from the calls' admissions and endings.
    CircuitBreaker,
    /// Every crash is suspected by every correct node within `bound_ms`; with
    /// `max_false`, at most that many suspicions of nodes that were up.
    FailureDetection {
        bound_ms: Number,
        #[serde(default)]
        max_false: Option<Whole>,
    },
    /// No message the adversary tampered with, replayed or forged is delivered.
    NoForgeryAccepted,
    /// The adversary reads no payload in what it captures.
    NoPlaintextLeak,
    /// Virtual synchrony: members agree on each view, and survivors of a view delivered alike in it.
    ViewAgreement,
    /// No message of a kind its true sender may not send is delivered.
    AccessControlEnforced,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    #[serde(default)]
    pub max_events: Option<Whole>,
    #[serde(default)]
    pub max_in_flight: Option<Whole>,
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

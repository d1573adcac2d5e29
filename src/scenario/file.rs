//! The scenario file as written: RON, deserialised with serde, close to the text.
//!
//! Nothing here is validated beyond its syntax; `scenario::validate` turns a
//! `ScenarioFile` into a `Scenario` or a list of positioned errors. Field names
//! here are the scenario format; the book's scenario reference documents each.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(rename = "Scenario", deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: u64,
    pub horizon_ms: Number,
    pub nodes: NodesFile,
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
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
    pub workload: Vec<WorkloadFile>,
    #[serde(default)]
    pub checks: Vec<CheckFile>,
    #[serde(default)]
    pub limits: LimitsFile,
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
    /// Send once, never retry: unicast, multicast and broadcast as the command asks.
    BestEffort {
        /// Verify the checksum and discard corrupted copies.
        #[serde(default = "yes")]
        checksum: bool,
        /// Remember delivered message ids and deliver each at most once.
        #[serde(default)]
        dedup: bool,
    },
    /// Two nodes bounce one message `round_trips` times (the engine benchmark).
    PingPong { round_trips: u64 },
    /// Push gossip: on first receipt, forward to `fanout` random peers.
    Gossip { fanout: u32 },
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
    pub bandwidth_bps: Option<u64>,
    #[serde(default)]
    pub queue_limit: Option<u64>,
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
    pub bandwidth_bps: Option<u64>,
    #[serde(default)]
    pub queue_limit: Option<u64>,
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
    pub crashes: Option<(u64, u64)>,
    #[serde(default)]
    pub partitions: Option<(u64, u64)>,
    #[serde(default)]
    pub window_ms: Option<(Number, Number)>,
    #[serde(default)]
    pub downtime_ms: Option<(Number, Number)>,
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
    pub count: u64,
    #[serde(default)]
    pub size_bytes: Option<u64>,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    #[serde(default)]
    pub max_events: Option<u64>,
    #[serde(default)]
    pub max_in_flight: Option<u64>,
}

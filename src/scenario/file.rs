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
    PingPong { round_trips: Whole },
    /// Push gossip: on first receipt, forward to `fanout` random peers.
    Gossip { fanout: Whole },
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
    pub bandwidth_bps: Option<Whole>,
    #[serde(default)]
    pub queue_limit: Option<Whole>,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    #[serde(default)]
    pub max_events: Option<Whole>,
    #[serde(default)]
    pub max_in_flight: Option<Whole>,
}

//! The protocol library. Each module owns one protocol (or one layer of the group transport):
//! its process, its configuration as scenarios write it, its validation and its factory (an
//! implementation of [`Protocol`](crate::plugin::Protocol)); `registry.rs` registers them.

pub mod anti_entropy;
pub mod at_least_once;
pub mod at_most_once;
pub mod best_effort;
pub mod broadcast;
pub mod broadcast_flood;
pub mod broadcast_gossip;
pub mod calls;
pub mod causal;
pub mod durable_pubsub;
pub mod durable_queue;
pub mod exactly_once;
pub mod exchange;
pub mod fifo;
pub mod gossip;
pub mod gossip_rounds;
pub mod group;
pub mod heartbeat;
pub mod isis;
pub mod jitter;
pub mod lamport;
pub mod pingpong;
pub mod pubsub;
pub mod rmcast;
pub mod rpc;
pub mod rumour;
pub mod secure_channel;
pub mod sequencer;
pub mod service;
pub mod two_generals;
pub mod views;
pub mod work_queue;

use crate::id::NodeId;
use crate::process::Cluster;
use crate::scenario::Seg;
use crate::scenario::file::Number;
use crate::time::NANOS_PER_MS;

/// Milliseconds as written to nanoseconds, rounded. Validation has bounded the value; on a
/// scenario that failed it the result is never used, so a saturating cast suffices.
pub(crate) fn ns(ms: Number) -> u64 {
    (ms.0 * NANOS_PER_MS as f64).round() as u64
}

/// Shorthand for a configuration field in a validation path.
pub(crate) fn field(name: &'static str) -> Seg {
    Seg::Field(name)
}

/// The nodes `name` stands for, in the scenario's order, `except` left out: a group's members
/// as the group lists them (a group's name wins over a node's), every node for "*", or the node
/// so named. What a queue's consumers are, in the order its fresh broker counts them idle.
pub(crate) fn members_in_order(cluster: &Cluster, name: &str, except: NodeId) -> Vec<NodeId> {
    let members = match cluster.groups.iter().find(|(g, _)| g == name) {
        Some((_, members)) => members.clone(),
        None if name == "*" => cluster.nodes().collect(),
        None => cluster.id(name).into_iter().collect(),
    };
    members.into_iter().filter(|&n| n != except).collect()
}

/// Names as nodes: a node's name, a group's name (its members) or "*" (every node); sorted.
pub fn resolve(cluster: &Cluster, names: &[String]) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = Vec::new();
    for name in names {
        if name == "*" {
            out.extend(cluster.nodes());
        } else if let Some(n) = cluster.id(name) {
            out.push(n);
        } else if let Some((_, members)) = cluster.groups.iter().find(|(g, _)| g == name) {
            out.extend(members);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

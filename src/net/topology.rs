//! Which directed links exist.

use crate::id::NodeId;
use petgraph::graphmap::DiGraphMap;

/// The links of the network. A full mesh stores nothing; any other shape is a
/// petgraph graph, which validation also uses to report connectivity.
#[derive(Clone, Debug)]
pub enum Topology {
    /// Every pair of distinct nodes, both directions; nothing stored.
    FullMesh,
    /// Exactly the directed edges of this graph, between node indices.
    Graph(DiGraphMap<u32, (), rustc_hash::FxBuildHasher>),
}

impl Topology {
    /// Whether `from` may send to `to` directly; msgsim does not route, so without a link the
    /// message is dropped `NoLink`.
    #[inline]
    pub fn has_link(&self, from: NodeId, to: NodeId) -> bool {
        match self {
            Topology::FullMesh => true,
            Topology::Graph(g) => g.contains_edge(from.0, to.0),
        }
    }

    /// Directed links in a graph topology; `None` for a full mesh.
    pub fn link_count(&self) -> Option<usize> {
        match self {
            Topology::FullMesh => None,
            Topology::Graph(g) => Some(g.edge_count()),
        }
    }

    /// Whether every node can reach every other (following link directions).
    pub fn strongly_connected(&self, nodes: usize) -> bool {
        match self {
            Topology::FullMesh => true,
            Topology::Graph(g) => {
                let mut graph = g.clone();
                for n in 0..nodes as u32 {
                    graph.add_node(n);
                }
                petgraph::algo::kosaraju_scc(&graph).len() <= 1
            }
        }
    }
}

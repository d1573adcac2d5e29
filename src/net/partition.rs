//! Partitions: rules that cut directions between sets of nodes until healed.

use crate::id::NodeId;

/// One active cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionRule {
    /// Nodes on different sides cannot talk in either direction.
    /// `side[node]` numbers the node's side.
    Split {
        /// Per node, its side's number; nodes on no named side share the last number.
        side: Vec<u32>,
    },
    /// Messages from a node in `from` to a node in `to` are blocked; the other
    /// direction still works.
    OneWay {
        /// Per node, whether it is a sender the cut blocks.
        from: Vec<bool>,
        /// Per node, whether it is a receiver the cut blocks.
        to: Vec<bool>,
    },
}

impl PartitionRule {
    fn blocks(&self, from: NodeId, to: NodeId) -> bool {
        match self {
            PartitionRule::Split { side } => side[from.index()] != side[to.index()],
            PartitionRule::OneWay { from: f, to: t } => f[from.index()] && t[to.index()],
        }
    }
}

/// The cuts in force. Several may be active at once; a message is blocked if any blocks it.
#[derive(Clone, Debug)]
pub struct Partitions {
    rules: Vec<PartitionRule>,
    nodes: usize,
}

impl Partitions {
    /// No cut in force, among `nodes` nodes.
    pub fn new(nodes: usize) -> Partitions {
        Partitions { rules: Vec::new(), nodes }
    }

    /// Cut between `sides`; nodes named in no side together form one more side.
    pub fn split(&mut self, sides: &[Vec<NodeId>]) {
        let rest = sides.len() as u32;
        let mut side = vec![rest; self.nodes];
        for (i, members) in sides.iter().enumerate() {
            for n in members {
                side[n.index()] = i as u32;
            }
        }
        self.rules.push(PartitionRule::Split { side });
    }

    /// Cut the direction from every node of `from` to every node of `to`.
    pub fn one_way(&mut self, from: &[NodeId], to: &[NodeId]) {
        let set = |nodes: &[NodeId]| {
            let mut v = vec![false; self.nodes];
            nodes.iter().for_each(|n| v[n.index()] = true);
            v
        };
        self.rules.push(PartitionRule::OneWay { from: set(from), to: set(to) });
    }

    /// Remove every cut in force.
    pub fn heal(&mut self) {
        self.rules.clear();
    }

    /// Whether any cut in force blocks a message from `from` to `to`; checked when it is sent.
    #[inline]
    pub fn blocks(&self, from: NodeId, to: NodeId) -> bool {
        !self.rules.is_empty() && self.rules.iter().any(|r| r.blocks(from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_blocks_across_sides_only() {
        let mut p = Partitions::new(5);
        p.split(&[vec![NodeId(0), NodeId(1)], vec![NodeId(2)]]);
        assert!(!p.blocks(NodeId(0), NodeId(1)));
        assert!(p.blocks(NodeId(0), NodeId(2)) && p.blocks(NodeId(2), NodeId(0)));
        // n3 and n4 are named nowhere: they form a third side together.
        assert!(!p.blocks(NodeId(3), NodeId(4)));
        assert!(p.blocks(NodeId(3), NodeId(1)));
        p.heal();
        assert!(!p.blocks(NodeId(0), NodeId(2)));
    }

    #[test]
    fn one_way_blocks_one_direction() {
        let mut p = Partitions::new(3);
        p.one_way(&[NodeId(0)], &[NodeId(1), NodeId(2)]);
        assert!(p.blocks(NodeId(0), NodeId(1)));
        assert!(!p.blocks(NodeId(1), NodeId(0)));
    }
}

//! The wait-for graph: which blocked process waits on which, since when, and the cycles those waits close.
//!
//! A blocked process waits on exactly one other (the receiver of its
//! synchronous send, the callee of its call, the full mailbox's owner), so the
//! graph has at most one edge out of each node and a cycle through a node is
//! found by following edges from it: at most one step per node. A wait is
//! *settled* once the one it waits on has done its part (taken the synchronous
//! message, granted room): the notice that releases it is on the network, so
//! the edge points at the network, not at a process, and closes no cycle. The simulator
//! keeps one to report deadlocks as they form; the `NoDeadlock` check rebuilds
//! its own from the trace's `block` and `unblock` lines.

use crate::id::NodeId;
use crate::time::SimTime;
use crate::trace::BlockReason;

/// One blocked process's wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// The process waited on: the receiver of its synchronous send, the callee, or the full
    /// mailbox's owner.
    pub on: NodeId,
    /// What it waits for.
    pub reason: BlockReason,
    /// When the wait began, in true simulated time.
    pub since: SimTime,
    /// Whether a timeout will end the wait if nothing else does.
    pub timeout: bool,
    /// The one waited on has done its part; only the notice's trip remains.
    pub settled: bool,
}

/// A cycle of waits: `members[i]` waits on `members[i + 1]`, the last on the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitCycle {
    /// The blocked processes of the cycle with their waits, in wait order, each once.
    pub members: Vec<(NodeId, Wait)>,
}

impl WaitCycle {
    /// No member's wait can time out: only a crash can break it.
    pub fn permanent(&self) -> bool {
        self.members.iter().all(|(_, w)| !w.timeout)
    }
}

/// Who waits on whom, one slot per node: at most one wait out of each process.
#[derive(Clone, Debug, Default)]
pub struct WaitGraph {
    waits: Vec<Option<Wait>>,
}

impl WaitGraph {
    /// A graph of `nodes` processes, none waiting.
    pub fn new(nodes: usize) -> WaitGraph {
        WaitGraph { waits: vec![None; nodes] }
    }

    /// `node` blocks with `wait`, replacing any wait it had.
    pub fn block(&mut self, node: NodeId, wait: Wait) {
        self.waits[node.index()] = Some(wait);
    }

    /// `node` goes on; its wait, if it had one, is returned.
    pub fn release(&mut self, node: NodeId) -> Option<Wait> {
        self.waits[node.index()].take()
    }

    /// `node`'s wait no longer depends on the one it waits on: its release is on the way.
    pub fn settle(&mut self, node: NodeId) {
        if let Some(w) = self.waits[node.index()].as_mut() {
            w.settled = true;
        }
    }

    /// `node`'s wait, if it is blocked.
    pub fn wait_of(&self, node: NodeId) -> Option<&Wait> {
        self.waits[node.index()].as_ref()
    }

    /// Every wait in force, by node.
    pub fn blocked(&self) -> impl Iterator<Item = (NodeId, Wait)> + '_ {
        self.waits.iter().enumerate().filter_map(|(i, w)| w.map(|w| (NodeId(i as u32), w)))
    }

    /// The cycle through `node`, if following the waits from it comes back to it. A node
    /// whose waits lead into a cycle that does not contain it is not in a cycle.
    pub fn cycle_through(&self, node: NodeId) -> Option<WaitCycle> {
        let mut members = Vec::new();
        let mut at = node;
        for _ in 0..self.waits.len() {
            let wait = self.waits[at.index()].filter(|w| !w.settled)?;
            members.push((at, wait));
            at = wait.on;
            if at == node {
                return Some(WaitCycle { members });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(on: u32, timeout: bool) -> Wait {
        Wait { on: NodeId(on), reason: BlockReason::SyncSend, since: SimTime::ZERO, timeout, settled: false }
    }

    #[test]
    fn a_settled_wait_closes_no_cycle() {
        let mut g = WaitGraph::new(2);
        g.block(NodeId(0), wait(1, false));
        g.settle(NodeId(0));
        g.block(NodeId(1), wait(0, false));
        assert_eq!(g.cycle_through(NodeId(1)), None, "node 0's release is on the network");
    }

    #[test]
    fn finds_the_cycle_a_wait_closes() {
        let mut g = WaitGraph::new(4);
        g.block(NodeId(0), wait(1, false));
        g.block(NodeId(1), wait(2, false));
        assert_eq!(g.cycle_through(NodeId(1)), None, "a chain is not a cycle");
        g.block(NodeId(2), wait(0, true));
        let cycle = g.cycle_through(NodeId(2)).expect("0 -> 1 -> 2 -> 0");
        let order: Vec<u32> = cycle.members.iter().map(|(n, _)| n.0).collect();
        assert_eq!(order, [2, 0, 1]);
        assert!(!cycle.permanent(), "node 2's wait can time out");
        g.release(NodeId(2));
        assert_eq!(g.cycle_through(NodeId(0)), None);
    }

    #[test]
    fn a_wait_into_someone_elses_cycle_is_not_in_it() {
        let mut g = WaitGraph::new(3);
        g.block(NodeId(0), wait(1, false));
        g.block(NodeId(1), wait(0, false));
        g.block(NodeId(2), wait(0, false));
        assert_eq!(g.cycle_through(NodeId(2)), None);
        assert!(g.cycle_through(NodeId(0)).is_some_and(|c| c.permanent()));
    }
}

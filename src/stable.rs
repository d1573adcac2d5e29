//! Stable storage: a log per node that survives the node's crashes and restarts, unlike
//! everything else its process holds.
//!
//! A crash drops a node's process (`Process` is made again by the protocol's factory at
//! restart), so by default a restarted node remembers nothing. A protocol that keeps state on
//! disk makes a [`StableStorage`] in its factory (one per run: the factory is called afresh
//! for every run, so nothing leaks between runs or seeds) and hands each process it makes the
//! [`Disk`] of its node: the restarted process finds there what its earlier incarnations
//! appended, and nothing else.
//!
//! An append is durable the moment it is made. How long a write takes, and so what a crash
//! loses, is the protocol's to model: it keeps a write pending in memory and appends it when
//! its own write timer fires. A crash in between loses the write with the timer (timers die
//! with their process), which is exactly a crash before the `fsync` returned. No node can
//! read another's disk, and nothing here reads the simulator's state; the disk changes only
//! through its process's handlers, so a run stays a function of its scenario and seed.

use crate::id::NodeId;
use std::cell::RefCell;
use std::rc::Rc;

/// Every node's disk for one run; made by a protocol's factory.
pub struct StableStorage<R> {
    disks: Vec<Disk<R>>,
}

impl<R> StableStorage<R> {
    /// Empty disks for `nodes` nodes.
    pub fn new(nodes: usize) -> StableStorage<R> {
        StableStorage { disks: (0..nodes).map(|_| Disk { log: Rc::new(RefCell::new(Vec::new())) }).collect() }
    }

    /// `node`'s disk: the same log every time, so a restarted process reads what its
    /// predecessors wrote.
    pub fn disk(&self, node: NodeId) -> Disk<R> {
        Disk { log: Rc::clone(&self.disks[node.index()].log) }
    }
}

/// One node's stable storage: an append-only log of records `R`.
pub struct Disk<R> {
    log: Rc<RefCell<Vec<R>>>,
}

impl<R: Clone> Disk<R> {
    /// Append `record`: durable from now on, whatever happens to the process.
    pub fn append(&self, record: R) {
        self.log.borrow_mut().push(record);
    }

    /// Every record appended so far, oldest first (what recovery replays).
    pub fn records(&self) -> Vec<R> {
        self.log.borrow().clone()
    }

    /// How many records the log holds.
    pub fn len(&self) -> usize {
        self.log.borrow().len()
    }

    /// The heap the log holds, for a process's `heap_bytes`: it grows with every record and
    /// is never truncated.
    pub fn heap_bytes(&self) -> u64 {
        crate::process::capacity_bytes::<R>(self.log.borrow().capacity())
    }

    /// Whether nothing was ever appended.
    pub fn is_empty(&self) -> bool {
        self.log.borrow().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_outlives_the_process_holding_it_and_stays_its_own_nodes() {
        let storage = StableStorage::<u32>::new(2);
        let first = storage.disk(NodeId(0));
        first.append(7);
        drop(first); // the process crashed
        let restarted = storage.disk(NodeId(0));
        assert_eq!(restarted.records(), vec![7]);
        restarted.append(8);
        assert_eq!(restarted.records(), vec![7, 8]);
        assert!(storage.disk(NodeId(1)).is_empty(), "another node's disk is untouched");
    }
}

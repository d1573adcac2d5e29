//! The memory budget of the state that grows with the workload: what the processes hold
//! (`Process::heap_bytes`), what the checkers hold (`Checker::heap_bytes`) and what waits at
//! the nodes (mailboxes, events held for a paused or blocked process), and a trace kept for a
//! caller that asked to count it (`RunOptions::budget_kept_trace`, and the network decisions
//! `msgsim shrink` records, `budget_decisions`; read with the checkers),
//! added to the messages in flight against `limits.max_memory_mb`; and what a search
//! (`msgsim explore`) keeps, against the same limit (`SearchBudget`).
//!
//! The engine reads a process's bytes after each of its handlers, which is exact and costs a
//! few lengths (nothing for a process that declares none); it reads the checkers', behind a
//! virtual call each, every [`CHECKER_SAMPLE_EVENTS`] trace events or a sixteenth of the trace
//! so far, whichever is more, which bounds what they can grow unseen to that many events' records.
//! What waits at the nodes is counted every 4,096 steps or one per node, whichever is more (a
//! walk over the nodes, only in a scenario with a mailbox, a pause or a blocked process). All are functions of the scenario and the seed,
//! so the run stops at the same event every time.

use crate::process::{capacity_bytes, map_bytes};
use crate::verdict::{Checker, EndReason};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How many trace events pass at least between two readings of the checkers' bytes: a checker
/// adds at most a record or two per event, so early in a run a few hundred kilobytes at most go
/// unseen between them (later, a sixteenth of what the run recorded so far).
pub const CHECKER_SAMPLE_EVENTS: u64 = 4096;

/// What the allocator adds to each allocation beside what was asked (its header, and rounding up
/// to its size classes): counted where many small allocations are kept (a search's queued paths).
pub const ALLOCATION_BYTES: u64 = 16;

/// The heap `map` holds (see [`map_bytes`]): for a `heap_bytes` that names the field, not its types.
pub fn map<K, V>(map: &BTreeMap<K, V>) -> u64 {
    map_bytes::<K, V>(map.len())
}

/// The heap `set` holds (see [`map_bytes`]).
pub fn set<K>(set: &BTreeSet<K>) -> u64 {
    map_bytes::<K, ()>(set.len())
}

/// The heap `items` holds: its capacity.
pub fn vec<T>(items: &Vec<T>) -> u64 {
    capacity_bytes::<T>(items.capacity())
}

/// The heap `items` holds: its capacity.
pub fn deque<T>(items: &VecDeque<T>) -> u64 {
    capacity_bytes::<T>(items.capacity())
}

/// The sum of `bytes` over `items`: the heap of collections nested in a collection (a walk,
/// for a checker's reading every few thousand events, never for a process's after each handler).
pub fn nested<I: IntoIterator>(items: I, bytes: impl Fn(I::Item) -> u64) -> u64 {
    items.into_iter().fold(0u64, |sum, item| sum.saturating_add(bytes(item)))
}

/// The sum of `parts`, saturating.
pub fn total(parts: &[u64]) -> u64 {
    parts.iter().fold(0u64, |sum, &b| sum.saturating_add(b))
}

/// The bytes of state held against the memory budget, and when the checkers are read next.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StateBudget {
    /// `max_memory_mb` in bytes.
    limit: u64,
    /// What the processes reported last, summed over the nodes.
    processes: u64,
    /// What the checkers reported at the last reading.
    checkers: u64,
    /// What waited at the nodes at the last checkpoint (mailboxes, held events).
    parked: u64,
    /// What a trace or the network decisions kept for a caller held at the last checkpoint
    /// (`RunOptions::budget_kept_trace`, `budget_decisions`).
    kept_trace: u64,
    /// The engine's own place for every node (its process, random stream, clock and queues'
    /// heads), fixed for the run: 100,000 nodes take tens of megabytes before anything happens.
    engine: u64,
    /// The trace's length at which to read the checkers next (and to test `max_trace_events`).
    pub(crate) next_checkpoint: u64,
    /// The step at which the engine counts what waits at the nodes next (and tests `max_events`).
    pub(crate) next_walk: u64,
}

impl StateBudget {
    /// A budget of `max_memory_mb` MiB, nothing held yet; the first checkpoint is at once.
    pub(crate) fn new(max_memory_mb: u64) -> StateBudget {
        StateBudget {
            limit: max_memory_mb.saturating_mul(1 << 20),
            processes: 0,
            checkers: 0,
            parked: 0,
            kept_trace: 0,
            engine: 0,
            next_checkpoint: 0,
            next_walk: 0,
        }
    }

    /// The engine holds `bytes` for its nodes for the whole run.
    pub(crate) fn hold_engine(&mut self, bytes: u64) {
        self.engine = bytes;
    }

    /// A process that held `before` bytes now holds `now` (0 once it crashed).
    pub(crate) fn process_moved(&mut self, before: u64, now: u64) {
        self.processes = self.processes.saturating_sub(before).saturating_add(now);
    }

    /// Read what `checkers` hold now, at trace length `events`, and set the next checkpoint:
    /// `CHECKER_SAMPLE_EVENTS` on or a sixteenth of the trace so far, whichever is more (a
    /// checker may walk its nested records to count them, and readings that grow apart as
    /// the trace does keep those walks to a constant share of the run), or just past
    /// `max_trace_events` if that comes first.
    pub(crate) fn read_checkers<'c>(&mut self, checkers: impl Iterator<Item = &'c dyn Checker>, events: u64, max_trace_events: u64) {
        self.checkers = checkers.fold(0u64, |sum, c| sum.saturating_add(c.heap_bytes()));
        let gap = CHECKER_SAMPLE_EVENTS.max(events / 16);
        self.next_checkpoint = events.saturating_add(gap).min(max_trace_events.saturating_add(1));
    }

    /// What waits at the nodes now, counted at a step checkpoint.
    pub(crate) fn set_parked(&mut self, bytes: u64) {
        self.parked = bytes;
    }

    /// What the kept trace and decisions hold now, counted at a trace checkpoint.
    pub(crate) fn set_kept_trace(&mut self, bytes: u64) {
        self.kept_trace = bytes;
    }

    /// What the budget leaves for the messages in flight.
    pub(crate) fn left_for_messages(&self) -> u64 {
        self.limit.saturating_sub(self.held())
    }

    /// `MaxMemory` if the state alone is over the budget.
    pub(crate) fn exceeded(&self) -> Option<EndReason> {
        (self.held() > self.limit).then_some(EndReason::MaxMemory)
    }

    /// The processes', checkers', nodes' waiting, the kept trace's and the engine's bytes together.
    fn held(&self) -> u64 {
        total(&[self.processes, self.checkers, self.parked, self.kept_trace, self.engine])
    }
}

/// The memory budget of a search (`msgsim explore`), which keeps what `run` never does: the
/// states found (their fingerprints and the tree of paths to them), the queue of transitions
/// still to take, and the worlds kept to copy successors from. Those, and the largest one state
/// or run the search made at a time, are counted against `limits.max_memory_mb`; the search
/// stops, incomplete, once they pass it. Every count is a function of the scenario, the seed
/// and the bounds, so the search stops at the same transition every time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SearchBudget {
    /// `max_memory_mb` in bytes.
    limit: u64,
    /// What the search keeps to go on beyond its tables and queue: the worlds kept to copy from.
    kept: u64,
    /// What its queue takes.
    queue: u64,
    /// The largest single state (its processes, wire, timers and trace) or run made so far:
    /// one is alive at a time beside what is kept.
    largest: u64,
    /// What a parallel search's workers hold beside what is kept: the last batch's worlds,
    /// alive on their workers until the next batch, and the spare worlds each keeps.
    workers: u64,
}

impl SearchBudget {
    /// A budget of `max_memory_mb` MiB, nothing held yet.
    pub(crate) fn new(max_memory_mb: u64) -> SearchBudget {
        SearchBudget { limit: max_memory_mb.saturating_mul(1 << 20), kept: 0, queue: 0, largest: 0, workers: 0 }
    }

    /// The search now keeps `bytes` more.
    pub(crate) fn keep(&mut self, bytes: u64) {
        self.kept = self.kept.saturating_add(bytes);
    }

    /// The search no longer keeps `bytes` it kept.
    pub(crate) fn release(&mut self, bytes: u64) {
        self.kept = self.kept.saturating_sub(bytes);
    }

    /// The queue takes `bytes` now.
    pub(crate) fn set_queue(&mut self, bytes: u64) {
        self.queue = bytes;
    }

    /// One state or run of `bytes` was made (it lives beside what is kept while it is used).
    pub(crate) fn made(&mut self, bytes: u64) {
        self.largest = self.largest.max(bytes);
    }

    /// The workers of a parallel search hold `batch` bytes of the last batch's worlds, and up
    /// to `spares` spare worlds, each counted as the largest made so far.
    pub(crate) fn set_workers(&mut self, batch: u64, spares: u64) {
        self.workers = batch.saturating_add(spares.saturating_mul(self.largest));
    }

    /// Whether what is kept, the largest state or run, what the workers hold, and `tables`
    /// (the search's own tables, measured by the caller) are over the budget together.
    pub(crate) fn exceeded(&self, tables: u64) -> bool {
        total(&[self.kept, self.queue, self.largest, self.workers, tables]) > self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{RunEnd, Verdict};

    struct Holding(u64);
    impl Checker for Holding {
        fn observe(&mut self, _: &crate::trace::TraceEvent) {}
        fn verdict(&self, _: &RunEnd) -> Verdict {
            Verdict::inconclusive("")
        }
        fn heap_bytes(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn state_is_counted_until_it_is_freed_and_leaves_the_rest_to_messages() {
        let mut budget = StateBudget::new(1);
        budget.process_moved(0, 600 << 10);
        assert_eq!(budget.left_for_messages(), 424 << 10);
        assert_eq!(budget.exceeded(), None);
        let checkers = [Holding(300 << 10), Holding(200 << 10)];
        budget.read_checkers(checkers.iter().map(|c| c as &dyn Checker), 10, u64::MAX);
        assert_eq!(budget.exceeded(), Some(EndReason::MaxMemory), "1,100 KiB held of 1,024");
        assert_eq!(budget.left_for_messages(), 0);
        budget.process_moved(600 << 10, 0);
        assert_eq!(budget.exceeded(), None, "a crash frees its process's state");
        budget.hold_engine(600 << 10);
        assert_eq!(budget.exceeded(), Some(EndReason::MaxMemory), "the engine's nodes count too");
        budget.hold_engine(0);
        assert_eq!(budget.next_checkpoint, 10 + CHECKER_SAMPLE_EVENTS);
        budget.read_checkers(std::iter::empty(), 1 << 20, u64::MAX);
        assert_eq!(budget.next_checkpoint, (1 << 20) + (1 << 16), "readings grow apart with the trace");
        budget.read_checkers(std::iter::empty(), 10, 100);
        assert_eq!(budget.next_checkpoint, 101, "the trace limit is tested as soon as it is passed");
    }

    #[test]
    fn a_search_counts_what_it_keeps_and_its_largest_state_once() {
        let mut search = SearchBudget::new(1);
        search.keep(600 << 10);
        search.made(300 << 10);
        search.made(100 << 10);
        assert!(!search.exceeded(124 << 10), "1,024 KiB in all is within 1 MiB");
        assert!(search.exceeded(125 << 10));
        search.set_queue(24 << 10);
        assert!(search.exceeded(101 << 10), "the queue counts too");
        search.set_queue(0);
        search.release(600 << 10);
        assert!(!search.exceeded(700 << 10), "a released world no longer counts; the largest state still does");
        assert!(search.exceeded(725 << 10));
        search.set_workers(100 << 10, 2);
        // 300 KiB largest, 100 KiB of a batch's worlds and two spares of 300 KiB each.
        assert!(search.exceeded(25 << 10), "a batch's worlds and the spares, each as large as the largest");
        assert!(!search.exceeded(24 << 10));
    }
}

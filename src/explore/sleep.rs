//! Sleep sets: the partial-order reduction of the asynchronous search, which skips a step when
//! another path already reaches what it would.
//!
//! Two steps at different nodes commute: taken in either order from a state they lead to one
//! state (ids and clocks are per node, so the fingerprints agree). If a state steps first by
//! `u` and then by `t`, independent of `u`, then from the state `t` leads to, `u` need not be
//! taken again: it reaches the state that `u` then `t` reached. Such a `u` is *asleep* at the
//! state `t` led to, and stays asleep along further independent steps. A state's sleep set is
//! what every path that first reaches it (at its depth, breadth-first) agrees is asleep: the
//! intersection of what each of those arrivals brings. The search takes every other step. It
//! still finds every state within the bounds, each by the same first path and in the same order
//! as without the reduction (a step skipped only ever arrived at a state found before), so
//! states, verdicts and counterexamples do not change: only the transitions taken, each a copy
//! of a process, a step and a fingerprint, fall (by about five in the lossless broadcast
//! benchmark, ten transitions a state to two).
//!
//! Which steps are independent, at a state where both are enabled:
//! - a step at one node (a command, a timer, a delivery, loss, duplication or corruption of a
//!   message to it) and a step at another: they touch different processes and their own
//!   messages only, so neither disables the other and they commute;
//! - unless both are faults and the fault bound leaves room for only one of them, which then
//!   disables the other;
//! - crashes, restarts, partitions and heals are independent of nothing (a cut changes what
//!   every node's sends do).
//!
//! An arrival at a state found at a smaller depth brings nothing: the state's sleep set was
//! settled by the arrivals at its own depth (which, breadth-first, all come before it is
//! stepped from), and the steps they put to sleep are covered by paths no longer than its own,
//! so depth bounds cut nothing the full search would reach.
//!
//! What the reduction does not preserve: the order of events at different nodes within a path,
//! which was already judged on one interleaving of each class, and which interleaving reaches
//! the in-flight limit first (a path ended by `max_in_flight` is judged as one of them).

use super::asynchronous::Step;
use std::collections::VecDeque;

/// Who a step acts on, for deciding which steps commute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Actor {
    /// The node whose process and messages it touches; [`Actor::EVERY`] for a crash, restart,
    /// partition or heal.
    node: u32,
    /// Whether it is a fault (counted against the fault bound).
    fault: bool,
}

impl Actor {
    const EVERY: u32 = u32::MAX;

    pub(super) fn at(node: u32, fault: bool) -> Actor {
        Actor { node, fault }
    }

    pub(super) fn everywhere() -> Actor {
        Actor { node: Self::EVERY, fault: true }
    }

    /// Whether steps by `self` and `other` commute at a state that has used `faults` of
    /// `max_faults`, where both are enabled.
    fn independent(self, other: Actor, faults: usize, max_faults: usize) -> bool {
        self.node != other.node
            && self.node != Self::EVERY
            && other.node != Self::EVERY
            && !(self.fault && other.fault && faults.saturating_add(2) > max_faults)
    }
}

/// A step asleep (or taken) and who it acts on.
type Sleeper = (Step, Actor);

/// A state's sleep set, kept from when the state is found until it is stepped from.
struct Sleeping {
    depth: usize,
    faults: usize,
    /// Where its steps are in `Sleeps::arena` (counted from the arena's first step ever).
    start: u64,
    len: u32,
}

/// The sleep sets of the states found and not yet stepped from, in the order found (so in
/// queue order), and of the state being stepped from.
///
/// Every new state gets one, under the key the seen table holds for it (its index in the tree
/// plus one; 0 for the boot state), also a state whose path ends there (with nothing to step
/// from, it is passed over): so a state's sleep set is found from its key by one subtraction.
pub(super) struct Sleeps {
    /// Off: every enabled step is taken (`--no-reduction`).
    on: bool,
    max_faults: usize,
    found: VecDeque<Sleeping>,
    /// The key of `found`'s first.
    first: u32,
    /// Their steps, one run per state, in the same order, from `arena[head]` (the ones before
    /// are done with, and dropped when they are half of it).
    arena: Vec<Sleeper>,
    head: usize,
    /// The step at `arena[0]`, counted from the first step ever.
    base: u64,
    /// The state stepped from: its sleep set, then the steps taken from it so far (both put a
    /// step to sleep in the successors of a later, independent step).
    current: Vec<Sleeper>,
    /// How many of `current` are its sleep set.
    asleep: usize,
    faults: usize,
    /// The successor's sleep set being made (a buffer).
    next: Vec<Sleeper>,
}

impl Sleeps {
    pub(super) fn new(on: bool, max_faults: usize) -> Sleeps {
        Sleeps {
            on,
            max_faults,
            found: VecDeque::new(),
            first: 0,
            arena: Vec::new(),
            head: 0,
            base: 0,
            current: Vec::new(),
            asleep: 0,
            faults: 0,
            next: Vec::new(),
        }
    }

    /// What the sleep sets kept take, for the memory budget.
    pub(super) fn bytes(&self) -> u64 {
        (self.found.capacity() * std::mem::size_of::<Sleeping>() + self.arena.capacity() * std::mem::size_of::<Sleeper>()) as u64
    }

    /// Begin stepping from the state `key`: its sleep set becomes the current one. The states
    /// found before it are done with (stepped from, or ends of paths).
    pub(super) fn wake(&mut self, key: u32) {
        self.current.clear();
        self.asleep = 0;
        self.faults = 0;
        let Some(at) = self.at(key) else { return };
        let entry = &self.found[at];
        let start = (entry.start - self.base) as usize;
        self.current.extend_from_slice(&self.arena[start..start + entry.len as usize]);
        self.asleep = self.current.len();
        self.faults = entry.faults;
        // Forget it and every state before it.
        self.head = start + entry.len as usize;
        self.found.drain(..=at);
        self.first = key + 1;
        if self.head * 2 > self.arena.len() {
            self.arena.drain(..self.head);
            self.base += self.head as u64;
            self.head = 0;
        }
    }

    /// Whether `step` is asleep at the current state (so it is not taken).
    pub(super) fn is_asleep(&self, step: Step) -> bool {
        self.current[..self.asleep].iter().any(|&(s, _)| s == step)
    }

    /// The steps asleep at state `key`, if it is not yet stepped from (for a worker to skip them).
    pub(super) fn asleep_at(&self, key: u32) -> Vec<Step> {
        self.set(key).map(|set| set.map(|&(s, _)| s).collect()).unwrap_or_default()
    }

    /// Whether `step` is asleep at state `key`.
    pub(super) fn is_asleep_at(&self, key: u32, step: Step) -> bool {
        self.set(key).is_some_and(|mut set| set.any(|&(s, _)| s == step))
    }

    fn at(&self, key: u32) -> Option<usize> {
        let at = key.checked_sub(self.first)? as usize;
        (at < self.found.len()).then_some(at)
    }

    fn set(&self, key: u32) -> Option<impl Iterator<Item = &Sleeper>> {
        let entry = &self.found[self.at(key)?];
        let start = (entry.start - self.base) as usize;
        Some(self.arena[start..start + entry.len as usize].iter())
    }

    /// The current state takes `step` by its actor (none: the boot state, which nothing
    /// precedes): make the sleep set of the arrival, and count the step as taken for the steps
    /// after it.
    pub(super) fn take(&mut self, step: Option<(Step, Actor)>) {
        self.next.clear();
        let Some((step, actor)) = step else { return };
        if !self.on {
            return;
        }
        let (faults, max) = (self.faults, self.max_faults);
        self.next.extend(self.current.iter().filter(|(_, a)| a.independent(actor, faults, max)));
        self.current.push((step, actor));
    }

    /// The arrival just made (by [`Sleeps::take`]) found a new state, `key`, at `depth` with
    /// `faults` used.
    pub(super) fn found(&mut self, key: u32, depth: usize, faults: usize) {
        debug_assert_eq!(key, self.first + self.found.len() as u32, "every state found has a sleep set, in key order");
        let start = self.base + self.arena.len() as u64;
        self.arena.extend_from_slice(&self.next);
        self.found.push_back(Sleeping { depth, faults, start, len: self.next.len() as u32 });
    }

    /// The arrival just made reached the state `key` found before, at `depth`: at the state's
    /// own depth, only what both agree on stays asleep.
    pub(super) fn meet(&mut self, key: u32, depth: usize) {
        let Some(at) = self.at(key) else { return };
        let entry = &mut self.found[at];
        if entry.depth != depth || entry.len == 0 {
            return;
        }
        // Keep, in place, the steps the arrival also has asleep.
        let start = (entry.start - self.base) as usize;
        let mut kept = 0;
        for i in 0..entry.len as usize {
            let sleeper = self.arena[start + i];
            if self.next.iter().any(|(n, _)| *n == sleeper.0) {
                self.arena[start + kept] = sleeper;
                kept += 1;
            }
        }
        entry.len = kept as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::MsgId;

    #[test]
    fn steps_at_different_nodes_commute_unless_the_fault_bound_has_room_for_one() {
        let (a, b) = (Actor::at(0, false), Actor::at(1, false));
        assert!(a.independent(b, 0, 0));
        assert!(!a.independent(Actor::at(0, false), 0, 9), "one node's steps do not");
        assert!(!a.independent(Actor::everywhere(), 0, 9), "a cut or crash commutes with nothing");
        let (fa, fb) = (Actor::at(0, true), Actor::at(1, true));
        assert!(fa.independent(fb, 0, 2));
        assert!(!fa.independent(fb, 1, 2), "room for one more fault: taking either disables the other");
        assert!(fa.independent(b, 1, 2), "a fault and a step that is not one");
    }

    #[test]
    fn a_step_sleeps_after_an_independent_one_and_the_arrivals_at_a_depth_agree() {
        let mut sleeps = Sleeps::new(true, 0);
        let (u, t, w) = (Step::Deliver(MsgId(1)), Step::Deliver(MsgId(2)), Step::Deliver(MsgId(3)));
        sleeps.found(0, 0, 0);
        sleeps.wake(0);
        sleeps.take(Some((u, Actor::at(0, false))));
        sleeps.found(1, 1, 0);
        sleeps.take(Some((t, Actor::at(1, false))));
        sleeps.found(2, 1, 0);
        sleeps.take(Some((w, Actor::at(0, false))));
        sleeps.found(3, 1, 0);
        assert_eq!(sleeps.asleep_at(1), Vec::<Step>::new());
        assert_eq!(sleeps.asleep_at(2), vec![u], "u then t reached what t then u would");
        assert_eq!(sleeps.asleep_at(3), vec![t], "w and u are one node's: u is not asleep after w");
        // Another arrival at 2 at its depth that brings nothing asleep wakes u there.
        sleeps.take(Some((Step::Heal(0), Actor::everywhere())));
        sleeps.meet(2, 1);
        assert_eq!(sleeps.asleep_at(2), Vec::<Step>::new());
        // One at another depth changes nothing.
        sleeps.take(Some((Step::Timer(crate::id::TimerId(8)), Actor::at(0, false))));
        sleeps.meet(3, 2);
        assert_eq!(sleeps.asleep_at(3), vec![t]);
        sleeps.wake(3);
        assert!(sleeps.is_asleep(t) && !sleeps.is_asleep(u));
    }
}

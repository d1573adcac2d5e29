//! Sleep sets: the partial-order reduction of the asynchronous search, which skips a step when
//! another path already reaches what it would.
//!
//! Two steps at different nodes commute: taken in either order from a state they lead to one
//! state (ids and clocks are per node, so the fingerprints agree). If a state steps first by
//! `u` and then by `t`, independent of `u`, then from the state `t` leads to, `u` need not be
//! taken again: it reaches the state that `u` then `t` reached. Such a `u` is *asleep* at the
//! state `t` led to, and stays asleep along further independent steps. A state's sleep set is
//! what the arrivals at its own depth agree is asleep (breadth-first, they all come before it is
//! stepped from): the intersection of what each brings. The search takes every other step. A
//! search that runs to its end still finds every state within the bounds, each by the same first
//! path and in the same order as without the reduction (a step skipped only ever arrived at a
//! state found before), so states, verdicts and counterexamples do not change: only the
//! transitions taken, each a copy of a process, a step and a fingerprint, fall (by about four
//! in the lossless broadcast benchmark, ten transitions a state to 2.3). A search cut by
//! `--max-runs`, which counts transitions, gets further with it.
//!
//! Which steps are independent, at a state where both are enabled:
//! - a step at one node (a command, a timer, a delivery, loss, duplication or corruption of a
//!   message to it) and a step at another: they touch different processes and their own
//!   messages only, so neither disables the other and they commute;
//! - unless both are faults and the fault bound leaves room for only one of them, which then
//!   disables the other; or the in-flight budget (`max_in_flight`, `max_memory_mb`) has no room
//!   for everything both send, so that the one taken first could end the path (what a step
//!   sends is measured when it is tried, and is the same wherever it sleeps, since only steps
//!   at other nodes come between);
//! - crashes, restarts, partitions and heals are independent of nothing (a cut changes what
//!   every node's sends do).
//!
//! An arrival at a state found at a smaller depth brings nothing: the state's sleep set was
//! settled by the arrivals at its own depth (which, breadth-first, all come before it is
//! stepped from), and the steps they put to sleep are covered by paths no longer than its own,
//! so depth bounds cut nothing the full search would reach.
//!
//! A step that panicked reaches no state and is not put to sleep, so later paths meet the panic
//! as they would without the reduction. What the reduction does not change either: a check that
//! depends on the order of events at different nodes within a path was already judged on one
//! interleaving of each merged class.

use super::asynchronous::Step;
use crate::scenario::Limits;
use std::collections::VecDeque;

/// Who a step acts on and what it puts on the wire, for deciding which steps commute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Actor {
    /// The node whose process and messages it touches; [`Actor::EVERY`] for a crash, restart,
    /// partition or heal.
    node: u32,
    /// Whether it is a fault (counted against the fault bound).
    fault: bool,
    /// Messages it sent, and their bytes as the in-flight budget counts them (the same wherever
    /// it is taken while it sleeps: only steps at other nodes come between).
    sent: u64,
    sent_bytes: u64,
}

/// What a step sent, and the wire of the state it reached (see [`Actor`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Load {
    pub(super) sent: u64,
    pub(super) sent_bytes: u64,
    pub(super) wire: u64,
    pub(super) wire_bytes: u64,
}

/// The state two steps are weighed at: its faults and wire, and the bounds on both.
#[derive(Clone, Copy)]
struct Room {
    faults: usize,
    max_faults: usize,
    wire: u64,
    max_in_flight: u64,
    wire_bytes: u64,
    max_bytes: u64,
}

impl Actor {
    const EVERY: u32 = u32::MAX;

    pub(super) fn at(node: u32, fault: bool) -> Actor {
        Actor { node, fault, sent: 0, sent_bytes: 0 }
    }

    /// A step that commutes with nothing (whether it is a fault no longer matters).
    pub(super) fn everywhere() -> Actor {
        Actor { node: Self::EVERY, fault: false, sent: 0, sent_bytes: 0 }
    }

    /// Whether steps by `self` and `other` commute at a state (`room`) where both are enabled:
    /// at different nodes, the fault bound has room for both if both are faults, and the
    /// in-flight budget for everything both send (else the one taken first could end the path
    /// before the other, or leave no room for its sends).
    fn independent(self, other: Actor, room: Room) -> bool {
        self.node != other.node
            && self.node != Self::EVERY
            && other.node != Self::EVERY
            && !(self.fault && other.fault && room.faults.saturating_add(2) > room.max_faults)
            && room.wire.saturating_add(self.sent).saturating_add(other.sent) <= room.max_in_flight
            && room.wire_bytes.saturating_add(self.sent_bytes).saturating_add(other.sent_bytes) <= room.max_bytes
    }
}

/// A step asleep (or taken) and who it acts on.
type Sleeper = (Step, Actor);

/// A state's sleep set, kept from when the state is found until it is stepped from.
struct Sleeping {
    depth: usize,
    faults: usize,
    wire: u64,
    wire_bytes: u64,
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
    /// The state stepped from, with the scenario's bounds.
    room: Room,
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
    /// The successor's sleep set being made (a buffer).
    next: Vec<Sleeper>,
}

impl Sleeps {
    pub(super) fn new(on: bool, max_faults: usize, limits: &Limits) -> Sleeps {
        let room = Room {
            faults: 0,
            max_faults,
            wire: 0,
            max_in_flight: limits.max_in_flight,
            wire_bytes: 0,
            max_bytes: limits.max_memory_mb.saturating_mul(1 << 20),
        };
        Sleeps {
            on,
            room,
            found: VecDeque::new(),
            first: 0,
            arena: Vec::new(),
            head: 0,
            base: 0,
            current: Vec::new(),
            asleep: 0,
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
        let Some(at) = self.at(key) else { return };
        let entry = &self.found[at];
        let start = (entry.start - self.base) as usize;
        self.current.extend_from_slice(&self.arena[start..start + entry.len as usize]);
        self.asleep = self.current.len();
        (self.room.faults, self.room.wire, self.room.wire_bytes) = (entry.faults, entry.wire, entry.wire_bytes);
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
    /// precedes), which sent what `load` says (none: it reached no state, as a panic): make the
    /// sleep set of the arrival, and count the step as taken for the steps after it.
    pub(super) fn take(&mut self, step: Option<(Step, Actor)>, load: Option<Load>) {
        self.next.clear();
        let (Some((step, actor)), Some(load), true) = (step, load, self.on) else { return };
        let actor = Actor { sent: load.sent, sent_bytes: load.sent_bytes, ..actor };
        let room = self.room;
        self.next.extend(self.current.iter().filter(|(_, a)| a.independent(actor, room)));
        self.current.push((step, actor));
    }

    /// The arrival just made (by [`Sleeps::take`]) found a new state, `key`, at `depth` with
    /// `faults` used.
    pub(super) fn found(&mut self, key: u32, depth: usize, faults: usize, load: Load) {
        debug_assert_eq!(key, self.first + self.found.len() as u32, "every state found has a sleep set, in key order");
        let start = self.base + self.arena.len() as u64;
        self.arena.extend_from_slice(&self.next);
        let (wire, wire_bytes) = (load.wire, load.wire_bytes);
        self.found.push_back(Sleeping { depth, faults, wire, wire_bytes, start, len: self.next.len() as u32 });
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

    fn room(faults: usize, max_faults: usize, wire: u64, max_in_flight: u64) -> Room {
        Room { faults, max_faults, wire, max_in_flight, wire_bytes: 0, max_bytes: u64::MAX }
    }

    fn sending(node: u32, sent: u64) -> Actor {
        Actor { sent, ..Actor::at(node, false) }
    }

    #[test]
    fn steps_at_different_nodes_commute_unless_a_bound_has_room_for_one() {
        let (a, b) = (Actor::at(0, false), Actor::at(1, false));
        let free = room(0, 0, 0, u64::MAX);
        assert!(a.independent(b, free));
        assert!(!a.independent(Actor::at(0, false), free), "one node's steps do not");
        assert!(!a.independent(Actor::everywhere(), free), "a cut or crash commutes with nothing");
        let (fa, fb) = (Actor::at(0, true), Actor::at(1, true));
        assert!(fa.independent(fb, room(0, 2, 0, u64::MAX)));
        assert!(!fa.independent(fb, room(1, 2, 0, u64::MAX)), "room for one more fault: taking either disables the other");
        assert!(fa.independent(b, room(1, 2, 0, u64::MAX)), "a fault and a step that is not one");
        // Two steps that each send one message, on a wire holding one of at most three: both
        // fit in either order; with at most two, the first to send would end the path.
        assert!(sending(0, 1).independent(sending(1, 1), room(0, 0, 1, 3)));
        assert!(!sending(0, 1).independent(sending(1, 1), room(0, 0, 1, 2)));
        let bytes = Room { max_bytes: 100, wire_bytes: 60, ..free };
        let heavy = |node| Actor { sent_bytes: 30, ..Actor::at(node, false) };
        assert!(!heavy(0).independent(heavy(1), bytes), "the memory budget is room too");
        assert!(heavy(0).independent(Actor::at(1, false), bytes));
    }

    #[test]
    fn a_step_sleeps_after_an_independent_one_and_the_arrivals_at_a_depth_agree() {
        let unbounded = Limits {
            max_events: u64::MAX,
            max_in_flight: u64::MAX,
            max_fragments: u64::MAX,
            max_trace_events: u64::MAX,
            max_memory_mb: u64::MAX,
        };
        let mut sleeps = Sleeps::new(true, 0, &unbounded);
        let (u, t, w) = (Step::Deliver(MsgId(1)), Step::Deliver(MsgId(2)), Step::Deliver(MsgId(3)));
        let some = Some(Load::default());
        sleeps.found(0, 0, 0, Load::default());
        sleeps.wake(0);
        sleeps.take(Some((u, Actor::at(0, false))), some);
        sleeps.found(1, 1, 0, Load::default());
        sleeps.take(Some((t, Actor::at(1, false))), some);
        sleeps.found(2, 1, 0, Load::default());
        sleeps.take(Some((w, Actor::at(0, false))), some);
        sleeps.found(3, 1, 0, Load::default());
        assert_eq!(sleeps.asleep_at(1), Vec::<Step>::new());
        assert_eq!(sleeps.asleep_at(2), vec![u], "u then t reached what t then u would");
        assert_eq!(sleeps.asleep_at(3), vec![t], "w and u are one node's: u is not asleep after w");
        // A step that panicked is not taken: it sleeps nowhere.
        sleeps.take(Some((Step::Timer(crate::id::TimerId(7)), Actor::at(3, false))), None);
        sleeps.take(Some((Step::Timer(crate::id::TimerId(6)), Actor::at(4, false))), some);
        sleeps.found(4, 1, 0, Load::default());
        assert_eq!(sleeps.asleep_at(4), vec![u, t, w]);
        // Another arrival at 2 at its depth that brings nothing asleep wakes u there.
        sleeps.take(Some((Step::Heal(0), Actor::everywhere())), some);
        sleeps.meet(2, 1);
        assert_eq!(sleeps.asleep_at(2), Vec::<Step>::new());
        // One at another depth changes nothing.
        sleeps.take(Some((Step::Timer(crate::id::TimerId(8)), Actor::at(0, false))), some);
        sleeps.meet(3, 2);
        assert_eq!(sleeps.asleep_at(3), vec![t]);
        sleeps.wake(3);
        assert!(sleeps.is_asleep(t) && !sleeps.is_asleep(u));
    }
}

//! The event queue: a radix heap on time, one byte per level, whose equal times pop in the
//! order they were pushed.
//!
//! Simulated time never goes backwards (nothing is scheduled before the last event popped),
//! which is what a radix heap needs. The events whose time shares all but its lowest byte with
//! the last popped time (the current *window* of 256 ns) wait in `window`, sorted by time and,
//! among equal times, in push order. Any other lives in the bucket named by the highest *byte*
//! in which its time differs from the last popped time (its level, 1 to 7) and its own value
//! in that byte (the digit). Buckets are ordered by (level, digit), and every event of a bucket
//! is earlier than every event of a later bucket, and later than the whole window. Popping
//! from an empty window takes the lowest non-empty bucket: at level 1 all its events share one
//! window, so the whole bucket becomes the window at once and is sorted there; at a higher
//! level its events are spread, around their minimum, into lower levels (or the window).
//!
//! Buckets hold 16-byte entries (a time and a slot); the events themselves wait in a slab
//! whose freed slots the next pushes reuse. A spread moves entries, never events, and popping
//! reads the event from its slot once, so an event's size costs only where it is written and
//! read.
//!
//! Each bucket is kept in push order: pushes append, and a spread (into empty lower buckets)
//! keeps the relative order of what it moves. Equal times always share a bucket, so a stable
//! sort of the window by time keeps them in push order, and a push into a non-empty window
//! goes behind every entry of its time: they pop exactly as a heap keyed on (time, sequence)
//! would. An event moves at most once per level below the one it was pushed at, and its digit
//! spreads its level's events over 256 buckets: times 1-10 ms ahead (levels 2 and 3) are moved
//! once or twice and then sorted among the few of their window; a level of 256 single-time
//! buckets below the window moved each of them once more and popped each from its own bucket.

use crate::time::SimTime;
use std::collections::VecDeque;

/// Levels: one per byte of a `u64` time (level 0, the window, has no buckets in use).
const LEVELS: usize = 8;
/// Buckets per level: one per value of a byte.
const DIGITS: usize = 256;
/// The largest allocation (in entries) an emptied bucket keeps for its next use. Each bucket
/// at levels 3 and up is used once per window of 2^24 ns or more, so one that kept the
/// capacity of its fullest moment would hold memory for the whole run: with 10,000 gossiping
/// nodes that was 110 MB of the run's 28 MB.
const KEEP_CAPACITY: usize = 1024;
/// Words of the occupancy bitmap: one bit per bucket.
const WORDS: usize = LEVELS * DIGITS / 64;

/// What the buckets hold: an event's time and the slab slot of its body. Sixteen bytes
/// whatever the event's size, so moving an entry between buckets, and popping one, copies
/// two words; the body is written once, when pushed, and read once, when popped.
#[derive(Clone, Copy)]
struct Entry {
    time: SimTime,
    slot: u32,
}

/// Where a popped event waits until it is taken: `EventQueue::pop_slot`, `event`, `take`.
#[derive(Clone, Copy, Debug)]
pub struct Slot(u32);

/// Pending events. Invariant: `pop` returns events in (time, push order).
pub struct EventQueue<E> {
    /// Entries in the last popped time's 256-ns window, sorted by (time, push order).
    window: VecDeque<Entry>,
    /// Bucket `level * DIGITS + digit`, each in push order (level 0 unused).
    buckets: Vec<Vec<Entry>>,
    /// Event bodies, by slot; `None` in a free slot. It grows to the most events ever
    /// pending at once and no further: a popped event's slot is reused by the next push.
    slab: Vec<Option<E>>,
    /// The allocation of the last bucket emptied that was too large to keep (over
    /// `KEEP_CAPACITY`), for the next bucket that outgrows `KEEP_CAPACITY`: with 100,000
    /// gossiping nodes a level-2 bucket fills to about 2,600 entries every 65 us, and growing
    /// each from nothing copied every entry twice more (realloc was 2 % of the run).
    spare: Vec<Entry>,
    /// Free slots of `slab`, the most recently freed last: the next push takes the slot whose
    /// memory was touched last, which is still in the cache.
    free: Vec<u32>,
    last: SimTime,
    /// Bit `b % 64` of word `b / 64` set when bucket `b` holds events.
    occupied: [u64; WORDS],
    /// Bit `w` set when word `w` of `occupied` is not zero: the lowest bucket is two
    /// `trailing_zeros` away.
    words: u32,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            window: VecDeque::new(),
            buckets: (0..LEVELS * DIGITS).map(|_| Vec::new()).collect(),
            slab: Vec::new(),
            spare: Vec::new(),
            free: Vec::new(),
            last: SimTime::ZERO,
            occupied: [0; WORDS],
            words: 0,
        }
    }
}

/// The bucket of `time` when the last popped time is `last`, if it is not in `last`'s window.
#[inline(always)]
fn bucket(time: SimTime, last: SimTime) -> Option<usize> {
    let differ = time.0 ^ last.0;
    if differ < DIGITS as u64 {
        return None;
    }
    let level = (63 - differ.leading_zeros() as usize) / 8;
    Some(level * DIGITS + ((time.0 >> (8 * level)) as usize & (DIGITS - 1)))
}

impl<E> EventQueue<E> {
    /// Schedule `event` at `time`, which must not be before the last event popped.
    #[inline(always)]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(time >= self.last, "scheduled in the past: {time:?} < {:?}", self.last);
        let slot = match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slab[slot as usize].is_none(), "slot {slot} is free");
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = u32::try_from(self.slab.len()).expect("fewer than 2^32 events pending");
                self.slab.push(Some(event));
                slot
            }
        };
        let entry = Entry { time, slot };
        match bucket(time, self.last) {
            None => self.join_window(entry),
            Some(b) => self.put(b, entry),
        }
    }

    /// Put `entry` at the end of bucket `b`.
    #[inline(always)]
    fn put(&mut self, b: usize, entry: Entry) {
        let bucket = &self.buckets[b];
        if bucket.len() == bucket.capacity() {
            self.grow(b);
        }
        self.buckets[b].push(entry);
        self.occupied[b / 64] |= 1 << (b % 64);
        self.words |= 1 << (b / 64);
    }

    /// Make room in full bucket `b`: in the spare allocation if the bucket has outgrown what an
    /// emptied bucket keeps and the spare is larger; otherwise `push` doubles it.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, b: usize) {
        let len = self.buckets[b].len();
        if len >= KEEP_CAPACITY && self.spare.capacity() > len {
            let mut spare = std::mem::take(&mut self.spare);
            spare.extend_from_slice(&self.buckets[b]);
            self.buckets[b] = spare;
        }
    }

    /// Insert a pushed `entry` of the window behind every entry of its time or earlier.
    #[inline]
    fn join_window(&mut self, entry: Entry) {
        match self.window.back() {
            Some(back) if back.time > entry.time => {
                let at = self.window.partition_point(|e| e.time <= entry.time);
                self.window.insert(at, entry);
            }
            _ => self.window.push_back(entry),
        }
    }

    /// The time of the next event. Takes `&mut self`: finding it may reorganise buckets.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if let Some(entry) = self.window.front() {
            return Some(entry.time);
        }
        let b = self.lowest()?;
        match self.buckets[b].as_slice() {
            [entry] => Some(entry.time),
            _ => {
                self.fill_window(b);
                Some(self.last)
            }
        }
    }

    /// The next event and its time, taken out of the queue (the engine pops a slot instead,
    /// to read a delivery in place; the tests pop whole events).
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let (time, slot) = self.pop_slot()?;
        Some((time, self.take(slot)))
    }

    /// The time and slot of the next event, which stays in its slot until `take`n: a caller
    /// can read its fields where they lie (`event`) before moving it.
    #[inline]
    pub fn pop_slot(&mut self) -> Option<(SimTime, Slot)> {
        self.pop_entry().map(|entry| (entry.time, Slot(entry.slot)))
    }

    /// The event in `slot`, popped and not yet taken.
    #[inline(always)]
    pub fn event(&self, slot: Slot) -> &E {
        self.slab[slot.0 as usize].as_ref().expect("a popped slot holds its event until taken")
    }

    /// Move the event out of `slot`, popped and not yet taken, and free the slot.
    #[inline(always)]
    pub fn take(&mut self, slot: Slot) -> E {
        let event = self.slab[slot.0 as usize].take().expect("a popped slot holds its event until taken");
        self.free.push(slot.0);
        event
    }

    /// The next entry, in (time, push order).
    #[inline(always)]
    fn pop_entry(&mut self) -> Option<Entry> {
        if self.window.is_empty() {
            let b = self.lowest()?;
            if self.buckets[b].len() == 1 {
                // A single event (the usual case with few in flight) is the earliest.
                let entry = self.buckets[b].pop().expect("length 1");
                self.vacate(b);
                self.last = entry.time;
                return Some(entry);
            }
            self.fill_window(b);
        }
        let entry = self.window.pop_front().expect("a filled window");
        self.last = entry.time;
        Some(entry)
    }

    /// The lowest non-empty bucket, if any.
    #[inline(always)]
    fn lowest(&self) -> Option<usize> {
        if self.words == 0 {
            return None;
        }
        let w = self.words.trailing_zeros() as usize;
        Some(w * 64 + self.occupied[w].trailing_zeros() as usize)
    }

    /// Mark bucket `b` empty.
    #[inline(always)]
    fn vacate(&mut self, b: usize) {
        let w = b / 64;
        self.occupied[w] &= !(1 << (b % 64));
        if self.occupied[w] == 0 {
            self.words &= !(1 << w);
        }
    }

    /// With the window empty, move the earliest entries of bucket `b` (the lowest non-empty,
    /// of more than one entry) into it, sorted; their minimum becomes the last popped time.
    fn fill_window(&mut self, b: usize) {
        self.vacate(b);
        let mut entries = std::mem::take(&mut self.buckets[b]);
        if b < 2 * DIGITS {
            // A level-1 bucket spans one window: it becomes the window, and the window's empty
            // allocation the bucket's. Its events are popped next, one by one, each reading
            // its slot, written when the event was pushed, long enough ago to have left the
            // cache when the nodes are many (100,000 gossiping nodes spent a sixth of their
            // time on that read). Loading the slots here, where nothing waits for the values,
            // brings them back in parallel rather than one miss per pop.
            for entry in &entries {
                std::hint::black_box(self.slab[entry.slot as usize].is_some());
            }
            // Stable: equal times keep their push order.
            entries.sort_by_key(|e| e.time);
            self.last = entries[0].time;
            let empty = std::mem::replace(&mut self.window, VecDeque::from(entries));
            if empty.capacity() <= KEEP_CAPACITY {
                self.buckets[b] = Vec::from(empty);
            }
            return;
        }
        // Spread around the minimum. Lower buckets are empty (this was the lowest non-empty),
        // so order within each is kept; the window, empty too, takes its entries in push order
        // and is sorted (stably) once they are all in.
        self.last = entries.iter().map(|e| e.time).min().expect("occupied buckets are non-empty");
        for entry in entries.drain(..) {
            match bucket(entry.time, self.last) {
                None => self.window.push_back(entry),
                Some(lower) => self.put(lower, entry),
            }
        }
        self.window.make_contiguous().sort_by_key(|e| e.time);
        // Hand a small allocation back so the bucket need not grow again; keep a large one as
        // the spare (the next bucket to outgrow a small one takes it), freeing the spare before.
        if entries.capacity() <= KEEP_CAPACITY {
            self.buckets[b] = entries;
        } else {
            self.spare = entries;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};
    use std::collections::BinaryHeap;

    #[test]
    fn equal_times_pop_in_push_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), "b1");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "b2");
        q.push(SimTime(5), "b3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b1", "b2", "b3"]);
    }

    /// Equal times split between a bucket made the window whole and pushes after that, across a
    /// carry into the next byte: all pop in push order.
    #[test]
    fn a_bucket_made_the_window_keeps_push_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(0x1ff), "a");
        q.push(SimTime(0x205), "b1");
        q.push(SimTime(0x205), "b2");
        assert_eq!(q.pop(), Some((SimTime(0x1ff), "a")));
        // From 0x1ff, 0x203 and 0x205 differ in the second byte: they join b1 and b2's bucket.
        q.push(SimTime(0x205), "b3");
        q.push(SimTime(0x203), "c");
        assert_eq!(q.pop(), Some((SimTime(0x203), "c")));
        // b1..b3 are now in the window; b4 queues behind them.
        assert_eq!(q.pop(), Some((SimTime(0x205), "b1")));
        q.push(SimTime(0x205), "b4");
        q.push(SimTime(0x1_0000), "d");
        let rest: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(rest, ["b2", "b3", "b4", "d"]);
    }

    /// A push into a window that holds later times goes before them and behind its own time's.
    #[test]
    fn a_push_into_the_window_goes_behind_its_equal_times() {
        let mut q = EventQueue::default();
        for (t, e) in [(0x107, "late"), (0x103, "b1"), (0x101, "a"), (0x103, "b2")] {
            q.push(SimTime(t), e);
        }
        // All four share the window of 0x100..0x200 and a level-1 bucket: popping sorts them.
        assert_eq!(q.pop(), Some((SimTime(0x101), "a")));
        q.push(SimTime(0x103), "b3");
        q.push(SimTime(0x101), "a2");
        q.push(SimTime(0x1ff), "last");
        let rest: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(rest, ["a2", "b1", "b2", "b3", "late", "last"]);
    }

    /// Regression: every bucket kept the capacity of its fullest moment, and a bucket of a high
    /// level is used once per long window, so a 10,000-node gossip run held 110 MB for 28 MB.
    #[test]
    fn emptied_buckets_do_not_keep_large_allocations() {
        let mut q = EventQueue::default();
        let mut retained = 0;
        for window in 0..8u64 {
            // 5,000 events half a window ahead: one bucket of level 3 each window, a new one.
            let start = (window << 24) + (1 << 23);
            for i in 0..5_000 {
                q.push(SimTime(start + i * 100), i);
            }
            let popped = std::iter::from_fn(|| q.pop()).count();
            assert_eq!(popped, 5_000);
            retained = q.buckets.iter().map(Vec::capacity).sum::<usize>() + q.window.capacity() + q.spare.capacity();
        }
        // Kept: the small buckets below and one spare, not eight allocations of 5,000 events.
        assert!(retained < 20_000, "{retained} events of capacity kept");
    }

    /// A bucket that outgrows what an emptied bucket keeps takes the allocation of the last
    /// large bucket emptied, instead of growing from nothing by doubling (copying each entry
    /// about twice more).
    #[test]
    fn a_bucket_outgrowing_the_kept_capacity_takes_the_spare() {
        let mut q = EventQueue::default();
        let fill = |q: &mut EventQueue<u64>, window: u64| {
            let start = (window << 24) + (1 << 23);
            for i in 0..5_000 {
                q.push(SimTime(start + i * 100), i);
            }
        };
        // From the first window on, each fill is one bucket of level 3 (the very first, from
        // time 0, spreads over level 2).
        for window in 0..2 {
            fill(&mut q, window);
            assert_eq!(std::iter::from_fn(|| q.pop()).count(), 5_000);
        }
        let spare = q.spare.as_ptr();
        assert!(q.spare.capacity() >= 5_000, "the emptied bucket's allocation is the spare");
        fill(&mut q, 2);
        let b = q.lowest().expect("pending");
        assert_eq!(q.buckets[b].as_ptr(), spare, "the filling bucket took the spare");
        assert_eq!(q.spare.capacity(), 0);
    }

    /// The slab grows to the most events pending at once, not with the number pushed: each pop
    /// frees a slot that the next push takes (no allocation per event once a run is going).
    #[test]
    fn slots_are_reused_so_the_slab_stays_at_the_most_pending() {
        let mut q = EventQueue::default();
        q.push(SimTime(0), 0u64);
        q.push(SimTime(0), 1);
        for i in 2..10_000u64 {
            let (time, _) = q.pop().expect("two pending");
            q.push(SimTime(time.0 + 1 + i % 7), i);
        }
        assert_eq!(q.slab.len(), 2, "a slot per event pending at most");
        assert!(q.free.is_empty(), "both slots hold a pending event");
    }

    /// Pops the queue against a binary heap on (time, push sequence) over a workload whose
    /// delays come from `delay` (given the step), interleaving pushes, peeks and pops.
    fn differential(seed: u64, steps: u32, mut delay: impl FnMut(&mut SimRng, u32) -> u64) {
        let mut rng = SimRng::new(seed, Stream::Workload);
        let mut q = EventQueue::default();
        let mut reference = BinaryHeap::new();
        let (mut seq, mut now) = (0u64, 0u64);
        for step in 0..steps {
            if rng.below(5) < 3 || reference.is_empty() {
                let at = now.saturating_add(delay(&mut rng, step));
                q.push(SimTime(at), seq);
                reference.push(std::cmp::Reverse((at, seq)));
                seq += 1;
            } else {
                let std::cmp::Reverse((t, s)) = reference.pop().unwrap();
                assert_eq!(q.peek_time(), Some(SimTime(t)), "seed {seed} step {step}");
                assert_eq!(q.pop(), Some((SimTime(t), s)), "seed {seed} step {step}");
                now = t;
            }
        }
        while let Some(std::cmp::Reverse((t, s))) = reference.pop() {
            assert_eq!(q.pop(), Some((SimTime(t), s)));
        }
        assert_eq!(q.pop(), None);
    }

    /// Phases of very different gaps between events (nanoseconds to seconds), with ties, zero
    /// delays and far outliers in every phase: the shapes the bench workloads and timers make.
    #[test]
    fn matches_a_heap_across_changing_gaps() {
        for seed in 0..4 {
            differential(seed, 400_000, |rng, step| {
                let scale = [1u64 << 20, 1 << 4, 1 << 30, 1 << 10, 3][(step / 40_000) as usize % 5];
                match rng.below(100) {
                    0 => rng.below(1 << 45),
                    1..=4 => 0,
                    5..=9 => rng.below(4),
                    _ => rng.below(scale),
                }
            });
        }
    }

    /// Times at the very end of the clock (saturated timers) neither overflow nor reorder.
    #[test]
    fn matches_a_heap_at_the_end_of_time() {
        differential(7, 20_000, |rng, _| if rng.below(10) == 0 { u64::MAX } else { rng.below(1 << 20) });
    }

    /// The radix queue pops exactly what a binary heap keyed on (time, push sequence)
    /// pops, over random monotone workloads with many ties.
    #[test]
    fn matches_a_heap_on_time_and_sequence() {
        for seed in 0..20 {
            let mut rng = SimRng::new(seed, Stream::Workload);
            let mut q = EventQueue::default();
            let mut reference = BinaryHeap::new();
            let (mut seq, mut now) = (0u64, 0u64);
            for _ in 0..20_000 {
                if rng.below(3) > 0 || reference.is_empty() {
                    // Small spans make many equal times; occasional huge jumps exercise high buckets.
                    let delay = if rng.below(50) == 0 { rng.below(1 << 40) } else { rng.below(8) };
                    q.push(SimTime(now + delay), seq);
                    reference.push(std::cmp::Reverse((now + delay, seq)));
                    seq += 1;
                } else {
                    let std::cmp::Reverse((t, s)) = reference.pop().unwrap();
                    assert_eq!(q.peek_time(), Some(SimTime(t)));
                    assert_eq!(q.pop(), Some((SimTime(t), s)), "seed {seed}");
                    now = t;
                }
            }
            while let Some(std::cmp::Reverse((t, s))) = reference.pop() {
                assert_eq!(q.pop(), Some((SimTime(t), s)));
            }
            assert_eq!(q.pop(), None);
        }
    }
}

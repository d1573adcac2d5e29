//! The event queue: a calendar queue on time whose equal times pop in the order they were pushed.
//!
//! Simulated time never goes backwards (nothing is scheduled before the last event popped).
//! Events are kept in three tiers by *key*, their time divided by the bucket width (a power
//! of two, `1 << shift` nanoseconds):
//!
//! - `current`: the events of the bucket being popped, sorted by time (reversed, so the next
//!   is at the end); an event pushed into it is inserted after those of equal time;
//! - `ring`: one bucket per key for the next `ring.len()` keys, each in push order, found
//!   through a bitmap of occupied buckets; a bucket becomes `current` by a stable sort;
//! - `far`: everything later, in a radix heap (the queue this one replaced, which pops in
//!   (time, push order) too). When the window of the ring moves forward, the far events it
//!   now covers move into their buckets at once, before anything else can be pushed there.
//!
//! So every bucket holds its events in push order, a stable sort keeps equal times in that
//! order, and equal times pop in push order, exactly as a heap keyed on (time, sequence)
//! would. An event is written once into its bucket and once more by the sort, instead of
//! moving down a radix heap's buckets several times: with thousands pending that traffic
//! was a third of the run.
//!
//! The width and the ring's length follow the workload: every `RETUNE_POPS` pops the queue
//! compares them with the mean gap between popped times (a few events per bucket) and the
//! span the pending events cover, and rebuilds itself if they are off by a factor of four.

use crate::time::SimTime;
use std::collections::VecDeque;

/// Pops between two looks at whether the bucket width and ring length still fit.
const RETUNE_POPS: u32 = 8192;
/// Ring lengths (powers of two): the bitmap search stays short, the bucket headers small.
const MIN_RING: usize = 64;
const MAX_RING: usize = 1 << 16;
/// Events per bucket the width aims at (rounded down to a power of two: 4 to 8). Measured on
/// the broadcast bench: 2 per bucket took 13 % more instructions than 8, 16 no fewer.
const TARGET_PER_BUCKET: u64 = 8;
/// How many times the estimated span of the pending events the ring covers: with 1, a fifth
/// of broadcast's events still went through `far`; 4 gained nothing over 2.
const COVER: u64 = 2;

/// Pending events. Invariant: `pop` returns events in (time, push order).
pub struct EventQueue<E> {
    /// The bucket `base`'s events, sorted by time, latest first (equal times: last pushed first).
    current: Vec<(SimTime, E)>,
    /// Bucket of key `k` (`base < k < base + ring.len()`) is `ring[k % ring.len()]`, in push order.
    ring: Vec<Vec<(SimTime, E)>>,
    /// Bit `j` set when `ring[j]` holds events.
    occupied: Vec<u64>,
    /// Events with keys from `base + ring.len()` on.
    far: RadixHeap<E>,
    /// The key of `current`.
    base: u64,
    /// Bucket width, log 2 (nanoseconds).
    shift: u32,
    last: SimTime,
    /// Events in `ring` and `far` (not `current`).
    pending: usize,
    /// Pops since the last retune, and the time popped then.
    pops: u32,
    tuned_at: SimTime,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::with_shape(10, MIN_RING)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue with buckets `1 << shift` ns wide and `ring` of them (a power of two).
    fn with_shape(shift: u32, ring: usize) -> Self {
        debug_assert!(ring.is_power_of_two() && ring >= 64);
        EventQueue {
            current: Vec::new(),
            ring: (0..ring).map(|_| Vec::new()).collect(),
            occupied: vec![0; ring / 64],
            far: RadixHeap::default(),
            base: 0,
            shift,
            last: SimTime::ZERO,
            pending: 0,
            pops: 0,
            tuned_at: SimTime::ZERO,
        }
    }

    /// Schedule `event` at `time`, which must not be before the last event popped.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(time >= self.last, "scheduled in the past: {time:?} < {:?}", self.last);
        let key = time.0 >> self.shift;
        if self.pending == 0 && self.current.is_empty() {
            // Nothing pending (one event in flight, popped and replaced, is common): the
            // window moves up to this event, as `advance` would move it.
            self.base = self.base.max(key);
            self.current.push((time, event));
            return;
        }
        if key <= self.base {
            // After every event of equal time already there (they were pushed before it).
            let at = self.current.partition_point(|(t, _)| *t > time);
            self.current.insert(at, (time, event));
            return;
        }
        self.pending += 1;
        if key < self.window_end() {
            let slot = key as usize & (self.ring.len() - 1);
            self.ring[slot].push((time, event));
            self.occupied[slot / 64] |= 1 << (slot % 64);
        } else {
            self.far.push(time, event);
        }
    }

    /// The time of the next event. Takes `&mut self`: finding it may move buckets.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if self.current.is_empty() && !self.advance() {
            return None;
        }
        self.current.last().map(|(t, _)| *t)
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.current.is_empty() && !self.advance() {
            return None;
        }
        let item = self.current.pop()?;
        self.last = item.0;
        self.pops += 1;
        Some(item)
    }

    /// Make the next non-empty bucket `current`; false if there are no events.
    #[inline(never)]
    fn advance(&mut self) -> bool {
        if self.pending == 0 {
            return false;
        }
        if self.pops >= RETUNE_POPS {
            self.retune();
            if !self.current.is_empty() {
                return true;
            }
        }
        let next = match self.next_occupied() {
            Some(key) => key,
            None => {
                // The ring is empty: jump to the earliest far event. Later pushes to `far` are
                // beyond the new window, so after it.
                let (time, event) = self.far.pop().expect("pending events are in the ring or far");
                self.pending -= 1;
                self.base = time.0 >> self.shift;
                self.current.push((time, event));
                self.pull_far();
                return true;
            }
        };
        self.base = next;
        let slot = next as usize & (self.ring.len() - 1);
        self.occupied[slot / 64] &= !(1 << (slot % 64));
        // The emptied `current` keeps its allocation for this slot.
        std::mem::swap(&mut self.current, &mut self.ring[slot]);
        self.pending -= self.current.len();
        // Stable: equal times stay in push order; reversed, the first to pop is at the end.
        self.current.sort_by_key(|(t, _)| *t);
        self.current.reverse();
        self.pull_far();
        true
    }

    /// The lowest key after `base` whose bucket holds events, if the ring has any.
    #[inline]
    fn next_occupied(&self) -> Option<u64> {
        let len = self.ring.len();
        let words = self.occupied.len();
        let from = (self.base as usize + 1) & (len - 1);
        let (mut word, bit) = (from / 64, from % 64);
        // The first word masked to the bits from `from` on; the scan wraps once around.
        let mut bits = self.occupied[word] & (!0u64 << bit);
        for step in 0..=words {
            if bits != 0 {
                let slot = word * 64 + bits.trailing_zeros() as usize;
                let ahead = (slot + len - from) & (len - 1);
                return Some(self.base + 1 + ahead as u64);
            }
            if step == words {
                break;
            }
            word = (word + 1) % words;
            bits = self.occupied[word];
            if word == from / 64 {
                // Back at the first word: only its bits before `from` are left.
                bits &= !(!0u64 << bit);
            }
        }
        None
    }

    /// Move the far events the ring's window now covers into their buckets (or `current`).
    fn pull_far(&mut self) {
        // The window's end as a time; every later push to `far` is at or after it.
        let end = self.window_end();
        let limit = SimTime(end.checked_shl(self.shift).filter(|t| t >> self.shift == end).unwrap_or(u64::MAX));
        while let Some((time, event)) = self.far.pop_below(limit) {
            self.pending -= 1;
            self.push(time, event);
        }
    }

    /// The first key past the ring's window.
    #[inline]
    fn window_end(&self) -> u64 {
        self.base.saturating_add(self.ring.len() as u64)
    }

    /// Fit the bucket width to the mean gap between popped events, and the ring to the span
    /// of the pending ones; rebuild if either is off by more than a factor of four.
    #[cold]
    fn retune(&mut self) {
        let gap = (self.last.0 - self.tuned_at.0) / u64::from(self.pops);
        self.pops = 0;
        self.tuned_at = self.last;
        let span = gap.saturating_mul(self.pending as u64).saturating_mul(COVER);
        let mut shift = (gap.saturating_mul(TARGET_PER_BUCKET).max(1)).ilog2();
        let mut ring = ((span >> shift) as usize).next_power_of_two().clamp(MIN_RING, MAX_RING);
        if ring == MAX_RING {
            // A capped ring: wider buckets rather than most events through `far`.
            shift = shift.max((span / MAX_RING as u64).max(1).ilog2());
            ring = ((span >> shift) as usize).next_power_of_two().clamp(MIN_RING, MAX_RING);
        }
        let off = |a: u64, b: u64| a.max(b) / a.min(b).max(1) >= 4;
        if off(1 << shift, 1 << self.shift) || off(ring as u64, self.ring.len() as u64) {
            self.rebuild(shift.min(40), ring);
        }
    }

    /// Re-file every pending event under a new width and ring length, keeping equal times in
    /// push order.
    fn rebuild(&mut self, shift: u32, ring: usize) {
        let mut all: Vec<(SimTime, E)> = Vec::with_capacity(self.pending + self.current.len());
        // `current` first, earliest first; then the ring's buckets (their keys are later);
        // then `far` (later still).
        all.extend(self.current.drain(..).rev());
        // The ring's buckets by key, each in push order: not sorted, but equal times are in
        // one bucket in push order, and every destination below keeps the order it is given.
        // (A sort of everything here was a quarter of a 100,000-node run's instructions.)
        let mask = self.ring.len() - 1;
        for k in 1..self.ring.len() {
            all.append(&mut self.ring[(self.base as usize).wrapping_add(k) & mask]);
        }
        while let Some(item) = self.far.pop() {
            all.push(item);
        }
        let (last, pops, tuned_at) = (self.last, self.pops, self.tuned_at);
        *self = EventQueue::with_shape(shift, ring);
        (self.last, self.pops, self.tuned_at) = (last, pops, tuned_at);
        self.far.last = last;
        self.base = last.0 >> shift;
        for (time, event) in all {
            self.push(time, event);
        }
    }
}

/// Buckets 1..=64 (index 0 unused: equal times live in `zero`).
const BUCKETS: usize = 65;

/// The far tier: a radix heap. Invariant: `pop` returns events in (time, push order).
struct RadixHeap<E> {
    /// Events at exactly `last`, in push order.
    zero: VecDeque<(SimTime, E)>,
    buckets: Vec<Vec<(SimTime, E)>>,
    last: SimTime,
    /// Bit `i - 1` set when bucket `i` holds events: the lowest is one instruction away.
    occupied: u64,
}

impl<E> Default for RadixHeap<E> {
    fn default() -> Self {
        RadixHeap { zero: VecDeque::new(), buckets: (0..BUCKETS).map(|_| Vec::new()).collect(), last: SimTime::ZERO, occupied: 0 }
    }
}

#[inline]
fn bucket(time: SimTime, last: SimTime) -> usize {
    (64 - (time.0 ^ last.0).leading_zeros()) as usize
}

impl<E> RadixHeap<E> {
    /// Schedule `event` at `time`, which must not be before the last event popped.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(time >= self.last, "scheduled in the past: {time:?} < {:?}", self.last);
        match bucket(time, self.last) {
            0 => self.zero.push_back((time, event)),
            i => {
                self.buckets[i].push((time, event));
                self.occupied |= 1 << (i - 1);
            }
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if let Some(item) = self.zero.pop_front() {
            return Some(item);
        }
        let i = self.lowest()?;
        if self.buckets[i].len() == 1 {
            // One event (the usual case with few in flight): it is the minimum.
            let item = self.buckets[i].pop().expect("length 1");
            self.occupied &= !(1 << (i - 1));
            self.last = item.0;
            return Some(item);
        }
        self.spread(i);
        self.zero.pop_front()
    }

    /// The lowest non-empty bucket, if any.
    #[inline]
    fn lowest(&self) -> Option<usize> {
        (self.occupied != 0).then(|| self.occupied.trailing_zeros() as usize + 1)
    }

    /// Pop the next event if it is before `limit`, which must not be after any time pushed
    /// from now on. Unlike a peek at the minimum, finding that there is none commits the heap to
    /// nothing later than `limit`, so events before the minimum may still be pushed.
    fn pop_below(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        loop {
            if let Some((time, _)) = self.zero.front() {
                return if *time < limit { self.zero.pop_front() } else { None };
            }
            let i = self.lowest()?;
            // Bucket `i` holds times sharing `last`'s bits above `i - 1` and with bit `i - 1` set.
            let floor = ((self.last.0 >> (i - 1)) | 1) << (i - 1);
            if floor >= limit.0 {
                return None;
            }
            self.spread_around(i, Some(limit));
        }
    }

    /// Empty bucket `i` (the lowest non-empty) into the lower buckets around its minimum.
    fn spread(&mut self, i: usize) {
        self.spread_around(i, None);
    }

    /// Empty bucket `i` (the lowest non-empty) into the lower buckets around its minimum, or
    /// around `cap` if that is lower. Any new `last` from the bucket's range up to its minimum
    /// keeps the heap valid: the bucket's events all share its bits from `i - 1` up, so they
    /// land lower, and the higher buckets' events differ from it where they differed before.
    fn spread_around(&mut self, i: usize, cap: Option<SimTime>) {
        self.occupied &= !(1 << (i - 1));
        let mut spread = std::mem::take(&mut self.buckets[i]);
        let min = spread.iter().map(|(t, _)| *t).min().expect("occupied buckets are non-empty");
        self.last = cap.map_or(min, |cap| min.min(cap));
        // Lower buckets are empty (i was the lowest non-empty), so order within each is kept.
        for (time, event) in spread.drain(..) {
            self.push(time, event);
        }
        // Hand the allocation back so the bucket need not grow again.
        self.buckets[i] = spread;
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

    /// Pops `q` against a binary heap on (time, push sequence) over a workload whose delays
    /// come from `delay` (given the step), interleaving pushes, peeks and pops.
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
                if rng.below(4) == 0 {
                    // A push after a peek, earlier than the peeked event: the peek must not
                    // have committed the queue past it.
                    let at = now + (t - now) / 2;
                    q.push(SimTime(at), seq);
                    reference.push(std::cmp::Reverse((at, seq)));
                    reference.push(std::cmp::Reverse((t, s)));
                    seq += 1;
                    continue;
                }
                assert_eq!(q.pop(), Some((SimTime(t), s)), "seed {seed} step {step}");
                now = t;
            }
        }
        while let Some(std::cmp::Reverse((t, s))) = reference.pop() {
            assert_eq!(q.pop(), Some((SimTime(t), s)));
        }
        assert_eq!(q.pop(), None);
    }

    /// The width and ring follow the workload through phases of very different gaps (each
    /// longer than `RETUNE_POPS`), with ties, zero delays and far outliers in every phase.
    #[test]
    fn matches_a_heap_across_retunes() {
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

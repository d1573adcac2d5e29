//! The event queue: a radix heap on time whose equal times pop in the order they were pushed.
//!
//! Simulated time never goes backwards (nothing is scheduled before the last
//! event popped), which is what a radix heap needs. Bucket `i` holds the events
//! whose time first differs from the last popped time in bit `i - 1` (bucket 0:
//! equal to it). Each bucket is kept in push order: pushes append, and when the
//! lowest non-empty bucket is spread into the (then empty) lower buckets, its
//! events keep their relative order. So equal times, which always share a
//! bucket, pop in push order, exactly as a heap keyed on (time, sequence) would.
//! An event moves down at most 64 times, and moves are of whole `Vec`s, which
//! makes this several times cheaper than a binary heap with thousands pending.

use crate::time::SimTime;
use std::collections::VecDeque;

/// Buckets 1..=64 (index 0 unused: equal times live in `zero`).
const BUCKETS: usize = 65;

/// Pending events. Invariant: `pop` returns events in (time, push order).
pub struct EventQueue<E> {
    /// Events at exactly `last`, in push order.
    zero: VecDeque<(SimTime, E)>,
    buckets: Vec<Vec<(SimTime, E)>>,
    last: SimTime,
    /// Bit `i - 1` set when bucket `i` holds events: the lowest is one instruction away.
    occupied: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { zero: VecDeque::new(), buckets: (0..BUCKETS).map(|_| Vec::new()).collect(), last: SimTime::ZERO, occupied: 0 }
    }
}

#[inline]
fn bucket(time: SimTime, last: SimTime) -> usize {
    (64 - (time.0 ^ last.0).leading_zeros()) as usize
}

impl<E> EventQueue<E> {
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

    /// The time of the next event. Takes `&mut self`: finding it may reorganise buckets.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if !self.zero.is_empty() {
            return Some(self.last);
        }
        let i = self.lowest()?;
        match self.buckets[i].as_slice() {
            [(time, _)] => Some(*time),
            _ => {
                self.spread(i);
                Some(self.last)
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

    /// Empty bucket `i` (the lowest non-empty) into the lower buckets around its minimum.
    fn spread(&mut self, i: usize) {
        self.occupied &= !(1 << (i - 1));
        let mut spread = std::mem::take(&mut self.buckets[i]);
        self.last = spread.iter().map(|(t, _)| *t).min().expect("occupied buckets are non-empty");
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

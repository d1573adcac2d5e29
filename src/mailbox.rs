//! A process's receive buffer: bounded, ordered by message priority, with a policy for when it is full.
//!
//! Messages that arrive while their process cannot take them (it is blocked,
//! or still serving the previous message) wait here. The process takes the
//! highest priority first and, within a priority, the oldest first, as POSIX
//! message queues do. The buffer is a binary heap on (priority, arrival
//! number): every key is distinct, so the order is total and deterministic.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// What a full mailbox does with one more message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Discard the arriving message.
    DropNew,
    /// Discard the oldest message of the lowest priority waiting, then keep the new one.
    /// Higher-priority messages are never evicted for a lower-priority arrival.
    DropOldest,
    /// Never overflow: a sender whose message could not be held is blocked before it sends
    /// (see `Sim`), so the mailbox never holds more than its capacity.
    BackPressure,
}

/// One waiting message and the order it was queued in.
struct Slot<E> {
    priority: u8,
    arrival: u64,
    item: E,
}

impl<E> Slot<E> {
    /// Higher priority first, then the earliest arrival.
    fn key(&self) -> (u8, Reverse<u64>) {
        (self.priority, Reverse(self.arrival))
    }
}

impl<E> PartialEq for Slot<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for Slot<E> {}
impl<E> PartialOrd for Slot<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Slot<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// What `Mailbox::put` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Put<E> {
    /// The message waits in the mailbox.
    Queued,
    /// The mailbox was full and the arriving message was discarded (`DropNew`, or
    /// `DropOldest` when everything waiting outranks it).
    Refused(E),
    /// The mailbox was full and this older message made room.
    Evicted(E),
}

/// One process's bounded receive buffer of waiting items `E`, taken highest priority first,
/// then oldest first.
pub struct Mailbox<E> {
    capacity: usize,
    overflow: Overflow,
    waiting: BinaryHeap<Slot<E>>,
    arrivals: u64,
}

impl<E> Mailbox<E> {
    /// An empty mailbox holding at most `capacity` waiting items, with `overflow` applied when full.
    pub fn new(capacity: usize, overflow: Overflow) -> Mailbox<E> {
        Mailbox { capacity, overflow, waiting: BinaryHeap::new(), arrivals: 0 }
    }

    /// Items waiting (the one being served, if any, is not here).
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Queue `item`, applying the overflow policy if the mailbox is full. Under
    /// back-pressure the caller has reserved room, so `put` never refuses.
    pub fn put(&mut self, priority: u8, item: E) -> Put<E> {
        let slot = Slot { priority, arrival: self.arrivals, item };
        self.arrivals += 1;
        if self.waiting.len() < self.capacity || self.overflow == Overflow::BackPressure {
            self.waiting.push(slot);
            return Put::Queued;
        }
        match self.overflow {
            Overflow::DropNew | Overflow::BackPressure => Put::Refused(slot.item),
            Overflow::DropOldest => {
                // The victim is the minimum of (priority, then oldest arrival): the lowest
                // priority present and, within it, the message that has waited longest.
                let victim = self.waiting.iter().map(|s| (s.priority, s.arrival)).min().expect("a full mailbox is not empty");
                if victim.0 > priority {
                    return Put::Refused(slot.item);
                }
                let mut kept: Vec<Slot<E>> = std::mem::take(&mut self.waiting).into_vec();
                let at = kept.iter().position(|s| (s.priority, s.arrival) == victim).expect("the victim is waiting");
                let evicted = kept.swap_remove(at);
                self.waiting = kept.into();
                self.waiting.push(slot);
                Put::Evicted(evicted.item)
            }
        }
    }

    /// The next message to take: highest priority, then oldest.
    pub fn take(&mut self) -> Option<E> {
        self.waiting.pop().map(|s| s.item)
    }

    /// Everything waiting, in the order it would have been taken (for a crash, which loses it).
    pub fn drain(&mut self) -> Vec<E> {
        let mut out = Vec::with_capacity(self.waiting.len());
        while let Some(item) = self.take() {
            out.push(item);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_highest_priority_then_oldest() {
        let mut m = Mailbox::new(10, Overflow::DropNew);
        for (p, item) in [(0, "a"), (5, "b"), (0, "c"), (5, "d"), (9, "e")] {
            assert_eq!(m.put(p, item), Put::Queued);
        }
        let order: Vec<_> = std::iter::from_fn(|| m.take()).collect();
        assert_eq!(order, ["e", "b", "d", "a", "c"]);
    }

    #[test]
    fn drop_new_refuses_the_arrival() {
        let mut m = Mailbox::new(2, Overflow::DropNew);
        m.put(0, 1);
        m.put(0, 2);
        assert_eq!(m.put(9, 3), Put::Refused(3));
        assert_eq!(m.drain(), [1, 2]);
    }

    #[test]
    fn drop_oldest_evicts_the_oldest_of_the_lowest_priority() {
        let mut m = Mailbox::new(3, Overflow::DropOldest);
        m.put(1, "old-high");
        m.put(0, "old-low");
        m.put(0, "new-low");
        assert_eq!(m.put(0, "newest"), Put::Evicted("old-low"));
        assert_eq!(m.drain(), ["old-high", "new-low", "newest"]);
        // Everything outranks a lower-priority arrival: it is the one refused.
        let mut m = Mailbox::new(1, Overflow::DropOldest);
        m.put(5, "high");
        assert_eq!(m.put(1, "low"), Put::Refused("low"));
    }

    #[test]
    fn back_pressure_never_refuses() {
        let mut m = Mailbox::new(1, Overflow::BackPressure);
        m.put(0, 1);
        assert_eq!(m.put(0, 2), Put::Queued);
        assert_eq!(m.len(), 2);
    }
}

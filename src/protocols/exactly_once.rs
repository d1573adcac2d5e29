//! Exactly-once effect: at-least-once delivery plus idempotency keys and a bounded receiver-side dedup window.
//!
//! The sender is `at_least_once`'s: every data message carries its
//! idempotency key and is retransmitted until acknowledged or dead-lettered.
//! The receiver remembers the keys of the last `window` messages it delivered
//! (first in, first out) and acknowledges, without delivering again, any copy
//! whose key it remembers. Memory is bounded by the window, and that is the
//! price: a retransmission that arrives after `window` newer messages has
//! pushed its key out is delivered a second time. The window must therefore
//! exceed the number of messages a receiver can deliver while one message is
//! still being retried; a window of 1 shows what happens when it does not,
//! and `ExactlyOnceEffect` catches it.

use super::at_least_once::{Resend, Retry, Sender, Wire};
use crate::id::{AppId, NodeId};
use crate::process::{Command, Ctx, Incoming, Process};
use std::collections::{BTreeSet, VecDeque};

/// The keys of the last `capacity` deliveries: a queue for their order, a set for lookup.
struct DedupWindow {
    capacity: usize,
    order: VecDeque<(NodeId, AppId)>,
    keys: BTreeSet<(NodeId, AppId)>,
}

impl DedupWindow {
    fn new(capacity: usize) -> DedupWindow {
        DedupWindow { capacity, order: VecDeque::new(), keys: BTreeSet::new() }
    }

    /// Remember `key`; false if it was already remembered (a duplicate).
    fn admit(&mut self, key: (NodeId, AppId)) -> bool {
        if !self.keys.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity {
            let oldest = self.order.pop_front().expect("longer than the capacity, which is at least 1");
            self.keys.remove(&oldest);
        }
        true
    }
}

pub struct ExactlyOnce {
    sender: Sender,
    window: DedupWindow,
}

impl ExactlyOnce {
    pub fn new(retry: Retry, window: usize) -> ExactlyOnce {
        ExactlyOnce { sender: Sender::new(retry, true), window: DedupWindow::new(window) }
    }
}

impl Process for ExactlyOnce {
    type Msg = Wire;
    type Timer = Resend;

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, cmd: Command) {
        self.sender.command(ctx, cmd);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, incoming: Incoming<Wire>) {
        if !incoming.checksum_ok {
            return;
        }
        match incoming.msg {
            Wire::Data { key, payload } => {
                // Keyed by sender too: a key is unique per application message, and one
                // sender's message reaches this node from that sender only.
                if self.window.admit((incoming.from, key)) {
                    ctx.deliver(payload);
                }
                // Ack duplicates too: the sender retransmits because it missed the first ack.
                ctx.send(incoming.from, Wire::Ack { key });
            }
            Wire::Ack { key } => self.sender.ack(ctx, incoming.from, key),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, timer: Resend) {
        self.sender.timer(ctx, timer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_the_oldest_key_first() {
        let k = |i| (NodeId(0), AppId(i));
        let mut w = DedupWindow::new(2);
        assert!(w.admit(k(1)) && w.admit(k(2)));
        assert!(!w.admit(k(1)), "remembered");
        assert!(w.admit(k(3)), "new key pushes k1 out");
        assert!(w.admit(k(1)), "forgotten, so a late copy is admitted again");
        assert!(!w.admit(k(3)));
    }
}

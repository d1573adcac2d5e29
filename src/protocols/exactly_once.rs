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
use super::field;
use crate::id::{AppId, NodeId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Process, StateHasher};
use crate::scenario::file::{RetryFile, Whole};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario, limits};
use serde::Deserialize;
use std::collections::{BTreeSet, VecDeque};
use std::hash::Hash;

/// The keys of the last `capacity` deliveries: a queue for their order, a set for lookup.
#[derive(Clone, Hash)]
struct DedupWindow {
    capacity: usize,
    order: VecDeque<(NodeId, AppId)>,
    keys: BTreeSet<(NodeId, AppId)>,
}

impl DedupWindow {
    fn new(capacity: usize) -> DedupWindow {
        DedupWindow { capacity, order: VecDeque::new(), keys: BTreeSet::new() }
    }

    /// What the window holds, for the memory budget (at most its capacity's worth).
    fn heap_bytes(&self) -> u64 {
        crate::process::capacity_bytes::<(NodeId, AppId)>(self.order.capacity())
            .saturating_add(crate::process::map_bytes::<(NodeId, AppId), ()>(self.keys.len()))
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

/// One node of the exactly-once protocol: at-least-once's sender, and a receiver that
/// delivers a key only if it is not in its dedup window.
#[derive(Clone)]
pub struct ExactlyOnce {
    sender: Sender,
    window: DedupWindow,
}

impl ExactlyOnce {
    /// A node retransmitting by `retry` (giving up into the dead-letter queue) that remembers
    /// the keys of its last `window` deliveries (at least 1; validation allows up to
    /// `limits::MAX_DEDUP_WINDOW`).
    pub fn new(retry: Retry, window: usize) -> ExactlyOnce {
        ExactlyOnce { sender: Sender::new(retry, true), window: DedupWindow::new(window) }
    }
}

impl Process for ExactlyOnce {
    type Msg = Wire;
    type Timer = Resend;
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        self.sender.heap_bytes().saturating_add(self.window.heap_bytes())
    }

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
                ctx.send_ack(incoming.from, Wire::Ack { key }, key.0);
            }
            Wire::Ack { key } => self.sender.ack(ctx, incoming.from, key),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, timer: Resend) {
        self.sender.timer(ctx, timer);
    }

    fn fingerprint(&self, state: &mut StateHasher) -> bool {
        (&self.sender, &self.window).hash(state);
        true
    }

    fn snapshot(&self) -> Option<ExactlyOnce> {
        Some(self.clone())
    }
}

/// `ExactlyOnce(retry: (...), window: N)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "ExactlyOnce", deny_unknown_fields)]
pub struct Config {
    /// When to retransmit and when to give up.
    pub retry: RetryFile,
    /// Keys the receiver's dedup window remembers.
    pub window: Whole,
}

/// The exactly-once protocol, as scenarios name it.
pub struct ExactlyOnceProtocol;

impl Protocol for ExactlyOnceProtocol {
    const NAME: &'static str = "ExactlyOnce";
    type Config = Config;
    type Process = ExactlyOnce;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        Retry::validate(&config.retry, cx);
        cx.within(&[field("window")], config.window.0, 1..=limits::MAX_DEDUP_WINDOW, |n| format!("a dedup window of {n} keys"));
    }

    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        Some(RetryPolicy::from_send(config.retry))
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> ExactlyOnce {
        // Validation bounds the window well below `usize::MAX`.
        let (retry, window) = (Retry::from_file(&config.retry), config.window.0 as usize);
        move |_| ExactlyOnce::new(retry, window)
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

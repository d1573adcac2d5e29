//! At-least-once delivery: acknowledgements, retransmission with exponential backoff and jitter, a dead-letter queue.
//!
//! The sender keeps every (message, recipient) it has not seen acknowledged
//! and retransmits it when its timer fires: the wait after attempt `i` is
//! `min(cap, base * factor^(i-1))` plus a jitter drawn uniformly from
//! `[0, jitter * that]` on the node's own random stream, so that senders that
//! lost their messages together do not retry together. After `max_attempts`
//! transmissions without an ack the message goes to the dead-letter queue
//! (`ctx.dead_letter`, a `dead` line in the trace): it may or may not have
//! arrived, but the application is told that it gave up.
//!
//! The receiver acknowledges every intact copy and delivers every one: a
//! retransmission whose first copy arrived (its ack was lost) is delivered
//! again. That is at-least-once; `exactly_once` adds the deduplication.
//!
//! `dead_letter: false` is the deliberately broken variant: it drops exhausted
//! messages silently, which `NoSilentLoss` must catch.

use super::{field, ns};
use crate::id::{AppId, NodeId, TimerId};
use crate::plugin::Protocol;
use crate::process::{Command, Ctx, Incoming, Message, Payload, Process, StateHasher};
use crate::rng::PPB;
use crate::scenario::file::{Number, RetryFile};
use crate::scenario::{ConfigCx, RetryPolicy, Scenario, limits};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::hash::Hash;

/// When to retransmit and when to give up. All integers: times in ns, the
/// factor in thousandths, the jitter in parts per billion of the wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retry {
    /// The wait after the first attempt, before jitter, in nanoseconds; above 0.
    pub base_ns: u64,
    /// Each wait is the previous one times this many thousandths (1,000 to 100,000: a factor
    /// of 1 to 100).
    pub factor_milli: u64,
    /// No wait before jitter is longer than this, in nanoseconds; at least `base_ns`.
    pub cap_ns: u64,
    /// Up to this share of each wait is added at random, in parts per billion of the wait
    /// (0 to 1,000,000,000); 0 draws nothing from the node's stream.
    pub jitter_ppb: u64,
    /// Transmissions of one message to one recipient, the first included (1 to 1,000); after
    /// the last goes unacknowledged, the message is given up.
    pub max_attempts: u32,
}

impl Retry {
    /// The wait, before jitter, that follows the wait `previous` (the first is `base`).
    pub(crate) fn next_backoff(&self, previous: u64) -> u64 {
        let grown = u128::from(previous) * u128::from(self.factor_milli) / 1000;
        u64::try_from(grown).unwrap_or(u64::MAX).min(self.cap_ns)
    }

    /// `backoff` plus a jitter in `[0, jitter * backoff]` drawn from the node's stream.
    /// No jitter draws nothing, so a jitter-free protocol leaves the node's stream alone.
    pub(crate) fn with_jitter<M, T>(&self, backoff: u64, ctx: &mut Ctx<'_, M, T>) -> u64 {
        let spread = u64::try_from(u128::from(backoff) * u128::from(self.jitter_ppb) / u128::from(PPB)).unwrap_or(u64::MAX);
        if spread == 0 { backoff } else { backoff.saturating_add(ctx.rng().between(0, spread)) }
    }
}

/// On the wire: data carries its idempotency key (the application message's
/// id, unique as a client-generated request id is); an ack names the key it answers.
#[derive(Clone, Debug)]
pub enum Wire {
    /// One transmission of an application message (the first or a retransmission).
    Data {
        /// The message's idempotency key: its application id.
        key: AppId,
        /// The application message.
        payload: Payload,
    },
    /// The receiver has the message with this key (sent for every intact copy).
    Ack {
        /// The key acknowledged.
        key: AppId,
    },
}

/// Header bytes: kind, key, checksum.
const HEADER_BYTES: u32 = 24;

impl Message for Wire {
    fn wire_size(&self) -> u32 {
        match self {
            Wire::Data { payload, .. } => HEADER_BYTES.saturating_add(payload.size_bytes),
            Wire::Ack { .. } => HEADER_BYTES,
        }
    }

    fn corrupt(&mut self) {
        // A damaged ack fails its checksum like a damaged data message; only the payload
        // carries ground truth for the checkers.
        if let Wire::Data { payload, .. } = self {
            payload.corrupt();
        }
    }
}

/// The retransmission timer of one (message, recipient).
#[derive(Clone, Copy, Debug)]
pub struct Resend {
    key: AppId,
    to: NodeId,
}

#[derive(Clone, Hash)]
struct Outstanding {
    payload: Payload,
    attempts: u32,
    /// The wait, before jitter, that follows the latest attempt.
    backoff_ns: u64,
    timer: TimerId,
}

/// The sending half, shared with `exactly_once`: what is unacknowledged and when to try again.
#[derive(Clone, Hash)]
pub struct Sender {
    retry: Retry,
    dead_letter: bool,
    outstanding: BTreeMap<(AppId, NodeId), Outstanding>,
}

impl Sender {
    /// A sender with nothing outstanding that retransmits by `retry` and, when it gives up on
    /// a message, puts it in the dead-letter queue if `dead_letter` (else drops it silently:
    /// the broken variant).
    pub fn new(retry: Retry, dead_letter: bool) -> Sender {
        Sender { retry, dead_letter, outstanding: BTreeMap::new() }
    }

    /// What the unacknowledged messages hold, for the memory budget.
    pub fn heap_bytes(&self) -> u64 {
        crate::process::map_bytes::<(AppId, NodeId), Outstanding>(self.outstanding.len())
    }

    /// First attempt to every recipient of the command, each with its own timer and ack.
    pub fn command(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, cmd: Command) {
        let Command::Send { payload, dest } = cmd;
        let key = payload.id;
        for to in ctx.cluster().recipients(ctx.me(), dest) {
            ctx.send_attempt(to, Wire::Data { key, payload }, key.0, 1);
            let backoff_ns = self.retry.base_ns;
            let wait = self.retry.with_jitter(backoff_ns, ctx);
            let timer = ctx.set_timer(wait, Resend { key, to });
            self.outstanding.insert((key, to), Outstanding { payload, attempts: 1, backoff_ns, timer });
        }
    }

    /// An ack from `from`: that recipient has the message; stop retrying it.
    pub fn ack(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, from: NodeId, key: AppId) {
        if let Some(o) = self.outstanding.remove(&(key, from)) {
            ctx.cancel_timer(o.timer);
        }
    }

    /// The timer of an unacknowledged message fired: retransmit, or give up.
    pub fn timer(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, Resend { key, to }: Resend) {
        let Some(o) = self.outstanding.get_mut(&(key, to)) else { return };
        if o.attempts >= self.retry.max_attempts {
            let payload = o.payload;
            self.outstanding.remove(&(key, to));
            if self.dead_letter {
                ctx.dead_letter(payload, to);
            }
            return;
        }
        o.attempts += 1;
        ctx.send_attempt(to, Wire::Data { key, payload: o.payload }, key.0, o.attempts);
        o.backoff_ns = self.retry.next_backoff(o.backoff_ns);
        let wait = self.retry.with_jitter(o.backoff_ns, ctx);
        o.timer = ctx.set_timer(wait, Resend { key, to });
    }
}

/// One node of the at-least-once protocol: a [`Sender`] for what it sends, and a receiver
/// that acknowledges and delivers every intact copy (duplicates included).
#[derive(Clone)]
pub struct AtLeastOnce {
    sender: Sender,
}

impl AtLeastOnce {
    /// A node retransmitting by `retry`; see [`Sender::new`] for `dead_letter`.
    pub fn new(retry: Retry, dead_letter: bool) -> AtLeastOnce {
        AtLeastOnce { sender: Sender::new(retry, dead_letter) }
    }
}

impl Process for AtLeastOnce {
    type Msg = Wire;
    type Timer = Resend;
    /// The state that grows with the run, for the memory budget.
    fn heap_bytes(&self) -> u64 {
        self.sender.heap_bytes()
    }

    fn on_command(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, cmd: Command) {
        self.sender.command(ctx, cmd);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, incoming: Incoming<Wire>) {
        // A corrupted copy is treated as lost: no delivery, no ack, so the sender retries.
        if !incoming.checksum_ok {
            return;
        }
        match incoming.msg {
            Wire::Data { key, payload } => {
                ctx.deliver(payload);
                ctx.send_ack(incoming.from, Wire::Ack { key }, key.0);
            }
            Wire::Ack { key } => self.sender.ack(ctx, incoming.from, key),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Resend>, timer: Resend) {
        self.sender.timer(ctx, timer);
    }

    fn fingerprint(&self, state: &mut StateHasher) -> bool {
        self.sender.hash(state);
        true
    }

    fn snapshot(&self) -> Option<AtLeastOnce> {
        Some(self.clone())
    }
}

impl Retry {
    /// The policy in integers. Validation has checked the ranges; on a scenario that failed it
    /// the result is never used, so saturating casts suffice.
    pub fn from_file(r: &RetryFile) -> Retry {
        Retry {
            base_ns: ns(r.base_ms),
            factor_milli: (r.factor.0 * 1000.0).round() as u64,
            cap_ns: ns(r.cap_ms),
            jitter_ppb: r.jitter.map_or(0, |j| (j.0 * PPB as f64).round() as u64),
            max_attempts: r.max_attempts.0.min(u64::from(u32::MAX)) as u32,
        }
    }

    /// A retransmission policy at `retry` in a configuration: a positive first wait, a cap no
    /// shorter, a growth factor of at least 1 (waits never shrink), a jitter fraction and a
    /// bounded number of attempts.
    pub fn validate(r: &RetryFile, cx: &mut ConfigCx<'_, '_>) {
        let path = |name: &'static str| [field("retry"), field(name)];
        let base = cx.millis(&path("base_ms"), r.base_ms);
        if base == Some(0) {
            cx.error(
                &path("base_ms"),
                "a first wait of zero would retransmit in the same instant",
                "a positive number of milliseconds".to_string(),
            );
        }
        let cap = cx.millis(&path("cap_ms"), r.cap_ms);
        if matches!((base, cap), (Some(base), Some(cap)) if cap < base) {
            cx.error(
                &path("cap_ms"),
                format!("the cap {} is below the first wait {}", r.cap_ms.0, r.base_ms.0),
                "at least base_ms".to_string(),
            );
        }
        if !(1.0..=limits::MAX_BACKOFF_FACTOR).contains(&r.factor.0) {
            cx.error(&path("factor"), format!("a backoff factor of {}", r.factor.0), format!("from 1 to {}", limits::MAX_BACKOFF_FACTOR));
        }
        if let Some(Number(j)) = r.jitter
            && !(0.0..=1.0).contains(&j)
        {
            cx.error(&path("jitter"), format!("a jitter of {j} times the wait"), "a fraction from 0 to 1".to_string());
        }
        cx.within(&path("max_attempts"), r.max_attempts.0, 1..=limits::MAX_ATTEMPTS, |n| format!("{n} attempts"));
    }
}

/// `AtLeastOnce(retry: (...), dead_letter: true)`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename = "AtLeastOnce", deny_unknown_fields)]
pub struct Config {
    /// When to retransmit and when to give up.
    pub retry: RetryFile,
    /// Dead-letter exhausted messages (`false` drops them silently: the broken variant).
    #[serde(default = "yes")]
    pub dead_letter: bool,
}

fn yes() -> bool {
    true
}

/// The at-least-once protocol, as scenarios name it.
pub struct AtLeastOnceProtocol;

impl Protocol for AtLeastOnceProtocol {
    const NAME: &'static str = "AtLeastOnce";
    type Config = Config;
    type Process = AtLeastOnce;

    fn validate(config: &Config, cx: &mut ConfigCx<'_, '_>) {
        Retry::validate(&config.retry, cx);
    }

    fn retry_policy(config: &Config) -> Option<RetryPolicy> {
        Some(RetryPolicy::from_send(config.retry))
    }

    fn factory(config: &Config, _: &Scenario, _: u64) -> impl FnMut(NodeId) -> AtLeastOnce {
        let (retry, dead_letter) = (Retry::from_file(&config.retry), config.dead_letter);
        move |_| AtLeastOnce::new(retry, dead_letter)
    }
}

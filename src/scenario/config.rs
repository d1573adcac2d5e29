//! The open end of the scenario format: a protocol or a check named in a scenario, its
//! configuration read from the file, and the context in which that configuration is validated.
//!
//! The scenario layer does not know any protocol or check. A `Catalog` (the registry, on top)
//! maps each name to a decoder; the decoder reads the configuration with [`ConfigCx::parse`]
//! (errors at the file's own line and column), validates it with the context's helpers, and
//! hands back an opaque [`ProtocolChoice`] or [`CheckChoice`] for the scenario to carry.

use super::file::{Number, RetryFile, ScenarioFile, Whole};
use super::locate::Seg;
use super::{Validator, syntax};
use crate::id::NodeId;
use crate::process::Cluster;
use crate::verdict::Checker;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A configuration, type-erased: the scenario carries it, and the protocol or check that
/// defined its type reads it back with `downcast_ref`.
pub type AnyConfig = Arc<dyn Any + Send + Sync>;

/// Reads and validates one protocol's configuration, or says why not through the context.
pub type DecodeProtocol = fn(&mut ConfigCx<'_, '_>) -> Option<ProtocolChoice>;
/// Reads and validates one check's configuration, or says why not through the context.
pub type DecodeCheck = fn(&mut ConfigCx<'_, '_>) -> Option<CheckChoice>;
/// Makes a check's checker for one run, from its configuration and the scenario.
pub type BuildChecker = fn(&(dyn Any + Send + Sync), &super::Scenario) -> Box<dyn Checker>;

/// The protocols and checks a scenario may name (the registry implements it).
pub trait Catalog {
    /// The decoder of the protocol called `name`, if there is one.
    fn protocol(&self, name: &str) -> Option<DecodeProtocol>;
    /// The decoder of the check called `name`, if there is one.
    fn check(&self, name: &str) -> Option<DecodeCheck>;
    /// Every protocol name, for "expected one of" in errors.
    fn protocol_names(&self) -> Vec<&'static str>;
    /// Every check name, for "expected one of" in errors.
    fn check_names(&self) -> Vec<&'static str>;
}

/// The retransmission policy a protocol declares it follows (`Protocol::retry_policy`), for the
/// `RetryBackoff` check to judge its `attempt` lines against.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The waits and the number of attempts, as the scenario wrote them.
    pub retry: RetryFile,
    /// Where each wait begins.
    pub wait_from: WaitFrom,
    /// How the jitter spreads each wait, which decides the shortest wait allowed.
    pub jitter: JitterShape,
    /// The token bucket that bounds retries, if the protocol has one.
    pub budget: Option<RetryBudget>,
    /// Whether every attempt that arrives intact is acknowledged with an `ack` line (to its
    /// sender, unless its recipient crashed), in every run, even one that holds no `ack` at
    /// all: `false` for a protocol whose receiver may rightly take one without acknowledging
    /// it (a group member frozen by a flush, or one that has moved to the next view), or that
    /// answers its requests (`answer` lines) instead of acknowledging them.
    pub acks_every_arrival: bool,
    /// Whether a series number names one message cluster-wide: sent first by its origin, and
    /// resent under the same number by the nodes that relay it. No copy of it then goes back
    /// to its origin, which has it.
    pub relayed_series: bool,
}

impl RetryPolicy {
    /// A retransmission timer: the waits `retry` gives, each from the previous send, with its
    /// jitter proportional to the wait, no budget, and every arrival acknowledged.
    pub fn from_send(retry: RetryFile) -> RetryPolicy {
        RetryPolicy {
            retry,
            wait_from: WaitFrom::Send,
            jitter: JitterShape::Proportional,
            budget: None,
            acks_every_arrival: true,
            relayed_series: false,
        }
    }

    /// One retransmission every `every_ms` from the previous send until acknowledged: no
    /// growth, no jitter, no last attempt (a producer's or a broker's resend timer).
    pub fn constant(every_ms: Number) -> RetryPolicy {
        RetryPolicy::from_send(RetryFile {
            base_ms: every_ms,
            factor: Number(1.0),
            cap_ms: every_ms,
            jitter: None,
            max_attempts: Whole(u64::MAX),
        })
    }

    /// A retransmission at the first tick of a periodic timer (every `tick_ms`) at least
    /// `every_ms` after the previous send, until acknowledged: a wait of `every_ms` plus less
    /// than one tick, no growth, no last attempt. The bound allows a tick and 2 ns: a drifting
    /// clock's ticks, each rounded to the nanosecond, may fall a nanosecond apart from a period.
    pub fn at_ticks(every_ms: Number, tick_ms: Number) -> RetryPolicy {
        let jitter = Number((tick_ms.0 + 2e-6) / every_ms.0);
        let retry =
            RetryFile { base_ms: every_ms, factor: Number(1.0), cap_ms: every_ms, jitter: Some(jitter), max_attempts: Whole(u64::MAX) };
        RetryPolicy { jitter: JitterShape::ProportionalBound, ..RetryPolicy::from_send(retry) }
    }
}

/// The rounds a periodic protocol declares it runs (`Protocol::rounds`), for the `RoundPace`
/// check: every `period_ns` of its own clock, a node's round timer fires and the round sends at
/// most `per_round` messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rounds {
    /// The round length, on the node's clock.
    pub period_ns: u64,
    /// The most messages one round sends.
    pub per_round: u32,
    /// Whether every node runs a round every period from its start to its crash (`true`), or
    /// only while it has something to spread (`false`: rounds may stop, and start again at any
    /// time, but never come closer than a period).
    pub every_period: bool,
    /// Whether every round opens an exchange: sends at least one message, at a node with a
    /// peer (save a push by a node that knows nothing, where `exchange` says it stays silent).
    /// `false`: a round with nothing to send may send nothing.
    pub opens_every_round: bool,
    /// What a round's exchange does, where the protocol promises it (`None`: not judged).
    pub exchange: Option<RoundExchange>,
    /// The nodes that run rounds (`None`: every node). Only theirs are judged, since the trace
    /// does not tell a round's timer from another: a client's timeouts are not rounds.
    pub nodes: Option<Vec<NodeId>>,
}

/// What the message a round opens an exchange with (a `send` of the round's firing) does, as a
/// push, pull or push-pull gossip promises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundExchange {
    /// Whether the opening carries values (a push): `false`, no node learns a value (no
    /// `deliver`) in the step that takes an opening.
    pub opening_carries: bool,
    /// Whether the opening asks for an answer (a pull): `false`, no node sends anything in the
    /// step that takes a round's message.
    pub answered: bool,
    /// Whether a message that would carry only what its sender knows is sent only by a node
    /// that knows something (has delivered a value since its start): `true`, a node that knows
    /// nothing sends no answer, and no opening that does not ask.
    pub silent_when_ignorant: bool,
}

/// A retry budget: every call a client makes deposits `ratio_ppb` parts per billion of a retry,
/// up to `burst` retries, the bucket starts full (and full again after a restart), and every
/// retry takes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    /// What each call deposits, in parts per billion of a retry.
    pub ratio_ppb: u64,
    /// The most the bucket holds, and what it starts with, in retries.
    pub burst: u64,
}

/// How a retry policy's jitter spreads the wait `w` it draws around (`w` grows from `base_ms` by
/// `factor` per attempt, capped at `cap_ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JitterShape {
    /// From `w` to `w` plus the policy's `jitter` fraction of it, drawn uniformly.
    #[default]
    Proportional,
    /// From `w` to `w` plus the policy's `jitter` fraction of it, anywhere: a bound, not a
    /// draw (a periodic resend that waits for its next tick).
    ProportionalBound,
    /// Anywhere from 0 to `w`.
    Full,
    /// From half of `w` to `w`.
    Equal,
    /// From `base_ms` up to `factor` times the previous wait drawn: at least `base_ms`.
    Decorrelated,
}

/// Where a retransmission policy's wait begins, which decides what a check can bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFrom {
    /// At the previous attempt's send (a retransmission timer): the gap between two attempts
    /// is the wait plus its jitter, bounded below and above.
    Send,
    /// When the previous attempt failed (a call's error or timeout, which come later): the gap
    /// is bounded below only.
    Failure,
}

/// The protocol a scenario runs: its name, its validated configuration, and how to run it.
#[derive(Clone)]
pub struct ProtocolChoice {
    name: &'static str,
    config: AnyConfig,
    wire_bytes: bool,
    retry: Option<RetryPolicy>,
    rounds: Option<Rounds>,
    /// The engine's runner for this protocol (`sim::Runner`), opaque at this layer so that the
    /// scenario does not depend on the engine.
    runner: Arc<dyn Any + Send + Sync>,
}

impl ProtocolChoice {
    /// A protocol as a decoder makes it; `runner` is what the engine runs it with.
    pub(crate) fn new(
        name: &'static str,
        config: AnyConfig,
        wire_bytes: bool,
        retry: Option<RetryPolicy>,
        rounds: Option<Rounds>,
        runner: Arc<dyn Any + Send + Sync>,
    ) -> ProtocolChoice {
        ProtocolChoice { name, config, wire_bytes, retry, rounds, runner }
    }

    /// The name the scenario gave (`BestEffort`, or a user protocol's).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The configuration, if it is a `T`: how a check reads the protocol it judges.
    pub fn config<T: 'static>(&self) -> Option<&T> {
        self.config.downcast_ref::<T>()
    }

    /// The retransmission policy the protocol declares, if it retransmits.
    pub fn retry_policy(&self) -> Option<RetryPolicy> {
        self.retry
    }

    /// The rounds the protocol declares, if it runs in periodic rounds.
    pub fn rounds(&self) -> Option<&Rounds> {
        self.rounds.as_ref()
    }

    /// Whether the protocol's messages model their bytes on the wire (an adversary needs them).
    pub fn models_wire_bytes(&self) -> bool {
        self.wire_bytes
    }

    /// The engine's runner, for `sim::run`.
    pub fn runner(&self) -> &(dyn Any + Send + Sync) {
        &*self.runner
    }
}

impl fmt::Debug for ProtocolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtocolChoice({})", self.name)
    }
}

/// One check a scenario asks for: its name, its validated configuration and its checker's maker.
#[derive(Clone)]
pub struct CheckChoice {
    name: &'static str,
    config: AnyConfig,
    build: BuildChecker,
}

impl CheckChoice {
    /// A check as a decoder makes it.
    pub(crate) fn new(name: &'static str, config: AnyConfig, build: BuildChecker) -> CheckChoice {
        CheckChoice { name, config, build }
    }

    /// The check's name as scenarios write it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The configuration, if it is a `T`.
    pub fn config<T: 'static>(&self) -> Option<&T> {
        self.config.downcast_ref::<T>()
    }

    /// A fresh checker for one run of `scenario`.
    pub fn build(&self, scenario: &super::Scenario) -> Box<dyn Checker> {
        (self.build)(&*self.config, scenario)
    }
}

impl fmt::Debug for CheckChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckChoice({})", self.name)
    }
}

/// Where a protocol's or a check's configuration is read and validated: errors land at the
/// file's own line and column, with paths relative to the configuration (`[Seg::Field("window")]`
/// is `protocol.window` for a protocol, `checks[2].window` for the third check).
pub struct ConfigCx<'v, 'a> {
    pub(super) v: &'v mut Validator<'a>,
    pub(super) file: &'v ScenarioFile<'a>,
    pub(super) cluster: &'v Cluster,
    pub(super) protocol: Option<&'v ProtocolChoice>,
    pub(super) prefix: Vec<Seg>,
    /// The configuration's text after its name (`(window: 100)`), empty when there is none.
    pub(super) body: &'a str,
    /// The name as written, and where it starts in the source (a byte offset).
    pub(super) name: &'a str,
    pub(super) name_at: usize,
    pub(super) errors_before: usize,
}

impl<'a> ConfigCx<'_, 'a> {
    /// Read the configuration into `T`, with the scenario format's options (implicit `Some`,
    /// the nesting limit). A bare name (`NoLoss`) reads as `()`: every field defaulted.
    pub fn parse<T: DeserializeOwned>(&mut self) -> Option<T> {
        let (text, at) = if self.body.trim().is_empty() { ("()", self.name_at) } else { (self.body, self.offset_of(self.body)) };
        match super::ron_options().from_str::<T>(text) {
            Ok(config) => Some(config),
            Err(mut e) => {
                // Errors name the configuration's type; a reader knows it by the name they wrote.
                use ron::Error as E;
                if let E::NoSuchStructField { outer, .. } | E::MissingStructField { outer, .. } | E::DuplicateStructField { outer, .. } =
                    &mut e.code
                    && outer.as_deref().is_some_and(|o| o == "check" || o == "protocol")
                {
                    *outer = Some(self.name.to_string());
                }
                let src = self.v.src;
                let (line, col) = line_col(src, at);
                // Positions in `text` become positions in the file; a bare name's `()` is the name.
                if text == "()" && self.body.trim().is_empty() {
                    e.span.start.line = line;
                    e.span.start.col = col;
                } else {
                    if e.span.start.line == 1 {
                        e.span.start.col += col - 1;
                    }
                    e.span.start.line += line - 1;
                }
                let error = syntax::error(&e, src, self.v.file);
                self.v.errors.push(error);
                None
            }
        }
    }

    fn offset_of(&self, part: &str) -> usize {
        part.as_ptr() as usize - self.v.src.as_ptr() as usize
    }

    /// `path` within the configuration, as a path from the top of the scenario.
    fn within_config(&self, path: &[Seg]) -> Vec<Seg> {
        self.prefix.iter().chain(path).cloned().collect()
    }

    /// A problem at `path` within the configuration.
    pub fn error(&mut self, path: &[Seg], message: impl Into<String>, expected: impl Into<Option<String>>) {
        let full = self.within_config(path);
        self.v.error(&full, message, expected);
    }

    /// A problem elsewhere in the scenario (`[Seg::Field("faults"), Seg::Index(1)]`), caused by
    /// this configuration: a protocol that cannot run under a scripted restart, say.
    pub fn error_in_scenario(&mut self, path: &[Seg], message: impl Into<String>, expected: impl Into<Option<String>>) {
        self.v.error(path, message, expected);
    }

    /// Whether the configuration was written as a bare name or with empty parentheses;
    /// comments count as blanks (`NoLoss /* why */`, `NoLoss( // why` ... `)`).
    pub fn is_empty(&self) -> bool {
        let rest = skip_blank(self.body);
        match rest.strip_prefix('(') {
            None => rest.is_empty(),
            Some(inner) => skip_blank(inner).strip_prefix(')').is_some_and(|after| skip_blank(after).is_empty()),
        }
    }

    /// The name the scenario wrote.
    pub fn name(&self) -> &str {
        self.name
    }

    /// Whether this configuration has produced an error so far.
    pub fn failed(&self) -> bool {
        self.v.errors.len() > self.errors_before
    }

    /// Milliseconds to nanoseconds, reporting negative, non-finite and huge values.
    pub fn millis(&mut self, path: &[Seg], v: Number) -> Option<u64> {
        let full = self.within_config(path);
        self.v.millis(&full, v)
    }

    /// Positive milliseconds to nanoseconds; zero is reported with `what` ("a timeout of zero").
    pub fn positive_millis(&mut self, path: &[Seg], v: Number, what: &str) -> Option<u64> {
        match self.millis(path, v) {
            Some(0) => {
                self.error(path, what.to_string(), "a positive number of milliseconds".to_string());
                None
            }
            ns => ns,
        }
    }

    /// A probability in parts per billion (`None` reads as 0), reporting one outside 0..=1.
    pub fn probability(&mut self, path: &[Seg], v: Option<Number>) -> Option<u32> {
        let full = self.within_config(path);
        self.v.probability(&full, v)
    }

    /// A whole number within `range`, reporting one outside it as `what`.
    pub fn within(&mut self, path: &[Seg], v: u64, range: std::ops::RangeInclusive<u64>, what: impl FnOnce(u64) -> String) -> Option<u64> {
        if range.contains(&v) {
            return Some(v);
        }
        self.error(path, what(v), format!("from {} to {}", range.start(), range.end()));
        None
    }

    /// The node called `name`, reporting an unknown one.
    pub fn node(&mut self, path: &[Seg], name: &str) -> Option<NodeId> {
        let full = self.within_config(path);
        self.v.node(&full, name)
    }

    /// A node or a group (or every node for `"*"` if `star`), as a set of nodes.
    pub fn node_set(&mut self, path: &[Seg], name: &str, star: bool) -> Vec<NodeId> {
        let full = self.within_config(path);
        self.v.node_set(&full, name, star)
    }

    /// The cluster: node names and groups.
    pub fn cluster(&self) -> &Cluster {
        self.cluster
    }

    /// Refuse a scenario in which `holder` (a protocol's processes, a checker) would hold
    /// `bytes` of state that grows with the cluster, more than the scenario's `limits.max_memory_mb`.
    pub(crate) fn state_fits(&mut self, holder: impl FnOnce() -> String, bytes: u64) {
        let budget_mb = self.file.limits.max_memory_mb.map_or(super::limits::DEFAULT_MAX_MEMORY_MB, |m| m.0);
        if bytes > budget_mb.saturating_mul(1 << 20) {
            self.error_in_scenario(
                &[Seg::Field("nodes")],
                format!("{} would hold about {} MiB of state, over max_memory_mb {budget_mb}", holder(), bytes >> 20),
                "fewer nodes, or a larger `limits: (max_memory_mb: ..)`".to_string(),
            );
        }
    }

    /// The scenario as written, for rules that span parts of it (faults, clocks, swarm, adversary).
    pub fn file(&self) -> &ScenarioFile<'a> {
        self.file
    }

    /// For a check: the scenario's protocol, decoded.
    pub fn protocol(&self) -> Option<&ProtocolChoice> {
        self.protocol
    }
}

/// 1-based line and column (in chars) of byte `offset` in `src`.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset];
    let line = 1 + before.matches('\n').count();
    let col = 1 + before.chars().rev().take_while(|&c| c != '\n').count();
    (line, col)
}

/// `text` after any leading whitespace and comments (`// ...` to the end of the line,
/// `/* ... */` nested as RON nests them).
pub(super) fn skip_blank(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("//") {
            text = rest.find('\n').map_or("", |i| &rest[i..]);
        } else if text.starts_with("/*") {
            let mut depth = 0usize;
            let mut end = text.len();
            let bytes = text.as_bytes();
            let mut i = 0;
            while i + 1 < bytes.len() {
                match &bytes[i..i + 2] {
                    b"/*" => {
                        depth += 1;
                        i += 2;
                    }
                    b"*/" => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
            text = &text[end..];
        } else {
            return text;
        }
    }
}

/// The error a decoder reports for a name no catalog entry has.
pub(super) fn unknown(kind: &str, name: &str, names: &[&'static str]) -> (String, String) {
    (format!("unknown {kind} `{name}`"), format!("one of: {}", names.join(", ")))
}

/// The first token of `text` after blanks and comments, as written (at most 24 characters):
/// a literal whole (a string, raw string, byte string or character, with its quotes), an
/// opening bracket, or a word, number or raw identifier up to the next bracket, comma, colon
/// or blank. Empty if `text` is.
pub(super) fn first_token(text: &str) -> String {
    const MAX: usize = 24;
    let text = skip_blank(text);
    // A list, tuple or map where a name belongs is shown by its opening bracket.
    if text.starts_with(['(', '[', '{']) {
        return text[..1].to_string();
    }
    let end = literal(text)
        .map_or_else(|| text.find(|c: char| c.is_whitespace() || "()[]{},:\"'".contains(c)).unwrap_or(text.len()), |(_, len)| len);
    let token = &text[..end];
    match token.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &token[..cut]),
        None => token.to_string(),
    }
}

/// What a token that is not a name is, said as the start of "found ...": the raw identifier,
/// string or character literal it is (`r#NoLoss`, `"NoLoss"`, `r"NoLoss"`, `b"NoLoss"`,
/// `'N'`), or nothing for a number or other word. A name's own place never holds these.
pub(super) fn token_kind(token: &str) -> &'static str {
    match literal(token) {
        Some((kind, _)) => kind,
        None if token.starts_with("r#") => "the raw identifier ",
        None => "",
    }
}

/// The literal `text` starts with, as its kind and its length in bytes (to the end of `text`
/// when it is never closed): a string `"..."`, raw string `r"..."` / `r#"..."#`, byte string
/// `b"..."` / `br#"..."#` or character `'x'` / `b'x'`.
fn literal(text: &str) -> Option<(&'static str, usize)> {
    let (byte, rest) = match text.strip_prefix('b') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (raw, rest) = match rest.strip_prefix('r') {
        Some(rest) if rest.trim_start_matches('#').starts_with('"') => (true, rest),
        _ => (false, rest),
    };
    let start = text.len() - rest.len();
    let (kind, len) = if raw {
        let hashes = rest.len() - rest.trim_start_matches('#').len();
        let close = format!("\"{}", "#".repeat(hashes));
        let body = &rest[hashes + 1..];
        let len = body.find(&close).map_or(rest.len(), |i| hashes + 1 + i + close.len());
        (if byte { "the raw byte string " } else { "the raw string " }, len)
    } else {
        let quote = rest.chars().next().filter(|&c| c == '"' || c == '\'')?;
        let mut escaped = false;
        let close = rest[1..].char_indices().find(|&(_, c)| {
            let ends = c == quote && !escaped;
            escaped = c == '\\' && !escaped;
            ends
        });
        let len = close.map_or(rest.len(), |(i, _)| 1 + i + 1);
        let kind = match (byte, quote) {
            (false, '"') => "the string ",
            (true, '"') => "the byte string ",
            (false, _) => "the character ",
            (true, _) => "the byte ",
        };
        (kind, len)
    };
    Some((kind, start + len))
}

/// Split `Name(...)` into the name and the rest; `None` if the text does not start with a name.
pub(super) fn split_name(text: &str) -> Option<(&str, &str)> {
    let text = skip_blank(text);
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    let starts_right = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_');
    (starts_right).then_some((name, rest))
}

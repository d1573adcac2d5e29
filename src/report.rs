//! What `msgsim run` tells a person (text) or a program (JSON) about one run.

use crate::check::{EndReason, Outcome, Verdict, describe_cycle};
use crate::ops::OpSummary;
use crate::scenario::{FailuresExpectedOn, Scenario};
use crate::sim::{AppCounts, ProtocolPanic, RunResult};
use crate::time::SimTime;
use crate::trace::{MessageCounts, format_hash};
use serde::Serialize;
use std::fmt::Write as _;

/// One check's verdict as the report shows it (an element of [`Report::checks`]).
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The check's name as the scenario's `checks:` list spells it (`NoLoss`, `FifoOrder`).
    pub name: &'static str,
    /// Pass, fail or inconclusive; inconclusive (nothing to judge) never counts as a pass.
    pub verdict: Outcome,
    /// The check's explanation: on a failure, what was violated and where in the trace.
    pub detail: String,
    /// The scenario declares this check's failure as what it demonstrates (`expect_failures`):
    /// failing it is the expected behaviour, and does not make the run fail.
    pub expected_failure: bool,
}

/// A failure the scenario declares for every seed that a run did not show.
#[derive(Clone, Debug, Serialize)]
pub struct MissedFailure {
    /// The declared check, as the scenario's `checks:` spells it.
    pub check: String,
    /// Its verdict on this run, and why that misses the declaration.
    pub detail: String,
}

/// Under `expect_failures_on: EverySeed`, the first declared check this run did not fail, as the
/// failure of the run: the planted bug went uncaught on this seed.
pub fn missed_on_this_seed(scenario: &Scenario, verdicts: &[(&'static str, Verdict)]) -> Option<MissedFailure> {
    if scenario.expect_failures_on != FailuresExpectedOn::EverySeed {
        return None;
    }
    scenario.expect_failures.iter().find_map(|expected| {
        let (check, v) = verdicts.iter().find(|(check, _)| check == expected)?;
        let outcome = match v.outcome {
            Outcome::Fail => return None,
            Outcome::Pass => "it passed",
            Outcome::Inconclusive => "it was inconclusive",
        };
        Some(MissedFailure {
            check: check.to_string(),
            detail: format!("declared to fail on every seed (expect_failures_on: EverySeed), {outcome} on this one: {}", v.detail),
        })
    })
}

/// How a run ended, as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct EndReport {
    /// Why it stopped: nothing left to happen, the horizon reached, or a limit hit.
    pub reason: EndReason,
    /// Simulated time at the end, in nanoseconds.
    pub at_ns: u64,
}

/// The summary of one run. The JSON field names are a stable interface.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The scenario file, as given on the command line.
    pub scenario: String,
    /// The scenario's `name:`.
    pub name: String,
    /// The name of the protocol the scenario runs, as its `protocol:` field spells it.
    pub protocol: &'static str,
    /// The seed the run used: with the scenario, all a run depends on.
    pub seed: u64,
    /// The trace hash as 16 lowercase hex digits: equal hashes, equal runs.
    pub trace_hash: String,
    /// Why and when the run stopped.
    pub end: EndReport,
    /// Scheduler events processed.
    pub events: u64,
    /// Lines in the trace (what the hash covers).
    pub trace_events: u64,
    /// Network totals: sent, delivered, dropped by reason, duplicated, corrupted.
    pub messages: MessageCounts,
    /// Application totals: commands handed to processes or refused, deliveries, dead letters.
    pub app: AppCounts,
    /// Every check's verdict, in the order of the scenario's `checks:`.
    pub checks: Vec<CheckReport>,
    /// What swarm mode drew for this seed.
    pub swarm: Vec<String>,
    /// Cycles of blocked processes as they formed: `at <time>: <who waits on whom>`.
    pub wait_cycles: Vec<String>,
    /// Processes still blocked at the end, and on what.
    pub blocked_at_end: Vec<String>,
    /// The command that shows the events that led to the first deadlock: its members' trace
    /// (the first eight of a longer cycle) up to the moment the cycle closed.
    pub deadlock_events: Option<String>,
    /// Clients' operations, for a run that had any (absent otherwise, so other runs' JSON
    /// stays as it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operations: Option<OpSummary>,
    /// Under `expect_failures_on: EverySeed`, the declared failure this run did not show, and
    /// why: the run fails, as the planted bug went uncaught (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed_expected_failure: Option<MissedFailure>,
    /// The command line that reruns this scenario with this seed (`msgsim run <file> --seed N`,
    /// or the user's own binary's name; see [`set_program`]).
    pub reproduce: String,
}

/// `t` in milliseconds as `msgsim trace --to` reads it, to the nanosecond: `20`, `36.5`, `0.000125`.
fn exact_ms(t: SimTime) -> String {
    let (whole, frac) = (t.0 / 1_000_000, t.0 % 1_000_000);
    if frac == 0 {
        return whole.to_string();
    }
    format!("{whole}.{}", format!("{frac:06}").trim_end_matches('0'))
}

/// The command that reproduces a run of `path` with `seed`.
pub fn reproduce_command(path: &str, seed: u64) -> String {
    format!("{} run {} --seed {seed}", program(), shell_word(path))
}

/// The program printed commands name: `msgsim`, or a user's binary built on `cli::main_with`.
static PROGRAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Name printed commands after `name` (the first call wins; `cli::main_with` makes it).
pub fn set_program(name: &str) {
    let _ = PROGRAM.set(name.to_string());
}

/// The program printed commands name.
pub fn program() -> &'static str {
    PROGRAM.get().map_or("msgsim", String::as_str)
}

/// The command that reproduces a run of the file at `path` with `seed`: as
/// [`reproduce_command`], with a path that is not UTF-8 written as [`shell_path`] does.
pub fn reproduce_command_for(path: &std::path::Path, seed: u64) -> String {
    format!("{} run {} --seed {seed}", program(), shell_path(path))
}

/// `path` as a shell reads it back: [`shell_word`] if it is UTF-8; otherwise (only Unix paths
/// can be other bytes) in the `$'...'` quoting of bash, zsh and ksh, every byte that is not
/// printable ASCII written `\xHH`, so the command names the same file.
pub fn shell_path(path: &std::path::Path) -> String {
    if let Some(text) = path.to_str() {
        return shell_word(text);
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::from("$'");
        for &b in path.as_os_str().as_bytes() {
            match b {
                b'\\' | b'\'' => {
                    out.push('\\');
                    out.push(char::from(b));
                }
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        out.push('\'');
        out
    }
    #[cfg(not(unix))]
    shell_word(&path.to_string_lossy())
}

/// `text` as it may be shown on a terminal: every character that could rewrite what the
/// terminal shows (a control character such as ESC or a new line, a direction override) is
/// written as Rust escapes it, `\u{1b}`, `\n`, `\u{202e}`. Text a file supplied (a shard's
/// names, details and messages; a name quoted in an error) goes through here before it is
/// printed, so a hand-made file cannot retitle the terminal or fake a line of output.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    escaped(text, crate::scenario::unprintable)
}

/// Lines of text as they may be shown on a terminal: [`printable`] but for the line ends and
/// tabs, which stay. Every message to standard error and every text summary goes through
/// here, so a path or argument the user named (a directory called `\e[2J`, a right-to-left
/// mark in a file name) is shown escaped wherever it is quoted, not only where a message
/// remembered to escape it.
pub fn inert_lines(text: &str) -> std::borrow::Cow<'_, str> {
    escaped(text, |c| c != '\n' && c != '\t' && crate::scenario::unprintable(c))
}

/// `text` with every character `acts` names written as its `escape_default`, borrowed when
/// there is none (the shared body of [`printable`] and [`inert_lines`]).
fn escaped(text: &str, acts: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(&acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match acts(c) {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON text with every character that could act on a terminal written as a `\u` escape:
/// the controls serde_json writes as they are (DEL, the C1 range) and the invisible characters
/// `scenario::unprintable` names (direction marks, overrides, isolates, separators).
/// A JSON reader reads the same value; a terminal shows it inert. Outside its strings JSON
/// text holds none of these but the new lines between lines, which stay.
pub fn inert_json(json: String) -> String {
    let acts = |c: char| c != '\n' && crate::scenario::unprintable(c);
    if !json.chars().any(acts) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match acts(c) {
            // JSON spells a character beyond the first plane (the tags) as a surrogate pair.
            true => {
                let mut units = [0; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            false => out.push(c),
        }
    }
    out
}

/// `word` as a POSIX shell reads it back: bare when it holds only characters no shell
/// treats specially, else in single quotes, so a printed command can be pasted as it is.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    // A control character would act on the terminal the command is printed to: bash's and
    // zsh's `$'...'` spells it visibly, and reads it back as the same bytes.
    if word.chars().any(crate::scenario::unprintable) {
        let mut out = String::from("$'");
        for c in word.chars() {
            match c {
                '\\' | '\'' => {
                    out.push('\\');
                    out.push(c);
                }
                c if crate::scenario::unprintable(c) => {
                    let mut utf8 = [0; 4];
                    for b in c.encode_utf8(&mut utf8).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

impl Report {
    /// The report of `result`, a run of `scenario` read from the file at `path` (`path` is only
    /// printed: in the summary and in the commands that reproduce the run).
    pub fn new(path: &str, scenario: &Scenario, result: &RunResult) -> Report {
        Report {
            scenario: path.to_string(),
            name: scenario.name.clone(),
            protocol: scenario.protocol.name(),
            seed: result.seed,
            trace_hash: format_hash(result.trace_hash),
            end: EndReport { reason: result.end.reason, at_ns: result.end.at.0 },
            events: result.steps,
            trace_events: result.trace_events,
            messages: result.messages,
            app: result.app,
            checks: result
                .verdicts
                .iter()
                .map(|(name, v)| CheckReport {
                    name,
                    verdict: v.outcome,
                    detail: v.detail.clone(),
                    expected_failure: scenario.expect_failures.iter().any(|e| e == name),
                })
                .collect(),
            swarm: result.swarm.clone(),
            wait_cycles: result
                .wait_cycles
                .iter()
                .map(|(at, cycle)| {
                    let kind = if cycle.permanent() { "deadlock" } else { "wait cycle, a timeout will break it" };
                    format!("{kind} at {at}: {}", describe_cycle(cycle, &scenario.cluster))
                })
                .collect(),
            blocked_at_end: result
                .blocked_at_end
                .iter()
                .map(|(node, w, unhandled)| {
                    let c = &scenario.cluster;
                    format!("{} on {} ({:?} since {}, {unhandled} events unhandled)", c.name(*node), c.name(w.on), w.reason, w.since)
                })
                .collect(),
            deadlock_events: result.wait_cycles.iter().find(|(_, cycle)| cycle.permanent()).map(|(at, cycle)| {
                // The members the `waits` line describes (the first eight): a ring of thousands
                // named every one, a command line of tens of kilobytes.
                let names: Vec<&str> = cycle.members.iter().take(CYCLE_NAMED).map(|(node, _)| scenario.cluster.name(*node)).collect();
                let (path, names) = (shell_word(path), shell_word(&names.join(",")));
                format!("{} trace {path} --seed {} --format text --to {} --node={names}", program(), result.seed, exact_ms(*at))
            }),
            operations: result.ops.summary(result.end.at, result.messages.sent),
            missed_expected_failure: missed_on_this_seed(scenario, &result.verdicts),
            reproduce: reproduce_command(path, result.seed),
        }
    }

    /// Whether a check failed that the scenario does not expect to fail, or one it expects to
    /// fail on every seed did not (the run's exit code is 1 if so).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.verdict == Outcome::Fail && !c.expected_failure) || self.missed_expected_failure.is_some()
    }

    /// The human summary.
    pub fn text(&self) -> String {
        let m = &self.messages;
        let d = &m.drops;
        let mut out = String::new();
        let _ = writeln!(out, "scenario   {} ({})", self.name, self.scenario);
        let _ = writeln!(out, "protocol   {}   seed {}", self.protocol, self.seed);
        let _ = writeln!(out, "ended      {} at {} after {} events", self.end.reason, crate::time::SimTime(self.end.at_ns), self.events);
        let _ = writeln!(
            out,
            "messages   sent {}, delivered {}, dropped {}, duplicated {}, corrupted {}",
            m.sent, m.delivered, m.dropped, m.duplicated, m.corrupted
        );
        if m.dropped > 0 {
            let reasons = [
                ("lost", d.lost),
                ("partitioned", d.partitioned),
                ("no link", d.no_link),
                ("queue full", d.queue_full),
                ("node down", d.node_down),
                ("mailbox full", d.mailbox_full),
                ("evicted", d.evicted),
                ("late answers", d.late),
                ("fragment lost", d.fragment_lost),
            ];
            let parts: Vec<String> = reasons.iter().filter(|(_, n)| *n > 0).map(|(r, n)| format!("{r} {n}")).collect();
            let _ = writeln!(out, "drops      {}", parts.join(", "));
        }
        let _ = write!(
            out,
            "app        {} sent, {} delivered, {} refused (node down)",
            self.app.commands, self.app.delivered, self.app.refused
        );
        // Only protocols that give up ever dead-letter; the others' summaries stay as they were.
        if self.app.dead_lettered > 0 {
            let _ = write!(out, ", {} dead-lettered", self.app.dead_lettered);
        }
        out.push('\n');
        if let Some(o) = &self.operations {
            let _ = writeln!(out, "operations {}", operations_line(o));
        }
        for s in &self.swarm {
            let _ = writeln!(out, "swarm      {s}");
        }
        for c in &self.wait_cycles {
            let _ = writeln!(out, "waits      {c}");
        }
        if let Some(command) = &self.deadlock_events {
            let _ = writeln!(out, "led there  {command}");
        }
        if !self.blocked_at_end.is_empty() {
            // A few, and how many more: thousands of blocked senders made a line of megabytes.
            let (shown, more) = self.blocked_at_end.split_at(self.blocked_at_end.len().min(BLOCKED_SHOWN));
            let more = match more.len() {
                0 => String::new(),
                n => format!("; and {n} more (--json lists every one)"),
            };
            let _ = writeln!(out, "blocked    at the end: {}{more}", shown.join("; "));
        }
        if self.checks.is_empty() {
            let _ = writeln!(out, "checks     none asked for");
        }
        for c in &self.checks {
            let verdict = match (c.verdict, c.expected_failure) {
                (Outcome::Pass, _) => "PASS",
                (Outcome::Fail, false) => "FAIL",
                (Outcome::Fail, true) => "FAIL (expected)",
                (Outcome::Inconclusive, _) => "INCONCLUSIVE",
            };
            let _ = writeln!(out, "check      {verdict:<15} {:<22} {}", c.name, c.detail);
        }
        if let Some(missed) = &self.missed_expected_failure {
            let _ = writeln!(out, "uncaught   {}: {}", missed.check, missed.detail);
        }
        let _ = writeln!(out, "trace hash {}", self.trace_hash);
        let _ = writeln!(out, "reproduce  {}", self.reproduce);
        out
    }
}

/// How many processes still blocked at the end the text summary names.
const BLOCKED_SHOWN: usize = 8;

/// Members of a deadlock's wait cycle whose events its `led there` command shows at most.
const CYCLE_NAMED: usize = 8;

/// Operations in one line: counts, throughput, latency percentiles, messages per operation.
pub fn operations_line(o: &OpSummary) -> String {
    let t = |ns: Option<u64>| ns.map_or("-".to_string(), |ns| SimTime(ns).to_string());
    format!(
        "{} invoked, {} ok, {} timed out; {:.1} ok/s; latency p50 {} p90 {} p99 {} max {}; {:.2} messages per operation",
        o.invoked,
        o.ok,
        o.timeouts,
        o.throughput_per_s,
        t(o.p50_ns),
        t(o.p90_ns),
        t(o.p99_ns),
        t(o.max_ns),
        o.messages_per_op
    )
}

/// The report of a panic in protocol code.
pub fn panic_text(path: &str, panic: &ProtocolPanic) -> String {
    format!(
        "internal error: protocol code panicked during event {} at {} (seed {}): {}\nreproduce  {}\n",
        panic.event,
        panic.at,
        panic.seed,
        panic.message,
        reproduce_command(path, panic.seed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `exact_ms` is what `msgsim trace --to` reads: whole milliseconds bare, fractions to the
    /// nanosecond without trailing zeros, so the `led there` window ends exactly at the deadlock.
    /// Postmortem: a scenario path with a space printed a reproduce command that ran a
    /// different (missing) file when pasted.
    #[test]
    fn printed_commands_quote_what_a_shell_would_split() {
        assert_eq!(reproduce_command("scenarios/quickstart.ron", 3), "msgsim run scenarios/quickstart.ron --seed 3");
        assert_eq!(reproduce_command("/tmp/dead lock.ron", 3), "msgsim run '/tmp/dead lock.ron' --seed 3");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        // Postmortem: a control character in a path went to the terminal inside the quotes;
        // bash's `$'...'` spells it, and reads back the same bytes.
        assert_eq!(shell_word("a\u{1b}[2J'b.ron"), r"$'a\x1b[2J\'b.ron'");
        assert_eq!(printable("x\u{1b}]0;t\u{7}\n\u{202e}y"), r"x\u{1b}]0;t\u{7}\n\u{202e}y");
    }

    #[test]
    fn json_reaches_a_terminal_inert_and_reads_back_the_same() {
        let hostile = "a\u{202e}b\u{7f}c\u{9b}d\u{2066}e\u{1b}f\nz";
        let raw = serde_json::to_string_pretty(&serde_json::json!({ "name": hostile, "n": [1, 2] })).unwrap();
        assert!(raw.contains('\u{202e}'), "serde_json leaves a direction override as it is");
        let inert = inert_json(raw);
        assert!(!inert.chars().any(|c| c != '\n' && crate::scenario::unprintable(c)), "{inert}");
        assert!(inert.contains(r"\u202e") && inert.contains(r"\u007f") && inert.contains(r"\u009b"), "{inert}");
        let back: serde_json::Value = serde_json::from_str(&inert).unwrap();
        assert_eq!(back["name"], hostile);
        assert_eq!(inert_json("{}".to_string()), "{}");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn lines_reach_a_terminal_inert_with_their_line_ends() {
        assert_eq!(inert_lines("a\tb\nc"), "a\tb\nc");
        assert_eq!(inert_lines("x\u{1b}[2J\u{200f}\r\n"), "x\\u{1b}[2J\\u{200f}\\r\n");
        assert_eq!(inert_lines(&inert_lines("\u{61c}")), r"\u{61c}", "escaping twice changes nothing more");
    }

    #[test]
    fn exact_ms_keeps_every_nanosecond() {
        assert_eq!(exact_ms(SimTime(0)), "0");
        assert_eq!(exact_ms(SimTime(2_000_000)), "2");
        assert_eq!(exact_ms(SimTime(36_500_000)), "36.5");
        assert_eq!(exact_ms(SimTime(125)), "0.000125");
        assert_eq!(exact_ms(SimTime(7_000_001)), "7.000001");
    }
}

//! Turns ron's syntax and type errors into scenario errors a user can act on.
//!
//! ron reports in terms of the Rust types the file is read into (`LinkFile`,
//! `FaultActionFile`) and its positions can fall inside a token (just after a
//! `-` or a `"`). This module names the scenario's own parts instead, points at
//! the start of the offending token and says what was expected there.

use super::ScenarioError;
use super::limits;
use super::locate::{self, Found};
use ron::Error as E;

/// The scenario error for a file that ron could not read into a `ScenarioFile`.
pub fn error(e: &ron::error::SpannedError, src: &str, file: &str) -> ScenarioError {
    let at = |line, col, message: String, expected: Option<String>| ScenarioError { file: file.to_string(), line, col, message, expected };
    if locate::is_blank(src) {
        return at(1, 1, "the file holds no scenario".to_string(), Some("`Scenario(...)`".to_string()));
    }
    let (line, col) = if matches!(e.code, E::Eof) { end_of_text(src) } else { (e.span.start.line, e.span.start.col) };
    // Past the last token ron's own position is the best there is.
    let token = locate::token_at(src, line, col).unwrap_or(Found { line, col, text: String::new() });
    let stray = token.text.chars().next().filter(|&c| locate::stray(c) && token.text.chars().count() == 1);
    let (message, expected) = match &e.code {
        // What it is, by its code point: shown as itself it would look like a space or nothing.
        code if stray.is_some() => {
            let c = stray.unwrap_or_default();
            let what = match c {
                c if c.is_whitespace() => "the space character",
                c if c.is_control() => "the control character",
                _ => "the invisible character",
            };
            (format!("found {what} U+{:04X}, which RON reads as no token and no space", c as u32), message(code, &token.text).1)
        }
        // ron suggests `r#1`, a raw identifier, for a number where a name belongs: say which names.
        E::SuggestRawIdentifier(_) => (format!("found {} where a name belongs", shown(&token.text)), Some(names_expected(src, &token))),
        // A quoted name (`"Heal"`, `r"Heal"`): say it is a literal, and which names belong there.
        E::ExpectedIdentifier if !super::config::token_kind(&token.text).is_empty() => {
            let kind = super::config::token_kind(&token.text);
            (format!("found {kind}{} where a name belongs", shown(&token.text)), Some(names_expected(src, &token)))
        }
        code => message(code, &token.text),
    };
    at(token.line, token.col, message, expected)
}

/// What went wrong and what was expected, given the token the error points at.
fn message(code: &E, token: &str) -> (String, Option<String>) {
    let unexpected = |expected: &str| (format!("unexpected {}", shown(token)), Some(expected.to_string()));
    match code {
        E::NoSuchStructField { expected, found, outer } => {
            (format!("unknown field `{found}`{}", in_(outer)), Some(format!("one of: {}", expected.join(", "))))
        }
        E::NoSuchEnumVariant { expected, found, outer } => {
            let what = outer.as_deref().map_or("variant", kind_of_variant);
            (format!("unknown {what} `{found}`"), Some(format!("one of: {}", expected.join(", "))))
        }
        E::MissingStructField { field, outer } => (format!("missing field `{field}`{}", in_(outer)), None),
        E::DuplicateStructField { field, outer } => {
            (format!("field `{field}` is given twice{}", in_(outer)), Some("each field at most once".to_string()))
        }
        // A number too large for a whole number is read as a float and shown rounded
        // (`18446744073709552000`); the user wrote the token.
        E::InvalidValueForType { expected, found } if found.starts_with("the floating point number") && !token.is_empty() => {
            (format!("found the number {}", shown(token)), Some(expected.clone()))
        }
        E::InvalidValueForType { expected, found } => (format!("found {found}"), Some(expected.clone())),
        E::ExpectedDifferentLength { expected, found } => {
            (format!("found {found} value{}", if *found == 1 { "" } else { "s" }), Some(expected.clone()))
        }
        E::ExpectedDifferentStructName { expected, found } => {
            // Only `Scenario` has a name in the format; nested values are plain `(...)`.
            let want = if *expected == "Scenario" { "`Scenario(`" } else { "`(` with no name before it" };
            (format!("unexpected name `{found}`"), Some(want.to_string()))
        }
        E::ExpectedNamedStructLike(name) if *name == "Scenario" => unexpected("`Scenario(`"),
        E::ExpectedNamedStructLike(_) | E::ExpectedStructLike => unexpected("`(`"),
        E::ExpectedComma => unexpected("`,` or the matching closing bracket"),
        E::ExpectedArray => unexpected("`[` starting a list"),
        E::ExpectedArrayEnd => unexpected("`]`"),
        E::ExpectedMap => unexpected("`{` starting a map"),
        E::ExpectedMapColon => unexpected("`:`"),
        E::ExpectedMapEnd => unexpected("`}`"),
        E::ExpectedOptionEnd | E::ExpectedStructLikeEnd => unexpected("`)`"),
        E::ExpectedBoolean => unexpected("`true` or `false`"),
        E::ExpectedFloat | E::ExpectedInteger => unexpected("a number"),
        E::ExpectedString => unexpected("a string in double quotes"),
        E::ExpectedStringEnd => unexpected("a closing `\"`"),
        E::ExpectedIdentifier => unexpected("a name"),
        E::ExpectedUnit => unexpected("`()`"),
        E::TrailingCharacters => unexpected("nothing after the scenario's closing `)`"),
        E::UnclosedBlockComment => ("this block comment is never closed".to_string(), Some("`*/` to end it".to_string())),
        E::Eof => ("the file ends in the middle of a value".to_string(), Some("the rest of the scenario".to_string())),
        E::ExceededRecursionLimit => {
            ("the value is nested too deeply".to_string(), Some(format!("at most {} levels of nesting", limits::MAX_NESTING)))
        }
        E::InvalidEscape(what) => (
            format!("{} in a string", lower_first(what)),
            Some(r#"an escape the format knows: \n, \t, \r, \0, \\, \", \' or \u{hex digits of a character}"#.to_string()),
        ),
        E::InvalidIntegerDigit { base, .. } => (lower_first(&code.to_string()), Some(format!("digits of base {base}"))),
        E::IntegerOutOfBounds => ("this number is too large".to_string(), Some("a smaller number".to_string())),
        // Whatever else the reader refuses is still placed and says what the place needs.
        other => (lower_first(&other.to_string()), Some("a scenario in the format of book/src/scenario-reference.md".to_string())),
    }
}

/// What belongs where `token` (not a name) stands, asked of ron by reading the file again with
/// a name no scenario uses in its place: the names of the choice there, if ron lists them.
fn names_expected(src: &str, token: &Found) -> String {
    const PROBE: &str = "msgsim_no_such_name";
    let line_start = src.split_inclusive('\n').take(token.line - 1).map(str::len).sum::<usize>();
    let start = line_start + src[line_start..].chars().take(token.col - 1).map(char::len_utf8).sum::<usize>();
    let end = start + token.text.len();
    let fallback = "a name (a word, not a number)".to_string();
    if src.get(start..end) != Some(token.text.as_str()) {
        return fallback;
    }
    let probed = format!("{}{PROBE}{}", &src[..start], &src[end..]);
    match super::ron_options().from_str::<super::file::ScenarioFile>(&probed) {
        Err(ron::error::SpannedError { code: E::NoSuchEnumVariant { expected, outer, found }, .. }) if found == PROBE => {
            match outer.as_deref().map_or("variant", kind_of_variant) {
                "variant" => format!("a name, one of: {}", expected.join(", ")),
                what => format!("a {what} name, one of: {}", expected.join(", ")),
            }
        }
        _ => fallback,
    }
}

/// Just past the last character that is not whitespace: where a file that stops too early stops.
fn end_of_text(src: &str) -> (usize, usize) {
    let text = src.trim_end();
    (1 + text.matches('\n').count(), 1 + text.chars().rev().take_while(|&c| c != '\n').count())
}

/// ` in <the part of the scenario>` for a ron `outer` type name.
fn in_(outer: &Option<String>) -> String {
    outer.as_deref().map_or(String::new(), |o| format!(" in {}", part_of(o)))
}

/// The scenario's name for the part a `file.rs` struct is read from.
fn part_of(rust_type: &str) -> String {
    match rust_type {
        "LinkFile" => "`network`".to_string(),
        "LinkOverrideFile" => "a `links` entry".to_string(),
        "ClockFile" => "a `clocks` entry".to_string(),
        "FaultFile" => "a `faults` entry".to_string(),
        "SwarmFile" => "`swarm`".to_string(),
        "WorkloadFile" => "a `workload` entry".to_string(),
        "RatePhaseFile" => "a workload's `phases` entry".to_string(),
        "LimitsFile" => "`limits`".to_string(),
        // `Scenario` and struct-like variants (`BestEffort`, `Uniform`, `OneWay`) are named as written.
        other => format!("`{other}`"),
    }
}

/// What a `file.rs` enum's variants are, in the scenario's words.
fn kind_of_variant(rust_type: &str) -> &'static str {
    match rust_type {
        "ProtocolFile" => "protocol",
        "TopologyFile" => "topology",
        "LatencyFile" => "latency distribution",
        "SizeFile" => "size distribution",
        "FaultActionFile" => "fault action",
        "SendFile" => "`send` mode",
        "CheckFile" => "check",
        "StepFile" => "schedule step",
        "FailuresExpectedOn" => "`expect_failures_on`",
        _ => "variant",
    }
}

/// A token for a message: quoted with backticks, cut short if long or on several lines.
fn shown(token: &str) -> String {
    const MAX: usize = 24;
    if token.is_empty() {
        return "end of file".to_string();
    }
    let mut s: String = token.chars().take_while(|&c| c != '\n').take(MAX).collect();
    if s.len() < token.len() {
        s.push_str("...");
    }
    format!("`{s}`")
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
}

//! Finds where a value sits in RON source text, so errors can name a line and column.
//!
//! serde gives no positions once a file has parsed, so each validation error
//! carries a path (`faults[1].do[0][1]`) and this module walks the source's
//! tokens along it. The source has already parsed, so the walker only has to
//! understand well-formed RON. Syntax errors come with ron's own position,
//! which can fall inside a token; `token_at` moves it to the token's start.
//!
//! A file can have thousands of errors, so a [`Locator`] tokenises the source once, on the
//! first error, and finds each path from that index: positions cost linear time overall,
//! not a tokenisation per error.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// One step into a RON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A named field of a struct or struct-like variant.
    Field(&'static str),
    /// The n-th element of a list or tuple, the n-th positional value of a
    /// variant, or the value of the n-th entry of a map.
    Index(usize),
    /// The key of the n-th entry of a map (for errors about the key itself).
    KeyOf(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open(char),
    Close,
    Comma,
    Colon,
    Ident(String),
    Str(String),
    /// A block comment that runs to the end of the source: only in text that did not parse.
    UnclosedComment,
    Other,
}

struct Token {
    tok: Tok,
    line: usize,
    col: usize,
    /// Where the token starts and ends, in chars from the start of the source.
    start: usize,
    end: usize,
}

/// A position in the source, moved one character at a time.
struct Cursor {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl Cursor {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
}

/// The source's tokens, without whitespace and comments; also its chars, which token spans index.
fn tokenize(src: &str) -> (Vec<Token>, Vec<char>) {
    let mut cur = Cursor { chars: src.chars().collect(), i: 0, line: 1, col: 1 };
    let mut out = Vec::new();
    while let Some(c) = cur.peek(0) {
        let (line, col, start) = (cur.line, cur.col, cur.i);
        // A byte order mark opening the file was taken off before: another is stray.
        if ron_blank(c) {
            cur.bump();
        } else if stray(c) {
            // A character RON skips nowhere (a no-break space, a byte order mark mid-text) is
            // a token of its own, so an error there names it rather than the word after it.
            cur.bump();
            out.push(Token { tok: Tok::Other, line, col, start, end: cur.i });
        } else if c == '/' && cur.peek(1) == Some('/') {
            while cur.peek(0).is_some_and(|c| c != '\n') {
                cur.bump();
            }
        } else if c == '/' && cur.peek(1) == Some('*') {
            // Block comments nest in RON.
            let mut depth = 0;
            while let Some(c) = cur.peek(0) {
                if c == '/' && cur.peek(1) == Some('*') {
                    depth += 1;
                    cur.bump();
                } else if c == '*' && cur.peek(1) == Some('/') {
                    depth -= 1;
                    cur.bump();
                    if depth == 0 {
                        cur.bump();
                        break;
                    }
                }
                cur.bump();
            }
            if depth > 0 {
                out.push(Token { tok: Tok::UnclosedComment, line, col, start, end: cur.i });
            }
        } else if c == '"' || (c == 'r' && raw_string_starts(&cur)) {
            let raw = c == 'r';
            let mut hashes = 0;
            if raw {
                cur.bump();
                while cur.peek(0) == Some('#') {
                    hashes += 1;
                    cur.bump();
                }
            }
            cur.bump();
            let mut text = String::new();
            while let Some(ch) = cur.peek(0) {
                if !raw && ch == '\\' {
                    cur.bump();
                    if let Some(e) = cur.bump() {
                        text.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                    continue;
                }
                if ch == '"' && (0..hashes).all(|k| cur.peek(1 + k) == Some('#')) {
                    for _ in 0..=hashes {
                        cur.bump();
                    }
                    break;
                }
                text.push(ch);
                cur.bump();
            }
            out.push(Token { tok: Tok::Str(text), line, col, start, end: cur.i });
        } else if c.is_alphabetic() || c == '_' {
            // A raw identifier (`r#horizon_ms`) names the same field as the plain one.
            if c == 'r' && cur.peek(1) == Some('#') {
                cur.bump();
                cur.bump();
            }
            let mut word = String::new();
            while let Some(ch) = cur.peek(0).filter(|ch| ch.is_alphanumeric() || *ch == '_') {
                word.push(ch);
                cur.bump();
            }
            out.push(Token { tok: Tok::Ident(word), line, col, start, end: cur.i });
        } else {
            let tok = match c {
                '(' | '[' | '{' => Tok::Open(c),
                ')' | ']' | '}' => Tok::Close,
                ',' => Tok::Comma,
                ':' => Tok::Colon,
                _ => Tok::Other,
            };
            cur.bump();
            // Numbers, chars and signs are single values: glue their characters together, up
            // to a comment written right after them (`1/* note */`).
            if tok == Tok::Other {
                while cur.peek(0).is_some_and(|ch| !ron_blank(ch) && !stray(ch) && !"()[]{},:".contains(ch))
                    && !(cur.peek(0) == Some('/') && matches!(cur.peek(1), Some('/' | '*')))
                {
                    cur.bump();
                }
            }
            out.push(Token { tok, line, col, start, end: cur.i });
        }
    }
    (out, cur.chars)
}

/// Whitespace as RON reads it between tokens: Unicode's pattern whitespace, which holds the
/// left-to-right and right-to-left marks but not the no-break or ideographic spaces.
pub(super) fn ron_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\u{85}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
}

/// A character that starts no RON token and is not RON's whitespace, though it may look like
/// either or like nothing: another space (U+00A0, U+3000), a control or invisible character.
pub(super) fn stray(c: char) -> bool {
    !ron_blank(c) && (c.is_whitespace() || super::unprintable(c))
}

/// Whether the `r` under the cursor opens a raw string (`r"..."`, `r#"..."#`) rather than
/// a raw identifier (`r#name`) or a word.
fn raw_string_starts(cur: &Cursor) -> bool {
    let mut k = 1;
    while cur.peek(k) == Some('#') {
        k += 1;
    }
    cur.peek(k) == Some('"')
}

/// A container's item: its name or key (for a struct field or map entry), where its value
/// starts and where the item starts (the key, for a map entry), as token indices.
type Item = (Option<String>, usize, usize);

/// A source's tokens, with where each value ends, built once.
struct Index {
    toks: Vec<Token>,
    chars: Vec<char>,
    /// For each token, the index just past the value starting there.
    after: Vec<usize>,
    /// Each container's items, listed the first time a path passes through it.
    items: RefCell<BTreeMap<usize, Option<Rc<[Item]>>>>,
}

impl Index {
    fn new(src: &str) -> Index {
        let (toks, chars) = tokenize(src);
        // Match brackets once, so skipping a value is a lookup, not a walk.
        let mut close = vec![toks.len(); toks.len()];
        let mut open = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            match t.tok {
                Tok::Open(_) => open.push(i),
                Tok::Close => {
                    if let Some(o) = open.pop() {
                        close[o] = i + 1;
                    }
                }
                _ => {}
            }
        }
        let after = (0..toks.len())
            .map(|i| {
                let at = match (&toks[i].tok, toks.get(i + 1).map(|t| &t.tok)) {
                    (Tok::Ident(_), Some(Tok::Open('('))) => i + 1,
                    _ => i,
                };
                if matches!(toks[at].tok, Tok::Open(_)) { close[at] } else { at + 1 }
            })
            .collect();
        Index { toks, chars, after, items: RefCell::new(BTreeMap::new()) }
    }

    fn tok(&self, i: usize) -> Option<&Tok> {
        self.toks.get(i).map(|t| &t.tok)
    }

    /// Index just past the value starting at `i`.
    fn skip_value(&self, i: usize) -> usize {
        self.after.get(i).copied().unwrap_or(i + 1)
    }

    /// The items of the container whose value starts at `i`.
    fn items(&self, i: usize) -> Option<Rc<[Item]>> {
        if let Some(known) = self.items.borrow().get(&i) {
            return known.clone();
        }
        let listed = self.list_items(i).map(Rc::from);
        self.items.borrow_mut().insert(i, listed.clone());
        listed
    }

    fn list_items(&self, mut i: usize) -> Option<Vec<Item>> {
        if matches!(self.tok(i), Some(Tok::Ident(_))) {
            i += 1;
        }
        if !matches!(self.tok(i), Some(Tok::Open(_))) {
            return None;
        }
        i += 1;
        let mut out = Vec::new();
        while i < self.toks.len() && self.toks[i].tok != Tok::Close {
            let start = i;
            let name = match (&self.toks[i].tok, self.tok(i + 1)) {
                (Tok::Ident(n) | Tok::Str(n), Some(Tok::Colon)) => Some(n.clone()),
                _ => None,
            };
            if name.is_some() {
                i += 2;
            }
            out.push((name, i, start));
            i = self.skip_value(i);
            if self.tok(i) == Some(&Tok::Comma) {
                i += 1;
            }
        }
        Some(out)
    }

    /// `Some(x)` is transparent to paths.
    fn unwrap_some(&self, i: usize) -> usize {
        match (self.tok(i), self.tok(i + 1)) {
            (Some(Tok::Ident(n)), Some(Tok::Open('('))) if n == "Some" => i + 2,
            _ => i,
        }
    }

    fn locate(&self, path: &[Seg]) -> (usize, usize) {
        match self.token_of(path) {
            Some(at) => (self.toks[at].line, self.toks[at].col),
            None => (1, 1),
        }
    }

    /// The token where the value at `path` starts (as deep as the path can be followed).
    fn token_of(&self, path: &[Seg]) -> Option<usize> {
        if self.toks.is_empty() {
            return None;
        }
        let mut at = 0;
        for seg in path {
            at = self.unwrap_some(at);
            let Some(items) = self.items(at) else { break };
            let found = match seg {
                Seg::Field(f) => items.iter().find(|(n, _, _)| n.as_deref() == Some(*f)).map(|it| it.1),
                Seg::Index(n) => items.get(*n).map(|it| it.1),
                Seg::KeyOf(n) => items.get(*n).map(|it| it.2),
            };
            match found {
                Some(i) if i < self.toks.len() => at = i,
                _ => break,
            }
        }
        Some(at)
    }
}

/// Positions of values in one source, for the errors of one validation: the source is
/// tokenised on the first question (a valid file never pays) and only once.
pub struct Locator<'a> {
    src: &'a str,
    index: OnceCell<Index>,
}

impl<'a> Locator<'a> {
    /// A locator over `src`; nothing is tokenised until the first [`Locator::locate`].
    pub fn new(src: &'a str) -> Locator<'a> {
        Locator { src, index: OnceCell::new() }
    }

    /// Line and column (1-based) of the value at `path`; as deep as the path can be
    /// followed, and the start of the file at worst.
    pub fn locate(&self, path: &[Seg]) -> (usize, usize) {
        self.index.get_or_init(|| Index::new(self.src)).locate(path)
    }

    /// The number at `path` exactly as the file wrote it (`18446744073709551616`, `1_000`),
    /// for errors that would otherwise show the value rounded to a float; `None` if the value
    /// there is not one plain token.
    pub fn written(&self, path: &[Seg]) -> Option<String> {
        let index = self.index.get_or_init(|| Index::new(self.src));
        let at = index.unwrap_some(index.token_of(path)?);
        let t = index.toks.get(at)?;
        // A number is one glued token; `inf` and `NaN` are words, but not ones that open a value.
        let plain = match &t.tok {
            Tok::Other => true,
            Tok::Ident(_) => !matches!(index.tok(at + 1), Some(Tok::Open(_))),
            _ => false,
        };
        plain.then(|| index.chars[t.start..t.end].iter().collect())
    }
}

/// Line and column (1-based) of the value at `path`, for a single question: see [`Locator`].
/// `src` is the text [`crate::scenario::read_source`] returned (lone carriage returns already
/// line ends), so a run's warning about its replay names the line an editor shows; a leading
/// byte order mark is not a column.
pub fn locate(src: &str, path: &[Seg]) -> (usize, usize) {
    Index::new(src.strip_prefix('\u{feff}').unwrap_or(src)).locate(path)
}

/// `src` with top-level field `name` set to `value` (RON text): its value replaced if
/// the field is there, else `name: value,` added before the scenario's closing
/// parenthesis. Everything else (comments, layout) is kept. `src` must be a valid scenario.
pub fn set_top_level_field(src: &str, name: &str, value: &str) -> String {
    let index = Index::new(src);
    let (toks, chars) = (&index.toks, &index.chars);
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    let top = index.items(0).unwrap_or_else(|| Rc::from(Vec::new()));
    if let Some(&(_, start, _)) = top.iter().find(|(n, _, _)| n.as_deref() == Some(name)) {
        let end = index.skip_value(start) - 1;
        return format!("{}{value}{}", text(0, toks[start].start), text(toks[end].end, chars.len()));
    }
    let close = index.skip_value(0) - 1;
    let needs_comma = !matches!(toks[close - 1].tok, Tok::Comma | Tok::Open(_));
    let before = text(0, toks[close - 1].end);
    let comma = if needs_comma { "," } else { "" };
    format!("{before}{comma}\n    {name}: {value},\n{}", text(toks[close].start, chars.len()))
}

/// A token as written, where it starts.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    /// Line of the token's first character, from 1.
    pub line: usize,
    /// Column of its first character, in characters, from 1.
    pub col: usize,
    /// The token's text exactly as the source wrote it.
    pub text: String,
}

/// The token that covers `line:col` (1-based), or else the first one after it;
/// `None` past the last token. Works on any text, well-formed or not.
pub fn token_at(src: &str, line: usize, col: usize) -> Option<Found> {
    let (toks, chars) = tokenize(src);
    let at = index_of(&chars, line, col);
    // Tokens are in order and do not overlap: the first to end after `at` covers or follows it.
    let t = toks.iter().find(|t| at < t.end)?;
    Some(Found { line: t.line, col: t.col, text: chars[t.start..t.end].iter().collect() })
}

/// Whether the source holds nothing but whitespace and closed comments.
pub fn is_blank(src: &str) -> bool {
    tokenize(src).0.is_empty()
}

/// The char index of `line:col`; the end of the source if it is beyond.
fn index_of(chars: &[char], line: usize, col: usize) -> usize {
    let mut at = 0;
    for _ in 1..line {
        match chars[at..].iter().position(|&c| c == '\n') {
            Some(nl) => at += nl + 1,
            None => return chars.len(),
        }
    }
    (at + col - 1).min(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"Scenario(
    name: "x", // a comment
    groups: {"east": ["n0", "n1"]},
    faults: [
        (at_ms: 1, do: Heal),
        (at_ms: 2, do: Partition([["n0"], ["n9"]])),
    ],
    network: (latency: Uniform(min_ms: 5, max_ms: 1)),
    swarm: Some((loss: (0.1, 0.5))),
)"#;

    #[test]
    fn finds_nested_values() {
        use Seg::*;
        assert_eq!(locate(SRC, &[Field("name")]), (2, 11));
        assert_eq!(locate(SRC, &[Field("faults"), Index(1), Field("do"), Index(0), Index(1), Index(0)]), (6, 44));
        assert_eq!(locate(SRC, &[Field("network"), Field("latency"), Field("max_ms")]), (8, 51));
        assert_eq!(locate(SRC, &[Field("groups"), Index(0), Index(1)]), (3, 29));
        assert_eq!(locate(SRC, &[Field("groups"), KeyOf(0)]), (3, 14));
        assert_eq!(locate(SRC, &[Field("swarm"), Field("loss"), Index(1)]), (9, 30));
    }

    #[test]
    fn finds_the_token_at_a_position() {
        let found = |line, col| token_at(SRC, line, col).map(|f| (f.line, f.col, f.text));
        // Inside a string, at its first char, and in the whitespace before a token.
        assert_eq!(found(2, 13), Some((2, 11, "\"x\"".to_string())));
        assert_eq!(found(2, 11), Some((2, 11, "\"x\"".to_string())));
        assert_eq!(found(2, 10), Some((2, 11, "\"x\"".to_string())));
        // In a comment: the first token on the next line.
        assert_eq!(found(2, 20), Some((3, 5, "groups".to_string())));
        assert_eq!(found(10, 2), None);
        assert_eq!(token_at("a\n  -0.5,", 2, 4), Some(Found { line: 2, col: 3, text: "-0.5".to_string() }));
    }

    #[test]
    fn blank_means_only_whitespace_and_comments() {
        assert!(is_blank(""));
        assert!(is_blank("  // a comment\n/* and /* a nested */ one */\n"));
        assert!(!is_blank("// a comment\nScenario()"));
        assert!(!is_blank("/* never /* closed */"));
    }

    #[test]
    fn sets_fields_in_place_or_adds_them() {
        let src = "Scenario(\n    name: \"x\", // keep me\n    horizon_ms: 10\n)";
        let set = set_top_level_field(src, "horizon_ms", "5.5");
        assert_eq!(set, "Scenario(\n    name: \"x\", // keep me\n    horizon_ms: 5.5\n)");
        let added = set_top_level_field(&set, "faults", "[]");
        assert_eq!(added, "Scenario(\n    name: \"x\", // keep me\n    horizon_ms: 5.5,\n    faults: [],\n)");
        let nested = set_top_level_field("Scenario(a: (b: 1, c: [2, 3]), d: 4)", "a", "()");
        assert_eq!(nested, "Scenario(a: (), d: 4)");
    }

    #[test]
    fn stops_where_the_path_ends() {
        assert_eq!(locate(SRC, &[Seg::Field("nope")]), (1, 1));
        assert_eq!(locate("", &[Seg::Field("x")]), (1, 1));
    }
}

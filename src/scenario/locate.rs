//! Finds where a value sits in RON source text, so validation errors can name a line and column.
//!
//! serde gives no positions once a file has parsed, so each validation error
//! carries a path (`faults[1].do[0][1]`) and this module walks the source's
//! tokens along it. The source has already parsed, so the walker only has to
//! understand well-formed RON.

/// One step into a RON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A named field of a struct or struct-like variant.
    Field(&'static str),
    /// The n-th element of a list or tuple, or the n-th positional value of a variant.
    Index(usize),
    /// The value under a string key of a map.
    Key(String),
    /// The key itself (for errors about the key).
    KeyName(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open(char),
    Close,
    Comma,
    Colon,
    Ident(String),
    Str(String),
    Other,
}

struct Token {
    tok: Tok,
    line: usize,
    col: usize,
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

fn tokenize(src: &str) -> Vec<Token> {
    let mut cur = Cursor { chars: src.chars().collect(), i: 0, line: 1, col: 1 };
    let mut out = Vec::new();
    while let Some(c) = cur.peek(0) {
        let (line, col) = (cur.line, cur.col);
        if c.is_whitespace() {
            cur.bump();
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
        } else if c == '"' || (c == 'r' && matches!(cur.peek(1), Some('"' | '#'))) {
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
            out.push(Token { tok: Tok::Str(text), line, col });
        } else if c.is_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(ch) = cur.peek(0).filter(|ch| ch.is_alphanumeric() || *ch == '_') {
                word.push(ch);
                cur.bump();
            }
            out.push(Token { tok: Tok::Ident(word), line, col });
        } else {
            let tok = match c {
                '(' | '[' | '{' => Tok::Open(c),
                ')' | ']' | '}' => Tok::Close,
                ',' => Tok::Comma,
                ':' => Tok::Colon,
                _ => Tok::Other,
            };
            cur.bump();
            // Numbers, chars and signs are single values: glue their characters together.
            if tok == Tok::Other {
                while cur.peek(0).is_some_and(|ch| !ch.is_whitespace() && !"()[]{},:".contains(ch)) {
                    cur.bump();
                }
            }
            out.push(Token { tok, line, col });
        }
    }
    out
}

/// Index just past the value starting at `i`.
fn skip_value(toks: &[Token], mut i: usize) -> usize {
    if matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Ident(_))) && matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::Open('('))) {
        i += 1;
    }
    match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Open(_)) => {
            let mut depth = 0usize;
            while i < toks.len() {
                match toks[i].tok {
                    Tok::Open(_) => depth += 1,
                    Tok::Close => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i
        }
        _ => i + 1,
    }
}

/// The items of the container whose value starts at `i`: (name or key, value start, item start).
fn items(toks: &[Token], mut i: usize) -> Option<Vec<(Option<String>, usize, usize)>> {
    if matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Ident(_))) {
        i += 1;
    }
    if !matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Open(_))) {
        return None;
    }
    i += 1;
    let mut out = Vec::new();
    while i < toks.len() && toks[i].tok != Tok::Close {
        let start = i;
        let name = match (&toks[i].tok, toks.get(i + 1).map(|t| &t.tok)) {
            (Tok::Ident(n) | Tok::Str(n), Some(Tok::Colon)) => Some(n.clone()),
            _ => None,
        };
        if name.is_some() {
            i += 2;
        }
        out.push((name, i, start));
        i = skip_value(toks, i);
        if toks.get(i).map(|t| &t.tok) == Some(&Tok::Comma) {
            i += 1;
        }
    }
    Some(out)
}

/// `Some(x)` is transparent to paths.
fn unwrap_some(toks: &[Token], i: usize) -> usize {
    match (toks.get(i).map(|t| &t.tok), toks.get(i + 1).map(|t| &t.tok)) {
        (Some(Tok::Ident(n)), Some(Tok::Open('('))) if n == "Some" => i + 2,
        _ => i,
    }
}

/// Line and column (1-based) of the value at `path`; as deep as the path can be
/// followed, and the start of the file at worst.
pub fn locate(src: &str, path: &[Seg]) -> (usize, usize) {
    let toks = tokenize(src);
    if toks.is_empty() {
        return (1, 1);
    }
    let mut at = 0;
    for seg in path {
        at = unwrap_some(&toks, at);
        let Some(items) = items(&toks, at) else { break };
        let found = match seg {
            Seg::Field(f) => items.iter().find(|(n, _, _)| n.as_deref() == Some(*f)).map(|it| it.1),
            Seg::Key(k) => items.iter().find(|(n, _, _)| n.as_deref() == Some(k.as_str())).map(|it| it.1),
            Seg::KeyName(k) => items.iter().find(|(n, _, _)| n.as_deref() == Some(k.as_str())).map(|it| it.2),
            Seg::Index(n) => items.get(*n).map(|it| it.1),
        };
        match found {
            Some(i) => at = i,
            None => break,
        }
    }
    (toks[at].line, toks[at].col)
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
        assert_eq!(locate(SRC, &[Field("groups"), Key("east".into()), Index(1)]), (3, 29));
        assert_eq!(locate(SRC, &[Field("groups"), KeyName("east".into())]), (3, 14));
        assert_eq!(locate(SRC, &[Field("swarm"), Field("loss"), Index(1)]), (9, 30));
    }

    #[test]
    fn stops_where_the_path_ends() {
        assert_eq!(locate(SRC, &[Seg::Field("nope")]), (1, 1));
        assert_eq!(locate("", &[Seg::Field("x")]), (1, 1));
    }
}

//! Tokenizer for the KQL subset.

use super::error::KqlError;
use super::value::{
    TICKS_PER_DAY, TICKS_PER_HOUR, TICKS_PER_MILLISECOND, TICKS_PER_MINUTE, TICKS_PER_SECOND,
};

/// Token kinds.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// Identifier or keyword (also hyphenated operator names such as
    /// `project-away`, and `in~`).
    Ident(String),
    /// String literal (already unescaped).
    Str(String),
    /// Integer literal.
    Long(i64),
    /// Real literal.
    Real(f64),
    /// Timespan literal such as `1h`, in ticks.
    TimeSpan(i64),
    /// `datetime(...)`, `timespan(...)`, `guid(...)`, `dynamic(...)`: the
    /// keyword (normalized) and the raw text between the parentheses.
    TypedLit(&'static str, String),
    /// `!contains`, `!in`, `!has`, ... (the word without `!`).
    Bang(String),
    Pipe,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Colon,
    Semicolon,
    Dot,
    DotDot,
    Assign,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    EqTilde,
    NotTilde,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Eof,
}

/// A token with its byte span in the source.
#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Operator words that may follow `!`.
const BANG_WORDS: &[&str] = &[
    "contains",
    "contains_cs",
    "has",
    "has_cs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "hasprefix",
    "hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "in",
    "in~",
    "between",
    "has_any",
    "has_all",
];

/// Hyphenated KQL operator names recognized as single identifiers.
const HYPHENATED: &[&str] = &[
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "project-smart",
    "mv-expand",
    "mv-apply",
    "make-series",
    "make-graph",
    "parse-where",
    "parse-kv",
    "top-nested",
    "top-hitters",
    "graph-match",
    "graph-merge",
    "graph-to-table",
    "graph-shortest-paths",
    "graph-mark-components",
];

/// 1-based line and 0-based character position of a byte offset.
pub(super) fn line_pos(src: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut pos = 0;
    for (i, ch) in src.char_indices() {
        if i >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            pos = 0;
        } else {
            pos += 1;
        }
    }
    (line, pos)
}

/// Syntax error at a byte span of the source.
pub(super) fn error_at(src: &str, start: usize, end: usize) -> KqlError {
    let (line, pos) = line_pos(src, start);
    let token = if start >= src.len() {
        "<EOF>".to_string()
    } else {
        src.get(start..end.min(src.len()))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                src.get(start..)
                    .and_then(|s| s.chars().next())
                    .map(String::from)
                    .unwrap_or_default()
            })
    };
    KqlError::syntax(line, pos, token)
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Ticks per unit for a timespan literal suffix.
fn timespan_unit(word: &str) -> Option<f64> {
    let t = match word {
        "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => TICKS_PER_HOUR,
        "m" | "min" | "minute" | "minutes" => TICKS_PER_MINUTE,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => TICKS_PER_MILLISECOND,
        "microsecond" | "microseconds" => 10,
        "tick" | "ticks" => 1,
        _ => return None,
    };
    Some(t as f64)
}

impl<'a> Lexer<'a> {
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    fn err(&self, start: usize, end: usize) -> KqlError {
        error_at(self.src, start, end)
    }

    fn skip_ws_and_comments(&mut self) {
        loop {
            match self.peek_at(0) {
                Some(c) if c.is_ascii_whitespace() => self.i += 1,
                Some(b'/') if self.peek_at(1) == Some(b'/') => {
                    while let Some(c) = self.peek_at(0) {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn ident_end(&self, from: usize) -> usize {
        let mut j = from;
        while self.b.get(j).copied().is_some_and(is_ident_char) {
            j += 1;
        }
        j
    }

    fn lex_string(&mut self, quote: u8, verbatim: bool, start: usize) -> Result<Tok, KqlError> {
        // self.i points at the opening quote.
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_at(0) else {
                return Err(self.err(start, start + 1));
            };
            if c == quote {
                if verbatim && self.peek_at(1) == Some(quote) {
                    out.push(quote as char);
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return Ok(Tok::Str(out));
            }
            if c == b'\n' && !verbatim {
                return Err(self.err(start, start + 1));
            }
            if c == b'\\' && !verbatim {
                let Some(e) = self.peek_at(1) else {
                    return Err(self.err(start, start + 1));
                };
                self.i += 2;
                match e {
                    b'n' => out.push('\n'),
                    b't' => out.push('\t'),
                    b'r' => out.push('\r'),
                    b'0' => out.push('\0'),
                    b'\\' => out.push('\\'),
                    b'\'' => out.push('\''),
                    b'"' => out.push('"'),
                    b'u' => {
                        let hex = self.src.get(self.i..self.i + 4).unwrap_or("");
                        let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                        match ch {
                            Some(ch) if hex.len() == 4 => {
                                out.push(ch);
                                self.i += 4;
                            }
                            _ => return Err(self.err(self.i - 2, self.i)),
                        }
                    }
                    _ => return Err(self.err(self.i - 2, self.i)),
                }
                continue;
            }
            // Copy one UTF-8 character.
            let rest = self.src.get(self.i..).unwrap_or("");
            match rest.chars().next() {
                Some(ch) => {
                    out.push(ch);
                    self.i += ch.len_utf8();
                }
                None => return Err(self.err(start, start + 1)),
            }
        }
    }

    /// Captures the raw text of `kw(...)` up to the matching `)`, skipping
    /// nested brackets and string literals (for `dynamic(...)`).
    fn lex_raw_parens(&mut self, start: usize) -> Result<String, KqlError> {
        // self.i points at '('.
        let open = self.i;
        self.i += 1;
        let mut depth = 0usize;
        let content_start = self.i;
        loop {
            let Some(c) = self.peek_at(0) else {
                return Err(error_at(self.src, start, open));
            };
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' if depth == 0 => {
                    let raw = self
                        .src
                        .get(content_start..self.i)
                        .unwrap_or("")
                        .to_string();
                    self.i += 1;
                    return Ok(raw);
                }
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b'"' | b'\'' => {
                    let q = c;
                    self.i += 1;
                    while let Some(d) = self.peek_at(0) {
                        if d == b'\\' {
                            self.i += 2;
                            continue;
                        }
                        if d == q {
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }

    fn lex_number(&mut self, start: usize) -> Result<Tok, KqlError> {
        let b = self.b;
        // Hex literal.
        if b.get(self.i) == Some(&b'0') && matches!(b.get(self.i + 1), Some(b'x') | Some(b'X')) {
            let hs = self.i + 2;
            let mut j = hs;
            while b.get(j).is_some_and(u8::is_ascii_hexdigit) {
                j += 1;
            }
            self.i = j;
            let text = self.src.get(hs..j).unwrap_or("");
            return i64::from_str_radix(text, 16)
                .map(Tok::Long)
                .map_err(|_| self.err(start, j));
        }
        let mut j = self.i;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let mut is_real = false;
        // A fraction needs a digit after '.', so `1..2` stays a range.
        if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            is_real = true;
            j += 1;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
        if matches!(b.get(j), Some(b'e') | Some(b'E')) {
            let mut k = j + 1;
            if matches!(b.get(k), Some(b'+') | Some(b'-')) {
                k += 1;
            }
            if b.get(k).is_some_and(u8::is_ascii_digit) {
                is_real = true;
                while b.get(k).is_some_and(u8::is_ascii_digit) {
                    k += 1;
                }
                j = k;
            }
        }
        let text = self.src.get(start..j).unwrap_or("");
        // Unit suffix (timespan literal)?
        if b.get(j).copied().is_some_and(is_ident_start) {
            let uend = self.ident_end(j);
            let unit = self.src.get(j..uend).unwrap_or("");
            self.i = uend;
            let Some(per) = timespan_unit(unit) else {
                return Err(self.err(start, uend));
            };
            let ticks = if is_real {
                let f: f64 = text.parse().map_err(|_| self.err(start, uend))?;
                let t = (f * per).round();
                if !t.is_finite() || t.abs() >= 9.2e18 {
                    return Err(self.err(start, uend));
                }
                t as i64
            } else {
                let n: i128 = text.parse().map_err(|_| self.err(start, uend))?;
                n.checked_mul(per as i128)
                    .and_then(|t| i64::try_from(t).ok())
                    .ok_or_else(|| self.err(start, uend))?
            };
            return Ok(Tok::TimeSpan(ticks));
        }
        self.i = j;
        if is_real {
            text.parse::<f64>()
                .map(Tok::Real)
                .map_err(|_| self.err(start, j))
        } else {
            text.parse::<i64>()
                .map(Tok::Long)
                .map_err(|_| self.err(start, j))
        }
    }

    fn next_token(&mut self) -> Result<Token, KqlError> {
        self.skip_ws_and_comments();
        let start = self.i;
        let Some(c) = self.peek_at(0) else {
            return Ok(Token {
                tok: Tok::Eof,
                start,
                end: start,
            });
        };
        let two = |l: &mut Self, t: Tok| {
            l.i += 2;
            t
        };
        let one = |l: &mut Self, t: Tok| {
            l.i += 1;
            t
        };
        let tok = match c {
            b'|' => one(self, Tok::Pipe),
            b',' => one(self, Tok::Comma),
            b'(' => one(self, Tok::LParen),
            b')' => one(self, Tok::RParen),
            b'[' => one(self, Tok::LBracket),
            b']' => one(self, Tok::RBracket),
            b':' => one(self, Tok::Colon),
            b';' => one(self, Tok::Semicolon),
            b'+' => one(self, Tok::Plus),
            b'-' => one(self, Tok::Minus),
            b'*' => one(self, Tok::Star),
            b'/' => one(self, Tok::Slash),
            b'%' => one(self, Tok::Percent),
            b'.' if self.peek_at(1) == Some(b'.') => two(self, Tok::DotDot),
            b'.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                // `.5` style real.
                let mut j = self.i + 1;
                while self.b.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
                let text = format!("0{}", self.src.get(start..j).unwrap_or(""));
                self.i = j;
                Tok::Real(text.parse().map_err(|_| self.err(start, j))?)
            }
            b'.' => one(self, Tok::Dot),
            b'=' => match self.peek_at(1) {
                Some(b'=') => two(self, Tok::EqEq),
                Some(b'~') => two(self, Tok::EqTilde),
                _ => one(self, Tok::Assign),
            },
            b'<' => match self.peek_at(1) {
                Some(b'=') => two(self, Tok::Le),
                Some(b'>') => two(self, Tok::NotEq),
                _ => one(self, Tok::Lt),
            },
            b'>' => match self.peek_at(1) {
                Some(b'=') => two(self, Tok::Ge),
                _ => one(self, Tok::Gt),
            },
            b'!' => match self.peek_at(1) {
                Some(b'=') => two(self, Tok::NotEq),
                Some(b'~') => two(self, Tok::NotTilde),
                Some(d) if is_ident_start(d) => {
                    let mut end = self.ident_end(self.i + 1);
                    let mut word = self.src.get(self.i + 1..end).unwrap_or("").to_string();
                    if word == "in" && self.b.get(end) == Some(&b'~') {
                        word.push('~');
                        end += 1;
                    }
                    if !BANG_WORDS.contains(&word.as_str()) {
                        return Err(self.err(start, start + 1));
                    }
                    self.i = end;
                    Tok::Bang(word)
                }
                _ => return Err(self.err(start, start + 1)),
            },
            b'"' | b'\'' => self.lex_string(c, false, start)?,
            b'@' if matches!(self.peek_at(1), Some(b'"') | Some(b'\'')) => {
                self.i += 1;
                let q = self.peek_at(0).unwrap_or(b'"');
                self.lex_string(q, true, start)?
            }
            b'`' if self.peek_at(1) == Some(b'`') && self.peek_at(2) == Some(b'`') => {
                let body_start = self.i + 3;
                let rest = self.src.get(body_start..).unwrap_or("");
                match rest.find("```") {
                    Some(k) => {
                        self.i = body_start + k + 3;
                        Tok::Str(rest[..k].to_string())
                    }
                    None => return Err(self.err(start, start + 3)),
                }
            }
            b'0'..=b'9' => self.lex_number(start)?,
            c if is_ident_start(c) => {
                let mut end = self.ident_end(self.i + 1);
                let word = self.src.get(start..end).unwrap_or("");
                // Obfuscated strings h"..." / H'...' are plain strings here.
                if (word == "h" || word == "H")
                    && matches!(self.b.get(end), Some(b'"') | Some(b'\''))
                {
                    self.i = end;
                    let q = self.peek_at(0).unwrap_or(b'"');
                    let t = self.lex_string(q, false, start)?;
                    return Ok(Token {
                        tok: t,
                        start,
                        end: self.i,
                    });
                }
                let mut word = word.to_string();
                // Hyphenated operator names.
                if self.b.get(end) == Some(&b'-')
                    && self.b.get(end + 1).copied().is_some_and(is_ident_start)
                {
                    let mut j = end;
                    let mut candidate = word.clone();
                    let mut matched = None;
                    while self.b.get(j) == Some(&b'-')
                        && self.b.get(j + 1).copied().is_some_and(is_ident_start)
                    {
                        let e = self.ident_end(j + 1);
                        candidate.push('-');
                        candidate.push_str(self.src.get(j + 1..e).unwrap_or(""));
                        j = e;
                        if HYPHENATED.contains(&candidate.as_str()) {
                            matched = Some((candidate.clone(), j));
                        }
                    }
                    if let Some((w, e)) = matched {
                        word = w;
                        end = e;
                    }
                }
                if word == "in" && self.b.get(end) == Some(&b'~') {
                    word.push('~');
                    end += 1;
                }
                self.i = end;
                // Typed literals with raw content.
                let kw: Option<&'static str> = match word.as_str() {
                    "datetime" => Some("datetime"),
                    "timespan" | "time" => Some("timespan"),
                    "guid" | "uuid" | "uniqueid" => Some("guid"),
                    "dynamic" => Some("dynamic"),
                    _ => None,
                };
                if let Some(kw) = kw {
                    let mut j = self.i;
                    while self.b.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    if self.b.get(j) == Some(&b'(') {
                        self.i = j;
                        let raw = self.lex_raw_parens(start)?;
                        return Ok(Token {
                            tok: Tok::TypedLit(kw, raw),
                            start,
                            end: self.i,
                        });
                    }
                }
                Tok::Ident(word)
            }
            _ => {
                let ch_len = self
                    .src
                    .get(start..)
                    .and_then(|s| s.chars().next())
                    .map_or(1, char::len_utf8);
                return Err(self.err(start, start + ch_len));
            }
        };
        Ok(Token {
            tok,
            start,
            end: self.i,
        })
    }
}

/// Tokenizes the whole query; the last token is always `Eof`.
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, KqlError> {
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token()?;
        let eof = t.tok == Tok::Eof;
        out.push(t);
        if eof {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn basic_tokens() {
        assert_eq!(
            toks("T | where x >= 10 and y != 'a'"),
            vec![
                Tok::Ident("T".into()),
                Tok::Pipe,
                Tok::Ident("where".into()),
                Tok::Ident("x".into()),
                Tok::Ge,
                Tok::Long(10),
                Tok::Ident("and".into()),
                Tok::Ident("y".into()),
                Tok::NotEq,
                Tok::Str("a".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn timespan_literals() {
        assert_eq!(toks("1d")[0], Tok::TimeSpan(TICKS_PER_DAY));
        assert_eq!(toks("2h")[0], Tok::TimeSpan(2 * TICKS_PER_HOUR));
        assert_eq!(toks("30m")[0], Tok::TimeSpan(30 * TICKS_PER_MINUTE));
        assert_eq!(toks("10s")[0], Tok::TimeSpan(10 * TICKS_PER_SECOND));
        assert_eq!(toks("100ms")[0], Tok::TimeSpan(100 * TICKS_PER_MILLISECOND));
        assert_eq!(toks("1.5h")[0], Tok::TimeSpan(90 * TICKS_PER_MINUTE));
        assert_eq!(toks("5min")[0], Tok::TimeSpan(5 * TICKS_PER_MINUTE));
        assert_eq!(toks("3ticks")[0], Tok::TimeSpan(3));
        assert!(tokenize("5parsecs").is_err());
        assert!(tokenize("99999999999999999999d").is_err());
        assert!(tokenize("99999999999999999999999999999999999999d").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(toks("1.5")[0], Tok::Real(1.5));
        assert_eq!(toks("1e3")[0], Tok::Real(1000.0));
        assert_eq!(toks("0x10")[0], Tok::Long(16));
        assert_eq!(toks(".5")[0], Tok::Real(0.5));
        assert!(tokenize("99999999999999999999").is_err());
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(toks(r#""a\"b\n""#)[0], Tok::Str("a\"b\n".into()));
        assert_eq!(toks(r"'it\'s'")[0], Tok::Str("it's".into()));
        assert_eq!(toks(r#"@"c:\dir""#)[0], Tok::Str(r"c:\dir".into()));
        assert_eq!(toks(r#"@'a''b'"#)[0], Tok::Str("a'b".into()));
        assert_eq!(toks(r#"h"secret""#)[0], Tok::Str("secret".into()));
        assert_eq!(toks("'\\u0041'")[0], Tok::Str("A".into()));
        assert_eq!(toks("'héllo'")[0], Tok::Str("héllo".into()));
        let e = tokenize("T | where x == 'abc").unwrap_err();
        assert_eq!(e.location.unwrap().pos, 15);
    }

    #[test]
    fn operators_with_bang_and_tilde() {
        assert_eq!(
            toks("!contains !in !in~ in~ =~ !~ !has_cs"),
            vec![
                Tok::Bang("contains".into()),
                Tok::Bang("in".into()),
                Tok::Bang("in~".into()),
                Tok::Ident("in~".into()),
                Tok::EqTilde,
                Tok::NotTilde,
                Tok::Bang("has_cs".into()),
                Tok::Eof
            ]
        );
        assert!(tokenize("!foo").is_err());
        assert!(tokenize("!").is_err());
    }

    #[test]
    fn hyphenated_keywords() {
        assert_eq!(toks("project-away")[0], Tok::Ident("project-away".into()));
        assert_eq!(toks("mv-expand")[0], Tok::Ident("mv-expand".into()));
        assert_eq!(
            toks("a-b"),
            vec![
                Tok::Ident("a".into()),
                Tok::Minus,
                Tok::Ident("b".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn typed_literal_raw_capture() {
        assert_eq!(
            toks("datetime(2024-01-01T00:00:00Z)")[0],
            Tok::TypedLit("datetime", "2024-01-01T00:00:00Z".into())
        );
        assert_eq!(
            toks("dynamic({\"a\": [1, \")\"]})")[0],
            Tok::TypedLit("dynamic", "{\"a\": [1, \")\"]}".into())
        );
        assert_eq!(
            toks("time(00:00:10)")[0],
            Tok::TypedLit("timespan", "00:00:10".into())
        );
        // A type name in a schema is not a literal.
        assert_eq!(toks("a:datetime")[2], Tok::Ident("datetime".into()));
        assert!(tokenize("datetime(2024").is_err());
    }

    #[test]
    fn comments_skipped() {
        assert_eq!(
            toks("T // comment | where\n| take 1"),
            vec![
                Tok::Ident("T".into()),
                Tok::Pipe,
                Tok::Ident("take".into()),
                Tok::Long(1),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn line_and_pos() {
        assert_eq!(line_pos("ab\ncd", 4), (2, 1));
        assert_eq!(line_pos("completely invalid syntax", 11), (1, 11));
        let e = tokenize("T\n| where x # 1").unwrap_err();
        let loc = e.location.unwrap();
        assert_eq!((loc.line, loc.pos, loc.token.as_str()), (2, 10, "#"));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "\u{0}",
            "'",
            "@",
            "```",
            "datetime(",
            "dynamic({[",
            "é",
            "\\",
            "1.",
            "1e",
            "0x",
            "!in~x",
        ] {
            let _ = tokenize(s);
        }
    }
}

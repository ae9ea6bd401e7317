//! Recursive-descent parser for the KQL subset.

mod expr;
mod query;
#[cfg(test)]
mod tests;

use super::ast::{Expr, Query};
use super::error::KqlError;
use super::lexer::{self, Tok, Token};
use super::value::{self, ColumnType, TICKS_PER_DAY};

/// Maximum parser nesting (parentheses, calls, unary operators).
pub(crate) const MAX_NESTING: usize = 64;
/// Maximum expression tree depth (e.g. long `a + b + c ...` chains;
/// `and`/`or` chains are balanced and rarely get deep).
pub(crate) const MAX_EXPR_DEPTH: usize = 128;
/// Maximum query length in bytes.
pub(crate) const MAX_QUERY_LEN: usize = 1 << 20;

/// Words that cannot be column names without brackets (`['and']`).
const RESERVED: &[&str] = &["and", "or", "in", "in~", "between", "by"];

fn unsupported_operator(name: &str) -> KqlError {
    KqlError::unsupported(format!(
        "Operator '{name}' is not supported by this KQL engine."
    ))
}

pub(super) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    nesting: usize,
}

/// Parses a query.
pub(super) fn parse(src: &str) -> Result<Query, KqlError> {
    if src.len() > MAX_QUERY_LEN {
        return Err(KqlError::syntax_with_message(
            1,
            0,
            "",
            format!("Query is too long (maximum is {MAX_QUERY_LEN} bytes)"),
        ));
    }
    let toks = lexer::tokenize(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        nesting: 0,
    };
    p.query()
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.toks.get(self.i).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> &Tok {
        self.toks.get(self.i + k).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn advance(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn err_here(&self) -> KqlError {
        match self.toks.get(self.i) {
            Some(t) => lexer::error_at(self.src, t.start, t.end),
            None => lexer::error_at(self.src, self.src.len(), self.src.len()),
        }
    }

    fn err_prev(&self) -> KqlError {
        match self.toks.get(self.i.saturating_sub(1)) {
            Some(t) => lexer::error_at(self.src, t.start, t.end),
            None => self.err_here(),
        }
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn eat_ident(&mut self, word: &str) -> bool {
        if self.is_ident(word) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> Result<(), KqlError> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.err_here())
        }
    }

    fn expect_ident_word(&mut self, word: &str) -> Result<(), KqlError> {
        if self.eat_ident(word) {
            Ok(())
        } else {
            Err(self.err_here())
        }
    }

    /// One or more `item`s separated by commas.
    fn comma_list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, KqlError>,
    ) -> Result<Vec<T>, KqlError> {
        let mut items = vec![item(self)?];
        while self.eat(&Tok::Comma) {
            items.push(item(self)?);
        }
        Ok(items)
    }

    /// The comma-separated expressions up to a closing `)`, which is consumed; none when it
    /// follows at once.
    fn exprs_to_rparen(&mut self) -> Result<Vec<Expr>, KqlError> {
        let list = if *self.peek() == Tok::RParen {
            Vec::new()
        } else {
            self.comma_list(Self::expr)?
        };
        self.expect(&Tok::RParen)?;
        Ok(list)
    }

    /// An identifier or a bracketed name `['a b']`.
    fn name(&mut self) -> Result<String, KqlError> {
        match self.peek().clone() {
            Tok::Ident(w) => {
                self.i += 1;
                Ok(w)
            }
            Tok::LBracket => {
                if let Tok::Str(s) = self.peek_at(1).clone()
                    && *self.peek_at(2) == Tok::RBracket
                {
                    self.i += 3;
                    return Ok(s);
                }
                Err(self.err_here())
            }
            _ => Err(self.err_here()),
        }
    }

    fn enter(&mut self) -> Result<(), KqlError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            let t = self.toks.get(self.i);
            let (start, end) = t.map_or((self.src.len(), self.src.len()), |t| (t.start, t.end));
            let (line, pos) = lexer::line_pos(self.src, start);
            let token = self.src.get(start..end).unwrap_or("").to_string();
            return Err(KqlError::syntax_with_message(
                line,
                pos,
                token,
                format!(
                    "Query is nested too deeply (maximum nesting is {MAX_NESTING}) on line [{line},{pos}]"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    fn check_depth(&self, e: Expr) -> Result<Expr, KqlError> {
        if e.depth > MAX_EXPR_DEPTH {
            let (line, pos) = lexer::line_pos(
                self.src,
                self.toks
                    .get(self.i.saturating_sub(1))
                    .map_or(0, |t| t.start),
            );
            return Err(KqlError::syntax_with_message(
                line,
                pos,
                "",
                format!("Expression is too complex (maximum depth is {MAX_EXPR_DEPTH})"),
            ));
        }
        Ok(e)
    }
}

/// Keywords that form typed scalar literals when followed by `(`.
fn scalar_literal_type(w: &str) -> Option<ColumnType> {
    Some(match w {
        "long" => ColumnType::Long,
        "int" => ColumnType::Int,
        "real" | "double" => ColumnType::Real,
        "bool" | "boolean" => ColumnType::Bool,
        "string" => ColumnType::String,
        _ => return None,
    })
}

/// Content of `timespan(...)`: a literal such as `1d`/`-2h`, a .NET-style
/// `[d.]hh:mm:ss`, or a bare number meaning days.
pub(super) fn parse_timespan_literal(text: &str) -> Option<i64> {
    if let Some(t) = value::parse_timespan(text) {
        return Some(t);
    }
    let toks = lexer::tokenize(text).ok()?;
    let kinds: Vec<&Tok> = toks.iter().map(|t| &t.tok).collect();
    match kinds.as_slice() {
        [Tok::TimeSpan(t), Tok::Eof] => Some(*t),
        [Tok::Minus, Tok::TimeSpan(t), Tok::Eof] => t.checked_neg(),
        [Tok::Long(d), Tok::Eof] => d.checked_mul(TICKS_PER_DAY),
        [Tok::Real(d), Tok::Eof] => {
            let t = (d * TICKS_PER_DAY as f64).round();
            (t.is_finite() && t.abs() < 9.2e18).then_some(t as i64)
        }
        _ => None,
    }
}

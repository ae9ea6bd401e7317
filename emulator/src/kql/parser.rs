//! Recursive-descent parser for the KQL subset.

use uuid::Uuid;

use super::ast::{
    BinOp, Expr, ExprKind, NamedExpr, OpKind, PipeOp, Query, SortKey, Source, StrOp, UnOp,
};
use super::error::KqlError;
use super::lexer::{self, Tok, Token};
use super::value::{self, ColumnType, TICKS_PER_DAY, Value};

/// Maximum parser nesting (parentheses, calls, unary operators).
pub(crate) const MAX_NESTING: usize = 64;
/// Maximum expression tree depth (e.g. long `a + b + c ...` chains;
/// `and`/`or` chains are balanced and rarely get deep).
pub(crate) const MAX_EXPR_DEPTH: usize = 128;
/// Maximum query length in bytes.
pub(crate) const MAX_QUERY_LEN: usize = 1 << 20;

/// Operators of real KQL that this engine does not implement.
const UNSUPPORTED_OPERATORS: &[&str] = &[
    "join",
    "union",
    "lookup",
    "mv-expand",
    "mv-apply",
    "parse",
    "parse-where",
    "parse-kv",
    "render",
    "make-series",
    "make-graph",
    "evaluate",
    "invoke",
    "as",
    "consume",
    "facet",
    "fork",
    "getschema",
    "partition",
    "reduce",
    "sample",
    "sample-distinct",
    "scan",
    "search",
    "serialize",
    "top-nested",
    "top-hitters",
    "project-keep",
    "project-reorder",
    "project-smart",
    "externaldata",
    "find",
    "range",
    "graph-match",
    "graph-merge",
    "graph-to-table",
    "graph-shortest-paths",
    "graph-mark-components",
    "extend-schema",
    "execute-and-cache",
    "assert-schema",
];

/// Words that cannot be column names without brackets (`['and']`).
const RESERVED: &[&str] = &["and", "or", "in", "in~", "between", "by"];

/// Tabular sources / statements of real KQL that this engine does not implement.
const UNSUPPORTED_SOURCES: &[&str] = &[
    "union",
    "range",
    "search",
    "find",
    "externaldata",
    "evaluate",
    "materialize",
    "let",
    "set",
    "declare",
    "alias",
    "pattern",
    "restrict",
];

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

    // ----------------------------------------------------------------- query

    fn query(&mut self) -> Result<Query, KqlError> {
        let source = self.source()?;
        let mut ops = Vec::new();
        while self.eat(&Tok::Pipe) {
            ops.push(self.operator()?);
        }
        self.eat(&Tok::Semicolon);
        if *self.peek() != Tok::Eof {
            return Err(self.err_here());
        }
        Ok(Query { source, ops })
    }

    fn source(&mut self) -> Result<Source, KqlError> {
        if let Tok::Ident(w) = self.peek().clone() {
            if w == "print" {
                self.i += 1;
                let exprs = self.named_list(&[])?;
                if exprs.is_empty() {
                    return Err(self.err_here());
                }
                return Ok(Source::Print(exprs));
            }
            if w == "datatable" {
                self.i += 1;
                return self.datatable();
            }
            if UNSUPPORTED_SOURCES.contains(&w.as_str()) {
                let what = if matches!(
                    w.as_str(),
                    "let" | "set" | "declare" | "alias" | "pattern" | "restrict"
                ) {
                    format!("The '{w}' statement is not supported by this KQL engine.")
                } else {
                    format!("Operator '{w}' is not supported by this KQL engine.")
                };
                return Err(KqlError::unsupported(what));
            }
            if *self.peek_at(1) == Tok::LParen {
                return Err(KqlError::unsupported(format!(
                    "Tabular function '{w}()' is not supported by this KQL engine."
                )));
            }
        }
        let name = self.name()?;
        Ok(Source::Table(name))
    }

    fn datatable(&mut self) -> Result<Source, KqlError> {
        self.expect(&Tok::LParen)?;
        let mut columns = Vec::new();
        loop {
            let name = self.name()?;
            self.expect(&Tok::Colon)?;
            let ty = match self.advance() {
                Tok::Ident(t) => ColumnType::parse(&t).ok_or_else(|| self.err_prev())?,
                _ => return Err(self.err_prev()),
            };
            columns.push((name, ty));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen)?;
        self.expect(&Tok::LBracket)?;
        let mut values = Vec::new();
        if !self.eat(&Tok::RBracket) {
            loop {
                if self.eat_ident("null") {
                    values.push(Expr::leaf(ExprKind::Null));
                } else {
                    values.push(self.expr()?);
                }
                if self.eat(&Tok::Comma) {
                    // Allow a trailing comma.
                    if self.eat(&Tok::RBracket) {
                        break;
                    }
                    continue;
                }
                self.expect(&Tok::RBracket)?;
                break;
            }
        }
        Ok(Source::DataTable { columns, values })
    }

    fn operator(&mut self) -> Result<PipeOp, KqlError> {
        let Tok::Ident(kw) = self.peek().clone() else {
            return Err(self.err_here());
        };
        let kind = match kw.as_str() {
            "where" | "filter" => {
                self.i += 1;
                OpKind::Where(self.expr()?)
            }
            "project" => {
                self.i += 1;
                let list = self.named_list(&[])?;
                if list.is_empty() {
                    return Err(self.err_here());
                }
                OpKind::Project(list)
            }
            "extend" => {
                self.i += 1;
                let list = self.named_list(&[])?;
                if list.is_empty() {
                    return Err(self.err_here());
                }
                OpKind::Extend(list)
            }
            "project-away" => {
                self.i += 1;
                let mut pats = vec![self.name_pattern()?];
                while self.eat(&Tok::Comma) {
                    pats.push(self.name_pattern()?);
                }
                OpKind::ProjectAway(pats)
            }
            "project-rename" => {
                self.i += 1;
                let mut pairs = Vec::new();
                loop {
                    let new = self.name()?;
                    self.expect(&Tok::Assign)?;
                    let old = self.name()?;
                    pairs.push((new, old));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                OpKind::ProjectRename(pairs)
            }
            "take" | "limit" => {
                self.i += 1;
                OpKind::Take(self.expr()?)
            }
            "top" => {
                self.i += 1;
                let count = self.expr()?;
                self.expect_ident_word("by")?;
                let key = self.sort_key()?;
                OpKind::Top { count, key }
            }
            "sort" | "order" => {
                self.i += 1;
                self.expect_ident_word("by")?;
                let mut keys = vec![self.sort_key()?];
                while self.eat(&Tok::Comma) {
                    keys.push(self.sort_key()?);
                }
                OpKind::Sort(keys)
            }
            "count" => {
                self.i += 1;
                OpKind::Count
            }
            "summarize" => {
                self.i += 1;
                let aggs = if self.is_ident("by") {
                    Vec::new()
                } else {
                    self.named_list(&["by"])?
                };
                let by = if self.eat_ident("by") {
                    let by = self.named_list(&[])?;
                    if by.is_empty() {
                        return Err(self.err_here());
                    }
                    by
                } else {
                    Vec::new()
                };
                if aggs.is_empty() && by.is_empty() {
                    return Err(self.err_here());
                }
                OpKind::Summarize { aggs, by }
            }
            "distinct" => {
                self.i += 1;
                if self.eat(&Tok::Star) {
                    OpKind::Distinct(None)
                } else {
                    let mut cols = vec![self.name()?];
                    while self.eat(&Tok::Comma) {
                        cols.push(self.name()?);
                    }
                    OpKind::Distinct(Some(cols))
                }
            }
            other if UNSUPPORTED_OPERATORS.contains(&other) => {
                return Err(unsupported_operator(other));
            }
            _ => return Err(self.err_here()),
        };
        Ok(PipeOp { keyword: kw, kind })
    }

    /// A column name or wildcard pattern such as `Prefix*`.
    fn name_pattern(&mut self) -> Result<String, KqlError> {
        let mut out = String::new();
        let mut last_end: Option<usize> = None;
        while let Some(t) = self.toks.get(self.i) {
            if let Some(e) = last_end
                && t.start != e
            {
                break;
            }
            match &t.tok {
                Tok::Ident(w) => out.push_str(w),
                Tok::Star => out.push('*'),
                Tok::LBracket if last_end.is_none() => {
                    return self.name();
                }
                _ => break,
            }
            last_end = Some(t.end);
            self.i += 1;
        }
        if out.is_empty() {
            return Err(self.err_here());
        }
        Ok(out)
    }

    fn sort_key(&mut self) -> Result<SortKey, KqlError> {
        let expr = self.expr()?;
        let mut desc = true;
        if self.eat_ident("asc") {
            desc = false;
        } else if self.eat_ident("desc") {
            desc = true;
        }
        let mut nulls_first = None;
        if self.eat_ident("nulls") {
            if self.eat_ident("first") {
                nulls_first = Some(true);
            } else if self.eat_ident("last") {
                nulls_first = Some(false);
            } else {
                return Err(self.err_here());
            }
        }
        Ok(SortKey {
            expr,
            desc,
            nulls_first,
        })
    }

    /// Comma-separated `[name =] expr` list; stops before an identifier in
    /// `stop`, a pipe, `;` or the end.
    fn named_list(&mut self, stop: &[&str]) -> Result<Vec<NamedExpr>, KqlError> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Tok::Pipe | Tok::Eof | Tok::Semicolon => break,
                Tok::Ident(w) if stop.contains(&w.as_str()) => break,
                _ => {}
            }
            out.push(self.named_expr()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(out)
    }

    fn named_expr(&mut self) -> Result<NamedExpr, KqlError> {
        let is_named = match (self.peek(), self.peek_at(1)) {
            (Tok::Ident(_), Tok::Assign) => true,
            (Tok::LBracket, Tok::Str(_)) => {
                *self.peek_at(2) == Tok::RBracket && *self.peek_at(3) == Tok::Assign
            }
            (Tok::LParen, Tok::Ident(_)) => {
                // `(a, b) = ...` tuple assignment.
                if matches!(self.peek_at(2), Tok::Comma) {
                    return Err(KqlError::unsupported(
                        "Tuple column assignment '(a, b) = ...' is not supported by this KQL engine.",
                    ));
                }
                false
            }
            _ => false,
        };
        if is_named {
            let name = self.name()?;
            self.expect(&Tok::Assign)?;
            let expr = self.expr()?;
            Ok(NamedExpr {
                name: Some(name),
                expr,
            })
        } else {
            Ok(NamedExpr {
                name: None,
                expr: self.expr()?,
            })
        }
    }

    // ----------------------------------------------------------- expressions

    pub(super) fn expr(&mut self) -> Result<Expr, KqlError> {
        self.enter()?;
        let r = self.or_expr();
        self.leave();
        r
    }

    fn binary(&self, op: BinOp, left: Expr, right: Expr) -> Result<Expr, KqlError> {
        self.check_depth(Expr::node(ExprKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }))
    }

    fn or_expr(&mut self) -> Result<Expr, KqlError> {
        let mut operands = vec![self.and_expr()?];
        while self.eat_ident("or") {
            operands.push(self.and_expr()?);
        }
        self.balanced(BinOp::Or, operands)
    }

    fn and_expr(&mut self) -> Result<Expr, KqlError> {
        let mut operands = vec![self.cmp_expr()?];
        while self.eat_ident("and") {
            operands.push(self.cmp_expr()?);
        }
        self.balanced(BinOp::And, operands)
    }

    /// Builds a balanced tree for an associative chain (`and`/`or`), so long
    /// generated filters stay shallow.
    fn balanced(&self, op: BinOp, mut operands: Vec<Expr>) -> Result<Expr, KqlError> {
        if operands.len() <= 1 {
            return operands.pop().ok_or_else(|| self.err_here());
        }
        let right = operands.split_off(operands.len() / 2);
        let l = self.balanced(op, operands)?;
        let r = self.balanced(op, right)?;
        self.binary(op, l, r)
    }

    fn cmp_expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.add_expr()?;
        loop {
            let op = match self.peek().clone() {
                Tok::EqEq => BinOp::Eq,
                Tok::NotEq => BinOp::Ne,
                Tok::Lt => BinOp::Lt,
                Tok::Le => BinOp::Le,
                Tok::Gt => BinOp::Gt,
                Tok::Ge => BinOp::Ge,
                Tok::EqTilde => BinOp::EqCi,
                Tok::NotTilde => BinOp::NeCi,
                Tok::Ident(w) if w == "in" || w == "in~" => {
                    self.i += 1;
                    left = self.in_list(left, false, w == "in~")?;
                    continue;
                }
                Tok::Bang(w) if w == "in" || w == "in~" => {
                    self.i += 1;
                    left = self.in_list(left, true, w == "in~")?;
                    continue;
                }
                Tok::Ident(w) if w == "between" => {
                    self.i += 1;
                    left = self.between(left, false)?;
                    continue;
                }
                Tok::Bang(w) if w == "between" => {
                    self.i += 1;
                    left = self.between(left, true)?;
                    continue;
                }
                Tok::Ident(w) => match StrOp::from_word(&w) {
                    Some(op) => BinOp::Str(op, false),
                    None => {
                        if matches!(
                            w.as_str(),
                            "has_any" | "has_all" | "matches" | "contains_any"
                        ) {
                            return Err(unsupported_operator(&w));
                        }
                        break;
                    }
                },
                Tok::Bang(w) => match StrOp::from_word(&w) {
                    Some(op) => BinOp::Str(op, true),
                    None => return Err(unsupported_operator(&format!("!{w}"))),
                },
                _ => break,
            };
            self.i += 1;
            let right = self.add_expr()?;
            left = self.binary(op, left, right)?;
        }
        Ok(left)
    }

    fn in_list(&mut self, left: Expr, negated: bool, ci: bool) -> Result<Expr, KqlError> {
        self.expect(&Tok::LParen)?;
        let mut list = Vec::new();
        if *self.peek() != Tok::RParen {
            loop {
                list.push(self.expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        self.expect(&Tok::RParen)?;
        if list.is_empty() {
            return Err(self.err_prev());
        }
        self.check_depth(Expr::node(ExprKind::In {
            expr: Box::new(left),
            list,
            negated,
            case_insensitive: ci,
        }))
    }

    fn between(&mut self, left: Expr, negated: bool) -> Result<Expr, KqlError> {
        self.expect(&Tok::LParen)?;
        let low = self.expr()?;
        self.expect(&Tok::DotDot)?;
        let high = self.expr()?;
        self.expect(&Tok::RParen)?;
        self.check_depth(Expr::node(ExprKind::Between {
            expr: Box::new(left),
            low: Box::new(low),
            high: Box::new(high),
            negated,
        }))
    }

    fn add_expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.mul_expr()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => break,
            };
            self.i += 1;
            let right = self.mul_expr()?;
            left = self.binary(op, left, right)?;
        }
        Ok(left)
    }

    fn mul_expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.unary_expr()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Mod,
                _ => break,
            };
            self.i += 1;
            let right = self.unary_expr()?;
            left = self.binary(op, left, right)?;
        }
        Ok(left)
    }

    fn unary_expr(&mut self) -> Result<Expr, KqlError> {
        let op = match self.peek() {
            Tok::Minus => Some(UnOp::Neg),
            Tok::Plus => Some(UnOp::Plus),
            _ => None,
        };
        match op {
            Some(op) => {
                self.i += 1;
                self.enter()?;
                let inner = self.unary_expr();
                self.leave();
                let inner = inner?;
                // Fold negative numeric literals directly.
                if op == UnOp::Neg
                    && let ExprKind::Lit(v) = &inner.kind
                {
                    let folded = match v {
                        Value::Long(i) => i.checked_neg().map(Value::Long),
                        Value::Real(r) => Some(Value::Real(-r)),
                        Value::TimeSpan(t) => t.checked_neg().map(Value::TimeSpan),
                        _ => None,
                    };
                    if let Some(v) = folded {
                        return Ok(Expr::leaf(ExprKind::Lit(v)));
                    }
                }
                self.check_depth(Expr::node(ExprKind::Unary {
                    op,
                    expr: Box::new(inner),
                }))
            }
            None => self.postfix_expr(),
        }
    }

    fn postfix_expr(&mut self) -> Result<Expr, KqlError> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.i += 1;
                    let name = match self.advance() {
                        Tok::Ident(w) => w,
                        _ => return Err(self.err_prev()),
                    };
                    e = self.check_depth(Expr::node(ExprKind::Member {
                        expr: Box::new(e),
                        name,
                    }))?;
                }
                Tok::LBracket => {
                    self.i += 1;
                    let index = self.expr()?;
                    self.expect(&Tok::RBracket)?;
                    e = self.check_depth(Expr::node(ExprKind::Index {
                        expr: Box::new(e),
                        index: Box::new(index),
                    }))?;
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, KqlError> {
        let start = self.i;
        match self.advance() {
            Tok::Long(i) => Ok(Expr::leaf(ExprKind::Lit(Value::Long(i)))),
            Tok::Real(r) => Ok(Expr::leaf(ExprKind::Lit(Value::Real(r)))),
            Tok::Str(s) => Ok(Expr::leaf(ExprKind::Lit(Value::string(s)))),
            Tok::TimeSpan(t) => Ok(Expr::leaf(ExprKind::Lit(Value::TimeSpan(t)))),
            Tok::TypedLit(kw, raw) => self.typed_literal(kw, &raw, start),
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            Tok::LBracket => {
                // ['column name']
                self.i = start;
                let name = self.name()?;
                Ok(Expr::leaf(ExprKind::Column(name)))
            }
            Tok::Ident(w) => {
                match w.as_str() {
                    "true" | "True" | "TRUE" => {
                        return Ok(Expr::leaf(ExprKind::Lit(Value::Bool(true))));
                    }
                    "false" | "False" | "FALSE" => {
                        return Ok(Expr::leaf(ExprKind::Lit(Value::Bool(false))));
                    }
                    _ => {}
                }
                if RESERVED.contains(&w.as_str()) || StrOp::from_word(&w).is_some() {
                    self.i = start;
                    return Err(self.err_here());
                }
                if *self.peek() == Tok::LParen {
                    if let Some(ty) = scalar_literal_type(&w) {
                        return self.scalar_typed_literal(ty, start);
                    }
                    self.i += 1;
                    let mut args = Vec::new();
                    if *self.peek() != Tok::RParen {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat(&Tok::Comma) {
                                break;
                            }
                        }
                    }
                    self.expect(&Tok::RParen)?;
                    return self.check_depth(Expr::node(ExprKind::Call { name: w, args }));
                }
                Ok(Expr::leaf(ExprKind::Column(w)))
            }
            _ => {
                self.i = start;
                Err(self.err_here())
            }
        }
    }

    fn typed_literal(&self, kw: &str, raw: &str, tok_index: usize) -> Result<Expr, KqlError> {
        let bad = || {
            self.toks
                .get(tok_index)
                .map(|t| lexer::error_at(self.src, t.start, t.end))
                .unwrap_or_else(|| self.err_here())
        };
        let text = raw.trim();
        let ty = match kw {
            "datetime" => ColumnType::DateTime,
            "timespan" => ColumnType::TimeSpan,
            "guid" => ColumnType::Guid,
            _ => ColumnType::Dynamic,
        };
        if text == "null" {
            return Ok(Expr::leaf(ExprKind::TypedNull(ty)));
        }
        let v = match ty {
            ColumnType::DateTime => value::parse_datetime(text).map(Value::DateTime),
            ColumnType::TimeSpan => parse_timespan_literal(text).map(Value::TimeSpan),
            ColumnType::Guid => Uuid::try_parse(text).ok().map(Value::Guid),
            _ => serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .map(Value::dynamic),
        };
        match v {
            Some(Value::Null) => Ok(Expr::leaf(ExprKind::TypedNull(ty))),
            Some(v) => Ok(Expr::leaf(ExprKind::Lit(v))),
            None => Err(bad()),
        }
    }

    /// `long(12)`, `int(null)`, `real(nan)`, `bool(true)`, `string("x")`.
    fn scalar_typed_literal(&mut self, ty: ColumnType, start: usize) -> Result<Expr, KqlError> {
        self.expect(&Tok::LParen)?;
        let mut neg = false;
        if self.eat(&Tok::Minus) {
            neg = true;
        } else {
            self.eat(&Tok::Plus);
        }
        let tok = self.advance();
        let bad = |p: &Self| {
            p.toks
                .get(start)
                .map(|t| lexer::error_at(p.src, t.start, t.end))
                .unwrap_or_else(|| p.err_here())
        };
        let v = match (&tok, ty) {
            (Tok::Ident(w), _) if w == "null" && !neg => None,
            (Tok::Long(i), ColumnType::Long) => Some(Value::Long(if neg { -i } else { *i })),
            (Tok::Long(i), ColumnType::Int) => {
                let v = if neg { -i } else { *i };
                Some(Value::Int(i32::try_from(v).map_err(|_| bad(self))?))
            }
            (Tok::Long(i), ColumnType::Real) => {
                Some(Value::Real(if neg { -(*i as f64) } else { *i as f64 }))
            }
            (Tok::Real(r), ColumnType::Real) => Some(Value::Real(if neg { -r } else { *r })),
            (Tok::Ident(w), ColumnType::Real) if w == "nan" && !neg => Some(Value::Real(f64::NAN)),
            (Tok::Ident(w), ColumnType::Real) if w == "inf" => Some(Value::Real(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })),
            (Tok::Ident(w), ColumnType::Bool) if !neg && (w == "true" || w == "false") => {
                Some(Value::Bool(w == "true"))
            }
            (Tok::Long(i), ColumnType::Bool) if !neg && (*i == 0 || *i == 1) => {
                Some(Value::Bool(*i == 1))
            }
            (Tok::Str(s), ColumnType::String) if !neg => Some(Value::string(s)),
            _ => return Err(bad(self)),
        };
        self.expect(&Tok::RParen)?;
        Ok(Expr::leaf(match v {
            Some(v) => ExprKind::Lit(v),
            None => ExprKind::TypedNull(ty),
        }))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(s: &str) -> Query {
        match parse(s) {
            Ok(q) => q,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn syntax_err(s: &str) -> (usize, usize, String) {
        let e = parse(s).expect_err(s);
        assert_eq!(e.code, "SYN0002", "{s}: {e}");
        let l = e.location.expect("location");
        (l.line, l.pos, l.token)
    }

    #[test]
    fn parses_pipeline() {
        let q = parse_ok(
            "T | where a > 1 and b contains 'x' | project a, c = b | take 10 | sort by a asc, c",
        );
        assert!(matches!(q.source, Source::Table(ref n) if n == "T"));
        assert_eq!(q.ops.len(), 4);
        match &q.ops[3].kind {
            OpKind::Sort(keys) => {
                assert!(!keys[0].desc);
                assert!(keys[1].desc, "default is desc");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recorded_syntax_error_positions() {
        // Positions as in recorded Log Analytics responses.
        assert_eq!(
            syntax_err("completely invalid syntax"),
            (1, 11, "invalid".into())
        );
        assert_eq!(syntax_err("My Not So Valid Query"), (1, 3, "Not".into()));
    }

    #[test]
    fn syntax_error_on_second_line_and_eof() {
        assert_eq!(syntax_err("T\n| where"), (2, 7, "<EOF>".into()));
        assert_eq!(syntax_err("T | where x ==  | take 1").2, "|");
        assert_eq!(syntax_err("T | frobnicate").2, "frobnicate");
    }

    #[test]
    fn unsupported_operators_are_named() {
        for (q, name) in [
            ("T | join (U) on x", "join"),
            ("T | mv-expand x", "mv-expand"),
            ("T | render timechart", "render"),
            ("T | parse x with * 'a' y", "parse"),
            ("union T, U", "union"),
            ("let x = 1; T", "let"),
            ("range x from 1 to 3 step 1", "range"),
            ("T | where x has_any ('a')", "has_any"),
        ] {
            let e = parse(q).expect_err(q);
            assert_eq!(e.code, "NotSupported", "{q}");
            assert!(
                e.message.contains(&format!("'{name}'")),
                "{q}: {}",
                e.message
            );
        }
    }

    #[test]
    fn typed_literals() {
        let q = parse_ok(
            "print datetime(2024-01-01), 1d, timespan(00:10:00), guid(74be27de-1e4e-49d9-b579-fe0b331d3642), dynamic({\"a\":1}), long(null), real(-inf), int(-5)",
        );
        let Source::Print(items) = q.source else {
            panic!()
        };
        assert_eq!(items.len(), 8);
        assert!(matches!(
            items[5].expr.kind,
            ExprKind::TypedNull(ColumnType::Long)
        ));
        assert!(
            matches!(items[6].expr.kind, ExprKind::Lit(Value::Real(r)) if r == f64::NEG_INFINITY)
        );
        assert!(matches!(items[7].expr.kind, ExprKind::Lit(Value::Int(-5))));
        assert!(parse("print datetime(not a date)").is_err());
        assert!(parse("print guid(xyz)").is_err());
        assert!(parse("print dynamic({bad json)").is_err());
    }

    #[test]
    fn datatable_parse() {
        let q = parse_ok("datatable(a:long, b:string)[1, 'x', -2, 'y',]");
        match q.source {
            Source::DataTable { columns, values } => {
                assert_eq!(columns.len(), 2);
                assert_eq!(values.len(), 4);
                assert!(matches!(values[2].kind, ExprKind::Lit(Value::Long(-2))));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse("datatable(a:decimal)[1]").is_err());
    }

    #[test]
    fn nesting_limit() {
        let deep = format!("print {}1{}", "(".repeat(100), ")".repeat(100));
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{}", e.message);
        let ok = format!("print {}1{}", "(".repeat(30), ")".repeat(30));
        assert!(parse(&ok).is_ok());
        let negs = format!("print {}1", "-".repeat(200));
        assert!(parse(&negs).is_err());
    }

    #[test]
    fn chain_depth_limit() {
        let long_sum = vec!["x"; 500].join(" + ");
        let e = parse(&format!("T | where {long_sum} > 1")).unwrap_err();
        assert!(e.message.contains("too complex"), "{}", e.message);
        // `or` chains are balanced, so even very long ones are fine.
        let long_or = vec!["x == 1"; 5000].join(" or ");
        let q = parse(&format!("T | where {long_or}")).unwrap();
        match &q.ops[0].kind {
            OpKind::Where(e) => assert!(e.depth <= 16, "depth {}", e.depth),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn summarize_forms() {
        let q = parse_ok("T | summarize n = count(), avg(x) by bin(TimeGenerated, 1h), k");
        match &q.ops[0].kind {
            OpKind::Summarize { aggs, by } => {
                assert_eq!(aggs.len(), 2);
                assert_eq!(aggs[0].name.as_deref(), Some("n"));
                assert_eq!(by.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        let q = parse_ok("T | summarize by k");
        assert!(matches!(&q.ops[0].kind, OpKind::Summarize { aggs, .. } if aggs.is_empty()));
        assert!(parse("T | summarize").is_err());
    }

    #[test]
    fn bracketed_names_and_patterns() {
        let q = parse_ok("['my table'] | project-away Col*, ['a b'] | extend ['x y'] = 1");
        assert!(matches!(q.source, Source::Table(ref n) if n == "my table"));
        match &q.ops[0].kind {
            OpKind::ProjectAway(p) => assert_eq!(p, &vec!["Col*".to_string(), "a b".to_string()]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_between_and_member() {
        parse_ok("T | where a in (1, 2) and b !in ('x') and c in~ ('Y') and d between (1 .. 5)");
        parse_ok("T | where d.prop == 'x' and d['k'][0] == 1");
        assert!(parse("T | where a in ()").is_err());
    }

    #[test]
    fn trailing_semicolon_and_garbage() {
        parse_ok("T | take 1;");
        assert_eq!(syntax_err("T | take 1 2").2, "2");
    }
}

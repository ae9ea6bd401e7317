//! Parsing of the query: its source (a table, `print`, `datatable`) and the tabular operators after `|`.

use super::{Parser, unsupported_operator};
use crate::kql::ast::{Expr, ExprKind, NamedExpr, OpKind, PipeOp, Query, SortKey, Source};
use crate::kql::error::KqlError;
use crate::kql::lexer::Tok;
use crate::kql::value::ColumnType;

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

impl Parser<'_> {
    pub(super) fn query(&mut self) -> Result<Query, KqlError> {
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
        let columns = self.comma_list(|p| {
            let name = p.name()?;
            p.expect(&Tok::Colon)?;
            match p.advance() {
                Tok::Ident(t) => Ok((name, ColumnType::parse(&t).ok_or_else(|| p.err_prev())?)),
                _ => Err(p.err_prev()),
            }
        })?;
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
            "project" => OpKind::Project(self.operator_items()?),
            "extend" => OpKind::Extend(self.operator_items()?),
            "project-away" => {
                self.i += 1;
                OpKind::ProjectAway(self.comma_list(Self::name_pattern)?)
            }
            "project-rename" => {
                self.i += 1;
                let pairs = self.comma_list(|p| {
                    let new = p.name()?;
                    p.expect(&Tok::Assign)?;
                    Ok((new, p.name()?))
                })?;
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
                OpKind::Sort(self.comma_list(Self::sort_key)?)
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
                    OpKind::Distinct(Some(self.comma_list(Self::name)?))
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
    /// The `name = expr` list after an operator's keyword (`project`, `extend`), which may
    /// not be empty.
    fn operator_items(&mut self) -> Result<Vec<NamedExpr>, KqlError> {
        self.i += 1;
        let list = self.named_list(&[])?;
        if list.is_empty() {
            return Err(self.err_here());
        }
        Ok(list)
    }

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
}

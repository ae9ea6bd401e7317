//! Parsing of scalar expressions, by precedence: `or`, `and`, comparisons, `+`, `*`, unary, postfix, literals.

use uuid::Uuid;

use super::{Parser, RESERVED, parse_timespan_literal, scalar_literal_type, unsupported_operator};
use crate::kql::ast::{BinOp, CmpOp, Expr, ExprKind, StrOp, UnOp};
use crate::kql::error::KqlError;
use crate::kql::lexer::{self, Tok};
use crate::kql::value::{self, ColumnType, Value};

impl Parser<'_> {
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
                Tok::EqEq => BinOp::Cmp(CmpOp::Eq),
                Tok::NotEq => BinOp::Cmp(CmpOp::Ne),
                Tok::Lt => BinOp::Cmp(CmpOp::Lt),
                Tok::Le => BinOp::Cmp(CmpOp::Le),
                Tok::Gt => BinOp::Cmp(CmpOp::Gt),
                Tok::Ge => BinOp::Cmp(CmpOp::Ge),
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
        let list = self.exprs_to_rparen()?;
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
        self.left_assoc(Self::mul_expr, |t| match t {
            Tok::Plus => Some(BinOp::Add),
            Tok::Minus => Some(BinOp::Sub),
            _ => None,
        })
    }

    fn mul_expr(&mut self) -> Result<Expr, KqlError> {
        self.left_assoc(Self::unary_expr, |t| match t {
            Tok::Star => Some(BinOp::Mul),
            Tok::Slash => Some(BinOp::Div),
            Tok::Percent => Some(BinOp::Mod),
            _ => None,
        })
    }

    /// A left-associative chain of `operand`s joined by the operators `op_of` names.
    fn left_assoc(
        &mut self,
        operand: fn(&mut Self) -> Result<Expr, KqlError>,
        op_of: fn(&Tok) -> Option<BinOp>,
    ) -> Result<Expr, KqlError> {
        let mut left = operand(self)?;
        while let Some(op) = op_of(self.peek()) {
            self.i += 1;
            let right = operand(self)?;
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
                    let args = self.exprs_to_rparen()?;
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

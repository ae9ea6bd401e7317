//! Compilation of expressions: name binding, operator typing, constant folding.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::functions::compile_call;
use super::ops::{as_i64, lower, str_of, ticks_of};
use super::{ArithMode, ArithOp, CExpr, CmpMode, CmpOp, Frame, Func, Needle, Scope, Typed};
use crate::kql::ast::{BinOp, Expr, ExprKind, StrOp, UnOp};
use crate::kql::error::KqlError;
use crate::kql::exec::FastHashState;
use crate::kql::limits::Governor;
use crate::kql::value::{ColumnType, Value, as_f64};

fn is_const(e: &CExpr) -> bool {
    matches!(e, CExpr::Const(_))
}

/// Evaluates an expression whose inputs are all constants.
pub(super) fn fold(gov: &Governor, e: CExpr) -> CExpr {
    let all_const = match &e {
        CExpr::Const(_) | CExpr::Col(_) | CExpr::CmpColTicks { .. } | CExpr::CmpColStr { .. } => {
            return e;
        }
        CExpr::Cmp { l, r, .. }
        | CExpr::Arith { l, r, .. }
        | CExpr::And(l, r)
        | CExpr::Or(l, r) => is_const(l) && is_const(r),
        CExpr::Neg(x) => is_const(x),
        CExpr::StrPred { l, r, .. } => {
            is_const(l)
                && match r {
                    Needle::Const(_) => true,
                    Needle::Expr(x) => is_const(x),
                }
        }
        CExpr::In { e, list, .. } => is_const(e) && list.iter().all(is_const),
        CExpr::InSet { e, .. } => is_const(e),
        CExpr::Call { args, .. } => args.iter().all(is_const),
        CExpr::Member { e, key } => is_const(e) && is_const(key),
    };
    if all_const {
        let frame = Frame { cols: &[], gov };
        CExpr::Const(e.eval(&frame, 0))
    } else {
        e
    }
}

fn numeric_rank(t: ColumnType) -> Option<u8> {
    match t {
        ColumnType::Int => Some(0),
        ColumnType::Long => Some(1),
        ColumnType::Real => Some(2),
        _ => None,
    }
}

pub(super) fn widest_numeric(a: ColumnType, b: ColumnType) -> Option<ColumnType> {
    let (ra, rb) = (numeric_rank(a)?, numeric_rank(b)?);
    Some(if ra >= rb { a } else { b })
}

/// The comparison mode for two operand types, if they are comparable.
fn cmp_mode(a: ColumnType, b: ColumnType) -> Option<CmpMode> {
    use ColumnType as T;
    if a == T::Dynamic || b == T::Dynamic {
        return Some(CmpMode::Dyn);
    }
    Some(match (a, b) {
        (T::Int | T::Long, T::Int | T::Long) => CmpMode::Int,
        (x, y) if x.is_numeric() && y.is_numeric() => CmpMode::Real,
        (T::DateTime, T::DateTime) | (T::TimeSpan, T::TimeSpan) => CmpMode::Tick,
        (T::String, T::String) => CmpMode::Str,
        (T::Bool, T::Bool) => CmpMode::Bool,
        (T::Guid, T::Guid) => CmpMode::Guid,
        _ => return None,
    })
}

fn arith_mode(op: ArithOp, a: ColumnType, b: ColumnType) -> Option<(ArithMode, ColumnType)> {
    use ArithOp as O;
    use ColumnType as T;
    Some(match (a, b) {
        (T::Int, T::Int) => (ArithMode::Int, T::Int),
        (T::Int | T::Long, T::Int | T::Long) => (ArithMode::Long, T::Long),
        (x, y) if x.is_numeric() && y.is_numeric() => (ArithMode::Real, T::Real),
        (T::DateTime, T::DateTime) if op == O::Sub => (ArithMode::DtDt, T::TimeSpan),
        (T::DateTime, T::TimeSpan) if matches!(op, O::Add | O::Sub) => {
            (ArithMode::DtTs, T::DateTime)
        }
        (T::TimeSpan, T::DateTime) if op == O::Add => (ArithMode::TsDt, T::DateTime),
        (T::TimeSpan, T::TimeSpan) if matches!(op, O::Add | O::Sub | O::Mod) => {
            (ArithMode::TsTs, T::TimeSpan)
        }
        (T::TimeSpan, T::TimeSpan) if op == O::Div => (ArithMode::TsTs, T::Real),
        (T::TimeSpan, y) if y.is_numeric() && matches!(op, O::Mul | O::Div) => {
            (ArithMode::TsNum, T::TimeSpan)
        }
        (x, T::TimeSpan) if x.is_numeric() && op == O::Mul => (ArithMode::NumTs, T::TimeSpan),
        _ => return None,
    })
}

/// Compiles an expression against a scope. Aggregation functions are
/// rejected here; `summarize` compiles them separately.
pub(in crate::kql) fn compile(e: &Expr, scope: &Scope<'_>) -> Result<Typed, KqlError> {
    let (expr, ty) = match &e.kind {
        ExprKind::Lit(v) => (
            CExpr::Const(v.clone()),
            v.column_type().unwrap_or(ColumnType::String),
        ),
        ExprKind::TypedNull(t) => (CExpr::Const(Value::Null), *t),
        ExprKind::Null => (CExpr::Const(Value::Null), ColumnType::Dynamic),
        ExprKind::Column(name) => match scope.columns.iter().position(|c| &c.name == name) {
            Some(i) => (CExpr::Col(i), scope.columns[i].ty),
            None => return Err(scope.unresolved(name)),
        },
        ExprKind::Unary { op, expr } => {
            let inner = compile(expr, scope)?;
            if !(inner.ty.is_numeric() || inner.ty == ColumnType::TimeSpan) {
                return Err(scope.type_error(format!(
                    "Unary operator '{}' cannot be applied to a value of type {}",
                    if *op == UnOp::Neg { "-" } else { "+" },
                    inner.ty
                )));
            }
            match op {
                UnOp::Plus => (inner.expr, inner.ty),
                UnOp::Neg => (fold(scope.gov, CExpr::Neg(Box::new(inner.expr))), inner.ty),
            }
        }
        ExprKind::Binary { op, left, right } => compile_binary(*op, left, right, scope)?,
        ExprKind::In {
            expr,
            list,
            negated,
            case_insensitive,
        } => {
            let lhs = compile(expr, scope)?;
            let mut items = Vec::with_capacity(list.len());
            let mut mode = None;
            for item in list {
                let it = compile(item, scope)?;
                let m = if *case_insensitive {
                    if !matches!(lhs.ty, ColumnType::String | ColumnType::Dynamic)
                        || !matches!(it.ty, ColumnType::String | ColumnType::Dynamic)
                    {
                        None
                    } else {
                        Some(CmpMode::StrCi)
                    }
                } else {
                    cmp_mode(lhs.ty, it.ty)
                };
                let Some(m) = m else {
                    return Err(scope.type_error(format!(
                        "Cannot compare values of types {} and {} in 'in' operator. Try adding explicit casts",
                        lhs.ty, it.ty
                    )));
                };
                mode = Some(match (mode, m) {
                    (Some(CmpMode::Int), CmpMode::Real) | (Some(CmpMode::Real), _) => CmpMode::Real,
                    (Some(CmpMode::Dyn), _) => CmpMode::Dyn,
                    _ => m,
                });
                items.push(it.expr);
            }
            let mode = mode.unwrap_or(CmpMode::Str);
            let folded = fold(
                scope.gov,
                CExpr::In {
                    e: Box::new(lhs.expr),
                    list: items,
                    negated: *negated,
                    mode,
                },
            );
            (in_set(folded), ColumnType::Bool)
        }
        ExprKind::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let x = compile(expr, scope)?;
            let lo = compile(low, scope)?;
            let mut hi = compile(high, scope)?;
            if x.ty == ColumnType::DateTime
                && lo.ty == ColumnType::DateTime
                && hi.ty == ColumnType::TimeSpan
            {
                hi = Typed {
                    expr: fold(
                        scope.gov,
                        CExpr::Arith {
                            op: ArithOp::Add,
                            mode: ArithMode::DtTs,
                            l: Box::new(lo.expr.clone()),
                            r: Box::new(hi.expr),
                        },
                    ),
                    ty: ColumnType::DateTime,
                };
            }
            let (Some(m1), Some(m2)) = (cmp_mode(x.ty, lo.ty), cmp_mode(x.ty, hi.ty)) else {
                return Err(scope.type_error(format!(
                    "Cannot compare values of types {} and {}/{} in 'between'. Try adding explicit casts",
                    x.ty, lo.ty, hi.ty
                )));
            };
            let ge = make_cmp(scope.gov, CmpOp::Ge, m1, x.expr.clone(), lo.expr);
            let le = make_cmp(scope.gov, CmpOp::Le, m2, x.expr, hi.expr);
            let both = fold(scope.gov, CExpr::And(Box::new(ge), Box::new(le)));
            let e = if *negated {
                fold(
                    scope.gov,
                    CExpr::Call {
                        f: Func::Not,
                        args: vec![both],
                        ty: ColumnType::Bool,
                    },
                )
            } else {
                both
            };
            (e, ColumnType::Bool)
        }
        ExprKind::Member { expr, name } => {
            let base = compile(expr, scope)?;
            if base.ty != ColumnType::Dynamic {
                return Err(scope.type_error(format!(
                    "Member access '.{name}' requires a dynamic value, got {}",
                    base.ty
                )));
            }
            (
                fold(
                    scope.gov,
                    CExpr::Member {
                        e: Box::new(base.expr),
                        key: Box::new(CExpr::Const(Value::string(name))),
                    },
                ),
                ColumnType::Dynamic,
            )
        }
        ExprKind::Index { expr, index } => {
            let base = compile(expr, scope)?;
            let idx = compile(index, scope)?;
            if base.ty != ColumnType::Dynamic {
                return Err(scope.type_error(format!(
                    "Indexing requires a dynamic value, got {}",
                    base.ty
                )));
            }
            if !matches!(
                idx.ty,
                ColumnType::String | ColumnType::Int | ColumnType::Long
            ) {
                return Err(scope.type_error(format!(
                    "Index must be a string or an integer, got {}",
                    idx.ty
                )));
            }
            (
                fold(
                    scope.gov,
                    CExpr::Member {
                        e: Box::new(base.expr),
                        key: Box::new(idx.expr),
                    },
                ),
                ColumnType::Dynamic,
            )
        }
        ExprKind::Call { name, args } => compile_call(name, args, scope)?,
    };
    Ok(Typed { expr, ty })
}

/// Lists of constants at least this long are looked up in a hash set.
const IN_SET_MIN: usize = 8;

/// The constants of an `in` list, by comparison mode, keyed so that set membership
/// matches [`compare_values`]' equality (nulls and NaN never match).
#[derive(Clone, Debug)]
pub(in crate::kql) enum ConstSet {
    /// int/long, or datetime/timespan ticks.
    Ints(HashSet<i64, FastHashState>),
    /// Numbers compared as reals: bits with -0 folded into 0.
    Reals(HashSet<u64, FastHashState>),
    Strs(HashSet<Arc<str>, FastHashState>),
    /// `in~`: lower-cased text.
    StrsCi(HashSet<String, FastHashState>),
    Guids(HashSet<Uuid, FastHashState>),
}

fn real_key(x: f64) -> Option<u64> {
    if x.is_nan() {
        None
    } else if x == 0.0 {
        Some(0.0f64.to_bits())
    } else {
        Some(x.to_bits())
    }
}

impl ConstSet {
    fn build(mode: CmpMode, items: &[CExpr]) -> Option<ConstSet> {
        let consts = items
            .iter()
            .map(CExpr::as_const)
            .collect::<Option<Vec<&Value>>>()?;
        let live = || consts.iter().copied().filter(|v| !v.is_null());
        Some(match mode {
            CmpMode::Int => ConstSet::Ints(live().map(as_i64).collect::<Option<_>>()?),
            CmpMode::Tick => ConstSet::Ints(live().map(ticks_of).collect::<Option<_>>()?),
            CmpMode::Real => {
                let mut set = HashSet::default();
                for v in live() {
                    if let Some(k) = real_key(as_f64(v)?) {
                        set.insert(k);
                    }
                }
                ConstSet::Reals(set)
            }
            CmpMode::Str => ConstSet::Strs(
                live()
                    .map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
            CmpMode::StrCi => {
                ConstSet::StrsCi(live().map(|v| lower(&str_of(v)).into_owned()).collect())
            }
            CmpMode::Guid => ConstSet::Guids(
                live()
                    .map(|v| match v {
                        Value::Guid(g) => Some(*g),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
            CmpMode::Bool | CmpMode::Dyn => return None,
        })
    }

    /// Whether the non-null value `v` equals a member.
    pub(super) fn contains(&self, v: &Value) -> bool {
        match self {
            ConstSet::Ints(set) => as_i64(v)
                .or_else(|| ticks_of(v))
                .is_some_and(|k| set.contains(&k)),
            ConstSet::Reals(set) => as_f64(v)
                .and_then(real_key)
                .is_some_and(|k| set.contains(&k)),
            ConstSet::Strs(set) => match v {
                Value::String(s) => set.contains(s.as_ref()),
                _ => false,
            },
            ConstSet::StrsCi(set) => set.contains(lower(&str_of(v)).as_ref()),
            ConstSet::Guids(set) => match v {
                Value::Guid(g) => set.contains(g),
                _ => false,
            },
        }
    }
}

/// Turns an `in` over a long list of constants into a set lookup.
fn in_set(e: CExpr) -> CExpr {
    match e {
        CExpr::In {
            e,
            list,
            negated,
            mode,
        } if list.len() >= IN_SET_MIN => match ConstSet::build(mode, &list) {
            Some(set) => CExpr::InSet {
                e,
                set: Box::new(set),
                negated,
            },
            None => CExpr::In {
                e,
                list,
                negated,
                mode,
            },
        },
        other => other,
    }
}

fn make_cmp(gov: &Governor, op: CmpOp, mode: CmpMode, l: CExpr, r: CExpr) -> CExpr {
    // Fast path for column-vs-constant on 64-bit integer-like columns.
    if matches!(mode, CmpMode::Int | CmpMode::Tick) {
        match (&l, &r) {
            (CExpr::Col(c), CExpr::Const(v)) => {
                if let Some(rhs) = int_like(v) {
                    return CExpr::CmpColTicks { col: *c, op, rhs };
                }
            }
            (CExpr::Const(v), CExpr::Col(c)) => {
                if let Some(rhs) = int_like(v) {
                    return CExpr::CmpColTicks {
                        col: *c,
                        op: op.flip(),
                        rhs,
                    };
                }
            }
            _ => {}
        }
    }
    if mode == CmpMode::Str {
        match (&l, &r) {
            (CExpr::Col(c), CExpr::Const(Value::String(s))) => {
                return CExpr::CmpColStr {
                    col: *c,
                    op,
                    rhs: s.clone(),
                };
            }
            (CExpr::Const(Value::String(s)), CExpr::Col(c)) => {
                return CExpr::CmpColStr {
                    col: *c,
                    op: op.flip(),
                    rhs: s.clone(),
                };
            }
            _ => {}
        }
    }
    fold(
        gov,
        CExpr::Cmp {
            op,
            mode,
            l: Box::new(l),
            r: Box::new(r),
        },
    )
}

fn int_like(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i64::from(*i)),
        Value::Long(i) | Value::DateTime(i) | Value::TimeSpan(i) => Some(*i),
        _ => None,
    }
}

fn compile_binary(
    op: BinOp,
    left: &Expr,
    right: &Expr,
    scope: &Scope<'_>,
) -> Result<(CExpr, ColumnType), KqlError> {
    let l = compile(left, scope)?;
    let r = compile(right, scope)?;
    let bool_operands = |l: &Typed, r: &Typed| -> Result<(), KqlError> {
        for t in [l.ty, r.ty] {
            if t != ColumnType::Bool {
                return Err(scope.type_error(format!(
                    "The operands of '{}' must be of type bool, got {}",
                    op.symbol(),
                    t
                )));
            }
        }
        Ok(())
    };
    let cmp = |cop: CmpOp, l: Typed, r: Typed| -> Result<(CExpr, ColumnType), KqlError> {
        let Some(mode) = cmp_mode(l.ty, r.ty) else {
            return Err(scope.type_error(format!(
                "Cannot compare values of types {} and {}. Try adding explicit casts",
                l.ty, r.ty
            )));
        };
        Ok((
            make_cmp(scope.gov, cop, mode, l.expr, r.expr),
            ColumnType::Bool,
        ))
    };
    let arith = |aop: ArithOp, l: Typed, r: Typed| -> Result<(CExpr, ColumnType), KqlError> {
        let Some((mode, ty)) = arith_mode(aop, l.ty, r.ty) else {
            return Err(scope.type_error(format!(
                "Operator '{}' cannot be applied to operands of types {} and {}",
                op.symbol(),
                l.ty,
                r.ty
            )));
        };
        Ok((
            fold(
                scope.gov,
                CExpr::Arith {
                    op: aop,
                    mode,
                    l: Box::new(l.expr),
                    r: Box::new(r.expr),
                },
            ),
            ty,
        ))
    };
    match op {
        BinOp::And => {
            bool_operands(&l, &r)?;
            Ok((
                fold(scope.gov, CExpr::And(Box::new(l.expr), Box::new(r.expr))),
                ColumnType::Bool,
            ))
        }
        BinOp::Or => {
            bool_operands(&l, &r)?;
            Ok((
                fold(scope.gov, CExpr::Or(Box::new(l.expr), Box::new(r.expr))),
                ColumnType::Bool,
            ))
        }
        BinOp::Cmp(op) => cmp(op, l, r),
        BinOp::EqCi | BinOp::NeCi => {
            for t in [l.ty, r.ty] {
                if !matches!(t, ColumnType::String | ColumnType::Dynamic) {
                    return Err(scope.type_error(format!(
                        "Operator '{}' requires string operands, got {}",
                        op.symbol(),
                        t
                    )));
                }
            }
            let cop = if op == BinOp::EqCi {
                CmpOp::Eq
            } else {
                CmpOp::Ne
            };
            Ok((
                make_cmp(scope.gov, cop, CmpMode::StrCi, l.expr, r.expr),
                ColumnType::Bool,
            ))
        }
        BinOp::Add => arith(ArithOp::Add, l, r),
        BinOp::Sub => arith(ArithOp::Sub, l, r),
        BinOp::Mul => arith(ArithOp::Mul, l, r),
        BinOp::Div => arith(ArithOp::Div, l, r),
        BinOp::Mod => arith(ArithOp::Mod, l, r),
        BinOp::Str(sop, negated) => {
            let ci = is_case_insensitive(sop);
            let needle = match r.expr {
                CExpr::Const(v) => {
                    let s = v.to_kql_string();
                    Needle::Const(if ci { lower(&s).into_owned() } else { s })
                }
                other => Needle::Expr(Box::new(other)),
            };
            Ok((
                fold(
                    scope.gov,
                    CExpr::StrPred {
                        op: sop,
                        negated,
                        l: Box::new(l.expr),
                        r: needle,
                    },
                ),
                ColumnType::Bool,
            ))
        }
    }
}

pub(super) fn is_case_insensitive(op: StrOp) -> bool {
    matches!(
        op,
        StrOp::Contains
            | StrOp::Has
            | StrOp::StartsWith
            | StrOp::EndsWith
            | StrOp::HasPrefix
            | StrOp::HasSuffix
    )
}

//! Row-wise evaluation of compiled expressions and the sort order of values.

use std::cmp::Ordering;

use super::compiler::is_case_insensitive;
use super::functions::{call, member, numeric_as};
use super::ops::{arith, before_scan, compare_values, lower, str_of, str_pred};
use super::{CExpr, CmpOp, Frame, Func, Needle};
use crate::kql::table::ColumnData;
use crate::kql::value::{Value, compare_same_type};

impl CExpr {
    /// Evaluates the expression for one row.
    pub(in crate::kql) fn eval(&self, f: &Frame<'_>, row: usize) -> Value {
        match self {
            CExpr::Const(v) => v.clone(),
            CExpr::Col(c) => f.cols.get(*c).map_or(Value::Null, |d| d.get(row)),
            CExpr::CmpColTicks { .. }
            | CExpr::CmpColStr { .. }
            | CExpr::And(..)
            | CExpr::Or(..) => self.eval_bool(f, row).map_or(Value::Null, Value::Bool),
            CExpr::Cmp { op, mode, l, r } => {
                let a = l.eval(f, row);
                let b = r.eval(f, row);
                compare_values(*mode, *op, &a, &b).map_or(Value::Null, Value::Bool)
            }
            CExpr::Arith { op, mode, l, r } => arith(*op, *mode, &l.eval(f, row), &r.eval(f, row)),
            CExpr::Neg(x) => match x.eval(f, row) {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Long(i) => Value::Long(i.wrapping_neg()),
                Value::Real(r) => Value::Real(-r),
                Value::TimeSpan(t) => t.checked_neg().map_or(Value::Null, Value::TimeSpan),
                _ => Value::Null,
            },
            CExpr::StrPred { op, negated, l, r } => {
                if let (CExpr::Col(c), Needle::Const(n)) = (l.as_ref(), r)
                    && let Some(ColumnData::String(v)) = f.cols.get(*c).map(|d| d.as_ref())
                {
                    let hay = v.get(row).map_or("", |s| s.as_ref());
                    let Some(copy) = before_scan(f.gov, *op, hay) else {
                        return Value::Null;
                    };
                    let found = str_pred(*op, hay, n);
                    f.gov.refund(copy);
                    return Value::Bool(found != *negated);
                }
                let hay = l.eval(f, row);
                let hay = str_of(&hay);
                let Some(copy) = before_scan(f.gov, *op, &hay) else {
                    return Value::Null;
                };
                let res = match r {
                    Needle::Const(n) => str_pred(*op, &hay, n),
                    Needle::Expr(e) => {
                        let n = e.eval(f, row);
                        let n = str_of(&n);
                        if is_case_insensitive(*op) {
                            str_pred(*op, &hay, &lower(&n))
                        } else {
                            str_pred(*op, &hay, &n)
                        }
                    }
                };
                f.gov.refund(copy);
                Value::Bool(res != *negated)
            }
            CExpr::In {
                e,
                list,
                negated,
                mode,
            } => {
                let v = e.eval(f, row);
                if v.is_null() {
                    return Value::Bool(*negated);
                }
                f.gov.work(list.len());
                let found = list.iter().any(|item| {
                    let w = item.eval(f, row);
                    compare_values(*mode, CmpOp::Eq, &v, &w) == Some(true)
                });
                Value::Bool(found != *negated)
            }
            CExpr::InSet { e, set, negated } => {
                let v = e.eval(f, row);
                if v.is_null() {
                    return Value::Bool(*negated);
                }
                Value::Bool(set.contains(&v) != *negated)
            }
            CExpr::Call { f: func, args, ty } => {
                if let (Func::Iff, [c, a, b]) = (func, args.as_slice()) {
                    // Evaluate only the chosen branch.
                    let chosen = if c.eval_bool(f, row) == Some(true) {
                        a
                    } else {
                        b
                    };
                    return numeric_as(chosen.eval(f, row), *ty);
                }
                // Small fixed arrays avoid a heap allocation per row.
                match args.as_slice() {
                    [] => call(f.gov, *func, &[], *ty),
                    [a] => call(f.gov, *func, &[a.eval(f, row)], *ty),
                    [a, b] => call(f.gov, *func, &[a.eval(f, row), b.eval(f, row)], *ty),
                    [a, b, c] => call(
                        f.gov,
                        *func,
                        &[a.eval(f, row), b.eval(f, row), c.eval(f, row)],
                        *ty,
                    ),
                    _ => {
                        let vals: Vec<Value> = args.iter().map(|a| a.eval(f, row)).collect();
                        call(f.gov, *func, &vals, *ty)
                    }
                }
            }
            CExpr::Member { e, key } => member(f.gov, &e.eval(f, row), &key.eval(f, row)),
        }
    }

    /// Evaluates a bool expression; `None` means null.
    #[inline]
    pub(in crate::kql) fn eval_bool(&self, f: &Frame<'_>, row: usize) -> Option<bool> {
        match self {
            CExpr::CmpColTicks { col, op, rhs } => match f.cols.get(*col).map(|c| c.as_ref()) {
                Some(ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v)) => {
                    v.get(row).copied().flatten().map(|x| op.test(x.cmp(rhs)))
                }
                Some(ColumnData::Int(v)) => v
                    .get(row)
                    .copied()
                    .flatten()
                    .map(|x| op.test(i64::from(x).cmp(rhs))),
                _ => None,
            },
            CExpr::CmpColStr { col, op, rhs } => match f.cols.get(*col).map(|c| c.as_ref()) {
                Some(ColumnData::String(v)) => {
                    v.get(row).map(|x| op.test(x.as_ref().cmp(rhs.as_ref())))
                }
                _ => None,
            },
            // Kleene logic: false dominates `and`, true dominates `or`.
            CExpr::And(a, b) => kleene(a, b, f, row, false),
            CExpr::Or(a, b) => kleene(a, b, f, row, true),
            other => match other.eval(f, row) {
                Value::Bool(b) => Some(b),
                _ => None,
            },
        }
    }

    /// The constant value, if this expression is a constant.
    pub(in crate::kql) fn as_const(&self) -> Option<&Value> {
        match self {
            CExpr::Const(v) => Some(v),
            _ => None,
        }
    }
}

/// `a and b` (`dominant` false) or `a or b` (`dominant` true) in Kleene logic: the
/// dominant value on either side decides, else both must be known (`b` is not evaluated
/// when `a` decides).
#[inline]
fn kleene(a: &CExpr, b: &CExpr, f: &Frame<'_>, row: usize, dominant: bool) -> Option<bool> {
    match a.eval_bool(f, row) {
        Some(x) if x == dominant => Some(dominant),
        x => match (x, b.eval_bool(f, row)) {
            (_, Some(y)) if y == dominant => Some(dominant),
            (Some(_), Some(_)) => Some(!dominant),
            _ => None,
        },
    }
}

/// Orders two values for sorting, with KQL's placement of nulls and NaN
/// (which are grouped together).
pub(in crate::kql) fn sort_compare(
    a: &Value,
    b: &Value,
    desc: bool,
    nulls_first: bool,
) -> Ordering {
    fn nullish(v: &Value) -> Option<u8> {
        match v {
            Value::Null => Some(0),
            Value::Real(r) if r.is_nan() => Some(1),
            _ => None,
        }
    }
    match (nullish(a), nullish(b)) {
        (Some(x), Some(y)) => {
            // Nulls first: null, NaN, values; nulls last: values, NaN, null.
            if nulls_first { x.cmp(&y) } else { y.cmp(&x) }
        }
        (Some(_), None) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (None, Some(_)) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (None, None) => {
            let o = compare_same_type(a, b);
            if desc { o.reverse() } else { o }
        }
    }
}

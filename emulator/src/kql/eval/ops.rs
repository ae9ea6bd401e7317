//! Operators on values: string predicates, comparisons and arithmetic.

use std::borrow::Cow;

use uuid::Uuid;

use super::compiler::is_case_insensitive;
use super::{ArithMode, ArithOp, CmpMode, CmpOp};
use crate::kql::ast::StrOp;
use crate::kql::limits::Governor;
use crate::kql::value::{self, Value, as_f64, datetime_in_range};

/// Whether lower-casing `s` may change it (and so copies it).
fn needs_lowering(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80)
}

pub(super) fn lower(s: &str) -> Cow<'_, str> {
    if needs_lowering(s) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

pub(super) fn str_of(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_kql_string()),
    }
}

fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Before a string predicate scans `hay`: counts the work, and reserves the lower-cased
/// copy a case-insensitive operator makes (at most three times the text). `None` when the
/// query must stop; otherwise the bytes to give back once the predicate is done.
pub(super) fn before_scan(gov: &Governor, op: StrOp, hay: &str) -> Option<usize> {
    if !gov.work(hay.len()) {
        return None;
    }
    let copy = if is_case_insensitive(op) && needs_lowering(hay) {
        hay.len().saturating_mul(3)
    } else {
        0
    };
    gov.charge(copy).then_some(copy)
}

/// Evaluates a string predicate; `needle` is lower-cased when `op` is
/// case-insensitive.
pub(super) fn str_pred(op: StrOp, hay: &str, needle: &str) -> bool {
    let ci = is_case_insensitive(op);
    let hay_l = if ci { lower(hay) } else { Cow::Borrowed(hay) };
    let h: &str = &hay_l;
    match op {
        StrOp::Contains | StrOp::ContainsCs => h.contains(needle),
        StrOp::StartsWith | StrOp::StartsWithCs => h.starts_with(needle),
        StrOp::EndsWith | StrOp::EndsWithCs => h.ends_with(needle),
        StrOp::Has | StrOp::HasCs => term_match(h, needle, true, true),
        StrOp::HasPrefix | StrOp::HasPrefixCs => term_match(h, needle, true, false),
        StrOp::HasSuffix | StrOp::HasSuffixCs => term_match(h, needle, false, true),
    }
}

/// True if `needle` occurs in `hay` aligned to term boundaries (a term is a
/// run of alphanumeric characters). Edges of the needle that are not
/// alphanumeric need no boundary.
fn term_match(hay: &str, needle: &str, left: bool, right: bool) -> bool {
    if needle.is_empty() {
        return true;
    }
    let need_left = left && needle.chars().next().is_some_and(is_term_char);
    let need_right = right && needle.chars().next_back().is_some_and(is_term_char);
    let mut from = 0;
    while let Some(off) = hay.get(from..).and_then(|s| s.find(needle)) {
        let start = from + off;
        let end = start + needle.len();
        let left_ok = !need_left || !hay[..start].chars().next_back().is_some_and(is_term_char);
        let right_ok = !need_right || !hay[end..].chars().next().is_some_and(is_term_char);
        if left_ok && right_ok {
            return true;
        }
        // Advance by one character.
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

pub(super) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i64::from(*i)),
        Value::Long(i) => Some(*i),
        _ => None,
    }
}

pub(super) fn ticks_of(v: &Value) -> Option<i64> {
    match v {
        Value::DateTime(t) | Value::TimeSpan(t) => Some(*t),
        _ => None,
    }
}

/// Compares a dynamic value with another value; `None` when incomparable.
fn dyn_compare(a: &Value, b: &Value, op: CmpOp) -> Option<bool> {
    use serde_json::Value as J;
    if let (Value::Dynamic(x), Value::Dynamic(y)) = (a, b) {
        return match (x.as_ref(), y.as_ref()) {
            (J::Number(_), J::Number(_)) => {
                let o = x.as_f64()?.partial_cmp(&y.as_f64()?);
                Some(o.map_or(op.unordered(), |o| op.test(o)))
            }
            (J::String(p), J::String(q)) => Some(op.test(p.cmp(q))),
            (J::Bool(p), J::Bool(q)) => Some(op.test(p.cmp(q))),
            _ => match op {
                CmpOp::Eq => Some(x == y),
                CmpOp::Ne => Some(x != y),
                _ => None,
            },
        };
    }
    let (d, other, op) = match (a, b) {
        (Value::Dynamic(d), o) => (d, o, op),
        (o, Value::Dynamic(d)) => (d, o, op.flip()),
        _ => return None,
    };
    match (d.as_ref(), other) {
        (J::Number(_), o) if as_f64(o).is_some() => {
            let o = d.as_f64()?.partial_cmp(&as_f64(o)?);
            Some(o.map_or(op.unordered(), |o| op.test(o)))
        }
        (J::String(s), Value::String(o)) => Some(op.test(s.as_str().cmp(o))),
        (J::Number(_) | J::Bool(_), Value::String(o)) => {
            Some(op.test(d.to_string().as_str().cmp(o)))
        }
        (J::Bool(x), Value::Bool(y)) => Some(op.test(x.cmp(y))),
        (J::String(s), Value::DateTime(t)) => Some(op.test(value::parse_datetime(s)?.cmp(t))),
        (J::String(s), Value::TimeSpan(t)) => Some(op.test(value::parse_timespan(s)?.cmp(t))),
        (J::String(s), Value::Guid(g)) => Some(op.test(Uuid::try_parse(s).ok()?.cmp(g))),
        _ => None,
    }
}

/// Compares two values under a mode; `None` for null/incomparable.
pub(in crate::kql) fn compare_values(
    mode: CmpMode,
    op: CmpOp,
    a: &Value,
    b: &Value,
) -> Option<bool> {
    if a.is_null() || b.is_null() {
        return None;
    }
    match mode {
        CmpMode::Int => Some(op.test(as_i64(a)?.cmp(&as_i64(b)?))),
        CmpMode::Real => {
            let o = as_f64(a)?.partial_cmp(&as_f64(b)?);
            Some(o.map_or(op.unordered(), |o| op.test(o)))
        }
        CmpMode::Tick => Some(op.test(ticks_of(a)?.cmp(&ticks_of(b)?))),
        CmpMode::Str => match (a, b) {
            (Value::String(x), Value::String(y)) => Some(op.test(x.as_ref().cmp(y.as_ref()))),
            _ => Some(op.test(str_of(a).cmp(&str_of(b)))),
        },
        CmpMode::StrCi => {
            let eq = eq_ci(&str_of(a), &str_of(b));
            Some(if op == CmpOp::Ne { !eq } else { eq })
        }
        CmpMode::Bool => match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => Some(op.test(x.cmp(y))),
            _ => None,
        },
        CmpMode::Guid => match (a, b) {
            (Value::Guid(x), Value::Guid(y)) => Some(op.test(x.cmp(y))),
            _ => None,
        },
        CmpMode::Dyn => dyn_compare(a, b, op),
    }
}

pub(super) fn checked_dt(t: Option<i64>) -> Value {
    match t {
        Some(t) if datetime_in_range(t) => Value::DateTime(t),
        _ => Value::Null,
    }
}

/// `x op y` for two integers of one width, boxed by `wrap` (`Value::Int` or `Value::Long`):
/// addition, subtraction and multiplication wrap around.
macro_rules! int_arith {
    ($op:expr, $x:expr, $y:expr, $wrap:path) => {{
        let (x, y) = ($x, $y);
        match $op {
            ArithOp::Add => $wrap(x.wrapping_add(y)),
            ArithOp::Sub => $wrap(x.wrapping_sub(y)),
            ArithOp::Mul => $wrap(x.wrapping_mul(y)),
            // GUESS: integer division/modulo by zero yields null.
            ArithOp::Div => x.checked_div(y).map_or(Value::Null, $wrap),
            ArithOp::Mod => x.checked_rem(y).map_or(Value::Null, $wrap),
        }
    }};
}

pub(super) fn arith(op: ArithOp, mode: ArithMode, a: &Value, b: &Value) -> Value {
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    let ts = |t: Option<i64>| t.map_or(Value::Null, Value::TimeSpan);
    match mode {
        ArithMode::Int => {
            let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) else {
                return Value::Null;
            };
            // Operands are ints by type; truncating keeps 32-bit semantics.
            int_arith!(op, x as i32, y as i32, Value::Int)
        }
        ArithMode::Long => {
            let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) else {
                return Value::Null;
            };
            int_arith!(op, x, y, Value::Long)
        }
        ArithMode::Real => {
            let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) else {
                return Value::Null;
            };
            Value::Real(match op {
                ArithOp::Add => x + y,
                ArithOp::Sub => x - y,
                ArithOp::Mul => x * y,
                ArithOp::Div => x / y,
                ArithOp::Mod => x % y,
            })
        }
        ArithMode::DtDt => match (a, b) {
            (Value::DateTime(x), Value::DateTime(y)) => ts(x.checked_sub(*y)),
            _ => Value::Null,
        },
        ArithMode::DtTs => match (a, b) {
            (Value::DateTime(x), Value::TimeSpan(y)) => checked_dt(match op {
                ArithOp::Add => x.checked_add(*y),
                _ => x.checked_sub(*y),
            }),
            _ => Value::Null,
        },
        ArithMode::TsDt => match (a, b) {
            (Value::TimeSpan(x), Value::DateTime(y)) => checked_dt(y.checked_add(*x)),
            _ => Value::Null,
        },
        ArithMode::TsTs => match (a, b) {
            (Value::TimeSpan(x), Value::TimeSpan(y)) => match op {
                ArithOp::Add => ts(x.checked_add(*y)),
                ArithOp::Sub => ts(x.checked_sub(*y)),
                ArithOp::Mod => ts(x.checked_rem(*y)),
                _ => Value::Real(*x as f64 / *y as f64),
            },
            _ => Value::Null,
        },
        ArithMode::TsNum | ArithMode::NumTs => {
            let (t, n) = match (a, b) {
                (Value::TimeSpan(t), n) | (n, Value::TimeSpan(t)) => (*t, n),
                _ => return Value::Null,
            };
            match (op, n) {
                (ArithOp::Mul, Value::Int(_) | Value::Long(_)) => {
                    ts(as_i64(n).and_then(|k| t.checked_mul(k)))
                }
                (ArithOp::Div, Value::Int(_) | Value::Long(_)) => {
                    ts(as_i64(n).and_then(|k| t.checked_div(k)))
                }
                _ => {
                    let Some(k) = as_f64(n) else {
                        return Value::Null;
                    };
                    let r = if op == ArithOp::Mul {
                        t as f64 * k
                    } else {
                        t as f64 / k
                    };
                    if r.is_finite() && r.abs() < 9.2e18 {
                        Value::TimeSpan(r.round() as i64)
                    } else {
                        Value::Null
                    }
                }
            }
        }
    }
}

//! Scalar functions: argument checking at compile time, conversions and evaluation.

use std::borrow::Cow;
use std::sync::Arc;

use super::compiler::{compile, fold, widest_numeric};
use super::ops::{as_i64, checked_dt, str_of};
use super::{ArithMode, ArithOp, CExpr, Func, KNOWN_AGGREGATES, Scope, Typed};
use crate::kql::ast::Expr;
use crate::kql::error::KqlError;
use crate::kql::limits::Governor;
use crate::kql::parser;
use crate::kql::value::{
    self, ColumnType, DOTNET_EPOCH_OFFSET_TICKS, Value, as_f64, datetime_in_range,
};

fn arity(
    scope: &Scope<'_>,
    name: &str,
    args: &[Expr],
    min: usize,
    max: usize,
) -> Result<(), KqlError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(scope.type_error(format!(
            "Function '{name}' expects {expected} argument(s), got {}",
            args.len()
        )));
    }
    Ok(())
}

pub(super) fn compile_call(
    name: &str,
    args: &[Expr],
    scope: &Scope<'_>,
) -> Result<(CExpr, ColumnType), KqlError> {
    use ColumnType as T;
    let simple = |f: Func,
                  ty: ColumnType,
                  min: usize,
                  max: usize|
     -> Result<(CExpr, ColumnType), KqlError> {
        arity(scope, name, args, min, max)?;
        let mut cargs = Vec::with_capacity(args.len());
        for a in args {
            cargs.push(compile(a, scope)?.expr);
        }
        Ok(folded_call(scope.gov, f, cargs, ty))
    };
    match name {
        "tostring" => simple(Func::ToString, T::String, 1, 1),
        "toint" => simple(Func::ToInt, T::Int, 1, 1),
        "tolong" => simple(Func::ToLong, T::Long, 1, 1),
        "todouble" | "toreal" => simple(Func::ToReal, T::Real, 1, 1),
        "tobool" | "toboolean" => simple(Func::ToBool, T::Bool, 1, 1),
        "todatetime" => simple(Func::ToDateTime, T::DateTime, 1, 1),
        "totimespan" | "totime" => simple(Func::ToTimeSpan, T::TimeSpan, 1, 1),
        "isempty" => simple(Func::IsEmpty, T::Bool, 1, 1),
        "isnotempty" | "notempty" => simple(Func::IsNotEmpty, T::Bool, 1, 1),
        "isnull" => simple(Func::IsNull, T::Bool, 1, 1),
        "isnotnull" | "notnull" => simple(Func::IsNotNull, T::Bool, 1, 1),
        "strcat" => simple(Func::StrCat, T::String, 1, 64),
        "strlen" | "tolower" | "toupper" => {
            let a = single_arg(
                scope,
                name,
                args,
                |t| matches!(t, T::String | T::Dynamic),
                "a string argument",
            )?;
            let (f, ty) = match name {
                "strlen" => (Func::StrLen, T::Long),
                "tolower" => (Func::ToLower, T::String),
                _ => (Func::ToUpper, T::String),
            };
            Ok(folded_call(scope.gov, f, vec![a.expr], ty))
        }
        "not" => {
            let a = single_arg(scope, name, args, |t| t == T::Bool, "a bool argument")?;
            Ok(folded_call(scope.gov, Func::Not, vec![a.expr], T::Bool))
        }
        "isnan" => {
            let a = single_arg(scope, name, args, |t| t.is_numeric(), "a number")?;
            Ok(folded_call(scope.gov, Func::IsNan, vec![a.expr], T::Bool))
        }
        "abs" => {
            let a = single_arg(
                scope,
                name,
                args,
                |t| t.is_numeric() || t == T::TimeSpan,
                "a number",
            )?;
            let ty = a.ty;
            Ok(folded_call(scope.gov, Func::Abs, vec![a.expr], ty))
        }
        "now" => {
            arity(scope, name, args, 0, 1)?;
            let offset = match args.first() {
                Some(a) => const_timespan(a, scope, name)?,
                None => Some(0),
            };
            let v = offset
                .and_then(|o| scope.now.checked_add(o))
                .filter(|t| datetime_in_range(*t))
                .map_or(Value::Null, Value::DateTime);
            Ok((CExpr::Const(v), T::DateTime))
        }
        "ago" => {
            let a = single_arg(
                scope,
                name,
                args,
                |t| t == T::TimeSpan,
                "a timespan argument",
            )?;
            let e = CExpr::Arith {
                op: ArithOp::Sub,
                mode: ArithMode::DtTs,
                l: Box::new(CExpr::Const(Value::DateTime(scope.now))),
                r: Box::new(a.expr),
            };
            Ok((fold(scope.gov, e), T::DateTime))
        }
        "bin" | "floor" => {
            arity(scope, name, args, 2, 2)?;
            let v = compile(&args[0], scope)?;
            let s = compile(&args[1], scope)?;
            let ty = match (v.ty, s.ty) {
                (T::DateTime, T::TimeSpan) => T::DateTime,
                (T::TimeSpan, T::TimeSpan) => T::TimeSpan,
                (a, b) => match widest_numeric(a, b) {
                    Some(t) => t,
                    None => {
                        return Err(scope.type_error(format!(
                            "Function '{name}' cannot bin a value of type {} by a value of type {}",
                            v.ty, s.ty
                        )));
                    }
                },
            };
            Ok(folded_call(scope.gov, Func::Bin, vec![v.expr, s.expr], ty))
        }
        "iff" | "iif" => {
            arity(scope, name, args, 3, 3)?;
            let c = compile(&args[0], scope)?;
            let a = compile(&args[1], scope)?;
            let b = compile(&args[2], scope)?;
            if c.ty != T::Bool {
                return Err(scope.type_error(format!(
                    "Function '{name}' expects a bool condition, got {}",
                    c.ty
                )));
            }
            let ty = if a.ty == b.ty {
                a.ty
            } else if let Some(t) = widest_numeric(a.ty, b.ty) {
                t
            } else {
                return Err(scope.type_error(format!(
                    "Call to {name}(): @then data type ({}) must match the @else data type ({})",
                    a.ty, b.ty
                )));
            };
            Ok(folded_call(
                scope.gov,
                Func::Iff,
                vec![c.expr, a.expr, b.expr],
                ty,
            ))
        }
        _ if KNOWN_AGGREGATES.contains(&name) => Err(scope.type_error(format!(
            "Aggregation function '{name}' can only be used in 'summarize'"
        ))),
        _ => Err(KqlError::unsupported(format!(
            "Function '{name}' is unknown or not supported by this KQL engine."
        ))),
    }
}

/// The one argument of function `name`, compiled, if `accepts` its type; else the error
/// "Function '{name}' expects {what}, got {type}".
fn single_arg(
    scope: &Scope<'_>,
    name: &str,
    args: &[Expr],
    accepts: fn(ColumnType) -> bool,
    what: &str,
) -> Result<Typed, KqlError> {
    arity(scope, name, args, 1, 1)?;
    let a = compile(&args[0], scope)?;
    if !accepts(a.ty) {
        return Err(scope.type_error(format!("Function '{name}' expects {what}, got {}", a.ty)));
    }
    Ok(a)
}

/// A call of `f` over compiled `args` (folded when they are constant), and its type.
fn folded_call(gov: &Governor, f: Func, args: Vec<CExpr>, ty: ColumnType) -> (CExpr, ColumnType) {
    (fold(gov, CExpr::Call { f, args, ty }), ty)
}

/// Compiles a constant timespan argument (e.g. of `now(-1d)`).
fn const_timespan(e: &Expr, scope: &Scope<'_>, fname: &str) -> Result<Option<i64>, KqlError> {
    let t = compile(e, scope)?;
    match (t.ty, t.expr) {
        (ColumnType::TimeSpan, CExpr::Const(Value::TimeSpan(x))) => Ok(Some(x)),
        (ColumnType::TimeSpan, CExpr::Const(Value::Null)) => Ok(None),
        _ => Err(scope.type_error(format!(
            "Function '{fname}' expects a constant timespan argument"
        ))),
    }
}

/// Converts a value to a 64-bit integer as `tolong()` does.
fn to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Int(i) => Some(i64::from(*i)),
        Value::Long(i) => Some(*i),
        Value::Real(r) => real_to_i64(*r),
        // GUESS: datetime converts to .NET ticks (since 0001-01-01), timespan to ticks.
        Value::DateTime(t) => t.checked_add(DOTNET_EPOCH_OFFSET_TICKS),
        Value::TimeSpan(t) => Some(*t),
        Value::String(s) => parse_i64_text(s),
        Value::Dynamic(d) => match d.as_ref() {
            serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(real_to_i64)),
            serde_json::Value::String(s) => parse_i64_text(s),
            serde_json::Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        },
        Value::Guid(_) => None,
    }
}

fn real_to_i64(r: f64) -> Option<i64> {
    (r.is_finite() && r.abs() < 9.2e18).then(|| r.trunc() as i64)
}

fn parse_i64_text(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>()
        .ok()
        .or_else(|| s.parse::<f64>().ok().and_then(real_to_i64))
}

fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Null | Value::Guid(_) => None,
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::Int(i) => Some(f64::from(*i)),
        Value::Long(i) => Some(*i as f64),
        Value::Real(r) => Some(*r),
        Value::DateTime(t) => Some((i128::from(*t) + i128::from(DOTNET_EPOCH_OFFSET_TICKS)) as f64),
        Value::TimeSpan(t) => Some(*t as f64),
        Value::String(s) => parse_f64_text(s),
        Value::Dynamic(d) => match d.as_ref() {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => parse_f64_text(s),
            serde_json::Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        },
    }
}

fn parse_f64_text(s: &str) -> Option<f64> {
    let s = s.trim();
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if s
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') =>
        {
            None
        }
        _ => s.parse().ok(),
    }
}

fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(i) => Some(*i != 0),
        Value::Long(i) => Some(*i != 0),
        Value::Real(r) => Some(*r != 0.0),
        Value::String(s) => parse_bool_text(s),
        Value::Dynamic(d) => match d.as_ref() {
            serde_json::Value::Bool(b) => Some(*b),
            serde_json::Value::String(s) => parse_bool_text(s),
            serde_json::Value::Number(n) => n.as_f64().map(|f| f != 0.0),
            _ => None,
        },
        _ => None,
    }
}

fn parse_bool_text(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" {
        Some(false)
    } else {
        None
    }
}

fn bin_value(v: &Value, size: &Value) -> Value {
    match (v, size) {
        // Bins are aligned to 0001-01-01 (the KQL/.NET tick origin).
        (Value::DateTime(t), Value::TimeSpan(s)) => checked_dt(
            t.checked_add(DOTNET_EPOCH_OFFSET_TICKS)
                .and_then(|shifted| floor_to(shifted, *s))
                .map(|b| b - DOTNET_EPOCH_OFFSET_TICKS),
        ),
        (Value::TimeSpan(t), Value::TimeSpan(s)) => {
            floor_to(*t, *s).map_or(Value::Null, Value::TimeSpan)
        }
        (Value::Real(_), _) | (_, Value::Real(_)) => match (as_f64(v), as_f64(size)) {
            (Some(x), Some(s)) if s > 0.0 => Value::Real((x / s).floor() * s),
            _ => Value::Null,
        },
        (Value::Int(x), Value::Int(s)) => floor_to(i64::from(*x), i64::from(*s))
            .and_then(|b| i32::try_from(b).ok())
            .map_or(Value::Null, Value::Int),
        _ => match (as_i64(v), as_i64(size)) {
            (Some(x), Some(s)) => floor_to(x, s).map_or(Value::Null, Value::Long),
            _ => Value::Null,
        },
    }
}

/// `x` rounded down to a multiple of `size`; `None` for a size that is not positive or a
/// result out of range.
fn floor_to(x: i64, size: i64) -> Option<i64> {
    if size <= 0 {
        return None;
    }
    x.div_euclid(size).checked_mul(size)
}

/// Converts a numeric value to the numeric result type `ty`.
pub(super) fn numeric_as(v: Value, ty: ColumnType) -> Value {
    match (ty, &v) {
        (ColumnType::Long, Value::Int(i)) => Value::Long(i64::from(*i)),
        (ColumnType::Real, Value::Int(i)) => Value::Real(f64::from(*i)),
        (ColumnType::Real, Value::Long(i)) => Value::Real(*i as f64),
        _ => v,
    }
}

/// A string value built by `build`, at most `max` bytes long, charged to the budget
/// before it is built: the string and its copy into the value may both live at once. Null
/// when it does not fit (the query then stops with a memory error).
fn charged_string(gov: &Governor, max: usize, build: impl FnOnce() -> String) -> Value {
    let reserve = max.saturating_mul(2);
    if !gov.charge(reserve) {
        return Value::Null;
    }
    if !gov.work(max) {
        return Value::Null;
    }
    let s = build();
    let len = s.len().min(max);
    let v = Value::String(Arc::from(s));
    gov.refund(reserve - len);
    v
}

pub(super) fn call(gov: &Governor, f: Func, args: &[Value], ty: ColumnType) -> Value {
    let a0 = args.first().unwrap_or(&Value::Null);
    match f {
        Func::ToString => match a0 {
            Value::String(_) => a0.clone(),
            // Bounded by the size of a value the query already holds, so charged once made.
            other => {
                let s = other.to_kql_string();
                let len = s.len();
                charged_string(gov, len, || s)
            }
        },
        Func::ToInt => to_i64(a0)
            .and_then(|i| i32::try_from(i).ok())
            .map_or(Value::Null, Value::Int),
        Func::ToLong => to_i64(a0).map_or(Value::Null, Value::Long),
        Func::ToReal => to_f64(a0).map_or(Value::Null, Value::Real),
        Func::ToBool => to_bool(a0).map_or(Value::Null, Value::Bool),
        Func::ToDateTime => match a0 {
            Value::DateTime(_) => a0.clone(),
            Value::String(s) => value::parse_datetime(s).map_or(Value::Null, Value::DateTime),
            Value::Dynamic(d) => d
                .as_str()
                .and_then(value::parse_datetime)
                .map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        },
        Func::ToTimeSpan => match a0 {
            Value::TimeSpan(_) => a0.clone(),
            Value::String(s) => {
                parser::parse_timespan_literal(s.trim()).map_or(Value::Null, Value::TimeSpan)
            }
            Value::Dynamic(d) => d
                .as_str()
                .and_then(|s| parser::parse_timespan_literal(s.trim()))
                .map_or(Value::Null, Value::TimeSpan),
            _ => Value::Null,
        },
        Func::StrLen => match a0 {
            Value::Null => Value::Null,
            other => Value::Long(str_of(other).chars().count() as i64),
        },
        // Case mapping at most triples a string's UTF-8 length.
        Func::ToLower => {
            let s = str_of(a0);
            charged_string(gov, s.len().saturating_mul(3), || s.to_lowercase())
        }
        Func::ToUpper => {
            let s = str_of(a0);
            charged_string(gov, s.len().saturating_mul(3), || s.to_uppercase())
        }
        Func::StrCat => {
            let parts: Vec<Cow<'_, str>> = args.iter().map(str_of).collect();
            let len = parts.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
            charged_string(gov, len, || {
                let mut s = String::with_capacity(len);
                for p in &parts {
                    s.push_str(p);
                }
                s
            })
        }
        Func::IsEmpty | Func::IsNotEmpty => {
            let empty = match a0 {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Dynamic(d) => d.as_str() == Some(""),
                _ => false,
            };
            Value::Bool(if f == Func::IsEmpty { empty } else { !empty })
        }
        Func::IsNull => Value::Bool(a0.is_null()),
        Func::IsNotNull => Value::Bool(!a0.is_null()),
        Func::Not => match a0 {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        Func::IsNan => match a0 {
            Value::Real(r) => Value::Bool(r.is_nan()),
            Value::Null => Value::Null,
            _ => Value::Bool(false),
        },
        Func::Abs => match a0 {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Long(i) => Value::Long(i.wrapping_abs()),
            Value::Real(r) => Value::Real(r.abs()),
            Value::TimeSpan(t) => t.checked_abs().map_or(Value::Null, Value::TimeSpan),
            _ => Value::Null,
        },
        Func::Bin => {
            let size = args.get(1).unwrap_or(&Value::Null);
            if a0.is_null() || size.is_null() {
                return Value::Null;
            }
            numeric_as(bin_value(a0, size), ty)
        }
        Func::Iff => {
            let pick = match a0 {
                Value::Bool(true) => args.get(1),
                _ => args.get(2),
            };
            numeric_as(pick.cloned().unwrap_or(Value::Null), ty)
        }
    }
}

pub(super) fn member(gov: &Governor, base: &Value, key: &Value) -> Value {
    let Value::Dynamic(d) = base else {
        return Value::Null;
    };
    let found = match key {
        Value::String(k) => d.get(k.as_ref()),
        Value::Int(_) | Value::Long(_) => {
            let i = as_i64(key).unwrap_or(0);
            match d.as_ref() {
                serde_json::Value::Array(a) => {
                    let idx = if i < 0 {
                        (a.len() as i64).checked_add(i)
                    } else {
                        Some(i)
                    };
                    idx.and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| a.get(i))
                }
                _ => None,
            }
        }
        _ => None,
    };
    match found {
        // The copy is at most the size of a value the query already holds (no operator
        // builds dynamic values), so it is charged once made.
        Some(j) if gov.work(1) => {
            let v = j.clone();
            if gov.charge(json_heap_size(&v)) {
                Value::dynamic(v)
            } else {
                Value::Null
            }
        }
        _ => Value::Null,
    }
}

/// Approximate heap bytes of a JSON value (what a copy of it allocates).
fn json_heap_size(j: &serde_json::Value) -> usize {
    use serde_json::Value as J;
    const NODE: usize = std::mem::size_of::<J>();
    match j {
        J::String(s) => NODE + s.len(),
        J::Array(a) => NODE + a.iter().map(json_heap_size).sum::<usize>(),
        J::Object(o) => {
            NODE + o
                .iter()
                .map(|(k, v)| NODE + k.len() + json_heap_size(v))
                .sum::<usize>()
        }
        _ => NODE,
    }
}

//! Expression compilation (name binding, type checking, constant folding)
//! and row-wise evaluation against columnar data.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::ast::{BinOp, Expr, ExprKind, StrOp, UnOp};
use super::error::KqlError;
use super::exec::FastHashState;
use super::limits::Governor;
use super::parser;
use super::table::{Column, ColumnData};
use super::value::{
    self, ColumnType, DOTNET_EPOCH_OFFSET_TICKS, Value, as_f64, compare_same_type,
    datetime_in_range,
};

/// Innermost code for unresolved names (seen in recorded service responses).
pub(super) const SEM_UNRESOLVED: &str = "SEM0100";
/// Innermost code used for type errors and invalid arguments.
/// GUESS: the real service's codes for these cases were not found; this
/// value is a placeholder in the same `SEMxxxx` style.
pub(super) const SEM_TYPE: &str = "SEM0001";

/// Aggregation functions of real KQL (used to reject them outside
/// `summarize` and to name unsupported ones).
pub(super) const KNOWN_AGGREGATES: &[&str] = &[
    "count",
    "countif",
    "sum",
    "sumif",
    "avg",
    "avgif",
    "min",
    "max",
    "minif",
    "maxif",
    "dcount",
    "dcountif",
    "count_distinct",
    "count_distinctif",
    "make_list",
    "make_list_if",
    "make_list_with_nulls",
    "make_set",
    "make_set_if",
    "make_bag",
    "make_bag_if",
    "arg_max",
    "arg_min",
    "any",
    "anyif",
    "take_any",
    "take_anyif",
    "percentile",
    "percentiles",
    "percentiles_array",
    "percentilew",
    "percentilesw",
    "stdev",
    "stdevif",
    "stdevp",
    "variance",
    "varianceif",
    "variancep",
    "hll",
    "hll_merge",
    "tdigest",
    "tdigest_merge",
    "binary_all_and",
    "binary_all_or",
    "binary_all_xor",
    "buildschema",
];

/// Names visible to an expression and context for error messages.
pub(super) struct Scope<'a> {
    /// Input columns.
    pub(crate) columns: &'a [Column],
    /// Operator keyword for messages (`'where' operator: ...`).
    pub(crate) op: &'a str,
    /// `now()` in ticks since the Unix epoch.
    pub(crate) now: i64,
    /// The query's account: constant folding charges what it builds.
    pub(crate) gov: &'a Governor,
}

impl Scope<'_> {
    fn prefix(&self) -> String {
        if self.op.is_empty() {
            String::new()
        } else {
            format!("'{}' operator: ", self.op)
        }
    }

    pub(super) fn type_error(&self, msg: impl std::fmt::Display) -> KqlError {
        KqlError::semantic(SEM_TYPE, format!("{}{}", self.prefix(), msg))
    }

    pub(super) fn unresolved(&self, name: &str) -> KqlError {
        KqlError::semantic(
            SEM_UNRESOLVED,
            format!(
                "{}Failed to resolve column or scalar expression named '{}'",
                self.prefix(),
                name
            ),
        )
    }
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    #[inline]
    fn test(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }

    /// The operator with operands swapped (`a < b` ⇔ `b > a`).
    fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            o => o,
        }
    }

    /// Result for incomparable operands (NaN): only `!=` holds.
    fn unordered(self) -> bool {
        self == CmpOp::Ne
    }
}

/// How a comparison interprets its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CmpMode {
    /// Both int/long.
    Int,
    /// Numeric with at least one real.
    Real,
    /// datetime/datetime or timespan/timespan.
    Tick,
    Str,
    /// `=~` / `!~` / `in~`.
    StrCi,
    Bool,
    Guid,
    /// At least one dynamic operand.
    Dyn,
}

/// Arithmetic operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// Typed arithmetic variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ArithMode {
    Int,
    Long,
    Real,
    /// datetime - datetime → timespan
    DtDt,
    /// datetime ± timespan → datetime
    DtTs,
    /// timespan + datetime → datetime
    TsDt,
    /// timespan ± timespan → timespan, timespan / timespan → real
    TsTs,
    /// timespan * / number → timespan
    TsNum,
    /// number * timespan → timespan
    NumTs,
}

/// Scalar functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Func {
    ToString,
    ToInt,
    ToLong,
    ToReal,
    ToBool,
    ToDateTime,
    ToTimeSpan,
    StrLen,
    IsEmpty,
    IsNotEmpty,
    IsNull,
    IsNotNull,
    Not,
    Bin,
    ToLower,
    ToUpper,
    StrCat,
    Iff,
    Abs,
    IsNan,
}

/// Right-hand side of a string predicate.
#[derive(Clone, Debug)]
pub(super) enum Needle {
    /// A constant (already lower-cased for case-insensitive operators).
    Const(String),
    Expr(Box<CExpr>),
}

/// A compiled, type-checked expression.
#[derive(Clone, Debug)]
pub(super) enum CExpr {
    Const(Value),
    Col(usize),
    /// Fast path: long/datetime/timespan column compared to a constant.
    CmpColTicks {
        col: usize,
        op: CmpOp,
        rhs: i64,
    },
    /// Fast path: string column compared (case-sensitively) to a constant.
    CmpColStr {
        col: usize,
        op: CmpOp,
        rhs: Arc<str>,
    },
    Cmp {
        op: CmpOp,
        mode: CmpMode,
        l: Box<CExpr>,
        r: Box<CExpr>,
    },
    Arith {
        op: ArithOp,
        mode: ArithMode,
        l: Box<CExpr>,
        r: Box<CExpr>,
    },
    Neg(Box<CExpr>),
    And(Box<CExpr>, Box<CExpr>),
    Or(Box<CExpr>, Box<CExpr>),
    StrPred {
        op: StrOp,
        negated: bool,
        l: Box<CExpr>,
        r: Needle,
    },
    In {
        e: Box<CExpr>,
        list: Vec<CExpr>,
        negated: bool,
        mode: CmpMode,
    },
    /// `in` / `!in` / `in~` against a list of constants, looked up in a hash set.
    InSet {
        e: Box<CExpr>,
        set: Box<ConstSet>,
        negated: bool,
    },
    Call {
        f: Func,
        args: Vec<CExpr>,
        ty: ColumnType,
    },
    Member {
        e: Box<CExpr>,
        key: Box<CExpr>,
    },
}

/// A compiled expression with its result type.
#[derive(Clone, Debug)]
pub(super) struct Typed {
    pub(crate) expr: CExpr,
    pub(crate) ty: ColumnType,
}

/// Columns an expression reads from.
pub(super) struct Frame<'a> {
    pub(crate) cols: &'a [Arc<ColumnData>],
    /// The query's account: values built per row are charged to it.
    pub(crate) gov: &'a Governor,
}

// ---------------------------------------------------------------------------
// Compilation

fn is_const(e: &CExpr) -> bool {
    matches!(e, CExpr::Const(_))
}

/// Evaluates an expression whose inputs are all constants.
fn fold(gov: &Governor, e: CExpr) -> CExpr {
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

fn widest_numeric(a: ColumnType, b: ColumnType) -> Option<ColumnType> {
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
pub(super) fn compile(e: &Expr, scope: &Scope<'_>) -> Result<Typed, KqlError> {
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
pub(super) enum ConstSet {
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
    fn contains(&self, v: &Value) -> bool {
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
        BinOp::Eq => cmp(CmpOp::Eq, l, r),
        BinOp::Ne => cmp(CmpOp::Ne, l, r),
        BinOp::Lt => cmp(CmpOp::Lt, l, r),
        BinOp::Le => cmp(CmpOp::Le, l, r),
        BinOp::Gt => cmp(CmpOp::Gt, l, r),
        BinOp::Ge => cmp(CmpOp::Ge, l, r),
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

fn is_case_insensitive(op: StrOp) -> bool {
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

fn compile_call(
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
        Ok((fold(scope.gov, CExpr::Call { f, args: cargs, ty }), ty))
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
            arity(scope, name, args, 1, 1)?;
            let a = compile(&args[0], scope)?;
            if !matches!(a.ty, T::String | T::Dynamic) {
                return Err(scope.type_error(format!(
                    "Function '{name}' expects a string argument, got {}",
                    a.ty
                )));
            }
            let (f, ty) = match name {
                "strlen" => (Func::StrLen, T::Long),
                "tolower" => (Func::ToLower, T::String),
                _ => (Func::ToUpper, T::String),
            };
            Ok((
                fold(
                    scope.gov,
                    CExpr::Call {
                        f,
                        args: vec![a.expr],
                        ty,
                    },
                ),
                ty,
            ))
        }
        "not" => {
            arity(scope, name, args, 1, 1)?;
            let a = compile(&args[0], scope)?;
            if a.ty != T::Bool {
                return Err(scope.type_error(format!(
                    "Function 'not' expects a bool argument, got {}",
                    a.ty
                )));
            }
            Ok((
                fold(
                    scope.gov,
                    CExpr::Call {
                        f: Func::Not,
                        args: vec![a.expr],
                        ty: T::Bool,
                    },
                ),
                T::Bool,
            ))
        }
        "isnan" => {
            arity(scope, name, args, 1, 1)?;
            let a = compile(&args[0], scope)?;
            if !a.ty.is_numeric() {
                return Err(
                    scope.type_error(format!("Function 'isnan' expects a number, got {}", a.ty))
                );
            }
            Ok((
                fold(
                    scope.gov,
                    CExpr::Call {
                        f: Func::IsNan,
                        args: vec![a.expr],
                        ty: T::Bool,
                    },
                ),
                T::Bool,
            ))
        }
        "abs" => {
            arity(scope, name, args, 1, 1)?;
            let a = compile(&args[0], scope)?;
            if !(a.ty.is_numeric() || a.ty == T::TimeSpan) {
                return Err(
                    scope.type_error(format!("Function 'abs' expects a number, got {}", a.ty))
                );
            }
            let ty = a.ty;
            Ok((
                fold(
                    scope.gov,
                    CExpr::Call {
                        f: Func::Abs,
                        args: vec![a.expr],
                        ty,
                    },
                ),
                ty,
            ))
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
            arity(scope, name, args, 1, 1)?;
            let a = compile(&args[0], scope)?;
            if a.ty != T::TimeSpan {
                return Err(scope.type_error(format!(
                    "Function 'ago' expects a timespan argument, got {}",
                    a.ty
                )));
            }
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
            Ok((
                fold(
                    scope.gov,
                    CExpr::Call {
                        f: Func::Bin,
                        args: vec![v.expr, s.expr],
                        ty,
                    },
                ),
                ty,
            ))
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
            Ok((
                fold(
                    scope.gov,
                    CExpr::Call {
                        f: Func::Iff,
                        args: vec![c.expr, a.expr, b.expr],
                        ty,
                    },
                ),
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

// ---------------------------------------------------------------------------
// Evaluation

/// Whether lower-casing `s` may change it (and so copies it).
fn needs_lowering(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80)
}

fn lower(s: &str) -> Cow<'_, str> {
    if needs_lowering(s) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn str_of(v: &Value) -> Cow<'_, str> {
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
fn before_scan(gov: &Governor, op: StrOp, hay: &str) -> Option<usize> {
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
fn str_pred(op: StrOp, hay: &str, needle: &str) -> bool {
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

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i64::from(*i)),
        Value::Long(i) => Some(*i),
        _ => None,
    }
}

fn ticks_of(v: &Value) -> Option<i64> {
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
pub(super) fn compare_values(mode: CmpMode, op: CmpOp, a: &Value, b: &Value) -> Option<bool> {
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

fn checked_dt(t: Option<i64>) -> Value {
    match t {
        Some(t) if datetime_in_range(t) => Value::DateTime(t),
        _ => Value::Null,
    }
}

fn arith(op: ArithOp, mode: ArithMode, a: &Value, b: &Value) -> Value {
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
            let (x, y) = (x as i32, y as i32);
            match op {
                ArithOp::Add => Value::Int(x.wrapping_add(y)),
                ArithOp::Sub => Value::Int(x.wrapping_sub(y)),
                ArithOp::Mul => Value::Int(x.wrapping_mul(y)),
                // GUESS: integer division/modulo by zero yields null.
                ArithOp::Div => x.checked_div(y).map_or(Value::Null, Value::Int),
                ArithOp::Mod => x.checked_rem(y).map_or(Value::Null, Value::Int),
            }
        }
        ArithMode::Long => {
            let (Some(x), Some(y)) = (as_i64(a), as_i64(b)) else {
                return Value::Null;
            };
            match op {
                ArithOp::Add => Value::Long(x.wrapping_add(y)),
                ArithOp::Sub => Value::Long(x.wrapping_sub(y)),
                ArithOp::Mul => Value::Long(x.wrapping_mul(y)),
                ArithOp::Div => x.checked_div(y).map_or(Value::Null, Value::Long),
                ArithOp::Mod => x.checked_rem(y).map_or(Value::Null, Value::Long),
            }
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
        (Value::DateTime(t), Value::TimeSpan(s)) => {
            if *s <= 0 {
                return Value::Null;
            }
            // Bins are aligned to 0001-01-01 (the KQL/.NET tick origin).
            checked_dt(
                t.checked_add(DOTNET_EPOCH_OFFSET_TICKS)
                    .and_then(|shifted| {
                        shifted
                            .div_euclid(*s)
                            .checked_mul(*s)
                            .map(|b| b - DOTNET_EPOCH_OFFSET_TICKS)
                    }),
            )
        }
        (Value::TimeSpan(t), Value::TimeSpan(s)) => {
            if *s <= 0 {
                return Value::Null;
            }
            t.div_euclid(*s)
                .checked_mul(*s)
                .map_or(Value::Null, Value::TimeSpan)
        }
        (Value::Real(_), _) | (_, Value::Real(_)) => match (as_f64(v), as_f64(size)) {
            (Some(x), Some(s)) if s > 0.0 => Value::Real((x / s).floor() * s),
            _ => Value::Null,
        },
        (Value::Int(x), Value::Int(s)) => {
            if *s <= 0 {
                return Value::Null;
            }
            x.div_euclid(*s)
                .checked_mul(*s)
                .map_or(Value::Null, Value::Int)
        }
        _ => match (as_i64(v), as_i64(size)) {
            (Some(x), Some(s)) if s > 0 => x
                .div_euclid(s)
                .checked_mul(s)
                .map_or(Value::Null, Value::Long),
            _ => Value::Null,
        },
    }
}

/// Converts a numeric value to the numeric result type `ty`.
fn numeric_as(v: Value, ty: ColumnType) -> Value {
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

fn call(gov: &Governor, f: Func, args: &[Value], ty: ColumnType) -> Value {
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

fn member(gov: &Governor, base: &Value, key: &Value) -> Value {
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

impl CExpr {
    /// Evaluates the expression for one row.
    pub(super) fn eval(&self, f: &Frame<'_>, row: usize) -> Value {
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
    pub(super) fn eval_bool(&self, f: &Frame<'_>, row: usize) -> Option<bool> {
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
            CExpr::And(a, b) => match a.eval_bool(f, row) {
                Some(false) => Some(false),
                x => match (x, b.eval_bool(f, row)) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
            },
            CExpr::Or(a, b) => match a.eval_bool(f, row) {
                Some(true) => Some(true),
                x => match (x, b.eval_bool(f, row)) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
            },
            other => match other.eval(f, row) {
                Value::Bool(b) => Some(b),
                _ => None,
            },
        }
    }

    /// The constant value, if this expression is a constant.
    pub(super) fn as_const(&self) -> Option<&Value> {
        match self {
            CExpr::Const(v) => Some(v),
            _ => None,
        }
    }
}

/// Orders two values for sorting, with KQL's placement of nulls and NaN
/// (which are grouped together).
pub(super) fn sort_compare(a: &Value, b: &Value, desc: bool, nulls_first: bool) -> Ordering {
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

// ---------------------------------------------------------------------------
// Result column naming

/// Functions whose result column takes the name of their first argument.
const FIRST_ARGUMENT_NAMED: &[&str] = &[
    "bin",
    "floor",
    "tostring",
    "toint",
    "tolong",
    "todouble",
    "toreal",
    "tobool",
    "toboolean",
    "todatetime",
    "totimespan",
    "round",
];

/// Aggregates named `prefix_<first argument name>`.
const PREFIX_NAMED: &[&str] = &[
    "count", "countif", "sum", "avg", "min", "max", "dcount", "strlen",
];

/// The column name KQL infers for an unnamed expression, if any
/// (otherwise the caller assigns `Column1`, `Column2`, ...).
pub(super) fn infer_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Column(n) => Some(n.clone()),
        ExprKind::Member { expr, name } => Some(match infer_name(expr) {
            Some(l) => format!("{l}_{name}"),
            None => name.clone(),
        }),
        ExprKind::Index { expr, index } => {
            let key = match &index.kind {
                ExprKind::Lit(Value::String(s)) => s.to_string(),
                ExprKind::Lit(Value::Long(i)) => i.to_string(),
                _ => return None,
            };
            Some(match infer_name(expr) {
                Some(l) => format!("{l}_{key}"),
                None => key,
            })
        }
        ExprKind::Call { name, args } => {
            if FIRST_ARGUMENT_NAMED.contains(&name.as_str()) {
                args.first().and_then(infer_name)
            } else if PREFIX_NAMED.contains(&name.as_str()) {
                let arg = args.first().and_then(infer_name).unwrap_or_default();
                Some(format!("{name}_{arg}"))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate_free_parse as p;

    /// Parses a standalone expression for tests.
    mod crate_free_parse {
        use super::super::super::ast::{Expr, OpKind, Source};
        use super::super::super::parser;

        pub(super) fn expr(s: &str) -> Expr {
            let q = parser::parse(&format!("T | where {s}")).expect(s);
            match &q.ops[0].kind {
                OpKind::Where(e) => e.clone(),
                _ => unreachable!(),
            }
        }

        pub(super) fn print_expr(s: &str) -> Expr {
            match parser::parse(&format!("print {s}")).expect(s).source {
                Source::Print(v) => v[0].expr.clone(),
                _ => unreachable!(),
            }
        }
    }

    fn cols() -> Vec<Column> {
        vec![
            Column::new("l", ColumnType::Long),
            Column::new("s", ColumnType::String),
            Column::new("r", ColumnType::Real),
            Column::new("t", ColumnType::DateTime),
            Column::new("d", ColumnType::Dynamic),
        ]
    }

    /// A governor for one test (leaked: a few bytes per test).
    fn gov() -> &'static Governor {
        Box::leak(Box::new(Governor::unlimited()))
    }

    fn scope(c: &[Column]) -> Scope<'_> {
        Scope {
            columns: c,
            op: "where",
            now: 0,
            gov: gov(),
        }
    }

    fn konst(s: &str) -> Value {
        let c = cols();
        let t = compile(&p::print_expr(s), &scope(&c)).expect(s);
        match t.expr {
            CExpr::Const(v) => v,
            other => panic!("{s} did not fold: {other:?}"),
        }
    }

    #[test]
    fn constant_folding_and_arithmetic() {
        assert_eq!(konst("1 + 2 * 3"), Value::Long(7));
        assert_eq!(konst("7 / 2"), Value::Long(3), "integer division");
        assert_eq!(konst("-7 / 2"), Value::Long(-3), "truncates toward zero");
        assert_eq!(konst("7 % 3"), Value::Long(1));
        assert_eq!(konst("7.0 / 2"), Value::Real(3.5));
        assert_eq!(konst("1 / 0"), Value::Null);
        assert_eq!(konst("1.0 / 0"), Value::Real(f64::INFINITY));
        assert_eq!(konst("int(2) + int(3)"), Value::Int(5));
        assert_eq!(konst("int(2) + 3"), Value::Long(5));
        assert_eq!(
            konst("1h + 30m"),
            Value::TimeSpan(90 * value::TICKS_PER_MINUTE)
        );
        assert_eq!(konst("2 * 1h"), Value::TimeSpan(2 * value::TICKS_PER_HOUR));
        assert_eq!(konst("1d / 1h"), Value::Real(24.0));
        assert_eq!(
            konst("datetime(2024-01-02) - datetime(2024-01-01)"),
            Value::TimeSpan(value::TICKS_PER_DAY)
        );
        assert_eq!(
            konst("datetime(2024-01-01) + 1d"),
            Value::DateTime(value::parse_datetime("2024-01-02").unwrap())
        );
        assert_eq!(konst("long(null) + 1"), Value::Null);
        assert_eq!(
            konst("9223372036854775807 + 1"),
            Value::Long(i64::MIN),
            "wraps, no panic"
        );
        assert_eq!(
            konst("datetime(9999-12-31) + 2d"),
            Value::Null,
            "out of range"
        );
    }

    #[test]
    fn comparisons_across_numeric_types() {
        assert_eq!(konst("1 == 1.0"), Value::Bool(true));
        assert_eq!(konst("2 > 1.5"), Value::Bool(true));
        assert_eq!(konst("int(3) < 4"), Value::Bool(true));
        assert_eq!(konst("long(null) == 1"), Value::Null);
        assert_eq!(konst("real(nan) == real(nan)"), Value::Bool(false));
        assert_eq!(konst("real(nan) != 1.0"), Value::Bool(true));
        assert_eq!(konst("'a' < 'b'"), Value::Bool(true));
        assert_eq!(konst("'abc' == 'ABC'"), Value::Bool(false));
        assert_eq!(konst("'abc' =~ 'ABC'"), Value::Bool(true));
        assert_eq!(konst("'abc' !~ 'ABD'"), Value::Bool(true));
        assert_eq!(konst("1h > 30m"), Value::Bool(true));
    }

    #[test]
    fn type_errors() {
        let c = cols();
        let sc = scope(&c);
        for (q, needle) in [
            ("s == 1", "Cannot compare values of types string and long"),
            ("s + 1 == 2", "Operator '+'"),
            ("l and true", "must be of type bool"),
            ("strlen(l) > 1", "expects a string"),
            ("ago(1) < t", "expects a timespan"),
            ("s =~ 1", "requires string operands"),
        ] {
            let e = compile(&p::expr(q), &sc).expect_err(q);
            assert_eq!(e.kind, super::super::error::KqlErrorKind::Semantic, "{q}");
            assert!(e.message.contains(needle), "{q}: {}", e.message);
            assert!(e.message.starts_with("'where' operator: "), "{}", e.message);
        }
    }

    #[test]
    fn unresolved_column_message() {
        let c = cols();
        let e = compile(&p::expr("foo == 1"), &scope(&c)).unwrap_err();
        assert_eq!(e.code, "SEM0100");
        assert_eq!(
            e.message,
            "'where' operator: Failed to resolve column or scalar expression named 'foo'"
        );
    }

    #[test]
    fn unknown_function_is_named() {
        let c = cols();
        let e = compile(&p::expr("extract('a', 0, s) == 'x'"), &scope(&c)).unwrap_err();
        assert_eq!(e.code, "NotSupported");
        assert!(e.message.contains("'extract'"));
        let e = compile(&p::expr("count() > 1"), &scope(&c)).unwrap_err();
        assert!(e.message.contains("'count'"), "{}", e.message);
    }

    #[test]
    fn string_operators() {
        assert_eq!(konst("'Hello World' contains 'WORLD'"), Value::Bool(true));
        assert_eq!(
            konst("'Hello World' contains_cs 'WORLD'"),
            Value::Bool(false)
        );
        assert_eq!(konst("'Hello World' !contains 'xyz'"), Value::Bool(true));
        assert_eq!(konst("'Hello World' startswith 'hello'"), Value::Bool(true));
        assert_eq!(konst("'Hello World' endswith 'LD'"), Value::Bool(true));
        assert_eq!(konst("'Hello World' has 'world'"), Value::Bool(true));
        assert_eq!(
            konst("'Hello World' has 'wor'"),
            Value::Bool(false),
            "has is whole-term"
        );
        assert_eq!(konst("'a-b.c' has 'b'"), Value::Bool(true));
        assert_eq!(konst("'abc' has_cs 'ABC'"), Value::Bool(false));
        assert_eq!(konst("'ÄBC def' contains 'äb'"), Value::Bool(true));
        assert_eq!(konst("'error: x' has 'error:'"), Value::Bool(true));
        assert_eq!(konst("'foobar baz' hasprefix 'foo'"), Value::Bool(true));
        assert_eq!(konst("'foobar baz' hassuffix 'bar'"), Value::Bool(true));
        assert_eq!(
            konst("12345 contains '23'"),
            Value::Bool(true),
            "non-strings convert"
        );
    }

    #[test]
    fn in_and_between() {
        assert_eq!(konst("2 in (1, 2, 3)"), Value::Bool(true));
        assert_eq!(konst("2 in (1.5, 2.0)"), Value::Bool(true));
        assert_eq!(konst("'a' in ('A')"), Value::Bool(false));
        assert_eq!(konst("'a' in~ ('A')"), Value::Bool(true));
        assert_eq!(konst("'a' !in ('b')"), Value::Bool(true));
        assert_eq!(konst("long(null) in (1)"), Value::Bool(false));
        assert_eq!(konst("5 between (1 .. 5)"), Value::Bool(true));
        assert_eq!(konst("6 !between (1 .. 5)"), Value::Bool(true));
        assert_eq!(
            konst("datetime(2024-01-01T12:00:00Z) between (datetime(2024-01-01) .. 1d)"),
            Value::Bool(true)
        );
    }

    #[test]
    fn null_logic() {
        assert_eq!(konst("long(null) == 1 and false"), Value::Bool(false));
        assert_eq!(konst("long(null) == 1 or true"), Value::Bool(true));
        assert_eq!(konst("long(null) == 1 and true"), Value::Null);
        assert_eq!(konst("not(long(null) == 1)"), Value::Null);
        assert_eq!(konst("not(true)"), Value::Bool(false));
    }

    #[test]
    fn conversion_functions() {
        assert_eq!(konst("tostring(12)"), Value::string("12"));
        assert_eq!(konst("tostring(1.5)"), Value::string("1.5"));
        assert_eq!(konst("tostring(long(null))"), Value::string(""));
        assert_eq!(konst("tostring(1h)"), Value::string("01:00:00"));
        assert_eq!(
            konst("tostring(datetime(2024-01-01))"),
            Value::string("2024-01-01T00:00:00Z")
        );
        assert_eq!(konst("toint('42')"), Value::Int(42));
        assert_eq!(konst("toint('x')"), Value::Null);
        assert_eq!(konst("toint(3.9)"), Value::Int(3));
        assert_eq!(konst("toint(5000000000)"), Value::Null);
        assert_eq!(konst("tolong(' 7 ')"), Value::Long(7));
        assert_eq!(konst("todouble('2.5')"), Value::Real(2.5));
        assert_eq!(konst("toreal(3)"), Value::Real(3.0));
        assert_eq!(konst("todouble('abc')"), Value::Null);
        assert_eq!(konst("tobool('TRUE')"), Value::Bool(true));
        assert_eq!(konst("strlen('héllo')"), Value::Long(5));
        assert_eq!(
            konst("todatetime('2024-01-01')"),
            Value::DateTime(value::parse_datetime("2024-01-01").unwrap())
        );
        assert_eq!(
            konst("totimespan('00:01:00')"),
            Value::TimeSpan(value::TICKS_PER_MINUTE)
        );
        assert_eq!(konst("tolower('AbC')"), Value::string("abc"));
        assert_eq!(konst("strcat('a', 1, 'b')"), Value::string("a1b"));
        assert_eq!(konst("iff(1 > 2, 1, 2.5)"), Value::Real(2.5));
        assert_eq!(konst("abs(-3)"), Value::Long(3));
    }

    #[test]
    fn emptiness_and_nullness() {
        assert_eq!(konst("isempty('')"), Value::Bool(true));
        assert_eq!(konst("isempty('a')"), Value::Bool(false));
        assert_eq!(konst("isempty(long(null))"), Value::Bool(true));
        assert_eq!(konst("isnotempty('a')"), Value::Bool(true));
        assert_eq!(
            konst("isnull('')"),
            Value::Bool(false),
            "strings are never null"
        );
        assert_eq!(konst("isnull(long(null))"), Value::Bool(true));
        assert_eq!(konst("isnotnull(0)"), Value::Bool(true));
    }

    #[test]
    fn bin_variants() {
        assert_eq!(konst("bin(7, 5)"), Value::Long(5));
        assert_eq!(konst("bin(-7, 5)"), Value::Long(-10), "floors");
        assert_eq!(konst("bin(7.5, 2)"), Value::Real(6.0));
        assert_eq!(konst("bin(7, 0)"), Value::Null);
        assert_eq!(
            konst("bin(datetime(2024-01-01T10:37:12Z), 1h)"),
            Value::DateTime(value::parse_datetime("2024-01-01T10:00:00Z").unwrap())
        );
        // 7-day bins align to 0001-01-01, a Monday: 2020-01-08 → 2020-01-06.
        assert_eq!(
            konst("bin(datetime(2020-01-08), 7d)"),
            Value::DateTime(value::parse_datetime("2020-01-06").unwrap())
        );
        assert_eq!(
            konst("bin(90m, 1h)"),
            Value::TimeSpan(value::TICKS_PER_HOUR)
        );
        assert_eq!(konst("floor(7, 5)"), Value::Long(5));
    }

    #[test]
    fn now_and_ago_are_constants() {
        let c = cols();
        let sc = Scope {
            columns: &c,
            op: "where",
            now: 100 * value::TICKS_PER_DAY,
            gov: gov(),
        };
        let t = compile(&p::expr("t > ago(1d)"), &sc).unwrap();
        match t.expr {
            CExpr::CmpColTicks { col, op, rhs } => {
                assert_eq!((col, op, rhs), (3, CmpOp::Gt, 99 * value::TICKS_PER_DAY));
            }
            other => panic!("{other:?}"),
        }
        let t = compile(&p::print_expr("now(-1d)"), &sc).unwrap();
        assert!(
            matches!(t.expr, CExpr::Const(Value::DateTime(x)) if x == 99 * value::TICKS_PER_DAY)
        );
    }

    #[test]
    fn dynamic_access_and_compare() {
        let c = cols();
        let data = vec![
            Arc::new(ColumnData::Long(vec![Some(1)])),
            Arc::new(ColumnData::String(vec![Arc::from("x")])),
            Arc::new(ColumnData::Real(vec![None])),
            Arc::new(ColumnData::DateTime(vec![None])),
            Arc::new(ColumnData::Dynamic(vec![Some(Arc::new(
                serde_json::json!({"a": {"b": "hi"}, "n": 5, "arr": [1, 2, 3]}),
            ))])),
        ];
        let frame = Frame {
            cols: &data,
            gov: gov(),
        };
        let sc = scope(&c);
        let check = |q: &str, expect: Option<bool>| {
            let t = compile(&p::expr(q), &sc).expect(q);
            assert_eq!(t.expr.eval_bool(&frame, 0), expect, "{q}");
        };
        check("d.a.b == 'hi'", Some(true));
        check("d['a']['b'] == 'hi'", Some(true));
        check("d.n == 5", Some(true));
        check("d.n > 4.5", Some(true));
        check("d.arr[1] == 2", Some(true));
        check("d.arr[-1] == 3", Some(true));
        check("d.missing == 'x'", None);
        check("tostring(d.a.b) == 'hi'", Some(true));
        check("d.a.b contains 'H'", Some(true));
    }

    #[test]
    fn result_names() {
        let n = |s: &str| infer_name(&p::print_expr(s));
        assert_eq!(n("bin(TimeGenerated, 1h)"), Some("TimeGenerated".into()));
        assert_eq!(n("tostring(x)"), Some("x".into()));
        assert_eq!(n("strlen(Name)"), Some("strlen_Name".into()));
        assert_eq!(n("count()"), Some("count_".into()));
        assert_eq!(n("sum(x)"), Some("sum_x".into()));
        assert_eq!(n("sum(x * 2)"), Some("sum_".into()));
        assert_eq!(n("countif(x > 1)"), Some("countif_".into()));
        assert_eq!(n("d.a.b"), Some("d_a_b".into()));
        assert_eq!(n("x + 1"), None);
        assert_eq!(n("isempty(x)"), None);
    }

    #[test]
    fn sort_order_with_nulls_and_nan() {
        let mut v = [
            Value::Real(5.0),
            Value::Null,
            Value::Real(f64::NAN),
            Value::Real(f64::NEG_INFINITY),
            Value::Real(0.0),
        ];
        v.sort_by(|a, b| sort_compare(a, b, false, true));
        let s: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
        assert_eq!(
            s,
            ["Null", "Real(NaN)", "Real(-inf)", "Real(0.0)", "Real(5.0)"]
        );
        v.sort_by(|a, b| sort_compare(a, b, true, false));
        let s: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
        assert_eq!(
            s,
            ["Real(5.0)", "Real(0.0)", "Real(-inf)", "Real(NaN)", "Null"]
        );
    }

    #[test]
    fn deep_expressions_evaluate_without_overflow() {
        let c = cols();
        let data = vec![Arc::new(ColumnData::Long(vec![Some(2)]))];
        let frame = Frame {
            cols: &data,
            gov: gov(),
        };
        let chain = vec!["l == 1"; 3000].join(" or ");
        let t = compile(&p::expr(&chain), &scope(&c)).unwrap();
        assert_eq!(t.expr.eval_bool(&frame, 0), Some(false));
        // A left-deep arithmetic chain right at the depth limit.
        let n = super::super::parser::MAX_EXPR_DEPTH - 2;
        let sum = vec!["l"; n].join(" + ");
        let t = compile(&p::expr(&format!("{sum} > 0")), &scope(&c)).unwrap();
        assert_eq!(t.expr.eval_bool(&frame, 0), Some(true));
        // Nested calls at the nesting limit.
        let nested = format!("{}l{}", "abs(".repeat(60), ")".repeat(60));
        let t = compile(&p::expr(&format!("{nested} == 2")), &scope(&c)).unwrap();
        assert_eq!(t.expr.eval_bool(&frame, 0), Some(true));
    }

    #[test]
    fn in_sets_agree_with_equality() {
        let c = cols();
        let sc = scope(&c);
        let texts = ["a", "B", "b", "Straße", "STRASSE", "İ", "i", "", "x y", "ǅ"];
        let reals = [0.0, -0.0, 1.0, 2.5, f64::NAN, f64::INFINITY, -3.0];
        let mut l = Vec::new();
        let mut s_col = Vec::new();
        let mut r = Vec::new();
        let mut t = Vec::new();
        let mut d = Vec::new();
        for i in 0..40i64 {
            l.push((i % 13 != 0).then_some(i % 11 - 3));
            s_col.push(Arc::from(texts[(i as usize) % texts.len()]));
            r.push((i % 17 != 0).then_some(reals[(i as usize) % reals.len()]));
            t.push((i % 7 != 0).then_some(i * value::TICKS_PER_DAY));
            d.push(Some(Arc::new(if i % 3 == 0 {
                serde_json::json!(texts[(i as usize) % texts.len()])
            } else {
                serde_json::json!(i % 5)
            })));
        }
        let data = vec![
            Arc::new(ColumnData::Long(l)),
            Arc::new(ColumnData::String(s_col)),
            Arc::new(ColumnData::Real(r)),
            Arc::new(ColumnData::DateTime(t)),
            Arc::new(ColumnData::Dynamic(d)),
        ];
        let frame = Frame {
            cols: &data,
            gov: gov(),
        };
        let days: Vec<String> = (0..9)
            .map(|n| format!("datetime(1970-01-{:02})", n * 2 + 1))
            .collect();
        let days: Vec<&str> = days.iter().map(String::as_str).collect();
        for (lhs, op, eq, items) in [
            (
                "l",
                "in",
                "==",
                vec!["1", "2", "3", "-3", "5", "7", "long(null)", "100", "-1"],
            ),
            (
                "l",
                "in",
                "==",
                vec!["1", "2.0", "3.5", "real(nan)", "-0.0", "0", "7", "4", "6"],
            ),
            (
                "r",
                "in",
                "==",
                vec![
                    "0.0",
                    "1",
                    "2.5",
                    "real(nan)",
                    "real(+inf)",
                    "-3",
                    "9",
                    "10",
                ],
            ),
            (
                "s",
                "in",
                "==",
                vec![
                    "'a'",
                    "'b'",
                    "'Straße'",
                    "''",
                    "'x y'",
                    "'zz'",
                    "'İ'",
                    "'q'",
                ],
            ),
            (
                "s",
                "in~",
                "=~",
                vec![
                    "'A'",
                    "'straße'",
                    "'strasse'",
                    "'i̇'",
                    "'I'",
                    "'ǆ'",
                    "''",
                    "'q'",
                ],
            ),
            (
                "d",
                "in~",
                "=~",
                vec![
                    "'A'",
                    "'b'",
                    "'1'",
                    "'3'",
                    "'straße'",
                    "'x Y'",
                    "'q'",
                    "'r'",
                ],
            ),
            ("t", "in", "==", days),
        ] {
            let list = items.join(", ");
            let set = compile(&p::expr(&format!("{lhs} {op} ({list})")), &sc).expect(&list);
            assert!(
                matches!(set.expr, CExpr::InSet { .. }),
                "{lhs} {op} ({list})"
            );
            let not_set = compile(&p::expr(&format!("{lhs} !{op} ({list})")), &sc).expect(&list);
            let any = items
                .iter()
                .map(|i| format!("{lhs} {eq} {i}"))
                .collect::<Vec<_>>()
                .join(" or ");
            let scan = compile(&p::expr(&any), &sc).expect(&any);
            for row in 0..40 {
                // A null never equals anything: `in` is false and `!in` true for it.
                let want = scan.expr.eval_bool(&frame, row) == Some(true);
                let found = set.expr.eval_bool(&frame, row);
                assert_eq!(found, Some(want), "{lhs} {op} ({list}), row {row}");
                let missing = not_set.expr.eval_bool(&frame, row);
                assert_eq!(missing, Some(!want), "{lhs} !{op} ({list}), row {row}");
            }
        }
    }
}

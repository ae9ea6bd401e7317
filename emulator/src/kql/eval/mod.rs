//! Expression compilation (name binding, type checking, constant folding)
//! and row-wise evaluation against columnar data.

mod compiler;
mod functions;
mod ops;
mod row;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::sync::Arc;

pub(super) use super::ast::CmpOp;
use super::ast::{Expr, ExprKind, StrOp};
use super::error::KqlError;
use super::limits::Governor;
use super::table::{Column, ColumnData};
use super::value::{ColumnType, Value};
use compiler::ConstSet;
pub(super) use compiler::compile;
pub(super) use row::sort_compare;

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

impl<'a> Scope<'a> {
    /// The scope of operator `op` over `columns`.
    pub(super) fn new(columns: &'a [Column], op: &'a str, now: i64, gov: &'a Governor) -> Self {
        Scope {
            columns,
            op,
            now,
            gov,
        }
    }

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

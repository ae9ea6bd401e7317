//! Syntax tree of the KQL subset.

use super::value::{ColumnType, Value};

/// A whole query: a source followed by piped operators.
#[derive(Clone, Debug)]
pub(super) struct Query {
    pub(crate) source: Source,
    pub(crate) ops: Vec<PipeOp>,
}

/// Where rows come from.
#[derive(Clone, Debug)]
pub(super) enum Source {
    /// A table name resolved through the catalog.
    Table(String),
    /// `print a = 1, "x"`.
    Print(Vec<NamedExpr>),
    /// `datatable(a:long, b:string)[1, "x"]`.
    DataTable {
        columns: Vec<(String, ColumnType)>,
        values: Vec<Expr>,
    },
}

/// One `| operator ...` stage; `keyword` is the operator as written
/// (e.g. `order` or `sort`), used in error messages.
#[derive(Clone, Debug)]
pub(super) struct PipeOp {
    pub(crate) keyword: String,
    pub(crate) kind: OpKind,
}

/// Tabular operators.
#[derive(Clone, Debug)]
pub(super) enum OpKind {
    Where(Expr),
    Project(Vec<NamedExpr>),
    ProjectAway(Vec<String>),
    ProjectRename(Vec<(String, String)>),
    Extend(Vec<NamedExpr>),
    Take(Expr),
    Top {
        count: Expr,
        key: SortKey,
    },
    Sort(Vec<SortKey>),
    Count,
    Summarize {
        aggs: Vec<NamedExpr>,
        by: Vec<NamedExpr>,
    },
    /// `None` means `distinct *`.
    Distinct(Option<Vec<String>>),
}

/// `name = expr` or a bare `expr`.
#[derive(Clone, Debug)]
pub(super) struct NamedExpr {
    pub(crate) name: Option<String>,
    pub(crate) expr: Expr,
}

/// One `by` key of `sort`/`top`.
#[derive(Clone, Debug)]
pub(super) struct SortKey {
    pub(crate) expr: Expr,
    pub(crate) desc: bool,
    pub(crate) nulls_first: Option<bool>,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Cmp(CmpOp),
    EqCi,
    NeCi,
    And,
    Or,
    /// String operator, possibly negated (`!contains`).
    Str(StrOp, bool),
}

impl BinOp {
    /// The operator as written in KQL.
    pub(super) fn symbol(self) -> String {
        let s = match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Cmp(op) => op.symbol(),
            BinOp::EqCi => "=~",
            BinOp::NeCi => "!~",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Str(op, neg) => return format!("{}{}", if neg { "!" } else { "" }, op.name()),
        };
        s.to_string()
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
    /// The operator as written in KQL.
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// String predicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StrOp {
    Contains,
    ContainsCs,
    Has,
    HasCs,
    StartsWith,
    StartsWithCs,
    EndsWith,
    EndsWithCs,
    HasPrefix,
    HasPrefixCs,
    HasSuffix,
    HasSuffixCs,
}

impl StrOp {
    pub(super) fn from_word(w: &str) -> Option<StrOp> {
        Some(match w {
            "contains" => StrOp::Contains,
            "contains_cs" => StrOp::ContainsCs,
            "has" => StrOp::Has,
            "has_cs" => StrOp::HasCs,
            "startswith" => StrOp::StartsWith,
            "startswith_cs" => StrOp::StartsWithCs,
            "endswith" => StrOp::EndsWith,
            "endswith_cs" => StrOp::EndsWithCs,
            "hasprefix" => StrOp::HasPrefix,
            "hasprefix_cs" => StrOp::HasPrefixCs,
            "hassuffix" => StrOp::HasSuffix,
            "hassuffix_cs" => StrOp::HasSuffixCs,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            StrOp::Contains => "contains",
            StrOp::ContainsCs => "contains_cs",
            StrOp::Has => "has",
            StrOp::HasCs => "has_cs",
            StrOp::StartsWith => "startswith",
            StrOp::StartsWithCs => "startswith_cs",
            StrOp::EndsWith => "endswith",
            StrOp::EndsWithCs => "endswith_cs",
            StrOp::HasPrefix => "hasprefix",
            StrOp::HasPrefixCs => "hasprefix_cs",
            StrOp::HasSuffix => "hassuffix",
            StrOp::HasSuffixCs => "hassuffix_cs",
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum UnOp {
    Neg,
    Plus,
}

/// An expression node with its tree depth (computed at construction so
/// that depth limits can be enforced without recursion).
#[derive(Clone, Debug)]
pub(super) struct Expr {
    pub(crate) kind: ExprKind,
    pub(crate) depth: usize,
}

/// Expression kinds.
#[derive(Clone, Debug)]
pub(super) enum ExprKind {
    /// A literal with a known type.
    Lit(Value),
    /// A typed null such as `long(null)`.
    TypedNull(ColumnType),
    /// Bare `null` (accepted in datatable values only).
    Null,
    Column(String),
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Member {
        expr: Box<Expr>,
        name: String,
    },
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
}

impl Expr {
    /// A leaf node.
    pub(super) fn leaf(kind: ExprKind) -> Expr {
        Expr { kind, depth: 1 }
    }

    /// A node whose depth is one more than its deepest child.
    pub(super) fn node(kind: ExprKind) -> Expr {
        let depth = 1 + match &kind {
            ExprKind::Lit(_) | ExprKind::TypedNull(_) | ExprKind::Null | ExprKind::Column(_) => 0,
            ExprKind::Call { args, .. } => args.iter().map(|a| a.depth).max().unwrap_or(0),
            ExprKind::Unary { expr, .. } | ExprKind::Member { expr, .. } => expr.depth,
            ExprKind::Binary { left, right, .. } => left.depth.max(right.depth),
            ExprKind::In { expr, list, .. } => expr
                .depth
                .max(list.iter().map(|a| a.depth).max().unwrap_or(0)),
            ExprKind::Between {
                expr, low, high, ..
            } => expr.depth.max(low.depth).max(high.depth),
            ExprKind::Index { expr, index } => expr.depth.max(index.depth),
        };
        Expr { kind, depth }
    }
}

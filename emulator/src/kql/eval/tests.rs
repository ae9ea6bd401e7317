//! Tests of expression compilation and evaluation.

use super::*;
use crate::kql::value;
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
    assert_eq!(konst("bin(toint(-7), toint(5))"), Value::Int(-10));
    assert_eq!(konst("bin(toint(7), toint(-5))"), Value::Null);
    assert_eq!(
        konst("bin(toint(-2147483647), toint(3))"),
        Value::Null,
        "a floor below int's range"
    );
    assert_eq!(
        konst("bin(-7m, 5m)"),
        Value::TimeSpan(-10 * value::TICKS_PER_MINUTE)
    );
    assert_eq!(konst("bin(7m, 0s)"), Value::Null);
    assert_eq!(konst("bin(datetime(2024-01-01), 0s)"), Value::Null);
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
    assert!(matches!(t.expr, CExpr::Const(Value::DateTime(x)) if x == 99 * value::TICKS_PER_DAY));
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

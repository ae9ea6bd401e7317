//! Tests of the parser.

use super::*;
use crate::kql::ast::{ExprKind, OpKind, Source};
use crate::kql::value::Value;

fn parse_ok(s: &str) -> Query {
    match parse(s) {
        Ok(q) => q,
        Err(e) => panic!("{s}: {e}"),
    }
}

fn syntax_err(s: &str) -> (usize, usize, String) {
    let e = parse(s).expect_err(s);
    assert_eq!(e.code, "SYN0002", "{s}: {e}");
    let l = e.location.expect("location");
    (l.line, l.pos, l.token)
}

#[test]
fn parses_pipeline() {
    let q = parse_ok(
        "T | where a > 1 and b contains 'x' | project a, c = b | take 10 | sort by a asc, c",
    );
    assert!(matches!(q.source, Source::Table(ref n) if n == "T"));
    assert_eq!(q.ops.len(), 4);
    match &q.ops[3].kind {
        OpKind::Sort(keys) => {
            assert!(!keys[0].desc);
            assert!(keys[1].desc, "default is desc");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn recorded_syntax_error_positions() {
    // Positions as in recorded Log Analytics responses.
    assert_eq!(
        syntax_err("completely invalid syntax"),
        (1, 11, "invalid".into())
    );
    assert_eq!(syntax_err("My Not So Valid Query"), (1, 3, "Not".into()));
}

#[test]
fn syntax_error_on_second_line_and_eof() {
    assert_eq!(syntax_err("T\n| where"), (2, 7, "<EOF>".into()));
    assert_eq!(syntax_err("T | where x ==  | take 1").2, "|");
    assert_eq!(syntax_err("T | frobnicate").2, "frobnicate");
}

#[test]
fn unsupported_operators_are_named() {
    for (q, name) in [
        ("T | join (U) on x", "join"),
        ("T | mv-expand x", "mv-expand"),
        ("T | render timechart", "render"),
        ("T | parse x with * 'a' y", "parse"),
        ("union T, U", "union"),
        ("let x = 1; T", "let"),
        ("range x from 1 to 3 step 1", "range"),
        ("T | where x has_any ('a')", "has_any"),
    ] {
        let e = parse(q).expect_err(q);
        assert_eq!(e.code, "NotSupported", "{q}");
        assert!(
            e.message.contains(&format!("'{name}'")),
            "{q}: {}",
            e.message
        );
    }
}

#[test]
fn typed_literals() {
    let q = parse_ok(
        "print datetime(2024-01-01), 1d, timespan(00:10:00), guid(74be27de-1e4e-49d9-b579-fe0b331d3642), dynamic({\"a\":1}), long(null), real(-inf), int(-5)",
    );
    let Source::Print(items) = q.source else {
        panic!()
    };
    assert_eq!(items.len(), 8);
    assert!(matches!(
        items[5].expr.kind,
        ExprKind::TypedNull(ColumnType::Long)
    ));
    assert!(matches!(items[6].expr.kind, ExprKind::Lit(Value::Real(r)) if r == f64::NEG_INFINITY));
    assert!(matches!(items[7].expr.kind, ExprKind::Lit(Value::Int(-5))));
    assert!(parse("print datetime(not a date)").is_err());
    assert!(parse("print guid(xyz)").is_err());
    assert!(parse("print dynamic({bad json)").is_err());
}

#[test]
fn datatable_parse() {
    let q = parse_ok("datatable(a:long, b:string)[1, 'x', -2, 'y',]");
    match q.source {
        Source::DataTable { columns, values } => {
            assert_eq!(columns.len(), 2);
            assert_eq!(values.len(), 4);
            assert!(matches!(values[2].kind, ExprKind::Lit(Value::Long(-2))));
        }
        other => panic!("{other:?}"),
    }
    assert!(parse("datatable(a:decimal)[1]").is_err());
}

#[test]
fn nesting_limit() {
    let deep = format!("print {}1{}", "(".repeat(100), ")".repeat(100));
    let e = parse(&deep).unwrap_err();
    assert!(e.message.contains("nested too deeply"), "{}", e.message);
    let ok = format!("print {}1{}", "(".repeat(30), ")".repeat(30));
    assert!(parse(&ok).is_ok());
    let negs = format!("print {}1", "-".repeat(200));
    assert!(parse(&negs).is_err());
}

#[test]
fn chain_depth_limit() {
    let long_sum = vec!["x"; 500].join(" + ");
    let e = parse(&format!("T | where {long_sum} > 1")).unwrap_err();
    assert!(e.message.contains("too complex"), "{}", e.message);
    // `or` chains are balanced, so even very long ones are fine.
    let long_or = vec!["x == 1"; 5000].join(" or ");
    let q = parse(&format!("T | where {long_or}")).unwrap();
    match &q.ops[0].kind {
        OpKind::Where(e) => assert!(e.depth <= 16, "depth {}", e.depth),
        other => panic!("{other:?}"),
    }
}

#[test]
fn summarize_forms() {
    let q = parse_ok("T | summarize n = count(), avg(x) by bin(TimeGenerated, 1h), k");
    match &q.ops[0].kind {
        OpKind::Summarize { aggs, by } => {
            assert_eq!(aggs.len(), 2);
            assert_eq!(aggs[0].name.as_deref(), Some("n"));
            assert_eq!(by.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    let q = parse_ok("T | summarize by k");
    assert!(matches!(&q.ops[0].kind, OpKind::Summarize { aggs, .. } if aggs.is_empty()));
    assert!(parse("T | summarize").is_err());
}

#[test]
fn bracketed_names_and_patterns() {
    let q = parse_ok("['my table'] | project-away Col*, ['a b'] | extend ['x y'] = 1");
    assert!(matches!(q.source, Source::Table(ref n) if n == "my table"));
    match &q.ops[0].kind {
        OpKind::ProjectAway(p) => assert_eq!(p, &vec!["Col*".to_string(), "a b".to_string()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn in_between_and_member() {
    parse_ok("T | where a in (1, 2) and b !in ('x') and c in~ ('Y') and d between (1 .. 5)");
    parse_ok("T | where d.prop == 'x' and d['k'][0] == 1");
    assert!(parse("T | where a in ()").is_err());
}

#[test]
fn trailing_semicolon_and_garbage() {
    parse_ok("T | take 1;");
    assert_eq!(syntax_err("T | take 1 2").2, "2");
}

//! The query limits: memory budget, deadline, cancellation, and the result cuts.

use super::*;

fn limited(budget: usize) -> QueryContext<'static> {
    ctx().with_limits(Limits {
        memory_budget: budget,
        ..Limits::default()
    })
}

#[test]
fn the_memory_bomb_stops_at_the_budget_with_the_runaway_error() {
    // Stages of 640 B, 40 KiB, 2.5 MiB, 160 MiB: the fourth does not fit in 8 MiB.
    let budget = 8 << 20;
    let (result, usage) = run_measured(&bomb(4), &catalog(), &limited(budget));
    let e = result.expect_err("over budget");
    assert_eq!(e.kind, KqlErrorKind::Runaway);
    assert!(e.is_limit());
    assert_eq!(e.code, "-2133196799");
    assert_eq!(
        e.message,
        format!(
            "'extend' operator has exceeded the memory budget ({budget}) during evaluation. Results may be incorrect or incomplete (E_RUNAWAY_QUERY; see https://aka.ms/kustoquerylimits)."
        )
    );
    // What was charged is what the first three stages built (twice each string: the text
    // and its copy into the value), and never more than the budget.
    assert!(usage.memory <= budget, "{}", usage.memory);
    assert!(
        usage.memory >= 2_621_440,
        "the third stage is counted: {}",
        usage.memory
    );
    // One stage fewer fits, and the budget accounts for its string.
    let (result, usage) = run_measured(&bomb(3), &catalog(), &limited(budget));
    let t = result.expect("fits");
    assert_eq!(
        t.value(0, 2).map(|v| v.to_kql_string().len()),
        Some(2_621_440)
    );
    assert!(
        (2_621_440..=budget).contains(&usage.memory),
        "{}",
        usage.memory
    );
}

#[test]
fn constant_folding_is_charged_too() {
    // Folded at compile time into one 800 KB constant (1.6 MB with its copy).
    let lit = format!("'{}'", "x".repeat(100_000));
    let q = format!("print x = strcat({})", [lit.as_str(); 8].join(", "));
    let (result, usage) = run_measured(&q, &catalog(), &limited(1 << 20));
    match result {
        Err(e) => assert_eq!(e.kind, KqlErrorKind::Runaway, "{e}"),
        Ok(_) => panic!("folded past the budget"),
    }
    assert!(usage.memory <= 1 << 20);
    let (result, usage) = run_measured(&q, &catalog(), &limited(2 << 20));
    assert!(result.is_ok());
    assert!(usage.memory >= 800_000, "{}", usage.memory);
}

/// The error of a query expected to stop, without printing a large result.
fn stopped(query: &str, cat: &dyn Catalog, ctx: &QueryContext<'_>) -> (KqlError, Usage) {
    match run_measured(query, cat, ctx) {
        (Err(e), usage) => (e, usage),
        (Ok(t), _) => panic!(
            "{}: ran, {} rows",
            &query[..query.len().min(80)],
            t.row_count()
        ),
    }
}

#[test]
fn per_row_copies_and_new_columns_are_charged() {
    let mut t = Table::new("Big", vec![Column::new("s", ColumnType::String)]);
    for i in 0..2_000 {
        t.push_row(vec![Value::string(format!("row {i:>20}"))])
            .unwrap();
    }
    let cat = vec![t];
    // 2,000 rows of 24-byte strings, each row copied 64 times twice over (about 200 MB).
    let s64 = vec!["s"; 64].join(", ");
    let q = format!(
        "Big | extend a = strcat({s64}) | extend b = strcat({})",
        vec!["a"; 64].join(", ")
    );
    let budget = 16 << 20;
    let (e, usage) = stopped(&q, &cat, &limited(budget));
    assert_eq!(e.kind, KqlErrorKind::Runaway);
    assert!(usage.memory <= budget);
    // Grouping, sorting and filtering the large column charge what they keep on top of
    // it: with one byte less than they need, they stop.
    let base = format!("Big | extend a = strcat({s64})");
    let (result, before) = run_measured(&base, &cat, &ctx());
    assert_eq!(result.map(|t| t.row_count()).ok(), Some(2_000));
    assert!(before.memory > 2_000 * 24 * 64, "{}", before.memory);
    for tail in [
        "summarize count() by a",
        "distinct a",
        "sort by a",
        "where a contains '99'",
        "take 5",
    ] {
        let q = format!("{base} | {tail}");
        let (result, after) = run_measured(&q, &cat, &ctx());
        assert!(result.is_ok(), "{tail}");
        assert!(
            after.memory > before.memory,
            "{tail}: {} <= {}",
            after.memory,
            before.memory
        );
        let (e, usage) = stopped(&q, &cat, &limited(after.memory - 1));
        assert_eq!(e.kind, KqlErrorKind::Runaway, "{tail}");
        assert!(usage.memory < after.memory, "{tail}");
    }
}

#[test]
fn a_query_past_its_deadline_or_cancelled_stops() {
    let late = ctx().with_limits(Limits {
        deadline: Some(std::time::Instant::now()),
        ..Limits::default()
    });
    let e = run("Events | where Level > 1", &catalog(), &late).expect_err("late");
    assert_eq!(e.kind, KqlErrorKind::Timeout);
    assert!(e.is_limit());
    let flag = CancelFlag::new();
    flag.cancel();
    let cancelled = ctx().with_limits(Limits {
        cancel: Some(flag),
        ..Limits::default()
    });
    let e = run("print x = 1", &catalog(), &cancelled).expect_err("cancelled");
    assert_eq!(
        (e.kind, e.code.as_str()),
        (KqlErrorKind::Cancelled, "-2133196794")
    );
}

#[test]
fn a_long_in_list_over_many_rows_is_a_set_lookup() {
    // The issue's query: 100,000 literals over 100,000 rows (ten billion comparisons
    // when the list is scanned for every row).
    let n = 100_000i64;
    let mut t = Table::new(
        "T",
        vec![
            Column::new("x", ColumnType::Long),
            Column::new("s", ColumnType::String),
        ],
    );
    for i in 0..n {
        t.push_row(vec![Value::Long(i), Value::string(format!("v{i}"))])
            .unwrap();
    }
    let cat = vec![t];
    let evens: Vec<String> = (0..n).map(|i| (i * 2).to_string()).collect();
    let q = format!("T | where x in ({}) | count", evens.join(","));
    assert_eq!(
        run(&q, &cat, &ctx()).unwrap().value(0, 0),
        Some(Value::Long(n / 2))
    );
    let q = format!("T | where x !in ({}) | count", evens.join(","));
    assert_eq!(
        run(&q, &cat, &ctx()).unwrap().value(0, 0),
        Some(Value::Long(n / 2))
    );
    let names: Vec<String> = (0..n / 2).map(|i| format!("'V{}'", i * 3)).collect();
    let q = format!("T | where s in~ ({}) | count", names.join(","));
    assert_eq!(
        run(&q, &cat, &ctx()).unwrap().value(0, 0),
        Some(Value::Long((n + 2) / 3))
    );
    let q = format!("T | where s in ({}) | count", names.join(", "));
    assert_eq!(
        run(&q, &cat, &ctx()).unwrap().value(0, 0),
        Some(Value::Long(0)),
        "case-sensitive"
    );
}

#[test]
fn results_are_cut_at_the_row_and_size_limits() {
    let t = q("Events | project Name");
    let (j, cut) = t.to_api_json_within(2, usize::MAX);
    assert_eq!(cut, Some(Cut::Records));
    assert_eq!(j["rows"], json!([["Login Failed"], ["login ok"]]));
    let all = t.to_api_json();
    let full = all["rows"].to_string().len();
    assert_eq!(
        t.to_api_json_within(usize::MAX, full),
        (all.clone(), None),
        "exactly fits"
    );
    let (j, cut) = t.to_api_json_within(usize::MAX, full - 1);
    assert_eq!(cut, Some(Cut::Size));
    assert_eq!(j["rows"].as_array().map(Vec::len), Some(t.row_count() - 1));
    // Escapes and every type are measured as serde_json writes them.
    let odd = q(
        r#"print a = "q\"\\\n\u0001é", b = 1.5, c = dynamic({"k": "v\"w"}), d = datetime(2024-01-01), e = real(nan), f = int(null)"#,
    );
    let all = odd.to_api_json();
    let full = all["rows"].to_string().len();
    assert_eq!(odd.to_api_json_within(usize::MAX, full).1, None);
    assert_eq!(
        odd.to_api_json_within(usize::MAX, full - 1).1,
        Some(Cut::Size)
    );
}

#[test]
fn the_lower_cased_copy_of_a_string_predicate_is_charged() {
    // A 655,360-byte upper-case string (640 B, then 40 KiB, then 640 KiB): about 700 KB
    // charged once built, 1.35 MB while the last copy is made.
    let big = format!(
        "print a = strcat({}) | extend b = strcat({}) | extend c = strcat({})",
        vec!["'ABCDEFGHIJ'"; 64].join(", "),
        vec!["a"; 64].join(", "),
        vec!["b"; 16].join(", ")
    );
    let budget = 1_500_000;
    let cs = run_measured(
        &format!("{big} | where c has_cs 'X' | count"),
        &catalog(),
        &limited(budget),
    );
    assert_eq!(cs.0.map(|t| t.value(0, 0)).ok(), Some(Some(Value::Long(0))));
    // `has` lower-cases the text first: three times its length does not fit.
    let (e, usage) = stopped(
        &format!("{big} | where c has 'x'"),
        &catalog(),
        &limited(budget),
    );
    assert_eq!(e.kind, KqlErrorKind::Runaway);
    assert!(usage.memory <= budget);
}

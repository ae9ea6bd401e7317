//! End-to-end tests of `run()`.

use serde_json::{Map, Value as Json, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
// For the query limits' tests (`tests/limits.rs`): a query whose memory use multiplies.
use crate::fuzzing::memory_bomb as bomb;

mod limits;

const NOW: OffsetDateTime = datetime!(2024-06-15 12:00:00 UTC);

fn ctx() -> QueryContext<'static> {
    QueryContext::log_analytics(NOW)
}

fn objs(v: Json) -> Vec<Map<String, Json>> {
    v.as_array()
        .map(|a| a.iter().filter_map(|o| o.as_object().cloned()).collect())
        .unwrap_or_default()
}

/// A small `Events` table: TimeGenerated, Name, Level, Duration (real), Props.
fn catalog() -> Vec<Table> {
    let mut t = Table::new(
        "Events",
        vec![
            Column::new("TimeGenerated", ColumnType::DateTime),
            Column::new("Name", ColumnType::String),
            Column::new("Level", ColumnType::Long),
            Column::new("Duration", ColumnType::Real),
            Column::new("Props", ColumnType::Dynamic),
        ],
    );
    t.append_json_rows(&objs(json!([
        {"TimeGenerated": "2024-06-15T11:10:00Z", "Name": "Login Failed", "Level": 3, "Duration": 1.5, "Props": {"user": "alice", "n": 1}},
        {"TimeGenerated": "2024-06-15T11:20:00Z", "Name": "login ok", "Level": 1, "Duration": 0.5, "Props": {"user": "bob", "n": 2}},
        {"TimeGenerated": "2024-06-15T10:05:00Z", "Name": "Disk full", "Level": 4, "Duration": null, "Props": {"user": "alice", "n": 3}},
        {"TimeGenerated": "2024-06-14T09:00:00Z", "Name": "login ok", "Level": 1, "Duration": 2.0},
        {"TimeGenerated": "2024-06-01T00:00:00Z", "Name": "Old", "Level": null, "Duration": 4.0},
        {"Name": "NoTime", "Level": 2, "Duration": 3.0}
    ])))
    .unwrap();
    let mut other = Table::new("Other", vec![Column::new("x", ColumnType::Long)]);
    other.push_row(vec![Value::Long(1)]).unwrap();
    vec![t, other]
}

fn q(query: &str) -> Table {
    match run(query, &catalog(), &ctx()) {
        Ok(t) => t,
        Err(e) => panic!("{query}: {e}"),
    }
}

fn qerr(query: &str) -> KqlError {
    match run(query, &catalog(), &ctx()) {
        Ok(t) => panic!("{query}: expected error, got {:?}", t.to_api_json()),
        Err(e) => e,
    }
}

fn rows(t: &Table) -> Json {
    t.to_api_json()["rows"].clone()
}

fn schema(t: &Table) -> Vec<(String, &'static str)> {
    t.columns()
        .iter()
        .map(|c| (c.name.clone(), c.ty.as_str()))
        .collect()
}

fn names(t: &Table) -> Vec<String> {
    t.columns().iter().map(|c| c.name.clone()).collect()
}

// ------------------------------------------------------------ API rendering

#[test]
fn api_json_matches_recorded_print_response() {
    // Query and expected body as recorded from the real API (minus
    // make_datetime, which is replaced by a datetime literal).
    let t = q(
        r#"print "hello", true, datetime(2000-01-02 03:04:05Z), toint(100), long(101), 102.1, dynamic({ "hello": "world" })
      | project
          stringcolumn=print_0,
          boolcolumn=print_1,
          datecolumn=print_2,
          intcolumn=print_3,
          longcolumn=print_4,
          realcolumn=print_5,
          dynamiccolumn=print_6
      "#,
    );
    assert_eq!(
        t.to_api_json(),
        json!({
            "name": "PrimaryResult",
            "columns": [
                {"name": "stringcolumn", "type": "string"},
                {"name": "boolcolumn", "type": "bool"},
                {"name": "datecolumn", "type": "datetime"},
                {"name": "intcolumn", "type": "int"},
                {"name": "longcolumn", "type": "long"},
                {"name": "realcolumn", "type": "real"},
                {"name": "dynamiccolumn", "type": "dynamic"}
            ],
            "rows": [["hello", true, "2000-01-02T03:04:05Z", 100, 101, 102.1, "{\"hello\":\"world\"}"]]
        })
    );
}

#[test]
fn api_json_matches_recorded_datatable_response() {
    let t = q(
        r#"datatable (DateTime: datetime, Bool:bool, Guid: guid, Int: int, Long:long, Double: double, String: string, Timespan: timespan, NullBool: bool)[datetime(2015-12-31 23:59:59.9),false,guid(74be27de-1e4e-49d9-b579-fe0b331d3642),12345,1234567890123,12345.6789,"string value",10s,bool(null)]"#,
    );
    let j = t.to_api_json();
    assert_eq!(
        j["columns"],
        json!([
            {"name": "DateTime", "type": "datetime"},
            {"name": "Bool", "type": "bool"},
            {"name": "Guid", "type": "guid"},
            {"name": "Int", "type": "int"},
            {"name": "Long", "type": "long"},
            {"name": "Double", "type": "real"},
            {"name": "String", "type": "string"},
            {"name": "Timespan", "type": "timespan"},
            {"name": "NullBool", "type": "bool"}
        ])
    );
    assert_eq!(
        j["rows"],
        json!([[
            "2015-12-31T23:59:59.9Z",
            false,
            "74be27de-1e4e-49d9-b579-fe0b331d3642",
            12345,
            1234567890123_i64,
            12345.6789,
            "string value",
            "00:00:10",
            null
        ]])
    );
}

#[test]
fn reals_render_like_the_api() {
    let t =
        q("print a = 1.0, b = real(nan), c = real(+inf), d = real(-inf), e = real(null), f = 3.25");
    assert_eq!(
        rows(&t),
        json!([[1, "NaN", "Infinity", "-Infinity", null, 3.25]])
    );
}

#[test]
fn timespans_render_in_constant_format() {
    let t = q("print 1d + 2h, 90s, -1ms, 0s, 1.5d");
    assert_eq!(
        rows(&t),
        json!([[
            "1.02:00:00",
            "00:01:30",
            "-00:00:00.0010000",
            "00:00:00",
            "1.12:00:00"
        ]])
    );
}

// ------------------------------------------------------------------- print

#[test]
fn print_column_naming() {
    let t = q("print 1, x = 2, 'a'");
    assert_eq!(names(&t), ["print_0", "x", "print_2"]);
    assert_eq!(schema(&t)[0].1, "long");
    let e = qerr("print x = 1, x = 2");
    assert!(e.message.contains("'x'"));
}

#[test]
fn print_now_and_ago() {
    let t = q("print now(), ago(1d), now() - ago(2h)");
    assert_eq!(
        rows(&t),
        json!([["2024-06-15T12:00:00Z", "2024-06-14T12:00:00Z", "02:00:00"]])
    );
}

// --------------------------------------------------------------- datatable

#[test]
fn datatable_where_project_extend() {
    let t = q(r#"datatable(a:long, b:string)[1,"x", 2,'y', 3,"z"]
        | where a >= 2
        | extend c = a * 10, a + 1
        | project b, c, Column1"#);
    assert_eq!(
        schema(&t),
        [
            ("b".into(), "string"),
            ("c".into(), "long"),
            ("Column1".into(), "long")
        ]
    );
    assert_eq!(rows(&t), json!([["y", 20, 3], ["z", 30, 4]]));
}

#[test]
fn datatable_errors() {
    let e = qerr("datatable(a:long, b:string)[1]");
    assert_eq!(e.kind, KqlErrorKind::Semantic);
    let e = qerr("datatable(a:long)['x']");
    assert!(e.message.contains("'a'"), "{}", e.message);
    let e = qerr("datatable(a:long)[x]");
    assert_eq!(e.code, "SEM0100");
    // Widening int/long into real is fine; nulls too.
    let t = q("datatable(r:real, s:string)[1, null, 2.5, 'q']");
    assert_eq!(rows(&t), json!([[1, ""], [2.5, "q"]]));
}

// ------------------------------------------------------------------- where

#[test]
fn where_string_operators() {
    let count = |pred: &str| q(&format!("Events | where {pred} | count")).value(0, 0);
    assert_eq!(count("Name contains 'LOGIN'"), Some(Value::Long(3)));
    assert_eq!(count("Name !contains 'login'"), Some(Value::Long(3)));
    assert_eq!(count("Name startswith 'login'"), Some(Value::Long(3)));
    assert_eq!(count("Name endswith 'OK'"), Some(Value::Long(2)));
    assert_eq!(count("Name has 'failed'"), Some(Value::Long(1)));
    assert_eq!(count("Name has 'fail'"), Some(Value::Long(0)));
    assert_eq!(count("Name == 'login ok'"), Some(Value::Long(2)));
    assert_eq!(count("Name == 'LOGIN OK'"), Some(Value::Long(0)));
    assert_eq!(count("Name =~ 'LOGIN OK'"), Some(Value::Long(2)));
    assert_eq!(count("Name !~ 'LOGIN OK'"), Some(Value::Long(4)));
    assert_eq!(count("Name in ('Old', 'NoTime')"), Some(Value::Long(2)));
    assert_eq!(count("Name !in ('Old', 'NoTime')"), Some(Value::Long(4)));
    assert_eq!(count("Name in~ ('old')"), Some(Value::Long(1)));
}

#[test]
fn where_numeric_and_null_semantics() {
    let count = |pred: &str| q(&format!("Events | where {pred} | count")).value(0, 0);
    assert_eq!(
        count("Level > 2"),
        Some(Value::Long(2)),
        "null Level never matches"
    );
    assert_eq!(count("Level <= 2"), Some(Value::Long(3)));
    assert_eq!(
        count("Level != 1"),
        Some(Value::Long(3)),
        "null != 1 is null, not true"
    );
    assert_eq!(
        count("Level > 1.5"),
        Some(Value::Long(3)),
        "long vs real compares"
    );
    assert_eq!(count("Duration * 2 >= 3"), Some(Value::Long(4)));
    assert_eq!(count("isnull(Level)"), Some(Value::Long(1)));
    assert_eq!(count("isnotnull(Duration)"), Some(Value::Long(5)));
    assert_eq!(count("isempty(Name)"), Some(Value::Long(0)));
    assert_eq!(count("isnotempty(Name)"), Some(Value::Long(6)));
    assert_eq!(count("not(Level > 2)"), Some(Value::Long(3)));
    assert_eq!(count("Level == 1 or Level == 4"), Some(Value::Long(3)));
    assert_eq!(count("Level == 1 and Duration > 1"), Some(Value::Long(1)));
    assert_eq!(count("strlen(Name) > 8"), Some(Value::Long(2)));
    assert_eq!(count("tostring(Level) == '3'"), Some(Value::Long(1)));
    assert_eq!(count("toint('3') == Level"), Some(Value::Long(1)));
    assert_eq!(count("todouble(Level) / 2 == 1.5"), Some(Value::Long(1)));
    assert_eq!(count("tolong(Duration) == 1"), Some(Value::Long(1)));
}

#[test]
fn where_time_filters() {
    let count = |pred: &str| q(&format!("Events | where {pred} | count")).value(0, 0);
    assert_eq!(count("TimeGenerated > ago(1h)"), Some(Value::Long(2)));
    assert_eq!(count("TimeGenerated > ago(7d)"), Some(Value::Long(4)));
    assert_eq!(
        count("TimeGenerated >= datetime(2024-06-15)"),
        Some(Value::Long(3))
    );
    assert_eq!(
        count("TimeGenerated between (datetime(2024-06-14) .. 1d)"),
        Some(Value::Long(1))
    );
    assert_eq!(count("now() - TimeGenerated < 2h"), Some(Value::Long(3)));
    assert_eq!(count("isnull(TimeGenerated)"), Some(Value::Long(1)));
}

#[test]
fn where_dynamic_properties() {
    let t =
        q("Events | where Props.user == 'alice' | project Name, u = tostring(Props.user), Props.n");
    assert_eq!(names(&t), ["Name", "u", "Props_n"]);
    assert_eq!(
        rows(&t),
        json!([["Login Failed", "alice", "1"], ["Disk full", "alice", "3"]])
    );
}

#[test]
fn where_requires_bool() {
    let e = qerr("Events | where Level");
    assert_eq!(e.kind, KqlErrorKind::Semantic);
    assert!(e.message.contains("bool"));
}

// ----------------------------------------------------- project / extend etc.

#[test]
fn project_renames_and_expressions() {
    let t =
        q("Events | take 1 | project Name, lvl = Level, Level * 2, strlen(Name), tostring(Level)");
    assert_eq!(
        names(&t),
        ["Name", "lvl", "Column1", "strlen_Name", "Level"]
    );
    assert_eq!(rows(&t), json!([["Login Failed", 3, 6, 12, "3"]]));
    let e = qerr("Events | project Name, Name");
    assert!(e.message.contains("'Name'"));
    let e = qerr("Events | project nope");
    assert_eq!(
        e.message,
        "'project' operator: Failed to resolve column or scalar expression named 'nope'"
    );
}

#[test]
fn extend_replaces_in_place_and_numbers_columns() {
    let t = q("Events | take 1 | extend Level = Level + 100, 1, 2 | project-away Props, Duration");
    assert_eq!(
        names(&t),
        ["TimeGenerated", "Name", "Level", "Column1", "Column2"]
    );
    assert_eq!(
        rows(&t),
        json!([["2024-06-15T11:10:00Z", "Login Failed", 103, 1, 2]])
    );
}

#[test]
fn extend_cannot_see_its_own_new_columns() {
    let e = qerr("Events | extend a = 1, b = a + 1");
    assert_eq!(e.code, "SEM0100");
    assert!(e.message.contains("'a'"));
}

#[test]
fn project_away_wildcards_and_rename() {
    let t = q("Events | project-away *tion, Pr* | project-rename When = TimeGenerated | take 1");
    assert_eq!(names(&t), ["When", "Name", "Level"]);
    let e = qerr("Events | project-away Nope");
    assert!(e.message.contains("'Nope'"));
    let e = qerr("Events | project-rename Name = Level");
    assert!(e.message.contains("'Name'"));
}

// ------------------------------------------------------------ sort/top/take

#[test]
fn sort_defaults_to_desc_with_nulls_last() {
    let t = q("Events | sort by Level | project Level");
    assert_eq!(rows(&t), json!([[4], [3], [2], [1], [1], [null]]));
    let t = q("Events | order by Level asc | project Level");
    assert_eq!(rows(&t), json!([[null], [1], [1], [2], [3], [4]]));
    let t = q("Events | sort by Level asc nulls last | project Level");
    assert_eq!(rows(&t), json!([[1], [1], [2], [3], [4], [null]]));
}

#[test]
fn sort_multiple_keys() {
    let t = q("Events | sort by Name asc, Duration desc | project Name, Duration");
    assert_eq!(
        rows(&t),
        json!([
            ["Disk full", null],
            ["Login Failed", 1.5],
            ["NoTime", 3],
            ["Old", 4],
            ["login ok", 2],
            ["login ok", 0.5]
        ])
    );
}

#[test]
fn top_and_take() {
    let t = q("Events | top 2 by Duration | project Duration");
    assert_eq!(rows(&t), json!([[4], [3]]));
    let t = q("Events | top 2 by Duration asc | project Duration");
    assert_eq!(rows(&t), json!([[null], [0.5]]), "asc puts nulls first");
    let t = q("Events | top 1 by Duration asc nulls last | project Duration");
    assert_eq!(rows(&t), json!([[0.5]]));
    assert_eq!(q("Events | take 2").row_count(), 2);
    assert_eq!(q("Events | limit 100").row_count(), 6);
    assert_eq!(q("Events | take 0").row_count(), 0);
    let e = qerr("Events | take -1");
    assert_eq!(e.kind, KqlErrorKind::Semantic);
    let e = qerr("Events | take Level");
    assert_eq!(e.kind, KqlErrorKind::Semantic);
    let t = q("Events | sort by Level asc | take 2 | project Level");
    assert_eq!(rows(&t), json!([[null], [1]]));
}

#[test]
fn count_and_distinct() {
    let t = q("Events | count");
    assert_eq!(schema(&t), [("Count".into(), "long")]);
    assert_eq!(rows(&t), json!([[6]]));
    let t = q("Events | distinct Name | sort by Name asc");
    assert_eq!(
        rows(&t),
        json!([
            ["Disk full"],
            ["Login Failed"],
            ["NoTime"],
            ["Old"],
            ["login ok"]
        ])
    );
    let t = q("Events | project Name, Level | distinct * | count");
    assert_eq!(rows(&t), json!([[5]]));
    let e = qerr("Events | distinct Nope");
    assert_eq!(e.code, "SEM0100");
}

// --------------------------------------------------------------- summarize

#[test]
fn summarize_default_names_and_types() {
    let t = q(
        "Events | summarize count(), sum(Level), avg(Level), min(Duration), max(TimeGenerated), dcount(Name), countif(Level > 1)",
    );
    assert_eq!(
        schema(&t),
        [
            ("count_".into(), "long"),
            ("sum_Level".into(), "long"),
            ("avg_Level".into(), "real"),
            ("min_Duration".into(), "real"),
            ("max_TimeGenerated".into(), "datetime"),
            ("dcount_Name".into(), "long"),
            ("countif_".into(), "long"),
        ]
    );
    assert_eq!(
        rows(&t),
        json!([[6, 11, 2.2, 0.5, "2024-06-15T11:20:00Z", 5, 3]])
    );
}

#[test]
fn summarize_named_and_by() {
    let t = q("Events | summarize n = count(), total = sum(Duration) by Name | sort by Name asc");
    assert_eq!(
        schema(&t),
        [
            ("Name".into(), "string"),
            ("n".into(), "long"),
            ("total".into(), "real")
        ]
    );
    assert_eq!(
        rows(&t),
        json!([
            ["Disk full", 1, 0],
            ["Login Failed", 1, 1.5],
            ["NoTime", 1, 3],
            ["Old", 1, 4],
            ["login ok", 2, 2.5]
        ])
    );
}

#[test]
fn summarize_by_bin_of_time() {
    let t = q(
        "Events | where TimeGenerated > ago(7d) | summarize count() by bin(TimeGenerated, 1h) | sort by TimeGenerated asc",
    );
    assert_eq!(
        schema(&t),
        [
            ("TimeGenerated".into(), "datetime"),
            ("count_".into(), "long")
        ]
    );
    assert_eq!(
        rows(&t),
        json!([
            ["2024-06-14T09:00:00Z", 1],
            ["2024-06-15T10:00:00Z", 1],
            ["2024-06-15T11:00:00Z", 2]
        ])
    );
}

#[test]
fn summarize_by_bin_of_numbers_and_expressions() {
    let t = q("Events | summarize c = count() by bin(Duration, 2) | sort by Duration asc");
    assert_eq!(rows(&t), json!([[null, 1], [0, 2], [2, 2], [4, 1]]));
    let t = q("Events | summarize count() by Level % 2 | sort by Column1 asc");
    assert_eq!(names(&t), ["Column1", "count_"]);
    assert_eq!(rows(&t), json!([[null, 1], [0, 2], [1, 3]]));
    let t = q("Events | summarize by Name, Level | count");
    assert_eq!(rows(&t), json!([[5]]));
}

#[test]
fn summarize_empty_input() {
    // No group keys: one row with aggregate defaults (0 for counts/sums).
    let t = q(
        "Events | where Level > 100 | summarize count(), sum(Level), avg(Level), max(Name), dcount(Name)",
    );
    // (A string column is never null: max() of nothing renders as "".)
    assert_eq!(rows(&t), json!([[0, 0, null, "", 0]]));
    // With group keys: no rows.
    let t = q("Events | where Level > 100 | summarize count() by Name");
    assert_eq!(t.row_count(), 0);
    assert_eq!(names(&t), ["Name", "count_"]);
}

#[test]
fn summarize_name_clashes_and_errors() {
    let t = q("Events | summarize count(), count()");
    assert_eq!(names(&t), ["count_", "count_1"]);
    let e = qerr("Events | summarize percentile(Level, 50)");
    assert_eq!(e.code, "NotSupported");
    assert!(e.message.contains("'percentile'"));
    let e = qerr("Events | summarize Level + 1");
    assert_eq!(e.kind, KqlErrorKind::Semantic);
    let e = qerr("Events | summarize count() by Props");
    assert!(e.message.contains("dynamic"), "{}", e.message);
    let e = qerr("Events | summarize sum(Name)");
    assert!(e.message.contains("sum"), "{}", e.message);
    let e = qerr("Events | summarize count() by Nope");
    assert_eq!(
        e.message,
        "'summarize' operator: Failed to resolve column or scalar expression named 'Nope'"
    );
}

#[test]
fn summarize_timespan_and_int_sums() {
    let t = q(
        "datatable(d:timespan, i:int)[1h, 1, 30m, 2, timespan(null), int(null)] | summarize sum(d), avg(d), sum(i), avg(i), min(i)",
    );
    assert_eq!(schema(&t)[2], ("sum_i".into(), "long"));
    assert_eq!(schema(&t)[4], ("min_i".into(), "int"));
    assert_eq!(rows(&t), json!([["01:30:00", "00:45:00", 3, 1.5, 1]]));
}

// -------------------------------------------------------------- time range

#[test]
fn time_range_filters_source_tables() {
    let c = ctx().with_time_range(
        datetime!(2024-06-15 10:00 UTC),
        datetime!(2024-06-15 11:20 UTC),
    );
    let t = run("Events | project Name", &catalog(), &c).unwrap();
    // [start, end): 11:20 is excluded, rows without a time are excluded.
    assert_eq!(rows(&t), json!([["Login Failed"], ["Disk full"]]));
    // Tables without the time column are untouched.
    let t = run("Other", &catalog(), &c).unwrap();
    assert_eq!(t.row_count(), 1);
    // App Insights uses `timestamp`; Events has none, so nothing is filtered.
    let ai = QueryContext::app_insights(NOW).with_time_range(NOW, NOW);
    assert_eq!(
        run("Events | count", &catalog(), &ai).unwrap().value(0, 0),
        Some(Value::Long(6))
    );
}

// ------------------------------------------------------------------ errors

#[test]
fn unknown_table_error_names_table_and_operator() {
    let e = qerr("resource | summarize count()");
    assert_eq!(e.code, "SEM0100");
    assert_eq!(
        e.message,
        "'summarize' operator: Failed to resolve table or column expression named 'resource'"
    );
    let j = e.innererror_json();
    assert_eq!(j["code"], "SemanticError");
    assert_eq!(j["message"], "A semantic error occurred.");
    let e = qerr("Nope");
    assert_eq!(
        e.message,
        "Failed to resolve table or column expression named 'Nope'"
    );
}

#[test]
fn unknown_column_error() {
    let e = qerr("Events | where foo == 1");
    assert_eq!(
        e.innererror_json(),
        json!({
            "code": "SemanticError",
            "message": "A semantic error occurred.",
            "innererror": {
                "code": "SEM0100",
                "message": "'where' operator: Failed to resolve column or scalar expression named 'foo'"
            }
        })
    );
}

#[test]
fn syntax_errors_carry_position() {
    let e = qerr("completely invalid syntax");
    assert_eq!(
        e.innererror_json(),
        json!({
            "code": "SyntaxError",
            "message": "A recognition error occurred in the query.",
            "innererror": {
                "code": "SYN0002",
                "message": "Query could not be parsed at 'invalid' on line [1,11]",
                "line": 1,
                "pos": 11,
                "token": "invalid"
            }
        })
    );
    let e = qerr("Events\n| where Name == 'é' and and");
    let loc = e.location.unwrap();
    // Positions count characters, not bytes.
    assert_eq!((loc.line, loc.pos, loc.token.as_str()), (2, 24, "and"));
}

#[test]
fn unsupported_features_are_named() {
    for (query, name) in [
        ("Events | join (Other) on $left.Level == $right.x", "join"),
        ("union Events, Other", "union"),
        ("Events | mv-expand Props", "mv-expand"),
        ("Events | parse Name with a ' ' b", "parse"),
        ("Events | render timechart", "render"),
        ("Events | extend x = extract('a', 0, Name)", "extract"),
        ("Events | where Name matches regex 'x'", "matches"),
        ("Events | summarize make_list(Name)", "make_list"),
        (
            "Events | make-series count() on TimeGenerated step 1h",
            "make-series",
        ),
        ("let a = 1; Events", "let"),
        ("Events | lookup Other on x", "lookup"),
        ("Events | evaluate bag_unpack(Props)", "evaluate"),
    ] {
        let e = qerr(query);
        assert_eq!(e.code, "NotSupported", "{query}: {e}");
        assert!(
            e.message.contains(&format!("'{name}'")),
            "{query}: {}",
            e.message
        );
        assert_eq!(e.innererror_json()["code"], "SemanticError");
    }
}

#[test]
fn type_mismatch_is_semantic() {
    let e = qerr("Events | where Name > 5");
    assert_eq!(e.kind, KqlErrorKind::Semantic);
    assert!(
        e.message
            .contains("Cannot compare values of types string and long")
    );
}

// --------------------------------------------------------------- ingestion

#[test]
fn from_json_rows_then_query() {
    let t = Table::from_json_rows(
        "requests",
        &objs(json!([
            {"timestamp": "2024-06-15T11:00:00Z", "name": "GET /", "duration": 12.5, "success": true, "resultCode": "200", "id": "74be27de-1e4e-49d9-b579-fe0b331d3642"},
            {"timestamp": "2024-06-15T11:30:00Z", "name": "GET /a", "duration": 3, "success": false, "resultCode": "500"}
        ])),
    )
    .unwrap();
    let ai = QueryContext::app_insights(NOW).with_time_range(datetime!(2024-06-15 11:10 UTC), NOW);
    let out = run(
        "requests | where success == false | project name, duration, id",
        &vec![t],
        &ai,
    )
    .unwrap();
    assert_eq!(
        schema(&out),
        [
            ("name".into(), "string"),
            ("duration".into(), "real"),
            ("id".into(), "string")
        ]
    );
    assert_eq!(rows(&out), json!([["GET /a", 3, ""]]));
}

#[test]
fn guid_columns() {
    let t = q(
        "datatable(g:guid, n:long)[guid(74be27de-1e4e-49d9-b579-fe0b331d3642), 1, guid(00000000-0000-0000-0000-000000000001), 2] | where g == guid(74BE27DE-1E4E-49D9-B579-FE0B331D3642) | project n, s = tostring(g)",
    );
    assert_eq!(
        rows(&t),
        json!([[1, "74be27de-1e4e-49d9-b579-fe0b331d3642"]])
    );
}

// -------------------------------------------------------------- robustness

#[test]
fn deep_queries_are_rejected_not_crashed() {
    let deep = format!(
        "Events | where {}Level{} > 1",
        "(".repeat(500),
        ")".repeat(500)
    );
    assert_eq!(qerr(&deep).kind, KqlErrorKind::Syntax);
    let deep_calls = format!("print {}1{}", "tostring(".repeat(100), ")".repeat(100));
    assert_eq!(qerr(&deep_calls).kind, KqlErrorKind::Syntax);
    let long_sum = format!("print {}", vec!["1"; 1000].join("+"));
    assert_eq!(qerr(&long_sum).kind, KqlErrorKind::Syntax);
    let at_limit = format!(
        "Events | where {} > 0 | count",
        vec!["Level"; MAX_EXPR_DEPTH - 2].join(" + ")
    );
    q(&at_limit);
    let big = "x".repeat(MAX_QUERY_LEN + 1);
    assert_eq!(qerr(&big).kind, KqlErrorKind::Syntax);
}

#[test]
fn truncated_queries_never_panic() {
    let queries = [
        "Events | where TimeGenerated > ago(7d) and Name contains \"x\" | summarize n = count(), avg(Duration) by bin(TimeGenerated, 1h), Name | top 5 by n desc nulls last",
        "datatable(a:long, b:string, c:dynamic)[1, 'x', dynamic({\"k\": [1, 2]}), -2, @'y''z', dynamic(null)] | extend d = c.k[0] | project-away b | sort by a asc",
        "print x = datetime(2024-01-01T00:00:00.1234567Z) + 1.5h, y = timespan(1.02:03:04), z = guid(74be27de-1e4e-49d9-b579-fe0b331d3642), w = real(-inf)",
        "Events | where Level in (1, 2.5, 3) and Name !in~ ('A', \"b\") or not(isempty(Name)) | distinct Name, Level | count",
    ];
    for full in queries {
        let chars: Vec<(usize, char)> = full.char_indices().collect();
        for &(i, _) in &chars {
            let _ = run(&full[..i], &catalog(), &ctx());
        }
        assert!(run(full, &catalog(), &ctx()).is_ok(), "{full}");
    }
}

#[test]
fn random_token_soup_never_panics() {
    let vocab = [
        "Events",
        "Other",
        "|",
        "where",
        "project",
        "extend",
        "summarize",
        "by",
        "count",
        "count()",
        "sort",
        "order",
        "top",
        "take",
        "distinct",
        "project-away",
        "project-rename",
        "print",
        "datatable",
        "(",
        ")",
        "[",
        "]",
        ",",
        "=",
        "==",
        "!=",
        "<",
        ">",
        "<=",
        ">=",
        "=~",
        "!~",
        "and",
        "or",
        "not",
        "in",
        "!in",
        "in~",
        "contains",
        "!contains",
        "has",
        "startswith",
        "endswith",
        "between",
        "..",
        "+",
        "-",
        "*",
        "/",
        "%",
        "1",
        "0",
        "-1",
        "2.5",
        "1h",
        "7d",
        "'a'",
        "\"b\"",
        "Name",
        "Level",
        "Duration",
        "TimeGenerated",
        "Props",
        ".",
        "user",
        "ago(1d)",
        "now()",
        "bin(",
        "tostring(",
        "toint(",
        "strlen(",
        "isempty(",
        "isnull(",
        "sum(",
        "avg(",
        "dcount(",
        "min(",
        "max(",
        "countif(",
        "datetime(2024-01-01)",
        "dynamic([1])",
        "long(null)",
        "real(nan)",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "*",
        ";",
        "a:long",
        "x",
        "9223372036854775807",
        "int(2147483647)",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let cat = catalog();
    for _ in 0..4000 {
        let len = 1 + (next() % 14) as usize;
        let mut s = String::new();
        if next() % 2 == 0 {
            s.push_str("Events | ");
        }
        for _ in 0..len {
            s.push_str(vocab[(next() % vocab.len() as u64) as usize]);
            s.push(' ');
        }
        let _ = run(&s, &cat, &ctx());
    }
}

#[test]
fn arithmetic_edge_cases_do_not_panic() {
    for query in [
        "print 9223372036854775807 * 2",
        "print -9223372036854775807 - 10",
        "print int(2147483647) + int(1)",
        "print 1 % 0, 1 / 0, 1.0 % 0",
        "print (-9223372036854775807 - 1) / -1",
        "print 106751d * 10",
        "print datetime(0001-01-01) - 1d",
        "print bin(datetime(9999-12-31), 1000d)",
        "print bin(-9223372036854775807, 3)",
        "print 1d * 1e300, 1d / 0.0, 1d / 0",
        "print toint(1e300), tolong(real(nan)), tostring(real(-inf))",
        "print abs(-9223372036854775807 - 1)",
    ] {
        q(query);
    }
}

#[test]
fn fast_group_keys_match_general_evaluation() {
    // `bin(col, const)` and plain columns use a direct key path; `+ 0s` /
    // `+ 0` force the general evaluator. Both must agree, including nulls,
    // negative numbers and week bins aligned to 0001-01-01.
    let mut t = Table::new(
        "K",
        vec![
            Column::new("t", ColumnType::DateTime),
            Column::new("n", ColumnType::Long),
            Column::new("d", ColumnType::TimeSpan),
        ],
    );
    let base = parse_datetime("2020-01-01").unwrap_or(0);
    for i in 0..500i64 {
        let time = if i % 37 == 0 {
            Value::Null
        } else {
            Value::DateTime(base + i * 7_919 * TICKS_PER_MINUTE)
        };
        let n = if i % 41 == 0 {
            Value::Null
        } else {
            Value::Long(i * 13 - 3000)
        };
        t.push_row(vec![time, n, Value::TimeSpan(i * 977 * TICKS_PER_SECOND)])
            .unwrap();
    }
    let cat = vec![t];
    let go = |query: &str| {
        run(query, &cat, &ctx())
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .to_api_json()["rows"]
            .clone()
    };
    for (fast, slow) in [
        (
            "K | summarize c = count() by b = bin(t, 7d) | sort by b asc",
            "K | summarize c = count() by b = bin(t + 0s, 7d) | sort by b asc",
        ),
        (
            "K | summarize c = count() by b = bin(t, 1h) | sort by b asc",
            "K | summarize c = count() by b = bin(t + 0s, 1h) | sort by b asc",
        ),
        (
            "K | summarize c = count() by b = bin(n, 100) | sort by b asc",
            "K | summarize c = count() by b = bin(n + 0, 100) | sort by b asc",
        ),
        (
            "K | summarize c = count() by b = bin(d, 1h) | sort by b asc",
            "K | summarize c = count() by b = bin(d + 0s, 1h) | sort by b asc",
        ),
        (
            "K | summarize c = count(), s = sum(n) by t | sort by t asc",
            "K | summarize c = count(), s = sum(n) by t = t + 0s | sort by t asc",
        ),
    ] {
        assert_eq!(go(fast), go(slow), "{fast}");
    }
    // Consecutive equal keys (time-ordered input) are grouped correctly.
    let rows = go("K | summarize c = count() by b = bin(d, 1d) | sort by b asc");
    assert_eq!(
        rows,
        json!([
            ["00:00:00", 89],
            ["1.00:00:00", 88],
            ["2.00:00:00", 89],
            ["3.00:00:00", 88],
            ["4.00:00:00", 89],
            ["5.00:00:00", 57]
        ])
    );
}

//! Tests of the parent module.

use super::*;

#[test]
fn prefer_reads_statistics_and_wait() {
    let mut h = HeaderMap::new();
    h.insert(
        "prefer",
        HeaderValue::from_static("include-statistics=true, wait=30"),
    );
    let p = Prefer::parse(&h);
    assert_eq!(
        p,
        Prefer {
            statistics: true,
            render: false,
            wait: Some(30)
        }
    );
    assert_eq!(
        p.applied().as_deref(),
        Some("include-statistics=true,wait=30")
    );
    h.insert("prefer", HeaderValue::from_static("include-render=true"));
    assert!(Prefer::parse(&h).render);
    assert_eq!(Prefer::parse(&HeaderMap::new()).applied(), None);
}

/// A one-column result holding `cells`.
fn column(ty: kql::ColumnType, cells: impl IntoIterator<Item = kql::Value>) -> Table {
    let mut t = Table::new("PrimaryResult", vec![kql::Column::new("x", ty)]);
    for v in cells {
        t.push_row(vec![v]).expect("row");
    }
    t
}

#[test]
fn truncated_results_carry_a_partial_error() {
    let t = column(kql::ColumnType::Long, (0..3).map(kql::Value::Long));
    let body = render(t.clone(), 2, Prefer::default(), Instant::now(), 3);
    assert_eq!(body["tables"][0]["rows"], json!([[0], [1]]));
    assert_eq!(body["error"]["code"], "PartialError");
    let body = render(
        t,
        3,
        Prefer {
            statistics: true,
            render: true,
            wait: None,
        },
        Instant::now(),
        3,
    );
    assert!(body.get("error").is_none());
    assert_eq!(
        body["statistics"]["query"]["datasetStatistics"][0]["tableRowCount"],
        3
    );
    // Both shapes as recorded: fixtures/azure/py_monitor_query_logs_statistics.json and
    // py_monitor_query_logs_render.json.
    assert_eq!(
        body["statistics"]["query"]["crossClusterResourceUsage"],
        json!({})
    );
    assert_eq!(body["render"]["yMin"], "NaN");
    assert_eq!(body["render"]["visualization"], Value::Null);
}

#[test]
fn wait_sets_the_deadline_up_to_ten_minutes() {
    assert_eq!(Prefer::default().timeout(), Duration::from_secs(180));
    let mut h = HeaderMap::new();
    h.insert("prefer", HeaderValue::from_static("wait=5"));
    assert_eq!(Prefer::parse(&h).timeout(), Duration::from_secs(5));
    h.insert("prefer", HeaderValue::from_static("wait=3600"));
    let p = Prefer::parse(&h);
    assert_eq!(p.timeout(), Duration::from_secs(600));
    assert_eq!(p.applied().as_deref(), Some("wait=600"));
}

#[test]
fn a_timed_out_query_answers_the_gateway_timeout() {
    let r = limit_error(&KqlError::timeout());
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    let r = limit_error(&KqlError::cancelled());
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn timeout_and_cancellation_bodies() {
    let body = |r: Response| async move {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .expect("body");
        serde_json::from_slice::<Value>(&bytes).expect("json")
    };
    // The Azure SDKs' troubleshooting guides show this error for a query over its
    // time-out (Azure/azure-sdk-for-net, sdk/monitor/Azure.Monitor.Query/
    // TroubleshootingGuide.md: code GatewayTimeout, message "Gateway timeout", inner
    // error GatewayTimeout / "Unable to unzip response"); the status, 504, is the
    // documented one (learn.microsoft.com/azure/azure-monitor/logs/api/timeouts).
    assert_eq!(
        body(limit_error(&KqlError::timeout())).await,
        json!({"error": {
            "code": "GatewayTimeout",
            "message": "Gateway timeout",
            "innererror": {"code": "GatewayTimeout", "message": "Unable to unzip response"},
        }})
    );
    // No counterpart in the service (a guess): the query was cancelled.
    let cancelled = body(limit_error(&KqlError::cancelled())).await;
    assert_eq!(cancelled["error"]["code"], "ServiceUnavailable");
    assert_eq!(cancelled["error"]["innererror"]["code"], "-2133196794");
}

#[test]
fn results_over_the_size_limit_are_cut_with_a_partial_error() {
    let cell = kql::Value::string("x".repeat(100));
    let t = column(kql::ColumnType::String, std::iter::repeat_n(cell, 3));
    // Each row renders as `["xxx…"]` (104 bytes) plus a comma after the first.
    let body = render_within(
        t.clone(),
        10,
        2 + 104 + 105,
        Prefer::default(),
        Instant::now(),
        3,
    );
    assert_eq!(body["tables"][0]["rows"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        body["error"]["details"][0]["innererror"]["message"],
        "Query result set has exceeded the internal data size limit 211 (E_QUERY_RESULT_SET_TOO_LARGE; see https://aka.ms/kustoquerylimits)"
    );
    let body = render_within(
        t,
        10,
        2 + 104 + 2 * 105,
        Prefer::default(),
        Instant::now(),
        3,
    );
    assert!(body.get("error").is_none(), "exactly fits");
}

#[test]
fn catalogs_merge_same_named_tables() {
    let mut a = Table::new("T", vec![kql::Column::new("x", kql::ColumnType::Long)]);
    a.push_row(vec![kql::Value::Long(1)]).expect("row");
    let mut one = Tables::new();
    one.insert("T".into(), a.clone());
    let mut two = Tables::new();
    two.insert("T".into(), a);
    two.insert("U".into(), Table::new("U", vec![]));
    let merged = merge_catalogs([&one, &two].into_iter());
    assert_eq!(merged["T"].row_count(), 2);
    assert!(merged.contains_key("U"));
}

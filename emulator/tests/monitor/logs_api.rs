//! Log Analytics' resource-centric queries and `$batch` (issue 18 item 5), and the 404 of an
//! unknown workspace (item 4).

use super::*;

/// A reader of the whole resource group, with a Log Analytics token.
async fn reader_token(env: &Env, n: u128) -> String {
    let reader = seed_sp(&env.app, n);
    env.assign(&env.rg, READER, &reader.object_id).await;
    reader.token(&env.app, LA_SCOPE).await
}

#[tokio::test]
async fn an_unknown_workspace_is_a_404_with_a_correlation_id() {
    let env = Env::immediate().await;
    let la = reader_token(&env, 40).await;
    // Recorded: POST /v1/workspaces/bad_workspace_id/query → 404 {"error":{"message":"The
    // requested path does not exist","code":"PathNotFoundError","correlationId":…}}
    // (Azure/azure-sdk-assets, python/sdk/monitor/azure-monitor-query/tests/recordings/
    // test_exceptions.pyTestQueryExceptionstest_logs_single_query_fatal_exception.json, kept
    // in fixtures/azure/py_monitor_query_logs_bad_workspace.json); an unknown GUID answers the
    // same (maintainer, Azure/azure-sdk-for-python issue #32798).
    for workspace in ["bad_workspace_id".to_owned(), Uuid::new_v4().to_string()] {
        let a = Req::new("POST", format!("/v1/workspaces/{workspace}/query"))
            .token(&la)
            .json(&json!({"query": "AppRequests"}))
            .send(&env.app)
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
        let keys: Vec<&str> = a.body["error"]
            .as_object()
            .expect("error")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["message", "code", "correlationId"]);
        assert_eq!(
            a.body["error"]["message"],
            "The requested path does not exist"
        );
        assert_eq!(a.body["error"]["code"], "PathNotFoundError");
    }
}

#[tokio::test]
async fn resource_centric_queries_run_at_a_workspace_or_a_component() {
    let env = Env::immediate().await;
    let app = &env.app;
    env.seed_workspace("T", &json!([{"x": 1}, {"x": 2}])).await;
    env.seed_app("requests", &json!([{"name": "GET /", "duration": 1.0}]))
        .await;
    // The spec's Query_ResourceExecute: POST /v1/{resourceId}/query, the same body and
    // answer as a workspace query (Azure/azure-rest-api-specs, specification/
    // operationalinsights/data-plane/Microsoft.OperationalInsights/stable/2022-10-27/
    // examples/la-post-resource-centric-example.json).
    let path = |id: &str| format!("/v1{id}/query");
    let reader = seed_sp(app, 41);
    let la = reader.token(app, LA_SCOPE).await;
    // RBAC at that resource: nothing granted yet.
    let denied = Req::new("POST", path(&env.workspace_id))
        .token(&la)
        .json(&json!({"query": "T | count"}))
        .send(app)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text);
    assert_eq!(denied.body["error"]["code"], "InsufficientAccessError");
    env.assign(&env.workspace_id, READER, &reader.object_id)
        .await;
    let at_ws = Req::new("POST", path(&env.workspace_id))
        .token(&la)
        .json(&json!({"query": "T | count"}))
        .send(app)
        .await;
    assert_eq!(at_ws.status, StatusCode::OK, "{}", at_ws.text);
    assert_eq!(at_ws.body["tables"][0]["rows"], json!([[2]]));
    // GET takes the query in the URL (Query_ResourceGet).
    let get = Req::new(
        "GET",
        format!("{}?query=print%20a%3D1", path(&env.workspace_id)),
    )
    .token(&la)
    .send(app)
    .await;
    assert_eq!(get.body["tables"][0]["rows"], json!([[1]]), "{}", get.text);
    // The component: its tables, after a grant at the component.
    let at_component = Req::new("POST", path(&env.component_id))
        .token(&la)
        .json(&json!({"query": "requests | count"}))
        .send(app)
        .await;
    assert_eq!(
        at_component.status,
        StatusCode::FORBIDDEN,
        "{}",
        at_component.text
    );
    env.assign(&env.component_id, READER, &reader.object_id)
        .await;
    let at_component = Req::new("POST", path(&env.component_id))
        .token(&la)
        .json(&json!({"query": "requests | count"}))
        .send(app)
        .await;
    assert_eq!(at_component.status, StatusCode::OK, "{}", at_component.text);
    assert_eq!(at_component.body["tables"][0]["rows"], json!([[1]]));
    // `workspaces` has no meaning at a component (a guess: no capture found).
    let spanning = Req::new("POST", path(&env.component_id))
        .token(&la)
        .json(&json!({"query": "requests | count", "workspaces": [env.customer_id]}))
        .send(app)
        .await;
    assert_eq!(
        spanning.status,
        StatusCode::BAD_REQUEST,
        "{}",
        spanning.text
    );
    // A resource that is neither, or none: 404 (a guess: the service's answer for these was
    // not found).
    for id in [
        env.site.clone(),
        format!(
            "{}/providers/Microsoft.OperationalInsights/workspaces/none",
            env.rg
        ),
    ] {
        let a = Req::new("POST", path(&id))
            .token(&la)
            .json(&json!({"query": "print 1"}))
            .send(app)
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{id}: {}", a.text);
        assert_eq!(a.body["error"]["code"], "PathNotFoundError");
    }
    // No token: the gateway's 401 before the resource is looked up.
    let anonymous = Req::new("POST", path(&env.workspace_id))
        .json(&json!({"query": "print 1"}))
        .send(app)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_batch_answers_each_query_with_its_own_status() {
    let env = Env::immediate().await;
    let app = &env.app;
    let la = reader_token(&env, 42).await;
    env.seed_workspace("T", &json!([{"x": 1}])).await;
    let ws = env.customer_id.clone();
    // Request and answer shapes: the spec's batch example (Azure/azure-rest-api-specs,
    // specification/operationalinsights/data-plane/Microsoft.OperationalInsights/stable/v1/
    // examples/batch-query-example.json); the item errors and the whole-batch failures:
    // Microsoft's batch-queries page (learn.microsoft.com/azure/azure-monitor/logs/api/batch-queries).
    let batch = Req::new("POST", "/v1/$batch")
        .token(&la)
        .json(&json!({"requests": [
            {"id": "1", "workspace": ws, "path": "/query", "method": "POST",
             "headers": {"Prefer": ""}, "body": {"query": "T | count", "timespan": null, "workspaces": null}},
            {"id": "2", "workspace": ws, "body": {"query": "Nope | take 1"}},
            {"id": "3", "workspace": Uuid::new_v4(), "body": {"query": "print 1"}},
            {"id": "4", "workspace": ws, "path": "/metadata", "body": {"query": "print 1"}},
            {"id": "5", "workspace": env.workspace_id, "body": {"query": "Heartbeat"},
             "headers": {"Prefer": "include-statistics=true"}}
        ]}))
        .send(app)
        .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.text);
    let responses = batch.body["responses"].as_array().expect("responses");
    let by_id = |id: &str| {
        responses
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no answer for {id}: {}", batch.text))
    };
    assert_eq!(responses.len(), 5);
    assert_eq!(by_id("1")["status"], 200);
    assert_eq!(by_id("1")["body"]["tables"][0]["rows"], json!([[1]]));
    let keys: Vec<&str> = by_id("1")
        .as_object()
        .expect("item")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["id", "status", "body"],
        "the recorded item order (CanQueryBatch.json)"
    );
    assert_eq!(by_id("2")["status"], 400);
    assert_eq!(by_id("2")["body"]["error"]["code"], "BadArgumentError");
    assert_eq!(
        by_id("2")["body"]["error"]["innererror"]["innererror"]["code"],
        "SEM0100"
    );
    assert_eq!(by_id("3")["status"], 400);
    assert_eq!(
        by_id("3")["body"],
        json!({"error": {"code": "FailedToResolveResource", "message": "Resource identity could not be resovled"}})
    );
    assert_eq!(by_id("4")["status"], 404);
    assert_eq!(by_id("4")["body"]["error"]["code"], "PathNotFoundError");
    // A workspace by ARM id; the Heartbeat columns of the recorded batch
    // (Azure/azure-sdk-for-net, sdk/monitor/Azure.Monitor.Query/tests/SessionRecords/
    // LogsQueryClientClientLiveTests/CanQueryBatch.json): 31 of them, no rows.
    assert_eq!(by_id("5")["status"], 200, "{}", batch.text);
    let columns = by_id("5")["body"]["tables"][0]["columns"]
        .as_array()
        .expect("columns");
    assert_eq!(columns.len(), 31);
    assert!(by_id("5")["body"]["statistics"].is_object());

    // The whole batch fails on a repeated id, a missing required property, a body that is
    // not JSON, and a missing token.
    let dup = Req::new("POST", "/v1/$batch")
        .token(&la)
        .json(&json!({"requests": [
            {"id": "1", "workspace": ws, "body": {"query": "print 1"}},
            {"id": "1", "workspace": ws, "body": {"query": "print 2"}}
        ]}))
        .send(app)
        .await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST, "{}", dup.text);
    assert_eq!(dup.body["error"]["code"], "BadArgumentError");
    for bad in [
        json!({}),
        json!({"requests": "x"}),
        json!({"requests": [1]}),
    ] {
        let a = Req::new("POST", "/v1/$batch")
            .token(&la)
            .json(&bad)
            .send(app)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
        assert_eq!(a.body["error"]["code"], "BadArgumentError");
    }
    for missing in ["id", "workspace", "body"] {
        let mut item = json!({"id": "1", "workspace": ws, "body": {"query": "print 1"}});
        item.as_object_mut().expect("item").remove(missing);
        let a = Req::new("POST", "/v1/$batch")
            .token(&la)
            .json(&json!({"requests": [item]}))
            .send(app)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{missing}: {}", a.text);
    }
    let not_json = Req::new("POST", "/v1/$batch")
        .token(&la)
        .raw(Some("application/json"), "{\"requests\": [")
        .send(app)
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        not_json.body["error"]["innererror"]["details"][0]["code"],
        "InvalidJsonBody"
    );
    let anonymous = Req::new("POST", "/v1/$batch")
        .json(&json!({"requests": []}))
        .send(app)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

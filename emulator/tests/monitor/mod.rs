//! Azure Monitor data planes: Log Analytics query, Logs Ingestion with data collection
//! rules, custom metrics and the ARM metrics read API, Application Insights; each API's
//! errors, the propagation 403 → 200 transition, and the control-API seeding shortcuts.

use std::time::Duration;

use entra_emulator::Emulator;
use entra_emulator::test_support::{self, TestApplication};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::support::*;

mod logs_api;

const LOG_ANALYTICS_READER: &str = "73c42c96-874c-492b-b04d-ab87d138a893";
const METRICS_PUBLISHER: &str = "3913510d-42f4-4e42-8a64-420c390055eb";
const MONITORING_READER: &str = "43d0d8ad-25c7-4714-9337-8ba259a9fe05";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

const LA_SCOPE: &str = "https://api.loganalytics.io/.default";
const INGEST_SCOPE: &str = "https://monitor.azure.com//.default";
const METRICS_SCOPE: &str = "https://monitoring.azure.com//.default";
const AI_SCOPE: &str = "https://api.applicationinsights.io/.default";
const ARM_SCOPE: &str = "https://management.azure.com/.default";
const ASSIGN_V: &str = "api-version=2022-04-01";
const INGEST_V: &str = "api-version=2023-01-01";
const METRICS_V: &str = "api-version=2023-10-01";

/// An answer: status, headers, raw text and JSON body (`Null` when empty or not JSON).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    body: Value,
}

/// A request to send.
struct Req<'a> {
    method: &'a str,
    path: String,
    token: Option<&'a str>,
    content_type: Option<&'a str>,
    headers: Vec<(&'a str, String)>,
    body: Option<Vec<u8>>,
}

impl<'a> Req<'a> {
    fn new(method: &'a str, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            token: None,
            content_type: None,
            headers: Vec::new(),
            body: None,
        }
    }

    fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    fn json(mut self, body: &Value) -> Self {
        self.content_type = Some("application/json");
        self.body = Some(body.to_string().into_bytes());
        self
    }

    fn raw(mut self, content_type: Option<&'a str>, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = content_type;
        self.body = Some(body.into());
        self
    }

    fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    async fn send(self, app: &TestApp) -> Answer {
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).expect("method");
        let mut req = app.http.request(method, app.url(&self.path));
        if let Some(t) = self.token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = self.content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in self.headers {
            req = req.header(k, v);
        }
        if let Some(b) = self.body {
            req = req.body(b);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            body,
        }
    }
}

/// `{"status": …, "body": …}` with volatile values redacted, for error snapshots.
fn shape(a: &Answer) -> Value {
    json!({"status": a.status.as_u16(), "body": scrub(&a.body)})
}

/// [`redact`] plus the emulator's base URL (`[base]`) and rule ids (`dcr-[id]`).
fn scrub(v: &Value) -> Value {
    fn text(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(tail) = rest.strip_prefix("http://127.0.0.1:") {
                let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
                out.push_str("[base]");
                rest = &tail[digits..];
            } else if let Some(tail) = rest.strip_prefix("dcr-")
                && tail.len() >= 32
                && tail.as_bytes()[..32].iter().all(u8::is_ascii_hexdigit)
            {
                out.push_str("dcr-[id]");
                rest = &tail[32..];
            } else {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out
    }
    fn walk(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(text(s)),
            Value::Array(items) => Value::Array(items.iter().map(walk).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), walk(v))).collect())
            }
            other => other.clone(),
        }
    }
    redact(&walk(v))
}

/// A service principal seeded in the directory, with a client secret.
struct Sp {
    client_id: Uuid,
    secret: String,
    object_id: Uuid,
}

impl Sp {
    async fn token(&self, app: &TestApp, scope: &str) -> String {
        let (status, body) = app
            .token_v2(&self.client_id.to_string(), &self.secret, scope)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }
}

fn seed_sp(app: &TestApp, n: u128) -> Sp {
    let now = app.emu.now();
    let client_id = Uuid::from_u128(0x6d0e_0000_0000_0000_0000_0000_0000_0000 | n);
    let object_id = Uuid::from_u128(0x6d0b_0000_0000_0000_0000_0000_0000_0000 | n);
    let secret = format!("mon{n}~0123456789abcdefghijklmnopqrstuvwxyz");
    test_support::insert_application(
        &app.emu,
        TestApplication {
            object_id: Uuid::from_u128(0x6da0_0000_0000_0000_0000_0000_0000_0000 | n),
            client_id,
            name: format!("monitor-app-{n}"),
            created: now - time::Duration::hours(1),
            secret_key_id: Uuid::from_u128(n),
            secret: secret.clone(),
            secret_start: now - time::Duration::days(1),
            secret_end: now + time::Duration::days(365),
            service_principal: Some(object_id),
        },
    );
    Sp {
        client_id,
        secret,
        object_id,
    }
}

/// An emulator with a resource group `mon` holding a workspace, a component, a site and a
/// data collection rule that sends stream `Custom-Orders` to table `Orders_CL`.
/// An emulator with a workspace, an App Insights component, a site and a data collection
/// rule in one resource group (also the security tests' protected resources).
pub(crate) struct Env {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) rg: String,
    pub(crate) workspace_id: String,
    pub(crate) customer_id: String,
    pub(crate) app_id: String,
    pub(crate) component_id: String,
    pub(crate) site: String,
    pub(crate) dcr_id: String,
    pub(crate) rule: String,
}

fn dcr_body(workspace_id: &str) -> Value {
    json!({
        "location": "eastus",
        "kind": "Direct",
        "properties": {
            "streamDeclarations": {"Custom-Orders": {"columns": [
                {"name": "TimeGenerated", "type": "datetime"},
                {"name": "Item", "type": "string"},
                {"name": "Quantity", "type": "int"},
                {"name": "Price", "type": "real"},
                {"name": "Paid", "type": "boolean"},
                {"name": "Extra", "type": "dynamic"}
            ]}},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": workspace_id}]},
            "dataFlows": [{
                "streams": ["Custom-Orders"],
                "destinations": ["la"],
                "transformKql": "source | extend Total = Price * Quantity",
                "outputStream": "Custom-Orders_CL"
            }]
        }
    })
}

impl Env {
    async fn new() -> Self {
        Self::with(Emulator::builder()).await
    }

    pub(crate) async fn immediate() -> Self {
        Self::with(Emulator::builder().rbac_propagation(Duration::ZERO)).await
    }

    async fn with(builder: entra_emulator::EmulatorBuilder) -> Self {
        let app = TestApp::with(builder).await;
        let (status, body) = app.admin_token_v2(ARM_SCOPE).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let admin = body["access_token"].as_str().expect("token").to_owned();
        let rg = format!(
            "/subscriptions/{}/resourceGroups/mon",
            app.emu.subscription_id()
        );
        let put = |path: String, body: Value| {
            let admin = admin.clone();
            let app = &app;
            async move {
                let a = Req::new("PUT", path)
                    .token(&admin)
                    .json(&body)
                    .send(app)
                    .await;
                assert!(a.status.is_success(), "{}: {}", a.status, a.text);
                a.body
            }
        };
        put(
            format!("{rg}?api-version=2022-09-01"),
            json!({"location": "eastus"}),
        )
        .await;
        let ws = put(
            format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/logs?api-version=2022-10-01"),
            json!({"location": "eastus", "properties": {}}),
        )
        .await;
        let component = put(
            format!("{rg}/providers/Microsoft.Insights/components/web?api-version=2020-02-02"),
            json!({"location": "eastus", "kind": "web", "properties": {"Application_Type": "web"}}),
        )
        .await;
        let site = put(
            format!("{rg}/providers/Microsoft.Web/sites/shop?api-version=2023-01-01"),
            json!({"location": "westeurope"}),
        )
        .await;
        let workspace_id = ws["id"].as_str().expect("id").to_owned();
        let dcr = put(
            format!("{rg}/providers/Microsoft.Insights/dataCollectionRules/orders?api-version=2023-03-11"),
            dcr_body(&workspace_id),
        )
        .await;
        Env {
            admin,
            rg,
            customer_id: ws["properties"]["customerId"]
                .as_str()
                .expect("customerId")
                .to_owned(),
            workspace_id,
            app_id: component["properties"]["AppId"]
                .as_str()
                .expect("AppId")
                .to_owned(),
            component_id: component["id"].as_str().expect("id").to_owned(),
            site: site["id"].as_str().expect("id").to_owned(),
            dcr_id: dcr["id"].as_str().expect("id").to_owned(),
            rule: dcr["properties"]["immutableId"]
                .as_str()
                .expect("immutableId")
                .to_owned(),
            app,
        }
    }

    pub(crate) async fn assign(&self, scope: &str, role: &str, principal: &Uuid) {
        let path = format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{}?{ASSIGN_V}",
            Uuid::new_v4()
        );
        let body = json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", self.app.emu.subscription_id()),
            "principalId": principal,
            "principalType": "ServicePrincipal",
        }});
        let a = Req::new("PUT", path)
            .token(&self.admin)
            .json(&body)
            .send(&self.app)
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }

    fn query_path(&self) -> String {
        format!("/v1/workspaces/{}/query", self.customer_id)
    }

    fn ingest_path(&self) -> String {
        format!(
            "/dataCollectionRules/{}/streams/Custom-Orders?{INGEST_V}",
            self.rule
        )
    }

    fn now(&self) -> time::OffsetDateTime {
        self.app.emu.now()
    }

    fn stamp(&self, minutes_ago: i64) -> String {
        (self.now() - time::Duration::minutes(minutes_ago))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    }

    async fn seed_workspace(&self, table: &str, body: &Value) -> Answer {
        Req::new(
            "POST",
            format!(
                "/_emulator/monitor/workspaces/{}/tables/{table}",
                self.customer_id
            ),
        )
        .json(body)
        .send(&self.app)
        .await
    }

    async fn seed_app(&self, table: &str, body: &Value) -> Answer {
        Req::new(
            "POST",
            format!("/_emulator/monitor/apps/{}/tables/{table}", self.app_id),
        )
        .json(body)
        .send(&self.app)
        .await
    }

    fn metric_body(&self, metric: &str, process: &str, value: f64) -> Value {
        json!({"time": self.stamp(0), "data": {"baseData": {
            "metric": metric, "namespace": "Memory Profile", "dimNames": ["Process"],
            "series": [{"dimValues": [process], "min": value, "max": value, "sum": value, "count": 1}]
        }}})
    }
}

async fn query(env: &Env, token: &str, q: &str) -> Answer {
    Req::new("POST", env.query_path())
        .token(token)
        .json(&json!({ "query": q }))
        .send(&env.app)
        .await
}

// ------------------------------------------------------------------ walk-through

/// The issue's acceptance scenario (also the README walk-through): a Log Analytics Reader
/// waits for propagation, then reads rows that arrived through the Logs Ingestion API; a
/// Monitoring Metrics Publisher posts a custom metric and reads it back through ARM.
#[tokio::test]
async fn a_reader_waits_for_propagation_then_reads_ingested_rows_and_a_publisher_reads_back_its_metric()
 {
    let env = Env::new().await; // documented defaults: 10 minutes on LA, metrics and ARM
    let app = &env.app;
    let reader = seed_sp(app, 1);
    let publisher = seed_sp(app, 2);
    env.assign(&env.workspace_id, LOG_ANALYTICS_READER, &reader.object_id)
        .await;
    env.assign(&env.rg, METRICS_PUBLISHER, &publisher.object_id)
        .await;

    // 1. Before the Log Analytics plane sees the grant: 403 InsufficientAccessError.
    let la = reader.token(app, LA_SCOPE).await;
    let denied = query(&env, &la, "Orders_CL | count").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.body["error"]["code"], "InsufficientAccessError");
    assert_eq!(
        denied.body["error"]["message"],
        "The provided credentials have insufficient access to perform the requested operation"
    );
    // Nor can the publisher ingest yet.
    let ingest = publisher.token(app, INGEST_SCOPE).await;
    let rows = json!([
        {"TimeGenerated": env.stamp(5), "Item": "apple", "Quantity": 3, "Price": 0.5, "Paid": true},
        {"TimeGenerated": env.stamp(4), "Item": "pear", "Quantity": 2, "Price": 1.25, "Paid": false, "Extra": {"gift": true}}
    ]);
    let early = Req::new("POST", env.ingest_path())
        .token(&ingest)
        .json(&rows)
        .send(app)
        .await;
    assert_eq!(early.status, StatusCode::FORBIDDEN);
    assert_eq!(early.body["error"]["code"], "OperationFailed");

    // 2. Once the clock passes the delays, rows go in and come out.
    app.emu.advance_clock(Duration::from_secs(601));
    let rows = json!([
        {"TimeGenerated": env.stamp(5), "Item": "apple", "Quantity": 3, "Price": 0.5, "Paid": true},
        {"TimeGenerated": env.stamp(4), "Item": "pear", "Quantity": 2, "Price": 1.25, "Paid": false, "Extra": {"gift": true}}
    ]);
    let ingested = Req::new("POST", env.ingest_path())
        .token(&ingest)
        .json(&rows)
        .send(app)
        .await;
    assert_eq!(ingested.status, StatusCode::NO_CONTENT, "{}", ingested.text);
    let answer = query(
        &env,
        &la,
        "Orders_CL | project Item, Quantity, Total, Paid, Extra | order by Item asc",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    insta::assert_json_snapshot!("walkthrough_query", answer.body);

    // 3. The publisher posts a custom metric for the site and reads it back through ARM —
    //    which also needs a read role: Monitoring Metrics Publisher only writes.
    let metrics = publisher.token(app, METRICS_SCOPE).await;
    let posted = Req::new("POST", format!("{}/metrics", env.site))
        .token(&metrics)
        .json(&env.metric_body("Memory Bytes in Use", "shop.exe", 42.0))
        .send(app)
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text);
    let arm = publisher.token(app, ARM_SCOPE).await;
    let read_path = format!(
        "{}/providers/Microsoft.Insights/metrics?{METRICS_V}&metricnames=Memory%20Bytes%20in%20Use&metricnamespace=Memory%20Profile&timespan=PT30M&aggregation=Average,Count",
        env.site
    );
    let refused = Req::new("GET", &read_path).token(&arm).send(app).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["error"]["code"], "AuthorizationFailed");
    env.assign(&env.site, MONITORING_READER, &publisher.object_id)
        .await;
    app.emu.advance_clock(Duration::from_secs(601));
    let read = Req::new("GET", &read_path).token(&arm).send(app).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let series = &read.body["value"][0]["timeseries"][0]["data"];
    let points: Vec<&Value> = series
        .as_array()
        .expect("data")
        .iter()
        .filter(|p| p.get("average").is_some())
        .collect();
    assert_eq!(points.len(), 1, "{series}");
    assert_eq!(points[0]["average"], 42.0);
    assert_eq!(points[0]["count"], 1.0);
}

/// A point posted in the first second of a minute reads back at once: a window ending
/// part-way through that second still holds the minute (it once did not, and a replay that
/// posted and read within that second found no data).
#[tokio::test]
async fn a_metric_posted_as_a_minute_begins_reads_back_at_once() {
    let env = Env::immediate().await;
    let app = &env.app;
    let publisher = seed_sp(app, 18);
    env.assign(&env.site, METRICS_PUBLISHER, &publisher.object_id)
        .await;
    let token = publisher.token(app, METRICS_SCOPE).await;
    // Move the clock to just after the next whole minute.
    let now = app.emu.now();
    let into_minute = Duration::from_secs(u64::from(now.second()))
        + Duration::from_nanos(u64::from(now.nanosecond()));
    app.emu
        .advance_clock(Duration::from_secs(60) - into_minute + Duration::from_millis(1));
    let minute = app.emu.now().replace_second(0).expect("second");
    let minute = minute.replace_nanosecond(0).expect("nanosecond");
    let mut body = env.metric_body("Latency", "a", 7.0);
    body["time"] = json!(
        minute
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    );
    let posted = Req::new("POST", format!("{}/metrics", env.site))
        .token(&token)
        .json(&body)
        .send(app)
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text);
    for interval in ["FULL", "PT1M"] {
        let read = Req::new(
            "GET",
            format!(
                "{}/providers/Microsoft.Insights/metrics?{METRICS_V}&metricnames=Latency&metricnamespace=Memory%20Profile&timespan=PT30M&interval={interval}&aggregation=Total",
                env.site
            ),
        )
        .token(&env.admin)
        .send(app)
        .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        let data = &read.body["value"][0]["timeseries"][0]["data"];
        let totals: Vec<&Value> = data
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|p| p.get("total"))
            .collect();
        assert_eq!(totals, [&json!(7.0)], "{interval}: {data}");
    }
}

// ------------------------------------------------------------------ Log Analytics

#[tokio::test]
async fn log_analytics_answers_every_error_row_in_its_own_envelope() {
    let env = Env::immediate().await;
    let app = &env.app;
    let reader = seed_sp(app, 3);
    env.assign(&env.workspace_id, READER, &reader.object_id)
        .await;
    let la = reader.token(app, LA_SCOPE).await;
    let arm = reader.token(app, ARM_SCOPE).await;
    let stranger = seed_sp(app, 4).token(app, LA_SCOPE).await;
    env.seed_workspace("Orders_CL", &json!([{"Item": "a", "Quantity": 1}]))
        .await;
    let path = env.query_path();
    let q = json!({"query": "Orders_CL | count"});
    let mut shapes = Map::new();
    let mut add = |name: &str, a: &Answer| {
        shapes.insert(name.to_owned(), shape(a));
    };
    add(
        "no_authorization",
        &Req::new("POST", &path).json(&q).send(app).await,
    );
    add(
        "malformed_authorization",
        &Req::new("POST", &path)
            .header("authorization", "Basic abc")
            .json(&q)
            .send(app)
            .await,
    );
    add(
        "invalid_token",
        &Req::new("POST", &path)
            .token("not-a-jwt")
            .json(&q)
            .send(app)
            .await,
    );
    add(
        "wrong_audience",
        &Req::new("POST", &path).token(&arm).json(&q).send(app).await,
    );
    add(
        "no_role",
        &Req::new("POST", &path)
            .token(&stranger)
            .json(&q)
            .send(app)
            .await,
    );
    add(
        "unknown_workspace",
        &Req::new("POST", format!("/v1/workspaces/{}/query", Uuid::nil()))
            .token(&la)
            .json(&q)
            .send(app)
            .await,
    );
    add(
        "workspace_name_not_guid",
        &Req::new("POST", "/v1/workspaces/logs/query")
            .token(&la)
            .json(&q)
            .send(app)
            .await,
    );
    add(
        "wrong_method",
        &Req::new("PUT", &path).token(&la).json(&q).send(app).await,
    );
    add(
        "unknown_path",
        &Req::new("GET", "/v1/nothing/here")
            .token(&la)
            .send(app)
            .await,
    );
    let bad = |query: &str| json!({ "query": query });
    add(
        "syntax_error",
        &Req::new("POST", &path)
            .token(&la)
            .json(&bad("completely invalid syntax"))
            .send(app)
            .await,
    );
    add(
        "unknown_table",
        &Req::new("POST", &path)
            .token(&la)
            .json(&bad("resource | summarize count()"))
            .send(app)
            .await,
    );
    add(
        "unknown_column",
        &Req::new("POST", &path)
            .token(&la)
            .json(&bad("Orders_CL | where Nope > 1"))
            .send(app)
            .await,
    );
    add(
        "unsupported_operator",
        &Req::new("POST", &path)
            .token(&la)
            .json(&bad("Orders_CL | join (Orders_CL) on Item"))
            .send(app)
            .await,
    );
    add(
        "missing_query",
        &Req::new("POST", &path)
            .token(&la)
            .json(&json!({"timespan": "PT1H"}))
            .send(app)
            .await,
    );
    add(
        "query_not_string",
        &Req::new("POST", &path)
            .token(&la)
            .json(&json!({"query": 5}))
            .send(app)
            .await,
    );
    add(
        "invalid_json",
        &Req::new("POST", &path)
            .token(&la)
            .raw(Some("application/json"), "{\"query\": ")
            .send(app)
            .await,
    );
    add(
        "bad_timespan",
        &Req::new("POST", &path)
            .token(&la)
            .json(&json!({"query": "Orders_CL", "timespan": "yesterday"}))
            .send(app)
            .await,
    );
    add(
        "bad_workspaces",
        &Req::new("POST", &path)
            .token(&la)
            .json(&json!({"query": "Orders_CL", "workspaces": "x"}))
            .send(app)
            .await,
    );
    add(
        "get_without_query",
        &Req::new("GET", &path).token(&la).send(app).await,
    );
    let huge = format!("{{\"query\": \"{}\"}}", "x".repeat(3 << 20));
    add(
        "body_too_large",
        &Req::new("POST", &path)
            .token(&la)
            .raw(Some("application/json"), huge)
            .send(app)
            .await,
    );
    let many: Vec<String> = (0..101).map(|i| Uuid::from_u128(i).to_string()).collect();
    add(
        "too_many_workspaces",
        &Req::new("POST", &path)
            .token(&la)
            .json(&json!({"query": "T", "workspaces": many}))
            .send(app)
            .await,
    );
    add(
        "unknown_extra_workspace",
        &Req::new("POST", &path)
            .token(&la)
            .json(&json!({"query": "T", "workspaces": ["not-a-workspace"]}))
            .send(app)
            .await,
    );
    add(
        "unsupported_encoding",
        &Req::new("POST", &path)
            .token(&la)
            .header("content-encoding", "br")
            .json(&q)
            .send(app)
            .await,
    );
    insta::assert_json_snapshot!("log_analytics_errors", shapes);

    // The gateway's 401 and the query service's errors carry the documented headers.
    let a = Req::new("POST", &path)
        .token(&la)
        .json(&bad("x y"))
        .send(app)
        .await;
    assert_eq!(a.headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(a.headers["access-control-allow-origin"], "*");
    let keys: Vec<&str> = a.body["error"]
        .as_object()
        .expect("error")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["message", "code", "correlationId", "innererror"]);
}

#[tokio::test]
async fn a_fresh_workspace_resolves_queries_against_the_standard_tables() {
    let env = Env::immediate().await;
    let app = &env.app;
    let reader = seed_sp(app, 5);
    env.assign(&env.workspace_id, LOG_ANALYTICS_READER, &reader.object_id)
        .await;
    let la = reader.token(app, LA_SCOPE).await;
    // `print` needs no table: 200 with its row in a workspace without data. Shape per the
    // data-plane spec's queryResults (Azure/azure-rest-api-specs, specification/
    // operationalinsights/data-plane/Microsoft.OperationalInsights/stable/2022-10-27/
    // OperationalInsights.json); integer literals are `long`. No recording of `print` was
    // found.
    let print = query(&env, &la, "print a = 42").await;
    assert_eq!(print.status, StatusCode::OK, "{}", print.text);
    assert_eq!(
        print.body,
        json!({"tables": [{"name": "PrimaryResult",
            "columns": [{"name": "a", "type": "long"}], "rows": [[42]]}]})
    );
    // A standard table without rows: its columns, in the physical order a real answer to
    // `AppRequests | take 5` recorded (Azure/azure-sdk-assets, python/sdk/monitor/
    // azure-monitor-query/tests/recordings/test_logs_client.pyTestLogsClienttest_logs_query_result_row_type.json,
    // fixtures/azure/py_monitor_query_logs_take_schema.json), and no rows.
    let take = query(&env, &la, "AppRequests | take 5").await;
    assert_eq!(take.status, StatusCode::OK, "{}", take.text);
    let columns = take.body["tables"][0]["columns"]
        .as_array()
        .expect("columns");
    assert_eq!(columns.len(), 41);
    assert_eq!(columns[0], json!({"name": "TenantId", "type": "string"}));
    assert_eq!(columns[8], json!({"name": "DurationMs", "type": "real"}));
    assert_eq!(
        columns[40],
        json!({"name": "_ResourceId", "type": "string"})
    );
    assert_eq!(take.body["tables"][0]["rows"], json!([]));
    // A summarize over it keeps typed columns, as the recorded answer shows
    // (test_logs_client.pyTestLogsClienttest_logs_single_query.json,
    // fixtures/azure/py_monitor_query_logs_single_query.json).
    let summary = query(
        &env,
        &la,
        "AppRequests | where TimeGenerated > ago(12h) | summarize avgRequestDuration=avg(DurationMs) by bin(TimeGenerated, 10m), _ResourceId",
    )
    .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    assert_eq!(
        summary.body,
        json!({"tables": [{"name": "PrimaryResult", "columns": [
            {"name": "TimeGenerated", "type": "datetime"},
            {"name": "_ResourceId", "type": "string"},
            {"name": "avgRequestDuration", "type": "real"}], "rows": []}]})
    );
    // Every standard table of the reference (learn.microsoft.com/azure/azure-monitor/
    // reference/tables/{table}) is known, and the table the rule writes to too.
    for table in [
        "AppDependencies",
        "AppExceptions",
        "AppTraces",
        "AzureActivity",
        "Heartbeat",
        "Usage",
        "Perf",
        "Syslog",
        "Event",
    ] {
        let a = query(&env, &la, &format!("{table} | count")).await;
        assert_eq!(a.status, StatusCode::OK, "{table}: {}", a.text);
        assert_eq!(a.body["tables"][0]["rows"], json!([[0]]), "{table}");
    }
    let orders = query(&env, &la, "Orders_CL | take 1").await;
    assert_eq!(orders.status, StatusCode::OK, "{}", orders.text);
    let names: Vec<&str> = orders.body["tables"][0]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "TimeGenerated",
            "Item",
            "Quantity",
            "Price",
            "Paid",
            "Extra",
            "Total"
        ]
    );
    // An unknown table: 400 BadArgumentError / SemanticError / SEM0100, the prefix naming
    // the operator that reads it. Recorded: Azure/azure-sdk-assets, python/sdk/monitor/
    // azure-monitor-query/tests/recordings/test_logs_client.pyTestLogsClienttest_logs_single_query_with_non_200.json
    // (fixtures/azure/py_monitor_query_logs_semantic_error.json).
    let unknown = query(
        &env,
        &la,
        "AppInsights |\n        where TimeGenerated > ago(12h)",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    let error = &unknown.body["error"];
    assert_eq!(error["message"], "The request had some invalid properties");
    assert_eq!(error["code"], "BadArgumentError");
    assert!(
        error["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36)
    );
    assert_eq!(
        error["innererror"],
        json!({"code": "SemanticError", "message": "A semantic error occurred.",
            "innererror": {"code": "SEM0100",
                "message": "'where' operator: Failed to resolve table or column expression named 'AppInsights'"}})
    );
    env.seed_workspace("T", &json!([{"x": 1}])).await;
    // A POST without a JSON content type (or body) answers an empty 200.
    let plain = Req::new("POST", env.query_path())
        .token(&la)
        .raw(Some("text/plain"), "{\"query\":\"T\"}")
        .send(app)
        .await;
    assert_eq!((plain.status, plain.text.as_str()), (StatusCode::OK, ""));
    let no_body = Req::new("POST", env.query_path())
        .token(&la)
        .raw(Some("application/json"), "")
        .send(app)
        .await;
    assert_eq!(
        (no_body.status, no_body.text.as_str()),
        (StatusCode::OK, "")
    );
}

#[tokio::test]
async fn log_analytics_queries_filter_by_timespan_and_report_statistics() {
    let env = Env::immediate().await;
    let app = &env.app;
    let reader = seed_sp(app, 6);
    env.assign(&env.rg, LOG_ANALYTICS_READER, &reader.object_id)
        .await;
    let la = reader.token(app, LA_SCOPE).await;
    let seeded = env
        .seed_workspace(
            "Events_CL",
            &json!({"columns": [
                {"name": "TimeGenerated", "type": "datetime"},
                {"name": "Kind", "type": "string"},
                {"name": "Size", "type": "long"}
            ], "rows": [
                {"TimeGenerated": env.stamp(90), "Kind": "old", "Size": 1},
                {"TimeGenerated": env.stamp(30), "Kind": "recent", "Size": 2},
                {"TimeGenerated": env.stamp(5), "Kind": "recent", "Size": 3}
            ]}),
        )
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.text);
    assert_eq!(
        seeded.body,
        json!({"table": "Events_CL", "rowsAdded": 3, "rowCount": 3})
    );
    let q = "Events_CL | summarize n = count(), total = sum(Size) by Kind | order by Kind asc";
    // POST with a body timespan.
    let hour = Req::new("POST", env.query_path())
        .token(&la)
        .json(&json!({"query": q, "timespan": "PT1H"}))
        .send(app)
        .await;
    assert_eq!(hour.body["tables"][0]["rows"], json!([["recent", 2, 5]]));
    // GET with the URL form; intersected with a URL timespan on POST.
    let get = Req::new(
        "GET",
        format!(
            "{}?query={}&timespan=PT2H",
            env.query_path(),
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        ),
    )
    .token(&la)
    .send(app)
    .await;
    assert_eq!(
        get.body["tables"][0]["rows"],
        json!([["old", 1, 1], ["recent", 2, 5]])
    );
    let both = Req::new("POST", format!("{}?timespan=PT10M", env.query_path()))
        .token(&la)
        .json(&json!({"query": q, "timespan": "PT1H"}))
        .send(app)
        .await;
    assert_eq!(both.body["tables"][0]["rows"], json!([["recent", 1, 3]]));
    // Statistics on request, in the recorded shape.
    let stats = Req::new("POST", env.query_path())
        .token(&la)
        .header("prefer", "include-statistics=true")
        .json(&json!({"query": "Events_CL | take 1 | project Kind"}))
        .send(app)
        .await;
    assert_eq!(
        stats.headers["preference-applied"],
        "include-statistics=true"
    );
    let s = &stats.body["statistics"]["query"];
    assert!(s["executionTime"].as_f64().is_some());
    assert_eq!(s["inputDatasetStatistics"]["rows"]["total"], 3);
    assert_eq!(s["datasetStatistics"][0]["tableRowCount"], 1);
    // Value rendering follows the service.
    let typed = query(
        &env,
        &la,
        "print \"hello\", true, datetime(2000-01-02 03:04:05), toint(100), long(101), 102.1, dynamic({\"hello\": \"world\"})",
    )
    .await;
    assert_eq!(typed.status, StatusCode::OK, "{}", typed.text);
    insta::assert_json_snapshot!("log_analytics_types", typed.body);
}

#[tokio::test]
async fn log_analytics_cuts_long_results_with_a_partial_error_and_spans_workspaces() {
    let env = Env::with(
        Emulator::builder()
            .rbac_propagation(Duration::ZERO)
            .query_row_limit(2),
    )
    .await;
    let app = &env.app;
    let reader = seed_sp(app, 7);
    env.assign(&env.rg, LOG_ANALYTICS_READER, &reader.object_id)
        .await;
    let la = reader.token(app, LA_SCOPE).await;
    env.seed_workspace("T", &json!([{"x": 1}, {"x": 2}, {"x": 3}]))
        .await;
    let cut = query(&env, &la, "T | project x | order by x asc").await;
    assert_eq!(cut.status, StatusCode::OK);
    assert_eq!(cut.body["tables"][0]["rows"], json!([[1], [2]]));
    insta::assert_json_snapshot!("partial_error", cut.body["error"]);
    // A second workspace joins through `workspaces`, by GUID or resource id.
    let second = Req::new(
        "PUT",
        format!(
            "{}/providers/Microsoft.OperationalInsights/workspaces/more?api-version=2022-10-01",
            env.rg
        ),
    )
    .token(&env.admin)
    .json(&json!({"location": "eastus"}))
    .send(app)
    .await;
    let other = second.body["properties"]["customerId"]
        .as_str()
        .expect("id")
        .to_owned();
    let seeded = Req::new(
        "POST",
        format!("/_emulator/monitor/workspaces/{other}/tables/T"),
    )
    .json(&json!([{"x": 10}]))
    .send(app)
    .await;
    assert_eq!(seeded.status, StatusCode::OK);
    for w in [
        other.clone(),
        second.body["id"].as_str().expect("id").to_owned(),
    ] {
        let both = Req::new("POST", env.query_path())
            .token(&la)
            .json(&json!({"query": "T | summarize sum(x)", "workspaces": [w]}))
            .send(app)
            .await;
        assert_eq!(
            both.body["tables"][0]["rows"],
            json!([[16]]),
            "{}",
            both.text
        );
    }
    // Every workspace named must be readable.
    let stranger = seed_sp(app, 8);
    env.assign(&env.workspace_id, LOG_ANALYTICS_READER, &stranger.object_id)
        .await;
    let token = stranger.token(app, LA_SCOPE).await;
    let denied = Req::new("POST", env.query_path())
        .token(&token)
        .json(&json!({"query": "T", "workspaces": [other]}))
        .send(app)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_base_url_is_an_accepted_audience_for_the_query_apis() {
    let env = Env::immediate().await;
    let app = &env.app;
    let reader = seed_sp(app, 9);
    env.assign(&env.rg, READER, &reader.object_id).await;
    env.seed_workspace("T", &json!([{"x": 1}])).await;
    // The cloud metadata document hands out the base URL as both resource ids.
    let (_, meta) = app
        .get_json("/metadata/endpoints?api-version=2022-09-01")
        .await;
    assert_eq!(meta["logAnalyticsResourceId"], app.emu.url());
    assert_eq!(meta["appInsightsResourceId"], app.emu.url());
    let token = reader
        .token(app, &format!("{}/.default", app.emu.url()))
        .await;
    assert_eq!(claims_of(&token)["aud"], app.emu.url());
    let la = query(&env, &token, "T | count").await;
    assert_eq!(la.status, StatusCode::OK, "{}", la.text);
    let ai = Req::new("POST", format!("/v1/apps/{}/query", env.app_id))
        .token(&token)
        .json(&json!({"query": "requests | count"}))
        .send(app)
        .await;
    assert_eq!(ai.status, StatusCode::OK, "{}", ai.text);
}

// ------------------------------------------------------------------ Logs Ingestion

#[tokio::test]
async fn data_collection_rules_get_their_server_properties_and_are_validated() {
    let env = Env::immediate().await;
    let app = &env.app;
    let got = Req::new("GET", format!("{}?api-version=2023-03-11", env.dcr_id))
        .token(&env.admin)
        .send(app)
        .await;
    assert!(
        env.rule.starts_with("dcr-") && env.rule.len() == 36,
        "{}",
        env.rule
    );
    assert_eq!(
        got.body["properties"]["destinations"]["logAnalytics"][0]["workspaceId"],
        env.customer_id.as_str()
    );
    let base = app.emu.url().to_owned();
    assert_eq!(
        got.body["properties"]["endpoints"]["logsIngestion"],
        base.as_str()
    );
    insta::assert_json_snapshot!("data_collection_rule", scrub(&got.body));
    // A rewrite keeps the immutable id.
    let again = Req::new("PUT", format!("{}?api-version=2023-03-11", env.dcr_id))
        .token(&env.admin)
        .json(&dcr_body(&env.workspace_id))
        .send(app)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["properties"]["immutableId"], env.rule.as_str());
    // Invalid rules: ARM's InvalidPayload with one detail per finding.
    let mut shapes = Map::new();
    let mut bad = dcr_body(&env.workspace_id);
    bad["properties"]["dataFlows"][0]["streams"] = json!(["Custom-Nope"]);
    bad["properties"]["dataFlows"][0]["destinations"] = json!(["elsewhere"]);
    bad["properties"]["destinations"]["logAnalytics"][0]["workspaceResourceId"] =
        json!(format!("{}x", env.workspace_id));
    let mut bad_kql = dcr_body(&env.workspace_id);
    bad_kql["properties"]["dataFlows"][0]["transformKql"] = json!("source | where Missing > 1");
    let mut bad_type = dcr_body(&env.workspace_id);
    bad_type["properties"]["streamDeclarations"]["Custom-Orders"]["columns"][1]["type"] =
        json!("text");
    let mut no_output = dcr_body(&env.workspace_id);
    no_output["properties"]["dataFlows"][0]
        .as_object_mut()
        .expect("flow")
        .remove("outputStream");
    for (name, body) in [
        ("references", bad),
        ("transform", bad_kql),
        ("column_type", bad_type),
        ("output_stream", no_output),
    ] {
        let a = Req::new(
            "PUT",
            format!(
                "{}/providers/Microsoft.Insights/dataCollectionRules/bad?api-version=2023-03-11",
                env.rg
            ),
        )
        .token(&env.admin)
        .json(&body)
        .send(app)
        .await;
        shapes.insert(name.into(), shape(&a));
    }
    insta::assert_json_snapshot!("data_collection_rule_errors", shapes);
    // A data collection endpoint points at the emulator.
    let dce = Req::new(
        "PUT",
        format!(
            "{}/providers/Microsoft.Insights/dataCollectionEndpoints/dce?api-version=2023-03-11",
            env.rg
        ),
    )
    .token(&env.admin)
    .json(&json!({"location": "eastus", "properties": {}}))
    .send(app)
    .await;
    assert_eq!(dce.status, StatusCode::CREATED, "{}", dce.text);
    assert_eq!(
        dce.body["properties"]["logsIngestion"]["endpoint"],
        base.as_str()
    );
    assert!(
        dce.body["properties"]["immutableId"]
            .as_str()
            .is_some_and(|i| i.starts_with("dce-"))
    );
}

#[tokio::test]
async fn the_ingestion_api_answers_every_error_row() {
    let env = Env::immediate().await;
    let app = &env.app;
    let publisher = seed_sp(app, 10);
    env.assign(&env.dcr_id, METRICS_PUBLISHER, &publisher.object_id)
        .await;
    let token = publisher.token(app, INGEST_SCOPE).await;
    let la_token = publisher.token(app, LA_SCOPE).await;
    let stranger = seed_sp(app, 11).token(app, INGEST_SCOPE).await;
    let path = env.ingest_path();
    let rows = json!([{"Item": "x", "Quantity": 1}]);
    let mut shapes = Map::new();
    let mut add = |name: &str, a: &Answer| {
        assert_eq!(
            a.headers
                .get("x-ms-error-code")
                .map(|v| v.to_str().unwrap_or_default()),
            a.body["error"]["code"].as_str(),
            "{name}"
        );
        shapes.insert(name.to_owned(), shape(a));
    };
    add(
        "missing_api_version",
        &Req::new(
            "POST",
            format!("/dataCollectionRules/{}/streams/Custom-Orders", env.rule),
        )
        .token(&token)
        .json(&rows)
        .send(app)
        .await,
    );
    add(
        "unsupported_api_version",
        &Req::new(
            "POST",
            format!(
                "/dataCollectionRules/{}/streams/Custom-Orders?api-version=2020-01-01",
                env.rule
            ),
        )
        .token(&token)
        .json(&rows)
        .send(app)
        .await,
    );
    add(
        "no_token",
        &Req::new("POST", &path).json(&rows).send(app).await,
    );
    add(
        "invalid_token",
        &Req::new("POST", &path)
            .token("x.y.z")
            .json(&rows)
            .send(app)
            .await,
    );
    add(
        "wrong_audience",
        &Req::new("POST", &path)
            .token(&la_token)
            .json(&rows)
            .send(app)
            .await,
    );
    add(
        "no_role",
        &Req::new("POST", &path)
            .token(&stranger)
            .json(&rows)
            .send(app)
            .await,
    );
    add(
        "unknown_rule",
        &Req::new("POST", format!("/dataCollectionRules/dcr-00000000000000000000000000000000/streams/Custom-Orders?{INGEST_V}"))
            .token(&token)
            .json(&rows)
            .send(app)
            .await,
    );
    add(
        "undeclared_stream",
        &Req::new(
            "POST",
            format!(
                "/dataCollectionRules/{}/streams/Custom-Other?{INGEST_V}",
                env.rule
            ),
        )
        .token(&token)
        .json(&rows)
        .send(app)
        .await,
    );
    add(
        "malformed_json",
        &Req::new("POST", &path)
            .token(&token)
            .raw(Some("application/json"), "[{")
            .send(app)
            .await,
    );
    add(
        "not_an_array",
        &Req::new("POST", &path)
            .token(&token)
            .json(&json!({"a": 1}))
            .send(app)
            .await,
    );
    add(
        "not_objects",
        &Req::new("POST", &path)
            .token(&token)
            .json(&json!([1]))
            .send(app)
            .await,
    );
    add(
        "type_mismatch",
        &Req::new("POST", &path)
            .token(&token)
            .json(&json!([{"Quantity": "many"}]))
            .send(app)
            .await,
    );
    add(
        "too_large",
        &Req::new("POST", &path)
            .token(&token)
            .raw(
                Some("application/json"),
                format!("[{{\"Item\":\"{}\"}}]", "x".repeat(1 << 20)),
            )
            .send(app)
            .await,
    );
    add(
        "bad_gzip",
        &Req::new("POST", &path)
            .token(&token)
            .header("content-encoding", "gzip")
            .raw(Some("application/json"), "not gzip")
            .send(app)
            .await,
    );
    add(
        "wrong_method",
        &Req::new("GET", &path).token(&token).send(app).await,
    );
    add(
        "unsupported_encoding",
        &Req::new("POST", &path)
            .token(&token)
            .header("content-encoding", "br")
            .json(&rows)
            .send(app)
            .await,
    );
    insta::assert_json_snapshot!("ingestion_errors", shapes);
    // None of these stored anything: the workspace still has no data.
    assert!(!test_support::has_workspace_data(
        &app.emu,
        &env.customer_id.parse().expect("guid")
    ));
}

#[tokio::test]
async fn ingestion_takes_gzip_applies_the_transformation_and_appends() {
    use std::io::Write as _;
    let env = Env::immediate().await;
    let app = &env.app;
    let publisher = seed_sp(app, 12);
    env.assign(&env.rg, METRICS_PUBLISHER, &publisher.object_id)
        .await;
    let reader = seed_sp(app, 13);
    env.assign(&env.workspace_id, LOG_ANALYTICS_READER, &reader.object_id)
        .await;
    let token = publisher.token(app, INGEST_SCOPE).await;
    let rows = json!([
        {"Item": "plum", "Quantity": 4, "Price": 0.25, "Unknown": "dropped"},
        {"TimeGenerated": env.stamp(1), "Item": "fig", "Quantity": 1, "Price": 2.0}
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(rows.to_string().as_bytes()).expect("gzip");
    let sent = Req::new("POST", env.ingest_path())
        .token(&token)
        .header("content-encoding", "gzip")
        .raw(Some("application/json"), gz.finish().expect("gzip"))
        .send(app)
        .await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT, "{}", sent.text);
    let again = Req::new("POST", env.ingest_path())
        .token(&token)
        .json(&json!([{"Item": "kiwi", "Quantity": 2, "Price": 1.5}]))
        .send(app)
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    let la = reader.token(app, LA_SCOPE).await;
    let answer = query(
        &env,
        &la,
        "Orders_CL | project Item, Total | order by Item asc",
    )
    .await;
    assert_eq!(
        answer.body["tables"][0]["rows"],
        json!([["fig", 2], ["kiwi", 3], ["plum", 1]])
    );
    // Rows without TimeGenerated got the time they arrived.
    let times = query(&env, &la, "Orders_CL | where isnull(TimeGenerated) | count").await;
    assert_eq!(times.body["tables"][0]["rows"], json!([[0]]));
    let one = query(&env, &la, "Orders_CL | take 1").await;
    let columns: Vec<&str> = one.body["tables"][0]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert!(!columns.contains(&"Unknown"), "{columns:?}");
}

// ------------------------------------------------------------------ custom metrics

#[tokio::test]
async fn custom_metrics_are_stored_and_read_back_through_arm() {
    let env = Env::immediate().await;
    let app = &env.app;
    let publisher = seed_sp(app, 14);
    env.assign(&env.site, METRICS_PUBLISHER, &publisher.object_id)
        .await;
    env.assign(&env.site, MONITORING_READER, &publisher.object_id)
        .await;
    let token = publisher.token(app, METRICS_SCOPE).await;
    let post = |body: String, ct: &'static str| {
        let token = token.clone();
        let path = format!("{}/metrics", env.site);
        async move {
            Req::new("POST", path)
                .token(&token)
                .raw(Some(ct), body)
                .send(app)
                .await
        }
    };
    let one = post(
        env.metric_body("Latency", "a.exe", 10.0).to_string(),
        "application/json",
    )
    .await;
    assert_eq!((one.status, one.text.as_str()), (StatusCode::OK, ""));
    let lines = format!(
        "{}\n{}\n",
        env.metric_body("Latency", "a.exe", 30.0),
        env.metric_body("Latency", "b.exe", 5.0)
    );
    assert_eq!(
        post(lines, "application/x-ndjson").await.status,
        StatusCode::OK
    );
    let arm = publisher.token(app, ARM_SCOPE).await;
    let get = |query: String| {
        let arm = arm.clone();
        let path = format!("{}/providers/Microsoft.Insights/{query}", env.site);
        async move { Req::new("GET", path).token(&arm).send(app).await }
    };
    let whole = get(format!(
        "metrics?{METRICS_V}&metricnames=Latency&metricnamespace=Memory%20Profile&timespan=PT5M&interval=FULL&aggregation=average,minimum,maximum,total,count"
    ))
    .await;
    assert_eq!(whole.status, StatusCode::OK, "{}", whole.text);
    insta::assert_json_snapshot!("metrics_full", scrub(&whole.body));
    let split = get(format!(
        "metrics?{METRICS_V}&metricnames=Latency&metricnamespace=Memory%20Profile&timespan=PT5M&interval=FULL&aggregation=total&$filter=Process%20eq%20%27*%27"
    ))
    .await;
    let by_process: Vec<(Value, Value)> = split.body["value"][0]["timeseries"]
        .as_array()
        .expect("series")
        .iter()
        .map(|s| {
            (
                s["metadatavalues"][0]["value"].clone(),
                s["data"][0]["total"].clone(),
            )
        })
        .collect();
    assert_eq!(
        by_process,
        [(json!("a.exe"), json!(40.0)), (json!("b.exe"), json!(5.0))]
    );
    let minutes = get(format!(
        "metrics?{METRICS_V}&metricnames=Latency&metricnamespace=Memory%20Profile&timespan=PT5M"
    ))
    .await;
    assert_eq!(minutes.body["interval"], "PT1M");
    assert_eq!(minutes.body["cost"], 4);
    let data = minutes.body["value"][0]["timeseries"][0]["data"]
        .as_array()
        .expect("data");
    assert!((5..=6).contains(&data.len()), "{}", data.len());
    let defs = get(format!(
        "metricDefinitions?{METRICS_V}&metricnamespace=Memory%20Profile"
    ))
    .await;
    insta::assert_json_snapshot!("metric_definitions", scrub(&defs.body));
    let platform = get(format!("metricDefinitions?{METRICS_V}")).await;
    assert_eq!(platform.body, json!({"value": []}), "no platform metrics");
    let namespaces = get("metricNamespaces?api-version=2024-02-01".into()).await;
    insta::assert_json_snapshot!("metric_namespaces", scrub(&namespaces.body));
}

#[tokio::test]
async fn custom_metrics_ingestion_answers_every_error_row() {
    let env = Env::immediate().await;
    let app = &env.app;
    let publisher = seed_sp(app, 15);
    env.assign(&env.rg, METRICS_PUBLISHER, &publisher.object_id)
        .await;
    let token = publisher.token(app, METRICS_SCOPE).await;
    let (_, no_slash) = app
        .token_v2(
            &publisher.client_id.to_string(),
            &publisher.secret,
            "https://monitoring.azure.com/.default",
        )
        .await;
    let no_slash = no_slash["access_token"].as_str().expect("token").to_owned();
    let stranger = seed_sp(app, 16).token(app, METRICS_SCOPE).await;
    let path = format!("{}/metrics", env.site);
    let good = env.metric_body("m", "p", 1.0);
    let mut shapes = Map::new();
    let mut add = |name: &str, a: &Answer| {
        shapes.insert(name.to_owned(), shape(a));
    };
    add(
        "no_token",
        &Req::new("POST", &path).json(&good).send(app).await,
    );
    add(
        "invalid_token",
        &Req::new("POST", &path)
            .token("x")
            .json(&good)
            .send(app)
            .await,
    );
    add(
        "audience_without_slash",
        &Req::new("POST", &path)
            .token(&no_slash)
            .json(&good)
            .send(app)
            .await,
    );
    add(
        "no_role",
        &Req::new("POST", &path)
            .token(&stranger)
            .json(&good)
            .send(app)
            .await,
    );
    add(
        "unknown_resource",
        &Req::new(
            "POST",
            format!("{}/providers/Microsoft.Web/sites/nope/metrics", env.rg),
        )
        .token(&token)
        .json(&good)
        .send(app)
        .await,
    );
    let mut old = good.clone();
    old["time"] = json!(env.stamp(21));
    add(
        "too_old",
        &Req::new("POST", &path)
            .token(&token)
            .json(&old)
            .send(app)
            .await,
    );
    let mut future = good.clone();
    future["time"] = json!(env.stamp(-6));
    add(
        "too_far_ahead",
        &Req::new("POST", &path)
            .token(&token)
            .json(&future)
            .send(app)
            .await,
    );
    let mut bad_time = good.clone();
    bad_time["time"] = json!("yesterday");
    add(
        "bad_time",
        &Req::new("POST", &path)
            .token(&token)
            .json(&bad_time)
            .send(app)
            .await,
    );
    let mut mismatch = good.clone();
    mismatch["data"]["baseData"]["series"][0]["dimValues"] = json!(["a", "b"]);
    add(
        "dimension_mismatch",
        &Req::new("POST", &path)
            .token(&token)
            .json(&mismatch)
            .send(app)
            .await,
    );
    let mut many = good.clone();
    many["data"]["baseData"]["dimNames"] =
        json!((0..11).map(|i| format!("d{i}")).collect::<Vec<_>>());
    add(
        "too_many_dimensions",
        &Req::new("POST", &path)
            .token(&token)
            .json(&many)
            .send(app)
            .await,
    );
    let mut no_metric = good.clone();
    no_metric["data"]["baseData"]["metric"] = json!("");
    add(
        "missing_metric",
        &Req::new("POST", &path)
            .token(&token)
            .json(&no_metric)
            .send(app)
            .await,
    );
    let mut no_count = good.clone();
    no_count["data"]["baseData"]["series"][0]
        .as_object_mut()
        .expect("series")
        .remove("count");
    add(
        "missing_count",
        &Req::new("POST", &path)
            .token(&token)
            .json(&no_count)
            .send(app)
            .await,
    );
    add(
        "malformed_json",
        &Req::new("POST", &path)
            .token(&token)
            .raw(Some("application/json"), "{")
            .send(app)
            .await,
    );
    add(
        "wrong_content_type",
        &Req::new("POST", &path)
            .token(&token)
            .raw(Some("text/plain"), good.to_string())
            .send(app)
            .await,
    );
    add(
        "too_large",
        &Req::new("POST", &path)
            .token(&token)
            .raw(Some("application/json"), "x".repeat((1 << 20) + 1))
            .send(app)
            .await,
    );
    let mut wide = good.clone();
    let one = wide["data"]["baseData"]["series"][0].clone();
    wide["data"]["baseData"]["series"] = json!(vec![one; 10_001]);
    add(
        "too_many_series",
        &Req::new("POST", &path)
            .token(&token)
            .json(&wide)
            .send(app)
            .await,
    );
    add(
        "not_a_resource",
        &Req::new(
            "POST",
            format!("{}/providers/Microsoft.Insights/metrics", env.site),
        )
        .token(&token)
        .json(&good)
        .send(app)
        .await,
    );
    add(
        "unsupported_encoding",
        &Req::new("POST", &path)
            .token(&token)
            .header("content-encoding", "br")
            .json(&good)
            .send(app)
            .await,
    );
    add(
        "bad_gzip",
        &Req::new("POST", &path)
            .token(&token)
            .header("content-encoding", "gzip")
            .json(&good)
            .send(app)
            .await,
    );
    add(
        "ndjson_line_not_object",
        &Req::new("POST", &path)
            .token(&token)
            .raw(Some("application/x-ndjson"), "[1]\n")
            .send(app)
            .await,
    );
    insta::assert_json_snapshot!("custom_metrics_errors", shapes);
    // Nothing was stored by any of them.
    assert!(!test_support::has_custom_metrics(&app.emu, &env.site));
}

#[tokio::test]
async fn the_metrics_read_api_refuses_bad_queries() {
    let env = Env::immediate().await;
    let app = &env.app;
    let publisher = seed_sp(app, 17);
    env.assign(&env.site, METRICS_PUBLISHER, &publisher.object_id)
        .await;
    let token = publisher.token(app, METRICS_SCOPE).await;
    let posted = Req::new("POST", format!("{}/metrics", env.site))
        .token(&token)
        .json(&env.metric_body("Latency", "a", 1.0))
        .send(app)
        .await;
    assert_eq!(posted.status, StatusCode::OK);
    let base = format!("{}/providers/Microsoft.Insights", env.site);
    let ns = "metricnamespace=Memory%20Profile";
    let mut shapes = Map::new();
    for (name, path) in [
        (
            "platform_namespace",
            format!("{base}/metrics?{METRICS_V}&metricnames=Latency"),
        ),
        (
            "unknown_metric",
            format!("{base}/metrics?{METRICS_V}&{ns}&metricnames=Nope"),
        ),
        (
            "bad_interval",
            format!("{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&interval=PT7M"),
        ),
        (
            "bad_timespan",
            format!("{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&timespan=soon"),
        ),
        (
            "bad_aggregation",
            format!("{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&aggregation=median"),
        ),
        (
            "bad_filter",
            format!(
                "{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&$filter=Process%20ne%20%27a%27"
            ),
        ),
        (
            "unknown_dimension",
            format!(
                "{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&$filter=Host%20eq%20%27*%27"
            ),
        ),
        (
            "too_many_points",
            // Fixed ends, so that the count does not depend on the second the test runs at
            // (`P100D` ending now holds one more interval unless now is a whole minute).
            format!(
                "{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&timespan=2024-01-01T00:00:00Z/2024-04-10T00:00:00Z"
            ),
        ),
        (
            "unsupported_version",
            format!("{base}/metrics?api-version=2099-01-01&{ns}&metricnames=Latency"),
        ),
        (
            "namespaces_unsupported_version",
            format!("{base}/metricNamespaces?api-version=2018-01-01"),
        ),
        (
            "unknown_resource",
            format!(
                "{}/providers/Microsoft.Web/sites/nope/providers/Microsoft.Insights/metrics?{METRICS_V}",
                env.rg
            ),
        ),
        (
            "resource_group_scope",
            format!(
                "{}/providers/Microsoft.Insights/metrics?{METRICS_V}",
                env.rg
            ),
        ),
        ("post", format!("{base}/metricDefinitions?{METRICS_V}")),
        (
            "bad_top",
            format!("{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&top=0"),
        ),
        (
            "bad_orderby",
            format!("{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&orderby=sideways"),
        ),
        (
            "too_many_names",
            format!(
                "{base}/metrics?{METRICS_V}&{ns}&metricnames={}",
                ["m"; 21].join(",")
            ),
        ),
    ] {
        let method = if name == "post" { "PUT" } else { "GET" };
        let a = Req::new(method, path).token(&env.admin).send(app).await;
        shapes.insert(name.into(), shape(&a));
    }
    insta::assert_json_snapshot!("metrics_read_errors", shapes);
    // AutoAdjustTimegrain picks the nearest grain instead.
    let adjusted = Req::new(
        "GET",
        format!("{base}/metrics?{METRICS_V}&{ns}&metricnames=Latency&interval=PT7M&AutoAdjustTimegrain=true"),
    )
    .token(&env.admin)
    .send(app)
    .await;
    assert_eq!(adjusted.body["interval"], "PT5M", "{}", adjusted.text);
}

// ------------------------------------------------------------------ Application Insights

#[tokio::test]
async fn app_insights_waits_an_hour_then_queries_metrics_and_events() {
    let env = Env::new().await; // App Insights' default delay: 60 minutes
    let app = &env.app;
    let reader = seed_sp(app, 18);
    env.assign(&env.component_id, READER, &reader.object_id)
        .await;
    let seeded = env
        .seed_app(
            "requests",
            &json!([
                {"timestamp": env.stamp(30), "name": "GET /", "success": "True", "resultCode": "200", "duration": 12.5, "itemId": "00000000-0000-0000-0000-00000000000a", "operation_Id": "op1"},
                {"timestamp": env.stamp(20), "name": "GET /cart", "success": "False", "resultCode": "500", "duration": 40.0, "itemId": "00000000-0000-0000-0000-00000000000b"}
            ]),
        )
        .await;
    assert_eq!(seeded.status, StatusCode::OK, "{}", seeded.text);
    env.seed_app("traces", &json!([{"message": "hello", "severityLevel": 1}]))
        .await;
    let token = reader.token(app, AI_SCOPE).await;
    let q =
        json!({"query": "requests | summarize n = count(), failed = countif(success == 'False')"});
    let path = format!("/v1/apps/{}/query", env.app_id);
    let before = Req::new("POST", &path)
        .token(&token)
        .json(&q)
        .send(app)
        .await;
    assert_eq!(before.status, StatusCode::FORBIDDEN);
    assert_eq!(before.body["error"]["code"], "InsufficientAccessError");
    app.emu.advance_clock(Duration::from_secs(600));
    let still = Req::new("POST", &path)
        .token(&token)
        .json(&q)
        .send(app)
        .await;
    assert_eq!(
        still.status,
        StatusCode::FORBIDDEN,
        "ten minutes are not enough"
    );
    app.emu.advance_clock(Duration::from_secs(3000));
    // An hour later the first token has expired too.
    let token = reader.token(app, AI_SCOPE).await;
    let after = Req::new("POST", &path)
        .token(&token)
        .json(&q)
        .send(app)
        .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert_eq!(after.body["tables"][0]["rows"], json!([[2, 1]]));
    // Every classic table exists, empty or not, with its classic columns.
    let empty = Req::new("POST", &path)
        .token(&token)
        .json(&json!({"query": "pageViews | take 1"}))
        .send(app)
        .await;
    assert_eq!(empty.body["tables"][0]["rows"], json!([]));
    assert!(
        empty.body["tables"][0]["columns"]
            .as_array()
            .is_some_and(|c| c.len() > 20)
    );
    // The seeded rows got what the pipeline fills in.
    let filled = Req::new("POST", &path)
        .token(&token)
        .json(&json!({"query": "traces | project itemType, itemCount, appId, appName"}))
        .send(app)
        .await;
    assert_eq!(
        filled.body["tables"][0]["rows"],
        json!([["trace", 1, env.app_id, "web"]])
    );
    // Metrics: the default 12 hours, then with an interval.
    let metric = |path: String| {
        let token = token.clone();
        async move { Req::new("GET", path).token(&token).send(app).await }
    };
    let count = metric(format!("/v1/apps/{}/metrics/requests/count", env.app_id)).await;
    assert_eq!(count.status, StatusCode::OK, "{}", count.text);
    assert_eq!(count.body["value"]["requests/count"], json!({"sum": 2.0}));
    let failed = metric(format!(
        "/v1/apps/{}/metrics/requests%2Ffailed?timespan=PT2H",
        env.app_id
    ))
    .await;
    assert_eq!(failed.body["value"]["requests/failed"], json!({"sum": 1.0}));
    let duration = metric(format!(
        "/v1/apps/{}/metrics/requests/duration?timespan=PT2H&interval=PT1H&aggregation=avg,max",
        env.app_id
    ))
    .await;
    insta::assert_json_snapshot!("app_insights_metric", scrub(&duration.body));
    // Events, newest first, with the 12-hour notice when no timespan is given.
    let events = metric(format!("/v1/apps/{}/events/requests?$top=1", env.app_id)).await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text);
    insta::assert_json_snapshot!("app_insights_events", scrub(&events.body));
    let by_id = metric(format!(
        "/v1/apps/{}/events/requests/00000000-0000-0000-0000-00000000000a",
        env.app_id
    ))
    .await;
    assert_eq!(by_id.body["value"][0]["request"]["name"], "GET /");
    assert!(by_id.body.get("@ai.messages").is_none());
    let all = metric(format!(
        "/v1/apps/{}/events/$all?timespan=P1D&$orderby=timestamp%20asc",
        env.app_id
    ))
    .await;
    let types: Vec<&str> = all.body["value"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(types, ["request", "request", "trace"]);
}

#[tokio::test]
async fn app_insights_answers_its_error_rows() {
    let env = Env::immediate().await;
    let app = &env.app;
    let reader = seed_sp(app, 19);
    env.assign(&env.component_id, READER, &reader.object_id)
        .await;
    let token = reader.token(app, AI_SCOPE).await;
    let la = reader.token(app, LA_SCOPE).await;
    let stranger = seed_sp(app, 20).token(app, AI_SCOPE).await;
    let a = &env.app_id;
    let mut shapes = Map::new();
    for (name, method, path, tok) in [
        (
            "no_token",
            "GET",
            format!("/v1/apps/{a}/query?query=requests"),
            None,
        ),
        (
            "wrong_audience",
            "GET",
            format!("/v1/apps/{a}/query?query=requests"),
            Some(&la),
        ),
        (
            "no_role",
            "GET",
            format!("/v1/apps/{a}/query?query=requests"),
            Some(&stranger),
        ),
        (
            "unknown_app",
            "GET",
            format!("/v1/apps/{}/query?query=requests", Uuid::nil()),
            Some(&token),
        ),
        (
            "app_not_guid",
            "GET",
            "/v1/apps/DEMO_APP/query?query=requests".into(),
            Some(&token),
        ),
        (
            "syntax_error",
            "GET",
            format!("/v1/apps/{a}/query?query=requests%20%7C%7C"),
            Some(&token),
        ),
        (
            "unknown_metric",
            "GET",
            format!("/v1/apps/{a}/metrics/requests/nope"),
            Some(&token),
        ),
        (
            "bad_aggregation",
            "GET",
            format!("/v1/apps/{a}/metrics/users/count?aggregation=sum"),
            Some(&token),
        ),
        (
            "segment",
            "GET",
            format!("/v1/apps/{a}/metrics/requests/count?segment=request/name"),
            Some(&token),
        ),
        (
            "bad_interval",
            "GET",
            format!("/v1/apps/{a}/metrics/requests/count?interval=PT1S"),
            Some(&token),
        ),
        (
            "unknown_event_type",
            "GET",
            format!("/v1/apps/{a}/events/nope"),
            Some(&token),
        ),
        (
            "event_filter",
            "GET",
            format!("/v1/apps/{a}/events/requests?$filter=x"),
            Some(&token),
        ),
        (
            "bad_top",
            "GET",
            format!("/v1/apps/{a}/events/requests?$top=-1"),
            Some(&token),
        ),
        (
            "metrics_post",
            "POST",
            format!("/v1/apps/{a}/metrics/requests/count"),
            Some(&token),
        ),
        (
            "event_orderby",
            "GET",
            format!("/v1/apps/{a}/events/requests?$orderby=name"),
            Some(&token),
        ),
        (
            "event_timespan",
            "GET",
            format!("/v1/apps/{a}/events/requests?timespan=soon"),
            Some(&token),
        ),
        (
            "metric_timespan",
            "GET",
            format!("/v1/apps/{a}/metrics/requests/count?timespan=soon"),
            Some(&token),
        ),
        (
            "metric_too_many_intervals",
            "GET",
            format!("/v1/apps/{a}/metrics/requests/count?timespan=P30D&interval=PT1M"),
            Some(&token),
        ),
        (
            "query_wrong_method",
            "DELETE",
            format!("/v1/apps/{a}/query"),
            Some(&token),
        ),
        (
            "events_wrong_method",
            "POST",
            format!("/v1/apps/{a}/events/requests"),
            Some(&token),
        ),
        (
            "workspaces",
            "POST",
            format!("/v1/apps/{a}/query"),
            Some(&token),
        ),
    ] {
        let mut req = Req::new(method, path);
        if let Some(t) = tok {
            req = req.token(t);
        }
        if name == "workspaces" {
            req = req.json(&json!({"query": "requests", "workspaces": ["x"]}));
        }
        shapes.insert(name.into(), shape(&req.send(app).await));
    }
    insta::assert_json_snapshot!("app_insights_errors", shapes);
}

// ------------------------------------------------------------------ control API

#[tokio::test]
async fn seeding_shortcuts_check_their_input_and_reset_clears_the_data() {
    let env = Env::immediate().await;
    let app = &env.app;
    let mut shapes = Map::new();
    let post = |path: String, body: &'static str| async move {
        Req::new("POST", path)
            .raw(Some("application/json"), body)
            .send(app)
            .await
    };
    let ws = |t: &str| {
        format!(
            "/_emulator/monitor/workspaces/{}/tables/{t}",
            env.customer_id
        )
    };
    let ai = |t: &str| format!("/_emulator/monitor/apps/{}/tables/{t}", env.app_id);
    for (name, path, body) in [
        (
            "unknown_workspace",
            format!("/_emulator/monitor/workspaces/{}/tables/T", Uuid::nil()),
            "[]",
        ),
        ("bad_table_name", ws("1bad"), "[]"),
        ("not_json", ws("T"), "{"),
        ("not_rows", ws("T"), "5"),
        ("row_not_object", ws("T"), "[1]"),
        (
            "bad_column_type",
            ws("T"),
            r#"{"columns":[{"name":"x","type":"float"}],"rows":[]}"#,
        ),
        (
            "unknown_app",
            format!("/_emulator/monitor/apps/{}/tables/requests", Uuid::nil()),
            "[]",
        ),
        ("not_an_ai_table", ai("Orders"), "[]"),
        ("ai_columns", ai("requests"), r#"{"columns":[],"rows":[]}"#),
        (
            "ai_type_mismatch",
            ai("requests"),
            r#"[{"duration":"slow"}]"#,
        ),
    ] {
        shapes.insert(name.into(), shape(&post(path, body).await));
    }
    let too_many = format!("[{}{{}}]", "{},".repeat(200_000));
    let a = Req::new("POST", ws("T"))
        .raw(Some("application/json"), too_many)
        .send(app)
        .await;
    shapes.insert("too_many_rows".into(), shape(&a));
    let first = post(ws("T"), r#"[{"n": 1}]"#).await;
    assert_eq!(first.status, StatusCode::OK);
    shapes.insert(
        "type_mismatch_with_existing".into(),
        shape(&post(ws("T"), r#"[{"n": "one"}]"#).await),
    );
    insta::assert_json_snapshot!("seeding_errors", shapes);
    let reset = Req::new("POST", "/_emulator/reset").send(app).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert!(!test_support::has_workspace_data(
        &app.emu,
        &env.customer_id.parse().expect("guid")
    ));
}

// ------------------------------------------------------------------ real clients

/// azure-monitor-ingestion uploads (gzip) and azure-monitor-query reads logs, metrics,
/// metric namespaces and definitions, against the binary over HTTPS
/// (`clients/python/tests/test_azure_monitor.py`, through the pytest fixture).
#[tokio::test]
async fn azure_monitor_python_clients_ingest_and_query() {
    let Some(python) = real_client("monitor::azure_monitor_python_clients_ingest_and_query") else {
        return;
    };
    run_pytest(&python, "test_azure_monitor.py").await;
}

/// The Azure SDK for Python (`clients/python/tests/test_sdk_flow.py`): azure-mgmt-resource
/// creates a group and a workspace, Graph REST registers an app, azure-mgmt-authorization
/// grants it Log Analytics Reader, and azure-monitor-query's LogsQueryClient is refused until
/// the clock passes the propagation delay, then reads the seeded row.
#[tokio::test]
async fn azure_sdk_for_python_grants_log_analytics_access_that_propagates() {
    let Some(python) =
        real_client("monitor::azure_sdk_for_python_grants_log_analytics_access_that_propagates")
    else {
        return;
    };
    run_pytest(&python, "test_sdk_flow.py").await;
}

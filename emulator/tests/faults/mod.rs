//! Fault injection: each fault kind, the seeded sequence, expiry, route patterns, the
//! control API, `--faults FILE`, and the client crate's retries against injected faults.

use std::time::{Duration, Instant};

use entra_client::{AzureClient, ClientSecret, ClientSecretCredential, Cloud, RetryPolicy};
use entra_emulator::Emulator;
use entra_emulator::faults::{FaultKind, FaultSpec, Service};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{RunningBinary, TestApp};

impl TestApp {
    /// Installs a rule through the control API; answers its id.
    async fn add_fault(&self, rule: Value) -> u64 {
        let r = self
            .http
            .post(self.url("/_emulator/faults"))
            .json(&rule)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let body: Value = r.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_u64().expect("id")
    }

    async fn fault_rules(&self) -> Vec<Value> {
        let (status, body) = self.get_json("/_emulator/faults").await;
        assert_eq!(status, StatusCode::OK);
        body["rules"].as_array().expect("rules").clone()
    }

    async fn clear_faults(&self) {
        let r = self
            .http
            .delete(self.url("/_emulator/faults"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    fn discovery_path(&self) -> String {
        format!(
            "/{}/v2.0/.well-known/openid-configuration",
            self.emu.tenant_id()
        )
    }

    /// Statuses of `n` sequential discovery requests (cheap, unauthenticated, Entra).
    async fn discovery_statuses(&self, n: usize) -> Vec<u16> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (status, _) = self.get_json(&self.discovery_path()).await;
            out.push(status.as_u16());
        }
        out
    }
}

/// `GET /_emulator/faults` of the emulator at `base`.
async fn rules_of(http: &reqwest::Client, base: &str) -> Value {
    http.get(format!("{base}/_emulator/faults"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("header {name} in {headers:?}"))
        .to_str()
        .expect("ascii")
}

#[tokio::test]
async fn graph_throttle_answers_429_in_graphs_body_with_retry_after() {
    let app = TestApp::new().await;
    let token = app.admin_graph_token().await;
    let id = app
        .add_fault(json!({"service": "graph", "fault": "throttle", "retryAfter": 2}))
        .await;
    let (status, headers, body) = app
        .call(Method::GET, "/v1.0/applications", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&headers, "retry-after"), "2");
    assert!(
        headers.get("retry-after-ms").is_none(),
        "whole seconds only"
    );
    assert_eq!(header(&headers, "x-emulator-fault-rule"), id.to_string());
    assert_eq!(body["error"]["code"], "TooManyRequests");
    let inner = &body["error"]["innerError"];
    assert_eq!(
        inner["request-id"].as_str(),
        Some(header(&headers, "request-id"))
    );
    assert!(
        inner["date"].as_str().is_some_and(|d| d.len() == 19),
        "{inner}"
    );
    // Other services are untouched.
    let (status, _) = app
        .admin_token_v2("https://management.azure.com/.default")
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn every_service_answers_faults_in_its_own_envelope() {
    let app = TestApp::new().await;
    let s = app.emu.subscription_id();
    let tenant = app.emu.tenant_id();
    let token_path = format!("/{tenant}/oauth2/v2.0/token");
    let metrics_path =
        format!("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Web/sites/x/metrics");
    let group_path = format!("/subscriptions/{s}/resourceGroups/rg?api-version=2022-09-01");
    let cases: [(&str, &str, Method, &str, u16); 9] = [
        ("entra", "throttle", Method::POST, &token_path, 429),
        ("entra", "internalError", Method::POST, &token_path, 500),
        ("arm", "throttle", Method::GET, &group_path, 429),
        (
            "arm",
            "throttle",
            Method::PUT,
            "/tenants?api-version=2022-12-01",
            429,
        ),
        ("arm", "serviceUnavailable", Method::GET, &group_path, 503),
        (
            "logs",
            "throttle",
            Method::POST,
            "/v1/workspaces/w/query",
            429,
        ),
        (
            "appinsights",
            "serviceUnavailable",
            Method::POST,
            "/v1/apps/a/query",
            503,
        ),
        ("metrics", "internalError", Method::POST, &metrics_path, 500),
        (
            "graph",
            "serviceUnavailable",
            Method::POST,
            "/v1.0/applications",
            503,
        ),
    ];
    for (service, fault, method, path, status) in cases {
        app.clear_faults().await;
        app.add_fault(json!({"service": service, "fault": fault}))
            .await;
        let (got, headers, body) = app.call(method.clone(), path, None, None).await;
        let case = format!("{service} {fault} {method} {path}: {body}");
        assert_eq!(got.as_u16(), status, "{case}");
        let retry_after = headers
            .get("retry-after")
            .map(|v| v.to_str().expect("ascii"));
        match (service, fault) {
            ("entra", _) => {
                let code = body["error_codes"][0].as_u64().expect("code");
                let desc = body["error_description"].as_str().expect("desc");
                assert!(desc.starts_with(&format!("AADSTS{code}: ")), "{case}");
                assert!(desc.contains("\r\nTrace ID: "), "{case}");
                let error = if fault == "throttle" {
                    // MSAL documents 60 seconds for client-credentials throttling.
                    assert_eq!(retry_after, Some("60"), "{case}");
                    "temporarily_unavailable"
                } else {
                    assert_eq!(retry_after, None, "{case}");
                    "server_error"
                };
                assert_eq!(body["error"], error, "{case}");
            }
            ("arm", "throttle") => {
                assert_eq!(retry_after, Some("5"), "{case}");
                if path.starts_with("/subscriptions") {
                    assert_eq!(body["error"]["code"], "SubscriptionRequestsThrottled");
                    let message = body["error"]["message"].as_str().expect("message");
                    assert!(
                        message.starts_with(&format!(
                            "Number of read requests for subscription '{s}'"
                        )),
                        "{case}"
                    );
                    assert!(
                        message.ends_with("Please try again after '5' seconds."),
                        "{case}"
                    );
                    assert_eq!(
                        header(&headers, "x-ms-ratelimit-remaining-subscription-reads"),
                        "0"
                    );
                } else {
                    assert_eq!(body["error"]["code"], "TenantRequestsThrottled");
                    assert_eq!(
                        header(&headers, "x-ms-ratelimit-remaining-tenant-writes"),
                        "0"
                    );
                }
                header(&headers, "x-ms-correlation-request-id");
            }
            ("arm", _) => {
                assert_eq!(body["error"]["code"], "ServiceUnavailable", "{case}");
                header(&headers, "x-ms-request-id");
            }
            ("logs" | "appinsights", _) => {
                let keys: Vec<&String> = body["error"].as_object().expect("error").keys().collect();
                assert_eq!(keys, ["message", "code", "correlationId"], "{case}");
                let code = if fault == "throttle" {
                    "ThrottledError"
                } else {
                    "ServiceUnavailableError"
                };
                assert_eq!(body["error"]["code"], code, "{case}");
                assert_eq!(header(&headers, "access-control-allow-origin"), "*");
            }
            ("metrics", _) => assert_eq!(body["error"]["code"], "InternalServerError", "{case}"),
            ("graph", _) => {
                assert_eq!(body["error"]["code"], "serviceNotAvailable", "{case}");
                assert!(
                    body["error"]["innerError"]["request-id"].is_string(),
                    "{case}"
                );
                assert_eq!(retry_after, None, "503 names no wait unless the rule does");
            }
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn sub_second_retry_after_also_sends_the_millisecond_headers() {
    let app = TestApp::new().await;
    app.add_fault(json!({"fault": "serviceUnavailable", "retryAfter": "250ms"}))
        .await;
    let (status, headers, _) = app
        .call(Method::GET, "/v1.0/applications", None, None)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&headers, "retry-after"), "1");
    assert_eq!(header(&headers, "retry-after-ms"), "250");
    assert_eq!(header(&headers, "x-ms-retry-after-ms"), "250");
}

#[tokio::test]
async fn latency_delays_the_request_which_then_succeeds() {
    let app = TestApp::new().await;
    let path = app.discovery_path();
    app.add_fault(json!({"path": path, "fault": "latency", "latency": "40ms", "count": 1}))
        .await;
    let started = Instant::now();
    let (status, body) = app.get_json(&path).await;
    // A lower bound only: the rule sleeps at least this long before serving.
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert_eq!(status, StatusCode::OK);
    assert!(body["token_endpoint"].is_string(), "{body}");
    let rules = app.fault_rules().await;
    assert_eq!(rules[0]["fired"], 1);
    assert_eq!(rules[0]["latency"], "40ms");
}

#[tokio::test]
async fn drop_closes_the_connection_without_an_answer() {
    let app = TestApp::new().await;
    let path = app.discovery_path();
    app.add_fault(json!({"path": path, "fault": "drop", "count": 1}))
        .await;
    let err = app
        .http
        .get(app.url(&path))
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_status() && err.status().is_none(), "{err:?}");
    // The next request (rule spent) is answered normally, on a new connection.
    let (status, _) = app.get_json(&path).await;
    assert_eq!(status, StatusCode::OK);
    // Over a raw socket: the server closes without writing a byte.
    app.add_fault(json!({"path": path, "fault": "drop", "count": 1}))
        .await;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = app.emu.url().trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut received))
        .await
        .expect("the server closes the connection");
    assert!(read.is_ok_and(|n| n == 0), "{received:?}");
}

#[tokio::test]
async fn same_seed_same_sequence_and_rates_zero_and_one() {
    let app = TestApp::new().await;
    let rule = |seed: u64, rate: f64| json!({"service": "entra", "fault": "serviceUnavailable", "rate": rate, "seed": seed});
    app.add_fault(rule(42, 0.5)).await;
    let first = app.discovery_statuses(40).await;
    app.clear_faults().await;
    app.add_fault(rule(42, 0.5)).await;
    let again = app.discovery_statuses(40).await;
    assert_eq!(first, again, "same seed, same sequence");
    let fired = first.iter().filter(|s| **s == 503).count();
    assert!(fired > 0 && fired < 40, "{first:?}");
    assert!(first.iter().all(|s| *s == 503 || *s == 200), "{first:?}");
    let rules = app.fault_rules().await;
    assert_eq!(
        (rules[0]["matched"].as_u64(), rules[0]["fired"].as_u64()),
        (Some(40), Some(fired as u64))
    );
    app.clear_faults().await;
    app.add_fault(rule(43, 0.5)).await;
    assert_ne!(
        app.discovery_statuses(40).await,
        first,
        "another seed, another sequence"
    );
    app.clear_faults().await;
    app.add_fault(rule(1, 0.0)).await;
    assert!(app.discovery_statuses(20).await.iter().all(|s| *s == 200));
    app.clear_faults().await;
    app.add_fault(rule(1, 1.0)).await;
    assert!(app.discovery_statuses(20).await.iter().all(|s| *s == 503));
}

#[tokio::test]
async fn rules_expire_after_their_count_or_their_duration_on_the_emulator_clock() {
    let app = TestApp::new().await;
    app.add_fault(json!({"service": "entra", "fault": "internalError", "count": 3}))
        .await;
    assert_eq!(app.discovery_statuses(5).await, [500, 500, 500, 200, 200]);
    let rule = &app.fault_rules().await[0];
    assert_eq!(
        (rule["fired"].as_u64(), rule["remaining"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(rule["active"], false);
    app.clear_faults().await;
    app.add_fault(json!({"service": "entra", "fault": "internalError", "duration": "1h"}))
        .await;
    assert_eq!(app.discovery_statuses(2).await, [500, 500]);
    assert_eq!(app.fault_rules().await[0]["active"], true);
    app.emu.advance_clock(Duration::from_secs(3601));
    assert_eq!(app.discovery_statuses(2).await, [200, 200]);
    let rule = &app.fault_rules().await[0];
    assert_eq!(rule["active"], false);
    assert_eq!(rule["fired"], 2);
}

#[tokio::test]
async fn path_globs_and_methods_select_requests_and_the_control_api_is_never_faulted() {
    let app = TestApp::new().await;
    let token = app.admin_graph_token().await;
    let (status, _, created) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(&token),
            Some(json!({"displayName": "a"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let one = format!("/v1.0/applications/{}", created["id"].as_str().expect("id"));
    app.add_fault(json!({"path": "/v1.0/applications/*", "method": "get", "fault": "throttle"}))
        .await;
    let get = |path: String| {
        let (app, token) = (&app, &token);
        async move { app.call(Method::GET, &path, Some(token), None).await.0 }
    };
    assert_eq!(get(one.clone()).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        get("/v1.0/applications".into()).await,
        StatusCode::OK,
        "* stops at /"
    );
    assert_eq!(get("//v1.0//applications".into()).await, StatusCode::OK);
    assert_eq!(
        get(format!("/{one}")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "slashes collapse"
    );
    let (status, _, _) = app
        .call(
            Method::PATCH,
            &one,
            Some(&token),
            Some(json!({"displayName": "b"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "PATCH is not GET");
    // `**` crosses segments; the control API stays reachable under a rule on everything.
    app.add_fault(json!({"service": "all", "path": "/**", "fault": "internalError"}))
        .await;
    assert_eq!(
        get("/v1.0/applications".into()).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let (status, _) = app.get_json("/_emulator/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.fault_rules().await.len(), 2);
}

/// A glob with many `**` used to be matched by backtracking, exponential in the path's
/// length (issue 15: 1.5 s per request on a 60-byte path). Compiled globs answer in linear
/// time; the test does not time them. It runs the binary, so that a matcher that spins
/// (the backtracking one does not return on these paths) spins in another process: the
/// client's deadline only turns that hang into a failure.
#[tokio::test]
async fn a_glob_built_to_backtrack_matches_long_paths_at_once() {
    let bin = RunningBinary::start_plain(&[]).await;
    let base = bin.url().to_owned();
    let guarded = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let r = guarded
        .post(format!("{base}/_emulator/faults"))
        .json(&json!({"path": "/**a**a**a**a**a**a**b", "fault": "serviceUnavailable"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::CREATED);
    let status = |path: String| {
        let (guarded, url) = (&guarded, format!("{base}{path}"));
        async move {
            let r = guarded
                .get(url)
                .send()
                .await
                .expect("an answer, not a hang");
            r.status()
        }
    };
    let tenant = bin.info["tenant_id"].as_str().expect("tenant").to_owned();
    let long = "a".repeat(200);
    // No `b` at the end: the rule does not match, and discovery answers normally.
    assert_eq!(
        status(format!(
            "/{tenant}/v2.0/.well-known/openid-configuration?{long}"
        ))
        .await,
        StatusCode::OK,
        "the query is not part of the path"
    );
    assert_ne!(
        status(format!("/v1.0/{long}")).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "Graph's own answer"
    );
    // Six a's, then a b at the very end, across segments: the rule fires.
    assert_eq!(
        status(format!("/v1.0/{long}/a/b")).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let rules = rules_of(&guarded, &base).await;
    assert_eq!(rules["rules"][0]["fired"], 1, "{rules}");
}

#[tokio::test]
async fn invalid_rules_get_a_400_that_says_why() {
    let app = TestApp::new().await;
    let cases = [
        (
            json!({"fault": "throttle", "rate": 1.5}),
            "rate must be between 0 and 1",
        ),
        (json!({"fault": "latency"}), "needs \"latency\""),
        (json!({"fault": "explode"}), "unknown variant `explode`"),
        (
            json!({"fault": "drop", "service": "storage"}),
            "unknown variant `storage`",
        ),
        (
            json!({"fault": "drop", "sevrice": "graph"}),
            "unknown field `sevrice`",
        ),
        (
            json!({"fault": "drop", "method": "G T"}),
            "not an HTTP method",
        ),
        (
            json!({"fault": "drop", "path": "/_emulator/health"}),
            "never faulted",
        ),
        (
            json!({"fault": "throttle", "retryAfter": "soon"}),
            "not a duration",
        ),
        (
            json!({"fault": "drop", "count": 0}),
            "count must be at least 1",
        ),
    ];
    for (rule, expected) in cases {
        let r = app
            .http
            .post(app.url("/_emulator/faults"))
            .json(&rule)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{rule}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "InvalidFaultRule", "{body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains(expected), "{rule}: {message}");
    }
    assert!(app.fault_rules().await.is_empty());
    let r = app
        .http
        .delete(app.url("/_emulator/faults/99"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rules_are_listed_deleted_one_by_one_and_reset_restores_the_start_up_ones() {
    let app = TestApp::with(
        Emulator::builder().fault(
            FaultSpec::new(FaultKind::ServiceUnavailable)
                .service(Service::Entra)
                .count(1),
        ),
    )
    .await;
    let added = app
        .add_fault(json!({"service": "graph", "fault": "drop", "seed": 5}))
        .await;
    let rules = app.fault_rules().await;
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["fault"], "serviceUnavailable");
    assert_eq!(rules[1]["id"], added);
    assert_eq!(rules[1]["seed"], 5);
    assert_eq!(app.discovery_statuses(2).await, [503, 200]);
    let r = app
        .http
        .delete(app.url(&format!("/_emulator/faults/{added}")))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.fault_rules().await.len(), 1);
    app.add_fault(json!({"fault": "drop"})).await;
    let r = app
        .http
        .post(app.url("/_emulator/reset"))
        .send()
        .await
        .expect("request");
    assert!(r.status().is_success());
    let rules = app.fault_rules().await;
    assert_eq!(
        rules.len(),
        1,
        "API rules gone, start-up rule back: {rules:?}"
    );
    assert_eq!(rules[0]["fired"], 0, "with fresh counters");
    assert_eq!(app.discovery_statuses(2).await, [503, 200]);
}

#[tokio::test]
async fn the_binary_loads_rules_from_a_file_and_refuses_a_bad_one() {
    let dir = std::env::temp_dir().join(format!("entra-faults-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("faults.json");
    std::fs::write(
        &good,
        r#"{"rules": [{"service": "graph", "fault": "throttle", "retryAfter": "3s", "count": 1}]}"#,
    )
    .expect("write");
    let bin = RunningBinary::spawn(
        &["--plain-http", "--faults", good.to_str().expect("utf-8")],
        &[],
    )
    .await;
    let base = bin.info["base_url"].as_str().expect("base").to_owned();
    let http = reqwest::Client::new();
    let rules = rules_of(&http, &base).await;
    assert_eq!(rules["rules"][0]["retryAfter"], "3s", "{rules}");
    let r = http
        .get(format!("{base}/v1.0/applications"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(r.headers(), "retry-after"), "3");
    drop(bin);

    // A bad file: a clear message naming the rule, and a non-zero exit before listening.
    let bad = dir.join("bad.json");
    for (content, expected) in [
        (
            r#"[{"fault": "throttle"}, {"fault": "throttle", "rate": 7}]"#,
            "fault rule 2: rate must be between 0 and 1",
        ),
        (r#"[{"fault": "thrtle"}]"#, "unknown variant `thrtle`"),
        ("not json", "cannot parse fault rules"),
    ] {
        std::fs::write(&bad, content).expect("write");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
            .args(["--plain-http", "--bind", "127.0.0.1:0"])
            .env("ENTRA_EMULATOR_FAULTS", &bad)
            .output()
            .await
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            stderr.contains("bad.json") || expected.starts_with("fault rule"),
            "{stderr}"
        );
    }
    let missing = dir.join("missing.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
        .args(["--plain-http", "--bind", "127.0.0.1:0", "--faults"])
        .arg(&missing)
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read fault rules"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The point of the feature: the client's retry policy rides out throttling and 503s.
#[tokio::test]
async fn the_clients_retry_policy_retries_a_429_and_a_503_then_succeeds() {
    let app = TestApp::new().await;
    let cloud = Cloud::emulator(app.emu.url());
    let admin = app.emu.admin();
    let credential = ClientSecretCredential::new(
        &cloud,
        app.emu.tenant_id().to_string(),
        admin.client_id.to_string(),
        ClientSecret::new(admin.client_secret.expose()),
    )
    .expect("credential");
    // Without the Retry-After headers the client would back off 20 s; the timeout below
    // fails the test long before that.
    let policy = RetryPolicy {
        max_retries: 3,
        initial_delay: Duration::from_secs(20),
        max_delay: Duration::from_secs(20),
    };
    let client = AzureClient::with_retry(cloud, credential, policy).expect("client");
    app.add_fault(
        json!({"service": "entra", "fault": "throttle", "retryAfter": "20ms", "count": 1}),
    )
    .await;
    app.add_fault(json!({
        "service": "graph", "method": "POST", "path": "/v1.0/applications",
        "fault": "throttle", "retryAfter": "20ms", "count": 2
    }))
    .await;
    app.add_fault(json!({
        "service": "arm", "method": "GET", "fault": "serviceUnavailable",
        "retryAfter": "20ms", "count": 1
    }))
    .await;
    let work = async {
        let created = client
            .graph()
            .create_application("retried")
            .await
            .expect("created");
        let subs = client.arm().list_subscriptions().await.expect("listed");
        (created, subs)
    };
    let (created, subs) = tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .expect("retries follow Retry-After");
    assert_eq!(created.display_name, "retried");
    assert!(!subs.is_empty());
    let fired: Vec<u64> = app
        .fault_rules()
        .await
        .iter()
        .map(|r| r["fired"].as_u64().expect("fired"))
        .collect();
    assert_eq!(fired, [1, 2, 1], "every fault was met and retried");
    // The two throttled POSTs wrote nothing: exactly one application was created.
    let listed = client
        .graph()
        .list_applications(Some("displayName eq 'retried'"))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);

    // With retries off, the same fault reaches the caller as a 503 error.
    let cloud = Cloud::emulator(app.emu.url());
    let credential = ClientSecretCredential::new(
        &cloud,
        app.emu.tenant_id().to_string(),
        admin.client_id.to_string(),
        ClientSecret::new(admin.client_secret.expose()),
    )
    .expect("credential");
    let strict = AzureClient::with_retry(cloud, credential, RetryPolicy::none()).expect("client");
    strict
        .arm()
        .list_subscriptions()
        .await
        .expect("token and list");
    app.add_fault(json!({"service": "arm", "fault": "serviceUnavailable", "count": 1}))
        .await;
    let err = strict.arm().list_subscriptions().await.expect_err("503");
    let service = err.service_error().expect("a service answer");
    assert_eq!(service.status.as_u16(), 503);
    assert_eq!(service.code.as_deref(), Some("ServiceUnavailable"));
}

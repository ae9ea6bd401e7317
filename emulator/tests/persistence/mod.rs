//! `--data-dir`: state survives restarts (clean and `kill -9`), damaged files stop the start
//! with a clear message, secrets never reach the disk, SIGTERM drains and flushes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::RunningBinary;

const ARM_SCOPE: &str = "https://management.azure.com/.default";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
const LA_SCOPE: &str = "https://api.loganalytics.io/.default";
const METRICS_SCOPE: &str = "https://monitoring.azure.com//.default";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const LOG_ANALYTICS_READER: &str = "73c42c96-874c-492b-b04d-ab87d138a893";
const METRICS_PUBLISHER: &str = "3913510d-42f4-4e42-8a64-420c390055eb";
const V: &str = "api-version=2022-04-01";
const ENV: &[(&str, &str)] = &[("ENTRA_EMULATOR_RBAC_PROPAGATION", "0s")];

fn data_dir() -> PathBuf {
    std::env::temp_dir().join(format!("entra-persist-test-{}", Uuid::new_v4()))
}

async fn start(dir: &Path) -> RunningBinary {
    RunningBinary::spawn_in(dir.to_owned(), &["--plain-http"], ENV).await
}

/// A client of a running binary, with the admin's tokens.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    tenant: String,
    graph: String,
    arm: String,
    sub: String,
}

impl Client {
    pub(crate) async fn new(bin: &RunningBinary) -> Self {
        let mut c = Self {
            http: reqwest::Client::new(),
            base: bin.url().to_owned(),
            tenant: bin.info["tenant_id"].as_str().expect("tenant").to_owned(),
            graph: String::new(),
            arm: String::new(),
            sub: bin.info["subscription_id"]
                .as_str()
                .expect("sub")
                .to_owned(),
        };
        let admin = &bin.info["admin"];
        let (id, secret) = (
            admin["client_id"].as_str().expect("id"),
            admin["client_secret"].as_str().expect("secret"),
        );
        c.graph = c.token(id, secret, GRAPH_SCOPE).await.expect("graph token");
        c.arm = c.token(id, secret, ARM_SCOPE).await.expect("arm token");
        c
    }

    pub(crate) async fn token(
        &self,
        id: &str,
        secret: &str,
        scope: &str,
    ) -> Result<String, String> {
        let r = self
            .http
            .post(format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
                ("scope", scope),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| body.to_string())
    }

    /// A request; `Err` when the connection failed (the process is gone).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await?;
        let status = r.status();
        let text = r.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub(crate) async fn ok(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (status, body) = self.send(method, path, token, body).await.expect("request");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    fn rg(&self, name: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{name}", self.sub)
    }

    fn role(&self, id: &str) -> String {
        format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{id}",
            self.sub
        )
    }

    async fn assign(
        &self,
        scope: &str,
        role: &str,
        principal: &str,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let path = format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{}?{V}",
            Uuid::new_v4()
        );
        let body = json!({"properties": {"roleDefinitionId": self.role(role),
            "principalId": principal, "principalType": "ServicePrincipal"}});
        self.send(Method::PUT, &path, Some(&self.arm), Some(body))
            .await
    }

    /// A resource group with a Log Analytics workspace; its customerId.
    pub(crate) async fn workspace(&self, rg: &str) -> (String, String) {
        let rg = self.rg(rg);
        self.ok(
            Method::PUT,
            &format!("{rg}?api-version=2022-09-01"),
            Some(&self.arm),
            Some(json!({"location": "eastus"})),
        )
        .await;
        let ws = self
            .ok(
                Method::PUT,
                &format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/logs?api-version=2022-10-01"),
                Some(&self.arm),
                Some(json!({"location": "eastus", "properties": {}})),
            )
            .await;
        let id = ws["id"].as_str().expect("id").to_owned();
        let customer = ws["properties"]["customerId"]
            .as_str()
            .expect("customerId")
            .to_owned();
        (id, customer)
    }
}

async fn kill_9(bin: &mut RunningBinary) {
    bin.child.start_kill().expect("SIGKILL");
    bin.child.wait().await.expect("wait");
}

/// Every file under `dir`, read.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_file() {
            out.push((path.clone(), std::fs::read(&path).expect("read")));
        }
    }
    out
}

fn assert_not_on_disk(dir: &Path, secret: &str) {
    let all = files(dir);
    assert!(all.iter().any(|(p, _)| p.ends_with("journal.bin")));
    for (path, bytes) in all {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in {}",
            path.display()
        );
    }
}

/// Everything a client can read back about the state, for comparing across a restart.
async fn observe(c: &Client, app: &str, sp: &str, rg: &str, role: &str, resource: &str) -> Value {
    let get = |path: String, token: String| {
        let c = c.clone();
        async move { c.ok(Method::GET, &path, Some(&token), None).await }
    };
    json!({
        "app": get(format!("/v1.0/applications/{app}"), c.graph.clone()).await,
        "owners": get(format!("/v1.0/applications/{app}/owners"), c.graph.clone()).await,
        "sp": get(format!("/v1.0/servicePrincipals/{sp}"), c.graph.clone()).await,
        "deleted": get("/v1.0/directory/deletedItems/microsoft.graph.application".into(), c.graph.clone()).await,
        "apps": get("/v1.0/applications".into(), c.graph.clone()).await,
        "rg": get(format!("{}?api-version=2022-09-01", c.rg(rg)), c.arm.clone()).await,
        "resource": get(format!("{resource}?api-version=2022-10-01"), c.arm.clone()).await,
        "role": get(format!("{}?{V}", c.role(role)), c.arm.clone()).await,
        "assignments": get(format!("{}/providers/Microsoft.Authorization/roleAssignments?{V}", c.rg(rg)), c.arm.clone()).await,
    })
}

#[tokio::test]
async fn every_kind_of_state_survives_a_clean_restart_and_tokens_stay_valid() {
    let dir = data_dir();
    let bin = start(&dir).await;
    let c = Client::new(&bin).await;
    // Graph: an app with a secret and its service principal; another app deleted.
    let app = c
        .ok(
            Method::POST,
            "/v1.0/applications",
            Some(&c.graph),
            Some(json!({"displayName": "kept", "tags": ["t1"]})),
        )
        .await;
    let (app_oid, app_id) = (
        app["id"].as_str().expect("id"),
        app["appId"].as_str().expect("appId"),
    );
    let secret = c
        .ok(
            Method::POST,
            &format!("/v1.0/applications/{app_oid}/addPassword"),
            Some(&c.graph),
            Some(json!({"passwordCredential": {"displayName": "ci"}})),
        )
        .await["secretText"]
        .as_str()
        .expect("secretText")
        .to_owned();
    let sp = c
        .ok(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(&c.graph),
            Some(json!({"appId": app_id})),
        )
        .await;
    let sp_oid = sp["id"].as_str().expect("id").to_owned();
    let gone = c
        .ok(
            Method::POST,
            "/v1.0/applications",
            Some(&c.graph),
            Some(json!({"displayName": "deleted"})),
        )
        .await;
    let gone_id = gone["id"].as_str().expect("id");
    c.ok(
        Method::DELETE,
        &format!("/v1.0/applications/{gone_id}"),
        Some(&c.graph),
        None,
    )
    .await;
    // ARM: group, workspace, component, custom role, assignments.
    let (ws_id, customer) = c.workspace("keep").await;
    let component = c
        .ok(Method::PUT, &format!("{}/providers/Microsoft.Insights/components/web?api-version=2020-02-02", c.rg("keep")), Some(&c.arm),
            Some(json!({"location": "eastus", "kind": "web", "properties": {"Application_Type": "web"}})))
        .await;
    let component_id = component["id"].as_str().expect("id").to_owned();
    let ai_app = component["properties"]["AppId"]
        .as_str()
        .expect("AppId")
        .to_owned();
    let role_id = Uuid::new_v4().to_string();
    c.ok(
        Method::PUT,
        &format!("{}?{V}", c.role(&role_id)),
        Some(&c.arm),
        Some(json!({"properties": {
        "roleName": "Persisted Reader", "description": "d", "type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.Resources/subscriptions/resourceGroups/read"]}],
        "assignableScopes": [format!("/subscriptions/{}", c.sub)]}})),
    )
    .await;
    let (status, body) = c
        .assign(&c.rg("keep"), READER, &sp_oid)
        .await
        .expect("assign");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = c
        .assign(&c.rg("keep"), &role_id, &sp_oid)
        .await
        .expect("assign");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let admin = bin.info["admin"]["object_id"]
        .as_str()
        .expect("oid")
        .to_owned();
    for (scope, role) in [
        (&ws_id, LOG_ANALYTICS_READER),
        (&component_id, METRICS_PUBLISHER),
        (&component_id, READER),
    ] {
        let (status, body) = c.assign(scope, role, &admin).await.expect("assign");
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Data planes: workspace rows, App Insights rows, a custom metric.
    let rows = c
        .ok(
            Method::POST,
            &format!("/_emulator/monitor/workspaces/{customer}/tables/Kept_CL"),
            None,
            Some(json!([{"Msg": "a", "N": 1}, {"Msg": "b", "N": 2.5}])),
        )
        .await;
    assert_eq!(rows["rowCount"], 2);
    let ai = c
        .ok(Method::POST, &format!("/_emulator/monitor/apps/{ai_app}/tables/requests"), None,
            Some(json!([{"name": "GET /", "success": "True", "resultCode": "200", "duration": 12.5}])))
        .await;
    assert_eq!(ai["rowCount"], 1);
    let admin_id = bin.info["admin"]["client_id"].as_str().expect("id");
    let admin_secret = bin.info["admin"]["client_secret"].as_str().expect("secret");
    let monitoring = c
        .token(admin_id, admin_secret, METRICS_SCOPE)
        .await
        .expect("token");
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("now");
    c.ok(
        Method::POST,
        &format!("{component_id}/metrics"),
        Some(&monitoring),
        Some(json!({"time": now, "data": {"baseData": {
        "metric": "Latency", "namespace": "Perf", "dimNames": ["Host"],
        "series": [{"dimValues": ["h1"], "min": 1.0, "max": 3.0, "sum": 4.0, "count": 2}]}}})),
    )
    .await;
    // The clock, and tokens issued before the restart.
    let clock = c
        .ok(
            Method::POST,
            "/_emulator/clock/advance",
            None,
            Some(json!({"seconds": 600})),
        )
        .await["now"]
        .clone();
    let sp_arm = c.token(app_id, &secret, ARM_SCOPE).await.expect("sp token");
    let la = c
        .token(admin_id, admin_secret, LA_SCOPE)
        .await
        .expect("la token");
    let query = json!({"query": "Kept_CL | order by N asc | project Msg, N"});
    let la_path = format!("/v1/workspaces/{customer}/query");
    let metrics_path = format!(
        "{component_id}/providers/Microsoft.Insights/metrics?api-version=2023-10-01&metricnames=Latency&metricnamespace=Perf&timespan=PT1H&interval=FULL&aggregation=total,count"
    );
    let before = observe(&c, app_oid, &sp_oid, "keep", &role_id, &ws_id).await;
    // The creator's ownership and `createdByAppId` are stored too.
    assert_eq!(before["owners"]["value"].as_array().map(Vec::len), Some(1));
    assert!(before["app"]["createdByAppId"].is_string());
    let before_rows = c
        .ok(Method::POST, &la_path, Some(&la), Some(query.clone()))
        .await;
    let before_metrics = c.ok(Method::GET, &metrics_path, Some(&c.arm), None).await;
    assert_eq!(
        before_rows["tables"][0]["rows"].as_array().map(Vec::len),
        Some(2)
    );
    let log = bin.stop_and_collect_stderr().await;
    assert!(log.contains("state flushed"), "{log}");
    assert_not_on_disk(&dir, &secret);

    let bin = start(&dir).await;
    let c2 = Client {
        base: bin.url().to_owned(),
        ..c.clone()
    };
    // Tokens from the first run (same key, same instance) still work.
    let after = observe(&c2, app_oid, &sp_oid, "keep", &role_id, &ws_id).await;
    assert_eq!(after, before);
    let rg_read = c2
        .send(
            Method::GET,
            &format!("{}?api-version=2022-09-01", c2.rg("keep")),
            Some(&sp_arm),
            None,
        )
        .await
        .expect("get");
    assert_eq!(
        rg_read.0,
        StatusCode::OK,
        "a pre-restart SP token: {}",
        rg_read.1
    );
    assert_eq!(
        c2.ok(Method::POST, &la_path, Some(&la), Some(query)).await,
        before_rows
    );
    let after_metrics = c2.ok(Method::GET, &metrics_path, Some(&c2.arm), None).await;
    let point = |m: &Value| m["value"][0]["timeseries"][0]["data"][0].clone();
    assert_eq!(
        point(&after_metrics)["total"],
        json!(4.0),
        "{after_metrics}"
    );
    assert_eq!(
        point(&after_metrics)["count"],
        point(&before_metrics)["count"]
    );
    let more = c2
        .ok(Method::POST, &format!("/_emulator/monitor/apps/{ai_app}/tables/requests"), None,
            Some(json!([{"name": "GET /b", "success": "True", "resultCode": "200", "duration": 1.0}])))
        .await;
    assert_eq!(more["rowCount"], 2, "the App Insights row survived");
    // The secret (stored hashed) still authenticates; the clock kept its offset.
    c2.token(app_id, &secret, GRAPH_SCOPE)
        .await
        .expect("secret still valid");
    let now = c2.ok(Method::GET, "/_emulator/clock", None, None).await["now"].clone();
    assert!(now.as_str() >= clock.as_str(), "{now} < {clock}");
    // Reset is persisted too.
    c2.ok(Method::POST, "/_emulator/reset", None, None).await;
    drop(bin.stop_and_collect_stderr().await);
    let bin = start(&dir).await;
    let c3 = Client::new(&bin).await;
    let (status, _) = c3
        .send(
            Method::GET,
            &format!("/v1.0/applications/{app_oid}"),
            Some(&c3.graph),
            None,
        )
        .await
        .expect("get");
    assert_eq!(status, StatusCode::NOT_FOUND, "reset survives a restart");
    drop(bin.stop_and_collect_stderr().await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What one writer got acknowledged.
#[derive(Default)]
struct Acked {
    apps: Vec<String>,
    secrets: Vec<(String, String)>,
    sps: Vec<String>,
    assignments: Vec<String>,
    rows: Vec<String>,
}

impl Acked {
    fn count(&self) -> usize {
        self.apps.len()
            + self.secrets.len()
            + self.sps.len()
            + self.assignments.len()
            + self.rows.len()
    }
}

#[tokio::test]
async fn a_providers_registration_state_survives_a_restart() {
    let dir = data_dir();
    let mut bin = start(&dir).await;
    for (verb, state) in [("unregister", "NotRegistered"), ("register", "Registered")] {
        let c = Client::new(&bin).await;
        let provider = |tail: &str| {
            format!(
                "/subscriptions/{}/providers/Microsoft.Web{tail}?api-version=2021-04-01",
                c.sub
            )
        };
        c.ok(
            Method::POST,
            &provider(&format!("/{verb}")),
            Some(&c.arm),
            None,
        )
        .await;
        drop(bin.stop_and_collect_stderr().await);
        bin = start(&dir).await;
        let c = Client::new(&bin).await;
        let read = c.ok(Method::GET, &provider(""), Some(&c.arm), None).await;
        assert_eq!(
            read["registrationState"], state,
            "after {verb} and a restart"
        );
    }
    drop(bin.stop_and_collect_stderr().await);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn certificates_and_federated_credentials_survive_a_restart_and_still_sign_in() {
    use crate::support::certs;
    let dir = data_dir();
    let bin = start(&dir).await;
    let c = Client::new(&bin).await;
    let cert = certs::long_lived(0, "persisted");
    let app = c
        .ok(
            Method::POST,
            "/v1.0/applications",
            Some(&c.graph),
            Some(json!({"displayName": "certs", "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": cert.base64()}]})),
        )
        .await;
    let (oid, app_id) = (
        app["id"].as_str().expect("id").to_owned(),
        app["appId"].as_str().expect("appId").to_owned(),
    );
    c.ok(
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(&c.graph),
        Some(json!({"appId": app_id})),
    )
    .await;
    let fic = json!({"name": "gha", "issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]});
    c.ok(
        Method::POST,
        &format!("/v1.0/applications/{oid}/federatedIdentityCredentials"),
        Some(&c.graph),
        Some(fic),
    )
    .await;
    let before = c
        .ok(
            Method::GET,
            &format!("/v1.0/applications/{oid}"),
            Some(&c.graph),
            None,
        )
        .await;
    drop(bin.stop_and_collect_stderr().await);
    let bin = start(&dir).await;
    let c = Client::new(&bin).await;
    let after = c
        .ok(
            Method::GET,
            &format!("/v1.0/applications/{oid}"),
            Some(&c.graph),
            None,
        )
        .await;
    assert_eq!(after["keyCredentials"], before["keyCredentials"]);
    let fics = c
        .ok(
            Method::GET,
            &format!("/v1.0/applications/{oid}/federatedIdentityCredentials"),
            Some(&c.graph),
            None,
        )
        .await;
    assert_eq!(fics["value"][0]["subject"], "repo:o/r:ref:refs/heads/main");
    // The certificate still verifies assertions.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let assertion = cert.sign(
        &json!({"alg": "RS256", "x5t": cert.x5t()}),
        &json!({"aud": format!("{}/{}/oauth2/v2.0/token", c.base, c.tenant), "iss": app_id, "sub": app_id, "exp": now + 600}),
        false,
    );
    let r = c
        .http
        .post(format!("{}/{}/oauth2/v2.0/token", c.base, c.tenant))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
            ("scope", GRAPH_SCOPE),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), StatusCode::OK);
    drop(bin.stop_and_collect_stderr().await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Creates app, secret, service principal, assignment and a row in a loop until the
/// emulator goes away, recording each acknowledged write.
async fn writer(c: Client, customer: String, stop: Arc<AtomicBool>, task: usize) -> Acked {
    let mut acked = Acked::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let name = format!("load-{task}-{i}");
        let Ok((s, app)) = c
            .send(
                Method::POST,
                "/v1.0/applications",
                Some(&c.graph),
                Some(json!({"displayName": name})),
            )
            .await
        else {
            break;
        };
        if !s.is_success() {
            break;
        }
        let (oid, app_id) = (
            app["id"].as_str().unwrap_or_default().to_owned(),
            app["appId"].as_str().unwrap_or_default().to_owned(),
        );
        acked.apps.push(oid.clone());
        let Ok((s, cred)) = c
            .send(
                Method::POST,
                &format!("/v1.0/applications/{oid}/addPassword"),
                Some(&c.graph),
                Some(json!({})),
            )
            .await
        else {
            break;
        };
        if !s.is_success() {
            break;
        }
        acked.secrets.push((
            oid.clone(),
            cred["keyId"].as_str().unwrap_or_default().to_owned(),
        ));
        let Ok((s, sp)) = c
            .send(
                Method::POST,
                "/v1.0/servicePrincipals",
                Some(&c.graph),
                Some(json!({"appId": app_id})),
            )
            .await
        else {
            break;
        };
        if !s.is_success() {
            break;
        }
        let sp_id = sp["id"].as_str().unwrap_or_default().to_owned();
        acked.sps.push(sp_id.clone());
        let Ok((s, a)) = c.assign(&c.rg("load"), READER, &sp_id).await else {
            break;
        };
        if !s.is_success() {
            break;
        }
        acked
            .assignments
            .push(a["id"].as_str().unwrap_or_default().to_owned());
        let Ok((s, _)) = c
            .send(
                Method::POST,
                &format!("/_emulator/monitor/workspaces/{customer}/tables/Load_CL"),
                None,
                Some(json!([{"Id": name}])),
            )
            .await
        else {
            break;
        };
        if !s.is_success() {
            break;
        }
        acked.rows.push(name);
    }
    acked
}

#[tokio::test]
async fn writes_acknowledged_before_kill_9_are_never_lost() {
    const CYCLES: usize = 3;
    const WRITERS: usize = 4;
    let dir = data_dir();
    let mut bin = start(&dir).await;
    let c = Client::new(&bin).await;
    let (ws_id, customer) = c.workspace("load").await;
    let admin = bin.info["admin"]["object_id"]
        .as_str()
        .expect("oid")
        .to_owned();
    assert!(
        c.assign(&ws_id, LOG_ANALYTICS_READER, &admin)
            .await
            .expect("assign")
            .0
            .is_success()
    );
    let mut all = Acked::default();
    let mut restarts = 0;
    for cycle in 0..CYCLES {
        let c = Client::new(&bin).await;
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|t| {
                tokio::spawn(writer(
                    c.clone(),
                    customer.clone(),
                    stop.clone(),
                    cycle * 100 + t,
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(600 + 150 * cycle as u64)).await;
        kill_9(&mut bin).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let a = t.await.expect("writer");
            all.apps.extend(a.apps);
            all.secrets.extend(a.secrets);
            all.sps.extend(a.sps);
            all.assignments.extend(a.assignments);
            all.rows.extend(a.rows);
        }
        bin = start(&dir).await;
        restarts += 1;
    }
    // Every acknowledged write is there after the last restart.
    let c = Client::new(&bin).await;
    let mut lost = Vec::new();
    for id in &all.apps {
        let (s, app) = c
            .send(
                Method::GET,
                &format!("/v1.0/applications/{id}"),
                Some(&c.graph),
                None,
            )
            .await
            .expect("get");
        if s != StatusCode::OK {
            lost.push(format!("app {id}"));
            continue;
        }
        let keys: Vec<&str> = app["passwordCredentials"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["keyId"].as_str())
            .collect();
        for (_, key) in all.secrets.iter().filter(|(a, _)| a == id) {
            if !keys.contains(&key.as_str()) {
                lost.push(format!("secret {key}"));
            }
        }
    }
    for id in &all.sps {
        let (s, _) = c
            .send(
                Method::GET,
                &format!("/v1.0/servicePrincipals/{id}"),
                Some(&c.graph),
                None,
            )
            .await
            .expect("get");
        if s != StatusCode::OK {
            lost.push(format!("sp {id}"));
        }
    }
    for id in &all.assignments {
        let (s, _) = c
            .send(Method::GET, &format!("{id}?{V}"), Some(&c.arm), None)
            .await
            .expect("get");
        if s != StatusCode::OK {
            lost.push(format!("assignment {id}"));
        }
    }
    let admin_id = bin.info["admin"]["client_id"].as_str().expect("id");
    let admin_secret = bin.info["admin"]["client_secret"].as_str().expect("secret");
    let la = c
        .token(admin_id, admin_secret, LA_SCOPE)
        .await
        .expect("la token");
    let rows = c
        .ok(
            Method::POST,
            &format!("/v1/workspaces/{customer}/query"),
            Some(&la),
            Some(json!({"query": "Load_CL | project Id"})),
        )
        .await;
    let present: std::collections::HashSet<&str> = rows["tables"][0]["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r[0].as_str())
        .collect();
    lost.extend(
        all.rows
            .iter()
            .filter(|r| !present.contains(r.as_str()))
            .map(|r| format!("row {r}")),
    );
    let log = bin.stderr().await;
    println!(
        "kill -9 under load: {} acknowledged writes checked ({} apps, {} secrets, {} service principals, {} role assignments, {} rows), {restarts} restarts survived, {} writes lost",
        all.count(),
        all.apps.len(),
        all.secrets.len(),
        all.sps.len(),
        all.assignments.len(),
        all.rows.len(),
        lost.len()
    );
    assert!(
        all.apps.len() >= CYCLES * WRITERS,
        "the load made progress: {}",
        all.apps.len()
    );
    assert!(lost.is_empty(), "lost: {lost:?}\n{log}");
    drop(bin.stop_and_collect_stderr().await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary on `dir` expecting it to refuse to start; returns its stderr.
fn refused(dir: &Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
        .args(["--bind", "127.0.0.1:0", "--plain-http", "--data-dir"])
        .arg(dir)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "started on a damaged directory: {stderr}"
    );
    stderr
}

fn copy_dir(from: &Path) -> PathBuf {
    let to = data_dir();
    std::fs::create_dir_all(&to).expect("mkdir");
    for (path, bytes) in files(from) {
        std::fs::write(to.join(path.file_name().expect("name")), bytes).expect("copy");
    }
    to
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let path = dir.join(file);
    let mut bytes = std::fs::read(&path).expect("read");
    f(&mut bytes);
    std::fs::write(&path, bytes).expect("write");
}

#[tokio::test]
async fn damaged_files_stop_the_start_with_the_file_and_offset_and_a_torn_tail_is_cut() {
    // A journal with several frames: writes, then kill -9 (no shutdown snapshot).
    let dir = data_dir();
    let mut bin = start(&dir).await;
    let c = Client::new(&bin).await;
    let mut ids = Vec::new();
    let mut secret = String::new();
    for i in 0..4 {
        let app = c
            .ok(
                Method::POST,
                "/v1.0/applications",
                Some(&c.graph),
                Some(json!({"displayName": format!("c{i}")})),
            )
            .await;
        let id = app["id"].as_str().expect("id").to_owned();
        secret = c
            .ok(
                Method::POST,
                &format!("/v1.0/applications/{id}/addPassword"),
                Some(&c.graph),
                Some(json!({})),
            )
            .await["secretText"]
            .as_str()
            .expect("secret")
            .to_owned();
        ids.push(id);
    }
    kill_9(&mut bin).await;
    drop(bin);
    assert_not_on_disk(&dir, &secret);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("signing-key.pem"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let journal_len = std::fs::metadata(dir.join("journal.bin"))
        .expect("journal")
        .len();
    assert!(journal_len > 200, "{journal_len}");

    let flipped = copy_dir(&dir);
    edit(&flipped, "journal.bin", |b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x20;
    });
    let err = refused(&flipped);
    assert!(
        err.contains("journal.bin") && err.contains("corrupt at byte offset"),
        "{err}"
    );

    let snap = copy_dir(&dir);
    edit(&snap, "snapshot.bin", |b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x01;
    });
    let err = refused(&snap);
    assert!(
        err.contains("snapshot.bin") && err.contains("corrupt at byte offset"),
        "{err}"
    );

    let version = copy_dir(&dir);
    edit(&version, "journal.bin", |b| b[8] = 99);
    let err = refused(&version);
    assert!(
        err.contains("journal.bin") && err.contains("unsupported format version 99"),
        "{err}"
    );

    let header = copy_dir(&dir);
    edit(&header, "snapshot.bin", |b| b.truncate(10));
    let err = refused(&header);
    assert!(
        err.contains("snapshot.bin") && err.contains("shorter than its 24-byte header"),
        "{err}"
    );

    // A last frame cut short is a write that was never acknowledged (here the last
    // secret's): cut off, with a warning.
    let torn = copy_dir(&dir);
    edit(&torn, "journal.bin", |b| b.truncate(b.len() - 5));
    let bin = start(&torn).await;
    let c = Client::new(&bin).await;
    for id in &ids {
        c.ok(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&c.graph),
            None,
        )
        .await;
    }
    let log = bin.stop_and_collect_stderr().await;
    assert!(log.contains("torn write"), "{log}");
    assert_eq!(
        std::fs::metadata(torn.join("journal.bin"))
            .expect("journal")
            .len(),
        24,
        "compacted at shutdown"
    );

    for d in [dir, flipped, snap, version, header, torn] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test]
async fn sigterm_lets_in_flight_writes_finish_flushes_and_exits_zero() {
    let dir = data_dir();
    let bin = start(&dir).await;
    let c = Client::new(&bin).await;
    // A slow request (a bulk seed) and a burst of writes, in flight when SIGTERM arrives.
    let seed = {
        let c = c.clone();
        tokio::spawn(async move {
            c.send(
                Method::POST,
                "/_emulator/seed",
                None,
                Some(json!({"applications": 3000, "roleAssignments": 3000})),
            )
            .await
        })
    };
    let burst: Vec<_> = (0..16)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                c.send(
                    Method::POST,
                    "/v1.0/applications",
                    Some(&c.graph),
                    Some(json!({"displayName": format!("burst-{i}")})),
                )
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = bin.stop_and_collect_stderr().await; // asserts exit code 0
    let (status, counts) = seed
        .await
        .expect("task")
        .expect("the seed response arrives");
    assert_eq!(status, StatusCode::CREATED, "{counts}");
    let mut created = Vec::new();
    for b in burst {
        // A write either completed or was never accepted (the listener closed first).
        if let Ok((status, app)) = b.await.expect("task") {
            assert_eq!(status, StatusCode::CREATED, "{app}");
            created.push(app["id"].as_str().expect("id").to_owned());
        }
    }
    assert!(log.contains("state flushed"), "{log}");
    let bin = start(&dir).await;
    let c = Client::new(&bin).await;
    for id in &created {
        c.ok(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&c.graph),
            None,
        )
        .await;
    }
    let last = c
        .ok(
            Method::GET,
            "/v1.0/applications?$filter=displayName eq 'seed-app-2999'",
            Some(&c.graph),
            None,
        )
        .await;
    assert_eq!(last["value"].as_array().map(Vec::len), Some(1), "{last}");
    drop(bin.stop_and_collect_stderr().await);
    let _ = std::fs::remove_dir_all(&dir);
}

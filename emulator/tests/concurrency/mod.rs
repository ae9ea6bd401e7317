//! Concurrency: many clients writing at once lose nothing and duplicate nothing; racing
//! identical role assignments produce one winner; a mixed read/write load on every plane
//! keeps making progress. Driven in-process over loopback with one shared HTTP client.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use entra_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const CLIENTS: usize = 64;
const APPS: usize = 5_000;
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const ASSIGN_V: &str = "api-version=2022-04-01";
/// A stall this long fails a test: something is deadlocked.
const STALL: Duration = Duration::from_secs(20);

/// An emulator, one HTTP client shared by every task, and the admin's tokens.
struct Env {
    _emu: Emulator,
    base: String,
    http: reqwest::Client,
    tenant: Uuid,
    subscription: Uuid,
    admin: (String, String),
    graph: String,
    arm: String,
    /// Requests answered so far (the watchdog's measure of progress).
    progress: AtomicU64,
}

impl Env {
    async fn start() -> Arc<Self> {
        let emu = Emulator::builder()
            .rbac_propagation(Duration::ZERO)
            .start()
            .await
            .expect("emulator");
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .build()
            .expect("client");
        let admin = (
            emu.admin().client_id.to_string(),
            emu.admin().client_secret.expose().to_owned(),
        );
        let mut env = Self {
            base: emu.url().to_owned(),
            tenant: emu.tenant_id(),
            subscription: emu.subscription_id(),
            _emu: emu,
            http,
            admin,
            graph: String::new(),
            arm: String::new(),
            progress: AtomicU64::new(0),
        };
        env.graph = env.token("https://graph.microsoft.com/.default").await;
        env.arm = env.token("https://management.azure.com/.default").await;
        Arc::new(env)
    }

    async fn token(&self, scope: &str) -> String {
        let (status, body) = self.token_request(scope).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    async fn token_request(&self, scope: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.admin.0.as_str()),
            ("client_secret", self.admin.1.as_str()),
            ("scope", scope),
        ];
        let r = self
            .http
            .post(format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant))
            .form(&form)
            .send()
            .await
            .expect("token request");
        self.progress.fetch_add(1, Ordering::Relaxed);
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Sends `method url` (a path, or a full URL such as a `nextLink`) with `token`.
    async fn call(
        &self,
        method: Method,
        url: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let mut req = self.http.request(method, &url).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        self.progress.fetch_add(1, Ordering::Relaxed);
        let status = r.status();
        let bytes = r.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn assignment_path(&self, scope: &str, name: Uuid) -> String {
        format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?{ASSIGN_V}")
    }

    fn reader_body(&self, principal: &str) -> Value {
        json!({"properties": {
            "roleDefinitionId": format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
                self.subscription
            ),
            "principalId": principal,
            "principalType": "ServicePrincipal",
        }})
    }

    /// Every item of a paged list (Graph `@odata.nextLink`, ARM `nextLink`).
    async fn list_all(&self, first: &str, token: &str) -> (Vec<Value>, usize) {
        let (mut items, mut pages) = (Vec::new(), 0);
        let mut next = Some(first.to_owned());
        while let Some(url) = next {
            let (status, body) = self.call(Method::GET, &url, token, None).await;
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            items.extend(body["value"].as_array().expect("value").iter().cloned());
            next = body["@odata.nextLink"]
                .as_str()
                .or_else(|| body["nextLink"].as_str())
                .map(str::to_owned);
            pages += 1;
        }
        (items, pages)
    }
}

/// Runs `work`, failing if the environment's request counter stops moving for [`STALL`].
async fn with_watchdog<T>(env: &Env, work: impl std::future::Future<Output = T>) -> T {
    let watchdog = async {
        let mut last = (env.progress.load(Ordering::Relaxed), Instant::now());
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = env.progress.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() > STALL {
                return now;
            }
        }
    };
    tokio::select! {
        out = work => out,
        stuck = watchdog => panic!("no request completed for {STALL:?} after {stuck}: deadlock"),
    }
}

/// What one worker created and was told succeeded.
struct Created {
    name: String,
    app_object_id: String,
    app_id: String,
    key_id: String,
    sp_id: String,
    assignment: Uuid,
}

async fn create_one(env: &Env, i: usize) -> Created {
    let name = format!("conc-{i}");
    let (status, app) = env
        .call(
            Method::POST,
            "/v1.0/applications",
            &env.graph,
            Some(json!({"displayName": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let app_object_id = app["id"].as_str().expect("id").to_owned();
    let app_id = app["appId"].as_str().expect("appId").to_owned();
    let (status, secret) = env
        .call(
            Method::POST,
            &format!("/v1.0/applications/{app_object_id}/addPassword"),
            &env.graph,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{secret}");
    let key_id = secret["keyId"].as_str().expect("keyId").to_owned();
    let (status, sp) = env
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            &env.graph,
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let sp_id = sp["id"].as_str().expect("id").to_owned();
    let assignment = Uuid::new_v4();
    let scope = format!("/subscriptions/{}", env.subscription);
    let (status, body) = env
        .call(
            Method::PUT,
            &env.assignment_path(&scope, assignment),
            &env.arm,
            Some(env.reader_body(&sp_id)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Created {
        name,
        app_object_id,
        app_id,
        key_id,
        sp_id,
        assignment,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_lose_and_duplicate_no_write() {
    let env = Env::start().await;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (env, next) = (env.clone(), next.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= APPS {
                        return mine;
                    }
                    mine.push(create_one(&env, i).await);
                }
            })
        })
        .collect();
    let created: Vec<Created> = with_watchdog(&env, async {
        let mut all = Vec::with_capacity(APPS);
        for w in workers {
            all.extend(w.await.expect("worker"));
        }
        all
    })
    .await;
    let written = started.elapsed();
    assert_eq!(created.len(), APPS);

    // Graph: every application once, with exactly the secret it was given.
    let (apps, app_pages) = env
        .list_all("/v1.0/applications?$top=999", &env.graph)
        .await;
    let apps: HashMap<&str, &Value> = apps
        .iter()
        .filter(|a| {
            a["displayName"]
                .as_str()
                .is_some_and(|n| n.starts_with("conc-"))
        })
        .map(|a| (a["id"].as_str().expect("id"), a))
        .collect();
    assert_eq!(apps.len(), APPS, "no application lost or duplicated");
    let names: HashSet<&str> = apps
        .values()
        .map(|a| a["displayName"].as_str().expect("name"))
        .collect();
    assert_eq!(names.len(), APPS, "display names unique");
    // Service principals: one per application.
    let (sps, sp_pages) = env
        .list_all("/v1.0/servicePrincipals?$top=999", &env.graph)
        .await;
    let sps: HashMap<&str, &Value> = sps
        .iter()
        .map(|s| (s["id"].as_str().expect("id"), s))
        .collect();
    let sp_app_ids: HashSet<&str> = sps
        .values()
        .map(|s| s["appId"].as_str().expect("appId"))
        .collect();
    assert_eq!(sp_app_ids.len(), sps.len(), "one service principal per app");
    assert_eq!(sps.len(), APPS + 1, "the admin's and one per new app");
    // ARM: one Reader assignment per service principal.
    let scope = format!("/subscriptions/{}", env.subscription);
    let (assignments, ra_pages) = env
        .list_all(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments?{ASSIGN_V}"),
            &env.arm,
        )
        .await;
    let assignments: HashMap<Uuid, &Value> = assignments
        .iter()
        .map(|a| {
            let name = Uuid::parse_str(a["name"].as_str().expect("name")).expect("uuid");
            (name, a)
        })
        .collect();
    assert_eq!(
        assignments.len(),
        APPS + 1,
        "the admin's Owner and one per app"
    );
    for c in &created {
        let app = apps[c.app_object_id.as_str()];
        assert_eq!(app["displayName"], c.name.as_str());
        assert_eq!(app["appId"], c.app_id.as_str());
        let keys: Vec<&str> = app["passwordCredentials"]
            .as_array()
            .expect("credentials")
            .iter()
            .map(|k| k["keyId"].as_str().expect("keyId"))
            .collect();
        assert_eq!(keys, [c.key_id.as_str()], "{}", c.name);
        assert_eq!(sps[c.sp_id.as_str()]["appId"], c.app_id.as_str());
        let a = &assignments[&c.assignment]["properties"];
        assert_eq!(a["principalId"], c.sp_id.as_str());
        assert!(
            a["roleDefinitionId"]
                .as_str()
                .is_some_and(|r| r.ends_with(READER))
        );
    }
    eprintln!(
        "concurrency: {CLIENTS} clients, {} acknowledged writes ({APPS} apps, secrets, service principals, role assignments) in {written:.2?}; checked through {app_pages}+{sp_pages} Graph pages and {ra_pages} ARM pages, {:.2?} in all",
        4 * APPS,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_identical_role_assignments_have_one_winner() {
    let env = Env::start().await;
    let (status, sp) = async {
        let (_, app) = env
            .call(
                Method::POST,
                "/v1.0/applications",
                &env.graph,
                Some(json!({"displayName": "race"})),
            )
            .await;
        env.call(
            Method::POST,
            "/v1.0/servicePrincipals",
            &env.graph,
            Some(json!({"appId": app["appId"]})),
        )
        .await
    }
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let principal = sp["id"].as_str().expect("id").to_owned();
    let scope = format!("/subscriptions/{}/resourceGroups/race", env.subscription);
    let (status, _) = env
        .call(
            Method::PUT,
            &format!("{scope}?api-version=2022-09-01"),
            &env.arm,
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let race = |scope: String, names: Vec<Uuid>| {
        let tasks: Vec<_> = names
            .into_iter()
            .map(|name| {
                let (env, scope, principal) = (env.clone(), scope.clone(), principal.clone());
                tokio::spawn(async move {
                    let path = env.assignment_path(&scope, name);
                    let body = env.reader_body(&principal);
                    let (status, body) = env.call(Method::PUT, &path, &env.arm, Some(body)).await;
                    (name, status, body)
                })
            })
            .collect();
        async move {
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.expect("task"));
            }
            out
        }
    };
    // 64 clients grant the same role to the same principal at the same scope, each under a
    // name of its own (what tools do): one creates it, the others are told it exists.
    let names: Vec<Uuid> = (0..CLIENTS).map(|_| Uuid::new_v4()).collect();
    let answers = with_watchdog(&env, race(scope.clone(), names)).await;
    let winners: Vec<Uuid> = answers
        .iter()
        .filter(|(_, status, _)| *status == StatusCode::CREATED)
        .map(|(name, _, _)| *name)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one 201");
    let winner = winners[0].simple().to_string();
    for (_, status, body) in answers.iter().filter(|(_, s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "RoleAssignmentExists");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(
            message.ends_with(&format!("is {winner}.")),
            "names the winner: {message}"
        );
    }
    // The very same PUT (one name) 64 times at the subscription: every writer succeeds and
    // one assignment exists. (The emulator answers a repeated identical PUT as a success;
    // real ARM servers differ here, some answering 409.)
    let subscription = format!("/subscriptions/{}", env.subscription);
    let same = Uuid::new_v4();
    let answers = with_watchdog(&env, race(subscription.clone(), vec![same; CLIENTS])).await;
    for (_, status, body) in &answers {
        assert!(status.is_success(), "{status} {body}");
        assert_eq!(body["name"], same.to_string());
    }
    let filter = format!("$filter=principalId%20eq%20'{principal}'");
    let (listed, _) = env
        .list_all(
            &format!(
                "{subscription}/providers/Microsoft.Authorization/roleAssignments?{filter}&{ASSIGN_V}"
            ),
            &env.arm,
        )
        .await;
    assert_eq!(
        listed.len(),
        2,
        "one at the group, one at the subscription: {listed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_load_on_every_plane_keeps_making_progress() {
    let env = Env::start().await;
    let s = env.subscription;
    let group = format!("/subscriptions/{s}/resourceGroups/mixed");
    let (status, _) = env
        .call(
            Method::PUT,
            &format!("{group}?api-version=2022-09-01"),
            &env.arm,
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, ws) = env
        .call(
            Method::PUT,
            &format!(
                "{group}/providers/Microsoft.OperationalInsights/workspaces/logs?api-version=2022-10-01"
            ),
            &env.arm,
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert!(status.is_success(), "{ws}");
    let customer = ws["properties"]["customerId"]
        .as_str()
        .expect("customerId")
        .to_owned();
    let r = env
        .http
        .post(format!(
            "{}/_emulator/monitor/workspaces/{customer}/tables/Events",
            env.base
        ))
        .json(&json!([{"Kind": "a"}, {"Kind": "b"}]))
        .send()
        .await
        .expect("seed");
    assert!(r.status().is_success());
    let logs = env.token("https://api.loganalytics.io/.default").await;
    let (_, app) = env
        .call(
            Method::POST,
            "/v1.0/applications",
            &env.graph,
            Some(json!({"displayName": "mixed"})),
        )
        .await;
    let app_path = format!("/v1.0/applications/{}", app["id"].as_str().expect("id"));
    let logs = Arc::new(logs);
    let ops = Arc::new(AtomicU64::new(0));
    let writes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(2);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (env, logs, ops, writes) = (env.clone(), logs.clone(), ops.clone(), writes.clone());
            let (group, app_path, customer) = (group.clone(), app_path.clone(), customer.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let (status, body) = match (t + n) % 8 {
                        0 => env.token_request("https://management.azure.com/.default").await,
                        1 => env.call(Method::GET, &app_path, &env.graph, None).await,
                        2 => {
                            writes.fetch_add(1, Ordering::Relaxed);
                            let body = json!({"displayName": format!("mixed-{t}-{n}")});
                            env.call(Method::POST, "/v1.0/applications", &env.graph, Some(body))
                                .await
                        }
                        3 => {
                            let path = format!("{group}?api-version=2022-09-01");
                            env.call(Method::GET, &path, &env.arm, None).await
                        }
                        4 => {
                            writes.fetch_add(1, Ordering::Relaxed);
                            let path = format!("{group}-{t}-{n}?api-version=2022-09-01");
                            let body = json!({"location": "westeurope"});
                            env.call(Method::PUT, &path, &env.arm, Some(body)).await
                        }
                        5 => {
                            let path = format!("/v1/workspaces/{customer}/query");
                            let body = json!({"query": "Events | count"});
                            env.call(Method::POST, &path, &logs, Some(body)).await
                        }
                        6 => {
                            let path = format!(
                                "/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments?{ASSIGN_V}"
                            );
                            env.call(Method::GET, &path, &env.arm, None).await
                        }
                        _ => {
                            env.call(Method::GET, "/v1.0/servicePrincipals", &env.graph, None)
                                .await
                        }
                    };
                    assert!(status.is_success(), "op {}: {status} {body}", (t + n) % 8);
                    if (t + n) % 8 == 5 {
                        assert_eq!(body["tables"][0]["rows"][0][0], 2, "{body}");
                    }
                    ops.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    with_watchdog(&env, async {
        for t in tasks {
            t.await.expect("task");
        }
    })
    .await;
    let (ops, writes) = (ops.load(Ordering::Relaxed), writes.load(Ordering::Relaxed));
    assert!(
        ops >= CLIENTS as u64,
        "every client finished at least one request"
    );
    // The writes of the load all landed.
    let (apps, _) = env
        .list_all("/v1.0/applications?$top=999", &env.graph)
        .await;
    let (groups, _) = env
        .list_all(
            &format!("/subscriptions/{s}/resourceGroups?api-version=2022-09-01"),
            &env.arm,
        )
        .await;
    let mixed_apps = apps
        .iter()
        .filter(|a| {
            a["displayName"]
                .as_str()
                .is_some_and(|n| n.starts_with("mixed-"))
        })
        .count();
    let mixed_groups = groups
        .iter()
        .filter(|g| g["name"].as_str().is_some_and(|n| n.starts_with("mixed-")))
        .count();
    assert_eq!((mixed_apps + mixed_groups) as u64, writes);
    eprintln!("mixed load: {CLIENTS} clients, {ops} requests ({writes} writes) in 2 s");
}

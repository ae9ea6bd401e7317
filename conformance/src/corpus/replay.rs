//! Replays one corpus recording against a fresh in-process emulator.
//!
//! Before the first request, the state the recording assumes is made (see [`Setup`]): the
//! resource groups it uses without creating them, a Log Analytics workspace for each workspace
//! id it queries, an Application Insights component for each app id, a data collection rule
//! for each rule it sends logs to, the resources it posts custom metrics to, the role
//! assignments it reads without creating them, and the data-plane roles the caller needs.
//! Then each recorded request is sent, rewritten for the emulator:
//!
//! - recorded ids become the emulator's: the tenant, the subscription and the ids above by
//!   their place in the path (the SDKs' recorders sanitize many of them to the same zero
//!   GUID, so a plain substitution could not tell them apart), and every id the emulator
//!   answered in place of a recorded one, learned by JSON path from each answer;
//! - the caller is the emulator's admin: requests get a token of its own for the audience of
//!   the recorded host (recorded `Authorization` and `x-api-key` headers are dropped), and
//!   token requests carry its client id and secret, or a wrong secret or an unknown client
//!   where the recording answers AADSTS7000215 or AADSTS700016 (the tenant stays unknown
//!   where it answers AADSTS90002);
//! - a custom metric's `time` becomes the emulator's clock (the service takes only recent
//!   points), and a sanitized stream name gets the `Custom-` prefix every declared stream has.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use entra_emulator::Emulator;
use entra_emulator::replay::{
    Entry, Recording, body_bytes, body_value, is_guid, path_and_query_of,
};
use reqwest::Method;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use super::score::Scored;
use crate::verify::learn;

/// The scored replay of one exchange.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// Entry index.
    pub index: usize,
    /// `METHOD /path` as recorded.
    pub request: String,
    /// What matched.
    pub scored: Scored,
}

const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";
/// Where setup puts what it creates.
const SETUP_GROUP: &str = "corpus-setup";
const REGION: &str = "eastus";
const MONITORING_METRICS_PUBLISHER: &str = "3913510d-42f4-4e42-8a64-420c390055eb";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

/// The recorded host, lower-cased (`management.azure.com`).
fn host_of(uri: &str) -> String {
    uri.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or_default())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn path_of(uri: &str) -> &str {
    let pq = path_and_query_of(uri);
    pq.split_once('?').map_or(pq, |(p, _)| p)
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// The segment after `key` (case-insensitive).
fn after<'a>(segs: &[&'a str], key: &str) -> Option<(usize, &'a str)> {
    segs.iter()
        .position(|s| s.eq_ignore_ascii_case(key))
        .and_then(|i| segs.get(i + 1).map(|v| (i + 1, *v)))
}

fn is_login(host: &str) -> bool {
    host == "login.microsoftonline.com" || host == "login.windows.net"
}

/// The audience (scope) of a token for the service at `host`.
fn scope_for(host: &str) -> Option<&'static str> {
    Some(match host {
        "graph.microsoft.com" => "https://graph.microsoft.com/.default",
        "management.azure.com" => "https://management.azure.com/.default",
        "api.loganalytics.io" => "https://api.loganalytics.io/.default",
        "api.applicationinsights.io" => "https://api.applicationinsights.io/.default",
        h if h.ends_with(".monitoring.azure.com") => "https://monitoring.azure.com//.default",
        h if h.ends_with(".ingest.monitor.azure.com") => "https://monitor.azure.com//.default",
        _ => return None,
    })
}

fn recorded_aadsts(entry: &Entry) -> Vec<u64> {
    entry.response_body["error_codes"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// A stream name as declared in a rule: sanitized recordings lost the `Custom-` prefix.
fn stream_name(recorded: &str) -> String {
    if recorded.starts_with("Custom-") || recorded.starts_with("Microsoft-") {
        recorded.to_owned()
    } else {
        format!("Custom-{recorded}")
    }
}

/// The live emulator and what the replay learned about it.
struct Live {
    emulator: Emulator,
    /// How far the emulator's clock is from the recording's (this project's scenarios say
    /// when they started): request date-times move by it.
    shift: time::Duration,
    http: reqwest::Client,
    tokens: HashMap<&'static str, String>,
    /// Recorded workspace ids, app ids and rule ids, and their live counterparts.
    workspaces: BTreeMap<String, String>,
    /// The ARM ids of the workspaces made, in order.
    workspace_ids: Vec<String>,
    apps: BTreeMap<String, String>,
    rules: BTreeMap<String, String>,
    /// Learned from answers: recorded value → live value, longest first.
    bindings: Vec<(String, String)>,
    /// A service principal setup assigns roles to, made on first need.
    principal: Option<String>,
}

impl Live {
    fn base(&self) -> &str {
        self.emulator.url()
    }

    fn tenant(&self) -> String {
        self.emulator.tenant_id().to_string()
    }

    fn subscription(&self) -> String {
        self.emulator.subscription_id().to_string()
    }

    async fn token(&mut self, scope: &'static str) -> Result<String, String> {
        if let Some(t) = self.tokens.get(scope) {
            return Ok(t.clone());
        }
        let admin = self.emulator.admin();
        let form = [
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", admin.client_id.to_string()),
            ("client_secret", admin.client_secret.expose().to_owned()),
            ("scope", scope.to_owned()),
        ];
        let url = format!("{}/{}/oauth2/v2.0/token", self.base(), self.tenant());
        let resp = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("token for {scope}: {e}"))?;
        let body: Value = resp
            .json()
            .await
            .map_err(|e| format!("token for {scope}: {e}"))?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| format!("no token for {scope}: {body}"))?
            .to_owned();
        self.tokens.insert(scope, token.clone());
        Ok(token)
    }

    /// An ARM or Graph call made by setup; fails unless it succeeds.
    async fn call(
        &mut self,
        method: Method,
        scope: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let token = self.token(scope).await?;
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base()))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("setup {method} {path}: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        let value = body_value(&bytes);
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!("setup {method} {path}: {status} {value}"))
        }
    }

    async fn arm_put(&mut self, id: &str, api: &str, body: Value) -> Result<Value, String> {
        let path = format!("{id}?api-version={api}");
        self.call(
            Method::PUT,
            "https://management.azure.com/.default",
            &path,
            Some(body),
        )
        .await
    }

    async fn group(&mut self, name: &str) -> Result<(), String> {
        let id = format!(
            "/subscriptions/{}/resourceGroups/{name}",
            self.subscription()
        );
        self.arm_put(&id, "2021-04-01", json!({"location": REGION}))
            .await
            .map(drop)
    }

    async fn assign(
        &mut self,
        scope: &str,
        role: &str,
        principal: &str,
        name: Option<&str>,
    ) -> Result<(), String> {
        let name = name.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
        let body = json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", self.subscription()),
            "principalId": principal,
            "principalType": "ServicePrincipal",
        }});
        self.arm_put(&id, "2022-04-01", body).await.map(drop)
    }

    /// The object id of a service principal setup can assign roles to.
    async fn principal(&mut self) -> Result<String, String> {
        if let Some(p) = &self.principal {
            return Ok(p.clone());
        }
        let graph = "https://graph.microsoft.com/.default";
        let app = self
            .call(
                Method::POST,
                graph,
                "/v1.0/applications",
                Some(json!({"displayName": "corpus-setup-principal"})),
            )
            .await?;
        let sp = self
            .call(
                Method::POST,
                graph,
                "/v1.0/servicePrincipals",
                Some(json!({"appId": app["appId"]})),
            )
            .await?;
        let id = sp["id"]
            .as_str()
            .ok_or("no service principal id")?
            .to_owned();
        self.principal = Some(id.clone());
        Ok(id)
    }

    fn admin_object_id(&self) -> String {
        self.emulator.admin().object_id.to_string()
    }

    async fn workspace(&mut self, recorded: &str) -> Result<String, String> {
        if let Some(live) = self.workspaces.get(recorded) {
            return Ok(live.clone());
        }
        let n = self.workspaces.len();
        let id = format!(
            "/subscriptions/{}/resourceGroups/{SETUP_GROUP}/providers/Microsoft.OperationalInsights/workspaces/corpus-ws-{n}",
            self.subscription()
        );
        let ws = self
            .arm_put(
                &id,
                "2022-10-01",
                json!({"location": REGION, "properties": {}}),
            )
            .await?;
        let customer = ws["properties"]["customerId"]
            .as_str()
            .ok_or("workspace without customerId")?
            .to_owned();
        self.workspaces
            .insert(recorded.to_owned(), customer.clone());
        self.workspace_ids.push(id);
        Ok(customer)
    }
}

/// Replays `recording` (named `name`) and scores each exchange.
pub async fn replay(recording: &Recording) -> Result<Vec<Replayed>, String> {
    // This project's scenarios recorded on Azure wait out propagation themselves (their waits
    // are clock advances here): they get the emulator's default delays. Public recordings
    // assume their setup's roles are in force.
    let scenario = recording.variables.contains_key("Scenario");
    let builder = if scenario {
        Emulator::builder()
    } else {
        Emulator::builder().rbac_propagation(Duration::ZERO)
    };
    let emulator = builder
        .start()
        .await
        .map_err(|e| format!("emulator: {e}"))?;
    let shift = match recording.variables.get("StartTime") {
        Some(start) => {
            let start = time::OffsetDateTime::parse(start, &Rfc3339)
                .map_err(|e| format!("StartTime {start}: {e}"))?;
            emulator.now() - start
        }
        None => time::Duration::ZERO,
    };
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let mut live = Live {
        emulator,
        shift,
        http,
        tokens: HashMap::new(),
        workspaces: BTreeMap::new(),
        workspace_ids: Vec::new(),
        apps: BTreeMap::new(),
        rules: BTreeMap::new(),
        bindings: Vec::new(),
        principal: None,
    };
    setup(&mut live, &recording.entries).await?;
    let mut out = Vec::new();
    for (index, entry) in recording.entries.iter().enumerate() {
        let request = format!("{} {}", entry.request_method, path_of(&entry.request_uri));
        let (status, headers, body) = send(&mut live, entry)
            .await
            .map_err(|e| format!("#{index} {request}: {e}"))?;
        let recorded_headers: Vec<String> = entry.response_headers.keys().cloned().collect();
        let scored = Scored::of(
            entry.status_code,
            &entry.response_body,
            &recorded_headers,
            status,
            &body,
            &headers,
        );
        let mut learned = Vec::new();
        learn(&entry.response_body, &body, &mut learned);
        for (recorded, value) in learned {
            if recorded != ZERO_GUID && !live.bindings.iter().any(|(r, _)| *r == recorded) {
                live.bindings.push((recorded, value));
            }
        }
        live.bindings
            .sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        out.push(Replayed {
            index,
            request,
            scored,
        });
    }
    Ok(out)
}

/// Makes the state the recording assumes (module docs).
async fn setup(live: &mut Live, entries: &[Entry]) -> Result<(), String> {
    let mut groups: Vec<String> = Vec::new();
    let mut skip: Vec<String> = Vec::new();
    let mut made_assignments: Vec<String> = Vec::new();
    for e in entries {
        let path = path_of(&e.request_uri);
        let segs = segments(path);
        if let Some((at, rg)) = after(&segs, "resourceGroups") {
            let key = rg.to_ascii_lowercase();
            if !groups.contains(&key) && !skip.contains(&key) {
                let creates = e.request_method.eq_ignore_ascii_case("PUT") && segs.len() == at + 1;
                let absent = e.status_code == 404
                    && e.response_body["error"]["code"] == "ResourceGroupNotFound";
                if creates || absent {
                    skip.push(key);
                } else {
                    groups.push(key);
                }
            }
        }
        // Role assignments the recording reads without having created them.
        let is_assignments = segs
            .iter()
            .any(|s| s.eq_ignore_ascii_case("roleAssignments"));
        if is_assignments
            && e.request_method == "PUT"
            && let Some(name) = segs.last()
        {
            made_assignments.push(name.to_ascii_lowercase());
        }
    }
    if entries
        .iter()
        .any(|e| needs_setup_group(&host_of(&e.request_uri)))
    {
        live.group(SETUP_GROUP).await?;
    }
    for g in &groups {
        live.group(g).await?;
    }
    for e in entries {
        let host = host_of(&e.request_uri);
        let path = path_of(&e.request_uri);
        let segs = segments(path);
        if host == "api.loganalytics.io" {
            if let Some((_, ws)) = after(&segs, "workspaces")
                && is_guid(ws)
                && !answered(entries, ws)
            {
                live.workspace(ws).await?;
            }
            for ws in body_workspaces(&e.request_body) {
                if !answered(entries, &ws) {
                    live.workspace(&ws).await?;
                }
            }
        }
        if host == "api.applicationinsights.io"
            && let Some((_, app)) = after(&segs, "apps")
            && !live.apps.contains_key(app)
            && !answered(entries, app)
        {
            let n = live.apps.len();
            let id = format!(
                "/subscriptions/{}/resourceGroups/{SETUP_GROUP}/providers/Microsoft.Insights/components/corpus-ai-{n}",
                live.subscription()
            );
            let c = live
                        .arm_put(&id, "2020-02-02", json!({"location": REGION, "kind": "web", "properties": {"Application_Type": "web"}}))
                        .await?;
            let app_id = c["properties"]["AppId"]
                .as_str()
                .ok_or("component without AppId")?
                .to_owned();
            live.apps.insert(app.to_owned(), app_id);
        }
        if host.ends_with(".ingest.monitor.azure.com")
            && e.status_code < 400
            && let (Some((_, rule)), Some((_, stream))) =
                (after(&segs, "dataCollectionRules"), after(&segs, "streams"))
            && !live.rules.contains_key(rule)
            && !answered(entries, rule)
        {
            let immutable = make_rule(live, stream, &e.request_body).await?;
            live.rules.insert(rule.to_owned(), immutable);
        }
        if host.ends_with(".monitoring.azure.com")
            && e.request_method == "POST"
            && segs
                .last()
                .is_some_and(|s| s.eq_ignore_ascii_case("metrics"))
        {
            let resource = live_arm_id(live, &format!("/{}", segs[..segs.len() - 1].join("/")));
            let recorded_resource =
                format!("/{}", segs[..segs.len() - 1].join("/")).to_ascii_lowercase();
            let made_by_recording = entries.iter().any(|x| {
                x.request_method == "PUT"
                    && path_of(&x.request_uri).to_ascii_lowercase() == recorded_resource
            });
            if made_by_recording {
                continue;
            }
            let rsegs = segments(&resource);
            if let Some((at, _)) = after(&rsegs, "resourceGroups") {
                let rg = rsegs[at].to_owned();
                live.group(&rg).await?;
            }
            live.arm_put(
                &resource,
                "2023-01-01",
                json!({"location": REGION, "properties": {}}),
            )
            .await?;
            let admin = live.admin_object_id();
            live.assign(&resource, MONITORING_METRICS_PUBLISHER, &admin, None)
                .await?;
        }
        if host == "management.azure.com" && e.request_method == "GET" && e.status_code == 200 {
            let is_list = segs
                .last()
                .is_some_and(|s| s.eq_ignore_ascii_case("roleAssignments"));
            let is_one =
                segs.len() >= 2 && segs[segs.len() - 2].eq_ignore_ascii_case("roleAssignments");
            let items: Vec<Value> = if is_list {
                e.response_body["value"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            } else if is_one {
                vec![e.response_body.clone()]
            } else {
                Vec::new()
            };
            for item in items {
                let (Some(scope), Some(name)) =
                    (item["properties"]["scope"].as_str(), item["name"].as_str())
                else {
                    continue;
                };
                // Made by the recording itself, or already by setup.
                if made_assignments.contains(&name.to_ascii_lowercase()) {
                    continue;
                }
                made_assignments.push(name.to_ascii_lowercase());
                let scope = live_arm_id(live, scope);
                let principal = live.principal().await?;
                // One the emulator has already (its bootstrap admin's) stays as it is.
                if let Err(e) = live.assign(&scope, READER, &principal, Some(name)).await
                    && !e.contains("RoleAssignmentUpdateNotPermitted")
                    && !e.contains("RoleAssignmentExists")
                {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// Whether the recording learns `id` from one of ARM's answers (it made the workspace, app
/// or rule itself), so that setup must not make one. Only ARM answers count: a sanitized id
/// (the zero GUID) also appears in token and query answers, which make nothing.
fn answered(entries: &[Entry], id: &str) -> bool {
    entries.iter().any(|e| {
        host_of(&e.request_uri) == "management.azure.com"
            && e.response_body.to_string().contains(id)
    })
}

fn needs_setup_group(host: &str) -> bool {
    host == "api.loganalytics.io"
        || host == "api.applicationinsights.io"
        || host.ends_with(".ingest.monitor.azure.com")
}

/// Workspace ids a query body names (`workspaces` of a query, `workspace` of a batch item).
fn body_workspaces(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(list) = body["workspaces"].as_array() {
        out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if let Some(requests) = body["requests"].as_array() {
        out.extend(
            requests
                .iter()
                .filter_map(|r| r["workspace"].as_str())
                .map(str::to_owned),
        );
    }
    out.retain(|w| is_guid(w));
    out
}

/// A Direct data collection rule declaring `stream` with the columns of the first record the
/// recording sends, routed to a workspace; the admin may write through it.
async fn make_rule(live: &mut Live, stream: &str, body: &Value) -> Result<String, String> {
    let records = match body {
        Value::String(text) => serde_json::from_str::<Value>(text).unwrap_or(Value::Null),
        other => other.clone(),
    };
    let mut columns = Vec::new();
    if let Some(first) = records
        .as_array()
        .and_then(|r| r.first())
        .and_then(Value::as_object)
    {
        for (name, value) in first {
            let kind = match value {
                Value::String(s) if entra_emulator::replay::is_datetime(s) => "datetime",
                Value::String(_) => "string",
                Value::Number(n) if n.is_i64() || n.is_u64() => "long",
                Value::Number(_) => "real",
                Value::Bool(_) => "boolean",
                _ => "dynamic",
            };
            columns.push(json!({"name": name, "type": kind}));
        }
    }
    let declared = stream_name(stream);
    let n = live.rules.len();
    live.workspace(&format!("destination of rule {n}")).await?;
    let ws_id = live.workspace_ids.last().cloned().unwrap_or_default();
    let sub = live.subscription();
    let table = declared.trim_start_matches("Custom-").replace('-', "_");
    let id = format!(
        "/subscriptions/{sub}/resourceGroups/{SETUP_GROUP}/providers/Microsoft.Insights/dataCollectionRules/corpus-dcr-{n}"
    );
    let mut decl = Map::new();
    decl.insert(declared.clone(), json!({"columns": columns}));
    let rule = live
        .arm_put(
            &id,
            "2023-03-11",
            json!({
                "location": REGION,
                "kind": "Direct",
                "properties": {
                    "streamDeclarations": decl,
                    "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": ws_id}]},
                    "dataFlows": [{
                        "streams": [declared],
                        "destinations": ["la"],
                        "transformKql": "source",
                        "outputStream": format!("Custom-{table}_CL"),
                    }]
                }
            }),
        )
        .await?;
    let admin = live.admin_object_id();
    live.assign(&id, MONITORING_METRICS_PUBLISHER, &admin, None)
        .await?;
    rule["properties"]["immutableId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("rule without immutableId: {rule}"))
}

/// An ARM id (or path) with its subscription replaced by the emulator's.
fn live_arm_id(live: &Live, id: &str) -> String {
    let segs: Vec<&str> = id.split('/').collect();
    let mut out: Vec<String> = segs.iter().map(|s| (*s).to_owned()).collect();
    for (i, s) in segs.iter().enumerate() {
        if s.eq_ignore_ascii_case("subscriptions") && i + 1 < segs.len() && !segs[i + 1].is_empty()
        {
            out[i + 1] = live.subscription();
        }
    }
    out.join("/")
}

/// The recorded path rewritten for the emulator (module docs).
fn live_path(live: &Live, entry: &Entry) -> String {
    let host = host_of(&entry.request_uri);
    let pq = path_and_query_of(&entry.request_uri);
    let (path, query) = pq.split_once('?').unwrap_or((pq, ""));
    let unknown_tenant = recorded_aadsts(entry).contains(&90002);
    let mut segs: Vec<String> = path.split('/').map(str::to_owned).collect();
    if is_login(&host) {
        if let Some(first) = segs.get_mut(1)
            && is_guid(first)
            && !unknown_tenant
        {
            *first = live.tenant();
        }
    } else {
        for i in 0..segs.len().saturating_sub(1) {
            let key = segs[i].to_ascii_lowercase();
            let value = segs[i + 1].clone();
            let replaced = match key.as_str() {
                "subscriptions" if !value.is_empty() => Some(live.subscription()),
                "workspaces" if host == "api.loganalytics.io" => {
                    live.workspaces.get(&value).cloned()
                }
                "apps" if host == "api.applicationinsights.io" => live.apps.get(&value).cloned(),
                "datacollectionrules" => live.rules.get(&value).cloned(),
                "streams" if live.rules.values().len() > 0 => Some(stream_name(&value)),
                _ => None,
            };
            if let Some(r) = replaced {
                segs[i + 1] = r;
            }
        }
    }
    let mut path = bind(live, &segs.join("/"));
    if !query.is_empty() {
        let mut q = query.to_owned();
        if is_login(&host) {
            let base = live.base().to_owned();
            let encoded: String = form_urlencoded::byte_serialize(base.as_bytes()).collect();
            q = q
                .replace("https://login.microsoftonline.com", &base)
                .replace("https%3A%2F%2Flogin.microsoftonline.com", &encoded);
            if !unknown_tenant {
                for token in q.clone().split(['/', '%', '&', '=']) {
                    if is_guid(token) {
                        q = q.replace(token, &live.tenant());
                    }
                }
            }
        }
        path.push('?');
        path.push_str(&bind(live, &q));
    }
    path
}

/// Learned bindings applied to text.
fn bind(live: &Live, text: &str) -> String {
    let mut out = text.to_owned();
    for (recorded, value) in &live.bindings {
        out = out.replace(recorded.as_str(), value);
    }
    out
}

/// The request body rewritten for the emulator.
fn live_body(live: &Live, entry: &Entry, host: &str, path: &str) -> Value {
    let is_token = path.ends_with("/oauth2/v2.0/token") || path.ends_with("/oauth2/token");
    if is_login(host) && is_token {
        return Value::String(token_form(live, entry));
    }
    match &entry.request_body {
        Value::String(text) => Value::String(bind(live, text)),
        Value::Null => Value::Null,
        other => {
            let mut v = rewrite(live, None, other);
            if host.ends_with(".monitoring.azure.com") && v.get("time").is_some() {
                let now = live.emulator.now().format(&Rfc3339).unwrap_or_default();
                v["time"] = json!(now);
            }
            v
        }
    }
}

fn rewrite(live: &Live, key: Option<&str>, value: &Value) -> Value {
    match value {
        Value::String(s) if matches!(key, Some("workspace" | "workspaces")) => {
            json!(live.workspaces.get(s).cloned().unwrap_or_else(|| s.clone()))
        }
        Value::String(s) if s.to_ascii_lowercase().starts_with("/subscriptions/") => {
            json!(bind(live, &live_arm_id(live, s)))
        }
        Value::String(s) => json!(crate::verify::shift_datetimes(&bind(live, s), live.shift)),
        Value::Array(items) => Value::Array(items.iter().map(|v| rewrite(live, key, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), rewrite(live, Some(k), v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The token request of the recording, made by the emulator's admin (module docs). A recorded
/// form keeps its fields (a deliberately incomplete one stays so); only the client id and
/// secret change. A form the recorder hid is rebuilt for the admin and ARM.
fn token_form(live: &Live, entry: &Entry) -> String {
    let recorded: Vec<(String, String)> = match &entry.request_body {
        Value::String(form) if form.contains('=') => form_urlencoded::parse(form.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        _ => Vec::new(),
    };
    let codes = recorded_aadsts(entry);
    let admin = live.emulator.admin();
    // An app the replay created (its id and secret learned from earlier answers) signs in as
    // itself; anything else is the admin, unless the recording shows an unknown client.
    let learned = |key: &str| {
        recorded
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| live.bindings.iter().find(|(r, _)| r == v))
            .map(|(_, l)| l.clone())
    };
    let client_id = if codes.contains(&700_016) {
        uuid::Uuid::new_v4().to_string()
    } else {
        learned("client_id").unwrap_or_else(|| admin.client_id.to_string())
    };
    let secret = if codes.contains(&7_000_215) {
        "not-the-secret".to_owned()
    } else if learned("client_id").is_some() {
        learned("client_secret").unwrap_or_default()
    } else {
        admin.client_secret.expose().to_owned()
    };
    let mut out = form_urlencoded::Serializer::new(String::new());
    if recorded.is_empty() {
        out.append_pair("grant_type", "client_credentials");
        out.append_pair("client_id", &client_id);
        out.append_pair("client_secret", &secret);
        out.append_pair("scope", "https://management.azure.com/.default");
        return out.finish();
    }
    for (k, v) in &recorded {
        match k.as_str() {
            "client_id" if !v.is_empty() => out.append_pair(k, &client_id),
            "client_secret" if !v.is_empty() => out.append_pair(k, &secret),
            _ => out.append_pair(
                k,
                &crate::verify::shift_datetimes(&bind(live, v), live.shift),
            ),
        };
    }
    out.finish()
}

/// Request headers not replayed: credentials (replaced by the replay's own), and what
/// describes the recorded connection or a body encoding the recording no longer has.
const NOT_REPLAYED: &[&str] = &[
    "authorization",
    "x-api-key",
    "cookie",
    "host",
    "connection",
    "content-length",
    "content-encoding",
    "accept-encoding",
];

/// Sends one recorded request, rewritten; the emulator's status, header names and body.
async fn send(live: &mut Live, entry: &Entry) -> Result<(u16, Vec<String>, Value), String> {
    let host = host_of(&entry.request_uri);
    let path = path_of(&entry.request_uri).to_owned();
    let url = format!("{}{}", live.base(), live_path(live, entry));
    let method = Method::from_bytes(entry.request_method.as_bytes()).map_err(|e| e.to_string())?;
    let body = live_body(live, entry, &host, &path);
    // The recorded caller's token when the replay has its live counterpart (the token
    // answer was replayed too); otherwise the admin's, for the audience of the host.
    let recorded_token = entry
        .request_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.split_once(' ').map(|(_, t)| t.to_owned()));
    let bound = recorded_token.and_then(|t| {
        live.bindings
            .iter()
            .find(|(r, _)| *r == t)
            .map(|(_, l)| l.clone())
    });
    let token = match (bound, scope_for(&host)) {
        (Some(t), _) => Some(t),
        (None, Some(scope)) if !is_login(&host) => Some(live.token(scope).await?),
        _ => None,
    };
    let mut req = live.http.request(method, url);
    for (name, value) in &entry.request_headers {
        if !NOT_REPLAYED.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            req = req.header(name.as_str(), value.as_str());
        }
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    // A replay can run faster than its recording did (a secret created "starting now" would
    // still lie ahead when the next request signs in with it): wait as the verifier does.
    crate::verify::pace(&body, live.emulator.now()).await;
    let resp = req
        .body(body_bytes(&body))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .collect();
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, headers, body_value(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_scopes_and_streams() {
        assert_eq!(
            host_of("https://Management.azure.com/subscriptions/x?a=1"),
            "management.azure.com"
        );
        assert_eq!(
            scope_for("eastus.monitoring.azure.com"),
            Some("https://monitoring.azure.com//.default")
        );
        assert_eq!(scope_for("login.microsoftonline.com"), None);
        assert_eq!(stream_name("test-stream"), "Custom-test-stream");
        assert_eq!(stream_name("Custom-A"), "Custom-A");
        assert_eq!(
            body_workspaces(&json!({"workspaces": [ZERO_GUID, "name"]})),
            [ZERO_GUID]
        );
    }
}

//! Bad input on every route: each route in [`ROUTES`] × each case in [`CASES`] goes through
//! the router (no socket, so bodies can be large and lengths can lie) and must come back as a
//! 4xx (or a success, where the input is harmless) in the owning service's envelope: never a
//! 5xx, a panic, a hang or axum's plain-text rejection. [`routes_table_covers_the_router`]
//! keeps [`ROUTES`] in step with `src/router.rs`, so a new route cannot be left out.
//! Two more tests send what only a socket can carry: raw non-UTF-8 bytes in the request
//! line and a very long path; [`head`] sends request heads over the size limits.

mod head;
mod properties;

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use entra_emulator::Emulator;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt as _;

/// Who owns a route: decides the envelope checked and the token sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Entra,
    Graph,
    Arm,
    LogAnalytics,
    AppInsights,
    Ingestion,
    Control,
    Portal,
    /// IMDS: `{"error", "error_description"}`.
    Imds,
    /// App Service's identity endpoint: `{"statusCode", "message"}`.
    AppService,
}

/// How a route reads its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// JSON: malformed or non-UTF-8 bodies must be refused with a 4xx.
    Json,
    /// A form (Entra's token endpoint, the portal).
    Form,
    /// Nothing, or only optionally (the body may be ignored).
    Nothing,
}

/// One entry per route (a route may have several entries, e.g. ARM's catch-all paths).
struct Route {
    /// The route's path exactly as `src/router.rs` declares it.
    template: &'static str,
    /// A concrete path (and query) for it; `{tenant}`, `{sub}` and `{guid}` are filled in.
    path: &'static str,
    /// The methods the router serves there; empty for `any` routes (the handler decides).
    methods: &'static [&'static str],
    /// The method bad bodies are sent with.
    body_method: &'static str,
    takes: Takes,
    owner: Owner,
}

const fn r(
    template: &'static str,
    path: &'static str,
    methods: &'static [&'static str],
    body_method: &'static str,
    takes: Takes,
    owner: Owner,
) -> Route {
    Route {
        template,
        path,
        methods,
        body_method,
        takes,
        owner,
    }
}

use Owner::*;
use Takes::*;

const GET: &[&str] = &["GET"];
const POST: &[&str] = &["POST"];
const ANY: &[&str] = &[];

/// Every route of the router, with a concrete instance.
const ROUTES: &[Route] = &[
    r(
        "/{tenant}/oauth2/v2.0/token",
        "/{tenant}/oauth2/v2.0/token",
        POST,
        "POST",
        Form,
        Entra,
    ),
    r(
        "/{tenant}/oauth2/token",
        "/{tenant}/oauth2/token",
        POST,
        "POST",
        Form,
        Entra,
    ),
    r(
        "/{tenant}/v2.0/.well-known/openid-configuration",
        "/{tenant}/v2.0/.well-known/openid-configuration",
        GET,
        "GET",
        Nothing,
        Entra,
    ),
    r(
        "/{tenant}/.well-known/openid-configuration",
        "/{tenant}/.well-known/openid-configuration",
        GET,
        "GET",
        Nothing,
        Entra,
    ),
    r(
        "/{tenant}/discovery/v2.0/keys",
        "/{tenant}/discovery/v2.0/keys",
        GET,
        "GET",
        Nothing,
        Entra,
    ),
    r(
        "/{tenant}/discovery/keys",
        "/{tenant}/discovery/keys",
        GET,
        "GET",
        Nothing,
        Entra,
    ),
    r(
        "/common/discovery/instance",
        "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        GET,
        "GET",
        Nothing,
        Entra,
    ),
    r(
        "/v1.0/applications",
        "/v1.0/applications",
        &["GET", "POST"],
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/applications/{id}",
        "/v1.0/applications/{guid}",
        &["GET", "PATCH", "DELETE"],
        "PATCH",
        Json,
        Graph,
    ),
    r(
        "/v1.0/applications/{id}/addPassword",
        "/v1.0/applications/{guid}/addPassword",
        POST,
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/applications/{id}/removePassword",
        "/v1.0/applications/{guid}/removePassword",
        POST,
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/servicePrincipals",
        "/v1.0/servicePrincipals",
        &["GET", "POST"],
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/servicePrincipals/{id}",
        "/v1.0/servicePrincipals/{guid}",
        &["GET", "PATCH", "DELETE"],
        "PATCH",
        Json,
        Graph,
    ),
    r(
        "/v1.0/{key}",
        "/v1.0/applications(appId='{guid}')",
        &["GET", "PATCH", "DELETE"],
        "PATCH",
        Json,
        Graph,
    ),
    r(
        "/v1.0/{key}/addPassword",
        "/v1.0/applications(appId='{guid}')/addPassword",
        POST,
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/{key}/removePassword",
        "/v1.0/applications(appId='{guid}')/removePassword",
        POST,
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/applications/$count",
        "/v1.0/applications/$count",
        GET,
        "GET",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/servicePrincipals/$count",
        "/v1.0/servicePrincipals/$count",
        GET,
        "GET",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/applications/{id}/owners",
        "/v1.0/applications/{guid}/owners",
        GET,
        "GET",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/applications/{id}/owners/$ref",
        "/v1.0/applications/{guid}/owners/$ref",
        POST,
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/applications/{id}/owners/{owner}/$ref",
        "/v1.0/applications/{guid}/owners/{guid}/$ref",
        &["DELETE"],
        "DELETE",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/{key}/owners",
        "/v1.0/applications(appId='{guid}')/owners",
        GET,
        "GET",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/{key}/owners/$ref",
        "/v1.0/applications(appId='{guid}')/owners/$ref",
        POST,
        "POST",
        Json,
        Graph,
    ),
    r(
        "/v1.0/directory/deletedItems/microsoft.graph.application",
        "/v1.0/directory/deletedItems/microsoft.graph.application",
        GET,
        "GET",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal",
        "/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal",
        GET,
        "GET",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/directory/deletedItems/{id}",
        "/v1.0/directory/deletedItems/{guid}",
        &["GET", "DELETE"],
        "GET",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/directory/deletedItems/{id}/restore",
        "/v1.0/directory/deletedItems/{guid}/restore",
        POST,
        "POST",
        Nothing,
        Graph,
    ),
    r(
        "/v1.0/directoryObjects/getByIds",
        "/v1.0/directoryObjects/getByIds",
        POST,
        "POST",
        Json,
        Graph,
    ),
    r(
        "/subscriptions",
        "/subscriptions?api-version=2022-12-01",
        ANY,
        "GET",
        Nothing,
        Arm,
    ),
    r(
        "/subscriptions/{*rest}",
        "/subscriptions/{sub}/resourcegroups/input-rg?api-version=2021-04-01",
        ANY,
        "PUT",
        Json,
        Arm,
    ),
    r(
        "/subscriptions/{*rest}",
        "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{guid}?api-version=2022-04-01",
        ANY,
        "PUT",
        Json,
        Arm,
    ),
    r(
        "/subscriptions/{*rest}",
        "/subscriptions/{sub}/resourceGroups/input-rg/providers/Microsoft.Insights/components/input-ai/metrics",
        ANY,
        "POST",
        Json,
        Arm,
    ),
    r(
        "/providers",
        "/providers?api-version=2021-04-01",
        ANY,
        "GET",
        Nothing,
        Arm,
    ),
    r(
        "/providers/{*rest}",
        "/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01",
        ANY,
        "GET",
        Nothing,
        Arm,
    ),
    r(
        "/tenants",
        "/tenants?api-version=2022-12-01",
        ANY,
        "GET",
        Nothing,
        Arm,
    ),
    r(
        "/metadata/endpoints",
        "/metadata/endpoints?api-version=2022-09-01",
        GET,
        "GET",
        Nothing,
        Arm,
    ),
    r(
        "/v1/workspaces/{workspace}/query",
        "/v1/workspaces/{guid}/query",
        ANY,
        "POST",
        Json,
        LogAnalytics,
    ),
    r(
        "/v1/apps/{app}/query",
        "/v1/apps/{guid}/query",
        ANY,
        "POST",
        Json,
        AppInsights,
    ),
    r(
        "/v1/apps/{app}/metrics/{*metric}",
        "/v1/apps/{guid}/metrics/requests/count",
        ANY,
        "GET",
        Nothing,
        AppInsights,
    ),
    r(
        "/v1/apps/{app}/events/{event}",
        "/v1/apps/{guid}/events/traces",
        ANY,
        "GET",
        Nothing,
        AppInsights,
    ),
    r(
        "/v1/apps/{app}/events/{event}/{id}",
        "/v1/apps/{guid}/events/traces/{guid}",
        ANY,
        "GET",
        Nothing,
        AppInsights,
    ),
    r("/v1/$batch", "/v1/$batch", ANY, "POST", Json, LogAnalytics),
    r(
        "/v1/{*rest}",
        "/v1/nothing/here",
        ANY,
        "GET",
        Nothing,
        LogAnalytics,
    ),
    r(
        "/v1/{*rest}",
        "/v1/subscriptions/{sub}/resourceGroups/input-rg/providers/Microsoft.Insights/components/input-ai/query",
        ANY,
        "POST",
        Json,
        LogAnalytics,
    ),
    r(
        "/dataCollectionRules/{rule}/streams/{stream}",
        "/dataCollectionRules/dcr-00000000000000000000000000000000/streams/Custom-Input_CL?api-version=2023-01-01",
        ANY,
        "POST",
        Json,
        Ingestion,
    ),
    r(
        "/_emulator/health",
        "/_emulator/health",
        GET,
        "GET",
        Nothing,
        Control,
    ),
    r(
        "/_emulator/clock",
        "/_emulator/clock",
        GET,
        "GET",
        Nothing,
        Control,
    ),
    r(
        "/_emulator/clock/advance",
        "/_emulator/clock/advance",
        POST,
        "POST",
        Json,
        Control,
    ),
    r(
        "/_emulator/reset",
        "/_emulator/reset",
        POST,
        "POST",
        Nothing,
        Control,
    ),
    r(
        "/_emulator/keys/rotate",
        "/_emulator/keys/rotate",
        POST,
        "POST",
        Nothing,
        Control,
    ),
    r(
        "/_emulator/seed",
        "/_emulator/seed",
        POST,
        "POST",
        Json,
        Control,
    ),
    r(
        "/metadata/identity/oauth2/token",
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/",
        GET,
        "GET",
        Nothing,
        Imds,
    ),
    r(
        "/msi/token",
        "/msi/token?api-version=2019-08-01&resource=https://management.azure.com/",
        GET,
        "GET",
        Nothing,
        AppService,
    ),
    r(
        "/_emulator/managed-identity",
        "/_emulator/managed-identity",
        &["GET", "PUT"],
        "PUT",
        Json,
        Control,
    ),
    r(
        "/_emulator/faults",
        "/_emulator/faults",
        &["DELETE", "GET", "POST"],
        "POST",
        Json,
        Control,
    ),
    r(
        "/_emulator/faults/{id}",
        "/_emulator/faults/f-1",
        &["DELETE"],
        "DELETE",
        Nothing,
        Control,
    ),
    r(
        "/_emulator/subscriptions",
        "/_emulator/subscriptions",
        &["GET", "POST"],
        "POST",
        Json,
        Control,
    ),
    r(
        "/_emulator/rbac/pending",
        "/_emulator/rbac/pending",
        GET,
        "GET",
        Nothing,
        Control,
    ),
    r(
        "/_emulator/portal",
        "/_emulator/portal",
        GET,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/portal/assets/portal.css",
        "/_emulator/portal/assets/portal.css",
        GET,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/portal/assets/portal.js",
        "/_emulator/portal/assets/portal.js",
        GET,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/portal/clock/advance",
        "/_emulator/portal/clock/advance",
        POST,
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/apps",
        "/_emulator/portal/apps",
        &["GET", "POST"],
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/apps/new",
        "/_emulator/portal/apps/new",
        GET,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/portal/apps/{id}",
        "/_emulator/portal/apps/{guid}",
        GET,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/portal/apps/{id}/service-principal",
        "/_emulator/portal/apps/{guid}/service-principal",
        POST,
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/apps/{id}/secrets",
        "/_emulator/portal/apps/{guid}/secrets",
        &["GET", "POST"],
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/apps/{id}/secrets/{key}/delete",
        "/_emulator/portal/apps/{guid}/secrets/{guid}/delete",
        POST,
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/resources",
        "/_emulator/portal/resources",
        GET,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/portal/resource-groups",
        "/_emulator/portal/resource-groups",
        POST,
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/iam",
        "/_emulator/portal/iam",
        GET,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/portal/iam/assignments",
        "/_emulator/portal/iam/assignments",
        POST,
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/iam/assignments/delete",
        "/_emulator/portal/iam/assignments/delete",
        POST,
        "POST",
        Form,
        Portal,
    ),
    r(
        "/_emulator/portal/{*rest}",
        "/_emulator/portal/nothing/here",
        ANY,
        "GET",
        Nothing,
        Portal,
    ),
    r(
        "/_emulator/monitor/workspaces/{workspace}/tables/{table}",
        "/_emulator/monitor/workspaces/{guid}/tables/Input_CL",
        POST,
        "POST",
        Json,
        Control,
    ),
    r(
        "/_emulator/monitor/apps/{app}/tables/{table}",
        "/_emulator/monitor/apps/{guid}/tables/requests",
        POST,
        "POST",
        Json,
        Control,
    ),
    r(
        "/_emulator/{*rest}",
        "/_emulator/nothing/here",
        &["GET", "POST"],
        "POST",
        Nothing,
        Control,
    ),
];

/// The bad inputs tried on every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    WrongMethod,
    MalformedJson,
    WrongContentType,
    EmptyBody,
    MissingFields,
    MistypedFields,
    InvalidUtf8Body,
    InvalidUtf8Query,
    InvalidUtf8Path,
    NonGuidId,
    PercentEncodedPath,
    OverlongPath,
    /// A declared `Content-Length` over the service's limit.
    OversizedDeclared,
    /// A body over the service's limit, sent without a declared length.
    OversizedStreamed,
}

const CASES: &[Case] = &[
    Case::WrongMethod,
    Case::MalformedJson,
    Case::WrongContentType,
    Case::EmptyBody,
    Case::MissingFields,
    Case::MistypedFields,
    Case::InvalidUtf8Body,
    Case::InvalidUtf8Query,
    Case::InvalidUtf8Path,
    Case::NonGuidId,
    Case::PercentEncodedPath,
    Case::OverlongPath,
    Case::OversizedDeclared,
    Case::OversizedStreamed,
];

/// The limits the README documents.
fn limit(owner: Owner) -> usize {
    const MB: usize = 1 << 20;
    match owner {
        Entra | Portal | Ingestion | Imds | AppService => MB,
        Graph | Arm => 4 * MB,
        LogAnalytics | AppInsights => 2 * MB,
        Control => 64 * MB,
    }
}

const GUID: &str = "0b5c7e0e-1c62-4a39-9f6e-5d1a9a3c2b11";

/// A request for `case` on `route`, or `None` when the case does not apply.
fn build(route: &Route, case: Case, emu: &Emulator, tokens: &Tokens) -> Option<Request<Body>> {
    let fill = |p: &str| {
        p.replace("{tenant}", &emu.tenant_id().to_string())
            .replace("{sub}", &emu.subscription_id().to_string())
            .replace("{guid}", GUID)
    };
    let mut path = fill(route.path);
    let mut method = route.body_method.to_owned();
    let mut content_type = match route.takes {
        Form => Some("application/x-www-form-urlencoded"),
        Json | Nothing if method != "GET" => Some("application/json"),
        _ => None,
    };
    let mut body: Option<Body> = None;
    let mut declared: Option<usize> = None;
    let mixed_path = |path: &str, insert: &str| -> String {
        // Into the GUID when there is one, else as a last segment before the query.
        if path.contains(GUID) {
            path.replacen(GUID, insert, 1)
        } else {
            let (p, q) = path
                .split_once('?')
                .map_or((path, None), |(p, q)| (p, Some(q)));
            let p = format!("{}/{insert}", p.trim_end_matches('/'));
            q.map_or(p.clone(), |q| format!("{p}?{q}"))
        }
    };
    match case {
        Case::WrongMethod => {
            if route.methods.is_empty() {
                method = "PATCH".into();
                if route.body_method == "PATCH" {
                    method = "TRACE".into();
                }
            } else {
                let candidates = ["PUT", "PATCH", "DELETE", "POST", "GET"];
                method = candidates
                    .iter()
                    .find(|m| !route.methods.contains(m))?
                    .to_string();
            }
            content_type = None;
        }
        Case::MalformedJson => body = Some(Body::from(r#"{"displayName": "x", "#)),
        Case::WrongContentType => {
            content_type = Some("text/plain; charset=utf-8");
            body = Some(Body::from("just some text"));
        }
        Case::EmptyBody => body = Some(Body::empty()),
        Case::MissingFields => {
            body = Some(match route.takes {
                Form => Body::from("foo=bar"),
                _ => Body::from("{}"),
            })
        }
        Case::MistypedFields => {
            body = Some(match route.takes {
                Form => {
                    Body::from("grant_type=client_credentials&client_id=1&client_secret&scope=%%%")
                }
                _ => Body::from(
                    r#"{"displayName": 5, "seconds": "soon", "properties": [1], "query": {"a": 1},
                        "location": false, "passwordCredential": "x", "keyId": 7, "ids": "x",
                        "appId": [], "applications": -1, "columns": 3, "rows": {}, "name": null,
                        "subscriptionId": 1.5, "timespan": 9, "data": "x"}"#,
                ),
            })
        }
        Case::InvalidUtf8Body => body = Some(Body::from(vec![b'{', 0xff, 0xfe, b'"', 0xc3, b'}'])),
        Case::InvalidUtf8Query => {
            let sep = if path.contains('?') { '&' } else { '?' };
            path = format!("{path}{sep}x=%FF%FE&%24filter=%C3%28&query=%ED%A0%80&%FF=1");
        }
        Case::InvalidUtf8Path => path = mixed_path(&path, "%FF%FE%C3%28"),
        Case::NonGuidId => {
            if !path.contains(GUID) {
                return None;
            }
            path = path.replace(GUID, "not-a-guid'");
        }
        Case::PercentEncodedPath => path = mixed_path(&path, "%2e%2e%2F%2E%2E%2Fx%00%20y%25"),
        Case::OverlongPath => path = mixed_path(&path, &"a".repeat(16 * 1024)),
        Case::OversizedDeclared => {
            // The declared length alone must be refused, before any byte is read.
            declared = Some(limit(route.owner) + 1);
            body = Some(Body::from("{}"));
        }
        Case::OversizedStreamed => {
            if route.takes == Nothing {
                return None;
            }
            // No Content-Length header: only reading the body finds it too large.
            body = Some(Body::from(vec![b' '; limit(route.owner) + 1]));
        }
    }
    let mut builder = Request::builder().method(method.as_str()).uri(path);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    if let Some(n) = declared {
        builder = builder.header(header::CONTENT_LENGTH, n);
    }
    if let Some(token) = tokens.for_owner(route.owner) {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(body.unwrap_or_else(Body::empty)).ok()
}

/// Admin tokens for each protected service.
struct Tokens {
    graph: String,
    arm: String,
    log_analytics: String,
    app_insights: String,
    ingestion: String,
}

impl Tokens {
    async fn get(app: &axum::Router, emu: &Emulator) -> Self {
        let get = |scope: &'static str| token(app, emu, scope);
        Self {
            graph: get("https://graph.microsoft.com/.default").await,
            arm: get("https://management.azure.com/.default").await,
            log_analytics: get("https://api.loganalytics.io/.default").await,
            app_insights: get("https://api.applicationinsights.io/.default").await,
            ingestion: get("https://monitor.azure.com//.default").await,
        }
    }

    fn for_owner(&self, owner: Owner) -> Option<&str> {
        Some(match owner {
            Graph => &self.graph,
            Arm => &self.arm,
            LogAnalytics => &self.log_analytics,
            AppInsights => &self.app_insights,
            Ingestion => &self.ingestion,
            Entra | Control | Portal | Imds | AppService => return None,
        })
    }
}

async fn token(app: &axum::Router, emu: &Emulator, scope: &str) -> String {
    let admin = emu.admin();
    let form: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "client_credentials"),
            ("client_id", &admin.client_id.to_string()),
            ("client_secret", admin.client_secret.expose()),
            ("scope", scope),
        ])
        .finish();
    let request = Request::post(format!("/{}/oauth2/v2.0/token", emu.tenant_id()))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let (status, _, body) = send(app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

/// Sends through the router, with a deadline (a hang is a failure too).
async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let what = format!("{} {}", request.method(), request.uri());
    let response = tokio::time::timeout(Duration::from_secs(20), app.clone().oneshot(request))
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 20 s"))
        .expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.expect("body");
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (parts.status, parts.headers, json)
}

/// Whether a mutated path no longer names a route (a segment appended to a fixed path):
/// the router's fallback answers those, in the envelope of Graph for `/v1.0` and in its own
/// `error.code/message` otherwise.
fn fell_off_the_route(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::NOT_FOUND
        && body["error"]["code"] == "NotFound"
        && body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("No emulated service serves"))
}

/// Whether `body` (with `headers`) is `owner`'s error envelope; the reason when not.
fn envelope_problem(owner: Owner, headers: &HeaderMap, body: &Value) -> Option<String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_str = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    let ok = match owner {
        Entra => {
            let desc = body["error_description"].as_str().unwrap_or("");
            is_str(&body["error"])
                && desc.starts_with("AADSTS")
                && desc.contains("\r\nTrace ID: ")
                && desc.contains("\r\nCorrelation ID: ")
                && body["error_codes"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty())
                && is_str(&body["trace_id"])
                && is_str(&body["correlation_id"])
        }
        Graph => {
            is_str(&body["error"]["code"])
                && is_str(&body["error"]["message"])
                && is_str(&body["error"]["innerError"]["request-id"])
                && is_str(&body["error"]["innerError"]["date"])
        }
        // ARM, custom metrics, the OneAPI query errors, ingestion and the control API all
        // carry `error.code` and `error.message`.
        Arm | LogAnalytics | AppInsights | Ingestion | Control => {
            is_str(&body["error"]["code"]) && is_str(&body["error"]["message"])
        }
        Portal => content_type.starts_with("text/html"),
        Imds => is_str(&body["error"]) && is_str(&body["error_description"]),
        AppService => body["statusCode"].is_u64() && is_str(&body["message"]),
    };
    let json = owner == Portal || content_type.starts_with("application/json");
    (!(ok && json)).then(|| format!("not a {owner:?} error ({content_type}): {body}"))
}

#[tokio::test]
async fn every_route_answers_bad_input_in_its_services_envelope() {
    let emu = Emulator::start().await.expect("emulator");
    let app = emu.router();
    let mut tried = 0;
    let mut failures = Vec::new();
    for route in ROUTES {
        // Fresh tokens per route: some routes reset the tenant or rotate the keys.
        let tokens = Tokens::get(&app, &emu).await;
        for &case in CASES {
            let Some(request) = build(route, case, &emu, &tokens) else {
                continue;
            };
            tried += 1;
            let what = format!("{case:?} {} {}", request.method(), route.path);
            let (status, headers, body) = send(&app, request).await;
            let mut problems = Vec::new();
            if status.is_server_error() || status.is_informational() {
                problems.push(format!("status {status}"));
            }
            if status.is_client_error()
                && !fell_off_the_route(status, &body)
                && let Some(p) = envelope_problem(route.owner, &headers, &body)
            {
                problems.push(p);
            }
            let method_router = !route.methods.is_empty();
            if case == Case::WrongMethod && method_router {
                let expected = if route.owner == Entra {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::METHOD_NOT_ALLOWED
                };
                if status != expected {
                    problems.push(format!("status {status}, expected {expected}"));
                }
                if !headers.contains_key(header::ALLOW) {
                    problems.push("no Allow header".into());
                }
                if route.owner == Entra && body["error_codes"][0] != 900561 {
                    problems.push("not AADSTS900561".into());
                }
            }
            let four = || format!("status {status}, expected a 4xx");
            let unmet = match case {
                Case::WrongMethod if !method_router => (!status.is_client_error()).then(four),
                Case::OversizedDeclared => (status != StatusCode::PAYLOAD_TOO_LARGE)
                    .then(|| format!("status {status}, expected 413")),
                // Without a declared length the size is only known once the body is read;
                // a handler that refuses first (an unknown app, say) never reads it.
                Case::OversizedStreamed => (status != StatusCode::PAYLOAD_TOO_LARGE
                    && status != StatusCode::NOT_FOUND)
                    .then(|| format!("status {status}, expected 413")),
                // The query APIs answer an empty POST with 200 and no body, as Log
                // Analytics does (reference: "POST without JSON body").
                Case::EmptyBody if matches!(route.owner, LogAnalytics | AppInsights) => None,
                Case::MalformedJson | Case::InvalidUtf8Body | Case::EmptyBody
                    if route.takes == Json =>
                {
                    (!status.is_client_error()).then(four)
                }
                Case::NonGuidId | Case::InvalidUtf8Path if route.owner != Portal => {
                    (!status.is_client_error()).then(four)
                }
                _ => None,
            };
            problems.extend(unmet);
            if !problems.is_empty() {
                let mut line = format!("{what}: {}", problems.join("; "));
                line.truncate(400);
                failures.push(line);
            }
        }
    }
    println!("bad input: {tried} route × case combinations tried");
    assert!(
        failures.is_empty(),
        "{} of {tried} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(tried >= ROUTES.len() * 10, "only {tried} combinations ran");
}

/// The route paths `src/router/mod.rs` declares, read from its source.
fn declared_routes() -> Vec<String> {
    let source = include_str!("../../src/router/mod.rs");
    let mut routes = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let start = rest.find('"').expect("a path literal") + 1;
        let end = start + rest[start..].find('"').expect("closing quote");
        routes.push(rest[start..end].to_owned());
    }
    routes
}

#[test]
fn routes_table_covers_the_router() {
    let declared = declared_routes();
    assert!(declared.len() > 50, "parsed only {} routes", declared.len());
    let missing: Vec<_> = declared
        .iter()
        .filter(|d| !ROUTES.iter().any(|r| r.template == d.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without bad-input cases: {missing:?}"
    );
    let unknown: Vec<_> = ROUTES
        .iter()
        .filter(|r| !declared.iter().any(|d| d == r.template))
        .map(|r| r.template)
        .collect();
    assert!(
        unknown.is_empty(),
        "table entries the router lacks: {unknown:?}"
    );
}

/// Sends `head` as raw bytes and returns the status line and the rest of the answer.
async fn raw_exchange(emu: &Emulator, head: &[u8]) -> String {
    let addr = emu.url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    stream.write_all(head).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer, not a hang")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn raw_bytes_and_long_paths_on_the_socket_get_an_answer() {
    let emu = Emulator::start().await.expect("emulator");
    let tenant = emu.tenant_id();
    // Bytes that are not UTF-8 in the path and query, unencoded.
    let mut head = b"GET /v1.0/applications/\xff\xfe?$filter=\xc3\x28 HTTP/1.1\r\n".to_vec();
    head.extend_from_slice(b"Host: localhost\r\nConnection: close\r\n\r\n");
    let answer = raw_exchange(&emu, &head).await;
    let status: u16 = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    assert!((400..500).contains(&status), "{answer}");
    if status != 400 || answer.contains("{\"error\"") {
        // Reached the emulator: Graph's envelope, not a plain-text rejection.
        assert!(answer.contains("\"innerError\""), "{answer}");
    }
    // A 32 KB path reaches the router and is answered by its service.
    let long = "a".repeat(32 * 1024);
    let head = format!(
        "POST /{tenant}/oauth2/v2.0/token/{long} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_exchange(&emu, head.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "{}",
        &answer[..answer.len().min(300)]
    );
}

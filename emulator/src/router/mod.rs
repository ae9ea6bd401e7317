//! Every route the emulator serves, in one place.

mod fault_answer;
mod faults;
mod hosts;
pub(crate) mod input;

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::OriginalUri;
use axum::extract::Request;
use axum::handler::Handler as _;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{any, delete, get, post};

use crate::catalog::Api;
#[cfg(feature = "monitor")]
use crate::monitor;
#[cfg(feature = "portal")]
use crate::portal;
use crate::services::AppState;
use crate::{arm, control, entra, graph, identity};

/// The emulator's router over `state`, usable without a socket (e.g. with `tower::ServiceExt::oneshot`).
pub(crate) fn router(state: AppState) -> Router {
    // Paths are normalized before routing, so a wrapping layer rather than `Router::layer`
    // (which runs after a route has been chosen).
    let routes = routes(state.clone());
    use tower::Layer as _;
    Router::new()
        .fallback_service(tower::util::MapRequestLayer::new(normalize_path).layer(routes))
        .layer(faults::FaultLayer::new(state))
}

/// Normalizes the path before routing: collapses repeated slashes, as Azure's front ends do
/// (clients that join a base URL ending in `/` with a path starting with `/` — the Azure
/// CLI's cloud discovery does — ask for `//metadata/endpoints`), and spells ARM's first
/// segment as the route table does, since ARM paths are case-insensitive in every segment
/// (`/Subscriptions/…`, see [`crate::catalog::arm_root`]). Handlers read the path as sent
/// (`OriginalUri`), so answers are not affected.
fn normalize_path(mut request: Request) -> Request {
    let uri = request.uri();
    let first = uri.path().trim_start_matches('/').split('/').next();
    let root = first
        .and_then(crate::catalog::arm_root)
        .filter(|root| Some(*root) != first);
    if !uri.path().contains("//") && root.is_none() {
        return request;
    }
    let mut path = String::with_capacity(uri.path().len());
    for c in uri.path().chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    if let Some(root) = root {
        path.replace_range(1..=root.len(), root);
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The route table with its state still to be given. Building it (about sixty routes into
/// the path tree) costs more than the rest of an in-process start, and a test process starts
/// hundreds of emulators, so it is built once per process and cloned (a reference count).
fn routes(state: AppState) -> Router {
    static TABLE: OnceLock<Router<AppState>> = OnceLock::new();
    let app = TABLE
        .get_or_init(table)
        .clone()
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::require_admin_token,
        ))
        // Bad input (wrong method, undecodable path, oversized body) in the owner's envelope.
        .layer(middleware::from_fn_with_state(state.clone(), input::guard));
    host_checked(app, &state.config)
        .layer(middleware::from_fn(echo_client_request_id))
        .layer(middleware::from_fn(log_request))
}

/// `app` behind the host check: a request naming a host `config` does not allow is answered
/// 421 before anything reads it (against DNS rebinding). The playback server
/// ([`crate::Server::serve`]) is put behind it too.
pub(crate) fn host_checked(app: Router, config: &crate::Config) -> Router {
    app.layer(middleware::from_fn_with_state(
        std::sync::Arc::new(config.allowed_hosts()),
        hosts::check,
    ))
}

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const RETURN_CLIENT_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-ms-return-client-request-id");

/// The caller's `x-ms-client-request-id`, echoed in the answer when it asks for it with
/// `x-ms-return-client-request-id: true` and the API does so ([`Api::echoes_client_request_id`]).
async fn echo_client_request_id(request: Request, next: Next) -> Response {
    let echo = request
        .headers()
        .get(RETURN_CLIENT_REQUEST_ID)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
        && Api::of(request.method(), request.uri().path()).echoes_client_request_id();
    let id = echo
        .then(|| request.headers().get(CLIENT_REQUEST_ID).cloned())
        .flatten();
    let mut response = next.run(request).await;
    if let Some(id) = id {
        response.headers_mut().insert(CLIENT_REQUEST_ID, id);
    }
    response
}

fn table() -> Router<AppState> {
    let table = Router::new()
        .merge(entra_routes())
        .merge(graph_routes())
        .merge(arm_routes())
        .merge(identity_routes())
        .merge(control_routes());
    #[cfg(feature = "monitor")]
    let table = table.merge(monitor_routes());
    #[cfg(feature = "portal")]
    let table = table.merge(portal_routes());
    table.fallback(fallback)
}

/// Entra ID: tokens, discovery, keys.
fn entra_routes() -> Router<AppState> {
    Router::new()
        // Entra ID
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token_endpoint))
        .route("/{tenant}/oauth2/token", post(entra::token_endpoint))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(entra::openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(entra::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(entra::jwks))
        .route("/{tenant}/discovery/keys", get(entra::jwks))
        .route("/common/discovery/instance", get(entra::instance_discovery))
}

/// Microsoft Graph v1.0.
fn graph_routes() -> Router<AppState> {
    // An application or service principal (by object id or alternate key), and an
    // application's federated credentials: the same handlers under several paths.
    let object = || {
        get(graph::get_object)
            .patch(graph::update_object)
            .delete(graph::delete_object)
    };
    let credentials = || get(graph::federated::collection).post(graph::federated::collection);
    let credential = || {
        get(graph::federated::item)
            .patch(graph::federated::item)
            .delete(graph::federated::item)
    };
    Router::new()
        .route(
            "/v1.0/applications",
            get(graph::list_apps).post(graph::create_app),
        )
        .route("/v1.0/applications/{id}", object())
        .route(
            "/v1.0/applications/{id}/addPassword",
            post(graph::add_password),
        )
        .route(
            "/v1.0/applications/{id}/removePassword",
            post(graph::remove_password),
        )
        .route("/v1.0/applications/$count", get(graph::owners::count))
        .route("/v1.0/servicePrincipals/$count", get(graph::owners::count))
        .route("/v1.0/applications/{id}/owners", get(graph::owners::list))
        .route(
            "/v1.0/applications/{id}/owners/$ref",
            post(graph::owners::add),
        )
        .route(
            "/v1.0/applications/{id}/owners/{owner}/$ref",
            delete(graph::owners::remove),
        )
        .route("/v1.0/{key}/owners", get(graph::owners::list))
        .route("/v1.0/{key}/owners/$ref", post(graph::owners::add))
        .route(
            "/v1.0/applications/{id}/federatedIdentityCredentials",
            credentials(),
        )
        .route(
            "/v1.0/applications/{id}/federatedIdentityCredentials/{fic}",
            credential(),
        )
        // `federatedIdentityCredentials(name='…')` (upsert by name)
        .route(
            "/v1.0/applications/{id}/{segment}",
            get(graph::federated::by_name)
                .patch(graph::federated::by_name)
                .delete(graph::federated::by_name),
        )
        .route("/v1.0/applications/{id}/addKey", post(graph::add_key))
        .route("/v1.0/applications/{id}/removeKey", post(graph::remove_key))
        .route(
            "/v1.0/servicePrincipals",
            get(graph::list_sps).post(graph::create_sp),
        )
        .route("/v1.0/servicePrincipals/{id}", object())
        // `applications(appId='…')` and `servicePrincipals(appId='…')`
        .route("/v1.0/{key}", object())
        .route("/v1.0/{key}/addPassword", post(graph::add_password))
        .route("/v1.0/{key}/removePassword", post(graph::remove_password))
        .route("/v1.0/{key}/addKey", post(graph::add_key))
        .route("/v1.0/{key}/federatedIdentityCredentials", credentials())
        .route(
            "/v1.0/{key}/federatedIdentityCredentials/{fic}",
            credential(),
        )
        .route("/v1.0/{key}/removeKey", post(graph::remove_key))
        .route(
            "/v1.0/directory/deletedItems/microsoft.graph.application",
            get(graph::list_deleted_apps),
        )
        .route(
            "/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal",
            get(graph::list_deleted_sps),
        )
        .route(
            "/v1.0/directory/deletedItems/{id}",
            get(graph::get_deleted).delete(graph::purge_deleted),
        )
        .route(
            "/v1.0/directory/deletedItems/{id}/restore",
            post(graph::restore_deleted),
        )
        .route("/v1.0/directoryObjects/getByIds", post(graph::get_by_ids))
}

/// Azure Resource Manager.
fn arm_routes() -> Router<AppState> {
    Router::new()
        // Azure Resource Manager: paths of any depth, mapped onto operations by the table in
        // `arm::route` (custom metrics, `POST {resourceId}/metrics`, arrive here too).
        .route("/subscriptions", any(arm::dispatch))
        .route("/subscriptions/{*rest}", any(arm_paths))
        .route("/providers", any(arm::dispatch))
        .route("/providers/{*rest}", any(arm_paths))
        .route("/tenants", any(arm::dispatch))
        .route("/metadata/endpoints", get(arm::metadata_endpoints))
}

/// The managed identity endpoints: IMDS and App Service's `IDENTITY_ENDPOINT`.
fn identity_routes() -> Router<AppState> {
    Router::new()
        .route("/metadata/identity/oauth2/token", get(identity::imds_token))
        .route("/msi/token", get(identity::app_service_token))
}

/// The Azure Monitor data planes, and the control API that seeds their tables.
#[cfg(feature = "monitor")]
fn monitor_routes() -> Router<AppState> {
    Router::new()
        // Azure Monitor: Log Analytics and Application Insights query APIs, Logs Ingestion
        // (custom metrics and the metrics read API arrive through ARM's dispatcher above)
        .route(
            "/v1/workspaces/{workspace}/query",
            any(monitor::logs::query),
        )
        .route("/v1/apps/{app}/query", any(monitor::app_insights::query))
        .route(
            "/v1/apps/{app}/metrics/{*metric}",
            any(monitor::app_insights::metric),
        )
        .route(
            "/v1/apps/{app}/events/{event}",
            any(monitor::app_insights::events),
        )
        .route(
            "/v1/apps/{app}/events/{event}/{id}",
            any(monitor::app_insights::events),
        )
        .route("/v1/$batch", any(monitor::batch::batch))
        .route("/v1/{*rest}", any(monitor::logs::resource_query))
        .route(
            "/dataCollectionRules/{rule}/streams/{stream}",
            any(monitor::ingestion::upload),
        )
        .route(
            "/_emulator/monitor/workspaces/{workspace}/tables/{table}",
            post(control::tables::seed_workspace),
        )
        .route(
            "/_emulator/monitor/apps/{app}/tables/{table}",
            post(control::tables::seed_app),
        )
}

/// The emulator's control API.
fn control_routes() -> Router<AppState> {
    Router::new()
        // Emulator control API
        .route("/_emulator/health", get(control::health))
        .route("/_emulator/clock", get(control::clock))
        .route("/_emulator/clock/advance", post(control::advance))
        .route("/_emulator/reset", post(control::reset))
        .route("/_emulator/keys/rotate", post(control::rotate_keys))
        .route("/_emulator/seed", post(control::seed))
        .route(
            "/_emulator/subscriptions",
            get(control::subscriptions::list_subscriptions)
                .post(control::subscriptions::create_subscription),
        )
        .route(
            "/_emulator/rbac/pending",
            get(control::subscriptions::pending),
        )
        .route(
            "/_emulator/faults",
            get(control::faults::list)
                .post(control::faults::add)
                .delete(control::faults::clear),
        )
        .route("/_emulator/faults/{id}", delete(control::faults::remove))
        .route(
            "/_emulator/issuer/.well-known/openid-configuration",
            get(control::issuer::discovery),
        )
        .route("/_emulator/issuer/keys", get(control::issuer::keys))
        .route("/_emulator/issuer/token", post(control::issuer::mint))
        .route(
            "/_emulator/managed-identity",
            get(control::identity::get).put(control::identity::put),
        )
        .route(
            "/_emulator/{*rest}",
            get(control::not_found).post(control::not_found),
        )
}

/// The portal (HTML for people; forms POST and redirect).
#[cfg(feature = "portal")]
fn portal_routes() -> Router<AppState> {
    Router::new()
        // Portal (HTML for people; forms POST and redirect)
        .route("/_emulator/portal", get(portal::overview))
        .route("/_emulator/portal/assets/portal.css", get(portal::css))
        .route("/_emulator/portal/assets/portal.js", get(portal::js))
        .route(
            "/_emulator/portal/clock/advance",
            post(portal::advance_clock),
        )
        .route(
            "/_emulator/portal/apps",
            get(portal::apps).post(portal::create_app),
        )
        .route("/_emulator/portal/apps/new", get(portal::new_app))
        .route("/_emulator/portal/apps/{id}", get(portal::app))
        .route(
            "/_emulator/portal/apps/{id}/service-principal",
            post(portal::create_sp),
        )
        .route(
            "/_emulator/portal/apps/{id}/secrets",
            get(portal::secrets).post(portal::create_secret),
        )
        .route(
            "/_emulator/portal/apps/{id}/secrets/{key}/delete",
            post(portal::delete_secret),
        )
        .route("/_emulator/portal/resources", get(portal::resources))
        .route(
            "/_emulator/portal/resource-groups",
            post(portal::create_group),
        )
        .route("/_emulator/portal/iam", get(portal::iam))
        .route(
            "/_emulator/portal/iam/assignments",
            post(portal::add_assignment),
        )
        .route(
            "/_emulator/portal/iam/assignments/delete",
            post(portal::remove_assignment),
        )
        .route("/_emulator/portal/{*rest}", any(portal::not_found))
}

/// `/subscriptions/…` and `/providers/…`: ARM's, but for custom metrics ingestion
/// (`POST {resourceId}/metrics`), which the catalog tells apart and which answers with ARM's
/// headers too.
async fn arm_paths(state: AppState, request: Request) -> Response {
    #[cfg(feature = "monitor")]
    if is_custom_metrics(&request) {
        return custom_metrics.call(request, state).await;
    }
    arm::dispatch.call(request, state).await
}

/// Whether the catalog gives the request, by the path as sent, to custom metrics.
#[cfg(feature = "monitor")]
fn is_custom_metrics(request: &Request) -> bool {
    let path = match request.extensions().get::<OriginalUri>() {
        Some(OriginalUri(sent)) => sent.path(),
        None => request.uri().path(),
    };
    Api::of(request.method(), path) == Api::CustomMetrics
}

/// Custom metrics ingestion, with ARM's headers.
#[cfg(feature = "monitor")]
async fn custom_metrics(
    state: AppState,
    (method, OriginalUri(uri), headers, bearer, body): arm::Parts,
) -> Response {
    let response = monitor::custom_metrics::ingest(&state, uri.path(), &bearer, &headers, body);
    arm::with_arm_headers(response, &state, &method, uri.path(), &headers)
}

/// Unknown paths, answered in the envelope of the service the path belongs to.
async fn fallback(state: AppState, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let path = uri.path();
    if Api::of(&method, path) == Api::Graph {
        return graph::unknown_segment(&state, &headers, path);
    }
    (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({
        "error": {"code": "NotFound", "message": format!("No emulated service serves '{path}'.")}
    })))
        .into_response()
}

/// One log line per request: method, path (never the query or body, which may carry
/// secrets), status and latency.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "entra_emulator::request",
        "{method} {path} {} {:.1}ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

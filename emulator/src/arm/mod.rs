//! Azure Resource Manager: subscriptions, tenants, resource groups, generic resources, role
//! definitions and role assignments, behind ARM's front door (api-version, token, RBAC).
//!
//! ARM paths have arbitrary depth (a role assignment can hang below any resource), so the
//! router sends `/subscriptions/…`, `/providers/…` and `/tenants` here and `route` maps the
//! decoded path onto one `Route` — the table of every operation served. Each request then
//! goes through the same front door: `api-version` present and supported for its route,
//! bearer token valid for ARM, the caller allowed the route's action at its scope; and
//! every answer, success or error, carries ARM's headers.

pub(crate) mod authorization;
mod error;
mod generic;
mod groups;
mod metadata;
#[cfg(feature = "monitor")]
pub(crate) mod metrics;
mod providers;
mod subscriptions;
mod versions;

use axum::body::Body;
use axum::extract::OriginalUri;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) use crate::resources::regions;
use crate::services::access;
pub(crate) use crate::services::access::known_subscription;
pub(crate) use error::{ALLOWED_AUDIENCES, ArmError};
pub(crate) use metadata::metadata_endpoints;

use crate::http::bearer::{AuthFailure, Bearer};
use crate::http::{percent_decode, request_base};

use crate::rbac::{Plane, Scope};
use crate::resources::ArmStore;
use crate::services::AppState;
use crate::token::TokenError;

/// Every operation the emulated ARM serves, as [`route`] recognizes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /subscriptions`
    Subscriptions,
    /// `GET /subscriptions/{s}`
    Subscription(String),
    /// `GET /tenants`
    Tenants,
    /// `GET /subscriptions/{s}/resourcegroups`
    Groups(String),
    /// `GET|HEAD|PUT|PATCH|DELETE /subscriptions/{s}/resourcegroups/{rg}`
    Group(String, String),
    /// `GET /subscriptions/{s}/resourcegroups/{rg}/resources`
    GroupResources(String, String),
    /// `GET /subscriptions/{s}/resources`
    SubscriptionResources(String),
    /// `GET /subscriptions/{s}/operationresults/{token}` (resource group deletion polling)
    OperationResult(String, String),
    /// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`
    RoleAssignments(String),
    /// `GET|PUT|DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`
    RoleAssignment(String, String),
    /// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions`
    RoleDefinitions(String),
    /// `GET|PUT|DELETE {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`
    RoleDefinition(String, String),
    /// `GET /subscriptions/{s}/resourcegroups/{rg}/providers/{ns}/{type}`
    ResourcesOfType(generic::Address),
    /// `GET|PUT|PATCH|DELETE /subscriptions/{s}/resourcegroups/{rg}/providers/{ns}/{type}/{name}[/{child}/{name}…]`
    Resource(generic::Address),
    /// `GET /subscriptions/{s}/providers`
    Providers(String),
    /// `GET /subscriptions/{s}/providers/{namespace}`
    Provider(String, String),
    /// `POST /subscriptions/{s}/providers/{namespace}/register` (`true`) or `/unregister`
    RegisterProvider(String, String, bool),
    /// `GET /subscriptions/{s}/locations`
    Locations(String),
    /// `GET {resourceId}/providers/Microsoft.Insights/metrics`
    Metrics(String),
    /// `GET {resourceId}/providers/Microsoft.Insights/metricDefinitions`
    MetricDefinitions(String),
    /// `GET {resourceId}/providers/Microsoft.Insights/metricNamespaces`
    MetricNamespaces(String),
}

/// Maps decoded path segments onto a [`Route`], or the error ARM gives for the path.
/// `version` only feeds the wording of "unknown type" errors.
pub(crate) fn route(segs: &[&str], version: &str) -> Result<Route, ArmError> {
    let unknown = |namespace: &str, resource_type: &[&str]| ArmError::InvalidResourceType {
        resource_type: resource_type.join("/"),
        namespace: namespace.to_owned(),
        version: version.to_owned(),
        supported: None,
    };
    if let Some(route) = authorization_route(segs).or_else(|| metrics_route(segs)) {
        return Ok(route);
    }
    let [first, rest @ ..] = segs else {
        return Err(ArmError::MissingSubscription);
    };
    if first.eq_ignore_ascii_case("tenants") && rest.is_empty() {
        return Ok(Route::Tenants);
    }
    if !first.eq_ignore_ascii_case("subscriptions") {
        return Err(ArmError::MissingSubscription);
    }
    let [sub, rest @ ..] = rest else {
        return Ok(Route::Subscriptions);
    };
    let sub = (*sub).to_owned();
    let word = |i: usize, w: &str| rest.get(i).is_some_and(|s| s.eq_ignore_ascii_case(w));
    match rest {
        [] => Ok(Route::Subscription(sub)),
        [_] if word(0, "resourcegroups") => Ok(Route::Groups(sub)),
        [_] if word(0, "resources") => Ok(Route::SubscriptionResources(sub)),
        [_] if word(0, "providers") => Ok(Route::Providers(sub)),
        [_] if word(0, "locations") => Ok(Route::Locations(sub)),
        [_, ns] if word(0, "providers") => Ok(Route::Provider(sub, (*ns).to_owned())),
        [_, ns, _] if word(0, "providers") && (word(2, "register") || word(2, "unregister")) => Ok(
            Route::RegisterProvider(sub, (*ns).to_owned(), word(2, "register")),
        ),
        [_, token] if word(0, "operationresults") => {
            Ok(Route::OperationResult(sub, (*token).to_owned()))
        }
        [_, rg] if word(0, "resourcegroups") => Ok(Route::Group(sub, (*rg).to_owned())),
        [_, rg, _] if word(0, "resourcegroups") && word(2, "resources") => {
            Ok(Route::GroupResources(sub, (*rg).to_owned()))
        }
        [_, rg, _, provider @ ..] if word(0, "resourcegroups") && word(2, "providers") => {
            generic::address(&sub, rg, provider, version)
        }
        [_, _, other, ..] if word(0, "resourcegroups") => {
            Err(unknown("Microsoft.Resources", &["resourceGroups", other]))
        }
        [other, ..] => Err(unknown("Microsoft.Resources", &[other])),
    }
}

/// `{scope}/providers/Microsoft.Authorization/role{Assignments,Definitions}[/{name}]`, where
/// `{scope}` is any prefix (the tenant root included).
fn authorization_route(segs: &[&str]) -> Option<Route> {
    let n = segs.len();
    let (at, name) = match n {
        n if n >= 4 && segs[n - 4].eq_ignore_ascii_case("providers") => (n - 4, Some(segs[n - 1])),
        n if n >= 3 && segs[n - 3].eq_ignore_ascii_case("providers") => (n - 3, None),
        _ => return None,
    };
    if !segs[at + 1].eq_ignore_ascii_case("Microsoft.Authorization") {
        return None;
    }
    let scope = format!("/{}", segs[..at].join("/"));
    let kind = segs[at + 2];
    Some(match name {
        None if kind.eq_ignore_ascii_case("roleAssignments") => Route::RoleAssignments(scope),
        None if kind.eq_ignore_ascii_case("roleDefinitions") => Route::RoleDefinitions(scope),
        Some(name) if kind.eq_ignore_ascii_case("roleAssignments") => {
            Route::RoleAssignment(scope, name.to_owned())
        }
        Some(id) if kind.eq_ignore_ascii_case("roleDefinitions") => {
            Route::RoleDefinition(scope, id.to_owned())
        }
        _ => return None,
    })
}

/// `{resourceId}/providers/Microsoft.Insights/{metrics|metricDefinitions|metricNamespaces}`:
/// the Azure Monitor metrics API, an extension of any resource (without the `monitor`
/// feature, ARM answers that it does not serve it).
fn metrics_route(segs: &[&str]) -> Option<Route> {
    let [scope @ .., providers, namespace, kind] = segs else {
        return None;
    };
    if !providers.eq_ignore_ascii_case("providers")
        || !namespace.eq_ignore_ascii_case("Microsoft.Insights")
        || scope.is_empty()
    {
        return None;
    }
    let scope = format!("/{}", scope.join("/"));
    match kind.to_ascii_lowercase().as_str() {
        "metrics" => Some(Route::Metrics(scope)),
        "metricdefinitions" => Some(Route::MetricDefinitions(scope)),
        "metricnamespaces" => Some(Route::MetricNamespaces(scope)),
        _ => None,
    }
}

/// The query parameters ARM operations read.
#[derive(Debug, Default, Clone)]
pub(crate) struct Query {
    /// `api-version`.
    pub(crate) api_version: Option<String>,
    /// `$filter`.
    pub(crate) filter: Option<String>,
    /// `$skipToken` (paging).
    pub(crate) skip_token: Option<String>,
    /// Every parameter as sent, for operations that read their own (the metrics API).
    pub(crate) all: Vec<(String, String)>,
}

impl Query {
    /// The first parameter called `name` (compared case-insensitively).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.all
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn parse(raw: Option<&str>) -> Self {
        let mut q = Query::default();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            q.all.push((k.clone().into_owned(), v.clone().into_owned()));
            let slot = match k.to_ascii_lowercase().as_str() {
                "api-version" => &mut q.api_version,
                "$filter" => &mut q.filter,
                "$skiptoken" => &mut q.skip_token,
                _ => continue,
            };
            slot.get_or_insert_with(|| v.into_owned());
        }
        q
    }
}

/// One authenticated ARM request.
pub(crate) struct Call<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) method: Method,
    /// The base URL the client used.
    pub(crate) base: String,
    pub(crate) now: OffsetDateTime,
    pub(crate) query: Query,
    /// The `api-version` (validated).
    pub(crate) version: String,
    /// The caller's object id.
    pub(crate) caller: Uuid,
    pub(crate) body: Bytes,
}

impl Call<'_> {
    /// Whether the caller may do `action` at `scope` as ARM sees assignments now.
    pub(crate) fn allowed(&self, store: &ArmStore, action: &str, scope: &Scope) -> bool {
        access::allowed(store, &self.caller, action, scope, self.now)
    }

    /// [`Call::allowed`] or ARM's 403.
    pub(crate) fn require(
        &self,
        store: &ArmStore,
        action: &str,
        scope: &Scope,
    ) -> Result<(), ArmError> {
        access::require(store, &self.caller, action, scope, self.now)
    }

    /// Whether a list in the subscription may show everything (`action` granted there); else
    /// whether it may show a part (any role within), or ARM's 403 naming `action`.
    pub(crate) fn list_access(
        &self,
        store: &ArmStore,
        action: &str,
        sub_scope: &Scope,
    ) -> Result<bool, ArmError> {
        if self.allowed(store, action, sub_scope) {
            return Ok(true);
        }
        if store
            .authz
            .has_access_within(&self.caller, sub_scope, Plane::Arm, self.now)
        {
            return Ok(false);
        }
        Err(ArmError::AuthorizationFailed {
            principal: self.caller,
            action: action.to_owned(),
            scope: sub_scope.as_str().to_owned(),
        })
    }

    /// The request body as a JSON object, or ARM's `InvalidRequestContent`.
    pub(crate) fn json_body(&self) -> Result<serde_json::Map<String, Value>, ArmError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ArmError::InvalidRequestContent(
                "The request content is empty".to_owned(),
            ));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(ArmError::InvalidRequestContent(format!(
                "Expected a JSON object but found {}",
                json_kind(&other)
            ))),
            Err(e) => Err(ArmError::InvalidRequestContent(e.to_string())),
        }
    }
}

/// An optional string member of a body object (absent or null: `None`), or ARM's
/// `InvalidRequestContent` naming it as `{prefix}{key}` (e.g. `properties.description`).
pub(crate) fn optional_string(
    object: &serde_json::Map<String, Value>,
    key: &str,
    prefix: &str,
) -> Result<Option<String>, ArmError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ArmError::InvalidRequestContent(format!(
            "Property '{prefix}{key}' must be a string, not {}",
            json_kind(other)
        ))),
    }
}

/// The JSON type name of a value, for error messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON answer with ARM's content type.
pub(crate) fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    // Serializing strings, numbers, maps and lists into memory cannot fail.
    let mut response = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An empty answer.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

impl From<AuthFailure> for ArmError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Missing => ArmError::MissingAuthorization,
            AuthFailure::Malformed => ArmError::MalformedAuthorization,
            AuthFailure::WrongAudience(aud) => ArmError::WrongAudience(aud),
            AuthFailure::Empty => ArmError::InvalidToken,
            AuthFailure::Invalid { error, now, tenant } => match error {
                TokenError::Expired { exp } => ArmError::ExpiredToken {
                    exp: OffsetDateTime::from_unix_timestamp(exp)
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    now,
                },
                TokenError::WrongIssuer(issuer) => ArmError::WrongTenant { issuer, tenant },
                TokenError::WrongTenant(tid) => ArmError::WrongTenant {
                    issuer: format!("https://sts.windows.net/{tid}/"),
                    tenant,
                },
                // A token used before its nbf: ARM's wording for it was not found; the generic
                // invalid-token answer is a guess.
                _ => ArmError::InvalidToken,
            },
        }
    }
}

/// The parts of a request on ARM's paths that [`dispatch`] reads, extracted in this order
/// (custom metrics, served on the same paths, take them too).
pub(crate) type Parts = (Method, OriginalUri, HeaderMap, Bearer, Bytes);

/// Every ARM request: `/subscriptions…`, `/providers…`, `/tenants` (custom metrics, which
/// share the paths, are told apart by the router; see [`crate::catalog`]).
pub(crate) async fn dispatch(
    state: AppState,
    (method, OriginalUri(uri), headers, bearer, body): Parts,
) -> Response {
    let now = state.clock.now();
    let path = percent_decode(uri.path());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let base = request_base(&state, &headers);
    let query = Query::parse(uri.query());
    let mut response = match serve(
        &state,
        method.clone(),
        &segs,
        query,
        &headers,
        &bearer,
        base.clone(),
        body,
        now,
    ) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    decorate(&mut response, &state, &method, &segs, &headers, &base, now);
    response
}

/// ARM takes bodies only as `application/json` (parameters such as `charset` allowed).
fn check_json_content_type(headers: &HeaderMap) -> Result<(), ArmError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let is_json = declared
        .as_deref()
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(ArmError::UnsupportedMediaType(declared))
    }
}

/// ARM's answer to a request refused before it reached [`dispatch`] (see [`crate::router::input`]):
/// `error` rendered with the headers every ARM answer carries.
pub(crate) fn refuse(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    error: ArmError,
) -> Response {
    with_arm_headers(error.into_response(), state, method, path, headers)
}

/// `response` with the headers every ARM answer carries (custom metrics, which the emulator
/// serves on ARM's paths, answer with them too).
pub(crate) fn with_arm_headers(
    mut response: Response,
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response {
    let now = state.clock.now();
    let path = percent_decode(path);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let base = request_base(state, headers);
    decorate(&mut response, state, method, &segs, headers, &base, now);
    response
}

#[allow(clippy::too_many_arguments)] // one request's parts, passed straight through
fn serve(
    state: &AppState,
    method: Method,
    segs: &[&str],
    query: Query,
    headers: &HeaderMap,
    bearer: &Bearer,
    base: String,
    body: Bytes,
    now: OffsetDateTime,
) -> Result<Response, ArmError> {
    let version = query
        .api_version
        .clone()
        .ok_or(ArmError::MissingApiVersion)?;
    let route = route(segs, &version)?;
    versions::check(&route, &version)
        .map_err(|e| providers::unserved_version(state, &method, &route, &body, &version, e))?;
    let caller = bearer.caller(|aud| ALLOWED_AUDIENCES.contains(&aud))?;
    if !body.is_empty() && matches!(method, Method::PUT | Method::PATCH | Method::POST) {
        check_json_content_type(headers)?;
    }
    let call = Call {
        state,
        method,
        base,
        now,
        query,
        version,
        caller,
        body,
    };
    let m = call.method.clone();
    let unsupported = |collection: bool| ArmError::MethodNotSupported {
        method: m.to_string(),
        collection,
    };
    // The operation table: every (route, method) the emulated ARM serves and its handler.
    // Custom metrics (`POST {resourceId}/metrics`) are caught earlier, in `dispatch`.
    match route {
        Route::Subscriptions if m == Method::GET => subscriptions::list(&call),
        Route::Subscription(sub) if m == Method::GET => subscriptions::get(&call, &sub),
        Route::Tenants if m == Method::GET => subscriptions::tenants(&call),
        Route::Groups(sub) if m == Method::GET => groups::list(&call, &sub),
        Route::Group(sub, rg) => match m {
            Method::GET | Method::HEAD => groups::get(&call, &sub, &rg),
            Method::PUT => groups::put(&call, &sub, &rg),
            Method::PATCH => groups::patch(&call, &sub, &rg),
            Method::DELETE => groups::delete(&call, &sub, &rg),
            _ => Err(unsupported(false)),
        },
        Route::Providers(sub) if m == Method::GET => providers::list(&call, &sub),
        Route::Provider(sub, ns) if m == Method::GET => providers::get(&call, &sub, &ns),
        Route::RegisterProvider(sub, ns, register) if m == Method::POST => {
            providers::register(&call, &sub, &ns, register)
        }
        Route::Locations(sub) if m == Method::GET => providers::locations(&call, &sub),
        Route::GroupResources(sub, rg) if m == Method::GET => {
            generic::list_in_group(&call, &sub, &rg)
        }
        Route::SubscriptionResources(sub) if m == Method::GET => {
            generic::list_in_subscription(&call, &sub)
        }
        Route::OperationResult(sub, token) if m == Method::GET => {
            groups::operation_result(&call, &sub, &token)
        }
        Route::RoleAssignments(scope) if m == Method::GET => {
            authorization::list_assignments(&call, &scope)
        }
        Route::RoleAssignment(scope, name) => match m {
            Method::GET => authorization::get_assignment(&call, &scope, &name),
            Method::PUT => authorization::put_assignment(&call, &scope, &name),
            Method::DELETE => authorization::delete_assignment(&call, &scope, &name),
            _ => Err(unsupported(false)),
        },
        Route::RoleDefinitions(scope) if m == Method::GET => {
            authorization::list_definitions(&call, &scope)
        }
        Route::RoleDefinition(scope, id) => match m {
            Method::GET => authorization::get_definition(&call, &scope, &id),
            Method::PUT => authorization::put_definition(&call, &scope, &id),
            Method::DELETE => authorization::delete_definition(&call, &scope, &id),
            _ => Err(unsupported(false)),
        },
        Route::ResourcesOfType(address) if m == Method::GET => {
            generic::list_of_type(&call, &address)
        }
        Route::Resource(address)
            if matches!(m, Method::PUT | Method::PATCH) && {
                let store = call.state.arm();
                !providers::writable(&store, &address)
            } =>
        {
            Err(ArmError::MissingSubscriptionRegistration(
                address.namespace.clone(),
            ))
        }
        Route::Resource(address) => match m {
            Method::GET => generic::get(&call, &address),
            Method::PUT => generic::put(&call, &address),
            Method::PATCH => generic::patch(&call, &address),
            Method::DELETE => generic::delete(&call, &address),
            _ => Err(unsupported(false)),
        },
        #[cfg(feature = "monitor")]
        Route::Metrics(scope) if m == Method::GET => metrics::list(&call, &scope),
        #[cfg(feature = "monitor")]
        Route::MetricDefinitions(scope) if m == Method::GET => metrics::definitions(&call, &scope),
        #[cfg(feature = "monitor")]
        Route::MetricNamespaces(scope) if m == Method::GET => metrics::namespaces(&call, &scope),
        _ => Err(unsupported(true)),
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
const CORRELATION_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-correlation-request-id");
const ROUTING_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-routing-request-id");

/// `value` in decimal, zero-padded to `width` digits.
fn push_digits(out: &mut Vec<u8>, value: u32, width: u32) {
    for i in (0..width).rev() {
        let digit = (value / 10u32.pow(i)) % 10;
        out.push(b'0' + u8::try_from(digit).unwrap_or_default());
    }
}

/// Headers every ARM answer carries, and the bearer challenge on 401s. Names and fixed
/// values are static: this runs on every ARM call.
fn decorate(
    response: &mut Response,
    state: &AppState,
    method: &Method,
    segs: &[&str],
    headers: &HeaderMap,
    base: &str,
    now: OffsetDateTime,
) {
    let correlation = headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::new_v4);
    let request_id = correlation;
    let utc = now.to_offset(time::UtcOffset::UTC);
    let subscription = segs
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("subscriptions"))
        && segs.len() > 1;
    // ARM's remaining-requests header: level by subscription or tenant, kind by method.
    let (ratelimit, remaining) = match (
        *method == Method::GET || *method == Method::HEAD,
        *method == Method::DELETE,
        subscription,
    ) {
        (true, _, true) => ("x-ms-ratelimit-remaining-subscription-reads", "11999"),
        (true, _, false) => ("x-ms-ratelimit-remaining-tenant-reads", "11999"),
        (_, true, true) => ("x-ms-ratelimit-remaining-subscription-deletes", "14999"),
        (_, true, false) => ("x-ms-ratelimit-remaining-tenant-deletes", "14999"),
        (_, _, true) => ("x-ms-ratelimit-remaining-subscription-writes", "1199"),
        (_, _, false) => ("x-ms-ratelimit-remaining-tenant-writes", "1199"),
    };
    let unauthorized = response.status() == StatusCode::UNAUTHORIZED;
    if *method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    let mut id_buf = Uuid::encode_buffer();
    let id = request_id.as_hyphenated().encode_lower(&mut id_buf);
    let h = response.headers_mut();
    h.reserve(10);
    let fixed = HeaderValue::from_static;
    h.insert(header::CACHE_CONTROL, fixed("no-cache"));
    h.insert(header::PRAGMA, fixed("no-cache"));
    h.insert(header::EXPIRES, fixed("-1"));
    if let Ok(id) = HeaderValue::from_str(id) {
        h.insert(REQUEST_ID, id.clone());
        h.insert(CORRELATION_REQUEST_ID, id);
    }
    // The region part is the emulator's own label, not an Azure region.
    // `LOCAL:yyyymmddThhmmssZ:{id}`, written digit by digit (no formatting machinery).
    let mut routing = Vec::with_capacity(60);
    routing.extend_from_slice(b"LOCAL:");
    let year = u32::try_from(utc.year()).unwrap_or_default();
    for (value, width) in [
        (year, 4),
        (u32::from(u8::from(utc.month())), 2),
        (u32::from(utc.day()), 2),
    ] {
        push_digits(&mut routing, value, width);
    }
    routing.push(b'T');
    for value in [utc.hour(), utc.minute(), utc.second()] {
        push_digits(&mut routing, u32::from(value), 2);
    }
    routing.extend_from_slice(b"Z:");
    routing.extend_from_slice(id.as_bytes());
    if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(routing)) {
        h.insert(ROUTING_REQUEST_ID, v);
    }
    h.insert(HeaderName::from_static(ratelimit), fixed(remaining));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        fixed("max-age=31536000; includeSubDomains"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, fixed("nosniff"));
    if unauthorized {
        // Tools read the tenant from the challenge when the subscription is known.
        let known = subscription
            && Uuid::parse_str(segs[1])
                .ok()
                .is_some_and(|id| state.arm().subscription(&id).is_some());
        let uri = if known {
            format!("{base}/{}", state.config.tenant_id)
        } else {
            format!("{base}/")
        };
        let description = if headers.contains_key(header::AUTHORIZATION) {
            "The access token is invalid."
        } else {
            "The authentication failed because of missing 'Authorization' header."
        };
        if let Ok(v) = HeaderValue::try_from(format!(
            "Bearer authorization_uri=\"{uri}\", error=\"invalid_token\", error_description=\"{description}\""
        )) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(path: &str) -> Result<Route, ArmError> {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        route(&segs, "2022-09-01")
    }

    #[test]
    fn the_route_table_recognizes_every_operation() {
        assert_eq!(r("/subscriptions"), Ok(Route::Subscriptions));
        assert_eq!(r("/tenants"), Ok(Route::Tenants));
        assert_eq!(r("/subscriptions/s"), Ok(Route::Subscription("s".into())));
        assert_eq!(
            r("/subscriptions/s/resourcegroups"),
            Ok(Route::Groups("s".into()))
        );
        assert_eq!(
            r("/subscriptions/s/resourceGroups/rg"),
            Ok(Route::Group("s".into(), "rg".into()))
        );
        assert_eq!(
            r("/subscriptions/s/resourceGroups/rg/resources"),
            Ok(Route::GroupResources("s".into(), "rg".into()))
        );
        assert_eq!(
            r("/subscriptions/s/resources"),
            Ok(Route::SubscriptionResources("s".into()))
        );
        assert_eq!(
            r("/subscriptions/s/operationresults/abc"),
            Ok(Route::OperationResult("s".into(), "abc".into()))
        );
        assert_eq!(
            r(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a/providers/Microsoft.Authorization/roleAssignments/n"
            ),
            Ok(Route::RoleAssignment(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a".into(),
                "n".into()
            ))
        );
        assert_eq!(
            r("/subscriptions/s/providers/microsoft.authorization/roleassignments"),
            Ok(Route::RoleAssignments("/subscriptions/s".into()))
        );
        assert_eq!(
            r("/providers/Microsoft.Authorization/roleDefinitions/x"),
            Ok(Route::RoleDefinition("/".into(), "x".into()))
        );
        assert_eq!(
            r("/providers/Microsoft.Authorization/roleDefinitions"),
            Ok(Route::RoleDefinitions("/".into()))
        );
        assert!(matches!(
            r("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a"),
            Ok(Route::Resource(_))
        ));
        assert!(matches!(
            r("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites"),
            Ok(Route::ResourcesOfType(_))
        ));
    }

    #[test]
    fn unknown_paths_get_arm_errors() {
        assert_eq!(
            r("/providers/Microsoft.Web/sites"),
            Err(ArmError::MissingSubscription)
        );
        assert_eq!(r("/rg/providers/x"), Err(ArmError::MissingSubscription));
        assert!(matches!(
            r("/subscriptions/s/bogus"),
            Err(ArmError::InvalidResourceType { .. })
        ));
        assert!(matches!(
            r("/subscriptions/s/resourceGroups/rg/bogus"),
            Err(ArmError::InvalidResourceType { .. })
        ));
        assert_eq!(
            r("/subscriptions/s/resourceGroups/rg/providers/hostGroups/x/y"),
            Err(ArmError::InvalidResourceNamespace("hostGroups".into()))
        );
    }

    #[test]
    fn digits_are_zero_padded() {
        let mut out = Vec::new();
        push_digits(&mut out, 2025, 4);
        push_digits(&mut out, 7, 2);
        push_digits(&mut out, 0, 2);
        assert_eq!(out, b"20250700");
    }

    #[test]
    fn arm_datetimes_have_seven_fraction_digits() {
        let t = time::macros::datetime!(2023-08-23 12:44:00.9627354 UTC);
        assert_eq!(
            crate::resources::arm_datetime(t),
            "2023-08-23T12:44:00.9627354Z"
        );
    }
}

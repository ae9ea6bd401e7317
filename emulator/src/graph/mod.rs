//! Microsoft Graph v1.0: applications, their password credentials, service principals,
//! deleted items and `directoryObjects/getByIds`.

mod error;
mod identifier_uri;
pub mod odata;
pub mod render;

use std::borrow::Cow;

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub use error::GraphError;

use self::odata::{Filter, FilterError};
use crate::directory::{Application, DirError, Directory, ServicePrincipal};
use crate::entra::resources::{GRAPH, same_identifier};
use crate::http::request_base;
use crate::secret;
use crate::state::AppState;
use crate::token::{self, Claims, TokenError};

const METADATA: &str = "https://graph.microsoft.com/v1.0/$metadata";
const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
/// App roles that allow reading applications and service principals.
const READ_ROLES: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// App roles that allow changing them.
const WRITE_ROLES: &[&str] = &["Application.ReadWrite.All"];
/// Default and largest page sizes of directory collections.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 999;

/// Per-request context: ids and date for the error envelope and headers.
#[derive(Debug)]
pub struct Ctx {
    request_id: Uuid,
    client_request_id: String,
    date: String,
    now: OffsetDateTime,
    base: String,
}

impl Ctx {
    fn new(state: &AppState, headers: &HeaderMap) -> Self {
        let request_id = Uuid::new_v4();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map_or_else(|| request_id.to_string(), str::to_owned);
        let now = state.clock.now();
        let date = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        Self {
            request_id,
            client_request_id,
            date,
            now,
            base: request_base(state, headers),
        }
    }

    fn inner_error(&self) -> Value {
        error::inner_error(&self.date, &self.request_id, &self.client_request_id)
    }

    fn decorate(&self, headers: &mut HeaderMap) {
        let id = HeaderValue::from_str(&self.request_id.to_string());
        if let Ok(id) = id {
            headers.insert("request-id", id);
        }
        if let Ok(v) = HeaderValue::from_str(&self.client_request_id) {
            headers.insert("client-request-id", v);
        }
        headers.insert(
            "x-ms-ags-diagnostic",
            HeaderValue::from_static(
                r#"{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"EMULATOR"}}"#,
            ),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }

    fn json(&self, status: StatusCode, body: Value) -> Response {
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
        headers.insert("odata-version", HeaderValue::from_static("4.0"));
        self.decorate(headers);
        response
    }

    fn no_content(&self) -> Response {
        let mut response = StatusCode::NO_CONTENT.into_response();
        self.decorate(response.headers_mut());
        response
    }

    fn respond(&self, result: Result<Response, GraphError>) -> Response {
        result.unwrap_or_else(|e| e.into_response_with(self))
    }
}

/// An authenticated Graph request: its context and the caller's token claims.
#[derive(Debug)]
pub struct Caller {
    ctx: Ctx,
    claims: Claims,
}

impl Caller {
    fn require(&self, roles: &[&str]) -> Result<(), GraphError> {
        if roles.iter().any(|r| self.claims.has_role(r)) {
            Ok(())
        } else {
            Err(GraphError::Forbidden)
        }
    }
}

fn authenticate(state: &AppState, headers: &HeaderMap, ctx: &Ctx) -> Result<Claims, GraphError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or(GraphError::EmptyToken)?;
    let claims = token::validate(
        bearer,
        &state.keys,
        &state.instance_tag,
        &state.config.tenant_id,
        ctx.now,
    )
    .map_err(|e| match e {
        TokenError::Malformed => GraphError::UnparsableToken,
        TokenError::Expired { .. } | TokenError::NotYetValid { .. } => GraphError::ExpiredToken,
        _ => GraphError::InvalidToken,
    })?;
    let graph_audience = GRAPH
        .identifiers
        .iter()
        .any(|i| same_identifier(i, &claims.aud))
        || claims.aud.eq_ignore_ascii_case(&GRAPH.app_id.to_string())
        || same_identifier(&claims.aud, &ctx.base)
        || same_identifier(&claims.aud, &state.base_url);
    if !graph_audience {
        return Err(GraphError::InvalidAudience);
    }
    Ok(claims)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = Ctx::new(state, &parts.headers);
        match authenticate(state, &parts.headers, &ctx) {
            Ok(claims) => Ok(Self { ctx, claims }),
            Err(e) => Err(e.into_response_with(&ctx)),
        }
    }
}

fn parse_id(raw: &str) -> Result<Uuid, GraphError> {
    Uuid::parse_str(raw).map_err(|_| GraphError::InvalidId(raw.to_owned()))
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(GraphError::ODataBadRequest(
            "Empty Payload. JSON content expected.".into(),
        ));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GraphError::ODataBadRequest(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.".into(),
        )),
    }
}

fn unknown_property(prop: &str, ty: &str) -> GraphError {
    GraphError::BadRequest(format!(
        "The property '{prop}' does not exist on type 'Microsoft.DirectoryServices.{ty}'. Make sure to only use property names that are defined by the type."
    ))
}

fn invalid_value(prop: &str, ty: &str) -> GraphError {
    GraphError::BadRequest(format!(
        "Invalid value specified for property '{prop}' of resource '{ty}'."
    ))
}

fn required(prop: &str, ty: &str) -> GraphError {
    GraphError::BadRequest(format!(
        "A value is required for property '{prop}' of resource '{ty}'."
    ))
}

// Wording is a guess.
fn read_only(prop: &str) -> GraphError {
    GraphError::BadRequest(format!("Property '{prop}' is read-only and cannot be set."))
}

/// Checks `value` against the shape of Graph's default for the property: collections must
/// stay arrays, complex properties objects; `null` resets to the default.
fn shape_matches(default: &Value, value: &Value) -> bool {
    matches!(
        (default, value),
        (_, Value::Null)
            | (Value::Null, _)
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::String(_), Value::String(_))
    )
}

const APP_READ_ONLY: &[&str] = &[
    "id",
    "appId",
    "createdDateTime",
    "deletedDateTime",
    "publisherDomain",
    "verifiedPublisher",
    "certification",
    "disabledByMicrosoftStatus",
    "applicationTemplateId",
];
/// Values of `signInAudience` (the supported account types).
pub(crate) const SIGN_IN_AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

/// Applies a POST/PATCH body to an application; on error nothing is applied.
fn apply_app_body(
    app: &mut Application,
    body: Map<String, Value>,
    creating: bool,
) -> Result<(), GraphError> {
    const TY: &str = "Application";
    let template = render::application_template();
    let mut next = app.clone();
    for (key, value) in body {
        if key.starts_with("@odata.") {
            continue;
        }
        match key.as_str() {
            "displayName" => match value {
                Value::String(s) if !s.trim().is_empty() => next.display_name = s,
                Value::Null => return Err(required("displayName", TY)),
                _ => return Err(invalid_value("displayName", TY)),
            },
            "signInAudience" => match value.as_str() {
                Some(a) if SIGN_IN_AUDIENCES.contains(&a) => next.sign_in_audience = a.to_owned(),
                _ => return Err(invalid_value("signInAudience", TY)),
            },
            "identifierUris" => {
                let uris =
                    string_list(&value).ok_or_else(|| invalid_value("identifierUris", TY))?;
                if uris
                    .iter()
                    .any(|u| u.is_empty() || u.contains(char::is_whitespace) || !u.contains(':'))
                {
                    return Err(invalid_value("identifierUris", TY));
                }
                next.identifier_uris = uris;
            }
            "api" => {
                let Value::Object(mut api) = value else {
                    return Err(invalid_value("api", TY));
                };
                if let Some(v) = api.remove("requestedAccessTokenVersion") {
                    next.requested_access_token_version = match v {
                        Value::Null => None,
                        Value::Number(n) if matches!(n.as_i64(), Some(1 | 2)) => n.as_i64(),
                        _ => {
                            return Err(invalid_value(
                                "requestedAccessTokenVersion",
                                "ApiApplication",
                            ));
                        }
                    };
                }
                merge_prop(&mut next.props, "api", Value::Object(api));
            }
            // Secrets are added with addPassword and certificates are not emulated; an empty
            // list (which the Azure CLI sends) is accepted. The error wording is a guess.
            "passwordCredentials" | "keyCredentials" => {
                if !matches!(&value, Value::Array(a) if a.is_empty()) && !value.is_null() {
                    return Err(GraphError::BadRequest(format!(
                        "Property '{key}' cannot be set on create or update; use addPassword to add a client secret."
                    )));
                }
            }
            k if APP_READ_ONLY.contains(&k) => {
                if !creating {
                    return Err(read_only(k));
                }
            }
            k => match template.get(k) {
                Some(default) if shape_matches(default, &value) => {
                    merge_prop(&mut next.props, k, value)
                }
                Some(_) => return Err(invalid_value(k, TY)),
                None => return Err(unknown_property(k, TY)),
            },
        }
    }
    *app = next;
    Ok(())
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// Stores a client-set property; `null` drops it back to Graph's default.
fn merge_prop(props: &mut Map<String, Value>, key: &str, value: Value) {
    match (props.get_mut(key), value) {
        (_, Value::Null) => {
            props.remove(key);
        }
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                existing.insert(k, v);
            }
        }
        (_, value) => {
            props.insert(key.to_owned(), value);
        }
    }
}

const SP_WRITABLE: &[&str] = &[
    "alternativeNames",
    "appDescription",
    "appRoleAssignmentRequired",
    "description",
    "homepage",
    "loginUrl",
    "logoutUrl",
    "notes",
    "notificationEmailAddresses",
    "preferredSingleSignOnMode",
    "replyUrls",
    "tags",
    "info",
];

fn apply_sp_body(
    sp: &mut ServicePrincipal,
    body: Map<String, Value>,
    creating: bool,
) -> Result<(), GraphError> {
    const TY: &str = "ServicePrincipal";
    let template = render::service_principal_template();
    let mut next = sp.clone();
    for (key, value) in body {
        if key.starts_with("@odata.") {
            continue;
        }
        match key.as_str() {
            "appId" if creating => {}
            "accountEnabled" => match value {
                Value::Bool(b) => next.account_enabled = b,
                _ => return Err(invalid_value("accountEnabled", TY)),
            },
            "displayName" => match value {
                Value::String(s) if !s.trim().is_empty() => next.display_name = s,
                _ => return Err(invalid_value("displayName", TY)),
            },
            k if SP_WRITABLE.contains(&k) => match template.get(k) {
                Some(default) if shape_matches(default, &value) => {
                    merge_prop(&mut next.props, k, value)
                }
                _ => return Err(invalid_value(k, TY)),
            },
            k if template.get(k).is_some() => return Err(read_only(k)),
            k => return Err(unknown_property(k, TY)),
        }
    }
    *sp = next;
    Ok(())
}

/// Query options of a collection request.
#[derive(Debug, Default)]
struct ListQuery {
    filter: Option<Filter>,
    select: Option<Vec<String>>,
    top: usize,
    after: u64,
    count: bool,
}

fn parse_list_query(
    raw: Option<&str>,
    headers: &HeaderMap,
    template: &Value,
    ty: &str,
    filterable: &[(&str, bool)],
) -> Result<ListQuery, GraphError> {
    let advanced = headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    let mut q = ListQuery {
        top: DEFAULT_PAGE,
        ..ListQuery::default()
    };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "$filter" => {
                let f = Filter::parse(&v).map_err(|e| match e {
                    FilterError::Syntax(_) | FilterError::NeedsAdvanced => {
                        GraphError::ODataBadRequest("Invalid filter clause".into())
                    }
                    FilterError::Unsupported(_) => {
                        GraphError::UnsupportedQuery("Unsupported Query.".into())
                    }
                })?;
                if f.is_advanced() && !advanced {
                    return Err(GraphError::UnsupportedQuery("Unsupported Query.".into()));
                }
                for (prop, any) in f.properties() {
                    if !filterable
                        .iter()
                        .any(|(p, a)| p.eq_ignore_ascii_case(prop) && *a == any)
                    {
                        return Err(GraphError::UnsupportedQuery(format!(
                            "Unsupported or invalid query filter clause specified for property '{prop}' of resource '{ty}'."
                        )));
                    }
                }
                q.filter = Some(f);
            }
            "$select" => {
                let fields: Vec<String> = v
                    .split(',')
                    .map(|f| f.trim().to_owned())
                    .filter(|f| !f.is_empty())
                    .collect();
                if let Some(bad) = fields.iter().find(|f| {
                    template
                        .as_object()
                        .is_none_or(|t| !t.keys().any(|k| k.eq_ignore_ascii_case(f)))
                }) {
                    return Err(GraphError::ODataBadRequest(format!(
                        "Parsing OData Select and Expand failed: Could not find a property named '{bad}' on type 'microsoft.graph.{}'.",
                        lower_first(ty)
                    )));
                }
                q.select = Some(fields);
            }
            "$top" => {
                q.top = v.parse().ok().filter(|n| (1..=MAX_PAGE).contains(n)).ok_or_else(|| {
                    GraphError::ODataBadRequest(format!(
                        "Invalid page size specified: '{v}'. Must be between 1 and 999 inclusive."
                    ))
                })?;
            }
            "$skiptoken" => {
                q.after = odata::parse_skiptoken(&v)
                    .ok_or_else(|| GraphError::ODataBadRequest("Invalid skip token.".into()))?;
            }
            "$count" => {
                if !advanced {
                    return Err(GraphError::BadRequest(
                        "$count is not currently supported.".into(),
                    ));
                }
                q.count = v == "true";
            }
            "$orderby" | "$search" | "$expand" | "$skip" => {
                return Err(GraphError::UnsupportedQuery("Unsupported Query.".into()));
            }
            _ => {}
        }
    }
    Ok(q)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn context_url(collection: &str, select: Option<&[String]>, entity: bool) -> String {
    let sel = select
        .map(|s| format!("({})", s.join(",")))
        .unwrap_or_default();
    let ent = if entity { "/$entity" } else { "" };
    format!("{METADATA}#{collection}{sel}{ent}")
}

fn app_values<'a>(app: &'a Application) -> impl Fn(&str) -> Option<odata::Value<'a>> + 'a {
    move |p: &str| {
        Some(match p.to_ascii_lowercase().as_str() {
            "id" => odata::Value::Str(Cow::Owned(app.id.to_string())),
            "appid" => odata::Value::Str(Cow::Owned(app.app_id.to_string())),
            "displayname" => odata::Value::Str(Cow::Borrowed(&app.display_name)),
            "signinaudience" => odata::Value::Str(Cow::Borrowed(&app.sign_in_audience)),
            "identifieruris" => odata::Value::List(
                app.identifier_uris
                    .iter()
                    .map(|u| Cow::Borrowed(u.as_str()))
                    .collect(),
            ),
            "tags" => odata::Value::List(prop_strings(&app.props, "tags")),
            _ => return None,
        })
    }
}

fn prop_strings<'a>(props: &'a Map<String, Value>, key: &str) -> Vec<Cow<'a, str>> {
    props
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(Cow::Borrowed)
                .collect()
        })
        .unwrap_or_default()
}

fn sp_values<'a>(
    sp: &'a ServicePrincipal,
    dir: &'a Directory,
) -> impl Fn(&str) -> Option<odata::Value<'a>> + 'a {
    move |p: &str| {
        Some(match p.to_ascii_lowercase().as_str() {
            "id" => odata::Value::Str(Cow::Owned(sp.id.to_string())),
            "appid" => odata::Value::Str(Cow::Owned(sp.app_id.to_string())),
            "displayname" => odata::Value::Str(Cow::Borrowed(&sp.display_name)),
            "accountenabled" => odata::Value::Bool(sp.account_enabled),
            "serviceprincipaltype" => odata::Value::Str(Cow::Borrowed("Application")),
            "serviceprincipalnames" => {
                let mut names = vec![Cow::Owned(sp.app_id.to_string())];
                if let Some(app) = dir.app_by_app_id(&sp.app_id) {
                    names.extend(
                        app.identifier_uris
                            .iter()
                            .map(|u| Cow::Borrowed(u.as_str())),
                    );
                }
                odata::Value::List(names)
            }
            "tags" => odata::Value::List(prop_strings(&sp.props, "tags")),
            _ => return None,
        })
    }
}

const APP_FILTERABLE: &[(&str, bool)] = &[
    ("id", false),
    ("appId", false),
    ("displayName", false),
    ("signInAudience", false),
    ("identifierUris", true),
    ("tags", true),
];
const SP_FILTERABLE: &[(&str, bool)] = &[
    ("id", false),
    ("appId", false),
    ("displayName", false),
    ("accountEnabled", false),
    ("servicePrincipalType", false),
    ("servicePrincipalNames", true),
    ("tags", true),
];

/// Renders one page of a collection: `@odata.context`, `@odata.nextLink`, `value`.
fn page(
    ctx: &Ctx,
    path: &str,
    q: &ListQuery,
    raw_query: Option<&str>,
    items: Vec<(u64, Map<String, Value>)>,
    count: Option<usize>,
) -> Response {
    let collection = path.trim_start_matches("/v1.0/");
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context_url(collection, q.select.as_deref(), false)),
    );
    if let Some(count) = count {
        body.insert("@odata.count".into(), json!(count));
    }
    let more = items.len() > q.top;
    let items: Vec<_> = items.into_iter().take(q.top).collect();
    if more && let Some((last, _)) = items.last() {
        // Keep the client's query as sent (Graph echoes `$filter`, `$top`, … unencoded)
        // and replace the skip token.
        let mut query: Vec<&str> = raw_query
            .unwrap_or_default()
            .split('&')
            .filter(|part| {
                !part.is_empty()
                    && form_urlencoded::parse(part.as_bytes())
                        .next()
                        .is_none_or(|(k, _)| k != "$skiptoken")
            })
            .collect();
        let token = format!("$skiptoken={}", odata::skiptoken(*last));
        query.push(&token);
        let kept = query.join("&");
        body.insert(
            "@odata.nextLink".into(),
            json!(format!("{}{path}?{kept}", ctx.base)),
        );
    }
    let value: Vec<Value> = items.into_iter().map(|(_, o)| Value::Object(o)).collect();
    body.insert("value".into(), Value::Array(value));
    ctx.json(StatusCode::OK, Value::Object(body))
}

fn tenant_domain(state: &AppState) -> &str {
    &state.config.tenant_domain
}

// ---------------------------------------------------------------- applications

/// `GET /v1.0/applications`.
pub(crate) async fn list_apps(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let template = render::application_template();
        let q = parse_list_query(
            raw.as_deref(),
            &headers,
            &template,
            "Application",
            APP_FILTERABLE,
        )?;
        let dir = state.directory.read();
        let domain = tenant_domain(&state);
        let render =
            |a: &Application| render::select(render::application(a, domain), q.select.as_deref());
        let items: Vec<(u64, Map<String, Value>)> =
            match q.filter.as_ref().and_then(|f| f.exact("appId")) {
                // Index lookup for the most common filter.
                Some(app_id) => Uuid::parse_str(app_id)
                    .ok()
                    .and_then(|id| dir.app_by_app_id(&id))
                    .filter(|a| q.after == 0 && a.deleted.is_none())
                    .map(|a| (1, render(a)))
                    .into_iter()
                    .collect(),
                None => {
                    let matching = dir.apps_after(q.after).filter(|(_, a)| {
                        q.filter.as_ref().is_none_or(|f| f.matches(&app_values(a)))
                    });
                    matching
                        .take(q.top + 1)
                        .map(|(seq, a)| (seq, render(a)))
                        .collect()
                }
            };
        let count = q.count.then(|| {
            dir.apps_after(0)
                .filter(|(_, a)| q.filter.as_ref().is_none_or(|f| f.matches(&app_values(a))))
                .count()
        });
        Ok(page(
            ctx,
            "/v1.0/applications",
            &q,
            raw.as_deref(),
            items,
            count,
        ))
    })())
}

fn app_response(
    ctx: &Ctx,
    state: &AppState,
    app: &Application,
    status: StatusCode,
    select: Option<&[String]>,
) -> Response {
    let object = render::application(app, tenant_domain(state));
    entity_response(ctx, state, &APPLICATIONS, &app.id, object, status, select)
}

/// `POST /v1.0/applications`.
pub(crate) async fn create_app(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let body = json_object(&body)?;
        if !body.contains_key("displayName") {
            return Err(required("displayName", "Application"));
        }
        let mut app = Application::new(Uuid::new_v4(), Uuid::new_v4(), "", ctx.now);
        apply_app_body(&mut app, body, true)?;
        check_identifier_uris(&state, &app, &[])?;
        let mut dir = state.directory.write();
        if dir
            .identifier_uri_taken(&app.identifier_uris, None)
            .is_some()
        {
            return Err(GraphError::DuplicateIdentifierUri);
        }
        dir.insert_app(app.clone());
        Ok(app_response(ctx, &state, &app, StatusCode::CREATED, None))
    })())
}

/// Refuses an identifier URI `app` adds (one not among `kept`) that it may not claim;
/// Entra checks only new values, so an app keeps those it already had.
fn check_identifier_uris(
    state: &AppState,
    app: &Application,
    kept: &[String],
) -> Result<(), GraphError> {
    let owner = identifier_uri::Owner {
        app_id: app.app_id,
        tenant_id: state.config.tenant_id,
        domain: tenant_domain(state),
    };
    app.identifier_uris
        .iter()
        .filter(|u| !kept.contains(u))
        .try_for_each(|u| owner.check(u))
}

/// How a path names an application or service principal.
#[derive(Debug, Clone, Copy)]
enum Key {
    Id(Uuid),
    AppId(Uuid),
}

fn find_app(dir: &Directory, key: Key) -> Result<&Application, GraphError> {
    match key {
        Key::Id(id) => dir.app(&id),
        Key::AppId(app_id) => dir.app_by_app_id(&app_id),
    }
    .ok_or_else(|| GraphError::NotFound(key_text(key)))
}

fn find_sp(dir: &Directory, key: Key) -> Result<&ServicePrincipal, GraphError> {
    match key {
        Key::Id(id) => dir.sp(&id),
        Key::AppId(app_id) => dir.sp_by_app_id(&app_id),
    }
    .ok_or_else(|| GraphError::NotFound(key_text(key)))
}

fn key_text(key: Key) -> String {
    match key {
        Key::Id(id) => id.to_string(),
        Key::AppId(app_id) => format!("appId={app_id}"),
    }
}

fn select_only(
    raw: Option<&str>,
    template: &Value,
    ty: &str,
) -> Result<Option<Vec<String>>, GraphError> {
    Ok(parse_list_query(raw, &HeaderMap::new(), template, ty, &[])?.select)
}

fn get_app_impl(
    state: &AppState,
    caller: &Caller,
    key: Key,
    raw: Option<&str>,
) -> Result<Response, GraphError> {
    caller.require(READ_ROLES)?;
    let select = select_only(raw, &render::application_template(), "Application")?;
    let dir = state.directory.read();
    let app = find_app(&dir, key)?;
    Ok(app_response(
        &caller.ctx,
        state,
        app,
        StatusCode::OK,
        select.as_deref(),
    ))
}

fn update_app_impl(
    state: &AppState,
    caller: &Caller,
    key: Key,
    body: &[u8],
) -> Result<Response, GraphError> {
    caller.require(WRITE_ROLES)?;
    let body = json_object(body)?;
    let mut dir = state.directory.write();
    let before = find_app(&dir, key)?;
    let mut app = before.clone();
    let kept = before.identifier_uris.clone();
    apply_app_body(&mut app, body, false)?;
    check_identifier_uris(state, &app, &kept)?;
    if dir
        .identifier_uri_taken(&app.identifier_uris, Some(&app.id))
        .is_some()
    {
        return Err(GraphError::DuplicateIdentifierUri);
    }
    if let Some(slot) = dir.app_mut(&app.id) {
        *slot = app;
    }
    Ok(caller.ctx.no_content())
}

fn delete_app_impl(state: &AppState, caller: &Caller, key: Key) -> Result<Response, GraphError> {
    caller.require(WRITE_ROLES)?;
    let mut dir = state.directory.write();
    let id = find_app(&dir, key)?.id;
    dir.delete_app(&id, caller.ctx.now)
        .map_err(|_| GraphError::NotFound(id.to_string()))?;
    Ok(caller.ctx.no_content())
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddPassword {
    #[serde(default)]
    password_credential: Option<Map<String, Value>>,
}

fn parse_graph_datetime(value: &Value, prop: &str) -> Result<Option<OffsetDateTime>, GraphError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map(Some)
            .map_err(|_| invalid_value(prop, "PasswordCredential")),
        _ => Err(invalid_value(prop, "PasswordCredential")),
    }
}

fn add_password_impl(
    state: &AppState,
    caller: &Caller,
    key: Key,
    body: &[u8],
) -> Result<Response, GraphError> {
    caller.require(WRITE_ROLES)?;
    // An empty body is allowed: every property of the new credential has a default.
    let params: AddPassword = if body.iter().all(u8::is_ascii_whitespace) {
        AddPassword {
            password_credential: None,
        }
    } else {
        serde_json::from_value(Value::Object(json_object(body)?)).map_err(|_| {
            GraphError::BadRequest(
                "Invalid value specified for property 'passwordCredential'.".into(),
            )
        })?
    };
    let now = caller.ctx.now;
    let (mut display_name, mut start, mut end) = (None, None, None);
    for (k, v) in params.password_credential.unwrap_or_default() {
        match k.as_str() {
            "displayName" => {
                display_name = match v {
                    Value::Null => None,
                    Value::String(s) => Some(s),
                    _ => return Err(invalid_value("displayName", "PasswordCredential")),
                }
            }
            "startDateTime" => start = parse_graph_datetime(&v, "startDateTime")?,
            "endDateTime" => end = parse_graph_datetime(&v, "endDateTime")?,
            // Generated by the service; values sent by the client are ignored.
            "keyId" | "secretText" | "hint" | "customKeyIdentifier" => {}
            k if k.starts_with("@odata.") => {}
            k => return Err(unknown_property(k, "PasswordCredential")),
        }
    }
    let start = start.unwrap_or(now);
    let end = end.unwrap_or_else(|| secret::years_after(start, 2));
    if end <= start {
        return Err(invalid_value("endDateTime", "PasswordCredential"));
    }
    let mut dir = state.directory.write();
    let id = find_app(&dir, key)?.id;
    let (credential, value) = dir
        .add_password(&id, display_name, start, end)
        .map_err(|_| GraphError::NotFound(id.to_string()))?;
    drop(dir);
    let rendered = render::password_credential(&credential, Some(value.expose()));
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{METADATA}#microsoft.graph.passwordCredential")),
    );
    if let Value::Object(fields) = rendered {
        body.extend(fields);
    }
    Ok(caller.ctx.json(StatusCode::OK, Value::Object(body)))
}

fn remove_password_impl(
    state: &AppState,
    caller: &Caller,
    key: Key,
    body: &[u8],
) -> Result<Response, GraphError> {
    caller.require(WRITE_ROLES)?;
    let body = json_object(body)?;
    let key_id = match body.get("keyId") {
        Some(Value::String(s)) => {
            Uuid::parse_str(s).map_err(|_| invalid_value("keyId", "PasswordCredential"))?
        }
        Some(_) => return Err(invalid_value("keyId", "PasswordCredential")),
        None => return Err(required("keyId", "PasswordCredential")),
    };
    let mut dir = state.directory.write();
    let id = find_app(&dir, key)?.id;
    match dir.remove_password(&id, &key_id) {
        Ok(()) => Ok(caller.ctx.no_content()),
        // Status observed as 400; the code is a guess.
        Err(DirError::KeyNotFound(k)) => Err(GraphError::BadRequest(format!(
            "No password credential found with keyId {k}."
        ))),
        Err(_) => Err(GraphError::NotFound(id.to_string())),
    }
}

/// `GET /v1.0/applications/{id}`.
pub(crate) async fn get_app(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    caller.ctx.respond(
        parse_id(&id).and_then(|id| get_app_impl(&state, &caller, Key::Id(id), raw.as_deref())),
    )
}

/// `PATCH /v1.0/applications/{id}`.
pub(crate) async fn update_app(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    caller
        .ctx
        .respond(parse_id(&id).and_then(|id| update_app_impl(&state, &caller, Key::Id(id), &body)))
}

/// `DELETE /v1.0/applications/{id}`.
pub(crate) async fn delete_app(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    caller
        .ctx
        .respond(parse_id(&id).and_then(|id| delete_app_impl(&state, &caller, Key::Id(id))))
}

/// `POST /v1.0/applications/{id}/addPassword`.
pub(crate) async fn add_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    caller.ctx.respond(
        parse_id(&id).and_then(|id| add_password_impl(&state, &caller, Key::Id(id), &body)),
    )
}

/// `POST /v1.0/applications/{id}/removePassword`.
pub(crate) async fn remove_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    caller.ctx.respond(
        parse_id(&id).and_then(|id| remove_password_impl(&state, &caller, Key::Id(id), &body)),
    )
}

// ---------------------------------------------------------------- alternate keys

/// Which collection a `collection(appId='…')` segment addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Applications,
    ServicePrincipals,
}

/// Parses `applications(appId='…')` / `servicePrincipals(appId='…')`.
fn alternate_key(segment: &str) -> Result<(Collection, Key), GraphError> {
    let not_found =
        || GraphError::ODataBadRequest(format!("Resource not found for the segment '{segment}'."));
    let (collection, rest) = if let Some(r) = segment.strip_prefix("applications(") {
        (Collection::Applications, r)
    } else if let Some(r) = segment.strip_prefix("servicePrincipals(") {
        (Collection::ServicePrincipals, r)
    } else {
        return Err(not_found());
    };
    let inner = rest.strip_suffix(')').ok_or_else(not_found)?;
    let value = inner.strip_prefix("appId=").ok_or_else(|| {
        GraphError::ODataBadRequest(format!("Invalid alternate key in segment '{segment}'."))
    })?;
    let value = value.trim_matches('\'');
    let app_id = Uuid::parse_str(value).map_err(|_| GraphError::InvalidId(value.to_owned()))?;
    Ok((collection, Key::AppId(app_id)))
}

/// `GET /v1.0/{collection}(appId='…')`.
pub(crate) async fn get_by_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    caller
        .ctx
        .respond(alternate_key(&segment).and_then(|(c, key)| match c {
            Collection::Applications => get_app_impl(&state, &caller, key, raw.as_deref()),
            Collection::ServicePrincipals => get_sp_impl(&state, &caller, key, raw.as_deref()),
        }))
}

/// `PATCH /v1.0/{collection}(appId='…')`.
pub(crate) async fn update_by_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(segment): Path<String>,
    body: Bytes,
) -> Response {
    caller
        .ctx
        .respond(alternate_key(&segment).and_then(|(c, key)| match c {
            Collection::Applications => update_app_impl(&state, &caller, key, &body),
            Collection::ServicePrincipals => update_sp_impl(&state, &caller, key, &body),
        }))
}

/// `DELETE /v1.0/{collection}(appId='…')`.
pub(crate) async fn delete_by_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(segment): Path<String>,
) -> Response {
    caller
        .ctx
        .respond(alternate_key(&segment).and_then(|(c, key)| match c {
            Collection::Applications => delete_app_impl(&state, &caller, key),
            Collection::ServicePrincipals => delete_sp_impl(&state, &caller, key),
        }))
}

/// `POST /v1.0/applications(appId='…')/addPassword`.
pub(crate) async fn add_password_by_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(segment): Path<String>,
    body: Bytes,
) -> Response {
    caller
        .ctx
        .respond(alternate_key(&segment).and_then(|(c, key)| match c {
            Collection::Applications => add_password_impl(&state, &caller, key, &body),
            Collection::ServicePrincipals => Err(GraphError::MethodNotAllowed),
        }))
}

/// `POST /v1.0/applications(appId='…')/removePassword`.
pub(crate) async fn remove_password_by_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(segment): Path<String>,
    body: Bytes,
) -> Response {
    caller
        .ctx
        .respond(alternate_key(&segment).and_then(|(c, key)| match c {
            Collection::Applications => remove_password_impl(&state, &caller, key, &body),
            Collection::ServicePrincipals => Err(GraphError::MethodNotAllowed),
        }))
}

// ---------------------------------------------------------------- service principals

fn sp_response(
    ctx: &Ctx,
    state: &AppState,
    dir: &Directory,
    sp: &ServicePrincipal,
    status: StatusCode,
    select: Option<&[String]>,
) -> Response {
    let app = dir.app_by_app_id(&sp.app_id);
    let object = render::service_principal(sp, app, &state.config.tenant_id);
    entity_response(
        ctx,
        state,
        &SERVICE_PRINCIPALS,
        &sp.id,
        object,
        status,
        select,
    )
}

/// A Graph entity set: its collection segment and its directory-services type name.
struct EntitySet {
    collection: &'static str,
    kind: &'static str,
}

const APPLICATIONS: EntitySet = EntitySet {
    collection: "applications",
    kind: "Application",
};
const SERVICE_PRINCIPALS: EntitySet = EntitySet {
    collection: "servicePrincipals",
    kind: "ServicePrincipal",
};

/// One object's answer: `@odata.context`, the (selected) properties, and on creation the
/// `location` Graph gives (`…/directoryObjects/{id}/Microsoft.DirectoryServices.{kind}`).
fn entity_response(
    ctx: &Ctx,
    state: &AppState,
    set: &EntitySet,
    id: &Uuid,
    object: Map<String, Value>,
    status: StatusCode,
    select: Option<&[String]>,
) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context_url(set.collection, select, true)),
    );
    body.extend(render::select(object, select));
    let mut r = ctx.json(status, Value::Object(body));
    if status == StatusCode::CREATED {
        let location = format!(
            "https://graph.microsoft.com/v2/{}/directoryObjects/{id}/Microsoft.DirectoryServices.{}",
            state.config.tenant_id, set.kind
        );
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
    }
    r
}

/// `GET /v1.0/servicePrincipals`.
pub(crate) async fn list_sps(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let template = render::service_principal_template();
        let q = parse_list_query(
            raw.as_deref(),
            &headers,
            &template,
            "ServicePrincipal",
            SP_FILTERABLE,
        )?;
        let dir = state.directory.read();
        let tenant = state.config.tenant_id;
        let render = |s: &ServicePrincipal| {
            render::select(
                render::service_principal(s, dir.app_by_app_id(&s.app_id), &tenant),
                q.select.as_deref(),
            )
        };
        let matches = |s: &ServicePrincipal| {
            q.filter
                .as_ref()
                .is_none_or(|f| f.matches(&sp_values(s, &dir)))
        };
        // Index lookup when the filter names one app id.
        let indexed = q.filter.as_ref().and_then(|f| match f {
            Filter::Any {
                prop,
                value: odata::Literal::String(v),
            } if prop.eq_ignore_ascii_case("servicePrincipalNames") => Uuid::parse_str(v).ok(),
            _ => f.exact("appId").and_then(|v| Uuid::parse_str(v).ok()),
        });
        let items: Vec<(u64, Map<String, Value>)> = match indexed {
            Some(app_id) => dir
                .sp_by_app_id(&app_id)
                .filter(|s| q.after == 0 && matches(s))
                .map(|s| (1, render(s)))
                .into_iter()
                .collect(),
            None => dir
                .sps_after(q.after)
                .filter(|(_, s)| matches(s))
                .take(q.top + 1)
                .map(|(seq, s)| (seq, render(s)))
                .collect(),
        };
        let count = q
            .count
            .then(|| dir.sps_after(0).filter(|(_, s)| matches(s)).count());
        Ok(page(
            ctx,
            "/v1.0/servicePrincipals",
            &q,
            raw.as_deref(),
            items,
            count,
        ))
    })())
}

/// `POST /v1.0/servicePrincipals`.
pub(crate) async fn create_sp(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let body = json_object(&body)?;
        let app_id = match body.get("appId") {
            Some(Value::String(s)) => {
                Uuid::parse_str(s).map_err(|_| invalid_value("appId", "ServicePrincipal"))?
            }
            Some(_) => return Err(invalid_value("appId", "ServicePrincipal")),
            None => return Err(required("appId", "ServicePrincipal")),
        };
        let mut dir = state.directory.write();
        let mut sp = new_service_principal(&state, &dir, app_id, ctx.now)
            .map_err(|_| GraphError::NoBackingApplication(app_id))?;
        apply_sp_body(&mut sp, body, true)?;
        dir.create_sp(sp.clone()).map_err(|e| match e {
            DirError::DuplicateServicePrincipal(a) => GraphError::DuplicateServicePrincipal(a),
            _ => GraphError::NoBackingApplication(app_id),
        })?;
        Ok(sp_response(
            ctx,
            &state,
            &dir,
            &sp,
            StatusCode::CREATED,
            None,
        ))
    })())
}

/// A service principal for the application with client id `app_id`, named after it, as
/// Graph creates one (the portal too); the caller stores it with [`Directory::create_sp`].
/// Refused while the application is still replicating: right after an application is
/// created, creating its service principal fails as if the application did not exist yet.
pub(crate) fn new_service_principal(
    state: &AppState,
    dir: &Directory,
    app_id: Uuid,
    now: OffsetDateTime,
) -> Result<ServicePrincipal, DirError> {
    let app = dir
        .app_by_app_id(&app_id)
        .ok_or(DirError::NoBackingApplication(app_id))?;
    if now < app.created + state.config.graph_replication {
        return Err(DirError::NoBackingApplication(app_id));
    }
    Ok(ServicePrincipal::new(
        Uuid::new_v4(),
        app_id,
        app.display_name.clone(),
        now,
    ))
}

fn get_sp_impl(
    state: &AppState,
    caller: &Caller,
    key: Key,
    raw: Option<&str>,
) -> Result<Response, GraphError> {
    caller.require(READ_ROLES)?;
    let select = select_only(
        raw,
        &render::service_principal_template(),
        "ServicePrincipal",
    )?;
    let dir = state.directory.read();
    let sp = find_sp(&dir, key)?;
    Ok(sp_response(
        &caller.ctx,
        state,
        &dir,
        sp,
        StatusCode::OK,
        select.as_deref(),
    ))
}

fn update_sp_impl(
    state: &AppState,
    caller: &Caller,
    key: Key,
    body: &[u8],
) -> Result<Response, GraphError> {
    caller.require(WRITE_ROLES)?;
    let body = json_object(body)?;
    let mut dir = state.directory.write();
    let mut sp = find_sp(&dir, key)?.clone();
    apply_sp_body(&mut sp, body, false)?;
    if let Some(slot) = dir.sp_mut(&sp.id) {
        *slot = sp;
    }
    Ok(caller.ctx.no_content())
}

fn delete_sp_impl(state: &AppState, caller: &Caller, key: Key) -> Result<Response, GraphError> {
    caller.require(WRITE_ROLES)?;
    let mut dir = state.directory.write();
    let id = find_sp(&dir, key)?.id;
    dir.delete_sp(&id, caller.ctx.now)
        .map_err(|_| GraphError::NotFound(id.to_string()))?;
    Ok(caller.ctx.no_content())
}

/// `GET /v1.0/servicePrincipals/{id}`.
pub(crate) async fn get_sp(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    caller.ctx.respond(
        parse_id(&id).and_then(|id| get_sp_impl(&state, &caller, Key::Id(id), raw.as_deref())),
    )
}

/// `PATCH /v1.0/servicePrincipals/{id}`.
pub(crate) async fn update_sp(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    caller
        .ctx
        .respond(parse_id(&id).and_then(|id| update_sp_impl(&state, &caller, Key::Id(id), &body)))
}

/// `DELETE /v1.0/servicePrincipals/{id}`.
pub(crate) async fn delete_sp(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    caller
        .ctx
        .respond(parse_id(&id).and_then(|id| delete_sp_impl(&state, &caller, Key::Id(id))))
}

// ---------------------------------------------------------------- deleted items

fn deleted_object(state: &AppState, dir: &Directory, id: &Uuid) -> Option<Map<String, Value>> {
    if let Some(app) = dir.deleted_app(id) {
        let mut o = Map::new();
        o.insert("@odata.type".into(), json!("#microsoft.graph.application"));
        o.extend(render::application(app, tenant_domain(state)));
        return Some(o);
    }
    dir.deleted_sp(id).map(|sp| {
        let mut o = Map::new();
        o.insert(
            "@odata.type".into(),
            json!("#microsoft.graph.servicePrincipal"),
        );
        o.extend(render::service_principal(
            sp,
            dir.app_by_app_id(&sp.app_id),
            &state.config.tenant_id,
        ));
        o
    })
}

/// `GET /v1.0/directory/deletedItems/microsoft.graph.application`.
pub(crate) async fn list_deleted_apps(State(state): State<AppState>, caller: Caller) -> Response {
    list_deleted(&state, &caller, true)
}

/// `GET /v1.0/directory/deletedItems/microsoft.graph.servicePrincipal`.
pub(crate) async fn list_deleted_sps(State(state): State<AppState>, caller: Caller) -> Response {
    list_deleted(&state, &caller, false)
}

fn list_deleted(state: &AppState, caller: &Caller, apps: bool) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let mut dir = state.directory.write();
        dir.purge_expired(ctx.now);
        let domain = tenant_domain(state);
        let (cast, value): (&str, Vec<Value>) = if apps {
            let v = dir.deleted_apps().into_iter().map(|a| Value::Object(render::application(a, domain))).collect();
            ("microsoft.graph.application", v)
        } else {
            let v = dir
                .deleted_sps()
                .into_iter()
                .map(|s| Value::Object(render::service_principal(s, None, &state.config.tenant_id)))
                .collect();
            ("microsoft.graph.servicePrincipal", v)
        };
        Ok(ctx.json(
            StatusCode::OK,
            json!({"@odata.context": format!("{METADATA}#directory/deletedItems/{cast}"), "value": value}),
        ))
    })())
}

fn entity(ctx: &Ctx, object: Map<String, Value>) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{METADATA}#directoryObjects/$entity")),
    );
    body.extend(object);
    ctx.json(StatusCode::OK, Value::Object(body))
}

/// `GET /v1.0/directory/deletedItems/{id}`.
pub(crate) async fn get_deleted(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let id = parse_id(&id)?;
        let mut dir = state.directory.write();
        dir.purge_expired(ctx.now);
        let object = deleted_object(&state, &dir, &id)
            .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
        Ok(entity(ctx, object))
    })())
}

/// `POST /v1.0/directory/deletedItems/{id}/restore`.
pub(crate) async fn restore_deleted(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let id = parse_id(&id)?;
        let mut dir = state.directory.write();
        dir.purge_expired(ctx.now);
        let restored = dir.restore(&id).map_err(|e| match e {
            DirError::NoBackingApplication(a) => GraphError::NoBackingApplication(a),
            DirError::DuplicateServicePrincipal(a) => GraphError::DuplicateServicePrincipal(a),
            DirError::DuplicateIdentifierUri(_) => GraphError::DuplicateIdentifierUri,
            _ => GraphError::NotFound(id.to_string()),
        })?;
        let mut o = Map::new();
        match restored {
            crate::directory::DirectoryObject::Application(id) => {
                o.insert("@odata.type".into(), json!("#microsoft.graph.application"));
                if let Some(app) = dir.app(&id) {
                    o.extend(render::application(app, tenant_domain(&state)));
                }
            }
            crate::directory::DirectoryObject::ServicePrincipal(id) => {
                o.insert(
                    "@odata.type".into(),
                    json!("#microsoft.graph.servicePrincipal"),
                );
                if let Some(sp) = dir.sp(&id) {
                    o.extend(render::service_principal(
                        sp,
                        dir.app_by_app_id(&sp.app_id),
                        &state.config.tenant_id,
                    ));
                }
            }
        }
        Ok(entity(ctx, o))
    })())
}

/// `DELETE /v1.0/directory/deletedItems/{id}`: permanent deletion.
pub(crate) async fn purge_deleted(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let id = parse_id(&id)?;
        let mut dir = state.directory.write();
        dir.purge_expired(ctx.now);
        dir.purge(&id)
            .map_err(|_| GraphError::NotFound(id.to_string()))?;
        Ok(ctx.no_content())
    })())
}

// ---------------------------------------------------------------- directory objects

/// `POST /v1.0/directoryObjects/getByIds` (the Azure CLI resolves principal names with it).
pub(crate) async fn get_by_ids(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let body = json_object(&body)?;
        let ids = string_list(body.get("ids").unwrap_or(&Value::Null))
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| required("ids", "DirectoryObject"))?;
        let types = string_list(body.get("types").unwrap_or(&Value::Null))
            .ok_or_else(|| invalid_value("types", "DirectoryObject"))?;
        let wants = |t: &str| types.is_empty() || types.iter().any(|x| x.eq_ignore_ascii_case(t));
        let dir = state.directory.read();
        let mut value = Vec::new();
        for raw in &ids {
            let id = parse_id(raw)?;
            if let Some(app) = dir.app(&id).filter(|_| wants("application")) {
                let mut o = Map::new();
                o.insert("@odata.type".into(), json!("#microsoft.graph.application"));
                o.extend(render::application(app, tenant_domain(&state)));
                value.push(Value::Object(o));
            } else if let Some(sp) = dir.sp(&id).filter(|_| wants("servicePrincipal")) {
                let mut o = Map::new();
                o.insert(
                    "@odata.type".into(),
                    json!("#microsoft.graph.servicePrincipal"),
                );
                o.extend(render::service_principal(
                    sp,
                    dir.app_by_app_id(&sp.app_id),
                    &state.config.tenant_id,
                ));
                value.push(Value::Object(o));
            }
        }
        Ok(ctx.json(
            StatusCode::OK,
            json!({"@odata.context": format!("{METADATA}#directoryObjects"), "value": value}),
        ))
    })())
}

/// Any other `/v1.0/…` or `/beta/…` path: Graph's 400 for an unknown segment.
/// Graph's answer to a request refused before it reached a handler (see [`crate::input`]).
pub(crate) fn refuse(state: &AppState, headers: &HeaderMap, error: GraphError) -> Response {
    error.into_response_with(&Ctx::new(state, headers))
}

pub(crate) fn unknown_segment(state: &AppState, headers: &HeaderMap, path: &str) -> Response {
    let ctx = Ctx::new(state, headers);
    let segment = path
        .trim_start_matches('/')
        .split('/')
        .nth(1)
        .filter(|s| !s.is_empty())
        .unwrap_or("")
        .to_owned();
    GraphError::ODataBadRequest(format!("Resource not found for the segment '{segment}'."))
        .into_response_with(&ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_keys_parse() {
        let id = Uuid::new_v4();
        let (c, k) = alternate_key(&format!("applications(appId='{id}')")).expect("parse");
        assert_eq!(c, Collection::Applications);
        assert!(matches!(k, Key::AppId(x) if x == id));
        let (c, _) = alternate_key(&format!("servicePrincipals(appId='{id}')")).expect("parse");
        assert_eq!(c, Collection::ServicePrincipals);
        assert!(matches!(
            alternate_key("applications(appId='nope')"),
            Err(GraphError::InvalidId(_))
        ));
        assert!(matches!(
            alternate_key("applications(name='x')"),
            Err(GraphError::ODataBadRequest(_))
        ));
        assert!(matches!(
            alternate_key("users"),
            Err(GraphError::ODataBadRequest(_))
        ));
    }

    #[test]
    fn app_body_is_validated_atomically() {
        let now = OffsetDateTime::now_utc();
        let mut app = Application::new(Uuid::new_v4(), Uuid::new_v4(), "a", now);
        let body = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let bad = body(json!({"displayName": "b", "signInAudience": "Everyone"}));
        assert!(apply_app_body(&mut app, bad, false).is_err());
        assert_eq!(app.display_name, "a", "nothing applied on error");
        let ok = body(
            json!({"displayName": "b", "web": {"redirectUris": ["https://x"]}, "api": {"requestedAccessTokenVersion": 1}}),
        );
        apply_app_body(&mut app, ok, false).expect("apply");
        assert_eq!(app.display_name, "b");
        assert_eq!(app.requested_access_token_version, Some(1));
        assert_eq!(app.props["web"]["redirectUris"][0], "https://x");
        for bad in [
            json!({"nope": 1}),
            json!({"appId": "x"}),
            json!({"tags": "not-a-list"}),
            json!({"identifierUris": ["no scheme"]}),
            json!({"passwordCredentials": [{"displayName": "x"}]}),
            json!({"displayName": null}),
        ] {
            assert!(
                apply_app_body(&mut app, body(bad.clone()), false).is_err(),
                "{bad}"
            );
        }
    }
}

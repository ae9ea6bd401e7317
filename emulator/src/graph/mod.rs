//! Microsoft Graph v1.0: applications, their password credentials, service principals,
//! deleted items and `directoryObjects/getByIds`.
//!
//! One file per resource: [`applications`], [`service_principals`], [`deleted`]; OData
//! query options in [`query`]; rendering of the objects in [`render`]; the request context,
//! the caller, and the handlers of an object path (by object id or `appId` alternate key)
//! here.

mod applications;
mod deleted;
mod error;
pub(crate) mod federated;
mod identifier_uri;
mod key_credentials;
pub(crate) mod odata;
pub(crate) mod owners;
mod query;
pub(crate) mod render;
mod service_principals;

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use self::applications::{add_password_impl, remove_password_impl, rendered_app, update_app_impl};
pub(crate) use self::applications::{create_app, list_apps};
pub(crate) use self::deleted::{
    get_by_ids, get_deleted, list_deleted_apps, list_deleted_sps, purge_deleted, restore_deleted,
};
use self::query::context_url;
use self::service_principals::update_sp_impl;
pub(crate) use self::service_principals::{create_sp, list_sps};
use crate::directory::{Application, DirError, Directory, ServicePrincipal, StoredObject};
use crate::first_party::{GRAPH, audience_matches};
use crate::http::bearer::{AuthFailure, Bearer};
use crate::http::request_base;
use crate::services::AppState;
use crate::token::{Claims, TokenError};
pub(crate) use error::GraphError;

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

/// Per-request context: ids and date for the error envelope and headers.
#[derive(Debug)]
pub(crate) struct Ctx {
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
        let date = crate::clock::whole_seconds(now);
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
pub(crate) struct Caller {
    ctx: Ctx,
    claims: Arc<Claims>,
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

impl From<AuthFailure> for GraphError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            // Two `Authorization` headers are refused like none: Graph's answer to them was
            // not found (a guess).
            AuthFailure::Missing | AuthFailure::Malformed | AuthFailure::Empty => {
                GraphError::EmptyToken
            }
            AuthFailure::Invalid {
                error: TokenError::Malformed,
                ..
            } => GraphError::UnparsableToken,
            AuthFailure::Invalid {
                error: TokenError::Expired { .. } | TokenError::NotYetValid { .. },
                ..
            } => GraphError::ExpiredToken,
            AuthFailure::Invalid { .. } => GraphError::InvalidToken,
            AuthFailure::WrongAudience(_) => GraphError::InvalidAudience,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = Ctx::new(state, &parts.headers);
        let bearer = Bearer::of(state, &parts.headers);
        let bases = [ctx.base.as_str(), state.base_url.as_str()];
        match bearer.claims(|aud| audience_matches(aud, &GRAPH, &bases)) {
            Ok(claims) => Ok(Self {
                ctx,
                claims: claims.clone(),
            }),
            Err(e) => Err(GraphError::from(e).into_response_with(&ctx)),
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

/// The id a body must carry in `prop` (`keyId`, `appId`): missing, not a string or not a
/// GUID are refused with Graph's wording for property `prop` of resource `ty`.
fn required_uuid(body: &Map<String, Value>, prop: &str, ty: &str) -> Result<Uuid, GraphError> {
    match body.get(prop) {
        Some(Value::String(s)) => Uuid::parse_str(s).map_err(|_| invalid_value(prop, ty)),
        Some(_) => Err(invalid_value(prop, ty)),
        None => Err(required(prop, ty)),
    }
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
    ) && known_keys(default, value)
}

/// Whether every key of an object `value` (at any depth) is a property of Graph's default
/// object: the renderer shows only those, so an unknown one would be silently lost.
fn known_keys(default: &Value, value: &Value) -> bool {
    match (default, value) {
        (Value::Object(d), Value::Object(v)) => v
            .iter()
            .all(|(k, v)| d.get(k).is_some_and(|d| known_keys(d, v))),
        _ => true,
    }
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

/// Whether a POST/PATCH body may set one of the properties in Graph's defaults for its type.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Set it, when the value has the default's shape.
    Write,
    /// Refuse it as read-only.
    ReadOnly,
    /// Skip it: a read-only property that a create body may carry.
    Ignored,
}

/// Applies each property of a POST/PATCH body (OData annotations aside) to a copy of
/// `target`, and keeps the copy only if every property applied. `own` applies the
/// properties with rules of their own (given Graph's defaults for `set`) and hands back the
/// value of any other: `displayName` (a non-blank string), or a property of those defaults,
/// stored where `access` allows.
fn apply_body<T: Clone + std::ops::DerefMut<Target = crate::directory::Object>>(
    target: &mut T,
    body: Map<String, Value>,
    set: &EntitySet,
    access: impl Fn(&str) -> Access,
    mut own: impl FnMut(&mut T, &str, Value, &Value) -> Result<Option<Value>, GraphError>,
) -> Result<(), GraphError> {
    let (ty, template) = (set.kind, (set.template)());
    let mut next = target.clone();
    for (key, value) in body {
        if key.starts_with("@odata.") {
            continue;
        }
        let Some(value) = own(&mut next, &key, value, &template)? else {
            continue;
        };
        match (key.as_str(), template.get(&key)) {
            ("displayName", _) => match value {
                Value::String(s) if !s.trim().is_empty() => next.display_name = s,
                _ => return Err(invalid_value("displayName", ty)),
            },
            (k, None) => return Err(unknown_property(k, ty)),
            (k, Some(default)) => match access(k) {
                Access::Ignored => {}
                Access::ReadOnly => return Err(read_only(k)),
                Access::Write if shape_matches(default, &value) => {
                    merge_prop(&mut next.props, k, value)
                }
                Access::Write => return Err(invalid_value(k, ty)),
            },
        }
    }
    *target = next;
    Ok(())
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

fn tenant_domain(state: &AppState) -> &str {
    &state.config.tenant_domain
}

/// An application or service principal as a directory object (in `getByIds`, deleted items,
/// owners): with its `@odata.type` first, a service principal with its live application.
fn directory_object(
    state: &AppState,
    dir: &Directory,
    object: StoredObject<'_>,
) -> Map<String, Value> {
    match object {
        StoredObject::Application(app) => render::typed_application(app, tenant_domain(state)),
        StoredObject::ServicePrincipal(sp) => render::typed_service_principal(
            sp,
            dir.app_by_app_id(&sp.app_id),
            &state.config.tenant_id,
        ),
    }
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

/// Which collection a `collection(appId='…')` segment addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Applications,
    ServicePrincipals,
}

impl Collection {
    fn set(self) -> &'static EntitySet {
        match self {
            Collection::Applications => &APPLICATIONS,
            Collection::ServicePrincipals => &SERVICE_PRINCIPALS,
        }
    }
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

/// A Graph entity set: its collection segment, its directory-services type name, Graph's
/// defaults for its objects and the properties `$filter` may name.
struct EntitySet {
    collection: &'static str,
    kind: &'static str,
    template: fn() -> Value,
    filterable: &'static [(&'static str, bool)],
}

const APPLICATIONS: EntitySet = EntitySet {
    collection: "applications",
    kind: "Application",
    template: render::application_template,
    filterable: query::APP_FILTERABLE,
};

const SERVICE_PRINCIPALS: EntitySet = EntitySet {
    collection: "servicePrincipals",
    kind: "ServicePrincipal",
    template: render::service_principal_template,
    filterable: query::SP_FILTERABLE,
};

/// A list of `set`'s objects: the caller must be allowed to read, the query must parse
/// against the set, and `select` picks the page (see [`query::select_page`]).
fn list_response(
    caller: &Caller,
    headers: &HeaderMap,
    raw: Option<&str>,
    set: &EntitySet,
    select: impl FnOnce(&query::ListQuery) -> (query::Items, Option<usize>),
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let template = (set.template)();
        let q = query::parse_list_query(raw, headers, &template, set.kind, set.filterable)?;
        let (items, count) = select(&q);
        let path = format!("/v1.0/{}", set.collection);
        Ok(query::page(ctx, &path, &q, raw, items, count))
    })())
}

/// One of `set`'s objects: `@odata.context` and the (selected) properties.
fn entity_response(
    ctx: &Ctx,
    set: &EntitySet,
    object: Map<String, Value>,
    status: StatusCode,
    select: Option<&[String]>,
) -> Response {
    let body = with_context(
        context_url(set.collection, select, true),
        render::select(object, select),
    );
    ctx.json(status, body)
}

/// The answer to a create in `set`: the new object `id`, with `createdDateTime` as the
/// create answer has it (`created`), and the `location` Graph gives
/// (`…/directoryObjects/{id}/Microsoft.DirectoryServices.{kind}`).
fn created_response(
    ctx: &Ctx,
    state: &AppState,
    set: &EntitySet,
    id: &Uuid,
    mut object: Map<String, Value>,
    created: Value,
) -> Response {
    object.insert("createdDateTime".into(), created);
    let mut r = entity_response(ctx, set, object, StatusCode::CREATED, None);
    let location = format!(
        "https://graph.microsoft.com/v2/{}/directoryObjects/{id}/Microsoft.DirectoryServices.{}",
        state.config.tenant_id, set.kind
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn entity(ctx: &Ctx, object: Map<String, Value>) -> Response {
    let body = with_context(format!("{METADATA}#directoryObjects/$entity"), object);
    ctx.json(StatusCode::OK, body)
}

/// An answer's body: `@odata.context` first, then the object's properties.
fn with_context(context: String, object: Map<String, Value>) -> Value {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    body.extend(object);
    Value::Object(body)
}

impl From<DirError> for GraphError {
    fn from(e: DirError) -> Self {
        match e {
            DirError::NoBackingApplication(a) => GraphError::NoBackingApplication(a),
            DirError::DuplicateServicePrincipal(a) => GraphError::DuplicateServicePrincipal(a),
            DirError::DuplicateIdentifierUri(_) => GraphError::DuplicateIdentifierUri,
            DirError::NotFound(id) => GraphError::NotFound(id.to_string()),
            // Status observed as 400; the code is a guess.
            DirError::KeyNotFound(k) => {
                GraphError::BadRequest(format!("No password credential found with keyId {k}."))
            }
        }
    }
}

/// The object a path names: `/applications/{id}` and `/servicePrincipals/{id}` (with their
/// actions) by object id, `/{collection}(appId='…')` by client id. Parsed when the handler
/// asks, after the caller is authenticated, as Graph orders its errors.
#[derive(Debug)]
pub(crate) struct Object(Result<(Collection, Key), GraphError>);

impl FromRequestParts<AppState> for Object {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(segment) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let collection = match parts.uri.path().trim_start_matches('/').split('/').nth(1) {
            Some("applications") => Some(Collection::Applications),
            Some("servicePrincipals") => Some(Collection::ServicePrincipals),
            _ => None,
        };
        Ok(Self(match collection {
            Some(c) => parse_id(&segment).map(|id| (c, Key::Id(id))),
            None => alternate_key(&segment),
        }))
    }
}

/// `GET` of an application or service principal.
pub(crate) async fn get_object(
    state: AppState,
    caller: Caller,
    Object(object): Object,
    RawQuery(raw): RawQuery,
) -> Response {
    caller.ctx.respond(object.and_then(|(c, key)| {
        caller.require(READ_ROLES)?;
        let set = c.set();
        let q = query::object_query(raw.as_deref(), &(set.template)(), set.kind)?;
        let select = q.select.as_deref();
        let dir = state.directory();
        let object = match c {
            Collection::Applications => rendered_app(&state, &dir, find_app(&dir, key)?, &q),
            Collection::ServicePrincipals => {
                let sp = find_sp(&dir, key)?;
                let app = dir.app_by_app_id(&sp.app_id);
                render::service_principal_selected(sp, app, &state.config.tenant_id, select)
            }
        };
        Ok(entity_response(
            &caller.ctx,
            set,
            object,
            StatusCode::OK,
            select,
        ))
    }))
}

/// `PATCH` of an application or service principal.
pub(crate) async fn update_object(action: Action) -> Response {
    action.run(update_app_impl, Some(update_sp_impl))
}

/// `DELETE` of an application or service principal (to deleted items).
pub(crate) async fn delete_object(
    state: AppState,
    caller: Caller,
    Object(object): Object,
) -> Response {
    caller.ctx.respond(object.and_then(|(c, key)| {
        caller.require(WRITE_ROLES)?;
        let now = caller.ctx.now;
        let mut dir = state.directory_mut();
        match c {
            Collection::Applications => {
                let id = find_app(&dir, key)?.id;
                dir.delete_app(&id, now)?;
            }
            Collection::ServicePrincipals => {
                let id = find_sp(&dir, key)?.id;
                dir.delete_sp(&id, now)?;
            }
        }
        Ok(caller.ctx.no_content())
    }))
}

/// A `PATCH` of an object or a `POST` action of an application (`addPassword`, `addKey`, …):
/// the object the path names and the call, extracted in the order a plain handler would.
#[derive(Debug)]
pub(crate) struct Action {
    object: Result<(Collection, Key), GraphError>,
    call: ObjectCall,
}

/// A write to one object: the state, the caller and the request body.
#[derive(Debug)]
struct ObjectCall {
    state: AppState,
    caller: Caller,
    body: Bytes,
}

impl ObjectCall {
    /// The body as a JSON object, once the caller is known to hold a write role.
    fn writer_body(&self) -> Result<Map<String, Value>, GraphError> {
        self.caller.require(WRITE_ROLES)?;
        json_object(&self.body)
    }
}

impl FromRequest<AppState> for Action {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Call {
            state: app_state,
            caller,
            target: Object(object),
        } = Call::from_request_parts(&mut parts, state).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let call = ObjectCall {
            state: app_state,
            caller,
            body,
        };
        Ok(Self { object, call })
    }
}

/// An authenticated request's state, caller and `target` (taken from the rest of the
/// request's head once the caller is known), extracted in the order a plain handler would.
#[derive(Debug)]
pub(crate) struct Call<T> {
    state: AppState,
    caller: Caller,
    target: T,
}

impl<T> FromRequestParts<AppState> for Call<T>
where
    T: FromRequestParts<AppState> + Send,
    T::Rejection: IntoResponse,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(app_state) = AppState::from_request_parts(parts, state).await;
        let caller = Caller::from_request_parts(parts, state).await?;
        let target = T::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: app_state,
            caller,
            target,
        })
    }
}

/// What a write does to the object `Key` names.
type ObjectWrite = fn(&ObjectCall, Key) -> Result<Response, GraphError>;

impl Action {
    /// Runs `on_app` on an application, `on_sp` on a service principal; where `on_sp` is
    /// `None` the path exists but not the action.
    fn run(self, on_app: ObjectWrite, on_sp: Option<ObjectWrite>) -> Response {
        let Self { object, call } = self;
        call.caller.ctx.respond(object.and_then(|(c, key)| match c {
            Collection::Applications => on_app(&call, key),
            Collection::ServicePrincipals => match on_sp {
                Some(on_sp) => on_sp(&call, key),
                None => Err(GraphError::MethodNotAllowed),
            },
        }))
    }
}

/// `POST …/addPassword` of an application.
pub(crate) async fn add_password(action: Action) -> Response {
    action.run(add_password_impl, None)
}

/// `POST …/removePassword` of an application.
pub(crate) async fn remove_password(action: Action) -> Response {
    action.run(remove_password_impl, None)
}

/// `POST …/addKey` of an application.
pub(crate) async fn add_key(action: Action) -> Response {
    action.run(key_credentials::add_key_impl, None)
}

/// `POST …/removeKey` of an application.
pub(crate) async fn remove_key(action: Action) -> Response {
    action.run(key_credentials::remove_key_impl, None)
}

/// Graph's answer to a request refused before it reached a handler (see [`crate::router::input`]).
pub(crate) fn refuse(state: &AppState, headers: &HeaderMap, error: GraphError) -> Response {
    error.into_response_with(&Ctx::new(state, headers))
}

/// Any other `/v1.0/…` or `/beta/…` path: Graph's 400 for an unknown segment.
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

    /// `apply_body` reads a property's access rule only for properties of Graph's defaults,
    /// so every property a rule list names must be one of them: otherwise a body naming it
    /// would be answered as an unknown property instead of a read-only one.
    #[test]
    fn access_rule_lists_name_only_properties_of_the_defaults() {
        let lists = [
            (&APPLICATIONS, applications::APP_READ_ONLY),
            (&SERVICE_PRINCIPALS, service_principals::SP_WRITABLE),
        ];
        for (set, names) in lists {
            let template = (set.template)();
            for name in names {
                assert!(template.get(name).is_some(), "{}: {name}", set.kind);
            }
        }
    }
}

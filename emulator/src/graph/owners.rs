//! `/applications/{id}/owners`: list, `$ref` add and remove, and the `$expand=owners` form.
//!
//! Owners are service principals here (the emulator has no users). The caller's service
//! principal becomes an owner of the applications it creates.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

/// The owners of `app` as Graph lists directory objects: each with its `@odata.type`.
pub(super) fn rendered(state: &AppState, dir: &Directory, app: &Application) -> Value {
    let owners = (app.owners.iter().filter_map(|id| dir.sp(id))).map(|sp| {
        Value::Object(directory_object(
            state,
            dir,
            StoredObject::ServicePrincipal(sp),
        ))
    });
    Value::Array(owners.collect())
}

fn application(object: Result<(Collection, Key), GraphError>) -> Result<Key, GraphError> {
    match object? {
        (Collection::Applications, key) => Ok(key),
        (Collection::ServicePrincipals, _) => Err(GraphError::MethodNotAllowed),
    }
}

/// `GET /applications/{id}/owners`.
pub(crate) async fn list(
    state: AppState,
    caller: Caller,
    Object(object): Object,
    RawQuery(_raw): RawQuery,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let key = application(object)?;
        let dir = state.directory();
        let app = find_app(&dir, key)?;
        Ok(ctx.json(
            StatusCode::OK,
            json!({
                "@odata.context": format!("{METADATA}#directoryObjects"),
                "value": rendered(&state, &dir, app),
            }),
        ))
    })())
}

/// The object id at the end of an `@odata.id` reference
/// (`https://graph.microsoft.com/v1.0/directoryObjects/{id}`).
fn reference(body: &[u8]) -> Result<Uuid, GraphError> {
    let body = json_object(body)?;
    let Some(Value::String(r)) = body.get("@odata.id") else {
        // Wording is a guess: no public recording of a `$ref` without `@odata.id` was found.
        return Err(GraphError::ODataBadRequest(
            "The '@odata.id' property of the reference is missing.".into(),
        ));
    };
    let last = r
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    parse_id(last)
}

/// `POST /applications/{id}/owners/$ref`: 204, the referenced service principal an owner.
pub(crate) async fn add(
    state: AppState,
    caller: Caller,
    Object(object): Object,
    body: Bytes,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let key = application(object)?;
        let owner = reference(&body)?;
        let mut dir = state.directory_mut();
        let id = find_app(&dir, key)?.id;
        if dir.sp(&owner).is_none() {
            return Err(GraphError::NotFound(owner.to_string()));
        }
        let app = dir
            .app_mut(&id)
            .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
        if app.owners.contains(&owner) {
            // Graph's message for a reference that is already there (a guess: recalled,
            // no public recording found).
            return Err(GraphError::BadRequest(
                "One or more added object references already exist for the following modified properties: 'owners'.".into(),
            ));
        }
        app.owners.push(owner);
        Ok(ctx.no_content())
    })())
}

/// `DELETE /applications/{id}/owners/{ownerId}/$ref`: 204, or 404 for one that is not an owner.
pub(crate) async fn remove(
    state: AppState,
    caller: Caller,
    Path((app, owner)): Path<(String, String)>,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let id = parse_id(&app)?;
        let owner = parse_id(&owner)?;
        let mut dir = state.directory_mut();
        let app = dir
            .app_mut(&id)
            .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
        let before = app.owners.len();
        app.owners.retain(|o| *o != owner);
        if app.owners.len() == before {
            return Err(GraphError::NotFound(owner.to_string()));
        }
        Ok(ctx.no_content())
    })())
}

/// `GET /applications/$count` and `/servicePrincipals/$count`: the bare number, only with
/// `ConsistencyLevel: eventual` (Graph's advanced-query docs, concepts/aad-advanced-queries.md).
pub(crate) async fn count(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let eventual = headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
        if !eventual {
            return Err(GraphError::BadRequest(
                "$count is not currently supported.".into(),
            ));
        }
        let dir = state.directory();
        let n = if uri.path().contains("/servicePrincipals/") {
            dir.sps_after(0).count()
        } else {
            dir.apps_after(0).count()
        };
        let mut r = (StatusCode::OK, n.to_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            // A guess: the `$count` content type was not found in a recording.
            HeaderValue::from_static("text/plain"),
        );
        Ok(r)
    })())
}

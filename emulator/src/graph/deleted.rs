//! Deleted items (`/directory/deletedItems`) and `directoryObjects/getByIds`.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::*;

pub(super) fn deleted_object(
    state: &AppState,
    dir: &Directory,
    id: &Uuid,
) -> Option<Map<String, Value>> {
    if let Some(app) = dir.deleted_app(id) {
        let mut o = Map::new();
        o.insert("@odata.type".into(), json!("#microsoft.graph.application"));
        o.extend(render::application(app, tenant_domain(state)));
        return Some(o);
    }
    dir.deleted_sp(id).map(|sp| {
        render::typed_service_principal(sp, dir.app_by_app_id(&sp.app_id), &state.config.tenant_id)
    })
}

/// `GET /v1.0/directory/deletedItems/microsoft.graph.application`.
pub(crate) async fn list_deleted_apps(state: AppState, caller: Caller) -> Response {
    list_deleted(&state, &caller, true)
}

/// `GET /v1.0/directory/deletedItems/microsoft.graph.servicePrincipal`.
pub(crate) async fn list_deleted_sps(state: AppState, caller: Caller) -> Response {
    list_deleted(&state, &caller, false)
}

pub(super) fn list_deleted(state: &AppState, caller: &Caller, apps: bool) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let mut dir = state.directory_mut();
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

/// `GET /v1.0/directory/deletedItems/{id}`.
pub(crate) async fn get_deleted(
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(READ_ROLES)?;
        let id = parse_id(&id)?;
        let mut dir = state.directory_mut();
        dir.purge_expired(ctx.now);
        let object = deleted_object(&state, &dir, &id)
            .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
        Ok(entity(ctx, object))
    })())
}

/// `POST /v1.0/directory/deletedItems/{id}/restore`.
pub(crate) async fn restore_deleted(
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let id = parse_id(&id)?;
        let mut dir = state.directory_mut();
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
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let id = parse_id(&id)?;
        let mut dir = state.directory_mut();
        dir.purge_expired(ctx.now);
        dir.purge(&id)
            .map_err(|_| GraphError::NotFound(id.to_string()))?;
        Ok(ctx.no_content())
    })())
}

/// `POST /v1.0/directoryObjects/getByIds` (the Azure CLI resolves principal names with it).
pub(crate) async fn get_by_ids(state: AppState, caller: Caller, body: Bytes) -> Response {
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
        let dir = state.directory();
        let mut value = Vec::new();
        for raw in &ids {
            let id = parse_id(raw)?;
            if let Some(app) = dir.app(&id).filter(|_| wants("application")) {
                let mut o = Map::new();
                o.insert("@odata.type".into(), json!("#microsoft.graph.application"));
                o.extend(render::application(app, tenant_domain(&state)));
                value.push(Value::Object(o));
            } else if let Some(sp) = dir.sp(&id).filter(|_| wants("servicePrincipal")) {
                value.push(Value::Object(render::typed_service_principal(
                    sp,
                    dir.app_by_app_id(&sp.app_id),
                    &state.config.tenant_id,
                )));
            }
        }
        Ok(ctx.json(
            StatusCode::OK,
            json!({"@odata.context": format!("{METADATA}#directoryObjects"), "value": value}),
        ))
    })())
}

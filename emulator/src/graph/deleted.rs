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
    let object = (dir.deleted_app(id).map(StoredObject::Application))
        .or_else(|| dir.deleted_sp(id).map(StoredObject::ServicePrincipal))?;
    Some(directory_object(state, dir, object))
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

/// A request on the deleted item whose id the path holds.
pub(crate) type DeletedItem = Call<Path<String>>;

impl DeletedItem {
    /// Runs `action` on the item once the caller holds one of `roles`, with the directory
    /// locked for writing and expired items purged first.
    fn run(
        &self,
        roles: &[&str],
        action: impl FnOnce(&mut Directory, Uuid) -> Result<Response, GraphError>,
    ) -> Response {
        let ctx = &self.caller.ctx;
        ctx.respond((|| {
            self.caller.require(roles)?;
            let id = parse_id(&self.target.0)?;
            let mut dir = self.state.directory_mut();
            dir.purge_expired(ctx.now);
            action(&mut dir, id)
        })())
    }
}

/// `GET /v1.0/directory/deletedItems/{id}`.
pub(crate) async fn get_deleted(item: DeletedItem) -> Response {
    item.run(READ_ROLES, |dir, id| {
        let object = deleted_object(&item.state, dir, &id)
            .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
        Ok(entity(&item.caller.ctx, object))
    })
}

/// `POST /v1.0/directory/deletedItems/{id}/restore`.
pub(crate) async fn restore_deleted(item: DeletedItem) -> Response {
    item.run(WRITE_ROLES, |dir, id| {
        dir.restore(&id)?;
        let object = dir
            .object(&id)
            .map(|o| directory_object(&item.state, dir, o));
        Ok(entity(&item.caller.ctx, object.unwrap_or_default()))
    })
}

/// `DELETE /v1.0/directory/deletedItems/{id}`: permanent deletion.
pub(crate) async fn purge_deleted(item: DeletedItem) -> Response {
    item.run(WRITE_ROLES, |dir, id| {
        dir.purge(&id)?;
        Ok(item.caller.ctx.no_content())
    })
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
            let found = (dir.app(&id).filter(|_| wants("application")))
                .map(StoredObject::Application)
                .or_else(|| {
                    (dir.sp(&id).filter(|_| wants("servicePrincipal")))
                        .map(StoredObject::ServicePrincipal)
                });
            value.extend(found.map(|o| Value::Object(directory_object(&state, &dir, o))));
        }
        Ok(ctx.json(
            StatusCode::OK,
            json!({"@odata.context": format!("{METADATA}#directoryObjects"), "value": value}),
        ))
    })())
}

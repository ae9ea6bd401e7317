//! `/servicePrincipals`.

use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::odata::{self, Filter};
use super::query::*;
use super::*;

pub(super) const SP_WRITABLE: &[&str] = &[
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

/// Applies a POST/PATCH body to a service principal; on error nothing is applied.
pub(super) fn apply_sp_body(
    sp: &mut ServicePrincipal,
    body: Map<String, Value>,
    creating: bool,
) -> Result<(), GraphError> {
    let access = |k: &str| match k {
        "appId" if creating => Access::Ignored,
        k if SP_WRITABLE.contains(&k) => Access::Write,
        _ => Access::ReadOnly,
    };
    // `accountEnabled` is the one property with a rule of its own.
    let own = |next: &mut ServicePrincipal, key: &str, value, _: &Value| match (key, value) {
        ("accountEnabled", Value::Bool(b)) => {
            next.account_enabled = b;
            Ok(None)
        }
        ("accountEnabled", _) => Err(invalid_value(key, SERVICE_PRINCIPALS.kind)),
        (_, value) => Ok(Some(value)),
    };
    apply_body(sp, body, &SERVICE_PRINCIPALS, access, own)
}

/// `GET /v1.0/servicePrincipals`.
pub(crate) async fn list_sps(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    list_response(
        &caller,
        &headers,
        raw.as_deref(),
        &SERVICE_PRINCIPALS,
        |q| {
            let dir = state.directory();
            let tenant = state.config.tenant_id;
            let render = |s: &ServicePrincipal| {
                let app = dir.app_by_app_id(&s.app_id);
                render::service_principal_selected(s, app, &tenant, q.select.as_deref())
            };
            let matches = |s: &ServicePrincipal| q.matches(&sp_values(s, &dir));
            // Index lookup when the filter names one app id.
            let indexed = q.filter.as_ref().and_then(|f| match f {
                Filter::Any {
                    prop,
                    value: odata::Literal::String(v),
                } if prop.eq_ignore_ascii_case("servicePrincipalNames") => Uuid::parse_str(v).ok(),
                _ => f.exact("appId").and_then(|v| Uuid::parse_str(v).ok()),
            });
            let indexed = indexed.map(|app_id| dir.sp_by_app_id(&app_id).filter(|s| matches(s)));
            select_page(q, indexed, |seq| dir.sps_after(seq), matches, render)
        },
    )
}

/// `POST /v1.0/servicePrincipals`.
pub(crate) async fn create_sp(state: AppState, caller: Caller, body: Bytes) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let body = json_object(&body)?;
        let app_id = required_uuid(&body, "appId", "ServicePrincipal")?;
        let sp = state.create_service_principal(app_id, ctx.now, |sp| {
            sp.created_by_app_id = Uuid::parse_str(caller.claims.client_id()).ok();
            apply_sp_body(sp, body, true)
        })?;
        let dir = state.directory();
        let app = dir.app_by_app_id(&sp.app_id);
        let object = render::service_principal(&sp, app, &state.config.tenant_id);
        // Graph's create answer has no creation time yet; later reads do (az CLI output of
        // `ad sp create` and `ad sp show`, research issue18.md 12.2).
        Ok(created_response(
            ctx,
            &state,
            &SERVICE_PRINCIPALS,
            &sp.id,
            object,
            Value::Null,
        ))
    })())
}

pub(super) fn update_sp_impl(call: &ObjectCall, key: Key) -> Result<Response, GraphError> {
    let (state, caller) = (&call.state, &call.caller);
    let body = call.writer_body()?;
    let mut dir = state.directory_mut();
    let mut sp = find_sp(&dir, key)?.clone();
    apply_sp_body(&mut sp, body, false)?;
    if let Some(slot) = dir.sp_mut(&sp.id) {
        *slot = sp;
    }
    Ok(caller.ctx.no_content())
}

//! `/applications`: registrations, their properties and their client secrets.

use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::key_credentials;
use super::owners;
use super::query::*;
use super::*;
use crate::directory::SIGN_IN_AUDIENCES;
use crate::secret;

pub(super) const APP_READ_ONLY: &[&str] = &[
    "id",
    "appId",
    "createdDateTime",
    "deletedDateTime",
    "publisherDomain",
    "verifiedPublisher",
    "certification",
    "disabledByMicrosoftStatus",
    "applicationTemplateId",
    "createdByAppId",
    "uniqueName",
    // Set by Microsoft (a guess: no public source says whether clients may write it).
    "isDisabled",
];

/// Applies a POST/PATCH body to an application; on error nothing is applied.
pub(super) fn apply_app_body(
    app: &mut Application,
    body: Map<String, Value>,
    creating: bool,
) -> Result<(), GraphError> {
    let access = |k: &str| match APP_READ_ONLY.contains(&k) {
        false => Access::Write,
        true if creating => Access::Ignored,
        true => Access::ReadOnly,
    };
    apply_body(app, body, &APPLICATIONS, access, app_property)
}

/// Applies a property of an application body that has rules of its own (`template`:
/// Graph's defaults); hands back the value of any other.
fn app_property(
    next: &mut Application,
    key: &str,
    value: Value,
    template: &Value,
) -> Result<Option<Value>, GraphError> {
    const TY: &str = APPLICATIONS.kind;
    match key {
        "displayName" if value.is_null() => return Err(required("displayName", TY)),
        // Values from Graph's nativeAuthenticationApisEnabled enum (application resource).
        "nativeAuthenticationApisEnabled" => match value {
            Value::Null => {
                next.props.remove(key);
            }
            Value::String(ref s) if s == "none" || s == "all" => {
                next.props.insert(key.to_owned(), value);
            }
            _ => return Err(invalid_value(key, TY)),
        },
        "signInAudience" => match value.as_str() {
            Some(a) if SIGN_IN_AUDIENCES.contains(&a) => next.sign_in_audience = a.to_owned(),
            _ => return Err(invalid_value("signInAudience", TY)),
        },
        "identifierUris" => {
            let uris = string_list(&value).ok_or_else(|| invalid_value("identifierUris", TY))?;
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
            let api = Value::Object(api);
            if !template.get("api").is_some_and(|d| known_keys(d, &api)) {
                return Err(invalid_value("api", TY));
            }
            merge_prop(&mut next.props, "api", api);
        }
        // PATCH replaces the whole collection (users of `Update-MgApplication` saw their
        // earlier certificate overwritten: microsoftgraph/msgraph-sdk-powershell issue 779).
        "keyCredentials" => {
            // Not yet changed: a body names each property once.
            next.key_credentials =
                key_credentials::parse_collection(&value, &next.key_credentials)?;
        }
        // Secrets are added with addPassword; an empty list (which the Azure CLI sends)
        // is accepted. The error wording is a guess.
        "passwordCredentials" => {
            if !matches!(&value, Value::Array(a) if a.is_empty()) && !value.is_null() {
                return Err(GraphError::BadRequest(format!(
                    "Property '{key}' cannot be set on create or update; use addPassword to add a client secret."
                )));
            }
        }
        _ => return Ok(Some(value)),
    }
    Ok(None)
}

/// `GET /v1.0/applications`.
pub(crate) async fn list_apps(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    list_response(&caller, &headers, raw.as_deref(), &APPLICATIONS, |q| {
        let dir = state.directory();
        let domain = tenant_domain(&state);
        let render = |a: &Application| {
            let mut o = render::application_selected(a, domain, q.select.as_deref());
            if q.expand_owners {
                o.insert("owners".into(), owners::rendered(&state, &dir, a));
            }
            o
        };
        // Index lookup for the most common filter.
        let indexed = q
            .filter
            .as_ref()
            .and_then(|f| f.exact("appId"))
            .map(|app_id| {
                Uuid::parse_str(app_id)
                    .ok()
                    .and_then(|id| dir.app_by_app_id(&id))
                    .filter(|a| a.deleted.is_none())
            });
        select_page(
            q,
            indexed,
            |seq| dir.apps_after(seq),
            |a| q.matches(&app_values(a)),
            render,
        )
    })
}

/// `POST /v1.0/applications`.
pub(crate) async fn create_app(state: AppState, caller: Caller, body: Bytes) -> Response {
    let ctx = &caller.ctx;
    ctx.respond((|| {
        caller.require(WRITE_ROLES)?;
        let body = json_object(&body)?;
        if !body.contains_key("displayName") {
            return Err(required("displayName", "Application"));
        }
        let mut app = Application::new(Uuid::new_v4(), Uuid::new_v4(), "", ctx.now);
        app.created_by_app_id = Uuid::parse_str(caller.claims.client_id()).ok();
        // The caller's service principal owns what it creates, which is what lets
        // Application.ReadWrite.OwnedBy ("Manage apps that this app creates or owns") work.
        app.owners.extend(Uuid::parse_str(&caller.claims.oid).ok());
        apply_app_body(&mut app, body, true)?;
        check_identifier_uris(&state, &app, &[])?;
        let mut dir = state.directory_mut();
        if dir
            .identifier_uri_taken(&app.identifier_uris, None)
            .is_some()
        {
            return Err(GraphError::DuplicateIdentifierUri);
        }
        dir.insert_app(app.clone());
        let object = render::application(&app, tenant_domain(&state));
        // The create answer has the 7-digit fraction that later reads drop (Azure/azure-cli
        // test_credential_reset recording: fixtures/azure/cli_role_app_credential_reset.json,
        // exchanges 1 and 3).
        let created = Value::from(crate::wire::graph::datetime(app.created));
        Ok(created_response(
            ctx,
            &state,
            &APPLICATIONS,
            &app.id,
            object,
            created,
        ))
    })())
}

/// Refuses an identifier URI `app` adds (one not among `kept`) that it may not claim;
/// Entra checks only new values, so an app keeps those it already had.
pub(super) fn check_identifier_uris(
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

/// An application as a `GET` of it shows it: the `$select`ed properties (with the
/// certificates' `key` when they are selected) and the `$expand`ed owners.
pub(super) fn rendered_app(
    state: &AppState,
    dir: &Directory,
    app: &Application,
    q: &ListQuery,
) -> Map<String, Value> {
    let select = q.select.as_deref();
    let mut object = render::application_selected(app, tenant_domain(state), select);
    // `key` is "returned only on $select for a single object" (keyCredential resource page).
    if select.is_some_and(|s| s.iter().any(|f| f.eq_ignore_ascii_case("keyCredentials"))) {
        object.insert("keyCredentials".into(), render::key_credentials(app, true));
    }
    if q.expand_owners {
        object.insert("owners".into(), owners::rendered(state, dir, app));
    }
    object
}

pub(super) fn update_app_impl(call: &ObjectCall, key: Key) -> Result<Response, GraphError> {
    let (state, caller) = (&call.state, &call.caller);
    let body = call.writer_body()?;
    let mut dir = state.directory_mut();
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

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AddPassword {
    #[serde(default)]
    password_credential: Option<Map<String, Value>>,
}

pub(super) fn parse_graph_datetime(
    value: &Value,
    prop: &str,
    ty: &str,
) -> Result<Option<OffsetDateTime>, GraphError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map(Some)
            .map_err(|_| invalid_value(prop, ty)),
        _ => Err(invalid_value(prop, ty)),
    }
}

pub(super) fn add_password_impl(call: &ObjectCall, key: Key) -> Result<Response, GraphError> {
    let (state, caller) = (&call.state, &call.caller);
    caller.require(WRITE_ROLES)?;
    // An empty body is allowed: every property of the new credential has a default.
    let params: AddPassword = if call.body.iter().all(u8::is_ascii_whitespace) {
        AddPassword {
            password_credential: None,
        }
    } else {
        serde_json::from_value(Value::Object(json_object(&call.body)?)).map_err(|_| {
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
            "startDateTime" => {
                start = parse_graph_datetime(&v, "startDateTime", "PasswordCredential")?
            }
            "endDateTime" => end = parse_graph_datetime(&v, "endDateTime", "PasswordCredential")?,
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
    let mut dir = state.directory_mut();
    let id = find_app(&dir, key)?.id;
    let (credential, value) = dir
        .add_password(&id, display_name, start, end)
        .map_err(|_| GraphError::NotFound(id.to_string()))?;
    drop(dir);
    let body = with_context(
        format!("{METADATA}#microsoft.graph.passwordCredential"),
        render::password_credential(&credential, Some(value.expose())),
    );
    let mut response = caller.ctx.json(StatusCode::OK, body);
    // Graph's addPassword answer carries this fixed `Location` (Azure/azure-cli
    // test_credential_reset recording, fixtures/azure/cli_role_app_credential_reset.json).
    response.headers_mut().insert(
        header::LOCATION,
        axum::http::HeaderValue::from_static("https://graph.microsoft.com"),
    );
    Ok(response)
}

pub(super) fn remove_password_impl(call: &ObjectCall, key: Key) -> Result<Response, GraphError> {
    let (state, caller) = (&call.state, &call.caller);
    let body = call.writer_body()?;
    let key_id = required_uuid(&body, "keyId", "PasswordCredential")?;
    let mut dir = state.directory_mut();
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
            json!({"web": {"implicitGrantSettings": {"nope": true}}}),
            json!({"api": {"nope": []}}),
        ] {
            assert!(
                apply_app_body(&mut app, body(bad.clone()), false).is_err(),
                "{bad}"
            );
        }
    }
}

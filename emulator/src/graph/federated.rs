//! `/applications/{id}/federatedIdentityCredentials`: create, list, get (by id or name),
//! update, upsert by name, delete.
//!
//! Wire shapes from the Azure CLI's recorded traffic (Azure/azure-cli `role/tests/latest/
//! recordings/test_app_federated_credential.yaml` @ 3fde2faa) and Graph's pages for the
//! resource and its upsert (microsoftgraph/microsoft-graph-docs-contrib).

use axum::extract::{FromRequestParts, OriginalUri, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::*;
use crate::federation::{self, Broken, FederatedCredential};

const TY: &str = "FederatedIdentityCredential";

/// The application a path names: `/applications/{id}/…` or `/applications(appId='…')/…`.
fn app_key(path: &str, segment: &str) -> Result<Key, GraphError> {
    if path.trim_start_matches('/').split('/').nth(1) == Some("applications") {
        return parse_id(segment).map(Key::Id);
    }
    match alternate_key(segment)? {
        (Collection::Applications, key) => Ok(key),
        (Collection::ServicePrincipals, _) => Err(GraphError::ODataBadRequest(
            "Resource not found for the segment 'federatedIdentityCredentials'.".into(),
        )),
    }
}

/// Graph's answer to a broken rule. Only the duplicate issuer and subject answer was
/// recorded (Azure/azure-workload-identity issue 434, Graph beta, 2022); the other messages
/// are the ones Entra's considerations page lists, under the same code (a guess).
fn broken(rule: Broken, cred: &FederatedCredential) -> GraphError {
    let code = "InvalidFederatedIdentityCredentialValue";
    let message = match rule {
        Broken::Name => format!(
            "Federated Identity Credential name '{}' is invalid.",
            cred.name
        ),
        Broken::Audiences => {
            "Federated identity credentials must have exactly one audience.".to_owned()
        }
        Broken::TooLong(field) => format!(
            "The value of '{field}' is longer than the maximum of {} characters.",
            federation::MAX_FIELD
        ),
        Broken::DuplicateName => format!(
            "A federated identity credential named '{}' already exists on the application.",
            cred.name
        ),
        Broken::DuplicateIssuerSubject => format!(
            "The combination of issuer and subject must be unique for the application. Issuer {} and Subject: {} already exist. paramName: FederatedIdentityCredential.Subject, paramValue: {}, objectType: Microsoft.Online.DirectoryServices.Application",
            cred.issuer, cred.subject, cred.subject
        ),
        Broken::Limit => format!(
            "The application already has the maximum of {} federated identity credentials.",
            federation::MAX_PER_APP
        ),
    };
    GraphError::Coded(code, message)
}

/// Applies a POST/PATCH body to `cred`. `creating`: `name`, `issuer`, `subject` and
/// `audiences` are required (Graph has no default for `audiences`: the resource page says
/// "This field is mandatory"); otherwise `name` may only be repeated unchanged.
fn apply(
    cred: &mut FederatedCredential,
    body: Map<String, Value>,
    creating: bool,
) -> Result<(), GraphError> {
    let text = |v: &Value, prop: &str| match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(invalid_value(prop, TY)),
    };
    let mut seen = Vec::new();
    for (key, value) in body {
        match key.as_str() {
            "name" => {
                let name = text(&value, "name")?;
                if !creating && name != cred.name {
                    return Err(read_only("name"));
                }
                cred.name = name;
            }
            "issuer" => cred.issuer = text(&value, "issuer")?,
            "subject" => cred.subject = text(&value, "subject")?,
            "description" => {
                cred.description = match &value {
                    Value::Null => None,
                    v => Some(text(v, "description")?),
                }
            }
            "audiences" => {
                cred.audiences =
                    string_list(&value).ok_or_else(|| invalid_value("audiences", TY))?
            }
            // Read-only, ignored on create as Graph ignores a sent `id`.
            "id" if creating => {}
            k if k.starts_with("@odata.") => {}
            k => return Err(unknown_property(k, TY)),
        }
        seen.push(key);
    }
    if creating {
        for prop in ["name", "issuer", "subject", "audiences"] {
            if !seen.iter().any(|k| k == prop) {
                return Err(required(prop, TY));
            }
        }
    }
    Ok(())
}

fn context(app: &Uuid, entity: bool) -> String {
    format!(
        "{METADATA}#applications('{app}')/federatedIdentityCredentials{}",
        if entity { "/$entity" } else { "" }
    )
}

fn entity(ctx: &Ctx, app: &Uuid, cred: &FederatedCredential, status: StatusCode) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(context(app, true)));
    body.extend(render::federated_credential(cred));
    ctx.json(status, Value::Object(body))
}

/// Finds a credential by id or by name (the CLI's `show --credential-id Testing` put the
/// name in the id segment and got 200, CLI-FIC recording).
fn position(creds: &[FederatedCredential], key: &str) -> Option<usize> {
    let id = Uuid::parse_str(key).ok();
    creds.iter().position(|c| Some(c.id) == id || c.name == key)
}

/// Checks and stores `cred` on application `id` (replacing the one at `at`).
fn store(
    dir: &mut Directory,
    id: &Uuid,
    cred: FederatedCredential,
    at: Option<usize>,
) -> Result<(), GraphError> {
    let app = dir
        .app_mut(id)
        .ok_or_else(|| GraphError::NotFound(id.to_string()))?;
    let others: Vec<_> = (app.federated_credentials.iter().enumerate())
        .filter(|(i, _)| Some(*i) != at)
        .map(|(_, c)| c.clone())
        .collect();
    federation::check(&cred, &others).map_err(|rule| broken(rule, &cred))?;
    match at {
        Some(i) => app.federated_credentials[i] = cred,
        None => app.federated_credentials.push(cred),
    }
    Ok(())
}

fn create(
    state: &AppState,
    caller: &Caller,
    key: Key,
    body: Map<String, Value>,
) -> Result<Response, GraphError> {
    let mut cred = FederatedCredential {
        id: Uuid::new_v4(),
        name: String::new(),
        issuer: String::new(),
        subject: String::new(),
        audiences: Vec::new(),
        description: None,
        changed: state.clock.now(),
    };
    apply(&mut cred, body, true)?;
    let mut dir = state.directory_mut();
    let app_id = find_app(&dir, key)?.id;
    store(&mut dir, &app_id, cred.clone(), None)?;
    drop(dir);
    let mut response = entity(&caller.ctx, &app_id, &cred, StatusCode::CREATED);
    let location = format!(
        "https://graph.microsoft.com/v2/{}/federatedIdentityCredentials/{}",
        state.config.tenant_id, cred.id
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// The method, headers and path of a request under an application's federated credentials.
/// The application is parsed when the handler asks, after the caller is authenticated, as
/// Graph orders its errors.
#[derive(Debug)]
pub(crate) struct CredentialPath {
    method: Method,
    headers: HeaderMap,
    path: String,
    /// The path's parameters: the application's segment, then what follows it (a
    /// credential's id or name, or a `federatedIdentityCredentials(name='…')` segment).
    params: Vec<String>,
}

impl FromRequestParts<AppState> for CredentialPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(OriginalUri(uri)) = OriginalUri::from_request_parts(parts, state).await;
        let Path(params) = Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            method: parts.method.clone(),
            headers: parts.headers.clone(),
            path: uri.path().to_owned(),
            params,
        })
    }
}

impl CredentialPath {
    /// The application the path names.
    fn app(&self) -> Result<Key, GraphError> {
        app_key(&self.path, self.params.first().map_or("", String::as_str))
    }

    /// What follows the application in the path.
    fn rest(&self) -> &str {
        self.params.get(1).map_or("", String::as_str)
    }
}

/// `GET` and `POST …/federatedIdentityCredentials`.
pub(crate) async fn collection(call: Call<CredentialPath>, body: Bytes) -> Response {
    let ctx = &call.caller.ctx;
    ctx.respond(call.target.app().and_then(|key| {
        if call.target.method == Method::POST {
            call.caller.require(WRITE_ROLES)?;
            return create(&call.state, &call.caller, key, json_object(&body)?);
        }
        call.caller.require(READ_ROLES)?;
        let dir = call.state.directory();
        let app = find_app(&dir, key)?;
        let value: Vec<Value> = app
            .federated_credentials
            .iter()
            .map(|c| Value::Object(render::federated_credential(c)))
            .collect();
        Ok(ctx.json(
            StatusCode::OK,
            json!({"@odata.context": context(&app.id, false), "value": value}),
        ))
    }))
}

/// `GET`, `PATCH` and `DELETE …/federatedIdentityCredentials/{id or name}`.
pub(crate) async fn item(call: Call<CredentialPath>, body: Bytes) -> Response {
    let at = &call.target;
    let result = at
        .app()
        .and_then(|key| one(&call, key, at.rest(), &body, false));
    call.caller.ctx.respond(result)
}

/// `PATCH …/federatedIdentityCredentials(name='{name}')` (upsert with
/// `Prefer: create-if-missing`), and `GET`/`DELETE` by the same key. Any other segment
/// after an application is Graph's unknown segment.
pub(crate) async fn by_name(call: Call<CredentialPath>, body: Bytes) -> Response {
    let at = &call.target;
    call.caller.ctx.respond((|| {
        let rest = at.rest();
        let name = rest
            .strip_prefix("federatedIdentityCredentials(name=")
            .and_then(|r| r.strip_suffix(')'))
            .map(|n| n.trim_matches('\''))
            .ok_or_else(|| {
                GraphError::ODataBadRequest(format!("Resource not found for the segment '{rest}'."))
            })?;
        let key = at.app()?;
        let upsert = at
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|p| p.trim().eq_ignore_ascii_case("create-if-missing"))
            });
        one(&call, key, name, &body, upsert)
    })())
}

/// `GET`, `PATCH` (an upsert where `upsert`) or `DELETE` of credential `cred_key` (its id or
/// name) of application `key`.
fn one(
    call: &Call<CredentialPath>,
    key: Key,
    cred_key: &str,
    body: &[u8],
    upsert: bool,
) -> Result<Response, GraphError> {
    let Call {
        state,
        caller,
        target,
    } = call;
    let method = &target.method;
    let ctx = &caller.ctx;
    if *method == Method::GET {
        caller.require(READ_ROLES)?;
        let dir = state.directory();
        let app = find_app(&dir, key)?;
        let at = position(&app.federated_credentials, cred_key)
            .ok_or_else(|| GraphError::NotFound(cred_key.to_owned()))?;
        return Ok(entity(
            ctx,
            &app.id,
            &app.federated_credentials[at],
            StatusCode::OK,
        ));
    }
    caller.require(WRITE_ROLES)?;
    if *method == Method::DELETE {
        let mut dir = state.directory_mut();
        let app_id = find_app(&dir, key)?.id;
        let app = dir
            .app_mut(&app_id)
            .ok_or_else(|| GraphError::NotFound(app_id.to_string()))?;
        let at = position(&app.federated_credentials, cred_key)
            .ok_or_else(|| GraphError::NotFound(cred_key.to_owned()))?;
        app.federated_credentials.remove(at);
        return Ok(ctx.no_content());
    }
    if *method != Method::PATCH {
        return Err(GraphError::MethodNotAllowed);
    }
    let body = json_object(body)?;
    let mut dir = state.directory_mut();
    let app = find_app(&dir, key)?;
    let app_id = app.id;
    match position(&app.federated_credentials, cred_key) {
        Some(at) => {
            let mut cred = app.federated_credentials[at].clone();
            apply(&mut cred, body, false)?;
            let before = &app.federated_credentials[at];
            if (&cred.issuer, &cred.subject, &cred.audiences)
                != (&before.issuer, &before.subject, &before.audiences)
            {
                cred.changed = state.clock.now();
            }
            store(&mut dir, &app_id, cred, Some(at))?;
            Ok(ctx.no_content())
        }
        None if upsert => {
            drop(dir);
            let mut body = body;
            body.entry("name")
                .or_insert_with(|| Value::String(cred_key.to_owned()));
            create(state, caller, key, body)
        }
        None => Err(GraphError::NotFound(cred_key.to_owned())),
    }
}

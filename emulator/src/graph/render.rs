//! Graph's JSON for applications, service principals and password credentials: every
//! property in the order Graph returns it, with Graph's defaults where nothing was set.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credentials::KeyCredential;
use crate::directory::{Application, PasswordCredential, ServicePrincipal};
use crate::federation::FederatedCredential;
use crate::wire::graph::{self as wire, datetime};

fn object(v: impl serde::Serialize) -> Map<String, Value> {
    // The wire types hold only strings, numbers, booleans and JSON values: they serialize.
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Graph's defaults for an application, in Graph's order. Keys are the properties a client
/// may read, `$select` and (unless read-only) write.
pub(crate) fn application_template() -> Value {
    let blank = blank(Application::new);
    let o = object(wire::Application::new(&blank, "").selecting(&blank, &app_select_only()));
    let mut o = nulled(o, |v| !v.is_array() && !v.is_object());
    if let Some(Value::Object(api)) = o.get_mut("api") {
        api.insert("requestedAccessTokenVersion".into(), Value::Null);
    }
    Value::Object(o)
}

/// Graph's defaults for a service principal, in Graph's order.
pub(crate) fn service_principal_template() -> Value {
    let blank = blank(ServicePrincipal::new);
    let wire = wire::ServicePrincipal::new(&blank, None, Uuid::nil());
    let o = object(wire.selecting(&blank, &sp_select_only()));
    Value::Object(nulled(o, Value::is_string))
}

/// An object with nil ids and no name, made by `new`, for rendering Graph's defaults.
fn blank<T>(new: impl FnOnce(Uuid, Uuid, &'static str, OffsetDateTime) -> T) -> T {
    new(Uuid::nil(), Uuid::nil(), "", OffsetDateTime::UNIX_EPOCH)
}

/// `o` with the values `unset` picks replaced by null.
fn nulled(mut o: Map<String, Value>, unset: impl Fn(&Value) -> bool) -> Map<String, Value> {
    for value in o.values_mut() {
        if unset(value) {
            *value = Value::Null;
        }
    }
    o
}

/// A password credential as Graph shows it; `secret_text` only in the `addPassword` answer.
pub(crate) fn password_credential(
    c: &PasswordCredential,
    secret_text: Option<&str>,
) -> Map<String, Value> {
    object(wire::PasswordCredential::new(c, secret_text))
}

/// A certificate as Graph shows it, in Graph's order: `customKeyIdentifier` is the SHA-1
/// thumbprint in upper-case hex and `key` is null unless `with_key` (recorded in Azure/azure-cli
/// `test_create_for_rbac_create_cert.yaml` @ fd3b3d8c).
pub(crate) fn key_credential(k: &KeyCredential, with_key: bool) -> Map<String, Value> {
    object(json!({
        "customKeyIdentifier": k.cert.thumbprint(),
        "displayName": k.display_name,
        "endDateTime": datetime(k.end),
        "key": with_key.then(|| k.cert.base64()),
        "keyId": k.key_id,
        "startDateTime": datetime(k.start),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    }))
}

/// A federated identity credential as Graph shows it, in Graph's order (recorded in
/// Azure/azure-cli `test_app_federated_credential.yaml` @ 3fde2faa).
pub(crate) fn federated_credential(f: &FederatedCredential) -> Map<String, Value> {
    object(json!({
        "id": f.id,
        "name": f.name,
        "issuer": f.issuer,
        "subject": f.subject,
        "description": f.description,
        "audiences": f.audiences,
    }))
}

/// The application object.
pub(crate) fn application(app: &Application, publisher_domain: &str) -> Map<String, Value> {
    with_keys(object(wire::Application::new(app, publisher_domain)), app)
}

/// Sets `keyCredentials` (in its place: the map keeps its order) to the application's
/// certificates, without their `key`.
fn with_keys(mut o: Map<String, Value>, app: &Application) -> Map<String, Value> {
    o.insert("keyCredentials".into(), key_credentials(app, false));
    o
}

/// The application's certificates as Graph lists them; `key` only when `with_key`.
pub(crate) fn key_credentials(app: &Application, with_key: bool) -> Value {
    app.key_credentials
        .iter()
        .map(|k| Value::Object(key_credential(k, with_key)))
        .collect()
}

/// The application object with the `$select`-only properties `select` names.
pub(crate) fn application_selected(
    app: &Application,
    publisher_domain: &str,
    select: Option<&[String]>,
) -> Map<String, Value> {
    let wire = wire::Application::new(app, publisher_domain);
    let o = object(match select {
        Some(fields) => wire.selecting(app, fields),
        None => wire,
    });
    with_keys(o, app)
}

/// Application properties Graph returns only on `$select`: `authenticationBehaviors` (Graph
/// docs, application resource) and `oauth2RequirePostResponse` (in beta answers, absent
/// from v1.0's default body: /work/research/issue18.md 12.1).
fn app_select_only() -> Vec<String> {
    vec![
        "authenticationBehaviors".into(),
        "oauth2RequirePostResponse".into(),
    ]
}

/// Service principal properties returned only on `$select`: absent from every recorded
/// v1.0 body (research 12.2).
fn sp_select_only() -> Vec<String> {
    vec!["customSecurityAttributes".into(), "isDisabled".into()]
}

/// The service principal object with the `$select`-only properties `select` names.
pub(crate) fn service_principal_selected(
    sp: &ServicePrincipal,
    app: Option<&Application>,
    tenant: &Uuid,
    select: Option<&[String]>,
) -> Map<String, Value> {
    let wire = wire::ServicePrincipal::new(sp, app, *tenant);
    object(match select {
        Some(fields) => wire.selecting(sp, fields),
        None => wire,
    })
}

/// The service principal object; `app` is its live application, when there is one.
pub(crate) fn service_principal(
    sp: &ServicePrincipal,
    app: Option<&Application>,
    tenant: &Uuid,
) -> Map<String, Value> {
    object(wire::ServicePrincipal::new(sp, app, *tenant))
}

/// The application object with its `@odata.type`, as a directory-object answer lists it.
pub(crate) fn typed_application(app: &Application, publisher_domain: &str) -> Map<String, Value> {
    typed("application", application(app, publisher_domain))
}

/// `object` led by `@odata.type` `#microsoft.graph.{kind}`.
fn typed(kind: &str, object: Map<String, Value>) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert(
        "@odata.type".into(),
        Value::from(format!("#microsoft.graph.{kind}")),
    );
    o.extend(object);
    o
}

/// A service principal as a directory object (in `getByIds`, deleted items, owners): with
/// its `@odata.type` first.
pub(crate) fn typed_service_principal(
    sp: &ServicePrincipal,
    app: Option<&Application>,
    tenant: &Uuid,
) -> Map<String, Value> {
    typed("servicePrincipal", service_principal(sp, app, tenant))
}

/// Keeps only the `$select`ed properties, in Graph's order.
pub(crate) fn select(object: Map<String, Value>, fields: Option<&[String]>) -> Map<String, Value> {
    match fields {
        None => object,
        Some(fields) => object
            .into_iter()
            // `owners` is there only when expanded, which `$select` does not undo.
            .filter(|(k, _)| k == "owners" || fields.iter().any(|f| f.eq_ignore_ascii_case(k)))
            .collect(),
    }
}

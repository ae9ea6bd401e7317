//! An application's certificates: `keyCredentials` in POST/PATCH bodies (the whole
//! collection replaced), `addKey` and `removeKey` with their proof-of-possession token.
//!
//! Sources: the keyCredential resource page, `application-addkey.md`, `application-removekey.md`
//! and `concepts/application-rollkey-prooftoken.md` (microsoftgraph/microsoft-graph-docs-contrib),
//! and the Azure CLI's recorded traffic (Azure/azure-cli `role/tests/latest/recordings/
//! test_create_for_rbac_create_cert.yaml` @ fd3b3d8c).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::applications::parse_graph_datetime;
use super::*;
use crate::credentials::{self, Certificate, Jwt, KeyCredential};

const TY: &str = "KeyCredential";

/// The only key credential the emulator stores: a certificate whose public key verifies
/// client assertions. Graph's other kinds (`Symmetric`, `X509CertAndPassword` for SAML
/// signing) are refused as invalid values (a guess at the answer).
const TYPE: &str = "AsymmetricX509Cert";
const USAGE: &str = "Verify";

/// `aud` of an addKey/removeKey proof: the AAD Graph application id (rollkey proof page).
const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// Graph's answer to a bad `key`: the message is quoted in Microsoft's docs (custom signing
/// key how-to); the code is a guess.
fn invalid_certificate() -> GraphError {
    GraphError::BadRequest("Invalid certificate: Key value is invalid certificate".into())
}

/// Observed in terraform and app logs (`KeyCredentialsInvalidEndDate`, "Key credential end
/// date is invalid."). Which rule Graph applies is not documented: the emulator refuses an
/// end before the start or after the certificate's expiry (the Azure CLI keeps its dates
/// inside the certificate's validity, `_validate_app_dates`, which suggests Graph checks it).
fn invalid_end_date() -> GraphError {
    GraphError::Coded(
        "KeyCredentialsInvalidEndDate",
        "Key credential end date is invalid.".into(),
    )
}

/// A start before the certificate's validity. A guess: no public source shows Graph's answer.
fn invalid_start_date() -> GraphError {
    GraphError::Coded(
        "KeyCredentialsInvalidStartDate",
        "Key credential start date is invalid.".into(),
    )
}

/// One new key credential from its JSON; `existing` supplies the certificate of an entry
/// that names a stored `keyId` with `key: null` (the Azure CLI's `credential reset --append`
/// re-sends the entries it read, whose `key` Graph shows as null).
fn parse_entry(entry: &Value, existing: &[KeyCredential]) -> Result<KeyCredential, GraphError> {
    let Value::Object(fields) = entry else {
        return Err(invalid_value("keyCredentials", "Application"));
    };
    let mut key_id = None;
    let (mut display_name, mut start, mut end, mut key) = (None, None, None, None);
    let (mut kind, mut usage) = (None, None);
    for (k, v) in fields {
        match k.as_str() {
            "keyId" => {
                key_id = match v {
                    Value::Null => None,
                    Value::String(s) => {
                        Some(Uuid::parse_str(s).map_err(|_| invalid_value("keyId", TY))?)
                    }
                    _ => return Err(invalid_value("keyId", TY)),
                }
            }
            "displayName" => {
                display_name = match v {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    _ => return Err(invalid_value("displayName", TY)),
                }
            }
            "startDateTime" => start = parse_graph_datetime(v, k, TY)?,
            "endDateTime" => end = parse_graph_datetime(v, k, TY)?,
            "key" => {
                key = match v {
                    Value::Null => None,
                    Value::String(s) => Some(s.as_str()),
                    _ => return Err(invalid_certificate()),
                }
            }
            "type" => kind = v.as_str(),
            "usage" => usage = v.as_str(),
            // Graph shows the certificate's thumbprint whatever the client sends (the CLI
            // sends none; the how-to sends the thumbprint itself).
            "customKeyIdentifier" => {}
            k if k.starts_with("@odata.") => {}
            k => return Err(unknown_property(k, TY)),
        }
    }
    if kind != Some(TYPE) {
        return Err(invalid_value("type", TY));
    }
    if usage != Some(USAGE) {
        // Message observed from Graph v1.0 (microsoftgraph/msgraph-sdk-java issue 1823);
        // the code is a guess.
        return Err(GraphError::BadRequest(
            "The value for the property \"usage\" in one of your credentials is invalid. Acceptable values are Sign, Verify.".into(),
        ));
    }
    let cert = match key {
        Some(text) => Arc::new(Certificate::from_base64(text).map_err(|_| invalid_certificate())?),
        None => {
            let kept = key_id
                .and_then(|id| existing.iter().find(|k| k.key_id == id))
                .ok_or_else(invalid_certificate)?;
            if start.is_none() && end.is_none() && display_name.is_none() {
                return Ok(kept.clone());
            }
            kept.cert.clone()
        }
    };
    let start = start.unwrap_or(cert.not_before);
    let end = end.unwrap_or(cert.not_after);
    if start < cert.not_before {
        return Err(invalid_start_date());
    }
    if end <= start || end > cert.not_after {
        return Err(invalid_end_date());
    }
    Ok(KeyCredential {
        key_id: key_id.unwrap_or_else(Uuid::new_v4),
        // Graph stores the certificate's subject when no name is given (CLI-CERT: the CLI
        // sends `displayName: null`, Graph answers `"CN=CLI-Login"`).
        display_name: Some(display_name.unwrap_or_else(|| cert.subject.clone())),
        start,
        end,
        cert,
    })
}

/// The `keyCredentials` of a POST or PATCH body: the whole new collection.
pub(super) fn parse_collection(
    value: &Value,
    existing: &[KeyCredential],
) -> Result<Vec<KeyCredential>, GraphError> {
    let entries = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => return Err(invalid_value("keyCredentials", "Application")),
    };
    let mut parsed: Vec<KeyCredential> = Vec::with_capacity(entries.len());
    for entry in entries {
        let credential = parse_entry(entry, existing)?;
        // Wording is a guess (AAD Graph said "Update to existing credential with KeyId is
        // not allowed"; Microsoft Graph's answer was not found).
        if parsed.iter().any(|k| k.key_id == credential.key_id) {
            return Err(GraphError::BadRequest(format!(
                "Duplicate keyId {} in keyCredentials.",
                credential.key_id
            )));
        }
        parsed.push(credential);
    }
    Ok(parsed)
}

/// Checks an addKey/removeKey proof: a JWT without base64 padding, signed by one of `app`'s
/// certificates valid at `now`, with `aud` AAD Graph's id, `iss` the application's object id
/// and a current `nbf`..`exp` window (rollkey proof page). Any failure is Graph's 401
/// `Authentication_MissingOrMalformed` (observed: microsoftgraph/microsoft-graph-docs issues
/// 10686 and 22076).
fn check_proof(app: &Application, proof: &str, now: OffsetDateTime) -> Result<(), GraphError> {
    let bad = || GraphError::ProofInvalid;
    let jwt = Jwt::parse(proof).map_err(|_| bad())?;
    if jwt.padded
        || jwt.audiences() != [PROOF_AUDIENCE]
        || jwt
            .claim_str("iss")
            .and_then(|i| Uuid::parse_str(i).ok())
            .is_none_or(|i| i != app.id)
        || jwt.claim_time("nbf").is_none()
        || credentials::check_lifetime(&jwt, now).is_err()
    {
        return Err(bad());
    }
    let signed = app
        .key_credentials
        .iter()
        .filter(|k| k.valid_at(now))
        .any(|k| k.cert.verifies(&jwt));
    if signed { Ok(()) } else { Err(bad()) }
}

/// The caller may change `app`'s keys: it holds `Application.ReadWrite.All`, or it is the
/// application itself ("An application does not need any specific permission to roll its
/// own keys", addKey page).
fn require_self_or_writer(caller: &Caller, app: &Application) -> Result<(), GraphError> {
    if caller.claims.client_id() == app.app_id.to_string() {
        return Ok(());
    }
    caller.require(WRITE_ROLES)
}

/// The body of a key action and the application `key` names in `dir`, once the caller may
/// change that application's keys.
fn key_action<'a>(
    call: &ObjectCall,
    dir: &'a Directory,
    key: Key,
) -> Result<(Map<String, Value>, &'a Application), GraphError> {
    let body = json_object(&call.body)?;
    let app = find_app(dir, key)?;
    require_self_or_writer(&call.caller, app)?;
    Ok((body, app))
}

/// The proof of a body; a missing one is refused as Graph did ("Insufficient privileges to
/// complete the operation.", microsoftgraph/msgraph-sdk-powershell issue 779; the status
/// 403 is a guess).
fn proof_of(body: &Map<String, Value>) -> Result<&str, GraphError> {
    match body.get("proof") {
        Some(Value::String(p)) if !p.is_empty() => Ok(p),
        _ => Err(GraphError::Forbidden),
    }
}

/// `POST /applications/{id}/addKey`.
pub(super) fn add_key_impl(call: &ObjectCall, key: Key) -> Result<Response, GraphError> {
    let (caller, now) = (&call.caller, call.caller.ctx.now);
    let mut dir = call.state.directory_mut();
    let (body, app) = key_action(call, &dir, key)?;
    check_proof(app, proof_of(&body)?, now)?;
    if !matches!(body.get("passwordCredential"), None | Some(Value::Null)) {
        // Only X509CertAndPassword takes a password; the emulator stores no such key.
        return Err(invalid_value("passwordCredential", "Application"));
    }
    let entry = body
        .get("keyCredential")
        .filter(|v| v.is_object())
        .ok_or_else(|| required("keyCredential", "Application"))?;
    if entry.get("key").is_none_or(Value::is_null) {
        return Err(required("key", TY));
    }
    let mut credential = parse_entry(entry, &[])?;
    // The service assigns the id.
    credential.key_id = Uuid::new_v4();
    let id = app.id;
    if let Some(app) = dir.app_mut(&id) {
        app.key_credentials.push(credential.clone());
    }
    drop(dir);
    let body = with_context(
        format!("{METADATA}#microsoft.graph.keyCredential"),
        render::key_credential(&credential, false),
    );
    Ok(caller.ctx.json(StatusCode::OK, body))
}

/// `POST /applications/{id}/removeKey`.
pub(super) fn remove_key_impl(call: &ObjectCall, key: Key) -> Result<Response, GraphError> {
    let (caller, now) = (&call.caller, call.caller.ctx.now);
    let mut dir = call.state.directory_mut();
    let (body, app) = key_action(call, &dir, key)?;
    let key_id = required_uuid(&body, "keyId", TY)?;
    check_proof(app, proof_of(&body)?, now)?;
    if !app.key_credentials.iter().any(|k| k.key_id == key_id) {
        // A guess: Graph's answer for an unknown keyId was not found.
        return Err(GraphError::BadRequest(format!(
            "No key credential found with keyId {key_id}."
        )));
    }
    let id = app.id;
    if let Some(app) = dir.app_mut(&id) {
        app.key_credentials.retain(|k| k.key_id != key_id);
    }
    Ok(caller.ctx.no_content())
}

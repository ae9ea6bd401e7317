//! The built-in test issuer: an OpenID Connect provider at `{base}/_emulator/issuer` with
//! its own RSA key, so that a test can play GitHub Actions or Kubernetes offline. Its
//! discovery document and JWKS are open (an identity provider's metadata is public); minting
//! a token (`POST /_emulator/issuer/token`) is a control call, behind the admin token.
//!
//! The shapes follow what Entra needs of an issuer (a minimal discovery document with
//! `issuer` and `jwks_uri`, RS256 keys: Azure/azure-workload-identity
//! `docs/book/src/installation/self-managed-clusters/oidc-issuer/discovery-document.md`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{error, json_body};
use crate::keys::issuer_key;
use crate::services::AppState;
use crate::services::issuers::{built_in, built_in_jwks};

/// Longest lifetime a minted token may ask for: a day.
const MAX_LIFETIME: i64 = 86_400;

/// The claims a minted token always has, which `claims` may not replace.
const RESERVED: &[&str] = &["iss", "sub", "aud", "iat", "nbf", "exp"];

fn key_failure() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "KeyGenerationFailed",
        "the test issuer's key could not be generated",
    )
}

/// `GET /_emulator/issuer/.well-known/openid-configuration`.
pub(crate) async fn discovery(state: AppState) -> Response {
    let issuer = built_in(&state.base_url);
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/keys"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf"],
    }))
    .into_response()
}

/// `GET /_emulator/issuer/keys`.
pub(crate) async fn keys() -> Response {
    match built_in_jwks() {
        Ok(jwks) => axum::Json(jwks).into_response(),
        Err(_) => key_failure(),
    }
}

/// A token request: its subject, audience (default `api://AzureADTokenExchange`, the value
/// Entra recommends), extra claims, and lifetime (default an hour).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MintRequest {
    subject: String,
    #[serde(default)]
    audience: Option<Value>,
    #[serde(default)]
    claims: Map<String, Value>,
    #[serde(default)]
    lifetime_seconds: Option<i64>,
}

/// `POST /_emulator/issuer/token` with `{"subject": "…", "audience"?: "…" | ["…"],
/// "claims"?: {…}, "lifetimeSeconds"?: N}`: a signed token of the test issuer, valid from
/// now on the emulator's clock.
pub(crate) async fn mint(state: AppState, body: Bytes) -> Response {
    let request: MintRequest = match json_body(
        &body,
        "InvalidRequestBody",
        r#"expected {"subject": "…", "audience"?: "…", "claims"?: {…}, "lifetimeSeconds"?: N}"#,
    ) {
        Ok(r) => r,
        Err(bad) => return bad.into_response(),
    };
    let audience = match request.audience {
        None => json!("api://AzureADTokenExchange"),
        Some(Value::String(a)) if !a.is_empty() => json!(a),
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => json!(a),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidAudience",
                "audience must be a non-empty string or array of strings",
            );
        }
    };
    let lifetime = request.lifetime_seconds.unwrap_or(3600);
    if !(1..=MAX_LIFETIME).contains(&lifetime) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidLifetime",
            format!("lifetimeSeconds must be between 1 and {MAX_LIFETIME}"),
        );
    }
    if request.subject.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidSubject",
            "subject must not be empty",
        );
    }
    if let Some(k) = request
        .claims
        .keys()
        .find(|k| RESERVED.contains(&k.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "ReservedClaim",
            format!("claim '{k}' is set from the request's other fields"),
        );
    }
    let Ok(key) = issuer_key() else {
        return key_failure();
    };
    let now = state.clock.now().unix_timestamp();
    let exp = now + lifetime;
    let issuer = built_in(&state.base_url);
    let mut claims = Map::new();
    claims.insert("jti".into(), json!(Uuid::new_v4()));
    claims.insert("sub".into(), json!(request.subject));
    claims.insert("aud".into(), audience);
    claims.extend(request.claims);
    claims.insert("iss".into(), json!(issuer));
    claims.insert("nbf".into(), json!(now));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(exp));
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": key.kid()});
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(Value::Object(claims).to_string(), &mut token);
    let sig = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut token);
    axum::Json(json!({"token": token, "issuer": issuer, "expiresOn": exp})).into_response()
}

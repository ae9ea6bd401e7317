//! The managed identity endpoints a program running on Azure asks for tokens: the Azure
//! Instance Metadata Service (`GET /metadata/identity/oauth2/token`, VMs and most hosts)
//! and the App Service / Functions identity endpoint (`GET /msi/token`, what
//! `IDENTITY_ENDPOINT` points at). Both hand out the platform's cached token for the
//! identity the request names, or the host's (see [`crate::services::identities`]).
//!
//! Sources of the wire details: `/work/research/issue19.md` §5.4–5.5 (IMDS spec example
//! `getIdentityToken.json`, real answers quoted in public issues, App Service docs
//! `articles/app-service/overview-managed-identity.md`, MSAL Python `managed_identity.py`).

use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::http::request_base;
use crate::services::AppState;
use crate::services::identities::{PlatformError, Selector};

/// The IMDS API version clients send (azure-identity, MSAL).
const IMDS_VERSIONS: &[&str] = &["2017-12-01", "2018-02-01", "2018-10-01", "2019-08-01"];
/// The App Service identity endpoint's API version (the legacy `2017-09-01` is not served).
const APP_SERVICE_VERSION: &str = "2019-08-01";

/// The `server` header of a real IMDS answer (Azure/azure-sdk-for-net#37278).
const IMDS_SERVER: &str = "IMDS/150.870.65.1015";

/// A JSON answer with the content type both endpoints send.
fn answer(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// IMDS's error body: `{"error", "error_description"}`.
pub(crate) fn imds_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = answer(
        status,
        &json!({"error": error, "error_description": description}),
    );
    r.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static(IMDS_SERVER));
    r
}

/// The App Service endpoint's error body: `{"statusCode", "message"}`, the fields MSAL
/// Python reads from it (inferred from its source; no capture was found).
pub(crate) fn app_service_error(status: StatusCode, message: &str) -> Response {
    answer(
        status,
        &json!({"statusCode": status.as_u16(), "message": message}),
    )
}

fn query(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The identity the query names (first of `names`, in order of kind).
fn selector(q: &[(String, String)], client: &str, object: &[&str], resource: &[&str]) -> Selector {
    if let Some(c) = param(q, client) {
        return Selector::ClientId(c.to_owned());
    }
    if let Some(o) = object.iter().find_map(|n| param(q, n)) {
        return Selector::ObjectId(o.to_owned());
    }
    if let Some(r) = resource.iter().find_map(|n| param(q, n)) {
        return Selector::ResourceId(r.to_owned());
    }
    Selector::Default
}

/// Entra's text for a resource it does not know, as IMDS relays it (MSAL.NET#3979).
fn unknown_resource(state: &AppState, resource: &str, now: OffsetDateTime) -> String {
    let stamp = now
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default();
    format!(
        "AADSTS500011: The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {stamp}",
        state.config.tenant_display_name,
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    )
}

/// `GET /metadata/identity/oauth2/token?api-version=…&resource=…` with `Metadata: true`.
pub(crate) async fn imds_token(
    state: AppState,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let metadata = headers
        .get("metadata")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let bad = StatusCode::BAD_REQUEST;
    if !metadata {
        // Verbatim, 88 bytes as a real probe answer's content-length (research §5.4).
        return imds_error(
            bad,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let q = query(raw.as_deref());
    match param(&q, "api-version") {
        Some(v) if IMDS_VERSIONS.contains(&v) => {}
        // Wording is a guess: no capture of IMDS refusing its api-version was found.
        Some(_) => return imds_error(bad, "invalid_request", "Unsupported api-version"),
        None => {
            return imds_error(
                bad,
                "invalid_request",
                "Required query variable 'api-version' is missing",
            );
        }
    }
    let Some(resource) = param(&q, "resource").filter(|r| !r.is_empty()) else {
        // Wording is a guess.
        return imds_error(
            bad,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let select = selector(
        &q,
        "client_id",
        &["object_id"],
        &["msi_res_id", "mi_res_id"],
    );
    let now = state.clock.now();
    let base = request_base(&state, &headers);
    match state.platform_token(&select, resource, &[&base, &state.base_url], now) {
        Ok(t) => {
            let t = t.issued;
            let expires_in = (t.expires_on - now.unix_timestamp()).max(0);
            // Numbers as strings, keys in alphabetical order, as a real answer has them.
            let mut r = answer(
                StatusCode::OK,
                &json!({
                    "access_token": t.access_token,
                    "client_id": t.client_id,
                    "expires_in": expires_in.to_string(),
                    "expires_on": t.expires_on.to_string(),
                    "ext_expires_in": (expires_in - 1).max(0).to_string(),
                    "not_before": t.not_before.to_string(),
                    "resource": resource,
                    "token_type": "Bearer",
                }),
            );
            r.headers_mut()
                .insert(header::SERVER, HeaderValue::from_static(IMDS_SERVER));
            r
        }
        // Verbatim (Azure/terraform-provider-azapi#669, Azure/azure-sdk-for-net#37278).
        Err(PlatformError::IdentityNotFound) => {
            imds_error(bad, "invalid_request", "Identity not found")
        }
        Err(PlatformError::UnknownResource(r)) => {
            imds_error(bad, "invalid_resource", &unknown_resource(&state, &r, now))
        }
    }
}

/// `GET /msi/token?api-version=2019-08-01&resource=…` with `X-IDENTITY-HEADER`: the App
/// Service and Functions identity endpoint.
pub(crate) async fn app_service_token(
    state: AppState,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let expected = state.platform.lock().identity_header.clone();
    let given = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if given != Some(expected.as_str()) {
        // Status and wording are guesses: no capture was found.
        return app_service_error(
            StatusCode::UNAUTHORIZED,
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
        );
    }
    let q = query(raw.as_deref());
    let version = param(&q, "api-version").unwrap_or_default();
    if version != APP_SERVICE_VERSION {
        // The wording of Azure/azure-sdk-for-net#16334; the body shape is MSAL's.
        return app_service_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "The HTTP resource that matches the request URI '{}/msi/token' does not support the API version '{version}'.",
                request_base(&state, &headers)
            ),
        );
    }
    let Some(resource) = param(&q, "resource").filter(|r| !r.is_empty()) else {
        // Wording is a guess.
        return app_service_error(
            StatusCode::BAD_REQUEST,
            "The resource parameter is required.",
        );
    };
    let select = selector(
        &q,
        "client_id",
        &["principal_id", "object_id"],
        &["mi_res_id"],
    );
    let now = state.clock.now();
    let base = request_base(&state, &headers);
    match state.platform_token(&select, resource, &[&base, &state.base_url], now) {
        // The documented example's fields and order; `expires_on` a string of seconds.
        Ok(t) => answer(
            StatusCode::OK,
            &json!({
                "access_token": t.issued.access_token,
                "expires_on": t.issued.expires_on.to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": t.issued.client_id,
            }),
        ),
        // Status and wording are guesses (Azure/azure-sdk-for-js#11595 saw a 400).
        Err(PlatformError::IdentityNotFound) => {
            app_service_error(StatusCode::BAD_REQUEST, "Identity not found")
        }
        // MSAL Python notes that the real endpoint answers 500 here; the emulator keeps to a
        // 4xx for bad input.
        Err(PlatformError::UnknownResource(r)) => {
            app_service_error(StatusCode::BAD_REQUEST, &unknown_resource(&state, &r, now))
        }
    }
}

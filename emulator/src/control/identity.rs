//! `/_emulator/managed-identity`: which resource the caller "runs on" for the managed
//! identity endpoints, and what a program needs to reach them.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::error;
use crate::http::request_base;
use crate::services::AppState;

fn body(state: &AppState, headers: &HeaderMap) -> Response {
    let base = request_base(state, headers);
    let platform = state.platform.lock();
    axum::Json(json!({
        "host": platform.host,
        "imdsEndpoint": format!("{base}/metadata/identity/oauth2/token"),
        "identityEndpoint": format!("{base}/msi/token"),
        "identityHeader": platform.identity_header,
    }))
    .into_response()
}

/// `GET /_emulator/managed-identity`: `{"host", "imdsEndpoint", "identityEndpoint",
/// "identityHeader"}` — the host resource id (or null), the two endpoints on the base URL
/// the client used, and the value App Service would put in `IDENTITY_HEADER`.
pub(crate) async fn get(state: AppState, headers: HeaderMap) -> Response {
    body(&state, &headers)
}

/// `PUT /_emulator/managed-identity` with `{"host": "<resource id>" | null}`: sets the
/// resource whose identities are served by default (null: none; requests must then name
/// an identity). Tokens already handed out stay cached.
pub(crate) async fn put(state: AppState, headers: HeaderMap, raw: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&raw).ok();
    let host = match parsed.as_ref().and_then(|body| body.get("host")) {
        Some(Value::String(s)) if s.starts_with('/') => Some(s.clone()),
        Some(Value::Null) => None,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestBody",
                "expected {\"host\": \"/subscriptions/…\" | null}",
            );
        }
    };
    state.platform.lock().host = host;
    body(&state, &headers)
}

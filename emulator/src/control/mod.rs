//! The emulator's own control API under `/_emulator` (not part of Azure).

pub(crate) mod faults;
pub(crate) mod identity;
pub(crate) mod issuer;
pub(crate) mod subscriptions;
#[cfg(feature = "monitor")]
pub(crate) mod tables;

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::keys::SigningKey;
use crate::secret;
use crate::services::tenant::ADVANCE_RANGE;
use crate::services::{AppState, SeedRequest};

/// The control API's error body.
pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

/// A JSON request body, or the 400 that says what was expected: `{what}: {serde's reason}`
/// under `code`.
pub(crate) fn json_body<T: DeserializeOwned>(
    body: &[u8],
    code: &'static str,
    what: &str,
) -> Result<T, BadBody> {
    serde_json::from_slice(body).map_err(|e| BadBody {
        code,
        message: format!("{what}: {e}"),
    })
}

/// A control request body that is not the JSON expected (see [`json_body`]).
pub(crate) struct BadBody {
    code: &'static str,
    message: String,
}

impl IntoResponse for BadBody {
    fn into_response(self) -> Response {
        error(StatusCode::BAD_REQUEST, self.code, self.message)
    }
}

fn now_body(state: &AppState) -> Response {
    let now = state.clock.now().format(&Rfc3339).unwrap_or_default();
    axum::Json(json!({ "now": now })).into_response()
}

/// `GET /_emulator/health`.
pub(crate) async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /_emulator/clock`.
pub(crate) async fn clock(state: AppState) -> Response {
    now_body(&state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

/// `POST /_emulator/clock/advance` with `{"seconds": N}`.
pub(crate) async fn advance(state: AppState, body: Bytes) -> Response {
    let advance: Advance =
        match json_body(&body, "InvalidRequestBody", r#"expected {"seconds": N}"#) {
            Ok(a) => a,
            Err(bad) => return bad.into_response(),
        };
    if state.advance_clock_seconds(advance.seconds).is_err() {
        return error(StatusCode::BAD_REQUEST, "InvalidSeconds", ADVANCE_RANGE);
    }
    now_body(&state)
}

/// `POST /_emulator/reset`: an empty tenant again (Monitor data included); the bootstrap
/// admin, the clock and the signing keys are kept (tokens already issued stay verifiable
/// until they expire).
pub(crate) async fn reset(state: AppState) -> Response {
    state.reset();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_emulator/seed` with `{"applications": N, "roleAssignments": M, "secret"?: "…"}`:
/// bulk synthetic objects for load tests (see [`AppState::seed`]); answers the counts.
pub(crate) async fn seed(state: AppState, body: Bytes) -> Response {
    let request: SeedRequest = match json_body(
        &body,
        "InvalidRequestBody",
        r#"expected {"applications": N, "roleAssignments": M, "secret"?: "…"}"#,
    ) {
        Ok(r) => r,
        Err(bad) => return bad.into_response(),
    };
    // Seconds of lock-holding work at the largest sizes: off the async worker threads.
    let seeded = tokio::task::spawn_blocking(move || state.seed(&request)).await;
    match seeded {
        Ok(Ok(counts)) => (StatusCode::CREATED, axum::Json(counts)).into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, "InvalidSeed", e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, "seed task failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SeedFailed",
                "seeding failed",
            )
        }
    }
}

/// `POST /_emulator/keys/rotate`: sign with a new key from now on; the old one stays in the
/// JWKS so that tokens it signed remain valid until they expire.
pub(crate) async fn rotate_keys(state: AppState) -> Response {
    let generated = tokio::task::spawn_blocking(SigningKey::generate).await;
    let failure = match generated {
        Ok(Ok(key)) => {
            let kid = key.kid().to_owned();
            state.keys.rotate(std::sync::Arc::new(key));
            return axum::Json(json!({ "kid": kid })).into_response();
        }
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("the task failed: {e}"),
    };
    tracing::error!(error = %failure, "key generation failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "KeyGenerationFailed",
        "key generation failed",
    )
}

/// With an admin token configured, lets a request reach a control route (`/_emulator/…`
/// but `/_emulator/health`, kept open for readiness probes, and the test issuer's metadata) only if it carries the token:
/// `Authorization: Bearer <token>`, or on the portal, for browsers, HTTP Basic with the token
/// as password (any user name). Basic is refused elsewhere, because a browser attaches
/// remembered Basic credentials to other sites' form posts, and only the portal checks
/// where a post comes from. Compared in constant time; never logged.
pub(crate) async fn require_admin_token(state: AppState, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let control = path == "/_emulator" || path.starts_with("/_emulator/");
    let portal = path == "/_emulator/portal" || path.starts_with("/_emulator/portal/");
    // A web page the user visits may post to a loopback emulator too (a form needs no CORS
    // preflight): a control request a browser sends on another site's behalf is refused.
    // The portal's own forms are checked by its pages.
    if control
        && !portal
        && !matches!(*request.method(), Method::GET | Method::HEAD)
        && !crate::http::is_same_origin(&state, request.headers())
    {
        return error(
            StatusCode::FORBIDDEN,
            "CrossSiteRequest",
            "the control API does not take requests that web pages on other sites make",
        );
    }
    let Some(expected) = state.config.admin_token() else {
        return next.run(request).await;
    };
    // Health for readiness probes; the test issuer's metadata, which anyone verifying its
    // tokens reads, as an identity provider's is public.
    let open = path == "/_emulator/health"
        || path == "/_emulator/issuer/.well-known/openid-configuration"
        || path == "/_emulator/issuer/keys";
    if !control || open {
        return next.run(request).await;
    }
    let presented = crate::http::bearer::authorization(request.headers()).map(|value| {
        value
            .and_then(|v| v.to_str().ok())
            .and_then(|v| presented_token(v, portal))
    });
    let (code, message) = match presented {
        Ok(Some(token)) if secret::same(&token, expected) => return next.run(request).await,
        Err(_) => (
            "InvalidAdminToken",
            "send the admin token in one Authorization header, not several",
        ),
        Ok(Some(_)) => (
            "InvalidAdminToken",
            "the admin token is not this emulator's",
        ),
        Ok(None) if portal => (
            "AdminTokenRequired",
            "this emulator's control API needs its admin token: send it as 'Authorization: Bearer <token>', or as the password of HTTP Basic",
        ),
        Ok(None) => (
            "AdminTokenRequired",
            "this emulator's control API needs its admin token: send it as 'Authorization: Bearer <token>'",
        ),
    };
    let mut response = error(StatusCode::UNAUTHORIZED, code, message);
    let challenge = if portal {
        r#"Basic realm="Entra Emulator control API", charset="UTF-8""#
    } else {
        r#"Bearer realm="Entra Emulator control API""#
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// The token in an `Authorization` value: a bearer token, or (when `basic` is allowed) the
/// password of HTTP Basic credentials.
fn presented_token(value: &str, basic: bool) -> Option<String> {
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| rest.to_owned());
    }
    if !(basic && scheme.eq_ignore_ascii_case("basic")) {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
    decoded
        .split_once(':')
        .map(|(_, password)| password.to_owned())
}

/// Unknown `/_emulator/...` path.
pub(crate) async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no such emulator control endpoint",
    )
}

//! The answers of a firing rule: each service's throttling body and 500/503 envelope.
//!
//! Facts used: Entra answers a throttled client-credentials request 429 with
//! `Retry-After: 60` (MSAL's documentation); Graph's 429 is `TooManyRequests` in its usual
//! `error.innerError` envelope with `Retry-After` (seen in real answers); ARM's is
//! `SubscriptionRequestsThrottled` with a "Number of … requests for subscription … exceeded
//! the limit …" message and `Retry-After` in seconds (seen in real answers). Everything
//! else — the AADSTS numbers, the Graph 5xx codes' texts, ARM's tenant-level code and 5xx
//! texts, all Azure Monitor codes — is a guess in the service's known envelope, as marked.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::catalog::Api;
use crate::faults::{Decision, FaultKind};
use crate::services::AppState;

/// `Retry-After` of a throttle rule that names none.
/// The response of `decision` (a throttle, 500 or 503) to `method path`.
pub(super) fn respond(
    api: Api,
    decision: &Decision,
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Response {
    let kind = decision.spec.fault;
    let status = match kind {
        FaultKind::Throttle => StatusCode::TOO_MANY_REQUESTS,
        FaultKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let retry_after = match kind {
        FaultKind::Throttle => Some(
            decision
                .spec
                .retry_after
                .unwrap_or_else(|| api.default_retry_after()),
        ),
        _ => decision.spec.retry_after,
    };
    let wait_secs = retry_after.map_or(0, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    let request_id = Uuid::new_v4();
    let mut response = match api {
        Api::Entra => entra(kind, status, now, request_id),
        Api::Graph => graph(kind, status, headers, now, request_id),
        Api::Arm => arm(kind, status, state, method, path, headers, wait_secs),
        #[cfg(feature = "monitor")]
        Api::LogsQuery | Api::AppInsights => one_api(kind, status),
        #[cfg(not(feature = "monitor"))]
        Api::LogsQuery | Api::AppInsights => plain(kind, status),
        Api::LogsIngestion
        | Api::CustomMetrics
        | Api::Unmatched
        | Api::Portal
        | Api::Control
        | Api::AppServiceIdentity => plain(kind, status),
        Api::Imds => imds(kind, status),
    };
    let h = response.headers_mut();
    if let Some(after) = retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
        // Sub-second waits (short tests): also the millisecond headers Azure SDKs read first.
        if after.subsec_nanos() > 0 {
            let ms = HeaderValue::from(u64::try_from(after.as_millis()).unwrap_or(u64::MAX));
            h.insert("retry-after-ms", ms.clone());
            h.insert("x-ms-retry-after-ms", ms);
        }
    }
    h.insert("x-emulator-fault-rule", HeaderValue::from(decision.rule));
    response
}

fn json_body(status: StatusCode, body: &Value, content_type: &'static str) -> Response {
    let mut response = (status, Body::from(body.to_string())).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Entra's OAuth error body. The AADSTS numbers and texts are guesses: 90055 is the
/// tenant-throttling code, 50000 the token-issuance failure, 90033 the directory outage.
fn entra(kind: FaultKind, status: StatusCode, now: OffsetDateTime, trace: Uuid) -> Response {
    let (error, code, text) = match kind {
        FaultKind::Throttle => (
            "temporarily_unavailable",
            90055,
            "The tenant is receiving too many requests. Wait for the interval in Retry-After, then try again.",
        ),
        FaultKind::ServiceUnavailable => (
            "temporarily_unavailable",
            90033,
            "A dependency of the token service is unavailable. Try again later.",
        ),
        _ => (
            "server_error",
            50000,
            "The token service failed to issue a token. Try again.",
        ),
    };
    let correlation = Uuid::new_v4();
    let stamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}"
        ),
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    let mut response = json_body(status, &body, "application/json; charset=utf-8");
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&trace.to_string()) {
        h.insert("x-ms-request-id", v);
    }
    response
}

/// Graph's envelope. `generalException` and `serviceNotAvailable` are Graph's documented
/// 500 and 503 codes; the texts are guesses.
fn graph(
    kind: FaultKind,
    status: StatusCode,
    headers: &HeaderMap,
    now: OffsetDateTime,
    request_id: Uuid,
) -> Response {
    let (code, message) = match kind {
        FaultKind::Throttle => (
            "TooManyRequests",
            "Too many requests from this application. Please try again later.",
        ),
        FaultKind::ServiceUnavailable => (
            "serviceNotAvailable",
            "The service is temporarily unavailable. Try again after a delay.",
        ),
        _ => ("generalException", "An unexpected error occurred."),
    };
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.to_string(), str::to_owned);
    let date = now
        .to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    let body = json!({"error": {
        "code": code,
        "message": message,
        "innerError": {
            "date": date,
            "request-id": request_id,
            "client-request-id": client_request_id,
        },
    }});
    let mut response = json_body(status, &body, "application/json");
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id.to_string()) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&client_request_id) {
        h.insert("client-request-id", v);
    }
    response
}

/// ARM's envelope, with its remaining-requests header at 0 on a throttle.
fn arm(
    kind: FaultKind,
    status: StatusCode,
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    wait_secs: u64,
) -> Response {
    let mut segs = path.trim_start_matches('/').split('/');
    let subscription = match (segs.next(), segs.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") && !id.is_empty() => {
            Some(id.to_owned())
        }
        _ => None,
    };
    let (kind_word, limit) = if *method == Method::GET || *method == Method::HEAD {
        ("read", 12_000)
    } else if *method == Method::DELETE {
        ("delete", 15_000)
    } else {
        ("write", 1_200)
    };
    let correlation = headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .unwrap_or_else(Uuid::new_v4);
    let (code, message) = match kind {
        FaultKind::Throttle => match &subscription {
            Some(id) => (
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of {kind_word} requests for subscription '{id}' exceeded the limit of '{limit}' for time interval '01:00:00'. Please try again after '{wait_secs}' seconds."
                ),
            ),
            // Code and text of tenant-level throttling are guesses by analogy.
            None => (
                "TenantRequestsThrottled",
                format!(
                    "Number of {kind_word} requests for tenant '{}' exceeded the limit of '{limit}' for time interval '01:00:00'. Please try again after '{wait_secs}' seconds.",
                    state.config.tenant_id
                ),
            ),
        },
        // Texts are guesses.
        FaultKind::ServiceUnavailable => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.".to_owned(),
        ),
        _ => (
            "InternalServerError",
            format!(
                "Encountered internal server error. Diagnostic information: request correlation id '{correlation}'."
            ),
        ),
    };
    let body = json!({"error": {"code": code, "message": message}});
    let mut response = json_body(status, &body, "application/json; charset=utf-8");
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::EXPIRES, HeaderValue::from_static("-1"));
    if let Ok(v) = HeaderValue::from_str(&correlation.to_string()) {
        h.insert("x-ms-request-id", v.clone());
        h.insert("x-ms-correlation-request-id", v);
    }
    if kind == FaultKind::Throttle {
        let level = if subscription.is_some() {
            "subscription"
        } else {
            "tenant"
        };
        let name = format!("x-ms-ratelimit-remaining-{level}-{kind_word}s");
        if let Ok(name) = axum::http::HeaderName::try_from(name) {
            h.insert(name, HeaderValue::from_static("0"));
        }
    }
    response
}

/// The Log Analytics / Application Insights query APIs' OneAPI envelope (message first).
/// All three codes are guesses in that envelope.
#[cfg(feature = "monitor")]
fn one_api(kind: FaultKind, status: StatusCode) -> Response {
    let (code, message) = match kind {
        FaultKind::Throttle => (
            "ThrottledError",
            "The request was throttled. Retry after the interval in Retry-After.",
        ),
        FaultKind::ServiceUnavailable => (
            "ServiceUnavailableError",
            "The service is temporarily unavailable. Please try again later.",
        ),
        _ => (
            "InternalServerError",
            "The server encountered an error while processing the request.",
        ),
    };
    let body = json!({"error": {
        "message": message,
        "code": code,
        "correlationId": Uuid::new_v4(),
    }});
    let mut response = json_body(status, &body, "application/json; charset=utf-8");
    crate::monitor::decorate(&mut response);
    response
}

/// IMDS's envelope. `too_many_requests` is the code of its spec's 429 example (SPECS
/// `imds/…/2018-10-01/imds.json`); the other codes and the descriptions are guesses.
fn imds(kind: FaultKind, status: StatusCode) -> Response {
    let (code, message) = match kind {
        FaultKind::Throttle => ("too_many_requests", "Too many requests"),
        FaultKind::ServiceUnavailable => ("service_unavailable", "Service unavailable"),
        _ => ("internal_error", "Internal error"),
    };
    crate::identity::imds_error(status, code, message)
}

/// `{"error":{"code","message"}}`: custom metrics, Logs Ingestion and unknown paths. Codes
/// and texts are guesses.
fn plain(kind: FaultKind, status: StatusCode) -> Response {
    let (code, message) = match kind {
        FaultKind::Throttle => (
            "TooManyRequests",
            "Too many requests. Please try again later.",
        ),
        FaultKind::ServiceUnavailable => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.",
        ),
        _ => (
            "InternalServerError",
            "The server encountered an internal error.",
        ),
    };
    json_body(
        status,
        &json!({"error": {"code": code, "message": message}}),
        "application/json; charset=utf-8",
    )
}

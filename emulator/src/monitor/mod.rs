//! Azure Monitor data planes: the Log Analytics query API, the Logs Ingestion API, custom
//! metrics ingestion, the ARM metrics read API, and the Application Insights query API.
//!
//! One file per API; the data they share (workspace tables, component tables, metric points)
//! lives in [`MonitorStore`](crate::telemetry::MonitorStore), behind the services'
//! telemetry lock. Role assignments come from ARM's store, each API checking its own action
//! on its own [`Plane`](crate::rbac::Plane) through
//! [`AppState::authorize`](crate::services::AppState::authorize), so a new grant reaches each
//! of them after that plane's propagation delay.
//!
//! | API | path | token audience | action checked |
//! |---|---|---|---|
//! | Log Analytics query | `/v1/workspaces/{customerId}/query`, `/v1/{resourceId}/query`, `/v1/$batch` | `https://api.loganalytics.io` | `Microsoft.OperationalInsights/workspaces/query/read` (`Microsoft.Insights/components/query/read` at a component) |
//! | Logs Ingestion | `/dataCollectionRules/{immutableId}/streams/{stream}` | `https://monitor.azure.com` | data action `Microsoft.Insights/Telemetry/Write` |
//! | custom metrics | `POST {resourceId}/metrics` | `https://monitoring.azure.com/` | data action `Microsoft.Insights/Metrics/Write` |
//! | metrics read (ARM) | `{resourceId}/providers/Microsoft.Insights/metrics` | ARM | `Microsoft.Insights/metrics/read` |
//! | Application Insights | `/v1/apps/{appId}/…` | `https://api.applicationinsights.io` | `Microsoft.Insights/components/query/read` |

pub(crate) mod app_insights;
pub(crate) mod batch;
pub(crate) mod custom_metrics;
mod error;
pub(crate) mod ingestion;
pub(crate) mod logs;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(crate) use crate::http::body::{BodyError, decode_body, read_body};
pub(crate) use error::{QueryError, decorate};

use crate::http::bearer::AuthFailure;

/// Whether the request declares a JSON body (`application/json`, parameters allowed).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON answer with `charset=utf-8`, as the Monitor APIs send it.
pub(crate) fn json_response(status: axum::http::StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A bearer failure as the two ingestion endpoints (custom metrics, Logs Ingestion) word it:
/// a missing or bad token alike, a token for another audience in each endpoint's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// No `Authorization` header.
    Missing,
    /// A malformed, empty or unverifiable token.
    Invalid,
    /// A valid token for this other audience.
    WrongAudience(String),
}

impl From<AuthFailure> for TokenError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Missing => TokenError::Missing,
            AuthFailure::WrongAudience(aud) => TokenError::WrongAudience(aud),
            AuthFailure::Malformed | AuthFailure::Empty | AuthFailure::Invalid { .. } => {
                TokenError::Invalid
            }
        }
    }
}

impl TokenError {
    /// Status (always 401), code and message; `audience_message` words a wrong audience.
    fn parts(&self, audience_message: fn(&str) -> String) -> (StatusCode, &'static str, String) {
        let (code, message) = match self {
            TokenError::Missing => (
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.".into(),
            ),
            TokenError::Invalid => ("InvalidToken", "The access token is invalid.".into()),
            TokenError::WrongAudience(aud) => ("InvalidAudience", audience_message(aud)),
        };
        (StatusCode::UNAUTHORIZED, code, message)
    }
}

/// The ingestion endpoints' `{"error":{"code","message"}}` answer from an error's status,
/// code and message; the code is also sent in the header `code_header` names, if any.
fn code_message_error(
    (status, code, message): (StatusCode, &'static str, String),
    code_header: Option<&'static str>,
) -> Response {
    let mut response = json_response(
        status,
        &serde_json::json!({"error": {"code": code, "message": message}}),
    );
    if let Some(name) = code_header {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(code));
    }
    response
}

/// Makes an ingestion endpoint's error (an enum with a `Token(TokenError)` variant and a
/// `parts()` method giving status, code and message) take a bearer failure through `?`, and
/// answer with [`code_message_error`].
macro_rules! ingestion_error {
    ($error:ty, code header: $header:expr) => {
        impl From<AuthFailure> for $error {
            fn from(failure: AuthFailure) -> Self {
                Self::Token(failure.into())
            }
        }

        impl IntoResponse for $error {
            fn into_response(self) -> Response {
                code_message_error(self.parts(), $header)
            }
        }
    };
}
ingestion_error!(custom_metrics::MetricsError, code header: None);
// Logs Ingestion answers in the Azure Core style, the code repeated in a header.
ingestion_error!(ingestion::IngestionError, code header: Some("x-ms-error-code"));

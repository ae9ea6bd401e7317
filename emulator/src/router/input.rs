//! Bad input, answered by the service that owns the path.
//!
//! One middleware ([`guard`]) sits in front of every route. It
//!
//! - refuses a request target longer than [`MAX_URI_LEN`] (414) or header fields larger than
//!   [`MAX_HEADER_BYTES`] (431). hyper answers such requests itself, without a body, only
//!   past its own larger limits (a 65,534-byte target, a ~400 KiB HTTP/1.1 head, 100 header
//!   fields; HTTP/2 header lists past the limit [`crate::server`] sets);
//! - enforces each service's request body limit ([`Api::body_limit`]): a declared
//!   `Content-Length` over it is refused before the body is read, a streamed body is cut off
//!   by axum's body limit, set here per service instead of axum's global 2 MB;
//! - refuses a Graph write whose declared content type is not JSON (415);
//! - re-renders what axum itself answers before a handler runs (a method the route does not
//!   take, a path or query that does not decode, a body over the limit) in the owning
//!   service's error envelope. axum's rejections are plain text and the emulator's handlers
//!   never answer plain text, so a `text/plain` 4xx (or a bodiless 405) is always one.
//!
//! Which service owns a path is the catalog's answer ([`Api::of`]).

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer as _, ServiceExt as _};

use crate::arm::ArmError;
use crate::catalog::{Api, MAX_HEADER_BYTES, MAX_URI_LEN};
use crate::entra::EntraError;
use crate::graph::GraphError;
#[cfg(feature = "monitor")]
use crate::monitor::QueryError;
#[cfg(feature = "monitor")]
use crate::monitor::custom_metrics::MetricsError;
#[cfg(feature = "monitor")]
use crate::monitor::ingestion::IngestionError;
use crate::services::AppState;

/// What went wrong before a handler could answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// Undecodable path or query, or an unreadable body (axum's text as detail).
    BadRequest(String),
    /// A body over the service's limit.
    TooLarge,
    /// A request target over [`MAX_URI_LEN`].
    UriTooLong,
    /// Header fields over [`MAX_HEADER_BYTES`].
    HeadersTooLarge,
    /// A method the route does not take. (axum adds the `Allow` header to the answer after
    /// this middleware has run, so it is not known here.)
    MethodNotAllowed,
    /// A write whose declared content type the service does not take.
    UnsupportedMediaType(String),
}

/// The middleware: see the module documentation.
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let owner = Api::of(&method, request.uri().path());
    let limit = owner.body_limit();
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    if let Some(refusal) = oversized_head(&request) {
        return refuse(&state, owner, &method, &path, &headers, refusal);
    }
    if declared_length(&headers).is_some_and(|n| n > limit) {
        return refuse(&state, owner, &method, &path, &headers, Refusal::TooLarge);
    }
    if owner == Api::Graph
        && matches!(method, Method::POST | Method::PATCH | Method::PUT)
        && let Some(ct) = headers.get(header::CONTENT_TYPE)
        && !is_json_type(ct)
    {
        let ct = String::from_utf8_lossy(ct.as_bytes()).into_owned();
        return refuse(
            &state,
            owner,
            &method,
            &path,
            &headers,
            Refusal::UnsupportedMediaType(ct),
        );
    }
    let response = match DefaultBodyLimit::max(limit)
        .layer(next)
        .oneshot(request)
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    };
    match rejection_of(response).await {
        Ok(response) => response,
        Err(refusal) => refuse(&state, owner, &method, &path, &headers, refusal),
    }
}

/// The refusal for a request target or header fields over the limits, if any.
fn oversized_head(request: &Request) -> Option<Refusal> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_LEN {
        return Some(Refusal::UriTooLong);
    }
    let fields: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (fields > MAX_HEADER_BYTES).then_some(Refusal::HeadersTooLarge)
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `application/json`, or a `+json` type, with any parameters.
fn is_json_type(value: &HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

/// The response itself, or the refusal it stands for when axum (not a handler) wrote it.
async fn rejection_of(response: Response) -> Result<Response, Refusal> {
    let status = response.status();
    if !status.is_client_error() {
        return Ok(response);
    }
    let content_type = response.headers().get(header::CONTENT_TYPE);
    let plain = content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if status == StatusCode::METHOD_NOT_ALLOWED && content_type.is_none() {
        return Err(Refusal::MethodNotAllowed);
    }
    if !plain {
        return Ok(response);
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return Err(Refusal::TooLarge);
    }
    // axum's rejection texts are short; anything longer is cut.
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Err(Refusal::BadRequest(text))
}

/// `refusal` in `owner`'s envelope.
fn refuse(
    state: &AppState,
    owner: Api,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    refusal: Refusal,
) -> Response {
    match owner {
        Api::Entra => {
            let error = match refusal {
                Refusal::TooLarge => EntraError::RequestTooLarge,
                Refusal::UriTooLong => EntraError::UriTooLong,
                Refusal::HeadersTooLarge => EntraError::HeadersTooLarge,
                // The token endpoints take POST (Entra's text also names OPTIONS, for
                // CORS preflights); discovery and keys take GET.
                Refusal::MethodNotAllowed => EntraError::MethodNotAllowed {
                    method: method.to_string(),
                    allowed: if path.contains("/oauth2/") {
                        "POST, OPTIONS"
                    } else {
                        "GET"
                    }
                    .to_owned(),
                },
                Refusal::BadRequest(_) | Refusal::UnsupportedMediaType(_) => {
                    EntraError::MalformedRequest
                }
            };
            error.into_response_at(state.clock.now(), crate::entra::correlation_id(headers))
        }
        Api::Graph => {
            let error = match refusal {
                Refusal::TooLarge => GraphError::PayloadTooLarge,
                Refusal::UriTooLong | Refusal::HeadersTooLarge => GraphError::RequestTooLong,
                Refusal::MethodNotAllowed => GraphError::MethodNotAllowed,
                Refusal::UnsupportedMediaType(ct) => GraphError::UnsupportedMediaType(ct),
                // Wording is a guess.
                Refusal::BadRequest(_) => GraphError::BadRequest(
                    "The request URI or query cannot be read: it is not valid UTF-8 once decoded."
                        .into(),
                ),
            };
            crate::graph::refuse(state, headers, error)
        }
        Api::Arm => {
            let error = match refusal {
                Refusal::TooLarge => ArmError::RequestContentTooLarge,
                Refusal::UriTooLong => ArmError::UriTooLong,
                Refusal::HeadersTooLarge => ArmError::HeadersTooLarge,
                Refusal::MethodNotAllowed => ArmError::MethodNotSupported {
                    method: method.to_string(),
                    collection: false,
                },
                Refusal::UnsupportedMediaType(ct) => ArmError::UnsupportedMediaType(Some(ct)),
                Refusal::BadRequest(detail) => ArmError::InvalidRequestUri(detail),
            };
            crate::arm::refuse(state, method, path, headers, error)
        }
        #[cfg(feature = "monitor")]
        Api::CustomMetrics => match refusal {
            Refusal::TooLarge => MetricsError::TooLarge,
            Refusal::UnsupportedMediaType(ct) => MetricsError::UnsupportedContentType(ct),
            Refusal::UriTooLong => MetricsError::UriTooLong,
            Refusal::HeadersTooLarge => MetricsError::HeadersTooLarge,
            // Only POST is custom metrics (the catalog gives other methods to ARM), so a
            // refused method does not reach here; the wording is a guess.
            Refusal::BadRequest(_) | Refusal::MethodNotAllowed => {
                MetricsError::BadRequest("The request path or query could not be read.".into())
            }
        }
        .into_response(),
        #[cfg(feature = "monitor")]
        Api::LogsQuery | Api::AppInsights => match refusal {
            Refusal::TooLarge => QueryError::BodyTooLarge(owner.body_limit()),
            Refusal::UriTooLong => QueryError::UriTooLong,
            Refusal::HeadersTooLarge => QueryError::HeadersTooLarge,
            Refusal::MethodNotAllowed => QueryError::PathNotFound,
            Refusal::UnsupportedMediaType(_) | Refusal::BadRequest(_) => {
                QueryError::Validation("The request path or query could not be read".into())
            }
        }
        .into_response(),
        #[cfg(feature = "monitor")]
        Api::LogsIngestion => match refusal {
            Refusal::TooLarge => IngestionError::PayloadTooLarge,
            Refusal::UriTooLong => IngestionError::UriTooLong,
            Refusal::HeadersTooLarge => IngestionError::HeadersTooLarge,
            Refusal::MethodNotAllowed => IngestionError::MethodNotAllowed,
            Refusal::UnsupportedMediaType(_) | Refusal::BadRequest(_) => {
                IngestionError::InvalidPayload("The request could not be read.".into())
            }
        }
        .into_response(),
        #[cfg(feature = "portal")]
        Api::Portal => {
            let (status, message) = match &refusal {
                Refusal::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."),
                Refusal::UriTooLong => (StatusCode::URI_TOO_LONG, "The address is too long."),
                Refusal::HeadersTooLarge => (
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "The request's headers are too large.",
                ),
                Refusal::MethodNotAllowed => (
                    StatusCode::METHOD_NOT_ALLOWED,
                    "This page does not take that method.",
                ),
                _ => (StatusCode::BAD_REQUEST, "The request could not be read."),
            };
            crate::portal::error_page(status, message)
        }
        Api::Imds | Api::AppServiceIdentity => {
            let (status, message) = match refusal {
                Refusal::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request too large"),
                Refusal::UriTooLong => (StatusCode::URI_TOO_LONG, "Request URI too long"),
                Refusal::HeadersTooLarge => (
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "Request headers too large",
                ),
                // IMDS's own answer to a method other than GET: its spec example.
                Refusal::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Not allowed"),
                Refusal::BadRequest(_) | Refusal::UnsupportedMediaType(_) => {
                    (StatusCode::BAD_REQUEST, "Bad request")
                }
            };
            if owner == Api::Imds {
                let code = if status == StatusCode::METHOD_NOT_ALLOWED {
                    "method_not_allowed"
                } else {
                    "invalid_request"
                };
                crate::identity::imds_error(status, code, message)
            } else {
                crate::identity::app_service_error(status, message)
            }
        }
        Api::Control | Api::Unmatched => control_refusal(owner, method, refusal),
        #[cfg(not(feature = "monitor"))]
        Api::CustomMetrics | Api::LogsQuery | Api::AppInsights | Api::LogsIngestion => {
            control_refusal(owner, method, refusal)
        }
        #[cfg(not(feature = "portal"))]
        Api::Portal => control_refusal(owner, method, refusal),
    }
}

/// `refusal` in the control API's envelope (also for APIs this build leaves out).
fn control_refusal(owner: Api, method: &Method, refusal: Refusal) -> Response {
    let (status, code, message) = match refusal {
        Refusal::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            format!("the body is larger than {} bytes", owner.body_limit()),
        ),
        Refusal::UriTooLong => (
            StatusCode::URI_TOO_LONG,
            "UriTooLong",
            format!("the request URI is longer than {MAX_URI_LEN} bytes"),
        ),
        Refusal::HeadersTooLarge => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "RequestHeadersTooLarge",
            format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
        ),
        Refusal::MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{method} is not allowed here (see the Allow header)"),
        ),
        Refusal::UnsupportedMediaType(ct) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!("content type '{ct}' is not supported"),
        ),
        Refusal::BadRequest(detail) => (StatusCode::BAD_REQUEST, "InvalidRequest", detail),
    };
    crate::control::error(status, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_types_are_recognized() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json_type(&HeaderValue::from_static(ok)), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
            "json",
        ] {
            assert!(!is_json_type(&HeaderValue::from_static(bad)), "{bad}");
        }
    }
}

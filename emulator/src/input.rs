//! Bad input, answered by the service that owns the path.
//!
//! One middleware ([`guard`]) sits in front of every route. It
//!
//! - refuses a request target longer than [`MAX_URI_LEN`] (414) or header fields larger than
//!   [`MAX_HEADER_BYTES`] (431). hyper answers such requests itself, without a body, only
//!   past its own larger limits (a 65,534-byte target, a ~400 KiB HTTP/1.1 head, 100 header
//!   fields; HTTP/2 header lists past the limit [`crate::server`] sets);
//! - enforces each service's request body limit ([`body_limit`]): a declared
//!   `Content-Length` over it is refused before the body is read, a streamed body is cut off
//!   by axum's body limit, set here per service instead of axum's global 2 MB;
//! - refuses a Graph write whose declared content type is not JSON (415);
//! - re-renders what axum itself answers before a handler runs (a method the route does not
//!   take, a path or query that does not decode, a body over the limit) in the owning
//!   service's error envelope. axum's rejections are plain text and the emulator's handlers
//!   never answer plain text, so a `text/plain` 4xx (or a bodiless 405) is always one.
//!
//! Which service owns a path is decided by [`owner`], the same prefixes the router uses.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer as _, ServiceExt as _};

use crate::arm::ArmError;
use crate::entra::EntraError;
use crate::graph::GraphError;
use crate::monitor::QueryError;
use crate::monitor::ingestion::IngestionError;
use crate::state::AppState;

/// The service a path belongs to, for its error envelope and its body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Entra ID: token, discovery and keys endpoints.
    Entra,
    /// Microsoft Graph (`/v1.0`, `/beta`).
    Graph,
    /// Azure Resource Manager, custom metrics included (same envelope).
    Arm,
    /// Log Analytics and Application Insights query APIs (`/v1/…`).
    MonitorQuery,
    /// Logs Ingestion (`/dataCollectionRules/…`).
    Ingestion,
    /// The HTML portal.
    Portal,
    /// The emulator's control API, and paths no service serves.
    Control,
}

/// MiB.
const MB: usize = 1 << 20;

/// Longest request target (path and query) any service reads. Azure's front ends refuse far
/// shorter ones (HTTP.sys's default head limit is 16 KiB); the emulator is lenient, so that
/// the services' own checks (a 60,000-character resource group name, say) answer first, but
/// stays below hyper's own limit (65,534 bytes), whose 414 carries no body.
pub(crate) const MAX_URI_LEN: usize = 63 * 1024;

/// The Azure Core envelope's (ARM's, Logs Ingestion's) words for a request target over
/// [`MAX_URI_LEN`]. A guess: no recorded answer was found.
pub(crate) fn uri_too_long_message() -> String {
    format!("The request URI exceeds the maximum length of {MAX_URI_LEN} bytes.")
}

/// The Azure Core envelope's words for header fields over [`MAX_HEADER_BYTES`]. A guess.
pub(crate) fn headers_too_large_message() -> String {
    format!("The request headers exceed the maximum size of {MAX_HEADER_BYTES} bytes.")
}

/// Most bytes of header field names and values a request may carry. Large enough for any
/// token the emulator reads (see [`crate::token::MAX_TOKEN_LEN`]) several times over, and
/// below hyper's own HTTP/1.1 head limit (about 400 KiB), whose 431 carries no body.
pub(crate) const MAX_HEADER_BYTES: usize = 256 * 1024;

/// The largest body each service takes.
pub(crate) fn body_limit(owner: Owner) -> usize {
    match owner {
        // No documented limit; a token request is a few hundred bytes.
        Owner::Entra => MB,
        // Graph's documented limit for a request body.
        Owner::Graph => 4 * MB,
        // "The request content size exceeds the maximum size of 4 MB."
        Owner::Arm => 4 * MB,
        Owner::MonitorQuery => crate::monitor::logs::MAX_BODY,
        // Logs Ingestion's documented limit per call.
        Owner::Ingestion => crate::monitor::ingestion::MAX_BODY,
        Owner::Portal => MB,
        // Table seeding takes large bodies.
        Owner::Control => crate::monitor::control::MAX_BODY,
    }
}

/// The service that owns `path`.
pub(crate) fn owner(path: &str) -> Owner {
    let mut segs = path.trim_start_matches('/').split('/');
    let first = segs.next().unwrap_or("");
    let second = segs.next();
    match first {
        "v1.0" | "beta" => Owner::Graph,
        "subscriptions" | "providers" | "tenants" | "metadata" => Owner::Arm,
        "v1" => Owner::MonitorQuery,
        "dataCollectionRules" => Owner::Ingestion,
        "_emulator" if second == Some("portal") => Owner::Portal,
        "_emulator" => Owner::Control,
        "common" if second == Some("discovery") => Owner::Entra,
        _ if matches!(
            second,
            Some("oauth2" | "v2.0" | ".well-known" | "discovery")
        ) =>
        {
            Owner::Entra
        }
        _ => Owner::Control,
    }
}

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
    let owner = owner(request.uri().path());
    let limit = body_limit(owner);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let headers = request.headers().clone();
    if let Some(refusal) = oversized_head(&request) {
        return refuse(&state, owner, &method, &path, &headers, refusal);
    }
    if declared_length(&headers).is_some_and(|n| n > limit) {
        return refuse(&state, owner, &method, &path, &headers, Refusal::TooLarge);
    }
    if owner == Owner::Graph
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
    owner: Owner,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    refusal: Refusal,
) -> Response {
    match owner {
        Owner::Entra => {
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
        Owner::Graph => {
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
        Owner::Arm => {
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
        Owner::MonitorQuery => match refusal {
            Refusal::TooLarge => QueryError::BodyTooLarge(body_limit(owner)),
            Refusal::UriTooLong => QueryError::UriTooLong,
            Refusal::HeadersTooLarge => QueryError::HeadersTooLarge,
            Refusal::MethodNotAllowed => QueryError::PathNotFound,
            Refusal::UnsupportedMediaType(_) | Refusal::BadRequest(_) => {
                QueryError::Validation("The request path or query could not be read".into())
            }
        }
        .into_response(),
        Owner::Ingestion => match refusal {
            Refusal::TooLarge => IngestionError::PayloadTooLarge,
            Refusal::UriTooLong => IngestionError::UriTooLong,
            Refusal::HeadersTooLarge => IngestionError::HeadersTooLarge,
            Refusal::MethodNotAllowed => IngestionError::MethodNotAllowed,
            Refusal::UnsupportedMediaType(_) | Refusal::BadRequest(_) => {
                IngestionError::InvalidPayload("The request could not be read.".into())
            }
        }
        .into_response(),
        Owner::Portal => {
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
        Owner::Control => {
            let (status, code, message) = match refusal {
                Refusal::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestBodyTooLarge",
                    format!("the body is larger than {} bytes", body_limit(owner)),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_services() {
        let cases = [
            ("/tid/oauth2/v2.0/token", Owner::Entra),
            (
                "/contoso.com/v2.0/.well-known/openid-configuration",
                Owner::Entra,
            ),
            ("/common/discovery/instance", Owner::Entra),
            ("/tid/discovery/keys", Owner::Entra),
            ("/v1.0/applications", Owner::Graph),
            ("/beta/x", Owner::Graph),
            ("/subscriptions/x/resourceGroups", Owner::Arm),
            ("/metadata/endpoints", Owner::Arm),
            ("/v1/workspaces/w/query", Owner::MonitorQuery),
            ("/v1/apps/a/query", Owner::MonitorQuery),
            ("/dataCollectionRules/r/streams/s", Owner::Ingestion),
            ("/_emulator/portal/apps", Owner::Portal),
            ("/_emulator/clock", Owner::Control),
            ("/nothing", Owner::Control),
            ("/", Owner::Control),
        ];
        for (path, expected) in cases {
            assert_eq!(owner(path), expected, "{path}");
        }
    }

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

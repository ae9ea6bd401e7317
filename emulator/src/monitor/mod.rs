//! Azure Monitor data planes: the Log Analytics query API, the Logs Ingestion API, custom
//! metrics ingestion, the ARM metrics read API, and the Application Insights query API.
//!
//! One file per API; the data they share (workspace tables, component tables, metric points)
//! lives in [`store::MonitorStore`] on [`AppState::monitor`]. Role assignments come from ARM's
//! store, each API checking its own action on its own [`Plane`], so a new grant reaches each
//! of them after that plane's propagation delay.
//!
//! | API | path | token audience | action checked |
//! |---|---|---|---|
//! | Log Analytics query | `/v1/workspaces/{customerId}/query` | `https://api.loganalytics.io` | `Microsoft.OperationalInsights/workspaces/query/read` |
//! | Logs Ingestion | `/dataCollectionRules/{immutableId}/streams/{stream}` | `https://monitor.azure.com` | data action `Microsoft.Insights/Telemetry/Write` |
//! | custom metrics | `POST {resourceId}/metrics` | `https://monitoring.azure.com/` | data action `Microsoft.Insights/Metrics/Write` |
//! | metrics read (ARM) | `{resourceId}/providers/Microsoft.Insights/metrics` | ARM | `Microsoft.Insights/metrics/read` |
//! | Application Insights | `/v1/apps/{appId}/…` | `https://api.applicationinsights.io` | `Microsoft.Insights/components/query/read` |

pub(crate) mod app_insights;
pub(crate) mod control;
pub(crate) mod custom_metrics;
mod error;
pub(crate) mod ingestion;
pub(crate) mod logs;
pub(crate) mod metrics;
pub mod store;
mod timespan;

use std::io::Read as _;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use time::OffsetDateTime;

pub(crate) use error::{QueryError, decorate};

use crate::entra::resources::{KnownResource, same_identifier};
use crate::rbac::Plane;
use crate::state::AppState;
use crate::token::{Claims, TokenError};

/// Why a bearer token was refused, before the service maps it onto its own error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer <token>`, or more than one header.
    Malformed,
    /// A token that does not verify or has expired.
    Invalid(TokenError),
    /// A valid token for another resource.
    WrongAudience(String),
}

/// The bearer token of a request, verified, with its audience checked by `audience_ok`.
pub(crate) fn bearer_claims(
    state: &AppState,
    headers: &HeaderMap,
    now: OffsetDateTime,
    audience_ok: impl Fn(&str) -> bool,
) -> Result<Arc<Claims>, AuthFailure> {
    let value = crate::http::authorization(headers)
        .map_err(|_| AuthFailure::Malformed)?
        .ok_or(AuthFailure::Missing)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or(AuthFailure::Malformed)?;
    let claims = state
        .validate_token(token, now)
        .map_err(AuthFailure::Invalid)?;
    if audience_ok(&claims.aud) {
        Ok(claims)
    } else {
        Err(AuthFailure::WrongAudience(claims.aud.clone()))
    }
}

/// Whether `aud` names `resource` (one of its identifier URIs, trailing slash or not, or its
/// app id), or — when `own_bases` is given — one of the emulator's own base URLs, which the
/// cloud metadata document hands out as the resource id of Log Analytics and Application
/// Insights.
pub(crate) fn audience_matches(aud: &str, resource: &KnownResource, own_bases: &[&str]) -> bool {
    resource.identifiers.iter().any(|i| same_identifier(i, aud))
        || aud.eq_ignore_ascii_case(&resource.app_id.to_string())
        || own_bases.iter().any(|b| same_identifier(b, aud))
}

/// The caller's object id from its token (every token the emulator issues has a GUID `oid`).
pub(crate) fn caller_of(claims: &Claims) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(&claims.oid).ok()
}

/// Whether `caller` may do `action` at `scope`, as `plane` sees role assignments at `now`.
pub(crate) fn allowed(
    state: &AppState,
    caller: &uuid::Uuid,
    scope: &str,
    action: &str,
    data_action: bool,
    plane: Plane,
    now: OffsetDateTime,
) -> bool {
    state.authorize(caller, scope, action, data_action, plane, now)
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than the limit (before or after decompression).
    TooLarge,
    /// A `Content-Encoding` other than `gzip` or `identity`.
    UnsupportedEncoding(String),
    /// A gzip body that does not decompress.
    BadGzip,
    /// The connection failed while reading.
    Read,
}

/// Reads a request body of at most `limit` bytes, then [`decode_body`]s it.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, BodyError> {
    use http_body_util::{BodyExt as _, LengthLimitError, Limited};
    let raw = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(BodyError::TooLarge);
        }
        Err(_) => return Err(BodyError::Read),
    };
    decode_body(raw, headers, limit)
}

/// Checks a body against `limit` and decompresses `Content-Encoding: gzip`; the inflated
/// size is bounded by the same limit, so a small bomb cannot expand.
pub(crate) fn decode_body(
    raw: Bytes,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if raw.len() > limit {
        return Err(BodyError::TooLarge);
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(raw),
        Some("gzip") => {
            let mut out = Vec::new();
            let mut reader = flate2::read::GzDecoder::new(&raw[..]).take(limit as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|_| BodyError::BadGzip)?;
            if out.len() > limit {
                return Err(BodyError::TooLarge);
            }
            Ok(Bytes::from(out))
        }
        Some(other) => Err(BodyError::UnsupportedEncoding(other.to_owned())),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entra::resources::LOG_ANALYTICS;

    #[test]
    fn audiences_accept_identifiers_app_id_and_own_base() {
        let base = "http://127.0.0.1:9";
        assert!(audience_matches(
            "https://api.loganalytics.io",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(audience_matches(
            "https://api.loganalytics.io/",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(audience_matches(
            "ca7f3f0b-7d91-482c-8e09-c5d840d0eac5",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(audience_matches(
            "http://127.0.0.1:9/",
            &LOG_ANALYTICS,
            &[base]
        ));
        assert!(!audience_matches(
            "http://127.0.0.1:9/",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(!audience_matches(
            "https://management.azure.com/",
            &LOG_ANALYTICS,
            &[base]
        ));
    }

    #[tokio::test]
    async fn bodies_are_bounded_before_and_after_gzip() {
        use flate2::Compression;
        use flate2::write::GzEncoder;
        use std::io::Write as _;
        let plain = HeaderMap::new();
        let ok = read_body(Body::from("abc"), &plain, 3).await;
        assert_eq!(ok, Ok(Bytes::from("abc")));
        let long = read_body(Body::from("abcd"), &plain, 3).await;
        assert_eq!(long, Err(BodyError::TooLarge));
        let mut gz = HeaderMap::new();
        gz.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&[b'a'; 4096]).expect("write");
        let bomb = enc.finish().expect("gzip");
        assert!(bomb.len() < 100);
        let r = read_body(Body::from(bomb.clone()), &gz, 1000).await;
        assert_eq!(r, Err(BodyError::TooLarge), "limit applies after inflating");
        let r = read_body(Body::from(bomb), &gz, 5000).await;
        assert_eq!(r.map(|b| b.len()), Ok(4096));
        let r = read_body(Body::from("not gzip"), &gz, 100).await;
        assert_eq!(r, Err(BodyError::BadGzip));
        let mut br = HeaderMap::new();
        br.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        let r = read_body(Body::from("x"), &br, 100).await;
        assert_eq!(r, Err(BodyError::UnsupportedEncoding("br".into())));
    }
}

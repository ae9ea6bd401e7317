//! Custom metrics ingestion, `POST {resourceId}/metrics` (served on the regional
//! `{region}.monitoring.azure.com` host in Azure; here on the one base URL, where ARM's
//! dispatcher hands such paths over). Bodies are one JSON object, or one per line with
//! `application/x-ndjson`; every object is checked before any point is stored.
//!
//! Only the 403 text and the time-window text were seen in real answers; the other error
//! codes and texts are guesses in the same `{"error":{"code","message"}}` envelope.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::BodyError;
use crate::first_party::MONITORING;
use crate::http::bearer::Bearer;
use crate::kql;
use crate::rbac::{Plane, Scope, ScopeKind};
use crate::services::AppState;
use crate::telemetry::{Aggregate, Point};

/// The data action checked on the resource (Monitoring Metrics Publisher).
pub(crate) const WRITE_ACTION: &str = "Microsoft.Insights/Metrics/Write";

/// Largest request body read (see the catalog).
const MAX_BODY: usize = crate::catalog::Api::CustomMetrics.body_limit();
/// Most series one request may carry (a guess, bounding the work of one call).
pub(crate) const MAX_SERIES: usize = 10_000;
/// Documented: at most 10 dimensions per metric.
const MAX_DIMENSIONS: usize = 10;
/// Documented: names of namespaces, metrics, dimensions and their values.
const MAX_NAME_CHARS: usize = 256;
/// Documented window around the emulator's clock for a point's `time`.
const MAX_AGE: Duration = Duration::minutes(20);
const MAX_AHEAD: Duration = Duration::minutes(5);

/// Failures of the custom metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetricsError {
    Token(super::TokenError),
    Forbidden {
        principal: String,
        scope: String,
    },
    NotAResource(String),
    ResourceNotFound(String),
    TooLarge,
    /// A request target over [`crate::catalog::MAX_URI_LEN`]; ARM's answer (a guess).
    UriTooLong,
    /// Header fields over [`crate::catalog::MAX_HEADER_BYTES`]; ARM's answer (a guess).
    HeadersTooLarge,
    UnsupportedContentType(String),
    /// The service's own text for a `time` outside the window.
    TimeOutOfRange,
    BadRequest(String),
}

impl MetricsError {
    pub(super) fn parts(&self) -> (StatusCode, &'static str, String) {
        use MetricsError::*;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            Token(failure) => failure.parts(|aud| {
                format!(
                    "The audience '{aud}' of the access token is invalid. The token must be issued for 'https://monitoring.azure.com/'."
                )
            }),
            // Seen in a 2018 capture, trailing space included; note the lower-case "write".
            Forbidden { principal, scope } => (
                StatusCode::FORBIDDEN,
                "AuthenticationFailed",
                format!(
                    "The Azure AD object '{principal}' does not have permissions to perform action 'Microsoft.Insights/Metrics/write' over scope '{scope}'. "
                ),
            ),
            NotAResource(id) => (
                bad,
                "BadRequest",
                format!(
                    "'{id}' is not a resource id: custom metrics can only be emitted against a resource, not a resource group or subscription."
                ),
            ),
            ResourceNotFound(id) => (
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                format!("The resource '{id}' was not found."),
            ),
            TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("The request body is larger than {MAX_BODY} bytes."),
            ),
            // ARM's answers: these paths were ARM's before custom metrics had an envelope.
            UriTooLong => crate::services::arm_error::ArmError::UriTooLong.parts(),
            HeadersTooLarge => crate::services::arm_error::ArmError::HeadersTooLarge.parts(),
            UnsupportedContentType(ct) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                format!(
                    "Content type '{ct}' is not supported; use application/json or application/x-ndjson."
                ),
            ),
            // Observed text, `\r\n` included. The service's message says 30 minutes past and
            // 4 ahead while its documentation (which the emulator enforces) says 20 and 5.
            TimeOutOfRange => (
                bad,
                "BadRequest",
                "'time' should not be older than 30 minutes and not more than 4 minutes in the future\r\n"
                    .into(),
            ),
            BadRequest(message) => (bad, "BadRequest", message.clone()),
        }
    }
}

/// One validated object of a post.
#[derive(Debug, Clone, PartialEq)]
struct Post {
    minute: i64,
    namespace: String,
    metric: String,
    points: Vec<Point>,
}

fn name(value: Option<&Value>, what: &str) -> Result<String, MetricsError> {
    let s = value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            MetricsError::BadRequest(format!(
                "'{what}' is required and must be a non-empty string."
            ))
        })?;
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(MetricsError::BadRequest(format!(
            "'{what}' is longer than {MAX_NAME_CHARS} characters."
        )));
    }
    Ok(s.to_owned())
}

/// Parses `time`: ISO 8601, also with the one-digit hour offsets of Microsoft's own example
/// (`2024-01-07T11:25:20-7:00`).
fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let parse =
        |s: &str| kql::parse_datetime(s).and_then(|t| kql::Value::DateTime(t).as_datetime());
    parse(text).or_else(|| {
        let at = text.rfind(['+', '-']).filter(|&i| i > 10)?;
        let (head, offset) = text.split_at(at);
        let (sign, rest) = offset.split_at(1);
        let (h, m) = rest.split_once(':')?;
        (h.len() == 1).then(|| parse(&format!("{head}{sign}0{h}:{m}")))?
    })
}

fn number(series: &Value, key: &str, i: usize) -> Result<f64, MetricsError> {
    series
        .get(key)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            MetricsError::BadRequest(format!(
                "'series[{i}].{key}' is required and must be a number."
            ))
        })
}

/// An optional array of `field` names (`dimNames`, a series' `dimValues`); `path` says
/// where it stands for the error when it is not an array.
fn names(
    value: Option<&Value>,
    field: &str,
    path: impl FnOnce() -> String,
) -> Result<Vec<String>, MetricsError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| name(Some(v), field)).collect(),
        Some(_) => Err(MetricsError::BadRequest(format!(
            "'{}' must be an array of strings.",
            path()
        ))),
    }
}

fn validate(object: &Value, now: OffsetDateTime) -> Result<Post, MetricsError> {
    let time = object
        .get("time")
        .and_then(Value::as_str)
        .ok_or_else(|| MetricsError::BadRequest("'time' is required.".into()))?;
    let time = parse_time(time).ok_or_else(|| {
        MetricsError::BadRequest(format!(
            "'time' value '{time}' is not an ISO 8601 date and time."
        ))
    })?;
    if time < now - MAX_AGE || time > now + MAX_AHEAD {
        return Err(MetricsError::TimeOutOfRange);
    }
    let base = object
        .get("data")
        .and_then(|d| d.get("baseData"))
        .filter(|b| b.is_object())
        .ok_or_else(|| MetricsError::BadRequest("'data.baseData' is required.".into()))?;
    let metric = name(base.get("metric"), "metric")?;
    let namespace = name(base.get("namespace"), "namespace")?;
    let dim_names = names(base.get("dimNames"), "dimNames", || "dimNames".into())?;
    if dim_names.len() > MAX_DIMENSIONS {
        return Err(MetricsError::BadRequest(format!(
            "A metric can have at most {MAX_DIMENSIONS} dimensions; {} were given.",
            dim_names.len()
        )));
    }
    for (i, d) in dim_names.iter().enumerate() {
        if dim_names[..i].iter().any(|e| e.eq_ignore_ascii_case(d)) {
            return Err(MetricsError::BadRequest(format!(
                "Dimension '{d}' is named twice."
            )));
        }
    }
    let series = base
        .get("series")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            MetricsError::BadRequest("'series' is required and must be a non-empty array.".into())
        })?;
    let mut points = Vec::with_capacity(series.len());
    for (i, s) in series.iter().enumerate() {
        let values = names(s.get("dimValues"), "dimValues", || {
            format!("series[{i}].dimValues")
        })?;
        if values.len() != dim_names.len() {
            return Err(MetricsError::BadRequest(format!(
                "'series[{i}].dimValues' has {} values but 'dimNames' has {} names.",
                values.len(),
                dim_names.len()
            )));
        }
        let value = Aggregate {
            min: number(s, "min", i)?,
            max: number(s, "max", i)?,
            sum: number(s, "sum", i)?,
            count: number(s, "count", i)?,
        };
        if value.count < 1.0 || value.min > value.max {
            return Err(MetricsError::BadRequest(format!(
                "'series[{i}]' must have count >= 1 and min <= max."
            )));
        }
        points.push(Point {
            dimensions: dim_names.iter().cloned().zip(values).collect(),
            value,
        });
    }
    Ok(Post {
        minute: time.unix_timestamp().div_euclid(60),
        namespace,
        metric,
        points,
    })
}

fn objects(bytes: &[u8], ndjson: bool) -> Result<Vec<Value>, MetricsError> {
    let parse = |text: &[u8]| {
        serde_json::from_slice::<Value>(text).map_err(|e| {
            MetricsError::BadRequest(format!("The request body is not valid JSON: {e}"))
        })
    };
    if !ndjson {
        return match parse(bytes)? {
            v @ Value::Object(_) => Ok(vec![v]),
            _ => Err(MetricsError::BadRequest(
                "The request body must be a JSON object.".into(),
            )),
        };
    }
    bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(|line| match parse(line)? {
            v @ Value::Object(_) => Ok(v),
            _ => Err(MetricsError::BadRequest(
                "Each line must be a JSON object.".into(),
            )),
        })
        .collect()
}

/// Handles `POST {resourceId}/metrics` (`path` as sent).
pub(crate) fn ingest(
    state: &AppState,
    path: &str,
    bearer: &Bearer,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = crate::http::percent_decode(path);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match serve(state, &segs, bearer, headers, body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

fn serve(
    state: &AppState,
    segs: &[&str],
    bearer: &Bearer,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(), MetricsError> {
    let now = state.clock.now();
    let resource_id = format!("/{}", segs[..segs.len().saturating_sub(1)].join("/"));
    let caller = bearer.caller(|aud| {
        // The documented audience needs its trailing slash; the app id also names it.
        aud.eq_ignore_ascii_case(MONITORING.identifiers[0])
            || aud.eq_ignore_ascii_case(&MONITORING.app_id.to_string())
    })?;
    let scope = Scope::parse(&resource_id)
        .ok()
        .filter(|s| s.kind() == ScopeKind::Resource)
        .ok_or_else(|| MetricsError::NotAResource(resource_id.clone()))?;
    if !state.authorize(
        &caller,
        scope.as_str(),
        WRITE_ACTION,
        true,
        Plane::Metrics,
        now,
    ) {
        return Err(MetricsError::Forbidden {
            principal: caller.to_string(),
            scope: resource_id,
        });
    }
    let canonical = state
        .arm()
        .resource(&resource_id)
        .map(|r| r.id.clone())
        .ok_or_else(|| MetricsError::ResourceNotFound(resource_id.clone()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let ndjson = match content_type.as_str() {
        "application/json" => false,
        "application/x-ndjson" => true,
        other => return Err(MetricsError::UnsupportedContentType(other.to_owned())),
    };
    let bytes = super::decode_body(body, headers, MAX_BODY).map_err(|e| match e {
        BodyError::TooLarge => MetricsError::TooLarge,
        BodyError::UnsupportedEncoding(enc) => {
            MetricsError::BadRequest(format!("Content-Encoding '{enc}' is not supported."))
        }
        BodyError::BadGzip | BodyError::Read => {
            MetricsError::BadRequest("The request body could not be read.".into())
        }
    })?;
    let posts = objects(&bytes, ndjson)?
        .iter()
        .map(|o| validate(o, now))
        .collect::<Result<Vec<_>, _>>()?;
    let series: usize = posts.iter().map(|p| p.points.len()).sum();
    if series > MAX_SERIES {
        return Err(MetricsError::BadRequest(format!(
            "A request can carry at most {MAX_SERIES} series; this one has {series}."
        )));
    }
    let mut store = state.telemetry_mut();
    for post in &posts {
        store.add_points(
            &canonical,
            &post.namespace,
            &post.metric,
            post.minute,
            &post.points,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-01-07 18:30 UTC);

    fn body(time: &str) -> Value {
        json!({"time": time, "data": {"baseData": {
            "metric": "Memory Bytes in Use", "namespace": "Memory Profile",
            "dimNames": ["Process"],
            "series": [{"dimValues": ["ContosoApp.exe"], "min": 10, "max": 89, "sum": 190, "count": 4}]
        }}})
    }

    #[test]
    fn the_documented_example_parses() {
        let post = validate(&body("2024-01-07T11:25:20-7:00"), NOW).expect("valid");
        assert_eq!(
            post.minute,
            datetime!(2024-01-07 18:25 UTC).unix_timestamp() / 60
        );
        assert_eq!(
            post.points[0].dimensions,
            [("Process".to_owned(), "ContosoApp.exe".to_owned())]
        );
        assert_eq!(post.points[0].value.sum, 190.0);
    }

    #[test]
    fn the_time_window_is_20_minutes_back_and_5_ahead() {
        assert!(validate(&body("2024-01-07T18:10:00Z"), NOW).is_ok());
        assert_eq!(
            validate(&body("2024-01-07T18:09:59Z"), NOW),
            Err(MetricsError::TimeOutOfRange)
        );
        assert!(validate(&body("2024-01-07T18:35:00Z"), NOW).is_ok());
        assert_eq!(
            validate(&body("2024-01-07T18:35:01Z"), NOW),
            Err(MetricsError::TimeOutOfRange)
        );
    }

    #[test]
    fn dimensions_are_checked() {
        let mut b = body("2024-01-07T18:30:00Z");
        b["data"]["baseData"]["series"][0]["dimValues"] = json!([]);
        assert!(
            matches!(validate(&b, NOW), Err(MetricsError::BadRequest(m)) if m.contains("has 0 values"))
        );
        let mut b = body("2024-01-07T18:30:00Z");
        let names: Vec<String> = (0..11).map(|i| format!("d{i}")).collect();
        b["data"]["baseData"]["dimNames"] = json!(names);
        assert!(
            matches!(validate(&b, NOW), Err(MetricsError::BadRequest(m)) if m.contains("at most 10"))
        );
        let mut b = body("2024-01-07T18:30:00Z");
        b["data"]["baseData"]["metric"] = json!("x".repeat(257));
        assert!(validate(&b, NOW).is_err());
    }

    #[test]
    fn ndjson_is_one_object_per_line() {
        let text = format!(
            "{}\n\n{}\n",
            body("2024-01-07T18:30:00Z"),
            body("2024-01-07T18:31:00Z")
        );
        assert_eq!(objects(text.as_bytes(), true).map(|v| v.len()), Ok(2));
        assert!(objects(b"[1]", false).is_err());
        assert!(objects(b"{} x", false).is_err());
    }
}

//! The Logs Ingestion API, `POST /dataCollectionRules/{immutableId}/streams/{stream}`, and the
//! data collection rules (ARM `Microsoft.Insights/dataCollectionRules`) that route its rows:
//! a rule declares streams and their columns, names Log Analytics workspaces as
//! destinations, and maps each stream through a KQL transformation onto an output table.
//!
//! Rules are validated when written, as ARM does (the transformation is also run once over
//! an empty stream, so a query that names an unknown column fails then, not at ingestion).
//! Unlike Azure, the destination table need not exist beforehand: the first upload creates
//! it with the transformation's output columns (plus `TimeGenerated`).

use axum::body::Body;
use axum::extract::{OriginalUri, Path};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::BodyError;
use crate::first_party::MONITOR_INGESTION;
use crate::first_party::audience_matches;
use crate::http::bearer::Bearer;
use crate::kql::Table;
use crate::rbac::Plane;
use crate::services::AppState;
use crate::telemetry::dcr::{destinations, output_table, stream_schemas, transform, transform_of};

/// The data action the ingestion endpoint checks on the rule. The documented role is
/// Monitoring Metrics Publisher; which of its two data actions the service checks is a guess.
pub(crate) const INGEST_ACTION: &str = "Microsoft.Insights/Telemetry/Write";

/// Largest request body read (see the catalog).
const MAX_BODY: usize = crate::catalog::Api::LogsIngestion.body_limit();

/// Longest string value kept; longer ones are cut, as the service documents.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// api-versions the endpoint takes.
const API_VERSIONS: [&str; 2] = ["2023-01-01", "2021-11-01-preview"];

/// Failures of the ingestion endpoint, in the Azure Core envelope
/// `{"error":{"code","message"}}` with an `x-ms-error-code` header. Only the 403 text was
/// seen in real answers; the other codes and texts are guesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IngestionError {
    MissingApiVersion,
    UnsupportedApiVersion(String),
    Token(super::TokenError),
    AccessDenied(String),
    RuleNotFound(String),
    StreamNotFound { stream: String, rule: String },
    InvalidPayload(String),
    PayloadTooLarge,
    UriTooLong,
    HeadersTooLarge,
    MethodNotAllowed,
}

impl IngestionError {
    pub(super) fn parts(&self) -> (StatusCode, &'static str, String) {
        use IngestionError::*;
        let bad = StatusCode::BAD_REQUEST;
        match self {
            MissingApiVersion => (
                bad,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests."
                    .into(),
            ),
            UnsupportedApiVersion(v) => (
                bad,
                "UnsupportedApiVersion",
                format!(
                    "The HTTP resource that matches the request URI does not support the API version '{v}'. Supported versions: {}.",
                    API_VERSIONS.join(", ")
                ),
            ),
            Token(failure) => failure.parts(|aud| {
                format!(
                    "The access token audience '{aud}' is invalid. Request a token for 'https://monitor.azure.com'."
                )
            }),
            AccessDenied(rule) => (
                StatusCode::FORBIDDEN,
                "OperationFailed",
                format!(
                    "The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '{rule}'."
                ),
            ),
            RuleNotFound(rule) => (
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("Data collection rule with immutable Id '{rule}' not found."),
            ),
            StreamNotFound { stream, rule } => (
                bad,
                "InvalidStream",
                format!(
                    "Stream '{stream}' is not declared in the data collection rule with immutable Id '{rule}'."
                ),
            ),
            InvalidPayload(detail) => (bad, "InvalidPayload", detail.clone()),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "ContentLengthLimitExceeded",
                format!("The request body exceeds the maximum size of {MAX_BODY} bytes."),
            ),
            UriTooLong => (
                StatusCode::URI_TOO_LONG,
                "UriTooLong",
                crate::catalog::uri_too_long_message(),
            ),
            // ARM's answer as it is (for a long URI, ARM's code is `RequestUriTooLong`).
            HeadersTooLarge => crate::services::arm_error::ArmError::HeadersTooLarge.parts(),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The requested method is not supported; use POST.".into(),
            ),
        }
    }
}

/// Cuts string values over the documented field size, at a character boundary.
fn cut_long_strings(row: &mut Map<String, Value>) {
    for v in row.values_mut() {
        if let Value::String(s) = v
            && s.len() > MAX_FIELD_BYTES
        {
            let mut end = MAX_FIELD_BYTES;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
        }
    }
}

/// `POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01`.
pub(crate) async fn upload(
    state: AppState,
    method: Method,
    Path((rule, stream)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match serve(&state, method, &rule, &stream, &uri, &headers, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Where one data flow sends the stream: workspace, table, transformation.
struct Route {
    customer_id: Uuid,
    table: String,
    transform: String,
}

async fn serve(
    state: &AppState,
    method: Method,
    rule: &str,
    stream: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), IngestionError> {
    if method != Method::POST {
        return Err(IngestionError::MethodNotAllowed);
    }
    let version = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v.into_owned())
        .ok_or(IngestionError::MissingApiVersion)?;
    if !API_VERSIONS.contains(&version.as_str()) {
        return Err(IngestionError::UnsupportedApiVersion(version));
    }
    let now = state.clock.now();
    let caller =
        Bearer::of(state, headers).caller(|aud| audience_matches(aud, &MONITOR_INGESTION, &[]))?;
    let (dcr_id, schema, routes) = {
        let arm = state.arm();
        let dcr = arm
            .dcr_by_immutable_id(rule)
            .ok_or_else(|| IngestionError::RuleNotFound(rule.to_owned()))?;
        let schema = stream_schemas(&dcr.properties)
            .ok()
            .and_then(|s| s.into_iter().find(|(n, _)| n == stream))
            .map(|(_, cols)| cols);
        let dests = destinations(&dcr.properties);
        let mut routes = Vec::new();
        for flow in dcr
            .properties
            .get("dataFlows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let in_flow = flow
                .get("streams")
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|x| x.as_str() == Some(stream)));
            if !in_flow {
                continue;
            }
            let table = flow
                .get("outputStream")
                .and_then(Value::as_str)
                .map_or(stream, |s| s);
            for name in flow
                .get("destinations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let customer = dests
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, ws)| arm.resource(ws))
                    .and_then(|r| r.properties.get("customerId"))
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok());
                // A workspace deleted since the rule was written: its rows are dropped.
                if let Some(customer_id) = customer {
                    routes.push(Route {
                        customer_id,
                        table: output_table(table).to_owned(),
                        transform: transform_of(flow).to_owned(),
                    });
                }
            }
        }
        (dcr.id.clone(), schema, routes)
    };
    // The ingestion pipeline's own propagation is not documented separately (its
    // troubleshooting guide says up to 30 minutes); sharing the metrics plane's is a guess.
    if !state.authorize(&caller, &dcr_id, INGEST_ACTION, true, Plane::Metrics, now) {
        return Err(IngestionError::AccessDenied(rule.to_owned()));
    }
    let schema = schema.ok_or_else(|| IngestionError::StreamNotFound {
        stream: stream.to_owned(),
        rule: rule.to_owned(),
    })?;
    let bytes = super::read_body(body, headers, MAX_BODY)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => IngestionError::PayloadTooLarge,
            BodyError::UnsupportedEncoding(enc) => IngestionError::InvalidPayload(format!(
                "Content-Encoding '{enc}' is not supported; use gzip or none."
            )),
            BodyError::BadGzip => IngestionError::InvalidPayload(
                "The gzip request body could not be decompressed.".into(),
            ),
            BodyError::Read => {
                IngestionError::InvalidPayload("The request body could not be read.".into())
            }
        })?;
    let rows: Vec<Map<String, Value>> = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(mut row) => {
                    cut_long_strings(&mut row);
                    Ok(row)
                }
                _ => Err(IngestionError::InvalidPayload(format!(
                    "Item {i} of the request body is not a JSON object."
                ))),
            })
            .collect::<Result<_, _>>()?,
        Ok(_) => {
            return Err(IngestionError::InvalidPayload(
                "The request body must be a JSON array of objects.".into(),
            ));
        }
        Err(e) => {
            return Err(IngestionError::InvalidPayload(format!(
                "The request body is malformed JSON: {e}"
            )));
        }
    };
    let mut incoming = Table::new("source", schema);
    incoming.append_json_rows(&rows).map_err(|e| {
        IngestionError::InvalidPayload(format!(
            "Item {} does not match the stream declaration: column '{}': {}",
            e.row, e.column, e.message
        ))
    })?;
    for route in routes {
        match transform(&route.transform, incoming.clone(), now) {
            Ok(out) => {
                let mut store = state.telemetry_mut();
                if let Err(e) = store.append_workspace(route.customer_id, &route.table, &out, now) {
                    // The table exists with other column types: Azure drops such rows too.
                    tracing::warn!(table = %route.table, error = %e, "ingested rows dropped");
                }
            }
            Err(e) => tracing::warn!(error = %e, "transformation failed; rows dropped"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_strings_are_cut_at_a_char_boundary() {
        let mut row = Map::new();
        row.insert("s".into(), json!("é".repeat(MAX_FIELD_BYTES)));
        cut_long_strings(&mut row);
        let s = row["s"].as_str().expect("string");
        assert!(s.len() <= MAX_FIELD_BYTES && s.len() > MAX_FIELD_BYTES - 2);
    }
}

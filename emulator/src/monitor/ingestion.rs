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
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AuthFailure, BodyError, audience_matches, bearer_claims, caller_of};
use crate::arm::ArmError;
use crate::arm::store::{ArmStore, Resource, WORKSPACE_TYPE};
use crate::entra::resources::MONITOR_INGESTION;
use crate::kql::{self, Column, ColumnType, QueryContext, Table};
use crate::rbac::Plane;
use crate::state::AppState;

/// The data action the ingestion endpoint checks on the rule. The documented role is
/// Monitoring Metrics Publisher; which of its two data actions the service checks is a guess.
pub(crate) const INGEST_ACTION: &str = "Microsoft.Insights/Telemetry/Write";

/// Largest upload, compressed or not (the documented limit of one call).
pub(crate) const MAX_BODY: usize = 1024 * 1024;

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
    MissingAuthorization,
    InvalidToken,
    WrongAudience(String),
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
    fn parts(&self) -> (StatusCode, &'static str, String) {
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
            MissingAuthorization => (
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.".into(),
            ),
            InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "InvalidToken",
                "The access token is invalid.".into(),
            ),
            WrongAudience(aud) => (
                StatusCode::UNAUTHORIZED,
                "InvalidAudience",
                format!(
                    "The access token audience '{aud}' is invalid. Request a token for 'https://monitor.azure.com'."
                ),
            ),
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
                crate::input::uri_too_long_message(),
            ),
            HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "RequestHeadersTooLarge",
                crate::input::headers_too_large_message(),
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The requested method is not supported; use POST.".into(),
            ),
        }
    }
}

impl IntoResponse for IngestionError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let mut response = super::json_response(
            status,
            &json!({"error": {"code": code, "message": message}}),
        );
        response
            .headers_mut()
            .insert("x-ms-error-code", HeaderValue::from_static(code));
        response
    }
}

/// A DCR column type as ARM spells it, in KQL terms.
fn column_type(name: &str) -> Option<ColumnType> {
    Some(match name.to_ascii_lowercase().as_str() {
        "string" => ColumnType::String,
        "int" => ColumnType::Int,
        "long" => ColumnType::Long,
        "real" => ColumnType::Real,
        "boolean" => ColumnType::Bool,
        "datetime" => ColumnType::DateTime,
        "dynamic" => ColumnType::Dynamic,
        _ => return None,
    })
}

/// One finding of rule validation: code, message, target.
type Finding = (String, String, String);

fn finding(code: &str, message: String, target: String) -> Finding {
    (code.to_owned(), message, target)
}

/// The declared columns of each stream of a rule.
fn stream_schemas(props: &Map<String, Value>) -> Result<Vec<(String, Vec<Column>)>, Finding> {
    let mut out = Vec::new();
    let Some(decls) = props.get("streamDeclarations").filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let Some(decls) = decls.as_object() else {
        return Err(finding(
            "InvalidPayload",
            "'streamDeclarations' must be an object".into(),
            "properties.streamDeclarations".into(),
        ));
    };
    for (name, decl) in decls {
        let target = format!("properties.streamDeclarations.{name}");
        if !name.starts_with("Custom-") {
            return Err(finding(
                "InvalidStreamDeclaration",
                format!("Stream declaration '{name}' must start with 'Custom-'."),
                target,
            ));
        }
        let columns = decl
            .get("columns")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                finding(
                    "InvalidStreamDeclaration",
                    format!("Stream declaration '{name}' must declare at least one column."),
                    target.clone(),
                )
            })?;
        let mut schema = Vec::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            let col_target = format!("{target}.columns[{i}]");
            let col_name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let ty = c.get("type").and_then(Value::as_str).unwrap_or_default();
            if col_name.is_empty() {
                return Err(finding(
                    "InvalidStreamDeclaration",
                    "Column name must not be empty.".into(),
                    col_target,
                ));
            }
            let ty = column_type(ty).ok_or_else(|| {
                finding(
                    "InvalidStreamDeclaration",
                    format!(
                        "Column '{col_name}' has type '{ty}'; supported types are string, int, long, real, boolean, datetime and dynamic."
                    ),
                    col_target.clone(),
                )
            })?;
            if schema.iter().any(|s: &Column| s.name == col_name) {
                return Err(finding(
                    "InvalidStreamDeclaration",
                    format!("Column '{col_name}' is declared twice."),
                    col_target,
                ));
            }
            schema.push(Column::new(col_name, ty));
        }
        out.push((name.clone(), schema));
    }
    Ok(out)
}

/// The Log Analytics destinations of a rule: name → workspace resource id.
fn destinations(props: &Map<String, Value>) -> Vec<(String, String)> {
    props
        .get("destinations")
        .and_then(|d| d.get("logAnalytics"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|d| {
                    Some((
                        d.get("name")?.as_str()?.to_owned(),
                        d.get("workspaceResourceId")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The table an `outputStream` names: `Custom-X_CL` → `X_CL`, `Microsoft-Syslog` → `Syslog`.
fn output_table(stream: &str) -> &str {
    stream
        .strip_prefix("Custom-")
        .or_else(|| stream.strip_prefix("Microsoft-"))
        .unwrap_or(stream)
}

fn transform_of(flow: &Value) -> &str {
    flow.get("transformKql")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("source")
}

/// Runs a transformation over `source` (the stream's rows, as table `source`).
fn transform(query: &str, source: Table, now: OffsetDateTime) -> Result<Table, kql::KqlError> {
    if query == "source" {
        return Ok(source);
    }
    let mut source = source;
    source.set_name("source");
    let catalog = vec![source];
    kql::run(query, &catalog, &QueryContext::log_analytics(now))
}

/// Checks a data collection rule's properties and fills the ones ARM owns: `immutableId`,
/// the logs ingestion endpoint (the emulator's base URL) for `kind: Direct`, each Log
/// Analytics destination's `workspaceId`, and `provisioningState`.
pub(crate) fn dcr_properties(
    store: &ArmStore,
    existing: Option<&Resource>,
    mut given: Map<String, Value>,
    kind: Option<&str>,
    base: &str,
    now: OffsetDateTime,
) -> Result<Map<String, Value>, ArmError> {
    let mut findings = Vec::new();
    let schemas = match stream_schemas(&given) {
        Ok(s) => s,
        Err(f) => return Err(ArmError::InvalidDataCollectionRule(vec![f])),
    };
    let dests = destinations(&given);
    if let Some(Value::Object(d)) = given.get_mut("destinations")
        && let Some(Value::Array(items)) = d.get_mut("logAnalytics")
    {
        for (i, item) in items.iter_mut().enumerate() {
            let ws = item
                .get("workspaceResourceId")
                .and_then(Value::as_str)
                .and_then(|id| store.resource(id))
                .filter(|r| r.resource_type.eq_ignore_ascii_case(WORKSPACE_TYPE))
                .and_then(|r| r.properties.get("customerId").cloned());
            match (ws, item.as_object_mut()) {
                (Some(customer), Some(obj)) => {
                    obj.insert("workspaceId".into(), customer);
                }
                _ => findings.push(finding(
                    "InvalidDestination",
                    "The workspace resource id of the destination does not name an existing Log Analytics workspace.".into(),
                    format!("properties.destinations.logAnalytics[{i}].workspaceResourceId"),
                )),
            }
        }
    }
    let flows = given
        .get("dataFlows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, flow) in flows.iter().enumerate() {
        let target = format!("properties.dataFlows[{i}]");
        let streams: Vec<&str> = flow
            .get("streams")
            .and_then(Value::as_array)
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if streams.is_empty() {
            findings.push(finding(
                "InvalidDataFlow",
                "A data flow must name at least one stream.".into(),
                target.clone(),
            ));
        }
        for stream in &streams {
            if !schemas.iter().any(|(n, _)| n == stream) {
                findings.push(finding(
                    "InvalidStream",
                    format!(
                        "'Streams' stream '{stream}' must be a custom stream declared in 'streamDeclarations'."
                    ),
                    target.clone(),
                ));
            }
        }
        let flow_dests: Vec<&str> = flow
            .get("destinations")
            .and_then(Value::as_array)
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if flow_dests.is_empty() {
            findings.push(finding(
                "InvalidDataFlow",
                "A data flow must name at least one destination.".into(),
                target.clone(),
            ));
        }
        for d in &flow_dests {
            if !dests.iter().any(|(n, _)| n == d) {
                findings.push(finding(
                    "InvalidDestination",
                    format!("Destination '{d}' is not defined in 'destinations'."),
                    target.clone(),
                ));
            }
        }
        match flow.get("outputStream").and_then(Value::as_str) {
            Some(out) if out.starts_with("Custom-") || out.starts_with("Microsoft-") => {}
            Some(out) => findings.push(finding(
                "InvalidOutputTable",
                format!("Output stream '{out}' must start with 'Custom-' or 'Microsoft-'."),
                target.clone(),
            )),
            None => findings.push(finding(
                "InvalidOutputTable",
                "A data flow of custom streams must name its 'outputStream'.".into(),
                target.clone(),
            )),
        }
        // The transformation must run over each of its streams.
        let query = transform_of(flow);
        for stream in &streams {
            if let Some((_, schema)) = schemas.iter().find(|(n, _)| n == stream)
                && let Err(e) = transform(query, Table::new("source", schema.clone()), now)
            {
                findings.push(finding(
                    "InvalidTransformQuery",
                    format!("The transformation query is invalid: {}", e.message),
                    format!("{target}.transformKql"),
                ));
            }
        }
    }
    if !findings.is_empty() {
        return Err(ArmError::InvalidDataCollectionRule(findings));
    }
    let kept = |key: &str| existing.and_then(|r| r.properties.get(key)).cloned();
    let immutable =
        kept("immutableId").unwrap_or_else(|| json!(format!("dcr-{}", Uuid::new_v4().simple())));
    let mut p = Map::new();
    p.insert("immutableId".into(), immutable);
    if kind.is_some_and(|k| k.eq_ignore_ascii_case("Direct")) {
        p.insert(
            "endpoints".into(),
            json!({"logsIngestion": base, "metricsIngestion": base}),
        );
    }
    for (k, v) in given {
        if !["immutableId", "endpoints", "provisioningState"].contains(&k.as_str()) {
            p.insert(k, v);
        }
    }
    p.insert("provisioningState".into(), json!("Succeeded"));
    Ok(p)
}

/// Fills a data collection endpoint's server-owned properties: every endpoint it names is
/// the emulator's base URL.
pub(crate) fn dce_properties(
    existing: Option<&Resource>,
    given: Map<String, Value>,
    base: &str,
) -> Map<String, Value> {
    let kept = |key: &str| existing.and_then(|r| r.properties.get(key)).cloned();
    let mut p = Map::new();
    p.insert(
        "immutableId".into(),
        kept("immutableId").unwrap_or_else(|| json!(format!("dce-{}", Uuid::new_v4().simple()))),
    );
    p.insert("configurationAccess".into(), json!({"endpoint": base}));
    p.insert("logsIngestion".into(), json!({"endpoint": base}));
    p.insert("metricsIngestion".into(), json!({"endpoint": base}));
    p.insert(
        "networkAcls".into(),
        json!({"publicNetworkAccess": "Enabled"}),
    );
    let owned = [
        "immutableId",
        "configurationAccess",
        "logsIngestion",
        "metricsIngestion",
        "provisioningState",
    ];
    for (k, v) in given {
        if !owned.contains(&k.as_str()) {
            p.insert(k, v);
        }
    }
    p.insert("provisioningState".into(), json!("Succeeded"));
    p
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
    State(state): State<AppState>,
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
    let claims = bearer_claims(state, headers, now, |aud| {
        audience_matches(aud, &MONITOR_INGESTION, &[])
    })
    .map_err(|e| match e {
        AuthFailure::Missing => IngestionError::MissingAuthorization,
        AuthFailure::Malformed | AuthFailure::Invalid(_) => IngestionError::InvalidToken,
        AuthFailure::WrongAudience(aud) => IngestionError::WrongAudience(aud),
    })?;
    let caller = caller_of(&claims).ok_or(IngestionError::InvalidToken)?;
    let (dcr_id, schema, routes) = {
        let arm = state.arm.read();
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
    if !super::allowed(
        state,
        &caller,
        &dcr_id,
        INGEST_ACTION,
        true,
        Plane::Metrics,
        now,
    ) {
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
                let mut store = state.monitor.write();
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

    #[test]
    fn output_streams_name_tables() {
        assert_eq!(output_table("Custom-App_CL"), "App_CL");
        assert_eq!(output_table("Microsoft-Syslog"), "Syslog");
        assert_eq!(output_table("Plain"), "Plain");
    }

    #[test]
    fn long_strings_are_cut_at_a_char_boundary() {
        let mut row = Map::new();
        row.insert("s".into(), json!("é".repeat(MAX_FIELD_BYTES)));
        cut_long_strings(&mut row);
        let s = row["s"].as_str().expect("string");
        assert!(s.len() <= MAX_FIELD_BYTES && s.len() > MAX_FIELD_BYTES - 2);
    }

    #[test]
    fn transformations_run_over_source() {
        let mut t = Table::new("x", vec![Column::new("n", ColumnType::Long)]);
        t.push_row(vec![kql::Value::Long(1)]).expect("row");
        t.push_row(vec![kql::Value::Long(5)]).expect("row");
        let now = OffsetDateTime::UNIX_EPOCH;
        let out =
            transform("source | where n > 2 | extend m = n * 2", t.clone(), now).expect("runs");
        assert_eq!(out.row_count(), 1);
        assert_eq!(out.columns().len(), 2);
        assert_eq!(
            transform("source", t.clone(), now).map(|t| t.row_count()),
            Ok(2)
        );
        assert!(transform("source | where nope > 1", t, now).is_err());
    }

    #[test]
    fn rules_are_validated() {
        let store = ArmStore::default();
        let props = json!({
            "streamDeclarations": {"Custom-In": {"columns": [{"name": "n", "type": "long"}]}},
            "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": "/nope"}]},
            "dataFlows": [{"streams": ["Custom-Other"], "destinations": ["x"], "transformKql": "source | where zz > 1"}]
        });
        let Err(ArmError::InvalidDataCollectionRule(findings)) = dcr_properties(
            &store,
            None,
            props.as_object().cloned().unwrap_or_default(),
            None,
            "http://e",
            OffsetDateTime::UNIX_EPOCH,
        ) else {
            panic!("invalid rule accepted");
        };
        let codes: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            codes,
            [
                "InvalidDestination",
                "InvalidStream",
                "InvalidDestination",
                "InvalidOutputTable"
            ]
        );
        let bad_type = json!({"streamDeclarations": {"Custom-In": {"columns": [{"name": "n", "type": "float"}]}}});
        assert!(
            dcr_properties(
                &store,
                None,
                bad_type.as_object().cloned().unwrap_or_default(),
                None,
                "http://e",
                OffsetDateTime::UNIX_EPOCH
            )
            .is_err()
        );
    }
}

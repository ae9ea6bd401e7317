//! The Log Analytics query API: `GET|POST /v1/workspaces/{customerId}/query`, running the
//! KQL engine over the workspace's tables. The query runner here also serves Application
//! Insights, whose query endpoint behaves the same over a component's tables.

use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Body;
use axum::extract::{OriginalUri, Path};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::decorate;
use super::{BodyError, QueryError};
use crate::first_party::audience_matches;
use crate::first_party::{KnownResource, LOG_ANALYTICS};
use crate::http::bearer::{AuthFailure, Bearer};
use crate::http::request_base;
use crate::kql::{
    self, CancelFlag, Cut, KqlError, KqlErrorKind, Limits, Queries, QueryContext, Table,
};
use crate::rbac::Plane;
use crate::services::AppState;
use crate::telemetry::Tables;
use crate::telemetry::timespan::{self, Interval};
use crate::telemetry::workspace_schema::{rule_tables, workspace_catalog};

/// The action the query API checks on the workspace (granted by `*/read`: Reader, Log
/// Analytics Reader, Monitoring Reader, Log Analytics Data Reader…).
pub(crate) const QUERY_ACTION: &str = "Microsoft.OperationalInsights/workspaces/query/read";

/// Largest request body read (see the catalog).
const MAX_BODY: usize = crate::catalog::Api::LogsQuery.body_limit();

/// Most workspaces one query may span (the `workspaces` property); the service documents
/// 100 for cross-resource queries.
const MAX_WORKSPACES: usize = 100;

/// How long a query may run without `Prefer: wait`, and the longest `wait` honoured: 3 and
/// 10 minutes (learn.microsoft.com/azure/azure-monitor/logs/api/timeouts).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);
/// See [`DEFAULT_TIMEOUT`].
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Most bytes of rows one answer carries before the rest is cut with a partial error:
/// 64,000,000 bytes, the documented "maximum size of data returned" of the query API before
/// the limit was restated for compressed answers (MicrosoftDocs/azure-docs,
/// includes/azure-monitor-limits-log-queries.md; a third-party client's tests quote an
/// answer naming the same figure). The emulator measures the JSON text of the rows.
pub(crate) const MAX_RESULT_BYTES: usize = 64_000_000;

/// A query request, from the URL (GET) or the JSON body (POST).
#[derive(Debug, Default)]
pub(crate) struct QueryRequest {
    pub(crate) query: String,
    /// `timespan` of the URL and of the body, intersected.
    pub(crate) range: Option<Interval>,
    /// Extra workspaces (`workspaces` property).
    pub(crate) workspaces: Vec<String>,
}

/// `Prefer` options that change the answer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prefer {
    pub(crate) statistics: bool,
    pub(crate) render: bool,
    pub(crate) wait: Option<u32>,
}

impl Prefer {
    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let mut prefer = Prefer::default();
        for value in headers.get_all("prefer") {
            for item in value.to_str().unwrap_or_default().split(',') {
                let (key, val) = item.split_once('=').unwrap_or((item, ""));
                match key.trim().to_ascii_lowercase().as_str() {
                    "include-statistics" => {
                        prefer.statistics = val.trim().eq_ignore_ascii_case("true");
                    }
                    "include-render" => {
                        prefer.render = val.trim().eq_ignore_ascii_case("true");
                    }
                    // A longer wait is honoured up to the maximum, and reported as applied
                    // at the maximum.
                    "wait" => {
                        let most = u32::try_from(MAX_TIMEOUT.as_secs()).unwrap_or(u32::MAX);
                        prefer.wait = val.trim().parse::<u32>().ok().map(|w| w.min(most));
                    }
                    _ => {}
                }
            }
        }
        prefer
    }

    /// How long the query may run: `wait` seconds, else [`DEFAULT_TIMEOUT`].
    pub(crate) fn timeout(self) -> Duration {
        self.wait
            .map_or(DEFAULT_TIMEOUT, |w| Duration::from_secs(u64::from(w)))
    }

    /// The `Preference-Applied` header value, when any preference was honoured.
    fn applied(self) -> Option<String> {
        let mut parts = Vec::new();
        if self.statistics {
            parts.push("include-statistics=true".to_owned());
        }
        // A guess, as for statistics: the recordings do not keep this header.
        if self.render {
            parts.push("include-render=true".to_owned());
        }
        if let Some(w) = self.wait {
            parts.push(format!("wait={w}"));
        }
        (!parts.is_empty()).then(|| parts.join(","))
    }
}

impl From<AuthFailure> for QueryError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Missing => QueryError::MissingAuthorization,
            AuthFailure::Malformed | AuthFailure::Empty => QueryError::MalformedAuthorization,
            AuthFailure::Invalid { .. } => QueryError::InvalidToken,
            AuthFailure::WrongAudience(_) => QueryError::WrongAudience,
        }
    }
}

/// The caller's object id, from a token for `resource` (or the emulator's own base URL).
pub(crate) fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    resource: &KnownResource,
) -> Result<Uuid, QueryError> {
    let base = request_base(state, headers);
    let bases = [base.as_str(), state.base_url.as_str()];
    Ok(Bearer::of(state, headers).caller(|aud| audience_matches(aud, resource, &bases))?)
}

fn parse_range(text: &str, now: OffsetDateTime) -> Result<Interval, QueryError> {
    timespan::parse_interval(text, now).ok_or_else(|| {
        // Wording is a guess: the service's text for a bad timespan was not found.
        QueryError::Validation(format!(
            "The 'timespan' value '{text}' is not a valid ISO 8601 duration or interval"
        ))
    })
}

/// Reads a query request: `?query=&timespan=` for GET; a JSON body (and an optional
/// `?timespan=`) for POST. `Ok(None)` is a POST without a JSON body or content type, which
/// the service answers with an empty 200.
pub(crate) async fn read_request(
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
    now: OffsetDateTime,
) -> Result<Option<QueryRequest>, QueryError> {
    let mut request = QueryRequest::default();
    let mut url_query = None;
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "timespan" if request.range.is_none() => request.range = Some(parse_range(&v, now)?),
            "query" if url_query.is_none() => url_query = Some(v.into_owned()),
            _ => {}
        }
    }
    if *method == Method::GET {
        request.query = url_query
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| QueryError::Validation("'query' property is required".into()))?;
        return Ok(Some(request));
    }
    let bytes = read_query_body(body, headers).await?;
    if !super::is_json(headers) || bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|e| QueryError::InvalidJsonBody(e.to_string()))?;
    body_request(&body, request.range, now).map(Some)
}

/// The bytes of a query (or batch) body, within [`MAX_BODY`], in the query API's errors.
pub(crate) async fn read_query_body(
    body: Body,
    headers: &HeaderMap,
) -> Result<axum::body::Bytes, QueryError> {
    super::read_body(body, headers, MAX_BODY)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => QueryError::BodyTooLarge(MAX_BODY),
            BodyError::UnsupportedEncoding(enc) => {
                QueryError::Validation(format!("Content-Encoding '{enc}' is not supported"))
            }
            BodyError::BadGzip | BodyError::Read => {
                QueryError::InvalidJsonBody("The request body could not be read".into())
            }
        })
}

/// The `customerId` of a workspace named by GUID or by ARM resource id (names are not
/// resolved: the service also takes them, the emulator does not model them).
pub(crate) fn workspace_customer_id(arm: &crate::resources::ArmStore, w: &str) -> Option<Uuid> {
    Uuid::parse_str(w).ok().or_else(|| {
        arm.resource(w)
            .filter(|r| {
                r.resource_type
                    .eq_ignore_ascii_case(crate::resources::WORKSPACE_TYPE)
            })
            .and_then(|r| r.properties.get("customerId"))
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    })
}

/// A query request from a JSON body (of a POST, or of a batch item); `url_range` is the
/// URL's `timespan`, intersected with the body's.
pub(crate) fn body_request(
    body: &Value,
    url_range: Option<Interval>,
    now: OffsetDateTime,
) -> Result<QueryRequest, QueryError> {
    let mut request = QueryRequest {
        range: url_range,
        ..QueryRequest::default()
    };
    let Value::Object(body) = body else {
        return Err(QueryError::InvalidJsonBody(
            "The request body must be a JSON object".into(),
        ));
    };
    // The message names the property as the service's "'id' property is required" does;
    // the exact texts for these checks are guesses.
    request.query = match optional_string(body, "query")? {
        Some(q) if !q.trim().is_empty() => q.to_owned(),
        _ => {
            return Err(QueryError::Validation(
                "'query' property is required".into(),
            ));
        }
    };
    if let Some(t) = optional_string(body, "timespan")? {
        let range = parse_range(t, now)?;
        request.range = Some(match request.range {
            Some(url) => timespan::intersect(url, range),
            None => range,
        });
    }
    let not_strings =
        || QueryError::Validation("'workspaces' property must be an array of strings".into());
    match body.get("workspaces") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_WORKSPACES {
                return Err(QueryError::Validation(format!(
                    "A query can reference at most {MAX_WORKSPACES} workspaces"
                )));
            }
            for item in items {
                let w = item.as_str().ok_or_else(not_strings)?;
                request.workspaces.push(w.to_owned());
            }
        }
        Some(_) => return Err(not_strings()),
    }
    Ok(request)
}

/// The string property `name` of a request body; absent or null is `None`.
fn optional_string<'a>(
    body: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, QueryError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(QueryError::Validation(format!(
            "'{name}' property must be a string"
        ))),
    }
}

/// Tables of several sources merged by name: same-named tables are concatenated into the
/// first one's schema (columns the first lacks are dropped — a simplification of KQL's
/// `union`, which would widen the schema).
pub(crate) fn merge_catalogs<'a>(sources: impl Iterator<Item = &'a Tables>) -> Tables {
    let mut merged = Tables::new();
    for tables in sources {
        for (name, table) in tables {
            match merged.get_mut(name) {
                None => {
                    merged.insert(name.clone(), table.clone());
                }
                Some(existing) => {
                    // Same column names with other types cannot be stored; such rows are
                    // left out rather than failing the query.
                    let _ = existing.append_table(table);
                }
            }
        }
    }
    merged
}

/// What a query runs over.
pub(crate) struct Run {
    pub(crate) query: String,
    pub(crate) catalog: Tables,
    pub(crate) now: OffsetDateTime,
    pub(crate) range: Option<Interval>,
    pub(crate) time_column: &'static str,
    pub(crate) prefer: Prefer,
    pub(crate) row_limit: usize,
    /// The server's running queries (absent when the router runs without a server).
    pub(crate) queries: Option<Queries>,
}

/// The running queries the server hands every request (see `Server::run`).
pub(crate) type QueriesExt = Option<Extension<Queries>>;

/// Raises a query's cancel flag when dropped. The handler holds one while it waits for
/// the query: when the client leaves, hyper drops the handler's future, and the query
/// stops at its next check instead of running on.
struct CancelOnDrop(CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs a query off the async workers and renders the service's answer: `tables`, plus
/// `statistics` when asked for, plus a `PartialError` when the result was cut at a limit
/// or the query ran out of memory. The query stops at its deadline (504), when the client
/// leaves, and when the server shuts down.
pub(crate) async fn execute(run: Run) -> Response {
    let prefer = run.prefer;
    let deadline = Instant::now() + prefer.timeout();
    let flag = CancelFlag::new();
    let _cancel_on_drop = CancelOnDrop(flag.clone());
    let registered = run.queries.as_ref().map(|q| q.register(flag.clone()));
    let limits = Limits {
        deadline: Some(deadline),
        cancel: Some(flag.clone()),
        ..Limits::default()
    };
    let task = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut ctx = QueryContext {
            now: run.now,
            time_range: None,
            time_column: run.time_column,
            limits,
        };
        if let Some((start, end)) = run.range {
            ctx = ctx.with_time_range(start, end);
        }
        tracing::debug!(query_bytes = run.query.len(), "query running");
        let result = kql::run(&run.query, &run.catalog, &ctx);
        if let (Err(e), Some(r)) = (&result, &registered)
            && e.kind == KqlErrorKind::Cancelled
        {
            r.mark_cancelled();
        }
        drop(registered);
        let scanned: usize = run.catalog.values().map(Table::row_count).sum();
        match result {
            Ok(table) => Ok(render(table, run.row_limit, prefer, started, scanned)),
            Err(e) if e.kind == KqlErrorKind::Runaway => Ok(runaway(&e, prefer, started, scanned)),
            Err(e) => Err(e),
        }
    });
    let outcome = match tokio::time::timeout_at(deadline.into(), task).await {
        Ok(joined) => joined,
        Err(_) => {
            // The evaluator stops at its next check; the client need not wait for it.
            flag.cancel();
            return limit_error(&KqlError::timeout());
        }
    };
    let mut response = match outcome {
        Ok(Ok(body)) => super::json_response(StatusCode::OK, &body),
        Ok(Err(e)) if e.is_limit() => return limit_error(&e),
        Ok(Err(e)) => return QueryError::BadQuery(e).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "query task failed");
            return crate::monitor::json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": {
                    "message": "Unexpected error occurred",
                    "code": "InternalServerFault",
                    "correlationId": Uuid::new_v4(),
                }}),
            );
        }
    };
    if let Some(applied) = prefer.applied()
        && let Ok(v) = HeaderValue::from_str(&applied)
    {
        response.headers_mut().insert("preference-applied", v);
    }
    decorate(&mut response);
    response
}

fn render(
    table: Table,
    row_limit: usize,
    prefer: Prefer,
    started: Instant,
    scanned: usize,
) -> Value {
    render_within(table, row_limit, MAX_RESULT_BYTES, prefer, started, scanned)
}

fn render_within(
    table: Table,
    row_limit: usize,
    max_bytes: usize,
    prefer: Prefer,
    started: Instant,
    scanned: usize,
) -> Value {
    let (rendered, cut) = table.to_api_json_within(row_limit, max_bytes);
    let error = cut.map(|cut| match cut {
        Cut::Records => truncated(cut, row_limit),
        Cut::Size => truncated(cut, max_bytes),
    });
    answer(rendered, error, prefer, started, scanned)
}

/// The answer to a query that ran out of memory: an empty `PrimaryResult` and a
/// `PartialError` naming the operator and the budget (the service answers 200 with the
/// error beside the rows it has; whether it keeps a table when there are none is a guess).
fn runaway(e: &KqlError, prefer: Prefer, started: Instant, scanned: usize) -> Value {
    let empty = Table::new("PrimaryResult", Vec::new()).to_api_json();
    let error = partial_error(&e.code, &e.message);
    answer(empty, Some(error), prefer, started, scanned)
}

/// `{"tables":[table], "statistics"?, "error"?}`.
fn answer(
    table: Value,
    error: Option<Value>,
    prefer: Prefer,
    started: Instant,
    scanned: usize,
) -> Value {
    let mut body = Map::new();
    let size = table.to_string().len();
    let rows = table["rows"].as_array().map_or(0, Vec::len);
    body.insert("tables".into(), json!([table]));
    if prefer.statistics {
        body.insert(
            "statistics".into(),
            statistics(started.elapsed().as_secs_f64(), scanned, rows, size),
        );
    }
    if prefer.render {
        body.insert("render".into(), render_properties());
    }
    if let Some(error) = error {
        body.insert("error".into(), error);
    }
    Value::Object(body)
}

/// The `render` object of a query without a `render` operator (the only kind the emulator
/// runs): every visualization property unset, as the service answers
/// (fixtures/azure/py_monitor_query_logs_render.json).
fn render_properties() -> Value {
    json!({
        "visualization": null, "title": null, "accumulate": false, "isQuerySorted": false,
        "kind": null, "legend": null, "series": null, "yMin": "NaN", "yMax": "NaN",
        "xAxis": null, "xColumn": null, "xTitle": null, "yAxis": null, "yColumns": null,
        "ySplit": null, "yTitle": null, "anomalyColumns": null
    })
}

/// A `PartialError` carrying one engine error with the (signed 32-bit) Kusto error `code`
/// and `message`, in the shape of the service's answers (grafana/grafana,
/// pkg/tsdb/azuremonitor/testdata/loganalytics/9-log-analytics-response-error.json, a
/// recorded answer; Azure/Azure-Sentinel issue #13143 quotes another).
fn partial_error(code: &str, message: &str) -> Value {
    json!({
        "code": "PartialError",
        "message": "There were some errors when processing your query.",
        "details": [{
            "code": "EngineError",
            "message": "Something went wrong processing your query on the server.",
            "innererror": {
                "code": code,
                "message": message,
                "severity": 2,
                "severityName": "Error",
            },
        }],
    })
}

/// The `PartialError` of a result cut at the record limit (`limit` records) or at the size
/// limit (`limit` bytes). Code `E_QUERY_RESULT_SET_TOO_LARGE` (0x80DA0003) as a signed
/// number. The record message is a recorded answer's, word for word (Azure/azure-sdk-for-net,
/// sdk/monitor/Azure.Monitor.Query/tests/SessionRecords/LogsQueryClientClientLiveTests/
/// CanQueryPartialSuccess.json, kept in fixtures/azure/net_monitor_query_logs_partial_success.json:
/// "Query result set has exceeded the internal record count limit 1 (E_QUERY_RESULT_SET_TOO_LARGE;
/// see https://aka.ms/kustoquerylimits)"). The size message is Kusto's documented one ("Query
/// result set has exceeded the internal data size limit 67108864 (E_QUERY_RESULT_SET_TOO_LARGE).",
/// MicrosoftDocs/dataexplorer-docs, query-limits.md) with Log Analytics' limit and the same
/// tail as the record message (a guess: no capture of it was found).
fn truncated(cut: Cut, limit: usize) -> Value {
    let what = match cut {
        Cut::Records => "record count",
        Cut::Size => "data size",
    };
    partial_error(
        "-2133196797",
        &format!(
            "Query result set has exceeded the internal {what} limit {limit} (E_QUERY_RESULT_SET_TOO_LARGE; see https://aka.ms/kustoquerylimits)"
        ),
    )
}

/// The answer to a query stopped by its deadline or cancelled.
///
/// A time-out is the service's 504 `GatewayTimeout`
/// (learn.microsoft.com/azure/azure-monitor/logs/api/timeouts gives the status; the Azure
/// SDKs' troubleshooting guides, e.g. Azure/azure-sdk-for-net
/// sdk/monitor/Azure.Monitor.Query/TroubleshootingGuide.md, show the error: code
/// `GatewayTimeout`, message `Gateway timeout`, inner error `GatewayTimeout` / `Unable to
/// unzip response`). A gateway error, so written code first.
///
/// A cancelled query has no counterpart in the service (its client left, or the emulator is
/// shutting down): 503 with a body of the same shape (a guess; whoever reads it is leaving).
fn limit_error(e: &KqlError) -> Response {
    let (status, body) = match e.kind {
        KqlErrorKind::Timeout => (
            StatusCode::GATEWAY_TIMEOUT,
            json!({"error": {
                "code": "GatewayTimeout",
                "message": "Gateway timeout",
                "innererror": {"code": "GatewayTimeout", "message": "Unable to unzip response"},
            }}),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": {
                "code": "ServiceUnavailable",
                "message": "The query was cancelled: its client left or the emulator is shutting down.",
                "innererror": {"code": e.code, "message": e.message},
            }}),
        ),
    };
    let mut response = super::json_response(status, &body);
    decorate(&mut response);
    response
}

/// The `statistics` object in the recorded shape. The emulator measures the execution time
/// and counts rows; cache, CPU, memory and network figures have no counterpart and are 0.
fn statistics(seconds: f64, scanned: usize, rows: usize, size: usize) -> Value {
    let zero_time = "0001-01-01T00:00:00.0000000Z";
    json!({"query": {
        "executionTime": seconds,
        "resourceUsage": {
            "cache": {
                "memory": {"hits": 0, "misses": 0, "total": 0},
                "disk": {"hits": 0, "misses": 0, "total": 0},
                "shards": {
                    "hot": {"hitbytes": 0, "missbytes": 0, "retrievebytes": 0},
                    "cold": {"hitbytes": 0, "missbytes": 0, "retrievebytes": 0},
                    "bypassbytes": 0
                }
            },
            "cpu": {"user": "00:00:00", "kernel": "00:00:00", "totalCpu": "00:00:00"},
            "memory": {"peakPerNode": 0},
            "network": {"interClusterTotalBytes": 0, "crossClusterTotalBytes": 0}
        },
        "inputDatasetStatistics": {
            "extents": {"total": 0, "scanned": 0, "scannedMinDatetime": zero_time, "scannedMaxDatetime": zero_time},
            "rows": {"total": scanned, "scanned": scanned},
            "rowstores": {"scannedRows": 0, "scannedValuesSize": 0},
            "shards": {"queriesGeneric": 0, "queriesSpecialized": 0}
        },
        "datasetStatistics": [{"tableRowCount": rows, "tableSize": size}],
        "crossClusterResourceUsage": {}
    }})
}

/// An empty answer with the query APIs' headers (200 for a POST without a JSON body).
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = status.into_response();
    decorate(&mut response);
    response
}

/// `GET|POST /v1/workspaces/{workspaceId}/query`.
pub(crate) async fn query(
    state: AppState,
    queries: QueriesExt,
    method: Method,
    Path(workspace): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A workspace name instead of its GUID is not a path the API serves.
    let named = Uuid::parse_str(&workspace)
        .map(Named::Workspace)
        .map_err(|_| QueryError::WorkspaceNotFound);
    serve(&state, queries, method, named, &uri, &headers, body).await
}

/// `GET|POST /v1/{resourceId}/query` (the resource-centric query: a workspace or an
/// Application Insights component by ARM id), and the query service's 404 for any other path
/// under `/v1/`.
pub(crate) async fn resource_query(
    state: AppState,
    queries: QueriesExt,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let named = crate::catalog::logs_query_resource(uri.path())
        .map(Named::Resource)
        .ok_or(QueryError::PathNotFound);
    serve(&state, queries, method, named, &uri, &headers, body).await
}

/// What a query path names, as read from the path alone.
enum Named<'a> {
    /// A workspace, by `customerId`.
    Workspace(Uuid),
    /// A workspace or a component, by ARM id (see [`resource_target`]).
    Resource(&'a str),
}

/// What a query runs over, before access is checked.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A workspace, by `customerId`.
    Workspace(Uuid),
    /// An Application Insights component: its ARM id and `AppId`.
    Component { scope: String, app_id: Uuid },
}

/// The target a resource id names. A resource that is neither a workspace nor a component,
/// or does not exist, is the service's 404 (a guess: its answer for these was not found;
/// an unknown workspace GUID is a 404 `PathNotFoundError`).
fn resource_target(state: &AppState, resource: &str) -> Result<Target, QueryError> {
    let arm = state.arm();
    let found = arm
        .resource(resource)
        .ok_or(QueryError::WorkspaceNotFound)?;
    let id_property = |name: &str| {
        found
            .properties
            .get(name)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    if found
        .resource_type
        .eq_ignore_ascii_case(crate::resources::WORKSPACE_TYPE)
    {
        id_property("customerId")
            .map(Target::Workspace)
            .ok_or(QueryError::WorkspaceNotFound)
    } else if found
        .resource_type
        .eq_ignore_ascii_case(crate::resources::COMPONENT_TYPE)
    {
        let scope = found.id.clone();
        id_property("AppId")
            .map(|app_id| Target::Component { scope, app_id })
            .ok_or(QueryError::WorkspaceNotFound)
    } else {
        Err(QueryError::WorkspaceNotFound)
    }
}

/// A checked query: the tables it may read and the column its time range applies to.
pub(crate) struct Prepared {
    pub(crate) catalog: Tables,
    pub(crate) time_column: &'static str,
}

/// Finds the target's tables and checks that `caller` may query every workspace the request
/// spans. A workspace's tables are its stored ones, the ones its data collection rules write
/// to, and the standard tables (empty until rows arrive), so a query is resolved against
/// them whether or not data has arrived.
pub(crate) fn prepare(
    state: &AppState,
    caller: &Uuid,
    target: &Target,
    request: &QueryRequest,
    now: OffsetDateTime,
) -> Result<Prepared, QueryError> {
    let (primary, extra) = match target {
        Target::Component { scope, app_id } => {
            if !request.workspaces.is_empty() {
                // A guess: the service's answer for `workspaces` on a component was not found.
                return Err(QueryError::Validation(
                    "'workspaces' is not supported for an Application Insights resource".into(),
                ));
            }
            if !state.authorize(
                caller,
                scope,
                super::app_insights::QUERY_ACTION,
                false,
                Plane::LogAnalytics,
                now,
            ) {
                return Err(QueryError::InsufficientAccess);
            }
            let catalog =
                crate::telemetry::app_tables::catalog(state.telemetry().app_tables(app_id));
            return Ok(Prepared {
                catalog,
                time_column: "timestamp",
            });
        }
        Target::Workspace(primary) => (*primary, &request.workspaces),
    };
    let arm = state.arm();
    // An unknown workspace GUID is the service's 404 (azure-sdk-for-python issue #32798).
    let primary_scope = arm
        .workspace_by_customer_id(&primary)
        .map(|r| r.id.clone())
        .ok_or(QueryError::WorkspaceNotFound)?;
    let mut ids = vec![primary];
    let mut scopes = vec![primary_scope];
    for w in extra {
        let id = workspace_customer_id(&arm, w);
        // An unknown workspace cannot be told from one the caller may not read (a guess:
        // the service's answer for an unknown extra workspace was not captured).
        let id = id.ok_or(QueryError::InsufficientAccess)?;
        if ids.contains(&id) {
            continue;
        }
        let scope = arm
            .workspace_by_customer_id(&id)
            .ok_or(QueryError::InsufficientAccess)?
            .id
            .clone();
        ids.push(id);
        scopes.push(scope);
    }
    let rules: Vec<Tables> = scopes
        .iter()
        .map(|scope| rule_tables(&arm, scope, now))
        .collect();
    drop(arm);
    for scope in &scopes {
        if !state.authorize(caller, scope, QUERY_ACTION, false, Plane::LogAnalytics, now) {
            return Err(QueryError::InsufficientAccess);
        }
    }
    let store = state.telemetry();
    let catalogs: Vec<Tables> = ids
        .iter()
        .zip(rules)
        .map(|(id, rules)| workspace_catalog(store.workspace_tables(id), rules))
        .collect();
    drop(store);
    Ok(Prepared {
        catalog: merge_catalogs(catalogs.iter()),
        time_column: "TimeGenerated",
    })
}

/// Answers a query on what the path names: the method, the caller, the target, then the
/// request are checked, in that order.
async fn serve(
    state: &AppState,
    queries: QueriesExt,
    method: Method,
    named: Result<Named<'_>, QueryError>,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        // A path the API does not serve fails before the method and the caller are checked.
        let named = named?;
        if method != Method::GET && method != Method::POST {
            return Err(QueryError::PathNotFound);
        }
        let now = state.clock.now();
        let caller = authenticate(state, headers, &LOG_ANALYTICS)?;
        let target = match named {
            Named::Workspace(id) => Target::Workspace(id),
            Named::Resource(resource) => resource_target(state, resource)?,
        };
        let Some(request) = read_request(&method, uri, headers, body, now).await? else {
            return Ok(empty(StatusCode::OK));
        };
        let queries = queries.map(|Extension(q)| q);
        run_request(state, queries, &caller, &target, request, headers, now).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Checks the caller's access to `target`, then runs the request over its tables.
pub(crate) async fn run_request(
    state: &AppState,
    queries: Option<Queries>,
    caller: &Uuid,
    target: &Target,
    request: QueryRequest,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<Response, QueryError> {
    let prepared = prepare(state, caller, target, &request, now)?;
    Ok(execute(Run {
        query: request.query,
        catalog: prepared.catalog,
        now,
        range: request.range,
        time_column: prepared.time_column,
        prefer: Prefer::parse(headers),
        row_limit: state.config.query_row_limit,
        queries,
    })
    .await)
}

#[cfg(test)]
mod tests;

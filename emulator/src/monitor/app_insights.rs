//! The Application Insights REST API over a component's telemetry tables:
//! `GET|POST /v1/apps/{appId}/query` (the Log Analytics query runner, time column
//! `timestamp`), `GET /v1/apps/{appId}/metrics/{metricId}` and
//! `GET /v1/apps/{appId}/events/{eventType}[/{eventId}]`.
//!
//! Every component has the classic telemetry tables (`requests`, `dependencies`, `traces`,
//! `exceptions`, `customEvents`, `pageViews`, `availabilityResults`, `customMetrics`,
//! `performanceCounters`) with their classic columns; data arrives through the control API.
//! The API-key alternative (`x-api-key`) is not emulated.

use std::collections::{BTreeMap, HashSet};

use axum::body::Body;
use axum::extract::{OriginalUri, Path};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::QueryError;
use super::error::decorate;
use super::logs::{self, Prefer, Run};
use crate::first_party::APP_INSIGHTS;
use crate::http::request_base;
use crate::kql::{Table, Value as K};
use crate::rbac::Plane;
use crate::services::AppState;
use crate::telemetry::Tables;
use crate::telemetry::app_tables::{KINDS, Kind, catalog};
use crate::telemetry::timespan::{self, Interval};

/// The action the API checks on the component (granted by `*/read`: Reader, Monitoring
/// Reader…).
pub(crate) const QUERY_ACTION: &str = "Microsoft.Insights/components/query/read";

/// Authenticates, finds the component and checks the caller may query it; returns its
/// catalog.
fn open(
    state: &AppState,
    headers: &HeaderMap,
    app: &str,
    now: OffsetDateTime,
) -> Result<(Uuid, Tables), QueryError> {
    let caller = logs::authenticate(state, headers, &APP_INSIGHTS)?;
    let app_id = Uuid::parse_str(app).map_err(|_| QueryError::ApplicationNotFound)?;
    let scope = state
        .arm()
        .component_by_app_id(&app_id)
        .map(|r| r.id.clone())
        .ok_or(QueryError::ApplicationNotFound)?;
    if !state.authorize(
        &caller,
        &scope,
        QUERY_ACTION,
        false,
        Plane::AppInsights,
        now,
    ) {
        return Err(QueryError::InsufficientAccess);
    }
    let tables = catalog(state.telemetry().app_tables(&app_id));
    Ok((app_id, tables))
}

/// `GET|POST /v1/apps/{appId}/query`.
pub(crate) async fn query(
    state: AppState,
    queries: logs::QueriesExt,
    method: Method,
    Path(app): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        if method != Method::GET && method != Method::POST {
            return Err(QueryError::PathNotFound);
        }
        let now = state.clock.now();
        let (_, catalog) = open(&state, &headers, &app, now)?;
        let Some(request) = logs::read_request(&method, &uri, &headers, body, now).await? else {
            return Ok(logs::empty(StatusCode::OK));
        };
        if !request.workspaces.is_empty() {
            return Err(QueryError::Validation(
                "'workspaces' is not supported by the Application Insights API".into(),
            ));
        }
        Ok(logs::execute(Run {
            query: request.query,
            catalog,
            now,
            range: request.range,
            time_column: "timestamp",
            prefer: Prefer::parse(&headers),
            row_limit: state.config.query_row_limit,
            queries: queries.map(|axum::Extension(q)| q),
        })
        .await)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

fn query_params(uri: &axum::http::Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What a metric reads: table, which rows, which value, default aggregation.
struct MetricDef {
    table: &'static str,
    /// Only rows whose `success` is "False".
    failed_only: bool,
    value: MetricValue,
    default: &'static str,
}

enum MetricValue {
    /// `itemCount` of each row (a count).
    Count,
    /// A real column.
    Column(&'static str),
    /// 100 for a successful availability test, 0 otherwise.
    Availability,
    /// Distinct values of a string column.
    Unique(&'static str),
    /// `customMetrics` rows of one name: valueSum / valueCount / valueMin / valueMax.
    Custom(String),
}

fn metric_def(id: &str) -> Option<MetricDef> {
    use MetricValue::*;
    let def = |table, failed_only, value, default| MetricDef {
        table,
        failed_only,
        value,
        default,
    };
    if let Some(name) = id.strip_prefix("customMetrics/") {
        return Some(def("customMetrics", false, Custom(name.to_owned()), "avg"));
    }
    Some(match id {
        "requests/count" => def("requests", false, Count, "sum"),
        "requests/duration" => def("requests", false, Column("duration"), "avg"),
        "requests/failed" => def("requests", true, Count, "sum"),
        "dependencies/count" => def("dependencies", false, Count, "sum"),
        "dependencies/duration" => def("dependencies", false, Column("duration"), "avg"),
        "dependencies/failed" => def("dependencies", true, Count, "sum"),
        "exceptions/count" => def("exceptions", false, Count, "sum"),
        "traces/count" => def("traces", false, Count, "sum"),
        "customEvents/count" => def("customEvents", false, Count, "sum"),
        "pageViews/count" => def("pageViews", false, Count, "sum"),
        "pageViews/duration" => def("pageViews", false, Column("duration"), "avg"),
        "availabilityResults/count" => def("availabilityResults", false, Count, "sum"),
        "availabilityResults/duration" => {
            def("availabilityResults", false, Column("duration"), "avg")
        }
        "availabilityResults/availabilityPercentage" => {
            def("availabilityResults", false, Availability, "avg")
        }
        "users/count" => def("requests", false, Unique("user_Id"), "unique"),
        "sessions/count" => def("requests", false, Unique("session_Id"), "unique"),
        _ => return None,
    })
}

/// Running totals of one interval.
#[derive(Default)]
struct Acc {
    sum: f64,
    count: f64,
    min: Option<f64>,
    max: Option<f64>,
    unique: HashSet<String>,
}

impl Acc {
    fn add(&mut self, sum: f64, count: f64, min: f64, max: f64) {
        self.sum += sum;
        self.count += count;
        self.min = Some(self.min.map_or(min, |m| m.min(min)));
        self.max = Some(self.max.map_or(max, |m| m.max(max)));
    }

    fn get(&self, agg: &str, value: &MetricValue) -> Value {
        let counts = matches!(value, MetricValue::Count);
        match agg {
            "sum" => json!(self.sum),
            "count" => json!(self.count),
            "avg" if counts => json!(self.sum),
            "avg" if self.count > 0.0 => json!(self.sum / self.count),
            "min" => self.min.map_or(Value::Null, |m| json!(m)),
            "max" => self.max.map_or(Value::Null, |m| json!(m)),
            "unique" => json!(self.unique.len()),
            _ => Value::Null,
        }
    }
}

/// `GET /v1/apps/{appId}/metrics/{metricId}`.
pub(crate) async fn metric(
    state: AppState,
    method: Method,
    Path((app, metric_id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let result = (|| {
        if method != Method::GET {
            return Err(QueryError::PathNotFound);
        }
        let now = state.clock.now();
        let (_, catalog) = open(&state, &headers, &app, now)?;
        let params = query_params(&uri);
        for unsupported in ["segment", "filter", "$filter", "top", "orderby", "$orderby"] {
            if param(&params, unsupported).is_some() {
                // An emulator limit, not a service answer.
                return Err(QueryError::Validation(format!(
                    "The '{unsupported}' parameter is not supported by the emulator"
                )));
            }
        }
        // Wording is a guess.
        let def = metric_def(&metric_id).ok_or_else(|| {
            QueryError::Validation(format!(
                "The metric '{metric_id}' is not a supported metric"
            ))
        })?;
        let range = match param(&params, "timespan") {
            Some(t) => timespan::parse_interval(t, now).ok_or_else(|| {
                QueryError::Validation(format!("The 'timespan' value '{t}' is not valid"))
            })?,
            None => (now - Duration::hours(12), now),
        };
        let interval = match param(&params, "interval") {
            None => None,
            Some(i) => Some(
                timespan::parse_duration(i)
                    .filter(|d| *d >= Duration::minutes(1))
                    .ok_or_else(|| {
                        QueryError::Validation(format!("The 'interval' value '{i}' is not valid"))
                    })?,
            ),
        };
        let aggregations: Vec<String> = match param(&params, "aggregation") {
            None => vec![def.default.to_owned()],
            Some(list) => list
                .split(',')
                .map(|a| a.trim().to_ascii_lowercase())
                .collect(),
        };
        for a in &aggregations {
            let ok = match def.value {
                MetricValue::Unique(_) => a == "unique",
                _ => ["sum", "avg", "count", "min", "max"].contains(&a.as_str()),
            };
            if !ok {
                return Err(QueryError::Validation(format!(
                    "The aggregation '{a}' is not supported by metric '{metric_id}'"
                )));
            }
        }
        if let Some(step) = interval
            && (range.1 - range.0).whole_seconds() / step.whole_seconds().max(1) > 10_000
        {
            return Err(QueryError::Validation(
                "The timespan holds more than 10000 intervals".into(),
            ));
        }
        let table = &catalog[def.table];
        let accs = accumulate(table, &def, range, interval)?;
        let render_acc = |acc: &Acc| {
            let mut values = Map::new();
            for a in &aggregations {
                values.insert(a.clone(), acc.get(a, &def.value));
            }
            Value::Object(values)
        };
        let mut value = Map::new();
        value.insert("start".into(), json!(timespan::format_millis(range.0)));
        value.insert("end".into(), json!(timespan::format_millis(range.1)));
        match interval {
            None => {
                let empty = Acc::default();
                let acc = accs.get(&0).unwrap_or(&empty);
                value.insert(metric_id.clone(), render_acc(acc));
            }
            Some(step) => {
                value.insert("interval".into(), json!(timespan::format_duration(step)));
                let mut segments = Vec::new();
                let mut t = range.0;
                let mut i = 0i64;
                let empty = Acc::default();
                while t < range.1 {
                    let next = t.checked_add(step).map_or(range.1, |n| n.min(range.1));
                    let acc = accs.get(&i).unwrap_or(&empty);
                    segments.push(json!({
                        "start": timespan::format_millis(t),
                        "end": timespan::format_millis(next),
                        metric_id.clone(): render_acc(acc),
                    }));
                    t = next;
                    i += 1;
                }
                value.insert("segments".into(), Value::Array(segments));
            }
        }
        let mut response = super::json_response(StatusCode::OK, &json!({ "value": value }));
        decorate(&mut response);
        Ok(response)
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

fn accumulate(
    table: &Table,
    def: &MetricDef,
    range: Interval,
    interval: Option<Duration>,
) -> Result<BTreeMap<i64, Acc>, QueryError> {
    let col = |name: &str| table.column_index(name);
    let Some(ts) = col("timestamp") else {
        return Ok(BTreeMap::new());
    };
    let success = col("success");
    let name_col = col("name");
    let mut accs: BTreeMap<i64, Acc> = BTreeMap::new();
    for r in 0..table.row_count() {
        let Some(t) = table.value(r, ts).and_then(|v| v.as_datetime()) else {
            continue;
        };
        if t < range.0 || t >= range.1 {
            continue;
        }
        let text = |c: Option<usize>| {
            c.and_then(|c| table.value(r, c))
                .map(|v| v.to_kql_string())
                .unwrap_or_default()
        };
        let succeeded = text(success).eq_ignore_ascii_case("true");
        if def.failed_only && (succeeded || text(success).is_empty()) {
            continue;
        }
        let number = |name: &str| match col(name).and_then(|c| table.value(r, c)) {
            Some(K::Real(x)) => Some(x),
            Some(K::Long(x)) => Some(x as f64),
            Some(K::Int(x)) => Some(f64::from(x)),
            _ => None,
        };
        let bucket = interval.map_or(0, |step| {
            (t - range.0).whole_seconds() / step.whole_seconds().max(1)
        });
        let acc = accs.entry(bucket).or_default();
        let items = number("itemCount").unwrap_or(1.0);
        match &def.value {
            MetricValue::Count => acc.add(items, items, items, items),
            MetricValue::Column(c) => {
                if let Some(x) = number(c) {
                    acc.add(x * items, items, x, x);
                }
            }
            MetricValue::Availability => {
                let x = if succeeded { 100.0 } else { 0.0 };
                acc.add(x * items, items, x, x);
            }
            MetricValue::Unique(c) => {
                let v = text(col(c));
                if !v.is_empty() {
                    acc.unique.insert(v);
                }
            }
            MetricValue::Custom(name) => {
                if !text(name_col).eq_ignore_ascii_case(name) {
                    continue;
                }
                let v = number("value").unwrap_or(0.0);
                let sum = number("valueSum").unwrap_or(v);
                let count = number("valueCount").unwrap_or(1.0);
                let min = number("valueMin").unwrap_or(v);
                let max = number("valueMax").unwrap_or(v);
                acc.add(sum, count, min, max);
            }
        }
    }
    Ok(accs)
}

/// One row of a classic table as the events API renders it.
fn event(kind: &Kind, table: &Table, r: usize) -> Value {
    let get = |name: &str| -> Value {
        let Some(c) = table.column_index(name) else {
            return Value::Null;
        };
        match table.value(r, c) {
            None | Some(K::Null) => Value::Null,
            Some(K::Dynamic(d)) => (*d).clone(),
            Some(K::DateTime(t)) => K::DateTime(t)
                .as_datetime()
                .map_or(Value::Null, |t| json!(timespan::format_millis(t))),
            Some(v) => v.to_api_json(),
        }
    };
    let pick = |names: &[(&str, &str)]| -> Value {
        Value::Object(
            names
                .iter()
                .map(|(k, c)| ((*k).to_owned(), get(c)))
                .collect(),
        )
    };
    let specific = match kind.event {
        "trace" => pick(&[("message", "message"), ("severityLevel", "severityLevel")]),
        "request" => pick(&[
            ("id", "id"),
            ("name", "name"),
            ("url", "url"),
            ("success", "success"),
            ("resultCode", "resultCode"),
            ("duration", "duration"),
            ("performanceBucket", "performanceBucket"),
            ("source", "source"),
        ]),
        "dependency" => pick(&[
            ("target", "target"),
            ("data", "data"),
            ("success", "success"),
            ("duration", "duration"),
            ("performanceBucket", "performanceBucket"),
            ("resultCode", "resultCode"),
            ("type", "type"),
            ("name", "name"),
            ("id", "id"),
        ]),
        "exception" => pick(&[
            ("severityLevel", "severityLevel"),
            ("problemId", "problemId"),
            ("handledAt", "handledAt"),
            ("assembly", "assembly"),
            ("method", "method"),
            ("message", "message"),
            ("type", "type"),
            ("outerType", "outerType"),
            ("outerMethod", "outerMethod"),
            ("outerAssembly", "outerAssembly"),
            ("outerMessage", "outerMessage"),
            ("innermostType", "innermostType"),
            ("innermostMessage", "innermostMessage"),
            ("innermostMethod", "innermostMethod"),
            ("innermostAssembly", "innermostAssembly"),
            ("details", "details"),
        ]),
        "customEvent" => pick(&[("name", "name")]),
        "pageView" => pick(&[
            ("name", "name"),
            ("url", "url"),
            ("duration", "duration"),
            ("performanceBucket", "performanceBucket"),
        ]),
        "availabilityResult" => pick(&[
            ("name", "name"),
            ("success", "success"),
            ("duration", "duration"),
            ("performanceBucket", "performanceBucket"),
            ("message", "message"),
            ("location", "location"),
            ("id", "id"),
            ("size", "size"),
        ]),
        "customMetric" => pick(&[
            ("name", "name"),
            ("value", "value"),
            ("valueSum", "valueSum"),
            ("valueCount", "valueCount"),
            ("valueMin", "valueMin"),
            ("valueMax", "valueMax"),
            ("valueStdDev", "valueStdDev"),
        ]),
        _ => pick(&[
            ("value", "value"),
            ("name", "name"),
            ("category", "category"),
            ("counter", "counter"),
            ("instance", "instance"),
        ]),
    };
    let mut e = Map::new();
    e.insert("id".into(), get("itemId"));
    e.insert("type".into(), json!(kind.event));
    e.insert("count".into(), get("itemCount"));
    e.insert("timestamp".into(), get("timestamp"));
    e.insert("customDimensions".into(), get("customDimensions"));
    e.insert("customMeasurements".into(), get("customMeasurements"));
    e.insert(
        "operation".into(),
        pick(&[
            ("name", "operation_Name"),
            ("id", "operation_Id"),
            ("parentId", "operation_ParentId"),
            ("syntheticSource", "operation_SyntheticSource"),
        ]),
    );
    e.insert("session".into(), pick(&[("id", "session_Id")]));
    e.insert(
        "user".into(),
        pick(&[
            ("id", "user_Id"),
            ("accountId", "user_AccountId"),
            ("authenticatedId", "user_AuthenticatedId"),
        ]),
    );
    e.insert(
        "cloud".into(),
        pick(&[
            ("roleName", "cloud_RoleName"),
            ("roleInstance", "cloud_RoleInstance"),
        ]),
    );
    e.insert(
        "ai".into(),
        pick(&[
            ("iKey", "iKey"),
            ("appName", "appName"),
            ("appId", "appId"),
            ("sdkVersion", "sdkVersion"),
        ]),
    );
    e.insert(kind.event.into(), specific);
    e.insert(
        "application".into(),
        pick(&[("version", "application_Version")]),
    );
    e.insert(
        "client".into(),
        pick(&[
            ("model", "client_Model"),
            ("os", "client_OS"),
            ("type", "client_Type"),
            ("browser", "client_Browser"),
            ("ip", "client_IP"),
            ("city", "client_City"),
            ("stateOrProvince", "client_StateOrProvince"),
            ("countryOrRegion", "client_CountryOrRegion"),
        ]),
    );
    Value::Object(e)
}

/// `GET /v1/apps/{appId}/events/{eventType}` (and `…/{eventId}`).
pub(crate) async fn events(
    state: AppState,
    method: Method,
    Path(path): Path<Vec<String>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let result = (|| {
        let (app, event_type, event_id) = match path.as_slice() {
            [app, t] => (app, t, None),
            [app, t, id] => (app, t, Some(id)),
            _ => return Err(QueryError::PathNotFound),
        };
        if method != Method::GET {
            return Err(QueryError::PathNotFound);
        }
        let now = state.clock.now();
        let (_, catalog) = open(&state, &headers, app, now)?;
        let kinds: Vec<&Kind> = if event_type == "$all" {
            KINDS.iter().collect()
        } else {
            vec![
                KINDS
                    .iter()
                    .find(|k| k.table == event_type)
                    .ok_or(QueryError::PathNotFound)?,
            ]
        };
        let params = query_params(&uri);
        for unsupported in ["$filter", "$search", "$apply", "$select", "$format"] {
            if param(&params, unsupported).is_some() {
                // An emulator limit, not a service answer.
                return Err(QueryError::Validation(format!(
                    "The '{unsupported}' parameter is not supported by the emulator"
                )));
            }
        }
        let number = |name: &str| -> Result<Option<usize>, QueryError> {
            param(&params, name)
                .map(|v| {
                    v.parse::<usize>().map_err(|_| {
                        QueryError::Validation(format!("The '{name}' value '{v}' is not valid"))
                    })
                })
                .transpose()
        };
        let top = number("$top")?;
        let skip = number("$skip")?.unwrap_or(0);
        let ascending = match param(&params, "$orderby") {
            None => false,
            Some(o) => match o.trim().to_ascii_lowercase().as_str() {
                "timestamp" | "timestamp asc" => true,
                "timestamp desc" => false,
                _ => {
                    return Err(QueryError::Validation(format!(
                        "The '$orderby' value '{o}' is not supported by the emulator"
                    )));
                }
            },
        };
        let explicit = param(&params, "timespan");
        let range = match explicit {
            Some(t) => timespan::parse_interval(t, now).ok_or_else(|| {
                QueryError::Validation(format!("The 'timespan' value '{t}' is not valid"))
            })?,
            None => (now - Duration::hours(12), now),
        };
        let mut found: Vec<(OffsetDateTime, Value)> = Vec::new();
        for kind in &kinds {
            let table = &catalog[kind.table];
            let (Some(ts), Some(id_col)) = (
                table.column_index("timestamp"),
                table.column_index("itemId"),
            ) else {
                continue;
            };
            for r in 0..table.row_count() {
                let Some(t) = table.value(r, ts).and_then(|v| v.as_datetime()) else {
                    continue;
                };
                if event_id.is_some_and(|id| {
                    table.value(r, id_col).map(|v| v.to_kql_string()).as_deref()
                        != Some(id.as_str())
                }) {
                    continue;
                }
                if event_id.is_none() && (t < range.0 || t >= range.1) {
                    continue;
                }
                found.push((t, event(kind, table, r)));
            }
        }
        found.sort_by(|a, b| {
            if ascending {
                a.0.cmp(&b.0)
            } else {
                b.0.cmp(&a.0)
            }
        });
        let value: Vec<Value> = found
            .into_iter()
            .skip(skip)
            .take(top.unwrap_or(usize::MAX))
            .map(|(_, e)| e)
            .collect();
        let base = request_base(&state, &headers);
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            json!(format!(
                "{base}/v1/apps/{app}/events/$metadata#{event_type}"
            )),
        );
        if explicit.is_none() && event_id.is_none() {
            body.insert(
                "@ai.messages".into(),
                json!([{
                    "code": "AddedLimitToQuery",
                    "message": "The query was limited to last 12 hours, since no other limit for timestamp field was specified",
                }]),
            );
        }
        body.insert("value".into(), Value::Array(value));
        let mut response = super::json_response(StatusCode::OK, &Value::Object(body));
        decorate(&mut response);
        Ok(response)
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::app_tables::schema;

    #[test]
    fn metrics_count_items_and_average_durations() {
        let mut t = Table::new("requests", schema("requests").expect("schema"));
        let now = time::macros::datetime!(2024-01-01 12:00 UTC);
        let rows: Vec<Map<String, Value>> = [
            json!({"timestamp": "2024-01-01T11:00:00Z", "success": "True", "duration": 10.0, "itemCount": 1, "user_Id": "u1"}),
            json!({"timestamp": "2024-01-01T11:30:00Z", "success": "False", "duration": 30.0, "itemCount": 2, "user_Id": "u1"}),
            json!({"timestamp": "2023-12-31T00:00:00Z", "success": "True", "duration": 99.0, "itemCount": 1}),
        ]
        .into_iter()
        .filter_map(|v| v.as_object().cloned())
        .collect();
        t.append_json_rows(&rows).expect("rows");
        let range = (now - Duration::hours(12), now);
        let count =
            accumulate(&t, &metric_def("requests/count").expect("def"), range, None).expect("ok");
        assert_eq!(count[&0].sum, 3.0);
        let failed = accumulate(
            &t,
            &metric_def("requests/failed").expect("def"),
            range,
            None,
        )
        .expect("ok");
        assert_eq!(failed[&0].sum, 2.0);
        let def = metric_def("requests/duration").expect("def");
        let duration = accumulate(&t, &def, range, None).expect("ok");
        assert_eq!(duration[&0].get("avg", &def.value), json!(70.0 / 3.0));
        let users = metric_def("users/count").expect("def");
        assert_eq!(
            accumulate(&t, &users, range, None).expect("ok")[&0].get("unique", &users.value),
            json!(1)
        );
        let hourly = accumulate(
            &t,
            &metric_def("requests/count").expect("def"),
            range,
            Some(Duration::hours(1)),
        )
        .expect("ok");
        assert_eq!(hourly.keys().copied().collect::<Vec<_>>(), [11]);
        assert!(metric_def("requests/nope").is_none());
    }
}

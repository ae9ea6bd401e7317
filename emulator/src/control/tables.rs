//! Control-API shortcuts that seed Monitor data for tests (not part of Azure):
//!
//! - `POST /_emulator/monitor/workspaces/{customerId}/tables/{table}` appends rows to a
//!   workspace table, creating it when new (schema from `columns`, else inferred from the
//!   rows; `TimeGenerated` added when missing);
//! - `POST /_emulator/monitor/apps/{appId}/tables/{table}` appends telemetry to one of a
//!   component's classic tables, filling what the ingestion pipeline would.
//!
//! The body is a JSON array of row objects, or `{"columns":[{"name","type"}],"rows":[…]}`.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::control::error;
use crate::http::body::{BodyError, read_body};
use crate::kql::{Column, ColumnType, Table};
use crate::services::AppState;
use crate::telemetry::app_tables;

/// Largest request body read (see the catalog).
const MAX_BODY: usize = crate::catalog::Api::Control.body_limit();
/// Most rows one seeding call adds.
pub(crate) const MAX_ROWS: usize = 200_000;

struct Seed {
    columns: Option<Vec<Column>>,
    rows: Vec<Map<String, Value>>,
}

/// Why a seeding body was refused: too large, or the message of a 400.
enum SeedError {
    TooLarge,
    Bad(String),
}

impl IntoResponse for SeedError {
    fn into_response(self) -> Response {
        match self {
            SeedError::TooLarge => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestBodyTooLarge",
                format!("the body is larger than {MAX_BODY} bytes"),
            ),
            SeedError::Bad(m) => error(StatusCode::BAD_REQUEST, "InvalidRequestBody", m),
        }
    }
}

async fn read_seed(headers: &HeaderMap, body: Body) -> Result<Seed, SeedError> {
    let bad = SeedError::Bad;
    let bytes = read_body(body, headers, MAX_BODY)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => SeedError::TooLarge,
            other => bad(format!("the body could not be read: {other:?}")),
        })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let (columns, rows) = match value {
        Value::Array(rows) => (None, rows),
        Value::Object(mut o) => {
            let columns = match o.remove("columns") {
                None | Some(Value::Null) => None,
                Some(Value::Array(cols)) => Some(
                    cols.iter()
                        .map(|c| {
                            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                            let ty = c.get("type").and_then(Value::as_str).unwrap_or_default();
                            match (name.is_empty(), ColumnType::parse(ty)) {
                                (false, Some(t)) => Ok(Column::new(name, t)),
                                _ => Err(bad(format!(
                                    "each column needs a name and a KQL type, got {c}"
                                ))),
                            }
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                Some(_) => return Err(bad("'columns' must be an array".into())),
            };
            match o.remove("rows") {
                Some(Value::Array(rows)) => (columns, rows),
                None if columns.is_some() => (columns, Vec::new()),
                _ => return Err(bad("'rows' must be an array of objects".into())),
            }
        }
        _ => {
            return Err(bad(
                "expected an array of rows or {\"columns\", \"rows\"}".into()
            ));
        }
    };
    if rows.len() > MAX_ROWS {
        return Err(bad(format!("at most {MAX_ROWS} rows per call")));
    }
    let rows = rows
        .into_iter()
        .map(|r| match r {
            Value::Object(o) => Ok(o),
            other => Err(bad(format!("each row must be an object, got {other}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Seed { columns, rows })
}

fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 256
}

fn added(table: &str, rows: usize, total: usize) -> Response {
    axum::Json(json!({"table": table, "rowsAdded": rows, "rowCount": total})).into_response()
}

/// `POST /_emulator/monitor/workspaces/{customerId}/tables/{table}`.
pub(crate) async fn seed_workspace(
    state: AppState,
    Path((workspace, table)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            "WorkspaceNotFound",
            format!("no Log Analytics workspace has customerId '{workspace}'"),
        )
    };
    let Ok(customer) = Uuid::parse_str(&workspace) else {
        return not_found();
    };
    if state.arm().workspace_by_customer_id(&customer).is_none() {
        return not_found();
    }
    if !valid_table_name(&table) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidTableName",
            "a table name is letters, digits and '_', not starting with a digit",
        );
    }
    let seed = match read_seed(&headers, body).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let now = state.clock.now();
    let mut store = state.telemetry_mut();
    let existing = store
        .workspace_tables(&customer)
        .and_then(|t| t.get(&table))
        .map(|t| t.columns().to_vec());
    let rows = match (existing, seed.columns) {
        (Some(columns), _) | (None, Some(columns)) => {
            let mut t = Table::new(&table, columns);
            t.append_json_rows(&seed.rows).map(|_| t)
        }
        (None, None) => Table::from_json_rows(&table, &seed.rows),
    };
    let result = rows.and_then(|rows| {
        store
            .append_workspace(customer, &table, &rows, now)
            .map(|total| (rows.row_count(), total))
    });
    match result {
        Ok((n, total)) => added(&table, n, total),
        Err(e) => error(StatusCode::BAD_REQUEST, "InvalidRows", e.to_string()),
    }
}

/// `POST /_emulator/monitor/apps/{appId}/tables/{table}`.
pub(crate) async fn seed_app(
    state: AppState,
    Path((app, table)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let component = Uuid::parse_str(&app).ok().and_then(|id| {
        state
            .arm()
            .component_by_app_id(&id)
            .cloned()
            .map(|c| (id, c))
    });
    let Some((app_id, component)) = component else {
        return error(
            StatusCode::NOT_FOUND,
            "ApplicationNotFound",
            format!("no Application Insights component has AppId '{app}'"),
        );
    };
    let Some(schema) = app_tables::schema(&table) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidTableName",
            format!(
                "'{table}' is not an Application Insights table; use one of {}",
                app_tables::table_names().collect::<Vec<_>>().join(", ")
            ),
        );
    };
    let mut seed = match read_seed(&headers, body).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if seed.columns.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestBody",
            "Application Insights tables have a fixed schema; send rows only",
        );
    }
    let now = state.clock.now();
    app_tables::complete_rows(&table, &component, &mut seed.rows, now);
    let mut rows = Table::new(&table, schema.clone());
    if let Err(e) = rows.append_json_rows(&seed.rows) {
        return error(StatusCode::BAD_REQUEST, "InvalidRows", e.to_string());
    }
    match state
        .telemetry_mut()
        .append_app(app_id, &table, &schema, &rows)
    {
        Ok(total) => added(&table, rows.row_count(), total),
        Err(e) => error(StatusCode::BAD_REQUEST, "InvalidRows", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_identifiers() {
        for ok in ["App_CL", "_x", "T1"] {
            assert!(valid_table_name(ok), "{ok}");
        }
        for bad in ["", "1T", "a-b", "a b", "é"] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }
}

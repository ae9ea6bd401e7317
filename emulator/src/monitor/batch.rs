//! `POST /v1/$batch`: several Log Analytics queries in one request, each answered with its
//! own status and body (Query_Batch in the Log Analytics data-plane spec; the semantics are
//! Microsoft's batch-queries page, learn.microsoft.com/azure/azure-monitor/logs/api/batch-queries).
//!
//! The batch answers 200 whatever its queries' outcomes. It fails as a whole only when its
//! body is not JSON, its token is refused, or a request lacks a required property or repeats
//! an id. Each item names a workspace and a body like a query's; its `path` must be `/query`
//! and its `method` POST (both optional), else the item answers 404.

use std::collections::HashSet;

use axum::Extension;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::QueryError;
use super::logs::{
    self, QueriesExt, Target, authenticate, body_request, read_query_body, run_request,
    workspace_customer_id,
};
use crate::first_party::LOG_ANALYTICS;
use crate::kql::Queries;
use crate::services::AppState;

/// Most answers read back from one query to put into the batch answer. A query's answer is
/// itself bounded by [`logs::MAX_RESULT_BYTES`] of rows; this is that bound plus room for
/// the columns, statistics and error.
const MAX_ITEM_ANSWER: usize = logs::MAX_RESULT_BYTES + (4 << 20);

/// One request of a batch, checked.
struct Item {
    id: String,
    workspace: String,
    body: Value,
    headers: HeaderMap,
    /// `path` is `/query` and `method` POST (or absent).
    served: bool,
}

/// `POST /v1/$batch`.
pub(crate) async fn batch(
    state: AppState,
    queries: QueriesExt,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let queries = queries.map(|Extension(q)| q);
    let result = async {
        if method != Method::POST {
            return Err(QueryError::PathNotFound);
        }
        let caller = authenticate(&state, &headers, &LOG_ANALYTICS)?;
        let bytes = read_query_body(body, &headers).await?;
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| QueryError::InvalidJsonBody(e.to_string()))?;
        let items = items(&body)?;
        let mut responses = Vec::with_capacity(items.len());
        for item in items {
            let id = item.id.clone();
            let (status, body) = answer(&state, queries.clone(), &caller, item).await;
            responses.push(json!({"id": id, "status": status.as_u16(), "body": body}));
        }
        let mut response = super::json_response(StatusCode::OK, &json!({"responses": responses}));
        super::decorate(&mut response);
        Ok(response)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The batch's requests, or the error that fails the whole batch. The messages are guesses
/// in the style of the service's "'query' property is required".
fn items(body: &Value) -> Result<Vec<Item>, QueryError> {
    let invalid = |m: &str| QueryError::Validation(m.to_owned());
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("'requests' property is required"))?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(requests.len());
    for request in requests {
        let Value::Object(request) = request else {
            return Err(invalid("Each request must be a JSON object"));
        };
        let text = |name: &str| request.get(name).and_then(Value::as_str);
        let id = text("id").ok_or_else(|| invalid("'id' property is required"))?;
        if !seen.insert(id.to_owned()) {
            return Err(QueryError::Validation(format!(
                "The request id '{id}' is used more than once"
            )));
        }
        let workspace =
            text("workspace").ok_or_else(|| invalid("'workspace' property is required"))?;
        let body = request
            .get("body")
            .filter(|b| b.is_object())
            .ok_or_else(|| invalid("'body' property is required"))?;
        let path_ok = text("path").is_none_or(|p| p.eq_ignore_ascii_case("/query"));
        let method_ok = text("method").is_none_or(|m| m.eq_ignore_ascii_case("POST"));
        out.push(Item {
            id: id.to_owned(),
            workspace: workspace.to_owned(),
            body: body.clone(),
            headers: item_headers(request),
            served: path_ok && method_ok,
        });
    }
    Ok(out)
}

/// An item's `headers` object as request headers (entries that are not valid headers are
/// left out).
fn item_headers(request: &Map<String, Value>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in request
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let (Ok(n), Some(Ok(v))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.append(n, v);
        }
    }
    headers
}

/// Runs one item: its status and body.
async fn answer(
    state: &AppState,
    queries: Option<Queries>,
    caller: &Uuid,
    item: Item,
) -> (StatusCode, Value) {
    let Item {
        workspace,
        body,
        headers,
        served,
        ..
    } = item;
    let outcome = async {
        if !served {
            return Err(QueryError::PathNotFound);
        }
        // A workspace by GUID or ARM id; one that names no workspace is the documented 400.
        let id = {
            let arm = state.arm();
            workspace_customer_id(&arm, &workspace)
                .filter(|id| arm.workspace_by_customer_id(id).is_some())
        }
        .ok_or(QueryError::FailedToResolveResource)?;
        let now = state.clock.now();
        let request = body_request(&body, None, now)?;
        let target = Target::Workspace(id);
        run_request(state, queries, caller, &target, request, &headers, now).await
    }
    .await;
    let response = outcome.unwrap_or_else(IntoResponse::into_response);
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), MAX_ITEM_ANSWER)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

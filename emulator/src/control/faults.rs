//! `/_emulator/faults`: add, list and remove fault rules.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::control::{error, json_body};
use crate::faults::{FaultSpec, Rule};
use crate::services::AppState;

fn view(rule: &Rule, now: time::OffsetDateTime) -> Value {
    let mut v = serde_json::to_value(&rule.spec).unwrap_or_else(|_| json!({}));
    let fired = rule.fired.load(std::sync::atomic::Ordering::Relaxed);
    if let Value::Object(map) = &mut v {
        let stamp = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        let mut out = serde_json::Map::new();
        out.insert("id".into(), json!(rule.id));
        out.append(map);
        out.insert("installedAt".into(), json!(stamp(rule.installed_at)));
        out.insert("expiresAt".into(), json!(rule.expires_at.map(stamp)));
        out.insert(
            "matched".into(),
            json!(rule.matched.load(std::sync::atomic::Ordering::Relaxed)),
        );
        out.insert("fired".into(), json!(fired));
        out.insert(
            "remaining".into(),
            json!(rule.spec.count.map(|c| c.saturating_sub(fired))),
        );
        out.insert("active".into(), json!(rule.is_live(now)));
        return Value::Object(out);
    }
    v
}

/// `POST /_emulator/faults` with one rule: 201 with the installed rule and its `id`.
pub(crate) async fn add(state: AppState, body: Bytes) -> Response {
    let spec: FaultSpec = match json_body(&body, "InvalidFaultRule", "invalid fault rule") {
        Ok(spec) => spec,
        Err(bad) => return bad.into_response(),
    };
    let now = state.clock.now();
    match state.faults.add(spec, now) {
        Ok(id) => {
            let rule = state.faults.snapshot().into_iter().find(|r| r.id == id);
            let body = rule.map_or_else(|| json!({ "id": id }), |r| view(&r, now));
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, "InvalidFaultRule", e.to_string()),
    }
}

/// `GET /_emulator/faults`: every rule with its counters.
pub(crate) async fn list(state: AppState) -> Response {
    let now = state.clock.now();
    let rules: Vec<Value> = state
        .faults
        .snapshot()
        .iter()
        .map(|r| view(r, now))
        .collect();
    axum::Json(json!({ "rules": rules })).into_response()
}

/// `DELETE /_emulator/faults/{id}`.
pub(crate) async fn remove(state: AppState, Path(id): Path<String>) -> Response {
    match id.parse::<u64>() {
        Ok(id) if state.faults.remove(id) => StatusCode::NO_CONTENT.into_response(),
        _ => error(
            StatusCode::NOT_FOUND,
            "FaultRuleNotFound",
            format!("no fault rule with id '{id}'"),
        ),
    }
}

/// `DELETE /_emulator/faults`: removes every rule.
pub(crate) async fn clear(state: AppState) -> Response {
    state.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

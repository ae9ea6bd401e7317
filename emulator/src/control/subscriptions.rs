//! The emulator's control API for ARM (not part of Azure): extra subscriptions and the list
//! of role assignment changes still propagating.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{error, json_body};
use crate::rbac::Plane;
use crate::resources::Subscription;
use crate::services::AppState;
use crate::wire::arm::Subscription as Rendered;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewSubscription {
    #[serde(default)]
    subscription_id: Option<Uuid>,
    display_name: String,
}

/// `POST /_emulator/subscriptions` with `{"displayName": "…", "subscriptionId"?: "…"}`: adds
/// a subscription to the tenant, with the bootstrap admin as its `Owner` (effective at once).
pub(crate) async fn create_subscription(state: AppState, body: Bytes) -> Response {
    let new: NewSubscription = match json_body(
        &body,
        "InvalidRequestBody",
        r#"expected {"displayName": "…", "subscriptionId"?: "<guid>"}"#,
    ) {
        Ok(n) => n,
        Err(bad) => return bad.into_response(),
    };
    let name = new.display_name.trim();
    if name.is_empty() || name.len() > 64 {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidDisplayName",
            "displayName must have 1 to 64 characters",
        );
    }
    let id = new.subscription_id.unwrap_or_else(Uuid::new_v4);
    let subscription = Subscription {
        id,
        display_name: name.to_owned(),
    };
    if !state.create_subscription(subscription.clone()) {
        return error(
            StatusCode::CONFLICT,
            "SubscriptionExists",
            format!("subscription {id} already exists"),
        );
    }
    (
        StatusCode::CREATED,
        axum::Json(Rendered::new(&subscription, state.config.tenant_id)),
    )
        .into_response()
}

/// `GET /_emulator/subscriptions`: every subscription of the tenant.
pub(crate) async fn list_subscriptions(state: AppState) -> Response {
    let store = state.arm();
    let value: Vec<_> = store
        .subscriptions()
        .map(|s| Rendered::new(s, state.config.tenant_id))
        .collect();
    axum::Json(json!({ "value": value })).into_response()
}

/// `GET /_emulator/rbac/pending`: the configured delays, and every role assignment change
/// some plane does not see yet with the time it will.
pub(crate) async fn pending(state: AppState) -> Response {
    let now = state.clock.now();
    let p = state.config.propagation;
    let delays: serde_json::Map<String, serde_json::Value> = Plane::ALL
        .iter()
        .map(|&plane| (plane.name().to_owned(), json!(p.base(plane).as_secs_f64())))
        .collect();
    let jitter = p
        .jitter
        .map(|j| json!({"maxSeconds": j.max.as_secs_f64(), "seed": j.seed}));
    let (pending, roles) = {
        let arm = state.arm();
        (arm.authz.pending(now), arm.authz.pending_roles(now))
    };
    axum::Json(json!({
        "now": now.format(&Rfc3339).unwrap_or_default(),
        "delaysSeconds": delays,
        "jitter": jitter,
        "principalReplicationSeconds": state.config.principal_replication.as_secs_f64(),
        "pending": pending,
        "pendingRoleDefinitions": roles,
    }))
    .into_response()
}

//! Subscriptions and tenants: what `az login` lists right after signing in.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{ArmError, Call, json};
use crate::rbac::{Plane, Scope};
use crate::resources::{ArmStore, Subscription};
use crate::wire::arm as wire;

/// Whether the caller holds any role, effective on ARM now, in the subscription.
fn visible(call: &Call<'_>, store: &ArmStore, s: &Subscription) -> bool {
    Scope::subscription(&s.id.to_string()).is_ok_and(|scope| {
        store
            .authz
            .has_access_within(&call.caller, &scope, Plane::Arm, call.now)
    })
}

/// `GET /subscriptions`: the subscriptions where the caller holds a role.
pub(crate) fn list(call: &Call<'_>) -> Result<Response, ArmError> {
    let store = call.state.arm();
    let tenant = call.state.config.tenant_id;
    let value: Vec<wire::Subscription<'_>> = store
        .subscriptions()
        .filter(|s| visible(call, &store, s))
        .map(|s| wire::Subscription::new(s, tenant))
        .collect();
    let count = value.len();
    Ok(json(
        StatusCode::OK,
        &json!({"value": value, "count": {"type": "Total", "value": count}}),
    ))
}

/// `GET /subscriptions/{s}`. A subscription where the caller holds no role looks like one
/// that does not exist (a guess at ARM's behaviour; it hides subscriptions the same way in
/// its list).
pub(crate) fn get(call: &Call<'_>, sub: &str) -> Result<Response, ArmError> {
    let store = call.state.arm();
    let id = super::known_subscription(&store, sub)?;
    let subscription = store
        .subscription(&id)
        .filter(|s| visible(call, &store, s))
        .ok_or_else(|| ArmError::SubscriptionNotFound(sub.to_owned()))?;
    Ok(json(
        StatusCode::OK,
        &wire::Subscription::new(subscription, call.state.config.tenant_id),
    ))
}

/// `GET /tenants`: the caller's home tenant.
pub(crate) fn tenants(call: &Call<'_>) -> Result<Response, ArmError> {
    let c = &call.state.config;
    let tenant = json!({
        "id": format!("/tenants/{}", c.tenant_id),
        "tenantId": c.tenant_id,
        "countryCode": "US",
        "displayName": c.tenant_display_name,
        "domains": [c.tenant_domain],
        "tenantCategory": "Home",
        "defaultDomain": c.tenant_domain,
        "tenantType": "AAD"
    });
    Ok(json(StatusCode::OK, &json!({ "value": [tenant] })))
}

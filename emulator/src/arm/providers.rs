//! Resource providers and regions of a subscription: `GET …/providers`, `…/providers/{ns}`,
//! `POST …/providers/{ns}/register`, `GET …/locations`, from the table in
//! [`crate::resources::providers`]; and ARM's answer to an api-version a known type does not take.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::{ArmError, Call, Route, json, known_subscription};
use crate::rbac::Scope;
use crate::resources::{providers, regions};
use crate::services::AppState;
use crate::wire::arm as wire;

/// The subscription's scope, once it is known to exist and the caller may do `action` there.
fn subscription_scope(call: &Call<'_>, sub: &str, action: &str) -> Result<Scope, ArmError> {
    let store = call.state.arm();
    known_subscription(&store, sub)?;
    let scope =
        Scope::subscription(sub).map_err(|_| ArmError::InvalidSubscriptionId(sub.to_owned()))?;
    call.require(&store, action, &scope)?;
    Ok(scope)
}

fn known(namespace: &str) -> Result<&'static providers::Provider, ArmError> {
    providers::provider(namespace)
        .ok_or_else(|| ArmError::InvalidResourceNamespace(namespace.to_owned()))
}

const READ_PROVIDERS: &str = "Microsoft.Resources/subscriptions/providers/read";

/// `GET /subscriptions/{s}/providers`: every provider the emulator knows, registered.
pub(crate) fn list(call: &Call<'_>, sub: &str) -> Result<Response, ArmError> {
    subscription_scope(call, sub, READ_PROVIDERS)?;
    let value: Vec<_> = providers::PROVIDERS
        .iter()
        .map(|p| wire::Provider::new(sub, p))
        .collect();
    Ok(json(StatusCode::OK, &wire::List::all(value)))
}

/// `GET /subscriptions/{s}/providers/{namespace}`.
pub(crate) fn get(call: &Call<'_>, sub: &str, namespace: &str) -> Result<Response, ArmError> {
    subscription_scope(call, sub, READ_PROVIDERS)?;
    Ok(json(
        StatusCode::OK,
        &wire::Provider::new(sub, known(namespace)?),
    ))
}

/// `POST /subscriptions/{s}/providers/{namespace}/register`: every provider the emulator
/// knows is registered already, so this answers the provider as it is (200, the spec's
/// `Provider` schema).
pub(crate) fn register(call: &Call<'_>, sub: &str, namespace: &str) -> Result<Response, ArmError> {
    let provider = known(namespace)?;
    subscription_scope(
        call,
        sub,
        &format!("{}/register/action", provider.namespace),
    )?;
    Ok(json(StatusCode::OK, &wire::Provider::new(sub, provider)))
}

/// `GET /subscriptions/{s}/locations`: every region the emulator accepts.
pub(crate) fn locations(call: &Call<'_>, sub: &str) -> Result<Response, ArmError> {
    subscription_scope(
        call,
        sub,
        "Microsoft.Resources/subscriptions/locations/read",
    )?;
    let value: Vec<_> = regions::DISPLAY
        .iter()
        .map(|r| wire::Location::new(sub, r))
        .collect();
    Ok(json(StatusCode::OK, &wire::List::all(value)))
}

/// ARM's answer to a resource asked for with an api-version its type does not take: when the
/// resource's region is known (a PUT's `location`, or the stored resource's),
/// `NoRegisteredProviderFound` naming the versions and regions (Azure/azure-rest-api-specs
/// issue #22203, a workspace read by id); otherwise `error` as it is (`InvalidResourceType`).
pub(crate) fn unserved_version(
    state: &AppState,
    method: &Method,
    route: &Route,
    body: &Bytes,
    version: &str,
    error: ArmError,
) -> ArmError {
    let (
        Route::Resource(a),
        ArmError::InvalidResourceType {
            supported: Some(versions),
            ..
        },
    ) = (route, &error)
    else {
        return error;
    };
    let location = if *method == Method::PUT {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b.get("location").and_then(Value::as_str).map(str::to_owned))
            .and_then(|l| regions::normalize(&l, true))
    } else {
        state
            .arm()
            .resource(&a.id())
            .and_then(|r| r.location.clone())
    };
    match location {
        Some(location) => ArmError::NoRegisteredProviderFound {
            location,
            version: version.to_owned(),
            resource_type: a.type_path(),
            versions: (*versions).to_owned(),
            locations: regions::REGIONS.join(", "),
        },
        None => error,
    }
}

//! Resource providers and regions of a subscription: `GET …/providers`, `…/providers/{ns}`,
//! `POST …/providers/{ns}/register` and `/unregister`, `GET …/locations`, from the table in
//! [`crate::resources::providers`]; and ARM's answer to an api-version a known type does not take.
//!
//! Every provider starts registered with every subscription. An unregistered one shows
//! `NotRegistered` and refuses resource writes with 409 `MissingSubscriptionRegistration`,
//! which tools answer by registering it (the Azure CLI does so itself). Azure takes a while
//! to move through `Registering`/`Unregistering`; the emulator answers the POST with that
//! state and is done at once.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::{ArmError, Call, Route, json, known_subscription};
use crate::rbac::Scope;
use crate::resources::{ArmStore, providers, regions};
use crate::services::AppState;
use crate::services::resources::Address;
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

/// `GET /subscriptions/{s}/providers`: every provider the emulator knows, with its
/// registration state in the subscription.
pub(crate) fn list(call: &Call<'_>, sub: &str) -> Result<Response, ArmError> {
    let scope = subscription_scope(call, sub, READ_PROVIDERS)?;
    let store = call.state.arm();
    let value: Vec<_> = providers::PROVIDERS
        .iter()
        .map(|p| wire::Provider::new(sub, p, settled(&store, &scope, p)))
        .collect();
    Ok(json(StatusCode::OK, &wire::List::all(value)))
}

/// `Registered` or `NotRegistered`.
fn settled(store: &ArmStore, scope: &Scope, p: &providers::Provider) -> &'static str {
    let registered = sub_id(scope).is_none_or(|sub| store.is_registered(&sub, p.namespace));
    if registered {
        "Registered"
    } else {
        "NotRegistered"
    }
}

/// Whether resources of `a`'s namespace may be written in its subscription (unknown
/// namespaces and subscriptions are left to the handlers' own errors).
pub(crate) fn writable(store: &ArmStore, a: &Address) -> bool {
    let Some(p) = providers::provider(&a.namespace) else {
        return true;
    };
    uuid::Uuid::parse_str(&a.subscription)
        .map_or(true, |sub| store.is_registered(&sub, p.namespace))
}

fn sub_id(scope: &Scope) -> Option<uuid::Uuid> {
    scope
        .subscription_id()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
}

/// `GET /subscriptions/{s}/providers/{namespace}`.
pub(crate) fn get(call: &Call<'_>, sub: &str, namespace: &str) -> Result<Response, ArmError> {
    let scope = subscription_scope(call, sub, READ_PROVIDERS)?;
    let provider = known(namespace)?;
    let state = settled(&call.state.arm(), &scope, provider);
    Ok(json(
        StatusCode::OK,
        &wire::Provider::new(sub, provider, state),
    ))
}

/// `POST /subscriptions/{s}/providers/{namespace}/register` (`register`) or `/unregister`:
/// 200 with the provider (the spec's `Provider` schema), `Registering`/`Unregistering` when
/// its state changes, else as it is.
pub(crate) fn register(
    call: &Call<'_>,
    sub: &str,
    namespace: &str,
    register: bool,
) -> Result<Response, ArmError> {
    let provider = known(namespace)?;
    let verb = if register { "register" } else { "unregister" };
    let scope = subscription_scope(call, sub, &format!("{}/{verb}/action", provider.namespace))?;
    let Some(id) = sub_id(&scope) else {
        return Err(ArmError::InvalidSubscriptionId(sub.to_owned()));
    };
    let was = call
        .state
        .arm_mut()
        .set_registered(id, provider.namespace, register);
    let state = match (was, register) {
        (false, true) => "Registering",
        (true, false) => "Unregistering",
        (_, true) => "Registered",
        (_, false) => "NotRegistered",
    };
    Ok(json(
        StatusCode::OK,
        &wire::Provider::new(sub, provider, state),
    ))
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

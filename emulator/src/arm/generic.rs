//! Generic resources of any provider type, stored with ARM's envelope. The types the Azure
//! Monitor data planes need get their real server-side properties: a Log Analytics
//! workspace its `customerId`, an Application Insights component its `AppId`,
//! `InstrumentationKey` and `ConnectionString`, a data collection rule its `immutableId` (and
//! is validated, see [`crate::telemetry::dcr`]).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{ArmError, Call, Route, empty, json, known_subscription};
use crate::rbac::Scope;
use crate::resources::{ArmStore, Resource, WORKSPACE_TYPE};
use crate::services::identities::fill_identity;
pub(crate) use crate::services::resources::Address;
use crate::services::resources::{
    ResourceFields, Written, fill_properties, require_group, scope_of,
};

/// Maps `{ns}/{type}/{name}[/{child}/{name}…]` (what follows `…/resourceGroups/{rg}/providers`)
/// onto a resource or collection route.
pub(crate) fn address(
    sub: &str,
    rg: &str,
    provider: &[&str],
    version: &str,
) -> Result<Route, ArmError> {
    let Some((namespace, rest)) = provider.split_first() else {
        return Err(ArmError::InvalidResourceType {
            resource_type: "providers".to_owned(),
            namespace: "Microsoft.Resources".to_owned(),
            version: version.to_owned(),
            supported: None,
        });
    };
    if !namespace.contains('.') {
        return Err(ArmError::InvalidResourceNamespace((*namespace).to_owned()));
    }
    // A namespace alone, or an extension resource other than Microsoft.Authorization's:
    // neither is modelled, so ARM's answer for a type it does not know.
    let extension = rest
        .iter()
        .step_by(2)
        .position(|t| t.eq_ignore_ascii_case("providers"))
        .map(|i| 2 * i);
    if rest.is_empty() || extension.is_some() {
        let (ns, ty) = match extension {
            Some(i) => (rest.get(i + 1).copied(), rest.get(i + 2).copied()),
            None => (Some("Microsoft.Resources"), Some("providers")),
        };
        return Err(ArmError::InvalidResourceType {
            resource_type: ty.unwrap_or("providers").to_owned(),
            namespace: ns.unwrap_or(namespace).to_owned(),
            version: version.to_owned(),
            supported: None,
        });
    }
    let address = Address {
        subscription: sub.to_owned(),
        group: rg.to_owned(),
        namespace: (*namespace).to_owned(),
        types: rest.iter().step_by(2).map(|s| (*s).to_owned()).collect(),
        names: rest
            .iter()
            .skip(1)
            .step_by(2)
            .map(|s| (*s).to_owned())
            .collect(),
    };
    Ok(if address.types.len() == address.names.len() {
        Route::Resource(address)
    } else {
        Route::ResourcesOfType(address)
    })
}

/// ARM's envelope of a stored resource. Log Analytics answers a workspace's `id` all in
/// lower case while `name` keeps the caller's casing (recorded: Azure/azure-cli
/// monitor/tests/latest/recordings/test_monitor_log_analytics_workspace_default.yaml; the
/// spec example WorkspacesCreate.json shows the same).
pub(crate) fn render(r: &Resource, with_properties: bool) -> Value {
    let mut v = Map::new();
    let id = if r.resource_type.eq_ignore_ascii_case(WORKSPACE_TYPE) {
        r.id.to_ascii_lowercase()
    } else {
        r.id.clone()
    };
    v.insert("id".into(), json!(id));
    v.insert("name".into(), json!(r.name));
    v.insert("type".into(), json!(r.resource_type));
    if let Some(kind) = &r.kind {
        v.insert("kind".into(), json!(kind));
    }
    if let Some(location) = &r.location {
        v.insert("location".into(), json!(location));
    }
    if let Some(tags) = &r.tags {
        v.insert("tags".into(), Value::Object(tags.clone()));
    }
    if let Some(sku) = &r.sku {
        v.insert("sku".into(), sku.clone());
    }
    if let Some(identity) = &r.identity {
        v.insert("identity".into(), identity.clone());
    }
    if with_properties {
        v.insert("properties".into(), Value::Object(r.properties.clone()));
    }
    Value::Object(v)
}

/// Checks, in ARM's order, that the subscription exists, that the caller may do
/// `{type}/{verb}` at `at`, and that the resource group exists.
fn require_access(
    call: &Call<'_>,
    store: &ArmStore,
    a: &Address,
    verb: &str,
    at: &str,
) -> Result<(), ArmError> {
    known_subscription(store, &a.subscription)?;
    call.require(store, &format!("{}/{verb}", a.full_type()), &scope_of(at)?)?;
    require_group(store, a)
}

fn list(items: impl Iterator<Item = Value>) -> Response {
    json(
        StatusCode::OK,
        &json!({ "value": items.collect::<Vec<_>>() }),
    )
}

/// `GET …/providers/{ns}/{type}/{name}`.
pub(crate) fn get(call: &Call<'_>, a: &Address) -> Result<Response, ArmError> {
    let store = call.state.arm();
    let id = a.id();
    require_access(call, &store, a, "read", &id)?;
    let resource = store
        .resource(&id)
        .ok_or_else(|| ArmError::ResourceNotFound {
            resource_type: a.full_type(),
            name: a.name().to_owned(),
            group: a.group.clone(),
        })?;
    Ok(json(StatusCode::OK, &render(resource, true)))
}

/// Optional top-level string member, or `InvalidRequestContent`.
fn string_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ArmError> {
    super::optional_string(body, key, "")
}

/// Optional `tags`: an object of strings.
pub(crate) fn tags_field(
    body: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, ArmError> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(tags)) if tags.values().all(Value::is_string) => Ok(Some(tags.clone())),
        Some(_) => Err(ArmError::InvalidRequestContent(
            "Property 'tags' must be an object whose values are strings".to_owned(),
        )),
    }
}

fn object_field(body: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, ArmError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(ArmError::InvalidRequestContent(format!(
            "Property '{key}' must be an object, not {}",
            super::json_kind(other)
        ))),
    }
}

/// `PUT …/providers/{ns}/{type}/{name}`: 201 when created, 200 when replaced.
pub(crate) fn put(call: &Call<'_>, a: &Address) -> Result<Response, ArmError> {
    let body = call.json_body()?;
    let at = Written {
        base: &call.base,
        now: call.now,
        tenant: call.state.config.tenant_id,
        fixed: &Map::new(),
    };
    let (resource, created) = call.state.put_resource(call.caller, a, &at, || {
        Ok(ResourceFields {
            location: string_field(&body, "location")?,
            tags: tags_field(&body)?,
            kind: string_field(&body, "kind")?,
            sku: body.get("sku").filter(|v| !v.is_null()).cloned(),
            properties: object_field(&body, "properties")?,
            identity: body.get("identity").cloned(),
        })
    })?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut rendered = render(&resource, true);
    // A workspace answers its PUT (201 and 200 alike) while still `Creating`; reads then show
    // it `Succeeded` (WorkspacesCreate.json, Microsoft.OperationalInsights 2020-08-01). The
    // emulator's workspace is ready at once, so the stored state stays `Succeeded`.
    if resource.resource_type.eq_ignore_ascii_case(WORKSPACE_TYPE) {
        rendered["properties"]["provisioningState"] = json!("Creating");
    }
    let mut response = json(status, &rendered);
    // A new managed identity's answer names it in `Location` (relative), as the recording
    // fixtures/azure/cli_role_assignment_no_graph.json shows.
    if created
        && resource
            .resource_type
            .eq_ignore_ascii_case(crate::managed_identity::USER_ASSIGNED_TYPE)
        && let Ok(v) = axum::http::HeaderValue::from_str(&resource.id)
    {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, v);
    }
    Ok(response)
}

/// `PATCH …/providers/{ns}/{type}/{name}`: replaces the given tags, sku and kind, merges
/// the given properties.
pub(crate) fn patch(call: &Call<'_>, a: &Address) -> Result<Response, ArmError> {
    let body = call.json_body()?;
    let mut store = call.state.arm_mut();
    let id = a.id();
    require_access(call, &store, a, "write", &id)?;
    let mut resource = store
        .resource(&id)
        .cloned()
        .ok_or_else(|| ArmError::ResourceNotFound {
            resource_type: a.full_type(),
            name: a.name().to_owned(),
            group: a.group.clone(),
        })?;
    if let Some(tags) = tags_field(&body)? {
        resource.tags = Some(tags);
    }
    if let Some(kind) = string_field(&body, "kind")? {
        resource.kind = Some(kind);
    }
    if let Some(sku) = body.get("sku").filter(|v| !v.is_null()) {
        resource.sku = Some(sku.clone());
    }
    let mut merged = resource.properties.clone();
    for (k, v) in object_field(&body, "properties")? {
        merged.insert(k, v);
    }
    let kind = resource.kind.clone();
    let at = Written {
        base: &call.base,
        now: call.now,
        tenant: call.state.config.tenant_id,
        fixed: &Map::new(),
    };
    resource.properties =
        fill_properties(&at, &store, a, Some(&resource), kind.as_deref(), merged)?;
    let before = resource.clone();
    if let Some(identity) = body.get("identity") {
        resource.identity = fill_identity(&store, Some(&before), Some(identity), &id, at.tenant)?;
    }
    let rendered = render(&resource, true);
    store.put_resource(resource.clone());
    drop(store);
    call.state
        .sync_identities(&resource, Some(&before), call.now);
    Ok(json(StatusCode::OK, &rendered))
}

/// `DELETE …/providers/{ns}/{type}/{name}`: 200 when deleted, 204 when absent.
pub(crate) fn delete(call: &Call<'_>, a: &Address) -> Result<Response, ArmError> {
    let mut store = call.state.arm_mut();
    let id = a.id();
    require_access(call, &store, a, "delete", &id)?;
    let propagation = call.state.config.propagation;
    let deleted = store.delete_resource(&id, call.now, |name| propagation.planes(name.as_u128()));
    drop(store);
    if deleted.is_some() {
        // A system-assigned identity, or a user-assigned identity itself, goes with it.
        call.state.sweep_identities(call.now);
    }
    Ok(empty(if deleted.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    }))
}

/// `GET …/providers/{ns}/{type}` (or a child collection of a resource).
pub(crate) fn list_of_type(call: &Call<'_>, a: &Address) -> Result<Response, ArmError> {
    let store = call.state.arm();
    let parent = a.parent_id().unwrap_or_else(|| a.group_id());
    require_access(call, &store, a, "read", &parent)?;
    if a.parent_id().is_some() && store.resource(&parent).is_none() {
        let name = a.names.last().cloned().unwrap_or_default();
        return Err(ArmError::ParentResourceNotFound(name));
    }
    let prefix = format!("{}/", a.id().to_ascii_lowercase());
    let items = store
        .resources_under(&prefix, false)
        .filter(|r| !r.id[prefix.len()..].contains('/'))
        .map(|r| render(r, true));
    Ok(list(items))
}

/// `GET /subscriptions/{s}/resourceGroups/{rg}/resources`.
pub(crate) fn list_in_group(call: &Call<'_>, sub: &str, rg: &str) -> Result<Response, ArmError> {
    let store = call.state.arm();
    let id = known_subscription(&store, sub)?;
    let group_id = format!("/subscriptions/{sub}/resourceGroups/{rg}");
    call.require(
        &store,
        "Microsoft.Resources/subscriptions/resourceGroups/resources/read",
        &scope_of(&group_id)?,
    )?;
    let group = store
        .group(&id, rg)
        .ok_or_else(|| ArmError::ResourceGroupNotFound(rg.to_owned()))?;
    let prefix = format!("{}/providers/", group.id().to_ascii_lowercase());
    Ok(list(
        store
            .resources_under(&prefix, false)
            .map(|r| render(r, false)),
    ))
}

/// `GET /subscriptions/{s}/resources`: every resource the caller may list (all of them with
/// the subscription-level action, else those of the groups where it may list resources).
pub(crate) fn list_in_subscription(call: &Call<'_>, sub: &str) -> Result<Response, ArmError> {
    const ACTION: &str = "Microsoft.Resources/subscriptions/resources/read";
    const GROUP_ACTION: &str = "Microsoft.Resources/subscriptions/resourceGroups/resources/read";
    let store = call.state.arm();
    known_subscription(&store, sub)?;
    let sub_scope = scope_of(&format!("/subscriptions/{sub}"))?;
    let all = call.list_access(&store, ACTION, &sub_scope)?;
    let group_allowed = |r: &Resource| {
        let group = Scope::parse(&r.id).ok().and_then(|s| {
            Scope::parse(&format!(
                "/subscriptions/{sub}/resourceGroups/{}",
                s.resource_group()?
            ))
            .ok()
        });
        group.is_some_and(|g| call.allowed(&store, GROUP_ACTION, &g))
    };
    let prefix = format!("/subscriptions/{}/", sub.to_ascii_lowercase());
    let items: Vec<Value> = store
        .resources_under(&prefix, false)
        .filter(|r| all || group_allowed(r))
        .map(|r| render(r, false))
        .collect();
    Ok(list(items.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(rest: &[&str]) -> Route {
        address("s", "rg", rest, "2023-01-01").expect("route")
    }

    #[test]
    fn addresses_build_ids_and_parents() {
        let Route::Resource(a) = addr(&["Microsoft.Sql", "servers", "srv", "databases", "db"])
        else {
            panic!("resource")
        };
        assert_eq!(a.full_type(), "Microsoft.Sql/servers/databases");
        assert_eq!(
            a.id(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/databases/db"
        );
        assert_eq!(
            a.parent_id().as_deref(),
            Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv")
        );
        assert_eq!(a.name(), "db");
        let Route::ResourcesOfType(list) = addr(&["Microsoft.Sql", "servers", "srv", "databases"])
        else {
            panic!("collection")
        };
        assert_eq!(list.parent_id(), a.parent_id());
        let Route::Resource(top) = addr(&["Microsoft.Web", "sites", "a"]) else {
            panic!("resource")
        };
        assert_eq!(top.parent_id(), None);
        let Route::ResourcesOfType(sites) = addr(&["Microsoft.Web", "sites"]) else {
            panic!("collection")
        };
        assert_eq!(sites.parent_id(), None);
    }

    #[test]
    fn namespaces_and_extensions_are_checked() {
        assert_eq!(
            address("s", "rg", &["hostGroups", "x", "y"], "v"),
            Err(ArmError::InvalidResourceNamespace("hostGroups".into()))
        );
        assert!(address("s", "rg", &["Microsoft.Web"], "v").is_err());
        assert!(
            address(
                "s",
                "rg",
                &[
                    "Microsoft.Web",
                    "sites",
                    "a",
                    "providers",
                    "Microsoft.Insights",
                    "diagnosticSettings",
                    "d"
                ],
                "v"
            )
            .is_err()
        );
    }
}

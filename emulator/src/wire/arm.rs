//! Azure Resource Manager objects.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::rbac::{Assignment, CustomRole, Scope};
use crate::resources;
use crate::resources::{arm_datetime, providers, regions};
use crate::services::access::{ASSIGNMENTS, DEFINITIONS, child_id};

/// A subscription (`GET /subscriptions/{id}`; the control API lists them the same way).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subscription<'a> {
    id: String,
    authorization_source: &'static str,
    managed_by_tenants: [(); 0],
    subscription_id: Uuid,
    tenant_id: Uuid,
    display_name: &'a str,
    state: &'static str,
    subscription_policies: SubscriptionPolicies,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionPolicies {
    location_placement_id: &'static str,
    quota_id: &'static str,
    spending_limit: &'static str,
}

impl<'a> Subscription<'a> {
    /// The subscription `s` of tenant `tenant`: enabled, pay-as-you-go, no spending limit.
    pub(crate) fn new(s: &'a resources::Subscription, tenant: Uuid) -> Self {
        Self {
            id: format!("/subscriptions/{}", s.id),
            authorization_source: "RoleBased",
            managed_by_tenants: [],
            subscription_id: s.id,
            tenant_id: tenant,
            display_name: &s.display_name,
            state: "Enabled",
            subscription_policies: SubscriptionPolicies {
                location_placement_id: "Public_2014-09-01",
                quota_id: "PayAsYouGo_2014-09-01",
                spending_limit: "Off",
            },
        }
    }
}

/// A resource group (`GET /subscriptions/{s}/resourcegroups/{rg}` and its lists), serialized
/// straight from the stored group, fields in ARM's order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceGroup<'a> {
    id: String,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    location: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    managed_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a Map<String, Value>>,
    properties: Provisioned,
}

/// `properties` of an object ARM reports as provisioned.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Provisioned {
    provisioning_state: &'static str,
}

impl<'a> ResourceGroup<'a> {
    /// The stored group `g`; groups are created synchronously, so always `Succeeded`.
    pub(crate) fn new(g: &'a resources::ResourceGroup) -> Self {
        Self {
            id: g.id(),
            name: &g.name,
            kind: "Microsoft.Resources/resourceGroups",
            location: &g.location,
            managed_by: g.managed_by.as_deref(),
            tags: g.tags.as_ref(),
            properties: Provisioned {
                provisioning_state: "Succeeded",
            },
        }
    }

    /// The group's name.
    pub(crate) fn name(&self) -> &str {
        self.name
    }
}

/// ARM's list envelope: one page of `value`, and the URL of the next when there is one.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct List<T> {
    /// The page.
    pub(crate) value: Vec<T>,
    /// The next page's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_link: Option<String>,
}

impl<T> List<T> {
    /// Every item in one page.
    pub(crate) fn all(value: Vec<T>) -> Self {
        Self {
            value,
            next_link: None,
        }
    }
}

/// A resource provider registered in a subscription (`GET /subscriptions/{s}/providers/{ns}`),
/// fields in the order of `GetProvider.json` (Microsoft.Resources REST spec, 2021-04-01).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Provider {
    id: String,
    namespace: &'static str,
    registration_state: &'static str,
    registration_policy: &'static str,
    resource_types: Vec<ProviderResourceType>,
}

/// One resource type of a [`Provider`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderResourceType {
    resource_type: &'static str,
    locations: Vec<&'static str>,
    api_versions: Vec<&'static str>,
    capabilities: &'static str,
}

impl Provider {
    /// Provider `p` as subscription `subscription` sees it, in `registration_state`
    /// (`Registered`, `NotRegistered`, `Registering`, `Unregistering`), each type in every
    /// region, by display name.
    pub(crate) fn new(
        subscription: &str,
        p: &'static providers::Provider,
        registration_state: &'static str,
    ) -> Self {
        let locations: Vec<&'static str> = regions::DISPLAY.iter().map(|(_, d, _)| *d).collect();
        Self {
            id: format!("/subscriptions/{subscription}/providers/{}", p.namespace),
            namespace: p.namespace,
            registration_state,
            registration_policy: "RegistrationRequired",
            resource_types: p
                .resource_types
                .iter()
                .map(|t| ProviderResourceType {
                    resource_type: t.name,
                    locations: locations.clone(),
                    api_versions: t.versions().collect(),
                    capabilities: "CrossResourceGroupResourceMove, CrossSubscriptionResourceMove, SupportsTags, SupportsLocation",
                })
                .collect(),
        }
    }
}

/// A region (`GET /subscriptions/{s}/locations`), fields in the order of `GetLocations.json`
/// (Microsoft.Resources REST spec, 2021-04-01). The example's coordinates, physical location
/// and paired region are left out: the emulator has no such data.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Location {
    id: String,
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    display_name: &'static str,
    regional_display_name: String,
    metadata: LocationMetadata,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationMetadata {
    region_type: &'static str,
    region_category: &'static str,
    geography_group: &'static str,
}

impl Location {
    /// Region `(name, display name, geography group)` of subscription `subscription`.
    pub(crate) fn new(
        subscription: &str,
        region: &(&'static str, &'static str, &'static str),
    ) -> Self {
        let (name, display, group) = *region;
        Self {
            id: format!("/subscriptions/{subscription}/locations/{name}"),
            name,
            kind: "Region",
            display_name: display,
            regional_display_name: format!("({group}) {display}"),
            metadata: LocationMetadata {
                region_type: "Physical",
                region_category: "Recommended",
                geography_group: group,
            },
        }
    }
}

/// The scope a role definition id is shown under: the subscription's for scopes inside one,
/// the tenant root otherwise.
pub(crate) fn definition_prefix(scope: &Scope) -> String {
    scope
        .subscription_id()
        .map(|s| format!("/subscriptions/{s}"))
        .unwrap_or_default()
}

/// The id of role definition `id` under `prefix` (see [`definition_prefix`]).
pub(crate) fn definition_id(prefix: &str, id: &impl std::fmt::Display) -> String {
    format!("{prefix}/providers/{DEFINITIONS}/{id}")
}

/// A role definition, built-in or custom (`GET {scope}/providers/{DEFINITIONS}/{id}` and its
/// list), fields in ARM's order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoleDefinition<'a> {
    properties: RoleDefinitionProperties<'a>,
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    name: Cow<'a, str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleDefinitionProperties<'a> {
    role_name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'a str,
    assignable_scopes: Vec<&'a str>,
    permissions: Vec<PermissionBlock<'a>>,
    created_on: Cow<'a, str>,
    updated_on: Cow<'a, str>,
    created_by: Option<Uuid>,
    updated_by: Option<Uuid>,
}

/// One block of a role definition's `permissions`. Only a built-in block with an ABAC
/// condition carries `condition` and `conditionVersion`, after the four lists, as the
/// catalog's source shows them (a guess for ARM's answer: the source is a
/// Get-AzRoleDefinition dump, not an ARM response).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PermissionBlock<'a> {
    actions: Vec<&'a str>,
    not_actions: Vec<&'a str>,
    data_actions: Vec<&'a str>,
    not_data_actions: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition_version: Option<&'a str>,
}

fn strs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

impl<'a> RoleDefinition<'a> {
    /// Built-in role `role` seen under `prefix` (see [`definition_prefix`]).
    pub(crate) fn built_in(role: &'a crate::rbac::RoleDefinition, prefix: &str) -> Self {
        let permissions = role
            .permissions
            .iter()
            .map(|p| PermissionBlock {
                actions: p.actions.to_vec(),
                not_actions: p.not_actions.to_vec(),
                data_actions: p.data_actions.to_vec(),
                not_data_actions: p.not_data_actions.to_vec(),
                condition: p.condition.map(|(c, _)| c),
                condition_version: p.condition.map(|(_, v)| v),
            })
            .collect();
        Self {
            properties: RoleDefinitionProperties {
                role_name: role.role_name,
                kind: crate::rbac::BUILT_IN_ROLE_TYPE,
                description: role.description,
                assignable_scopes: role.assignable_scopes.to_vec(),
                permissions,
                created_on: role.created_on.into(),
                updated_on: role.updated_on.into(),
                created_by: None,
                updated_by: None,
            },
            id: definition_id(prefix, &role.id),
            kind: DEFINITIONS,
            name: role.id.into(),
        }
    }

    /// Custom role `role` seen under `prefix` (see [`definition_prefix`]).
    pub(crate) fn custom(role: &'a CustomRole, prefix: &str) -> Self {
        let permissions = role
            .permissions
            .iter()
            .map(|p| PermissionBlock {
                actions: strs(&p.actions),
                not_actions: strs(&p.not_actions),
                data_actions: strs(&p.data_actions),
                not_data_actions: strs(&p.not_data_actions),
                condition: None,
                condition_version: None,
            })
            .collect();
        Self {
            properties: RoleDefinitionProperties {
                role_name: &role.role_name,
                kind: "CustomRole",
                description: &role.description,
                assignable_scopes: role.assignable_scopes.iter().map(Scope::as_str).collect(),
                permissions,
                created_on: arm_datetime(role.stamps.created_on).into(),
                updated_on: arm_datetime(role.stamps.updated_on).into(),
                created_by: role.stamps.created_by,
                updated_by: role.stamps.updated_by,
            },
            id: definition_id(prefix, &role.id),
            kind: DEFINITIONS,
            name: role.id.to_string().into(),
        }
    }
}

/// A role assignment (`{scope}/providers/{ASSIGNMENTS}/{name}` and its lists), fields in
/// ARM's order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoleAssignment<'a> {
    properties: RoleAssignmentProperties<'a>,
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    name: Uuid,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleAssignmentProperties<'a> {
    role_definition_id: String,
    principal_id: Uuid,
    principal_type: &'static str,
    scope: &'a str,
    condition: Option<&'a str>,
    condition_version: Option<&'a str>,
    created_on: String,
    updated_on: String,
    created_by: Option<Uuid>,
    updated_by: Option<Uuid>,
    delegated_managed_identity_resource_id: Option<&'a str>,
    description: Option<&'a str>,
}

impl<'a> RoleAssignment<'a> {
    /// The stored assignment `a`. On the answer to its PUT, `createdBy` is `null` (a quirk of
    /// the real service); later reads show the creator.
    pub(crate) fn new(a: &'a Assignment, put_response: bool) -> Self {
        Self {
            properties: RoleAssignmentProperties {
                role_definition_id: definition_id(&definition_prefix(&a.scope), &a.role.id()),
                principal_id: a.principal_id,
                principal_type: a.principal_type.as_str(),
                scope: a.scope.as_str(),
                condition: a.condition.as_deref(),
                condition_version: a.condition_version.as_deref(),
                created_on: arm_datetime(a.stamps.created_on),
                updated_on: arm_datetime(a.stamps.updated_on),
                created_by: if put_response {
                    None
                } else {
                    a.stamps.created_by
                },
                updated_by: a.stamps.updated_by,
                delegated_managed_identity_resource_id: a
                    .delegated_managed_identity_resource_id
                    .as_deref(),
                description: a.description.as_deref(),
            },
            id: child_id(&a.scope, ASSIGNMENTS, &a.name.to_string()),
            kind: ASSIGNMENTS,
            name: a.name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_has_arms_fields_in_arms_order() {
        let s = resources::Subscription {
            id: Uuid::from_u128(1),
            display_name: "Azure subscription 1".into(),
        };
        let json =
            serde_json::to_string(&Subscription::new(&s, Uuid::from_u128(2))).expect("serializes");
        assert_eq!(
            json,
            r#"{"id":"/subscriptions/00000000-0000-0000-0000-000000000001","authorizationSource":"RoleBased","managedByTenants":[],"subscriptionId":"00000000-0000-0000-0000-000000000001","tenantId":"00000000-0000-0000-0000-000000000002","displayName":"Azure subscription 1","state":"Enabled","subscriptionPolicies":{"locationPlacementId":"Public_2014-09-01","quotaId":"PayAsYouGo_2014-09-01","spendingLimit":"Off"}}"#
        );
    }

    #[test]
    fn a_built_in_block_shows_its_condition_after_the_four_lists_and_others_none() {
        let roles = crate::rbac::roles::all();
        let conditional = roles
            .iter()
            .find(|r| r.permissions.iter().any(|p| p.condition.is_some()))
            .expect("the catalog has a role with an ABAC condition");
        let (condition, version) = conditional
            .permissions
            .iter()
            .find_map(|p| p.condition)
            .expect("a condition");
        let json = serde_json::to_string(&RoleDefinition::built_in(conditional, "")).expect("json");
        let tail = format!(
            r#""notDataActions":{},"condition":{},"conditionVersion":{}}}"#,
            serde_json::to_string(
                conditional
                    .permissions
                    .iter()
                    .find(|p| p.condition.is_some())
                    .map(|p| p.not_data_actions)
                    .unwrap_or_default()
            )
            .expect("json"),
            serde_json::to_string(condition).expect("json"),
            serde_json::to_string(version).expect("json"),
        );
        assert!(json.contains(&tail), "{json}");
        let plain = roles
            .iter()
            .find(|r| r.permissions.iter().all(|p| p.condition.is_none()))
            .expect("a role without conditions");
        let json = serde_json::to_string(&RoleDefinition::built_in(plain, "")).expect("json");
        assert!(!json.contains("condition"), "{json}");
        assert!(json.ends_with(&format!(
            r#""createdBy":null,"updatedBy":null}},"id":"/providers/{DEFINITIONS}/{}","type":"{DEFINITIONS}","name":"{}"}}"#,
            plain.id, plain.id
        )));
    }
}

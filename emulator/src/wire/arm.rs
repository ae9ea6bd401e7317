//! Azure Resource Manager objects.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::resources;
use crate::resources::{providers, regions};

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
}

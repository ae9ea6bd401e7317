//! Azure Resource Manager objects.

use serde::Serialize;
use uuid::Uuid;

use crate::resources;

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

//! Resources of any provider type, as ARM's PUT and a seed create them: the checks in ARM's
//! order, the naming rules, and the server-owned properties the Azure Monitor data planes
//! read (a workspace's `customerId`, a component's `AppId`, a data collection rule's
//! `immutableId`).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use super::access::{known_subscription, require};
use super::arm_error::ArmError;
use crate::managed_identity::{USER_ASSIGNED_TYPE, mi_resource_id};
use crate::rbac::Scope;
use crate::resources::{ArmStore, COMPONENT_TYPE, Resource, WORKSPACE_TYPE, arm_datetime, regions};
#[cfg(feature = "monitor")]
use crate::resources::{DCE_TYPE, DCR_TYPE};
#[cfg(feature = "monitor")]
use crate::telemetry::dcr;

/// A resource (or a collection of one type) inside a resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) subscription: String,
    pub(crate) group: String,
    pub(crate) namespace: String,
    /// Type segments, outermost first: `["servers", "databases"]`.
    pub(crate) types: Vec<String>,
    /// Names, outermost first; one fewer than `types` for a collection.
    pub(crate) names: Vec<String>,
}

impl Address {
    /// `sites` or `servers/databases`.
    pub(crate) fn type_path(&self) -> String {
        self.types.join("/")
    }

    /// `Microsoft.Sql/servers/databases`.
    pub(crate) fn full_type(&self) -> String {
        format!("{}/{}", self.namespace, self.type_path())
    }

    pub(crate) fn group_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription, self.group
        )
    }

    /// The id of the resource (or of the collection's parent plus the collection's type).
    pub(crate) fn id(&self) -> String {
        let mut id = format!("{}/providers/{}", self.group_id(), self.namespace);
        for (i, t) in self.types.iter().enumerate() {
            id.push('/');
            id.push_str(t);
            if let Some(n) = self.names.get(i) {
                id.push('/');
                id.push_str(n);
            }
        }
        id
    }

    /// The parent resource's id, for nested types.
    pub(crate) fn parent_id(&self) -> Option<String> {
        let depth = self.types.len().checked_sub(1).filter(|d| *d > 0)?;
        let parent = Address {
            types: self.types[..depth].to_vec(),
            names: self.names[..depth].to_vec(),
            ..self.clone()
        };
        Some(parent.id())
    }

    pub(crate) fn name(&self) -> &str {
        self.names.last().map_or("", String::as_str)
    }
}

/// What a write is made with besides the resource's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written<'a> {
    /// The base URL the client used (endpoints in the properties point at it).
    pub(crate) base: &'a str,
    /// The emulator's time of the write.
    pub(crate) now: OffsetDateTime,
    /// The tenant (a managed identity's `tenantId`).
    pub(crate) tenant: Uuid,
    /// Server-owned properties a new resource takes instead of generated ones (a seed's
    /// fixed `customerId`, `AppId`, `InstrumentationKey`); empty for ARM's PUT.
    pub(crate) fixed: &'a Map<String, Value>,
}

/// A resource's fields, as a PUT body or a seed gives them.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceFields {
    /// `location` as written.
    pub(crate) location: Option<String>,
    /// `tags`.
    pub(crate) tags: Option<Map<String, Value>>,
    /// `kind`.
    pub(crate) kind: Option<String>,
    /// `sku`.
    pub(crate) sku: Option<Value>,
    /// `properties`.
    pub(crate) properties: Map<String, Value>,
    /// `identity` as written (managed identities); absent or null: none.
    pub(crate) identity: Option<Value>,
}

impl AppState {
    /// Creates (`true`) or replaces (`false`) the resource at `a` for `caller`, as ARM's PUT
    /// does. `fields` reads the request's fields; it runs once the subscription, the caller's
    /// `{type}/write`, the group, the parent and a new resource's name are checked, in ARM's
    /// order.
    pub(crate) fn put_resource(
        &self,
        caller: Uuid,
        a: &Address,
        at: &Written<'_>,
        fields: impl FnOnce() -> Result<ResourceFields, ArmError>,
    ) -> Result<(Resource, bool), ArmError> {
        let mut store = self.arm_mut();
        known_subscription(&store, &a.subscription)?;
        let id = a.id();
        let action = format!("{}/write", a.full_type());
        require(&store, &caller, &action, &scope_of(&id)?, at.now)?;
        require_group(&store, a)?;
        if let Some(parent) = a.parent_id()
            && store.resource(&parent).is_none()
        {
            let name = a
                .names
                .get(a.names.len().saturating_sub(2))
                .cloned()
                .unwrap_or_default();
            return Err(ArmError::ParentResourceNotFound(name));
        }
        let existing = store.resource(&id).cloned();
        if existing.is_none() {
            super::names::check(&a.full_type(), a.name())?;
        }
        let fields = fields()?;
        let location = match fields.location {
            Some(l) => Some(regions::normalize(&l, true).ok_or_else(|| {
                ArmError::LocationNotAvailableForResourceType {
                    location: l.clone(),
                    resource_type: a.full_type(),
                }
            })?),
            None => None,
        };
        let properties = fill_properties(
            at,
            &store,
            a,
            existing.as_ref(),
            fields.kind.as_deref(),
            fields.properties,
        )?;
        let identity = super::identities::fill_identity(
            &store,
            existing.as_ref(),
            fields.identity.as_ref(),
            &id,
            at.tenant,
        )?;
        // Managed identity ids spell `resourcegroups` in lower case (CLI-MI recording).
        let is_identity = a.full_type().eq_ignore_ascii_case(USER_ASSIGNED_TYPE);
        let new_id = if is_identity {
            mi_resource_id(&id)
        } else {
            id.clone()
        };
        let resource = Resource {
            id: existing.as_ref().map_or(new_id, |r| r.id.clone()),
            name: a.name().to_owned(),
            resource_type: a.full_type(),
            location,
            // A managed identity always shows its tags, `{}` when none were given (as the
            // recording above shows).
            tags: match fields.tags {
                None if is_identity => Some(Map::new()),
                tags => tags,
            },
            sku: fields.sku,
            kind: fields.kind,
            properties,
            identity,
            created: existing.as_ref().map_or(at.now, |r| r.created),
        };
        let created = store.put_resource(resource.clone());
        drop(store);
        self.sync_identities(&resource, existing.as_ref(), at.now);
        Ok((resource, created))
    }
}

pub(crate) fn scope_of(id: &str) -> Result<Scope, ArmError> {
    Scope::parse(id).map_err(|_| ArmError::MissingSubscription)
}

/// Checks that the subscription and the resource group exist.
pub(crate) fn require_group(store: &ArmStore, a: &Address) -> Result<(), ArmError> {
    let sub = known_subscription(store, &a.subscription)?;
    if store.group(&sub, &a.group).is_none() {
        return Err(ArmError::ResourceGroupNotFound(a.group.clone()));
    }
    Ok(())
}

/// A component's `CreationDate`: seven fraction digits and `+00:00`, as
/// `ComponentsCreate.json` (Azure/azure-rest-api-specs, Microsoft.Insights 2020-02-02) shows.
fn offset_datetime(t: OffsetDateTime) -> String {
    let z = arm_datetime(t);
    format!("{}+00:00", z.trim_end_matches('Z'))
}

/// A workspace's server-owned properties: a PUT body's values for them are ignored.
const WORKSPACE_OWNED: &[&str] = &[
    "customerId",
    "provisioningState",
    "createdDate",
    "modifiedDate",
];

/// An Application Insights component's server-owned properties.
const COMPONENT_OWNED: &[&str] = &[
    "ApplicationId",
    "AppId",
    "InstrumentationKey",
    "ConnectionString",
    "Name",
    "CreationDate",
    "TenantId",
    "provisioningState",
    "IngestionMode",
];

/// Adds the caller's `given` properties to `p`, but for the server-owned ones in `owned`.
pub(crate) fn insert_given(p: &mut Map<String, Value>, given: Map<String, Value>, owned: &[&str]) {
    for (k, v) in given {
        if !owned.contains(&k.as_str()) {
            p.insert(k, v);
        }
    }
}

/// Server-owned properties of the types the data planes read; the caller's values are kept
/// for everything else. ARM's PUT and PATCH and the seed fill them alike.
pub(crate) fn fill_properties(
    at: &Written<'_>,
    store: &ArmStore,
    a: &Address,
    existing: Option<&Resource>,
    kind: Option<&str>,
    given: Map<String, Value>,
) -> Result<Map<String, Value>, ArmError> {
    // The seed's fixed ids stand in for a new resource's generated ones.
    let kept = |key: &str| {
        existing
            .and_then(|r| r.properties.get(key))
            .or_else(|| at.fixed.get(key))
            .cloned()
    };
    let now = arm_datetime(at.now);
    let mut p = Map::new();
    let full_type = a.full_type();
    if full_type.eq_ignore_ascii_case(WORKSPACE_TYPE) {
        p.insert("provisioningState".into(), json!("Succeeded"));
        p.insert(
            "customerId".into(),
            kept("customerId").unwrap_or_else(|| json!(Uuid::new_v4())),
        );
        p.insert("sku".into(), json!({"name": "PerGB2018"}));
        p.insert("retentionInDays".into(), json!(30));
        p.insert(
            "features".into(),
            json!({"legacy": 0, "searchVersion": 1, "enableLogAccessUsingOnlyResourcePermissions": true}),
        );
        p.insert("workspaceCapping".into(), json!({"dailyQuotaGb": -1.0}));
        p.insert("publicNetworkAccessForIngestion".into(), json!("Enabled"));
        p.insert("publicNetworkAccessForQuery".into(), json!("Enabled"));
        insert_given(&mut p, given, WORKSPACE_OWNED);
        p.insert(
            "createdDate".into(),
            kept("createdDate").unwrap_or_else(|| json!(now)),
        );
        p.insert("modifiedDate".into(), json!(now));
    } else if full_type.eq_ignore_ascii_case(COMPONENT_TYPE) {
        let app_id = kept("AppId").unwrap_or_else(|| json!(Uuid::new_v4()));
        let ikey = kept("InstrumentationKey").unwrap_or_else(|| json!(Uuid::new_v4()));
        // Telemetry endpoints point at the emulator, like every other endpoint it describes.
        let connection = format!(
            "InstrumentationKey={};IngestionEndpoint={base}/;LiveEndpoint={base}/;ApplicationId={}",
            ikey.as_str().unwrap_or_default(),
            app_id.as_str().unwrap_or_default(),
            base = at.base
        );
        let workspace = given.contains_key("WorkspaceResourceId");
        p.insert("ApplicationId".into(), json!(a.name()));
        p.insert("AppId".into(), app_id);
        p.insert("Application_Type".into(), json!("web"));
        // What the portal and `az monitor app-insights component create` send; kept when given.
        p.insert("Flow_Type".into(), json!("Bluefield"));
        p.insert("Request_Source".into(), json!("rest"));
        p.insert("InstrumentationKey".into(), ikey);
        p.insert("ConnectionString".into(), json!(connection));
        p.insert("Name".into(), json!(a.name()));
        p.insert(
            "CreationDate".into(),
            kept("CreationDate").unwrap_or_else(|| json!(offset_datetime(at.now))),
        );
        // ARM reports the subscription id under this name.
        p.insert("TenantId".into(), json!(a.subscription));
        p.insert("provisioningState".into(), json!("Succeeded"));
        p.insert("SamplingPercentage".into(), json!(100.0));
        p.insert("DisableIpMasking".into(), json!(false));
        p.insert(
            "IngestionMode".into(),
            json!(if workspace {
                "LogAnalytics"
            } else {
                "ApplicationInsights"
            }),
        );
        p.insert("RetentionInDays".into(), json!(90));
        p.insert("publicNetworkAccessForIngestion".into(), json!("Enabled"));
        p.insert("publicNetworkAccessForQuery".into(), json!("Enabled"));
        insert_given(&mut p, given, COMPONENT_OWNED);
    } else if full_type.eq_ignore_ascii_case(USER_ASSIGNED_TYPE) {
        // Server-owned, in the order of a real answer (fixtures/azure/
        // cli_role_assignment_no_graph.json, api-version 2024-11-30; CLI-MI recording,
        // Azure/azure-cli `…/identity/tests/latest/recordings/test_identity_management.yaml`).
        let scope = given
            .get("isolationScope")
            .filter(|v| v.is_string())
            .cloned()
            .or_else(|| kept("isolationScope"))
            .unwrap_or_else(|| json!("None"));
        p.insert("isolationScope".into(), scope);
        p.insert(
            "tenantId".into(),
            kept("tenantId").unwrap_or_else(|| json!(at.tenant)),
        );
        p.insert(
            "principalId".into(),
            kept("principalId").unwrap_or_else(|| json!(Uuid::new_v4())),
        );
        p.insert(
            "clientId".into(),
            kept("clientId").unwrap_or_else(|| json!(Uuid::new_v4())),
        );
    } else {
        // Without the Monitor data planes, rules and endpoints are resources like any other.
        #[cfg(not(feature = "monitor"))]
        let _ = (store, kind);
        #[cfg(feature = "monitor")]
        if full_type.eq_ignore_ascii_case(DCR_TYPE) {
            return dcr::dcr_properties(store, existing, given, kind, at.base, at.now)
                .map_err(ArmError::InvalidDataCollectionRule);
        } else if full_type.eq_ignore_ascii_case(DCE_TYPE) {
            return Ok(dcr::dce_properties(existing, given, at.base));
        }
        p = given;
        p.insert("provisioningState".into(), json!("Succeeded"));
    }
    Ok(p)
}

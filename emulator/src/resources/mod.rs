//! ARM's data: subscriptions, resource groups, resources, and the role assignment store.
//!
//! Everything here sits under one lock (`AppState::arm`), because one write can touch all
//! of it: deleting a resource group removes its resources and the role assignments
//! scoped inside it.

pub(crate) mod providers;
pub(crate) mod regions;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::changes::{Counter, Mark, Tracker};
use crate::rbac::{AssignmentStore, Planes, Scope, ScopeKind};

/// ARM type of the Log Analytics workspace, whose `customerId` the query API uses.
pub(crate) const WORKSPACE_TYPE: &str = "Microsoft.OperationalInsights/workspaces";
/// ARM type of the Application Insights component, whose `AppId` the query API uses.
pub(crate) const COMPONENT_TYPE: &str = "Microsoft.Insights/components";

/// ARM type of data collection rules, whose `immutableId` the Logs Ingestion API uses.
pub(crate) const DCR_TYPE: &str = "Microsoft.Insights/dataCollectionRules";
/// ARM type of data collection endpoints.
pub(crate) const DCE_TYPE: &str = "Microsoft.Insights/dataCollectionEndpoints";

/// ARM's timestamp form for role assignments and definitions: seven fractional digits, `Z`.
pub(crate) fn arm_datetime(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A subscription of the tenant.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    /// Subscription id.
    pub(crate) id: Uuid,
    /// Display name.
    pub(crate) display_name: String,
}

/// A resource group (persisted as it is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResourceGroup {
    /// Subscription.
    pub(crate) subscription: Uuid,
    /// Name as first written.
    pub(crate) name: String,
    /// Normalized region name.
    pub(crate) location: String,
    /// Tags; `None` when never set (ARM then omits the property).
    pub(crate) tags: Option<Map<String, Value>>,
    /// `managedBy`, when set.
    pub(crate) managed_by: Option<String>,
}

impl ResourceGroup {
    /// `/subscriptions/{s}/resourceGroups/{name}`.
    pub(crate) fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription, self.name
        )
    }
}

/// A resource of any provider type (persisted as it is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Resource {
    /// Full ARM id, as first written (canonical `resourceGroups` spelling).
    pub(crate) id: String,
    /// Innermost name.
    pub(crate) name: String,
    /// Full type, e.g. `Microsoft.Insights/components` or `Microsoft.Sql/servers/databases`.
    pub(crate) resource_type: String,
    /// Normalized region, when the resource has one.
    pub(crate) location: Option<String>,
    /// Tags, when set.
    pub(crate) tags: Option<Map<String, Value>>,
    /// `sku`, as written.
    pub(crate) sku: Option<Value>,
    /// `kind`, as written.
    pub(crate) kind: Option<String>,
    /// `properties`, with the server-owned ones filled in.
    pub(crate) properties: Map<String, Value>,
    /// `identity` (managed identities) as ARM shows it, when the resource has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) identity: Option<Value>,
    /// Creation time.
    pub(crate) created: OffsetDateTime,
}

impl Resource {
    /// A property (`customerId`, `AppId`, `principalId`, …) parsed as a GUID.
    pub(crate) fn guid_property(&self, name: &str) -> Option<Uuid> {
        self.properties
            .get(name)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    }
}

/// Why a scope does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Missing {
    /// No such subscription.
    Subscription(String),
    /// No such resource group.
    ResourceGroup(String),
    /// No such resource (`type`, `name`, `resource group`).
    Resource(String, String, String),
    /// A kind of scope the emulator does not model (management groups).
    Unsupported,
}

/// The tenant's ARM state.
#[derive(Debug, Default, Clone)]
pub(crate) struct ArmStore {
    subscriptions: BTreeMap<Uuid, Subscription>,
    /// (subscription, lower-case name) → group.
    groups: BTreeMap<(Uuid, String), ResourceGroup>,
    /// lower-case id → resource; ordered so that a group's resources are one range.
    resources: BTreeMap<String, Resource>,
    /// Workspace `customerId` → lower-case id.
    workspaces: HashMap<Uuid, String>,
    /// Component `AppId` → lower-case id.
    components: HashMap<Uuid, String>,
    /// Data collection rule `immutableId` (lower-case) → lower-case id.
    rules: HashMap<String, String>,
    /// Per subscription, the resource providers unregistered from it (canonical namespace
    /// names); every other provider is registered.
    unregistered: BTreeMap<Uuid, BTreeSet<&'static str>>,
    /// Role assignments and custom roles.
    pub(crate) authz: AssignmentStore,
    /// Keys changed since persistence last looked (`None`: not persisted).
    track: Option<Tracker<ArmKey>>,
}

/// What persistence tracks in an [`ArmStore`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ArmKey {
    /// A subscription.
    Subscription(Uuid),
    /// A resource group: subscription and lower-case name.
    Group(Uuid, String),
    /// A resource: lower-case id.
    Resource(String),
    /// The providers unregistered from a subscription.
    Providers(Uuid),
}

impl ArmStore {
    /// The subscription `id`.
    pub(crate) fn subscription(&self, id: &Uuid) -> Option<&Subscription> {
        self.subscriptions.get(id)
    }

    /// Every subscription, in id order.
    pub(crate) fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.subscriptions.values()
    }

    /// Adds (or renames) a subscription.
    pub(crate) fn put_subscription(&mut self, subscription: Subscription) {
        self.touch(ArmKey::Subscription(subscription.id));
        self.subscriptions.insert(subscription.id, subscription);
    }

    /// Whether `namespace` (canonical, as [`providers::provider`] names it) is registered
    /// with `subscription`.
    pub(crate) fn is_registered(&self, subscription: &Uuid, namespace: &str) -> bool {
        self.unregistered
            .get(subscription)
            .is_none_or(|set| !set.contains(namespace))
    }

    /// The providers unregistered from `subscription`.
    pub(crate) fn unregistered(&self, subscription: &Uuid) -> impl Iterator<Item = &'static str> {
        self.unregistered
            .get(subscription)
            .into_iter()
            .flat_map(|set| set.iter().copied())
    }

    /// Registers `namespace` with `subscription`, or unregisters it; returns whether it was
    /// registered before.
    pub(crate) fn set_registered(
        &mut self,
        subscription: Uuid,
        namespace: &'static str,
        registered: bool,
    ) -> bool {
        let set = self.unregistered.entry(subscription).or_default();
        let was = !set.contains(namespace);
        if registered {
            set.remove(namespace);
        } else {
            set.insert(namespace);
        }
        if set.is_empty() {
            self.unregistered.remove(&subscription);
        }
        if was != registered {
            self.touch(ArmKey::Providers(subscription));
        }
        was
    }

    /// The resource group `name` (any case) of `subscription`.
    pub(crate) fn group(&self, subscription: &Uuid, name: &str) -> Option<&ResourceGroup> {
        self.groups.get(&(*subscription, name.to_ascii_lowercase()))
    }

    /// The groups of `subscription`, by lower-case name.
    pub(crate) fn groups(&self, subscription: &Uuid) -> impl Iterator<Item = &ResourceGroup> {
        let sub = *subscription;
        self.groups
            .range((sub, String::new())..)
            .take_while(move |((s, _), _)| *s == sub)
            .map(|(_, g)| g)
    }

    /// Stores a group; `true` when it is new.
    pub(crate) fn put_group(&mut self, group: ResourceGroup) -> bool {
        let key = (group.subscription, group.name.to_ascii_lowercase());
        self.touch(ArmKey::Group(key.0, key.1.clone()));
        self.groups.insert(key, group).is_none()
    }

    /// Deletes a group with its resources and the role assignments scoped inside it
    /// (revocations propagate with `delays(name)`).
    pub(crate) fn delete_group(
        &mut self,
        subscription: &Uuid,
        name: &str,
        now: OffsetDateTime,
        delays: impl Fn(&Uuid) -> Planes<Duration>,
    ) -> Option<ResourceGroup> {
        let group = self
            .groups
            .remove(&(*subscription, name.to_ascii_lowercase()))?;
        self.touch(ArmKey::Group(*subscription, name.to_ascii_lowercase()));
        let prefix = format!("{}/", group.id().to_ascii_lowercase());
        self.remove_resources_with_prefix(&prefix);
        if let Ok(scope) = Scope::parse(&group.id()) {
            self.authz.remove_within(&scope, now, delays);
        }
        Some(group)
    }

    /// The resource with this id (any case).
    pub(crate) fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.get(&id.to_ascii_lowercase())
    }

    /// Resources whose lower-case id starts with `prefix` (itself lower-case), skipping
    /// extension resources (those with a second `/providers/`) unless `extensions`.
    pub(crate) fn resources_under<'a>(
        &'a self,
        prefix: &'a str,
        extensions: bool,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter(move |(k, _)| extensions || k.matches("/providers/").count() == 1)
            .map(|(_, r)| r)
    }

    /// Stores a resource; `true` when it is new. Keeps the data-plane indexes current.
    pub(crate) fn put_resource(&mut self, resource: Resource) -> bool {
        let key = resource.id.to_ascii_lowercase();
        if resource.resource_type.eq_ignore_ascii_case(WORKSPACE_TYPE)
            && let Some(id) = resource.guid_property("customerId")
        {
            self.workspaces.insert(id, key.clone());
        }
        if resource.resource_type.eq_ignore_ascii_case(COMPONENT_TYPE)
            && let Some(id) = resource.guid_property("AppId")
        {
            self.components.insert(id, key.clone());
        }
        if resource.resource_type.eq_ignore_ascii_case(DCR_TYPE)
            && let Some(id) = resource
                .properties
                .get("immutableId")
                .and_then(Value::as_str)
        {
            self.rules.insert(id.to_ascii_lowercase(), key.clone());
        }
        self.touch(ArmKey::Resource(key.clone()));
        self.resources.insert(key, resource).is_none()
    }

    /// Deletes a resource, its child and extension resources, and the role assignments
    /// scoped at or below it.
    pub(crate) fn delete_resource(
        &mut self,
        id: &str,
        now: OffsetDateTime,
        delays: impl Fn(&Uuid) -> Planes<Duration>,
    ) -> Option<Resource> {
        let key = id.to_ascii_lowercase();
        let resource = self.resources.get(&key)?.clone();
        self.remove_resources_with_prefix(&format!("{key}/"));
        self.unindex(&key);
        self.resources.remove(&key);
        self.touch(ArmKey::Resource(key));
        if let Ok(scope) = Scope::parse(&resource.id) {
            self.authz.remove_within(&scope, now, delays);
        }
        Some(resource)
    }

    fn remove_resources_with_prefix(&mut self, prefix: &str) {
        let keys: Vec<String> = self
            .resources
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.unindex(&key);
            self.resources.remove(&key);
            self.touch(ArmKey::Resource(key));
        }
    }

    fn touch(&mut self, key: ArmKey) {
        if let Some(t) = &mut self.track {
            t.mark(key);
        }
    }

    /// Starts recording changes, for persistence (see [`crate::persist`]).
    pub(crate) fn track(&mut self, counter: Counter) {
        self.track = Some(Tracker::new(counter.clone()));
        self.authz.track(counter);
    }

    /// The keys changed since the last call (the assignment store's are apart).
    pub(crate) fn take_changed(&mut self) -> Vec<ArmKey> {
        self.track.as_mut().map(Tracker::take).unwrap_or_default()
    }

    /// Every resource group, of every subscription.
    pub(crate) fn all_groups(&self) -> impl Iterator<Item = &ResourceGroup> {
        self.groups.values()
    }

    /// Every resource.
    pub(crate) fn all_resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    /// The group under this key (lower-case name), for persistence.
    pub(crate) fn group_by_key(&self, subscription: &Uuid, lower: &str) -> Option<&ResourceGroup> {
        self.groups.get(&(*subscription, lower.to_owned()))
    }

    /// Removes one subscription, group or resource and nothing else (persistence replay:
    /// cascades were recorded as their own changes).
    pub(crate) fn forget(&mut self, key: &ArmKey) {
        match key {
            ArmKey::Subscription(id) => {
                self.subscriptions.remove(id);
            }
            ArmKey::Group(sub, name) => {
                self.groups.remove(&(*sub, name.clone()));
            }
            ArmKey::Resource(id) => {
                self.unindex(id);
                self.resources.remove(id);
            }
            ArmKey::Providers(sub) => {
                self.unregistered.remove(sub);
            }
        }
    }

    fn unindex(&mut self, key: &str) {
        self.workspaces.retain(|_, k| k != key);
        self.components.retain(|_, k| k != key);
        self.rules.retain(|_, k| k != key);
    }

    /// The Log Analytics workspace whose `customerId` (the query API's workspace id) is `id`.
    pub(crate) fn workspace_by_customer_id(&self, id: &Uuid) -> Option<&Resource> {
        self.workspaces.get(id).and_then(|k| self.resources.get(k))
    }

    /// The Application Insights component whose `AppId` (the query API's app id) is `id`.
    pub(crate) fn component_by_app_id(&self, id: &Uuid) -> Option<&Resource> {
        self.components.get(id).and_then(|k| self.resources.get(k))
    }

    /// The data collection rule whose `immutableId` (the Logs Ingestion API's rule id) is
    /// `id`, compared case-insensitively.
    pub(crate) fn dcr_by_immutable_id(&self, id: &str) -> Option<&Resource> {
        self.rules
            .get(&id.to_ascii_lowercase())
            .and_then(|k| self.resources.get(k))
    }

    /// Whether the scope exists: root, a known subscription, group or resource.
    pub(crate) fn check_scope(&self, scope: &Scope) -> Result<(), Missing> {
        let Some(sub_text) = scope.subscription_id() else {
            return match scope.kind() {
                ScopeKind::Root => Ok(()),
                _ => Err(Missing::Unsupported),
            };
        };
        let sub = Uuid::parse_str(sub_text)
            .ok()
            .filter(|id| self.subscriptions.contains_key(id))
            .ok_or_else(|| Missing::Subscription(sub_text.to_owned()))?;
        let Some(rg) = scope.resource_group() else {
            // Subscription-level resources (`/subscriptions/{s}/providers/…`) are not
            // modelled: only the subscription itself exists at that level.
            return match scope.kind() {
                ScopeKind::Subscription => Ok(()),
                _ => Err(Missing::Unsupported),
            };
        };
        if self.group(&sub, rg).is_none() {
            return Err(Missing::ResourceGroup(rg.to_owned()));
        }
        if scope.kind() == ScopeKind::ResourceGroup || self.resource(scope.as_str()).is_some() {
            return Ok(());
        }
        Err(Missing::Resource(
            scope.provider_type().unwrap_or_default().to_owned(),
            scope.resource_name().unwrap_or_default().to_owned(),
            rg.to_owned(),
        ))
    }
}

impl crate::changes::Tracked for ArmStore {
    /// The mark of the last change recorded here or in the assignment store (see
    /// [`crate::changes`]).
    fn last_mark(&self) -> Mark {
        let own = self.track.as_ref().map_or(Mark::NONE, Tracker::last);
        own.max(self.authz.last_mark())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: Uuid = Uuid::from_u128(0xaa);

    fn store() -> ArmStore {
        let mut s = ArmStore::default();
        s.put_subscription(Subscription {
            id: SUB,
            display_name: "sub".into(),
        });
        s.put_group(ResourceGroup {
            subscription: SUB,
            name: "Rg1".into(),
            location: "eastus".into(),
            tags: None,
            managed_by: None,
        });
        s
    }

    fn resource(id: &str, ty: &str, props: Value) -> Resource {
        Resource {
            id: id.into(),
            name: id.rsplit('/').next().unwrap_or_default().into(),
            resource_type: ty.into(),
            location: Some("eastus".into()),
            tags: None,
            sku: None,
            kind: None,
            properties: props.as_object().cloned().unwrap_or_default(),
            identity: None,
            created: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn groups_are_case_insensitive_and_listed_per_subscription() {
        let mut s = store();
        assert!(s.group(&SUB, "rg1").is_some());
        assert!(s.group(&SUB, "RG1").is_some());
        assert!(s.group(&Uuid::nil(), "rg1").is_none());
        assert!(!s.put_group(ResourceGroup {
            subscription: SUB,
            name: "rg1".into(),
            location: "eastus".into(),
            tags: None,
            managed_by: None,
        }));
        assert_eq!(s.groups(&SUB).count(), 1);
        assert_eq!(s.groups(&Uuid::nil()).count(), 0);
    }

    #[test]
    fn data_plane_ids_find_their_resources_until_deleted() {
        let mut s = store();
        let customer = Uuid::from_u128(5);
        let ws = format!("/subscriptions/{SUB}/resourceGroups/Rg1/providers/{WORKSPACE_TYPE}/w");
        s.put_resource(resource(
            &ws,
            WORKSPACE_TYPE,
            serde_json::json!({"customerId": customer.to_string()}),
        ));
        let app = Uuid::from_u128(6);
        let ai = format!("/subscriptions/{SUB}/resourceGroups/Rg1/providers/{COMPONENT_TYPE}/a");
        s.put_resource(resource(
            &ai,
            COMPONENT_TYPE,
            serde_json::json!({"AppId": app.to_string()}),
        ));
        let child = format!("{ws}/tables/T1");
        s.put_resource(resource(
            &child,
            "Microsoft.OperationalInsights/workspaces/tables",
            serde_json::json!({}),
        ));
        assert_eq!(
            s.workspace_by_customer_id(&customer).map(|r| r.id.as_str()),
            Some(ws.as_str())
        );
        assert_eq!(
            s.component_by_app_id(&app).map(|r| r.name.as_str()),
            Some("a")
        );
        let prefix = format!("/subscriptions/{SUB}/resourcegroups/rg1/");
        assert_eq!(s.resources_under(&prefix, false).count(), 3);
        let deleted = s.delete_resource(&ws.to_uppercase(), OffsetDateTime::UNIX_EPOCH, |_| {
            Planes::same(Duration::ZERO)
        });
        assert!(deleted.is_some());
        assert!(s.workspace_by_customer_id(&customer).is_none());
        assert!(
            s.resource(&child).is_none(),
            "children go with their parent"
        );
        s.delete_group(&SUB, "RG1", OffsetDateTime::UNIX_EPOCH, |_| {
            Planes::same(Duration::ZERO)
        });
        assert!(s.component_by_app_id(&app).is_none());
        assert_eq!(s.resources_under(&prefix, true).count(), 0);
    }

    #[test]
    fn scopes_are_checked_level_by_level() {
        let mut s = store();
        let parse = |t: &str| Scope::parse(t).expect("scope");
        assert_eq!(s.check_scope(&Scope::root()), Ok(()));
        assert_eq!(
            s.check_scope(&parse(&format!("/subscriptions/{SUB}"))),
            Ok(())
        );
        assert_eq!(
            s.check_scope(&parse("/subscriptions/nope")),
            Err(Missing::Subscription("nope".into()))
        );
        assert_eq!(
            s.check_scope(&parse(&format!("/subscriptions/{SUB}/resourceGroups/RG1"))),
            Ok(())
        );
        assert_eq!(
            s.check_scope(&parse(&format!("/subscriptions/{SUB}/resourceGroups/x"))),
            Err(Missing::ResourceGroup("x".into()))
        );
        let site =
            format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Web/sites/s");
        assert_eq!(
            s.check_scope(&parse(&site)),
            Err(Missing::Resource(
                "Microsoft.Web/sites".into(),
                "s".into(),
                "rg1".into()
            ))
        );
        s.put_resource(resource(
            &site,
            "Microsoft.Web/sites",
            serde_json::json!({}),
        ));
        assert_eq!(s.check_scope(&parse(&site)), Ok(()));
        assert_eq!(
            s.check_scope(&parse("/providers/Microsoft.Management/managementGroups/m")),
            Err(Missing::Unsupported)
        );
    }
}

//! What goes on disk: one [`Record`] per changed object (its whole new state, or its
//! removal), per Monitor write, or per clock move. Object records are idempotent (replaying
//! one twice leaves the same state), so a change that lands in both a snapshot and the
//! journal after it does no harm; Monitor writes are ordered under the Monitor lock and
//! drained together with it, so each is journaled exactly once.
//!
//! Records are JSON inside checksummed binary frames (see [`super::format`]): no new
//! dependency, readable with `jq` when debugging, and fast enough (see the README figures).

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::arm::store::{ArmKey, ArmStore, Resource, ResourceGroup, Subscription};
use crate::directory::{
    AppRoleGrant, Application, Directory, PasswordCredential, ServicePrincipal, StoredObject,
};
use crate::kql::{Column, ColumnType, Table, Value};
use crate::monitor::store::{Aggregate, Metric, MonitorOp, MonitorStore, Namespace, Point};
use crate::rbac::assignments::{AuthzKey, Grant, StaleRole};
use crate::rbac::{
    Assignment, AssignmentStore, CustomRole, OwnedPermission, PrincipalType, RoleRef, Scope,
};
use crate::secret::SecretHash;

/// One persisted change or object.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Record {
    /// Snapshot only: what identifies this emulator's tokens.
    Meta {
        /// [`crate::state::Shared::instance_tag`].
        instance_tag: String,
    },
    /// How far the clock is ahead of wall time.
    Clock {
        /// Nanoseconds.
        offset_nanos: u64,
    },
    /// An application, live or deleted.
    App(AppRec),
    /// A service principal, live or deleted.
    Sp(SpRec),
    /// A directory object gone for good.
    DirGone(Uuid),
    /// A subscription.
    Subscription(Uuid, String),
    /// A subscription removed.
    SubscriptionGone(Uuid),
    /// A resource group.
    Group(GroupRec),
    /// A resource group removed (subscription, lower-case name).
    GroupGone(Uuid, String),
    /// A resource.
    Resource(ResourceRec),
    /// A resource removed (lower-case id).
    ResourceGone(String),
    /// A role assignment's slot (see [`AuthzKey::Slot`]).
    Slot(SlotRec),
    /// A custom role definition.
    Role(RoleRec),
    /// A custom role definition removed.
    RoleGone(Uuid),
    /// A custom role definition removed whose permissions some plane still applies.
    RoleRetired {
        /// The role's GUID.
        id: Uuid,
        /// Its permissions before deletion (and earlier edits), oldest first.
        stale: Vec<StaleRec>,
    },
    /// Rows appended to a workspace table.
    WorkspaceRows {
        /// `customerId`.
        customer_id: Uuid,
        /// The time stamped on rows without one.
        now: OffsetDateTime,
        /// The rows.
        rows: TableRec,
    },
    /// Rows appended to a component table.
    AppRows {
        /// `AppId`.
        app_id: Uuid,
        /// The table's schema.
        schema: Vec<(String, String)>,
        /// The rows.
        rows: TableRec,
    },
    /// Custom metric points.
    Points(PointsRec),
    /// Snapshot only: a whole table (`component`: of a component, else of a workspace).
    Table {
        /// Of a component.
        component: bool,
        /// `AppId` or `customerId`.
        id: Uuid,
        /// The table.
        table: TableRec,
    },
    /// Snapshot only: every custom metric of a resource.
    Metrics {
        /// Lower-case resource id.
        resource: String,
        /// Its namespaces.
        namespaces: Vec<NamespaceRec>,
    },
    /// Snapshot only, last: how many records precede it.
    End {
        /// Records before this one.
        records: u64,
    },
}

/// A float that survives JSON even when not finite.
#[derive(Debug, Clone, Copy)]
pub(crate) struct F(pub(crate) f64);

impl Serialize for F {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_str(&self.0.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for F {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Json::deserialize(d)? {
            Json::Number(n) => n
                .as_f64()
                .map(F)
                .ok_or_else(|| serde::de::Error::custom("bad number")),
            Json::String(s) => s
                .parse()
                .map(F)
                .map_err(|_| serde::de::Error::custom("bad float")),
            _ => Err(serde::de::Error::custom("expected a number")),
        }
    }
}

/// [`PasswordCredential`]: metadata, salt and digest; never a secret.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CredRec {
    key_id: Uuid,
    display_name: Option<String>,
    hint: String,
    start: OffsetDateTime,
    end: OffsetDateTime,
    /// Base64 of the salt.
    salt: String,
    /// Base64 of SHA-256(salt ‖ secret).
    digest: String,
}

/// [`Application`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AppRec {
    id: Uuid,
    app_id: Uuid,
    display_name: String,
    created: OffsetDateTime,
    sign_in_audience: String,
    identifier_uris: Vec<String>,
    requested_access_token_version: Option<i64>,
    password_credentials: Vec<CredRec>,
    props: Map<String, Json>,
    deleted: Option<OffsetDateTime>,
    seq: u64,
}

/// [`ServicePrincipal`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SpRec {
    id: Uuid,
    app_id: Uuid,
    display_name: String,
    created: OffsetDateTime,
    account_enabled: bool,
    app_roles: Vec<(Uuid, String)>,
    props: Map<String, Json>,
    deleted: Option<OffsetDateTime>,
    seq: u64,
}

/// [`ResourceGroup`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GroupRec {
    subscription: Uuid,
    name: String,
    location: String,
    tags: Option<Map<String, Json>>,
    managed_by: Option<String>,
}

/// [`Resource`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ResourceRec {
    id: String,
    name: String,
    resource_type: String,
    location: Option<String>,
    tags: Option<Map<String, Json>>,
    sku: Option<Json>,
    kind: Option<String>,
    properties: Map<String, Json>,
    created: OffsetDateTime,
}

/// A role definition reference: a built-in role's or a custom role's GUID.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RoleRefRec {
    id: Uuid,
    custom: bool,
}

/// A live [`Assignment`] (its name and principal are the slot's).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AssignmentRec {
    scope: String,
    role: RoleRefRec,
    principal_type: String,
    description: Option<String>,
    condition: Option<String>,
    condition_version: Option<String>,
    delegated_managed_identity_resource_id: Option<String>,
    created_on: OffsetDateTime,
    updated_on: OffsetDateTime,
    created_by: Option<Uuid>,
    updated_by: Option<Uuid>,
}

/// A grant's effect windows.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GrantRec {
    role: RoleRefRec,
    scope: String,
    effective: [OffsetDateTime; 4],
    revoked: Option<[OffsetDateTime; 4]>,
}

/// Everything under one [`AuthzKey::Slot`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SlotRec {
    name: Uuid,
    principal: Uuid,
    key: String,
    live: Option<AssignmentRec>,
    grants: Vec<GrantRec>,
}

/// [`OwnedPermission`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PermissionRec {
    actions: Vec<String>,
    not_actions: Vec<String>,
    data_actions: Vec<String>,
    not_data_actions: Vec<String>,
}

/// [`CustomRole`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RoleRec {
    id: Uuid,
    role_name: String,
    description: String,
    permissions: Vec<PermissionRec>,
    assignable_scopes: Vec<String>,
    created_on: OffsetDateTime,
    updated_on: OffsetDateTime,
    created_by: Option<Uuid>,
    updated_by: Option<Uuid>,
    /// Earlier permissions planes still apply (absent in files written before it existed).
    #[serde(default)]
    stale: Vec<StaleRec>,
}

/// [`StaleRole`]: permissions a plane applies until its entry of `until`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StaleRec {
    permissions: Vec<PermissionRec>,
    until: [OffsetDateTime; 4],
}

/// A [`Table`]: schema and rows, each value encoded after its column's type.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TableRec {
    name: String,
    columns: Vec<(String, String)>,
    rows: Vec<Vec<Json>>,
}

/// One series of [`Point`]s.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PointRec {
    dimensions: Vec<(String, String)>,
    value: [F; 4],
}

/// [`MonitorOp::Points`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PointsRec {
    resource: String,
    namespace: String,
    metric: String,
    minute: i64,
    points: Vec<PointRec>,
}

/// One [`Metric`] with its series.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct MetricRec {
    key: String,
    name: String,
    dimensions: Vec<String>,
    series: Vec<(Vec<String>, Vec<MinuteRec>)>,
}

/// One minute of a series: Unix minute and min, max, sum, count.
type MinuteRec = (i64, [F; 4]);

/// One [`Namespace`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct NamespaceRec {
    key: String,
    name: String,
    metrics: Vec<MetricRec>,
}

// ---- from memory ---------------------------------------------------------------------

fn cred(c: &PasswordCredential) -> CredRec {
    let (salt, digest) = c.hash.parts();
    CredRec {
        key_id: c.key_id,
        display_name: c.display_name.clone(),
        hint: c.hint.clone(),
        start: c.start,
        end: c.end,
        salt: STANDARD.encode(salt),
        digest: STANDARD.encode(digest),
    }
}

/// The record of a directory object.
pub(crate) fn object(o: StoredObject<'_>) -> Record {
    match o {
        StoredObject::Application(a) => Record::App(AppRec {
            id: a.id,
            app_id: a.app_id,
            display_name: a.display_name.clone(),
            created: a.created,
            sign_in_audience: a.sign_in_audience.clone(),
            identifier_uris: a.identifier_uris.clone(),
            requested_access_token_version: a.requested_access_token_version,
            password_credentials: a.password_credentials.iter().map(cred).collect(),
            props: a.props.clone(),
            deleted: a.deleted,
            seq: a.seq,
        }),
        StoredObject::ServicePrincipal(s) => Record::Sp(SpRec {
            id: s.id,
            app_id: s.app_id,
            display_name: s.display_name.clone(),
            created: s.created,
            account_enabled: s.account_enabled,
            app_roles: s
                .app_roles
                .iter()
                .map(|r| (r.resource_app_id, r.value.clone()))
                .collect(),
            props: s.props.clone(),
            deleted: s.deleted,
            seq: s.seq,
        }),
    }
}

/// The records of the directory objects changed since the last call.
pub(crate) fn directory_changes(dir: &mut Directory, out: &mut Vec<Record>) {
    for id in dir.take_changed() {
        out.push(dir.object(&id).map_or(Record::DirGone(id), object));
    }
}

fn group(g: &ResourceGroup) -> Record {
    Record::Group(GroupRec {
        subscription: g.subscription,
        name: g.name.clone(),
        location: g.location.clone(),
        tags: g.tags.clone(),
        managed_by: g.managed_by.clone(),
    })
}

fn resource(r: &Resource) -> Record {
    Record::Resource(ResourceRec {
        id: r.id.clone(),
        name: r.name.clone(),
        resource_type: r.resource_type.clone(),
        location: r.location.clone(),
        tags: r.tags.clone(),
        sku: r.sku.clone(),
        kind: r.kind.clone(),
        properties: r.properties.clone(),
        created: r.created,
    })
}

fn role_ref(r: &RoleRef) -> RoleRefRec {
    RoleRefRec {
        id: r.id(),
        custom: matches!(r, RoleRef::Custom(_)),
    }
}

fn slot(store: &AssignmentStore, name: Uuid, principal: Uuid, key: &str) -> Record {
    let (live, grants) = store.slot(&name, &principal, key);
    Record::Slot(SlotRec {
        name,
        principal,
        key: key.to_owned(),
        live: live.map(|a| AssignmentRec {
            scope: a.scope.as_str().to_owned(),
            role: role_ref(&a.role),
            principal_type: a.principal_type.as_str().to_owned(),
            description: a.description.clone(),
            condition: a.condition.clone(),
            condition_version: a.condition_version.clone(),
            delegated_managed_identity_resource_id: a
                .delegated_managed_identity_resource_id
                .clone(),
            created_on: a.created_on,
            updated_on: a.updated_on,
            created_by: a.created_by,
            updated_by: a.updated_by,
        }),
        grants: grants
            .into_iter()
            .map(|g| GrantRec {
                role: role_ref(&g.role),
                scope: g.scope.to_string(),
                effective: g.effective,
                revoked: g.revoked,
            })
            .collect(),
    })
}

fn permission_recs(permissions: &[OwnedPermission]) -> Vec<PermissionRec> {
    permissions
        .iter()
        .map(|p| PermissionRec {
            actions: p.actions.clone(),
            not_actions: p.not_actions.clone(),
            data_actions: p.data_actions.clone(),
            not_data_actions: p.not_data_actions.clone(),
        })
        .collect()
}

fn permissions_of(recs: Vec<PermissionRec>) -> Vec<OwnedPermission> {
    recs.into_iter()
        .map(|p| OwnedPermission {
            actions: p.actions,
            not_actions: p.not_actions,
            data_actions: p.data_actions,
            not_data_actions: p.not_data_actions,
        })
        .collect()
}

fn stale_recs(views: &[StaleRole]) -> Vec<StaleRec> {
    views
        .iter()
        .map(|v| StaleRec {
            permissions: permission_recs(&v.permissions),
            until: v.until,
        })
        .collect()
}

fn stale_of(recs: Vec<StaleRec>) -> Vec<StaleRole> {
    recs.into_iter()
        .map(|r| StaleRole {
            permissions: permissions_of(r.permissions),
            until: r.until,
        })
        .collect()
}

fn custom_role(r: &CustomRole, stale: &[StaleRole]) -> Record {
    Record::Role(RoleRec {
        id: r.id,
        role_name: r.role_name.clone(),
        description: r.description.clone(),
        permissions: permission_recs(&r.permissions),
        assignable_scopes: r
            .assignable_scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        created_on: r.created_on,
        updated_on: r.updated_on,
        created_by: r.created_by,
        updated_by: r.updated_by,
        stale: stale_recs(stale),
    })
}

/// What persistence keeps of custom role `id`: the role, or the permissions planes still
/// apply after its deletion, or its absence.
fn role_record(store: &AssignmentStore, id: Uuid) -> Record {
    let stale = store.stale_role(&id);
    match store.custom_role(&id) {
        Some(r) => custom_role(r, stale),
        None if !stale.is_empty() => Record::RoleRetired {
            id,
            stale: stale_recs(stale),
        },
        None => Record::RoleGone(id),
    }
}

fn authz_key(store: &AssignmentStore, key: AuthzKey) -> Record {
    match key {
        AuthzKey::Slot {
            name,
            principal,
            key,
        } => slot(store, name, principal, &key),
        AuthzKey::Role(id) => role_record(store, id),
    }
}

/// The records of the ARM objects changed since the last call.
pub(crate) fn arm_changes(arm: &mut ArmStore, out: &mut Vec<Record>) {
    for key in arm.take_changed() {
        out.push(match key {
            ArmKey::Subscription(id) => arm
                .subscription(&id)
                .map_or(Record::SubscriptionGone(id), |s| {
                    Record::Subscription(s.id, s.display_name.clone())
                }),
            ArmKey::Group(sub, name) => arm
                .group_by_key(&sub, &name)
                .map_or(Record::GroupGone(sub, name), group),
            ArmKey::Resource(id) => arm.resource(&id).map_or(Record::ResourceGone(id), resource),
        });
    }
    for key in arm.authz.take_changed() {
        out.push(authz_key(&arm.authz, key));
    }
}

/// Encodes one value of a column of type `ty`.
fn value(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Long(i) | Value::DateTime(i) | Value::TimeSpan(i) => Json::from(*i),
        Value::Real(f) if f.is_finite() => Json::from(*f),
        Value::Real(f) => Json::String(f.to_string()),
        Value::String(s) => Json::String(s.to_string()),
        Value::Dynamic(d) => (**d).clone(),
        Value::Guid(g) => Json::String(g.to_string()),
    }
}

fn table(t: &Table) -> TableRec {
    TableRec {
        name: t.name().to_owned(),
        columns: columns(t.columns()),
        rows: t.rows().map(|r| r.iter().map(value).collect()).collect(),
    }
}

fn columns(c: &[Column]) -> Vec<(String, String)> {
    c.iter()
        .map(|c| (c.name.clone(), c.ty.as_str().to_owned()))
        .collect()
}

fn agg(a: &Aggregate) -> [F; 4] {
    [F(a.min), F(a.max), F(a.sum), F(a.count)]
}

/// The record of a Monitor write.
pub(crate) fn monitor_op(op: &MonitorOp) -> Record {
    match op {
        MonitorOp::Workspace {
            customer_id,
            table: name,
            rows,
            now,
        } => {
            let mut rows = table(rows);
            rows.name.clone_from(name);
            Record::WorkspaceRows {
                customer_id: *customer_id,
                now: *now,
                rows,
            }
        }
        MonitorOp::App {
            app_id,
            table: name,
            schema,
            rows,
        } => {
            let mut rows = table(rows);
            rows.name.clone_from(name);
            Record::AppRows {
                app_id: *app_id,
                schema: columns(schema),
                rows,
            }
        }
        MonitorOp::Points {
            resource,
            namespace,
            metric,
            minute,
            points,
        } => Record::Points(PointsRec {
            resource: resource.clone(),
            namespace: namespace.clone(),
            metric: metric.clone(),
            minute: *minute,
            points: points
                .iter()
                .map(|p| PointRec {
                    dimensions: p.dimensions.clone(),
                    value: agg(&p.value),
                })
                .collect(),
        }),
    }
}

/// Every record of a full state, `Meta` and clock first, without `End`, handed to `sink`
/// one by one.
pub(crate) fn snapshot(
    instance_tag: &str,
    clock_offset: Duration,
    dir: &Directory,
    arm: &ArmStore,
    monitor: &MonitorStore,
    sink: &mut dyn FnMut(Record) -> io::Result<()>,
) -> io::Result<()> {
    sink(Record::Meta {
        instance_tag: instance_tag.to_owned(),
    })?;
    sink(Record::Clock {
        offset_nanos: u64::try_from(clock_offset.as_nanos()).unwrap_or(u64::MAX),
    })?;
    for o in dir.objects() {
        sink(object(o))?;
    }
    for s in arm.subscriptions() {
        sink(Record::Subscription(s.id, s.display_name.clone()))?;
    }
    for g in arm.all_groups() {
        sink(group(g))?;
    }
    for r in arm.all_resources() {
        sink(resource(r))?;
    }
    for r in arm.authz.custom_roles() {
        sink(role_record(&arm.authz, r.id))?;
    }
    for (id, _) in arm.authz.retired_roles() {
        sink(role_record(&arm.authz, id))?;
    }
    for key in arm.authz.slots() {
        sink(authz_key(&arm.authz, key))?;
    }
    for (component, id, tables) in monitor.all_tables() {
        for t in tables.values() {
            sink(Record::Table {
                component,
                id: *id,
                table: table(t),
            })?;
        }
    }
    for (resource, namespaces) in monitor.all_metrics() {
        sink(Record::Metrics {
            resource: resource.clone(),
            namespaces: namespaces
                .iter()
                .map(|(key, ns)| NamespaceRec {
                    key: key.clone(),
                    name: ns.name.clone(),
                    metrics: ns
                        .metrics
                        .iter()
                        .map(|(key, m)| MetricRec {
                            key: key.clone(),
                            name: m.name.clone(),
                            dimensions: m.dimensions.clone(),
                            series: m
                                .series
                                .iter()
                                .map(|(dims, points)| {
                                    (
                                        dims.clone(),
                                        points.iter().map(|(t, a)| (*t, agg(a))).collect(),
                                    )
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        })?;
    }
    Ok(())
}

// ---- back into memory ----------------------------------------------------------------

/// The state being rebuilt from disk.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Directory.
    pub(crate) dir: Directory,
    /// ARM.
    pub(crate) arm: ArmStore,
    /// Monitor data.
    pub(crate) monitor: MonitorStore,
    /// Clock offset.
    pub(crate) clock_offset: Duration,
    /// The instance tag of the snapshot.
    pub(crate) instance_tag: Option<String>,
}

fn hash(c: CredRec) -> Result<PasswordCredential, String> {
    let salt = STANDARD.decode(&c.salt).map_err(|e| e.to_string())?;
    let digest = STANDARD.decode(&c.digest).map_err(|e| e.to_string())?;
    let hash = SecretHash::from_parts(&salt, &digest)
        .ok_or_else(|| "a secret hash has the wrong length".to_owned())?;
    Ok(PasswordCredential {
        key_id: c.key_id,
        display_name: c.display_name,
        hint: c.hint,
        start: c.start,
        end: c.end,
        hash,
    })
}

fn resolve(r: &RoleRefRec) -> Result<RoleRef, String> {
    if r.custom {
        return Ok(RoleRef::Custom(r.id));
    }
    crate::rbac::find_by_id(&r.id.hyphenated().to_string())
        .map(RoleRef::BuiltIn)
        .ok_or_else(|| format!("unknown built-in role {}", r.id))
}

fn scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).map_err(|_| format!("invalid scope {s:?}"))
}

fn column_type(name: &str) -> Result<ColumnType, String> {
    ColumnType::parse(name).ok_or_else(|| format!("unknown column type {name:?}"))
}

fn schema(cols: Vec<(String, String)>) -> Result<Vec<Column>, String> {
    cols.into_iter()
        .map(|(n, t)| Ok(Column::new(n, column_type(&t)?)))
        .collect()
}

fn decode_value(ty: ColumnType, v: Json) -> Result<Value, String> {
    let bad = || format!("a {ty} value does not decode");
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match ty {
        ColumnType::Bool => Value::Bool(v.as_bool().ok_or_else(bad)?),
        ColumnType::Int => Value::Int(
            v.as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(bad)?,
        ),
        ColumnType::Long => Value::Long(v.as_i64().ok_or_else(bad)?),
        ColumnType::DateTime => Value::DateTime(v.as_i64().ok_or_else(bad)?),
        ColumnType::TimeSpan => Value::TimeSpan(v.as_i64().ok_or_else(bad)?),
        ColumnType::Real => Value::Real(match &v {
            Json::String(s) => s.parse().map_err(|_| bad())?,
            _ => v.as_f64().ok_or_else(bad)?,
        }),
        ColumnType::String => Value::string(v.as_str().ok_or_else(bad)?),
        ColumnType::Dynamic => Value::dynamic(v),
        ColumnType::Guid => Value::Guid(
            v.as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(bad)?,
        ),
    })
}

fn decode_table(t: TableRec) -> Result<Table, String> {
    let columns = schema(t.columns)?;
    let types: Vec<ColumnType> = columns.iter().map(|c| c.ty).collect();
    let mut out = Table::new(t.name, columns);
    for row in t.rows {
        if row.len() != types.len() {
            return Err("a row has the wrong number of values".to_owned());
        }
        let row = row
            .into_iter()
            .zip(&types)
            .map(|(v, ty)| decode_value(*ty, v))
            .collect::<Result<Vec<_>, _>>()?;
        out.push_row(row).map_err(|e| e.message.clone())?;
    }
    Ok(out)
}

fn aggregate(v: [F; 4]) -> Aggregate {
    Aggregate {
        min: v[0].0,
        max: v[1].0,
        sum: v[2].0,
        count: v[3].0,
    }
}

impl Loaded {
    /// Applies one record; `Err` says why it does not make sense.
    pub(crate) fn apply(&mut self, record: Record) -> Result<(), String> {
        match record {
            Record::Meta { instance_tag } => self.instance_tag = Some(instance_tag),
            Record::Clock { offset_nanos } => {
                self.clock_offset = Duration::from_nanos(offset_nanos);
            }
            Record::App(a) => {
                let mut app = Application::new(a.id, a.app_id, a.display_name, a.created);
                app.sign_in_audience = a.sign_in_audience;
                app.identifier_uris = a.identifier_uris;
                app.requested_access_token_version = a.requested_access_token_version;
                app.password_credentials = a
                    .password_credentials
                    .into_iter()
                    .map(hash)
                    .collect::<Result<_, _>>()?;
                app.props = a.props;
                app.deleted = a.deleted;
                app.seq = a.seq;
                self.dir.load_app(app);
            }
            Record::Sp(s) => {
                let mut sp = ServicePrincipal::new(s.id, s.app_id, s.display_name, s.created);
                sp.account_enabled = s.account_enabled;
                sp.app_roles = s
                    .app_roles
                    .into_iter()
                    .map(|(resource_app_id, value)| AppRoleGrant {
                        resource_app_id,
                        value,
                    })
                    .collect();
                sp.props = s.props;
                sp.deleted = s.deleted;
                sp.seq = s.seq;
                self.dir.load_sp(sp);
            }
            Record::DirGone(id) => self.dir.forget(&id),
            Record::Subscription(id, display_name) => {
                self.arm.put_subscription(Subscription { id, display_name });
            }
            Record::SubscriptionGone(id) => self.arm.forget(&ArmKey::Subscription(id)),
            Record::Group(g) => {
                self.arm.put_group(ResourceGroup {
                    subscription: g.subscription,
                    name: g.name,
                    location: g.location,
                    tags: g.tags,
                    managed_by: g.managed_by,
                });
            }
            Record::GroupGone(sub, name) => self.arm.forget(&ArmKey::Group(sub, name)),
            Record::Resource(r) => {
                self.arm.put_resource(Resource {
                    id: r.id,
                    name: r.name,
                    resource_type: r.resource_type,
                    location: r.location,
                    tags: r.tags,
                    sku: r.sku,
                    kind: r.kind,
                    properties: r.properties,
                    created: r.created,
                });
            }
            Record::ResourceGone(id) => self.arm.forget(&ArmKey::Resource(id)),
            Record::Slot(s) => {
                let live = match s.live {
                    None => None,
                    Some(a) => Some(Assignment {
                        name: s.name,
                        scope: scope(&a.scope)?,
                        role: resolve(&a.role)?,
                        principal_id: s.principal,
                        principal_type: PrincipalType::parse(&a.principal_type)
                            .ok_or_else(|| format!("bad principal type {:?}", a.principal_type))?,
                        description: a.description,
                        condition: a.condition,
                        condition_version: a.condition_version,
                        delegated_managed_identity_resource_id: a
                            .delegated_managed_identity_resource_id,
                        created_on: a.created_on,
                        updated_on: a.updated_on,
                        created_by: a.created_by,
                        updated_by: a.updated_by,
                    }),
                };
                let grants = s
                    .grants
                    .into_iter()
                    .map(|g| {
                        Ok(Grant {
                            name: s.name,
                            role: resolve(&g.role)?,
                            scope: g.scope.into(),
                            effective: g.effective,
                            revoked: g.revoked,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                self.arm
                    .authz
                    .load_slot(s.name, s.principal, &s.key, live, grants);
            }
            Record::Role(r) => {
                let role = CustomRole {
                    id: r.id,
                    role_name: r.role_name,
                    description: r.description,
                    permissions: permissions_of(r.permissions),
                    assignable_scopes: r
                        .assignable_scopes
                        .iter()
                        .map(|s| scope(s))
                        .collect::<Result<_, _>>()?,
                    created_on: r.created_on,
                    updated_on: r.updated_on,
                    created_by: r.created_by,
                    updated_by: r.updated_by,
                };
                self.arm
                    .authz
                    .load_role(r.id, Some(role), stale_of(r.stale));
            }
            Record::RoleGone(id) => self.arm.authz.load_role(id, None, Vec::new()),
            Record::RoleRetired { id, stale } => {
                self.arm.authz.load_role(id, None, stale_of(stale));
            }
            Record::WorkspaceRows {
                customer_id,
                now,
                rows,
            } => {
                let name = rows.name.clone();
                let rows = decode_table(rows)?;
                self.monitor.apply(&MonitorOp::Workspace {
                    customer_id,
                    table: name,
                    rows,
                    now,
                });
            }
            Record::AppRows {
                app_id,
                schema: cols,
                rows,
            } => {
                let name = rows.name.clone();
                let rows = decode_table(rows)?;
                self.monitor.apply(&MonitorOp::App {
                    app_id,
                    table: name,
                    schema: schema(cols)?,
                    rows,
                });
            }
            Record::Points(p) => self.monitor.apply(&MonitorOp::Points {
                resource: p.resource,
                namespace: p.namespace,
                metric: p.metric,
                minute: p.minute,
                points: p
                    .points
                    .into_iter()
                    .map(|p| Point {
                        dimensions: p.dimensions,
                        value: aggregate(p.value),
                    })
                    .collect(),
            }),
            Record::Table {
                component,
                id,
                table,
            } => {
                let table = decode_table(table)?;
                self.monitor.load_table(component, id, table);
            }
            Record::Metrics {
                resource,
                namespaces,
            } => {
                let namespaces: BTreeMap<String, Namespace> = namespaces
                    .into_iter()
                    .map(|ns| {
                        let metrics = ns
                            .metrics
                            .into_iter()
                            .map(|m| {
                                let metric = Metric {
                                    name: m.name,
                                    dimensions: m.dimensions,
                                    series: m
                                        .series
                                        .into_iter()
                                        .map(|(dims, points)| {
                                            (
                                                dims,
                                                points
                                                    .into_iter()
                                                    .map(|(t, a)| (t, aggregate(a)))
                                                    .collect(),
                                            )
                                        })
                                        .collect(),
                                };
                                (m.key, metric)
                            })
                            .collect();
                        (
                            ns.key,
                            Namespace {
                                name: ns.name,
                                metrics,
                            },
                        )
                    })
                    .collect();
                self.monitor.load_metrics(resource, namespaces);
            }
            Record::End { .. } => return Err("an end marker in the middle".to_owned()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use super::*;

    fn role(id: Uuid, actions: &[&str]) -> CustomRole {
        let t = time::macros::datetime!(2025-01-01 0:00 UTC);
        CustomRole {
            id,
            role_name: format!("role {id}"),
            description: String::new(),
            permissions: vec![OwnedPermission {
                actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                ..OwnedPermission::default()
            }],
            assignable_scopes: vec![Scope::parse("/subscriptions/s").expect("scope")],
            created_on: t,
            updated_on: t,
            created_by: None,
            updated_by: None,
        }
    }

    /// Encodes and decodes records as the files hold them, and replays them.
    fn replay(records: Vec<Record>) -> AssignmentStore {
        let mut loaded = Loaded::default();
        for r in records {
            let json = serde_json::to_vec(&r).expect("encode");
            loaded
                .apply(serde_json::from_slice(&json).expect("decode"))
                .expect("apply");
        }
        loaded.arm.authz
    }

    /// Edited and deleted custom roles keep, across a restart, the permissions planes still
    /// apply, through the journal and through a snapshot.
    #[test]
    fn pending_role_changes_survive_journal_and_snapshot() {
        let now = time::macros::datetime!(2025-01-01 0:00 UTC);
        let delays = [std::time::Duration::from_secs(600); 4];
        let (edited, deleted) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut arm = ArmStore::default();
        arm.authz.track(Arc::new(AtomicU64::new(0)));
        for id in [edited, deleted] {
            arm.authz
                .put_custom_role(role(id, &["*/read"]), now, delays)
                .expect("create");
        }
        arm.authz
            .put_custom_role(role(edited, &["*"]), now, delays)
            .expect("edit");
        arm.authz
            .delete_custom_role(&deleted, now, delays)
            .expect("delete");
        let mut journal = Vec::new();
        arm_changes(&mut arm, &mut journal);
        let mut snapshot_records = Vec::new();
        snapshot(
            "tag",
            Duration::ZERO,
            &Directory::default(),
            &arm,
            &MonitorStore::default(),
            &mut |r| {
                snapshot_records.push(r);
                Ok(())
            },
        )
        .expect("snapshot");
        for records in [journal, snapshot_records] {
            let back = replay(records);
            assert_eq!(back.stale_role(&edited), arm.authz.stale_role(&edited));
            assert_eq!(back.stale_role(&deleted), arm.authz.stale_role(&deleted));
            assert_eq!(back.stale_role(&deleted).len(), 1);
            assert!(back.custom_role(&deleted).is_none());
            assert_eq!(
                back.custom_role(&edited).map(|r| r.permissions.clone()),
                Some(role(edited, &["*"]).permissions)
            );
        }
        // A role written before stale views were persisted still reads.
        let old = serde_json::json!({"Role": {
            "id": edited, "role_name": "r", "description": "", "permissions": [],
            "assignable_scopes": [], "created_on": now, "updated_on": now,
            "created_by": null, "updated_by": null,
        }});
        let record: Record = serde_json::from_value(old).expect("old role record");
        assert!(replay(vec![record]).stale_role(&edited).is_empty());
    }
}

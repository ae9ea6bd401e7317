//! What goes on disk: one [`Record`] per changed object (its whole new state, or its
//! removal), per Monitor write, or per clock move. Object records are idempotent (replaying
//! one twice leaves the same state), so a change that lands in both a snapshot and the
//! journal after it does no harm; Monitor writes are ordered under the Monitor lock and
//! drained together with it, so each is journaled exactly once.
//!
//! Records are JSON inside checksummed binary frames (see [`super::format`]): no new
//! dependency, and readable with `jq` when debugging. Where a domain type's serde form is
//! what the disk needs, the record holds it as it is; the `…Rec` types below exist only
//! where the disk needs another form (secret hashes, certificates, role references, Monitor
//! tables and metrics).

use std::io;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credentials::{Certificate, KeyCredential};
use crate::directory::{
    AppRoleGrant, Application, Directory, PasswordCredential, ServicePrincipal, StoredObject,
};
use crate::federation::FederatedCredential;
use crate::kql::{Column, ColumnType, Table, Value};
use crate::rbac::assignments::{AuthzKey, Grant, StaleRole};
use crate::rbac::{
    Assignment, AssignmentStore, CustomRole, Planes, PrincipalType, RoleRef, Scope, Stamps,
};
use crate::resources::{ArmKey, ArmStore, Resource, ResourceGroup, Subscription};
use crate::secret::SecretHash;
use crate::telemetry::{Aggregate, Metric, MonitorOp, MonitorStore, Namespace, Points};

/// One persisted change or object.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Record {
    /// Snapshot only: what identifies this emulator's tokens.
    Meta {
        /// [`crate::services::Shared::instance_tag`].
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
    /// The resource providers unregistered from a subscription (empty: all registered).
    Providers(Uuid, Vec<String>),
    /// A resource group.
    Group(ResourceGroup),
    /// A resource group removed (subscription, lower-case name).
    GroupGone(Uuid, String),
    /// A resource.
    Resource(Resource),
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
        stale: Vec<StaleRole>,
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
    Points(Points),
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

/// [`KeyCredential`]: its window and the certificate (public; no private key is ever held).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct KeyCredRec {
    key_id: Uuid,
    display_name: Option<String>,
    start: OffsetDateTime,
    end: OffsetDateTime,
    /// Base64 of the certificate's DER.
    cert: String,
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
    /// Certificates (absent in journals written before they existed).
    #[serde(default)]
    key_credentials: Vec<KeyCredRec>,
    /// Federated identity credentials (likewise).
    #[serde(default)]
    federated_credentials: Vec<FederatedCredential>,
    props: Map<String, Json>,
    deleted: Option<OffsetDateTime>,
    seq: u64,
    #[serde(default)]
    created_by_app_id: Option<Uuid>,
    #[serde(default)]
    owners: Vec<Uuid>,
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
    #[serde(default)]
    created_by_app_id: Option<Uuid>,
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
    scope: Scope,
    role: RoleRefRec,
    principal_type: String,
    description: Option<String>,
    condition: Option<String>,
    condition_version: Option<String>,
    delegated_managed_identity_resource_id: Option<String>,
    #[serde(flatten)]
    stamps: Stamps,
}

/// A grant's effect windows.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GrantRec {
    role: RoleRefRec,
    scope: String,
    effective: Planes<OffsetDateTime>,
    revoked: Option<Planes<OffsetDateTime>>,
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

/// A [`CustomRole`] with the permissions planes still apply.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RoleRec {
    #[serde(flatten)]
    role: CustomRole,
    /// Earlier permissions planes still apply (absent in files written before it existed).
    #[serde(default)]
    stale: Vec<StaleRole>,
}

/// A [`Table`]: schema and rows, each value encoded after its column's type.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TableRec {
    name: String,
    columns: Vec<(String, String)>,
    rows: Vec<Vec<Json>>,
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
type MinuteRec = (i64, Aggregate);

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
            key_credentials: a
                .key_credentials
                .iter()
                .map(|k| KeyCredRec {
                    key_id: k.key_id,
                    display_name: k.display_name.clone(),
                    start: k.start,
                    end: k.end,
                    cert: k.cert.base64(),
                })
                .collect(),
            federated_credentials: a.federated_credentials.clone(),
            props: a.props.clone(),
            deleted: a.deleted,
            seq: a.seq,
            created_by_app_id: a.created_by_app_id,
            owners: a.owners.clone(),
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
            created_by_app_id: s.created_by_app_id,
        }),
    }
}

/// The records of the directory objects changed since the last call.
pub(crate) fn directory_changes(dir: &mut Directory, out: &mut Vec<Record>) {
    for id in dir.take_changed() {
        out.push(dir.object(&id).map_or(Record::DirGone(id), object));
    }
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
            scope: a.scope.clone(),
            role: role_ref(&a.role),
            principal_type: a.principal_type.as_str().to_owned(),
            description: a.description.clone(),
            condition: a.condition.clone(),
            condition_version: a.condition_version.clone(),
            delegated_managed_identity_resource_id: a
                .delegated_managed_identity_resource_id
                .clone(),
            stamps: a.stamps,
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

fn custom_role(r: &CustomRole, stale: &[StaleRole]) -> Record {
    Record::Role(RoleRec {
        role: r.clone(),
        stale: stale.to_vec(),
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
            stale: stale.to_vec(),
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

fn providers(arm: &ArmStore, sub: Uuid) -> Record {
    Record::Providers(sub, arm.unregistered(&sub).map(str::to_owned).collect())
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
                .map_or(Record::GroupGone(sub, name), |g| Record::Group(g.clone())),
            ArmKey::Resource(id) => arm
                .resource(&id)
                .map_or(Record::ResourceGone(id), |r| Record::Resource(r.clone())),
            ArmKey::Providers(sub) => providers(arm, sub),
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

/// Rows of a Monitor write, recorded under the name of the table they go to.
fn named_table(name: &str, rows: &Table) -> TableRec {
    TableRec {
        name: name.to_owned(),
        ..table(rows)
    }
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
            let rows = named_table(name, rows);
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
            let rows = named_table(name, rows);
            Record::AppRows {
                app_id: *app_id,
                schema: columns(schema),
                rows,
            }
        }
        MonitorOp::Points(p) => Record::Points(p.clone()),
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
        if arm.unregistered(&s.id).next().is_some() {
            sink(providers(arm, s.id))?;
        }
    }
    for g in arm.all_groups() {
        sink(Record::Group(g.clone()))?;
    }
    for r in arm.all_resources() {
        sink(Record::Resource(r.clone()))?;
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
                                    (dims.clone(), points.iter().map(|(t, a)| (*t, *a)).collect())
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

mod load;

pub(crate) use self::load::Loaded;

#[cfg(test)]
mod tests;

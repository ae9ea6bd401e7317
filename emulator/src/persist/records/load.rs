//! Records back into memory: the state rebuilt from a snapshot and its journal.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value as Json;
use uuid::Uuid;

use super::*;

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

/// Rows of a Monitor write and the name of the table they go to.
fn decode_named(t: TableRec) -> Result<(String, Table), String> {
    let name = t.name.clone();
    Ok((name, decode_table(t)?))
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
                app.key_credentials = a
                    .key_credentials
                    .into_iter()
                    .map(|k| {
                        let cert = Certificate::from_base64(&k.cert)
                            .map_err(|_| "a key credential's certificate does not parse")?;
                        Ok::<_, String>(KeyCredential {
                            key_id: k.key_id,
                            display_name: k.display_name,
                            start: k.start,
                            end: k.end,
                            cert: std::sync::Arc::new(cert),
                        })
                    })
                    .collect::<Result<_, _>>()?;
                app.federated_credentials = a.federated_credentials;
                app.props = a.props;
                app.deleted = a.deleted;
                app.seq = a.seq;
                app.created_by_app_id = a.created_by_app_id;
                app.owners = a.owners;
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
                sp.created_by_app_id = s.created_by_app_id;
                self.dir.load_sp(sp);
            }
            Record::DirGone(id) => self.dir.forget(&id),
            Record::Subscription(id, display_name) => {
                self.arm.put_subscription(Subscription { id, display_name });
            }
            Record::SubscriptionGone(id) => self.arm.forget(&ArmKey::Subscription(id)),
            Record::Providers(sub, unregistered) => {
                self.arm.forget(&ArmKey::Providers(sub));
                for ns in unregistered {
                    if let Some(p) = crate::resources::providers::provider(&ns) {
                        self.arm.set_registered(sub, p.namespace, false);
                    }
                }
            }
            Record::Group(g) => {
                self.arm.put_group(g);
            }
            Record::GroupGone(sub, name) => self.arm.forget(&ArmKey::Group(sub, name)),
            Record::Resource(r) => {
                self.arm.put_resource(r);
            }
            Record::ResourceGone(id) => self.arm.forget(&ArmKey::Resource(id)),
            Record::Slot(s) => {
                let live = match s.live {
                    None => None,
                    Some(a) => Some(Assignment {
                        name: s.name,
                        scope: a.scope,
                        role: resolve(&a.role)?,
                        principal_id: s.principal,
                        principal_type: PrincipalType::parse(&a.principal_type)
                            .ok_or_else(|| format!("bad principal type {:?}", a.principal_type))?,
                        description: a.description,
                        condition: a.condition,
                        condition_version: a.condition_version,
                        delegated_managed_identity_resource_id: a
                            .delegated_managed_identity_resource_id,
                        stamps: a.stamps,
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
            Record::Role(r) => self.arm.authz.load_role(r.role.id, Some(r.role), r.stale),
            Record::RoleGone(id) => self.arm.authz.load_role(id, None, Vec::new()),
            Record::RoleRetired { id, stale } => {
                self.arm.authz.load_role(id, None, stale);
            }
            Record::WorkspaceRows {
                customer_id,
                now,
                rows,
            } => {
                let (name, rows) = decode_named(rows)?;
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
                let (name, rows) = decode_named(rows)?;
                self.monitor.apply(&MonitorOp::App {
                    app_id,
                    table: name,
                    schema: schema(cols)?,
                    rows,
                });
            }
            Record::Points(p) => self.monitor.apply(&MonitorOp::Points(p)),
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
                                        .map(|(dims, points)| (dims, points.into_iter().collect()))
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

//! Applying a [`Seed`] at start, after the tenant's bootstrap: through the same operations
//! and rules as Graph's and ARM's writes, made as the bootstrap admin. A fault names the
//! seed's field; [`Seed::error`] adds its file and line.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::AppState;
use super::access::NewAssignment;
use super::arm_error::ArmError;
use super::groups::GroupFields;
use super::resources::{Address, ResourceFields, Written};
use crate::changes::Mark;
use crate::config::DEFAULT_ADMIN_OBJECT_ID;
use crate::directory::{Application, Directory, PasswordCredential, ServicePrincipal};
use crate::rbac::{Planes, PrincipalType, find_by_name};
use crate::resources::{COMPONENT_TYPE, WORKSPACE_TYPE};
use crate::secret::{self, SecretHash};
use crate::seed::{self, Effective, FieldPath, InvalidSeed, Seed, SeedFault};

/// The api-version seeded role assignments are made with (the latest stable one).
const ASSIGNMENT_VERSION: &str = "2022-04-01";

/// A seeded application's client id and its service principal's object id, if it has one.
type Principals<'a> = HashMap<&'a str, (Uuid, Option<Uuid>)>;

impl AppState {
    /// Applies `seed` to the tenant: the clock, then applications and their service
    /// principals, resource groups and their resources, and role assignments, in the seed's
    /// order. Stops at the first fault; the caller then refuses to start.
    pub(crate) fn apply_seed(&self, seed: &Seed) -> Result<(), InvalidSeed> {
        self.seed_tenant(seed).map_err(|fault| seed.error(fault))?;
        #[cfg(feature = "persistence")]
        if let Some(p) = &self.persist {
            p.request_snapshot();
        }
        self.note(Mark::ALL);
        Ok(())
    }

    fn seed_tenant(&self, seed: &Seed) -> Result<(), SeedFault> {
        if let Some(clock) = &seed.clock {
            let now = self.clock.now();
            let path = FieldPath::default().key("clock").key("start");
            let ahead = clock.start - now;
            if ahead.is_negative() {
                return Err(SeedFault::new(
                    path,
                    format!(
                        "{} is before the emulator's time ({}): its clock only moves forward",
                        rfc3339(clock.start),
                        rfc3339(now)
                    ),
                ));
            }
            self.clock
                .advance(Duration::try_from(ahead).unwrap_or_default());
        }
        let now = self.clock.now();
        let principals = self.seed_applications(&seed.applications, now)?;
        self.seed_groups(&seed.resource_groups, now)?;
        self.seed_assignments(&seed.role_assignments, &principals, now)
    }

    fn seed_applications<'a>(
        &self,
        apps: &'a [seed::Application],
        now: OffsetDateTime,
    ) -> Result<Principals<'a>, SeedFault> {
        let mut principals = Principals::new();
        let mut names = HashMap::new();
        let mut dir = self.directory_mut();
        for (i, given) in apps.iter().enumerate() {
            let at = FieldPath::item("applications", i);
            if given.name.trim().is_empty() {
                return Err(SeedFault::new(at.key("name"), "must not be blank"));
            }
            claim(&mut names, given.name.as_str(), i, &at, |j| {
                format!(
                    "'{}' also names applications[{j}]; role assignments name applications by it, so each name is used once",
                    given.name
                )
            })?;
            let app_id = given.client_id.unwrap_or_else(Uuid::new_v4);
            if dir.app_by_app_id(&app_id).is_some() {
                return Err(SeedFault::new(
                    at.key("client_id"),
                    format!("{app_id} is already the client id of another application"),
                ));
            }
            let id = fresh_object_id(&dir, given.object_id, &at.key("object_id"))?;
            let mut app = Application::new(id, app_id, given.name.clone(), now);
            for (k, s) in given.secrets.iter().enumerate() {
                app.password_credentials
                    .push(credential(s, &at.key("secrets").index(k), now)?);
            }
            dir.insert_app(app);
            let sp = if given.service_principal {
                let path = at.key("service_principal_id");
                let sp_id = fresh_object_id(&dir, given.service_principal_id, &path)?;
                let sp = ServicePrincipal::new(sp_id, app_id, given.name.clone(), now);
                dir.create_sp(sp)
                    .map_err(|e| SeedFault::new(path, format!("{e:?}")))?;
                Some(sp_id)
            } else if given.service_principal_id.is_some() {
                return Err(SeedFault::new(
                    at.key("service_principal_id"),
                    "given, but service_principal is false",
                ));
            } else {
                None
            };
            principals.insert(given.name.as_str(), (app_id, sp));
        }
        Ok(principals)
    }

    fn seed_groups(
        &self,
        groups: &[seed::ResourceGroup],
        now: OffsetDateTime,
    ) -> Result<(), SeedFault> {
        let sub = self.config.subscription_id.to_string();
        let mut names = HashMap::new();
        let mut ids = HashMap::new();
        for (i, group) in groups.iter().enumerate() {
            let at = FieldPath::item("resource_groups", i);
            claim(&mut names, group.name.to_lowercase(), i, &at, |j| {
                format!(
                    "'{}' also names resource_groups[{j}] (names are case-insensitive)",
                    group.name
                )
            })?;
            self.put_group(DEFAULT_ADMIN_OBJECT_ID, &sub, &group.name, now, || {
                let mut fields = GroupFields::at(&group.location)?;
                fields.tags = tags(&group.tags);
                Ok(fields)
            })
            .map_err(|e| {
                let field = match e {
                    ArmError::LocationNotAvailableForResourceGroup(_) => "location",
                    _ => "name",
                };
                arm_fault(at.key(field), &e)
            })?;
            for (k, resource) in group.resources.iter().enumerate() {
                let at = at.key("resources").index(k);
                let address = address(&sub, &group.name, resource, &at)?;
                let key = address.id().to_lowercase();
                claim(&mut ids, key, at.clone(), &at, |earlier| {
                    format!("the same resource as {earlier}")
                })?;
                self.seed_resource(&address, group, resource, &at, now)?;
            }
        }
        Ok(())
    }

    fn seed_resource(
        &self,
        address: &Address,
        group: &seed::ResourceGroup,
        resource: &seed::Resource,
        at: &FieldPath,
        now: OffsetDateTime,
    ) -> Result<(), SeedFault> {
        let full_type = address.full_type();
        let workspace = full_type.eq_ignore_ascii_case(WORKSPACE_TYPE);
        let component = full_type.eq_ignore_ascii_case(COMPONENT_TYPE);
        let mut fixed = Map::new();
        for (field, property, value, allowed, owner) in [
            (
                "customer_id",
                "customerId",
                resource.customer_id,
                workspace,
                WORKSPACE_TYPE,
            ),
            (
                "app_id",
                "AppId",
                resource.app_id,
                component,
                COMPONENT_TYPE,
            ),
            (
                "instrumentation_key",
                "InstrumentationKey",
                resource.instrumentation_key,
                component,
                COMPONENT_TYPE,
            ),
        ] {
            let Some(value) = value else { continue };
            if !allowed {
                return Err(SeedFault::new(
                    at.key(field),
                    format!("only a resource of type {owner} has one"),
                ));
            }
            fixed.insert(property.to_owned(), json!(value));
        }
        {
            // Another resource holding the same query id would make it ambiguous.
            let store = self.arm();
            let taken = resource
                .customer_id
                .filter(|id| store.workspace_by_customer_id(id).is_some())
                .map(|id| ("customer_id", id))
                .or_else(|| {
                    resource
                        .app_id
                        .filter(|id| store.component_by_app_id(id).is_some())
                        .map(|id| ("app_id", id))
                });
            if let Some((field, id)) = taken {
                return Err(SeedFault::new(
                    at.key(field),
                    format!("{id} is already the {field} of another resource"),
                ));
            }
        }
        let written = Written {
            base: &self.base_url,
            now,
            tenant: self.config.tenant_id,
            fixed: &fixed,
        };
        let fields = ResourceFields {
            location: Some(
                resource
                    .location
                    .clone()
                    .unwrap_or_else(|| group.location.clone()),
            ),
            tags: tags(&resource.tags),
            kind: resource.kind.clone(),
            sku: None,
            properties: resource.properties.clone(),
            identity: None,
        };
        self.put_resource(DEFAULT_ADMIN_OBJECT_ID, address, &written, || Ok(fields))
            .map_err(|e| {
                let field = match e {
                    ArmError::LocationNotAvailableForResourceType { .. } => "location",
                    // The naming rules' refusals.
                    ArmError::InvalidResourceName { .. } | ArmError::InvalidParameter(_) => "name",
                    ArmError::InvalidDataCollectionRule(_) => "properties",
                    _ => "type",
                };
                arm_fault(at.key(field), &e)
            })
            .map(|_| ())
    }

    fn seed_assignments(
        &self,
        assignments: &[seed::RoleAssignment],
        principals: &Principals<'_>,
        now: OffsetDateTime,
    ) -> Result<(), SeedFault> {
        let sub = self.config.subscription_id.to_string();
        let mut names = HashMap::new();
        for (i, given) in assignments.iter().enumerate() {
            let at = FieldPath::item("role_assignments", i);
            let principal = self.seed_principal(&given.principal, principals, &at)?;
            let role = match Uuid::try_parse(&given.role) {
                Ok(id) => id,
                Err(_) => find_by_name(&given.role)
                    .and_then(|r| Uuid::try_parse(r.id).ok())
                    .ok_or_else(|| {
                        SeedFault::new(
                            at.key("role"),
                            format!(
                                "no built-in role is named '{}': give a role's name (Reader, Log Analytics Reader, …) or a role definition id",
                                given.role
                            ),
                        )
                    })?,
            };
            let name = given.name.unwrap_or_else(Uuid::new_v4);
            claim(&mut names, name, i, &at, |j| {
                format!("{name} also names role_assignments[{j}]")
            })?;
            let new = NewAssignment {
                name,
                name_text: name.to_string(),
                role_definition_id: format!(
                    "/providers/Microsoft.Authorization/roleDefinitions/{role}"
                ),
                principal_id: principal,
                principal_type: Some(PrincipalType::ServicePrincipal),
                given_type: Some("ServicePrincipal".to_owned()),
                description: given.description.clone(),
                condition: None,
                condition_version: None,
                delegated: None,
                version: ASSIGNMENT_VERSION.to_owned(),
            };
            let delays = match given.effective {
                Effective::Now => Some(Planes::same(Duration::ZERO)),
                Effective::Pending => None,
            };
            let scope = given.scope.replace("{subscription}", &sub);
            self.put_assignment_with(DEFAULT_ADMIN_OBJECT_ID, &scope, new, now, delays)
                .map_err(|e| {
                    let field = match e {
                        ArmError::RoleDefinitionDoesNotExist { .. }
                        | ArmError::InvalidRoleDefinitionId(_)
                        | ArmError::RoleNotAssignableAtScope(_)
                        | ArmError::RoleAssignmentExists(_) => "role",
                        ArmError::PrincipalNotFound { .. }
                        | ArmError::UnmatchedPrincipalType { .. } => "principal",
                        _ => "scope",
                    };
                    arm_fault(at.key(field), &e)
                })?;
        }
        Ok(())
    }

    /// The service principal a seeded assignment names: an application of the seed by name,
    /// or any application by client id.
    fn seed_principal(
        &self,
        principal: &str,
        principals: &Principals<'_>,
        at: &FieldPath,
    ) -> Result<Uuid, SeedFault> {
        let path = at.key("principal");
        if let Some((_, sp)) = principals.get(principal) {
            return sp.ok_or_else(|| {
                SeedFault::new(
                    path.clone(),
                    format!(
                        "application '{principal}' has no service principal (service_principal = false)"
                    ),
                )
            });
        }
        let by_client_id = Uuid::try_parse(principal)
            .ok()
            .and_then(|app_id| self.directory().sp_by_app_id(&app_id).map(|sp| sp.id));
        by_client_id.ok_or_else(|| {
            SeedFault::new(
                path,
                format!(
                    "'{principal}' is neither the name of an application of the seed nor the client id of an application with a service principal"
                ),
            )
        })
    }
}

/// `given`, or a new id; refused when another directory object has it.
fn fresh_object_id(
    dir: &Directory,
    given: Option<Uuid>,
    path: &FieldPath,
) -> Result<Uuid, SeedFault> {
    let id = given.unwrap_or_else(Uuid::new_v4);
    if dir.object(&id).is_some() {
        return Err(SeedFault::new(
            path.clone(),
            format!("{id} is already the object id of another directory object"),
        ));
    }
    Ok(id)
}

/// A seeded secret as stored: hint and salted hash, never the value.
fn credential(
    given: &seed::ClientSecret,
    at: &FieldPath,
    now: OffsetDateTime,
) -> Result<PasswordCredential, SeedFault> {
    let value = given.value.expose();
    if value.is_empty() {
        return Err(SeedFault::new(at.key("value"), "must not be empty"));
    }
    let start = given.start.unwrap_or(now);
    let end = given
        .expires
        .unwrap_or_else(|| secret::years_after(start, 2));
    // Graph's addPassword refuses the same.
    if end <= start {
        return Err(SeedFault::new(
            at.key("expires"),
            format!(
                "{} is not after the secret's start ({})",
                rfc3339(end),
                rfc3339(start)
            ),
        ));
    }
    Ok(PasswordCredential {
        key_id: Uuid::new_v4(),
        display_name: given.display_name.clone(),
        hint: secret::hint(value),
        start,
        end,
        hash: SecretHash::new(value),
    })
}

/// The ARM address of a seeded resource: one name segment per type segment.
fn address(
    sub: &str,
    group: &str,
    resource: &seed::Resource,
    at: &FieldPath,
) -> Result<Address, SeedFault> {
    let (namespace, types) = resource
        .resource_type
        .split_once('/')
        .filter(|(ns, t)| ns.contains('.') && !t.is_empty())
        .ok_or_else(|| {
            SeedFault::new(
                at.key("type"),
                format!(
                    "'{}' is not a resource type such as Microsoft.OperationalInsights/workspaces",
                    resource.resource_type
                ),
            )
        })?;
    let types: Vec<String> = types.split('/').map(str::to_owned).collect();
    let names: Vec<String> = resource.name.split('/').map(str::to_owned).collect();
    if types.len() != names.len() || names.iter().any(String::is_empty) {
        return Err(SeedFault::new(
            at.key("name"),
            format!(
                "a resource of type {} has {} name segment(s), separated by '/'",
                resource.resource_type,
                types.len()
            ),
        ));
    }
    Ok(Address {
        subscription: sub.to_owned(),
        group: group.to_owned(),
        namespace: namespace.to_owned(),
        types,
        names,
    })
}

/// Tags as ARM stores them (`None` when there are none).
fn tags(given: &std::collections::BTreeMap<String, String>) -> Option<Map<String, Value>> {
    (!given.is_empty()).then(|| {
        given
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    })
}

/// ARM's refusal, as a fault of the seed's field: `Code: message`.
fn arm_fault(path: FieldPath, e: &ArmError) -> SeedFault {
    let (_, code, message) = e.parts();
    SeedFault::new(path, format!("{code}: {message}"))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Records that the item at `at` uses `key`; when an earlier item used it, the error at
/// the item's `name`, worded by `clash` from what the earlier one recorded.
fn claim<K: Eq + std::hash::Hash, V>(
    seen: &mut HashMap<K, V>,
    key: K,
    value: V,
    at: &FieldPath,
    clash: impl FnOnce(V) -> String,
) -> Result<(), SeedFault> {
    match seen.insert(key, value) {
        Some(earlier) => Err(SeedFault::new(at.key("name"), clash(earlier))),
        None => Ok(()),
    }
}

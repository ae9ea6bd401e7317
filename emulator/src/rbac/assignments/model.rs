//! What the assignment store holds and answers: principal types, role references, custom
//! roles and their permissions, assignments, pending changes and the grants decisions read.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rbac::{Plane, Planes, RoleDefinition, Scope, block_permits};

/// `principalType` of a role assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PrincipalType {
    /// A user.
    User,
    /// A security group.
    Group,
    /// A service principal (application or managed identity).
    ServicePrincipal,
    /// A group from another directory.
    ForeignGroup,
    /// A device.
    Device,
}

impl PrincipalType {
    /// Parses the wire value, ignoring ASCII case.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        [
            Self::User,
            Self::Group,
            Self::ServicePrincipal,
            Self::ForeignGroup,
            Self::Device,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// The wire value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::ServicePrincipal => "ServicePrincipal",
            Self::ForeignGroup => "ForeignGroup",
            Self::Device => "Device",
        }
    }
}

/// The role definition an assignment grants.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RoleRef {
    /// A built-in role (static data).
    BuiltIn(&'static RoleDefinition),
    /// A custom role definition held by the store, by id.
    Custom(Uuid),
}

impl RoleRef {
    /// The role definition's GUID.
    pub(crate) fn id(&self) -> Uuid {
        match self {
            // Built-in ids are well-formed GUIDs (checked by the roles module's tests).
            RoleRef::BuiltIn(r) => Uuid::parse_str(r.id).unwrap_or_default(),
            RoleRef::Custom(id) => *id,
        }
    }
}

impl PartialEq for RoleRef {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (RoleRef::BuiltIn(a), RoleRef::BuiltIn(b)) => a.id == b.id,
            (RoleRef::Custom(a), RoleRef::Custom(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for RoleRef {}

/// A permission block of a custom role (owned patterns; persisted as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OwnedPermission {
    /// Control-plane operations granted.
    pub(crate) actions: Vec<String>,
    /// Control-plane operations removed from `actions`.
    pub(crate) not_actions: Vec<String>,
    /// Data-plane operations granted.
    pub(crate) data_actions: Vec<String>,
    /// Data-plane operations removed from `data_actions`.
    pub(crate) not_data_actions: Vec<String>,
}

/// When an assignment or a custom role was created and last changed, and by whom (ARM's
/// `createdOn`, `updatedOn`, `createdBy`, `updatedBy`). Persisted as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamps {
    /// Creation time.
    pub(crate) created_on: OffsetDateTime,
    /// Last update time.
    pub(crate) updated_on: OffsetDateTime,
    /// Object id of the creator.
    pub(crate) created_by: Option<Uuid>,
    /// Object id of the last updater.
    pub(crate) updated_by: Option<Uuid>,
}

impl Stamps {
    /// Created by `by` at `now`.
    pub(crate) fn new(now: OffsetDateTime, by: Option<Uuid>) -> Self {
        Self {
            created_on: now,
            updated_on: now,
            created_by: by,
            updated_by: by,
        }
    }

    /// These stamps after `later`'s change: creation kept, last update taken from `later`.
    pub(crate) fn with_update(self, later: Stamps) -> Self {
        Self {
            updated_on: later.updated_on,
            updated_by: later.updated_by,
            ..self
        }
    }
}

/// A custom role definition (persisted as it is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CustomRole {
    /// Its GUID (the ARM `name`).
    pub(crate) id: Uuid,
    /// `roleName`, unique in the tenant (ignoring case).
    pub(crate) role_name: String,
    /// `description`.
    pub(crate) description: String,
    /// `permissions`.
    pub(crate) permissions: Vec<OwnedPermission>,
    /// `assignableScopes`: where the role may be assigned (at or below each).
    pub(crate) assignable_scopes: Vec<Scope>,
    /// Who created and last changed it, and when.
    #[serde(flatten)]
    pub(crate) stamps: Stamps,
}

/// Whether `permissions` allow `action` (a data action when `data`): same rule as the
/// built-in roles, block by block.
pub(super) fn owned_permits(permissions: &[OwnedPermission], action: &str, data: bool) -> bool {
    permissions.iter().any(|p| {
        if data {
            block_permits(&p.data_actions, &p.not_data_actions, action)
        } else {
            block_permits(&p.actions, &p.not_actions, action)
        }
    })
}

impl CustomRole {
    /// Whether the role allows `action` (a data action when `data`): same rule as the
    /// built-in roles, block by block.
    pub(crate) fn permits(&self, action: &str, data: bool) -> bool {
        owned_permits(&self.permissions, action, data)
    }

    /// Whether the role may be assigned at `scope`.
    pub(crate) fn assignable_at(&self, scope: &Scope) -> bool {
        self.assignable_scopes.iter().any(|s| scope.is_within(s))
    }
}

/// A live role assignment, as ARM shows it.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    /// The assignment's GUID (its ARM `name`), unique in the tenant.
    pub(crate) name: Uuid,
    /// Where it applies.
    pub(crate) scope: Scope,
    /// What it grants.
    pub(crate) role: RoleRef,
    /// To whom.
    pub(crate) principal_id: Uuid,
    /// The principal's type, as given or resolved.
    pub(crate) principal_type: PrincipalType,
    /// Optional description.
    pub(crate) description: Option<String>,
    /// Optional ABAC condition (stored and shown, not evaluated).
    pub(crate) condition: Option<String>,
    /// Version of `condition`.
    pub(crate) condition_version: Option<String>,
    /// Optional delegated managed identity resource id.
    pub(crate) delegated_managed_identity_resource_id: Option<String>,
    /// Who created and last changed it, and when.
    pub(crate) stamps: Stamps,
}

impl Assignment {
    /// An assignment of `role` to a service principal at `scope`, made at `now`, with no
    /// description, condition or recorded creator: what seeding and bootstrapping create.
    pub(crate) fn of_service_principal(
        name: Uuid,
        scope: Scope,
        role: RoleRef,
        principal_id: Uuid,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            name,
            scope,
            role,
            principal_id,
            principal_type: PrincipalType::ServicePrincipal,
            description: None,
            condition: None,
            condition_version: None,
            delegated_managed_identity_resource_id: None,
            stamps: Stamps::new(now, None),
        }
    }
}

/// Outcome of a successful [`AssignmentStore::upsert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// A new assignment was stored.
    Created,
    /// The same assignment was written again (its mutable fields replaced).
    Updated,
    /// The same assignment was written again with nothing changed; nothing was stored.
    Unchanged,
}

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// Another assignment already gives the same role to the same principal at the same
    /// scope.
    Exists {
        /// The existing assignment's name.
        existing: Uuid,
    },
    /// An assignment of this name exists with another principal, role or scope.
    UpdateNotPermitted,
    /// A custom role with this name exists (or a built-in role has it).
    RoleNameExists,
    /// The custom role is still assigned.
    RoleInUse,
}

/// Whether a pending change grants or revokes access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Change {
    /// A new assignment not yet effective.
    Grant,
    /// A deleted assignment still effective.
    Revoke,
}

/// A change that has not yet reached a plane: `T` says what changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pending<T> {
    /// What changed.
    #[serde(flatten)]
    pub(crate) what: T,
    /// The plane that does not see the change yet.
    pub(crate) plane: Plane,
    /// When the plane starts seeing it.
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) effective_at: OffsetDateTime,
}

/// A role assignment granted or revoked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssignmentChange {
    /// The role assignment's name.
    pub(crate) role_assignment_name: Uuid,
    /// Its principal.
    pub(crate) principal_id: Uuid,
    /// Its role definition's GUID.
    pub(crate) role_definition_name: Uuid,
    /// Its scope.
    pub(crate) scope: String,
    /// Grant or revocation.
    pub(crate) change: Change,
}

/// A custom role edited or deleted (planes apply its earlier permissions until they see it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleDefinitionChange {
    /// The role definition's GUID.
    pub(crate) role_definition_name: Uuid,
    /// `Update`, or `Delete` once the role is gone.
    pub(crate) change: RoleChange,
}

/// What happened to a custom role whose change some plane does not see yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum RoleChange {
    /// Its permissions were edited.
    Update,
    /// It was deleted.
    Delete,
}

/// The permissions a custom role had before an edit or its deletion, which planes keep
/// applying until the change reaches them: each plane caches role definitions as it caches
/// assignments, so a role's change propagates with the same per-plane delays. Persisted as
/// it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StaleRole {
    /// The permissions before the change.
    pub(crate) permissions: Vec<OwnedPermission>,
    /// Per plane, from when it applies the change instead.
    pub(crate) until: Planes<OffsetDateTime>,
}

/// What a decision reads: one assignment's effect windows.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) name: Uuid,
    pub(crate) role: RoleRef,
    /// Original scope text (for the control API's pending list).
    pub(crate) scope: Box<str>,
    /// From when each plane honours it.
    pub(crate) effective: Planes<OffsetDateTime>,
    /// From when each plane stops honouring it (set on deletion).
    pub(crate) revoked: Option<Planes<OffsetDateTime>>,
}

/// What persistence tracks in an [`AssignmentStore`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AuthzKey {
    /// The grants named `name` of `principal` at scope key `key`, and the live
    /// assignment if it is there.
    Slot {
        /// Assignment name.
        name: Uuid,
        /// Its principal.
        principal: Uuid,
        /// Its scope key.
        key: Box<str>,
    },
    /// A custom role definition.
    Role(Uuid),
}

impl Grant {
    pub(super) fn active(&self, plane: Plane, now: OffsetDateTime) -> bool {
        self.effective[plane] <= now && self.revoked.is_none_or(|r| now < r[plane])
    }

    pub(super) fn live(&self) -> bool {
        self.revoked.is_none()
    }

    /// A revoked grant that no plane honours any more.
    pub(super) fn lapsed(&self, now: OffsetDateTime) -> bool {
        self.revoked.is_some_and(|r| r.iter().all(|&t| t <= now))
    }
}

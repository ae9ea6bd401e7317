//! Offline model of Azure Resource Manager role-based access control (RBAC).
//!
//! * [`roles`] — the real Azure built-in role definitions (a JSON catalog
//!   embedded in the binary, parsed once on first use) and lookups by GUID or
//!   by role name.
//! * [`matching`] — ARM's action-pattern matching ([`action_matches`]) and
//!   the per-role-definition evaluation of `Actions`/`NotActions`
//!   ([`permits`]).
//! * [`scope`] — parsing of ARM scope strings into a [`Scope`] with a
//!   normalized key and the ancestor chain used for inherited assignments.
//! * [`assignments`] — the role assignment store: assignments indexed by
//!   principal and by scope, custom role definitions, and the authorization
//!   decision with per-plane propagation windows ([`AssignmentStore::is_allowed`]).
//! * [`propagation`] — the per-plane delays ([`Propagation`]) after which a new
//!   or deleted assignment takes effect.
//!
//! Semantics worth knowing (they follow ARM):
//!
//! * Action strings and patterns compare case-insensitively; `*` matches any
//!   run of characters, `/` included.
//! * `NotActions`/`NotDataActions` are **not deny rules**. They only subtract
//!   from the `Actions`/`DataActions` of the same permission block of the same
//!   role definition. If another role assignment grants the action, access is
//!   granted. Real denies are deny assignments, which this module does not
//!   model.
//! * Control-plane `Actions` never grant data-plane operations: `Owner`'s `*`
//!   does not let its holder read blob contents; that needs a `DataActions`
//!   entry such as the one in `Storage Blob Data Reader`.

pub(crate) mod assignments;
pub(crate) mod matching;
pub(crate) mod propagation;
pub(crate) mod roles;
pub(crate) mod scope;

pub(crate) use self::assignments::{
    Assignment, AssignmentStore, Conflict, CustomRole, OwnedPermission, PrincipalType, RoleRef,
    Stamps, Upsert,
};
pub(crate) use self::matching::{block_permits, permits};
pub(crate) use self::propagation::Planes;
pub use self::propagation::{Jitter, Plane, Propagation};
pub(crate) use self::roles::{find_by_id, find_by_name};
pub(crate) use self::scope::{Scope, ScopeKind};

/// Value of the `type` property of built-in role definitions in ARM
/// (`properties.type`, shown as `roleType` by the Azure CLI).
pub(crate) const BUILT_IN_ROLE_TYPE: &str = "BuiltInRole";

/// ARM resource type of role definitions.
pub(crate) const ROLE_DEFINITION_RESOURCE_TYPE: &str = "Microsoft.Authorization/roleDefinitions";

/// One entry of a role definition's `permissions` array.
///
/// Evaluation (see [`permits`]): an operation is allowed by this block when
/// it matches one of `actions` (or `data_actions` for a data-plane
/// operation), none of `not_actions` (`not_data_actions`), and the block's
/// ABAC condition does not withhold it ([`Permission::withheld`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Permission {
    /// Control-plane operations granted (`actions`), patterns may use `*`.
    pub(crate) actions: &'static [&'static str],
    /// Control-plane operations removed from `actions` of this block.
    pub(crate) not_actions: &'static [&'static str],
    /// Data-plane operations granted (`dataActions`).
    pub(crate) data_actions: &'static [&'static str],
    /// Data-plane operations removed from `data_actions` of this block.
    pub(crate) not_data_actions: &'static [&'static str],
    /// The block's ABAC `condition` and `conditionVersion`, shown as ARM shows them.
    pub(crate) condition: Option<(&'static str, &'static str)>,
    /// What the condition keeps from this block (the emulator does not evaluate it).
    pub(crate) withheld: Withheld,
}

/// The operations of a permission block that its ABAC condition may refuse. The emulator
/// does not evaluate conditions (they read request attributes such as the role being
/// assigned), so it never grants these: it may refuse what Azure allows, never the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Withheld {
    /// No condition: the block grants what it lists.
    Nothing,
    /// The condition names the operations it constrains with `ActionMatches{'…'}` (every
    /// built-in condition writes `!(ActionMatches{'x'}) OR …`, which leaves all other
    /// operations of the block granted): these patterns are withheld.
    Actions(&'static [&'static str]),
    /// A condition that names no operation constrains all of them.
    All,
}

/// An Azure built-in role definition, as returned by
/// `GET /providers/Microsoft.Authorization/roleDefinitions/{id}`, of type
/// [`BUILT_IN_ROLE_TYPE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RoleDefinition {
    /// Role definition GUID (the ARM `name`), lowercase.
    pub(crate) id: &'static str,
    /// Display name (`properties.roleName`), e.g. `"Reader"`.
    pub(crate) role_name: &'static str,
    /// `properties.description` as ARM returns it.
    pub(crate) description: &'static str,
    /// `properties.assignableScopes`: `["/"]` for most roles.
    pub(crate) assignable_scopes: &'static [&'static str],
    /// `properties.permissions`.
    pub(crate) permissions: &'static [Permission],
    /// `properties.createdOn` (RFC 3339). Real where known, otherwise
    /// [`roles::PLACEHOLDER_TIMESTAMP`].
    pub(crate) created_on: &'static str,
    /// `properties.updatedOn` (RFC 3339). Real where known, otherwise
    /// [`roles::PLACEHOLDER_TIMESTAMP`].
    pub(crate) updated_on: &'static str,
}

impl RoleDefinition {
    /// Whether this role definition allows `action` (a data-plane operation
    /// when `is_data_action`). Same rules as [`permits`].
    pub(crate) fn permits(&self, action: &str, is_data_action: bool) -> bool {
        permits(self.permissions, action, is_data_action)
    }

    /// Whether the role may be assigned at `scope`: one of its assignable scopes is the
    /// root or contains `scope`.
    pub(crate) fn assignable_at(&self, scope: &Scope) -> bool {
        self.assignable_scopes
            .iter()
            .any(|s| *s == "/" || Scope::parse(s).is_ok_and(|a| scope.is_within(&a)))
    }

    /// Tenant-level resource ID,
    /// `/providers/Microsoft.Authorization/roleDefinitions/{id}`.
    #[cfg(test)]
    pub(crate) fn resource_id(&self) -> String {
        format!("/providers/{ROLE_DEFINITION_RESOURCE_TYPE}/{}", self.id)
    }

    /// Resource ID of this definition as seen from a subscription, the form
    /// ARM uses in `roleDefinitionId` of role assignments:
    /// `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{id}`.
    #[cfg(test)]
    pub(crate) fn subscription_resource_id(&self, subscription_id: &str) -> String {
        format!(
            "/subscriptions/{subscription_id}/providers/{ROLE_DEFINITION_RESOURCE_TYPE}/{}",
            self.id
        )
    }

    /// `true` when `created_on`/`updated_on` are real values rather than
    /// [`roles::PLACEHOLDER_TIMESTAMP`].
    #[cfg(test)]
    pub(crate) fn has_known_timestamps(&self) -> bool {
        self.created_on != roles::PLACEHOLDER_TIMESTAMP
            && self.updated_on != roles::PLACEHOLDER_TIMESTAMP
    }
}

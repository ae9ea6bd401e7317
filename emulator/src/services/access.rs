//! Role assignments and the checks every ARM operation makes: the scope is this tenant's,
//! the caller may do the action there (ARM's plane, as it sees assignments now), the scope
//! exists. ARM's handlers and the portal both create and delete assignments through
//! [`AppState::put_assignment`] and [`AppState::delete_assignment`].

use axum::http::StatusCode;
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use super::arm_error::ArmError;
use crate::rbac::{
    Assignment, Conflict, Plane, Planes, PrincipalType, RoleRef, Scope, ScopeKind, Stamps, Upsert,
};
use crate::resources::{ArmStore, Missing};

/// The resource type of role assignments.
pub(crate) const ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";
/// The resource type of role definitions.
pub(crate) const DEFINITIONS: &str = "Microsoft.Authorization/roleDefinitions";

/// The subscription a path names: a GUID of this tenant, or ARM's error.
pub(crate) fn known_subscription(store: &ArmStore, text: &str) -> Result<Uuid, ArmError> {
    let id = Uuid::try_parse(text).map_err(|_| ArmError::InvalidSubscriptionId(text.to_owned()))?;
    store
        .subscription(&id)
        .map(|s| s.id)
        .ok_or_else(|| ArmError::SubscriptionNotFound(text.to_owned()))
}

/// Parses a scope taken from a path; its subscription, if any, must be this tenant's.
pub(crate) fn scope_in_tenant(store: &ArmStore, text: &str) -> Result<Scope, ArmError> {
    let scope = Scope::parse(text).map_err(|_| ArmError::MissingSubscription)?;
    if let Some(sub) = scope.subscription_id() {
        known_subscription(store, sub)?;
    }
    Ok(scope)
}

/// Checks that the scope exists; called after authorization, as ARM does, so that a caller
/// without access learns nothing about what exists.
pub(crate) fn require_exists(store: &ArmStore, scope: &Scope) -> Result<(), ArmError> {
    store.check_scope(scope).map_err(|m| match m {
        Missing::Subscription(s) => ArmError::SubscriptionNotFound(s),
        Missing::ResourceGroup(g) => ArmError::ResourceGroupNotFound(g),
        Missing::Resource(resource_type, name, group) => ArmError::ResourceNotFound {
            resource_type,
            name,
            group,
        },
        Missing::Unsupported => ArmError::MissingSubscription,
    })
}

/// Whether `caller` may do `action` at `scope` as ARM sees assignments at `now`.
pub(crate) fn allowed(
    store: &ArmStore,
    caller: &Uuid,
    action: &str,
    scope: &Scope,
    now: OffsetDateTime,
) -> bool {
    store
        .authz
        .is_allowed(caller, scope, action, false, Plane::Arm, now)
}

/// [`allowed`], or ARM's 403 naming the caller, the action and the scope.
pub(crate) fn require(
    store: &ArmStore,
    caller: &Uuid,
    action: &str,
    scope: &Scope,
    now: OffsetDateTime,
) -> Result<(), ArmError> {
    if allowed(store, caller, action, scope, now) {
        Ok(())
    } else {
        Err(ArmError::AuthorizationFailed {
            principal: *caller,
            action: action.to_owned(),
            scope: scope.as_str().to_owned(),
        })
    }
}

/// `{scope}/providers/{type}/{name}`, without a doubled slash at the root.
pub(crate) fn child_id(scope: &Scope, resource_type: &str, name: &str) -> String {
    let prefix = if scope.kind() == ScopeKind::Root {
        ""
    } else {
        scope.as_str()
    };
    format!("{prefix}/providers/{resource_type}/{name}")
}

/// The role GUID of `/providers/Microsoft.Authorization/roleDefinitions/{guid}`, optionally
/// preceded by a subscription or management group.
pub(crate) fn role_definition_guid(id: &str) -> Result<Uuid, ArmError> {
    let invalid = || ArmError::InvalidRoleDefinitionId(id.to_owned());
    let segs: Vec<&str> = id.split('/').collect();
    let tail = match segs.as_slice() {
        ["", rest @ ..] => rest,
        _ => return Err(invalid()),
    };
    let definition = match tail {
        [p, ns, t, g] => (p, ns, t, g),
        [s, _, p, ns, t, g] if s.eq_ignore_ascii_case("subscriptions") => (p, ns, t, g),
        [p0, m, mg, _, p, ns, t, g]
            if p0.eq_ignore_ascii_case("providers")
                && m.eq_ignore_ascii_case("Microsoft.Management")
                && mg.eq_ignore_ascii_case("managementGroups") =>
        {
            (p, ns, t, g)
        }
        _ => return Err(invalid()),
    };
    let (p, ns, t, g) = definition;
    if !(p.eq_ignore_ascii_case("providers")
        && ns.eq_ignore_ascii_case("Microsoft.Authorization")
        && t.eq_ignore_ascii_case("roleDefinitions"))
    {
        return Err(invalid());
    }
    Uuid::try_parse(g).map_err(|_| invalid())
}

/// A role assignment as a caller asks for it, its body already read.
#[derive(Debug, Clone)]
pub(crate) struct NewAssignment {
    /// Its name: a GUID, and the text the path gave it (errors name the scope as written).
    pub(crate) name: Uuid,
    /// The name as written in the path.
    pub(crate) name_text: String,
    /// `properties.roleDefinitionId` as given.
    pub(crate) role_definition_id: String,
    /// `properties.principalId`.
    pub(crate) principal_id: Uuid,
    /// `properties.principalType`, when given and honoured by the api-version.
    pub(crate) principal_type: Option<PrincipalType>,
    /// `properties.principalType` as written.
    pub(crate) given_type: Option<String>,
    /// `properties.description`.
    pub(crate) description: Option<String>,
    /// `properties.condition`.
    pub(crate) condition: Option<String>,
    /// `properties.conditionVersion`.
    pub(crate) condition_version: Option<String>,
    /// `properties.delegatedManagedIdentityResourceId`.
    pub(crate) delegated: Option<String>,
    /// The api-version of the request (roles with data actions need 2018-01-01 or later).
    pub(crate) version: String,
}

impl AppState {
    /// What ARM sees of a principal: its type when the directory shows it, given the
    /// replication window of new service principals.
    fn visible_principal(&self, principal: &Uuid, now: OffsetDateTime) -> Option<PrincipalType> {
        let dir = self.directory();
        let sp = dir.sp(principal)?;
        let window = time::Duration::try_from(self.config.principal_replication)
            .unwrap_or(time::Duration::MAX);
        let visible_from = sp.created.checked_add(window)?;
        (now >= visible_from).then_some(PrincipalType::ServicePrincipal)
    }

    /// Creates a role assignment at `scope` for `caller`, as ARM's PUT does, and returns it
    /// as stored with whether it was new; it reaches each plane after that plane's
    /// propagation delay. Checks, in ARM's order: the scope, the caller's
    /// `roleAssignments/write` on the new assignment, the scope's existence, the role
    /// definition, the principal. Writing an existing name again may change only its
    /// description and condition.
    pub(crate) fn put_assignment(
        &self,
        caller: Uuid,
        scope: &str,
        new: NewAssignment,
        now: OffsetDateTime,
    ) -> Result<(Assignment, Upsert), ArmError> {
        self.put_assignment_with(caller, scope, new, now, None)
    }

    /// [`AppState::put_assignment`], reaching the planes after `delays` instead of the
    /// configured propagation delays when given (a seed's assignments effective at once).
    pub(crate) fn put_assignment_with(
        &self,
        caller: Uuid,
        scope: &str,
        new: NewAssignment,
        now: OffsetDateTime,
        delays: Option<Planes<std::time::Duration>>,
    ) -> Result<(Assignment, Upsert), ArmError> {
        // The directory is read before the ARM lock is taken, never while holding it.
        let seen = self.visible_principal(&new.principal_id, now);
        // A managed identity's cached token hides the new role until it is renewed.
        let delays = delays.unwrap_or_else(|| {
            let configured = self.config.propagation.planes(new.name.as_u128());
            self.unseen_by_cached_tokens(&new.principal_id, configured, now)
        });
        let principal_type = match (new.principal_type, seen) {
            (Some(given), Some(actual)) if given != actual => {
                Err(ArmError::UnmatchedPrincipalType {
                    principal: new.principal_id,
                    actual: actual.as_str(),
                    given: new.given_type.clone().unwrap_or_default(),
                })
            }
            (Some(given), _) => Ok(given),
            (None, Some(actual)) => Ok(actual),
            (None, None) => Err(ArmError::PrincipalNotFound {
                principal: new.principal_id,
                tenant: self.config.tenant_id,
            }),
        };

        let mut store = self.arm_mut();
        let scope = scope_in_tenant(&store, scope)?;
        let target = Scope::parse(&child_id(&scope, ASSIGNMENTS, &new.name_text))
            .unwrap_or_else(|_| scope.clone());
        require(
            &store,
            &caller,
            &format!("{ASSIGNMENTS}/write"),
            &target,
            now,
        )?;
        require_exists(&store, &scope)?;
        let role_guid = role_definition_guid(&new.role_definition_id)?;
        let role = store.authz.resolve_role(&role_guid).ok_or_else(|| {
            ArmError::RoleDefinitionDoesNotExist {
                id: role_guid.simple().to_string(),
                status: StatusCode::BAD_REQUEST,
            }
        })?;
        match role {
            RoleRef::BuiltIn(r) => {
                if !r.assignable_at(&scope) {
                    return Err(ArmError::RoleNotAssignableAtScope(r.role_name.to_owned()));
                }
                let has_data = r
                    .permissions
                    .iter()
                    .any(|p| !p.data_actions.is_empty() || !p.not_data_actions.is_empty());
                if has_data && new.version.as_str() < "2018-01-01" {
                    return Err(ArmError::DataActionsNeedNewerVersion(new.version));
                }
            }
            RoleRef::Custom(id) => {
                if let Some(custom) = store.authz.custom_role(&id)
                    && !custom.assignable_at(&scope)
                {
                    return Err(ArmError::RoleNotAssignableAtScope(custom.role_name.clone()));
                }
            }
        }
        let principal_type = principal_type?;
        let assignment = Assignment {
            name: new.name,
            scope,
            role,
            principal_id: new.principal_id,
            principal_type,
            description: new.description,
            condition: new.condition,
            condition_version: new.condition_version,
            delegated_managed_identity_resource_id: new.delegated,
            stamps: Stamps::new(now, Some(caller)),
        };
        match store.authz.upsert(assignment, now, delays) {
            Ok(outcome) => store
                .authz
                .get(&new.name)
                .cloned()
                .map(|stored| (stored, outcome))
                .ok_or(ArmError::RoleAssignmentUpdateNotPermitted),
            Err(Conflict::Exists { existing }) => Err(ArmError::RoleAssignmentExists(existing)),
            Err(_) => Err(ArmError::RoleAssignmentUpdateNotPermitted),
        }
    }

    /// Deletes the role assignment `name` at `scope` for `caller`, as ARM's DELETE does:
    /// the deleted assignment, or `None` when there is none there. Access lasts until the
    /// deletion propagates.
    pub(crate) fn delete_assignment(
        &self,
        caller: Uuid,
        scope: &str,
        name: Uuid,
        name_text: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Assignment>, ArmError> {
        let mut store = self.arm_mut();
        let scope = scope_in_tenant(&store, scope)?;
        let target = Scope::parse(&child_id(&scope, ASSIGNMENTS, name_text))
            .unwrap_or_else(|_| scope.clone());
        require(
            &store,
            &caller,
            &format!("{ASSIGNMENTS}/delete"),
            &target,
            now,
        )?;
        require_exists(&store, &scope)?;
        if store.authz.get(&name).is_none_or(|a| a.scope != scope) {
            return Ok(None);
        }
        let delays = self.config.propagation.planes(name.as_u128());
        Ok(store.authz.remove(&name, now, delays))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_definition_ids_take_arm_forms() {
        let g = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
        for ok in [
            format!("/providers/Microsoft.Authorization/roleDefinitions/{g}"),
            format!("/subscriptions/s/providers/microsoft.authorization/roledefinitions/{g}"),
            format!(
                "/providers/Microsoft.Management/managementGroups/m/providers/Microsoft.Authorization/roleDefinitions/{g}"
            ),
        ] {
            assert_eq!(
                role_definition_guid(&ok).map(|u| u.to_string()),
                Ok(g.to_owned()),
                "{ok}"
            );
        }
        for bad in [
            String::new(),
            g.to_owned(),
            format!("/providers/Microsoft.Authorization/roleDefinitions/{g}|"),
            format!(
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.Authorization/roleDefinitions/{g}"
            ),
            format!("/providers/Microsoft.Web/roleDefinitions/{g}"),
        ] {
            assert!(
                matches!(
                    role_definition_guid(&bad),
                    Err(ArmError::InvalidRoleDefinitionId(_))
                ),
                "{bad}"
            );
        }
    }
}

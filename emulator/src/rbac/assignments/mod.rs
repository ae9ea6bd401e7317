//! The role assignment store: assignments, custom role definitions, and the authorization
//! decision, with no HTTP in it.
//!
//! Each assignment becomes effective on each [`Plane`] at its own time, and a deleted one
//! stays effective until its revocation has propagated. The store therefore keeps, next to
//! the live assignments that ARM's API shows, a *grant* per assignment carrying both
//! windows; deleted assignments leave their grant behind until it has lapsed everywhere.
//!
//! Indexes: grants by principal then by scope key, so a decision looks up only the target
//! scope's ancestors of one principal (a handful of hash lookups, whatever the store's
//! size); live assignment names by scope key in an ordered map, so "at, above and below a
//! scope" listings are lookups plus one range scan.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::changes::{Counter, Mark, Tracker};

use super::{Plane, Planes, Scope, find_by_id, find_by_name};

mod model;

use self::model::owned_permits;
pub(crate) use self::model::*;

/// Role assignments and custom role definitions of one tenant.
#[derive(Debug, Clone, Default)]
pub(crate) struct AssignmentStore {
    assignments: HashMap<Uuid, Assignment>,
    /// principal → scope key → grants (live and revoked-but-not-lapsed).
    grants: HashMap<Uuid, HashMap<Box<str>, Vec<Grant>>>,
    /// scope key → names of the live assignments there.
    by_scope: BTreeMap<Box<str>, Vec<Uuid>>,
    custom_roles: HashMap<Uuid, CustomRole>,
    /// Custom role id → earlier permissions some plane may still apply, oldest first.
    stale_roles: HashMap<Uuid, Vec<StaleRole>>,
    /// Keys changed since persistence last looked (`None`: not persisted).
    track: Option<Tracker<AuthzKey>>,
}

/// `now` plus each delay; an absurd delay saturates at the end of year 9999.
fn at(now: OffsetDateTime, delays: Planes<Duration>) -> Planes<OffsetDateTime> {
    delays.map(|d| {
        time::Duration::try_from(d)
            .ok()
            .and_then(|d| now.checked_add(d))
            .unwrap_or(time::macros::datetime!(9999-12-31 23:59:59 UTC))
    })
}

/// Whether `key` lies strictly below the scope whose key is `parent` (segment-aligned).
fn is_below(key: &str, parent: &str) -> bool {
    if parent == "/" {
        return key != "/";
    }
    key.len() > parent.len() && key.starts_with(parent) && key.as_bytes()[parent.len()] == b'/'
}

impl AssignmentStore {
    /// Number of live assignments.
    pub(crate) fn len(&self) -> usize {
        self.assignments.len()
    }

    /// The live assignment called `name`.
    pub(crate) fn get(&self, name: &Uuid) -> Option<&Assignment> {
        self.assignments.get(name)
    }

    /// Stores `assignment`, or rewrites the mutable fields (description, condition) of the
    /// same assignment written again (leaving it untouched when they are equal). The new assignment reaches each plane after the
    /// plane's entry of `delays`, counted from `now`.
    ///
    /// Check and write happen in this one call, so under the caller's write lock two
    /// concurrent writers of the same principal, role and scope cannot both succeed.
    pub(crate) fn upsert(
        &mut self,
        assignment: Assignment,
        now: OffsetDateTime,
        delays: Planes<Duration>,
    ) -> Result<Upsert, Conflict> {
        if let Some(existing) = self.assignments.get_mut(&assignment.name) {
            if existing.principal_id != assignment.principal_id
                || existing.scope != assignment.scope
                || existing.role != assignment.role
            {
                return Err(Conflict::UpdateNotPermitted);
            }
            // ARM answers an identical write with the stored object as it was: the same
            // `updatedOn` and `updatedBy`.
            if existing.description == assignment.description
                && existing.condition == assignment.condition
                && existing.condition_version == assignment.condition_version
            {
                return Ok(Upsert::Unchanged);
            }
            existing.description = assignment.description;
            existing.condition = assignment.condition;
            existing.condition_version = assignment.condition_version;
            existing.stamps = existing.stamps.with_update(assignment.stamps);
            let key = slot(existing);
            self.touch(key);
            return Ok(Upsert::Updated);
        }
        let key: Box<str> = assignment.scope.key().into();
        // Most principals hold one assignment per scope: room for exactly one (a plain
        // push would reserve four).
        let grants = self
            .grants
            .entry(assignment.principal_id)
            .or_default()
            .entry(key.clone())
            .or_insert_with(|| Vec::with_capacity(1));
        if let Some(dup) = grants
            .iter()
            .find(|g| g.live() && g.role == assignment.role)
        {
            return Err(Conflict::Exists { existing: dup.name });
        }
        grants.retain(|g| !g.lapsed(now));
        grants.push(Grant {
            name: assignment.name,
            role: assignment.role,
            scope: assignment.scope.as_str().into(),
            effective: at(now, delays),
            revoked: None,
        });
        self.by_scope.entry(key).or_default().push(assignment.name);
        self.touch(slot(&assignment));
        self.assignments.insert(assignment.name, assignment);
        Ok(Upsert::Created)
    }

    /// Deletes the live assignment `name`; planes keep honouring it until `now` plus their
    /// entry of `delays`.
    pub(crate) fn remove(
        &mut self,
        name: &Uuid,
        now: OffsetDateTime,
        delays: Planes<Duration>,
    ) -> Option<Assignment> {
        let assignment = self.assignments.remove(name)?;
        self.touch(slot(&assignment));
        let key = assignment.scope.key();
        if let Some(names) = self.by_scope.get_mut(key) {
            names.retain(|n| n != name);
            if names.is_empty() {
                self.by_scope.remove(key);
            }
        }
        if let Some(by_key) = self.grants.get_mut(&assignment.principal_id) {
            if let Some(grants) = by_key.get_mut(key) {
                for g in grants.iter_mut().filter(|g| g.name == *name && g.live()) {
                    g.revoked = Some(at(now, delays));
                }
                grants.retain(|g| !g.lapsed(now));
                if grants.is_empty() {
                    by_key.remove(key);
                }
            }
            if by_key.is_empty() {
                self.grants.remove(&assignment.principal_id);
            }
        }
        Some(assignment)
    }

    /// Deletes every live assignment at or below `scope` (its resource was deleted);
    /// returns how many. Revocations propagate with `delays(name)` (per plane, or an array
    /// in [`Plane::ALL`] order).
    pub(crate) fn remove_within<D: Into<Planes<Duration>>>(
        &mut self,
        scope: &Scope,
        now: OffsetDateTime,
        delays: impl Fn(&Uuid) -> D,
    ) -> usize {
        let names: Vec<Uuid> = self
            .names_at(scope.key())
            .chain(self.names_below(scope.key()))
            .copied()
            .collect();
        for name in &names {
            self.remove(name, now, delays(name).into());
        }
        names.len()
    }

    fn names_at<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Uuid> + 'a {
        self.by_scope.get(key).into_iter().flatten()
    }

    fn names_below<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Uuid> + 'a {
        let prefix = if key == "/" {
            "/".to_owned()
        } else {
            format!("{key}/")
        };
        let root = key == "/";
        self.by_scope
            .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix.as_str()))
            .filter(move |(k, _)| !root || &***k != "/")
            .flat_map(|(_, names)| names)
    }

    /// Live assignments that apply at `scope`: those at or above it, plus those below it
    /// unless `at_scope_only` (ARM's `atScope()` filter). With `principal`, only that
    /// principal's. Sorted by name, so pages are stable.
    pub(crate) fn list(
        &self,
        scope: &Scope,
        at_scope_only: bool,
        principal: Option<&Uuid>,
    ) -> Vec<&Assignment> {
        let mut out: Vec<&Assignment> = match principal {
            Some(p) => self
                .grants
                .get(p)
                .into_iter()
                .flatten()
                .filter(|(key, _)| {
                    scope.is_within_key(key) || (!at_scope_only && is_below(key, scope.key()))
                })
                .flat_map(|(_, gs)| gs.iter().filter(|g| g.live()))
                .filter_map(|g| self.assignments.get(&g.name))
                .collect(),
            None => {
                let above = scope.ancestors().flat_map(|k| self.names_at(k));
                let names: Vec<&Uuid> = if at_scope_only {
                    above.collect()
                } else {
                    above.chain(self.names_below(scope.key())).collect()
                };
                names
                    .into_iter()
                    .filter_map(|n| self.assignments.get(n))
                    .collect()
            }
        };
        out.sort_unstable_by_key(|a| a.name);
        out.dedup_by_key(|a| a.name);
        out
    }

    /// Whether `principal` may perform `action` (a data action when `data`) at `target` on
    /// `plane` at `now`: the union over its assignments at the target and its ancestors,
    /// each role deciding block by block (NotActions subtract within their block only).
    pub(crate) fn is_allowed(
        &self,
        principal: &Uuid,
        target: &Scope,
        action: &str,
        data: bool,
        plane: Plane,
        now: OffsetDateTime,
    ) -> bool {
        let Some(by_key) = self.grants.get(principal) else {
            return false;
        };
        target.ancestors().any(|key| {
            by_key.get(key).is_some_and(|grants| {
                grants.iter().any(|g| {
                    g.active(plane, now) && self.role_permits(g.role, action, data, plane, now)
                })
            })
        })
    }

    /// Whether `principal` holds any role that is effective on `plane` at `now` at, above
    /// or below `scope` (what makes a subscription show up in its subscription list).
    pub(crate) fn has_access_within(
        &self,
        principal: &Uuid,
        scope: &Scope,
        plane: Plane,
        now: OffsetDateTime,
    ) -> bool {
        self.grants.get(principal).is_some_and(|by_key| {
            by_key.iter().any(|(key, grants)| {
                (scope.is_within_key(key) || is_below(key, scope.key()))
                    && grants.iter().any(|g| g.active(plane, now))
            })
        })
    }

    /// Whether `role` allows `action` as `plane` sees it at `now`: a custom role edited or
    /// deleted less than the plane's delay ago still has its earlier permissions there (the
    /// oldest view the plane has not yet dropped).
    fn role_permits(
        &self,
        role: RoleRef,
        action: &str,
        data: bool,
        plane: Plane,
        now: OffsetDateTime,
    ) -> bool {
        match role {
            RoleRef::BuiltIn(r) => r.permits(action, data),
            RoleRef::Custom(id) => {
                let stale = self
                    .stale_roles
                    .get(&id)
                    .and_then(|views| views.iter().find(|v| now < v.until[plane]));
                match stale {
                    Some(v) => owned_permits(&v.permissions, action, data),
                    None => self
                        .custom_roles
                        .get(&id)
                        .is_some_and(|c| c.permits(action, data)),
                }
            }
        }
    }

    /// Keeps `permissions` (what role `id` granted until `now`) in force on each plane until
    /// its entry of `delays` has passed.
    fn retire_permissions(
        &mut self,
        id: Uuid,
        permissions: Vec<OwnedPermission>,
        now: OffsetDateTime,
        delays: Planes<Duration>,
    ) {
        let views = self.stale_roles.entry(id).or_default();
        views.retain(|v| v.until.iter().any(|&t| now < t));
        let until = at(now, delays);
        if until.iter().any(|&t| now < t) {
            views.push(StaleRole { permissions, until });
        }
        if views.is_empty() {
            self.stale_roles.remove(&id);
        }
    }

    /// Changes some plane has not seen yet at `now`, soonest first.
    pub(crate) fn pending(&self, now: OffsetDateTime) -> Vec<Pending<AssignmentChange>> {
        let mut out = Vec::new();
        for (principal, by_key) in &self.grants {
            for g in by_key.values().flatten() {
                for plane in Plane::ALL {
                    let effective = g.effective[plane];
                    let change = match g.revoked.map(|r| r[plane]) {
                        Some(r) if r > now && effective < r => Some((Change::Revoke, r)),
                        Some(_) => None,
                        None if effective > now => Some((Change::Grant, effective)),
                        None => None,
                    };
                    if let Some((change, effective_at)) = change {
                        out.push(Pending {
                            what: AssignmentChange {
                                role_assignment_name: g.name,
                                principal_id: *principal,
                                role_definition_name: g.role.id(),
                                scope: g.scope.to_string(),
                                change,
                            },
                            plane,
                            effective_at,
                        });
                    }
                }
            }
        }
        out.sort_by_key(|p| (p.effective_at, p.what.role_assignment_name, p.plane));
        out
    }

    /// Custom role edits and deletions some plane has not seen yet at `now`, soonest first:
    /// per role and plane, when the plane applies the role's latest version.
    pub(crate) fn pending_roles(&self, now: OffsetDateTime) -> Vec<Pending<RoleDefinitionChange>> {
        let mut latest: HashMap<(Uuid, Plane), OffsetDateTime> = HashMap::new();
        for (&id, views) in &self.stale_roles {
            for v in views {
                for plane in Plane::ALL.into_iter().filter(|&p| now < v.until[p]) {
                    let at = latest.entry((id, plane)).or_insert(v.until[plane]);
                    *at = (*at).max(v.until[plane]);
                }
            }
        }
        let mut out: Vec<_> = (latest.into_iter())
            .map(|((id, plane), effective_at)| Pending {
                what: RoleDefinitionChange {
                    role_definition_name: id,
                    change: if self.custom_roles.contains_key(&id) {
                        RoleChange::Update
                    } else {
                        RoleChange::Delete
                    },
                },
                plane,
                effective_at,
            })
            .collect();
        out.sort_by_key(|p| (p.effective_at, p.what.role_definition_name, p.plane));
        out
    }

    /// The role definition with this GUID: built-in first, then custom.
    pub(crate) fn resolve_role(&self, id: &Uuid) -> Option<RoleRef> {
        let mut buf = Uuid::encode_buffer();
        let text = id.as_hyphenated().encode_lower(&mut buf);
        find_by_id(text).map(RoleRef::BuiltIn).or_else(|| {
            self.custom_roles
                .contains_key(id)
                .then_some(RoleRef::Custom(*id))
        })
    }

    /// The custom role with this GUID.
    pub(crate) fn custom_role(&self, id: &Uuid) -> Option<&CustomRole> {
        self.custom_roles.get(id)
    }

    /// Every custom role, in id order.
    pub(crate) fn custom_roles(&self) -> Vec<&CustomRole> {
        let mut roles: Vec<&CustomRole> = self.custom_roles.values().collect();
        roles.sort_by_key(|r| r.id);
        roles
    }

    /// Creates or replaces a custom role. Role names are unique in the tenant, built-in
    /// names included. New permissions of a replaced role reach each plane after the
    /// plane's entry of `delays`, counted from `now`; until then
    /// the plane keeps the earlier ones, as for an assignment.
    pub(crate) fn put_custom_role(
        &mut self,
        role: CustomRole,
        now: OffsetDateTime,
        delays: Planes<Duration>,
    ) -> Result<Upsert, Conflict> {
        let clash = find_by_name(&role.role_name).is_some()
            || self
                .custom_roles
                .values()
                .any(|r| r.id != role.id && r.role_name.eq_ignore_ascii_case(&role.role_name));
        if clash {
            return Err(Conflict::RoleNameExists);
        }
        let id = role.id;
        self.touch(AuthzKey::Role(id));
        let changed = self
            .custom_roles
            .get(&id)
            .filter(|old| old.permissions != role.permissions)
            .map(|old| old.permissions.clone());
        let previous = self.custom_roles.insert(id, role);
        if let Some(permissions) = changed {
            self.retire_permissions(id, permissions, now, delays);
        }
        Ok(match previous {
            Some(_) => Upsert::Updated,
            None => Upsert::Created,
        })
    }

    /// Deletes a custom role that no live assignment uses. Planes keep its permissions
    /// (for assignments whose deletion is still propagating) until `now` plus their entry
    /// of `delays`.
    pub(crate) fn delete_custom_role(
        &mut self,
        id: &Uuid,
        now: OffsetDateTime,
        delays: Planes<Duration>,
    ) -> Result<Option<CustomRole>, Conflict> {
        if self
            .assignments
            .values()
            .any(|a| a.role == RoleRef::Custom(*id))
        {
            return Err(Conflict::RoleInUse);
        }
        self.touch(AuthzKey::Role(*id));
        let removed = self.custom_roles.remove(id);
        if let Some(role) = &removed {
            self.retire_permissions(*id, role.permissions.clone(), now, delays);
        }
        Ok(removed)
    }

    /// The earlier permissions of custom role `id` that some plane may still apply, oldest
    /// first (for persistence).
    pub(crate) fn stale_role(&self, id: &Uuid) -> &[StaleRole] {
        self.stale_roles.get(id).map_or(&[], Vec::as_slice)
    }

    /// Deleted custom roles some plane may still apply, in id order (for a snapshot).
    pub(crate) fn retired_roles(&self) -> Vec<(Uuid, &[StaleRole])> {
        let mut out: Vec<(Uuid, &[StaleRole])> = self
            .stale_roles
            .iter()
            .filter(|(id, _)| !self.custom_roles.contains_key(id))
            .map(|(id, views)| (*id, views.as_slice()))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }

    fn touch(&mut self, key: AuthzKey) {
        if let Some(t) = &mut self.track {
            t.mark(key);
        }
    }

    /// Starts recording changes, for persistence (see [`crate::persist`]).
    pub(crate) fn track(&mut self, counter: Counter) {
        self.track = Some(Tracker::new(counter));
    }

    /// The keys changed since the last call.
    pub(crate) fn take_changed(&mut self) -> Vec<AuthzKey> {
        self.track.as_mut().map(Tracker::take).unwrap_or_default()
    }

    /// What a slot holds: the live assignment (when its principal and scope match) and
    /// the grants of that name there.
    pub(crate) fn slot(
        &self,
        name: &Uuid,
        principal: &Uuid,
        key: &str,
    ) -> (Option<&Assignment>, Vec<&Grant>) {
        let live = self
            .assignments
            .get(name)
            .filter(|a| a.principal_id == *principal && a.scope.key() == key);
        let grants = self
            .grants
            .get(principal)
            .and_then(|by_key| by_key.get(key))
            .map(|gs| gs.iter().filter(|g| g.name == *name).collect())
            .unwrap_or_default();
        (live, grants)
    }

    /// Every slot holding something, for a snapshot.
    pub(crate) fn slots(&self) -> Vec<AuthzKey> {
        let mut out = Vec::with_capacity(self.assignments.len());
        for (principal, by_key) in &self.grants {
            for (key, grants) in by_key {
                let mut names: Vec<Uuid> = grants.iter().map(|g| g.name).collect();
                names.dedup();
                names.sort_unstable();
                names.dedup();
                out.extend(names.into_iter().map(|name| AuthzKey::Slot {
                    name,
                    principal: *principal,
                    key: key.clone(),
                }));
            }
        }
        out
    }

    /// Replaces what a slot holds (persistence replay).
    pub(crate) fn load_slot(
        &mut self,
        name: Uuid,
        principal: Uuid,
        key: &str,
        live: Option<Assignment>,
        grants: Vec<Grant>,
    ) {
        if let Some(by_key) = self.grants.get_mut(&principal) {
            if let Some(gs) = by_key.get_mut(key) {
                gs.retain(|g| g.name != name);
                if gs.is_empty() {
                    by_key.remove(key);
                }
            }
            if by_key.is_empty() {
                self.grants.remove(&principal);
            }
        }
        if self
            .assignments
            .get(&name)
            .is_some_and(|a| a.principal_id == principal && a.scope.key() == key)
        {
            self.assignments.remove(&name);
            if let Some(names) = self.by_scope.get_mut(key) {
                names.retain(|n| *n != name);
                if names.is_empty() {
                    self.by_scope.remove(key);
                }
            }
        }
        if !grants.is_empty() {
            self.grants
                .entry(principal)
                .or_default()
                .entry(key.into())
                .or_default()
                .extend(grants);
        }
        if let Some(a) = live {
            self.by_scope.entry(key.into()).or_default().push(name);
            self.assignments.insert(name, a);
        }
    }

    /// Replaces or removes a custom role, and the earlier permissions planes still apply,
    /// as persisted (replay).
    pub(crate) fn load_role(&mut self, id: Uuid, role: Option<CustomRole>, stale: Vec<StaleRole>) {
        match role {
            Some(r) => self.custom_roles.insert(id, r),
            None => self.custom_roles.remove(&id),
        };
        if stale.is_empty() {
            self.stale_roles.remove(&id);
        } else {
            self.stale_roles.insert(id, stale);
        }
    }
}

/// The persistence key of an assignment's slot.
fn slot(a: &Assignment) -> AuthzKey {
    AuthzKey::Slot {
        name: a.name,
        principal: a.principal_id,
        key: a.scope.key().into(),
    }
}

impl crate::changes::Tracked for AssignmentStore {
    /// The mark of the last change recorded (see [`crate::changes`]).
    fn last_mark(&self) -> Mark {
        self.track.as_ref().map_or(Mark::NONE, Tracker::last)
    }
}

#[cfg(test)]
mod tests;

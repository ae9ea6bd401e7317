//! Resource groups as ARM's PUT and the portal create them.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use super::access::{known_subscription, require};
use super::arm_error::ArmError;
use crate::rbac::Scope;
use crate::resources::{ResourceGroup, regions};

/// The action a resource group write needs.
pub(crate) const WRITE: &str = "Microsoft.Resources/subscriptions/resourceGroups/write";

/// A resource group's writable fields, as a PUT gives them.
#[derive(Debug, Clone)]
pub(crate) struct GroupFields {
    /// The location as written.
    pub(crate) given_location: String,
    /// The location normalized (`eastus`).
    pub(crate) location: String,
    /// Tags.
    pub(crate) tags: Option<Map<String, Value>>,
    /// `managedBy`.
    pub(crate) managed_by: Option<String>,
}

impl GroupFields {
    /// A group in `location` (any spelling of a region), without tags or `managedBy`.
    pub(crate) fn at(location: &str) -> Result<Self, ArmError> {
        let normalized = regions::normalize(location, false)
            .ok_or_else(|| ArmError::LocationNotAvailableForResourceGroup(location.to_owned()))?;
        Ok(Self {
            given_location: location.to_owned(),
            location: normalized,
            tags: None,
            managed_by: None,
        })
    }
}

/// The scope of a resource group.
pub(crate) fn group_scope(sub: &str, rg: &str) -> Result<Scope, ArmError> {
    Scope::parse(&format!("/subscriptions/{sub}/resourceGroups/{rg}"))
        .map_err(|_| ArmError::ResourceGroupNotFound(rg.to_owned()))
}

/// ARM's naming rule: letters, digits, `-`, `_`, `.`, `(`, `)`; no trailing `.`; at most
/// 90 characters.
pub(crate) fn check_name(name: &str) -> Result<(), ArmError> {
    let mut invalid = String::new();
    for c in name.chars() {
        if !(c.is_alphanumeric() || "-_.()".contains(c) || invalid.contains(c)) {
            invalid.push(c);
        }
    }
    if invalid.is_empty() && name.ends_with('.') {
        invalid.push('.');
    }
    if !invalid.is_empty() {
        return Err(ArmError::InvalidResourceGroup {
            name: name.to_owned(),
            invalid,
        });
    }
    if name.chars().count() > 90 {
        return Err(ArmError::ResourceGroupNameTooLong(name.to_owned()));
    }
    Ok(())
}

impl AppState {
    /// Creates (`true`) or replaces (`false`) the resource group `rg` of subscription `sub`
    /// for `caller`. `fields` reads the request's fields; it runs once the name, the
    /// subscription and the caller's `resourceGroups/write` are checked, as in ARM's order.
    pub(crate) fn put_group(
        &self,
        caller: Uuid,
        sub: &str,
        rg: &str,
        now: OffsetDateTime,
        fields: impl FnOnce() -> Result<GroupFields, ArmError>,
    ) -> Result<(ResourceGroup, bool), ArmError> {
        check_name(rg)?;
        let mut store = self.arm_mut();
        let id = known_subscription(&store, sub)?;
        require(&store, &caller, WRITE, &group_scope(sub, rg)?, now)?;
        let fields = fields()?;
        let previous = store.group(&id, rg).cloned();
        if let Some(p) = &previous
            && p.location != fields.location
        {
            return Err(ArmError::InvalidResourceGroupLocation {
                given: fields.given_location,
                existing: p.location.clone(),
            });
        }
        let group = ResourceGroup {
            subscription: id,
            name: previous.map_or_else(|| rg.to_owned(), |p| p.name),
            location: fields.location,
            tags: fields.tags,
            managed_by: fields.managed_by,
        };
        let created = store.put_group(group.clone());
        Ok((group, created))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_arm_rules() {
        assert!(check_name("my-rg_1.(x)").is_ok());
        assert!(check_name("grüße").is_ok());
        assert_eq!(
            check_name("a b/c b"),
            Err(ArmError::InvalidResourceGroup {
                name: "a b/c b".into(),
                invalid: " /".into()
            })
        );
        assert!(matches!(
            check_name("ends."),
            Err(ArmError::InvalidResourceGroup { invalid, .. }) if invalid == "."
        ));
        assert!(matches!(
            check_name(&"a".repeat(91)),
            Err(ArmError::ResourceGroupNameTooLong(_))
        ));
    }
}

//! Azure built-in role definitions (real data) and lookups.
//!
//! Every built-in role is in `roles/builtin-roles.json` (one role a line, sorted by id):
//! Azure's own definitions as a public dump shows them, its source and date in
//! `roles/SOURCE.md`, refreshed and checked by `tools/rbac/gen_catalog.py` in this crate.
//! The file is embedded at compile time and parsed once, on first use, into data that
//! lives for the rest of the process; lookups by id or name are binary searches over
//! sorted indexes.

use std::cmp::Ordering;
use std::sync::LazyLock;

use serde::Deserialize;

use super::{Permission, RoleDefinition, Withheld};

/// Fixed stand-in for `createdOn`/`updatedOn` of built-in roles whose real
/// timestamps could not be confirmed from a source. It is not real ARM data.
pub(crate) const PLACEHOLDER_TIMESTAMP: &str = "2020-01-01T00:00:00.0000000Z";

/// GUIDs (role definition `name`) of the built-in roles the code names (the portal's
/// common roles among them).
pub(crate) mod ids {
    /// `Owner`
    pub(crate) const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    /// `Reader`
    pub(crate) const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    /// `Contributor`
    #[cfg(any(test, feature = "portal"))]
    pub(crate) const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
    /// `User Access Administrator`
    #[cfg(any(test, feature = "portal"))]
    pub(crate) const USER_ACCESS_ADMINISTRATOR: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
    /// `Monitoring Metrics Publisher`
    #[cfg(any(test, feature = "portal"))]
    pub(crate) const MONITORING_METRICS_PUBLISHER: &str = "3913510d-42f4-4e42-8a64-420c390055eb";
    /// `Log Analytics Reader`
    #[cfg(any(test, feature = "portal"))]
    pub(crate) const LOG_ANALYTICS_READER: &str = "73c42c96-874c-492b-b04d-ab87d138a893";
    /// `Monitoring Reader`
    #[cfg(any(test, feature = "portal"))]
    pub(crate) const MONITORING_READER: &str = "43d0d8ad-25c7-4714-9337-8ba259a9fe05";
    /// `Log Analytics Contributor`
    #[cfg(any(test, feature = "portal"))]
    pub(crate) const LOG_ANALYTICS_CONTRIBUTOR: &str = "92aaf0da-9dab-42b6-94a3-d43ce8d16293";
    /// `Monitoring Contributor`
    #[cfg(any(test, feature = "portal"))]
    pub(crate) const MONITORING_CONTRIBUTOR: &str = "749f88d5-cbae-40b8-bcfc-e573ddc772fa";
}

/// The catalog as written by `tools/rbac/gen_catalog.py`.
const CATALOG_JSON: &str = include_str!("roles/builtin-roles.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRole {
    id: String,
    role_name: String,
    description: String,
    assignable_scopes: Vec<String>,
    permissions: Vec<RawPermission>,
    #[serde(default)]
    created_on: Option<String>,
    #[serde(default)]
    updated_on: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPermission {
    actions: Vec<String>,
    not_actions: Vec<String>,
    data_actions: Vec<String>,
    not_data_actions: Vec<String>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    condition_version: Option<String>,
}

/// The parsed catalog: roles sorted by id, and their positions sorted by name.
struct Catalog {
    roles: Box<[RoleDefinition]>,
    by_name: Box<[usize]>,
}

/// Parsed on first use; the test `catalog_parses` proves the embedded file parses.
static CATALOG: LazyLock<Catalog> = LazyLock::new(|| match parse(CATALOG_JSON) {
    Ok(catalog) => catalog,
    Err(e) => panic!("roles/builtin-roles.json does not parse: {e}"),
});

/// The catalog's strings and lists are kept for the life of the process, as a `static`
/// table would be, so that role definitions stay `&'static` and `Copy`.
fn keep(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn keep_all(list: Vec<String>) -> &'static [&'static str] {
    Box::leak(list.into_iter().map(keep).collect())
}

/// The operations named by `ActionMatches{'a', 'b'}` in an ABAC condition.
fn action_matches_in(condition: &str) -> Vec<String> {
    const KEY: &str = "actionmatches{";
    let lower = condition.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(at) = lower[rest..].find(KEY) {
        let start = rest + at + KEY.len();
        let end = lower[start..].find('}').map_or(lower.len(), |e| start + e);
        found.extend(
            condition[start..end]
                .split(',')
                .map(|p| p.trim().trim_matches('\'').to_owned())
                .filter(|p| !p.is_empty()),
        );
        rest = end;
    }
    found
}

fn permission(raw: RawPermission) -> Permission {
    let (condition, withheld) = match raw.condition {
        Some(condition) => {
            let gated = action_matches_in(&condition);
            let withheld = if gated.is_empty() {
                Withheld::All
            } else {
                Withheld::Actions(keep_all(gated))
            };
            let version = keep(raw.condition_version.unwrap_or_else(|| "2.0".to_owned()));
            (Some((keep(condition), version)), withheld)
        }
        None => (None, Withheld::Nothing),
    };
    Permission {
        actions: keep_all(raw.actions),
        not_actions: keep_all(raw.not_actions),
        data_actions: keep_all(raw.data_actions),
        not_data_actions: keep_all(raw.not_data_actions),
        condition,
        withheld,
    }
}

fn parse(json: &str) -> Result<Catalog, serde_json::Error> {
    let raw: Vec<RawRole> = serde_json::from_str(json)?;
    let mut roles: Vec<RoleDefinition> = raw
        .into_iter()
        .map(|r| RoleDefinition {
            id: keep(r.id.to_ascii_lowercase()),
            role_name: keep(r.role_name),
            description: keep(r.description),
            assignable_scopes: keep_all(r.assignable_scopes),
            permissions: Box::leak(r.permissions.into_iter().map(permission).collect()),
            created_on: r.created_on.map_or(PLACEHOLDER_TIMESTAMP, keep),
            updated_on: r.updated_on.map_or(PLACEHOLDER_TIMESTAMP, keep),
        })
        .collect();
    roles.sort_by(|a, b| a.id.cmp(b.id));
    let mut by_name: Vec<usize> = (0..roles.len()).collect();
    by_name.sort_by(|&a, &b| cmp_ignore_ascii_case(roles[a].role_name, roles[b].role_name));
    Ok(Catalog {
        roles: roles.into_boxed_slice(),
        by_name: by_name.into_boxed_slice(),
    })
}

/// Every built-in role, sorted by id.
pub(crate) fn all() -> &'static [RoleDefinition] {
    &CATALOG.roles
}

/// Finds a built-in role by its GUID, case-insensitively.
///
/// Also accepts a role definition resource ID ending in
/// `/providers/Microsoft.Authorization/roleDefinitions/{guid}` (tenant- or
/// subscription-relative); only the last segment is compared. Allocation-free
/// binary search.
pub(crate) fn find_by_id(id: &str) -> Option<&'static RoleDefinition> {
    let guid = match id.rfind('/') {
        Some(slash) => {
            let prefix = &id[..slash];
            let ok = prefix
                .len()
                .checked_sub(super::ROLE_DEFINITION_RESOURCE_TYPE.len())
                .and_then(|start| prefix.get(start..))
                .is_some_and(|tail| {
                    tail.eq_ignore_ascii_case(super::ROLE_DEFINITION_RESOURCE_TYPE)
                });
            if !ok {
                return None;
            }
            &id[slash + 1..]
        }
        None => id,
    };
    let roles = all();
    roles
        .binary_search_by(|role| cmp_ignore_ascii_case(role.id, guid))
        .ok()
        .and_then(|i| roles.get(i))
}

/// Finds a built-in role by display name, case-insensitively, like ARM's
/// `$filter=roleName eq '{name}'` on role definitions. Allocation-free binary search.
pub(crate) fn find_by_name(role_name: &str) -> Option<&'static RoleDefinition> {
    let catalog = &*CATALOG;
    catalog
        .by_name
        .binary_search_by(|&i| cmp_ignore_ascii_case(catalog.roles[i].role_name, role_name))
        .ok()
        .and_then(|at| catalog.roles.get(catalog.by_name[at]))
}

fn cmp_ignore_ascii_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::Scope;

    fn is_lower_guid(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 36
            && b.iter().enumerate().all(|(i, &c)| match i {
                8 | 13 | 18 | 23 => c == b'-',
                _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
            })
    }

    #[test]
    fn catalog_parses() {
        let parsed = parse(CATALOG_JSON).map(|c| c.roles.len());
        assert!(matches!(parsed, Ok(n) if n >= 887), "{parsed:?}");
        assert_eq!(all().len(), 887);
    }

    /// The data keeps the source's quirks (a role name and a few actions with a trailing
    /// space, roles whose only block grants nothing): ARM returns them so.
    #[test]
    fn data_is_well_formed() {
        for role in all() {
            assert!(is_lower_guid(role.id), "{}", role.role_name);
            assert!(!role.role_name.trim().is_empty());
            assert!(!role.description.is_empty(), "{}", role.role_name);
            assert!(!role.permissions.is_empty(), "{}", role.role_name);
            assert!(!role.assignable_scopes.is_empty(), "{}", role.role_name);
            for p in role.permissions {
                for pattern in p
                    .actions
                    .iter()
                    .chain(p.not_actions)
                    .chain(p.data_actions)
                    .chain(p.not_data_actions)
                {
                    assert!(!pattern.trim().is_empty(), "{}", role.role_name);
                    assert!(!pattern.contains("//"), "{pattern}");
                }
                assert_eq!(
                    p.condition.is_some(),
                    p.withheld != Withheld::Nothing,
                    "{}",
                    role.role_name
                );
            }
            for ts in [role.created_on, role.updated_on] {
                assert!(
                    ts.len() >= 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
                    "{ts}"
                );
            }
            assert!(role.created_on <= role.updated_on, "{}", role.role_name);
        }
    }

    /// The emulator withholds what an ABAC condition names with `ActionMatches`, and grants
    /// the block's other operations. That is safe only if every condition leaves those
    /// operations alone: each `ActionMatches` must appear negated, `!(ActionMatches{…})`.
    #[test]
    fn every_condition_constrains_only_the_operations_it_names() {
        let mut conditioned = 0;
        for role in all() {
            for (condition, version) in role.permissions.iter().filter_map(|p| p.condition) {
                conditioned += 1;
                assert_eq!(version, "2.0", "{}", role.role_name);
                let uses = condition.matches("ActionMatches{").count();
                let negated = condition.matches("!(ActionMatches{").count();
                assert_eq!(uses, negated, "{}: {condition}", role.role_name);
            }
        }
        assert_eq!(conditioned, 34);
    }

    #[test]
    fn a_condition_withholds_what_it_constrains() {
        let Some(admin) = find_by_name("Key Vault Data Access Administrator") else {
            panic!("Key Vault Data Access Administrator missing")
        };
        assert_eq!(
            admin.permissions[0].withheld,
            Withheld::Actions(&[
                "Microsoft.Authorization/roleAssignments/write",
                "Microsoft.Authorization/roleAssignments/delete"
            ])
        );
        assert!(admin.permits("Microsoft.KeyVault/vaults/secrets/read", false));
        assert!(admin.permits("Microsoft.Authorization/roleAssignments/read", false));
        assert!(!admin.permits("Microsoft.Authorization/roleAssignments/write", false));
        assert!(!admin.permits("microsoft.authorization/roleassignments/DELETE", false));
        // A condition without ActionMatches constrains its whole block (here the block
        // that grants roleAssignments/write); the role's unconditioned block still grants.
        let Some(sphere) = find_by_name("Azure Sphere Owner") else {
            panic!("Azure Sphere Owner missing")
        };
        assert_eq!(sphere.permissions[1].withheld, Withheld::All);
        assert!(!sphere.permits("Microsoft.Authorization/roleAssignments/write", false));
        assert!(sphere.permits("Microsoft.AzureSphere/catalogs/read", false));
        assert_eq!(
            action_matches_in("(!(ActionMatches{'a/b', 'c/*'})) OR (@Request[x] StringEquals 'y')"),
            ["a/b", "c/*"]
        );
        assert!(action_matches_in("@Resource[HasObotoken] boolequals true").is_empty());
    }

    #[test]
    fn assignable_scopes_are_honoured() {
        let Some(reservations) = find_by_name("Reservations Reader") else {
            panic!("Reservations Reader missing")
        };
        assert_eq!(
            reservations.assignable_scopes,
            &["/providers/Microsoft.Capacity"]
        );
        let sub =
            Scope::parse("/subscriptions/00000000-0000-0000-0000-000000000001").expect("scope");
        assert!(!reservations.assignable_at(&sub));
        let Some(reader) = find_by_id(ids::READER) else {
            panic!("Reader missing")
        };
        assert!(reader.assignable_at(&sub));
        assert!(reader.assignable_at(&Scope::root()));
    }

    #[test]
    fn ids_and_names_are_unique_and_sorted() {
        for pair in all().windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "not sorted: {} {}",
                pair[0].id,
                pair[1].id
            );
        }
        let mut names: Vec<String> = all()
            .iter()
            .map(|r| r.role_name.to_ascii_lowercase())
            .collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn every_role_is_found_by_id_and_name() {
        for role in all() {
            assert_eq!(find_by_id(role.id), Some(role));
            assert_eq!(find_by_id(&role.id.to_ascii_uppercase()), Some(role));
            assert_eq!(find_by_name(role.role_name), Some(role));
            assert_eq!(
                find_by_name(&role.role_name.to_ascii_uppercase()),
                Some(role)
            );
            assert_eq!(find_by_id(&role.resource_id()), Some(role));
            assert_eq!(
                find_by_id(&role.subscription_resource_id("sub")),
                Some(role)
            );
        }
    }

    #[test]
    fn lookups_reject_unknown_or_malformed_input() {
        assert_eq!(find_by_id(""), None);
        assert_eq!(find_by_id("/"), None);
        assert_eq!(find_by_id("00000000-0000-0000-0000-000000000000"), None);
        assert_eq!(find_by_id("acdd72a7-3385-48ef-bd42-f606fba81ae"), None);
        assert_eq!(
            find_by_id("/foo/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
            None
        );
        assert_eq!(find_by_id("é/acdd72a7-3385-48ef-bd42-f606fba81ae7"), None);
        assert_eq!(find_by_name("Readers"), None);
        assert_eq!(find_by_name(""), None);
        assert_eq!(find_by_name(" Reader"), None);
    }

    #[test]
    fn required_roles_have_their_real_guids() {
        let expected = [
            ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
            ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
            ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
            (
                "User Access Administrator",
                "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
            ),
            (
                "Role Based Access Control Administrator",
                "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
            ),
            (
                "Monitoring Metrics Publisher",
                "3913510d-42f4-4e42-8a64-420c390055eb",
            ),
            ("Monitoring Reader", "43d0d8ad-25c7-4714-9337-8ba259a9fe05"),
            (
                "Monitoring Contributor",
                "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
            ),
            (
                "Log Analytics Reader",
                "73c42c96-874c-492b-b04d-ab87d138a893",
            ),
            (
                "Log Analytics Contributor",
                "92aaf0da-9dab-42b6-94a3-d43ce8d16293",
            ),
            (
                "Log Analytics Data Reader",
                "3b03c2da-16b3-4a49-8834-0f8130efdd3b",
            ),
            (
                "Application Insights Component Contributor",
                "ae349356-3a1b-4a5e-921d-050484c6347e",
            ),
            (
                "Storage Blob Data Reader",
                "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
            ),
            (
                "Storage Blob Data Contributor",
                "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
            ),
            (
                "Storage Blob Data Owner",
                "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
            ),
            (
                "Key Vault Administrator",
                "00482a5a-887f-4fb3-b363-3b7fe8e74483",
            ),
            (
                "Key Vault Secrets User",
                "4633458b-17de-408a-b874-0445c86b69e6",
            ),
            ("Key Vault Reader", "21090545-7ca7-4776-b22c-e363652d74d2"),
            (
                "Virtual Machine Contributor",
                "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
            ),
            (
                "Network Contributor",
                "4d97b98b-1d4f-4787-a291-c67834d212e7",
            ),
            (
                "Managed Identity Operator",
                "f1a07417-d97a-45cb-824c-7a7467783830",
            ),
            (
                "Managed Identity Contributor",
                "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
            ),
            (
                "Website Contributor",
                "de139f84-1756-47ae-9be6-808fbbe84772",
            ),
            (
                "Azure Kubernetes Service Cluster User Role",
                "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
            ),
            ("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d"),
            ("AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec"),
            (
                "Cost Management Reader",
                "72fafb9e-0641-4937-9268-a91bfd8191a3",
            ),
            ("Tag Contributor", "4a9ae827-6dc8-4573-8ac7-8239d42aa03f"),
            (
                "Resource Policy Contributor",
                "36243c78-bf99-498c-9df9-86d9f8d28608",
            ),
        ];
        let newer = [
            // Issue 18 item 9: roles tools assign that the emulator lacked.
            (
                "Storage Queue Data Contributor",
                "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
            ),
            (
                "Storage Table Data Contributor",
                "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
            ),
            // Called "Managed Applications Reader" in older docs.
            (
                "Managed Application Publisher Operator",
                "b9331d33-8a36-4f8c-b097-4f54124fdb44",
            ),
        ];
        for (name, guid) in expected.into_iter().chain(newer) {
            assert_eq!(find_by_name(name).map(|r| r.id), Some(guid), "{name}");
        }
        for (id, name) in [
            (ids::OWNER, "Owner"),
            (ids::READER, "Reader"),
            (
                ids::MONITORING_METRICS_PUBLISHER,
                "Monitoring Metrics Publisher",
            ),
        ] {
            assert_eq!(find_by_id(id).map(|r| r.role_name), Some(name));
        }
    }

    /// The roles issue 18 item 9 names, with their permissions as the catalog's source
    /// (philomath213/azure-roles-analyzer AzureBuiltinRoles.json, see roles/SOURCE.md) and
    /// Microsoft's built-in roles pages (storage.md, security.md) give them.
    #[test]
    fn roles_the_issue_names_resolve_with_their_actions() {
        let cases: [(&str, &str, &[&str], &[&str]); 3] = [
            (
                "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
                "Storage Queue Data Contributor",
                &[
                    "Microsoft.Storage/storageAccounts/queueServices/queues/delete",
                    "Microsoft.Storage/storageAccounts/queueServices/queues/read",
                    "Microsoft.Storage/storageAccounts/queueServices/queues/write",
                ],
                &[
                    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
                    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
                    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/write",
                    "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
                ],
            ),
            (
                "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
                "Storage Table Data Contributor",
                &[
                    "Microsoft.Storage/storageAccounts/tableServices/tables/read",
                    "Microsoft.Storage/storageAccounts/tableServices/tables/write",
                    "Microsoft.Storage/storageAccounts/tableServices/tables/delete",
                ],
                &[
                    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
                    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
                    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
                    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
                    "Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action",
                ],
            ),
            (
                "4633458b-17de-408a-b874-0445c86b69e6",
                "Key Vault Secrets User",
                &[],
                &[
                    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                ],
            ),
        ];
        for (id, name, actions, data_actions) in cases {
            let by_id = find_by_id(id);
            assert_eq!(by_id, find_by_name(name), "{name}");
            let Some(role) = by_id else {
                panic!("{name} missing")
            };
            assert_eq!(role.role_name, name);
            assert_eq!(role.assignable_scopes, &["/"]);
            assert_eq!(
                role.permissions,
                &[Permission {
                    actions,
                    not_actions: &[],
                    data_actions,
                    not_data_actions: &[],
                    condition: None,
                    withheld: Withheld::Nothing,
                }],
                "{name}"
            );
            for action in data_actions {
                assert!(role.permits(action, true), "{name} {action}");
                assert!(!role.permits(action, false), "{name} {action}");
            }
        }
    }

    #[test]
    fn reader_matches_arm_output() {
        let reader = find_by_name("reader").copied();
        let Some(reader) = reader else {
            panic!("Reader missing")
        };
        assert_eq!(
            reader.description,
            "View all resources, but does not allow you to make any changes."
        );
        assert_eq!(reader.created_on, "2015-02-02T21:55:09.8806423Z");
        assert_eq!(reader.updated_on, "2021-11-11T20:13:47.8628684Z");
        assert!(reader.has_known_timestamps());
        assert_eq!(
            reader.permissions,
            &[Permission {
                actions: &["*/read"],
                not_actions: &[],
                data_actions: &[],
                not_data_actions: &[],
                condition: None,
                withheld: Withheld::Nothing,
            }]
        );
        assert_eq!(
            reader.resource_id(),
            "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
        );
    }

    #[test]
    fn contributor_not_actions_are_complete() {
        let Some(c) = find_by_name("Contributor") else {
            panic!("Contributor missing")
        };
        assert_eq!(c.permissions.len(), 1);
        assert_eq!(c.permissions[0].actions, &["*"]);
        assert_eq!(c.permissions[0].not_actions.len(), 11);
        assert!(
            c.permissions[0]
                .not_actions
                .contains(&"Microsoft.Authorization/*/Write")
        );
    }
}

//! ARM permission matching.
//!
//! ARM compares operation names case-insensitively and treats `*` in a
//! pattern as "any run of characters, including `/` and the empty run":
//! `*/read` matches `Microsoft.Resources/subscriptions/resourceGroups/read`,
//! `Microsoft.Authorization/*/Write` matches
//! `Microsoft.Authorization/roleAssignments/write`, `*` matches everything.
//!
//! Within one role definition an operation is allowed when a permission
//! block lists it under `Actions` (`DataActions`) and the **same block**
//! does not list it under `NotActions` (`NotDataActions`). `NotActions` are
//! subtractions, not denies: another role assignment that grants the
//! operation still grants it (see [`permits_any`]).

use super::{Permission, Withheld};

/// Whether ARM action `pattern` (which may contain `*`) matches `action`.
///
/// Case-insensitive (ASCII); `*` matches any sequence of characters,
/// including `/` and the empty sequence; there is no other metacharacter.
/// Allocation-free and runs in `O(pattern.len() * action.len())` worst case
/// (usually linear), so hostile patterns such as `*a*a*a*…b` cannot cause
/// exponential backtracking.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    let p = pattern.as_bytes();
    let a = action.as_bytes();
    if p == b"*" {
        return true;
    }
    if !p.contains(&b'*') {
        return p.eq_ignore_ascii_case(a);
    }
    // Greedy matching with a single backtrack point (the last `*` seen).
    // When a later literal run fails, the last star absorbs one more
    // character; earlier stars never need revisiting, which bounds the work.
    let (mut pi, mut ai) = (0usize, 0usize);
    let mut star: Option<usize> = None; // index in `p` just after the last `*`
    let mut star_ai = 0usize; // position in `a` the last `*` currently reaches
    while ai < a.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                star = Some(pi);
                star_ai = ai;
            }
            Some(&c) if c.eq_ignore_ascii_case(&a[ai]) => {
                pi += 1;
                ai += 1;
            }
            _ => match star {
                Some(after_star) => {
                    star_ai += 1;
                    ai = star_ai;
                    pi = after_star;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether `permissions` (the `permissions` array of **one** role
/// definition) allow `action`.
///
/// For control-plane operations (`is_data_action == false`) a block allows
/// the action when one of its `actions` matches and none of its
/// `not_actions` does; for data-plane operations the same with
/// `data_actions`/`not_data_actions`. The result is `true` if any block
/// allows it.
///
/// `NotActions` are not deny rules: they only subtract within the block of
/// the role definition they appear in. To evaluate several role assignments
/// take the union, e.g. with [`permits_any`]; a `NotActions` entry of one
/// role never removes what another role grants.
pub(crate) fn permits(permissions: &[Permission], action: &str, is_data_action: bool) -> bool {
    permissions.iter().any(|block| {
        let granted = if is_data_action {
            block_permits(block.data_actions, block.not_data_actions, action)
        } else {
            block_permits(block.actions, block.not_actions, action)
        };
        granted
            && match block.withheld {
                Withheld::Nothing => true,
                Withheld::All => false,
                Withheld::Actions(gated) => !gated.iter().any(|p| action_matches(p, action)),
            }
    })
}

/// One permission block's decision: some pattern of `allow` matches `action` and no
/// pattern of `subtract` does. Works on borrowed and owned pattern lists alike, so custom
/// role definitions share the rule with the built-in ones.
pub(crate) fn block_permits<S: AsRef<str>>(allow: &[S], subtract: &[S], action: &str) -> bool {
    allow.iter().any(|p| action_matches(p.as_ref(), action))
        && !subtract.iter().any(|p| action_matches(p.as_ref(), action))
}

#[cfg(test)]
/// Whether any of `roles` allows `action` — the effective decision for a
/// principal holding all of them at (or above) the same scope, ignoring deny
/// assignments and ABAC conditions.
pub(crate) fn permits_any<'a, I>(roles: I, action: &str, is_data_action: bool) -> bool
where
    I: IntoIterator<Item = &'a super::RoleDefinition>,
{
    roles
        .into_iter()
        .any(|role| permits(role.permissions, action, is_data_action))
}

#[cfg(test)]
mod tests {
    use super::super::roles::{find_by_name, ids};
    use super::super::{RoleDefinition, find_by_id};
    use super::*;

    fn role(name: &str) -> &'static RoleDefinition {
        match find_by_name(name) {
            Some(r) => r,
            None => panic!("built-in role {name:?} missing"),
        }
    }

    fn can(name: &str, action: &str) -> bool {
        role(name).permits(action, false)
    }

    fn can_data(name: &str, action: &str) -> bool {
        role(name).permits(action, true)
    }

    // ---- action_matches -------------------------------------------------

    #[test]
    fn exact_match_is_case_insensitive() {
        assert!(action_matches(
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "microsoft.resources/SUBSCRIPTIONS/resourcegroups/READ"
        ));
        assert!(!action_matches(
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/subscriptions/resourceGroups/write"
        ));
        assert!(!action_matches("a/b", "a/b/c"));
        assert!(!action_matches("a/b/c", "a/b"));
    }

    #[test]
    fn star_matches_everything() {
        assert!(action_matches(
            "*",
            "Microsoft.Compute/virtualMachines/write"
        ));
        assert!(action_matches("*", ""));
        assert!(action_matches("**", "x"));
    }

    #[test]
    fn star_crosses_slashes() {
        assert!(action_matches(
            "*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read"
        ));
        assert!(action_matches(
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(action_matches(
            "Microsoft.Authorization/*",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        // `/*/` needs two slashes around what the star absorbs.
        assert!(!action_matches(
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
        ));
        assert!(action_matches(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/read"
        ));
    }

    #[test]
    fn star_suffix_and_prefix_literals_must_match() {
        assert!(!action_matches(
            "*/read",
            "Microsoft.Compute/virtualMachines/write"
        ));
        assert!(!action_matches(
            "*/read",
            "Microsoft.Compute/virtualMachines/readx"
        ));
        assert!(!action_matches(
            "Microsoft.Storage/*",
            "Microsoft.StorageSync/x/read"
        ));
        assert!(action_matches(
            "Microsoft.Storage*",
            "Microsoft.StorageSync/x/read"
        ));
        // `*/read` needs a slash before `read`.
        assert!(!action_matches("*/read", "read"));
        assert!(action_matches("*read", "read"));
    }

    #[test]
    fn multiple_stars_backtrack_correctly() {
        assert!(action_matches("a*b*c", "aXbYbZc"));
        assert!(action_matches("a*b*c", "abc"));
        assert!(!action_matches("a*b*c", "aXbYbZ"));
        assert!(action_matches("*a*a*", "xaya"));
        assert!(action_matches(
            "Microsoft.OperationalInsights/workspaces/*/read",
            "microsoft.operationalinsights/workspaces/query/Heartbeat/read"
        ));
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let pattern = format!("{}b", "*a".repeat(200));
        let action = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!action_matches(&pattern, &action));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        let ok = format!("{action}b");
        assert!(action_matches(&pattern, &ok));
    }

    #[test]
    fn non_ascii_input_does_not_panic() {
        assert!(!action_matches("*/réad", "x/read"));
        assert!(action_matches("*/réad", "X/RéAD"));
        assert!(action_matches("ü*", "ü/ß"));
    }

    // ---- permits: the real consequences of the built-in definitions ----

    const RG_READ: &str = "Microsoft.Resources/subscriptions/resourceGroups/read";
    const RG_WRITE: &str = "Microsoft.Resources/subscriptions/resourceGroups/write";
    const RA_WRITE: &str = "Microsoft.Authorization/roleAssignments/write";

    #[test]
    fn reader_reads_but_does_not_write() {
        assert!(can("Reader", RG_READ));
        assert!(can(
            "Reader",
            "Microsoft.Authorization/roleAssignments/read"
        ));
        assert!(!can("Reader", RG_WRITE));
        assert!(!can(
            "Reader",
            "Microsoft.Storage/storageAccounts/listKeys/action"
        ));
        assert!(!can_data("Reader", "Microsoft.Insights/Metrics/Write"));
    }

    #[test]
    fn contributor_manages_resources_but_not_access() {
        assert!(can("Contributor", RG_WRITE));
        assert!(can(
            "Contributor",
            "Microsoft.Compute/virtualMachines/delete"
        ));
        assert!(!can("Contributor", RA_WRITE));
        assert!(!can(
            "Contributor",
            "Microsoft.Authorization/roleAssignments/delete"
        ));
        assert!(!can(
            "Contributor",
            "Microsoft.Authorization/elevateAccess/Action"
        ));
        assert!(!can(
            "Contributor",
            "Microsoft.Compute/galleries/share/action"
        ));
        // NotActions only remove writes/deletes; reads stay.
        assert!(can(
            "Contributor",
            "Microsoft.Authorization/roleAssignments/read"
        ));
    }

    #[test]
    fn owner_can_assign_roles_but_has_no_data_actions() {
        assert!(can("Owner", RA_WRITE));
        assert!(can("Owner", RG_WRITE));
        assert!(!can_data(
            "Owner",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
        ));
    }

    #[test]
    fn access_admin_roles() {
        assert!(can("User Access Administrator", RA_WRITE));
        assert!(can(
            "User Access Administrator",
            "Microsoft.Authorization/roleDefinitions/write"
        ));
        assert!(!can("User Access Administrator", RG_WRITE));
        assert!(can("Role Based Access Control Administrator", RA_WRITE));
        assert!(!can(
            "Role Based Access Control Administrator",
            "Microsoft.Authorization/roleDefinitions/write"
        ));
        assert!(!can(
            "Role Based Access Control Administrator",
            "Microsoft.Authorization/policyAssignments/write"
        ));
    }

    #[test]
    fn not_actions_are_not_denies() {
        let contributor = role("Contributor");
        let uaa = role("User Access Administrator");
        assert!(!permits_any([contributor], RA_WRITE, false));
        assert!(permits_any([contributor, uaa], RA_WRITE, false));
        assert!(!permits_any(std::iter::empty(), RG_READ, false));
    }

    #[test]
    fn not_actions_apply_per_block_only() {
        static BLOCKS: &[Permission] = &[
            Permission {
                actions: &["Microsoft.Foo/*"],
                not_actions: &["Microsoft.Foo/bars/delete"],
                data_actions: &[],
                not_data_actions: &[],
                condition: None,
                withheld: Withheld::Nothing,
            },
            Permission {
                actions: &["Microsoft.Foo/bars/delete"],
                not_actions: &[],
                data_actions: &[],
                not_data_actions: &[],
                condition: None,
                withheld: Withheld::Nothing,
            },
        ];
        assert!(permits(BLOCKS, "Microsoft.Foo/bars/delete", false));
        assert!(!permits(&BLOCKS[..1], "Microsoft.Foo/bars/delete", false));
        assert!(permits(&BLOCKS[..1], "Microsoft.Foo/bars/write", false));
        assert!(!permits(&[], "Microsoft.Foo/bars/write", false));
    }

    #[test]
    fn monitoring_metrics_publisher_writes_metrics_and_telemetry() {
        let mmp = "Monitoring Metrics Publisher";
        assert!(can_data(mmp, "Microsoft.Insights/Metrics/Write"));
        assert!(can_data(mmp, "microsoft.insights/metrics/write"));
        assert!(can_data(mmp, "Microsoft.Insights/Telemetry/Write"));
        // Data actions are not control-plane actions.
        assert!(!can(mmp, "Microsoft.Insights/Metrics/Write"));
        assert!(can(mmp, RG_READ));
        assert!(!can(mmp, "Microsoft.Insights/components/read"));
        for other in [
            "Reader",
            "Owner",
            "Contributor",
            "Monitoring Contributor",
            "Monitoring Reader",
        ] {
            assert!(
                !can_data(other, "Microsoft.Insights/Metrics/Write"),
                "{other}"
            );
            assert!(
                !can_data(other, "Microsoft.Insights/Telemetry/Write"),
                "{other}"
            );
        }
    }

    #[test]
    fn log_analytics_query_permissions() {
        let query = "Microsoft.OperationalInsights/workspaces/query/read";
        let table = "Microsoft.OperationalInsights/workspaces/query/Heartbeat/read";
        let keys = "Microsoft.OperationalInsights/workspaces/sharedKeys/read";
        // Log Analytics Reader: */read covers query/read and per-table reads.
        assert!(can("Log Analytics Reader", query));
        assert!(can("Log Analytics Reader", table));
        assert!(can(
            "Log Analytics Reader",
            "Microsoft.OperationalInsights/workspaces/analytics/query/action"
        ));
        assert!(can(
            "Log Analytics Reader",
            "Microsoft.OperationalInsights/workspaces/search/action"
        ));
        assert!(!can("Log Analytics Reader", keys));
        assert!(!can(
            "Log Analytics Reader",
            "Microsoft.OperationalInsights/workspaces/sharedKeys/action"
        ));
        // Reader and Monitoring Reader can query too (*/read); Reader has no
        // NotActions, so it can even read the shared keys.
        assert!(can("Reader", query));
        assert!(can("Reader", keys));
        assert!(can("Monitoring Reader", query));
        // Log Analytics Contributor: full workspace management.
        assert!(can("Log Analytics Contributor", keys));
        assert!(can(
            "Log Analytics Contributor",
            "Microsoft.OperationalInsights/workspaces/write"
        ));
        // Log Analytics Data Reader: query + granular table data action.
        assert!(can("Log Analytics Data Reader", query));
        assert!(!can("Log Analytics Data Reader", table));
        assert!(can_data(
            "Log Analytics Data Reader",
            "Microsoft.OperationalInsights/workspaces/tables/data/read"
        ));
        assert!(!can_data(
            "Log Analytics Reader",
            "Microsoft.OperationalInsights/workspaces/tables/data/read"
        ));
    }

    #[test]
    fn application_insights_roles() {
        let aic = "Application Insights Component Contributor";
        assert!(can(aic, "Microsoft.Insights/components/write"));
        assert!(can(aic, "Microsoft.Insights/components/query/read"));
        assert!(can(aic, "Microsoft.Insights/webtests/write"));
        assert!(!can(aic, "Microsoft.Compute/virtualMachines/read"));
        assert!(!can_data(aic, "Microsoft.Insights/Telemetry/Write"));
        assert!(can("Reader", "Microsoft.Insights/components/query/read"));
        assert!(can(
            "Website Contributor",
            "Microsoft.Insights/components/write"
        ));
    }

    #[test]
    fn monitoring_contributor_and_reader() {
        assert!(can(
            "Monitoring Contributor",
            "Microsoft.Insights/diagnosticSettings/write"
        ));
        assert!(can(
            "Monitoring Contributor",
            "Microsoft.Insights/actionGroups/write"
        ));
        assert!(can(
            "Monitoring Contributor",
            "Microsoft.OperationalInsights/workspaces/sharedKeys/action"
        ));
        assert!(!can(
            "Monitoring Contributor",
            "Microsoft.Compute/virtualMachines/write"
        ));
        assert!(can("Monitoring Reader", "Microsoft.Insights/metrics/read"));
        assert!(!can(
            "Monitoring Reader",
            "Microsoft.Insights/diagnosticSettings/write"
        ));
    }

    #[test]
    fn storage_blob_data_roles() {
        let read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read";
        let write = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write";
        let perms = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/modifyPermissions/action";
        assert!(can_data("Storage Blob Data Reader", read));
        assert!(!can_data("Storage Blob Data Reader", write));
        assert!(can(
            "Storage Blob Data Reader",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read"
        ));
        assert!(!can(
            "Storage Blob Data Reader",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write"
        ));
        assert!(can_data("Storage Blob Data Contributor", write));
        assert!(can_data("Storage Blob Data Contributor", read));
        assert!(!can_data("Storage Blob Data Contributor", perms));
        assert!(can_data("Storage Blob Data Owner", perms));
        assert!(can(
            "Storage Blob Data Owner",
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete"
        ));
    }

    #[test]
    fn key_vault_roles() {
        let get = "Microsoft.KeyVault/vaults/secrets/getSecret/action";
        let meta = "Microsoft.KeyVault/vaults/secrets/readMetadata/action";
        assert!(can_data("Key Vault Secrets User", get));
        assert!(can_data("Key Vault Secrets User", meta));
        assert!(!can_data(
            "Key Vault Secrets User",
            "Microsoft.KeyVault/vaults/secrets/setSecret/action"
        ));
        assert!(!can_data("Key Vault Reader", get));
        assert!(can_data("Key Vault Reader", meta));
        assert!(can_data(
            "Key Vault Reader",
            "Microsoft.KeyVault/vaults/keys/read"
        ));
        assert!(can_data("Key Vault Administrator", get));
        assert!(can_data(
            "Key Vault Administrator",
            "Microsoft.KeyVault/vaults/keys/decrypt/action"
        ));
        assert!(!can(
            "Key Vault Administrator",
            "Microsoft.KeyVault/vaults/write"
        ));
        assert!(can(
            "Key Vault Contributor",
            "Microsoft.KeyVault/vaults/write"
        ));
        assert!(!can(
            "Key Vault Contributor",
            "Microsoft.KeyVault/locations/deletedVaults/purge/action"
        ));
        assert!(!can_data("Key Vault Contributor", get));
        assert!(!can_data("Owner", get));
    }

    #[test]
    fn compute_network_identity_web_roles() {
        assert!(can(
            "Virtual Machine Contributor",
            "Microsoft.Compute/virtualMachines/start/action"
        ));
        assert!(can(
            "Virtual Machine Contributor",
            "Microsoft.Network/networkInterfaces/write"
        ));
        assert!(!can(
            "Virtual Machine Contributor",
            "Microsoft.Network/virtualNetworks/write"
        ));
        assert!(can(
            "Network Contributor",
            "Microsoft.Network/virtualNetworks/write"
        ));
        assert!(!can(
            "Network Contributor",
            "Microsoft.Compute/virtualMachines/write"
        ));
        let assign = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
        assert!(!can("Managed Identity Operator", assign));
        assert!(can(
            "Managed Identity Operator",
            "Microsoft.ManagedIdentity/userAssignedIdentities/x/assign/action"
        ));
        assert!(can(
            "Managed Identity Operator",
            "Microsoft.ManagedIdentity/userAssignedIdentities/x/read"
        ));
        assert!(!can(
            "Managed Identity Operator",
            "Microsoft.ManagedIdentity/userAssignedIdentities/write"
        ));
        assert!(can(
            "Managed Identity Contributor",
            "Microsoft.ManagedIdentity/userAssignedIdentities/write"
        ));
        assert!(can("Website Contributor", "Microsoft.Web/sites/write"));
        assert!(!can(
            "Website Contributor",
            "Microsoft.Web/serverFarms/write"
        ));
    }

    #[test]
    fn containers_roles() {
        assert!(can(
            "AcrPull",
            "Microsoft.ContainerRegistry/registries/pull/read"
        ));
        assert!(!can(
            "AcrPull",
            "Microsoft.ContainerRegistry/registries/push/write"
        ));
        assert!(can(
            "AcrPush",
            "Microsoft.ContainerRegistry/registries/push/write"
        ));
        let user = "Azure Kubernetes Service Cluster User Role";
        assert!(can(
            user,
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"
        ));
        assert!(!can(
            user,
            "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"
        ));
        let admin = "Azure Kubernetes Service RBAC Admin";
        assert!(can_data(
            admin,
            "Microsoft.ContainerService/managedClusters/pods/read"
        ));
        assert!(!can_data(
            admin,
            "Microsoft.ContainerService/managedClusters/namespaces/write"
        ));
        assert!(can_data(
            "Azure Kubernetes Service RBAC Cluster Admin",
            "Microsoft.ContainerService/managedClusters/namespaces/write"
        ));
    }

    #[test]
    fn governance_roles() {
        assert!(can("Tag Contributor", "Microsoft.Resources/tags/write"));
        assert!(!can(
            "Tag Contributor",
            "Microsoft.Compute/virtualMachines/write"
        ));
        assert!(can(
            "Resource Policy Contributor",
            "Microsoft.Authorization/policyAssignments/write"
        ));
        assert!(!can("Resource Policy Contributor", RA_WRITE));
        assert!(can(
            "Cost Management Reader",
            "Microsoft.CostManagement/query/read"
        ));
        assert!(!can(
            "Cost Management Reader",
            "Microsoft.CostManagement/budgets/write"
        ));
        assert!(can(
            "Cost Management Contributor",
            "Microsoft.CostManagement/budgets/write"
        ));
    }

    #[test]
    fn lookup_by_id_constant_agrees_with_name() {
        let by_id = find_by_id(ids::MONITORING_METRICS_PUBLISHER);
        assert_eq!(
            by_id.map(|r| r.role_name),
            Some("Monitoring Metrics Publisher")
        );
    }
}

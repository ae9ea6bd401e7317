//! The resource providers the emulated ARM knows: each namespace, its resource types and the
//! api-versions each type takes (newest first). A request for a namespace outside this table
//! gets ARM's `InvalidResourceNamespace`, an unknown type of a known namespace
//! `InvalidResourceType`, a listed type asked for with another version the error naming the
//! versions below.
//!
//! The table holds the types the emulator gives server-side behaviour (workspaces, components,
//! data collection rules and endpoints) and the ones tools commonly create or register before
//! they deploy. Versions are the folders of each provider's published REST API specification
//! (`Azure/azure-rest-api-specs`, `specification/*/resource-manager/`); the Log Analytics
//! workspace list up to 2022-10-01 is the one ARM itself printed in a
//! `NoRegisteredProviderFound` answer (Azure/azure-rest-api-specs issue #22203). Versions
//! newer than a stored spec folder were added from the providers' changelogs and may be
//! incomplete: a guess where a test names no source.

/// A resource type of a provider.
#[derive(Debug)]
pub(crate) struct ResourceType {
    /// `workspaces`, or `servers/databases` for a child type.
    pub(crate) name: &'static str,
    /// Newest first, `, `-separated as ARM's messages list them.
    pub(crate) api_versions: &'static str,
}

impl ResourceType {
    /// Whether `version` is one of the type's (compared case-insensitively).
    pub(crate) fn takes(&self, version: &str) -> bool {
        self.versions().any(|v| v.eq_ignore_ascii_case(version))
    }

    /// The api-versions, newest first.
    pub(crate) fn versions(&self) -> impl Iterator<Item = &'static str> {
        self.api_versions.split(", ")
    }
}

/// A resource provider (a namespace).
#[derive(Debug)]
pub(crate) struct Provider {
    /// `Microsoft.OperationalInsights`.
    pub(crate) namespace: &'static str,
    /// Its resource types.
    pub(crate) resource_types: &'static [ResourceType],
}

impl Provider {
    /// The type called `name` (any casing).
    pub(crate) fn resource_type(&self, name: &str) -> Option<&'static ResourceType> {
        self.resource_types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }
}

/// The provider of `namespace` (any casing).
pub(crate) fn provider(namespace: &str) -> Option<&'static Provider> {
    PROVIDERS
        .iter()
        .find(|p| p.namespace.eq_ignore_ascii_case(namespace))
}

const fn t(name: &'static str, api_versions: &'static str) -> ResourceType {
    ResourceType { name, api_versions }
}

const WORKSPACES: &str = "2025-07-01, 2025-02-01, 2023-09-01, 2022-10-01, 2021-12-01-preview, 2021-06-01, 2021-03-01-privatepreview, 2020-10-01, 2020-08-01, 2020-03-01-preview, 2017-04-26-preview, 2017-03-15-preview, 2017-03-03-preview, 2017-01-01-preview, 2015-11-01-preview, 2015-03-20";
const COMPONENTS: &str = "2025-01-23-preview, 2020-02-02-preview, 2020-02-02, 2018-05-01-preview, 2015-05-01, 2014-12-01-preview, 2014-08-01, 2014-04-01";
const DATA_COLLECTION: &str =
    "2024-03-11, 2023-03-11, 2022-06-01, 2021-09-01-preview, 2021-04-01, 2019-11-01-preview";
const IDENTITIES: &str = "2025-01-31-preview, 2024-11-30, 2023-07-31-preview, 2023-01-31, 2022-01-31-preview, 2021-09-30-preview, 2018-11-30, 2015-08-31-preview";
const WEB: &str = "2024-11-01, 2024-04-01, 2023-12-01, 2023-01-01, 2022-09-01, 2022-03-01, 2021-03-01, 2021-02-01, 2021-01-15, 2021-01-01, 2020-12-01, 2020-10-01, 2020-09-01, 2020-06-01, 2019-08-01, 2018-11-01, 2018-02-01, 2016-09-01, 2016-08-01, 2016-03-01, 2015-08-01";
const STORAGE: &str = "2025-01-01, 2024-01-01, 2023-05-01, 2023-04-01, 2023-01-01, 2022-09-01, 2022-05-01, 2021-09-01, 2021-08-01, 2021-06-01, 2021-04-01, 2021-02-01, 2021-01-01, 2020-08-01-preview, 2019-06-01, 2019-04-01, 2018-11-01, 2018-07-01, 2018-02-01, 2017-10-01, 2017-06-01, 2016-12-01, 2016-05-01, 2016-01-01, 2015-06-15";
const KEY_VAULT: &str = "2024-11-01, 2024-04-01-preview, 2023-07-01, 2023-02-01, 2022-07-01, 2021-10-01, 2021-06-01-preview, 2019-09-01, 2018-02-14, 2016-10-01, 2015-06-01";
const SQL: &str = "2024-05-01-preview, 2023-08-01, 2023-05-01-preview, 2022-05-01-preview, 2021-11-01, 2021-02-01-preview, 2020-11-01-preview, 2020-02-02-preview, 2019-06-01-preview, 2017-10-01-preview, 2017-03-01-preview, 2015-05-01-preview, 2014-04-01";
const COMPUTE: &str = "2024-11-01, 2024-07-01, 2024-03-01, 2023-09-01, 2023-07-01, 2023-03-01, 2022-11-01, 2022-08-01, 2022-03-01, 2021-11-01, 2021-07-01, 2021-03-01, 2020-12-01, 2020-06-01, 2019-12-01, 2019-07-01, 2019-03-01, 2018-10-01, 2018-06-01, 2017-12-01, 2017-03-30, 2016-03-30, 2015-06-15";
const NETWORK: &str = "2024-05-01, 2024-03-01, 2024-01-01, 2023-11-01, 2023-09-01, 2023-06-01, 2023-05-01, 2023-04-01, 2023-02-01, 2022-11-01, 2022-09-01, 2022-07-01, 2022-05-01, 2022-01-01, 2021-08-01, 2021-05-01, 2021-03-01, 2021-02-01, 2020-11-01, 2020-08-01, 2020-07-01, 2020-06-01, 2020-05-01, 2020-04-01, 2020-03-01, 2019-12-01, 2019-11-01, 2019-09-01, 2019-08-01, 2019-07-01, 2019-06-01, 2019-04-01, 2019-02-01, 2018-12-01, 2018-11-01, 2018-10-01, 2018-08-01, 2018-07-01, 2018-06-01, 2018-04-01, 2018-02-01, 2018-01-01, 2017-11-01, 2017-10-01, 2017-09-01, 2017-08-01, 2017-06-01, 2017-04-01, 2017-03-01, 2016-12-01, 2016-09-01, 2016-06-01, 2016-03-30, 2015-06-15, 2015-05-01-preview";

/// Every provider the emulated ARM knows, sorted by namespace.
pub(crate) static PROVIDERS: &[Provider] = &[
    Provider {
        namespace: "Microsoft.Compute",
        resource_types: &[t("virtualMachines", COMPUTE), t("disks", COMPUTE)],
    },
    Provider {
        namespace: "Microsoft.Insights",
        resource_types: &[
            t("components", COMPONENTS),
            t("dataCollectionRules", DATA_COLLECTION),
            t("dataCollectionEndpoints", DATA_COLLECTION),
        ],
    },
    Provider {
        namespace: "Microsoft.KeyVault",
        resource_types: &[t("vaults", KEY_VAULT)],
    },
    Provider {
        namespace: "Microsoft.ManagedIdentity",
        resource_types: &[t("userAssignedIdentities", IDENTITIES)],
    },
    Provider {
        namespace: "Microsoft.Network",
        resource_types: &[
            t("virtualNetworks", NETWORK),
            t("virtualNetworks/subnets", NETWORK),
            t("networkSecurityGroups", NETWORK),
            t("publicIPAddresses", NETWORK),
        ],
    },
    Provider {
        namespace: "Microsoft.OperationalInsights",
        resource_types: &[
            t("workspaces", WORKSPACES),
            t("workspaces/tables", WORKSPACES),
        ],
    },
    Provider {
        namespace: "Microsoft.Sql",
        resource_types: &[t("servers", SQL), t("servers/databases", SQL)],
    },
    Provider {
        namespace: "Microsoft.Storage",
        resource_types: &[t("storageAccounts", STORAGE)],
    },
    Provider {
        namespace: "Microsoft.Web",
        resource_types: &[
            t("sites", WEB),
            t("sites/slots", WEB),
            t("sites/config", WEB),
            t("serverfarms", WEB),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_every_list_is_newest_first() {
        assert!(
            PROVIDERS
                .windows(2)
                .all(|w| w[0].namespace < w[1].namespace)
        );
        for p in PROVIDERS {
            for ty in p.resource_types {
                let versions: Vec<&str> = ty.versions().collect();
                let dates: Vec<&str> = versions.iter().map(|v| &v[..10]).collect();
                assert!(
                    dates.windows(2).all(|w| w[0] >= w[1]),
                    "{}/{}: {versions:?}",
                    p.namespace,
                    ty.name
                );
            }
        }
    }

    #[test]
    fn lookups_ignore_case() {
        let ws = provider("microsoft.operationalinsights")
            .and_then(|p| p.resource_type("WORKSPACES"))
            .expect("workspaces");
        assert!(ws.takes("2022-10-01"));
        assert!(!ws.takes("2099-01-01"));
        assert!(provider("Microsoft.Foo").is_none());
    }
}

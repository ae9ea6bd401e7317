//! Resources a client can request tokens for: Microsoft's first-party APIs the emulator
//! serves, and the tenant's own app registrations that expose an Application ID URI.

use uuid::{Uuid, uuid};

use crate::directory::{Directory, GRAPH_APP_ID};
use crate::token::TokenVersion;

/// A first-party resource the emulator knows by its identifier URIs.
///
/// Every first-party resource gets v1 tokens whose `aud` is the identifier in the form the
/// client asked for (trailing slash kept, `/.default` stripped): the Azure Resource Manager
/// recordings show both (docs/entra.md); that the other first-party APIs do the same is an
/// inference (their tokens are sanitized in every public recording found).
#[derive(Debug)]
pub(crate) struct KnownResource {
    /// The resource application's client id.
    pub(crate) app_id: Uuid,
    /// Its identifier URIs, compared case-insensitively and ignoring one trailing slash.
    pub(crate) identifiers: &'static [&'static str],
    /// Host suffixes of per-account identifiers (`https://{account}.blob.core.windows.net`):
    /// any `https://` URI without a path whose host ends with one of them names this
    /// resource.
    pub(crate) host_suffixes: &'static [&'static str],
    /// The token format its tokens take.
    pub(crate) version: TokenVersion,
}

impl KnownResource {
    /// A first-party API known by fixed identifier URIs only.
    const fn v1(app_id: Uuid, identifiers: &'static [&'static str]) -> Self {
        Self {
            app_id,
            identifiers,
            host_suffixes: &[],
            version: TokenVersion::V1,
        }
    }

    /// Whether `requested` (a URI without `/.default`, or an app id) names this resource.
    fn named_by(&self, requested: &str) -> bool {
        self.identifiers
            .iter()
            .any(|i| same_identifier(i, requested))
            || requested.eq_ignore_ascii_case(&self.app_id.to_string())
            || per_account_host(requested)
                .is_some_and(|host| self.host_suffixes.iter().any(|s| has_suffix(host, s)))
    }
}

/// The host of `https://{host}` or `https://{host}/` when it is a DNS name.
fn per_account_host(uri: &str) -> Option<&str> {
    let rest = uri
        .get(..8)?
        .eq_ignore_ascii_case("https://")
        .then(|| &uri[8..])?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    labels_ok.then_some(host)
}

/// Whether `host` is `{one or more labels}{suffix}` (`suffix` starts with a dot).
fn has_suffix(host: &str, suffix: &str) -> bool {
    host.len() > suffix.len()
        && host
            .get(host.len() - suffix.len()..)
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
}

// The first-party table (issue 18 item 1). App ids and names: merill/microsoft-info
// `_info/MicrosoftApps.csv` (Microsoft's own service principals); scope URIs: the Azure MCP
// server's API-permission table; Azure Data Explorer's resource id: Azure/azure-kusto-python
// `azure-kusto-data/azure/kusto/data/_cloud_settings.py` (docs/entra.md).
// Each entry's comment is its service principal's display name.

/// Azure Resource Manager.
pub(crate) const ARM: KnownResource = KnownResource::v1(
    // Windows Azure Service Management API
    uuid!("797f4846-ba00-4fd7-ba43-dac1f8f63013"),
    &[
        "https://management.azure.com/",
        "https://management.core.windows.net/",
    ],
);
/// Microsoft Graph.
pub(crate) const GRAPH: KnownResource = KnownResource::v1(
    // Microsoft Graph
    GRAPH_APP_ID,
    &["https://graph.microsoft.com"],
);
/// Log Analytics query API.
pub(crate) const LOG_ANALYTICS: KnownResource = KnownResource::v1(
    // Log Analytics API
    uuid!("ca7f3f0b-7d91-482c-8e09-c5d840d0eac5"),
    &[
        "https://api.loganalytics.io",
        "https://api.loganalytics.azure.com",
    ],
);
/// Application Insights query API.
pub(crate) const APP_INSIGHTS: KnownResource = KnownResource::v1(
    // Application Insights API
    uuid!("f5c26e74-f226-4ae8-85f0-b4af0080ac9e"),
    &["https://api.applicationinsights.io"],
);
/// Azure Monitor custom metrics ingestion. The app id is the emulator's own placeholder
/// (a guess: the real one was not found).
pub(crate) const MONITORING: KnownResource = KnownResource::v1(
    uuid!("e17a0000-0000-4000-8000-00000000a001"),
    &["https://monitoring.azure.com/"],
);
/// Azure Monitor Logs Ingestion API. App id: emulator placeholder, as for [`MONITORING`].
pub(crate) const MONITOR_INGESTION: KnownResource = KnownResource::v1(
    uuid!("e17a0000-0000-4000-8000-00000000a002"),
    &["https://monitor.azure.com"],
);

/// Resources the emulator issues tokens for but does not serve.
const NOT_SERVED: &[KnownResource] = &[
    KnownResource::v1(
        // Azure Key Vault
        uuid!("cfa8b339-82a2-471a-a3c9-0fc0be7a4093"),
        &["https://vault.azure.net"],
    ),
    KnownResource::v1(
        // Azure Key Vault Managed HSM
        uuid!("589d5083-6f11-4d30-a62a-a4b316a14abf"),
        &["https://managedhsm.azure.net"],
    ),
    KnownResource {
        host_suffixes: &[".blob.core.windows.net"],
        ..KnownResource::v1(
            // Azure Storage
            uuid!("e406a681-f3d4-42a8-90b6-c2b029497af1"),
            &["https://storage.azure.com"],
        )
    },
    KnownResource::v1(
        // Microsoft.ServiceBus
        uuid!("80a10ef9-8168-493d-abf9-3297c4ef6e3c"),
        &["https://servicebus.azure.net"],
    ),
    KnownResource::v1(
        // Microsoft.EventHubs
        uuid!("80369ed6-5f11-4dd9-bef3-692475845e77"),
        &["https://eventhubs.azure.net"],
    ),
    // The data plane's audience app (MCP table); `a232010e-…` "Azure Cosmos DB" is the
    // resource provider's.
    KnownResource {
        host_suffixes: &[".documents.azure.com"],
        ..KnownResource::v1(
            // Azure Cosmos DB
            uuid!("f8202e39-5162-4378-8714-8018bb911e5c"),
            &["https://cosmos.azure.com"],
        )
    },
    // Registered with its trailing slash, hence SDKs' `https://database.windows.net//.default`.
    KnownResource::v1(
        // Azure SQL Database
        uuid!("022907d3-0f1b-48f7-badc-1ba6abab6d66"),
        &["https://database.windows.net/"],
    ),
    KnownResource::v1(
        // Azure OSSRDBMS Database
        uuid!("123cd850-d9df-40bd-94d5-c9f07b7fa203"),
        &["https://ossrdbms-aad.database.windows.net"],
    ),
    KnownResource {
        host_suffixes: &[".azconfig.io"],
        ..KnownResource::v1(
            // Azure App Configuration
            uuid!("35ffadb3-7fc1-497e-b61b-381d28e744cc"),
            &["https://azconfig.io"],
        )
    },
    // Every cluster reports `https://kusto.kusto.windows.net` as its resource id; clients
    // also ask for the cluster's own URI.
    KnownResource {
        host_suffixes: &[".kusto.windows.net"],
        ..KnownResource::v1(
            // Azure Data Explorer
            uuid!("2746ea77-4702-4b45-80ca-3c97e680e8b7"),
            &["https://kusto.kusto.windows.net"],
        )
    },
    KnownResource::v1(
        // Microsoft Cognitive Services
        uuid!("7d312290-28c8-473c-a0ed-8e53749b6d6d"),
        &["https://cognitiveservices.azure.com"],
    ),
    KnownResource::v1(
        // Azure Cognitive Search
        uuid!("880da380-985e-4198-81b9-e05b1cc53158"),
        &["https://search.azure.com"],
    ),
    KnownResource::v1(
        // Azure Container Registry Application
        uuid!("76c92352-c057-4cc2-9b1e-f34c32bc58bd"),
        &["https://containerregistry.azure.net"],
    ),
    KnownResource::v1(
        // Azure SignalR Service
        uuid!("cdad765c-f191-43ba-b9f5-7aef392f811d"),
        &["https://signalr.azure.com"],
    ),
    KnownResource::v1(
        // Azure Communication Services
        uuid!("632ec9eb-fad7-4cbd-993a-e72973ba2acc"),
        &["https://communication.azure.com"],
    ),
    KnownResource::v1(
        // Azure Confidential Ledger
        uuid!("c9e0b461-3515-4a03-b576-ede91ed4336d"),
        &["https://confidential-ledger.azure.com"],
    ),
];

/// Every first-party resource, served or not.
fn known() -> impl Iterator<Item = &'static KnownResource> {
    [
        &ARM,
        &GRAPH,
        &LOG_ANALYTICS,
        &APP_INSIGHTS,
        &MONITORING,
        &MONITOR_INGESTION,
    ]
    .into_iter()
    .chain(NOT_SERVED)
}

/// Identifier equality as Entra applies it to resource URIs.
pub(crate) fn same_identifier(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Whether `aud` names `resource` (one of its identifier URIs, trailing slash or not, or its
/// app id), or — when `own_bases` is given — one of the emulator's own base URLs, which the
/// cloud metadata document hands out as the resource id of Log Analytics and Application
/// Insights.
pub(crate) fn audience_matches(aud: &str, resource: &KnownResource, own_bases: &[&str]) -> bool {
    resource.identifiers.iter().any(|i| same_identifier(i, aud))
        || aud.eq_ignore_ascii_case(&resource.app_id.to_string())
        || own_bases.iter().any(|b| same_identifier(b, aud))
}

/// What a token for a resource looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The resource's app id (roles are looked up by it).
    pub(crate) app_id: Uuid,
    /// Token format.
    pub(crate) version: TokenVersion,
    /// The `aud` claim.
    pub(crate) aud: String,
}

/// Resolves a requested resource identifier (a URI or an app id).
///
/// `own_bases` are the emulator's base URLs: the Azure CLI uses the Graph *endpoint* as
/// Graph's resource id, so they are accepted as Graph.
pub(crate) fn resolve(requested: &str, dir: &Directory, own_bases: &[&str]) -> Option<Resolved> {
    let v1 = |app_id| {
        Some(Resolved {
            app_id,
            version: TokenVersion::V1,
            aud: requested.to_owned(),
        })
    };
    if let Some(r) = known().find(|r| r.named_by(requested)) {
        return Some(Resolved {
            app_id: r.app_id,
            version: r.version,
            aud: requested.to_owned(),
        });
    }
    if own_bases.iter().any(|b| same_identifier(b, requested)) {
        return v1(GRAPH_APP_ID);
    }
    let app = match Uuid::parse_str(requested) {
        Ok(id) => dir.app_by_app_id(&id),
        Err(_) => match requested
            .strip_prefix("api://")
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            Some(id) => dir.app_by_app_id(&id).filter(|a| {
                a.identifier_uris
                    .iter()
                    .any(|u| same_identifier(u, requested))
            }),
            None => dir.app_by_identifier_uri(requested),
        },
    }?;
    if app.requested_access_token_version == Some(2) {
        Some(Resolved {
            app_id: app.app_id,
            version: TokenVersion::V2,
            aud: app.app_id.to_string(),
        })
    } else {
        v1(app.app_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_accept_identifiers_app_id_and_own_base() {
        let base = "http://127.0.0.1:9";
        assert!(audience_matches(
            "https://api.loganalytics.io",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(audience_matches(
            "https://api.loganalytics.io/",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(audience_matches(
            "ca7f3f0b-7d91-482c-8e09-c5d840d0eac5",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(audience_matches(
            "http://127.0.0.1:9/",
            &LOG_ANALYTICS,
            &[base]
        ));
        assert!(!audience_matches(
            "http://127.0.0.1:9/",
            &LOG_ANALYTICS,
            &[]
        ));
        assert!(!audience_matches(
            "https://management.azure.com/",
            &LOG_ANALYTICS,
            &[base]
        ));
    }

    #[test]
    fn first_party_resources_keep_the_requested_form_as_audience() {
        let dir = Directory::default();
        for (req, app) in [
            ("https://management.azure.com", ARM.app_id),
            ("https://management.azure.com/", ARM.app_id),
            ("https://management.core.windows.net/", ARM.app_id),
            ("https://GRAPH.microsoft.com", GRAPH_APP_ID),
            ("https://monitoring.azure.com/", MONITORING.app_id),
        ] {
            let r = resolve(req, &dir, &[]).expect(req);
            assert_eq!(
                (r.app_id, r.version, r.aud.as_str()),
                (app, TokenVersion::V1, req)
            );
        }
        assert!(resolve("https://foo.microsoft.com", &dir, &[]).is_none());
        assert_eq!(
            resolve("https://127.0.0.1:8443/", &dir, &["https://127.0.0.1:8443"]).map(|r| r.app_id),
            Some(GRAPH_APP_ID)
        );
    }

    /// Issue 18 item 1: every first-party API the issue names resolves by its identifier URI
    /// (with or without one trailing slash) and by its app id, to a v1 token whose `aud` is
    /// the form requested. App ids: merill/microsoft-info `_info/MicrosoftApps.csv` @
    /// 00608132282b49553597537d8547737730d45dee (Microsoft's own service principals); Cosmos DB
    /// and Container Registry data-plane ids and the scope URIs: the Azure MCP server's API
    /// permission table; Kusto's resource id: Azure/azure-kusto-python
    /// `azure-kusto-data/azure/kusto/data/_cloud_settings.py` @ 0e0bf50a.
    #[test]
    fn first_party_table_resolves_every_named_api() {
        let dir = Directory::default();
        for (uri, app) in [
            (
                "https://vault.azure.net",
                "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
            ),
            (
                "https://managedhsm.azure.net",
                "589d5083-6f11-4d30-a62a-a4b316a14abf",
            ),
            (
                "https://storage.azure.com",
                "e406a681-f3d4-42a8-90b6-c2b029497af1",
            ),
            (
                "https://servicebus.azure.net",
                "80a10ef9-8168-493d-abf9-3297c4ef6e3c",
            ),
            (
                "https://eventhubs.azure.net",
                "80369ed6-5f11-4dd9-bef3-692475845e77",
            ),
            (
                "https://cosmos.azure.com",
                "f8202e39-5162-4378-8714-8018bb911e5c",
            ),
            (
                "https://database.windows.net/",
                "022907d3-0f1b-48f7-badc-1ba6abab6d66",
            ),
            (
                "https://ossrdbms-aad.database.windows.net",
                "123cd850-d9df-40bd-94d5-c9f07b7fa203",
            ),
            (
                "https://azconfig.io",
                "35ffadb3-7fc1-497e-b61b-381d28e744cc",
            ),
            (
                "https://kusto.kusto.windows.net",
                "2746ea77-4702-4b45-80ca-3c97e680e8b7",
            ),
            (
                "https://cognitiveservices.azure.com",
                "7d312290-28c8-473c-a0ed-8e53749b6d6d",
            ),
            (
                "https://search.azure.com",
                "880da380-985e-4198-81b9-e05b1cc53158",
            ),
            (
                "https://containerregistry.azure.net",
                "76c92352-c057-4cc2-9b1e-f34c32bc58bd",
            ),
            (
                "https://signalr.azure.com",
                "cdad765c-f191-43ba-b9f5-7aef392f811d",
            ),
            (
                "https://communication.azure.com",
                "632ec9eb-fad7-4cbd-993a-e72973ba2acc",
            ),
            (
                "https://confidential-ledger.azure.com",
                "c9e0b461-3515-4a03-b576-ede91ed4336d",
            ),
            (
                "https://management.azure.com/",
                "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            ),
            (
                "https://graph.microsoft.com",
                "00000003-0000-0000-c000-000000000000",
            ),
            (
                "https://api.loganalytics.io",
                "ca7f3f0b-7d91-482c-8e09-c5d840d0eac5",
            ),
            (
                "https://api.applicationinsights.io",
                "f5c26e74-f226-4ae8-85f0-b4af0080ac9e",
            ),
        ] {
            let app = Uuid::parse_str(app).expect("app id");
            let bare = uri.trim_end_matches('/');
            for form in [bare.to_owned(), format!("{bare}/"), app.to_string()] {
                let r = resolve(&form, &dir, &[]).unwrap_or_else(|| panic!("{form}"));
                assert_eq!(
                    (r.app_id, r.version, r.aud.as_str()),
                    (app, TokenVersion::V1, form.as_str())
                );
            }
        }
    }

    #[test]
    fn per_account_identifiers_resolve_by_host() {
        let dir = Directory::default();
        for (uri, app) in [
            (
                "https://myaccount.blob.core.windows.net",
                "e406a681-f3d4-42a8-90b6-c2b029497af1",
            ),
            (
                "https://MyAccount.documents.azure.com/",
                "f8202e39-5162-4378-8714-8018bb911e5c",
            ),
            (
                "https://mystore.azconfig.io",
                "35ffadb3-7fc1-497e-b61b-381d28e744cc",
            ),
            (
                "https://help.kusto.windows.net",
                "2746ea77-4702-4b45-80ca-3c97e680e8b7",
            ),
            (
                "https://mycluster.westeurope.kusto.windows.net",
                "2746ea77-4702-4b45-80ca-3c97e680e8b7",
            ),
        ] {
            let r = resolve(uri, &dir, &[]).unwrap_or_else(|| panic!("{uri}"));
            assert_eq!((r.app_id.to_string().as_str(), r.aud.as_str()), (app, uri));
        }
        for not_one in [
            "https://blob.core.windows.net",
            "https://.blob.core.windows.net",
            "http://myaccount.blob.core.windows.net",
            "https://myaccount.blob.core.windows.net/container",
            "https://my_account.blob.core.windows.net",
            "https://myaccount.blob.core.windows.net.evil.example",
            "https://evilazconfig.io",
        ] {
            assert!(resolve(not_one, &dir, &[]).is_none(), "{not_one}");
        }
    }
}

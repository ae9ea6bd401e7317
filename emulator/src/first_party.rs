//! Resources a client can request tokens for: Microsoft's first-party APIs the emulator
//! serves, and the tenant's own app registrations that expose an Application ID URI.

use uuid::{Uuid, uuid};

use crate::directory::{Directory, GRAPH_APP_ID};
use crate::token::TokenVersion;

/// A first-party resource the emulator knows by its identifier URIs.
#[derive(Debug)]
pub(crate) struct KnownResource {
    /// The resource application's client id.
    pub(crate) app_id: Uuid,
    /// Its identifier URIs, compared case-insensitively and ignoring one trailing slash.
    pub(crate) identifiers: &'static [&'static str],
}

/// Azure Resource Manager.
pub(crate) const ARM: KnownResource = KnownResource {
    app_id: uuid!("797f4846-ba00-4fd7-ba43-dac1f8f63013"),
    identifiers: &[
        "https://management.azure.com/",
        "https://management.core.windows.net/",
    ],
};
/// Microsoft Graph.
pub(crate) const GRAPH: KnownResource = KnownResource {
    app_id: GRAPH_APP_ID,
    identifiers: &["https://graph.microsoft.com"],
};
/// Log Analytics query API.
pub(crate) const LOG_ANALYTICS: KnownResource = KnownResource {
    app_id: uuid!("ca7f3f0b-7d91-482c-8e09-c5d840d0eac5"),
    identifiers: &[
        "https://api.loganalytics.io",
        "https://api.loganalytics.azure.com",
    ],
};
/// Application Insights query API.
pub(crate) const APP_INSIGHTS: KnownResource = KnownResource {
    app_id: uuid!("f5c26e74-f226-4ae8-85f0-b4af0080ac9e"),
    identifiers: &["https://api.applicationinsights.io"],
};
/// Azure Monitor custom metrics ingestion. The app id is the emulator's own placeholder
/// (a guess: the real one was not found); tokens for it are v1, whose `aud` is the URI.
pub(crate) const MONITORING: KnownResource = KnownResource {
    app_id: uuid!("e17a0000-0000-4000-8000-00000000a001"),
    identifiers: &["https://monitoring.azure.com/"],
};
/// Azure Monitor Logs Ingestion API. App id: emulator placeholder, as for [`MONITORING`].
pub(crate) const MONITOR_INGESTION: KnownResource = KnownResource {
    app_id: uuid!("e17a0000-0000-4000-8000-00000000a002"),
    identifiers: &["https://monitor.azure.com"],
};

const KNOWN: &[&KnownResource] = &[
    &ARM,
    &GRAPH,
    &LOG_ANALYTICS,
    &APP_INSIGHTS,
    &MONITORING,
    &MONITOR_INGESTION,
];

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
    for r in KNOWN {
        if r.identifiers.iter().any(|i| same_identifier(i, requested))
            || requested.eq_ignore_ascii_case(&r.app_id.to_string())
        {
            return v1(r.app_id);
        }
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
}

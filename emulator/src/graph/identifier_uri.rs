//! Which Application ID URIs (`identifierUris`) an application may claim.
//!
//! Entra accepts an identifier URI only when it names something the tenant owns
//! (learn.microsoft.com/entra/identity-platform/identifier-uri-restrictions): the app's own
//! `api://{appId}`, `api://{tenantId}/…`, `api://{…}/{appId}`, or a host on one of the
//! tenant's verified domains (`https://{domain}/…`, `https://{sub}.{domain}/…`,
//! `api://{sub}.{domain}/…`). So no app can take a Microsoft first-party URI such as
//! `https://graph.microsoft.com`, nor another app's `api://{appId}`.
//!
//! Kept as they were: `api://` URIs whose host is a plain name (allowed unless a tenant
//! policy forbids them), and URIs of other schemes.

use uuid::Uuid;

use super::GraphError;

/// What the URI must belong to: the application and its tenant.
pub(super) struct Owner<'a> {
    /// The application's client id.
    pub(super) app_id: Uuid,
    /// The tenant id.
    pub(super) tenant_id: Uuid,
    /// The tenant's verified domain.
    pub(super) domain: &'a str,
}

impl Owner<'_> {
    fn on_verified_domain(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        host.eq_ignore_ascii_case(self.domain)
            || host
                .len()
                .checked_sub(self.domain.len() + 1)
                .is_some_and(|at| {
                    at > 0
                        && host.as_bytes()[at] == b'.'
                        && host
                            .get(at + 1..)
                            .is_some_and(|d| d.eq_ignore_ascii_case(self.domain))
                })
    }

    /// `Ok` when the application may claim `uri`; Graph's `HostNameNotOnVerifiedDomain`
    /// otherwise.
    pub(super) fn check(&self, uri: &str) -> Result<(), GraphError> {
        let refused = || Err(GraphError::HostNameNotOnVerifiedDomain(uri.to_owned()));
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(());
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if scheme.eq_ignore_ascii_case("api") {
            return match Uuid::try_parse(authority) {
                Ok(id) if id == self.app_id => Ok(()),
                Ok(id) if id == self.tenant_id && !path.is_empty() => Ok(()),
                // Another app's client id (or any GUID that is not the app's or tenant's):
                // Graph's answer for this case was not found; refusing it with the
                // verified-domain error is a guess.
                Ok(_) => refused(),
                Err(_) => Ok(()),
            };
        }
        if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") {
            // Host without user info or port.
            let host = authority.rsplit('@').next().unwrap_or(authority);
            let host = match host.rsplit_once(':') {
                Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
                _ => host,
            };
            return if self.on_verified_domain(host) {
                Ok(())
            } else {
                refused()
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_and_the_tenants_uris_pass() {
        let app_id = Uuid::from_u128(1);
        let tenant_id = Uuid::from_u128(2);
        let owner = Owner {
            app_id,
            tenant_id,
            domain: "contoso.onmicrosoft.com",
        };
        for ok in [
            format!("api://{app_id}"),
            format!("api://{app_id}/read"),
            format!("api://{tenant_id}/orders"),
            format!("api://orders/{app_id}"),
            "api://orders".to_owned(),
            "https://contoso.onmicrosoft.com/orders".to_owned(),
            "https://api.CONTOSO.onmicrosoft.com".to_owned(),
            "https://contoso.onmicrosoft.com:443/x".to_owned(),
            "urn:orders".to_owned(),
        ] {
            assert!(owner.check(&ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://graph.microsoft.com".to_owned(),
            "https://management.azure.com/".to_owned(),
            "https://api.loganalytics.io".to_owned(),
            "https://evilcontoso.onmicrosoft.com".to_owned(),
            "https://contoso.onmicrosoft.com.evil.test/x".to_owned(),
            "https://contoso.onmicrosoft.com@evil.test/x".to_owned(),
            format!("api://{}", Uuid::from_u128(3)),
            format!("api://{tenant_id}"),
            "api://00000003-0000-0000-c000-000000000000".to_owned(),
        ] {
            assert_eq!(
                owner.check(&bad),
                Err(GraphError::HostNameNotOnVerifiedDomain(bad.clone())),
                "{bad}"
            );
        }
    }
}

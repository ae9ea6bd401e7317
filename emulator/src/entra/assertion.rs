//! Client assertions (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:
//! jwt-bearer`): a JWT the client signed with a registered certificate, or a token an
//! external identity provider issued that a federated credential trusts.
//!
//! Replayed assertions are accepted on purpose. Entra documents `jti` as unique but no source
//! shows it refusing a reuse, and real clients reuse: MSAL Python re-sends the assertion it
//! signed for up to 540 s (AzureAD/microsoft-authentication-library-for-python
//! `msal/oauth2cli/assertion.py`, `AutoRefresher`), azure-identity re-reads
//! `AZURE_FEDERATED_TOKEN_FILE` only every 600 s (`workload_identity.py`), and
//! `az login --federated-token` keeps re-sending the token it stored (azure-cli
//! `auth/identity.py`).

use time::OffsetDateTime;

use super::EntraError;
use crate::credentials::{self, Jwt, Thumbprint};
use crate::directory::Application;
use crate::federation::{self, FederatedCredential, NoMatch};
use crate::services::AppState;
use crate::services::issuers;

/// The `client_assertion_type` of a JWT assertion (RFC 7523).
pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Reads an assertion; `iss`, `sub` and `aud` must be strings (an `aud` array is refused as
/// Entra refused it from openid-client: panva/openid-client issue 348). Federated tokens
/// may carry an array (Kubernetes does): [`check_federated`] reads `aud` itself.
pub(super) fn parse(assertion: &str) -> Result<Jwt, EntraError> {
    let jwt = Jwt::parse(assertion).map_err(|_| EntraError::MalformedAssertion)?;
    if jwt.claim_str("iss").is_none() {
        return Err(EntraError::MalformedAssertion);
    }
    Ok(jwt)
}

/// Whether `jwt` is a certificate assertion of `client_id` (its `iss` is the client id)
/// rather than an external provider's token.
pub(super) fn is_certificate_assertion(jwt: &Jwt, client_id: &str) -> bool {
    jwt.claim_str("iss")
        .is_some_and(|iss| iss.eq_ignore_ascii_case(client_id))
}

/// Checks a certificate assertion for `app`: algorithm, `sub`, `aud` (one of `audiences`,
/// the token endpoint URLs Entra takes), the key named by `x5t`/`x5t#S256`, its signature,
/// then `exp`/`nbf`.
pub(super) fn check_certificate(
    app: &Application,
    jwt: &Jwt,
    audiences: &[String],
    now: OffsetDateTime,
) -> Result<(), EntraError> {
    if jwt.algorithm().is_none() {
        return Err(EntraError::UnsupportedAssertionAlgorithm);
    }
    if jwt.claim_str("sub") != jwt.claim_str("iss") {
        return Err(EntraError::AssertionSubject);
    }
    let aud = match jwt.claim("aud") {
        Some(serde_json::Value::String(a)) => a.trim_end_matches('/'),
        _ => return Err(EntraError::MalformedAssertion),
    };
    if !audiences.iter().any(|a| a.eq_ignore_ascii_case(aud)) {
        return Err(EntraError::AssertionAudience);
    }
    let thumbprint = jwt.thumbprint();
    let not_found = |t: Option<&Thumbprint>| EntraError::AssertionKeyNotFound {
        thumbprint: t.map(Thumbprint::hex),
        client_id: app.app_id,
    };
    let thumb = thumbprint.as_ref().ok_or_else(|| not_found(None))?;
    let key =
        credentials::find_key(&app.key_credentials, thumb).ok_or_else(|| not_found(Some(thumb)))?;
    if !key.valid_at(now) {
        return Err(EntraError::AssertionKeyExpired {
            thumbprint: thumb.hex(),
            start: key.start,
            end: key.end,
        });
    }
    if !key.cert.verifies(jwt) {
        return Err(EntraError::AssertionSignature {
            thumbprint: thumb.hex(),
            start: key.start,
            end: key.end,
            client_id: app.app_id,
        });
    }
    lifetime(jwt, now)
}

fn lifetime(jwt: &Jwt, now: OffsetDateTime) -> Result<(), EntraError> {
    credentials::check_lifetime(jwt, now).map_err(|e| match e {
        Some(outside) => EntraError::AssertionLifetime {
            now,
            nbf: outside.nbf,
            exp: outside.exp,
        },
        None => EntraError::MalformedAssertion,
    })
}

/// The token endpoint URLs a certificate assertion's `aud` may name: the v2 and v1 endpoints
/// of this tenant (by id or domain, and as the request's path named it) on the emulator's
/// base URLs and on Entra's own host. MSAL sends the token endpoint of the discovery document
/// (`application.py` `_build_client`: `audience=authority.token_endpoint`); which other forms
/// Entra takes was not found, so both versions are taken.
pub(super) fn token_audiences(state: &AppState, bases: &[&str], tenant: &str) -> Vec<String> {
    let tenants = [
        state.config.tenant_id.to_string(),
        state.config.tenant_domain.clone(),
        tenant.to_owned(),
    ];
    let mut out = Vec::new();
    for base in bases
        .iter()
        .copied()
        .chain(["https://login.microsoftonline.com"])
    {
        for t in &tenants {
            for path in ["oauth2/v2.0/token", "oauth2/token"] {
                out.push(format!("{}/{t}/{path}", base.trim_end_matches('/')));
            }
        }
    }
    out
}

/// Checks an external provider's token for the application with `client_id` and
/// federated credentials `creds`: a credential with its issuer first (so that nothing is
/// fetched for issuers the application does not trust), then the issuer's key and the
/// signature, the lifetime, and the subject and audience.
pub(super) async fn check_federated(
    state: &AppState,
    creds: &[FederatedCredential],
    jwt: &Jwt,
    built_in: &[String],
    now: OffsetDateTime,
) -> Result<(), EntraError> {
    let iss = jwt.claim_str("iss").unwrap_or_default();
    let sub = jwt.claim_str("sub").unwrap_or_default();
    let aud = jwt.audiences();
    let no_record = || EntraError::NoFederatedRecord {
        issuer: iss.to_owned(),
        subject: sub.to_owned(),
        audience: aud.join(", "),
    };
    if creds.is_empty() {
        return Err(no_record());
    }
    if !creds.iter().any(|c| c.issuer == iss) {
        return Err(EntraError::FederatedIssuer(iss.to_owned()));
    }
    if federation::is_entra_issuer(iss) {
        return Err(EntraError::EntraIssuedAssertion);
    }
    if jwt.algorithm().is_none() {
        return Err(EntraError::UnsupportedAssertionAlgorithm);
    }
    let kid = jwt.kid();
    let keys = state
        .issuers
        .keys(iss, kid, built_in)
        .await
        .map_err(|_| EntraError::IssuerUnreachable)?;
    let x5t = jwt.header_str("x5t");
    let key = keys.iter().find(|k| match (kid, x5t) {
        (Some(kid), _) => k.kid.as_deref() == Some(kid),
        (None, Some(x5t)) => k.x5t.as_deref() == Some(x5t),
        // Without an identifier, the provider's only key.
        (None, None) => keys.len() == 1,
    });
    let Some(key) = key else {
        let identifier = match (kid, jwt.thumbprint()) {
            (None, Some(t)) => t.hex(),
            (kid, _) => kid.unwrap_or_default().to_owned(),
        };
        return Err(EntraError::IssuerKeyNotFound {
            identifier,
            issuer: iss.to_owned(),
        });
    };
    // "External ID token from issuer failed signature verification" is among AADSTS50027's
    // causes (ENTRA-DOCS error table).
    if !jwt.verifies_with_rsa(&key.n, &key.e) {
        return Err(EntraError::MalformedAssertion);
    }
    lifetime(jwt, now)?;
    match federation::find_match(creds, iss, sub, &aud) {
        Ok(cred) if cred.propagated(now, state.config.federated_credential_propagation) => Ok(()),
        // Entra's considerations page: a request made soon after the credential was
        // configured may fail with AADSTS70021.
        Ok(_) => Err(no_record()),
        Err(NoMatch::Subject { case_only: true }) => {
            Err(EntraError::FederatedSubjectCase(sub.to_owned()))
        }
        Err(NoMatch::Subject { case_only: false }) => {
            Err(EntraError::FederatedSubject(sub.to_owned()))
        }
        Err(NoMatch::Audience) => Err(EntraError::FederatedAudience(aud.join(", "))),
        Err(NoMatch::Issuer) => Err(EntraError::FederatedIssuer(iss.to_owned())),
        Err(NoMatch::NoRecords) => Err(no_record()),
    }
}

/// This emulator's built-in issuer URLs (configured base URL and the one of the request).
pub(super) fn built_in_issuers(bases: &[&str]) -> Vec<String> {
    bases.iter().map(|b| issuers::built_in(b)).collect()
}

//! Credentials: client secret, client certificate and workload identity (Entra v2 token
//! endpoint), each with a per-scope cache that refreshes ahead of expiry and lets concurrent
//! callers share one refresh; and the environment credential the Azure SDKs read.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

pub use crate::certificate::{AssertionFormat, ClientCertificate};
use crate::cloud::Cloud;
use crate::error::Error;
use crate::token::{TokenApi, TokenEndpoint, TokenRequest};

pub use crate::auth::{AccessToken, ClientSecret, TokenCredential, TokenFuture};

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Tokens per scope, refreshed `margin` before they expire; concurrent callers of one scope
/// share one refresh. Every credential here caches through it.
#[derive(Debug)]
struct ScopeCache {
    slots: Mutex<HashMap<String, Slot>>,
    margin: Duration,
}

impl ScopeCache {
    fn new() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            margin: Duration::from_secs(300),
        }
    }

    fn slot(&self, scope: &str) -> Slot {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.entry(scope.to_owned()).or_default().clone()
    }

    async fn get<F>(&self, scope: &str, fetch: F) -> Result<AccessToken, Error>
    where
        F: Future<Output = Result<AccessToken, Error>>,
    {
        let slot = self.slot(scope);
        // One refresh in flight per scope: concurrent callers queue on the slot and then
        // find the token the first one fetched.
        let mut cached = slot.lock().await;
        let margin = time::Duration::try_from(self.margin).unwrap_or(time::Duration::ZERO);
        if let Some(token) = cached.as_ref()
            && token.expires_on - margin > OffsetDateTime::now_utc()
        {
            return Ok(token.clone());
        }
        let fresh = fetch.await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    fn invalidate(&self, scope: &str) {
        let slot = self.slot(scope);
        if let Ok(mut cached) = slot.try_lock() {
            *cached = None;
        }
    }
}

/// Implements [`TokenCredential`] for a credential with a `cache: ScopeCache`, a `tenant_id`
/// and an `async fn fetch(&self, scope)` that asks the token endpoint.
macro_rules! cached_credential {
    ($credential:ty) => {
        impl TokenCredential for $credential {
            fn get_token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
                Box::pin(self.cache.get(scope, self.fetch(scope)))
            }

            fn tenant_id(&self) -> Option<&str> {
                Some(&self.tenant_id)
            }

            fn invalidate(&self, scope: &str) {
                self.cache.invalidate(scope);
            }
        }
    };
}

/// Sends `request` to the v2 endpoint of `tenant`; the token it answers.
async fn exchange(
    endpoint: &TokenEndpoint,
    tenant: &str,
    request: &TokenRequest,
) -> Result<AccessToken, Error> {
    Ok(endpoint
        .request(TokenApi::V2, tenant, request)
        .await?
        .access_token)
}

/// Client credentials with a secret, against `{authority}/{tenant}/oauth2/v2.0/token`.
#[derive(Debug)]
pub struct ClientSecretCredential {
    tenant_id: String,
    client_id: String,
    secret: ClientSecret,
    endpoint: TokenEndpoint,
    cache: ScopeCache,
}

impl ClientSecretCredential {
    /// A credential for `client_id` in `tenant_id`, using `cloud`'s authority.
    pub fn new(
        cloud: &Cloud,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: ClientSecret,
    ) -> Result<Self, Error> {
        Ok(Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
            endpoint: TokenEndpoint::new(cloud)?,
            cache: ScopeCache::new(),
        })
    }

    /// The tenant.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Passes every token request to `recorder`.
    pub fn with_recorder(mut self, recorder: std::sync::Arc<dyn crate::http::Recorder>) -> Self {
        self.endpoint = self.endpoint.with_recorder(recorder);
        self
    }

    /// Refreshes tokens this long before they expire (default five minutes).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.cache.margin = margin;
        self
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, Error> {
        let request =
            TokenRequest::client_credentials(self.client_id.as_str(), self.secret.clone())
                .scope(scope);
        exchange(&self.endpoint, &self.tenant_id, &request).await
    }
}

cached_credential!(ClientSecretCredential);

/// Client credentials with a certificate: each token request carries a client assertion
/// signed with the certificate's key (`client_assertion_type=…jwt-bearer`).
#[derive(Debug)]
pub struct ClientCertificateCredential {
    tenant_id: String,
    client_id: String,
    certificate: ClientCertificate,
    format: AssertionFormat,
    endpoint: TokenEndpoint,
    cache: ScopeCache,
}

impl ClientCertificateCredential {
    /// A credential for `client_id` in `tenant_id` with `certificate`, using `cloud`'s
    /// authority. Assertions are RS256 with `x5t` unless [`Self::with_format`] says otherwise.
    pub fn new(
        cloud: &Cloud,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        certificate: ClientCertificate,
    ) -> Result<Self, Error> {
        Ok(Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            certificate,
            format: AssertionFormat::default(),
            endpoint: TokenEndpoint::new(cloud)?,
            cache: ScopeCache::new(),
        })
    }

    /// Signs assertions in `format`.
    pub fn with_format(mut self, format: AssertionFormat) -> Self {
        self.format = format;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, Error> {
        let audience = self.endpoint.url(TokenApi::V2, &self.tenant_id);
        let assertion = self.certificate.assertion(
            &self.client_id,
            &audience,
            OffsetDateTime::now_utc(),
            self.format,
        )?;
        let request =
            TokenRequest::client_assertion(self.client_id.as_str(), ClientSecret::new(assertion))
                .scope(scope);
        exchange(&self.endpoint, &self.tenant_id, &request).await
    }
}

cached_credential!(ClientCertificateCredential);

/// Workload identity federation: an external identity provider's token (GitHub Actions,
/// Kubernetes), read from a file, exchanged for an Entra token as a client assertion. The
/// file is read for every token request, so a rotated token is picked up.
#[derive(Debug)]
pub struct WorkloadIdentityCredential {
    tenant_id: String,
    client_id: String,
    token_file: PathBuf,
    endpoint: TokenEndpoint,
    cache: ScopeCache,
}

impl WorkloadIdentityCredential {
    /// A credential for `client_id` in `tenant_id` presenting the token in `token_file`.
    pub fn new(
        cloud: &Cloud,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        token_file: impl Into<PathBuf>,
    ) -> Result<Self, Error> {
        Ok(Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            token_file: token_file.into(),
            endpoint: TokenEndpoint::new(cloud)?,
            cache: ScopeCache::new(),
        })
    }

    /// From `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE` and (optionally)
    /// `AZURE_AUTHORITY_HOST`, the variables azure-identity's `WorkloadIdentityCredential`
    /// and the AKS workload identity webhook use.
    pub fn from_env(cloud: &Cloud) -> Result<Self, Error> {
        Self::from_lookup(cloud, |k| std::env::var(k).ok())
    }

    fn from_lookup(cloud: &Cloud, var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let cloud = with_authority_host(cloud, &var);
        Self::new(
            &cloud,
            need(&var, "AZURE_TENANT_ID")?,
            need(&var, "AZURE_CLIENT_ID")?,
            need(&var, "AZURE_FEDERATED_TOKEN_FILE")?,
        )
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, Error> {
        let token = tokio::fs::read_to_string(&self.token_file)
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "cannot read the federated token file {}: {e}",
                    self.token_file.display()
                ))
            })?;
        let request = TokenRequest::client_assertion(
            self.client_id.as_str(),
            ClientSecret::new(token.trim()),
        )
        .scope(scope);
        exchange(&self.endpoint, &self.tenant_id, &request).await
    }
}

cached_credential!(WorkloadIdentityCredential);

fn need(var: &impl Fn(&str) -> Option<String>, k: &str) -> Result<String, Error> {
    var(k)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Config(format!("{k} is not set")))
}

/// `cloud` with `AZURE_AUTHORITY_HOST` as its authority, when set.
fn with_authority_host(cloud: &Cloud, var: &impl Fn(&str) -> Option<String>) -> Cloud {
    let mut cloud = cloud.clone();
    if let Some(host) = var("AZURE_AUTHORITY_HOST").filter(|v| !v.is_empty()) {
        cloud.authority_host = host;
    }
    cloud
}

/// The credential the Azure SDKs build from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
/// `AZURE_CLIENT_SECRET` and (optionally) `AZURE_AUTHORITY_HOST`.
#[derive(Debug)]
pub struct EnvironmentCredential;

impl EnvironmentCredential {
    /// Reads the variables; `cloud` gives the other endpoints and the CA to trust, and
    /// `AZURE_AUTHORITY_HOST` overrides its authority.
    pub fn from_env(cloud: &Cloud) -> Result<ClientSecretCredential, Error> {
        Self::from_lookup(cloud, |k| std::env::var(k).ok())
    }

    fn from_lookup(
        cloud: &Cloud,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ClientSecretCredential, Error> {
        let cloud = with_authority_host(cloud, &var);
        ClientSecretCredential::new(
            &cloud,
            need(&var, "AZURE_TENANT_ID")?,
            need(&var, "AZURE_CLIENT_ID")?,
            ClientSecret::new(need(&var, "AZURE_CLIENT_SECRET")?),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_debug_print() {
        let s = ClientSecret::new("hunter2");
        assert_eq!(format!("{s:?}"), "ClientSecret(***)");
        let cred = ClientSecretCredential::new(&Cloud::azure_public(), "t", "c", s).expect("cred");
        assert!(!format!("{cred:?}").contains("hunter2"));
    }

    #[test]
    fn environment_variables_are_required_and_authority_overridable() {
        let vars = |k: &str| match k {
            "AZURE_TENANT_ID" => Some("t".into()),
            "AZURE_CLIENT_ID" => Some("c".into()),
            "AZURE_CLIENT_SECRET" => Some("s".into()),
            "AZURE_AUTHORITY_HOST" => Some("https://127.0.0.1:8443".into()),
            _ => None,
        };
        let cred = EnvironmentCredential::from_lookup(&Cloud::azure_public(), vars).expect("cred");
        assert_eq!(
            cred.endpoint.url(TokenApi::V2, cred.tenant_id()),
            "https://127.0.0.1:8443/t/oauth2/v2.0/token"
        );
        let missing = EnvironmentCredential::from_lookup(&Cloud::azure_public(), |_| None);
        assert!(matches!(missing, Err(Error::Config(m)) if m.contains("AZURE_TENANT_ID")));
        let workload = |k: &str| match k {
            "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/token".into()),
            other => vars(other),
        };
        let cred = WorkloadIdentityCredential::from_lookup(&Cloud::azure_public(), workload)
            .expect("workload");
        assert_eq!(cred.token_file, PathBuf::from("/var/run/token"));
        assert_eq!(
            cred.endpoint.url(TokenApi::V2, &cred.tenant_id),
            "https://127.0.0.1:8443/t/oauth2/v2.0/token"
        );
        let missing = WorkloadIdentityCredential::from_lookup(&Cloud::azure_public(), vars);
        assert!(
            matches!(missing, Err(Error::Config(m)) if m.contains("AZURE_FEDERATED_TOKEN_FILE"))
        );
    }
}

//! Credentials: client secret (Entra v2 token endpoint) with a per-scope cache that refreshes
//! ahead of expiry and lets concurrent callers share one refresh; and the environment
//! credential the Azure SDKs read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::cloud::Cloud;
use crate::error::Error;
use crate::token::{TokenApi, TokenEndpoint, TokenRequest};

pub use crate::auth::{AccessToken, ClientSecret, TokenCredential, TokenFuture};

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Client credentials with a secret, against `{authority}/{tenant}/oauth2/v2.0/token`.
#[derive(Debug)]
pub struct ClientSecretCredential {
    tenant_id: String,
    client_id: String,
    secret: ClientSecret,
    endpoint: TokenEndpoint,
    cache: Mutex<HashMap<String, Slot>>,
    refresh_margin: Duration,
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
            cache: Mutex::new(HashMap::new()),
            refresh_margin: Duration::from_secs(300),
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
        self.refresh_margin = margin;
        self
    }

    fn slot(&self, scope: &str) -> Slot {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.entry(scope.to_owned()).or_default().clone()
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, Error> {
        let request =
            TokenRequest::client_credentials(self.client_id.as_str(), self.secret.clone())
                .scope(scope);
        let response = self
            .endpoint
            .request(TokenApi::V2, &self.tenant_id, &request)
            .await?;
        Ok(response.access_token)
    }
}

impl TokenCredential for ClientSecretCredential {
    fn get_token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let slot = self.slot(scope);
            // One refresh in flight per scope: concurrent callers queue on the slot and then
            // find the token the first one fetched.
            let mut cached = slot.lock().await;
            let margin =
                time::Duration::try_from(self.refresh_margin).unwrap_or(time::Duration::ZERO);
            if let Some(token) = cached.as_ref()
                && token.expires_on - margin > OffsetDateTime::now_utc()
            {
                return Ok(token.clone());
            }
            let fresh = self.fetch(scope).await?;
            *cached = Some(fresh.clone());
            Ok(fresh)
        })
    }

    fn tenant_id(&self) -> Option<&str> {
        Some(&self.tenant_id)
    }

    fn invalidate(&self, scope: &str) {
        let slot = self.slot(scope);
        if let Ok(mut cached) = slot.try_lock() {
            *cached = None;
        }
    }
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
        let need = |k: &str| {
            var(k)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::Config(format!("{k} is not set")))
        };
        let mut cloud = cloud.clone();
        if let Some(host) = var("AZURE_AUTHORITY_HOST").filter(|v| !v.is_empty()) {
            cloud.authority_host = host;
        }
        ClientSecretCredential::new(
            &cloud,
            need("AZURE_TENANT_ID")?,
            need("AZURE_CLIENT_ID")?,
            ClientSecret::new(need("AZURE_CLIENT_SECRET")?),
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
    }
}

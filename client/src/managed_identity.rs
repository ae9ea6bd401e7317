//! [`ManagedIdentityCredential`]: tokens from the platform a program runs on — the Azure
//! Instance Metadata Service (`GET {host}/metadata/identity/oauth2/token` with
//! `Metadata: true`) or App Service's `IDENTITY_ENDPOINT` (with `X-IDENTITY-HEADER`) — for
//! its system-assigned identity or a user-assigned one named by client id, object id or
//! resource id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::{AccessToken, TokenCredential, TokenFuture};
use crate::cloud::Cloud;
use crate::error::{Error, Service};
use crate::http::{Pipeline, Request, RetryPolicy};

/// The IMDS address on Azure.
pub const IMDS_HOST: &str = "http://169.254.169.254";

/// Which managed identity to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedIdentityId {
    /// The host's system-assigned identity (or its only user-assigned one).
    SystemAssigned,
    /// A user-assigned identity by client id.
    ClientId(String),
    /// A user-assigned identity by object (principal) id.
    ObjectId(String),
    /// A user-assigned identity by ARM resource id.
    ResourceId(String),
}

/// Where the tokens come from.
#[derive(Debug, Clone)]
enum Source {
    /// IMDS at this host (no trailing slash).
    Imds(String),
    /// App Service: the endpoint and the header value.
    AppService { endpoint: String, header: String },
}

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// Managed identity tokens, cached per scope until five minutes before they expire.
#[derive(Debug)]
pub struct ManagedIdentityCredential {
    source: Source,
    id: ManagedIdentityId,
    pipeline: Pipeline,
    cache: Mutex<HashMap<String, Slot>>,
}

#[derive(Deserialize)]
struct RawToken {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    expires_on: Option<Value>,
}

fn seconds(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl ManagedIdentityCredential {
    /// IMDS at `host` (e.g. [`IMDS_HOST`], or the emulator's base URL), trusting `cloud`'s CA.
    pub fn imds(cloud: &Cloud, host: &str, id: ManagedIdentityId) -> Result<Self, Error> {
        Self::with_source(
            cloud,
            Source::Imds(host.trim_end_matches('/').to_owned()),
            id,
        )
    }

    /// App Service's identity endpoint (`IDENTITY_ENDPOINT`) with its header value
    /// (`IDENTITY_HEADER`).
    pub fn app_service(
        cloud: &Cloud,
        endpoint: &str,
        header: &str,
        id: ManagedIdentityId,
    ) -> Result<Self, Error> {
        Self::with_source(
            cloud,
            Source::AppService {
                endpoint: endpoint.to_owned(),
                header: header.to_owned(),
            },
            id,
        )
    }

    /// As azure-identity chooses: App Service when `IDENTITY_ENDPOINT` and
    /// `IDENTITY_HEADER` are set, else IMDS at `AZURE_POD_IDENTITY_AUTHORITY_HOST` (or
    /// [`IMDS_HOST`]); a user-assigned identity when `AZURE_CLIENT_ID` is set.
    pub fn from_env(cloud: &Cloud) -> Result<Self, Error> {
        Self::from_lookup(cloud, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    fn from_lookup(cloud: &Cloud, var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let id = var("AZURE_CLIENT_ID").map_or(ManagedIdentityId::SystemAssigned, |c| {
            ManagedIdentityId::ClientId(c)
        });
        match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) => Self::app_service(cloud, &endpoint, &header, id),
            _ => {
                let host =
                    var("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| IMDS_HOST.into());
                Self::imds(cloud, &host, id)
            }
        }
    }

    fn with_source(cloud: &Cloud, source: Source, id: ManagedIdentityId) -> Result<Self, Error> {
        Ok(Self {
            source,
            id,
            pipeline: Pipeline::new(cloud, RetryPolicy::default())?,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn url(&self, resource: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let (base, version) = match &self.source {
            Source::Imds(host) => (
                format!("{host}/metadata/identity/oauth2/token"),
                "2018-02-01",
            ),
            Source::AppService { endpoint, .. } => (endpoint.clone(), "2019-08-01"),
        };
        q.append_pair("api-version", version);
        q.append_pair("resource", resource);
        let app_service = matches!(self.source, Source::AppService { .. });
        match &self.id {
            ManagedIdentityId::SystemAssigned => {}
            ManagedIdentityId::ClientId(c) => {
                q.append_pair("client_id", c);
            }
            ManagedIdentityId::ObjectId(o) => {
                q.append_pair(
                    if app_service {
                        "principal_id"
                    } else {
                        "object_id"
                    },
                    o,
                );
            }
            ManagedIdentityId::ResourceId(r) => {
                q.append_pair(
                    if app_service {
                        "mi_res_id"
                    } else {
                        "msi_res_id"
                    },
                    r,
                );
            }
        }
        format!("{base}?{}", q.finish())
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, Error> {
        // A scope is `{resource}/.default`; the platform endpoints take the resource.
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let mut req = Request::new(Method::GET, self.url(resource));
        match &self.source {
            Source::Imds(_) => req.headers.push(("Metadata", "true".into())),
            Source::AppService { header, .. } => {
                req.headers.push(("X-IDENTITY-HEADER", header.clone()));
            }
        }
        let reply = self
            .pipeline
            .send(Service::ManagedIdentity, &req, None)
            .await?;
        let raw: RawToken = reply.json(Service::ManagedIdentity)?;
        let now = OffsetDateTime::now_utc();
        // IMDS says `expires_in`; App Service only `expires_on` (Unix seconds); both strings.
        let expires_on = match seconds(raw.expires_in.as_ref()) {
            Some(s) => now.saturating_add(time::Duration::seconds(s)),
            None => seconds(raw.expires_on.as_ref())
                .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                .ok_or_else(|| Error::Decode {
                    service: Service::ManagedIdentity,
                    message: "neither expires_in nor expires_on is a number".into(),
                })?,
        };
        Ok(AccessToken::new(raw.access_token, expires_on))
    }

    fn slot(&self, scope: &str) -> Slot {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.entry(scope.to_owned()).or_default().clone()
    }
}

impl TokenCredential for ManagedIdentityCredential {
    fn get_token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let slot = self.slot(scope);
            let mut cached = slot.lock().await;
            let margin =
                time::Duration::try_from(Duration::from_secs(300)).unwrap_or(time::Duration::ZERO);
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

    fn invalidate(&self, scope: &str) {
        if let Ok(mut cached) = self.slot(scope).try_lock() {
            *cached = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_picks_the_source_as_azure_identity_does() {
        let cloud = Cloud::azure_public();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let app = ManagedIdentityCredential::from_lookup(
            &cloud,
            env(&[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
                ("IDENTITY_HEADER", "h"),
                ("AZURE_CLIENT_ID", "c"),
            ]),
        )
        .expect("cred");
        assert_eq!(
            app.url("https://management.azure.com"),
            "http://127.0.0.1:1/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&client_id=c"
        );
        let imds = ManagedIdentityCredential::from_lookup(
            &cloud,
            env(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:2/")]),
        )
        .expect("cred");
        assert_eq!(
            imds.url("r"),
            "http://127.0.0.1:2/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r"
        );
        let default = ManagedIdentityCredential::from_lookup(&cloud, env(&[])).expect("cred");
        assert!(default.url("r").starts_with(IMDS_HOST));
    }
}

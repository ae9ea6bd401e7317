//! A typed async client for the APIs an app registration lives by — Entra ID tokens,
//! Microsoft Graph applications and service principals, Azure Resource Manager and the
//! Azure Monitor data planes — that works the same against real Azure and the Entra
//! emulator: only the [`Cloud`] differs.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emulator = entra_emulator::Emulator::start().await?;
//! use entra_client::{AzureClient, ClientSecret, ClientSecretCredential, Cloud};
//!
//! let cloud = Cloud::emulator(emulator.url()); // or Cloud::azure_public()
//! let admin = emulator.admin();
//! let credential = ClientSecretCredential::new(
//!     &cloud,
//!     emulator.tenant_id().to_string(),
//!     admin.client_id.to_string(),
//!     ClientSecret::new(admin.client_secret.expose()),
//! )?;
//! let client = AzureClient::new(cloud, credential)?;
//! let app = client.graph().create_application("docs-example").await?;
//! let secret = client.graph().add_password(&app.id, &Default::default()).await?;
//! println!("client id {} secret hint {:?}", app.app_id, secret.credential.hint);
//! # Ok(()) }
//! ```

pub mod arm;
pub mod auth;
pub mod cloud;
pub mod credential;
pub mod error;
pub mod graph;
mod http;
pub mod managed_identity;
pub mod monitor;
pub mod token;
pub mod workflows;

use std::sync::Arc;

pub use arm::Arm;
pub use cloud::{Cloud, Connection};
pub use credential::{
    AccessToken, ClientSecret, ClientSecretCredential, EnvironmentCredential, TokenCredential,
};
pub use error::{Error, Service, ServiceError};
pub use graph::{Graph, NewSecret, OneTimeSecret};
pub use http::{Exchange, Recorder, RetryPolicy};
pub use managed_identity::{ManagedIdentityCredential, ManagedIdentityId};
pub use monitor::Monitor;
pub use token::{TokenApi, TokenEndpoint, TokenRequest, TokenResponse};

/// Entry point: one cloud, one credential, a client per service.
#[derive(Debug, Clone)]
pub struct AzureClient {
    cloud: Cloud,
    credential: Arc<dyn TokenCredential>,
    pipeline: http::Pipeline,
}

impl AzureClient {
    /// A client for `cloud` authenticating with `credential`.
    pub fn new(cloud: Cloud, credential: impl TokenCredential + 'static) -> Result<Self, Error> {
        Self::with_retry(cloud, credential, RetryPolicy::default())
    }

    /// The same, with a retry policy for throttling and server errors.
    pub fn with_retry(
        cloud: Cloud,
        credential: impl TokenCredential + 'static,
        retry: RetryPolicy,
    ) -> Result<Self, Error> {
        let pipeline = http::Pipeline::new(&cloud, retry)?;
        Ok(Self {
            cloud,
            credential: Arc::new(credential),
            pipeline,
        })
    }

    /// Passes every exchange of the service clients to `recorder` (token requests are
    /// recorded by the credential's own `with_recorder`).
    pub fn with_recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.pipeline = self.pipeline.with_recorder(recorder);
        self
    }

    /// The cloud this client talks to.
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }

    /// The credential.
    pub fn credential(&self) -> &Arc<dyn TokenCredential> {
        &self.credential
    }

    /// Microsoft Graph.
    pub fn graph(&self) -> Graph {
        Graph {
            pipeline: self.pipeline.clone(),
            credential: self.credential.clone(),
            endpoint: self.cloud.graph_endpoint.trim_end_matches('/').to_owned(),
            scope: scope_of(&self.cloud.graph_audience),
        }
    }
}

impl AzureClient {
    /// The Azure Monitor data planes (and the ARM metrics read API).
    pub fn monitor(&self) -> Monitor {
        Monitor {
            pipeline: self.pipeline.clone(),
            credential: self.credential.clone(),
            cloud: self.cloud.clone(),
        }
    }

    /// Azure Resource Manager.
    pub fn arm(&self) -> Arm {
        Arm {
            pipeline: self.pipeline.clone(),
            credential: self.credential.clone(),
            endpoint: self.cloud.arm_endpoint.trim_end_matches('/').to_owned(),
            scope: scope_of(&self.cloud.arm_audience),
            authorization_api: arm::AUTHORIZATION_API.to_owned(),
        }
    }
}

/// `{resource}/.default` for a resource identifier.
pub(crate) fn scope_of(audience: &str) -> String {
    format!("{audience}/.default")
}

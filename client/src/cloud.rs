//! Where the services live: one value naming every endpoint and token audience, for Azure's
//! public cloud, the emulator, or any custom set.

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

/// Endpoints and token audiences of one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// Entra ID authority host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: String,
    /// Microsoft Graph endpoint (without `/v1.0`).
    pub graph_endpoint: String,
    /// Resource identifier of Graph tokens.
    pub graph_audience: String,
    /// Azure Resource Manager endpoint.
    pub arm_endpoint: String,
    /// Resource identifier of ARM tokens.
    pub arm_audience: String,
    /// Log Analytics query endpoint.
    pub log_analytics_endpoint: String,
    /// Resource identifier of Log Analytics tokens.
    pub log_analytics_audience: String,
    /// Custom metrics ingestion endpoint; `{region}` is replaced by the resource's region.
    pub metrics_ingestion_endpoint: String,
    /// Resource identifier of custom-metrics tokens (note the trailing slash).
    pub metrics_audience: String,
    /// Application Insights query endpoint.
    pub app_insights_endpoint: String,
    /// Resource identifier of Application Insights tokens.
    pub app_insights_audience: String,
    /// Extra CA certificate (PEM) to trust, for an emulator serving its own CA.
    pub ca_pem: Option<String>,
}

impl Cloud {
    /// Azure's public cloud.
    pub fn azure_public() -> Self {
        Self {
            authority_host: "https://login.microsoftonline.com".into(),
            graph_endpoint: "https://graph.microsoft.com".into(),
            graph_audience: "https://graph.microsoft.com".into(),
            arm_endpoint: "https://management.azure.com".into(),
            arm_audience: "https://management.azure.com".into(),
            log_analytics_endpoint: "https://api.loganalytics.io".into(),
            log_analytics_audience: "https://api.loganalytics.io".into(),
            metrics_ingestion_endpoint: "https://{region}.monitoring.azure.com".into(),
            metrics_audience: "https://monitoring.azure.com/".into(),
            app_insights_endpoint: "https://api.applicationinsights.io".into(),
            app_insights_audience: "https://api.applicationinsights.io".into(),
            ca_pem: None,
        }
    }

    /// The emulator at `base_url`: every service on that one URL, with the real audiences.
    pub fn emulator(base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/').to_owned();
        Self {
            authority_host: base.clone(),
            graph_endpoint: base.clone(),
            arm_endpoint: base.clone(),
            log_analytics_endpoint: base.clone(),
            metrics_ingestion_endpoint: base.clone(),
            app_insights_endpoint: base,
            ..Self::azure_public()
        }
    }

    /// Trusts `ca_pem` in addition to the system roots.
    pub fn with_ca_pem(mut self, ca_pem: impl Into<String>) -> Self {
        self.ca_pem = Some(ca_pem.into());
        self
    }

    /// The custom-metrics endpoint for a resource in `region`.
    pub fn metrics_endpoint_for(&self, region: &str) -> String {
        self.metrics_ingestion_endpoint
            .replace("{region}", &region.to_ascii_lowercase())
    }
}

/// The emulator's `--connection-file` document.
#[derive(Debug, Clone, Deserialize)]
pub struct Connection {
    /// Base URL.
    pub base_url: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Default subscription id.
    pub subscription_id: String,
    /// Bootstrap admin credentials.
    pub admin: ConnectionAdmin,
    /// CA certificate to trust (HTTPS).
    pub ca_cert_path: Option<String>,
}

/// The bootstrap admin in a connection file.
#[derive(Clone, Deserialize)]
pub struct ConnectionAdmin {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Service principal object id.
    pub object_id: String,
}

impl std::fmt::Debug for ConnectionAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionAdmin")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("object_id", &self.object_id)
            .finish()
    }
}

impl Connection {
    /// Reads a connection file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Config(format!("{} is not a connection file: {e}", path.display())))
    }

    /// The emulator's cloud, trusting its CA when it serves HTTPS.
    pub fn cloud(&self) -> Result<Cloud, Error> {
        let cloud = Cloud::emulator(&self.base_url);
        match &self.ca_cert_path {
            None => Ok(cloud),
            Some(path) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| Error::Config(format!("cannot read CA {path}: {e}")))?;
                Ok(cloud.with_ca_pem(pem))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_cloud_keeps_real_audiences_on_one_url() {
        let c = Cloud::emulator("https://127.0.0.1:8443/");
        assert_eq!(c.arm_endpoint, "https://127.0.0.1:8443");
        assert_eq!(c.metrics_endpoint_for("EastUS"), "https://127.0.0.1:8443");
        assert_eq!(c.metrics_audience, "https://monitoring.azure.com/");
        assert_eq!(
            Cloud::azure_public().metrics_endpoint_for("EastUS"),
            "https://eastus.monitoring.azure.com"
        );
    }
}

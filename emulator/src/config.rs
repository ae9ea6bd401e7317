//! Emulator configuration: a plain struct with documented defaults and a consuming builder.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use uuid::{Uuid, uuid};

pub use crate::rbac::{Jitter, Plane, Propagation};
pub use crate::secret::Secret;
use crate::seed::Seed;

/// Default emulated tenant id.
pub const DEFAULT_TENANT_ID: Uuid = uuid!("e17a0000-0000-4000-8000-000000000001");
/// Default subscription id.
pub const DEFAULT_SUBSCRIPTION_ID: Uuid = uuid!("e17a0000-0000-4000-8000-000000000002");
/// Default client (application) id of the bootstrap admin.
pub const DEFAULT_ADMIN_CLIENT_ID: Uuid = uuid!("e17a0000-0000-4000-8000-000000000003");
/// Default client secret of the bootstrap admin. Documented on purpose: it only
/// unlocks an emulator, and a deterministic value lets scripts start without reading files.
pub const DEFAULT_ADMIN_CLIENT_SECRET: &str = "admQ~EntraEmulatorBootstrapAdminSecret00";
/// Object id of the bootstrap admin's service principal (its `oid` in tokens).
pub const DEFAULT_ADMIN_OBJECT_ID: Uuid = uuid!("e17a0000-0000-4000-8000-000000000004");
/// Object id of the bootstrap admin's application object.
pub const DEFAULT_ADMIN_APP_OBJECT_ID: Uuid = uuid!("e17a0000-0000-4000-8000-000000000005");
/// Name of the bootstrap admin's `Owner` role assignment on the default subscription.
pub const DEFAULT_ADMIN_OWNER_ASSIGNMENT: Uuid = uuid!("e17a0000-0000-4000-8000-000000000006");
/// Default verified domain of the tenant (accepted in place of the tenant id in URLs).
pub const DEFAULT_TENANT_DOMAIN: &str = "emulator.onmicrosoft.com";

/// Lifetime of the tokens for clients that declare CAE capability `cp1`: recorded answers
/// to such clients say `expires_in: 86399` (docs/entra.md).
pub const DEFAULT_CAE_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// Most rows a query returns before the result is truncated (the Log Analytics limit).
pub const DEFAULT_QUERY_ROW_LIMIT: usize = 500_000;

/// Default cap on connections served at once: far more than tests and local tools open,
/// and well under the usual limit of 1,024 open files per process.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Default time a connection has to deliver a complete request head (hyper's default).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How the server speaks on its socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain HTTP.
    #[default]
    Plain,
    /// HTTPS with a certificate for localhost, 127.0.0.1, ::1 and the extra names,
    /// issued at start by a freshly generated local CA.
    SelfSigned {
        /// Extra DNS names or IP addresses for the certificate.
        extra_sans: Vec<String>,
    },
    /// HTTPS with a certificate chain and key read from PEM files.
    Files {
        /// Certificate chain (leaf first), PEM.
        cert: PathBuf,
        /// Private key, PEM (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// Everything the emulator can be told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub bind: SocketAddr,
    /// Plain HTTP or HTTPS.
    pub tls: TlsMode,
    /// Where to write the CA certificate PEM when [`TlsMode::SelfSigned`] is used.
    /// `None`: a file under the system temp dir named after the port.
    pub ca_cert_path: Option<PathBuf>,
    /// The emulated tenant.
    pub tenant_id: Uuid,
    /// The tenant's verified domain name.
    pub tenant_domain: String,
    /// The tenant's display name (appears in some AADSTS messages).
    pub tenant_display_name: String,
    /// The default subscription.
    pub subscription_id: Uuid,
    /// Bootstrap admin client id.
    pub admin_client_id: Uuid,
    /// Bootstrap admin client secret.
    pub admin_client_secret: Secret,
    /// Lifetime of issued access tokens (`expires_in` is one second less, as Entra reports).
    pub token_lifetime: Duration,
    /// Lifetime of tokens for clients that declare continuous access evaluation (`xms_cc`
    /// `cp1`); Entra gives them 24 hours.
    pub cae_token_lifetime: Duration,
    /// How long after an application's creation Graph still refuses to create its service
    /// principal ("does not reference a valid application object"), as replication does.
    pub graph_replication: Duration,
    /// Per-plane delay before a role assignment change takes effect.
    pub propagation: Propagation,
    /// How long after a federated identity credential is created or changed token exchanges
    /// still do not see it (AADSTS70021), as its propagation through Entra's regions does.
    pub federated_credential_propagation: Duration,
    /// How long after its creation a service principal stays invisible to ARM (role
    /// assignments naming it without `principalType` fail with `PrincipalNotFound`).
    pub principal_replication: Duration,
    /// Directory for persisted state (`None`: in memory).
    pub data_dir: Option<PathBuf>,
    /// Most rows a Log Analytics or Application Insights query returns; a longer result is
    /// cut there and reported as a partial error, as the service does at 500,000 records.
    pub query_row_limit: usize,
    /// Token the control API (`/_emulator/*`, portal included, health excepted) requires
    /// when set; without one the control API is open, and only a loopback bind is allowed.
    pub admin_token: Option<Secret>,
    /// Fault injection rules installed at start and again on reset (see [`crate::faults`]).
    pub faults: Vec<crate::faults::FaultSpec>,
    /// Most connections served at once; further ones wait in the listen backlog until one
    /// closes (at least 1).
    pub max_connections: usize,
    /// How long a connection may go without delivering a complete request head, counted
    /// from when it opens (after the TLS handshake, itself bounded by 10 s or this, the
    /// shorter) and, on HTTP/1.1, from the end of its previous response: an idle
    /// keep-alive connection is closed after it too. HTTP/2 connections are pinged at this
    /// interval and closed when a ping goes unanswered as long.
    pub header_read_timeout: Duration,
    /// Host names the emulator answers to besides the loopback names, IP addresses and the
    /// generated certificate's extra names; `*.name` covers one label under `name`.
    /// Requests naming another host are refused with 421, against DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// The tenant to set up at start, after the bootstrap (`--seed`; see [`crate::seed`]).
    /// Under `--data-dir`, only a new data directory is seeded.
    pub seed: Option<Seed>,
    /// The resource id of the Azure resource the caller "runs on" for IMDS and the App
    /// Service identity endpoint (`EmulatorBuilder::managed_identity_host`): its
    /// system-assigned identity is served by default. Without it, a request must name one of
    /// the tenant's managed identities.
    pub managed_identity_host: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: TlsMode::Plain,
            ca_cert_path: None,
            tenant_id: DEFAULT_TENANT_ID,
            tenant_domain: DEFAULT_TENANT_DOMAIN.to_owned(),
            tenant_display_name: "Entra Emulator".to_owned(),
            subscription_id: DEFAULT_SUBSCRIPTION_ID,
            admin_client_id: DEFAULT_ADMIN_CLIENT_ID,
            admin_client_secret: Secret::new(DEFAULT_ADMIN_CLIENT_SECRET),
            token_lifetime: Duration::from_secs(3600),
            cae_token_lifetime: DEFAULT_CAE_TOKEN_LIFETIME,
            graph_replication: Duration::ZERO,
            federated_credential_propagation: Duration::ZERO,
            propagation: Propagation::default(),
            // A guess: Microsoft documents the delay but not its length; one minute fits
            // inside the Azure CLI's retry budget (36 tries, 5 s apart).
            principal_replication: Duration::from_secs(60),
            data_dir: None,
            query_row_limit: DEFAULT_QUERY_ROW_LIMIT,
            admin_token: None,
            faults: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            allowed_hosts: Vec::new(),
            seed: None,
            managed_identity_host: None,
        }
    }
}

impl Config {
    /// The control API's admin token, if one is set (an empty one counts as none).
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token
            .as_ref()
            .map(Secret::expose)
            .filter(|t| !t.is_empty())
    }

    /// Checks what cannot be checked by its type: the admin token's strength and the
    /// allowed host names. Every way of starting an emulator calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.admin_token {
            let token = token.expose();
            if token.chars().count() < MIN_ADMIN_TOKEN_LEN
                || !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(ConfigError::WeakAdminToken);
            }
        }
        match self
            .allowed_hosts
            .iter()
            .find(|h| !crate::hosts::is_host_pattern(h))
        {
            Some(bad) => Err(ConfigError::InvalidAllowedHost(bad.clone())),
            None => Ok(()),
        }
    }

    /// The host names requests may name besides addresses and `localhost`: the
    /// `--allowed-host` names and, with a generated certificate, its extra names.
    pub(crate) fn allowed_hosts(&self) -> crate::hosts::AllowedHosts {
        let sans = match &self.tls {
            TlsMode::SelfSigned { extra_sans } => extra_sans.as_slice(),
            TlsMode::Plain | TlsMode::Files { .. } => &[],
        };
        crate::hosts::AllowedHosts::new(self.allowed_hosts.iter().chain(sans).map(String::as_str))
    }

    /// Refuses to serve the control API, which can reset the tenant and mint secrets, to
    /// other machines without an admin token: listening on `addr` needs one unless it is a
    /// loopback address.
    pub fn check_control_api(&self, addr: SocketAddr) -> Result<(), ExposedControlApi> {
        if addr.ip().to_canonical().is_loopback() || self.admin_token().is_some() {
            Ok(())
        } else {
            Err(ExposedControlApi(addr))
        }
    }
}

/// Fewest characters an admin token may have: a shorter one could be guessed by a program
/// that tries tokens against the control API.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// A setting that makes no sense, found before anything is served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The admin token is blank, too short or has characters a header cannot carry.
    #[error(
        "refusing to serve the control API with a weak admin token: --admin-token (or ENTRA_EMULATOR_ADMIN_TOKEN) must be at least 16 printable ASCII characters without spaces (e.g. the output of `openssl rand -hex 16`)"
    )]
    WeakAdminToken,
    /// An allowed host name is not a DNS name or IP address.
    #[error(
        "--allowed-host '{0}' is not a host name: give a DNS name (optionally '*.' and a domain) or an IP address, without scheme or port"
    )]
    InvalidAllowedHost(String),
}

/// The control API would be reachable beyond this machine without an admin token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to serve the control API (/_emulator/*) on {0}, which is not a loopback address, without an admin token: set --admin-token (or ENTRA_EMULATOR_ADMIN_TOKEN), or bind to 127.0.0.1"
)]
pub struct ExposedControlApi(pub SocketAddr);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_certificates_names_are_allowed_hosts() {
        let config = Config {
            tls: TlsMode::SelfSigned {
                extra_sans: vec!["svc.test".into()],
            },
            ..Config::default()
        };
        assert!(config.allowed_hosts().allows("svc.test:8443"));
        assert!(!Config::default().allowed_hosts().allows("svc.test"));
    }
}

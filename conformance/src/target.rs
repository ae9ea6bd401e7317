//! Where scenarios run: an in-process emulator, a running emulator, or real Azure.
//!
//! Chosen by `CONFORMANCE_TARGET`:
//! - `emulator` (default): a fresh in-process emulator per scenario, no network;
//! - `url`: the emulator whose connection file is at `CONFORMANCE_CONNECTION_FILE`;
//! - `azure`: real Azure, from `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`,
//!   `AZURE_SUBSCRIPTION_ID` (and `AZURE_TENANT_NAME`, the tenant's display name, which
//!   Entra quotes in two messages).
//!
//! Time is the one thing that differs: on an emulator [`Target::advance`] moves its clock, on
//! Azure it sleeps; and on Azure a result may take a while to replicate, so
//! [`Target::patience`] is how long a scenario keeps retrying before it fails.

use std::time::Duration;

use entra_client::{ClientSecret, Cloud, Connection};
use entra_emulator::Emulator;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why a target cannot be used.
#[derive(Debug)]
pub enum Unavailable {
    /// Not configured (missing credentials): the scenarios are skipped, with this reason.
    Skip(String),
    /// Configured but broken: the scenarios fail with this message.
    Broken(String),
}

/// The kind of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An emulator started in this process.
    InProcess,
    /// A running emulator reached through its connection file.
    Url,
    /// Real Azure.
    Azure,
}

impl Kind {
    /// The kind `CONFORMANCE_TARGET` names.
    pub fn from_env() -> Result<Self, Unavailable> {
        match std::env::var("CONFORMANCE_TARGET").as_deref() {
            Err(_) | Ok("" | "emulator") => Ok(Self::InProcess),
            Ok("url") => Ok(Self::Url),
            Ok("azure") => Ok(Self::Azure),
            Ok(other) => Err(Unavailable::Broken(format!(
                "CONFORMANCE_TARGET={other}: expected emulator, url or azure"
            ))),
        }
    }
}

#[derive(Debug)]
enum Control {
    InProcess(Emulator),
    Url { http: reqwest::Client, base: String },
    Azure,
}

/// A connected target.
#[derive(Debug)]
pub struct Target {
    /// Endpoints.
    pub cloud: Cloud,
    /// Tenant id.
    pub tenant_id: String,
    /// Default subscription id.
    pub subscription_id: String,
    /// The admin's client id.
    pub admin_client_id: String,
    /// The admin's secret.
    pub admin_secret: ClientSecret,
    /// The tenant's display name, when known.
    pub tenant_name: Option<String>,
    control: Control,
}

impl Target {
    /// The target `CONFORMANCE_TARGET` names.
    pub async fn from_env() -> Result<Self, Unavailable> {
        match Kind::from_env()? {
            Kind::InProcess => Self::in_process().await.map_err(Unavailable::Broken),
            Kind::Url => {
                let path = std::env::var("CONFORMANCE_CONNECTION_FILE").map_err(|_| {
                    Unavailable::Skip(
                        "CONFORMANCE_TARGET=url needs CONFORMANCE_CONNECTION_FILE (the emulator's --connection-file)".into(),
                    )
                })?;
                Self::url(&path).map_err(Unavailable::Broken)
            }
            Kind::Azure => Self::azure(|k| std::env::var(k).ok()),
        }
    }

    /// A fresh in-process emulator.
    pub async fn in_process() -> Result<Self, String> {
        let emu = Emulator::start()
            .await
            .map_err(|e| format!("emulator: {e}"))?;
        // The process's signing key is made on first use; make it now, off the recorded
        // timeline, so that a recording and its replay see the same pace whichever runs
        // first in the process (dates in request bodies are shifted by start time).
        tokio::task::spawn_blocking(entra_emulator::test_support::make_process_key)
            .await
            .map_err(|e| format!("signing key: {e}"))?;
        Ok(Self::for_emulator(emu))
    }

    /// A target for an emulator started by the caller.
    pub fn for_emulator(emu: Emulator) -> Self {
        let admin = emu.admin();
        Self {
            cloud: Cloud::emulator(emu.url()),
            tenant_id: emu.tenant_id().to_string(),
            subscription_id: emu.subscription_id().to_string(),
            admin_client_id: admin.client_id.to_string(),
            admin_secret: ClientSecret::new(admin.client_secret.expose()),
            tenant_name: Some(emu.config().tenant_display_name.clone()),
            control: Control::InProcess(emu),
        }
    }

    /// The running emulator described by the connection file at `path`.
    pub fn url(path: &str) -> Result<Self, String> {
        let conn = Connection::from_file(path).map_err(|e| e.to_string())?;
        let cloud = conn.cloud().map_err(|e| e.to_string())?;
        let http = http_client(&cloud)?;
        Ok(Self {
            tenant_id: conn.tenant_id,
            subscription_id: conn.subscription_id,
            admin_client_id: conn.admin.client_id,
            admin_secret: ClientSecret::new(conn.admin.client_secret),
            // The binary has no flag for it: always the default.
            tenant_name: Some(entra_emulator::Config::default().tenant_display_name),
            control: Control::Url {
                http,
                base: conn.base_url.trim_end_matches('/').to_owned(),
            },
            cloud,
        })
    }

    /// Real Azure, from the `AZURE_*` variables `var` reads.
    pub fn azure(var: impl Fn(&str) -> Option<String>) -> Result<Self, Unavailable> {
        const NEEDED: [&str; 4] = [
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_SUBSCRIPTION_ID",
        ];
        let missing: Vec<&str> = NEEDED
            .into_iter()
            .filter(|k| var(k).is_none_or(|v| v.is_empty()))
            .collect();
        if !missing.is_empty() {
            return Err(Unavailable::Skip(format!(
                "CONFORMANCE_TARGET=azure needs {}",
                missing.join(", ")
            )));
        }
        let get = |k: &str| var(k).unwrap_or_default();
        Ok(Self {
            cloud: Cloud::azure_public(),
            tenant_id: get("AZURE_TENANT_ID"),
            subscription_id: get("AZURE_SUBSCRIPTION_ID"),
            admin_client_id: get("AZURE_CLIENT_ID"),
            admin_secret: ClientSecret::new(get("AZURE_CLIENT_SECRET")),
            tenant_name: var("AZURE_TENANT_NAME").filter(|v| !v.is_empty()),
            control: Control::Azure,
        })
    }

    /// Whether this is an emulator (in-process or running).
    pub fn is_emulator(&self) -> bool {
        !matches!(self.control, Control::Azure)
    }

    /// Whether the emulator lives in this process (and goes away with the target).
    pub fn is_in_process(&self) -> bool {
        matches!(self.control, Control::InProcess(_))
    }

    /// The emulator's base URL (`None` on Azure).
    pub fn emulator_base(&self) -> Option<&str> {
        match &self.control {
            Control::InProcess(emu) => Some(emu.url()),
            Control::Url { base, .. } => Some(base),
            Control::Azure => None,
        }
    }

    /// A token of the emulator's built-in test issuer (`POST /_emulator/issuer/token` with
    /// `body`): `{"token", "issuer", "expiresOn"}`. Azure has no such issuer.
    pub async fn issuer_token(&self, body: &Value) -> Result<Value, String> {
        match &self.control {
            Control::InProcess(emu) => {
                let http = reqwest::Client::new();
                control(
                    http.post(format!("{}/_emulator/issuer/token", emu.url()))
                        .json(body),
                )
                .await
            }
            Control::Url { http, base } => {
                control(
                    http.post(format!("{base}/_emulator/issuer/token"))
                        .json(body),
                )
                .await
            }
            Control::Azure => Err("Azure has no built-in test issuer".to_owned()),
        }
    }

    /// Where the recording came from, for a fixture's provenance.
    pub fn describe(&self) -> String {
        let version = env!("CARGO_PKG_VERSION");
        match &self.control {
            Control::InProcess(_) => format!("entra-emulator {version} (in-process)"),
            Control::Url { .. } => format!("entra-emulator (running; suite {version})"),
            Control::Azure => "Azure public cloud".to_owned(),
        }
    }

    /// How long results may take to show (replication, propagation): nothing on an emulator,
    /// minutes on Azure.
    pub fn patience(&self) -> Duration {
        match self.control {
            Control::Azure => Duration::from_secs(300),
            _ => Duration::ZERO,
        }
    }

    /// The target's current time.
    pub async fn now(&self) -> Result<OffsetDateTime, String> {
        match &self.control {
            Control::InProcess(emu) => Ok(emu.now()),
            Control::Url { http, base } => {
                let body = control(http.get(format!("{base}/_emulator/clock"))).await?;
                parse_now(&body)
            }
            Control::Azure => Ok(OffsetDateTime::now_utc()),
        }
    }

    /// Lets `by` pass: the emulator's clock moves; Azure is waited on.
    pub async fn advance(&self, by: Duration) -> Result<(), String> {
        match &self.control {
            Control::InProcess(emu) => {
                emu.advance_clock(by);
                Ok(())
            }
            Control::Url { http, base } => {
                let req = http
                    .post(format!("{base}/_emulator/clock/advance"))
                    .json(&json!({"seconds": by.as_secs_f64()}));
                control(req).await.map(drop)
            }
            Control::Azure => {
                tokio::time::sleep(by).await;
                Ok(())
            }
        }
    }
}

async fn control(req: reqwest::RequestBuilder) -> Result<Value, String> {
    let resp = req.send().await.map_err(|e| format!("control API: {e}"))?;
    let status = resp.status();
    let body = resp
        .json::<Value>()
        .await
        .map_err(|e| format!("control API: {e}"))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("control API answered {status}: {body}"))
    }
}

fn parse_now(body: &Value) -> Result<OffsetDateTime, String> {
    body["now"]
        .as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .ok_or_else(|| format!("control API: no time in {body}"))
}

/// A plain HTTP client that trusts `cloud`'s CA (for the control API and replays).
pub fn http_client(cloud: &Cloud) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = &cloud.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("invalid CA PEM: {e}"))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_without_credentials_is_skipped_with_the_missing_names() {
        let Err(Unavailable::Skip(reason)) =
            Target::azure(|k| (k == "AZURE_TENANT_ID").then(|| "t".to_owned()))
        else {
            panic!("expected a skip");
        };
        assert_eq!(
            reason,
            "CONFORMANCE_TARGET=azure needs AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_SUBSCRIPTION_ID"
        );
        let target = Target::azure(|k| Some(format!("{k}-value"))).expect("configured");
        assert!(!target.is_emulator());
        assert_eq!(target.patience(), Duration::from_secs(300));
        assert_eq!(
            target.tenant_name.as_deref(),
            Some("AZURE_TENANT_NAME-value")
        );
    }

    #[tokio::test]
    async fn the_emulator_clock_moves_instead_of_waiting() {
        let target = Target::in_process().await.expect("emulator");
        let before = target.now().await.expect("now");
        let started = std::time::Instant::now();
        target
            .advance(Duration::from_secs(3600))
            .await
            .expect("advance");
        assert!(started.elapsed() < Duration::from_secs(5));
        let moved = target.now().await.expect("now") - before;
        assert!(moved >= time::Duration::hours(1), "{moved}");
        assert!(parse_now(&json!({"now": "2025-01-01T00:00:00Z"})).is_ok());
        assert!(parse_now(&json!({})).is_err());
    }
}

//! What users do in one command: `az ad sp create-for-rbac`, and waiting for a role
//! assignment to reach a data plane.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Error;
use crate::graph::{OneTimeSecret, SecretOptions};
use crate::{AzureClient, ClientSecret};

/// How a workflow lets time pass: really (Azure), or by moving an emulator's clock.
pub trait Waiter: Send + Sync + std::fmt::Debug {
    /// Lets `d` pass.
    fn wait<'a>(
        &'a self,
        d: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
}

/// Sleeps for real.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealTime;

impl Waiter for RealTime {
    fn wait<'a>(
        &'a self,
        d: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(async move {
            tokio::time::sleep(d).await;
            Ok(())
        })
    }
}

/// Advances an emulator's clock through its control API instead of sleeping.
#[derive(Debug, Clone)]
pub struct EmulatorClock {
    base_url: String,
    http: reqwest::Client,
    admin_token: Option<ClientSecret>,
}

impl EmulatorClock {
    /// The emulator at `base_url` (TLS trust as in `cloud`).
    pub fn new(cloud: &crate::Cloud) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = &cloud.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| Error::Config(format!("invalid CA PEM: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        Ok(Self {
            base_url: cloud.arm_endpoint.trim_end_matches('/').to_owned(),
            http: builder.build()?,
            admin_token: None,
        })
    }

    /// Sends `token` as the emulator's control API requires when it runs with `--admin-token`.
    pub fn with_admin_token(mut self, token: ClientSecret) -> Self {
        self.admin_token = Some(token);
        self
    }
}

impl Waiter for EmulatorClock {
    fn wait<'a>(
        &'a self,
        d: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(async move {
            let url = format!("{}/_emulator/clock/advance", self.base_url);
            let mut req = self
                .http
                .post(url)
                .json(&json!({"seconds": d.as_secs_f64()}));
            if let Some(token) = &self.admin_token {
                req = req.bearer_auth(token.expose());
            }
            let r = req.send().await?;
            if !r.status().is_success() {
                return Err(Error::Config(format!(
                    "the emulator refused to advance its clock: {}",
                    r.status()
                )));
            }
            Ok(())
        })
    }
}

/// Retries of a step that waits for something to appear (replication, propagation).
#[derive(Debug, Clone)]
pub struct Patience {
    /// Waits between tries.
    pub interval: Duration,
    /// How many tries at most.
    pub tries: u32,
}

impl Default for Patience {
    /// The Azure CLI's: 36 tries, 5 seconds apart.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            tries: 36,
        }
    }
}

/// What `create_for_rbac` returns — the Azure CLI's output.
#[derive(Debug, Clone)]
pub struct CreatedForRbac {
    /// Client id.
    pub app_id: String,
    /// Display name.
    pub display_name: String,
    /// The new secret (shown this once).
    pub password: OneTimeSecret,
    /// Tenant.
    pub tenant: String,
    /// Role assignments made (ids), one per scope.
    pub role_assignments: Vec<String>,
}

/// A role and the scopes to assign it at (`--role` and `--scopes`).
#[derive(Debug, Clone)]
pub struct RoleAtScopes<'a> {
    /// Role name, e.g. `Reader`.
    pub role: &'a str,
    /// Scopes.
    pub scopes: &'a [String],
}

/// Does what `az ad sp create-for-rbac` does on the wire: reuse or register the app, give it a
/// new secret valid for `years` (replacing the old ones of a reused app), create its service
/// principal (retrying through replication), then assign `role` at each scope with
/// `principalType: ServicePrincipal` (retrying `PrincipalNotFound`, tolerating
/// `RoleAssignmentExists`).
pub async fn create_for_rbac(
    client: &AzureClient,
    display_name: &str,
    role: Option<RoleAtScopes<'_>>,
    years: i32,
    waiter: &dyn Waiter,
    patience: &Patience,
) -> Result<CreatedForRbac, Error> {
    let graph = client.graph();
    let quoted = display_name.replace('\'', "''");
    // Idempotency, as the CLI checks: an existing service principal / app of that name.
    let existing_sp = graph
        .list_service_principals(Some(&format!("displayName eq '{quoted}'")))
        .await?;
    let existing_app = graph
        .list_applications(Some(&format!("startswith(displayName,'{quoted}')")))
        .await?
        .into_iter()
        .find(|a| a.display_name == display_name);
    let app = match existing_app {
        Some(app) => {
            for cred in &app.password_credentials {
                graph.remove_password(&app.id, &cred.key_id).await?;
            }
            app
        }
        None => {
            graph
                .create_application_with(json!({"displayName": display_name, "keyCredentials": []}))
                .await?
        }
    };
    let start = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let end = start
        .replace_year(start.year() + years)
        .unwrap_or(start + time::Duration::days(365 * i64::from(years)));
    let options = SecretOptions {
        display_name: Some("rbac".into()),
        start_date_time: start.format(&Rfc3339).ok(),
        end_date_time: end.format(&Rfc3339).ok(),
        ..SecretOptions::default()
    };
    let secret = graph.add_password(&app.id, &options).await?;
    let sp = match existing_sp.into_iter().find(|s| s.app_id == app.app_id) {
        Some(sp) => sp,
        None => {
            retrying(waiter, patience, is_replicating_app, || {
                graph.create_service_principal(&app.app_id)
            })
            .await?
        }
    };
    let mut assignments = Vec::new();
    if let Some(RoleAtScopes { role, scopes }) = role {
        let arm = client.arm();
        for scope in scopes {
            let definition = arm
                .role_definition_by_name(scope, role)
                .await?
                .ok_or_else(|| Error::Config(format!("Role '{role}' doesn't exist.")))?;
            let created = retrying(waiter, patience, Error::is_principal_not_found, || {
                arm.create_role_assignment(scope, &definition.id, &sp.id, Some("ServicePrincipal"))
            })
            .await;
            match created {
                Ok(a) => assignments.push(a.id),
                Err(e) if e.code() == Some("RoleAssignmentExists") => {
                    tracing::warn!("Role assignment already exists.");
                }
                Err(e) => return Err(e),
            }
        }
    }
    let tenant = client
        .credential()
        .tenant_id()
        .unwrap_or_default()
        .to_owned();
    Ok(CreatedForRbac {
        app_id: app.app_id,
        display_name: app.display_name,
        password: secret.secret,
        tenant,
        role_assignments: assignments,
    })
}

/// Graph's "not replicated yet" answers to creating a service principal.
fn is_replicating_app(e: &Error) -> bool {
    e.service_error().is_some_and(|s| {
        s.status.as_u16() == 400
            && (s.message.contains("does not reference")
                || s.message.contains("does not exist")
                || s.message.contains("local tenant"))
    })
}

async fn retrying<T, F, Fut>(
    waiter: &dyn Waiter,
    patience: &Patience,
    transient: fn(&Error) -> bool,
    mut op: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut tries = 0;
    loop {
        match op().await {
            Err(e) if transient(&e) && tries + 1 < patience.tries => {
                tries += 1;
                waiter.wait(patience.interval).await?;
            }
            other => return other,
        }
    }
}

/// How long `wait_for_access` waited, and what the call finally returned.
#[derive(Debug)]
pub struct Access<T> {
    /// The successful result.
    pub value: T,
    /// Time waited (emulated time when the waiter moves a clock).
    pub waited: Duration,
    /// Calls refused before it succeeded.
    pub denied: u32,
}

/// Retries `call` while it is refused with a propagation-shaped 403, backing off from
/// `initial` up to `max_interval`, until `deadline` of waiting has passed.
pub async fn wait_for_access<T, F, Fut>(
    waiter: &dyn Waiter,
    initial: Duration,
    max_interval: Duration,
    deadline: Duration,
    mut call: F,
) -> Result<Access<T>, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let mut interval = initial;
    let mut denied = 0;
    loop {
        match call().await {
            Ok(value) => {
                return Ok(Access {
                    value,
                    waited,
                    denied,
                });
            }
            Err(e) if e.is_propagation_denied() => {
                denied += 1;
                if waited + interval > deadline {
                    return Err(Error::Timeout {
                        waited: waited.max(started.elapsed()),
                        last: Box::new(e),
                    });
                }
                waiter.wait(interval).await?;
                waited += interval;
                interval = (interval * 2).min(max_interval);
            }
            Err(e) => return Err(e),
        }
    }
}

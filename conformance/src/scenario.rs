//! What a scenario works with: the target, an admin client and a raw token endpoint that
//! record every exchange, unique names, waits, retries that only Azure needs, and clean-up.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use entra_client::{AzureClient, ClientSecret, ClientSecretCredential, TokenEndpoint};
use entra_emulator::replay::Recording;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::normalize::Normalizer;
use crate::sanitize::{Identities, Sanitizer, tenant_name_forms};
use crate::tape::{Actor, Event, Tape};
use crate::target::Target;

/// One scenario's run.
#[derive(Debug)]
pub struct Scenario {
    name: &'static str,
    target: Target,
    tape: Tape,
    run: String,
    started: OffsetDateTime,
    admin: AzureClient,
    tokens: TokenEndpoint,
    labels: Mutex<Vec<(String, String)>>,
    created_apps: Mutex<Vec<String>>,
    created_groups: Mutex<Vec<String>>,
    skipped: Mutex<Option<String>>,
}

impl Scenario {
    /// Starts scenario `name` on `target`.
    pub async fn start(name: &'static str, target: Target) -> Result<Self, String> {
        let tape = Tape::default();
        let admin = admin_client(&target, Some(&tape))?;
        let tokens = TokenEndpoint::new(&target.cloud)
            .map_err(|e| e.to_string())?
            .with_recorder(tape.recorder(Actor::App));
        let started = target.now().await?;
        let run = run_id(name);
        Ok(Self {
            name,
            target,
            tape,
            run,
            started,
            admin,
            tokens,
            labels: Mutex::new(Vec::new()),
            created_apps: Mutex::new(Vec::new()),
            created_groups: Mutex::new(Vec::new()),
            skipped: Mutex::new(None),
        })
    }

    /// Marks the scenario as not applicable to this target, with the reason: it then reports
    /// as ignored (its body should return at once).
    pub fn skip(&self, reason: impl Into<String>) {
        *self
            .skipped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason.into());
    }

    /// Why the scenario skipped itself, if it did.
    pub fn skipped(&self) -> Option<String> {
        self.skipped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The scenario's name (its snapshot and fixture are named after it).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        &self.target.tenant_id
    }

    /// A client signed in as the target's admin; its exchanges are recorded.
    pub fn admin(&self) -> &AzureClient {
        &self.admin
    }

    /// The token endpoints, called directly; exchanges are recorded as the app's.
    pub fn tokens(&self) -> &TokenEndpoint {
        &self.tokens
    }

    /// A client signed in as `client_id` with `secret`; exchanges are recorded as the app's.
    pub fn client_as(&self, client_id: &str, secret: ClientSecret) -> AzureClient {
        let recorder = self.tape.recorder(Actor::App);
        let credential = ClientSecretCredential::new(
            &self.target.cloud,
            self.target.tenant_id.clone(),
            client_id,
            secret,
        )
        .map(|c| c.with_recorder(recorder.clone()))
        .and_then(|c| AzureClient::new(self.target.cloud.clone(), c))
        .expect("a client for a valid cloud");
        credential.with_recorder(recorder)
    }

    /// A display name of this scenario: `conformance-{what}-{run}`, the run id derived from
    /// the scenario's name (`[run]` in snapshots).
    pub fn unique_name(&self, what: &str) -> String {
        format!("conformance-{what}-{}", self.run)
    }

    /// Names `value` `[label]` in the snapshot.
    pub fn label(&self, value: &str, label: &str) {
        self.labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((value.to_owned(), label.to_owned()));
    }

    /// Deletes the application with this object id (and its service principal) when the
    /// scenario ends, on targets that outlive it.
    pub fn delete_later(&self, app_object_id: &str) {
        self.created_apps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(app_object_id.to_owned());
    }

    /// Deletes the resource group `name` of the target's subscription (and with it what it
    /// holds, role assignments included) when the scenario ends, on targets that outlive it.
    pub fn delete_group_later(&self, name: &str) {
        self.created_groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(name.to_owned());
    }

    /// The target's current time.
    pub async fn now(&self) -> OffsetDateTime {
        self.target.now().await.expect("the target's clock")
    }

    /// Lets `by` pass (the emulator's clock moves; on Azure, a real wait).
    pub async fn wait(&self, by: Duration) {
        self.target.advance(by).await.expect("time passes");
        self.tape.push(Event::Wait(by));
    }

    /// Records what the emulated tool prints.
    pub fn output(&self, value: Value) {
        self.tape.push(Event::Output(value));
    }

    /// Runs `attempt` until it succeeds. On an emulator once: its answers are immediate. On
    /// Azure again every few seconds within the target's patience, forgetting the exchanges of
    /// failed attempts, because a new object takes a while to replicate. Panics with the last
    /// reason when it never succeeds.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut attempt: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let deadline = std::time::Instant::now() + self.target.patience();
        loop {
            let mark = self.tape.mark();
            match attempt().await {
                Ok(value) => return value,
                Err(reason) if std::time::Instant::now() >= deadline => {
                    panic!("{}: {what}: {reason}", self.name)
                }
                Err(_) => {
                    self.tape.rewind(mark);
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    }

    /// Deletes what the scenario created, unrecorded, when the target outlives the scenario.
    /// Failures are reported, not raised: clean-up must not hide the scenario's outcome.
    pub async fn clean_up(&self) -> Vec<String> {
        if self.target.is_in_process() {
            return Vec::new();
        }
        let apps = std::mem::take(
            &mut *self
                .created_apps
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let groups = std::mem::take(
            &mut *self
                .created_groups
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let admin = match admin_client(&self.target, None) {
            Ok(a) => a,
            Err(e) => return vec![e],
        };
        let mut problems = Vec::new();
        let arm = admin.arm();
        for name in groups {
            let deadline = Duration::from_secs(600);
            if let Err(e) = arm
                .delete_resource_group(&self.target.subscription_id, &name, deadline)
                .await
                && !e.is_not_found()
            {
                problems.push(format!("delete resource group {name}: {e}"));
            }
        }
        let graph = admin.graph();
        for id in apps {
            if let Err(e) = graph.delete_application(&id).await
                && !e.is_not_found()
            {
                problems.push(format!("delete application {id}: {e}"));
            }
            if let Err(e) = graph.purge_deleted(&id).await
                && !e.is_not_found()
            {
                problems.push(format!("purge application {id}: {e}"));
            }
        }
        problems
    }

    /// The snapshot: every event, normalized.
    pub fn snapshot(&self) -> Value {
        let t = &self.target;
        let mut n = Normalizer::new();
        for (value, label) in self
            .labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            n.label(value, label);
        }
        n.label(&t.tenant_id, "tenant-id");
        n.label(&t.subscription_id, "subscription-id");
        n.label(&t.admin_client_id, "admin-client-id");
        n.label(&self.run, "run");
        if let Some(name) = &t.tenant_name {
            for (value, with) in tenant_name_forms(name, "[tenant-name]") {
                n.label_raw(&value, &with);
            }
        }
        n.events(&self.tape.events())
    }

    /// The fixture: every exchange, sanitized, with where and when it was recorded.
    pub fn recording(&self) -> Recording {
        let t = &self.target;
        let ids = Identities {
            tenant_id: t.tenant_id.clone(),
            subscription_id: t.subscription_id.clone(),
            admin_client_id: t.admin_client_id.clone(),
            admin_secret: t.admin_secret.expose().to_owned(),
            tenant_name: t.tenant_name.clone(),
            emulator_base: t.emulator_base().map(str::to_owned),
        };
        let today = OffsetDateTime::now_utc().date().to_string();
        let variables = BTreeMap::from([
            ("RecordedFrom".to_owned(), t.describe()),
            ("RecordedOn".to_owned(), today),
            ("Scenario".to_owned(), self.name.to_owned()),
            (
                "StartTime".to_owned(),
                self.started.format(&Rfc3339).unwrap_or_default(),
            ),
        ]);
        Sanitizer::new(&ids).recording(&self.tape.events(), variables, self.started)
    }
}

/// The run id of scenario `name`: eight hex digits derived from the name (FNV-1a), so that a
/// re-recording names everything as the last one did. `CONFORMANCE_RUN_ID` overrides it, for
/// concurrent runs of one scenario on one tenant.
fn run_id(name: &str) -> String {
    if let Ok(id) = std::env::var("CONFORMANCE_RUN_ID")
        && !id.is_empty()
    {
        return id;
    }
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// A client signed in as the target's admin, recording into `tape` when given.
fn admin_client(target: &Target, tape: Option<&Tape>) -> Result<AzureClient, String> {
    let mut credential = ClientSecretCredential::new(
        &target.cloud,
        target.tenant_id.clone(),
        target.admin_client_id.clone(),
        target.admin_secret.clone(),
    )
    .map_err(|e| e.to_string())?;
    if let Some(tape) = tape {
        credential = credential.with_recorder(tape.recorder(Actor::Admin));
    }
    let client = AzureClient::new(target.cloud.clone(), credential).map_err(|e| e.to_string())?;
    Ok(match tape {
        Some(tape) => client.with_recorder(tape.recorder(Actor::Admin)),
        None => client,
    })
}

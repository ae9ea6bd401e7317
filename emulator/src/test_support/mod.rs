//! Test support: what the emulator's own integration tests and the benchmark harness need
//! beyond the HTTP APIs — putting objects straight into a running emulator's stores, reading
//! a few facts back, signing tokens of its own keys, and timing the steps of a token and a
//! query. Hidden from the docs, not part of the emulator's API, free to change.

mod certificates;

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

pub use self::certificates::TestCertificate;
use crate::Emulator;
pub use crate::config::Plane;
use crate::directory::{Application, PasswordCredential, ServicePrincipal};
#[cfg(feature = "monitor")]
pub use crate::kql::Queries;
use crate::rbac::{Assignment, Planes, PrincipalType, RoleRef, Scope};
use crate::resources::ResourceGroup;
use crate::secret::SecretHash;
pub use crate::token::{Claims, Grant, TokenVersion, claims};

/// An application with one client secret, put into the directory as it is.
#[derive(Debug, Clone)]
pub struct TestApplication {
    /// Object id.
    pub object_id: Uuid,
    /// Client (application) id.
    pub client_id: Uuid,
    /// Display name (its service principal's too).
    pub name: String,
    /// When it (and its service principal) was created.
    pub created: OffsetDateTime,
    /// The secret's key id.
    pub secret_key_id: Uuid,
    /// The secret's value.
    pub secret: String,
    /// The secret is valid from…
    pub secret_start: OffsetDateTime,
    /// …until.
    pub secret_end: OffsetDateTime,
    /// The object id of its service principal; `None`: it has none.
    pub service_principal: Option<Uuid>,
}

/// Puts `app` (and its service principal) into the emulator's directory.
pub fn insert_application(emu: &Emulator, app: TestApplication) {
    let mut application = Application::new(app.object_id, app.client_id, &*app.name, app.created);
    application.password_credentials.push(PasswordCredential {
        key_id: app.secret_key_id,
        display_name: None,
        hint: crate::secret::hint(&app.secret),
        start: app.secret_start,
        end: app.secret_end,
        hash: SecretHash::new(&app.secret),
    });
    let mut dir = emu.state().directory_mut();
    dir.insert_app(application);
    if let Some(sp) = app.service_principal {
        dir.insert_sp(ServicePrincipal::new(
            sp,
            app.client_id,
            app.name,
            app.created,
        ));
    }
}

/// Puts a role assignment of the built-in role `role_id` into ARM's store, effective on
/// every plane at once.
pub fn insert_role_assignment(
    emu: &Emulator,
    name: Uuid,
    scope: &str,
    role_id: &str,
    principal: Uuid,
    principal_type: &str,
) -> Result<(), String> {
    let role = crate::rbac::find_by_id(role_id).ok_or("not a built-in role")?;
    let scope = Scope::parse(scope).map_err(|e| format!("{e:?}"))?;
    let now = emu.now();
    let mut assignment =
        Assignment::of_service_principal(name, scope, RoleRef::BuiltIn(role), principal, now);
    assignment.principal_type = PrincipalType::parse(principal_type).ok_or("principal type")?;
    emu.state()
        .arm_mut()
        .authz
        .upsert(assignment, now, Planes::same(Duration::ZERO))
        .map(drop)
        .map_err(|e| format!("{e:?}"))
}

/// Puts a resource group into ARM's store.
pub fn insert_resource_group(emu: &Emulator, name: &str, location: &str) {
    emu.state().arm_mut().put_group(ResourceGroup {
        subscription: emu.subscription_id(),
        name: name.to_owned(),
        location: location.to_owned(),
        tags: None,
        managed_by: None,
    });
}

/// How many built-in roles the emulator knows.
pub fn builtin_role_count() -> usize {
    crate::rbac::roles::all().len()
}

/// How many applications, service principals and role assignments the emulator holds.
pub fn counts(emu: &Emulator) -> (usize, usize, usize) {
    let (apps, sps) = emu.state().directory().counts();
    (apps, sps, emu.state().arm().authz.len())
}

/// The client id and object id of the service principal named `name`.
pub fn service_principal_named(emu: &Emulator, name: &str) -> Option<(Uuid, Uuid)> {
    let dir = emu.state().directory();
    dir.sps_after(0)
        .find(|(_, sp)| sp.display_name == name)
        .map(|(_, sp)| (sp.app_id, sp.id))
}

/// Whether `principal` may do `action` at `scope` as `plane` sees assignments now.
pub fn authorize(
    emu: &Emulator,
    principal: &Uuid,
    scope: &str,
    action: &str,
    data_action: bool,
    plane: Plane,
) -> bool {
    let state = emu.state();
    state.authorize(
        principal,
        scope,
        action,
        data_action,
        plane,
        state.clock.now(),
    )
}

/// The name of the workspace with `customerId` `id`.
pub fn workspace_name(emu: &Emulator, id: &Uuid) -> Option<String> {
    let store = emu.state().arm();
    store.workspace_by_customer_id(id).map(|r| r.name.clone())
}

/// The resource id of the Application Insights component with `AppId` `id`.
pub fn component_id(emu: &Emulator, id: &Uuid) -> Option<String> {
    let store = emu.state().arm();
    store.component_by_app_id(id).map(|r| r.id.clone())
}

#[cfg(feature = "monitor")]
/// Whether the workspace with `customerId` `id` holds any table.
pub fn has_workspace_data(emu: &Emulator, id: &Uuid) -> bool {
    emu.state().telemetry().workspace_tables(id).is_some()
}

#[cfg(feature = "monitor")]
/// Whether the resource holds custom metrics.
pub fn has_custom_metrics(emu: &Emulator, resource_id: &str) -> bool {
    emu.state().telemetry().namespaces(resource_id).is_some()
}

/// The Log Analytics and Application Insights queries `emu` is running, and how many were
/// cancelled.
#[cfg(feature = "monitor")]
pub fn queries(emu: &Emulator) -> &Queries {
    emu.queries()
}

/// How many validated tokens the token cache holds.
pub fn token_cache_len(emu: &Emulator) -> usize {
    emu.state().tokens.len()
}

/// The `Debug` of the whole state (secrets must not be in it).
pub fn state_dump(emu: &Emulator) -> String {
    format!("{:?}", emu.state())
}

/// What marks the emulator's own tokens (the `instance_tag` of a [`Grant`]).
pub fn instance_tag(emu: &Emulator) -> &str {
    &emu.state().instance_tag
}

/// A date as ARM's messages write it (US order, 12-hour clock).
pub fn us_timestamp(t: OffsetDateTime) -> String {
    crate::services::arm_error::us_timestamp(t)
}

/// Makes the process-wide signing key now (blocking), if no emulator of the process has.
pub fn make_process_key() {
    let _ = crate::keys::process_key();
}

/// The key id of the key the emulator signs with now.
pub fn signing_kid(emu: &Emulator) -> String {
    emu.state().keys.current().kid().to_owned()
}

/// The key the emulator signs with now, for tests that sign a token under a header of their
/// own.
pub fn signing_key(emu: &Emulator) -> std::sync::Arc<crate::keys::SigningKey> {
    emu.state().keys.current()
}

/// `claims` signed with the emulator's current key.
pub fn sign(emu: &Emulator, claims: &Claims) -> String {
    crate::token::mint(&emu.state().keys.current(), claims)
}

/// The steps of one token issuance, to time one by one: the secret check, the claims, their
/// serialization, and serialization plus signature.
#[derive(Debug)]
pub struct TokenSteps {
    secret: String,
    hash: SecretHash,
    key: std::sync::Arc<crate::keys::SigningKey>,
    ids: [Uuid; 3],
    now: OffsetDateTime,
    claims: Claims,
}

impl TokenSteps {
    /// The steps for a v1 ARM token of a fresh key.
    pub fn new() -> Result<Self, crate::keys::KeyError> {
        let key = crate::keys::KeyRing::new(None)?.current();
        let ids = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let now = OffsetDateTime::now_utc();
        let secret = "benchQ~0123456789abcdefghijklmnopqrstuv".to_owned();
        let hash = SecretHash::new(&secret);
        let mut steps = Self {
            secret,
            hash,
            key,
            ids,
            now,
            claims: claims(Self::grant_of(&ids), now, Duration::from_secs(3600)),
        };
        steps.claims = steps.build_claims();
        Ok(steps)
    }

    fn grant_of(ids: &[Uuid; 3]) -> Grant<'_> {
        Grant {
            version: TokenVersion::V1,
            aud: "https://management.azure.com/",
            tenant: &ids[0],
            client_id: &ids[1],
            client_name: "bench-app",
            object_id: &ids[2],
            roles: Vec::new(),
            instance_tag: "E2bench",
        }
    }

    /// The secret checked against its salted hash.
    pub fn verify_secret(&self) -> bool {
        self.hash.matches(&self.secret)
    }

    /// The claims built.
    pub fn build_claims(&self) -> Claims {
        claims(
            Self::grant_of(&self.ids),
            self.now,
            Duration::from_secs(3600),
        )
    }

    /// The claims serialized.
    pub fn serialize(&self) -> Vec<u8> {
        serde_json::to_vec(&self.claims).unwrap_or_default()
    }

    /// The claims serialized and signed.
    pub fn mint(&self) -> String {
        crate::token::mint(&self.key, &self.claims)
    }
}

#[cfg(feature = "monitor")]
/// A table of `rows` log records over 30 days, and a query that groups its errors by hour.
#[derive(Debug)]
pub struct KqlBench {
    tables: Vec<crate::kql::Table>,
}

#[cfg(feature = "monitor")]
impl KqlBench {
    /// The query the benchmark runs.
    pub const QUERY: &str =
        r#"AppTraces | where Level == "Error" | summarize count() by bin(TimeGenerated, 1h)"#;

    /// `AppTraces` with `TimeGenerated`, `Level` and `DurationMs`, `rows` rows from
    /// 2025-01-01 on.
    pub fn new(rows: usize) -> Result<Self, String> {
        use crate::kql::{Column, ColumnType, TICKS_PER_SECOND, Table, Value};
        let mut table = Table::new(
            "AppTraces",
            vec![
                Column::new("TimeGenerated", ColumnType::DateTime),
                Column::new("Level", ColumnType::String),
                Column::new("DurationMs", ColumnType::Long),
            ],
        );
        let levels = [
            Value::string("Information"),
            Value::string("Warning"),
            Value::string("Error"),
            Value::string("Verbose"),
        ];
        let start = 1_735_689_600 * TICKS_PER_SECOND;
        let span = 30 * 86_400 * TICKS_PER_SECOND;
        let count = i64::try_from(rows.max(1)).map_err(|e| e.to_string())?;
        let step = span / count;
        for i in 0..rows {
            let n = i64::try_from(i).map_err(|e| e.to_string())?;
            table
                .push_row(vec![
                    Value::DateTime(start + n * step),
                    levels[i % levels.len()].clone(),
                    Value::Long(n % 1000),
                ])
                .map_err(|e| e.message)?;
        }
        Ok(Self {
            tables: vec![table],
        })
    }

    /// Runs [`KqlBench::QUERY`]; the number of rows it answers.
    pub fn run(&self) -> Result<usize, String> {
        let ctx = crate::kql::QueryContext::log_analytics(OffsetDateTime::now_utc());
        crate::kql::run(Self::QUERY, &self.tables, &ctx)
            .map(|t| t.row_count())
            .map_err(|e| e.message)
    }
}

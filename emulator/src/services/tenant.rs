//! The tenant as a whole: building the state (fresh or loaded from `--data-dir`), the
//! bootstrap admin, reset, bulk seeding, subscriptions and the clock.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AppState, Shared};
use crate::changes::Mark;
use crate::clock::Clock;
use crate::config::{
    Config, DEFAULT_ADMIN_APP_OBJECT_ID, DEFAULT_ADMIN_OBJECT_ID, DEFAULT_ADMIN_OWNER_ASSIGNMENT,
};
use crate::directory::{
    AppRoleGrant, Application, Directory, GRAPH_APP_ID, PasswordCredential, ServicePrincipal,
};
use crate::faults::Faults;
use crate::keys::KeyRing;
#[cfg(feature = "persistence")]
use crate::persist::Persistence;
use crate::rbac::{Assignment, Planes, RoleRef, Scope, roles};
use crate::resources::{ArmStore, ResourceGroup, Subscription};
use crate::secret::{self, SecretHash};
#[cfg(feature = "monitor")]
use crate::telemetry::MonitorStore;
use crate::token_cache::TokenCache;

/// Display name of the default subscription (what the portal names a first subscription).
pub(crate) const DEFAULT_SUBSCRIPTION_NAME: &str = "Azure subscription 1";

/// Largest single clock advance accepted (a century).
const MAX_ADVANCE_SECS: f64 = 100.0 * 365.25 * 86400.0;

/// What [`AppState::advance_clock_seconds`] accepts.
pub(crate) const ADVANCE_RANGE: &str =
    "seconds must be a number from 0 to 3155760000 (the clock only moves forward)";

/// A clock advance outside [`ADVANCE_RANGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfRange;

/// Most objects of each kind one [`Emulator::seed`](crate::Emulator::seed) call creates.
pub(crate) const MAX_SEED: usize = 1_000_000;
/// Most resource groups seeded role assignments are spread over.
pub(crate) const SEED_GROUPS: usize = 1000;

/// What [`Emulator::seed`](crate::Emulator::seed) creates (`POST /_emulator/seed` takes it as JSON).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedRequest {
    /// Applications to create, each with its service principal.
    #[serde(default)]
    pub applications: usize,
    /// `Reader` role assignments to create for the new service principals.
    #[serde(default)]
    pub role_assignments: usize,
    /// A client secret every new application gets (hashed, never stored as text).
    #[serde(default)]
    pub secret: Option<String>,
}

impl std::fmt::Debug for SeedRequest {
    // By hand, so that the secret's value never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedRequest")
            .field("applications", &self.applications)
            .field("role_assignments", &self.role_assignments)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// What [`Emulator::seed`](crate::Emulator::seed) created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedCounts {
    /// Applications.
    pub applications: usize,
    /// Service principals.
    pub service_principals: usize,
    /// Resource groups the assignments are spread over (existing ones included).
    pub resource_groups: usize,
    /// Role assignments.
    pub role_assignments: usize,
}

/// Why a seed request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// A count is above 1,000,000.
    #[error("at most 1000000 objects of each kind per call")]
    TooMany,
    /// More role assignments than distinct (principal, resource group) pairs.
    #[error("roleAssignments needs at least ceil(roleAssignments / 1000) applications")]
    NotEnoughPrincipals,
}

impl AppState {
    /// State for an emulator reached at `base_url`, kept in memory only.
    pub(crate) fn new(config: Config, base_url: String, keys: KeyRing) -> Self {
        Self::fresh(config, base_url, keys, new_instance_tag())
    }

    /// A new tenant whose tokens carry `instance_tag`.
    fn fresh(config: Config, base_url: String, keys: KeyRing, instance_tag: String) -> Self {
        let state = Self::empty(
            config,
            base_url,
            keys,
            instance_tag,
            #[cfg(feature = "persistence")]
            None,
        );
        state.reset();
        state
    }

    /// State for an emulator reached at `base_url`, persisted in the data directory
    /// `opened` (see [`crate::persist`]): the state found there, or a new tenant.
    #[cfg(feature = "persistence")]
    pub(crate) fn persisted(
        config: Config,
        base_url: String,
        keys: KeyRing,
        opened: crate::persist::Opened,
    ) -> Self {
        let instance_tag = opened
            .instance_tag()
            .map_or_else(new_instance_tag, str::to_owned);
        let (p, stores) = Persistence::new(opened, instance_tag.clone());
        let state = match stores {
            // A new data directory: a new tenant, written as the first snapshot.
            None => Self::fresh(config, base_url, keys, instance_tag),
            Some(_) => Self::empty(config, base_url, keys, instance_tag, None),
        };
        state.with_persistence(p, stores)
    }

    /// Attaches `persistence` to a state nothing else holds yet, with the stores it loaded
    /// (`None`: the state's own, now tracked).
    #[cfg(feature = "persistence")]
    fn with_persistence(
        self,
        persistence: Persistence,
        loaded: crate::persist::LoadedStores,
    ) -> Self {
        let mut shared = Arc::try_unwrap(self.shared)
            .unwrap_or_else(|_| unreachable!("a state being built has one owner"));
        let counter = persistence.counter();
        shared.persist = Some(Arc::new(persistence));
        let state = Self {
            shared: Arc::new(shared),
            pending: None,
        };
        let (mut dir, mut arm, mut monitor) = match loaded {
            Some((mut dir, arm, monitor, offset)) => {
                state.clock.advance(offset);
                // The admin's secret is whatever the flags say now, not what was stored.
                if let Some(app) = dir.app_mut(&DEFAULT_ADMIN_APP_OBJECT_ID)
                    && let Some(c) = app
                        .password_credentials
                        .iter_mut()
                        .find(|c| c.key_id.is_nil())
                {
                    c.hash = state.admin_secret.clone();
                    c.hint = secret::hint(state.config.admin_client_secret.expose());
                }
                (dir, arm, monitor)
            }
            None => (
                std::mem::take(&mut *state.directory.write()),
                std::mem::take(&mut *state.arm.write()),
                std::mem::take(&mut *state.telemetry.write()),
            ),
        };
        dir.track(counter.clone());
        arm.track(counter.clone());
        monitor.track(counter);
        *state.directory.write() = dir;
        *state.arm.write() = arm;
        *state.telemetry.write() = monitor;
        state
    }

    /// A state with empty stores.
    fn empty(
        config: Config,
        base_url: String,
        keys: KeyRing,
        instance_tag: String,
        #[cfg(feature = "persistence")] persist: Option<Arc<Persistence>>,
    ) -> Self {
        let shared = Shared {
            instance_tag,
            directory: RwLock::new(Directory::default()),
            arm: RwLock::new(ArmStore::default()),
            #[cfg(feature = "monitor")]
            telemetry: RwLock::new(MonitorStore::default()),
            tokens: TokenCache::default(),
            issuers: Default::default(),
            platform: parking_lot::Mutex::new(super::identities::Platform::new(
                config.managed_identity_host.clone(),
            )),
            faults: Faults::new(config.faults.clone(), OffsetDateTime::now_utc()),
            clock: Clock::default(),
            admin_secret: SecretHash::new(config.admin_client_secret.expose()),
            base_url,
            keys,
            config,
            #[cfg(feature = "persistence")]
            persist,
        };
        Self {
            shared: Arc::new(shared),
            pending: None,
        }
    }

    /// Empties the tenant, keeping the bootstrap admin (and its `Owner` role on the default
    /// subscription, effective at once); Monitor data goes too, and fault rules are back to
    /// the start-up ones. Under `--data-dir` the request's commit writes the emptied state as
    /// a new snapshot.
    pub(crate) fn reset(&self) {
        let mut dir = Directory::default();
        self.bootstrap(&mut dir);
        let mut arm = default_arm(&self.config, self.clock.now());
        #[cfg(feature = "monitor")]
        #[cfg_attr(not(feature = "persistence"), allow(unused_mut))]
        let mut monitor = MonitorStore::default();
        #[cfg(feature = "persistence")]
        if let Some(p) = &self.persist {
            dir.track(p.counter());
            arm.track(p.counter());
            monitor.track(p.counter());
        }
        *self.directory.write() = dir;
        *self.arm.write() = arm;
        #[cfg(feature = "monitor")]
        {
            *self.telemetry.write() = monitor;
        }
        self.faults.reset(self.clock.now());
        {
            let mut platform = self.platform.lock();
            platform.tokens.clear();
            platform.host = self.config.managed_identity_host.clone();
        }
        #[cfg(feature = "persistence")]
        if let Some(p) = &self.persist {
            p.request_snapshot();
        }
        self.note(Mark::ALL);
    }

    /// Moves the emulator's clock forward by `by`; under `--data-dir` the request waits for
    /// the new offset to be written.
    pub(crate) fn advance_clock(&self, by: Duration) -> OffsetDateTime {
        let now = self.clock.advance(by);
        self.note(Mark::ALL);
        now
    }

    /// Moves the clock forward by `seconds`, from 0 to a century (so that dates stay
    /// representable; see [`ADVANCE_RANGE`]). The control API and the portal both advance
    /// the clock through this.
    pub(crate) fn advance_clock_seconds(&self, seconds: f64) -> Result<OffsetDateTime, OutOfRange> {
        if !seconds.is_finite() || !(0.0..=MAX_ADVANCE_SECS).contains(&seconds) {
            return Err(OutOfRange);
        }
        Ok(self.advance_clock(Duration::from_secs_f64(seconds)))
    }

    /// Adds a subscription (the bootstrap admin gets `Owner` on it, effective at once);
    /// `false` when one with that id exists.
    pub(crate) fn create_subscription(&self, subscription: Subscription) -> bool {
        let now = self.clock.now();
        let mut store = self.arm_mut();
        if store.subscription(&subscription.id).is_some() {
            return false;
        }
        let id = subscription.id;
        store.put_subscription(subscription);
        grant_admin_owner(&mut store, id, Uuid::new_v4(), now);
        true
    }

    /// Adds synthetic objects in bulk, for load and scale tests: `request.applications`
    /// applications named `seed-app-{i}`, each with its service principal (and, with
    /// `request.secret`, one client secret of that value), then `request.role_assignments`
    /// `Reader` assignments of those service principals, effective at once on every plane,
    /// spread over resource groups `seed-rg-{g}` of the default subscription (created when
    /// missing; at most [`SEED_GROUPS`]). Assignment `i` goes to service principal
    /// `i % apps` in group `(i % apps + i / apps) % groups`, so no two are the same.
    pub(crate) fn seed(&self, request: &SeedRequest) -> Result<SeedCounts, SeedError> {
        let (apps, assignments) = (request.applications, request.role_assignments);
        if apps > MAX_SEED || assignments > MAX_SEED {
            return Err(SeedError::TooMany);
        }
        let groups = assignments.min(SEED_GROUPS);
        if assignments > apps.saturating_mul(groups) {
            return Err(SeedError::NotEnoughPrincipals);
        }
        let now = self.clock.now();
        let mut principals = Vec::with_capacity(apps);
        {
            let mut dir = self.directory_mut();
            for i in 0..apps {
                let name = format!("seed-app-{i}");
                let mut app = Application::new(Uuid::new_v4(), Uuid::new_v4(), &*name, now);
                if let Some(secret) = &request.secret {
                    app.password_credentials = vec![PasswordCredential {
                        key_id: Uuid::new_v4(),
                        display_name: None,
                        hint: secret::hint(secret),
                        start: now,
                        end: now + time::Duration::days(2 * 365),
                        hash: SecretHash::new(secret),
                    }];
                }
                let sp = ServicePrincipal::new(Uuid::new_v4(), app.app_id, name, now);
                principals.push(sp.id);
                dir.insert_app(app);
                dir.insert_sp(sp);
            }
        }
        let subscription = self.config.subscription_id;
        let scopes: Vec<Scope> = (0..groups)
            .filter_map(|g| {
                Scope::parse(&format!(
                    "/subscriptions/{subscription}/resourceGroups/seed-rg-{g}"
                ))
                .ok()
            })
            .collect();
        let reader = crate::rbac::find_by_id(crate::rbac::roles::ids::READER)
            .expect("Reader is a built-in role");
        let mut arm = self.arm_mut();
        for g in 0..groups {
            if arm.group(&subscription, &format!("seed-rg-{g}")).is_none() {
                arm.put_group(ResourceGroup {
                    subscription,
                    name: format!("seed-rg-{g}"),
                    location: "eastus".to_owned(),
                    tags: None,
                    managed_by: None,
                });
            }
        }
        let mut created = 0;
        for i in 0..assignments {
            let (p, q) = (i % apps, i / apps);
            let assignment = Assignment::of_service_principal(
                Uuid::new_v4(),
                scopes[(p + q) % groups].clone(),
                RoleRef::BuiltIn(reader),
                principals[p],
                now,
            );
            if arm
                .authz
                .upsert(assignment, now, Planes::same(std::time::Duration::ZERO))
                .is_ok()
            {
                created += 1;
            }
        }
        drop(arm);
        // One snapshot rather than millions of journal records.
        #[cfg(feature = "persistence")]
        if let Some(p) = &self.persist {
            p.request_snapshot();
        }
        self.note(Mark::ALL);
        Ok(SeedCounts {
            applications: apps,
            service_principals: apps,
            resource_groups: groups,
            role_assignments: created,
        })
    }

    fn bootstrap(&self, dir: &mut Directory) {
        let now = self.clock.now();
        let secret = self.config.admin_client_secret.expose();
        let mut app = Application::new(
            DEFAULT_ADMIN_APP_OBJECT_ID,
            self.config.admin_client_id,
            "Entra Emulator Admin",
            now,
        );
        app.sign_in_audience = "AzureADMyOrg".to_owned();
        app.password_credentials = vec![PasswordCredential {
            key_id: Uuid::nil(),
            display_name: Some("bootstrap".to_owned()),
            hint: secret::hint(secret),
            start: now - time::Duration::days(1),
            end: time::macros::datetime!(2099-12-31 0:00 UTC),
            hash: self.admin_secret.clone(),
        }];
        dir.insert_app(app);
        let mut sp = ServicePrincipal::new(
            DEFAULT_ADMIN_OBJECT_ID,
            self.config.admin_client_id,
            "Entra Emulator Admin",
            now,
        );
        sp.app_roles.push(AppRoleGrant {
            resource_app_id: GRAPH_APP_ID,
            value: "Application.ReadWrite.All".to_owned(),
        });
        dir.insert_sp(sp);
    }
}

/// What marks the tokens of a new emulator (see [`crate::token::Claims::aio`]).
fn new_instance_tag() -> String {
    let mut tag = [0u8; 18];
    tag[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    format!("E2{}", URL_SAFE_NO_PAD.encode(tag))
}

/// A fresh tenant's ARM state: the default subscription and the bootstrap admin's `Owner`
/// assignment on it, effective on every plane at once.
fn default_arm(config: &Config, now: OffsetDateTime) -> ArmStore {
    let mut store = ArmStore::default();
    store.put_subscription(Subscription {
        id: config.subscription_id,
        display_name: DEFAULT_SUBSCRIPTION_NAME.to_owned(),
    });
    grant_admin_owner(
        &mut store,
        config.subscription_id,
        DEFAULT_ADMIN_OWNER_ASSIGNMENT,
        now,
    );
    store
}

/// Gives the bootstrap admin `Owner` on a subscription, effective at once.
fn grant_admin_owner(store: &mut ArmStore, subscription: Uuid, name: Uuid, now: OffsetDateTime) {
    let Ok(scope) = Scope::subscription(&subscription.to_string()) else {
        return;
    };
    let Some(owner) = roles::find_by_id(roles::ids::OWNER) else {
        return;
    };
    let assignment = Assignment::of_service_principal(
        name,
        scope,
        RoleRef::BuiltIn(owner),
        DEFAULT_ADMIN_OBJECT_ID,
        now,
    );
    // A fresh store cannot already hold it; an existing one keeps the earlier grant.
    let _ = store
        .authz
        .upsert(assignment, now, Planes::same(std::time::Duration::ZERO));
}

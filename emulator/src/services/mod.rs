//! The services layer: the emulator's state behind one cheap-to-clone handle, and the
//! operations on it that more than one API (or the portal) performs.
//!
//! Every lock on the stores is taken here. Reads hand out a read guard ([`AppState::directory`],
//! [`AppState::arm`], [`AppState::telemetry`]); writes a [`WriteGuard`]
//! ([`AppState::directory_mut`], …) which, when it drops, notes the [`Mark`] of what the
//! write changed in the request's [`Pending`]: the durable-write layer waits on it under
//! `--data-dir`. Lock order: the
//! directory, ARM and telemetry locks are never held two at a time — an operation that needs
//! two reads the directory first and releases it.
//!
//! Handlers get the handle with the request's pending mark by extracting [`AppState`] itself
//! (never `State<AppState>`, which has none).

pub(crate) mod access;
pub(crate) mod apps;
pub(crate) mod arm_error;
pub(crate) mod groups;
pub(crate) mod identities;
pub(crate) mod names;
pub(crate) mod resources;
pub(crate) mod seeding;
pub(crate) mod tenant;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use time::OffsetDateTime;
use uuid::Uuid;

pub use self::tenant::{SeedCounts, SeedError, SeedRequest};
use crate::changes::{Mark, Pending, Tracked};
use crate::clock::Clock;
use crate::config::Config;
use crate::directory::Directory;
use crate::faults::Faults;
use crate::keys::KeyRing;
#[cfg(feature = "persistence")]
use crate::persist::{Persistence, Stores};
use crate::rbac::{Plane, Scope};
use crate::resources::ArmStore;
use crate::secret::SecretHash;
#[cfg(feature = "monitor")]
use crate::telemetry::MonitorStore;
use crate::token::{Claims, TokenError};
use crate::token_cache::TokenCache;

/// Everything a request handler can reach: the shared state, and the marks of the changes
/// the current request made.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    shared: Arc<Shared>,
    pending: Option<Arc<Pending>>,
}

/// The contents of [`AppState`].
#[derive(Debug)]
pub(crate) struct Shared {
    /// Start-up configuration.
    pub(crate) config: Config,
    /// Base URL the emulator was reached at by default (`http(s)://host:port`, no slash).
    pub(crate) base_url: String,
    /// The emulated clock.
    pub(crate) clock: Clock,
    /// Signing keys.
    pub(crate) keys: KeyRing,
    /// Marks this instance's tokens (see [`crate::token::Claims::aio`]).
    pub(crate) instance_tag: String,
    /// The directory. A `parking_lot::RwLock`: token issuance and every authorization check
    /// read it far more often than Graph writes it, no critical section awaits, and one lock
    /// makes a write that touches several maps (app, its secrets, its service principal) atomic.
    directory: RwLock<Directory>,
    /// ARM: subscriptions, resource groups, resources, role assignments. Its own lock,
    /// separate from the directory's: an assignment write reads the directory only to check
    /// that the principal exists, before taking this lock, and nothing holds both at once,
    /// so the two cannot deadlock and a Graph write never waits for an ARM one.
    arm: RwLock<ArmStore>,
    #[cfg(feature = "monitor")]
    /// Azure Monitor data: workspace and component tables, custom metric points. A
    /// `parking_lot::RwLock` of its own: queries hold the read lock only to clone the
    /// (reference-counted) tables they need and run after releasing it, so a long query
    /// never holds up ingestion; no critical section awaits; and nothing takes this lock
    /// while holding ARM's or the directory's, so the locks cannot deadlock.
    telemetry: RwLock<MonitorStore>,
    /// Bearer tokens already validated (see [`TokenCache`]).
    pub(crate) tokens: TokenCache,
    /// Fault injection rules (see [`crate::faults`]).
    pub(crate) faults: Faults,
    /// The managed identity platform's host and token cache (see [`identities`]). A
    /// `parking_lot::Mutex`: every use is a short lookup or insert, never held across
    /// another lock's acquisition.
    pub(crate) platform: parking_lot::Mutex<identities::Platform>,
    admin_secret: SecretHash,
    #[cfg(feature = "persistence")]
    /// The journal and snapshots under `--data-dir` (`None`: state in memory only).
    persist: Option<Arc<Persistence>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl FromRequestParts<AppState> for AppState {
    type Rejection = std::convert::Infallible;

    /// The state with the request's pending mark (put there by the durable-write layer).
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(state.for_request(parts.extensions.get::<Arc<Pending>>().cloned()))
    }
}

impl AppState {
    /// The same state, noting the changes it makes in `pending`.
    pub(crate) fn for_request(&self, pending: Option<Arc<Pending>>) -> Self {
        Self {
            shared: self.shared.clone(),
            pending,
        }
    }

    /// Notes a change the current request made (nothing outside a request).
    fn note(&self, mark: Mark) {
        if mark != Mark::NONE
            && let Some(p) = &self.pending
        {
            p.note(mark);
        }
    }

    /// The directory, for reading. Release it before taking another store's lock.
    pub(crate) fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        self.directory.read()
    }

    /// The directory, for changing it; the change is noted when the guard drops.
    pub(crate) fn directory_mut(&self) -> WriteGuard<'_, Directory> {
        WriteGuard::new(self.directory.write(), self.pending.as_deref())
    }

    /// ARM's store, for reading. Release it before taking another store's lock.
    pub(crate) fn arm(&self) -> RwLockReadGuard<'_, ArmStore> {
        self.arm.read()
    }

    /// ARM's store, for changing it; the change is noted when the guard drops.
    pub(crate) fn arm_mut(&self) -> WriteGuard<'_, ArmStore> {
        WriteGuard::new(self.arm.write(), self.pending.as_deref())
    }

    #[cfg(feature = "monitor")]
    /// Azure Monitor data, for reading. Release it before taking another store's lock.
    pub(crate) fn telemetry(&self) -> RwLockReadGuard<'_, MonitorStore> {
        self.telemetry.read()
    }

    #[cfg(feature = "monitor")]
    /// Azure Monitor data, for changing it; the change is noted when the guard drops.
    pub(crate) fn telemetry_mut(&self) -> WriteGuard<'_, MonitorStore> {
        WriteGuard::new(self.telemetry.write(), self.pending.as_deref())
    }

    #[cfg(feature = "persistence")]
    /// The stores as persistence reads them.
    pub(crate) fn stores(&self) -> Stores<'_> {
        Stores {
            directory: &self.directory,
            arm: &self.arm,
            telemetry: &self.telemetry,
            clock: &self.clock,
        }
    }

    #[cfg(feature = "persistence")]
    /// The persistence under `--data-dir`, if any.
    pub(crate) fn persistence(&self) -> Option<&Arc<Persistence>> {
        self.persist.as_ref()
    }

    #[cfg(feature = "persistence")]
    /// Writes whatever is not on disk yet, as a snapshot (at shutdown; blocking). Without
    /// a data directory, does nothing.
    pub(crate) fn flush(&self) -> Result<(), crate::persist::PersistError> {
        match &self.persist {
            Some(p) => p.flush(self.stores()),
            None => Ok(()),
        }
    }

    #[cfg(feature = "persistence")]
    /// Makes every change up to `until` durable (blocking; see [`Persistence::commit`]).
    /// Without a data directory, does nothing.
    pub(crate) fn commit(&self, until: Mark) -> Result<(), crate::persist::PersistError> {
        match &self.persist {
            Some(p) => p.commit(self.stores(), until),
            None => Ok(()),
        }
    }

    /// Validates a bearer token of this emulator (signature, issuer, tenant, lifetime),
    /// remembering tokens already seen. The audience is the caller's to check.
    pub(crate) fn validate_token(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Claims>, TokenError> {
        self.tokens.validate(
            token,
            &self.keys,
            &self.instance_tag,
            &self.config.tenant_id,
            now,
        )
    }

    /// Whether `principal` may perform `action` (a data action when `data_action`) at
    /// `scope` as `plane` sees role assignments at `now` — the check every data plane makes.
    /// A scope that does not parse allows nothing.
    pub(crate) fn authorize(
        &self,
        principal: &Uuid,
        scope: &str,
        action: &str,
        data_action: bool,
        plane: Plane,
        now: OffsetDateTime,
    ) -> bool {
        let Ok(scope) = Scope::parse(scope) else {
            return false;
        };
        self.arm
            .read()
            .authz
            .is_allowed(principal, &scope, action, data_action, plane, now)
    }
}

/// A store's write lock that notes, when dropped, the mark of the changes made under it in
/// the request's [`Pending`]. The store's last mark is compared before and after: under the
/// write lock, only this guard's holder can have moved it.
pub(crate) struct WriteGuard<'a, T: Tracked> {
    guard: RwLockWriteGuard<'a, T>,
    pending: Option<&'a Pending>,
    before: Mark,
}

impl<'a, T: Tracked> WriteGuard<'a, T> {
    fn new(guard: RwLockWriteGuard<'a, T>, pending: Option<&'a Pending>) -> Self {
        let before = guard.last_mark();
        Self {
            guard,
            pending,
            before,
        }
    }
}

impl<T: Tracked> std::ops::Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: Tracked> std::ops::DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: Tracked> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        let after = self.guard.last_mark();
        if after != self.before
            && let Some(p) = self.pending
        {
            p.note(after);
        }
    }
}

impl<T: Tracked + std::fmt::Debug> std::fmt::Debug for WriteGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteGuard")
            .field("before", &self.before)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_ADMIN_OBJECT_ID;

    #[test]
    fn the_bootstrap_admin_owns_the_default_subscription_but_holds_no_data_action() {
        let config = Config::default();
        let scope = format!(
            "/subscriptions/{}/resourceGroups/any",
            config.subscription_id
        );
        let keys = KeyRing::new(None).expect("keys");
        let state = AppState::new(config, "http://localhost".into(), keys);
        let now = state.clock.now();
        let admin = DEFAULT_ADMIN_OBJECT_ID;
        let read = "Microsoft.Resources/subscriptions/resourceGroups/read";
        assert!(state.authorize(&admin, &scope, read, false, Plane::Arm, now));
        let publish = "Microsoft.Insights/Metrics/Write";
        assert!(!state.authorize(&admin, &scope, publish, true, Plane::Metrics, now));
        assert!(!state.authorize(&admin, "not a scope", read, false, Plane::Arm, now));
    }
}

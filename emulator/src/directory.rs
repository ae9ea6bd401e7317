//! The tenant's directory: applications, their password credentials, and service principals.
//!
//! Pure domain data with no HTTP in it. Graph renders these objects; the token endpoint
//! authenticates clients against them.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Deref, DerefMut};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::{Uuid, uuid};

use crate::changes::{Counter, Mark, Tracker};
use crate::config::Secret;
use crate::credentials::KeyCredential;
use crate::federation::FederatedCredential;
use crate::secret::{self, SecretHash};

/// App id of Microsoft Graph (the resource that defines `Application.ReadWrite.All`).
pub(crate) const GRAPH_APP_ID: Uuid = uuid!("00000003-0000-0000-c000-000000000000");

/// Values of `signInAudience` (the supported account types).
pub(crate) const SIGN_IN_AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

/// A client secret as stored: metadata plus the salted hash, never the value.
#[derive(Debug, Clone)]
pub(crate) struct PasswordCredential {
    /// Credential id.
    pub(crate) key_id: Uuid,
    /// Optional description.
    pub(crate) display_name: Option<String>,
    /// First three characters of the secret.
    pub(crate) hint: String,
    /// Valid from.
    pub(crate) start: OffsetDateTime,
    /// Valid until.
    pub(crate) end: OffsetDateTime,
    /// Salted hash of the value.
    pub(crate) hash: SecretHash,
}

/// What applications and service principals both carry; each derefs to it, so `app.id` reads
/// the common part.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    /// Object id (for a service principal, the `oid` of its tokens and the `principalId` of
    /// its role assignments).
    pub(crate) id: Uuid,
    /// Application (client) id.
    pub(crate) app_id: Uuid,
    /// Display name (a service principal's is its application's).
    pub(crate) display_name: String,
    /// Creation time.
    pub(crate) created: OffsetDateTime,
    /// Other Graph properties set by clients (`description`, `web`, `tags`, `notes`, …),
    /// rendered over Graph's defaults.
    pub(crate) props: Map<String, Value>,
    /// When it was deleted (it is then in deleted items).
    pub(crate) deleted: Option<OffsetDateTime>,
    /// Position in creation order, set by the directory.
    pub(crate) seq: u64,
    /// App id of the client that created it (Graph's `createdByAppId`).
    pub(crate) created_by_app_id: Option<Uuid>,
}

impl Object {
    fn new(id: Uuid, app_id: Uuid, display_name: String, created: OffsetDateTime) -> Self {
        Self {
            id,
            app_id,
            display_name,
            created,
            props: Map::new(),
            deleted: None,
            seq: 0,
            created_by_app_id: None,
        }
    }
}

/// An application registration.
#[derive(Debug, Clone)]
pub(crate) struct Application {
    /// Ids, name and the directory's bookkeeping.
    pub(crate) object: Object,
    /// Who may sign in.
    pub(crate) sign_in_audience: String,
    /// Application ID URIs (resource identifiers other apps request tokens for).
    pub(crate) identifier_uris: Vec<String>,
    /// `api.requestedAccessTokenVersion`: the token format issued for this app as a resource.
    pub(crate) requested_access_token_version: Option<i64>,
    /// Client secrets.
    pub(crate) password_credentials: Vec<PasswordCredential>,
    /// Certificates (`keyCredentials`).
    pub(crate) key_credentials: Vec<KeyCredential>,
    /// Federated identity credentials.
    pub(crate) federated_credentials: Vec<FederatedCredential>,
    /// Object ids of its owners (service principals).
    pub(crate) owners: Vec<Uuid>,
}

/// An app role held by a service principal on some resource (an appRoleAssignment).
#[derive(Debug, Clone)]
pub(crate) struct AppRoleGrant {
    /// App id of the resource defining the role.
    pub(crate) resource_app_id: Uuid,
    /// The role's value, as it appears in the `roles` claim.
    pub(crate) value: String,
}

/// A service principal: an application's identity in the tenant.
#[derive(Debug, Clone)]
pub(crate) struct ServicePrincipal {
    /// Ids, name and the directory's bookkeeping.
    pub(crate) object: Object,
    /// Whether sign-in is enabled.
    pub(crate) account_enabled: bool,
    /// App roles granted to it.
    pub(crate) app_roles: Vec<AppRoleGrant>,
}

impl Application {
    /// A new registration with Graph's defaults and no credentials.
    pub(crate) fn new(
        id: Uuid,
        app_id: Uuid,
        display_name: impl Into<String>,
        created: OffsetDateTime,
    ) -> Self {
        Self {
            object: Object::new(id, app_id, display_name.into(), created),
            sign_in_audience: "AzureADandPersonalMicrosoftAccount".to_owned(),
            identifier_uris: Vec::new(),
            requested_access_token_version: Some(2),
            password_credentials: Vec::new(),
            key_credentials: Vec::new(),
            federated_credentials: Vec::new(),
            owners: Vec::new(),
        }
    }
}

impl ServicePrincipal {
    /// A new, enabled service principal for `app_id` holding no app roles.
    pub(crate) fn new(
        id: Uuid,
        app_id: Uuid,
        display_name: impl Into<String>,
        created: OffsetDateTime,
    ) -> Self {
        Self {
            object: Object::new(id, app_id, display_name.into(), created),
            account_enabled: true,
            app_roles: Vec::new(),
        }
    }

    /// The values of the app roles it holds on the resource `resource_app_id` (its tokens'
    /// `roles` claim for that resource).
    pub(crate) fn roles_on(&self, resource_app_id: Uuid) -> Vec<String> {
        (self.app_roles.iter())
            .filter(|r| r.resource_app_id == resource_app_id)
            .map(|r| r.value.clone())
            .collect()
    }
}

/// Both kinds read and write their common part as if it were their own fields.
macro_rules! deref_to_object {
    ($($ty:ty),*) => {$(
        impl Deref for $ty {
            type Target = Object;
            fn deref(&self) -> &Object {
                &self.object
            }
        }
        impl DerefMut for $ty {
            fn deref_mut(&mut self) -> &mut Object {
                &mut self.object
            }
        }
    )*};
}
deref_to_object!(Application, ServicePrincipal);

/// How long deleted objects stay restorable.
pub(crate) const DELETED_RETENTION: time::Duration = time::Duration::days(30);

/// Why a directory change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DirError {
    /// No live object with that id.
    NotFound(Uuid),
    /// The app already has a service principal.
    DuplicateServicePrincipal(Uuid),
    /// No application (visible yet) with that app id.
    NoBackingApplication(Uuid),
    /// The application has no password credential with that key id.
    KeyNotFound(Uuid),
    /// Another application already uses that identifier URI.
    DuplicateIdentifierUri(String),
}

/// Sequence numbers and change tracking, shared by the directory's tables.
#[derive(Debug, Default, Clone)]
struct Stamps {
    next_seq: u64,
    /// Object ids changed since persistence last looked (`None`: not persisted).
    track: Option<Tracker<Uuid>>,
}

impl Stamps {
    fn touch(&mut self, id: Uuid) {
        if let Some(t) = &mut self.track {
            t.mark(id);
        }
    }

    fn next(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

/// One kind of directory object: live ones by object id, indexed by app id and listed in
/// creation order; deleted ones kept apart until purged.
#[derive(Debug, Clone)]
struct Table<T> {
    live: HashMap<Uuid, T>,
    by_app_id: HashMap<Uuid, Uuid>,
    order: BTreeMap<u64, Uuid>,
    deleted: HashMap<Uuid, T>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            live: HashMap::new(),
            by_app_id: HashMap::new(),
            order: BTreeMap::new(),
            deleted: HashMap::new(),
        }
    }
}

impl<T: DerefMut<Target = Object>> Table<T> {
    /// Adds a live object under a fresh sequence number.
    fn insert(&mut self, mut obj: T, stamps: &mut Stamps) {
        obj.seq = stamps.next();
        stamps.touch(obj.id);
        self.index(obj);
    }

    /// Adds a live object keeping its sequence number.
    fn index(&mut self, obj: T) {
        self.by_app_id.insert(obj.app_id, obj.id);
        self.order.insert(obj.seq, obj.id);
        self.live.insert(obj.id, obj);
    }

    /// Removes a live object and its index entries.
    fn unindex(&mut self, id: &Uuid) -> Option<T> {
        let obj = self.live.remove(id)?;
        if self.by_app_id.get(&obj.app_id) == Some(id) {
            self.by_app_id.remove(&obj.app_id);
        }
        self.order.remove(&obj.seq);
        Some(obj)
    }

    fn get_mut(&mut self, id: &Uuid, stamps: &mut Stamps) -> Option<&mut T> {
        stamps.touch(*id);
        self.live.get_mut(id)
    }

    fn by_app_id(&self, app_id: &Uuid) -> Option<&T> {
        self.by_app_id.get(app_id).and_then(|id| self.live.get(id))
    }

    fn after(&self, after: u64) -> impl Iterator<Item = (u64, &T)> {
        self.order
            .range(after.saturating_add(1)..)
            .filter_map(|(seq, id)| self.live.get(id).map(|o| (*seq, o)))
    }

    /// Moves a live object to deleted items.
    fn delete(
        &mut self,
        id: &Uuid,
        now: OffsetDateTime,
        stamps: &mut Stamps,
    ) -> Result<(), DirError> {
        let mut obj = self.unindex(id).ok_or(DirError::NotFound(*id))?;
        obj.deleted = Some(now);
        stamps.touch(*id);
        self.deleted.insert(*id, obj);
        Ok(())
    }

    /// Brings a deleted object back as a new live one.
    fn undelete(&mut self, id: &Uuid, stamps: &mut Stamps) -> Result<(), DirError> {
        let mut obj = self.deleted.remove(id).ok_or(DirError::NotFound(*id))?;
        obj.deleted = None;
        self.insert(obj, stamps);
        Ok(())
    }

    /// Deleted objects, oldest deletion first.
    fn deleted_in_order(&self) -> Vec<&T> {
        let mut v: Vec<_> = self.deleted.values().collect();
        v.sort_by_key(|o| (o.deleted, o.seq));
        v
    }

    /// Ids of deleted objects not deleted after `before`.
    fn deleted_before(&self, before: OffsetDateTime) -> impl Iterator<Item = Uuid> + '_ {
        (self.deleted.values())
            .filter(move |o| o.deleted.is_none_or(|d| d <= before))
            .map(|o| o.id)
    }

    /// The object with this id, live or deleted.
    fn any(&self, id: &Uuid) -> Option<&T> {
        self.live.get(id).or_else(|| self.deleted.get(id))
    }

    /// Every object, live then deleted.
    fn all(&self) -> impl Iterator<Item = &T> {
        self.live.values().chain(self.deleted.values())
    }

    /// Forgets the object with this id, live or deleted.
    fn forget(&mut self, id: &Uuid) {
        self.unindex(id);
        self.deleted.remove(id);
    }

    /// Puts back an object as persisted, live or deleted, keeping its sequence number.
    fn load(&mut self, obj: T) {
        if obj.deleted.is_some() {
            self.deleted.insert(obj.id, obj);
        } else {
            self.index(obj);
        }
    }
}

/// Applications and service principals, indexed by object id and by app id, listed in
/// creation order; deleted objects kept apart until purged.
#[derive(Debug, Default, Clone)]
pub(crate) struct Directory {
    apps: Table<Application>,
    sps: Table<ServicePrincipal>,
    stamps: Stamps,
}

impl Directory {
    /// Adds an application (the caller guarantees fresh ids).
    pub(crate) fn insert_app(&mut self, app: Application) {
        self.apps.insert(app, &mut self.stamps);
    }

    /// Adds a service principal (the caller guarantees fresh ids, one per app).
    pub(crate) fn insert_sp(&mut self, sp: ServicePrincipal) {
        self.sps.insert(sp, &mut self.stamps);
    }

    /// Number of live applications and service principals.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.apps.live.len(), self.sps.live.len())
    }

    /// The application with this object id.
    pub(crate) fn app(&self, id: &Uuid) -> Option<&Application> {
        self.apps.live.get(id)
    }

    /// The service principal with this object id.
    pub(crate) fn sp(&self, id: &Uuid) -> Option<&ServicePrincipal> {
        self.sps.live.get(id)
    }

    /// The application with this object id, for changing it. Keep `identifier_uris` unique
    /// with [`Directory::identifier_uri_taken`] before changing them.
    pub(crate) fn app_mut(&mut self, id: &Uuid) -> Option<&mut Application> {
        self.apps.get_mut(id, &mut self.stamps)
    }

    /// The service principal with this object id, for changing it.
    pub(crate) fn sp_mut(&mut self, id: &Uuid) -> Option<&mut ServicePrincipal> {
        self.sps.get_mut(id, &mut self.stamps)
    }

    /// The application with this client id.
    pub(crate) fn app_by_app_id(&self, app_id: &Uuid) -> Option<&Application> {
        self.apps.by_app_id(app_id)
    }

    /// The service principal of this client id.
    pub(crate) fn sp_by_app_id(&self, app_id: &Uuid) -> Option<&ServicePrincipal> {
        self.sps.by_app_id(app_id)
    }

    /// Live applications in creation order, starting after sequence number `after`.
    pub(crate) fn apps_after(&self, after: u64) -> impl Iterator<Item = (u64, &Application)> {
        self.apps.after(after)
    }

    /// Live service principals in creation order, starting after sequence number `after`.
    pub(crate) fn sps_after(&self, after: u64) -> impl Iterator<Item = (u64, &ServicePrincipal)> {
        self.sps.after(after)
    }

    /// Applications exposing `uri` (case-insensitive) as an identifier URI.
    pub(crate) fn app_by_identifier_uri(&self, uri: &str) -> Option<&Application> {
        let uri = uri.trim_end_matches('/');
        self.apps.live.values().find(|a| {
            a.identifier_uris
                .iter()
                .any(|u| u.trim_end_matches('/').eq_ignore_ascii_case(uri))
        })
    }

    /// Whether an application other than `except` uses one of `uris`.
    pub(crate) fn identifier_uri_taken(
        &self,
        uris: &[String],
        except: Option<&Uuid>,
    ) -> Option<String> {
        uris.iter()
            .find(|u| {
                self.app_by_identifier_uri(u)
                    .is_some_and(|a| Some(&a.id) != except)
            })
            .cloned()
    }

    /// Why a service principal for `app_id` may not be created or restored now, if it may not.
    fn sp_refused(&self, app_id: Uuid) -> Option<DirError> {
        if self.app_by_app_id(&app_id).is_none() {
            return Some(DirError::NoBackingApplication(app_id));
        }
        (self.sps.by_app_id.contains_key(&app_id))
            .then_some(DirError::DuplicateServicePrincipal(app_id))
    }

    /// Creates a service principal for an existing application.
    pub(crate) fn create_sp(&mut self, sp: ServicePrincipal) -> Result<(), DirError> {
        if let Some(e) = self.sp_refused(sp.app_id) {
            return Err(e);
        }
        self.insert_sp(sp);
        Ok(())
    }

    /// Moves an application and its service principal to deleted items, as Graph does.
    pub(crate) fn delete_app(&mut self, id: &Uuid, now: OffsetDateTime) -> Result<(), DirError> {
        let app_id = self.app(id).ok_or(DirError::NotFound(*id))?.app_id;
        if let Some(sp_id) = self.sps.by_app_id.get(&app_id).copied() {
            self.delete_sp(&sp_id, now)?;
        }
        self.apps.delete(id, now, &mut self.stamps)
    }

    /// Moves a service principal to deleted items.
    pub(crate) fn delete_sp(&mut self, id: &Uuid, now: OffsetDateTime) -> Result<(), DirError> {
        self.sps.delete(id, now, &mut self.stamps)
    }

    /// Drops deleted objects older than the retention period.
    pub(crate) fn purge_expired(&mut self, now: OffsetDateTime) {
        let before = now - DELETED_RETENTION;
        let expired: Vec<Uuid> = (self.apps.deleted_before(before))
            .chain(self.sps.deleted_before(before))
            .collect();
        for id in expired {
            self.apps.deleted.remove(&id);
            self.sps.deleted.remove(&id);
            self.stamps.touch(id);
        }
    }

    /// Deleted applications, oldest deletion first.
    pub(crate) fn deleted_apps(&self) -> Vec<&Application> {
        self.apps.deleted_in_order()
    }

    /// Deleted service principals, oldest deletion first.
    pub(crate) fn deleted_sps(&self) -> Vec<&ServicePrincipal> {
        self.sps.deleted_in_order()
    }

    /// A deleted application.
    pub(crate) fn deleted_app(&self, id: &Uuid) -> Option<&Application> {
        self.apps.deleted.get(id)
    }

    /// A deleted service principal.
    pub(crate) fn deleted_sp(&self, id: &Uuid) -> Option<&ServicePrincipal> {
        self.sps.deleted.get(id)
    }

    /// Restores a deleted application (its service principal stays deleted, as in Graph) or a
    /// deleted service principal (whose application must be live and without another one).
    pub(crate) fn restore(&mut self, id: &Uuid) -> Result<(), DirError> {
        if let Some(app) = self.apps.deleted.get(id) {
            if self.apps.by_app_id.contains_key(&app.app_id) {
                return Err(DirError::NotFound(*id));
            }
            if let Some(uri) = self.identifier_uri_taken(&app.identifier_uris, None) {
                return Err(DirError::DuplicateIdentifierUri(uri));
            }
            return self.apps.undelete(id, &mut self.stamps);
        }
        if let Some(sp) = self.sps.deleted.get(id) {
            if let Some(e) = self.sp_refused(sp.app_id) {
                return Err(e);
            }
            return self.sps.undelete(id, &mut self.stamps);
        }
        Err(DirError::NotFound(*id))
    }

    /// Removes a deleted object for good.
    pub(crate) fn purge(&mut self, id: &Uuid) -> Result<(), DirError> {
        if self.apps.deleted.remove(id).is_some() || self.sps.deleted.remove(id).is_some() {
            self.stamps.touch(*id);
            Ok(())
        } else {
            Err(DirError::NotFound(*id))
        }
    }

    /// Adds a new client secret to application `id`, valid from `start` to `end`. The value
    /// is generated here and returned once, for the caller to show; only its hint and
    /// salted hash are kept. Graph's `addPassword` and the portal both add secrets this way.
    pub(crate) fn add_password(
        &mut self,
        id: &Uuid,
        display_name: Option<String>,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<(PasswordCredential, Secret), DirError> {
        let app = self.apps.live.get_mut(id).ok_or(DirError::NotFound(*id))?;
        let value = secret::generate();
        let credential = PasswordCredential {
            key_id: Uuid::new_v4(),
            display_name,
            hint: secret::hint(&value),
            start,
            end,
            hash: SecretHash::new(&value),
        };
        app.password_credentials.push(credential.clone());
        self.stamps.touch(*id);
        Ok((credential, Secret::new(value)))
    }

    /// Removes the password credential `key_id` from application `id`.
    pub(crate) fn remove_password(&mut self, id: &Uuid, key_id: &Uuid) -> Result<(), DirError> {
        let app = self.apps.live.get_mut(id).ok_or(DirError::NotFound(*id))?;
        let before = app.password_credentials.len();
        app.password_credentials.retain(|c| &c.key_id != key_id);
        if app.password_credentials.len() == before {
            return Err(DirError::KeyNotFound(*key_id));
        }
        self.stamps.touch(*id);
        Ok(())
    }

    /// Starts recording which objects change, for persistence (see [`crate::persist`]).
    pub(crate) fn track(&mut self, counter: Counter) {
        self.stamps.track = Some(Tracker::new(counter));
    }

    /// The ids of the objects changed since the last call.
    pub(crate) fn take_changed(&mut self) -> Vec<Uuid> {
        (self.stamps.track.as_mut())
            .map(Tracker::take)
            .unwrap_or_default()
    }

    /// The object with this id, live or deleted.
    pub(crate) fn object(&self, id: &Uuid) -> Option<StoredObject<'_>> {
        (self.apps.any(id).map(StoredObject::Application))
            .or_else(|| self.sps.any(id).map(StoredObject::ServicePrincipal))
    }

    /// Every object, live and deleted.
    pub(crate) fn objects(&self) -> impl Iterator<Item = StoredObject<'_>> {
        (self.apps.all().map(StoredObject::Application))
            .chain(self.sps.all().map(StoredObject::ServicePrincipal))
    }

    /// Forgets the object with this id wherever it is (persistence replay).
    pub(crate) fn forget(&mut self, id: &Uuid) {
        self.apps.forget(id);
        self.sps.forget(id);
    }

    /// Puts back an application as persisted, keeping its sequence number (replay).
    pub(crate) fn load_app(&mut self, app: Application) {
        self.forget(&app.id);
        self.stamps.next_seq = self.stamps.next_seq.max(app.seq);
        self.apps.load(app);
    }

    /// Puts back a service principal as persisted, keeping its sequence number (replay).
    pub(crate) fn load_sp(&mut self, sp: ServicePrincipal) {
        self.forget(&sp.id);
        self.stamps.next_seq = self.stamps.next_seq.max(sp.seq);
        self.sps.load(sp);
    }
}

/// An application or service principal, live or deleted (as persistence stores it and Graph
/// lists directory objects).
#[derive(Debug, Clone, Copy)]
pub(crate) enum StoredObject<'a> {
    /// An application, live or deleted.
    Application(&'a Application),
    /// A service principal, live or deleted.
    ServicePrincipal(&'a ServicePrincipal),
}

impl crate::changes::Tracked for Directory {
    /// The mark of the last change recorded (see [`crate::changes`]).
    fn last_mark(&self) -> Mark {
        self.stamps.track.as_ref().map_or(Mark::NONE, Tracker::last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn app(name: &str) -> Application {
        Application::new(Uuid::new_v4(), Uuid::new_v4(), name, now())
    }

    #[test]
    fn deleting_an_app_deletes_its_sp_and_restore_brings_back_only_the_app() {
        let mut dir = Directory::default();
        let a = app("a");
        let (id, app_id) = (a.id, a.app_id);
        dir.insert_app(a);
        let sp = ServicePrincipal::new(Uuid::new_v4(), app_id, "a", now());
        let sp_id = sp.id;
        dir.create_sp(sp).expect("sp");
        dir.delete_app(&id, now()).expect("delete");
        assert!(dir.app(&id).is_none() && dir.sp(&sp_id).is_none());
        assert_eq!(dir.deleted_apps().len(), 1);
        assert_eq!(dir.deleted_sps().len(), 1);
        assert_eq!(dir.restore(&id), Ok(()));
        assert!(dir.app_by_app_id(&app_id).is_some());
        assert!(dir.sp_by_app_id(&app_id).is_none());
        assert_eq!(dir.restore(&sp_id), Ok(()));
        assert!(dir.sp_by_app_id(&app_id).is_some());
    }

    #[test]
    fn service_principal_rules() {
        let mut dir = Directory::default();
        let a = app("a");
        let app_id = a.app_id;
        let orphan = ServicePrincipal::new(Uuid::new_v4(), Uuid::new_v4(), "x", now());
        assert!(matches!(
            dir.create_sp(orphan),
            Err(DirError::NoBackingApplication(_))
        ));
        dir.insert_app(a);
        dir.create_sp(ServicePrincipal::new(Uuid::new_v4(), app_id, "a", now()))
            .expect("first");
        let again = ServicePrincipal::new(Uuid::new_v4(), app_id, "a", now());
        assert_eq!(
            dir.create_sp(again),
            Err(DirError::DuplicateServicePrincipal(app_id))
        );
    }

    #[test]
    fn listing_is_in_creation_order_and_resumes_after_a_sequence_number() {
        let mut dir = Directory::default();
        for name in ["one", "two", "three"] {
            dir.insert_app(app(name));
        }
        let names: Vec<_> = dir
            .apps_after(0)
            .map(|(_, a)| a.display_name.as_str())
            .collect();
        assert_eq!(names, ["one", "two", "three"]);
        let first = dir.apps_after(0).next().map(|(s, _)| s).expect("seq");
        let rest: Vec<_> = dir
            .apps_after(first)
            .map(|(_, a)| a.display_name.as_str())
            .collect();
        assert_eq!(rest, ["two", "three"]);
    }

    #[test]
    fn deleted_items_expire_after_thirty_days() {
        let mut dir = Directory::default();
        let a = app("a");
        let id = a.id;
        dir.insert_app(a);
        let t = now();
        dir.delete_app(&id, t).expect("delete");
        dir.purge_expired(t + time::Duration::days(29));
        assert_eq!(dir.deleted_apps().len(), 1);
        dir.purge_expired(t + time::Duration::days(31));
        assert!(dir.deleted_apps().is_empty());
        assert_eq!(dir.restore(&id), Err(DirError::NotFound(id)));
    }

    #[test]
    fn added_passwords_keep_only_hint_and_hash() {
        let mut dir = Directory::default();
        let a = app("a");
        let id = a.id;
        dir.insert_app(a);
        let (start, end) = (now(), now() + time::Duration::days(1));
        let (cred, value) = dir
            .add_password(&id, Some("ci".into()), start, end)
            .expect("add");
        let stored = &dir.app(&id).expect("app").password_credentials[0];
        assert_eq!(stored.key_id, cred.key_id);
        assert_eq!(stored.hint, value.expose()[..3]);
        assert!(stored.hash.matches(value.expose()));
        assert_eq!((stored.start, stored.end), (start, end));
        let missing = Uuid::new_v4();
        assert_eq!(
            dir.add_password(&missing, None, start, end).map(|_| ()),
            Err(DirError::NotFound(missing))
        );
    }

    #[test]
    fn remove_password_reports_unknown_keys() {
        let mut dir = Directory::default();
        let a = app("a");
        let id = a.id;
        dir.insert_app(a);
        let key = Uuid::new_v4();
        assert_eq!(
            dir.remove_password(&id, &key),
            Err(DirError::KeyNotFound(key))
        );
    }
}

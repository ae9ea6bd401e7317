//! The tenant's directory: applications, their password credentials, and service principals.
//!
//! Pure domain data with no HTTP in it. Graph renders these objects; the token endpoint
//! authenticates clients against them.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::{Uuid, uuid};

use crate::secret::SecretHash;

/// App id of Microsoft Graph (the resource that defines `Application.ReadWrite.All`).
pub const GRAPH_APP_ID: Uuid = uuid!("00000003-0000-0000-c000-000000000000");

/// A client secret as stored: metadata plus the salted hash, never the value.
#[derive(Debug, Clone)]
pub struct PasswordCredential {
    /// Credential id.
    pub key_id: Uuid,
    /// Optional description.
    pub display_name: Option<String>,
    /// First three characters of the secret.
    pub hint: String,
    /// Valid from.
    pub start: OffsetDateTime,
    /// Valid until.
    pub end: OffsetDateTime,
    /// Salted hash of the value.
    pub hash: SecretHash,
}

/// An application registration.
#[derive(Debug, Clone)]
pub struct Application {
    /// Object id.
    pub id: Uuid,
    /// Application (client) id.
    pub app_id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Who may sign in.
    pub sign_in_audience: String,
    /// Application ID URIs (resource identifiers other apps request tokens for).
    pub identifier_uris: Vec<String>,
    /// `api.requestedAccessTokenVersion`: the token format issued for this app as a resource.
    pub requested_access_token_version: Option<i64>,
    /// Client secrets.
    pub password_credentials: Vec<PasswordCredential>,
}

/// An app role held by a service principal on some resource (an appRoleAssignment).
#[derive(Debug, Clone)]
pub struct AppRoleGrant {
    /// App id of the resource defining the role.
    pub resource_app_id: Uuid,
    /// The role's value, as it appears in the `roles` claim.
    pub value: String,
}

/// A service principal: an application's identity in the tenant.
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    /// Object id (the `oid` of its tokens, the `principalId` of its role assignments).
    pub id: Uuid,
    /// The application's client id.
    pub app_id: Uuid,
    /// Display name (the application's).
    pub display_name: String,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Whether sign-in is enabled.
    pub account_enabled: bool,
    /// App roles granted to it.
    pub app_roles: Vec<AppRoleGrant>,
}

impl Application {
    /// A new registration with Graph's defaults and no credentials.
    pub fn new(
        id: Uuid,
        app_id: Uuid,
        display_name: impl Into<String>,
        created: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            app_id,
            display_name: display_name.into(),
            created,
            sign_in_audience: "AzureADandPersonalMicrosoftAccount".to_owned(),
            identifier_uris: Vec::new(),
            requested_access_token_version: Some(2),
            password_credentials: Vec::new(),
        }
    }
}

impl ServicePrincipal {
    /// A new, enabled service principal for `app_id` holding no app roles.
    pub fn new(
        id: Uuid,
        app_id: Uuid,
        display_name: impl Into<String>,
        created: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            app_id,
            display_name: display_name.into(),
            created,
            account_enabled: true,
            app_roles: Vec::new(),
        }
    }
}

/// Applications and service principals, indexed by object id and by app id.
#[derive(Debug, Default, Clone)]
pub struct Directory {
    apps: HashMap<Uuid, Application>,
    app_ids: HashMap<Uuid, Uuid>,
    sps: HashMap<Uuid, ServicePrincipal>,
    sp_ids: HashMap<Uuid, Uuid>,
}

impl Directory {
    /// Adds an application (the caller guarantees fresh ids).
    pub fn insert_app(&mut self, app: Application) {
        self.app_ids.insert(app.app_id, app.id);
        self.apps.insert(app.id, app);
    }

    /// Adds a service principal (the caller guarantees fresh ids, one per app).
    pub fn insert_sp(&mut self, sp: ServicePrincipal) {
        self.sp_ids.insert(sp.app_id, sp.id);
        self.sps.insert(sp.id, sp);
    }

    /// The application with this client id.
    pub fn app_by_app_id(&self, app_id: &Uuid) -> Option<&Application> {
        self.app_ids.get(app_id).and_then(|id| self.apps.get(id))
    }

    /// The service principal of this client id.
    pub fn sp_by_app_id(&self, app_id: &Uuid) -> Option<&ServicePrincipal> {
        self.sp_ids.get(app_id).and_then(|id| self.sps.get(id))
    }

    /// The service principal with this object id.
    pub fn sp(&self, id: &Uuid) -> Option<&ServicePrincipal> {
        self.sps.get(id)
    }

    /// Applications exposing `uri` (case-insensitive) as an identifier URI.
    pub fn app_by_identifier_uri(&self, uri: &str) -> Option<&Application> {
        let uri = uri.trim_end_matches('/');
        self.apps.values().find(|a| {
            a.identifier_uris
                .iter()
                .any(|u| u.trim_end_matches('/').eq_ignore_ascii_case(uri))
        })
    }
}

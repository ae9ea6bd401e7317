//! Managed identities across the stores: a resource's `identity` checked against ARM's
//! user-assigned identities, the directory's service principals kept in step with the
//! resources they stand for, and tokens handed out for an identity (IMDS and App Service
//! ask here) through the platform's cache.

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use super::arm_error::ArmError;
use crate::first_party;
use crate::managed_identity::{
    self, Attached, IdentityError, Issued, IssuedTokens, USER_ASSIGNED_TYPE, identity_of,
};
use crate::rbac::{Plane, Planes};
use crate::resources::{ArmStore, Resource};
use crate::token::{self, Grant};

/// What the emulator's platform endpoints (IMDS, App Service) keep between requests.
#[derive(Debug)]
pub(crate) struct Platform {
    /// The value App Service puts in `IDENTITY_HEADER`, which requests must send back in
    /// `X-IDENTITY-HEADER`: random per emulator.
    pub(crate) identity_header: String,
    /// The resource the caller runs on (its identities are the ones served by default),
    /// when set.
    pub(crate) host: Option<String>,
    /// Tokens handed out.
    pub(crate) tokens: IssuedTokens,
}

/// The identity an IMDS or App Service request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    /// None named: the host's system-assigned identity (or its only user-assigned one).
    Default,
    /// `client_id`.
    ClientId(String),
    /// `object_id` / `principal_id`.
    ObjectId(String),
    /// `msi_res_id` / `mi_res_id`.
    ResourceId(String),
}

/// Why no token was handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlatformError {
    /// No identity matches, or none is assigned to the host.
    IdentityNotFound,
    /// The resource is not one Entra knows (the requested value).
    UnknownResource(String),
}

/// A token as the platform endpoints answer it.
#[derive(Debug, Clone)]
pub(crate) struct PlatformToken {
    /// The cached or new token.
    pub(crate) issued: Issued,
}

/// One managed identity: principal id, client id, and the resource id `xms_mirid` names.
#[derive(Debug, Clone)]
struct Candidate {
    principal: Uuid,
    client: Uuid,
    resource: String,
}

/// The `identity` a PUT or PATCH stores for the resource `id`, from the request's `given`
/// (absent: none): a system-assigned identity keeps its principal id across writes, and
/// every user-assigned identity must exist.
pub(crate) fn fill_identity(
    store: &ArmStore,
    existing: Option<&Resource>,
    given: Option<&Value>,
    id: &str,
    tenant: Uuid,
) -> Result<Option<Value>, ArmError> {
    let failed = |inner: String| ArmError::FailedIdentityOperation {
        resource: id.to_owned(),
        inner,
    };
    let request = managed_identity::parse_request(given).map_err(|e| match e {
        IdentityError::Content(m) => ArmError::InvalidRequestContent(m),
        IdentityError::Identity(m) => failed(m),
    })?;
    let Some(request) = request else {
        return Ok(None);
    };
    let system = request.system.then(|| {
        let kept = existing
            .and_then(|r| r.identity.as_ref())
            .and_then(managed_identity::system_principal);
        (kept.unwrap_or_else(Uuid::new_v4), tenant)
    });
    let mut user = Vec::with_capacity(request.user.len());
    for uid in &request.user {
        let found = store
            .resource(uid)
            .filter(|r| r.resource_type.eq_ignore_ascii_case(USER_ASSIGNED_TYPE));
        match found.and_then(|r| {
            Some((
                r.guid_property("principalId")?,
                r.guid_property("clientId")?,
            ))
        }) {
            Some((principal_id, client_id)) => user.push(Attached {
                id: uid.clone(),
                principal_id,
                client_id,
            }),
            // A guess at the service's inner message: no capture was found.
            None => return Err(failed(format!("Resource '{uid}' was not found."))),
        }
    }
    Ok(Some(managed_identity::render(
        &request.type_text,
        system,
        &user,
    )))
}

impl Platform {
    /// A platform running on `host`, with a new identity header and no tokens.
    pub(crate) fn new(host: Option<String>) -> Self {
        Self {
            identity_header: Uuid::new_v4().simple().to_string(),
            host,
            tokens: IssuedTokens::default(),
        }
    }
}

impl AppState {
    /// After `resource` was written (it was `before`): the directory gets a service
    /// principal for each identity it now has and loses those it no longer has.
    pub(crate) fn sync_identities(
        &self,
        resource: &Resource,
        before: Option<&Resource>,
        now: OffsetDateTime,
    ) {
        let mut wanted = Vec::new();
        if resource
            .resource_type
            .eq_ignore_ascii_case(USER_ASSIGNED_TYPE)
            && let (Some(p), Some(c)) = (
                resource.guid_property("principalId"),
                resource.guid_property("clientId"),
            )
        {
            wanted.push((p, c, true));
        }
        if let Some(p) = resource
            .identity
            .as_ref()
            .and_then(managed_identity::system_principal)
        {
            wanted.push((p, Uuid::new_v4(), false));
        }
        if !wanted.is_empty() {
            let mut dir = self.directory_mut();
            for (principal, client, explicit) in wanted {
                if dir.sp(&principal).is_none() {
                    dir.insert_sp(managed_identity::service_principal(
                        principal,
                        client,
                        &resource.name,
                        &resource.id,
                        explicit,
                        now,
                    ));
                }
            }
        }
        if before.is_some_and(|b| b.identity.is_some()) {
            self.sweep_identities(now);
        }
    }

    /// Removes the service principals of managed identities whose resource is gone (or no
    /// longer has that system-assigned identity). Reads the directory, then ARM, then
    /// writes the directory: never two locks at once.
    pub(crate) fn sweep_identities(&self, now: OffsetDateTime) {
        let identities: Vec<(Uuid, String, bool)> = self
            .directory()
            .sps_after(0)
            .filter_map(|(_, sp)| {
                identity_of(sp).map(|(res, explicit)| (sp.id, res.to_owned(), explicit))
            })
            .collect();
        if identities.is_empty() {
            return;
        }
        let gone: Vec<Uuid> = {
            let arm = self.arm();
            identities
                .into_iter()
                .filter(|(id, res, explicit)| {
                    let live = arm.resource(res).is_some_and(|r| {
                        if *explicit {
                            r.properties.get("principalId").and_then(Value::as_str)
                                == Some(id.to_string().as_str())
                        } else {
                            r.identity
                                .as_ref()
                                .and_then(managed_identity::system_principal)
                                == Some(*id)
                        }
                    });
                    !live
                })
                .map(|(id, _, _)| id)
                .collect()
        };
        if gone.is_empty() {
            return;
        }
        let mut dir = self.directory_mut();
        for id in gone {
            // Removed for good: a managed identity is not restorable from deleted items.
            if dir.delete_sp(&id, now).is_ok() {
                let _ = dir.purge(&id);
            }
        }
    }

    /// The identities a request may name: the host's, when a host is set; otherwise every
    /// managed identity of the tenant (none by default).
    fn candidates(&self, host: Option<&str>) -> (Vec<Candidate>, Option<Candidate>) {
        let dir = self.directory();
        let all: Vec<Candidate> = dir
            .sps_after(0)
            .filter_map(|(_, sp)| {
                identity_of(sp).map(|(res, _)| Candidate {
                    principal: sp.id,
                    client: sp.app_id,
                    resource: res.to_owned(),
                })
            })
            .collect();
        drop(dir);
        let Some(host) = host else {
            return (all, None);
        };
        let identity = self.arm().resource(host).and_then(|r| r.identity.clone());
        let Some(identity) = identity else {
            return (Vec::new(), None);
        };
        let system = managed_identity::system_principal(&identity)
            .and_then(|p| all.iter().find(|c| c.principal == p).cloned());
        let users: Vec<Candidate> = managed_identity::attached(&identity)
            .into_iter()
            .filter_map(|a| all.iter().find(|c| c.principal == a.principal_id).cloned())
            .collect();
        let default = system
            .clone()
            .or_else(|| (users.len() == 1).then(|| users[0].clone()));
        let mut served: Vec<Candidate> = system.into_iter().collect();
        served.extend(users);
        (served, default)
    }

    /// A token for the identity `select` names, for `resource`, as the platform hands it
    /// out: the cached one while it lasts, else a new one (24 hours, `appidacr` 2,
    /// `xms_mirid` naming the identity's resource).
    pub(crate) fn platform_token(
        &self,
        select: &Selector,
        resource: &str,
        bases: &[&str],
        now: OffsetDateTime,
    ) -> Result<PlatformToken, PlatformError> {
        let host = self.platform.lock().host.clone();
        let (served, default) = self.candidates(host.as_deref());
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        let chosen = match select {
            Selector::Default => default,
            Selector::ClientId(c) => served.into_iter().find(|x| same(&x.client.to_string(), c)),
            Selector::ObjectId(o) => served
                .into_iter()
                .find(|x| same(&x.principal.to_string(), o)),
            Selector::ResourceId(r) => served.into_iter().find(|x| {
                same(
                    &managed_identity::mi_resource_id(r),
                    &managed_identity::mi_resource_id(&x.resource),
                )
            }),
        }
        .ok_or(PlatformError::IdentityNotFound)?;
        let dir = self.directory();
        let resolved = first_party::resolve(resource, &dir, bases)
            .ok_or_else(|| PlatformError::UnknownResource(resource.to_owned()))?;
        let sp = dir
            .sp(&chosen.principal)
            .ok_or(PlatformError::IdentityNotFound)?;
        let roles = sp.roles_on(resolved.app_id);
        let name = sp.display_name.clone();
        drop(dir);

        let mut platform = self.platform.lock();
        if let Some(cached) = platform.tokens.get(chosen.principal, &resolved.aud, now) {
            return Ok(PlatformToken {
                issued: cached.clone(),
            });
        }
        let mut claims = token::claims(
            Grant {
                version: resolved.version,
                aud: &resolved.aud,
                tenant: &self.config.tenant_id,
                client_id: &chosen.client,
                client_name: &name,
                object_id: &chosen.principal,
                roles,
                instance_tag: &self.instance_tag,
            },
            now,
            managed_identity::TOKEN_LIFETIME,
        );
        // A managed identity authenticates with a platform-held certificate: "2", as in
        // real decoded tokens (research notes §5.8); no display name in its tokens.
        claims.app_displayname = None;
        if claims.appidacr.is_some() {
            claims.appidacr = Some("2".to_owned());
        }
        if claims.azpacr.is_some() {
            claims.azpacr = Some("2".to_owned());
        }
        claims.xms_mirid = Some(managed_identity::mi_resource_id(&chosen.resource));
        let issued = Issued {
            access_token: token::mint(&self.keys.current(), &claims),
            client_id: chosen.client,
            resource_app_id: resolved.app_id,
            not_before: claims.nbf,
            expires_on: claims.exp,
        };
        platform
            .tokens
            .put(chosen.principal, &resolved.aud, issued.clone());
        Ok(PlatformToken { issued })
    }

    /// Per plane, the later of `delays` and the time until the token `principal` holds for
    /// that plane's resource is renewed: a managed identity does not see a role gained
    /// while the platform keeps handing out a token issued before it.
    pub(crate) fn unseen_by_cached_tokens(
        &self,
        principal: &Uuid,
        mut delays: Planes<std::time::Duration>,
        now: OffsetDateTime,
    ) -> Planes<std::time::Duration> {
        let platform = self.platform.lock();
        for plane in Plane::ALL {
            let resource = match plane {
                Plane::Arm => &first_party::ARM,
                Plane::LogAnalytics => &first_party::LOG_ANALYTICS,
                Plane::Metrics => &first_party::MONITORING,
                Plane::AppInsights => &first_party::APP_INSIGHTS,
            };
            if let Some(until) = platform
                .tokens
                .unseen_until(*principal, resource.app_id, now)
            {
                let wait = std::time::Duration::try_from(until - now).unwrap_or_default();
                let slot = &mut delays[plane];
                *slot = (*slot).max(wait);
            }
        }
        delays
    }
}

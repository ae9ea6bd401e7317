//! Managed identities, with no HTTP in them: the `identity` block a resource carries, the
//! service principal that stands for each identity in the directory, and the platform's
//! cache of the tokens it hands out.
//!
//! A *user-assigned* identity is an ARM resource of [`USER_ASSIGNED_TYPE`] whose
//! `properties` hold its `principalId` (the service principal's object id), `clientId` (its
//! app id) and `tenantId`. A *system-assigned* identity belongs to one resource: its
//! `identity.principalId`; it lives and dies with that resource. Either way the directory
//! holds a service principal of `servicePrincipalType: ManagedIdentity` whose
//! `alternativeNames` are `isExplicit=True|False` and the identity's resource id.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::directory::ServicePrincipal;

/// The resource type of user-assigned identities.
pub(crate) const USER_ASSIGNED_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// `servicePrincipalType` of a managed identity's service principal.
pub(crate) const SERVICE_PRINCIPAL_TYPE: &str = "ManagedIdentity";

/// How long a managed identity token lives: a real IMDS answer says `expires_in: "86400"`
/// (research notes §5.4, §0.8).
pub(crate) const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(86_400);

/// How long before its expiry the platform stops handing out a cached token and issues a
/// new one. A guess: the renewal point of the real cache was not found.
pub(crate) const RENEW_BEFORE: time::Duration = time::Duration::minutes(5);

/// A resource id as managed identity objects spell it: `resourcegroups` in lower case, as
/// real `xms_mirid` claims, `alternativeNames` and identity ids show it.
pub(crate) fn mi_resource_id(id: &str) -> String {
    match id.to_ascii_lowercase().find("/resourcegroups/") {
        Some(at) => format!("{}/resourcegroups/{}", &id[..at], &id[at + 16..]),
        None => id.to_owned(),
    }
}

/// The directory object of a managed identity: `id` is its principal id, `app_id` its
/// client id, `resource` the identity's own resource id (user-assigned, `explicit`) or
/// the resource it belongs to (system-assigned).
pub(crate) fn service_principal(
    id: Uuid,
    app_id: Uuid,
    name: &str,
    resource: &str,
    explicit: bool,
    now: OffsetDateTime,
) -> ServicePrincipal {
    let mut sp = ServicePrincipal::new(id, app_id, name, now);
    sp.props
        .insert("servicePrincipalType".into(), json!(SERVICE_PRINCIPAL_TYPE));
    let flag = if explicit {
        "isExplicit=True"
    } else {
        "isExplicit=False"
    };
    sp.props.insert(
        "alternativeNames".into(),
        json!([flag, mi_resource_id(resource)]),
    );
    sp
}

/// The resource a managed identity's service principal stands for, and whether it is a
/// user-assigned identity; `None` for any other service principal.
pub(crate) fn identity_of(sp: &ServicePrincipal) -> Option<(&str, bool)> {
    if sp.props.get("servicePrincipalType")?.as_str()? != SERVICE_PRINCIPAL_TYPE {
        return None;
    }
    let names = sp.props.get("alternativeNames")?.as_array()?;
    let explicit = names.iter().any(|n| n.as_str() == Some("isExplicit=True"));
    let resource = names
        .iter()
        .filter_map(Value::as_str)
        .find(|n| n.starts_with('/'))?;
    Some((resource, explicit))
}

/// What a resource's `identity` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdentityRequest {
    /// A system-assigned identity.
    pub(crate) system: bool,
    /// User-assigned identities' resource ids, as written.
    pub(crate) user: Vec<String>,
    /// `type` as ARM echoes it.
    pub(crate) type_text: String,
}

/// Why an `identity` block is refused: a malformed body (`Content`) or what the managed
/// identity service says (`Identity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdentityError {
    /// Not the shape ARM deserializes.
    Content(String),
    /// The managed identity service's message.
    Identity(String),
}

/// Parses a PUT body's `identity`; `None` when absent, null or of type `None`.
pub(crate) fn parse_request(
    value: Option<&Value>,
) -> Result<Option<IdentityRequest>, IdentityError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(IdentityError::Content(
                "Property 'identity' must be an object".to_owned(),
            ));
        }
    };
    let Some(Value::String(text)) = object.get("type") else {
        return Err(IdentityError::Content(
            "Property 'identity.type' must be a string".to_owned(),
        ));
    };
    let mut system = false;
    let mut user = false;
    let mut none = false;
    for word in text.split(',').map(str::trim) {
        match word.to_ascii_lowercase().as_str() {
            "systemassigned" => system = true,
            "userassigned" => user = true,
            "none" => none = true,
            // A guess: the service's wording for an unknown type was not found.
            _ => {
                return Err(IdentityError::Identity(format!(
                    "Invalid identity type '{text}'."
                )));
            }
        }
    }
    let listed = match object.get("userAssignedIdentities") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.keys().cloned().collect::<Vec<_>>()),
        Some(_) => {
            return Err(IdentityError::Content(
                "Property 'identity.userAssignedIdentities' must be an object".to_owned(),
            ));
        }
    };
    if none && (system || user) {
        return Err(IdentityError::Identity(format!(
            "Invalid identity type '{text}'."
        )));
    }
    // Azure/azure-rest-api-specs#17650 (the service's message, verbatim).
    if !user && listed.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(IdentityError::Identity(
            "The request format was unexpected, a non-UserAssigned identity type should not contain: userAssignedIdentities".to_owned(),
        ));
    }
    if none {
        return Ok(None);
    }
    let user_ids = listed.unwrap_or_default();
    if user && user_ids.is_empty() {
        // A guess: the mirror image of the message above.
        return Err(IdentityError::Identity(
            "The request format was unexpected, a UserAssigned identity type should contain: userAssignedIdentities".to_owned(),
        ));
    }
    let type_text = match (system, user) {
        (true, true) if text.contains(", ") => "SystemAssigned, UserAssigned",
        (true, true) => "SystemAssigned,UserAssigned",
        (true, false) => "SystemAssigned",
        _ => "UserAssigned",
    };
    Ok(Some(IdentityRequest {
        system,
        user: user_ids,
        type_text: type_text.to_owned(),
    }))
}

/// A user-assigned identity attached to a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attached {
    /// Its resource id, as the request wrote it.
    pub(crate) id: String,
    /// Its principal id.
    pub(crate) principal_id: Uuid,
    /// Its client id.
    pub(crate) client_id: Uuid,
}

/// The `identity` ARM shows (common-types v5 `ManagedServiceIdentity`, property order
/// kept): `principalId` and `tenantId` only for a system-assigned identity.
pub(crate) fn render(type_text: &str, system: Option<(Uuid, Uuid)>, user: &[Attached]) -> Value {
    let mut o = Map::new();
    if let Some((principal, tenant)) = system {
        o.insert("principalId".into(), json!(principal));
        o.insert("tenantId".into(), json!(tenant));
    }
    o.insert("type".into(), json!(type_text));
    if !user.is_empty() {
        let map: Map<String, Value> = user
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    json!({"principalId": a.principal_id, "clientId": a.client_id}),
                )
            })
            .collect();
        o.insert("userAssignedIdentities".into(), Value::Object(map));
    }
    Value::Object(o)
}

/// The system-assigned principal id of a stored `identity`.
pub(crate) fn system_principal(identity: &Value) -> Option<Uuid> {
    guid(identity, "principalId")
}

/// A field of a JSON object parsed as a GUID.
fn guid(v: &Value, key: &str) -> Option<Uuid> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// The user-assigned identities of a stored `identity`.
pub(crate) fn attached(identity: &Value) -> Vec<Attached> {
    let Some(Value::Object(map)) = identity.get("userAssignedIdentities") else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(id, v)| {
            Some(Attached {
                id: id.clone(),
                principal_id: guid(v, "principalId")?,
                client_id: guid(v, "clientId")?,
            })
        })
        .collect()
}

/// A token the platform handed out for an identity and a resource.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    /// The signed token.
    pub(crate) access_token: String,
    /// The identity's client id.
    pub(crate) client_id: Uuid,
    /// The resource's app id.
    pub(crate) resource_app_id: Uuid,
    /// `nbf` (Unix seconds).
    pub(crate) not_before: i64,
    /// `exp` (Unix seconds).
    pub(crate) expires_on: i64,
}

impl Issued {
    /// When the platform stops handing this token out and issues a new one.
    pub(crate) fn renew_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.expires_on).unwrap_or(OffsetDateTime::UNIX_EPOCH)
            - RENEW_BEFORE
    }
}

/// The platform's cache of managed identity tokens, per identity and resource: a second
/// request gets the same token back until it is close to expiry, so permissions granted
/// in the meantime are not seen before then (the managed identities FAQ, "Are managed
/// identities tokens cached?").
#[derive(Debug, Default)]
pub(crate) struct IssuedTokens {
    entries: HashMap<(Uuid, String), Issued>,
}

impl IssuedTokens {
    /// The cached token of `principal` for the resource `aud`, while it is handed out.
    pub(crate) fn get(&self, principal: Uuid, aud: &str, now: OffsetDateTime) -> Option<&Issued> {
        self.entries
            .get(&(principal, key(aud)))
            .filter(|t| now < t.renew_at())
    }

    /// Remembers a new token.
    pub(crate) fn put(&mut self, principal: Uuid, aud: &str, token: Issued) {
        self.entries.insert((principal, key(aud)), token);
    }

    /// Until when a permission `principal` gains now on the resource `resource_app_id`
    /// stays unseen: the renewal time of the token it holds for that resource, if any.
    pub(crate) fn unseen_until(
        &self,
        principal: Uuid,
        resource_app_id: Uuid,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        self.entries
            .iter()
            .filter(|((p, _), t)| *p == principal && t.resource_app_id == resource_app_id)
            .map(|(_, t)| t.renew_at())
            .filter(|at| now < *at)
            .max()
    }

    /// Forgets every token (tenant reset).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

fn key(aud: &str) -> String {
    aud.trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_types_parse_as_common_types_spell_them() {
        let parse = |v: Value| parse_request(Some(&v));
        assert_eq!(parse(json!({"type": "None"})), Ok(None));
        let system = parse(json!({"type": "systemassigned"}))
            .expect("ok")
            .expect("some");
        assert!(system.system && system.user.is_empty());
        assert_eq!(system.type_text, "SystemAssigned");
        let id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u";
        let both = parse(
            json!({"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {id: {}}}),
        )
        .expect("ok")
        .expect("some");
        assert_eq!(both.type_text, "SystemAssigned, UserAssigned");
        assert_eq!(both.user, [id]);
        let v5 = parse(
            json!({"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {id: {}}}),
        )
        .expect("ok")
        .expect("some");
        assert_eq!(v5.type_text, "SystemAssigned,UserAssigned");
        assert!(matches!(
            parse(json!({"type": "SystemAssigned", "userAssignedIdentities": {id: {}}})),
            Err(IdentityError::Identity(m)) if m.contains("non-UserAssigned")
        ));
        assert!(matches!(
            parse(json!({"type": "Both"})),
            Err(IdentityError::Identity(_))
        ));
        assert!(matches!(
            parse(json!({"type": 1})),
            Err(IdentityError::Content(_))
        ));
        assert!(matches!(parse(json!("x")), Err(IdentityError::Content(_))));
        assert!(matches!(
            parse(json!({"type": "UserAssigned"})),
            Err(IdentityError::Identity(_))
        ));
    }

    #[test]
    fn identity_ids_use_lower_case_resourcegroups() {
        assert_eq!(
            mi_resource_id("/subscriptions/s/resourceGroups/G/providers/P/t/n"),
            "/subscriptions/s/resourcegroups/G/providers/P/t/n"
        );
    }

    #[test]
    fn service_principals_name_their_identity() {
        let sp = service_principal(
            Uuid::new_v4(),
            Uuid::new_v4(),
            "id1",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a",
            false,
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(
            identity_of(&sp),
            Some((
                "/subscriptions/s/resourcegroups/g/providers/Microsoft.Web/sites/a",
                false
            ))
        );
        let plain = ServicePrincipal::new(
            Uuid::new_v4(),
            Uuid::new_v4(),
            "x",
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(identity_of(&plain), None);
    }

    #[test]
    fn cached_tokens_are_handed_out_until_close_to_expiry() {
        let mut cache = IssuedTokens::default();
        let (p, arm) = (Uuid::new_v4(), Uuid::new_v4());
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1000);
        let exp = (t0 + time::Duration::days(1)).unix_timestamp();
        cache.put(
            p,
            "https://management.azure.com/",
            Issued {
                access_token: "t".into(),
                client_id: Uuid::new_v4(),
                resource_app_id: arm,
                not_before: t0.unix_timestamp(),
                expires_on: exp,
            },
        );
        assert!(cache.get(p, "https://MANAGEMENT.azure.com", t0).is_some());
        let renew = t0 + time::Duration::days(1) - RENEW_BEFORE;
        assert!(
            cache
                .get(p, "https://management.azure.com/", renew)
                .is_none()
        );
        assert_eq!(cache.unseen_until(p, arm, t0), Some(renew));
        assert_eq!(cache.unseen_until(p, Uuid::new_v4(), t0), None);
        assert_eq!(cache.unseen_until(p, arm, renew), None);
    }
}

//! Graph's JSON for applications, service principals and password credentials: every
//! property in the order Graph returns it, with Graph's defaults where nothing was set.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credentials::KeyCredential;
use crate::directory::{Application, PasswordCredential, ServicePrincipal};
use crate::federation::FederatedCredential;

/// Graph's date-time form: seconds, a 7-digit fraction only when there is one, and `Z`.
pub(crate) fn datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.nanosecond() / 100 {
        0 => format!("{base}Z"),
        ticks => format!("{base}.{ticks:07}Z"),
    }
}

/// Graph's defaults for an application, in Graph's order. Keys are the properties a client
/// may read, `$select` and (unless read-only) write.
pub(crate) fn application_template() -> Value {
    json!({
        "id": null, "deletedDateTime": null, "appId": null, "applicationTemplateId": null,
        "disabledByMicrosoftStatus": null, "createdDateTime": null, "displayName": null,
        "description": null, "groupMembershipClaims": null, "identifierUris": [],
        "isDeviceOnlyAuthSupported": null, "isFallbackPublicClient": null,
        "notes": null, "publisherDomain": null, "serviceManagementReference": null,
        "signInAudience": null, "tags": [], "tokenEncryptionKeyId": null,
        "samlMetadataUrl": null, "defaultRedirectUri": null, "certification": null,
        "optionalClaims": null, "servicePrincipalLockConfiguration": null,
        "requestSignatureVerification": null, "addIns": [],
        "api": {"acceptMappedClaims": null, "knownClientApplications": [],
                "requestedAccessTokenVersion": null, "oauth2PermissionScopes": [],
                "preAuthorizedApplications": []},
        "appRoles": [],
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null,
                 "supportUrl": null, "termsOfServiceUrl": null},
        "keyCredentials": [],
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [], "publicClient": {"redirectUris": []},
        "requiredResourceAccess": [],
        "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
        "web": {"homePageUrl": null, "logoutUrl": null, "redirectUris": [],
                "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
                "redirectUriSettings": []},
        "spa": {"redirectUris": []},
    })
}

/// Graph's defaults for a service principal, in Graph's order.
pub(crate) fn service_principal_template() -> Value {
    json!({
        "id": null, "deletedDateTime": null, "accountEnabled": true, "alternativeNames": [],
        "appDisplayName": null, "appDescription": null, "appId": null,
        "applicationTemplateId": null, "appOwnerOrganizationId": null,
        "appRoleAssignmentRequired": false, "createdDateTime": null, "description": null,
        "disabledByMicrosoftStatus": null, "displayName": null, "homepage": null,
        "loginUrl": null, "logoutUrl": null, "notes": null, "notificationEmailAddresses": [],
        "preferredSingleSignOnMode": null, "preferredTokenSigningKeyThumbprint": null,
        "replyUrls": [], "servicePrincipalNames": [], "servicePrincipalType": "Application",
        "signInAudience": null, "tags": [], "tokenEncryptionKeyId": null,
        "samlSingleSignOnSettings": null, "addIns": [], "appRoles": [],
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null,
                 "supportUrl": null, "termsOfServiceUrl": null},
        "keyCredentials": [], "oauth2PermissionScopes": [], "passwordCredentials": [],
        "resourceSpecificApplicationPermissions": [],
        "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
    })
}

/// A password credential as Graph shows it; `secret_text` only in the `addPassword` answer.
pub(crate) fn password_credential(c: &PasswordCredential, secret_text: Option<&str>) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": c.display_name,
        "endDateTime": datetime(c.end),
        "hint": c.hint,
        "keyId": c.key_id,
        "secretText": secret_text,
        "startDateTime": datetime(c.start),
    })
}

/// A certificate as Graph shows it, in Graph's order: `customKeyIdentifier` is the SHA-1
/// thumbprint in upper-case hex and `key` is null unless `with_key` (recorded in Azure/azure-cli
/// `test_create_for_rbac_create_cert.yaml` @ fd3b3d8c).
pub(crate) fn key_credential(k: &KeyCredential, with_key: bool) -> Value {
    json!({
        "customKeyIdentifier": k.cert.thumbprint(),
        "displayName": k.display_name,
        "endDateTime": datetime(k.end),
        "key": with_key.then(|| k.cert.base64()),
        "keyId": k.key_id,
        "startDateTime": datetime(k.start),
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    })
}

/// A federated identity credential as Graph shows it, in Graph's order (recorded in
/// Azure/azure-cli `test_app_federated_credential.yaml` @ 3fde2faa).
pub(crate) fn federated_credential(f: &FederatedCredential) -> Map<String, Value> {
    object(json!({
        "id": f.id,
        "name": f.name,
        "issuer": f.issuer,
        "subject": f.subject,
        "description": f.description,
        "audiences": f.audiences,
    }))
}

/// Lays `props` over `base`: objects merge key by key, anything else replaces.
fn overlay(base: &mut Map<String, Value>, props: &Map<String, Value>) {
    for (k, v) in props {
        match (base.get_mut(k), v) {
            (Some(Value::Object(b)), Value::Object(p)) => overlay(b, p),
            (Some(slot), _) => *slot = v.clone(),
            (None, _) => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The application object.
pub(crate) fn application(app: &Application, publisher_domain: &str) -> Map<String, Value> {
    let mut o = object(application_template());
    overlay(&mut o, &app.props);
    o.insert("id".into(), json!(app.id));
    o.insert("deletedDateTime".into(), json!(app.deleted.map(datetime)));
    o.insert("appId".into(), json!(app.app_id));
    o.insert("createdDateTime".into(), json!(datetime(app.created)));
    o.insert("displayName".into(), json!(app.display_name));
    o.insert("identifierUris".into(), json!(app.identifier_uris));
    o.insert("publisherDomain".into(), json!(publisher_domain));
    o.insert("signInAudience".into(), json!(app.sign_in_audience));
    if let Some(Value::Object(api)) = o.get_mut("api") {
        api.insert(
            "requestedAccessTokenVersion".into(),
            json!(app.requested_access_token_version),
        );
    }
    let creds: Vec<Value> = app
        .password_credentials
        .iter()
        .map(|c| password_credential(c, None))
        .collect();
    o.insert("passwordCredentials".into(), Value::Array(creds));
    let keys = app
        .key_credentials
        .iter()
        .map(|k| key_credential(k, false))
        .collect();
    o.insert("keyCredentials".into(), Value::Array(keys));
    o
}

/// The service principal object; `app` is its live application, when there is one.
pub(crate) fn service_principal(
    sp: &ServicePrincipal,
    app: Option<&Application>,
    tenant: &Uuid,
) -> Map<String, Value> {
    let mut o = object(service_principal_template());
    overlay(&mut o, &sp.props);
    let mut names = vec![sp.app_id.to_string()];
    if let Some(app) = app {
        names.extend(app.identifier_uris.iter().cloned());
        o.insert("signInAudience".into(), json!(app.sign_in_audience));
    }
    o.insert("id".into(), json!(sp.id));
    o.insert("deletedDateTime".into(), json!(sp.deleted.map(datetime)));
    o.insert("accountEnabled".into(), json!(sp.account_enabled));
    o.insert(
        "appDisplayName".into(),
        json!(app.map_or(&sp.display_name, |a| &a.display_name)),
    );
    o.insert("appId".into(), json!(sp.app_id));
    o.insert("appOwnerOrganizationId".into(), json!(tenant));
    // Graph keeps second precision here, unlike the application's 7-digit fraction.
    o.insert(
        "createdDateTime".into(),
        json!(datetime(
            sp.created.replace_nanosecond(0).unwrap_or(sp.created)
        )),
    );
    o.insert("displayName".into(), json!(sp.display_name));
    o.insert("servicePrincipalNames".into(), json!(names));
    o
}

/// Keeps only the `$select`ed properties, in Graph's order.
pub(crate) fn select(object: Map<String, Value>, fields: Option<&[String]>) -> Map<String, Value> {
    match fields {
        None => object,
        Some(fields) => object
            .into_iter()
            .filter(|(k, _)| fields.iter().any(|f| f.eq_ignore_ascii_case(k)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_have_graph_precision() {
        let t = time::macros::datetime!(2023-08-23 12:43:55.3291131 UTC);
        assert_eq!(datetime(t), "2023-08-23T12:43:55.3291131Z");
        let t = time::macros::datetime!(2024-08-23 12:43:54 UTC);
        assert_eq!(datetime(t), "2024-08-23T12:43:54Z");
    }

    #[test]
    fn props_overlay_merges_objects_and_replaces_the_rest() {
        let mut base =
            object(json!({"web": {"redirectUris": [], "homePageUrl": null}, "tags": []}));
        let props = object(json!({"web": {"redirectUris": ["https://x"]}, "tags": ["a"]}));
        overlay(&mut base, &props);
        assert_eq!(
            Value::Object(base),
            json!({"web": {"redirectUris": ["https://x"], "homePageUrl": null}, "tags": ["a"]})
        );
    }
}

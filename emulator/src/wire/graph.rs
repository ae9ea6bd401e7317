//! Microsoft Graph v1.0 directory objects: application, servicePrincipal and
//! passwordCredential, with their properties in the order Graph writes them.
//!
//! Properties the emulator keeps (ids, names, times, credentials) come from the domain
//! object; the ones only clients set (`web`, `api`, `tags`, `notes`, …) come from its
//! `props`, leaf by leaf over Graph's default, so a client's partial object keeps the other
//! defaults.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::directory;

/// Graph's date-time form: seconds, a 7-digit fraction only when there is one, and `Z`.
pub(crate) fn datetime(t: OffsetDateTime) -> String {
    let base = crate::clock::whole_seconds(t);
    match t.nanosecond() / 100 {
        0 => format!("{base}Z"),
        ticks => format!("{base}.{ticks:07}Z"),
    }
}

/// A view of client-set properties: a missing key reads as Graph's default.
#[derive(Clone, Copy)]
struct Props<'a>(Option<&'a Map<String, Value>>);

impl<'a> Props<'a> {
    /// The nested object `key` (absent when the client set none).
    fn child(self, key: &str) -> Props<'a> {
        Props(self.0.and_then(|m| m.get(key)).and_then(Value::as_object))
    }

    fn get(self, key: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(key))
    }

    /// The value set for `key`, else `null`.
    fn or_null(self, key: &str) -> Value {
        self.get(key).cloned().unwrap_or(Value::Null)
    }

    /// The value set for `key`, else an empty collection.
    fn or_empty(self, key: &str) -> Value {
        self.get(key)
            .cloned()
            .unwrap_or_else(|| Value::Array(Vec::new()))
    }

    /// The value set for `key`, else `default`.
    fn or(self, key: &str, default: Value) -> Value {
        self.get(key).cloned().unwrap_or(default)
    }
}

/// The `info` complex type of applications and service principals.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct InformationalUrl {
    logo_url: Value,
    marketing_url: Value,
    privacy_statement_url: Value,
    support_url: Value,
    terms_of_service_url: Value,
}

impl InformationalUrl {
    fn new(p: Props<'_>) -> Self {
        Self {
            logo_url: p.or_null("logoUrl"),
            marketing_url: p.or_null("marketingUrl"),
            privacy_statement_url: p.or_null("privacyStatementUrl"),
            support_url: p.or_null("supportUrl"),
            terms_of_service_url: p.or_null("termsOfServiceUrl"),
        }
    }
}

/// The `verifiedPublisher` complex type (no publisher is ever verified here).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifiedPublisher {
    display_name: Value,
    verified_publisher_id: Value,
    added_date_time: Value,
}

impl VerifiedPublisher {
    fn new(p: Props<'_>) -> Self {
        Self {
            display_name: p.or_null("displayName"),
            verified_publisher_id: p.or_null("verifiedPublisherId"),
            added_date_time: p.or_null("addedDateTime"),
        }
    }
}

/// An application's `api`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiApplication {
    accept_mapped_claims: Value,
    known_client_applications: Value,
    requested_access_token_version: Option<i64>,
    oauth2_permission_scopes: Value,
    pre_authorized_applications: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ParentalControlSettings {
    countries_blocked_for_minors: Value,
    legal_age_group_rule: Value,
}

/// `publicClient` and `spa`: redirect URIs only.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct RedirectUris {
    redirect_uris: Value,
}

impl RedirectUris {
    fn new(p: Props<'_>) -> Self {
        Self {
            redirect_uris: p.or_empty("redirectUris"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct WebApplication {
    home_page_url: Value,
    logout_url: Value,
    redirect_uris: Value,
    implicit_grant_settings: ImplicitGrantSettings,
    redirect_uri_settings: Value,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct ImplicitGrantSettings {
    enable_access_token_issuance: Value,
    enable_id_token_issuance: Value,
}

/// A password credential as Graph shows it; `secretText` only in the `addPassword` answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordCredential<'a> {
    custom_key_identifier: Option<()>,
    display_name: Option<&'a str>,
    end_date_time: String,
    hint: &'a str,
    key_id: Uuid,
    secret_text: Option<&'a str>,
    start_date_time: String,
}

impl<'a> PasswordCredential<'a> {
    /// Credential `c`, with its value when it was just made.
    pub(crate) fn new(c: &'a directory::PasswordCredential, secret_text: Option<&'a str>) -> Self {
        Self {
            custom_key_identifier: None,
            display_name: c.display_name.as_deref(),
            end_date_time: datetime(c.end),
            hint: &c.hint,
            key_id: c.key_id,
            secret_text,
            start_date_time: datetime(c.start),
        }
    }
}

/// An application (`microsoft.graph.application`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Application<'a> {
    id: Uuid,
    deleted_date_time: Option<String>,
    app_id: Uuid,
    application_template_id: Value,
    disabled_by_microsoft_status: Value,
    created_by_app_id: Option<Uuid>,
    created_date_time: String,
    display_name: &'a str,
    description: Value,
    group_membership_claims: Value,
    identifier_uris: &'a [String],
    is_device_only_auth_supported: Value,
    is_disabled: Value,
    is_fallback_public_client: Value,
    native_authentication_apis_enabled: Value,
    notes: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth2_require_post_response: Option<Value>,
    publisher_domain: &'a str,
    service_management_reference: Value,
    sign_in_audience: &'a str,
    tags: Value,
    token_encryption_key_id: Value,
    unique_name: Value,
    saml_metadata_url: Value,
    default_redirect_uri: Value,
    certification: Value,
    optional_claims: Value,
    service_principal_lock_configuration: Value,
    request_signature_verification: Value,
    add_ins: Value,
    api: ApiApplication,
    app_roles: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    authentication_behaviors: Option<Value>,
    info: InformationalUrl,
    key_credentials: Vec<Value>,
    parental_control_settings: ParentalControlSettings,
    password_credentials: Vec<PasswordCredential<'a>>,
    public_client: RedirectUris,
    required_resource_access: Value,
    verified_publisher: VerifiedPublisher,
    web: WebApplication,
    spa: RedirectUris,
}

impl<'a> Application<'a> {
    /// Application `app` of a tenant whose default domain is `publisher_domain`.
    pub(crate) fn new(app: &'a directory::Application, publisher_domain: &'a str) -> Self {
        let p = Props(Some(&app.props));
        let api = p.child("api");
        let web = p.child("web");
        let grants = web.child("implicitGrantSettings");
        let parental = p.child("parentalControlSettings");
        Self {
            id: app.id,
            deleted_date_time: app.deleted.map(datetime),
            app_id: app.app_id,
            application_template_id: p.or_null("applicationTemplateId"),
            disabled_by_microsoft_status: p.or_null("disabledByMicrosoftStatus"),
            created_by_app_id: app.created_by_app_id,
            // Reads show whole seconds; only the create answer has the 7-digit fraction.
            created_date_time: datetime(app.created.replace_nanosecond(0).unwrap_or(app.created)),
            display_name: &app.display_name,
            description: p.or_null("description"),
            group_membership_claims: p.or_null("groupMembershipClaims"),
            identifier_uris: &app.identifier_uris,
            is_device_only_auth_supported: p.or_null("isDeviceOnlyAuthSupported"),
            is_disabled: p.or_null("isDisabled"),
            is_fallback_public_client: p.or_null("isFallbackPublicClient"),
            native_authentication_apis_enabled: p.or_null("nativeAuthenticationApisEnabled"),
            notes: p.or_null("notes"),
            oauth2_require_post_response: None,
            publisher_domain,
            service_management_reference: p.or_null("serviceManagementReference"),
            sign_in_audience: &app.sign_in_audience,
            tags: p.or_empty("tags"),
            token_encryption_key_id: p.or_null("tokenEncryptionKeyId"),
            unique_name: p.or_null("uniqueName"),
            saml_metadata_url: p.or_null("samlMetadataUrl"),
            default_redirect_uri: p.or_null("defaultRedirectUri"),
            certification: p.or_null("certification"),
            optional_claims: p.or_null("optionalClaims"),
            service_principal_lock_configuration: p.or_null("servicePrincipalLockConfiguration"),
            request_signature_verification: p.or_null("requestSignatureVerification"),
            add_ins: p.or_empty("addIns"),
            api: ApiApplication {
                accept_mapped_claims: api.or_null("acceptMappedClaims"),
                known_client_applications: api.or_empty("knownClientApplications"),
                requested_access_token_version: app.requested_access_token_version,
                oauth2_permission_scopes: api.or_empty("oauth2PermissionScopes"),
                pre_authorized_applications: api.or_empty("preAuthorizedApplications"),
            },
            app_roles: p.or_empty("appRoles"),
            authentication_behaviors: None,
            info: InformationalUrl::new(p.child("info")),
            key_credentials: Vec::new(),
            parental_control_settings: ParentalControlSettings {
                countries_blocked_for_minors: parental.or_empty("countriesBlockedForMinors"),
                legal_age_group_rule: parental.or("legalAgeGroupRule", "Allow".into()),
            },
            password_credentials: app
                .password_credentials
                .iter()
                .map(|c| PasswordCredential::new(c, None))
                .collect(),
            public_client: RedirectUris::new(p.child("publicClient")),
            required_resource_access: p.or_empty("requiredResourceAccess"),
            verified_publisher: VerifiedPublisher::new(p.child("verifiedPublisher")),
            web: WebApplication {
                home_page_url: web.or_null("homePageUrl"),
                logout_url: web.or_null("logoutUrl"),
                redirect_uris: web.or_empty("redirectUris"),
                implicit_grant_settings: ImplicitGrantSettings {
                    enable_access_token_issuance: grants
                        .or("enableAccessTokenIssuance", false.into()),
                    enable_id_token_issuance: grants.or("enableIdTokenIssuance", false.into()),
                },
                redirect_uri_settings: web.or_empty("redirectUriSettings"),
            },
            spa: RedirectUris::new(p.child("spa")),
        }
    }

    /// Adds the properties Graph returns only when `$select` names them.
    pub(crate) fn selecting(mut self, app: &directory::Application, fields: &[String]) -> Self {
        let p = Props(Some(&app.props));
        let named = |f: &str| fields.iter().any(|s| s.eq_ignore_ascii_case(f));
        if named("oauth2RequirePostResponse") {
            self.oauth2_require_post_response =
                Some(p.or("oauth2RequirePostResponse", false.into()));
        }
        if named("authenticationBehaviors") {
            self.authentication_behaviors = Some(p.or_null("authenticationBehaviors"));
        }
        self
    }
}

/// A service principal (`microsoft.graph.servicePrincipal`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServicePrincipal<'a> {
    id: Uuid,
    deleted_date_time: Option<String>,
    account_enabled: bool,
    alternative_names: Value,
    app_display_name: &'a str,
    app_description: Value,
    app_id: Uuid,
    application_template_id: Value,
    app_owner_organization_id: Uuid,
    app_role_assignment_required: Value,
    created_by_app_id: Option<Uuid>,
    created_date_time: Option<String>,
    description: Value,
    disabled_by_microsoft_status: Value,
    display_name: &'a str,
    homepage: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_disabled: Option<Value>,
    login_url: Value,
    logout_url: Value,
    notes: Value,
    notification_email_addresses: Value,
    preferred_single_sign_on_mode: Value,
    preferred_token_signing_key_thumbprint: Value,
    reply_urls: Value,
    service_principal_names: Vec<String>,
    service_principal_type: Value,
    sign_in_audience: Option<&'a str>,
    tags: Value,
    token_encryption_key_id: Value,
    saml_single_sign_on_settings: Value,
    add_ins: Value,
    app_roles: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_security_attributes: Option<Value>,
    info: InformationalUrl,
    key_credentials: Value,
    oauth2_permission_scopes: Value,
    password_credentials: Value,
    resource_specific_application_permissions: Value,
    verified_publisher: VerifiedPublisher,
}

impl<'a> ServicePrincipal<'a> {
    /// Service principal `sp` of tenant `tenant`; `app` is its live application, if any.
    pub(crate) fn new(
        sp: &'a directory::ServicePrincipal,
        app: Option<&'a directory::Application>,
        tenant: Uuid,
    ) -> Self {
        let p = Props(Some(&sp.props));
        let mut names = vec![sp.app_id.to_string()];
        if let Some(app) = app {
            names.extend(app.identifier_uris.iter().cloned());
        }
        Self {
            id: sp.id,
            deleted_date_time: sp.deleted.map(datetime),
            account_enabled: sp.account_enabled,
            alternative_names: p.or_empty("alternativeNames"),
            app_display_name: app.map_or(&sp.display_name, |a| &a.display_name),
            app_description: p.or_null("appDescription"),
            app_id: sp.app_id,
            application_template_id: p.or_null("applicationTemplateId"),
            app_owner_organization_id: tenant,
            app_role_assignment_required: p.or("appRoleAssignmentRequired", false.into()),
            created_by_app_id: sp.created_by_app_id,
            // Graph keeps second precision here, unlike the application's 7-digit fraction.
            created_date_time: Some(datetime(
                sp.created.replace_nanosecond(0).unwrap_or(sp.created),
            )),
            description: p.or_null("description"),
            disabled_by_microsoft_status: p.or_null("disabledByMicrosoftStatus"),
            display_name: &sp.display_name,
            homepage: p.or_null("homepage"),
            is_disabled: None,
            login_url: p.or_null("loginUrl"),
            logout_url: p.or_null("logoutUrl"),
            notes: p.or_null("notes"),
            notification_email_addresses: p.or_empty("notificationEmailAddresses"),
            preferred_single_sign_on_mode: p.or_null("preferredSingleSignOnMode"),
            preferred_token_signing_key_thumbprint: p.or_null("preferredTokenSigningKeyThumbprint"),
            reply_urls: p.or_empty("replyUrls"),
            service_principal_names: names,
            // Managed identities store theirs (`ManagedIdentity`); apps' principals have none.
            service_principal_type: p.or("servicePrincipalType", "Application".into()),
            sign_in_audience: app.map(|a| a.sign_in_audience.as_str()),
            tags: p.or_empty("tags"),
            token_encryption_key_id: p.or_null("tokenEncryptionKeyId"),
            saml_single_sign_on_settings: p.or_null("samlSingleSignOnSettings"),
            add_ins: p.or_empty("addIns"),
            app_roles: p.or_empty("appRoles"),
            custom_security_attributes: None,
            info: InformationalUrl::new(p.child("info")),
            key_credentials: p.or_empty("keyCredentials"),
            oauth2_permission_scopes: p.or_empty("oauth2PermissionScopes"),
            password_credentials: p.or_empty("passwordCredentials"),
            resource_specific_application_permissions: p
                .or_empty("resourceSpecificApplicationPermissions"),
            verified_publisher: VerifiedPublisher::new(p.child("verifiedPublisher")),
        }
    }

    /// Adds the properties Graph returns only when `$select` names them.
    pub(crate) fn selecting(mut self, sp: &directory::ServicePrincipal, fields: &[String]) -> Self {
        let p = Props(Some(&sp.props));
        let named = |f: &str| fields.iter().any(|s| s.eq_ignore_ascii_case(f));
        if named("isDisabled") {
            self.is_disabled = Some(p.or_null("isDisabled"));
        }
        if named("customSecurityAttributes") {
            self.custom_security_attributes = Some(p.or_null("customSecurityAttributes"));
        }
        self
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
    fn client_set_leaves_replace_only_their_default() {
        let mut app = directory::Application::new(
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            "a",
            time::macros::datetime!(2024-01-01 0:00 UTC),
        );
        app.props.insert(
            "web".into(),
            serde_json::json!({"redirectUris": ["https://x"], "implicitGrantSettings": {"enableIdTokenIssuance": true}}),
        );
        let json = serde_json::to_value(Application::new(&app, "d")).expect("serializes");
        assert_eq!(
            json["web"],
            serde_json::json!({"homePageUrl": null, "logoutUrl": null, "redirectUris": ["https://x"],
                "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": true},
                "redirectUriSettings": []})
        );
    }
}

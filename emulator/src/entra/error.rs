//! Entra's OAuth error body: `error`, an `AADSTSnnnn:` description with trace, correlation
//! and timestamp lines, `error_codes`, ids and `error_uri`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::no_store_headers;

/// Every token-endpoint failure the emulator reproduces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntraError {
    /// AADSTS900144: a required form parameter is absent.
    MissingParameter(&'static str),
    /// AADSTS70003: `grant_type` other than `client_credentials`.
    UnsupportedGrantType(String),
    /// AADSTS90002: well-formed tenant that does not exist.
    TenantNotFound(String),
    /// AADSTS900023: tenant that is neither a GUID nor a DNS name.
    MalformedTenant(String),
    /// AADSTS50059: `common`/`organizations` used where a tenant is required.
    NoTenant,
    /// AADSTS70011: scope that is not a resource's `/.default`.
    InvalidScope(String),
    /// AADSTS1002012: client credentials with a scope lacking `/.default`.
    ScopeNotDefault(String),
    /// AADSTS500011: no resource with that identifier in the tenant.
    ResourceNotFound {
        /// As requested.
        resource: String,
        /// Tenant display name.
        tenant_name: String,
    },
    /// AADSTS700016: unknown client id.
    AppNotFound {
        /// As sent.
        client_id: String,
        /// Tenant display name.
        tenant_name: String,
    },
    /// AADSTS7000216: client credentials without `client_secret` or `client_assertion`.
    MissingCredential,
    /// AADSTS7000215: the secret matches none of the app's credentials.
    InvalidSecret(Uuid),
    /// AADSTS7000222: the secret matches a credential outside its validity window.
    ExpiredSecret(Uuid),
    /// AADSTS7000229: the app has no service principal in the tenant.
    NoServicePrincipal {
        /// Client id.
        client_id: Uuid,
        /// Tenant id.
        tenant: Uuid,
    },
    /// AADSTS7000112: the app's service principal is disabled (`accountEnabled: false`).
    AppDisabled {
        /// Client id.
        client_id: Uuid,
        /// Application display name.
        name: String,
    },
    /// AADSTS50049: instance discovery for an authority that is not this emulator.
    InvalidInstance,
    /// AADSTS900561: a method the endpoint does not take. Entra answers 400, not 405.
    MethodNotAllowed {
        /// As sent.
        method: String,
        /// The methods the endpoint takes, comma-separated.
        allowed: String,
    },
    /// AADSTS9002313: a request that cannot be read (a path or query that is not UTF-8,
    /// a body that is not what the endpoint takes).
    MalformedRequest,
    /// AADSTS90011: a `client_assertion_type` other than JWT bearer.
    UnexpectedAssertionType,
    /// AADSTS9002313 (a guess): both a client secret and a client assertion.
    TwoCredentials,
    /// AADSTS50027: a client assertion that is not a JWT, or whose `aud` is an array.
    MalformedAssertion,
    /// AADSTS5002730: an assertion signed with an algorithm other than RS256 or PS256.
    UnsupportedAssertionAlgorithm,
    /// AADSTS70002 + AADSTS50012: `aud` is not this tenant's token endpoint.
    AssertionAudience,
    /// AADSTS50048: `sub` differs from `iss`.
    AssertionSubject,
    /// AADSTS700027: no registered certificate has the assertion's thumbprint.
    AssertionKeyNotFound {
        /// The thumbprint the client sent (upper-case hex), if any.
        thumbprint: Option<String>,
        /// Client id.
        client_id: Uuid,
    },
    /// AADSTS700027: the certificate is registered but outside its validity window.
    AssertionKeyExpired {
        /// Thumbprint (upper-case hex).
        thumbprint: String,
        /// The key credential's window.
        start: OffsetDateTime,
        /// …
        end: OffsetDateTime,
    },
    /// AADSTS700027: the certificate is registered but the signature does not verify.
    AssertionSignature {
        /// Thumbprint (upper-case hex).
        thumbprint: String,
        /// The key credential's window.
        start: OffsetDateTime,
        /// …
        end: OffsetDateTime,
        /// Client id.
        client_id: Uuid,
    },
    /// AADSTS700024: `exp`/`nbf` do not cover the current time.
    AssertionLifetime {
        /// Emulator time.
        now: OffsetDateTime,
        /// `nbf`, when sent.
        nbf: Option<i64>,
        /// `exp`.
        exp: i64,
    },
    /// AADSTS70021: the application has no federated credential for the token.
    NoFederatedRecord {
        /// The token's `iss`.
        issuer: String,
        /// Its `sub`.
        subject: String,
        /// Its `aud` values, comma-separated.
        audience: String,
    },
    /// AADSTS700211: no federated credential has the token's issuer.
    FederatedIssuer(String),
    /// AADSTS700222: the token was issued by Entra itself, which federated credentials do not
    /// take.
    EntraIssuedAssertion,
    /// AADSTS700213: none has its subject.
    FederatedSubject(String),
    /// AADSTS7002138: one has its subject, but in another case.
    FederatedSubjectCase(String),
    /// AADSTS700212: none has its audience.
    FederatedAudience(String),
    /// AADSTS7000272: the issuer's JWKS has no key with the token's identifier.
    IssuerKeyNotFound {
        /// The `kid` (or `x5t` as hex) of the token.
        identifier: String,
        /// The issuer.
        issuer: String,
    },
    /// AADSTS50166: the issuer's discovery document or JWKS could not be fetched.
    IssuerUnreachable,
    /// A body over the endpoint's size limit. Entra documents no limit and no answer for
    /// it: status 413 and the generic malformed-request code are guesses.
    RequestTooLarge,
    /// A request target over [`crate::catalog::MAX_URI_LEN`]. Status 414 and the generic
    /// malformed-request code are guesses.
    UriTooLong,
    /// Header fields over [`crate::catalog::MAX_HEADER_BYTES`]. Status 431 and the generic
    /// malformed-request code are guesses.
    HeadersTooLarge,
}

impl EntraError {
    /// (HTTP status, `error`, AADSTS number, description without the AADSTS prefix).
    fn parts(&self) -> (StatusCode, &'static str, u32, String) {
        use EntraError::*;
        let bad = StatusCode::BAD_REQUEST;
        // A failed client authentication: 401 `invalid_client`.
        let client_auth = |code, description| {
            (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                code,
                description,
            )
        };
        match self {
            MissingParameter(p) => (
                bad,
                "invalid_request",
                900144,
                format!("The request body must contain the following parameter: '{p}'."),
            ),
            // The real text ends with the grant type in some captures; the wording is a guess.
            UnsupportedGrantType(g) => (
                bad,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{g}'."),
            ),
            TenantNotFound(t) => (
                bad,
                "invalid_tenant",
                90002,
                format!(
                    "Tenant '{t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
                ),
            ),
            // Code observed; message wording is a guess.
            MalformedTenant(t) => (
                bad,
                "invalid_request",
                900023,
                format!(
                    "Specified tenant identifier '{t}' is neither a valid DNS name, nor a valid external domain."
                ),
            ),
            NoTenant => (
                bad,
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials.".to_owned(),
            ),
            InvalidScope(s) => (
                bad,
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {s} is not valid."
                ),
            ),
            ScopeNotDefault(s) => (
                bad,
                "invalid_scope",
                1002012,
                format!(
                    "The provided value for scope {s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            ),
            ResourceNotFound { resource, tenant_name } => (
                bad,
                "invalid_resource",
                500011,
                format!(
                    "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
                ),
            ),
            AppNotFound { client_id, tenant_name } => (
                bad,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            ),
            // Status is a guess (401, like the other invalid_client answers).
            MissingCredential => client_auth(
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.".to_owned(),
            ),
            InvalidSecret(app) => client_auth(
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app}'."
                ),
            ),
            // Status is a guess (401, like the other client-authentication failures).
            ExpiredSecret(app) => client_auth(
                7000222,
                format!(
                    "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
                ),
            ),
            // Status and error value are guesses.
            NoServicePrincipal { client_id, tenant } => client_auth(
                7000229,
                format!(
                    "The client application {client_id} is missing service principal in the tenant {tenant}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
                ),
            ),
            AppDisabled { client_id, name } => (
                bad,
                "unauthorized_client",
                7000112,
                format!("Application '{client_id}'({name}) is disabled."),
            ),
            InvalidInstance => (
                bad,
                "invalid_instance",
                50049,
                "Unknown or invalid instance.".to_owned(),
            ),
            MethodNotAllowed { method, allowed } => (
                bad,
                "invalid_request",
                900561,
                format!("The endpoint only accepts {allowed} requests. Received a {method} request."),
            ),
            MalformedRequest => (
                bad,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid.".to_owned(),
            ),
            // Observed (AzureAD/azure-activedirectory-library-for-ruby pull request 53).
            UnexpectedAssertionType => (
                bad,
                "invalid_request",
                90011,
                "Unexpected client assertion type.".to_owned(),
            ),
            // A guess: what Entra answers to a secret and an assertion together was not found.
            TwoCredentials => (
                bad,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid.".to_owned(),
            ),
            // Text observed (panva/openid-client issue 348); status and error are guesses.
            MalformedAssertion => (
                bad,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.".to_owned(),
            ),
            // Observed with invalid_request (AzureAD/microsoft-authentication-library-for-dotnet
            // issue 4712); the status is a guess.
            UnsupportedAssertionAlgorithm => (
                bad,
                "invalid_request",
                5002730,
                "Invalid JWT token. Unsupported key for the signing algorithm.".to_owned(),
            ),
            // Observed as 401 invalid_client with error_codes [70002, 50012]
            // (AzureAD/azure-activedirectory-library-for-python issue 79, 2017); the current
            // text was not found.
            AssertionAudience => client_auth(
                70002,
                "Error validating credentials. AADSTS50012: Client assertion audience claim does not match Realm issuer.".to_owned(),
            ),
            // Observed (AzureAD/microsoft-authentication-library-for-java issue 430); status
            // and error are guesses.
            AssertionSubject => client_auth(
                50048,
                "Subject must match the issuer claim in the client assertion.".to_owned(),
            ),
            // Observed 2023–2026 (keycloak/keycloak issue 19425, AzureAD/microsoft-authentication-
            // library-for-js issue 8339); without a thumbprint header the thumbprint part is absent
            // (the keycloak capture). Status 401 is a guess.
            AssertionKeyNotFound {
                thumbprint,
                client_id,
            } => client_auth(
                700027,
                format!(
                    "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., {}Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{client_id}']",
                    thumbprint
                        .as_deref()
                        .map(|t| format!("Thumbprint of key used by client: '{t}', "))
                        .unwrap_or_default()
                ),
            ),
            // Reason and key window as observed (Microsoft docs troubleshooting text quoted in
            // several repositories: "[Reason - The key used is expired. Thumbprint of key used by
            // client: '…', Found key 'Start=06/29/2021 21:13:15, End=06/29/2023 21:13:15'");
            // the leading sentence is the 2026 one. Status a guess.
            AssertionKeyExpired {
                thumbprint,
                start,
                end,
            } => client_auth(
                700027,
                format!(
                    "The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}']",
                    key_date(*start),
                    key_date(*end)
                ),
            ),
            // A guess built from the observed structure of AADSTS50013 ("Key was found, but use
            // of the key to verify the signature failed.", microsoftgraph/msgraph-sdk-php issue
            // 1585) and the doc one-liner "Client assertion failed signature validation."
            AssertionSignature {
                thumbprint,
                start,
                end,
                client_id,
            } => client_auth(
                700027,
                format!(
                    "Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{thumbprint}', Found key 'Start={}, End={}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]",
                    key_date(*start),
                    key_date(*end)
                ),
            ),
            // Observed 2024–2025 (AzureAD/microsoft-authentication-library-for-java issue 984;
            // Azure/login issues 180 and 372 for federated tokens); "valid from" is 1970 when
            // there is no `nbf`. Status a guess (invalid_client answers are 401).
            AssertionLifetime { now, nbf, exp } => client_auth(
                700024,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                    ticks(*now),
                    ticks(unix(nbf.unwrap_or(0))),
                    ticks(unix(*exp))
                ),
            ),
            // Observed (Azure/azure-workload-identity issue 616). The emulator answers it when
            // the application has no federated credential at all (a guess: Entra's choice
            // between this code and 700211–700213 is not documented).
            NoFederatedRecord {
                issuer,
                subject,
                audience,
            } => (
                bad,
                "invalid_request",
                70021,
                format!(
                    "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
                ),
            ),
            // Observed (Azure/azure-workload-identity issue 1200); status a guess.
            FederatedIssuer(issuer) => client_auth(
                700211,
                format!(
                    "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
                ),
            ),
            // Text observed (MicrosoftDocs/azure-docs issue 90276, 2022; arsenvlad's
            // entra-cross-tenant-app-fic failure list, 2024) and documented on the workload
            // identity considerations page; status and `error` a guess, as its neighbours.
            EntraIssuedAssertion => client_auth(
                700222,
                "AAD-issued tokens may not be used for federated identity flows.".to_owned(),
            ),
            // Observed, 2025 wording (Azure/login issue 482, dotnet/maui issue 31978).
            FederatedSubject(subject) => client_auth(
                700213,
                format!(
                    "No matching federated identity record found for presented assertion subject '{subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
                ),
            ),
            // Observed (Azure/login issue 515, 2025).
            FederatedSubjectCase(subject) => client_auth(
                7002138,
                format!(
                    "No matching federated identity record found for presented assertion subject '{subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: https://learn.microsoft.com/entra/workload-id/workload-identity-federation. See breaking change notification and remediation at: https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes#august-2024."
                ),
            ),
            // Observed (a test fixture copying a real response; several reports of the code).
            FederatedAudience(audience) => client_auth(
                700212,
                format!(
                    "No matching federated identity record found for presented assertion audience '{audience}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
                ),
            ),
            // Observed (Azure/azure-workload-identity issue 1232); status a guess.
            IssuerKeyNotFound { identifier, issuer } => client_auth(
                7000272,
                format!(
                    "The certificate with identifier {identifier} used to sign the federated credential could not be found in the metadata of identity provider {issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token."
                ),
            ),
            // Observed with 400 invalid_request (Azure/azure-workload-identity issues 642, 605).
            IssuerUnreachable => (
                bad,
                "invalid_request",
                50166,
                "Request to External OIDC endpoint failed.".to_owned(),
            ),
            RequestTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid.".to_owned(),
            ),
            UriTooLong => (
                StatusCode::URI_TOO_LONG,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid.".to_owned(),
            ),
            HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid.".to_owned(),
            ),
        }
    }

    /// The AADSTS number.
    pub(crate) fn code(&self) -> u32 {
        self.parts().2
    }

    /// Renders the full body for a request seen at `now`.
    pub(crate) fn into_response_at(self, now: OffsetDateTime, correlation_id: Uuid) -> Response {
        let (status, error, code, text) = self.parts();
        let codes = match self {
            EntraError::AssertionAudience => vec![70002, 50012],
            _ => vec![code],
        };
        let trace_id = Uuid::new_v4();
        let stamp = entra_timestamp(now);
        let body = json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}"
            ),
            "error_codes": codes,
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        no_store_headers(headers);
        if let Ok(v) = HeaderValue::from_str(&trace_id.to_string()) {
            headers.insert("x-ms-request-id", v);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    }
}

fn unix(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A time as AADSTS700024 prints it: seven fraction digits (.NET's round-trip form).
fn ticks(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    );
    t.format(&format).unwrap_or_default()
}

/// A key credential's date as AADSTS700027 prints it: `MM/dd/yyyy HH:mm:ss`.
fn key_date(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    t.format(&format).unwrap_or_default()
}

/// Entra's timestamp form: `YYYY-MM-DD HH:MM:SSZ`.
pub(crate) fn entra_timestamp(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    t.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_entra_shape() {
        let t = time::macros::datetime!(2025-04-23 02:35:17.123 UTC);
        assert_eq!(entra_timestamp(t), "2025-04-23 02:35:17Z");
        // AzureAD/microsoft-authentication-library-for-java issue 984: seven digits.
        assert_eq!(ticks(t), "2025-04-23T02:35:17.1230000Z");
        assert_eq!(ticks(unix(0)), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(key_date(t), "04/23/2025 02:35:17");
    }
}

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
        let unauthorized = StatusCode::UNAUTHORIZED;
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
            MissingCredential => (
                unauthorized,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.".to_owned(),
            ),
            InvalidSecret(app) => (
                unauthorized,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app}'."
                ),
            ),
            // Status is a guess (401, like the other client-authentication failures).
            ExpiredSecret(app) => (
                unauthorized,
                "invalid_client",
                7000222,
                format!(
                    "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
                ),
            ),
            // Status and error value are guesses.
            NoServicePrincipal { client_id, tenant } => (
                unauthorized,
                "invalid_client",
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
        let trace_id = Uuid::new_v4();
        let stamp = entra_timestamp(now);
        let body = json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}"
            ),
            "error_codes": [code],
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
    }
}

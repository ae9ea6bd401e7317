//! Microsoft Graph's error envelope: `error.code`, `error.message`, `error.innerError` with
//! `date`, `request-id` and `client-request-id`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Ctx;

/// Every Graph failure the emulator reproduces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphError {
    /// 401: no bearer token.
    EmptyToken,
    /// 401: not a JWT at all.
    UnparsableToken,
    /// 401: bad signature, unknown key, wrong issuer or tenant.
    InvalidToken,
    /// 401: expired or not yet valid.
    ExpiredToken,
    /// 401: a token for another resource.
    InvalidAudience,
    /// 403: the caller lacks the application permission.
    Forbidden,
    /// 404: no such object.
    NotFound(String),
    /// 400: an id that is not a GUID.
    InvalidId(String),
    /// 400 `Request_BadRequest` with a message.
    BadRequest(String),
    /// 400 `BadRequest` (OData-level) with a message.
    ODataBadRequest(String),
    /// 400 `Request_UnsupportedQuery`.
    UnsupportedQuery(String),
    /// 400: the service principal's app id has no application (with details).
    NoBackingApplication(Uuid),
    /// 409: the app already has a service principal.
    DuplicateServicePrincipal(Uuid),
    /// 400: identifier URI already used by another application.
    DuplicateIdentifierUri,
    /// 400: an identifier URI outside the tenant's verified domains and its own ids.
    HostNameNotOnVerifiedDomain(String),
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 413: a body over Graph's 4 MB request limit. Code and wording are guesses.
    PayloadTooLarge,
    /// 415: a body declared as something other than JSON. Code and wording are guesses.
    UnsupportedMediaType(String),
    /// 400: a request target or header fields over the emulator's limits. Graph answers an
    /// oversized request with its front end's (HTTP.sys) page wrapped in its envelope.
    RequestTooLong,
}

/// The page HTTP.sys serves for a request whose head is over its limits, as Graph relays it.
const REQUEST_TOO_LONG_PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">\r\n<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n<BODY><h2>Bad Request - Request Too Long</h2>\r\n<hr><p>HTTP Error 400. The size of the request headers is too long.</p>\r\n</BODY></HTML>\r\n";

impl GraphError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use GraphError::*;
        let bad = StatusCode::BAD_REQUEST;
        let token = |m: &str| {
            (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                m.to_owned(),
            )
        };
        match self {
            EmptyToken => token("Access token is empty."),
            UnparsableToken => token("CompactToken parsing failed with error code: 80049217"),
            // The current text for a bad signature was not found; this is the older generic one.
            InvalidToken => token("Access token validation failure."),
            ExpiredToken => token("Lifetime validation failed, the token is expired."),
            InvalidAudience => token("Access token validation failure. Invalid audience."),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.".to_owned(),
            ),
            NotFound(id) => (
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            ),
            InvalidId(v) => (
                bad,
                "Request_BadRequest",
                format!("Invalid object identifier '{v}'."),
            ),
            BadRequest(m) => (bad, "Request_BadRequest", m.clone()),
            ODataBadRequest(m) => (bad, "BadRequest", m.clone()),
            UnsupportedQuery(m) => (bad, "Request_UnsupportedQuery", m.clone()),
            NoBackingApplication(app_id) => (bad, "Request_BadRequest", no_backing(app_id)),
            DuplicateServicePrincipal(app_id) => (
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
                format!(
                    "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
                ),
            ),
            // The message is Entra's (Azure/go-autorest issue 308, from AAD Graph, where the
            // code was Request_BadRequest with PropertyErrorCode ObjectConflict); the code
            // Microsoft Graph gives is a guess.
            DuplicateIdentifierUri => (
                bad,
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property identifierUris already exists."
                    .to_owned(),
            ),
            // Code and text as Microsoft Graph answered in a Graph SDK log (Azure/Industrial-IoT
            // pull request 1432): "Code: HostNameNotOnVerifiedDomain", status BadRequest.
            HostNameNotOnVerifiedDomain(uri) => (
                bad,
                "HostNameNotOnVerifiedDomain",
                format!(
                    "Values of identifierUris property must use a verified domain of the organization or its subdomain: '{uri}'"
                ),
            ),
            // Text as Graph answered a GET on a POST-only action (2016).
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.".to_owned(),
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request_EntityTooLarge",
                "The request body is larger than the maximum of 4 MB.".to_owned(),
            ),
            UnsupportedMediaType(ct) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Request_UnsupportedMediaType",
                format!("The content type '{ct}' is not supported; send application/json."),
            ),
            // Recorded in microsoftgraph/microsoft-graph-docs issue #21903 (oversized
            // headers) and microsoft-graph-explorer-v4 issue #3184 (a long URL): status 400,
            // code UnknownError, HTTP.sys's page as the message.
            RequestTooLong => (bad, "UnknownError", REQUEST_TOO_LONG_PAGE.to_owned()),
        }
    }

    /// The full response for request context `ctx`.
    pub(crate) fn into_response_with(self, ctx: &Ctx) -> Response {
        let (status, code, message) = self.parts();
        let mut error = json!({
            "code": code,
            "message": message,
        });
        if let GraphError::NoBackingApplication(app_id) = &self {
            error["details"] = json!([{
                "code": "NoBackingApplicationObject",
                "message": no_backing(app_id),
                "target": "appId",
            }]);
        }
        error["innerError"] = ctx.inner_error();
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        ctx.decorate(headers);
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                ),
            );
        }
        response
    }
}

fn no_backing(app_id: &Uuid) -> String {
    format!(
        "The appId '{app_id}' of the service principal does not reference a valid application object."
    )
}

/// `innerError` for `ctx` (used by the error renderer).
pub(super) fn inner_error(date: &str, request_id: &Uuid, client_request_id: &str) -> Value {
    json!({
        "date": date,
        "request-id": request_id,
        "client-request-id": client_request_id,
    })
}

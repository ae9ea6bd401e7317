//! The OneAPI error envelope of the Log Analytics and Application Insights query APIs.
//!
//! Errors the query service itself raises are written message first:
//! `{"error":{"message","code","correlationId","innererror"}}`; the ones the gateway raises
//! before a request reaches it (no or bad token) are written code first, as Microsoft's
//! error reference shows them. Texts are the documented ones unless a variant says otherwise.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::kql::KqlError;

/// Every failure of the Log Analytics and Application Insights query APIs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueryError {
    /// No `Authorization` header.
    MissingAuthorization,
    /// An `Authorization` header that is not `Bearer <token>`. Wording is a guess (ARM's).
    MalformedAuthorization,
    /// A token that does not verify or has expired (the reference does not distinguish
    /// expiry; using this body for it is a guess).
    InvalidToken,
    /// A valid token for another resource.
    WrongAudience,
    /// The caller holds no role granting the query action here (yet).
    InsufficientAccess,
    /// A path or method the API does not serve.
    PathNotFound,
    /// A workspace id (or a resource-centric query's resource id) that names no workspace:
    /// the same 404 with a `correlationId`, as recorded.
    WorkspaceNotFound,
    /// A batch item's workspace that names no workspace.
    FailedToResolveResource,
    /// An Application Insights app id that names no component.
    ApplicationNotFound,
    /// A query that does not parse, names unknown things, or uses what the engine lacks.
    BadQuery(KqlError),
    /// A JSON body that does not parse.
    InvalidJsonBody(String),
    /// A request that parses but is not a valid query request.
    Validation(String),
    /// A body over the size limit. Code and wording are guesses.
    BodyTooLarge(usize),
    /// A request target over [`crate::catalog::MAX_URI_LEN`]. Code and wording are guesses.
    UriTooLong,
    /// Header fields over [`crate::catalog::MAX_HEADER_BYTES`]. Code and wording are guesses.
    HeadersTooLarge,
}

impl QueryError {
    /// HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        use QueryError::*;
        match self {
            MissingAuthorization | MalformedAuthorization => StatusCode::UNAUTHORIZED,
            InvalidToken | WrongAudience | InsufficientAccess => StatusCode::FORBIDDEN,
            PathNotFound | WorkspaceNotFound | ApplicationNotFound => StatusCode::NOT_FOUND,
            BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UriTooLong => StatusCode::URI_TOO_LONG,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            BadQuery(_) | InvalidJsonBody(_) | Validation(_) | FailedToResolveResource => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// The `error` object.
    pub(crate) fn error_object(&self) -> Value {
        use QueryError::*;
        let invalid_properties = "The request had some invalid properties";
        let correlation = || json!(Uuid::new_v4());
        match self {
            MissingAuthorization => json!({
                "code": "AuthenticationFailed",
                "message": "Authentication failed. The 'Authorization' header is missing.",
            }),
            MalformedAuthorization => json!({
                "code": "AuthenticationFailed",
                "message": "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            }),
            InvalidToken => json!({
                "code": "InvalidAuthenticationToken",
                "message": "The access token is invalid.",
            }),
            WrongAudience => json!({
                "message": "The provided authentication is not valid for this resource",
                "code": "InvalidTokenError",
                "innererror": {
                    "code": "SignatureVerificationFailed",
                    "message": "Could not validate the request",
                },
            }),
            InsufficientAccess => json!({
                "message": "The provided credentials have insufficient access to perform the requested operation",
                "code": "InsufficientAccessError",
                "correlationId": correlation(),
            }),
            PathNotFound => json!({
                "message": "The requested path does not exist",
                "code": "PathNotFoundError",
            }),
            WorkspaceNotFound => json!({
                "message": "The requested path does not exist",
                "code": "PathNotFoundError",
                "correlationId": correlation(),
            }),
            // Microsoft's batch-queries page, word for word (its "resovled" included).
            FailedToResolveResource => json!({
                "code": "FailedToResolveResource",
                "message": "Resource identity could not be resovled",
            }),
            // Seen in a third-party report; the status (404) is inferred from the code.
            ApplicationNotFound => json!({
                "message": "The application could not be found",
                "code": "ApplicationNotFoundError",
                "correlationId": correlation(),
            }),
            BadQuery(e) => json!({
                "message": invalid_properties,
                "code": "BadArgumentError",
                "correlationId": correlation(),
                "innererror": e.innererror_json(),
            }),
            InvalidJsonBody(detail) => json!({
                "message": invalid_properties,
                "code": "BadArgumentError",
                "correlationId": correlation(),
                "innererror": {
                    "code": "QueryValidationError",
                    "message": "Failed parsing the query",
                    "details": [{"code": "InvalidJsonBody", "message": detail, "target": null}],
                },
            }),
            Validation(message) => json!({
                "message": invalid_properties,
                "code": "BadArgumentError",
                "correlationId": correlation(),
                "innererror": {"code": "QueryValidationError", "message": message},
            }),
            BodyTooLarge(limit) => json!({
                "message": format!("The request body is larger than the limit of {limit} bytes"),
                "code": "PayloadTooLargeError",
                "correlationId": correlation(),
            }),
            UriTooLong => json!({
                "message": format!(
                    "The request URI is longer than the limit of {} bytes",
                    crate::catalog::MAX_URI_LEN
                ),
                "code": "UriTooLongError",
                "correlationId": correlation(),
            }),
            HeadersTooLarge => json!({
                "message": format!(
                    "The request headers are larger than the limit of {} bytes",
                    crate::catalog::MAX_HEADER_BYTES
                ),
                "code": "HeadersTooLargeError",
                "correlationId": correlation(),
            }),
        }
    }
}

/// Headers every Log Analytics / Application Insights answer carries.
pub(crate) fn decorate(response: &mut Response) {
    let h = response.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(
            "Retry-After,Age,WWW-Authenticate,x-resource-identities,x-ms-status-location",
        ),
    );
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=15724800; includeSubDomains"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("vary", HeaderValue::from_static("Accept-Encoding"));
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), self.error_object());
        let mut response = super::json_response(self.status(), &Value::Object(body));
        decorate(&mut response);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_service_errors_put_the_message_first() {
        let e = QueryError::BadQuery(KqlError::syntax(1, 11, "invalid")).error_object();
        let keys: Vec<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["message", "code", "correlationId", "innererror"]);
        assert_eq!(e["innererror"]["innererror"]["code"], "SYN0002");
        let keys: Vec<String> = QueryError::MissingAuthorization
            .error_object()
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["code", "message"], "gateway errors are code first");
    }

    #[test]
    fn statuses_follow_the_error_reference() {
        assert_eq!(QueryError::MissingAuthorization.status(), 401);
        assert_eq!(QueryError::InvalidToken.status(), 403);
        assert_eq!(QueryError::WrongAudience.status(), 403);
        assert_eq!(QueryError::InsufficientAccess.status(), 403);
        assert_eq!(QueryError::PathNotFound.status(), 404);
        assert_eq!(QueryError::Validation("x".into()).status(), 400);
        assert_eq!(QueryError::BodyTooLarge(1).status(), 413);
    }
}

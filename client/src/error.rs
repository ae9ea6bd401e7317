//! One error type for every service, keeping each service's parsed error body.

use reqwest::StatusCode;
use serde_json::Value;

/// Which service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Entra ID token endpoint.
    Entra,
    /// Microsoft Graph.
    Graph,
    /// Azure Resource Manager.
    Arm,
    /// Log Analytics query API.
    LogAnalytics,
    /// Custom metrics ingestion.
    Metrics,
    /// Application Insights query API.
    AppInsights,
    /// A managed identity endpoint (IMDS, App Service).
    ManagedIdentity,
}

/// An error answer from a service, parsed.
#[derive(Debug, Clone)]
pub struct ServiceError {
    /// Which service.
    pub service: Service,
    /// HTTP status.
    pub status: StatusCode,
    /// The error code (`invalid_client`, `Request_ResourceNotFound`, `AuthorizationFailed`, …).
    pub code: Option<String>,
    /// The message (`error_description` for Entra).
    pub message: String,
    /// Entra's AADSTS number.
    pub aadsts: Option<u64>,
    /// The service's request id (`request-id`, `x-ms-request-id`, `trace_id`).
    pub request_id: Option<String>,
    /// The correlation id, when the service reports one.
    pub correlation_id: Option<String>,
    /// The whole body, for anything not lifted out above.
    pub body: Value,
}

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service answered with an error.
    #[error("{} {} from {:?}: {}", .0.status.as_u16(), .0.code.as_deref().unwrap_or("error"), .0.service, .0.message)]
    Service(Box<ServiceError>),
    /// The request did not complete.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// A success answer that is not the expected JSON.
    #[error("unexpected response from {service:?}: {message}")]
    Decode {
        /// Which service.
        service: Service,
        /// What was wrong.
        message: String,
    },
    /// Bad configuration (missing variables, unreadable files).
    #[error("configuration: {0}")]
    Config(String),
    /// A wait gave up.
    #[error("gave up after {waited:?}: {last}")]
    Timeout {
        /// How long it waited.
        waited: std::time::Duration,
        /// The last error seen.
        last: Box<Error>,
    },
}

impl Error {
    /// The parsed service error, if the service answered.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            Error::Timeout { last, .. } => last.service_error(),
            _ => None,
        }
    }

    /// HTTP status of a service error.
    pub fn status(&self) -> Option<StatusCode> {
        self.service_error().map(|e| e.status)
    }

    /// The service's error code.
    pub fn code(&self) -> Option<&str> {
        self.service_error().and_then(|e| e.code.as_deref())
    }

    /// Entra's AADSTS number.
    pub fn aadsts(&self) -> Option<u64> {
        self.service_error().and_then(|e| e.aadsts)
    }

    /// Whether this is a 403 that a role assignment still propagating would explain
    /// (ARM `AuthorizationFailed`, Log Analytics / Application Insights
    /// `InsufficientAccessError`, metrics `AuthorizationFailed`/`AuthenticationFailed` on 403).
    pub fn is_propagation_denied(&self) -> bool {
        let Some(e) = self.service_error() else {
            return false;
        };
        e.status == StatusCode::FORBIDDEN
            && matches!(
                e.code.as_deref(),
                Some(
                    "AuthorizationFailed"
                        | "InsufficientAccessError"
                        | "AuthenticationFailed"
                        | "Forbidden"
                )
            )
    }

    /// Whether the object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether this is ARM's `PrincipalNotFound` (directory replication still under way).
    pub fn is_principal_not_found(&self) -> bool {
        self.code() == Some("PrincipalNotFound")
    }

    /// Whether this is a conflict with an existing object (`RoleAssignmentExists`, …).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// Parses an error answer.
    pub(crate) fn from_response(
        service: Service,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Self {
        let json: Value = serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut e = ServiceError {
            service,
            status,
            code: None,
            message: String::new(),
            aadsts: None,
            request_id: header("x-ms-request-id").or_else(|| header("request-id")),
            correlation_id: header("x-ms-correlation-request-id")
                .or_else(|| header("client-request-id")),
            body: json.clone(),
        };
        match &json["error"] {
            // Entra: {"error": "invalid_client", "error_description": "...", "error_codes": [...]}
            Value::String(code) => {
                e.code = Some(code.clone());
                e.message = json["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                e.aadsts = json["error_codes"][0].as_u64();
                e.request_id = json["trace_id"]
                    .as_str()
                    .map(str::to_owned)
                    .or(e.request_id);
                e.correlation_id = json["correlation_id"]
                    .as_str()
                    .map(str::to_owned)
                    .or(e.correlation_id);
            }
            // Graph, ARM and the Monitor APIs: {"error": {"code": ..., "message": ...}}
            Value::Object(err) => {
                e.code = err.get("code").and_then(Value::as_str).map(str::to_owned);
                e.message = err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if let Some(inner) = err.get("innerError") {
                    e.request_id = inner["request-id"]
                        .as_str()
                        .map(str::to_owned)
                        .or(e.request_id);
                }
                if let Some(c) = err.get("correlationId").and_then(Value::as_str) {
                    e.correlation_id = Some(c.to_owned());
                }
            }
            _ => {
                e.message = match &json {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
            }
        }
        Error::Service(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    #[test]
    fn parses_each_envelope() {
        let entra = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215],"trace_id":"t","correlation_id":"c"}"#;
        let e = Error::from_response(
            Service::Entra,
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new(),
            entra,
        );
        assert_eq!(
            (e.code(), e.aadsts()),
            (Some("invalid_client"), Some(7000215))
        );
        assert_eq!(
            e.service_error().and_then(|s| s.request_id.as_deref()),
            Some("t")
        );

        let arm = br#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#;
        let e = Error::from_response(Service::Arm, StatusCode::FORBIDDEN, &HeaderMap::new(), arm);
        assert!(e.is_propagation_denied());

        let la = br#"{"error":{"message":"insufficient","code":"InsufficientAccessError","correlationId":"x"}}"#;
        let e = Error::from_response(
            Service::LogAnalytics,
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            la,
        );
        assert!(e.is_propagation_denied());
        assert_eq!(
            e.service_error().and_then(|s| s.correlation_id.as_deref()),
            Some("x")
        );

        let e = Error::from_response(
            Service::Graph,
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>",
        );
        assert_eq!(
            e.service_error().map(|s| s.message.as_str()),
            Some("<html>")
        );
        assert!(!e.is_propagation_denied());
    }
}

//! ARM's error envelope, `{"error":{"code","message"}}` (with `details` for rule findings and unregistered providers),
//! for the errors of [`ArmError`].

use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(crate) use crate::services::arm_error::{ALLOWED_AUDIENCES, ArmError};

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let body = match &self {
            ArmError::MetricsBadRequest(_) => json!({"code": code, "message": message}),
            ArmError::InvalidDataCollectionRule(findings) => {
                let details: Vec<_> = findings
                    .iter()
                    .map(|(c, m, t)| json!({"code": c, "message": m, "target": t}))
                    .collect();
                json!({"error": {"code": code, "message": message, "details": details}})
            }
            // The raw JSON captures give the detail's fields in this order.
            ArmError::MissingSubscriptionRegistration(ns) => json!({"error": {
                "code": code, "message": message,
                "details": [{"code": code, "target": ns, "message": message}],
            }}),
            _ => json!({"error": {"code": code, "message": message}}),
        };
        (status, axum::Json(body)).into_response()
    }
}

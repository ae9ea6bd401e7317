//! Snapshot normalization: volatile values become their shape (`[uuid]`, `[object-id]`,
//! `[datetime]`, `[jwt]`, `[secret]`, `[request-id]`, …) or, for values the scenario knows
//! (the tenant, the app it created), a name (`[tenant-id]`, `[app-id]`); everything else is
//! kept. The result is the same on the emulator and on Azure, so one snapshot serves both.

use entra_emulator::replay::{body_value, is_datetime, is_guid, path_and_query_of, percent_decode};
use serde_json::{Map, Value, json};

use crate::shape::{Kind, decode_jwt, is_jwt, replace_shapes};
use crate::tape::{Actor, Event};

/// Keys whose string value is a secret.
pub const SECRET_KEYS: &[&str] = &["secretText", "client_secret", "password", "clientSecret"];
/// Keys whose GUID value is a directory object id.
const OBJECT_ID_KEYS: &[&str] = &["id", "oid", "sub", "principalId", "objectId"];
/// Keys whose GUID value identifies a request.
const REQUEST_ID_KEYS: &[&str] = &[
    "request-id",
    "client-request-id",
    "trace_id",
    "correlation_id",
];
/// Keys whose value is opaque and differs on every call, tenant or host: token internals,
/// and endpoints a resource names (the emulator's own URL, a real host on Azure).
const OPAQUE_KEYS: &[&str] = &[
    "aio",
    "uti",
    "rh",
    "kid",
    "x5t",
    "x5t#S256",
    "logsIngestion",
    "metricsIngestion",
    "ConnectionString",
];
/// Keys whose value is a Unix time (a number, or a string on the v1 endpoint).
const TIMESTAMP_KEYS: &[&str] = &["iat", "nbf", "exp", "xms_tcdt", "expires_on", "not_before"];

/// Turns recorded exchanges into their normalized, comparable form.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    /// Known values and their names, longest value first.
    labels: Vec<(String, String)>,
}

impl Normalizer {
    /// A normalizer that knows no values yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names `value` `[label]` wherever it appears (empty values are ignored; the first name
    /// given to a value wins).
    pub fn label(&mut self, value: &str, label: &str) {
        self.label_raw(value, &format!("[{label}]"));
        // ARM quotes ids as 32 hex digits in some messages.
        if is_guid(value) {
            self.label_raw(&value.replace('-', ""), &format!("[{label}]"));
        }
    }

    /// Replaces `value` by `replacement` verbatim wherever it appears.
    pub fn label_raw(&mut self, value: &str, replacement: &str) {
        if value.is_empty() || self.labels.iter().any(|(v, _)| v == value) {
            return;
        }
        self.labels.push((value.to_owned(), replacement.to_owned()));
        self.labels
            .sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    }

    /// The snapshot of a scenario's events.
    pub fn events(&self, events: &[Event]) -> Value {
        let mut this = self.clone();
        // The admin's object id differs per tenant; its token names it.
        for event in events {
            if let Event::Exchange(Actor::Admin, ex) = event
                && let Some(token) = body_value(&ex.response_body)["access_token"].as_str()
                && let Some((_, claims)) = decode_jwt(token)
                && let Some(oid) = claims["oid"].as_str()
            {
                this.label(oid, "admin-object-id");
            }
        }
        Value::Array(events.iter().map(|e| this.event(e)).collect())
    }

    fn event(&self, event: &Event) -> Value {
        match event {
            Event::Exchange(actor, ex) => {
                let decode = *actor == Actor::App;
                let target = readable_target(path_and_query_of(&ex.url));
                let mut step = Map::new();
                let target = match self.text(None, &target, false) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                step.insert("request".into(), json!(format!("{} {target}", ex.method)));
                if let Some(body) = ex.request_body.as_deref().filter(|b| !b.is_empty()) {
                    let is_form = ex.request_headers.iter().any(|(k, v)| {
                        k.eq_ignore_ascii_case("content-type")
                            && v.starts_with("application/x-www-form-urlencoded")
                    });
                    let value = if is_form {
                        Value::Object(
                            form_urlencoded::parse(body)
                                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                                .collect(),
                        )
                    } else {
                        body_value(body)
                    };
                    step.insert("body".into(), self.walk(None, &value, decode));
                }
                step.insert("status".into(), json!(ex.status));
                let response = body_value(&ex.response_body);
                if !response.is_null() {
                    let mut response = self.walk(None, &response, decode);
                    // ARM lists role assignments in no defined order (the emulator's is by
                    // their random names): sorted here, so that the snapshot holds.
                    if target.contains("/roleAssignments?")
                        && let Some(items) = response["value"].as_array_mut()
                    {
                        items.sort_by_key(ToString::to_string);
                    }
                    step.insert("response".into(), response);
                }
                Value::Object(step)
            }
            Event::Wait(d) => json!({"wait": format!("{}s", d.as_secs())}),
            Event::Output(v) => json!({"output": self.walk(None, v, false)}),
        }
    }

    /// Normalizes a JSON value; JWTs are decoded when `decode` is set.
    pub fn walk(&self, key: Option<&str>, value: &Value, decode: bool) -> Value {
        match value {
            Value::String(s) => self.text(key, s, decode),
            Value::Number(_) if key.is_some_and(|k| TIMESTAMP_KEYS.contains(&k)) => {
                json!("[timestamp]")
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.walk(key, v, decode)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.walk(Some(k), v, decode)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Normalizes one string, `key` being the JSON key or form field it is the value of.
    pub fn text(&self, key: Option<&str>, s: &str, decode: bool) -> Value {
        let keyed = |set: &[&str]| key.is_some_and(|k| set.contains(&k));
        if s.is_empty() {
            return json!(s);
        }
        if keyed(SECRET_KEYS) {
            return json!("[secret]");
        }
        if key == Some("hint") {
            return json!("[hint]");
        }
        if keyed(OPAQUE_KEYS) {
            return json!("[opaque]");
        }
        if keyed(TIMESTAMP_KEYS) {
            return json!("[timestamp]");
        }
        if key == Some("publisherDomain") {
            return json!("[domain]");
        }
        if is_jwt(s) {
            return match decode.then(|| decode_jwt(s)).flatten() {
                Some((header, claims)) => json!({
                    "header": self.walk(None, &header, false),
                    "claims": self.walk(None, &claims, false),
                }),
                None => json!("[jwt]"),
            };
        }
        if let Some((_, label)) = self.labels.iter().find(|(v, _)| v == s) {
            return json!(label);
        }
        if is_guid(s) {
            return json!(if keyed(OBJECT_ID_KEYS) {
                "[object-id]"
            } else if keyed(REQUEST_ID_KEYS) {
                "[request-id]"
            } else {
                "[uuid]"
            });
        }
        if is_datetime(s) {
            return json!("[datetime]");
        }
        let mut out = s.to_owned();
        for (value, label) in &self.labels {
            out = out.replace(value.as_str(), label);
        }
        json!(replace_shapes(&out, |kind, _| Some(
            match kind {
                Kind::Guid => "[uuid]",
                Kind::DateTime => "[datetime]",
                Kind::Email => "[email]",
                Kind::Jwt => "[jwt]",
            }
            .to_owned()
        )))
    }
}

/// A request target as a person reads it: escapes decoded, the query as servers decode it
/// (`+` is a space).
fn readable_target(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut out = percent_decode(path);
    if !query.is_empty() {
        let pairs: Vec<String> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::encode_unsigned_jwt;

    fn normalizer() -> Normalizer {
        let mut n = Normalizer::new();
        n.label("e17a0000-0000-4000-8000-000000000001", "tenant-id");
        n.label("1a2b3c4d", "run");
        n
    }

    #[test]
    fn known_values_get_names_and_the_rest_their_shape() {
        let n = normalizer();
        let body = json!({
            "id": "88cf6d82-d8e6-41af-8205-71bfbff43d56",
            "appId": "6002bdc3-7496-4654-aa6a-99454f15a071",
            "appOwnerOrganizationId": "e17a0000-0000-4000-8000-000000000001",
            "displayName": "conformance-portal-1a2b3c4d",
            "createdDateTime": "2023-08-23T12:43:55.3291131Z",
            "secretText": "abcQ~xyz",
            "hint": "abc",
            "passwordCredentials": [],
            "deletedDateTime": null,
            "error": {"innerError": {"date": "2023-02-14T11:10:50", "request-id": "c6bde806-0000-4000-8000-000000000000"}},
            "error_description": "AADSTS90002: Tenant 'e17a0000-0000-4000-8000-000000000001' not found.\r\nTrace ID: 0e94f0c2-80a2-4505-a297-5e51b6953800\r\nTimestamp: 2025-04-23 02:35:17Z",
            "expires_in": 3599,
            "expires_on": "1622089429",
        });
        assert_eq!(
            n.walk(None, &body, false),
            json!({
                "id": "[object-id]",
                "appId": "[uuid]",
                "appOwnerOrganizationId": "[tenant-id]",
                "displayName": "conformance-portal-[run]",
                "createdDateTime": "[datetime]",
                "secretText": "[secret]",
                "hint": "[hint]",
                "passwordCredentials": [],
                "deletedDateTime": null,
                "error": {"innerError": {"date": "[datetime]", "request-id": "[request-id]"}},
                "error_description": "AADSTS90002: Tenant '[tenant-id]' not found.\r\nTrace ID: [uuid]\r\nTimestamp: [datetime]",
                "expires_in": 3599,
                "expires_on": "[timestamp]",
            })
        );
    }

    #[test]
    fn app_tokens_are_decoded_and_admin_tokens_are_not() {
        let n = normalizer();
        let token = encode_unsigned_jwt(
            &json!({"typ": "JWT", "alg": "RS256", "kid": "abc"}),
            &json!({"aud": "https://management.azure.com", "tid": "e17a0000-0000-4000-8000-000000000001", "iat": 1, "uti": "x", "ver": "1.0"}),
        );
        let body = json!({"access_token": token});
        assert_eq!(n.walk(None, &body, false), json!({"access_token": "[jwt]"}));
        assert_eq!(
            n.walk(None, &body, true),
            json!({"access_token": {
                "header": {"typ": "JWT", "alg": "RS256", "kid": "[opaque]"},
                "claims": {"aud": "https://management.azure.com", "tid": "[tenant-id]", "iat": "[timestamp]", "uti": "[opaque]", "ver": "1.0"},
            }})
        );
    }

    #[test]
    fn exchanges_show_the_request_line_form_fields_and_status() {
        let n = normalizer();
        let ex = entra_client::Exchange {
            method: "POST".into(),
            url: "http://127.0.0.1:4000/e17a0000-0000-4000-8000-000000000001/oauth2/v2.0/token"
                .into(),
            request_headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            request_body: Some("grant_type=client_credentials&client_secret=s%7E1".into()),
            status: 401,
            response_headers: vec![],
            response_body: r#"{"error":"invalid_client"}"#.into(),
        };
        let filter = entra_client::Exchange {
            method: "GET".into(),
            url: "https://graph.microsoft.com/v1.0/applications?$filter=startswith(displayName%2C%27conformance-1a2b3c4d%27)+and+x".into(),
            request_headers: vec![],
            request_body: None,
            status: 200,
            response_headers: vec![],
            response_body: bytes::Bytes::new(),
        };
        let events = [
            Event::Exchange(Actor::App, ex),
            Event::Exchange(Actor::Admin, filter),
            Event::Wait(std::time::Duration::from_secs(90)),
        ];
        assert_eq!(
            n.events(&events),
            json!([
                {
                    "request": "POST /[tenant-id]/oauth2/v2.0/token",
                    "body": {"grant_type": "client_credentials", "client_secret": "[secret]"},
                    "status": 401,
                    "response": {"error": "invalid_client"},
                },
                {
                    "request": "GET /v1.0/applications?$filter=startswith(displayName,'conformance-[run]') and x",
                    "status": 200,
                },
                {"wait": "90s"},
            ])
        );
    }
}

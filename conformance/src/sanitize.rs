//! Fixtures: a scenario's exchanges as a test-proxy recording that can be committed, even
//! when it was recorded on real Azure.
//!
//! Sanitizing keeps every value's shape. Secrets become `Sanitized-secret-N` (the admin's
//! `Sanitized-admin-secret`), numbered in order of appearance so that a replay can tell them
//! apart; tokens are re-encoded with their claims sanitized and a signature reading
//! `Sanitized`; cookies are dropped. The tenant, subscription and admin become the
//! emulator's documented defaults, the tenant's domains `emulator.onmicrosoft.com` and e-mail
//! addresses `sanitized@example.com`: a fixture recorded anywhere looks as if recorded on a
//! default emulator, so tools configured for one can be pointed at its playback.
//! Emulator URLs become the Azure host that serves the path.

use std::collections::BTreeMap;

use entra_client::Exchange;
use entra_emulator::config::{
    DEFAULT_ADMIN_CLIENT_ID, DEFAULT_ADMIN_OBJECT_ID, DEFAULT_SUBSCRIPTION_ID,
    DEFAULT_TENANT_DOMAIN, DEFAULT_TENANT_ID,
};
use entra_emulator::replay::{Entry, Recording, SANITIZED, body_value, path_and_query_of};
use serde_json::{Value, json};

use crate::normalize::SECRET_KEYS;
use crate::shape::{Kind, decode_jwt, encode_unsigned_jwt, replace_shapes};
use crate::tape::{Actor, Event};

/// Where the emulator's control API is put in fixtures (`.invalid` is reserved for names
/// that resolve nowhere).
pub const CONTROL_HOST: &str = "https://entra-emulator.invalid";

/// Placeholder of the admin's secret.
pub const ADMIN_SECRET: &str = "Sanitized-admin-secret";

/// Response headers that say nothing about the service's answer, or could identify a session.
const DROPPED_HEADERS: &[&str] = &[
    "set-cookie",
    "cookie",
    "date",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// The identities of the target a recording was made on, to replace.
#[derive(Debug, Clone)]
pub struct Identities {
    /// Tenant id.
    pub tenant_id: String,
    /// Default subscription id.
    pub subscription_id: String,
    /// The admin's client id.
    pub admin_client_id: String,
    /// The admin's secret.
    pub admin_secret: String,
    /// The tenant's display name, when known.
    pub tenant_name: Option<String>,
    /// The emulator's base URL (`None` on Azure, whose URLs are already real).
    pub emulator_base: Option<String>,
}

/// Builds a sanitized recording.
#[derive(Debug)]
pub struct Sanitizer {
    /// Identity values and their replacements, longest first.
    replacements: Vec<(String, String)>,
    /// Secret values and their placeholders.
    secrets: Vec<(String, String)>,
    emulator_base: Option<String>,
}

impl Sanitizer {
    /// A sanitizer for recordings made on the target described by `ids`.
    pub fn new(ids: &Identities) -> Self {
        let mut s = Self {
            replacements: Vec::new(),
            secrets: vec![(ids.admin_secret.clone(), ADMIN_SECRET.to_owned())],
            emulator_base: ids.emulator_base.clone(),
        };
        s.replace(&ids.tenant_id, &DEFAULT_TENANT_ID.to_string());
        s.replace(&ids.subscription_id, &DEFAULT_SUBSCRIPTION_ID.to_string());
        s.replace(&ids.admin_client_id, &DEFAULT_ADMIN_CLIENT_ID.to_string());
        if let Some(name) = &ids.tenant_name {
            // Only where Entra's messages quote it: a tenant named like a word of an API
            // path must not rewrite the path.
            let ours = entra_emulator::Config::default().tenant_display_name;
            for (value, with) in tenant_name_forms(name, &ours) {
                s.replace(&value, &with);
            }
        }
        s
    }

    fn replace(&mut self, value: &str, with: &str) {
        if !value.is_empty() && value != with {
            self.replacements.push((value.to_owned(), with.to_owned()));
            self.replacements
                .sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        }
    }

    fn secret(&mut self, value: &str) {
        if !value.is_empty() && !self.secrets.iter().any(|(v, _)| v == value) {
            let n = self.secrets.len();
            self.secrets
                .push((value.to_owned(), format!("{SANITIZED}-secret-{n}")));
        }
    }

    /// A sanitizer for recordings published by others (SDK and CLI test recordings): no
    /// identities of ours to replace, secrets by key, tokens and addresses by shape.
    pub fn for_public_recordings() -> Self {
        Self {
            replacements: Vec::new(),
            secrets: Vec::new(),
            emulator_base: None,
        }
    }

    /// `entry` (already in the recording format) with the same treatment as a recorded
    /// exchange: dropped headers, sanitized header values, forms, JSON bodies and URI.
    pub fn recorded_entry(&self, entry: &Entry) -> Entry {
        let headers = |map: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            map.iter()
                .filter(|(k, _)| !DROPPED_HEADERS.iter().any(|d| k.eq_ignore_ascii_case(d)))
                .map(|(k, v)| (k.clone(), self.header(k, v)))
                .collect()
        };
        let request_body = match &entry.request_body {
            Value::String(form)
                if form.contains('=') && !form.trim_start().starts_with(['[', '{']) =>
            {
                Value::String(self.form(form.as_bytes()))
            }
            other => self.json(None, other),
        };
        Entry {
            request_uri: self.text(&entry.request_uri),
            request_method: entry.request_method.clone(),
            request_headers: headers(&entry.request_headers),
            request_body,
            status_code: entry.status_code,
            response_headers: headers(&entry.response_headers),
            response_body: self.json(None, &entry.response_body),
        }
    }

    /// The recording of `events`, with `variables` (provenance) attached.
    pub fn recording(
        mut self,
        events: &[Event],
        variables: BTreeMap<String, String>,
        start: time::OffsetDateTime,
    ) -> Recording {
        // Number the secrets in order of appearance, and find the admin's object id.
        for event in events {
            let Event::Exchange(actor, ex) = event else {
                continue;
            };
            if let Some(body) = &ex.request_body {
                for (k, v) in form_urlencoded::parse(body) {
                    if k == "client_secret" {
                        self.secret(&v);
                    }
                }
            }
            let response = body_value(&ex.response_body);
            for key in SECRET_KEYS {
                if let Some(v) = response[key].as_str() {
                    self.secret(v);
                }
            }
            if *actor == Actor::Admin
                && let Some((_, claims)) = response["access_token"].as_str().and_then(decode_jwt)
                && let Some(oid) = claims["oid"].as_str()
            {
                self.replace(oid, &DEFAULT_ADMIN_OBJECT_ID.to_string());
            }
        }
        self.secrets
            .sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        let mut now = start;
        let mut entries = Vec::new();
        for event in events {
            match event {
                Event::Exchange(_, ex) => entries.push(self.entry(ex)),
                Event::Wait(d) => {
                    now += *d;
                    entries.push(wait_entry(d.as_secs(), now));
                }
                Event::Output(_) => {}
            }
        }
        Recording { entries, variables }
    }

    fn entry(&self, ex: &Exchange) -> Entry {
        let headers = |list: &[(String, String)]| -> BTreeMap<String, String> {
            list.iter()
                .filter(|(k, _)| !DROPPED_HEADERS.iter().any(|d| k.eq_ignore_ascii_case(d)))
                .map(|(k, v)| (k.clone(), self.header(k, v)))
                .collect()
        };
        let is_form = ex.request_headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type")
                && v.starts_with("application/x-www-form-urlencoded")
        });
        let request_body = match ex.request_body.as_deref() {
            Some(b) if is_form => Value::String(self.form(b)),
            Some(b) => self.json(None, &body_value(b)),
            None => Value::Null,
        };
        Entry {
            request_uri: self.text(&self.uri(&ex.url)),
            request_method: ex.method.clone(),
            request_headers: headers(&ex.request_headers),
            request_body,
            status_code: ex.status,
            response_headers: headers(&ex.response_headers),
            response_body: self.json(None, &body_value(&ex.response_body)),
        }
    }

    /// The URL on the Azure host that serves its path, when it points at the emulator.
    fn uri(&self, url: &str) -> String {
        match &self.emulator_base {
            Some(base) if url.starts_with(base.as_str()) => {
                let path = path_and_query_of(url);
                format!("{}{path}", azure_host_for(path))
            }
            _ => url.to_owned(),
        }
    }

    fn header(&self, name: &str, value: &str) -> String {
        if name.eq_ignore_ascii_case("authorization") {
            return match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    format!("{scheme} {}", self.text(token))
                }
                Some((scheme, _)) => format!("{scheme} {SANITIZED}"),
                None => SANITIZED.to_owned(),
            };
        }
        self.text(value)
    }

    fn form(&self, body: &[u8]) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(body) {
            if SECRET_KEYS.contains(&k.as_ref()) {
                out.append_pair(&k, &self.secret_placeholder(&v));
            } else {
                out.append_pair(&k, &self.text(&v));
            }
        }
        out.finish()
    }

    fn json(&self, key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::String(s) if key.is_some_and(|k| SECRET_KEYS.contains(&k)) => {
                json!(self.secret_placeholder(s))
            }
            Value::String(s) => json!(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(key, v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.json(Some(k), v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn secret_placeholder(&self, value: &str) -> String {
        self.secrets
            .iter()
            .find(|(v, _)| v == value)
            .map_or_else(|| format!("{SANITIZED}-secret"), |(_, p)| p.clone())
    }

    /// Sanitizes free text: tokens, secrets, identities, e-mail addresses, tenant domains.
    fn text(&self, s: &str) -> String {
        let mut out = replace_shapes(s, |kind, found| match kind {
            Kind::Jwt => Some(self.token(found)),
            Kind::Email => Some("sanitized@example.com".to_owned()),
            Kind::Guid | Kind::DateTime => None,
        });
        // Secrets quoted in text (real ones are 40 characters; short deliberate wrong values
        // only ever appear as form fields, handled by key).
        let secrets = self.secrets.iter().filter(|(v, _)| v.len() >= 16);
        for (value, placeholder) in secrets.chain(&self.replacements) {
            out = out.replace(value.as_str(), placeholder);
        }
        // The emulator's own URL in a body (endpoints of rules, connection strings).
        if let Some(base) = &self.emulator_base {
            out = out.replace(base.trim_end_matches('/'), CONTROL_HOST);
        }
        replace_tenant_domains(&out)
    }

    fn token(&self, token: &str) -> String {
        match decode_jwt(token) {
            Some((header, claims)) => {
                encode_unsigned_jwt(&self.json(None, &header), &self.json(None, &claims))
            }
            None => SANITIZED.to_owned(),
        }
    }
}

/// What in a recording still looks unsanitized: a token with a real signature, a secret
/// field or form value that is not a placeholder, an e-mail address, the emulator's
/// documented admin secret. Empty for a recording fit to commit.
pub fn leaks(recording: &Recording) -> Vec<String> {
    let mut found = Vec::new();
    for (i, e) in recording.entries.iter().enumerate() {
        text_leaks(&mut found, &format!("#{i} uri"), &e.request_uri);
        for (k, v) in e.request_headers.iter().chain(&e.response_headers) {
            text_leaks(&mut found, &format!("#{i} header {k}"), v);
            let bearer = v.to_ascii_lowercase().starts_with("bearer ");
            if k.eq_ignore_ascii_case("authorization")
                && !bearer
                && *v != format!("Basic {SANITIZED}")
                && v != SANITIZED
            {
                found.push(format!("#{i} header {k}: not sanitized"));
            }
        }
        for body in [&e.request_body, &e.response_body] {
            let mut fields = Vec::new();
            collect_strings(None, body, &mut fields);
            if let Value::String(form) = body {
                fields.extend(
                    form_urlencoded::parse(form.as_bytes())
                        .map(|(k, v)| (Some(k.into_owned()), v.into_owned())),
                );
            }
            for (key, value) in fields {
                text_leaks(&mut found, &format!("#{i} body"), &value);
                let secret = key.as_deref().is_some_and(|k| SECRET_KEYS.contains(&k));
                if secret && !value.starts_with(SANITIZED) {
                    found.push(format!(
                        "#{i} body {}: not sanitized",
                        key.unwrap_or_default()
                    ));
                }
            }
        }
    }
    found
}

fn text_leaks(found: &mut Vec<String>, at: &str, s: &str) {
    if s.contains(entra_emulator::config::DEFAULT_ADMIN_CLIENT_SECRET) {
        found.push(format!("{at}: the admin secret"));
    }
    replace_shapes(s, |kind, value| {
        let signed = kind == Kind::Jwt && !value.ends_with(&format!(".{URL_SAFE_SANITIZED}"));
        let email = kind == Kind::Email && value != "sanitized@example.com";
        if signed || email {
            found.push(format!("{at}: {kind:?} {}…", &value[..value.len().min(12)]));
        }
        None
    });
}

/// Base64url of [`SANITIZED`]: the signature of sanitized tokens.
const URL_SAFE_SANITIZED: &str = "U2FuaXRpemVk";

fn collect_strings(key: Option<&str>, value: &Value, out: &mut Vec<(Option<String>, String)>) {
    match value {
        Value::String(s) => out.push((key.map(str::to_owned), s.clone())),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(key, v, out)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| collect_strings(Some(k), v, out)),
        _ => {}
    }
}

/// The forms in which Entra's messages name a tenant (`directory 'X'`, `tenant named X`),
/// each with `ours` in its place.
pub fn tenant_name_forms(name: &str, ours: &str) -> [(String, String); 2] {
    [
        (format!("'{name}'"), format!("'{ours}'")),
        (
            format!("tenant named {name}"),
            format!("tenant named {ours}"),
        ),
    ]
}

/// `*.onmicrosoft.com` names become the emulator's domain.
fn replace_tenant_domains(s: &str) -> String {
    const SUFFIX: &str = ".onmicrosoft.com";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(SUFFIX) {
        let label_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(0, |i| i + 1);
        out.push_str(&rest[..label_start]);
        out.push_str(if label_start < at {
            DEFAULT_TENANT_DOMAIN
        } else {
            SUFFIX
        });
        rest = &rest[at + SUFFIX.len()..];
    }
    out.push_str(rest);
    out
}

/// The region scenarios put their resources in: regional hosts (custom metrics) name it,
/// since the path does not.
pub const SCENARIO_REGION: &str = "eastus";

/// The Azure host that serves `path` (the emulator serves every service on one URL).
pub fn azure_host_for(path: &str) -> &'static str {
    let under = |p: &str| path.starts_with(p);
    let route = path.split_once('?').map_or(path, |(route, _)| route);
    // A resource's `/metrics` is custom-metrics ingestion; ARM's read API is under
    // `providers/Microsoft.Insights/metrics`.
    let custom_metrics = route.ends_with("/metrics")
        && !route
            .to_ascii_lowercase()
            .ends_with("/providers/microsoft.insights/metrics");
    if under("/v1.0/") || under("/beta/") {
        "https://graph.microsoft.com"
    } else if under("/_emulator/") {
        CONTROL_HOST
    } else if under("/subscriptions") && custom_metrics {
        "https://eastus.monitoring.azure.com"
    } else if under("/dataCollectionRules/") {
        // Really the rule's (or its endpoint's) own host, which the path does not name.
        "https://logs.ingest.monitor.azure.com"
    } else if under("/subscriptions")
        || under("/providers")
        || under("/tenants")
        || under("/metadata/")
    {
        "https://management.azure.com"
    } else if under("/v1/workspaces") {
        "https://api.loganalytics.io"
    } else if under("/v1/apps") {
        "https://api.applicationinsights.io"
    } else {
        "https://login.microsoftonline.com"
    }
}

/// The entry standing for a wait: the emulator's clock advance (on Azure the wait was real;
/// the entry tells a replay how much time passed there).
fn wait_entry(seconds: u64, now: time::OffsetDateTime) -> Entry {
    let json_headers = BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
    let now = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Entry {
        request_uri: format!("{CONTROL_HOST}/_emulator/clock/advance"),
        request_method: "POST".into(),
        request_headers: json_headers.clone(),
        request_body: json!({"seconds": seconds}),
        status_code: 200,
        response_headers: json_headers,
        response_body: json!({"now": now}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn ids() -> Identities {
        Identities {
            tenant_id: TENANT.into(),
            subscription_id: "11111111-2222-4333-8444-555555555555".into(),
            admin_client_id: "0c2b7a5e-1111-4222-8333-444455556666".into(),
            admin_secret: "admQ~real-admin-secret-value".into(),
            tenant_name: Some("Contoso".into()),
            emulator_base: None,
        }
    }

    fn exchange(url: &str, form: &str, response: Value) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: url.into(),
            request_headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("authorization".into(), "Basic c2VjcmV0".into()),
            ],
            request_body: Some(form.to_owned().into()),
            status: 200,
            response_headers: vec![
                ("set-cookie".into(), "fpc=abc".into()),
                ("x-ms-request-id".into(), "r1".into()),
            ],
            response_body: response.to_string().into(),
        }
    }

    #[test]
    fn secrets_tokens_and_identities_leave_no_trace() {
        let admin_token = encode_unsigned_jwt(
            &json!({"alg": "RS256"}),
            &json!({"tid": TENANT, "oid": "99999999-8888-4777-8666-555555555555", "upn": "admin@contoso.onmicrosoft.com"}),
        );
        let events = vec![
            Event::Exchange(
                Actor::Admin,
                exchange(
                    &format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"),
                    "grant_type=client_credentials&client_id=0c2b7a5e-1111-4222-8333-444455556666&client_secret=admQ%7Ereal-admin-secret-value",
                    json!({"access_token": admin_token}),
                ),
            ),
            Event::Exchange(
                Actor::Admin,
                exchange(
                    "https://graph.microsoft.com/v1.0/applications/x/addPassword",
                    "",
                    json!({"secretText": "newQ~value-one-0123456789", "hint": "new", "publisherDomain": "contoso.onmicrosoft.com"}),
                ),
            ),
            Event::Exchange(
                Actor::App,
                exchange(
                    &format!("https://login.microsoftonline.com/{TENANT}/oauth2/token"),
                    "client_secret=newQ%7Evalue-one-0123456789",
                    json!({"error_description": format!("AADSTS700016: not found in the directory 'Contoso'. Tenant {TENANT}")}),
                ),
            ),
        ];
        let start = time::macros::datetime!(2025-01-01 0:00 UTC);
        let recording = Sanitizer::new(&ids()).recording(&events, BTreeMap::new(), start);
        let text = serde_json::to_string(&recording).expect("json");
        for leak in [
            TENANT,
            "real-admin-secret",
            "value-one",
            "Contoso",
            "contoso",
            "0c2b7a5e-1111-4222-8333-444455556666",
            "99999999-8888-4777-8666-555555555555",
            "fpc=abc",
            "c2VjcmV0",
        ] {
            assert!(!text.contains(leak), "{leak} leaked: {text}");
        }
        let e = &recording.entries;
        assert_eq!(
            e[0].request_body,
            json!(format!(
                "grant_type=client_credentials&client_id={DEFAULT_ADMIN_CLIENT_ID}&client_secret={ADMIN_SECRET}"
            ))
        );
        let (_, claims) = decode_jwt(e[0].response_body["access_token"].as_str().expect("token"))
            .expect("still a token");
        assert_eq!(
            claims,
            json!({"tid": DEFAULT_TENANT_ID.to_string(), "oid": DEFAULT_ADMIN_OBJECT_ID.to_string(), "upn": "sanitized@example.com"})
        );
        assert_eq!(e[1].response_body["secretText"], "Sanitized-secret-1");
        assert_eq!(e[1].response_body["publisherDomain"], DEFAULT_TENANT_DOMAIN);
        assert_eq!(e[2].request_body, json!("client_secret=Sanitized-secret-1"));
        assert_eq!(
            e[2].response_body["error_description"],
            format!(
                "AADSTS700016: not found in the directory 'Entra Emulator'. Tenant {DEFAULT_TENANT_ID}"
            )
        );
        assert_eq!(e[0].request_headers["authorization"], "Basic Sanitized");
        assert!(!e[0].response_headers.contains_key("set-cookie"));
        assert_eq!(e[0].response_headers["x-ms-request-id"], "r1");
    }

    #[test]
    fn emulator_urls_become_the_azure_hosts_and_waits_become_clock_advances() {
        let mut ids = ids();
        ids.emulator_base = Some("http://127.0.0.1:4000".into());
        let events = vec![
            Event::Exchange(
                Actor::Admin,
                exchange(
                    "http://127.0.0.1:4000/v1.0/applications?$top=1",
                    "",
                    json!({}),
                ),
            ),
            Event::Wait(std::time::Duration::from_secs(120)),
        ];
        let start = time::macros::datetime!(2025-01-01 0:00 UTC);
        let r = Sanitizer::new(&ids).recording(&events, BTreeMap::new(), start);
        assert_eq!(
            r.entries[0].request_uri,
            "https://graph.microsoft.com/v1.0/applications?$top=1"
        );
        assert_eq!(
            r.entries[1].request_uri,
            "https://entra-emulator.invalid/_emulator/clock/advance"
        );
        assert_eq!(r.entries[1].request_body, json!({"seconds": 120}));
        assert_eq!(
            r.entries[1].response_body,
            json!({"now": "2025-01-01T00:02:00Z"})
        );
        assert_eq!(
            azure_host_for(
                "/subscriptions/x/resourceGroups/g/providers/Microsoft.Web/sites/a/metrics"
            ),
            format!("https://{SCENARIO_REGION}.monitoring.azure.com")
        );
        assert_eq!(
            azure_host_for(
                "/subscriptions/x/resourceGroups/g/providers/Microsoft.Web/sites/a/providers/Microsoft.Insights/metrics?api-version=2023-10-01"
            ),
            "https://management.azure.com"
        );
        assert_eq!(
            azure_host_for("/dataCollectionRules/dcr-1/streams/Custom-T?api-version=2023-01-01"),
            "https://logs.ingest.monitor.azure.com"
        );
        let body = Sanitizer::new(&ids)
            .text("InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:4000/");
        assert_eq!(
            body,
            "InstrumentationKey=k;IngestionEndpoint=https://entra-emulator.invalid/"
        );
        assert_eq!(
            azure_host_for("/e17a/oauth2/token"),
            "https://login.microsoftonline.com"
        );
        assert_eq!(
            azure_host_for("/subscriptions/x/providers/Microsoft.Authorization/roleAssignments"),
            "https://management.azure.com"
        );
    }

    #[test]
    fn leaks_are_found_and_sanitized_recordings_have_none() {
        let events = vec![Event::Exchange(
            Actor::Admin,
            exchange(
                "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                "client_secret=admQ%7Ereal-admin-secret-value",
                json!({"access_token": encode_unsigned_jwt(&json!({}), &json!({"upn": "a@contoso.com"})), "secretText": "x"}),
            ),
        )];
        let start = time::macros::datetime!(2025-01-01 0:00 UTC);
        let clean = Sanitizer::new(&ids()).recording(&events, BTreeMap::new(), start);
        assert_eq!(leaks(&clean), Vec::<String>::new());

        let mut dirty = clean.clone();
        let e = &mut dirty.entries[0];
        e.request_body = json!("client_secret=hunter2");
        e.response_body = json!({"access_token": "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.c2ln", "secretText": "abcQ~x", "mail": "a@contoso.com"});
        e.request_headers
            .insert("authorization".into(), "Basic c2VjcmV0".into());
        assert_eq!(
            leaks(&dirty),
            [
                "#0 header authorization: not sanitized",
                "#0 body client_secret: not sanitized",
                "#0 body: Jwt eyJhbGciOiJu…",
                "#0 body secretText: not sanitized",
                "#0 body: Email a@contoso.co…",
            ]
        );
    }

    #[test]
    fn only_onmicrosoft_names_change() {
        assert_eq!(
            replace_tenant_domains("a contoso-1.onmicrosoft.com b .onmicrosoft.com"),
            "a emulator.onmicrosoft.com b .onmicrosoft.com"
        );
    }
}

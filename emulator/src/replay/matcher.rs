//! How a request is matched to a recorded one, chosen per playback session: the Azure SDK
//! test-proxy's matchers (`DefaultMatcher`, `BodilessMatcher`, `HeaderlessMatcher`,
//! `CustomDefaultMatcher` with its `compareBodies`, `excludedHeaders`, `ignoredHeaders`,
//! `ignoreQueryOrdering` and `ignoredQueryParameters` options), and `JsonBodyMatcher`, which
//! compares JSON bodies with named fields ignored (`ignoredBodyFields`, also accepted by
//! `CustomDefaultMatcher`).
//!
//! Differences from the test-proxy, for recordings that are sanitized and clients that are
//! not the recorder: credentials and connection headers are excluded (the recording holds
//! sanitized ones); a header counts only when both the request and the recording have it
//! (a tool's extra headers do not prevent a match); query parameter order is ignored unless
//! `ignoreQueryOrdering` is set to `false`; GUIDs, date-times and sanitized values match by
//! shape, as playback always did.

use serde::Serialize;
use serde_json::{Value, json};

/// Headers no matcher compares: the test-proxy's excluded headers (`Request-Id`,
/// `traceparent`), credentials and what describes the connection.
const EXCLUDED: &[&str] = &[
    "request-id",
    "traceparent",
    "authorization",
    "cookie",
    "host",
    "connection",
    "accept-encoding",
    "transfer-encoding",
];

/// Headers whose values never count: the test-proxy's ignored headers.
const IGNORED: &[&str] = &[
    "date",
    "x-ms-date",
    "x-ms-client-request-id",
    "x-ms-client-id",
    "user-agent",
    "x-ms-useragent",
    "x-ms-version",
    "if-none-match",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "referrer",
    "referer",
    "origin",
    "content-length",
];

/// A matcher: what of a request must agree with a recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// `DefaultMatcher`, `BodilessMatcher`, `HeaderlessMatcher`, `CustomDefaultMatcher` or
    /// `JsonBodyMatcher`.
    pub name: String,
    /// Whether bodies must agree.
    pub compare_bodies: bool,
    /// Whether headers both sides have must agree.
    pub compare_headers: bool,
    /// Further headers never compared.
    pub excluded_headers: Vec<String>,
    /// Further headers whose values are not compared.
    pub ignored_headers: Vec<String>,
    /// Whether the order of query parameters may differ.
    pub ignore_query_ordering: bool,
    /// Query parameters whose values are not compared (their presence is).
    pub ignored_query_parameters: Vec<String>,
    /// Body fields not compared: a plain name at any depth (`displayName`), or a dotted path
    /// from the top (`passwordCredential.displayName`); form fields by name.
    pub ignored_body_fields: Vec<String>,
}

impl Default for Matcher {
    fn default() -> Self {
        Self {
            name: "DefaultMatcher".into(),
            compare_bodies: true,
            compare_headers: true,
            excluded_headers: Vec::new(),
            ignored_headers: Vec::new(),
            ignore_query_ordering: true,
            ignored_query_parameters: Vec::new(),
            ignored_body_fields: Vec::new(),
        }
    }
}

/// A list option: the test-proxy's comma-separated string, or a JSON array.
fn list(options: &Value, key: &str) -> Result<Vec<String>, String> {
    match &options[key] {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{key}: every item must be a string"))
            })
            .collect(),
        _ => Err(format!(
            "{key}: expected a comma-separated string or a list"
        )),
    }
}

fn flag(options: &Value, key: &str, default: bool) -> Result<bool, String> {
    match &options[key] {
        Value::Null => Ok(default),
        Value::Bool(b) => Ok(*b),
        _ => Err(format!("{key}: expected true or false")),
    }
}

impl Matcher {
    /// The matcher `name` with `options` (a JSON object, or null).
    pub fn named(name: &str, options: &Value) -> Result<Self, String> {
        if !(options.is_null() || options.is_object()) {
            return Err("matcher options must be a JSON object".into());
        }
        let known = [
            "matcher",
            "compareBodies",
            "excludedHeaders",
            "ignoredHeaders",
            "ignoreQueryOrdering",
            "ignoredQueryParameters",
            "ignoredBodyFields",
        ];
        if let Some(unknown) = options
            .as_object()
            .and_then(|m| m.keys().find(|k| !known.contains(&k.as_str())))
        {
            return Err(format!("unknown matcher option {unknown:?}"));
        }
        let base = Self {
            name: name.to_owned(),
            ..Self::default()
        };
        let simple = |m: Self| {
            let extra = options
                .as_object()
                .is_some_and(|o| o.keys().any(|k| k != "matcher"));
            if extra {
                Err(format!(
                    "{name} takes no options (CustomDefaultMatcher does)"
                ))
            } else {
                Ok(m)
            }
        };
        match name {
            "DefaultMatcher" => simple(base),
            "BodilessMatcher" => simple(Self {
                compare_bodies: false,
                ..base
            }),
            "HeaderlessMatcher" => simple(Self {
                compare_headers: false,
                ..base
            }),
            "CustomDefaultMatcher" | "JsonBodyMatcher" => Ok(Self {
                compare_bodies: flag(options, "compareBodies", true)?,
                excluded_headers: list(options, "excludedHeaders")?,
                ignored_headers: list(options, "ignoredHeaders")?,
                ignore_query_ordering: flag(options, "ignoreQueryOrdering", true)?,
                ignored_query_parameters: list(options, "ignoredQueryParameters")?,
                ignored_body_fields: list(options, "ignoredBodyFields")?,
                ..base
            }),
            other => Err(format!(
                "unknown matcher {other:?}: DefaultMatcher, BodilessMatcher, HeaderlessMatcher, CustomDefaultMatcher or JsonBodyMatcher"
            )),
        }
    }

    /// A matcher from the command line: `NAME` or `NAME:{options as JSON}`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (name, options) = match spec.split_once(':') {
            Some((name, json)) => (
                name.trim(),
                serde_json::from_str(json).map_err(|e| format!("matcher options: {e}"))?,
            ),
            None => (spec.trim(), Value::Null),
        };
        Self::named(name, &options)
    }

    /// A matcher from the control API's body: `{"matcher": NAME, …options}`.
    pub fn from_body(body: &Value) -> Result<Self, String> {
        let name = body["matcher"]
            .as_str()
            .ok_or("the body needs \"matcher\": DefaultMatcher, BodilessMatcher, HeaderlessMatcher, CustomDefaultMatcher or JsonBodyMatcher")?;
        Self::named(name, body)
    }

    /// Whether header `name` is compared at all.
    pub(crate) fn excludes_header(&self, name: &str) -> bool {
        !self.compare_headers
            || EXCLUDED.iter().any(|h| name.eq_ignore_ascii_case(h))
            || self
                .excluded_headers
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
    }

    /// Whether header `name`'s value is compared.
    pub(crate) fn ignores_header_value(&self, name: &str) -> bool {
        IGNORED.iter().any(|h| name.eq_ignore_ascii_case(h))
            || self
                .ignored_headers
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
    }

    /// Whether query parameter `name`'s value is compared.
    pub(crate) fn ignores_query_value(&self, name: &str) -> bool {
        self.ignored_query_parameters
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
    }

    /// Whether the body field at `path` (`$.a.b`, or a form field name) is compared.
    pub(crate) fn ignores_body_field(&self, path: &str) -> bool {
        let dotted = path.trim_start_matches('$').trim_start_matches('.');
        let last = dotted.rsplit('.').next().unwrap_or(dotted);
        let last = last.split('[').next().unwrap_or(last);
        self.ignored_body_fields.iter().any(|f| {
            if f.contains('.') {
                dotted == f
            } else {
                last == f
            }
        })
    }

    /// The matcher as the control API shows it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| json!({"name": self.name}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_options_and_command_line_forms() {
        assert_eq!(Matcher::parse("DefaultMatcher"), Ok(Matcher::default()));
        let bodiless = Matcher::parse("BodilessMatcher").expect("known");
        assert!(!bodiless.compare_bodies && bodiless.compare_headers);
        assert!(
            !Matcher::parse("HeaderlessMatcher")
                .expect("known")
                .compare_headers
        );
        let custom = Matcher::parse(
            r#"CustomDefaultMatcher:{"compareBodies": false, "excludedHeaders": "x-a, x-b", "ignoredQueryParameters": ["api-version"], "ignoreQueryOrdering": false}"#,
        )
        .expect("custom");
        assert!(!custom.compare_bodies && !custom.ignore_query_ordering);
        assert_eq!(custom.excluded_headers, ["x-a", "x-b"]);
        assert!(custom.excludes_header("X-B") && custom.excludes_header("Authorization"));
        assert!(custom.ignores_query_value("API-VERSION"));
        let json = Matcher::from_body(
            &json!({"matcher": "JsonBodyMatcher", "ignoredBodyFields": "displayName,passwordCredential.endDateTime"}),
        )
        .expect("json body");
        assert!(json.ignores_body_field("$.displayName"));
        assert!(json.ignores_body_field("$.web.displayName"));
        assert!(json.ignores_body_field("$.passwordCredential.endDateTime"));
        assert!(!json.ignores_body_field("$.endDateTime"));
        assert!(json.ignores_header_value("User-Agent"));
        assert!(
            Matcher::parse("NoSuchMatcher")
                .unwrap_err()
                .contains("unknown matcher")
        );
        assert!(
            Matcher::parse(r#"BodilessMatcher:{"compareBodies": true}"#)
                .unwrap_err()
                .contains("takes no options")
        );
        assert!(
            Matcher::parse(r#"CustomDefaultMatcher:{"compareBody": true}"#)
                .unwrap_err()
                .contains("unknown matcher option")
        );
        assert_eq!(Matcher::default().to_json()["name"], "DefaultMatcher");
    }
}

//! What is compared between a recorded answer and the emulator's: the status, the JSON key
//! paths of the recorded body, the error codes it carries, and the headers clients read.

use std::collections::BTreeSet;

use serde_json::Value;

/// One difference (or its absence) found in an exchange.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// The status.
    Status {
        /// Recorded.
        recorded: u16,
        /// Emulator's.
        live: u16,
    },
    /// A key path of the recorded body (`$.value[].properties.scope`).
    Key(String),
    /// An error code of the recorded body, at its path.
    Code {
        /// Where (`$.error.code`).
        path: String,
        /// Recorded value.
        recorded: String,
        /// Emulator's value there, if any.
        live: Option<String>,
    },
    /// A response header clients read.
    Header(String),
}

impl Check {
    /// How the allow-list names it: `status`, `key $.a.b`, `code $.error.code`, `header name`.
    pub fn label(&self) -> String {
        match self {
            Self::Status { .. } => "status".into(),
            Self::Key(path) => format!("key {path}"),
            Self::Code { path, .. } => format!("code {path}"),
            Self::Header(name) => format!("header {name}"),
        }
    }

    /// What was seen, for the report.
    pub fn detail(&self) -> String {
        match self {
            Self::Status { recorded, live } => format!("recorded {recorded}, emulator {live}"),
            Self::Key(_) => "missing in the emulator's answer".into(),
            Self::Code { recorded, live, .. } => format!(
                "recorded {recorded:?}, emulator {}",
                live.as_deref()
                    .map_or_else(|| "none".to_owned(), |l| format!("{l:?}"))
            ),
            Self::Header(_) => "missing in the emulator's answer".into(),
        }
    }
}

/// The scored parts of one exchange: every check made, and whether it held.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// `(check, held)`.
    pub checks: Vec<(Check, bool)>,
}

impl Scored {
    /// Scores the emulator's answer against the recorded one.
    pub fn of(
        recorded_status: u16,
        recorded_body: &Value,
        recorded_headers: &[String],
        live_status: u16,
        live_body: &Value,
        live_headers: &[String],
    ) -> Self {
        let mut checks = vec![(
            Check::Status {
                recorded: recorded_status,
                live: live_status,
            },
            recorded_status == live_status,
        )];
        let live_paths = key_paths(live_body);
        for path in key_paths(recorded_body) {
            let held = live_paths.contains(&path);
            checks.push((Check::Key(path), held));
        }
        for (path, recorded) in codes(recorded_body) {
            let live = value_at(live_body, &path).and_then(code_text);
            let held = live.as_deref() == Some(recorded.as_str());
            checks.push((
                Check::Code {
                    path,
                    recorded,
                    live,
                },
                held,
            ));
        }
        for name in recorded_headers.iter().filter(|h| read_by_clients(h)) {
            let held = live_headers.iter().any(|l| l.eq_ignore_ascii_case(name));
            checks.push((Check::Header(name.to_ascii_lowercase()), held));
        }
        Self { checks }
    }
}

/// Whether clients read this response header: redirects and polling, throttling, challenges,
/// and the `x-ms-*` ids and error code they log and branch on.
pub fn read_by_clients(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "location"
            | "retry-after"
            | "www-authenticate"
            | "azure-asyncoperation"
            | "x-ms-error-code"
    ) || (n.starts_with("x-ms-") && n.ends_with("-id"))
}

/// Every key path of a JSON value: object members as `.key`, array items as `[]`.
pub fn key_paths(value: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, path: &str, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = format!("{path}.{k}");
                    out.insert(p.clone());
                    walk(child, &p, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "$", &mut out);
    out
}

/// The error codes of a body, with their exact paths: every `code` member (ARM, Graph, Log
/// Analytics and their inner errors), and OAuth's `error` and `error_codes`.
pub fn codes(value: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = format!("{path}.{k}");
                    if k == "code"
                        && let Some(text) = code_text(child)
                    {
                        out.push((p.clone(), text));
                    }
                    walk(child, &p, out);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        out.push(("$.error".to_owned(), error.to_owned()));
    }
    if let Some(list) = value.get("error_codes").and_then(Value::as_array) {
        for (i, c) in list.iter().enumerate() {
            if let Some(text) = code_text(c) {
                out.push((format!("$.error_codes[{i}]"), text));
            }
        }
    }
    walk(value, "$", &mut out);
    out
}

fn code_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The value at an exact path (`$.a.b[0].c`), as [`codes`] writes them.
pub fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    let rest = path.strip_prefix('$')?;
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let i: usize = index.trim_end_matches(']').parse().ok()?;
            current = current.get(i)?;
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_paths_collapse_arrays() {
        let paths = key_paths(&json!({"value": [{"id": 1}, {"id": 2, "name": "x"}], "n": null}));
        let got: Vec<&str> = paths.iter().map(String::as_str).collect();
        assert_eq!(got, ["$.n", "$.value", "$.value[].id", "$.value[].name"]);
    }

    #[test]
    fn codes_are_found_at_every_depth_and_in_oauth_bodies() {
        let la =
            json!({"error": {"code": "BadArgumentError", "innererror": {"code": "SemanticError"}}});
        assert_eq!(
            codes(&la),
            [
                ("$.error.code".to_owned(), "BadArgumentError".to_owned()),
                (
                    "$.error.innererror.code".to_owned(),
                    "SemanticError".to_owned()
                )
            ]
        );
        let oauth = json!({"error": "invalid_client", "error_codes": [7000215]});
        assert_eq!(
            codes(&oauth),
            [
                ("$.error".to_owned(), "invalid_client".to_owned()),
                ("$.error_codes[0]".to_owned(), "7000215".to_owned())
            ]
        );
        assert_eq!(
            value_at(&json!({"a": [{"b": 1}]}), "$.a[0].b"),
            Some(&json!(1))
        );
    }

    #[test]
    fn an_exchange_scores_status_keys_codes_and_headers() {
        let s = Scored::of(
            404,
            &json!({"error": {"code": "NotFound", "message": "m"}}),
            &["x-ms-request-id".into(), "Date".into()],
            400,
            &json!({"error": {"code": "Other"}}),
            &[],
        );
        let failed: Vec<String> = s
            .checks
            .iter()
            .filter(|(_, held)| !held)
            .map(|(c, _)| c.label())
            .collect();
        assert_eq!(
            failed,
            [
                "status",
                "key $.error.message",
                "code $.error.code",
                "header x-ms-request-id"
            ]
        );
        assert!(read_by_clients("Retry-After"));
        assert!(!read_by_clients(
            "x-ms-ratelimit-remaining-subscription-reads"
        ));
    }
}

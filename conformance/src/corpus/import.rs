//! Public recordings into the corpus: a test-proxy file as the Azure SDKs write it (header
//! values as strings or lists, `null` variables), or a REST spec example rendered as one, into
//! this project's recording format, sanitized, with its provenance in `Variables`.

use std::collections::BTreeMap;

use entra_emulator::replay::{Entry, Recording};
use serde_json::Value;

use crate::sanitize::Sanitizer;

/// Where a recording came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Repository (`Azure/azure-sdk-for-net`).
    pub repository: String,
    /// Path in the repository.
    pub path: String,
    /// Commit the file was read at, when known.
    pub commit: Option<String>,
    /// When the traffic was recorded (from the recording), when known.
    pub recorded_on: Option<String>,
    /// What was left out, by interaction index (`whole` when nothing).
    pub cut: String,
    /// A REST API spec example (a documented exchange, not recorded traffic).
    pub spec_example: bool,
}

/// The recording `raw` (test-proxy JSON) as a sanitized corpus recording.
pub fn import(raw: &Value, provenance: &Provenance) -> Result<Recording, String> {
    let entries = raw["Entries"]
        .as_array()
        .ok_or("not a test-proxy recording: no Entries")?;
    let sanitizer = Sanitizer::for_public_recordings();
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let text = |key: &str| {
            e[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("entry {i}: {key} is not a string"))
        };
        let status = e["StatusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| format!("entry {i}: StatusCode"))?;
        let entry = Entry {
            request_uri: text("RequestUri")?,
            request_method: text("RequestMethod")?,
            request_headers: headers(&e["RequestHeaders"]),
            request_body: e["RequestBody"].clone(),
            status_code: status,
            response_headers: headers(&e["ResponseHeaders"]),
            response_body: e["ResponseBody"].clone(),
        };
        out.push(sanitizer.recorded_entry(&entry));
    }
    let mut variables: BTreeMap<String, String> = raw["Variables"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
        .unwrap_or_default();
    let from = if provenance.spec_example {
        "REST API spec example (documented, not recorded)"
    } else {
        "Azure public cloud (public test recording)"
    };
    variables.insert("RecordedFrom".into(), from.into());
    if let Some(on) = &provenance.recorded_on {
        variables.insert("RecordedOn".into(), on.clone());
    }
    variables.insert("Source".into(), provenance.repository.clone());
    variables.insert("SourcePath".into(), provenance.path.clone());
    if let Some(commit) = &provenance.commit {
        variables.insert("SourceCommit".into(), commit.clone());
    }
    variables.insert("Cut".into(), provenance.cut.clone());
    Ok(Recording {
        entries: out,
        variables,
    })
}

/// Header values as one string: a list (the .NET recorder's repeated headers) joined as HTTP
/// joins them.
fn headers(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let joined = match v {
                        Value::Array(items) => {
                            items.iter().map(scalar).collect::<Vec<_>>().join(", ")
                        }
                        other => scalar(other),
                    };
                    (k.clone(), joined)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_joined_secrets_and_addresses_sanitized_and_provenance_kept() {
        let raw = json!({
            "Entries": [{
                "RequestUri": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                "RequestMethod": "POST",
                "RequestHeaders": {"User-Agent": ["a/1", "(b)"], "Content-Length": "9"},
                "RequestBody": "client_id=c&client_secret=s3cr3t&scope=x",
                "StatusCode": 200,
                "ResponseHeaders": {"Set-Cookie": ["fpc=1", "x=2"], "x-ms-request-id": "r"},
                "ResponseBody": {"secretText": "abc", "mail": "someone@contoso.com"}
            }],
            "Variables": {"SUBSCRIPTION_ID": "s", "RESOURCE_MANAGER_URL": null}
        });
        let provenance = Provenance {
            repository: "Azure/azure-sdk-for-net".into(),
            path: "a/b.json".into(),
            commit: Some("abc".into()),
            recorded_on: Some("2021-02-05".into()),
            cut: "whole".into(),
            spec_example: false,
        };
        let r = import(&raw, &provenance).expect("imported");
        let e = &r.entries[0];
        assert_eq!(e.request_headers["User-Agent"], "a/1, (b)");
        assert!(!e.request_headers.contains_key("Content-Length"));
        assert!(!e.response_headers.contains_key("Set-Cookie"));
        assert_eq!(
            e.request_body,
            json!("client_id=c&client_secret=Sanitized-secret&scope=x")
        );
        assert_eq!(e.response_body["secretText"], "Sanitized-secret");
        assert_eq!(e.response_body["mail"], "sanitized@example.com");
        assert_eq!(r.variables["RESOURCE_MANAGER_URL"], "");
        assert_eq!(r.variables["SourcePath"], "a/b.json");
        assert_eq!(
            r.variables["RecordedFrom"],
            "Azure public cloud (public test recording)"
        );
        assert!(crate::sanitize::leaks(&r).is_empty());
    }
}

//! Resource groups, and the polling endpoint of their asynchronous deletion.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::generic::tags_field;
use super::{ArmError, Call, empty, json, known_subscription, regions};
use crate::rbac::Scope;
use crate::resources::{ArmStore, ResourceGroup};
use crate::services::groups::{GroupFields, group_scope};
use crate::wire::arm as wire;

const READ: &str = "Microsoft.Resources/subscriptions/resourceGroups/read";
use crate::services::groups::WRITE;
const DELETE: &str = "Microsoft.Resources/subscriptions/resourceGroups/delete";
const JOB_PREFIX: &str = "RESOURCEGROUPDELETIONJOB-";

fn render(g: &ResourceGroup) -> wire::ResourceGroup<'_> {
    wire::ResourceGroup::new(g)
}

/// `GET /subscriptions/{s}/resourcegroups`: every group the caller may read, in name order,
/// those with a tag when `$filter` names one, `$top` at a time with a `nextLink` to the rest.
pub(crate) fn list(call: &Call<'_>, sub: &str) -> Result<Response, ArmError> {
    let filter = call
        .query
        .filter
        .as_deref()
        .map(TagFilter::parse)
        .transpose()?;
    let top = match call.query.get("$top") {
        None => None,
        Some(t) => Some(
            t.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ArmError::InvalidTop(t.to_owned()))?,
        ),
    };
    let after = call
        .query
        .skip_token
        .as_deref()
        .map(str::to_ascii_lowercase);
    let store = call.state.arm();
    let id = known_subscription(&store, sub)?;
    let sub_scope =
        Scope::subscription(sub).map_err(|_| ArmError::InvalidSubscriptionId(sub.to_owned()))?;
    let all = call.list_access(&store, READ, &sub_scope)?;
    let mut groups = store
        .groups(&id)
        .filter(|g| {
            after
                .as_deref()
                .is_none_or(|t| g.name.to_ascii_lowercase().as_str() > t)
        })
        .filter(|g| filter.as_ref().is_none_or(|f| f.matches(g)))
        .filter(|g| all || group_scope(sub, &g.name).is_ok_and(|s| call.allowed(&store, READ, &s)))
        .peekable();
    let mut value = Vec::new();
    while let Some(g) = groups.next_if(|_| top.is_none_or(|n| value.len() < n)) {
        value.push(render(g));
    }
    let next_link = match (groups.peek(), value.last(), top) {
        (Some(_), Some(last), Some(top)) => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("api-version", &call.version);
            if let Some(f) = &call.query.filter {
                query.append_pair("$filter", f);
            }
            query.append_pair("$top", &top.to_string());
            query.append_pair("$skiptoken", &last.name().to_ascii_lowercase());
            Some(format!(
                "{}/subscriptions/{sub}/resourcegroups?{}",
                call.base,
                query.finish()
            ))
        }
        _ => None,
    };
    Ok(json(StatusCode::OK, &wire::List { value, next_link }))
}

/// A resource group list's `$filter`: `tagName eq '{name}'`, optionally
/// `and tagValue eq '{value}'` (the only filter ARM takes there; Azure/azure-rest-api-specs
/// issue #3853). Tag names compare case-insensitively, values exactly (a guess: no source
/// states how values compare).
#[derive(Debug, PartialEq, Eq)]
struct TagFilter {
    name: String,
    value: Option<String>,
}

impl TagFilter {
    fn parse(text: &str) -> Result<Self, ArmError> {
        let invalid = || ArmError::InvalidFilter(text.to_owned());
        let (name, rest) = clause(text.trim_start(), "tagName").ok_or_else(invalid)?;
        let rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(Self { name, value: None });
        }
        let rest = keyword(rest, "and").ok_or_else(invalid)?;
        let (value, rest) = clause(rest.trim_start(), "tagValue").ok_or_else(invalid)?;
        if !rest.trim().is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            name,
            value: Some(value),
        })
    }

    fn matches(&self, g: &ResourceGroup) -> bool {
        g.tags.as_ref().is_some_and(|tags| {
            tags.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case(&self.name)
                    && self
                        .value
                        .as_deref()
                        .is_none_or(|want| v.as_str() == Some(want))
            })
        })
    }
}

/// `text` after the keyword `word` (any casing) and the whitespace after it.
fn keyword<'t>(text: &'t str, word: &str) -> Option<&'t str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace))
        .then(|| rest.trim_start())
}

/// `{field} eq '{literal}'` at the start of `text`: the literal (`''` read as `'`) and the rest.
fn clause<'t>(text: &'t str, field: &str) -> Option<(String, &'t str)> {
    let rest = keyword(text, field)?;
    let rest = keyword(rest, "eq")?.strip_prefix('\'')?;
    let mut literal = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            literal.push(c);
        } else if rest[i + 1..].starts_with('\'') {
            literal.push('\'');
            chars.next();
        } else {
            return Some((literal, &rest[i + 1..]));
        }
    }
    None
}

fn existing<'s>(store: &'s ArmStore, sub: &str, rg: &str) -> Result<&'s ResourceGroup, ArmError> {
    let id = known_subscription(store, sub)?;
    store
        .group(&id, rg)
        .ok_or_else(|| ArmError::ResourceGroupNotFound(rg.to_owned()))
}

/// `GET|HEAD /subscriptions/{s}/resourcegroups/{rg}` (HEAD answers 204 when it exists).
pub(crate) fn get(call: &Call<'_>, sub: &str, rg: &str) -> Result<Response, ArmError> {
    let store = call.state.arm();
    known_subscription(&store, sub)?;
    call.require(&store, READ, &group_scope(sub, rg)?)?;
    let group = existing(&store, sub, rg)?;
    if call.method == axum::http::Method::HEAD {
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    Ok(json(StatusCode::OK, &render(group)))
}

/// `PUT /subscriptions/{s}/resourcegroups/{rg}`: 201 when created, 200 when it existed.
pub(crate) fn put(call: &Call<'_>, sub: &str, rg: &str) -> Result<Response, ArmError> {
    let body = call.json_body()?;
    let (group, created) = call
        .state
        .put_group(call.caller, sub, rg, call.now, || group_fields(&body))?;
    Ok(json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &render(&group),
    ))
}

/// The fields of a resource group PUT body, read once the caller is known to be allowed.
fn group_fields(body: &Map<String, Value>) -> Result<GroupFields, ArmError> {
    let location = match body.get("location") {
        Some(Value::String(l)) => l.clone(),
        None | Some(Value::Null) => return Err(ArmError::LocationRequired),
        Some(other) => {
            return Err(ArmError::InvalidRequestContent(format!(
                "Property 'location' must be a string, not {}",
                super::json_kind(other)
            )));
        }
    };
    let mut fields = GroupFields::at(&location)?;
    fields.tags = tags_field(body)?;
    fields.managed_by = match body.get("managedBy") {
        Some(Value::String(m)) => Some(m.clone()),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(ArmError::InvalidRequestContent(
                "Property 'managedBy' must be a string".to_owned(),
            ));
        }
    };
    Ok(fields)
}

/// `PATCH /subscriptions/{s}/resourcegroups/{rg}`: replaces the given tags and `managedBy`.
pub(crate) fn patch(call: &Call<'_>, sub: &str, rg: &str) -> Result<Response, ArmError> {
    let body = call.json_body()?;
    let mut store = call.state.arm_mut();
    known_subscription(&store, sub)?;
    call.require(&store, WRITE, &group_scope(sub, rg)?)?;
    let mut group = existing(&store, sub, rg)?.clone();
    if let Some(Value::String(location)) = body.get("location")
        && regions::normalize(location, false).as_deref() != Some(group.location.as_str())
    {
        return Err(ArmError::InvalidResourceGroupLocation {
            given: location.clone(),
            existing: group.location.clone(),
        });
    }
    if let Some(tags) = tags_field(&body)? {
        group.tags = Some(tags);
    }
    match body.get("managedBy") {
        Some(Value::String(m)) => group.managed_by = Some(m.clone()),
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(ArmError::InvalidRequestContent(
                "Property 'managedBy' must be a string".to_owned(),
            ));
        }
    }
    let rendered = serde_json::to_value(render(&group)).unwrap_or_default();
    store.put_group(group);
    Ok(json(StatusCode::OK, &rendered))
}

/// The deletion job's opaque id as ARM encodes it: base64url of
/// `{"jobId":"RESOURCEGROUPDELETIONJOB-{NAME}-{LOCATION}","jobLocation":"{location}"}`,
/// the name upper-cased with other characters than letters, digits and `-` escaped `:XX`.
fn job_token(name: &str, location: &str) -> String {
    let mut escaped = String::new();
    for b in name.to_uppercase().bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            escaped.push(char::from(b));
        } else {
            escaped.push_str(&format!(":{b:02X}"));
        }
    }
    let job = json!({
        "jobId": format!("{JOB_PREFIX}{escaped}-{}", location.to_uppercase()),
        "jobLocation": location,
    });
    URL_SAFE_NO_PAD.encode(job.to_string())
}

/// `DELETE /subscriptions/{s}/resourcegroups/{rg}`: 202 with a `Location` to poll. The group,
/// its resources and the role assignments inside it are gone at once; revoked assignments
/// still propagate.
pub(crate) fn delete(call: &Call<'_>, sub: &str, rg: &str) -> Result<Response, ArmError> {
    let mut store = call.state.arm_mut();
    let id = known_subscription(&store, sub)?;
    call.require(&store, DELETE, &group_scope(sub, rg)?)?;
    existing(&store, sub, rg)?;
    let propagation = call.state.config.propagation;
    let group = store
        .delete_group(&id, rg, call.now, |name| propagation.planes(name.as_u128()))
        .ok_or_else(|| ArmError::ResourceGroupNotFound(rg.to_owned()))?;
    drop(store);
    // Identities inside the group (and those of its resources) leave the directory with it.
    call.state.sweep_identities(call.now);
    let location = format!(
        "{}/subscriptions/{sub}/operationresults/{}?api-version={}",
        call.base,
        job_token(&group.name, &group.location),
        call.version
    );
    let mut response = empty(StatusCode::ACCEPTED);
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
    Ok(response)
}

/// `GET /subscriptions/{s}/operationresults/{token}`: 200 once the deletion is done, which
/// in the emulator is at once.
pub(crate) fn operation_result(
    call: &Call<'_>,
    sub: &str,
    token: &str,
) -> Result<Response, ArmError> {
    let store = call.state.arm();
    known_subscription(&store, sub)?;
    let job = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| v.get("jobId").and_then(Value::as_str).map(str::to_owned));
    match job {
        Some(job) if job.starts_with(JOB_PREFIX) => Ok(empty(StatusCode::OK)),
        _ => Err(ArmError::InvalidOperationId(token.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_filters_read_arms_one_form() {
        let f = |t: &str| TagFilter::parse(t);
        assert_eq!(
            f("tagName eq 'env' and tagValue eq 'prod'"),
            Ok(TagFilter {
                name: "env".into(),
                value: Some("prod".into())
            })
        );
        assert_eq!(
            f("tagname eq 'it''s'  AND tagvalue eq ''"),
            Ok(TagFilter {
                name: "it's".into(),
                value: Some(String::new())
            })
        );
        assert_eq!(
            f("tagName eq 'env'"),
            Ok(TagFilter {
                name: "env".into(),
                value: None
            })
        );
        for bad in [
            "name eq 'foo'",
            "tagName eq env",
            "tagName eq 'env",
            "tagName eq 'a' or tagValue eq 'b'",
            "tagName eq 'a' and tagValue eq 'b' and x",
            "tagValue eq 'b'",
            "tagNameeq 'a'",
            "",
        ] {
            assert_eq!(f(bad), Err(ArmError::InvalidFilter(bad.into())), "{bad}");
        }
    }

    #[test]
    fn job_tokens_encode_the_deletion_job_as_arm_does() {
        let token = job_token("myjstest", "eastus");
        assert_eq!(
            token,
            "eyJqb2JJZCI6IlJFU09VUkNFR1JPVVBERUxFVElPTkpPQi1NWUpTVEVTVC1FQVNUVVMiLCJqb2JMb2NhdGlvbiI6ImVhc3R1cyJ9"
        );
        let decoded = URL_SAFE_NO_PAD
            .decode(job_token("cli_test", "westus"))
            .expect("b64");
        let v: Value = serde_json::from_slice(&decoded).expect("json");
        assert_eq!(v["jobId"], "RESOURCEGROUPDELETIONJOB-CLI:5FTEST-WESTUS");
    }
}

//! The verifier: replays a fixture's requests against a live emulator, in order, and reports
//! per exchange where the status or the normalized body differs from the recording.
//!
//! Values the live emulator generates differently (ids, secrets, tokens) are learnt from each
//! response and substituted into later requests; the sanitized identities are the emulator's
//! defaults, bound to the live ones up front; date-times in request bodies move by the time
//! between the recording's start and the live clock; clock advances are replayed as recorded.
//! A replay can run faster than its recording did: a request is held until the live clock
//! reaches a date-time it carries that would otherwise still lie a few seconds ahead (a
//! secret "starting now"), as the recording's clock had when the request was made.

use entra_emulator::config::{
    DEFAULT_ADMIN_CLIENT_ID, DEFAULT_ADMIN_OBJECT_ID, DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID,
};
use entra_emulator::replay::{
    Entry, Recording, SANITIZED, body_bytes, body_value, datetime_len, is_guid, path_and_query_of,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::normalize::Normalizer;
use crate::sanitize::ADMIN_SECRET;
use crate::shape::is_jwt;
use crate::target::{Target, http_client};

/// One difference between a recorded exchange and its replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Index of the entry in the fixture.
    pub entry: usize,
    /// `METHOD /path` of the recorded request.
    pub request: String,
    /// What differs.
    pub what: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {}: {}", self.entry, self.request, self.what)
    }
}

/// The outcome of replaying one fixture.
#[derive(Debug, Clone)]
pub struct Report {
    /// Exchanges replayed.
    pub exchanges: usize,
    /// Everything that differed.
    pub differences: Vec<Difference>,
}

impl Report {
    /// How many exchanges have at least one difference.
    pub fn differing_exchanges(&self) -> usize {
        let mut entries: Vec<usize> = self.differences.iter().map(|d| d.entry).collect();
        entries.dedup();
        entries.len()
    }
}

/// Replays `recording` against the emulator `target` (an in-process or running one, which
/// should be fresh: the fixture's reads expect only what it created).
pub async fn replay(recording: &Recording, target: &Target) -> Result<Report, String> {
    let base = target
        .emulator_base()
        .ok_or("fixtures replay against an emulator, not Azure")?
        .trim_end_matches('/')
        .to_owned();
    let http = http_client(&target.cloud)?;
    let mut bindings: Vec<(String, String)> = vec![
        (DEFAULT_TENANT_ID.to_string(), target.tenant_id.clone()),
        (
            DEFAULT_SUBSCRIPTION_ID.to_string(),
            target.subscription_id.clone(),
        ),
        (
            DEFAULT_ADMIN_CLIENT_ID.to_string(),
            target.admin_client_id.clone(),
        ),
        (
            ADMIN_SECRET.to_owned(),
            target.admin_secret.expose().to_owned(),
        ),
    ];
    let shift = match recording.variables.get("StartTime") {
        Some(start) => {
            let start = OffsetDateTime::parse(start, &Rfc3339)
                .map_err(|e| format!("StartTime {start}: {e}"))?;
            target.now().await? - start
        }
        None => time::Duration::ZERO,
    };
    let mut normalizer = Normalizer::new();
    for (label, (recorded, live)) in ["tenant-id", "subscription-id", "admin-client-id"]
        .into_iter()
        .zip(&bindings)
    {
        normalizer.label(recorded, label);
        normalizer.label(live, label);
    }
    normalizer.label(&DEFAULT_ADMIN_OBJECT_ID.to_string(), "admin-object-id");
    let mut differences = Vec::new();
    for (index, entry) in recording.entries.iter().enumerate() {
        let request = format!(
            "{} {}",
            entry.request_method,
            path_and_query_of(&entry.request_uri)
        );
        let live = send(&http, &base, entry, &bindings, shift, target)
            .await
            .map_err(|e| format!("#{index} {request}: {e}"))?;
        let mut differ = |what: String| {
            differences.push(Difference {
                entry: index,
                request: request.clone(),
                what,
            });
        };
        if live.0 != entry.status_code {
            differ(format!(
                "status: recorded {}, live {}",
                entry.status_code, live.0
            ));
        }
        let recorded_body = normalizer.walk(None, &entry.response_body, true);
        let live_body = normalizer.walk(None, &live.1, true);
        for line in diff("$", &recorded_body, &live_body) {
            differ(line);
        }
        learn(&entry.response_body, &live.1, &mut bindings);
    }
    Ok(Report {
        exchanges: recording.entries.len(),
        differences,
    })
}

/// Sends one recorded request, rewritten for the live emulator; returns its status and body.
async fn send(
    http: &reqwest::Client,
    base: &str,
    entry: &Entry,
    bindings: &[(String, String)],
    shift: time::Duration,
    target: &Target,
) -> Result<(u16, Value), String> {
    let bind = |s: &str| {
        let mut out = s.to_owned();
        for (recorded, live) in bindings {
            out = out.replace(recorded.as_str(), live);
        }
        out
    };
    let url = format!("{base}{}", bind(path_and_query_of(&entry.request_uri)));
    let method =
        reqwest::Method::from_bytes(entry.request_method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = http.request(method, url);
    for (name, value) in &entry.request_headers {
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("host") {
            req = req.header(name.as_str(), bind(value));
        }
    }
    let body = match &entry.request_body {
        Value::String(form) => {
            let mut out = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form_urlencoded::parse(form.as_bytes()) {
                out.append_pair(&k, &shift_datetimes(&bind(&v), shift));
            }
            Value::String(out.finish())
        }
        other => rewrite_strings(other, &|s| shift_datetimes(&bind(s), shift)),
    };
    pace(&body, target.now().await?).await;
    let resp = req
        .body(body_bytes(&body))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, body_value(&bytes)))
}

fn rewrite_strings(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => json!(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| rewrite_strings(v, f)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), rewrite_strings(v, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// How far ahead of the live clock a request's date-time may be and still be taken for the
/// recording's "now" (the replay then waits for it).
const PACE_WINDOW: time::Duration = time::Duration::seconds(30);

/// Holds a request whose body carries a date-time a little ahead of the live clock `now` (a
/// secret "starting now" on the recording's clock) until the live clock reaches it.
pub(crate) async fn pace(body: &Value, now: OffsetDateTime) {
    if let Some(ahead) = datetimes_in(body)
        .into_iter()
        .map(|t| t - now)
        .filter(|d| d.is_positive() && *d <= PACE_WINDOW)
        .max()
    {
        tokio::time::sleep(ahead.unsigned_abs()).await;
    }
}

/// The whole-string RFC 3339 date-times of a request body (JSON, or a form as a string).
fn datetimes_in(body: &Value) -> Vec<OffsetDateTime> {
    fn parse(s: &str) -> Option<OffsetDateTime> {
        (datetime_len(s.as_bytes()) == Some(s.len()))
            .then(|| OffsetDateTime::parse(s, &Rfc3339).ok())
            .flatten()
    }
    fn walk(v: &Value, out: &mut Vec<OffsetDateTime>) {
        match v {
            Value::String(s) => out.extend(parse(s)),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    match body {
        Value::String(form) => {
            out.extend(form_urlencoded::parse(form.as_bytes()).filter_map(|(_, v)| parse(&v)));
        }
        other => walk(other, &mut out),
    }
    out
}

/// Moves a whole-string RFC 3339 date-time by `shift`, keeping its precision.
pub(crate) fn shift_datetimes(s: &str, shift: time::Duration) -> String {
    if shift.is_zero() || datetime_len(s.as_bytes()) != Some(s.len()) {
        return s.to_owned();
    }
    let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) else {
        return s.to_owned();
    };
    let digits = s
        .split_once('.')
        .map_or(0, |(_, f)| f.bytes().take_while(u8::is_ascii_digit).count());
    let moved = (t + shift).to_offset(time::UtcOffset::UTC);
    let date = moved.date();
    let clock = moved.time();
    let mut out = format!(
        "{date}T{:02}:{:02}:{:02}",
        clock.hour(),
        clock.minute(),
        clock.second()
    );
    if digits > 0 {
        let nanos = format!("{:09}", clock.nanosecond());
        out.push('.');
        out.push_str(&format!("{nanos:0<digits$}")[..digits]);
    }
    out.push('Z');
    out
}

/// Binds the values the recording has where the live answer has different ones: ids,
/// sanitized secrets and tokens that later requests will carry.
pub fn learn(recorded: &Value, live: &Value, bindings: &mut Vec<(String, String)>) {
    match (recorded, live) {
        (Value::Object(r), Value::Object(l)) => {
            for (k, rv) in r {
                if let Some(lv) = l.get(k) {
                    learn(rv, lv, bindings);
                }
            }
        }
        (Value::Array(r), Value::Array(l)) => {
            for (rv, lv) in r.iter().zip(l) {
                learn(rv, lv, bindings);
            }
        }
        (Value::String(r), Value::String(l)) if r != l => {
            // Ids of the form `dcr-{32 hex}` (data collection rules) too.
            let prefixed_id = r.rsplit_once('-').is_some_and(|(prefix, hex)| {
                !prefix.is_empty() && hex.len() == 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
            });
            let bindable = is_guid(r) || prefixed_id || r.starts_with(SANITIZED) || is_jwt(r);
            if bindable && !bindings.iter().any(|(k, _)| k == r) {
                bindings.push((r.clone(), l.clone()));
                // Longest first, so that no value is rewritten inside a longer one.
                bindings.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
            }
        }
        _ => {}
    }
}

/// Where two normalized bodies differ, one line each.
pub fn diff(path: &str, recorded: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match (recorded, live) {
        (Value::Object(r), Value::Object(l)) => {
            for (k, rv) in r {
                match l.get(k) {
                    Some(lv) => out.extend(diff(&format!("{path}.{k}"), rv, lv)),
                    None => out.push(format!("{path}.{k}: recorded {rv}, live has none")),
                }
            }
            for (k, lv) in l {
                if !r.contains_key(k) {
                    out.push(format!("{path}.{k}: not recorded, live {lv}"));
                }
            }
        }
        (Value::Array(r), Value::Array(l)) if r.len() == l.len() => {
            for (i, (rv, lv)) in r.iter().zip(l).enumerate() {
                out.extend(diff(&format!("{path}[{i}]"), rv, lv));
            }
        }
        (r, l) if r == l => {}
        (r, l) => out.push(format!("{path}: recorded {r}, live {l}")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_replay_faster_than_its_recording_waits_for_the_dates_it_sends() {
        let recorded_on = Target::in_process().await.expect("emulator");
        let s = crate::Scenario::start("verify-pace", recorded_on)
            .await
            .expect("scenario");
        let graph = s.admin().graph();
        let app = graph.create_application("paced").await.expect("create");
        let now = s.now().await.format(&Rfc3339).expect("format");
        let secret = graph
            .add_password(
                &app.id,
                &entra_client::graph::SecretOptions {
                    start_date_time: Some(now),
                    ..Default::default()
                },
            )
            .await
            .expect("secret");
        // Sign in with a secret that starts "now" (the app needs its service principal).
        graph
            .create_service_principal(&app.app_id)
            .await
            .expect("principal");
        s.client_as(
            &app.app_id,
            entra_client::ClientSecret::new(secret.secret.expose()),
        )
        .arm()
        .list_subscriptions()
        .await
        .expect("sign in");
        let mut recording = s.recording();
        // As if the recording had taken two seconds longer before the secret was added:
        // replayed at full speed, the secret would not have started at the sign-in.
        let start = recording.variables["StartTime"].clone();
        let start = OffsetDateTime::parse(&start, &Rfc3339).expect("start");
        recording.variables.insert(
            "StartTime".into(),
            (start - time::Duration::seconds(2))
                .format(&Rfc3339)
                .expect("format"),
        );
        let live = Target::in_process().await.expect("emulator");
        let report = replay(&recording, &live).await.expect("replay");
        assert_eq!(report.differences, vec![]);
    }

    #[test]
    fn datetimes_are_found_in_json_and_form_bodies() {
        let json_body = json!({"passwordCredential": {
            "startDateTime": "2026-11-22T00:30:37.5741099Z",
            "displayName": "2026",
            "nested": ["2027-11-22T00:30:37Z"],
        }});
        assert_eq!(datetimes_in(&json_body).len(), 2);
        let form = json!("grant_type=client_credentials&at=2026-11-22T00%3A30%3A37Z&n=1");
        assert_eq!(datetimes_in(&form).len(), 1);
        assert!(datetimes_in(&json!({"a": "not a date"})).is_empty());
    }

    #[test]
    fn datetimes_shift_with_their_precision() {
        let day = time::Duration::days(1);
        assert_eq!(
            shift_datetimes("2025-01-01T00:00:00Z", day),
            "2025-01-02T00:00:00Z"
        );
        assert_eq!(
            shift_datetimes("2025-01-01T23:59:59.1234567Z", time::Duration::seconds(1)),
            "2025-01-02T00:00:00.1234567Z"
        );
        assert_eq!(shift_datetimes("rbac", day), "rbac");
        assert_eq!(
            shift_datetimes("2025-01-01T00:00:00Z", time::Duration::ZERO),
            "2025-01-01T00:00:00Z"
        );
    }

    #[test]
    fn ids_secrets_and_tokens_are_learnt_once() {
        let mut bindings = Vec::new();
        learn(
            &json!({"id": "11111111-1111-4111-8111-111111111111", "secretText": "Sanitized-secret-1", "displayName": "a", "n": [{"x": "eyJa.eyJb.c"}]}),
            &json!({"id": "22222222-2222-4222-8222-222222222222", "secretText": "abcQ~live", "displayName": "b", "n": [{"x": "eyJl.eyJm.n"}]}),
            &mut bindings,
        );
        assert_eq!(
            bindings,
            [
                (
                    "11111111-1111-4111-8111-111111111111".into(),
                    "22222222-2222-4222-8222-222222222222".into()
                ),
                ("Sanitized-secret-1".into(), "abcQ~live".into()),
                ("eyJa.eyJb.c".into(), "eyJl.eyJm.n".into()),
            ]
        );
    }

    #[tokio::test]
    async fn a_recording_replays_cleanly_and_a_changed_one_does_not() {
        let recorded_on = Target::in_process().await.expect("emulator");
        let s = crate::Scenario::start("verify-test", recorded_on)
            .await
            .expect("scenario");
        let graph = s.admin().graph();
        let app = graph.create_application("verified").await.expect("create");
        graph.get_application(&app.id).await.expect("read");
        let recording = s.recording();
        assert_eq!(recording.entries.len(), 3, "token, create, read");

        // A fresh emulator: new ids and a new token, bound from each answer.
        let live = Target::in_process().await.expect("emulator");
        let report = replay(&recording, &live).await.expect("replay");
        assert_eq!((report.exchanges, report.differences), (3, vec![]));

        let mut changed = recording.clone();
        changed.entries[2].status_code = 404;
        changed.entries[2].response_body["displayName"] = json!("renamed");
        changed.entries[2].response_body["extra"] = json!(true);
        let live = Target::in_process().await.expect("emulator");
        let report = replay(&changed, &live).await.expect("replay");
        let lines: Vec<String> = report.differences.iter().map(|d| d.what.clone()).collect();
        assert_eq!(
            lines,
            [
                "status: recorded 404, live 200",
                r#"$.displayName: recorded "renamed", live "verified""#,
                "$.extra: recorded true, live has none",
            ]
        );
        assert!(report.differences.iter().all(|d| d.entry == 2));
        assert_eq!(report.differing_exchanges(), 1, "three lines, one exchange");
    }

    #[test]
    fn diff_names_each_path() {
        assert_eq!(
            diff(
                "$",
                &json!({"a": 1, "b": [1, 2], "c": "x"}),
                &json!({"a": 2, "b": [1], "d": "y", "c": "x"})
            ),
            [
                "$.a: recorded 1, live 2",
                "$.b: recorded [1,2], live [1]",
                r#"$.d: not recorded, live "y""#
            ]
        );
    }
}

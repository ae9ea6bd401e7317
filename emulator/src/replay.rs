//! Playback of recorded exchanges: the fixtures the conformance suite writes, in the Azure SDK
//! test-proxy recording format, served back so that other tools can be checked against what
//! was recorded (from the emulator or from real Azure).
//!
//! A request is answered by the recorded exchange that the session's [`Matcher`] finds equal:
//! by default the same method, path, query, headers both sides have (volatile ones aside) and
//! body; the Azure SDK test-proxy's other matchers relax this (no body, no headers, named
//! headers, query parameters or JSON fields left out). Values a client cannot know in advance
//! match by shape: GUIDs (a tenant, a client-generated key id or role assignment name),
//! date-times (`startDateTime: now`) and sanitized values (`Sanitized…`, whatever secret the
//! client sends). Exact matches win over shape matches; among equals, the first exchange not
//! served yet, so a sequence that repeats a request (a read before and after a change) plays in
//! order. When nothing matches, the answer is a 404 naming the closest recorded request and how
//! it differs.
//!
//! The answer echoes the client's own values where the recording echoed its recorder's: a
//! value of the request that differs from the recorded one (a display name, an id in the path,
//! a date) replaces the recorded value wherever the recorded answer repeats it.
//!
//! The matcher is chosen per session with `--replay-matcher` and changed with
//! `POST /_emulator/replay/matcher` (`{"matcher": "BodilessMatcher"}`) or the test-proxy's
//! `POST /Admin/SetMatcher` (matcher named by the `x-abstraction-identifier` header).

mod matcher;

pub use matcher::Matcher;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Prefix of every value a sanitizer put in place of a secret, a token or a cookie.
pub const SANITIZED: &str = "Sanitized";

/// A recording: the test-proxy file format (`Entries`, `Variables`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Recording {
    /// The exchanges, in the order they happened.
    #[serde(rename = "Entries")]
    pub entries: Vec<Entry>,
    /// Free-form string values (the conformance suite keeps provenance here).
    #[serde(rename = "Variables", default)]
    pub variables: BTreeMap<String, String>,
}

/// One recorded exchange.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    /// Absolute request URI.
    pub request_uri: String,
    /// Request method.
    pub request_method: String,
    /// Request headers.
    #[serde(default)]
    pub request_headers: BTreeMap<String, String>,
    /// Request body: JSON as JSON, other text as a string, `null` when empty.
    #[serde(default)]
    pub request_body: Value,
    /// Response status.
    pub status_code: u16,
    /// Response headers.
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// Response body, like the request body.
    #[serde(default)]
    pub response_body: Value,
}

/// A body as a recording stores it: JSON when it parses as JSON, text otherwise, `null` when
/// empty.
pub fn body_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The bytes of a recorded body.
pub fn body_bytes(body: &Value) -> Vec<u8> {
    match body {
        Value::Null => Vec::new(),
        Value::String(s) => s.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

impl Recording {
    /// Reads a recording file.
    pub fn load(path: &Path) -> Result<Self, ReplayError> {
        let bytes = std::fs::read(path).map_err(|e| ReplayError::Read(path.to_owned(), e))?;
        serde_json::from_slice(&bytes).map_err(|e| ReplayError::Parse(path.to_owned(), e))
    }
}

/// Why recordings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A file or directory could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// A file is not a recording.
    #[error("{0} is not a test-proxy recording: {1}")]
    Parse(PathBuf, serde_json::Error),
    /// Nothing to serve.
    #[error("no recorded exchanges in {0:?}")]
    Empty(Vec<PathBuf>),
}

/// A request as the playback server sees it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// Method.
    pub method: &'a str,
    /// Path and query, as sent (`/v1.0/applications?$filter=…`).
    pub path_and_query: &'a str,
    /// Headers, as sent.
    pub headers: &'a [(String, String)],
    /// Body.
    pub body: &'a [u8],
}

/// How one recorded request compares with an incoming one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// What differs, one line each; empty when the entry matches.
    pub differences: Vec<String>,
    /// How many values matched only by shape.
    pub by_shape: usize,
    /// Weighted distance, for naming the closest entry when none matches.
    pub distance: usize,
    /// Recorded values the request has others in place of (shape matches and values the
    /// matcher leaves out), with the request's: what the answer echoes.
    pub echoes: Vec<(String, String)>,
}

impl Comparison {
    /// Whether the entry answers the request.
    pub fn matches(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares a recorded entry's request with an incoming request, with the default matcher.
pub fn compare(entry: &Entry, req: &Incoming<'_>) -> Comparison {
    compare_with(entry, req, &Matcher::default())
}

/// Compares a recorded entry's request with an incoming request, as `matcher` does.
pub fn compare_with(entry: &Entry, req: &Incoming<'_>, matcher: &Matcher) -> Comparison {
    let mut c = Comparison {
        differences: Vec::new(),
        by_shape: 0,
        distance: 0,
        echoes: Vec::new(),
    };
    if !entry.request_method.eq_ignore_ascii_case(req.method) {
        c.differences.push(format!(
            "method: recorded {}, got {}",
            entry.request_method, req.method
        ));
        c.distance += 100;
    }
    let (rec_path, rec_query) = split_uri(path_and_query_of(&entry.request_uri));
    let (got_path, got_query) = split_uri(req.path_and_query);
    let rec_segments: Vec<String> = rec_path.split('/').map(percent_decode).collect();
    let got_segments: Vec<String> = got_path.split('/').map(percent_decode).collect();
    let mut path_differs = rec_segments.len() != got_segments.len();
    for (r, g) in rec_segments.iter().zip(&got_segments) {
        match leaf_match(r, g) {
            Leaf::Exact => {}
            Leaf::Shape => {
                c.by_shape += 1;
                echo(&mut c, r, g);
            }
            Leaf::Differs => {
                path_differs = true;
                c.distance += 10;
            }
        }
    }
    if path_differs {
        c.differences
            .push(format!("path: recorded {rec_path}, got {got_path}"));
        c.distance += 20;
    }
    let (rec_pairs, got_pairs) = (query_pairs(rec_query), query_pairs(got_query));
    compare_pairs("query", &rec_pairs, &got_pairs, &mut c, &|name| {
        matcher.ignores_query_value(name)
    });
    if !matcher.ignore_query_ordering {
        let order = |pairs: &[(String, String)]| -> Vec<String> {
            pairs.iter().map(|(k, _)| k.clone()).collect()
        };
        if order(&rec_pairs) != order(&got_pairs) && c.differences.is_empty() {
            differ(
                &mut c,
                format!(
                    "query order: recorded {:?}, got {:?}",
                    order(&rec_pairs),
                    order(&got_pairs)
                ),
            );
        }
    }
    compare_headers(&entry.request_headers, req.headers, matcher, &mut c);
    if matcher.compare_bodies {
        compare_bodies(&entry.request_body, req.body, matcher, &mut c);
    } else {
        // Not compared, but what differs is still echoed.
        let mut scratch = Comparison {
            differences: Vec::new(),
            by_shape: 0,
            distance: 0,
            echoes: Vec::new(),
        };
        compare_bodies(&entry.request_body, req.body, matcher, &mut scratch);
        c.echoes.extend(scratch.echoes);
    }
    c
}

/// Notes that the answer should say `got` where the recording says `recorded` (never for
/// secrets: a sanitized recorded value stands for one).
fn echo(c: &mut Comparison, recorded: &str, got: &str) {
    if recorded != got
        && !recorded.starts_with(SANITIZED)
        && !recorded.is_empty()
        && !c.echoes.iter().any(|(r, _)| r == recorded)
    {
        c.echoes.push((recorded.to_owned(), got.to_owned()));
    }
}

/// Headers both sides have must agree, unless excluded or only their presence counts; content
/// headers are compared with their parameters normalized (`a;b` and `a; b`).
fn compare_headers(
    recorded: &BTreeMap<String, String>,
    got: &[(String, String)],
    matcher: &Matcher,
    c: &mut Comparison,
) {
    let normalize = |v: &str| -> String {
        v.split(';')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ")
            .to_ascii_lowercase()
    };
    for (name, value) in recorded {
        if matcher.excludes_header(name) || matcher.ignores_header_value(name) {
            continue;
        }
        let Some((_, got_value)) = got.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
            continue;
        };
        let same =
            if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("accept") {
                normalize(value) == normalize(got_value)
            } else {
                matches!(leaf_match(value, got_value), Leaf::Exact | Leaf::Shape)
            };
        if !same {
            c.differences.push(format!(
                "header {name}: recorded {value:?}, got {got_value:?}"
            ));
            c.distance += 2;
        }
    }
}

enum Leaf {
    Exact,
    Shape,
    Differs,
}

/// Whether a recorded string stands for an incoming one.
fn leaf_match(recorded: &str, got: &str) -> Leaf {
    if recorded == got {
        Leaf::Exact
    } else if recorded.starts_with(SANITIZED)
        || (is_guid(recorded) && is_guid(got))
        || (is_datetime(recorded) && is_datetime(got))
    {
        Leaf::Shape
    } else {
        Leaf::Differs
    }
}

fn compare_pairs(
    what: &str,
    recorded: &[(String, String)],
    got: &[(String, String)],
    c: &mut Comparison,
    value_ignored: &dyn Fn(&str) -> bool,
) {
    let names: std::collections::BTreeSet<&str> = recorded
        .iter()
        .chain(got)
        .map(|(k, _)| k.as_str())
        .collect();
    for name in names {
        let r: Vec<&str> = values_of(recorded, name);
        let g: Vec<&str> = values_of(got, name);
        let ignored = value_ignored(name);
        let same = r.len() == g.len()
            && r.iter().zip(&g).all(|(r, g)| match leaf_match(r, g) {
                Leaf::Exact => true,
                Leaf::Shape => {
                    c.by_shape += 1;
                    echo(c, r, g);
                    true
                }
                Leaf::Differs if ignored => {
                    echo(c, r, g);
                    true
                }
                Leaf::Differs => false,
            });
        if !same {
            c.differences.push(format!(
                "{what} {name}: recorded {}, got {}",
                show_values(&r),
                show_values(&g)
            ));
            c.distance += 3;
        }
    }
}

fn values_of<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn show_values(values: &[&str]) -> String {
    match values {
        [] => "nothing".into(),
        [one] => format!("{one:?}"),
        many => format!("{many:?}"),
    }
}

fn compare_bodies(recorded: &Value, got: &[u8], matcher: &Matcher, c: &mut Comparison) {
    let got_value = body_value(got);
    match (recorded, &got_value) {
        (Value::String(r), Value::String(g)) if looks_like_form(r) || looks_like_form(g) => {
            compare_pairs("form", &form_pairs(r), &form_pairs(g), c, &|name| {
                matcher.ignores_body_field(name)
            });
        }
        _ => compare_json("$", recorded, &got_value, matcher, c),
    }
}

fn compare_json(path: &str, recorded: &Value, got: &Value, matcher: &Matcher, c: &mut Comparison) {
    let ignored = |p: &str| matcher.ignores_body_field(p);
    match (recorded, got) {
        (Value::Object(r), Value::Object(g)) => {
            for (k, rv) in r {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => compare_json(&p, rv, gv, matcher, c),
                    None if ignored(&p) => {}
                    None => differ(c, format!("body {p}: recorded {rv}, got nothing")),
                }
            }
            for (k, gv) in g {
                let p = format!("{path}.{k}");
                if !r.contains_key(k) && !ignored(&p) {
                    differ(c, format!("body {p}: recorded nothing, got {gv}"));
                }
            }
        }
        (Value::Array(r), Value::Array(g)) if r.len() == g.len() => {
            for (i, (rv, gv)) in r.iter().zip(g).enumerate() {
                compare_json(&format!("{path}[{i}]"), rv, gv, matcher, c);
            }
        }
        (Value::String(r), Value::String(g)) => match leaf_match(r, g) {
            Leaf::Exact => {}
            Leaf::Shape => {
                c.by_shape += 1;
                echo(c, r, g);
            }
            Leaf::Differs if ignored(path) => echo(c, r, g),
            Leaf::Differs => {
                echo(c, r, g);
                differ(c, format!("body {path}: recorded {recorded}, got {got}"));
            }
        },
        (r, g) if r == g => {}
        _ if ignored(path) => {}
        (r, g) => differ(c, format!("body {path}: recorded {r}, got {g}")),
    }
}

fn differ(c: &mut Comparison, line: String) {
    c.differences.push(line);
    c.distance += 1;
}

fn looks_like_form(s: &str) -> bool {
    !s.is_empty() && s.contains('=') && !s.contains(char::is_whitespace)
}

fn form_pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Query parameters, decoded as servers decode them (`+` and `%20` are both a space).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_pairs(query)
}

/// Decodes `%XX` escapes (a `+` stays a plus; an incomplete escape stays as it is).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/path?query` of an absolute or relative URI.
pub fn path_and_query_of(uri: &str) -> &str {
    match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => uri,
    }
}

fn split_uri(path_and_query: &str) -> (&str, &str) {
    path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""))
}

/// Whether `s` is a GUID in its 36-character form.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

/// Whether `s` is a date-time as Graph, ARM and Entra write them: `YYYY-MM-DDTHH:MM:SS`
/// (or a space for the `T`), optional fraction and offset.
pub fn is_datetime(s: &str) -> bool {
    datetime_len(s.as_bytes()) == Some(s.len())
}

/// Length of the date-time at the start of `b`, if one starts there.
pub fn datetime_len(b: &[u8]) -> Option<usize> {
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && (at(10, b'T') || at(10, b' '))
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19))
    {
        return None;
    }
    let mut i = 19;
    if at(i, b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if at(i, b'Z') {
        i += 1;
    } else if (at(i, b'+') || at(i, b'-'))
        && digits(i + 1..i + 3)
        && at(i + 3, b':')
        && digits(i + 4..i + 6)
    {
        i += 6;
    }
    Some(i)
}

/// One entry and where it came from.
#[derive(Debug)]
struct Loaded {
    source: String,
    index: usize,
    entry: Entry,
}

/// Recorded exchanges ready to be served.
#[derive(Debug)]
pub struct Playback {
    entries: Vec<Loaded>,
    served: Mutex<Vec<bool>>,
    /// The session's matcher: read on every request, replaced through the control API.
    matcher: parking_lot::RwLock<Matcher>,
}

/// What the playback server does with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Serve this entry (index into the loaded entries).
    Entry(usize),
    /// Nothing matched; the closest entry and what differs, if any entry was loaded.
    NoMatch(Option<(usize, Vec<String>)>),
}

impl Playback {
    /// Loads recordings from files, or from every `*.json` file of a directory.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ReplayError> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                    .map_err(|e| ReplayError::Read(path.clone(), e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect();
                found.sort();
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        let mut recordings = Vec::new();
        for file in files {
            let recording = Recording::load(&file)?;
            recordings.push((file.display().to_string(), recording));
        }
        let playback = Self::new(recordings);
        if playback.entries.is_empty() {
            return Err(ReplayError::Empty(paths.to_vec()));
        }
        Ok(playback)
    }

    /// Serves `recordings`, each named by its source.
    pub fn new(recordings: Vec<(String, Recording)>) -> Self {
        let entries: Vec<Loaded> = recordings
            .into_iter()
            .flat_map(|(source, recording)| {
                recording
                    .entries
                    .into_iter()
                    .enumerate()
                    .map(move |(index, entry)| Loaded {
                        source: source.clone(),
                        index,
                        entry,
                    })
            })
            .collect();
        let served = Mutex::new(vec![false; entries.len()]);
        Self {
            entries,
            served,
            matcher: parking_lot::RwLock::new(Matcher::default()),
        }
    }

    /// Uses `matcher` from now on.
    pub fn set_matcher(&self, matcher: Matcher) {
        *self.matcher.write() = matcher;
    }

    /// The session's matcher.
    pub fn matcher(&self) -> Matcher {
        self.matcher.read().clone()
    }

    /// How many exchanges are loaded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Picks the entry that answers `req` and marks it served.
    pub fn answer(&self, req: &Incoming<'_>) -> Answer {
        self.answer_with_echoes(req).0
    }

    /// [`Playback::answer`], with what the answer should echo.
    fn answer_with_echoes(&self, req: &Incoming<'_>) -> (Answer, Vec<(String, String)>) {
        let matcher = self.matcher();
        let comparisons: Vec<Comparison> = self
            .entries
            .iter()
            .map(|l| compare_with(&l.entry, req, &matcher))
            .collect();
        let mut served = self.served.lock();
        let best = comparisons
            .iter()
            .enumerate()
            .filter(|(_, c)| c.matches())
            .min_by_key(|(i, c)| (c.by_shape, served[*i], *i))
            .map(|(i, _)| i);
        if let Some(i) = best {
            served[i] = true;
            let echoes = comparisons[i].echoes.clone();
            return (Answer::Entry(i), echoes);
        }
        let closest = comparisons
            .into_iter()
            .enumerate()
            .min_by_key(|(i, c)| (c.distance, *i))
            .map(|(i, c)| (i, c.differences));
        (Answer::NoMatch(closest), Vec::new())
    }

    /// The HTTP response for `req`.
    pub fn respond(&self, req: &Incoming<'_>) -> Response {
        let (answer, echoes) = self.answer_with_echoes(req);
        match answer {
            Answer::Entry(i) => recorded_response(&self.entries[i].entry, &echoes),
            Answer::NoMatch(closest) => {
                let closest = closest.map(|(i, differences)| {
                    let l = &self.entries[i];
                    json!({
                        "recording": l.source,
                        "entry": l.index,
                        "method": l.entry.request_method,
                        "uri": l.entry.request_uri,
                        "body": l.entry.request_body,
                        "differences": differences,
                    })
                });
                let message = match &closest {
                    Some(c) => format!(
                        "No recorded exchange matches {} {}. Closest: entry {} of {} ({} {}).",
                        req.method,
                        req.path_and_query,
                        c["entry"],
                        c["recording"].as_str().unwrap_or_default(),
                        c["method"].as_str().unwrap_or_default(),
                        c["uri"].as_str().unwrap_or_default(),
                    ),
                    None => format!(
                        "No recorded exchange matches {} {}.",
                        req.method, req.path_and_query
                    ),
                };
                let body = json!({"error": {
                    "code": "RecordingNotFound",
                    "message": message,
                    "request": {
                        "method": req.method,
                        "uri": req.path_and_query,
                        "body": body_value(req.body),
                    },
                    "closest": closest,
                }});
                (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
            }
        }
    }

    /// A router that answers every request from the recordings, and the matcher's control API.
    pub fn router(self) -> axum::Router {
        let playback = Arc::new(self);
        let p_get = playback.clone();
        let p_set = playback.clone();
        let p_admin = playback.clone();
        axum::Router::new()
            .route(
                "/_emulator/replay/matcher",
                axum::routing::get(move || {
                    let p = p_get.clone();
                    async move { axum::Json(p.matcher().to_json()).into_response() }
                })
                .post(move |body: Bytes| {
                    let p = p_set.clone();
                    async move {
                        let parsed = serde_json::from_slice::<Value>(&body)
                            .map_err(|e| e.to_string())
                            .and_then(|b| Matcher::from_body(&b));
                        set_matcher_response(&p, parsed)
                    }
                }),
            )
            .route(
                "/Admin/SetMatcher",
                axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                    let p = p_admin.clone();
                    async move {
                        let name = headers
                            .get("x-abstraction-identifier")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        let options = if body.is_empty() {
                            Ok(Value::Null)
                        } else {
                            serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string())
                        };
                        set_matcher_response(&p, options.and_then(|o| Matcher::named(&name, &o)))
                    }
                }),
            )
            .fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let playback = playback.clone();
                    async move {
                        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
                        let header_list: Vec<(String, String)> = headers
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.as_str().to_owned(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect();
                        let req = Incoming {
                            method: method.as_str(),
                            path_and_query,
                            headers: &header_list,
                            body: &body,
                        };
                        let response = playback.respond(&req);
                        tracing::info!(
                            target: "entra_emulator::request",
                            "replay {method} {} {}",
                            uri.path(),
                            response.status().as_u16()
                        );
                        response
                    }
                },
            )
    }
}

/// Headers that describe the recorded connection rather than the answer.
const HOP_HEADERS: &[&str] = &["connection", "content-length", "transfer-encoding", "date"];

/// The answer to a change of matcher: 200 with the matcher, or 400 saying what is wrong.
fn set_matcher_response(playback: &Playback, parsed: Result<Matcher, String>) -> Response {
    match parsed {
        Ok(m) => {
            tracing::info!(target: "entra_emulator::request", "replay matcher {}", m.name);
            playback.set_matcher(m);
            axum::Json(playback.matcher().to_json()).into_response()
        }
        Err(message) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"code": "InvalidMatcher", "message": message}})),
        )
            .into_response(),
    }
}

/// `value` with the recorded values of `echoes` replaced by the request's: a whole string
/// equal to one, or a GUID inside a longer string (an id in a URL or an OData context).
fn echoed(value: &str, echoes: &[(String, String)]) -> String {
    if let Some((_, got)) = echoes.iter().find(|(r, _)| r == value) {
        return got.clone();
    }
    let mut out = value.to_owned();
    for (recorded, got) in echoes.iter().filter(|(r, _)| is_guid(r)) {
        out = out.replace(recorded.as_str(), got);
    }
    out
}

fn echo_json(value: &Value, echoes: &[(String, String)]) -> Value {
    match value {
        Value::String(s) => Value::String(echoed(s, echoes)),
        Value::Array(items) => Value::Array(items.iter().map(|v| echo_json(v, echoes)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), echo_json(v, echoes)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The recorded answer: status, headers and body as recorded, with the request's own values
/// echoed where the recorded answer repeated the recorded request's.
fn recorded_response(entry: &Entry, echoes: &[(String, String)]) -> Response {
    let status = StatusCode::from_u16(entry.status_code).unwrap_or(StatusCode::OK);
    let mut headers = HeaderMap::new();
    for (name, value) in &entry.response_headers {
        if HOP_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&echoed(value, echoes)),
        ) {
            headers.insert(n, v);
        }
    }
    let body = if echoes.is_empty() {
        entry.response_body.clone()
    } else {
        echo_json(&entry.response_body, echoes)
    };
    (status, headers, body_bytes(&body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, uri: &str, body: Value, status: u16, response: Value) -> Entry {
        Entry {
            request_uri: uri.into(),
            request_method: method.into(),
            request_headers: BTreeMap::new(),
            request_body: body,
            status_code: status,
            response_headers: BTreeMap::from([(
                "Content-Type".to_owned(),
                "application/json".to_owned(),
            )]),
            response_body: response,
        }
    }

    fn req<'a>(method: &'a str, path: &'a str, body: &'a str) -> Incoming<'a> {
        Incoming {
            method,
            path_and_query: path,
            headers: &[],
            body: body.as_bytes(),
        }
    }

    fn playback(entries: Vec<Entry>) -> Playback {
        Playback::new(vec![(
            "fixtures/x.json".into(),
            Recording {
                entries,
                variables: BTreeMap::new(),
            },
        )])
    }

    const APP: &str = "https://graph.microsoft.com/v1.0/applications";

    #[test]
    fn method_path_query_and_body_must_agree() {
        let e = entry(
            "POST",
            APP,
            json!({"displayName": "a", "keyCredentials": []}),
            201,
            json!({}),
        );
        assert!(
            compare(
                &e,
                &req(
                    "POST",
                    "/v1.0/applications",
                    r#"{"keyCredentials":[],"displayName":"a"}"#
                )
            )
            .matches()
        );
        let c = compare(&e, &req("GET", "/v1.0/applications", ""));
        assert_eq!(c.differences[0], "method: recorded POST, got GET");
        let c = compare(
            &e,
            &req("POST", "/v1.0/applications", r#"{"displayName":"b"}"#),
        );
        assert_eq!(
            c.differences,
            [
                r#"body $.displayName: recorded "a", got "b""#,
                "body $.keyCredentials: recorded [], got nothing"
            ]
        );
        let q = entry(
            "GET",
            "https://graph.microsoft.com/v1.0/servicePrincipals?$filter=displayName%20eq%20%27x%27",
            Value::Null,
            200,
            json!({"value": []}),
        );
        assert!(
            compare(
                &q,
                &req(
                    "GET",
                    "/v1.0/servicePrincipals?%24filter=displayName+eq+'x'",
                    ""
                )
            )
            .matches()
        );
        let c = compare(
            &q,
            &req(
                "GET",
                "/v1.0/servicePrincipals?$filter=displayName eq 'y'",
                "",
            ),
        );
        assert_eq!(
            c.differences,
            [r#"query $filter: recorded "displayName eq 'x'", got "displayName eq 'y'""#]
        );
    }

    #[test]
    fn guids_datetimes_and_sanitized_values_match_by_shape() {
        let e = entry(
            "POST",
            "https://login.microsoftonline.com/e17a0000-0000-4000-8000-000000000001/oauth2/v2.0/token",
            json!(
                "grant_type=client_credentials&client_id=e17a0000-0000-4000-8000-000000000003&client_secret=Sanitized-secret-1&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
            ),
            200,
            json!({}),
        );
        let c = compare(
            &e,
            &req(
                "POST",
                "/0c2b7a5e-1111-4222-8333-444455556666/oauth2/v2.0/token",
                "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret=whatever&client_id=0c2b7a5e-1111-4222-8333-444455556667&grant_type=client_credentials",
            ),
        );
        assert!(c.matches(), "{c:?}");
        assert_eq!(c.by_shape, 3, "tenant, client id and secret");
        let dated = entry(
            "POST",
            "https://graph.microsoft.com/v1.0/applications/88cf6d82-d8e6-41af-8205-71bfbff43d56/addPassword",
            json!({"passwordCredential": {"displayName": "rbac", "startDateTime": "2025-01-01T00:00:00Z"}}),
            200,
            json!({}),
        );
        assert!(compare(&dated, &req("POST", "/v1.0/applications/88cf6d82-d8e6-41af-8205-71bfbff43d56/addPassword", r#"{"passwordCredential":{"displayName":"rbac","startDateTime":"2026-03-04T05:06:07.1234567Z"}}"#)).matches());
        assert!(
            !compare(
                &dated,
                &req(
                    "POST",
                    "/v1.0/applications/88cf6d82-d8e6-41af-8205-71bfbff43d56/addPassword",
                    r#"{"passwordCredential":{"displayName":"rbac","startDateTime":"tomorrow"}}"#
                )
            )
            .matches()
        );
    }

    #[test]
    fn exact_matches_win_then_unserved_entries_in_order() {
        let a =
            "https://graph.microsoft.com/v1.0/applications/11111111-1111-4111-8111-111111111111";
        let p = playback(vec![
            entry("GET", a, Value::Null, 200, json!({"n": 1})),
            entry("GET", a, Value::Null, 200, json!({"n": 2})),
            entry(
                "GET",
                "https://graph.microsoft.com/v1.0/applications/22222222-2222-4222-8222-222222222222",
                Value::Null,
                404,
                json!({}),
            ),
        ]);
        let r = req(
            "GET",
            "/v1.0/applications/11111111-1111-4111-8111-111111111111",
            "",
        );
        assert_eq!(p.answer(&r), Answer::Entry(0));
        assert_eq!(p.answer(&r), Answer::Entry(1));
        assert_eq!(
            p.answer(&r),
            Answer::Entry(0),
            "all served: the first again"
        );
        let other = req(
            "GET",
            "/v1.0/applications/22222222-2222-4222-8222-222222222222",
            "",
        );
        assert_eq!(p.answer(&other), Answer::Entry(2), "exact beats shape");
        let unknown = req(
            "GET",
            "/v1.0/applications/33333333-3333-4333-8333-333333333333",
            "",
        );
        assert_eq!(
            p.answer(&unknown),
            Answer::Entry(0),
            "a GUID matches by shape"
        );
    }

    #[test]
    fn no_match_names_the_closest_request() {
        let p = playback(vec![
            entry("GET", APP, Value::Null, 200, json!({"value": []})),
            entry("POST", APP, json!({"displayName": "a"}), 201, json!({})),
        ]);
        let Answer::NoMatch(Some((i, differences))) =
            p.answer(&req("POST", "/v1.0/applications", r#"{"displayName":"z"}"#))
        else {
            panic!("expected no match");
        };
        assert_eq!(i, 1);
        assert_eq!(
            differences,
            [r#"body $.displayName: recorded "a", got "z""#]
        );
        assert_eq!(
            p.answer(&req("DELETE", "/nowhere", "")),
            Answer::NoMatch(Some((
                0,
                vec![
                    "method: recorded GET, got DELETE".into(),
                    "path: recorded /v1.0/applications, got /nowhere".into()
                ]
            )))
        );
    }

    #[test]
    fn bodies_round_trip_through_the_recording_form() {
        assert_eq!(body_value(b""), Value::Null);
        assert_eq!(body_value(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(body_value(b"a=1&b=2"), json!("a=1&b=2"));
        assert_eq!(body_bytes(&json!({"a": 1})), br#"{"a":1}"#);
        assert_eq!(body_bytes(&json!("a=1")), b"a=1");
        assert!(body_bytes(&Value::Null).is_empty());
    }

    #[test]
    fn datetimes_are_recognised_in_every_service_format() {
        for s in [
            "2023-08-23T12:43:55.3291131Z",
            "2023-08-23T12:43:54Z",
            "2023-02-14T11:10:50",
            "2025-04-23 02:35:17Z",
            "2023-09-04T09:29:16.895907+00:00",
        ] {
            assert!(is_datetime(s), "{s}");
        }
        for s in ["2023-08-23", "tomorrow", "2023-08-23T12:43Z"] {
            assert!(!is_datetime(s), "{s}");
        }
        assert_eq!(datetime_len(b"2025-04-23 02:35:17Z and more"), Some(20));
    }

    #[test]
    fn percent_decoding_keeps_plus_and_broken_escapes() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b+c%2");
        assert_eq!(path_and_query_of("https://h/x?y=1"), "/x?y=1");
        assert_eq!(path_and_query_of("https://h"), "/");
        assert_eq!(path_and_query_of("/x"), "/x");
    }

    #[tokio::test]
    async fn the_router_answers_as_recorded() {
        use tower::ServiceExt as _;
        let p = playback(vec![entry(
            "POST",
            APP,
            json!({"displayName": "a"}),
            201,
            json!({"id": "x", "displayName": "a"}),
        )]);
        let app = p.router();
        let r = app
            .clone()
            .oneshot(
                axum::http::Request::post("/v1.0/applications")
                    .body(axum::body::Body::from(r#"{"displayName":"a"}"#))
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["content-type"], "application/json");
        let body = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .expect("body");
        assert_eq!(&body[..], br#"{"id":"x","displayName":"a"}"#);
        let r = app
            .oneshot(
                axum::http::Request::get("/v1.0/servicePrincipals")
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .expect("body");
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["error"]["code"], "RecordingNotFound");
        assert_eq!(body["error"]["closest"]["uri"], APP);
    }

    #[test]
    fn matchers_relax_bodies_headers_fields_and_query_values() {
        let mut e = entry(
            "POST",
            "https://graph.microsoft.com/v1.0/applications?api-version=1&x=2",
            json!({"displayName": "recorded", "keyCredentials": []}),
            201,
            json!({}),
        );
        e.request_headers.insert(
            "Content-Type".into(),
            "application/json;charset=utf-8".into(),
        );
        e.request_headers
            .insert("Authorization".into(), "Bearer Sanitized".into());
        e.request_headers
            .insert("User-Agent".into(), "rec/1".into());
        let headers = vec![
            (
                "content-type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            ),
            ("authorization".to_owned(), "Bearer eyJ.mine".to_owned()),
            ("user-agent".to_owned(), "mine/2".to_owned()),
            ("x-extra".to_owned(), "only mine".to_owned()),
        ];
        let mine = |body: &'static str, path: &'static str| Incoming {
            method: "POST",
            path_and_query: path,
            headers: &headers,
            body: body.as_bytes(),
        };
        let own_name = r#"{"displayName":"mine","keyCredentials":[]}"#;
        let same = r#"{"displayName":"recorded","keyCredentials":[]}"#;
        let default = Matcher::default();
        assert!(
            compare_with(
                &e,
                &mine(same, "/v1.0/applications?x=2&api-version=1"),
                &default
            )
            .matches(),
            "volatile headers, credentials, a tool's own headers and query order do not count"
        );
        let c = compare_with(
            &e,
            &mine(own_name, "/v1.0/applications?api-version=1&x=2"),
            &default,
        );
        assert_eq!(
            c.differences,
            [r#"body $.displayName: recorded "recorded", got "mine""#]
        );
        for m in [
            Matcher::parse("BodilessMatcher").expect("known"),
            Matcher::parse(r#"JsonBodyMatcher:{"ignoredBodyFields": "displayName"}"#)
                .expect("known"),
            Matcher::parse(r#"CustomDefaultMatcher:{"compareBodies": false}"#).expect("known"),
        ] {
            let c = compare_with(
                &e,
                &mine(own_name, "/v1.0/applications?api-version=1&x=2"),
                &m,
            );
            assert!(c.matches(), "{}: {:?}", m.name, c.differences);
            assert_eq!(c.echoes, [("recorded".to_owned(), "mine".to_owned())]);
        }
        let strict_order = Matcher::parse(r#"CustomDefaultMatcher:{"ignoreQueryOrdering": false}"#)
            .expect("known");
        assert!(
            !compare_with(
                &e,
                &mine(same, "/v1.0/applications?x=2&api-version=1"),
                &strict_order
            )
            .matches()
        );
        let volatile_x = Matcher::parse(r#"CustomDefaultMatcher:{"ignoredQueryParameters": "x"}"#)
            .expect("known");
        assert!(
            compare_with(
                &e,
                &mine(same, "/v1.0/applications?api-version=1&x=9"),
                &volatile_x
            )
            .matches()
        );
        assert!(
            !compare_with(
                &e,
                &mine(same, "/v1.0/applications?api-version=1"),
                &volatile_x
            )
            .matches(),
            "an ignored parameter must still be present"
        );
        let other_type = vec![("content-type".to_owned(), "text/plain".to_owned())];
        let plain = Incoming {
            method: "POST",
            path_and_query: "/v1.0/applications?api-version=1&x=2",
            headers: &other_type,
            body: same.as_bytes(),
        };
        assert!(!compare_with(&e, &plain, &default).matches());
        assert!(
            compare_with(
                &e,
                &plain,
                &Matcher::parse("HeaderlessMatcher").expect("known")
            )
            .matches()
        );
        assert!(
            compare_with(
                &e,
                &plain,
                &Matcher::parse(r#"CustomDefaultMatcher:{"excludedHeaders": "Content-Type"}"#)
                    .expect("known")
            )
            .matches()
        );
    }

    #[tokio::test]
    async fn the_answer_echoes_the_clients_own_values_and_the_matcher_is_set_per_session() {
        use tower::ServiceExt as _;
        let recorded_id = "11111111-1111-4111-8111-111111111111";
        let p = playback(vec![
            entry(
                "POST",
                APP,
                json!({"displayName": "recorded-name"}),
                201,
                json!({"id": recorded_id, "displayName": "recorded-name", "@odata.context": format!("x/{recorded_id}")}),
            ),
            entry(
                "GET",
                &format!("{APP}/{recorded_id}"),
                Value::Null,
                200,
                json!({"id": recorded_id, "displayName": "recorded-name"}),
            ),
        ]);
        let app = p.router();
        let call = |r: axum::http::Request<axum::body::Body>| {
            let app = app.clone();
            async move {
                let resp = app.oneshot(r).await.expect("response");
                let status = resp.status();
                let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .expect("body");
                (
                    status,
                    serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
                )
            }
        };
        let create = || {
            axum::http::Request::post("/v1.0/applications")
                .body(axum::body::Body::from(r#"{"displayName":"my-tool"}"#))
                .expect("request")
        };
        let (status, body) = call(create()).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "the default matcher compares bodies"
        );
        assert_eq!(body["error"]["code"], "RecordingNotFound");
        let (status, body) = call(
            axum::http::Request::post("/_emulator/replay/matcher")
                .body(axum::body::Body::from(r#"{"matcher": "NoSuch"}"#))
                .expect("request"),
        )
        .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!("InvalidMatcher"))
        );
        let (status, body) = call(
            axum::http::Request::post("/Admin/SetMatcher")
                .header("x-abstraction-identifier", "BodilessMatcher")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(
            (status, &body["name"]),
            (StatusCode::OK, &json!("BodilessMatcher"))
        );
        let (status, body) = call(create()).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            body["displayName"], "my-tool",
            "the client's own name is echoed"
        );
        assert_eq!(body["id"], recorded_id);
        let own_id = "22222222-2222-4222-8222-222222222222";
        let (status, body) = call(
            axum::http::Request::get(format!("/v1.0/applications/{own_id}"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["id"], own_id, "an id in the path is echoed");
        let (_, body) = call(
            axum::http::Request::get("/_emulator/replay/matcher")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(body["compareBodies"], false);
    }
}

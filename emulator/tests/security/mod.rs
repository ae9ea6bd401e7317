//! Security: hostile bearer tokens on every protected API, the token cache's resistance to
//! poisoning, secrets kept out of logs and dumps, and the control API's admin token.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_emulator::Emulator;
use entra_emulator::SigningKey;
use entra_emulator::test_support::{self, Claims};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::*;

mod admin_token;
mod connections;
mod credentials;
mod escalation;
mod files;
mod hosts;
mod identifier_uris;
mod names;

const ARM: &str = "https://management.azure.com/.default";
const GRAPH: &str = "https://graph.microsoft.com/.default";
const LA: &str = "https://api.loganalytics.io/.default";
const AI: &str = "https://api.applicationinsights.io/.default";
const METRICS: &str = "https://monitoring.azure.com//.default";
const INGEST: &str = "https://monitor.azure.com//.default";
const METRICS_PUBLISHER: &str = "3913510d-42f4-4e42-8a64-420c390055eb";

/// How a service words its refusals: each family has its own envelope and codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// ARM, and the metrics read API behind it.
    Arm,
    Graph,
    /// Log Analytics and Application Insights query APIs.
    Query,
    /// Custom metrics ingestion.
    CustomMetrics,
    /// Logs Ingestion.
    Ingestion,
}

/// What the emulator should conclude about a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer <something>`.
    Scheme,
    /// Not a JWT (or too long to read).
    Unparsable,
    /// A JWT that fails signature, algorithm, key or issuing-instance checks.
    Invalid,
    Expired,
    NotYetValid,
    WrongAudience,
    /// Validly signed, but for another issuer or tenant.
    WrongTenant,
    /// Accepted.
    Valid,
}

/// One protected API and a request that succeeds with a good token.
struct Api {
    name: &'static str,
    family: Family,
    method: Method,
    path: String,
    body: Option<Value>,
    /// Scope of a token the API accepts.
    scope: &'static str,
    /// Scope of a valid token for another resource.
    other_scope: &'static str,
}

/// A started emulator with one resource of each kind, the admin allowed on every API, and
/// a second emulator instance whose tokens the first must refuse.
struct Env {
    app: TestApp,
    other: TestApp,
    apis: Vec<Api>,
}

impl Env {
    async fn new() -> Self {
        let mon = crate::monitor::Env::immediate().await;
        let other = TestApp::new().await;
        // Owner grants no data actions: custom metrics and Logs Ingestion need this role.
        mon.assign(&mon.rg, METRICS_PUBLISHER, &mon.app.emu.admin().object_id)
            .await;
        let crate::monitor::Env {
            app,
            rg,
            customer_id,
            app_id,
            site,
            rule,
            ..
        } = mon;
        let now = app
            .emu
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format");
        let metric = json!({"time": now, "data": {"baseData": {
            "metric": "Latency", "namespace": "Sec", "dimNames": ["Process"],
            "series": [{"dimValues": ["a.exe"], "min": 1, "max": 1, "sum": 1, "count": 1}]
        }}});
        let apis = vec![
            Api {
                name: "ARM",
                family: Family::Arm,
                method: Method::GET,
                path: format!("{rg}?api-version=2022-09-01"),
                body: None,
                scope: ARM,
                other_scope: GRAPH,
            },
            Api {
                name: "Graph",
                family: Family::Graph,
                method: Method::GET,
                path: "/v1.0/applications".into(),
                body: None,
                scope: GRAPH,
                other_scope: ARM,
            },
            Api {
                name: "Log Analytics query",
                family: Family::Query,
                method: Method::POST,
                path: format!("/v1/workspaces/{customer_id}/query"),
                body: Some(json!({"query": "print x = 1"})),
                scope: LA,
                other_scope: ARM,
            },
            Api {
                name: "Application Insights query",
                family: Family::Query,
                method: Method::POST,
                path: format!("/v1/apps/{app_id}/query"),
                body: Some(json!({"query": "print x = 1"})),
                scope: AI,
                other_scope: LA,
            },
            Api {
                name: "custom metrics POST",
                family: Family::CustomMetrics,
                method: Method::POST,
                path: format!("{site}/metrics"),
                body: Some(metric),
                scope: METRICS,
                other_scope: ARM,
            },
            Api {
                name: "metrics GET (ARM)",
                family: Family::Arm,
                method: Method::GET,
                path: format!(
                    "{site}/providers/Microsoft.Insights/metrics?api-version=2023-10-01&metricnamespace=Sec&metricnames=Latency"
                ),
                body: None,
                scope: ARM,
                other_scope: METRICS,
            },
            Api {
                name: "Logs Ingestion",
                family: Family::Ingestion,
                method: Method::POST,
                path: format!(
                    "/dataCollectionRules/{rule}/streams/Custom-Orders?api-version=2023-01-01"
                ),
                body: Some(json!([{"TimeGenerated": now, "Item": "x"}])),
                scope: INGEST,
                other_scope: LA,
            },
        ];
        Self { app, other, apis }
    }
}

async fn token_for(app: &TestApp, scope: &str) -> String {
    let (status, body) = app.admin_token_v2(scope).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

/// Sends `api`'s request with `authorization` as the raw `Authorization` header.
async fn send(
    app: &TestApp,
    api: &Api,
    authorization: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    send_all(app, api, authorization.as_slice()).await
}

/// Sends `api`'s request with one raw `Authorization` header per value.
async fn send_all(
    app: &TestApp,
    api: &Api,
    authorization: &[&str],
) -> (StatusCode, HeaderMap, Value) {
    let mut req = app.http.request(api.method.clone(), app.url(&api.path));
    for value in authorization {
        req = req.header("authorization", *value);
    }
    if let Some(body) = &api.body {
        req = req.json(body);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn claims(token: &str) -> Claims {
    serde_json::from_value(claims_of(token)).expect("emulator claims")
}

/// `token`'s claims changed by `change`, signed with the emulator's own key: a token the
/// signature check passes, so only the claim checks can refuse it.
fn resign(app: &TestApp, token: &str, change: impl FnOnce(&mut Claims)) -> String {
    let mut c = claims(token);
    change(&mut c);
    test_support::sign(&app.emu, &c)
}

/// `header` and `token`'s payload, signed with HMAC-SHA256 under `key`.
fn hmac_signed(header: &Value, token: &str, key: &[u8]) -> String {
    let header: jsonwebtoken::Header = serde_json::from_value(header.clone()).expect("header");
    jsonwebtoken::encode(
        &header,
        &claims_of(token),
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .expect("sign")
}

/// Public key material an attacker can fetch: the JWKS modulus and the certificate PEM.
struct Published {
    kid: String,
    modulus: Vec<u8>,
    cert_pem: String,
}

async fn published(app: &TestApp) -> Published {
    let (status, jwks) = app
        .get_json(&format!("/{}/discovery/v2.0/keys", app.emu.tenant_id()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let key = &jwks["keys"][0];
    let der = base64::engine::general_purpose::STANDARD
        .decode(key["x5c"][0].as_str().expect("x5c"))
        .expect("der");
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    Published {
        kid: key["kid"].as_str().expect("kid").to_owned(),
        modulus: URL_SAFE_NO_PAD
            .decode(key["n"].as_str().expect("n"))
            .expect("n"),
        cert_pem: format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        ),
    }
}

/// Every hostile (and two friendly) `Authorization` headers for an API whose good token is
/// `good`: (name, header, expected verdict).
fn attacks(
    app: &TestApp,
    good: &str,
    wrong_audience: &str,
    other_instance: &str,
    keys: &Published,
    attacker: &SigningKey,
) -> Vec<(&'static str, Option<String>, Verdict)> {
    use Verdict::*;
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let header = jsonwebtoken::decode_header(good).expect("header");
    let now = app.emu.now().unix_timestamp();
    let other_tenant = Uuid::new_v4();
    let bearer = |t: &str| Some(format!("Bearer {t}"));
    let hs256 = json!({"alg": "HS256", "typ": "JWT", "kid": keys.kid});
    let mut tampered = claims(good);
    tampered.oid = Uuid::new_v4().to_string();
    tampered.roles = Some(vec!["Application.ReadWrite.All".into()]);
    let forged_by_attacker = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some(keys.kid.clone());
        jsonwebtoken::encode(
            &h,
            &claims_of(good),
            &jsonwebtoken::EncodingKey::from_rsa_pem(
                attacker.to_pkcs8_pem().expect("pem").as_bytes(),
            )
            .expect("key"),
        )
        .expect("sign")
    };
    assert_eq!(header.kid.as_deref(), Some(keys.kid.as_str()));
    vec![
        ("valid token", bearer(good), Valid),
        ("lower-case scheme", Some(format!("bearer {good}")), Valid),
        ("no Authorization header", None, Missing),
        ("empty bearer", Some("Bearer ".into()), Scheme),
        ("scheme only", Some("Bearer".into()), Scheme),
        (
            "Basic scheme",
            Some(format!("Basic {}", b64("admin:x"))),
            Scheme,
        ),
        ("token without scheme", Some(good.to_owned()), Scheme),
        (
            "non-ASCII bytes",
            Some("Bearer \u{e9}t\u{e9}".into()),
            Scheme,
        ),
        ("not a JWT", bearer("abc"), Unparsable),
        ("truncated", bearer(&good[..good.len() / 2]), Unparsable),
        (
            "64 KB token",
            bearer(&format!("eyJ{}", "A".repeat(64 * 1024))),
            Unparsable,
        ),
        (
            "alg none, no signature",
            bearer(&format!("{}.{p}.", b64(r#"{"alg":"none","typ":"JWT"}"#))),
            Invalid,
        ),
        (
            "alg none, signature kept",
            bearer(&format!("{}.{p}.{s}", b64(r#"{"alg":"none","typ":"JWT"}"#))),
            Invalid,
        ),
        (
            "HS256 keyed with the JWKS modulus",
            bearer(&hmac_signed(&hs256, good, &keys.modulus)),
            Invalid,
        ),
        (
            "HS256 keyed with the certificate PEM",
            bearer(&hmac_signed(&hs256, good, keys.cert_pem.as_bytes())),
            Invalid,
        ),
        (
            "unknown kid",
            bearer(&format!(
                "{}.{p}.{s}",
                b64(r#"{"alg":"RS256","typ":"JWT","kid":"not-a-published-key"}"#)
            )),
            Invalid,
        ),
        (
            "no kid",
            bearer(&format!(
                "{}.{p}.{s}",
                b64(r#"{"alg":"RS256","typ":"JWT"}"#)
            )),
            Invalid,
        ),
        (
            "tampered payload",
            bearer(&format!(
                "{h}.{}.{s}",
                b64(serde_json::to_vec(&tampered).expect("json"))
            )),
            Invalid,
        ),
        ("signature stripped", bearer(&format!("{h}.{p}.")), Invalid),
        (
            "signed by another key under the published kid",
            bearer(&forged_by_attacker),
            Invalid,
        ),
        ("another emulator instance", bearer(other_instance), Invalid),
        (
            "expired",
            bearer(&resign(app, good, |c| {
                c.iat = now - 7200;
                c.nbf = now - 7200;
                c.exp = now - 60;
            })),
            Expired,
        ),
        (
            "nbf in the future",
            bearer(&resign(app, good, |c| {
                c.iat = now;
                c.nbf = now + 3600;
                c.exp = now + 7200;
            })),
            NotYetValid,
        ),
        (
            "token for another resource",
            bearer(wrong_audience),
            WrongAudience,
        ),
        (
            "foreign issuer",
            bearer(&resign(app, good, |c| {
                c.iss = format!("https://sts.windows.net/{other_tenant}/");
            })),
            WrongTenant,
        ),
        (
            "other tenant",
            bearer(&resign(app, good, |c| {
                c.iss = c.iss.replace(&c.tid, &other_tenant.to_string());
                c.tid = other_tenant.to_string();
            })),
            WrongTenant,
        ),
    ]
}

/// (status, error code, message fragment) each family answers for a verdict.
fn expected(family: Family, verdict: Verdict) -> (StatusCode, &'static str, &'static str) {
    use Family::*;
    use Verdict::*;
    let unauthorized = StatusCode::UNAUTHORIZED;
    let forbidden = StatusCode::FORBIDDEN;
    let missing = "Authentication failed. The 'Authorization' header is missing.";
    let format =
        "Authentication failed. The 'Authorization' header is provided in an invalid format.";
    let invalid = "The access token is invalid.";
    match (family, verdict) {
        (_, Valid) => (StatusCode::OK, "", ""),
        (Arm | Query | CustomMetrics | Ingestion, Missing) => {
            (unauthorized, "AuthenticationFailed", missing)
        }
        (Arm | Query, Scheme) => (unauthorized, "AuthenticationFailed", format),
        (Arm, Unparsable | Invalid | NotYetValid) => {
            (unauthorized, "InvalidAuthenticationToken", invalid)
        }
        (Arm, Expired) => (
            unauthorized,
            "ExpiredAuthenticationToken",
            "is earlier than current UTC time",
        ),
        (Arm, WrongAudience) => (
            unauthorized,
            "InvalidAuthenticationTokenAudience",
            "has been obtained for wrong audience or resource",
        ),
        (Arm, WrongTenant) => (
            unauthorized,
            "InvalidAuthenticationTokenTenant",
            "The access token is from the wrong issuer",
        ),
        (Graph, Missing | Scheme) => (
            unauthorized,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ),
        (Graph, Unparsable) => (
            unauthorized,
            "InvalidAuthenticationToken",
            "CompactToken parsing failed with error code: 80049217",
        ),
        (Graph, Invalid | WrongTenant) => (
            unauthorized,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        (Graph, Expired | NotYetValid) => (
            unauthorized,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ),
        (Graph, WrongAudience) => (
            unauthorized,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        ),
        (Query, Unparsable | Invalid | Expired | NotYetValid | WrongTenant) => {
            (forbidden, "InvalidAuthenticationToken", invalid)
        }
        (Query, WrongAudience) => (
            forbidden,
            "InvalidTokenError",
            "The provided authentication is not valid for this resource",
        ),
        (CustomMetrics | Ingestion, WrongAudience) => (unauthorized, "InvalidAudience", ""),
        (CustomMetrics | Ingestion, _) => (unauthorized, "InvalidToken", invalid),
    }
}

/// Checks one answer against what its family should say; returns a description of each
/// mismatch.
fn check(
    api: &Api,
    attack: &str,
    verdict: Verdict,
    (status, headers, body): &(StatusCode, HeaderMap, Value),
) -> Option<String> {
    let (want_status, code, message) = expected(api.family, verdict);
    let label = format!("{} / {attack}", api.name);
    if verdict == Verdict::Valid {
        return (!status.is_success()).then(|| format!("{label}: {status} {body}"));
    }
    let mut problems = Vec::new();
    if *status != want_status {
        problems.push(format!("status {status}, want {want_status}"));
    }
    if body["error"]["code"] != code {
        problems.push(format!("code {}, want {code}", body["error"]["code"]));
    }
    let text = body["error"]["message"].as_str().unwrap_or_default();
    if !text.contains(message) {
        problems.push(format!("message {text:?} lacks {message:?}"));
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/json") {
        problems.push(format!("content-type {content_type:?}"));
    }
    let challenge = headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(" | ");
    match api.family {
        Family::Graph => {
            if body["error"]["innerError"]["request-id"].as_str().is_none() {
                problems.push("no innerError.request-id".into());
            }
            if !challenge.starts_with("Bearer realm=\"\", authorization_uri=") {
                problems.push(format!("WWW-Authenticate {challenge:?}"));
            }
        }
        Family::Arm if *status == StatusCode::UNAUTHORIZED => {
            let description = if verdict == Verdict::Missing {
                "missing 'Authorization' header"
            } else {
                "The access token is invalid."
            };
            if !challenge.starts_with("Bearer authorization_uri=\"")
                || !challenge.contains("error=\"invalid_token\"")
                || !challenge.contains(description)
            {
                problems.push(format!("WWW-Authenticate {challenge:?}"));
            }
        }
        _ => {}
    }
    (!problems.is_empty()).then(|| format!("{label}: {} — {body}", problems.join("; ")))
}

#[tokio::test]
async fn hostile_tokens_are_refused_by_every_protected_api_in_its_own_envelope() {
    let env = Env::new().await;
    let keys = published(&env.app).await;
    let attacker = tokio::task::spawn_blocking(SigningKey::generate)
        .await
        .expect("task")
        .expect("key");
    let mut goods = HashMap::new();
    let mut tried = 0;
    let mut failures = Vec::new();
    for api in &env.apis {
        let good = token_for(&env.app, api.scope).await;
        let wrong_audience = token_for(&env.app, api.other_scope).await;
        let other_instance = token_for(&env.other, api.scope).await;
        assert_eq!(
            jsonwebtoken::decode_header(&other_instance)
                .expect("header")
                .kid,
            Some(keys.kid.clone()),
            "in-process instances share the signing key, so only the instance tag tells them apart"
        );
        for (attack, authorization, verdict) in attacks(
            &env.app,
            &good,
            &wrong_audience,
            &other_instance,
            &keys,
            &attacker,
        ) {
            let answer = send(&env.app, api, authorization.as_deref()).await;
            tried += 1;
            failures.extend(check(api, attack, verdict, &answer));
        }
        goods.insert(api.name, good);
    }
    println!(
        "{tried} requests: {} APIs × {} credentials",
        env.apis.len(),
        tried / env.apis.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} answers wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Lists the default subscription's resource groups with `token`: the status and ARM's
/// error code (empty on success).
async fn list_groups(app: &TestApp, token: String) -> (StatusCode, String) {
    let path = format!(
        "/subscriptions/{}/resourceGroups?api-version=2022-09-01",
        app.emu.subscription_id()
    );
    let (status, _, body) = app.call(Method::GET, &path, Some(&token), None).await;
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn the_token_cache_never_admits_a_variant_and_still_expires_what_it_holds() {
    let app = TestApp::new().await;
    let get = |token: String| list_groups(&app, token);
    let good = token_for(&app, ARM).await;
    assert_eq!(get(good.clone()).await.0, StatusCode::OK);
    let cached = test_support::token_cache_len(&app.emu);
    assert!(cached >= 1, "the valid token is cached");
    assert_eq!(get(good.clone()).await.0, StatusCode::OK);
    assert_eq!(
        test_support::token_cache_len(&app.emu),
        cached,
        "the second use is a hit"
    );

    // Variants of the cached token: each is verified on its own, and refused.
    let (h, rest) = good.split_once('.').expect("header");
    let (p, s) = rest.split_once('.').expect("payload");
    let with_claims = |change: &dyn Fn(&mut Value)| {
        let mut c = claims_of(&good);
        change(&mut c);
        format!("{h}.{}.{s}", b64(c.to_string()))
    };
    let mut flipped = s.to_owned().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let variants = [
        with_claims(&|c| c["oid"] = json!(Uuid::new_v4())),
        with_claims(&|c| c["exp"] = json!(c["exp"].as_i64().expect("exp") + 86_400)),
        with_claims(&|c| c["aud"] = json!("https://graph.microsoft.com")),
        format!("{h}.{p}.{}", String::from_utf8(flipped).expect("ascii")),
        format!("{good}A"),
        format!("{good}."),
        format!("{h}.{p}"),
        good.to_ascii_uppercase(),
    ];
    for variant in &variants {
        assert_eq!(
            get(variant.clone()).await,
            (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken".to_owned()
            ),
            "{variant}"
        );
    }
    assert_eq!(
        test_support::token_cache_len(&app.emu),
        cached,
        "refused tokens are not cached"
    );
    assert_eq!(get(good.clone()).await.0, StatusCode::OK);

    // The cache holds the signature check, not the audience: the same token is still
    // refused by an API it was not issued for.
    let (status, _, body) = app
        .call(Method::GET, "/v1.0/applications", Some(&good), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "Access token validation failure. Invalid audience."
    );

    // A token not valid yet is refused, not remembered, and accepted once its time comes.
    let now = app.emu.now().unix_timestamp();
    let early = resign(&app, &good, |c| {
        c.nbf = now + 60;
        c.exp = now + 7200;
    });
    assert_eq!(
        get(early.clone()).await,
        (
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken".to_owned()
        )
    );
    app.emu.advance_clock(Duration::from_secs(61));
    assert_eq!(get(early.clone()).await.0, StatusCode::OK);

    // Moving the emulator's clock past `exp` expires the cached token.
    let exp = claims(&good).exp;
    let wait = u64::try_from(exp - app.emu.now().unix_timestamp()).expect("future");
    app.emu.advance_clock(Duration::from_secs(wait));
    assert_eq!(
        get(good.clone()).await,
        (
            StatusCode::UNAUTHORIZED,
            "ExpiredAuthenticationToken".to_owned()
        )
    );
    // The later-expiring token, also cached, still works until its own expiry.
    assert_eq!(get(early.clone()).await.0, StatusCode::OK);
    app.emu.advance_clock(Duration::from_secs(7200));
    assert_eq!(
        get(early).await,
        (
            StatusCode::UNAUTHORIZED,
            "ExpiredAuthenticationToken".to_owned()
        )
    );
}

/// A running emulator reached over HTTP, with the admin token its control API wants, if any.
struct Remote {
    http: reqwest::Client,
    base: String,
    tenant: String,
    admin_id: String,
    admin_secret: String,
    admin_token: Option<String>,
}

impl Remote {
    fn of_binary(info: &Value, admin_token: Option<&str>) -> Self {
        let text = |v: &Value| v.as_str().expect("string").to_owned();
        Self {
            http: reqwest::Client::new(),
            base: text(&info["base_url"]),
            tenant: text(&info["tenant_id"]),
            admin_id: text(&info["admin"]["client_id"]),
            admin_secret: text(&info["admin"]["client_secret"]),
            admin_token: admin_token.map(str::to_owned),
        }
    }

    fn of_app(app: &TestApp) -> Self {
        Self {
            http: app.http.clone(),
            base: app.emu.url().to_owned(),
            tenant: app.emu.tenant_id().to_string(),
            admin_id: app.admin_id(),
            admin_secret: app.admin_secret(),
            admin_token: None,
        }
    }

    /// A client-credentials token request, the secret in the form or in HTTP Basic.
    async fn token(&self, client_id: &str, secret: &str, basic: bool) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/.default"),
        ];
        let mut req = self
            .http
            .post(format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant));
        if basic {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(client_id), enc(secret));
            req = req.header(
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            );
        } else {
            form.extend([("client_id", client_id), ("client_secret", secret)]);
        }
        let r = req.form(&form).send().await.expect("token request");
        (r.status(), r.json().await.expect("json"))
    }

    async fn graph(&self, token: &str, method: Method, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("graph");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    /// A control API request, with the admin token when there is one.
    fn control(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.admin_token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }
}

/// Creates and uses secrets on every path that sees one — Graph `addPassword`, token
/// requests with the secret in the form and in HTTP Basic, wrong secrets both ways, the
/// portal's secret page, `POST /_emulator/seed` — and returns every secret sent or shown.
async fn exercise_secrets(remote: &Remote) -> Vec<String> {
    let (status, body) = remote
        .token(&remote.admin_id, &remote.admin_secret, false)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, graph) = {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend([
            ("client_id", remote.admin_id.as_str()),
            ("client_secret", remote.admin_secret.as_str()),
            ("scope", GRAPH),
        ]);
        let r = remote
            .http
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                remote.base, remote.tenant
            ))
            .form(&form)
            .send()
            .await
            .expect("token");
        (r.status(), r.json::<Value>().await.expect("json"))
    };
    assert_eq!(status, StatusCode::OK, "{graph}");
    let graph = graph["access_token"].as_str().expect("token").to_owned();
    let created = remote
        .graph(
            &graph,
            Method::POST,
            "/v1.0/applications",
            json!({"displayName": "secret-scan"}),
        )
        .await;
    let (object_id, app_id) = (
        created["id"].as_str().expect("id").to_owned(),
        created["appId"].as_str().expect("appId").to_owned(),
    );
    let added = remote
        .graph(
            &graph,
            Method::POST,
            &format!("/v1.0/applications/{object_id}/addPassword"),
            json!({"passwordCredential": {"displayName": "scan"}}),
        )
        .await;
    let graph_secret = added["secretText"].as_str().expect("secretText").to_owned();
    remote
        .graph(
            &graph,
            Method::POST,
            "/v1.0/servicePrincipals",
            json!({"appId": app_id}),
        )
        .await;
    for basic in [false, true] {
        let (status, body) = remote.token(&app_id, &graph_secret, basic).await;
        assert_eq!(status, StatusCode::OK, "basic={basic}: {body}");
    }
    let wrong = [
        format!("{graph_secret}x"),
        format!("zzzQ~{}", Uuid::new_v4().simple()),
    ];
    for (wrong, basic) in wrong.iter().zip([false, true]) {
        let (status, body) = remote.token(&app_id, wrong, basic).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error_codes"][0], 7_000_215);
    }

    // The portal's one-time secret page.
    let page = remote
        .control(
            Method::POST,
            &format!("/_emulator/portal/apps/{object_id}/secrets"),
        )
        .form(&[("description", "portal"), ("expires", "180d")])
        .send()
        .await
        .expect("portal");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let start = html.find(r#"id="secret-value">"#).expect("value shown") + 18;
    let portal_secret = html[start..start + html[start..].find('<').expect("end")].to_owned();
    assert_eq!(portal_secret.len(), 40, "{portal_secret}");
    assert_eq!(
        remote.token(&app_id, &portal_secret, true).await.0,
        StatusCode::OK
    );

    // Bulk seeding with a chosen secret, which then signs an app in.
    let seed_secret = format!("seedQ~{}", Uuid::new_v4().simple());
    let seeded = remote
        .control(Method::POST, "/_emulator/seed")
        .json(&json!({"applications": 2, "secret": seed_secret}))
        .send()
        .await
        .expect("seed");
    assert_eq!(seeded.status(), StatusCode::CREATED);
    let listed = remote
        .graph(
            &graph,
            Method::GET,
            "/v1.0/applications?$filter=displayName%20eq%20'seed-app-1'",
            Value::Null,
        )
        .await;
    let seeded_app = listed["value"][0]["appId"].as_str().expect("seeded app");
    assert_eq!(
        remote.token(seeded_app, &seed_secret, false).await.0,
        StatusCode::OK
    );
    let mut all = vec![graph_secret, portal_secret, seed_secret];
    all.extend(wrong);
    all.push(remote.admin_secret.clone());
    all
}

/// Each secret's full value and its tail (hints show the first three characters) must be
/// absent from `text`.
fn assert_no_secret(text: &str, secrets: &[String], what: &str) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "{what} holds a secret");
        assert!(!text.contains(&secret[3..]), "{what} holds a secret's tail");
    }
}

#[tokio::test]
async fn secrets_reach_no_response_after_creation_and_no_state_dump() {
    let app = TestApp::new().await;
    let secrets = exercise_secrets(&Remote::of_app(&app)).await;
    let request = entra_emulator::SeedRequest {
        secret: Some(secrets[2].clone()),
        ..Default::default()
    };
    assert_no_secret(&format!("{request:?}"), &secrets, "a seed request's Debug");
    let dump = test_support::state_dump(&app.emu);
    assert!(dump.contains("SecretHash(***)"), "the dump shows hashes");
    assert!(dump.contains("seed-app-1"), "the dump is the whole state");
    assert_no_secret(&dump, &secrets, "the state dump");
    let graph = app.admin_graph_token().await;
    let apps = app
        .call(Method::GET, "/v1.0/applications", Some(&graph), None)
        .await
        .2;
    assert_no_secret(&apps.to_string(), &secrets, "the application list");
    let ids: Vec<String> = apps["value"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    for id in ids {
        for path in [
            format!("/v1.0/applications/{id}"),
            format!("/_emulator/portal/apps/{id}"),
            format!("/_emulator/portal/apps/{id}/secrets"),
        ] {
            let r = app.http.get(app.url(&path)).bearer_auth(&graph).send();
            let text = r.await.expect("get").text().await.expect("text");
            assert_no_secret(&text, &secrets[..3], &path);
        }
    }
}

#[tokio::test]
async fn secrets_never_reach_the_binarys_trace_logs() {
    let bin = RunningBinary::start_plain(&[("RUST_LOG", "trace")]).await;
    let secrets = exercise_secrets(&Remote::of_binary(&bin.info, None)).await;
    let logs = bin.stop_and_collect_stderr().await;
    assert!(
        logs.contains("POST /_emulator/seed 201"),
        "requests are logged"
    );
    assert_no_secret(&logs, &secrets, "the log");
}

const ADMIN_TOKEN: &str = "adm-tok-5f0c1e9a-test";

/// (status, error code, WWW-Authenticate) of a control request with `authorization`.
async fn control_answer(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: Option<String>,
) -> (StatusCode, String, String) {
    let mut req = app.http.request(method, app.url(path));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code, challenge)
}

fn basic(password: &str) -> String {
    let pair = format!("someone:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[tokio::test]
async fn with_an_admin_token_every_control_route_but_health_requires_it() {
    let app = TestApp::with(Emulator::builder().admin_token(ADMIN_TOKEN)).await;
    let graph = app.admin_graph_token().await;
    let bearer = |t: &str| Some(format!("Bearer {t}"));
    let bearer_challenge = r#"Bearer realm="Entra Emulator control API""#;
    let basic_challenge = r#"Basic realm="Entra Emulator control API", charset="UTF-8""#;
    let routes = [
        (Method::GET, "/_emulator/clock", bearer_challenge),
        (Method::POST, "/_emulator/reset", bearer_challenge),
        (Method::GET, "/_emulator/subscriptions", bearer_challenge),
        (Method::GET, "/_emulator/rbac/pending", bearer_challenge),
        (Method::GET, "/_emulator/nope", bearer_challenge),
        (Method::GET, "/_emulator/portal", basic_challenge),
        (Method::GET, "/_emulator/portal/apps", basic_challenge),
        (
            Method::POST,
            "/_emulator/portal/clock/advance",
            basic_challenge,
        ),
    ];
    let mut tried = 0;
    for (method, path, challenge) in &routes {
        for (what, authorization, code) in [
            ("no header", None, "AdminTokenRequired"),
            ("wrong token", bearer("adm-tok-wrong"), "InvalidAdminToken"),
            (
                "token prefix",
                bearer(&ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]),
                "InvalidAdminToken",
            ),
            ("a Graph token", bearer(&graph), "InvalidAdminToken"),
            ("empty bearer", Some("Bearer ".into()), "AdminTokenRequired"),
            ("wrong Basic", Some(basic("nope")), "InvalidAdminToken"),
        ] {
            let answer = control_answer(&app, method.clone(), path, authorization).await;
            tried += 1;
            // Basic counts only on the portal; elsewhere it is no token at all.
            let code = if what == "wrong Basic" && *challenge == bearer_challenge {
                "AdminTokenRequired"
            } else {
                code
            };
            assert_eq!(
                answer,
                (
                    StatusCode::UNAUTHORIZED,
                    code.to_owned(),
                    (*challenge).to_owned()
                ),
                "{method} {path} with {what}"
            );
        }
    }
    println!("{tried} refused control requests");
    // Nothing ran: the app created before the refused resets is still there.
    let apps = app
        .call(Method::GET, "/v1.0/applications", Some(&graph), None)
        .await
        .2;
    assert_eq!(apps["value"].as_array().map(Vec::len), Some(1));

    // Paths that reach the control routes after normalization are guarded too.
    for path in ["//_emulator/reset", "/_emulator//reset"] {
        let answer = control_answer(&app, Method::POST, path, None).await;
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{path}");
    }
    let encoded = control_answer(&app, Method::POST, "/%5Femulator/reset", None).await;
    assert!(!encoded.0.is_success(), "{encoded:?}");

    // The token opens every route; the portal also takes it as a Basic password; health
    // stays open for readiness probes.
    for (method, path, _) in &routes[..4] {
        let answer = control_answer(&app, method.clone(), path, bearer(ADMIN_TOKEN)).await;
        assert!(answer.0.is_success(), "{method} {path}: {answer:?}");
    }
    for authorization in [bearer(ADMIN_TOKEN), Some(basic(ADMIN_TOKEN))] {
        let r = app.http.get(app.url("/_emulator/portal/apps"));
        let r = r.header("authorization", authorization.expect("value"));
        assert_eq!(r.send().await.expect("portal").status(), StatusCode::OK);
    }
    let basic_elsewhere = control_answer(
        &app,
        Method::GET,
        "/_emulator/clock",
        Some(basic(ADMIN_TOKEN)),
    )
    .await;
    assert_eq!(basic_elsewhere.0, StatusCode::UNAUTHORIZED);
    let health = control_answer(&app, Method::GET, "/_emulator/health", None).await;
    assert_eq!(health.0, StatusCode::OK);
    // The Azure APIs are not affected.
    assert_eq!(
        app.call(Method::GET, "/v1.0/applications", Some(&graph), None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn on_loopback_without_an_admin_token_the_control_api_stays_open() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::GET, "/_emulator/clock"),
        (Method::GET, "/_emulator/portal"),
        (Method::POST, "/_emulator/reset"),
    ] {
        let answer = control_answer(&app, method.clone(), path, None).await;
        assert!(answer.0.is_success(), "{method} {path}: {answer:?}");
    }
}

#[tokio::test]
async fn control_writes_a_browser_makes_for_another_site_are_refused() {
    let app = TestApp::new().await;
    let now = |app: &TestApp| {
        let url = app.url("/_emulator/clock");
        let http = app.http.clone();
        async move {
            let body: Value = http
                .get(url)
                .send()
                .await
                .expect("clock")
                .json()
                .await
                .expect("json");
            body["now"].as_str().expect("now").to_owned()
        }
    };
    let advance = |headers: &[(&'static str, String)]| {
        let mut req = app
            .http
            .post(app.url("/_emulator/clock/advance"))
            .json(&serde_json::json!({"seconds": 86400}));
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        req.send()
    };
    let before = now(&app).await;
    for headers in [
        vec![("origin", "https://attacker.example".to_owned())],
        vec![("origin", "null".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
    ] {
        let answer = advance(&headers).await.expect("send");
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let body: Value = answer.json().await.expect("json");
        assert_eq!(body["error"]["code"], "CrossSiteRequest", "{body}");
    }
    let unchanged = now(&app).await;
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339")
    };
    assert!(
        parse(&unchanged) - parse(&before) < time::Duration::hours(1),
        "a refused advance moved the clock: {before} -> {unchanged}"
    );
    // The emulator's own pages, and clients that are not browsers, still get through.
    let own = app.emu.url().trim_end_matches('/').to_owned();
    for headers in [
        vec![
            ("origin", own),
            ("sec-fetch-site", "same-origin".to_owned()),
        ],
        vec![],
    ] {
        let answer = advance(&headers).await.expect("send");
        assert_eq!(answer.status(), StatusCode::OK, "{headers:?}");
    }
    // Reads are not state changes.
    let read = app
        .http
        .get(app.url("/_emulator/clock"))
        .header("origin", "https://attacker.example")
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_library_refuses_a_non_loopback_bind_without_an_admin_token() {
    let exposed = entra_emulator::Config {
        bind: "0.0.0.0:0".parse().expect("addr"),
        ..Default::default()
    };
    let refused = Emulator::builder().config(exposed.clone()).start().await;
    assert!(
        matches!(
            refused,
            Err(entra_emulator::StartError::ExposedControlApi(_))
        ),
        "{refused:?}"
    );
    // The same for a server handed an already bound listener.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let server = entra_emulator::Server::new(listener, exposed.clone(), None).expect("server");
    let run = server.run(std::future::pending()).await;
    assert_eq!(
        run.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::PermissionDenied)
    );
    // With a token it starts; an empty token is none.
    let empty = Emulator::builder().config(exposed.clone()).admin_token("");
    assert!(empty.start().await.is_err());
    let started = Emulator::builder()
        .config(exposed)
        .admin_token(ADMIN_TOKEN)
        .start()
        .await
        .expect("starts with a token");
    let app = TestApp {
        emu: started,
        http: reqwest::Client::new(),
    };
    let answer = control_answer(&app, Method::GET, "/_emulator/clock", None).await;
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_binary_refuses_a_non_loopback_bind_without_an_admin_token() {
    for (args, env) in [
        (vec!["--bind", "0.0.0.0:0"], vec![]),
        (vec![], vec![("ENTRA_EMULATOR_BIND", "0.0.0.0:0")]),
        (
            vec!["--bind", "[::]:0"],
            vec![("ENTRA_EMULATOR_ADMIN_TOKEN", "")],
        ),
    ] {
        let stderr = refused_start(&args, &env).await;
        assert!(
            stderr.contains("refusing to serve the control API")
                && stderr.contains("--admin-token")
                && stderr.contains("ENTRA_EMULATOR_ADMIN_TOKEN"),
            "{stderr}"
        );
    }
}

/// Runs the binary over plain HTTP with `args` and `env` (and no admin token unless `env`
/// gives one), expecting it to refuse to start without serving anything; returns its stderr.
async fn refused_start(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-emulator"))
            .args(args)
            .arg("--plain-http")
            .env_remove("ENTRA_EMULATOR_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("exits at once instead of serving")
    .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} {env:?}: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening on"),
        "nothing was served"
    );
    stderr
}

#[tokio::test]
async fn the_binary_with_an_admin_token_serves_any_bind_and_never_logs_the_token() {
    let bin = RunningBinary::spawn(
        &["--bind", "0.0.0.0:0", "--plain-http"],
        &[
            ("RUST_LOG", "trace"),
            ("ENTRA_EMULATOR_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
    )
    .await;
    let remote = Remote::of_binary(&bin.info, Some(ADMIN_TOKEN));
    let clock = format!("{}/_emulator/clock", remote.base);
    let refused = remote.http.get(&clock).send().await.expect("clock");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let wrong = remote.http.get(&clock).bearer_auth("x").send().await;
    assert_eq!(wrong.expect("clock").status(), StatusCode::UNAUTHORIZED);
    let allowed = remote.control(Method::GET, "/_emulator/clock").send().await;
    assert_eq!(allowed.expect("clock").status(), StatusCode::OK);
    let mut secrets = exercise_secrets(&remote).await;
    secrets.push(ADMIN_TOKEN.to_owned());
    let (stdout, stderr) = bin.stop_and_collect_output().await;
    assert!(stdout.contains("needs the admin token"), "{stdout}");
    assert!(stderr.contains("GET /_emulator/clock 401"), "{stderr}");
    assert!(!stdout.contains(ADMIN_TOKEN), "the banner hides the token");
    assert_no_secret(&stderr, &secrets, "the log");
}

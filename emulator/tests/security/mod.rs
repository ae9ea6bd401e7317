//! Security: hostile bearer tokens on every protected API, the token cache's resistance to
//! poisoning, secrets kept out of logs and dumps, and the control API's admin token.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_emulator::Emulator;
use entra_emulator::keys::SigningKey;
use entra_emulator::token::{self, Claims};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::*;

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
        let app = TestApp::with(Emulator::builder().rbac_propagation(Duration::ZERO)).await;
        let other = TestApp::new().await;
        let arm = token_for(&app, ARM).await;
        let sub = app.emu.subscription_id();
        let rg = format!("/subscriptions/{sub}/resourceGroups/sec");
        let put = |path: String, body: Value| {
            let arm = arm.clone();
            let app = &app;
            async move {
                let (status, _, body) = app.call(Method::PUT, &path, Some(&arm), Some(body)).await;
                assert!(status.is_success(), "{path}: {status} {body}");
                body
            }
        };
        put(
            format!("{rg}?api-version=2022-09-01"),
            json!({"location": "eastus"}),
        )
        .await;
        let ws = put(
            format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/logs?api-version=2022-10-01"),
            json!({"location": "eastus", "properties": {}}),
        )
        .await;
        let component = put(
            format!("{rg}/providers/Microsoft.Insights/components/web?api-version=2020-02-02"),
            json!({"location": "eastus", "kind": "web", "properties": {"Application_Type": "web"}}),
        )
        .await;
        let site = put(
            format!("{rg}/providers/Microsoft.Web/sites/shop?api-version=2023-01-01"),
            json!({"location": "eastus"}),
        )
        .await;
        let ws_id = ws["id"].as_str().expect("id").to_owned();
        let dcr = put(
            format!("{rg}/providers/Microsoft.Insights/dataCollectionRules/orders?api-version=2023-03-11"),
            json!({"location": "eastus", "properties": {
                "streamDeclarations": {"Custom-Orders": {"columns": [
                    {"name": "TimeGenerated", "type": "datetime"},
                    {"name": "Item", "type": "string"}
                ]}},
                "destinations": {"logAnalytics": [{"name": "la", "workspaceResourceId": ws_id}]},
                "dataFlows": [{"streams": ["Custom-Orders"], "destinations": ["la"],
                    "transformKql": "source", "outputStream": "Custom-Orders_CL"}]
            }}),
        )
        .await;
        // Owner grants no data actions: custom metrics and Logs Ingestion need this role.
        put(
            format!(
                "{rg}/providers/Microsoft.Authorization/roleAssignments/{}?api-version=2022-04-01",
                Uuid::new_v4()
            ),
            json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{METRICS_PUBLISHER}"),
                "principalId": app.emu.admin().object_id,
                "principalType": "ServicePrincipal",
            }}),
        )
        .await;
        let site = site["id"].as_str().expect("id").to_owned();
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
                path: format!(
                    "/v1/workspaces/{}/query",
                    ws["properties"]["customerId"].as_str().expect("customerId")
                ),
                body: Some(json!({"query": "print x = 1"})),
                scope: LA,
                other_scope: ARM,
            },
            Api {
                name: "Application Insights query",
                family: Family::Query,
                method: Method::POST,
                path: format!(
                    "/v1/apps/{}/query",
                    component["properties"]["AppId"].as_str().expect("AppId")
                ),
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
                    "/dataCollectionRules/{}/streams/Custom-Orders?api-version=2023-01-01",
                    dcr["properties"]["immutableId"]
                        .as_str()
                        .expect("immutableId")
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
    let mut req = app.http.request(api.method.clone(), app.url(&api.path));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
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
    token::mint(&app.emu.state().keys.current(), &c)
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

#[tokio::test]
async fn the_token_cache_never_admits_a_variant_and_still_expires_what_it_holds() {
    let app = TestApp::new().await;
    let path = format!(
        "/subscriptions/{}/resourceGroups?api-version=2022-09-01",
        app.emu.subscription_id()
    );
    let get = |token: String| {
        let (app, path) = (&app, &path);
        async move {
            let (status, _, body) = app.call(Method::GET, path, Some(&token), None).await;
            (
                status,
                body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };
    let good = token_for(&app, ARM).await;
    assert_eq!(get(good.clone()).await.0, StatusCode::OK);
    let cache = &app.emu.state().tokens;
    let cached = cache.len();
    assert!(cached >= 1, "the valid token is cached");
    assert_eq!(get(good.clone()).await.0, StatusCode::OK);
    assert_eq!(cache.len(), cached, "the second use is a hit");

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
    assert_eq!(cache.len(), cached, "refused tokens are not cached");
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

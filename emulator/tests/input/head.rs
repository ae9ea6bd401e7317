//! Oversized request heads on the socket: a request target over the emulator's limit (63 KiB)
//! gets 414 and header fields over its limit (256 KiB) get 431, each in the envelope of the
//! service that owns the path, over HTTP/1.1 and HTTP/2. hyper answers past its own larger
//! limits by itself, before any service runs, with an empty body; those limits sit above the
//! emulator's so that the range between is answered in the envelope.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{GUID, Owner, envelope_problem};
use crate::support::alpn_tls_config;
use entra_emulator::Emulator;

/// With its path, a request target over the emulator's limit (63 KiB) and under hyper's
/// (65,534 bytes).
const LONG_TARGET: usize = 64_800;

/// A header this long is over the emulator's limit and under hyper's (about 400 KiB).
const BIG_HEADER: usize = 300 * 1024;

/// One path per service, with the method it is sent with.
fn paths(emu: &Emulator) -> Vec<(Owner, Method, String)> {
    let tenant = emu.tenant_id();
    let sub = emu.subscription_id();
    vec![
        (
            Owner::Entra,
            Method::POST,
            format!("/{tenant}/oauth2/v2.0/token"),
        ),
        (Owner::Graph, Method::GET, "/v1.0/applications".into()),
        (
            Owner::Arm,
            Method::GET,
            format!("/subscriptions/{sub}/resourceGroups"),
        ),
        // Custom metrics ingestion, on ARM's paths: ARM's envelope.
        (
            Owner::Arm,
            Method::POST,
            format!(
                "/subscriptions/{sub}/resourceGroups/g/providers/Microsoft.Web/sites/a/metrics"
            ),
        ),
        (
            Owner::LogAnalytics,
            Method::POST,
            format!("/v1/workspaces/{GUID}/query"),
        ),
        (
            Owner::AppInsights,
            Method::POST,
            format!("/v1/apps/{GUID}/query"),
        ),
        (
            Owner::Ingestion,
            Method::POST,
            format!("/dataCollectionRules/dcr-{GUID}/streams/Custom-Orders"),
        ),
        (Owner::Control, Method::GET, "/_emulator/clock".into()),
        (Owner::Portal, Method::GET, "/_emulator/portal".into()),
    ]
}

/// Sends each oversized request to each service; the mismatches found.
async fn oversized_heads_get_envelopes(emu: &Emulator, http: &reqwest::Client) -> Vec<String> {
    let mut failures = Vec::new();
    for (owner, method, path) in paths(emu) {
        let long_query = format!(
            "{path}?api-version=2022-09-01&x={}",
            "q".repeat(LONG_TARGET)
        );
        let cases = [
            ("long target", long_query, None, StatusCode::URI_TOO_LONG),
            (
                "big header",
                format!("{path}?api-version=2022-09-01"),
                Some("h".repeat(BIG_HEADER)),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
        ];
        for (case, target, header, mut expected) in cases {
            // Graph relays its front end's answer to any oversized head: 400 (see
            // `graph::error`, sources there).
            if owner == Owner::Graph {
                expected = StatusCode::BAD_REQUEST;
            }
            let mut req = http.request(method.clone(), format!("{}{target}", emu.url()));
            if let Some(value) = header {
                req = req.header("x-padding", value);
            }
            let r = req.send().await.expect("an answer");
            let status = r.status();
            let headers = r.headers().clone();
            let text = r.text().await.expect("body");
            let body: Value = if owner == Owner::Portal {
                Value::String(text.clone())
            } else {
                serde_json::from_str(&text).unwrap_or(Value::Null)
            };
            let what = format!("{owner:?} {case}");
            if status != expected {
                failures.push(format!(
                    "{what}: status {status}, want {expected}: {text:.300}"
                ));
            }
            if text.is_empty() {
                failures.push(format!("{what}: empty body"));
            }
            failures.extend(
                envelope_problem(owner, &headers, &body).map(|p| format!("{what}: {p:.300}")),
            );
            if owner == Owner::Graph {
                assert_eq!(body["error"]["code"], "UnknownError", "{body}");
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    message
                        .contains("HTTP Error 400. The size of the request headers is too long."),
                    "{message}"
                );
            }
        }
    }
    failures
}

#[tokio::test]
async fn oversized_request_heads_are_answered_in_the_owners_envelope_over_http1() {
    let emu = Emulator::start().await.expect("emulator");
    let failures = oversized_heads_get_envelopes(&emu, &reqwest::Client::new()).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn oversized_request_heads_are_answered_in_the_owners_envelope_over_http2() {
    let emu = Emulator::builder().https().start().await.expect("emulator");
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(alpn_tls_config(emu.ca_cert_pem().expect("ca")))
        .build()
        .expect("client");
    let r = http
        .get(format!("{}/_emulator/health", emu.url()))
        .send()
        .await
        .expect("health");
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "ALPN picks HTTP/2");
    let failures = oversized_heads_get_envelopes(&emu, &http).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! Credentials the emulator used to accept: a token whose signing key rotation removed, once
//! the token cache held it; a JWT header with a `crit` extension; and a request carrying two
//! `Authorization` headers, of which the first was used.

use reqwest::StatusCode;
use serde_json::Value;

use super::{ARM, Env, GRAPH, Verdict, check, list_groups, send, send_all, token_for};
use crate::support::*;

/// `token` with the same claims, re-signed by the emulator's key under a header that names a
/// critical extension (RFC 7515 §4.1.11; the value is the RFC's own example).
fn with_crit(app: &TestApp, token: &str) -> String {
    let key = entra_emulator::test_support::signing_key(&app.emu);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(key.kid().to_owned());
    header.crit = Some(vec!["exp".into()]);
    jsonwebtoken::encode(
        &header,
        &claims_of(token),
        &jsonwebtoken::EncodingKey::from_rsa_pem(key.to_pkcs8_pem().expect("pem").as_bytes())
            .expect("key"),
    )
    .expect("sign")
}

/// RFC 7515 §4.1.11: a recipient that does not understand an extension listed in `crit`
/// must refuse the JWS. Entra puts no `crit` in its tokens, and the emulator understands no
/// extension, so every API refuses such a token as it refuses a bad signature.
#[tokio::test]
async fn a_token_header_with_crit_is_refused_by_every_protected_api() {
    let env = Env::new().await;
    let mut failures = Vec::new();
    for api in &env.apis {
        let good = token_for(&env.app, api.scope).await;
        let crit = with_crit(&env.app, &good);
        assert_eq!(
            jsonwebtoken::decode_header(&crit).expect("header").crit,
            Some(vec!["exp".to_owned()])
        );
        let answer = send(&env.app, api, Some(&format!("Bearer {crit}"))).await;
        failures.extend(check(api, "crit header", Verdict::Invalid, &answer));
        // The same claims under the usual header are still accepted.
        let answer = send(&env.app, api, Some(&format!("Bearer {good}"))).await;
        failures.extend(check(api, "valid token", Verdict::Valid, &answer));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two `Authorization` headers may not be sent (RFC 9110 §5.3: the field is not a list).
/// Each API answers as it answers one malformed header. A guess: no public recording of
/// ARM, Graph or the Monitor APIs receiving two was found.
#[tokio::test]
async fn two_authorization_headers_are_refused_by_every_protected_api() {
    let env = Env::new().await;
    let mut failures = Vec::new();
    for api in &env.apis {
        let good = format!("Bearer {}", token_for(&env.app, api.scope).await);
        for (attack, pair) in [
            ("the same token twice", [good.as_str(), good.as_str()]),
            ("a good token first", [good.as_str(), "Bearer garbage"]),
            ("a good token second", ["Bearer garbage", good.as_str()]),
        ] {
            let answer = send_all(&env.app, api, &pair).await;
            failures.extend(check(api, attack, Verdict::Scheme, &answer));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// client_secret_basic twice: two client credentials in one request, which RFC 6749 §5.2
/// answers with `invalid_request`. Entra's own answer was not found; the malformed-request
/// code (AADSTS9002313) is a guess.
#[tokio::test]
async fn the_token_endpoint_refuses_two_authorization_headers() {
    use base64::Engine as _;
    let app = TestApp::new().await;
    let basic = |id: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let good = basic(&app.admin_id(), &app.admin_secret());
    let wrong = basic(&app.admin_id(), "not-the-secret");
    let path = format!("/{}/oauth2/v2.0/token", app.emu.tenant_id());
    let request = |values: &[&str]| {
        let mut req = app
            .http
            .post(app.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=client_credentials&scope={GRAPH}"));
        for value in values {
            req = req.header("authorization", *value);
        }
        async move {
            let r = req.send().await.expect("request");
            (r.status(), r.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = request(&[&good]).await;
    assert_eq!(status, StatusCode::OK, "one header still works: {body}");
    for pair in [[&good, &good], [&good, &wrong], [&wrong, &good]] {
        let (status, body) = request(&[pair[0].as_str(), pair[1].as_str()]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
        assert_eq!(body["error_codes"][0], 9002313, "{body}");
        assert!(body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn the_control_api_refuses_two_authorization_headers() {
    let token = "an-admin-token-of-enough-length";
    let app = TestApp::with(entra_emulator::Emulator::builder().admin_token(token)).await;
    let bearer = format!("Bearer {token}");
    let clock = |values: &[&str]| {
        let mut req = app.http.get(app.url("/_emulator/clock"));
        for value in values {
            req = req.header("authorization", *value);
        }
        async move {
            let r = req.send().await.expect("request");
            (r.status(), r.json::<Value>().await.expect("json"))
        }
    };
    assert_eq!(clock(&[&bearer]).await.0, StatusCode::OK);
    for pair in [
        [bearer.as_str(), bearer.as_str()],
        [bearer.as_str(), "Bearer x"],
    ] {
        let (status, body) = clock(&pair).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "InvalidAdminToken", "{body}");
    }
}

/// Rotation keeps the three newest keys; a fourth rotation's predecessor-but-two leaves the
/// JWKS, and every token it signed must then be refused: the one ARM has already seen (and
/// cached) as well as one never used before.
#[tokio::test]
async fn tokens_of_a_key_rotated_out_are_refused_even_when_cached() {
    let app = TestApp::new().await;
    let get = |token: String| list_groups(&app, token);
    let used = token_for(&app, ARM).await;
    let unused = token_for(&app, ARM).await;
    let old_kid = header_of(&used)["kid"].as_str().expect("kid").to_owned();
    assert_eq!(get(used.clone()).await.0, StatusCode::OK);
    let published = || async {
        let (status, jwks) = app.get_json("/common/discovery/keys").await;
        assert_eq!(status, StatusCode::OK);
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect::<Vec<_>>()
    };
    // Still published after one rotation: still accepted, cached or not.
    app.rotate_keys().await;
    assert!(published().await.contains(&old_kid));
    assert_eq!(get(used.clone()).await.0, StatusCode::OK);
    app.rotate_keys().await;
    app.rotate_keys().await;
    assert!(!published().await.contains(&old_kid), "rotated out");
    let refused = (
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken".to_owned(),
    );
    assert_eq!(get(used).await, refused, "the cached token");
    assert_eq!(get(unused).await, refused, "the token never used");
    // Tokens of the current key work.
    assert_eq!(get(token_for(&app, ARM).await).await.0, StatusCode::OK);
}

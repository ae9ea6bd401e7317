//! Client assertions signed with a registered certificate, at the v2 and v1 token endpoints.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::create_app;
use crate::support::certs::{self, TestCert};
use crate::support::*;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The assertion MSAL Python signs for a PEM key and SHA-1 thumbprint: RS256, `x5t` with
/// its `=` padding, `aud` the discovery document's token endpoint, `exp` = now + 600, a
/// `jti`, no `nbf` (AzureAD/microsoft-authentication-library-for-python
/// `msal/oauth2cli/assertion.py`, `application.py` `_build_client`).
pub(crate) fn msal_assertion(app: &TestApp, client_id: &str, cert: &TestCert) -> String {
    let now = app.emu.now().unix_timestamp();
    cert.sign(
        &json!({"alg": "RS256", "typ": "JWT", "x5t": cert.x5t_padded()}),
        &json!({"aud": token_endpoint(app), "iss": client_id, "sub": client_id,
            "exp": now + 600, "iat": now, "jti": Uuid::new_v4()}),
        false,
    )
}

fn token_endpoint(app: &TestApp) -> String {
    app.url(&format!("/{}/oauth2/v2.0/token", app.emu.tenant_id()))
}

/// Posts a client-credentials request with `assertion` to the v2 endpoint.
pub(crate) async fn assertion_token(
    app: &TestApp,
    client_id: &str,
    assertion: &str,
    scope: &str,
) -> (StatusCode, Value) {
    let path = format!("/{}/oauth2/v2.0/token", app.emu.tenant_id());
    app.post_form(
        &path,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", scope),
        ],
    )
    .await
}

/// A token for `client_id` signed in with `cert`.
pub(crate) async fn token_with_cert(
    app: &TestApp,
    client_id: &str,
    cert: &TestCert,
    scope: &str,
) -> String {
    let assertion = msal_assertion(app, client_id, cert);
    let (status, body) = assertion_token(app, client_id, &assertion, scope).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

fn cert_body(cert: &TestCert) -> Value {
    json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": cert.base64()}]})
}

#[tokio::test]
async fn msal_and_ps256_assertions_get_tokens_and_a_reused_assertion_still_works() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let cert = certs::long_lived(0, "signer");
    let (_, client_id, _) = create_app(&app, &admin, cert_body(&cert)).await;

    // MSAL Python's assertion, sent twice: MSAL reuses one for up to 540 s, so a replayed
    // `jti` is accepted (assertion.py `AutoRefresher(expires_in=600-60)`).
    let assertion = msal_assertion(&app, &client_id, &cert);
    for _ in 0..2 {
        let (status, body) = assertion_token(
            &app,
            &client_id,
            &assertion,
            "https://management.azure.com/.default",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims = claims_of(body["access_token"].as_str().expect("token"));
        // ARM takes v1 tokens; appidacr "2" = certificate (reference §3.8).
        assert_eq!(claims["appid"], client_id.as_str());
        assert_eq!(claims["appidacr"], "2");
    }
    let token = token_with_cert(
        &app,
        &client_id,
        &cert,
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(claims_of(&token)["appidacr"], "2");

    // The current Entra docs' form: PS256 with x5t#S256, nbf, and here the v1 endpoint as
    // aud at the v1 endpoint (certificate-credentials.md).
    let now = app.emu.now().unix_timestamp();
    let v1 = app.url(&format!("/{}/oauth2/token", app.emu.tenant_id()));
    let ps256 = cert.sign(
        &json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()}),
        &json!({"aud": v1, "iss": client_id, "sub": client_id, "nbf": now, "exp": now + 300, "iat": now, "jti": Uuid::new_v4()}),
        true,
    );
    let (status, body) = app
        .post_form(
            &format!("/{}/oauth2/token", app.emu.tenant_id()),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &ps256),
                ("resource", "https://management.azure.com/"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The secret path is unchanged: appidacr "1".
    let (status, body) = app
        .admin_token_v2("https://management.azure.com/.default")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        claims_of(body["access_token"].as_str().expect("token"))["appidacr"],
        "1"
    );
}

#[tokio::test]
async fn bad_assertions_get_entras_codes() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let cert = certs::long_lived(0, "signer");
    let stranger = certs::long_lived(1, "stranger");
    // Registered with a window that ended in 2022.
    let old = certs::cert(2, "old", (2020, 1, 1), (2022, 1, 1));
    let mut body = cert_body(&cert);
    body["keyCredentials"]
        .as_array_mut()
        .expect("array")
        .push(json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": old.base64()}));
    let (_, client_id, _) = create_app(&app, &admin, body).await;
    let now = app.emu.now().unix_timestamp();
    let aud = token_endpoint(&app);
    let claims = |extra: Value| {
        let mut c =
            json!({"aud": aud, "iss": client_id, "sub": client_id, "exp": now + 600, "jti": "x"});
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let rs = |header: Value, claims: Value| cert.sign(&header, &claims, false);
    let x5t = json!({"alg": "RS256", "x5t": cert.x5t()});
    let fmt = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .expect("time")
            .format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z"
            ))
            .expect("format")
    };
    let app_id = client_id.clone();
    let not_registered = |thumb: Option<String>| {
        format!(
            "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., {}Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{app_id}']",
            thumb
                .map(|t| format!("Thumbprint of key used by client: '{t}', "))
                .unwrap_or_default()
        )
    };
    let cases: Vec<(String, u16, &str, Vec<u64>, String)> = vec![
        // Not registered: keycloak/keycloak issue 19425 and MSAL-js issue 8339 (2023–2026).
        (stranger.sign(&json!({"alg": "RS256", "x5t": stranger.x5t()}), &claims(json!({})), false),
            401, "invalid_client", vec![700027], not_registered(Some(stranger.thumbprint()))),
        (rs(json!({"alg": "RS256"}), claims(json!({}))),
            401, "invalid_client", vec![700027], not_registered(None)),
        // The registered certificate's thumbprint on another key's signature (a guess at the
        // text, see EntraError::AssertionSignature).
        (stranger.sign(&x5t, &claims(json!({})), false), 401, "invalid_client", vec![700027],
            format!("Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{}', Found key 'Start=01/01/2020 00:00:00, End=01/01/2090 00:00:00', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]", cert.thumbprint())),
        (old.sign(&json!({"alg": "RS256", "x5t": old.x5t()}), &claims(json!({})), false), 401, "invalid_client", vec![700027],
            format!("The certificate with identifier used to sign the client assertion is expired on application. [Reason - The key used is expired., Thumbprint of key used by client: '{}', Found key 'Start=01/01/2020 00:00:00, End=01/01/2022 00:00:00']", old.thumbprint())),
        // AzureAD/microsoft-authentication-library-for-java issue 984 (2025): no nbf prints 1970.
        (rs(x5t.clone(), claims(json!({"exp": now - 301}))), 401, "invalid_client", vec![700024],
            format!("Client assertion is not within its valid time range. Current time: {}, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .", "NOW", fmt(now - 301))),
        (rs(x5t.clone(), claims(json!({"nbf": now + 400}))), 401, "invalid_client", vec![700024],
            format!("Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .", "NOW", fmt(now + 400), fmt(now + 600))),
        // AzureAD/azure-activedirectory-library-for-python issue 79 (2017).
        (rs(x5t.clone(), claims(json!({"aud": "https://login.microsoftonline.com/common/oauth2/v2.0/token"}))), 401, "invalid_client", vec![70002, 50012],
            "Error validating credentials. AADSTS50012: Client assertion audience claim does not match Realm issuer.".into()),
        // panva/openid-client issue 348: an aud array is refused as malformed.
        (rs(x5t.clone(), claims(json!({"aud": [aud.clone()]}))), 400, "invalid_request", vec![50027], "JWT token is invalid or malformed.".into()),
        ("not-a-jwt".into(), 400, "invalid_request", vec![50027], "JWT token is invalid or malformed.".into()),
        // AzureAD/microsoft-authentication-library-for-java issue 430.
        (rs(x5t.clone(), claims(json!({"sub": "someone-else"}))), 401, "invalid_client", vec![50048], "Subject must match the issuer claim in the client assertion.".into()),
        // AzureAD/microsoft-authentication-library-for-dotnet issue 4712.
        (rs(json!({"alg": "HS256", "x5t": cert.x5t()}), claims(json!({}))), 400, "invalid_request", vec![5002730], "Invalid JWT token. Unsupported key for the signing algorithm.".into()),
    ];
    for (assertion, status, error, codes, text) in cases {
        let (got, body) = assertion_token(
            &app,
            &client_id,
            &assertion,
            "https://graph.microsoft.com/.default",
        )
        .await;
        assert_eq!(got.as_u16(), status, "{text}: {body}");
        assert_eq!(body["error"], error, "{body}");
        assert_eq!(body["error_codes"], json!(codes), "{body}");
        let shape = entra_error_shape(&body);
        let described = shape["error_description"].as_str().expect("description");
        let code = codes[0];
        let expected = format!("AADSTS{code}: {text}");
        if let Some((head, tail)) = expected.split_once("NOW") {
            assert!(
                described.starts_with(head)
                    && described.ends_with(tail.split_once("NOW").map_or(tail, |(_, t)| t)),
                "{described}"
            );
        } else {
            assert_eq!(described, expected);
        }
    }
    // Inside the five minutes of skew (a guess: IdentityModel's default) it is accepted.
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &rs(x5t.clone(), claims(json!({"exp": now - 200}))),
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The request's own shape.
    let path = format!("/{}/oauth2/v2.0/token", app.emu.tenant_id());
    let good = msal_assertion(&app, &client_id, &cert);
    let form = |extra: &[(&'static str, &str)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", client_id.clone()),
            ("scope", "https://graph.microsoft.com/.default".into()),
        ];
        f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        f
    };
    for (fields, code) in [
        // AzureAD/azure-activedirectory-library-for-ruby pull request 53.
        (
            form(&[
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
                ("client_assertion", &good),
            ]),
            90011,
        ),
        (form(&[("client_assertion", &good)]), 900144),
        // A guess: Entra's answer to both was not found.
        (
            form(&[
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &good),
                ("client_secret", "x"),
            ]),
            9002313,
        ),
    ] {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = app.post_form(&path, &pairs).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error_codes"], json!([code]), "{body}");
    }
    // An unknown client is still AADSTS700016.
    let (status, body) = assertion_token(
        &app,
        &Uuid::new_v4().to_string(),
        &good,
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"], json!([700016]));
    let _ = Method::GET;
}

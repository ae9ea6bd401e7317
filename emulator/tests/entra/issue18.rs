//! Issue 18: first-party resources (item 1), continuous access evaluation (item 2), the JWKS
//! `cloud_instance_name` (item 13) and the discovery answers the Azure corpus replay found
//! different.

use std::time::Duration;

use entra_emulator::Emulator;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// The claims azure-identity (through MSAL) sends for a CAE-capable request, as msal-node
/// wrote it in fixtures/azure/js_identity_client_secret_vault_cae.json (Azure/azure-sdk-for-js
/// `sdk/identity/identity/recordings/node/clientsecretcredential/recording_authenticates_when_cae_enabled.json`).
const CAE_CLAIMS: &str = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;

async fn token_with(app: &TestApp, extra: &[(&str, &str)], v1: bool) -> (StatusCode, Value) {
    let (id, secret) = (app.admin_id(), app.admin_secret());
    let tid = app.emu.tenant_id();
    let path = if v1 {
        format!("/{tid}/oauth2/token")
    } else {
        format!("/{tid}/oauth2/v2.0/token")
    };
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    form.extend_from_slice(extra);
    app.post_form(&path, &form).await
}

/// A v2 token for Key Vault, with `claims` when given.
async fn vault_token(app: &TestApp, claims: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![("scope", "https://vault.azure.net/.default")];
    form.extend(claims.map(|c| ("claims", c)));
    token_with(app, &form, false).await
}

fn aud_and_appid(body: &Value) -> (String, String, String) {
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    let s = |k: &str| claims[k].as_str().unwrap_or_default().to_owned();
    (s("aud"), s("appid"), s("ver"))
}

/// Item 1. Scope URIs and service principal app ids: merill/microsoft-info
/// `_info/MicrosoftApps.csv` @ 00608132282b49553597537d8547737730d45dee and the Azure MCP
/// server's API-permission table (scope `https://vault.azure.net/user_impersonation` etc.);
/// `https://kusto.kusto.windows.net`: Azure/azure-kusto-python
/// `azure-kusto-data/azure/kusto/data/_cloud_settings.py` @ 0e0bf50a. That Entra issues
/// `https://vault.azure.net/.default` to a client secret: fixtures/azure/js_identity_client_secret_vault.json
/// (status 200). The v1 format and `aud` = requested form: the ARM tokens of the wire
/// reference (3.8); for the other APIs an inference (their recorded tokens are sanitized).
#[tokio::test]
async fn first_party_scopes_and_resources_get_v1_tokens_with_the_requested_audience() {
    let app = TestApp::new().await;
    for identifier in [
        "https://vault.azure.net",
        "https://storage.azure.com",
        "https://servicebus.azure.net",
        "https://eventhubs.azure.net",
        "https://cosmos.azure.com",
        "https://database.windows.net/",
        "https://azconfig.io",
        "https://kusto.kusto.windows.net",
        "https://cognitiveservices.azure.com",
        "https://containerregistry.azure.net",
        "https://myaccount.blob.core.windows.net",
    ] {
        let bare = identifier.trim_end_matches('/');
        for form in [bare.to_owned(), format!("{bare}/")] {
            // v2: scope `{identifier}/.default` (SQL's registered form gives SDKs' `//.default`).
            let (status, body) = app.admin_token_v2(&format!("{form}/.default")).await;
            assert_eq!(status, StatusCode::OK, "{form}: {body}");
            assert_eq!(
                aud_and_appid(&body),
                (form.clone(), app.admin_id(), "1.0".to_owned()),
                "{form}"
            );
            // v1: `resource=` the identifier, echoed in `resource` and `aud`.
            let (status, body) = token_with(&app, &[("resource", &form)], true).await;
            assert_eq!(status, StatusCode::OK, "{form}: {body}");
            assert_eq!(body["resource"], form.as_str());
            assert_eq!(aud_and_appid(&body).0, form);
        }
    }
    // The app id names the resource too, and is then the audience (Key Vault's).
    let vault = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093";
    let (status, body) = token_with(&app, &[("resource", vault)], true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(aud_and_appid(&body).0, vault);
    // A look-alike is still an unknown resource (AADSTS500011, as before).
    for scope in [
        "https://vault.azure.net.example/.default",
        "https://myaccount.blob.core.windows.net/container/.default",
    ] {
        let (status, body) = app.admin_token_v2(scope).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{scope}");
        assert_eq!(body["error_codes"][0], 500011, "{scope}");
    }
}

/// Item 2. With the CAE claim Entra answered `expires_in` = `ext_expires_in` = 86399 and
/// `refresh_in` 43199, keys in the order token_type, expires_in, ext_expires_in,
/// refresh_in, access_token (Azure SDK for Python test-proxy recording of azure-mgmt-dns with
/// azure-identity 1.14.0b2 / MSAL Python 1.22.0, claims sent with upper-case `CP1`; the same
/// lifetimes in fixtures/azure/js_identity_client_secret_vault_cae.json with `cp1`).
#[tokio::test]
async fn cae_clients_get_day_long_tokens_with_a_refresh_hint() {
    let app = TestApp::new().await;
    let python_claims = r#"{"access_token": {"xms_cc": {"values": ["CP1"]}}}"#;
    for claims in [CAE_CLAIMS, python_claims] {
        let (status, body) = vault_token(&app, Some(claims)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "token_type",
                "expires_in",
                "ext_expires_in",
                "refresh_in",
                "access_token"
            ]
        );
        assert_eq!(
            (
                &body["expires_in"],
                &body["ext_expires_in"],
                &body["refresh_in"]
            ),
            (&86399.into(), &86399.into(), &43199.into())
        );
        let claims = claims_of(body["access_token"].as_str().expect("token"));
        assert_eq!(
            claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
            86400 + 300
        );
    }
    // The v1 endpoint: the same lifetime, as strings; `refresh_in` was seen on v2 answers only.
    let (status, body) = token_with(
        &app,
        &[
            ("resource", "https://vault.azure.net"),
            ("claims", CAE_CLAIMS),
        ],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], "86399");
    assert!(body.get("refresh_in").is_none(), "{body}");
}

/// Item 2: without the claim the answer is as before (the configured hour, no `refresh_in`);
/// `client_info=1`, which MSAL Python sends with client credentials, is accepted and adds
/// nothing (fixtures/azure/py_monitor_query_logs_single_query.json: the answer has no
/// `client_info`). Other claims leave the lifetime alone.
#[tokio::test]
async fn without_cp1_the_token_answer_is_unchanged() {
    let app = TestApp::new().await;
    for extra in [
        vec![("client_info", "1")],
        vec![(
            "claims",
            r#"{"access_token":{"xms_cc":{"values":["cp2"]}}}"#,
        )],
        vec![("claims", r#"{"id_token":{"xms_cc":{"values":["cp1"]}}}"#)],
    ] {
        let mut form = vec![("scope", "https://vault.azure.net/.default")];
        form.extend(extra.iter().copied());
        let (status, body) = token_with(&app, &form, false).await;
        assert_eq!(status, StatusCode::OK, "{extra:?}: {body}");
        assert_eq!(body["expires_in"], 3599, "{extra:?}");
        assert!(body.get("refresh_in").is_none(), "{extra:?}: {body}");
        assert!(body.get("client_info").is_none(), "{extra:?}: {body}");
    }
}

/// Item 2: a `claims` value that is not a JSON object is refused. Entra's answer to it was
/// not found: the malformed-request body (AADSTS9002313) is a guess.
#[tokio::test]
async fn malformed_claims_are_refused_in_entras_envelope() {
    let app = TestApp::new().await;
    for claims in ["{", "cp1", "[\"cp1\"]"] {
        let (status, body) = vault_token(&app, Some(claims)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{claims}");
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_codes"][0], 9002313);
    }
}

/// Item 2: tokens of two hours or more carry `refresh_in` = half of `expires_in` whether or
/// not the client asked for CAE: a managed identity endpoint answered a day-long token with
/// `"expires_in":86399,"refresh_in":43199` and no CAE claim (azure-identity 1.25.1 log), and
/// MSAL Python's `managed_identity.py` applies the same half-life rule from 7200 s. Shorter
/// tokens never had one in any recording. The CAE lifetime follows `token_lifetime`.
#[tokio::test]
async fn refresh_in_follows_the_lifetime_and_token_lifetime_sets_every_token() {
    let long = TestApp::with(Emulator::builder().token_lifetime(Duration::from_secs(7200))).await;
    let (_, body) = long
        .admin_token_v2("https://management.azure.com/.default")
        .await;
    assert_eq!(
        (&body["expires_in"], &body["refresh_in"]),
        (&7199.into(), &3599.into())
    );
    let short = TestApp::with(Emulator::builder().token_lifetime(Duration::from_secs(600))).await;
    let (_, body) = vault_token(&short, Some(CAE_CLAIMS)).await;
    assert_eq!(body["expires_in"], 599, "{body}");
    assert!(body.get("refresh_in").is_none(), "{body}");
    let cae =
        TestApp::with(Emulator::builder().cae_token_lifetime(Duration::from_secs(4 * 3600))).await;
    let (_, body) = vault_token(&cae, Some(CAE_CLAIMS)).await;
    assert_eq!(
        (&body["expires_in"], &body["refresh_in"]),
        (&14399.into(), &7199.into())
    );
}

/// Item 13. A real `https://login.microsoftonline.com/common/discovery/v2.0/keys` document
/// (stored in public repositories; research notes for issue 18, item 13) lists each key as
/// kty, use, kid, x5t, n, e, x5c, cloud_instance_name ("microsoftonline.com"), issuer.
#[tokio::test]
async fn v2_jwks_entries_carry_cloud_instance_name_before_issuer() {
    let app = TestApp::new().await;
    for path in [
        format!("/{}/discovery/v2.0/keys", app.emu.tenant_id()),
        "/common/discovery/v2.0/keys".to_owned(),
    ] {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::OK);
        let key = body["keys"][0].as_object().expect("key");
        let keys: Vec<&str> = key.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "kty",
                "use",
                "kid",
                "x5t",
                "n",
                "e",
                "x5c",
                "cloud_instance_name",
                "issuer"
            ],
            "{path}"
        );
        assert_eq!(key["cloud_instance_name"], "microsoftonline.com");
    }
}

/// Entra answers the discovery document of a tenant named `tenant` (one label, neither a GUID
/// nor a domain) with 400 invalid_tenant AADSTS90002 and its usual text
/// (fixtures/azure/js_identity_environment_credential_unknown_tenant.json, exchange 1). A name
/// with characters no domain has is still refused as malformed (AADSTS900023).
#[tokio::test]
async fn a_one_label_tenant_is_not_found() {
    let app = TestApp::new().await;
    let (status, body) = app
        .get_json("/tenant/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_tenant");
    assert_eq!(body["error_codes"][0], 90002);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS90002: Tenant 'tenant' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.\r\nTrace ID: ")),
        "{body}"
    );
    let (status, body) = app
        .get_json("/bad_tenant/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"][0], 900023);
}

/// Entra's instance discovery, OpenID configuration and key answers carry `x-ms-request-id`
/// (fixtures/azure/js_identity_client_secret_vault.json exchanges 0 and 1,
/// net_identity_client_secret_get_token.json exchange 0); each answer gets its own.
#[tokio::test]
async fn discovery_answers_carry_a_request_id() {
    let app = TestApp::new().await;
    let tid = app.emu.tenant_id();
    let base = app.emu.url().to_owned();
    let mut seen = Vec::new();
    for path in [
        format!("/{tid}/v2.0/.well-known/openid-configuration"),
        format!("/{tid}/.well-known/openid-configuration"),
        format!("/{tid}/discovery/v2.0/keys"),
        "/common/discovery/keys".to_owned(),
        format!(
            "/common/discovery/instance?api-version=1.1&authorization_endpoint={base}/{tid}/oauth2/v2.0/authorize"
        ),
    ] {
        let r = app.http.get(app.url(&path)).send().await.expect("request");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let id = r
            .headers()
            .get("x-ms-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
            .unwrap_or_else(|| panic!("{path}: no x-ms-request-id"));
        assert!(!seen.contains(&id));
        seen.push(id);
    }
}

/// @azure/identity's EnvironmentCredential (msal-node) asked for
/// `https://vault.azure.net/.default openid profile offline_access` and Entra answered with a
/// token (fixtures/azure/js_identity_environment_credential_secret.json, exchange 2, from
/// Azure/azure-sdk-for-js `sdk/identity/identity/recordings/node/environmentcredential/`):
/// the OpenID Connect scopes are ignored beside a `/.default`.
#[tokio::test]
async fn oidc_scopes_beside_a_default_scope_are_ignored() {
    let app = TestApp::new().await;
    let (status, body) = app
        .admin_token_v2("https://vault.azure.net/.default openid profile offline_access")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(aud_and_appid(&body).0, "https://vault.azure.net");
    let (status, body) = app.admin_token_v2("openid profile").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error_codes"][0], 1002012);
}

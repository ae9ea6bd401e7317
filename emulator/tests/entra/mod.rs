//! Entra ID: token endpoints, discovery, keys; the control API; TLS and the binary.

use std::time::Duration;

use entra_emulator::Emulator;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod issue18;

use crate::support::*;

#[tokio::test]
async fn v2_token_for_graph_verifies_against_jwks_and_has_app_claims() {
    let app = TestApp::new().await;
    let (status, body) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().expect("token");
    let tid = app.emu.tenant_id();
    let iss = format!("https://sts.windows.net/{tid}/");
    // Graph tokens are v1 whichever endpoint issued them; v1 keys live at /common/discovery/keys.
    let claims = verify_with_jwks(
        &app,
        token,
        "/common/discovery/keys",
        "https://graph.microsoft.com",
        &iss,
    )
    .await;
    let v2_claims = verify_with_jwks(
        &app,
        token,
        &format!("/{tid}/discovery/v2.0/keys"),
        "https://graph.microsoft.com",
        &iss,
    )
    .await;
    assert_eq!(claims, v2_claims);
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        3900
    );
    assert_eq!(claims["oid"], app.emu.admin().object_id.to_string());
    let header = header_of(token);
    assert_eq!(header["x5t"], header["kid"]);
    insta::assert_json_snapshot!("graph_token_claims", claims, {
        ".iat" => "[timestamp]", ".nbf" => "[timestamp]", ".exp" => "[timestamp]",
        ".uti" => "[uti]", ".aio" => "[aio]",
    });
}

#[tokio::test]
async fn v1_token_endpoint_answers_strings_and_echoes_resource() {
    let app = TestApp::new().await;
    let path = format!("/{}/oauth2/token", app.emu.tenant_id());
    let (status, body) = app
        .post_form(
            &path,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.admin_id()),
                ("client_secret", &app.admin_secret()),
                ("resource", "https://management.azure.com/"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], "3599");
    assert_eq!(body["resource"], "https://management.azure.com/");
    let on: i64 = body["expires_on"]
        .as_str()
        .expect("expires_on")
        .parse()
        .expect("int");
    let nb: i64 = body["not_before"]
        .as_str()
        .expect("not_before")
        .parse()
        .expect("int");
    assert_eq!(on - nb, 3900);
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["aud"], "https://management.azure.com/");
    assert_eq!(claims["ver"], "1.0");
    assert!(
        claims.get("roles").is_none(),
        "no app roles on ARM: {claims}"
    );
}

#[tokio::test]
async fn audience_echoes_the_requested_identifier_form() {
    let app = TestApp::new().await;
    for (scope, aud) in [
        (
            "https://management.azure.com/.default",
            "https://management.azure.com",
        ),
        (
            "https://management.core.windows.net//.default",
            "https://management.core.windows.net/",
        ),
        (
            "https://api.loganalytics.io/.default",
            "https://api.loganalytics.io",
        ),
        (
            "https://monitoring.azure.com//.default",
            "https://monitoring.azure.com/",
        ),
        (
            "https://api.applicationinsights.io/.default",
            "https://api.applicationinsights.io",
        ),
    ] {
        let (status, body) = app.admin_token_v2(scope).await;
        assert_eq!(status, StatusCode::OK, "{scope}: {body}");
        assert_eq!(
            claims_of(body["access_token"].as_str().expect("token"))["aud"],
            aud
        );
    }
}

#[tokio::test]
async fn every_token_is_fresh() {
    let app = TestApp::new().await;
    let (_, a) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    let (_, b) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    let uti = |v: &Value| claims_of(v["access_token"].as_str().expect("token"))["uti"].clone();
    assert_ne!(uti(&a), uti(&b));
}

#[tokio::test]
async fn tenant_domain_and_http_basic_credentials_are_accepted() {
    let app = TestApp::new().await;
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        app.admin_id(),
        app.admin_secret()
    ));
    let r = app
        .http
        .post(app.url("/emulator.onmicrosoft.com/oauth2/v2.0/token"))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("client-request-id", "11111111-2222-3333-4444-555555555555")
        .body("grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&x-client-SKU=MSAL.Python&client_info=1")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
    assert_eq!(
        r.headers()["client-request-id"],
        "11111111-2222-3333-4444-555555555555"
    );
}

#[tokio::test]
async fn token_errors_match_entra_for_every_row() {
    let app = TestApp::new().await;
    let tid = app.emu.tenant_id().to_string();
    let id = app.admin_id();
    let secret = app.admin_secret();
    let graph = "https://graph.microsoft.com/.default";
    let v2 = format!("/{tid}/oauth2/v2.0/token");
    let cc = ("grant_type", "client_credentials");
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case<'_>> = vec![
        (
            "wrong_secret",
            v2.clone(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", "nope"),
                ("scope", graph),
            ],
        ),
        (
            "unknown_client",
            v2.clone(),
            vec![
                cc,
                ("client_id", "00000000-1111-2222-3333-444444444444"),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
        (
            "unknown_tenant",
            "/9f1b1c1e-0000-4000-8000-000000000009/oauth2/v2.0/token".into(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
        (
            "unknown_domain",
            "/contoso.onmicrosoft.com/oauth2/v2.0/token".into(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
        (
            "malformed_tenant",
            "/not_a_tenant/oauth2/v2.0/token".into(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
        (
            "common_tenant",
            "/common/oauth2/v2.0/token".into(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
        (
            "invalid_scope",
            v2.clone(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                (
                    "scope",
                    "https://graph.microsoft.com/.default https://management.azure.com/.default",
                ),
            ],
        ),
        (
            "scope_without_default",
            v2.clone(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "https://graph.microsoft.com/User.Read"),
            ],
        ),
        (
            "unknown_resource",
            v2.clone(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "https://foo.microsoft.com/.default"),
            ],
        ),
        (
            "missing_grant_type",
            v2.clone(),
            vec![
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
        (
            "missing_client_id",
            v2.clone(),
            vec![cc, ("client_secret", &secret), ("scope", graph)],
        ),
        (
            "missing_scope",
            v2.clone(),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("resource", "https://graph.microsoft.com"),
            ],
        ),
        (
            "missing_secret",
            v2.clone(),
            vec![cc, ("client_id", &id), ("scope", graph)],
        ),
        (
            "unsupported_grant",
            v2.clone(),
            vec![
                ("grant_type", "password"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
        (
            "v1_missing_resource",
            format!("/{tid}/oauth2/token"),
            vec![
                cc,
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
        ),
    ];
    let mut shapes = serde_json::Map::new();
    for (name, path, form) in cases {
        let (status, body) = app.post_form(&path, &form).await;
        let shape = entra_error_shape(&body);
        shapes.insert(
            name.to_owned(),
            json!({"status": status.as_u16(), "body": shape}),
        );
    }
    insta::assert_json_snapshot!("token_errors", shapes);
}

#[tokio::test]
async fn json_body_is_refused_as_missing_grant_type() {
    let app = TestApp::new().await;
    let r = app
        .http
        .post(app.url(&format!("/{}/oauth2/v2.0/token", app.emu.tenant_id())))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error_codes"][0], 900144);
}

#[tokio::test]
async fn expired_secret_is_told_apart_from_a_wrong_one() {
    let app = TestApp::new().await;
    // The bootstrap secret is valid until 2099; move the clock past it.
    app.emu.advance_clock(Duration::from_secs(90 * 366 * 86400));
    let (status, body) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000222);
    let (_, body) = app
        .token_v2(
            &app.admin_id(),
            "wrong",
            "https://graph.microsoft.com/.default",
        )
        .await;
    assert_eq!(body["error_codes"][0], 7000215);
}

#[tokio::test]
async fn correlation_id_follows_client_request_id() {
    let app = TestApp::new().await;
    let r = app
        .http
        .post(app.url(&format!("/{}/oauth2/v2.0/token", app.emu.tenant_id())))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("client-request-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("request");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["correlation_id"],
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    );
}

fn redact_base(doc: &Value, base: &str) -> Value {
    serde_json::from_str(&doc.to_string().replace(base, "{base}")).expect("json")
}

#[tokio::test]
async fn discovery_documents_point_at_the_emulator() {
    let app = TestApp::new().await;
    let tid = app.emu.tenant_id();
    let base = app.emu.url().to_owned();
    let (status, v2) = app
        .get_json(&format!("/{tid}/v2.0/.well-known/openid-configuration"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v2["token_endpoint"],
        format!("{base}/{tid}/oauth2/v2.0/token")
    );
    insta::assert_json_snapshot!("openid_configuration_v2", redact_base(&v2, &base));
    let (status, v1) = app
        .get_json(&format!("/{tid}/.well-known/openid-configuration"))
        .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("openid_configuration_v1", redact_base(&v1, &base));
    let (status, common) = app
        .get_json("/common/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        common["issuer"],
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    assert_eq!(
        common["token_endpoint"],
        format!("{base}/common/oauth2/v2.0/token")
    );
    // The tenant can be named by its domain; the document then names it by id.
    let (_, by_domain) = app
        .get_json("/emulator.onmicrosoft.com/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(
        by_domain["issuer"],
        format!("https://login.microsoftonline.com/{tid}/v2.0")
    );
}

#[tokio::test]
async fn unknown_tenant_discovery_is_400_invalid_tenant() {
    let app = TestApp::new().await;
    let (status, body) = app
        .get_json("/9f1b1c1e-0000-4000-8000-000000000009/v2.0/.well-known/openid-configuration")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_tenant");
    assert_eq!(body["error_codes"][0], 90002);
    let (status, body) = app.get_json("/bad_tenant/discovery/v2.0/keys").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"][0], 900023);
}

#[tokio::test]
async fn jwks_entries_carry_the_fields_and_only_v2_has_issuer() {
    let app = TestApp::new().await;
    let tid = app.emu.tenant_id();
    let (_, v2) = app.get_json(&format!("/{tid}/discovery/v2.0/keys")).await;
    let key = &v2["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["e"], "AQAB");
    assert_eq!(key["kid"], key["x5t"]);
    assert!(key["x5c"][0].as_str().is_some_and(|c| c.starts_with("MII")));
    assert_eq!(
        key["issuer"],
        format!("https://login.microsoftonline.com/{tid}/v2.0")
    );
    let (_, v1) = app.get_json("/common/discovery/keys").await;
    assert!(v1["keys"][0].get("issuer").is_none());
    assert_eq!(v1["keys"][0]["kid"], key["kid"]);
}

#[tokio::test]
async fn instance_discovery_describes_the_emulator_host() {
    let app = TestApp::new().await;
    let base = app.emu.url().to_owned();
    let host = base.trim_start_matches("http://");
    let tid = app.emu.tenant_id();
    let path = format!(
        "/common/discovery/instance?api-version=1.1&authorization_endpoint={base}/{tid}/oauth2/v2.0/authorize"
    );
    let (status, body) = app.get_json(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["tenant_discovery_endpoint"],
        format!("{base}/{tid}/v2.0/.well-known/openid-configuration")
    );
    assert_eq!(body["metadata"][0]["aliases"], json!([host]));
    let (status, body) = app
        .get_json("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://evil.example/t/oauth2/v2.0/authorize")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_instance");
}

#[tokio::test]
async fn control_api_moves_the_clock_and_rejects_bad_input() {
    let app = TestApp::new().await;
    let (status, health) = app.get_json("/_emulator/health").await;
    assert_eq!(
        (status, health["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (_, before) = app.get_json("/_emulator/clock").await;
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            v["now"].as_str().expect("now"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("rfc3339")
    };
    let r = app
        .http
        .post(app.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": 7200}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let after: Value = r.json().await.expect("json");
    let moved = parse(&after) - parse(&before);
    assert!(
        moved >= time::Duration::seconds(7200) && moved < time::Duration::seconds(7260),
        "{moved}"
    );
    for bad in [
        json!({"seconds": -1}),
        json!({"seconds": "x"}),
        json!({}),
        json!({"seconds": 1e300}),
    ] {
        let r = app
            .http
            .post(app.url("/_emulator/clock/advance"))
            .json(&bad)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = r.json().await.expect("json");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let r = app
        .http
        .post(app.url("/_emulator/clock/advance"))
        .body("not json")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .post(app.url("/_emulator/reset"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = app.get_json("/_emulator/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn token_lifetime_is_configurable_and_expiry_reads_the_clock() {
    let app = TestApp::with(Emulator::builder().token_lifetime(Duration::from_secs(600))).await;
    let (_, body) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    assert_eq!(body["expires_in"], 599);
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > app.emu.now().unix_timestamp());
    app.emu.advance_clock(Duration::from_secs(601));
    assert!(exp <= app.emu.now().unix_timestamp());
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_verifiable() {
    let app = TestApp::new().await;
    let (_, before) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    let old = before["access_token"].as_str().expect("token").to_owned();
    let new_kid = app.rotate_keys().await;
    let (_, after) = app
        .admin_token_v2("https://graph.microsoft.com/.default")
        .await;
    let new = after["access_token"].as_str().expect("token");
    assert_eq!(header_of(new)["kid"], new_kid.as_str());
    let iss = format!("https://sts.windows.net/{}/", app.emu.tenant_id());
    verify_with_jwks(
        &app,
        &old,
        "/common/discovery/keys",
        "https://graph.microsoft.com",
        &iss,
    )
    .await;
    verify_with_jwks(
        &app,
        new,
        "/common/discovery/keys",
        "https://graph.microsoft.com",
        &iss,
    )
    .await;
}

#[tokio::test]
async fn https_is_served_with_the_generated_ca() {
    let app = TestApp::with(Emulator::builder().https()).await;
    assert!(app.emu.url().starts_with("https://127.0.0.1:"));
    let ca = app.emu.ca_cert_pem().expect("ca pem");
    let path = app
        .emu
        .connection_info()
        .ca_cert_path
        .clone()
        .expect("ca file written");
    assert_eq!(std::fs::read_to_string(&path).expect("ca file"), ca);
    for host in ["127.0.0.1", "localhost"] {
        let client = https_client(ca);
        let url = app.emu.url().replace("127.0.0.1", host);
        let r = client
            .get(format!("{url}/_emulator/health"))
            .send()
            .await
            .expect("TLS request");
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
    // Without trusting the CA the handshake fails.
    let untrusting = https_client_with_roots(rustls::RootCertStore::empty());
    assert!(
        untrusting
            .get(app.url("/_emulator/health"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn binary_writes_connection_file_serves_https_and_exits_on_sigterm() {
    let mut bin = RunningBinary::start(&[("ENTRA_EMULATOR_TLS_SAN", "emulator.test")]).await;
    let info = bin.info.clone();
    for key in [
        "base_url",
        "tenant_id",
        "subscription_id",
        "admin",
        "ca_cert_path",
    ] {
        assert!(info.get(key).is_some(), "{key} missing: {info}");
    }
    assert_eq!(
        info["ca_cert_path"],
        bin.dir.join("ca.pem").display().to_string()
    );
    let base = info["base_url"].as_str().expect("base_url");
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let client = https_client(&std::fs::read_to_string(bin.ca_path()).expect("ca"));
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_id",
            info["admin"]["client_id"].as_str().expect("id"),
        ),
        (
            "client_secret",
            info["admin"]["client_secret"].as_str().expect("secret"),
        ),
        ("scope", "https://management.azure.com/.default"),
    ];
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let r = client
        .post(format!(
            "{base}/{}/oauth2/v2.0/token",
            info["tenant_id"].as_str().expect("tid")
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token over TLS");
    assert_eq!(r.status(), StatusCode::OK);

    let pid = bin.child.id().expect("pid");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(15), bin.child.wait())
        .await
        .expect("exits")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
    let out = bin.printed().await;
    assert!(out.contains(&format!("listening on {base}")), "{out}");
    assert!(out.contains("export AZURE_AUTHORITY_HOST="), "{out}");
}

/// MSAL for Python (`clients/python/tests/test_msal.py`, through the pytest fixture): a token
/// for the right secret, invalid_client / AADSTS7000215 for a wrong one.
#[tokio::test]
async fn msal_python_gets_a_token_over_https() {
    let Some(python) = real_client("entra::msal_python_gets_a_token_over_https") else {
        return;
    };
    run_pytest(&python, "test_msal.py").await;
}

#[tokio::test]
async fn router_serves_without_a_socket() {
    use tower::ServiceExt as _;
    let emu = Emulator::start().await.expect("emulator");
    // An application without a service principal cannot get a token (AADSTS7000229).
    let secret = "abcQ~0123456789012345678901234567890123";
    let client_id = uuid::Uuid::new_v4();
    let now = emu.now();
    entra_emulator::test_support::insert_application(
        &emu,
        entra_emulator::test_support::TestApplication {
            object_id: uuid::Uuid::new_v4(),
            client_id,
            name: "no-sp".into(),
            created: now,
            secret_key_id: uuid::Uuid::new_v4(),
            secret: secret.into(),
            secret_start: now - time::Duration::minutes(1),
            secret_end: now + time::Duration::days(1),
            service_principal: None,
        },
    );
    let router = emu.router();
    let body = format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
    );
    let request = axum::http::Request::post(format!("/{}/oauth2/v2.0/token", emu.tenant_id()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .expect("request");
    let response = router.oneshot(request).await.expect("response");
    assert_eq!(response.status(), 401);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(body["error_codes"][0], 7000229);
}

/// azure-identity for Python (`clients/python/tests/test_azure_identity.py`):
/// ClientSecretCredential (also for a Key Vault scope with CAE, which must come back with a
/// day-long token and a refresh time), EnvironmentCredential and a wrong secret's AADSTS7000215.
#[tokio::test]
async fn azure_identity_python_credentials_get_tokens_over_https() {
    let Some(python) =
        real_client("entra::azure_identity_python_credentials_get_tokens_over_https")
    else {
        return;
    };
    run_pytest(&python, "test_azure_identity.py").await;
}

/// @azure/identity for Node.js (`clients/node/identity.test.mjs`, with the emulator started
/// by the entra-emulator-node helper): a token ARM accepts, AADSTS7000215 for a wrong secret,
/// the clock, and the banner's NODE_EXTRA_CA_CERTS.
#[tokio::test]
async fn azure_identity_node_credential_gets_a_token_arm_accepts() {
    let Some(node) = real_client("entra::azure_identity_node_credential_gets_a_token_arm_accepts")
    else {
        return;
    };
    let out = tokio::process::Command::new(node)
        .args(["--test", "identity.test.mjs"])
        .current_dir(crate::support::real_clients::clients_dir().join("node"))
        .env("ENTRA_EMULATOR_BIN", env!("CARGO_BIN_EXE_entra-emulator"))
        .output()
        .await
        .expect("run node --test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\n# pass 5\n"), "{stdout}");
    assert!(stdout.contains("\n# fail 0\n"), "{stdout}");
}

/// The official Azure SDK for Rust: `azure_identity::ClientSecretCredential` with a custom
/// cloud whose authority host is the emulator gets a token ARM accepts; a wrong secret fails
/// with the emulator's AADSTS text.
#[tokio::test]
async fn azure_identity_rust_credential_gets_a_token_arm_accepts() {
    use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
    use azure_core::credentials::{Secret, TokenCredential as _};
    use azure_core::http::{ClientOptions, Transport};
    use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};

    let bin = RunningBinary::start(&[]).await;
    let base = bin.info["base_url"].as_str().expect("base_url");
    let tenant = bin.info["tenant_id"].as_str().expect("tenant");
    let admin = &bin.info["admin"];
    let http = https_client(&std::fs::read_to_string(bin.ca_path()).expect("ca"));
    let credential = |secret: &str| {
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = base.to_owned();
        let options = ClientSecretCredentialOptions {
            client_options: ClientOptions {
                // The emulator's CA is trusted through the transport's client.
                transport: Some(Transport::new(std::sync::Arc::new(http.clone()))),
                cloud: Some(std::sync::Arc::new(CloudConfiguration::Custom(cloud))),
                ..Default::default()
            },
        };
        ClientSecretCredential::new(
            tenant,
            admin["client_id"].as_str().expect("id").to_owned(),
            Secret::new(secret.to_owned()),
            Some(options),
        )
        .expect("credential")
    };
    let arm = "https://management.azure.com/.default";

    let token = credential(admin["client_secret"].as_str().expect("secret"))
        .get_token(&[arm], None)
        .await
        .expect("token");
    let claims = claims_of(token.token.secret());
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["appid"], admin["client_id"]);
    let listed = http
        .get(format!("{base}/subscriptions?api-version=2022-12-01"))
        .bearer_auth(token.token.secret())
        .send()
        .await
        .expect("send");
    assert_eq!(listed.status(), StatusCode::OK);

    let err = credential("not-the-secret")
        .get_token(&[arm], None)
        .await
        .expect_err("a wrong secret fails");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
}

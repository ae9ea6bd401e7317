//! Federated identity credentials in Graph, the token exchange against an external issuer
//! (the built-in test issuer, and one served on loopback by the test), and its errors.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::assertions::assertion_token;
use super::create_app;
use crate::support::certs::{self, TestCert};
use crate::support::*;

const EXCHANGE: &str = "api://AzureADTokenExchange";
const GH: &str = "https://token.actions.githubusercontent.com";

fn fic_path(object_id: &str) -> String {
    format!("/v1.0/applications/{object_id}/federatedIdentityCredentials")
}

async fn add_fic(app: &TestApp, admin: &str, object_id: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = app
        .call(Method::POST, &fic_path(object_id), Some(admin), Some(body))
        .await;
    (status, body)
}

/// A token of the built-in test issuer.
async fn mint(app: &TestApp, body: Value) -> String {
    let r = app
        .http
        .post(app.url("/_emulator/issuer/token"))
        .json(&body)
        .send()
        .await
        .expect("mint");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

async fn issuer_url(app: &TestApp) -> String {
    let (status, doc) = app
        .get_json("/_emulator/issuer/.well-known/openid-configuration")
        .await;
    assert_eq!(status, StatusCode::OK);
    doc["issuer"].as_str().expect("issuer").to_owned()
}

#[tokio::test]
async fn federated_credentials_are_managed_as_graph_does() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (id, app_id, _) = create_app(&app, &admin, json!({})).await;
    // The CLI's `az ad app federated-credential create --parameters` body, posted as is
    // (Azure/azure-cli role/tests/latest/recordings/test_app_federated_credential.yaml @ 3fde2faa).
    let (status, _, created) = app
        .call(
            Method::POST,
            &fic_path(&id),
            Some(&admin),
            Some(json!({"name": "Testing", "issuer": "https://token.actions.githubusercontent.com/",
                "subject": "repo:octo-org/octo-repo:environment:Production", "description": "Testing",
                "audiences": [EXCHANGE]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let keys: Vec<&String> = created.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "@odata.context",
            "id",
            "name",
            "issuer",
            "subject",
            "description",
            "audiences"
        ]
    );
    assert_eq!(
        created["@odata.context"],
        format!(
            "https://graph.microsoft.com/v1.0/$metadata#applications('{id}')/federatedIdentityCredentials/$entity"
        )
    );
    let fic_id = created["id"].as_str().expect("id").to_owned();
    let (_, _, list) = app
        .call(Method::GET, &fic_path(&id), Some(&admin), None)
        .await;
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        list["@odata.context"],
        format!(
            "https://graph.microsoft.com/v1.0/$metadata#applications('{id}')/federatedIdentityCredentials"
        )
    );
    // By id and by name (the CLI's `show --credential-id Testing`), and by appId.
    for key in [fic_id.as_str(), "Testing"] {
        let (status, _, got) = app
            .call(
                Method::GET,
                &format!("{}/{key}", fic_path(&id)),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["id"], fic_id.as_str());
    }
    let by_app_id = format!("/v1.0/applications(appId='{app_id}')/federatedIdentityCredentials");
    let (status, _, _) = app.call(Method::GET, &by_app_id, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    // PATCH answers 204 (CLI-FIC).
    let item = format!("{}/{fic_id}", fic_path(&id));
    let (status, _, _) = app
        .call(
            Method::PATCH,
            &item,
            Some(&admin),
            Some(json!({"subject": "repo:octo-org/octo-repo:environment:Staging"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, got) = app.call(Method::GET, &item, Some(&admin), None).await;
    assert_eq!(
        got["subject"],
        "repo:octo-org/octo-repo:environment:Staging"
    );
    let (status, _, err) = app
        .call(
            Method::PATCH,
            &item,
            Some(&admin),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    // Upsert by name: 201 when missing with `Prefer: create-if-missing`, 204 after
    // (federatedidentitycredential-upsert.md); without the header a missing one is 404.
    let upsert = format!("/v1.0/applications/{id}/federatedIdentityCredentials(name='k8s')");
    let body = json!({"issuer": "https://oidc.example/", "subject": "system:serviceaccount:ns:sa", "audiences": [EXCHANGE]});
    let (status, _, _) = app
        .call(Method::PATCH, &upsert, Some(&admin), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for expected in [StatusCode::CREATED, StatusCode::NO_CONTENT] {
        let r = app
            .http
            .patch(app.url(&upsert))
            .bearer_auth(&admin)
            .header("prefer", "create-if-missing")
            .json(&body)
            .send()
            .await
            .expect("upsert");
        assert_eq!(r.status(), expected);
    }
    let (_, _, got) = app.call(Method::GET, &upsert, Some(&admin), None).await;
    assert_eq!(got["name"], "k8s");

    let (status, _, _) = app.call(Method::DELETE, &item, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, err) = app.call(Method::GET, &item, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "Request_ResourceNotFound");
}

#[tokio::test]
async fn bad_federated_credentials_get_graph_errors() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (id, _, _) = create_app(&app, &admin, json!({})).await;
    let good = |name: &str, subject: &str| json!({"name": name, "issuer": GH, "subject": subject, "audiences": [EXCHANGE]});
    let (status, _) = add_fic(
        &app,
        &admin,
        &id,
        good("main", "repo:o/r:ref:refs/heads/main"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let fic_code = "InvalidFederatedIdentityCredentialValue";
    let cases = [
        // Graph has no default for audiences (resource page: "This field is mandatory").
        (json!({"name": "aud1", "issuer": GH, "subject": "s"}), "Request_BadRequest",
            "A value is required for property 'audiences' of resource 'FederatedIdentityCredential'.".to_owned()),
        // Messages of Entra's considerations page; the code is a guess.
        (json!({"name": "aud2", "issuer": GH, "subject": "s", "audiences": [EXCHANGE, "other"]}), fic_code,
            "Federated identity credentials must have exactly one audience.".to_owned()),
        (json!({"name": "aud3", "issuer": GH, "subject": "s", "audiences": []}), fic_code,
            "Federated identity credentials must have exactly one audience.".to_owned()),
        (good("-bad name", "s"), fic_code, "Federated Identity Credential name '-bad name' is invalid.".to_owned()),
        // Recorded (Azure/azure-workload-identity issue 434).
        (good("again", "repo:o/r:ref:refs/heads/main"), fic_code,
            format!("The combination of issuer and subject must be unique for the application. Issuer {GH} and Subject: repo:o/r:ref:refs/heads/main already exist. paramName: FederatedIdentityCredential.Subject, paramValue: repo:o/r:ref:refs/heads/main, objectType: Microsoft.Online.DirectoryServices.Application")),
        (json!({"name": "aud4", "issuer": GH, "subject": "s", "audiences": [EXCHANGE], "claimsMatchingExpression": {}}), "Request_BadRequest",
            "The property 'claimsMatchingExpression' does not exist on type 'Microsoft.DirectoryServices.FederatedIdentityCredential'. Make sure to only use property names that are defined by the type.".to_owned()),
    ];
    for (body, code, message) in cases {
        let (status, err) = add_fic(&app, &admin, &id, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["error"]["code"], code, "{body}");
        assert_eq!(err["error"]["message"], message.as_str(), "{body}");
    }
    // At most 20 per application (resource page); the answer to the 21st is a guess.
    for i in 1..20 {
        let (status, err) = add_fic(
            &app,
            &admin,
            &id,
            good(&format!("n{i:02}"), &format!("s{i}")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{err}");
    }
    let (status, err) = add_fic(&app, &admin, &id, good("n21", "s21")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], fic_code);
    // Reading needs a token like every Graph call.
    let (status, _, _) = app.call(Method::GET, &fic_path(&id), None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn github_actions_and_kubernetes_tokens_of_the_test_issuer_sign_in() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (id, client_id, _) = create_app(&app, &admin, json!({})).await;
    let issuer = issuer_url(&app).await;
    assert_eq!(issuer, app.url("/_emulator/issuer"));
    // The issuer's keys are not Entra's.
    let (_, ours) = app.get_json("/_emulator/issuer/keys").await;
    let (_, entra) = app
        .get_json(&format!("/{}/discovery/v2.0/keys", app.emu.tenant_id()))
        .await;
    assert_ne!(ours["keys"][0]["n"], entra["keys"][0]["n"]);

    let gh_subject = "repo:org/repo:ref:refs/heads/main";
    let token = mint(&app, json!({"subject": gh_subject, "claims": {"repository": "org/repo", "ref": "refs/heads/main"}})).await;
    // No federated credential at all: AADSTS70021 naming issuer, subject and audience
    // (Azure/azure-workload-identity issue 616).
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &token,
        "https://management.azure.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        entra_error_shape(&body)["error_description"],
        format!(
            "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{gh_subject}'. Assertion Audience: '{EXCHANGE}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
        )
    );
    let (status, _) = add_fic(
        &app,
        &admin,
        &id,
        json!({"name": "main", "issuer": issuer, "subject": gh_subject, "audiences": [EXCHANGE]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let k8s_subject = "system:serviceaccount:ns:name";
    let (status, _) = add_fic(
        &app,
        &admin,
        &id,
        json!({"name": "k8s", "issuer": issuer, "subject": k8s_subject, "audiences": [EXCHANGE]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The same token twice (azure-identity re-sends the token file's content for 600 s).
    for _ in 0..2 {
        let (status, body) = assertion_token(
            &app,
            &client_id,
            &token,
            "https://management.azure.com/.default",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let access = body["access_token"].as_str().expect("token");
        assert_eq!(claims_of(access)["appid"], client_id.as_str());
        let (status, _, subs) = app
            .call(
                Method::GET,
                "/subscriptions?api-version=2022-12-01",
                Some(access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{subs}");
    }
    // Kubernetes sends `aud` as an array (decoded AKS token, research §4.6).
    let k8s = mint(
        &app,
        json!({"subject": k8s_subject, "audience": [EXCHANGE]}),
    )
    .await;
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &k8s,
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let expect = |body: &Value, code: u64, text: String| {
        assert_eq!(body["error_codes"], json!([code]), "{body}");
        assert_eq!(
            entra_error_shape(body)["error_description"],
            format!("AADSTS{code}: {text}")
        );
    };
    // Subject (Azure/login issue 482, 2025 wording), its case (Azure/login issue 515),
    // audience (700212).
    let other = mint(&app, json!({"subject": "repo:org/repo:pull_request"})).await;
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &other,
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    expect(&body, 700213, "No matching federated identity record found for presented assertion subject 'repo:org/repo:pull_request'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation".into());
    let upper = mint(
        &app,
        json!({"subject": "repo:Org/Repo:ref:refs/heads/main"}),
    )
    .await;
    let (_, body) = assertion_token(
        &app,
        &client_id,
        &upper,
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(body["error_codes"], json!([7002138]), "{body}");
    let wrong_aud = mint(
        &app,
        json!({"subject": gh_subject, "audience": "https://github.com/org"}),
    )
    .await;
    let (_, body) = assertion_token(
        &app,
        &client_id,
        &wrong_aud,
        "https://graph.microsoft.com/.default",
    )
    .await;
    expect(&body, 700212, "No matching federated identity record found for presented assertion audience 'https://github.com/org'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation".into());
    // Expired on the emulator's clock: AADSTS700024 (Azure/login issues 180, 372).
    let short = mint(&app, json!({"subject": gh_subject, "lifetimeSeconds": 60})).await;
    app.http
        .post(app.url("/_emulator/clock/advance"))
        .json(&json!({"seconds": 400}))
        .send()
        .await
        .expect("advance");
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &short,
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([700024]), "{body}");
    // A token signed by another key with the issuer's name: its kid is not in the JWKS.
    let forged = certs::long_lived(0, "forger").sign(
        &json!({"alg": "RS256", "kid": "not-the-issuers"}),
        &claims_of(&mint(&app, json!({"subject": gh_subject})).await),
        false,
    );
    let (_, body) = assertion_token(
        &app,
        &client_id,
        &forged,
        "https://graph.microsoft.com/.default",
    )
    .await;
    expect(
        &body,
        7000272,
        format!(
            "The certificate with identifier not-the-issuers used to sign the federated credential could not be found in the metadata of identity provider {issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token."
        ),
    );
}

/// An OIDC provider on loopback: discovery and JWKS of `cert`'s key under `kid`.
async fn serve_issuer(cert: &TestCert, kid: &str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let issuer = format!(
        "http://{}/tenant-oidc/",
        listener.local_addr().expect("addr")
    );
    let jwks = json!({"keys": [cert.jwk(kid)]});
    let doc = json!({"issuer": issuer, "jwks_uri": format!("{issuer}openid/v1/jwks"),
        "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"]});
    let router = axum::Router::new()
        .route(
            "/tenant-oidc/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(doc) }),
        )
        .route(
            "/tenant-oidc/openid/v1/jwks",
            axum::routing::get(move || async move { axum::Json(jwks) }),
        );
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (issuer, handle)
}

#[tokio::test]
async fn a_token_entra_issued_is_refused_as_a_federated_assertion() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (id, client_id, _) = create_app(&app, &admin, json!({})).await;
    // An Entra token (the admin's v1 ARM token: `iss` on sts.windows.net).
    let (_, body) = app
        .admin_token_v2("https://management.azure.com/.default")
        .await;
    let entra_token = body["access_token"].as_str().expect("token").to_owned();
    let claims = claims_of(&entra_token);
    let iss = claims["iss"].as_str().expect("iss").to_owned();
    assert!(iss.starts_with("https://sts.windows.net/"), "{iss}");
    // The considerations page: a credential may name an Entra issuer (Graph accepts it) ...
    let (status, body) = add_fic(
        &app,
        &admin,
        &id,
        json!({"name": "entra", "issuer": iss, "subject": claims["sub"], "audiences": ["https://management.azure.com"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // ... but the exchange fails with AADSTS700222, whose text is the one captured in
    // MicrosoftDocs/azure-docs issue 90276 and documented on
    // MicrosoftDocs/entra-docs docs/workload-id/workload-identity-federation-considerations.md.
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &entra_token,
        "https://management.azure.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_codes"], json!([700222]), "{body}");
    assert_eq!(
        entra_error_shape(&body)["error_description"],
        "AADSTS700222: AAD-issued tokens may not be used for federated identity flows."
    );
}

#[tokio::test]
async fn a_new_or_changed_credential_is_seen_by_exchanges_only_once_propagated() {
    let delay = std::time::Duration::from_secs(120);
    let app =
        TestApp::with(entra_emulator::Emulator::builder().federated_credential_propagation(delay))
            .await;
    let admin = app.admin_graph_token().await;
    let (id, client_id, _) = create_app(&app, &admin, json!({})).await;
    let issuer = issuer_url(&app).await;
    let subject = "repo:org/repo:ref:refs/heads/main";
    let (status, created) = add_fic(
        &app,
        &admin,
        &id,
        json!({"name": "main", "issuer": issuer, "subject": subject, "audiences": [EXCHANGE]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let main = mint(&app, json!({"subject": subject, "lifetimeSeconds": 3600})).await;
    let other = mint(&app, json!({"subject": subject, "audience": "api://other"})).await;
    let exchange = |token: &str| {
        let token = token.to_owned();
        let (app, client_id) = (&app, &client_id);
        async move {
            let (status, body) = assertion_token(
                app,
                client_id,
                &token,
                "https://management.azure.com/.default",
            )
            .await;
            (status, body["error_codes"][0].as_u64(), body)
        }
    };
    let advance = |seconds: u64| {
        app.http
            .post(app.url("/_emulator/clock/advance"))
            .json(&json!({ "seconds": seconds }))
            .send()
    };
    let one = format!("{}/{}", fic_path(&id), created["id"].as_str().expect("id"));
    let patch = |body: Value| {
        let (app, one, admin) = (&app, &one, &admin);
        async move {
            app.call(Method::PATCH, one, Some(admin), Some(body))
                .await
                .0
        }
    };
    // Entra's considerations page: a request made soon after the credential was configured
    // may fail with AADSTS70021 (the all-in-one text of Azure/azure-workload-identity
    // issue 616).
    let (status, _, body) = exchange(&main).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        entra_error_shape(&body)["error_description"],
        format!(
            "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{EXCHANGE}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"
        )
    );
    advance(119).await.expect("advance");
    assert_eq!(exchange(&main).await.1, Some(70021));
    advance(1).await.expect("advance");
    assert_eq!(exchange(&main).await.0, StatusCode::OK);

    // Neither a description nor the same audience list changes what matching reads.
    assert_eq!(
        patch(json!({"description": "CI"})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(json!({"audiences": [EXCHANGE]})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(exchange(&main).await.0, StatusCode::OK);
    // A new audience propagates again.
    assert_eq!(
        patch(json!({"audiences": ["api://other"]})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(exchange(&other).await.1, Some(70021));
    advance(120).await.expect("advance");
    assert_eq!(exchange(&other).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_external_issuer_on_loopback_is_fetched_and_unreachable_ones_are_refused() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (id, client_id, _) = create_app(&app, &admin, json!({})).await;
    let cert = certs::long_lived(1, "cluster");
    let (issuer, server) = serve_issuer(&cert, "cluster-key").await;
    let subject = "system:serviceaccount:wkld:sa";
    for (name, iss) in [("cluster", issuer.as_str()), ("github", GH)] {
        let (status, body) = add_fic(
            &app,
            &admin,
            &id,
            json!({"name": name, "issuer": iss, "subject": subject, "audiences": [EXCHANGE]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let now = app.emu.now().unix_timestamp();
    let token = |iss: &str, kid: &str| {
        cert.sign(
            &json!({"alg": "RS256", "kid": kid}),
            &json!({"aud": [EXCHANGE], "iss": iss, "sub": subject, "nbf": now, "iat": now, "exp": now + 3600}),
            false,
        )
    };
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &token(&issuer, "cluster-key"),
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An issuer no credential names: AADSTS700211 (Azure/azure-workload-identity issue 1200).
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &token("http://127.0.0.1:1/other/", "k"),
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([700211]), "{body}");
    // The emulator is offline: a public issuer cannot be fetched, nor a loopback one that is
    // down: AADSTS50166 (Azure/azure-workload-identity issues 642, 605).
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &token(GH, "k"),
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_codes"], json!([50166]), "{body}");
    server.abort();
    let _ = server.await;
    // Cached keys keep working after the issuer stops answering.
    let (status, body) = assertion_token(
        &app,
        &client_id,
        &token(&issuer, "cluster-key"),
        "https://graph.microsoft.com/.default",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_issuers_metadata_is_open_and_minting_needs_the_admin_token() {
    let app = TestApp::with(
        entra_emulator::Emulator::builder().admin_token("s3cret-admin-token-for-tests"),
    )
    .await;
    let (status, _) = app
        .get_json("/_emulator/issuer/.well-known/openid-configuration")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get_json("/_emulator/issuer/keys").await;
    assert_eq!(status, StatusCode::OK);
    let mint = |auth: Option<&str>, body: Value| {
        let mut r = app
            .http
            .post(app.url("/_emulator/issuer/token"))
            .json(&body);
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        r.send()
    };
    let r = mint(None, json!({"subject": "x"})).await.expect("mint");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let token = "s3cret-admin-token-for-tests";
    let r = mint(Some(token), json!({"subject": "x"}))
        .await
        .expect("mint");
    assert_eq!(r.status(), StatusCode::OK);
    for bad in [
        json!({}),
        json!({"subject": ""}),
        json!({"subject": "x", "audience": []}),
        json!({"subject": "x", "lifetimeSeconds": 0}),
        json!({"subject": "x", "claims": {"iss": "me"}}),
        json!({"subject": "x", "colour": 1}),
    ] {
        let r = mint(Some(token), bad.clone()).await.expect("mint");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = r.json().await.expect("json");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
}

/// An issuer over HTTPS on loopback (here another emulator's test issuer) is fetched when this
/// machine trusts its certificate, as `SSL_CERT_FILE` makes it; without that trust the fetch
/// fails and the exchange is AADSTS50166.
#[tokio::test]
async fn an_https_issuer_is_trusted_through_ssl_cert_file() {
    let issuer_side = crate::support::RunningBinary::start(&[]).await;
    let ca = issuer_side.ca_path().to_owned();
    let issuer = format!("{}/_emulator/issuer", issuer_side.url());
    let minted: Value = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&ca).expect("CA file")).expect("CA"),
        )
        .build()
        .expect("client")
        .post(format!("{issuer}/token"))
        .json(&json!({"subject": "repo:org/repo:ref:refs/heads/main"}))
        .send()
        .await
        .expect("mint")
        .json()
        .await
        .expect("json");
    let token = minted["token"].as_str().expect("token").to_owned();
    for (trust, expected) in [(Some(ca.as_str()), None), (None, Some(50166))] {
        let env: Vec<(&str, &str)> = trust.map(|ca| ("SSL_CERT_FILE", ca)).into_iter().collect();
        let verifier = crate::support::RunningBinary::start_plain(&env).await;
        let c = Client::of(&verifier).await;
        let (object_id, client_id) = c.app().await;
        c.graph_post(
            &format!("/v1.0/applications/{object_id}/federatedIdentityCredentials"),
            json!({"name": "https-issuer", "issuer": issuer, "subject": "repo:org/repo:ref:refs/heads/main", "audiences": [EXCHANGE]}),
        )
        .await;
        let body = c.exchange(&client_id, &token).await;
        assert_eq!(
            body["error_codes"][0].as_u64(),
            expected,
            "trusting {trust:?}: {body}"
        );
    }
}

/// Just enough of a running binary's Graph and token endpoint.
struct Client {
    http: reqwest::Client,
    base: String,
    tenant: String,
    admin: String,
}

impl Client {
    async fn of(bin: &crate::support::RunningBinary) -> Self {
        let http = reqwest::Client::new();
        let base = bin.url().to_owned();
        let tenant = bin.info["tenant_id"].as_str().expect("tenant").to_owned();
        let body: Value = http
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_id",
                    bin.info["admin"]["client_id"].as_str().expect("id"),
                ),
                (
                    "client_secret",
                    bin.info["admin"]["client_secret"].as_str().expect("secret"),
                ),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        let admin = body["access_token"]
            .as_str()
            .expect("admin token")
            .to_owned();
        Self {
            http,
            base,
            tenant,
            admin,
        }
    }

    async fn graph_post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .expect("graph");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("json")
    }

    /// A new application with its service principal: (object id, client id).
    async fn app(&self) -> (String, String) {
        let app = self
            .graph_post("/v1.0/applications", json!({"displayName": "https"}))
            .await;
        let client_id = app["appId"].as_str().expect("appId").to_owned();
        self.graph_post("/v1.0/servicePrincipals", json!({"appId": client_id}))
            .await;
        (app["id"].as_str().expect("id").to_owned(), client_id)
    }

    async fn exchange(&self, client_id: &str, token: &str) -> Value {
        self.http
            .post(format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", token),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("exchange")
            .json()
            .await
            .expect("json")
    }
}

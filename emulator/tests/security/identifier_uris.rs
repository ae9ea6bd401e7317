//! Application ID URIs: an app may claim only URIs its tenant owns, never a Microsoft
//! first-party resource's or another app's `api://{appId}`, and no two apps the same one.
//!
//! Rules: learn.microsoft.com/entra/identity-platform/identifier-uri-restrictions. Error:
//! Microsoft Graph's `HostNameNotOnVerifiedDomain`, "Values of identifierUris property must
//! use a verified domain of the organization or its subdomain: '…'" (a Graph SDK log in
//! Azure/Industrial-IoT pull request 1432). Refusing `api://{another app's id}` with it is a
//! guess.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

async fn create(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, body) = app
        .call(Method::POST, "/v1.0/applications", Some(token), Some(body))
        .await;
    (status, body)
}

async fn patch(app: &TestApp, token: &str, object: &Value, uris: &[&str]) -> (StatusCode, Value) {
    let path = format!("/v1.0/applications/{}", object["id"].as_str().expect("id"));
    let (status, _, body) = app
        .call(
            Method::PATCH,
            &path,
            Some(token),
            Some(json!({"identifierUris": uris})),
        )
        .await;
    (status, body)
}

fn assert_not_verified(status: StatusCode, body: &Value, uri: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    assert_eq!(
        body["error"]["code"], "HostNameNotOnVerifiedDomain",
        "{body}"
    );
    assert_eq!(
        body["error"]["message"],
        format!(
            "Values of identifierUris property must use a verified domain of the organization or its subdomain: '{uri}'"
        )
    );
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn first_party_and_foreign_uris_are_refused_on_create_and_update() {
    let app = TestApp::new().await;
    let token = app.admin_graph_token().await;
    for uri in [
        "https://graph.microsoft.com",
        "https://management.azure.com/",
        "https://api.loganalytics.io",
        "https://login.microsoftonline.com/x",
    ] {
        let (status, body) = create(
            &app,
            &token,
            json!({"displayName": "claim", "identifierUris": [uri]}),
        )
        .await;
        assert_not_verified(status, &body, uri);
    }
    let (status, victim) = create(&app, &token, json!({"displayName": "victim"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, thief) = create(&app, &token, json!({"displayName": "thief"})).await;
    let foreign = format!("api://{}", victim["appId"].as_str().expect("appId"));
    let (status, body) = patch(&app, &token, &thief, &[&foreign]).await;
    assert_not_verified(status, &body, &foreign);
    let (status, body) = patch(&app, &token, &thief, &["https://graph.microsoft.com"]).await;
    assert_not_verified(status, &body, "https://graph.microsoft.com");
    // Nothing was stored: the victim can still take its own URI.
    let (status, body) = patch(&app, &token, &victim, &[&foreign]).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn an_app_takes_its_own_ids_and_the_tenants_domain_once() {
    let app = TestApp::new().await;
    let token = app.admin_graph_token().await;
    let (_, first) = create(&app, &token, json!({"displayName": "first"})).await;
    let own = format!("api://{}", first["appId"].as_str().expect("appId"));
    let tenant = format!("api://{}/orders", app.emu.tenant_id());
    // The tenant's verified domain (the emulator's default) and its subdomains.
    let domain = "https://emulator.onmicrosoft.com/orders";
    let sub = "https://api.emulator.onmicrosoft.com";
    let (status, body) = patch(&app, &token, &first, &[&own, &tenant, domain, sub]).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A URI already held by another app is refused, with Entra's message (Azure/go-autorest
    // issue 308, from AAD Graph).
    let (status, body) = create(
        &app,
        &token,
        json!({"displayName": "second", "identifierUris": [domain]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"]["message"],
        "Another object with the same value for property identifierUris already exists."
    );
    // A host that only ends like the domain is not on it.
    let lookalike = "https://evilemulator.onmicrosoft.com";
    let (status, body) = create(
        &app,
        &token,
        json!({"displayName": "third", "identifierUris": [lookalike]}),
    )
    .await;
    assert_not_verified(status, &body, lookalike);
}

//! Issue 18 item 12: the v1.0 properties of applications and service principals, owners,
//! `$count`, `$orderby`, and the `addPassword` answer's headers. Sources are in
//! /work/research/issue18.md ("Item 12"); each test names the one it pins.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

async fn get(
    app: &TestApp,
    token: &str,
    path: impl AsRef<str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    app.call(Method::GET, path.as_ref(), Some(token), None)
        .await
}

async fn create_app(app: &TestApp, token: &str, name: &str) -> Value {
    let (status, _, created) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(token),
            Some(json!({"displayName": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// The admin's client id and service principal object id, from its token.
fn caller_ids(token: &str) -> (String, String) {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("claims");
    let client = claims["azp"]
        .as_str()
        .or(claims["appid"].as_str())
        .expect("client id");
    (
        client.to_owned(),
        claims["oid"].as_str().expect("oid").to_owned(),
    )
}

#[tokio::test]
async fn applications_carry_graphs_newer_v1_properties() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (client_id, _) = caller_ids(&admin);
    let created = create_app(&app, &admin, "props").await;
    let id = created["id"].as_str().expect("id");
    // A real v1.0 create answer (az ad app create, Dec 2024) has `uniqueName: null` and
    // `nativeAuthenticationApisEnabled: null`; 2026 bodies add `createdByAppId` (the calling
    // client's appId) and `isDisabled: null` (research issue18.md 12.1).
    assert_eq!(created["uniqueName"], Value::Null);
    assert_eq!(created["nativeAuthenticationApisEnabled"], Value::Null);
    assert_eq!(created["isDisabled"], Value::Null);
    assert_eq!(created["createdByAppId"], client_id.as_str());
    // Key order of the 2026 manifest: disabledByMicrosoftStatus, createdByAppId,
    // createdDateTime, …, isDeviceOnlyAuthSupported, isDisabled, isFallbackPublicClient,
    // nativeAuthenticationApisEnabled, notes.
    let keys: Vec<&str> = created
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let at = |k: &str| keys.iter().position(|x| *x == k).expect(k);
    assert!(at("disabledByMicrosoftStatus") < at("createdByAppId"));
    assert!(at("createdByAppId") < at("createdDateTime"));
    assert!(at("isDeviceOnlyAuthSupported") < at("isDisabled"));
    assert!(at("isDisabled") < at("isFallbackPublicClient"));
    assert!(at("isFallbackPublicClient") < at("nativeAuthenticationApisEnabled"));
    assert!(at("nativeAuthenticationApisEnabled") < at("notes"));
    // Not in v1.0's default body: `authenticationBehaviors` is "returned only on $select"
    // (Graph docs, application resource); `oauth2RequirePostResponse` is absent from the
    // recorded v1.0 body and present in beta's (research 12.1).
    assert!(created.get("authenticationBehaviors").is_none());
    assert!(created.get("oauth2RequirePostResponse").is_none());

    let (status, _, body) = app
        .call(
            Method::PATCH,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            Some(
                json!({"nativeAuthenticationApisEnabled": "all", "oauth2RequirePostResponse": true,
                "authenticationBehaviors": {"requireClientServicePrincipal": true}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _, body) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}?$select=id,uniqueName,nativeAuthenticationApisEnabled,authenticationBehaviors,oauth2RequirePostResponse,createdByAppId,isDisabled"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["nativeAuthenticationApisEnabled"], "all");
    assert_eq!(body["oauth2RequirePostResponse"], true);
    assert_eq!(
        body["authenticationBehaviors"],
        json!({"requireClientServicePrincipal": true})
    );
    assert_eq!(body["createdByAppId"], client_id.as_str());
    assert_eq!(body.as_object().map(|o| o.len()), Some(8), "{body}");

    // The create answer's createdDateTime has a 7-digit fraction, reads whole seconds
    // (fixtures/azure/cli_role_app_credential_reset.json, exchanges 1 and 3).
    let (_, _, read) = get(&app, &admin, format!("/v1.0/applications/{id}")).await;
    let read = read["createdDateTime"].as_str().expect("read time");
    let made = created["createdDateTime"].as_str().expect("create time");
    assert!(!read.contains('.') && read.ends_with('Z'), "{read}");
    assert_eq!(made[..19], read[..19]);

    // The enum has two members (Graph docs); read-only properties are refused.
    for bad in [
        json!({"nativeAuthenticationApisEnabled": "some"}),
        json!({"createdByAppId": "x"}),
        json!({"uniqueName": "x"}),
        json!({"web": {"nope": 1}}),
    ] {
        let (status, _, body) = app
            .call(
                Method::PATCH,
                &format!("/v1.0/applications/{id}"),
                Some(&admin),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "Request_BadRequest", "{bad}");
    }
}

#[tokio::test]
async fn service_principals_have_no_creation_time_in_the_create_answer() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (client_id, _) = caller_ids(&admin);
    // `az ad sp create` printed `createdDateTime: null` and `createdByAppId` = the CLI's
    // appId; `az ad sp show` printed a second-precision time (research issue18.md 12.2).
    let (_, _, sp) = app_with_sp(&app, &admin, "sp-props").await;
    let sp_id = sp["id"].as_str().expect("sp id");
    assert_eq!(sp["createdDateTime"], Value::Null, "{sp}");
    assert_eq!(sp["createdByAppId"], client_id.as_str());
    assert!(sp.get("isDisabled").is_none() && sp.get("customSecurityAttributes").is_none());
    let (status, _, read) = app
        .call(
            Method::GET,
            &format!("/v1.0/servicePrincipals/{sp_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let t = read["createdDateTime"].as_str().expect("set on read");
    assert!(t.ends_with('Z') && !t.contains('.'), "{t}");
    let (status, _, read) = app
        .call(
            Method::GET,
            &format!("/v1.0/servicePrincipals/{sp_id}?$select=isDisabled,customSecurityAttributes"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["isDisabled"], Value::Null);
    assert_eq!(read["customSecurityAttributes"], Value::Null);
    assert!(
        read.as_object()
            .is_some_and(|o| o.contains_key("isDisabled"))
    );
}

#[tokio::test]
async fn the_creator_owns_its_applications_and_owners_are_managed_by_ref() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (_, admin_sp) = caller_ids(&admin);
    let created = create_app(&app, &admin, "owned").await;
    let id = created["id"].as_str().expect("id").to_owned();

    // The creating app's service principal is an owner (inferred from the permission
    // Application.ReadWrite.OwnedBy, "Manage apps that this app creates or owns").
    let (status, _, body) = get(&app, &admin, format!("/v1.0/applications/{id}/owners")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"
    );
    assert_eq!(
        body["value"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    assert_eq!(body["value"][0]["id"], admin_sp.as_str());

    // POST owners/$ref with an @odata.id reference (Graph docs application-post-owners).
    let (_, _, other) = app_with_sp(&app, &admin, "co-owner").await;
    let other_sp = other["id"].as_str().expect("sp id");
    let reference = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{other_sp}")});
    let (status, _, body) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/owners/$ref"),
            Some(&admin),
            Some(reference.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _, body) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/owners/$ref"),
            Some(&admin),
            Some(reference),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "duplicate: {body}");
    let missing = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", uuid::Uuid::new_v4())});
    let (status, _, body) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/owners/$ref"),
            Some(&admin),
            Some(missing),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    let (status, _, body) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/owners/$ref"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // $expand=owners, on one object and on the list, with $select.
    let (status, _, body) = get(
        &app,
        &admin,
        format!("/v1.0/applications/{id}?$expand=owners&$select=id"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert_eq!(ids, [admin_sp.as_str(), other_sp]);
    let (status, _, body) = get(
        &app,
        &admin,
        "/v1.0/applications?$filter=displayName eq 'owned'&$expand=owners",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["owners"].as_array().map(Vec::len), Some(2));

    // DELETE owners/{id}/$ref; a second time it is not an owner.
    for want in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let (status, _, body) = app
            .call(
                Method::DELETE,
                &format!("/v1.0/applications/{id}/owners/{other_sp}/$ref"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, want, "{body}");
    }
    let (_, _, body) = get(&app, &admin, format!("/v1.0/applications/{id}/owners")).await;
    assert_eq!(body["value"].as_array().map(Vec::len), Some(1));

    // An application that does not exist, an id that is not a GUID, a service principal.
    let nobody = uuid::Uuid::new_v4();
    for (method, path, want) in [
        (
            Method::GET,
            format!("/v1.0/applications/{nobody}/owners"),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/v1.0/applications/nope/owners".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::DELETE,
            format!("/v1.0/applications/{nobody}/owners/{admin_sp}/$ref"),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/v1.0/servicePrincipals(appId='{nobody}')/owners"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let (status, _, body) = app.call(method, &path, Some(&admin), None).await;
        assert_eq!(status, want, "{path}: {body}");
    }
}

#[tokio::test]
async fn count_needs_eventual_consistency_and_orderby_sorts_by_name() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    for name in ["b-app", "C-app", "a-app"] {
        create_app(&app, &admin, name).await;
    }
    // `/applications/$count` answers the bare number with `ConsistencyLevel: eventual`, and
    // Request_BadRequest "$count is not currently supported." without it
    // (microsoftgraph/microsoft-graph-docs-contrib concepts/aad-advanced-queries.md).
    for (path, want) in [
        ("/v1.0/applications/$count", "4"),
        ("/v1.0/servicePrincipals/$count", "1"),
    ] {
        let r = app
            .http
            .get(app.url(path))
            .bearer_auth(&admin)
            .header("ConsistencyLevel", "eventual")
            .send()
            .await
            .expect("count");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.expect("text"), want, "{path}: admin + 3");
        let (status, _, body) = app.call(Method::GET, path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "Request_BadRequest");
        assert_eq!(
            body["error"]["message"],
            "$count is not currently supported."
        );
    }
    // `?$count=true` without the header is ignored: 200, no @odata.count (same page).
    let (status, _, body) = app
        .call(
            Method::GET,
            "/v1.0/applications?$count=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("@odata.count").is_none());

    // displayName supports $orderby (Graph docs, application resource); paging keeps it.
    let names = |body: &Value| -> Vec<String> {
        body["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|a| a["displayName"].as_str().expect("name").to_owned())
            .collect()
    };
    let (status, _, body) = app
        .call(
            Method::GET,
            "/v1.0/applications?$filter=endswith(displayName,'-app')&$orderby=displayName&$top=2",
            Some(&admin),
            None,
        )
        .await;
    // endswith is an advanced query: refused without the header, as before.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, _, body) = app
        .call(
            Method::GET,
            "/v1.0/applications?$orderby=displayName&$top=2",
            Some(&admin),
            None,
        )
        .await;
    let mut seen = names(&body);
    let next = body["@odata.nextLink"].as_str().expect("next").to_owned();
    let r = app
        .http
        .get(&next)
        .bearer_auth(&admin)
        .send()
        .await
        .expect("page 2");
    let body: Value = r.json().await.expect("json");
    seen.extend(names(&body));
    let mut sorted = seen.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 4);
    let (_, _, body) = app
        .call(
            Method::GET,
            "/v1.0/applications?$orderby=displayName desc&$filter=startswith(displayName,'a')",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(names(&body), ["a-app"]);
}

#[tokio::test]
async fn add_password_answers_with_graphs_location() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let created = create_app(&app, &admin, "located").await;
    let id = created["id"].as_str().expect("id");
    let (status, headers, _) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/addPassword"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Azure/azure-cli test_credential_reset recording (fixtures/azure/
    // cli_role_app_credential_reset.json, exchanges 4 and 9).
    assert_eq!(headers["location"], "https://graph.microsoft.com");
}

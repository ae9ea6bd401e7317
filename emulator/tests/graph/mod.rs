//! Microsoft Graph: applications, secrets, service principals, deleted items, auth.

use std::time::Duration;

use entra_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

mod objects;

const GRAPH: &str = "https://graph.microsoft.com/.default";

#[tokio::test]
async fn register_add_secret_create_sp_get_token_remove_secret() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;

    let (status, headers, created) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(&admin),
            Some(json!({"displayName": "walkthrough", "keyCredentials": []})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().expect("id").to_owned();
    let app_id = created["appId"].as_str().expect("appId").to_owned();
    assert_ne!(id, app_id);
    assert!(
        headers["location"]
            .to_str()
            .expect("location")
            .ends_with(&format!(
                "/directoryObjects/{id}/Microsoft.DirectoryServices.Application"
            ))
    );
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json;odata.metadata=minimal")
    );
    assert_eq!(headers["odata-version"], "4.0");
    insta::assert_json_snapshot!("application_created", redact(&created));

    let (status, _, cred) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/addPassword"),
            Some(&admin),
            Some(json!({"passwordCredential": {"displayName": "ci", "endDateTime": "2099-01-01T00:00:00Z"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let secret = cred["secretText"]
        .as_str()
        .expect("secretText once")
        .to_owned();
    assert_eq!(secret.len(), 40);
    assert_eq!(&secret[4..6], "Q~");
    assert_eq!(cred["hint"], &secret[..3]);
    assert_eq!(cred["endDateTime"], "2099-01-01T00:00:00Z");
    insta::assert_json_snapshot!("password_added", redact(&cred), {".secretText" => "[secret]", ".hint" => "[hint]"});

    let (status, _, read) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let creds = read["passwordCredentials"].as_array().expect("creds");
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["secretText"], Value::Null);
    assert_eq!(creds[0]["hint"], &secret[..3]);
    assert_eq!(creds[0]["keyId"], cred["keyId"]);
    assert!(
        !read.to_string().contains(&secret),
        "secret value must not be readable again"
    );

    let (status, _, sp) = app
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(&admin),
            Some(json!({"appId": app_id, "accountEnabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    assert_eq!(sp["servicePrincipalNames"], json!([app_id]));
    assert_eq!(
        sp["appOwnerOrganizationId"],
        app.emu.tenant_id().to_string()
    );
    assert_eq!(sp["passwordCredentials"], json!([]));
    insta::assert_json_snapshot!("service_principal_created", redact(&sp));

    let (status, body) = app
        .token_v2(&app_id, &secret, "https://management.azure.com/.default")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["oid"], sp["id"]);
    assert_eq!(claims["appid"], app_id.as_str());
    assert_eq!(claims["app_displayname"], "walkthrough");

    let (status, _, body) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/removePassword"),
            Some(&admin),
            Some(json!({"keyId": cred["keyId"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app
        .token_v2(&app_id, &secret, "https://management.azure.com/.default")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([7000215]));
}

#[tokio::test]
async fn lists_filter_select_and_page_like_graph() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (_, _, a) = app
            .call(
                Method::POST,
                "/v1.0/applications",
                Some(&admin),
                Some(json!({"displayName": format!("paged-{i}")})),
            )
            .await;
        ids.push(a["appId"].as_str().expect("appId").to_owned());
    }
    let list = |q: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.call(
                Method::GET,
                &format!("/v1.0/applications?{q}"),
                Some(&admin),
                None,
            )
            .await
        }
    };

    let (status, _, body) = list(format!("$filter=appId eq '{}'", ids[2])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#applications"
    );
    assert_eq!(body["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["value"][0]["displayName"], "paged-2");

    let (_, _, body) =
        list("$filter=startswith(displayName,'PAGED-')&$select=displayName,appId".into()).await;
    assert_eq!(body["value"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#applications(displayName,appId)"
    );
    assert_eq!(
        body["value"][0],
        json!({"appId": ids[0], "displayName": "paged-0"})
    );

    let (_, _, body) = list("$filter=displayName eq 'paged-4'".into()).await;
    assert_eq!(body["value"][0]["appId"], ids[4].as_str());

    // Paging: $top=2 walks 2 + 2 + 1 (+ the admin's registration first).
    let mut seen = Vec::new();
    let mut next =
        Some(app.url("/v1.0/applications?$filter=startswith(displayName,'paged')&$top=2"));
    while let Some(url) = next {
        let r = app
            .http
            .get(&url)
            .bearer_auth(&admin)
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("json");
        seen.extend(
            body["value"]
                .as_array()
                .expect("value")
                .iter()
                .map(|a| a["displayName"].clone()),
        );
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(
                link.starts_with(app.emu.url()) && link.contains("$skiptoken="),
                "{link}"
            );
        }
    }
    assert_eq!(
        seen,
        (0..5)
            .map(|i| json!(format!("paged-{i}")))
            .collect::<Vec<_>>()
    );

    for (q, status, code) in [
        (
            "$filter=description eq 'x'",
            400,
            "Request_UnsupportedQuery",
        ),
        (
            "$filter=displayName ne 'x'",
            400,
            "Request_UnsupportedQuery",
        ),
        ("$filter=displayName eq", 400, "BadRequest"),
        (
            "$filter=contains(displayName,'x')",
            400,
            "Request_UnsupportedQuery",
        ),
        ("$select=nope", 400, "BadRequest"),
        ("$top=0", 400, "BadRequest"),
        ("$top=1000", 400, "BadRequest"),
        ("$skiptoken=garbage", 400, "BadRequest"),
        ("$orderby=description", 400, "Request_UnsupportedQuery"),
    ] {
        let (got, _, body) = list(q.into()).await;
        assert_eq!(
            (got.as_u16(), body["error"]["code"].as_str()),
            (status, Some(code)),
            "{q}: {body}"
        );
    }
    // Advanced queries work with ConsistencyLevel: eventual.
    let r = app
        .http
        .get(app.url("/v1.0/applications?$filter=displayName ne 'paged-0'&$count=true"))
        .bearer_auth(&admin)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .expect("advanced");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["@odata.count"], 5, "admin + 4 others");
}

#[tokio::test]
async fn objects_are_addressable_by_app_id_and_errors_name_the_id() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (created, _, sp) = app_with_sp(&app, &admin, "keyed").await;
    let app_id = created["appId"].as_str().expect("appId");
    let (status, _, body) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications(appId='{app_id}')"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((status, &body["id"]), (StatusCode::OK, &created["id"]));
    let (status, _, body) = app
        .call(
            Method::GET,
            &format!("/v1.0/servicePrincipals(appId='{app_id}')?$select=id"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id)/$entity", "id": sp["id"]})
    );
    let (_, _, body) = app
        .call(
            Method::GET,
            &format!(
                "/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq '{app_id}')"
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(body["value"][0]["id"], sp["id"]);

    let missing = uuid::Uuid::new_v4();
    let (status, headers, body) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{missing}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"]["message"],
        format!(
            "Resource '{missing}' does not exist or one of its queried reference-property objects are not present."
        )
    );
    assert_eq!(
        body["error"]["innerError"]["request-id"],
        headers["request-id"].to_str().expect("rid")
    );
    let date = body["error"]["innerError"]["date"].as_str().expect("date");
    assert_eq!(date.len(), 19, "no fraction, no Z: {date}");
    let (status, _, body) = app
        .call(
            Method::GET,
            "/v1.0/applications/not-a-guid",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "Invalid object identifier 'not-a-guid'."
    );
    let (status, _, body) = app
        .call(Method::GET, "/v1.0/users", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "Resource not found for the segment 'users'."
    );
    let (status, _, _) = app
        .call(
            Method::GET,
            "/v1.0/applications(appId='x')",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn patch_updates_and_bad_bodies_get_graph_errors() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (created, _, _) = app_with_sp(&app, &admin, "patchme").await;
    let path = format!("/v1.0/applications/{}", created["id"].as_str().expect("id"));
    let (status, _, body) = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"displayName": "patched", "web": {"redirectUris": ["https://localhost/cb"]}, "tags": ["a"]})),
        )
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (_, _, read) = app.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(read["displayName"], "patched");
    assert_eq!(read["web"]["redirectUris"], json!(["https://localhost/cb"]));
    assert_eq!(
        read["web"]["implicitGrantSettings"]["enableIdTokenIssuance"],
        false
    );
    assert_eq!(read["tags"], json!(["a"]));

    let mut errors = serde_json::Map::new();
    for (name, body) in [
        ("unknown_property", json!({"nope": 1})),
        ("read_only", json!({"appId": "x"})),
        ("wrong_shape", json!({"tags": "a"})),
        ("bad_audience", json!({"signInAudience": "Everyone"})),
        ("null_display_name", json!({"displayName": null})),
        (
            "password_on_patch",
            json!({"passwordCredentials": [{"displayName": "x"}]}),
        ),
    ] {
        let (status, _, body) = app
            .call(Method::PATCH, &path, Some(&admin), Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        errors.insert(
            name.into(),
            json!({"code": body["error"]["code"], "message": body["error"]["message"]}),
        );
    }
    insta::assert_json_snapshot!("patch_errors", errors);

    let r = app
        .http
        .post(app.url("/v1.0/applications"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("empty");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["error"]["message"],
        "Empty Payload. JSON content expected."
    );
    let r = app
        .http
        .post(app.url("/v1.0/applications"))
        .bearer_auth(&admin)
        .body("{nope")
        .send()
        .await
        .expect("bad");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (status, _, body) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(&admin),
            Some(json!({"tags": []})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "A value is required for property 'displayName' of resource 'Application'."
    );
}

#[tokio::test]
async fn service_principal_errors_match_graph() {
    let app = TestApp::with(Emulator::builder().graph_replication(Duration::from_secs(10))).await;
    let admin = app.admin_graph_token().await;
    let (_, _, created) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(&admin),
            Some(json!({"displayName": "replicating"})),
        )
        .await;
    let app_id = created["appId"].clone();
    let (status, _, body) = app
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(&admin),
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "still replicating");
    assert_eq!(
        body["error"]["details"][0]["code"],
        "NoBackingApplicationObject"
    );
    insta::assert_json_snapshot!("no_backing_application", redact(&body));
    app.emu.advance_clock(Duration::from_secs(11));
    let (status, _, _) = app
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(&admin),
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = app
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(&admin),
            Some(json!({"appId": app_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"]["code"],
        "Request_MultipleObjectsWithSameKeyValue"
    );
    let (status, _, body) = app
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Request_BadRequest"))
    );
    let (status, _, _) = app
        .call(
            Method::POST,
            "/v1.0/servicePrincipals",
            Some(&admin),
            Some(json!({"appId": uuid::Uuid::new_v4()})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn delete_restore_and_purge_follow_deleted_items() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (created, secret, sp) = app_with_sp(&app, &admin, "deleteme").await;
    let id = created["id"].as_str().expect("id");
    let app_id = created["appId"].as_str().expect("appId");
    let (status, _, _) = app
        .call(
            Method::DELETE,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = app
        .call(
            Method::GET,
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, body) = app
        .call(
            Method::GET,
            &format!("/v1.0/servicePrincipals/{}", sp["id"].as_str().expect("id")),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        body["error"]["code"], "Request_ResourceNotFound",
        "the SP goes with its app"
    );
    let (status, body) = app.token_v2(app_id, &secret, GRAPH).await;
    assert_eq!(
        (status, &body["error_codes"]),
        (StatusCode::BAD_REQUEST, &json!([700016]))
    );

    let (_, _, deleted) = app
        .call(
            Method::GET,
            "/v1.0/directory/deletedItems/microsoft.graph.application",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted["value"][0]["id"], id);
    assert!(deleted["value"][0]["deletedDateTime"].is_string());
    let (_, _, deleted_sps) = app
        .call(
            Method::GET,
            "/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted_sps["value"][0]["id"], sp["id"]);

    let (status, _, restored) = app
        .call(
            Method::POST,
            &format!("/v1.0/directory/deletedItems/{id}/restore"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["@odata.type"], "#microsoft.graph.application");
    assert_eq!(restored["deletedDateTime"], Value::Null);
    // Restoring the app does not restore its service principal: no token until it is.
    let (status, body) = app.token_v2(app_id, &secret, GRAPH).await;
    assert_eq!(
        (status, &body["error_codes"]),
        (StatusCode::UNAUTHORIZED, &json!([7000229]))
    );
    let sp_id = sp["id"].as_str().expect("sp id");
    let (status, _, _) = app
        .call(
            Method::POST,
            &format!("/v1.0/directory/deletedItems/{sp_id}/restore"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.token_v2(app_id, &secret, GRAPH).await;
    assert_eq!(status, StatusCode::OK);

    // Permanent deletion.
    app.call(
        Method::DELETE,
        &format!("/v1.0/applications/{id}"),
        Some(&admin),
        None,
    )
    .await;
    let (status, _, _) = app
        .call(
            Method::DELETE,
            &format!("/v1.0/directory/deletedItems/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = app
        .call(
            Method::GET,
            &format!("/v1.0/directory/deletedItems/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = app
        .call(
            Method::POST,
            &format!("/v1.0/directory/deletedItems/{id}/restore"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn graph_refuses_bad_tokens_and_missing_permissions() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (_, secret, created_sp) = app_with_sp(&app, &admin, "no-roles").await;
    let (_, arm) = app
        .admin_token_v2("https://management.azure.com/.default")
        .await;
    let arm = arm["access_token"].as_str().expect("arm token").to_owned();
    // The admin's token with a signature that decodes but does not verify.
    let forged = {
        use base64::Engine as _;
        let signed = &admin[..admin.rfind('.').expect("signature")];
        format!(
            "{signed}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 256])
        )
    };
    let mut shapes = serde_json::Map::new();
    for (name, token) in [
        ("missing", None),
        ("garbage", Some("abc")),
        ("bad_signature", Some(forged.as_str())),
        ("wrong_audience", Some(arm.as_str())),
    ] {
        let (status, headers, body) = app
            .call(Method::GET, "/v1.0/applications", token, None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .expect("header")
                .starts_with("Bearer realm=\"\"")
        );
        shapes.insert(
            name.into(),
            json!({"code": body["error"]["code"], "message": body["error"]["message"]}),
        );
    }
    // An app without Graph application permissions is authenticated but not authorized.
    let app_id = created_sp["appId"].as_str().expect("appId");
    let (_, body) = app.token_v2(app_id, &secret, GRAPH).await;
    let weak = body["access_token"].as_str().expect("token").to_owned();
    assert!(claims_of(&weak).get("roles").is_none());
    let (status, _, body) = app
        .call(Method::GET, "/v1.0/applications", Some(&weak), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    shapes.insert(
        "forbidden".into(),
        json!({"code": body["error"]["code"], "message": body["error"]["message"]}),
    );
    let (status, _, _) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(&weak),
            Some(json!({"displayName": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.emu.advance_clock(Duration::from_secs(3601));
    let (status, _, body) = app
        .call(Method::GET, "/v1.0/applications", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    shapes.insert(
        "expired".into(),
        json!({"code": body["error"]["code"], "message": body["error"]["message"]}),
    );
    insta::assert_json_snapshot!("graph_auth_errors", shapes);
}

#[tokio::test]
async fn secrets_expire_and_disabled_principals_cannot_sign_in() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (created, _, sp) = app_with_sp(&app, &admin, "short-lived").await;
    let id = created["id"].as_str().expect("id");
    let app_id = created["appId"].as_str().expect("appId");
    let end = (app.emu.now() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("fmt");
    let (_, _, cred) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications(appId='{app_id}')/addPassword"),
            Some(&admin),
            Some(json!({"passwordCredential": {"endDateTime": end}})),
        )
        .await;
    let secret = cred["secretText"].as_str().expect("secret").to_owned();
    assert_eq!(app.token_v2(app_id, &secret, GRAPH).await.0, StatusCode::OK);
    app.emu.advance_clock(Duration::from_secs(3601));
    let (status, body) = app.token_v2(app_id, &secret, GRAPH).await;
    assert_eq!(
        (status, &body["error_codes"]),
        (StatusCode::UNAUTHORIZED, &json!([7000222]))
    );

    let admin = app.admin_graph_token().await;
    let (status, _, body) = app
        .call(Method::POST, &format!("/v1.0/applications/{id}/addPassword"), Some(&admin), Some(json!({"passwordCredential": {"startDateTime": "2030-01-02T00:00:00Z", "endDateTime": "2030-01-01T00:00:00Z"}})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, body) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/removePassword"),
            Some(&admin),
            Some(json!({"keyId": uuid::Uuid::new_v4()})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .starts_with("No password credential found with keyId")
    );

    let (_, _, fresh) = app
        .call(
            Method::POST,
            &format!("/v1.0/applications/{id}/addPassword"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    let fresh = fresh["secretText"].as_str().expect("secret").to_owned();
    let sp_path = format!("/v1.0/servicePrincipals/{}", sp["id"].as_str().expect("sp"));
    let (status, _, _) = app
        .call(
            Method::PATCH,
            &sp_path,
            Some(&admin),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.token_v2(app_id, &fresh, GRAPH).await;
    assert_eq!(
        (status, &body["error_codes"]),
        (StatusCode::BAD_REQUEST, &json!([7000112]))
    );
}

#[tokio::test]
async fn an_app_exposing_an_api_gets_v2_tokens_for_it() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (api, _, _) = app_with_sp(&app, &admin, "my-api").await;
    let api_id = api["appId"].as_str().expect("appId");
    let uri = format!("api://{api_id}");
    let (status, _, _) = app
        .call(
            Method::PATCH,
            &format!("/v1.0/applications/{}", api["id"].as_str().expect("id")),
            Some(&admin),
            Some(json!({"identifierUris": [uri]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (client, secret, _) = app_with_sp(&app, &admin, "my-client").await;
    let (status, body) = app
        .token_v2(
            client["appId"].as_str().expect("appId"),
            &secret,
            &format!("{uri}/.default"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token");
    let claims = claims_of(token);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["aud"], api_id);
    assert_eq!(claims["azp"], client["appId"]);
    assert!(
        header_of(token).get("x5t").is_none_or(Value::is_null),
        "v2 headers carry only kid"
    );
    // The same identifier URI cannot be taken by a second application.
    let (status, _, _) = app
        .call(
            Method::POST,
            "/v1.0/applications",
            Some(&admin),
            Some(json!({"displayName": "dup", "identifierUris": [format!("api://{api_id}")]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn get_by_ids_resolves_service_principals() {
    let app = TestApp::new().await;
    let admin = app.admin_graph_token().await;
    let (_, _, sp) = app_with_sp(&app, &admin, "resolved").await;
    let (status, _, body) = app
        .call(
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            Some(&admin),
            Some(json!({"ids": [sp["id"], uuid::Uuid::new_v4()], "types": ["user", "group", "servicePrincipal", "directoryObjectPartnerReference"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        body["value"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    assert_eq!(body["value"][0]["displayName"], "resolved");
}

#[tokio::test]
async fn readme_curl_walkthrough_runs_against_the_binary() {
    let bin = RunningBinary::start(&[]).await;
    let stdout = bin.run_client_script("graph-walkthrough.sh").await;
    assert!(
        stdout.contains("3. read back: null "),
        "secret hidden on read: {stdout}"
    );
    assert!(
        stdout.contains("5. token as the app: Bearer 3599"),
        "{stdout}"
    );
    assert!(
        stdout.contains("7. same token request: invalid_client [7000215]"),
        "{stdout}"
    );
}

//! ARM's paths in any casing (issue 18 item 7) and the `x-ms-client-request-id` echo (item 11).

use super::*;

/// ARM compares request paths case-insensitively in every segment, the first included, and
/// answers with the stored id's casing. Source: the ARM RPC as quoted by a maintainer in
/// Azure/azure-rest-api-specs issue #8353 ("treated Case Insensitively at Request time and
/// Case Sensitive in responses"); real services return ids starting `/Subscriptions/`
/// (Recovery Services, Azure/azure-sdk-for-go issue #2824) that clients send back.
#[tokio::test]
async fn every_segment_of_an_arm_path_is_case_insensitive() {
    let app = TestApp::new().await;
    let token = admin_arm(&app).await;
    let s = app.emu.subscription_id();
    assert_eq!(
        create_group(&app, &token, "Shop").await.status,
        StatusCode::CREATED
    );
    for path in [
        format!("/Subscriptions/{s}/resourceGroups/shop?{RG_V}"),
        format!("/SUBSCRIPTIONS/{s}/RESOURCEGROUPS/SHOP?{RG_V}"),
        format!("/subscriptions/{s}/resourcegroups/shop?{RG_V}"),
    ] {
        let a = send(&app, "GET", &path, Some(&token), None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.body);
        assert_eq!(
            a.body["id"],
            format!("/subscriptions/{s}/resourceGroups/Shop"),
            "{path}"
        );
        assert_eq!(a.body["name"], "Shop");
        assert!(a.headers.contains_key("x-ms-request-id"), "{path}");
    }
    let listed = send(
        &app,
        "GET",
        &format!("/SubScriptions/{s}/ResourceGroups?{RG_V}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["value"][0]["name"], "Shop");
    let subscriptions = send(
        &app,
        "GET",
        &format!("/SUBSCRIPTIONS?{RG_V}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        subscriptions.status,
        StatusCode::OK,
        "{}",
        subscriptions.body
    );
    assert_eq!(
        subscriptions.body["value"][0]["subscriptionId"],
        s.to_string()
    );
    let tenants = send(&app, "GET", &format!("/Tenants?{RG_V}"), Some(&token), None).await;
    assert_eq!(tenants.status, StatusCode::OK, "{}", tenants.body);
    // A resource under a differently cased path is the same resource.
    let site = format!(
        "/subscriptions/{s}/resourceGroups/Shop/providers/Microsoft.Web/sites/front?api-version=2023-01-01"
    );
    let put = send(
        &app,
        "PUT",
        &site,
        Some(&token),
        Some(json!({"location": "eastus"})),
    )
    .await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.body);
    let upper = format!(
        "/SUBSCRIPTIONS/{s}/RESOURCEGROUPS/SHOP/PROVIDERS/MICROSOFT.WEB/SITES/FRONT?api-version=2023-01-01"
    );
    let got = send(&app, "GET", &upper, Some(&token), None).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["id"], put.body["id"]);
    // Without a token the answer is still ARM's (401 with its challenge), not the router's 404.
    let anonymous = send(
        &app,
        "GET",
        &format!("/Subscriptions/{s}?{RG_V}"),
        None,
        None,
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body["error"]["code"], "AuthenticationFailed");
}

/// ARM's common request headers: `x-ms-client-request-id` is "included in response
/// information" when `x-ms-return-client-request-id` is true. Source: Microsoft docs,
/// "Common headers for the REST Resource Provider" (Cosmos DB RP,
/// https://learn.microsoft.com/rest/api/cosmos-db-resource-provider/cosmosdbresourceprovider-headers).
#[tokio::test]
async fn arm_echoes_the_client_request_id_when_asked() {
    let app = TestApp::new().await;
    let token = admin_arm(&app).await;
    let id = "5c2a8e1f-3b7d-4e6a-9f0c-1d2e3f4a5b6c";
    let get = |ret: Option<&'static str>, path: String| {
        let mut req = app
            .http
            .get(app.url(&path))
            .bearer_auth(&token)
            .header("x-ms-client-request-id", id);
        if let Some(ret) = ret {
            req = req.header("x-ms-return-client-request-id", ret);
        }
        req.send()
    };
    let sub_path = format!("{}?{RG_V}", sub(&app));
    let echoed = get(Some("true"), sub_path.clone()).await.expect("request");
    assert_eq!(echoed.status(), StatusCode::OK);
    assert_eq!(echoed.headers()["x-ms-client-request-id"], id);
    // Errors too: the header belongs to every answer.
    let missing = get(
        Some("True"),
        format!("{}/resourcegroups/none?{RG_V}", sub(&app)),
    )
    .await
    .expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()["x-ms-client-request-id"], id);
    for ret in [None, Some("false")] {
        let quiet = get(ret, sub_path.clone()).await.expect("request");
        assert_eq!(quiet.status(), StatusCode::OK);
        assert!(
            !quiet.headers().contains_key("x-ms-client-request-id"),
            "{ret:?}"
        );
    }
}

//! Managed identities: ARM's user-assigned identities and `identity` blocks, their service
//! principals in Graph, and the IMDS and App Service token endpoints. Sources of the wire
//! facts are in `/work/research/issue19.md` §5 and named at each assertion.

use std::time::Duration;

use entra_emulator::Emulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, claims_of};

const UAI: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

struct Mi {
    app: TestApp,
    arm: String,
    graph: String,
    sub: String,
}

impl Mi {
    async fn new(builder: entra_emulator::EmulatorBuilder) -> Self {
        Self::on(TestApp::with(builder).await).await
    }

    async fn on(app: TestApp) -> Self {
        let arm = app
            .admin_token_v2("https://management.azure.com/.default")
            .await
            .1["access_token"]
            .as_str()
            .expect("arm token")
            .to_owned();
        let graph = app.admin_graph_token().await;
        let sub = app.emu.subscription_id().to_string();
        let mi = Self {
            app,
            arm,
            graph,
            sub,
        };
        let (status, _, body) = mi
            .put(
                &format!("/subscriptions/{}/resourceGroups/rg", mi.sub),
                "2021-04-01",
                json!({"location": "westus"}),
            )
            .await;
        assert!(status.is_success(), "{body}");
        mi
    }

    async fn put(
        &self,
        path: &str,
        version: &str,
        body: Value,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let path = format!("{path}?api-version={version}");
        self.app
            .call(Method::PUT, &path, Some(&self.arm), Some(body))
            .await
    }

    async fn arm(&self, method: Method, path: &str, version: &str) -> (StatusCode, Value) {
        let path = format!("{path}?api-version={version}");
        let (s, _, b) = self.app.call(method, &path, Some(&self.arm), None).await;
        (s, b)
    }

    fn uai_path(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg/providers/{UAI}/{name}",
            self.sub
        )
    }

    async fn uai(&self, name: &str) -> Value {
        let (status, _, body) = self
            .put(
                &self.uai_path(name),
                "2023-01-31",
                json!({"location": "westus", "tags": {}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    fn site_path(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Web/sites/{name}",
            self.sub
        )
    }

    async fn graph_sp(&self, id: &str) -> (StatusCode, Value) {
        let (s, _, b) = self
            .app
            .call(
                Method::GET,
                &format!("/v1.0/servicePrincipals/{id}"),
                Some(&self.graph),
                None,
            )
            .await;
        (s, b)
    }

    async fn imds(
        &self,
        query: &str,
        metadata: bool,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.app.http.get(self.app.url(&format!(
            "/metadata/identity/oauth2/token?api-version=2018-02-01&{query}"
        )));
        if metadata {
            req = req.header("Metadata", "true");
        }
        let r = req.send().await.expect("request");
        let (status, headers) = (r.status(), r.headers().clone());
        (status, headers, r.json().await.expect("json"))
    }

    /// The status of reading the group `rg` with `token`.
    async fn read_group(&self, token: Option<&str>) -> StatusCode {
        let path = format!(
            "/subscriptions/{}/resourceGroups/rg?api-version=2021-04-01",
            self.sub
        );
        self.app.call(Method::GET, &path, token, None).await.0
    }

    async fn set_host(&self, host: Value) -> Value {
        let r = self
            .app
            .http
            .put(self.app.url("/_emulator/managed-identity"))
            .json(&json!({ "host": host }))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.expect("json")
    }
}

fn arm_resource() -> &'static str {
    "resource=https%3A%2F%2Fmanagement.azure.com%2F"
}

#[tokio::test]
async fn user_assigned_identities_are_arm_resources_with_a_managed_identity_principal() {
    let mi = Mi::new(Emulator::builder()).await;
    let created = mi.uai("payments").await;
    // Shape of a real PUT answer (CLI-MI: Azure/azure-cli
    // src/azure-cli/azure/cli/command_modules/identity/tests/latest/recordings/test_identity_management.yaml):
    // lower-case `resourcegroups` in the id, properties tenantId, principalId, clientId;
    // `isolationScope` and `tags: {}` as fixtures/azure/cli_role_assignment_no_graph.json
    // (api-version 2024-11-30) shows them, and the id in `Location`.
    assert_eq!(
        created["id"],
        format!(
            "/subscriptions/{}/resourcegroups/rg/providers/{UAI}/payments",
            mi.sub
        )
    );
    assert_eq!(created["name"], "payments");
    assert_eq!(created["type"], UAI);
    assert_eq!(created["location"], "westus");
    let props = &created["properties"];
    let keys: Vec<&String> = props.as_object().expect("props").keys().collect();
    assert_eq!(
        keys,
        ["isolationScope", "tenantId", "principalId", "clientId"]
    );
    assert_eq!(props["isolationScope"], "None");
    assert_eq!(props["tenantId"], mi.app.emu.tenant_id().to_string());
    let (principal, client) = (
        props["principalId"].as_str().expect("p").to_owned(),
        props["clientId"].as_str().expect("c").to_owned(),
    );

    // PUT again: 200, same ids (SPECS 2023-01-31 IdentityCreate example: 200 on update).
    let (status, _, again) = mi
        .put(
            &mi.uai_path("payments"),
            "2023-01-31",
            json!({"location": "westus", "tags": {"a": "b"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["properties"], created["properties"]);
    let (status, got) = mi
        .arm(Method::GET, &mi.uai_path("payments"), "2023-01-31")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["properties"]["clientId"], client.as_str());
    let (status, list) = mi
        .arm(
            Method::GET,
            &format!(
                "/subscriptions/{}/resourceGroups/rg/providers/{UAI}",
                mi.sub
            ),
            "2023-01-31",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));

    // Graph: ARM principalId = SP id, clientId = appId, servicePrincipalType ManagedIdentity,
    // alternativeNames isExplicit=True + the identity's id (research §5.3, observed).
    let (status, sp) = mi.graph_sp(&principal).await;
    assert_eq!(status, StatusCode::OK, "{sp}");
    assert_eq!(sp["appId"], client.as_str());
    assert_eq!(sp["displayName"], "payments");
    assert_eq!(sp["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(
        sp["alternativeNames"],
        json!(["isExplicit=True", created["id"]])
    );
    // Tools find managed identities by type (`az ad sp list --filter`).
    let (status, _, list) = mi
        .app
        .call(
            Method::GET,
            "/v1.0/servicePrincipals?$filter=servicePrincipalType%20eq%20'ManagedIdentity'",
            Some(&mi.graph),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let ids: Vec<&Value> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|v| &v["id"])
        .collect();
    assert_eq!(ids, [&json!(principal)]);

    // DELETE: 200 with an empty body (CLI-MI), and the principal leaves the directory.
    let (status, body) = mi
        .arm(Method::DELETE, &mi.uai_path("payments"), "2023-01-31")
        .await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    assert_eq!(mi.graph_sp(&principal).await.0, StatusCode::NOT_FOUND);
    // IMDS no longer serves it.
    let (status, _, body) = mi
        .imds(&format!("{}&client_id={client}", arm_resource()), true)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "Identity not found");
}

#[tokio::test]
async fn system_assigned_identities_live_and_die_with_their_resource() {
    let mi = Mi::new(Emulator::builder()).await;
    let uai = mi.uai("shared").await;
    let uai_id = uai["id"].as_str().expect("id").to_owned();
    let site = mi.site_path("web");
    let (status, _, body) = mi
        .put(
            &site,
            "2022-03-01",
            json!({"location": "westus", "identity": {"type": "SystemAssigned, UserAssigned",
                "userAssignedIdentities": {uai_id.clone(): {}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // common-types v5 managedidentity.json: principalId/tenantId for the system-assigned
    // identity; each user-assigned one answers with its principalId and clientId.
    let identity = &body["identity"];
    assert_eq!(identity["type"], "SystemAssigned, UserAssigned");
    assert_eq!(identity["tenantId"], mi.app.emu.tenant_id().to_string());
    assert_eq!(
        identity["userAssignedIdentities"][&uai_id],
        json!({"principalId": uai["properties"]["principalId"], "clientId": uai["properties"]["clientId"]})
    );
    let principal = identity["principalId"]
        .as_str()
        .expect("principal")
        .to_owned();
    let (status, sp) = mi.graph_sp(&principal).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sp["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(sp["alternativeNames"][0], "isExplicit=False");
    assert_eq!(sp["displayName"], "web");

    // Writing it again keeps the principal; dropping the identity removes it.
    let (_, _, again) = mi
        .put(
            &site,
            "2022-03-01",
            json!({"location": "westus", "identity": {"type": "SystemAssigned"}}),
        )
        .await;
    assert_eq!(again["identity"]["principalId"], principal.as_str());
    assert!(again["identity"].get("userAssignedIdentities").is_none());
    let (status, _, _) = mi
        .put(
            &site,
            "2022-03-01",
            json!({"location": "westus", "identity": {"type": "None"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mi.graph_sp(&principal).await.0, StatusCode::NOT_FOUND);

    // A new system identity goes with its resource group.
    let (_, _, body) = mi
        .put(
            &site,
            "2022-03-01",
            json!({"location": "westus", "identity": {"type": "SystemAssigned"}}),
        )
        .await;
    let principal = body["identity"]["principalId"]
        .as_str()
        .expect("p")
        .to_owned();
    assert_eq!(mi.graph_sp(&principal).await.0, StatusCode::OK);
    let (status, _) = mi
        .arm(
            Method::DELETE,
            &format!("/subscriptions/{}/resourceGroups/rg", mi.sub),
            "2021-04-01",
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(mi.graph_sp(&principal).await.0, StatusCode::NOT_FOUND);
    let uai_principal = uai["properties"]["principalId"].as_str().expect("p");
    assert_eq!(mi.graph_sp(uai_principal).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_identity_blocks_get_arm_errors() {
    let mi = Mi::new(Emulator::builder()).await;
    let site = mi.site_path("web");
    let missing = format!(
        "/subscriptions/{}/resourceGroups/rg/providers/{UAI}/nope",
        mi.sub
    );
    let cases = [
        // ARM's wrapper of the identity service's BadRequest (Azure/azure-cli#31837); the
        // inner message for a missing identity is a guess.
        (
            json!({"type": "UserAssigned", "userAssignedIdentities": {missing.clone(): {}}}),
            "FailedIdentityOperation",
            format!("Resource '{missing}' was not found."),
        ),
        // Inner message verbatim from Azure/azure-rest-api-specs#17650.
        (
            json!({"type": "SystemAssigned", "userAssignedIdentities": {missing.clone(): {}}}),
            "FailedIdentityOperation",
            "a non-UserAssigned identity type should not contain: userAssignedIdentities"
                .to_owned(),
        ),
        (
            json!({"type": "Everything"}),
            "FailedIdentityOperation",
            "Invalid identity type".to_owned(),
        ),
        (
            json!({"type": 7}),
            "InvalidRequestContent",
            "identity.type".to_owned(),
        ),
        (
            json!(["SystemAssigned"]),
            "InvalidRequestContent",
            "identity".to_owned(),
        ),
    ];
    for (identity, code, text) in cases {
        let (status, _, body) = mi
            .put(
                &site,
                "2022-03-01",
                json!({"location": "westus", "identity": identity}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains(&text), "{message}");
        if code == "FailedIdentityOperation" {
            assert!(
                message.starts_with(&format!("Identity operation for resource '{site}' failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'.")),
                "{message}"
            );
        }
    }
    // Nothing was written.
    assert_eq!(
        mi.arm(Method::GET, &site, "2022-03-01").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn imds_hands_out_day_long_cached_tokens_for_the_named_identity() {
    let mi = Mi::new(Emulator::builder()).await;
    let uai = mi.uai("payments").await;
    let props = &uai["properties"];
    let client = props["clientId"].as_str().expect("client");

    // No Metadata header: 400 with IMDS's verbatim body (research §5.4: Azure.Identity
    // ManagedIdentityCredentialTests, content-length 88 of a real probe answer).
    let r = mi
        .app
        .http
        .get(mi.app.url(&format!(
            "/metadata/identity/oauth2/token?api-version=2018-02-01&{}",
            arm_resource()
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let text = r.text().await.expect("text");
    assert_eq!(
        text,
        r#"{"error":"invalid_request","error_description":"Required metadata header not specified"}"#
    );
    assert_eq!(text.len(), 88);

    // No host and no identity named: "Identity not found" (Azure/terraform-provider-azapi#669).
    let (status, headers, body) = mi.imds(arm_resource(), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_request", "error_description": "Identity not found"})
    );
    // Its server header (Azure/azure-sdk-for-net#37278).
    assert_eq!(headers["server"], "IMDS/150.870.65.1015");

    let (status, _, token) = mi
        .imds(&format!("{}&client_id={client}", arm_resource()), true)
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    // Field names and order of a real answer; every number a string; a day long
    // (research §5.4, §0.8: expires_in "86400", expires_on − not_before = 86700).
    let keys: Vec<&String> = token.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "client_id",
            "expires_in",
            "expires_on",
            "ext_expires_in",
            "not_before",
            "resource",
            "token_type"
        ]
    );
    assert_eq!(token["expires_in"], "86400");
    assert_eq!(token["ext_expires_in"], "86399");
    assert_eq!(token["client_id"], client);
    assert_eq!(token["resource"], "https://management.azure.com/");
    assert_eq!(token["token_type"], "Bearer");
    let secs = |k: &str| token[k].as_str().expect(k).parse::<i64>().expect(k);
    assert_eq!(secs("expires_on") - secs("not_before"), 86_700);
    // Claims of a real user-assigned identity's ARM token (research §5.8).
    let claims = claims_of(token["access_token"].as_str().expect("token"));
    assert_eq!(claims["appid"], client);
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["oid"], props["principalId"]);
    assert_eq!(claims["sub"], props["principalId"]);
    assert_eq!(claims["aud"], "https://management.azure.com/");
    assert_eq!(claims["xms_mirid"], uai["id"]);
    assert_eq!(
        claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
        86_700
    );
    assert!(claims.get("app_displayname").is_none());

    // Asked again an hour later: the same token, its expires_in counting down.
    mi.app.emu.advance_clock(Duration::from_secs(3600));
    let by_object = format!(
        "{}&object_id={}",
        arm_resource(),
        props["principalId"].as_str().expect("p")
    );
    let (_, _, again) = mi.imds(&by_object, true).await;
    assert_eq!(again["access_token"], token["access_token"]);
    assert_eq!(again["expires_in"], "82800");
    let by_resource = format!(
        "{}&msi_res_id={}",
        arm_resource(),
        uai["id"].as_str().expect("id")
    );
    let (_, _, again) = mi.imds(&by_resource, true).await;
    assert_eq!(again["access_token"], token["access_token"]);
    // Past its renewal point, a new one.
    mi.app.emu.advance_clock(Duration::from_secs(82_800));
    let (_, _, renewed) = mi.imds(&by_object, true).await;
    assert_ne!(renewed["access_token"], token["access_token"]);
    assert_eq!(renewed["expires_in"], "86400");

    // An unknown resource: IMDS relays Entra's AADSTS500011 (MSAL.NET#3979).
    let (status, _, body) = mi
        .imds(
            &format!("resource=https%3A%2F%2Fmanagements.azure.com&client_id={client}"),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_resource");
    assert!(
        body["error_description"]
            .as_str()
            .expect("description")
            .starts_with("AADSTS500011: The resource principal named https://managements.azure.com was not found in the tenant named"),
        "{body}"
    );
    // Missing resource and api-version (wording guessed), and another method (SPECS imds
    // 2018-10-01 example: 405 method_not_allowed "Not allowed").
    let (status, _, body) = mi.imds(&format!("client_id={client}"), true).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let r = mi
        .app
        .http
        .get(mi.app.url(&format!(
            "/metadata/identity/oauth2/token?{}",
            arm_resource()
        )))
        .header("Metadata", "true")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = mi
        .app
        .http
        .post(mi.app.url(&format!(
            "/metadata/identity/oauth2/token?api-version=2018-02-01&{}",
            arm_resource()
        )))
        .header("Metadata", "true")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"error": "method_not_allowed", "error_description": "Not allowed"})
    );
}

#[tokio::test]
async fn the_host_decides_the_default_identity_and_which_ones_are_served() {
    let mi = Mi::new(Emulator::builder()).await;
    let attached = mi.uai("attached").await;
    let other = mi.uai("other").await;
    let site = mi.site_path("web");
    let (_, _, web) = mi
        .put(
            &site,
            "2022-03-01",
            json!({"location": "westus", "identity": {"type": "SystemAssigned,UserAssigned",
                "userAssignedIdentities": {attached["id"].as_str().expect("id"): {}}}}),
        )
        .await;
    let system = web["identity"]["principalId"]
        .as_str()
        .expect("p")
        .to_owned();
    let info = mi.set_host(json!(site)).await;
    assert_eq!(info["host"], site.as_str());
    assert!(
        info["imdsEndpoint"]
            .as_str()
            .expect("imds")
            .ends_with("/metadata/identity/oauth2/token")
    );

    let (status, _, token) = mi.imds(arm_resource(), true).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let claims = claims_of(token["access_token"].as_str().expect("token"));
    assert_eq!(claims["oid"], system.as_str());
    // A system-assigned identity's xms_mirid is its resource's id (research §5.8).
    assert_eq!(
        claims["xms_mirid"],
        format!(
            "/subscriptions/{}/resourcegroups/rg/providers/Microsoft.Web/sites/web",
            mi.sub
        )
    );
    let attached_client = attached["properties"]["clientId"].as_str().expect("c");
    let (status, _, _) = mi
        .imds(
            &format!("{}&client_id={attached_client}", arm_resource()),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // An identity that exists but is not assigned to the host: "Identity not found".
    let other_client = other["properties"]["clientId"].as_str().expect("c");
    let (status, _, body) = mi
        .imds(
            &format!("{}&client_id={other_client}", arm_resource()),
            true,
        )
        .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Identity not found"))
    );

    // Only user-assigned identities on the host: the single one is the default.
    mi.put(
        &site,
        "2022-03-01",
        json!({"location": "westus", "identity": {"type": "UserAssigned",
            "userAssignedIdentities": {attached["id"].as_str().expect("id"): {}}}}),
    )
    .await;
    let (_, _, token) = mi.imds(arm_resource(), true).await;
    assert_eq!(
        claims_of(token["access_token"].as_str().expect("t"))["appid"],
        attached_client
    );

    // Bad control bodies are refused; null clears the host.
    let r = mi
        .app
        .http
        .put(mi.app.url("/_emulator/managed-identity"))
        .json(&json!({"host": 3}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    mi.set_host(Value::Null).await;
    assert_eq!(
        mi.imds(arm_resource(), true).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_app_service_endpoint_checks_its_header_and_version() {
    let mi = Mi::new(Emulator::builder()).await;
    let uai = mi.uai("fn").await;
    let client = uai["properties"]["clientId"].as_str().expect("c");
    let info: Value = mi.app.get_json("/_emulator/managed-identity").await.1;
    let header = info["identityHeader"].as_str().expect("header").to_owned();
    let endpoint = info["identityEndpoint"]
        .as_str()
        .expect("endpoint")
        .to_owned();
    assert_eq!(endpoint, mi.app.url("/msi/token"));
    let get = |version: &str, header: Option<&str>| {
        let mut req = mi.app.http.get(format!(
            "{endpoint}?api-version={version}&resource=https://management.azure.com&client_id={client}"
        ));
        if let Some(h) = header {
            req = req.header("X-IDENTITY-HEADER", h);
        }
        req.send()
    };
    let r = get("2019-08-01", Some(&header)).await.expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    // azure-docs app-service/overview-managed-identity.md: the example's fields, in order,
    // expires_on a string of Unix seconds.
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_on",
            "resource",
            "token_type",
            "client_id"
        ]
    );
    assert_eq!(body["client_id"], client);
    assert!(
        body["expires_on"]
            .as_str()
            .expect("exp")
            .parse::<i64>()
            .is_ok()
    );
    // Wrong or missing header (status and text are guesses), older api-version (the text of
    // Azure/azure-sdk-for-net#16334).
    for h in [None, Some("wrong")] {
        let r = get("2019-08-01", h).await.expect("request");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.json::<Value>().await.expect("json")["statusCode"], 401);
    }
    let r = get("2017-09-01", Some(&header)).await.expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .expect("m")
            .ends_with("does not support the API version '2017-09-01'."),
        "{body}"
    );
}

#[tokio::test]
async fn a_new_identity_replicates_and_a_role_gained_after_its_token_is_not_seen_until_renewal() {
    let mi = Mi::new(
        Emulator::builder()
            .rbac_propagation(Duration::from_secs(60))
            .principal_replication(Duration::from_secs(30)),
    )
    .await;
    let uai = mi.uai("worker").await;
    let principal = uai["properties"]["principalId"]
        .as_str()
        .expect("p")
        .to_owned();
    let client = uai["properties"]["clientId"]
        .as_str()
        .expect("c")
        .to_owned();
    let reader =
        "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
    let scope = format!("/subscriptions/{}", mi.sub);
    let assign = |name: &'static str, typed: bool| {
        let mut props =
            json!({"roleDefinitionId": format!("{scope}{reader}"), "principalId": principal});
        if typed {
            props["principalType"] = json!("ServicePrincipal");
        }
        let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
        let mi = &mi;
        async move {
            mi.put(&path, "2022-04-01", json!({"properties": props}))
                .await
        }
    };
    // Replication (reference §9): untyped right after creation → PrincipalNotFound.
    let (status, _, body) = assign("0b1e5a5e-0000-4000-8000-000000000001", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "PrincipalNotFound");

    // The identity takes a token before it holds any role.
    let (_, _, token) = mi
        .imds(&format!("{}&client_id={client}", arm_resource()), true)
        .await;
    let bearer = token["access_token"].as_str().expect("token").to_owned();
    let read = || mi.read_group(Some(&bearer));
    // Unknown to ARM's role data yet: 403.
    assert_eq!(read().await, StatusCode::FORBIDDEN);
    let (status, _, body) = assign("0b1e5a5e-0000-4000-8000-000000000002", true).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Past the 60 s propagation, still refused: the platform keeps handing out the token
    // issued before the role (the managed identities FAQ, "Are managed identities tokens
    // cached?": about 24 hours).
    mi.app.emu.advance_clock(Duration::from_secs(3600));
    assert_eq!(read().await, StatusCode::FORBIDDEN);
    let (_, _, same) = mi
        .imds(&format!("{}&client_id={client}", arm_resource()), true)
        .await;
    assert_eq!(same["access_token"].as_str(), Some(bearer.as_str()));
    // Once the cached token is renewed (24 h minus 5 min after issue), the role holds.
    mi.app
        .emu
        .advance_clock(Duration::from_secs(86_400 - 3600 - 300));
    let (_, _, fresh) = mi
        .imds(&format!("{}&client_id={client}", arm_resource()), true)
        .await;
    assert_ne!(fresh["access_token"].as_str(), Some(bearer.as_str()));
    assert_eq!(
        mi.read_group(fresh["access_token"].as_str()).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_a_cached_token_a_role_takes_the_usual_propagation_delay() {
    let mi = Mi::new(Emulator::builder().rbac_propagation(Duration::from_secs(60))).await;
    let uai = mi.uai("worker").await;
    let principal = uai["properties"]["principalId"].as_str().expect("p");
    let client = uai["properties"]["clientId"].as_str().expect("c");
    let scope = format!("/subscriptions/{}", mi.sub);
    let (status, _, body) = mi
        .put(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0b1e5a5e-0000-4000-8000-000000000003"),
            "2022-04-01",
            json!({"properties": {"principalId": principal, "principalType": "ServicePrincipal",
                "roleDefinitionId": format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7")}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    mi.app.emu.advance_clock(Duration::from_secs(61));
    let (_, _, token) = mi
        .imds(&format!("{}&client_id={client}", arm_resource()), true)
        .await;
    assert_eq!(
        mi.read_group(token["access_token"].as_str()).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn fault_rules_throttle_imds_in_its_own_envelope() {
    use entra_emulator::faults::{FaultKind, FaultSpec, Service};
    let mi = Mi::new(
        Emulator::builder()
            .fault(FaultSpec::new(FaultKind::Throttle).service(Service::ManagedIdentity)),
    )
    .await;
    let (status, headers, body) = mi.imds(arm_resource(), true).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The 429 example's code in SPECS imds 2018-10-01; the description is a guess.
    assert_eq!(body["error"], "too_many_requests");
    assert!(headers.contains_key("retry-after"));
}

/// azure-identity for Python (`clients/python/tests/test_managed_identity.py`):
/// `ManagedIdentityCredential` through IMDS (`AZURE_POD_IDENTITY_AUTHORITY_HOST`) and App
/// Service (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`), `DefaultAzureCredential` running as the
/// host's system-assigned identity; each reads a resource group through ARM.
#[tokio::test]
async fn azure_identity_python_managed_identity_reads_arm() {
    let Some(python) =
        crate::support::real_client("identity::azure_identity_python_managed_identity_reads_arm")
    else {
        return;
    };
    let out = crate::support::run_pytest(&python, "test_managed_identity.py").await;
    assert!(out.contains("4 passed"), "{out}");
}

#[tokio::test]
async fn identities_and_their_principals_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("entra-mi-persist-{}", uuid::Uuid::new_v4()));
    let (principal, client, site_principal) = {
        let mi = Mi::new(Emulator::builder().data_dir(&dir)).await;
        let uai = mi.uai("kept").await;
        let (_, _, web) = mi
            .put(
                &mi.site_path("web"),
                "2022-03-01",
                json!({"location": "westus", "identity": {"type": "SystemAssigned"}}),
            )
            .await;
        (
            uai["properties"]["principalId"]
                .as_str()
                .expect("p")
                .to_owned(),
            uai["properties"]["clientId"]
                .as_str()
                .expect("c")
                .to_owned(),
            web["identity"]["principalId"]
                .as_str()
                .expect("p")
                .to_owned(),
        )
    };
    // The first emulator lets go of the directory's lock as it shuts down, just after drop.
    let mut tries = 0;
    let emu = loop {
        match Emulator::builder().data_dir(&dir).start().await {
            Ok(emu) => break emu,
            Err(e) if tries < 100 => {
                tries += 1;
                assert!(format!("{e:?}").contains("Locked"), "{e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    };
    let mi = Mi::on(TestApp {
        emu,
        http: reqwest::Client::new(),
    })
    .await;
    let (status, sp) = mi.graph_sp(&principal).await;
    assert_eq!(status, StatusCode::OK, "{sp}");
    assert_eq!(sp["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(mi.graph_sp(&site_principal).await.0, StatusCode::OK);
    let (_, web) = mi
        .arm(Method::GET, &mi.site_path("web"), "2022-03-01")
        .await;
    assert_eq!(web["identity"]["principalId"], site_principal.as_str());
    let (status, _, _) = mi
        .imds(&format!("{}&client_id={client}", arm_resource()), true)
        .await;
    assert_eq!(status, StatusCode::OK);
    drop(mi);
    let _ = std::fs::remove_dir_all(&dir);
}

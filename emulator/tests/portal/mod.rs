//! The portal at `/_emulator/portal`: status codes, redirects, escaping, the one-time
//! secret page, same-origin form posts, and that what it does is what Graph and ARM show.

use std::time::Duration;

use entra_emulator::{Emulator, test_support};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::*;

const P: &str = "/_emulator/portal";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const RG_V: &str = "api-version=2022-09-01";
const RA_V: &str = "api-version=2022-04-01";

/// An HTML answer.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The text of the element with this `id` (`<code id="…">text</code>`).
    fn code(&self, id: &str) -> String {
        let start = self
            .body
            .find(&format!(r#"id="{id}">"#))
            .unwrap_or_else(|| panic!("no element {id} in {}", self.body));
        let rest = &self.body[start + id.len() + 6..];
        rest[..rest.find('<').expect("end tag")].to_owned()
    }
}

/// A client that does not follow redirects, so that each 303 can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn get(app: &TestApp, path: &str) -> Page {
    let r = browser().get(app.url(path)).send().await.expect("request");
    Page {
        status: r.status(),
        headers: r.headers().clone(),
        body: r.text().await.expect("body"),
    }
}

async fn post_with(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Page {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = browser()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("request");
    Page {
        status: r.status(),
        headers: r.headers().clone(),
        body: r.text().await.expect("body"),
    }
}

/// A form post as a browser sends it from the portal's own pages.
async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Page {
    let origin = app.emu.url().to_owned();
    post_with(
        app,
        path,
        form,
        &[("origin", &origin), ("sec-fetch-site", "same-origin")],
    )
    .await
}

async fn graph(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let token = app.admin_graph_token().await;
    let (status, _, body) = app.call(method, path, Some(&token), body).await;
    assert!(status.is_success(), "{status} {body}");
    body
}

async fn arm_token(app: &TestApp, client_id: &str, secret: &str) -> (StatusCode, String) {
    let (status, body) = app
        .token_v2(client_id, secret, "https://management.azure.com/.default")
        .await;
    (
        status,
        body["access_token"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Registers an application through the portal; returns its object id.
async fn register(app: &TestApp, name: &str) -> String {
    let created = post(
        app,
        &format!("{P}/apps"),
        &[("displayName", name), ("signInAudience", "AzureADMyOrg")],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    created
        .location()
        .strip_prefix(&format!("{P}/apps/"))
        .expect("redirect to the app")
        .to_owned()
}

/// Assigns `role` to the service principal `sp` at `scope` through the portal; returns the
/// next page (a redirect to the scope's access control when it worked).
async fn assign(app: &TestApp, scope: &str, role: &str, sp: &str) -> Page {
    post(
        app,
        &format!("{P}/iam/assignments"),
        &[("scope", scope), ("role", role), ("principal", sp)],
    )
    .await
}

/// Adds a secret through the portal; returns the one-time page.
async fn add_secret(app: &TestApp, id: &str, description: &str) -> Page {
    let page = post(
        app,
        &format!("{P}/apps/{id}/secrets"),
        &[("description", description), ("expires", "180d")],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

#[tokio::test]
async fn pages_are_small_accessible_html() {
    let app = TestApp::new().await;
    for path in [
        P.to_owned(),
        format!("{P}/apps"),
        format!("{P}/apps/new"),
        format!("{P}/resources"),
    ] {
        let page = get(&app, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(page.headers["cache-control"], "no-store");
        assert!(
            page.headers["content-security-policy"]
                .to_str()
                .expect("csp")
                .contains("script-src 'self'")
        );
        for part in ["<!doctype html>", r#"<html lang="en">"#, "<main>", "<h1>"] {
            assert!(page.body.contains(part), "{path} lacks {part}");
        }
        assert!(!page.body.contains("http://") && !page.body.contains("https://"));
    }
    let overview = get(&app, P).await;
    assert!(overview.body.contains(&app.emu.tenant_id().to_string()));
    assert!(
        overview
            .body
            .contains(&app.emu.subscription_id().to_string())
    );
    assert!(!overview.body.contains(&app.admin_secret()));
    let css = get(&app, &format!("{P}/assets/portal.css")).await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    let js = get(&app, &format!("{P}/assets/portal.js")).await;
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(js.body.contains("clipboard"));
    let missing = get(&app, &format!("{P}/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("<main>"));
}

#[tokio::test]
async fn registration_is_visible_through_graph_and_names_are_escaped() {
    let app = TestApp::new().await;
    let name = r#"<script>alert("x")</script> & co"#;
    let id = register(&app, name).await;
    let overview = get(&app, &format!("{P}/apps/{id}")).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(!overview.body.contains("<script>alert"));
    assert!(
        overview
            .body
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co")
    );
    let list = get(&app, &format!("{P}/apps")).await;
    assert!(!list.body.contains("<script>alert"));
    assert!(list.body.contains("&lt;script&gt;"));
    // Graph sees the registration with the portal's choices.
    let g = graph(
        &app,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(g["displayName"], name);
    assert_eq!(g["signInAudience"], "AzureADMyOrg");
    assert_eq!(
        overview.code("client-id"),
        g["appId"].as_str().expect("appId")
    );
    assert_eq!(overview.code("object-id"), id);
    assert_eq!(overview.code("tenant-id"), app.emu.tenant_id().to_string());
    // An app registered through Graph shows in the portal.
    let made = graph(
        &app,
        reqwest::Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "from-graph"})),
    )
    .await;
    let list = get(&app, &format!("{P}/apps")).await;
    assert!(list.body.contains("from-graph"));
    let page = get(
        &app,
        &format!("{P}/apps/{}", made["id"].as_str().expect("id")),
    )
    .await;
    assert!(
        page.body
            .contains("Accounts in any organizational directory and personal Microsoft accounts")
    );
}

#[tokio::test]
async fn a_secret_value_is_shown_once_and_then_only_its_hint() {
    let app = TestApp::new().await;
    let id = register(&app, "secret-demo").await;
    let created = add_secret(&app, &id, "ci <key>").await;
    assert_eq!(created.headers["cache-control"], "no-store");
    assert!(created.body.contains("cannot be viewed again"));
    assert!(created.body.contains("ci &lt;key&gt;"));
    let value = created.code("secret-value");
    assert_eq!(value.len(), 40, "{value}");
    let hint = &value[..3];
    // Graph: the same credential, hint only.
    let g = graph(
        &app,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{id}"),
        None,
    )
    .await;
    let cred = &g["passwordCredentials"][0];
    assert_eq!(cred["hint"], hint);
    assert_eq!(cred["secretText"], Value::Null);
    assert_eq!(cred["displayName"], "ci <key>");
    let key_id = cred["keyId"].as_str().expect("keyId").to_owned();
    assert!(created.body.contains(&key_id));
    assert!(!g.to_string().contains(&value));
    // Every page fetched afterwards shows the hint, never the value.
    for path in [
        format!("{P}/apps/{id}/secrets"),
        format!("{P}/apps/{id}"),
        format!("{P}/apps"),
        P.to_owned(),
    ] {
        let page = get(&app, &path).await;
        assert!(!page.body.contains(&value), "{path} shows the secret");
        assert!(!page.body.contains("secret-value"), "{path}");
    }
    let listed = get(&app, &format!("{P}/apps/{id}/secrets")).await;
    assert!(listed.body.contains(&format!("{hint}******")));
    assert!(listed.body.contains(&key_id));
    // The value is a working credential once the service principal exists.
    let app_id = g["appId"].as_str().expect("appId").to_owned();
    let (status, _) = arm_token(&app, &app_id, &value).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no service principal yet");
    let sp = post(&app, &format!("{P}/apps/{id}/service-principal"), &[]).await;
    assert_eq!(sp.status, StatusCode::SEE_OTHER);
    assert_eq!(sp.location(), format!("{P}/apps/{id}"));
    let (status, token) = arm_token(&app, &app_id, &value).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!token.is_empty());
    let sps = graph(
        &app,
        reqwest::Method::GET,
        &format!("/v1.0/servicePrincipals(appId='{app_id}')"),
        None,
    )
    .await;
    let overview = get(&app, &format!("{P}/apps/{id}")).await;
    assert_eq!(
        overview.code("sp-object-id"),
        sps["id"].as_str().expect("sp id")
    );
    assert!(!overview.body.contains("Create service principal"));
    // Deleting it in the portal is removePassword: the secret stops working.
    let deleted = post(&app, &format!("{P}/apps/{id}/secrets/{key_id}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), format!("{P}/apps/{id}/secrets"));
    let (status, _) = arm_token(&app, &app_id, &value).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let g = graph(
        &app,
        reqwest::Method::GET,
        &format!("/v1.0/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(g["passwordCredentials"], json!([]));
}

#[tokio::test]
async fn graph_secrets_and_service_principals_show_in_the_portal() {
    let app = TestApp::new().await;
    let made = graph(
        &app,
        reqwest::Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "graph-made"})),
    )
    .await;
    let id = made["id"].as_str().expect("id");
    let pw = graph(
        &app,
        reqwest::Method::POST,
        &format!("/v1.0/applications/{id}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "from graph"}})),
    )
    .await;
    let value = pw["secretText"].as_str().expect("secretText");
    let secrets = get(&app, &format!("{P}/apps/{id}/secrets")).await;
    assert!(secrets.body.contains("from graph"));
    assert!(secrets.body.contains(pw["keyId"].as_str().expect("keyId")));
    assert!(secrets.body.contains(&format!("{}******", &value[..3])));
    assert!(!secrets.body.contains(value));
    let sp = graph(
        &app,
        reqwest::Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": made["appId"]})),
    )
    .await;
    let overview = get(&app, &format!("{P}/apps/{id}")).await;
    assert_eq!(
        overview.code("sp-object-id"),
        sp["id"].as_str().expect("id")
    );
    // The portal cannot add a second one.
    let again = post(&app, &format!("{P}/apps/{id}/service-principal"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_service_principal_waits_for_graph_replication() {
    let app = TestApp::with(Emulator::builder().graph_replication(Duration::from_secs(30))).await;
    let id = register(&app, "replicating").await;
    let early = post(&app, &format!("{P}/apps/{id}/service-principal"), &[]).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.body.contains("not replicated"));
    app.emu.advance_clock(Duration::from_secs(31));
    let later = post(&app, &format!("{P}/apps/{id}/service-principal"), &[]).await;
    assert_eq!(later.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bad_input_gets_4xx_pages() {
    let app = TestApp::new().await;
    let id = register(&app, "target").await;
    let unknown = uuid::Uuid::new_v4();
    let long = "x".repeat(257);
    // (method, path, form, expected status)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, StatusCode);
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            format!("{P}/apps"),
            vec![("signInAudience", "AzureADMyOrg")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/apps"),
            vec![("displayName", "   "), ("signInAudience", "AzureADMyOrg")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/apps"),
            vec![("displayName", "x"), ("signInAudience", "Everyone")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/apps"),
            vec![("displayName", &long), ("signInAudience", "AzureADMyOrg")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("{P}/apps/not-a-guid"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("{P}/apps/{unknown}"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("{P}/apps/{unknown}/secrets"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("{P}/apps/{unknown}/secrets"),
            vec![("expires", "180d")],
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("{P}/apps/{unknown}/service-principal"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("{P}/apps/{id}/secrets"),
            vec![("expires", "forever")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/apps/{id}/secrets"),
            vec![("expires", "custom"), ("customEnd", "2001-01-01")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/apps/{id}/secrets"),
            vec![("expires", "custom"), ("customEnd", "soon")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/apps/{id}/secrets"),
            vec![("expires", "180d"), ("description", &long)],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/apps/{id}/secrets/{unknown}/delete"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("{P}/apps/{id}/secrets/nope/delete"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("{P}/clock/advance"),
            vec![("seconds", "-5")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/clock/advance"),
            vec![("seconds", "NaN")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/clock/advance"),
            vec![("seconds", "soon")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/clock/advance"),
            vec![("seconds", "1e300")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("{P}/iam?scope=nope"),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("{P}/iam?scope=%2F"),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("{P}/iam?scope=%2Fsubscriptions%2F{unknown}"),
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("{P}/resource-groups"),
            vec![("name", "x")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/iam/assignments"),
            vec![("scope", "/subscriptions/x")],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            format!("{P}/iam/assignments/delete"),
            vec![("scope", "/subscriptions/x")],
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, path, form, want) in cases {
        let page = if method == "GET" {
            get(&app, &path).await
        } else {
            post(&app, &path, &form).await
        };
        assert_eq!(page.status, want, "{method} {path} {form:?}: {}", page.body);
        assert!(
            page.body.contains("<main>"),
            "{method} {path}: an HTML page"
        );
    }
    // The registration form comes back with the entered name, escaped.
    let page = post(
        &app,
        &format!("{P}/apps"),
        &[
            ("displayName", "\"><script>x</script>"),
            ("signInAudience", "x"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body
            .contains(r#"value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;""#)
    );
    // Nothing was registered by the failed posts.
    let list = graph(&app, reqwest::Method::GET, "/v1.0/applications", None).await;
    assert_eq!(
        list["value"].as_array().expect("value").len(),
        2,
        "admin + target"
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::new().await;
    let form = [("displayName", "csrf"), ("signInAudience", "AzureADMyOrg")];
    let path = format!("{P}/apps");
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", app.emu.url()), ("sec-fetch-site", "cross-site")],
    ] {
        let page = post_with(&app, &path, &form, &headers).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    let list = graph(&app, reqwest::Method::GET, "/v1.0/applications", None).await;
    assert_eq!(
        list["value"].as_array().expect("value").len(),
        1,
        "only the admin"
    );
    // Same origin (as browsers send it) and no browser headers at all are accepted.
    assert_eq!(post(&app, &path, &form).await.status, StatusCode::SEE_OTHER);
    let plain = post_with(&app, &path, &form, &[]).await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_clock_advances_and_returns_to_the_portal_only() {
    let app = TestApp::new().await;
    let before = app.emu.now();
    let back = format!("{P}/apps");
    let moved = post(
        &app,
        &format!("{P}/clock/advance"),
        &[("seconds", "3600"), ("back", &back)],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    assert_eq!(moved.location(), back);
    let gained = app.emu.now() - before;
    assert!(gained >= time::Duration::seconds(3600) && gained < time::Duration::seconds(3660));
    for evil in ["https://evil.example/", "//evil.example", "/elsewhere"] {
        let page = post(
            &app,
            &format!("{P}/clock/advance"),
            &[("seconds", "1"), ("back", evil)],
        )
        .await;
        assert_eq!(page.location(), P, "{evil}");
    }
}

#[tokio::test]
async fn iam_assigns_roles_that_arm_sees_after_propagation() {
    // Default delays: ARM, Log Analytics and custom metrics 10 minutes, App Insights 1 hour.
    let app = TestApp::new().await;
    let sub = format!("/subscriptions/{}", app.emu.subscription_id());
    // A resource group from the portal is ARM's resource group.
    let made = post(
        &app,
        &format!("{P}/resource-groups"),
        &[
            ("subscription", &app.emu.subscription_id().to_string()),
            ("name", "portal-rg"),
            ("location", "westeurope"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let rg = format!("{sub}/resourceGroups/portal-rg");
    let iam = made.location().to_owned();
    assert_eq!(
        iam,
        format!(
            "{P}/iam?scope=%2Fsubscriptions%2F{}%2FresourceGroups%2Fportal-rg",
            app.emu.subscription_id()
        )
    );
    let (_, admin) = arm_token(&app, &app.admin_id(), &app.admin_secret()).await;
    let (status, _, group) = app
        .call(
            reqwest::Method::GET,
            &format!("{rg}?{RG_V}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(group["location"], "westeurope");
    let bad = post(
        &app,
        &format!("{P}/resource-groups"),
        &[
            ("subscription", &app.emu.subscription_id().to_string()),
            ("name", "bad name!"),
            ("location", "westeurope"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("InvalidResourceGroup"));
    let listed = get(&app, &format!("{P}/resources")).await;
    assert!(listed.body.contains("portal-rg"));

    // An app with a secret and a service principal, all from the portal.
    let id = register(&app, "reader-app").await;
    let value = add_secret(&app, &id, "ci").await.code("secret-value");
    post(&app, &format!("{P}/apps/{id}/service-principal"), &[]).await;
    let overview = get(&app, &format!("{P}/apps/{id}")).await;
    let (client_id, sp_id) = (overview.code("client-id"), overview.code("sp-object-id"));

    // Before: the group's IAM page lists the admin's inherited Owner and offers the SP.
    let page = get(&app, &iam).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Owner"));
    assert!(page.body.contains("Subscription (inherited)"));
    assert!(
        page.body
            .contains(&format!(r#"<option value="{sp_id}">reader-app"#))
    );
    assert!(page.body.contains(&format!(
        r#"<option value="{READER}" title="View all resources, but does not allow you to make any changes.">Reader</option>"#
    )));
    // The role picker offers every built-in role assignable at a resource group: all of
    // the catalog but the 16 roles whose assignable scopes lie elsewhere (provider scopes
    // such as `/providers/Microsoft.Capacity`, or other tenants' subscriptions).
    let picker = page
        .body
        .split(r#"<select name="role""#)
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .expect("role picker");
    assert_eq!(
        picker.matches("<option value=\"").count(),
        1 + test_support::builtin_role_count() - 16
    );
    assert!(picker.contains(r#"<option value="974c5e8b-45b9-4653-ba55-5f855dd0fb88" title="#));
    assert!(picker.contains(">Storage Queue Data Contributor</option>"));
    assert!(!picker.contains("Reservations Reader"));

    let assigned = assign(&app, &rg, READER, &sp_id).await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    assert_eq!(assigned.location(), iam);
    // ARM lists the assignment the portal made.
    let (_, _, list) = app
        .call(
            reqwest::Method::GET,
            &format!(
                "{rg}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()&{RA_V}"
            ),
            Some(&admin),
            None,
        )
        .await;
    let mine: Vec<&Value> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter(|a| a["properties"]["principalId"] == sp_id.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{list}");
    assert_eq!(mine[0]["properties"]["scope"], rg);
    assert_eq!(mine[0]["properties"]["principalType"], "ServicePrincipal");
    assert!(
        mine[0]["properties"]["roleDefinitionId"]
            .as_str()
            .expect("role")
            .ends_with(READER)
    );
    assert_eq!(
        mine[0]["properties"]["createdBy"],
        app.emu.admin().object_id.to_string()
    );
    let name = mine[0]["name"].as_str().expect("name").to_owned();

    // Pending in the portal, plane by plane, and ARM still refuses the app.
    let page = get(&app, &iam).await;
    assert!(page.body.contains("Pending until"), "{}", page.body);
    assert!(
        page.body
            .contains("<li>ARM, Log Analytics, Custom metrics: pending until")
    );
    assert!(
        page.body
            .contains("<li>Application Insights: pending until")
    );
    let (_, token) = arm_token(&app, &client_id, &value).await;
    let read = format!("{rg}?{RG_V}");
    let (status, _, _) = app
        .call(reqwest::Method::GET, &read, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The same assignment again is ARM's conflict.
    let twice = assign(&app, &rg, READER, &sp_id).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.body.contains("RoleAssignmentExists"));
    let unknown_role = assign(&app, &rg, &uuid::Uuid::new_v4().to_string(), &sp_id).await;
    assert_eq!(unknown_role.status, StatusCode::BAD_REQUEST);
    assert!(unknown_role.body.contains("RoleDefinitionDoesNotExist"));

    // The clock, moved from the IAM page: ARM first, then every plane.
    let moved = post(
        &app,
        &format!("{P}/clock/advance"),
        &[("seconds", "601"), ("back", &iam)],
    )
    .await;
    assert_eq!(moved.location(), iam);
    let page = get(&app, &iam).await;
    assert!(
        page.body
            .contains("<li>ARM, Log Analytics, Custom metrics: effective</li>")
    );
    assert!(
        page.body
            .contains("<li>Application Insights: pending until")
    );
    let (status, _, _) = app
        .call(reqwest::Method::GET, &read, Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    post(
        &app,
        &format!("{P}/clock/advance"),
        &[("seconds", "3000"), ("back", &iam)],
    )
    .await;
    let page = get(&app, &iam).await;
    assert!(!page.body.contains("Pending until"));
    let row = &page.body[page.body.find("reader-app<br>").expect("row")..];
    assert!(row[..row.find("</tr>").expect("end")].contains("Effective"));
    let (_, admin) = arm_token(&app, &app.admin_id(), &app.admin_secret()).await;

    // Removing it is ARM's DELETE, which propagates too.
    let removed = post(
        &app,
        &format!("{P}/iam/assignments/delete"),
        &[("scope", &rg), ("name", &name)],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let (status, _, _) = app
        .call(
            reqwest::Method::GET,
            &format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{name}?{RA_V}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let page = get(&app, &iam).await;
    assert!(page.body.contains("Removals still propagating"));
    assert!(!page.body.contains(&format!(r#"value="{name}""#)));

    // An assignment made through ARM shows in the portal.
    let arm_name = uuid::Uuid::new_v4();
    let (status, _, body) = app
        .call(
            reqwest::Method::PUT,
            &format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{arm_name}?{RA_V}"),
            Some(&admin),
            Some(json!({"properties": {
                "roleDefinitionId": format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
                "principalId": sp_id, "principalType": "ServicePrincipal"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let page = get(&app, &iam).await;
    assert!(
        page.body
            .contains(&format!(r#"name="name" value="{arm_name}""#))
    );
}

/// The text of each option of the role select, in order, with its group's label.
fn role_options(body: &str) -> Vec<(String, String)> {
    let start = body.find(r#"<select name="role""#).expect("role select");
    let select = &body[start..start + body[start..].find("</select>").expect("end")];
    let mut group = String::new();
    let mut out = Vec::new();
    for part in select.split('<').skip(1) {
        if let Some(label) = part.strip_prefix(r#"optgroup label=""#) {
            group = label[..label.find('"').expect("label")].to_owned();
        } else if part.starts_with("option value=\"") && !part.starts_with(r#"option value="""#) {
            out.push((
                group.clone(),
                part[part.find('>').expect("text") + 1..].to_owned(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn the_role_picker_lists_common_roles_first_and_filters_on_the_server() {
    let app = TestApp::new().await;
    let id = register(&app, "picker").await;
    post(&app, &format!("{P}/apps/{id}/service-principal"), &[]).await;
    let iam = format!(
        "{P}/iam?scope=%2Fsubscriptions%2F{}",
        app.emu.subscription_id()
    );
    // No search: the common roles in their order, then every other role by name.
    let page = get(&app, &iam).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"<input type="search" name="q" value="" data-filter="role""#)
    );
    let options = role_options(&page.body);
    let common: Vec<&str> = options
        .iter()
        .take_while(|(g, _)| g == "Common roles")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        common,
        [
            "Owner",
            "Contributor",
            "Reader",
            "User Access Administrator",
            "Monitoring Metrics Publisher",
            "Log Analytics Reader",
            "Monitoring Reader",
            "Log Analytics Contributor",
            "Monitoring Contributor",
        ]
    );
    let others: Vec<&str> = options[common.len()..]
        .iter()
        .map(|(g, n)| {
            assert_eq!(g, "All other roles");
            n.as_str()
        })
        .collect();
    let mut sorted = others.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(others, sorted);
    assert!(others.contains(&"AcrPull") && !others.contains(&"Reader"));

    // By name, ignoring case: the common matches first, then the others by name.
    let readers = get(&app, &format!("{iam}&q=READER")).await;
    assert_eq!(readers.status, StatusCode::OK);
    assert!(readers.body.contains(r#"name="q" value="READER""#));
    let options = role_options(&readers.body);
    let names: Vec<&str> = options.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        names[..3],
        ["Reader", "Log Analytics Reader", "Monitoring Reader"]
    );
    assert!(names.contains(&"Key Vault Reader"));
    assert!(!names.contains(&"Owner") && !names.contains(&"AcrPull"));
    assert_eq!(options[3].0, "Other roles matching “READER”");
    // By words of the description: Monitoring Metrics Publisher "Enables publishing
    // metrics against Azure resources".
    let described = get(&app, &format!("{iam}&q=publishing+AGAINST")).await;
    let names: Vec<String> = role_options(&described.body)
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(names, ["Monitoring Metrics Publisher"]);
    // Nothing matches: said so, and the form offers no role.
    let none = get(&app, &format!("{iam}&q=zzz-no-such-role")).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body.contains("No role matches the search."));
    assert!(role_options(&none.body).is_empty());
    // A role found by the search is assigned like any other.
    let sp = get(&app, &format!("{P}/apps/{id}"))
        .await
        .code("sp-object-id");
    let mmp = "3913510d-42f4-4e42-8a64-420c390055eb";
    assert!(
        described
            .body
            .contains(&format!(r#"<option value="{mmp}""#))
    );
    let scope = format!("/subscriptions/{}", app.emu.subscription_id());
    let assigned = assign(&app, &scope, mmp, &sp).await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    let page = get(&app, &iam).await;
    assert!(page.body.contains("<td>Monitoring Metrics Publisher</td>"));
}

#[tokio::test]
async fn user_text_is_escaped_on_every_page_that_shows_it() {
    let app = TestApp::new().await;
    let hostile = r#"<script>alert("x")</script> 'q'"#;
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 'q'";
    let check = |what: &str, page: &Page| {
        assert!(
            !page.body.contains("<script>alert"),
            "{what}: {}",
            page.body
        );
        assert!(page.body.contains(escaped), "{what}: {}", page.body);
    };
    // The registration form, sent back with the entered name.
    let refused = post(
        &app,
        &format!("{P}/apps"),
        &[("displayName", hostile), ("signInAudience", "nope")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    check("registration form", &refused);
    assert!(
        refused
            .body
            .contains(&format!(r#"name="displayName" value="{escaped}""#))
    );
    // The application's name and a secret's description.
    let id = register(&app, hostile).await;
    check("app list", &get(&app, &format!("{P}/apps")).await);
    let overview = get(&app, &format!("{P}/apps/{id}")).await;
    check("app overview", &overview);
    assert!(
        overview
            .body
            .contains(&format!("<title>{escaped} · Entra Emulator portal</title>"))
    );
    let created = add_secret(&app, &id, hostile).await;
    check("new secret", &created);
    assert!(
        created
            .body
            .contains(&format!(r#"aria-label="Delete client secret {escaped}""#))
    );
    check(
        "secrets",
        &get(&app, &format!("{P}/apps/{id}/secrets")).await,
    );
    // A path segment echoed in a 404.
    let missing = get(
        &app,
        &format!("{P}/apps/%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E%20'q'"),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    check("unknown app", &missing);
    // The service principal's name (Graph copies the app's), a custom role's name and
    // description, and the role search, on the access control page.
    post(&app, &format!("{P}/apps/{id}/service-principal"), &[]).await;
    let sub = format!("/subscriptions/{}", app.emu.subscription_id());
    let (_, admin) = arm_token(&app, &app.admin_id(), &app.admin_secret()).await;
    let role_id = "00000000-0000-4000-8000-00000000e5c4";
    let (status, _, body) = app
        .call(
            reqwest::Method::PUT,
            &format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_id}?{RA_V}"),
            Some(&admin),
            Some(json!({"properties": {
                "roleName": hostile, "description": hostile, "type": "CustomRole",
                "permissions": [{"actions": ["*/read"]}], "assignableScopes": [sub]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let iam = format!(
        "{P}/iam?scope=%2Fsubscriptions%2F{}",
        app.emu.subscription_id()
    );
    let page = get(&app, &iam).await;
    check("iam", &page);
    assert!(
        page.body
            .contains(&format!(r#"title="{escaped}">{escaped}</option>"#))
    );
    assert!(page.body.contains(&format!("{escaped} (application ")));
    let searched = get(
        &app,
        &format!("{iam}&q=%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E%20'q'"),
    )
    .await;
    check("role search", &searched);
    assert!(
        searched
            .body
            .contains(&format!(r#"name="q" value="{escaped}""#))
    );
    let sp = get(&app, &format!("{P}/apps/{id}"))
        .await
        .code("sp-object-id");
    let assigned = assign(&app, &sub, role_id, &sp).await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    let page = get(&app, &iam).await;
    assert!(
        page.body
            .contains(&format!("<td>{escaped}</td><td>{escaped}<br>"))
    );
    assert!(
        page.body
            .contains(&format!(r#"aria-label="Remove {escaped} for {escaped}""#))
    );
}

#[tokio::test]
async fn the_binary_never_logs_a_portal_secret() {
    let bin = RunningBinary::start_plain(&[]).await;
    let base = bin.info["base_url"].as_str().expect("base_url").to_owned();
    let client = browser();
    let send = |path: &str, form: &[(&str, &str)]| {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        client
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = send(
        &format!("{P}/apps"),
        &[
            ("displayName", "logged"),
            ("signInAudience", "AzureADMyOrg"),
        ],
    )
    .await
    .expect("register");
    let app_page = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let r = send(&format!("{app_page}/secrets"), &[("expires", "12m")])
        .await
        .expect("secret");
    let body = r.text().await.expect("body");
    let start = body.find(r#"id="secret-value">"#).expect("value") + 18;
    let value = &body[start..start + 40];
    let log = bin.stop_and_collect_stderr().await;
    assert!(
        log.contains(&format!("POST {app_page}/secrets 200")),
        "{log}"
    );
    assert!(!log.contains(value));
}

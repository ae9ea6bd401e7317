//! The client against an in-process emulator (and, for retries, a scripted local server).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use entra_client::credential::TokenFuture;
use entra_client::graph::SecretOptions;
use entra_client::{
    AccessToken, AzureClient, ClientSecret, ClientSecretCredential, Cloud, RetryPolicy,
    TokenCredential,
};
use entra_emulator::Emulator;

/// An emulator and a client signed in as its bootstrap admin.
struct TestEnv {
    emu: Emulator,
    cloud: Cloud,
    admin: AzureClient,
}

impl TestEnv {
    async fn new() -> Self {
        let emu = Emulator::start().await.expect("emulator");
        let cloud = Cloud::emulator(emu.url());
        let admin =
            AzureClient::new(cloud.clone(), Self::credential_for(&emu, &cloud)).expect("client");
        Self { emu, cloud, admin }
    }

    fn credential_for(emu: &Emulator, cloud: &Cloud) -> ClientSecretCredential {
        let a = emu.admin();
        ClientSecretCredential::new(
            cloud,
            emu.tenant_id().to_string(),
            a.client_id.to_string(),
            ClientSecret::new(a.client_secret.expose()),
        )
        .expect("credential")
    }

    fn credential(&self, client_id: &str, secret: &str) -> ClientSecretCredential {
        ClientSecretCredential::new(
            &self.cloud,
            self.emu.tenant_id().to_string(),
            client_id,
            ClientSecret::new(secret),
        )
        .expect("credential")
    }
}

#[tokio::test]
async fn graph_round_trip_keeps_the_secret_value_to_the_one_answer() {
    let env = TestEnv::new().await;
    let graph = env.admin.graph();
    let app = graph
        .create_application("client-test")
        .await
        .expect("create");
    assert_eq!(app.display_name, "client-test");
    // The creator is recorded and owns the application (issue 18 item 12).
    let creator = app.created_by_app_id.clone().expect("createdByAppId");
    let owners = graph.list_owners(&app.id).await.expect("owners");
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0]["appId"], creator.as_str());
    let other = graph
        .create_application("client-co-owner")
        .await
        .expect("create");
    let other_sp = graph
        .create_service_principal(&other.app_id)
        .await
        .expect("sp");
    assert_eq!(
        other_sp.created_by_app_id.as_deref(),
        Some(creator.as_str())
    );
    graph
        .add_owner(&app.id, &other_sp.id)
        .await
        .expect("add owner");
    assert_eq!(graph.list_owners(&app.id).await.expect("owners").len(), 2);
    let options = SecretOptions {
        display_name: Some("ci".into()),
        ..Default::default()
    };
    let new = graph
        .add_password(&app.id, &options)
        .await
        .expect("add password");
    assert_eq!(format!("{:?}", new.secret), "OneTimeSecret(***)");
    assert_eq!(
        new.credential.hint.as_deref(),
        Some(&new.secret.expose()[..3])
    );
    let read = graph.get_application(&app.id).await.expect("get");
    assert_eq!(read.password_credentials, vec![new.credential.clone()]);
    let by_app_id = graph
        .get_application_by_app_id(&app.app_id)
        .await
        .expect("by app id");
    assert_eq!(by_app_id.id, app.id);

    let sp = graph
        .create_service_principal(&app.app_id)
        .await
        .expect("sp");
    assert_eq!(sp.service_principal_names, vec![app.app_id.clone()]);
    let found = graph
        .list_service_principals(Some(&format!(
            "servicePrincipalNames/any(c:c eq '{}')",
            app.app_id
        )))
        .await
        .expect("list");
    assert_eq!(found.len(), 1);
    assert_eq!(
        graph
            .get_service_principal_by_app_id(&app.app_id)
            .await
            .expect("sp")
            .id,
        sp.id
    );

    let credential = env.credential(&app.app_id, new.secret.expose());
    let token = credential
        .get_token("https://graph.microsoft.com/.default")
        .await
        .expect("token");
    assert!(token.secret().starts_with("eyJ"));

    graph
        .update_application(&app.id, serde_json::json!({"displayName": "renamed"}))
        .await
        .expect("patch");
    let listed = graph
        .list_applications(Some("displayName eq 'renamed'"))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    graph
        .remove_password(&app.id, &new.credential.key_id)
        .await
        .expect("remove");
    let refused = env.credential(&app.app_id, new.secret.expose());
    let err = refused
        .get_token("https://graph.microsoft.com/.default")
        .await
        .expect_err("secret removed");
    assert_eq!(err.aadsts(), Some(7000215));
    assert_eq!(err.code(), Some("invalid_client"));

    graph.delete_application(&app.id).await.expect("delete");
    graph.purge_deleted(&app.id).await.expect("purge");
    let err = graph.purge_deleted(&app.id).await.expect_err("purged");
    assert!(err.is_not_found(), "{err}");
    let err = graph.get_application(&app.id).await.expect_err("gone");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("Request_ResourceNotFound"));
    assert!(
        err.service_error()
            .and_then(|e| e.request_id.as_deref())
            .is_some()
    );
}

#[tokio::test]
async fn paging_follows_next_links() {
    let env = TestEnv::new().await;
    let graph = env.admin.graph();
    for i in 0..105 {
        graph
            .create_application(&format!("many-{i:03}"))
            .await
            .expect("create");
    }
    let all = graph
        .list_applications(Some("startswith(displayName,'many-')"))
        .await
        .expect("list");
    assert_eq!(all.len(), 105, "two pages of the default size 100");
    assert_eq!(all[104].display_name, "many-104");
}

#[tokio::test]
async fn concurrent_callers_share_one_token_and_invalidate_refetches() {
    let env = TestEnv::new().await;
    let credential = Arc::new(TestEnv::credential_for(&env.emu, &env.cloud));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = credential.clone();
            tokio::spawn(async move {
                c.get_token("https://management.azure.com/.default")
                    .await
                    .map(|t| t.secret().to_owned())
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.expect("join").expect("token"));
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every caller got the one token fetched");
    credential.invalidate("https://management.azure.com/.default");
    let fresh = credential
        .get_token("https://management.azure.com/.default")
        .await
        .expect("token");
    assert_ne!(fresh.secret(), tokens[0]);
}

#[tokio::test]
async fn a_token_the_server_no_longer_accepts_is_refreshed_once() {
    let env = TestEnv::new().await;
    let graph = env.admin.graph();
    graph
        .list_applications(None)
        .await
        .expect("first call caches a token");
    // The emulator's clock passes the cached token's expiry; the client's does not.
    env.emu.advance_clock(Duration::from_secs(2 * 3600));
    graph
        .list_applications(None)
        .await
        .expect("401, refresh, retry");
}

#[tokio::test]
async fn wrong_audience_and_missing_roles_surface_as_service_errors() {
    let env = TestEnv::new().await;
    let graph = env.admin.graph();
    let app = graph.create_application("weak").await.expect("app");
    let secret = graph
        .add_password(&app.id, &SecretOptions::default())
        .await
        .expect("secret");
    graph
        .create_service_principal(&app.app_id)
        .await
        .expect("sp");
    let weak = AzureClient::new(
        env.cloud.clone(),
        env.credential(&app.app_id, secret.secret.expose()),
    )
    .expect("client");
    let err = weak
        .graph()
        .list_applications(None)
        .await
        .expect_err("no Graph role");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(err.code(), Some("Authorization_RequestDenied"));
}

/// Serves 429 (with `Retry-After: 0`) `throttle` times, then an empty Graph page.
async fn throttling_server(throttle: usize) -> (String, Arc<AtomicUsize>) {
    use axum::http::{HeaderMap, StatusCode};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/v1.0/applications",
        axum::routing::get(move || {
            let counter = counter.clone();
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let mut headers = HeaderMap::new();
                if n < throttle {
                    headers.insert("retry-after", "0".parse().expect("hv"));
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        headers,
                        r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#.to_owned(),
                    );
                }
                (StatusCode::OK, headers, r#"{"value":[]}"#.to_owned())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[derive(Debug)]
struct FixedToken;

impl TokenCredential for FixedToken {
    fn get_token<'a>(&'a self, _scope: &'a str) -> TokenFuture<'a> {
        Box::pin(async { Ok(fixed_token()) })
    }
}

fn fixed_token() -> AccessToken {
    AccessToken::new(
        "t",
        time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    )
}

#[tokio::test]
async fn throttling_is_retried_within_the_policy() {
    let (url, hits) = throttling_server(2).await;
    let client = AzureClient::new(Cloud::emulator(&url), FixedToken).expect("client");
    assert!(
        client
            .graph()
            .list_applications(None)
            .await
            .expect("retried")
            .is_empty()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let (url, hits) = throttling_server(5).await;
    let strict = AzureClient::with_retry(Cloud::emulator(&url), FixedToken, RetryPolicy::none())
        .expect("client");
    let err = strict
        .graph()
        .list_applications(None)
        .await
        .expect_err("no retries");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.code(), Some("TooManyRequests"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Keeps every exchange.
#[derive(Debug, Default)]
struct Tape(std::sync::Mutex<Vec<entra_client::Exchange>>);

impl entra_client::Recorder for Tape {
    fn record(&self, exchange: entra_client::Exchange) {
        self.0.lock().expect("tape").push(exchange);
    }
}

#[tokio::test]
async fn a_recorder_sees_token_and_service_exchanges() {
    let emu = Emulator::start().await.expect("emulator");
    let cloud = Cloud::emulator(emu.url());
    let tape = Arc::new(Tape::default());
    let credential = TestEnv::credential_for(&emu, &cloud).with_recorder(tape.clone());
    let client = AzureClient::new(cloud, credential)
        .expect("client")
        .with_recorder(tape.clone());
    let err = client
        .graph()
        .get_application(&uuid::Uuid::new_v4().to_string())
        .await
        .expect_err("404");
    assert!(err.is_not_found());
    let tape = tape.0.lock().expect("tape");
    let summary: Vec<(String, u16)> = tape
        .iter()
        .map(|e| {
            (
                format!(
                    "{} {}",
                    e.method,
                    e.url.rsplit('/').next().unwrap_or_default()
                ),
                e.status,
            )
        })
        .collect();
    assert_eq!(summary.len(), 2, "{summary:?}");
    assert_eq!(summary[0], ("POST token".to_owned(), 200));
    assert_eq!(summary[1].1, 404);
    assert!(
        tape[1]
            .request_headers
            .iter()
            .any(|(k, v)| k == "authorization" && v.starts_with("Bearer "))
    );
    assert!(String::from_utf8_lossy(&tape[1].response_body).contains("Request_ResourceNotFound"));
}

#[tokio::test]
async fn arm_resource_groups_resources_and_role_assignments() {
    let env = TestEnv::new().await;
    let arm = env.admin.arm();
    let sub = env.emu.subscription_id().to_string();
    let subs = arm.list_subscriptions().await.expect("subscriptions");
    assert!(subs.iter().any(|s| s.subscription_id == sub));

    let rg = arm
        .create_resource_group(&sub, "client-rg", "eastus", None)
        .await
        .expect("rg");
    assert_eq!(rg.resource_type, "Microsoft.Resources/resourceGroups");
    assert_eq!(
        arm.get_resource_group(&sub, "client-rg")
            .await
            .expect("get")
            .id,
        rg.id
    );
    assert!(
        arm.list_resource_groups(&sub)
            .await
            .expect("list")
            .iter()
            .any(|g| g.name == "client-rg")
    );
    let ws_id = format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/client-ws",
        rg.id
    );
    let ws = arm
        .put_resource(
            &ws_id,
            "2022-10-01",
            &serde_json::json!({"location": "eastus", "properties": {}}),
        )
        .await
        .expect("workspace");
    assert!(
        ws.properties["customerId"].is_string(),
        "{:?}",
        ws.properties
    );
    assert_eq!(
        arm.list_resources_in_group(&sub, "client-rg")
            .await
            .expect("resources")
            .len(),
        1
    );

    let graph = env.admin.graph();
    let app = graph.create_application("arm-client").await.expect("app");
    let sp = graph
        .create_service_principal(&app.app_id)
        .await
        .expect("sp");
    let reader = arm
        .role_definition_by_name(&rg.id, "Reader")
        .await
        .expect("lookup")
        .expect("Reader exists");
    assert_eq!(reader.name, "acdd72a7-3385-48ef-bd42-f606fba81ae7");
    assert!(
        arm.role_definition_by_name(&rg.id, "No Such Role")
            .await
            .expect("lookup")
            .is_none()
    );

    // Without principalType ARM looks the new principal up and does not find it yet.
    let err = arm
        .create_role_assignment(&rg.id, &reader.id, &sp.id, None)
        .await
        .expect_err("replicating");
    assert!(err.is_principal_not_found(), "{err}");
    let assignment = arm
        .create_role_assignment(&rg.id, &reader.id, &sp.id, Some("ServicePrincipal"))
        .await
        .expect("assign");
    assert_eq!(
        assignment.properties.created_by, None,
        "null in the PUT answer, as ARM does"
    );
    let again = arm
        .create_role_assignment(&rg.id, &reader.id, &sp.id, Some("ServicePrincipal"))
        .await
        .expect_err("duplicate");
    assert!(again.is_conflict());
    assert_eq!(again.code(), Some("RoleAssignmentExists"));
    let read = arm.get_role_assignment(&assignment.id).await.expect("get");
    assert!(read.properties.created_by.is_some(), "set on later reads");
    let mine = arm
        .list_role_assignments(
            &format!("/subscriptions/{sub}"),
            &entra_client::arm::AssignmentFilter::PrincipalId(sp.id.clone()),
        )
        .await
        .expect("list");
    assert_eq!(mine.len(), 1);
    assert!(
        arm.delete_role_assignment(&assignment.id)
            .await
            .expect("delete")
            .is_some()
    );
    assert!(
        arm.delete_role_assignment(&assignment.id)
            .await
            .expect("delete again")
            .is_none()
    );

    // A tool's own api-version for role assignments, and the reads that render one.
    let pinned = arm.clone().with_authorization_api("2020-08-01-preview");
    let second = pinned
        .create_role_assignment(&rg.id, &reader.id, &sp.id, Some("ServicePrincipal"))
        .await
        .expect("assign with a pinned api-version");
    let bad_version = arm
        .clone()
        .with_authorization_api("1999-01-01")
        .get_role_assignment(&second.id)
        .await
        .expect_err("unknown api-version");
    assert_eq!(bad_version.code(), Some("InvalidResourceType"));
    let definition = arm
        .get_role_definition(&second.properties.role_definition_id)
        .await
        .expect("definition by id");
    assert_eq!(definition.properties.role_name, "Reader");
    let missing = arm
        .get_role_definition(&format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}",
            uuid::Uuid::new_v4()
        ))
        .await
        .expect_err("no such definition");
    assert_eq!(missing.code(), Some("RoleDefinitionDoesNotExist"));
    let found = graph
        .get_by_ids(&[&sp.id, &app.id], &["servicePrincipal"])
        .await
        .expect("getByIds");
    assert_eq!(found.len(), 1, "only the principal, as asked: {found:?}");
    assert_eq!(found[0]["id"], sp.id.as_str());
    let err = graph
        .get_by_ids(&["not-a-guid"], &[])
        .await
        .expect_err("invalid id");
    assert_eq!(err.code(), Some("Request_BadRequest"));

    arm.delete_resource_group(&sub, "client-rg", Duration::from_secs(30))
        .await
        .expect("delete rg");
    let gone = arm
        .get_resource_group(&sub, "client-rg")
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Some("ResourceGroupNotFound"));
}

#[tokio::test]
async fn create_for_rbac_then_wait_for_access_on_the_emulator_clock() {
    use entra_client::workflows::{
        EmulatorClock, Patience, RoleAtScopes, create_for_rbac, wait_for_access,
    };
    let env = TestEnv::new().await;
    let sub = env.emu.subscription_id().to_string();
    let rg = env
        .admin
        .arm()
        .create_resource_group(&sub, "rbac-rg", "westeurope", None)
        .await
        .expect("rg");
    let clock = EmulatorClock::new(&env.cloud).expect("clock");
    let patience = Patience {
        interval: Duration::from_secs(5),
        tries: 3,
    };
    let scopes = vec![rg.id.clone()];
    let created = create_for_rbac(
        &env.admin,
        "ci-deployer",
        Some(RoleAtScopes {
            role: "Reader",
            scopes: &scopes,
        }),
        1,
        &clock,
        &patience,
    )
    .await
    .expect("create-for-rbac");
    assert_eq!(created.tenant, env.emu.tenant_id().to_string());
    assert_eq!(created.role_assignments.len(), 1);
    assert_eq!(created.password.expose().len(), 40);

    let sp_client = AzureClient::new(
        env.cloud.clone(),
        env.credential(&created.app_id, created.password.expose()),
    )
    .expect("client");
    let arm = sp_client.arm();
    let access = wait_for_access(
        &clock,
        Duration::from_secs(30),
        Duration::from_secs(300),
        Duration::from_secs(3600),
        || arm.get_resource_group(&sub, "rbac-rg"),
    )
    .await
    .expect("access arrives once the assignment has propagated");
    assert!(
        access.denied >= 1,
        "the first read was refused while propagating"
    );
    assert!(
        access.waited >= Duration::from_secs(60),
        "{:?}",
        access.waited
    );
    assert_eq!(access.value.id, rg.id);

    // Running it again reuses the registration and replaces its secret.
    let again = create_for_rbac(&env.admin, "ci-deployer", None, 1, &clock, &patience)
        .await
        .expect("again");
    assert_eq!(again.app_id, created.app_id);
    let old = env.credential(&created.app_id, created.password.expose());
    let err = old
        .get_token("https://management.azure.com/.default")
        .await
        .expect_err("old secret removed");
    assert_eq!(err.aadsts(), Some(7000215));
}

#[tokio::test]
async fn wait_for_access_gives_up_at_its_deadline() {
    use entra_client::workflows::{EmulatorClock, wait_for_access};
    let env = TestEnv::new().await;
    let graph = env.admin.graph();
    let app = graph
        .create_application("never-granted")
        .await
        .expect("app");
    let secret = graph
        .add_password(&app.id, &SecretOptions::default())
        .await
        .expect("secret");
    graph
        .create_service_principal(&app.app_id)
        .await
        .expect("sp");
    let client = AzureClient::new(
        env.cloud.clone(),
        env.credential(&app.app_id, secret.secret.expose()),
    )
    .expect("client");
    let sub = env.emu.subscription_id().to_string();
    let clock = EmulatorClock::new(&env.cloud).expect("clock");
    let arm = client.arm();
    let err = wait_for_access(
        &clock,
        Duration::from_secs(60),
        Duration::from_secs(60),
        Duration::from_secs(300),
        || arm.list_resource_groups(&sub),
    )
    .await
    .expect_err("no role, no access");
    assert!(matches!(err, entra_client::Error::Timeout { .. }), "{err}");
    assert!(err.is_propagation_denied(), "the last error is kept: {err}");
}

#[tokio::test]
async fn the_token_endpoint_answers_each_request_as_sent() {
    use entra_client::{TokenApi, TokenEndpoint, TokenRequest};
    let emu = Emulator::start().await.expect("emulator");
    let cloud = Cloud::emulator(emu.url());
    let tape = Arc::new(Tape::default());
    let endpoint = TokenEndpoint::new(&cloud)
        .expect("endpoint")
        .with_recorder(tape.clone());
    let tenant = emu.tenant_id().to_string();
    let admin = emu.admin();
    let request = TokenRequest::client_credentials(
        admin.client_id.to_string(),
        ClientSecret::new(admin.client_secret.expose()),
    );

    let v1 = endpoint
        .request(
            TokenApi::V1,
            &tenant,
            &request.clone().resource("https://management.azure.com/"),
        )
        .await
        .expect("v1 token");
    assert_eq!(
        (v1.token_type.as_str(), v1.expires_in),
        ("Bearer", 3599),
        "v1's string numbers are read as numbers"
    );
    assert_eq!(
        v1.resource.as_deref(),
        Some("https://management.azure.com/")
    );

    let v2 = endpoint
        .request(
            TokenApi::V2,
            &tenant,
            &request
                .clone()
                .scope("https://graph.microsoft.com/.default"),
        )
        .await
        .expect("v2 token");
    assert_eq!(v2.expires_in, 3599);
    assert_ne!(v2.access_token.secret(), v1.access_token.secret());

    let missing_scope = endpoint
        .request(TokenApi::V2, &tenant, &request)
        .await
        .expect_err("no scope");
    assert_eq!(missing_scope.aadsts(), Some(900144));
    let no_grant = TokenRequest {
        grant_type: None,
        ..request.clone()
    };
    let err = endpoint
        .request(TokenApi::V2, "not_a_tenant", &no_grant)
        .await
        .expect_err("malformed tenant");
    assert_eq!(err.aadsts(), Some(900023));

    let tape = tape.0.lock().expect("tape");
    let statuses: Vec<u16> = tape.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [200, 200, 400, 400], "one exchange per call");
    assert!(tape[3].url.ends_with("/not_a_tenant/oauth2/v2.0/token"));
}

#[tokio::test]
async fn monitor_publish_and_read_metrics_and_query_a_workspace() {
    use entra_client::monitor::{CustomMetric, MetricSeries};
    use entra_client::workflows::{
        EmulatorClock, Patience, RoleAtScopes, create_for_rbac, wait_for_access,
    };
    let env = TestEnv::new().await;
    let arm = env.admin.arm();
    let sub = env.emu.subscription_id().to_string();
    let rg = arm
        .create_resource_group(&sub, "mon-rg", "westeurope", None)
        .await
        .expect("rg");
    let site = format!("{}/providers/Microsoft.Web/sites/shop", rg.id);
    arm.put_resource(
        &site,
        "2022-03-01",
        &serde_json::json!({"location": "westeurope", "properties": {}}),
    )
    .await
    .expect("site");
    let ws_id = format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/mon-ws",
        rg.id
    );
    let ws = arm
        .put_resource(
            &ws_id,
            "2022-10-01",
            &serde_json::json!({"location": "westeurope", "properties": {}}),
        )
        .await
        .expect("workspace");
    let customer_id = ws.properties["customerId"]
        .as_str()
        .expect("customerId")
        .to_owned();

    let clock = EmulatorClock::new(&env.cloud).expect("clock");
    let patience = Patience {
        interval: Duration::from_secs(5),
        tries: 3,
    };
    let scopes = vec![site.clone()];
    let publisher = create_for_rbac(
        &env.admin,
        "publisher",
        Some(RoleAtScopes {
            role: "Monitoring Metrics Publisher",
            scopes: &scopes,
        }),
        1,
        &clock,
        &patience,
    )
    .await
    .expect("publisher");
    let as_publisher = AzureClient::new(
        env.cloud.clone(),
        env.credential(&publisher.app_id, publisher.password.expose()),
    )
    .expect("client");
    let monitor = as_publisher.monitor();
    let time = env
        .emu
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let metric = CustomMetric {
        time,
        metric: "QueueDepth".into(),
        namespace: "Shop".into(),
        dim_names: vec!["Queue".into()],
        series: vec![MetricSeries {
            dim_values: vec!["orders".into()],
            min: 3.0,
            max: 9.0,
            sum: 12.0,
            count: 2,
        }],
    };
    let first = monitor
        .publish_metric("westeurope", &site, &metric)
        .await
        .expect_err("not propagated yet");
    assert!(first.is_propagation_denied(), "{first}");
    let access = wait_for_access(
        &clock,
        Duration::from_secs(60),
        Duration::from_secs(300),
        Duration::from_secs(3600),
        || monitor.publish_metric("westeurope", &site, &metric),
    )
    .await
    .expect("published once the role propagated");
    assert!(access.denied >= 1);

    // The admin (Owner: */read) reads it back through ARM.
    let read = env
        .admin
        .monitor()
        .read_metrics(
            &site,
            "metricnames=QueueDepth&metricnamespace=Shop&timespan=PT1H&aggregation=Total",
        )
        .await
        .expect("read metrics");
    let totals: Vec<f64> = read["value"][0]["timeseries"][0]["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|p| p["total"].as_f64())
        .collect();
    assert_eq!(totals, vec![12.0], "{read}");

    // The admin holds no Log Analytics data role, but Owner grants the query action. A
    // workspace without data still answers `print` (the query is resolved first).
    let printed = env
        .admin
        .monitor()
        .query_workspace(&customer_id, "print n = 1", None)
        .await
        .expect("print in a workspace without data");
    assert_eq!(printed.tables.len(), 1);
    assert_eq!(printed.tables[0].rows, vec![vec![serde_json::json!(1)]]);
}

#[tokio::test]
async fn the_emulator_clock_sends_the_admin_token_the_control_api_requires() {
    use entra_client::workflows::{EmulatorClock, Waiter};
    let emu = Emulator::builder()
        .admin_token("clock-test-token")
        .start()
        .await
        .expect("emulator");
    let cloud = Cloud::emulator(emu.url());
    let before = emu.now();
    let refused = EmulatorClock::new(&cloud)
        .expect("clock")
        .wait(Duration::from_secs(3600))
        .await
        .expect_err("no token");
    assert!(refused.to_string().contains("401"), "{refused}");
    assert!(
        emu.now() - before < time::Duration::minutes(30),
        "not moved"
    );
    EmulatorClock::new(&cloud)
        .expect("clock")
        .with_admin_token(ClientSecret::new("clock-test-token"))
        .wait(Duration::from_secs(3600))
        .await
        .expect("with the token");
    assert!(
        emu.now() - before >= time::Duration::hours(1),
        "moved an hour"
    );
}
/// The README's in-process example, verbatim (the README quotes the file).
mod readme;

#[tokio::test]
async fn managed_identity_credentials_get_tokens_from_imds_and_app_service() {
    use entra_client::{ManagedIdentityCredential, ManagedIdentityId};
    let env = TestEnv::new().await;
    let arm = env.admin.arm();
    let sub = env.emu.subscription_id().to_string();
    let rg = arm
        .create_resource_group(&sub, "mi-rg", "eastus", None)
        .await
        .expect("rg");
    let uai = arm
        .put_resource(
            &format!(
                "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/worker",
                rg.id
            ),
            "2023-01-31",
            &serde_json::json!({"location": "eastus"}),
        )
        .await
        .expect("identity");
    let principal = uai.properties["principalId"].as_str().expect("principal");
    let client_id = uai.properties["clientId"].as_str().expect("client");
    let reader = arm
        .role_definition_by_name(&rg.id, "Reader")
        .await
        .expect("reader")
        .expect("Reader exists");
    arm.create_role_assignment(&rg.id, &reader.id, principal, Some("ServicePrincipal"))
        .await
        .expect("assignment");
    env.emu.advance_clock(Duration::from_secs(3600));

    let imds = ManagedIdentityCredential::imds(
        &env.cloud,
        env.emu.url(),
        ManagedIdentityId::ClientId(client_id.to_owned()),
    )
    .expect("credential");
    let as_identity = AzureClient::new(env.cloud.clone(), imds).expect("client");
    let got = as_identity
        .arm()
        .get_resource_group(&sub, "mi-rg")
        .await
        .expect("read as the identity");
    assert_eq!(got.id, rg.id);

    let info: serde_json::Value =
        reqwest::get(format!("{}/_emulator/managed-identity", env.emu.url()))
            .await
            .expect("control")
            .json()
            .await
            .expect("json");
    let app_service = ManagedIdentityCredential::app_service(
        &env.cloud,
        info["identityEndpoint"].as_str().expect("endpoint"),
        info["identityHeader"].as_str().expect("header"),
        ManagedIdentityId::ObjectId(principal.to_owned()),
    )
    .expect("credential");
    let token = app_service
        .get_token("https://management.azure.com/.default")
        .await
        .expect("token");
    assert!(token.expires_on > time::OffsetDateTime::now_utc() + time::Duration::hours(23));
    // A wrong header: the endpoint's error surfaces as a service error.
    let wrong = ManagedIdentityCredential::app_service(
        &env.cloud,
        info["identityEndpoint"].as_str().expect("endpoint"),
        "wrong",
        ManagedIdentityId::SystemAssigned,
    )
    .expect("credential");
    let err = wrong
        .get_token("https://management.azure.com/.default")
        .await
        .expect_err("refused");
    assert_eq!(err.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
}

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

//! Getting tokens with a client secret from both endpoints, and every way it is refused.

use std::time::Duration;

use entra_client::graph::SecretOptions;
use entra_client::{ClientSecret, TokenApi, TokenRequest};
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use entra_conformance::shape::decode_jwt;
use serde_json::json;

use super::{ARM_SCOPE, add_secret, credentials, iso_seconds, refused, register, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![token_success, token_failures]
}

/// A client id no tenant has.
const UNKNOWN_CLIENT: &str = "0c0ffee0-0000-4000-8000-00000000c0de";
/// A well-formed tenant id no directory has.
const UNKNOWN_TENANT: &str = "0c0ffee0-0000-4000-8000-00000000beef";

async fn token_success(s: &Scenario) {
    let graph = s.admin().graph();
    let (client, client_sp) = register(s, "token-client").await;
    s.label(&client.app_id, "client-app-id");
    s.label(&client_sp.id, "client-sp-object-id");
    let secret = add_secret(s, &client, SecretOptions::default()).await;
    let secret = secret.secret.expose();

    // v1 endpoint: `resource`, string numbers; ARM tokens are v1 tokens.
    let v1 = token(
        s,
        TokenApi::V1,
        &credentials(&client.app_id, secret).resource("https://management.azure.com/"),
    )
    .await;
    let (_, claims) = decode_jwt(v1.access_token.secret()).expect("JWT");
    assert_eq!(claims["aud"], "https://management.azure.com/");
    assert_eq!(claims["ver"], "1.0");

    // v2 endpoint, the same resource: still a v1 token, `aud` as requested.
    let v2 = token(
        s,
        TokenApi::V2,
        &credentials(&client.app_id, secret).scope(ARM_SCOPE),
    )
    .await;
    let (_, claims) = decode_jwt(v2.access_token.secret()).expect("JWT");
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["oid"], client_sp.id.as_str());

    // An API registered in the tenant that asks for v2 tokens gets them.
    let (api, _) = register(s, "token-api").await;
    s.label(&api.app_id, "api-app-id");
    let uri = format!("api://{}", api.app_id);
    graph
        .update_application(
            &api.id,
            json!({"identifierUris": [uri], "api": {"requestedAccessTokenVersion": 2}}),
        )
        .await
        .expect("expose the API");
    let for_api = token(
        s,
        TokenApi::V2,
        &credentials(&client.app_id, secret).scope(format!("{uri}/.default")),
    )
    .await;
    let (_, claims) = decode_jwt(for_api.access_token.secret()).expect("JWT");
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["aud"], api.app_id.as_str());
    assert_eq!(claims["azp"], client.app_id.as_str());
}

async fn token_failures(s: &Scenario) {
    let graph = s.admin().graph();
    let (client, _) = register(s, "token-failures").await;
    s.label(&client.app_id, "client-app-id");
    let good = add_secret(s, &client, SecretOptions::default()).await;
    let good = good.secret.expose().to_owned();
    // Known to work before anything is refused (on Azure, replication is over).
    token(
        s,
        TokenApi::V2,
        &credentials(&client.app_id, &good).scope(ARM_SCOPE),
    )
    .await;

    let tenant = s.tenant_id().to_owned();
    let arm = |request: TokenRequest, api: TokenApi| match api {
        TokenApi::V1 => request.resource("https://management.azure.com/"),
        TokenApi::V2 => request.scope(ARM_SCOPE),
    };
    let both = [TokenApi::V2, TokenApi::V1];
    for api in both {
        let ok = || credentials(&client.app_id, &good);
        let unknown_resource = match api {
            TokenApi::V1 => ok().resource("https://unknown-resource.example.com"),
            TokenApi::V2 => ok().scope("https://unknown-resource.example.com/.default"),
        };
        let rows: Vec<(&str, TokenRequest, u64)> = vec![
            (
                &tenant,
                arm(credentials(&client.app_id, "conformance-wrong-secret"), api),
                7000215,
            ),
            (
                &tenant,
                arm(credentials(UNKNOWN_CLIENT, &good), api),
                700016,
            ),
            (UNKNOWN_TENANT, arm(ok(), api), 90002),
            ("not_a_tenant", arm(ok(), api), 900023),
            (&tenant, unknown_resource, 500011),
            (
                &tenant,
                arm(
                    TokenRequest {
                        grant_type: None,
                        ..ok()
                    },
                    api,
                ),
                900144,
            ),
            // No `scope` (v2) or `resource` (v1).
            (&tenant, ok(), 900144),
            (
                &tenant,
                arm(
                    TokenRequest {
                        grant_type: Some("urn:conformance:unsupported".into()),
                        ..ok()
                    },
                    api,
                ),
                70003,
            ),
        ];
        for (tenant, request, aadsts) in rows {
            refused(s, api, tenant, &request, aadsts).await;
        }
    }
    // Scopes only the v2 endpoint takes.
    let v2 = |scope: &str| credentials(&client.app_id, &good).scope(scope);
    refused(
        s,
        TokenApi::V2,
        &tenant,
        &v2("https://graph.microsoft.com/User.Read"),
        1002012,
    )
    .await;
    refused(
        s,
        TokenApi::V2,
        &tenant,
        &v2("https://graph.microsoft.com/.default https://management.azure.com/.default"),
        70011,
    )
    .await;

    // An application without a service principal cannot sign in.
    let lonely = graph
        .create_application(&s.unique_name("token-no-sp"))
        .await
        .expect("register without a service principal");
    s.delete_later(&lonely.id);
    s.label(&lonely.app_id, "lonely-app-id");
    let lonely_secret = add_secret(s, &lonely, SecretOptions::default()).await;
    let lonely_secret = lonely_secret.secret.expose().to_owned();
    for api in both {
        refused(
            s,
            api,
            &tenant,
            &arm(credentials(&lonely.app_id, &lonely_secret), api),
            7000229,
        )
        .await;
    }

    // A secret past its end date.
    let end = s.now().await + time::Duration::minutes(2);
    let short = add_secret(
        s,
        &client,
        SecretOptions {
            end_date_time: Some(iso_seconds(end)),
            ..SecretOptions::default()
        },
    )
    .await;
    let short = ClientSecret::new(short.secret.expose());
    token(
        s,
        TokenApi::V2,
        &arm(
            TokenRequest::client_credentials(client.app_id.as_str(), short.clone()),
            TokenApi::V2,
        ),
    )
    .await;
    s.wait(Duration::from_secs(180)).await;
    for api in both {
        let request = arm(
            TokenRequest::client_credentials(client.app_id.as_str(), short.clone()),
            api,
        );
        refused(s, api, &tenant, &request, 7000222).await;
    }
}

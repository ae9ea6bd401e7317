//! Workload identity federation. In Graph: federated identity credentials created as
//! `az ad app federated-credential create` posts them (Azure/azure-cli `role/tests/latest/
//! recordings/test_app_federated_credential.yaml` @ 3fde2faa), listed, and refused when the
//! issuer and subject repeat (Azure/azure-workload-identity issue 434) or the audiences are
//! not exactly one (Entra's workload identity considerations page). At the token endpoint:
//! GitHub Actions' OIDC token exchanged for an Entra token, and refused for another subject
//! (AADSTS700213) or audience (AADSTS700212). The exchange needs an issuer Entra can reach:
//! on the emulator its built-in test issuer; against Azure the scenario skips itself.

use entra_client::{ClientSecret, TokenApi, TokenRequest};
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use entra_conformance::shape::decode_jwt;
use serde_json::{Value, json};

use super::{ARM_SCOPE, refused, register, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![federated_credentials_graph, github_actions_oidc_exchange]
}

const EXCHANGE: &str = "api://AzureADTokenExchange";

async fn federated_credentials_graph(s: &Scenario) {
    let graph = s.admin().graph();
    let (app, _) = register(s, "fic").await;
    s.label(&app.app_id, "app-id");
    s.label(&app.id, "object-id");
    let body = json!({"name": "Testing", "issuer": "https://token.actions.githubusercontent.com/",
        "subject": "repo:octo-org/octo-repo:environment:Production", "description": "Testing",
        "audiences": [EXCHANGE]});
    let created = graph
        .add_federated_credential(&app.id, body.clone())
        .await
        .expect("create the federated credential");
    s.label(created["id"].as_str().expect("id"), "credential-id");
    let listed = graph
        .list_federated_credentials(&app.id)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    let mut again = body.clone();
    again["name"] = json!("Again");
    let duplicate = graph
        .add_federated_credential(&app.id, again)
        .await
        .expect_err("the same issuer and subject");
    assert_eq!(
        duplicate.service_error().and_then(|e| e.code.as_deref()),
        Some("InvalidFederatedIdentityCredentialValue")
    );
    let mut two = body;
    two["name"] = json!("TwoAudiences");
    two["subject"] = json!("repo:octo-org/octo-repo:ref:refs/heads/main");
    two["audiences"] = json!([EXCHANGE, "api://other"]);
    graph
        .add_federated_credential(&app.id, two)
        .await
        .expect_err("two audiences");
    graph
        .delete_federated_credential(&app.id, "Testing")
        .await
        .expect("delete by name");
}

async fn github_actions_oidc_exchange(s: &Scenario) {
    let Some(base) = s.target().emulator_base().map(str::to_owned) else {
        s.skip("needs the emulator's built-in test issuer (Entra cannot reach one offline)");
        return;
    };
    let issuer = format!("{base}/_emulator/issuer");
    s.label(&issuer, "issuer");
    let graph = s.admin().graph();
    let (app, sp) = register(s, "gha").await;
    s.label(&app.app_id, "app-id");
    s.label(&sp.id, "sp-object-id");
    let subject = "repo:org/repo:ref:refs/heads/main";
    graph
        .add_federated_credential(
            &app.id,
            json!({"name": "main", "issuer": issuer, "subject": subject, "audiences": [EXCHANGE]}),
        )
        .await
        .expect("trust the issuer");
    let mint = |body: Value| async move {
        let minted = s.target().issuer_token(&body).await.expect("mint");
        minted["token"].as_str().expect("token").to_owned()
    };
    let request = |t: String| {
        TokenRequest::client_assertion(app.app_id.as_str(), ClientSecret::new(t)).scope(ARM_SCOPE)
    };
    let gh = mint(
        json!({"subject": subject, "claims": {"repository": "org/repo", "ref": "refs/heads/main"}}),
    )
    .await;
    let issued = token(s, TokenApi::V2, &request(gh)).await;
    let (_, claims) = decode_jwt(issued.access_token.secret()).expect("JWT");
    assert_eq!(claims["appid"], app.app_id.as_str());
    assert_eq!(claims["oid"], sp.id.as_str());
    let tenant = s.tenant_id().to_owned();
    let pull_request = mint(json!({"subject": "repo:org/repo:pull_request"})).await;
    refused(s, TokenApi::V2, &tenant, &request(pull_request), 700213).await;
    let other_audience =
        mint(json!({"subject": subject, "audience": "https://github.com/org"})).await;
    refused(s, TokenApi::V2, &tenant, &request(other_audience), 700212).await;
}

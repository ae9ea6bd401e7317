//! `az ad sp create-for-rbac`: the Graph calls the Azure CLI makes, in its order and with its
//! bodies (azure-cli `role/custom.py`), the JSON it prints, and signing in with it as
//! `az login --service-principal` does. With `--role`/`--scopes` the CLI goes on to ARM: it
//! looks the role up by name at the scope, then assigns it to the new service principal.

use entra_client::TokenApi;
use entra_client::graph::{NewSecret, SecretOptions, ServicePrincipal};
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use serde_json::json;

use super::{credentials, iso_seconds, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![create_for_rbac_without_role, create_for_rbac_with_role]
}

async fn create_for_rbac_without_role(s: &Scenario) {
    let name = s.unique_name("rbac");
    let (app_id, secret, _) = graph_half(s, &name).await;
    print_and_sign_in(s, &app_id, &name, &secret).await;
}

/// `az ad sp create-for-rbac -n … --role Reader --scopes /subscriptions/…/resourceGroups/…`.
async fn create_for_rbac_with_role(s: &Scenario) {
    let group = s.unique_name("rbac-rg");
    let rg = s
        .admin()
        .arm()
        .create_resource_group(&s.target().subscription_id, &group, super::REGION, None)
        .await
        .expect("create the resource group");
    s.delete_group_later(&group);
    let name = s.unique_name("rbac");
    let (app_id, secret, sp) = graph_half(s, &name).await;

    // `role/custom.py` resolves the role's id by name at the scope, with its own api-version.
    let arm = s.admin().arm();
    let role = arm
        .role_definition_by_name(&rg.id, "Reader")
        .await
        .expect("look the role up")
        .expect("Reader exists");
    assert_eq!(role.name, super::READER);
    // It retries while the new principal replicates; `principalType` makes that rare.
    let (arm_ref, role_id, sp_id, scope) = (&arm, role.id.as_str(), sp.id.as_str(), &rg.id);
    let assignment = s
        .eventually("assign the role", || async move {
            arm_ref
                .create_role_assignment(scope, role_id, sp_id, Some("ServicePrincipal"))
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    s.label(&assignment.name, "assignment-name");
    assert_eq!(assignment.properties.principal_id, sp.id);
    assert_eq!(assignment.properties.scope, rg.id);
    assert_eq!(
        assignment.properties.created_by, None,
        "null on the PUT answer"
    );

    print_and_sign_in(s, &app_id, &name, &secret).await;
}

/// The Graph calls: look for an existing principal and app, register the app, add the
/// password, create the service principal. Returns the app id, the secret and the principal.
async fn graph_half(s: &Scenario, name: &str) -> (String, NewSecret, ServicePrincipal) {
    let graph = s.admin().graph();

    // An existing service principal or application of that name would be reused.
    let sps = graph
        .list_service_principals(Some(&format!("displayName eq '{name}'")))
        .await
        .expect("look for the service principal");
    assert!(sps.is_empty());
    let apps = graph
        .list_applications(Some(&format!("startswith(displayName,'{name}')")))
        .await
        .expect("look for the application");
    assert!(apps.is_empty());

    let app = graph
        .create_application_with(json!({"displayName": name, "keyCredentials": []}))
        .await
        .expect("create the application");
    s.delete_later(&app.id);
    s.label(&app.id, "app-object-id");
    s.label(&app.app_id, "app-id");

    // `--years` defaults to 1; the CLI sends whole seconds.
    let start = s.now().await;
    let end = super::a_year_after(start);
    let secret = graph
        .add_password(
            &app.id,
            &SecretOptions {
                display_name: Some("rbac".into()),
                start_date_time: Some(iso_seconds(start)),
                end_date_time: Some(iso_seconds(end)),
                ..SecretOptions::default()
            },
        )
        .await
        .expect("add the password");
    s.label(&secret.credential.key_id, "key-id");

    // The CLI retries while the new application replicates.
    let (graph_ref, app_id) = (&graph, app.app_id.as_str());
    let sp = s
        .eventually("create the service principal", || async move {
            graph_ref
                .create_service_principal(app_id)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    s.label(&sp.id, "sp-object-id");
    assert_eq!(sp.account_enabled, Some(true));

    (app.app_id, secret, sp)
}

/// The JSON the CLI prints, then `az login --service-principal -u appId -p password --tenant
/// tenant`, which asks for an ARM token with the CLI's own resource id.
async fn print_and_sign_in(s: &Scenario, app_id: &str, name: &str, secret: &NewSecret) {
    let password = secret.secret.expose();
    s.output(json!({
        "appId": app_id,
        "displayName": name,
        "password": password,
        "tenant": s.tenant_id(),
    }));
    token(
        s,
        TokenApi::V2,
        &credentials(app_id, password).scope("https://management.core.windows.net//.default"),
    )
    .await;
}

//! `az ad sp create-for-rbac`: the Graph calls the Azure CLI makes, in its order and with its
//! bodies (azure-cli `role/custom.py`), the JSON it prints, and signing in with it as
//! `az login --service-principal` does. With `--role`/`--scopes` the CLI goes on to ARM; that
//! story joins when ARM role assignments are emulated.

use entra_client::TokenApi;
use entra_client::graph::SecretOptions;
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use serde_json::json;

use super::{credentials, iso_seconds, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![create_for_rbac_without_role]
}

async fn create_for_rbac_without_role(s: &Scenario) {
    let graph = s.admin().graph();
    let name = s.unique_name("rbac");

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

    let password = secret.secret.expose();
    s.output(json!({
        "appId": app.app_id,
        "displayName": name,
        "password": password,
        "tenant": s.tenant_id(),
    }));

    // `az login --service-principal -u appId -p password --tenant tenant` asks for an ARM
    // token with the CLI's own resource id.
    token(
        s,
        TokenApi::V2,
        &credentials(&app.app_id, password).scope("https://management.core.windows.net//.default"),
    )
    .await;
}

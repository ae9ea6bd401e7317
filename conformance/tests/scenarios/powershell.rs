//! Azure PowerShell: `New-AzADApplication -DisplayName … -StartDate … -EndDate …` (the
//! application, then `New-AzADAppCredential`'s addPassword) and `New-AzADServicePrincipal
//! -ApplicationId …`, with the bodies Az.Resources (MSGraph) sends, then a sign-in.
//! The role step (`-Role`/`-Scope`) joins when ARM role assignments are emulated.

use entra_client::TokenApi;
use entra_client::graph::SecretOptions;
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use serde_json::json;

use super::{ARM_SCOPE, credentials, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![powershell_new_app_and_sp]
}

/// .NET's round-trip UTC format, as the generated PowerShell client writes `DateTime`s.
/// (A guess: the module's serializer is not in the reference.)
fn dotnet_utc(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{}.{:07}Z",
        super::iso_seconds(t).trim_end_matches('Z'),
        t.nanosecond() / 100
    )
}

async fn powershell_new_app_and_sp(s: &Scenario) {
    let graph = s.admin().graph();
    let name = s.unique_name("pwsh");
    let app = graph
        .create_application_with(json!({"displayName": name, "signInAudience": "AzureADMyOrg"}))
        .await
        .expect("New-AzADApplication");
    s.delete_later(&app.id);
    s.label(&app.id, "app-object-id");
    s.label(&app.app_id, "app-id");
    assert_eq!(app.sign_in_audience.as_deref(), Some("AzureADMyOrg"));

    let start = s.now().await;
    let end = super::a_year_after(start);
    let secret = graph
        .add_password(
            &app.id,
            &SecretOptions {
                start_date_time: Some(dotnet_utc(start)),
                end_date_time: Some(dotnet_utc(end)),
                // New-AzADAppCredential makes up a key id; Graph issues its own.
                key_id: Some(uuid::Uuid::new_v4().to_string()),
                ..SecretOptions::default()
            },
        )
        .await
        .expect("New-AzADAppCredential");
    s.label(&secret.credential.key_id, "key-id");

    let (graph_ref, app_id) = (&graph, app.app_id.as_str());
    let sp = s
        .eventually("New-AzADServicePrincipal", || async move {
            graph_ref
                .create_service_principal_with(json!({"appId": app_id}))
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    s.label(&sp.id, "sp-object-id");
    assert_eq!(
        sp.account_enabled,
        Some(true),
        "enabled unless told otherwise"
    );

    // Connect-AzAccount -ServicePrincipal with the secret.
    token(
        s,
        TokenApi::V2,
        &credentials(&app.app_id, secret.secret.expose()).scope(ARM_SCOPE),
    )
    .await;
}

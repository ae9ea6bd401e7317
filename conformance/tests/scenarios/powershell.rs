//! Azure PowerShell: `New-AzADApplication -DisplayName … -StartDate … -EndDate …` (the
//! application, then `New-AzADAppCredential`'s addPassword), `New-AzADServicePrincipal
//! -ApplicationId …` and `New-AzRoleAssignment -ObjectId … -RoleDefinitionName Reader -Scope …`,
//! with the calls and bodies Az.Resources makes, then a sign-in with the new secret.

use entra_client::TokenApi;
use entra_client::graph::SecretOptions;
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use serde_json::json;

use super::{ARM_SCOPE, credentials, token};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![powershell_app_sp_and_role]
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

/// The api-version Az.Resources' generated client sends on role assignment calls.
const AZ_RESOURCES_ASSIGNMENTS_API: &str = "2020-08-01-preview";

async fn powershell_app_sp_and_role(s: &Scenario) {
    // `New-AzResourceGroup`, the scope of the assignment.
    let group = s.unique_name("pwsh-rg");
    let rg = s
        .admin()
        .arm()
        .create_resource_group(&s.target().subscription_id, &group, super::REGION, None)
        .await
        .expect("New-AzResourceGroup");
    s.delete_group_later(&group);

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

    new_az_role_assignment(s, &sp.id, &rg.id).await;

    // Connect-AzAccount -ServicePrincipal with the secret.
    token(
        s,
        TokenApi::V2,
        &credentials(&app.app_id, secret.secret.expose()).scope(ARM_SCOPE),
    )
    .await;
}

/// `New-AzRoleAssignment -ObjectId {sp} -RoleDefinitionName Reader -Scope {scope}`.
/// Az.Resources first probes `GET /users/{id}` and ignores its answer; that call is left out
/// because its status depends on whether the caller may read users, not on the flow.
async fn new_az_role_assignment(s: &Scenario, sp_id: &str, scope: &str) {
    let graph = s.admin().graph();
    let arm = s
        .admin()
        .arm()
        .with_authorization_api(AZ_RESOURCES_ASSIGNMENTS_API);

    // The object is looked up as a service principal to learn its `principalType`.
    let sp = graph
        .get_service_principal(sp_id)
        .await
        .expect("look the object up as a service principal");
    assert_eq!(sp.id, sp_id);

    let role = arm
        .role_definition_by_name(scope, "Reader")
        .await
        .expect("look the role up by name")
        .expect("Reader exists");
    assert_eq!(role.name, super::READER);

    // The cmdlet sends `principalType`, so the assignment does not wait for replication.
    let (arm_ref, role_id) = (&arm, role.id.as_str());
    let assignment = s
        .eventually("New-AzRoleAssignment", || async move {
            arm_ref
                .create_role_assignment(scope, role_id, sp_id, Some("ServicePrincipal"))
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    s.label(&assignment.name, "assignment-name");
    assert_eq!(assignment.properties.principal_id, sp_id);
    assert_eq!(assignment.properties.scope, scope);
    assert_eq!(
        assignment.properties.principal_type.as_deref(),
        Some("ServicePrincipal")
    );

    // Then it renders the PSRoleAssignment: the role definition by its full id and the
    // principal through getByIds.
    let definition = arm
        .get_role_definition(&assignment.properties.role_definition_id)
        .await
        .expect("read the assigned role definition");
    assert_eq!(definition.properties.role_name, "Reader");
    let objects = graph
        .get_by_ids(&[sp_id], &[])
        .await
        .expect("resolve the principal");
    assert_eq!(objects.len(), 1, "the new principal is found");
    assert_eq!(
        objects[0]["@odata.type"], "#microsoft.graph.servicePrincipal",
        "and typed"
    );
}

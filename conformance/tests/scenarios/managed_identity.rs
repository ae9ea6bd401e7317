//! Managed identities as ARM and Graph show them, on the emulator and on Azure alike: a
//! user-assigned identity created, read and deleted; its service principal of type
//! `ManagedIdentity` in Graph; a role for it, which ARM accepts at once only with
//! `principalType`; a resource with a system-assigned identity. (The token endpoints, IMDS
//! and App Service, are reachable only from inside Azure; the emulator's API tests cover
//! them.)

use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use serde_json::json;

use super::REGION;

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![managed_identity_resources]
}

const IDENTITY_API: &str = "2023-01-31";
/// The api-version of the resource that carries a system-assigned identity.
const WORKSPACE_API: &str = super::WORKSPACE_API;

async fn managed_identity_resources(s: &Scenario) {
    let arm = s.admin().arm();
    let graph = s.admin().graph();
    let group = s.unique_name("mi-rg");
    let rg = arm
        .create_resource_group(&s.target().subscription_id, &group, REGION, None)
        .await
        .expect("create the resource group");
    s.delete_group_later(&group);

    let id = format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}",
        rg.id,
        s.unique_name("mi")
    );
    let identity = arm
        .put_resource(&id, IDENTITY_API, &json!({"location": REGION}))
        .await
        .expect("create the identity");
    let principal = identity.properties["principalId"]
        .as_str()
        .expect("principalId")
        .to_owned();
    let client = identity.properties["clientId"]
        .as_str()
        .expect("clientId")
        .to_owned();
    s.label(&principal, "identity-principal-id");
    s.label(&client, "identity-client-id");
    let read = arm
        .get_resource(&id, IDENTITY_API)
        .await
        .expect("read the identity");
    assert_eq!(read.properties, identity.properties);

    // Graph: the identity's service principal (Graph may take a moment to show it).
    let (g, p) = (&graph, principal.as_str());
    let sp = s
        .eventually("the identity's service principal", || async move {
            g.get_service_principal(p).await.map_err(|e| e.to_string())
        })
        .await;
    assert_eq!(sp.app_id, client);
    assert_eq!(sp.other["servicePrincipalType"], "ManagedIdentity");

    // Reader for the identity: with `principalType`, ARM skips the directory lookup.
    let reader = arm
        .role_definition_by_name(&rg.id, "Reader")
        .await
        .expect("look the role up")
        .expect("Reader exists");
    let assignment = arm
        .create_role_assignment(&rg.id, &reader.id, &principal, Some("ServicePrincipal"))
        .await
        .expect("assign Reader");
    s.label(&assignment.name, "identity-assignment");
    assert_eq!(
        assignment.properties.principal_type.as_deref(),
        Some("ServicePrincipal")
    );

    // A workspace with a system-assigned identity.
    let workspace = format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/{}",
        rg.id,
        s.unique_name("mi-ws")
    );
    let ws = arm
        .put_resource(
            &workspace,
            WORKSPACE_API,
            &json!({"location": REGION, "identity": {"type": "SystemAssigned"}, "properties": {}}),
        )
        .await
        .expect("create the workspace");
    let system = ws.other["identity"]["principalId"]
        .as_str()
        .expect("a system-assigned principal")
        .to_owned();
    s.label(&system, "workspace-principal-id");

    arm.delete_resource(&id, IDENTITY_API)
        .await
        .expect("delete the identity");
}

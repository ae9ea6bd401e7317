//! ARM role assignments from creation to deletion: at subscription, resource group and
//! resource scope, read back, listed, refused (a duplicate, a principal ARM cannot see yet)
//! and deleted twice.

use std::time::Duration;

use entra_client::arm::AssignmentFilter;
use entra_conformance::Scenario;
use entra_conformance::harness::Definition;
use serde_json::json;

use super::{REGION, WORKSPACE_API, register};

pub(super) fn scenarios() -> Vec<Definition> {
    entra_conformance::scenarios![role_assignment_lifecycle]
}

/// How long ARM takes to see a new service principal: a guess, the emulator's default.
const PRINCIPAL_REPLICATION: Duration = Duration::from_secs(60);

async fn role_assignment_lifecycle(s: &Scenario) {
    let arm = s.admin().arm();
    let sub = format!("/subscriptions/{}", s.target().subscription_id);
    let group = s.unique_name("ra-rg");
    let rg = arm
        .create_resource_group(&s.target().subscription_id, &group, REGION, None)
        .await
        .expect("create the resource group");
    s.delete_group_later(&group);
    let workspace = format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/{}",
        rg.id,
        s.unique_name("ra-ws")
    );
    arm.put_resource(
        &workspace,
        WORKSPACE_API,
        &json!({"location": REGION, "properties": {}}),
    )
    .await
    .expect("create the workspace");
    let (_, sp) = register(s, "ra").await;
    s.label(&sp.id, "sp-object-id");
    let reader = arm
        .role_definition_by_name(&sub, "Reader")
        .await
        .expect("look the role up")
        .expect("Reader exists");

    // Without `principalType` ARM looks the principal up, and a new one is not there yet.
    let refused = arm
        .create_role_assignment(&sub, &reader.id, &sp.id, None)
        .await
        .expect_err("the principal has not replicated");
    assert_eq!(refused.code(), Some("PrincipalNotFound"), "{refused}");
    assert_eq!(refused.status().map(|c| c.as_u16()), Some(400));
    s.wait(PRINCIPAL_REPLICATION).await;
    let (arm_ref, role, principal, scope) = (&arm, reader.id.as_str(), sp.id.as_str(), &sub);
    let at_sub = s
        .eventually("assign at the subscription", || async move {
            arm_ref
                .create_role_assignment(scope, role, principal, None)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    s.label(&at_sub.name, "sub-assignment");
    assert_eq!(
        at_sub.properties.principal_type.as_deref(),
        Some("ServicePrincipal"),
        "found in the directory"
    );
    let at_rg = arm
        .create_role_assignment(&rg.id, &reader.id, &sp.id, Some("ServicePrincipal"))
        .await
        .expect("assign at the resource group");
    s.label(&at_rg.name, "rg-assignment");
    let at_resource = arm
        .create_role_assignment(&workspace, &reader.id, &sp.id, Some("ServicePrincipal"))
        .await
        .expect("assign at the workspace");
    s.label(&at_resource.name, "resource-assignment");
    for a in [&at_sub, &at_rg, &at_resource] {
        assert_eq!(a.properties.created_by, None, "null on the PUT answer");
    }

    let read = arm
        .get_role_assignment(&at_rg.id)
        .await
        .expect("read the assignment");
    assert!(read.properties.created_by.is_some(), "set once stored");

    // `atScope()`: at the scope and above, not below.
    let at_scope = arm
        .list_role_assignments(&rg.id, &AssignmentFilter::AtScope)
        .await
        .expect("list at scope");
    let names: Vec<&str> = at_scope.iter().map(|a| a.name.as_str()).collect();
    assert!(names.contains(&at_sub.name.as_str()) && names.contains(&at_rg.name.as_str()));
    assert!(!names.contains(&at_resource.name.as_str()));
    // `principalId eq`: at, above and below.
    let mine = arm
        .list_role_assignments(&rg.id, &AssignmentFilter::PrincipalId(sp.id.clone()))
        .await
        .expect("list the principal's");
    let mut names: Vec<&str> = mine.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    let mut expected = [
        at_sub.name.as_str(),
        at_rg.name.as_str(),
        at_resource.name.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(names, expected);

    // The same principal, role and scope under another name.
    let duplicate = arm
        .create_role_assignment(&rg.id, &reader.id, &sp.id, Some("ServicePrincipal"))
        .await
        .expect_err("a duplicate");
    assert_eq!(
        duplicate.code(),
        Some("RoleAssignmentExists"),
        "{duplicate}"
    );
    assert_eq!(duplicate.status().map(|c| c.as_u16()), Some(409));

    let deleted = arm
        .delete_role_assignment(&at_rg.id)
        .await
        .expect("delete")
        .expect("200 with the deleted assignment");
    assert_eq!(deleted.name, at_rg.name);
    let again = arm
        .delete_role_assignment(&at_rg.id)
        .await
        .expect("delete again");
    assert!(again.is_none(), "204 once gone");
    for a in [&at_sub, &at_resource] {
        arm.delete_role_assignment(&a.id).await.expect("clean up");
    }
}

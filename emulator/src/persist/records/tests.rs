//! Tests of the parent module.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::*;
use crate::rbac::OwnedPermission;

fn role(id: Uuid, actions: &[&str]) -> CustomRole {
    let t = time::macros::datetime!(2025-01-01 0:00 UTC);
    CustomRole {
        id,
        role_name: format!("role {id}"),
        description: String::new(),
        permissions: vec![OwnedPermission {
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            ..OwnedPermission::default()
        }],
        assignable_scopes: vec![Scope::parse("/subscriptions/s").expect("scope")],
        stamps: Stamps::new(t, None),
    }
}

/// Encodes and decodes records as the files hold them, and replays them.
fn replay(records: Vec<Record>) -> AssignmentStore {
    let mut loaded = Loaded::default();
    for r in records {
        let json = serde_json::to_vec(&r).expect("encode");
        loaded
            .apply(serde_json::from_slice(&json).expect("decode"))
            .expect("apply");
    }
    loaded.arm.authz
}

/// Edited and deleted custom roles keep, across a restart, the permissions planes still
/// apply, through the journal and through a snapshot.
#[test]
fn pending_role_changes_survive_journal_and_snapshot() {
    let now = time::macros::datetime!(2025-01-01 0:00 UTC);
    let delays = crate::rbac::Planes::same(std::time::Duration::from_secs(600));
    let (edited, deleted) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut arm = ArmStore::default();
    arm.authz.track(Arc::new(AtomicU64::new(0)));
    for id in [edited, deleted] {
        arm.authz
            .put_custom_role(role(id, &["*/read"]), now, delays)
            .expect("create");
    }
    arm.authz
        .put_custom_role(role(edited, &["*"]), now, delays)
        .expect("edit");
    arm.authz
        .delete_custom_role(&deleted, now, delays)
        .expect("delete");
    let mut journal = Vec::new();
    arm_changes(&mut arm, &mut journal);
    let mut snapshot_records = Vec::new();
    snapshot(
        "tag",
        Duration::ZERO,
        &Directory::default(),
        &arm,
        &MonitorStore::default(),
        &mut |r| {
            snapshot_records.push(r);
            Ok(())
        },
    )
    .expect("snapshot");
    for records in [journal, snapshot_records] {
        let back = replay(records);
        assert_eq!(back.stale_role(&edited), arm.authz.stale_role(&edited));
        assert_eq!(back.stale_role(&deleted), arm.authz.stale_role(&deleted));
        assert_eq!(back.stale_role(&deleted).len(), 1);
        assert!(back.custom_role(&deleted).is_none());
        assert_eq!(
            back.custom_role(&edited).map(|r| r.permissions.clone()),
            Some(role(edited, &["*"]).permissions)
        );
    }
    // A role written before stale views were persisted still reads.
    let old = serde_json::json!({"Role": {
        "id": edited, "role_name": "r", "description": "", "permissions": [],
        "assignable_scopes": ["/subscriptions/S"], "created_on": now, "updated_on": now,
        "created_by": null, "updated_by": null,
    }});
    let record: Record = serde_json::from_value(old).expect("old role record");
    let back = replay(vec![record]);
    assert!(back.stale_role(&edited).is_empty());
    let scopes = &back.custom_role(&edited).expect("role").assignable_scopes;
    assert_eq!(scopes[0].as_str(), "/subscriptions/S");
}

/// Records that hold domain types as they are keep the on-disk form their earlier record
/// types had: files written before still load, and what is written now reads the same.
#[test]
fn records_keep_their_on_disk_form() {
    let t = time::macros::datetime!(2025-01-01 0:00 UTC);
    let (app_id, fic_id) = (Uuid::from_u128(7), Uuid::from_u128(8));
    let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/a";
    let written_before = [
        serde_json::json!({"Group": {
            "subscription": Uuid::from_u128(1), "name": "Rg", "location": "westeurope",
            "tags": {"a": "b"}, "managed_by": null,
        }}),
        // Without `identity`, as resources without one are written.
        serde_json::json!({"Resource": {
            "id": id, "name": "a", "resource_type": "Microsoft.Web/sites",
            "location": "westeurope", "tags": null, "sku": null, "kind": "app",
            "properties": {"x": 1}, "created": t,
        }}),
        // A federated credential from before propagation was modelled (no `changed`), on
        // an application from before certificates (no `key_credentials`).
        serde_json::json!({"App": {
            "id": app_id, "app_id": Uuid::from_u128(9), "display_name": "app", "created": t,
            "sign_in_audience": "AzureADMyOrg", "identifier_uris": [],
            "requested_access_token_version": null, "password_credentials": [],
            "federated_credentials": [{
                "id": fic_id, "name": "gh", "issuer": "https://token.actions.githubusercontent.com",
                "subject": "repo:o/r:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"],
                "description": null,
            }],
            "props": {}, "deleted": null, "seq": 1,
        }}),
    ];
    let points = serde_json::json!({"Points": {
        "resource": "/subscriptions/s/resourcegroups/rg/providers/microsoft.web/sites/a",
        "namespace": "Conformance", "metric": "QueueDepth", "minute": 29_000_000,
        "points": [{"dimensions": [["Queue", "orders"]], "value": [3.0, 5.0, 8.0, 2.0]},
                   {"dimensions": [], "value": ["-inf", "inf", "NaN", 1.0]}],
    }});
    let mut loaded = Loaded::default();
    for json in written_before.iter().chain([&points]) {
        let record: Record = serde_json::from_value(json.clone()).expect("earlier record");
        loaded.apply(record).expect("apply");
    }
    let group = loaded
        .arm
        .group_by_key(&Uuid::from_u128(1), "rg")
        .expect("group");
    assert_eq!(
        (group.name.as_str(), group.location.as_str()),
        ("Rg", "westeurope")
    );
    let resource = loaded.arm.resource(id).expect("resource");
    assert_eq!(resource.identity, None);
    assert_eq!(resource.kind.as_deref(), Some("app"));
    let app = loaded.dir.app(&app_id).expect("app");
    let fic = &app.federated_credentials[0];
    assert_eq!((fic.id, fic.changed), (fic_id, OffsetDateTime::UNIX_EPOCH));
    // Written back, a group and a resource are the records they were read from.
    for (json, record) in written_before.iter().zip([
        Record::Group(group.clone()),
        Record::Resource(resource.clone()),
    ]) {
        assert_eq!(&serde_json::to_value(record).expect("encode"), json);
    }
    // Metric points: stored (values that are not finite included) and journaled as read.
    let record: Record = serde_json::from_value(points.clone()).expect("points");
    let Record::Points(p) = &record else {
        panic!("not points: {record:?}")
    };
    let back = serde_json::to_value(monitor_op(&MonitorOp::Points(p.clone()))).expect("encode");
    assert_eq!(back, points);
    let namespaces = loaded
        .monitor
        .namespaces("/subscriptions/s/resourcegroups/rg/providers/microsoft.web/sites/a")
        .expect("stored");
    let metric = &namespaces["conformance"].metrics["queuedepth"];
    let orders = &metric.series[&vec!["orders".to_owned()]][&29_000_000];
    assert_eq!((orders.sum, orders.count), (8.0, 2.0));
    // A credential written now carries `changed`, and reads back whole.
    let json = serde_json::to_value(fic).expect("encode");
    assert!(json.get("changed").is_some());
    let back: FederatedCredential = serde_json::from_value(json).expect("decode");
    assert_eq!(&back, fic);
}

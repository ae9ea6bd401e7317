//! Tests of the parent module.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::*;

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
        created_on: t,
        updated_on: t,
        created_by: None,
        updated_by: None,
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
        "assignable_scopes": [], "created_on": now, "updated_on": now,
        "created_by": null, "updated_by": null,
    }});
    let record: Record = serde_json::from_value(old).expect("old role record");
    assert!(replay(vec![record]).stale_role(&edited).is_empty());
}

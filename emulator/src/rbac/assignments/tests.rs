//! Tests of the parent module.

use super::*;
use crate::rbac::roles::ids;

const SUB: &str = "/subscriptions/00000000-0000-0000-0000-0000000000aa";

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2025-01-01 0:00 UTC)
}

fn scope(s: &str) -> Scope {
    Scope::parse(s).expect("scope")
}

fn builtin(id: &str) -> RoleRef {
    RoleRef::BuiltIn(find_by_id(id).expect("role"))
}

fn assignment(name: u128, scope_text: &str, role: RoleRef, principal: Uuid) -> Assignment {
    Assignment {
        name: Uuid::from_u128(name),
        scope: scope(scope_text),
        role,
        principal_id: principal,
        principal_type: PrincipalType::ServicePrincipal,
        description: None,
        condition: None,
        condition_version: None,
        delegated_managed_identity_resource_id: None,
        stamps: Stamps::new(t0(), None),
    }
}

const RG_READ: &str = "Microsoft.Resources/subscriptions/resourceGroups/read";
const MIN: Duration = Duration::from_secs(60);

#[test]
fn a_grant_takes_effect_per_plane_after_its_delay() {
    let mut store = AssignmentStore::default();
    let p = Uuid::from_u128(1);
    let rg = scope(&format!("{SUB}/resourceGroups/rg1"));
    let delays = Planes::from([MIN, 2 * MIN, 3 * MIN, 60 * MIN]);
    let a = assignment(10, rg.as_str(), builtin(ids::READER), p);
    assert_eq!(store.upsert(a, t0(), delays), Ok(Upsert::Created));
    let at = |mins: i64| t0() + time::Duration::minutes(mins);
    assert!(!store.is_allowed(&p, &rg, RG_READ, false, Plane::Arm, at(0)));
    assert!(store.is_allowed(&p, &rg, RG_READ, false, Plane::Arm, at(1)));
    assert!(!store.is_allowed(&p, &rg, RG_READ, false, Plane::AppInsights, at(59)));
    assert!(store.is_allowed(&p, &rg, RG_READ, false, Plane::AppInsights, at(60)));
    // Inherited below, not above; nothing for another principal; Reader cannot write.
    let res = scope(&format!(
        "{}/providers/Microsoft.Insights/components/ai",
        rg.as_str()
    ));
    assert!(store.is_allowed(
        &p,
        &res,
        "Microsoft.Insights/components/read",
        false,
        Plane::Arm,
        at(5)
    ));
    assert!(!store.is_allowed(&p, &scope(SUB), RG_READ, false, Plane::Arm, at(5)));
    assert!(!store.is_allowed(&Uuid::from_u128(2), &rg, RG_READ, false, Plane::Arm, at(5)));
    assert!(!store.is_allowed(
        &p,
        &rg,
        "Microsoft.Resources/subscriptions/resourceGroups/write",
        false,
        Plane::Arm,
        at(5)
    ));
    let pending = store.pending(at(0));
    assert_eq!(pending.len(), 4);
    assert_eq!(pending[0].plane, Plane::Arm);
    assert_eq!(pending[0].what.change, Change::Grant);
    assert_eq!(pending[3].effective_at, at(60));
    assert!(store.pending(at(60)).is_empty());
}

#[test]
fn a_deletion_keeps_access_until_it_propagates() {
    let mut store = AssignmentStore::default();
    let p = Uuid::from_u128(1);
    let sub = scope(SUB);
    let a = assignment(10, SUB, builtin(ids::OWNER), p);
    store
        .upsert(a, t0(), Planes::same(Duration::ZERO))
        .expect("insert");
    let later = t0() + time::Duration::minutes(10);
    let removed = store.remove(&Uuid::from_u128(10), later, Planes::same(MIN));
    assert!(removed.is_some());
    assert!(store.get(&Uuid::from_u128(10)).is_none());
    assert!(store.list(&sub, false, None).is_empty());
    assert!(store.is_allowed(&p, &sub, RG_READ, false, Plane::Arm, later));
    let pending = store.pending(later);
    assert_eq!(pending.len(), 4);
    assert!(pending.iter().all(|x| x.what.change == Change::Revoke));
    let after = later + time::Duration::minutes(1);
    assert!(!store.is_allowed(&p, &sub, RG_READ, false, Plane::Arm, after));
    assert!(store.pending(after).is_empty());
    // Re-creating the same triple while the revocation propagates is allowed.
    let again = assignment(11, SUB, builtin(ids::OWNER), p);
    assert_eq!(
        store.upsert(again, later, Planes::same(Duration::ZERO)),
        Ok(Upsert::Created)
    );
    assert_eq!(
        store
            .remove(&Uuid::from_u128(99), later, Planes::same(MIN))
            .map(|a| a.name),
        None
    );
}

#[test]
fn duplicates_and_renames_are_refused() {
    let mut store = AssignmentStore::default();
    let p = Uuid::from_u128(1);
    let reader = builtin(ids::READER);
    store
        .upsert(
            assignment(10, SUB, reader, p),
            t0(),
            Planes::same(Duration::ZERO),
        )
        .expect("first");
    assert_eq!(
        store.upsert(
            assignment(11, SUB, reader, p),
            t0(),
            Planes::same(Duration::ZERO)
        ),
        Err(Conflict::Exists {
            existing: Uuid::from_u128(10)
        })
    );
    // Case of the scope does not matter.
    assert_eq!(
        store.upsert(
            assignment(
                12,
                &SUB.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"),
                reader,
                p
            ),
            t0(),
            Planes::same(Duration::ZERO)
        ),
        Err(Conflict::Exists {
            existing: Uuid::from_u128(10)
        })
    );
    let mut same = assignment(10, SUB, reader, p);
    same.description = Some("why".into());
    assert_eq!(
        store.upsert(same, t0(), Planes::same(Duration::ZERO)),
        Ok(Upsert::Updated)
    );
    assert_eq!(
        store
            .get(&Uuid::from_u128(10))
            .and_then(|a| a.description.as_deref()),
        Some("why")
    );
    let moved = assignment(10, &format!("{SUB}/resourceGroups/x"), reader, p);
    assert_eq!(
        store.upsert(moved, t0(), Planes::same(Duration::ZERO)),
        Err(Conflict::UpdateNotPermitted)
    );
    let other_role = assignment(10, SUB, builtin(ids::OWNER), p);
    assert_eq!(
        store.upsert(other_role, t0(), Planes::same(Duration::ZERO)),
        Err(Conflict::UpdateNotPermitted)
    );
    // Another role for the same principal and scope is a different assignment.
    assert_eq!(
        store.upsert(
            assignment(13, SUB, builtin(ids::OWNER), p),
            t0(),
            Planes::same(Duration::ZERO)
        ),
        Ok(Upsert::Created)
    );
    assert_eq!(store.len(), 2);
}

#[test]
fn listing_follows_arm_filters() {
    let mut store = AssignmentStore::default();
    let (p1, p2) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let rg = format!("{SUB}/resourceGroups/rg");
    let rg_dash = format!("{SUB}/resourceGroups/rg-2");
    let res = format!("{rg}/providers/Microsoft.Web/sites/a");
    let z = Planes::same(Duration::ZERO);
    store
        .upsert(assignment(1, SUB, builtin(ids::READER), p1), t0(), z)
        .expect("1");
    store
        .upsert(assignment(2, &rg, builtin(ids::READER), p2), t0(), z)
        .expect("2");
    store
        .upsert(assignment(3, &res, builtin(ids::READER), p1), t0(), z)
        .expect("3");
    store
        .upsert(assignment(4, &rg_dash, builtin(ids::READER), p1), t0(), z)
        .expect("4");
    store
        .upsert(assignment(5, "/", builtin(ids::READER), p2), t0(), z)
        .expect("5");
    let names = |v: Vec<&Assignment>| v.iter().map(|a| a.name.as_u128()).collect::<Vec<_>>();
    let rg_scope = scope(&rg);
    assert_eq!(names(store.list(&rg_scope, false, None)), [1, 2, 3, 5]);
    assert_eq!(names(store.list(&rg_scope, true, None)), [1, 2, 5]);
    assert_eq!(names(store.list(&rg_scope, false, Some(&p1))), [1, 3]);
    assert_eq!(names(store.list(&rg_scope, true, Some(&p1))), [1]);
    assert_eq!(names(store.list(&scope(SUB), false, None)), [1, 2, 3, 4, 5]);
    assert_eq!(
        names(store.list(&Scope::root(), false, None)),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(names(store.list(&Scope::root(), true, None)), [5]);
    let removed = store.remove_within(&rg_scope, t0(), |_| z);
    assert_eq!(removed, 2);
    assert_eq!(names(store.list(&scope(SUB), false, None)), [1, 4, 5]);
}

#[test]
fn subscription_visibility_counts_access_below() {
    let mut store = AssignmentStore::default();
    let p = Uuid::from_u128(1);
    let rg = format!("{SUB}/resourceGroups/rg");
    store
        .upsert(
            assignment(1, &rg, builtin(ids::READER), p),
            t0(),
            Planes::same(MIN),
        )
        .expect("insert");
    let sub = scope(SUB);
    assert!(!store.has_access_within(&p, &sub, Plane::Arm, t0()));
    let later = t0() + time::Duration::minutes(1);
    assert!(store.has_access_within(&p, &sub, Plane::Arm, later));
    let other = scope("/subscriptions/00000000-0000-0000-0000-0000000000ab");
    assert!(!store.has_access_within(&p, &other, Plane::Arm, later));
}

#[test]
fn custom_roles_grant_their_permissions_and_keep_names_unique() {
    let mut store = AssignmentStore::default();
    let id = Uuid::from_u128(77);
    let role = CustomRole {
        id,
        role_name: "Group Reader".into(),
        description: "reads groups".into(),
        permissions: vec![OwnedPermission {
            actions: vec!["Microsoft.Resources/subscriptions/resourceGroups/*".into()],
            not_actions: vec!["*/write".into()],
            ..OwnedPermission::default()
        }],
        assignable_scopes: vec![scope(SUB)],
        stamps: Stamps::new(t0(), None),
    };
    assert_eq!(
        store.put_custom_role(role.clone(), t0(), Planes::same(Duration::ZERO)),
        Ok(Upsert::Created)
    );
    assert_eq!(
        store.put_custom_role(role.clone(), t0(), Planes::same(Duration::ZERO)),
        Ok(Upsert::Updated)
    );
    let clash = CustomRole {
        id: Uuid::from_u128(78),
        role_name: "group reader".into(),
        ..role.clone()
    };
    assert_eq!(
        store.put_custom_role(clash, t0(), Planes::same(Duration::ZERO)),
        Err(Conflict::RoleNameExists)
    );
    let builtin_name = CustomRole {
        id: Uuid::from_u128(79),
        role_name: "Reader".into(),
        ..role.clone()
    };
    assert_eq!(
        store.put_custom_role(builtin_name, t0(), Planes::same(Duration::ZERO)),
        Err(Conflict::RoleNameExists)
    );
    let custom = store.resolve_role(&id).expect("resolves");
    assert_eq!(custom, RoleRef::Custom(id));
    assert!(role.assignable_at(&scope(&format!("{SUB}/resourceGroups/x"))));
    assert!(!role.assignable_at(&scope("/subscriptions/other")));
    let p = Uuid::from_u128(1);
    store
        .upsert(
            assignment(1, SUB, custom, p),
            t0(),
            Planes::same(Duration::ZERO),
        )
        .expect("assign");
    let rg = scope(&format!("{SUB}/resourceGroups/x"));
    assert!(store.is_allowed(&p, &rg, RG_READ, false, Plane::Arm, t0()));
    assert!(!store.is_allowed(
        &p,
        &rg,
        "Microsoft.Resources/subscriptions/resourceGroups/write",
        false,
        Plane::Arm,
        t0()
    ));
    assert_eq!(
        store
            .delete_custom_role(&id, t0(), Planes::same(Duration::ZERO))
            .map(|r| r.is_some()),
        Err(Conflict::RoleInUse)
    );
    store.remove(&Uuid::from_u128(1), t0(), Planes::same(Duration::ZERO));
    assert_eq!(
        store
            .delete_custom_role(&id, t0(), Planes::same(Duration::ZERO))
            .map(|r| r.is_some()),
        Ok(true)
    );
    assert!(store.resolve_role(&id).is_none());
    assert!(
        store
            .resolve_role(&Uuid::parse_str(ids::READER).expect("guid"))
            .is_some()
    );
}

#[test]
fn a_role_edit_or_deletion_reaches_each_plane_after_its_delay() {
    let mut store = AssignmentStore::default();
    let id = Uuid::from_u128(77);
    let read_only = vec![OwnedPermission {
        actions: vec![RG_READ.into()],
        ..OwnedPermission::default()
    }];
    let role = CustomRole {
        id,
        role_name: "Edited".into(),
        description: String::new(),
        permissions: read_only.clone(),
        assignable_scopes: vec![scope(SUB)],
        stamps: Stamps::new(t0(), None),
    };
    let delays = Planes::from([MIN, 2 * MIN, 3 * MIN, 60 * MIN]);
    // A new role has nothing earlier to keep: in force at once.
    assert_eq!(
        store.put_custom_role(role.clone(), t0(), delays),
        Ok(Upsert::Created)
    );
    let p = Uuid::from_u128(1);
    store
        .upsert(
            assignment(1, SUB, RoleRef::Custom(id), p),
            t0(),
            Planes::same(Duration::ZERO),
        )
        .expect("assign");
    let sub = scope(SUB);
    let write = "Microsoft.Resources/subscriptions/resourceGroups/write";
    let at = |mins: i64| t0() + time::Duration::minutes(mins);
    let allowed = |store: &AssignmentStore, action: &str, plane: Plane, mins: i64| {
        store.is_allowed(&p, &sub, action, false, plane, at(mins))
    };
    assert!(allowed(&store, RG_READ, Plane::Arm, 0));
    assert!(!allowed(&store, write, Plane::Arm, 0));
    // Widened at minute 10: each plane keeps the old permissions for its delay.
    let widened = CustomRole {
        permissions: vec![OwnedPermission {
            actions: vec!["*".into()],
            ..OwnedPermission::default()
        }],
        ..role.clone()
    };
    assert_eq!(
        store.put_custom_role(widened, at(10), delays),
        Ok(Upsert::Updated)
    );
    assert!(!allowed(&store, write, Plane::Arm, 10));
    assert!(allowed(&store, RG_READ, Plane::Arm, 10));
    assert!(allowed(&store, write, Plane::Arm, 11));
    assert!(!allowed(&store, write, Plane::LogAnalytics, 11));
    assert!(allowed(&store, write, Plane::LogAnalytics, 12));
    assert!(!allowed(&store, write, Plane::AppInsights, 69));
    assert!(allowed(&store, write, Plane::AppInsights, 70));
    // Narrowed back at minute 20, while App Insights still holds the first view: ARM
    // keeps the widened one for its own delay.
    assert_eq!(
        store.put_custom_role(role.clone(), at(20), delays),
        Ok(Upsert::Updated)
    );
    assert!(allowed(&store, write, Plane::Arm, 20));
    assert!(!allowed(&store, write, Plane::Arm, 21));
    // Written again unchanged: nothing to propagate.
    store
        .put_custom_role(role.clone(), at(30), delays)
        .expect("same");
    assert!(!allowed(&store, write, Plane::Arm, 30));
    assert!(allowed(&store, RG_READ, Plane::Arm, 30));
    // Deleted once unassigned, while the unassignment still propagates: planes lose the
    // role itself after their delay.
    store.remove(&Uuid::from_u128(1), at(40), Planes::same(5 * MIN));
    assert_eq!(
        store
            .delete_custom_role(&id, at(40), delays)
            .map(|r| r.is_some()),
        Ok(true)
    );
    assert!(allowed(&store, RG_READ, Plane::Arm, 40));
    assert!(!allowed(&store, RG_READ, Plane::Arm, 41));
    assert!(allowed(&store, RG_READ, Plane::Metrics, 42));
    assert!(!allowed(&store, RG_READ, Plane::Metrics, 43));
    assert_eq!(store.retired_roles().len(), 1);
}

#[test]
fn data_actions_need_data_roles() {
    let mut store = AssignmentStore::default();
    let p = Uuid::from_u128(1);
    let z = Planes::same(Duration::ZERO);
    store
        .upsert(assignment(1, SUB, builtin(ids::OWNER), p), t0(), z)
        .expect("owner");
    let res = scope(&format!(
        "{SUB}/resourceGroups/rg/providers/Microsoft.Insights/components/a"
    ));
    let write = "Microsoft.Insights/Metrics/Write";
    assert!(!store.is_allowed(&p, &res, write, true, Plane::Metrics, t0()));
    store
        .upsert(
            assignment(
                2,
                res.as_str(),
                builtin(ids::MONITORING_METRICS_PUBLISHER),
                p,
            ),
            t0(),
            z,
        )
        .expect("publisher");
    assert!(store.is_allowed(&p, &res, write, true, Plane::Metrics, t0()));
}

/// 100,000 assignments over 10,000 principals, plus one principal holding 10,000 of
/// them: a decision stays a few hash lookups. Prints the measured cost.
#[test]
fn decisions_are_exact_among_many_assignments() {
    // Many principals and one principal holding thousands of assignments: the check
    // walks only that principal's assignments on the target's ancestors. (Its speed is
    // measured by the benchmark harness, not asserted here.)
    let mut store = AssignmentStore::default();
    let z = Planes::same(Duration::ZERO);
    let reader = builtin(ids::READER);
    let heavy = Uuid::from_u128(u128::MAX);
    for i in 0..5_000u128 {
        let principal = if i % 10 == 0 {
            heavy
        } else {
            Uuid::from_u128(i % 500)
        };
        let a = assignment(
            i + 1,
            &format!("{SUB}/resourceGroups/rg{i}"),
            reader,
            principal,
        );
        store.upsert(a, t0(), z).expect("insert");
    }
    assert_eq!(store.len(), 5_000);
    let target = scope(&format!(
        "{SUB}/resourceGroups/rg4990/providers/Microsoft.OperationalInsights/workspaces/w"
    ));
    assert!(store.is_allowed(&heavy, &target, RG_READ, false, Plane::Arm, t0()));
    assert!(!store.is_allowed(
        &heavy,
        &scope(&format!("{SUB}/resourceGroups/rg4991")),
        RG_READ,
        false,
        Plane::Arm,
        t0()
    ));
    assert!(!store.is_allowed(
        &heavy,
        &scope(&format!("{SUB}/resourceGroups/nowhere")),
        RG_READ,
        false,
        Plane::Arm,
        t0()
    ));
    let other = Uuid::from_u128(1);
    assert!(store.is_allowed(
        &other,
        &scope(&format!("{SUB}/resourceGroups/rg1")),
        RG_READ,
        false,
        Plane::Arm,
        t0()
    ));
    assert!(!store.is_allowed(&other, &target, RG_READ, false, Plane::Arm, t0()));
}

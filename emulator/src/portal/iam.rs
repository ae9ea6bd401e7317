//! Subscriptions, resource groups and resources, and access control (IAM) on each: role
//! assignments with their propagation status, adding and removing them.

use std::collections::HashMap;

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use maud::{Markup, html};
use uuid::Uuid;

use super::html::{self, BASE, Section, button_form, page, see_other, when};
use super::{Fields, SameOrigin, bad_request, clock_panel, roles};
use crate::config::DEFAULT_ADMIN_OBJECT_ID;
use crate::rbac::assignments::Change;
use crate::rbac::{Plane, PrincipalType, RoleRef, Scope, ScopeKind};
use crate::resources::regions::REGIONS;
use crate::services::AppState;
use crate::services::access::{DEFINITIONS, NewAssignment};
use crate::services::arm_error::ArmError;
use crate::services::groups::GroupFields;

/// The api-version the portal's role assignments are made with (the Azure portal's).
const PORTAL_API_VERSION: &str = "2022-04-01";

fn iam_path() -> String {
    format!("{BASE}/iam")
}

/// The access control page of `scope`.
pub(super) fn iam_url(scope: &str) -> String {
    html::with_query(&iam_path(), "scope", scope)
}

fn plane_label(plane: Plane) -> &'static str {
    match plane {
        Plane::Arm => "ARM",
        Plane::LogAnalytics => "Log Analytics",
        Plane::Metrics => "Custom metrics",
        Plane::AppInsights => "Application Insights",
    }
}

fn kind_label(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::Root => "Root",
        ScopeKind::ManagementGroup => "Management group",
        ScopeKind::Subscription => "Subscription",
        ScopeKind::ResourceGroup => "Resource group",
        ScopeKind::Resource => "Resource",
    }
}

/// An ARM refusal as a page, with ARM's status, code and message.
fn arm_error(e: &ArmError, back: &str) -> Response {
    let (status, code, message) = e.parts();
    html::error_page(status, &format!("{code}: {message}"), Some((back, "Back")))
}

/// `GET /_emulator/portal/resources`: every subscription, resource group and resource,
/// each with a link to its access control, and a form to create a resource group.
pub(crate) async fn resources(state: AppState) -> Response {
    let store = state.arm();
    let default = state.config.subscription_id;
    let subscriptions = html! {
        @for sub in store.subscriptions() {
            h2 { (sub.display_name) }
            p {
                "Subscription " code { (sub.id) } " · "
                a href=(iam_url(&format!("/subscriptions/{}", sub.id))) { "Access control (IAM)" }
            }
            @let groups: Vec<_> = store.groups(&sub.id).collect();
            @if groups.is_empty() {
                p class="muted" { "No resource groups." }
            } @else {
                (html::table(&["Resource group", "Location", "Resources", ""], html! {
                    @for group in groups {
                        @let prefix = format!("{}/", group.id().to_ascii_lowercase());
                        @let resources: Vec<_> = store.resources_under(&prefix, false).collect();
                        tr {
                            td { (group.name) }
                            td { (group.location) }
                            td {
                                @if resources.is_empty() {
                                    span class="muted" { "None" }
                                } @else {
                                    ul {
                                        @for r in resources {
                                            li {
                                                (r.name) " " span class="muted" { (r.resource_type) }
                                                " · " a href=(iam_url(&r.id)) { "Access control (IAM)" }
                                            }
                                        }
                                    }
                                }
                            }
                            td { a href=(iam_url(&group.id())) { "Access control (IAM)" } }
                        }
                    }
                }))
            }
        }
        h2 { "Create a resource group" }
        form method="post" action={ (BASE) "/resource-groups" } class="stack" {
            label {
                "Subscription "
                select name="subscription" {
                    @for sub in store.subscriptions() {
                        option value=(sub.id) selected[sub.id == default] {
                            (sub.display_name) " (" (sub.id) ")"
                        }
                    }
                }
            }
            label {
                "Resource group name "
                input name="name" required maxlength="90" autocomplete="off";
            }
            label {
                "Region "
                select name="location" {
                    @for r in REGIONS {
                        option value=(r) selected[*r == "eastus"] { (r) }
                    }
                }
            }
            div { button type="submit" { "Create" } }
        }
    };
    drop(store);
    page(
        StatusCode::OK,
        Section::Resources,
        "Subscriptions & resource groups",
        subscriptions,
    )
}

/// `POST /_emulator/portal/resource-groups` with `subscription`, `name` and `location`:
/// ARM's resource group PUT, as the bootstrap admin; then the new group's access control.
pub(crate) async fn create_group(state: AppState, _: SameOrigin, body: Bytes) -> Response {
    let back = format!("{BASE}/resources");
    let form = Fields::parse(&body);
    let (Some(subscription), Some(name), Some(location)) = (
        form.get("subscription"),
        form.get("name"),
        form.get("location"),
    ) else {
        return bad_request(
            "Choose a subscription, a resource group name and a region.",
            &back,
        );
    };
    let now = state.clock.now();
    let put = state.put_group(DEFAULT_ADMIN_OBJECT_ID, subscription, name, now, || {
        GroupFields::at(location)
    });
    match put {
        Ok(_) => see_other(&html::with_query(
            &iam_path(),
            "scope",
            &format!("/subscriptions/{subscription}/resourceGroups/{name}"),
        )),
        Err(e) => arm_error(&e, &back),
    }
}

/// One row of the role assignment table, read out of the ARM store.
struct Row {
    name: Uuid,
    role: String,
    principal: Uuid,
    principal_type: &'static str,
    /// `None` at this scope; the kind of scope it is inherited from otherwise.
    inherited: Option<ScopeKind>,
    /// Planes that do not honour it yet, with when they will.
    pending: Vec<(Plane, time::OffsetDateTime)>,
}

/// A deletion still propagating: planes that still honour it, until when.
struct Revocation {
    role: String,
    principal: Uuid,
    scope: String,
    until: Vec<(Plane, time::OffsetDateTime)>,
}

/// "Effective", or "Pending until" the last plane catches up, with the planes grouped by
/// status when they differ.
fn status(pending: &[(Plane, time::OffsetDateTime)]) -> Markup {
    let Some(latest) = pending.iter().map(|(_, t)| *t).max() else {
        return html! { span class="status ok" { "Effective" } };
    };
    let mut groups: Vec<(Option<time::OffsetDateTime>, Vec<&str>)> = Vec::new();
    for plane in Plane::ALL {
        let at = pending.iter().find(|(p, _)| *p == plane).map(|(_, t)| *t);
        match groups.iter_mut().find(|(t, _)| *t == at) {
            Some((_, planes)) => planes.push(plane_label(plane)),
            None => groups.push((at, vec![plane_label(plane)])),
        }
    }
    html! {
        span class="status pending" { "Pending until " (when(latest)) }
        @if groups.len() > 1 {
            ul class="planes" {
                @for (at, planes) in &groups {
                    li {
                        (planes.join(", ")) ": "
                        @match at {
                            Some(t) => { "pending until " (when(*t)) }
                            None => { "effective" }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /_emulator/portal/iam?scope=…`: access control of a subscription, resource group
/// or resource.
pub(crate) async fn iam(state: AppState, RawQuery(raw): RawQuery) -> Response {
    let back = format!("{BASE}/resources");
    let query = Fields::parse(raw.unwrap_or_default().as_bytes());
    let search = query.get("q").unwrap_or_default().to_owned();
    let Some(text) = query.get("scope").map(str::to_owned) else {
        return see_other(&back);
    };
    let scope = match Scope::parse(&text) {
        Ok(s)
            if matches!(
                s.kind(),
                ScopeKind::Subscription | ScopeKind::ResourceGroup | ScopeKind::Resource
            ) =>
        {
            s
        }
        _ => {
            return bad_request(
                "The scope must be a subscription, resource group or resource ID.",
                &back,
            );
        }
    };
    let now = state.clock.now();

    // ARM's view first, then the directory's: the two locks are never held together.
    let store = state.arm();
    if store.check_scope(&scope).is_err() {
        return html::error_page(
            StatusCode::NOT_FOUND,
            &format!("'{text}' does not exist."),
            Some((&back, "Back to Subscriptions & resource groups")),
        );
    }
    let role_name = |role: RoleRef| match role {
        RoleRef::BuiltIn(r) => r.role_name.to_owned(),
        RoleRef::Custom(id) => store
            .authz
            .custom_role(&id)
            .map_or_else(|| id.to_string(), |c| c.role_name.clone()),
    };
    let pending = store.authz.pending(now);
    let rows: Vec<Row> = store
        .authz
        .list(&scope, true, None)
        .into_iter()
        .map(|a| Row {
            name: a.name,
            role: role_name(a.role),
            principal: a.principal_id,
            principal_type: a.principal_type.as_str(),
            inherited: (a.scope.key() != scope.key()).then_some(a.scope.kind()),
            pending: pending
                .iter()
                .filter(|p| p.what.role_assignment_name == a.name && p.what.change == Change::Grant)
                .map(|p| (p.plane, p.effective_at))
                .collect(),
        })
        .collect();
    let mut revocations: Vec<Revocation> = Vec::new();
    for p in pending.iter().filter(|p| p.what.change == Change::Revoke) {
        if !Scope::parse(&p.what.scope).is_ok_and(|s| scope.is_within(&s)) {
            continue;
        }
        match revocations
            .iter_mut()
            .find(|r| r.principal == p.what.principal_id && r.scope == p.what.scope)
        {
            Some(r) => r.until.push((p.plane, p.effective_at)),
            None => revocations.push(Revocation {
                role: store
                    .authz
                    .resolve_role(&p.what.role_definition_name)
                    .map_or_else(|| p.what.role_definition_name.to_string(), role_name),
                principal: p.what.principal_id,
                scope: p.what.scope.clone(),
                until: vec![(p.plane, p.effective_at)],
            }),
        }
    }
    let choices = roles::choose(roles::assignable(&store, &scope), &search);
    let sub_name = scope
        .subscription_id()
        .and_then(|s| Uuid::parse_str(s).ok())
        .and_then(|s| store.subscription(&s))
        .map(|s| s.display_name.clone())
        .unwrap_or_default();
    drop(store);

    let dir = state.directory();
    let names: HashMap<Uuid, String> = dir
        .sps_after(0)
        .map(|(_, sp)| (sp.id, sp.display_name.clone()))
        .collect();
    let members: Vec<(Uuid, String, Uuid)> = dir
        .sps_after(0)
        .map(|(_, sp)| (sp.id, sp.display_name.clone(), sp.app_id))
        .collect();
    drop(dir);
    let name_of = |id: &Uuid| names.get(id).map(String::as_str);

    let here = iam_url(scope.as_str());
    let assignments = html! {
        h2 { "Role assignments" }
        @if rows.is_empty() {
            p class="muted" { "No role assignments apply here." }
        } @else {
            (html::table(&["Role", "Member", "Type", "Scope", "Status", ""], html! {
                @for row in &rows {
                    tr {
                        td { (row.role) }
                        td {
                            (name_of(&row.principal).unwrap_or("Unknown principal"))
                            br;
                            code class="muted" { (row.principal) }
                        }
                        td { (row.principal_type) }
                        @match row.inherited {
                            None => {
                                td { "This resource" }
                                td { (status(&row.pending)) }
                                td {
                                    (button_form(
                                        &format!("{BASE}/iam/assignments/delete"),
                                        &[("scope", scope.as_str()), ("name", &row.name.to_string())],
                                        "Remove",
                                        Some(&format!(
                                            "Remove {} for {}",
                                            row.role,
                                            name_of(&row.principal).unwrap_or("unknown principal")
                                        )),
                                    ))
                                }
                            }
                            Some(kind) => {
                                td { (kind_label(kind)) " (inherited)" }
                                td { (status(&row.pending)) }
                                td {}
                            }
                        }
                    }
                }
            }))
        }
        @if !revocations.is_empty() {
            h2 { "Removals still propagating" }
            ul {
                @for r in &revocations {
                    li {
                        (r.role) " for "
                        @match name_of(&r.principal) {
                            Some(name) => { (name) }
                            None => { (r.principal) }
                        }
                        " at " code { (r.scope) } ": still honoured by "
                        @for (i, (plane, t)) in r.until.iter().enumerate() {
                            @if i > 0 { ", " }
                            (plane_label(*plane)) " until " (when(*t))
                        }
                    }
                }
            }
        }
    };
    let add = html! {
        h2 { "Add role assignment" }
        @if members.is_empty() {
            p class="muted" {
                "There is no service principal to assign a role to yet: create one from an "
                a href={ (BASE) "/apps" } { "app registration" } "."
            }
        } @else {
            (roles::search_form(scope.as_str(), &search))
            @if choices.common.is_empty() && choices.others.is_empty() {
                p class="muted" { "No role matches the search." }
            }
            form method="post" action={ (BASE) "/iam/assignments" } class="stack" {
                input type="hidden" name="scope" value=(scope.as_str());
                label { "Role " (roles::select(&choices, &search)) }
                label {
                    "Member "
                    select name="principal" required {
                        option value="" { "Select a service principal" }
                        @for (id, name, app_id) in &members {
                            option value=(id) { (name) " (application " (app_id) ")" }
                        }
                    }
                }
                div { button type="submit" { "Assign" } }
            }
        }
    };

    let crumbs = html! {
        nav aria-label="Scope" class="muted" {
            @if let Some(sub) = scope.subscription_id() {
                @let sub_scope = format!("/subscriptions/{sub}");
                a href=(iam_url(&sub_scope)) { @if sub_name.is_empty() { (sub) } @else { (sub_name) } }
                @if let Some(rg) = scope.resource_group() {
                    " › "
                    a href=(iam_url(&format!("{sub_scope}/resourceGroups/{rg}"))) { (rg) }
                }
            }
            @if let Some(name) = scope.resource_name() {
                " › " (name)
            }
        }
    };
    let name = match scope.kind() {
        ScopeKind::Subscription => &sub_name,
        ScopeKind::ResourceGroup => scope.resource_group().unwrap_or_default(),
        _ => scope.resource_name().unwrap_or_default(),
    };
    let body = html! {
        (crumbs)
        dl class="props" {
            dt { (kind_label(scope.kind())) } dd { (name) }
            dt { "Scope" } dd { code { (scope.as_str()) } }
        }
        (assignments)
        (add)
        (clock_panel(&state, &here))
    };
    page(
        StatusCode::OK,
        Section::Resources,
        "Access control (IAM)",
        body,
    )
}

/// `POST /_emulator/portal/iam/assignments` with `scope`, `role` (a role definition GUID)
/// and `principal` (a service principal's object id): ARM's role assignment PUT, as the
/// bootstrap admin, under a new assignment name.
pub(crate) async fn add_assignment(state: AppState, _: SameOrigin, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let scope = form.get("scope").unwrap_or("/");
    let back = html::with_query(&iam_path(), "scope", scope);
    let guid = |name| form.get(name).and_then(|v| Uuid::parse_str(v).ok());
    let (Some(role), Some(principal)) = (guid("role"), guid("principal")) else {
        return bad_request("Choose a role and a member.", &back);
    };
    let name = Uuid::new_v4();
    // As the Azure portal sends it: with principalType, so that a just-created service
    // principal can be assigned at once.
    let new = NewAssignment {
        name,
        name_text: name.to_string(),
        role_definition_id: format!("/providers/{DEFINITIONS}/{role}"),
        principal_id: principal,
        principal_type: Some(PrincipalType::ServicePrincipal),
        given_type: Some(PrincipalType::ServicePrincipal.as_str().to_owned()),
        description: None,
        condition: None,
        condition_version: None,
        delegated: None,
        version: PORTAL_API_VERSION.to_owned(),
    };
    match state.put_assignment(DEFAULT_ADMIN_OBJECT_ID, scope, new, state.clock.now()) {
        Ok(_) => see_other(&back),
        Err(e) => arm_error(&e, &back),
    }
}

/// `POST /_emulator/portal/iam/assignments/delete` with `scope` and `name`: ARM's role
/// assignment DELETE, as the bootstrap admin.
pub(crate) async fn remove_assignment(state: AppState, _: SameOrigin, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let scope = form.get("scope").unwrap_or("/");
    let back = html::with_query(&iam_path(), "scope", scope);
    let Some(name) = form.get("name").and_then(|v| Uuid::parse_str(v).ok()) else {
        return bad_request("Name the role assignment to remove.", &back);
    };
    let now = state.clock.now();
    match state.delete_assignment(DEFAULT_ADMIN_OBJECT_ID, scope, name, &name.to_string(), now) {
        Ok(_) => see_other(&back),
        Err(e) => arm_error(&e, &back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_groups_planes_that_agree() {
        let t = time::macros::datetime!(2025-01-01 0:10 UTC);
        let later = time::macros::datetime!(2025-01-01 1:00 UTC);
        let status = |pending: &[(Plane, time::OffsetDateTime)]| status(pending).into_string();
        assert_eq!(status(&[]), r#"<span class="status ok">Effective</span>"#);
        let all: Vec<_> = Plane::ALL.iter().map(|p| (*p, t)).collect();
        assert_eq!(
            status(&all),
            r#"<span class="status pending">Pending until 2025-01-01 00:10:00 UTC</span>"#
        );
        assert_eq!(
            status(&[(Plane::Arm, t), (Plane::AppInsights, later)]),
            concat!(
                r#"<span class="status pending">Pending until 2025-01-01 01:00:00 UTC</span><ul class="planes">"#,
                "<li>ARM: pending until 2025-01-01 00:10:00 UTC</li>",
                "<li>Log Analytics, Custom metrics: effective</li>",
                "<li>Application Insights: pending until 2025-01-01 01:00:00 UTC</li></ul>"
            )
        );
    }
}

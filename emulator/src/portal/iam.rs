//! Subscriptions, resource groups and resources, and access control (IAM) on each: role
//! assignments with their propagation status, adding and removing them.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use uuid::Uuid;

use super::html::{self, BASE, Section, attr_url, button_form, esc, page, see_other, when};
use super::{Fields, SameOrigin, bad_request, clock_panel};
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

fn iam_href(scope: &str) -> String {
    attr_url(&iam_path(), "scope", scope)
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
    let mut body = String::new();
    let mut subscription_options = String::new();
    for sub in store.subscriptions() {
        let sub_scope = format!("/subscriptions/{}", sub.id);
        let selected = if sub.id == state.config.subscription_id {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            subscription_options,
            r#"<option value="{id}"{selected}>{name} ({id})</option>"#,
            id = sub.id,
            name = esc(&sub.display_name),
        );
        let _ = write!(
            body,
            r#"<h2>{name}</h2>
<p>Subscription <code>{id}</code> · <a href="{iam}">Access control (IAM)</a></p>"#,
            name = esc(&sub.display_name),
            id = sub.id,
            iam = iam_href(&sub_scope),
        );
        let mut rows = String::new();
        for group in store.groups(&sub.id) {
            let prefix = format!("{}/", group.id().to_ascii_lowercase());
            let items: String = store
                .resources_under(&prefix, false)
                .map(|r| {
                    format!(
                        r#"<li>{name} <span class="muted">{ty}</span> · <a href="{iam}">Access control (IAM)</a></li>"#,
                        name = esc(&r.name),
                        ty = esc(&r.resource_type),
                        iam = iam_href(&r.id),
                    )
                })
                .collect();
            let resources = if items.is_empty() {
                r#"<span class="muted">None</span>"#.to_owned()
            } else {
                format!("<ul>{items}</ul>")
            };
            let _ = write!(
                rows,
                r#"<tr><td>{name}</td><td>{location}</td><td>{resources}</td><td><a href="{iam}">Access control (IAM)</a></td></tr>"#,
                name = esc(&group.name),
                location = esc(&group.location),
                iam = iam_href(&group.id()),
            );
        }
        if rows.is_empty() {
            body.push_str(r#"<p class="muted">No resource groups.</p>"#);
        } else {
            let _ = write!(
                body,
                r#"<table><thead><tr><th scope="col">Resource group</th><th scope="col">Location</th><th scope="col">Resources</th><th scope="col"><span class="muted">Actions</span></th></tr></thead><tbody>{rows}</tbody></table>"#
            );
        }
    }
    drop(store);
    let regions: String = REGIONS
        .iter()
        .map(|r| {
            let selected = if *r == "eastus" { " selected" } else { "" };
            format!(r#"<option value="{r}"{selected}>{r}</option>"#)
        })
        .collect();
    let _ = write!(
        body,
        r#"<h2>Create a resource group</h2>
<form method="post" action="{BASE}/resource-groups" class="stack">
<label>Subscription <select name="subscription">{subscription_options}</select></label>
<label>Resource group name <input name="name" required maxlength="90" autocomplete="off"></label>
<label>Region <select name="location">{regions}</select></label>
<div><button type="submit">Create</button></div>
</form>"#
    );
    page(
        StatusCode::OK,
        Section::Resources,
        "Subscriptions & resource groups",
        &body,
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
fn status(pending: &[(Plane, time::OffsetDateTime)]) -> String {
    let Some(latest) = pending.iter().map(|(_, t)| *t).max() else {
        return r#"<span class="status ok">Effective</span>"#.to_owned();
    };
    let mut groups: Vec<(Option<time::OffsetDateTime>, Vec<&str>)> = Vec::new();
    for plane in Plane::ALL {
        let at = pending.iter().find(|(p, _)| *p == plane).map(|(_, t)| *t);
        match groups.iter_mut().find(|(t, _)| *t == at) {
            Some((_, planes)) => planes.push(plane_label(plane)),
            None => groups.push((at, vec![plane_label(plane)])),
        }
    }
    let detail = if groups.len() == 1 {
        String::new()
    } else {
        let items: String = groups
            .iter()
            .map(|(at, planes)| match at {
                Some(t) => format!("<li>{}: pending until {}</li>", planes.join(", "), when(*t)),
                None => format!("<li>{}: effective</li>", planes.join(", ")),
            })
            .collect();
        format!(r#"<ul class="planes">{items}</ul>"#)
    };
    format!(
        r#"<span class="status pending">Pending until {}</span>{detail}"#,
        when(latest)
    )
}

/// `GET /_emulator/portal/iam?scope=…`: access control of a subscription, resource group
/// or resource.
pub(crate) async fn iam(state: AppState, RawQuery(raw): RawQuery) -> Response {
    let back = format!("{BASE}/resources");
    let Some(text) = Fields::parse(raw.unwrap_or_default().as_bytes())
        .get("scope")
        .map(str::to_owned)
    else {
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
                .filter(|p| p.role_assignment_name == a.name && p.change == Change::Grant)
                .map(|p| (p.plane, p.effective_at))
                .collect(),
        })
        .collect();
    let mut revocations: Vec<Revocation> = Vec::new();
    for p in pending.iter().filter(|p| p.change == Change::Revoke) {
        if !Scope::parse(&p.scope).is_ok_and(|s| scope.is_within(&s)) {
            continue;
        }
        match revocations
            .iter_mut()
            .find(|r| r.principal == p.principal_id && r.scope == p.scope)
        {
            Some(r) => r.until.push((p.plane, p.effective_at)),
            None => revocations.push(Revocation {
                role: store
                    .authz
                    .resolve_role(&p.role_definition_name)
                    .map_or_else(|| p.role_definition_name.to_string(), role_name),
                principal: p.principal_id,
                scope: p.scope.clone(),
                until: vec![(p.plane, p.effective_at)],
            }),
        }
    }
    let mut roles: Vec<(String, Uuid)> = crate::rbac::roles::all()
        .iter()
        .filter(|r| r.assignable_at(&scope))
        .filter_map(|r| Some((r.role_name.to_owned(), Uuid::parse_str(r.id).ok()?)))
        .chain(
            store
                .authz
                .custom_roles()
                .into_iter()
                .filter(|c| c.assignable_at(&scope))
                .map(|c| (c.role_name.clone(), c.id)),
        )
        .collect();
    roles.sort_by_key(|(name, _)| name.to_ascii_lowercase());
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
    let members: String = dir
        .sps_after(0)
        .map(|(_, sp)| {
            format!(
                r#"<option value="{id}">{name} (application {app_id})</option>"#,
                id = sp.id,
                name = esc(&sp.display_name),
                app_id = sp.app_id,
            )
        })
        .collect();
    drop(dir);
    let member = |id: &Uuid| {
        let name = names
            .get(id)
            .map_or_else(|| "Unknown principal".to_owned(), |n| esc(n));
        format!(r#"{name}<br><code class="muted">{id}</code>"#)
    };

    let here = html::with_query(&iam_path(), "scope", scope.as_str());
    let mut table = String::new();
    for row in &rows {
        let (where_, action) = match row.inherited {
            None => (
                "This resource".to_owned(),
                button_form(
                    &format!("{BASE}/iam/assignments/delete"),
                    &[("scope", scope.as_str()), ("name", &row.name.to_string())],
                    "Remove",
                    Some(&format!(
                        "Remove {} for {}",
                        row.role,
                        names
                            .get(&row.principal)
                            .map_or("unknown principal", String::as_str)
                    )),
                ),
            ),
            Some(kind) => (format!("{} (inherited)", kind_label(kind)), String::new()),
        };
        let _ = write!(
            table,
            r#"<tr><td>{role}</td><td>{member}</td><td>{ty}</td><td>{where_}</td><td>{status}</td><td>{action}</td></tr>"#,
            role = esc(&row.role),
            member = member(&row.principal),
            ty = row.principal_type,
            status = status(&row.pending),
        );
    }
    let assignments = if rows.is_empty() {
        r#"<p class="muted">No role assignments apply here.</p>"#.to_owned()
    } else {
        format!(
            r#"<table><thead><tr><th scope="col">Role</th><th scope="col">Member</th><th scope="col">Type</th><th scope="col">Scope</th><th scope="col">Status</th><th scope="col"><span class="muted">Actions</span></th></tr></thead><tbody>{table}</tbody></table>"#
        )
    };
    let revoked = if revocations.is_empty() {
        String::new()
    } else {
        let items: String = revocations
            .iter()
            .map(|r| {
                let until: Vec<String> = r
                    .until
                    .iter()
                    .map(|(p, t)| format!("{} until {}", plane_label(*p), when(*t)))
                    .collect();
                format!(
                    "<li>{role} for {member} at <code>{scope}</code>: still honoured by {until}</li>",
                    role = esc(&r.role),
                    member = names
                        .get(&r.principal)
                        .map_or_else(|| r.principal.to_string(), |n| esc(n)),
                    scope = esc(&r.scope),
                    until = until.join(", "),
                )
            })
            .collect();
        format!("<h2>Removals still propagating</h2><ul>{items}</ul>")
    };
    let role_options: String = roles
        .iter()
        .map(|(name, id)| format!(r#"<option value="{id}">{}</option>"#, esc(name)))
        .collect();
    let add = if members.is_empty() {
        format!(
            r#"<p class="muted">There is no service principal to assign a role to yet: create one from an <a href="{BASE}/apps">app registration</a>.</p>"#
        )
    } else {
        format!(
            r#"<form method="post" action="{BASE}/iam/assignments" class="stack">
<input type="hidden" name="scope" value="{scope}">
<label>Role <select name="role" required><option value="">Select a role</option>{role_options}</select></label>
<label>Member <select name="principal" required><option value="">Select a service principal</option>{members}</select></label>
<div><button type="submit">Assign</button></div>
</form>"#,
            scope = esc(scope.as_str()),
        )
    };

    let mut crumbs = Vec::new();
    if let Some(sub) = scope.subscription_id() {
        let sub_scope = format!("/subscriptions/{sub}");
        let label = if sub_name.is_empty() { sub } else { &sub_name };
        crumbs.push(format!(
            r#"<a href="{}">{}</a>"#,
            iam_href(&sub_scope),
            esc(label)
        ));
        if let Some(rg) = scope.resource_group() {
            let rg_scope = format!("{sub_scope}/resourceGroups/{rg}");
            crumbs.push(format!(
                r#"<a href="{}">{}</a>"#,
                iam_href(&rg_scope),
                esc(rg)
            ));
        }
    }
    if let Some(name) = scope.resource_name() {
        crumbs.push(esc(name));
    }
    let body = format!(
        r#"<nav aria-label="Scope" class="muted">{crumbs}</nav>
<dl class="props">
<dt>{kind}</dt><dd>{name}</dd>
<dt>Scope</dt><dd><code>{scope}</code></dd>
</dl>
<h2>Role assignments</h2>
{assignments}
{revoked}
<h2>Add role assignment</h2>
{add}
{clock}"#,
        crumbs = crumbs.join(" › "),
        kind = kind_label(scope.kind()),
        name = esc(match scope.kind() {
            ScopeKind::Subscription => &sub_name,
            ScopeKind::ResourceGroup => scope.resource_group().unwrap_or_default(),
            _ => scope.resource_name().unwrap_or_default(),
        }),
        scope = esc(scope.as_str()),
        clock = clock_panel(&state, &here),
    );
    page(
        StatusCode::OK,
        Section::Resources,
        "Access control (IAM)",
        &body,
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

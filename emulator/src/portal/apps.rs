//! App registrations: list, new registration, overview, certificates & secrets, and the
//! service principal.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use maud::{Markup, html};
use time::OffsetDateTime;
use uuid::Uuid;

use super::html::{self, BASE, Section, alert, button_form, copyable, date, page, see_other, when};
use super::{Fields, SameOrigin, bad_request};
use crate::config::Secret;
use crate::directory::{Application, DirError};
use crate::secret;
use crate::services::AppState;

/// Supported account types, as the Azure portal words them, by `signInAudience`. The
/// Azure portal's default (single tenant) comes first.
const ACCOUNT_TYPES: [(&str, &str); 4] = [
    (
        "AzureADMyOrg",
        "Accounts in this organizational directory only (single tenant)",
    ),
    (
        "AzureADMultipleOrgs",
        "Accounts in any organizational directory (multitenant)",
    ),
    (
        "AzureADandPersonalMicrosoftAccount",
        "Accounts in any organizational directory and personal Microsoft accounts",
    ),
    (
        "PersonalMicrosoftAccount",
        "Personal Microsoft accounts only",
    ),
];

/// Longest display name or secret description the portal accepts (its own limit).
const MAX_TEXT: usize = 256;

fn account_type(audience: &str) -> &str {
    ACCOUNT_TYPES
        .iter()
        .find(|(a, _)| *a == audience)
        .map_or(audience, |(_, label)| label)
}

fn app_path(id: &Uuid) -> String {
    format!("{BASE}/apps/{id}")
}

fn not_found(what: &str) -> Response {
    html::error_page(
        StatusCode::NOT_FOUND,
        &format!("No application with object ID '{what}' exists in this tenant."),
        Some((&format!("{BASE}/apps"), "Back to App registrations")),
    )
}

/// The live application whose object id is `raw`, cloned out of the directory.
fn find(state: &AppState, raw: &str) -> Option<Application> {
    Uuid::parse_str(raw)
        .ok()
        .and_then(|id| state.directory().app(&id).cloned())
}

/// The tabs of an application's pages, each a path under the application's own.
const TABS: [(&str, &str); 2] = [("", "Overview"), ("/secrets", "Certificates & secrets")];

/// The tabs of an application's pages, `current` marked.
fn tabs(app: &Application, current: &str) -> Markup {
    let base = app_path(&app.id);
    html! {
        nav class="tabs" aria-label="Application" {
            @for (path, label) in TABS {
                a href={ (base) (path) } aria-current=[(label == current).then_some("page")] {
                    (label)
                }
            }
        }
    }
}

/// `GET /_emulator/portal/apps`.
pub(crate) async fn apps(state: AppState) -> Response {
    let dir = state.directory();
    let rows = html! {
        @for (_, app) in dir.apps_after(0) {
            tr {
                td { a href=(app_path(&app.id)) { (app.display_name) } }
                td { code { (app.app_id) } }
                td { (when(app.created)) }
                td { @if dir.sp_by_app_id(&app.app_id).is_some() { "Yes" } @else { "No" } }
            }
        }
    };
    drop(dir);
    let columns = [
        "Display name",
        "Application (client) ID",
        "Created",
        "Service principal",
    ];
    let body = html! {
        p { a class="button" href={ (BASE) "/apps/new" } { "New registration" } }
        (html::table(&columns, rows))
    };
    page(StatusCode::OK, Section::Apps, "App registrations", body)
}

fn registration_form(name: &str, audience: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { (alert(error)) }
        form method="post" action={ (BASE) "/apps" } class="stack" {
            label {
                "Name "
                input name="displayName" value=(name) required maxlength=(MAX_TEXT) autocomplete="off";
            }
            fieldset {
                legend { "Supported account types" }
                @for (value, label) in ACCOUNT_TYPES {
                    label {
                        input type="radio" name="signInAudience" value=(value) checked[value == audience];
                        " " (label)
                    }
                }
            }
            div { button type="submit" { "Register" } }
        }
    }
}

/// `GET /_emulator/portal/apps/new`.
pub(crate) async fn new_app() -> Response {
    page(
        StatusCode::OK,
        Section::Apps,
        "Register an application",
        registration_form("", ACCOUNT_TYPES[0].0, None),
    )
}

/// `POST /_emulator/portal/apps` with `displayName` and `signInAudience`: registers the
/// application as Graph's `POST /applications` does, then shows its overview.
pub(crate) async fn create_app(state: AppState, _: SameOrigin, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let name = form.get("displayName").unwrap_or_default();
    let audience = form.get("signInAudience").unwrap_or_default();
    let problem = if name.is_empty() {
        Some("Enter a name for the application.".to_owned())
    } else if name.chars().count() > MAX_TEXT {
        Some(format!("The name can have at most {MAX_TEXT} characters."))
    } else if !ACCOUNT_TYPES.iter().any(|(a, _)| *a == audience) {
        Some("Choose the supported account types.".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        return page(
            StatusCode::BAD_REQUEST,
            Section::Apps,
            "Register an application",
            registration_form(name, audience, Some(&problem)),
        );
    }
    let mut app = Application::new(Uuid::new_v4(), Uuid::new_v4(), name, state.clock.now());
    app.sign_in_audience = audience.to_owned();
    let id = app.id;
    state.directory_mut().insert_app(app);
    see_other(&app_path(&id))
}

/// The overview's service principal section: its object id, or a button that creates it.
fn service_principal_section(state: &AppState, app: &Application) -> Markup {
    let sp = state.directory().sp_by_app_id(&app.app_id).cloned();
    html! {
        h2 { "Service principal" }
        @if let Some(sp) = sp {
            dl class="props" {
                dt { "Service principal object ID" }
                dd { (copyable("sp-object-id", &sp.id.to_string(), "Service principal object ID")) }
                dt { "Enabled for sign-in" }
                dd { @if sp.account_enabled { "Yes" } @else { "No" } }
            }
            p {
                "Give it a role on a subscription, resource group or resource from "
                a href={ (BASE) "/resources" } { "Subscriptions & resource groups" }
                "."
            }
        } @else {
            p {
                "This application has no service principal in the tenant yet. It needs one to get "
                "tokens and to be given roles."
            }
            (button_form(&format!("{}/service-principal", app_path(&app.id)), &[], "Create service principal", None))
        }
    }
}

/// `GET /_emulator/portal/apps/{id}`: the application's overview.
pub(crate) async fn app(state: AppState, Path(id): Path<String>) -> Response {
    let Some(app) = find(&state, &id) else {
        return not_found(&id);
    };
    let secrets = app.password_credentials.len();
    let certs = app.key_credentials.len();
    let feds = app.federated_credentials.len();
    let body = html! {
        (tabs(&app, "Overview"))
        h2 { "Essentials" }
        dl class="props" {
            dt { "Display name" } dd { (app.display_name) }
            dt { "Application (client) ID" }
            dd { (copyable("client-id", &app.app_id.to_string(), "Application (client) ID")) }
            dt { "Object ID" } dd { (copyable("object-id", &app.id.to_string(), "Object ID")) }
            dt { "Directory (tenant) ID" }
            dd { (copyable("tenant-id", &state.config.tenant_id.to_string(), "Directory (tenant) ID")) }
            dt { "Supported account types" } dd { (account_type(&app.sign_in_audience)) }
            dt { "Client credentials" }
            dd {
                a href={ (app_path(&app.id)) "/secrets" } {
                    (certs) " certificate" @if certs != 1 { "s" } ", "
                    (secrets) " client secret" @if secrets != 1 { "s" } ", "
                    (feds) " federated credential" @if feds != 1 { "s" }
                }
            }
            dt { "Created" } dd { (when(app.created)) }
        }
        (service_principal_section(&state, &app))
    };
    page(StatusCode::OK, Section::Apps, &app.display_name, body)
}

/// `POST /_emulator/portal/apps/{id}/service-principal`: creates the application's service
/// principal as Graph's `POST /servicePrincipals` does.
pub(crate) async fn create_sp(state: AppState, _: SameOrigin, Path(id): Path<String>) -> Response {
    let Some(app) = find(&state, &id) else {
        return not_found(&id);
    };
    let back = app_path(&app.id);
    let now = state.clock.now();
    let created = state.create_service_principal(app.app_id, now, |_| Ok::<_, DirError>(()));
    match created {
        Ok(_) => see_other(&back),
        Err(DirError::DuplicateServicePrincipal(_)) => html::error_page(
            StatusCode::CONFLICT,
            "This application already has a service principal.",
            Some((&back, "Back to the application")),
        ),
        // The application exists (checked above), so Graph does not see it yet.
        Err(_) => html::error_page(
            StatusCode::CONFLICT,
            "The directory has not replicated this new application yet. Try again in a few seconds.",
            Some((&back, "Back to the application")),
        ),
    }
}

/// The table of an application's client secrets. `revealed` is the secret just created,
/// whose value is shown in its row; every other row shows only the hint.
fn secrets_table(
    app: &Application,
    now: OffsetDateTime,
    revealed: Option<(&Uuid, &Secret)>,
) -> Markup {
    html::table_of(
        &app.password_credentials,
        "No client secrets have been created for this application.",
        &["Description", "Expires", "Value", "Secret ID", ""],
        |c| {
            let description = c.display_name.as_deref().unwrap_or("");
            let named = if description.is_empty() {
                c.key_id.to_string()
            } else {
                description.to_owned()
            };
            html! {
                td { (description) }
                td { (date(c.end)) @if c.end <= now { " (expired)" } }
                td {
                    @match revealed {
                        Some((key, value)) if *key == c.key_id => {
                            (copyable("secret-value", value.expose(), "client secret value"))
                        }
                        _ => { code class="hint" { (c.hint) "******" } }
                    }
                }
                td { (copyable(&format!("secret-id-{}", c.key_id), &c.key_id.to_string(), "Secret ID")) }
                td {
                    (button_form(
                        &format!("{}/secrets/{}/delete", app_path(&app.id), c.key_id),
                        &[],
                        "Delete",
                        Some(&format!("Delete client secret {named}")),
                    ))
                }
            }
        },
    )
}

/// The table of an application's certificates: thumbprint, name, validity, id.
fn certificates_table(app: &Application, now: OffsetDateTime) -> Markup {
    html::table_of(
        &app.key_credentials,
        "No certificates have been added for this application.",
        &[
            "Thumbprint",
            "Description",
            "Start date",
            "Expires",
            "Certificate ID",
        ],
        |k| {
            html! {
                td { (copyable(&format!("cert-thumbprint-{}", k.key_id), &k.cert.thumbprint(), "Thumbprint")) }
                td { (k.display_name.as_deref().unwrap_or("")) }
                td { (date(k.start)) }
                td { (date(k.end)) @if k.end <= now { " (expired)" } }
                td { (copyable(&format!("cert-id-{}", k.key_id), &k.key_id.to_string(), "Certificate ID")) }
            }
        },
    )
}

/// The table of an application's federated identity credentials.
fn federated_table(app: &Application) -> Markup {
    html::table_of(
        &app.federated_credentials,
        "No federated credentials have been added for this application.",
        &["Name", "Issuer", "Subject", "Audience"],
        |f| {
            html! {
                td { (f.name) }
                td { code { (f.issuer) } }
                td { code { (f.subject) } }
                td { code { (f.audiences.join(", ")) } }
            }
        },
    )
}

fn new_secret_form(app: &Application) -> Markup {
    html! {
        h2 { "New client secret" }
        form method="post" action={ (app_path(&app.id)) "/secrets" } class="stack" {
            label {
                "Description "
                input name="description" maxlength=(MAX_TEXT) autocomplete="off";
            }
            label {
                "Expires "
                select name="expires" {
                    option value="180d" selected { "Recommended: 180 days (6 months)" }
                    option value="12m" { "12 months" }
                    option value="24m" { "24 months" }
                    option value="custom" { "Custom" }
                }
            }
            label {
                "Custom end date (when Expires is Custom) "
                input type="date" name="customEnd";
            }
            div { button type="submit" { "Add" } }
        }
    }
}

/// The client secrets section of Certificates & secrets: the table, then the form that
/// adds one (or, right after adding one, the way back).
fn client_secrets_section(
    state: &AppState,
    app: &Application,
    revealed: Option<(&Uuid, &Secret)>,
) -> Markup {
    html! {
        h2 { "Client secrets" }
        p class="muted" {
            "A secret string the application uses to prove its identity when it requests a token."
        }
        (secrets_table(app, state.clock.now(), revealed))
        @if revealed.is_some() {
            p { a href={ (app_path(&app.id)) "/secrets" } { "Done: back to Certificates & secrets" } }
        } @else {
            (new_secret_form(app))
        }
    }
}

/// Certificates & secrets: the tabs, the notice (if any), then one section per kind of
/// credential.
fn secrets_page(
    state: &AppState,
    status: StatusCode,
    app: &Application,
    notice: Option<Markup>,
    revealed: Option<(&Uuid, &Secret)>,
) -> Response {
    let body = html! {
        (tabs(app, "Certificates & secrets"))
        @if let Some(notice) = notice { (notice) }
        h2 { "Certificates" }
        p class="muted" {
            "Public keys of certificates the application signs client assertions with (added through Graph: keyCredentials, addKey)."
        }
        (certificates_table(app, state.clock.now()))
        h2 { "Federated credentials" }
        p class="muted" {
            "External identity providers (GitHub Actions, Kubernetes) whose tokens the application exchanges for its own."
        }
        (federated_table(app))
        (client_secrets_section(state, app, revealed))
    };
    page(
        status,
        Section::Apps,
        &format!("{} · Certificates & secrets", app.display_name),
        body,
    )
}

/// `GET /_emulator/portal/apps/{id}/secrets`: the secrets, hints only.
pub(crate) async fn secrets(state: AppState, Path(id): Path<String>) -> Response {
    match find(&state, &id) {
        Some(app) => secrets_page(&state, StatusCode::OK, &app, None, None),
        None => not_found(&id),
    }
}

/// When a secret chosen in the form expires, or what is wrong with the choice.
fn expiry(form: &Fields, now: OffsetDateTime) -> Result<OffsetDateTime, &'static str> {
    let end = match form.get("expires") {
        Some("180d") => now + time::Duration::days(180),
        Some("12m") => secret::years_after(now, 1),
        Some("24m") => secret::years_after(now, 2),
        Some("custom") => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let day = form
                .get("customEnd")
                .and_then(|d| time::Date::parse(d, &format).ok())
                .ok_or("Choose the custom end date (YYYY-MM-DD).")?;
            // The chosen day, at the current time of day.
            now.replace_date(day)
        }
        _ => return Err("Choose when the secret expires."),
    };
    if end <= now {
        return Err("The end date must be after today.");
    }
    Ok(end)
}

/// `POST /_emulator/portal/apps/{id}/secrets` with `description`, `expires` (`180d`,
/// `12m`, `24m`, `custom`) and `customEnd`: adds a secret as Graph's `addPassword` does and
/// answers with the one page that shows its value.
pub(crate) async fn create_secret(
    state: AppState,
    _: SameOrigin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(app) = find(&state, &id) else {
        return not_found(&id);
    };
    let back = format!("{}/secrets", app_path(&app.id));
    let form = Fields::parse(&body);
    let description = form.get("description").map(str::to_owned);
    if description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_TEXT)
    {
        return bad_request(
            &format!("The description can have at most {MAX_TEXT} characters."),
            &back,
        );
    }
    let now = state.clock.now();
    let end = match expiry(&form, now) {
        Ok(end) => end,
        Err(message) => return bad_request(message, &back),
    };
    let mut dir = state.directory_mut();
    let added = dir.add_password(&app.id, description, now, end);
    let app = dir.app(&app.id).cloned();
    drop(dir);
    let (Ok((credential, value)), Some(app)) = (added, app) else {
        return not_found(&id);
    };
    let notice = html! {
        p class="warning" role="alert" {
            strong { "Copy the new client secret value now." }
            " It is shown only on this page: once you leave or reload it, the value cannot be "
            "viewed again, only its first three characters."
        }
    };
    secrets_page(
        &state,
        StatusCode::OK,
        &app,
        Some(notice),
        Some((&credential.key_id, &value)),
    )
}

/// `POST /_emulator/portal/apps/{id}/secrets/{keyId}/delete`: removes the secret as Graph's
/// `removePassword` does.
pub(crate) async fn delete_secret(
    state: AppState,
    _: SameOrigin,
    Path((id, key)): Path<(String, String)>,
) -> Response {
    let Some(app) = find(&state, &id) else {
        return not_found(&id);
    };
    let back = format!("{}/secrets", app_path(&app.id));
    let removed = Uuid::parse_str(&key).map_err(|_| ()).and_then(|k| {
        state
            .directory_mut()
            .remove_password(&app.id, &k)
            .map_err(|_| ())
    });
    match removed {
        Ok(()) => see_other(&back),
        Err(()) => html::error_page(
            StatusCode::NOT_FOUND,
            &format!("This application has no client secret with ID '{key}'."),
            Some((&back, "Back to Certificates & secrets")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_types_are_graph_sign_in_audiences() {
        for (audience, _) in ACCOUNT_TYPES {
            assert!(crate::directory::SIGN_IN_AUDIENCES.contains(&audience));
        }
        assert_eq!(
            ACCOUNT_TYPES.len(),
            crate::directory::SIGN_IN_AUDIENCES.len()
        );
    }

    #[test]
    fn expiry_choices() {
        let now = time::macros::datetime!(2025-03-10 08:30 UTC);
        let form = |pairs: &[(&str, &str)]| {
            Fields::parse(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish()
                    .as_bytes(),
            )
        };
        let end = |pairs: &[(&str, &str)]| expiry(&form(pairs), now);
        assert_eq!(
            end(&[("expires", "180d")]),
            Ok(time::macros::datetime!(2025-09-06 08:30 UTC))
        );
        assert_eq!(
            end(&[("expires", "12m")]),
            Ok(time::macros::datetime!(2026-03-10 08:30 UTC))
        );
        assert_eq!(
            end(&[("expires", "24m")]),
            Ok(time::macros::datetime!(2027-03-10 08:30 UTC))
        );
        assert_eq!(
            end(&[("expires", "custom"), ("customEnd", "2025-04-01")]),
            Ok(time::macros::datetime!(2025-04-01 08:30 UTC))
        );
        assert!(end(&[("expires", "custom"), ("customEnd", "2025-03-10")]).is_err());
        assert!(end(&[("expires", "custom"), ("customEnd", "April")]).is_err());
        assert!(end(&[("expires", "custom")]).is_err());
        assert!(end(&[("expires", "forever")]).is_err());
        assert!(end(&[]).is_err());
    }
}

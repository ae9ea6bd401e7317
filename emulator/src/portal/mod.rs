//! A small portal for the app registration flow, served at `/_emulator/portal`: tenant
//! overview and clock, app registrations, client secrets, service principals, and access
//! control (IAM) on subscriptions, resource groups and resources.
//!
//! Server-rendered HTML from `maud` templates (every value escaped by the template), forms
//! that POST and redirect (POST/redirect/GET), and one small script for copy buttons and
//! the role search; every page works without it. Every change goes through the same domain code as Microsoft Graph and
//! ARM (the services layer, acting as the bootstrap admin on ARM), so it is
//! visible through those APIs and the other way round. A new secret's value appears only in
//! the answer to the POST that created it, never on a page that can be fetched again.
//!
//! Like the rest of the control API the portal is unauthenticated and meant for loopback.
//! It acts as the bootstrap admin on ARM. Form posts must still come from the portal's
//! own pages (see [`SameOrigin`]), so that another site open in the same browser cannot
//! make them.

mod apps;
mod html;
mod iam;
mod roles;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use bytes::Bytes;
use maud::{Markup, html};

pub(crate) use apps::{
    app, apps, create_app, create_secret, create_sp, delete_secret, new_app, secrets,
};
pub(crate) use iam::{add_assignment, create_group, iam, remove_assignment, resources};

use self::html::{BASE, Section, copyable, page, when};
use crate::services::AppState;

/// Refuses cross-site form posts. The portal has no login, so its only protection against
/// another web page posting forms to it (CSRF) is checking where a post comes from: the
/// `Origin` header, when sent, must be the portal's own origin, and `Sec-Fetch-Site`, when
/// sent, must be `same-origin`. Browsers send both on form posts; clients that send
/// neither (curl, tests) are not browsers driven by another site and are let through.
#[derive(Debug)]
pub(crate) struct SameOrigin;

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if crate::http::is_same_origin(state, &parts.headers) {
            Ok(Self)
        } else {
            Err(html::error_page(
                StatusCode::FORBIDDEN,
                "This form was posted from another site. Use the portal's own pages.",
                Some((BASE, "Back to the portal")),
            ))
        }
    }
}

/// The fields of a URL-encoded form (the first value of each name counts).
#[derive(Debug, Default)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The field's value, trimmed; `None` when absent or blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// A 400 page naming what is wrong with the form.
pub(crate) fn bad_request(message: &str, back: &str) -> Response {
    html::error_page(StatusCode::BAD_REQUEST, message, Some((back, "Back")))
}

/// The clock and a form to move it forward; `back` is where to return afterwards.
pub(crate) fn clock_panel(state: &AppState, back: &str) -> Markup {
    const PRESETS: [(&str, &str); 4] = [
        ("60", "+1 minute"),
        ("600", "+10 minutes"),
        ("3600", "+1 hour"),
        ("86400", "+1 day"),
    ];
    let action = format!("{BASE}/clock/advance");
    html! {
        section aria-labelledby="clock-heading" {
            h2 id="clock-heading" { "Clock" }
            p { "Emulator time: " time id="clock-now" { (when(state.clock.now())) } }
            form method="post" action=(action) class="inline" {
                input type="hidden" name="back" value=(back);
                span class="muted" { "Advance:" }
                @for (seconds, label) in PRESETS {
                    " "
                    button type="submit" name="seconds" value=(seconds) { (label) }
                }
            }
            " "
            form method="post" action=(action) class="inline" {
                input type="hidden" name="back" value=(back);
                label {
                    "or by "
                    input type="number" name="seconds" min="0" step="1" required;
                    " seconds"
                }
                " "
                button type="submit" { "Advance" }
            }
        }
    }
}

/// `GET /_emulator/portal`: the tenant overview.
pub(crate) async fn overview(state: AppState) -> Response {
    let c = &state.config;
    let (apps, sps) = state.directory().counts();
    let store = state.arm();
    let subscriptions = html! {
        @for s in store.subscriptions() {
            tr {
                td { (s.display_name) }
                td { code { (s.id) } }
                td { a href=(iam::iam_url(&format!("/subscriptions/{}", s.id))) { "Access control (IAM)" } }
            }
        }
    };
    drop(store);
    let body = html! {
        dl class="props" {
            dt { "Tenant name" } dd { (c.tenant_display_name) }
            dt { "Tenant ID" } dd { (copyable("tenant-id", &c.tenant_id.to_string(), "Tenant ID")) }
            dt { "Primary domain" } dd { (c.tenant_domain) }
            dt { "Default subscription" }
            dd { (copyable("subscription-id", &c.subscription_id.to_string(), "Subscription ID")) }
            dt { "Bootstrap admin client ID" } dd { code { (c.admin_client_id) } }
            dt { "App registrations" } dd { a href={ (BASE) "/apps" } { (apps) } }
            dt { "Service principals" } dd { (sps) }
        }
        (clock_panel(&state, BASE))
        h2 { "Subscriptions" }
        (html::table(&["Name", "Subscription ID", ""], subscriptions))
        p { a href={ (BASE) "/resources" } { "Resource groups and resources" } }
    };
    page(StatusCode::OK, Section::Overview, "Tenant overview", body)
}

/// `POST /_emulator/portal/clock/advance` with `seconds` and `back` (a portal path).
pub(crate) async fn advance_clock(state: AppState, _: SameOrigin, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    // Only a portal path: the redirect must not leave the portal.
    let back = form
        .get("back")
        .filter(|b| b.starts_with(BASE) && !b.contains(['\r', '\n', '\\']))
        .unwrap_or(BASE);
    let Some(seconds) = form.get("seconds").and_then(|s| s.parse::<f64>().ok()) else {
        return bad_request("Enter the number of seconds to advance the clock by.", back);
    };
    if state.advance_clock_seconds(seconds).is_err() {
        return bad_request(crate::services::tenant::ADVANCE_RANGE, back);
    }
    html::see_other(back)
}

/// `GET /_emulator/portal/assets/portal.css`.
pub(crate) async fn css() -> Response {
    html::asset("text/css; charset=utf-8", html::CSS)
}

/// `GET /_emulator/portal/assets/portal.js`.
pub(crate) async fn js() -> Response {
    html::asset("text/javascript; charset=utf-8", html::JS)
}

/// Any other portal path.
/// A portal error page for a request refused before it reached a page (see [`crate::router::input`]).
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    html::error_page(status, message, Some((BASE, "Go to the tenant overview")))
}

pub(crate) async fn not_found() -> Response {
    html::error_page(
        StatusCode::NOT_FOUND,
        "There is no such portal page.",
        Some((BASE, "Go to the tenant overview")),
    )
}

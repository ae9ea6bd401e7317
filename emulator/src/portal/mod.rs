//! A small portal for the app registration flow, served at `/_emulator/portal`: tenant
//! overview and clock, app registrations, client secrets, service principals, and access
//! control (IAM) on subscriptions, resource groups and resources.
//!
//! Server-rendered HTML, forms that POST and redirect (POST/redirect/GET), one tiny script
//! for copy buttons. Every change goes through the same domain code as Microsoft Graph and
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

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use bytes::Bytes;

pub(crate) use apps::{
    app, apps, create_app, create_secret, create_sp, delete_secret, new_app, secrets,
};
pub(crate) use iam::{add_assignment, create_group, iam, remove_assignment, resources};

use self::html::{BASE, Section, copyable, esc, page, when};
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
pub(crate) fn clock_panel(state: &AppState, back: &str) -> String {
    let presets = [
        ("60", "+1 minute"),
        ("600", "+10 minutes"),
        ("3600", "+1 hour"),
        ("86400", "+1 day"),
    ]
    .iter()
    .map(|(s, label)| {
        format!(r#"<button type="submit" name="seconds" value="{s}">{label}</button>"#)
    })
    .collect::<Vec<_>>()
    .join(" ");
    format!(
        r#"<section aria-labelledby="clock-heading">
<h2 id="clock-heading">Clock</h2>
<p>Emulator time: <time id="clock-now">{now}</time></p>
<form method="post" action="{BASE}/clock/advance" class="inline">
<input type="hidden" name="back" value="{back}">
<span class="muted">Advance:</span> {presets}
</form>
<form method="post" action="{BASE}/clock/advance" class="inline">
<input type="hidden" name="back" value="{back}">
<label>or by <input type="number" name="seconds" min="0" step="1" required> seconds</label>
<button type="submit">Advance</button>
</form>
</section>"#,
        now = when(state.clock.now()),
        back = esc(back),
    )
}

/// `GET /_emulator/portal`: the tenant overview.
pub(crate) async fn overview(state: AppState) -> Response {
    let c = &state.config;
    let (apps, sps) = state.directory().counts();
    let subscriptions: String = state
        .arm()
        .subscriptions()
        .map(|s| {
            let id = s.id.to_string();
            format!(
                r#"<tr><td>{name}</td><td><code>{id}</code></td><td><a href="{iam}">Access control (IAM)</a></td></tr>"#,
                name = esc(&s.display_name),
                iam = html::attr_url(&format!("{BASE}/iam"), "scope", &format!("/subscriptions/{id}")),
            )
        })
        .collect();
    let body = format!(
        r#"<dl class="props">
<dt>Tenant name</dt><dd>{tenant_name}</dd>
<dt>Tenant ID</dt><dd>{tenant}</dd>
<dt>Primary domain</dt><dd>{domain}</dd>
<dt>Default subscription</dt><dd>{subscription}</dd>
<dt>Bootstrap admin client ID</dt><dd><code>{admin}</code></dd>
<dt>App registrations</dt><dd><a href="{BASE}/apps">{apps}</a></dd>
<dt>Service principals</dt><dd>{sps}</dd>
</dl>
{clock}
<h2>Subscriptions</h2>
<table><thead><tr><th scope="col">Name</th><th scope="col">Subscription ID</th><th scope="col"><span class="muted">Actions</span></th></tr></thead>
<tbody>{subscriptions}</tbody></table>
<p><a href="{BASE}/resources">Resource groups and resources</a></p>"#,
        tenant_name = esc(&c.tenant_display_name),
        tenant = copyable("tenant-id", &c.tenant_id.to_string(), "Tenant ID"),
        domain = esc(&c.tenant_domain),
        subscription = copyable(
            "subscription-id",
            &c.subscription_id.to_string(),
            "Subscription ID"
        ),
        admin = c.admin_client_id,
        clock = clock_panel(&state, BASE),
    );
    page(StatusCode::OK, Section::Overview, "Tenant overview", &body)
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

//! HTML building blocks of the portal: escaping, the page frame, and the few small assets.
//!
//! Pages are plain strings put together with `format!`; every value that comes from a
//! user or from stored data goes through [`esc`] (or [`attr_url`]) on its way in.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

/// Where the portal lives.
pub(crate) const BASE: &str = "/_emulator/portal";

/// Escapes text for use in HTML element content and in quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `path?name=value`, with the value URL-encoded (ready for [`esc`] into an attribute, or
/// for a `Location` header).
pub(crate) fn with_query(path: &str, name: &str, value: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    format!("{path}?{query}")
}

/// `with_query`, escaped for an `href`.
pub(crate) fn attr_url(path: &str, name: &str, value: &str) -> String {
    esc(&with_query(path, name, value))
}

/// How the portal shows a time: `2025-01-31 12:00:00 UTC`.
pub(crate) fn when(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// How the portal shows a date: `2025-01-31`.
pub(crate) fn date(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A value with a copy button beside it (the button copies the element's text).
pub(crate) fn copyable(id: &str, value: &str, label: &str) -> String {
    format!(
        r#"<code id="{id}">{value}</code> <button type="button" class="copy" data-copy-target="{id}" aria-label="Copy {label}">Copy</button>"#,
        id = esc(id),
        value = esc(value),
        label = esc(label),
    )
}

/// A form that POSTs to `action` with one button; `hidden` fields go along.
pub(crate) fn button_form(
    action: &str,
    hidden: &[(&str, &str)],
    label: &str,
    aria: Option<&str>,
) -> String {
    let mut out = format!(
        r#"<form method="post" action="{}" class="inline">"#,
        esc(action)
    );
    for (name, value) in hidden {
        let _ = write!(
            out,
            r#"<input type="hidden" name="{}" value="{}">"#,
            esc(name),
            esc(value)
        );
    }
    let aria = aria.map_or_else(String::new, |a| format!(r#" aria-label="{}""#, esc(a)));
    let _ = write!(
        out,
        r#"<button type="submit"{aria}>{}</button></form>"#,
        esc(label)
    );
    out
}

/// The main navigation's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Apps,
    Resources,
    None,
}

/// A whole page: frame, navigation, `<main>` with the title as its heading.
pub(crate) fn page(status: StatusCode, section: Section, title: &str, body: &str) -> Response {
    let nav = [
        (Section::Overview, BASE.to_owned(), "Overview"),
        (Section::Apps, format!("{BASE}/apps"), "App registrations"),
        (
            Section::Resources,
            format!("{BASE}/resources"),
            "Subscriptions & resource groups",
        ),
    ]
    .iter()
    .map(|(s, href, label)| {
        let current = if *s == section {
            r#" aria-current="page""#
        } else {
            ""
        };
        format!(r#"<a href="{href}"{current}>{label}</a>"#)
    })
    .collect::<Vec<_>>()
    .join(" ");
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Entra Emulator portal</title>
<link rel="stylesheet" href="{BASE}/assets/portal.css">
<script src="{BASE}/assets/portal.js" defer></script>
</head>
<body>
<header><a class="brand" href="{BASE}">Entra Emulator</a>
<nav aria-label="Portal">{nav}</nav></header>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        title = esc(title),
    );
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(h);
    response
}

/// Headers every portal answer carries. `no-store`: pages show live state, and the page
/// showing a new secret must not be kept anywhere. The content security policy allows
/// only the portal's own stylesheet and script, so even a missed escape could not run
/// injected script.
fn secure(h: &mut axum::http::HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: under it browsers send `Origin: null` on form posts, which the
    // same-origin check must refuse.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// An error page: a heading and the message.
pub(crate) fn error_page(
    status: StatusCode,
    message: &str,
    back: Option<(&str, &str)>,
) -> Response {
    let back = back.map_or_else(String::new, |(href, label)| {
        format!(r#"<p><a href="{}">{}</a></p>"#, esc(href), esc(label))
    });
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        status,
        Section::None,
        title,
        &format!(
            r#"<p class="error" role="alert">{}</p>{back}"#,
            esc(message)
        ),
    )
}

/// `303 See Other` to `location` (POST/redirect/GET).
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, v);
            secure(response.headers_mut());
            response
        }
        Err(_) => error_page(StatusCode::BAD_REQUEST, "Invalid redirect target.", None),
    }
}

/// A static asset.
pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The portal's stylesheet.
pub(crate) const CSS: &str = r#"
:root { color-scheme: light; --accent: #0f6cbd; --line: #d1d1d1; --muted: #616161; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, "Segoe UI", sans-serif; color: #242424; background: #fafafa; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1b1a19; }
header a { color: #fff; text-decoration: none; }
header .brand { font-weight: 600; }
header nav a { margin-right: 1rem; opacity: .85; }
header nav a[aria-current="page"] { opacity: 1; border-bottom: 2px solid #fff; }
main { max-width: 1100px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; font-weight: 600; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; font-weight: 600; margin: 1.6rem 0 .6rem; }
a { color: var(--accent); }
.tabs { display: flex; gap: 1rem; border-bottom: 1px solid var(--line); margin-bottom: 1rem; }
.tabs a { padding: .3rem 0; text-decoration: none; }
.tabs a[aria-current="page"] { border-bottom: 2px solid var(--accent); font-weight: 600; }
dl.props { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1.5rem; margin: 0; }
dl.props dt { color: var(--muted); }
dl.props dd { margin: 0; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: #f3f3f3; }
code { font: 13px ui-monospace, SFMono-Regular, Consolas, monospace; word-break: break-all; }
button, .button { font: inherit; padding: .3rem .8rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.copy, form.inline button { background: #fff; color: var(--accent); padding: .1rem .5rem; }
form.inline { display: inline; margin: 0; }
form.stack { display: grid; gap: .8rem; max-width: 36rem; background: #fff; padding: 1rem; border: 1px solid var(--line); }
form.stack label { display: grid; gap: .2rem; font-weight: 600; }
fieldset { border: 1px solid var(--line); padding: .5rem .8rem; }
fieldset label { font-weight: 400 !important; display: flex !important; gap: .4rem; }
input, select { font: inherit; font-weight: 400; padding: .3rem; max-width: 100%; }
form.stack select { width: 100%; }
.warning { background: #fff4ce; border: 1px solid #f7d77a; padding: .6rem .8rem; }
.error { background: #fde7e9; border: 1px solid #f1bbbc; padding: .6rem .8rem; }
.status.ok { color: #107c10; font-weight: 600; }
.status.pending { color: #8a5a00; font-weight: 600; }
ul.planes { margin: .2rem 0 0; padding-left: 1.1rem; color: var(--muted); }
.muted { color: var(--muted); }
"#;

/// The portal's only script: copy buttons.
pub(crate) const JS: &str = r#"// Copy buttons copy the text of the element named by data-copy-target.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-copy-target]');
  if (!button) return;
  const target = document.getElementById(button.dataset.copyTarget);
  if (!target) return;
  try {
    await navigator.clipboard.writeText(target.textContent.trim());
    button.textContent = 'Copied';
  } catch {
    // No clipboard access: select the text so that it can be copied by hand.
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = 'Selected: press Ctrl+C';
  }
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
        assert_eq!(esc("plain é"), "plain é");
    }

    #[test]
    fn query_values_are_encoded_then_escaped() {
        assert_eq!(
            with_query("/p", "scope", "/subscriptions/a b&c"),
            "/p?scope=%2Fsubscriptions%2Fa+b%26c"
        );
        assert_eq!(attr_url("/p", "a", "\"<"), "/p?a=%22%3C");
    }

    #[test]
    fn times_show_in_utc() {
        let t = time::macros::datetime!(2025-01-31 13:00:05 +01:00);
        assert_eq!(when(t), "2025-01-31 12:00:05 UTC");
        assert_eq!(date(t), "2025-01-31");
    }
}

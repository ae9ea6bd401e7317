//! HTML building blocks of the portal: the page frame, a few shared pieces, and the small
//! assets.
//!
//! Pages are `maud` templates, checked when the crate compiles. maud escapes every value
//! spliced into element text or an attribute, so no code here escapes by hand; only fixed
//! markup written in this module is ever passed through unescaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use time::OffsetDateTime;

/// Where the portal lives.
pub(crate) const BASE: &str = "/_emulator/portal";

/// `path?name=value`, with the value URL-encoded (for an `href`, where the template
/// escapes it, or for a `Location` header).
pub(crate) fn with_query(path: &str, name: &str, value: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    format!("{path}?{query}")
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
pub(crate) fn copyable(id: &str, value: &str, label: &str) -> Markup {
    html! {
        code id=(id) { (value) }
        " "
        button type="button" class="copy" data-copy-target=(id) aria-label={ "Copy " (label) } {
            "Copy"
        }
    }
}

/// A form that POSTs to `action` with one button; `hidden` fields go along.
pub(crate) fn button_form(
    action: &str,
    hidden: &[(&str, &str)],
    label: &str,
    aria: Option<&str>,
) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            @for (name, value) in hidden {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" aria-label=[aria] { (label) }
        }
    }
}

/// An error message inside a page (a refused form, say).
pub(crate) fn alert(message: &str) -> Markup {
    html! { p class="error" role="alert" { (message) } }
}

/// A table with a header row of `columns`; an empty column heading is the actions column.
pub(crate) fn table(columns: &[&str], rows: Markup) -> Markup {
    html! {
        table {
            thead {
                tr {
                    @for column in columns {
                        th scope="col" {
                            @if column.is_empty() {
                                span class="muted" { "Actions" }
                            } @else {
                                (column)
                            }
                        }
                    }
                }
            }
            tbody { (rows) }
        }
    }
}

/// A [`table`] with a row of cells from `row` for each of `items`, or the note `none` when
/// there are no items.
pub(crate) fn table_of<T>(
    items: &[T],
    none: &str,
    columns: &[&str],
    row: impl Fn(&T) -> Markup,
) -> Markup {
    if items.is_empty() {
        return html! { p class="muted" { (none) } };
    }
    let rows = html! {
        @for item in items {
            tr { (row(item)) }
        }
    };
    table(columns, rows)
}

/// The main navigation's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Apps,
    Resources,
    None,
}

/// The main navigation: section, path under [`BASE`], label.
const NAV: [(Section, &str, &str); 3] = [
    (Section::Overview, "", "Overview"),
    (Section::Apps, "/apps", "App registrations"),
    (
        Section::Resources,
        "/resources",
        "Subscriptions & resource groups",
    ),
];

/// A whole page: frame, navigation, `<main>` with the title as its heading.
pub(crate) fn page(status: StatusCode, section: Section, title: &str, body: Markup) -> Response {
    let html = html! {
        (PreEscaped("<!doctype html>\n"))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Entra Emulator portal" }
                link rel="stylesheet" href={ (BASE) "/assets/portal.css" };
                script src={ (BASE) "/assets/portal.js" } defer {}
            }
            body {
                header {
                    a class="brand" href=(BASE) { "Entra Emulator" }
                    nav aria-label="Portal" {
                        @for (s, path, label) in NAV {
                            a href={ (BASE) (path) } aria-current=[(s == section).then_some("page")] {
                                (label)
                            }
                            " "
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    let mut response = (status, html.into_string()).into_response();
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
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        (alert(message))
        @if let Some((href, label)) = back {
            p { a href=(href) { (label) } }
        }
    };
    page(status, Section::None, title, body)
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
form.search { margin: 0 0 .8rem; }
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

/// The portal's only script: copy buttons, and the role search filtering as the user types.
/// Every page works without it.
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

// A search box with data-filter hides the options of that select which do not match as
// the user types, by the server's rule for ?q= (portal/roles.rs): each word of the search
// is in the option's name or starts a word of its title (the role's description),
// ignoring case. Submitting the search asks the server instead.
const words = (text) => text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
document.addEventListener('input', (event) => {
  const input = event.target.closest('input[data-filter]');
  if (!input) return;
  const select = document.getElementById(input.dataset.filter);
  if (!select) return;
  const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const option of select.querySelectorAll('option:not([value=""])')) {
    const name = option.textContent.toLowerCase();
    const description = words(option.title);
    option.hidden = !terms.every((t) => name.includes(t) || description.some((w) => w.startsWith(t)));
  }
  for (const group of select.querySelectorAll('optgroup')) {
    group.hidden = !group.querySelector('option:not([hidden])');
  }
  if (select.selectedOptions[0]?.hidden) select.value = '';
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            with_query("/p", "scope", "/subscriptions/a b&c"),
            "/p?scope=%2Fsubscriptions%2Fa+b%26c"
        );
        assert_eq!(with_query("/p", "a", "\"<"), "/p?a=%22%3C");
    }

    #[test]
    fn values_are_escaped_in_text_and_attributes() {
        let hostile = r#"<script>alert("x&y")</script>"#;
        let escaped = "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;";
        assert_eq!(
            copyable("v", hostile, hostile).into_string(),
            format!(
                r#"<code id="v">{escaped}</code> <button type="button" class="copy" data-copy-target="v" aria-label="Copy {escaped}">Copy</button>"#
            )
        );
        assert_eq!(
            button_form("/a?b&c", &[("n", hostile)], "Go", None).into_string(),
            format!(
                r#"<form method="post" action="/a?b&amp;c" class="inline"><input type="hidden" name="n" value="{escaped}"><button type="submit">Go</button></form>"#
            )
        );
    }

    #[test]
    fn times_show_in_utc() {
        let t = time::macros::datetime!(2025-01-31 13:00:05 +01:00);
        assert_eq!(when(t), "2025-01-31 12:00:05 UTC");
        assert_eq!(date(t), "2025-01-31");
    }
}

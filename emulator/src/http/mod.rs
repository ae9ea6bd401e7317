//! Small HTTP helpers shared by every service module.

pub(crate) mod bearer;
#[cfg(feature = "monitor")]
pub(crate) mod body;

use axum::http::{HeaderMap, header};

use crate::services::AppState;

/// The base URL a client used to reach the emulator (`scheme://host[:port]`), taken from
/// the `Host` header so that discovery documents point back at the name the client knows;
/// the configured base URL when the header is absent or implausible.
pub(crate) fn request_base(state: &AppState, headers: &HeaderMap) -> String {
    let scheme = if state.base_url.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) if is_plausible_host(host) => format!("{scheme}://{host}"),
        _ => state.base_url.clone(),
    }
}

fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}

/// Decodes the `%XX` escapes of a URL path; an invalid escape is kept as written and bytes
/// that are not UTF-8 become U+FFFD.
pub(crate) fn percent_decode(path: &str) -> std::borrow::Cow<'_, str> {
    percent_encoding::percent_decode_str(path).decode_utf8_lossy()
}

/// Whether a request comes from a page of the emulator's own origin, or from a client that
/// is not a browser: `Sec-Fetch-Site`, when sent, must be `same-origin`, and `Origin`, when
/// sent, the emulator's base URL as the client reached it. Browsers send both on form posts
/// and cross-site fetches; curl and SDKs send neither.
pub(crate) fn is_same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).map(|v| v.to_str().unwrap_or("invalid"));
    if let Some(site) = header("sec-fetch-site")
        && !site.eq_ignore_ascii_case("same-origin")
    {
        return false;
    }
    match header(header::ORIGIN.as_str()) {
        Some(origin) => origin.eq_ignore_ascii_case(&request_base(state, headers)),
        None => true,
    }
}

/// The host (and port) part of a base URL.
pub(crate) fn host_of(base: &str) -> &str {
    base.split_once("://")
        .map_or(base, |(_, rest)| rest)
        .trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_strips_scheme_and_slash() {
        assert_eq!(host_of("https://127.0.0.1:8443/"), "127.0.0.1:8443");
        assert_eq!(host_of("localhost:1"), "localhost:1");
    }

    #[test]
    fn paths_are_percent_decoded() {
        assert_eq!(percent_decode("/a%20b/%2Fc%zz"), "/a b//c%zz");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
    }

    #[test]
    fn implausible_hosts_are_rejected() {
        assert!(is_plausible_host("localhost:8443"));
        assert!(is_plausible_host("[::1]:8443"));
        assert!(!is_plausible_host("evil.com/path"));
        assert!(!is_plausible_host(""));
        assert!(!is_plausible_host("a b"));
    }
}

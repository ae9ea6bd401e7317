//! Small HTTP helpers shared by every service module.

use axum::http::{HeaderMap, header};

use crate::state::AppState;

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
    fn implausible_hosts_are_rejected() {
        assert!(is_plausible_host("localhost:8443"));
        assert!(is_plausible_host("[::1]:8443"));
        assert!(!is_plausible_host("evil.com/path"));
        assert!(!is_plausible_host(""));
        assert!(!is_plausible_host("a b"));
    }
}

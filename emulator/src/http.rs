//! Small HTTP helpers shared by every service module.

use std::cell::Cell;

use axum::http::{HeaderMap, HeaderValue, header};
use uuid::Uuid;

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

/// The request's `Authorization` header, if any; `Err` when it is sent more than once.
///
/// HTTP allows a field to repeat only when its value is a comma-separated list, which
/// `Authorization` is not (RFC 9110 §5.3), and nothing tells which of two credentials was
/// meant: every service refuses the request as it refuses a malformed header, instead of
/// using the first.
pub(crate) fn authorization(headers: &HeaderMap) -> Result<Option<&HeaderValue>, RepeatedHeader> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let first = values.next();
    match values.next() {
        Some(_) => Err(RepeatedHeader),
        None => Ok(first),
    }
}

/// A header that may appear once was sent several times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RepeatedHeader;

/// A fresh GUID for a request or correlation id. Not `Uuid::new_v4`: that asks the OS for
/// random bytes on every call (a system call per request); these come from a per-thread
/// SplitMix64 stream seeded once from the OS, which is unique and unpredictable enough for
/// ids that only need to differ.
pub(crate) fn request_id() -> Uuid {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(Uuid::new_v4().as_u64_pair().0);
    }
    let next = || {
        STATE.with(|s| {
            let x = s.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            s.set(x);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next().to_le_bytes());
    bytes[8..].copy_from_slice(&next().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
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
    fn request_ids_are_version_4_guids_and_differ() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn a_repeated_authorization_header_is_an_error() {
        let mut headers = HeaderMap::new();
        assert_eq!(authorization(&headers), Ok(None));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        assert_eq!(
            authorization(&headers),
            Ok(Some(&HeaderValue::from_static("Bearer a")))
        );
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        assert_eq!(authorization(&headers), Err(RepeatedHeader));
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

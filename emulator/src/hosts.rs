//! The host names the emulator answers to: its defence against DNS rebinding.
//!
//! A web page on `rebind.attacker.test`, whose name the attacker then makes resolve to
//! 127.0.0.1, is to the browser on the same origin as the emulator: it can read every answer
//! and post to every route, and the cross-site checks of the portal and the control API
//! compare `Origin` with `Host`, which both name the attacker's host. Only that name tells
//! such a request apart. So every request, the Azure APIs' included (with the bootstrap
//! admin's documented secret such a page could get tokens and rewrite the tenant through
//! Graph, and discovery documents are built from `Host`), must name a host the emulator is
//! known by:
//!
//! - an IP address, any: an address is not looked up, so it cannot be rebound;
//! - `localhost` and names under `.localhost`, which never leave the machine (RFC 6761);
//! - the generated certificate's extra names (`--tls-san`);
//! - the names given with `--allowed-host` (`*.name` covers one label under `name`).
//!
//! The port is not compared: a forwarded port (`docker run -p 9000:8443`) keeps the name,
//! and no port changes who resolves the name. A request without a host (HTTP/1.0) does not
//! come from a browser and passes. Any other is answered 421 Misdirected Request (RFC 9110
//! §15.5.20: the server will not answer for that authority). No Azure service is ever asked
//! for a host it does not serve, so the body is the emulator's own: its control API's JSON
//! error, or an HTML page on the portal.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::{Config, TlsMode};
use crate::input::{Owner, owner};

/// The names a configuration lets requests name, besides addresses and `localhost`.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedHosts {
    /// Lower case, without a trailing dot; exact names or `*.` and a domain.
    patterns: Vec<String>,
}

impl AllowedHosts {
    /// The `--allowed-host` names and, with a generated certificate, its extra names.
    pub(crate) fn new(config: &Config) -> Arc<Self> {
        let sans = match &config.tls {
            TlsMode::SelfSigned { extra_sans } => extra_sans.as_slice(),
            TlsMode::Plain | TlsMode::Files { .. } => &[],
        };
        let patterns = config
            .allowed_hosts
            .iter()
            .chain(sans)
            .map(|p| normalize(p))
            .collect();
        Arc::new(Self { patterns })
    }

    /// Whether a request whose `Host` (or URI authority) is `host` may be answered.
    pub(crate) fn allows(&self, host: &str) -> bool {
        match parse(host) {
            None => false,
            Some(Name::Address) => true,
            Some(Name::Dns(name)) => {
                name == "localhost"
                    || name.ends_with(".localhost")
                    || self.patterns.iter().any(|p| matches(p, &name))
            }
        }
    }
}

/// A host as a request names it.
#[derive(Debug, PartialEq, Eq)]
enum Name {
    /// An IPv4 or IPv6 address.
    Address,
    /// A DNS name, lower case, without a trailing dot.
    Dns(String),
}

/// The host in a `Host` value (`name`, `name:port`, `[v6]:port`); `None` when the value is
/// not one (a browser never sends such a value).
fn parse(host: &str) -> Option<Name> {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let (v6, port) = rest.split_once(']')?;
            v6.parse::<Ipv6Addr>().ok()?;
            (None, port.strip_prefix(':').unwrap_or(port))
        }
        None => match host.split_once(':') {
            Some((name, port)) => (Some(name), port),
            None => (Some(host), ""),
        },
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let Some(name) = name else {
        return Some(Name::Address);
    };
    if name.parse::<Ipv4Addr>().is_ok() {
        return Some(Name::Address);
    }
    let name = normalize(name);
    is_dns_name(&name).then_some(Name::Dns(name))
}

fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Dot-separated labels of letters, digits, `-` and `_` (container and service names use
/// underscores), as short as DNS wants them.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether `pattern` (an exact name or `*.domain`) covers `name`.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => name
            .strip_suffix(domain)
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        None => pattern == name,
    }
}

/// Whether `--allowed-host` may be given `pattern`: an IP address, a DNS name, or `*.` and
/// a DNS name.
pub(crate) fn is_host_pattern(pattern: &str) -> bool {
    let name = normalize(pattern.strip_prefix("*.").unwrap_or(pattern));
    name.parse::<std::net::IpAddr>().is_ok() || is_dns_name(&name)
}

/// The middleware: answers 421 to a request naming a host that is not allowed, in the URI's
/// authority (HTTP/2, absolute-form requests) or in `Host`.
pub(crate) async fn check(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str());
    let host = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let refused = authority
        .into_iter()
        .chain(host)
        .find(|h| !h.is_empty() && !allowed.allows(h));
    match refused {
        None => next.run(request).await,
        Some(host) => misdirected(request.uri().path(), host),
    }
}

fn misdirected(path: &str, host: &str) -> Response {
    let shown = match parse(host) {
        Some(Name::Dns(name)) => format!("'{name}'"),
        _ => "this host".to_owned(),
    };
    tracing::warn!("refused a request for {shown}, which is not an allowed host name");
    let message = format!(
        "This emulator does not answer to the host name {shown}, which could be a web page's \
         own name pointed at it (DNS rebinding). It answers to localhost, IP addresses, its \
         --tls-san names and the names given with --allowed-host \
         (ENTRA_EMULATOR_ALLOWED_HOST); add the name there to use it."
    );
    if owner(path) == Owner::Portal {
        crate::portal::error_page(StatusCode::MISDIRECTED_REQUEST, &message)
    } else {
        crate::control::error(
            StatusCode::MISDIRECTED_REQUEST,
            "MisdirectedRequest",
            message,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &[&str]) -> Arc<AllowedHosts> {
        AllowedHosts::new(&Config {
            allowed_hosts: patterns.iter().map(|p| (*p).to_owned()).collect(),
            ..Config::default()
        })
    }

    #[test]
    fn addresses_and_loopback_names_with_any_port_are_allowed() {
        let none = allowed(&[]);
        for host in [
            "127.0.0.1",
            "127.0.0.1:8443",
            "10.1.2.3:1",
            "[::1]",
            "[::1]:8443",
            "localhost",
            "LocalHost:9000",
            "localhost.:8443",
            "emulator.localhost:8443",
        ] {
            assert!(none.allows(host), "{host}");
        }
    }

    #[test]
    fn other_names_and_malformed_values_are_refused() {
        let none = allowed(&[]);
        for host in [
            "rebind.attacker.test",
            "rebind.attacker.test:8443",
            "localhost.attacker.test",
            "attackerlocalhost",
            "127.0.0.1.nip.io",
            "localhost:80:80",
            "localhost:x",
            "[::1",
            "[nonsense]:1",
            "a b",
            "évil.test",
            "\u{fffd}",
            ":8443",
        ] {
            assert!(!none.allows(host), "{host}");
        }
    }

    #[test]
    fn configured_names_and_wildcards_cover_what_they_say() {
        let some = allowed(&["emulator", "Entra.Test.", "*.apps.test"]);
        for host in [
            "emulator:8443",
            "entra.test",
            "ENTRA.TEST.:1",
            "a.apps.test",
        ] {
            assert!(some.allows(host), "{host}");
        }
        for host in ["apps.test", "a.b.apps.test", "xapps.test", "emulator.test"] {
            assert!(!some.allows(host), "{host}");
        }
        let sans = AllowedHosts::new(&Config {
            tls: TlsMode::SelfSigned {
                extra_sans: vec!["svc.test".into()],
            },
            ..Config::default()
        });
        assert!(sans.allows("svc.test:8443"));
    }

    #[test]
    fn allowed_host_values_are_checked() {
        for ok in [
            "emulator",
            "my_service",
            "*.apps.test",
            "10.0.0.1",
            "::1",
            "a.b.",
        ] {
            assert!(is_host_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "emulator:8443",
            "http://emulator",
            "*",
            "a..b",
            "a b",
            "*.*.x",
        ] {
            assert!(!is_host_pattern(bad), "{bad}");
        }
    }
}

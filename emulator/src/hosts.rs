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

/// The names a configuration lets requests name, besides addresses and `localhost`.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedHosts {
    /// Lower case, without a trailing dot; exact names or `*.` and a domain.
    patterns: Vec<String>,
}

impl AllowedHosts {
    /// The names `patterns` allow (exact names, or `*.` and a domain), checked with
    /// [`is_host_pattern`]; see [`crate::config::Config::allowed_hosts`].
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            patterns: patterns.into_iter().map(normalize).collect(),
        }
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
pub(crate) enum Name {
    /// An IPv4 or IPv6 address.
    Address,
    /// A DNS name, lower case, without a trailing dot.
    Dns(String),
}

/// The host in a `Host` value (`name`, `name:port`, `[v6]:port`); `None` when the value is
/// not one (a browser never sends such a value).
pub(crate) fn parse(host: &str) -> Option<Name> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &[&str]) -> AllowedHosts {
        AllowedHosts::new(patterns.iter().copied())
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

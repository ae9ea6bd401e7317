//! The signing keys of the identity providers that federated credentials trust: fetched
//! from the issuer's discovery document and JWKS as Entra does
//! (`{issuer}/.well-known/openid-configuration`, then its `jwks_uri`; MicrosoftDocs/entra-docs
//! `docs/workload-id/workload-identity-federation.md`), cached, and refetched when a token
//! names a key the cache does not hold.
//!
//! The emulator works offline: only issuers on loopback addresses are fetched. The built-in
//! test issuer (`{base}/_emulator/issuer`) is answered from its key without a request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::credentials::jwk_bytes;
use crate::keys::issuer_key;

/// Path of the built-in test issuer under the base URL.
pub(crate) const BUILT_IN_PATH: &str = "/_emulator/issuer";

/// How long fetched keys are used before they are fetched again.
const TTL: Duration = Duration::from_secs(300);
/// A token naming an unknown key refetches at most this often per issuer.
const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// Each request to an issuer gives up after this long.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Entra keeps only the first 100 signing keys of an issuer (workload identity
/// considerations page).
const MAX_KEYS: usize = 100;
/// Largest discovery document or JWKS read.
const MAX_BODY: usize = 1024 * 1024;

/// An RSA key of an issuer's JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuerKey {
    /// `kid`.
    pub(crate) kid: Option<String>,
    /// `x5t`.
    pub(crate) x5t: Option<String>,
    /// Modulus.
    pub(crate) n: Vec<u8>,
    /// Exponent.
    pub(crate) e: Vec<u8>,
}

/// Why an issuer's keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable;

#[derive(Debug)]
struct Cached {
    keys: Arc<Vec<IssuerKey>>,
    fetched: Instant,
}

/// The issuers' keys, cached per issuer.
#[derive(Debug, Default)]
pub(crate) struct Issuers {
    cache: Mutex<HashMap<String, Cached>>,
}

/// The built-in issuer's URL on `base`.
pub(crate) fn built_in(base: &str) -> String {
    format!("{base}{BUILT_IN_PATH}")
}

/// The JWKS of the built-in issuer: its one RSA key.
pub(crate) fn built_in_jwks() -> Result<Value, crate::keys::KeyError> {
    let key = issuer_key()?;
    let jwk = key.jwk(None);
    Ok(serde_json::json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": key.kid(),
        "n": jwk["n"], "e": jwk["e"],
    }]}))
}

/// Reads the RSA keys of a JWKS document.
fn parse_jwks(doc: &Value) -> Vec<IssuerKey> {
    let Some(keys) = doc.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    keys.iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
        .filter_map(|k| {
            Some(IssuerKey {
                kid: k.get("kid").and_then(Value::as_str).map(str::to_owned),
                x5t: k.get("x5t").and_then(Value::as_str).map(str::to_owned),
                n: jwk_bytes(k.get("n")?.as_str()?)?,
                e: jwk_bytes(k.get("e")?.as_str()?)?,
            })
        })
        .take(MAX_KEYS)
        .collect()
}

/// Whether `url` is an http(s) URL on a loopback host.
fn on_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, Unreachable> {
    if !on_loopback(url) {
        return Err(Unreachable);
    }
    let response = client.get(url).send().await.map_err(|_| Unreachable)?;
    if !response.status().is_success() {
        return Err(Unreachable);
    }
    let body = response.bytes().await.map_err(|_| Unreachable)?;
    if body.len() > MAX_BODY {
        return Err(Unreachable);
    }
    serde_json::from_slice(&body).map_err(|_| Unreachable)
}

/// Fetches `issuer`'s discovery document, then its JWKS.
async fn fetch(issuer: &str) -> Result<Vec<IssuerKey>, Unreachable> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| Unreachable)?;
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = get_json(&client, &discovery).await?;
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or(Unreachable)?;
    Ok(parse_jwks(&get_json(&client, jwks_uri).await?))
}

impl Issuers {
    /// The keys of `issuer`; `want` names the key the token was signed with (`kid`), and a
    /// cache that lacks it is refreshed. `built_in` is this emulator's own issuer URL(s).
    pub(crate) async fn keys(
        &self,
        issuer: &str,
        want: Option<&str>,
        built_in: &[String],
    ) -> Result<Arc<Vec<IssuerKey>>, Unreachable> {
        if built_in.iter().any(|b| b == issuer) {
            let jwks = built_in_jwks().map_err(|_| Unreachable)?;
            return Ok(Arc::new(parse_jwks(&jwks)));
        }
        {
            let cache = self.cache.lock();
            if let Some(c) = cache.get(issuer) {
                let age = c.fetched.elapsed();
                let has = want.is_none_or(|k| c.keys.iter().any(|x| x.kid.as_deref() == Some(k)));
                if age < TTL && (has || age < REFETCH_AFTER) {
                    return Ok(c.keys.clone());
                }
            }
        }
        let keys = Arc::new(fetch(issuer).await?);
        let mut cache = self.cache.lock();
        // Issuers that stop answering are forgotten with their keys; bound the map anyway.
        if cache.len() >= 1000 {
            cache.clear();
        }
        cache.insert(
            issuer.to_owned(),
            Cached {
                keys: keys.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_issuers_are_fetched() {
        for ok in [
            "http://127.0.0.1:8080/x",
            "https://localhost/x",
            "http://[::1]:9/x",
            "http://127.8.9.1/",
        ] {
            assert!(on_loopback(ok), "{ok}");
        }
        for bad in [
            "https://token.actions.githubusercontent.com/.well-known/openid-configuration",
            "http://10.0.0.1/",
            "file:///etc/passwd",
            "http://localhost.example.com/",
            "not a url",
        ] {
            assert!(!on_loopback(bad), "{bad}");
        }
    }

    #[test]
    fn jwks_keep_rsa_keys_only() {
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "b", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "c", "n": "!!"},
        ]});
        let keys = parse_jwks(&doc);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("a"));
    }
}

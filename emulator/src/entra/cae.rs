//! Continuous access evaluation: a client that declares the `cp1` capability in the token
//! request's `claims` parameter gets a long-lived token and a `refresh_in` hint.

use std::time::Duration;

use serde_json::Value;

use super::EntraError;
use crate::config::Config;

/// Tokens at least this long carry `refresh_in` (MSAL's own rule for long-lived tokens).
const REFRESH_HINT_FROM: u64 = 7200;

/// Whether the `claims` parameter asks for access tokens with client capability `cp1`
/// (`{"access_token":{"xms_cc":{"values":["cp1"]}}}`). Claim names are case-sensitive;
/// clients send the value as `cp1` or `CP1`.
///
/// A `claims` value that is not a JSON object is refused as a malformed request: a guess,
/// Entra's answer to it was not found.
pub(super) fn capable(claims: Option<&str>) -> Result<bool, EntraError> {
    let Some(raw) = claims else {
        return Ok(false);
    };
    let parsed: Value = serde_json::from_str(raw).map_err(|_| EntraError::MalformedRequest)?;
    if !parsed.is_object() {
        return Err(EntraError::MalformedRequest);
    }
    Ok(parsed["access_token"]["xms_cc"]["values"]
        .as_array()
        .is_some_and(|values| {
            values
                .iter()
                .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("cp1")))
        }))
}

/// The lifetime of the token issued: the CAE lifetime for a capable client.
pub(super) fn lifetime(config: &Config, capable: bool) -> Duration {
    if capable {
        config.cae_token_lifetime
    } else {
        config.token_lifetime
    }
}

/// `refresh_in` for a v2 answer whose `expires_in` is given: half of it for tokens of two
/// hours or more, none for shorter ones.
pub(super) fn refresh_in(expires_in: u64) -> Option<u64> {
    (expires_in + 1 >= REFRESH_HINT_FROM).then_some(expires_in / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp1_is_read_from_the_access_token_claims() {
        // The forms MSAL sends: msal-node `cp1` (fixtures/azure/js_identity_client_secret_vault_cae.json),
        // MSAL Python `CP1` with `json.dumps` spacing (research item 2.1).
        for claims in [
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#,
            r#"{"access_token": {"xms_cc": {"values": ["CP1"]}}}"#,
            r#"{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["x","cp1"]}}}"#,
        ] {
            assert_eq!(capable(Some(claims)), Ok(true), "{claims}");
        }
        for claims in [
            r#"{"id_token":{"xms_cc":{"values":["cp1"]}}}"#,
            r#"{"access_token":{"XMS_CC":{"values":["cp1"]}}}"#,
            r#"{"access_token":{"xms_cc":{"values":["cp2"]}}}"#,
            r#"{"access_token":{"xms_cc":{"values":"cp1"}}}"#,
            "{}",
        ] {
            assert_eq!(capable(Some(claims)), Ok(false), "{claims}");
        }
        assert_eq!(capable(None), Ok(false));
        for bad in ["{", "[]", "\"cp1\"", "cp1"] {
            assert_eq!(
                capable(Some(bad)),
                Err(EntraError::MalformedRequest),
                "{bad}"
            );
        }
    }

    #[test]
    fn long_tokens_get_half_their_life_as_refresh_hint() {
        // Recorded: expires_in 86399 → refresh_in 43199 (research item 2.2).
        assert_eq!(refresh_in(86_399), Some(43_199));
        assert_eq!(refresh_in(7_199), Some(3_599));
        assert_eq!(refresh_in(7_198), None);
        assert_eq!(refresh_in(3_599), None);
    }
}

//! The bearer token of a request, for every API: one extractor ([`Bearer`]) that reads
//! `Authorization`, validates the token through the token cache (signature, issuer, tenant,
//! lifetime) and leaves the audience to the API, and one failure type ([`AuthFailure`])
//! that each API words in its own envelope (`From<AuthFailure>` for its error type).
//!
//! The extractor never rejects: an API checks the token at the point of its own order of
//! checks (ARM answers a missing `api-version` before a missing token), by asking
//! [`Bearer::caller`] or [`Bearer::claims`].

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::services::AppState;
use crate::token::{Claims, TokenError};

/// Why a request's bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer <token>` (or not text), or more than one header.
    Malformed,
    /// `Bearer` with nothing after it.
    Empty,
    /// A token that does not verify, has expired, or names no caller; `now` and `tenant`
    /// are the emulator's, for the APIs whose wording names them.
    Invalid {
        /// What is wrong with it.
        error: TokenError,
        /// The emulator's time when it was checked.
        now: OffsetDateTime,
        /// The emulator's tenant.
        tenant: Uuid,
    },
    /// A valid token for another resource (its `aud`).
    WrongAudience(String),
}

/// The request's bearer token, validated but for its audience.
#[derive(Debug, Clone)]
pub(crate) struct Bearer {
    token: Result<Arc<Claims>, AuthFailure>,
    now: OffsetDateTime,
    tenant: Uuid,
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self::of(state, &parts.headers))
    }
}

impl Bearer {
    /// The bearer token of a request with `headers`.
    pub(crate) fn of(state: &AppState, headers: &HeaderMap) -> Self {
        let (now, tenant) = (state.clock.now(), state.config.tenant_id);
        let token = match authorization(headers) {
            Err(RepeatedHeader) => Err(AuthFailure::Malformed),
            Ok(None) => Err(AuthFailure::Missing),
            Ok(Some(value)) => bearer_token(value),
        };
        let token = token.and_then(|token| {
            state
                .validate_token(token, now)
                .map_err(|error| AuthFailure::Invalid { error, now, tenant })
        });
        Self { token, now, tenant }
    }

    /// The token's claims, when its audience is one `accepts` takes.
    pub(crate) fn claims(
        &self,
        accepts: impl Fn(&str) -> bool,
    ) -> Result<&Arc<Claims>, AuthFailure> {
        let claims = self.token.as_ref().map_err(Clone::clone)?;
        if accepts(&claims.aud) {
            Ok(claims)
        } else {
            Err(AuthFailure::WrongAudience(claims.aud.clone()))
        }
    }

    /// The caller's object id (`oid`), from a token whose audience `accepts` takes. Every
    /// token the emulator issues has a GUID `oid`; one without is invalid.
    pub(crate) fn caller(&self, accepts: impl Fn(&str) -> bool) -> Result<Uuid, AuthFailure> {
        let claims = self.claims(accepts)?;
        Uuid::parse_str(&claims.oid).map_err(|_| AuthFailure::Invalid {
            error: TokenError::Malformed,
            now: self.now,
            tenant: self.tenant,
        })
    }
}

/// The token of a `Bearer <token>` value (the scheme in any case).
fn bearer_token(value: &HeaderValue) -> Result<&str, AuthFailure> {
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Err(AuthFailure::Empty)
            } else {
                Ok(token)
            }
        }
        _ => Err(AuthFailure::Malformed),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_bearer_values_carry_a_token() {
        let value = HeaderValue::from_static;
        assert_eq!(bearer_token(&value("Bearer abc ")), Ok("abc"));
        assert_eq!(bearer_token(&value("bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(&value("Bearer  ")), Err(AuthFailure::Empty));
        assert_eq!(
            bearer_token(&value("Basic abc")),
            Err(AuthFailure::Malformed)
        );
        assert_eq!(bearer_token(&value("Bearer")), Err(AuthFailure::Malformed));
        let binary = HeaderValue::from_bytes(b"Bearer \xff").expect("value");
        assert_eq!(bearer_token(&binary), Err(AuthFailure::Malformed));
    }
}

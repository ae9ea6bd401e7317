//! What every credential and service client shares: the [`TokenCredential`] trait, the
//! [`AccessToken`] it yields and the [`ClientSecret`] it may hold. Kept apart from the
//! credentials themselves so that the HTTP pipeline and the token endpoint client can name
//! them without depending on the credentials that use both.

use std::future::Future;
use std::pin::Pin;

use time::OffsetDateTime;

use crate::error::Error;

/// A secret whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for sending it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// An access token and when it expires.
#[derive(Clone)]
pub struct AccessToken {
    token: String,
    /// Expiry, by this machine's clock.
    pub expires_on: OffsetDateTime,
}

impl AccessToken {
    /// A token obtained elsewhere.
    pub fn new(token: impl Into<String>, expires_on: OffsetDateTime) -> Self {
        Self {
            token: token.into(),
            expires_on,
        }
    }

    /// The bearer token.
    pub fn secret(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

/// The future [`TokenCredential::get_token`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, Error>> + Send + 'a>>;

/// Something that gets access tokens for a scope (`{resource}/.default`).
pub trait TokenCredential: Send + Sync + std::fmt::Debug {
    /// A valid token for `scope`, from cache when possible.
    fn get_token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a>;

    /// Forgets the cached token for `scope` (after the server refused it).
    fn invalidate(&self, _scope: &str) {}

    /// The tenant the credential signs in to, when it knows.
    fn tenant_id(&self) -> Option<&str> {
        None
    }
}

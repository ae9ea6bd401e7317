//! The Entra token endpoints called directly, one request per call and no cache: for code that
//! needs the endpoint's own answer (every failure included), such as a conformance suite.
//! Everyday code wants [`ClientSecretCredential`](crate::ClientSecretCredential) instead.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::{AccessToken, ClientSecret};
use crate::cloud::Cloud;
use crate::error::{Error, Service};
use crate::http::{Pipeline, Recorder, Request, RetryPolicy};

/// `client_assertion_type` of a JWT client assertion (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Which token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenApi {
    /// `/{tenant}/oauth2/token`: takes `resource`, answers numbers as strings.
    V1,
    /// `/{tenant}/oauth2/v2.0/token`: takes `scope`, answers numbers as integers.
    V2,
}

/// A token request's form. Every field is optional so that incomplete requests can be sent
/// on purpose; [`TokenRequest::client_credentials`] fills the usual ones.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<ClientSecret>,
    /// `client_assertion_type`.
    pub client_assertion_type: Option<String>,
    /// `client_assertion`: a signed JWT (never printed by `Debug`).
    pub client_assertion: Option<ClientSecret>,
    /// `scope` (v2).
    pub scope: Option<String>,
    /// `resource` (v1).
    pub resource: Option<String>,
}

impl TokenRequest {
    /// `grant_type=client_credentials` with this client id and secret.
    pub fn client_credentials(client_id: impl Into<String>, secret: ClientSecret) -> Self {
        Self {
            grant_type: Some("client_credentials".into()),
            client_id: Some(client_id.into()),
            client_secret: Some(secret),
            ..Self::default()
        }
    }

    /// `grant_type=client_credentials` with this client id and a JWT-bearer client assertion
    /// (signed with a certificate, or an external identity provider's token).
    pub fn client_assertion(client_id: impl Into<String>, assertion: ClientSecret) -> Self {
        Self {
            grant_type: Some("client_credentials".into()),
            client_id: Some(client_id.into()),
            client_assertion_type: Some(JWT_BEARER.into()),
            client_assertion: Some(assertion),
            ..Self::default()
        }
    }

    /// Sets `scope`.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets `resource`.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The form-encoded body, fields in the order MSAL sends them.
    fn form(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("grant_type", self.grant_type.as_deref()),
            ("client_id", self.client_id.as_deref()),
            (
                "client_secret",
                self.client_secret.as_ref().map(ClientSecret::expose),
            ),
            (
                "client_assertion_type",
                self.client_assertion_type.as_deref(),
            ),
            (
                "client_assertion",
                self.client_assertion.as_ref().map(ClientSecret::expose),
            ),
            ("scope", self.scope.as_deref()),
            ("resource", self.resource.as_deref()),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                form.append_pair(name, value);
            }
        }
        form.finish()
    }
}

/// A successful token answer, with v1's string numbers read as numbers.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// `token_type` (`Bearer`).
    pub token_type: String,
    /// `expires_in`, seconds.
    pub expires_in: u64,
    /// The token; its expiry is by this machine's clock.
    pub access_token: AccessToken,
    /// `resource` (v1 only).
    pub resource: Option<String>,
}

#[derive(Deserialize)]
struct RawResponse {
    token_type: String,
    expires_in: Value,
    access_token: String,
    #[serde(default)]
    resource: Option<String>,
}

/// The token endpoints of one cloud.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    authority_host: String,
    pipeline: Pipeline,
}

impl TokenEndpoint {
    /// The endpoints of `cloud`'s authority.
    pub fn new(cloud: &Cloud) -> Result<Self, Error> {
        Ok(Self {
            authority_host: cloud.authority_host.trim_end_matches('/').to_owned(),
            pipeline: Pipeline::new(cloud, RetryPolicy::default())?,
        })
    }

    /// Passes every exchange to `recorder`.
    pub fn with_recorder(mut self, recorder: std::sync::Arc<dyn Recorder>) -> Self {
        self.pipeline = self.pipeline.with_recorder(recorder);
        self
    }

    /// The URL of `api` for `tenant` (a tenant id or domain, sent as given).
    pub fn url(&self, api: TokenApi, tenant: &str) -> String {
        let path = match api {
            TokenApi::V1 => "oauth2/token",
            TokenApi::V2 => "oauth2/v2.0/token",
        };
        format!("{}/{tenant}/{path}", self.authority_host)
    }

    /// Sends `request` to `api` of `tenant`; an error answer is [`Error::Service`] with the
    /// AADSTS code in [`Error::aadsts`].
    pub async fn request(
        &self,
        api: TokenApi,
        tenant: &str,
        request: &TokenRequest,
    ) -> Result<TokenResponse, Error> {
        let req = Request::new(Method::POST, self.url(api, tenant))
            .raw(request.form(), "application/x-www-form-urlencoded");
        let reply = self.pipeline.send(Service::Entra, &req, None).await?;
        let raw: RawResponse = reply.json(Service::Entra)?;
        let expires_in = match &raw.expires_in {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| Error::Decode {
            service: Service::Entra,
            message: format!("expires_in is not a number: {}", raw.expires_in),
        })?;
        let lifetime = time::Duration::seconds(i64::try_from(expires_in).unwrap_or(i64::MAX));
        Ok(TokenResponse {
            token_type: raw.token_type,
            expires_in,
            access_token: AccessToken::new(
                raw.access_token,
                OffsetDateTime::now_utc().saturating_add(lifetime),
            ),
            resource: raw.resource,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_has_only_the_fields_set_and_escapes_them() {
        let req = TokenRequest::client_credentials("id", ClientSecret::new("a&b=c~"))
            .scope("https://graph.microsoft.com/.default");
        assert_eq!(
            req.form(),
            "grant_type=client_credentials&client_id=id&client_secret=a%26b%3Dc%7E\
             &scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        );
        let bare = TokenRequest {
            resource: Some("r".into()),
            ..TokenRequest::default()
        };
        assert_eq!(bare.form(), "resource=r");
    }

    #[test]
    fn urls_follow_the_api_version() {
        let cloud = Cloud::emulator("http://127.0.0.1:1/");
        let endpoint = TokenEndpoint::new(&cloud).expect("endpoint");
        assert_eq!(
            endpoint.url(TokenApi::V1, "t"),
            "http://127.0.0.1:1/t/oauth2/token"
        );
        assert_eq!(
            endpoint.url(TokenApi::V2, "contoso.onmicrosoft.com"),
            "http://127.0.0.1:1/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
    }
}

//! The request pipeline every API shares: bearer tokens, bounded retries honouring
//! `Retry-After`, one token refresh on 401, and error parsing.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::TokenCredential;
use crate::cloud::Cloud;
use crate::error::{Error, Service};

/// How throttled (429) and failing (5xx) requests are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First back-off when the service gives no `Retry-After`; doubles each retry.
    pub initial_delay: Duration,
    /// Longest single wait, whatever `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    fn retryable(status: StatusCode) -> bool {
        matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
    }

    fn delay(&self, attempt: u32, headers: Option<&HeaderMap>) -> Duration {
        let told = headers.and_then(|h| {
            let ms = |name| {
                h.get(name)
                    .and_then(|v: &HeaderValue| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
            };
            ms("retry-after-ms")
                .or_else(|| ms("x-ms-retry-after-ms"))
                .map(Duration::from_millis)
                .or_else(|| ms("retry-after").map(Duration::from_secs))
        });
        let backoff = self
            .initial_delay
            .saturating_mul(2u32.saturating_pow(attempt));
        told.unwrap_or(backoff).min(self.max_delay)
    }
}

/// One HTTP exchange as the client saw it, for recording (the conformance suite writes these
/// as fixtures after sanitizing them).
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Request method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Request headers the client set (including `authorization`).
    pub request_headers: Vec<(String, String)>,
    /// Request body.
    pub request_body: Option<bytes::Bytes>,
    /// Response status.
    pub status: u16,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// Response body.
    pub response_body: bytes::Bytes,
}

/// Receives every exchange a client makes.
pub trait Recorder: Send + Sync + std::fmt::Debug {
    /// Called once per HTTP exchange, retries included.
    fn record(&self, exchange: Exchange);
}

/// A buffered response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: bytes::Bytes,
}

impl Reply {
    pub(crate) fn json<T: DeserializeOwned>(&self, service: Service) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode {
            service,
            message: e.to_string(),
        })
    }
}

/// A request that can be sent again on retry.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) body: Option<(bytes::Bytes, &'static str)>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Request {
    pub(crate) fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            body: None,
            headers: Vec::new(),
        }
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Self {
        // Serializing the crate's own request types cannot fail.
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.body = Some((bytes.into(), "application/json"));
        self
    }

    pub(crate) fn raw(mut self, body: impl Into<bytes::Bytes>, content_type: &'static str) -> Self {
        self.body = Some((body.into(), content_type));
        self
    }
}

/// The shared HTTP client and policy.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    client: reqwest::Client,
    retry: RetryPolicy,
    recorder: Option<Arc<dyn Recorder>>,
}

impl Pipeline {
    pub(crate) fn new(cloud: &Cloud, retry: RetryPolicy) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("entra-client/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &cloud.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| Error::Config(format!("invalid CA PEM: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        Ok(Self {
            client: builder.build()?,
            retry,
            recorder: None,
        })
    }

    pub(crate) fn with_recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Sends `req`, authenticating with `auth` (credential, scope) when given.
    pub(crate) async fn send(
        &self,
        service: Service,
        req: &Request,
        auth: Option<(&Arc<dyn TokenCredential>, &str)>,
    ) -> Result<Reply, Error> {
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            let mut headers: Vec<(String, String)> = req
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            if let Some((_, content_type)) = &req.body {
                headers.push(("content-type".into(), (*content_type).to_owned()));
            }
            if let Some((credential, scope)) = auth {
                let token = credential.get_token(scope).await?;
                headers.push(("authorization".into(), format!("Bearer {}", token.secret())));
            }
            let mut builder = self.client.request(req.method.clone(), &req.url);
            for (name, value) in &headers {
                builder = builder.header(name, value);
            }
            if let Some((body, _)) = &req.body {
                builder = builder.body(body.clone());
            }
            let outcome = builder.send().await;
            let retry_after = match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    let resp_headers = resp.headers().clone();
                    let body = resp.bytes().await?;
                    if let Some(recorder) = &self.recorder {
                        recorder.record(Exchange {
                            method: req.method.to_string(),
                            url: req.url.clone(),
                            request_headers: headers.clone(),
                            request_body: req.body.as_ref().map(|(b, _)| b.clone()),
                            status: status.as_u16(),
                            response_headers: resp_headers_list(&resp_headers),
                            response_body: body.clone(),
                        });
                    }
                    if status.is_success() {
                        return Ok(Reply {
                            status,
                            headers: resp_headers,
                            body,
                        });
                    }
                    if status == StatusCode::UNAUTHORIZED && !refreshed {
                        // A cached token can be stale for the server (for instance when an
                        // emulator's clock was moved): get a fresh one, once.
                        if let Some((credential, scope)) = auth {
                            credential.invalidate(scope);
                            refreshed = true;
                            continue;
                        }
                    }
                    if !RetryPolicy::retryable(status) || attempt >= self.retry.max_retries {
                        return Err(Error::from_response(service, status, &resp_headers, &body));
                    }
                    self.retry.delay(attempt, Some(&resp_headers))
                }
                Err(e)
                    if (e.is_connect() || e.is_timeout()) && attempt < self.retry.max_retries =>
                {
                    self.retry.delay(attempt, None)
                }
                Err(e) => return Err(e.into()),
            };
            tracing::debug!(attempt, ?retry_after, url = %req.url, "retrying");
            tokio::time::sleep(retry_after).await;
            attempt += 1;
        }
    }
}

fn resp_headers_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_and_bounded() {
        let p = RetryPolicy::default();
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(p.delay(0, Some(&h)), Duration::from_secs(2));
        h.insert("retry-after", HeaderValue::from_static("3600"));
        assert_eq!(p.delay(0, Some(&h)), Duration::from_secs(30));
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(p.delay(0, Some(&h)), Duration::from_millis(250));
        assert_eq!(p.delay(2, None), Duration::from_secs(2));
        assert!(RetryPolicy::retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(!RetryPolicy::retryable(StatusCode::FORBIDDEN));
    }
}

//! The tower layer that applies fault rules in front of every route.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};

use crate::catalog::Api;
use crate::faults::FaultKind;
use crate::services::AppState;

/// Applies the state's fault rules (see [`crate::faults`]) to requests before `S` sees them.
#[derive(Debug, Clone)]
pub(super) struct FaultLayer {
    state: AppState,
}

impl FaultLayer {
    /// A layer applying `state.faults`.
    pub(super) fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service of [`FaultLayer`].
#[derive(Debug, Clone)]
pub(super) struct FaultService<S> {
    inner: S,
    state: AppState,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project_lite::pin_project! {
    /// The future of [`FaultService`]: the inner one untouched when no rule fires.
    #[project = FaultFutureProj]
    pub(crate) enum FaultFuture<F> {
        /// No rule fired.
        Pass { #[pin] inner: F },
        /// A rule fired.
        Fault { inner: BoxFuture },
    }
}

impl<F> Future for FaultFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            FaultFutureProj::Pass { inner } => inner.poll(cx),
            FaultFutureProj::Fault { inner } => inner.as_mut().poll(cx),
        }
    }
}

impl<S> Service<Request> for FaultService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FaultFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The fast path: one atomic load when no rule is installed.
        if !self.state.faults.any() {
            return FaultFuture::Pass {
                inner: self.inner.call(request),
            };
        }
        let now = self.state.clock.now();
        let path = collapse(request.uri().path());
        let api = Api::of(request.method(), &path);
        let decision = api.fault_service().and_then(|service| {
            self.state
                .faults
                .decide(service, request.method(), &path, now)
        });
        let Some(decision) = decision else {
            return FaultFuture::Pass {
                inner: self.inner.call(request),
            };
        };
        tracing::info!(
            target: "entra_emulator::request",
            "{} {path} fault {:?} (rule {})",
            request.method(),
            decision.spec.fault,
            decision.rule
        );
        let response = match decision.spec.fault {
            FaultKind::Latency => {
                // `inner` was polled ready: keep it for this call and leave a fresh clone.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let delay = decision.spec.latency.unwrap_or_default();
                return FaultFuture::Fault {
                    inner: Box::pin(async move {
                        tokio::time::sleep(delay).await;
                        inner.call(request).await
                    }),
                };
            }
            FaultKind::Drop => Response::new(Body::new(Severed)),
            _ => super::fault_answer::respond(
                api,
                &decision,
                &self.state,
                request.method(),
                &path,
                request.headers(),
                now,
            ),
        };
        FaultFuture::Fault {
            inner: Box::pin(std::future::ready(Ok(response))),
        }
    }
}

/// The path with repeated slashes collapsed, as the router sees it.
fn collapse(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains("//") {
        return path.into();
    }
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out.into()
}

/// A body that fails before its first byte: hyper then closes an HTTP/1 connection without
/// sending the (still buffered) head, and resets an HTTP/2 stream.
struct Severed;

impl HttpBody for Severed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by a fault rule",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        false
    }
}

//! The host check in front of every route (see [`crate::hosts`]): a request naming a host
//! the emulator is not known by is answered 421, in the control API's or the portal's body.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::catalog::Api;
use crate::hosts::{AllowedHosts, Name, parse};

/// The middleware: answers 421 to a request naming a host that is not allowed, in the URI's
/// authority (HTTP/2, absolute-form requests) or in `Host`.
pub(super) async fn check(
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
        Some(host) => misdirected(request.method(), request.uri().path(), host),
    }
}

fn misdirected(method: &Method, path: &str, host: &str) -> Response {
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
    #[cfg(feature = "portal")]
    if Api::of(method, path) == Api::Portal {
        return crate::portal::error_page(StatusCode::MISDIRECTED_REQUEST, &message);
    }
    #[cfg(not(feature = "portal"))]
    let _ = (method, path);
    crate::control::error(
        StatusCode::MISDIRECTED_REQUEST,
        "MisdirectedRequest",
        message,
    )
}

//! The durable-write layer: under `--data-dir`, a response that follows a change leaves
//! only once the change is on disk. Requests that changed nothing pass straight through.
//!
//! The layer puts a [`Pending`] into the request's extensions; the services layer notes in
//! it the [`Mark`](crate::changes::Mark) of every change the request's handler makes (see
//! [`crate::services`]); after the handler returns, the layer commits up to that mark on a
//! blocking thread (writers arriving meanwhile share one `fdatasync`, see
//! [`crate::persist`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::changes::{Mark, Pending};
use crate::services::AppState;

/// The middleware: see the module documentation.
pub(super) async fn durable(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if state.persistence().is_none() {
        return next.run(request).await;
    }
    let pending = Arc::new(Pending::default());
    request.extensions_mut().insert(pending.clone());
    let response = next.run(request).await;
    let mark = pending.get();
    if mark == Mark::NONE {
        return response;
    }
    let committed = tokio::task::spawn_blocking(move || state.commit(mark)).await;
    match committed {
        Ok(Ok(())) => response,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a change could not be persisted");
            unavailable()
        }
        Err(e) => {
            tracing::error!(error = %e, "the commit task failed");
            unavailable()
        }
    }
}

fn unavailable() -> Response {
    crate::control::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "PersistenceFailed",
        "the change could not be written to the data directory; see the emulator's log",
    )
    .into_response()
}

//! `/healthz` and `/readyz` for the service manager and the load balancer: never cached, cheap enough to poll every
//! second. `/healthz` says the process answers; `/readyz` that it can serve: its database answers and carries every
//! migration this build expects (an instance of a newer build waits until its migrations have run).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::state::AppState;

/// The health routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

fn answer(status: StatusCode, body: &'static str) -> Response {
    (status, [(CACHE_CONTROL, "no-store"), (CONTENT_TYPE, "application/json")], body).into_response()
}

async fn healthz() -> Response {
    answer(StatusCode::OK, r#"{"status":"ok"}"#)
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.migrations_current().await {
        Ok(true) => answer(StatusCode::OK, r#"{"status":"ready","database":"ok","migrations":"current"}"#),
        Ok(false) => {
            tracing::warn!("not ready: the database lacks migrations this build expects");
            answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"not ready","database":"ok","migrations":"behind"}"#)
        }
        Err(e) => {
            tracing::error!(error = %e, "not ready: the database does not answer");
            answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"not ready","database":"unreachable"}"#)
        }
    }
}

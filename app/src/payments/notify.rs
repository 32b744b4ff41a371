//! `POST /pay/notify/{channel}`: a channel's gateway's asynchronous payment notifications, verified by that
//! channel's gateway. Trusted only when the signature verifies; a 2xx answer (`success`) tells the gateway to
//! stop retrying.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::Channel;
use crate::platform::state::AppState;

/// Verifies and applies one payment notification.
pub async fn payment_notify(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(channel) = Channel::parse(&channel) else { return StatusCode::NOT_FOUND.into_response() };
    let notification = match state.gateway(channel).verify(&headers, &body, crate::platform::now()) {
        Ok(notification) => notification,
        Err(e) => {
            tracing::warn!(error = %e, channel = channel.code(), "payment notification refused");
            return (StatusCode::UNAUTHORIZED, "FAIL").into_response();
        }
    };
    match super::repo::apply_notification(&state.db, &notification).await {
        Ok(applied) => {
            tracing::info!(order_no = %notification.order_no, ?applied, "payment notification");
            (StatusCode::OK, "success").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "payment notification could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "FAIL").into_response()
        }
    }
}

//! `POST /pay/notify`: the gateway's asynchronous notification. Trusted only when its signature verifies; the
//! answer `success` tells the gateway to stop retrying.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::platform::state::AppState;

/// Verifies and applies one notification.
pub async fn payment_notify(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let notification = match state.gateway.verify(&headers, &body, crate::platform::now()) {
        Ok(notification) => notification,
        Err(e) => {
            tracing::warn!(error = %e, "payment notification refused");
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

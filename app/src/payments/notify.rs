//! `POST /pay/notify/{channel}` and `POST /pay/refund-notify/{channel}`: a channel's gateway's asynchronous payment
//! and refund notifications, verified by that channel's gateway. Trusted only when the signature verifies; a 2xx
//! answer (`success`) tells the gateway to stop retrying.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::Channel;
use crate::platform::gateway::NotifyAnswer;
use crate::platform::state::AppState;

/// Verifies and applies one payment notification.
pub async fn payment_notify(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(channel) = Channel::parse(&channel) else { return StatusCode::NOT_FOUND.into_response() };
    let gateway = state.gateway(channel);
    let answer = |status: StatusCode| {
        let NotifyAnswer { content_type, body: text } = gateway.notification_answer(&body, status.is_success());
        (status, [(CONTENT_TYPE, content_type)], text).into_response()
    };
    let notification = match gateway.verify(&headers, &body, crate::platform::now()) {
        Ok(notification) => notification,
        Err(e) => {
            tracing::warn!(error = %e, channel = channel.code(), "payment notification refused");
            return answer(StatusCode::UNAUTHORIZED);
        }
    };
    match super::repo::apply_notification(&state.db, &notification).await {
        Ok(applied) => {
            tracing::info!(order_no = %notification.order_no, ?applied, "payment notification");
            answer(StatusCode::OK)
        }
        Err(e) => {
            tracing::error!(error = %e, "payment notification could not be stored");
            answer(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

/// Verifies and applies one refund notification; a replayed one changes nothing.
pub async fn refund_notify(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(channel) = Channel::parse(&channel) else { return StatusCode::NOT_FOUND.into_response() };
    let gateway = state.gateway(channel);
    let answer = |status: StatusCode| {
        let NotifyAnswer { content_type, body: text } = gateway.notification_answer(&body, status.is_success());
        (status, [(CONTENT_TYPE, content_type)], text).into_response()
    };
    let notification = match gateway.verify_refund(&headers, &body, crate::platform::now()) {
        Ok(notification) => notification,
        Err(e) => {
            tracing::warn!(error = %e, channel = channel.code(), "refund notification refused");
            return answer(StatusCode::UNAUTHORIZED);
        }
    };
    match super::repo::apply_refund_notification(&state.db, &notification).await {
        Ok(applied) => {
            tracing::info!(refund_no = %notification.refund_no, ?applied, "refund notification");
            answer(StatusCode::OK)
        }
        Err(e) => {
            tracing::error!(error = %e, "refund notification could not be stored");
            answer(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

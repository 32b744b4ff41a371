//! `POST /pay/notify/{channel}` and `POST /pay/refund-notify/{channel}`: a channel's gateway's asynchronous payment
//! and refund notifications, verified by that channel's gateway. Trusted only when the signature verifies; a 2xx
//! answer (`success`) tells the gateway to stop retrying.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::Channel;
use crate::platform::gateway::{NotifyAnswer, PaymentGateway};
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
    let notification = match gateway.verify(&headers, &body, crate::platform::now()) {
        Ok(notification) => notification,
        Err(e) => {
            tracing::warn!(error = %e, channel = channel.code(), "payment notification refused");
            return answer(gateway, &body, StatusCode::UNAUTHORIZED);
        }
    };
    let applied = super::repo::apply_notification(&state.db, &notification).await;
    if let Ok(applied) = &applied {
        tracing::info!(order_no = %notification.order_no, ?applied, "payment notification");
    }
    stored(gateway, &body, applied.map(drop))
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
    let notification = match gateway.verify_refund(&headers, &body, crate::platform::now()) {
        Ok(notification) => notification,
        Err(e) => {
            tracing::warn!(error = %e, channel = channel.code(), "refund notification refused");
            return answer(gateway, &body, StatusCode::UNAUTHORIZED);
        }
    };
    let applied = super::repo::apply_refund_notification(&state.db, &notification).await;
    if let Ok(applied) = &applied {
        tracing::info!(refund_no = %notification.refund_no, ?applied, "refund notification");
    }
    stored(gateway, &body, applied.map(drop))
}

/// The answer once a verified notification was stored (2xx: the gateway stops resending) or could not be (503:
/// it sends it again later).
fn stored(gateway: &dyn PaymentGateway, body: &[u8], outcome: Result<(), sqlx::Error>) -> Response {
    match outcome {
        Ok(()) => answer(gateway, body, StatusCode::OK),
        Err(e) => {
            tracing::error!(error = %e, "a gateway notification could not be stored");
            answer(gateway, body, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

/// The gateway's own answer to notification `body` (ICBC's is signed), with `status`.
fn answer(gateway: &dyn PaymentGateway, body: &[u8], status: StatusCode) -> Response {
    let NotifyAnswer { content_type, body: text } = gateway.notification_answer(body, status.is_success());
    (status, [(CONTENT_TYPE, content_type)], text).into_response()
}

//! `POST /pay/notify/{channel}` and `POST /pay/refund-notify/{channel}`: a channel's gateway's asynchronous payment
//! and refund notifications, verified by that channel's gateway. Trusted only when the signature verifies; a 2xx
//! answer (`success`) tells the gateway to stop retrying.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::repo::{Applied, RefundApplied};
use crate::domain::Channel;
use crate::platform::gateway::{NotifyAnswer, NotifyError, PaymentGateway};
use crate::platform::metrics::{self, Notice};
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
            metrics::notification_refused(Notice::Payment, channel.code(), refusal(e));
            return answer(gateway, &body, StatusCode::UNAUTHORIZED);
        }
    };
    let applied = super::repo::apply_notification(&state.db, &notification).await;
    if let Ok(applied) = &applied {
        tracing::info!(order_no = %notification.order_no, ?applied, "payment notification");
    }
    stored(gateway, &body, Notice::Payment, channel, applied.map(|applied| payment_outcome(&applied)))
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
            metrics::notification_refused(Notice::Refund, channel.code(), refusal(e));
            return answer(gateway, &body, StatusCode::UNAUTHORIZED);
        }
    };
    let applied = super::repo::apply_refund_notification(&state.db, &notification).await;
    if let Ok(applied) = &applied {
        tracing::info!(refund_no = %notification.refund_no, ?applied, "refund notification");
    }
    stored(gateway, &body, Notice::Refund, channel, applied.map(|applied| refund_outcome(&applied)))
}

/// The answer once a verified notification was stored (2xx: the gateway stops resending) or could not be (503:
/// it sends it again later), counted under what storing it did.
fn stored(
    gateway: &dyn PaymentGateway,
    body: &[u8],
    kind: Notice,
    channel: Channel,
    outcome: Result<&'static str, sqlx::Error>,
) -> Response {
    match outcome {
        Ok(reason) => {
            metrics::notification_accepted(kind, channel.code(), reason);
            answer(gateway, body, StatusCode::OK)
        }
        Err(e) => {
            tracing::error!(error = %e, "a gateway notification could not be stored");
            metrics::notification_refused(kind, channel.code(), "store_failed");
            answer(gateway, body, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

/// The metrics reason of a refused signature check.
fn refusal(error: NotifyError) -> &'static str {
    match error {
        NotifyError::Unsigned => "unsigned",
        NotifyError::BadSignature => "bad_signature",
        NotifyError::Stale => "stale",
        NotifyError::Malformed => "malformed",
    }
}

/// The metrics reason of a stored payment notification: what it did to the order.
fn payment_outcome(applied: &Applied) -> &'static str {
    match applied {
        Applied::Paid => "paid",
        Applied::AlreadyApplied => "already_applied",
        Applied::Closed => "closed",
        Applied::Replayed => "replayed",
        Applied::Exception(_) => "exception",
    }
}

/// The metrics reason of a stored refund notification.
fn refund_outcome(applied: &RefundApplied) -> &'static str {
    match applied {
        RefundApplied::Ended(_) => "ended",
        RefundApplied::NoChange => "no_change",
        RefundApplied::Unknown => "unknown_refund",
        RefundApplied::Replayed => "replayed",
    }
}

/// The gateway's own answer to notification `body` (ICBC's is signed), with `status`.
fn answer(gateway: &dyn PaymentGateway, body: &[u8], status: StatusCode) -> Response {
    let NotifyAnswer { content_type, body: text } = gateway.notification_answer(body, status.is_success());
    (status, [(CONTENT_TYPE, content_type)], text).into_response()
}

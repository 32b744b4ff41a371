//! The app's side of the sandbox gateway: a `PaymentGateway` that speaks the sandbox protocol over HTTP.

use std::time::Duration;

use app::domain::CivilDate;
use app::platform::gateway::{
    Checkout, GatewayError, GatewayOrder, GatewayState, Notification, NotifyError, PaymentGateway, RefundNotification,
    RefundRequest, RefundState, StatementLine,
};
use app::platform::now;
use async_trait::async_trait;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;

use crate::protocol::{
    check_signature, signature_headers, CreatedOrder, DailyStatement, NotificationBody, OrderStatus, Outcome,
    RefundProgress, RefundStatus, ReportedState,
};

/// The app's side of the sandbox gateway, over real HTTP.
pub struct SandboxClient {
    /// Where the server reaches the gateway, e.g. `http://127.0.0.1:3900`.
    base_url: String,
    /// Where the browser reaches the gateway; usually the same.
    public_url: String,
    secret: Vec<u8>,
    http: reqwest::Client,
}

impl SandboxClient {
    /// A client for the sandbox at `base_url` whose cashier browsers open at `public_url`.
    pub fn new(base_url: impl Into<String>, public_url: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client always builds");
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            public_url: public_url.into().trim_end_matches('/').to_string(),
            secret: secret.into(),
            http,
        }
    }

    /// Sends a signed merchant API call and returns the answer's body once its signature holds.
    async fn call(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> Result<Vec<u8>, GatewayError> {
        let headers = signature_headers(&self.secret, &body, now());
        let mut request = self.http.request(method, format!("{}{path}", self.base_url)).headers(headers);
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let response = request.send().await.map_err(|e| GatewayError::Unreachable(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let answer = response.bytes().await.map_err(|e| GatewayError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            let reason = format!("HTTP {status}: {}", String::from_utf8_lossy(&answer[..answer.len().min(200)]));
            // A failing gateway may recover, so the caller can retry later; a refusal will not change.
            return Err(if status.is_server_error() {
                GatewayError::Unreachable(reason)
            } else {
                GatewayError::Rejected(reason)
            });
        }
        match check_signature(&self.secret, &headers, &answer, now()) {
            Ok(_) => Ok(answer.to_vec()),
            Err(NotifyError::Stale) => Err(GatewayError::Rejected("answer timestamp is too far from our clock".into())),
            Err(_) => Err(GatewayError::BadSignature),
        }
    }
}

fn unreadable(e: serde_json::Error) -> GatewayError {
    GatewayError::Rejected(format!("unreadable answer: {e}"))
}

/// Reads a signed order status, which must be about `order_no`.
fn state_of(order_no: &str, answer: &[u8]) -> Result<GatewayState, GatewayError> {
    let status: OrderStatus = serde_json::from_slice(answer).map_err(unreadable)?;
    // A signed answer about another order must not settle this one.
    if status.order_no != order_no {
        return Err(GatewayError::Rejected(format!("answer is for order {}", status.order_no)));
    }
    Ok(match status {
        OrderStatus { state: ReportedState::Pending, .. } => GatewayState::Pending,
        OrderStatus { state: ReportedState::Cancelled, .. } => GatewayState::Cancelled,
        OrderStatus { state: ReportedState::Closed, .. } => GatewayState::Closed,
        OrderStatus { state: ReportedState::NotFound, .. } => GatewayState::NotFound,
        OrderStatus {
            state: ReportedState::Paid,
            txn_id: Some(txn_id),
            amount_fen: Some(amount_fen),
            paid_at: Some(paid_at),
            ..
        } => GatewayState::Paid { txn_id, amount_fen, paid_at },
        OrderStatus { state: ReportedState::Paid, .. } => {
            return Err(GatewayError::Rejected("paid answer lacks its transaction details".into()))
        }
    })
}

/// Reads a signed refund status, which must be about `refund_no`.
fn refund_state_of(refund_no: &str, answer: &[u8]) -> Result<RefundState, GatewayError> {
    let status: RefundStatus = serde_json::from_slice(answer).map_err(unreadable)?;
    // A signed answer about another refund must not settle this one.
    if status.refund_no != refund_no {
        return Err(GatewayError::Rejected(format!("answer is for refund {}", status.refund_no)));
    }
    refund_state(status).ok_or_else(|| GatewayError::Rejected("refund answer lacks its details".into()))
}

/// The refund state a status reports; `None` when it lacks what its state needs.
fn refund_state(status: RefundStatus) -> Option<RefundState> {
    Some(match status {
        RefundStatus { state: RefundProgress::NotFound, .. } => RefundState::NotFound,
        RefundStatus { state: RefundProgress::Processing, refund_id: Some(refund_id), .. } => {
            RefundState::Processing { refund_id }
        }
        RefundStatus {
            state: RefundProgress::Succeeded, refund_id: Some(refund_id), succeeded_at: Some(at), ..
        } => RefundState::Succeeded { refund_id, succeeded_at: at },
        _ => return None,
    })
}

#[async_trait]
impl PaymentGateway for SandboxClient {
    async fn create(&self, order: &GatewayOrder) -> Result<Checkout, GatewayError> {
        let body = serde_json::to_vec(order).expect("an order always serialises");
        let answer = self.call(reqwest::Method::POST, "/api/orders", body).await?;
        let created: CreatedOrder = serde_json::from_slice(&answer).map_err(unreadable)?;
        if created.order_no != order.order_no {
            return Err(GatewayError::Rejected(format!("answer is for order {}", created.order_no)));
        }
        Ok(Checkout::Redirect(format!("{}{}", self.public_url, created.cashier_path)))
    }

    async fn query(&self, order_no: &str) -> Result<GatewayState, GatewayError> {
        let answer = self.call(reqwest::Method::GET, &format!("/api/orders/{order_no}"), Vec::new()).await?;
        state_of(order_no, &answer)
    }

    async fn close(&self, order_no: &str) -> Result<GatewayState, GatewayError> {
        let answer = self.call(reqwest::Method::POST, &format!("/api/orders/{order_no}/close"), Vec::new()).await?;
        state_of(order_no, &answer)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Notification, NotifyError> {
        let (timestamp, nonce) = check_signature(&self.secret, headers, body, now)?;
        let body: NotificationBody = serde_json::from_slice(body).map_err(|_| NotifyError::Malformed)?;
        let txn_id = body.txn_id.unwrap_or_default();
        let paid = body.state == Outcome::Paid;
        if body.order_no.is_empty() || (paid && txn_id.is_empty()) {
            return Err(NotifyError::Malformed);
        }
        Ok(Notification {
            nonce,
            timestamp,
            order_no: body.order_no,
            txn_id,
            amount_fen: body.amount_fen,
            paid,
            paid_at: body.paid_at,
        })
    }

    async fn daily_statement(&self, date: CivilDate) -> Result<Vec<StatementLine>, GatewayError> {
        let answer = self.call(reqwest::Method::GET, &format!("/api/statements/{date}"), Vec::new()).await?;
        let statement: DailyStatement = serde_json::from_slice(&answer).map_err(unreadable)?;
        // A signed statement of another day must not be reconciled against this one.
        if statement.date != date.to_string() {
            return Err(GatewayError::Rejected(format!("answer is the statement of {}", statement.date)));
        }
        Ok(statement.lines)
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundState, GatewayError> {
        let body = serde_json::to_vec(request).expect("a refund request always serialises");
        let answer = self.call(reqwest::Method::POST, "/api/refunds", body).await?;
        refund_state_of(&request.refund_no, &answer)
    }

    async fn query_refund(&self, refund_no: &str) -> Result<RefundState, GatewayError> {
        let answer = self.call(reqwest::Method::GET, &format!("/api/refunds/{refund_no}"), Vec::new()).await?;
        refund_state_of(refund_no, &answer)
    }

    fn verify_refund(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<RefundNotification, NotifyError> {
        let (timestamp, nonce) = check_signature(&self.secret, headers, body, now)?;
        let status: RefundStatus = serde_json::from_slice(body).map_err(|_| NotifyError::Malformed)?;
        let (refund_no, order_no) = (status.refund_no.clone(), status.order_no.clone());
        // The sandbox notifies only a refund that has ended.
        let state = refund_state(status).filter(|s| matches!(s, RefundState::Succeeded { .. }));
        match state {
            Some(state) if !refund_no.is_empty() && !order_no.is_empty() => {
                Ok(RefundNotification { nonce, timestamp, refund_no, order_no, state })
            }
            _ => Err(NotifyError::Malformed),
        }
    }
}

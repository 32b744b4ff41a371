//! The built-in sandbox gateway's protocol (signatures, answers) and the app's client for it. The contract it
//! implements is `platform::gateway`, re-exported here.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::CivilDate;
pub use crate::platform::gateway::{
    GatewayError, GatewayOrder, GatewayState, Notification, NotifyError, PaymentGateway, StatementLine,
};
use crate::platform::session::random_token;

/// The header with the signing time in epoch seconds.
pub const TIMESTAMP_HEADER: &str = "x-sandbox-timestamp";
/// The header with the signer's one-time random string.
pub const NONCE_HEADER: &str = "x-sandbox-nonce";
/// The header with the hex HMAC-SHA256 of timestamp, nonce and body.
pub const SIGNATURE_HEADER: &str = "x-sandbox-signature";
/// How far a signed message's timestamp may be from the receiver's clock, so a captured message soon goes stale.
pub const MAX_SKEW_SECS: u64 = 300;

/// The sandbox's answer to a statement request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyStatement {
    /// The Asia/Shanghai date the statement covers, YYYY-MM-DD.
    pub date: String,
    pub lines: Vec<StatementLine>,
}

/// The hex HMAC-SHA256 under `secret` of `"{timestamp}\n{nonce}\n{body}"`, the signature both sides compute.
pub fn sign(secret: &[u8], timestamp: i64, nonce: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, nonce, body).finalize().into_bytes())
}

fn mac(secret: &[u8], timestamp: i64, nonce: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}\n{nonce}\n").as_bytes());
    mac.update(body);
    mac
}

/// The three signature headers for `body`, signed at `now` with a fresh nonce.
pub fn signature_headers(secret: &[u8], body: &[u8], now: i64) -> HeaderMap {
    let nonce = random_token();
    let signature = sign(secret, now, &nonce, body);
    let mut headers = HeaderMap::new();
    for (name, value) in [(TIMESTAMP_HEADER, now.to_string()), (NONCE_HEADER, nonce), (SIGNATURE_HEADER, signature)] {
        headers.insert(name, HeaderValue::from_str(&value).expect("digits and hex are valid header values"));
    }
    headers
}

/// Checks the signature headers over `body` and the timestamp's freshness; returns the timestamp and nonce.
pub fn check_signature(
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(i64, String), NotifyError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
    let (Some(timestamp), Some(nonce), Some(signature)) =
        (header(TIMESTAMP_HEADER), header(NONCE_HEADER), header(SIGNATURE_HEADER))
    else {
        return Err(NotifyError::Unsigned);
    };
    let timestamp: i64 = timestamp.parse().map_err(|_| NotifyError::BadSignature)?;
    let signature = hex::decode(signature).map_err(|_| NotifyError::BadSignature)?;
    // `verify_slice` compares in constant time, so response timing reveals nothing about the right signature.
    mac(secret, timestamp, nonce, body).verify_slice(&signature).map_err(|_| NotifyError::BadSignature)?;
    if now.abs_diff(timestamp) > MAX_SKEW_SECS {
        return Err(NotifyError::Stale);
    }
    Ok((timestamp, nonce.to_string()))
}

/// The sandbox's answer to a created order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedOrder {
    pub order_no: String,
    /// The cashier page's path on the gateway, e.g. `/cashier/{order_no}`.
    pub cashier_path: String,
}

/// An order's state in the sandbox's query answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportedState {
    Pending,
    Paid,
    Cancelled,
    Closed,
    NotFound,
}

/// The sandbox's answer to an order query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatus {
    pub order_no: String,
    pub state: ReportedState,
    pub txn_id: Option<String>,
    pub amount_fen: Option<i64>,
    pub paid_at: Option<i64>,
}

/// How a payment ended at the cashier, as notifications say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Paid,
    Cancelled,
}

/// The JSON body of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationBody {
    pub order_no: String,
    /// Absent when the payer cancelled.
    pub txn_id: Option<String>,
    pub amount_fen: i64,
    pub state: Outcome,
    /// When the payment was taken; absent when the payer cancelled.
    #[serde(default)]
    pub paid_at: Option<i64>,
}

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
        let headers = signature_headers(&self.secret, &body, crate::platform::now());
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
        match check_signature(&self.secret, &headers, &answer, crate::platform::now()) {
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

#[async_trait]
impl PaymentGateway for SandboxClient {
    async fn create(&self, order: &GatewayOrder) -> Result<String, GatewayError> {
        let body = serde_json::to_vec(order).expect("an order always serialises");
        let answer = self.call(reqwest::Method::POST, "/api/orders", body).await?;
        let created: CreatedOrder = serde_json::from_slice(&answer).map_err(unreadable)?;
        if created.order_no != order.order_no {
            return Err(GatewayError::Rejected(format!("answer is for order {}", created.order_no)));
        }
        Ok(format!("{}{}", self.public_url, created.cashier_path))
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
}

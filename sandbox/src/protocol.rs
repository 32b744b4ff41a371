//! The sandbox's wire protocol: HMAC-SHA256 signature headers on every message, and the JSON bodies of its
//! merchant API answers and notifications.

use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use app::platform::gateway::{NotifyError, StatementLine};
use app::platform::session::random_token;

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

/// A refund's state in the sandbox's answers and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundProgress {
    /// Accepted; the money goes back shortly, and a notification follows.
    Processing,
    Succeeded,
    NotFound,
}

/// The sandbox's answer to a refund request or query, and the JSON body of a refund notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundStatus {
    pub refund_no: String,
    /// Empty when the refund is not found.
    pub order_no: String,
    pub state: RefundProgress,
    /// The gateway's refund number; absent when the refund is not found.
    pub refund_id: Option<String>,
    pub amount_fen: Option<i64>,
    /// When the money went back; present once succeeded.
    pub succeeded_at: Option<i64>,
}

//! The payment gateway contract the app codes against, shaped like WeChat Pay and ICBC e支付: signed merchant API
//! calls, a cashier page for the browser, signed asynchronous notifications. `AppState` holds one per channel
//! (`Gateways`); payments uses the order's channel's; `server` chooses which (the built-in sandbox in development).

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::domain::{Channel, CivilDate};

/// Where each channel's gateway posts payment results (`/pay/notify/{channel}`): server-to-server, authenticated
/// by the signature, not by Origin.
pub const NOTIFY_PREFIX: &str = "/pay/notify";
/// Where each channel's gateway posts refund results (`/pay/refund-notify/{channel}`).
pub const REFUND_NOTIFY_PREFIX: &str = "/pay/refund-notify";

/// The payment notification path of `channel`'s gateway.
pub fn notify_path(channel: Channel) -> String {
    format!("{NOTIFY_PREFIX}/{}", channel.code())
}

/// The refund notification path of `channel`'s gateway.
pub fn refund_notify_path(channel: Channel) -> String {
    format!("{REFUND_NOTIFY_PREFIX}/{}", channel.code())
}

/// Whether `path` is one of the gateways' notification paths, which no browser posts to.
pub fn is_notify_path(path: &str) -> bool {
    [Channel::Wechat, Channel::Icbc].iter().any(|&c| path == notify_path(c) || path == refund_notify_path(c))
}

/// One gateway per channel: WeChat Pay for the WeChat channel, ICBC for 融e联 (both the sandbox in development).
#[derive(Clone)]
pub struct Gateways {
    pub wechat: Arc<dyn PaymentGateway>,
    pub icbc: Arc<dyn PaymentGateway>,
}

impl Gateways {
    /// The same gateway for both channels (the sandbox).
    pub fn both(gateway: Arc<dyn PaymentGateway>) -> Self {
        Self { wechat: gateway.clone(), icbc: gateway }
    }

    /// The gateway that takes `channel`'s payments.
    pub fn get(&self, channel: Channel) -> &Arc<dyn PaymentGateway> {
        match channel {
            Channel::Wechat => &self.wechat,
            Channel::Icbc => &self.icbc,
        }
    }
}

/// What the app asks the gateway to collect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayOrder {
    /// The app's order number; the gateway keys the payment on it, so a retried create cannot charge twice.
    pub order_no: String,
    pub amount_fen: i64,
    /// What the payer sees on the cashier page.
    pub subject: String,
    /// Where the gateway posts the signed result.
    pub notify_url: String,
    /// Where the cashier sends the browser afterwards.
    pub return_url: String,
    /// When the order stops being payable, epoch seconds (WeChat Pay's `time_expire`): the gateway refuses payment
    /// from then on, so nothing is charged on an order the app has let expire.
    pub time_expire: i64,
    /// The payer's id at the channel's platform (the WeChat openid JSAPI needs as `payer.openid`); `None` for a
    /// payer the platform has not signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_uid: Option<String>,
}

/// How the browser pays an order the gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Checkout {
    /// Send the browser to the gateway's cashier page (the sandbox, ICBC's H5 cashier).
    Redirect(String),
    /// WeChat Pay JSAPI: the page calls `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` with these fields.
    JsApi(JsApiParams),
}

/// The fields of `getBrandWCPayRequest`, named as WeChat's JS bridge expects them (camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsApiParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=…`
    pub package: String,
    /// `RSA`
    pub sign_type: String,
    pub pay_sign: String,
}

/// A refund the app asks the gateway for (WeChat Pay's 申请退款), keyed by the app's refund number so a retried
/// request refunds once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub refund_no: String,
    pub order_no: String,
    /// The gateway's transaction the money came in by.
    pub txn_id: String,
    pub refund_fen: i64,
    /// What the original payment took.
    pub total_fen: i64,
    pub reason: String,
    /// Where the gateway posts the refund's result.
    pub notify_url: String,
}

/// A refund as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundState {
    /// Accepted, the money not yet back with the payer (WeChat's `PROCESSING`).
    Processing {
        refund_id: String,
    },
    Succeeded {
        refund_id: String,
        succeeded_at: i64,
    },
    /// Closed or abnormal: the money did not go back and an operator must act (`CLOSED`, `ABNORMAL`).
    Failed {
        refund_id: String,
        reason: String,
    },
    NotFound,
}

/// A verified asynchronous notification of a refund's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotification {
    pub nonce: String,
    pub timestamp: i64,
    pub refund_no: String,
    pub order_no: String,
    pub state: RefundState,
}

/// An order as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayState {
    Pending,
    Paid {
        txn_id: String,
        amount_fen: i64,
        paid_at: i64,
    },
    Cancelled,
    /// Closed by the app, or past its expiry: it can no longer be paid.
    Closed,
    NotFound,
}

/// A verified asynchronous notification of a payment's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Unique per notification: the app refuses a nonce it has seen, so a replayed notification does nothing.
    pub nonce: String,
    pub timestamp: i64,
    pub order_no: String,
    /// The gateway's transaction number; empty when the payer cancelled.
    pub txn_id: String,
    pub amount_fen: i64,
    /// False when the payer cancelled at the cashier.
    pub paid: bool,
    /// When the gateway took the money, so the app dates the payment as the gateway's statement does.
    pub paid_at: Option<i64>,
}

/// Why a call to the gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("payment gateway unreachable or failing: {0}")]
    Unreachable(String),
    #[error("payment gateway refused the request: {0}")]
    Rejected(String),
    #[error("payment gateway answer is not signed with the shared secret")]
    BadSignature,
}

/// Why a signed message (a notification, or a merchant API call at the sandbox) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("signature headers are missing")]
    Unsigned,
    #[error("signature does not match the shared secret")]
    BadSignature,
    #[error("timestamp is more than 300 seconds from the server clock")]
    Stale,
    #[error("body is not a valid payment result")]
    Malformed,
}

/// A payment gateway: the merchant API the app calls and the notifications it receives.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Registers the order (idempotently by order number) and says how the browser pays it.
    async fn create(&self, order: &GatewayOrder) -> Result<Checkout, GatewayError>;
    /// Asks the gateway for the order's state, for reconciling orders whose notification has not arrived.
    async fn query(&self, order_no: &str) -> Result<GatewayState, GatewayError>;
    /// Closes the order so it can no longer be paid (WeChat Pay's 关闭订单) and returns its state afterwards:
    /// `Closed`, or what it was when payment or cancellation came first.
    async fn close(&self, order_no: &str) -> Result<GatewayState, GatewayError>;
    /// Checks a notification's signature and freshness and reads it; replayed nonces are the caller's to refuse.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Notification, NotifyError>;
    /// The gateway's own record of the payments it took on an Asia/Shanghai day, like WeChat Pay's 下载交易账单,
    /// for the daily reconciliation.
    async fn daily_statement(&self, date: CivilDate) -> Result<Vec<StatementLine>, GatewayError>;
    /// Asks for money to go back to the payer (idempotently by refund number) and returns the refund's state.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundState, GatewayError>;
    /// The refund's state at the gateway, for refunds whose notification has not arrived.
    async fn query_refund(&self, refund_no: &str) -> Result<RefundState, GatewayError>;
    /// Checks a refund notification's signature and freshness and reads it.
    fn verify_refund(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<RefundNotification, NotifyError>;
    /// The body that answers notification `body`: `accepted` when the app verified and stored it, so the gateway
    /// stops resending. Most gateways read only the HTTP status; ICBC wants a signed answer.
    fn notification_answer(&self, body: &[u8], accepted: bool) -> NotifyAnswer {
        let _ = body;
        NotifyAnswer {
            content_type: "text/plain; charset=utf-8",
            body: if accepted { "success" } else { "FAIL" }.into(),
        }
    }
}

/// What the app answers a gateway's notification with (the HTTP status is the app's: 2xx when accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyAnswer {
    pub content_type: &'static str,
    pub body: String,
}

/// One payment in the gateway's daily statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub order_no: String,
    pub txn_id: String,
    pub amount_fen: i64,
    pub paid_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_channel_has_its_own_notify_paths_and_only_those_skip_the_origin_check() {
        assert_eq!(notify_path(Channel::Wechat), "/pay/notify/wechat");
        assert_eq!(refund_notify_path(Channel::Icbc), "/pay/refund-notify/icbc");
        assert!(is_notify_path("/pay/notify/icbc") && is_notify_path("/pay/refund-notify/wechat"));
        assert!(!is_notify_path("/pay/notify") && !is_notify_path("/pay/notify/alipay"));
        assert!(!is_notify_path("/pay/notify/wechat/extra"));
    }
}

//! ICBC's online B2C aggregate payment (`cardbusiness/aggregatepay/b2c/online`) as the 融e联 channel's
//! `PaymentGateway`: the browser goes to ICBC's H5 cashier (`consumepurchaseshowpay`), the gateway posts the result
//! to the notify URL, and the app queries, closes (`orderqry` with `deal_flag=1`), refunds (`merrefund`) and queries
//! refunds (`refundqry`) server to server. Amounts are integer fen on both sides.

use app::domain::{Channel, CivilDate};
use app::platform::gateway::{
    self, Checkout, GatewayError, GatewayOrder, GatewayState, Notification, NotifyAnswer, NotifyError, PaymentGateway,
    RefundNotification, RefundRequest, RefundState, StatementLine,
};
use async_trait::async_trait;
use axum::http::HeaderMap;
use serde_json::{json, Value};

use super::client::{self, CallError, GatewayNotification, IcbcClient};
use super::sign;
use crate::SettingError;

/// The H5 cashier page (`UiIcbcClient`).
pub const CASHIER_PATH: &str = "/ui/cardbusiness/aggregatepay/b2c/online/ui/consumepurchaseshowpay/V1";
/// Order query, and close with `deal_flag=1`.
pub const ORDER_QUERY_PATH: &str = "/api/cardbusiness/aggregatepay/b2c/online/orderqry/V1";
/// Refund.
pub const REFUND_PATH: &str = "/api/cardbusiness/aggregatepay/b2c/online/merrefund/V1";
/// Refund query.
pub const REFUND_QUERY_PATH: &str = "/api/cardbusiness/aggregatepay/b2c/online/refundqry/V1";
/// The daily statement: assumed, no public SDK names it (docs/providers.md); overridable by `ICBC_STATEMENT_PATH`.
pub const DEFAULT_STATEMENT_PATH: &str = "/api/cardbusiness/aggregatepay/b2c/online/billqry/V1";

/// `orderqry`'s `deal_flag`: 0 queries, 1 closes the order.
const DEAL_QUERY: &str = "0";
const DEAL_CLOSE: &str = "1";
/// ICBC takes only renminbi, coded 001.
const CURRENCY_CNY: &str = "001";
/// The times ICBC's payment answers are read in (`pay_time`): the notification's compact form and the platform's.
const PAY_TIME_FORMATS: [&str; 3] = ["%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S"];

/// ICBC's aggregate payment for the 融e联 channel.
#[derive(Debug)]
pub struct IcbcPay {
    client: IcbcClient,
    mer_id: String,
    mer_prtcl_no: String,
    statement_path: String,
    /// The path of the app's base URL, which the gateway signs notifications under (`/prefix/pay/notify/icbc`).
    base_path: String,
}

impl IcbcPay {
    /// Reads the client's settings plus `ICBC_MER_ID`, `ICBC_MER_PRTCL_NO` (default: the merchant id),
    /// `ICBC_STATEMENT_PATH` and the path of `APP_BASE_URL`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let client = IcbcClient::from_lookup(&lookup)?;
        let mer_id = lookup("ICBC_MER_ID")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SettingError("ICBC_MER_ID is not set".into()))?;
        let mer_prtcl_no = lookup("ICBC_MER_PRTCL_NO")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or(mer_id.clone());
        let statement_path = lookup("ICBC_STATEMENT_PATH").unwrap_or_else(|| DEFAULT_STATEMENT_PATH.into());
        if !statement_path.starts_with("/api/") {
            return Err(SettingError("ICBC_STATEMENT_PATH is not an /api/… path".into()));
        }
        let base_path = lookup("APP_BASE_URL").map(|u| url_path(&u)).unwrap_or_default();
        Ok(Self { client, mer_id, mer_prtcl_no, statement_path, base_path })
    }

    async fn order_query(&self, order_no: &str, deal_flag: &str) -> Result<GatewayState, GatewayError> {
        let biz = json!({
            "mer_id": self.mer_id,
            "out_trade_no": order_no,
            "deal_flag": deal_flag,
            "icbc_appid": self.client.app_id(),
        });
        let answer = match self.client.call(ORDER_QUERY_PATH, &biz).await {
            Ok(answer) => answer,
            Err(e) if is_not_found(&e) => return Ok(GatewayState::NotFound),
            Err(e) => return Err(gateway_error(e)),
        };
        let state = order_state(&answer)?;
        // A close that found the order unpaid leaves it closed whatever status the answer echoes.
        Ok(match state {
            GatewayState::Pending | GatewayState::Cancelled if deal_flag == DEAL_CLOSE => GatewayState::Closed,
            other => other,
        })
    }

    fn notify_path(&self, path: String) -> String {
        format!("{}{path}", self.base_path)
    }
}

#[async_trait]
impl PaymentGateway for IcbcPay {
    async fn create(&self, order: &GatewayOrder) -> Result<Checkout, GatewayError> {
        let now = app::platform::now();
        if order.amount_fen <= 0 {
            return Err(GatewayError::Rejected("amount must be positive".into()));
        }
        let expire_secs = order.time_expire - now;
        if expire_secs <= 0 {
            return Err(GatewayError::Rejected("order already expired".into()));
        }
        let biz = json!({
            "mer_id": self.mer_id,
            "out_trade_no": order.order_no,
            "mer_prtcl_no": self.mer_prtcl_no,
            "order_amt": order.amount_fen.to_string(),
            "icbc_appid": self.client.app_id(),
            "notify_url": order.notify_url,
            "return_url": order.return_url,
            "body": order.subject,
            "subject": order.subject,
            "expire_time": expire_secs.to_string(),
            // HS: the gateway posts the result to notify_url; result_type 0: for failures too.
            "notify_type": "HS",
            "result_type": "0",
        });
        Ok(Checkout::Redirect(self.client.page_url(CASHIER_PATH, &biz, now)))
    }

    async fn query(&self, order_no: &str) -> Result<GatewayState, GatewayError> {
        self.order_query(order_no, DEAL_QUERY).await
    }

    async fn close(&self, order_no: &str) -> Result<GatewayState, GatewayError> {
        self.order_query(order_no, DEAL_CLOSE).await
    }

    fn verify(&self, _headers: &HeaderMap, body: &[u8], now: i64) -> Result<Notification, NotifyError> {
        let path = self.notify_path(gateway::notify_path(Channel::Icbc));
        let GatewayNotification { timestamp, biz } = self.client.verify_notification(&path, body, now)?;
        let field = |name: &str| client::text_field(&biz, name);
        let order_no = field("out_trade_no").ok_or(NotifyError::Malformed)?;
        let nonce = field("msg_id").ok_or(NotifyError::Malformed)?;
        let paid = client::return_code(&biz).ok_or(NotifyError::Malformed)? == "0";
        let amount_fen = fen(&biz, "total_amt").ok_or(NotifyError::Malformed)?;
        let (txn_id, paid_at) = if paid {
            let txn_id = field("order_id").ok_or(NotifyError::Malformed)?;
            let paid_at = field("pay_time").and_then(|t| pay_time(&t)).ok_or(NotifyError::Malformed)?;
            (txn_id, Some(paid_at))
        } else {
            (String::new(), None)
        };
        Ok(Notification { nonce, timestamp, order_no, txn_id, amount_fen, paid, paid_at })
    }

    async fn daily_statement(&self, date: CivilDate) -> Result<Vec<StatementLine>, GatewayError> {
        let bill_date = format!("{:04}{:02}{:02}", date.year(), date.month(), date.day());
        let biz = json!({ "mer_id": self.mer_id, "bill_date": bill_date, "icbc_appid": self.client.app_id() });
        let answer = self.client.call(&self.statement_path, &biz).await.map_err(gateway_error)?;
        // A signed statement of another day must not be reconciled against this one.
        if client::text_field(&answer, "bill_date").as_deref() != Some(bill_date.as_str()) {
            return Err(GatewayError::Rejected("answer is the statement of another day".into()));
        }
        let lines = answer.get("detail_list").and_then(Value::as_array).cloned().unwrap_or_default();
        lines
            .iter()
            .map(|line| {
                let field = |name: &str| client::text_field(line, name);
                Some(StatementLine {
                    order_no: field("out_trade_no")?,
                    txn_id: field("order_id")?,
                    amount_fen: fen(line, "total_amt")?,
                    paid_at: pay_time(&field("pay_time")?)?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| GatewayError::Unreachable("statement line unreadable".into()))
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundState, GatewayError> {
        if request.refund_fen <= 0 || request.refund_fen > request.total_fen {
            return Err(GatewayError::Rejected("refund amount out of range".into()));
        }
        let biz = json!({
            "mer_id": self.mer_id,
            "out_trade_no": request.order_no,
            "order_id": request.txn_id,
            "outtrx_serial_no": request.refund_no,
            "ret_total_amt": request.refund_fen.to_string(),
            "trnsc_ccy": CURRENCY_CNY,
            "mer_prtcl_no": self.mer_prtcl_no,
            "icbc_appid": self.client.app_id(),
            "notify_url": request.notify_url,
        });
        let answer = self.client.call(REFUND_PATH, &biz).await.map_err(gateway_error)?;
        refund_state(&answer, &request.refund_no)
    }

    async fn query_refund(&self, refund_no: &str) -> Result<RefundState, GatewayError> {
        let biz = json!({ "mer_id": self.mer_id, "outtrx_serial_no": refund_no, "icbc_appid": self.client.app_id() });
        match self.client.call(REFUND_QUERY_PATH, &biz).await {
            Ok(answer) => refund_state(&answer, refund_no),
            Err(e) if is_not_found(&e) => Ok(RefundState::NotFound),
            Err(e) => Err(gateway_error(e)),
        }
    }

    fn verify_refund(&self, _headers: &HeaderMap, body: &[u8], now: i64) -> Result<RefundNotification, NotifyError> {
        let path = self.notify_path(gateway::refund_notify_path(Channel::Icbc));
        let GatewayNotification { timestamp, biz } = self.client.verify_notification(&path, body, now)?;
        let field = |name: &str| client::text_field(&biz, name);
        let nonce = field("msg_id").ok_or(NotifyError::Malformed)?;
        let order_no = field("out_trade_no").ok_or(NotifyError::Malformed)?;
        let refund_no = field("outtrx_serial_no").ok_or(NotifyError::Malformed)?;
        let state = refund_state(&biz, &refund_no).map_err(|_| NotifyError::Malformed)?;
        Ok(RefundNotification { nonce, timestamp, refund_no, order_no, state })
    }

    /// The signed answer the gateway expects to a payment or refund notification (see
    /// `IcbcClient::notification_answer`): `accepted` says whether the app took it; `body` is the notification,
    /// whose `msg_id` the answer echoes.
    fn notification_answer(&self, body: &[u8], accepted: bool) -> NotifyAnswer {
        let msg_id = form_urlencoded::parse(body)
            .find(|(k, _)| k == "biz_content")
            .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok())
            .and_then(|biz| client::text_field(&biz, "msg_id"))
            .unwrap_or_default();
        NotifyAnswer {
            content_type: "application/json; charset=utf-8",
            body: self.client.notification_answer(accepted, &msg_id),
        }
    }
}

/// An order's state from an `orderqry` answer's `pay_status`: 0 paid, 1 failed, 2 awaiting payment, 3 closed.
fn order_state(answer: &Value) -> Result<GatewayState, GatewayError> {
    let field = |name: &str| client::text_field(answer, name);
    let unreadable = |what: &str| GatewayError::Unreachable(format!("order query answer: {what}"));
    match field("pay_status").as_deref() {
        Some("0") => Ok(GatewayState::Paid {
            txn_id: field("order_id").ok_or_else(|| unreadable("no order_id"))?,
            amount_fen: fen(answer, "total_amt").ok_or_else(|| unreadable("no total_amt"))?,
            paid_at: field("pay_time").and_then(|t| pay_time(&t)).ok_or_else(|| unreadable("no pay_time"))?,
        }),
        Some("1") => Ok(GatewayState::Cancelled),
        Some("2") => Ok(GatewayState::Pending),
        Some("3") => Ok(GatewayState::Closed),
        _ => Err(unreadable("unknown pay_status")),
    }
}

/// A refund's state from a `merrefund`/`refundqry` answer or a refund notification: the amount refunded
/// (`real_reject_amt`) says it went through; `return_code` ≠ 0 in a notification says it failed.
fn refund_state(answer: &Value, refund_no: &str) -> Result<RefundState, GatewayError> {
    let refund_id = client::text_field(answer, "intrx_serial_no").unwrap_or_else(|| refund_no.to_string());
    if client::return_code(answer).as_deref() != Some("0") {
        let reason = client::text_field(answer, "return_msg").unwrap_or_default();
        return Ok(RefundState::Failed { refund_id, reason });
    }
    match fen(answer, "real_reject_amt") {
        Some(amount) if amount > 0 => {
            let succeeded_at = client::text_field(answer, "reject_time")
                .and_then(|t| sign::parse_shanghai_timestamp(&t))
                .unwrap_or_else(app::platform::now);
            Ok(RefundState::Succeeded { refund_id, succeeded_at })
        }
        _ => Ok(RefundState::Processing { refund_id }),
    }
}

/// An amount in fen, which ICBC writes as a string of digits (or a number).
fn fen(biz: &Value, name: &str) -> Option<i64> {
    let text = client::text_field(biz, name)?;
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok()).flatten()
}

fn pay_time(text: &str) -> Option<i64> {
    PAY_TIME_FORMATS.iter().find_map(|f| sign::parse_shanghai(text, f))
}

/// Whether ICBC refused because it knows no such order or refund (订单不存在, 退款记录不存在), as opposed to any other
/// refusal (an unknown app is also 不存在, and must not read as an absent order).
fn is_not_found(e: &CallError) -> bool {
    const NOT_FOUND: [&str; 3] = ["订单不存在", "退款不存在", "记录不存在"];
    matches!(e, CallError::Vendor { message, .. } if NOT_FOUND.iter().any(|m| message.contains(m)))
}

fn gateway_error(e: CallError) -> GatewayError {
    match e {
        CallError::Unreachable(m) | CallError::Unreadable(m) => GatewayError::Unreachable(m),
        CallError::BadSignature => GatewayError::BadSignature,
        e @ CallError::Vendor { .. } => GatewayError::Rejected(e.to_string()),
    }
}

/// The path of a base URL (`https://host/prefix/` → `/prefix`), empty at the root.
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map(|i| rest[i..].trim_end_matches('/').to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_states_follow_pay_status() {
        let paid = json!({"pay_status":"0","order_id":"T1","total_amt":"20000","pay_time":"20261203 10:00:00"});
        assert_eq!(
            order_state(&paid).unwrap(),
            GatewayState::Paid { txn_id: "T1".into(), amount_fen: 20000, paid_at: 1_796_263_200 }
        );
        assert_eq!(order_state(&json!({"pay_status":"2"})).unwrap(), GatewayState::Pending);
        assert!(order_state(&json!({"pay_status":"0","order_id":"T1","total_amt":"2.00"})).is_err());
        assert!(order_state(&json!({"pay_status":"9"})).is_err());
    }

    #[test]
    fn the_notify_path_keeps_the_base_urls_prefix() {
        assert_eq!(url_path("https://jt.example.cn"), "");
        assert_eq!(url_path("https://jt.example.cn/"), "");
        assert_eq!(url_path("https://jt.example.cn/app/"), "/app");
    }
}

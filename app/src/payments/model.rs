//! Payment views shared by the server and the browser.

use serde::{Deserialize, Serialize};

use crate::identity::model::{Channel, Flash};
use crate::violations::model::DecisionView;

/// `/fines/pay`: the confirmation with the amount broken down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayPageData {
    pub channel: Channel,
    pub decision: DecisionView,
    /// The total in fen, sent back with 确认缴费 so the charge is exactly what was shown.
    pub total_fen: i64,
    /// The payment method the channel uses.
    pub method: String,
    pub flash: Flash,
}

/// `/fines/wxpay?order=…`: a WeChat Pay JSAPI payment the page starts through WeChat's JS bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WxPayPageData {
    pub order_no: String,
    pub decision_no: String,
    pub amount: String,
    /// The fields of `getBrandWCPayRequest`, signed by the server with the merchant key; `None` once the order can
    /// no longer be paid (paid, cancelled or expired), whose result the page points to instead.
    pub params: Option<WxPayParams>,
}

/// `getBrandWCPayRequest`'s fields, named as WeChat's bridge wants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WxPayParams {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

impl WxPayParams {
    /// The fields in WeChat's order, with their names on the bridge.
    pub fn fields(&self) -> [(&'static str, &str); 6] {
        [
            ("appId", &self.app_id),
            ("timeStamp", &self.time_stamp),
            ("nonceStr", &self.nonce_str),
            ("package", &self.package),
            ("signType", &self.sign_type),
            ("paySign", &self.pay_sign),
        ]
    }
}

/// What happened to an order, from the server's own record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderState {
    Open,
    Paid,
    Cancelled,
    Expired,
}

impl OrderState {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            OrderState::Open => "open",
            OrderState::Paid => "paid",
            OrderState::Cancelled => "cancelled",
            OrderState::Expired => "expired",
        }
    }

    /// Reads a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "open" => Some(OrderState::Open),
            "paid" => Some(OrderState::Paid),
            "cancelled" => Some(OrderState::Cancelled),
            "expired" => Some(OrderState::Expired),
            _ => None,
        }
    }

    /// The state's name on the console's screens and exports.
    pub fn label(self) -> &'static str {
        match self {
            OrderState::Open => "待支付",
            OrderState::Paid => "已支付",
            OrderState::Cancelled => "已取消",
            OrderState::Expired => "已过期",
        }
    }
}

/// `/fines/result`: the outcome of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultPageData {
    pub channel: Channel,
    /// A guest's pass, carried to the receipt link; empty for signed-in payers.
    pub pass: String,
    pub order_no: String,
    pub decision_no: String,
    pub amount: String,
    pub state: OrderState,
    pub receipt_no: Option<String>,
    /// The gateway took money for this order that did not pay the fine and is to be refunded.
    pub refund_pending: bool,
}

/// 电子缴款凭证: the electronic payment receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub receipt_no: String,
    pub decision_no: String,
    pub plate: String,
    pub behaviour: String,
    pub fine: String,
    pub late_fee: String,
    pub total: String,
    /// Asia/Shanghai, YYYY-MM-DD HH:MM.
    pub paid_at: String,
    pub method: String,
    pub txn_id: String,
}

/// `/fines/receipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptPageData {
    pub channel: Channel,
    pub receipt: Receipt,
}

/// The payment method each channel pays through (both are the sandbox gateway here).
pub fn method_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Wechat => "微信支付（沙箱）",
        Channel::Icbc => "工银e支付（沙箱）",
    }
}

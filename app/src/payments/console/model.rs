//! The console's payment views, and the filter and note rules the server and the browser share.

use serde::{Deserialize, Serialize};

use crate::console::model::StaffView;
use crate::domain::CivilDate;
use crate::identity::model::{Channel, Flash};
use crate::payments::model::OrderState;

/// Every order state, in the order the filter lists them.
pub const ORDER_STATES: [OrderState; 4] =
    [OrderState::Open, OrderState::Paid, OrderState::Cancelled, OrderState::Expired];
/// Every channel, in the order the console lists them.
pub const CHANNELS: [Channel; 2] = [Channel::Wechat, Channel::Icbc];
/// The most orders the list shows; the count and the paid sum still cover every match.
pub const LIST_LIMIT: usize = 200;

/// A channel's name in the console.
pub fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Wechat => "微信",
        Channel::Icbc => "融e联",
    }
}

/// Which orders to list or export: 状态, 渠道, and Asia/Shanghai creation dates from–to, both inclusive. A value
/// that does not parse filters nothing, so a hand-edited URL still opens the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFilter {
    pub state: Option<OrderState>,
    pub channel: Option<Channel>,
    pub from: Option<CivilDate>,
    pub to: Option<CivilDate>,
}

impl OrderFilter {
    /// Reads the GET form's fields `state`, `channel`, `from` and `to`.
    pub fn parse(state: &str, channel: &str, from: &str, to: &str) -> Self {
        Self {
            state: OrderState::parse(state),
            channel: Channel::parse(channel),
            from: CivilDate::parse(from),
            to: CivilDate::parse(to),
        }
    }

    /// What to tell the user when `from` or `to` was given but is not a date the app handles, which then filters
    /// nothing.
    pub fn date_problem(from: &str, to: &str) -> Option<String> {
        let unreadable = |text: &str| !text.is_empty() && CivilDate::parse(text).is_none();
        (unreadable(from) || unreadable(to))
            .then(|| "日期应为 YYYY-MM-DD 格式（1900-01-01 至 2199-12-31），无法识别的日期条件未生效".to_string())
    }

    /// The filter as a query string (without `?`), for the CSV link that keeps the same filters.
    pub fn query(&self) -> String {
        [
            ("state", self.state.map(|s| s.code().to_string())),
            ("channel", self.channel.map(|c| c.code().to_string())),
            ("from", self.from.map(|d| d.to_string())),
            ("to", self.to.map(|d| d.to_string())),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// One payment order in the console's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub order_no: String,
    pub decision_no: String,
    pub channel: Channel,
    pub state: OrderState,
    /// Yuan with two decimals.
    pub amount: String,
    /// Asia/Shanghai, YYYY-MM-DD HH:MM.
    pub created_at: String,
    pub paid_at: Option<String>,
    pub txn_id: Option<String>,
}

/// `/console/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersPageData {
    pub staff: StaffView,
    pub filter: OrderFilter,
    /// Every order the filter matches, newest first, at most [`LIST_LIMIT`].
    pub rows: Vec<OrderRow>,
    /// How many orders match, beyond the rows shown.
    pub count: i64,
    /// How many of them are paid, and their sum in yuan.
    pub paid_count: i64,
    pub paid_sum: String,
    /// Why a date condition was not applied, if one was unreadable.
    pub error: Option<String>,
}

/// One channel's figures for a day: the app's paid orders against the gateway's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTotals {
    /// `None` for statement lines whose order the app does not know, so no channel can be named.
    pub channel: Option<Channel>,
    pub app_count: i64,
    pub app_sum: String,
    pub gateway_count: i64,
    pub gateway_sum: String,
    /// Gateway minus app.
    pub count_difference: i64,
    pub sum_difference: String,
    pub balanced: bool,
}

/// How one order differs between the app and the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DifferenceKind {
    /// The gateway took the money but the app does not count the order as paid that day.
    GatewayOnly,
    /// The app counts the order as paid but the gateway's statement has no such payment that day.
    AppOnly,
    /// Both have it, with different amounts.
    AmountMismatch,
    /// The gateway took the money that day, but the app dates the payment on another day: orders paid before the
    /// app kept the gateway's payment time.
    OtherDay,
}

impl DifferenceKind {
    /// The difference's name on screen.
    pub fn label(self) -> &'static str {
        match self {
            DifferenceKind::GatewayOnly => "网关已收款，平台未记为已支付",
            DifferenceKind::AppOnly => "平台已支付，网关账单无此笔",
            DifferenceKind::AmountMismatch => "金额不一致",
            DifferenceKind::OtherDay => "平台记在其他日期",
        }
    }
}

/// One order that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DifferenceRow {
    pub order_no: String,
    pub channel: Option<Channel>,
    pub kind: DifferenceKind,
    /// Yuan, or `None` when that side has no payment.
    pub app_amount: Option<String>,
    pub gateway_amount: Option<String>,
    /// The order's state in the app, `None` when the app does not know the order.
    pub app_state: Option<OrderState>,
    pub txn_id: Option<String>,
}

/// `/console/payments/reconciliation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationData {
    pub staff: StaffView,
    pub date: CivilDate,
    pub channels: Vec<ChannelTotals>,
    pub differences: Vec<DifferenceRow>,
}

/// A recorded payment exception's kind on screen.
pub fn exception_kind_label(kind: &str) -> &'static str {
    match kind {
        "wrong_amount" => "金额不符",
        "paid_after_close" => "订单关闭后支付",
        "duplicate_payment" => "重复支付",
        "unknown_order" => "未知订单",
        _ => "其他异常",
    }
}

/// A refund's state (`payment_refunds.state`) on screen.
pub fn refund_state_label(state: &str) -> &'static str {
    match state {
        "SUCCEEDED" => "已退款",
        "FAILED" => "退款失败",
        _ => "退款中",
    }
}

/// The refund of an exception, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundView {
    pub refund_no: String,
    /// `PROCESSING`, `SUCCEEDED` or `FAILED`.
    pub state: String,
    /// Yuan with two decimals.
    pub amount: String,
    pub requested_by: String,
    /// Asia/Shanghai, YYYY-MM-DD HH:MM.
    pub requested_at: String,
}

/// How an exception was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Asia/Shanghai, YYYY-MM-DD HH:MM.
    pub at: String,
    pub note: String,
    pub by: String,
}

/// One recorded payment exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRow {
    pub id: i64,
    pub order_no: String,
    pub kind_label: String,
    pub amount: String,
    pub detail: String,
    pub created_at: String,
    pub settlement: Option<Settlement>,
    /// Whether its money can go back to the payer by 退款: the app knows the order and the gateway's transaction.
    pub refundable: bool,
    /// The refund asked for, if one was.
    pub refund: Option<RefundView>,
}

/// An order still open after it should have ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleOrderRow {
    pub order_no: String,
    pub decision_no: String,
    pub channel: Channel,
    pub amount: String,
    pub created_at: String,
    pub expires_at: String,
}

/// `/console/payments/exceptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionsPageData {
    pub staff: StaffView,
    /// Only bank operators settle exceptions and query the gateway; auditors read.
    pub can_act: bool,
    pub flash: Flash,
    /// Unsettled first, then newest first.
    pub exceptions: Vec<ExceptionRow>,
    /// 等待过久: open past their expiry or for more than 30 minutes, oldest first.
    pub stale: Vec<StaleOrderRow>,
}

/// 处理说明: why an exception is settled (refunded, corrected…), 2 to 200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleNote(String);

impl SettleNote {
    /// The message for a note that is too short or too long.
    pub const INVALID: &'static str = "处理说明应为2至200个字";

    /// The trimmed note, if it is 2 to 200 characters long.
    pub fn parse(input: &str) -> Option<Self> {
        let note = input.trim();
        (2..=200).contains(&note.chars().count()).then(|| Self(note.to_string()))
    }

    /// The note's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_reads_the_form_and_writes_the_same_query_back() {
        let filter = OrderFilter::parse("paid", "wechat", "2026-11-01", "2026-11-24");
        assert_eq!(filter.state, Some(OrderState::Paid));
        assert_eq!(filter.channel, Some(Channel::Wechat));
        assert_eq!(filter.query(), "state=paid&channel=wechat&from=2026-11-01&to=2026-11-24");
        assert_eq!(
            OrderFilter::parse("paid", "wechat", "2026-11-01", "2026-11-24&x"),
            OrderFilter { to: None, ..filter }
        );
    }

    #[test]
    fn values_that_do_not_parse_filter_nothing() {
        let filter = OrderFilter::parse("", "alipay", "2026-02-30", "yesterday");
        assert_eq!(filter, OrderFilter::default());
        assert_eq!(filter.query(), "");
        assert_eq!(OrderFilter::parse("expired", "", "", "").query(), "state=expired");
    }

    #[test]
    fn a_settle_note_is_2_to_200_characters_after_trimming() {
        assert_eq!(SettleNote::parse("  已退款 ").map(|n| n.as_str().to_string()), Some("已退款".to_string()));
        assert!(SettleNote::parse("退").is_none());
        assert!(SettleNote::parse("  退 ").is_none());
        assert!(SettleNote::parse(&"款".repeat(200)).is_some());
        assert!(SettleNote::parse(&"款".repeat(201)).is_none());
    }

    #[test]
    fn exception_kinds_read_in_chinese() {
        assert_eq!(exception_kind_label("wrong_amount"), "金额不符");
        assert_eq!(exception_kind_label("paid_after_close"), "订单关闭后支付");
        assert_eq!(exception_kind_label("duplicate_payment"), "重复支付");
        assert_eq!(exception_kind_label("unknown_order"), "未知订单");
    }

    #[test]
    fn refund_states_read_in_chinese() {
        assert_eq!(refund_state_label("PROCESSING"), "退款中");
        assert_eq!(refund_state_label("SUCCEEDED"), "已退款");
        assert_eq!(refund_state_label("FAILED"), "退款失败");
    }
}

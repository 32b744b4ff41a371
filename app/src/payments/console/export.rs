//! `GET /console/payments.csv`: the console's order list as a download for Excel, with the same filters.

use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::{channel_label, OrderFilter};
use super::repo::{self, ListedOrder};
use crate::console::auth::{handler_staff, Refusal};
use crate::console::model::Role;
use crate::platform::state::AppState;
use crate::platform::{now, shanghai_time};

/// The export's header row.
const HEADER: [&str; 11] = [
    "订单号",
    "决定书编号",
    "渠道",
    "状态",
    "罚款金额（元）",
    "加处罚款（元）",
    "应缴金额（元）",
    "创建时间",
    "支付时间",
    "交易流水号",
    "凭证号",
];

/// The query string the list page's 导出CSV link carries.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Checks the staff cookie and role itself (a plain handler has no server-function context), then answers the
/// CSV with a BOM so Excel reads it as UTF-8.
pub async fn payments_csv(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ExportQuery>) -> Response {
    let staff = match handler_staff(&state, &headers, &[Role::Bank, Role::Auditor]).await {
        Ok(staff) => staff,
        Err(refusal) => return refusal.page(),
    };
    let filter = OrderFilter::parse(&q.state, &q.channel, &q.from, &q.to);
    let orders = match repo::orders(&state.db, &filter, None).await {
        Ok(orders) => orders,
        Err(e) => {
            tracing::error!(error = %e, "reading orders for the export failed");
            return Refusal::Unavailable.page();
        }
    };
    tracing::info!(staff = %staff.username, rows = orders.len(), filter = %filter.query(), "payments exported");
    let filename = format!("payments-{}.csv", shanghai_time(now()).replace(['-', ':'], "").replace(' ', "-"));
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            // Payment records: no cache may keep a copy.
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        csv(&orders),
    )
        .into_response()
}

/// The whole file: BOM, header row, one row per order, CRLF line ends as RFC 4180 writes them.
fn csv(orders: &[ListedOrder]) -> String {
    let mut out = String::from("\u{feff}");
    push_record(&mut out, HEADER.iter().map(|h| h.to_string()));
    for order in orders {
        push_record(
            &mut out,
            [
                order.order_no.clone(),
                order.decision_no.clone(),
                channel_label(order.channel).to_string(),
                order.state.label().to_string(),
                order.fine.to_string(),
                order.late_fee.to_string(),
                order.amount.to_string(),
                shanghai_time(order.created_at),
                order.paid_at.map(shanghai_time).unwrap_or_default(),
                order.txn_id.clone().unwrap_or_default(),
                order.receipt_no.clone().unwrap_or_default(),
            ]
            .into_iter(),
        );
    }
    out
}

fn push_record(out: &mut String, fields: impl Iterator<Item = String>) {
    let record: Vec<String> = fields.map(|f| csv_field(&f)).collect();
    out.push_str(&record.join(","));
    out.push_str("\r\n");
}

/// One field, safe for a spreadsheet: a field starting with `=`, `+`, `-` or `@` gets a leading `'` so Excel
/// shows it as text instead of running it as a formula; a field with a comma, quote or line break is quoted
/// with its quotes doubled.
fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_are_written_as_they_are() {
        assert_eq!(csv_field("P202611240000000001"), "P202611240000000001");
        assert_eq!(csv_field("200.00"), "200.00");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1+2"), "'-1+2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("a=b"), "a=b");
    }
}

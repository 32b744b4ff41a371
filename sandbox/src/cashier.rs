//! The sandbox's cashier page: the order, 确认支付 and 取消支付 while it is payable, its outcome afterwards.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use app::domain::Fen;

use crate::protocol::ReportedState;
use crate::server::Order;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const CASHIER_STYLE: &str = "\
body{margin:0;font:16px/1.5 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;background:#ededed;color:#111}\
header{background:#2b2b2b;color:#fff;text-align:center;padding:12px;font-size:17px}\
main{max-width:430px;margin:0 auto;padding:16px}\
.card{background:#fff;border-radius:8px;padding:24px 16px;text-align:center}\
.merchant{color:#555;margin:0}.subject{margin:8px 0}\
.amount{font-size:36px;font-weight:600;margin:12px 0}\
.state{font-size:20px;font-weight:600;margin:12px 0}\
.order{color:#777;font-size:13px;word-break:break-all}\
form{margin:16px 0 0}\
button,.back{display:block;box-sizing:border-box;width:100%;min-height:48px;border:0;border-radius:8px;\
font-size:17px;text-align:center;text-decoration:none;line-height:48px;padding:0}\
.pay{background:#07c160;color:#fff}.cancel{background:#f2f2f2;color:#d0021b}.back{background:#07c160;color:#fff}\
.note{color:#888;font-size:13px;text-align:center;margin-top:24px}";

/// The cashier page for an order: what a payer sees after the app redirects there.
pub(crate) fn cashier_page(order: &Order) -> String {
    let order_no = escape(&order.order_no);
    let back = format!("<a class=\"back\" href=\"{}\">返回商户</a>", escape(&order.return_url));
    let actions = match order.state {
        ReportedState::Pending => format!(
            "<form method=\"post\" action=\"/cashier/{order_no}/pay\">\
             <button class=\"pay\" type=\"submit\">确认支付</button></form>\
             <form method=\"post\" action=\"/cashier/{order_no}/cancel\">\
             <button class=\"cancel\" type=\"submit\">取消支付</button></form>"
        ),
        ReportedState::Paid => format!(
            "<p class=\"state\">已支付</p><p class=\"order\">交易号 {}</p>{back}",
            escape(order.txn_id.as_deref().unwrap_or_default())
        ),
        ReportedState::Cancelled | ReportedState::NotFound => format!("<p class=\"state\">已取消支付</p>{back}"),
        ReportedState::Closed => format!("<p class=\"state\">订单已关闭，未扣款</p>{back}"),
    };
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>收银台</title>\
         <style>{CASHIER_STYLE}</style></head><body><header>收银台</header><main><div class=\"card\">\
         <p class=\"merchant\">商户：大连智慧交通</p><p class=\"subject\">{subject}</p>\
         <p class=\"amount\">¥{amount}</p><p class=\"order\">订单号 {order_no}</p>{actions}</div>\
         <p class=\"note\">沙箱支付环境，不会产生真实扣款</p></main></body></html>",
        subject = escape(&order.subject),
        amount = Fen::new(order.amount_fen),
    )
}

pub(crate) fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>收银台</title></head>\
             <body><p>订单不存在或已失效</p></body></html>",
        ),
    )
        .into_response()
}

//! Server functions for the console's payment screens. Bank operators and auditors read; only bank operators
//! settle exceptions, refund them and ask the gateway about waiting orders.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::console::auth::StaffCaller;

use super::model::{ExceptionsPageData, OrdersPageData, ReconciliationData};
use crate::error::AppError;

/// The roles that may read payment records.
#[cfg(feature = "ssr")]
const READERS: [crate::console::model::Role; 2] =
    [crate::console::model::Role::Bank, crate::console::model::Role::Auditor];

/// The page the exception forms return to.
#[cfg(feature = "ssr")]
const EXCEPTIONS_PAGE: &str = "/console/payments/exceptions";

/// `/console/payments`: the orders the filter matches, newest first, with their count and paid sum.
#[server(prefix = "/api", endpoint = "console_payments")]
pub async fn console_payments(
    #[server(default)] state: String,
    #[server(default)] channel: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
) -> Result<OrdersPageData, AppError> {
    use super::model::{OrderFilter, LIST_LIMIT};
    use super::repo;
    let StaffCaller { state: app, staff } = crate::console::auth::staff_caller(&READERS).await?;
    let filter = OrderFilter::parse(&state, &channel, &from, &to);
    let rows = repo::orders(&app.db, &filter, Some(LIST_LIMIT)).await?.iter().map(|o| o.row()).collect();
    let (count, paid_count, paid_sum) = repo::totals(&app.db, &filter).await?;
    let error = OrderFilter::date_problem(&from, &to);
    Ok(OrdersPageData { staff: staff.view(), filter, rows, count, paid_count, paid_sum: paid_sum.to_string(), error })
}

/// `/console/payments/reconciliation?date=…`: the day's paid orders per channel against the gateway's statement
/// of that Asia/Shanghai day (today when the date is missing or unreadable), and every order that differs.
#[server(prefix = "/api", endpoint = "payment_reconciliation")]
pub async fn payment_reconciliation(#[server(default)] date: String) -> Result<ReconciliationData, AppError> {
    use super::{reconciliation, repo};
    use crate::domain::{Channel, CivilDate};
    let StaffCaller { state: app, staff } = crate::console::auth::staff_caller(&READERS).await?;
    let date = CivilDate::parse(&date).unwrap_or_else(|| CivilDate::shanghai_today_from_epoch(crate::platform::now()));
    // Each channel's gateway states its own payments; one gateway serving both channels (the sandbox) is asked once.
    let mut statement = Vec::new();
    let gateways = &app.gateways;
    let distinct = if std::sync::Arc::ptr_eq(&gateways.wechat, &gateways.icbc) {
        vec![(Channel::Wechat, &gateways.wechat)]
    } else {
        vec![(Channel::Wechat, &gateways.wechat), (Channel::Icbc, &gateways.icbc)]
    };
    for (channel, gateway) in distinct {
        statement.extend(gateway.daily_statement(date).await.map_err(|e| {
            tracing::error!(error = %e, %date, channel = channel.code(), "the gateway's daily statement could not be fetched");
            AppError::rejected(format!("暂时无法获取{}支付的对账单，请稍后再试", channel.platform_name()))
        })?);
    }
    let paid = repo::paid_on(&app.db, date).await?;
    let unmatched: Vec<&str> = statement
        .iter()
        .map(|line| line.order_no.as_str())
        .filter(|order_no| !paid.iter().any(|p| p.order_no == *order_no))
        .collect();
    let known = repo::channels_and_states(&app.db, &unmatched).await?;
    let (channels, differences) = reconciliation::compare(&paid, &statement, &known);
    Ok(ReconciliationData { staff: staff.view(), date, channels, differences })
}

/// `/console/payments/exceptions`: recorded exceptions and the orders waiting too long.
#[server(prefix = "/api", endpoint = "payment_exceptions_page")]
pub async fn payment_exceptions_page() -> Result<ExceptionsPageData, AppError> {
    use super::repo;
    use crate::console::model::Role;
    let StaffCaller { state: app, staff } = crate::console::auth::staff_caller(&READERS).await?;
    let flash = crate::console::auth::take_flash(&app, &staff, EXCEPTIONS_PAGE).await?;
    Ok(ExceptionsPageData {
        can_act: staff.role == Role::Bank,
        staff: staff.view(),
        flash,
        exceptions: repo::exceptions(&app.db).await?,
        stale: repo::stale_orders(&app.db).await?,
    })
}

/// 标记已处理: settles one exception with a 处理说明, once.
#[server(prefix = "/api", endpoint = "settle_payment_exception")]
pub async fn settle_payment_exception(id: i64, #[server(default)] note: String) -> Result<(), AppError> {
    use super::model::SettleNote;
    use super::repo::{self, Settled};
    use crate::console::auth::{flash_and_redirect, staff_caller, StaffCaller};
    use crate::console::model::Role;
    use crate::identity::model::Flash;
    let StaffCaller { state: app, staff } = staff_caller(&[Role::Bank]).await?;
    let Some(note) = SettleNote::parse(&note) else {
        let flash = Flash {
            error: Some(SettleNote::INVALID.into()),
            field_errors: vec![(format!("note-{id}"), SettleNote::INVALID.into())],
            values: vec![(format!("note-{id}"), note)],
            ..Flash::default()
        };
        return flash_and_redirect(&app, &staff, &flash, EXCEPTIONS_PAGE).await;
    };
    let flash = match repo::settle_exception(&app.db, &staff, id, &note).await? {
        Settled::Now => Flash { notice: Some("已标记为已处理".into()), ..Flash::default() },
        Settled::Already => {
            Flash { error: Some("该异常已由他人处理，未作更改".into()), ..Flash::default() }
        }
        Settled::NotFound => Flash { error: Some("未找到该异常记录".into()), ..Flash::default() },
    };
    flash_and_redirect(&app, &staff, &flash, EXCEPTIONS_PAGE).await
}

/// 退款: sends an exception's money back to the payer through its channel's gateway, once per exception.
#[server(prefix = "/api", endpoint = "refund_payment_exception")]
pub async fn refund_payment_exception(id: i64) -> Result<(), AppError> {
    use super::repo::{self, RefundStart};
    use crate::console::auth::{flash_and_redirect, staff_caller, StaffCaller};
    use crate::console::model::Role;
    use crate::identity::model::Flash;
    use crate::payments::repo::{send_refund, RefundStage};
    let StaffCaller { state: app, staff } = staff_caller(&[Role::Bank]).await?;
    let notice = |text: &str| Flash { notice: Some(text.into()), ..Flash::default() };
    let error = |text: &str| Flash { error: Some(text.into()), ..Flash::default() };
    // The refund is committed before the gateway is called, so a second request finds it and refunds nothing.
    let flash = match repo::start_refund(&app.db, &staff, id, &app.config.base_url).await? {
        RefundStart::Recorded(refund) => match send_refund(&app.db, &app.gateways, &refund).await? {
            RefundStage::Succeeded => notice("已退款，款项已退回原支付账户"),
            RefundStage::Processing => notice("已提交退款，退款中，网关确认后更新状态"),
            RefundStage::Failed => error("支付网关拒绝了这笔退款，请核实后另行处理"),
        },
        RefundStart::Already => error("该异常已申请过退款，未重复退款"),
        RefundStart::NotRefundable => error("该异常无法在此退款"),
        RefundStart::NotFound => error("未找到该异常记录"),
    };
    flash_and_redirect(&app, &staff, &flash, EXCEPTIONS_PAGE).await
}

/// 向网关查询: asks the gateway about every order left open and reports what the waiting ones became.
#[server(prefix = "/api", endpoint = "query_waiting_orders")]
pub async fn query_waiting_orders() -> Result<(), AppError> {
    use super::repo;
    use crate::console::auth::{flash_and_redirect, staff_caller, StaffCaller};
    use crate::console::model::Role;
    use crate::identity::model::Flash;
    use crate::payments::model::OrderState;
    let StaffCaller { state: app, staff } = staff_caller(&[Role::Bank]).await?;
    let waiting: Vec<String> = repo::stale_orders(&app.db).await?.into_iter().map(|o| o.order_no).collect();
    crate::payments::repo::reconcile(&app.db, &app.gateways).await?;
    let now = repo::states(&app.db, &waiting).await?;
    let count = |state: OrderState| now.iter().filter(|s| **s == state).count();
    let (paid, closed, open) =
        (count(OrderState::Paid), count(OrderState::Cancelled) + count(OrderState::Expired), count(OrderState::Open));
    tracing::info!(staff = %staff.username, waiting = waiting.len(), paid, closed, open, "waiting orders queried");
    let notice = format!(
        "已向网关查询{}笔等待过久的订单：{}笔已结清（{paid}笔已支付，{closed}笔已关闭），{open}笔仍待支付",
        waiting.len(),
        paid + closed
    );
    flash_and_redirect(&app, &staff, &Flash { notice: Some(notice), ..Flash::default() }, EXCEPTIONS_PAGE).await
}

//! Server functions for paying a fine: the confirmation, opening the order and sending the browser to the
//! cashier, the result read from the server's own record, and the receipt.

use leptos::prelude::*;

use super::model::{PayPageData, ReceiptPageData, ResultPageData};
use crate::error::AppError;

/// `/fines/pay`: the decision with its amounts broken down, as it will be charged.
#[server(prefix = "/api", endpoint = "pay_page")]
pub async fn pay_page(decision_no: String) -> Result<PayPageData, AppError> {
    use super::model::method_name;
    let (state, session, _, link) = crate::platform::http::linked_caller().await?;
    let decision = crate::violations::repo::decision(&state.db, &link, &decision_no)
        .await?
        .ok_or_else(|| AppError::rejected("未找到该处罚决定书"))?;
    let flash = crate::platform::http::take_flash(&state, &session, "/fines/pay").await?;
    Ok(PayPageData {
        channel: session.channel,
        total_fen: decision.total_fen,
        decision,
        method: method_name(session.channel).to_string(),
        flash,
    })
}

/// 确认缴费: opens (or reuses) the decision's order for exactly the total shown and goes to the cashier.
#[server(prefix = "/api", endpoint = "start_payment")]
pub async fn start_payment(decision_no: String, total_fen: i64) -> Result<(), AppError> {
    use super::gateway::GatewayOrder;
    use super::orders::{self, OpenError, Payer};
    use crate::domain::Fen;
    use crate::identity::model::Flash;
    use crate::platform::http::flash_and_redirect;
    let (state, session, account_id, link) = crate::platform::http::linked_caller().await?;
    let back = format!("/fines/pay?no={decision_no}");
    if crate::violations::repo::decision(&state.db, &link, &decision_no).await?.is_none() {
        return Err(AppError::rejected("未找到该处罚决定书"));
    }
    let payer = Payer { account_id: Some(account_id), channel: session.channel };
    let order = match orders::open_order(&state.db, &decision_no, payer, Fen::new(total_fen)).await {
        Ok(order) => order,
        Err(OpenError::Database(e)) => return Err(e.into()),
        Err(e) => {
            let flash = Flash { error: Some(e.to_string()), ..Flash::default() };
            return flash_and_redirect(&state, &session, &flash, &back).await;
        }
    };
    let request = GatewayOrder {
        order_no: order.order_no.clone(),
        amount_fen: order.amount.fen(),
        subject: format!("交通罚款 决定书{}", order.decision_no),
        notify_url: format!("{}/pay/notify", state.config.base_url),
        return_url: format!("{}/fines/result?order={}", state.config.base_url, order.order_no),
    };
    match state.gateway.create(&request).await {
        Ok(cashier_url) => {
            leptos_axum::redirect(&cashier_url);
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, order_no = %order.order_no, "the gateway refused the order");
            let flash = Flash { error: Some("支付服务暂不可用，请稍后再试".into()), ..Flash::default() };
            flash_and_redirect(&state, &session, &flash, &back).await
        }
    }
}

/// `/fines/result`: the payment's outcome from the server's record; an order still open is checked with the
/// gateway first, never taken from the browser's return.
#[server(prefix = "/api", endpoint = "payment_result")]
pub async fn payment_result(order_no: String) -> Result<ResultPageData, AppError> {
    use super::model::OrderState;
    use super::orders;
    let (state, session, account_id) = crate::platform::http::signed_in_caller().await?;
    let not_found = || AppError::rejected("未找到该缴费订单");
    let mut order = orders::order(&state.db, &order_no)
        .await?
        .filter(|o| o.account_id == Some(account_id))
        .ok_or_else(not_found)?;
    if order.state == OrderState::Open {
        orders::reconcile_order(&state.db, state.gateway.as_ref(), &order_no).await?;
        order = orders::order(&state.db, &order_no).await?.ok_or_else(not_found)?;
    }
    Ok(ResultPageData {
        channel: session.channel,
        order_no: order.order_no,
        decision_no: order.decision_no,
        amount: order.amount.to_string(),
        state: order.state,
        receipt_no: order.receipt_no,
    })
}

/// `/fines/receipt`: 电子缴款凭证, for the account that paid or the person the decision belongs to.
#[server(prefix = "/api", endpoint = "receipt_page")]
pub async fn receipt_page(receipt_no: String) -> Result<ReceiptPageData, AppError> {
    let (state, session, account_id) = crate::platform::http::signed_in_caller().await?;
    let not_found = || AppError::rejected("未找到该缴款凭证");
    let (receipt, payer) = super::orders::receipt(&state.db, &receipt_no).await?.ok_or_else(not_found)?;
    let allowed = payer == Some(account_id)
        || match crate::identity::repo::link(&state.db, account_id).await? {
            Some(link) => crate::violations::repo::decision(&state.db, &link, &receipt.decision_no).await?.is_some(),
            None => false,
        };
    if !allowed {
        return Err(not_found());
    }
    Ok(ReceiptPageData { channel: session.channel, receipt })
}

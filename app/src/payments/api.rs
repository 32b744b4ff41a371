//! Server functions for paying a fine: the confirmation, opening the order and sending the browser to the
//! cashier, the result read from the server's own record, and the receipt.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::identity::caller::{Caller, Linked};

use super::model::{PayPageData, ReceiptPageData, ResultPageData, WxPayPageData};
use crate::error::AppError;

/// `/fines/pay`: the decision with its amounts broken down, as it will be charged.
#[server(prefix = "/api", endpoint = "pay_page")]
pub async fn pay_page(decision_no: String) -> Result<PayPageData, AppError> {
    use super::model::method_name;
    let Linked { state, session, link, .. } = crate::identity::caller::linked_caller().await?;
    let decision = crate::violations::repo::decision(&state.db, &link, &decision_no)
        .await?
        .ok_or_else(|| AppError::not_found("未找到该处罚决定书"))?;
    let flash = crate::identity::caller::take_flash(&state, &session, "/fines/pay").await?;
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
    use super::repo::{self, Payer};
    use crate::domain::Fen;
    use crate::error::Refused;
    use crate::identity::caller::flash_and_redirect;
    use crate::identity::model::Flash;
    let Linked { state, session, account_id, link } = crate::identity::caller::linked_caller().await?;
    let back = format!("/fines/pay?no={decision_no}");
    if crate::violations::repo::decision(&state.db, &link, &decision_no).await?.is_none() {
        return Err(AppError::not_found("未找到该处罚决定书"));
    }
    let payer = Payer { account_id: Some(account_id), channel: session.channel };
    let opened = repo::open_order(&state.db, &state.gateways, &decision_no, payer, Fen::new(total_fen)).await;
    let order = match opened.refused()? {
        Ok(order) => order,
        Err(refusal) => {
            let flash = Flash { error: Some(refusal.to_string()), ..Flash::default() };
            return flash_and_redirect(&state, &session, &flash, &back).await;
        }
    };
    let return_url = format!("{}/fines/result?order={}", state.config.base_url, order.order_no);
    let payer_uid = ssr::payer_uid(&state, account_id, order.channel).await?;
    ssr::go_to_cashier(&state, &order, return_url, payer_uid).await
}

/// `/fines/wxpay`: the signed fields the page hands WeChat's JS bridge for one of the caller's open orders,
/// registered again with WeChat Pay (idempotent by order number, so the same prepay order comes back). An order
/// that can no longer be paid comes without them.
#[server(prefix = "/api", endpoint = "wxpay_page")]
pub async fn wxpay_page(order_no: String) -> Result<WxPayPageData, AppError> {
    use super::model::WxPayParams;
    use crate::platform::gateway::Checkout;
    let Linked { state, account_id, .. } = crate::identity::caller::linked_caller().await?;
    let Some(order) = super::repo::payable_order(&state.db, &order_no, account_id).await? else {
        let settled = super::repo::order(&state.db, &order_no)
            .await?
            .filter(|o| o.account_id == Some(account_id))
            .ok_or_else(|| AppError::not_found("未找到该缴费订单"))?;
        return Ok(WxPayPageData {
            order_no: settled.order_no,
            decision_no: settled.decision_no,
            amount: settled.amount.to_string(),
            params: None,
        });
    };
    let payer_uid = ssr::payer_uid(&state, account_id, order.channel).await?;
    let return_url =
        format!("{}/fines/result?order={}", state.config.base_url, crate::violations::api::urlencode(&order_no));
    match ssr::register(&state, &order, return_url, payer_uid).await? {
        Checkout::JsApi(p) => Ok(WxPayPageData {
            order_no: order.order_no,
            decision_no: order.decision_no,
            amount: order.amount.to_string(),
            params: Some(WxPayParams {
                app_id: p.app_id,
                time_stamp: p.time_stamp,
                nonce_str: p.nonce_str,
                package: p.package,
                sign_type: p.sign_type,
                pay_sign: p.pay_sign,
            }),
        }),
        Checkout::Redirect(_) => Err(AppError::rejected("该订单不是微信支付订单")),
    }
}

/// `/fines/result`: the payment's outcome from the server's record; an order still open is checked with the
/// gateway first, never taken from the browser's return.
#[server(prefix = "/api", endpoint = "payment_result")]
pub async fn payment_result(order_no: String, #[server(default)] pass: String) -> Result<ResultPageData, AppError> {
    use super::model::OrderState;
    use super::repo;
    let not_found = || AppError::not_found("未找到该缴费订单");
    let pass = if pass.is_empty() {
        crate::platform::http::request_cookie(super::guest::PASS_COOKIE).unwrap_or_default()
    } else {
        pass
    };
    let onlooker = ssr::onlooker(&pass).await?;
    let state = &onlooker.state;
    let mut order = repo::order(&state.db, &order_no)
        .await?
        .filter(|o| onlooker.may_see(o.account_id, &o.decision_no))
        .ok_or_else(not_found)?;
    if order.state == OrderState::Open {
        repo::reconcile_order(&state.db, &state.gateways, &order_no).await?;
        order = repo::order(&state.db, &order_no).await?.ok_or_else(not_found)?;
    }
    Ok(ResultPageData {
        channel: onlooker.channel,
        pass,
        order_no: order.order_no,
        decision_no: order.decision_no,
        amount: order.amount.to_string(),
        state: order.state,
        receipt_no: order.receipt_no,
        refund_pending: order.refund_pending,
    })
}

/// `/fines/receipt`: 电子缴款凭证, for the account that paid or the person the decision belongs to.
#[server(prefix = "/api", endpoint = "receipt_page")]
pub async fn receipt_page(receipt_no: String, #[server(default)] pass: String) -> Result<ReceiptPageData, AppError> {
    let not_found = || AppError::not_found("未找到该缴款凭证");
    let onlooker = ssr::onlooker(&pass).await?;
    let (receipt, payer) = super::repo::receipt(&onlooker.state.db, &receipt_no).await?.ok_or_else(not_found)?;
    let visible_to_link = match (pass.is_empty(), crate::identity::caller::linked_caller().await) {
        (true, Ok(Linked { state, link, .. })) => {
            crate::violations::repo::decision(&state.db, &link, &receipt.decision_no).await?.is_some()
        }
        _ => false,
    };
    if !onlooker.may_see(payer, &receipt.decision_no) && !visible_to_link {
        return Err(not_found());
    }
    Ok(ReceiptPageData { channel: onlooker.channel, receipt })
}

/// 缴纳罚款 as a guest: 决定书编号 plus 车牌号 or 当事人姓名. A match leads to the decision with a short-lived pass;
/// any mismatch gets the same answer, and lookups are rate limited per client and per decision number.
#[server(prefix = "/api", endpoint = "guest_lookup")]
pub async fn guest_lookup(
    decision_no: String,
    #[server(default)] plate: String,
    #[server(default)] name: String,
) -> Result<(), AppError> {
    use crate::domain::{DecisionNo, PersonName, Plate};
    use crate::platform::rate_limit;
    let Caller { state, .. } = crate::identity::caller::caller().await?;
    let (Ok(decision_no), plate, name) =
        (DecisionNo::parse(&decision_no), Plate::parse(&plate).ok(), PersonName::parse(&name).ok())
    else {
        leptos_axum::redirect("/guest-pay?e=input");
        return Ok(());
    };
    if plate.is_none() && name.is_none() {
        leptos_axum::redirect("/guest-pay?e=input");
        return Ok(());
    }
    let client = crate::platform::http::client_key();
    let per_client = rate_limit::allow(&state.db, &format!("guest-lookup:{client}"), 600, 30).await?;
    let per_decision =
        rate_limit::allow(&state.db, &format!("guest-lookup:{}", decision_no.as_str()), 3600, 10).await?;
    if !(per_client && per_decision) {
        leptos_axum::redirect("/guest-pay?e=limited");
        return Ok(());
    }
    let found = crate::violations::repo::decision_for_guest(
        &state.db,
        decision_no.as_str(),
        plate.as_ref().map(|p| p.as_str()),
        name.as_ref().map(|n| n.as_str()),
    )
    .await?;
    match found {
        Some(_) => {
            let pass = super::guest::PASS.issue(&state.signer, decision_no.as_str(), crate::platform::now());
            leptos_axum::redirect(&format!("/guest-pay/decision?pass={pass}"));
        }
        None => leptos_axum::redirect("/guest-pay?e=notfound"),
    }
    Ok(())
}

/// The decision a guest's pass opens, masked, with today's amounts.
#[server(prefix = "/api", endpoint = "guest_decision")]
pub async fn guest_decision(pass: String) -> Result<PayPageData, AppError> {
    use super::model::method_name;
    use crate::identity::model::Flash;
    let Caller { state, .. } = crate::identity::caller::caller().await?;
    let decision_no = super::guest::PASS
        .check(&state.signer, &pass, crate::platform::now())
        .ok_or_else(|| AppError::rejected("查询已过期，请重新查询"))?;
    let decision = crate::violations::repo::decision_by_number(&state.db, &decision_no)
        .await?
        .ok_or_else(|| AppError::not_found("未找到该处罚决定书"))?;
    let channel = crate::identity::caller::guest_channel();
    Ok(PayPageData {
        channel,
        total_fen: decision.total_fen,
        decision,
        method: method_name(channel).to_string(),
        flash: Flash::default(),
    })
}

/// 确认缴费 for a guest holding a pass.
#[server(prefix = "/api", endpoint = "start_guest_payment")]
pub async fn start_guest_payment(pass: String, total_fen: i64) -> Result<(), AppError> {
    use super::repo::{self, Payer};
    use crate::domain::Fen;
    use crate::error::Refused;
    let Caller { state, .. } = crate::identity::caller::caller().await?;
    let decision_no = super::guest::PASS
        .check(&state.signer, &pass, crate::platform::now())
        .ok_or_else(|| AppError::rejected("查询已过期，请重新查询"))?;
    let payer = Payer { account_id: None, channel: crate::identity::caller::guest_channel() };
    let opened = repo::open_order(&state.db, &state.gateways, &decision_no, payer, Fen::new(total_fen)).await;
    let order = opened.refused()?.map_err(|refusal| AppError::rejected(refusal.to_string()))?;
    // The pass never travels through the gateway (its logs, its page's links): the browser keeps it in a cookie
    // that only the result page reads, and the return address names the order alone.
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    crate::platform::http::set_response_cookie(&format!(
        "{}={pass}; Path=/fines; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        super::guest::PASS_COOKIE,
        super::guest::PASS.ttl_secs()
    ));
    let return_url = format!("{}/fines/result?order={}", state.config.base_url, order.order_no);
    ssr::go_to_cashier(&state, &order, return_url, None).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::super::repo::OpenOrder;
    use crate::error::AppError;
    use crate::identity::model::Channel;
    use crate::platform::gateway::{Checkout, GatewayOrder};
    use crate::platform::state::AppState;

    /// Who is asking to see an order or receipt: a signed-in account, a guest holding a pass, or both.
    pub struct Onlooker {
        pub state: AppState,
        pub channel: Channel,
        account_id: Option<i64>,
        /// The decision the guest's pass opens.
        guest_decision: Option<String>,
    }

    impl Onlooker {
        /// Whether they may see what `payer` paid for `decision_no`: the account that paid, or a guest whose pass
        /// names its decision.
        pub fn may_see(&self, payer: Option<i64>, decision_no: &str) -> bool {
            self.guest_decision.as_deref() == Some(decision_no)
                || (self.account_id.is_some() && payer == self.account_id)
        }
    }

    /// The caller with `pass`; neither signed in nor holding a valid pass is refused.
    pub async fn onlooker(pass: &str) -> Result<Onlooker, AppError> {
        let crate::identity::caller::Caller { state, session } = crate::identity::caller::caller().await?;
        let guest_decision = if pass.is_empty() {
            None
        } else {
            super::super::guest::PASS.check(&state.signer, pass, crate::platform::now())
        };
        let account_id = session.as_ref().and_then(|s| s.account_id);
        if guest_decision.is_none() && account_id.is_none() {
            return Err(AppError::NotSignedIn);
        }
        let channel = session.map(|s| s.channel).unwrap_or_else(crate::identity::caller::guest_channel);
        Ok(Onlooker { state, channel, account_id, guest_decision })
    }

    /// The account's id at the platform of `channel` (the WeChat openid JSAPI pays with), when the account is
    /// that platform's: an account signed in through the other channel has none there.
    pub async fn payer_uid(state: &AppState, account_id: i64, channel: Channel) -> Result<Option<String>, AppError> {
        let uid: Option<String> =
            sqlx::query_scalar("SELECT platform_uid FROM accounts WHERE id = $1 AND channel = $2")
                .bind(account_id)
                .bind(channel.code())
                .fetch_optional(state.db.pool())
                .await?;
        Ok(uid)
    }

    /// Registers the order with its channel's gateway (idempotently by order number) and says how to pay it.
    pub async fn register(
        state: &AppState,
        order: &OpenOrder,
        return_url: String,
        payer_uid: Option<String>,
    ) -> Result<Checkout, AppError> {
        let request = GatewayOrder {
            order_no: order.order_no.clone(),
            amount_fen: order.amount.fen(),
            subject: format!("交通罚款 决定书{}", order.decision_no),
            notify_url: format!("{}{}", state.config.base_url, crate::platform::gateway::notify_path(order.channel)),
            return_url,
            time_expire: order.expires_at,
            payer_uid,
        };
        state.gateway(order.channel).create(&request).await.map_err(|e| {
            tracing::error!(error = %e, order_no = %order.order_no, "the gateway refused the order");
            AppError::rejected("支付服务暂不可用，请稍后再试")
        })
    }

    /// Registers the order and sends the browser on: to the gateway's cashier, or, for WeChat Pay JSAPI, to the
    /// page that starts the payment through WeChat's JS bridge.
    pub async fn go_to_cashier(
        state: &AppState,
        order: &OpenOrder,
        return_url: String,
        payer_uid: Option<String>,
    ) -> Result<(), AppError> {
        match register(state, order, return_url, payer_uid).await? {
            Checkout::Redirect(cashier_url) => leptos_axum::redirect(&cashier_url),
            Checkout::JsApi(_) => leptos_axum::redirect(&format!(
                "/fines/wxpay?order={}",
                crate::violations::api::urlencode(&order.order_no)
            )),
        }
        Ok(())
    }
}

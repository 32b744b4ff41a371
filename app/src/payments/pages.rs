//! The 缴费 screens: confirmation, result, and the 电子缴款凭证.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{pay_page, payment_result, receipt_page, StartPayment};
use super::model::OrderState;
use crate::ui::{FlashMessage, InfoRow, LoadFailed, Loading, Screen};
use crate::violations::pages::DecisionCells;

fn query(name: &'static str) -> impl Fn() -> String + Send + Sync + Copy + 'static {
    let map = use_query_map();
    move || map.read().get(name).unwrap_or_default()
}

/// `/fines/pay?no=…`: the amount broken down, then 确认缴费 to the channel's gateway.
#[component]
pub fn PayPage() -> impl IntoView {
    let start = ServerAction::<StartPayment>::new();
    let decision_no = query("no");
    let page = Resource::new(move || (decision_no(), start.version().get()), |(no, _)| pay_page(no));
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! {
                        <Screen channel=page.channel title="缴费确认">
                            <FlashMessage flash=page.flash/>
                            <DecisionCells decision=page.decision.clone()/>
                            {if page.decision.paid {
                                view! { <p class="flash flash_notice" role="status">"该罚款已缴纳"</p> }.into_any()
                            } else {
                                view! {
                                    <div class="weui-cells">
                                        <InfoRow label="支付方式" value=page.method.clone()/>
                                        <InfoRow label="本次缴费金额" value=format!("{}元", page.decision.total)/>
                                    </div>
                                    <ActionForm action=start>
                                        <input type="hidden" name="decision_no" value=page.decision.decision_no.clone()/>
                                        <input type="hidden" name="total_fen" value=page.total_fen.to_string()/>
                                        <button type="submit" class="weui-btn weui-btn_primary">"确认缴费"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                            <a class="weui-btn weui-btn_default" href="/fines">"返回"</a>
                        </Screen>
                    }.into_any(),
                    Err(error) => view! { <LoadFailed error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/fines/result?order=…`: the outcome, from the server's own record.
#[component]
pub fn PaymentResultPage() -> impl IntoView {
    let order_no = query("order");
    let page = Resource::new(order_no, payment_result);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => {
                        let (icon, title, desc) = match page.state {
                            OrderState::Paid => ("weui-icon-success", "缴费成功", format!("已缴纳{}元，决定书{}", page.amount, page.decision_no)),
                            OrderState::Open => ("weui-icon-waiting", "支付结果确认中", "银行尚未返回支付结果，请稍后刷新查看，请勿重复缴费。".to_string()),
                            OrderState::Cancelled => ("weui-icon-info", "已取消支付", "本次未扣款，罚款仍可缴纳。".to_string()),
                            OrderState::Expired => ("weui-icon-info", "订单已过期", "本次未扣款，请重新缴费。".to_string()),
                        };
                        view! {
                            <Screen channel=page.channel title="缴费结果">
                                <div class="weui-msg">
                                    <div class="weui-msg__icon-area"><i class=format!("{icon} weui-icon_msg")></i></div>
                                    <div class="weui-msg__text-area">
                                        <h2 class="weui-msg__title">{title}</h2>
                                        <p class="weui-msg__desc">{desc}</p>
                                    </div>
                                </div>
                                {page.receipt_no.map(|no| view! {
                                    <a class="weui-btn weui-btn_primary" href=format!("/fines/receipt?no={no}")>"电子缴款凭证"</a>
                                })}
                                {(page.state == OrderState::Open).then(|| view! {
                                    <a class="weui-btn weui-btn_default" href=format!("/fines/result?order={}", page.order_no)>"刷新"</a>
                                })}
                                <a class="weui-btn weui-btn_default" href="/fines">"返回交通罚款缴纳"</a>
                            </Screen>
                        }.into_any()
                    }
                    Err(error) => view! { <LoadFailed error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/fines/receipt?no=…`: 电子缴款凭证, printable.
#[component]
pub fn ReceiptPage() -> impl IntoView {
    let receipt_no = query("no");
    let page = Resource::new(receipt_no, receipt_page);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => {
                        let r = page.receipt;
                        view! {
                            <Screen channel=page.channel title="电子缴款凭证">
                                <div class="weui-cells receipt">
                                    <InfoRow label="凭证编号" value=r.receipt_no/>
                                    <InfoRow label="决定书编号" value=r.decision_no/>
                                    <InfoRow label="号牌号码" value=r.plate/>
                                    <InfoRow label="违法行为" value=r.behaviour/>
                                    <InfoRow label="罚款" value=format!("{}元", r.fine)/>
                                    <InfoRow label="加处罚款" value=format!("{}元", r.late_fee)/>
                                    <InfoRow label="实缴金额" value=format!("{}元", r.total)/>
                                    <InfoRow label="缴款时间" value=r.paid_at/>
                                    <InfoRow label="支付方式" value=r.method/>
                                    <InfoRow label="交易流水号" value=r.txn_id/>
                                </div>
                                <a class="weui-btn weui-btn_default" href="/fines">"返回交通罚款缴纳"</a>
                            </Screen>
                        }.into_any()
                    }
                    Err(error) => view! { <LoadFailed error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

//! The 缴费 screens: confirmation, result, and the 电子缴款凭证.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{
    guest_decision, pay_page, payment_result, receipt_page, wxpay_page, GuestLookup, StartGuestPayment, StartPayment,
};
use super::model::{OrderState, PayPageData, ReceiptPageData, ResultPageData, WxPayPageData, WxPayParams};
use crate::identity::model::Viewer;
use crate::ui::{loaded, FlashMessage, InfoRow, Screen};
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
    loaded(page, move |data: PayPageData| match data {
        page => view! {
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
        }
        .into_any(),
    })
}

/// `/fines/wxpay?order=…`: WeChat Pay JSAPI. The island hands the signed fields to WeChat's JS bridge and, once
/// WeChat answers, goes to the result, which the server reads from its own record (never from the bridge's answer).
/// Without JavaScript there is no bridge, and the page says so.
#[component]
pub fn WxPayPage() -> impl IntoView {
    let order_no = query("order");
    let page = Resource::new(order_no, wxpay_page);
    loaded(page, move |page: WxPayPageData| {
        let result_url = format!("/fines/result?order={}", crate::violations::api::urlencode(&page.order_no));
        view! {
            <Screen channel=crate::identity::model::Channel::Wechat title="微信支付">
                <div class="weui-cells">
                    <InfoRow label="处罚决定书编号" value=page.decision_no.clone()/>
                    <InfoRow label="本次缴费金额" value=format!("{}元", page.amount)/>
                </div>
                {match page.params.clone() {
                    Some(params) => view! {
                        <noscript>
                            <p class="flash flash_error" role="alert">
                                "支付需要微信的 JavaScript：请在微信中打开本页，并允许运行脚本后重试。"
                            </p>
                        </noscript>
                        <WxPayBridge params result_url=result_url.clone()/>
                    }
                    .into_any(),
                    None => view! {
                        <p class="flash flash_notice" role="status">"该订单已不能支付（已缴费、已取消或已过期），请查看缴费结果"</p>
                    }
                    .into_any(),
                }}
                <a class="weui-btn weui-btn_default" href=result_url>"查看缴费结果"</a>
            </Screen>
        }
        .into_any()
    })
}

/// Starts `getBrandWCPayRequest` as soon as WeChat's bridge is there (at once, or on `WeixinJSBridgeReady`).
#[island]
fn WxPayBridge(params: WxPayParams, result_url: String) -> impl IntoView {
    let status = RwSignal::new(String::new());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        bridge::pay(params.clone(), result_url.clone(), status);
        #[cfg(not(feature = "hydrate"))]
        let _ = (&params, &result_url);
    });
    view! { <p class="wxpay-status" role="status">{move || status.get()}</p> }
}

#[cfg(feature = "hydrate")]
mod bridge {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::prelude::*;
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::js_sys::{Function, Object, Reflect};

    use super::WxPayParams;

    fn get(target: &JsValue, name: &str) -> Option<JsValue> {
        Reflect::get(target, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
    }

    /// Calls the bridge now if WeChat has injected it, else once it says it is ready.
    pub fn pay(params: WxPayParams, result_url: String, status: RwSignal<String>) {
        if get(&window(), "WeixinJSBridge").is_some() {
            invoke(&params, result_url, status);
            return;
        }
        status.set("正在打开微信支付…".into());
        let ready = Closure::once_into_js(move || invoke(&params, result_url, status));
        let _ = document().add_event_listener_with_callback("WeixinJSBridgeReady", ready.unchecked_ref());
    }

    fn invoke(params: &WxPayParams, result_url: String, status: RwSignal<String>) {
        let bridge = get(&window(), "WeixinJSBridge");
        let Some(invoke) = bridge.as_ref().and_then(|b| get(b, "invoke")).and_then(|f| f.dyn_into::<Function>().ok())
        else {
            status.set("请在微信中打开本页完成支付".into());
            return;
        };
        let request = Object::new();
        for (name, value) in params.fields() {
            let _ = Reflect::set(&request, &JsValue::from_str(name), &JsValue::from_str(value));
        }
        let answered = Closure::once_into_js(move |answer: JsValue| {
            let message = get(&answer, "err_msg").and_then(|m| m.as_string()).unwrap_or_default();
            if message.ends_with(":cancel") {
                status.set("已取消支付，本次未扣款".into());
            } else {
                // Paid or not, the result page asks the server, which asks WeChat Pay.
                let _ = window().location().set_href(&result_url);
            }
        });
        let name = JsValue::from_str("getBrandWCPayRequest");
        if invoke.call3(bridge.as_ref().unwrap_or(&JsValue::UNDEFINED), &name, &request, &answered).is_err() {
            status.set("无法打开微信支付，请稍后再试".into());
        }
    }
}

/// `/fines/result?order=…`: the outcome, from the server's own record.
#[component]
pub fn PaymentResultPage() -> impl IntoView {
    let order_no = query("order");
    let pass = query("pass");
    let page = Resource::new(move || (order_no(), pass()), |(order, pass)| payment_result(order, pass));
    loaded(page, move |data: ResultPageData| match data {
        page => {
            let (icon, title, desc) = match page.state {
                OrderState::Paid => {
                    ("weui-icon-success", "缴费成功", format!("已缴纳{}元，决定书{}", page.amount, page.decision_no))
                }
                OrderState::Open => (
                    "weui-icon-waiting",
                    "支付结果确认中",
                    "银行尚未返回支付结果，请稍后刷新查看，请勿重复缴费。".to_string(),
                ),
                OrderState::Cancelled => ("weui-icon-info", "已取消支付", "本次未扣款，罚款仍可缴纳。".to_string()),
                OrderState::Expired => ("weui-icon-info", "订单已过期", "本次未扣款，请重新缴费。".to_string()),
            };
            // Money taken for a closed order must not be called "no charge".
            let desc = if page.refund_pending && page.state != OrderState::Paid {
                "本次款项未能用于缴纳罚款，银行核实后将退回原支付账户。".to_string()
            } else {
                desc
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
                        <a class="weui-btn weui-btn_primary" href=format!("/fines/receipt?no={no}&pass={}", page.pass)>"电子缴款凭证"</a>
                    })}
                    {(page.state == OrderState::Open).then(|| view! {
                        <a class="weui-btn weui-btn_default" href=format!("/fines/result?order={}&pass={}", page.order_no, page.pass)>"刷新"</a>
                    })}
                    {if page.pass.is_empty() {
                        view! { <a class="weui-btn weui-btn_default" href="/fines">"返回交通罚款缴纳"</a> }.into_any()
                    } else {
                        view! { <a class="weui-btn weui-btn_default" href="/">"返回首页"</a> }.into_any()
                    }}
                </Screen>
            }.into_any()
        }
    })
}

/// `/fines/receipt?no=…`: 电子缴款凭证, printable.
#[component]
pub fn ReceiptPage() -> impl IntoView {
    let receipt_no = query("no");
    let pass = query("pass");
    let page = Resource::new(move || (receipt_no(), pass()), |(no, pass)| receipt_page(no, pass));
    loaded(page, move |data: ReceiptPageData| match data {
        page => {
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
            }
            .into_any()
        }
    })
}

/// What a failed guest lookup says; the same words for a wrong number and a wrong plate or name.
fn lookup_error(code: &str) -> Option<&'static str> {
    match code {
        "notfound" => Some("未查询到符合条件的处罚决定书，请核对决定书编号和车牌号（或当事人姓名）"),
        "input" => Some("请填写15或16位决定书编号，以及车牌号或当事人姓名"),
        "limited" => Some("查询过于频繁，请稍后再试"),
        _ => None,
    }
}

/// `/guest-pay`: 缴纳罚款 without signing in, by 决定书编号 plus 车牌号 (or 当事人姓名).
#[component]
pub fn GuestPayPage() -> impl IntoView {
    let lookup = ServerAction::<GuestLookup>::new();
    let error = query("e");
    let viewer = Resource::new(|| (), |_| crate::identity::api::current_viewer());
    loaded(viewer, move |data: Viewer| {
        match data {
        viewer => view! {
            <Screen channel=viewer.channel title="缴纳罚款">
                <p class="screen__lead">"凭处罚决定书编号缴纳已裁决的交通罚款，无需登录。"</p>
                {move || lookup_error(&error()).map(|text| view! { <p class="flash flash_error" role="alert">{text}</p> })}
                <ActionForm action=lookup>
                    <div class="weui-cells weui-cells_form">
                        <LabelledInput name="decision_no" label="决定书编号" hint="15或16位数字" numeric=true/>
                        <LabelledInput name="plate" label="车牌号" hint="如：辽B12345" numeric=false/>
                        <LabelledInput name="name" label="当事人姓名" hint="不填车牌号时填写" numeric=false/>
                    </div>
                    <button type="submit" class="weui-btn weui-btn_primary">"查询"</button>
                </ActionForm>
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }.into_any(),
    }
    })
}

#[component]
fn LabelledInput(name: &'static str, label: &'static str, hint: &'static str, numeric: bool) -> impl IntoView {
    let id = format!("guest-{name}");
    view! {
        <div class="weui-cell weui-cell_active">
            <div class="weui-cell__hd"><label class="weui-label" for=id.clone()>{label}</label></div>
            <div class="weui-cell__bd">
                <input id=id class="weui-input" name=name placeholder=hint autocomplete="off" inputmode=numeric.then_some("numeric")/>
            </div>
        </div>
    }
}

/// `/guest-pay/decision?pass=…`: the decision a lookup found, masked, with 缴费.
#[component]
pub fn GuestDecisionPage() -> impl IntoView {
    let start = ServerAction::<StartGuestPayment>::new();
    let pass = query("pass");
    let page = Resource::new(pass, guest_decision);
    loaded(page, move |data: PayPageData| match data {
        page => view! {
            <Screen channel=page.channel title="缴纳罚款">
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
                            <input type="hidden" name="pass" value=pass()/>
                            <input type="hidden" name="total_fen" value=page.total_fen.to_string()/>
                            <button type="submit" class="weui-btn weui-btn_primary">"缴费"</button>
                        </ActionForm>
                    }.into_any()
                }}
                <a class="weui-btn weui-btn_default" href="/guest-pay">"重新查询"</a>
            </Screen>
        }
        .into_any(),
    })
}

//! The console's payment screens: 缴款订单, 每日对账 and 异常处理. The filters are GET forms, so every view has a
//! URL to share and works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{
    console_payments, payment_exceptions_page, payment_reconciliation, QueryWaitingOrders, RefundPaymentException,
    SettlePaymentException,
};
use super::model::{
    channel_label, refund_state_label, ChannelTotals, DifferenceRow, ExceptionRow, ExceptionsPageData, OrderRow,
    OrdersPageData, ReconciliationData, CHANNELS, LIST_LIMIT, ORDER_STATES,
};
use crate::console::pages::ConsoleScreen;
use crate::identity::model::Flash;
use crate::ui::{loaded, FlashMessage};

/// The three payment screens, with the current one marked.
#[component]
fn PaymentsNav(current: &'static str) -> impl IntoView {
    let link = move |href: &'static str, label: &'static str| {
        view! {
            <a href=href class="console-tabs__tab" aria-current=(href == current).then_some("page")>{label}</a>
        }
    };
    view! {
        <nav class="console-tabs" aria-label="缴款管理">
            {link("/console/payments", "缴款订单")}
            {link("/console/payments/reconciliation", "每日对账")}
            {link("/console/payments/exceptions", "异常处理")}
        </nav>
    }
}

/// `/console/payments?state=…&channel=…&from=…&to=…`: the orders, newest first, with the count and paid sum.
#[component]
pub fn ConsolePaymentsPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(
        move || {
            let q = query.read();
            let field = |name: &str| q.get(name).unwrap_or_default();
            (field("state"), field("channel"), field("from"), field("to"))
        },
        |(state, channel, from, to)| console_payments(state, channel, from, to),
    );
    loaded(page, |data: OrdersPageData| {
        let filter = data.filter.clone();
        let query = filter.query();
        let csv_href = if query.is_empty() {
            "/console/payments.csv".to_string()
        } else {
            format!("/console/payments.csv?{query}")
        };
        let date = |d: Option<crate::domain::CivilDate>| d.map(|d| d.to_string()).unwrap_or_default();
        view! {
            <ConsoleScreen title="缴款订单" staff=data.staff.clone()>
                <PaymentsNav current="/console/payments"/>
                {data.error.clone().map(|e| view! { <p class="flash flash_error" role="alert">{e}</p> })}
                <form method="get" action="/console/payments" class="console-filter">
                    <label class="console-filter__field">
                        <span>"状态"</span>
                        <select name="state">
                            <option value="" selected=filter.state.is_none()>"全部"</option>
                            {ORDER_STATES.into_iter().map(|s| view! {
                                <option value=s.code() selected=filter.state == Some(s)>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="console-filter__field">
                        <span>"渠道"</span>
                        <select name="channel">
                            <option value="" selected=filter.channel.is_none()>"全部"</option>
                            {CHANNELS.into_iter().map(|c| view! {
                                <option value=c.code() selected=filter.channel == Some(c)>{channel_label(c)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="console-filter__field">
                        <span>"日期从"</span>
                        <input type="date" name="from" value=date(filter.from)/>
                    </label>
                    <label class="console-filter__field">
                        <span>"至"</span>
                        <input type="date" name="to" value=date(filter.to)/>
                    </label>
                    <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">"查询"</button>
                </form>
                <p class="console-summary" role="status">
                    {format!("共{}笔订单，其中已支付{}笔，合计{}元", data.count, data.paid_count, data.paid_sum)}
                    {(data.count > LIST_LIMIT as i64).then(|| format!("（仅显示最新{LIST_LIMIT}笔，完整记录请导出）"))}
                </p>
                <p class="console-actions"><a class="weui-btn weui-btn_mini weui-btn_default" href=csv_href download="">"导出CSV"</a></p>
                {if data.rows.is_empty() {
                    view! { <p class="console-empty">"没有符合条件的订单"</p> }.into_any()
                } else {
                    view! { <OrdersTable rows=data.rows.clone()/> }.into_any()
                }}
            </ConsoleScreen>
        }
    })
}

#[component]
fn OrdersTable(rows: Vec<OrderRow>) -> impl IntoView {
    view! {
        <div class="console-table-wrap">
            <table class="console-table">
                <thead>
                    <tr>
                        <th scope="col">"订单号"</th>
                        <th scope="col">"决定书编号"</th>
                        <th scope="col">"渠道"</th>
                        <th scope="col">"状态"</th>
                        <th scope="col" class="num">"金额（元）"</th>
                        <th scope="col">"创建时间"</th>
                        <th scope="col">"支付时间"</th>
                        <th scope="col">"交易流水号"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr>
                            <td>{row.order_no}</td>
                            <td>{row.decision_no}</td>
                            <td>{channel_label(row.channel)}</td>
                            <td><span class=format!("console-state console-state_{}", row.state.code())>{row.state.label()}</span></td>
                            <td class="num">{row.amount}</td>
                            <td>{row.created_at}</td>
                            <td>{row.paid_at.unwrap_or_default()}</td>
                            <td>{row.txn_id.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// `/console/payments/reconciliation?date=YYYY-MM-DD`: each channel's paid orders against the gateway's statement.
#[component]
pub fn ReconciliationPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("date").unwrap_or_default(), payment_reconciliation);
    loaded(page, |data: ReconciliationData| {
        let balanced = data.differences.is_empty();
        view! {
            <ConsoleScreen title="每日对账" staff=data.staff.clone()>
                <PaymentsNav current="/console/payments/reconciliation"/>
                <form method="get" action="/console/payments/reconciliation" class="console-filter">
                    <label class="console-filter__field">
                        <span>"对账日期"</span>
                        <input type="date" name="date" value=data.date.to_string() required=true/>
                    </label>
                    <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">"对账"</button>
                </form>
                <p class="console-summary" role="status">
                    {format!("{}（北京时间）的已支付订单与支付网关对账单：", data.date)}
                    {if balanced { "全部一致" } else { "存在差异，见下方差异明细" }}
                </p>
                <div class="console-table-wrap">
                    <table class="console-table">
                        <thead>
                            <tr>
                                <th scope="col">"渠道"</th>
                                <th scope="col" class="num">"平台笔数"</th>
                                <th scope="col" class="num">"平台金额（元）"</th>
                                <th scope="col" class="num">"网关笔数"</th>
                                <th scope="col" class="num">"网关金额（元）"</th>
                                <th scope="col" class="num">"差异笔数"</th>
                                <th scope="col" class="num">"差异金额（元）"</th>
                                <th scope="col">"结果"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {data.channels.into_iter().map(|totals| view! { <TotalsRow totals/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <h2 class="console-heading">"差异明细"</h2>
                {if balanced {
                    view! { <p class="console-empty">"无差异订单"</p> }.into_any()
                } else {
                    view! { <DifferencesTable rows=data.differences.clone()/> }.into_any()
                }}
            </ConsoleScreen>
        }
    })
}

#[component]
fn TotalsRow(totals: ChannelTotals) -> impl IntoView {
    view! {
        <tr class=if totals.balanced { "" } else { "console-row_differs" }>
            <th scope="row">{totals.channel.map_or("未识别订单", channel_label)}</th>
            <td class="num">{totals.app_count}</td>
            <td class="num">{totals.app_sum}</td>
            <td class="num">{totals.gateway_count}</td>
            <td class="num">{totals.gateway_sum}</td>
            <td class="num">{totals.count_difference}</td>
            <td class="num">{totals.sum_difference}</td>
            <td>{if totals.balanced { "一致" } else { "有差异" }}</td>
        </tr>
    }
}

#[component]
fn DifferencesTable(rows: Vec<DifferenceRow>) -> impl IntoView {
    view! {
        <div class="console-table-wrap">
            <table class="console-table">
                <thead>
                    <tr>
                        <th scope="col">"订单号"</th>
                        <th scope="col">"渠道"</th>
                        <th scope="col">"差异"</th>
                        <th scope="col" class="num">"平台金额（元）"</th>
                        <th scope="col" class="num">"网关金额（元）"</th>
                        <th scope="col">"平台状态"</th>
                        <th scope="col">"交易流水号"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr class="console-row_differs">
                            <td>{row.order_no}</td>
                            <td>{row.channel.map_or("未识别", channel_label)}</td>
                            <td>{row.kind.label()}</td>
                            <td class="num">{row.app_amount.unwrap_or_else(|| "—".into())}</td>
                            <td class="num">{row.gateway_amount.unwrap_or_else(|| "—".into())}</td>
                            <td>{row.app_state.map_or("平台无此订单", |s| s.label())}</td>
                            <td>{row.txn_id.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// `/console/payments/exceptions`: recorded exceptions, unsettled first, and the orders waiting too long.
#[component]
pub fn PaymentExceptionsPage() -> impl IntoView {
    let settle = ServerAction::<SettlePaymentException>::new();
    let query = ServerAction::<QueryWaitingOrders>::new();
    let refund = ServerAction::<RefundPaymentException>::new();
    let page = Resource::new(
        move || (settle.version().get(), query.version().get(), refund.version().get()),
        |_| payment_exceptions_page(),
    );
    loaded(page, move |data: ExceptionsPageData| {
        let can_act = data.can_act;
        let flash = data.flash.clone();
        let open = data.exceptions.iter().filter(|e| e.settlement.is_none()).count();
        view! {
            <ConsoleScreen title="异常处理" staff=data.staff.clone()>
                <PaymentsNav current="/console/payments/exceptions"/>
                <FlashMessage flash=data.flash.clone()/>
                {(!can_act).then(|| view! { <p class="console-summary">"审计员只读：可查看，不能处理。"</p> })}
                <h2 class="console-heading">{format!("支付异常（{open}笔待处理）")}</h2>
                {if data.exceptions.is_empty() {
                    view! { <p class="console-empty">"暂无支付异常"</p> }.into_any()
                } else {
                    data.exceptions.into_iter().map(|exception| {
                        let flash = flash.clone();
                        view! { <ExceptionItem exception can_act flash settle refund/> }
                    }).collect_view().into_any()
                }}
                <h2 class="console-heading">{format!("等待过久（{}笔）", data.stale.len())}</h2>
                <p class="console-summary">"仍为待支付、且已过期或创建超过30分钟的订单。"</p>
                {(can_act && !data.stale.is_empty()).then(|| view! {
                    <ActionForm action=query attr:class="console-actions">
                        <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">"向网关查询"</button>
                    </ActionForm>
                })}
                {if data.stale.is_empty() {
                    view! { <p class="console-empty">"没有等待过久的订单"</p> }.into_any()
                } else {
                    view! {
                        <div class="console-table-wrap">
                            <table class="console-table">
                                <thead>
                                    <tr>
                                        <th scope="col">"订单号"</th>
                                        <th scope="col">"决定书编号"</th>
                                        <th scope="col">"渠道"</th>
                                        <th scope="col" class="num">"金额（元）"</th>
                                        <th scope="col">"创建时间"</th>
                                        <th scope="col">"过期时间"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {data.stale.into_iter().map(|order| view! {
                                        <tr>
                                            <td>{order.order_no}</td>
                                            <td>{order.decision_no}</td>
                                            <td>{channel_label(order.channel)}</td>
                                            <td class="num">{order.amount}</td>
                                            <td>{order.created_at}</td>
                                            <td>{order.expires_at}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
            </ConsoleScreen>
        }
    })
}

#[component]
fn ExceptionItem(
    exception: ExceptionRow,
    can_act: bool,
    flash: Flash,
    settle: ServerAction<SettlePaymentException>,
    refund: ServerAction<RefundPaymentException>,
) -> impl IntoView {
    let field = format!("note-{}", exception.id);
    let note_error = flash.field_error(&field);
    let typed = flash.value(&field);
    let id = exception.id;
    let settled = exception.settlement.is_some();
    let refund_state = exception.refund.clone().map(|r| {
        view! {
            <p class="console-card__refund" role="status">
                <span class=format!("console-state console-refund_{}", r.state.to_lowercase())>{refund_state_label(&r.state)}</span>
                {format!(" 退款单号 {} · {}元 · {} {}", r.refund_no, r.amount, r.requested_by, r.requested_at)}
            </p>
        }
    });
    let refund_label = format!("退款 {}元", exception.amount);
    let refund_button = (can_act && exception.refundable && exception.refund.is_none()).then(|| {
        view! {
            <ActionForm action=refund attr:class="console-refund">
                <input type="hidden" name="id" value=id.to_string()/>
                <button type="submit" class="weui-btn weui-btn_mini weui-btn_default">{refund_label}</button>
            </ActionForm>
        }
    });
    view! {
        <section class=if settled { "console-card" } else { "console-card console-card_open" }>
            <p class="console-card__title">
                <span class="console-state">{exception.kind_label}</span>
                " 订单 "{exception.order_no}
            </p>
            <dl class="console-card__facts">
                <dt>"金额"</dt><dd>{format!("{}元", exception.amount)}</dd>
                <dt>"记录时间"</dt><dd>{exception.created_at}</dd>
                <dt>"详情"</dt><dd>{exception.detail}</dd>
            </dl>
            {refund_state}
            {refund_button}
            {match exception.settlement {
                Some(s) => view! {
                    <p class="console-card__settled">"已处理 · "{s.at}" · "{s.by}"：" {s.note}</p>
                }.into_any(),
                None if can_act => view! {
                    <ActionForm action=settle attr:class="console-settle">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <label for=field.clone()>"处理说明"</label>
                        <textarea id=field.clone() name="note" required=true minlength="2" maxlength="200" rows="2"
                            placeholder="如：已原路退款，退款单号…"
                            aria-invalid=note_error.is_some().then_some("true")>{typed}</textarea>
                        {note_error.map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">"标记已处理"</button>
                    </ActionForm>
                }.into_any(),
                None => view! { <p class="console-card__settled">"待处理"</p> }.into_any(),
            }}
        </section>
    }
}

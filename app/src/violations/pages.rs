//! The 交通违法处理 and 已绑定车辆信息 screens.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{
    decision_page, fines_page, record_page, urlencode, vehicle_records, vehicles_page, violations_home, ProcessRecord,
    UnbindVehicle, ViolationsAgree,
};
use super::model::{
    BoundVehicle, DecisionPageData, DecisionView, FinesPageData, RecordPageData, RecordView, VehicleRecordsData,
    VehiclesPageData, ViolationsHomeData, NO_PHOTO,
};
use crate::ui::{loaded, FlashMessage, InfoRow, Screen};

/// The exact words the guide uses when a vehicle has nothing untreated.
pub const NO_RECORDS: &str = "您目前车辆无违法记录";

fn query(name: &'static str) -> impl Fn() -> String + Send + Sync + Copy + 'static {
    let map = use_query_map();
    move || map.read().get(name).unwrap_or_default()
}

/// `/violations`: 使用须知, then the card's vehicles.
#[component]
pub fn ViolationsPage() -> impl IntoView {
    let agree = ServerAction::<ViolationsAgree>::new();
    let home = Resource::new(move || agree.version().get(), |_| violations_home());
    loaded(home, move |data: ViolationsHomeData| match data {
        home if !home.agreed => view! {
            <Screen channel=home.channel title="使用须知">
                <Notice/>
                <ActionForm action=agree>
                    <button type="submit" class="weui-btn weui-btn_primary">"知晓并同意"</button>
                </ActionForm>
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }
        .into_any(),
        home => view! {
            <Screen channel=home.channel title="交通违法处理">
                <div class="weui-cells__title">"请选择要查询的绑定车辆"</div>
                <VehicleList vehicles=home.vehicles link_records=true/>
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }
        .into_any(),
    })
}

#[component]
fn Notice() -> impl IntoView {
    view! {
        <article class="notice">
            <p>"1. 本功能用于处理工银交通服务卡绑定车辆被交通技术监控设备记录的交通违法行为。"</p>
            <p>"2. 在线处理即表示您对违法事实无异议，接受处罚，处理人为当前实名认证的驾驶人，违法记分将计入您本人的驾驶证。"</p>
            <p>"3. 罚款超过200元、需暂扣或吊销驾驶证、处理后累积记分达到12分，或驾驶证状态异常的，不能在线处理，请到交警大队窗口办理。"</p>
            <p>"4. 处罚决定作出之日起15日内缴纳罚款；逾期每日按罚款数额的3%加处罚款，加处罚款总额不超过罚款本数。"</p>
            <p>"5. 记分周期届满时仍有未缴纳罚款的，该记分转入下一记分周期。"</p>
            <p>"6. 如对违法事实有异议，请勿在线处理，可到交警大队申请复核。"</p>
        </article>
    }
}

#[component]
fn VehicleList(vehicles: Vec<BoundVehicle>, link_records: bool) -> impl IntoView {
    if vehicles.is_empty() {
        return view! { <p class="empty" role="status">"您的交通服务卡暂未绑定车辆"</p> }.into_any();
    }
    view! {
        <div class="weui-cells">
            {vehicles.into_iter().map(|v| {
                let href = format!("/violations/vehicle?plate={}&type={}", urlencode(&v.plate), v.plate_type);
                let hint = if v.untreated > 0 { format!("{}条未处理", v.untreated) } else { "无未处理".to_string() };
                if link_records {
                    view! {
                        <a class="weui-cell weui-cell_access" href=href>
                            <div class="weui-cell__bd"><p class="plate">{v.plate}</p><p class="cell-sub">{v.plate_type_label}" · "{v.vehicle_type}</p></div>
                            <div class="weui-cell__ft">{hint}</div>
                        </a>
                    }.into_any()
                } else {
                    let unbind = format!("/vehicles/unbind?plate={}&type={}", urlencode(&v.plate), v.plate_type);
                    view! {
                        <div class="weui-cell vehicle">
                            <div class="weui-cell__bd">
                                <p class="plate">{v.plate}</p>
                                <p class="cell-sub">{v.plate_type_label}" · "{v.vehicle_type}</p>
                                <p class="cell-sub">"所有人："{v.owner}</p>
                                <p class="cell-sub">"绑定日期："{v.bound_on}</p>
                            </div>
                            <div class="weui-cell__ft"><a class="weui-btn weui-btn_mini weui-btn_warn" href=unbind>"解除绑定"</a></div>
                        </div>
                    }.into_any()
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

/// `/violations/vehicle?plate=…&type=…`: a vehicle's untreated records.
#[component]
pub fn VehicleRecordsPage() -> impl IntoView {
    let plate = query("plate");
    let plate_type = query("type");
    let page = Resource::new(move || (plate(), plate_type()), |(plate, t)| vehicle_records(plate, t));
    loaded(page, move |data: VehicleRecordsData| {
        match data {
        page => view! {
            <Screen channel=page.channel title="交通违法处理">
                <div class="weui-cells__title">{page.vehicle.plate.clone()}" · "{page.vehicle.plate_type_label.clone()}</div>
                {if page.records.is_empty() {
                    view! { <p class="empty" role="status">{NO_RECORDS}</p> }.into_any()
                } else {
                    view! {
                        <div class="weui-cells">
                            {page.records.into_iter().map(|r| view! { <RecordRow record=r/> }).collect_view()}
                        </div>
                    }.into_any()
                }}
                <a class="weui-btn weui-btn_default" href="/violations">"返回车辆列表"</a>
            </Screen>
        }.into_any(),
    }
    })
}

#[component]
fn RecordRow(record: RecordView) -> impl IntoView {
    let href = format!("/violations/record?no={}", urlencode(&record.record_no));
    view! {
        <div class="weui-cell record">
            <div class="weui-cell__bd">
                <p>{record.behaviour}</p>
                <p class="cell-sub">{record.occurred_at}" · "{record.location}</p>
                <p class="cell-sub">"记"{record.points}"分 · 罚款"{record.fine}"元"</p>
                {record.refusal.clone().map(|reason| view! { <p class="refusal" role="note">"不能在线处理："{reason}</p> })}
            </div>
            {record.refusal.is_none().then(|| view! {
                <div class="weui-cell__ft"><a class="weui-btn weui-btn_mini weui-btn_primary" href=href>"处理"</a></div>
            })}
        </div>
    }
}

/// `/violations/record?no=…`: the details, the evidence photo, and 接受处理.
#[component]
pub fn RecordPage() -> impl IntoView {
    let process = ServerAction::<ProcessRecord>::new();
    let record_no = query("no");
    let page = Resource::new(move || (record_no(), process.version().get()), |(no, _)| record_page(no));
    loaded(page, move |data: RecordPageData| match data {
        page => {
            let record = page.record;
            let vehicle_href =
                format!("/violations/vehicle?plate={}&type={}", urlencode(&record.plate), record.plate_type);
            view! {
                <Screen channel=page.channel title="违法详情">
                    <FlashMessage flash=page.flash/>
                    <div class="weui-cells">
                        <InfoRow label="号牌号码" value=record.plate.clone()/>
                        <InfoRow label="违法时间" value=record.occurred_at.clone()/>
                        <InfoRow label="违法地点" value=record.location.clone()/>
                        <InfoRow label="违法代码" value=record.code.clone()/>
                        <InfoRow label="违法行为" value=record.behaviour.clone()/>
                        <InfoRow label="记分" value=format!("{}分", record.points)/>
                        <InfoRow label="罚款金额" value=format!("{}元", record.fine)/>
                    </div>
                    <figure class="evidence">
                        <img src=format!("/evidence/{}", urlencode(&record.record_no)) alt="违法证据照片" width="360" height="240"/>
                        <figcaption>{if page.photo { "违法证据照片" } else { NO_PHOTO }}</figcaption>
                    </figure>
                    {match (page.decision_no, record.refusal) {
                        (Some(no), _) => view! {
                            <p class="flash flash_notice" role="status">"该记录已处理"</p>
                            <a class="weui-btn weui-btn_primary" href=format!("/violations/decision?no={no}")>"查看处罚决定"</a>
                        }.into_any(),
                        (None, Some(reason)) => view! {
                            <p class="refusal" role="note">"不能在线处理："{reason}</p>
                        }.into_any(),
                        (None, None) => view! {
                            <p class="screen__lead">"确认对以上违法事实无异议后，点击“接受处理”。处理后记分计入您本人的驾驶证，并生成处罚决定书。"</p>
                            <ActionForm action=process>
                                <input type="hidden" name="record_no" value=record.record_no.clone()/>
                                <button type="submit" class="weui-btn weui-btn_primary">"接受处理"</button>
                            </ActionForm>
                        }.into_any(),
                    }}
                    <a class="weui-btn weui-btn_default" href=vehicle_href>"返回"</a>
                </Screen>
            }.into_any()
        }
    })
}

/// `/violations/decision?no=…`: the decision, the amount due and its deadline, 缴费 now or later.
#[component]
pub fn DecisionResultPage() -> impl IntoView {
    let decision_no = query("no");
    let page = Resource::new(decision_no, decision_page);
    loaded(page, move |data: DecisionPageData| {
        match data {
        page => view! {
            <Screen channel=page.channel title="处理结果">
                <FlashMessage flash=page.flash/>
                <DecisionCells decision=page.decision.clone()/>
                {(!page.decision.paid).then(|| view! {
                    <a class="weui-btn weui-btn_primary" href=format!("/fines/pay?no={}", page.decision.decision_no)>"缴费"</a>
                    <a class="weui-btn weui-btn_default" href="/fines">"稍后缴费"</a>
                })}
                <a class="weui-btn weui-btn_default" href="/violations">"返回车辆列表"</a>
            </Screen>
        }.into_any(),
    }
    })
}

/// A decision's facts, amounts, deadline and the carry-over warning.
#[component]
pub fn DecisionCells(decision: DecisionView) -> impl IntoView {
    let countdown = match decision.days_left {
        _ if decision.paid => "已缴款".to_string(),
        0 => "今天是缴费截止日".to_string(),
        d if d > 0 => format!("距缴费截止还有{d}天"),
        d => format!("已逾期{}天，每日加处罚款3%", -d),
    };
    view! {
        <div class="weui-cells">
            <InfoRow label="决定书编号" value=decision.decision_no.clone()/>
            <InfoRow label="号牌号码" value=decision.plate.clone()/>
            <InfoRow label="违法行为" value=decision.behaviour.clone()/>
            <InfoRow label="当事人" value=decision.party.clone()/>
            <InfoRow label="记分" value=format!("{}分", decision.points)/>
            <InfoRow label="决定日期" value=decision.decided_on.clone()/>
            <InfoRow label="缴费截止日期" value=decision.due_date.clone()/>
            <InfoRow label="罚款" value=format!("{}元", decision.fine)/>
            <InfoRow label="加处罚款" value=format!("{}元", decision.late_fee)/>
            <InfoRow label="应缴金额" value=format!("{}元", decision.total)/>
        </div>
        <p class=if decision.days_left < 0 && !decision.paid { "flash flash_error" } else { "flash flash_notice" } role="status">{countdown}</p>
        {(!decision.paid).then(|| view! {
            <p class="screen__lead">"提示：记分周期届满时仍有未缴纳的罚款，该违法行为的记分将转入下一记分周期。"</p>
        })}
    }
}

/// `/fines`: 交通罚款缴纳, each unpaid decision with its amounts and 缴费.
#[component]
pub fn FinesPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| fines_page());
    loaded(page, move |data: FinesPageData| match data {
        page => view! {
            <Screen channel=page.channel title="交通罚款缴纳">
                {if page.decisions.is_empty() {
                    view! { <p class="empty" role="status">{NO_RECORDS}</p> }.into_any()
                } else {
                    view! {
                        <div class="weui-cells__title">"已裁决未缴款"</div>
                        {page.decisions.into_iter().map(|d| view! { <FineItem decision=d/> }).collect_view()}
                    }.into_any()
                }}
                {(!page.receipts.is_empty()).then(|| view! {
                    <div class="weui-cells__title">"已缴款 · 电子缴款凭证"</div>
                    <div class="weui-cells">
                        {page.receipts.into_iter().map(|(receipt_no, decision_no)| view! {
                            <a class="weui-cell weui-cell_access" href=format!("/fines/receipt?no={receipt_no}")>
                                <div class="weui-cell__bd"><p>{format!("决定书 {decision_no}")}</p></div>
                                <div class="weui-cell__ft">"查看凭证"</div>
                            </a>
                        }).collect_view()}
                    </div>
                })}
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }
        .into_any(),
    })
}

#[component]
fn FineItem(decision: DecisionView) -> impl IntoView {
    let pay = format!("/fines/pay?no={}", decision.decision_no);
    let label = format!("决定书 {}", decision.decision_no);
    view! {
        <section class="fine" aria-label=label>
            <DecisionCells decision/>
            <a class="weui-btn weui-btn_primary" href=pay>"缴费"</a>
        </section>
    }
}

/// `/vehicles`: 已绑定车辆信息.
#[component]
pub fn VehiclesPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| vehicles_page());
    loaded(page, move |data: VehiclesPageData| match data {
        page => view! {
            <Screen channel=page.channel title="已绑定车辆信息">
                <FlashMessage flash=page.flash/>
                <div class="weui-cells__title">"交通服务卡 "{page.card}</div>
                <VehicleList vehicles=page.vehicles link_records=false/>
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }
        .into_any(),
    })
}

/// `/vehicles/unbind?plate=…&type=…`: the confirmation before 解除绑定 of a vehicle.
#[component]
pub fn VehicleUnbindPage() -> impl IntoView {
    let unbind = ServerAction::<UnbindVehicle>::new();
    let plate = query("plate");
    let plate_type = query("type");
    let page = Resource::new(|| (), |_| vehicles_page());
    loaded(page, move |data: VehiclesPageData| match data {
        page => {
            let vehicle = page.vehicles.into_iter().find(|v| v.plate == plate() && v.plate_type == plate_type());
            view! {
                <Screen channel=page.channel title="解除绑定">
                    {match vehicle {
                        Some(v) => view! {
                            <div class="weui-msg">
                                <div class="weui-msg__text-area">
                                    <h2 class="weui-msg__title">"确定解除该车辆的绑定吗？"</h2>
                                    <p class="weui-msg__desc">{format!("解除后，{} 的违法记录将不再显示，也不能通过交通服务卡处理或缴款。", v.plate)}</p>
                                </div>
                            </div>
                            <ActionForm action=unbind>
                                <input type="hidden" name="plate" value=v.plate.clone()/>
                                <input type="hidden" name="plate_type" value=v.plate_type.clone()/>
                                <button type="submit" class="weui-btn weui-btn_warn">"确认解除绑定"</button>
                            </ActionForm>
                        }.into_any(),
                        None => view! { <p class="flash flash_error" role="alert">"该车辆未绑定您的交通服务卡"</p> }.into_any(),
                    }}
                    <a class="weui-btn weui-btn_default" href="/vehicles">"取消"</a>
                </Screen>
            }.into_any()
        }
    })
}

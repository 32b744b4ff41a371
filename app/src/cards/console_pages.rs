//! The bank's console screens for card applications; the auditor sees them without any step.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{console_application, console_applications, CardApplicationStep};
use super::model::{ApplicationDetailData, ApplicationListData, ConsoleApplication};
use super::rules::{ApplicationState, Step};
use crate::console::model::Role;
use crate::console::pages::ConsoleScreen;
use crate::identity::model::Flash;
use crate::ui::{loaded, FlashMessage, InfoRow};

/// `/console/applications?state=…`: the applications, newest first, filtered by state.
#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("state").unwrap_or_default(), console_applications);
    loaded(page, |data: ApplicationListData| {
        let filter = data.filter;
        let link = move |state: Option<ApplicationState>, label: &'static str| {
            let href = match state {
                Some(state) => format!("/console/applications?state={}", state.code()),
                None => "/console/applications".to_string(),
            };
            view! { <a href=href aria-current=(state == filter).then_some("page")>{label}</a> }
        };
        view! {
            <ConsoleScreen title="交通服务卡申请" staff=data.staff>
                <nav class="state-filter" aria-label="按状态筛选">
                    {link(None, "全部")}
                    {ApplicationState::ALL.into_iter().map(|state| link(Some(state), state.label())).collect_view()}
                </nav>
                {data.applications.is_empty().then(|| view! { <p class="empty" role="status">"暂无申请"</p> })}
                <div class="weui-cells">
                    {data.applications.into_iter().map(|application| view! { <ApplicationRow application/> }).collect_view()}
                </div>
            </ConsoleScreen>
        }
    })
}

#[component]
fn ApplicationRow(application: ConsoleApplication) -> impl IntoView {
    let href = format!("/console/applications/detail?no={}", application.application_no);
    view! {
        <a class="weui-cell weui-cell_access" href=href>
            <div class="weui-cell__bd">
                <p>{application.application_no}</p>
                <p class="cell-sub">{application.name}" · "{application.branch}</p>
                <p class="cell-sub">{application.submitted_at}</p>
            </div>
            <div class="weui-cell__ft">{application.state.label()}</div>
        </a>
    }
}

/// `/console/applications/detail?no=…`: one application and the steps its state allows.
#[component]
pub fn ApplicationDetailPage() -> impl IntoView {
    let step = ServerAction::<CardApplicationStep>::new();
    let query = use_query_map();
    let page = Resource::new(
        move || (query.read().get("no").unwrap_or_default(), step.version().get()),
        |(no, _)| console_application(no),
    );
    loaded(page, move |data: ApplicationDetailData| {
        let application = data.application;
        let no = application.application_no.clone();
        let read_only = data.staff.role == Role::Auditor;
        let plates =
            if application.plates.is_empty() { "未填写".to_string() } else { application.plates.join("、") };
        view! {
            <ConsoleScreen title="申请详情" staff=data.staff>
                <FlashMessage flash=data.flash.clone()/>
                <div class="weui-cells">
                    <InfoRow label="申请编号" value=no.clone()/>
                    <InfoRow label="办理状态" value=application.state.label().to_string()/>
                    {application.reason.map(|reason| view! { <InfoRow label="驳回原因" value=reason/> })}
                    <InfoRow label="姓名" value=application.name/>
                    <InfoRow label="身份证号" value=application.id_number/>
                    <InfoRow label="手机号" value=application.phone/>
                    <InfoRow label="车牌号" value=plates/>
                    <InfoRow label="领卡网点" value=application.branch/>
                    {application.card_no.map(|card_no| view! { <InfoRow label="卡号" value=card_no/> })}
                    <InfoRow label="提交时间" value=application.submitted_at/>
                    <InfoRow label="更新时间" value=application.updated_at/>
                </div>
                {read_only.then(|| view! { <p class="screen__lead">"审计员只能查看申请，不能办理。"</p> })}
                {data.steps.contains(&Step::Collect).then(|| view! {
                    <p class="screen__lead">
                        "请当面核验申请人本人身份证原件，与申请信息一致后再确认领卡。确认后卡片启用，申请人名下的申报车辆关联到此卡。"
                    </p>
                })}
                <div class="console__steps">
                    {data.steps.into_iter().map(|s| view! { <StepForm action=step step=s no=no.clone() flash=data.flash.clone()/> }).collect_view()}
                </div>
                <a class="weui-btn weui-btn_default" href="/console/applications">"返回申请列表"</a>
            </ConsoleScreen>
        }
    })
}

/// One step's form; 驳回 carries its reason.
#[component]
fn StepForm(action: ServerAction<CardApplicationStep>, step: Step, no: String, flash: Flash) -> impl IntoView {
    let pending = action.pending();
    let error = flash.field_error("reason");
    view! {
        <ActionForm action attr:class="console__step" attr:novalidate=true>
            <input type="hidden" name="no" value=no/>
            <input type="hidden" name="op" value=step.code()/>
            {(step == Step::Reject).then(|| view! {
                <div class=if error.is_some() { "weui-cells weui-cells_form weui-cell_warn" } else { "weui-cells weui-cells_form" }>
                    <div class="weui-cell">
                        <div class="weui-cell__bd">
                            <label class="weui-label" for="reject-reason">"驳回原因"</label>
                            <textarea
                                id="reject-reason"
                                class="weui-textarea"
                                name="reason"
                                rows="3"
                                maxlength="200"
                                placeholder="2至200字，申请人将在进度查询和短信中看到"
                                aria-invalid=error.is_some().then_some("true")
                            >{flash.value("reason")}</textarea>
                        </div>
                    </div>
                </div>
                {error.clone().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            })}
            <button
                type="submit"
                class=if step == Step::Reject { "weui-btn weui-btn_warn" } else { "weui-btn weui-btn_primary" }
                disabled=move || pending.get()
            >{step.label()}</button>
        </ActionForm>
    }
}

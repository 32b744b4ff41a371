//! The applicant's screens: 申办交通服务卡 and 申请进度查询.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{card_apply_page, card_status_page, CardApply, CardStatusLookup};
use super::model::{ApplicationView, ApplyPageData, Branch, StatusPageData};
use super::rules::{ApplicationState, PLATE_FIELDS};
use crate::identity::model::Flash;
use crate::ui::{loaded, Field, FlashMessage, InfoRow, Screen};

/// `/card-apply`: the application form.
#[component]
pub fn CardApplyPage() -> impl IntoView {
    let submit = ServerAction::<CardApply>::new();
    let page = Resource::new(move || submit.version().get(), |_| card_apply_page());
    loaded(page, move |data: ApplyPageData| {
        view! {
            <Screen channel=data.channel title="申办交通服务卡">
                <FlashMessage flash=data.flash.clone()/>
                <p class="screen__lead">"请填写本人真实信息。制卡后请携带本人身份证到所选网点领卡，办理进度以短信通知。"</p>
                <ApplyForm submit flash=data.flash branches=data.branches/>
                <a class="weui-btn weui-btn_default" href="/card-apply/status">"申请进度查询"</a>
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }
    })
}

#[component]
fn ApplyForm(submit: ServerAction<CardApply>, flash: Flash, branches: Vec<Branch>) -> impl IntoView {
    let pending = submit.pending();
    view! {
        <ActionForm action=submit attr:class="card-apply-form" attr:novalidate=true>
            <div class="weui-cells weui-cells_form">
                <Field name="name" label="姓名" flash=flash.clone() placeholder="与身份证一致" max_length=20/>
                <Field name="id_number" label="身份证号" flash=flash.clone() placeholder="18位居民身份证号码" max_length=18/>
                <Field
                    name="phone"
                    label="手机号"
                    flash=flash.clone()
                    kind="tel"
                    placeholder="接收办理进度短信"
                    input_mode="numeric"
                    max_length=13
                    trailing=view! {
                        <button type="submit" name="op" value="send_code" class="weui-btn weui-btn_mini weui-btn_default">
                            "获取验证码"
                        </button>
                    }.into_any()
                />
                <Field name="code" label="短信验证码" flash=flash.clone() keep_value=false placeholder="6位数字" input_mode="numeric" max_length=6/>
            </div>
            <div class="weui-cells__title">"车牌号（选填，最多3个，本人名下车辆制卡后自动关联）"</div>
            <div class="weui-cells weui-cells_form">
                {PLATE_FIELDS.into_iter().zip(["车牌号1", "车牌号2", "车牌号3"]).map(|(name, label)| view! {
                    <Field name label flash=flash.clone() placeholder="如：辽B12345" max_length=10/>
                }).collect_view()}
            </div>
            <div class="weui-cells weui-cells_form">
                <BranchSelect branches flash/>
            </div>
            <div class="weui-form__opr-area">
                <button type="submit" name="op" value="submit" class="weui-btn weui-btn_primary" disabled=move || pending.get()>
                    "提交申请"
                </button>
            </div>
        </ActionForm>
    }
}

#[component]
fn BranchSelect(branches: Vec<Branch>, flash: Flash) -> impl IntoView {
    let chosen = flash.value("branch");
    let error = flash.field_error("branch");
    let cell = if error.is_some() {
        "weui-cell weui-cell_select weui-cell_select-after weui-cell_warn"
    } else {
        "weui-cell weui-cell_select weui-cell_select-after"
    };
    view! {
        <div class=cell>
            <div class="weui-cell__hd"><label class="weui-label" for="field-branch">"领卡网点"</label></div>
            <div class="weui-cell__bd">
                <select
                    id="field-branch"
                    class="weui-select"
                    name="branch"
                    aria-invalid=error.is_some().then_some("true")
                    aria-describedby=error.is_some().then_some("field-branch-error")
                >
                    <option value="" selected=chosen.is_empty()>"请选择领卡网点"</option>
                    {branches.into_iter().map(|branch| {
                        let selected = branch.code == chosen;
                        view! { <option value=branch.code selected=selected>{branch.name}" · "{branch.address}</option> }
                    }).collect_view()}
                </select>
            </div>
        </div>
        {error.map(|e| view! { <p class="field-error" id="field-branch-error" role="alert">{e}</p> })}
    }
}

/// `/card-apply/status`: the application a lookup or the submission opened, the user's own, and the lookup form.
#[component]
pub fn CardStatusPage() -> impl IntoView {
    let lookup = ServerAction::<CardStatusLookup>::new();
    let query = use_query_map();
    let page = Resource::new(
        move || (query.read().get("pass").unwrap_or_default(), lookup.version().get()),
        |(pass, _)| card_status_page(pass),
    );
    loaded(page, move |data: StatusPageData| {
        let flash = data.flash.clone();
        view! {
            <Screen channel=data.channel title="申请进度查询">
                <FlashMessage flash=data.flash/>
                {data.found.map(|application| view! { <ApplicationCard application/> })}
                {(!data.own.is_empty()).then(|| view! {
                    <h2 class="section-title">"我的申请"</h2>
                    {data.own.into_iter().map(|application| view! { <ApplicationCard application/> }).collect_view()}
                })}
                <h2 class="section-title">"按申请编号查询"</h2>
                <ActionForm action=lookup attr:novalidate=true>
                    <div class="weui-cells weui-cells_form">
                        <Field name="application_no" label="申请编号" flash=flash.clone() placeholder="如：SQ20261124123456" max_length=16/>
                        <Field name="id_number" label="身份证号" flash placeholder="申请时填写的身份证号" max_length=18/>
                    </div>
                    <button type="submit" class="weui-btn weui-btn_primary">"查询"</button>
                </ActionForm>
                <a class="weui-btn weui-btn_default" href="/card-apply">"申办交通服务卡"</a>
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }
    })
}

/// One application: the progress line and its details, masked.
#[component]
fn ApplicationCard(application: ApplicationView) -> impl IntoView {
    let rejected = application.state == ApplicationState::Rejected;
    let stages = application.state.progress();
    let last = stages.iter().rposition(|(_, reached)| *reached);
    let plates = if application.plates.is_empty() { "未填写".to_string() } else { application.plates.join("、") };
    view! {
        <section class="application" aria-label=format!("申请编号 {}", application.application_no)>
            <p class="application__no">"申请编号："{application.application_no.clone()}</p>
            <ol class=if rejected { "progress progress_rejected" } else { "progress" } aria-label="办理进度">
                {stages.into_iter().enumerate().map(|(i, (label, reached))| view! {
                    <li
                        class=if reached { "progress__stage progress__stage_reached" } else { "progress__stage" }
                        aria-current=(Some(i) == last).then_some("step")
                    >{label}</li>
                }).collect_view()}
            </ol>
            {application.reason.map(|reason| view! {
                <p class="flash flash_error application__reason" role="status">"驳回原因："{reason}</p>
            })}
            <div class="weui-cells">
                <InfoRow label="办理状态" value=application.state.label().to_string()/>
                <InfoRow label="领卡网点" value=application.branch/>
                <InfoRow label="姓名" value=application.name/>
                <InfoRow label="身份证号" value=application.id_number/>
                <InfoRow label="手机号" value=application.phone/>
                <InfoRow label="车牌号" value=plates/>
                {application.card_no.map(|card_no| view! { <InfoRow label="交通服务卡" value=card_no/> })}
                <InfoRow label="提交时间" value=application.submitted_at/>
                <InfoRow label="更新时间" value=application.updated_at/>
            </div>
        </section>
    }
}

//! The 实名认证 screens.

use leptos::prelude::*;

use crate::identity::api::{realname_page, RealnameSubmit, RealnameUnlink};
use crate::identity::model::Viewer;
use crate::identity::model::{Flash, RealName, RealNamePage as PageData};
use crate::ui::{loaded, Field, FlashMessage, InfoRow, Screen};

/// `/realname`: the form, or the current link with 解除绑定.
#[component]
pub fn RealNamePage() -> impl IntoView {
    let submit = ServerAction::<RealnameSubmit>::new();
    let page = Resource::new(move || submit.version().get(), |_| realname_page());
    loaded(page, move |data: PageData| {
        match data {
        PageData { viewer, flash } => view! {
            <Screen channel=viewer.channel title="实名认证">
                <FlashMessage flash=flash.clone()/>
                {match (viewer.signed_in, viewer.real_name) {
                    (false, _) => view! {
                        <p class="flash flash_error" role="alert">
                            {format!("请从{}「{}」进入后再进行实名认证", viewer.channel.platform_name(), viewer.channel.account_name())}
                        </p>
                    }.into_any(),
                    (true, Some(real_name)) => view! { <Linked real_name/> }.into_any(),
                    (true, None) => view! {
                        {viewer.real_name_lapsed.then(|| view! {
                            <p class="flash flash_error" role="alert">
                                "原绑定的交通服务卡已注销或已变更，实名认证已失效，请重新完成实名认证。"
                            </p>
                        })}
                        <RealNameForm submit flash/>
                    }.into_any(),
                }}
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </Screen>
        }.into_any(),
    }
    })
}

#[component]
fn RealNameForm(submit: ServerAction<RealnameSubmit>, flash: Flash) -> impl IntoView {
    let pending = submit.pending();
    view! {
        <p class="screen__lead">"请填写本人真实信息，须与办理工银交通服务卡时登记的信息一致。"</p>
        <ActionForm action=submit attr:class="realname-form" attr:novalidate=true>
            <div class="weui-cells weui-cells_form">
                <Field name="name" label="姓名" flash=flash.clone() placeholder="请输入姓名" max_length=20/>
                <Field name="id_number" label="身份证号" flash=flash.clone() placeholder="18位居民身份证号码" max_length=18/>
                <Field name="card_no" label="交通服务卡卡号" flash=flash.clone() placeholder="16至19位卡号" input_mode="numeric" max_length=23/>
                <Field
                    name="phone"
                    label="手机号"
                    flash=flash.clone()
                    kind="tel"
                    placeholder="办卡预留手机号"
                    input_mode="numeric"
                    max_length=13
                    trailing=view! {
                        <button type="submit" name="op" value="send_code" class="weui-btn weui-btn_mini weui-btn_default">
                            "获取验证码"
                        </button>
                    }.into_any()
                />
                <Field name="code" label="短信验证码" flash=flash keep_value=false placeholder="6位数字" input_mode="numeric" max_length=6/>
            </div>
            <div class="weui-form__opr-area">
                <button type="submit" name="op" value="submit" class="weui-btn weui-btn_primary" disabled=move || pending.get()>
                    "提交认证"
                </button>
            </div>
        </ActionForm>
    }
}

#[component]
fn Linked(real_name: RealName) -> impl IntoView {
    view! {
        <div class="weui-cells__title">"已完成实名认证"</div>
        <div class="weui-cells">
            <InfoRow label="姓名" value=real_name.name/>
            <InfoRow label="身份证号" value=real_name.id_number/>
            <InfoRow label="交通服务卡" value=real_name.card_no/>
            <InfoRow label="手机号" value=real_name.phone/>
            <InfoRow label="认证日期" value=real_name.bound_on/>
        </div>
        <p class="screen__lead">"交通服务卡卡号等信息发生变化时，请先解除绑定，再重新完成实名认证。"</p>
        <a class="weui-btn weui-btn_warn" href="/realname/unbind">"解除绑定"</a>
    }
}

/// `/realname/unbind`: the confirmation step before 解除绑定.
#[component]
pub fn UnbindPage() -> impl IntoView {
    let unlink = ServerAction::<RealnameUnlink>::new();
    let page = Resource::new(|| (), |_| crate::identity::api::current_viewer());
    loaded(page, move |data: Viewer| {
        match data {
        viewer => view! {
            <Screen channel=viewer.channel title="解除绑定">
                {match viewer.real_name {
                    Some(real_name) => view! {
                        <div class="weui-msg">
                            <div class="weui-msg__icon-area"><i class="weui-icon-warn weui-icon_msg"></i></div>
                            <div class="weui-msg__text-area">
                                <h2 class="weui-msg__title">"确定解除绑定吗？"</h2>
                                <p class="weui-msg__desc">
                                    {format!("将解除本账号与交通服务卡 {} 的绑定。解除后需重新实名认证才能查询和处理交通违法。", real_name.card_no)}
                                </p>
                            </div>
                        </div>
                        <ActionForm action=unlink>
                            <button type="submit" class="weui-btn weui-btn_warn">"确认解除绑定"</button>
                        </ActionForm>
                    }.into_any(),
                    None => view! { <p class="flash flash_notice" role="status">"当前没有实名认证信息"</p> }.into_any(),
                }}
                <a class="weui-btn weui-btn_default" href="/realname">"取消"</a>
            </Screen>
        }.into_any(),
    }
    })
}

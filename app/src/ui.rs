//! Small building blocks every screen shares, in WeUI's vocabulary. Any screen may import it; it imports only
//! `domain` and `error`.

use leptos::prelude::*;

use crate::domain::{Channel, Flash};
use crate::error::AppError;

/// A screen: the channel's branding around a title and content.
#[component]
pub fn Screen(channel: Channel, title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class=format!("screen channel-{}", channel.code())>
            <header class="screen__header">
                <span class="screen__account">{channel.account_name()}</span>
                <h1 class="screen__title">{title}</h1>
            </header>
            {children()}
        </div>
    }
}

/// A screen whose data comes from the server: the spinner while it loads, the safe error if it fails, and
/// `render` once it is there. Every route renders it on the server, so it works without JavaScript.
pub fn loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=Loading>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(data) => render(data).into_any(),
                        Err(error) => view! { <LoadFailed error/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The spinner shown while a screen's data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <div class="weui-loadmore" role="status">
            <i class="weui-loading"></i>
            <span class="weui-loadmore__tips">"加载中…"</span>
        </div>
    }
}

/// A screen that could not load: the safe message and a way back.
#[component]
pub fn LoadFailed(error: AppError) -> impl IntoView {
    view! {
        <div class="weui-msg" role="alert">
            <div class="weui-msg__icon-area"><i class="weui-icon-warn weui-icon_msg"></i></div>
            <div class="weui-msg__text-area">
                <h2 class="weui-msg__title">{error.to_string()}</h2>
            </div>
            <div class="weui-msg__opr-area">
                {matches!(error, AppError::NotAuthenticated | AppError::RealNameLapsed).then(|| view! {
                    <a class="weui-btn weui-btn_primary" href="/realname">"去实名认证"</a>
                })}
                {(error == AppError::StaffNotSignedIn).then(|| view! {
                    <a class="weui-btn weui-btn_primary" href="/console/login">"登录管理后台"</a>
                })}
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </div>
        </div>
    }
}

/// The one-time notice or error a submission left.
#[component]
pub fn FlashMessage(flash: Flash) -> impl IntoView {
    view! {
        {flash.notice.map(|text| view! { <p class="flash flash_notice" role="status">{text}</p> })}
        {flash.error.map(|text| view! { <p class="flash flash_error" role="alert">{text}</p> })}
    }
}

/// A menu entry: one tappable row.
#[component]
pub fn MenuLink(href: &'static str, label: &'static str, #[prop(optional)] hint: &'static str) -> impl IntoView {
    view! {
        <a class="weui-cell weui-cell_access" href=href>
            <div class="weui-cell__bd"><p>{label}</p></div>
            <div class="weui-cell__ft">{hint}</div>
        </a>
    }
}

/// A labelled text input with its inline error.
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    flash: Flash,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "")] placeholder: &'static str,
    #[prop(default = "")] input_mode: &'static str,
    #[prop(default = 40)] max_length: u32,
    #[prop(default = true)] keep_value: bool,
    #[prop(optional)] trailing: Option<AnyView>,
) -> impl IntoView {
    let error = flash.field_error(name);
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let value = if keep_value { flash.value(name) } else { String::new() };
    view! {
        <div class=if error.is_some() { "weui-cell weui-cell_active weui-cell_warn" } else { "weui-cell weui-cell_active" }>
            <div class="weui-cell__hd"><label class="weui-label" for=id.clone()>{label}</label></div>
            <div class="weui-cell__bd">
                <input
                    id=id
                    class="weui-input"
                    type=kind
                    name=name
                    value=value
                    placeholder=placeholder
                    inputmode=(!input_mode.is_empty()).then_some(input_mode)
                    maxlength=max_length
                    autocomplete="off"
                    aria-invalid=error.is_some().then_some("true")
                    aria-describedby=error.is_some().then(|| error_id.clone())
                />
            </div>
            {trailing.map(|t| view! { <div class="weui-cell__ft">{t}</div> })}
        </div>
        {error.map(|e| view! { <p class="field-error" id=error_id role="alert">{e}</p> })}
    }
}

/// A label and its value on one row.
#[component]
pub fn InfoRow(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="weui-cell">
            <div class="weui-cell__bd"><p>{label}</p></div>
            <div class="weui-cell__ft">{value}</div>
        </div>
    }
}

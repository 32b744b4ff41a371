//! The console's sign-in, home and the frame every console screen shares.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{console_home, console_login_page, StaffLogin, StaffLogout};
use super::model::{LoginPageData, Role, StaffView};
use crate::ui::{loaded, FlashMessage};

/// The console's frame: a plain header with the staff member and the way out.
#[component]
pub fn ConsoleScreen(title: &'static str, staff: StaffView, children: Children) -> impl IntoView {
    let logout = ServerAction::<StaffLogout>::new();
    view! {
        <div class="screen console">
            <header class="screen__header console__header">
                <span class="screen__account">"大连智慧交通 · 管理后台"</span>
                <h1 class="screen__title">{title}</h1>
                <p class="console__who">{staff.username}" · "{staff.role.label()}</p>
            </header>
            <nav class="console__nav">
                <a href="/console">"首页"</a>
                <ActionForm action=logout>
                    <button type="submit" class="weui-btn weui-btn_mini weui-btn_default">"退出登录"</button>
                </ActionForm>
            </nav>
            {children()}
        </div>
    }
}

/// `/console/login`: 用户名, 密码, 登录.
#[component]
pub fn ConsoleLoginPage() -> impl IntoView {
    let login = ServerAction::<StaffLogin>::new();
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("failed").is_some(), console_login_page);
    loaded(page, move |data: LoginPageData| {
        view! {
            <div class="screen console">
                <header class="screen__header console__header">
                    <span class="screen__account">"大连智慧交通"</span>
                    <h1 class="screen__title">"管理后台登录"</h1>
                </header>
                <FlashMessage flash=data.flash/>
                {data.signed_in.map(|staff| view! {
                    <p class="flash flash_notice" role="status">"已登录："{staff.username}" "<a href="/console">"进入管理后台"</a></p>
                })}
                <ActionForm action=login>
                    <div class="weui-cells weui-cells_form">
                        <div class="weui-cell weui-cell_active">
                            <div class="weui-cell__hd"><label class="weui-label" for="staff-username">"用户名"</label></div>
                            <div class="weui-cell__bd"><input id="staff-username" class="weui-input" name="username" autocomplete="username" required=true/></div>
                        </div>
                        <div class="weui-cell weui-cell_active">
                            <div class="weui-cell__hd"><label class="weui-label" for="staff-password">"密码"</label></div>
                            <div class="weui-cell__bd"><input id="staff-password" class="weui-input" type="password" name="password" autocomplete="current-password" required=true/></div>
                        </div>
                    </div>
                    <button type="submit" class="weui-btn weui-btn_primary">"登录"</button>
                </ActionForm>
            </div>
        }
    })
}

/// `/console`: the menu for the staff member's role.
#[component]
pub fn ConsoleHomePage() -> impl IntoView {
    let page = Resource::new(|| (), |_| console_home());
    loaded(page, |staff: StaffView| {
        let role = staff.role;
        view! {
            <ConsoleScreen title="管理后台" staff>
                <div class="weui-cells">
                    {matches!(role, Role::Bank | Role::Auditor).then(|| view! {
                        <a class="weui-cell weui-cell_access" href="/console/applications"><div class="weui-cell__bd"><p>"交通服务卡申请"</p></div></a>
                    })}
                    {matches!(role, Role::Police).then(|| view! {
                        <a class="weui-cell weui-cell_access" href="/console/import"><div class="weui-cell__bd"><p>"数据导入"</p></div></a>
                    })}
                    {matches!(role, Role::Bank | Role::Auditor).then(|| view! {
                        <a class="weui-cell weui-cell_access" href="/console/payments"><div class="weui-cell__bd"><p>"缴款订单与对账"</p></div></a>
                    })}
                    {matches!(role, Role::Auditor).then(|| view! {
                        <a class="weui-cell weui-cell_access" href="/console/audit"><div class="weui-cell__bd"><p>"审计日志"</p></div></a>
                    })}
                </div>
            </ConsoleScreen>
        }
    })
}

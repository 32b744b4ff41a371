//! The console's sign-in, home and the frame every console screen shares.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::{
    console_audit, console_export_page, console_home, console_import_page, console_login_page, StaffLogin, StaffLogout,
};
use super::model::{AuditPageData, AuditQuery, ExportPageData, ImportPageData, LoginPageData, Role, StaffView};
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
                    {matches!(role, Role::Police | Role::Bank).then(|| view! {
                        <a class="weui-cell weui-cell_access" href="/console/export"><div class="weui-cell__bd"><p>"数据导出"</p></div></a>
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

/// The files a police operator can upload, with their names on screen.
const IMPORT_KINDS: [(&str, &str); 6] = [
    ("cards", "交通服务卡 cards.csv"),
    ("drivers", "驾驶人 drivers.csv"),
    ("vehicles", "机动车 vehicles.csv"),
    ("violations", "违法记录 violations.csv"),
    ("questions", "审验学习题库 questions.csv"),
    ("courses", "审验学习课程 courses.csv"),
];

/// `/console/import`: 数据导入, a plain multipart form so it works without JavaScript.
#[component]
pub fn ConsoleImportPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| console_import_page());
    loaded(page, |data: ImportPageData| {
        view! {
            <ConsoleScreen title="数据导入" staff=data.staff>
                {data.running.map(|progress| view! {
                    // The page asks again every 2 seconds, with or without JavaScript, until the outcome is there
                    // (browsers follow a refresh wherever in the document it stands).
                    <meta http-equiv="refresh" content="2"/>
                    <div class="weui-cells__tips import-progress" role="status">
                        <i class="weui-loading"></i>
                        <span>"正在导入，完成后本页显示结果："</span>
                        <span class="import-progress__line">{progress}</span>
                    </div>
                })}
                <div class="import-result"><FlashMessage flash=data.flash/></div>
                <p class="screen__lead">"上传UTF-8编码、带表头行的CSV文件。整个文件逐行校验：只要有一行有误，就列出每个有误的行号和原因，且不写入任何数据；全部正确时按自然键新增或更新。"</p>
                <form method="post" action="/console/import/upload" enctype="multipart/form-data">
                    <div class="weui-cells weui-cells_form">
                        <div class="weui-cell weui-cell_active weui-cell_select weui-cell_select-after">
                            <div class="weui-cell__hd"><label class="weui-label" for="import-kind">"数据类型"</label></div>
                            <div class="weui-cell__bd">
                                <select id="import-kind" class="weui-select" name="kind" required=true>
                                    {IMPORT_KINDS.iter().map(|(code, label)| view! { <option value=*code>{*label}</option> }).collect_view()}
                                </select>
                            </div>
                        </div>
                        <div class="weui-cell weui-cell_active">
                            <div class="weui-cell__hd"><label class="weui-label" for="import-file">"文件"</label></div>
                            <div class="weui-cell__bd"><input id="import-file" type="file" name="file" accept=".csv,text/csv" required=true/></div>
                        </div>
                    </div>
                    <button type="submit" class="weui-btn weui-btn_primary">"上传并导入"</button>
                </form>
            </ConsoleScreen>
        }
    })
}

/// `/console/export`: 数据导出, one plain POST form per file, so the file downloads with or without JavaScript; a
/// POST, since each download moves the watermark.
#[component]
pub fn ConsoleExportPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| console_export_page());
    loaded(page, |data: ExportPageData| {
        view! {
            <ConsoleScreen title="数据导出" staff=data.staff>
                <FlashMessage flash=data.flash/>
                <p class="screen__lead">"导出本应用内产生、尚未导出的记录（UTF-8 CSV，格式见说明文档）。再次导出只包含新的记录；填写起始时间可重新导出自该时间起的全部记录。每次导出均记入审计日志。"</p>
                {data.kinds.into_iter().map(|kind| {
                    let last = if kind.last.is_empty() { "尚未导出".to_string() } else { format!("上次导出：{}", kind.last) };
                    let since_id = format!("since-{}", kind.code);
                    view! {
                        <form method="post" action="/console/export/download" class="export-form">
                            <input type="hidden" name="kind" value=kind.code.clone()/>
                            <div class="weui-cells__title">{kind.label}</div>
                            <div class="weui-cells weui-cells_form">
                                <div class="weui-cell"><div class="weui-cell__bd"><p class="export-form__last">{last}</p></div></div>
                                <div class="weui-cell weui-cell_active">
                                    <div class="weui-cell__hd"><label class="weui-label" for=since_id.clone()>"起始时间（可选）"</label></div>
                                    <div class="weui-cell__bd"><input id=since_id class="weui-input" type="datetime-local" name="since"/></div>
                                </div>
                            </div>
                            <button type="submit" class="weui-btn weui-btn_primary" data-kind=kind.code>"导出CSV"</button>
                        </form>
                    }
                }).collect_view()}
            </ConsoleScreen>
        }
    })
}

/// `/console/audit`: 审计日志, searched by a GET form; nothing here changes a row.
#[component]
pub fn ConsoleAuditPage() -> impl IntoView {
    let params = use_query_map();
    let query = move || {
        let map = params.read();
        let get = |name: &str| map.get(name).unwrap_or_default();
        AuditQuery {
            actor: get("actor"),
            action: get("action"),
            subject: get("subject"),
            from: get("from"),
            to: get("to"),
        }
    };
    let page = Resource::new(query, console_audit);
    loaded(page, move |data: AuditPageData| {
        let q = query();
        view! {
            <ConsoleScreen title="审计日志" staff=data.staff>
                <form method="get" action="/console/audit" class="console-filters">
                    <label>"操作人"<input name="actor" value=q.actor/></label>
                    <label>"操作"<input name="action" value=q.action placeholder="如 import、payment、card"/></label>
                    <label>"对象"<input name="subject" value=q.subject/></label>
                    <label>"开始日期"<input type="date" name="from" value=q.from/></label>
                    <label>"结束日期"<input type="date" name="to" value=q.to/></label>
                    <button type="submit" class="weui-btn weui-btn_mini weui-btn_primary">"查询"</button>
                </form>
                {data.error.map(|e| view! { <p class="flash flash_error" role="alert">{e}</p> })}
                {data.truncated.then(|| view! { <p class="flash flash_notice">"仅显示最新200条，请缩小查询范围"</p> })}
                <div class="table-scroll">
                    <table class="console-table">
                        <thead><tr><th>"时间"</th><th>"操作人"</th><th>"渠道"</th><th>"操作"</th><th>"对象"</th><th>"详情"</th></tr></thead>
                        <tbody>
                            {data.entries.into_iter().map(|e| view! {
                                <tr><td>{e.at}</td><td>{e.actor}</td><td>{e.channel}</td><td>{e.action}</td><td>{e.subject}</td><td>{e.detail}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </ConsoleScreen>
        }
    })
}

//! Console server functions: sign-in and the home screen. Each area's functions live beside its screens.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::console::auth::StaffCaller;

use super::model::{AuditPageData, AuditQuery, ExportPageData, ImportPageData, LoginPageData, StaffView};
use crate::error::AppError;

/// `/console/login`: who is signed in, and a failed attempt's message.
#[server(prefix = "/api", endpoint = "console_login_page")]
pub async fn console_login_page(failed: bool) -> Result<LoginPageData, AppError> {
    use crate::identity::model::Flash;
    let state = use_context::<crate::platform::state::AppState>().ok_or(AppError::Unavailable)?;
    let parts = use_context::<axum::http::request::Parts>().ok_or(AppError::Unavailable)?;
    let signed_in = super::auth::request_staff(&state, &parts.headers).await?.map(|s| s.view());
    let error = failed.then(|| "用户名或密码不正确，或尝试次数过多，请稍后再试".to_string());
    Ok(LoginPageData { signed_in, flash: Flash { error, ..Flash::default() } })
}

/// 登录: checks the password and starts a staff session. Every attempt is counted before the password is checked,
/// so concurrent guesses cannot slip past the limits: 10 failures per name and 30 per client address in 15 minutes.
#[server(prefix = "/api", endpoint = "staff_login")]
pub async fn staff_login(username: String, password: String) -> Result<(), AppError> {
    use super::auth::{LoginLimit, MAX_PASSWORD_BYTES, MAX_USERNAME_BYTES};
    let state = use_context::<crate::platform::state::AppState>().ok_or(AppError::Unavailable)?;
    let username = username.trim();
    let refuse = || {
        leptos_axum::redirect("/console/login?failed=1");
        Ok(())
    };
    // Over-long input never reaches a rate-limit key, a log line or argon2.
    if username.len() > MAX_USERNAME_BYTES || password.len() > MAX_PASSWORD_BYTES {
        tracing::warn!(username_bytes = username.len(), "console sign-in refused: over-long input");
        return refuse();
    }
    let client = crate::platform::http::client_key();
    let limit = LoginLimit::count_attempt(&state.db, username, &client).await?;
    if !limit.allowed() {
        // What was typed as a user name stays out of the log: it can be a person's name, or a password typed in
        // the wrong field; the rate-limit rows keep the counts per name.
        tracing::warn!("console sign-in refused: too many attempts");
        return refuse();
    }
    let Some((staff_id, _)) = super::auth::check_password(&state.db, username, &password).await? else {
        tracing::warn!("console sign-in refused");
        return refuse();
    };
    limit.forgive(&state.db).await?;
    let cookie = super::auth::create_session(&state, staff_id).await?;
    crate::platform::http::set_response_cookie(&cookie);
    leptos_axum::redirect("/console");
    Ok(())
}

/// 退出登录.
#[server(prefix = "/api", endpoint = "staff_logout")]
pub async fn staff_logout() -> Result<(), AppError> {
    use super::model::Role;
    let StaffCaller { state, staff } = super::auth::staff_caller(&Role::ALL).await?;
    let cookie = super::auth::end_session(&state, &staff).await?;
    crate::platform::http::set_response_cookie(&cookie);
    leptos_axum::redirect(super::auth::LOGIN_PAGE);
    Ok(())
}

/// `/console`: the signed-in staff member, whose role decides the menu.
#[server(prefix = "/api", endpoint = "console_home")]
pub async fn console_home() -> Result<StaffView, AppError> {
    use super::model::Role;
    let StaffCaller { staff, .. } = super::auth::staff_caller(&Role::ALL).await?;
    Ok(staff.view())
}

/// `/console/import`: the upload form for police operators, with the last upload's outcome.
#[server(prefix = "/api", endpoint = "console_import_page")]
pub async fn console_import_page() -> Result<ImportPageData, AppError> {
    use super::model::Role;
    let StaffCaller { state, staff } = super::auth::staff_caller(&[Role::Police]).await?;
    let running = super::repo::running_import(&state.db, staff.session_key(), crate::platform::now()).await?;
    // A running import stores its outcome before it is marked finished, so the page that stops refreshing has it.
    let flash = super::auth::take_flash(&state, &staff, super::upload::PATH).await?;
    Ok(ImportPageData { staff: staff.view(), flash, running: running.map(|(_, progress)| progress) })
}

/// `/console/export`: 数据导出 for police operators (decisions) and bank operators (payments, unbindings, cards),
/// with the last run of each and the last download's error, if any.
#[server(prefix = "/api", endpoint = "console_export_page")]
pub async fn console_export_page() -> Result<ExportPageData, AppError> {
    use super::model::{ExportKindView, Role};
    let StaffCaller { state, staff } = super::auth::staff_caller(&[Role::Police, Role::Bank]).await?;
    let flash = super::auth::take_flash(&state, &staff, super::export::PATH).await?;
    let mut kinds = Vec::new();
    for kind in super::export::kinds_for(staff.role) {
        let last = crate::export::watermark(&state.db, kind)
            .await?
            .map_or(String::new(), |(run, at)| format!("第{run}次，{}", crate::platform::shanghai_time(at)));
        kinds.push(ExportKindView { code: kind.name().into(), label: super::export::label(kind).into(), last });
    }
    Ok(ExportPageData { staff: staff.view(), flash, kinds })
}

/// The most rows one audit search shows.
pub const AUDIT_PAGE: usize = 200;

/// `/console/audit`: searches the append-only audit log, newest first; auditors only.
#[server(prefix = "/api", endpoint = "console_audit")]
pub async fn console_audit(query: AuditQuery) -> Result<AuditPageData, AppError> {
    use super::model::Role;
    use super::repo::{self, AuditFilter};
    use super::rules::{audit_range, contains_pattern};
    let StaffCaller { state, staff } = super::auth::staff_caller(&[Role::Auditor]).await?;
    let Some((from, to)) = audit_range(&query.from, &query.to) else {
        let error = Some("日期应为 YYYY-MM-DD 格式".to_string());
        return Ok(AuditPageData { staff: staff.view(), entries: Vec::new(), truncated: false, error });
    };
    let filter = AuditFilter {
        actor: contains_pattern(&query.actor),
        action: contains_pattern(&query.action),
        subject: contains_pattern(&query.subject),
        from,
        to,
    };
    let mut entries = repo::audit_entries(&state.db, &filter, AUDIT_PAGE + 1).await?;
    let truncated = entries.len() > AUDIT_PAGE;
    entries.truncate(AUDIT_PAGE);
    Ok(AuditPageData { staff: staff.view(), entries, truncated, error: None })
}

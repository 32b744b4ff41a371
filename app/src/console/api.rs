//! Console server functions: sign-in and the home screen. Each area's functions live beside its screens.

use leptos::prelude::*;

use super::model::{LoginPageData, StaffView};
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

/// 登录: checks the password (at most 10 tries per name per 15 minutes) and starts a staff session.
#[server(prefix = "/api", endpoint = "staff_login")]
pub async fn staff_login(username: String, password: String) -> Result<(), AppError> {
    use crate::platform::rate_limit;
    let state = use_context::<crate::platform::state::AppState>().ok_or(AppError::Unavailable)?;
    let username = username.trim().to_string();
    let allowed = rate_limit::allow(&state.db, &format!("staff-login:{username}"), 900, 10).await?;
    let found = if allowed { super::auth::check_password(&state.db, &username, &password).await? } else { None };
    let Some((staff_id, _)) = found else {
        tracing::warn!(username, "console sign-in refused");
        leptos_axum::redirect("/console/login?failed=1");
        return Ok(());
    };
    let cookie = super::auth::create_session(&state, staff_id).await?;
    crate::platform::http::set_response_cookie(&cookie);
    leptos_axum::redirect("/console");
    Ok(())
}

/// 退出登录.
#[server(prefix = "/api", endpoint = "staff_logout")]
pub async fn staff_logout() -> Result<(), AppError> {
    use super::model::Role;
    let (state, staff) = super::auth::staff_caller(&Role::ALL).await?;
    let cookie = super::auth::end_session(&state, &staff).await?;
    crate::platform::http::set_response_cookie(&cookie);
    leptos_axum::redirect("/console/login");
    Ok(())
}

/// `/console`: the signed-in staff member, whose role decides the menu.
#[server(prefix = "/api", endpoint = "console_home")]
pub async fn console_home() -> Result<StaffView, AppError> {
    use super::model::Role;
    let (_, staff) = super::auth::staff_caller(&Role::ALL).await?;
    Ok(staff.view())
}

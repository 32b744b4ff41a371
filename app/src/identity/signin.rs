//! Platform sign-in: the OAuth-style `/auth/callback` and the development sign-in route that plays the platform.
//! The outside system itself is `platform::platform_identity`.

use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::domain::Channel;
use crate::error::AppError;
use crate::identity::caller::request_session;
use crate::identity::repo as identity_repo;
use crate::identity::session;
use crate::platform::http::plain_error;
use crate::platform::platform_identity::SignInError;
use crate::platform::session::{cookie_value, random_token};
use crate::platform::state::AppState;

const STATE_COOKIE: &str = "dlt_oauth_state";

/// The sign-in routes: the platform's callback, and development sign-in when it is switched on.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new().route("/auth/callback", get(callback));
    if state.dev_identity.is_some() {
        router = router.route("/auth/dev/login", get(dev_login));
    }
    router
}

#[derive(Deserialize)]
struct DevLogin {
    channel: Option<String>,
    uid: Option<String>,
}

/// `GET /auth/dev/login?channel=wechat|icbc&uid=ANY`: plays the platform's authorisation page.
async fn dev_login(State(state): State<AppState>, Query(q): Query<DevLogin>) -> Response {
    let Some(dev) = state.dev_identity.as_ref() else {
        return plain_error(StatusCode::NOT_FOUND, "未开启开发登录");
    };
    let Some(channel) = q.channel.as_deref().and_then(Channel::parse) else {
        return plain_error(StatusCode::BAD_REQUEST, "channel 参数应为 wechat 或 icbc");
    };
    let uid = q.uid.unwrap_or_default();
    if uid.trim().is_empty() || uid.len() > 128 {
        return plain_error(StatusCode::BAD_REQUEST, "uid 参数不能为空且不超过128个字符");
    }
    let code = dev.mint_code(channel, uid.trim(), crate::platform::now());
    let oauth_state = random_token();
    let location = format!("/auth/callback?channel={}&code={}&state={oauth_state}", channel.code(), code);
    let mut response = (StatusCode::FOUND, [(LOCATION, location)]).into_response();
    let cookie = format!(
        "{STATE_COOKIE}={oauth_state}; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=300{}",
        if state.config.secure_cookies() { "; Secure" } else { "" }
    );
    response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii cookie"));
    response
}

#[derive(Deserialize)]
struct Callback {
    channel: Option<String>,
    code: Option<String>,
    state: Option<String>,
}

/// `GET /auth/callback`: the platform's redirect back, as with WeChat OAuth's `redirect_uri`.
async fn callback(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Callback>) -> Response {
    let expected_state = cookie_value(&headers, STATE_COOKIE);
    let (Some(channel), Some(code)) = (q.channel.as_deref().and_then(Channel::parse), q.code.as_deref()) else {
        return plain_error(StatusCode::BAD_REQUEST, "登录参数不完整，请重新进入");
    };
    if expected_state.is_none() || expected_state != q.state.as_deref() {
        return plain_error(StatusCode::BAD_REQUEST, "登录已失效，请重新进入");
    }
    let user = match state.identity.exchange(channel, code).await {
        Ok(user) => user,
        Err(e @ SignInError::NotConfigured) => {
            tracing::warn!(channel = channel.code(), "sign-in callback with no sign-in provider configured");
            return plain_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
        }
        Err(e) => return plain_error(StatusCode::UNAUTHORIZED, &e.to_string()),
    };
    let signed_in = async {
        if let Some(old) = request_session(&state, &headers).await? {
            session::delete(&state.db, &old).await?;
        }
        let account_id = identity_repo::sign_in(&state.db, &user).await?;
        session::create(&state.db, Some(account_id), channel, state.config.session_hours).await
    };
    let token = match signed_in.await {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            return plain_error(StatusCode::SERVICE_UNAVAILABLE, &AppError::Unavailable.to_string());
        }
    };
    let secure = state.config.secure_cookies();
    let mut response = (StatusCode::FOUND, [(LOCATION, "/")]).into_response();
    let cookie = session::cookie(&state.signer, &token, state.config.session_hours, secure);
    response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii cookie"));
    let clear_state = format!("{STATE_COOKIE}=; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=0");
    response.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&clear_state).expect("ascii cookie"));
    response
}

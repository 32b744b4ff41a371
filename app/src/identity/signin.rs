//! Platform sign-in: `/auth/wechat` (公众号网页授权), the OAuth-style `/auth/callback`, and the development sign-in
//! route that plays the platform. The outside systems themselves are `platform::platform_identity`'s providers.

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
use crate::identity::model::WECHAT_SIGN_IN;
use crate::identity::repo::{self as identity_repo, SignInVia, SIGN_IN_STATE_TTL_SECS};
use crate::identity::session;
use crate::platform::edge::refusal_page;
use crate::platform::http::plain_error;
use crate::platform::platform_identity::{PlatformIdentity, SignInError};
use crate::platform::session::{cookie_value, random_token};
use crate::platform::state::AppState;

const STATE_COOKIE: &str = "dlt_oauth_state";

/// The uid development sign-in uses when `/auth/wechat` plays WeChat without one given.
const DEV_WECHAT_UID: &str = "dev-wechat";

/// The sign-in routes: WeChat's start, the platform's callback, and development sign-in when it is switched on.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new().route(WECHAT_SIGN_IN, get(wechat)).route("/auth/callback", get(callback));
    if state.dev_identity.is_some() {
        router = router.route("/auth/dev/login", get(dev_login));
    }
    router
}

/// The cookie that binds a sign-in's `state` to the browser that started it.
fn state_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let cookie = format!(
        "{STATE_COOKIE}={value}; Path=/auth; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if state.config.secure_cookies() { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&cookie).expect("ascii cookie")
}

/// Starts a sign-in on `channel` through `via`: its fresh `state` recorded and set in the cookie, then the
/// browser sent to `location` (which carries the state).
async fn start(state: &AppState, channel: Channel, via: SignInVia, oauth_state: &str, location: String) -> Response {
    if let Err(e) = identity_repo::start_sign_in(&state.db, oauth_state, channel, via).await {
        tracing::error!(error = %e, "sign-in could not be started");
        return plain_error(StatusCode::SERVICE_UNAVAILABLE, &AppError::Unavailable.to_string());
    }
    let mut response = (StatusCode::FOUND, [(LOCATION, location)]).into_response();
    response.headers_mut().append(SET_COOKIE, state_cookie(state, oauth_state, SIGN_IN_STATE_TTL_SECS));
    response
}

#[derive(Deserialize)]
struct WechatStart {
    uid: Option<String>,
}

/// `GET /auth/wechat`: to WeChat's authorisation page, which comes back to `/auth/callback?channel=wechat`. Without
/// a WeChat provider, development sign-in plays WeChat (as `uid`, or a fixed development user).
async fn wechat(State(state): State<AppState>, Query(q): Query<WechatStart>) -> Response {
    let redirect_uri = format!("{}/auth/callback?channel=wechat", state.config.base_url);
    let oauth_state = random_token();
    if let Some(location) = state.identities.get(Channel::Wechat).authorize_url(&redirect_uri, &oauth_state) {
        return start(&state, Channel::Wechat, SignInVia::Platform, &oauth_state, location).await;
    }
    if state.dev_identity.is_some() {
        let uid = q.uid.filter(|u| !u.trim().is_empty()).unwrap_or_else(|| DEV_WECHAT_UID.into());
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("channel", "wechat")
            .append_pair("uid", &uid)
            .finish();
        return (StatusCode::FOUND, [(LOCATION, format!("/auth/dev/login?{query}"))]).into_response();
    }
    tracing::warn!("WeChat sign-in asked for, but no WeChat provider is configured");
    plain_error(StatusCode::SERVICE_UNAVAILABLE, &SignInError::NotConfigured.to_string())
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
    let location = format!("/auth/callback?channel={}&code={code}&state={oauth_state}", channel.code());
    start(&state, channel, SignInVia::Dev, &oauth_state, location).await
}

#[derive(Deserialize)]
struct Callback {
    channel: Option<String>,
    code: Option<String>,
    state: Option<String>,
}

/// The HTTP status of a refused sign-in: the user's stale code is theirs to retry (401), the platform's trouble
/// and our settings are faults upstream (502, 503).
fn refusal_status(error: &SignInError) -> StatusCode {
    match error {
        SignInError::InvalidCode | SignInError::CodeUsed => StatusCode::UNAUTHORIZED,
        SignInError::SnapshotPage => StatusCode::FORBIDDEN,
        SignInError::NotConfigured | SignInError::Busy | SignInError::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
        SignInError::Misconfigured | SignInError::Refused => StatusCode::BAD_GATEWAY,
    }
}

/// `GET /auth/callback`: the platform's redirect back, as with WeChat OAuth's `redirect_uri`. The `state` must be
/// the one this browser's cookie holds and one we issued and nobody has used; it is used up here, whatever follows.
async fn callback(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Callback>) -> Response {
    let mut response = finish(&state, &headers, q).await;
    response.headers_mut().append(SET_COOKIE, state_cookie(&state, "", 0));
    response
}

async fn finish(state: &AppState, headers: &HeaderMap, q: Callback) -> Response {
    let expected_state = cookie_value(headers, STATE_COOKIE);
    let (Some(channel), Some(code)) = (q.channel.as_deref().and_then(Channel::parse), q.code.as_deref()) else {
        return plain_error(StatusCode::BAD_REQUEST, "登录参数不完整，请重新进入");
    };
    let Some(oauth_state) = q.state.as_deref().filter(|s| !s.is_empty() && Some(*s) == expected_state) else {
        tracing::info!(channel = channel.code(), "sign-in callback refused: its state is not this browser's");
        return plain_error(StatusCode::BAD_REQUEST, "登录已失效，请重新进入");
    };
    let via = match identity_repo::finish_sign_in(&state.db, oauth_state, channel).await {
        Ok(Some(via)) => via,
        Ok(None) => {
            tracing::info!(channel = channel.code(), "sign-in callback refused: its state is used, expired or unknown");
            return plain_error(StatusCode::BAD_REQUEST, "登录已失效，请重新进入");
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in state could not be checked");
            return plain_error(StatusCode::SERVICE_UNAVAILABLE, &AppError::Unavailable.to_string());
        }
    };
    let provider: &dyn PlatformIdentity = match (via, state.dev_identity.as_deref()) {
        (SignInVia::Dev, Some(dev)) => dev,
        (SignInVia::Dev, None) => return plain_error(StatusCode::NOT_FOUND, "未开启开发登录"),
        (SignInVia::Platform, _) => state.identities.get(channel).as_ref(),
    };
    let user = match provider.exchange(channel, code).await {
        Ok(user) => user,
        Err(e) => {
            if e == SignInError::NotConfigured {
                tracing::warn!(channel = channel.code(), "sign-in callback with no sign-in provider configured");
            }
            let (again, label) = match (channel, via) {
                (Channel::Wechat, SignInVia::Platform) => (WECHAT_SIGN_IN, "重新进入"),
                _ => ("/", "返回首页"),
            };
            return refusal_page(refusal_status(&e), &e.to_string(), again, label);
        }
    };
    let signed_in = async {
        if let Some(old) = request_session(state, headers).await? {
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
    response
}

//! Plain HTTP routes beside the Leptos pages: platform sign-in, the development SMS outbox, and the
//! request guards every route shares.

use axum::extract::{Query, Request, State};
use axum::http::header::{HOST, LOCATION, ORIGIN, REFERER, SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::platform_identity::SignInError;
use super::session::{self, cookie_value, Session};
use super::state::AppState;
use crate::domain::Mobile;
use crate::error::AppError;
use crate::identity::model::Channel;
use crate::identity::repo as identity_repo;

const STATE_COOKIE: &str = "dlt_oauth_state";
/// The gateway's server-to-server notification: authenticated by its signature, not by Origin.
pub const NOTIFY_PATH: &str = "/pay/notify";

/// The sign-in and development routes.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new()
        .route("/auth/callback", get(callback))
        .route("/evidence/{record_no}", get(crate::violations::evidence::evidence_photo))
        .route(
            crate::console::upload::UPLOAD_PATH,
            axum::routing::post(crate::console::upload::upload)
                .layer(axum::extract::DefaultBodyLimit::max(crate::console::upload::MAX_BYTES)),
        )
        .route(NOTIFY_PATH, axum::routing::post(crate::payments::notify::payment_notify))
        .route("/console/payments.csv", get(crate::payments::console::export::payments_csv));
    if state.dev_identity.is_some() {
        router = router.route("/auth/dev/login", get(dev_login));
    }
    if state.config.sms_provider == super::config::SmsProvider::DevOutbox {
        router = router.route("/dev/sms", get(dev_sms));
    }
    router
}

fn plain_error(status: StatusCode, message: &str) -> Response {
    super::edge::refusal_page(status, message, "/", "返回首页")
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
    let code = dev.mint_code(channel, uid.trim(), super::now());
    let oauth_state = session::random_token();
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

#[derive(Deserialize)]
struct DevSms {
    phone: Option<String>,
}

/// `GET /dev/sms?phone=NUMBER`: the development outbox for one phone, newest first.
async fn dev_sms(State(state): State<AppState>, Query(q): Query<DevSms>) -> Response {
    let Some(phone) = q.phone.as_deref().and_then(|p| Mobile::parse(p).ok()) else {
        return plain_error(StatusCode::BAD_REQUEST, "请提供正确的手机号：/dev/sms?phone=13800000000");
    };
    match super::sms::outbox(&state.db, &phone).await {
        Ok(messages) => {
            // Bodies carry what users typed elsewhere (names in a card application's message, say): escaped.
            let items: String = messages
                .iter()
                .map(|m| format!("<li data-sent-at=\"{}\">{}</li>", m.sent_at, escape_html(&m.body)))
                .collect();
            Html(format!(
                "<!doctype html><meta charset=utf-8><title>开发短信收件箱</title><h1>{}</h1><ol id=\"sms\">{items}</ol>",
                escape_html(phone.as_str())
            ))
            .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox failed");
            plain_error(StatusCode::SERVICE_UNAVAILABLE, &AppError::Unavailable.to_string())
        }
    }
}

/// Text made safe to place in HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The session a request's cookie names, if it is signed and live.
pub async fn request_session(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, sqlx::Error> {
    match request_token(state, headers) {
        Some(token) => session::load(&state.db, &token).await,
        None => Ok(None),
    }
}

/// The session token in a request's cookies, if its signature holds (it may still be expired or unknown).
fn request_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    session::DRIVERS.token(&state.signer, headers).map(String::from)
}

/// Refuses state-changing requests whose `Origin` (or, failing that, `Referer`) is not this site.
pub async fn same_origin_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || request.uri().path() == NOTIFY_PATH
    {
        return next.run(request).await;
    }
    if is_same_origin(request.headers(), state.config.public_origin.as_deref()) {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        plain_error(StatusCode::FORBIDDEN, "请求来源无效，请从本站页面提交")
    }
}

/// Whether a request comes from a page of this site, by `Origin` or else `Referer`: the same scheme and host as
/// `PUBLIC_ORIGIN`, or without it plain `http://` and the request's `Host` (the app itself serves no TLS).
pub fn is_same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let source = headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| *v != "null")
        .or_else(|| headers.get(REFERER).and_then(|v| v.to_str().ok()));
    let Some((source_scheme, rest)) = source.and_then(|s| s.split_once("://")) else {
        return false;
    };
    let source_host = rest.split(['/', '?', '#']).next().unwrap_or("");
    match public_origin {
        Some(origin) => {
            let origin = origin.trim_end_matches('/');
            origin.split_once("://").is_some_and(|(scheme, host)| {
                scheme.eq_ignore_ascii_case(source_scheme) && host.eq_ignore_ascii_case(source_host)
            })
        }
        None => {
            source_scheme.eq_ignore_ascii_case("http")
                && headers.get(HOST).and_then(|v| v.to_str().ok()) == Some(source_host)
        }
    }
}

/// Inside a server function: the state and the caller's session, if any.
pub async fn caller() -> Result<(AppState, Option<Session>), AppError> {
    let state = leptos::prelude::use_context::<AppState>().ok_or(AppError::Unavailable)?;
    let session = match context_token(&state)? {
        Some(token) => session::load(&state.db, &token).await?,
        None => None,
    };
    Ok((state, session))
}

/// Inside a server function: the session token in the request's cookies, read where the request's parts are kept
/// (`use_context` would clone them, headers and all, on every page).
fn context_token(state: &AppState) -> Result<Option<String>, AppError> {
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| request_token(state, &parts.headers))
        .ok_or(AppError::Unavailable)
}

/// Inside a server function: the caller's session, starting a guest session (no account) when there is none, so a
/// guest's form can leave its message and typed values for the next page like a signed-in user's.
pub async fn caller_or_guest() -> Result<(AppState, Session), AppError> {
    let (state, session) = caller().await?;
    if let Some(session) = session {
        return Ok((state, session));
    }
    let user_agent = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(axum::http::header::USER_AGENT)?.to_str().ok().map(String::from))
        .unwrap_or_default();
    let hours = state.config.session_hours;
    let token = session::create(&state.db, None, Channel::from_user_agent(&user_agent), hours).await?;
    set_response_cookie(&session::cookie(&state.signer, &token, hours, state.config.secure_cookies()));
    let session = session::load(&state.db, &token).await?.ok_or(AppError::Unavailable)?;
    Ok((state, session))
}

/// Inside a server function: the state and the signed-in caller's session and account id.
pub async fn signed_in_caller() -> Result<(AppState, Session, i64), AppError> {
    let (state, session) = caller().await?;
    let (session, account_id) = signed_in(session)?;
    Ok((state, session, account_id))
}

/// Inside a server function: the signed-in caller and the person their account is linked to by 实名认证.
pub async fn linked_caller() -> Result<(AppState, Session, i64, crate::identity::repo::Link), AppError> {
    let (state, session) = caller().await?;
    let (session, account_id, link) = linked(session)?;
    Ok((state, session, account_id, link))
}

/// The session and its account, or `NotSignedIn` when there is no session or it belongs to a guest.
fn signed_in(session: Option<Session>) -> Result<(Session, i64), AppError> {
    let session = session.ok_or(AppError::NotSignedIn)?;
    let account_id = session.account_id.ok_or(AppError::NotSignedIn)?;
    Ok((session, account_id))
}

/// The session's account and 实名认证 link, or why the caller may not go on: not signed in, not authenticated, or
/// linked to a card that no longer holds.
fn linked(session: Option<Session>) -> Result<(Session, i64, crate::identity::repo::Link), AppError> {
    let (session, account_id) = signed_in(session)?;
    let refusal = if session.link_lapsed { AppError::RealNameLapsed } else { AppError::NotAuthenticated };
    let link = session.link.clone().ok_or(refusal)?;
    Ok((session, account_id, link))
}

/// A page's statement with the session's parameters bound, for `linked_caller_with_rows` to bind the page's own.
pub type PageQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// Inside a server function: the linked caller as `linked_caller` finds them, and a page's rows, in one statement.
/// `page_sql` gives the statement (a `session::PageSql`), which scopes its rows through the session (`me`); `bind`
/// binds its own parameters, `$3` on. Each row ends with the session's columns; the page's own come first.
pub async fn linked_caller_with_rows(
    page_sql: impl FnOnce(super::db::Backend) -> &'static str,
    bind: impl FnOnce(PageQuery) -> PageQuery,
) -> Result<(AppState, Session, i64, crate::identity::repo::Link, Vec<sqlx::any::AnyRow>), AppError> {
    let state = leptos::prelude::use_context::<AppState>().ok_or(AppError::Unavailable)?;
    let token = context_token(&state)?.ok_or(AppError::NotSignedIn)?;
    let sql = page_sql(state.db.backend());
    let query = sqlx::query(sql).bind(session::hash_token(&token)).bind(super::now());
    let rows = state.db.fetch_all(bind(query)).await?;
    let session =
        rows.first().and_then(|row| session::from_row(row, sqlx::Row::len(row).checked_sub(session::SESSION_COLUMNS)?));
    let (session, account_id, link) = linked(session)?;
    Ok((state, session, account_id, link, rows))
}

/// Inside a server function: leaves a one-time message for the page at `url` and sends the browser there.
pub async fn flash_and_redirect(
    state: &AppState,
    session: &Session,
    flash: &crate::identity::model::Flash,
    url: &str,
) -> Result<(), AppError> {
    let page = url.split('?').next().unwrap_or(url);
    super::session::set_flash(&state.db, session, page, flash).await?;
    leptos_axum::redirect(url);
    Ok(())
}

/// Inside a server function: the message left for `page`, if any.
pub async fn take_flash(
    state: &AppState,
    session: &Session,
    page: &str,
) -> Result<crate::identity::model::Flash, AppError> {
    Ok(super::session::take_flash(&state.db, session, page).await?)
}

/// Inside a server function: the channel a guest's webview implies (branding only; a session knows its own).
pub fn guest_channel() -> Channel {
    let user_agent = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(USER_AGENT)?.to_str().ok().map(String::from))
        .unwrap_or_default();
    Channel::from_user_agent(&user_agent)
}

/// Inside a server function: the key per-client limits count under — the client's address as `TRUSTED_PROXIES`
/// allow it to be known (see `client::client_address`), an IPv6 client's /64.
pub fn client_key() -> String {
    let Some(state) = leptos::prelude::use_context::<AppState>() else {
        return "unknown".into();
    };
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?.0.ip();
        let client = super::client::client_address(peer, &parts.headers, &state.config.trusted_proxies);
        Some(super::client::limit_key(client))
    })
    .flatten()
    .unwrap_or_else(|| "unknown".into())
}

/// Inside a server function: the value of the request's cookie `name`, if it sent one.
pub fn request_cookie(name: &str) -> Option<String> {
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
        cookie_value(&parts.headers, name).map(String::from)
    })
    .flatten()
}

/// Inside a server function: who is asking for a verification code, for the SMS limits.
pub fn sms_requester(session: &Session) -> super::sms::Requester {
    super::sms::Requester { client: client_key(), session: session.token_hash.clone() }
}

/// Inside a server function: replaces the session cookie on the response.
pub fn set_response_cookie(value: &str) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(SET_COOKIE, HeaderValue::from_str(value).expect("ascii cookie"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(axum::http::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn same_site_posts_pass_and_cross_site_ones_do_not() {
        let ok = headers(&[(HOST, "127.0.0.1:3000"), (ORIGIN, "http://127.0.0.1:3000")]);
        assert!(is_same_origin(&ok, None));
        let evil = headers(&[(HOST, "127.0.0.1:3000"), (ORIGIN, "http://evil.example")]);
        assert!(!is_same_origin(&evil, None));
        let referer_only = headers(&[(HOST, "127.0.0.1:3000"), (REFERER, "http://127.0.0.1:3000/realname")]);
        assert!(is_same_origin(&referer_only, None));
        let neither = headers(&[(HOST, "127.0.0.1:3000")]);
        assert!(!is_same_origin(&neither, None));
        let behind_proxy = headers(&[(HOST, "10.0.0.5:3000"), (ORIGIN, "https://jt.example.cn")]);
        assert!(is_same_origin(&behind_proxy, Some("https://jt.example.cn")));
        assert!(!is_same_origin(&behind_proxy, Some("https://other.example.cn")));
    }

    #[test]
    fn the_same_origin_check_compares_the_scheme_too() {
        // A page on plain http (a hostile Wi-Fi's injected form, say) is not the https site.
        let downgraded = headers(&[(HOST, "jt.example.cn"), (ORIGIN, "http://jt.example.cn")]);
        assert!(!is_same_origin(&downgraded, Some("https://jt.example.cn")));
        let tls = headers(&[(HOST, "127.0.0.1:3000"), (ORIGIN, "https://127.0.0.1:3000")]);
        assert!(!is_same_origin(&tls, None), "the app serves http itself");
        let referer = headers(&[(HOST, "jt.example.cn"), (REFERER, "http://jt.example.cn/realname")]);
        assert!(!is_same_origin(&referer, Some("https://jt.example.cn")));
        let query_host = headers(&[(HOST, "127.0.0.1:3000"), (REFERER, "http://127.0.0.1:3000?x=1")]);
        assert!(is_same_origin(&query_host, None));
    }
}

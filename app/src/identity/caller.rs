//! Who is asking, inside a server function or a plain route: the driver's session from the request's cookie and
//! the guards that turn it into a signed-in or 实名认证-linked caller, and the session's flash helpers.

use axum::http::header::USER_AGENT;
use axum::http::HeaderMap;

use crate::domain::{Channel, Flash};
use crate::error::AppError;
use crate::identity::repo::Link;
use crate::identity::session::{self, Session};
use crate::platform::http::{client_key, set_response_cookie};
use crate::platform::session::hash_token;
use crate::platform::state::AppState;

/// Who is asking: the state and the caller's session, if they have one.
pub struct Caller {
    pub state: AppState,
    pub session: Option<Session>,
}

/// A caller with a session, a guest's (no account) or a signed-in driver's.
pub struct Visitor {
    pub state: AppState,
    pub session: Session,
}

/// A signed-in driver: the state, their session and their account.
pub struct SignedIn {
    pub state: AppState,
    pub session: Session,
    pub account_id: i64,
}

/// A signed-in driver whose account is linked by 实名认证 to a person (and their card).
pub struct Linked {
    pub state: AppState,
    pub session: Session,
    pub account_id: i64,
    pub link: Link,
}

/// A linked driver and a page's rows, read in the same statement as their session.
pub struct LinkedPage {
    pub linked: Linked,
    pub rows: Vec<sqlx::any::AnyRow>,
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
    crate::identity::session::DRIVERS.token(&state.signer, headers).map(String::from)
}

/// Inside a server function: the state and the caller's session, if any.
pub async fn caller() -> Result<Caller, AppError> {
    let state = leptos::prelude::use_context::<AppState>().ok_or(AppError::Unavailable)?;
    let session = match context_token(&state)? {
        Some(token) => session::load(&state.db, &token).await?,
        None => None,
    };
    Ok(Caller { state, session })
}

/// Inside a server function: the session token in the request's cookies, read where the request's parts are kept
/// (`use_context` would clone them, headers and all, on every page).
fn context_token(state: &AppState) -> Result<Option<String>, AppError> {
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| request_token(state, &parts.headers))
        .ok_or(AppError::Unavailable)
}

/// Inside a server function: the caller's session, starting a guest session (no account) when there is none, so a
/// guest's form can leave its message and typed values for the next page like a signed-in user's.
pub async fn caller_or_guest() -> Result<Visitor, AppError> {
    let Caller { state, session } = caller().await?;
    if let Some(session) = session {
        return Ok(Visitor { state, session });
    }
    let user_agent = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(axum::http::header::USER_AGENT)?.to_str().ok().map(String::from))
        .unwrap_or_default();
    let hours = state.config.session_hours;
    let token = session::create(&state.db, None, Channel::from_user_agent(&user_agent), hours).await?;
    set_response_cookie(&session::cookie(&state.signer, &token, hours, state.config.secure_cookies()));
    let session = session::load(&state.db, &token).await?.ok_or(AppError::Unavailable)?;
    Ok(Visitor { state, session })
}

/// Inside a server function: the state and the signed-in caller's session and account id.
pub async fn signed_in_caller() -> Result<SignedIn, AppError> {
    let Caller { state, session } = caller().await?;
    let (session, account_id) = signed_in(session)?;
    Ok(SignedIn { state, session, account_id })
}

/// Inside a server function: the signed-in caller and the person their account is linked to by 实名认证.
pub async fn linked_caller() -> Result<Linked, AppError> {
    let Caller { state, session } = caller().await?;
    let (session, account_id, link) = linked(session)?;
    Ok(Linked { state, session, account_id, link })
}

/// The session and its account, or `NotSignedIn` when there is no session or it belongs to a guest.
fn signed_in(session: Option<Session>) -> Result<(Session, i64), AppError> {
    let session = session.ok_or(AppError::NotSignedIn)?;
    let account_id = session.account_id.ok_or(AppError::NotSignedIn)?;
    Ok((session, account_id))
}

/// The session's account and 实名认证 link, or why the caller may not go on: not signed in, not authenticated, or
/// linked to a card that no longer holds.
fn linked(session: Option<Session>) -> Result<(Session, i64, Link), AppError> {
    let (session, account_id) = signed_in(session)?;
    let refusal = if session.link_lapsed { AppError::RealNameLapsed } else { AppError::NotAuthenticated };
    let link = session.link.clone().ok_or(refusal)?;
    Ok((session, account_id, link))
}

/// A page's statement with the session's parameters bound, for `linked_caller_with_rows` to bind the page's own.
pub type PageQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// Inside a server function: the linked caller as `linked_caller` finds them, and a page's rows, in one statement.
/// `page_sql` gives the statement (a `session::PageSql`), which scopes its rows through the session (`me`); `bind`
/// binds its own parameters, `$3` on. Each row carries the session's columns (`s_…`) beside the page's own.
pub async fn linked_caller_with_rows(
    page_sql: impl FnOnce(crate::platform::db::Backend) -> &'static str,
    bind: impl FnOnce(PageQuery) -> PageQuery,
) -> Result<LinkedPage, AppError> {
    let state = leptos::prelude::use_context::<AppState>().ok_or(AppError::Unavailable)?;
    let token = context_token(&state)?.ok_or(AppError::NotSignedIn)?;
    let sql = page_sql(state.db.backend());
    let query = sqlx::query(sql).bind(hash_token(&token)).bind(crate::platform::now());
    let rows = state.db.fetch_all(bind(query)).await?;
    let session = rows.first().and_then(session::from_row);
    let (session, account_id, link) = linked(session)?;
    Ok(LinkedPage { linked: Linked { state, session, account_id, link }, rows })
}

/// Inside a server function: leaves a one-time message for the page at `url` and sends the browser there.
pub async fn flash_and_redirect(state: &AppState, session: &Session, flash: &Flash, url: &str) -> Result<(), AppError> {
    let page = url.split('?').next().unwrap_or(url);
    session::set_flash(&state.db, session, page, flash).await?;
    leptos_axum::redirect(url);
    Ok(())
}

/// Inside a server function: the message left for `page`, if any.
pub async fn take_flash(state: &AppState, session: &Session, page: &str) -> Result<Flash, AppError> {
    Ok(session::take_flash(&state.db, session, page).await?)
}

/// Inside a server function: the channel a guest's webview implies (branding only; a session knows its own).
pub fn guest_channel() -> Channel {
    let user_agent = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(USER_AGENT)?.to_str().ok().map(String::from))
        .unwrap_or_default();
    Channel::from_user_agent(&user_agent)
}

/// Inside a server function: who is asking for a verification code, for the SMS limits.
pub fn sms_requester(session: &Session) -> crate::platform::sms::Requester {
    crate::platform::sms::Requester { client: client_key(), session: session.token_hash.clone() }
}

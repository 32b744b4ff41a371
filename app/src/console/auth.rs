//! Staff accounts and their sessions, separate from drivers': argon2 password hashes, a cookie of their own, and
//! the role check every console server function starts with.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;

use super::model::{Role, StaffView};
use super::{repo, rules};
use crate::error::AppError;
use crate::identity::model::Flash;
use crate::platform::audit::{self, Actor};
use crate::platform::db::Db;
use crate::platform::session::{hash_token, random_token, SessionStore};
use crate::platform::state::AppState;
use crate::platform::{now, rate_limit};

/// The staff cookie's name; drivers' `dlt_session` never opens the console.
pub const COOKIE: &str = STAFF.cookie;

/// Staff sessions: a cookie of their own, which no link from another site carries.
pub const STAFF: SessionStore = SessionStore::new("staff_sessions", "dlt_staff", "Strict");
/// The console's sign-in page.
pub const LOGIN_PAGE: &str = crate::error::STAFF_LOGIN_PAGE;
/// Staff sessions last one working day.
const SESSION_HOURS: i64 = 10;

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub role: Role,
    token_hash: String,
    /// The pending flash as stored: `[page, flash]` JSON.
    flash: Option<String>,
}

impl Staff {
    /// Who made a change, for the audit log.
    pub fn actor(&self) -> Actor<'_> {
        Actor::Staff { username: &self.username, role: self.role.code() }
    }

    /// The session's key (its token's hash), which a running console import is kept under.
    pub fn session_key(&self) -> &str {
        &self.token_hash
    }

    /// The staff member as the screen shows them.
    pub fn view(&self) -> StaffView {
        StaffView { username: self.username.clone(), role: self.role }
    }
}

/// Why `server staff add` refused.
#[derive(Debug, thiserror::Error)]
pub enum AddStaffError {
    #[error("username must be 3 to 32 letters, digits, '.', '-' or '_'")]
    Username,
    #[error("password must be at least 12 characters")]
    Password,
    #[error("a staff account named {0} already exists")]
    Exists(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any password").to_string()
}

/// Creates a staff account (the command line's `server staff add`), audited as done by `operator`.
pub async fn add_staff(
    db: &Db,
    username: &str,
    role: Role,
    password: &str,
    operator: &str,
) -> Result<(), AddStaffError> {
    if !rules::valid_username(username) {
        return Err(AddStaffError::Username);
    }
    if !rules::valid_password(password) {
        return Err(AddStaffError::Password);
    }
    let mut tx = db.begin_write().await?;
    if !repo::insert_staff(&mut tx, username, role.code(), &hash_password(password), now()).await? {
        return Err(AddStaffError::Exists(username.into()));
    }
    audit::record(&mut tx, Actor::Operator(operator), "staff.add", username, role.code()).await?;
    tx.commit().await?;
    Ok(())
}

/// The longest username the sign-in form takes: names are at most 32 characters, so anything longer is refused
/// before it reaches a key or a log line.
pub const MAX_USERNAME_BYTES: usize = 64;
/// The longest password argon2 is asked to hash; longer ones are refused before any work is done.
pub const MAX_PASSWORD_BYTES: usize = 256;
/// Failed attempts a name survives in a window.
const FAILURES_PER_NAME: i64 = 10;
/// Failed attempts one client address survives in a window, whatever names it tries.
const FAILURES_PER_CLIENT: i64 = 30;
const LOGIN_WINDOW_SECS: i64 = 900;

/// A sign-in attempt counted against its name and its client before the password is checked.
pub struct LoginLimit {
    name_bucket: String,
    client_bucket: String,
    allowed: bool,
}

impl LoginLimit {
    /// Counts the attempt in one statement per bucket, so parallel attempts each see the ones before them.
    pub async fn count_attempt(db: &Db, username: &str, client: &str) -> Result<Self, sqlx::Error> {
        let name_bucket = format!("staff-login:{username}");
        let client_bucket = format!("staff-login-client:{client}");
        let name_ok = rate_limit::allow(db, &name_bucket, LOGIN_WINDOW_SECS, FAILURES_PER_NAME).await?;
        let client_ok = rate_limit::allow(db, &client_bucket, LOGIN_WINDOW_SECS, FAILURES_PER_CLIENT).await?;
        Ok(Self { name_bucket, client_bucket, allowed: name_ok && client_ok })
    }

    /// Whether the password may be checked at all.
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// A successful sign-in takes its attempt back: only failures count.
    pub async fn forgive(self, db: &Db) -> Result<(), sqlx::Error> {
        rate_limit::take_back(db, &self.name_bucket, LOGIN_WINDOW_SECS).await?;
        rate_limit::take_back(db, &self.client_bucket, LOGIN_WINDOW_SECS).await
    }
}

/// Password checks at once: argon2 takes about 19 MiB and a core's time, so a flood of sign-ins waits here instead of
/// starving the pages of their threads and the machine of its memory.
static ARGON2_PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs argon2's verification on the blocking pool, at most `ARGON2_PERMITS` at once.
async fn verify_password(hash: String, password: String) -> Result<bool, sqlx::Error> {
    let _permit = ARGON2_PERMITS.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?;
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| sqlx::Error::Protocol(format!("password check failed: {e}")))
}

/// The staff account whose password matches, or `None`. A wrong name costs as much time as a wrong password.
pub async fn check_password(db: &Db, username: &str, password: &str) -> Result<Option<(i64, Role)>, sqlx::Error> {
    let login = repo::login(db, username).await?;
    // A hash to verify against when the name is unknown, so timing does not reveal which names exist.
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = login
        .as_ref()
        .map_or_else(|| DECOY.get_or_init(|| hash_password(&random_token())).clone(), |l| l.password_hash.clone());
    let matches = verify_password(hash, password.to_string()).await?;
    Ok(login.filter(|_| matches).and_then(|l| Role::parse(&l.role).map(|role| (l.id, role))))
}

/// Starts a staff session and returns the `Set-Cookie` value for it.
pub async fn create_session(state: &AppState, staff_id: i64) -> Result<String, sqlx::Error> {
    let token = random_token();
    let at = now();
    repo::insert_session(&state.db, &hash_token(&token), staff_id, at, at + SESSION_HOURS * 3600).await?;
    Ok(STAFF.cookie(&state.signer, &token, SESSION_HOURS * 3600, state.config.secure_cookies()))
}

/// Ends the session and returns the `Set-Cookie` value that removes the cookie.
pub async fn end_session(state: &AppState, staff: &Staff) -> Result<String, sqlx::Error> {
    STAFF.delete(&state.db, &staff.token_hash).await?;
    Ok(STAFF.clear_cookie(state.config.secure_cookies()))
}

/// The staff member a request's cookie belongs to, if the session is live.
pub async fn request_staff(state: &AppState, headers: &HeaderMap) -> Result<Option<Staff>, sqlx::Error> {
    let Some(token) = STAFF.token(&state.signer, headers) else { return Ok(None) };
    let Some(row) = repo::live_session(&state.db, &hash_token(token), now()).await? else { return Ok(None) };
    let Some(role) = Role::parse(&row.role) else { return Ok(None) };
    Ok(Some(Staff { id: row.id, username: row.username, role, token_hash: row.token_hash, flash: row.flash }))
}

/// Why a plain console handler (a download or an upload, outside any server function) turned a request away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotSignedIn,
    Forbidden,
    Unavailable,
}

impl Refusal {
    /// A short page with the refusal's message, its status and the way to sign in.
    pub fn page(self) -> axum::response::Response {
        use axum::response::IntoResponse;
        let error = match self {
            Self::NotSignedIn => AppError::StaffNotSignedIn,
            Self::Forbidden => AppError::Forbidden,
            Self::Unavailable => AppError::Unavailable,
        };
        let status = axum::http::StatusCode::from_u16(error.status()).unwrap_or(axum::http::StatusCode::FORBIDDEN);
        let page = format!(
            "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>管理后台</title>\
             <p>{error}</p><p><a href=\"{LOGIN_PAGE}\">登录管理后台</a></p>"
        );
        (status, axum::response::Html(page)).into_response()
    }

    /// For a form: nobody signed in goes to the sign-in page; anything else gets the page.
    pub fn or_sign_in(self) -> axum::response::Response {
        use axum::response::IntoResponse;
        match self {
            Self::NotSignedIn => {
                (axum::http::StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, LOGIN_PAGE)]).into_response()
            }
            other => other.page(),
        }
    }
}

/// A plain handler's guard: the signed-in staff member whose role is one of `allowed`, or why not.
pub async fn handler_staff(state: &AppState, headers: &HeaderMap, allowed: &[Role]) -> Result<Staff, Refusal> {
    match request_staff(state, headers).await {
        Ok(Some(staff)) if rules::may(staff.role, allowed) => Ok(staff),
        Ok(Some(_)) => Err(Refusal::Forbidden),
        Ok(None) => Err(Refusal::NotSignedIn),
        Err(e) => {
            tracing::error!(error = %e, "reading the staff session failed");
            Err(Refusal::Unavailable)
        }
    }
}

/// A signed-in staff member whose role may use the screen, and the state.
pub struct StaffCaller {
    pub state: AppState,
    pub staff: Staff,
}

/// Inside a console server function: the state and the signed-in staff member, refused unless their role is
/// one of `allowed`.
pub async fn staff_caller(allowed: &[Role]) -> Result<StaffCaller, AppError> {
    let state = leptos::prelude::use_context::<AppState>().ok_or(AppError::Unavailable)?;
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>().ok_or(AppError::Unavailable)?;
    let staff = request_staff(&state, &parts.headers).await?.ok_or(AppError::StaffNotSignedIn)?;
    if !rules::may(staff.role, allowed) {
        return Err(AppError::Forbidden);
    }
    Ok(StaffCaller { state, staff })
}

/// Leaves a one-time message for the console page at `url` and sends the browser there.
pub async fn flash_and_redirect(state: &AppState, staff: &Staff, flash: &Flash, url: &str) -> Result<(), AppError> {
    store_flash(state, staff, url.split('?').next().unwrap_or(url), flash).await?;
    leptos_axum::redirect(url);
    Ok(())
}

/// Leaves a one-time message for the console page `page`.
pub async fn store_flash(state: &AppState, staff: &Staff, page: &str, flash: &Flash) -> Result<(), sqlx::Error> {
    STAFF.set_flash(&state.db, &staff.token_hash, page, flash).await
}

/// The message left for the console page `page`, if any; it shows once.
pub async fn take_flash(state: &AppState, staff: &Staff, page: &str) -> Result<Flash, AppError> {
    Ok(STAFF.take_flash(&state.db, &staff.token_hash, staff.flash.as_deref(), page).await?)
}

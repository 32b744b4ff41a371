//! Sessions stored in the database (so every instance shares them) behind a signed, HttpOnly cookie.

use crate::identity::model::{Channel, Flash};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::db::{Backend, Db};
use crate::identity::repo::Link;

/// The cookie's name.
pub const COOKIE: &str = "dlt_session";

/// A live session as stored, read in one query with what nearly every page asks next: the account's real-name
/// link, the notices it accepted and the pending flash. The browser only ever holds the token, never this row.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub account_id: Option<i64>,
    pub channel: Channel,
    /// The account's 实名认证 link when the request began, while its card is still active and still that person's.
    pub link: Option<Link>,
    /// The account has a link whose card was cancelled or now belongs to another ID: it grants nothing, and the
    /// user is asked to do 实名认证 again.
    pub link_lapsed: bool,
    /// The notices (使用须知) the account has accepted.
    agreed: Vec<String>,
    /// The pending flash as stored: `[page, flash]` JSON.
    flash: Option<String>,
}

impl Session {
    /// Whether the account had accepted `notice` when the request began.
    pub fn has_agreed(&self, notice: &str) -> bool {
        self.agreed.iter().any(|n| n == notice)
    }
}

/// Signs and checks cookie values with the configured key.
#[derive(Clone)]
pub struct CookieSigner {
    key: Vec<u8>,
}

impl CookieSigner {
    pub fn new(key: &str) -> Self {
        Self { key: key.as_bytes().to_vec() }
    }

    fn mac(&self, token: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(token.as_bytes());
        mac
    }

    /// `token.signature`, the cookie's value.
    pub fn sign(&self, token: &str) -> String {
        format!("{token}.{}", hex::encode(self.mac(token).finalize().into_bytes()))
    }

    /// The token inside a cookie value whose signature is right.
    pub fn verify<'a>(&self, value: &'a str) -> Option<&'a str> {
        let (token, signature) = value.split_once('.')?;
        let signature = hex::decode(signature).ok()?;
        self.mac(token).verify_slice(&signature).ok()?;
        Some(token)
    }

    /// An HMAC of `data` under the key, for secrets stored as digests (verification codes, sign-in codes).
    pub fn digest(&self, data: &str) -> String {
        hex::encode(self.mac(data).finalize().into_bytes())
    }
}

/// 32 random bytes as hex: an unguessable token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The token's SHA-256, the only form stored: a leaked table cannot be replayed as cookies.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a session and returns its token (for the cookie).
pub async fn create(db: &Db, account_id: Option<i64>, channel: Channel, hours: i64) -> Result<String, sqlx::Error> {
    let token = random_token();
    let now = super::now();
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, channel, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(account_id)
    .bind(channel.code())
    .bind(now)
    .bind(now + hours * 3600)
    .execute(db.pool())
    .await?;
    Ok(token)
}

/// The unexpired session for `token`, if any, with its link, accepted notices and flash: one round trip, because
/// every signed-in page needs them first.
pub async fn load(db: &Db, token: &str) -> Result<Option<Session>, sqlx::Error> {
    let row = db.fetch_optional(sqlx::query(load_sql(db.backend())).bind(hash_token(token)).bind(super::now())).await?;
    Ok(row.and_then(|row| from_row(&row, 0)))
}

/// The session in `row`'s eleven columns from `first` on, as `load_sql` returns them.
pub fn from_row(row: &AnyRow, first: usize) -> Option<Session> {
    let agreed: Option<String> = row.get(first + 9);
    let link = Link::from_row(row, first + 4);
    let bound = row.get::<Option<&str>, _>(first + 10).is_some();
    Some(Session {
        token_hash: row.get::<Option<String>, _>(first)?,
        account_id: row.get(first + 1),
        channel: Channel::parse(row.get::<&str, _>(first + 2))?,
        flash: row.get(first + 3),
        link_lapsed: bound && link.is_none(),
        link,
        agreed: agreed.map(|a| a.split('\n').map(String::from).collect()).unwrap_or_default(),
    })
}

/// How many columns `load_sql` returns: a page's statement that joins the session (`PageSql`) appends them
/// after its own, so `from_row(row, row.len() - SESSION_COLUMNS)` reads it.
pub const SESSION_COLUMNS: usize = 11;

/// The query behind `load`, by dialect (the benchmark times it and prints its plan). `$1` token hash, `$2` now.
pub fn load_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => LOAD_SQLITE,
        Backend::Postgres => LOAD_POSTGRES,
    }
}

/// A page's statement that reads its rows and the session in one round trip, built once per dialect on first use:
/// `WITH me AS (load_sql) page`. The page's part may name the session as `me` (its columns as `load_sql` names
/// them: `me.card_no`, `me.id_number`, …), and its own parameters start at `$3`. Every page pays a round trip per
/// statement, and the session read was one of two on the list pages.
pub struct PageSql([std::sync::OnceLock<String>; 2]);

impl PageSql {
    pub const fn new() -> Self {
        Self([std::sync::OnceLock::new(), std::sync::OnceLock::new()])
    }

    /// The statement for `backend`; `page` builds the page's part the first time.
    pub fn get(&'static self, backend: Backend, page: impl FnOnce() -> String) -> &'static str {
        let slot = match backend {
            Backend::Sqlite => &self.0[0],
            Backend::Postgres => &self.0[1],
        };
        slot.get_or_init(|| format!("WITH me AS ({}) {}", load_sql(backend), page()))
    }
}

/// The session row; the link's five columns, the card number and ID number coming from the card itself so that they
/// are NULL (and pages joining `me.card_no` or `me.id_number` find nothing) unless the card is still active and
/// still that person's; the accepted notices joined by newlines; and the card the account is bound to, if any,
/// which tells a lapsed link from none.
macro_rules! load_sql {
    ($agreed:literal) => {
        concat!(
            "SELECT s.token_hash, s.account_id, s.channel, s.flash, \
             b.name, k.id_number, k.card_no, b.phone, b.bound_at, (",
            $agreed,
            ") AS agreed, b.card_no AS bound_card_no \
             FROM sessions s LEFT JOIN realname_bindings b ON b.account_id = s.account_id AND b.unbound_at IS NULL \
             LEFT JOIN cards k ON k.card_no = b.card_no AND k.id_number = b.id_number AND k.status = 'active' \
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        )
    };
}
const LOAD_SQLITE: &str =
    load_sql!("SELECT group_concat(c.notice, char(10)) FROM user_consents c WHERE c.account_id = s.account_id");
const LOAD_POSTGRES: &str =
    load_sql!("SELECT string_agg(c.notice, chr(10)) FROM user_consents c WHERE c.account_id = s.account_id");

/// A table of sessions behind a signed, HttpOnly cookie. Drivers' and staff's sessions differ only in these; the
/// token, its hash, the cookie and the one-time flash work the same for both.
#[derive(Debug, Clone, Copy)]
pub struct SessionStore {
    /// The table: its rows have `token_hash` and `flash` columns.
    pub table: &'static str,
    /// The cookie's name.
    pub cookie: &'static str,
    /// The cookie's `SameSite`.
    same_site: &'static str,
}

/// Drivers' sessions (guests' too): `Lax`, so a link into the app from the platform's menu arrives signed in.
pub const DRIVERS: SessionStore = SessionStore { table: "sessions", cookie: COOKIE, same_site: "Lax" };
/// Staff sessions: a cookie of their own, which no link from another site carries.
pub const STAFF: SessionStore = SessionStore { table: "staff_sessions", cookie: "dlt_staff", same_site: "Strict" };

impl SessionStore {
    /// Ends the session whose token hashes to `token_hash`.
    pub async fn delete(&self, db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
        let sql = format!("DELETE FROM {} WHERE token_hash = $1", self.table);
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).execute(db.pool()).await?;
        Ok(())
    }

    /// Leaves a one-time message (and the form's values) for `page`, the path the browser is sent to next. Only
    /// that page takes it, so a page refreshing in the background cannot swallow it.
    pub async fn set_flash(&self, db: &Db, token_hash: &str, page: &str, flash: &Flash) -> Result<(), sqlx::Error> {
        let text = serde_json::to_string(&(page, flash)).expect("a flash always serialises");
        let sql = format!("UPDATE {} SET flash = $1 WHERE token_hash = $2", self.table);
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(text).bind(token_hash).execute(db.pool()).await?;
        Ok(())
    }

    /// Takes the flash left for `page`, given the session's `stored` flash as it was loaded, so it shows once and
    /// only there.
    pub async fn take_flash(
        &self,
        db: &Db,
        token_hash: &str,
        stored: Option<&str>,
        page: &str,
    ) -> Result<Flash, sqlx::Error> {
        let Some((for_page, flash)) = stored.and_then(|t| serde_json::from_str::<(String, Flash)>(t).ok()) else {
            return Ok(Flash::default());
        };
        if for_page != page {
            return Ok(Flash::default());
        }
        // Clears only the message just read, so one left meanwhile by another request survives.
        let sql = format!("UPDATE {} SET flash = NULL WHERE token_hash = $1 AND flash = $2", self.table);
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token_hash).bind(stored).execute(db.pool()).await?;
        Ok(flash)
    }

    /// The `Set-Cookie` value that stores `token` for `max_age_secs`.
    pub fn cookie(&self, signer: &CookieSigner, token: &str, max_age_secs: i64, secure: bool) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite={}; Max-Age={max_age_secs}{}",
            self.cookie,
            signer.sign(token),
            self.same_site,
            if secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that removes the cookie.
    pub fn clear_cookie(&self, secure: bool) -> String {
        format!(
            "{}=; Path=/; HttpOnly; SameSite={}; Max-Age=0{}",
            self.cookie,
            self.same_site,
            if secure { "; Secure" } else { "" }
        )
    }

    /// The session token in a request's `Cookie` headers, if its signature holds (it may still be expired or
    /// unknown).
    pub fn token<'a>(&self, signer: &CookieSigner, headers: &'a axum::http::HeaderMap) -> Option<&'a str> {
        cookie_value(headers, self.cookie).and_then(|value| signer.verify(value))
    }
}

/// The value of the cookie `name` in a request's `Cookie` headers, however many there are.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Ends a driver's session.
pub async fn delete(db: &Db, session: &Session) -> Result<(), sqlx::Error> {
    DRIVERS.delete(db, &session.token_hash).await
}

/// Leaves a one-time message for `page` in a driver's session (`SessionStore::set_flash`).
pub async fn set_flash(db: &Db, session: &Session, page: &str, flash: &Flash) -> Result<(), sqlx::Error> {
    DRIVERS.set_flash(db, &session.token_hash, page, flash).await
}

/// Takes the flash left for `page` in a driver's session, as the session was loaded.
pub async fn take_flash(db: &Db, session: &Session, page: &str) -> Result<Flash, sqlx::Error> {
    DRIVERS.take_flash(db, &session.token_hash, session.flash.as_deref(), page).await
}

/// The `Set-Cookie` value that stores a driver's `token` for `hours`.
pub fn cookie(signer: &CookieSigner, token: &str, hours: i64, secure: bool) -> String {
    DRIVERS.cookie(signer, token, hours * 3600, secure)
}

/// The `Set-Cookie` value that removes a driver's cookie.
pub fn clear_cookie(secure: bool) -> String {
    DRIVERS.clear_cookie(secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_cookie_round_trips_and_a_tampered_one_is_refused() {
        let signer = CookieSigner::new("k".repeat(32).as_str());
        let value = signer.sign("abc");
        assert_eq!(signer.verify(&value), Some("abc"));
        assert_eq!(signer.verify(&value.replacen("abc", "abd", 1)), None);
        assert_eq!(CookieSigner::new("other-key").verify(&value), None);
        let mut headers = axum::http::HeaderMap::new();
        headers.append(axum::http::header::COOKIE, "x=1".parse().unwrap());
        headers.append(axum::http::header::COOKIE, format!("y=2; {COOKIE}={value}").parse().unwrap());
        assert_eq!(DRIVERS.token(&signer, &headers), Some("abc"), "found in any Cookie header");
        assert_eq!(STAFF.token(&signer, &headers), None, "a driver's cookie is no staff cookie");
    }
}

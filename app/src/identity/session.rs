//! Drivers' sessions (guests' too): the row behind the `dlt_session` cookie, read in one query with the account's
//! 实名认证 link, accepted notices and pending flash, and the page statements that read it with their own rows.
//! The generic store (token hashing, cookies, flash) is `platform::session::SessionStore`.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::domain::{CardNo, Channel, Flash, IdNumber, Mobile, PersonName};
use crate::identity::repo::Link;
use crate::platform::db::{Backend, Db};
use crate::platform::now;
use crate::platform::session::{hash_token, random_token, CookieSigner, SessionStore};

/// The cookie's name.
pub const COOKIE: &str = "dlt_session";

/// Drivers' sessions (guests' too): `Lax`, so a link into the app from the platform's menu arrives signed in.
pub const DRIVERS: SessionStore = SessionStore::new("sessions", COOKIE, "Lax");

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

/// Creates a session and returns its token (for the cookie).
pub async fn create(db: &Db, account_id: Option<i64>, channel: Channel, hours: i64) -> Result<String, sqlx::Error> {
    let token = random_token();
    let now = now();
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
    let row = db.fetch_optional(sqlx::query(load_sql(db.backend())).bind(hash_token(token)).bind(now())).await?;
    Ok(row.and_then(|row| from_row(&row)))
}

/// The session in a row that has `load_sql`'s columns (named `s_…`, so a page's own columns never clash with them).
pub fn from_row(row: &AnyRow) -> Option<Session> {
    let agreed: Option<String> = row.get("s_agreed");
    let link = link_from_row(row);
    let bound = row.get::<Option<&str>, _>("s_bound_card_no").is_some();
    Some(Session {
        token_hash: row.get::<Option<String>, _>("s_token_hash")?,
        account_id: row.get("s_account_id"),
        channel: Channel::parse(row.get::<&str, _>("s_channel"))?,
        flash: row.get("s_flash"),
        link_lapsed: bound && link.is_none(),
        link,
        agreed: agreed.map(|a| a.split('\n').map(String::from).collect()).unwrap_or_default(),
    })
}

/// The link in the session's `s_name, s_id_number, s_card_no, s_phone, s_bound_at`; none when those are NULL (no
/// active link) or, since rows were parsed before they were stored, when one no longer parses.
fn link_from_row(row: &AnyRow) -> Option<Link> {
    Some(Link {
        name: PersonName::parse(row.get::<Option<&str>, _>("s_name")?).ok()?,
        id_number: IdNumber::parse(row.get::<Option<&str>, _>("s_id_number")?).ok()?,
        card_no: CardNo::parse(row.get::<Option<&str>, _>("s_card_no")?).ok()?,
        phone: Mobile::parse(row.get::<Option<&str>, _>("s_phone")?).ok()?,
        bound_at: row.get::<Option<i64>, _>("s_bound_at")?,
    })
}

/// The query behind `load`, by dialect (the benchmark times it and prints its plan). `$1` token hash, `$2` now.
pub fn load_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => LOAD_SQLITE,
        Backend::Postgres => LOAD_POSTGRES,
    }
}

/// A page's statement that reads its rows and the session in one round trip, built once per dialect on first use:
/// `WITH me AS (load_sql) page`. The page's part may name the session as `me` (its columns as `load_sql` names
/// them: `me.s_card_no`, `me.s_id_number`, …), selects `me.*` beside its own columns so `from_row` finds the
/// session by name, and its own parameters start at `$3`. Every page pays a round trip per
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
/// are NULL (and pages joining `me.s_card_no` or `me.s_id_number` find nothing) unless the card is still active and
/// still that person's; the accepted notices joined by newlines; and the card the account is bound to, if any,
/// which tells a lapsed link from none.
macro_rules! load_sql {
    ($agreed:literal) => {
        concat!(
            "SELECT s.token_hash AS s_token_hash, s.account_id AS s_account_id, s.channel AS s_channel, \
             s.flash AS s_flash, b.name AS s_name, k.id_number AS s_id_number, k.card_no AS s_card_no, \
             b.phone AS s_phone, b.bound_at AS s_bound_at, (",
            $agreed,
            ") AS s_agreed, b.card_no AS s_bound_card_no \
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
    use crate::platform::test_db::fresh_databases;

    /// A page's statement may have columns named like the session's own (`name`, `card_no`): the session is read
    /// by its `s_…` names, wherever the page puts it.
    #[tokio::test]
    async fn the_session_is_read_by_name_beside_a_pages_columns() {
        for (backend, db) in fresh_databases().await {
            let card_no = "6222023400001013";
            sqlx::query(
                "INSERT INTO cards (card_no, id_number, name, phone, status, updated_at) \
                 VALUES ($1, '210202198503122018', '张三', '13804110001', 'active', 0)",
            )
            .bind(card_no)
            .execute(db.pool())
            .await
            .unwrap();
            let row = sqlx::query(
                "INSERT INTO accounts (channel, platform_uid, created_at) VALUES ('wechat', 'u1', 0) RETURNING id",
            )
            .fetch_one(db.pool())
            .await
            .unwrap();
            let account_id: i64 = row.get("id");
            sqlx::query(
                "INSERT INTO realname_bindings (account_id, id_number, name, card_no, phone, bound_at) \
                 VALUES ($1, '210202198503122018', '张三', $2, '13804110001', 1700000000)",
            )
            .bind(account_id)
            .bind(card_no)
            .execute(db.pool())
            .await
            .unwrap();
            let token = create(&db, Some(account_id), Channel::Wechat, 1).await.unwrap();

            let loaded = load(&db, &token).await.unwrap().expect("the session loads");
            assert_eq!(loaded.account_id, Some(account_id), "{backend}");
            assert_eq!(loaded.link.as_ref().map(|l| l.card_no.as_str()), Some(card_no), "{backend}");

            static SQL: PageSql = PageSql::new();
            let sql = SQL.get(db.backend(), || {
                "SELECT k.name, k.card_no, 'page' AS channel, me.* FROM me \
                 LEFT JOIN cards k ON k.card_no = me.s_card_no"
                    .into()
            });
            let rows = db.fetch_all(sqlx::query(sql).bind(hash_token(&token)).bind(now())).await.unwrap();
            let session = rows.first().and_then(from_row).expect("the session is in the page's row");
            assert_eq!(rows[0].get::<&str, _>("name"), "张三", "{backend}");
            assert_eq!(session.channel, Channel::Wechat, "{backend}");
            assert_eq!(session.account_id, Some(account_id), "{backend}");
            assert!(!session.link_lapsed, "{backend}");
            assert_eq!(session.link.map(|l| l.id_number.as_str().to_string()).as_deref(), Some("210202198503122018"));
        }
    }
}

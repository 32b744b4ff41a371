//! The generic session store: sessions kept in a database table (so every instance shares them) behind a signed,
//! HttpOnly cookie, with the token hashing, the cookie's attributes and a one-time flash. The table and cookie
//! are parameters; drivers' sessions are `identity::session`, staff's `console::auth`.

use crate::domain::Flash;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::db::Db;

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

impl SessionStore {
    /// A store over `table`, behind the cookie `cookie` with `SameSite=same_site`.
    pub const fn new(table: &'static str, cookie: &'static str, same_site: &'static str) -> Self {
        Self { table, cookie, same_site }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    // Stores shaped like drivers' (`identity::session::DRIVERS`) and staff's (`console::auth::STAFF`).
    const COOKIE: &str = "dlt_session";
    const DRIVERS: SessionStore = SessionStore::new("sessions", COOKIE, "Lax");
    const STAFF: SessionStore = SessionStore::new("staff_sessions", "dlt_staff", "Strict");

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

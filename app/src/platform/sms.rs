//! SMS: the sender trait with its development outbox, and one-time verification codes with their limits.

use async_trait::async_trait;
use rand::Rng;
use sqlx::{Any, FromRow, Row, Transaction};

use super::config::SmsLimits;
use super::db::Db;
use super::session::CookieSigner;
use crate::domain::{Mobile, SmsCode};

/// Wrong entries a code survives.
pub const MAX_ATTEMPTS: i64 = 5;

/// One text message: the vendor template it is sent through with that template's parameters, and the full text
/// (what the development outbox shows). A real SMS vendor sends only approved templates filled with parameters, never
/// free text, so both travel together.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// The app's name for the template (`verification_code`, `card_submitted`, …); each provider maps it to its own id.
    pub template: String,
    /// The template's parameters, in the template's order.
    pub params: Vec<String>,
    /// The message as the recipient reads it.
    pub text: String,
}

/// The template of verification codes; its parameters are the code and the minutes it stays valid.
pub const VERIFICATION_CODE: &str = "verification_code";

impl SmsMessage {
    /// A message through `template` with `params`, reading as `text`.
    pub fn new(template: impl Into<String>, params: Vec<String>, text: String) -> Self {
        Self { template: template.into(), params, text }
    }

    /// The verification code message: `code`, valid for `minutes`.
    pub fn verification_code(code: &str, minutes: i64) -> Self {
        let text = format!("【大连智慧交通】您的验证码是{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。");
        Self::new(VERIFICATION_CODE, vec![code.to_string(), minutes.to_string()], text)
    }
}

/// The parameters may hold a verification code: a message never prints them.
impl std::fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsMessage").field("template", &self.template).field("params", &"[redacted]").finish()
    }
}

/// Sends a text message, inside the caller's transaction, so a rolled-back request sends nothing.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `message` to `phone` once `tx` commits.
    async fn send(
        &self,
        tx: &mut Transaction<'static, Any>,
        phone: &Mobile,
        message: &SmsMessage,
    ) -> Result<(), sqlx::Error>;
}

/// The development provider: messages land in `sms_outbox`, listed at `GET /dev/sms?phone=…`.
pub struct DevOutbox;

#[async_trait]
impl SmsSender for DevOutbox {
    async fn send(
        &self,
        tx: &mut Transaction<'static, Any>,
        phone: &Mobile,
        message: &SmsMessage,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO sms_outbox (phone, body, sent_at) VALUES ($1, $2, $3)")
            .bind(phone.as_str())
            .bind(&message.text)
            .bind(super::now())
            .execute(&mut **tx)
            .await
            .inspect_err(|_| super::metrics::sms("dev_outbox", "failed"))?;
        // Counted when written: the outbox is the development phone, so a written message is a sent one.
        super::metrics::sms("dev_outbox", "sent");
        Ok(())
    }
}

/// One message in the development outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMessage {
    pub body: String,
    pub sent_at: i64,
}

/// The development outbox for one phone, newest first.
pub async fn outbox(db: &Db, phone: &Mobile) -> Result<Vec<OutboxMessage>, sqlx::Error> {
    let rows = sqlx::query("SELECT body, sent_at FROM sms_outbox WHERE phone = $1 ORDER BY id DESC LIMIT 50")
        .bind(phone.as_str())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(OutboxMessage::from_row).collect()
}

/// Why a code was not sent or not accepted; each has its own message for the user.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("验证码发送过于频繁，请{0}秒后再试")]
    TooSoon(i64),
    #[error("该手机号获取验证码次数过多，请1小时后再试")]
    TooMany,
    #[error("获取验证码过于频繁，请1小时后再试")]
    TooManyRequests,
    #[error("请先获取短信验证码")]
    NoCode,
    #[error("短信验证码已过期，请重新获取")]
    Expired,
    #[error("短信验证码错误")]
    Wrong,
    #[error("验证码错误次数过多，请重新获取")]
    TooManyAttempts,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn code_digest(signer: &CookieSigner, phone: &Mobile, purpose: &str, code: &str) -> String {
    signer.digest(&format!("sms:{purpose}:{}:{code}", phone.as_str()))
}

/// Who asks for a code: their client address key and their session, each with a limit of its own, so nobody can
/// text every number (SMS pumping) or spend a victim's hourly codes from one place.
#[derive(Debug, Clone)]
pub struct Requester {
    pub client: String,
    pub session: String,
}

/// Issues a new 6-digit code for `phone` and sends it, within the per-phone, per-client and per-session limits.
pub async fn issue_code(
    db: &Db,
    signer: &CookieSigner,
    sender: &dyn SmsSender,
    limits: SmsLimits,
    phone: &Mobile,
    purpose: &str,
    requester: &Requester,
) -> Result<(), CodeError> {
    let client_ok =
        super::rate_limit::allow(db, &format!("sms-client:{}", requester.client), 3600, limits.codes_per_client_hour)
            .await?;
    let session_ok = super::rate_limit::allow(
        db,
        &format!("sms-session:{}", requester.session),
        3600,
        limits.codes_per_session_hour,
    )
    .await?;
    if !client_ok || !session_ok {
        return Err(CodeError::TooManyRequests);
    }
    let now = super::now();
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("sms:{}", phone.as_str())).await?;
    // The resend wait and the hourly count run per phone *and asking client*, so a stranger asking for a driver's
    // number spends only the stranger's share; the per-phone ceiling still stops anyone texting one phone nonstop.
    let row = sqlx::query(
        "SELECT COUNT(*) AS all_codes, COUNT(CASE WHEN client = $3 THEN 1 END) AS mine, \
         MAX(CASE WHEN client = $3 THEN created_at END) AS last_at FROM sms_codes WHERE phone = $1 AND created_at > $2",
    )
    .bind(phone.as_str())
    .bind(now - 3600)
    .bind(&requester.client)
    .fetch_one(&mut *tx)
    .await?;
    let (all, mine, last): (i64, i64, Option<i64>) =
        (row.try_get("all_codes")?, row.try_get("mine")?, row.try_get("last_at")?);
    if let Some(last) = last {
        let wait = last + limits.resend_after_secs - now;
        if wait > 0 {
            return Err(CodeError::TooSoon(wait));
        }
    }
    if mine >= limits.codes_per_hour || all >= limits.codes_per_phone_hour {
        return Err(CodeError::TooMany);
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    sqlx::query(
        "INSERT INTO sms_codes (phone, purpose, code_hash, created_at, expires_at, session_hash, client) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(phone.as_str())
    .bind(purpose)
    .bind(code_digest(signer, phone, purpose, &code))
    .bind(now)
    .bind(now + limits.code_ttl_secs)
    .bind(&requester.session)
    .bind(&requester.client)
    .execute(&mut *tx)
    .await?;
    let minutes = (limits.code_ttl_secs + 59) / 60;
    sender.send(&mut tx, phone, &SmsMessage::verification_code(&code, minutes)).await?;
    tx.commit().await?;
    Ok(())
}

/// The outcome of checking a code inside a transaction: on `Ok` the code is spent when the transaction commits.
/// Only a code the same session asked for counts (`session_hash`, the session's token hash): a code someone else
/// requested for the phone neither replaces this session's code nor can be guessed at from here.
pub async fn check_code(
    tx: &mut Transaction<'static, Any>,
    signer: &CookieSigner,
    session_hash: &str,
    phone: &Mobile,
    purpose: &str,
    code: &SmsCode,
) -> Result<CodeTicket, CodeError> {
    let now = super::now();
    let row = sqlx::query(
        "SELECT id, code_hash, expires_at, attempts, used_at FROM sms_codes \
         WHERE phone = $1 AND purpose = $2 AND session_hash = $3 ORDER BY id DESC LIMIT 1",
    )
    .bind(phone.as_str())
    .bind(purpose)
    .bind(session_hash)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(CodeError::NoCode)?;
    let (id, hash, expires_at, attempts): (i64, String, i64, i64) =
        (row.try_get("id")?, row.try_get("code_hash")?, row.try_get("expires_at")?, row.try_get("attempts")?);
    // Only the session's newest code counts: a new one replaces the old, and a spent one needs a fresh request.
    if row.try_get::<Option<i64>, _>("used_at")?.is_some() {
        return Err(CodeError::NoCode);
    }
    if attempts >= MAX_ATTEMPTS {
        return Err(CodeError::TooManyAttempts);
    }
    if expires_at <= now {
        return Err(CodeError::Expired);
    }
    if hash != code_digest(signer, phone, purpose, code.as_str()) {
        count_attempt(tx, id).await?;
        return Err(if attempts + 1 >= MAX_ATTEMPTS { CodeError::TooManyAttempts } else { CodeError::Wrong });
    }
    Ok(CodeTicket { id })
}

/// `check_code` for a form's transaction, the one way callers take a code: a matching code comes back with the
/// transaction to go on in; a refusal commits the transaction first (so a wrong entry stays counted against the
/// code) and comes back as the error, a database failure rolls it back.
pub async fn take_code(
    mut tx: Transaction<'static, Any>,
    signer: &CookieSigner,
    session_hash: &str,
    phone: &Mobile,
    purpose: &str,
    code: &SmsCode,
) -> Result<(Transaction<'static, Any>, CodeTicket), CodeError> {
    match check_code(&mut tx, signer, session_hash, phone, purpose, code).await {
        Ok(ticket) => Ok((tx, ticket)),
        Err(CodeError::Database(e)) => Err(CodeError::Database(e)),
        Err(refusal) => {
            tx.commit().await?;
            Err(refusal)
        }
    }
}

/// A code that matched; the caller either spends it or counts a failed attempt against it.
#[derive(Debug)]
pub struct CodeTicket {
    id: i64,
}

impl CodeTicket {
    /// Marks the code used, so it cannot be replayed.
    pub async fn spend(self, tx: &mut Transaction<'static, Any>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(super::now())
            .bind(self.id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Counts a failed attempt that got past the code (wrong card details), so guessing stays bounded.
    pub async fn count_failure(self, tx: &mut Transaction<'static, Any>) -> Result<(), sqlx::Error> {
        count_attempt(tx, self.id).await
    }
}

async fn count_attempt(tx: &mut Transaction<'static, Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(())
}

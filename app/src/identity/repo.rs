//! Storage for accounts and real-name links.

use sqlx::Row;

use crate::domain::{CardNo, Channel, IdNumber, Mobile, PersonName, SmsCode};
use crate::identity::model::RealName;
use crate::identity::rules::{self, check_card, CardOnFile, CardRefusal, Claim, OpenLink};
use crate::identity::session::Session;
use crate::platform::audit::{self, Actor};
use crate::platform::db::Db;
use crate::platform::platform_identity::PlatformUser;
use crate::platform::session::{hash_token, CookieSigner};
use crate::platform::sms::{self, CodeError};
use crate::platform::{now, shanghai_date};

/// The verification-code purpose for 实名认证.
pub const REALNAME_PURPOSE: &str = "realname";

/// Finds or creates the account for a platform user and returns its id; a unionid the platform gives is kept
/// (and a later sign-in without one keeps the one known).
pub async fn sign_in(db: &Db, user: &PlatformUser) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO accounts (channel, platform_uid, platform_unionid, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel, platform_uid) \
         DO UPDATE SET platform_unionid = COALESCE(excluded.platform_unionid, accounts.platform_unionid) \
         RETURNING id",
    )
    .bind(user.channel.code())
    .bind(&user.uid)
    .bind(user.unionid.as_deref())
    .bind(now())
    .fetch_one(db.pool())
    .await?;
    row.try_get("id")
}

/// How long a sign-in may take between leaving for the platform and coming back with its `state`.
pub const SIGN_IN_STATE_TTL_SECS: i64 = 300;

/// Who started a sign-in, and so who finishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInVia {
    /// `/auth/dev/login`, playing the platform.
    Dev,
    /// The channel's platform provider (WeChat's authorisation page).
    Platform,
}

impl SignInVia {
    fn code(self) -> &'static str {
        match self {
            SignInVia::Dev => "dev",
            SignInVia::Platform => "platform",
        }
    }
}

/// Records a sign-in's `state` before the browser leaves for the platform; only its hash is stored.
pub async fn start_sign_in(db: &Db, state: &str, channel: Channel, via: SignInVia) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sign_in_states (state_hash, channel, provider, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(hash_token(state))
        .bind(channel.code())
        .bind(via.code())
        .bind(now() + SIGN_IN_STATE_TTL_SECS)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Uses up a sign-in's `state`: who started it, if it was started on `channel`, has not expired and was not used
/// before. One conditional delete, so two callbacks racing on two instances cannot both win.
pub async fn finish_sign_in(db: &Db, state: &str, channel: Channel) -> Result<Option<SignInVia>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM sign_in_states WHERE state_hash = $1 AND channel = $2 AND expires_at > $3 RETURNING provider",
    )
    .bind(hash_token(state))
    .bind(channel.code())
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let provider: String = row.try_get("provider")?;
    Ok(match provider.as_str() {
        "dev" => Some(SignInVia::Dev),
        "platform" => Some(SignInVia::Platform),
        _ => None,
    })
}

/// The person an account is linked to, unmasked; only server code sees this.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: PersonName,
    pub id_number: IdNumber,
    pub card_no: CardNo,
    pub phone: Mobile,
    pub bound_at: i64,
}

impl Link {
    /// The link as the screen shows it: every personal field masked.
    pub fn masked(&self) -> RealName {
        RealName {
            name: self.name.masked(),
            id_number: self.id_number.masked(),
            card_no: self.card_no.masked(),
            phone: self.phone.masked(),
            bound_on: shanghai_date(self.bound_at),
        }
    }
}

/// A 实名认证 request, every field already parsed.
#[derive(Debug, Clone)]
pub struct RealNameRequest {
    pub name: PersonName,
    pub id_number: IdNumber,
    pub card_no: CardNo,
    pub phone: Mobile,
    pub code: SmsCode,
}

/// Why 实名认证 was refused.
#[derive(Debug, thiserror::Error)]
pub enum RealNameError {
    #[error("您已完成实名认证，如需更换交通服务卡请先解除绑定")]
    AlreadyLinked,
    #[error(transparent)]
    Code(CodeError),
    #[error(transparent)]
    Card(CardRefusal),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<CodeError> for RealNameError {
    fn from(e: CodeError) -> Self {
        crate::error::Refusal::into_fault(e).map_or_else(Self::Code, Self::Database)
    }
}

crate::error::database_is_the_fault!(RealNameError);

impl From<rules::AlreadyLinked> for RealNameError {
    fn from(_: rules::AlreadyLinked) -> Self {
        Self::AlreadyLinked
    }
}

/// Links the account to the card holder when the code and the card details all agree. A failure changes
/// nothing but the code's attempt counter, which bounds guessing. A link that has lapsed (its card cancelled or
/// now another person's) does not stand in the way: it is closed as the new one is made.
pub async fn authenticate(
    db: &Db,
    signer: &CookieSigner,
    session: &Session,
    account_id: i64,
    request: &RealNameRequest,
) -> Result<(), RealNameError> {
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("account:{account_id}")).await?;
    // Holds as `session::load` judges it: the card still active and still that person's.
    let linked = sqlx::query(
        "SELECT b.card_no AS linked_card, k.card_no AS active_card FROM realname_bindings b LEFT JOIN cards k \
         ON k.card_no = b.card_no AND k.id_number = b.id_number AND k.status = 'active' \
         WHERE b.account_id = $1 AND b.unbound_at IS NULL",
    )
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?;
    let open = match &linked {
        Some(row) => Some(OpenLink {
            card_no: row.try_get("linked_card")?,
            holds: row.try_get::<Option<&str>, _>("active_card")?.is_some(),
        }),
        None => None,
    };
    let lapsed = rules::lapsed_link(open)?.map(str::to_string);
    let (mut tx, ticket) =
        sms::take_code(tx, signer, &session.token_hash, &request.phone, REALNAME_PURPOSE, &request.code).await?;
    let card = sqlx::query("SELECT id_number, name, phone, status FROM cards WHERE card_no = $1")
        .bind(request.card_no.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let on_file = match &card {
        Some(card) => Some(CardOnFile {
            id_number: card.try_get("id_number")?,
            name: card.try_get("name")?,
            phone: card.try_get("phone")?,
            status: card.try_get("status")?,
        }),
        None => None,
    };
    let claim =
        Claim { id_number: request.id_number.as_str(), name: request.name.as_str(), phone: request.phone.as_str() };
    if let Err(refusal) = check_card(on_file, claim) {
        ticket.count_failure(&mut tx).await?;
        tx.commit().await?;
        return Err(RealNameError::Card(refusal));
    }
    ticket.spend(&mut tx).await?;
    let actor = || Actor::Account { id: account_id, channel: session.channel.code() };
    if let Some(card_no) = lapsed {
        sqlx::query("UPDATE realname_bindings SET unbound_at = $1 WHERE account_id = $2 AND unbound_at IS NULL")
            .bind(now())
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let subject = CardNo::parse(&card_no).map(|c| c.masked()).unwrap_or_default();
        audit::record(&mut tx, actor(), "realname.lapse", &subject, "the card was cancelled or passed to another ID")
            .await?;
    }
    sqlx::query(
        "INSERT INTO realname_bindings (account_id, id_number, name, card_no, phone, bound_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id)
    .bind(request.id_number.as_str())
    .bind(request.name.as_str())
    .bind(request.card_no.as_str())
    .bind(request.phone.as_str())
    .bind(now())
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, actor(), "realname.link", &request.card_no.masked(), &request.id_number.masked()).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the account's real-name link; `false` when there was none (a repeated click).
pub async fn unlink(db: &Db, session: &Session, account_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "UPDATE realname_bindings SET unbound_at = $1 WHERE account_id = $2 AND unbound_at IS NULL RETURNING card_no",
    )
    .bind(now())
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let card_no: String = row.try_get("card_no")?;
    let subject = CardNo::parse(&card_no).map(|c| c.masked()).unwrap_or_default();
    let actor = Actor::Account { id: account_id, channel: session.channel.code() };
    audit::record(&mut tx, actor, "realname.unlink", &subject, "").await?;
    tx.commit().await?;
    Ok(true)
}

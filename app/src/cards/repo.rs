//! Storage for card applications: submission, lookups, and the bank's steps, each one transaction with a
//! conditional update, an audit row and an SMS to the applicant. A card issued by 批准制卡 waits as
//! `pending_pickup`; only 确认领卡, where the bank checks the ID card, makes it active and links the vehicles.

use rand::Rng;
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::model::{ApplicationView, Branch, ConsoleApplication};
use super::rules::{self, ApplicationForm, ApplicationState, Step};
use crate::domain::{CardNo, IdNumber, Mobile, PersonName};
use crate::identity::rules::CardStatus;
use crate::platform::audit::{self, Actor};
use crate::platform::db::Db;
use crate::platform::session::CookieSigner;
use crate::platform::sms::{self, CodeError, SmsMessage, SmsSender};
use crate::platform::{now, shanghai_date, shanghai_time};

/// The verification-code purpose for 申办交通服务卡.
pub const APPLY_PURPOSE: &str = "card-apply";

/// The ICBC Dalian branches, in the bank's order.
pub async fn branches(db: &Db) -> Result<Vec<Branch>, sqlx::Error> {
    let rows = sqlx::query("SELECT code, name, address FROM branches ORDER BY position").fetch_all(db.pool()).await?;
    rows.iter().map(Branch::from_row).collect()
}

/// An application as stored, unmasked; only server code sees this.
#[derive(Debug, Clone)]
pub struct Application {
    pub application_no: String,
    pub name: PersonName,
    pub id_number: IdNumber,
    pub phone: Mobile,
    pub plates: Vec<String>,
    pub branch: String,
    pub state: ApplicationState,
    pub reason: Option<String>,
    pub card_no: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Application {
    /// The application as its applicant sees it.
    pub fn view(&self) -> ApplicationView {
        ApplicationView {
            application_no: self.application_no.clone(),
            state: self.state,
            reason: self.reason.clone(),
            branch: self.branch.clone(),
            name: self.name.masked(),
            id_number: self.id_number.masked(),
            phone: self.phone.masked(),
            plates: self.plates.clone(),
            card_no: (self.state == ApplicationState::Collected)
                .then(|| self.card_no.as_deref().and_then(|c| CardNo::parse(c).ok()))
                .flatten()
                .map(|c| c.masked()),
            submitted_at: shanghai_time(self.created_at),
            updated_at: shanghai_time(self.updated_at),
        }
    }

    /// The application as the console shows it.
    pub fn console(&self) -> ConsoleApplication {
        ConsoleApplication {
            application_no: self.application_no.clone(),
            state: self.state,
            reason: self.reason.clone(),
            branch: self.branch.clone(),
            name: self.name.as_str().to_string(),
            id_number: self.id_number.as_str().to_string(),
            phone: self.phone.as_str().to_string(),
            plates: self.plates.clone(),
            card_no: self.card_no.clone(),
            submitted_at: shanghai_time(self.created_at),
            updated_at: shanghai_time(self.updated_at),
        }
    }
}

const SELECT: &str = "SELECT a.application_no, a.name, a.id_number, a.phone, a.plates, b.name AS branch_name, \
     a.state, a.reason, a.card_no, a.created_at, a.updated_at \
     FROM card_applications a JOIN branches b ON b.code = a.branch_code";

// Rows were parsed before they were stored; a row that no longer parses is skipped rather than shown half.
fn application(row: &AnyRow) -> Result<Option<Application>, sqlx::Error> {
    let (name, id_number, phone, state): (&str, &str, &str, &str) =
        (row.try_get("name")?, row.try_get("id_number")?, row.try_get("phone")?, row.try_get("state")?);
    let (Ok(name), Ok(id_number), Ok(phone), Some(state)) =
        (PersonName::parse(name), IdNumber::parse(id_number), Mobile::parse(phone), ApplicationState::parse(state))
    else {
        return Ok(None);
    };
    let plates: &str = row.try_get("plates")?;
    Ok(Some(Application {
        application_no: row.try_get("application_no")?,
        name,
        id_number,
        phone,
        plates: plates.split(',').filter(|p| !p.is_empty()).map(String::from).collect(),
        branch: row.try_get("branch_name")?,
        state,
        reason: row.try_get("reason")?,
        card_no: row.try_get("card_no")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    }))
}

/// The applications among `rows` that still parse.
fn applications(rows: &[AnyRow]) -> Result<Vec<Application>, sqlx::Error> {
    Ok(rows.iter().map(application).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
}

/// The application with this number.
pub async fn find(db: &Db, application_no: &str) -> Result<Option<Application>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE a.application_no = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(application_no).fetch_optional(db.pool()).await?;
    Ok(row.as_ref().map(application).transpose()?.flatten())
}

/// The application with this number, only when it is this person's.
pub async fn lookup(db: &Db, application_no: &str, id_number: &IdNumber) -> Result<Option<Application>, sqlx::Error> {
    Ok(find(db, application_no).await?.filter(|a| a.id_number == *id_number))
}

/// The applications an account submitted, newest first.
pub async fn of_account(db: &Db, account_id: i64) -> Result<Vec<Application>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE a.account_id = $1 ORDER BY a.created_at DESC, a.id DESC");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_all(db.pool()).await?;
    applications(&rows)
}

/// The statement behind `list`: with a state or without, each read newest first along its own index.
fn list_sql(in_one_state: bool) -> String {
    let filter = if in_one_state { "WHERE a.state = $1 " } else { "" };
    format!("{SELECT} {filter}ORDER BY a.created_at DESC, a.id DESC LIMIT 200")
}

/// Up to 200 applications, in one state or all, newest first.
pub async fn list(db: &Db, state: Option<ApplicationState>) -> Result<Vec<Application>, sqlx::Error> {
    let query = sqlx::query(sqlx::AssertSqlSafe(list_sql(state.is_some())));
    let query = match state {
        Some(state) => query.bind(state.code()),
        None => query,
    };
    let rows = query.fetch_all(db.pool()).await?;
    applications(&rows)
}

/// Why an application was not taken.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The person has one in progress; its number is given only to someone who typed its name and phone too.
    #[error("{}", duplicate_message(.0.as_deref()))]
    Duplicate(Option<String>),
    #[error(transparent)]
    Code(CodeError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

crate::error::database_is_the_fault!(SubmitError, StepError);

impl From<CodeError> for SubmitError {
    fn from(e: CodeError) -> Self {
        crate::error::Refusal::into_fault(e).map_or_else(Self::Code, Self::Database)
    }
}

fn duplicate_message(application_no: Option<&str>) -> String {
    match application_no {
        Some(no) => {
            format!("您已有一份办理中的交通服务卡申请（申请编号：{no}），请勿重复申请，可在申请进度查询中查看进度")
        }
        None => "该身份证号已有一份办理中的交通服务卡申请，请勿重复申请".into(),
    }
}

/// The reserved phone of the active card `id_number` holds (the newest, if several). An application's code goes
/// there rather than to the phone typed, so knowing a card holder's name and ID number is not enough to apply as
/// them.
pub async fn holder_phone<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id_number: &IdNumber,
) -> Result<Option<Mobile>, sqlx::Error> {
    let phone: Option<String> = sqlx::query_scalar(
        "SELECT phone FROM cards WHERE id_number = $1 AND status = 'active' ORDER BY updated_at DESC, card_no LIMIT 1",
    )
    .bind(id_number.as_str())
    .fetch_optional(executor)
    .await?;
    Ok(phone.and_then(|phone| Mobile::parse(&phone).ok()))
}

/// Who submits: a signed-in account, or a guest from a channel.
#[derive(Debug, Clone, Copy)]
pub enum Applicant<'a> {
    Account { id: i64, channel: &'a str },
    Guest { channel: &'a str },
}

/// Takes an application when the code is right and the person has none in progress; returns its number.
pub async fn submit(
    db: &Db,
    signer: &CookieSigner,
    sender: &dyn SmsSender,
    form: &ApplicationForm,
    applicant: Applicant<'_>,
    session_hash: &str,
) -> Result<String, SubmitError> {
    let mut tx = db.begin_write().await?;
    // One lock for all submissions: it serialises the duplicate check and the choice of a fresh number.
    db.lock(&mut tx, "card-apply").await?;
    let existing = sqlx::query(
        "SELECT application_no, name, phone FROM card_applications \
         WHERE id_number = $1 AND state IN ('submitted', 'reviewing', 'made')",
    )
    .bind(form.id_number.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = existing {
        // Checked before the code, so a repeated click is told why rather than that its code is spent.
        let (name, phone): (&str, &str) = (row.try_get("name")?, row.try_get("phone")?);
        let same_person = name == form.name.as_str() && phone == form.phone.as_str();
        return Err(SubmitError::Duplicate(same_person.then(|| row.try_get("application_no")).transpose()?));
    }
    let code_phone = holder_phone(&mut *tx, &form.id_number).await?.unwrap_or_else(|| form.phone.clone());
    // A wrong code stays counted against it (take_code commits the attempt before refusing).
    let (mut tx, ticket) = sms::take_code(tx, signer, session_hash, &code_phone, APPLY_PURPOSE, &form.code).await?;
    ticket.spend(&mut tx).await?;
    let at = now();
    let date = shanghai_date(at).replace('-', "");
    let application_no = loop {
        let candidate = rules::application_no(&date, rand::rng().random_range(0..1_000_000));
        let taken = sqlx::query("SELECT 1 FROM card_applications WHERE application_no = $1")
            .bind(&candidate)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_none() {
            break candidate;
        }
    };
    let plates: Vec<&str> = form.plates.iter().map(|p| p.as_str()).collect();
    let account_id = match applicant {
        Applicant::Account { id, .. } => Some(id),
        Applicant::Guest { .. } => None,
    };
    sqlx::query(
        "INSERT INTO card_applications (application_no, name, id_number, phone, plates, branch_code, state, \
         account_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7, $8, $8)",
    )
    .bind(&application_no)
    .bind(form.name.as_str())
    .bind(form.id_number.as_str())
    .bind(form.phone.as_str())
    .bind(plates.join(","))
    .bind(&form.branch)
    .bind(account_id)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let branch: String =
        sqlx::query_scalar("SELECT name FROM branches WHERE code = $1").bind(&form.branch).fetch_one(&mut *tx).await?;
    let body = rules::notice(ApplicationState::Submitted, &application_no, &branch, "", "");
    let (template, params) = rules::notice_template(ApplicationState::Submitted, &application_no, &branch, "", "");
    sender.send(&mut tx, &form.phone, &SmsMessage::new(template, params, body)).await?;
    let actor = match applicant {
        Applicant::Account { id, channel } => Actor::Account { id, channel },
        Applicant::Guest { channel } => Actor::Guest { channel },
    };
    audit::record(&mut tx, actor, "card_application.submit", &application_no, &form.id_number.masked()).await?;
    tx.commit().await?;
    Ok(application_no)
}

/// What a step did.
#[derive(Debug, Clone)]
pub struct StepDone {
    pub state: ApplicationState,
    /// The card issued by 批准制卡.
    pub card_no: Option<String>,
    /// At 确认领卡: declared plates now on the new card, and those left alone because the applicant does not own them.
    pub linked: Vec<String>,
    pub not_linked: Vec<String>,
}

/// Why a step was refused.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("未找到该申请")]
    Unknown,
    #[error("{0}")]
    NotAllowed(String),
    #[error("配置的卡号段已用完，请联系系统管理员更换卡号段")]
    RangeExhausted,
    /// The application's card is no longer waiting for pickup (the bank's data changed it meanwhile).
    #[error("该申请的卡片已不是待领取状态，不能确认领卡，请联系系统管理员")]
    NotPending,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Takes `step` on an application. The update is conditional on the state read, so a repeated click or a second
/// operator gets a refusal instead of applying it twice.
pub async fn take_step(
    db: &Db,
    sender: &dyn SmsSender,
    card_prefix: &str,
    actor: Actor<'_>,
    application_no: &str,
    step: Step,
    reason: Option<&str>,
) -> Result<StepDone, StepError> {
    let mut tx = db.begin_write().await?;
    let sql = format!("{SELECT} WHERE a.application_no = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(application_no).fetch_optional(&mut *tx).await?;
    let current = row.as_ref().map(application).transpose()?.flatten().ok_or(StepError::Unknown)?;
    let target = step.apply(current.state).map_err(StepError::NotAllowed)?;
    let updated = sqlx::query(
        "UPDATE card_applications SET state = $1, reason = $2, updated_at = $3 \
         WHERE application_no = $4 AND state = $5",
    )
    .bind(target.code())
    .bind(reason)
    .bind(now())
    .bind(application_no)
    .bind(current.state.code())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StepError::NotAllowed("该申请已被他人处理，请刷新后查看".into()));
    }
    let mut done = StepDone { state: target, card_no: current.card_no.clone(), linked: vec![], not_linked: vec![] };
    match step {
        Step::Approve => done.card_no = Some(issue_card(db, &mut tx, card_prefix, &current).await?),
        Step::Collect => {
            let card_no = current.card_no.as_deref().ok_or(StepError::NotPending)?;
            activate_card(&mut tx, card_no, &current, &mut done).await?;
        }
        Step::StartReview | Step::Reject => {}
    }
    let card_tail = done.card_no.as_deref().map_or("", |c| &c[c.len().saturating_sub(4)..]);
    let why = reason.unwrap_or("");
    let body = rules::notice(target, application_no, &current.branch, card_tail, why);
    let (template, params) = rules::notice_template(target, application_no, &current.branch, card_tail, why);
    sender.send(&mut tx, &current.phone, &SmsMessage::new(template, params, body)).await?;
    let mut detail = format!("{} → {}", current.state.code(), target.code());
    match step {
        Step::Approve => detail.push_str(&format!("; card ****{card_tail} issued, pending pickup")),
        Step::Collect => {
            let (linked, not_linked) = (done.linked.join(","), done.not_linked.join(","));
            detail.push_str(&format!(
                "; card ****{card_tail} active; plates linked [{linked}], not linked [{not_linked}]"
            ));
        }
        Step::StartReview | Step::Reject => {}
    }
    if let Some(reason) = reason {
        detail.push_str(&format!("; reason: {reason}"));
    }
    audit::record(&mut tx, actor, &format!("card_application.{}", step.code()), application_no, &detail).await?;
    tx.commit().await?;
    Ok(done)
}

/// Takes the next number of the configured range that no card has, records it on the application and creates
/// the applicant's card, waiting for pickup: until the bank has seen the ID card, the phone is all that was proven.
async fn issue_card(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    prefix: &str,
    application: &Application,
) -> Result<String, StepError> {
    db.lock(tx, "card-number").await?;
    let mut sequence: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'card_no'")
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or(0);
    let card_no = loop {
        sequence += 1;
        let candidate = u64::try_from(sequence)
            .ok()
            .and_then(|s| rules::card_number(prefix, s))
            .ok_or(StepError::RangeExhausted)?;
        let taken =
            sqlx::query("SELECT 1 FROM cards WHERE card_no = $1").bind(&candidate).fetch_optional(&mut **tx).await?;
        if taken.is_none() {
            break candidate;
        }
    };
    sqlx::query(
        "INSERT INTO counters (name, value) VALUES ('card_no', $1) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(sequence)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO cards (card_no, id_number, name, phone, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&card_no)
    .bind(application.id_number.as_str())
    .bind(application.name.as_str())
    .bind(application.phone.as_str())
    .bind(CardStatus::PendingPickup.code())
    .bind(now())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE card_applications SET card_no = $1 WHERE application_no = $2")
        .bind(&card_no)
        .bind(&application.application_no)
        .execute(&mut **tx)
        .await?;
    let (related, status) = (Some(application.application_no.as_str()), Some(CardStatus::PendingPickup.code()));
    crate::export::record(tx, crate::export::Kind::Cards, &card_no, related, status).await?;
    Ok(card_no)
}

/// 确认领卡: makes the waiting card active and puts on it each declared plate the applicant owns
/// (`vehicles.owner_id_number`), whichever card it was on; plates owned by someone else are left alone.
async fn activate_card(
    tx: &mut Transaction<'static, Any>,
    card_no: &str,
    application: &Application,
    done: &mut StepDone,
) -> Result<(), StepError> {
    let at = now();
    let activated = sqlx::query("UPDATE cards SET status = $1, updated_at = $2 WHERE card_no = $3 AND status = $4")
        .bind(CardStatus::Active.code())
        .bind(at)
        .bind(card_no)
        .bind(CardStatus::PendingPickup.code())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if activated == 0 {
        return Err(StepError::NotPending);
    }
    let (related, status) = (Some(application.application_no.as_str()), Some(CardStatus::Active.code()));
    crate::export::record(tx, crate::export::Kind::Cards, card_no, related, status).await?;
    for plate in &application.plates {
        let linked = sqlx::query(
            "UPDATE vehicles SET card_no = $1, bound_at = $2, updated_at = $2 WHERE plate = $3 AND owner_id_number = $4",
        )
        .bind(card_no)
        .bind(at)
        .bind(plate)
        .bind(application.id_number.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        (if linked > 0 { &mut done.linked } else { &mut done.not_linked }).push(plate.clone());
    }
    Ok(())
}

#[cfg(test)]
mod plan_tests {
    use crate::platform::test_db::{assert_indexed, fresh_sqlite};

    /// The console's application list reads newest first along an index, with a state or without.
    #[tokio::test]
    async fn the_application_list_uses_indexes() {
        let db = fresh_sqlite().await;
        assert_indexed(&db, "applications in one state", &super::list_sql(true)).await;
        assert_indexed(&db, "all applications", &super::list_sql(false)).await;
    }
}

//! Storage for 审验学习: the learner's licence, their enrolment per scoring cycle, quiz answers, course progress
//! from heartbeats, and certificates. Every write that matters is one transaction under a per-person lock.

use std::collections::HashMap;

use rand::seq::SliceRandom;
use rand::Rng;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::model::{CertificateView, Outstanding};
use super::rules::{self, Eligibility, Progress, ScoringCycle, Uncounted};
use crate::domain::{CivilDate, IdNumber, LicenceClass, LicenceStatus, PersonName};
use crate::identity::repo::Link;
use crate::identity::session::Session;
use crate::platform::audit::{self, Actor};
use crate::platform::db::Db;
use crate::platform::session::random_token;
use crate::platform::{now, shanghai_date, shanghai_time};

/// How many questions one quiz draws from the bank.
pub const QUIZ_SIZE: usize = 10;

/// The learner's licence as the police data holds it, with the rules applied.
#[derive(Debug, Clone)]
pub struct Licence {
    pub class: LicenceClass,
    pub cycle: ScoringCycle,
    pub eligibility: Eligibility,
    /// The cycle's points as held: the police figure and the app's decisions on top of it.
    pub points: i64,
    /// Of `points`, those of the app's decisions the police file has not yet acknowledged.
    pub pending_points: i64,
}

/// The linked person's licence, or `None` when the police data has none (or it no longer parses).
pub async fn licence(db: &Db, id_number: &IdNumber) -> Result<Option<Licence>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT d.licence_class, d.licence_status, d.first_issued, d.cycle_points, \
         (SELECT CAST(COALESCE(SUM(x.points), 0) AS BIGINT) FROM violations x \
          JOIN exchange_events e ON e.kind = 'decisions' AND e.subject = x.decision_no \
          WHERE x.party_id_number = d.id_number AND e.acknowledged_at IS NULL) AS pending_points \
         FROM drivers d WHERE d.id_number = $1",
    )
    .bind(id_number.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let cycle_points: i64 = row.try_get("cycle_points")?;
    let (class, status, first_issued): (&str, &str, &str) =
        (row.try_get("licence_class")?, row.try_get("licence_status")?, row.try_get("first_issued")?);
    let (Ok(class), Ok(status), Some(first_issued)) =
        (LicenceClass::parse(class), LicenceStatus::parse(status), CivilDate::parse(first_issued))
    else {
        return Ok(None);
    };
    let today = CivilDate::shanghai_today_from_epoch(now());
    Ok(Some(Licence {
        class,
        cycle: rules::scoring_cycle(first_issued, today),
        eligibility: rules::assess(class, status, cycle_points),
        points: cycle_points,
        pending_points: row.try_get("pending_points")?,
    }))
}

/// One person's study in one scoring cycle.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub id: i64,
    pub questions: Vec<String>,
    pub answers: Option<Vec<String>>,
    pub score: Option<i64>,
}

fn enrolment_row(row: &AnyRow) -> Result<Enrolment, sqlx::Error> {
    let split = |text: &str| text.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    Ok(Enrolment {
        id: row.try_get("id")?,
        questions: split(row.try_get::<&str, _>("questions")?),
        answers: row.try_get::<Option<&str>, _>("answers")?.map(split),
        score: row.try_get("score")?,
    })
}

/// The person's enrolment for `cycle`, if they have started.
pub async fn enrolment(db: &Db, id_number: &IdNumber, cycle: &ScoringCycle) -> Result<Option<Enrolment>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, questions, answers, score FROM study_enrolments WHERE id_number = $1 AND cycle_start = $2",
    )
    .bind(id_number.as_str())
    .bind(cycle.start.to_string())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(enrolment_row).transpose()
}

/// The enrolment for `cycle`, created with a fresh draw of questions the first time; a reload keeps the draw.
pub async fn enrol(db: &Db, id_number: &IdNumber, cycle: &ScoringCycle) -> Result<Enrolment, sqlx::Error> {
    if let Some(existing) = enrolment(db, id_number, cycle).await? {
        return Ok(existing);
    }
    let mut codes: Vec<String> =
        sqlx::query_scalar("SELECT code FROM study_questions ORDER BY code").fetch_all(db.pool()).await?;
    codes.shuffle(&mut rand::rng());
    codes.truncate(QUIZ_SIZE);
    sqlx::query(
        "INSERT INTO study_enrolments (id_number, cycle_start, questions, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id_number, cycle_start) DO NOTHING",
    )
    .bind(id_number.as_str())
    .bind(cycle.start.to_string())
    .bind(codes.join(","))
    .bind(now())
    .execute(db.pool())
    .await?;
    // A concurrent first visit may have won the insert; both read the one row.
    Ok(enrolment(db, id_number, cycle).await?.expect("the enrolment was just written"))
}

/// A question of the bank.
#[derive(Debug, Clone)]
pub struct Question {
    pub code: String,
    pub kind: String,
    pub stem: String,
    pub options: Vec<String>,
    pub answer: String,
    pub explanation: String,
}

/// The questions with `codes`, in that order; a code no longer in the bank is left out.
pub async fn questions(db: &Db, codes: &[String]) -> Result<Vec<Question>, sqlx::Error> {
    let rows = sqlx::query("SELECT code, kind, stem, options, answer, explanation FROM study_questions")
        .fetch_all(db.pool())
        .await?;
    let mut bank = HashMap::with_capacity(rows.len());
    for row in &rows {
        let options: &str = row.try_get("options")?;
        let question = Question {
            code: row.try_get("code")?,
            kind: row.try_get("kind")?,
            stem: row.try_get("stem")?,
            options: options.lines().map(str::to_owned).collect(),
            answer: row.try_get("answer")?,
            explanation: row.try_get("explanation")?,
        };
        bank.insert(question.code.clone(), question);
    }
    Ok(codes.iter().filter_map(|code| bank.remove(code)).collect())
}

/// Stores the quiz answers and score once; a second submission (double click, back button) changes nothing.
pub async fn submit_quiz(
    db: &Db,
    session: &Session,
    account_id: i64,
    enrolment: &Enrolment,
    answers: &[String],
    score: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let stored = sqlx::query(
        "UPDATE study_enrolments SET answers = $1, score = $2, quiz_done_at = $3 WHERE id = $4 AND answers IS NULL",
    )
    .bind(answers.join(","))
    .bind(score)
    .bind(now())
    .bind(enrolment.id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if stored {
        let actor = Actor::Account { id: account_id, channel: session.channel.code() };
        let detail = format!("score {score} of {} questions", answers.len());
        audit::record(&mut tx, actor, "study.quiz", &enrolment.id.to_string(), &detail).await?;
    }
    tx.commit().await?;
    Ok(stored)
}

/// A video lesson of the catalogue.
#[derive(Debug, Clone)]
pub struct Course {
    pub code: String,
    pub title: String,
    pub summary: String,
    pub sources: Vec<String>,
    pub required_seconds: i64,
}

/// The catalogue in its order.
pub async fn catalogue(db: &Db) -> Result<Vec<Course>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT code, title, summary, video, required_seconds FROM study_courses ORDER BY position, code")
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|row| {
            Ok(Course {
                code: row.try_get("code")?,
                title: row.try_get("title")?,
                summary: row.try_get("summary")?,
                sources: row.try_get::<&str, _>("video")?.split('|').map(str::to_owned).collect(),
                required_seconds: row.try_get("required_seconds")?,
            })
        })
        .collect()
}

/// Each course's progress for an enrolment, keyed by course code.
pub async fn progress(db: &Db, enrolment_id: i64) -> Result<HashMap<String, Progress>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT course_code, credited_ms, furthest_ms, position_ms, beat_at_ms FROM study_progress \
         WHERE enrolment_id = $1",
    )
    .bind(enrolment_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|row| Ok((row.try_get("course_code")?, progress_row(row)?))).collect()
}

/// The `credited_ms`, `furthest_ms`, `position_ms` and `beat_at_ms` columns.
fn progress_row(row: &AnyRow) -> Result<Progress, sqlx::Error> {
    Ok(Progress {
        credited_ms: row.try_get("credited_ms")?,
        furthest_ms: row.try_get("furthest_ms")?,
        position_ms: row.try_get("position_ms")?,
        beat_at_ms: row.try_get("beat_at_ms")?,
    })
}

/// Milliseconds since the Unix epoch: heartbeats need finer time than the seconds stored elsewhere.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Starts a sitting of `course` on a new player: it takes the person's one lease, so any other player is told to
/// stop at its next heartbeat, and credit restarts from now, never from the last sitting.
pub async fn start(db: &Db, enrolment_id: i64, course: &str) -> Result<(String, Progress), sqlx::Error> {
    let lease = random_token();
    let at = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("study:{enrolment_id}")).await?;
    sqlx::query("UPDATE study_enrolments SET lease = $1, lease_course = $2 WHERE id = $3")
        .bind(&lease)
        .bind(course)
        .bind(enrolment_id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "INSERT INTO study_progress (enrolment_id, course_code, credited_ms, furthest_ms, position_ms, beat_at_ms) \
         VALUES ($1, $2, 0, 0, 0, $3) \
         ON CONFLICT (enrolment_id, course_code) DO UPDATE SET beat_at_ms = excluded.beat_at_ms \
         RETURNING credited_ms, furthest_ms, position_ms, beat_at_ms",
    )
    .bind(enrolment_id)
    .bind(course)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((lease, progress_row(&row)?))
}

/// What became of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeatOutcome {
    Credited(Progress),
    /// Another player holds the lease; nothing changed.
    TakenOver(Progress),
    /// Too soon after the last counted beat, or a skip; nothing changed.
    Uncounted(Uncounted, Progress),
}

/// Applies a heartbeat from the player holding `lease`, in one transaction under the person's lock.
pub async fn beat(
    db: &Db,
    enrolment_id: i64,
    course: &str,
    lease: &str,
    position_ms: i64,
    required_ms: i64,
) -> Result<Option<BeatOutcome>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("study:{enrolment_id}")).await?;
    let Some(row) = sqlx::query(
        "SELECT e.lease, e.lease_course, p.credited_ms, p.furthest_ms, p.position_ms, p.beat_at_ms \
         FROM study_enrolments e JOIN study_progress p ON p.enrolment_id = e.id AND p.course_code = $2 \
         WHERE e.id = $1",
    )
    .bind(enrolment_id)
    .bind(course)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let current = progress_row(&row)?;
    let holder: Option<String> = row.try_get("lease")?;
    let holder_course: Option<String> = row.try_get("lease_course")?;
    if holder.as_deref() != Some(lease) || holder_course.as_deref() != Some(course) {
        return Ok(Some(BeatOutcome::TakenOver(current)));
    }
    let next = match current.beat(position_ms, now_ms()) {
        Ok(next) => next,
        Err(why) => return Ok(Some(BeatOutcome::Uncounted(why, current))),
    };
    let completed_at = next.is_complete(required_ms).then(now);
    sqlx::query(
        "UPDATE study_progress SET credited_ms = $1, furthest_ms = $2, position_ms = $3, beat_at_ms = $4, \
         completed_at = COALESCE(completed_at, $5) WHERE enrolment_id = $6 AND course_code = $7",
    )
    .bind(next.credited_ms)
    .bind(next.furthest_ms)
    .bind(next.position_ms)
    .bind(next.beat_at_ms)
    .bind(completed_at)
    .bind(enrolment_id)
    .bind(course)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(BeatOutcome::Credited(next)))
}

/// The person's untreated records: on the vehicles on their card (`$1`), since each joined it. The vehicles come
/// from the card index, their records from the vehicle index.
pub(crate) const OUTSTANDING_RECORDS: &str = concat!(
    "SELECT x.record_no, x.plate, x.behaviour FROM violations x \
     JOIN vehicles v ON v.plate = x.plate AND v.plate_type = x.plate_type \
     WHERE v.card_no = $1 AND ",
    crate::violations::repo::holders_untreated!(),
    " ORDER BY x.record_no"
);

/// What keeps the certificate back ([162] Art.73): the person's own untreated records and the unpaid decisions they
/// are the party to; a vehicle's previous holder's records are not theirs.
pub async fn outstanding(db: &Db, link: &Link) -> Result<Vec<Outstanding>, sqlx::Error> {
    let rows = sqlx::query(OUTSTANDING_RECORDS).bind(link.card_no.as_str()).fetch_all(db.pool()).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let (plate, behaviour): (&str, &str) = (row.try_get("plate")?, row.try_get("behaviour")?);
        items.push(Outstanding {
            description: format!("{plate} 未处理：{behaviour}"),
            href: "/violations".into(),
            action: "去处理".into(),
        });
    }
    for decision in crate::violations::repo::unpaid_decisions(db, link).await? {
        items.push(Outstanding {
            description: format!("决定书 {} 未缴款：应缴{}元", decision.decision_no, decision.total),
            href: "/fines".into(),
            action: "去缴费".into(),
        });
    }
    Ok(items)
}

/// A certificate as stored, unmasked; only server code sees this.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Certificate {
    pub cert_no: String,
    pub verify_code: String,
    name: String,
    id_number: String,
    licence_class: String,
    cycle_start: String,
    cycle_end: String,
    study_seconds: i64,
    issued_at: i64,
}

impl Certificate {
    /// The certificate with the person's data masked.
    pub fn view(&self) -> CertificateView {
        CertificateView {
            cert_no: self.cert_no.clone(),
            name: PersonName::parse(&self.name).map(|n| n.masked()).unwrap_or_default(),
            id_number: IdNumber::parse(&self.id_number).map(|id| id.masked()).unwrap_or_default(),
            licence_class: self.licence_class.clone(),
            cycle: format!("{} 至 {}", self.cycle_start, self.cycle_end),
            study_time: rules::duration_label(self.study_seconds),
            issued_at: shanghai_time(self.issued_at),
        }
    }
}

const CERTIFICATE_COLUMNS: &str = "SELECT cert_no, verify_code, name, id_number, licence_class, cycle_start, \
     cycle_end, study_seconds, issued_at FROM study_certificates";

/// The certificate of an enrolment, if issued.
pub async fn certificate_of(db: &Db, enrolment_id: i64) -> Result<Option<Certificate>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CERTIFICATE_COLUMNS} WHERE enrolment_id = $1")))
        .bind(enrolment_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(Certificate::from_row).transpose()
}

/// The certificate a verification link names.
pub async fn certificate_by_code(db: &Db, verify_code: &str) -> Result<Option<Certificate>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CERTIFICATE_COLUMNS} WHERE verify_code = $1")))
        .bind(verify_code)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(Certificate::from_row).transpose()
}

/// Issues the enrolment's 审验证明 once: a repeated request returns the certificate already issued.
pub async fn issue(
    db: &Db,
    session: &Session,
    account_id: i64,
    link: &Link,
    enrolment_id: i64,
    licence: &Licence,
    study_seconds: i64,
) -> Result<Certificate, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("study:{enrolment_id}")).await?;
    let existing = sqlx::query(sqlx::AssertSqlSafe(format!("{CERTIFICATE_COLUMNS} WHERE enrolment_id = $1")))
        .bind(enrolment_id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = existing {
        return Certificate::from_row(&row);
    }
    let issued_at = now();
    let cert_no =
        format!("SY{}{:06}", shanghai_date(issued_at).replace('-', ""), rand::rng().random_range(0..1_000_000));
    let verify_code = random_token()[..32].to_owned();
    sqlx::query(
        "INSERT INTO study_certificates (cert_no, verify_code, enrolment_id, id_number, name, licence_class, \
         cycle_start, cycle_end, study_seconds, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&cert_no)
    .bind(&verify_code)
    .bind(enrolment_id)
    .bind(link.id_number.as_str())
    .bind(link.name.as_str())
    .bind(licence.class.code())
    .bind(licence.cycle.start.to_string())
    .bind(licence.cycle.end.to_string())
    .bind(study_seconds)
    .bind(issued_at)
    .execute(&mut *tx)
    .await?;
    let actor = Actor::Account { id: account_id, channel: session.channel.code() };
    audit::record(&mut tx, actor, "study.certificate", &cert_no, &format!("{study_seconds} s of study")).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CERTIFICATE_COLUMNS} WHERE enrolment_id = $1")))
        .bind(enrolment_id)
        .fetch_one(&mut *tx)
        .await?;
    let certificate = Certificate::from_row(&row)?;
    tx.commit().await?;
    Ok(certificate)
}

#[cfg(test)]
mod tests {
    use crate::platform::test_db::{assert_indexed, fresh_sqlite};

    /// The outstanding-records read reaches its rows through indexes (it was one of violations' page-read checks).
    #[tokio::test]
    async fn the_outstanding_records_read_uses_indexes() {
        let db = fresh_sqlite().await;
        assert_indexed(&db, "outstanding records", super::OUTSTANDING_RECORDS).await;
    }
}

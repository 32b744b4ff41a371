//! Storage for vehicles, violation records and decisions. Every read is scoped to the caller's card or person.

use rand::Rng;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::model::{BoundVehicle, DecisionView, RecordView};
use super::rules::{self, OnlineCheck, OnlineRefusal};
use crate::domain::{CivilDate, Fen, IdNumber, LicenceStatus, PersonName, PlateType};
use crate::identity::repo::Link;
use crate::identity::session::{self, Session};
use crate::platform::audit::{self, Actor};
use crate::platform::db::{Backend, Db};
use crate::platform::{now, shanghai_date, shanghai_time};

/// The notice a user accepts once before 交通违法处理.
pub const VIOLATION_NOTICE: &str = "violations-v1";

/// Remembers 知晓并同意; pressing it twice changes nothing.
pub async fn agree(db: &Db, account_id: i64, notice: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_consents (account_id, notice, agreed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, notice) DO NOTHING",
    )
    .bind(account_id)
    .bind(notice)
    .bind(now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// "The record (aliased `x`) is untreated": it has no decision yet.
///
/// A bare `x.decision_no IS NULL` lets SQLite's planner look the NULLs up in the unique index on `decision_no`,
/// which it takes to be selective; but every untreated record is one of those NULLs (a million at city size), so a
/// vehicle list took a second. Inside `COALESCE` the test cannot use an index: it filters the few rows the
/// vehicle's index finds. PostgreSQL plans it the same way either way.
macro_rules! untreated {
    () => {
        "COALESCE(x.decision_no, NULL) IS NULL"
    };
}
pub(crate) use untreated;

/// "The record (aliased `x`) is untreated and the card holder's": it occurred since its vehicle (`v`) joined the
/// card. What happened before is the previous holder's to answer for, even when the vehicle is theirs no more.
macro_rules! holders_untreated {
    () => {
        concat!($crate::violations::repo::untreated!(), " AND x.occurred_at >= v.bound_at")
    };
}
pub(crate) use holders_untreated;

/// A vehicle on the card and its owner; aliased so that they differ from a record's and the session's columns
/// that page statements put beside them.
macro_rules! vehicle_columns {
    () => {
        "v.plate AS vehicle_plate, v.plate_type AS vehicle_plate_type, v.vehicle_type, v.owner_id_number, \
         d.name AS owner_name, v.bound_at AS vehicle_bound_at"
    };
}

const VEHICLE_COLUMNS: &str = concat!(
    vehicle_columns!(),
    ", (SELECT COUNT(*) FROM violations x WHERE x.plate = v.plate AND x.plate_type = v.plate_type AND ",
    holders_untreated!(),
    ") AS untreated"
);

/// The vehicle in `vehicle_columns!`, as stored.
#[derive(sqlx::FromRow)]
struct VehicleRow {
    vehicle_plate: String,
    vehicle_plate_type: String,
    vehicle_type: String,
    owner_id_number: String,
    owner_name: Option<String>,
    vehicle_bound_at: Option<i64>,
}

impl VehicleRow {
    /// The vehicle as the pages show it, with its untreated count.
    fn bound(self, untreated: i64) -> BoundVehicle {
        let owner = self
            .owner_name
            .and_then(|n| PersonName::parse(&n).ok().map(|n| n.masked()))
            .or_else(|| IdNumber::parse(&self.owner_id_number).ok().map(|id| id.masked()))
            .unwrap_or_default();
        BoundVehicle {
            plate: self.vehicle_plate,
            plate_type_label: PlateType::parse(&self.vehicle_plate_type)
                .map(|t| t.label().to_string())
                .unwrap_or_default(),
            plate_type: self.vehicle_plate_type,
            vehicle_type: self.vehicle_type,
            owner,
            bound_on: self.vehicle_bound_at.map(shanghai_date).unwrap_or_default(),
            untreated,
        }
    }
}

/// Whether the text column `column` of `row` is not NULL: a LEFT JOIN found its row.
fn present(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<Option<&str>, _>(column)?.is_some())
}

/// The caller's session and the vehicles bound to its card, one row per vehicle (a row of NULLs before the
/// session's columns when there is none); read with `caller::linked_caller_with_rows`, taken apart by
/// `bound_vehicles`.
pub fn bound_vehicles_sql(backend: Backend) -> &'static str {
    static SQL: session::PageSql = session::PageSql::new();
    SQL.get(backend, || {
        format!(
            "SELECT {VEHICLE_COLUMNS}, me.* FROM me LEFT JOIN vehicles v ON v.card_no = me.s_card_no \
             LEFT JOIN drivers d ON d.id_number = v.owner_id_number ORDER BY v.bound_at, v.plate"
        )
    })
}

/// The vehicles in `bound_vehicles_sql`'s rows.
pub fn bound_vehicles(rows: &[AnyRow]) -> Result<Vec<BoundVehicle>, sqlx::Error> {
    let mut vehicles = Vec::with_capacity(rows.len());
    for row in rows {
        if present(row, "vehicle_plate")? {
            vehicles.push(VehicleRow::from_row(row)?.bound(row.try_get("untreated")?));
        }
    }
    Ok(vehicles)
}

/// The driver facts the online rules need.
#[derive(Debug, Clone)]
pub struct DriverFacts {
    pub licence_normal: bool,
    pub cycle_points: i64,
}

/// The linked person's licence, if the police data has it.
pub async fn driver(db: &Db, id_number: &IdNumber) -> Result<Option<DriverFacts>, sqlx::Error> {
    let row = sqlx::query("SELECT licence_status, cycle_points FROM drivers WHERE id_number = $1")
        .bind(id_number.as_str())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.as_ref().map(driver_facts).transpose()?.flatten())
}

/// The `licence_status` and `cycle_points` columns; none when the driver is unknown (NULLs).
fn driver_facts(row: &AnyRow) -> Result<Option<DriverFacts>, sqlx::Error> {
    let status: Option<&str> = row.try_get("licence_status")?;
    let cycle_points: Option<i64> = row.try_get("cycle_points")?;
    Ok(status.zip(cycle_points).map(|(status, cycle_points)| DriverFacts {
        licence_normal: LicenceStatus::parse(status).is_ok_and(|s| s.is_normal()),
        cycle_points,
    }))
}

/// A record as stored, with whether its vehicle is on the caller's card.
#[derive(Debug, Clone)]
struct Stored {
    record_no: String,
    plate: String,
    plate_type: String,
    occurred_at: i64,
    location: String,
    code: String,
    behaviour: String,
    points: i64,
    fine: Fen,
    counter_only: bool,
    decision_no: Option<String>,
}

const RECORD_COLUMNS: &str = "x.record_no, x.plate, x.plate_type, x.occurred_at, x.location, x.code, \
     x.behaviour, x.points, x.fine_fen, x.counter_only, x.decision_no";

/// One record, found only through a vehicle on the card bound as `$1`, and only when it is the card holder's (`$3`):
/// decided with them as the party, or untreated since the vehicle joined the card; `$2` is the record number.
fn record_on_card() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM violations x JOIN vehicles v ON v.plate = x.plate AND v.plate_type = x.plate_type \
         WHERE v.card_no = $1 AND x.record_no = $2 AND (x.party_id_number = $3 OR ({}))",
        holders_untreated!()
    )
}

/// The record in `RECORD_COLUMNS`.
fn stored(row: &AnyRow) -> Result<Stored, sqlx::Error> {
    Ok(Stored {
        record_no: row.try_get("record_no")?,
        plate: row.try_get("plate")?,
        plate_type: row.try_get("plate_type")?,
        occurred_at: row.try_get("occurred_at")?,
        location: row.try_get("location")?,
        code: row.try_get("code")?,
        behaviour: row.try_get("behaviour")?,
        points: row.try_get("points")?,
        fine: Fen::new(row.try_get("fine_fen")?),
        counter_only: row.try_get::<i64, _>("counter_only")? == 1,
        decision_no: row.try_get("decision_no")?,
    })
}

impl Stored {
    fn check(&self, driver: Option<&DriverFacts>) -> Option<OnlineRefusal> {
        rules::online_refusal(&OnlineCheck {
            fine: self.fine,
            counter_only: self.counter_only,
            record_points: self.points,
            driver_cycle_points: driver.map_or(0, |d| d.cycle_points),
            licence_normal: driver.is_some_and(|d| d.licence_normal),
            vehicle_bound: true,
        })
    }

    fn view(&self, refusal: Option<OnlineRefusal>) -> RecordView {
        RecordView {
            record_no: self.record_no.clone(),
            plate: self.plate.clone(),
            plate_type: self.plate_type.clone(),
            occurred_at: shanghai_time(self.occurred_at),
            location: self.location.clone(),
            code: self.code.clone(),
            behaviour: self.behaviour.clone(),
            points: self.points,
            fine: self.fine.to_string(),
            refusal: refusal.map(|r| r.reason().to_string()),
        }
    }
}

/// The caller's session and a vehicle on its card (`$3` plate, `$4` plate type) with the untreated records since it
/// joined the card, newest first: the vehicle, its owner's name, the linked person's licence facts, and one row per untreated record (a
/// single row of NULL records when there is none, and a row of NULLs when the vehicle is not on the card). Read with
/// `caller::linked_caller_with_rows`, taken apart by `vehicle_with_untreated`.
pub fn vehicle_with_untreated_sql(backend: Backend) -> &'static str {
    static SQL: session::PageSql = session::PageSql::new();
    SQL.get(backend, || {
        format!(
            "SELECT {}, p.licence_status, p.cycle_points, {RECORD_COLUMNS}, me.* \
             FROM me LEFT JOIN vehicles v ON v.card_no = me.s_card_no AND v.plate = $3 AND v.plate_type = $4 \
             LEFT JOIN drivers d ON d.id_number = v.owner_id_number \
             LEFT JOIN drivers p ON p.id_number = me.s_id_number \
             LEFT JOIN violations x ON x.plate = v.plate AND x.plate_type = v.plate_type AND {} \
             ORDER BY x.occurred_at DESC",
            vehicle_columns!(),
            holders_untreated!()
        )
    })
}

/// The vehicle in `vehicle_with_untreated_sql`'s rows, with each untreated record and its online-processing
/// verdict; none when the vehicle is not on the card.
pub fn vehicle_with_untreated(rows: &[AnyRow]) -> Result<Option<(BoundVehicle, Vec<RecordView>)>, sqlx::Error> {
    let Some(first) = rows.first() else { return Ok(None) };
    if !present(first, "vehicle_plate")? {
        return Ok(None);
    }
    let driver = driver_facts(first)?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        if present(row, "record_no")? {
            let stored = stored(row)?;
            records.push(stored.view(stored.check(driver.as_ref())));
        }
    }
    Ok(Some((VehicleRow::from_row(first)?.bound(records.len() as i64), records)))
}

/// One of the caller's records on a vehicle on their card, with its decision number once processed.
pub async fn record(
    db: &Db,
    link: &Link,
    record_no: &str,
) -> Result<Option<(RecordView, Option<String>)>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(record_on_card()))
        .bind(link.card_no.as_str())
        .bind(record_no)
        .bind(link.id_number.as_str())
        .fetch_optional(db.pool())
        .await?;
    let Some(stored) = row.as_ref().map(stored).transpose()? else {
        return Ok(None);
    };
    let refusal = match stored.decision_no {
        Some(_) => None,
        None => stored.check(driver(db, &link.id_number).await?.as_ref()),
    };
    Ok(Some((stored.view(refusal), stored.decision_no.clone())))
}

/// Why processing did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("未找到该违法记录")]
    NotFound,
    #[error("未查询到您的驾驶证信息，请到交警大队窗口处理")]
    NoLicence,
    #[error("{}", .0.reason())]
    Refused(OnlineRefusal),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

crate::error::database_is_the_fault!(ProcessError);

/// 接受处理: decides the record with the linked person as the party and adds its points to that person's cycle,
/// once. A repeated request (double click, retry) returns the decision already made.
pub async fn process(
    db: &Db,
    session: &Session,
    account_id: i64,
    link: &Link,
    record_no: &str,
) -> Result<String, ProcessError> {
    let mut tx = db.begin_write().await?;
    // Serialises processing per driver, so two records cannot both pass the 12-point check.
    db.lock(&mut tx, &format!("driver:{}", link.id_number.as_str())).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(record_on_card()))
        .bind(link.card_no.as_str())
        .bind(record_no)
        .bind(link.id_number.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let record = row.as_ref().map(stored).transpose()?.ok_or(ProcessError::NotFound)?;
    if let Some(decision_no) = record.decision_no {
        return Ok(decision_no);
    }
    let row = sqlx::query("SELECT licence_status, cycle_points FROM drivers WHERE id_number = $1")
        .bind(link.id_number.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let driver = row.as_ref().map(driver_facts).transpose()?.flatten().ok_or(ProcessError::NoLicence)?;
    if let Some(refusal) = record.check(Some(&driver)) {
        return Err(ProcessError::Refused(refusal));
    }
    let decision_no = loop {
        let candidate = format!("2102{:012}", rand::rng().random_range(0..1_000_000_000_000u64));
        let taken = sqlx::query("SELECT 1 FROM violations WHERE decision_no = $1")
            .bind(&candidate)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_none() {
            break candidate;
        }
    };
    let today = CivilDate::shanghai_today_from_epoch(now());
    let decided = sqlx::query(
        "UPDATE violations SET decision_no = $1, decided_on = $2, party_id_number = $3, updated_at = $4 \
         WHERE record_no = $5 AND decision_no IS NULL",
    )
    .bind(&decision_no)
    .bind(today.to_string())
    .bind(link.id_number.as_str())
    .bind(now())
    .bind(record_no)
    .execute(&mut *tx)
    .await?;
    if decided.rows_affected() != 1 {
        return Err(ProcessError::NotFound);
    }
    sqlx::query("UPDATE drivers SET cycle_points = $1, updated_at = $2 WHERE id_number = $3")
        .bind(rules::points_after_processing(driver.cycle_points, record.points))
        .bind(now())
        .bind(link.id_number.as_str())
        .execute(&mut *tx)
        .await?;
    let actor = Actor::Account { id: account_id, channel: session.channel.code() };
    let detail = format!("decision {decision_no}, {} points, fine {}", record.points, record.fine);
    audit::record(&mut tx, actor, "violation.process", record_no, &detail).await?;
    crate::export::record(&mut tx, crate::export::Kind::Decisions, &decision_no, None, None).await?;
    tx.commit().await?;
    Ok(decision_no)
}

/// The columns `decision_view` reads, joined with the party's driver record.
const DECISION_COLUMNS: &str = "SELECT x.decision_no, x.record_no, x.plate, x.behaviour, x.points, x.fine_fen, \
     x.decided_on, x.paid, d.name AS party_name, x.party_id_number FROM violations x \
     LEFT JOIN drivers d ON d.id_number = x.party_id_number";

/// Decisions the caller may see: those they are the party to (`$1`). A decision on a vehicle now on their card but
/// made against its previous holder stays that holder's.
const DECISIONS: &str = "SELECT x.decision_no, x.record_no, x.plate, x.behaviour, x.points, x.fine_fen, x.decided_on, \
     x.paid, d.name AS party_name, x.party_id_number \
     FROM violations x LEFT JOIN drivers d ON d.id_number = x.party_id_number WHERE x.party_id_number = $1";

/// A guest's lookup (SPEC §2B): the decision, only when the plate or the party's full name also matches.
/// Every mismatch gives the same `None`, so decisions cannot be enumerated by their answers.
pub async fn decision_for_guest(
    db: &Db,
    decision_no: &str,
    plate: Option<&str>,
    party_name: Option<&str>,
) -> Result<Option<DecisionView>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{DECISION_COLUMNS} WHERE x.decision_no = $1")))
        .bind(decision_no)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let (stored_plate, stored_name): (&str, Option<&str>) = (row.try_get("plate")?, row.try_get("party_name")?);
    let plate_matches = plate.is_some_and(|p| p == stored_plate);
    let name_matches = party_name.is_some_and(|n| Some(n) == stored_name);
    if plate_matches || name_matches {
        decision_view(&row).map(Some)
    } else {
        Ok(None)
    }
}

/// One decision by number, for a guest who already proved it with a lookup.
pub async fn decision_by_number(db: &Db, decision_no: &str) -> Result<Option<DecisionView>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{DECISION_COLUMNS} WHERE x.decision_no = $1")))
        .bind(decision_no)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(decision_view).transpose()
}

/// One decision the caller may see.
pub async fn decision(db: &Db, link: &Link, decision_no: &str) -> Result<Option<DecisionView>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(decision_sql()))
        .bind(link.id_number.as_str())
        .bind(decision_no)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(decision_view).transpose()
}

fn decision_sql() -> String {
    format!("{DECISIONS} AND x.decision_no = $2")
}

fn unpaid_decisions_sql() -> String {
    format!("{DECISIONS} AND x.decision_no IS NOT NULL AND x.paid = 0 ORDER BY x.decided_on, x.decision_no")
}

/// The caller's decided but unpaid decisions (已裁决), oldest first, with today's amounts.
pub async fn unpaid_decisions(db: &Db, link: &Link) -> Result<Vec<DecisionView>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(unpaid_decisions_sql()))
        .bind(link.id_number.as_str())
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(decision_view).collect()
}

/// Builds the decision view, computing today's late fee. A decision whose date does not read is an error, never
/// skipped: leaving it out would hide an unpaid fine from 交通罚款缴纳 and let a 审验证明 through.
fn decision_view(row: &AnyRow) -> Result<DecisionView, sqlx::Error> {
    let decision_no: String = row.try_get("decision_no")?;
    let unreadable =
        || sqlx::Error::Decode(format!("decision {decision_no} has a decided_on with no due date before 2200").into());
    let decided_on = CivilDate::parse(row.try_get::<&str, _>("decided_on")?).ok_or_else(unreadable)?;
    let fine = Fen::new(row.try_get("fine_fen")?);
    let today = CivilDate::shanghai_today_from_epoch(now());
    let due = rules::amount_due(fine, decided_on, today).ok_or_else(unreadable)?;
    let party_name: Option<String> = row.try_get("party_name")?;
    let party_id: Option<String> = row.try_get("party_id_number")?;
    Ok(DecisionView {
        decision_no,
        record_no: row.try_get("record_no")?,
        plate: row.try_get("plate")?,
        behaviour: row.try_get("behaviour")?,
        points: row.try_get("points")?,
        fine: due.fine.to_string(),
        late_fee: due.late_fee.to_string(),
        total: due.total.to_string(),
        total_fen: due.total.fen(),
        decided_on: decided_on.to_string(),
        due_date: due.due_date.to_string(),
        days_left: due.days_left,
        paid: row.try_get::<i64, _>("paid")? == 1,
        party: party_name
            .and_then(|n| PersonName::parse(&n).ok().map(|n| n.masked()))
            .or_else(|| party_id.and_then(|id| IdNumber::parse(&id).ok().map(|id| id.masked())))
            .unwrap_or_default(),
    })
}

/// 解除绑定 of a vehicle from the caller's card; `false` when it was not bound to it (a repeated click).
pub async fn unbind_vehicle(
    db: &Db,
    session: &Session,
    account_id: i64,
    link: &Link,
    plate: &str,
    plate_type: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE vehicles SET card_no = NULL, bound_at = NULL, updated_at = $1 \
         WHERE plate = $2 AND plate_type = $3 AND card_no = $4",
    )
    .bind(now())
    .bind(plate)
    .bind(plate_type)
    .bind(link.card_no.as_str())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let actor = Actor::Account { id: account_id, channel: session.channel.code() };
    let vehicle = format!("{plate}/{plate_type}");
    audit::record(&mut tx, actor, "vehicle.unbind", &vehicle, &link.card_no.masked()).await?;
    crate::export::record(&mut tx, crate::export::Kind::Unbindings, &vehicle, Some(link.card_no.as_str()), None)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The receipt and decision numbers of the fines an account has paid, newest first (the fines page lists them
/// beside the unpaid decisions).
pub async fn paid_receipts(db: &Db, account_id: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT receipt_no, decision_no FROM payment_orders WHERE account_id = $1 AND state = 'paid' ORDER BY paid_at DESC",
    )
    .bind(account_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(|r| (r.get("receipt_no"), r.get("decision_no"))).collect())
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::platform::test_db::{assert_indexed, fresh_sqlite};

    /// Each read the driver's pages make reaches its rows through indexes, as it must with five million records.
    /// A bare `decision_no IS NULL`, an `OR` across a record and its vehicle, or a missing owner index all fail here.
    #[tokio::test]
    async fn the_pages_reads_use_indexes() {
        let db = fresh_sqlite().await;
        let session_sql = crate::identity::session::load_sql(db.backend());
        assert_indexed(&db, "session", session_sql).await;
        assert_indexed(&db, "vehicle list", bound_vehicles_sql(db.backend())).await;
        assert_indexed(&db, "vehicle with untreated records", vehicle_with_untreated_sql(db.backend())).await;
        assert_indexed(&db, "one record on the card", &record_on_card()).await;
        assert_indexed(&db, "one decision", &decision_sql()).await;
        assert_indexed(&db, "unpaid decisions", &unpaid_decisions_sql()).await;
    }
}

//! `violations.csv`: violation records, untreated or already decided (and perhaps paid) at the counter.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use sqlx::{Any, Row, Transaction};

use super::{has_shape, in_app_years, parse_date, parse_flag, Fields, ImportError, ImportReport, Parsed, RowError};
use crate::domain::{CivilDate, DecisionNo, Fen, Plate, PlateType};
use crate::platform::db::Db;
use crate::platform::now;
use crate::violations::rules;

pub(super) const COLUMNS: &[&str] = &[
    "record_no",
    "plate",
    "plate_type",
    "occurred_at",
    "location",
    "code",
    "behaviour",
    "points",
    "fine_yuan",
    "counter_only",
    "decision_no",
    "decided_on",
    "party_id_number",
    "paid",
];

/// Longest record number the traffic system issues.
const RECORD_NO_MAX_LEN: usize = 32;
/// Point values a single violation can carry ([163]).
const POINT_VALUES: [i64; 6] = [0, 1, 3, 6, 9, 12];
/// Asia/Shanghai is UTC+8 all year.
const SHANGHAI_OFFSET_SECS: i64 = 8 * 3600;

/// One violation record.
pub(super) struct Violation {
    record_no: String,
    plate: Plate,
    plate_type: PlateType,
    occurred_at: i64,
    location: String,
    code: String,
    behaviour: String,
    points: i64,
    fine: Fen,
    counter_only: bool,
    decision: Option<Decision>,
    paid: bool,
}

/// The penalty decision columns, which are filled all together or not at all.
struct Decision {
    decision_no: String,
    decided_on: String,
    party_id_number: String,
}

pub(super) fn parse(fields: &mut Fields) -> Option<Violation> {
    let record_no = fields.parse("record_no", |text| {
        let valid = (1..=RECORD_NO_MAX_LEN).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| text.to_owned()).ok_or("违法记录编号应为1至32位字母或数字")
    });
    let vehicle = fields.vehicle();
    let occurred = fields.parse("occurred_at", parse_shanghai_minute);
    let location = fields.parse("location", non_empty);
    let code = fields.parse("code", |text| {
        let valid = (4..=5).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| text.to_owned()).ok_or("违法代码应为4至5位数字")
    });
    let behaviour = fields.parse("behaviour", non_empty);
    let points = fields.parse("points", |text| {
        text.parse::<i64>()
            .ok()
            .filter(|points| text.bytes().all(|b| b.is_ascii_digit()) && POINT_VALUES.contains(points))
            .ok_or("记分应为0、1、3、6、9或12")
    });
    let fine = fields.parse("fine_yuan", Fen::parse_yuan);
    let counter_only = fields.parse("counter_only", parse_flag);
    let decision = parse_decision(fields, occurred.map(|(_, date)| date));
    let paid = fields.parse("paid", parse_flag);
    if paid == Some(true) && matches!(decision, Some(None)) {
        fields.reject("paid", "未裁决（无决定书编号）的记录不能标记为已缴款");
        return None;
    }
    let (plate, plate_type) = vehicle?;
    Some(Violation {
        record_no: record_no?,
        plate,
        plate_type,
        occurred_at: occurred?.0,
        location: location?,
        code: code?,
        behaviour: behaviour?,
        points: points?,
        fine: fine?,
        counter_only: counter_only?,
        decision: decision?,
        paid: paid?,
    })
}

/// `Some(None)` for an undecided record, `Some(Some(_))` for a decided one, `None` when a column is bad.
fn parse_decision(fields: &mut Fields, occurred_on: Option<chrono::NaiveDate>) -> Option<Option<Decision>> {
    const DECISION_COLUMNS: [&str; 3] = ["decision_no", "decided_on", "party_id_number"];
    let filled = DECISION_COLUMNS.map(|column| !fields.text(column).is_empty());
    if filled == [false; 3] {
        return Some(None);
    }
    if let Some(missing) = DECISION_COLUMNS.iter().zip(filled).find_map(|(c, f)| (!f).then_some(*c)) {
        fields.reject(missing, "不能为空：decision_no、decided_on、party_id_number 须同时填写或同时留空");
        return None;
    }
    let decision_no = fields.parse("decision_no", DecisionNo::parse);
    let decided_on = fields.parse("decided_on", parse_date);
    let party = fields.id_number("party_id_number");
    if let (Some(decided), Some(occurred)) = (decided_on, occurred_on) {
        if decided < occurred {
            fields.reject("decided_on", "处罚决定日期不能早于违法日期");
            return None;
        }
    }
    if let Some(decided) = decided_on {
        let due = CivilDate::parse(&decided.format("%Y-%m-%d").to_string()).and_then(rules::due_date);
        if due.is_none() {
            fields.reject("decided_on", "处罚决定日期过晚，缴款期限超出2199-12-31");
            return None;
        }
    }
    Some(Some(Decision {
        decision_no: decision_no?.to_string(),
        decided_on: decided_on?.format("%Y-%m-%d").to_string(),
        party_id_number: party?.to_string(),
    }))
}

/// A local time `YYYY-MM-DD HH:MM` in Asia/Shanghai, as epoch seconds and its local date.
fn parse_shanghai_minute(text: &str) -> Result<(i64, chrono::NaiveDate), &'static str> {
    if !has_shape(text, "dddd-dd-dd dd:dd") {
        return Err("应为 YYYY-MM-DD HH:MM 格式的北京时间");
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").map_err(|_| "不是真实存在的时间")?;
    in_app_years(local.date())?;
    Ok((local.and_utc().timestamp() - SHANGHAI_OFFSET_SECS, local.date()))
}

fn non_empty(text: &str) -> Result<String, &'static str> {
    if text.is_empty() {
        Err("不能为空")
    } else {
        Ok(text.to_owned())
    }
}

pub(super) fn key(violation: &Violation) -> String {
    violation.record_no.clone()
}

/// A decision number belongs to one record, so two rows of one file cannot share it.
pub(super) fn check_decisions_unique(rows: &[Parsed<Violation>]) -> Result<(), ImportError> {
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    let mut errors = Vec::new();
    for Parsed { line, row } in rows {
        let Some(decision) = &row.decision else { continue };
        match first_line.get(decision.decision_no.as_str()) {
            Some(first) => errors.push(RowError {
                line: *line,
                reason: format!("decision_no {} 与第{first}行重复", decision.decision_no),
            }),
            None => {
                first_line.insert(&decision.decision_no, *line);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Rows(errors))
    }
}

/// A decision number the file brings must not belong to another record already.
pub(super) async fn check(db: &Db, rows: &[Parsed<Violation>]) -> Result<(), ImportError> {
    let mut taken = Vec::new();
    for Parsed { line, row } in rows {
        let Some(decision) = &row.decision else { continue };
        let holder: Option<String> = sqlx::query_scalar("SELECT record_no FROM violations WHERE decision_no = $1")
            .bind(decision.decision_no.as_str())
            .fetch_optional(db.pool())
            .await?;
        if let Some(holder) = holder.filter(|holder| *holder != row.record_no) {
            taken.push(RowError {
                line: *line,
                reason: format!("decision_no {} 已属于违法记录 {holder}", decision.decision_no),
            });
        }
    }
    if taken.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Rows(taken))
    }
}

/// Upserts the rows. Re-import never undoes the app's work: a stored decision stays and a paid record stays paid,
/// decided in the statement itself against the row as it is when the upsert locks it, so a 接受处理 or a payment
/// committed while the file is being written is never overwritten.
pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    rows: &[Parsed<Violation>],
) -> Result<ImportReport, sqlx::Error> {
    let mut report = ImportReport::default();
    for Parsed { row, .. } in rows {
        let existed = sqlx::query("SELECT 1 FROM violations WHERE record_no = $1")
            .bind(row.record_no.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        let decision = row.decision.as_ref();
        let stored = sqlx::query(
            "INSERT INTO violations (record_no, plate, plate_type, occurred_at, location, code, behaviour, points, \
             fine_fen, counter_only, decision_no, decided_on, party_id_number, paid, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (record_no) DO UPDATE SET plate = excluded.plate, plate_type = excluded.plate_type, \
             occurred_at = excluded.occurred_at, location = excluded.location, code = excluded.code, \
             behaviour = excluded.behaviour, points = excluded.points, fine_fen = excluded.fine_fen, \
             counter_only = excluded.counter_only, \
             decision_no = COALESCE(violations.decision_no, excluded.decision_no), \
             decided_on = CASE WHEN violations.decision_no IS NULL THEN excluded.decided_on \
             ELSE violations.decided_on END, \
             party_id_number = CASE WHEN violations.decision_no IS NULL THEN excluded.party_id_number \
             ELSE violations.party_id_number END, \
             paid = CASE WHEN violations.paid = 1 OR excluded.paid = 1 THEN 1 ELSE 0 END, \
             updated_at = excluded.updated_at \
             RETURNING decision_no, paid",
        )
        .bind(row.record_no.as_str())
        .bind(row.plate.as_str())
        .bind(row.plate_type.code())
        .bind(row.occurred_at)
        .bind(row.location.as_str())
        .bind(row.code.as_str())
        .bind(row.behaviour.as_str())
        .bind(row.points)
        .bind(row.fine.fen())
        .bind(i64::from(row.counter_only))
        .bind(decision.map(|d| d.decision_no.clone()))
        .bind(decision.map(|d| d.decided_on.clone()))
        .bind(decision.map(|d| d.party_id_number.clone()))
        .bind(i64::from(row.paid))
        .bind(now())
        .fetch_one(&mut **tx)
        .await?;
        let kept_decision =
            stored.try_get::<Option<String>, _>("decision_no")? != decision.map(|d| d.decision_no.clone());
        let kept_payment = (stored.try_get::<i64, _>("paid")? == 1) != row.paid;
        report.count(existed);
        if kept_decision || kept_payment {
            report.kept += 1;
        }
    }
    Ok(report)
}

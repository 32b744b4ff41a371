//! `violations.csv`: violation records, untreated or already decided (and perhaps paid) at the counter.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use sqlx::{Any, Row, Transaction};

use super::sql::{fetch_in, Dest, Planned, Table, Ty, Value};
use super::{has_shape, in_app_years, parse_date, parse_flag, Errors, Fields, ImportReport, Parsed, RowError};
use crate::domain::{CivilDate, DecisionNo, Fen, Plate, PlateType};
use crate::platform::db::Db;
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
pub(super) fn decision_key(violation: &Violation) -> Option<(&'static str, &str)> {
    violation.decision.as_ref().map(|d| ("decision_no", d.decision_no.as_str()))
}

/// A decision number the file brings must not belong to another record already.
pub(super) async fn check(db: &Db, rows: &[Parsed<Violation>], errors: &mut Errors) -> Result<(), sqlx::Error> {
    let numbers: Vec<&str> =
        rows.iter().filter_map(|p| p.row.decision.as_ref().map(|d| d.decision_no.as_str())).collect();
    if numbers.is_empty() {
        return Ok(());
    }
    let mut conn = db.pool().acquire().await?;
    let holders: HashMap<String, String> =
        fetch_in(&mut conn, "SELECT decision_no, record_no FROM violations WHERE decision_no IN", &numbers, "")
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    for Parsed { line, row } in rows {
        let Some(decision) = &row.decision else { continue };
        if let Some(holder) = holders.get(&decision.decision_no).filter(|holder| **holder != row.record_no) {
            errors.push(RowError {
                line: *line,
                reason: format!("decision_no {} 已属于违法记录 {holder}", decision.decision_no),
            });
        }
    }
    Ok(())
}

/// The violations table as an import writes it. The conflict clause repeats the rule the rows were planned by
/// (a stored decision stays, a paid record stays paid) against the row as the upsert finds it.
const TABLE: Table = Table {
    name: "violations",
    key: &["record_no"],
    columns: &[
        ("record_no", Ty::Text),
        ("plate", Ty::Text),
        ("plate_type", Ty::Text),
        ("occurred_at", Ty::Int),
        ("location", Ty::Text),
        ("code", Ty::Text),
        ("behaviour", Ty::Text),
        ("points", Ty::Int),
        ("fine_fen", Ty::Int),
        ("counter_only", Ty::Int),
        ("decision_no", Ty::Text),
        ("decided_on", Ty::Text),
        ("party_id_number", Ty::Text),
        ("paid", Ty::Int),
    ],
    on_conflict: Some(
        "plate = excluded.plate, plate_type = excluded.plate_type, \
         occurred_at = excluded.occurred_at, location = excluded.location, code = excluded.code, \
         behaviour = excluded.behaviour, points = excluded.points, fine_fen = excluded.fine_fen, \
         counter_only = excluded.counter_only, \
         decision_no = COALESCE(violations.decision_no, excluded.decision_no), \
         decided_on = CASE WHEN violations.decision_no IS NULL THEN excluded.decided_on \
         ELSE violations.decided_on END, \
         party_id_number = CASE WHEN violations.decision_no IS NULL THEN excluded.party_id_number \
         ELSE violations.party_id_number END, \
         paid = CASE WHEN violations.paid = 1 OR excluded.paid = 1 THEN 1 ELSE 0 END, \
         updated_at = excluded.updated_at",
    ),
};

/// Index of `decision_no` in `TABLE.columns`; the decision's three columns and `paid` follow it.
const DECISION: usize = 10;

/// Upserts the rows. Re-import never undoes the app's work: a stored decision stays and a paid record stays paid,
/// decided against the stored rows as this transaction holds them (locked on PostgreSQL, under the write lock on
/// SQLite), so a 接受处理 or a payment committed while the file is being written is never overwritten. A file
/// that brings a different decision for a record the app decided is reported in `contradictions`.
pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    dest: &mut Dest,
    rows: &[Parsed<Violation>],
    contradictions: &mut Vec<RowError>,
) -> Result<ImportReport, sqlx::Error> {
    let keys: Vec<&str> = rows.iter().map(|p| p.row.record_no.as_str()).collect();
    let stored = TABLE.stored(tx, dest.backend, &keys).await?;
    let mut planned = Vec::with_capacity(rows.len());
    for Parsed { line, row } in rows {
        let decision = row.decision.as_ref();
        let mut values = vec![
            Value::text(row.record_no.as_str()),
            Value::text(row.plate.as_str()),
            Value::text(row.plate_type.code()),
            Value::Int(Some(row.occurred_at)),
            Value::text(row.location.as_str()),
            Value::text(row.code.as_str()),
            Value::text(row.behaviour.as_str()),
            Value::Int(Some(row.points)),
            Value::Int(Some(row.fine.fen())),
            Value::Int(Some(i64::from(row.counter_only))),
            Value::Text(decision.map(|d| d.decision_no.clone())),
            Value::Text(decision.map(|d| d.decided_on.clone())),
            Value::Text(decision.map(|d| d.party_id_number.clone())),
            Value::Int(Some(i64::from(row.paid))),
        ];
        let mut kept = false;
        if let Some(before) = stored.get(&row.record_no) {
            if let Value::Text(Some(stored_no)) = &before[DECISION] {
                if let Some(file) = decision.filter(|d| d.decision_no != *stored_no) {
                    contradictions.push(RowError {
                        line: *line,
                        reason: format!(
                            "违法记录 {} 在应用内已由决定书 {stored_no} 处理，文件中的决定书 {} 与之不符，\
                             保留应用内的处理结果",
                            row.record_no, file.decision_no
                        ),
                    });
                }
                kept |= decision.is_none_or(|d| d.decision_no != *stored_no);
                values[DECISION..DECISION + 3].clone_from_slice(&before[DECISION..DECISION + 3]);
            }
            if before[DECISION + 3] == Value::Int(Some(1)) && !row.paid {
                kept = true;
                values[DECISION + 3] = Value::Int(Some(1));
            }
        }
        planned.push(Planned { values, kept });
    }
    TABLE.apply(tx, dest, &stored, planned).await
}

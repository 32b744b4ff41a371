//! `vehicles.csv`: registered vehicles and the service card each is bound to, if any, and since when.

use sqlx::{Any, Transaction};

use super::{Fields, ImportError, ImportReport, Parsed, RowError};
use crate::domain::{CardNo, CivilDate, IdNumber, Plate, PlateType};
use crate::platform::db::Db;
use crate::platform::now;

pub(super) const COLUMNS: &[&str] = &["plate", "plate_type", "vehicle_type", "owner_id_number", "card_no", "bound_on"];
/// `bound_on` may be left out: files written before it existed still import.
pub(super) const OPTIONAL_COLUMNS: usize = 1;

/// Longest vehicle type description accepted, in characters (e.g. `小型纯电动轿车`).
const VEHICLE_TYPE_MAX_CHARS: usize = 20;

/// One vehicle.
pub(super) struct Vehicle {
    plate: Plate,
    plate_type: PlateType,
    vehicle_type: String,
    owner_id_number: IdNumber,
    card_no: Option<CardNo>,
    /// When the bank bound the vehicle to the card, if the file says: the start of that day in Asia/Shanghai.
    bound_at: Option<i64>,
}

pub(super) fn parse(fields: &mut Fields) -> Option<Vehicle> {
    let vehicle = fields.vehicle();
    let vehicle_type = fields.parse("vehicle_type", |text| {
        let chars = text.chars().count();
        if (1..=VEHICLE_TYPE_MAX_CHARS).contains(&chars) {
            Ok(text.to_owned())
        } else {
            Err(format!("车辆类型应为1至{VEHICLE_TYPE_MAX_CHARS}个字"))
        }
    });
    let owner_id_number = fields.id_number("owner_id_number");
    let card_no =
        fields.parse("card_no", |text| if text.is_empty() { Ok(None) } else { CardNo::parse(text).map(Some) });
    let bound_at =
        fields.parse("bound_on", |text| if text.is_empty() { Ok(None) } else { binding_day(text).map(Some) });
    let (plate, plate_type) = vehicle?;
    let (card_no, bound_at) = (card_no?, bound_at?);
    if bound_at.is_some() && card_no.is_none() {
        fields.reject("bound_on", "只能在填写了 card_no 时填写");
        return None;
    }
    Some(Vehicle {
        plate,
        plate_type,
        vehicle_type: vehicle_type?,
        owner_id_number: owner_id_number?,
        card_no,
        bound_at,
    })
}

/// A binding day: a real date, not after today.
fn binding_day(text: &str) -> Result<i64, &'static str> {
    super::parse_date(text)?;
    let day = CivilDate::parse(text).ok_or("不是真实存在的日期")?;
    if day > CivilDate::shanghai_today_from_epoch(now()) {
        return Err("不能晚于今天");
    }
    Ok(day.shanghai_midnight())
}

pub(super) fn key(vehicle: &Vehicle) -> String {
    format!("{}/{}", vehicle.plate, vehicle.plate_type.code())
}

/// Every card the file names must exist; cards are never deleted, so the check holds while the file is written.
pub(super) async fn check(db: &Db, rows: &[Parsed<Vehicle>]) -> Result<(), ImportError> {
    let mut unknown_cards = Vec::new();
    for Parsed { line, row: vehicle } in rows {
        let Some(card_no) = &vehicle.card_no else { continue };
        let known = sqlx::query("SELECT 1 FROM cards WHERE card_no = $1")
            .bind(card_no.as_str())
            .fetch_optional(db.pool())
            .await?
            .is_some();
        if !known {
            unknown_cards.push(RowError {
                line: *line,
                reason: format!("card_no 交通服务卡 {card_no} 不存在，请先导入 cards.csv"),
            });
        }
    }
    if unknown_cards.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Rows(unknown_cards))
    }
}

/// A stored vehicle's card and the time it joined that card.
#[derive(sqlx::FromRow)]
struct Binding {
    card_no: Option<String>,
    bound_at: Option<i64>,
}

pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    rows: &[Parsed<Vehicle>],
) -> Result<ImportReport, sqlx::Error> {
    let mut report = ImportReport::default();
    let now = now();
    for Parsed { row: vehicle, .. } in rows {
        let stored: Option<Binding> =
            sqlx::query_as("SELECT card_no, bound_at FROM vehicles WHERE plate = $1 AND plate_type = $2")
                .bind(vehicle.plate.as_str())
                .bind(vehicle.plate_type.code())
                .fetch_optional(&mut **tx)
                .await?;
        let card_no = vehicle.card_no.as_ref().map(CardNo::as_str);
        // The binding date is when the vehicle joined its current card: the file's, or else the import's that
        // first put it there, so it survives re-imports.
        let bound_at = match (&stored, card_no) {
            (_, None) => None,
            (_, Some(_)) if vehicle.bound_at.is_some() => vehicle.bound_at,
            (Some(Binding { card_no: Some(stored_card), bound_at }), Some(card)) if stored_card == card => {
                bound_at.or(Some(now))
            }
            (_, Some(_)) => Some(now),
        };
        sqlx::query(
            "INSERT INTO vehicles (plate, plate_type, vehicle_type, owner_id_number, card_no, bound_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (plate, plate_type) DO UPDATE SET vehicle_type = excluded.vehicle_type, \
             owner_id_number = excluded.owner_id_number, card_no = excluded.card_no, \
             bound_at = excluded.bound_at, updated_at = excluded.updated_at",
        )
        .bind(vehicle.plate.as_str())
        .bind(vehicle.plate_type.code())
        .bind(vehicle.vehicle_type.as_str())
        .bind(vehicle.owner_id_number.as_str())
        .bind(card_no)
        .bind(bound_at)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        report.count(stored.is_some());
    }
    Ok(report)
}

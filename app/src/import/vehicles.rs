//! `vehicles.csv`: registered vehicles and the service card each is bound to, if any, and since when.

use std::collections::HashSet;

use sqlx::{Any, Row, Transaction};

use super::sql::{fetch_in, Dest, Planned, Table, Ty, Value};
use super::{parse_as_of, Errors, Fields, ImportReport, Parsed, RowError};
use crate::domain::{CardNo, CivilDate, IdNumber, Plate, PlateType};
use crate::platform::db::Db;
use crate::platform::now;

pub(super) const COLUMNS: &[&str] =
    &["plate", "plate_type", "vehicle_type", "owner_id_number", "card_no", "bound_on", "as_of"];
/// `bound_on` and `as_of` may be left out: files written before they existed still import.
pub(super) const OPTIONAL_COLUMNS: usize = 2;

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
    /// When the bank exported the row: it reflects the drivers' unbindings the app exported before then.
    as_of: Option<i64>,
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
    let as_of = fields.parse("as_of", parse_as_of);
    let (plate, plate_type) = vehicle?;
    let (card_no, bound_at, as_of) = (card_no?, bound_at?, as_of?);
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
        as_of,
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
pub(super) async fn check(db: &Db, rows: &[Parsed<Vehicle>], errors: &mut Errors) -> Result<(), sqlx::Error> {
    let named: Vec<&str> = rows.iter().filter_map(|p| p.row.card_no.as_ref().map(CardNo::as_str)).collect();
    if named.is_empty() {
        return Ok(());
    }
    let mut conn = db.pool().acquire().await?;
    let known: HashSet<String> = fetch_in(&mut conn, "SELECT card_no FROM cards WHERE card_no IN", &named, "")
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    for Parsed { line, row: vehicle } in rows {
        let Some(card_no) = &vehicle.card_no else { continue };
        if !known.contains(card_no.as_str()) {
            errors.push(RowError {
                line: *line,
                reason: format!("card_no 交通服务卡 {card_no} 不存在，请先导入 cards.csv"),
            });
        }
    }
    Ok(())
}

/// The vehicles table as an import writes it.
const TABLE: Table = Table {
    name: "vehicles",
    key: &["plate", "plate_type"],
    columns: &[
        ("plate", Ty::Text),
        ("plate_type", Ty::Text),
        ("vehicle_type", Ty::Text),
        ("owner_id_number", Ty::Text),
        ("card_no", Ty::Text),
        ("bound_at", Ty::Int),
    ],
    on_conflict: None,
};

/// Upserts the rows. The bank's file is authoritative for bindings as of its `as_of`: while a driver's unbinding in
/// the app is not yet acknowledged ([`crate::export::unbinding_stands`]), the row's card is not applied and the
/// vehicle keeps the card (or none) the app holds.
pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    dest: &mut Dest,
    rows: &[Parsed<Vehicle>],
) -> Result<ImportReport, sqlx::Error> {
    let plates: Vec<&str> = rows.iter().map(|p| p.row.plate.as_str()).collect();
    let stored = TABLE.stored(tx, dest.backend, &plates).await?;
    let any_unbinding = crate::export::any_unacknowledged(tx, "unbindings").await?;
    let now = now();
    let mut planned = Vec::with_capacity(rows.len());
    for Parsed { row: vehicle, .. } in rows {
        let key = format!("{}/{}", vehicle.plate, vehicle.plate_type.code());
        let before = stored.get(&key).map(|values| Binding::of(values));
        let unbound_in_app = any_unbinding && crate::export::unbinding_stands(tx, &key, vehicle.as_of).await?;
        let file_card = vehicle.card_no.as_ref().map(CardNo::as_str);
        let stored_card = before.as_ref().and_then(|s| s.card_no);
        let kept = unbound_in_app && stored_card != file_card;
        let card_no = if kept { stored_card } else { file_card };
        // The binding date is when the vehicle joined its current card: the file's, or else the import's that
        // first put it there, so it survives re-imports.
        let bound_at = match (&before, card_no) {
            (Some(before), _) if kept => before.bound_at,
            (_, None) => None,
            (_, Some(_)) if vehicle.bound_at.is_some() => vehicle.bound_at,
            (Some(Binding { card_no: Some(stored_card), bound_at }), Some(card)) if *stored_card == card => {
                bound_at.or(Some(now))
            }
            (_, Some(_)) => Some(now),
        };
        planned.push(Planned {
            values: vec![
                Value::text(vehicle.plate.as_str()),
                Value::text(vehicle.plate_type.code()),
                Value::text(vehicle.vehicle_type.as_str()),
                Value::text(vehicle.owner_id_number.as_str()),
                Value::Text(card_no.map(str::to_owned)),
                Value::Int(bound_at),
            ],
            kept,
        });
    }
    TABLE.apply(tx, dest, &stored, planned).await
}

/// A stored vehicle's card and the time it joined that card.
struct Binding<'a> {
    card_no: Option<&'a str>,
    bound_at: Option<i64>,
}

impl<'a> Binding<'a> {
    /// Reads them from the stored values, in `TABLE.columns` order.
    fn of(values: &'a [Value]) -> Self {
        let card_no = match &values[4] {
            Value::Text(card) => card.as_deref(),
            Value::Int(_) => None,
        };
        let bound_at = match values[5] {
            Value::Int(at) => at,
            Value::Text(_) => None,
        };
        Binding { card_no, bound_at }
    }
}

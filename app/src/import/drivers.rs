//! `drivers.csv`: driving licences as the traffic police hold them.

use sqlx::{Any, Transaction};

use super::sql::{Dest, Planned, Table, Ty, Value};
use super::{parse_as_of, parse_date, Fields, ImportReport, Parsed};
use crate::domain::{IdNumber, LicenceClass, LicenceStatus, PersonName};

pub(super) const COLUMNS: &[&str] =
    &["id_number", "name", "licence_class", "licence_status", "first_issued", "cycle_points", "as_of"];
/// `as_of` may be left out: files written before it existed still import, acknowledging none of the app's points.
pub(super) const OPTIONAL_COLUMNS: usize = 1;

/// One licence holder.
pub(super) struct Driver {
    id_number: IdNumber,
    name: PersonName,
    licence_class: LicenceClass,
    licence_status: LicenceStatus,
    first_issued: String,
    cycle_points: i64,
    /// When the police exported the row: it reflects the app's decisions exported before then.
    as_of: Option<i64>,
}

pub(super) fn parse(fields: &mut Fields) -> Option<Driver> {
    let id_number = fields.id_number("id_number");
    let name = fields.parse("name", PersonName::parse);
    let licence_class = fields.parse("licence_class", LicenceClass::parse);
    let licence_status = fields.parse("licence_status", |text| {
        LicenceStatus::parse(text).map_err(|e| format!("{e}（应为 normal、suspended、revoked 或 expired）"))
    });
    let first_issued = fields.parse("first_issued", parse_date);
    let cycle_points = fields.parse("cycle_points", |text| {
        text.parse::<i64>()
            .ok()
            .filter(|points| text.bytes().all(|b| b.is_ascii_digit()) && (0..=99).contains(points))
            .ok_or("应为0至99的整数")
    });
    let as_of = fields.parse("as_of", parse_as_of);
    Some(Driver {
        id_number: id_number?,
        name: name?,
        licence_class: licence_class?,
        licence_status: licence_status?,
        first_issued: first_issued?.format("%Y-%m-%d").to_string(),
        cycle_points: cycle_points?,
        as_of: as_of?,
    })
}

pub(super) fn key(driver: &Driver) -> String {
    driver.id_number.to_string()
}

/// The drivers table as an import writes it.
const TABLE: Table = Table {
    name: "drivers",
    key: &["id_number"],
    columns: &[
        ("id_number", Ty::Text),
        ("name", Ty::Text),
        ("licence_class", Ty::Text),
        ("licence_status", Ty::Text),
        ("first_issued", Ty::Text),
        ("cycle_points", Ty::Int),
    ],
    on_conflict: None,
};

/// Upserts the rows. The police file is authoritative for the licence and its points as of its `as_of`; the points
/// of the app's own decisions it does not yet acknowledge are kept on top of its figure
/// ([`crate::export::pending_points`]), so they are neither lost nor, once acknowledged, counted twice.
pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    dest: &mut Dest,
    rows: &[Parsed<Driver>],
) -> Result<ImportReport, sqlx::Error> {
    let keys: Vec<&str> = rows.iter().map(|p| p.row.id_number.as_str()).collect();
    let stored = TABLE.stored(tx, dest.backend, &keys).await?;
    // Only while some decision is not yet acknowledged can a driver have points pending, or a file acknowledge any.
    let any_pending = crate::export::any_unacknowledged(tx, "decisions").await?;
    let mut planned = Vec::with_capacity(rows.len());
    for Parsed { row: driver, .. } in rows {
        let pending = if any_pending {
            crate::export::pending_points(tx, driver.id_number.as_str(), driver.as_of).await?
        } else {
            0
        };
        planned.push(Planned {
            values: vec![
                Value::text(driver.id_number.as_str()),
                Value::text(driver.name.as_str()),
                Value::text(driver.licence_class.code()),
                Value::text(driver.licence_status.code()),
                Value::text(driver.first_issued.as_str()),
                Value::Int(Some(driver.cycle_points + pending)),
            ],
            kept: pending > 0,
        });
    }
    TABLE.apply(tx, dest, &stored, planned).await
}

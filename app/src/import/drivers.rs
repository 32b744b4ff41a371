//! `drivers.csv`: driving licences as the traffic police hold them.

use sqlx::{Any, Transaction};

use super::{parse_as_of, parse_date, Fields, ImportReport, Parsed};
use crate::domain::{IdNumber, LicenceClass, LicenceStatus, PersonName};
use crate::platform::now;

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

/// Upserts the rows. The police file is authoritative for the licence and its points as of its `as_of`; the points
/// of the app's own decisions it does not yet acknowledge are kept on top of its figure
/// ([`crate::export::pending_points`]), so they are neither lost nor, once acknowledged, counted twice.
pub(super) async fn write(
    tx: &mut Transaction<'static, Any>,
    rows: &[Parsed<Driver>],
) -> Result<ImportReport, sqlx::Error> {
    let mut report = ImportReport::default();
    for Parsed { row: driver, .. } in rows {
        let existed = sqlx::query("SELECT 1 FROM drivers WHERE id_number = $1")
            .bind(driver.id_number.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        let pending = crate::export::pending_points(tx, driver.id_number.as_str(), driver.as_of).await?;
        sqlx::query(
            "INSERT INTO drivers (id_number, name, licence_class, licence_status, first_issued, cycle_points, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, licence_class = excluded.licence_class, \
             licence_status = excluded.licence_status, first_issued = excluded.first_issued, \
             cycle_points = excluded.cycle_points, updated_at = excluded.updated_at",
        )
        .bind(driver.id_number.as_str())
        .bind(driver.name.as_str())
        .bind(driver.licence_class.code())
        .bind(driver.licence_status.code())
        .bind(driver.first_issued.as_str())
        .bind(driver.cycle_points + pending)
        .bind(now())
        .execute(&mut **tx)
        .await?;
        report.count(existed);
        if pending > 0 {
            report.kept += 1;
        }
    }
    Ok(report)
}

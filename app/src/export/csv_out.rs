//! The rows of one export run and the file they make: UTF-8 without a BOM (the files are for loading, not for
//! Excel), a header row, RFC 4180 quoting, `\n` line ends; money in integer fen, times `YYYY-MM-DD HH:MM:SS` in
//! Asia/Shanghai.

use sqlx::{Any, Row, Transaction};

use super::{shanghai_second, Kind};

/// The claimed events of run `run`, and with `since` every event of the kind since then, oldest first.
pub(super) async fn rows(
    tx: &mut Transaction<'static, Any>,
    kind: Kind,
    run: i64,
    since: Option<i64>,
) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let select = match kind {
        Kind::Decisions => {
            "SELECT x.decision_no, x.record_no, x.party_id_number, x.points, x.fine_fen, x.decided_on, \
             e.occurred_at FROM exchange_events e JOIN violations x ON x.decision_no = e.subject"
        }
        Kind::Payments => {
            "SELECT o.receipt_no, o.decision_no, o.fine_fen, o.late_fee_fen, o.amount_fen, o.channel, o.txn_id, \
             o.paid_at FROM exchange_events e JOIN payment_orders o ON o.order_no = e.subject"
        }
        Kind::Unbindings => "SELECT e.subject, e.related, e.occurred_at FROM exchange_events e",
        Kind::Cards => {
            "SELECT c.card_no, c.id_number, c.name, c.phone, e.status, e.related, e.occurred_at \
             FROM exchange_events e JOIN cards c ON c.card_no = e.subject"
        }
    };
    let which = if since.is_some() { "(e.export_run = $2 OR e.occurred_at >= $3)" } else { "e.export_run = $2" };
    let sql = format!("{select} WHERE e.kind = $1 AND {which} ORDER BY e.occurred_at, e.id");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(kind.name()).bind(run);
    if let Some(since) = since {
        query = query.bind(since);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter().map(|row| fields(kind, row)).collect()
}

fn fields(kind: Kind, row: &sqlx::any::AnyRow) -> Result<Vec<String>, sqlx::Error> {
    let text = |column: &str| -> Result<String, sqlx::Error> {
        Ok(row.try_get::<Option<String>, _>(column)?.unwrap_or_default())
    };
    let number = |column: &str| -> Result<String, sqlx::Error> { Ok(row.try_get::<i64, _>(column)?.to_string()) };
    let time = |column: &str| -> Result<String, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(shanghai_second).unwrap_or_default())
    };
    Ok(match kind {
        Kind::Decisions => vec![
            text("decision_no")?,
            text("record_no")?,
            text("party_id_number")?,
            number("points")?,
            number("fine_fen")?,
            text("decided_on")?,
            time("occurred_at")?,
        ],
        Kind::Payments => vec![
            text("receipt_no")?,
            text("decision_no")?,
            number("fine_fen")?,
            number("late_fee_fen")?,
            number("amount_fen")?,
            text("channel")?,
            text("txn_id")?,
            time("paid_at")?,
        ],
        Kind::Unbindings => {
            let subject = text("subject")?;
            let (plate, plate_type) = subject.split_once('/').unwrap_or((&subject, ""));
            vec![plate.to_string(), plate_type.to_string(), text("related")?, time("occurred_at")?]
        }
        Kind::Cards => vec![
            text("card_no")?,
            text("id_number")?,
            text("name")?,
            text("phone")?,
            text("status")?,
            text("related")?,
            time("occurred_at")?,
        ],
    })
}

/// The file: the header row, then the rows.
pub(super) fn file(kind: Kind, rows: &[Vec<String>]) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    writer.write_record(kind.columns())?;
    for row in rows {
        writer.write_record(row)?;
    }
    writer.into_inner().map_err(|e| e.into_error())
}

//! Exports to the systems of record (issue 20): the decisions made, fines paid, vehicles unbound and cards issued in
//! the app, as UTF-8 CSV files the police and the bank load back, and the rule that decides when their own files
//! have caught up with those events.
//!
//! Every such change writes an [`record`] row in its own transaction, unclaimed. An export run claims, in one
//! transaction, every unclaimed row of its kind and writes them; the newest run is the kind's watermark. Claiming
//! instead of reading "ids above the last one" is what makes it commit-safe: on PostgreSQL a transaction that took
//! id 10 may commit after one that took id 11, and a run between them would skip 10 for ever behind an id watermark.
//! Here 10 is simply unclaimed until the next run, whichever order the commits came in.
//!
//! A police or bank file says when it was exported (`as_of`). An event the app exported in a run at or before that
//! moment is one the file reflects: it is acknowledged, and from then on the file's figures stand alone. An event
//! not yet acknowledged stays in force over the file (see [`pending_points`] and [`unbinding_stands`]).
//! Server only; the areas that make the changes call [`record`], the console and `server export` call [`export`].

mod csv_out;
#[cfg(test)]
mod tests;

use std::fmt;

use sqlx::{Any, Row, Transaction};

use crate::platform::audit::{self, Actor};
use crate::platform::db::Db;
use crate::platform::now;

/// Which events a file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `decisions.csv`, for the police: decisions made by 接受处理 in the app.
    Decisions,
    /// `payments.csv`, for the bank: fines paid through the app.
    Payments,
    /// `unbindings.csv`, for the bank: vehicles their drivers took off their card in the app.
    Unbindings,
    /// `cards.csv`, for the bank: cards the app issued (批准制卡) and handed over (确认领卡).
    Cards,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Decisions, Kind::Payments, Kind::Unbindings, Kind::Cards];

    /// Reads `decisions`, `payments`, `unbindings` or `cards`.
    pub fn parse(name: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The kind's name, as stored and as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Decisions => "decisions",
            Kind::Payments => "payments",
            Kind::Unbindings => "unbindings",
            Kind::Cards => "cards",
        }
    }

    /// The header row of the kind's file.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Decisions => {
                &["decision_no", "record_no", "party_id_number", "points", "fine_fen", "decided_on", "decided_at"]
            }
            Kind::Payments => {
                &["receipt_no", "decision_no", "fine_fen", "late_fee_fen", "amount_fen", "channel", "txn_id", "paid_at"]
            }
            Kind::Unbindings => &["plate", "plate_type", "card_no", "unbound_at"],
            Kind::Cards => &["card_no", "id_number", "name", "phone", "status", "application_no", "changed_at"],
        }
    }

    /// The system of record the file is for: the police take decisions, the bank the rest.
    pub fn for_police(self) -> bool {
        self == Kind::Decisions
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Records, inside the change's own transaction, that the app did something the kind's system of record must
/// learn. `subject` names it (decision_no, order_no, `plate/plate_type`, card_no); `related` is the card an unbound
/// vehicle left or a card's application; `status` a card's new status.
pub async fn record(
    tx: &mut Transaction<'static, Any>,
    kind: Kind,
    subject: &str,
    related: Option<&str>,
    status: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO exchange_events (kind, subject, related, status, occurred_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(kind.name())
    .bind(subject)
    .bind(related)
    .bind(status)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A finished export run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The run's number, the kind's watermark from now on.
    pub run: i64,
    /// Data rows written (the header not counted).
    pub rows: usize,
}

/// Why an export did not happen; in every case no event was claimed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("数据库读取失败，未导出：{0}")]
    Database(#[from] sqlx::Error),
    #[error("文件写入失败，未导出：{0}")]
    Write(#[from] std::io::Error),
}

/// Exports `kind`: claims every event not yet exported, and with `since` (epoch seconds) also writes again every
/// event of the kind that happened since then, exported or not. `deliver` gets the whole file before anything is
/// committed; when it fails nothing is claimed, so no event is lost to a file that was never written. The run, the
/// watermark and an audit row naming `actor` commit together.
pub async fn export(
    db: &Db,
    kind: Kind,
    since: Option<i64>,
    actor: Actor<'_>,
    deliver: impl FnOnce(&[u8]) -> std::io::Result<()>,
) -> Result<Exported, ExportError> {
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("export:{kind}")).await?;
    let at = now();
    let run: i64 =
        sqlx::query_scalar("INSERT INTO export_runs (kind, at, since, row_count) VALUES ($1, $2, $3, 0) RETURNING id")
            .bind(kind.name())
            .bind(at)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("UPDATE exchange_events SET export_run = $1 WHERE kind = $2 AND export_run IS NULL")
        .bind(run)
        .bind(kind.name())
        .execute(&mut *tx)
        .await?;
    let rows = csv_out::rows(&mut tx, kind, run, since).await?;
    let file = csv_out::file(kind, &rows)?;
    sqlx::query("UPDATE export_runs SET row_count = $1 WHERE id = $2")
        .bind(rows.len() as i64)
        .bind(run)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO export_watermarks (kind, last_run, at) VALUES ($1, $2, $3) \
         ON CONFLICT (kind) DO UPDATE SET last_run = excluded.last_run, at = excluded.at \
         WHERE export_watermarks.last_run < excluded.last_run",
    )
    .bind(kind.name())
    .bind(run)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let range = since.map_or(String::new(), |s| format!(", since {}", shanghai_second(s)));
    audit::record(
        &mut tx,
        actor,
        &format!("export.{kind}"),
        kind.name(),
        &format!("run {run}, {} rows{range}", rows.len()),
    )
    .await?;
    deliver(&file)?;
    tx.commit().await?;
    tracing::info!(%kind, run, rows = rows.len(), "exported");
    Ok(Exported { run, rows: rows.len() })
}

/// The newest run of a kind: its number and when it ran.
pub async fn watermark(db: &Db, kind: Kind) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let row = sqlx::query("SELECT last_run, at FROM export_watermarks WHERE kind = $1")
        .bind(kind.name())
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok((r.try_get::<i64, _>("last_run")?, r.try_get::<i64, _>("at")?))).transpose()
}

/// The points of the app's decisions against `id_number` that the police have not acknowledged, after
/// acknowledging those a police row exported at `as_of` reflects: the decisions in export runs at or before it.
/// A row without `as_of` acknowledges nothing: it cannot show it knew of them.
pub async fn pending_points(
    tx: &mut Transaction<'static, Any>,
    id_number: &str,
    as_of: Option<i64>,
) -> Result<i64, sqlx::Error> {
    if let Some(as_of) = as_of {
        let theirs = "subject IN (SELECT decision_no FROM violations WHERE party_id_number = $5)";
        acknowledge(tx, "decisions", theirs, id_number, as_of).await?;
    }
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(x.points), 0) AS BIGINT) FROM violations x \
         JOIN exchange_events e ON e.kind = 'decisions' AND e.subject = x.decision_no \
         WHERE x.party_id_number = $1 AND e.acknowledged_at IS NULL",
    )
    .bind(id_number)
    .fetch_one(&mut **tx)
    .await
}

/// Whether any event of `kind` (`decisions`, `unbindings`) is not yet acknowledged by a file from the system of
/// record. While none is, no driver has points pending and no unbinding stands, so an import asks nothing per row.
pub async fn any_unacknowledged(tx: &mut Transaction<'static, Any>, kind: &str) -> Result<bool, sqlx::Error> {
    let any = sqlx::query("SELECT 1 FROM exchange_events WHERE kind = $1 AND acknowledged_at IS NULL LIMIT 1")
        .bind(kind)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(any.is_some())
}

/// Whether a driver's unbinding of the vehicle still stands against a bank row exported at `as_of`, after
/// acknowledging the unbindings that row reflects (exported in runs at or before it). While one stands, the bank's
/// row does not put the vehicle back on a card.
pub async fn unbinding_stands(
    tx: &mut Transaction<'static, Any>,
    vehicle: &str,
    as_of: Option<i64>,
) -> Result<bool, sqlx::Error> {
    if let Some(as_of) = as_of {
        acknowledge(tx, "unbindings", "subject = $5", vehicle, as_of).await?;
    }
    let standing = sqlx::query(
        "SELECT 1 FROM exchange_events WHERE kind = 'unbindings' AND subject = $1 AND acknowledged_at IS NULL",
    )
    .bind(vehicle)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(standing.is_some())
}

/// Marks acknowledged the unacknowledged events of `kind` that a run at or before `as_of` exported and that
/// `subjects` (a condition on `subject`, with `$5` standing for `key`) picks: the file from the system of record
/// was made after it had them.
async fn acknowledge(
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    subjects: &'static str,
    key: &str,
    as_of: i64,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE exchange_events SET acknowledged_at = $1 WHERE kind = $2 AND acknowledged_at IS NULL \
         AND export_run IN (SELECT id FROM export_runs WHERE kind = $3 AND at <= $4) AND {subjects}"
    );
    // `subjects` is one of this module's literals; every value is bound.
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now())
        .bind(kind)
        .bind(kind)
        .bind(as_of)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An instant written `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai, as epoch seconds.
pub fn parse_shanghai_time(text: &str) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime};
    let local = match text.len() {
        10 => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?,
        16 => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").ok()?,
        19 => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?,
        _ => return None,
    };
    Some(local.and_utc().timestamp() - SHANGHAI_OFFSET_SECS)
}

/// Asia/Shanghai is UTC+8 all year.
const SHANGHAI_OFFSET_SECS: i64 = 8 * 3600;

/// An instant as `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai, the export files' time format.
pub fn shanghai_second(epoch_secs: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_secs + SHANGHAI_OFFSET_SECS, 0)
        .unwrap_or_default()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

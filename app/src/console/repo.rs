//! The console's statements: staff accounts, staff sessions and the audit log search. The session store's own
//! statements (flash, sign-out) live in `platform::session`.

use sqlx::Row;

use super::model::AuditEntry;
use crate::platform::db::Db;

/// A staff account as the sign-in reads it.
#[derive(sqlx::FromRow)]
pub struct Login {
    pub id: i64,
    pub role: String,
    pub password_hash: String,
}

/// A live staff session and its account, as stored.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub token_hash: String,
    pub flash: Option<String>,
}

/// Adds a staff account unless the name is taken; whether it was added.
pub async fn insert_staff(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    username: &str,
    role: &str,
    password_hash: &str,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO staff (username, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (username) DO NOTHING",
    )
    .bind(username)
    .bind(role)
    .bind(password_hash)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// The staff account named `username`, for the password check.
pub async fn login(db: &Db, username: &str) -> Result<Option<Login>, sqlx::Error> {
    sqlx::query_as("SELECT id, role, password_hash FROM staff WHERE username = $1")
        .bind(username)
        .fetch_optional(db.pool())
        .await
}

/// Stores a new staff session.
pub async fn insert_session(
    db: &Db,
    token_hash: &str,
    staff_id: i64,
    at: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO staff_sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(staff_id)
        .bind(at)
        .bind(expires_at)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The staff session with this token hash and its account, if it is live at `now`.
pub async fn live_session(db: &Db, token_hash: &str, now: i64) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.username, s.role, x.token_hash, x.flash FROM staff_sessions x JOIN staff s ON s.id = x.staff_id \
         WHERE x.token_hash = $1 AND x.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await
}

/// What the audit search looks for: `LIKE` patterns (see `rules::contains_pattern`) and a `[from, to)` range.
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub from: i64,
    pub to: i64,
}

/// Audit log entries matching `filter`, newest first, at most `limit`.
pub async fn audit_entries(db: &Db, filter: &AuditFilter, limit: usize) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at, actor, channel, action, subject, detail FROM audit_log \
         WHERE actor LIKE $1 ESCAPE '\\' AND action LIKE $2 ESCAPE '\\' AND subject LIKE $3 ESCAPE '\\' \
         AND at >= $4 AND at < $5 ORDER BY at DESC, id DESC LIMIT $6",
    )
    .bind(&filter.actor)
    .bind(&filter.action)
    .bind(&filter.subject)
    .bind(filter.from)
    .bind(filter.to)
    .bind(limit as i64)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                at: crate::platform::shanghai_time(row.try_get("at")?),
                actor: row.try_get("actor")?,
                channel: row.try_get::<Option<String>, _>("channel")?.unwrap_or_default(),
                action: row.try_get("action")?,
                subject: row.try_get("subject")?,
                detail: row.try_get("detail")?,
            })
        })
        .collect()
}

/// A console import left unfinished this long was running on an instance that stopped: its progress row is
/// written about once a second while it runs.
pub const IMPORT_RUN_STALE_SECS: i64 = 60;

/// Starts a console import in the staff session `session_hash` and returns its run, or `None` while another of
/// the session's is running. The session's finished runs go, and so does a run whose instance stopped.
pub async fn start_import_run(
    db: &Db,
    staff_id: i64,
    session_hash: &str,
    file_name: &str,
    progress: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM import_runs WHERE session_hash = $1 AND (finished_at IS NOT NULL OR updated_at < $2)")
        .bind(session_hash)
        .bind(now - IMPORT_RUN_STALE_SECS)
        .execute(&mut *tx)
        .await?;
    let run: Option<i64> = sqlx::query_scalar(
        "INSERT INTO import_runs (staff_id, session_hash, file_name, progress, started_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(staff_id)
    .bind(session_hash)
    .bind(file_name)
    .bind(progress)
    .bind(now)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(run)
}

/// The progress line of a running console import.
pub async fn set_import_progress(db: &Db, run: i64, progress: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE import_runs SET progress = $1, updated_at = $2 WHERE id = $3 AND finished_at IS NULL")
        .bind(progress)
        .bind(now)
        .bind(run)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Marks a console import finished, once its outcome is stored for the staff member.
pub async fn finish_import_run(db: &Db, run: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE import_runs SET finished_at = $1, updated_at = $2 WHERE id = $3")
        .bind(now)
        .bind(now)
        .bind(run)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The staff session's running console import, if any: its file's name and progress line.
pub async fn running_import(db: &Db, session_hash: &str, now: i64) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT file_name, progress FROM import_runs \
         WHERE session_hash = $1 AND finished_at IS NULL AND updated_at >= $2",
    )
    .bind(session_hash)
    .bind(now - IMPORT_RUN_STALE_SECS)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((r.try_get("file_name")?, r.try_get("progress")?))).transpose()
}

//! Fixed-window rate limits kept in the database, so they hold across instances.

use sqlx::Row;

use super::db::Db;

/// Counts one hit on `bucket`; `false` once the window already holds `max` hits.
pub async fn allow(db: &Db, bucket: &str, window_secs: i64, max: i64) -> Result<bool, sqlx::Error> {
    let now = super::now();
    let window_start = now - now.rem_euclid(window_secs);
    let hits: i64 = sqlx::query(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(db.pool())
    .await?
    .get(0);
    Ok(hits <= max)
}

/// How many hits `bucket` holds in the current window, without counting one.
pub async fn hits(db: &Db, bucket: &str, window_secs: i64) -> Result<i64, sqlx::Error> {
    let now = super::now();
    let window_start = now - now.rem_euclid(window_secs);
    let row = sqlx::query("SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2")
        .bind(bucket)
        .bind(window_start)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map_or(0, |row| row.get(0)))
}

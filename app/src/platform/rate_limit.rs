//! Fixed-window rate limits kept in the database, so they hold across instances.

use super::db::Db;

/// Counts one hit on `bucket`; `false` once the window already holds `max` hits.
pub async fn allow(db: &Db, bucket: &str, window_secs: i64, max: i64) -> Result<bool, sqlx::Error> {
    let now = super::now();
    let window_start = now - now.rem_euclid(window_secs);
    let hits: i64 = sqlx::query_scalar(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(db.pool())
    .await?;
    Ok(hits <= max)
}

/// Takes back one hit counted on `bucket` in the current window (a sign-in that succeeded counts no failure).
pub async fn take_back(db: &Db, bucket: &str, window_secs: i64) -> Result<(), sqlx::Error> {
    let now = super::now();
    let window_start = now - now.rem_euclid(window_secs);
    sqlx::query("UPDATE rate_limits SET hits = hits - 1 WHERE bucket = $1 AND window_start = $2 AND hits > 0")
        .bind(bucket)
        .bind(window_start)
        .execute(db.pool())
        .await?;
    Ok(())
}

//! Removes rows that have served their purpose, so the tables behind sign-in, SMS codes, rate limits and payment
//! notifications stay the size of their live contents instead of growing with every visit.

use super::db::Db;

/// How long past its use a row is kept. Each is well beyond the longest window that still reads it.
const DAY: i64 = 24 * 3600;

/// Rows deleted per statement: a SQLite write holds the one write lock, so a large backlog goes in short steps.
const BATCH: i64 = 2000;

/// One table's purge: the rows it removes are those its `delete` finds older than `now - keep` (`$1`), at most
/// `$2` per statement, oldest first.
struct Purge {
    table: &'static str,
    keep: i64,
    delete: &'static str,
}

/// Each table's rows that no reader can need any more:
/// - sessions and console sessions past their expiry: reading them refuses them already;
/// - SMS codes sent more than a day ago: codes live minutes, and the send limit counts the last hour;
/// - sign-in states past their expiry: the callback refuses them already;
/// - rate-limit windows that started more than a day ago: the longest window is an hour;
/// - SMS outbox messages settled (sent or given up) more than a day ago: the dispatcher never reads them again;
/// - notification nonces seen more than a day ago: a notification more than 300 s from our clock is refused by its
///   timestamp, so a nonce can only be replayed within about ten minutes of its first use.
const PURGES: &[Purge] = &[
    Purge {
        table: "sessions",
        keep: 0,
        delete: "DELETE FROM sessions WHERE token_hash IN \
                 (SELECT token_hash FROM sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)",
    },
    Purge {
        table: "staff_sessions",
        keep: 0,
        delete: "DELETE FROM staff_sessions WHERE token_hash IN \
                 (SELECT token_hash FROM staff_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)",
    },
    Purge {
        table: "sign_in_states",
        keep: 0,
        delete: "DELETE FROM sign_in_states WHERE state_hash IN \
                 (SELECT state_hash FROM sign_in_states WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)",
    },
    Purge {
        table: "sms_codes",
        keep: DAY,
        delete: "DELETE FROM sms_codes WHERE id IN \
                 (SELECT id FROM sms_codes WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
    },
    Purge {
        table: "rate_limits",
        keep: DAY,
        delete: "DELETE FROM rate_limits WHERE (bucket, window_start) IN \
                 (SELECT bucket, window_start FROM rate_limits WHERE window_start < $1 ORDER BY window_start LIMIT $2)",
    },
    Purge {
        table: "sms_dispatch",
        keep: DAY,
        delete: "DELETE FROM sms_dispatch WHERE id IN \
                 (SELECT id FROM sms_dispatch WHERE settled_at < $1 ORDER BY settled_at LIMIT $2)",
    },
    Purge {
        table: "payment_nonces",
        keep: DAY,
        delete: "DELETE FROM payment_nonces WHERE nonce IN \
                 (SELECT nonce FROM payment_nonces WHERE seen_at < $1 ORDER BY seen_at LIMIT $2)",
    },
];

/// Deletes every row due at `now`, in batches; returns how many each table lost, in `PURGES` order.
pub async fn purge(db: &Db, now: i64) -> Result<Vec<(&'static str, u64)>, sqlx::Error> {
    let mut removed = Vec::with_capacity(PURGES.len());
    for purge in PURGES {
        let mut total = 0;
        loop {
            let done = sqlx::query(purge.delete).bind(now - purge.keep).bind(BATCH).execute(db.pool()).await?;
            total += done.rows_affected();
            if done.rows_affected() < BATCH as u64 {
                break;
            }
        }
        removed.push((purge.table, total));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::test_db::{assert_indexed, fresh_databases, fresh_sqlite};

    async fn count(db: &Db, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    async fn exec(db: &Db, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(db.pool()).await.unwrap();
    }

    /// Rows past their use go, live ones stay, and a backlog larger than one batch goes in full.
    #[tokio::test]
    async fn expired_rows_go_and_live_ones_stay() {
        let now = 2_000_000_000;
        for (backend, db) in fresh_databases().await {
            exec(&db, "INSERT INTO accounts (id, channel, platform_uid, created_at) VALUES (1, 'wechat', 'u1', 0)")
                .await;
            exec(
                &db,
                "INSERT INTO staff (id, username, password_hash, role, created_at) VALUES (1, 'op', 'x', 'bank', 0)",
            )
            .await;
            let old = now - DAY - 1;
            for i in 0..(BATCH + 5) {
                exec(&db, &format!("INSERT INTO payment_nonces (nonce, seen_at) VALUES ('old{i}', {old})")).await;
            }
            for (key, expires) in [("gone", now), ("live", now + 1)] {
                exec(&db, &format!(
                    "INSERT INTO sessions (token_hash, account_id, channel, created_at, expires_at) VALUES ('{key}', 1, 'wechat', 0, {expires})"
                ))
                .await;
                exec(&db, &format!(
                    "INSERT INTO staff_sessions (token_hash, staff_id, created_at, expires_at) VALUES ('{key}', 1, 0, {expires})"
                ))
                .await;
                exec(&db, &format!(
                    "INSERT INTO sign_in_states (state_hash, channel, provider, expires_at) VALUES ('{key}', 'wechat', 'platform', {expires})"
                ))
                .await;
            }
            for (n, at) in [(1, old), (2, now - DAY + 60)] {
                exec(&db, &format!(
                    "INSERT INTO sms_codes (id, phone, purpose, code_hash, created_at, expires_at) VALUES ({n}, '13800000000', 'realname', 'h', {at}, {at})"
                ))
                .await;
                exec(&db, &format!("INSERT INTO rate_limits (bucket, window_start, hits) VALUES ('b', {at}, 1)")).await;
                exec(&db, &format!("INSERT INTO payment_nonces (nonce, seen_at) VALUES ('n{n}', {at})")).await;
                exec(&db, &format!(
                    "INSERT INTO sms_dispatch (phone, template, state, due_at, created_at, settled_at) VALUES ('13800000000', 't', 'sent', {at}, {at}, {at})"
                ))
                .await;
            }
            // A message not yet settled stays, however old.
            exec(&db, &format!(
                "INSERT INTO sms_dispatch (phone, template, params, due_at, created_at) VALUES ('13800000000', 't', '[]', {old}, {old})"
            ))
            .await;

            let removed = purge(&db, now).await.unwrap();
            assert_eq!(
                removed,
                vec![
                    ("sessions", 1),
                    ("staff_sessions", 1),
                    ("sign_in_states", 1),
                    ("sms_codes", 1),
                    ("rate_limits", 1),
                    ("sms_dispatch", 1),
                    ("payment_nonces", BATCH as u64 + 6)
                ],
                "{backend}"
            );
            for table in ["sessions", "staff_sessions", "sign_in_states", "sms_codes", "rate_limits", "payment_nonces"]
            {
                assert_eq!(count(&db, table).await, 1, "{backend}: {table} keeps its live row");
            }
            assert_eq!(count(&db, "sms_dispatch").await, 2, "{backend}: the recent and the unsettled message stay");
            let live: String =
                sqlx::query_scalar("SELECT token_hash FROM sessions").fetch_one(db.pool()).await.unwrap();
            assert_eq!(live, "live", "{backend}");
            assert_eq!(
                purge(&db, now).await.unwrap().iter().map(|(_, n)| n).sum::<u64>(),
                0,
                "{backend}: nothing is left to purge"
            );
        }
    }

    /// Each purge finds its rows through an index, so an hourly run does not read a table of millions.
    #[tokio::test]
    async fn purges_find_their_rows_through_indexes() {
        let db = fresh_sqlite().await;
        for purge in PURGES {
            assert_indexed(&db, purge.table, purge.delete).await;
        }
    }
}

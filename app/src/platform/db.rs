//! One sqlx `Any` pool over SQLite (the embedded default) or PostgreSQL, with migrations per dialect.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};
use std::time::Duration;

/// Which database is behind the pool; SQL forks on this only where the dialects differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and the dialect it speaks.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// Each migration: version, SQLite text, PostgreSQL text.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        include_str!("../../migrations/sqlite/0002_sandbox_gateway.sql"),
        include_str!("../../migrations/postgres/0002_sandbox_gateway.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_payments.sql"),
        include_str!("../../migrations/postgres/0003_payments.sql"),
    ),
    (
        4,
        include_str!("../../migrations/sqlite/0004_rate_limits.sql"),
        include_str!("../../migrations/postgres/0004_rate_limits.sql"),
    ),
    (
        5,
        include_str!("../../migrations/sqlite/0005_study.sql"),
        include_str!("../../migrations/postgres/0005_study.sql"),
    ),
    (
        6,
        include_str!("../../migrations/sqlite/0006_card_applications.sql"),
        include_str!("../../migrations/postgres/0006_card_applications.sql"),
    ),
    (
        7,
        include_str!("../../migrations/sqlite/0007_console.sql"),
        include_str!("../../migrations/postgres/0007_console.sql"),
    ),
    (
        8,
        include_str!("../../migrations/sqlite/0008_payments_console.sql"),
        include_str!("../../migrations/postgres/0008_payments_console.sql"),
    ),
];

/// An arbitrary constant that names the migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK: i64 = 0x6461_6c69_616e;

impl Db {
    /// Connects to `url` (creating a SQLite file if needed) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(sqlx::Error::Configuration("DATABASE_URL must start with sqlite: or postgres:".into()));
        };
        // Connections are not pinged before each use: the ping was one more round trip per query (one more hand-off
        // to SQLite's worker thread) on every page. The cost: after a database restart, a request on a stale
        // connection can fail once and show the retry message.
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                AnyPoolOptions::new()
                    .max_connections(8)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?
            }
        };
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    /// The pool, for reads and single-statement writes.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The dialect behind the pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue on the busy timeout instead of failing with SQLITE_BUSY when a reader upgrades.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Serialises transactions that share `key` until the transaction ends. SQLite needs nothing: its write
    /// transactions are already serial.
    pub async fn lock(&self, tx: &mut Transaction<'static, Any>, key: &str) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(lock_id(key)).execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
        }
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row: &AnyRow| row.get::<i64, _>(0))
            .collect();
        for (version, sqlite, postgres) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *postgres,
            };
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(super::now())
                .execute(&mut *tx)
                .await?;
            tracing::info!(version, "applied migration");
        }
        tx.commit().await
    }
}

/// A stable 64-bit lock number for a text key (FNV-1a), the same on every instance.
fn lock_id(key: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

//! One sqlx `Any` pool over SQLite (the embedded default) or PostgreSQL, with migrations per dialect.

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor, Row, Transaction};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

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
    readers: Arc<Readers>,
}

/// The statements each new SQLite connection runs first.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// Connections for the single-statement reads every page makes (`Db::fetch_optional`, `Db::fetch_all`).
///
/// sqlx's pool pings each connection as it comes back (on PostgreSQL a full round trip, on SQLite a hand-off to the
/// connection's worker thread), so a page with two queries cost four round trips. A reader comes back without
/// that ping: a statement that finished leaves the connection fit for the next one, which first reads whatever the
/// last one left unread. A reader whose statement failed or was cancelled part-way is closed instead of reused.
struct Readers {
    options: AnyConnectOptions,
    backend: Backend,
    idle: Mutex<Vec<AnyConnection>>,
    permits: Semaphore,
    size: usize,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("backend", &self.backend)
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

/// A reader lent to one statement. Dropped without `give_back` (an error, a cancelled request), it closes.
struct Reader<'a> {
    conn: Option<AnyConnection>,
    readers: &'a Readers,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Readers {
    fn new(url: &str, backend: Backend, size: usize) -> Result<Self, sqlx::Error> {
        Ok(Readers {
            options: AnyConnectOptions::from_str(url)?,
            backend,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
            size,
        })
    }

    /// An idle reader, or a new connection when none is idle; waits while all are lent.
    async fn lend(&self) -> Result<Reader<'_>, sqlx::Error> {
        let permit = tokio::time::timeout(Duration::from_secs(10), self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let mut conn = self.options.connect().await?;
                if self.backend == Backend::Sqlite {
                    conn.execute(SQLITE_PRAGMAS).await?;
                }
                conn
            }
        };
        Ok(Reader { conn: Some(conn), readers: self, _permit: permit })
    }

    /// After a lost connection, the idle readers most likely went with it (a database restart ends them all):
    /// they are closed here, so the next reads connect afresh instead of each failing once.
    fn forget_idle(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// One pool's connections at a moment, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `writer` (sqlx's pool: transactions and writes) or `reader` (the page reads' connections).
    pub name: &'static str,
    /// Connections open, lent or idle.
    pub size: usize,
    pub idle: usize,
    /// The most it opens.
    pub max: usize,
}

/// Whether `error` means the connection itself is gone: the socket failed, or PostgreSQL ended the session (an
/// administrator, a shutdown or a crash restart, SQLSTATE class 57P).
fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("57P")),
        _ => false,
    }
}

impl Reader<'_> {
    fn conn(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a lent reader holds its connection until given back")
    }

    /// Returns the connection for the next statement, after this one finished.
    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
    }
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
    (
        9,
        include_str!("../../migrations/sqlite/0009_lookup_indexes.sql"),
        include_str!("../../migrations/postgres/0009_lookup_indexes.sql"),
    ),
    (
        10,
        include_str!("../../migrations/sqlite/0010_housekeeping.sql"),
        include_str!("../../migrations/postgres/0010_housekeeping.sql"),
    ),
    (
        11,
        include_str!("../../migrations/sqlite/0011_card_pickup.sql"),
        include_str!("../../migrations/postgres/0011_card_pickup.sql"),
    ),
    (
        12,
        include_str!("../../migrations/sqlite/0012_payment_finality.sql"),
        include_str!("../../migrations/postgres/0012_payment_finality.sql"),
    ),
    (
        13,
        include_str!("../../migrations/sqlite/0013_sms_code_owner.sql"),
        include_str!("../../migrations/postgres/0013_sms_code_owner.sql"),
    ),
    (
        14,
        include_str!("../../migrations/sqlite/0014_payment_refunds.sql"),
        include_str!("../../migrations/postgres/0014_payment_refunds.sql"),
    ),
    (
        15,
        include_str!("../../migrations/sqlite/0015_sms_dispatch.sql"),
        include_str!("../../migrations/postgres/0015_sms_dispatch.sql"),
    ),
    (
        16,
        include_str!("../../migrations/sqlite/0016_wechat_sign_in.sql"),
        include_str!("../../migrations/postgres/0016_wechat_sign_in.sql"),
    ),
    (
        17,
        include_str!("../../migrations/sqlite/0017_exports.sql"),
        include_str!("../../migrations/postgres/0017_exports.sql"),
    ),
    (
        18,
        include_str!("../../migrations/sqlite/0018_import_runs.sql"),
        include_str!("../../migrations/postgres/0018_import_runs.sql"),
    ),
];

/// An arbitrary constant that names the migration lock among PostgreSQL advisory locks.
const MIGRATION_LOCK: i64 = 0x6461_6c69_616e;

/// How many readers a pool lends at once when `DB_READERS` does not say.
///
/// A SQLite reader is a thread that waits on the file. A PostgreSQL reader is a server process: with PostgreSQL on
/// its own host, more readers use more of its cores; with several app instances on one PostgreSQL, fewer keep its
/// process count down. On the benchmark's 2-core machine, 4 and 8 measured the same within its noise
/// (BENCHMARKS.md, "Fewer readers").
pub const DEFAULT_READERS: usize = 8;

impl Db {
    /// Connects to `url` (creating a SQLite file if needed) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        Self::connect_with(url, None).await
    }

    /// As `connect`, lending at most `readers` connections to reads at once (`DEFAULT_READERS` when `None`).
    pub async fn connect_with(url: &str, readers: Option<usize>) -> Result<Self, sqlx::Error> {
        let db = Self::open(url, readers).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connects to a database that must already exist, and changes nothing in it: no file is created and no
    /// migration applied, so a restored backup can be checked as it was restored.
    pub async fn connect_existing(url: &str) -> Result<Self, sqlx::Error> {
        match url.strip_prefix("sqlite:") {
            Some(_) if !url.contains('?') => Self::open(&format!("{url}?mode=rw"), Some(1)).await,
            _ => Self::open(url, Some(1)).await,
        }
    }

    async fn open(url: &str, readers: Option<usize>) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(sqlx::Error::Configuration("DATABASE_URL must start with sqlite: or postgres:".into()));
        };
        // A SQLite file is created on first use unless the URL says otherwise.
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        // Connections are not pinged before each use: the ping was one more round trip per query (one more hand-off
        // to SQLite's worker thread) on every page. The cost: after a database restart, a request on a stale
        // connection can fail once and show the retry message.
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
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
                    .connect(&url)
                    .await?
            }
        };
        let readers = Readers::new(&url, backend, readers.unwrap_or(DEFAULT_READERS))?;
        Ok(Db { pool, backend, readers: Arc::new(readers) })
    }

    /// Runs a single-statement read on a reader and returns its first row, if any.
    pub async fn fetch_optional(&self, query: Query<'_, Any, AnyArguments>) -> Result<Option<AnyRow>, sqlx::Error> {
        let mut reader = self.readers.lend().await?;
        let row = query.fetch_optional(reader.conn()).await.inspect_err(|e| self.after_failure(e))?;
        reader.give_back();
        Ok(row)
    }

    /// Runs a single-statement read on a reader and returns all its rows.
    pub async fn fetch_all(&self, query: Query<'_, Any, AnyArguments>) -> Result<Vec<AnyRow>, sqlx::Error> {
        let mut reader = self.readers.lend().await?;
        let rows = query.fetch_all(reader.conn()).await.inspect_err(|e| self.after_failure(e))?;
        reader.give_back();
        Ok(rows)
    }

    /// The failed reader closes as it drops; if its connection was lost, so are the idle ones.
    fn after_failure(&self, error: &sqlx::Error) {
        if connection_lost(error) {
            self.readers.forget_idle();
        }
    }

    /// The pool, for reads and single-statement writes.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether every migration this code carries is applied (the database answering at all is the first check).
    pub async fn migrations_current(&self) -> Result<bool, sqlx::Error> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&self.pool).await?;
        Ok(MIGRATIONS.iter().all(|(version, _, _)| applied.contains(version)))
    }

    /// How many connections each pool has open and idle now.
    pub fn pool_use(&self) -> [PoolUse; 2] {
        let readers = &self.readers;
        let idle = readers.idle.lock().unwrap_or_else(|e| e.into_inner()).len();
        let lent = readers.size - readers.permits.available_permits();
        [
            PoolUse {
                name: "writer",
                size: self.pool.size() as usize,
                idle: self.pool.num_idle(),
                max: self.pool.options().get_max_connections() as usize,
            },
            PoolUse { name: "reader", size: lent + idle, idle, max: readers.size },
        ]
    }

    /// A PostgreSQL connection of its own, outside the pool, for what the `Any` driver cannot do (`COPY`); `None`
    /// on SQLite.
    pub async fn postgres_connection(&self) -> Result<Option<sqlx::PgConnection>, sqlx::Error> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        use sqlx::Connection;
        sqlx::PgConnection::connect(self.readers.options.database_url.as_str()).await.map(Some)
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

    /// Applies the migrations not yet applied, in order, in one transaction, recording each one's checksum.
    ///
    /// An applied migration whose text no longer matches its recorded checksum stops the start: the database was
    /// built from other SQL than the code now carries, and the fix is a new migration, not an edit of an old one.
    /// Checksums recorded before this check existed are NULL and are filled in here.
    async fn migrate(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
        }
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        // Databases migrated before checksums were recorded get the column here.
        match self.backend {
            Backend::Sqlite => {
                let has_checksum = sqlx::query(
                    "SELECT COUNT(*) AS n FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'",
                )
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>("n")?
                    > 0;
                if !has_checksum {
                    tx.execute("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT").await?;
                }
            }
            Backend::Postgres => {
                tx.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT").await?;
            }
        }
        let applied: Vec<Applied> = sqlx::query("SELECT version, checksum FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(Applied::from_row)
            .collect::<Result<_, _>>()?;
        for (version, sqlite, postgres) in MIGRATIONS {
            let sql = match self.backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *postgres,
            };
            let checksum = checksum(sql);
            match applied.iter().find(|a| a.version == *version) {
                Some(Applied { checksum: Some(recorded), .. }) if *recorded == checksum => {}
                Some(Applied { checksum: Some(recorded), .. }) => {
                    return Err(edited(*version, self.backend, recorded, &checksum));
                }
                Some(Applied { checksum: None, .. }) => {
                    sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = $2")
                        .bind(&checksum)
                        .bind(*version)
                        .execute(&mut *tx)
                        .await?;
                }
                None => {
                    sqlx::raw_sql(sql).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO schema_migrations (version, applied_at, checksum) VALUES ($1, $2, $3)")
                        .bind(*version)
                        .bind(super::now())
                        .bind(&checksum)
                        .execute(&mut *tx)
                        .await?;
                    tracing::info!(version, "applied migration");
                }
            }
        }
        tx.commit().await
    }
}

/// One row of `schema_migrations`: a migration applied, and the checksum of its text when it was recorded.
struct Applied {
    version: i64,
    checksum: Option<String>,
}

impl Applied {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Applied { version: row.try_get("version")?, checksum: row.try_get("checksum")? })
    }
}

/// The SHA-256 of a migration's text, lowercase hex. (`.gitattributes` keeps `*.sql` at LF line endings in every
/// checkout, so the same migration has the same checksum on every machine.)
fn checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// The refusal to start when an applied migration's text changed.
fn edited(version: i64, backend: Backend, recorded: &str, now: &str) -> sqlx::Error {
    let dialect = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    sqlx::Error::Configuration(
        format!(
            "migration {version:04} (migrations/{dialect}/{version:04}_*.sql) was edited after it was applied to this \
             database: its checksum was {recorded}, the text now has {now}. Restore the migration's text and put \
             the change in a new migration."
        )
        .into(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::test_db::{fresh_database_urls, fresh_databases};

    fn idle(db: &Db) -> usize {
        db.readers.idle.lock().unwrap().len()
    }

    /// A statement that keeps the database busy for a while, to be cancelled part-way.
    fn slow(backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => {
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000) SELECT COUNT(*) FROM n"
            }
            Backend::Postgres => "SELECT COUNT(*) FROM (SELECT pg_sleep(2)) AS s",
        }
    }

    #[tokio::test]
    async fn readers_see_committed_writes_and_close_after_a_failure_or_a_cancel() {
        for (backend, db) in fresh_databases().await {
            let mut tx = db.begin_write().await.unwrap();
            sqlx::query("CREATE TABLE reader_probe (n BIGINT NOT NULL)").execute(&mut *tx).await.unwrap();
            sqlx::query("INSERT INTO reader_probe (n) VALUES (1), (2), (3)").execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();

            let rows = db.fetch_all(sqlx::query("SELECT n FROM reader_probe ORDER BY n")).await.unwrap();
            let values: Vec<i64> = rows.iter().map(|r| r.get("n")).collect();
            assert_eq!(values, [1, 2, 3], "{backend}");
            assert_eq!(idle(&db), 1, "{backend}: a finished read gives its reader back");

            // A read that returns its first row leaves the rest unread; the next read on that reader still works.
            let first = db.fetch_optional(sqlx::query("SELECT n FROM reader_probe ORDER BY n")).await.unwrap();
            assert_eq!(first.map(|r| r.get::<i64, _>("n")), Some(1), "{backend}");
            let sum = db
                .fetch_optional(sqlx::query("SELECT CAST(SUM(n) AS BIGINT) AS total FROM reader_probe"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(sum.get::<i64, _>("total"), 6, "{backend}");
            assert_eq!(idle(&db), 1, "{backend}");

            // A write after the reader read is seen by the next read on the same reader.
            sqlx::query("INSERT INTO reader_probe (n) VALUES (4)").execute(db.pool()).await.unwrap();
            let count =
                db.fetch_optional(sqlx::query("SELECT COUNT(*) AS n FROM reader_probe")).await.unwrap().unwrap();
            assert_eq!(count.get::<i64, _>("n"), 4, "{backend}");

            // A failed statement closes its reader instead of lending it again.
            assert!(db.fetch_all(sqlx::query("SELECT n FROM no_such_table")).await.is_err(), "{backend}");
            assert_eq!(idle(&db), 0, "{backend}: the failed reader is not given back");

            // So does a cancelled one: the request went away while the database was still answering.
            let cancelled =
                tokio::time::timeout(Duration::from_millis(100), db.fetch_optional(sqlx::query(slow(db.backend()))))
                    .await;
            assert!(cancelled.is_err(), "{backend}: the slow read was still running");
            assert_eq!(idle(&db), 0, "{backend}: the cancelled reader is not given back");
            let count =
                db.fetch_optional(sqlx::query("SELECT COUNT(*) AS n FROM reader_probe")).await.unwrap().unwrap();
            assert_eq!(count.get::<i64, _>("n"), 4, "{backend}: a new reader answers");
            assert_eq!(idle(&db), 1, "{backend}");
        }
    }

    #[tokio::test]
    async fn after_postgresql_ends_the_sessions_one_read_fails_and_the_next_connects_afresh() {
        for (backend, db) in fresh_databases().await {
            if db.backend() != Backend::Postgres {
                continue;
            }
            let pause = || db.fetch_optional(sqlx::query("SELECT COUNT(*) FROM (SELECT pg_sleep(0.1)) AS s"));
            let (a, b) = tokio::join!(pause(), pause());
            assert!(a.is_ok() && b.is_ok(), "{backend}");
            assert_eq!(idle(&db), 2, "{backend}: two readers were opened side by side");

            // What a database restart does to every open session.
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .execute(db.pool())
            .await
            .unwrap();

            let lost = db.fetch_optional(sqlx::query("SELECT 1")).await;
            let error = lost.err().expect("the read on a terminated session fails");
            assert!(connection_lost(&error), "{backend}: {error:?}");
            assert_eq!(idle(&db), 0, "{backend}: the other idle reader was closed with it");
            let again = db.fetch_optional(sqlx::query("SELECT CAST(7 AS BIGINT) AS seven")).await.unwrap().unwrap();
            assert_eq!(again.get::<i64, _>("seven"), 7, "{backend}: the next read connects afresh");
        }
    }

    #[tokio::test]
    async fn more_reads_than_readers_wait_for_one() {
        for (backend, db) in fresh_databases().await {
            let mut reads = tokio::task::JoinSet::new();
            for i in 0..40i64 {
                let db = db.clone();
                reads.spawn(async move {
                    let row = db.fetch_optional(sqlx::query("SELECT $1 + 1 AS next").bind(i)).await.unwrap().unwrap();
                    row.get::<i64, _>("next")
                });
            }
            let mut answers = reads.join_all().await;
            answers.sort();
            assert_eq!(answers, (1..=40).collect::<Vec<i64>>(), "{backend}");
            let idle = idle(&db);
            assert!(
                (1..=DEFAULT_READERS).contains(&idle),
                "{backend}: {idle} readers idle, at most {DEFAULT_READERS} are opened"
            );
        }
    }

    async fn checksums(db: &Db) -> Vec<(i64, Option<String>)> {
        let rows = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(db.pool())
            .await
            .unwrap();
        rows.iter().map(|row| Applied::from_row(row).map(|a| (a.version, a.checksum)).unwrap()).collect()
    }

    #[tokio::test]
    async fn every_applied_migration_records_the_checksum_of_its_text() {
        for (backend, db) in fresh_databases().await {
            let recorded = checksums(&db).await;
            assert_eq!(recorded.len(), MIGRATIONS.len(), "{backend}");
            for ((version, sqlite, postgres), (applied, checksum)) in MIGRATIONS.iter().zip(&recorded) {
                let text = match db.backend() {
                    Backend::Sqlite => sqlite,
                    Backend::Postgres => postgres,
                };
                assert_eq!(applied, version, "{backend}");
                assert_eq!(checksum.as_deref(), Some(super::checksum(text).as_str()), "{backend}: {version}");
                assert_eq!(checksum.as_ref().map(String::len), Some(64), "{backend}: SHA-256 in hex");
            }
        }
    }

    #[tokio::test]
    async fn a_database_migrated_before_checksums_gets_them_on_start() {
        for (backend, url) in fresh_database_urls().await {
            let db = Db::connect(&url).await.unwrap();
            let before = checksums(&db).await;
            // What a database migrated by the runner before checksums looks like: no checksum column.
            sqlx::query("ALTER TABLE schema_migrations DROP COLUMN checksum").execute(db.pool()).await.unwrap();
            db.pool().close().await;

            let db = Db::connect(&url).await.expect("an older database upgrades");
            assert_eq!(checksums(&db).await, before, "{backend}: the checksums are filled in");

            // A NULL checksum (one row recorded before the column was filled) is filled too.
            sqlx::query("UPDATE schema_migrations SET checksum = NULL WHERE version = 2")
                .execute(db.pool())
                .await
                .unwrap();
            db.pool().close().await;
            let db = Db::connect(&url).await.unwrap();
            assert_eq!(checksums(&db).await, before, "{backend}");
        }
    }

    #[tokio::test]
    async fn an_edited_migration_stops_the_start_naming_its_version() {
        for (backend, url) in fresh_database_urls().await {
            let db = Db::connect(&url).await.unwrap();
            // The recorded checksum no longer matches the text the code carries: as if 0003 was edited since.
            sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = 3")
                .bind(super::checksum("-- the text as it was applied"))
                .execute(db.pool())
                .await
                .unwrap();
            db.pool().close().await;

            let error = Db::connect(&url).await.expect_err("an edited migration refuses to start");
            let message = error.to_string();
            assert!(message.contains("migration 0003"), "{backend}: {message}");
            assert!(message.contains("was edited after it was applied"), "{backend}: {message}");
            assert!(!message.contains("migration 0002"), "{backend}: {message}");
        }
    }

    #[tokio::test]
    async fn a_pool_lends_no_more_readers_than_it_was_given() {
        for (backend, url) in fresh_database_urls().await {
            let db = Db::connect_with(&url, Some(2)).await.unwrap();
            let pause = match db.backend() {
                Backend::Sqlite => "SELECT COUNT(*) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n)",
                Backend::Postgres => "SELECT COUNT(*) FROM (SELECT pg_sleep(0.05)) AS s",
            };
            let mut reads = tokio::task::JoinSet::new();
            for _ in 0..6 {
                let db = db.clone();
                reads.spawn(async move { db.fetch_optional(sqlx::query(pause)).await.unwrap().is_some() });
            }
            assert!(reads.join_all().await.into_iter().all(|answered| answered), "{backend}");
            assert_eq!(idle(&db), 2, "{backend}: six reads side by side opened two readers");
        }
    }
}

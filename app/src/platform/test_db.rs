//! Fresh databases for tests: every suite runs on SQLite and on PostgreSQL. Test-only code: compiled for this
//! crate's tests and, through the `test-support` feature, for the tests of `server` and `sandbox`.

use super::db::Db;

/// The PostgreSQL server tests use, from `TEST_POSTGRES_URL` (default: the local trust-auth server).
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new empty SQLite file and a new empty PostgreSQL database, both migrated. Under `CI` an unreachable
/// PostgreSQL fails the test with a clear message instead of being skipped.
pub async fn fresh_databases() -> Vec<(&'static str, Db)> {
    let mut databases = Vec::new();
    for (name, url) in fresh_database_urls().await {
        databases.push((name, Db::connect(&url).await.expect("a fresh database opens")));
    }
    databases
}

/// The URLs of a new empty SQLite file and a new empty PostgreSQL database, for tests that start processes.
pub async fn fresh_database_urls() -> Vec<(&'static str, String)> {
    let mut databases = vec![("sqlite", fresh_sqlite_url())];
    match fresh_postgres_url().await {
        Ok(url) => databases.push(("postgres", url)),
        Err(e) if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") => {
            panic!("PostgreSQL is required under CI but cannot be reached at {}: {e}", postgres_admin_url())
        }
        Err(e) => eprintln!("skipping PostgreSQL (set CI=true to require it): {e}"),
    }
    databases
}

/// A new migrated SQLite database in a temporary file.
pub async fn fresh_sqlite() -> Db {
    Db::connect(&fresh_sqlite_url()).await.expect("sqlite opens")
}

fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir().join("dalian-traffic-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite://{}", dir.join(format!("{}.db", super::session::random_token())).display())
}

/// A new, empty PostgreSQL database with a random name.
async fn fresh_postgres_url() -> Result<String, sqlx::Error> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_url();
    let name = format!("dlt_test_{}", &super::session::random_token()[..16]);
    let mut conn = sqlx::AnyConnection::connect(&admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
    conn.close().await?;
    let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin);
    Ok(format!("{base}/{name}"))
}

/// SQLite's plan for `sql` (placeholders left unbound), one line per step, as `EXPLAIN QUERY PLAN` prints them.
///
/// The app never runs `ANALYZE`, so SQLite plans from its fixed rules and the schema alone: a plan read on an empty
/// test database is the plan a city-sized one gets.
pub async fn sqlite_plan(db: &Db, sql: &str) -> Vec<String> {
    use sqlx::Row;
    assert_eq!(db.backend(), super::db::Backend::Sqlite, "query plans are read on SQLite");
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    sqlx::query(sqlx::AssertSqlSafe(explain))
        .fetch_all(db.pool())
        .await
        .expect("the statement plans")
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}

/// Fails unless every table in `sql`'s plan is reached through an index and no untreated record is looked up among
/// the NULLs of the decision number's unique index. A `SCAN` is allowed only along an index under a `LIMIT`: it
/// reads the first rows in the index's order and stops.
pub async fn assert_indexed(db: &Db, label: &str, sql: &str) {
    let plan = sqlite_plan(db, sql).await;
    let limited = sql.contains(" LIMIT ");
    let bad: Vec<&String> = plan
        .iter()
        .filter(|step| {
            (step.starts_with("SCAN ") && !(limited && step.contains(" USING ") && step.contains("INDEX ")))
                || (step.contains("sqlite_autoindex_violations_2") && !sql.contains("x.decision_no = $"))
        })
        .collect();
    assert!(bad.is_empty(), "{label}: {bad:?} in the plan\n{}", plan.join("\n"));
}

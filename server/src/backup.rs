//! `server backup FILE` and `server restore FILE`: a consistent copy of the database `DATABASE_URL` names, taken
//! while the app keeps writing, and its restore into an empty database.
//!
//! SQLite: `VACUUM INTO` writes the snapshot one read transaction sees, so writers carry on (WAL) and the copy is a
//! standalone database file. PostgreSQL: `pg_dump --format=custom`, which reads everything in one snapshot, and
//! `pg_restore` in a single transaction, so a failed restore leaves nothing half-written.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use app::platform::db::Db;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};

/// Why a backup or a restore did not happen, or did not end well.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("DATABASE_URL must name a SQLite file or a PostgreSQL database ({0})")]
    Url(String),
    #[error("{0} exists already: a backup never overwrites a file")]
    FileExists(PathBuf),
    #[error(
        "the database is not empty ({0} tables): restoring would overwrite it. Restore into a new empty database, \
         or pass --force to replace what it holds"
    )]
    NotEmpty(i64),
    #[error("the database DATABASE_URL names does not exist: create it empty first (createdb NAME)")]
    NoDatabase,
    #[error("{0} is not a backup of this app: {1}")]
    NotABackup(PathBuf, String),
    #[error(
        "the restored database lacks migrations this build carries (the backup was made by an older version); \
         the server applies them on its next start"
    )]
    MigrationsBehind,
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    #[error("{tool} failed: {message}")]
    Tool { tool: &'static str, message: String },
}

/// The database `DATABASE_URL` names.
enum Target {
    Sqlite(Box<SqliteConnectOptions>),
    Postgres(PgUrl),
}

impl Target {
    fn parse(database_url: &str) -> Result<Target, BackupError> {
        if database_url.starts_with("sqlite:") {
            if database_url.contains(":memory:") || database_url.contains("mode=memory") {
                return Err(BackupError::Url("an in-memory database has nothing to back up".into()));
            }
            Ok(Target::Sqlite(Box::new(SqliteConnectOptions::from_str(database_url)?)))
        } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            PgUrl::parse(database_url).map(Target::Postgres)
        } else {
            Err(BackupError::Url("neither sqlite: nor postgres:".into()))
        }
    }
}

/// A PostgreSQL URL for libpq's tools, with the password taken out of it: the tools get it through `PGPASSWORD`,
/// so it never shows in the process list.
struct PgUrl {
    url: String,
    password: Option<String>,
}

impl PgUrl {
    fn parse(database_url: &str) -> Result<PgUrl, BackupError> {
        let mut url = url::Url::parse(database_url).map_err(|e| BackupError::Url(e.to_string()))?;
        let password = url.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
        if password.is_some() {
            url.set_password(None).map_err(|()| BackupError::Url("the password cannot be taken out".into()))?;
        }
        Ok(PgUrl { url: url.to_string(), password })
    }

    /// `pg_dump` or `pg_restore`, pointed at this database, never prompting for a password.
    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(tool);
        command.arg("--no-password").arg(format!("--dbname={}", self.url));
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command
    }
}

/// Writes a consistent copy of the database to `file`, which must not exist. The copy appears under its name only
/// once it is complete: until then it is `FILE.partial`.
pub async fn backup(database_url: &str, file: &Path) -> Result<(), BackupError> {
    if file.exists() {
        return Err(BackupError::FileExists(file.to_path_buf()));
    }
    let partial = with_suffix(file, ".partial");
    remove_if_present(&partial)?;
    let written = match Target::parse(database_url)? {
        Target::Sqlite(options) => vacuum_into(*options, &partial).await,
        Target::Postgres(pg) => {
            let mut dump = pg.command("pg_dump");
            dump.arg("--format=custom").arg(format!("--file={}", partial.display()));
            run("pg_dump", dump)
        }
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    sync_file(&partial)?;
    std::fs::rename(&partial, file).map_err(|e| io(format!("cannot name the backup {}", file.display()), e))?;
    sync_parent(file)
}

async fn vacuum_into(options: SqliteConnectOptions, file: &Path) -> Result<(), BackupError> {
    // Read-only: the copy takes no write lock, and a mistyped path is not created as an empty database.
    let mut conn = options.read_only(true).create_if_missing(false).connect().await?;
    let path = file.to_str().ok_or_else(|| BackupError::Url(format!("{} is not UTF-8", file.display())))?;
    sqlx::query("VACUUM INTO ?").bind(path).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Restores `file`, a backup `backup` wrote, into the database `DATABASE_URL` names. A database that holds any
/// table is refused unless `force`. Afterwards the restored database must carry every migration of this build.
pub async fn restore(database_url: &str, file: &Path, force: bool) -> Result<(), BackupError> {
    if !file.is_file() {
        return Err(io(format!("cannot read {}", file.display()), std::io::ErrorKind::NotFound.into()));
    }
    match Target::parse(database_url)? {
        Target::Sqlite(options) => restore_sqlite(*options, file, force).await?,
        Target::Postgres(pg) => restore_postgres(database_url, &pg, file, force).await?,
    }
    let db = Db::connect_existing(database_url).await?;
    let current = db.migrations_current().await;
    db.pool().close().await;
    match current {
        Ok(true) => Ok(()),
        Ok(false) => Err(BackupError::MigrationsBehind),
        Err(e) => Err(BackupError::NotABackup(file.to_path_buf(), format!("it has no migration record ({e})"))),
    }
}

async fn restore_sqlite(target: SqliteConnectOptions, file: &Path, force: bool) -> Result<(), BackupError> {
    let path = target.get_filename().to_path_buf();
    if path.exists() {
        let mut conn = target.clone().create_if_missing(false).connect().await?;
        let tables: i64 =
            sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetch_one(&mut conn).await?.get(0);
        conn.close().await?;
        if tables > 0 && !force {
            return Err(BackupError::NotEmpty(tables));
        }
    }
    check_sqlite_backup(file).await?;
    // The copy is made beside the database and renamed over it, so the database is never half-written.
    let copy = with_suffix(&path, ".restoring");
    std::fs::copy(file, &copy).map_err(|e| io(format!("cannot copy {} to {}", file.display(), copy.display()), e))?;
    sync_file(&copy)?;
    // The old database's write-ahead log would otherwise be replayed into the restored file.
    for suffix in ["-wal", "-shm"] {
        remove_if_present(&with_suffix(&path, suffix))?;
    }
    std::fs::rename(&copy, &path).map_err(|e| io(format!("cannot replace {}", path.display()), e))?;
    sync_parent(&path)
}

/// A SQLite backup must be an intact database with the app's migration record.
async fn check_sqlite_backup(file: &Path) -> Result<(), BackupError> {
    let not_a_backup = |why: String| BackupError::NotABackup(file.to_path_buf(), why);
    let mut conn: SqliteConnection = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    let integrity: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_a_backup(e.to_string()))?
        .get(0);
    if integrity != "ok" {
        return Err(not_a_backup(format!("the integrity check says {integrity}")));
    }
    let record: i64 = sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'")
        .fetch_one(&mut conn)
        .await?
        .get(0);
    conn.close().await?;
    if record == 0 {
        return Err(not_a_backup("it has no migration record".into()));
    }
    Ok(())
}

async fn restore_postgres(database_url: &str, pg: &PgUrl, file: &Path, force: bool) -> Result<(), BackupError> {
    // The archive is read through before anything in the database is touched.
    let mut list = Command::new("pg_restore");
    list.arg("--list").arg(file);
    run("pg_restore", list).map_err(|e| BackupError::NotABackup(file.to_path_buf(), e.to_string()))?;

    let db = Db::connect_existing(database_url).await.map_err(|e| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => BackupError::NoDatabase,
        _ => BackupError::Database(e),
    })?;
    let tables: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(db.pool())
    .await;
    db.pool().close().await;
    let tables = tables?;
    if tables > 0 && !force {
        return Err(BackupError::NotEmpty(tables));
    }
    let mut restore = pg.command("pg_restore");
    restore.args(["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]);
    if tables > 0 {
        restore.args(["--clean", "--if-exists"]);
    }
    restore.arg(file);
    run("pg_restore", restore)
}

/// Runs one of PostgreSQL's tools; its error output becomes the error.
fn run(tool: &'static str, mut command: Command) -> Result<(), BackupError> {
    let output = command.output().map_err(|e| BackupError::Tool {
        tool,
        message: format!("cannot run it ({e}); install PostgreSQL's client tools, of the server's version or newer"),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(BackupError::Tool { tool, message: String::from_utf8_lossy(&output.stderr).trim().to_string() })
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(format!("cannot remove {}", path.display()), e)),
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| io(format!("cannot sync {}", path.display()), e))
}

/// Makes a rename durable: the directory entry is flushed as well as the file.
fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let parent = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    sync_file(parent)
}

fn io(context: String, error: std::io::Error) -> BackupError {
    BackupError::Io(context, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let pg = PgUrl::parse("postgres://dalian:p%40ss%2Fw@db:5432/dalian?sslmode=require").unwrap();
        assert_eq!(pg.url, "postgres://dalian@db:5432/dalian?sslmode=require");
        assert_eq!(pg.password.as_deref(), Some("p@ss/w"));
        let command = pg.command("pg_dump");
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(args.iter().all(|a| !a.contains("p%40ss") && !a.contains("p@ss")), "{args:?}");
        let env: Vec<_> = command.get_envs().collect();
        assert_eq!(env, [(std::ffi::OsStr::new("PGPASSWORD"), Some(std::ffi::OsStr::new("p@ss/w")))]);

        let socket = PgUrl::parse("postgres:///dalian?host=/var/run/postgresql&user=app").unwrap();
        assert_eq!(socket.url, "postgres:///dalian?host=/var/run/postgresql&user=app");
        assert_eq!(socket.password, None);
    }

    #[test]
    fn only_a_file_database_or_postgresql_can_be_backed_up() {
        assert!(
            matches!(Target::parse("sqlite://data/app.db"), Ok(Target::Sqlite(o)) if o.get_filename() == Path::new("data/app.db"))
        );
        assert!(matches!(Target::parse("sqlite::memory:"), Err(BackupError::Url(_))));
        assert!(matches!(Target::parse("mysql://db/app"), Err(BackupError::Url(_))));
    }
}

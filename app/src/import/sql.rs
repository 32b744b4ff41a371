//! The set-at-a-time SQL of an import batch: one lookup of the stored rows a batch names, and multi-row upserts of
//! only the rows that change, so a batch of thousands of rows costs a handful of statements.

use std::collections::HashMap;
use std::fmt::Write as _;

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row, Transaction};

use super::ImportReport;
use crate::platform::db::Backend;
use crate::platform::now;

/// Bound parameters per statement: under SQLite's limit of 32,766 (PostgreSQL allows 65,535).
const MAX_PARAMS: usize = 30_000;
/// Rows per multi-row upsert. SQLite plans a statement in time that grows faster than its rows (2,000 rows of 15
/// columns took 1.5 s where 20 statements of 100 take a fraction of that), and one size keeps the statement cached.
const ROWS_PER_STATEMENT: usize = 100;
/// Keys per lookup statement.
const KEYS_PER_STATEMENT: usize = 1_000;

/// Where a batch's changed rows go on their way into the table. On PostgreSQL they are sent with `COPY` into an
/// unlogged staging table of this import (over a connection of its own, since `Any` has no `COPY`) and moved into
/// the table by one set-based upsert inside the batch's transaction; on SQLite they go straight in with multi-row
/// upserts.
pub(super) struct Dest {
    pub(super) backend: Backend,
    stage: Option<Stage>,
}

/// An import's staging table on PostgreSQL and the connection that copies into it.
struct Stage {
    conn: sqlx::PgConnection,
    name: String,
}

impl Dest {
    /// The destination for an import into `table`: on PostgreSQL it creates the staging table.
    pub(super) async fn open(db: &crate::platform::db::Db, table: &str) -> Result<Self, sqlx::Error> {
        use sqlx::Executor as _;
        let Some(mut conn) = db.postgres_connection().await? else {
            return Ok(Dest { backend: db.backend(), stage: None });
        };
        let name = format!("import_stage_{}_{}", std::process::id(), chrono::Utc::now().timestamp_micros());
        conn.execute(AssertSqlSafe(format!("CREATE UNLOGGED TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))).await?;
        Ok(Dest { backend: db.backend(), stage: Some(Stage { conn, name }) })
    }

    /// Drops the staging table, if any.
    pub(super) async fn close(self) {
        use sqlx::{Connection as _, Executor as _};
        if let Some(Stage { mut conn, name }) = self.stage {
            if let Err(e) = conn.execute(AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}"))).await {
                tracing::warn!(error = %e, table = %name, "dropping the import's staging table failed");
            }
            let _ = conn.close().await;
        }
    }
}

/// A column value as it is written and as it is read back to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

impl Value {
    pub(super) fn text(text: impl Into<String>) -> Self {
        Value::Text(Some(text.into()))
    }
}

/// Whether a column holds text or an integer, to read it back.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ty {
    Text,
    Int,
}

/// A table an import writes: its natural key columns (first in `columns`), every column it sets except
/// `updated_at`, and what an upsert does on a key already stored.
pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) key: &'static [&'static str],
    pub(super) columns: &'static [(&'static str, Ty)],
    /// The `DO UPDATE SET …` clause, when it is more than every column from `excluded`.
    pub(super) on_conflict: Option<&'static str>,
}

/// One row to write, its values in `Table::columns` order.
pub(super) struct Planned {
    pub(super) values: Vec<Value>,
    /// Whether a stored decision, payment, binding or the app's own points won over the file's.
    pub(super) kept: bool,
}

impl Table {
    /// The natural key of a row of values, as the text `stored` is keyed by.
    pub(super) fn key_of(&self, values: &[Value]) -> String {
        let mut key = String::new();
        for value in &values[..self.key.len()] {
            if !key.is_empty() {
                key.push('/');
            }
            match value {
                Value::Text(Some(text)) => key.push_str(text),
                Value::Int(Some(n)) => key.push_str(&n.to_string()),
                Value::Text(None) | Value::Int(None) => {}
            }
        }
        key
    }

    /// The stored rows whose first key column is among `firsts`, by natural key. On PostgreSQL they are locked
    /// for the transaction, so what is decided from them still holds when they are written.
    pub(super) async fn stored(
        &self,
        tx: &mut Transaction<'static, Any>,
        backend: Backend,
        firsts: &[&str],
    ) -> Result<HashMap<String, Vec<Value>>, sqlx::Error> {
        let columns: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        let head = format!("SELECT {} FROM {} WHERE {} IN", columns.join(", "), self.name, self.key[0]);
        let tail = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        let rows = fetch_in(&mut **tx, &head, firsts, tail).await?;
        let mut stored = HashMap::with_capacity(rows.len());
        for row in rows {
            let values = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| match ty {
                    Ty::Text => row.try_get::<Option<String>, _>(i).map(Value::Text),
                    Ty::Int => row.try_get::<Option<i64>, _>(i).map(Value::Int),
                })
                .collect::<Result<Vec<Value>, _>>()?;
            stored.insert(self.key_of(&values), values);
        }
        Ok(stored)
    }

    /// Counts each planned row as new, updated or unchanged against `stored`, and upserts only the new and changed
    /// ones, so a re-import of an unchanged file writes nothing.
    pub(super) async fn apply(
        &self,
        tx: &mut Transaction<'static, Any>,
        dest: &mut Dest,
        stored: &HashMap<String, Vec<Value>>,
        planned: Vec<Planned>,
    ) -> Result<ImportReport, sqlx::Error> {
        let mut report = ImportReport::default();
        let mut changed = Vec::new();
        for Planned { values, kept } in planned {
            let before = stored.get(&self.key_of(&values));
            report.count(before.is_some());
            if kept {
                report.kept += 1;
            }
            if before == Some(&values) {
                report.unchanged += 1;
            } else {
                changed.push(values);
            }
        }
        match &mut dest.stage {
            Some(stage) => self.upsert_staged(tx, stage, changed).await?,
            None => self.upsert(tx, changed).await?,
        }
        Ok(report)
    }

    /// The `DO UPDATE SET …` clause.
    fn set_clause(&self) -> String {
        match self.on_conflict {
            Some(set) => set.to_owned(),
            None => self.columns[self.key.len()..]
                .iter()
                .map(|(name, _)| *name)
                .chain(["updated_at"])
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// `COPY` of `rows` into the staging table, then one `INSERT … SELECT … ON CONFLICT DO UPDATE` from it in `tx`.
    async fn upsert_staged(
        &self,
        tx: &mut Transaction<'static, Any>,
        stage: &mut Stage,
        rows: Vec<Vec<Value>>,
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).chain(["updated_at"]).collect();
        let names = names.join(", ");
        let updated_at = now().to_string();
        let mut csv = Vec::with_capacity(rows.len() * 128);
        for row in &rows {
            for value in row {
                match value {
                    Value::Text(Some(text)) => {
                        csv.push(b'"');
                        csv.extend_from_slice(text.replace('"', "\"\"").as_bytes());
                        csv.extend_from_slice(b"\",");
                    }
                    Value::Int(Some(n)) => {
                        csv.extend_from_slice(n.to_string().as_bytes());
                        csv.push(b',');
                    }
                    Value::Text(None) | Value::Int(None) => csv.push(b','),
                }
            }
            csv.extend_from_slice(updated_at.as_bytes());
            csv.push(b'\n');
        }
        let mut copy =
            stage.conn.copy_in_raw(&format!("COPY {} ({names}) FROM STDIN (FORMAT csv)", stage.name)).await?;
        copy.send(csv).await?;
        copy.finish().await?;
        let upsert = format!(
            "INSERT INTO {} ({names}) SELECT {names} FROM {} ON CONFLICT ({}) DO UPDATE SET {}",
            self.name,
            stage.name,
            self.key.join(", "),
            self.set_clause()
        );
        sqlx::query(AssertSqlSafe(upsert)).execute(&mut **tx).await?;
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", stage.name))).execute(&mut **tx).await?;
        Ok(())
    }

    /// Multi-row `INSERT … ON CONFLICT DO UPDATE` of `rows`, as many rows per statement as the parameters allow.
    async fn upsert(&self, tx: &mut Transaction<'static, Any>, rows: Vec<Vec<Value>>) -> Result<(), sqlx::Error> {
        let width = self.columns.len() + 1;
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        let head = format!("INSERT INTO {} ({}, updated_at) VALUES ", self.name, names.join(", "));
        let tail = format!(" ON CONFLICT ({}) DO UPDATE SET {}", self.key.join(", "), self.set_clause());
        let updated_at = now();
        for chunk in rows.chunks(ROWS_PER_STATEMENT.min(MAX_PARAMS / width)) {
            let mut sql = head.clone();
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for j in 0..width {
                    n += 1;
                    let _ = write!(sql, "{}${n}", if j == 0 { "" } else { ", " });
                }
                sql.push(')');
            }
            sql.push_str(&tail);
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for row in chunk {
                for value in row {
                    query = match value {
                        Value::Text(text) => query.bind(text.as_deref()),
                        Value::Int(n) => query.bind(*n),
                    };
                }
                query = query.bind(updated_at);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// `head (…keys…) tail` in as few statements as the parameters allow, with every row they return.
pub(super) async fn fetch_in(
    conn: &mut AnyConnection,
    head: &str,
    keys: &[&str],
    tail: &str,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut keys: Vec<&str> = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let mut rows = Vec::new();
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let mut sql = format!("{head} (");
        for n in 1..=chunk.len() {
            let _ = write!(sql, "{}${n}", if n == 1 { "" } else { ", " });
        }
        sql.push(')');
        sql.push_str(tail);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for key in chunk {
            query = query.bind(*key);
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

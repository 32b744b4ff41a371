//! The import benchmark's files and its ceiling (BENCHMARKS.md, "Imports at city scale").
//!
//! `bench csv DIR DRIVERS VEHICLES VIOLATIONS` writes the operators' four files (SPEC §5) of the same generated city
//! the page benchmark uses: `cards.csv` and `drivers.csv` (one card and one licence per driver), `vehicles.csv` and
//! `violations.csv`. Every row is valid, so `server import` takes them in the dependency order of `Kind::ALL`.
//!
//! `bench ceiling KIND FILE` loads the same file into a table of its own columns (text, keyed like the app's
//! table) the fastest plain way SQLite offers: one transaction of prepared multi-row inserts. PostgreSQL's ceiling
//! is `COPY FROM`, which `scripts/bench.sh` runs with psql. It prints `ROWS SECONDS`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use app::platform::db::Db;

use super::{card_no, id_number, licence, name, plate, EPOCH_2024, OFFENCES};

/// Writes the four files into `dir`; returns how many rows each has, in file order.
pub fn write_files(dir: &Path, drivers: u64, vehicles: u64, violations: u64) -> std::io::Result<[u64; 4]> {
    std::fs::create_dir_all(dir)?;
    let file = |name: &str| std::fs::File::create(dir.join(name)).map(|f| BufWriter::with_capacity(1 << 20, f));

    let mut cards = file("cards.csv")?;
    let mut licences = file("drivers.csv")?;
    writeln!(cards, "card_no,id_number,name,phone,status")?;
    writeln!(licences, "id_number,name,licence_class,licence_status,first_issued,cycle_points")?;
    for n in 0..drivers {
        let (id, name) = (id_number(n), name(n));
        writeln!(cards, "{},{id},{name},139{n:08},active", card_no(n))?;
        let (class, status, first_issued, points) = licence(n);
        writeln!(licences, "{id},{name},{class},{status},{first_issued},{points}")?;
    }
    cards.flush()?;
    licences.flush()?;

    let mut out = file("vehicles.csv")?;
    writeln!(out, "plate,plate_type,vehicle_type,owner_id_number,card_no,bound_on")?;
    for v in 0..vehicles {
        let owner = v % drivers;
        let card = if v % 10 == 9 { String::new() } else { card_no(owner) };
        let bound = if card.is_empty() { "" } else { "2023-01-01" };
        let kind = if v % 7 == 0 { "轻型厢式货车" } else { "小型轿车" };
        writeln!(out, "{},02,{kind},{},{card},{bound}", plate(v), id_number(owner))?;
    }
    out.flush()?;

    let mut out = file("violations.csv")?;
    writeln!(
        out,
        "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,decision_no,\
         decided_on,party_id_number,paid"
    )?;
    for r in 0..violations {
        let v = r % vehicles;
        let owner = v % drivers;
        let (code, behaviour, points, fine) = OFFENCES[(r % OFFENCES.len() as u64) as usize];
        let at = EPOCH_2024 + (r as i64 * 7_919) % (3 * 365 * 86_400);
        let local = chrono::DateTime::from_timestamp(at + 8 * 3600, 0).expect("in range").naive_utc();
        let occurred = local.format("%Y-%m-%d %H:%M");
        // 70% decided and paid, 10% decided and unpaid, 20% untreated (as `bench generate`), decided the day after.
        let decided = (local.date() + chrono::Days::new(1)).format("%Y-%m-%d").to_string();
        let (decision, decided_on, party, paid) = match r % 10 {
            0 | 1 => (String::new(), "", String::new(), 0),
            2 => (format!("2102{r:012}"), decided.as_str(), id_number(owner), 0),
            _ => (format!("2102{r:012}"), decided.as_str(), id_number(owner), 1),
        };
        writeln!(
            out,
            "B{r:017},{},02,{occurred},中山路与五四路交叉口,{code},{behaviour},{points},{},{},{decision},{decided_on},{party},{paid}",
            plate(v),
            fine / 100,
            u8::from(r % 50 == 0)
        )?;
    }
    out.flush()?;
    Ok([drivers, drivers, vehicles, violations])
}

/// The natural key of each file, as the app's tables key them.
fn key(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "cards" => "card_no",
        "drivers" => "id_number",
        "vehicles" => "plate, plate_type",
        "violations" => "record_no",
        _ => return None,
    })
}

/// Loads `file` into `ceiling_KIND` on SQLite: the file's columns as text, the natural key as primary key, rows
/// in prepared multi-row inserts of 100, all in one transaction. Returns (rows, seconds).
pub async fn sqlite_ceiling(db: &Db, kind: &str, file: &Path) -> Result<(u64, f64), Box<dyn std::error::Error>> {
    let key = key(kind).ok_or("kind: cards, drivers, vehicles or violations")?;
    let mut reader = csv::Reader::from_path(file)?;
    let columns: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let table = format!("ceiling_{kind}");
    let started = Instant::now();
    let mut tx = db.begin_write().await?;
    let create = format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({}, PRIMARY KEY ({key}))",
        columns.iter().map(|c| format!("{c} TEXT")).collect::<Vec<_>>().join(", ")
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut *tx).await?;
    const ROWS_EACH: usize = 100;
    let statement = |rows: usize| {
        let one = format!("({})", vec!["?"; columns.len()].join(","));
        format!("INSERT INTO {table} ({}) VALUES {}", columns.join(","), vec![one; rows].join(","))
    };
    let full = statement(ROWS_EACH);
    let mut batch: Vec<csv::StringRecord> = Vec::with_capacity(ROWS_EACH);
    let mut rows = 0u64;
    let mut records = reader.records();
    loop {
        batch.clear();
        for record in records.by_ref().take(ROWS_EACH) {
            batch.push(record?);
        }
        if batch.is_empty() {
            break;
        }
        let sql = if batch.len() == ROWS_EACH { full.clone() } else { statement(batch.len()) };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for record in &batch {
            for field in record.iter() {
                query = query.bind(field.to_string());
            }
        }
        query.execute(&mut *tx).await?;
        rows += batch.len() as u64;
    }
    tx.commit().await?;
    Ok((rows, started.elapsed().as_secs_f64()))
}

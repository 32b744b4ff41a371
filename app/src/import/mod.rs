//! The operators' import of traffic-police and bank data from UTF-8 CSV files (SPEC §5), at city scale: the file
//! is streamed twice through a fixed buffer. The first pass checks every row, by itself and against the database
//! (a batch of lookups at a time), and only a file without a single bad row reaches the second, which upserts by
//! natural key in transactions of [`BATCH_ROWS`] rows, writing only the rows that change, so the app's own
//! writers are never held up for the length of a large file and an unchanged file writes nothing.
//! Server only. It writes the tables of `violations`, `study`, `identity` and cards through `platform`'s database;
//! the console's 数据导入 and `server import` call it. `evidence` copies the police's photos into the evidence store.

mod cards;
mod drivers;
pub mod evidence;
pub mod progress;
mod read;
mod sql;
mod study;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_app_state;
#[cfg(test)]
mod tests_as_of;
#[cfg(test)]
mod tests_no_panic;
#[cfg(test)]
mod tests_stream;
mod vehicles;
mod violations;

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use chrono::NaiveDate;
use sqlx::{Any, Transaction};

use crate::domain::{CivilDate, IdNumber, Plate, PlateType};
use crate::platform::audit::{self, Actor};
use crate::platform::db::{Backend, Db};
use crate::platform::metrics;
use read::{Record, RecordReader};
use sql::Dest;

/// Which file is being imported; each kind has its own columns and natural key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `cards.csv`: the bank's traffic service cards, keyed by card_no.
    Cards,
    /// `drivers.csv`: driving licences, keyed by id_number.
    Drivers,
    /// `vehicles.csv`: registered vehicles, keyed by (plate, plate_type).
    Vehicles,
    /// `violations.csv`: violation records, keyed by record_no.
    Violations,
    /// `questions.csv`: 审验学习's question bank, keyed by code.
    Questions,
    /// `courses.csv`: 审验学习's video course catalogue, keyed by code.
    Courses,
}

impl Kind {
    /// Every kind in dependency order: vehicles name cards, so cards come first.
    pub const ALL: [Kind; 6] =
        [Kind::Cards, Kind::Drivers, Kind::Vehicles, Kind::Violations, Kind::Questions, Kind::Courses];

    /// Reads `cards`, `drivers`, `vehicles`, `violations`, `questions` or `courses`.
    pub fn parse(name: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The kind's name, which is also its file name without `.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cards => "cards",
            Kind::Drivers => "drivers",
            Kind::Vehicles => "vehicles",
            Kind::Violations => "violations",
            Kind::Questions => "questions",
            Kind::Courses => "courses",
        }
    }

    /// The table the rows go into.
    fn table(self) -> &'static str {
        match self {
            Kind::Cards => "cards",
            Kind::Drivers => "drivers",
            Kind::Vehicles => "vehicles",
            Kind::Violations => "violations",
            Kind::Questions => "study_questions",
            Kind::Courses => "study_courses",
        }
    }

    /// The columns that together form the natural key, as named in error messages.
    fn key_columns(self) -> &'static str {
        match self {
            Kind::Cards => "card_no",
            Kind::Drivers => "id_number",
            Kind::Vehicles => "plate、plate_type",
            Kind::Violations => "record_no",
            Kind::Questions | Kind::Courses => "code",
        }
    }

    /// How many of the last `columns` a file may leave out.
    fn optional_columns(self) -> usize {
        match self {
            Kind::Drivers => drivers::OPTIONAL_COLUMNS,
            Kind::Vehicles => vehicles::OPTIONAL_COLUMNS,
            _ => 0,
        }
    }

    /// The header row the file must carry, column for column.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Cards => cards::COLUMNS,
            Kind::Drivers => drivers::COLUMNS,
            Kind::Vehicles => vehicles::COLUMNS,
            Kind::Violations => violations::COLUMNS,
            Kind::Questions => study::QUESTION_COLUMNS,
            Kind::Courses => study::COURSE_COLUMNS,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem in one row, e.g. `第3行：id_number 身份证号校验位不正确`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Physical line in the file, counting from 1 at the header row.
    pub line: usize,
    /// What is wrong, naming the column.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "第{}行：{}", self.line, self.reason)
    }
}

/// The most bad rows a refusal lists; beyond them it only counts, so a file of a million bad rows is refused in
/// bounded memory.
pub const MAX_REPORTED_ROWS: usize = 100;

/// Why a file was not imported; in every case but `Interrupted` and `Changed` nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Every bad row of the file, in line order.
    #[error("{}", rows_message(.0))]
    Rows(Vec<RowError>),
    /// More than [`MAX_REPORTED_ROWS`] rows are bad: the first of them, and how many there are in all.
    #[error("共{bad_rows}行数据有误，未导入任何数据；以下是前{}行：\n{}", MAX_REPORTED_ROWS, list(.first))]
    TooManyRows { first: Vec<RowError>, bad_rows: usize },
    /// The file as a whole is unusable: not CSV, not UTF-8, empty, or a header that is not the expected one.
    #[error("文件格式不正确：{0}")]
    Header(String),
    /// The database failed before anything was written.
    #[error("数据库写入失败，未导入任何数据：{0}")]
    Database(#[from] sqlx::Error),
    /// The database failed after the first `written` rows had been committed; re-importing the same file completes
    /// it, since every row upserts by its natural key.
    #[error("数据库写入中断：前{written}条已导入，第{next_line}行起未导入，请重新导入同一文件：{source}")]
    Interrupted { written: usize, next_line: usize, source: sqlx::Error },
    /// The file changed on disk between the check and the writing, after `written` rows had been committed.
    #[error("文件在校验之后被修改，已停止导入：前{written}条已导入；请在文件不再变动后重新导入")]
    Changed { written: usize },
}

impl ImportError {
    /// How many rows a refusal found bad (0 when the refusal is not about rows).
    pub fn bad_rows(&self) -> usize {
        match self {
            ImportError::Rows(errors) => distinct_lines(errors),
            ImportError::TooManyRows { bad_rows, .. } => *bad_rows,
            _ => 0,
        }
    }

    /// The listed row errors of a refusal about rows.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            ImportError::Rows(errors) | ImportError::TooManyRows { first: errors, .. } => errors,
            _ => &[],
        }
    }
}

fn distinct_lines(errors: &[RowError]) -> usize {
    let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    lines.dedup();
    lines.len()
}

fn list(errors: &[RowError]) -> String {
    errors.iter().map(RowError::to_string).collect::<Vec<_>>().join("\n")
}

fn rows_message(errors: &[RowError]) -> String {
    format!("{}行数据有误，未导入任何数据：\n{}", distinct_lines(errors), list(errors))
}

/// The row errors of one pass, in line order: every error of the first [`MAX_REPORTED_ROWS`] bad lines, and a
/// count of the rest.
#[derive(Default)]
struct Errors {
    shown: Vec<RowError>,
    bad_lines: usize,
    last_line: usize,
}

impl Errors {
    fn push(&mut self, error: RowError) {
        if error.line != self.last_line {
            self.bad_lines += 1;
            self.last_line = error.line;
        }
        if self.bad_lines <= MAX_REPORTED_ROWS {
            self.shown.push(error);
        }
    }

    fn is_empty(&self) -> bool {
        self.bad_lines == 0
    }

    fn into_result(self) -> Result<(), ImportError> {
        match self.bad_lines {
            0 => Ok(()),
            n if n <= MAX_REPORTED_ROWS => Err(ImportError::Rows(self.shown)),
            bad_rows => Err(ImportError::TooManyRows { first: self.shown, bad_rows }),
        }
    }
}

/// How many rows of a successful import were new, how many replaced a stored row, how many of those kept a
/// decision or payment the app had recorded where the file said otherwise, and how many were already stored
/// exactly as the file has them (and so were not written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub inserted: usize,
    pub updated: usize,
    /// Updated rows whose stored decision or paid flag won over the file's.
    pub kept: usize,
    /// Updated rows that already held what the import would write: nothing was written for them.
    pub unchanged: usize,
}

impl ImportReport {
    fn count(&mut self, existed: bool) {
        if existed {
            self.updated += 1;
        } else {
            self.inserted += 1;
        }
    }

    fn add(&mut self, batch: ImportReport) {
        self.inserted += batch.inserted;
        self.updated += batch.updated;
        self.kept += batch.kept;
        self.unchanged += batch.unchanged;
    }

    /// Whether the file held nothing the database did not: no row was written.
    pub fn nothing_changed(&self) -> bool {
        self.inserted == 0 && self.kept == 0 && self.unchanged == self.updated
    }

    /// The counts for the audit log, e.g. `inserted 9, updated 0, kept 2, unchanged 7`.
    fn detail(&self) -> String {
        let kept = if self.kept > 0 { format!(", kept {}", self.kept) } else { String::new() };
        let unchanged = if self.unchanged > 0 { format!(", unchanged {}", self.unchanged) } else { String::new() };
        format!("inserted {}, updated {}{kept}{unchanged}", self.inserted, self.updated)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.updated > 0 && self.nothing_changed() {
            return write!(f, "数据无变化：{}条均与已有数据相同，未写入任何数据", self.updated);
        }
        write!(f, "新增{}条，更新{}条", self.inserted, self.updated)?;
        if self.kept > 0 {
            write!(f, "，其中{}条保留了应用内已有的处理或缴款结果", self.kept)?;
        }
        Ok(())
    }
}

/// What an import tells its caller while it runs: progress for long files, and the rows where the file
/// contradicts a decision the app made (the app's stands; each is also counted in [`ImportReport::kept`]).
#[derive(Debug)]
pub enum Event<'a> {
    /// The check has read `rows` data rows, `bytes` of the file's `total_bytes`.
    Checked { rows: usize, bytes: u64, total_bytes: u64 },
    /// `rows` of the file's `total` rows are written.
    Written { rows: usize, total: usize },
    /// A row whose decision differs from the one the app made, which was kept.
    Contradiction(&'a RowError),
}

/// Where an import reads its file from. It is read twice: once to check every row, once to write them.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A file in memory, e.g. a size-capped console upload.
    Bytes(&'a [u8]),
    /// A file on disk, streamed through a fixed buffer.
    File(&'a std::path::Path),
}

/// A file's size and modification time, to notice it changing between the passes.
type Stamp = Option<(u64, std::time::SystemTime)>;

impl Source<'_> {
    fn open(&self) -> Result<Box<dyn Read + Send + '_>, ImportError> {
        match self {
            Source::Bytes(bytes) => Ok(Box::new(*bytes)),
            Source::File(path) => std::fs::File::open(path)
                .map(|file| Box::new(file) as Box<dyn Read + Send>)
                .map_err(|e| ImportError::Header(format!("文件无法打开：{e}"))),
        }
    }

    fn len(&self) -> u64 {
        match self {
            Source::Bytes(bytes) => bytes.len() as u64,
            Source::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
        }
    }

    fn stamp(&self) -> Stamp {
        match self {
            Source::Bytes(_) => None,
            Source::File(path) => std::fs::metadata(path).ok().and_then(|m| Some((m.len(), m.modified().ok()?))),
        }
    }
}

/// Rows checked or written at a time. SQLite has one write lock for the whole database, so an import holds up
/// 接受处理 and payments for one batch at a time, never for a whole file.
pub const BATCH_ROWS: usize = 5_000;
/// The pause on SQLite once batches have held the write lock for [`SQLITE_HOLD`]. A writer waiting on the busy
/// timeout retries at most 100 ms apart, so a longer pause lets it in before the next batch takes the lock again
/// (the moment between two batches is too short for it to notice); PostgreSQL locks rows and needs none.
const SQLITE_TURN: std::time::Duration = std::time::Duration::from_millis(110);
/// How long batches write back to back on SQLite before [`SQLITE_TURN`]: an app writer waits at most about this
/// plus its retry interval, and the pauses cost the import about a fifth of its time (a pause after every batch
/// of 5,000 rows was more than half of it: BENCHMARKS.md).
const SQLITE_HOLD: std::time::Duration = std::time::Duration::from_millis(400);

/// Imports one file all or nothing and records the command-line operator in the audit log.
pub async fn import_csv(db: &Db, kind: Kind, bytes: &[u8], operator: &str) -> Result<ImportReport, ImportError> {
    import_csv_by(db, kind, bytes, Actor::Operator(operator)).await
}

/// Imports one file all or nothing and records `actor` in the audit log.
pub async fn import_csv_by(db: &Db, kind: Kind, bytes: &[u8], actor: Actor<'_>) -> Result<ImportReport, ImportError> {
    import_from(db, kind, Source::Bytes(bytes), actor, &mut |_| {}).await
}

/// Imports one file all or nothing, records `actor` in the audit log and tells `on_event` how it goes.
pub async fn import_from(
    db: &Db,
    kind: Kind,
    source: Source<'_>,
    actor: Actor<'_>,
    on_event: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<ImportReport, ImportError> {
    let imported = async {
        let today = CivilDate::shanghai_today_from_epoch(crate::platform::now());
        let stamp = source.stamp();
        let total = check_file(db, kind, source.open()?, source.len(), today, on_event).await?;
        if source.stamp() != stamp {
            return Err(ImportError::Changed { written: 0 });
        }
        write_file(db, kind, source, total, today, actor, on_event).await
    }
    .await;
    match &imported {
        Ok(report) => tracing::info!(%kind, inserted = report.inserted, updated = report.updated,
            kept = report.kept, unchanged = report.unchanged, "imported"),
        Err(refused) => metrics::import_rows(kind.name(), "refused", refused.bad_rows()),
    }
    imported
}

/// The first pass: reads the file once through, checks every row by itself, against the rows before it and
/// against the database (a batch at a time), and returns how many data rows it has. Memory stays bounded by a
/// batch and a fingerprint of each key seen, whatever the file's size.
async fn check_file(
    db: &Db,
    kind: Kind,
    input: impl Read,
    total_bytes: u64,
    today: CivilDate,
    on_event: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<usize, ImportError> {
    let mut reader = RecordReader::open(kind, input)?;
    let mut seen = Seen::default();
    let mut file_errors = Errors::default();
    // Rows contradicting the database are reported only for a file without errors of its own, as before batching.
    let mut db_errors = Errors::default();
    let mut rows = 0;
    loop {
        let records = read_batch(&mut reader)?;
        if records.is_empty() {
            break;
        }
        rows += records.len();
        let batch = Rows::parse(kind, reader.columns, &records, today, Some(&mut seen), &mut file_errors);
        if file_errors.is_empty() {
            batch.check(db, &mut db_errors).await?;
        }
        on_event(Event::Checked { rows, bytes: reader.bytes_read().min(total_bytes), total_bytes });
    }
    file_errors.into_result()?;
    db_errors.into_result()?;
    Ok(rows)
}

/// The second pass: reads the file again and writes it a batch per transaction, each with its own audit row, so
/// whatever was committed is accounted for even if a later batch fails.
async fn write_file(
    db: &Db,
    kind: Kind,
    source: Source<'_>,
    total: usize,
    today: CivilDate,
    actor: Actor<'_>,
    on_event: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<ImportReport, ImportError> {
    let mut dest = Dest::open(db, kind.table()).await?;
    let written = write_batches(db, kind, source, total, today, actor, &mut dest, on_event).await;
    dest.close().await;
    written
}

#[allow(clippy::too_many_arguments)]
async fn write_batches(
    db: &Db,
    kind: Kind,
    source: Source<'_>,
    total: usize,
    today: CivilDate,
    actor: Actor<'_>,
    dest: &mut Dest,
    on_event: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<ImportReport, ImportError> {
    let mut reader = RecordReader::open(kind, source.open()?)?;
    let mut report = ImportReport::default();
    let mut written = 0;
    let mut holding = std::time::Instant::now();
    loop {
        let records = read_batch(&mut reader).map_err(|_| ImportError::Changed { written })?;
        let Some(first_line) = records.first().map(|r| r.line) else { break };
        let mut errors = Errors::default();
        let batch = Rows::parse(kind, reader.columns, &records, today, None, &mut errors);
        if !errors.is_empty() || written + records.len() > total {
            return Err(ImportError::Changed { written });
        }
        if db.backend() == Backend::Sqlite && written > 0 && holding.elapsed() >= SQLITE_HOLD {
            tokio::time::sleep(SQLITE_TURN).await;
            holding = std::time::Instant::now();
        }
        let mut contradictions = Vec::new();
        let range = written..written + records.len();
        let done =
            write_batch(db, kind, &batch, range, total, actor, dest, &mut contradictions).await.map_err(|source| {
                if written == 0 {
                    ImportError::Database(source)
                } else {
                    ImportError::Interrupted { written, next_line: first_line, source }
                }
            })?;
        for contradiction in &contradictions {
            on_event(Event::Contradiction(contradiction));
        }
        metrics::import_rows(kind.name(), "inserted", done.inserted);
        metrics::import_rows(kind.name(), "updated", done.updated - done.unchanged);
        metrics::import_rows(kind.name(), "unchanged", done.unchanged);
        report.add(done);
        written += records.len();
        on_event(Event::Written { rows: written, total });
    }
    if written != total {
        return Err(ImportError::Changed { written });
    }
    Ok(report)
}

/// The next [`BATCH_ROWS`] records of the file (fewer at its end, none after it).
fn read_batch<R: Read>(reader: &mut RecordReader<R>) -> Result<Vec<Record>, ImportError> {
    let mut records = Vec::with_capacity(BATCH_ROWS);
    while records.len() < BATCH_ROWS {
        match reader.next()? {
            Some(record) => records.push(record),
            None => break,
        }
    }
    Ok(records)
}

/// Writes the rows of file rows `range` in one transaction with its own audit row.
async fn write_batch(
    db: &Db,
    kind: Kind,
    rows: &Rows,
    range: std::ops::Range<usize>,
    total: usize,
    actor: Actor<'_>,
    dest: &mut Dest,
    contradictions: &mut Vec<RowError>,
) -> Result<ImportReport, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // Two imports at once on PostgreSQL would otherwise both count a new key as inserted.
    db.lock(&mut tx, "import").await?;
    let report = rows.write(&mut tx, dest, contradictions).await?;
    let detail = if range.len() == total {
        report.detail()
    } else {
        format!("rows {}-{} of {total}: {}", range.start + 1, range.end, report.detail())
    };
    audit::record(&mut tx, actor, &format!("import.{kind}"), kind.name(), &detail).await?;
    tx.commit().await?;
    Ok(report)
}

/// The bundled demo file of `kind`, documented in `app/demo/README.md`.
pub fn demo_file(kind: Kind) -> &'static [u8] {
    match kind {
        Kind::Cards => include_bytes!("../../demo/cards.csv"),
        Kind::Drivers => include_bytes!("../../demo/drivers.csv"),
        Kind::Vehicles => include_bytes!("../../demo/vehicles.csv"),
        Kind::Violations => include_bytes!("../../demo/violations.csv"),
        Kind::Questions => include_bytes!("../../demo/questions.csv"),
        Kind::Courses => include_bytes!("../../demo/courses.csv"),
    }
}

/// Imports every demo file in dependency order, as operator `demo`.
pub async fn load_demo(db: &Db) -> Result<(), ImportError> {
    for kind in Kind::ALL {
        import_csv(db, kind, demo_file(kind), "demo").await?;
    }
    Ok(())
}

/// One batch of a file's parsed rows, one variant per kind.
enum Rows {
    Cards(Vec<Parsed<cards::Card>>),
    Drivers(Vec<Parsed<drivers::Driver>>),
    Vehicles(Vec<Parsed<vehicles::Vehicle>>),
    Violations(Vec<Parsed<violations::Violation>>),
    Questions(Vec<Parsed<study::Question>>),
    Courses(Vec<Parsed<study::Course>>),
}

impl Rows {
    /// Parses a batch of records; `today` (Asia/Shanghai) bounds birth dates in ID numbers. With `seen`, a natural
    /// key (or decision number) met on an earlier line is refused.
    fn parse(
        kind: Kind,
        columns: Columns,
        records: &[Record],
        today: CivilDate,
        seen: Option<&mut Seen>,
        errors: &mut Errors,
    ) -> Self {
        let file = File { kind, columns, records, today, seen, errors };
        match kind {
            Kind::Cards => Rows::Cards(parse_rows(file, cards::parse, cards::key, no_second_key)),
            Kind::Drivers => Rows::Drivers(parse_rows(file, drivers::parse, drivers::key, no_second_key)),
            Kind::Vehicles => Rows::Vehicles(parse_rows(file, vehicles::parse, vehicles::key, no_second_key)),
            Kind::Violations => {
                Rows::Violations(parse_rows(file, violations::parse, violations::key, violations::decision_key))
            }
            Kind::Questions => {
                Rows::Questions(parse_rows(file, study::parse_question, study::question_key, no_second_key))
            }
            Kind::Courses => Rows::Courses(parse_rows(file, study::parse_course, study::course_key, no_second_key)),
        }
    }

    /// Checks the rows against what the database holds (a vehicle's card, a decision number's record), before
    /// anything is written.
    async fn check(&self, db: &Db, errors: &mut Errors) -> Result<(), sqlx::Error> {
        match self {
            Rows::Vehicles(rows) => vehicles::check(db, rows, errors).await,
            Rows::Violations(rows) => violations::check(db, rows, errors).await,
            Rows::Cards(_) | Rows::Drivers(_) | Rows::Questions(_) | Rows::Courses(_) => Ok(()),
        }
    }

    async fn write(
        &self,
        tx: &mut Transaction<'static, Any>,
        dest: &mut Dest,
        contradictions: &mut Vec<RowError>,
    ) -> Result<ImportReport, sqlx::Error> {
        match self {
            Rows::Cards(rows) => cards::write(tx, dest, rows).await,
            Rows::Drivers(rows) => drivers::write(tx, dest, rows).await,
            Rows::Vehicles(rows) => vehicles::write(tx, dest, rows).await,
            Rows::Violations(rows) => violations::write(tx, dest, rows, contradictions).await,
            Rows::Questions(rows) => study::write_questions(tx, dest, rows).await,
            Rows::Courses(rows) => study::write_courses(tx, dest, rows).await,
        }
    }
}

/// A row that parsed, with the line it came from for errors found later against the database.
struct Parsed<T> {
    line: usize,
    row: T,
}

/// The columns a file carries, in order: its kind's, or those without the optional last ones.
type Columns = &'static [&'static str];

/// The first line of each natural key (and decision number) met so far, by a 64-bit fingerprint of the key:
/// 16 bytes a row instead of the key itself, for a file of millions of rows.
#[derive(Default)]
struct Seen {
    keys: HashMap<u64, u32>,
    decisions: HashMap<u64, u32>,
}

fn fingerprint(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // The default hasher with its fixed keys: the same key always has the same fingerprint.
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// Every data record of a file in memory, for tests of the reader.
#[cfg(test)]
fn read_records(kind: Kind, bytes: &[u8]) -> Result<(Columns, Vec<Record>), ImportError> {
    let mut reader = RecordReader::open(kind, bytes)?;
    let mut records = Vec::new();
    while let Some(record) = reader.next()? {
        records.push(record);
    }
    Ok((reader.columns, records))
}

fn check_header(kind: Kind, header: &[String]) -> Result<Columns, ImportError> {
    let expected = kind.columns();
    let required = expected.len() - kind.optional_columns();
    if (required..=expected.len()).contains(&header.len())
        && header.iter().map(String::as_str).eq(expected[..header.len()].iter().copied())
    {
        return Ok(&expected[..header.len()]);
    }
    let missing: Vec<&str> =
        expected[..required].iter().copied().filter(|column| !header.iter().any(|h| h == column)).collect();
    let unknown: Vec<&str> = header
        .iter()
        .filter(|h| !expected.contains(&h.as_str()))
        .map(|h| if h.is_empty() { "（空列名）" } else { h.as_str() })
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("缺少列 {}", missing.join("、")));
    }
    if !unknown.is_empty() {
        problems.push(format!("无法识别的列 {}", unknown.join("、")));
    }
    if problems.is_empty() {
        problems.push("列的顺序不正确或有重复列".into());
    }
    let optional = match &expected[required..] {
        [] => String::new(),
        last => format!("（最后的 {} 可省略）", last.join(",")),
    };
    Err(ImportError::Header(format!(
        "{kind}.csv 的表头{}；表头应为 {}{optional}",
        problems.join("，"),
        expected.join(",")
    )))
}

/// A batch of records to parse, and what parsing it needs and adds to.
struct File<'a> {
    kind: Kind,
    columns: Columns,
    records: &'a [Record],
    today: CivilDate,
    seen: Option<&'a mut Seen>,
    errors: &'a mut Errors,
}

/// Parses every record of a batch and refuses a natural key (or a second key such as a decision number) seen on
/// an earlier line, collecting every problem.
fn parse_rows<T>(
    File { kind, columns, records, today, mut seen, errors }: File<'_>,
    parse: impl Fn(&mut Fields) -> Option<T>,
    key: impl Fn(&T) -> String,
    second_key: impl Fn(&T) -> Option<(&'static str, &str)>,
) -> Vec<Parsed<T>> {
    let mut rows = Vec::with_capacity(records.len());
    let mut found = Vec::new();
    for record in records {
        if record.fields.len() != columns.len() {
            errors.push(RowError {
                line: record.line,
                reason: format!("应有{}列，实际为{}列", columns.len(), record.fields.len()),
            });
            continue;
        }
        let mut fields = Fields { record, columns, today, errors: &mut found };
        let parsed = parse(&mut fields);
        for error in found.drain(..) {
            errors.push(error);
        }
        let Some(row) = parsed else { continue };
        if let Some(seen) = seen.as_deref_mut() {
            let line = record.line as u32;
            let key = key(&row);
            if let Some(first) = first_or_insert(&mut seen.keys, &key, line) {
                errors.push(RowError {
                    line: record.line,
                    reason: format!("{} {key} 与第{first}行重复", kind.key_columns()),
                });
                continue;
            }
            if let Some((column, second)) = second_key(&row) {
                if let Some(first) = first_or_insert(&mut seen.decisions, second, line) {
                    errors.push(RowError {
                        line: record.line, reason: format!("{column} {second} 与第{first}行重复")
                    });
                    continue;
                }
            }
        }
        rows.push(Parsed { line: record.line, row });
    }
    rows
}

/// For kinds whose rows have no key but the natural one.
fn no_second_key<T>(_: &T) -> Option<(&'static str, &str)> {
    None
}

/// The line `key` was first seen on, or `None` after noting `line` as its first.
fn first_or_insert(seen: &mut HashMap<u64, u32>, key: &str, line: u32) -> Option<u32> {
    match seen.entry(fingerprint(key)) {
        std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(line);
            None
        }
    }
}

/// Reads the fields of one record by column name and collects every problem found in it.
struct Fields<'a> {
    record: &'a Record,
    columns: Columns,
    /// Today in Asia/Shanghai: nobody in the file can be born later.
    today: CivilDate,
    errors: &'a mut Vec<RowError>,
}

impl Fields<'_> {
    /// The trimmed text of `column`, empty when the cell is blank or the file leaves the optional column out.
    fn text(&self, column: &str) -> &str {
        self.columns.iter().position(|c| *c == column).map_or("", |index| &self.record.fields[index])
    }

    /// Parses `column`, recording the failure against it.
    fn parse<T, E: fmt::Display>(&mut self, column: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        match parse(self.text(column)) {
            Ok(value) => Some(value),
            Err(reason) => {
                self.reject(column, reason);
                None
            }
        }
    }

    /// Records a problem with `column`.
    fn reject(&mut self, column: &str, reason: impl fmt::Display) {
        self.errors.push(RowError { line: self.record.line, reason: format!("{column} {reason}") });
    }

    /// An ID number in `column`, whose birth date is not after today.
    fn id_number(&mut self, column: &str) -> Option<IdNumber> {
        let today = self.today;
        self.parse(column, |text| IdNumber::parse_as_of(text, today))
    }

    /// A plate and its type, checked against each other: new-energy plates carry 51 or 52, others 01 or 02.
    fn vehicle(&mut self) -> Option<(Plate, PlateType)> {
        let plate = self.parse("plate", Plate::parse);
        let plate_type =
            self.parse("plate_type", |text| PlateType::parse(text).map_err(|e| format!("{e}（应为01、02、51或52）")));
        let (plate, plate_type) = (plate?, plate_type?);
        let new_energy_type = matches!(plate_type, PlateType::LargeNewEnergy | PlateType::SmallNewEnergy);
        if plate.is_new_energy() && !new_energy_type {
            self.reject("plate_type", format!("{plate} 是新能源号牌，号牌种类应为51或52"));
            return None;
        }
        if !plate.is_new_energy() && new_energy_type {
            self.reject("plate_type", format!("{plate} 是普通号牌，号牌种类应为01或02"));
            return None;
        }
        Some((plate, plate_type))
    }
}

/// A real calendar date written YYYY-MM-DD, in the years the app's dates cover.
fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    if !has_shape(text, "dddd-dd-dd") {
        return Err("应为 YYYY-MM-DD 格式的日期");
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "不是真实存在的日期")?;
    in_app_years(date)
}

/// `date`, if [`CivilDate`] can hold it.
fn in_app_years(date: NaiveDate) -> Result<NaiveDate, &'static str> {
    match CivilDate::parse(&date.format("%Y-%m-%d").to_string()) {
        Some(_) => Ok(date),
        None => Err("日期应在1900-01-01至2199-12-31之间"),
    }
}

/// The optional `as_of` column: when the system of record exported the row, `YYYY-MM-DD HH:MM:SS` (or to the
/// minute) in Asia/Shanghai, not later than now; empty when the file does not say.
fn parse_as_of(text: &str) -> Result<Option<i64>, &'static str> {
    if text.is_empty() {
        return Ok(None);
    }
    let at = crate::export::parse_shanghai_time(text)
        .filter(|_| text.len() > 10)
        .ok_or("应为 YYYY-MM-DD HH:MM:SS 格式的北京时间（文件的导出时刻）")?;
    if at > crate::platform::now() {
        return Err("不能晚于当前时间");
    }
    Ok(Some(at))
}

/// A `0` or `1` flag.
fn parse_flag(text: &str) -> Result<bool, &'static str> {
    match text {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err("应为0或1"),
    }
}

/// Whether `text` matches `pattern`, where `d` stands for an ASCII digit and any other byte for itself.
fn has_shape(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(b, p)| if p == b'd' { b.is_ascii_digit() } else { b == p })
}

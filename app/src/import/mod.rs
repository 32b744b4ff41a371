//! The operators' import of traffic-police and bank data from UTF-8 CSV files (SPEC §5): the whole file is
//! parsed and checked against the database first, and only a file without a single bad row is written, upserting
//! by natural key in transactions of at most [`BATCH_ROWS`] rows so the app's own writers are never held up for
//! the length of a large file.
//! Server only. It writes the tables of `violations`, `study`, `identity` and cards through `platform`'s database;
//! the console's 数据导入 and `server import` call it. `evidence` copies the police's photos into the evidence store.

mod cards;
mod drivers;
pub mod evidence;
mod study;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_app_state;
#[cfg(test)]
mod tests_as_of;
#[cfg(test)]
mod tests_no_panic;
mod vehicles;
mod violations;

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use sqlx::{Any, Transaction};

use crate::domain::{CivilDate, IdNumber, Plate, PlateType};
use crate::platform::audit::{self, Actor};
use crate::platform::db::{Backend, Db};
use crate::platform::metrics;

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

/// Why a file was not imported; in every case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Every bad row of the file, in line order.
    #[error("{}", rows_message(.0))]
    Rows(Vec<RowError>),
    /// The file as a whole is unusable: not UTF-8, empty, or a header that is not the expected one.
    #[error("文件格式不正确：{0}")]
    Header(String),
    /// The database failed before anything was written.
    #[error("数据库写入失败，未导入任何数据：{0}")]
    Database(#[from] sqlx::Error),
    /// The database failed after the first `written` rows had been committed; re-importing the same file completes
    /// it, since every row upserts by its natural key.
    #[error("数据库写入中断：前{written}条已导入，第{next_line}行起未导入，请重新导入同一文件：{source}")]
    Interrupted { written: usize, next_line: usize, source: sqlx::Error },
}

fn rows_message(errors: &[RowError]) -> String {
    let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    lines.dedup();
    let list: Vec<String> = errors.iter().map(RowError::to_string).collect();
    format!("{}行数据有误，未导入任何数据：\n{}", lines.len(), list.join("\n"))
}

/// How many rows of a successful import were new, how many replaced a stored row, and how many of those kept a
/// decision or payment the app had recorded where the file said otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub inserted: usize,
    pub updated: usize,
    /// Updated rows whose stored decision or paid flag won over the file's.
    pub kept: usize,
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
    }

    /// The counts for the audit log, e.g. `inserted 9, updated 0, kept 2`.
    fn detail(&self) -> String {
        let kept = if self.kept > 0 { format!(", kept {}", self.kept) } else { String::new() };
        format!("inserted {}, updated {}{kept}", self.inserted, self.updated)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "新增{}条，更新{}条", self.inserted, self.updated)?;
        if self.kept > 0 {
            write!(f, "，其中{}条保留了应用内已有的处理或缴款结果", self.kept)?;
        }
        Ok(())
    }
}

/// Rows written per transaction. SQLite has one write lock for the whole database, so an import holds up
/// 接受处理 and payments for one batch at a time, never for a whole file.
pub const BATCH_ROWS: usize = 500;
/// The pause after each batch on SQLite. A writer waiting on the busy timeout retries at most 100 ms apart, so
/// a longer pause lets it in before the next batch takes the lock again; PostgreSQL locks rows and needs none.
const SQLITE_TURN: std::time::Duration = std::time::Duration::from_millis(110);

/// Imports one file all or nothing and records the command-line operator in the audit log.
pub async fn import_csv(db: &Db, kind: Kind, bytes: &[u8], operator: &str) -> Result<ImportReport, ImportError> {
    import_csv_by(db, kind, bytes, Actor::Operator(operator)).await
}

/// Imports one file all or nothing and records `actor` in the audit log.
pub async fn import_csv_by(db: &Db, kind: Kind, bytes: &[u8], actor: Actor<'_>) -> Result<ImportReport, ImportError> {
    let imported = import_file(db, kind, bytes, actor).await;
    if let Err(ImportError::Rows(errors)) = &imported {
        let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        lines.dedup();
        metrics::import_rows(kind.name(), "refused", lines.len());
    }
    imported
}

async fn import_file(db: &Db, kind: Kind, bytes: &[u8], actor: Actor<'_>) -> Result<ImportReport, ImportError> {
    let (columns, records) = read_records(kind, bytes)?;
    let today = CivilDate::shanghai_today_from_epoch(crate::platform::now());
    let rows = Rows::parse(kind, columns, &records, today)?;
    rows.check(db).await?;
    let total = rows.len();
    let mut report = ImportReport::default();
    for start in (0..total).step_by(BATCH_ROWS) {
        let batch = start..total.min(start + BATCH_ROWS);
        let written = write_batch(db, kind, &rows, batch.clone(), total, actor).await.map_err(|source| {
            if start == 0 {
                ImportError::Database(source)
            } else {
                ImportError::Interrupted { written: start, next_line: rows.line(start), source }
            }
        })?;
        metrics::import_rows(kind.name(), "inserted", written.inserted);
        metrics::import_rows(kind.name(), "updated", written.updated);
        report.add(written);
        if db.backend() == Backend::Sqlite && batch.end < total {
            tokio::time::sleep(SQLITE_TURN).await;
        }
    }
    tracing::info!(%kind, inserted = report.inserted, updated = report.updated, kept = report.kept, "imported");
    Ok(report)
}

/// Writes rows `batch` of the file in one transaction with its own audit row, so whatever was committed is
/// accounted for even if a later batch fails.
async fn write_batch(
    db: &Db,
    kind: Kind,
    rows: &Rows,
    batch: std::ops::Range<usize>,
    total: usize,
    actor: Actor<'_>,
) -> Result<ImportReport, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // Two imports at once on PostgreSQL would otherwise both count a new key as inserted.
    db.lock(&mut tx, "import").await?;
    let report = rows.write(&mut tx, batch.clone()).await?;
    let detail = if batch.len() == total {
        report.detail()
    } else {
        format!("rows {}-{} of {total}: {}", batch.start + 1, batch.end, report.detail())
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

/// A file's parsed rows, one variant per kind.
enum Rows {
    Cards(Vec<Parsed<cards::Card>>),
    Drivers(Vec<Parsed<drivers::Driver>>),
    Vehicles(Vec<Parsed<vehicles::Vehicle>>),
    Violations(Vec<Parsed<violations::Violation>>),
    Questions(Vec<Parsed<study::Question>>),
    Courses(Vec<Parsed<study::Course>>),
}

impl Rows {
    /// Parses every record; `today` (Asia/Shanghai) bounds birth dates in ID numbers.
    fn parse(kind: Kind, columns: Columns, records: &[Record], today: CivilDate) -> Result<Self, ImportError> {
        let file = (kind, columns, records, today);
        let rows = match kind {
            Kind::Cards => Rows::Cards(parse_rows(file, cards::parse, cards::key)?),
            Kind::Drivers => Rows::Drivers(parse_rows(file, drivers::parse, drivers::key)?),
            Kind::Vehicles => Rows::Vehicles(parse_rows(file, vehicles::parse, vehicles::key)?),
            Kind::Violations => {
                let rows = parse_rows(file, violations::parse, violations::key)?;
                violations::check_decisions_unique(&rows)?;
                Rows::Violations(rows)
            }
            Kind::Questions => Rows::Questions(parse_rows(file, study::parse_question, study::question_key)?),
            Kind::Courses => Rows::Courses(parse_rows(file, study::parse_course, study::course_key)?),
        };
        Ok(rows)
    }

    /// Checks the rows against what the database holds (a vehicle's card, a decision number's record), before
    /// anything is written.
    async fn check(&self, db: &Db) -> Result<(), ImportError> {
        match self {
            Rows::Vehicles(rows) => vehicles::check(db, rows).await,
            Rows::Violations(rows) => violations::check(db, rows).await,
            Rows::Cards(_) | Rows::Drivers(_) | Rows::Questions(_) | Rows::Courses(_) => Ok(()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Rows::Cards(rows) => rows.len(),
            Rows::Drivers(rows) => rows.len(),
            Rows::Vehicles(rows) => rows.len(),
            Rows::Violations(rows) => rows.len(),
            Rows::Questions(rows) => rows.len(),
            Rows::Courses(rows) => rows.len(),
        }
    }

    /// The file line of row `index`.
    fn line(&self, index: usize) -> usize {
        match self {
            Rows::Cards(rows) => rows[index].line,
            Rows::Drivers(rows) => rows[index].line,
            Rows::Vehicles(rows) => rows[index].line,
            Rows::Violations(rows) => rows[index].line,
            Rows::Questions(rows) => rows[index].line,
            Rows::Courses(rows) => rows[index].line,
        }
    }

    async fn write(
        &self,
        tx: &mut Transaction<'static, Any>,
        batch: std::ops::Range<usize>,
    ) -> Result<ImportReport, sqlx::Error> {
        match self {
            Rows::Cards(rows) => cards::write(tx, &rows[batch]).await,
            Rows::Drivers(rows) => drivers::write(tx, &rows[batch]).await,
            Rows::Vehicles(rows) => vehicles::write(tx, &rows[batch]).await,
            Rows::Violations(rows) => violations::write(tx, &rows[batch]).await,
            Rows::Questions(rows) => study::write_questions(tx, &rows[batch]).await,
            Rows::Courses(rows) => study::write_courses(tx, &rows[batch]).await,
        }
    }
}

/// A data row of the file: its physical line and its fields, trimmed, in header order.
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// A row that parsed, with the line it came from for errors found later against the database.
struct Parsed<T> {
    line: usize,
    row: T,
}

/// The columns a file carries, in order: its kind's, or those without the optional last ones.
type Columns = &'static [&'static str];

/// Decodes the file and checks its header; returns its columns and the data rows, blank ones dropped.
fn read_records(kind: Kind, bytes: &[u8]) -> Result<(Columns, Vec<Record>), ImportError> {
    // Excel and Notepad put a byte-order mark in front of UTF-8 files.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + line_breaks(&bytes[..e.valid_up_to()]);
        ImportError::Header(format!("第{line}行不是UTF-8编码；用Excel编辑的文件请另存为“CSV UTF-8（逗号分隔）”"))
    })?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut lines = LineCounter::default();
    let mut records = Vec::new();
    for result in reader.records() {
        let record = result.map_err(|e| ImportError::Header(format!("无法按CSV格式读取：{e}")))?;
        let fields: Vec<String> = record.iter().map(|f| f.trim().to_owned()).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        // csv's own line numbers drift on blank lines and CRLF; count from the record's byte offset instead.
        let offset = record.position().map_or(0, |p| p.byte() as usize);
        let line = lines.line_of_record_at(text.as_bytes(), offset);
        records.push(Record { line, fields });
    }
    if records.is_empty() {
        return Err(ImportError::Header("文件为空，缺少表头行".into()));
    }
    let header = records.remove(0);
    let columns = check_header(kind, &header.fields)?;
    Ok((columns, records))
}

/// Turns byte offsets into physical line numbers, reading the file once from front to back.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    breaks: usize,
}

impl LineCounter {
    /// The line of the record csv reports at `offset`, which may point at the line breaks before it.
    fn line_of_record_at(&mut self, text: &[u8], offset: usize) -> usize {
        let skipped = text[offset..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
        let start = (offset + skipped).max(self.offset);
        self.breaks += line_breaks(&text[self.offset..start]);
        self.offset = start;
        1 + self.breaks
    }
}

/// Line breaks in `bytes`, where CRLF, LF and a lone CR each end one line.
fn line_breaks(bytes: &[u8]) -> usize {
    bytes.iter().enumerate().filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))).count()
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

/// Parses every record and refuses a natural key seen on an earlier line, collecting every problem.
fn parse_rows<T>(
    (kind, columns, records, today): (Kind, Columns, &[Record], CivilDate),
    parse: impl Fn(&mut Fields) -> Option<T>,
    key: impl Fn(&T) -> String,
) -> Result<Vec<Parsed<T>>, ImportError> {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut first_line_of_key: HashMap<String, usize> = HashMap::new();
    for record in records {
        if record.fields.len() != columns.len() {
            errors.push(RowError {
                line: record.line,
                reason: format!("应有{}列，实际为{}列", columns.len(), record.fields.len()),
            });
            continue;
        }
        let mut fields = Fields { record, columns, today, errors: &mut errors };
        let Some(row) = parse(&mut fields) else { continue };
        let key = key(&row);
        if let Some(first) = first_line_of_key.get(&key) {
            errors.push(RowError {
                line: record.line,
                reason: format!("{} {key} 与第{first}行重复", kind.key_columns()),
            });
            continue;
        }
        first_line_of_key.insert(key, record.line);
        rows.push(Parsed { line: record.line, row });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(ImportError::Rows(errors))
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

//! The import at city scale: a file is checked in full before anything is written, streamed in bounded memory,
//! written in batches the app's own writers get in between, and bad input is named for what it is.

use std::io::Read;
use std::time::Duration;

use super::*;
use crate::platform::test_db::fresh_databases;

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(db.pool()).await.unwrap()
}

const QUESTIONS_HEADER: &str = "code,kind,stem,option_a,option_b,option_c,option_d,answer,explanation\n";
const VIOLATIONS_HEADER: &str = "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,\
                                 counter_only,decision_no,decided_on,party_id_number,paid\n";

/// A file generated row by row as it is read, never held whole: the header, then `rows` rows made by `row`.
struct Generated<F> {
    rows: usize,
    next: usize,
    row: F,
    pending: Vec<u8>,
    at: usize,
}

impl<F: FnMut(usize) -> String> Generated<F> {
    fn new(header: &'static str, rows: usize, row: F) -> Self {
        Generated { rows, next: 0, row, pending: header.as_bytes().to_vec(), at: 0 }
    }
}

impl<F: FnMut(usize) -> String> Read for Generated<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.pending.len() {
            if self.next == self.rows {
                return Ok(0);
            }
            self.next += 1;
            self.pending = (self.row)(self.next).into_bytes();
            self.at = 0;
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn question(i: usize) -> String {
    format!("Q{i:07},judge,题干{i},,,,,T,解析\n")
}

fn violation(i: usize) -> String {
    format!("R{i:09},辽B12345,02,2026-11-01 08:00,黄河路,1039,机动车违反规定停放,0,200,0,,,,0\n")
}

fn generated(rows: usize, row: fn(usize) -> String, header: &'static str) -> Vec<u8> {
    let mut file = Vec::new();
    Generated::new(header, rows, row).read_to_end(&mut file).unwrap();
    file
}

#[tokio::test]
async fn a_bad_row_next_to_the_last_of_a_large_file_writes_nothing() {
    for (backend, db) in fresh_databases().await {
        let rows = 2 * BATCH_ROWS + 10;
        let file = generated(
            rows,
            |i| if i == 2 * BATCH_ROWS + 9 { format!("Q{i:07},multi,题干,,,,,T,解析\n") } else { question(i) },
            QUESTIONS_HEADER,
        );
        let refused = import_csv(&db, Kind::Questions, &file, "ops").await.unwrap_err();
        let errors = refused.row_errors();
        assert_eq!(errors.len(), 1, "{backend}: {refused}");
        // The header is line 1, so row N-1 is on line N.
        assert_eq!(errors[0].line, rows, "{backend}");
        assert_eq!(count(&db, "study_questions").await, 0, "{backend}: not one batch was written");
        assert_eq!(count(&db, "audit_log").await, 0, "{backend}");
    }
}

#[tokio::test]
async fn another_writer_commits_while_a_large_file_is_written() {
    for (backend, db) in fresh_databases().await {
        let rows = 50_000;
        let file = generated(rows, violation, VIOLATIONS_HEADER);
        let import = tokio::spawn({
            let db = db.clone();
            async move { import_csv(&db, Kind::Violations, &file, "ops").await }
        });
        while count(&db, "violations").await == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut app = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO sessions (token_hash, channel, created_at, expires_at) VALUES ('t', 'web', 1, 2)")
            .execute(&mut *app)
            .await
            .unwrap();
        app.commit().await.unwrap();
        assert!(!import.is_finished(), "{backend}: the session waited for the whole file");
        let written = count(&db, "violations").await;
        assert!(written < rows as i64, "{backend}: the session waited for the whole file ({written} rows)");
        let report = import.await.unwrap().unwrap();
        assert_eq!(report.inserted, rows, "{backend}");
        assert_eq!(count(&db, "violations").await, rows as i64, "{backend}");
    }
}

#[tokio::test]
async fn the_check_pass_streams_a_generated_file_of_200000_rows() {
    let (_, db) = fresh_databases().await.into_iter().next().unwrap();
    let rows = 200_000;
    let today = CivilDate::shanghai_today_from_epoch(crate::platform::now());
    let mut events = 0;
    let input = Generated::new(QUESTIONS_HEADER, rows, question);
    let checked = check_file(&db, Kind::Questions, input, 1, today, &mut |_| events += 1).await.unwrap();
    assert_eq!(checked, rows);
    assert_eq!(events, rows / BATCH_ROWS, "one progress event a batch");
}

#[tokio::test]
async fn an_unchanged_file_writes_nothing_and_says_so() {
    for (backend, db) in fresh_databases().await {
        let file = generated(3, question, QUESTIONS_HEADER);
        import_csv(&db, Kind::Questions, &file, "ops").await.unwrap();
        sqlx::query("UPDATE study_questions SET updated_at = 1").execute(db.pool()).await.unwrap();
        let again = import_csv(&db, Kind::Questions, &file, "ops").await.unwrap();
        assert_eq!(again, ImportReport { inserted: 0, updated: 3, kept: 0, unchanged: 3 }, "{backend}");
        assert!(again.nothing_changed(), "{backend}");
        assert_eq!(again.to_string(), "数据无变化：3条均与已有数据相同，未写入任何数据", "{backend}");
        let touched: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM study_questions WHERE updated_at <> 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(touched, 0, "{backend}: no row was written");

        let changed = String::from_utf8(file).unwrap().replace("题干2", "新题干");
        let report = import_csv(&db, Kind::Questions, changed.as_bytes(), "ops").await.unwrap();
        assert_eq!(report, ImportReport { inserted: 0, updated: 3, kept: 0, unchanged: 2 }, "{backend}");
        assert_eq!(report.to_string(), "新增0条，更新3条", "{backend}");
    }
}

#[tokio::test]
async fn a_file_of_many_bad_rows_lists_the_first_100_and_counts_the_rest() {
    let (_, db) = fresh_databases().await.into_iter().next().unwrap();
    let file = generated(1_000, |i| format!("Q{i:07},multi,题干,,,,,T,解析\n"), QUESTIONS_HEADER);
    match import_csv(&db, Kind::Questions, &file, "ops").await {
        Err(ImportError::TooManyRows { first, bad_rows }) => {
            assert_eq!(bad_rows, 1_000);
            assert_eq!(first.len(), MAX_REPORTED_ROWS);
            assert_eq!(first.last().unwrap().line, MAX_REPORTED_ROWS + 1);
        }
        other => panic!("expected too many rows, got {other:?}"),
    }
    let message = import_csv(&db, Kind::Questions, &file, "ops").await.unwrap_err().to_string();
    assert!(message.starts_with("共1000行数据有误，未导入任何数据；以下是前100行：\n第2行："), "{message}");
}

fn header_error(kind: Kind, bytes: &[u8]) -> String {
    match read_records(kind, bytes) {
        Err(ImportError::Header(message)) => message,
        Err(other) => panic!("expected a header error, got {other:?}"),
        Ok(_) => panic!("expected a header error"),
    }
}

#[test]
fn a_file_that_is_not_csv_is_named_for_what_it_is() {
    let xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml";
    assert!(header_error(Kind::Cards, xlsx).starts_with("文件不是CSV文件，而是 Excel 工作簿（.xlsx）"));
    let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00";
    assert!(header_error(Kind::Cards, xls).starts_with("文件不是CSV文件，而是旧版 Excel 工作簿（.xls）"));
    assert!(header_error(Kind::Cards, b"%PDF-1.7\n").starts_with("文件不是CSV文件，而是 PDF 文档"));
    let binary = b"card_no,id_number\x00\x01\x02\x03";
    assert!(header_error(Kind::Cards, binary).starts_with("文件不是CSV文本文件（含有二进制内容）"));
    let utf16 = b"\xFF\xFEc\x00a\x00r\x00d\x00";
    assert!(header_error(Kind::Cards, utf16).starts_with("文件不是 UTF-8 编码，而是 UTF-16"));
}

#[test]
fn a_file_not_in_utf8_says_so_with_its_line_and_how_to_convert_it() {
    // 张三 in GBK on line 3, after a good line.
    let gbk = b"card_no,id_number,name,phone,status\n6222023400001013,210202198503121234,Zhang,13804110001,active\n\
                6222023400001021,210203197809062312,\xd5\xc5\xc8\xfd,13804110002,active\n";
    let message = header_error(Kind::Cards, gbk);
    assert!(
        message
            .starts_with("文件不是 UTF-8 编码（第3行起无法按 UTF-8 读取，看起来是中文 Windows 系统常用的 GBK 编码）"),
        "{message}"
    );
    assert!(message.contains("iconv -f GBK -t UTF-8"), "{message}");
    // Bytes that are neither UTF-8 nor GBK do not claim to be GBK.
    let other = b"card_no,id_number,name,phone,status\n6222023400001013,210202198503121234,\xff,13804110001,active\n";
    let message = header_error(Kind::Cards, other);
    assert!(message.starts_with("文件不是 UTF-8 编码（第2行起无法按 UTF-8 读取）"), "{message}");
}

#[test]
fn a_missing_or_extra_column_is_named() {
    let missing = header_error(Kind::Cards, b"card_no,id_number,phone\n");
    assert!(missing.contains("缺少列 name、status"), "{missing}");
    let extra = header_error(Kind::Cards, b"card_no,id_number,name,phone,status,\xe5\xa4\x87\xe6\xb3\xa8\n");
    assert!(extra.contains("无法识别的列 备注"), "{extra}");
}

#[tokio::test]
async fn a_row_contradicting_a_decision_the_app_made_is_reported_by_line_and_the_apps_stands() {
    for (backend, db) in fresh_databases().await {
        let decided = |decision: &str| {
            format!(
                "{VIOLATIONS_HEADER}R1,辽B12345,02,2026-11-01 08:00,黄河路,1039,机动车违反规定停放,0,200,0,{decision},\
                 2026-11-02,210202198503121234,0\n"
            )
        };
        import_csv(&db, Kind::Violations, decided("2102021000077777").as_bytes(), "ops").await.unwrap();
        let mut reported = Vec::new();
        let file = decided("2102021000088888");
        let report =
            import_from(&db, Kind::Violations, Source::Bytes(file.as_bytes()), Actor::Operator("ops"), &mut |e| {
                if let Event::Contradiction(row) = e {
                    reported.push(row.to_string());
                }
            })
            .await
            .unwrap();
        assert_eq!(
            reported,
            ["第2行：违法记录 R1 在应用内已由决定书 2102021000077777 处理，文件中的决定书 2102021000088888 与之不符，保留应用内的处理结果"],
            "{backend}"
        );
        assert_eq!(report.kept, 1, "{backend}");
        let stored: String = sqlx::query_scalar("SELECT decision_no FROM violations WHERE record_no = 'R1'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(stored, "2102021000077777", "{backend}: never silently overwritten");
    }
}

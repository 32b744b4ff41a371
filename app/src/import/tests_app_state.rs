//! An import beside the running app: it never undoes a decision or payment the app commits, not even one that
//! commits while the file is being written, and it lets the app's writers in between its batches.

use std::time::Duration;

use sqlx::Row;

use super::*;
use crate::platform::test_db::fresh_databases;

const ZHANG_ID: &str = "210202198503121234";
/// The demo's untreated red-light record on 辽B12345.
const RED_LIGHT: &str = "210200202609170001";
/// The demo's untreated parking record on 辽BD12345.
const PARKING: &str = "210200202610230003";

async fn decision_of(db: &Db, record_no: &str) -> (Option<String>, i64) {
    let row = sqlx::query("SELECT decision_no, paid FROM violations WHERE record_no = $1")
        .bind(record_no)
        .fetch_one(db.pool())
        .await
        .unwrap();
    (row.get("decision_no"), row.get("paid"))
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(db.pool()).await.unwrap()
}

/// Waits until another statement is blocked on a lock (PostgreSQL) or simply a while (SQLite, whose writers
/// wait on the busy timeout where no view shows them).
async fn until_someone_waits(db: &Db) {
    if db.backend() == Backend::Sqlite {
        tokio::time::sleep(Duration::from_millis(300)).await;
        return;
    }
    for _ in 0..500 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the import never waited for the app's transaction");
}

#[tokio::test]
async fn a_decision_and_a_payment_committed_during_an_import_survive_it() {
    for (backend, db) in fresh_databases().await {
        load_demo(&db).await.unwrap();
        // The app's 接受处理 of the red light and payment of the parking record, still in their transaction.
        let mut app = db.begin_write().await.unwrap();
        sqlx::query(
            "UPDATE violations SET decision_no = '2102021000099991', decided_on = '2026-11-20', \
             party_id_number = $1 WHERE record_no = $2 AND decision_no IS NULL",
        )
        .bind(ZHANG_ID)
        .bind(RED_LIGHT)
        .execute(&mut *app)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE violations SET decision_no = '2102021000099992', decided_on = '2026-11-21', \
             party_id_number = $1, paid = 1 WHERE record_no = $2 AND decision_no IS NULL",
        )
        .bind(ZHANG_ID)
        .bind(PARKING)
        .execute(&mut *app)
        .await
        .unwrap();

        // The police export, which still shows both as untreated, arrives meanwhile.
        let import = tokio::spawn({
            let db = db.clone();
            async move { import_csv(&db, Kind::Violations, demo_file(Kind::Violations), "ops").await }
        });
        until_someone_waits(&db).await;
        app.commit().await.unwrap();
        let report = import.await.unwrap().unwrap_or_else(|e| panic!("{backend}: {e}"));

        assert_eq!(decision_of(&db, RED_LIGHT).await, (Some("2102021000099991".into()), 0), "{backend}");
        assert_eq!(decision_of(&db, PARKING).await, (Some("2102021000099992".into()), 1), "{backend}");
        assert_eq!(report, ImportReport { inserted: 0, updated: 9, kept: 2, unchanged: 9 }, "{backend}");
        assert_eq!(report.to_string(), "新增0条，更新9条，其中2条保留了应用内已有的处理或缴款结果", "{backend}");
        let detail: String =
            sqlx::query_scalar("SELECT detail FROM audit_log ORDER BY id DESC").fetch_one(db.pool()).await.unwrap();
        assert_eq!(detail, "inserted 0, updated 9, kept 2, unchanged 9", "{backend}");
    }
}

/// A questions file of `rows` judge questions Q00001….
fn questions(rows: usize) -> String {
    let mut file = String::from("code,kind,stem,option_a,option_b,option_c,option_d,answer,explanation\n");
    for i in 1..=rows {
        file.push_str(&format!("Q{i:05},judge,题干{i},,,,,T,解析\n"));
    }
    file
}

#[tokio::test]
async fn a_large_file_is_written_in_bounded_transactions_each_audited() {
    for (backend, db) in fresh_databases().await {
        let rows = 2 * BATCH_ROWS + 1;
        let report = import_csv(&db, Kind::Questions, questions(rows).as_bytes(), "ops").await.unwrap();
        assert_eq!(report, ImportReport { inserted: rows, updated: 0, kept: 0, unchanged: 0 }, "{backend}");
        let details: Vec<String> =
            sqlx::query_scalar("SELECT detail FROM audit_log ORDER BY id").fetch_all(db.pool()).await.unwrap();
        let (b, r) = (BATCH_ROWS, rows);
        assert_eq!(
            details,
            [
                format!("rows 1-{b} of {r}: inserted {b}, updated 0"),
                format!("rows {}-{} of {r}: inserted {b}, updated 0", b + 1, 2 * b),
                format!("rows {r}-{r} of {r}: inserted 1, updated 0"),
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn the_apps_writers_get_in_while_a_large_file_is_written() {
    for (backend, db) in fresh_databases().await {
        let rows = 8 * BATCH_ROWS;
        let import = tokio::spawn({
            let db = db.clone();
            async move { import_csv(&db, Kind::Questions, questions(rows).as_bytes(), "ops").await }
        });
        while count(&db, "study_questions").await == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut app = db.begin_write().await.unwrap();
        sqlx::query("UPDATE study_questions SET explanation = '改' WHERE code = 'Q00001'")
            .execute(&mut *app)
            .await
            .unwrap();
        app.commit().await.unwrap();
        let written = count(&db, "study_questions").await;
        assert!(written < rows as i64, "{backend}: the app's write waited for the whole file ({written} rows)");
        import.await.unwrap().unwrap();
        assert_eq!(count(&db, "study_questions").await, rows as i64, "{backend}");
    }
}

#[tokio::test]
async fn impossible_dates_and_unborn_people_are_refused_by_line() {
    for (backend, db) in fresh_databases().await {
        // A well-formed number, check character right, whose holder is born a year from today.
        let today = CivilDate::shanghai_today_from_epoch(crate::platform::now());
        let unborn = id_born(today.checked_add_days(366).unwrap());
        let header = "id_number,name,licence_class,licence_status,first_issued,cycle_points\n";
        let file = format!(
            "{header}{unborn},张三,C1,normal,2008-03-20,0\n\
             210202198503121234,张三,C1,normal,1899-12-31,0\n\
             210203197809062312,李四,C1,normal,9999-12-31,0\n"
        );
        let errors = match import_csv(&db, Kind::Drivers, file.as_bytes(), "ops").await {
            Err(ImportError::Rows(errors)) => errors,
            other => panic!("{backend}: expected row errors, got {other:?}"),
        };
        let shown: Vec<String> = errors.iter().map(RowError::to_string).collect();
        assert_eq!(
            shown,
            [
                "第2行：id_number 身份证号中的出生日期无效",
                "第3行：first_issued 日期应在1900-01-01至2199-12-31之间",
                "第4行：first_issued 日期应在1900-01-01至2199-12-31之间",
            ],
            "{backend}"
        );

        let header = "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,\
                      decision_no,decided_on,party_id_number,paid\n";
        let file = format!(
            "{header}R1,辽B12345,02,2300-01-01 08:00,黄河路,1039,机动车违反规定停放,0,200,0,,,,0\n\
             R2,辽B12345,02,2199-12-20 08:00,黄河路,1039,机动车违反规定停放,0,200,0,2102021000000001,2199-12-20,{ZHANG_ID},0\n\
             R3,辽B12345,02,2026-11-01 08:00,黄河路,1039,机动车违反规定停放,0,200,0,2102021000000002,2026-11-02,{unborn},0\n"
        );
        let errors = match import_csv(&db, Kind::Violations, file.as_bytes(), "ops").await {
            Err(ImportError::Rows(errors)) => errors,
            other => panic!("{backend}: expected row errors, got {other:?}"),
        };
        let shown: Vec<String> = errors.iter().map(RowError::to_string).collect();
        assert_eq!(
            shown,
            [
                "第2行：occurred_at 日期应在1900-01-01至2199-12-31之间",
                "第3行：decided_on 处罚决定日期过晚，缴款期限超出2199-12-31",
                "第4行：party_id_number 身份证号中的出生日期无效",
            ],
            "{backend}"
        );
        assert_eq!(count(&db, "violations").await, 0, "{backend}");
    }
}

/// A Beijing (110105) ID number born on `born`, with its right check character.
fn id_born(born: CivilDate) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let first = format!("110105{:04}{:02}{:02}001", born.year(), born.month(), born.day());
    let sum: u32 = first.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

#[tokio::test]
async fn an_unreadable_decision_date_is_an_error_not_a_missing_fine() {
    for (backend, db) in fresh_databases().await {
        load_demo(&db).await.unwrap();
        let link = crate::identity::repo::Link {
            name: crate::domain::PersonName::parse("张三").unwrap(),
            id_number: crate::domain::IdNumber::parse(ZHANG_ID).unwrap(),
            card_no: crate::domain::CardNo::parse("6222023400001013").unwrap(),
            phone: crate::domain::Mobile::parse("13804110001").unwrap(),
            bound_at: 0,
        };
        let before = crate::violations::repo::unpaid_decisions(&db, &link).await.unwrap();
        assert!(!before.is_empty(), "{backend}: the demo has an unpaid decision for 张三");
        let decision_no = before[0].decision_no.clone();
        for unreadable in ["2026-13-01", "2199-12-30"] {
            sqlx::query("UPDATE violations SET decided_on = $1 WHERE decision_no = $2")
                .bind(unreadable)
                .bind(&decision_no)
                .execute(db.pool())
                .await
                .unwrap();
            let result = crate::violations::repo::unpaid_decisions(&db, &link).await;
            assert!(result.is_err(), "{backend}: {unreadable} must not drop the decision: {result:?}");
            let study = crate::study::repo::outstanding(&db, &link).await;
            assert!(study.is_err(), "{backend}: {unreadable} must not let a 审验证明 through");
        }
    }
}

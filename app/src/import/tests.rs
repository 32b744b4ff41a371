//! The import against SQLite and PostgreSQL, following SPEC §5: all or nothing, every bad row by line,
//! upsert by natural key.

use sqlx::{AssertSqlSafe, Row};

use super::*;
use crate::platform::test_db::fresh_databases;

const CARDS_HEADER: &str = "card_no,id_number,name,phone,status\n";
const VEHICLES_HEADER: &str = "plate,plate_type,vehicle_type,owner_id_number,card_no\n";
const VIOLATIONS_HEADER: &str = "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,\
                                 counter_only,decision_no,decided_on,party_id_number,paid\n";

/// 张三's card and ID number in the demo set.
const ZHANG_CARD: &str = "6222023400001013";
const ZHANG_ID: &str = "210202198503121234";
/// The demo's untreated red-light record on 辽B12345.
const RED_LIGHT: &str = "210200202609170001";
/// The demo's untreated parking record on 辽BD12345.
const PARKING: &str = "210200202610230003";

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(db.pool()).await.unwrap()
}

fn row_errors(result: Result<ImportReport, ImportError>) -> Vec<RowError> {
    match result {
        Err(ImportError::Rows(errors)) => errors,
        other => panic!("expected row errors, got {other:?}"),
    }
}

fn header_error(result: Result<ImportReport, ImportError>) -> String {
    match result {
        Err(ImportError::Header(message)) => message,
        other => panic!("expected a header error, got {other:?}"),
    }
}

fn lines(errors: &[RowError]) -> Vec<usize> {
    errors.iter().map(|e| e.line).collect()
}

/// The stored decision columns and paid flag of a violation.
async fn decision_of(db: &Db, record_no: &str) -> (Option<String>, Option<String>, Option<String>, i64) {
    let row = sqlx::query("SELECT decision_no, decided_on, party_id_number, paid FROM violations WHERE record_no = $1")
        .bind(record_no)
        .fetch_one(db.pool())
        .await
        .unwrap();
    (row.get("decision_no"), row.get("decided_on"), row.get("party_id_number"), row.get("paid"))
}

async fn bound_at(db: &Db) -> Option<i64> {
    sqlx::query_scalar("SELECT bound_at FROM vehicles WHERE plate = '辽B12345'").fetch_one(db.pool()).await.unwrap()
}

#[test]
fn kinds_parse_by_name_in_dependency_order() {
    assert_eq!(Kind::parse("violations"), Some(Kind::Violations));
    assert_eq!(Kind::parse("Cards"), None);
    assert_eq!(Kind::parse("cards.csv"), None);
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names, ["cards", "drivers", "vehicles", "violations", "questions", "courses"]);
}

#[test]
fn line_numbers_count_physical_lines() {
    let cases = [
        ("card_no,id_number,name,phone,status\n\na,b,c,d,e\n\n\nf,g,h,i,j\n", [3, 6]),
        ("card_no,id_number,name,phone,status\r\n\r\na,b,c,d,e\r\n\r\n\r\nf,g,h,i,j\r\n", [3, 6]),
        ("card_no,id_number,name,phone,status\r\ra,b,c,d,e\r\r\rf,g,h,i,j", [3, 6]),
        ("\n\ncard_no,id_number,name,phone,status\na,\"b\nb\",c,d,e\n \nf,g,h,i,j", [4, 7]),
    ];
    for (text, expected) in cases {
        let (_, records) = read_records(Kind::Cards, text.as_bytes()).unwrap();
        let lines: Vec<usize> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, expected, "{text:?}");
    }
}

#[test]
fn errors_read_as_chinese_sentences_with_line_numbers() {
    let error = ImportError::Rows(vec![
        RowError { line: 3, reason: "id_number 身份证号校验位不正确".into() },
        RowError { line: 3, reason: "status 应为 active（正常）或 cancelled（已注销）".into() },
        RowError { line: 5, reason: "phone 手机号格式不正确".into() },
    ]);
    assert_eq!(
        error.to_string(),
        "2行数据有误，未导入任何数据：\n第3行：id_number 身份证号校验位不正确\n\
         第3行：status 应为 active（正常）或 cancelled（已注销）\n第5行：phone 手机号格式不正确"
    );
    assert_eq!(ImportReport { inserted: 2, updated: 1, kept: 0, unchanged: 0 }.to_string(), "新增2条，更新1条");
}

#[tokio::test]
async fn demo_set_loads_and_reloads_as_updates() {
    for (backend, db) in fresh_databases().await {
        load_demo(&db).await.unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(count(&db, "cards").await, 6, "{backend}");
        assert_eq!(count(&db, "drivers").await, 5, "{backend}");
        assert_eq!(count(&db, "vehicles").await, 7, "{backend}");
        assert_eq!(count(&db, "violations").await, 9, "{backend}");

        let zhang_vehicles = sqlx::query(
            "SELECT plate, plate_type FROM vehicles WHERE card_no = $1 AND bound_at IS NOT NULL ORDER BY plate",
        )
        .bind(ZHANG_CARD)
        .fetch_all(db.pool())
        .await
        .unwrap();
        let plates: Vec<(String, String)> =
            zhang_vehicles.iter().map(|r| (r.get("plate"), r.get("plate_type"))).collect();
        assert_eq!(
            plates,
            [
                ("辽B12345".to_owned(), "02".to_owned()),
                ("辽B6A789".to_owned(), "02".to_owned()),
                ("辽BD12345".to_owned(), "52".to_owned()),
            ],
            "{backend}"
        );

        let red_light = sqlx::query(
            "SELECT occurred_at, points, fine_fen, counter_only, code FROM violations WHERE record_no = $1",
        )
        .bind(RED_LIGHT)
        .fetch_one(db.pool())
        .await
        .unwrap();
        // 2026-09-17 08:12 in Dalian is 00:12 UTC.
        assert_eq!(red_light.get::<i64, _>("occurred_at"), 1_789_603_920, "{backend}");
        assert_eq!(red_light.get::<i64, _>("points"), 6, "{backend}");
        assert_eq!(red_light.get::<i64, _>("fine_fen"), 20_000, "{backend}");
        assert_eq!(red_light.get::<i64, _>("counter_only"), 0, "{backend}");
        assert_eq!(red_light.get::<String, _>("code"), "1625", "{backend}");

        let overdue = decision_of(&db, "210200202610080006").await;
        assert_eq!(
            overdue,
            (Some("2102021000015367".into()), Some("2026-10-15".into()), Some(ZHANG_ID.into()), 0),
            "{backend}"
        );

        let audit = sqlx::query("SELECT actor, action, subject, detail FROM audit_log ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        let audit: Vec<(String, String, String, String)> =
            audit.iter().map(|r| (r.get("actor"), r.get("action"), r.get("subject"), r.get("detail"))).collect();
        assert_eq!(audit.len(), 6, "{backend}");
        assert_eq!(
            audit[0],
            (
                "operator:demo".to_owned(),
                "import.cards".to_owned(),
                "cards".to_owned(),
                "inserted 6, updated 0".to_owned()
            ),
            "{backend}"
        );
        assert_eq!(audit[3].1, "import.violations", "{backend}");
        assert_eq!(audit[3].3, "inserted 9, updated 0", "{backend}");

        let again = import_csv(&db, Kind::Violations, demo_file(Kind::Violations), "ops").await.unwrap();
        assert_eq!(again, ImportReport { inserted: 0, updated: 9, kept: 0, unchanged: 9 }, "{backend}");
        assert_eq!(count(&db, "violations").await, 9, "{backend}");
    }
}

#[tokio::test]
async fn every_bad_row_is_reported_and_nothing_is_written() {
    for (backend, db) in fresh_databases().await {
        let good = format!("{CARDS_HEADER}6222023400001013,210202198503121234,张三,13804110001,active\n");
        import_csv(&db, Kind::Cards, good.as_bytes(), "ops").await.unwrap();
        let before = count(&db, "cards").await;
        let audit_before = count(&db, "audit_log").await;

        let file = format!(
            "{CARDS_HEADER}\
             6222023400001021,210203197809062312,李四,13804110002,active\n\
             6222023400001039,210204199201273458,王五,13804110003,active\n\
             6222023400001013,210202198503121234,张三,13804119999,active\n\
             6222023400001047,210211198808154578,赵六,13804110004,lost\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Cards, file.as_bytes(), "ops").await);
        assert_eq!(lines(&errors), [3, 5], "{backend}");
        assert_eq!(errors[0].reason, "id_number 身份证号校验位不正确", "{backend}");
        assert_eq!(errors[0].to_string(), "第3行：id_number 身份证号校验位不正确", "{backend}");
        assert_eq!(errors[1].reason, "status 应为 active（正常）或 cancelled（已注销）", "{backend}");

        assert_eq!(count(&db, "cards").await, before, "{backend}");
        assert_eq!(count(&db, "audit_log").await, audit_before, "{backend}");
        let phone: String = sqlx::query_scalar("SELECT phone FROM cards WHERE card_no = $1")
            .bind(ZHANG_CARD)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(phone, "13804110001", "{backend}: the good row of a bad file is not written");
    }
}

#[tokio::test]
async fn one_row_reports_each_bad_column() {
    for (backend, db) in fresh_databases().await {
        let file = format!("{CARDS_HEADER}6222023400001014,21020219850312123,张3,1380411000,active\n");
        let errors = row_errors(import_csv(&db, Kind::Cards, file.as_bytes(), "ops").await);
        let reasons: Vec<&str> = errors.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "card_no 交通服务卡卡号校验不通过，请核对",
                "id_number 身份证号格式不正确",
                "name 姓名格式不正确",
                "phone 手机号格式不正确"
            ],
            "{backend}"
        );
        assert_eq!(lines(&errors), [2, 2, 2, 2], "{backend}");
    }
}

#[tokio::test]
async fn reimport_updates_by_natural_key() {
    for (backend, db) in fresh_databases().await {
        let first = format!(
            "{CARDS_HEADER}\
             6222023400001013,210202198503121234,张三,13804110001,active\n\
             6222023400001021,210203197809062312,李四,13804110002,active\n"
        );
        let report = import_csv(&db, Kind::Cards, first.as_bytes(), "ops").await.unwrap();
        assert_eq!(report, ImportReport { inserted: 2, updated: 0, kept: 0, unchanged: 0 }, "{backend}");

        let second = format!(
            "{CARDS_HEADER}\
             6222023400001021,210203197809062312,李四,13904110002,cancelled\n\
             6222023400001039,210204199201273459,王五,13804110003,active\n"
        );
        let report = import_csv(&db, Kind::Cards, second.as_bytes(), "ops").await.unwrap();
        assert_eq!(report, ImportReport { inserted: 1, updated: 1, kept: 0, unchanged: 0 }, "{backend}");
        assert_eq!(count(&db, "cards").await, 3, "{backend}");

        let li = sqlx::query("SELECT phone, status FROM cards WHERE card_no = $1")
            .bind("6222023400001021")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(li.get::<String, _>("phone"), "13904110002", "{backend}");
        assert_eq!(li.get::<String, _>("status"), "cancelled", "{backend}");

        let detail: String =
            sqlx::query_scalar("SELECT detail FROM audit_log ORDER BY id DESC").fetch_one(db.pool()).await.unwrap();
        assert_eq!(detail, "inserted 1, updated 1", "{backend}");
    }
}

#[tokio::test]
async fn a_key_twice_in_one_file_is_refused() {
    for (backend, db) in fresh_databases().await {
        let file = format!(
            "{CARDS_HEADER}\
             6222023400001013,210202198503121234,张三,13804110001,active\n\
             6222023400001021,210203197809062312,李四,13804110002,active\n\
             6222023400001013,210202198503121234,张三,13804110009,active\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Cards, file.as_bytes(), "ops").await);
        assert_eq!(lines(&errors), [4], "{backend}");
        assert_eq!(errors[0].reason, "card_no 6222023400001013 与第2行重复", "{backend}");
        assert_eq!(count(&db, "cards").await, 0, "{backend}");

        let vehicles = format!(
            "{VEHICLES_HEADER}\
             辽B12345,02,小型轿车,210202198503121234,\n\
             辽b 12345,02,小型轿车,210202198503121234,\n\
             辽B12345,01,大型普通客车,210202198503121234,\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Vehicles, vehicles.as_bytes(), "ops").await);
        assert_eq!(errors.len(), 1, "{backend}: the same plate with another type is another vehicle");
        assert_eq!(errors[0].to_string(), "第3行：plate、plate_type 辽B12345/02 与第2行重复", "{backend}");
    }
}

#[tokio::test]
async fn a_vehicle_naming_an_unknown_card_is_refused_with_its_line() {
    for (backend, db) in fresh_databases().await {
        import_csv(&db, Kind::Cards, demo_file(Kind::Cards), "ops").await.unwrap();
        let file = format!(
            "{VEHICLES_HEADER}\
             辽B12345,02,小型轿车,210202198503121234,6222023400001013\n\
             辽B54321,02,小型轿车,210202198503121234,6222023400009990\n\
             辽B22222,02,小型轿车,210202198503121234,\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Vehicles, file.as_bytes(), "ops").await);
        assert_eq!(lines(&errors), [3], "{backend}");
        assert_eq!(errors[0].reason, "card_no 交通服务卡 6222023400009990 不存在，请先导入 cards.csv", "{backend}");
        assert_eq!(count(&db, "vehicles").await, 0, "{backend}");

        let fixed = file.replace("6222023400009990", "");
        let report = import_csv(&db, Kind::Vehicles, fixed.as_bytes(), "ops").await.unwrap();
        assert_eq!(report, ImportReport { inserted: 3, updated: 0, kept: 0, unchanged: 0 }, "{backend}");
        let unbound = sqlx::query("SELECT card_no, bound_at FROM vehicles WHERE plate = $1")
            .bind("辽B54321")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(unbound.get::<Option<String>, _>("card_no"), None, "{backend}");
        assert_eq!(unbound.get::<Option<i64>, _>("bound_at"), None, "{backend}");
    }
}

#[tokio::test]
async fn binding_date_is_kept_until_the_card_changes() {
    for (backend, db) in fresh_databases().await {
        import_csv(&db, Kind::Cards, demo_file(Kind::Cards), "ops").await.unwrap();
        let file = format!("{VEHICLES_HEADER}辽B12345,02,小型轿车,210202198503121234,6222023400001013\n");
        import_csv(&db, Kind::Vehicles, file.as_bytes(), "ops").await.unwrap();
        sqlx::query("UPDATE vehicles SET bound_at = 1000").execute(db.pool()).await.unwrap();

        let renamed = file.replace("小型轿车", "小型普通客车");
        import_csv(&db, Kind::Vehicles, renamed.as_bytes(), "ops").await.unwrap();
        assert_eq!(bound_at(&db).await, Some(1000), "{backend}: same card keeps its date");

        let moved = renamed.replace(ZHANG_CARD, "6222023400001039");
        import_csv(&db, Kind::Vehicles, moved.as_bytes(), "ops").await.unwrap();
        let rebound = bound_at(&db).await.unwrap();
        assert!(rebound >= crate::platform::now() - 60, "{backend}: a new card gets a new date");
    }
}

#[tokio::test]
async fn a_binding_day_in_the_file_is_when_the_vehicle_joined_its_card() {
    for (backend, db) in fresh_databases().await {
        import_csv(&db, Kind::Cards, demo_file(Kind::Cards), "ops").await.unwrap();
        let header = "plate,plate_type,vehicle_type,owner_id_number,card_no,bound_on\n";
        let file = format!(
            "{header}辽B12345,02,小型轿车,{ZHANG_ID},{ZHANG_CARD},2025-03-06\n辽B22222,02,小型轿车,{ZHANG_ID},,\n"
        );
        import_csv(&db, Kind::Vehicles, file.as_bytes(), "ops").await.unwrap();
        let day = crate::domain::CivilDate::parse("2025-03-06").unwrap();
        assert_eq!(bound_at(&db).await, Some(day.shanghai_midnight()), "{backend}");

        let bad = format!(
            "{header}辽B12345,02,小型轿车,{ZHANG_ID},{ZHANG_CARD},2099-01-01\n\
             辽B22222,02,小型轿车,{ZHANG_ID},,2025-03-06\n\
             辽B33333,02,小型轿车,{ZHANG_ID},{ZHANG_CARD},2025-02-30\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Vehicles, bad.as_bytes(), "ops").await);
        assert_eq!(lines(&errors), [2, 3, 4], "{backend}");
        assert_eq!(errors[0].reason, "bound_on 不能晚于今天", "{backend}");
        assert_eq!(errors[1].reason, "bound_on 只能在填写了 card_no 时填写", "{backend}");
        assert_eq!(errors[2].reason, "bound_on 不是真实存在的日期", "{backend}");
        assert_eq!(bound_at(&db).await, Some(day.shanghai_midnight()), "{backend}: nothing written");
    }
}

#[tokio::test]
async fn plate_and_plate_type_must_agree() {
    for (backend, db) in fresh_databases().await {
        let file = format!(
            "{VEHICLES_HEADER}\
             辽BD12345,02,小型纯电动轿车,210202198503121234,\n\
             辽B12345,52,小型轿车,210202198503121234,\n\
             辽B1234,02,小型轿车,210202198503121234,\n\
             辽B12346,03,小型轿车,210202198503121234,\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Vehicles, file.as_bytes(), "ops").await);
        let shown: Vec<String> = errors.iter().map(RowError::to_string).collect();
        assert_eq!(
            shown,
            [
                "第2行：plate_type 辽BD12345 是新能源号牌，号牌种类应为51或52",
                "第3行：plate_type 辽B12345 是普通号牌，号牌种类应为01或02",
                "第4行：plate 车牌号格式不正确（如：辽B12345）",
                "第5行：plate_type 号牌种类不正确（应为01、02、51或52）",
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_violation_with_an_inconsistent_decision_is_refused() {
    for (backend, db) in fresh_databases().await {
        let file = format!(
            "{VIOLATIONS_HEADER}\
             R1,辽B12345,02,2026-09-17 08:12,黄河路,1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,,,,0\n\
             R2,辽B12345,02,2026-09-18 08:12,黄河路,1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,2102021000000001,,210202198503121234,0\n\
             R3,辽B12345,02,2026-09-19 08:12,黄河路,1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,,,,1\n\
             R4,辽B12345,02,2026-09-20 08:12,黄河路,1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,2102021000000002,2026-09-01,210202198503121234,0\n\
             R5,辽B12345,02,2026-09-21 08:12,黄河路,1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,2102021000000003,2026-09-22,210202198503121234,1\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Violations, file.as_bytes(), "ops").await);
        let shown: Vec<String> = errors.iter().map(RowError::to_string).collect();
        assert_eq!(
            shown,
            [
                "第3行：decided_on 不能为空：decision_no、decided_on、party_id_number 须同时填写或同时留空",
                "第4行：paid 未裁决（无决定书编号）的记录不能标记为已缴款",
                "第5行：decided_on 处罚决定日期不能早于违法日期",
            ],
            "{backend}"
        );
        assert_eq!(count(&db, "violations").await, 0, "{backend}");
    }
}

#[tokio::test]
async fn violation_fields_follow_the_rules() {
    for (backend, db) in fresh_databases().await {
        let file = format!(
            "{VIOLATIONS_HEADER}\
             R-1,辽B12345,02,2026-9-17 08:12,,162,,2,200.005,2,21020210000000,2026-02-30,210202198503121235,x\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Violations, file.as_bytes(), "ops").await);
        let reasons: Vec<&str> = errors.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "record_no 违法记录编号应为1至32位字母或数字",
                "occurred_at 应为 YYYY-MM-DD HH:MM 格式的北京时间",
                "location 不能为空",
                "code 违法代码应为4至5位数字",
                "behaviour 不能为空",
                "points 记分应为0、1、3、6、9或12",
                "fine_yuan 金额格式不正确",
                "counter_only 应为0或1",
                "decision_no 决定书编号应为15或16位数字",
                "decided_on 不是真实存在的日期",
                "party_id_number 身份证号校验位不正确",
                "paid 应为0或1",
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_decision_number_belongs_to_one_record() {
    for (backend, db) in fresh_databases().await {
        load_demo(&db).await.unwrap();
        let file = format!(
            "{VIOLATIONS_HEADER}\
             N1,辽B12345,02,2026-11-01 08:00,黄河路,1039,机动车违反规定停放,0,200,0,2102021000015367,2026-11-02,210202198503121234,0\n\
             N2,辽B12345,02,2026-11-01 09:00,黄河路,1039,机动车违反规定停放,0,200,0,2102021000077777,2026-11-02,210202198503121234,0\n\
             N3,辽B12345,02,2026-11-01 10:00,黄河路,1039,机动车违反规定停放,0,200,0,2102021000077777,2026-11-02,210202198503121234,0\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Violations, file.as_bytes(), "ops").await);
        assert_eq!(
            errors.iter().map(RowError::to_string).collect::<Vec<_>>(),
            ["第4行：decision_no 2102021000077777 与第3行重复"],
            "{backend}"
        );
        let without_duplicate: String = file.lines().take(3).map(|l| format!("{l}\n")).collect();
        let errors = row_errors(import_csv(&db, Kind::Violations, without_duplicate.as_bytes(), "ops").await);
        assert_eq!(
            errors.iter().map(RowError::to_string).collect::<Vec<_>>(),
            ["第2行：decision_no 2102021000015367 已属于违法记录 210200202610080006"],
            "{backend}"
        );
        assert_eq!(count(&db, "violations").await, 9, "{backend}");
    }
}

#[tokio::test]
async fn reimport_does_not_undo_a_decision_or_payment_made_in_the_app() {
    for (backend, db) in fresh_databases().await {
        load_demo(&db).await.unwrap();
        // The app decides the red-light record, and decides and collects payment for the parking record.
        sqlx::query(
            "UPDATE violations SET decision_no = '2102021000099991', decided_on = '2026-11-20', \
             party_id_number = $1 WHERE record_no = $2",
        )
        .bind(ZHANG_ID)
        .bind(RED_LIGHT)
        .execute(db.pool())
        .await
        .unwrap();
        sqlx::query(
            "UPDATE violations SET decision_no = '2102021000099992', decided_on = '2026-11-21', \
             party_id_number = $1, paid = 1 WHERE record_no = $2",
        )
        .bind(ZHANG_ID)
        .bind(PARKING)
        .execute(db.pool())
        .await
        .unwrap();

        // The police export still shows both as untreated, with a corrected location for the red light.
        let export = std::str::from_utf8(demo_file(Kind::Violations))
            .unwrap()
            .replace("中山路与五四路交叉口", "中山路与五五路交叉口");
        let report = import_csv(&db, Kind::Violations, export.as_bytes(), "ops").await.unwrap();
        assert_eq!(report, ImportReport { inserted: 0, updated: 9, kept: 2, unchanged: 8 }, "{backend}");

        assert_eq!(
            decision_of(&db, RED_LIGHT).await,
            (Some("2102021000099991".into()), Some("2026-11-20".into()), Some(ZHANG_ID.into()), 0),
            "{backend}"
        );
        assert_eq!(
            decision_of(&db, PARKING).await,
            (Some("2102021000099992".into()), Some("2026-11-21".into()), Some(ZHANG_ID.into()), 1),
            "{backend}"
        );
        let location: String = sqlx::query_scalar("SELECT location FROM violations WHERE record_no = $1")
            .bind(RED_LIGHT)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(location, "中山路与五五路交叉口", "{backend}: the other columns are updated");

        // A file that brings a decision of its own for a record the app decided keeps the app's decision (issue 16:
        // a decision, once set, stays), and its payment at the counter marks the record paid.
        let decided = export.replace(
            "1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,,,,0\n210200202610090002",
            "1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,2102021000088881,2026-11-22,210202198503121234,1\n\
             210200202610090002",
        );
        assert_ne!(decided, export);
        let report = import_csv(&db, Kind::Violations, decided.as_bytes(), "ops").await.unwrap();
        assert_eq!(
            decision_of(&db, RED_LIGHT).await,
            (Some("2102021000099991".into()), Some("2026-11-20".into()), Some(ZHANG_ID.into()), 1),
            "{backend}"
        );
        assert_eq!(report.kept, 2, "{backend}");
    }
}

#[tokio::test]
async fn bom_crlf_quotes_and_blank_trailing_lines_parse() {
    for (backend, db) in fresh_databases().await {
        let file = "\u{feff}card_no,id_number,name,phone,status\r\n\
                    6222023400001013, 210202198503121234 ,\"张三\",13804110001,active\r\n\
                    \r\n\
                    6222023400001021,210203197809062312,李四,13804110002,active\r\n\
                    \r\n\
                    ,,,,\r\n\
                    \r\n";
        let report = import_csv(&db, Kind::Cards, file.as_bytes(), "ops").await.unwrap();
        assert_eq!(report, ImportReport { inserted: 2, updated: 0, kept: 0, unchanged: 0 }, "{backend}");
        let id: String = sqlx::query_scalar("SELECT id_number FROM cards WHERE card_no = $1")
            .bind(ZHANG_CARD)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(id, ZHANG_ID, "{backend}: fields are trimmed");

        // Line numbers count physical lines, blank ones included.
        let bad = file.replace("13804110002", "1380411");
        let errors = row_errors(import_csv(&db, Kind::Cards, bad.as_bytes(), "ops").await);
        assert_eq!(lines(&errors), [4], "{backend}");
    }
}

#[tokio::test]
async fn a_wrong_header_or_encoding_refuses_the_whole_file() {
    for (backend, db) in fresh_databases().await {
        let cases: [(&[u8], &str); 6] = [
            (b"", "文件为空，缺少表头行"),
            (b"\n\n", "文件为空，缺少表头行"),
            (
                b"card_no,id_number,name,status\n",
                "cards.csv 的表头缺少列 phone；表头应为 card_no,id_number,name,phone,status",
            ),
            (
                b"card_no,id_number,name,phone,status,remark\n",
                "cards.csv 的表头无法识别的列 remark；表头应为 card_no,id_number,name,phone,status",
            ),
            (
                b"id_number,card_no,name,phone,status\n",
                "cards.csv 的表头列的顺序不正确或有重复列；表头应为 card_no,id_number,name,phone,status",
            ),
            (
                b"card_no,id_number,name,phone,status\n6222023400001013,210202198503121234,\xd5\xc5\xc8\xfd,13804110001,active\n",
                "文件不是 UTF-8 编码（第2行起无法按 UTF-8 读取，看起来是中文 Windows 系统常用的 GBK 编码）；请转换为 \
                 UTF-8 后再导入：用 Excel 另存为“CSV UTF-8（逗号分隔）”，或执行 iconv -f GBK -t UTF-8 原文件 > 新文件",
            ),
        ];
        for (bytes, expected) in cases {
            let message = header_error(import_csv(&db, Kind::Cards, bytes, "ops").await);
            assert_eq!(message, expected, "{backend}");
        }
        let short = format!("{CARDS_HEADER}6222023400001013,210202198503121234,张三,13804110001\n");
        let errors = row_errors(import_csv(&db, Kind::Cards, short.as_bytes(), "ops").await);
        assert_eq!(errors[0].to_string(), "第2行：应有5列，实际为4列", "{backend}");
        assert_eq!(count(&db, "cards").await, 0, "{backend}");
    }
}

#[tokio::test]
async fn drivers_are_checked_and_stored_by_code() {
    for (backend, db) in fresh_databases().await {
        let header = "id_number,name,licence_class,licence_status,first_issued,cycle_points\n";
        let bad = format!(
            "{header}\
             210202198503121234,张三,C9,paused,2008-02-30,100\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Drivers, bad.as_bytes(), "ops").await);
        let reasons: Vec<&str> = errors.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "licence_class 准驾车型不正确",
                "licence_status 驾驶证状态不正确（应为 normal、suspended、revoked 或 expired）",
                "first_issued 不是真实存在的日期",
                "cycle_points 应为0至99的整数",
            ],
            "{backend}"
        );

        let good = format!("{header}210202198503121234,张三,c1,Suspended,2008-03-20,12\n");
        import_csv(&db, Kind::Drivers, good.as_bytes(), "ops").await.unwrap();
        let row = sqlx::query(
            "SELECT licence_class, licence_status, first_issued, cycle_points FROM drivers WHERE id_number = $1",
        )
        .bind(ZHANG_ID)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(row.get::<String, _>("licence_class"), "C1", "{backend}");
        assert_eq!(row.get::<String, _>("licence_status"), "suspended", "{backend}");
        assert_eq!(row.get::<String, _>("first_issued"), "2008-03-20", "{backend}");
        assert_eq!(row.get::<i64, _>("cycle_points"), 12, "{backend}");
    }
}

const QUESTIONS_HEADER: &str = "code,kind,stem,option_a,option_b,option_c,option_d,answer,explanation\n";
const COURSES_HEADER: &str = "code,position,title,summary,video,required_minutes\n";

#[tokio::test]
async fn the_demo_bank_has_at_least_60_questions_and_a_demo_catalogue() {
    for (backend, db) in fresh_databases().await {
        load_demo(&db).await.unwrap();
        let questions = count(&db, "study_questions").await;
        assert!(questions >= 60, "{backend}: {questions} questions");
        let kinds: Vec<String> = sqlx::query_scalar("SELECT DISTINCT kind FROM study_questions ORDER BY kind")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(kinds, ["judge", "single"], "{backend}");
        assert_eq!(count(&db, "study_courses").await, 3, "{backend}");
    }
}

#[tokio::test]
async fn bad_questions_and_courses_are_reported_by_line_and_nothing_is_written() {
    for (backend, db) in fresh_databases().await {
        let file = format!(
            "{QUESTIONS_HEADER}\
             Q1,single,题干,甲,乙,丙,丁,C,解析\n\
             Q2,single,题干,甲,乙,,丁,A,解析\n\
             Q3,judge,题干,,,,,T,解析\n\
             Q4,judge,题干,,,,,A,解析\n\
             Q5,multi,题干,甲,乙,丙,丁,A,解析\n\
             Q6,judge,,,,,,F,\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Questions, file.as_bytes(), "ops").await);
        assert_eq!(lines(&errors), [3, 5, 6, 7, 7], "{backend}: {errors:?}");
        assert_eq!(errors[0].reason, "option_c 单选题的四个选项都不能为空", "{backend}");
        assert_eq!(errors[1].reason, "answer 判断题的答案应为 T（正确）或 F（错误）", "{backend}");
        assert_eq!(count(&db, "study_questions").await, 0, "{backend}");

        let file = format!(
            "{COURSES_HEADER}\
             C1,1,课程,简介,/videos/a.mp4,45\n\
             C2,2,课程,简介,ftp://x/a.mp4,45\n\
             C3,3,课程,简介,/videos/a.mp4,0\n"
        );
        let errors = row_errors(import_csv(&db, Kind::Courses, file.as_bytes(), "ops").await);
        assert_eq!(lines(&errors), [3, 4], "{backend}: {errors:?}");
        assert!(errors[0].reason.starts_with("video "), "{backend}");
        assert!(errors[1].reason.starts_with("required_minutes "), "{backend}");
        assert_eq!(count(&db, "study_courses").await, 0, "{backend}");

        let good = format!("{COURSES_HEADER}C1,1,课程,简介,/videos/a.mp4|/videos/a.webm,45\n");
        import_csv(&db, Kind::Courses, good.as_bytes(), "ops").await.unwrap();
        let seconds: i64 = sqlx::query_scalar("SELECT required_seconds FROM study_courses WHERE code = 'C1'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(seconds, 2700, "{backend}");
    }
}

//! Exports to the police and the bank (issue 20): incremental and repeatable runs with a watermark, every run
//! audited, the console's 数据导出 by role, `server export`, and the authority of the files they load back: the
//! app's points stay on top of a police figure until the police acknowledge them, and a driver's unbinding is not
//! undone by a bank file that cannot have known of it.

use std::process::Command;

use app::console::auth::add_staff;
use app::console::model::Role;
use app::export::{export, shanghai_second, Kind};
use app::import::{import_csv, Kind as ImportKind};
use app::platform::audit::Actor;
use app::platform::now;
use app::platform::test_db::fresh_database_urls;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, ORIGIN, REFERER};
use reqwest::StatusCode;
use sqlx::Row;

use crate::payments::{at_cashier, to_cashier, OVERDUE};
use crate::support::{Browser, TestApp, ZHANG_SAN};

const RED_LIGHT: &str = "210200202609170001";
const PLATE: &str = "辽B12345";
const PASSWORD: &str = "long-password-123";

/// Runs an export as the command line's operator and returns the file's text.
pub(crate) async fn export_text(app: &TestApp, kind: Kind, since: Option<i64>) -> String {
    let mut file = Vec::new();
    export(&app.db, kind, since, Actor::Operator("test"), |bytes| {
        file = bytes.to_vec();
        Ok(())
    })
    .await
    .unwrap();
    String::from_utf8(file).unwrap()
}

/// Imports a police or bank file as the command line does.
async fn load(app: &TestApp, kind: ImportKind, file: &str) -> app::import::ImportReport {
    import_csv(&app.db, kind, file.as_bytes(), "test").await.unwrap()
}

async fn points(app: &TestApp) -> i64 {
    app.value("SELECT cycle_points FROM drivers WHERE id_number = $1", ZHANG_SAN.id_number).await
}

async fn card_of(app: &TestApp, plate: &str) -> Option<String> {
    app.value("SELECT card_no FROM vehicles WHERE plate = $1", plate).await
}

/// A police `drivers.csv` row for 张三 with `points`, exported at `as_of` (or a file of the old format).
fn police_file(points: i64, as_of: Option<i64>) -> String {
    let row = format!("{},张三,C1,normal,2008-03-20,{points}", ZHANG_SAN.id_number);
    match as_of {
        Some(at) => format!(
            "id_number,name,licence_class,licence_status,first_issued,cycle_points,as_of\n{row},{}\n",
            shanghai_second(at)
        ),
        None => format!("id_number,name,licence_class,licence_status,first_issued,cycle_points\n{row}\n"),
    }
}

/// A bank `vehicles.csv` that still puts 张三's car on his card, exported at `as_of` (or of the old format).
fn bank_file(as_of: Option<i64>) -> String {
    let row = format!("{PLATE},02,小型轿车,{},{},2024-04-18", ZHANG_SAN.id_number, ZHANG_SAN.card_no);
    match as_of {
        Some(at) => format!(
            "plate,plate_type,vehicle_type,owner_id_number,card_no,bound_on,as_of\n{row},{}\n",
            shanghai_second(at)
        ),
        None => format!("plate,plate_type,vehicle_type,owner_id_number,card_no,bound_on\n{row}\n"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_points_stay_on_top_of_the_police_figure_until_the_police_acknowledge_them() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "points", &ZHANG_SAN).await;
        browser.submit("/api/violations_agree", &[]).await;
        browser.submit("/api/process_record", &[("record_no", RED_LIGHT)]).await;
        assert_eq!(points(&app).await, 10, "{db}: 4 + 6");
        let study = browser.get("/study").await;
        assert!(study.contains("10分（其中6分为在本应用处理、交警系统尚未确认的记分）"), "{db}: {study}");
        let decision_no: String = sqlx::query_scalar("SELECT decision_no FROM violations WHERE record_no = $1")
            .bind(RED_LIGHT)
            .fetch_one(app.db.pool())
            .await
            .unwrap();

        // Before the police could have the decision, their figure is the base and the app's 6 points stay on it.
        let report = load(&app, ImportKind::Drivers, &police_file(4, Some(now() - 60))).await;
        assert_eq!(report.kept, 1, "{db}");
        assert_eq!(points(&app).await, 10, "{db}: an older police file keeps the app's points");
        import_csv(&app.db, ImportKind::Drivers, police_file(5, None).as_bytes(), "test").await.unwrap();
        assert_eq!(points(&app).await, 11, "{db}: a file without as_of acknowledges nothing: 5 + 6");

        let file = export_text(&app, Kind::Decisions, None).await;
        let expected = format!("{decision_no},{RED_LIGHT},{},6,20000,", ZHANG_SAN.id_number);
        let rows: Vec<&str> = file.lines().collect();
        assert_eq!(rows[0], "decision_no,record_no,party_id_number,points,fine_fen,decided_on,decided_at", "{db}");
        assert!(rows.len() == 2 && rows[1].starts_with(&expected), "{db}: {file}");

        // Exported before the export ran: still cannot reflect it.
        import_csv(&app.db, ImportKind::Drivers, police_file(4, Some(now() - 60)).as_bytes(), "test").await.unwrap();
        assert_eq!(points(&app).await, 10, "{db}");
        // The police loaded the export and their next file counts the decision: no double count.
        let report = load(&app, ImportKind::Drivers, &police_file(10, Some(now()))).await;
        assert_eq!(report.kept, 0, "{db}");
        assert_eq!(points(&app).await, 10, "{db}: acknowledged, the police figure stands alone");
        let study = browser.get("/study").await;
        assert!(study.contains("10分") && !study.contains("尚未确认的记分"), "{db}: {study}");
        // Acknowledged once is acknowledged: a later file of the old format is taken as it is.
        import_csv(&app.db, ImportKind::Drivers, police_file(10, None).as_bytes(), "test").await.unwrap();
        assert_eq!(points(&app).await, 10, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drivers_unbinding_is_undone_only_by_a_bank_file_exported_after_the_bank_was_told() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("wechat", "unbind", &ZHANG_SAN).await;
        browser.submit("/api/unbind_vehicle", &[("plate", PLATE), ("plate_type", "02")]).await;
        assert_eq!(card_of(&app, PLATE).await, None, "{db}");

        let report = load(&app, ImportKind::Vehicles, &bank_file(Some(now() - 3600))).await;
        assert_eq!(report.kept, 1, "{db}");
        assert_eq!(card_of(&app, PLATE).await, None, "{db}: a bank file older than the unbinding does not re-bind");
        import_csv(&app.db, ImportKind::Vehicles, bank_file(None).as_bytes(), "test").await.unwrap();
        assert_eq!(card_of(&app, PLATE).await, None, "{db}: nor does a file that does not say when it was exported");
        import_csv(&app.db, ImportKind::Vehicles, bank_file(Some(now())).as_bytes(), "test").await.unwrap();
        assert_eq!(card_of(&app, PLATE).await, None, "{db}: nor one exported before the bank was sent the unbinding");

        let file = export_text(&app, Kind::Unbindings, None).await;
        let rows: Vec<&str> = file.lines().collect();
        assert_eq!(rows[0], "plate,plate_type,card_no,unbound_at", "{db}");
        assert!(rows.len() == 2 && rows[1].starts_with(&format!("{PLATE},02,{},", ZHANG_SAN.card_no)), "{db}: {file}");

        import_csv(&app.db, ImportKind::Vehicles, bank_file(Some(now() - 60)).as_bytes(), "test").await.unwrap();
        assert_eq!(card_of(&app, PLATE).await, None, "{db}: exported before the export reached the bank");
        // The bank had the unbinding and still binds the car (the driver re-bound it at the counter): it stands.
        let report = load(&app, ImportKind::Vehicles, &bank_file(Some(now()))).await;
        assert_eq!(report.kept, 0, "{db}");
        assert_eq!(card_of(&app, PLATE).await.as_deref(), Some(ZHANG_SAN.card_no), "{db}: re-bound");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_writes_each_event_once_re_exports_a_range_on_request_and_is_audited() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "pay-export", &ZHANG_SAN).await;
        let cashier = to_cashier(&browser, OVERDUE).await;
        assert!(at_cashier(&browser, &cashier, "pay").await.contains("缴费成功"), "{db}");
        let order = sqlx::query(
            "SELECT receipt_no, fine_fen, late_fee_fen, amount_fen, txn_id FROM payment_orders WHERE state = 'paid'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        let (receipt, fine, fee, amount, txn): (String, i64, i64, i64, String) =
            (order.get(0), order.get(1), order.get(2), order.get(3), order.get(4));

        let first = export_text(&app, Kind::Payments, None).await;
        let row = format!("{receipt},{OVERDUE},{fine},{fee},{amount},icbc,{txn},");
        assert!(fee > 0 && amount == fine + fee, "{db}: the overdue fine carries its late fee");
        assert_eq!(first.lines().count(), 2, "{db}: {first}");
        assert!(first.lines().nth(1).unwrap().starts_with(&row), "{db}: {first}");
        let second = export_text(&app, Kind::Payments, None).await;
        assert_eq!(second, "receipt_no,decision_no,fine_fen,late_fee_fen,amount_fen,channel,txn_id,paid_at\n", "{db}");
        let again = export_text(&app, Kind::Payments, Some(now() - 3600)).await;
        assert_eq!(again, first, "{db}: --since writes the range again");
        let later = export_text(&app, Kind::Payments, Some(now() + 3600)).await;
        assert_eq!(later.lines().count(), 1, "{db}: nothing happened after that");
        let fourth = export_text(&app, Kind::Payments, None).await;
        assert_eq!(fourth.lines().count(), 1, "{db}: a re-export does not move the watermark back");

        let (run, _) = app::export::watermark(&app.db, Kind::Payments).await.unwrap().unwrap();
        assert_eq!(run, 5, "{db}: the watermark is the newest run");
        let audited = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'export.payments'").await;
        assert_eq!(audited, 5, "{db}: every run is audited");
    }
}

/// An event whose transaction commits after a later event's was claimed is not skipped: it is claimed by the next
/// run. SQLite serialises writers, so only PostgreSQL can interleave them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_late_is_exported_by_the_next_run() {
    for (db, app) in TestApp::each().await {
        if db != "postgres" {
            continue;
        }
        let mut late = app.db.begin_write().await.unwrap();
        app::export::record(&mut late, Kind::Unbindings, "辽B00001/02", Some("6222009900001017"), None).await.unwrap();
        let mut early = app.db.begin_write().await.unwrap();
        app::export::record(&mut early, Kind::Unbindings, "辽B00002/02", Some("6222009900001017"), None).await.unwrap();
        early.commit().await.unwrap();

        let first = export_text(&app, Kind::Unbindings, None).await;
        assert!(first.contains("辽B00002") && !first.contains("辽B00001"), "{db}: {first}");
        late.commit().await.unwrap();
        let second = export_text(&app, Kind::Unbindings, None).await;
        assert!(second.contains("辽B00001") && !second.contains("辽B00002"), "{db}: {second}");
    }
}

/// A console browser signed in as a new staff member with `role`.
async fn staff_browser(app: &TestApp, username: &str, role: Role) -> Browser {
    add_staff(&app.db, username, role, PASSWORD, "test").await.unwrap();
    let browser = app.browser();
    let page = browser.submit("/api/staff_login", &[("username", username), ("password", PASSWORD)]).await;
    assert!(page.contains(username), "{username} could not sign in: {page}");
    browser
}

/// Presses 导出CSV for `kind` the way a browser without JavaScript does.
async fn press_export(browser: &Browser, kind: &str, since: &str) -> reqwest::Response {
    browser
        .client
        .post(format!("{}/console/export/download", browser.base))
        .header(ORIGIN, &browser.base)
        .header(REFERER, format!("{}/console/export", browser.base))
        .form(&[("kind", kind), ("since", since)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_export_page_offers_each_role_its_own_files_only() {
    for (db, app) in TestApp::each_with_demo().await {
        let driver = app.linked_browser("wechat", "console-export", &ZHANG_SAN).await;
        driver.submit("/api/unbind_vehicle", &[("plate", PLATE), ("plate_type", "02")]).await;

        let police = staff_browser(&app, "police1", Role::Police).await;
        let bank = staff_browser(&app, "bank1", Role::Bank).await;
        let auditor = staff_browser(&app, "auditor1", Role::Auditor).await;
        assert!(police.get("/console").await.contains("数据导出"), "{db}");
        let page = police.get("/console/export").await;
        assert!(page.contains("decisions.csv") && !page.contains("payments.csv"), "{db}: {page}");
        assert!(page.contains("action=\"/console/export/download\"") && page.contains("尚未导出"), "{db}");
        let page = bank.get("/console/export").await;
        for file in ["payments.csv", "unbindings.csv", "cards.csv"] {
            assert!(page.contains(file), "{db}: the bank takes {file}");
        }
        assert!(!page.contains("decisions.csv"), "{db}");
        assert!(auditor.get("/console/export").await.contains("您的角色无权进行此操作"), "{db}");
        assert!(app.browser().get("/console/export").await.contains("请先登录管理后台"), "{db}: signed out");

        assert_eq!(press_export(&police, "unbindings", "").await.status(), StatusCode::FORBIDDEN, "{db}");
        assert_eq!(press_export(&auditor, "unbindings", "").await.status(), StatusCode::FORBIDDEN, "{db}");
        let stranger = press_export(&app.browser(), "unbindings", "").await;
        assert!(stranger.text().await.unwrap().contains("管理后台登录"), "{db}: sent to sign in");
        let as_driver = press_export(&driver, "unbindings", "").await;
        assert!(as_driver.text().await.unwrap().contains("管理后台登录"), "{db}: a driver's session opens nothing");
        assert_eq!(app.count("SELECT COUNT(*) FROM export_runs").await, 0, "{db}: no refused press ran");

        let response = press_export(&bank, "unbindings", "").await;
        assert_eq!(response.status(), StatusCode::OK, "{db}");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/csv; charset=utf-8", "{db}");
        assert!(response.headers()[CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"), "{db}");
        let file = response.text().await.unwrap();
        assert!(file.starts_with("plate,plate_type,card_no,unbound_at\n辽B12345,02,"), "{db}: {file}");
        let again = press_export(&bank, "unbindings", "").await.text().await.unwrap();
        assert_eq!(again, "plate,plate_type,card_no,unbound_at\n", "{db}: only the header the second time");
        let since = shanghai_second(now() - 3600)[..16].replace(' ', "T");
        let range = press_export(&bank, "unbindings", &since).await.text().await.unwrap();
        assert_eq!(range, file, "{db}: 起始时间 writes the range again");
        let page = bank.get("/console/export").await;
        assert!(page.contains("上次导出：第3次"), "{db}: {page}");
        let bad = press_export(&bank, "unbindings", "yesterday").await.text().await.unwrap();
        assert!(bad.contains("起始时间应为"), "{db}: {bad}");

        let audited = sqlx::query("SELECT actor, detail FROM audit_log WHERE action = 'export.unbindings' ORDER BY id")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
        assert_eq!(audited.len(), 3, "{db}");
        assert_eq!(audited[0].get::<String, _>(0), "staff:bank1", "{db}");
        assert!(audited[2].get::<String, _>(1).contains("since"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_export_writes_the_file_and_refuses_a_bad_since() {
    let dir = std::env::temp_dir().join(format!("dlt-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (db, url) in fresh_database_urls().await {
        let file = dir.join(format!("{db}-decisions.csv"));
        let run = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_server"))
                .env("RUST_LOG", "warn")
                .env("DATABASE_URL", &url)
                .env_remove("APP_ENV")
                .args(args)
                .output()
                .unwrap()
        };
        let path = file.to_str().unwrap();
        let output = run(&["export", "decisions", path]);
        assert!(output.status.success(), "{db}: {}", String::from_utf8_lossy(&output.stderr));
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(written, "decision_no,record_no,party_id_number,points,fine_fen,decided_on,decided_at\n", "{db}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("导出 0 条"), "{db}");
        let output = run(&["export", "decisions", path, "--since", "2026-12-03 08:00"]);
        assert!(output.status.success(), "{db}");
        let output = run(&["export", "decisions", path, "--since", "yesterday"]);
        assert_eq!(output.status.code(), Some(2), "{db}");
        let output = run(&["export", "fines", path]);
        assert_eq!(output.status.code(), Some(2), "{db}");
        let db_conn = app::platform::db::Db::connect(&url).await.unwrap();
        let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM export_runs").fetch_one(db_conn.pool()).await.unwrap();
        assert_eq!(runs, 2, "{db}: refused commands ran nothing");
        assert!(!dir.join(format!("{db}-decisions.csv.partial")).exists(), "{db}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

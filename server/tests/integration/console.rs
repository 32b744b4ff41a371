//! The operators' console: staff accounts from the command line, their own sign-in, role checks on the server,
//! the police upload of SPEC §5 files, and the append-only, searchable audit log.

use std::io::Write;
use std::process::{Command, Stdio};

use app::console::auth::add_staff;
use app::console::model::Role;
use app::platform::test_db::fresh_database_urls;
use reqwest::header::{ORIGIN, REFERER};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;

use crate::support::{Browser, TestApp, ZHANG_SAN};

const PASSWORD: &str = "long-password-123";

/// A signed-in console browser for a new staff member with `role`.
async fn staff_browser(app: &TestApp, username: &str, role: Role) -> Browser {
    add_staff(&app.db, username, role, PASSWORD, "test").await.unwrap();
    let browser = app.browser();
    let page = browser.submit("/api/staff_login", &[("username", username), ("password", PASSWORD)]).await;
    assert!(page.contains("管理后台") && page.contains(username), "{username} could not sign in: {page}");
    browser
}

/// Uploads `csv` as `kind` through the console form; returns the status and the page it lands on.
async fn upload(browser: &Browser, kind: &str, csv: &str) -> (StatusCode, String) {
    let form = Form::new()
        .text("kind", kind.to_string())
        .part("file", Part::bytes(csv.as_bytes().to_vec()).file_name(format!("{kind}.csv")));
    let response = browser
        .client
        .post(format!("{}/console/import/upload", browser.base))
        .header(ORIGIN, &browser.base)
        .header(REFERER, format!("{}/console/import", browser.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

const DRIVERS: &str = "id_number,name,licence_class,licence_status,first_issued,cycle_points\n\
210202198503122018,张三,C1,normal,2010-01-01,2\n\
210203199007184026,李四,B2,normal,2011-01-01,1\n";

const BAD_DRIVERS: &str = "id_number,name,licence_class,licence_status,first_issued,cycle_points\n\
210202198503122018,张三,C1,normal,2010-01-01,2\n\
210203199007184026,李四,Z9,normal,2011-01-01,1\n";

#[test]
fn staff_add_reads_the_password_from_standard_input() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (db, url) in runtime.block_on(fresh_database_urls()) {
        let run = |name: &str, role: &str, password: &str| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
                .env("RUST_LOG", "warn")
                .env("DATABASE_URL", &url)
                .args(["staff", "add", name, role])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        };
        let made = run("ops.bank", "bank", PASSWORD);
        assert!(made.status.success(), "{db}: {}", String::from_utf8_lossy(&made.stderr));
        let short = run("ops.short", "bank", "short");
        assert!(!short.status.success() && String::from_utf8_lossy(&short.stderr).contains("12 characters"), "{db}");
        let again = run("ops.bank", "police", PASSWORD);
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{db}");
        let role = run("ops.x", "admin", PASSWORD);
        assert_eq!(role.status.code(), Some(2), "{db}: unknown role");

        let stored = runtime.block_on(async {
            use sqlx::Row;
            let db = app::platform::db::Db::connect(&url).await.unwrap();
            let row = sqlx::query("SELECT role, password_hash FROM staff WHERE username = 'ops.bank'")
                .fetch_one(db.pool())
                .await
                .unwrap();
            (row.get::<String, _>(0), row.get::<String, _>(1))
        });
        assert_eq!(stored.0, "bank", "{db}");
        assert!(stored.1.starts_with("$argon2id$") && !stored.1.contains(PASSWORD), "{db}: hashed with argon2");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sign_in_is_separate_from_drivers_and_checks_the_password() {
    for (db, app) in TestApp::each_with_demo().await {
        add_staff(&app.db, "bank1", Role::Bank, PASSWORD, "test").await.unwrap();
        let stranger = app.browser();
        let page =
            stranger.submit("/api/staff_login", &[("username", "bank1"), ("password", "wrong-password-1")]).await;
        assert!(page.contains("用户名或密码不正确"), "{db}: {page}");
        let page = stranger.submit("/api/staff_login", &[("username", "nobody"), ("password", PASSWORD)]).await;
        assert!(page.contains("用户名或密码不正确"), "{db}");
        assert!(stranger.get("/console").await.contains("请先登录管理后台"), "{db}");

        // A driver's session, even a real-name one, is not a staff session.
        let driver = app.linked_browser("icbc", "not-staff", &ZHANG_SAN).await;
        assert!(driver.get("/console").await.contains("请先登录管理后台"), "{db}");
        assert!(driver.get("/console/audit").await.contains("请先登录管理后台"), "{db}");

        let bank = staff_browser(&app, "bank2", Role::Bank).await;
        assert!(bank.get("/console").await.contains("银行操作员"), "{db}");
        let page = bank.submit("/api/staff_logout", &[]).await;
        assert!(page.contains("管理后台登录"), "{db}");
        assert!(bank.get("/console").await.contains("请先登录管理后台"), "{db}: signed out");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_police_operators_upload_and_a_bad_row_changes_nothing() {
    for (db, app) in TestApp::each().await {
        let police = staff_browser(&app, "police1", Role::Police).await;
        let bank = staff_browser(&app, "bank1", Role::Bank).await;
        let auditor = staff_browser(&app, "audit1", Role::Auditor).await;

        for other in [&bank, &auditor] {
            assert!(other.get("/console/import").await.contains("您的角色无权进行此操作"), "{db}");
            let (status, _) = upload(other, "drivers", DRIVERS).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{db}");
        }
        let (status, page) = upload(&app.browser(), "drivers", DRIVERS).await;
        assert!(status.is_success() && page.contains("管理后台登录"), "{db}: no session goes to sign-in");
        assert_eq!(app.count("SELECT COUNT(*) FROM drivers").await, 0, "{db}: nothing was written by others");

        let (status, page) = upload(&police, "drivers", BAD_DRIVERS).await;
        assert!(status.is_success(), "{db}");
        assert!(page.contains("第3行：licence_class") && page.contains("未导入任何数据"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM drivers").await, 0, "{db}: the good row is not written either");

        let (_, page) = upload(&police, "drivers", DRIVERS).await;
        assert!(page.contains("导入成功：新增2条，更新0条"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM drivers").await, 2, "{db}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE actor = 'staff:police1' AND action = 'import.drivers'")
                .await,
            1,
            "{db}: the upload is audited under the staff member"
        );
        // The message shows once.
        assert!(!police.get("/console/import").await.contains("导入成功"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_search_an_audit_log_nobody_can_change() {
    for (db, app) in TestApp::each().await {
        let police = staff_browser(&app, "police1", Role::Police).await;
        upload(&police, "drivers", DRIVERS).await;
        let auditor = staff_browser(&app, "audit1", Role::Auditor).await;
        let bank = staff_browser(&app, "bank1", Role::Bank).await;
        assert!(bank.get("/console/audit").await.contains("您的角色无权进行此操作"), "{db}");
        assert!(police.get("/console/audit").await.contains("您的角色无权进行此操作"), "{db}");

        let page = auditor.get("/console/audit").await;
        assert!(page.contains("staff:police1") && page.contains("import.drivers"), "{db}: {page}");
        assert!(page.contains("staff.add") && page.contains("import.cards"), "{db}");
        let page = auditor.get("/console/audit?actor=police1").await;
        assert!(page.contains("import.drivers") && !page.contains("import.cards"), "{db}: filtered by actor");
        let page = auditor.get("/console/audit?action=staff.add&subject=audit1").await;
        assert_eq!(page.matches("<td>staff.add</td>").count(), 1, "{db}: {page}");
        let page = auditor.get("/console/audit?from=2000-01-01&to=2000-01-02").await;
        assert!(!page.contains("import.drivers"), "{db}: filtered by date");
        assert!(auditor.get("/console/audit?from=yesterday").await.contains("日期应为"), "{db}");

        // The database itself refuses to change or remove a row.
        let update = sqlx::query("UPDATE audit_log SET detail = 'x'").execute(app.db.pool()).await;
        assert!(update.is_err(), "{db}: update refused");
        let delete = sqlx::query("DELETE FROM audit_log").execute(app.db.pool()).await;
        assert!(delete.is_err(), "{db}: delete refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_upload_is_refused() {
    for (db, app) in TestApp::each().await {
        let police = staff_browser(&app, "police1", Role::Police).await;
        let form = Form::new()
            .text("kind", "drivers")
            .part("file", Part::bytes(DRIVERS.as_bytes().to_vec()).file_name("drivers.csv"));
        let response = police
            .client
            .post(format!("{}/console/import/upload", police.base))
            .header(ORIGIN, "https://evil.example")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM drivers").await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_failed_sign_ins_count_towards_the_lockout() {
    for (db, app) in TestApp::each().await {
        add_staff(&app.db, "bank1", Role::Bank, PASSWORD, "test").await.unwrap();
        let browser = app.browser();
        for _ in 0..12 {
            assert!(
                browser
                    .submit("/api/staff_login", &[("username", "bank1"), ("password", PASSWORD)])
                    .await
                    .contains("银行操作员"),
                "{db}: a right password is never held against anyone"
            );
        }
        for _ in 0..10 {
            assert!(
                browser
                    .submit("/api/staff_login", &[("username", "bank1"), ("password", "wrong-password-1")])
                    .await
                    .contains("用户名或密码不正确"),
                "{db}"
            );
        }
        let page = browser.submit("/api/staff_login", &[("username", "bank1"), ("password", PASSWORD)]).await;
        assert!(page.contains("尝试次数过多") && !page.contains("银行操作员"), "{db}: locked after 10 failures");
    }
}

/// `count` valid drivers.csv rows after the header, with distinct ID numbers.
fn many_drivers(count: usize) -> String {
    let mut csv = String::from("id_number,name,licence_class,licence_status,first_issued,cycle_points\n");
    for i in 0..count {
        let (month, day, sequence) = (1 + (i / 28) % 12, 1 + i % 28, i / 336);
        let body = format!("2102021980{month:02}{day:02}{sequence:03}");
        let body = body.as_str();
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        csv.push_str(&format!("{body}{check},张三,C1,normal,2010-01-01,1\n"));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_console_import_shows_its_progress_and_holds_back_a_second_upload() {
    for (db, app) in TestApp::each().await {
        let police = staff_browser(&app, "police1", Role::Police).await;
        // An upload of this session's is running: its progress row, written a moment ago by its instance.
        let line = "drivers.csv: 写入 5,000 / 20,000 行 (25%), 4,000 行/秒, 约 4 秒";
        sqlx::query(
            "INSERT INTO import_runs (staff_id, session_hash, file_name, progress, started_at, updated_at) \
             SELECT s.staff_id, s.token_hash, $1, $2, $3, $3 FROM staff_sessions s",
        )
        .bind("drivers.csv")
        .bind(line)
        .bind(app::platform::now())
        .execute(app.db.pool())
        .await
        .unwrap();
        let page = police.get("/console/import").await;
        assert!(page.contains(line) && page.contains("正在导入"), "{db}: {page}");
        assert!(page.contains(r#"http-equiv="refresh""#), "{db}: the page asks again by itself");

        let (_, page) = upload(&police, "drivers", DRIVERS).await;
        assert!(page.contains("上一个文件仍在导入") && page.contains(line), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM drivers").await, 0, "{db}: the second upload waited");

        // Another session of the same operator is not held back.
        let elsewhere = app.browser();
        elsewhere.submit("/api/staff_login", &[("username", "police1"), ("password", PASSWORD)]).await;
        let page_elsewhere = elsewhere.get("/console/import").await;
        assert!(page_elsewhere.contains("上传并导入") && !page_elsewhere.contains("正在导入"), "{db}");

        // Its instance stopped a while ago: the row is stale, the page stops waiting and an upload goes ahead.
        sqlx::query("UPDATE import_runs SET updated_at = updated_at - 120").execute(app.db.pool()).await.unwrap();
        let page = police.get("/console/import").await;
        assert!(!page.contains(line) && !page.contains("http-equiv"), "{db}: {page}");
        let (status, page) = upload(&police, "drivers", DRIVERS).await;
        assert!(status.is_success() && page.contains("导入成功") && page.contains("新增2条"), "{db}: {page}");
        assert!(!page.contains("http-equiv"), "{db}: finished, nothing to refresh");
        let finished = "SELECT COUNT(*) FROM import_runs WHERE finished_at IS NOT NULL";
        assert_eq!(app.count(finished).await, 1, "{db}: the stale run went, the new one finished");
        assert_eq!(app.count("SELECT COUNT(*) FROM import_runs").await, 1, "{db}");
    }
}

/// An upload that outlasts the form's wait goes on importing, its page showing the progress until the outcome.
/// On PostgreSQL the test holds the drivers table for 8 seconds so the import's writing waits behind it; SQLite's
/// busy timeout (5 s) would fail such an import instead, and its page is the same code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_console_import_answers_with_its_progress_and_ends_with_the_outcome() {
    for (db, app) in TestApp::each().await {
        if app.db.backend() != app::platform::db::Backend::Postgres {
            continue;
        }
        let police = staff_browser(&app, "police1", Role::Police).await;
        let mut lock = app.db.pool().begin().await.unwrap();
        sqlx::query("LOCK TABLE drivers IN SHARE ROW EXCLUSIVE MODE").execute(&mut *lock).await.unwrap();
        let csv = many_drivers(3_000);
        let began = std::time::Instant::now();
        let (status, page) = upload(&police, "drivers", &csv).await;
        assert!(status.is_success(), "{db}");
        assert!(began.elapsed() >= app::console::upload::WAIT_FOR_OUTCOME, "{db}: the form waited for the outcome");
        assert!(page.contains("正在导入") && page.contains("drivers.csv"), "{db}: {page}");
        assert!(page.contains(r#"http-equiv="refresh""#) && !page.contains("导入成功"), "{db}: {page}");
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        lock.rollback().await.unwrap();

        let mut page = String::new();
        for _ in 0..60 {
            page = police.get("/console/import").await;
            if !page.contains("正在导入") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        assert!(page.contains("drivers.csv（drivers）导入成功：新增3000条"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM drivers").await, 3_000, "{db}");
        assert!(!police.get("/console/import").await.contains("导入成功"), "{db}: the outcome shows once");
    }
}

//! The `server` binary itself: production refusals and the operators' import command.

use std::process::Command;

use app::platform::db::Db;
use app::platform::test_db::fresh_database_urls;
use sqlx::Row;

use crate::evidence::{folder, jpeg};

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command.env("RUST_LOG", "warn");
    for key in ["APP_ENV", "DEV_LOGIN", "COOKIE_KEY", "SMS_PROVIDER", "DEMO_DATA", "DATABASE_URL", "EVIDENCE_DIR"] {
        command.env_remove(key);
    }
    command
}

#[test]
fn production_refuses_development_settings() {
    let output = server().env("APP_ENV", "production").env("DEV_LOGIN", "true").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for refusal in ["production refuses to start", "DEV_LOGIN", "SMS_PROVIDER", "COOKIE_KEY"] {
        assert!(stderr.contains(refusal), "{refusal} missing from: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_bad_rows_by_line_and_writes_nothing_then_loads_a_good_file() {
    let dir = std::env::temp_dir().join(format!("dlt-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "card_no,id_number,name,phone,status\n\
         6222009900001017,210202198503122018,张三,13804110001,active\n\
         6222009900001018,210202198503122018,张三,13804110001,active\n\
         6222009900001025,210203199007184026,李四,13804110002,lost\n",
    )
    .unwrap();
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        "card_no,id_number,name,phone,status\n\
         6222009900001017,210202198503122018,张三,13804110001,active\n\
         6222009900001025,210203199007184026,李四,13804110002,active\n",
    )
    .unwrap();
    for (db, url) in fresh_database_urls().await {
        let output = server().env("DATABASE_URL", &url).args(["import", "cards"]).arg(&bad).output().unwrap();
        assert!(!output.status.success(), "{db}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("第3行") && stderr.contains("第4行"), "{db}: {stderr}");
        assert!(!stderr.contains("第2行"), "{db}: the good row is not blamed: {stderr}");
        let pool = Db::connect(&url).await.unwrap();
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM cards").fetch_one(pool.pool()).await.unwrap().get(0);
        assert_eq!(count, 0, "{db}: nothing written");

        let output = server().env("DATABASE_URL", &url).args(["import", "cards"]).arg(&good).output().unwrap();
        assert!(output.status.success(), "{db}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stdout).contains("新增 2 条"), "{db}");
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM cards").fetch_one(pool.pool()).await.unwrap().get(0);
        assert_eq!(count, 2, "{db}");
    }
}

#[test]
fn an_unknown_command_prints_the_usage() {
    let output = server().args(["import", "parking"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("server import KIND FILE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reimport_keeps_the_apps_payment_and_says_so() {
    let violations = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/demo/violations.csv");
    for (db, url) in fresh_database_urls().await {
        let output = server().env("DATABASE_URL", &url).args(["import", "demo"]).output().unwrap();
        assert!(output.status.success(), "{db}: {}", String::from_utf8_lossy(&output.stderr));
        let pool = Db::connect(&url).await.unwrap();
        // The app's payment of the demo's overdue decision, which the police file still shows unpaid.
        sqlx::query("UPDATE violations SET paid = 1 WHERE decision_no = '2102021000015367'")
            .execute(pool.pool())
            .await
            .unwrap();

        let output = server().env("DATABASE_URL", &url).args(["import", "violations", violations]).output().unwrap();
        assert!(output.status.success(), "{db}: {}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("新增 0 条，更新 9 条，其中 1 条保留了应用内已有的处理或缴款结果"), "{db}: {stdout}");
        let paid: i64 = sqlx::query("SELECT paid FROM violations WHERE decision_no = '2102021000015367'")
            .fetch_one(pool.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(paid, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_import_copies_every_good_photo_and_names_each_bad_file() {
    const RED_LIGHT: &str = "210200202609170001";
    const WRONG_WAY: &str = "210200202610090002";
    let source = folder("import-source");
    std::fs::write(source.join(format!("{RED_LIGHT}.jpg")), jpeg("red light")).unwrap();
    std::fs::write(source.join(format!("{WRONG_WAY}.JPG")), jpeg("wrong way")).unwrap();
    std::fs::write(source.join("210200202610230003.jpg"), b"GIF89a, renamed").unwrap();
    std::fs::write(source.join("210299999999999999.jpg"), jpeg("no such record")).unwrap();
    std::fs::write(source.join("notes.txt"), "拍摄说明").unwrap();
    for (db, url) in fresh_database_urls().await {
        let output = server().env("DATABASE_URL", &url).args(["import", "demo"]).output().unwrap();
        assert!(output.status.success(), "{db}: {}", String::from_utf8_lossy(&output.stderr));

        let output = server().env("DATABASE_URL", &url).args(["import", "evidence"]).arg(&source).output().unwrap();
        assert!(!output.status.success(), "{db}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("EVIDENCE_DIR is not set"), "{db}");

        let store = folder(&format!("import-store-{db}"));
        let output = server()
            .env("DATABASE_URL", &url)
            .env("EVIDENCE_DIR", &store)
            .args(["import", "evidence"])
            .arg(&source)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{db}: skipped files make the command fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for complaint in [
            "210200202610230003.jpg: 不是JPEG图片",
            "210299999999999999.jpg: 没有违法记录210299999999999999",
            "notes.txt: 文件名应为",
        ] {
            assert!(stderr.contains(complaint), "{db}: {complaint} missing from: {stderr}");
        }
        assert!(
            !stderr.contains(RED_LIGHT) && !stderr.contains(WRONG_WAY),
            "{db}: good files are not blamed: {stderr}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("已复制 2 张照片，跳过 3 个文件"), "{db}: {stdout}");

        let mut stored: Vec<_> =
            std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        stored.sort();
        assert_eq!(
            stored,
            [format!("{RED_LIGHT}.jpg"), format!("{WRONG_WAY}.jpg")],
            "{db}: nothing else, no temp file"
        );
        assert_eq!(std::fs::read(store.join(format!("{RED_LIGHT}.jpg"))).unwrap(), jpeg("red light"), "{db}");
        assert_eq!(std::fs::read(store.join(format!("{WRONG_WAY}.jpg"))).unwrap(), jpeg("wrong way"), "{db}");
        let pool = Db::connect(&url).await.unwrap();
        let audited: String = sqlx::query("SELECT detail FROM audit_log WHERE action = 'import.evidence'")
            .fetch_one(pool.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(audited, "copied 2, skipped 3", "{db}");
    }
}

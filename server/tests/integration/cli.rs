//! The `server` binary itself: production refusals and the operators' import command.

use std::process::Command;

use app::platform::db::Db;
use app::platform::test_db::fresh_database_urls;
use sqlx::Row;

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command.env("RUST_LOG", "warn");
    for key in ["APP_ENV", "DEV_LOGIN", "COOKIE_KEY", "SMS_PROVIDER", "DEMO_DATA", "DATABASE_URL"] {
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

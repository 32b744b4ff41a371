//! `server backup` and `server restore` on the real binary (issue 19 item 5): a backup taken while drivers keep
//! deciding and paying fines restores into a fresh database that holds every decision and payment made before it,
//! none half-made; a backup taken at rest restores to the same rows; a database with data is not overwritten unless
//! the operator says so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use app::import::{import_csv, load_demo, Kind};
use app::platform::db::Db;
use app::platform::test_db::fresh_database_urls;
use sqlx::Row;

use crate::payments::{at_cashier, to_cashier};
use crate::support::{Browser, TestApp, ZHANG_SAN};

/// How many 50-yuan parking records 张三's car gets, each decided and paid through the app.
const RECORDS: usize = 120;

fn records_csv() -> String {
    let mut csv = String::from(
        "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,decision_no,\
         decided_on,party_id_number,paid\n",
    );
    for i in 0..RECORDS {
        csv += &format!(
            "BK{i:04},辽B12345,02,2025-06-01 09:{:02},人民路,1039,机动车违反规定停放、临时停车且驾驶人不在现场，\
             妨碍其他车辆、行人通行的,0,50,0,,,,0\n",
            i % 60
        );
    }
    csv
}

fn server(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command.env("RUST_LOG", "warn").env("DATABASE_URL", database_url);
    for key in ["APP_ENV", "DEV_LOGIN", "COOKIE_KEY", "SMS_PROVIDER", "DEMO_DATA", "EVIDENCE_DIR"] {
        command.env_remove(key);
    }
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn run(command: Command) -> Output {
    let mut command = command;
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

/// 接受处理 then 缴费 at the sandbox cashier, for one record; the decision number.
async fn decide_and_pay(app: &TestApp, browser: &Browser, record_no: &str) -> String {
    browser.submit("/api/process_record", &[("record_no", record_no)]).await;
    let decision_no: String = sqlx::query("SELECT decision_no FROM violations WHERE record_no = $1")
        .bind(record_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let cashier = to_cashier(browser, &decision_no).await;
    let page = at_cashier(browser, &cashier, "pay").await;
    assert!(page.contains("缴费成功"), "{record_no}: {page}");
    decision_no
}

/// Payments made so far: record, decision, when its payment was confirmed.
type Done = Mutex<Vec<(String, String, Instant)>>;

/// Waits until the drivers have made `count` payments; fails if they stopped before (one of them failed).
async fn wait_for(done: &Done, count: usize, writers: &[tokio::task::JoinHandle<()>]) {
    assert!(count <= RECORDS);
    while done.lock().unwrap().len() < count {
        assert!(
            writers.iter().any(|w| !w.is_finished()),
            "the drivers stopped after {} payments",
            done.lock().unwrap().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The decisions and the payment orders a database holds, as comparable rows.
#[derive(Debug, PartialEq)]
struct Rows {
    /// record_no, decision_no, party, paid.
    decisions: BTreeSet<(String, String, String, i64)>,
    orders: BTreeSet<Order>,
}

/// order_no, decision_no, amount_fen, state, txn_id, receipt_no.
type Order = (String, String, i64, String, Option<String>, Option<String>);

async fn rows(db: &Db) -> Rows {
    let decisions = sqlx::query(
        "SELECT record_no, decision_no, party_id_number, paid FROM violations WHERE decision_no IS NOT NULL",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect();
    let orders = sqlx::query("SELECT order_no, decision_no, amount_fen, state, txn_id, receipt_no FROM payment_orders")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    Rows { decisions, orders }
}

/// Rows every table holds, for the tables a payment or a decision writes.
async fn counts(db: &Db) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in ["violations", "payment_orders", "sandbox_orders", "audit_log", "realname_bindings", "accounts"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(db.pool()).await.unwrap().get(0);
        counts.push((table, n));
    }
    counts
}

/// Commits a write anywhere in the decide-and-pay path makes: decisions, orders opened, orders paid.
async fn writes(db: &Db) -> i64 {
    sqlx::query(
        "SELECT (SELECT COUNT(*) FROM violations WHERE decision_no IS NOT NULL) \
         + (SELECT COUNT(*) FROM payment_orders) + (SELECT COUNT(*) FROM payment_orders WHERE state = 'paid')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
    .get(0)
}

fn backup_file(db: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("dalian-traffic-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{db}-{name}.backup", app::platform::session::random_token()))
}

async fn restore(database_url: &str, file: &Path, force: bool) -> Output {
    let mut command = server(database_url);
    command.arg("restore").arg(file);
    if force {
        command.arg("--force");
    }
    run(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_drivers_pay_restores_every_payment_and_decision_made_before_it() {
    let sources = fresh_database_urls().await;
    let targets = fresh_database_urls().await;
    for ((db, source_url), (_, target_url)) in sources.into_iter().zip(targets) {
        let source = Db::connect(&source_url).await.unwrap();
        load_demo(&source).await.unwrap();
        import_csv(&source, Kind::Violations, records_csv().as_bytes(), "test").await.unwrap();
        let app = Arc::new(TestApp::start(source.clone()).await);

        // Two drivers' phones (the same person signed in twice) decide and pay the records one after another.
        let next = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let done: Arc<Done> = Arc::default();
        let mut writers = Vec::new();
        for phone in ["backup-a", "backup-b"] {
            let browser = app.linked_browser("icbc", phone, &ZHANG_SAN).await;
            browser.submit("/api/violations_agree", &[]).await;
            let (app, next, stop, done) = (app.clone(), next.clone(), stop.clone(), done.clone());
            writers.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= RECORDS {
                        break;
                    }
                    let record_no = format!("BK{i:04}");
                    let decision_no = decide_and_pay(&app, &browser, &record_no).await;
                    done.lock().unwrap().push((record_no, decision_no, Instant::now()));
                }
            }));
        }
        wait_for(&done, 6, &writers).await;

        let live = backup_file(db, "live");
        let before = writes(&source).await;
        let started = Instant::now();
        let output = run({
            let mut command = server(&source_url);
            command.arg("backup").arg(&live);
            command
        })
        .await;
        let after = writes(&source).await;
        assert!(output.status.success(), "{db}: {}", stderr(&output));
        assert!(String::from_utf8_lossy(&output.stdout).contains("backup written"), "{db}");
        assert!(after > before, "{db}: the app kept writing while the backup ran ({before} → {after})");
        // The drivers go on a little after the backup, then stop.
        let at_backup = done.lock().unwrap().len();
        wait_for(&done, at_backup + 4, &writers).await;
        stop.store(true, Ordering::SeqCst);
        for writer in writers {
            writer.await.unwrap();
        }
        let made_before: Vec<(String, String)> = done
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, at)| *at < started)
            .map(|(record, decision, _)| (record.clone(), decision.clone()))
            .collect();
        assert!(made_before.len() >= 6, "{db}");

        let output = restore(&target_url, &live, false).await;
        assert!(output.status.success(), "{db}: {}", stderr(&output));
        assert!(String::from_utf8_lossy(&output.stdout).contains("every migration"), "{db}");
        let restored_db = Db::connect(&target_url).await.unwrap();
        let restored = rows(&restored_db).await;
        let now = rows(&source).await;
        for (record_no, decision_no) in &made_before {
            let decision = now.decisions.iter().find(|d| &d.0 == record_no).unwrap();
            assert_eq!(decision.1, *decision_no, "{db}");
            assert!(restored.decisions.contains(decision), "{db}: {record_no}'s decision, paid, is in the backup");
            let paid = now.orders.iter().find(|o| &o.1 == decision_no && o.3 == "paid").unwrap();
            assert!(restored.orders.contains(paid), "{db}: {decision_no}'s payment is in the backup: {paid:?}");
        }
        // What the backup holds is what the database held at one moment: rows the app wrote, none half-made.
        for decision in &restored.decisions {
            let later = now.decisions.iter().find(|d| d.0 == decision.0 && d.1 == decision.1);
            assert!(later.is_some_and(|l| l.3 >= decision.3), "{db}: {decision:?} was never in the database");
        }
        for order in restored.orders.iter().filter(|o| o.3 == "paid") {
            assert!(now.orders.contains(order), "{db}: {order:?} was never paid so");
        }
        // (The demo's own paid records were imported paid, without orders.)
        let paid_decisions: BTreeSet<&String> =
            restored.decisions.iter().filter(|d| d.0.starts_with("BK") && d.3 == 1).map(|d| &d.1).collect();
        let paid_orders: BTreeSet<&String> = restored.orders.iter().filter(|o| o.3 == "paid").map(|o| &o.1).collect();
        assert_eq!(
            paid_decisions, paid_orders,
            "{db}: each paid fine has its paid order in the backup, and only those"
        );
        assert!(
            restored.decisions.len() < now.decisions.len(),
            "{db}: decisions were made after the backup too, so it was taken part-way"
        );

        // At rest, a backup restores to exactly the rows the database holds; --force replaces the older restore.
        let quiet = backup_file(db, "quiet");
        let output = run({
            let mut command = server(&source_url);
            command.arg("backup").arg(&quiet);
            command
        })
        .await;
        assert!(output.status.success(), "{db}: {}", stderr(&output));
        let output = restore(&target_url, &quiet, false).await;
        assert!(!output.status.success(), "{db}: the first restore's data is not overwritten unasked");
        assert!(stderr(&output).contains("not empty"), "{db}: {}", stderr(&output));
        assert_eq!(rows(&restored_db).await, restored, "{db}: the refused restore changed nothing");
        restored_db.pool().close().await;
        let output = restore(&target_url, &quiet, true).await;
        assert!(output.status.success(), "{db}: {}", stderr(&output));
        let restored_db = Db::connect(&target_url).await.unwrap();
        assert_eq!(rows(&restored_db).await, now, "{db}: every decision and payment, row for row");
        assert_eq!(counts(&restored_db).await, counts(&source).await, "{db}");

        // A backup never overwrites a file, and a file that is not a backup never replaces a database.
        let output = run({
            let mut command = server(&source_url);
            command.arg("backup").arg(&quiet);
            command
        })
        .await;
        assert!(!output.status.success() && stderr(&output).contains("exists already"), "{db}: {}", stderr(&output));
        let junk = backup_file(db, "junk");
        std::fs::write(&junk, "record_no,plate\n").unwrap();
        let output = restore(&source_url, &junk, true).await;
        assert!(!output.status.success(), "{db}");
        assert!(stderr(&output).contains("is not a backup"), "{db}: {}", stderr(&output));
        assert_eq!(rows(&source).await, now, "{db}: the database is as it was");
        for file in [live, quiet, junk] {
            let _ = std::fs::remove_file(file);
        }
    }
}

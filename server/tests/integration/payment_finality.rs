//! Issue 16: no charge on an order the app has closed, one exception per wrong payment, and one payment per
//! payment under concurrent notifications, result pages and reconciling instances.

use std::time::Duration;

use app::platform::config::DEV_PAYMENT_SECRET;
use app::platform::gateway::{GatewayState, Gateways, PaymentGateway};
use sandbox::SandboxClient;
use sqlx::Row;

use crate::payments::{at_cashier, notify, open_order, paid, to_cashier, OVERDUE};
use crate::support::{TestApp, ZHANG_SAN};

fn gateway(app: &TestApp) -> SandboxClient {
    SandboxClient::new(app.sandbox.clone(), app.sandbox.clone(), DEV_PAYMENT_SECRET.as_bytes())
}

/// Both channels' gateways as the app holds them: the sandbox's client for each.
pub fn gateways(app: &TestApp) -> Gateways {
    Gateways::both(std::sync::Arc::new(gateway(app)))
}

async fn text(app: &TestApp, sql: &str, order_no: &str) -> String {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).bind(order_no).fetch_one(app.db.pool()).await.unwrap().get(0)
}

async fn order_state(app: &TestApp, order_no: &str) -> String {
    text(app, "SELECT state FROM payment_orders WHERE order_no = $1", order_no).await
}

async fn exceptions(app: &TestApp) -> Vec<String> {
    let rows = sqlx::query("SELECT kind FROM payment_exceptions ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

async fn exec(app: &TestApp, sql: &str, order_no: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).bind(order_no).execute(app.db.pool()).await.unwrap();
}

fn paid_body(order_no: &str, txn_id: &str, amount_fen: i64) -> String {
    format!(
        r#"{{"order_no":"{order_no}","txn_id":"{txn_id}","amount_fen":{amount_fen},"state":"paid","paid_at":{}}}"#,
        app::platform::now()
    )
}

/// The app replaces an order that expired, or whose amount changed at midnight: the old cashier page, still open
/// in the payer's browser, must not take money any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_order_is_closed_at_the_gateway_before_its_replacement_opens() {
    let ways = [
        ("expired", "UPDATE payment_orders SET expires_at = expires_at - 901 WHERE order_no = $1"),
        ("amount changed", "UPDATE payment_orders SET amount_fen = amount_fen - 600 WHERE order_no = $1"),
    ];
    for (way, replaced_because) in ways {
        for (db, app) in TestApp::each_with_demo().await {
            let browser = app.linked_browser("icbc", "replaced", &ZHANG_SAN).await;
            let old_cashier = to_cashier(&browser, OVERDUE).await;
            let (old, _) = open_order(&app, OVERDUE).await;
            exec(&app, replaced_because, &old).await;
            let new_cashier = to_cashier(&browser, OVERDUE).await;
            assert_ne!(new_cashier, old_cashier, "{db}, {way}: a replacement order");

            let page = at_cashier(&browser, &old_cashier, "pay").await;
            assert!(!page.contains("缴费成功"), "{db}, {way}: {page}");
            assert_eq!(
                text(&app, "SELECT state FROM sandbox_orders WHERE order_no = $1", &old).await,
                "closed",
                "{db}, {way}: the gateway closed the old order"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(paid(&app, OVERDUE).await, 0, "{db}, {way}");
            assert!(exceptions(&app).await.is_empty(), "{db}, {way}: no money taken, nothing to refund");

            assert!(at_cashier(&browser, &new_cashier, "pay").await.contains("缴费成功"), "{db}, {way}");
            assert_eq!(paid(&app, OVERDUE).await, 1, "{db}, {way}");
            assert!(exceptions(&app).await.is_empty(), "{db}, {way}: paid once");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_order_expires_with_the_apps_order() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("wechat", "expiry", &ZHANG_SAN).await;
        let cashier = to_cashier(&browser, OVERDUE).await;
        let (order_no, _) = open_order(&app, OVERDUE).await;
        let expiry = |table: &str| format!("SELECT CAST(expires_at AS TEXT) FROM {table} WHERE order_no = $1");
        assert_eq!(
            text(&app, &expiry("sandbox_orders"), &order_no).await,
            text(&app, &expiry("payment_orders"), &order_no).await,
            "{db}: the gateway is told when the order stops being payable"
        );

        // Fifteen minutes later, on both sides.
        for table in ["payment_orders", "sandbox_orders"] {
            let sql = format!(
                "UPDATE {table} SET created_at = created_at - 960, expires_at = expires_at - 960 WHERE order_no = $1"
            );
            exec(&app, &sql, &order_no).await;
        }
        assert!(!at_cashier(&browser, &cashier, "pay").await.contains("缴费成功"), "{db}");
        assert_eq!(gateway(&app).query(&order_no).await.unwrap(), GatewayState::Closed, "{db}");
        app::payments::repo::reconcile(&app.db, &gateways(&app)).await.unwrap();
        assert_eq!(order_state(&app, &order_no).await, "expired", "{db}");
        assert_eq!(paid(&app, OVERDUE).await, 0, "{db}");
        assert!(exceptions(&app).await.is_empty(), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_payment_for_a_closed_order_pays_the_fine_when_it_still_matches() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "late", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (order_no, amount) = open_order(&app, OVERDUE).await;
        exec(&app, "UPDATE payment_orders SET state = 'expired' WHERE order_no = $1", &order_no).await;

        let answer = notify(&app, "late-1", &paid_body(&order_no, "SBXLATE1", amount), DEV_PAYMENT_SECRET).await;
        assert_eq!(answer.text().await.unwrap(), "success", "{db}");
        assert_eq!(paid(&app, OVERDUE).await, 1, "{db}: the payer is not asked to pay twice");
        assert_eq!(order_state(&app, &order_no).await, "paid", "{db}");
        assert!(exceptions(&app).await.is_empty(), "{db}");
        let result = browser.get(&format!("/fines/result?order={order_no}")).await;
        assert!(result.contains("缴费成功") && result.contains("电子缴款凭证"), "{db}: {result}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_payment_that_matches_no_unpaid_fine_is_recorded_for_refund_once() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "refund", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (yesterday, amount) = open_order(&app, OVERDUE).await;
        // Opened before midnight at one day's less surcharge, closed, and paid at the gateway today anyway.
        let sql = "UPDATE payment_orders SET state = 'expired', amount_fen = amount_fen - 600 WHERE order_no = $1";
        exec(&app, sql, &yesterday).await;
        notify(&app, "short-1", &paid_body(&yesterday, "SBXSHORT", amount - 600), DEV_PAYMENT_SECRET).await;
        assert_eq!(paid(&app, OVERDUE).await, 0, "{db}: less than the fine costs today");
        assert_eq!(exceptions(&app).await, ["paid_after_close"], "{db}");

        let cashier = to_cashier(&browser, OVERDUE).await;
        assert!(at_cashier(&browser, &cashier, "pay").await.contains("缴费成功"), "{db}");
        for nonce in ["again-1", "again-2"] {
            notify(&app, nonce, &paid_body(&yesterday, "SBXAGAIN", amount - 600), DEV_PAYMENT_SECRET).await;
        }
        notify(&app, "short-2", &paid_body(&yesterday, "SBXSHORT", amount - 600), DEV_PAYMENT_SECRET).await;
        assert_eq!(
            exceptions(&app).await,
            ["paid_after_close", "paid_after_close"],
            "{db}: each payment of a fine already paid is recorded once"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.paid'").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_amount_payment_is_recorded_once_and_ends_the_order() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "wrong", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (order_no, amount) = open_order(&app, OVERDUE).await;
        let sql = "UPDATE sandbox_orders SET state = 'paid', txn_id = 'SBXWRONG', amount_fen = amount_fen - 1, \
                   paid_at = created_at WHERE order_no = $1";
        exec(&app, sql, &order_no).await;

        for _ in 0..3 {
            browser.get(&format!("/fines/result?order={order_no}")).await;
        }
        exec(&app, "UPDATE payment_orders SET created_at = created_at - 120 WHERE order_no = $1", &order_no).await;
        for _ in 0..3 {
            app::payments::repo::reconcile(&app.db, &gateways(&app)).await.unwrap();
        }
        for nonce in ["wrong-1", "wrong-2"] {
            notify(&app, nonce, &paid_body(&order_no, "SBXWRONG", amount - 1), DEV_PAYMENT_SECRET).await;
        }
        assert_eq!(exceptions(&app).await, ["wrong_amount"], "{db}: one payment, one exception");
        assert_ne!(order_state(&app, &order_no).await, "open", "{db}: the order is over");
        assert_eq!(paid(&app, OVERDUE).await, 0, "{db}");
        let result = browser.get(&format!("/fines/result?order={order_no}")).await;
        assert!(
            result.contains("退回原支付账户") && !result.contains("本次未扣款"),
            "{db}: the payer is told: {result}"
        );

        let cashier = to_cashier(&browser, OVERDUE).await;
        assert!(!cashier.ends_with(&order_no), "{db}: a fresh order");
        assert!(at_cashier(&browser, &cashier, "pay").await.contains("缴费成功"), "{db}: payable again");
    }
}

/// Each of a hundred payments reaches the app twice at the same moment, by its notification and by the result
/// page's query: each fine is paid once, and neither copy is taken for a second payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_notify_and_query_pairs_each_make_one_payment() {
    for (db, app) in TestApp::each_with_demo().await {
        let now = app::platform::now();
        let today = app::domain::CivilDate::shanghai_today_from_epoch(now).to_string();
        for n in 0..100 {
            sqlx::query(
                "INSERT INTO violations (record_no, plate, plate_type, occurred_at, location, code, behaviour, points, \
                 fine_fen, counter_only, decision_no, decided_on, party_id_number, paid, updated_at) \
                 VALUES ($1, '辽B00001', '02', $2, '测试路', '1625', '闯红灯', 6, 20000, 0, $3, $4, NULL, 0, $2)",
            )
            .bind(format!("RACE{n:04}"))
            .bind(now)
            .bind(format!("D-RACE-{n:04}"))
            .bind(&today)
            .execute(app.db.pool())
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO payment_orders (order_no, decision_no, channel, fine_fen, late_fee_fen, amount_fen, state, \
                 created_at, expires_at) VALUES ($1, $2, 'wechat', 20000, 0, 20000, 'open', $3, $4)",
            )
            .bind(format!("PRACE{n:04}"))
            .bind(format!("D-RACE-{n:04}"))
            .bind(now)
            .bind(now + 900)
            .execute(app.db.pool())
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO sandbox_orders (order_no, amount_fen, subject, notify_url, return_url, state, txn_id, \
                 created_at, paid_at, expires_at) VALUES ($1, 20000, '交通罚款', 'http://x/', 'http://x/', 'paid', $2, $3, $3, $4)",
            )
            .bind(format!("PRACE{n:04}"))
            .bind(format!("SBXRACE{n:04}"))
            .bind(now)
            .bind(now + 900)
            .execute(app.db.pool())
            .await
            .unwrap();
        }

        let gateways = gateways(&app);
        let bodies: Vec<String> =
            (0..100).map(|n| paid_body(&format!("PRACE{n:04}"), &format!("SBXRACE{n:04}"), 20000)).collect();
        let orders: Vec<String> = (0..100).map(|n| format!("PRACE{n:04}")).collect();
        let pairs = (0..100).map(|n| {
            let nonce = format!("race-{n}");
            let (body, order_no, gateways, app) = (&bodies[n], &orders[n], &gateways, &app);
            async move {
                let (answer, queried) = futures::future::join(
                    async {
                        // The first delivery and the gateway's retry of it, at once.
                        let retry = format!("{nonce}-retry");
                        let (first, second) = futures::future::join(
                            notify(app, &nonce, body, DEV_PAYMENT_SECRET),
                            notify(app, &retry, body, DEV_PAYMENT_SECRET),
                        )
                        .await;
                        assert_eq!(second.text().await.unwrap(), "success");
                        first.text().await.unwrap()
                    },
                    app::payments::repo::reconcile_order(&app.db, gateways, order_no),
                )
                .await;
                assert_eq!(answer, "success");
                queried.unwrap();
            }
        });
        futures::future::join_all(pairs).await;
        let paid = app.count("SELECT COUNT(*) FROM violations WHERE decision_no LIKE 'D-RACE-%' AND paid = 1").await;
        assert_eq!(paid, 100, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.paid'").await, 100, "{db}");
        assert_eq!(exceptions(&app).await, Vec::<String>::new(), "{db}: the same transaction is not a duplicate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_reconciling_at_once_ask_about_each_order_once() {
    for (db, app) in TestApp::each_with_demo().await {
        let now = app::platform::now();
        for n in 0..6 {
            sqlx::query(
                "INSERT INTO payment_orders (order_no, decision_no, channel, fine_fen, late_fee_fen, amount_fen, state, \
                 created_at, expires_at) VALUES ($1, $2, 'wechat', 100, 0, 100, 'open', $3, $4)",
            )
            .bind(format!("PCLAIM{n}"))
            .bind(format!("D-CLAIM-{n}"))
            .bind(now - 120)
            .bind(now + 600)
            .execute(app.db.pool())
            .await
            .unwrap();
        }
        let (one, two) = (gateways(&app), gateways(&app));
        let (first, second) =
            tokio::join!(app::payments::repo::reconcile(&app.db, &one), app::payments::repo::reconcile(&app.db, &two));
        assert_eq!(first.unwrap() + second.unwrap(), 6, "{db}: each order is claimed by one instance");
        let again = app::payments::repo::reconcile(&app.db, &one).await.unwrap();
        assert_eq!(again, 0, "{db}: an order just asked about waits for the next round");
    }
}

//! 缴费 through the sandbox gateway over real HTTP (SPEC §2E, §3, §5): one charge per fine, notifications
//! trusted only when signed, exceptions recorded for operators.

use app::platform::config::DEV_PAYMENT_SECRET;
use sandbox::protocol::sign;
use sqlx::Row;

use crate::support::{Browser, TestApp, LI_SI, ZHANG_SAN};

pub(crate) const OVERDUE: &str = "2102021000015367";

/// The total the confirmation page shows, in fen, from its hidden field.
pub(crate) async fn shown_total(browser: &Browser, decision_no: &str) -> String {
    let page = browser.get(&format!("/fines/pay?no={decision_no}")).await;
    let start =
        page.find("name=\"total_fen\" value=\"").expect("a 确认缴费 form") + "name=\"total_fen\" value=\"".len();
    page[start..].split('"').next().unwrap().to_string()
}

/// Presses 确认缴费 and returns the cashier URL the browser lands on.
pub(crate) async fn to_cashier(browser: &Browser, decision_no: &str) -> String {
    let total = shown_total(browser, decision_no).await;
    let response = browser.post("/api/start_payment", &[("decision_no", decision_no), ("total_fen", &total)]).await;
    let url = response.url().to_string();
    let page = response.text().await.unwrap();
    assert!(page.contains("收银台") && page.contains("确认支付") && page.contains("取消支付"), "{page}");
    url
}

/// Presses a cashier button and returns the app page the gateway sends the browser back to.
pub(crate) async fn at_cashier(browser: &Browser, cashier: &str, button: &str) -> String {
    let response = browser.client.post(format!("{cashier}/{button}")).send().await.unwrap();
    response.text().await.unwrap()
}

pub(crate) async fn paid(app: &TestApp, decision_no: &str) -> i64 {
    sqlx::query("SELECT paid FROM violations WHERE decision_no = $1")
        .bind(decision_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

pub(crate) async fn notify(app: &TestApp, nonce: &str, body: &str, secret: &str) -> reqwest::Response {
    let timestamp = app::platform::now();
    reqwest::Client::new()
        .post(format!("{}/pay/notify/icbc", app.base))
        .header("X-Sandbox-Timestamp", timestamp.to_string())
        .header("X-Sandbox-Nonce", nonce)
        .header("X-Sandbox-Signature", sign(secret.as_bytes(), timestamp, nonce, body.as_bytes()))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn open_order(app: &TestApp, decision_no: &str) -> (String, i64) {
    let row = sqlx::query("SELECT order_no, amount_fen FROM payment_orders WHERE decision_no = $1 AND state = 'open'")
        .bind(decision_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_an_overdue_fine_charges_the_surcharge_once_and_leaves_a_receipt() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "pay", &ZHANG_SAN).await;
        let confirm = browser.get(&format!("/fines/pay?no={OVERDUE}")).await;
        assert!(confirm.contains("加处罚款") && confirm.contains("确认缴费") && confirm.contains("工银e支付"), "{db}");
        let total = shown_total(&browser, OVERDUE).await;
        let cashier = to_cashier(&browser, OVERDUE).await;
        assert!(cashier.starts_with(&app.sandbox), "{db}: the cashier is the gateway's own page");
        let result = at_cashier(&browser, &cashier, "pay").await;
        assert!(result.contains("缴费成功"), "{db}: {result}");
        assert_eq!(paid(&app, OVERDUE).await, 1, "{db}");
        let order =
            sqlx::query("SELECT amount_fen, receipt_no FROM payment_orders WHERE decision_no = $1 AND state = 'paid'")
                .bind(OVERDUE)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert_eq!(order.get::<i64, _>(0).to_string(), total, "{db}: charged exactly what was shown");
        let receipt_no: String = order.get(1);
        let receipt = browser.get(&format!("/fines/receipt?no={receipt_no}")).await;
        for fact in ["电子缴款凭证", OVERDUE, "加处罚款", "工银e支付", receipt_no.as_str()] {
            assert!(receipt.contains(fact), "{db}: receipt shows {fact}");
        }
        let fines = browser.get("/fines").await;
        assert!(!fines.contains(&format!("pay?no={OVERDUE}")) && fines.contains(&receipt_no), "{db}");
        let again = browser.post("/api/start_payment", &[("decision_no", OVERDUE), ("total_fen", &total)]).await;
        assert!(again.text().await.unwrap().contains("该罚款已缴纳"), "{db}: no second charge");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_payment_requests_open_one_order() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("wechat", "pay-race", &ZHANG_SAN).await;
        let total = shown_total(&browser, OVERDUE).await;
        let fields = [("decision_no", OVERDUE), ("total_fen", total.as_str())];
        let clicks = (0..8).map(|_| browser.post("/api/start_payment", &fields));
        for response in futures::future::join_all(clicks).await {
            assert!(response.status().is_success(), "{db}");
        }
        let orders = sqlx::query("SELECT COUNT(*) FROM payment_orders WHERE decision_no = $1")
            .bind(OVERDUE)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get::<i64, _>(0);
        assert_eq!(orders, 1, "{db}: one open order for eight clicks");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_trusted_only_when_signed_and_apply_once() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "notify", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (order_no, amount) = open_order(&app, OVERDUE).await;
        let body = format!(r#"{{"order_no":"{order_no}","txn_id":"TXN1","amount_fen":{amount},"state":"paid"}}"#);

        let unsigned = reqwest::Client::new()
            .post(format!("{}/pay/notify/icbc", app.base))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 401, "{db}");
        let forged = notify(&app, "n-forged", &body, "not-the-secret-at-all").await;
        assert_eq!(forged.status(), 401, "{db}");
        assert_eq!(paid(&app, OVERDUE).await, 0, "{db}: nothing applied");

        let genuine = notify(&app, "n-1", &body, DEV_PAYMENT_SECRET).await;
        assert_eq!(genuine.text().await.unwrap(), "success", "{db}");
        assert_eq!(paid(&app, OVERDUE).await, 1, "{db}");
        assert_eq!(notify(&app, "n-1", &body, DEV_PAYMENT_SECRET).await.text().await.unwrap(), "success", "{db}");
        assert_eq!(notify(&app, "n-2", &body, DEV_PAYMENT_SECRET).await.text().await.unwrap(), "success", "{db}");
        let audits = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.paid'").await;
        assert_eq!(audits, 1, "{db}: a repeated notification changes nothing");
        assert_eq!(app.count("SELECT COUNT(*) FROM payment_exceptions").await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_amount_is_recorded_and_a_late_payment_after_cancelling_pays_the_unpaid_fine() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "exceptions", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (order_no, amount) = open_order(&app, OVERDUE).await;
        let short =
            format!(r#"{{"order_no":"{order_no}","txn_id":"TXN2","amount_fen":{},"state":"paid"}}"#, amount - 1);
        assert_eq!(notify(&app, "w-1", &short, DEV_PAYMENT_SECRET).await.status(), 200, "{db}");
        assert_eq!(paid(&app, OVERDUE).await, 0, "{db}: a wrong amount is not applied");
        let kinds = sqlx::query("SELECT kind FROM payment_exceptions").fetch_all(app.db.pool()).await.unwrap();
        assert_eq!(kinds.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>(), ["wrong_amount"], "{db}");

        let cancel = format!(r#"{{"order_no":"{order_no}","txn_id":"","amount_fen":{amount},"state":"cancelled"}}"#);
        notify(&app, "c-1", &cancel, DEV_PAYMENT_SECRET).await;
        let late = format!(r#"{{"order_no":"{order_no}","txn_id":"TXN3","amount_fen":{amount},"state":"paid"}}"#);
        notify(&app, "l-1", &late, DEV_PAYMENT_SECRET).await;
        // Issue 16: money for a closed order that matches the unpaid fine pays it, so nobody pays twice.
        assert_eq!(paid(&app, OVERDUE).await, 1, "{db}: the late payment pays the fine");
        let again = format!(r#"{{"order_no":"{order_no}","txn_id":"TXN4","amount_fen":{amount},"state":"paid"}}"#);
        notify(&app, "l-2", &again, DEV_PAYMENT_SECRET).await;
        let kinds =
            sqlx::query("SELECT kind FROM payment_exceptions ORDER BY id").fetch_all(app.db.pool()).await.unwrap();
        let kinds: Vec<String> = kinds.iter().map(|r| r.get(0)).collect();
        assert_eq!(kinds, ["wrong_amount", "duplicate_payment"], "{db}: a second payment is recorded for refund");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_at_the_cashier_leaves_the_fine_payable() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("wechat", "cancel", &ZHANG_SAN).await;
        let cashier = to_cashier(&browser, OVERDUE).await;
        let result = at_cashier(&browser, &cashier, "cancel").await;
        assert!(result.contains("已取消支付"), "{db}: {result}");
        assert_eq!(paid(&app, OVERDUE).await, 0, "{db}");
        let cashier = to_cashier(&browser, OVERDUE).await;
        assert!(at_cashier(&browser, &cashier, "pay").await.contains("缴费成功"), "{db}: payable again");
        assert_eq!(paid(&app, OVERDUE).await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_pays_or_reads_the_receipt_of_another_persons_fine() {
    for (db, app) in TestApp::each_with_demo().await {
        let zhang = app.linked_browser("icbc", "owner", &ZHANG_SAN).await;
        let cashier = to_cashier(&zhang, OVERDUE).await;
        at_cashier(&zhang, &cashier, "pay").await;
        let row = sqlx::query("SELECT order_no, receipt_no FROM payment_orders WHERE decision_no = $1")
            .bind(OVERDUE)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        let (order_no, receipt_no): (String, String) = (row.get(0), row.get(1));

        let li = app.linked_browser("icbc", "other", &LI_SI).await;
        assert!(li.get(&format!("/fines/pay?no={OVERDUE}")).await.contains("未找到该处罚决定书"), "{db}");
        let page = li.post("/api/start_payment", &[("decision_no", OVERDUE), ("total_fen", "1")]).await;
        assert!(!page.text().await.unwrap().contains("收银台"), "{db}");
        assert!(li.get(&format!("/fines/result?order={order_no}")).await.contains("未找到该缴费订单"), "{db}");
        let receipt = li.get(&format!("/fines/receipt?no={receipt_no}")).await;
        assert!(receipt.contains("未找到该缴款凭证") && !receipt.contains("加处罚款"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_settles_a_payment_whose_notification_was_lost() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "reconcile", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (order_no, _) = open_order(&app, OVERDUE).await;
        // The payer paid at the gateway, but its notification never reached the app.
        sqlx::query("UPDATE sandbox_orders SET state = 'paid', txn_id = 'SBXLOST', paid_at = $1 WHERE order_no = $2")
            .bind(app::platform::now())
            .bind(&order_no)
            .execute(app.db.pool())
            .await
            .unwrap();
        let gateway = crate::payment_finality::gateways(&app);
        assert_eq!(app::payments::repo::reconcile(&app.db, &gateway).await.unwrap(), 0, "{db}: too young to ask");
        sqlx::query("UPDATE payment_orders SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
        assert_eq!(app::payments::repo::reconcile(&app.db, &gateway).await.unwrap(), 1, "{db}");
        assert_eq!(paid(&app, OVERDUE).await, 1, "{db}: settled from the gateway's answer");
        let txn: String = sqlx::query("SELECT txn_id FROM payment_orders WHERE order_no = $1")
            .bind(&order_no)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(txn, "SBXLOST", "{db}");
        assert_eq!(app::payments::repo::reconcile(&app.db, &gateway).await.unwrap(), 0, "{db}: nothing left open");
    }
}

/// Looks a decision up as a guest; returns the page the lookup lands on and its URL.
async fn guest_lookup(browser: &Browser, decision_no: &str, plate: &str, name: &str) -> (String, String) {
    let response =
        browser.post("/api/guest_lookup", &[("decision_no", decision_no), ("plate", plate), ("name", name)]).await;
    let url = response.url().to_string();
    (response.text().await.unwrap(), url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_pays_by_decision_number_and_plate_and_sees_only_masked_data() {
    for (db, app) in TestApp::each_with_demo().await {
        let guest = app.browser();
        let (wrong_number, _) = guest_lookup(&guest, "2102021000015368", "辽B6A789", "").await;
        let (wrong_plate, _) = guest_lookup(&guest, OVERDUE, "辽B12345", "").await;
        let (wrong_name, _) = guest_lookup(&guest, OVERDUE, "", "李四").await;
        for page in [&wrong_number, &wrong_plate, &wrong_name] {
            assert!(page.contains("未查询到符合条件的处罚决定书"), "{db}: one answer for every mismatch");
            assert!(!page.contains("加处罚款"), "{db}");
        }
        let (by_name, _) = guest_lookup(&guest, OVERDUE, "", "张三").await;
        assert!(by_name.contains(OVERDUE) && by_name.contains("加处罚款"), "{db}: the party's name also works");
        let (page, url) = guest_lookup(&guest, OVERDUE, "辽B6A789", "").await;
        assert!(page.contains("张*") && !page.contains("张三") && !page.contains(ZHANG_SAN.id_number), "{db}: masked");
        let pass = url.split("pass=").nth(1).expect("a pass in the URL").to_string();
        let total = {
            let start = page.find("name=\"total_fen\" value=\"").unwrap() + "name=\"total_fen\" value=\"".len();
            page[start..].split('"').next().unwrap().to_string()
        };
        let response = guest.post("/api/start_guest_payment", &[("pass", &pass), ("total_fen", &total)]).await;
        let cashier = response.url().to_string();
        assert!(cashier.starts_with(&app.sandbox), "{db}: {cashier}");
        let result = at_cashier(&guest, &cashier, "pay").await;
        assert!(result.contains("缴费成功"), "{db}: {result}");
        assert_eq!(paid(&app, OVERDUE).await, 1, "{db}");
        let receipt_no: String =
            sqlx::query("SELECT receipt_no FROM payment_orders WHERE decision_no = $1 AND state = 'paid'")
                .bind(OVERDUE)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
                .get(0);
        let receipt = guest.get(&format!("/fines/receipt?no={receipt_no}&pass={pass}")).await;
        assert!(receipt.contains("电子缴款凭证") && receipt.contains(&receipt_no), "{db}");
        let stranger = app.browser().get(&format!("/fines/receipt?no={receipt_no}")).await;
        assert!(!stranger.contains("交易流水号"), "{db}: no receipt without the pass");
        let forged = pass.replacen(OVERDUE, "2102021000009122", 1);
        let other = app.browser().get(&format!("/guest-pay/decision?pass={forged}")).await;
        assert!(other.contains("查询已过期") && !other.contains("2102021000009122"), "{db}: a pass opens one decision");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_lookups_are_rate_limited() {
    for (db, app) in TestApp::each_with_demo().await {
        let guest = app.browser();
        for _ in 0..10 {
            let (page, _) = guest_lookup(&guest, OVERDUE, "辽B00000", "").await;
            assert!(page.contains("未查询到符合条件的处罚决定书"), "{db}");
        }
        let (page, _) = guest_lookup(&guest, OVERDUE, "辽B6A789", "").await;
        assert!(page.contains("查询过于频繁") && !page.contains("加处罚款"), "{db}: even the right plate waits");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_order_is_reused_only_while_it_charges_what_the_page_shows() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "reuse", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (first, amount) = open_order(&app, OVERDUE).await;
        to_cashier(&browser, OVERDUE).await;
        assert_eq!(open_order(&app, OVERDUE).await.0, first, "{db}: a second click reuses the order");
        // As if the order had been opened before midnight, when the surcharge was one day smaller.
        sqlx::query("UPDATE payment_orders SET amount_fen = amount_fen - 600 WHERE order_no = $1")
            .bind(&first)
            .execute(app.db.pool())
            .await
            .unwrap();
        to_cashier(&browser, OVERDUE).await;
        let (second, charged) = open_order(&app, OVERDUE).await;
        assert_ne!(second, first, "{db}: a new order at today's amount");
        assert_eq!(charged, amount, "{db}: it charges what the page shows");
    }
}

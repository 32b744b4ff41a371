//! Issue 18: a bank operator's 退款 of a payment exception, through the sandbox gateway over real HTTP — once per
//! exception, never more than the gateway took, bank operators only, settled by the gateway's signed notification
//! or, when that never comes, by reconciliation.

use std::time::Duration;

use app::console::model::Role;
use app::platform::config::DEV_PAYMENT_SECRET;
use sandbox::protocol::{sign, RefundProgress, RefundStatus};
use sqlx::Row;

use crate::console_payments::staff;
use crate::payment_finality::gateways;
use crate::payments::{open_order, to_cashier, OVERDUE};
use crate::support::{TestApp, ZHANG_SAN};

async fn exec(app: &TestApp, sql: &str, bind: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).bind(bind).execute(app.db.pool()).await.unwrap();
}

/// Pays an order at the sandbox with one fen less than it charges, which reconciliation records as a
/// `wrong_amount` exception; returns the exception's id and the amount the gateway took.
async fn wrong_amount_exception(app: &TestApp, uid: &str) -> (i64, i64) {
    let browser = app.linked_browser("icbc", uid, &ZHANG_SAN).await;
    to_cashier(&browser, OVERDUE).await;
    let (order_no, amount) = open_order(app, OVERDUE).await;
    let sql = "UPDATE sandbox_orders SET state = 'paid', txn_id = 'SBXWRONG', amount_fen = amount_fen - 1, \
               paid_at = created_at WHERE order_no = $1";
    exec(app, sql, &order_no).await;
    exec(app, "UPDATE payment_orders SET created_at = created_at - 120 WHERE order_no = $1", &order_no).await;
    app::payments::repo::reconcile(&app.db, &gateways(app)).await.unwrap();
    let row =
        sqlx::query("SELECT id, amount_fen FROM payment_exceptions WHERE order_no = $1 AND kind = 'wrong_amount'")
            .bind(&order_no)
            .fetch_one(app.db.pool())
            .await
            .expect("the wrong amount is recorded");
    let (id, taken): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(taken, amount - 1);
    (id, taken)
}

/// The refund of exception `id` as the app records it: refund number, state, amount.
async fn refund_of(app: &TestApp, id: i64) -> Option<(String, String, i64)> {
    sqlx::query("SELECT refund_no, state, amount_fen FROM payment_refunds WHERE exception_id = $1")
        .bind(id)
        .fetch_optional(app.db.pool())
        .await
        .unwrap()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
}

/// Waits until exception `id`'s refund is in `state`, for at most five seconds.
async fn until_state(app: &TestApp, id: i64, state: &str) -> bool {
    for _ in 0..50 {
        if refund_of(app, id).await.is_some_and(|(_, s, _)| s == state) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Settles the refund at the sandbox as if its money went back, before its notification is sent, which stops
/// that notification: the app then hears of it only by a notification the test sends, or by reconciliation.
async fn succeed_silently(app: &TestApp, refund_no: &str) {
    let sql = format!(
        "UPDATE sandbox_refunds SET state = 'succeeded', succeeded_at = {} WHERE refund_no = $1",
        app::platform::now()
    );
    exec(app, &sql, refund_no).await;
}

/// Presses 退款 on exception `id`.
async fn press_refund(browser: &crate::support::Browser, id: i64) -> reqwest::Response {
    browser.post("/api/refund_payment_exception", &[("id", &id.to_string())]).await
}

/// A signed refund notification to the app, as the sandbox sends one.
async fn refund_notify(app: &TestApp, nonce: &str, body: &str, secret: &str) -> reqwest::Response {
    let timestamp = app::platform::now();
    reqwest::Client::new()
        .post(format!("{}/pay/refund-notify/icbc", app.base))
        .header("X-Sandbox-Timestamp", timestamp.to_string())
        .header("X-Sandbox-Nonce", nonce)
        .header("X-Sandbox-Signature", sign(secret.as_bytes(), timestamp, nonce, body.as_bytes()))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// The sandbox's notification body of refund `refund_no`, as the sandbox now has it.
async fn sandbox_refund_body(app: &TestApp, refund_no: &str) -> String {
    let row =
        sqlx::query("SELECT order_no, refund_id, amount_fen, succeeded_at FROM sandbox_refunds WHERE refund_no = $1")
            .bind(refund_no)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    serde_json::to_string(&RefundStatus {
        refund_no: refund_no.into(),
        order_no: row.get(0),
        state: RefundProgress::Succeeded,
        refund_id: row.get(1),
        amount_fen: row.get(2),
        succeeded_at: row.get(3),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_an_exception_is_refunded_once_even_with_two_concurrent_requests() {
    for (db, app) in TestApp::each_with_demo().await {
        let (id, taken) = wrong_amount_exception(&app, "refund-once").await;
        let (one, two) = (staff(&app, "bank1", Role::Bank).await, staff(&app, "bank2", Role::Bank).await);
        let page = one.get("/console/payments/exceptions").await;
        assert!(page.contains("/api/refund_payment_exception") && page.contains("退款 "), "{db}: {page}");

        let (first, second) = tokio::join!(press_refund(&one, id), press_refund(&two, id));
        let pages = [first.text().await.unwrap(), second.text().await.unwrap()];
        assert_eq!(
            pages.iter().filter(|p| p.contains("该异常已申请过退款，未重复退款")).count(),
            1,
            "{db}: one of the two is told it was refunded already"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM payment_refunds").await, 1, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sandbox_refunds").await, 1, "{db}: the gateway refunded once");
        let audits = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.refund.request'").await;
        assert_eq!(audits, 1, "{db}: who asked is recorded once");
        let (refund_no, _, amount) = refund_of(&app, id).await.unwrap();
        assert_eq!(amount, taken, "{db}: what the gateway took goes back");
        let sandbox_amount = app.count("SELECT amount_fen FROM sandbox_refunds").await;
        assert_eq!(sandbox_amount, taken, "{db}");

        assert!(until_state(&app, id, "SUCCEEDED").await, "{db}: the gateway's notification marks it refunded");
        let page = one.get("/console/payments/exceptions").await;
        assert!(page.contains("已退款") && page.contains(&refund_no), "{db}: {page}");
        assert!(!page.contains("/api/refund_payment_exception"), "{db}: no second 退款 button");

        let again = press_refund(&two, id).await.text().await.unwrap();
        assert!(again.contains("该异常已申请过退款"), "{db}: {again}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sandbox_refunds").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_are_for_bank_operators_only() {
    for (db, app) in TestApp::each_with_demo().await {
        let (id, _) = wrong_amount_exception(&app, "refund-roles").await;
        let police = staff(&app, "police1", Role::Police).await;
        let auditor = staff(&app, "audit1", Role::Auditor).await;
        let driver = app.linked_browser("wechat", "refund-driver", &ZHANG_SAN).await;
        let nobody = app.browser();
        let page = auditor.get("/console/payments/exceptions").await;
        assert!(page.contains("金额不符") && !page.contains("/api/refund_payment_exception"), "{db}: auditors read");
        assert!(police.get("/console/payments/exceptions").await.contains("您的角色无权进行此操作"), "{db}");

        for (who, browser, status) in
            [("police", &police, 403), ("auditor", &auditor, 403), ("driver", &driver, 401), ("nobody", &nobody, 401)]
        {
            assert_eq!(press_refund(browser, id).await.status(), status, "{db}: {who}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM payment_refunds").await, 0, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sandbox_refunds").await, 0, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'payment.refund%'").await, 0);

        let bank = staff(&app, "bank1", Role::Bank).await;
        assert!(press_refund(&bank, id).await.status().is_success(), "{db}: the bank operator may");
        assert_eq!(app.count("SELECT COUNT(*) FROM payment_refunds").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_never_exceed_what_the_gateway_took() {
    for (db, app) in TestApp::each_with_demo().await {
        let (id, taken) = wrong_amount_exception(&app, "refund-more").await;
        // The record claims more than the gateway took: the gateway refuses, and no money moves.
        sqlx::query("UPDATE payment_exceptions SET amount_fen = $1 WHERE id = $2")
            .bind(taken + 100)
            .bind(id)
            .execute(app.db.pool())
            .await
            .unwrap();
        let bank = staff(&app, "bank1", Role::Bank).await;
        let page = press_refund(&bank, id).await.text().await.unwrap();
        assert!(page.contains("支付网关拒绝了这笔退款"), "{db}: {page}");
        assert_eq!(refund_of(&app, id).await.map(|r| r.1), Some("FAILED".into()), "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sandbox_refunds").await, 0, "{db}: nothing refunded");
        let page = bank.get("/console/payments/exceptions").await;
        assert!(page.contains("退款失败") && !page.contains("/api/refund_payment_exception"), "{db}: {page}");
        // A failed refund is not retried by a second press, so no later refund can add to it.
        assert!(press_refund(&bank, id).await.text().await.unwrap().contains("该异常已申请过退款"), "{db}");

        // An unknown order's money has no order to refund it by: no button, and the server refuses.
        sqlx::query(
            "INSERT INTO payment_exceptions (order_no, kind, amount_fen, detail, created_at, txn_id) \
             VALUES ('PUNKNOWN1', 'unknown_order', 500, 'SBXUNKNOWN', $1, 'SBXUNKNOWN')",
        )
        .bind(app::platform::now())
        .execute(app.db.pool())
        .await
        .unwrap();
        let unknown = app.count("SELECT id FROM payment_exceptions WHERE order_no = 'PUNKNOWN1'").await;
        let page = bank.get("/console/payments/exceptions").await;
        assert!(page.contains("未知订单") && !page.contains("/api/refund_payment_exception"), "{db}");
        assert!(press_refund(&bank, unknown).await.text().await.unwrap().contains("该异常无法在此退款"), "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM payment_refunds").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_a_notification_marks_it_refunded_a_replay_changes_nothing_a_forgery_is_refused() {
    for (db, app) in TestApp::each_with_demo().await {
        let (id, _) = wrong_amount_exception(&app, "refund-notify").await;
        let bank = staff(&app, "bank1", Role::Bank).await;
        let page = press_refund(&bank, id).await.text().await.unwrap();
        let (refund_no, state, _) = refund_of(&app, id).await.unwrap();
        succeed_silently(&app, &refund_no).await;
        assert!(page.contains("退款中") && page.contains("已提交退款"), "{db}: {page}");
        assert_eq!(state, "PROCESSING", "{db}");
        let body = sandbox_refund_body(&app, &refund_no).await;

        let forged = refund_notify(&app, "forged-1", &body, "not-the-shared-secret").await;
        assert_eq!(forged.status(), 401, "{db}");
        assert_eq!(forged.text().await.unwrap(), "FAIL", "{db}");
        let unsigned = reqwest::Client::new().post(format!("{}/pay/refund-notify/icbc", app.base)).body(body.clone());
        assert_eq!(unsigned.send().await.unwrap().status(), 401, "{db}");
        // A nonce seen before (here, a payment notification's) is a replay, whatever the body.
        sqlx::query("INSERT INTO payment_nonces (nonce, seen_at) VALUES ('seen-1', $1)")
            .bind(app::platform::now())
            .execute(app.db.pool())
            .await
            .unwrap();
        assert_eq!(refund_notify(&app, "seen-1", &body, DEV_PAYMENT_SECRET).await.status(), 200, "{db}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(refund_of(&app, id).await.unwrap().1, "PROCESSING", "{db}: neither changed anything");

        let answer = refund_notify(&app, "refund-1", &body, DEV_PAYMENT_SECRET).await;
        assert_eq!((answer.status().as_u16(), answer.text().await.unwrap().as_str()), (200, "success"), "{db}");
        assert_eq!(refund_of(&app, id).await.unwrap().1, "SUCCEEDED", "{db}");
        let ended = "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.refund.ended'";
        assert_eq!(app.count(ended).await, 1, "{db}");
        let stamp = "SELECT updated_at FROM payment_refunds";
        let updated = app.count(stamp).await;

        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(refund_notify(&app, "refund-1", &body, DEV_PAYMENT_SECRET).await.status(), 200, "{db}: replay");
        assert_eq!(refund_notify(&app, "refund-2", &body, DEV_PAYMENT_SECRET).await.status(), 200, "{db}: repeat");
        assert_eq!((app.count(ended).await, app.count(stamp).await), (1, updated), "{db}: nothing changed");
        let page = bank.get("/console/payments/exceptions").await;
        assert!(page.contains("已退款") && page.contains(&refund_no), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_reconciliation_settles_a_refund_whose_notification_never_came() {
    for (db, app) in TestApp::each_with_demo().await {
        let (id, _) = wrong_amount_exception(&app, "refund-lost").await;
        let bank = staff(&app, "bank1", Role::Bank).await;
        press_refund(&bank, id).await;
        let (refund_no, _, _) = refund_of(&app, id).await.unwrap();
        succeed_silently(&app, &refund_no).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(refund_of(&app, id).await.unwrap().1, "PROCESSING", "{db}: no notification came");

        let gateways = gateways(&app);
        let reconcile = || app::payments::repo::reconcile_refunds(&app.db, &gateways);
        assert_eq!(reconcile().await.unwrap(), 0, "{db}: too young to ask");
        exec(&app, "UPDATE payment_refunds SET created_at = created_at - 120 WHERE refund_no = $1", &refund_no).await;
        assert_eq!(reconcile().await.unwrap(), 1, "{db}");
        assert_eq!(refund_of(&app, id).await.unwrap().1, "SUCCEEDED", "{db}: the gateway's query settles it");
        assert_eq!(reconcile().await.unwrap(), 0, "{db}: nothing left processing");
        assert!(bank.get("/console/payments/exceptions").await.contains("已退款"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_reconciliation_resends_a_refund_the_gateway_never_received() {
    for (db, app) in TestApp::each_with_demo().await {
        let (id, taken) = wrong_amount_exception(&app, "refund-resend").await;
        let bank = staff(&app, "bank1", Role::Bank).await;
        press_refund(&bank, id).await;
        let (refund_no, _, _) = refund_of(&app, id).await.unwrap();
        // As if the request had never reached the gateway (it was unreachable).
        exec(&app, "DELETE FROM sandbox_refunds WHERE refund_no = $1", &refund_no).await;
        exec(&app, "UPDATE payment_refunds SET created_at = created_at - 120 WHERE refund_no = $1", &refund_no).await;
        assert_eq!(app::payments::repo::reconcile_refunds(&app.db, &gateways(&app)).await.unwrap(), 1, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sandbox_refunds").await, 1, "{db}: sent again, once");
        assert_eq!(app.count("SELECT amount_fen FROM sandbox_refunds").await, taken, "{db}");
        assert!(until_state(&app, id, "SUCCEEDED").await, "{db}: and its notification settles it");
    }
}

//! The sandbox gateway over real HTTP on SQLite and PostgreSQL: the merchant API, the cashier, notifications.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::sync::mpsc;

use app::platform::db::Db;
use app::platform::gateway::{
    Checkout, GatewayError, GatewayOrder, GatewayState, NotifyError, PaymentGateway, RefundRequest, RefundState,
};
use app::platform::now;
use app::platform::test_db::fresh_databases;

use crate::protocol::{sign, signature_headers, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::{Sandbox, SandboxClient};

const SECRET: &[u8] = b"sandbox-test-secret-0123456789abcdef";

type Delivery = (HeaderMap, Bytes);

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("the test server runs") });
    url
}

#[derive(Clone)]
struct MerchantState {
    refusals_left: Arc<AtomicUsize>,
    deliveries: mpsc::UnboundedSender<Delivery>,
}

/// The app's side of a notification, reduced to recording it and answering `success` (or failing on purpose).
async fn merchant_notify(
    State(merchant): State<MerchantState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let refuse = merchant.refusals_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    merchant.deliveries.send((headers, body)).expect("the test is listening");
    if refuse {
        (StatusCode::SERVICE_UNAVAILABLE, "FAIL")
    } else {
        (StatusCode::OK, "success")
    }
}

/// A running sandbox, a merchant notify endpoint on another port, and both sides' HTTP clients.
struct Rig {
    sandbox_url: String,
    notify_url: String,
    client: SandboxClient,
    browser: reqwest::Client,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

impl Rig {
    /// Starts everything; the merchant fails its first `refusals` notifications.
    async fn start(db: Db, refusals: usize) -> Self {
        let sandbox_url = serve(Sandbox::new(db, SECRET).router()).await;
        let (sender, deliveries) = mpsc::unbounded_channel();
        let merchant = MerchantState { refusals_left: Arc::new(AtomicUsize::new(refusals)), deliveries: sender };
        let merchant_url = serve(Router::new().route("/pay/notify", post(merchant_notify)).with_state(merchant)).await;
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self {
            client: SandboxClient::new(sandbox_url.as_str(), sandbox_url.as_str(), SECRET),
            notify_url: format!("{merchant_url}/pay/notify"),
            sandbox_url,
            browser,
            deliveries,
        }
    }

    fn order(&self, order_no: &str, amount_fen: i64) -> GatewayOrder {
        GatewayOrder {
            order_no: order_no.into(),
            amount_fen,
            subject: "交通违法罚款 210200000000001".into(),
            notify_url: self.notify_url.clone(),
            return_url: format!("http://app.test/fines/result?order={order_no}"),
            time_expire: now() + 900,
            payer_uid: None,
        }
    }

    async fn next_delivery(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(10), self.deliveries.recv())
            .await
            .expect("a notification arrives in time")
            .expect("the merchant is running")
    }

    async fn no_further_delivery(&mut self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(self.deliveries.try_recv().is_err(), "no further notification is sent");
    }

    async fn cashier(&self, order_no: &str) -> (StatusCode, String) {
        let response = self.browser.get(format!("{}/cashier/{order_no}", self.sandbox_url)).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Presses a cashier button (`pay` or `cancel`) and returns the status and redirect target.
    async fn press(&self, order_no: &str, button: &str) -> (StatusCode, String) {
        let url = format!("{}/cashier/{order_no}/{button}", self.sandbox_url);
        let response = self.browser.post(url).send().await.unwrap();
        let location = response.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (response.status(), location)
    }

    /// Registers and pays an order at the cashier, takes its payment notification, and returns its transaction.
    async fn paid_order(&mut self, order_no: &str, amount_fen: i64) -> String {
        let order = self.order(order_no, amount_fen);
        self.client.create(&order).await.unwrap();
        self.press(order_no, "pay").await;
        self.next_delivery().await;
        match self.client.query(order_no).await.unwrap() {
            GatewayState::Paid { txn_id, .. } => txn_id,
            other => panic!("the order is paid, not {other:?}"),
        }
    }

    fn refund(&self, refund_no: &str, order_no: &str, txn_id: &str, refund_fen: i64, total_fen: i64) -> RefundRequest {
        RefundRequest {
            refund_no: refund_no.into(),
            order_no: order_no.into(),
            txn_id: txn_id.into(),
            refund_fen,
            total_fen,
            reason: "重复支付退款".into(),
            notify_url: self.notify_url.clone(),
        }
    }

    async fn post_orders(&self, headers: HeaderMap, body: &[u8]) -> StatusCode {
        let url = format!("{}/api/orders", self.sandbox_url);
        self.browser.post(url).headers(headers).body(body.to_vec()).send().await.unwrap().status()
    }
}

#[tokio::test]
async fn paying_at_the_cashier_notifies_the_app_and_the_query_agrees() {
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db, 0).await;
        let order = rig.order("P20260101000001", 1234);
        let Checkout::Redirect(cashier_url) = rig.client.create(&order).await.unwrap() else {
            panic!("the sandbox redirects")
        };
        assert_eq!(cashier_url, format!("{}/cashier/P20260101000001", rig.sandbox_url), "{backend}");
        assert_eq!(rig.client.query(&order.order_no).await.unwrap(), GatewayState::Pending, "{backend}");

        let (status, page) = rig.cashier(&order.order_no).await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        for expected in [
            "lang=\"zh-CN\"",
            "name=\"viewport\"",
            "<title>收银台</title>",
            "商户：大连智慧交通",
            "交通违法罚款 210200000000001",
            "¥12.34",
            "action=\"/cashier/P20260101000001/pay\"",
            "确认支付",
            "action=\"/cashier/P20260101000001/cancel\"",
            "取消支付",
        ] {
            assert!(page.contains(expected), "{backend}: the cashier shows {expected}");
        }

        let (status, location) = rig.press(&order.order_no, "pay").await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, order.return_url.as_str()), "{backend}");
        let (headers, body) = rig.next_delivery().await;
        let notification = rig.client.verify(&headers, &body, now()).expect("the notification verifies");
        assert!(notification.paid, "{backend}");
        assert_eq!((notification.order_no.as_str(), notification.amount_fen), ("P20260101000001", 1234), "{backend}");
        assert!(notification.txn_id.starts_with("SBX"), "{backend}: {}", notification.txn_id);

        let GatewayState::Paid { txn_id, amount_fen, paid_at } = rig.client.query(&order.order_no).await.unwrap()
        else {
            panic!("{backend}: the query says paid");
        };
        assert_eq!((txn_id.as_str(), amount_fen), (notification.txn_id.as_str(), 1234), "{backend}");
        assert!(now().abs_diff(paid_at) < 60, "{backend}");
        assert_eq!(notification.paid_at, Some(paid_at), "{backend}: the notification says when the money was taken");

        // A second 确认支付 (double click, back button) and a late 取消支付 change nothing and notify nobody.
        assert_eq!(rig.press(&order.order_no, "pay").await.0, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(rig.press(&order.order_no, "cancel").await.0, StatusCode::SEE_OTHER, "{backend}");
        rig.no_further_delivery().await;
        assert_eq!(
            rig.client.query(&order.order_no).await.unwrap(),
            GatewayState::Paid { txn_id: notification.txn_id.clone(), amount_fen: 1234, paid_at },
            "{backend}"
        );

        let (_, page) = rig.cashier(&order.order_no).await;
        assert!(page.contains("已支付") && page.contains(&notification.txn_id), "{backend}");
        assert!(page.contains("href=\"http://app.test/fines/result?order=P20260101000001\""), "{backend}");
        assert!(!page.contains("确认支付"), "{backend}: a paid order offers no second payment");
    }
}

#[tokio::test]
async fn cancelling_at_the_cashier_notifies_a_cancellation() {
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db, 0).await;
        let order = rig.order("P20260101000002", 20000);
        rig.client.create(&order).await.unwrap();

        let (status, location) = rig.press(&order.order_no, "cancel").await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, order.return_url.as_str()), "{backend}");
        let (headers, body) = rig.next_delivery().await;
        let notification = rig.client.verify(&headers, &body, now()).expect("the notification verifies");
        assert!(!notification.paid, "{backend}");
        assert_eq!((notification.order_no.as_str(), notification.amount_fen), ("P20260101000002", 20000), "{backend}");
        assert_eq!(rig.client.query(&order.order_no).await.unwrap(), GatewayState::Cancelled, "{backend}");

        // Paying a cancelled order is refused without a word to the app.
        assert_eq!(rig.press(&order.order_no, "pay").await.0, StatusCode::SEE_OTHER, "{backend}");
        rig.no_further_delivery().await;
        assert_eq!(rig.client.query(&order.order_no).await.unwrap(), GatewayState::Cancelled, "{backend}");
        let (_, page) = rig.cashier(&order.order_no).await;
        assert!(page.contains("已取消支付") && !page.contains("确认支付"), "{backend}");
    }
}

#[tokio::test]
async fn an_order_number_is_registered_once_and_refused_with_another_amount() {
    for (backend, db) in fresh_databases().await {
        let rig = Rig::start(db, 0).await;
        let order = rig.order("P20260101000003", 5000);
        let first = rig.client.create(&order).await.unwrap();
        assert_eq!(rig.client.create(&order).await.unwrap(), first, "{backend}: a retried create is the same order");

        let other_amount = GatewayOrder { amount_fen: 5001, ..order.clone() };
        match rig.client.create(&other_amount).await {
            Err(GatewayError::Rejected(reason)) => assert!(reason.contains("409"), "{backend}: {reason}"),
            other => panic!("{backend}: a different amount must be refused, got {other:?}"),
        }
        assert_eq!(rig.client.query("P20260101009999").await.unwrap(), GatewayState::NotFound, "{backend}");
        assert_eq!(rig.cashier("P20260101009999").await.0, StatusCode::NOT_FOUND, "{backend}");
        assert_eq!(rig.press("P20260101009999", "pay").await.0, StatusCode::NOT_FOUND, "{backend}");
    }
}

#[tokio::test]
async fn merchant_api_calls_without_a_valid_signature_are_refused() {
    for (backend, db) in fresh_databases().await {
        let rig = Rig::start(db, 0).await;
        let body = serde_json::to_vec(&rig.order("P20260101000004", 100)).unwrap();

        assert_eq!(rig.post_orders(HeaderMap::new(), &body).await, StatusCode::UNAUTHORIZED, "{backend}: unsigned");
        let wrong_key = signature_headers(b"not-the-shared-secret", &body, now());
        assert_eq!(rig.post_orders(wrong_key, &body).await, StatusCode::UNAUTHORIZED, "{backend}: wrong key");
        let for_other_body = signature_headers(SECRET, b"{}", now());
        assert_eq!(rig.post_orders(for_other_body, &body).await, StatusCode::UNAUTHORIZED, "{backend}: other body");
        let old = signature_headers(SECRET, &body, now() - 600);
        assert_eq!(rig.post_orders(old, &body).await, StatusCode::UNAUTHORIZED, "{backend}: stale");

        let unsigned_query = rig.browser.get(format!("{}/api/orders/P20260101000004", rig.sandbox_url)).send();
        assert_eq!(unsigned_query.await.unwrap().status(), StatusCode::UNAUTHORIZED, "{backend}: unsigned query");
        let impostor = SandboxClient::new(rig.sandbox_url.as_str(), rig.sandbox_url.as_str(), b"guessed".as_slice());
        assert!(matches!(impostor.query("P20260101000004").await, Err(GatewayError::Rejected(_))), "{backend}");

        // Nothing was registered by the refused calls; a signed, well-formed one goes through.
        assert_eq!(rig.client.query("P20260101000004").await.unwrap(), GatewayState::NotFound, "{backend}");
        assert_eq!(rig.post_orders(signature_headers(SECRET, &body, now()), &body).await, StatusCode::OK, "{backend}");
        let zero = serde_json::to_vec(&rig.order("P20260101000005", 0)).unwrap();
        let signed = signature_headers(SECRET, &zero, now());
        assert_eq!(rig.post_orders(signed, &zero).await, StatusCode::BAD_REQUEST, "{backend}: zero amount");
    }
}

#[tokio::test]
async fn the_daily_statement_lists_the_days_payments_signed() {
    use app::domain::CivilDate;
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db, 0).await;
        let (paid, pending) = (rig.order("P20260101000007", 2500), rig.order("P20260101000008", 900));
        rig.client.create(&paid).await.unwrap();
        rig.client.create(&pending).await.unwrap();
        rig.press(&paid.order_no, "pay").await;
        rig.next_delivery().await;
        let GatewayState::Paid { txn_id, paid_at, .. } = rig.client.query(&paid.order_no).await.unwrap() else {
            panic!("{backend}: the order is paid");
        };

        let today = CivilDate::shanghai_today_from_epoch(paid_at);
        let statement = rig.client.daily_statement(today).await.unwrap();
        let lines: Vec<_> = statement.iter().map(|l| (l.order_no.as_str(), l.txn_id.as_str(), l.amount_fen)).collect();
        assert_eq!(lines, [(paid.order_no.as_str(), txn_id.as_str(), 2500)], "{backend}: paid orders only");
        assert_eq!(statement[0].paid_at, paid_at, "{backend}");
        assert!(rig.client.daily_statement(today.checked_add_days(-1).unwrap()).await.unwrap().is_empty(), "{backend}");

        let unsigned = rig.browser.get(format!("{}/api/statements/{today}", rig.sandbox_url)).send();
        assert_eq!(unsigned.await.unwrap().status(), StatusCode::UNAUTHORIZED, "{backend}: unsigned");
        let impostor = SandboxClient::new(rig.sandbox_url.as_str(), rig.sandbox_url.as_str(), b"guessed".as_slice());
        assert!(matches!(impostor.daily_statement(today).await, Err(GatewayError::Rejected(_))), "{backend}");
    }
}

#[tokio::test]
async fn an_unacknowledged_notification_is_retried_with_a_fresh_nonce() {
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db, 1).await;
        let order = rig.order("P20260101000006", 300);
        rig.client.create(&order).await.unwrap();
        assert_eq!(rig.press(&order.order_no, "pay").await.0, StatusCode::SEE_OTHER, "{backend}");

        let (first_headers, first_body) = rig.next_delivery().await;
        let (second_headers, second_body) = rig.next_delivery().await;
        let first = rig.client.verify(&first_headers, &first_body, now()).unwrap();
        let second = rig.client.verify(&second_headers, &second_body, now()).unwrap();
        assert_ne!(first.nonce, second.nonce, "{backend}: a retry must not look like a replay");
        assert_eq!((first.txn_id, first.paid), (second.txn_id, second.paid), "{backend}: the same result");
        rig.no_further_delivery().await;
    }
}

#[tokio::test]
async fn a_closed_or_expired_order_takes_no_money() {
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db.clone(), 0).await;
        let closed = rig.order("P20260101000011", 700);
        rig.client.create(&closed).await.unwrap();
        assert_eq!(rig.client.close(&closed.order_no).await.unwrap(), GatewayState::Closed, "{backend}");
        assert_eq!(rig.press(&closed.order_no, "pay").await.0, StatusCode::SEE_OTHER, "{backend}");
        rig.no_further_delivery().await;
        assert_eq!(rig.client.query(&closed.order_no).await.unwrap(), GatewayState::Closed, "{backend}");
        let (_, page) = rig.cashier(&closed.order_no).await;
        assert!(page.contains("订单已关闭") && !page.contains("确认支付"), "{backend}");

        let expired = rig.order("P20260101000012", 800);
        rig.client.create(&expired).await.unwrap();
        sqlx::query("UPDATE sandbox_orders SET expires_at = $1 WHERE order_no = $2")
            .bind(now())
            .bind(&expired.order_no)
            .execute(db.pool())
            .await
            .unwrap();
        assert_eq!(rig.press(&expired.order_no, "pay").await.0, StatusCode::SEE_OTHER, "{backend}");
        rig.no_further_delivery().await;
        assert_eq!(rig.client.query(&expired.order_no).await.unwrap(), GatewayState::Closed, "{backend}: expired");

        let paid = rig.order("P20260101000013", 900);
        rig.client.create(&paid).await.unwrap();
        rig.press(&paid.order_no, "pay").await;
        rig.next_delivery().await;
        assert!(
            matches!(rig.client.close(&paid.order_no).await.unwrap(), GatewayState::Paid { amount_fen: 900, .. }),
            "{backend}: closing after payment says it was paid"
        );
        assert_eq!(rig.client.close("P20260101009998").await.unwrap(), GatewayState::NotFound, "{backend}");

        let stale = GatewayOrder { time_expire: now(), ..rig.order("P20260101000014", 100) };
        assert!(matches!(rig.client.create(&stale).await, Err(GatewayError::Rejected(_))), "{backend}: no expiry");
        let unsigned = rig.browser.post(format!("{}/api/orders/{}/close", rig.sandbox_url, "P20260101000013"));
        assert_eq!(unsigned.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "{backend}");
    }
}

#[tokio::test]
async fn a_refund_is_taken_once_and_notified_signed_once_the_money_is_back() {
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db, 0).await;
        let txn_id = rig.paid_order("P20260101000021", 1000).await;
        let request = rig.refund("RF0001", "P20260101000021", &txn_id, 400, 1000);

        let RefundState::Processing { refund_id } = rig.client.refund(&request).await.unwrap() else {
            panic!("{backend}: a refund is accepted as processing");
        };
        assert!(refund_id.starts_with("SBXR"), "{backend}: {refund_id}");
        let again = rig.client.refund(&request).await.unwrap();
        assert_eq!(again, RefundState::Processing { refund_id: refund_id.clone() }, "{backend}: a retry is the same");
        assert_eq!(
            rig.client.query_refund("RF0001").await.unwrap(),
            RefundState::Processing { refund_id: refund_id.clone() },
            "{backend}"
        );

        let (headers, body) = rig.next_delivery().await;
        let notification = rig.client.verify_refund(&headers, &body, now()).expect("the refund notification verifies");
        assert_eq!((notification.refund_no.as_str(), notification.order_no.as_str()), ("RF0001", "P20260101000021"));
        let RefundState::Succeeded { refund_id: notified_id, succeeded_at } = notification.state.clone() else {
            panic!("{backend}: the notification says succeeded, not {:?}", notification.state);
        };
        assert_eq!(notified_id, refund_id, "{backend}");
        assert!(now().abs_diff(succeeded_at) < 60, "{backend}");
        assert_eq!(
            rig.client.query_refund("RF0001").await.unwrap(),
            RefundState::Succeeded { refund_id: refund_id.clone(), succeeded_at },
            "{backend}: the query agrees"
        );
        assert!(rig.client.verify(&headers, &body, now()).is_err(), "{backend}: not a payment notification");
        // The retried request after success answers the refund as it stands and notifies nobody again.
        assert!(matches!(rig.client.refund(&request).await.unwrap(), RefundState::Succeeded { .. }), "{backend}");
        rig.no_further_delivery().await;
        assert_eq!(rig.client.query_refund("RF9999").await.unwrap(), RefundState::NotFound, "{backend}");
    }
}

#[tokio::test]
async fn refunds_never_exceed_what_the_payment_took() {
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db.clone(), 0).await;
        let txn_id = rig.paid_order("P20260101000022", 1000).await;
        let refund = |no: &str, fen: i64| rig.refund(no, "P20260101000022", &txn_id, fen, 1000);
        let rejected = |answer: Result<RefundState, GatewayError>, code: &str, what: &str| match answer {
            Err(GatewayError::Rejected(reason)) => assert!(reason.contains(code), "{backend}: {what}: {reason}"),
            other => panic!("{backend}: {what} must be refused, got {other:?}"),
        };

        assert!(matches!(rig.client.refund(&refund("RF0002", 600)).await, Ok(RefundState::Processing { .. })));
        rejected(rig.client.refund(&refund("RF0003", 401)).await, "400", "more than remains");
        rejected(rig.client.refund(&refund("RF0002", 500)).await, "409", "a refund number reused for another amount");
        rejected(rig.client.refund(&refund("RF0004", 0)).await, "400", "nothing");
        assert!(matches!(rig.client.refund(&refund("RF0005", 400)).await, Ok(RefundState::Processing { .. })));
        rejected(rig.client.refund(&refund("RF0006", 1)).await, "400", "anything once all is refunded");

        let wrong_txn = rig.refund("RF0007", "P20260101000022", "SBXNOTTHISONE", 1, 1000);
        rejected(rig.client.refund(&wrong_txn).await, "400", "another transaction");
        let wrong_total = rig.refund("RF0008", "P20260101000022", &txn_id, 1, 2000);
        rejected(rig.client.refund(&wrong_total).await, "400", "another total");
        rejected(rig.client.refund(&rig.refund("RF0009", "P20260101009997", &txn_id, 1, 1000)).await, "404", "unknown");
        let pending = rig.order("P20260101000023", 500);
        rig.client.create(&pending).await.unwrap();
        rejected(rig.client.refund(&rig.refund("RF0010", "P20260101000023", "", 500, 500)).await, "400", "unpaid");

        let refunded: Vec<String> = sqlx::query_scalar("SELECT refund_no FROM sandbox_refunds ORDER BY refund_no")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(refunded, ["RF0002", "RF0005"], "{backend}: only the refunds that fit were taken");

        let body = serde_json::to_vec(&refund("RF0011", 1)).unwrap();
        let unsigned = rig.browser.post(format!("{}/api/refunds", rig.sandbox_url)).body(body).send().await.unwrap();
        assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED, "{backend}");
        let impostor = SandboxClient::new(rig.sandbox_url.as_str(), rig.sandbox_url.as_str(), b"guessed".as_slice());
        assert!(matches!(impostor.query_refund("RF0002").await, Err(GatewayError::Rejected(_))), "{backend}");
        assert!(matches!(impostor.refund(&refund("RF0012", 1)).await, Err(GatewayError::Rejected(_))), "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_of_one_payment_together_stay_within_it() {
    for (backend, db) in fresh_databases().await {
        let mut rig = Rig::start(db, 0).await;
        let txn_id = rig.paid_order("P20260101000024", 1000).await;
        let requests: Vec<_> =
            (0..6).map(|i| rig.refund(&format!("RFC{i}"), "P20260101000024", &txn_id, 300, 1000)).collect();
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|request| {
                let url = rig.sandbox_url.clone();
                tokio::spawn(
                    async move { SandboxClient::new(url.as_str(), url.as_str(), SECRET).refund(&request).await },
                )
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let taken = answers.iter().filter(|a| matches!(a, Ok(RefundState::Processing { .. }))).count();
        assert_eq!(taken, 3, "{backend}: 3 × 3.00 fit in 10.00, the rest are refused: {answers:?}");
        assert!(answers.iter().all(|a| a.is_ok() || matches!(a, Err(GatewayError::Rejected(_)))), "{backend}");
    }
}

fn paid_body() -> Vec<u8> {
    br#"{"order_no":"P1","txn_id":"SBX01","amount_fen":1234,"state":"paid"}"#.to_vec()
}

#[test]
fn verify_refuses_a_tampered_body_a_missing_header_and_a_stale_timestamp() {
    let client = SandboxClient::new("http://127.0.0.1:9", "http://127.0.0.1:9", SECRET);
    let now = now();
    let body = paid_body();
    let headers = signature_headers(SECRET, &body, now);
    let notification = client.verify(&headers, &body, now).unwrap();
    assert_eq!((notification.amount_fen, notification.paid, notification.txn_id.as_str()), (1234, true, "SBX01"));

    let tampered = String::from_utf8(body.clone()).unwrap().replace("1234", "1");
    assert_eq!(client.verify(&headers, tampered.as_bytes(), now), Err(NotifyError::BadSignature));
    for header in [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER] {
        let mut missing = headers.clone();
        missing.remove(header);
        assert_eq!(client.verify(&missing, &body, now), Err(NotifyError::Unsigned), "without {header}");
    }
    let mut garbled = headers.clone();
    garbled.insert(SIGNATURE_HEADER, HeaderValue::from_static("not-hex"));
    assert_eq!(client.verify(&garbled, &body, now), Err(NotifyError::BadSignature));

    let ten_minutes_old = signature_headers(SECRET, &body, now - 600);
    assert_eq!(client.verify(&ten_minutes_old, &body, now), Err(NotifyError::Stale));
    let from_the_future = signature_headers(SECRET, &body, now + 600);
    assert_eq!(client.verify(&from_the_future, &body, now), Err(NotifyError::Stale));

    let pending = br#"{"order_no":"P1","txn_id":null,"amount_fen":1234,"state":"pending"}"#;
    assert_eq!(client.verify(&signature_headers(SECRET, pending, now), pending, now), Err(NotifyError::Malformed));
    let paid_without_txn = br#"{"order_no":"P1","txn_id":null,"amount_fen":1234,"state":"paid"}"#;
    let headers = signature_headers(SECRET, paid_without_txn, now);
    assert_eq!(client.verify(&headers, paid_without_txn, now), Err(NotifyError::Malformed));
}

#[test]
fn verify_refund_refuses_tampering_and_what_is_not_a_finished_refund() {
    let client = SandboxClient::new("http://127.0.0.1:9", "http://127.0.0.1:9", SECRET);
    let now = now();
    let body = br#"{"refund_no":"RF1","order_no":"P1","state":"succeeded","refund_id":"SBXR1","amount_fen":100,"succeeded_at":1}"#;
    let headers = signature_headers(SECRET, body, now);
    let notification = client.verify_refund(&headers, body, now).unwrap();
    assert_eq!(notification.state, RefundState::Succeeded { refund_id: "SBXR1".into(), succeeded_at: 1 });

    let tampered = String::from_utf8(body.to_vec()).unwrap().replace("RF1", "RF2");
    assert_eq!(client.verify_refund(&headers, tampered.as_bytes(), now), Err(NotifyError::BadSignature));
    let forged = signature_headers(b"not-the-shared-secret", body, now);
    assert_eq!(client.verify_refund(&forged, body, now), Err(NotifyError::BadSignature));
    assert_eq!(client.verify_refund(&HeaderMap::new(), body, now), Err(NotifyError::Unsigned));
    let stale = signature_headers(SECRET, body, now - 600);
    assert_eq!(client.verify_refund(&stale, body, now), Err(NotifyError::Stale));
    let payment = paid_body();
    let signed = signature_headers(SECRET, &payment, now);
    assert_eq!(client.verify_refund(&signed, &payment, now), Err(NotifyError::Malformed), "a payment notification");
    let processing = br#"{"refund_no":"RF1","order_no":"P1","state":"processing","refund_id":"SBXR1","amount_fen":100,"succeeded_at":null}"#;
    let signed = signature_headers(SECRET, processing, now);
    assert_eq!(client.verify_refund(&signed, processing, now), Err(NotifyError::Malformed), "not finished");
}

#[test]
fn sign_is_deterministic_over_timestamp_nonce_and_body() {
    let body = br#"{"order_no":"X1"}"#;
    // HMAC-SHA256("sandbox-secret", "1700000000\nabc123\n{body}"), computed independently.
    let expected = "31ed9c9d2ae8dc86ddcd527e7eddc98b673247dad5fb0a040217d8f4db907f64";
    assert_eq!(sign(b"sandbox-secret", 1_700_000_000, "abc123", body), expected);
    assert_eq!(sign(b"sandbox-secret", 1_700_000_000, "abc123", body), expected);
    assert_ne!(sign(b"sandbox-secret", 1_700_000_001, "abc123", body), expected);
    assert_ne!(sign(b"sandbox-secret", 1_700_000_000, "abc124", body), expected);
    assert_ne!(sign(b"other-secret", 1_700_000_000, "abc123", body), expected);
}

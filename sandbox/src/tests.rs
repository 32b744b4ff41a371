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
use app::platform::gateway::{Checkout, GatewayError, GatewayOrder, GatewayState, NotifyError, PaymentGateway};
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

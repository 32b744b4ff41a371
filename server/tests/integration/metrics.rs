//! Metrics and request ids (issue 19): the Prometheus text on its own listener, never on the public router, whose
//! series move with the requests, notifications, messages and imports of a test; and the `X-Request-Id` each answer
//! carries. The recorder is one per process and every test's servers count into it, so these tests compare a
//! series before and after their own steps (the suite runs one test at a time).

use std::collections::HashMap;

use app::import::{import_csv, ImportError, Kind};
use app::platform::config::DEV_PAYMENT_SECRET;

use crate::payments::{notify, open_order, to_cashier, OVERDUE};
use crate::support::{TestApp, ZHANG_SAN};

/// The metrics text, as Prometheus scrapes it.
async fn scrape(app: &TestApp) -> String {
    let answer = reqwest::get(format!("{}/metrics", app.metrics)).await.unwrap();
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    answer.text().await.unwrap()
}

/// The sum of every sample of series `name` whose labels include `labels` (0 when there is none).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, label_text) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            (series_name == name).then_some((label_text, value))
        })
        .filter(|(label_text, _)| {
            let found: HashMap<&str, &str> = label_text
                .split("\",")
                .filter_map(|pair| pair.split_once("=\""))
                .map(|(k, v)| (k, v.trim_end_matches('"')))
                .collect();
            labels.iter().all(|(k, v)| found.get(k) == Some(v))
        })
        .map(|(_, value)| value.parse::<f64>().unwrap())
        .sum()
}

/// How much each named series grew between two scrapes.
fn grew(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(after, name, labels) - sample(before, name, labels)
}

const PAYMENT_NOTIFICATIONS: &str = "payment_notifications_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_requests_notifications_messages_and_imports_and_read_payments_from_the_database() {
    for (db, app) in TestApp::each_with_demo().await {
        let client = reqwest::Client::new();
        let before = scrape(&app).await;
        for _ in 0..2 {
            assert_eq!(client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200, "{db}");
        }
        let pkg = client.get(format!("{}/pkg/no-such-file.js", app.base)).send().await.unwrap();
        assert_eq!(pkg.status(), 404, "{db}");
        // A path that carries personal data is counted, under the shared label, never by itself.
        let unknown = format!("{}/no/such/page/{}", app.base, ZHANG_SAN.id_number);
        assert_eq!(client.get(unknown).send().await.unwrap().status(), 404, "{db}");

        // 实名认证 sends one verification code through the development outbox.
        let browser = app.linked_browser("icbc", "metrics", &ZHANG_SAN).await;
        to_cashier(&browser, OVERDUE).await;
        let (order_no, amount) = open_order(&app, OVERDUE).await;
        // The open order has waited ten minutes for its notification: the reconciliation lag says so.
        sqlx::query("UPDATE payment_orders SET created_at = created_at - 600 WHERE order_no = $1")
            .bind(&order_no)
            .execute(app.db.pool())
            .await
            .unwrap();
        let waiting = scrape(&app).await;
        let lag = sample(&waiting, "payment_reconciliation_lag_seconds", &[]);
        assert!((600.0..700.0).contains(&lag), "{db}: lag {lag}");
        assert_eq!(sample(&waiting, "payment_orders", &[("state", "open"), ("channel", "icbc")]), 1.0, "{db}");

        let body = format!(r#"{{"order_no":"{order_no}","txn_id":"TXN-M1","amount_fen":{amount},"state":"paid"}}"#);
        let unsigned = client.post(format!("{}/pay/notify/icbc", app.base)).body(body.clone()).send().await.unwrap();
        assert_eq!(unsigned.status(), 401, "{db}");
        assert_eq!(notify(&app, "m-forged", &body, "not-the-secret-at-all").await.status(), 401, "{db}");
        assert_eq!(notify(&app, "m-1", &body, DEV_PAYMENT_SECRET).await.text().await.unwrap(), "success", "{db}");
        assert_eq!(notify(&app, "m-1", &body, DEV_PAYMENT_SECRET).await.text().await.unwrap(), "success", "{db}");

        let imported = import_csv(
            &app.db,
            Kind::Cards,
            "card_no,id_number,name,phone,status\n6222009900009010,210202198503122018,张三,13804110001,active\n"
                .as_bytes(),
            "test",
        )
        .await;
        assert!(imported.is_ok(), "{db}: {imported:?}");
        let bad = "card_no,id_number,name,phone,status\n1,2,3,4,5\n6,7,8,9,0\n";
        let refused = import_csv(&app.db, Kind::Cards, bad.as_bytes(), "test").await;
        assert!(matches!(refused, Err(ImportError::Rows(_))), "{db}: {refused:?}");

        let after = scrape(&app).await;
        let healthz = [("route", "/healthz"), ("method", "GET"), ("status", "2xx")];
        assert_eq!(grew(&before, &after, "http_requests_total", &healthz), 2.0, "{db}");
        assert_eq!(grew(&before, &after, "http_request_duration_seconds_count", &healthz), 2.0, "{db}");
        assert!(sample(&after, "http_request_duration_seconds_bucket", &[("route", "/healthz"), ("le", "10")]) >= 2.0);
        let pkg = [("route", "/pkg/{*file}"), ("status", "4xx")];
        assert_eq!(grew(&before, &after, "http_requests_total", &pkg), 1.0, "{db}");
        let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "4xx")];
        assert_eq!(grew(&before, &after, "http_requests_total", &unmatched), 1.0, "{db}");
        assert!(!after.contains(ZHANG_SAN.id_number) && !after.contains("/no/such"), "{db}: a raw path in a label");
        let notify_route = [("route", "/pay/notify/{channel}"), ("method", "POST")];
        assert_eq!(grew(&before, &after, "http_requests_total", &notify_route), 4.0, "{db}");

        let payment =
            |outcome, reason| [("kind", "payment"), ("channel", "icbc"), ("outcome", outcome), ("reason", reason)];
        assert_eq!(grew(&before, &after, PAYMENT_NOTIFICATIONS, &payment("refused", "unsigned")), 1.0, "{db}");
        assert_eq!(grew(&before, &after, PAYMENT_NOTIFICATIONS, &payment("refused", "bad_signature")), 1.0, "{db}");
        assert_eq!(grew(&before, &after, PAYMENT_NOTIFICATIONS, &payment("accepted", "paid")), 1.0, "{db}");
        assert_eq!(grew(&before, &after, PAYMENT_NOTIFICATIONS, &payment("accepted", "replayed")), 1.0, "{db}");

        // The gauges are the database's: the order is paid, none is open, so nothing lags.
        let paid_icbc =
            app.count("SELECT COUNT(*) FROM payment_orders WHERE state = 'paid' AND channel = 'icbc'").await;
        assert!(paid_icbc >= 1, "{db}");
        assert_eq!(sample(&after, "payment_orders", &[("state", "paid"), ("channel", "icbc")]), paid_icbc as f64);
        assert_eq!(sample(&after, "payment_orders", &[("state", "open")]), 0.0, "{db}");
        assert_eq!(sample(&after, "payment_orders", &[("state", "expired"), ("channel", "wechat")]), 0.0, "{db}");
        assert!(after.contains(r#"payment_orders{state="expired",channel="wechat"} 0"#), "{db}: every pair is there");
        assert_eq!(sample(&after, "payment_reconciliation_lag_seconds", &[]), 0.0, "{db}");

        let sms = [("sender", "dev_outbox"), ("outcome", "sent")];
        assert_eq!(grew(&before, &after, "sms_messages_total", &sms), 1.0, "{db}");
        let rows = |outcome| [("kind", "cards"), ("outcome", outcome)];
        assert_eq!(grew(&before, &after, "import_rows_total", &rows("inserted")), 1.0, "{db}");
        assert_eq!(grew(&before, &after, "import_rows_total", &rows("refused")), 2.0, "{db}");

        let writer_max = if db == "sqlite" { 8.0 } else { 16.0 };
        assert_eq!(sample(&after, "db_pool_max_connections", &[("pool", "writer")]), writer_max, "{db}");
        assert!(sample(&after, "db_pool_connections", &[("pool", "writer")]) >= 1.0, "{db}");
        assert!(sample(&after, "db_pool_connections", &[("pool", "reader")]) >= 1.0, "{db}");
        assert_eq!(sample(&after, "db_pool_max_connections", &[("pool", "reader")]), 8.0, "{db}");
    }
}

#[tokio::test]
async fn the_metrics_are_not_on_the_public_router() {
    for (db, app) in TestApp::each().await {
        let public = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
        assert_eq!(public.status(), 404, "{db}");
        assert!(!public.text().await.unwrap().contains("http_requests_total"), "{db}");
        assert!(scrape(&app).await.contains("http_requests_total"), "{db}: the metrics listener has them");
    }
}

#[tokio::test]
async fn every_answer_carries_the_callers_request_id_or_a_new_one() {
    for (db, app) in TestApp::each().await {
        let client = reqwest::Client::new();
        let id = |answer: &reqwest::Response| answer.headers()["x-request-id"].to_str().unwrap().to_string();
        let given = "lb-7f3a9c2e.42";
        let answer = client.get(format!("{}/healthz", app.base)).header("x-request-id", given).send().await.unwrap();
        assert_eq!(id(&answer), given, "{db}");
        // Pages and 404s too.
        let answer = client.get(format!("{}/no/such/page", app.base)).header("x-request-id", given).send().await;
        assert_eq!(id(&answer.unwrap()), given, "{db}");

        let (first, second) = (
            id(&client.get(format!("{}/healthz", app.base)).send().await.unwrap()),
            id(&client.get(format!("{}/", app.base)).send().await.unwrap()),
        );
        for made in [&first, &second] {
            assert!(made.len() == 16 && made.bytes().all(|b| b.is_ascii_hexdigit()), "{db}: {made}");
        }
        assert_ne!(first, second, "{db}: each request gets its own");
        // An id that is too long or not a plain token is replaced, not echoed into the logs.
        for unsafe_id in ["a".repeat(65), "x y".to_string(), "13804110001;drop".to_string()] {
            let answer = client.get(format!("{}/healthz", app.base)).header("x-request-id", &unsafe_id).send().await;
            let made = id(&answer.unwrap());
            assert!(made != unsafe_id && made.len() == 16, "{db}: {unsafe_id:?} came back as {made}");
        }
    }
}

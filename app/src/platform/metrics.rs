//! The operators' metrics: one process-wide recorder (the `metrics` facade with its Prometheus exporter), the
//! request counter and latency histogram every route passes through, and one small function per thing an area
//! counts, so the areas name what happened and this file names the series. The server serves `render()` on its own
//! listener (`METRICS_ADDR`), never on the public router.
//!
//! Labels hold codes only: the route's pattern (never the raw path, which can carry a decision number or a plate),
//! a method, a status class, a channel, a reason. Nothing personal is ever a label.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::db::Db;

/// Requests answered, by route, method and status class.
pub const REQUESTS: &str = "http_requests_total";
/// Time to each answer's headers, by route, method and status class.
pub const REQUEST_SECONDS: &str = "http_request_duration_seconds";
/// Open connections of each of the database's pools (`writer`: transactions and writes; `reader`: page reads).
pub const POOL_CONNECTIONS: &str = "db_pool_connections";
/// Idle connections of each pool.
pub const POOL_IDLE: &str = "db_pool_idle_connections";
/// The most connections each pool opens.
pub const POOL_MAX: &str = "db_pool_max_connections";
/// Payment orders in the database, by state and channel.
pub const PAYMENT_ORDERS: &str = "payment_orders";
/// The age of the oldest open payment order: how far reconciliation lags (0 with none open).
pub const RECONCILIATION_LAG: &str = "payment_reconciliation_lag_seconds";
/// Gateway notifications, by kind (payment, refund), channel, outcome (accepted, refused) and reason.
pub const NOTIFICATIONS: &str = "payment_notifications_total";
/// Text messages, by sender (dev_outbox, vendor) and outcome (sent, failed, retried).
pub const SMS: &str = "sms_messages_total";
/// Rows of imported files, by kind and outcome (inserted, updated, refused).
pub const IMPORT_ROWS: &str = "import_rows_total";

/// The label of every path no route matched (a static file of the site root, a 404), so unknown paths share one.
pub const UNMATCHED: &str = "unmatched";

/// Request latency buckets in seconds: pages answer in milliseconds, a slow gateway call in seconds.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static EXPORTER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder the first time, and returns its exporter. Until it is installed every count is
/// dropped (unit tests, the command-line tools); once it is, every server in the process counts into it, so tests
/// that share a process assert on how a series changes.
pub fn install() -> &'static PrometheusHandle {
    EXPORTER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed in this process");
        describe();
        handle
    })
}

/// Every series in Prometheus' text format.
pub fn render() -> String {
    let exporter = install();
    exporter.run_upkeep();
    exporter.render()
}

fn describe() {
    describe_counter!(REQUESTS, "Requests answered, by route pattern, method and status class.");
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Time to each answer's headers, by route, method, status class."
    );
    describe_gauge!(POOL_CONNECTIONS, "Open connections of each database pool.");
    describe_gauge!(POOL_IDLE, "Idle connections of each database pool.");
    describe_gauge!(POOL_MAX, "The most connections each database pool opens.");
    describe_gauge!(PAYMENT_ORDERS, "Payment orders in the database, by state and channel.");
    describe_gauge!(RECONCILIATION_LAG, Unit::Seconds, "Age of the oldest open payment order (0 with none).");
    describe_counter!(NOTIFICATIONS, "Gateway notifications, by kind, channel, outcome and reason.");
    describe_counter!(SMS, "Text messages, by sender and outcome.");
    describe_counter!(IMPORT_ROWS, "Rows of imported files, by kind and outcome.");
}

/// The folders of static files served by nested services (`/pkg`, `/videos`), each counted as one route.
pub type StaticFolders = std::sync::Arc<[String]>;

/// Counts and times every request under its route's pattern. Paths under one of `folders` (static files served
/// by a nested service, which axum gives no pattern) count as `FOLDER/{*file}`; other unmatched paths as `UNMATCHED`.
pub async fn track_requests(State(folders): State<StaticFolders>, request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    let route = route_label(matched, request.uri().path(), &folders);
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    record_request(route, method, response.status(), started.elapsed());
    response
}

/// The route label of a request: its pattern, never the path itself.
pub fn route_label(matched: Option<&str>, path: &str, folders: &[String]) -> String {
    if let Some(matched) = matched {
        return matched.to_string();
    }
    match folders.iter().find(|folder| path.strip_prefix(folder.as_str()).is_some_and(|rest| rest.starts_with('/'))) {
        Some(folder) => format!("{folder}/{{*file}}"),
        None => UNMATCHED.to_string(),
    }
}

/// The method label: the standard methods by name, anything else as `other` (a client picks the method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

fn record_request(route: String, method: &'static str, status: StatusCode, elapsed: Duration) {
    let status = status_class(status);
    counter!(REQUESTS, "route" => route.clone(), "method" => method, "status" => status).increment(1);
    histogram!(REQUEST_SECONDS, "route" => route, "method" => method, "status" => status).record(elapsed.as_secs_f64());
}

/// The database pools' use now, read when the metrics are scraped.
pub fn record_pools(db: &Db) {
    for pool in db.pool_use() {
        gauge!(POOL_CONNECTIONS, "pool" => pool.name).set(pool.size as f64);
        gauge!(POOL_IDLE, "pool" => pool.name).set(pool.idle as f64);
        gauge!(POOL_MAX, "pool" => pool.name).set(pool.max as f64);
    }
}

/// How many payment orders of `channel` are in `state`, as the database says at scrape time.
pub fn record_payment_orders(state: &'static str, channel: &'static str, orders: i64) {
    gauge!(PAYMENT_ORDERS, "state" => state, "channel" => channel).set(orders as f64);
}

/// The age in seconds of the oldest open payment order (0 with none open).
pub fn record_reconciliation_lag(seconds: i64) {
    gauge!(RECONCILIATION_LAG).set(seconds.max(0) as f64);
}

/// Which gateway notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Payment,
    Refund,
}

impl Notice {
    fn code(self) -> &'static str {
        match self {
            Notice::Payment => "payment",
            Notice::Refund => "refund",
        }
    }
}

/// A verified notification the app stored (answered 2xx); `reason` says what it did (`paid`, `replayed`, …).
pub fn notification_accepted(kind: Notice, channel: &'static str, reason: &'static str) {
    counter!(NOTIFICATIONS, "kind" => kind.code(), "channel" => channel, "outcome" => "accepted", "reason" => reason)
        .increment(1);
}

/// A notification the app refused or could not store; `reason` says why (`bad_signature`, `stale`, `store_failed`, …).
pub fn notification_refused(kind: Notice, channel: &'static str, reason: &'static str) {
    counter!(NOTIFICATIONS, "kind" => kind.code(), "channel" => channel, "outcome" => "refused", "reason" => reason)
        .increment(1);
}

/// One text message's outcome: `sender` is `dev_outbox` or `vendor`, `outcome` `sent`, `failed` or `retried`.
pub fn sms(sender: &'static str, outcome: &'static str) {
    counter!(SMS, "sender" => sender, "outcome" => outcome).increment(1);
}

/// `rows` rows of an imported file of `kind` that were `outcome` (`inserted`, `updated`, `refused`).
pub fn import_rows(kind: &'static str, outcome: &'static str, rows: usize) {
    if rows > 0 {
        counter!(IMPORT_ROWS, "kind" => kind, "outcome" => outcome).increment(rows as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_label_is_the_pattern_a_static_folder_or_unmatched_never_the_path() {
        let folders = &["/pkg".to_string(), "/videos".to_string()];
        assert_eq!(route_label(Some("/receipt/{order_no}"), "/receipt/P2026120300001", folders), "/receipt/{order_no}");
        assert_eq!(route_label(None, "/pkg/app.abc123.wasm", folders), "/pkg/{*file}");
        assert_eq!(route_label(None, "/pkgs/x", folders), UNMATCHED);
        assert_eq!(route_label(None, "/violations/辽B12345", folders), UNMATCHED);
    }

    #[test]
    fn status_classes_and_unknown_methods_stay_few() {
        assert_eq!(status_class(StatusCode::OK), "2xx");
        assert_eq!(status_class(StatusCode::SEE_OTHER), "3xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}

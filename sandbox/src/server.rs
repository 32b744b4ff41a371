//! The gateway's side: the merchant API, the cashier and the notifications, served on their own port.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use app::domain::CivilDate;
use app::platform::db::Db;
use app::platform::gateway::{GatewayOrder, RefundRequest, StatementLine};
use app::platform::now;
use app::platform::session::random_token;

use crate::cashier::{cashier_page, not_found_page};
use crate::protocol::{
    check_signature, signature_headers, CreatedOrder, DailyStatement, NotificationBody, OrderStatus, Outcome,
    RefundProgress, RefundStatus, ReportedState,
};

/// The longest an order may stay payable.
const MAX_PAYABLE_SECS: i64 = 24 * 3600;

/// Deliveries after the first before a notification is given up; the app then learns the result by querying.
const NOTIFY_RETRIES: u32 = 5;

/// How long after it is accepted a refund's money goes back and its notification is sent, as a real gateway
/// answers `PROCESSING` first; long enough for a test to settle the refund itself and so stop the notification.
const REFUND_SETTLES_AFTER: Duration = Duration::from_millis(700);

/// The sandbox gateway: its orders live in `sandbox_orders`, apart from the app's own payment records.
pub struct Sandbox {
    db: Db,
    secret: Vec<u8>,
    http: reqwest::Client,
}

/// One row of `sandbox_orders`.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) order_no: String,
    pub(crate) amount_fen: i64,
    pub(crate) subject: String,
    pub(crate) notify_url: String,
    pub(crate) return_url: String,
    pub(crate) state: ReportedState,
    pub(crate) txn_id: Option<String>,
    pub(crate) paid_at: Option<i64>,
}

const ORDER_COLUMNS: &str =
    "SELECT order_no, amount_fen, subject, notify_url, return_url, state, txn_id, paid_at, expires_at FROM sandbox_orders";

impl Order {
    fn from_row(row: &AnyRow) -> Self {
        Self {
            order_no: row.get("order_no"),
            amount_fen: row.get("amount_fen"),
            subject: row.get("subject"),
            notify_url: row.get("notify_url"),
            return_url: row.get("return_url"),
            // The table's CHECK admits only these four states; a pending order past its expiry is closed.
            state: match row.get::<&str, _>("state") {
                "paid" => ReportedState::Paid,
                "cancelled" => ReportedState::Cancelled,
                "closed" => ReportedState::Closed,
                _ if row.get::<i64, _>("expires_at") <= now() => ReportedState::Closed,
                _ => ReportedState::Pending,
            },
            txn_id: row.get("txn_id"),
            paid_at: row.get("paid_at"),
        }
    }
}

impl Sandbox {
    /// A sandbox gateway over `db` that signs with, and requires, the shared `secret`.
    pub fn new(db: Db, secret: &[u8]) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client always builds");
        Self { db, secret: secret.to_vec(), http }
    }

    /// The gateway's routes: the merchant API under `/api` and the cashier under `/cashier`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/api/orders", post(create_order))
            .route("/api/orders/{order_no}", get(query_order))
            .route("/api/orders/{order_no}/close", post(close_order))
            .route("/api/statements/{date}", get(daily_statement))
            .route("/api/refunds", post(create_refund))
            .route("/api/refunds/{refund_no}", get(query_refund))
            .route("/cashier/{order_no}", get(cashier))
            .route("/cashier/{order_no}/pay", post(pay))
            .route("/cashier/{order_no}/cancel", post(cancel))
            .with_state(Arc::new(self))
    }

    async fn load(&self, order_no: &str) -> Result<Option<Order>, sqlx::Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ORDER_COLUMNS} WHERE order_no = $1")))
            .bind(order_no)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(Order::from_row))
    }

    /// The order's state as a signed answer.
    async fn answer_status(&self, order_no: String) -> Response {
        let status = match self.load(&order_no).await {
            Ok(Some(order)) => OrderStatus {
                order_no: order.order_no,
                state: order.state,
                txn_id: order.txn_id,
                amount_fen: Some(order.amount_fen),
                paid_at: order.paid_at,
            },
            Ok(None) => {
                OrderStatus { order_no, state: ReportedState::NotFound, txn_id: None, amount_fen: None, paid_at: None }
            }
            Err(e) => return unavailable(e),
        };
        self.signed_json(&status)
    }

    /// A JSON answer signed like every merchant API answer, so the app can trust what it reads.
    fn signed_json(&self, value: &impl Serialize) -> Response {
        let body = serde_json::to_vec(value).expect("an answer always serialises");
        let mut headers = signature_headers(&self.secret, &body, now());
        headers.insert(CONTENT_TYPE, "application/json".parse().expect("a valid content type"));
        (headers, body).into_response()
    }

    /// Ends a pending order as `outcome` and starts its notification; returns the order as it now stands.
    async fn settle(self: Arc<Self>, order_no: String, outcome: Outcome) -> Result<Option<Order>, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        // Conditional on 'pending' and unexpired, so a repeated or racing click changes nothing and notifies nobody
        // twice, and a closed or expired order takes no money.
        let now = now();
        let changed = match outcome {
            Outcome::Paid => sqlx::query(
                "UPDATE sandbox_orders SET state = 'paid', txn_id = $1, paid_at = $2 \
                 WHERE order_no = $3 AND state = 'pending' AND expires_at > $2",
            )
            .bind(format!("SBX{}", &random_token()[..24].to_uppercase()))
            .bind(now)
            .bind(&order_no),
            Outcome::Cancelled => sqlx::query(
                "UPDATE sandbox_orders SET state = 'cancelled' WHERE order_no = $1 AND state = 'pending' AND expires_at > $2",
            )
            .bind(&order_no)
            .bind(now),
        }
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ORDER_COLUMNS} WHERE order_no = $1")))
            .bind(&order_no)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let order = row.as_ref().map(Order::from_row);
        if let (true, Some(order)) = (changed, &order) {
            tokio::spawn(self.clone().notify(order.clone()));
        }
        Ok(order)
    }

    /// Posts the signed result to the order's notify URL until the app answers `success`, backing off 1 s, 2 s,
    /// 4 s… between tries.
    async fn notify(self: Arc<Self>, order: Order) {
        let body = NotificationBody {
            order_no: order.order_no.clone(),
            txn_id: order.txn_id.clone(),
            amount_fen: order.amount_fen,
            state: if order.state == ReportedState::Paid { Outcome::Paid } else { Outcome::Cancelled },
            paid_at: order.paid_at,
        };
        let body = serde_json::to_vec(&body).expect("a notification always serialises");
        self.deliver_until_acknowledged(&order.notify_url, &body, &order.order_no).await;
    }

    /// Posts a signed body to `notify_url` until the app answers `success`, backing off 1 s, 2 s, 4 s… between
    /// tries; `about` names the order or refund in the log.
    async fn deliver_until_acknowledged(&self, notify_url: &str, body: &[u8], about: &str) {
        for attempt in 0..=NOTIFY_RETRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
            }
            match self.deliver(notify_url, body).await {
                Ok(()) => return,
                Err(reason) => tracing::warn!(about, attempt, %reason, "notification not acknowledged"),
            }
        }
        tracing::error!(about, "notification abandoned; the app must query");
    }

    /// A refund as the sandbox knows it, and where its notification goes.
    async fn load_refund(
        &self,
        executor: impl sqlx::Executor<'_, Database = sqlx::Any>,
        refund_no: &str,
    ) -> Result<Option<(RefundStatus, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT refund_no, order_no, refund_id, amount_fen, state, succeeded_at, notify_url FROM sandbox_refunds \
             WHERE refund_no = $1",
        )
        .bind(refund_no)
        .fetch_optional(executor)
        .await?;
        Ok(row.map(|row| {
            let status = RefundStatus {
                refund_no: row.get("refund_no"),
                order_no: row.get("order_no"),
                // The table's CHECK admits only 'processing' and 'succeeded'.
                state: if row.get::<&str, _>("state") == "succeeded" {
                    RefundProgress::Succeeded
                } else {
                    RefundProgress::Processing
                },
                refund_id: row.get("refund_id"),
                amount_fen: row.get("amount_fen"),
                succeeded_at: row.get("succeeded_at"),
            };
            (status, row.get("notify_url"))
        }))
    }

    /// Sends the money back a moment after the refund was accepted, then notifies the app once it has; a refund
    /// already settled (by a test standing in for a lost notification) notifies nobody.
    async fn settle_refund(self: Arc<Self>, refund_no: String) {
        tokio::time::sleep(REFUND_SETTLES_AFTER).await;
        let settled = sqlx::query(
            "UPDATE sandbox_refunds SET state = 'succeeded', succeeded_at = $1 WHERE refund_no = $2 AND state = 'processing'",
        )
        .bind(now())
        .bind(&refund_no)
        .execute(self.db.pool())
        .await;
        match settled {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => return,
            Err(e) => return tracing::error!(error = %e, refund_no, "sandbox refund could not be settled"),
        }
        match self.load_refund(self.db.pool(), &refund_no).await {
            Ok(Some((status, notify_url))) => {
                let body = serde_json::to_vec(&status).expect("a refund notification always serialises");
                self.deliver_until_acknowledged(&notify_url, &body, &refund_no).await;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, refund_no, "sandbox refund could not be read"),
        }
    }

    async fn deliver(&self, notify_url: &str, body: &[u8]) -> Result<(), String> {
        // A fresh timestamp and nonce per try: the app records nonces, and one that it recorded before its answer
        // was lost must not make the retry look like a replay.
        let response = self
            .http
            .post(notify_url)
            .headers(signature_headers(&self.secret, body, now()))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let answer = response.text().await.map_err(|e| e.to_string())?;
        if status.is_success() && answer.trim() == "success" {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {}", answer.chars().take(200).collect::<String>()))
        }
    }
}

fn refused(status: StatusCode, reason: &str) -> Response {
    (status, reason.to_string()).into_response()
}

fn unavailable(e: sqlx::Error) -> Response {
    tracing::error!(error = %e, "sandbox gateway storage failed");
    refused(StatusCode::SERVICE_UNAVAILABLE, "sandbox gateway storage is unavailable")
}

/// Why an order cannot be registered at `now`, if it cannot.
fn order_problem(order: &GatewayOrder, now: i64) -> Option<&'static str> {
    if !number_ok(&order.order_no) {
        Some("order_no must be 1 to 64 letters, digits, - or _")
    } else if order.amount_fen <= 0 {
        Some("amount_fen must be positive")
    } else if order.subject.trim().is_empty() || order.subject.chars().count() > 128 {
        Some("subject must be 1 to 128 characters")
    } else if !url_ok(&order.notify_url) || !url_ok(&order.return_url) {
        Some("notify_url and return_url must be http(s) URLs")
    } else if order.time_expire <= now || order.time_expire > now + MAX_PAYABLE_SECS {
        Some("time_expire must be in the future, at most a day ahead")
    } else {
        None
    }
}

/// Whether `url` may be a notify or return URL: http(s) without spaces or control characters, so it is safe in a
/// Location header and an href.
fn url_ok(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 1024
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `number` may be an order or refund number: 1 to 64 letters, digits, - or _.
fn number_ok(number: &str) -> bool {
    (1..=64).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /api/orders`: registers an order, idempotently by order number and amount.
async fn create_order(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = check_signature(&sandbox.secret, &headers, &body, now()) {
        return refused(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    let Ok(order) = serde_json::from_slice::<GatewayOrder>(&body) else {
        return refused(StatusCode::BAD_REQUEST, "body is not an order");
    };
    if let Some(problem) = order_problem(&order, now()) {
        return refused(StatusCode::BAD_REQUEST, problem);
    }
    let inserted = sqlx::query(
        "INSERT INTO sandbox_orders (order_no, amount_fen, subject, notify_url, return_url, state, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT (order_no) DO NOTHING",
    )
    .bind(&order.order_no)
    .bind(order.amount_fen)
    .bind(&order.subject)
    .bind(&order.notify_url)
    .bind(&order.return_url)
    .bind(now())
    .bind(order.time_expire)
    .execute(sandbox.db.pool())
    .await;
    if let Err(e) = inserted {
        return unavailable(e);
    }
    match sandbox.load(&order.order_no).await {
        Ok(Some(existing)) if existing.amount_fen == order.amount_fen => sandbox.signed_json(&CreatedOrder {
            cashier_path: format!("/cashier/{}", order.order_no),
            order_no: order.order_no,
        }),
        Ok(Some(_)) => refused(StatusCode::CONFLICT, "order_no already registered with a different amount"),
        Ok(None) => refused(StatusCode::SERVICE_UNAVAILABLE, "order vanished after registration"),
        Err(e) => unavailable(e),
    }
}

/// `GET /api/orders/{order_no}`: the order's state, signed; the request signs an empty body.
async fn query_order(
    State(sandbox): State<Arc<Sandbox>>,
    Path(order_no): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = check_signature(&sandbox.secret, &headers, b"", now()) {
        return refused(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    sandbox.answer_status(order_no).await
}

/// `POST /api/orders/{order_no}/close`: closes a pending order so it can no longer be paid, and answers its
/// state afterwards, signed; the request signs an empty body. A paid or cancelled order keeps its state.
async fn close_order(
    State(sandbox): State<Arc<Sandbox>>,
    Path(order_no): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = check_signature(&sandbox.secret, &headers, b"", now()) {
        return refused(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    let closed = sqlx::query("UPDATE sandbox_orders SET state = 'closed' WHERE order_no = $1 AND state = 'pending'")
        .bind(&order_no)
        .execute(sandbox.db.pool())
        .await;
    if let Err(e) = closed {
        return unavailable(e);
    }
    sandbox.answer_status(order_no).await
}

/// `GET /api/statements/{date}`: every payment taken on that Asia/Shanghai day, signed; the request signs an
/// empty body.
async fn daily_statement(
    State(sandbox): State<Arc<Sandbox>>,
    Path(date): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = check_signature(&sandbox.secret, &headers, b"", now()) {
        return refused(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    let Some(day) = CivilDate::parse(&date) else {
        return refused(StatusCode::BAD_REQUEST, "date must be YYYY-MM-DD");
    };
    let rows = sqlx::query(
        "SELECT order_no, txn_id, amount_fen, paid_at FROM sandbox_orders \
         WHERE state = 'paid' AND paid_at >= $1 AND paid_at < $2 ORDER BY paid_at, order_no",
    )
    .bind(day.shanghai_midnight())
    .bind(day.shanghai_day_end())
    .fetch_all(sandbox.db.pool())
    .await;
    let lines = match rows {
        Ok(rows) => rows
            .iter()
            .map(|row| StatementLine {
                order_no: row.get("order_no"),
                txn_id: row.get("txn_id"),
                amount_fen: row.get("amount_fen"),
                paid_at: row.get("paid_at"),
            })
            .collect(),
        Err(e) => return unavailable(e),
    };
    sandbox.signed_json(&DailyStatement { date: day.to_string(), lines })
}

/// Why a refund request cannot be taken, if it cannot (before looking at the order it refunds).
fn refund_problem(request: &RefundRequest) -> Option<&'static str> {
    if !number_ok(&request.refund_no) || !number_ok(&request.order_no) {
        Some("refund_no and order_no must be 1 to 64 letters, digits, - or _")
    } else if request.refund_fen <= 0 {
        Some("refund_fen must be positive")
    } else if request.reason.chars().count() > 80 {
        Some("reason must be at most 80 characters")
    } else if !url_ok(&request.notify_url) {
        Some("notify_url must be an http(s) URL")
    } else {
        None
    }
}

/// `POST /api/refunds`: accepts a refund of a paid order's transaction, idempotently by refund number, for at
/// most what the payment took minus its earlier refunds; answers the refund's state, signed.
async fn create_refund(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = check_signature(&sandbox.secret, &headers, &body, now()) {
        return refused(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    let Ok(request) = serde_json::from_slice::<RefundRequest>(&body) else {
        return refused(StatusCode::BAD_REQUEST, "body is not a refund request");
    };
    if let Some(problem) = refund_problem(&request) {
        return refused(StatusCode::BAD_REQUEST, problem);
    }
    match sandbox.clone().take_refund(&request).await {
        Ok(Ok(status)) => sandbox.signed_json(&status),
        Ok(Err((status, reason))) => refused(status, reason),
        Err(e) => unavailable(e),
    }
}

impl Sandbox {
    /// Records the refund under its order's lock, so refunds of one payment racing each other cannot together
    /// exceed it, and starts its settlement; a repeated request answers the refund already taken.
    async fn take_refund(
        self: Arc<Self>,
        request: &RefundRequest,
    ) -> Result<Result<RefundStatus, (StatusCode, &'static str)>, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        self.db.lock(&mut tx, &format!("sandbox-order:{}", request.order_no)).await?;
        if let Some((existing, _)) = self.load_refund(&mut *tx, &request.refund_no).await? {
            let same = existing.order_no == request.order_no && existing.amount_fen == Some(request.refund_fen);
            return Ok(if same {
                Ok(existing)
            } else {
                Err((StatusCode::CONFLICT, "refund_no already used for another order or amount"))
            });
        }
        let order = sqlx::query(sqlx::AssertSqlSafe(format!("{ORDER_COLUMNS} WHERE order_no = $1")))
            .bind(&request.order_no)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(order) = order.as_ref().map(Order::from_row) else {
            return Ok(Err((StatusCode::NOT_FOUND, "order not found")));
        };
        if order.state != ReportedState::Paid {
            return Ok(Err((StatusCode::BAD_REQUEST, "order is not paid")));
        }
        if order.txn_id.as_deref() != Some(request.txn_id.as_str()) {
            return Ok(Err((StatusCode::BAD_REQUEST, "txn_id is not the order's payment")));
        }
        if request.total_fen != order.amount_fen {
            return Ok(Err((StatusCode::BAD_REQUEST, "total_fen is not what the payment took")));
        }
        // CAST keeps the sum a 64-bit integer on PostgreSQL, whose SUM of BIGINT is NUMERIC.
        let refunded: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM sandbox_refunds WHERE order_no = $1",
        )
        .bind(&request.order_no)
        .fetch_one(&mut *tx)
        .await?;
        if refunded + request.refund_fen > order.amount_fen {
            return Ok(Err((StatusCode::BAD_REQUEST, "refund_fen exceeds what remains of the payment")));
        }
        sqlx::query(
            "INSERT INTO sandbox_refunds (refund_no, order_no, refund_id, amount_fen, reason, notify_url, state, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, 'processing', $7)",
        )
        .bind(&request.refund_no)
        .bind(&request.order_no)
        .bind(format!("SBXR{}", &random_token()[..24].to_uppercase()))
        .bind(request.refund_fen)
        .bind(&request.reason)
        .bind(&request.notify_url)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let (status, _) = self.load_refund(&mut *tx, &request.refund_no).await?.expect("the refund was just written");
        tx.commit().await?;
        tokio::spawn(self.settle_refund(request.refund_no.clone()));
        Ok(Ok(status))
    }
}

/// `GET /api/refunds/{refund_no}`: the refund's state, signed; the request signs an empty body.
async fn query_refund(
    State(sandbox): State<Arc<Sandbox>>,
    Path(refund_no): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = check_signature(&sandbox.secret, &headers, b"", now()) {
        return refused(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    match sandbox.load_refund(sandbox.db.pool(), &refund_no).await {
        Ok(Some((status, _))) => sandbox.signed_json(&status),
        Ok(None) => sandbox.signed_json(&RefundStatus {
            refund_no,
            order_no: String::new(),
            state: RefundProgress::NotFound,
            refund_id: None,
            amount_fen: None,
            succeeded_at: None,
        }),
        Err(e) => unavailable(e),
    }
}

/// `GET /cashier/{order_no}`.
async fn cashier(State(sandbox): State<Arc<Sandbox>>, Path(order_no): Path<String>) -> Response {
    match sandbox.load(&order_no).await {
        Ok(Some(order)) => Html(cashier_page(&order)).into_response(),
        Ok(None) => not_found_page(),
        Err(e) => unavailable(e),
    }
}

/// `POST /cashier/{order_no}/pay`.
async fn pay(State(sandbox): State<Arc<Sandbox>>, Path(order_no): Path<String>) -> Response {
    finish(sandbox, order_no, Outcome::Paid).await
}

/// `POST /cashier/{order_no}/cancel`.
async fn cancel(State(sandbox): State<Arc<Sandbox>>, Path(order_no): Path<String>) -> Response {
    finish(sandbox, order_no, Outcome::Cancelled).await
}

async fn finish(sandbox: Arc<Sandbox>, order_no: String, outcome: Outcome) -> Response {
    // Its own task, so a browser that goes away mid-request cannot stop a committed payment short of notifying.
    match tokio::spawn(sandbox.settle(order_no, outcome)).await {
        Ok(Ok(Some(order))) => Redirect::to(&order.return_url).into_response(),
        Ok(Ok(None)) => not_found_page(),
        Ok(Err(e)) => unavailable(e),
        Err(e) => {
            tracing::error!(error = %e, "sandbox cashier task failed");
            refused(StatusCode::INTERNAL_SERVER_ERROR, "sandbox cashier failed")
        }
    }
}

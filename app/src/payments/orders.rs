//! Payment orders: opening one per decision, applying the gateway's word, reconciling, receipts. Every state
//! change is one transaction with a conditional update, so retries, double clicks and repeated notifications
//! cannot charge or apply a fine twice.

use rand::Rng;
use sqlx::{Any, Row, Transaction};

use super::gateway::{GatewayState, Notification, PaymentGateway};
use super::model::{method_name, OrderState, Receipt};
use crate::domain::{CivilDate, Fen};
use crate::identity::model::Channel;
use crate::platform::audit::{self, Actor};
use crate::platform::db::Db;
use crate::platform::{now, shanghai_time};
use crate::violations::rules;

/// How long an order (and its amount) stays payable.
pub const ORDER_TTL_SECS: i64 = 15 * 60;
/// How old an open order must be before reconciliation asks the gateway about it.
pub const RECONCILE_AFTER_SECS: i64 = 60;

/// Who is paying.
#[derive(Debug, Clone, Copy)]
pub struct Payer {
    /// The signed-in account; `None` for a guest paying by decision number.
    pub account_id: Option<i64>,
    pub channel: Channel,
}

/// An order ready for the cashier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOrder {
    pub order_no: String,
    pub amount: Fen,
    pub decision_no: String,
}

/// Why an order was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("未找到该处罚决定书")]
    NotFound,
    #[error("该罚款已缴纳，无需重复缴费")]
    AlreadyPaid,
    #[error("应缴金额已更新为{0}元，请确认后再缴费")]
    AmountChanged(Fen),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn new_order_no(today: CivilDate) -> String {
    let date = today.to_string().replace('-', "");
    format!("P{date}{:010}", rand::rng().random_range(0..10_000_000_000u64))
}

/// Opens the decision's one open order, or returns the one already open (its amount unchanged until it
/// expires). `shown_total` is the total the confirmation page displayed: a different total today is refused
/// so the user is never charged other than what they saw.
pub async fn open_order(db: &Db, decision_no: &str, payer: Payer, shown_total: Fen) -> Result<OpenOrder, OpenError> {
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("decision:{decision_no}")).await?;
    let row = sqlx::query("SELECT fine_fen, decided_on, paid FROM violations WHERE decision_no = $1")
        .bind(decision_no)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(OpenError::NotFound)?;
    if row.get::<i64, _>(2) == 1 {
        return Err(OpenError::AlreadyPaid);
    }
    let now = now();
    let open = sqlx::query(
        "SELECT order_no, amount_fen, expires_at FROM payment_orders WHERE decision_no = $1 AND state = 'open'",
    )
    .bind(decision_no)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(open) = open {
        let (order_no, amount, expires_at): (String, i64, i64) = (open.get(0), open.get(1), open.get(2));
        // Reused only while it still charges what the page showed; otherwise a fresh order replaces it.
        if expires_at > now && amount == shown_total.fen() {
            tx.commit().await?;
            return Ok(OpenOrder { order_no, amount: Fen::new(amount), decision_no: decision_no.to_string() });
        }
        sqlx::query("UPDATE payment_orders SET state = 'expired' WHERE order_no = $1 AND state = 'open'")
            .bind(&order_no)
            .execute(&mut *tx)
            .await?;
    }
    // An unreadable decision date is a fault in the data, not a missing decision: it must not become a charge.
    let unreadable =
        || OpenError::Database(sqlx::Error::Decode(format!("decision {decision_no} has no due date").into()));
    let decided_on = CivilDate::parse(row.get::<&str, _>(1)).ok_or_else(unreadable)?;
    let today = CivilDate::shanghai_today_from_epoch(now);
    let due = rules::amount_due(Fen::new(row.get(0)), decided_on, today).ok_or_else(unreadable)?;
    if due.total != shown_total {
        return Err(OpenError::AmountChanged(due.total));
    }
    let order_no = new_order_no(today);
    sqlx::query(
        "INSERT INTO payment_orders (order_no, decision_no, account_id, channel, fine_fen, late_fee_fen, amount_fen, \
         state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)",
    )
    .bind(&order_no)
    .bind(decision_no)
    .bind(payer.account_id)
    .bind(payer.channel.code())
    .bind(due.fine.fen())
    .bind(due.late_fee.fen())
    .bind(due.total.fen())
    .bind(now)
    .bind(now + ORDER_TTL_SECS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(OpenOrder { order_no, amount: due.total, decision_no: decision_no.to_string() })
}

/// What a verified notification or query did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The fine is now paid by this order.
    Paid,
    /// Already applied (a repeated notification or a query after one).
    AlreadyApplied,
    /// The user cancelled at the cashier; the fine stays payable.
    Cancelled,
    /// The same nonce was seen before: nothing changed.
    Replayed,
    /// Money arrived that cannot be applied; recorded for an operator to settle.
    Exception(&'static str),
}

/// Applies a verified notification once; its nonce is recorded in the same transaction.
pub async fn apply_notification(db: &Db, notification: &Notification) -> Result<Applied, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let fresh =
        sqlx::query("INSERT INTO payment_nonces (nonce, seen_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING")
            .bind(&notification.nonce)
            .bind(now())
            .execute(&mut *tx)
            .await?;
    if fresh.rows_affected() == 0 {
        return Ok(Applied::Replayed);
    }
    let outcome = if notification.paid {
        let paid_at = notification.paid_at.unwrap_or_else(now);
        apply_paid(db, &mut tx, &notification.order_no, &notification.txn_id, notification.amount_fen, paid_at).await?
    } else {
        apply_cancelled(&mut tx, &notification.order_no).await?
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn apply_cancelled(tx: &mut Transaction<'static, Any>, order_no: &str) -> Result<Applied, sqlx::Error> {
    sqlx::query("UPDATE payment_orders SET state = 'cancelled' WHERE order_no = $1 AND state = 'open'")
        .bind(order_no)
        .execute(&mut **tx)
        .await?;
    Ok(Applied::Cancelled)
}

async fn record_exception(
    tx: &mut Transaction<'static, Any>,
    order_no: &str,
    kind: &'static str,
    amount_fen: i64,
    detail: &str,
) -> Result<Applied, sqlx::Error> {
    tracing::warn!(order_no, kind, amount_fen, detail, "payment exception recorded");
    sqlx::query(
        "INSERT INTO payment_exceptions (order_no, kind, amount_fen, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(order_no)
    .bind(kind)
    .bind(amount_fen)
    .bind(detail)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(Applied::Exception(kind))
}

/// The gateway says `order_no` was paid `amount_fen` under `txn_id` at `paid_at`: mark the order and the fine
/// paid, once. The order keeps the gateway's payment time, so a payment taken just before Asia/Shanghai midnight
/// but applied just after falls on the same day in the app as in the gateway's daily statement.
async fn apply_paid(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    order_no: &str,
    txn_id: &str,
    amount_fen: i64,
    paid_at: i64,
) -> Result<Applied, sqlx::Error> {
    let Some(order) = sqlx::query(
        "SELECT decision_no, amount_fen, state, txn_id, account_id, channel FROM payment_orders WHERE order_no = $1",
    )
    .bind(order_no)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return record_exception(tx, order_no, "unknown_order", amount_fen, txn_id).await;
    };
    let (decision_no, expected, state, paid_txn): (String, i64, String, Option<String>) =
        (order.get(0), order.get(1), order.get(2), order.get(3));
    if amount_fen != expected {
        let detail = format!("expected {expected} fen, gateway reported {amount_fen} fen, txn {txn_id}");
        return record_exception(tx, order_no, "wrong_amount", amount_fen, &detail).await;
    }
    match OrderState::parse(&state) {
        Some(OrderState::Paid) if paid_txn.as_deref() == Some(txn_id) => return Ok(Applied::AlreadyApplied),
        Some(OrderState::Paid) => {
            return record_exception(tx, order_no, "duplicate_payment", amount_fen, txn_id).await;
        }
        Some(OrderState::Cancelled | OrderState::Expired) => {
            return record_exception(tx, order_no, "paid_after_close", amount_fen, txn_id).await;
        }
        Some(OrderState::Open) | None => {}
    }
    db.lock(tx, &format!("decision:{decision_no}")).await?;
    let fine = sqlx::query("UPDATE violations SET paid = 1, updated_at = $1 WHERE decision_no = $2 AND paid = 0")
        .bind(now())
        .bind(&decision_no)
        .execute(&mut **tx)
        .await?;
    if fine.rows_affected() != 1 {
        return record_exception(tx, order_no, "duplicate_payment", amount_fen, txn_id).await;
    }
    let receipt_no = format!("R{}", &order_no[1..]);
    sqlx::query(
        "UPDATE payment_orders SET state = 'paid', paid_at = $1, txn_id = $2, receipt_no = $3 \
         WHERE order_no = $4 AND state = 'open'",
    )
    .bind(paid_at)
    .bind(txn_id)
    .bind(&receipt_no)
    .bind(order_no)
    .execute(&mut **tx)
    .await?;
    let (account_id, channel): (Option<i64>, String) = (order.get(4), order.get(5));
    let actor = match account_id {
        Some(id) => Actor::Account { id, channel: &channel },
        None => Actor::Operator("guest-payment"),
    };
    audit::record(
        tx,
        actor,
        "payment.paid",
        &decision_no,
        &format!("order {order_no}, {amount_fen} fen, txn {txn_id}"),
    )
    .await?;
    Ok(Applied::Paid)
}

/// Asks the gateway about one open order and applies its answer; used by the result page and reconciliation.
pub async fn reconcile_order(
    db: &Db,
    gateway: &dyn PaymentGateway,
    order_no: &str,
) -> Result<Option<Applied>, sqlx::Error> {
    let state = match gateway.query(order_no).await {
        Ok(state) => state,
        Err(e) => {
            tracing::warn!(order_no, error = %e, "gateway query failed");
            return Ok(None);
        }
    };
    let mut tx = db.begin_write().await?;
    let applied = match state {
        GatewayState::Paid { txn_id, amount_fen, paid_at } => {
            Some(apply_paid(db, &mut tx, order_no, &txn_id, amount_fen, paid_at).await?)
        }
        GatewayState::Cancelled => Some(apply_cancelled(&mut tx, order_no).await?),
        GatewayState::Pending | GatewayState::NotFound => {
            sqlx::query("UPDATE payment_orders SET state = 'expired' WHERE order_no = $1 AND state = 'open' AND expires_at <= $2")
                .bind(order_no)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            None
        }
    };
    tx.commit().await?;
    Ok(applied)
}

/// Reconciles every order left open for a while; returns how many it looked at.
pub async fn reconcile(db: &Db, gateway: &dyn PaymentGateway) -> Result<usize, sqlx::Error> {
    let rows = sqlx::query("SELECT order_no FROM payment_orders WHERE state = 'open' AND created_at <= $1 LIMIT 200")
        .bind(now() - RECONCILE_AFTER_SECS)
        .fetch_all(db.pool())
        .await?;
    for row in &rows {
        reconcile_order(db, gateway, row.get::<&str, _>(0)).await?;
    }
    Ok(rows.len())
}

/// An order as stored.
#[derive(Debug, Clone)]
pub struct StoredOrder {
    pub order_no: String,
    pub decision_no: String,
    pub account_id: Option<i64>,
    pub amount: Fen,
    pub state: OrderState,
    pub receipt_no: Option<String>,
}

/// One order by number.
pub async fn order(db: &Db, order_no: &str) -> Result<Option<StoredOrder>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT order_no, decision_no, account_id, amount_fen, state, receipt_no FROM payment_orders WHERE order_no = $1",
    )
    .bind(order_no)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|row| StoredOrder {
        order_no: row.get(0),
        decision_no: row.get(1),
        account_id: row.get(2),
        amount: Fen::new(row.get(3)),
        state: OrderState::parse(row.get::<&str, _>(4)).unwrap_or(OrderState::Open),
        receipt_no: row.get(5),
    }))
}

/// A receipt, with the account that paid it (for the caller's authorisation check).
pub async fn receipt(db: &Db, receipt_no: &str) -> Result<Option<(Receipt, Option<i64>)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT o.receipt_no, o.decision_no, x.plate, x.behaviour, o.fine_fen, o.late_fee_fen, o.amount_fen, o.paid_at, \
         o.channel, o.txn_id, o.account_id \
         FROM payment_orders o JOIN violations x ON x.decision_no = o.decision_no \
         WHERE o.receipt_no = $1 AND o.state = 'paid'",
    )
    .bind(receipt_no)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|row| {
        let channel = Channel::parse(row.get::<&str, _>(8)).unwrap_or(Channel::Icbc);
        let receipt = Receipt {
            receipt_no: row.get(0),
            decision_no: row.get(1),
            plate: row.get(2),
            behaviour: row.get(3),
            fine: Fen::new(row.get(4)).to_string(),
            late_fee: Fen::new(row.get(5)).to_string(),
            total: Fen::new(row.get(6)).to_string(),
            paid_at: row.get::<Option<i64>, _>(7).map(shanghai_time).unwrap_or_default(),
            method: method_name(channel).to_string(),
            txn_id: row.get::<Option<String>, _>(9).unwrap_or_default(),
        };
        (receipt, row.get(10))
    }))
}

/// Receipt numbers of the fines an account has paid, newest first.
pub async fn receipts_of(db: &Db, account_id: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT receipt_no, decision_no FROM payment_orders WHERE account_id = $1 AND state = 'paid' ORDER BY paid_at DESC",
    )
    .bind(account_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

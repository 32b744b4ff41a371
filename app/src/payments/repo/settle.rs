//! Applying the gateway's word to payment orders: notifications, queries, closing orders, reconciliation.
//!
//! Every change to a decision's orders and its fine happens under the decision's lock, taken before the order is
//! read, so a notification, a result page's query and another instance's reconciliation of the same payment see
//! each other's result instead of racing. An order reaches a final state the first time the gateway reports money
//! for it, and each of the gateway's transactions is recorded at most once.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::super::model::OrderState;
use super::super::rules::{self, Exception, FineFacts, OrderFacts, Settlement};
use crate::domain::Channel;
use crate::domain::{CivilDate, Fen};
use crate::platform::audit::{self, Actor};
use crate::platform::db::{Backend, Db};
use crate::platform::gateway::{GatewayState, Gateways, Notification, PaymentGateway};
use crate::platform::now;

/// How long after it was opened, or last asked about, reconciliation asks the gateway about an open order.
pub const RECONCILE_AFTER_SECS: i64 = 60;

/// What a verified notification or query did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The fine is now paid by this order.
    Paid,
    /// Already applied or recorded (a repeated notification, or a query after one).
    AlreadyApplied,
    /// The order ended without payment (cancelled by the payer, or closed); the fine stays payable.
    Closed,
    /// The same nonce was seen before: nothing changed.
    Replayed,
    /// Money arrived that cannot be applied; recorded for an operator to settle.
    Exception(Exception),
}

/// An order as read under its decision's lock: the facts the rule decides on, and who paid it for the audit row.
struct LockedOrder {
    order_no: String,
    decision_no: String,
    account_id: Option<i64>,
    channel: String,
    facts: OrderFacts,
}

impl LockedOrder {
    fn from_row(order_no: &str, row: &AnyRow) -> Result<Self, sqlx::Error> {
        // The decision's columns are NULL only when its row is missing, a fault in the data: no money can pay it.
        let fine = match row.try_get::<Option<i64>, _>("fine_fen")? {
            Some(fine_fen) => Some(FineFacts {
                fine: Fen::new(fine_fen),
                decided_on: row.try_get::<Option<String>, _>("decided_on")?.as_deref().and_then(CivilDate::parse),
                paid: row.try_get::<Option<i64>, _>("fine_paid")? == Some(1),
            }),
            None => None,
        };
        let facts = OrderFacts {
            state: OrderState::parse(row.try_get::<&str, _>("state")?),
            amount: Fen::new(row.try_get("amount_fen")?),
            txn_id: row.try_get("txn_id")?,
            fine,
        };
        Ok(LockedOrder {
            order_no: order_no.to_string(),
            decision_no: row.try_get("decision_no")?,
            account_id: row.try_get("account_id")?,
            channel: row.try_get("channel")?,
            facts,
        })
    }
}

/// Takes the lock of the order's decision, then reads the order and its fine, so what it reads is what the lock
/// protects.
async fn lock_order(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    order_no: &str,
) -> Result<Option<LockedOrder>, sqlx::Error> {
    // An order's decision never changes, so it can be read before the lock.
    let decision = sqlx::query("SELECT decision_no FROM payment_orders WHERE order_no = $1")
        .bind(order_no)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(decision) = decision else { return Ok(None) };
    db.lock(tx, &format!("decision:{}", decision.try_get::<&str, _>("decision_no")?)).await?;
    let row = sqlx::query(
        "SELECT o.decision_no, o.amount_fen, o.state, o.txn_id, o.account_id, o.channel, \
         v.fine_fen, v.decided_on, v.paid AS fine_paid \
         FROM payment_orders o LEFT JOIN violations v ON v.decision_no = o.decision_no WHERE o.order_no = $1",
    )
    .bind(order_no)
    .fetch_one(&mut **tx)
    .await?;
    LockedOrder::from_row(order_no, &row).map(Some)
}

/// Records a notification's nonce in the caller's transaction: false when it was seen before (a replay).
pub(super) async fn first_sighting(tx: &mut Transaction<'static, Any>, nonce: &str) -> Result<bool, sqlx::Error> {
    let fresh =
        sqlx::query("INSERT INTO payment_nonces (nonce, seen_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING")
            .bind(nonce)
            .bind(now())
            .execute(&mut **tx)
            .await?;
    Ok(fresh.rows_affected() > 0)
}

/// Applies a verified notification once; its nonce is recorded in the same transaction.
pub async fn apply_notification(db: &Db, notification: &Notification) -> Result<Applied, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if !first_sighting(&mut tx, &notification.nonce).await? {
        return Ok(Applied::Replayed);
    }
    let state = if notification.paid {
        GatewayState::Paid {
            txn_id: notification.txn_id.clone(),
            amount_fen: notification.amount_fen,
            paid_at: notification.paid_at.unwrap_or_else(now),
        }
    } else {
        GatewayState::Cancelled
    };
    let outcome = apply_state(db, &mut tx, &notification.order_no, &state).await?;
    tx.commit().await?;
    Ok(outcome.unwrap_or(Applied::AlreadyApplied))
}

/// Applies what the gateway says of an order in its own transaction.
async fn settle_order(db: &Db, order_no: &str, state: &GatewayState) -> Result<Option<Applied>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let applied = apply_state(db, &mut tx, order_no, state).await?;
    tx.commit().await?;
    Ok(applied)
}

/// Reads the facts of `order_no`, lets `rules::settle` decide what the gateway's `state` does, and applies that;
/// `None` when nothing changed.
async fn apply_state(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    order_no: &str,
    state: &GatewayState,
) -> Result<Option<Applied>, sqlx::Error> {
    let order = lock_order(db, tx, order_no).await?;
    let settlement = rules::settle(order.as_ref().map(|o| &o.facts), state);
    // Only a report of money leads the rule to pay or refund; the other reports carry none.
    let (txn_id, amount_fen, paid_at) = match state {
        GatewayState::Paid { txn_id, amount_fen, paid_at } => (txn_id.as_str(), *amount_fen, *paid_at),
        _ => ("", 0, 0),
    };
    Ok(match (settlement, order) {
        (Settlement::NoChange, _) => None,
        (Settlement::AlreadyApplied, _) => Some(Applied::AlreadyApplied),
        (Settlement::Refund { exception, .. }, None) => {
            Some(record_exception(tx, order_no, exception, amount_fen, txn_id, txn_id).await?)
        }
        (Settlement::Refund { exception, close }, Some(order)) => {
            if close {
                close_in_app(tx, &order, OrderState::Cancelled).await?;
            }
            let detail = match exception {
                Exception::WrongAmount => {
                    format!(
                        "expected {} fen, gateway reported {amount_fen} fen, txn {txn_id}",
                        order.facts.amount.fen()
                    )
                }
                _ => txn_id.to_string(),
            };
            Some(record_exception(tx, order_no, exception, amount_fen, txn_id, &detail).await?)
        }
        (Settlement::Close(end), Some(order)) => Some(close_in_app(tx, &order, end).await?),
        (Settlement::Pay, Some(order)) => Some(pay_fine(tx, &order, txn_id, amount_fen, paid_at).await?),
        // The rule closes or pays only an order that exists.
        (Settlement::Close(_) | Settlement::Pay, None) => None,
    })
}

/// Ends an open order without payment; an order already ended keeps its state.
async fn close_in_app(
    tx: &mut Transaction<'static, Any>,
    order: &LockedOrder,
    state: OrderState,
) -> Result<Applied, sqlx::Error> {
    sqlx::query("UPDATE payment_orders SET state = $1 WHERE order_no = $2 AND state = 'open'")
        .bind(state.code())
        .bind(&order.order_no)
        .execute(&mut **tx)
        .await?;
    Ok(Applied::Closed)
}

/// Records money that cannot be applied, once per order and transaction.
async fn record_exception(
    tx: &mut Transaction<'static, Any>,
    order_no: &str,
    exception: Exception,
    amount_fen: i64,
    txn_id: &str,
    detail: &str,
) -> Result<Applied, sqlx::Error> {
    let kind = exception.code();
    let recorded = sqlx::query(
        "INSERT INTO payment_exceptions (order_no, kind, amount_fen, detail, created_at, txn_id) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_no, txn_id) DO NOTHING",
    )
    .bind(order_no)
    .bind(kind)
    .bind(amount_fen)
    .bind(detail)
    .bind(now())
    .bind(txn_id)
    .execute(&mut **tx)
    .await?;
    if recorded.rows_affected() == 0 {
        return Ok(Applied::AlreadyApplied);
    }
    tracing::warn!(order_no, kind, amount_fen, detail, "payment exception recorded");
    Ok(Applied::Exception(exception))
}

/// Marks the fine and the order paid, once. The order keeps the gateway's payment time, so a payment taken just
/// before Asia/Shanghai midnight but applied just after falls on the same day in the app as in the gateway's
/// daily statement. The fine's update stays conditional, so money can never pay a fine twice.
async fn pay_fine(
    tx: &mut Transaction<'static, Any>,
    order: &LockedOrder,
    txn_id: &str,
    amount_fen: i64,
    paid_at: i64,
) -> Result<Applied, sqlx::Error> {
    let order_no = order.order_no.as_str();
    let fine = sqlx::query("UPDATE violations SET paid = 1, updated_at = $1 WHERE decision_no = $2 AND paid = 0")
        .bind(now())
        .bind(&order.decision_no)
        .execute(&mut **tx)
        .await?;
    if fine.rows_affected() != 1 {
        close_in_app(tx, order, OrderState::Cancelled).await?;
        return record_exception(tx, order_no, Exception::DuplicatePayment, amount_fen, txn_id, txn_id).await;
    }
    let receipt_no = format!("R{}", &order_no[1..]);
    sqlx::query(
        "UPDATE payment_orders SET state = 'paid', paid_at = $1, txn_id = $2, receipt_no = $3 WHERE order_no = $4",
    )
    .bind(paid_at)
    .bind(txn_id)
    .bind(&receipt_no)
    .bind(order_no)
    .execute(&mut **tx)
    .await?;
    let actor = match order.account_id {
        Some(id) => Actor::Account { id, channel: &order.channel },
        None => Actor::Operator("guest-payment"),
    };
    let detail = format!("order {order_no}, {amount_fen} fen, txn {txn_id}");
    audit::record(tx, actor, "payment.paid", &order.decision_no, &detail).await?;
    crate::export::record(tx, crate::export::Kind::Payments, order_no, None, None).await?;
    Ok(Applied::Paid)
}

/// The gateway of the channel `order_no` was opened on; `None` for an order the app does not have.
async fn order_gateway<'g>(
    db: &Db,
    gateways: &'g Gateways,
    order_no: &str,
) -> Result<Option<&'g dyn PaymentGateway>, sqlx::Error> {
    let channel: Option<String> = sqlx::query_scalar("SELECT channel FROM payment_orders WHERE order_no = $1")
        .bind(order_no)
        .fetch_optional(db.pool())
        .await?;
    Ok(channel.as_deref().and_then(Channel::parse).map(|c| gateways.get(c).as_ref()))
}

/// Closes an open order at its channel's gateway, then in the app by the gateway's answer (paid, if the payment
/// came first). False when the gateway could not be asked, so the order may still be paid there.
pub async fn close_order(db: &Db, gateways: &Gateways, order_no: &str) -> Result<bool, sqlx::Error> {
    let Some(gateway) = order_gateway(db, gateways, order_no).await? else { return Ok(false) };
    match gateway.close(order_no).await {
        Ok(state) => {
            settle_order(db, order_no, &state).await?;
            Ok(state != GatewayState::Pending)
        }
        Err(e) => {
            tracing::warn!(order_no, error = %e, "gateway close failed");
            Ok(false)
        }
    }
}

/// Asks the gateway about one open order and applies its answer; an order past its expiry is closed there
/// instead, each at the gateway of the order's channel. Used by the result page and reconciliation.
pub async fn reconcile_order(db: &Db, gateways: &Gateways, order_no: &str) -> Result<Option<Applied>, sqlx::Error> {
    let row = sqlx::query("SELECT expires_at, channel FROM payment_orders WHERE order_no = $1 AND state = 'open'")
        .bind(order_no)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(channel) = Channel::parse(row.try_get::<&str, _>("channel")?) else {
        tracing::error!(order_no, "open order of an unknown channel");
        return Ok(None);
    };
    let gateway = gateways.get(channel);
    let expired = row.try_get::<i64, _>("expires_at")? <= now();
    let answer = if expired { gateway.close(order_no).await } else { gateway.query(order_no).await };
    match answer {
        Ok(GatewayState::Pending) => Ok(None),
        // Not registered while still payable: its create may be on the way.
        Ok(GatewayState::NotFound) if !expired => Ok(None),
        Ok(state) => settle_order(db, order_no, &state).await,
        Err(e) => {
            tracing::warn!(order_no, error = %e, "gateway query failed");
            Ok(None)
        }
    }
}

/// Claims the open orders not asked about for a while and reconciles them; returns how many it claimed. The claim
/// is one statement that stamps `checked_at`, so instances reconciling at once split the orders between them.
pub async fn reconcile(db: &Db, gateways: &Gateways) -> Result<usize, sqlx::Error> {
    // SQLite's UPDATE takes the one write lock; PostgreSQL's rows being claimed by another instance are skipped.
    let skip_claimed = match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let claim = format!(
        "UPDATE payment_orders SET checked_at = $1 WHERE order_no IN \
         (SELECT order_no FROM payment_orders WHERE state = 'open' AND COALESCE(checked_at, created_at) <= $2 \
         ORDER BY created_at LIMIT 200{skip_claimed}) \
         AND state = 'open' AND COALESCE(checked_at, created_at) <= $2 RETURNING order_no"
    );
    let now = now();
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(claim)).bind(now).bind(now - RECONCILE_AFTER_SECS).fetch_all(db.pool()).await?;
    for row in &rows {
        reconcile_order(db, gateways, row.try_get::<&str, _>("order_no")?).await?;
    }
    Ok(rows.len())
}

//! Refunds of payment exceptions at the gateway: sending a refund the console recorded, applying the gateway's
//! answers, notifications and query results, and reconciling refunds whose notification has not come.
//!
//! A refund only ever moves from `PROCESSING` to `SUCCEEDED` or `FAILED`, by a conditional update, so the
//! gateway's answer, a notification and another instance's query cannot undo each other.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::domain::Channel;
use crate::platform::audit::{self, Actor};
use crate::platform::db::{Backend, Db};
use crate::platform::gateway::{GatewayError, Gateways, RefundNotification, RefundRequest, RefundState};
use crate::platform::now;

/// The exception kinds whose money goes back to the payer: the app knows the order, so the channel and the
/// gateway's transaction to refund. An unknown order's money has no order in the app to refund it by.
pub const REFUNDABLE_KINDS: [&str; 3] = ["wrong_amount", "duplicate_payment", "paid_after_close"];

/// How long after it was asked for, or last asked about, reconciliation asks the gateway about a refund.
pub const RECONCILE_REFUND_AFTER_SECS: i64 = 60;

/// A refund recorded as `PROCESSING`, to be sent to its channel's gateway.
#[derive(Debug, Clone)]
pub struct PendingRefund {
    pub channel: Channel,
    pub request: RefundRequest,
}

/// The columns [`PendingRefund::from_row`] reads.
pub const PENDING_COLUMNS: &str = "refund_no, order_no, txn_id, channel, amount_fen, reason, notify_url";

impl PendingRefund {
    /// Reads a `payment_refunds` row selected with [`PENDING_COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let amount_fen: i64 = row.try_get("amount_fen")?;
        Ok(Self {
            // The app writes only known channel codes.
            channel: Channel::parse(row.try_get::<&str, _>("channel")?).unwrap_or(Channel::Icbc),
            request: RefundRequest {
                refund_no: row.try_get("refund_no")?,
                order_no: row.try_get("order_no")?,
                txn_id: row.try_get("txn_id")?,
                // The exception's whole payment goes back, so what is refunded is what that payment took.
                refund_fen: amount_fen,
                total_fen: amount_fen,
                reason: row.try_get("reason")?,
                notify_url: row.try_get("notify_url")?,
            },
        })
    }
}

/// Where a refund stands in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStage {
    Processing,
    Succeeded,
    Failed,
}

impl RefundStage {
    /// The stored code (`payment_refunds.state`).
    pub fn code(self) -> &'static str {
        match self {
            RefundStage::Processing => "PROCESSING",
            RefundStage::Succeeded => "SUCCEEDED",
            RefundStage::Failed => "FAILED",
        }
    }

    /// Reads a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        [RefundStage::Processing, RefundStage::Succeeded, RefundStage::Failed].into_iter().find(|s| s.code() == code)
    }
}

/// What a verified refund notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundApplied {
    /// The refund reached a final state.
    Ended(RefundStage),
    /// The refund had already ended, or the notification says nothing final.
    NoChange,
    /// No refund of the app has that number (or it is of another order).
    Unknown,
    /// The same nonce was seen before: nothing changed.
    Replayed,
}

/// Records what the gateway says of a refund: the gateway's refund id, and an ending once. Returns the stage the
/// refund is in afterwards.
async fn record_state(
    tx: &mut Transaction<'static, Any>,
    refund_no: &str,
    state: &RefundState,
) -> Result<Option<RefundStage>, sqlx::Error> {
    let (stage, refund_id, failure, succeeded_at) = match state {
        RefundState::Processing { refund_id } => (RefundStage::Processing, Some(refund_id.as_str()), None, None),
        RefundState::Succeeded { refund_id, succeeded_at } => {
            (RefundStage::Succeeded, Some(refund_id.as_str()), None, Some(*succeeded_at))
        }
        RefundState::Failed { refund_id, reason } => {
            (RefundStage::Failed, Some(refund_id.as_str()), Some(reason.as_str()), None)
        }
        // A gateway that does not know the refund says nothing of it.
        RefundState::NotFound => (RefundStage::Processing, None, None, None),
    };
    let changed = sqlx::query(
        "UPDATE payment_refunds SET state = $1, gateway_refund_id = COALESCE($2, gateway_refund_id), \
         failure = $3, succeeded_at = $4, updated_at = $5 WHERE refund_no = $6 AND state = 'PROCESSING'",
    )
    .bind(stage.code())
    .bind(refund_id.filter(|id| !id.is_empty()))
    .bind(failure)
    .bind(succeeded_at)
    .bind(now())
    .bind(refund_no)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 1 && stage != RefundStage::Processing {
        let detail = format!("refund {refund_no}: {}", stage.code());
        audit::record(tx, Actor::Operator("payment-gateway"), "payment.refund.ended", refund_no, &detail).await?;
        tracing::info!(refund_no, state = stage.code(), "refund ended");
    }
    let stored: Option<String> = sqlx::query_scalar("SELECT state FROM payment_refunds WHERE refund_no = $1")
        .bind(refund_no)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(stored.as_deref().and_then(RefundStage::parse))
}

/// Applies one answer about a refund in its own transaction.
async fn apply(db: &Db, refund_no: &str, state: &RefundState) -> Result<Option<RefundStage>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let stage = record_state(&mut tx, refund_no, state).await?;
    tx.commit().await?;
    Ok(stage)
}

/// Sends a recorded refund to its channel's gateway and records the answer. A refusal fails the refund (no money
/// moved; an operator must act); an unreachable gateway leaves it `PROCESSING` for reconciliation to resend,
/// which the refund number makes safe.
pub async fn send_refund(db: &Db, gateways: &Gateways, refund: &PendingRefund) -> Result<RefundStage, sqlx::Error> {
    let refund_no = refund.request.refund_no.as_str();
    let answer = gateways.get(refund.channel).refund(&refund.request).await;
    let state = match answer {
        Ok(state) => state,
        Err(GatewayError::Rejected(reason)) => {
            tracing::warn!(refund_no, %reason, "gateway refused the refund");
            RefundState::Failed { refund_id: String::new(), reason }
        }
        Err(e) => {
            tracing::warn!(refund_no, error = %e, "refund not confirmed by the gateway; reconciliation will ask");
            return Ok(RefundStage::Processing);
        }
    };
    Ok(apply(db, refund_no, &state).await?.unwrap_or(RefundStage::Processing))
}

/// Applies a verified refund notification once; its nonce is recorded in the same transaction.
pub async fn apply_refund_notification(
    db: &Db,
    notification: &RefundNotification,
) -> Result<RefundApplied, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if !super::settle::first_sighting(&mut tx, &notification.nonce).await? {
        return Ok(RefundApplied::Replayed);
    }
    let row = sqlx::query("SELECT order_no, state FROM payment_refunds WHERE refund_no = $1")
        .bind(&notification.refund_no)
        .fetch_optional(&mut *tx)
        .await?;
    // A signed notification about another order's refund must not end this one.
    let Some(row) = row.filter(|r| r.try_get::<&str, _>("order_no").ok() == Some(notification.order_no.as_str()))
    else {
        tx.commit().await?;
        return Ok(RefundApplied::Unknown);
    };
    let before = RefundStage::parse(row.try_get::<&str, _>("state")?);
    let after = record_state(&mut tx, &notification.refund_no, &notification.state).await?;
    tx.commit().await?;
    Ok(match after {
        Some(stage) if before == Some(RefundStage::Processing) && stage != RefundStage::Processing => {
            RefundApplied::Ended(stage)
        }
        _ => RefundApplied::NoChange,
    })
}

/// Claims the refunds still `PROCESSING` that were not asked about for a while and asks their gateway; a refund
/// the gateway never received is sent again. Returns how many it claimed. The claim stamps `checked_at` in one
/// statement, so instances reconciling at once split the refunds between them.
pub async fn reconcile_refunds(db: &Db, gateways: &Gateways) -> Result<usize, sqlx::Error> {
    let skip_claimed = match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let claim = format!(
        "UPDATE payment_refunds SET checked_at = $1 WHERE refund_no IN \
         (SELECT refund_no FROM payment_refunds WHERE state = 'PROCESSING' AND COALESCE(checked_at, created_at) <= $2 \
         ORDER BY created_at LIMIT 200{skip_claimed}) \
         AND state = 'PROCESSING' AND COALESCE(checked_at, created_at) <= $2 RETURNING {PENDING_COLUMNS}"
    );
    let now = now();
    let rows = sqlx::query(sqlx::AssertSqlSafe(claim))
        .bind(now)
        .bind(now - RECONCILE_REFUND_AFTER_SECS)
        .fetch_all(db.pool())
        .await?;
    for row in &rows {
        let refund = PendingRefund::from_row(row)?;
        let refund_no = refund.request.refund_no.as_str();
        match gateways.get(refund.channel).query_refund(refund_no).await {
            Ok(RefundState::NotFound) => {
                send_refund(db, gateways, &refund).await?;
            }
            Ok(state) => {
                apply(db, refund_no, &state).await?;
            }
            Err(e) => tracing::warn!(refund_no, error = %e, "gateway refund query failed"),
        }
    }
    Ok(rows.len())
}

//! Payment orders: opening one per decision, and reading orders and receipts. Every state change is one
//! transaction with a conditional update, so retries and double clicks cannot open or charge twice; applying the
//! gateway's word is in `settle`.

use rand::Rng;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::super::model::{method_name, OrderState, Receipt};
use crate::domain::{CivilDate, Fen};
use crate::identity::model::Channel;
use crate::platform::db::Db;
use crate::platform::gateway::Gateways;
use crate::platform::{now, shanghai_time};
use crate::violations::rules;

/// How long an order (and its amount) stays payable; the gateway is told the same expiry.
pub const ORDER_TTL_SECS: i64 = 15 * 60;
/// How many times opening an order closes a stale one and looks again before giving up.
const REPLACE_ATTEMPTS: usize = 3;

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
    /// When it stops being payable, epoch seconds.
    pub expires_at: i64,
    /// The channel it was opened on, whose gateway takes it.
    pub channel: Channel,
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
    /// A stale order could not be closed at the gateway, so no replacement is opened beside it.
    #[error("支付服务暂不可用，请稍后再试")]
    GatewayUnavailable,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

crate::error::database_is_the_fault!(OpenError);

fn new_order_no(today: CivilDate) -> String {
    let date = today.to_string().replace('-', "");
    format!("P{date}{:010}", rand::rng().random_range(0..10_000_000_000u64))
}

/// Opens the decision's one open order, or returns the one already open (its amount unchanged until it
/// expires). `shown_total` is the total the confirmation page displayed: a different total today is refused
/// so the user is never charged other than what they saw. An order that expired or charges another amount is
/// closed at the gateway before its replacement opens, so its cashier page can no longer take money.
pub async fn open_order(
    db: &Db,
    gateways: &Gateways,
    decision_no: &str,
    payer: Payer,
    shown_total: Fen,
) -> Result<OpenOrder, OpenError> {
    for _ in 0..REPLACE_ATTEMPTS {
        match open_or_find_stale(db, decision_no, payer, shown_total).await? {
            Ok(order) => return Ok(order),
            // Outside the transaction: a gateway call must not hold the decision's lock.
            Err(stale) => {
                if !super::settle::close_order(db, gateways, &stale).await? {
                    return Err(OpenError::GatewayUnavailable);
                }
            }
        }
    }
    Err(OpenError::GatewayUnavailable)
}

/// Opens or reuses the order in one transaction, or names the stale open order that must be closed first.
async fn open_or_find_stale(
    db: &Db,
    decision_no: &str,
    payer: Payer,
    shown_total: Fen,
) -> Result<Result<OpenOrder, String>, OpenError> {
    let mut tx = db.begin_write().await?;
    db.lock(&mut tx, &format!("decision:{decision_no}")).await?;
    let row = sqlx::query("SELECT fine_fen, decided_on, paid FROM violations WHERE decision_no = $1")
        .bind(decision_no)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(OpenError::NotFound)?;
    if row.try_get::<i64, _>("paid")? == 1 {
        return Err(OpenError::AlreadyPaid);
    }
    let now = now();
    let open = sqlx::query(
        "SELECT order_no, amount_fen, expires_at, channel FROM payment_orders WHERE decision_no = $1 AND state = 'open'",
    )
    .bind(decision_no)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(open) = open {
        let order_no: String = open.try_get("order_no")?;
        let (amount, expires_at): (i64, i64) = (open.try_get("amount_fen")?, open.try_get("expires_at")?);
        // Reused only while it still charges what the page showed; otherwise a fresh order replaces it.
        if expires_at > now && amount == shown_total.fen() {
            tx.commit().await?;
            let decision_no = decision_no.to_string();
            let channel = Channel::parse(open.try_get::<&str, _>("channel")?).unwrap_or(payer.channel);
            return Ok(Ok(OpenOrder { order_no, amount: Fen::new(amount), decision_no, expires_at, channel }));
        }
        return Ok(Err(order_no));
    }
    // An unreadable decision date is a fault in the data, not a missing decision: it must not become a charge.
    let unreadable =
        || OpenError::Database(sqlx::Error::Decode(format!("decision {decision_no} has no due date").into()));
    let decided_on = CivilDate::parse(row.try_get::<&str, _>("decided_on")?).ok_or_else(unreadable)?;
    let today = CivilDate::shanghai_today_from_epoch(now);
    let due = rules::amount_due(Fen::new(row.try_get("fine_fen")?), decided_on, today).ok_or_else(unreadable)?;
    if due.total != shown_total {
        return Err(OpenError::AmountChanged(due.total));
    }
    let order_no = new_order_no(today);
    let expires_at = now + ORDER_TTL_SECS;
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
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(OpenOrder {
        order_no,
        amount: due.total,
        decision_no: decision_no.to_string(),
        expires_at,
        channel: payer.channel,
    }))
}

/// `account_id`'s order by number while it can still be paid, to register again with its gateway.
pub async fn payable_order(db: &Db, order_no: &str, account_id: i64) -> Result<Option<OpenOrder>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT order_no, amount_fen, decision_no, expires_at, channel FROM payment_orders \
         WHERE order_no = $1 AND account_id = $2 AND state = 'open' AND expires_at > $3",
    )
    .bind(order_no)
    .bind(account_id)
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(channel) = Channel::parse(row.try_get::<&str, _>("channel")?) else { return Ok(None) };
    Ok(Some(OpenOrder {
        order_no: row.try_get("order_no")?,
        amount: Fen::new(row.try_get("amount_fen")?),
        decision_no: row.try_get("decision_no")?,
        expires_at: row.try_get("expires_at")?,
        channel,
    }))
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
    /// Money the gateway took for this order that was recorded for refund instead of paying the fine.
    pub refund_pending: bool,
}

/// One order by number.
pub async fn order(db: &Db, order_no: &str) -> Result<Option<StoredOrder>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT order_no, decision_no, account_id, amount_fen, state, receipt_no, \
         (SELECT COUNT(*) FROM payment_exceptions e WHERE e.order_no = o.order_no) AS exceptions \
         FROM payment_orders o WHERE order_no = $1",
    )
    .bind(order_no)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| StoredOrder::from_row(&row)).transpose()
}

impl StoredOrder {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(StoredOrder {
            order_no: row.try_get("order_no")?,
            decision_no: row.try_get("decision_no")?,
            account_id: row.try_get("account_id")?,
            amount: Fen::new(row.try_get("amount_fen")?),
            state: OrderState::parse(row.try_get::<&str, _>("state")?).unwrap_or(OrderState::Open),
            receipt_no: row.try_get("receipt_no")?,
            refund_pending: row.try_get::<i64, _>("exceptions")? > 0,
        })
    }
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
    let Some(row) = row else { return Ok(None) };
    let channel = Channel::parse(row.try_get::<&str, _>("channel")?).unwrap_or(Channel::Icbc);
    let receipt = Receipt {
        receipt_no: row.try_get("receipt_no")?,
        decision_no: row.try_get("decision_no")?,
        plate: row.try_get("plate")?,
        behaviour: row.try_get("behaviour")?,
        fine: Fen::new(row.try_get("fine_fen")?).to_string(),
        late_fee: Fen::new(row.try_get("late_fee_fen")?).to_string(),
        total: Fen::new(row.try_get("amount_fen")?).to_string(),
        paid_at: row.try_get::<Option<i64>, _>("paid_at")?.map(shanghai_time).unwrap_or_default(),
        method: method_name(channel).to_string(),
        txn_id: row.try_get::<Option<String>, _>("txn_id")?.unwrap_or_default(),
    };
    Ok(Some((receipt, row.try_get("account_id")?)))
}

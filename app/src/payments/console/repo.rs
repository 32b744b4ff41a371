//! The console's reads of payment orders and exceptions, and the one change it makes: settling an exception.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::model::{
    exception_kind_label, ExceptionRow, OrderFilter, OrderRow, RefundView, SettleNote, Settlement, StaleOrderRow,
};
use super::reconciliation::AppPayment;
use crate::console::auth::Staff;
use crate::domain::{CivilDate, Fen};
use crate::identity::model::Channel;
use crate::payments::model::OrderState;
use crate::payments::repo::{PendingRefund, PENDING_COLUMNS, REFUNDABLE_KINDS};
use crate::platform::audit;
use crate::platform::db::Db;
use crate::platform::{now, shanghai_time};

/// An order is 等待过久 once it is this old, even before its expiry.
pub const STALE_AFTER_SECS: i64 = 30 * 60;

/// One payment order with everything the list and the export show.
#[derive(Debug, Clone)]
pub struct ListedOrder {
    pub order_no: String,
    pub decision_no: String,
    pub channel: Channel,
    pub state: OrderState,
    pub fine: Fen,
    pub late_fee: Fen,
    pub amount: Fen,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub txn_id: Option<String>,
    pub receipt_no: Option<String>,
}

impl ListedOrder {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            order_no: row.try_get("order_no")?,
            decision_no: row.try_get("decision_no")?,
            channel: channel(row)?,
            state: state(row)?,
            fine: Fen::new(row.try_get("fine_fen")?),
            late_fee: Fen::new(row.try_get("late_fee_fen")?),
            amount: Fen::new(row.try_get("amount_fen")?),
            created_at: row.try_get("created_at")?,
            paid_at: row.try_get("paid_at")?,
            txn_id: row.try_get("txn_id")?,
            receipt_no: row.try_get("receipt_no")?,
        })
    }

    /// The order as the console's list shows it.
    pub fn row(&self) -> OrderRow {
        OrderRow {
            order_no: self.order_no.clone(),
            decision_no: self.decision_no.clone(),
            channel: self.channel,
            state: self.state,
            amount: self.amount.to_string(),
            created_at: shanghai_time(self.created_at),
            paid_at: self.paid_at.map(shanghai_time),
            txn_id: self.txn_id.clone(),
        }
    }
}

/// The row's `channel`. The app writes only known codes; an unknown one is shown as the channel most orders use.
fn channel(row: &AnyRow) -> Result<Channel, sqlx::Error> {
    Ok(Channel::parse(row.try_get::<&str, _>("channel")?).unwrap_or(Channel::Icbc))
}

/// The row's `state`; an unknown code is shown as open.
fn state(row: &AnyRow) -> Result<OrderState, sqlx::Error> {
    Ok(OrderState::parse(row.try_get::<&str, _>("state")?).unwrap_or(OrderState::Open))
}

/// The filter as a WHERE clause over `payment_orders` with its bound values in order. Only fixed text goes into
/// the SQL; every value is bound.
fn filter_clause(filter: &OrderFilter) -> (String, Vec<FilterValue>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    let mut condition = |sql: &str, value: FilterValue| {
        values.push(value);
        conditions.push(format!("{sql} ${}", values.len()));
    };
    if let Some(state) = filter.state {
        condition("state =", FilterValue::Text(state.code()));
    }
    if let Some(channel) = filter.channel {
        condition("channel =", FilterValue::Text(channel.code()));
    }
    if let Some(from) = filter.from {
        condition("created_at >=", FilterValue::Instant(from.shanghai_midnight()));
    }
    if let Some(to) = filter.to {
        condition("created_at <", FilterValue::Instant(to.shanghai_day_end()));
    }
    let clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    (clause, values)
}

enum FilterValue {
    Text(&'static str),
    Instant(i64),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    values: &[FilterValue],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for value in values {
        query = match value {
            FilterValue::Text(text) => query.bind(*text),
            FilterValue::Instant(at) => query.bind(*at),
        };
    }
    query
}

const ORDER_COLUMNS: &str = "SELECT order_no, decision_no, channel, state, fine_fen, late_fee_fen, amount_fen, \
                             created_at, paid_at, txn_id, receipt_no FROM payment_orders";

/// The orders the filter matches, newest first; at most `limit` when given.
pub async fn orders(db: &Db, filter: &OrderFilter, limit: Option<usize>) -> Result<Vec<ListedOrder>, sqlx::Error> {
    let (clause, values) = filter_clause(filter);
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let sql = format!("{ORDER_COLUMNS}{clause} ORDER BY created_at DESC, id DESC{limit}");
    let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &values).fetch_all(db.pool()).await?;
    rows.iter().map(ListedOrder::from_row).collect()
}

/// How many orders the filter matches, how many of them are paid, and the paid sum.
pub async fn totals(db: &Db, filter: &OrderFilter) -> Result<(i64, i64, Fen), sqlx::Error> {
    let (clause, values) = filter_clause(filter);
    // CAST keeps the sum a 64-bit integer on PostgreSQL, whose SUM of BIGINT is NUMERIC.
    let sql = format!(
        "SELECT COUNT(*) AS orders, COALESCE(SUM(CASE WHEN state = 'paid' THEN 1 ELSE 0 END), 0) AS paid, \
         CAST(COALESCE(SUM(CASE WHEN state = 'paid' THEN amount_fen ELSE 0 END), 0) AS BIGINT) AS paid_fen \
         FROM payment_orders{clause}"
    );
    let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &values).fetch_one(db.pool()).await?;
    Ok((row.try_get("orders")?, row.try_get("paid")?, Fen::new(row.try_get("paid_fen")?)))
}

/// The orders the app counts as paid on an Asia/Shanghai day.
pub async fn paid_on(db: &Db, date: CivilDate) -> Result<Vec<AppPayment>, sqlx::Error> {
    let rows =
        sqlx::query(PAID_ON).bind(date.shanghai_midnight()).bind(date.shanghai_day_end()).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|row| {
            Ok(AppPayment {
                order_no: row.try_get("order_no")?,
                channel: channel(row)?,
                amount_fen: row.try_get("amount_fen")?,
                txn_id: row.try_get("txn_id")?,
            })
        })
        .collect()
}

/// A day's paid orders, read along the `(state, paid_at)` index.
const PAID_ON: &str = "SELECT order_no, channel, amount_fen, txn_id FROM payment_orders \
     WHERE state = 'paid' AND paid_at >= $1 AND paid_at < $2 ORDER BY paid_at, order_no";

/// The app's channel and state of each of `order_nos` it knows.
pub async fn channels_and_states(
    db: &Db,
    order_nos: &[&str],
) -> Result<HashMap<String, (Channel, OrderState)>, sqlx::Error> {
    let mut known = HashMap::new();
    for order_no in order_nos {
        let row = sqlx::query("SELECT channel, state FROM payment_orders WHERE order_no = $1")
            .bind(*order_no)
            .fetch_optional(db.pool())
            .await?;
        if let Some(row) = row {
            known.insert(order_no.to_string(), (channel(&row)?, state(&row)?));
        }
    }
    Ok(known)
}

/// The recorded exceptions, unsettled first, then newest first, each with its refund if one was asked for.
pub async fn exceptions(db: &Db) -> Result<Vec<ExceptionRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.id, e.order_no, e.kind, e.amount_fen, e.detail, e.created_at, e.settled_at, e.settled_note, \
         e.settled_by, e.txn_id, o.order_no AS known_order, r.refund_no, r.state AS refund_state, \
         r.amount_fen AS refund_fen, r.requested_by, r.created_at AS requested_at \
         FROM payment_exceptions e LEFT JOIN payment_orders o ON o.order_no = e.order_no \
         LEFT JOIN payment_refunds r ON r.exception_id = e.id \
         ORDER BY CASE WHEN e.settled_at IS NULL THEN 0 ELSE 1 END, e.created_at DESC, e.id DESC LIMIT 200",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let settlement = match row.try_get::<Option<i64>, _>("settled_at")? {
                Some(at) => Some(Settlement {
                    at: shanghai_time(at),
                    note: row.try_get::<Option<String>, _>("settled_note")?.unwrap_or_default(),
                    by: row.try_get::<Option<String>, _>("settled_by")?.unwrap_or_default(),
                }),
                None => None,
            };
            let kind: &str = row.try_get("kind")?;
            let refund = match row.try_get::<Option<String>, _>("refund_no")? {
                Some(refund_no) => Some(RefundView {
                    refund_no,
                    state: row.try_get::<Option<String>, _>("refund_state")?.unwrap_or_default(),
                    amount: Fen::new(row.try_get::<Option<i64>, _>("refund_fen")?.unwrap_or_default()).to_string(),
                    requested_by: row.try_get::<Option<String>, _>("requested_by")?.unwrap_or_default(),
                    requested_at: shanghai_time(row.try_get::<Option<i64>, _>("requested_at")?.unwrap_or_default()),
                }),
                None => None,
            };
            let has_txn = row.try_get::<Option<String>, _>("txn_id")?.is_some_and(|t| !t.is_empty());
            let known_order = row.try_get::<Option<String>, _>("known_order")?.is_some();
            Ok(ExceptionRow {
                id: row.try_get("id")?,
                order_no: row.try_get("order_no")?,
                kind_label: exception_kind_label(kind).to_string(),
                amount: Fen::new(row.try_get("amount_fen")?).to_string(),
                detail: row.try_get("detail")?,
                created_at: shanghai_time(row.try_get("created_at")?),
                refundable: settlement.is_none() && REFUNDABLE_KINDS.contains(&kind) && has_txn && known_order,
                settlement,
                refund,
            })
        })
        .collect()
}

/// What asking for an exception's refund did.
#[derive(Debug, Clone)]
pub enum RefundStart {
    /// Recorded as `PROCESSING`: send it to the gateway now that it is committed.
    Recorded(PendingRefund),
    /// A refund was asked for before (a double click, or two operators at once): nothing changed.
    Already,
    /// Settled, of a kind that calls for no refund, or without the gateway's transaction to refund.
    NotRefundable,
    NotFound,
}

/// Records the refund of an exception's payment, once per exception, with an audit row of who asked, in one
/// transaction. The insert is conditional on the exception (unsettled, refundable, its order known) and unique
/// per exception, so racing requests record one refund; the amount is what the gateway reported taking.
pub async fn start_refund(db: &Db, staff: &Staff, id: i64, base_url: &str) -> Result<RefundStart, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let refund_no = format!("RF{}", &crate::platform::session::random_token()[..30].to_uppercase());
    let at = now();
    // The exception's order names the channel, and so the gateway and where it posts the refund's result.
    let channel: Option<String> = sqlx::query_scalar(
        "SELECT o.channel FROM payment_exceptions e JOIN payment_orders o ON o.order_no = e.order_no WHERE e.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let notify_url = channel
        .as_deref()
        .and_then(Channel::parse)
        .map(|c| format!("{}{}", base_url.trim_end_matches('/'), crate::platform::gateway::refund_notify_path(c)));
    // Only fixed text goes into the SQL: the kinds are constants.
    let kinds = REFUNDABLE_KINDS.map(|k| format!("'{k}'")).join(", ");
    let insert = format!(
        "INSERT INTO payment_refunds (refund_no, exception_id, order_no, txn_id, channel, amount_fen, reason, \
         notify_url, state, requested_by, created_at, updated_at) \
         SELECT $1, e.id, e.order_no, e.txn_id, o.channel, e.amount_fen, $2, $3, 'PROCESSING', $4, $5, $5 \
         FROM payment_exceptions e JOIN payment_orders o ON o.order_no = e.order_no \
         WHERE e.id = $6 AND e.settled_at IS NULL AND e.kind IN ({kinds}) AND e.txn_id IS NOT NULL AND e.txn_id <> '' \
         AND e.amount_fen > 0 ON CONFLICT (exception_id) DO NOTHING RETURNING {PENDING_COLUMNS}"
    );
    let row = match notify_url {
        Some(notify_url) => {
            sqlx::query(sqlx::AssertSqlSafe(insert))
                .bind(&refund_no)
                .bind("支付异常退款")
                .bind(notify_url)
                .bind(&staff.username)
                .bind(at)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    let Some(row) = row else {
        let refunded =
            sqlx::query("SELECT id FROM payment_refunds WHERE exception_id = $1").bind(id).fetch_optional(&mut *tx);
        if refunded.await?.is_some() {
            return Ok(RefundStart::Already);
        }
        let exists =
            sqlx::query("SELECT id FROM payment_exceptions WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        return Ok(if exists.is_some() { RefundStart::NotRefundable } else { RefundStart::NotFound });
    };
    let refund = PendingRefund::from_row(&row)?;
    let detail = format!(
        "exception {id}: refund {refund_no} of {} fen, txn {}",
        refund.request.refund_fen, refund.request.txn_id
    );
    audit::record(&mut tx, staff.actor(), "payment.refund.request", &refund.request.order_no, &detail).await?;
    tx.commit().await?;
    tracing::info!(staff = %staff.username, exception = id, %refund_no, "refund requested");
    Ok(RefundStart::Recorded(refund))
}

/// What settling an exception did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Now,
    /// Someone settled it before (a double click, or two operators at once): nothing changed.
    Already,
    NotFound,
}

/// Marks an exception settled with the staff member's note, once, with an audit row in the same transaction.
pub async fn settle_exception(db: &Db, staff: &Staff, id: i64, note: &SettleNote) -> Result<Settled, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE payment_exceptions SET settled_at = $1, settled_note = $2, settled_by = $3 \
         WHERE id = $4 AND settled_at IS NULL",
    )
    .bind(now())
    .bind(note.as_str())
    .bind(&staff.username)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        let exists =
            sqlx::query("SELECT id FROM payment_exceptions WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        return Ok(if exists.is_some() { Settled::Already } else { Settled::NotFound });
    }
    let row =
        sqlx::query("SELECT order_no, kind FROM payment_exceptions WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    let (order_no, kind): (String, String) = (row.try_get("order_no")?, row.try_get("kind")?);
    let detail = format!("exception {id} ({kind}): {}", note.as_str());
    audit::record(&mut tx, staff.actor(), "payment.exception.settle", &order_no, &detail).await?;
    tx.commit().await?;
    Ok(Settled::Now)
}

/// 等待过久: open orders past their expiry or older than [`STALE_AFTER_SECS`], oldest first.
pub async fn stale_orders(db: &Db) -> Result<Vec<StaleOrderRow>, sqlx::Error> {
    let at = now();
    let rows = sqlx::query(
        "SELECT order_no, decision_no, channel, amount_fen, created_at, expires_at FROM payment_orders \
         WHERE state = 'open' AND (expires_at <= $1 OR created_at <= $2) ORDER BY created_at, id LIMIT 200",
    )
    .bind(at)
    .bind(at - STALE_AFTER_SECS)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StaleOrderRow {
                order_no: row.try_get("order_no")?,
                decision_no: row.try_get("decision_no")?,
                channel: channel(row)?,
                amount: Fen::new(row.try_get("amount_fen")?).to_string(),
                created_at: shanghai_time(row.try_get("created_at")?),
                expires_at: shanghai_time(row.try_get("expires_at")?),
            })
        })
        .collect()
}

/// The states of `order_nos` now, to report what a query to the gateway settled.
pub async fn states(db: &Db, order_nos: &[String]) -> Result<Vec<OrderState>, sqlx::Error> {
    let mut states = Vec::new();
    for order_no in order_nos {
        let row = sqlx::query("SELECT state FROM payment_orders WHERE order_no = $1")
            .bind(order_no)
            .fetch_optional(db.pool())
            .await?;
        if let Some(row) = row {
            states.extend(OrderState::parse(row.try_get::<&str, _>("state")?));
        }
    }
    Ok(states)
}

#[cfg(test)]
mod plan_tests {
    use crate::platform::test_db::{assert_indexed, fresh_sqlite};

    /// The reconciliation page reads one day of paid orders along an index, not the whole order table.
    #[tokio::test]
    async fn a_days_paid_orders_are_read_along_an_index() {
        let db = fresh_sqlite().await;
        assert_indexed(&db, "paid orders of a day", super::PAID_ON).await;
    }
}

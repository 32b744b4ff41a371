//! The payments' gauges, read from the database when the metrics are scraped: correct whichever instance is asked,
//! since every instance shares the database.

use sqlx::Row;

use super::super::model::OrderState;
use crate::domain::Channel;
use crate::platform::db::Db;
use crate::platform::metrics;

const STATES: [OrderState; 4] = [OrderState::Open, OrderState::Paid, OrderState::Cancelled, OrderState::Expired];
const CHANNELS: [Channel; 2] = [Channel::Wechat, Channel::Icbc];

/// Sets the orders per state and channel (every pair, so a pair that emptied reads 0) and the reconciliation lag:
/// the age of the oldest open order, which keeps growing while notifications and reconciliation both stall.
pub async fn record(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    let rows = db
        .fetch_all(sqlx::query("SELECT state, channel, COUNT(*) AS orders FROM payment_orders GROUP BY state, channel"))
        .await?;
    let mut counts = [[0i64; CHANNELS.len()]; STATES.len()];
    for row in &rows {
        let (state, channel): (String, String) = (row.try_get("state")?, row.try_get("channel")?);
        let s = STATES.iter().position(|s| s.code() == state);
        let c = CHANNELS.iter().position(|c| c.code() == channel);
        if let (Some(s), Some(c)) = (s, c) {
            counts[s][c] = row.try_get("orders")?;
        }
    }
    for (s, state) in STATES.iter().enumerate() {
        for (c, channel) in CHANNELS.iter().enumerate() {
            metrics::record_payment_orders(state.code(), channel.code(), counts[s][c]);
        }
    }
    let oldest = db
        .fetch_optional(sqlx::query("SELECT MIN(created_at) AS oldest FROM payment_orders WHERE state = 'open'"))
        .await?
        .map(|row| row.try_get::<Option<i64>, _>("oldest"))
        .transpose()?
        .flatten();
    metrics::record_reconciliation_lag(oldest.map_or(0, |oldest| now - oldest));
    Ok(())
}

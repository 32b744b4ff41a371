//! Payments' database side (server only): `orders` opens payment orders and reads orders and receipts; `settle`
//! reads an order's facts under its decision's lock and applies what `rules::settle` decides, in one transaction.

mod orders;
mod settle;

pub use orders::{open_order, order, payable_order, receipt, OpenError, OpenOrder, Payer, StoredOrder, ORDER_TTL_SECS};
pub use settle::{apply_notification, close_order, reconcile, reconcile_order, Applied, RECONCILE_AFTER_SECS};

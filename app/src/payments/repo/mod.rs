//! Payments' database side (server only): `orders` opens payment orders and reads orders and receipts; `settle`
//! reads an order's facts under its decision's lock and applies what `rules::settle` decides, in one transaction;
//! `refunds` sends the refunds of payment exceptions and applies the gateway's word about them; `gauges` reads the
//! payments' metrics at scrape time.

pub mod gauges;
mod orders;
mod refunds;
mod settle;

pub use orders::{open_order, order, payable_order, receipt, OpenError, OpenOrder, Payer, StoredOrder, ORDER_TTL_SECS};
pub use refunds::{
    apply_refund_notification, reconcile_refunds, send_refund, PendingRefund, RefundApplied, RefundStage,
    PENDING_COLUMNS, RECONCILE_REFUND_AFTER_SECS, REFUNDABLE_KINDS,
};
pub use settle::{apply_notification, close_order, reconcile, reconcile_order, Applied, RECONCILE_AFTER_SECS};

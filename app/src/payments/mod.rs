//! 缴费 (SPEC §2E, §5): orders, notifications, receipts, and the operators' side in `console/`. `rules` decides what
//! the gateway's word does to an order (pure); `repo` reads and changes orders in the database; `api` holds the
//! server functions and `pages` the screens. The gateway contract is `platform::gateway`; the built-in sandbox
//! gateway is the workspace's `sandbox` crate. Built on `platform`, `domain`,
//! `identity`, `ui`, the console's guard and the decisions of `violations`; imported by the app's routes and `server`.

pub mod api;
pub mod console;
#[cfg(feature = "ssr")]
pub mod guest;
pub mod model;
#[cfg(feature = "ssr")]
pub mod notify;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod rules;

/// The area's plain HTTP routes: each channel's gateway's payment and refund notifications, and the console's
/// payments export.
#[cfg(feature = "ssr")]
pub fn routes() -> axum::Router<crate::platform::state::AppState> {
    use crate::platform::gateway::{NOTIFY_PREFIX, REFUND_NOTIFY_PREFIX};
    axum::Router::new()
        .route(&format!("{NOTIFY_PREFIX}/{{channel}}"), axum::routing::post(notify::payment_notify))
        .route(&format!("{REFUND_NOTIFY_PREFIX}/{{channel}}"), axum::routing::post(notify::refund_notify))
        .route("/console/payments.csv", axum::routing::get(console::export::payments_csv))
}

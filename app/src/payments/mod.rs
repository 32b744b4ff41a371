//! 缴费 (SPEC §2E, §5): orders, the gateway contract, notifications, receipts. (The built-in sandbox gateway is the
//! workspace's `sandbox` crate.)

pub mod api;
pub mod console;
#[cfg(feature = "ssr")]
#[cfg(feature = "ssr")]
pub mod guest;
pub mod model;
#[cfg(feature = "ssr")]
pub mod notify;
#[cfg(feature = "ssr")]
pub mod orders;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod settle;

/// The area's plain HTTP routes: the gateway's notification and the console's payments export.
#[cfg(feature = "ssr")]
pub fn routes() -> axum::Router<crate::platform::state::AppState> {
    axum::Router::new()
        .route(crate::platform::gateway::NOTIFY_PATH, axum::routing::post(notify::payment_notify))
        .route("/console/payments.csv", axum::routing::get(console::export::payments_csv))
}

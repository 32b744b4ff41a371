//! 缴款订单与对账 in the operators' console (issue 5): the order list and its CSV export, the daily
//! reconciliation against the gateway's statement, and the exceptions operators settle.
//! Part of `payments`, under the console's staff guard and layout; imported by the app's routes and `server`.

pub mod api;
#[cfg(feature = "ssr")]
pub mod export;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod reconciliation;
#[cfg(feature = "ssr")]
pub mod repo;

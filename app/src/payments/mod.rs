//! 缴费 (SPEC §2E, §5): orders, the gateway contract, the built-in sandbox gateway, notifications, receipts.
//! `rules` decides what the gateway's word does to an order (pure); `repo` reads and changes orders in the database;
//! `api` holds the server functions and `pages` the screens; `console/` is the operators' side.

pub mod api;
pub mod console;
#[cfg(feature = "ssr")]
pub mod gateway;
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
#[cfg(feature = "ssr")]
pub mod sandbox;
#[cfg(all(test, feature = "ssr"))]
mod sandbox_tests;

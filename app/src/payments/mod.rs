//! 缴费 (SPEC §2E, §5): orders, the gateway contract, notifications, receipts. (The built-in sandbox gateway is the
//! workspace's `sandbox` crate.)

pub mod api;
pub mod console;
#[cfg(feature = "ssr")]
pub mod gateway;
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

//! The built-in sandbox payment gateway, a development and test stand-in for WeChat Pay or ICBC e支付. It is served
//! on its own port so the app reaches it over real HTTP exactly as it would a real one: a signed merchant API, a
//! cashier page with 确认支付 / 取消支付, and signed asynchronous notifications retried until the app acknowledges
//! them. `SandboxClient` is the app's side of it, a `PaymentGateway` speaking this protocol.
//!
//! This crate imports `app` (the gateway contract in `app::platform::gateway`, the database, the domain types);
//! nothing in `app` imports it. Only `server` does, behind its `sandbox` feature (on by default and in the
//! cargo-leptos builds), so a production build can leave the sandbox out.

mod cashier;
mod client;
pub mod protocol;
mod server;
#[cfg(test)]
mod tests;

pub use client::SandboxClient;
pub use server::Sandbox;

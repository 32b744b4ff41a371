//! ICBC's open platform API gateway for the 融e联 channel, written from ICBC's public SDKs (docs/providers.md says
//! which file confirms what, and what is assumed): `client` signs calls (RSA2 over the path and the sorted
//! parameters with `biz_content`) and checks the gateway's signed answers and notifications; `pay` is the channel's
//! `PaymentGateway` (the H5 cashier, query, close, refunds, statement); `signin` its `PlatformIdentity`.

pub mod client;
pub mod pay;
pub mod sign;
pub mod signin;

pub use client::IcbcClient;
pub use pay::IcbcPay;
pub use signin::IcbcSignIn;

//! Loopback fakes of the vendors, written from their documents (test and development code only), and the vendors'
//! SDKs as test oracles.
pub mod edge;
pub mod icbc;
pub mod oracle;
pub mod tencent_sms;
pub mod wechat_oauth;
pub mod wechat_pay;

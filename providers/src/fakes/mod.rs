//! Loopback fakes of the vendors, written from their documents (test and development code only), and the vendors'
//! SDKs as test oracles.
pub mod edge;
pub mod oracle;
pub mod tencent_sms;

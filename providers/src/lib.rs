//! The real outside systems behind the app's traits, each written from the vendor's published protocol:
//!
//! - `wechat_oauth`: 公众号网页授权 (`snsapi_base`), a `PlatformIdentity` for the WeChat channel;
//! - `wechat_pay`: WeChat Pay API v3 (JSAPI), a `PaymentGateway` for the WeChat channel;
//! - `icbc`: ICBC's open platform API gateway (RSA2 over the sorted parameters with `biz_content`), sign-in and
//!   payment for the 融e联 channel;
//! - `tencent_sms`: Tencent Cloud SMS `SendSms` signed with TC3-HMAC-SHA256.
//!
//! Each reads its settings from the environment (`from_lookup`) and its keys from files; `server::state` chooses
//! them. Behind the `fakes` feature, `fakes` holds loopback fakes of each vendor for tests and the production
//! smoke test; production code never uses them. `docs/providers.md` records what each adapter assumes.

pub mod icbc;
pub mod tencent_sms;
pub mod wechat_oauth;
pub mod wechat_pay;

#[cfg(feature = "fakes")]
pub mod fakes;

/// A required setting that is missing or unusable, named so the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(pub String);

//! Platform sign-in (WeChat OAuth, ICBC 融e联) behind one trait shaped like OAuth's code exchange, one provider per
//! channel (`Identities`).

use std::sync::Arc;

use async_trait::async_trait;

use super::session::CookieSigner;
use crate::domain::Channel;

/// How long a development sign-in code may wait before the callback exchanges it.
const DEV_CODE_TTL_SECS: i64 = 120;

/// The platform's answer to a code exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformUser {
    pub channel: Channel,
    /// The platform's stable user id for this app (WeChat openid, 融e联 user id).
    pub uid: String,
    /// The id shared by all of one owner's apps, when the platform gives one (WeChat's unionid).
    pub unionid: Option<String>,
}

/// Why a sign-in callback was refused; the message is what the user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The code is unknown or has expired.
    #[error("登录凭证无效或已过期，请重新进入")]
    InvalidCode,
    /// The code was exchanged already: a reload of the callback, or a replay.
    #[error("登录凭证已使用，请重新进入")]
    CodeUsed,
    /// No provider signs users in on this channel.
    #[error("登录服务暂不可用，请稍后再试")]
    NotConfigured,
    /// The platform refused our own credentials (AppID, AppSecret): an operator must fix the settings.
    #[error("登录服务配置有误，请稍后再试或联系客服")]
    Misconfigured,
    /// The platform says it is busy.
    #[error("登录服务繁忙，请稍后再试")]
    Busy,
    /// The platform did not answer in time, or not at all.
    #[error("暂时无法连接登录服务，请稍后再试")]
    Unreachable,
    /// A WeChat 快照页 (the snapshot of a shared page) has only a virtual user.
    #[error("请点击页面底部的「使用完整服务」后再登录")]
    SnapshotPage,
    /// Any other refusal by the platform.
    #[error("登录未成功，请重新进入")]
    Refused,
}

/// A platform that signs users in by redirecting back with a one-time code.
#[async_trait]
pub trait PlatformIdentity: Send + Sync {
    /// The platform's page that starts sign-in and comes back to `redirect_uri` with a code and `state`; `None`
    /// for a provider without one (the development provider has its own route).
    fn authorize_url(&self, _redirect_uri: &str, _state: &str) -> Option<String> {
        None
    }

    /// Exchanges the code from the platform's redirect for the signed-in user.
    async fn exchange(&self, channel: Channel, code: &str) -> Result<PlatformUser, SignInError>;
}

/// Each channel's sign-in provider; pick with `get(channel)`, by the channel the user signs in on.
pub struct Identities {
    pub wechat: Arc<dyn PlatformIdentity>,
    pub icbc: Arc<dyn PlatformIdentity>,
}

impl Identities {
    /// The provider that signs users in on `channel`.
    pub fn get(&self, channel: Channel) -> &Arc<dyn PlatformIdentity> {
        match channel {
            Channel::Wechat => &self.wechat,
            Channel::Icbc => &self.icbc,
        }
    }
}

/// No sign-in provider: every code is refused. Stands in when development sign-in is off and no platform adapter
/// is configured, so a development code minted with a known key never signs anyone in.
pub struct NoProvider;

#[async_trait]
impl PlatformIdentity for NoProvider {
    async fn exchange(&self, _channel: Channel, _code: &str) -> Result<PlatformUser, SignInError> {
        Err(SignInError::NotConfigured)
    }
}

/// The development provider: `/auth/dev/login` mints a short-lived signed code for any uid, which the callback
/// exchanges exactly as it would a WeChat or 融e联 code.
pub struct DevIdentity {
    signer: CookieSigner,
}

impl DevIdentity {
    pub fn new(signer: CookieSigner) -> Self {
        Self { signer }
    }

    /// A code the callback will accept for `uid` on `channel` until it expires.
    pub fn mint_code(&self, channel: Channel, uid: &str, now: i64) -> String {
        let payload = format!("{}:{}:{}", channel.code(), now + DEV_CODE_TTL_SECS, hex::encode(uid));
        format!("{payload}:{}", self.signer.digest(&format!("devlogin:{payload}")))
    }
}

#[async_trait]
impl PlatformIdentity for DevIdentity {
    async fn exchange(&self, channel: Channel, code: &str) -> Result<PlatformUser, SignInError> {
        let (payload, signature) = code.rsplit_once(':').ok_or(SignInError::InvalidCode)?;
        if self.signer.digest(&format!("devlogin:{payload}")) != signature {
            return Err(SignInError::InvalidCode);
        }
        let mut parts = payload.splitn(3, ':');
        let (Some(code_channel), Some(expires), Some(uid)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SignInError::InvalidCode);
        };
        let expires: i64 = expires.parse().map_err(|_| SignInError::InvalidCode)?;
        if code_channel != channel.code() || expires < super::now() {
            return Err(SignInError::InvalidCode);
        }
        let uid = hex::decode(uid).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(SignInError::InvalidCode)?;
        Ok(PlatformUser { channel, uid, unionid: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> DevIdentity {
        DevIdentity::new(CookieSigner::new("test-key-0123456789-0123456789-0123"))
    }

    #[tokio::test]
    async fn a_minted_code_signs_in_its_uid_on_its_channel_only() {
        let p = provider();
        let code = p.mint_code(Channel::Wechat, "openid:abc", super::super::now());
        let user = p.exchange(Channel::Wechat, &code).await.unwrap();
        assert_eq!(user.uid, "openid:abc");
        assert_eq!(p.exchange(Channel::Icbc, &code).await, Err(SignInError::InvalidCode));
    }

    #[tokio::test]
    async fn expired_or_forged_codes_are_refused() {
        let p = provider();
        let old = p.mint_code(Channel::Icbc, "u1", super::super::now() - 3600);
        assert_eq!(p.exchange(Channel::Icbc, &old).await, Err(SignInError::InvalidCode));
        let genuine = p.mint_code(Channel::Icbc, "u1", super::super::now());
        let forged = genuine.replacen(&hex::encode("u1"), &hex::encode("u2"), 1);
        assert_eq!(p.exchange(Channel::Icbc, &forged).await, Err(SignInError::InvalidCode));
        let other_key = DevIdentity::new(CookieSigner::new("another-key-0123456789-0123456789"));
        let foreign = other_key.mint_code(Channel::Icbc, "u1", super::super::now());
        assert_eq!(p.exchange(Channel::Icbc, &foreign).await, Err(SignInError::InvalidCode));
    }
}

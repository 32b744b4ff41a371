//! 融e联 sign-in: the 融e联 app opens the app's page with a one-time code, which the app exchanges through the open
//! platform's gateway for the user's 融e联 id. No public ICBC SDK names this API, so its path is a setting
//! (`ICBC_SIGNIN_PATH`, from the interface document ICBC issues with the app) and its fields are the assumptions
//! written down in docs/providers.md.

use app::domain::Channel;
use app::platform::platform_identity::{PlatformIdentity, PlatformUser, SignInError};
use async_trait::async_trait;
use serde_json::json;

use super::client::{self, CallError, IcbcClient};
use crate::SettingError;

/// The longest code accepted: a real one is short, and anything longer is not worth a signed call.
const MAX_CODE_LEN: usize = 512;

/// 融e联 sign-in through ICBC's open platform.
#[derive(Debug)]
pub struct IcbcSignIn {
    client: IcbcClient,
    path: String,
}

impl IcbcSignIn {
    /// Reads the client's settings plus `ICBC_SIGNIN_PATH`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let client = IcbcClient::from_lookup(&lookup)?;
        let path = lookup("ICBC_SIGNIN_PATH")
            .map(|p| p.trim().to_string())
            .filter(|p| p.starts_with("/api/"))
            .ok_or_else(|| SettingError("ICBC_SIGNIN_PATH is not set to the /api/… path ICBC assigned".into()))?;
        Ok(Self { client, path })
    }
}

#[async_trait]
impl PlatformIdentity for IcbcSignIn {
    async fn exchange(&self, channel: Channel, code: &str) -> Result<PlatformUser, SignInError> {
        let code = code.trim();
        if channel != Channel::Icbc || code.is_empty() || code.len() > MAX_CODE_LEN {
            return Err(SignInError::InvalidCode);
        }
        let biz = json!({ "code": code, "icbc_appid": self.client.app_id() });
        match self.client.call(&self.path, &biz).await {
            Ok(answer) => match client::text_field(&answer, "user_id") {
                Some(uid) => Ok(PlatformUser { channel, uid, unionid: None }),
                None => {
                    tracing::error!("融e联 sign-in answer has no user_id");
                    Err(SignInError::NotConfigured)
                }
            },
            // The gateway refusing the code itself (used, expired, foreign) is the user's to retry.
            Err(CallError::Vendor { code, message }) => {
                tracing::warn!(%code, %message, "融e联 sign-in code refused");
                Err(SignInError::InvalidCode)
            }
            Err(e) => {
                tracing::error!(error = %e, "融e联 sign-in exchange failed");
                Err(SignInError::NotConfigured)
            }
        }
    }
}

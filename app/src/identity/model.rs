//! Identity types shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// The webview the user came from; it changes branding and wording, never the rules or the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// The WeChat official account 大连交警.
    Wechat,
    /// The ICBC 融e联 account 大连智慧交通.
    Icbc,
}

impl Channel {
    /// The code used in URLs and storage.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Wechat => "wechat",
            Channel::Icbc => "icbc",
        }
    }

    /// Reads a channel code.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "wechat" => Some(Channel::Wechat),
            "icbc" => Some(Channel::Icbc),
            _ => None,
        }
    }

    /// The channel a browser's user agent implies before sign-in.
    pub fn from_user_agent(user_agent: &str) -> Self {
        if user_agent.contains("MicroMessenger") {
            Channel::Wechat
        } else {
            Channel::Icbc
        }
    }

    /// The account's name inside its platform.
    pub fn account_name(self) -> &'static str {
        match self {
            Channel::Wechat => "大连交警",
            Channel::Icbc => "大连智慧交通",
        }
    }

    /// The platform's own name.
    pub fn platform_name(self) -> &'static str {
        match self {
            Channel::Wechat => "微信",
            Channel::Icbc => "工银融e联",
        }
    }
}

/// A one-time message for the next page, with the values a form had, so a rejected form loses nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub notice: Option<String>,
    pub error: Option<String>,
    /// Field name and its own error message.
    pub field_errors: Vec<(String, String)>,
    /// Field name and the value the user had typed.
    pub values: Vec<(String, String)>,
}

impl Flash {
    /// The value the user had typed into `field`.
    pub fn value(&self, field: &str) -> String {
        self.values.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// The error shown under `field`.
    pub fn field_error(&self, field: &str) -> Option<String> {
        self.field_errors.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone())
    }
}

/// The signed-in person's real-name link, masked for the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealName {
    pub name: String,
    pub id_number: String,
    pub card_no: String,
    pub phone: String,
    /// Date of linking, Asia/Shanghai, YYYY-MM-DD.
    pub bound_on: String,
}

/// Who is looking at a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub channel: Channel,
    pub signed_in: bool,
    pub real_name: Option<RealName>,
    /// The account's link is to a card since cancelled or passed to another ID, so 实名认证 must be done again.
    pub real_name_lapsed: bool,
}

/// Everything the 实名认证 page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealNamePage {
    pub viewer: Viewer,
    pub flash: Flash,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wechat_user_agent_selects_wechat_and_anything_else_icbc() {
        let wechat = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile MicroMessenger/8.0.50";
        assert_eq!(Channel::from_user_agent(wechat), Channel::Wechat);
        assert_eq!(Channel::from_user_agent("Mozilla/5.0 (iPhone)"), Channel::Icbc);
    }

    #[test]
    fn channel_codes_round_trip() {
        for channel in [Channel::Wechat, Channel::Icbc] {
            assert_eq!(Channel::parse(channel.code()), Some(channel));
        }
        assert_eq!(Channel::parse("alipay"), None);
    }
}

/// The 实名认证 form as posted, under the HTML form's own field names: `op` is `send_code` (获取验证码) or `submit`
/// (提交认证); `code` left out is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealNameFields {
    pub op: String,
    pub name: String,
    pub id_number: String,
    pub card_no: String,
    pub phone: String,
    #[serde(default)]
    pub code: String,
}

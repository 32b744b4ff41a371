//! The webview a user came from.

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

//! Identity types shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// Shared vocabulary, re-exported where identity's screens and older paths name it.
pub use crate::domain::{Channel, Flash};

/// Where WeChat sign-in (公众号网页授权) starts: the official account's menu and the guest home link here.
pub const WECHAT_SIGN_IN: &str = "/auth/wechat";

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

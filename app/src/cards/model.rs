//! 申办交通服务卡 views shared by the server and the browser. The applicant's screens carry masked data only.

use serde::{Deserialize, Serialize};

use super::rules::{ApplicationState, Step};
use crate::console::model::StaffView;
use crate::identity::model::{Channel, Flash};

/// An ICBC Dalian branch a card can be collected at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Branch {
    pub code: String,
    pub name: String,
    pub address: String,
}

/// `/card-apply`: the form, the branches for its list, and what the last submission left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyPageData {
    pub channel: Channel,
    pub branches: Vec<Branch>,
    pub flash: Flash,
}

/// The application form as posted, under the HTML form's own field names: `op` is `send_code` (获取验证码) or
/// `submit` (提交申请); a field left out is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationFields {
    pub op: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub plate1: String,
    #[serde(default)]
    pub plate2: String,
    #[serde(default)]
    pub plate3: String,
    #[serde(default)]
    pub branch: String,
}

/// One application as its applicant sees it, personal data masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub application_no: String,
    pub state: ApplicationState,
    /// The rejection's reason.
    pub reason: Option<String>,
    pub branch: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub plates: Vec<String>,
    /// `****1234`, once the card is collected (before that, whoever knows the ID number could read it here).
    pub card_no: Option<String>,
    /// Asia/Shanghai, YYYY-MM-DD HH:MM.
    pub submitted_at: String,
    pub updated_at: String,
}

/// `/card-apply/status`: the application a lookup (or the submission) opened, the signed-in user's own
/// applications, and the lookup form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPageData {
    pub channel: Channel,
    pub flash: Flash,
    pub found: Option<ApplicationView>,
    pub own: Vec<ApplicationView>,
}

/// One application as the console shows it: the bank checks the applicant's documents against these, so they
/// are not masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleApplication {
    pub application_no: String,
    pub state: ApplicationState,
    pub reason: Option<String>,
    pub branch: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub plates: Vec<String>,
    pub card_no: Option<String>,
    pub submitted_at: String,
    pub updated_at: String,
}

/// `/console/applications`: the applications in one state (or all), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationListData {
    pub staff: StaffView,
    pub filter: Option<ApplicationState>,
    pub applications: Vec<ConsoleApplication>,
}

/// `/console/applications/detail`: one application and the steps the staff member may take on it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationDetailData {
    pub staff: StaffView,
    pub flash: Flash,
    pub application: ConsoleApplication,
    /// Empty for an auditor, who reads only.
    pub steps: Vec<Step>,
}

//! Console views shared by the server and the browser.

use serde::{Deserialize, Serialize};

use crate::identity::model::Flash;

/// What a staff account may do; every console server function checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Bank operator: reviews, approves, rejects and hands over card applications.
    Bank,
    /// Traffic-police operator: loads the police data files.
    Police,
    /// Auditor: reads everything, changes nothing.
    Auditor,
}

impl Role {
    /// Every role, in the order the console lists them.
    pub const ALL: [Role; 3] = [Role::Bank, Role::Police, Role::Auditor];

    /// The code stored in the database and typed on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Role::Bank => "bank",
            Role::Police => "police",
            Role::Auditor => "auditor",
        }
    }

    /// Reads `bank`, `police` or `auditor`.
    pub fn parse(code: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|role| role.code() == code)
    }

    /// The role's name on screen.
    pub fn label(self) -> &'static str {
        match self {
            Role::Bank => "银行操作员",
            Role::Police => "交警操作员",
            Role::Auditor => "审计员",
        }
    }
}

/// The signed-in staff member as the screen shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    pub username: String,
    pub role: Role,
}

/// `/console/login`: a message left by a failed sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginPageData {
    pub signed_in: Option<StaffView>,
    pub flash: Flash,
}

/// `/console/import`: the police operator's upload form and the last upload's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPageData {
    pub staff: StaffView,
    pub flash: Flash,
    /// The progress line of the staff member's import still running, e.g.
    /// `violations.csv: 写入 120,000 / 400,000 行 (30%), 41,000 行/秒, 约 7 秒`.
    pub running: Option<String>,
}

/// `/console/export`: the files the staff member's role may take, each with its last export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPageData {
    pub staff: StaffView,
    pub flash: Flash,
    pub kinds: Vec<ExportKindView>,
}

/// One export file on the 数据导出 page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportKindView {
    /// `decisions`, `payments`, `unbindings` or `cards`.
    pub code: String,
    pub label: String,
    /// The last run, e.g. `第3次，2026-12-03 10:15`; empty before the first.
    pub last: String,
}

/// One row of the audit log, times in Asia/Shanghai.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub channel: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// The audit search's criteria, as the GET form sends them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// YYYY-MM-DD, Asia/Shanghai, inclusive.
    pub from: String,
    pub to: String,
}

/// `/console/audit`: the newest matching rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPageData {
    pub staff: StaffView,
    pub entries: Vec<AuditEntry>,
    /// Set when more rows matched than are shown.
    pub truncated: bool,
    pub error: Option<String>,
}

//! The one-time message a submission leaves for the next page.

use serde::{Deserialize, Serialize};

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

//! The one error type users see: every variant renders as a safe Chinese message.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What a server function tells the browser when it cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("请先登录")]
    NotSignedIn,
    #[error("请先完成实名认证")]
    NotAuthenticated,
    /// The account's link is to a card since cancelled or passed to another ID.
    #[error("实名认证已失效，请重新完成实名认证")]
    RealNameLapsed,
    /// A reason the user can act on, already phrased for them.
    #[error("{0}")]
    Rejected(String),
    #[error("请求无效，请返回重试")]
    BadRequest,
    #[error("系统繁忙，请稍后再试")]
    Unavailable,
    #[error("请先登录管理后台")]
    StaffNotSignedIn,
    #[error("您的角色无权进行此操作")]
    Forbidden,
}

impl AppError {
    /// A rejection carrying a message for the user.
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::Rejected(message.into())
    }
}

impl From<crate::domain::DomainError> for AppError {
    fn from(e: crate::domain::DomainError) -> Self {
        Self::Rejected(e.to_string())
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => Self::BadRequest,
            _ => Self::Unavailable,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        Self::Unavailable
    }
}

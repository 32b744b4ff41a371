//! The one error type users see: every variant renders as a safe Chinese message, with its HTTP status. Anything
//! may import it; it imports only `domain`.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// The console's sign-in page, where a `StaffNotSignedIn` refusal leads.
pub const STAFF_LOGIN_PAGE: &str = "/console/login";

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
    /// A reason the user can act on, already phrased for them: the request was understood, but the record's state
    /// or the user's does not allow it now.
    #[error("{0}")]
    Rejected(String),
    /// The record asked for does not exist, or is not the caller's to see (the two read the same).
    #[error("{0}")]
    NotFound(String),
    /// A field the form could not have sent: a control character, an over-long value. Phrased for the user.
    #[error("{0}")]
    Invalid(String),
    /// Too many attempts in a window; phrased for the user, with when to try again.
    #[error("{0}")]
    TooMany(String),
    #[error("请求无效，请返回重试")]
    BadRequest,
    #[error("系统繁忙，请稍后再试")]
    Unavailable,
    /// The console's sign-in page (`STAFF_LOGIN_PAGE`) is where the refusal sends the browser.
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

    /// A record that is not there, or not the caller's.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// The HTTP status that tells the truth about this refusal: 4xx for what the request did, 5xx only for a fault
    /// of ours (`Unavailable`).
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest | Self::Invalid(_) => 400,
            Self::NotSignedIn | Self::StaffNotSignedIn => 401,
            Self::NotAuthenticated | Self::RealNameLapsed | Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Rejected(_) => 409,
            Self::TooMany(_) => 429,
            Self::Unavailable => 503,
        }
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
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => Self::BadRequest,
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

/// An operation's error that is either a refusal the user is told (its message is safe to show) or a database
/// fault, which `Refused::refused` carries on as an `AppError`.
#[cfg(feature = "ssr")]
pub trait Refusal: Sized {
    /// The database fault this is, or the refusal back.
    fn into_fault(self) -> Result<sqlx::Error, Self>;
}

/// Splits an operation's result so a server function can answer a refusal and pass a fault on with `?`.
#[cfg(feature = "ssr")]
pub trait Refused<T, E> {
    /// `Err` for a fault; `Ok(Err(refusal))` for a refusal to show.
    fn refused(self) -> Result<Result<T, E>, AppError>;
}

#[cfg(feature = "ssr")]
impl<T, E: Refusal> Refused<T, E> for Result<T, E> {
    fn refused(self) -> Result<Result<T, E>, AppError> {
        match self.map_err(Refusal::into_fault) {
            Ok(value) => Ok(Ok(value)),
            Err(Ok(fault)) => Err(fault.into()),
            Err(Err(refusal)) => Ok(Err(refusal)),
        }
    }
}

/// Implements `Refusal` for error enums whose `Database` variant is their one fault.
#[cfg(feature = "ssr")]
macro_rules! database_is_the_fault {
    ($($error:ty),+) => {$(
        impl $crate::error::Refusal for $error {
            fn into_fault(self) -> Result<sqlx::Error, Self> {
                match self {
                    Self::Database(e) => Ok(e),
                    refusal => Err(refusal),
                }
            }
        }
    )+};
}
#[cfg(feature = "ssr")]
pub(crate) use database_is_the_fault;

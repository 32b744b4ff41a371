//! The operators' console (SPEC §5, issue 5): its own sign-in, staff roles, and the screens for card
//! applications, data loads, payments and the audit log.

pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod upload;

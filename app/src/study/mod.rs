//! 审验学习 (SPEC §2G, §4): the status check, the quiz, video courses tracked by the server, and the 审验证明.

pub mod api;
#[cfg(feature = "ssr")]
pub mod certificate;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
pub mod rules;

//! 审验学习 (SPEC §2G, §4): the status check, the quiz, video courses tracked by the server, and the 审验证明.
//! Built on `platform`, `domain`, `identity`, `ui` and the eligibility facts of `violations`; imported by the app's
//! routes, `import` (courses and questions) and `server`.

pub mod api;
#[cfg(feature = "ssr")]
pub mod certificate;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
pub mod rules;

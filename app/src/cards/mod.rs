//! 申办交通服务卡 (SPEC §2H): the application form, the applicant's status page, and the bank's console steps
//! from 已提交 to 已领卡 or 已驳回. 批准制卡 issues the card, which waits for pickup; 确认领卡, where the bank checks the
//! applicant's ID card, makes it active and links the applicant's declared vehicles.
//! Built on `platform`, `domain`, `identity`, `ui` and the console's staff guard; imported only by the app's routes
//! and `server`.

pub mod api;
pub mod console_pages;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
pub mod rules;

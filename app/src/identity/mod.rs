//! Who the user is: platform sign-in (`/auth/wechat`, the `/auth/callback` and development sign-in routes), the
//! driver's session and the caller guards every server function starts with (`caller`, `signed_in_caller`,
//! `linked_caller`…), verification codes, and 实名认证 (linking the account to a card holder). It builds on `platform` and
//! `domain`; the other areas, `ui`'s callers and `server` may import it, and it imports no other area.

pub mod api;
#[cfg(feature = "ssr")]
pub mod caller;
#[cfg(feature = "ssr")]
pub mod codes;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod signin;

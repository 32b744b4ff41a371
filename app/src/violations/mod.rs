//! 交通违法处理 (SPEC §2D, §3): the notice, the card's vehicles, their untreated records, processing, decisions.
//! Built on `platform`, `domain`, `identity` and `ui`; `payments` and `study` read its records and rules, `import`
//! loads them, and the app's routes and `server` mount its screens and the evidence route.

pub mod api;
#[cfg(feature = "ssr")]
pub mod evidence;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
pub mod rules;

/// The area's plain HTTP routes: the evidence photos.
#[cfg(feature = "ssr")]
pub fn routes() -> axum::Router<crate::platform::state::AppState> {
    axum::Router::new().route("/evidence/{record_no}", axum::routing::get(evidence::evidence_photo))
}

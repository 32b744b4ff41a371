//! The operators' console (SPEC §5, issue 5): its own sign-in, staff roles, and the screens for card
//! applications, data loads and exports, payments and the audit log.
//! Built on `platform`, `domain`, `identity`, `ui`, `import` and `export`; the areas with console screens (cards, payments)
//! import its staff guard and layout, and `server` its routes.

pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod export;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod upload;

/// The area's plain HTTP routes: the data-file upload, with its own body limit, and the export download.
#[cfg(feature = "ssr")]
pub fn routes() -> axum::Router<crate::platform::state::AppState> {
    axum::Router::new()
        .route(
            upload::UPLOAD_PATH,
            axum::routing::post(upload::upload).layer(axum::extract::DefaultBodyLimit::max(upload::MAX_BYTES)),
        )
        .route(export::DOWNLOAD_PATH, axum::routing::post(export::download))
}

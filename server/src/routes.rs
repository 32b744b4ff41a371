//! The route table beside the Leptos pages: one router per area, merged.

use app::platform::state::AppState;
use axum::Router;

/// Every area's plain HTTP routes: sign-in (identity), evidence photos (violations), the data upload (console),
/// the gateway's notification and the payments export (payments), and the development SMS outbox and the health
/// checks (platform).
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(app::identity::signin::routes(state))
        .merge(app::violations::routes())
        .merge(app::console::routes())
        .merge(app::payments::routes())
        .merge(app::platform::http::routes(state))
        .merge(app::platform::health::routes())
}

//! The HTTP server around the Leptos app: routes, middleware and start-up.

use app::app::{shell, App};
use app::platform::config::Config;
use app::platform::db::Db;
use app::platform::http::{self, same_origin_guard};
use app::platform::state::AppState;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::middleware;
use axum::response::Response;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Opens the database, loads the demo data when asked, and builds the state.
pub async fn prepare(config: Config, leptos_options: LeptosOptions) -> Result<AppState, Box<dyn std::error::Error>> {
    let db = Db::connect(&config.database_url).await?;
    if config.demo_data {
        app::import::load_demo(&db).await?;
        tracing::info!("demo data loaded");
    }
    Ok(AppState::new(config, db, leptos_options))
}

/// Serves the built-in sandbox payment gateway on its own listener, as a separate system reached over HTTP.
pub async fn serve_sandbox(state: &AppState, listener: tokio::net::TcpListener) {
    let sandbox = app::payments::sandbox::Sandbox::new(state.db.clone(), state.config.payment_secret.as_bytes());
    let router = sandbox.router();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the sandbox gateway stopped");
        }
    });
}

/// Asks the gateway about orders left open, every minute, so a lost notification still settles.
pub fn spawn_reconciliation(state: &AppState) {
    let (db, gateway) = (state.db.clone(), state.gateway.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match app::payments::orders::reconcile(&db, gateway.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orders = n, "reconciled open payment orders"),
                Err(e) => tracing::error!(error = %e, "reconciliation failed"),
            }
        }
    });
}

/// The whole router: Leptos pages and server functions, sign-in routes, static files.
pub fn router(state: AppState) -> Router {
    let page_routes = generate_route_list(App);
    let context_state = state.clone();
    let leptos_options = state.leptos_options.clone();
    let video_dir =
        state.config.video_dir.clone().unwrap_or_else(|| format!("{}/videos", state.leptos_options.site_root));
    // Videos are already compressed, and a compressed body could not answer the player's range requests.
    let compression =
        CompressionLayer::new().compress_when(DefaultPredicate::new().and(NotForContentType::const_new("video/")));
    Router::new()
        .leptos_routes_with_context(
            &state,
            page_routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .merge(http::routes(&state))
        .nest_service("/videos", ServeDir::new(video_dir))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin_guard))
        .layer(compression)
        .layer(SetResponseHeaderLayer::if_not_present(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(middleware::map_response(cache_policy))
        .with_state(state)
}

/// Pages and server-function answers carry personal data: no cache may keep them. Static files may be cached but
/// are revalidated, since their names do not change between releases yet.
async fn cache_policy(mut response: Response) -> Response {
    if response.headers().contains_key(CACHE_CONTROL) {
        return response;
    }
    let dynamic =
        response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|t| {
            t.starts_with("text/html") || t.starts_with("application/json") || t.starts_with("text/plain")
        });
    let policy = if dynamic { "no-store" } else { "no-cache" };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

//! The HTTP server around the Leptos app: the route table (one router per area, `routes`), the state's assembly
//! (which provider serves each outside system, `state`), middleware, the metrics listener and start-up. It sits on
//! top: it may import every part of `app`, and nothing in `app` imports it.

use app::app::{shell, App};
use app::platform::config::Config;
use app::platform::db::Db;
use app::platform::edge;
use app::platform::http::same_origin_guard;
use app::platform::state::AppState;
use app::platform::{metrics, request_id};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub mod backup;
pub mod routes;
pub mod state;

/// Opens the database, loads the demo data when asked, and builds the state.
pub async fn prepare(config: Config, leptos_options: LeptosOptions) -> Result<AppState, Box<dyn std::error::Error>> {
    let settings = |key: &str| std::env::var(key).ok();
    let gateway = state::gateway(&config, &settings)?;
    let db = Db::connect_with(&config.database_url, config.db_readers).await?;
    if config.demo_data {
        app::import::load_demo(&db).await?;
        tracing::info!("demo data loaded");
    }
    Ok(state::assemble(config, db, leptos_options, gateway, &settings)?)
}

/// Serves the built-in sandbox payment gateway on its own listener, as a separate system reached over HTTP.
#[cfg(feature = "sandbox")]
pub async fn serve_sandbox(state: &AppState, listener: tokio::net::TcpListener) {
    let sandbox = sandbox::Sandbox::new(state.db.clone(), state.config.payment_secret.as_bytes());
    let router = sandbox.router();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the sandbox gateway stopped");
        }
    });
}

/// One instance's background tasks: reconciliation, housekeeping, the SMS outbox's dispatcher and the gateways'
/// probe. `stop` lets each finish the pass it is in (a pass is one or more transactions, so a pass cut short by the
/// deadline rolls back rather than half-applies) and then waits for them.
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Default for Background {
    fn default() -> Self {
        Self { stop: tokio::sync::watch::channel(false).0, tasks: Vec::new() }
    }
}

/// Waits until `stop` says stop. A dropped sender never stops the task: tests that start only some tasks and drop
/// the `Background` keep them running.
async fn stopping(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Background {
    /// Every background task of a serving instance.
    pub fn start(state: &AppState) -> Self {
        let mut background = Self::default();
        background.reconciliation(state);
        background.housekeeping(state);
        background.sms_dispatch(state);
        background.gateway_probe(state);
        background
    }

    /// Runs `pass` every `period` (the first at once) until stopped; a pass that has begun is never interrupted.
    fn every<F, P>(&mut self, period: std::time::Duration, mut pass: P)
    where
        P: FnMut() -> F + Send + 'static,
        F: std::future::Future<Output = ()> + Send,
    {
        let mut stop = self.stop.subscribe();
        self.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = stopping(&mut stop) => break,
                    _ = tick.tick() => {}
                }
                pass().await;
            }
        }));
    }

    /// Asks the gateway about orders left open and refunds still processing, every minute, so a lost notification
    /// still settles.
    pub fn reconciliation(&mut self, state: &AppState) {
        let (db, gateways) = (state.db.clone(), state.gateways.clone());
        self.every(std::time::Duration::from_secs(60), move || {
            let (db, gateways) = (db.clone(), gateways.clone());
            async move {
                match app::payments::repo::reconcile(&db, &gateways).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(orders = n, "reconciled open payment orders"),
                    Err(e) => tracing::error!(error = %e, "reconciliation failed"),
                }
                match app::payments::repo::reconcile_refunds(&db, &gateways).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(refunds = n, "reconciled processing refunds"),
                    Err(e) => tracing::error!(error = %e, "refund reconciliation failed"),
                }
            }
        });
    }

    /// Purges rows past their use (expired sessions, old SMS codes, rate-limit windows and nonces), every hour.
    pub fn housekeeping(&mut self, state: &AppState) {
        let db = state.db.clone();
        self.every(std::time::Duration::from_secs(3600), move || {
            let db = db.clone();
            async move {
                match app::platform::housekeeping::purge(&db, app::platform::now()).await {
                    Ok(removed) => {
                        let total: u64 = removed.iter().map(|(_, n)| n).sum();
                        if total > 0 {
                            tracing::info!(?removed, "purged rows past their use");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "housekeeping failed"),
                }
            }
        });
    }

    /// Probes each payment gateway every `GATEWAY_PROBE_SECS` for `/readyz`.
    pub fn gateway_probe(&mut self, state: &AppState) {
        let (gateways, readiness) = (state.gateways.clone(), state.readiness.clone());
        let period = std::time::Duration::from_secs(state.config.gateway_probe_secs.unsigned_abs());
        self.every(period, move || {
            let (gateways, readiness) = (gateways.clone(), readiness.clone());
            async move { app::platform::health::probe_gateways(&gateways, &readiness).await }
        });
    }

    /// Sends the SMS outbox through its vendor, when there is one; each instance runs one dispatcher, and the claims
    /// in `sms_dispatch` keep them from sending a message twice.
    pub fn sms_dispatch(&mut self, state: &AppState) {
        if let Some(vendor) = state.sms_vendor.clone() {
            let dispatcher = app::platform::sms_dispatch::Dispatcher::new(state.db.clone(), vendor, Default::default());
            self.tasks.push(tokio::spawn(dispatcher.run_until(self.stop.subscribe())));
        }
    }

    /// Lets each task finish its pass, for at most `within`; true when all ended in time. Those still running are
    /// then abandoned with the process, their open transactions rolled back by the database.
    pub async fn stop(self, within: std::time::Duration) -> bool {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        tokio::time::timeout(within, all).await.is_ok()
    }
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
    let pkg_dir = format!("/{}", state.leptos_options.site_pkg_dir);
    let static_folders: metrics::StaticFolders = vec![pkg_dir, "/videos".to_string()].into();
    Router::new()
        .leptos_routes_with_context(
            &state,
            page_routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .merge(routes::routes(&state))
        .nest_service("/videos", ServeDir::new(video_dir))
        // The wasm, JS and CSS, served from the .br and .gz files `server precompress` wrote beside them.
        .nest_service(
            &format!("/{}", state.leptos_options.site_pkg_dir),
            ServeDir::new(format!("{}/{}", state.leptos_options.site_root, state.leptos_options.site_pkg_dir))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(edge::refusal_status))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin_guard))
        .layer(middleware::from_fn(edge::input_guard))
        .layer(compression)
        .layer(SetResponseHeaderLayer::if_not_present(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(middleware::from_fn(cache_policy))
        .layer(middleware::from_fn_with_state(static_folders, metrics::track_requests))
        .layer(middleware::from_fn(request_id::trace_requests))
        .with_state(state)
}

/// The metrics router, for its own listener (`METRICS_ADDR`): `GET /metrics` in Prometheus' text format. The
/// database's figures (pools, payments, the reconciliation lag) are read at each scrape.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", axum::routing::get(scrape)).with_state(state)
}

async fn scrape(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    metrics::record_pools(&state.db);
    if let Err(e) = app::payments::repo::gauges::record(&state.db, app::platform::now()).await {
        tracing::error!(error = %e, "the payments' metrics could not be read");
    }
    let text = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(CONTENT_TYPE, text), (CACHE_CONTROL, HeaderValue::from_static("no-store"))], metrics::render()).into_response()
}

/// Serves the metrics on their own listener (installing the process's recorder first, if it is not yet).
pub async fn serve_metrics(state: &AppState, listener: tokio::net::TcpListener) {
    metrics::install();
    let router = metrics_router(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
}

/// Whether a file name carries a content hash, as cargo-leptos writes them: `name.<hash>.ext`.
pub fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3 && {
        let hash = parts[parts.len() - 2];
        hash.len() >= 8 && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

/// Pages and server-function answers carry personal data: no cache may keep them. Content-hashed files never
/// change under their name, so browsers and CDNs keep them for a year; other static files are revalidated.
async fn cache_policy(request: axum::extract::Request, next: middleware::Next) -> Response {
    let hashed = request.uri().path().starts_with("/pkg/") && is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.headers().contains_key(CACHE_CONTROL) {
        return response;
    }
    if hashed && response.status().is_success() {
        let forever = HeaderValue::from_static("public, max-age=31536000, immutable");
        response.headers_mut().insert(CACHE_CONTROL, forever);
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

/// Writes `file.br` and `file.gz` beside every wasm, JS and CSS file under the site's `pkg` and `vendor` folders
/// (skipping those already up to date), so they are served compressed at the highest level without compressing
/// on every request. Returns how many files were written.
pub fn precompress(site_root: &std::path::Path) -> std::io::Result<usize> {
    use std::io::Write;
    let mut written = 0;
    for folder in ["pkg", "vendor"] {
        let Ok(entries) = std::fs::read_dir(site_root.join(folder)) else { continue };
        for entry in entries {
            let path = entry?.path();
            let compressible =
                path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "wasm" | "js" | "css"));
            if !compressible {
                continue;
            }
            let source = std::fs::read(&path)?;
            let modified = std::fs::metadata(&path)?.modified()?;
            for (suffix, level) in [("br", 11u32), ("gz", 9)] {
                let target = path.with_extension(format!("{}.{suffix}", path.extension().unwrap().to_string_lossy()));
                let fresh = std::fs::metadata(&target).and_then(|m| m.modified()).is_ok_and(|t| t >= modified);
                if fresh {
                    continue;
                }
                let mut out = Vec::new();
                if suffix == "br" {
                    let params = brotli::enc::BrotliEncoderParams { quality: level as i32, ..Default::default() };
                    brotli::BrotliCompress(&mut source.as_slice(), &mut out, &params)?;
                } else {
                    let mut encoder = flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(level));
                    encoder.write_all(&source)?;
                    encoder.finish()?;
                }
                std::fs::write(&target, out)?;
                written += 1;
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_cargo_leptos_hashed_names_count_as_content_hashed() {
        assert!(super::is_content_hashed("/pkg/dalian-traffic.Xk3p9aQ_z1.wasm"));
        assert!(!super::is_content_hashed("/pkg/dalian-traffic.wasm"));
        assert!(!super::is_content_hashed("/vendor/weui.min.css"));
    }
}

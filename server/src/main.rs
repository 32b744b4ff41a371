//! `server` runs the web app; `server import KIND FILE` loads operators' CSV files and `server import evidence DIR`
//! their evidence photos; `server export KIND FILE` writes the app's events for the police and the bank;
//! `server staff add` creates console accounts; `server backup FILE` and `server restore FILE` copy the database out
//! and back.

use std::future::IntoFuture;
use std::process::ExitCode;

use app::import::evidence::import_photos;
use app::import::progress::Progress;
use app::import::{import_from, Event, ImportError, Kind, Source};
use app::platform::audit::Actor;
use app::platform::config::{Config, PaymentProvider};
use app::platform::db::Db;
use app::platform::evidence::DirectoryStore;
use leptos::config::get_configuration;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage:\n  server                      run the web app\n  server import KIND FILE     load a CSV file (KIND: cards, drivers, vehicles, violations, questions, courses)\n  server import demo          load the bundled demo data\n  server import evidence DIR  copy the police's photos (RECORD_NO.jpg) from DIR into EVIDENCE_DIR\n  server export KIND FILE [--since TIME]\n                              write the events not yet exported (KIND: decisions, payments, unbindings, cards);\n                              --since \"YYYY-MM-DD[ HH:MM[:SS]]\" (Asia/Shanghai) also writes those since TIME again\n  server backup FILE          write a consistent copy of the database to FILE while the app runs\n  server restore FILE [--force]\n                              restore a backup into an empty database (--force: replace what it holds)\n  server precompress          write .br and .gz beside the built wasm, JS and CSS (after cargo leptos build)\n  server staff add NAME ROLE  create a console account (ROLE: bank, police, auditor); the password is read\n                              from the first line of standard input (at least 12 characters)";

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = init_logs(std::env::var("LOG_FORMAT").ok().as_deref()) {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["serve"] => serve(config).await,
        ["import", "demo"] => import_demo(&config).await,
        ["import", "evidence", dir] => import_evidence(&config, dir).await,
        ["import", kind, file] => import(&config, kind, file).await,
        ["export", kind, file] => export(&config, kind, file, None).await,
        ["export", kind, file, "--since", since] => export(&config, kind, file, Some(since)).await,
        ["staff", "add", name, role] => add_staff(&config, name, role).await,
        ["backup", file] => backup(&config, file).await,
        ["restore", file] => restore(&config, file, false).await,
        ["restore", "--force", file] | ["restore", file, "--force"] => restore(&config, file, true).await,
        ["precompress"] => precompress(),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let mut leptos_options = match get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(e) => {
            eprintln!("cannot read the Leptos configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    // cargo-leptos writes the content hashes of the built files beside the binary; use them when present.
    let hash_file =
        std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(&*leptos_options.hash_file)));
    leptos_options.hash_files = hash_file.is_some_and(|file| file.exists());
    let addr = leptos_options.site_addr;
    // The sandbox gateway listens only when it takes the payments (never in production).
    let sandbox_on = cfg!(feature = "sandbox") && config.payment_provider == PaymentProvider::Sandbox;
    let sandbox_addr = config.sandbox_addr.parse::<std::net::SocketAddr>().ok().filter(|_| sandbox_on);
    for listen in std::iter::once(addr).chain(sandbox_addr).chain(config.metrics_addr) {
        if let Err(e) = config.check_listen(listen) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    tracing::info!(?config, "starting");
    let state = match server::prepare(config, leptos_options).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("start-up failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(feature = "sandbox")]
    if sandbox_on {
        let sandbox = match tokio::net::TcpListener::bind(&state.config.sandbox_addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("cannot listen on {} for the sandbox gateway: {e}", state.config.sandbox_addr);
                return ExitCode::FAILURE;
            }
        };
        server::serve_sandbox(&state, sandbox).await;
    }
    if let Some(metrics_addr) = state.config.metrics_addr {
        match tokio::net::TcpListener::bind(metrics_addr).await {
            Ok(listener) => server::serve_metrics(&state, listener).await,
            Err(e) => {
                eprintln!("cannot listen on {metrics_addr} for the metrics: {e}");
                return ExitCode::FAILURE;
            }
        }
        tracing::info!("metrics at http://{metrics_addr}/metrics");
    }
    let background = server::Background::start(&state);
    if sandbox_on {
        tracing::info!("listening on http://{addr}; sandbox gateway at {}", state.config.sandbox_url);
    } else {
        tracing::info!("listening on http://{addr}");
    }
    let drain = std::time::Duration::from_secs(state.config.drain_secs.unsigned_abs());
    let delay = std::time::Duration::from_secs(state.config.shutdown_delay_secs.unsigned_abs());
    let readiness = state.readiness.clone();
    let app = server::router(state);
    // Without TCP_NODELAY, a response written in pieces (a static file's headers, then its body) waits for the
    // client's delayed ACK: about 40 ms per request on a kept-alive connection.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY could not be set");
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => return exit(served),
        () = stop_signal() => {}
    }
    // On SIGTERM or SIGINT: /readyz says draining while the server still serves for SHUTDOWN_DELAY_SECS, so load
    // balancers stop sending; then no new connections, and requests in flight and the background tasks' passes
    // finish, for at most SHUTDOWN_DRAIN_SECS together.
    readiness.start_draining();
    if !delay.is_zero() {
        tracing::info!(delay_secs = delay.as_secs(), "stopping: /readyz answers 503 while load balancers catch up");
        tokio::select! {
            served = &mut server => return exit(served),
            () = tokio::time::sleep(delay) => {}
        }
    }
    tracing::info!(drain_secs = drain.as_secs(), "stopping: finishing the requests in flight");
    let _ = stop.send(());
    let (served, finished) = tokio::join!(tokio::time::timeout(drain, server), background.stop(drain));
    let served = served.unwrap_or_else(|_| {
        tracing::warn!(drain_secs = drain.as_secs(), "requests still in flight after the drain time");
        Ok(())
    });
    if !finished {
        tracing::warn!("a background pass was still running at the deadline; its transaction is rolled back");
    }
    tracing::info!("stopped");
    exit(served)
}

/// Logs as plain text, or as one JSON object a line with `LOG_FORMAT=json` (each line carries its request's span,
/// and so its request id); `RUST_LOG` filters them.
fn init_logs(format: Option<&str>) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format.unwrap_or("") {
        "" | "text" => logs.init(),
        "json" => logs.json().flatten_event(true).init(),
        other => return Err(format!("LOG_FORMAT must be text or json, not {other}")),
    }
    Ok(())
}

fn exit(served: std::io::Result<()>) -> ExitCode {
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C (SIGINT), or SIGTERM, which a service manager or a container runtime sends to stop the server.
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM cannot be caught; only Ctrl-C stops the server gracefully");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

async fn open(config: &Config) -> Option<Db> {
    match Db::connect_with(&config.database_url, config.db_readers).await {
        Ok(db) => Some(db),
        Err(e) => {
            eprintln!("cannot open the database: {e}");
            None
        }
    }
}

async fn import(config: &Config, kind: &str, file: &str) -> ExitCode {
    let Some(kind) = Kind::parse(kind) else {
        eprintln!("unknown kind {kind}\n{USAGE}");
        return ExitCode::from(2);
    };
    let path = std::path::Path::new(file);
    if let Err(e) = std::fs::metadata(path) {
        eprintln!("cannot read {file}: {e}");
        return ExitCode::FAILURE;
    }
    let Some(db) = open(config).await else {
        return ExitCode::FAILURE;
    };
    let operator = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let name = path.file_name().map_or_else(|| file.to_owned(), |n| n.to_string_lossy().into_owned());
    let mut progress = Progress::new(&name);
    // The file is streamed from disk, checked in full and then written in batches, whatever its size.
    let imported = import_from(&db, kind, Source::File(path), Actor::Operator(&operator), &mut |event| {
        if let Event::Contradiction(row) = &event {
            eprintln!("{file}: {row}");
        } else if let Some(line) = progress.line(&event) {
            eprintln!("{line}");
        }
    })
    .await;
    match imported {
        Ok(report) if report.updated > 0 && report.nothing_changed() => {
            println!("{file}: 数据无变化，{} 条均与已有数据相同，未写入任何数据", report.updated);
            ExitCode::SUCCESS
        }
        Ok(report) => {
            let kept = match report.kept {
                0 => String::new(),
                kept => format!("，其中 {kept} 条保留了应用内已有的处理或缴款结果"),
            };
            let unchanged = match report.unchanged {
                0 => String::new(),
                n => format!("（{n} 条与已有数据相同，未改写）"),
            };
            println!("{file}: 新增 {} 条，更新 {} 条{kept}{unchanged}", report.inserted, report.updated);
            ExitCode::SUCCESS
        }
        Err(refused @ (ImportError::Rows(_) | ImportError::TooManyRows { .. })) => {
            for row in refused.row_errors() {
                eprintln!("{file}: {row}");
            }
            let shown = if matches!(refused, ImportError::TooManyRows { .. }) {
                format!("（以上只列出前 {} 行）", app::import::MAX_REPORTED_ROWS)
            } else {
                String::new()
            };
            eprintln!("{file}: {} 行有误，未导入任何数据{shown}", refused.bad_rows());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{file}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn export(config: &Config, kind: &str, file: &str, since: Option<&str>) -> ExitCode {
    let Some(kind) = app::export::Kind::parse(kind) else {
        eprintln!("unknown kind {kind}\n{USAGE}");
        return ExitCode::from(2);
    };
    let since = match since.map(|text| app::export::parse_shanghai_time(text).ok_or(text)).transpose() {
        Ok(since) => since,
        Err(text) => {
            eprintln!("--since {text}: expected YYYY-MM-DD, YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS (Asia/Shanghai)");
            return ExitCode::from(2);
        }
    };
    let Some(db) = open(config).await else {
        return ExitCode::FAILURE;
    };
    let operator = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    // The file is written whole beside its destination before the run commits and renamed after: a failed write
    // claims no event, and no reader ever sees half a file.
    let partial = format!("{file}.partial");
    let write = |bytes: &[u8]| {
        use std::io::Write;
        let mut out = std::fs::File::create(&partial)?;
        out.write_all(bytes)?;
        out.sync_all()
    };
    let outcome = app::export::export(&db, kind, since, app::platform::audit::Actor::Operator(&operator), write).await;
    match outcome.map(|done| (std::fs::rename(&partial, file), done)) {
        Ok((Ok(()), done)) => {
            println!("{file}: 导出 {} 条（第 {} 次导出）", done.rows, done.run);
            ExitCode::SUCCESS
        }
        Ok((Err(e), done)) => {
            eprintln!("{file}: 导出已记录（第 {} 次），但文件无法改名，内容在 {partial}：{e}", done.run);
            ExitCode::FAILURE
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            eprintln!("{file}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn import_evidence(config: &Config, dir: &str) -> ExitCode {
    let Some(store_dir) = &config.evidence_dir else {
        eprintln!("EVIDENCE_DIR is not set: it names the folder the evidence photos are copied into");
        return ExitCode::FAILURE;
    };
    let store = match DirectoryStore::open(store_dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(db) = open(config).await else {
        return ExitCode::FAILURE;
    };
    let operator = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match import_photos(&db, &store, std::path::Path::new(dir), &operator).await {
        Ok(report) => {
            for skipped in &report.skipped {
                eprintln!("{dir}/{}: {}", skipped.name, skipped.reason);
            }
            println!("{dir}: 已复制 {} 张照片，跳过 {} 个文件", report.copied, report.skipped.len());
            // A skipped file is work left for the operator, so scripts see it even though the rest was copied.
            if report.skipped.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{dir}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn backup(config: &Config, file: &str) -> ExitCode {
    match server::backup::backup(&config.database_url, std::path::Path::new(file)).await {
        Ok(()) => {
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            println!("{file}: backup written ({size} bytes)");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("backup failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn restore(config: &Config, file: &str, force: bool) -> ExitCode {
    match server::backup::restore(&config.database_url, std::path::Path::new(file), force).await {
        Ok(()) => {
            println!("{file}: restored; the database carries every migration of this build");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("restore failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn precompress() -> ExitCode {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    match server::precompress(std::path::Path::new(&site_root)) {
        Ok(written) => {
            println!("{site_root}: {written} compressed files written");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("precompressing {site_root} failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn add_staff(config: &Config, name: &str, role: &str) -> ExitCode {
    let Some(role) = app::console::model::Role::parse(role) else {
        eprintln!("unknown role {role}\n{USAGE}");
        return ExitCode::from(2);
    };
    let mut password = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut password) {
        eprintln!("cannot read the password from standard input: {e}");
        return ExitCode::FAILURE;
    }
    let password = password.trim_end_matches(['\r', '\n']);
    let Some(db) = open(config).await else {
        return ExitCode::FAILURE;
    };
    let operator = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match app::console::auth::add_staff(&db, name, role, password, &operator).await {
        Ok(()) => {
            println!("staff account {name} ({}) created", role.code());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn import_demo(config: &Config) -> ExitCode {
    let Some(db) = open(config).await else {
        return ExitCode::FAILURE;
    };
    match app::import::load_demo(&db).await {
        Ok(()) => {
            println!("demo data loaded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo data failed: {e}");
            ExitCode::FAILURE
        }
    }
}

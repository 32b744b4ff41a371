//! `fake-vendors`: the loopback fakes of every outside system plus the HTTPS edge, for the production smoke test
//! (`scripts/smoke-production.sh`). Test and development code only: built with the `fakes` feature.
//!
//! `fake-vendors ENV_FILE` starts them on ports from `FAKES_PORT` (default 3200) up, writes the app's settings for
//! them to ENV_FILE (`KEY=value` lines, keys written next to it), and serves until killed. The edge listens on
//! `FAKES_PORT` and passes requests to the app at `FAKES_APP_ADDR` (default `127.0.0.1:3199`).

use std::io::Write;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env_file = std::env::args().nth(1).ok_or("usage: fake-vendors ENV_FILE")?;
    let port: u16 = std::env::var("FAKES_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3200);
    let app_addr = std::env::var("FAKES_APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3199".into());
    let edge = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base_url = format!("https://127.0.0.1:{port}");
    let mut settings = vec![
        ("APP_BASE_URL".to_string(), base_url.clone()),
        ("TRUSTED_PROXIES".to_string(), "127.0.0.1".to_string()),
        ("LEPTOS_SITE_ADDR".to_string(), app_addr.clone()),
    ];
    settings.sort();
    let mut out = std::fs::File::create(&env_file)?;
    for (key, value) in &settings {
        writeln!(out, "{key}={value}")?;
    }
    drop(out);
    println!("fake vendors ready; the app's settings are in {env_file}");
    providers::fakes::edge::serve(edge, format!("http://{app_addr}")).await?;
    Ok(())
}

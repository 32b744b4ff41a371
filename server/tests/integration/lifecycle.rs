//! The server process's life (issue 19): a service manager's SIGTERM stops it gracefully, exit status 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn sigterm_stops_accepting_finishes_and_exits_0() {
    let dir = std::env::temp_dir().join(format!("dlt-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (port, sandbox) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env_remove("APP_ENV")
        .env("RUST_LOG", "warn")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("PAYMENT_SANDBOX_ADDR", format!("127.0.0.1:{sandbox}"))
        .env("DATABASE_URL", format!("sqlite://{}/sigterm.db", dir.display()))
        .env("SHUTDOWN_DRAIN_SECS", "5")
        .env("METRICS_ADDR", format!("127.0.0.1:{}", free_port()))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let health = format!("127.0.0.1:{port}");
    let ask = || -> Option<String> {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(&health).ok()?;
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while ask().is_none_or(|a| !a.starts_with("HTTP/1.1 200")) {
        assert!(child.try_wait().unwrap().is_none(), "the server stopped before it answered");
        assert!(Instant::now() < deadline, "the server did not answer /healthz");
        std::thread::sleep(Duration::from_millis(100));
    }
    // An idle kept-alive connection must not hold the stop up past the drain time.
    let idle = std::net::TcpStream::connect(&health).unwrap();
    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server was still running 15 seconds after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(idle);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {stderr}");
    assert!(ask().is_none(), "nothing listens after the stop");
    let _ = std::fs::remove_dir_all(&dir);
}

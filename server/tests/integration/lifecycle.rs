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

/// A `server` process of the release under test, on its own ports and the given database.
struct Instance {
    child: std::process::Child,
    base: String,
    sandbox: String,
}

impl Instance {
    fn spawn(database_url: &str, port: u16, settings: &[(&str, &str)]) -> Instance {
        let sandbox = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .env_remove("APP_ENV")
            .env_remove("DEMO_DATA")
            .env("RUST_LOG", "warn")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("APP_BASE_URL", &base)
            .env("PAYMENT_SANDBOX_ADDR", format!("127.0.0.1:{sandbox}"))
            .env("DATABASE_URL", database_url)
            .env("METRICS_ADDR", format!("127.0.0.1:{}", free_port()))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in settings {
            command.env(key, value);
        }
        Instance { child: command.spawn().unwrap(), base, sandbox: format!("http://127.0.0.1:{sandbox}") }
    }

    /// Waits until `/readyz` answers 200.
    async fn ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = client.get(format!("{}/readyz", self.base)).send().await;
            if answer.is_ok_and(|a| a.status() == 200) {
                return;
            }
            assert!(self.child.try_wait().unwrap().is_none(), "the server stopped before it was ready");
            assert!(Instant::now() < deadline, "the server was not ready within a minute");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn terminate(&self) {
        assert!(Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap().success());
    }

    /// Waits for the process to end and returns its exit code.
    async fn exited(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("the server was still running 30 seconds after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Decided, unpaid decisions of 张三 beside the demo data's, so one test can pay several.
const MORE_DECISIONS: &str = "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,decision_no,decided_on,party_id_number,paid\n\
210200202610080101,辽B6A789,02,2026-10-08 09:31,人民路,1039,机动车违反规定停放、临时停车且驾驶人不在现场，妨碍其他车辆、行人通行的,0,200,0,2102021000015401,2026-11-20,210202198503121234,0\n\
210200202610080102,辽B6A789,02,2026-10-08 09:32,人民路,1039,机动车违反规定停放、临时停车且驾驶人不在现场，妨碍其他车辆、行人通行的,0,200,0,2102021000015402,2026-11-20,210202198503121234,0\n\
210200202610080103,辽B6A789,02,2026-10-08 09:33,人民路,1039,机动车违反规定停放、临时停车且驾驶人不在现场，妨碍其他车辆、行人通行的,0,200,0,2102021000015403,2026-11-20,210202198503121234,0\n\
210200202610080104,辽B6A789,02,2026-10-08 09:34,人民路,1039,机动车违反规定停放、临时停车且驾驶人不在现场，妨碍其他车辆、行人通行的,0,200,0,2102021000015404,2026-11-20,210202198503121234,0\n";

async fn one(db: &app::platform::db::Db, sql: &'static str, decision_no: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql).bind(decision_no).fetch_one(db.pool()).await.unwrap().get(0)
}

/// The cashier's 确认支付 pressed while the server receives SIGTERM, at several moments around the end of its
/// `SHUTDOWN_DELAY_SECS`: whether the notification lands before the listener closes or is refused and the
/// restarted server's reconciliation settles the order, what the gateway charged is applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_confirmed_as_the_server_stops_is_applied_exactly_once() {
    use crate::payments::to_cashier;
    use crate::support::{TestApp, ZHANG_SAN};
    for (name, url) in app::platform::test_db::fresh_database_urls().await {
        let db = app::platform::db::Db::connect(&url).await.unwrap();
        app::import::load_demo(&db).await.unwrap();
        app::import::import_csv(&db, app::import::Kind::Violations, MORE_DECISIONS.as_bytes(), "test").await.unwrap();
        let port = free_port();
        let settings = [("SHUTDOWN_DELAY_SECS", "1"), ("SHUTDOWN_DRAIN_SECS", "5")];
        let mut instance = Instance::spawn(&url, port, &settings);
        instance.ready().await;
        let test_app = TestApp {
            base: instance.base.clone(),
            sandbox: instance.sandbox.clone(),
            metrics: String::new(),
            db: db.clone(),
        };
        let browser = test_app.linked_browser("wechat", "stopping-payer", &ZHANG_SAN).await;
        let mut charged_in_all = 0;
        // Milliseconds between SIGTERM and 确认支付: well inside the delay, then around the listener closing.
        for (lag_ms, decision_no) in
            [(0, "2102021000015401"), (900, "2102021000015402"), (1000, "2102021000015403"), (1080, "2102021000015404")]
        {
            let cashier = to_cashier(&browser, decision_no).await;
            instance.terminate();
            tokio::time::sleep(Duration::from_millis(lag_ms)).await;
            // The gateway's own page, not the app: it commits the payment and then notifies the app on its own.
            let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            let _ = no_redirects.post(format!("{cashier}/pay")).send().await;
            assert_eq!(instance.exited().await, Some(0), "{name}: exit status after SIGTERM");
            // Reconciliation asks about orders open for over a minute, at start and every minute: a minute passes.
            sqlx::query(
                "UPDATE payment_orders SET created_at = created_at - 120 WHERE decision_no = $1 AND state = 'open'",
            )
            .bind(decision_no)
            .execute(db.pool())
            .await
            .unwrap();
            instance = Instance::spawn(&url, port, &settings);
            instance.ready().await;
            let charged = one(
                &db,
                "SELECT COUNT(*) FROM sandbox_orders s JOIN payment_orders o ON o.order_no = s.order_no \
                 WHERE o.decision_no = $1 AND s.state = 'paid'",
                decision_no,
            )
            .await;
            // The restarted server reconciles at once; wait until nothing of this decision is open.
            let deadline = Instant::now() + Duration::from_secs(30);
            while one(&db, "SELECT COUNT(*) FROM payment_orders WHERE decision_no = $1 AND state = 'open'", decision_no)
                .await
                > 0
                && charged > 0
            {
                assert!(Instant::now() < deadline, "{name}: the charged order was never settled");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let applied =
                one(&db, "SELECT COUNT(*) FROM payment_orders WHERE decision_no = $1 AND state = 'paid'", decision_no)
                    .await;
            let exceptions = one(
                &db,
                "SELECT COUNT(*) FROM payment_exceptions e JOIN payment_orders o ON o.order_no = e.order_no \
                 WHERE o.decision_no = $1",
                decision_no,
            )
            .await;
            assert_eq!(exceptions, 0, "{name}, {lag_ms} ms: a payment exception for {decision_no}");
            let paid = one(&db, "SELECT paid FROM violations WHERE decision_no = $1", decision_no).await;
            assert!(charged <= 1, "{name}: the gateway charged {decision_no} {charged} times");
            assert_eq!(applied, charged, "{name}, {lag_ms} ms: charged {charged}, payments recorded {applied}");
            assert_eq!(paid, charged, "{name}, {lag_ms} ms: the fine's paid flag");
            charged_in_all += charged;
        }
        assert!(
            charged_in_all >= 2,
            "{name}: only {charged_in_all} of the confirms were charged; the test proves little"
        );
        instance.terminate();
        assert_eq!(instance.exited().await, Some(0));
    }
}

/// A rolling restart on PostgreSQL: one of two instances is stopped with SIGTERM and started again while clients keep
/// asking for pages through a balancer that, like nginx's health checks or a Kubernetes Service, sends only to the
/// instances whose `/readyz` last answered 200. Every request the clients sent is answered with its page.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_one_of_two_instances_drops_no_request() {
    use crate::support::{TestApp, ZHANG_SAN};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let Some((_, url)) =
        app::platform::test_db::fresh_database_urls().await.into_iter().find(|(name, _)| *name == "postgres")
    else {
        eprintln!("PostgreSQL unreachable: the rolling restart is not tested");
        return;
    };
    let db = app::platform::db::Db::connect(&url).await.unwrap();
    app::import::load_demo(&db).await.unwrap();
    let settings = [("SHUTDOWN_DELAY_SECS", "1"), ("SHUTDOWN_DRAIN_SECS", "10")];
    let ports = [free_port(), free_port()];
    let mut first = Instance::spawn(&url, ports[0], &settings);
    let mut second = Instance::spawn(&url, ports[1], &settings);
    first.ready().await;
    second.ready().await;
    let bases: Arc<[String; 2]> = Arc::new([first.base.clone(), second.base.clone()]);
    // Sessions live in the database, so a browser signed in through one instance is signed in at both.
    let test_app =
        TestApp { base: first.base.clone(), sandbox: first.sandbox.clone(), metrics: String::new(), db: db.clone() };
    let cookie = test_app.linked_browser("wechat", "rolling-restart", &ZHANG_SAN).await.cookie_header();

    let ready = Arc::new([AtomicBool::new(true), AtomicBool::new(true)]);
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let balancer = {
        let (ready, stop, bases, client) = (ready.clone(), stop.clone(), bases.clone(), client.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for i in 0..2 {
                    let answer =
                        client.get(format!("{}/readyz", bases[i])).timeout(Duration::from_secs(1)).send().await;
                    ready[i].store(answer.is_ok_and(|a| a.status() == 200), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut clients = Vec::new();
    for worker in 0..8usize {
        let (ready, stop, bases, client) = (ready.clone(), stop.clone(), bases.clone(), client.clone());
        let (served, failures, cookie) = (served.clone(), failures.clone(), cookie.clone());
        clients.push(tokio::spawn(async move {
            let mut turn = worker;
            while !stop.load(Ordering::Relaxed) {
                turn += 1;
                let Some(i) = [turn % 2, (turn + 1) % 2].into_iter().find(|&i| ready[i].load(Ordering::Relaxed)) else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let path = if turn % 3 == 0 { "/" } else { "/vehicles" };
                let answer = client.get(format!("{}{path}", bases[i])).header("cookie", &cookie).send().await;
                let outcome = match answer {
                    Ok(answer) if answer.status() == 200 => match answer.text().await {
                        Ok(page) if page.contains("辽B12345") || path == "/" => Ok(()),
                        Ok(_) => Err("a page without the driver's vehicles".to_string()),
                        Err(e) => Err(format!("body cut off: {e}")),
                    },
                    Ok(answer) => Err(format!("status {}", answer.status())),
                    Err(e) => Err(format!("{e:?}")),
                };
                match outcome {
                    Ok(()) => {
                        served[i].fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => failures.lock().unwrap().push(format!("instance {i} {path}: {e}")),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = served[0].load(Ordering::Relaxed);
    first.terminate();
    assert_eq!(first.exited().await, Some(0), "exit status after SIGTERM");
    first = Instance::spawn(&url, ports[0], &settings);
    first.ready().await;
    let restarted = served[0].load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    balancer.await.unwrap();
    let failures = failures.lock().unwrap();
    let (a, b) = (served[0].load(Ordering::Relaxed), served[1].load(Ordering::Relaxed));
    assert!(
        failures.is_empty(),
        "{} requests failed during the restart, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        before > 20 && b > 100,
        "too little load to prove anything: {before} before the stop, {b} on the other instance"
    );
    assert!(a > restarted, "the restarted instance served nothing ({a} in all, {restarted} before it was ready)");
    second.terminate();
    first.terminate();
    assert_eq!(second.exited().await, Some(0));
    assert_eq!(first.exited().await, Some(0));
}

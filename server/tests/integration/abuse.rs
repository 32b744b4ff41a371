//! A determined attacker against the limits: SMS pumping, guessing staff passwords in parallel, forged client
//! addresses, development sign-in codes where development sign-in is off, and a server left on its defaults.

use app::console::auth::add_staff;
use app::console::model::Role;
use app::platform::config::DEV_COOKIE_KEY;
use app::platform::platform_identity::DevIdentity;
use app::platform::session::CookieSigner;
use reqwest::header::{ACCEPT, COOKIE, LOCATION, ORIGIN, REFERER};
use reqwest::StatusCode;

use crate::support::{Browser, TestApp};

/// A different valid mobile number for each `n`.
fn phone(n: u32) -> String {
    format!("1390411{n:04}")
}

/// 获取验证码 on the 实名认证 form for `phone`, optionally as a client behind a proxy; the page it lands on.
async fn ask_code(browser: &Browser, phone: &str, forwarded_for: Option<&str>) -> String {
    let mut request = browser
        .client
        .post(format!("{}/api/realname", browser.base))
        .header(ORIGIN, &browser.base)
        .header(ACCEPT, "text/html")
        .header(REFERER, format!("{}/", browser.base))
        .form(&[("op", "send_code"), ("name", ""), ("id_number", ""), ("card_no", ""), ("phone", phone)]);
    if let Some(client) = forwarded_for {
        request = request.header("X-Forwarded-For", client);
    }
    request.send().await.unwrap().text().await.unwrap()
}

const SENT: &str = "验证码已发送至";
const TOO_MANY: &str = "获取验证码过于频繁，请1小时后再试";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_cannot_text_every_number() {
    for (db, app) in TestApp::each_with(&[("SMS_CODES_PER_SESSION_HOUR", "3")]).await {
        let browser = app.browser();
        browser.sign_in("wechat", "pumper").await;
        for n in 0..3 {
            assert!(ask_code(&browser, &phone(n), None).await.contains(SENT), "{db}: code {n} is sent");
        }
        let page = ask_code(&browser, &phone(3), None).await;
        assert!(page.contains(TOO_MANY) && !page.contains(SENT), "{db}: the fourth number gets nothing");
        assert_eq!(app.count("SELECT COUNT(*) FROM sms_outbox").await, 3, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_sessions_from_one_client_cannot_text_every_number() {
    for (db, app) in TestApp::each_with(&[("SMS_CODES_PER_CLIENT_HOUR", "4")]).await {
        for n in 0..5 {
            let browser = app.browser();
            browser.sign_in("icbc", &format!("pumper-{n}")).await;
            let page = ask_code(&browser, &phone(n), None).await;
            assert_eq!(page.contains(SENT), n < 4, "{db}: session {n}");
            // A client that forges its address gains nothing when no proxy is trusted.
            if n == 4 {
                let forged = ask_code(&browser, &phone(9), Some("198.51.100.77")).await;
                assert!(forged.contains(TOO_MANY), "{db}: X-Forwarded-For from a client is ignored");
            }
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM sms_outbox").await, 4, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let settings = [("TRUSTED_PROXIES", "127.0.0.1"), ("SMS_CODES_PER_CLIENT_HOUR", "2")];
    for (db, app) in TestApp::each_with(&settings).await {
        for n in 0..3 {
            let browser = app.browser();
            browser.sign_in("icbc", &format!("behind-proxy-{n}")).await;
            let page = ask_code(&browser, &phone(n), Some("203.0.113.5")).await;
            assert_eq!(page.contains(SENT), n < 2, "{db}: 203.0.113.5's code {n}");
        }
        let other = app.browser();
        other.sign_in("icbc", "behind-proxy-other").await;
        assert!(ask_code(&other, &phone(7), Some("203.0.113.6")).await.contains(SENT), "{db}: another client");
        // What a client writes in front of the proxy's entry does not make it someone else.
        let sly = app.browser();
        sly.sign_in("icbc", "behind-proxy-sly").await;
        let page = ask_code(&sly, &phone(8), Some("192.0.2.1, 203.0.113.5")).await;
        assert!(page.contains(TOO_MANY), "{db}: the forged hop is ignored");
    }
}

/// 张三 as the test cards (`support::CARDS`) hold him.
const ZHANG: [(&str, &str); 4] =
    [("name", "张三"), ("id_number", "210202198503122018"), ("card_no", "6222009900001017"), ("phone", "13804110001")];

/// 实名认证 for 张三 from a client behind the trusted proxy: `op` is send_code or submit.
async fn realname_as(browser: &Browser, client: &str, op: &str, code: &str) -> String {
    let mut fields = ZHANG.to_vec();
    fields.extend([("op", op), ("code", code)]);
    let form: std::collections::HashMap<&str, &str> = fields.into_iter().collect();
    let response = browser
        .client
        .post(format!("{}/api/realname", browser.base))
        .header(ORIGIN, &browser.base)
        .header(ACCEPT, "text/html")
        .header(REFERER, format!("{}/", browser.base))
        .header("X-Forwarded-For", client)
        .form(&form)
        .send()
        .await
        .unwrap();
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_asking_codes_for_a_drivers_phone_neither_spends_nor_replaces_the_drivers_code() {
    let settings = [("TRUSTED_PROXIES", "127.0.0.1"), ("SMS_CODES_PER_HOUR", "3")];
    for (db, app) in TestApp::each_with(&settings).await {
        let phone = ZHANG[3].1;
        let driver = app.browser();
        driver.sign_in("wechat", "the-driver").await;
        assert!(realname_as(&driver, "203.0.113.20", "send_code", "").await.contains(SENT), "{db}");
        let code = app.latest_code(phone).await.unwrap();
        // The stranger asks again and again for the driver's number, waiting out the resend time each time.
        let stranger = app.browser();
        stranger.sign_in("wechat", "the-stranger").await;
        let mut sent = 0;
        for _ in 0..5 {
            sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
            if realname_as(&stranger, "198.51.100.9", "send_code", "").await.contains(SENT) {
                sent += 1;
            }
            // Each wrong guess from the stranger's session counts against the stranger's code only.
            realname_as(&stranger, "198.51.100.9", "submit", "000000").await;
        }
        assert_eq!(sent, 3, "{db}: the stranger's own hourly share for the phone");
        // The driver's code from before all that still works, and the driver could still ask for another.
        let page = realname_as(&driver, "203.0.113.20", "submit", &code).await;
        assert!(page.contains("实名认证成功"), "{db}: the driver's code was replaced or spent: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM realname_bindings WHERE unbound_at IS NULL").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_together_cannot_text_one_phone_past_its_ceiling() {
    let settings = [("TRUSTED_PROXIES", "127.0.0.1"), ("SMS_CODES_PER_PHONE_HOUR", "4")];
    for (db, app) in TestApp::each_with(&settings).await {
        let mut sent = 0;
        for n in 0..6 {
            let browser = app.browser();
            browser.sign_in("icbc", &format!("ceiling-{n}")).await;
            if ask_code(&browser, &phone(1), Some(&format!("203.0.113.{}", 40 + n))).await.contains(SENT) {
                sent += 1;
            }
        }
        assert_eq!(sent, 4, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sms_outbox").await, 4, "{db}");
    }
}

const PASSWORD: &str = "long-password-123";

/// Posts the console sign-in form; whether it signed in.
async fn staff_login(browser: &Browser, username: &str, password: &str) -> bool {
    let response = browser.post("/api/staff_login", &[("username", username), ("password", password)]).await;
    let page = response.text().await.unwrap();
    page.contains("退出登录")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_at_once_all_count_before_any_password_is_checked() {
    for (db, app) in TestApp::each().await {
        add_staff(&app.db, "wang.li", Role::Bank, PASSWORD, "test").await.unwrap();
        let guesses: Vec<_> = (0..12)
            .map(|n| {
                let browser = app.browser();
                tokio::spawn(async move { staff_login(&browser, "wang.li", &format!("wrong-password-{n}")).await })
            })
            .collect();
        // The right password arrives while the wrong ones are still being checked.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let right = staff_login(&app.browser(), "wang.li", PASSWORD).await;
        for guess in guesses {
            assert!(!guess.await.unwrap(), "{db}");
        }
        assert!(!right, "{db}: the 13th attempt in the window is refused, right password or not");
        assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_guess_across_many_names() {
    for (db, app) in TestApp::each().await {
        add_staff(&app.db, "zhao.min", Role::Police, PASSWORD, "test").await.unwrap();
        let browser = app.browser();
        for n in 0..30 {
            assert!(!staff_login(&browser, &format!("name{n}"), "wrong-password-0").await, "{db}");
        }
        assert!(!staff_login(&browser, "zhao.min", PASSWORD).await, "{db}: the client is out of attempts");
        assert_eq!(app.count("SELECT COUNT(*) FROM staff_sessions").await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_username_never_reaches_a_key() {
    for (db, app) in TestApp::each().await {
        let huge = "a".repeat(5000);
        assert!(!staff_login(&app.browser(), &huge, PASSWORD).await, "{db}");
        let longest = app.count("SELECT COALESCE(MAX(LENGTH(bucket)), 0) FROM rate_limits").await;
        assert!(longest < 200, "{db}: a rate-limit key of {longest} characters");
        let long_password = "p".repeat(100_000);
        assert!(!staff_login(&app.browser(), "wang.li", &long_password).await, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_sign_in_codes_are_refused_when_development_sign_in_is_off() {
    for (db, app) in TestApp::each_with(&[("DEV_LOGIN", "false")]).await {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let dev = client.get(format!("{}/auth/dev/login?channel=wechat&uid=x", app.base)).send().await.unwrap();
        assert_eq!(dev.status(), StatusCode::NOT_FOUND, "{db}");
        // The development key is public (it is in the source): a code minted with it must not sign anyone in.
        let code = DevIdentity::new(CookieSigner::new(DEV_COOKIE_KEY)).mint_code(
            app::identity::model::Channel::Wechat,
            "victim-openid",
            app::platform::now(),
        );
        let response = client
            .get(format!("{}/auth/callback?channel=wechat&code={code}&state=s1", app.base))
            .header(COOKIE, "dlt_oauth_state=s1")
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), StatusCode::FOUND, "{db}: {:?}", response.headers().get(LOCATION));
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_development_outbox_escapes_what_it_prints() {
    for (db, app) in TestApp::each().await {
        sqlx::query("INSERT INTO sms_outbox (phone, body, sent_at) VALUES ('13904110001', $1, 0)")
            .bind("<script>alert(1)</script>")
            .execute(app.db.pool())
            .await
            .unwrap();
        let page = app.browser().get("/dev/sms?phone=13904110001").await;
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.contains("<script>"), "{db}: {page}");
    }
}

#[test]
fn a_server_left_on_the_development_default_refuses_a_network_address() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env_remove("APP_ENV")
        .env("RUST_LOG", "warn")
        .env("LEPTOS_SITE_ADDR", "0.0.0.0:0")
        .env("DATABASE_URL", "sqlite::memory:")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server started on 0.0.0.0 with APP_ENV unset");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("APP_ENV is not set") && stderr.contains("0.0.0.0:0"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_pass_never_reaches_the_gateway() {
    const DECISION: &str = "2102021000015367";
    for (db, app) in TestApp::each_with_demo().await {
        let guest = app.browser();
        let response =
            guest.post("/api/guest_lookup", &[("decision_no", DECISION), ("plate", "辽B6A789"), ("name", "")]).await;
        let url = response.url().to_string();
        let page = response.text().await.unwrap();
        let pass = url.split("pass=").nth(1).expect("a pass in the URL").to_string();
        let start = page.find("name=\"total_fen\" value=\"").unwrap() + "name=\"total_fen\" value=\"".len();
        let total = page[start..].split('"').next().unwrap().to_string();
        let cashier = guest.post("/api/start_guest_payment", &[("pass", &pass), ("total_fen", &total)]).await;
        let cashier = cashier.url().to_string();
        let return_url: String =
            sqlx::query_scalar("SELECT return_url FROM sandbox_orders").fetch_one(app.db.pool()).await.unwrap();
        assert!(!return_url.contains(&pass) && !return_url.contains("pass="), "{db}: {return_url}");
        // The guest still lands on the result from the gateway and can open the receipt.
        let result = guest.client.post(format!("{cashier}/pay")).send().await.unwrap().text().await.unwrap();
        assert!(result.contains("缴费成功") && result.contains("电子缴款凭证"), "{db}: {result}");
        let stranger = app.browser().get(&return_url.replace(&app.base, "")).await;
        assert!(!stranger.contains("缴费成功"), "{db}: the return address alone opens nothing");
    }
}

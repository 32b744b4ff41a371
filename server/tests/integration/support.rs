//! A running app per database and a browser-like client for it.

use app::import::{import_csv, Kind};
use app::platform::config::Config;
use app::platform::db::Db;
use leptos::config::LeptosOptions;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{ACCEPT, ORIGIN};
use std::collections::HashMap;
use std::sync::Arc;

/// People and cards every test can rely on.
pub const CARDS: &str = "card_no,id_number,name,phone,status\n\
6222009900001017,210202198503122018,张三,13804110001,active\n\
6222009900001025,210203199007184026,李四,13804110002,active\n\
6222009900001033,210211197801015036,赵六,13804110004,cancelled\n\
6222009900001041,210211197801015036,赵六,13804110004,active\n";

/// A demo person, as the README lists them.
pub struct Person {
    pub name: &'static str,
    pub id_number: &'static str,
    pub card_no: &'static str,
    pub phone: &'static str,
}

/// 张三: C1, 4 points, three vehicles with records of every kind.
pub const ZHANG_SAN: Person =
    Person { name: "张三", id_number: "210202198503121234", card_no: "6222023400001013", phone: "13804110001" };
/// 李四: B2, 3 points, one truck.
pub const LI_SI: Person =
    Person { name: "李四", id_number: "210203197809062312", card_no: "6222023400001021", phone: "13804110002" };
/// 王五: one vehicle, no records.
pub const WANG_WU: Person =
    Person { name: "王五", id_number: "210204199201273459", card_no: "6222023400001039", phone: "13804110003" };

/// The app under test and the database behind it.
pub struct TestApp {
    pub base: String,
    pub sandbox: String,
    /// The metrics listener's base URL (`METRICS_ADDR`'s, apart from the app's).
    pub metrics: String,
    pub db: Db,
}

impl TestApp {
    /// Starts the app on `db` at a free port.
    pub async fn start(db: Db) -> TestApp {
        Self::start_with(db, &[]).await
    }

    /// Starts the app on `db` with some settings of its environment given (the rest are the development defaults).
    pub async fn start_with(db: Db, settings: &[(&str, &str)]) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sandbox = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox_url = format!("http://{}", sandbox.local_addr().unwrap());
        let lookup = |key: &str| match key {
            _ if settings.iter().any(|(k, _)| *k == key) => {
                settings.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
            }
            "DATABASE_URL" => Some("sqlite://unused".into()),
            "APP_BASE_URL" => Some(base.clone()),
            "PAYMENT_SANDBOX_URL" => Some(sandbox_url.clone()),
            "STUDY_VIDEO_DIR" => Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../public/videos").into()),
            _ => None,
        };
        let config = Config::from_lookup(lookup).expect("development config");
        let leptos_options = LeptosOptions::builder().output_name("dalian-traffic").site_root("target/site").build();
        let gateway = server::state::gateway(&config, &lookup).expect("the sandbox gateway");
        let state = server::state::assemble(config, db.clone(), leptos_options, gateway, &lookup)
            .expect("the test state assembles");
        server::serve_sandbox(&state, sandbox).await;
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_url = format!("http://{}", metrics.local_addr().unwrap());
        server::serve_metrics(&state, metrics).await;
        let mut background = server::Background::default();
        background.sms_dispatch(&state);
        background.gateway_probe(&state);
        let router = server::router(state);
        tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service).await.unwrap()
        });
        TestApp { base, sandbox: sandbox_url, metrics: metrics_url, db }
    }

    /// One app per database (SQLite and PostgreSQL), each with the standard cards loaded.
    pub async fn each() -> Vec<(&'static str, TestApp)> {
        Self::each_with(&[]).await
    }

    /// As `each`, with some settings given.
    pub async fn each_with(settings: &[(&str, &str)]) -> Vec<(&'static str, TestApp)> {
        let mut apps = Vec::new();
        for (name, db) in app::platform::test_db::fresh_databases().await {
            import_csv(&db, Kind::Cards, CARDS.as_bytes(), "test").await.expect("cards load");
            apps.push((name, TestApp::start_with(db, settings).await));
        }
        apps
    }

    /// One app per database with the bundled demo data loaded (the README's demo accounts).
    pub async fn each_with_demo() -> Vec<(&'static str, TestApp)> {
        Self::each_with_demo_and(&[]).await
    }

    /// As `each_with_demo`, with some settings given.
    pub async fn each_with_demo_and(settings: &[(&str, &str)]) -> Vec<(&'static str, TestApp)> {
        let mut apps = Vec::new();
        for (name, db) in app::platform::test_db::fresh_databases().await {
            app::import::load_demo(&db).await.expect("demo data loads");
            apps.push((name, TestApp::start_with(db, settings).await));
        }
        apps
    }

    /// Signs a new browser in on `channel` and links it to a person by 实名认证.
    pub async fn linked_browser(&self, channel: &str, uid: &str, person: &Person) -> Browser {
        let (browser, page) = self.try_realname(channel, uid, person).await;
        assert!(page.contains("实名认证成功"), "{} could not link: {page}", person.name);
        browser
    }

    /// Signs a new browser in on `channel` and submits 实名认证 for `person` with the code read from their phone's
    /// messages; the browser and the page it lands on, whatever the outcome.
    pub async fn try_realname(&self, channel: &str, uid: &str, person: &Person) -> (Browser, String) {
        let browser = self.browser();
        browser.sign_in(channel, uid).await;
        // Lets the resend wait pass when one phone links several accounts in a test.
        sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(self.db.pool()).await.unwrap();
        let mut fields = vec![
            ("op", "send_code"),
            ("name", person.name),
            ("id_number", person.id_number),
            ("card_no", person.card_no),
            ("phone", person.phone),
        ];
        browser.submit("/api/realname", &fields).await;
        let code = self.latest_code(person.phone).await.expect("a code");
        fields[0] = ("op", "submit");
        fields.push(("code", &code));
        let page = browser.submit("/api/realname", &fields).await;
        (browser, page)
    }

    /// A browser with its own cookie jar.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
        Browser { base: self.base.clone(), client, jar }
    }

    /// The newest verification code the development outbox holds for `phone`.
    pub async fn latest_code(&self, phone: &str) -> Option<String> {
        let page = reqwest::get(format!("{}/dev/sms?phone={phone}", self.base)).await.unwrap().text().await.unwrap();
        let start = page.find("验证码是")? + "验证码是".len();
        Some(page[start..start + 6].to_string())
    }

    /// How many rows a one-number query returns, for checking that nothing changed.
    pub async fn count(&self, sql: &'static str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql).fetch_one(self.db.pool()).await.unwrap().get(0)
    }

    /// The value a one-column query finds for `key` (its one parameter); the row must exist.
    pub async fn value<T>(&self, sql: &'static str, key: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        use sqlx::Row;
        sqlx::query(sql).bind(key.to_string()).fetch_one(self.db.pool()).await.unwrap().get(0)
    }
}

/// A client that behaves like a phone's webview: keeps cookies and follows redirects.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    /// The `Cookie` header this browser sends to the app.
    pub fn cookie_header(&self) -> String {
        let url = self.base.parse().unwrap();
        self.jar.cookies(&url).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    /// A page's HTML.
    pub async fn get(&self, path: &str) -> String {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap().text().await.unwrap()
    }

    /// Signs in through the development provider.
    pub async fn sign_in(&self, channel: &str, uid: &str) -> String {
        self.get(&format!("/auth/dev/login?channel={channel}&uid={uid}")).await
    }

    /// Submits a form the way a browser without JavaScript does, and returns the page it lands on.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let response = self.post(path, fields).await;
        assert!(response.status().is_success(), "{path} answered {}", response.status());
        response.text().await.unwrap()
    }

    /// The raw response to a same-site form post.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let form: HashMap<&str, &str> = fields.iter().copied().collect();
        self.client
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, &self.base)
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(reqwest::header::REFERER, format!("{}/", self.base))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

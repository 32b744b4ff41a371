//! Issue 16 item 13: a seeded storm of malformed and hostile requests over every server function and every route,
//! from a stranger, a linked driver and staff of each role. None may answer 5xx, log an error, or change a row.
//! Set `EDGE_SEED` to replay another storm; a failure prints the seed and the request.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use app::console::auth::add_staff;
use app::console::model::Role;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ORIGIN, REFERER};
use reqwest::Method;
use sqlx::Row;

use crate::support::{Browser, TestApp, ZHANG_SAN};

/// Every server function with the fields it reads, and whether it changes something when it succeeds. A new
/// server function must be added here: the test fails on one it does not know.
const SERVER_FNS: &[(&str, &[&str], bool)] = &[
    ("card_apply_page", &[], false),
    ("card_status_page", &["pass"], false),
    ("card_status_lookup", &["application_no", "id_number"], false),
    ("card_apply", &["op", "name", "id_number", "phone", "code", "plate1", "plate2", "plate3", "branch"], true),
    ("console_applications", &["state"], false),
    ("console_application", &["no"], false),
    ("card_application_step", &["no", "op", "reason"], true),
    ("console_login_page", &["failed"], false),
    ("staff_login", &["username", "password"], true),
    ("staff_logout", &[], true),
    ("console_home", &[], false),
    ("console_import_page", &[], false),
    ("console_export_page", &[], false),
    (
        "console_audit",
        &["query[actor]", "query[action]", "query[subject]", "query[from]", "query[to]", "actor", "from"],
        false,
    ),
    ("current_viewer", &[], false),
    ("realname_page", &[], false),
    ("realname", &["op", "name", "id_number", "card_no", "phone", "code"], true),
    ("realname_unlink", &[], true),
    ("sign_out", &[], true),
    ("pay_page", &["decision_no"], false),
    ("start_payment", &["decision_no", "total_fen"], true),
    ("payment_result", &["order_no", "pass"], false),
    ("wxpay_page", &["order_no"], false),
    ("receipt_page", &["receipt_no", "pass"], false),
    ("guest_lookup", &["decision_no", "plate", "name"], false),
    ("guest_decision", &["pass"], false),
    ("start_guest_payment", &["pass", "total_fen"], true),
    ("console_payments", &["state", "channel", "from", "to"], false),
    ("payment_reconciliation", &["date"], false),
    ("payment_exceptions_page", &[], false),
    ("settle_payment_exception", &["id", "note"], true),
    ("query_waiting_orders", &[], true),
    ("refund_payment_exception", &["id"], true),
    ("study_home", &[], false),
    ("study_quiz", &[], false),
    ("submit_quiz", &["answers[Q001]", "answers[1]", "answers"], true),
    ("study_courses", &[], false),
    ("study_course", &["code"], false),
    ("study_start", &["code"], true),
    ("study_heartbeat", &["code", "lease", "position_ms"], true),
    ("issue_certificate", &[], true),
    ("study_certificate", &[], false),
    ("verify_certificate", &["code"], false),
    ("violations_home", &[], false),
    ("violations_agree", &[], true),
    ("vehicle_records", &["plate", "plate_type"], false),
    ("record_page", &["record_no"], false),
    ("process_record", &["record_no"], true),
    ("decision_page", &["decision_no"], false),
    ("fines_page", &[], false),
    ("vehicles_page", &[], false),
    ("unbind_vehicle", &["plate", "plate_type"], true),
];

/// The routes beside the pages and server functions, with the query fields each reads and its method.
const PLAIN_ROUTES: &[(&str, &[&str], &str)] = &[
    ("/auth/callback", &["channel", "code", "state"], "GET"),
    ("/auth/dev/login", &["channel", "uid"], "GET"),
    ("/dev/sms", &["phone"], "GET"),
    ("/evidence/{}", &[], "GET"),
    ("/console/import/upload", &["kind"], "POST"),
    ("/console/export/download", &["kind", "since"], "POST"),
    ("/console/payments.csv", &["state", "channel", "from", "to"], "GET"),
    ("/pay/notify/wechat", &["order_no", "txn_id", "signature"], "POST"),
    ("/videos/{}", &[], "GET"),
    ("/pkg/{}", &[], "GET"),
];

/// Values that no well-behaved form sends, and none of which names anything the storm's driver owns or could
/// legitimately act on: no valid phone, course or application, none of 张三's own plates or records.
const JUNK: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "1e400",
    "NaN",
    "true",
    "null",
    "[]",
    "{\"a\":1}",
    "' OR '1'='1",
    "\"; DROP TABLE cards; --",
    "%",
    "%%32%35",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "辽B1234",
    "辽Z99999",
    "京A0000I",
    "ZZ",
    "99",
    "02",
    "52",
    "2102021985031212345",
    "21020219850312123X",
    "6222023400001014",
    "1380411000",
    "23804110001",
    "张",
    "张三三三三三三三三三三三三三三三三三三三三三三三三三三三三三三三",
    "🚗🚓",
    "\u{202e}txt.exe",
    "\u{feff}",
    "\u{3000}",
    "2026-13-45",
    "2026-02-29",
    "0000-00-00",
    "approve",
    "reject",
    "review",
    "pickup",
    "send_code",
    "submit",
    "paid",
    "WECHAT",
    "alipay",
    "A202612010001",
    "P20260101999999",
    "R20260101999999",
    "C-does-not-exist",
    "a.b.c",
    "1.9999999999.deadbeef",
];

/// Characters the edge must refuse, one per request that uses them.
const CONTROLS: &[&str] = &["\0", "\u{1}", "\u{1b}[31m", "\u{7f}", "\u{85}", "\u{8}"];

/// A small deterministic generator (xorshift64*), so a storm can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What is wrong with a request. `Edge` defects must be refused with exactly 400 and `CrossSite` with 403; the rest
/// with any status below 500.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Defect {
    /// A control character in a field, the query or the path.
    Control,
    /// A value far over any cap.
    TooLong,
    /// A percent escape that is not UTF-8.
    NotUtf8,
    /// A state-changing POST from another site.
    CrossSite,
    /// The wrong method, a body of random bytes, fields missing or of the wrong type, or values that name nothing
    /// the caller owns.
    Nonsense,
}

struct Storm {
    rng: Rng,
    /// Identifiers of other people's plates, records and decisions, for attempts at records not the caller's.
    foreign: Vec<String>,
}

impl Storm {
    fn value(&mut self) -> String {
        if !self.foreign.is_empty() && self.rng.chance(25) {
            return self.rng.pick(&self.foreign).clone();
        }
        self.rng.pick(JUNK).to_string()
    }

    /// A value carrying `defect` (or, for the others, an ordinary junk value).
    fn bad_value(&mut self, defect: Defect, in_url: bool) -> Encoded {
        match defect {
            Defect::Control => {
                let base = self.value();
                let at = base.char_indices().map(|(i, _)| i).nth(self.rng.below(base.chars().count() + 1));
                let at = at.unwrap_or(base.len());
                Encoded::text(&format!("{}{}{}", &base[..at], self.rng.pick(CONTROLS), &base[at..]))
            }
            Defect::TooLong => {
                let unit = *self.rng.pick(&["9", "张", "a%", "<"]);
                // Now and then a body far past the form limit; URLs stay within what the HTTP server reads.
                let length = if !in_url && self.rng.chance(10) { 30_000 } else { 300 + self.rng.below(2_000) };
                Encoded::text(&unit.repeat(length))
            }
            Defect::NotUtf8 => Encoded(self.rng.pick(&["%FF", "%C3", "%ED%A0%80", "abc%E4%B8"]).to_string()),
            Defect::CrossSite | Defect::Nonsense => Encoded::text(&self.value()),
        }
    }

    /// A form (query string or body) over `fields` with one field carrying `defect` when it is an edge defect.
    fn form(&mut self, fields: &[&str], defect: Defect, in_url: bool) -> String {
        let mut pairs: Vec<(String, Encoded)> = Vec::new();
        for field in fields {
            // Nonsense leaves fields out at random: a missing argument is one more malformed request.
            if defect == Defect::Nonsense && self.rng.chance(20) {
                continue;
            }
            pairs.push((field.to_string(), Encoded::text(&self.value())));
        }
        if self.rng.chance(20) {
            pairs.push((
                self.rng.pick(&["op", "extra", "__proto__", "a[b][c]", "x"]).to_string(),
                Encoded::text(&self.value()),
            ));
        }
        if matches!(defect, Defect::Control | Defect::TooLong | Defect::NotUtf8) {
            let bad = self.bad_value(defect, in_url);
            // Line breaks are allowed in the console's free-text boxes, so the defect goes in a field that refuses
            // them: a known field, or one made up.
            let name = match fields.iter().find(|f| !matches!(**f, "reason" | "note")) {
                Some(field) if self.rng.chance(70) => field.to_string(),
                _ => "stray".to_string(),
            };
            pairs.retain(|(n, _)| *n != name);
            pairs.push((name, bad));
        }
        let shuffled = self.rng.below(pairs.len().max(1));
        let len = pairs.len();
        pairs.rotate_left(shuffled.min(len));
        pairs.iter().map(|(n, v)| format!("{}={}", Encoded::text(n).0, v.0)).collect::<Vec<_>>().join("&")
    }
}

/// A form component, already percent-encoded.
struct Encoded(String);

impl Encoded {
    fn text(raw: &str) -> Self {
        Encoded(percent_encode(raw))
    }
}

fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Collects every ERROR-level event the app logs while the storm runs (a database error among them).
#[derive(Default)]
struct ErrorLog(Mutex<Vec<String>>);

struct Capture(&'static ErrorLog);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            struct Fields(String);
            impl tracing::field::Visit for Fields {
                fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                    self.0.push_str(&format!("{}={value:?} ", field.name()));
                }
            }
            let mut fields = Fields(format!("{}: ", event.metadata().target()));
            event.record(&mut fields);
            self.0 .0.lock().unwrap().push(fields.0);
        }
    }
}

fn error_log() -> &'static ErrorLog {
    static LOG: OnceLock<&'static ErrorLog> = OnceLock::new();
    LOG.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let log: &'static ErrorLog = Box::leak(Box::default());
        let subscriber = tracing_subscriber::registry().with(Capture(log));
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in the test binary");
        log
    })
}

/// Every table's rows as text, except those that record requests rather than data: sessions, rate-limit windows,
/// verification codes and the development outbox, and gateway nonces.
async fn snapshot(app: &TestApp, db: &str) -> BTreeMap<String, String> {
    const NOT_DATA: &[&str] = &[
        "sessions",
        "staff_sessions",
        "rate_limits",
        "sms_codes",
        "sms_outbox",
        "payment_nonces",
        "schema_migrations",
    ];
    let tables_sql = if db == "sqlite" {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    } else {
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    };
    let tables: Vec<String> =
        sqlx::query(tables_sql).fetch_all(app.db.pool()).await.unwrap().iter().map(|r| r.get(0)).collect();
    let mut rows = BTreeMap::new();
    for table in tables.into_iter().filter(|t| !NOT_DATA.contains(&t.as_str())) {
        let sql = if db == "sqlite" {
            let columns: Vec<String> =
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                    .fetch_all(app.db.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
            let row = columns.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || ',' || ");
            format!("SELECT COALESCE(group_concat(r, ';'), '') FROM (SELECT {row} AS r FROM \"{table}\" ORDER BY r)")
        } else {
            format!("SELECT COALESCE(string_agg(t::text, ';' ORDER BY t::text), '') FROM \"{table}\" t")
        };
        let text: String = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(app.db.pool()).await.unwrap().get(0);
        rows.insert(table, text);
    }
    rows
}

/// Other people's identifiers: every plate, record and decision not on 张三's card.
async fn foreign_identifiers(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT plate FROM vehicles WHERE card_no IS NULL OR card_no <> '6222023400001013'",
        "SELECT v.record_no FROM violations v JOIN vehicles h ON h.plate = v.plate AND h.plate_type = v.plate_type \
         WHERE h.card_no IS NULL OR h.card_no <> '6222023400001013'",
        "SELECT v.decision_no FROM violations v JOIN vehicles h ON h.plate = v.plate AND h.plate_type = v.plate_type \
         WHERE v.decision_no IS NOT NULL AND (h.card_no IS NULL OR h.card_no <> '6222023400001013')",
    ] {
        for row in sqlx::query(sql).fetch_all(app.db.pool()).await.unwrap() {
            out.push(row.get::<String, _>(0));
        }
    }
    out
}

const STAFF_PASSWORD: &str = "storm-password-123";

/// The storm's callers: a stranger, 张三 signed in and linked, and one staff member of each role.
async fn callers(app: &TestApp) -> Vec<(&'static str, Browser)> {
    let driver = app.linked_browser("wechat", "storm-driver", &ZHANG_SAN).await;
    driver.submit("/api/violations_agree", &[]).await;
    let mut callers = vec![("stranger", app.browser()), ("driver", driver)];
    for (name, role) in [("storm.police", Role::Police), ("storm.bank", Role::Bank), ("storm.audit", Role::Auditor)] {
        add_staff(&app.db, name, role, STAFF_PASSWORD, "test").await.unwrap();
        let staff = app.browser();
        let page = staff.submit("/api/staff_login", &[("username", name), ("password", STAFF_PASSWORD)]).await;
        assert!(page.contains("退出登录"), "{name} signs in");
        callers.push((name, staff));
    }
    callers
}

/// Every page route of the app, its parameters as `{}`.
fn page_routes() -> Vec<String> {
    leptos_axum::generate_route_list(app::app::App)
        .iter()
        .map(|route| {
            route
                .path()
                .split('/')
                .map(|s| if s.starts_with(':') || s.starts_with('*') || s.starts_with('{') { "{}" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_malformed_requests_gets_no_5xx_logs_no_error_and_changes_nothing() {
    let log = error_log();
    let seed: u64 = std::env::var("EDGE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2026_1202);
    let requests: usize = std::env::var("EDGE_REQUESTS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let registered: Vec<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_string()).collect();
    for path in &registered {
        let name = path.trim_start_matches("/api/");
        assert!(SERVER_FNS.iter().any(|(n, _, _)| *n == name), "server function {path} is not in the storm's table");
    }
    let pages = page_routes();
    assert!(pages.len() >= 20, "the page routes: {pages:?}");

    for (db, app) in TestApp::each_with_demo().await {
        let callers = callers(&app).await;
        let foreign = foreign_identifiers(&app).await;
        assert!(!foreign.is_empty(), "{db}: the demo data has other people's records");
        let before = snapshot(&app, db).await;
        log.0.lock().unwrap().clear();
        let mut storm = Storm { rng: Rng(seed | 1), foreign };
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        let mut failures = Vec::new();
        for n in 0..requests {
            let (who, browser) = storm.rng.pick(&callers);
            let target = storm.rng.below(10);
            let (method, path, query, body, defect) = if target < 6 {
                // A server function.
                let (name, fields, changes) = *storm.rng.pick(SERVER_FNS);
                let defects: &[Defect] = if changes && fields.is_empty() {
                    // A zero-argument action succeeds on any well-formed request; only defects that stop it are sent.
                    &[Defect::Control, Defect::TooLong, Defect::NotUtf8, Defect::CrossSite]
                } else {
                    &[
                        Defect::Control,
                        Defect::TooLong,
                        Defect::NotUtf8,
                        Defect::CrossSite,
                        Defect::Nonsense,
                        Defect::Nonsense,
                    ]
                };
                let defect = *storm.rng.pick(defects);
                let mut body = storm.form(fields, defect, false).into_bytes();
                let mut method = Method::POST;
                if defect == Defect::Nonsense {
                    match storm.rng.below(6) {
                        0 => method = Method::GET,
                        1 => body = (0..storm.rng.below(300)).map(|_| storm.rng.next() as u8).collect(),
                        _ => {}
                    }
                }
                (method, format!("/api/{name}"), String::new(), body, defect)
            } else if target < 9 {
                // A page, with parameters and a query string of junk.
                let route = storm.rng.pick(&pages).clone();
                let defect = *storm.rng.pick(&[Defect::Control, Defect::TooLong, Defect::NotUtf8, Defect::Nonsense]);
                let fields = ["plate", "plate_type", "pass", "state", "date", "failed", "no"];
                let (path, query) = fill(&mut storm, &route, &fields, defect);
                (Method::GET, path, query, Vec::new(), defect)
            } else {
                let (route, fields, method) = *storm.rng.pick(PLAIN_ROUTES);
                let defect = *storm.rng.pick(&[Defect::Control, Defect::TooLong, Defect::NotUtf8, Defect::Nonsense]);
                let (path, query) = fill(&mut storm, route, fields, defect);
                let body = if method == "POST" {
                    storm.form(fields, Defect::Nonsense, false).into_bytes()
                } else {
                    Vec::new()
                };
                (method.parse().unwrap(), path, query, body, defect)
            };
            let url =
                if query.is_empty() { format!("{}{path}", app.base) } else { format!("{}{path}?{query}", app.base) };
            let page_post = storm.rng.chance(60);
            let mut request = browser.client.request(method.clone(), &url).body(body.clone());
            request =
                request.header(ORIGIN, if defect == Defect::CrossSite { "http://evil.example" } else { &app.base });
            if page_post {
                request =
                    request.header(ACCEPT, "text/html,application/xhtml+xml").header(REFERER, format!("{}/", app.base));
            }
            if method == Method::POST && storm.rng.chance(85) {
                request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            *statuses.entry(status).or_default() += 1;
            let expected_ok = match defect {
                Defect::Control | Defect::TooLong | Defect::NotUtf8 => status == 400,
                Defect::CrossSite => status == 403 || (method == Method::GET && status < 500),
                Defect::Nonsense => status < 500,
            };
            if !expected_ok || status >= 500 {
                let shown: String = String::from_utf8_lossy(&body).chars().take(300).collect();
                let page: String = response.text().await.unwrap_or_default().chars().take(300).collect();
                failures
                    .push(format!("#{n} {who} {method} {path}?{query} [{defect:?}] body {shown:?} → {status}: {page}"));
            }
        }
        eprintln!("{db}: {requests} requests from seed {seed:#x}, statuses {statuses:?}");
        assert!(
            failures.is_empty(),
            "{db} (seed {seed:#x}): {} wrong answers:\n{}",
            failures.len(),
            failures.join("\n")
        );
        let errors = log.0.lock().unwrap().clone();
        assert!(errors.is_empty(), "{db} (seed {seed:#x}): the storm logged errors:\n{}", errors.join("\n"));
        let after = snapshot(&app, db).await;
        for (table, rows) in &before {
            assert_eq!(Some(rows), after.get(table), "{db} (seed {seed:#x}): the storm changed {table}");
        }
        assert!(statuses.keys().all(|s| *s < 500), "{db}");
        assert!(statuses.contains_key(&400) && statuses.contains_key(&403), "{db}: the storm reached the edge checks");
    }
}

/// A route with its `{}` parameters filled and a query string over `fields`, one of them carrying `defect`.
fn fill(storm: &mut Storm, route: &str, fields: &[&str], defect: Defect) -> (String, String) {
    let in_path = route.contains("{}") && storm.rng.chance(50);
    let mut path = String::new();
    let mut first = true;
    for part in route.split("{}") {
        if !first {
            let value = if in_path && matches!(defect, Defect::Control | Defect::TooLong | Defect::NotUtf8) {
                storm.bad_value(defect, true).0
            } else {
                Encoded::text(&storm.value()).0
            };
            path.push_str(if value.is_empty() { "x" } else { &value });
        }
        path.push_str(part);
        first = false;
    }
    let query = storm.form(fields, if in_path { Defect::Nonsense } else { defect }, true);
    (path, query)
}

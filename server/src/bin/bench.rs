//! `bench`: the tools behind `scripts/bench.sh` (see BENCHMARKS.md). Not part of the app or its tests.
//!
//! - `bench generate DRIVERS VEHICLES VIOLATIONS`: a city-sized data set, written with bulk SQL into the database
//!   named by `DATABASE_URL` (migrated first); PostgreSQL is then vacuumed and analysed, SQLite left without
//!   statistics, as the app leaves it.
//! - `bench sessions COUNT`: signed-in, real-name sessions for the first COUNT drivers; prints `cookie<TAB>plate`.
//! - `bench pay BASE_URL PAYERS DECISIONS_EACH`: the payment path end to end over HTTP with concurrent payers,
//!   then checks that no decision was charged twice.
//! - `bench queries`: each page's queries at full size, timed, with their plans.
//! - `bench soak BASE_URL,BASE_URL SECONDS RATE`: mixed traffic at a steady RATE of operations a second against
//!   several instances on one database (page views, 缴费 with cashier confirms and notifications, 审验学习 heartbeats,
//!   guest lookups), then checks no decision was charged twice and every confirmed payment was applied. Samples the
//!   instances' memory when `SOAK_PIDS` lists their process ids.
//! - `bench csv DIR DRIVERS VEHICLES VIOLATIONS` and `bench ceiling KIND FILE`: the import benchmark's files and
//!   SQLite's bulk-load ceiling for them (`bench/imports.rs`).

use std::time::{Duration, Instant};

use app::domain::luhn_check_digit;
use app::identity::model::Channel;
use app::identity::session;
use app::platform::config::Config;
use app::platform::db::{Backend, Db};
use app::platform::session::{hash_token, CookieSigner};
use sqlx::{Any, Row, Transaction};

const SURNAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭"];
const GIVEN: &[&str] =
    &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"];
/// Plate letters: digits and capitals without I and O, as Chinese plates use them.
const PLATE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// (code, behaviour, points, fine in fen) of common camera-captured violations.
const OFFENCES: &[(&str, &str, i64, i64)] = &[
    ("1625", "驾驶机动车违反道路交通信号灯通行的", 6, 20_000),
    ("1039", "机动车违反规定停放、临时停车且驾驶人不在现场的", 0, 20_000),
    ("1352", "驾驶机动车超过规定时速10%未达20%的", 0, 5_000),
    ("1344", "驾驶机动车违反禁令标志指示的", 1, 10_000),
    ("1373", "驾驶机动车在城市道路上逆向行驶的", 3, 20_000),
];
/// Base of the generated records' occurrence times: 2024-01-01 00:00 Asia/Shanghai.
const EPOCH_2024: i64 = 1_703_952_000;

/// Driver `i`'s ID number: valid GB 11643, unique for i < 15,000,000.
fn id_number(i: u64) -> String {
    let birth = 3650 + (i % 15_000) as i64; // days after 1970-01-01: born 1980–2021
    let date = app::domain::CivilDate::from_days(birth).expect("a date in range");
    let body = format!("210202{:04}{:02}{:02}{:03}", date.year(), date.month(), date.day(), (i / 15_000) % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn name(i: u64) -> String {
    format!("{}{}", SURNAMES[(i % 16) as usize], GIVEN[((i / 16) % 16) as usize])
}

/// Driver `i`'s licence: class (mostly C1, one in ten B2), status (one in 97 suspended), first issued, points.
fn licence(i: u64) -> (&'static str, &'static str, String, u64) {
    let class = match i % 20 {
        0 | 1 => "B2",
        2 => "A2",
        3 => "C2",
        _ => "C1",
    };
    let status = if i % 97 == 0 { "suspended" } else { "normal" };
    (class, status, format!("{:04}-{:02}-15", 2000 + i % 24, 1 + i % 12), i % 13)
}

fn card_no(i: u64) -> String {
    let payload = format!("622202880{i:06}");
    format!("{payload}{}", luhn_check_digit(&payload))
}

fn plate(j: u64) -> String {
    let mut n = j;
    let mut chars = [b'0'; 5];
    for c in chars.iter_mut().rev() {
        *c = PLATE_CHARS[(n % 34) as usize];
        n /= 34;
    }
    format!("辽B{}", std::str::from_utf8(&chars).expect("ascii"))
}

/// Inserts `rows` (each a list of SQL literals already quoted) in multi-row statements.
async fn insert(tx: &mut Transaction<'static, Any>, head: &str, rows: &[String]) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(2_000) {
        let sql = format!("{head} VALUES {}", chunk.join(","));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Generated values are digits, ASCII letters and fixed Chinese text without quotes: quoting is safe.
fn q(text: &str) -> String {
    debug_assert!(!text.contains('\''));
    format!("'{text}'")
}

async fn generate(db: &Db, drivers: u64, vehicles: u64, violations: u64) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let now = app::platform::now();
    const BATCH: u64 = 50_000;
    let mut i = 0;
    while i < drivers {
        let end = (i + BATCH).min(drivers);
        let mut tx = db.begin_write().await?;
        let (mut cards, mut licences) = (Vec::new(), Vec::new());
        for n in i..end {
            let (id, name) = (id_number(n), name(n));
            cards.push(format!(
                "({},{},{},{},'active',{now})",
                q(&card_no(n)),
                q(&id),
                q(&name),
                q(&format!("139{n:08}"))
            ));
            let (class, status, first_issued, points) = licence(n);
            licences.push(format!("({},{},'{class}','{status}','{first_issued}',{points},{now})", q(&id), q(&name)));
        }
        insert(&mut tx, "INSERT INTO cards (card_no, id_number, name, phone, status, updated_at)", &cards).await?;
        insert(
            &mut tx,
            "INSERT INTO drivers (id_number, name, licence_class, licence_status, first_issued, cycle_points, updated_at)",
            &licences,
        )
        .await?;
        tx.commit().await?;
        i = end;
    }
    eprintln!("drivers and cards: {drivers} in {:.0?}", started.elapsed());
    let mut j = 0;
    while j < vehicles {
        let end = (j + BATCH).min(vehicles);
        let mut tx = db.begin_write().await?;
        let rows: Vec<String> = (j..end)
            .map(|v| {
                let owner = v % drivers;
                let card = if v % 10 == 9 { "NULL".to_string() } else { q(&card_no(owner)) };
                let kind = if v % 7 == 0 { "轻型厢式货车" } else { "小型轿车" };
                // Bound before the first record, so every record is the card holder's, as the pages expect.
                let bound = EPOCH_2024 - 365 * 86_400;
                format!("({},'02','{kind}',{},{card},{bound},{now})", q(&plate(v)), q(&id_number(owner)))
            })
            .collect();
        insert(
            &mut tx,
            "INSERT INTO vehicles (plate, plate_type, vehicle_type, owner_id_number, card_no, bound_at, updated_at)",
            &rows,
        )
        .await?;
        tx.commit().await?;
        j = end;
    }
    eprintln!("vehicles: {vehicles} in {:.0?}", started.elapsed());
    let mut k = 0;
    while k < violations {
        let end = (k + BATCH).min(violations);
        let mut tx = db.begin_write().await?;
        let rows: Vec<String> = (k..end)
            .map(|r| {
                let v = r % vehicles;
                let owner = v % drivers;
                let (code, behaviour, points, fine) = OFFENCES[(r % OFFENCES.len() as u64) as usize];
                let at = EPOCH_2024 + (r as i64 * 7_919) % (3 * 365 * 86_400);
                // 70% decided and paid, 10% decided and unpaid, 20% untreated; 1 in 50 for the counter.
                let (decision, decided_on, party, paid): (String, &str, String, i32) = match r % 10 {
                    0 | 1 => ("NULL".into(), "NULL", "NULL".into(), 0),
                    2 => (q(&format!("2102{r:012}")), "'2026-11-10'", q(&id_number(owner)), 0),
                    _ => (q(&format!("2102{r:012}")), "'2025-06-01'", q(&id_number(owner)), 1),
                };
                format!(
                    "('B{r:017}',{},'02',{at},'中山路与五四路交叉口','{code}','{behaviour}',{points},{fine},{},{decision},{decided_on},{party},{paid},{now})",
                    q(&plate(v)),
                    u8::from(r % 50 == 0)
                )
            })
            .collect();
        insert(
            &mut tx,
            "INSERT INTO violations (record_no, plate, plate_type, occurred_at, location, code, behaviour, points, \
             fine_fen, counter_only, decision_no, decided_on, party_id_number, paid, updated_at)",
            &rows,
        )
        .await?;
        tx.commit().await?;
        k = end;
        if k % 1_000_000 == 0 {
            eprintln!("violations: {k} in {:.0?}", started.elapsed());
        }
    }
    signed_in_share(db, drivers).await?;
    eprintln!("accounts, links and sessions: {} in {:.0?}", drivers / 10, started.elapsed());
    // PostgreSQL: VACUUM ANALYZE, as autovacuum would soon after a bulk load; otherwise its workers are still busy
    // with the new tables while the load runs, and the figures measure them too. SQLite is left as the app leaves
    // it, without ANALYZE's statistics, so its plans are those a city's database gets.
    if db.backend() == Backend::Postgres {
        sqlx::raw_sql("VACUUM ANALYZE").execute(db.pool()).await?;
    }
    eprintln!("generated and settled in {:.0?}", started.elapsed());
    Ok(())
}

/// Every tenth driver as a user of the app: an account linked by 实名认证 to the driver's card, the notice
/// accepted and a live session, so the session, link and consent tables have a city's volume when their queries
/// are planned and timed.
async fn signed_in_share(db: &Db, drivers: u64) -> Result<(), sqlx::Error> {
    let now = app::platform::now();
    let mut tx = db.begin_write().await?;
    let rows: Vec<String> =
        (0..drivers).step_by(10).map(|n| format!("('wechat','city-{}',{now})", id_number(n))).collect();
    insert(&mut tx, "INSERT INTO accounts (channel, platform_uid, created_at)", &rows).await?;
    // Keyed so both databases find each account's card through the index on cards.id_number.
    let linked = "FROM accounts a JOIN cards c ON c.id_number = substr(a.platform_uid, 6) \
                  WHERE a.channel = 'wechat' AND a.platform_uid LIKE 'city-%'";
    for statement in [
        format!(
            "INSERT INTO realname_bindings (account_id, id_number, name, card_no, phone, bound_at) \
             SELECT a.id, c.id_number, c.name, c.card_no, c.phone, {now} {linked}"
        ),
        format!(
            "INSERT INTO user_consents (account_id, notice, agreed_at) SELECT a.id, 'violations-v1', {now} {linked}"
        ),
        format!(
            "INSERT INTO sessions (token_hash, account_id, channel, created_at, expires_at) \
             SELECT 'generated-' || a.platform_uid, a.id, 'wechat', {now}, {} {linked}",
            now + 86_400
        ),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Accounts linked by 实名认证 to drivers `first..first + count`, with the notice accepted and a live session
/// each; returns (cookie header value, the driver's first plate).
async fn sessions(
    db: &Db,
    signer: &CookieSigner,
    first: u64,
    count: u64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let now = app::platform::now();
    let mut out = Vec::new();
    for n in first..first + count {
        let mut tx = db.begin_write().await?;
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (channel, platform_uid, created_at) VALUES ('icbc', $1, $2) \
             ON CONFLICT (channel, platform_uid) DO UPDATE SET created_at = excluded.created_at RETURNING id",
        )
        .bind(format!("bench-{n}"))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE realname_bindings SET unbound_at = $1 WHERE account_id = $2 AND unbound_at IS NULL")
            .bind(now)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO realname_bindings (account_id, id_number, name, card_no, phone, bound_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(account_id)
        .bind(id_number(n))
        .bind(name(n))
        .bind(card_no(n))
        .bind(format!("139{n:08}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO user_consents (account_id, notice, agreed_at) VALUES ($1, 'violations-v1', $2) \
             ON CONFLICT (account_id, notice) DO NOTHING",
        )
        .bind(account_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let token = session::create(db, Some(account_id), Channel::Icbc, 24).await?;
        out.push((format!("{}={}", session::COOKIE, signer.sign(&token)), plate(n)));
    }
    Ok(out)
}

/// How many drivers the data set holds.
async fn driver_count(db: &Db) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drivers").fetch_one(db.pool()).await?;
    Ok(count as u64)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Decisions paid twice: by the app's orders, and at the sandbox gateway.
async fn double_charges(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let app: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT decision_no FROM payment_orders WHERE state = 'paid' \
         GROUP BY decision_no HAVING COUNT(*) > 1) t",
    )
    .fetch_one(db.pool())
    .await?;
    let gateway: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT o.decision_no FROM sandbox_orders s JOIN payment_orders o \
         ON o.order_no = s.order_no WHERE s.state = 'paid' GROUP BY o.decision_no HAVING COUNT(*) > 1) t",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((app, gateway))
}

/// Pays `each` fresh decisions for each of `payers` people concurrently, over HTTP, through the sandbox cashier.
async fn pay(
    db: &Db,
    signer: &CookieSigner,
    base: &str,
    payers: u64,
    each: u64,
) -> Result<bool, Box<dyn std::error::Error>> {
    // Payers are drivers far from those the page benchmarks use (the first ones).
    let first = 900_000u64.min(driver_count(db).await? / 2);
    let people = sessions(db, signer, first, payers).await?;
    let now = app::platform::now();
    let today = app::platform::shanghai_date(now);
    // Numbers continue after an earlier run's, so a kept data set (BENCH_KEEP=1) can be paid into again.
    let earlier: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM violations WHERE record_no LIKE 'P%'").fetch_one(db.pool()).await?;
    let offset = earlier as u64 / payers.max(1);
    let mut tx = db.begin_write().await?;
    let mut rows = Vec::new();
    for p in 0..payers {
        for d in offset..offset + each {
            let n = first + p;
            rows.push(format!(
                "('P{p:08}{d:09}',{},'02',{now},'人民路','1039','机动车违反规定停放、临时停车且驾驶人不在现场的',0,20000,0,'2109{p:06}{d:06}','{today}',{},0,{now})",
                q(&plate(n)),
                q(&id_number(n))
            ));
        }
    }
    insert(
        &mut tx,
        "INSERT INTO violations (record_no, plate, plate_type, occurred_at, location, code, behaviour, points, \
         fine_fen, counter_only, decision_no, decided_on, party_id_number, paid, updated_at)",
        &rows,
    )
    .await?;
    tx.commit().await?;

    let started = Instant::now();
    let tasks: Vec<_> = people
        .into_iter()
        .enumerate()
        .map(|(p, (cookie, _))| {
            let base = base.to_string();
            tokio::spawn(async move {
                let client = reqwest::Client::builder().build().unwrap();
                let no_redirect =
                    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
                let mut latencies = Vec::new();
                for d in offset..offset + each {
                    let decision = format!("2109{p:06}{d:06}");
                    let t = Instant::now();
                    let cashier = client
                        .post(format!("{base}/api/start_payment"))
                        .header("cookie", &cookie)
                        .header("origin", &base)
                        .header("accept", "text/html")
                        .form(&[("decision_no", decision.as_str()), ("total_fen", "20000")])
                        .send()
                        .await?;
                    let cashier_url = cashier.url().to_string();
                    // The cashier sends the browser back to the app on another origin; the cookie goes with that
                    // request explicitly, as the browser's own cookie jar would send it.
                    let back = no_redirect.post(format!("{cashier_url}/pay")).send().await?;
                    let location = back.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    let location =
                        if location.starts_with('/') { format!("{base}{location}") } else { location.to_string() };
                    let result = client.get(location).header("cookie", &cookie).send().await?.text().await?;
                    // A payment that did not end in 缴费成功 is not counted, and the run reports FAIL.
                    if result.contains("缴费成功") {
                        latencies.push(t.elapsed());
                    } else if d == offset && p == 0 {
                        let text: String = result.chars().filter(|c| !c.is_ascii()).take(200).collect();
                        eprintln!("payment of {decision} ended at {cashier_url}: {text}");
                    }
                }
                Ok::<_, reqwest::Error>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let (charged_twice, gateway_twice) = double_charges(db).await?;
    let expected = (payers * each) as usize;
    println!("payments completed: {} of {expected}", latencies.len());
    if !latencies.is_empty() {
        println!(
            "payments per second: {:.1} ({payers} concurrent payers, {:.1} s); latency p50 {:.0?}, p99 {:.0?}",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    let ok = charged_twice == 0 && gateway_twice == 0 && latencies.len() == expected;
    println!("double charges: app {charged_twice}, gateway {gateway_twice} -> {}", if ok { "PASS" } else { "FAIL" });
    Ok(ok)
}

/// Times each query the three benchmarked pages run (the app's own SQL), for driver 0 signed in, and prints its
/// plan. The home page loads the session with its link and notices; /vehicles reads the session and the card's
/// vehicles in one statement, and a violation list the session and the vehicle with its untreated records.
async fn queries(db: &Db, signer: &CookieSigner) -> Result<(), sqlx::Error> {
    let (cookie, plate) = sessions(db, signer, 0, 1).await?.remove(0);
    let token = cookie.split_once('=').and_then(|(_, v)| v.split_once('.')).map(|(t, _)| t).unwrap_or_default();
    let now = app::platform::now().to_string();
    let checks: [(&str, String, Vec<String>); 3] = [
        (
            "session with link and notices",
            session::load_sql(db.backend()).to_string(),
            vec![hash_token(token), now.clone()],
        ),
        (
            "session and vehicle list",
            app::violations::repo::bound_vehicles_sql(db.backend()).to_string(),
            vec![hash_token(token), now.clone()],
        ),
        (
            "session and vehicle with its untreated records",
            app::violations::repo::vehicle_with_untreated_sql(db.backend()).to_string(),
            vec![hash_token(token), now.clone(), plate, "02".into()],
        ),
    ];
    for (label, sql, binds) in checks {
        let bind_all = |query: sqlx::query::Query<'static, Any, sqlx::any::AnyArguments>| {
            binds.iter().fold(query, |q, b| match b.parse::<i64>() {
                Ok(n) if b.len() < 12 && !b.starts_with('0') => q.bind(n),
                _ => q.bind(b.clone()),
            })
        };
        // Five untimed runs first: the app's connections keep their prepared statements, so the first
        // preparation is not what a page waits for. The pages read on `Db::fetch_all`'s readers, and so does this.
        for _ in 0..5 {
            db.fetch_all(bind_all(sqlx::query(sqlx::AssertSqlSafe(sql.clone())))).await?;
        }
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            db.fetch_all(bind_all(sqlx::query(sqlx::AssertSqlSafe(sql.clone())))).await?;
            times.push(t.elapsed());
        }
        times.sort();
        let (p50, max) = (percentile(&times, 0.5), *times.last().unwrap());
        let verdict = if max <= Duration::from_millis(5) { "PASS" } else { "FAIL" };
        println!("query {label}: p50 {p50:.2?}, max {max:.2?} (budget 5 ms) {verdict}");
        let explain = match db.backend() {
            Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
            Backend::Postgres => format!("EXPLAIN {sql}"),
        };
        for row in bind_all(sqlx::query(sqlx::AssertSqlSafe(explain))).fetch_all(db.pool()).await? {
            let line: String = match db.backend() {
                Backend::Sqlite => row.get("detail"),
                Backend::Postgres => row.get("QUERY PLAN"),
            };
            println!("    plan: {line}");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("csv") {
        let number = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok()).expect("a number argument");
        let dir = std::path::Path::new(&args[1]);
        return match imports::write_files(dir, number(2), number(3), number(4)) {
            Ok(rows) => {
                println!("{}", rows.map(|n| n.to_string()).join(" "));
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bench csv failed: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let config = Config::from_env().expect("configuration");
    let db = Db::connect_with(&config.database_url, config.db_readers).await.expect("database");
    let signer = CookieSigner::new(&config.cookie_key);
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok()).expect("a number argument");
    let outcome: Result<bool, Box<dyn std::error::Error>> = match args.first().map(String::as_str) {
        Some("generate") => generate(&db, number(1), number(2), number(3)).await.map(|_| true).map_err(Into::into),
        Some("sessions") => sessions(&db, &signer, 0, number(1)).await.map_err(Into::into).map(|people| {
            for (cookie, plate) in people {
                println!("{cookie}\t{plate}");
            }
            true
        }),
        Some("pay") => pay(&db, &signer, &args[1], number(2), number(3)).await,
        Some("queries") => queries(&db, &signer).await.map(|_| true).map_err(Into::into),
        Some("ceiling") => {
            imports::sqlite_ceiling(&db, &args[1], std::path::Path::new(&args[2])).await.map(|(rows, seconds)| {
                println!("{rows} {seconds:.3}");
                true
            })
        }
        Some("soak") => {
            let bases: Vec<String> = args[1].split(',').map(str::to_string).collect();
            let pids: Vec<u32> = std::env::var("SOAK_PIDS")
                .unwrap_or_default()
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect();
            soak::run(&db, &signer, &bases, number(2), number(3), &pids).await
        }
        _ => {
            eprintln!(
                "usage: bench generate DRIVERS VEHICLES VIOLATIONS | sessions COUNT | pay BASE PAYERS EACH | queries \
                 | soak BASE,BASE SECONDS RATE | csv DIR DRIVERS VEHICLES VIOLATIONS | ceiling KIND FILE"
            );
            return std::process::ExitCode::from(2);
        }
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[path = "bench/imports.rs"]
mod imports;
#[path = "bench/soak.rs"]
mod soak;

#[cfg(test)]
mod tests {
    #[test]
    fn generated_identities_are_valid_and_distinct() {
        for i in [0u64, 1, 14_999, 15_000, 999_999] {
            assert!(app::domain::IdNumber::parse(&super::id_number(i)).is_ok(), "{i}");
            assert!(app::domain::CardNo::parse(&super::card_no(i)).is_ok(), "{i}");
        }
        assert_ne!(super::id_number(0), super::id_number(15_000));
        assert_ne!(super::plate(0), super::plate(1));
        assert_eq!(super::plate(34), "辽B00010");
    }
}

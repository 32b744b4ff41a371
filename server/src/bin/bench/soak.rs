//! `bench soak`: several instances on one database under mixed traffic at a steady rate, for minutes.
//!
//! The load is open-loop: an operation starts every `1/RATE` seconds whether or not the earlier ones have finished,
//! so a slow server shows as latency and a growing backlog, not as a politely lower rate. Each operation goes to
//! the next instance in turn. Of every 20 operations, 14 are page views by signed-in drivers, 3 are 缴费 (the order,
//! the sandbox cashier's 确认支付, its signed notification, the result page) and 3 guest lookups by 决定书编号 and
//! 车牌号 (each from its own client address, through `X-Forwarded-For`, as the city's phones would come). Beside
//! them, learners send 审验学习 heartbeats every 5 seconds, as the player does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::platform::db::Db;
use app::platform::session::CookieSigner;

use super::{driver_count, id_number, insert, percentile, plate, q, sessions};

/// What one kind of operation did.
#[derive(Default)]
struct Tally {
    done: u64,
    errors: u64,
    requests: u64,
    latencies: Vec<Duration>,
}

#[derive(Default)]
struct Stats {
    kinds: BTreeMap<&'static str, Tally>,
    /// Latencies of the current minute, for the per-minute line.
    minute: Vec<Duration>,
    minute_errors: u64,
    first_errors: Vec<String>,
}

impl Stats {
    fn record(&mut self, kind: &'static str, requests: u64, outcome: Result<Duration, String>) {
        let tally = self.kinds.entry(kind).or_default();
        tally.requests += requests;
        match outcome {
            Ok(latency) => {
                tally.done += 1;
                tally.latencies.push(latency);
                self.minute.push(latency);
            }
            Err(e) => {
                tally.errors += 1;
                self.minute_errors += 1;
                if self.first_errors.len() < 10 {
                    self.first_errors.push(format!("{kind}: {e}"));
                }
            }
        }
    }
}

/// The people and decisions the soak uses, made before it starts.
struct Cast {
    viewers: Vec<(String, String)>,
    /// (payer's cookie, decision number), one per payment the soak will make.
    payments: Vec<(String, String)>,
    /// (decision number, plate) of unpaid decisions for guest lookups.
    guests: Vec<(String, String)>,
    learners: Vec<String>,
}

const PAYERS: u64 = 16;

async fn cast(db: &Db, signer: &CookieSigner, seconds: u64, rate: u64) -> Result<Cast, Box<dyn std::error::Error>> {
    let drivers = driver_count(db).await?;
    // Viewers whose first vehicle is on their card (the generator leaves every tenth vehicle off one), so that
    // `/vehicles` lists it.
    let mut viewers = Vec::new();
    for n in (250_000u64.min(drivers / 4)..drivers).filter(|n| n % 10 != 9).take(32) {
        viewers.extend(sessions(db, signer, n, 1).await?);
    }
    let payer_first = 600_000u64.min(drivers * 3 / 5);
    let payers = sessions(db, signer, payer_first, PAYERS).await?;
    let operations = seconds * rate;
    let (pay_ops, guest_ops) = (operations * 3 / 20 + PAYERS, operations * 3 / 20);
    let each = pay_ops / PAYERS + 1;
    // Guest lookups are limited to 10 an hour per decision: each decision is looked up at most 5 times.
    let guest_decisions = guest_ops / 5 + 10;
    let now = app::platform::now();
    let today = app::platform::shanghai_date(now);
    // Numbers continue after an earlier soak's, so a kept data set (BENCH_KEEP=1) can be soaked again.
    let earlier: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM violations WHERE record_no LIKE 'S%'").fetch_one(db.pool()).await?;
    let run = earlier as u64;
    let mut rows = Vec::new();
    let mut payments = Vec::new();
    for p in 0..PAYERS {
        let n = payer_first + p;
        for d in 0..each {
            let decision = format!("2108{p:04}{:08}", run + d);
            rows.push(format!(
                "('S{p:04}{:012}',{},'02',{now},'人民路','1039','机动车违反规定停放、临时停车且驾驶人不在现场的',0,20000,0,'{decision}','{today}',{},0,{now})",
                run + d,
                q(&plate(n)),
                q(&id_number(n))
            ));
            payments.push((payers[p as usize].0.clone(), decision));
        }
    }
    // Interleaved so that consecutive payments belong to different payers.
    payments.sort_by_key(|(_, decision)| decision[8..].to_string());
    let mut guests = Vec::new();
    let guest_first = 650_000u64.min(drivers * 13 / 20);
    for g in 0..guest_decisions {
        let n = guest_first + g % 1000;
        let decision = format!("2107{:012}", run + each * PAYERS + g);
        rows.push(format!(
            "('S9{:013}',{},'02',{now},'人民路','1039','机动车违反规定停放、临时停车且驾驶人不在现场的',0,20000,0,'{decision}','{today}',{},0,{now})",
            run + each * PAYERS + g,
            q(&plate(n)),
            q(&id_number(n))
        ));
        guests.push((decision, plate(n)));
    }
    for chunk in rows.chunks(5_000) {
        let mut tx = db.begin_write().await?;
        insert(
            &mut tx,
            "INSERT INTO violations (record_no, plate, plate_type, occurred_at, location, code, behaviour, points, \
             fine_fen, counter_only, decision_no, decided_on, party_id_number, paid, updated_at)",
            chunk,
        )
        .await?;
        tx.commit().await?;
    }
    // 审验学习 needs its questions and courses (the demo's), and learners eligible for it: B2 or A2 holders with 1
    // to 8 points and a normal licence (the generator gives driver n class B2 when n % 20 < 2, n % 13 points).
    for (kind, csv) in [
        (app::import::Kind::Questions, include_str!("../../../../app/demo/questions.csv")),
        (app::import::Kind::Courses, include_str!("../../../../app/demo/courses.csv")),
    ] {
        app::import::import_csv(db, kind, csv.as_bytes(), "bench").await.map_err(|e| format!("{e:?}"))?;
    }
    let mut learners = Vec::new();
    let mut n = 700_000u64.min(drivers * 7 / 10);
    while learners.len() < 32 && n < drivers {
        if n % 20 < 2 && (1..=8).contains(&(n % 13)) && n % 97 != 0 {
            learners.push(sessions(db, signer, n, 1).await?.remove(0).0);
        }
        n += 1;
    }
    Ok(Cast { viewers, payments, guests, learners })
}

fn form_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn page_view(client: &reqwest::Client, base: &str, viewer: &(String, String), i: usize) -> Result<(), String> {
    let (cookie, plate) = viewer;
    let encoded: String = url_encode(plate);
    let path = match i % 3 {
        0 => "/".to_string(),
        1 => "/vehicles".to_string(),
        _ => format!("/violations/vehicle?plate={encoded}&type=02"),
    };
    let answer =
        client.get(format!("{base}{path}")).header("cookie", cookie).send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let page = answer.text().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("{path}: status {status}"));
    }
    if path == "/vehicles" && !page.contains(plate.as_str()) {
        return Err(format!("{path}: the driver's vehicle is missing: not signed in?"));
    }
    Ok(())
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Posts a form to a server function as a browser without JavaScript does; answers the status and where the
/// answer sends the browser.
async fn submit(
    request: reqwest::RequestBuilder,
    base: &str,
    form: &[(&str, &str)],
) -> Result<(reqwest::StatusCode, String), String> {
    let answer = request
        .header("origin", base)
        .header("accept", "text/html")
        .form(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = answer.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    Ok((answer.status(), location))
}

/// 缴费 through the instance's sandbox cashier; true when the cashier confirmed (the payment was charged).
async fn payment(client: &reqwest::Client, base: &str, cookie: &str, decision: &str) -> Result<bool, String> {
    let request = client.post(format!("{base}/api/start_payment")).header("cookie", cookie);
    let (status, cashier) = submit(request, base, &[("decision_no", decision), ("total_fen", "20000")]).await?;
    if !cashier.contains("/cashier/") {
        return Err(format!("缴费 of {decision} went to {cashier:?} (status {status})"));
    }
    let page = client.get(&cashier).send().await.map_err(|e| e.to_string())?;
    if page.status() != 200 {
        return Err(format!("the cashier answered {}", page.status()));
    }
    let back = client.post(format!("{cashier}/pay")).send().await.map_err(|e| e.to_string())?;
    let location = back.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !back.status().is_redirection() {
        return Err(format!("确认支付 answered {}", back.status()));
    }
    let location = if location.starts_with('/') { format!("{base}{location}") } else { location.to_string() };
    let result = client.get(location).header("cookie", cookie).send().await.map_err(|e| e.to_string())?;
    let text = result.text().await.map_err(|e| e.to_string())?;
    // The result page reads the server's record: 支付处理中 until the notification lands, which is no error.
    if text.contains("缴费成功") || text.contains("支付处理中") {
        Ok(true)
    } else {
        Err(format!("the result page of {decision} shows neither 缴费成功 nor 支付处理中"))
    }
}

async fn guest_lookup(client: &reqwest::Client, base: &str, guest: &(String, String), i: usize) -> Result<(), String> {
    let (decision, plate) = guest;
    let client_address = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    let request = client.post(format!("{base}/api/guest_lookup")).header("x-forwarded-for", client_address);
    let form = [("decision_no", decision.as_str()), ("plate", plate.as_str()), ("name", "")];
    let (status, location) = submit(request, base, &form).await?;
    if !location.starts_with("/guest-pay/decision") {
        return Err(format!("the lookup of {decision} went to {location:?} (status {status})"));
    }
    let page = client.get(format!("{base}{location}")).send().await.map_err(|e| e.to_string())?;
    if page.status() != 200 || !page.text().await.map_err(|e| e.to_string())?.contains("缴费") {
        return Err(format!("the decision page of {decision} did not offer 缴费"));
    }
    Ok(())
}

/// One learner's player: answers the quiz, starts course C01 and sends a heartbeat every 5 seconds until `until`.
async fn learner(db: Db, base: String, cookie: String, until: Instant, stats: Arc<Mutex<Stats>>) -> Result<(), String> {
    let client = form_client();
    let quiz = client.get(format!("{base}/study/quiz")).header("cookie", &cookie).send().await;
    if !quiz.as_ref().is_ok_and(|q| q.status() == 200) {
        return Err(format!("the quiz page did not open: {:?}", quiz.map(|q| q.status())));
    }
    // The quiz's answers are not what is measured: mark it answered as a submitted quiz leaves it.
    let token = cookie.split_once('=').and_then(|(_, v)| v.split_once('.')).map(|(t, _)| t).unwrap_or_default();
    sqlx::query(
        "UPDATE study_enrolments SET answers = questions, score = 100, quiz_done_at = $1 WHERE id_number = \
         (SELECT r.id_number FROM sessions s JOIN realname_bindings r ON r.account_id = s.account_id \
          WHERE s.token_hash = $2 AND r.unbound_at IS NULL)",
    )
    .bind(app::platform::now())
    .bind(app::platform::session::hash_token(token))
    .execute(db.pool())
    .await
    .map_err(|e| e.to_string())?;
    let json = |path: &str, fields: Vec<(&str, String)>| {
        client
            .post(format!("{base}/api/{path}"))
            .header("cookie", &cookie)
            .header("origin", &base)
            .header("accept", "application/json")
            .form(&fields)
            .send()
    };
    let sitting = json("study_start", vec![("code", "C01".into())]).await.map_err(|e| e.to_string())?;
    let sitting = sitting.text().await.map_err(|e| e.to_string())?;
    let sitting: serde_json::Value =
        serde_json::from_str(&sitting).map_err(|e| format!("study_start: {e}: {sitting}"))?;
    let lease = sitting["lease"].as_str().ok_or_else(|| format!("study_start gave no lease: {sitting}"))?.to_string();
    let began = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    while Instant::now() < until {
        tick.tick().await;
        let t = Instant::now();
        let position = began.elapsed().as_millis().to_string();
        let beat =
            json("study_heartbeat", vec![("code", "C01".into()), ("lease", lease.clone()), ("position_ms", position)])
                .await;
        let outcome = match beat {
            Ok(answer) if answer.status() == 200 => match answer.text().await {
                Ok(reply)
                    if serde_json::from_str::<serde_json::Value>(&reply).is_ok_and(|r| r.get("status").is_some()) =>
                {
                    Ok(t.elapsed())
                }
                Ok(reply) => Err(format!("a heartbeat reply without a status: {reply}")),
                Err(e) => Err(e.to_string()),
            },
            Ok(answer) => Err(format!("heartbeat status {}", answer.status())),
            Err(e) => Err(e.to_string()),
        };
        stats.lock().unwrap().record("heartbeat", 1, outcome);
    }
    Ok(())
}

fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb / 1024.0)
}

fn p(latencies: &mut [Duration], at: f64) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    latencies.sort();
    percentile(latencies, at).as_secs_f64() * 1000.0
}

pub async fn run(
    db: &Db,
    signer: &CookieSigner,
    bases: &[String],
    seconds: u64,
    rate: u64,
    pids: &[u32],
) -> Result<bool, Box<dyn std::error::Error>> {
    let cast = Arc::new(cast(db, signer, seconds, rate).await?);
    let stats = Arc::new(Mutex::new(Stats::default()));
    let client = form_client();
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut learners = Vec::new();
    for (i, cookie) in cast.learners.iter().enumerate() {
        let (db, base, cookie, stats) = (db.clone(), bases[i % bases.len()].clone(), cookie.clone(), stats.clone());
        learners.push(tokio::spawn(learner(db, base, cookie, until, stats)));
    }
    let (next_payment, next_guest) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let confirmed = Arc::new(AtomicUsize::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut operations = tokio::task::JoinSet::new();
    let mut memory: Vec<Vec<f64>> = vec![Vec::new(); pids.len()];
    let sample = |memory: &mut Vec<Vec<f64>>| {
        for (i, pid) in pids.iter().enumerate() {
            memory[i].push(rss_mb(*pid).unwrap_or(0.0));
        }
    };
    sample(&mut memory);
    let (mut minute_start, mut minute_ops, mut minute) = (Instant::now(), 0u64, 1);
    println!("minute  operations/s  p99 ms  errors  resident MB per instance");
    let mut i = 0usize;
    while Instant::now() < until {
        tick.tick().await;
        let base = bases[i % bases.len()].clone();
        let (client, cast, tally) = (client.clone(), cast.clone(), stats.clone());
        match i % 20 {
            0..=13 => {
                let viewer = i / 2 % cast.viewers.len();
                operations.spawn(async move {
                    let t = Instant::now();
                    let outcome = page_view(&client, &base, &cast.viewers[viewer], i / 20).await.map(|_| t.elapsed());
                    tally.lock().unwrap().record("page view", 1, outcome);
                });
            }
            14..=16 => {
                let (next, confirmed) = (next_payment.clone(), confirmed.clone());
                operations.spawn(async move {
                    let Some((cookie, decision)) = cast.payments.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    let t = Instant::now();
                    let outcome = payment(&client, &base, cookie, decision).await.map(|charged| {
                        if charged {
                            confirmed.fetch_add(1, Ordering::Relaxed);
                        }
                        t.elapsed()
                    });
                    tally.lock().unwrap().record("缴费", 4, outcome);
                });
            }
            _ => {
                let next = next_guest.clone();
                operations.spawn(async move {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let guest = &cast.guests[n % cast.guests.len()];
                    let t = Instant::now();
                    let outcome = guest_lookup(&client, &base, guest, n).await.map(|_| t.elapsed());
                    tally.lock().unwrap().record("guest lookup", 2, outcome);
                });
            }
        }
        i += 1;
        minute_ops += 1;
        while operations.try_join_next().is_some() {}
        if minute_start.elapsed() >= Duration::from_secs(60) {
            sample(&mut memory);
            let mut stats = stats.lock().unwrap();
            let mut latencies = std::mem::take(&mut stats.minute);
            let errors = std::mem::take(&mut stats.minute_errors);
            let rss: Vec<String> = memory.iter().map(|m| format!("{:.0}", m.last().unwrap())).collect();
            println!(
                "{minute:>6}  {:>12.1}  {:>6.1}  {errors:>6}  {}",
                minute_ops as f64 / minute_start.elapsed().as_secs_f64(),
                p(&mut latencies, 0.99),
                rss.join(" / ")
            );
            (minute_start, minute_ops, minute) = (Instant::now(), 0, minute + 1);
        }
    }
    while operations.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    for learner in learners {
        if let Err(e) = learner.await? {
            stats.lock().unwrap().record("heartbeat", 1, Err(e));
        }
    }
    sample(&mut memory);

    let mut ok = true;
    let mut stats = stats.lock().unwrap();
    let (mut all, mut requests, mut errors) = (Vec::new(), 0, 0);
    println!(
        "{} instances, {:.0} s at {rate} operations a second (and heartbeats):",
        bases.len(),
        elapsed.as_secs_f64()
    );
    for (kind, tally) in stats.kinds.iter_mut() {
        requests += tally.requests;
        errors += tally.errors;
        all.extend_from_slice(&tally.latencies);
        println!(
            "  {kind:<13} {:>7} done, {:>3} errors, p50 {:>6.1} ms, p99 {:>6.1} ms",
            tally.done,
            tally.errors,
            p(&mut tally.latencies, 0.5),
            p(&mut tally.latencies, 0.99)
        );
    }
    println!(
        "throughput: {:.1} requests/s ({requests} requests); every operation's p99 {:.1} ms",
        requests as f64 / elapsed.as_secs_f64(),
        p(&mut all, 0.99)
    );
    for e in &stats.first_errors {
        println!("  error: {e}");
    }
    let verdict = |pass: bool| if pass { "PASS" } else { "FAIL" };
    drop(stats);
    println!("errors: {errors} (budget 0) {}", verdict(errors == 0));
    ok &= errors == 0;
    // Memory levels off: the second half of the run adds at most half what the first half did, or 16 MB.
    for (i, samples) in memory.iter().enumerate().filter(|(_, m)| m.len() >= 3) {
        let (start, half, end) = (samples[0], samples[samples.len() / 2], *samples.last().unwrap());
        let (first, second) = (half - start, end - half);
        let pass = second <= (first / 2.0).max(16.0);
        println!(
            "memory of instance {}: {start:.0} MB at the start, {half:.0} MB half-way, {end:.0} MB at the end \
             ({first:+.0} MB, then {second:+.0} MB) {}",
            i + 1,
            verdict(pass)
        );
        ok &= pass;
    }
    // Every confirmed payment applied: notifications retry and reconciliation runs every minute, so give it two.
    let unapplied_sql = "SELECT COUNT(*) FROM sandbox_orders s JOIN payment_orders o ON o.order_no = s.order_no \
                         WHERE s.state = 'paid' AND o.state <> 'paid' AND o.decision_no LIKE '2108%'";
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut unapplied: i64 = sqlx::query_scalar(unapplied_sql).fetch_one(db.pool()).await?;
    while unapplied > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
        unapplied = sqlx::query_scalar(unapplied_sql).fetch_one(db.pool()).await?;
    }
    let (charged_twice, gateway_twice) = super::double_charges(db).await?;
    let applied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payment_orders WHERE state = 'paid' AND decision_no LIKE '2108%' AND paid_at >= $1",
    )
    .bind(app::platform::now() - elapsed.as_secs() as i64 - 300)
    .fetch_one(db.pool())
    .await?;
    let confirmed = confirmed.load(Ordering::Relaxed) as i64;
    let pass = unapplied == 0 && charged_twice == 0 && gateway_twice == 0 && applied >= confirmed;
    println!(
        "payments: {confirmed} confirmed at the cashier, {applied} applied, {unapplied} confirmed but not applied; \
         charged twice: app {charged_twice}, gateway {gateway_twice} {}",
        verdict(pass)
    );
    ok &= pass;
    Ok(ok)
}

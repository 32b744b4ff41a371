//! 审验学习 (SPEC §2G, §4) on the demo data: eligibility, the quiz, heartbeat-tracked courses, the certificate and
//! its public verification page.

use std::time::{Duration, Instant};

use app::import::{import_csv, Kind};
use reqwest::header::{ACCEPT, ORIGIN, RANGE};
use serde_json::Value;
use sqlx::Row;

use crate::support::{Browser, TestApp, LI_SI, WANG_WU, ZHANG_SAN};

/// One short course, so tests finish a course in seconds: 0.05 minutes is 3 s.
const SHORT_CATALOGUE: &str = "code,position,title,summary,video,required_minutes\n\
T01,1,安全驾驶,测试课程,/videos/lesson-01.mp4|/videos/lesson-01.webm,0.05\n";

/// The demo apps with the short catalogue in place of the demo one.
async fn apps() -> Vec<(&'static str, TestApp)> {
    let apps = TestApp::each_with_demo().await;
    for (_, app) in &apps {
        sqlx::query("DELETE FROM study_courses").execute(app.db.pool()).await.unwrap();
        import_csv(&app.db, Kind::Courses, SHORT_CATALOGUE.as_bytes(), "test").await.unwrap();
    }
    apps
}

/// Re-imports 李四's licence with other facts.
async fn set_li_si(app: &TestApp, class: &str, status: &str, points: i64) {
    let csv = format!(
        "id_number,name,licence_class,licence_status,first_issued,cycle_points\n\
         210203197809062312,李四,{class},{status},2001-05-15,{points}\n"
    );
    import_csv(&app.db, Kind::Drivers, csv.as_bytes(), "test").await.unwrap();
}

/// Calls a server function the way the player does and returns its JSON answer.
async fn call(browser: &Browser, endpoint: &str, fields: &[(&str, &str)]) -> Value {
    let response = browser
        .client
        .post(format!("{}/api/{endpoint}", browser.base))
        .header(ORIGIN, &browser.base)
        .header(ACCEPT, "application/json")
        .form(fields)
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{endpoint} answered {text}"))
}

async fn start(browser: &Browser, code: &str) -> Value {
    let sitting = call(browser, "study_start", &[("code", code)]).await;
    assert!(sitting["lease"].is_string(), "{sitting}");
    sitting
}

async fn beat(browser: &Browser, code: &str, lease: &str, position_ms: i64) -> Value {
    call(browser, "study_heartbeat", &[("code", code), ("lease", lease), ("position_ms", &position_ms.to_string())])
        .await
}

/// Answers every drawn question with the bank's answer (or a wrong one for the first when `miss_first`).
async fn answer_quiz(app: &TestApp, browser: &Browser, miss_first: bool) -> String {
    // Opening the quiz draws the questions.
    browser.get("/study/quiz").await;
    let rows = sqlx::query(
        "SELECT q.code, q.answer, q.kind FROM study_enrolments e JOIN study_questions q \
         ON (',' || e.questions || ',') LIKE ('%,' || q.code || ',%') WHERE e.id_number = $1",
    )
    .bind(LI_SI.id_number)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    let mut fields: Vec<(String, String)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (code, answer, kind): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let wrong = match kind.as_str() {
            "judge" if answer == "T" => "F",
            "judge" => "T",
            _ if answer == "A" => "B",
            _ => "A",
        };
        let given = if miss_first && i == 0 { wrong.to_string() } else { answer };
        fields.push((format!("answers[{code}]"), given));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.submit("/api/submit_quiz", &fields).await
}

/// Plays the short course through in real time: a beat 1.6 s in comes too soon to count, the next at 3.2 s reaches
/// its 3 s.
async fn study_short_course(browser: &Browser) {
    let sitting = start(browser, "T01").await;
    let lease = sitting["lease"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let first = beat(browser, "T01", &lease, 1_600).await;
    assert_eq!((&first["status"], &first["complete"]), (&"TooSoon".into(), &false.into()), "{first}");
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let last = beat(browser, "T01", &lease, 3_200).await;
    assert_eq!(last["complete"], true, "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_check_explains_each_case() {
    for (db, app) in apps().await {
        let guest = app.browser();
        guest.sign_in("wechat", "study-guest").await;
        let page = guest.get("/study").await;
        assert!(page.contains("审验学习需要先完成实名认证") && page.contains("去实名认证"), "{db}: {page}");

        let c1 = app.linked_browser("wechat", "study-c1", &ZHANG_SAN).await;
        let page = c1.get("/study").await;
        assert!(page.contains("您的准驾车型为C1") && !page.contains("开始答题"), "{db}: {page}");
        assert!(c1.get("/study/quiz").await.contains("您的准驾车型为C1"), "{db}: the quiz refuses too");

        let other_class = app.linked_browser("wechat", "study-none", &WANG_WU).await;
        assert!(other_class.get("/study").await.contains("您的准驾车型为C1"), "{db}");

        let li = app.linked_browser("wechat", "study-li", &LI_SI).await;
        let page = li.get("/study").await;
        assert!(page.contains("符合在线审验学习条件") && page.contains("开始答题"), "{db}: {page}");
        assert!(page.contains("B2"), "{db}");

        set_li_si(&app, "B2", "normal", 0).await;
        let page = li.get("/study").await;
        assert!(page.contains("没有记分，无需参加审验学习") && !page.contains("开始答题"), "{db}: {page}");
        set_li_si(&app, "B2", "suspended", 3).await;
        let page = li.get("/study").await;
        assert!(page.contains("驾驶证状态为“暂扣”") && !page.contains("开始答题"), "{db}: {page}");
        set_li_si(&app, "B2", "normal", 9).await;
        let page = li.get("/study").await;
        assert!(page.contains("超过8分") && page.contains("交通警察大队"), "{db}: {page}");
        assert!(li.get("/study/courses").await.contains("超过8分"), "{db}: courses refuse too");
        set_li_si(&app, "A2", "normal", 8).await;
        assert!(li.get("/study").await.contains("符合在线审验学习条件"), "{db}: 8 points is still online");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_question_must_be_answered_before_courses_open_and_the_answers_are_shown() {
    for (db, app) in apps().await {
        let li = app.linked_browser("icbc", "quiz", &LI_SI).await;
        let page = li.get("/study/quiz").await;
        assert_eq!(page.matches("class=\"quiz__item\"").count(), 10, "{db}: ten questions drawn");
        assert!(li.get("/study/courses").await.contains("请先完成在线答题"), "{db}");
        assert!(call(&li, "study_start", &[("code", "T01")]).await.to_string().contains("请先完成在线答题"), "{db}");

        let page = li.submit("/api/submit_quiz", &[]).await;
        assert!(page.contains("还有10道题未作答"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM study_enrolments WHERE answers IS NOT NULL").await, 0, "{db}");

        let page = answer_quiz(&app, &li, true).await;
        assert!(page.contains("得分：90分") && page.contains("答对9题，共10题"), "{db}: {page}");
        assert!(page.contains("正确答案") && page.contains("解析") && page.contains("回答错误"), "{db}");
        // A second submission (a retry, the back button) leaves the first result.
        let page = answer_quiz(&app, &li, false).await;
        assert!(page.contains("得分：90分"), "{db}: {page}");
        let page = li.get("/study/courses").await;
        assert!(page.contains("安全驾驶") && page.contains("需学习<!>3秒"), "{db}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credited_time_never_grows_faster_than_the_wall_clock() {
    for (db, app) in apps().await {
        let li = app.linked_browser("wechat", "clock", &LI_SI).await;
        answer_quiz(&app, &li, false).await;
        let began = Instant::now();
        let sitting = start(&li, "T01").await;
        let lease = sitting["lease"].as_str().unwrap();
        // A player running 15% fast (within what the skip check leaves for jitter), beating every 300 ms.
        let playing = Instant::now();
        let mut last = Value::Null;
        for _ in 1..=11 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            last = beat(&li, "T01", lease, playing.elapsed().as_millis() as i64 * 115 / 100).await;
        }
        let elapsed = began.elapsed().as_millis() as i64;
        let credited = last["credited_ms"].as_i64().unwrap();
        assert!(credited <= elapsed, "{db}: credited {credited} ms in {elapsed} ms");
        assert!(credited >= 1_500, "{db}: real time still counts ({credited} ms)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumping_ahead_of_the_furthest_point_is_refused() {
    for (db, app) in apps().await {
        let li = app.linked_browser("wechat", "skip", &LI_SI).await;
        answer_quiz(&app, &li, false).await;
        let lease = start(&li, "T01").await["lease"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        let reply = beat(&li, "T01", &lease, 3_100).await;
        assert_eq!(reply["status"], "Credited", "{db}");
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        let reply = beat(&li, "T01", &lease, 60_000).await;
        assert_eq!(reply["status"], "SkipRefused", "{db}: {reply}");
        assert_eq!(reply["furthest_ms"], 3_100, "{db}: the player is sent back to 3.1 s");
        let furthest: i64 =
            sqlx::query("SELECT furthest_ms FROM study_progress").fetch_one(app.db.pool()).await.unwrap().get(0);
        assert_eq!(furthest, 3_100, "{db}: nothing stored from the skip");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_device_takes_over_and_the_first_is_told() {
    for (db, app) in apps().await {
        let phone = app.linked_browser("wechat", "device-1", &LI_SI).await;
        answer_quiz(&app, &phone, false).await;
        let tablet = app.linked_browser("icbc", "device-2", &LI_SI).await;
        let first = start(&phone, "T01").await["lease"].as_str().unwrap().to_string();
        let second = start(&tablet, "T01").await["lease"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        let told = beat(&phone, "T01", &first, 3_100).await;
        assert_eq!(told["status"], "TakenOver", "{db}: {told}");
        assert_eq!(told["credited_ms"], 0, "{db}: the first device earns nothing more");
        assert_eq!(beat(&tablet, "T01", &second, 3_100).await["status"], "Credited", "{db}");
        // Taking it back is one tap away, and then the tablet is the one told.
        let again = start(&phone, "T01").await["lease"].as_str().unwrap().to_string();
        assert_eq!(beat(&tablet, "T01", &second, 3_200).await["status"], "TakenOver", "{db}");
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        assert_eq!(beat(&phone, "T01", &again, 3_100).await["status"], "Credited", "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_and_returning_resumes_where_the_person_stopped() {
    for (db, app) in apps().await {
        let li = app.linked_browser("wechat", "resume", &LI_SI).await;
        answer_quiz(&app, &li, false).await;
        let lease = start(&li, "T01").await["lease"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        beat(&li, "T01", &lease, 3_100).await;
        // Gone for a while; the time away is not credited on return.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let back = start(&li, "T01").await;
        assert_eq!(back["resume_ms"], 3_100, "{db}: {back}");
        assert_eq!(back["credited_ms"], 3_100, "{db}");
        let lease = back["lease"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        // Played a little fast, so the position would leave room for the second away if it counted.
        let reply = beat(&li, "T01", &lease, 3_100 + 3_100 * 115 / 100).await;
        assert_eq!(reply["status"], "Credited", "{db}: {reply}");
        assert!(reply["credited_ms"].as_i64().unwrap() < 6_500, "{db}: {reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_waits_for_untreated_and_unpaid_records_then_is_issued_once() {
    for (db, app) in apps().await {
        // An untreated record on 李四's truck and an unpaid decision keep the certificate back.
        let csv = "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,decision_no,decided_on,party_id_number,paid\n\
            210200202611200101,辽B5G217,01,2026-11-20 09:00,疏港路,1039,机动车违反规定停放、临时停车且驾驶人不在现场的,0,100,0,,,,0\n\
            210200202611200102,辽B5G217,01,2026-11-20 10:00,疏港路,1039,机动车违反规定停放、临时停车且驾驶人不在现场的,0,100,0,2102031000009999,2026-11-21,210203197809062312,0\n";
        import_csv(&app.db, Kind::Violations, csv.as_bytes(), "test").await.unwrap();
        let li = app.linked_browser("icbc", "certificate", &LI_SI).await;
        answer_quiz(&app, &li, false).await;
        let page = li.get("/study/courses").await;
        assert!(page.contains("学完全部课程后可申领审验证明") && !page.contains("申领审验证明</button>"), "{db}");
        let page = li.submit("/api/issue_certificate", &[]).await;
        assert!(page.contains("请先学完全部课程"), "{db}: {page}");

        study_short_course(&li).await;
        let page = li.get("/study/courses").await;
        assert!(page.contains("辽B5G217 未处理") && page.contains("href=\"/violations\""), "{db}: {page}");
        assert!(page.contains("决定书 2102031000009999 未缴款") && page.contains("href=\"/fines\""), "{db}");
        let page = li.submit("/api/issue_certificate", &[]).await;
        assert!(page.contains("还有2项违法未处理或罚款未缴纳"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM study_certificates").await, 0, "{db}");

        sqlx::query("UPDATE violations SET paid = 1 WHERE record_no LIKE '2102002026112001%'")
            .execute(app.db.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE violations SET decision_no = '2102031000009998', decided_on = '2026-11-21' WHERE record_no = '210200202611200101'")
            .execute(app.db.pool())
            .await
            .unwrap();
        let page = li.submit("/api/issue_certificate", &[]).await;
        assert!(page.contains("机动车驾驶人审验学习证明") && page.contains("证明有效"), "{db}: {page}");
        assert!(page.contains("李*") && !page.contains("李四"), "{db}: the name is masked");
        assert!(page.contains("2102**********2312") && !page.contains(LI_SI.id_number), "{db}: the ID is masked");
        assert!(page.contains("data:image/svg+xml") && page.contains("审验证明验证二维码"), "{db}: a QR code");
        li.submit("/api/issue_certificate", &[]).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM study_certificates").await, 1, "{db}: issued once");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'study.certificate'").await, 1, "{db}");

        let code: String =
            sqlx::query("SELECT verify_code FROM study_certificates").fetch_one(app.db.pool()).await.unwrap().get(0);
        assert!(page.contains(&format!("/verify/{code}")), "{db}: the QR leads to the verification page");
        let public = reqwest::get(format!("{}/verify/{code}", app.base)).await.unwrap().text().await.unwrap();
        assert!(public.contains("证明有效") && public.contains("李*") && public.contains("B2"), "{db}: {public}");
        assert!(!public.contains("李四") && !public.contains(LI_SI.id_number), "{db}: masked only");
        let forged = format!("{}/verify/{}", app.base, "0".repeat(32));
        let public = reqwest::get(forged).await.unwrap().text().await.unwrap();
        assert!(public.contains("证明无效"), "{db}: {public}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_videos_are_served_with_range_requests() {
    for (db, app) in TestApp::each().await {
        let client = reqwest::Client::new();
        let whole = client.get(format!("{}/videos/lesson-01.mp4", app.base)).send().await.unwrap();
        assert_eq!(whole.status(), 200, "{db}");
        assert_eq!(whole.headers()["content-type"], "video/mp4", "{db}");
        let size = whole.bytes().await.unwrap().len();
        assert!(size > 10_000, "{db}: a real clip ({size} bytes)");
        let part = client
            .get(format!("{}/videos/lesson-01.webm", app.base))
            .header(RANGE, "bytes=100-199")
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), 206, "{db}");
        assert!(part.headers()["content-range"].to_str().unwrap().starts_with("bytes 100-199/"), "{db}");
        assert!(part.headers().get("content-encoding").is_none(), "{db}: videos are not recompressed");
        assert_eq!(part.bytes().await.unwrap().len(), 100, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_heartbeats_does_not_complete_a_course() {
    for (db, app) in apps().await {
        let li = app.linked_browser("wechat", "flood", &LI_SI).await;
        answer_quiz(&app, &li, false).await;
        let lease = start(&li, "T01").await["lease"].as_str().unwrap().to_string();
        let began = Instant::now();
        // Beats back to back, each claiming a second more, for longer than the course's 3 s.
        let (mut position, mut beats, mut last) = (0, 0, Value::Null);
        while began.elapsed() < Duration::from_millis(4_000) {
            position += 1_000;
            beats += 1;
            last = beat(&li, "T01", &lease, position).await;
        }
        let elapsed = began.elapsed().as_millis() as i64;
        assert!(beats > 10, "{db}: a flood ({beats} beats)");
        assert_eq!(last["complete"], false, "{db}: {last}");
        let furthest = last["furthest_ms"].as_i64().unwrap();
        assert!(furthest <= elapsed * 6 / 5, "{db}: the furthest point ran to {furthest} ms in {elapsed} ms");
    }
}

/// A second course of 6 s, whose first half is watched twice.
const SIX_SECOND_COURSE: &str = "code,position,title,summary,video,required_minutes\n\
T02,2,高速公路,测试课程,/videos/lesson-02.mp4|/videos/lesson-02.webm,0.1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_first_part_does_not_complete_a_course() {
    for (db, app) in apps().await {
        import_csv(&app.db, Kind::Courses, SIX_SECOND_COURSE.as_bytes(), "test").await.unwrap();
        let li = app.linked_browser("wechat", "replay", &LI_SI).await;
        answer_quiz(&app, &li, false).await;
        let lease = start(&li, "T02").await["lease"].as_str().unwrap().to_string();
        // Plays the first 3.3 s in real time, goes back to the start and plays them again.
        let mut last = Value::Null;
        for position in [3_300, 0, 3_300] {
            tokio::time::sleep(Duration::from_millis(3_300)).await;
            last = beat(&li, "T02", &lease, position).await;
            assert_eq!(last["status"], "Credited", "{db}: {last}");
        }
        assert_eq!(last["complete"], false, "{db}: {last}");
        assert_eq!(last["credited_ms"], 3_300, "{db}: watching a part again earns nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_owners_records_do_not_hold_the_certificate_back() {
    for (db, app) in apps().await {
        // 钱七 leaves an untreated red light and an unpaid decision on 辽B9P306, then sells it to 李四, onto whose
        // card it goes today.
        let csv = "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,decision_no,decided_on,party_id_number,paid\n\
            210200202611190010,辽B9P306,02,2026-11-19 08:00,解放路,1039,机动车违反规定停放、临时停车且驾驶人不在现场的,0,100,0,2102131000007777,2026-11-20,210213197504305611,0\n";
        import_csv(&app.db, Kind::Violations, csv.as_bytes(), "test").await.unwrap();
        let sold = format!(
            "plate,plate_type,vehicle_type,owner_id_number,card_no\n辽B9P306,02,小型轿车,{},{}\n",
            LI_SI.id_number, LI_SI.card_no
        );
        import_csv(&app.db, Kind::Vehicles, sold.as_bytes(), "test").await.unwrap();
        let li = app.linked_browser("icbc", "bought", &LI_SI).await;
        answer_quiz(&app, &li, false).await;
        study_short_course(&li).await;
        let page = li.get("/study/courses").await;
        assert!(!page.contains("辽B9P306") && !page.contains("2102131000007777"), "{db}: {page}");
        let page = li.submit("/api/issue_certificate", &[]).await;
        assert!(page.contains("机动车驾驶人审验学习证明"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM study_certificates").await, 1, "{db}");
    }
}

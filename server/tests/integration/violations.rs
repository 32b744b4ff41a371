//! 交通违法处理 and 已绑定车辆信息 (SPEC §2D, §2F, §3) on the demo data.

use app::domain::{CivilDate, Fen};
use app::import::{import_csv, Kind};
use app::violations::rules;

use crate::support::{Person, TestApp, LI_SI, WANG_WU, ZHANG_SAN};

const RED_LIGHT: &str = "210200202609170001";
const WRONG_WAY: &str = "210200202610090002";
const OVERLOAD: &str = "210200202611050004";
const DRUNK: &str = "210200202611120005";

async fn points(app: &TestApp, id_number: &str) -> i64 {
    app.value("SELECT cycle_points FROM drivers WHERE id_number = $1", id_number).await
}

async fn decision_of(app: &TestApp, record_no: &str) -> Option<String> {
    app.value("SELECT decision_no FROM violations WHERE record_no = $1", record_no).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_comes_first_and_is_remembered() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "notice", &ZHANG_SAN).await;
        let page = browser.get("/violations").await;
        assert!(page.contains("使用须知") && page.contains("知晓并同意"), "{db}");
        assert!(!page.contains("辽B12345"), "{db}: no vehicles before agreeing");
        let page = browser.submit("/api/violations_agree", &[]).await;
        for plate in ["辽B12345", "辽BD12345", "辽B6A789"] {
            assert!(page.contains(plate), "{db}: {plate} listed");
        }
        assert!(!browser.get("/violations").await.contains("知晓并同意"), "{db}: remembered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vehicle_without_records_says_so_in_the_guides_words() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("wechat", "nothing", &WANG_WU).await;
        browser.submit("/api/violations_agree", &[]).await;
        let page = browser.get("/violations/vehicle?plate=%E8%BE%BDB3K618&type=02").await;
        assert!(page.contains("您目前车辆无违法记录"), "{db}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_cannot_be_processed_online_show_why_and_offer_no_processing() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "refusals", &ZHANG_SAN).await;
        browser.submit("/api/violations_agree", &[]).await;
        let truck = browser.get("/violations/vehicle?plate=%E8%BE%BDB6A789&type=02").await;
        assert!(truck.contains("罚款金额超过200元"), "{db}");
        assert!(!truck.contains(&format!("record?no={OVERLOAD}")), "{db}: no 处理 for the overload");
        let car = browser.get("/violations/vehicle?plate=%E8%BE%BDB12345&type=02").await;
        assert!(car.contains("到交警大队窗口处理"), "{db}: counter-only reason");
        assert!(car.contains(&format!("record?no={RED_LIGHT}")), "{db}: the red light can be processed");
        assert!(!car.contains(&format!("record?no={DRUNK}")), "{db}");

        let page = browser.submit("/api/process_record", &[("record_no", OVERLOAD)]).await;
        assert!(page.contains("罚款金额超过200元"), "{db}: a direct call is refused too");
        assert_eq!(decision_of(&app, OVERLOAD).await, None, "{db}");
        browser.submit("/api/process_record", &[("record_no", DRUNK)]).await;
        assert_eq!(decision_of(&app, DRUNK).await, None, "{db}");
        assert_eq!(points(&app, ZHANG_SAN.id_number).await, 4, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_decides_once_adds_points_to_the_processing_driver_and_sets_the_due_date() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "process", &ZHANG_SAN).await;
        browser.submit("/api/violations_agree", &[]).await;
        let detail = browser.get(&format!("/violations/record?no={RED_LIGHT}")).await;
        for fact in
            ["中山路与五四路交叉口", "1625", "违反道路交通信号灯", "6分", "200.00元", "违法证据照片", "接受处理"]
        {
            assert!(detail.contains(fact), "{db}: details show {fact}");
        }
        let page = browser.submit("/api/process_record", &[("record_no", RED_LIGHT)]).await;
        let decision_no = decision_of(&app, RED_LIGHT).await.expect("decided");
        assert!(page.contains(&decision_no) && page.contains("处理成功"), "{db}: {page}");
        let today = CivilDate::shanghai_today_from_epoch(app::platform::now());
        assert!(page.contains(&rules::due_date(today).unwrap().to_string()), "{db}: due date is 15 days on");
        assert!(page.contains("缴费") && page.contains("稍后缴费"), "{db}");
        assert_eq!(points(&app, ZHANG_SAN.id_number).await, 10, "{db}: 4 + 6");

        browser.submit("/api/process_record", &[("record_no", RED_LIGHT)]).await;
        assert_eq!(decision_of(&app, RED_LIGHT).await.as_deref(), Some(decision_no.as_str()), "{db}");
        assert_eq!(points(&app, ZHANG_SAN.id_number).await, 10, "{db}: a repeat adds nothing");

        let page = browser.submit("/api/process_record", &[("record_no", WRONG_WAY)]).await;
        assert!(page.contains("累积记分将达到12分"), "{db}: 10 + 3 reaches 12");
        assert_eq!(decision_of(&app, WRONG_WAY).await, None, "{db}");
        let audits = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'violation.process'").await;
        assert_eq!(audits, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_processing_of_one_record_decides_it_once() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("wechat", "race", &ZHANG_SAN).await;
        browser.submit("/api/violations_agree", &[]).await;
        let before = app.count("SELECT COUNT(*) FROM violations WHERE decision_no IS NOT NULL").await;
        let clicks = (0..8).map(|_| browser.post("/api/process_record", &[("record_no", RED_LIGHT)]));
        for response in futures::future::join_all(clicks).await {
            assert!(response.status().is_success() || response.status().is_redirection(), "{db}");
        }
        assert_eq!(points(&app, ZHANG_SAN.id_number).await, 10, "{db}: points added once");
        let after = app.count("SELECT COUNT(*) FROM violations WHERE decision_no IS NOT NULL").await;
        assert_eq!(after, before + 1, "{db}: one new decision");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_decision_shows_its_late_fee() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("icbc", "overdue", &ZHANG_SAN).await;
        let page = browser.get("/violations/decision?no=2102021000015367").await;
        let today = CivilDate::shanghai_today_from_epoch(app::platform::now());
        let due = rules::amount_due(Fen::new(20000), CivilDate::parse("2026-10-15").unwrap(), today).unwrap();
        assert!(due.late_fee.fen() > 0, "{db}: the demo decision is overdue");
        assert!(page.contains(&format!("{}元", due.late_fee)), "{db}: late fee {}", due.late_fee);
        assert!(page.contains(&format!("{}元", due.total)), "{db}: total {}", due.total);
        assert!(page.contains("已逾期"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_sees_or_processes_another_persons_records() {
    for (db, app) in TestApp::each_with_demo().await {
        let li = app.linked_browser("icbc", "li", &LI_SI).await;
        li.submit("/api/violations_agree", &[]).await;
        let page = li.get(&format!("/violations/record?no={RED_LIGHT}")).await;
        assert!(page.contains("未找到该违法记录") && !page.contains("中山路"), "{db}");
        let page = li.get("/violations/vehicle?plate=%E8%BE%BDB12345&type=02").await;
        assert!(page.contains("该车辆未绑定您的交通服务卡") && !page.contains("违反道路交通信号灯"), "{db}");
        li.submit("/api/process_record", &[("record_no", RED_LIGHT)]).await;
        assert_eq!(decision_of(&app, RED_LIGHT).await, None, "{db}");
        let page = li.get("/violations/decision?no=2102021000015367").await;
        assert!(page.contains("未找到该处罚决定书"), "{db}");
        let photo = li.client.get(format!("{}/evidence/{RED_LIGHT}", app.base)).send().await.unwrap();
        assert_eq!(photo.status(), 404, "{db}");
        let guest = reqwest::get(format!("{}/evidence/{RED_LIGHT}", app.base)).await.unwrap();
        assert_eq!(guest.status(), 404, "{db}");

        let stranger = app.browser();
        stranger.sign_in("icbc", "no-realname").await;
        let page = stranger.get("/violations").await;
        assert!(page.contains("请先完成实名认证") && page.contains("去实名认证"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbinding_a_vehicle_hides_its_records_and_stops_processing() {
    for (db, app) in TestApp::each_with_demo().await {
        let browser = app.linked_browser("wechat", "unbind-car", &ZHANG_SAN).await;
        browser.submit("/api/violations_agree", &[]).await;
        let page = browser.get("/vehicles").await;
        assert!(page.contains("辽B12345") && page.contains("张*") && page.contains("****1013"), "{db}");
        assert!(!page.contains(ZHANG_SAN.id_number), "{db}");
        let confirm = browser.get("/vehicles/unbind?plate=%E8%BE%BDB12345&type=02").await;
        assert!(confirm.contains("确定解除该车辆的绑定吗") && confirm.contains("确认解除绑定"), "{db}");
        let page = browser.submit("/api/unbind_vehicle", &[("plate", "辽B12345"), ("plate_type", "02")]).await;
        assert!(page.contains("已解除车辆 辽B12345"), "{db}");
        assert!(!browser.get("/violations").await.contains("辽B12345"), "{db}: no longer listed");
        browser.submit("/api/process_record", &[("record_no", RED_LIGHT)]).await;
        assert_eq!(decision_of(&app, RED_LIGHT).await, None, "{db}: cannot be processed through the card");
        let page = browser.submit("/api/unbind_vehicle", &[("plate", "辽B12345"), ("plate_type", "02")]).await;
        assert!(page.contains("该车辆未绑定您的交通服务卡"), "{db}: a repeat is harmless");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'vehicle.unbind'").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fines_list_holds_exactly_the_callers_unpaid_decisions() {
    for (db, app) in TestApp::each_with_demo().await {
        let zhang = app.linked_browser("icbc", "fines", &ZHANG_SAN).await;
        let page = zhang.get("/fines").await;
        assert!(page.contains("2102021000015367"), "{db}: the overdue decision");
        assert!(!page.contains("2102021000009122"), "{db}: the paid one is not listed");
        assert!(page.contains("已逾期") && page.contains("/fines/pay?no=2102021000015367"), "{db}");
        zhang.submit("/api/violations_agree", &[]).await;
        zhang.submit("/api/process_record", &[("record_no", RED_LIGHT)]).await;
        let decision_no = decision_of(&app, RED_LIGHT).await.unwrap();
        assert!(zhang.get("/fines").await.contains(&decision_no), "{db}: a new decision waits for payment");

        let li = app.linked_browser("wechat", "fines-li", &LI_SI).await;
        let page = li.get("/fines").await;
        assert!(page.contains("您目前车辆无违法记录"), "{db}: 李四's only decision is paid");
        assert!(!page.contains("2102021000015367") && !page.contains(&decision_no), "{db}");
        let wang = app.linked_browser("wechat", "fines-wang", &WANG_WU).await;
        assert!(wang.get("/fines").await.contains("您目前车辆无违法记录"), "{db}");
    }
}

/// 钱七: the demo's suspended licence, whose car 辽B9P306 has an untreated red light.
const QIAN_QI: Person =
    Person { name: "钱七", id_number: "210213197504305611", card_no: "6222023400001062", phone: "13804110005" };
const PREVIOUS_RED_LIGHT: &str = "210200202611180009";
const PREVIOUS_DECISION: &str = "2102131000007777";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vehicles_previous_owners_records_stay_theirs() {
    for (db, app) in TestApp::each_with_demo().await {
        // 钱七 also leaves an unpaid decision on 辽B9P306, then sells it to 王五, whose card it joins today.
        let header = "record_no,plate,plate_type,occurred_at,location,code,behaviour,points,fine_yuan,counter_only,decision_no,decided_on,party_id_number,paid\n";
        let decided = format!(
            "{header}210200202611190010,辽B9P306,02,2026-11-19 08:00,解放路,1039,机动车违反规定停放、临时停车且驾驶人不在现场的,0,100,0,{PREVIOUS_DECISION},2026-11-20,{},0\n",
            QIAN_QI.id_number
        );
        import_csv(&app.db, Kind::Violations, decided.as_bytes(), "test").await.unwrap();
        let sold = format!(
            "plate,plate_type,vehicle_type,owner_id_number,card_no\n辽B9P306,02,小型轿车,{},{}\n",
            WANG_WU.id_number, WANG_WU.card_no
        );
        import_csv(&app.db, Kind::Vehicles, sold.as_bytes(), "test").await.unwrap();

        let wang = app.linked_browser("wechat", "new-owner", &WANG_WU).await;
        let page = wang.submit("/api/violations_agree", &[]).await;
        assert!(page.contains("辽B9P306") && !page.contains("条未处理"), "{db}: {page}");
        let page = wang.get("/violations/vehicle?plate=%E8%BE%BDB9P306&type=02").await;
        assert!(page.contains("您目前车辆无违法记录") && !page.contains("解放路"), "{db}: {page}");
        let page = wang.get(&format!("/violations/record?no={PREVIOUS_RED_LIGHT}")).await;
        assert!(page.contains("未找到该违法记录"), "{db}: {page}");
        wang.submit("/api/process_record", &[("record_no", PREVIOUS_RED_LIGHT)]).await;
        assert_eq!(decision_of(&app, PREVIOUS_RED_LIGHT).await, None, "{db}: 王五 cannot take 钱七's record");
        let photo = wang.client.get(format!("{}/evidence/{PREVIOUS_RED_LIGHT}", app.base)).send().await.unwrap();
        assert_eq!(photo.status(), 404, "{db}");
        let page = wang.get("/fines").await;
        assert!(page.contains("您目前车辆无违法记录") && !page.contains(PREVIOUS_DECISION), "{db}: {page}");
        let page = wang.get(&format!("/violations/decision?no={PREVIOUS_DECISION}")).await;
        assert!(page.contains("未找到该处罚决定书"), "{db}: {page}");
        let page = wang.get(&format!("/fines/pay?no={PREVIOUS_DECISION}")).await;
        assert!(page.contains("未找到该处罚决定书"), "{db}: nor can he pay it: {page}");

        // The decision stays 钱七's to see and pay.
        let qian = app.linked_browser("icbc", "old-owner", &QIAN_QI).await;
        assert!(qian.get("/fines").await.contains(PREVIOUS_DECISION), "{db}");

        // What happens after the sale is 王五's.
        let later = format!(
            "{header}210200203001020011,辽B9P306,02,2030-01-02 08:00,中山路,1625,驾驶机动车违反道路交通信号灯通行的,6,200,0,,,,0\n"
        );
        import_csv(&app.db, Kind::Violations, later.as_bytes(), "test").await.unwrap();
        let page = wang.get("/violations/vehicle?plate=%E8%BE%BDB9P306&type=02").await;
        assert!(page.contains("210200203001020011") && !page.contains("解放路"), "{db}: {page}");
        assert!(wang.get("/violations").await.contains("1条未处理"), "{db}");
    }
}

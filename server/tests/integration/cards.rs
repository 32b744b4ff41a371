//! 申办交通服务卡 (SPEC §2H): the application form, the status page, and the bank's steps in the console, each
//! with its SMS and audit row, and who may take them.

use app::console::auth::add_staff;
use app::console::model::Role;
use app::import::{import_csv, Kind};
use reqwest::header::{ACCEPT, ORIGIN};
use sqlx::Row;

use crate::support::{Browser, Person, TestApp};

/// An applicant with no card yet.
const APPLICANT: Person = Person { name: "孙七", id_number: "210204199001017012", card_no: "", phone: "13904990001" };
/// A second applicant.
const OTHER: Person = Person { name: "周八", id_number: "210204199001017020", card_no: "", phone: "13904990002" };
/// The applicant's own car, and a car somebody else owns.
const OWN_PLATE: &str = "辽B7C001";
const OTHERS_PLATE: &str = "辽B7C002";
/// 张三 of the standard cards, who holds an active card with his car on it.
const HOLDER: Person =
    Person { name: "张三", id_number: "210202198503122018", card_no: "6222009900001017", phone: "13804110001" };
const HOLDERS_PLATE: &str = "辽B7C003";
/// A driver with a car on no card and no card of his own.
const CARDLESS: Person = Person { name: "郑十", id_number: "210204199001017039", card_no: "", phone: "13904990003" };
const CARDLESS_PLATE: &str = "辽B7C004";
/// Somebody who knows a driver's name and ID number, with a phone of their own.
const ATTACKER_PHONE: &str = "13904990066";
const STAFF_PASSWORD: &str = "long-password-123";

/// The standard apps with the applicant's car and another person's car, neither on a card.
async fn apps() -> Vec<(&'static str, TestApp)> {
    let apps = TestApp::each().await;
    for (_, app) in &apps {
        let csv = format!(
            "plate,plate_type,vehicle_type,owner_id_number,card_no\n\
             {OWN_PLATE},02,小型轿车,{},\n{OTHERS_PLATE},02,小型轿车,{},\n\
             {HOLDERS_PLATE},02,小型轿车,{},{}\n{CARDLESS_PLATE},02,小型轿车,{},\n",
            APPLICANT.id_number, OTHER.id_number, HOLDER.id_number, HOLDER.card_no, CARDLESS.id_number
        );
        import_csv(&app.db, Kind::Vehicles, csv.as_bytes(), "test").await.unwrap();
        for (name, role) in [("bank1", Role::Bank), ("auditor1", Role::Auditor), ("police1", Role::Police)] {
            add_staff(&app.db, name, role, STAFF_PASSWORD, "test").await.unwrap();
        }
    }
    apps
}

/// The form's fields for `person`, with `plates` and the first branch.
fn form<'a>(person: &'a Person, code: &'a str, plates: [&'a str; 3]) -> Vec<(&'a str, &'a str)> {
    vec![
        ("op", "submit"),
        ("name", person.name),
        ("id_number", person.id_number),
        ("phone", person.phone),
        ("code", code),
        ("plate1", plates[0]),
        ("plate2", plates[1]),
        ("plate3", plates[2]),
        ("branch", "DL-ZS"),
    ]
}

/// Presses 获取验证码 for `person` and returns the code.
async fn code_for(app: &TestApp, browser: &Browser, person: &Person) -> String {
    // Lets the resend wait pass when a test asks for a second code.
    sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
    let page = browser.submit("/api/card_apply", &[("op", "send_code"), ("phone", person.phone)]).await;
    assert!(page.contains("验证码已发送至"), "{page}");
    app.latest_code(person.phone).await.expect("a code")
}

/// Applies as `person` and returns the page the browser lands on.
async fn apply(app: &TestApp, browser: &Browser, person: &Person, plates: [&str; 3]) -> String {
    let code = code_for(app, browser, person).await;
    browser.submit("/api/card_apply", &form(person, &code, plates)).await
}

/// The first application number on a page.
fn number_on(page: &str) -> String {
    let start = page.find("SQ2").unwrap_or_else(|| panic!("no application number: {page}"));
    page[start..start + 16].to_string()
}

/// A console browser signed in as `username`.
async fn staff(app: &TestApp, username: &str) -> Browser {
    let browser = app.browser();
    let page = browser.submit("/api/staff_login", &[("username", username), ("password", STAFF_PASSWORD)]).await;
    assert!(page.contains("管理后台") && !page.contains("用户名或密码不正确"), "{username}: {page}");
    browser
}

/// Takes a console step the way the form does; returns the detail page with its flash.
async fn step(browser: &Browser, no: &str, op: &str, reason: &str) -> String {
    browser.submit("/api/card_application_step", &[("no", no), ("op", op), ("reason", reason)]).await
}

/// Calls a server function as a script would, for the answer's status and body.
async fn call(browser: &Browser, endpoint: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let response = browser
        .client
        .post(format!("{}/api/{endpoint}", browser.base))
        .header(ORIGIN, &browser.base)
        .header(ACCEPT, "application/json")
        .form(fields)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn state_of(app: &TestApp, no: &str) -> String {
    app.value("SELECT state FROM card_applications WHERE application_no = $1", no).await
}

/// The application notices (not the codes) `phone` received, oldest first.
async fn notices(app: &TestApp, phone: &str) -> Vec<String> {
    sqlx::query("SELECT body FROM sms_outbox WHERE phone = $1 AND body NOT LIKE '%验证码%' ORDER BY id")
        .bind(phone)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The audit rows about an application: (action, actor).
async fn audit(app: &TestApp, no: &str) -> Vec<(String, String)> {
    sqlx::query("SELECT action, actor FROM audit_log WHERE subject = $1 ORDER BY id")
        .bind(no)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn card_of(app: &TestApp, no: &str) -> Option<String> {
    sqlx::query("SELECT card_no FROM card_applications WHERE application_no = $1")
        .bind(no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn card_row(app: &TestApp, card_no: &str) -> (String, String, String, String) {
    let card = sqlx::query("SELECT id_number, name, phone, status FROM cards WHERE card_no = $1")
        .bind(card_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    (card.get(0), card.get(1), card.get(2), card.get(3))
}

async fn vehicle_card(app: &TestApp, plate: &str) -> Option<String> {
    sqlx::query("SELECT card_no FROM vehicles WHERE plate = $1")
        .bind(plate)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_goes_from_submitted_to_collected_with_an_sms_and_an_audit_row_at_each_step() {
    for (db, app) in apps().await {
        let guest = app.browser();
        let page = apply(&app, &guest, &APPLICANT, [OWN_PLATE, "", OTHERS_PLATE]).await;
        let no = number_on(&page);
        assert!(page.contains("申请已提交") && page.contains("已提交") && page.contains("孙*"), "{db}: {page}");
        assert!(page.contains("2102**********7012") && page.contains("139****0001"), "{db}: masked: {page}");
        assert_eq!(state_of(&app, &no).await, "submitted", "{db}");
        assert!(notices(&app, APPLICANT.phone).await[0].contains(&no), "{db}: the submission is told by SMS");

        let bank = staff(&app, "bank1").await;
        let list = bank.get("/console/applications?state=submitted").await;
        assert!(list.contains(&no) && list.contains("孙七"), "{db}: {list}");
        let detail = bank.get(&format!("/console/applications/detail?no={no}")).await;
        let offered = |page: &str, op: &str| page.contains(&format!("name=\"op\" value=\"{op}\""));
        assert!(
            offered(&detail, "review") && offered(&detail, "reject") && !offered(&detail, "approve"),
            "{db}: {detail}"
        );

        let page = step(&bank, &no, "review", "").await;
        assert!(page.contains("已开始审核") && offered(&page, "approve") && !offered(&page, "review"), "{db}: {page}");
        assert_eq!(state_of(&app, &no).await, "reviewing", "{db}");

        let page = step(&bank, &no, "approve", "").await;
        let card_no = card_of(&app, &no).await.expect("a card number");
        assert!(card_no.starts_with("62220299") && card_no.len() == 16, "{db}: {card_no}");
        assert!(app::domain::CardNo::parse(&card_no).is_ok(), "{db}: Luhn-valid");
        assert!(page.contains(&card_no), "{db}: the console shows the card: {page}");
        assert!(!page.contains("已关联车辆"), "{db}: no car moves before pickup: {page}");
        assert_eq!(vehicle_card(&app, OWN_PLATE).await, None, "{db}");
        let waiting = (APPLICANT.id_number.into(), "孙七".into(), APPLICANT.phone.into(), "pending_pickup".into());
        assert_eq!(card_row(&app, &card_no).await, waiting, "{db}");
        assert!(page.contains("请当面核验申请人本人身份证原件"), "{db}: {page}");

        let page = step(&bank, &no, "collect", "").await;
        assert!(page.contains("已确认领卡"), "{db}: {page}");
        assert_eq!(state_of(&app, &no).await, "collected", "{db}");
        assert!(page.contains(&format!("已关联车辆：{OWN_PLATE}")), "{db}: {page}");
        assert!(page.contains(&format!("未关联（非申请人名下）：{OTHERS_PLATE}")), "{db}: {page}");
        assert_eq!(vehicle_card(&app, OWN_PLATE).await.as_deref(), Some(card_no.as_str()), "{db}");
        assert_eq!(vehicle_card(&app, OTHERS_PLATE).await, None, "{db}: another person's car is left alone");
        let active = (APPLICANT.id_number.into(), "孙七".into(), APPLICANT.phone.into(), "active".into());
        assert_eq!(card_row(&app, &card_no).await, active, "{db}");

        let sms = notices(&app, APPLICANT.phone).await;
        assert_eq!(sms.len(), 4, "{db}: one SMS per change: {sms:?}");
        assert!(
            sms[1].contains("已进入审核") && sms[2].contains("已制卡") && sms[3].contains("已领取"),
            "{db}: {sms:?}"
        );
        let digits = sms[2].replace(&no, "").chars().filter(char::is_ascii_digit).count();
        assert!(sms[2].contains("中山支行") && digits == 0, "{db}: no digit of the card before pickup: {sms:?}");
        assert!(sms[3].contains(&format!("尾号{}", &card_no[12..])), "{db}: {sms:?}");
        let actions: Vec<String> = audit(&app, &no).await.into_iter().map(|(action, _)| action).collect();
        assert_eq!(
            actions,
            ["submit", "review", "approve", "collect"].map(|s| format!("card_application.{s}")),
            "{db}"
        );
        assert_eq!(audit(&app, &no).await[1].1, "staff:bank1", "{db}");

        let status =
            guest.post("/api/card_status_lookup", &[("application_no", &no), ("id_number", APPLICANT.id_number)]).await;
        let status = status.text().await.unwrap();
        assert!(status.contains("已领卡") && status.contains(&format!("****{}", &card_no[12..])), "{db}: {status}");

        // The new card works for 实名认证, and the declared car is on it.
        let holder = Person { card_no: Box::leak(card_no.clone().into_boxed_str()), ..APPLICANT };
        let driver = app.linked_browser("icbc", "new-card-holder", &holder).await;
        let vehicles = driver.get("/vehicles").await;
        assert!(vehicles.contains(OWN_PLATE) && !vehicles.contains(OTHERS_PLATE), "{db}: {vehicles}");

        // The bank's export carries the card twice: issued waiting for pickup, then handed over.
        let file = crate::exports::export_text(&app, app::export::Kind::Cards, None).await;
        let rows: Vec<&str> = file.lines().collect();
        assert_eq!(rows[0], "card_no,id_number,name,phone,status,application_no,changed_at", "{db}");
        let issued = format!("{card_no},{},孙七,{},pending_pickup,{no},", APPLICANT.id_number, APPLICANT.phone);
        let handed = format!("{card_no},{},孙七,{},active,{no},", APPLICANT.id_number, APPLICANT.phone);
        assert!(rows.len() == 3 && rows[1].starts_with(&issued) && rows[2].starts_with(&handed), "{db}: {file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_needs_a_reason_which_the_status_page_and_the_sms_give() {
    for (db, app) in apps().await {
        let guest = app.browser();
        let no = number_on(&apply(&app, &guest, &APPLICANT, ["", "", ""]).await);
        let bank = staff(&app, "bank1").await;
        let page = step(&bank, &no, "reject", " ").await;
        assert!(page.contains("请填写驳回原因"), "{db}: {page}");
        let page = step(&bank, &no, "reject", "缺").await;
        assert!(page.contains("驳回原因应为2至200个字"), "{db}: {page}");
        assert_eq!(state_of(&app, &no).await, "submitted", "{db}: nothing changed");

        step(&bank, &no, "review", "").await;
        let page = step(&bank, &no, "reject", "身份证照片不清晰，请重新申请").await;
        assert!(page.contains("已驳回"), "{db}: {page}");
        assert_eq!(state_of(&app, &no).await, "rejected", "{db}");
        let sms = notices(&app, APPLICANT.phone).await;
        assert!(sms.last().unwrap().contains("原因：身份证照片不清晰"), "{db}: {sms:?}");
        assert_eq!(sms.len(), 3, "{db}: submitted, reviewing, rejected: {sms:?}");
        assert_eq!(audit(&app, &no).await.last().unwrap().0, "card_application.reject", "{db}");

        let status =
            guest.post("/api/card_status_lookup", &[("application_no", &no), ("id_number", APPLICANT.id_number)]).await;
        let status = status.text().await.unwrap();
        assert!(status.contains("已驳回") && status.contains("驳回原因"), "{db}: {status}");
        assert!(status.contains("身份证照片不清晰，请重新申请"), "{db}: {status}");

        let page = step(&bank, &no, "collect", "").await;
        assert!(page.contains("该申请当前状态为“已驳回”，不能确认领卡"), "{db}: {page}");
        // A rejected application no longer blocks a new one.
        let again = apply(&app, &guest, &APPLICANT, ["", "", ""]).await;
        assert!(again.contains("申请已提交") && number_on(&again) != no, "{db}: {again}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_application_in_progress_is_refused_naming_the_first() {
    for (db, app) in apps().await {
        let browser = app.browser();
        let no = number_on(&apply(&app, &browser, &APPLICANT, ["", "", ""]).await);
        let page = apply(&app, &browser, &APPLICANT, [OWN_PLATE, "", ""]).await;
        assert!(page.contains(&format!("您已有一份办理中的交通服务卡申请（申请编号：{no}）")), "{db}: {page}");
        assert!(page.contains(&format!("value=\"{OWN_PLATE}\"")), "{db}: the form keeps what was typed");
        // Someone who knows only the ID number is not told the application number.
        let stranger = Person { name: "吴九", phone: "13904990009", ..APPLICANT };
        let page = apply(&app, &app.browser(), &stranger, ["", "", ""]).await;
        assert!(page.contains("该身份证号已有一份办理中的交通服务卡申请") && !page.contains(&no), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM card_applications").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_submit_and_a_double_approve_apply_once() {
    for (db, app) in apps().await {
        let browser = app.browser();
        let code = code_for(&app, &browser, &APPLICANT).await;
        let fields = form(&APPLICANT, &code, [OWN_PLATE, "", ""]);
        let clicks = (0..4).map(|_| browser.post("/api/card_apply", &fields));
        for response in futures::future::join_all(clicks).await {
            assert!(response.status().is_success(), "{db}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM card_applications").await, 1, "{db}: one application for 4 clicks");
        let no: String =
            sqlx::query("SELECT application_no FROM card_applications").fetch_one(app.db.pool()).await.unwrap().get(0);
        assert_eq!(notices(&app, APPLICANT.phone).await.len(), 1, "{db}: one submission SMS");

        let bank = staff(&app, "bank1").await;
        step(&bank, &no, "review", "").await;
        let approve = [("no", no.as_str()), ("op", "approve")];
        let clicks = (0..4).map(|_| bank.post("/api/card_application_step", &approve));
        for response in futures::future::join_all(clicks).await {
            assert!(response.status().is_success(), "{db}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM cards WHERE card_no LIKE '62220299%'").await, 1, "{db}: one card");
        assert_eq!(app.count("SELECT value FROM counters WHERE name = 'card_no'").await, 1, "{db}");
        let approvals = audit(&app, &no).await.iter().filter(|(a, _)| a == "card_application.approve").count();
        assert_eq!(approvals, 1, "{db}");
        assert_eq!(notices(&app, APPLICANT.phone).await.len(), 3, "{db}: submitted, reviewing, made");
        let page = step(&bank, &no, "approve", "").await;
        assert!(page.contains("该申请当前状态为“已制卡”，不能批准制卡"), "{db}: {page}");

        // The next approval takes the next number of the range.
        let other = app.browser();
        let second = number_on(&apply(&app, &other, &OTHER, ["", "", ""]).await);
        step(&bank, &second, "review", "").await;
        step(&bank, &second, "approve", "").await;
        let (first_card, second_card) = (card_of(&app, &no).await.unwrap(), card_of(&app, &second).await.unwrap());
        assert_eq!(&first_card[..15], "622202990000001", "{db}");
        assert_eq!(&second_card[..15], "622202990000002", "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_has_its_own_message_and_a_rejected_form_keeps_what_was_typed() {
    for (db, app) in apps().await {
        let browser = app.browser();
        let empty = browser.submit("/api/card_apply", &[("op", "submit")]).await;
        for message in ["请输入姓名", "请输入身份证号", "请输入手机号", "请输入短信验证码", "请选择领卡网点"]
        {
            assert!(empty.contains(message), "{db}: {message}: {empty}");
        }
        let fields = [
            ("op", "submit"),
            ("name", "Zhang San"),
            ("id_number", "210204199001017013"),
            ("phone", "12345"),
            ("code", "12a"),
            ("plate1", "辽B1234"),
            ("plate2", "辽B7C001"),
            ("plate3", "辽b7c001"),
            ("branch", "NOWHERE"),
        ];
        let page = browser.submit("/api/card_apply", &fields).await;
        for message in [
            "姓名应为2至20个汉字，与身份证一致",
            "身份证号校验位不正确",
            "手机号应为11位手机号码",
            "验证码应为6位数字",
            "车牌号格式不正确（如：辽B12345）",
            "车牌号重复，每辆车只需填写一次",
            "请从列表中选择领卡网点",
        ] {
            assert!(page.contains(message), "{db}: {message}: {page}");
        }
        for kept in ["value=\"Zhang San\"", "value=\"210204199001017013\"", "value=\"12345\"", "value=\"辽B1234\""] {
            assert!(page.contains(kept), "{db}: {kept}");
        }
        let wrong_code = form(&APPLICANT, "000000", ["", "", ""]);
        let page = browser.submit("/api/card_apply", &wrong_code).await;
        assert!(page.contains("请先获取短信验证码"), "{db}: {page}");
        code_for(&app, &browser, &APPLICANT).await;
        let page = browser.submit("/api/card_apply", &wrong_code).await;
        assert!(page.contains("短信验证码错误") || page.contains("申请已提交"), "{db}: {page}");
        let page = browser.submit("/api/card_apply", &[("op", "send_code"), ("phone", "1390499")]).await;
        assert!(page.contains("手机号应为11位手机号码"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM card_applications WHERE branch_code = 'NOWHERE'").await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_lookup_opens_only_a_matching_application_and_every_mismatch_reads_the_same() {
    for (db, app) in apps().await {
        let no = number_on(&apply(&app, &app.browser(), &APPLICANT, [OWN_PLATE, "", ""]).await);
        let someone = app.browser();
        let lookup = |no: String, id: &'static str| {
            let someone = &someone;
            async move {
                someone
                    .post("/api/card_status_lookup", &[("application_no", no.as_str()), ("id_number", id)])
                    .await
                    .text()
                    .await
                    .unwrap()
            }
        };
        let found = lookup(no.clone(), APPLICANT.id_number).await;
        assert!(found.contains("孙*") && found.contains(OWN_PLATE) && found.contains("已提交"), "{db}: {found}");
        assert!(found.contains("工商银行大连中山支行") && !found.contains("孙七"), "{db}: {found}");

        let wrong_person = lookup(no.clone(), OTHER.id_number).await;
        let unknown_no = lookup("SQ20200101000000".into(), APPLICANT.id_number).await;
        for page in [&wrong_person, &unknown_no] {
            assert!(page.contains("未查询到匹配的申请，请核对申请编号和身份证号"), "{db}: {page}");
            assert!(!page.contains("孙*") && !page.contains(OWN_PLATE), "{db}: {page}");
        }
        let malformed = lookup("SQ1".into(), APPLICANT.id_number).await;
        assert!(malformed.contains("申请编号应为SQ开头的16位编号"), "{db}: {malformed}");

        // A signed-in user sees their own applications without looking them up.
        let driver = app.browser();
        driver.sign_in("icbc", "card-applicant").await;
        let no = number_on(&apply(&app, &driver, &OTHER, ["", "", ""]).await);
        let page = driver.get("/card-apply/status").await;
        assert!(page.contains("我的申请") && page.contains(&no), "{db}: {page}");
        assert!(!someone.get("/card-apply/status").await.contains(&no), "{db}");
        let actor: String = audit(&app, &no).await[0].1.clone();
        assert!(actor.starts_with("account:"), "{db}: {actor}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_lookup_is_rate_limited_per_client() {
    for (db, app) in apps().await {
        let browser = app.browser();
        let fields = [("application_no", "SQ20200101000000"), ("id_number", APPLICANT.id_number)];
        for _ in 0..20 {
            browser.post("/api/card_status_lookup", &fields).await;
        }
        let page = browser.post("/api/card_status_lookup", &fields).await.text().await.unwrap();
        assert!(page.contains("查询过于频繁"), "{db}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_bank_takes_steps_the_auditor_reads_and_others_are_refused() {
    for (db, app) in apps().await {
        let no = number_on(&apply(&app, &app.browser(), &APPLICANT, ["", "", ""]).await);
        let auditor = staff(&app, "auditor1").await;
        let police = staff(&app, "police1").await;
        let nobody = app.browser();
        let driver = app.browser();
        driver.sign_in("wechat", "not-staff").await;

        let detail = auditor.get(&format!("/console/applications/detail?no={no}")).await;
        assert!(detail.contains(&no) && detail.contains("审计员只能查看"), "{db}: {detail}");
        assert!(!detail.contains("name=\"op\""), "{db}: no step for the auditor: {detail}");
        assert!(auditor.get("/console/applications").await.contains(&no), "{db}");

        for (who, browser, error) in [
            ("auditor", &auditor, "Forbidden"),
            ("police", &police, "Forbidden"),
            ("no staff session", &nobody, "StaffNotSignedIn"),
            ("a driver", &driver, "StaffNotSignedIn"),
        ] {
            for op in ["review", "approve", "reject", "collect"] {
                let fields = [("no", no.as_str()), ("op", op), ("reason", "不符合办卡条件")];
                let (status, body) = call(browser, "card_application_step", &fields).await;
                assert!(status >= 400 && body.contains(error), "{db}: {who} {op}: {status} {body}");
            }
            if who != "auditor" {
                let (status, body) = call(browser, "console_applications", &[]).await;
                assert!(status >= 400 && body.contains(error), "{db}: {who} list: {body}");
                let (_, body) = call(browser, "console_application", &[("no", no.as_str())]).await;
                assert!(body.contains(error), "{db}: {who} detail: {body}");
            }
        }
        assert_eq!(state_of(&app, &no).await, "submitted", "{db}: nothing changed");
        assert_eq!(audit(&app, &no).await.len(), 1, "{db}: only the submission");
        assert!(police.get("/console/applications").await.contains("您的角色无权进行此操作"), "{db}");

        let bank = staff(&app, "bank1").await;
        for op in ["review", "approve", "collect"] {
            step(&bank, &no, op, "").await;
        }
        assert_eq!(state_of(&app, &no).await, "collected", "{db}: the bank may take every step");
    }
}

/// Presses 获取验证码 with the whole form filled in, as the page does; returns the page.
async fn press_send_code(app: &TestApp, browser: &Browser, person: &Person) -> String {
    sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
    let mut fields = form(person, "", ["", "", ""]);
    fields[0] = ("op", "send_code");
    browser.submit("/api/card_apply", &fields).await
}

/// Takes an application from 已提交 through 批准制卡 and returns the card number it was given.
async fn approve(app: &TestApp, bank: &Browser, no: &str) -> String {
    step(bank, no, "review", "").await;
    step(bank, no, "approve", "").await;
    card_of(app, no).await.expect("批准制卡 gives a card number")
}

/// 实名认证 with these details on a fresh WeChat account; returns the page.
async fn realname_with(app: &TestApp, uid: &str, person: &Person) -> String {
    app.try_realname("wechat", uid, person).await.1
}

async fn card_status(app: &TestApp, card_no: &str) -> String {
    sqlx::query("SELECT status FROM cards WHERE card_no = $1")
        .bind(card_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_for_an_application_in_a_card_holders_name_goes_to_the_holders_reserved_phone() {
    for (db, app) in apps().await {
        let attacker = app.browser();
        let impostor = Person { phone: ATTACKER_PHONE, ..HOLDER };
        let page = press_send_code(&app, &attacker, &impostor).await;
        assert!(page.contains("验证码已发送至该身份证号办卡时预留的手机号"), "{db}: {page}");
        assert!(!page.contains("138****0001") && !page.contains("139****0066"), "{db}: no number is shown: {page}");
        assert_eq!(app.latest_code(ATTACKER_PHONE).await, None, "{db}: the typed phone gets no code");
        let code = app.latest_code(HOLDER.phone).await.expect("the holder's reserved phone has the code");

        // A code the attacker got on their own phone is no good either.
        let direct = [("op", "send_code"), ("phone", ATTACKER_PHONE)];
        sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
        attacker.submit("/api/card_apply", &direct).await;
        let own = app.latest_code(ATTACKER_PHONE).await.expect("a code for the bare phone");
        if own != code {
            let page = attacker.submit("/api/card_apply", &form(&impostor, &own, [HOLDERS_PLATE, "", ""])).await;
            assert!(page.contains("短信验证码错误") && !page.contains("申请已提交"), "{db}: {page}");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM card_applications").await, 0, "{db}: no application");

        // Nor is the attacker's code any good to someone else: it belongs to the session that asked for it.
        let holder = app.browser();
        let page = holder.submit("/api/card_apply", &form(&impostor, &code, ["", "", ""])).await;
        assert!(!page.contains("申请已提交"), "{db}: another session used the attacker's code: {page}");

        // The holder, applying for a second card with a new phone, uses the code from the reserved phone.
        press_send_code(&app, &holder, &impostor).await;
        let code = app.latest_code(HOLDER.phone).await.expect("the holder's reserved phone has the code");
        let page = holder.submit("/api/card_apply", &form(&impostor, &code, ["", "", ""])).await;
        assert!(page.contains("申请已提交"), "{db}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_with_a_drivers_name_and_id_cannot_pass_realname_as_that_driver_before_pickup() {
    for (db, app) in apps().await {
        let victim = app.linked_browser("icbc", "the-real-zhang", &HOLDER).await;
        assert!(victim.get("/vehicles").await.contains(HOLDERS_PLATE), "{db}: the victim's car is on his card");

        // 1. The attacker applies in the victim's name with their own phone and the victim's car. Even with the code
        //    (here read off the holder's phone, as a SIM swap would), ...
        let attacker = app.browser();
        let impostor = Person { phone: ATTACKER_PHONE, ..HOLDER };
        press_send_code(&app, &attacker, &impostor).await;
        let code = app.latest_code(HOLDER.phone).await.expect("a code");
        let page = attacker.submit("/api/card_apply", &form(&impostor, &code, [HOLDERS_PLATE, "", ""])).await;
        let no = number_on(&page);

        // 2. ... and with the bank approving it, the card waits for pickup and the car stays where it is.
        let bank = staff(&app, "bank1").await;
        let card_no = approve(&app, &bank, &no).await;
        assert_eq!(card_status(&app, &card_no).await, "pending_pickup", "{db}");
        assert_eq!(vehicle_card(&app, HOLDERS_PLATE).await.as_deref(), Some(HOLDER.card_no), "{db}");
        let made = notices(&app, ATTACKER_PHONE).await.pop().unwrap();
        let digits = made.replace(&no, "").chars().filter(char::is_ascii_digit).count();
        assert!(made.contains("已制卡") && digits == 0, "{db}: no digits of the card: {made}");
        let lookup = [("application_no", no.as_str()), ("id_number", HOLDER.id_number)];
        let status = attacker.post("/api/card_status_lookup", &lookup).await.text().await.unwrap();
        assert!(status.contains("已制卡"), "{db}: {status}");
        assert!(!status.contains(&format!("****{}", &card_no[12..])), "{db}: nor does the status page: {status}");

        // 3. 实名认证 with the new card fails before 确认领卡, telling nothing about the owner.
        let thief = Person { card_no: Box::leak(card_no.clone().into_boxed_str()), ..impostor };
        let page = realname_with(&app, "the-attacker", &thief).await;
        assert!(page.contains("该交通服务卡尚未领取") && !page.contains("实名认证成功"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM realname_bindings WHERE unbound_at IS NULL").await, 1, "{db}");

        // 4. The victim keeps his car and his access.
        assert!(victim.get("/vehicles").await.contains(HOLDERS_PLATE), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_from_an_application_is_active_and_gets_the_declared_cars_only_at_pickup() {
    for (db, app) in apps().await {
        // A driver with no card: the code goes to the phone typed, so only the pickup stands in the attacker's way.
        let attacker = app.browser();
        let impostor = Person { phone: ATTACKER_PHONE, ..CARDLESS };
        let page = apply(&app, &attacker, &impostor, [CARDLESS_PLATE, "", ""]).await;
        let no = number_on(&page);
        let bank = staff(&app, "bank1").await;
        let card_no = approve(&app, &bank, &no).await;
        assert_eq!(card_status(&app, &card_no).await, "pending_pickup", "{db}");
        assert_eq!(vehicle_card(&app, CARDLESS_PLATE).await, None, "{db}: the car is not moved at 批准制卡");
        let applied = Person { card_no: Box::leak(card_no.clone().into_boxed_str()), ..impostor };
        let page = realname_with(&app, "the-cardless-attacker", &applied).await;
        assert!(page.contains("该交通服务卡尚未领取") && !page.contains("实名认证成功"), "{db}: {page}");
        assert_eq!(app.count("SELECT COUNT(*) FROM realname_bindings").await, 0, "{db}");

        // At the branch the ID card is checked; 确认领卡 then makes the card active and puts the car on it.
        let page = step(&bank, &no, "collect", "").await;
        assert!(page.contains(&format!("已关联车辆：{CARDLESS_PLATE}")), "{db}: {page}");
        assert_eq!(card_status(&app, &card_no).await, "active", "{db}");
        assert_eq!(vehicle_card(&app, CARDLESS_PLATE).await.as_deref(), Some(card_no.as_str()), "{db}");
        // Whoever showed the ID card at the branch may now use the card.
        let page = realname_with(&app, "the-collector", &applied).await;
        assert!(page.contains("实名认证成功"), "{db}: {page}");
    }
}

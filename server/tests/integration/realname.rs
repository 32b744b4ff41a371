//! 实名认证 (SPEC §2C): success, each refusal with its own message, codes, and 解除绑定.

use crate::support::{Browser, TestApp};

const ZHANG: [(&str, &str); 4] =
    [("name", "张三"), ("id_number", "210202198503122018"), ("card_no", "6222009900001017"), ("phone", "13804110001")];

fn form<'a>(base: &[(&'a str, &'a str)], op: &'a str, code: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut fields = base.to_vec();
    fields.push(("op", op));
    fields.push(("code", code));
    fields
}

fn with<'a>(base: &[(&'a str, &'a str)], key: &str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    base.iter().map(|&(k, v)| if k == key { (k, value) } else { (k, v) }).collect()
}

async fn send_code(app: &TestApp, browser: &Browser, fields: &[(&str, &str)]) -> String {
    let page = browser.submit("/api/realname", &form(fields, "send_code", "")).await;
    assert!(page.contains("验证码已发送至"), "{page}");
    let phone = fields.iter().find(|(k, _)| *k == "phone").unwrap().1;
    app.latest_code(phone).await.expect("a code in the outbox")
}

async fn links(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM realname_bindings WHERE unbound_at IS NULL").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_holder_authenticates_and_sees_the_masked_link() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        browser.sign_in("icbc", "rz-ok").await;
        let code = send_code(&app, &browser, &ZHANG).await;
        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", &code)).await;
        assert!(page.contains("实名认证成功"), "{db}: {page}");
        assert!(page.contains("张*"), "{db}: masked name");
        assert!(page.contains("2102**********2018"), "{db}: masked id");
        assert!(page.contains("****1017"), "{db}: masked card");
        assert!(page.contains("138****0001"), "{db}: masked phone");
        assert!(!page.contains("210202198503122018"), "{db}: the full ID number never reaches the page");
        let home = browser.get("/").await;
        for label in ["违章处理", "交通违法处理", "交通罚款缴纳", "已绑定车辆信息"] {
            assert!(home.contains(label), "{db}: home lacks {label}");
        }
        assert_eq!(links(&app).await, 1, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'realname.link'").await, 1, "{db}");
    }
}

/// What every refusal after a valid code says when the card and the details typed do not belong together.
const MISMATCH: &str = "交通服务卡卡号、姓名、身份证号或手机号与办卡登记信息不一致，请核对后重试";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_after_a_valid_code_do_not_tell_who_owns_a_card_and_change_nothing() {
    for (db, app) in TestApp::each().await {
        let zhao = [
            ("name", "赵六"),
            ("id_number", "210211197801015036"),
            ("card_no", "6222009900001033"),
            ("phone", "13804110004"),
        ];
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (with(&ZHANG, "card_no", "6222009900001009"), MISMATCH),
            // 李四's card with 张三's ID, name and phone: nothing says whose card it is.
            (with(&ZHANG, "card_no", "6222009900001025"), MISMATCH),
            (with(&ZHANG, "name", "张四"), MISMATCH),
            (with(&ZHANG, "phone", "13904110009"), MISMATCH),
            // A cancelled card is named as such only to someone who typed its holder's details.
            (zhao.to_vec(), "该交通服务卡已注销"),
            (with(&zhao, "id_number", "210202198503122018"), MISMATCH),
        ];
        for (i, (fields, message)) in cases.into_iter().enumerate() {
            let browser = app.browser();
            browser.sign_in("wechat", &format!("rz-refused-{i}")).await;
            sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
            let code = send_code(&app, &browser, &fields).await;
            let page = browser.submit("/api/realname", &form(&fields, "submit", &code)).await;
            assert!(page.contains(message), "{db}: case {i}: expected {message}: {page}");
            for other in
                ["未查询到该交通服务卡", "不属于此身份证号", "姓名与身份证号登记信息不一致", "预留的手机号不一致"]
            {
                assert!(!page.contains(other), "{db}: case {i}: {other}");
            }
            if message == MISMATCH {
                assert!(!page.contains("已注销"), "{db}: case {i}");
            }
            assert!(!page.contains("实名认证成功"), "{db}: {message}");
            assert!(page.contains(&format!("value=\"{}\"", fields[1].1)), "{db}: the form keeps what was typed");
            assert_eq!(links(&app).await, 0, "{db}: {message} linked nothing");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_fields_are_each_marked_inline() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        browser.sign_in("icbc", "rz-format").await;
        let bad =
            [("name", "Z"), ("id_number", "210202198503122019"), ("card_no", "6222009900001018"), ("phone", "12345")];
        let page = browser.submit("/api/realname", &form(&bad, "submit", "12")).await;
        for message in [
            "姓名格式不正确",
            "身份证号校验位不正确",
            "交通服务卡卡号校验不通过",
            "手机号格式不正确",
            "验证码应为6位数字",
        ] {
            assert!(page.contains(message), "{db}: expected {message}");
        }
        assert_eq!(links(&app).await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_single_use_expire_and_are_rate_limited() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        browser.sign_in("icbc", "rz-codes").await;

        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", "123456")).await;
        assert!(page.contains("请先获取短信验证码"), "{db}: no code was sent yet");

        let code = send_code(&app, &browser, &ZHANG).await;
        let again = browser.submit("/api/realname", &form(&ZHANG, "send_code", "")).await;
        assert!(again.contains("验证码发送过于频繁"), "{db}: a second code within a minute is refused");

        let wrong = if code == "000000" { "111111" } else { "000000" };
        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", wrong)).await;
        assert!(page.contains("短信验证码错误"), "{db}");

        sqlx::query("UPDATE sms_codes SET expires_at = 0").execute(app.db.pool()).await.unwrap();
        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", &code)).await;
        assert!(page.contains("短信验证码已过期"), "{db}: an expired code is refused");
        assert_eq!(links(&app).await, 0, "{db}");

        // Let the resend wait pass, then spend a code and try to replay it.
        sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
        let code = send_code(&app, &browser, &ZHANG).await;
        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", &code)).await;
        assert!(page.contains("实名认证成功"), "{db}");
        browser.submit("/api/realname_unlink", &[]).await;
        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", &code)).await;
        assert!(page.contains("请先获取短信验证码"), "{db}: a spent code cannot be replayed");

        // Five codes an hour per phone.
        for _ in 0..3 {
            sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
            send_code(&app, &browser, &ZHANG).await;
        }
        sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
        let page = browser.submit("/api/realname", &form(&ZHANG, "send_code", "")).await;
        assert!(page.contains("获取验证码次数过多"), "{db}: the sixth code in an hour is refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_entries_burn_the_code() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        browser.sign_in("wechat", "rz-attempts").await;
        let code = send_code(&app, &browser, &ZHANG).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            let page = browser.submit("/api/realname", &form(&ZHANG, "submit", wrong)).await;
            assert!(page.contains("短信验证码错误"), "{db}");
        }
        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", wrong)).await;
        assert!(page.contains("验证码错误次数过多"), "{db}");
        let page = browser.submit("/api/realname", &form(&ZHANG, "submit", &code)).await;
        assert!(page.contains("验证码错误次数过多"), "{db}: even the right code is refused once burned");
        assert_eq!(links(&app).await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbinding_then_relinking_with_a_new_card_works() {
    for (db, app) in TestApp::each().await {
        sqlx::query("UPDATE cards SET status = 'active' WHERE card_no = '6222009900001033'")
            .execute(app.db.pool())
            .await
            .unwrap();
        let old = [
            ("name", "赵六"),
            ("id_number", "210211197801015036"),
            ("card_no", "6222009900001033"),
            ("phone", "13804110004"),
        ];
        let browser = app.browser();
        browser.sign_in("wechat", "rz-relink").await;
        let code = send_code(&app, &browser, &old).await;
        assert!(browser.submit("/api/realname", &form(&old, "submit", &code)).await.contains("****1033"), "{db}");

        let confirm = browser.get("/realname/unbind").await;
        assert!(confirm.contains("确定解除绑定吗") && confirm.contains("确认解除绑定"), "{db}: a confirmation step");
        assert_eq!(links(&app).await, 1, "{db}: opening the confirmation changes nothing");
        let page = browser.submit("/api/realname_unlink", &[]).await;
        assert!(page.contains("已解除绑定"), "{db}");
        assert_eq!(links(&app).await, 0, "{db}");
        let page = browser.submit("/api/realname_unlink", &[]).await;
        assert!(page.contains("当前没有实名认证信息"), "{db}: a repeated click is harmless");
        // The bank replaces the card: the old one is cancelled.
        sqlx::query("UPDATE cards SET status = 'cancelled' WHERE card_no = '6222009900001033'")
            .execute(app.db.pool())
            .await
            .unwrap();

        sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
        let new = with(&old, "card_no", "6222009900001041");
        let code = send_code(&app, &browser, &new).await;
        let page = browser.submit("/api/realname", &form(&new, "submit", &code)).await;
        assert!(page.contains("实名认证成功") && page.contains("****1041"), "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'realname.unlink'").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_may_be_linked_from_both_channels() {
    for (db, app) in TestApp::each().await {
        for channel in ["wechat", "icbc"] {
            let browser = app.browser();
            browser.sign_in(channel, "same-person").await;
            sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
            let code = send_code(&app, &browser, &ZHANG).await;
            let page = browser.submit("/api/realname", &form(&ZHANG, "submit", &code)).await;
            assert!(page.contains("实名认证成功"), "{db}: {channel}");
        }
        assert_eq!(links(&app).await, 2, "{db}");
    }
}

/// Loads the standard card file with one line changed, as the bank's next import would.
async fn reimport_card(app: &TestApp, line: &str) {
    use app::import::{import_csv, Kind};
    let csv = format!("card_no,id_number,name,phone,status\n{line}\n");
    import_csv(&app.db, Kind::Cards, csv.as_bytes(), "test").await.expect("the card file loads");
}

/// What a linked user's pages show: (the vehicle list works, it asks to authenticate again).
async fn access(browser: &Browser) -> (bool, bool) {
    let page = browser.get("/vehicles").await;
    (!page.contains("去实名认证"), page.contains("实名认证已失效，请重新完成实名认证"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_stops_at_the_next_request_once_its_card_is_cancelled_or_passes_to_another_id() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        browser.sign_in("icbc", "rz-lapse").await;
        let code = send_code(&app, &browser, &ZHANG).await;
        assert!(browser.submit("/api/realname", &form(&ZHANG, "submit", &code)).await.contains("实名认证成功"));
        assert_eq!(access(&browser).await, (true, false), "{db}: the link works");

        reimport_card(&app, "6222009900001017,210202198503122018,张三,13804110001,cancelled").await;
        assert_eq!(access(&browser).await, (false, true), "{db}: a cancelled card's link gives nothing");
        let page = browser.get("/realname").await;
        assert!(
            page.contains("实名认证已失效") && page.contains("提交认证"),
            "{db}: the form is offered again: {page}"
        );
        assert!(!page.contains("已完成实名认证") && !page.contains("****1017"), "{db}: {page}");
        let home = browser.get("/").await;
        assert!(!home.contains("已认证"), "{db}: {home}");

        // The card comes back to its holder, then is reissued to someone else under the same number.
        reimport_card(&app, "6222009900001017,210202198503122018,张三,13804110001,active").await;
        assert_eq!(access(&browser).await, (true, false), "{db}");
        reimport_card(&app, "6222009900001017,210203199007184026,李四,13804110002,active").await;
        assert_eq!(access(&browser).await, (false, true), "{db}: a card now of another ID gives nothing");
        let page = browser.get("/realname").await;
        assert!(!page.contains("李") && !page.contains("2102**********4026"), "{db}: the new owner is not shown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_link_lapses_the_user_authenticates_again_without_unbinding() {
    for (db, app) in TestApp::each().await {
        reimport_card(&app, "6222009900001033,210211197801015036,赵六,13804110004,active").await;
        let old = [
            ("name", "赵六"),
            ("id_number", "210211197801015036"),
            ("card_no", "6222009900001033"),
            ("phone", "13804110004"),
        ];
        let browser = app.browser();
        browser.sign_in("wechat", "rz-lapse-relink").await;
        let code = send_code(&app, &browser, &old).await;
        assert!(browser.submit("/api/realname", &form(&old, "submit", &code)).await.contains("****1033"), "{db}");
        reimport_card(&app, "6222009900001033,210211197801015036,赵六,13804110004,cancelled").await;

        sqlx::query("UPDATE sms_codes SET created_at = created_at - 120").execute(app.db.pool()).await.unwrap();
        let new = with(&old, "card_no", "6222009900001041");
        let code = send_code(&app, &browser, &new).await;
        let page = browser.submit("/api/realname", &form(&new, "submit", &code)).await;
        assert!(page.contains("实名认证成功") && page.contains("****1041"), "{db}: {page}");
        assert_eq!(links(&app).await, 1, "{db}: the lapsed link is closed, the new one open");
        assert_eq!(access(&browser).await, (true, false), "{db}");
    }
}

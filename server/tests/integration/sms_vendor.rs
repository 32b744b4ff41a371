//! Verification codes through Tencent Cloud SMS (`SMS_PROVIDER=tencent`) against its loopback fake: the request
//! writes the outbox, the app's dispatcher sends it, and the code the phone receives signs the form.

use std::time::Duration;

use providers::fakes::tencent_sms::FakeTencentSms;

use crate::support::TestApp;

const ZHANG: [(&str, &str); 4] =
    [("name", "张三"), ("id_number", "210202198503122018"), ("card_no", "6222009900001017"), ("phone", "13804110001")];

/// The code the fake's inbox holds for `phone`, read as the production smoke test reads it (`params[0]`), once
/// `count` messages have arrived.
async fn received(fake: &FakeTencentSms, phone: &str, count: usize) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let inbox: serde_json::Value =
            reqwest::get(format!("{}/fake/sms/inbox?phone={phone}", fake.url())).await.unwrap().json().await.unwrap();
        if inbox.as_array().unwrap().len() >= count {
            return inbox.as_array().unwrap().clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no SMS for {phone} within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_sent_through_tencent_signs_the_realname_form() {
    let fake = FakeTencentSms::start().await.unwrap();
    let settings = fake.settings();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (db, app) in TestApp::each_with(&settings).await {
        let before = fake.inbox(ZHANG[3].1).len();
        let browser = app.browser();
        browser.sign_in("icbc", &format!("tc-{db}")).await;
        let mut fields = ZHANG.to_vec();
        fields.push(("op", "send_code"));
        let page = browser.submit("/api/realname", &fields).await;
        assert!(page.contains("验证码已发送至"), "{db}: {page}");
        let inbox = received(&fake, ZHANG[3].1, before + 1).await;
        let params = &inbox[before]["params"];
        assert_eq!(params[1], "5", "{db}: the minutes");
        let code = params[0].as_str().unwrap().to_string();
        let sent = app.count("SELECT COUNT(*) FROM sms_dispatch WHERE state = 'sent' AND params IS NULL").await;
        assert_eq!(sent, 1, "{db}: settled, and the code forgotten");
        assert_eq!(app.count("SELECT COUNT(*) FROM sms_outbox").await, 0, "{db}: the dev outbox is not used");
        let dev = app.browser().client.get(format!("{}/dev/sms?phone=13804110001", app.base)).send().await.unwrap();
        assert_eq!(dev.status(), 404, "{db}: no dev outbox with a real vendor");
        fields.pop();
        fields.push(("op", "submit"));
        fields.push(("code", &code));
        let page = browser.submit("/api/realname", &fields).await;
        assert!(page.contains("实名认证成功"), "{db}: {page}");
    }
}

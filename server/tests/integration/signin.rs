//! Sign-in per channel, menus, sessions in the database, sign-out, and the same-site guard.

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_channel_shows_its_own_menus() {
    for (db, app) in TestApp::each().await {
        let wechat = app.browser();
        let home = wechat.sign_in("wechat", "menu-wx").await;
        for label in ["大连交警", "自助办理", "交通违法缴罚", "实名认证", "警民互动", "审验学习"]
        {
            assert!(home.contains(label), "{db}: WeChat home lacks {label}");
        }
        assert!(home.contains("channel-wechat") && !home.contains("违章处理"), "{db}");

        let icbc = app.browser();
        let home = icbc.sign_in("icbc", "menu-icbc").await;
        for label in ["大连智慧交通", "实名认证", "申办交通服务卡", "缴纳罚款"] {
            assert!(home.contains(label), "{db}: 融e联 home lacks {label}");
        }
        assert!(home.contains("channel-icbc") && !home.contains("警民互动"), "{db}");
        assert!(!home.contains("交通违法处理"), "{db}: the card menus wait for 实名认证");

        let guest = app.browser().get("/").await;
        assert!(guest.contains("申办交通服务卡") && !guest.contains("退出登录"), "{db}: a guest sees the guest menu");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session_on_the_server() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        browser.sign_in("icbc", "bye").await;
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1, "{db}");
        let home = browser.submit("/api/sign_out", &[]).await;
        assert!(!home.contains("退出登录"), "{db}: signed out");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0, "{db}: the session row is gone");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_in_the_database_so_any_instance_serves_them() {
    for (db, app) in TestApp::each().await {
        let second = TestApp::start(app.db.clone()).await;
        let browser = app.browser();
        browser.sign_in("wechat", "two-instances").await;
        let cookie = browser.cookie_header();
        let home = reqwest::Client::new()
            .get(format!("{}/", second.base))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(home.contains("退出登录") && home.contains("警民互动"), "{db}: the other instance knows the session");
        let tampered = cookie.replacen("dlt_session=", "dlt_session=0", 1);
        let home =
            reqwest::Client::new().get(format!("{}/", second.base)).header("Cookie", tampered).send().await.unwrap();
        assert!(!home.text().await.unwrap().contains("退出登录"), "{db}: a tampered cookie signs nobody in");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        browser.sign_in("icbc", "csrf").await;
        let response = browser
            .client
            .post(format!("{}/api/sign_out", app.base))
            .header("Origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{db}");
        let response = browser.client.post(format!("{}/api/sign_out", app.base)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{db}: no Origin and no Referer");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1, "{db}: still signed in");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_replayed_sign_in_callbacks_are_refused() {
    for (db, app) in TestApp::each().await {
        let browser = app.browser();
        let page = browser.get("/auth/callback?channel=wechat&code=forged:1:2:3&state=x").await;
        assert!(page.contains("登录已失效"), "{db}: a callback without our state cookie");
        let page = browser.get("/auth/dev/login?channel=alipay&uid=x").await;
        assert!(page.contains("channel 参数应为 wechat 或 icbc"), "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0, "{db}");
    }
}

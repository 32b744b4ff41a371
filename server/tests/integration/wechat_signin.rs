//! WeChat web sign-in (公众号网页授权) over HTTP against the fake WeChat: `/auth/wechat` → WeChat's authorisation
//! page → `/auth/callback` → signed in as the openid; a replayed or foreign `state` is refused; WeChat's errcodes
//! become a Chinese page.

use std::sync::Arc;

use providers::fakes::wechat_oauth::FakeWechatOAuth;
use reqwest::cookie::Jar;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::support::TestApp;

async fn fake_wechat() -> FakeWechatOAuth {
    FakeWechatOAuth::start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
}

/// One app per database signing WeChat users in through `fake`, with development sign-in as `dev_login` says.
async fn apps(fake: &FakeWechatOAuth, dev_login: &str) -> Vec<(&'static str, TestApp)> {
    let owned = fake.settings();
    let mut settings: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.push(("DEV_LOGIN", dev_login));
    TestApp::each_with(&settings).await
}

/// A phone's webview that shows each redirect instead of following it.
struct Webview {
    client: reqwest::Client,
}

impl Webview {
    fn new() -> Self {
        let jar = Arc::new(Jar::default());
        Self { client: reqwest::Client::builder().cookie_provider(jar).redirect(Policy::none()).build().unwrap() }
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }

    /// `/auth/wechat`, then WeChat's page: the callback URL WeChat sends the browser back to (not yet visited).
    async fn to_wechat_and_back(&self, app: &TestApp) -> String {
        let start = self.get(&format!("{}/auth/wechat", app.base)).await;
        assert_eq!(start.status(), StatusCode::FOUND);
        let authorize = location(&start);
        let wechat = self.get(&authorize).await;
        assert_eq!(wechat.status(), StatusCode::FOUND, "{}", wechat.text().await.unwrap());
        location(&wechat)
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).expect("a redirect").to_str().unwrap().to_string()
}

fn query_value(url: &str, name: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_sign_in_goes_through_wechat_and_signs_in_the_openid() {
    let fake = fake_wechat().await;
    for (db, app) in apps(&fake, "false").await {
        let openid = format!("oWx-{db}-1");
        fake.set_user(&openid, Some("uUnion-1"));
        let webview = Webview::new();
        let start = webview.get(&format!("{}/auth/wechat", app.base)).await;
        assert_eq!(start.status(), StatusCode::FOUND, "{db}");
        let cookie = start.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.starts_with("dlt_oauth_state=") && cookie.contains("HttpOnly"), "{db}: {cookie}");
        let authorize = location(&start);
        let redirect_uri = format!("{}/auth/callback?channel=wechat", app.base);
        assert!(
            authorize
                .starts_with(&format!("{}/connect/oauth2/authorize?appid={}&redirect_uri=", fake.base, fake.app_id)),
            "{db}: {authorize}"
        );
        assert!(authorize.ends_with("#wechat_redirect") && authorize.contains("scope=snsapi_base"), "{db}");
        assert_eq!(query_value(&authorize, "redirect_uri"), redirect_uri, "{db}");
        let state = query_value(&authorize, "state");
        assert!(cookie.contains(&state), "{db}: the cookie holds the state");

        let wechat = webview.get(&authorize).await;
        let callback = location(&wechat);
        assert!(callback.starts_with(&redirect_uri) && query_value(&callback, "state") == state, "{db}: {callback}");
        let signed_in = webview.get(&callback).await;
        assert_eq!((signed_in.status(), location(&signed_in).as_str()), (StatusCode::FOUND, "/"), "{db}");
        let home = webview.get(&format!("{}/", app.base)).await.text().await.unwrap();
        assert!(home.contains("退出登录") && home.contains("警民互动"), "{db}: the WeChat home, signed in");

        use sqlx::Row;
        let row = sqlx::query("SELECT channel, platform_unionid FROM accounts WHERE platform_uid = $1")
            .bind(&openid)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>("channel"), "wechat", "{db}");
        assert_eq!(row.get::<Option<String>, _>("platform_unionid").as_deref(), Some("uUnion-1"), "{db}");

        // The same callback URL again, even with the state cookie put back: the state was used up.
        let exchanges = fake.exchanges();
        let replay = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let again = replay.get(&callback).header(COOKIE, format!("dlt_oauth_state={state}")).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST, "{db}");
        assert!(again.text().await.unwrap().contains("登录已失效"), "{db}");
        assert_eq!(fake.exchanges(), exchanges, "{db}: a replayed state never reaches WeChat");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1, "{db}");

        // A later sign-in without a unionid keeps the one known.
        fake.set_user(&openid, None);
        let callback = webview.to_wechat_and_back(&app).await;
        assert_eq!(webview.get(&callback).await.status(), StatusCode::FOUND, "{db}");
        let unionid: Option<String> =
            sqlx::query_scalar("SELECT platform_unionid FROM accounts WHERE platform_uid = $1")
                .bind(&openid)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert_eq!(unionid.as_deref(), Some("uUnion-1"), "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1, "{db}: the same account");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_or_missing_state_is_refused() {
    let fake = fake_wechat().await;
    for (db, app) in apps(&fake, "false").await {
        fake.set_user(&format!("oWx-{db}-victim"), None);
        let victim = Webview::new();
        let victims_callback = victim.to_wechat_and_back(&app).await;
        // An attacker's browser with a sign-in of its own in flight, handed the victim's callback (login CSRF).
        let attacker = Webview::new();
        let _ = attacker.to_wechat_and_back(&app).await;
        let refused = attacker.get(&victims_callback).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{db}");
        assert!(refused.text().await.unwrap().contains("登录已失效"), "{db}");
        let bare = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let refused = bare.get(&victims_callback).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{db}: no state cookie at all");
        let no_state = victims_callback.split("&state=").next().unwrap().to_string();
        assert_eq!(victim.get(&no_state).await.status(), StatusCode::BAD_REQUEST, "{db}: no state in the URL");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0, "{db}");
        // The refusals did not use up the victim's own sign-in: it still completes.
        let victims_callback = victim.to_wechat_and_back(&app).await;
        assert_eq!(victim.get(&victims_callback).await.status(), StatusCode::FOUND, "{db}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_errcodes_get_a_chinese_page_and_sign_nobody_in() {
    let fake = fake_wechat().await;
    for (db, app) in apps(&fake, "false").await {
        for (errcode, status, message) in [
            (-1, StatusCode::SERVICE_UNAVAILABLE, "登录服务繁忙，请稍后再试"),
            (40029, StatusCode::UNAUTHORIZED, "登录凭证无效或已过期"),
            (40163, StatusCode::UNAUTHORIZED, "登录凭证已使用"),
            (40125, StatusCode::BAD_GATEWAY, "登录服务配置有误"),
        ] {
            fake.fail_with(Some(errcode));
            let webview = Webview::new();
            let callback = webview.to_wechat_and_back(&app).await;
            let page = webview.get(&callback).await;
            assert_eq!(page.status(), status, "{db}: {errcode}");
            let page = page.text().await.unwrap();
            assert!(page.contains(message) && page.contains("href=\"/auth/wechat\""), "{db}: {errcode}: {page}");
            assert!(!page.contains("rid") && !page.contains(&fake.app_secret), "{db}: nothing of WeChat's answer");
        }
        fake.fail_with(None);
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_wechat_settings_development_sign_in_plays_wechat() {
    for (db, app) in TestApp::each().await {
        let webview = Webview::new();
        let start = webview.get(&format!("{}/auth/wechat?uid=dev-a", app.base)).await;
        assert_eq!(location(&start), "/auth/dev/login?channel=wechat&uid=dev-a", "{db}");
        let browser = app.browser();
        let home = browser.get("/auth/wechat").await;
        assert!(home.contains("退出登录") && home.contains("警民互动"), "{db}: signed in on WeChat");
        let uid: String =
            sqlx::query_scalar("SELECT platform_uid FROM accounts").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(uid, "dev-wechat", "{db}");
        // The guest home inside WeChat offers the sign-in.
        let guest = app.browser();
        let wechat_ua = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile MicroMessenger/8.0.50";
        let home = guest.client.get(format!("{}/", app.base)).header(USER_AGENT, wechat_ua).send().await.unwrap();
        let home = home.text().await.unwrap();
        assert!(home.contains("href=\"/auth/wechat\"") && home.contains("微信授权登录"), "{db}");
        let icbc_home = guest.get("/").await;
        assert!(!icbc_home.contains("/auth/wechat"), "{db}: not in 融e联");
    }
    for (db, app) in TestApp::each_with(&[("DEV_LOGIN", "false")]).await {
        let page = reqwest::get(format!("{}/auth/wechat", app.base)).await.unwrap();
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE, "{db}");
        assert!(page.text().await.unwrap().contains("登录服务暂不可用"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_wechat_configured_development_sign_in_still_works() {
    let fake = fake_wechat().await;
    for (db, app) in apps(&fake, "true").await {
        let home = app.browser().sign_in("wechat", "dev-beside-wechat").await;
        assert!(home.contains("退出登录"), "{db}");
        assert_eq!(fake.exchanges(), 0, "{db}: a development code never goes to WeChat");
        let webview = Webview::new();
        let start = webview.get(&format!("{}/auth/wechat", app.base)).await;
        assert!(location(&start).starts_with(&fake.base), "{db}: WeChat's page when WeChat is configured");
    }
}

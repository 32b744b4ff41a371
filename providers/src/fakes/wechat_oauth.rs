//! A fake of WeChat's web sign-in (公众号网页授权), from its documentation, playing both hosts on one listener:
//! open.weixin.qq.com's `/connect/oauth2/authorize` (silent for `snsapi_base`: straight back to the
//! `redirect_uri` with a `code` and the same `state`) and api.weixin.qq.com's `/sns/oauth2/access_token` (codes
//! single-use and expiring after five minutes, answers in WeChat's JSON with `Content-Type: text/plain`, errors as
//! `{errcode, errmsg}` with a `rid`). Its AppID and AppSecret are made up at start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand::Rng;
use serde::Deserialize;
use tokio::net::TcpListener;

/// How long WeChat keeps an unused code.
const CODE_TTL: Duration = Duration::from_secs(300);

/// The openid the fake signs in when the authorisation URL names none.
pub const DEFAULT_OPENID: &str = "oFakeWx0penid00000000000001";

/// A running fake: its base URL (for both `WECHAT_OAUTH_BASE` and `WECHAT_API_BASE`) and its official account.
pub struct FakeWechatOAuth {
    pub base: String,
    pub app_id: String,
    pub app_secret: String,
    inner: Arc<Inner>,
}

struct Inner {
    app_id: String,
    app_secret: String,
    control: Mutex<Control>,
}

/// What the test has told the fake, and the codes it has issued.
struct Control {
    openid: String,
    unionid: Option<String>,
    snapshot: bool,
    errcode: Option<i64>,
    stall: Option<Duration>,
    codes: HashMap<String, Issued>,
    exchanges: usize,
}

struct Issued {
    openid: String,
    unionid: Option<String>,
    snapshot: bool,
    at: Instant,
    used: bool,
}

/// WeChat's `errmsg` for each `errcode` the fake gives.
fn errmsg(errcode: i64) -> &'static str {
    match errcode {
        -1 => "system error",
        40002 => "invalid grant_type",
        40013 => "invalid appid",
        40029 => "invalid code",
        40125 => "invalid appsecret",
        40163 => "code been used",
        41002 => "appid missing",
        41004 => "appsecret missing",
        41008 => "missing code",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        _ => "unknown error",
    }
}

fn random_alnum(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

impl FakeWechatOAuth {
    /// Serves the fake on `listener` with a fresh AppID and AppSecret.
    pub async fn start(listener: TcpListener) -> Self {
        let base = format!("http://{}", listener.local_addr().expect("a bound listener"));
        let app_id = format!("wx{}", hex::encode(rand::random::<[u8; 8]>()));
        let app_secret = hex::encode(rand::random::<[u8; 16]>());
        let inner = Arc::new(Inner {
            app_id: app_id.clone(),
            app_secret: app_secret.clone(),
            control: Mutex::new(Control {
                openid: DEFAULT_OPENID.into(),
                unionid: None,
                snapshot: false,
                errcode: None,
                stall: None,
                codes: HashMap::new(),
                exchanges: 0,
            }),
        });
        let router = Router::new()
            .route("/connect/oauth2/authorize", get(authorize))
            .route("/sns/oauth2/access_token", get(access_token))
            .with_state(inner.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the fake WeChat sign-in stopped");
            }
        });
        Self { base, app_id, app_secret, inner }
    }

    /// The app's settings that point WeChat sign-in at this fake.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WECHAT_APP_ID", self.app_id.clone()),
            ("WECHAT_APP_SECRET", self.app_secret.clone()),
            ("WECHAT_OAUTH_BASE", self.base.clone()),
            ("WECHAT_API_BASE", self.base.clone()),
        ]
    }

    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.inner.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user the next authorisations sign in (unless the URL names an `openid`), with a unionid or none.
    pub fn set_user(&self, openid: &str, unionid: Option<&str>) {
        let mut control = self.control();
        control.openid = openid.into();
        control.unionid = unionid.map(String::from);
    }

    /// Whether the next authorisations come from a 快照页 (`is_snapshotuser: 1`).
    pub fn set_snapshot(&self, snapshot: bool) {
        self.control().snapshot = snapshot;
    }

    /// Every code exchange answers with `errcode` (its documented errmsg) until told `None`.
    pub fn fail_with(&self, errcode: Option<i64>) {
        self.control().errcode = errcode;
    }

    /// Every code exchange waits this long before answering, until told `None`.
    pub fn stall(&self, delay: Option<Duration>) {
        self.control().stall = delay;
    }

    /// Ages every issued code past WeChat's five minutes.
    pub fn expire_codes(&self) {
        for issued in self.control().codes.values_mut() {
            issued.at = Instant::now().checked_sub(CODE_TTL + Duration::from_secs(1)).unwrap_or(issued.at);
        }
    }

    /// How many code exchanges the fake has been asked for.
    pub fn exchanges(&self) -> usize {
        self.control().exchanges
    }
}

#[derive(Deserialize)]
struct Authorize {
    appid: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    /// The fake's own addition: which user this authorisation signs in.
    openid: Option<String>,
}

/// WeChat's error page in the webview: it never redirects back on a bad request.
fn error_page(reason: &str) -> Response {
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>微信网页授权</title><h2>Oops! Something went wrong:(</h2><p>{reason}</p>"
    ))
    .into_response()
}

/// `GET /connect/oauth2/authorize`: checks the request and sends the browser back with a fresh code.
async fn authorize(State(inner): State<Arc<Inner>>, Query(q): Query<Authorize>) -> Response {
    match q.appid.as_deref() {
        None | Some("") => return error_page("appid不能为空（10012）"),
        Some(appid) if appid != inner.app_id => return error_page("appid无效"),
        Some(_) => {}
    }
    let Some(redirect_uri) = q.redirect_uri.filter(|u| !u.is_empty()) else {
        return error_page("redirect_uri不能为空（10011）");
    };
    let Ok(mut target) = reqwest::Url::parse(&redirect_uri) else {
        return error_page("redirect_uri参数错误");
    };
    if q.response_type.as_deref() != Some("code") {
        return error_page("response_type参数错误");
    }
    match q.scope.as_deref() {
        None | Some("") => return error_page("scope不能为空（10010）"),
        Some("snsapi_base" | "snsapi_userinfo") => {}
        Some(_) => return error_page("此公众号并没有这些scope的权限（10005）"),
    }
    if q.state.as_ref().is_some_and(|s| s.len() > 128 || !s.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return error_page("state参数错误：a-zA-Z0-9，最多128字节");
    }
    let code = random_alnum(32);
    {
        let mut control = inner.control.lock().unwrap_or_else(|e| e.into_inner());
        let issued = Issued {
            openid: q.openid.filter(|o| !o.is_empty()).unwrap_or_else(|| control.openid.clone()),
            unionid: control.unionid.clone(),
            snapshot: control.snapshot,
            at: Instant::now(),
            used: false,
        };
        control.codes.insert(code.clone(), issued);
    }
    target.query_pairs_mut().append_pair("code", &code).append_pair("state", q.state.as_deref().unwrap_or(""));
    (StatusCode::FOUND, [(LOCATION, target.to_string())]).into_response()
}

#[derive(Deserialize)]
struct AccessToken {
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
}

/// WeChat's answer: JSON served as `text/plain`, status 200 even for an error.
fn answer(body: serde_json::Value) -> Response {
    (StatusCode::OK, [(CONTENT_TYPE, "text/plain")], body.to_string()).into_response()
}

fn error_answer(errcode: i64) -> Response {
    let rid = format!("{}-{}", hex::encode(rand::random::<[u8; 4]>()), hex::encode(rand::random::<[u8; 6]>()));
    answer(serde_json::json!({ "errcode": errcode, "errmsg": format!("{}, rid: {rid}", errmsg(errcode)) }))
}

/// `GET /sns/oauth2/access_token`: the code for the user's ids, once.
async fn access_token(State(inner): State<Arc<Inner>>, Query(q): Query<AccessToken>) -> Response {
    let stall = {
        let mut control = inner.control.lock().unwrap_or_else(|e| e.into_inner());
        control.exchanges += 1;
        control.stall
    };
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    let mut control = inner.control.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(errcode) = control.errcode {
        return error_answer(errcode);
    }
    match q.appid.as_deref() {
        None | Some("") => return error_answer(41002),
        Some(appid) if appid != inner.app_id => return error_answer(40013),
        Some(_) => {}
    }
    match q.secret.as_deref() {
        None | Some("") => return error_answer(41004),
        Some(secret) if secret != inner.app_secret => return error_answer(40125),
        Some(_) => {}
    }
    if q.grant_type.as_deref() != Some("authorization_code") {
        return error_answer(40002);
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return error_answer(41008);
    };
    let Some(issued) = control.codes.get_mut(&code) else {
        return error_answer(40029);
    };
    if issued.used {
        return error_answer(40163);
    }
    if issued.at.elapsed() > CODE_TTL {
        return error_answer(40029);
    }
    issued.used = true;
    let mut body = serde_json::json!({
        "access_token": random_alnum(88),
        "expires_in": 7200,
        "refresh_token": random_alnum(88),
        "openid": issued.openid,
        "scope": "snsapi_base",
    });
    // Documented as present only for a 快照页's virtual user.
    if issued.snapshot {
        body["is_snapshotuser"] = 1.into();
    }
    if let Some(unionid) = &issued.unionid {
        body["unionid"] = serde_json::Value::String(unionid.clone());
    }
    answer(body)
}

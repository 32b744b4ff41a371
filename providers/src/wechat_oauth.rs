//! WeChat web sign-in (公众号网页授权, `snsapi_base`), from WeChat's 网页授权 documentation: the browser goes to
//! `connect/oauth2/authorize`, WeChat sends it back to our `redirect_uri` with a one-time `code` and our `state`,
//! and the server exchanges the code at `sns/oauth2/access_token` for the user's `openid` (and `unionid` when the
//! account is bound to an open platform). `snsapi_base` is silent: no consent page, only the openid.

use std::time::Duration;

use app::domain::Channel;
use app::platform::platform_identity::{PlatformIdentity, PlatformUser, SignInError};
use async_trait::async_trait;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::SettingError;

/// WeChat's authorisation page host.
pub const DEFAULT_OAUTH_BASE: &str = "https://open.weixin.qq.com";
/// WeChat's API host.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// The settings that switch WeChat sign-in on; both are required once either is given.
pub const SETTINGS: [&str; 2] = ["WECHAT_APP_ID", "WECHAT_APP_SECRET"];
/// How long a code exchange may take by default: WeChat answers in well under a second, and the user is waiting.
const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// `encodeURIComponent`'s set: WeChat asks for the `redirect_uri` to be URL-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The WeChat channel's sign-in: one official account (公众号) identified by its AppID and AppSecret.
pub struct WechatOAuth {
    app_id: String,
    app_secret: String,
    oauth_base: String,
    api_base: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for WechatOAuth {
    // The AppSecret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatOAuth")
            .field("app_id", &self.app_id)
            .field("oauth_base", &self.oauth_base)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// `sns/oauth2/access_token`'s answer: the tokens and ids, or `errcode` and `errmsg`. The access token itself is
/// deliberately not read: `snsapi_base` needs only the ids, and a token never held is never leaked.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    unionid: Option<String>,
    /// 1 when the user is on a 快照页 (a shared page's snapshot): the openid is then a virtual one.
    #[serde(default)]
    is_snapshotuser: i64,
}

impl WechatOAuth {
    /// Reads `WECHAT_APP_ID`, `WECHAT_APP_SECRET`, and optionally `WECHAT_OAUTH_BASE`, `WECHAT_API_BASE` and
    /// `WECHAT_TIMEOUT_MS`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let get = |key: &str| lookup(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let missing: Vec<&str> = SETTINGS.iter().copied().filter(|key| get(key).is_none()).collect();
        if !missing.is_empty() {
            return Err(SettingError(format!("WeChat sign-in needs {}", missing.join(" and "))));
        }
        let app_id = get("WECHAT_APP_ID").unwrap_or_default();
        if !app_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SettingError("WECHAT_APP_ID must be the official account's AppID (wx…)".into()));
        }
        let base = |key: &str, default: &str| -> Result<String, SettingError> {
            let value = get(key).unwrap_or_else(|| default.into());
            match reqwest::Url::parse(&value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                    Ok(value.trim_end_matches('/').to_string())
                }
                _ => Err(SettingError(format!("{key} must be an http(s):// URL, not {value}"))),
            }
        };
        let oauth_base = base("WECHAT_OAUTH_BASE", DEFAULT_OAUTH_BASE)?;
        let api_base = base("WECHAT_API_BASE", DEFAULT_API_BASE)?;
        let timeout_ms = match get("WECHAT_TIMEOUT_MS") {
            None => DEFAULT_TIMEOUT_MS,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|ms| (100..=60_000).contains(ms))
                .ok_or_else(|| SettingError("WECHAT_TIMEOUT_MS must be a whole number from 100 to 60000".into()))?,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .build()
            .map_err(|e| SettingError(format!("WeChat sign-in: the HTTP client cannot be built: {e}")))?;
        Ok(Self { app_id, app_secret: get("WECHAT_APP_SECRET").unwrap_or_default(), oauth_base, api_base, http })
    }

    /// Exchanges a code for WeChat's answer; transport failures are `Unreachable`, WeChat's `errcode`s mapped.
    async fn access_token(&self, code: &str) -> Result<TokenAnswer, SignInError> {
        let url = format!("{}/sns/oauth2/access_token", self.api_base);
        let query = [
            ("appid", self.app_id.as_str()),
            ("secret", self.app_secret.as_str()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ];
        let response = self.http.get(&url).query(&query).send().await.map_err(|e| {
            // reqwest's error names the URL, whose query holds the secret: log only what went wrong.
            tracing::warn!(timeout = e.is_timeout(), connect = e.is_connect(), "WeChat sign-in: no answer from WeChat");
            SignInError::Unreachable
        })?;
        let status = response.status();
        // WeChat answers with Content-Type text/plain: the body is JSON whatever the header says.
        let body = response.bytes().await.map_err(|e| {
            tracing::warn!(timeout = e.is_timeout(), "WeChat sign-in: WeChat's answer was cut off");
            SignInError::Unreachable
        })?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            tracing::warn!(%status, bytes = body.len(), "WeChat sign-in: WeChat's answer is not JSON");
            if status.is_server_error() {
                SignInError::Unreachable
            } else {
                SignInError::Refused
            }
        })?;
        if answer.errcode != 0 {
            return Err(refusal(answer.errcode, &answer.errmsg));
        }
        Ok(answer)
    }
}

/// What a WeChat `errcode` means for the user, logged for the operator (the errmsg carries WeChat's `rid`, which
/// WeChat's support asks for).
fn refusal(errcode: i64, errmsg: &str) -> SignInError {
    let error = match errcode {
        // invalid code; code expired (WeChat's codes live five minutes).
        40029 | 42003 => SignInError::InvalidCode,
        // code been used: a reload of the callback, or a replay.
        40163 => SignInError::CodeUsed,
        // invalid credential / appid / appsecret, a missing one: our settings, not the user.
        40001 | 40013 | 40125 | 41002 | 41004 => SignInError::Misconfigured,
        // system busy; the API's frequency limit.
        -1 | 45009 | 45011 => SignInError::Busy,
        _ => SignInError::Refused,
    };
    if error == SignInError::Misconfigured {
        tracing::error!(errcode, errmsg, "WeChat sign-in refused our AppID or AppSecret");
    } else {
        tracing::warn!(errcode, errmsg, "WeChat sign-in: WeChat refused the code exchange");
    }
    error
}

#[async_trait]
impl PlatformIdentity for WechatOAuth {
    /// `connect/oauth2/authorize` with `snsapi_base`. The parameters stay in the documented order, and
    /// `#wechat_redirect` must end the URL.
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> Option<String> {
        Some(format!(
            "{}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope=snsapi_base&state={}\
             #wechat_redirect",
            self.oauth_base,
            utf8_percent_encode(&self.app_id, COMPONENT),
            utf8_percent_encode(redirect_uri, COMPONENT),
            utf8_percent_encode(state, COMPONENT),
        ))
    }

    async fn exchange(&self, channel: Channel, code: &str) -> Result<PlatformUser, SignInError> {
        if channel != Channel::Wechat {
            return Err(SignInError::NotConfigured);
        }
        let answer = self.access_token(code).await?;
        if answer.is_snapshotuser == 1 {
            return Err(SignInError::SnapshotPage);
        }
        let Some(openid) = answer.openid.filter(|id| !id.is_empty()) else {
            tracing::warn!("WeChat sign-in: WeChat's answer has no openid");
            return Err(SignInError::Refused);
        };
        Ok(PlatformUser { channel, uid: openid, unionid: answer.unionid.filter(|id| !id.is_empty()) })
    }
}

#[cfg(all(test, feature = "fakes"))]
mod tests {
    use super::*;
    use crate::fakes::wechat_oauth::{FakeWechatOAuth, DEFAULT_OPENID};

    const REDIRECT: &str = "https://jt.example.cn/auth/callback?channel=wechat";

    async fn fake() -> FakeWechatOAuth {
        FakeWechatOAuth::start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    fn adapter_with(fake: &FakeWechatOAuth, overrides: &[(&str, &str)]) -> WechatOAuth {
        let settings = fake.settings();
        WechatOAuth::from_lookup(|key| {
            overrides
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
                .or_else(|| settings.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
        })
        .unwrap()
    }

    /// Goes through the fake's authorisation page as the browser would, and returns the code and state it sent
    /// back to the redirect URI.
    async fn authorize(adapter: &WechatOAuth, state: &str) -> (String, String) {
        let url = PlatformIdentity::authorize_url(adapter, REDIRECT, state).unwrap();
        let url = url.strip_suffix("#wechat_redirect").expect("the URL ends with #wechat_redirect");
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let response = browser.get(url).send().await.unwrap();
        assert_eq!(response.status(), 302, "{}", response.text().await.unwrap());
        let back = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        assert!(back.as_str().starts_with(REDIRECT), "back to the redirect_uri: {back}");
        let get = |name: &str| back.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap();
        assert_eq!(get("channel"), "wechat", "the redirect_uri's own query survives");
        (get("code"), get("state"))
    }

    #[tokio::test]
    async fn the_authorize_url_follows_the_documented_shape() {
        let fake = fake().await;
        let adapter = adapter_with(&fake, &[]);
        let url = PlatformIdentity::authorize_url(&adapter, REDIRECT, "s1").unwrap();
        assert_eq!(
            url,
            format!(
                "{}/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fjt.example.cn%2Fauth%2Fcallback%3Fchannel%3Dwechat&response_type=code&scope=snsapi_base&state=s1#wechat_redirect",
                fake.base, fake.app_id
            )
        );
        let defaults = WechatOAuth::from_lookup(|key| match key {
            "WECHAT_APP_ID" => Some("wx0123456789abcdef".into()),
            "WECHAT_APP_SECRET" => Some("s".into()),
            _ => None,
        })
        .unwrap();
        let url = PlatformIdentity::authorize_url(&defaults, REDIRECT, "s1").unwrap();
        assert!(url.starts_with("https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef&"));
        assert_eq!(defaults.api_base, "https://api.weixin.qq.com");
    }

    #[tokio::test]
    async fn a_code_signs_in_its_openid_with_the_unionid_when_there_is_one() {
        let fake = fake().await;
        let adapter = adapter_with(&fake, &[]);
        let (code, state) = authorize(&adapter, "abc123").await;
        assert_eq!(state, "abc123", "WeChat brings the state back unchanged");
        let user = adapter.exchange(Channel::Wechat, &code).await.unwrap();
        assert_eq!(user, PlatformUser { channel: Channel::Wechat, uid: DEFAULT_OPENID.into(), unionid: None });

        fake.set_user("oOther0penid", Some("uUnion1d"));
        let (code, _) = authorize(&adapter, "s2").await;
        let user = adapter.exchange(Channel::Wechat, &code).await.unwrap();
        assert_eq!((user.uid.as_str(), user.unionid.as_deref()), ("oOther0penid", Some("uUnion1d")));
        assert_eq!(adapter.exchange(Channel::Icbc, &code).await, Err(SignInError::NotConfigured), "WeChat only");
    }

    #[tokio::test]
    async fn a_code_works_once_and_not_after_five_minutes() {
        let fake = fake().await;
        let adapter = adapter_with(&fake, &[]);
        let (code, _) = authorize(&adapter, "s").await;
        adapter.exchange(Channel::Wechat, &code).await.unwrap();
        assert_eq!(adapter.exchange(Channel::Wechat, &code).await, Err(SignInError::CodeUsed));
        assert_eq!(adapter.exchange(Channel::Wechat, "madeup").await, Err(SignInError::InvalidCode));
        let (code, _) = authorize(&adapter, "s").await;
        fake.expire_codes();
        assert_eq!(adapter.exchange(Channel::Wechat, &code).await, Err(SignInError::InvalidCode));
    }

    #[tokio::test]
    async fn a_wrong_secret_or_appid_is_our_misconfiguration() {
        let fake = fake().await;
        let good = adapter_with(&fake, &[]);
        let (code, _) = authorize(&good, "s").await;
        let wrong_secret = adapter_with(&fake, &[("WECHAT_APP_SECRET", "not-the-secret")]);
        assert_eq!(wrong_secret.exchange(Channel::Wechat, &code).await, Err(SignInError::Misconfigured));
        let wrong_appid = adapter_with(&fake, &[("WECHAT_APP_ID", "wx00000000000000ff")]);
        assert_eq!(wrong_appid.exchange(Channel::Wechat, &code).await, Err(SignInError::Misconfigured));
        assert!(good.exchange(Channel::Wechat, &code).await.is_ok(), "the refused attempts did not use the code");
    }

    #[tokio::test]
    async fn each_errcode_becomes_its_refusal() {
        let fake = fake().await;
        let adapter = adapter_with(&fake, &[]);
        for (errcode, expected) in [
            (40029, SignInError::InvalidCode),
            (40163, SignInError::CodeUsed),
            (40125, SignInError::Misconfigured),
            (40013, SignInError::Misconfigured),
            (-1, SignInError::Busy),
            (45011, SignInError::Busy),
            (40002, SignInError::Refused),
        ] {
            fake.fail_with(Some(errcode));
            assert_eq!(adapter.exchange(Channel::Wechat, "any").await, Err(expected.clone()), "{errcode}");
            assert!(!expected.to_string().is_empty() && !expected.to_string().is_ascii(), "a Chinese message");
        }
        fake.fail_with(None);
        fake.set_snapshot(true);
        let (code, _) = authorize(&adapter, "s").await;
        assert_eq!(adapter.exchange(Channel::Wechat, &code).await, Err(SignInError::SnapshotPage));
    }

    #[tokio::test]
    async fn a_stalled_or_absent_wechat_is_unreachable_within_the_timeout() {
        let fake = fake().await;
        let adapter = adapter_with(&fake, &[("WECHAT_TIMEOUT_MS", "300")]);
        fake.stall(Some(Duration::from_secs(5)));
        let started = std::time::Instant::now();
        assert_eq!(adapter.exchange(Channel::Wechat, "any").await, Err(SignInError::Unreachable));
        assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
        assert_eq!(fake.exchanges(), 1, "the request reached the fake");

        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nowhere = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let adapter = adapter_with(&fake, &[("WECHAT_API_BASE", &nowhere)]);
        assert_eq!(adapter.exchange(Channel::Wechat, "any").await, Err(SignInError::Unreachable));
    }

    #[tokio::test]
    async fn an_answer_that_is_not_wechats_json_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/sns/oauth2/access_token", axum::routing::get(|| async { "<html>gateway</html>" }));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let adapter = WechatOAuth::from_lookup(|key| match key {
            "WECHAT_APP_ID" => Some("wx0123456789abcdef".into()),
            "WECHAT_APP_SECRET" => Some("s".into()),
            "WECHAT_API_BASE" => Some(base.clone()),
            _ => None,
        })
        .unwrap();
        assert_eq!(adapter.exchange(Channel::Wechat, "any").await, Err(SignInError::Refused));
    }

    #[test]
    fn settings_are_named_when_missing_or_unusable_and_the_secret_is_never_printed() {
        let from = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            WechatOAuth::from_lookup(move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
        };
        let err = from(&[]).unwrap_err().to_string();
        assert!(err.contains("WECHAT_APP_ID") && err.contains("WECHAT_APP_SECRET"), "{err}");
        let err = from(&[("WECHAT_APP_ID", "wx1")]).unwrap_err().to_string();
        assert!(err.contains("WECHAT_APP_SECRET") && !err.contains("WECHAT_APP_ID"), "{err}");
        let ok = [("WECHAT_APP_ID", "wx1"), ("WECHAT_APP_SECRET", "s3cr3t-value")];
        for (key, bad) in [
            ("WECHAT_OAUTH_BASE", "open.weixin.qq.com"),
            ("WECHAT_API_BASE", "ftp://api.weixin.qq.com"),
            ("WECHAT_TIMEOUT_MS", "0"),
            ("WECHAT_APP_ID", "wx1&x=y"),
        ] {
            let mut pairs = ok.to_vec();
            pairs.retain(|(k, _)| *k != key);
            pairs.push((key, bad));
            let err = from(&pairs).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        let adapter = from(&ok).unwrap();
        assert!(!format!("{adapter:?}").contains("s3cr3t-value"));
    }
}

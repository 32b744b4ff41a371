//! The open platform's API gateway client, what ICBC's SDKs call `DefaultIcbcClient` (server-to-server calls) and
//! `UiIcbcClient` (pages the browser is sent to): every call carries `app_id`, `msg_id`, `format=json`,
//! `charset=UTF-8`, `sign_type=RSA2`, an Asia/Shanghai `timestamp` and the JSON `biz_content`, signed with the
//! merchant's key; every answer's signature is checked with the gateway's public key before it is read; and the
//! gateway's notifications are checked and answered the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;

use super::sign::{self, SignType};
use crate::SettingError;
use app::platform::gateway::NotifyError;

/// The production gateway.
pub const DEFAULT_GATEWAY_URL: &str = "https://gw.open.icbc.com.cn";
/// The merchant signs `RSA2`, which ICBC issues 2048-bit keys for.
const MERCHANT_KEY_MIN_BITS: usize = 2048;
/// ICBC hands out a 1024-bit gateway public key (the SDK samples' `MIGfMA0…`), so that is the floor for it.
const GATEWAY_KEY_MIN_BITS: usize = 1024;
const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// A notification older or newer than this by its `timestamp` is refused as a replay.
const NOTIFY_MAX_SKEW_SECS: i64 = 300;

/// Why a gateway call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("ICBC gateway unreachable: {0}")]
    Unreachable(String),
    #[error("ICBC gateway answer is not signed with the gateway key")]
    BadSignature,
    #[error("ICBC gateway answer is unreadable: {0}")]
    Unreadable(String),
    /// The gateway or the API refused the call (`return_code` ≠ 0).
    #[error("ICBC refused the call: return_code {code}: {message}")]
    Vendor { code: String, message: String },
}

/// A verified notification from the gateway: its parameters and its parsed `biz_content`.
#[derive(Debug)]
pub struct GatewayNotification {
    /// When the gateway sent it, epoch seconds.
    pub timestamp: i64,
    pub biz: Value,
}

/// The merchant's side of the open platform: its app id, its key, the gateway's key and address.
pub struct IcbcClient {
    app_id: String,
    private_key: RsaPrivateKey,
    gateway_key: RsaPublicKey,
    base_url: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for IcbcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcbcClient")
            .field("app_id", &self.app_id)
            .field("private_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl IcbcClient {
    /// Reads `ICBC_APP_ID`, `ICBC_PRIVATE_KEY_FILE`, `ICBC_GATEWAY_PUBLIC_KEY_FILE`, `ICBC_GATEWAY_URL` and
    /// `ICBC_TIMEOUT_SECS`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let required = |name: &str| {
            lookup(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| SettingError(format!("{name} is not set")))
        };
        let app_id = required("ICBC_APP_ID")?.trim().to_string();
        let read_file = |name: &str| {
            let path = required(name)?;
            std::fs::read_to_string(&path).map_err(|e| SettingError(format!("{name}: cannot read {path}: {e}")))
        };
        let private_key = sign::read_private_key(&read_file("ICBC_PRIVATE_KEY_FILE")?, MERCHANT_KEY_MIN_BITS)
            .map_err(|e| SettingError(format!("ICBC_PRIVATE_KEY_FILE {e}")))?;
        let gateway_key = sign::read_public_key(&read_file("ICBC_GATEWAY_PUBLIC_KEY_FILE")?, GATEWAY_KEY_MIN_BITS)
            .map_err(|e| SettingError(format!("ICBC_GATEWAY_PUBLIC_KEY_FILE {e}")))?;
        let base_url = lookup("ICBC_GATEWAY_URL").unwrap_or_else(|| DEFAULT_GATEWAY_URL.into());
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(SettingError("ICBC_GATEWAY_URL is not an http(s) URL".into()));
        }
        let timeout = match lookup("ICBC_TIMEOUT_SECS") {
            None => DEFAULT_TIMEOUT_SECS,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=120).contains(s))
                .ok_or_else(|| SettingError("ICBC_TIMEOUT_SECS is not a number of seconds from 1 to 120".into()))?,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout))
            .connect_timeout(Duration::from_secs(timeout.min(5)))
            .build()
            .map_err(|e| SettingError(format!("ICBC HTTP client: {e}")))?;
        Ok(Self { app_id, private_key, gateway_key, base_url, http })
    }

    /// The merchant's app id on the open platform (`app_id`, and `icbc_appid` in business content).
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The common parameters of a call to `path` with `biz_content`, signed.
    fn signed_params(&self, path: &str, biz_content: String, now: i64) -> BTreeMap<String, String> {
        let mut params = BTreeMap::new();
        params.insert("app_id".to_string(), self.app_id.clone());
        params.insert("msg_id".to_string(), new_msg_id());
        params.insert("format".to_string(), "json".to_string());
        params.insert("charset".to_string(), "UTF-8".to_string());
        params.insert("sign_type".to_string(), SignType::Rsa2.code().to_string());
        params.insert("timestamp".to_string(), sign::shanghai_timestamp(now));
        params.insert("biz_content".to_string(), biz_content);
        let signature = sign::sign(&self.private_key, SignType::Rsa2, &sign::signing_string(path, &params));
        params.insert("sign".to_string(), signature);
        params
    }

    /// Calls the API at `path` (`/api/…/V1`) with `biz` and returns the verified `response_biz_content`, refusing
    /// an answer whose `return_code` is not 0.
    pub async fn call(&self, path: &str, biz: &Value) -> Result<Value, CallError> {
        let params = self.signed_params(path, biz.to_string(), app::platform::now());
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .form(&params)
            .send()
            .await
            .map_err(|e| CallError::Unreachable(without_url(e)))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| CallError::Unreachable(without_url(e)))?;
        if !status.is_success() {
            return Err(CallError::Unreachable(format!("HTTP {status}")));
        }
        let answer = self.read_signed_answer(&body)?;
        match return_code(&answer) {
            Some(code) if code == "0" => Ok(answer),
            Some(code) => Err(CallError::Vendor {
                code,
                message: answer.get("return_msg").and_then(Value::as_str).unwrap_or_default().to_string(),
            }),
            None => Err(CallError::Unreadable("answer has no return_code".into())),
        }
    }

    /// Checks a gateway answer's signature over its raw `response_biz_content` and parses that content.
    fn read_signed_answer(&self, body: &str) -> Result<Value, CallError> {
        let (content, signature) = sign::split_signed_answer(body).ok_or(CallError::BadSignature)?;
        // The SDKs check the gateway's answers as `RSA` (SHA1withRSA); RSA2 is accepted too, since only ICBC's
        // key can produce either.
        let signed =
            [SignType::Rsa, SignType::Rsa2].into_iter().any(|t| sign::verify(&self.gateway_key, t, content, signature));
        if !signed {
            return Err(CallError::BadSignature);
        }
        let answer: Value = serde_json::from_str(content).map_err(|e| CallError::Unreadable(e.to_string()))?;
        if !answer.is_object() {
            return Err(CallError::Unreadable("response_biz_content is not an object".into()));
        }
        Ok(answer)
    }

    /// The address of the page API at `path` (`/ui/…/V1`) with `biz`, signed, for the browser to open: the
    /// `UiIcbcClient` puts these parameters in a form it posts; a GET with the same parameters in the query is
    /// read the same way by the gateway (an assumption, see docs/providers.md).
    pub fn page_url(&self, path: &str, biz: &Value, now: i64) -> String {
        let params = self.signed_params(path, biz.to_string(), now);
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter()).finish();
        format!("{}{path}?{query}", self.base_url)
    }

    /// Checks a notification the gateway posted to `notify_path` (the path of the `notify_url` the merchant
    /// gave): a form of `from`, `api`, `app_id`, `charset`, `format`, `encrypt_type`, `timestamp`, `biz_content`,
    /// `sign_type` and `sign`, signed by the gateway over `notify_path?` and the other parameters sorted.
    pub fn verify_notification(
        &self,
        notify_path: &str,
        body: &[u8],
        now: i64,
    ) -> Result<GatewayNotification, NotifyError> {
        let params: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let signature = params.get("sign").filter(|s| !s.is_empty()).ok_or(NotifyError::Unsigned)?;
        let sign_type = params.get("sign_type").and_then(|t| SignType::parse(t)).ok_or(NotifyError::BadSignature)?;
        if !sign::verify(&self.gateway_key, sign_type, &sign::signing_string(notify_path, &params), signature) {
            return Err(NotifyError::BadSignature);
        }
        // Signed by the gateway but for another app: not a notification of ours.
        if params.get("app_id").map(String::as_str) != Some(self.app_id.as_str()) {
            return Err(NotifyError::BadSignature);
        }
        let timestamp =
            params.get("timestamp").and_then(|t| sign::parse_shanghai_timestamp(t)).ok_or(NotifyError::Malformed)?;
        if (now - timestamp).abs() > NOTIFY_MAX_SKEW_SECS {
            return Err(NotifyError::Stale);
        }
        // Encrypted content needs an AES key the merchant has not configured: the app registers without one.
        if params.get("encrypt_type").is_some_and(|t| !t.is_empty()) {
            return Err(NotifyError::Malformed);
        }
        let biz: Value = params
            .get("biz_content")
            .and_then(|b| serde_json::from_str(b).ok())
            .filter(Value::is_object)
            .ok_or(NotifyError::Malformed)?;
        Ok(GatewayNotification { timestamp, biz })
    }

    /// The signed answer the gateway expects to a notification: `{"response_biz_content":{"return_code":…,
    /// "return_msg":…,"msg_id":…},"sign_type":"RSA2","sign":…}`, signed over the text between the outer braces
    /// before `,"sign"`. Without it the gateway counts the notification as undelivered and sends it again.
    pub fn notification_answer(&self, accepted: bool, msg_id: &str) -> String {
        let biz = serde_json::json!({
            "return_code": if accepted { 0 } else { -1 },
            "return_msg": if accepted { "success" } else { "refused" },
            "msg_id": msg_id,
        });
        let signed = format!("\"response_biz_content\":{biz},\"sign_type\":\"{}\"", SignType::Rsa2.code());
        let signature = sign::sign(&self.private_key, SignType::Rsa2, &signed);
        format!("{{{signed},\"sign\":\"{signature}\"}}")
    }
}

/// A `return_code`, which the gateway writes as a number or a string.
pub fn return_code(biz: &Value) -> Option<String> {
    match biz.get("return_code")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_string()),
        _ => None,
    }
}

/// A business field the gateway may write as a string or a number, as text.
pub fn text_field(biz: &Value, name: &str) -> Option<String> {
    match biz.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A fresh `msg_id`: unique per call, as the gateway requires within its replay window.
fn new_msg_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A reqwest error without its URL, whose query may hold a signed request.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "failed"
    };
    format!("request {kind}: {}", e.without_url())
}

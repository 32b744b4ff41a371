//! A loopback fake of Tencent Cloud SMS `SendSms` (API 2021-01-11), written from Tencent Cloud's documents: it
//! checks a request as Tencent does (TC3-HMAC-SHA256 with its own secret, the timestamp within five minutes, the
//! action, version and region, the SDK app id, signature name and template) and answers in Tencent's shapes — HTTP
//! 200 with `{"Response": {…, "RequestId"}}`, `Error` for a refused request, a `Code` per number in
//! `SendStatusSet`. Delivered messages are kept and listed at `GET /fake/sms/inbox?phone=NUMBER` (no `+86`),
//! oldest first, as `[{"params": [...], "template_id": ...}]`. Tests can make it fail with a given code or stall.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// How far a request's `X-TC-Timestamp` may be from the fake's clock, as Tencent allows.
const FRESH_SECS: i64 = 300;
/// Regions that serve SMS.
const REGIONS: &[&str] = &["ap-guangzhou", "ap-beijing", "ap-nanjing"];

/// The account the fake stands for: what a request must be signed with and name.
#[derive(Clone)]
pub struct FakeAccount {
    pub secret_id: String,
    pub secret_key: String,
    pub sdk_app_id: String,
    pub sign_name: String,
    /// The approved templates: the verification code's first.
    pub template_ids: Vec<String>,
}

impl FakeAccount {
    /// An account with a secret made now (no committed keys) and one approved verification code template.
    pub fn generate() -> Self {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        let key: String = (0..32).map(|_| rng.sample(rand::distributions::Alphanumeric) as char).collect();
        let id: String = (0..20).map(|_| rng.sample(rand::distributions::Alphanumeric) as char).collect();
        Self {
            secret_id: format!("AKID{id}"),
            secret_key: key,
            sdk_app_id: format!("14{:08}", rng.gen_range(0..100_000_000)),
            sign_name: "大连智慧交通".into(),
            template_ids: vec![format!("{}", rng.gen_range(1_000_000..9_999_999))],
        }
    }
}

/// One message the fake accepted.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The number without `+86`.
    pub phone: String,
    pub template_id: String,
    pub params: Vec<String>,
}

struct Inner {
    account: FakeAccount,
    inbox: Mutex<Vec<Delivered>>,
    failures: Mutex<VecDeque<String>>,
    stall: Mutex<Option<Duration>>,
}

/// A running fake; dropping it leaves the server running until the runtime ends.
#[derive(Clone)]
pub struct FakeTencentSms {
    inner: Arc<Inner>,
    url: String,
}

impl FakeTencentSms {
    /// Serves the fake for `account` on `listener`, in the background.
    pub async fn serve(listener: TcpListener, account: FakeAccount) -> std::io::Result<Self> {
        let url = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Inner {
            account,
            inbox: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            stall: Mutex::new(None),
        });
        let router =
            Router::new().route("/", post(send_sms)).route("/fake/sms/inbox", get(inbox)).with_state(inner.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the Tencent SMS fake stopped");
            }
        });
        Ok(Self { inner, url })
    }

    /// Serves a generated account on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::serve(TcpListener::bind("127.0.0.1:0").await?, FakeAccount::generate()).await
    }

    /// The fake's base URL (`TENCENT_SMS_ENDPOINT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The account it checks requests against.
    pub fn account(&self) -> &FakeAccount {
        &self.inner.account
    }

    /// The app's settings that point the Tencent adapter at this fake.
    pub fn settings(&self) -> Vec<(String, String)> {
        let a = &self.inner.account;
        [
            ("SMS_PROVIDER", "tencent".to_string()),
            ("TENCENT_SMS_ENDPOINT", self.url.clone()),
            ("TENCENT_SMS_SECRET_ID", a.secret_id.clone()),
            ("TENCENT_SMS_SECRET_KEY", a.secret_key.clone()),
            ("TENCENT_SMS_SDK_APP_ID", a.sdk_app_id.clone()),
            ("TENCENT_SMS_SIGN_NAME", a.sign_name.clone()),
            ("TENCENT_SMS_TEMPLATE_ID", a.template_ids[0].clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The next request fails with Tencent's error `code` (queued: one code per request).
    pub fn fail_next(&self, code: &str) {
        self.inner.failures.lock().unwrap().push_back(code.to_string());
    }

    /// Every request from now waits `delay` before answering (`None`: answer at once).
    pub fn stall(&self, delay: Option<Duration>) {
        *self.inner.stall.lock().unwrap() = delay;
    }

    /// Messages accepted for `phone` (without `+86`), oldest first.
    pub fn inbox(&self, phone: &str) -> Vec<Delivered> {
        self.inner.inbox.lock().unwrap().iter().filter(|d| d.phone == phone).cloned().collect()
    }

    /// Every message accepted, oldest first.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.inner.inbox.lock().unwrap().clone()
    }
}

#[derive(serde::Deserialize)]
struct InboxQuery {
    phone: String,
}

async fn inbox(State(inner): State<Arc<Inner>>, Query(q): Query<InboxQuery>) -> Json<Value> {
    let list: Vec<Value> = inner
        .inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|d| d.phone == q.phone)
        .map(|d| json!({ "params": d.params, "template_id": d.template_id }))
        .collect();
    Json(Value::Array(list))
}

fn request_id() -> String {
    use rand::Rng;
    let n: u128 = rand::thread_rng().gen();
    let h = format!("{n:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Tencent's answer to a refused request.
fn error(code: &str, message: &str) -> Json<Value> {
    Json(json!({ "Response": { "Error": { "Code": code, "Message": message }, "RequestId": request_id() } }))
}

/// Codes Tencent reports per number, in `SendStatusSet`, rather than for the whole request.
fn per_number(code: &str) -> bool {
    code.starts_with("LimitExceeded.PhoneNumber")
        || code == "LimitExceeded.DeliveryFrequencyLimit"
        || code == "InvalidParameterValue.IncorrectPhoneNumber"
        || code == "FailedOperation.PhoneNumberInBlacklist"
        || code == "FailedOperation.InsufficientBalanceInSmsPackage"
}

fn status(phone: &str, code: &str, message: &str, serial: &str) -> Value {
    json!({
        "SerialNo": serial, "PhoneNumber": phone, "Fee": if code == "Ok" { 1 } else { 0 },
        "SessionContext": "", "Code": code, "Message": message, "IsoCode": "CN",
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The parts of `TC3-HMAC-SHA256 Credential=ID/DATE/sms/tc3_request, SignedHeaders=…, Signature=…`.
fn parse_authorization(value: &str) -> Option<(String, String, String, String)> {
    let rest = value.strip_prefix("TC3-HMAC-SHA256 ")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(", ") {
        match part.split_once('=')? {
            ("Credential", v) => credential = Some(v),
            ("SignedHeaders", v) => signed = Some(v),
            ("Signature", v) => signature = Some(v),
            _ => return None,
        }
    }
    let mut scope = credential?.splitn(2, '/');
    let id = scope.next()?.to_string();
    Some((id, scope.next()?.to_string(), signed?.to_string(), signature?.to_string()))
}

/// The signature Tencent expects over the request as received, with the fake's own secret.
fn expected_signature(key: &str, headers: &HeaderMap, signed: &str, body: &[u8], ts: &str, scope: &str) -> String {
    let mut canonical_headers = String::new();
    for name in signed.split(';') {
        let value = header(headers, name).unwrap_or_default().trim().to_lowercase();
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let canonical = format!("POST\n/\n\n{canonical_headers}\n{signed}\n{}", hex::encode(Sha256::digest(body)));
    let to_sign = format!("TC3-HMAC-SHA256\n{ts}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let date = scope.split('/').next().unwrap_or_default();
    let k = hmac(format!("TC3{key}").as_bytes(), date);
    let k = hmac(&k, "sms");
    let k = hmac(&k, "tc3_request");
    hex::encode(hmac(&k, &to_sign))
}

async fn send_sms(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let stall = *inner.stall.lock().unwrap();
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    let account = &inner.account;
    let Some(auth) = header(&headers, "authorization") else {
        return error("AuthFailure.SignatureFailure", "The request is missing the Authorization header.");
    };
    let Some((secret_id, scope, signed, signature)) = parse_authorization(auth) else {
        return error("AuthFailure.InvalidAuthorization", "Authorization is not of the TC3-HMAC-SHA256 form.");
    };
    if secret_id != account.secret_id {
        return error("AuthFailure.SecretIdNotFound", "The SecretId is not found.");
    }
    let Some(ts_text) = header(&headers, "x-tc-timestamp") else {
        return error("MissingParameter", "The request is missing X-TC-Timestamp.");
    };
    let Ok(ts) = ts_text.parse::<i64>() else {
        return error("InvalidParameter", "X-TC-Timestamp is not a Unix timestamp.");
    };
    if (chrono::Utc::now().timestamp() - ts).abs() > FRESH_SECS {
        return error("AuthFailure.SignatureExpire", "The signature expired: the timestamp is too far from now.");
    }
    let date = chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default().format("%Y-%m-%d").to_string();
    let signs_both = signed.split(';').any(|h| h == "content-type") && signed.split(';').any(|h| h == "host");
    if scope != format!("{date}/sms/tc3_request")
        || !signs_both
        || signature != expected_signature(&account.secret_key, &headers, &signed, &body, ts_text, &scope)
    {
        return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.");
    }
    match header(&headers, "x-tc-action") {
        Some("SendSms") => {}
        _ => return error("InvalidAction", "The requested action does not exist."),
    }
    if header(&headers, "x-tc-version") != Some("2021-01-11") {
        return error("NoSuchVersion", "The requested version does not exist.");
    }
    match header(&headers, "x-tc-region") {
        Some(region) if REGIONS.contains(&region) => {}
        Some(_) => return error("UnsupportedOperation.UnsupportedRegion", "SMS is not offered in this region."),
        None => return error("MissingParameter", "The request is missing X-TC-Region."),
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error("FailedOperation.JsonParseFail", "The body is not JSON.");
    };
    let text = |field: &str| request.get(field).and_then(Value::as_str).unwrap_or_default().to_string();
    if text("SmsSdkAppId") != account.sdk_app_id {
        return error("InvalidParameterValue.SdkAppIdNotExist", "The SmsSdkAppId does not exist.");
    }
    if text("SignName") != account.sign_name {
        return error("FailedOperation.SignatureIncorrectOrUnapproved", "The signature is not approved.");
    }
    let template_id = text("TemplateId");
    if !account.template_ids.contains(&template_id) {
        return error("FailedOperation.TemplateIncorrectOrUnapproved", "The template is not approved.");
    }
    let params: Vec<String> = request
        .get("TemplateParamSet")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    let phones: Vec<String> = request
        .get("PhoneNumberSet")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    if phones.is_empty() {
        return error("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty.");
    }
    let forced = inner.failures.lock().unwrap().pop_front();
    if let Some(code) = forced.as_deref().filter(|c| !per_number(c)) {
        return error(code, "The fake was told to fail.");
    }
    let mut statuses = Vec::new();
    for phone in &phones {
        let national = phone.strip_prefix("+86").filter(|n| n.len() == 11 && n.bytes().all(|b| b.is_ascii_digit()));
        let serial = format!("2433:{}", request_id().replace('-', ""));
        match (national, forced.as_deref()) {
            (_, Some(code)) => statuses.push(status(phone, code, "The fake was told to fail.", "")),
            (None, None) => {
                statuses.push(status(phone, "InvalidParameterValue.IncorrectPhoneNumber", "incorrect number", ""))
            }
            (Some(national), None) => {
                inner.inbox.lock().unwrap().push(Delivered {
                    phone: national.to_string(),
                    template_id: template_id.clone(),
                    params: params.clone(),
                });
                statuses.push(status(phone, "Ok", "send success", &serial));
            }
        }
    }
    Json(json!({ "Response": { "SendStatusSet": statuses, "RequestId": request_id() } }))
}

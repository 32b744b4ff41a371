//! WeChat Pay API v3 for JSAPI payments (公众号支付), the WeChat channel's `PaymentGateway`: merchant API calls
//! signed with the merchant key, every answer and notification verified against WeChat Pay's platform
//! certificates or public key, notification resources decrypted with the APIv3 key, refunds, and the trade bill.
//! Written from pay.weixin.qq.com's API v3 documents; `docs/providers.md` records what it assumes.

mod bill;
pub mod sign;

use std::time::Duration;

use app::domain::CivilDate;
use app::platform::gateway::{
    Checkout, GatewayError, GatewayOrder, GatewayState, JsApiParams, Notification, NotifyAnswer, NotifyError,
    PaymentGateway, RefundNotification, RefundRequest, RefundState, StatementLine,
};
use app::platform::now;
use async_trait::async_trait;
use axum::http::HeaderMap;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::json;
use sha1::{Digest, Sha1};

pub use bill::BillError;
use sign::{ApiV3Key, PlatformKeys, PrivateKey, SignatureRefusal};

use crate::SettingError;

/// WeChat Pay's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// What the adapter needs, read from the environment by `WechatPay::from_lookup`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// 商户号.
    pub mchid: String,
    /// The 公众号's AppID the payers' openids belong to.
    pub appid: String,
    /// The serial number of the merchant's API certificate (商户API证书序列号).
    pub merchant_serial: String,
    pub merchant_key: PrivateKey,
    pub apiv3_key: ApiV3Key,
    /// The keys WeChat Pay signs answers and notifications with.
    pub platform: PlatformKeys,
    pub base_url: String,
    /// How long one API call may take before it counts as unreachable.
    pub timeout: Duration,
}

/// The WeChat channel's payment gateway over WeChat Pay API v3.
pub struct WechatPay {
    settings: Settings,
    http: reqwest::Client,
}

impl std::fmt::Debug for WechatPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPay")
            .field("mchid", &self.settings.mchid)
            .field("base_url", &self.settings.base_url)
            .finish()
    }
}

impl WechatPay {
    /// Reads `WECHATPAY_*` settings (keys from the files they name); every missing or unusable one is named.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let get = |key: &str| lookup(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let need = |key: &str| get(key).ok_or_else(|| SettingError(format!("{key} is not set")));
        let file = |key: &str| {
            let path = need(key)?;
            std::fs::read_to_string(&path).map_err(|e| SettingError(format!("{key}: cannot read {path}: {e}")))
        };
        let merchant_key = PrivateKey::from_pem(&file("WECHATPAY_MERCHANT_KEY_FILE")?)
            .map_err(|e| setting("WECHATPAY_MERCHANT_KEY_FILE", e))?;
        let apiv3_key = ApiV3Key::new(&need("WECHATPAY_APIV3_KEY")?).map_err(|e| setting("WECHATPAY_APIV3_KEY", e))?;
        let mut platform = PlatformKeys::default();
        if let Some(id) = get("WECHATPAY_PUBLIC_KEY_ID") {
            let key = sign::PublicKey::from_pem(&file("WECHATPAY_PUBLIC_KEY_FILE")?)
                .map_err(|e| setting("WECHATPAY_PUBLIC_KEY_FILE", e))?;
            platform.insert(id, key);
        }
        for path in get("WECHATPAY_PLATFORM_CERT_FILES").iter().flat_map(|v| v.split(',')).map(str::trim) {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| SettingError(format!("WECHATPAY_PLATFORM_CERT_FILES: cannot read {path}: {e}")))?;
            platform
                .insert_certificate(&pem)
                .map_err(|e| setting("WECHATPAY_PLATFORM_CERT_FILES", format!("{path}: {e}")))?;
        }
        if platform.is_empty() {
            return Err(SettingError(
                "WeChat Pay's answers cannot be verified: set WECHATPAY_PUBLIC_KEY_ID with WECHATPAY_PUBLIC_KEY_FILE, \
                 or WECHATPAY_PLATFORM_CERT_FILES"
                    .into(),
            ));
        }
        let appid = get("WECHATPAY_APPID").or_else(|| get("WECHAT_APP_ID"));
        Ok(Self::new(Settings {
            mchid: need("WECHATPAY_MCHID")?,
            appid: appid.ok_or_else(|| SettingError("WECHATPAY_APPID (or WECHAT_APP_ID) is not set".into()))?,
            merchant_serial: need("WECHATPAY_MERCHANT_SERIAL")?,
            merchant_key,
            apiv3_key,
            platform,
            base_url: get("WECHATPAY_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into()),
            timeout: Duration::from_secs(10),
        }))
    }

    /// The adapter with these settings.
    pub fn new(mut settings: Settings) -> Self {
        settings.base_url = settings.base_url.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dalian-traffic/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTPS client always builds");
        Self { settings, http }
    }

    /// Sends a signed API call; `Ok` holds a verified 2xx answer's body, `Err(ApiError::Vendor)` a verified
    /// refusal with WeChat's `code`.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, ApiError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.send(method, &format!("{}{path}", self.settings.base_url), path, body, true).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        path: &str,
        body: String,
        signed_answer: bool,
    ) -> Result<Vec<u8>, ApiError> {
        let s = &self.settings;
        let authorization = sign::authorization(
            &s.merchant_key,
            &s.mchid,
            &s.merchant_serial,
            method.as_str(),
            path,
            &body,
            now(),
            &sign::nonce(),
        );
        let mut request =
            self.http.request(method, url).header("Authorization", authorization).header("Accept", "application/json");
        if !body.is_empty() {
            request = request.header("Content-Type", "application/json").body(body);
        }
        let response = request.send().await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let answer = response.bytes().await.map_err(|e| ApiError::Unreachable(e.to_string()))?.to_vec();
        let verified = s.platform.verify(&headers, &answer, now());
        if status.is_success() {
            return match verified {
                Ok(()) => Ok(answer),
                Err(_) if !signed_answer => Ok(answer),
                Err(refusal) => Err(ApiError::Unverified(refusal)),
            };
        }
        if verified.is_err() {
            // An unsigned refusal may be a proxy's or an attacker's: nothing in it is trusted, and a retry may pass.
            return Err(ApiError::Unreachable(format!("HTTP {status} without a valid WeChat Pay signature")));
        }
        let error: VendorError = serde_json::from_slice(&answer).unwrap_or_default();
        Err(ApiError::Vendor { status: status.as_u16(), code: error.code, message: error.message })
    }

    fn order_path(order_no: &str) -> String {
        format!("/v3/pay/transactions/out-trade-no/{}", utf8_percent_encode(order_no, NON_ALPHANUMERIC))
    }

    fn decrypt<T: for<'de> Deserialize<'de>>(&self, envelope: &Envelope) -> Result<T, NotifyError> {
        let r = &envelope.resource;
        if envelope.resource_type != "encrypt-resource" || r.algorithm != "AEAD_AES_256_GCM" {
            return Err(NotifyError::Malformed);
        }
        let plain = self
            .settings
            .apiv3_key
            .decrypt(&r.ciphertext, &r.nonce, r.associated_data.as_deref().unwrap_or(""))
            .ok_or(NotifyError::BadSignature)?;
        serde_json::from_slice(&plain).map_err(|_| NotifyError::Malformed)
    }

    /// Checks a notification's headers and reads its envelope.
    fn open(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(Envelope, String, i64), NotifyError> {
        self.settings.platform.verify(headers, body, now).map_err(|refusal| match refusal {
            SignatureRefusal::Unsigned => NotifyError::Unsigned,
            SignatureRefusal::Stale => NotifyError::Stale,
            SignatureRefusal::UnknownSerial | SignatureRefusal::BadSignature => NotifyError::BadSignature,
        })?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let timestamp = header("wechatpay-timestamp").parse().map_err(|_| NotifyError::Unsigned)?;
        let envelope: Envelope = serde_json::from_slice(body).map_err(|_| NotifyError::Malformed)?;
        // WeChat's header nonce is fresh for every delivery, so a replayed delivery is refused while WeChat's own
        // retries (new nonce, same result) apply idempotently.
        Ok((envelope, format!("wxpay:{}", header("wechatpay-nonce")), timestamp))
    }
}

fn setting(key: &str, reason: impl std::fmt::Display) -> SettingError {
    SettingError(format!("{key}: {reason}"))
}

/// Why an API call failed, before it becomes the app's `GatewayError`.
#[derive(Debug)]
enum ApiError {
    Unreachable(String),
    Unverified(SignatureRefusal),
    /// WeChat Pay's verified refusal: its HTTP status and `code` (`ORDER_NOT_EXIST`, `SYSTEM_ERROR`, …).
    Vendor {
        status: u16,
        code: String,
        message: String,
    },
}

/// The codes that say "try again later" rather than "this will not work".
const TRANSIENT_CODES: [&str; 3] = ["SYSTEM_ERROR", "FREQUENCY_LIMITED", "BANK_ERROR"];

impl From<ApiError> for GatewayError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unreachable(reason) => GatewayError::Unreachable(reason),
            ApiError::Unverified(SignatureRefusal::Stale) => {
                GatewayError::Rejected("WeChat Pay's answer is timestamped too far from our clock".into())
            }
            ApiError::Unverified(_) => GatewayError::BadSignature,
            ApiError::Vendor { status, code, message } if status >= 500 || TRANSIENT_CODES.contains(&code.as_str()) => {
                GatewayError::Unreachable(format!("WeChat Pay {status} {code}: {message}"))
            }
            ApiError::Vendor { status, code, message } => {
                GatewayError::Rejected(format!("WeChat Pay {status} {code}: {message}"))
            }
        }
    }
}

impl ApiError {
    fn is(&self, wanted: &str) -> bool {
        matches!(self, ApiError::Vendor { code, .. } if code == wanted)
    }
}

#[derive(Debug, Default, Deserialize)]
struct VendorError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn unreadable(e: serde_json::Error) -> GatewayError {
    GatewayError::Rejected(format!("unreadable WeChat Pay answer: {e}"))
}

/// RFC 3339 with WeChat's `+08:00`, as `time_expire` wants it.
fn rfc3339_shanghai(epoch: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    chrono::DateTime::from_timestamp(epoch, 0).unwrap_or_default().with_timezone(&offset).to_rfc3339()
}

fn epoch_of(rfc3339: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok().map(|t| t.timestamp())
}

/// A transaction as the query answers it and as a notification's resource decrypts to.
#[derive(Debug, Deserialize)]
struct Transaction {
    mchid: String,
    out_trade_no: String,
    #[serde(default)]
    transaction_id: Option<String>,
    trade_state: String,
    #[serde(default)]
    success_time: Option<String>,
    #[serde(default)]
    amount: Option<Amount>,
}

#[derive(Debug, Deserialize)]
struct Amount {
    total: i64,
}

impl Transaction {
    fn state(&self) -> Result<GatewayState, GatewayError> {
        Ok(match self.trade_state.as_str() {
            // REFUND: it was paid, and (some of) it has gone back since; the payment itself stands.
            "SUCCESS" | "REFUND" => GatewayState::Paid {
                txn_id: self
                    .transaction_id
                    .clone()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| missing("transaction_id"))?,
                amount_fen: self.amount.as_ref().ok_or_else(|| missing("amount"))?.total,
                paid_at: self.success_time.as_deref().and_then(epoch_of).ok_or_else(|| missing("success_time"))?,
            },
            // PAYERROR (the bank declined) leaves the order payable until it expires, like NOTPAY.
            "NOTPAY" | "USERPAYING" | "PAYERROR" => GatewayState::Pending,
            "CLOSED" => GatewayState::Closed,
            "REVOKED" => GatewayState::Cancelled,
            other => return Err(GatewayError::Rejected(format!("unknown trade_state {other}"))),
        })
    }
}

fn missing(field: &str) -> GatewayError {
    GatewayError::Rejected(format!("a paid transaction without {field}"))
}

/// A notification's body: the encrypted resource and what it is about.
#[derive(Debug, Deserialize)]
struct Envelope {
    event_type: String,
    resource_type: String,
    resource: Resource,
}

#[derive(Debug, Deserialize)]
struct Resource {
    algorithm: String,
    ciphertext: String,
    nonce: String,
    #[serde(default)]
    associated_data: Option<String>,
}

/// A refund as the refund API answers it.
#[derive(Debug, Deserialize)]
struct Refund {
    refund_id: String,
    status: String,
    #[serde(default)]
    success_time: Option<String>,
}

/// A refund notification's decrypted resource.
#[derive(Debug, Deserialize)]
struct RefundResource {
    mchid: String,
    out_trade_no: String,
    out_refund_no: String,
    refund_id: String,
    refund_status: String,
    #[serde(default)]
    success_time: Option<String>,
}

fn refund_state(refund_id: String, status: &str, success_time: Option<&str>) -> Result<RefundState, GatewayError> {
    Ok(match status {
        "SUCCESS" => RefundState::Succeeded {
            succeeded_at: success_time.and_then(epoch_of).ok_or_else(|| missing("success_time"))?,
            refund_id,
        },
        "PROCESSING" => RefundState::Processing { refund_id },
        "CLOSED" => RefundState::Failed { refund_id, reason: "退款关闭".into() },
        "ABNORMAL" => RefundState::Failed {
            refund_id, reason: "退款异常：用户银行卡作废或冻结，需人工处理".into()
        },
        other => return Err(GatewayError::Rejected(format!("unknown refund status {other}"))),
    })
}

#[derive(Debug, Deserialize)]
struct BillLink {
    hash_type: String,
    hash_value: String,
    download_url: String,
}

#[async_trait]
impl PaymentGateway for WechatPay {
    async fn create(&self, order: &GatewayOrder) -> Result<Checkout, GatewayError> {
        let s = &self.settings;
        let openid = order
            .payer_uid
            .as_deref()
            .ok_or_else(|| GatewayError::Rejected("JSAPI needs the payer's openid: sign in through WeChat".into()))?;
        let body = json!({
            "appid": s.appid,
            "mchid": s.mchid,
            // WeChat caps the description at 127 bytes.
            "description": truncate_bytes(&order.subject, 127),
            "out_trade_no": order.order_no,
            "time_expire": rfc3339_shanghai(order.time_expire),
            "notify_url": order.notify_url,
            "amount": { "total": order.amount_fen, "currency": "CNY" },
            "payer": { "openid": openid },
        });
        let answer = self.call(reqwest::Method::POST, "/v3/pay/transactions/jsapi", Some(body)).await?;
        #[derive(Deserialize)]
        struct Prepay {
            prepay_id: String,
        }
        let prepay: Prepay = serde_json::from_slice(&answer).map_err(unreadable)?;
        let (time_stamp, nonce_str) = (now().to_string(), sign::nonce());
        let package = format!("prepay_id={}", prepay.prepay_id);
        let pay_sign = sign::pay_sign(&s.merchant_key, &s.appid, &time_stamp, &nonce_str, &package);
        Ok(Checkout::JsApi(JsApiParams {
            app_id: s.appid.clone(),
            time_stamp,
            nonce_str,
            package,
            sign_type: "RSA".into(),
            pay_sign,
        }))
    }

    async fn query(&self, order_no: &str) -> Result<GatewayState, GatewayError> {
        let path = format!("{}?mchid={}", Self::order_path(order_no), self.settings.mchid);
        let answer = match self.call(reqwest::Method::GET, &path, None).await {
            Ok(answer) => answer,
            Err(e) if e.is("ORDER_NOT_EXIST") => return Ok(GatewayState::NotFound),
            Err(e) => return Err(e.into()),
        };
        let transaction: Transaction = serde_json::from_slice(&answer).map_err(unreadable)?;
        if transaction.out_trade_no != order_no || transaction.mchid != self.settings.mchid {
            return Err(GatewayError::Rejected("WeChat Pay answered about another order".into()));
        }
        transaction.state()
    }

    async fn close(&self, order_no: &str) -> Result<GatewayState, GatewayError> {
        let path = format!("{}/close", Self::order_path(order_no));
        let closed = self.call(reqwest::Method::POST, &path, Some(json!({ "mchid": self.settings.mchid }))).await;
        match closed {
            Ok(_) => {}
            // Paid, closed or unknown already: the query below says which.
            Err(ApiError::Vendor { status, .. }) if status < 500 => {}
            Err(e) => return Err(e.into()),
        }
        match self.query(order_no).await? {
            // The close was accepted; a query served before it took effect still says NOTPAY.
            GatewayState::Pending if closed.is_ok() => Ok(GatewayState::Closed),
            state => Ok(state),
        }
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Notification, NotifyError> {
        let (envelope, nonce, timestamp) = self.open(headers, body, now)?;
        if envelope.event_type != "TRANSACTION.SUCCESS" {
            return Err(NotifyError::Malformed);
        }
        let transaction: Transaction = self.decrypt(&envelope)?;
        if transaction.mchid != self.settings.mchid {
            return Err(NotifyError::Malformed);
        }
        let Ok(GatewayState::Paid { txn_id, amount_fen, paid_at }) = transaction.state() else {
            return Err(NotifyError::Malformed);
        };
        Ok(Notification {
            nonce,
            timestamp,
            order_no: transaction.out_trade_no,
            txn_id,
            amount_fen,
            paid: true,
            paid_at: Some(paid_at),
        })
    }

    async fn daily_statement(&self, date: CivilDate) -> Result<Vec<StatementLine>, GatewayError> {
        let path = format!("/v3/bill/tradebill?bill_date={date}&bill_type=SUCCESS");
        let answer = match self.call(reqwest::Method::GET, &path, None).await {
            Ok(answer) => answer,
            // No bill: no payment was taken that day.
            Err(e) if e.is("NO_STATEMENT_EXIST") => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let link: BillLink = serde_json::from_slice(&answer).map_err(unreadable)?;
        let Some(download_path) =
            link.download_url.strip_prefix(&self.settings.base_url).filter(|p| p.starts_with('/'))
        else {
            // Our signed Authorization goes to WeChat Pay's own host only.
            return Err(GatewayError::Rejected(format!("bill download_url on a foreign host: {}", link.download_url)));
        };
        // The file itself is not signed; the signed answer's hash vouches for it.
        let file = self.send(reqwest::Method::GET, &link.download_url, download_path, String::new(), false).await?;
        if !link.hash_type.eq_ignore_ascii_case("SHA1")
            || !hex::encode(Sha1::digest(&file)).eq_ignore_ascii_case(&link.hash_value)
        {
            return Err(GatewayError::Rejected("the trade bill does not match its stated SHA1 hash".into()));
        }
        let text = String::from_utf8(file).map_err(|_| GatewayError::Rejected("the trade bill is not UTF-8".into()))?;
        bill::parse(&text).map_err(|e| GatewayError::Rejected(e.to_string()))
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundState, GatewayError> {
        let mut body = json!({
            "out_refund_no": request.refund_no,
            "reason": truncate_bytes(&request.reason, 80),
            "notify_url": request.notify_url,
            "amount": { "refund": request.refund_fen, "total": request.total_fen, "currency": "CNY" },
        });
        if request.txn_id.is_empty() {
            body["out_trade_no"] = json!(request.order_no);
        } else {
            body["transaction_id"] = json!(request.txn_id);
        }
        let answer = self.call(reqwest::Method::POST, "/v3/refund/domestic/refunds", Some(body)).await?;
        let refund: Refund = serde_json::from_slice(&answer).map_err(unreadable)?;
        refund_state(refund.refund_id, &refund.status, refund.success_time.as_deref())
    }

    async fn query_refund(&self, refund_no: &str) -> Result<RefundState, GatewayError> {
        let path = format!("/v3/refund/domestic/refunds/{}", utf8_percent_encode(refund_no, NON_ALPHANUMERIC));
        let answer = match self.call(reqwest::Method::GET, &path, None).await {
            Ok(answer) => answer,
            Err(e) if e.is("RESOURCE_NOT_EXISTS") => return Ok(RefundState::NotFound),
            Err(e) => return Err(e.into()),
        };
        let refund: Refund = serde_json::from_slice(&answer).map_err(unreadable)?;
        refund_state(refund.refund_id, &refund.status, refund.success_time.as_deref())
    }

    fn verify_refund(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<RefundNotification, NotifyError> {
        let (envelope, nonce, timestamp) = self.open(headers, body, now)?;
        if !matches!(envelope.event_type.as_str(), "REFUND.SUCCESS" | "REFUND.ABNORMAL" | "REFUND.CLOSED") {
            return Err(NotifyError::Malformed);
        }
        let refund: RefundResource = self.decrypt(&envelope)?;
        if refund.mchid != self.settings.mchid {
            return Err(NotifyError::Malformed);
        }
        let state = refund_state(refund.refund_id, &refund.refund_status, refund.success_time.as_deref())
            .map_err(|_| NotifyError::Malformed)?;
        Ok(RefundNotification {
            nonce,
            timestamp,
            refund_no: refund.out_refund_no,
            order_no: refund.out_trade_no,
            state,
        })
    }

    /// WeChat reads the status: 2xx (any body) stops its retries; a refusal carries its `FAIL` JSON.
    fn notification_answer(&self, _body: &[u8], accepted: bool) -> NotifyAnswer {
        let body = if accepted { String::new() } else { json!({ "code": "FAIL", "message": "失败" }).to_string() };
        NotifyAnswer { content_type: "application/json; charset=utf-8", body }
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate_bytes(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

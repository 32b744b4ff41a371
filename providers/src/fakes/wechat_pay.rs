//! A loopback WeChat Pay API v3, written from pay.weixin.qq.com's documents: it checks every merchant call's
//! `WECHATPAY2-SHA256-RSA2048` signature with the merchant's public key, signs every answer with a platform key it
//! generates (announced as a WeChat Pay public key, `PUB_KEY_ID_…`), keeps JSAPI orders and refunds, sends signed
//! AEAD-encrypted notifications, serves trade bills, and plays the payer's `getBrandWCPayRequest` at
//! `POST /fake/jsapi/pay`. Faults can be switched on for the adapter's bad-input tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use crate::wechat_pay::sign::{self, ApiV3Key, PlatformKeys, PrivateKey, PublicKey};

/// The id the fake announces its platform key under, as WeChat Pay's public key ids look.
pub const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0112345678202612020000000000000001";
/// The `test_key` slot of the fake's platform key; tests take other slots for the merchant.
pub const PLATFORM_KEY_SLOT: usize = 0;

/// An RSA-2048 key pair with its PEM forms.
#[derive(Clone)]
pub struct TestKey {
    pub private: PrivateKey,
    pub public: PublicKey,
    /// PKCS#8, as `apiclient_key.pem`.
    pub private_pem: String,
    /// SPKI, as WeChat Pay's `pub_key.pem`.
    pub public_pem: String,
}

/// The test key in `slot`, made once per process: keys are generated at test time, never committed.
pub fn test_key(slot: usize) -> TestKey {
    static KEYS: OnceLock<Mutex<HashMap<usize, TestKey>>> = OnceLock::new();
    let keys = KEYS.get_or_init(Default::default);
    keys.lock()
        .unwrap()
        .entry(slot)
        .or_insert_with(|| {
            use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
            let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key generation");
            let public = rsa::RsaPublicKey::from(&private);
            TestKey {
                private_pem: private.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string(),
                public_pem: public.to_public_key_pem(LineEnding::LF).expect("PEM"),
                private: PrivateKey::from(private),
                public: PublicKey::from(public),
            }
        })
        .clone()
}

/// Who the fake serves: one merchant, its 公众号 and its keys.
#[derive(Clone, Debug)]
pub struct Merchant {
    pub mchid: String,
    pub appid: String,
    pub serial: String,
    pub public_key: PublicKey,
    pub apiv3_key: String,
}

/// A fault the fake can be told to show, for the adapter's tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// Answers after 30 seconds.
    Stall,
    /// Answers every API call with this verified error.
    Error { status: u16, code: String, message: String },
    /// Signs something other than the answer.
    BadAnswerSignature,
    /// Names a key the merchant was never given.
    UnknownAnswerSerial,
    /// Timestamps answers ten minutes in the past.
    StaleAnswer,
    /// Serves a bill file that no longer matches its hash.
    TamperBill,
    /// Notifies a payment of one fen more than the order.
    WrongNotifiedAmount,
}

/// An order as the fake keeps it.
#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub out_trade_no: String,
    pub description: String,
    pub amount: i64,
    pub notify_url: String,
    pub time_expire: i64,
    pub openid: String,
    pub prepay_id: String,
    /// NOTPAY, SUCCESS, CLOSED or REFUND.
    pub trade_state: String,
    pub transaction_id: Option<String>,
    pub success_time: Option<i64>,
}

/// A refund as the fake keeps it.
#[derive(Clone, Debug)]
pub struct FakeRefund {
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub refund_id: String,
    pub refund: i64,
    pub notify_url: String,
    /// PROCESSING, then SUCCESS.
    pub status: String,
    pub success_time: Option<i64>,
}

#[derive(Default)]
struct Book {
    orders: HashMap<String, FakeOrder>,
    refunds: HashMap<String, FakeRefund>,
    sequence: u64,
    fault: Fault,
    /// Each notification sent: (out_trade_no or out_refund_no, the HTTP status the merchant answered, 0 if none).
    deliveries: Vec<(String, u16)>,
}

struct Inner {
    merchant: Merchant,
    platform_key: PrivateKey,
    apiv3: ApiV3Key,
    book: Mutex<Book>,
    base_url: String,
    http: reqwest::Client,
}

/// A running fake WeChat Pay.
#[derive(Clone)]
pub struct FakeWechatPay {
    inner: Arc<Inner>,
}

impl FakeWechatPay {
    /// Serves the fake on `listener` until the process ends.
    pub fn start(listener: tokio::net::TcpListener, merchant: Merchant) -> Self {
        let addr = listener.local_addr().expect("bound");
        let apiv3 = ApiV3Key::new(&merchant.apiv3_key).expect("a 32-character APIv3 key");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            // The smoke test's app sits behind a self-signed loopback edge.
            .danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        let inner = Arc::new(Inner {
            merchant,
            platform_key: test_key(PLATFORM_KEY_SLOT).private,
            apiv3,
            book: Mutex::default(),
            base_url: format!("http://{addr}"),
            http,
        });
        let fake = Self { inner };
        let router = fake.router();
        tokio::spawn(async move { axum::serve(listener, router).await.expect("fake WeChat Pay serves") });
        fake
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/v3/pay/transactions/jsapi", post(jsapi))
            .route("/v3/pay/transactions/out-trade-no/{no}", get(query_order))
            .route("/v3/pay/transactions/out-trade-no/{no}/close", post(close_order))
            .route("/v3/refund/domestic/refunds", post(create_refund))
            .route("/v3/refund/domestic/refunds/{no}", get(query_refund))
            .route("/v3/bill/tradebill", get(trade_bill))
            .route("/v3/billdownload/file", get(download_bill))
            .route("/fake/jsapi/pay", post(bridge_pay))
            .with_state(self.clone())
    }

    /// Where the merchant API listens (`WECHATPAY_BASE_URL`).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The platform key the merchant verifies answers with, under `PUBLIC_KEY_ID`.
    pub fn platform_keys(&self) -> PlatformKeys {
        let mut keys = PlatformKeys::default();
        keys.insert(PUBLIC_KEY_ID, test_key(PLATFORM_KEY_SLOT).public);
        keys
    }

    pub fn set_fault(&self, fault: Fault) {
        self.inner.book.lock().unwrap().fault = fault;
    }

    pub fn order(&self, out_trade_no: &str) -> Option<FakeOrder> {
        self.inner.book.lock().unwrap().orders.get(out_trade_no).cloned()
    }

    pub fn refund(&self, out_refund_no: &str) -> Option<FakeRefund> {
        self.inner.book.lock().unwrap().refunds.get(out_refund_no).cloned()
    }

    /// The notifications sent so far and how the merchant answered each.
    pub fn deliveries(&self) -> Vec<(String, u16)> {
        self.inner.book.lock().unwrap().deliveries.clone()
    }

    /// Signs `body` as WeChat Pay signs answers and notifications: the `Wechatpay-*` headers.
    pub fn signed_headers(&self, body: &str, timestamp: i64) -> HeaderMap {
        let nonce = sign::nonce();
        let signature = self.inner.platform_key.sign(&sign::message(&[&timestamp.to_string(), &nonce, body]));
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("wechatpay-timestamp", timestamp.to_string()),
            ("wechatpay-nonce", nonce),
            ("wechatpay-signature", signature),
            ("wechatpay-serial", PUBLIC_KEY_ID.to_string()),
            ("wechatpay-signature-type", sign::SCHEME.to_string()),
        ] {
            headers.insert(name, HeaderValue::from_str(&value).expect("ascii header"));
        }
        headers
    }

    /// A notification body for `resource` (encrypted with the APIv3 key) under `event_type`.
    pub fn notification_body(&self, event_type: &str, original_type: &str, resource: &Value) -> String {
        let nonce: String = sign::nonce()[..12].to_string();
        let ciphertext = self.inner.apiv3.encrypt(resource.to_string().as_bytes(), &nonce, original_type);
        json!({
            "id": format!("EV-{}", sign::nonce()),
            "create_time": rfc3339(app::platform::now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": if event_type == "TRANSACTION.SUCCESS" { "支付成功" } else { "退款状态变更" },
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": ciphertext,
                "associated_data": original_type,
                "nonce": nonce,
            },
        })
        .to_string()
    }

    /// The payer pays the order with this prepay id: the order is paid and its notification sent.
    pub async fn pay(&self, prepay_id: &str) -> Result<(), String> {
        let (order, wrong_amount) = {
            let mut book = self.inner.book.lock().unwrap();
            let now = app::platform::now();
            book.sequence += 1;
            let txn = format!("42000{:023}", book.sequence);
            let wrong_amount = book.fault == Fault::WrongNotifiedAmount;
            let order = book.orders.values_mut().find(|o| o.prepay_id == prepay_id).ok_or("unknown prepay_id")?;
            if order.trade_state != "NOTPAY" {
                return Err(format!("the order is {}", order.trade_state));
            }
            if order.time_expire <= now {
                return Err("the order has expired".into());
            }
            order.trade_state = "SUCCESS".into();
            order.transaction_id = Some(txn);
            order.success_time = Some(now);
            (order.clone(), wrong_amount)
        };
        let mut resource = self.transaction(&order);
        if wrong_amount {
            resource["amount"]["total"] = json!(order.amount + 1);
        }
        let body = self.notification_body("TRANSACTION.SUCCESS", "transaction", &resource);
        self.deliver(&order.out_trade_no, &order.notify_url, body).await;
        Ok(())
    }

    async fn deliver(&self, key: &str, url: &str, body: String) {
        let headers = self.signed_headers(&body, app::platform::now());
        let sent = self.inner.http.post(url).headers(headers).header("content-type", "application/json").body(body);
        let status = match sent.send().await {
            Ok(answer) => answer.status().as_u16(),
            Err(e) => {
                tracing::warn!(error = %e, url, "fake WeChat Pay could not deliver a notification");
                0
            }
        };
        self.inner.book.lock().unwrap().deliveries.push((key.to_string(), status));
    }

    fn transaction(&self, order: &FakeOrder) -> Value {
        let m = &self.inner.merchant;
        let mut t = json!({
            "appid": m.appid,
            "mchid": m.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": order.trade_state,
            "trade_state_desc": match order.trade_state.as_str() {
                "SUCCESS" => "支付成功", "REFUND" => "转入退款", "CLOSED" => "已关闭", _ => "未支付",
            },
            "attach": "",
            "payer": { "openid": order.openid },
        });
        if let (Some(txn), Some(at)) = (&order.transaction_id, order.success_time) {
            t["transaction_id"] = json!(txn);
            t["bank_type"] = json!("OTHERS");
            t["success_time"] = json!(rfc3339(at));
            t["amount"] = json!({ "total": order.amount, "payer_total": order.amount, "currency": "CNY", "payer_currency": "CNY" });
        }
        t
    }

    fn refund_json(&self, refund: &FakeRefund, total: i64, transaction_id: &str) -> Value {
        let mut r = json!({
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": transaction_id,
            "out_trade_no": refund.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(app::platform::now()),
            "status": refund.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": total, "refund": refund.refund, "payer_total": total, "payer_refund": refund.refund,
                "settlement_refund": refund.refund, "settlement_total": total, "discount_refund": 0, "currency": "CNY",
            },
        });
        if let Some(at) = refund.success_time {
            r["success_time"] = json!(rfc3339(at));
        }
        r
    }

    /// Checks a merchant call's `Authorization`: our merchant, its serial, a fresh timestamp, its signature.
    fn authenticate(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), Response> {
        let refuse = |message: &str| {
            Err(self.answer(StatusCode::UNAUTHORIZED, json!({"code": "SIGN_ERROR", "message": message})))
        };
        let Some(fields) =
            headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(sign::parse_authorization)
        else {
            return refuse("Authorization 头缺失或格式错误");
        };
        let m = &self.inner.merchant;
        if fields.mchid != m.mchid || fields.serial != m.serial {
            return refuse("商户号或证书序列号错误");
        }
        if (app::platform::now() - fields.timestamp).abs() > sign::MAX_SKEW_SECS {
            return refuse("请求时间戳已过期");
        }
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let body = std::str::from_utf8(body).unwrap_or("\u{fffd}");
        let signed = sign::message(&[method.as_str(), path, &fields.timestamp.to_string(), &fields.nonce, body]);
        if !m.public_key.verifies(&signed, &fields.signature) {
            return refuse("签名错误");
        }
        Ok(())
    }

    /// A signed answer, with whatever answer fault is switched on.
    fn answer(&self, status: StatusCode, body: Value) -> Response {
        let text = if status == StatusCode::NO_CONTENT { String::new() } else { body.to_string() };
        self.answer_text(status, text)
    }

    fn answer_text(&self, status: StatusCode, text: String) -> Response {
        let fault = self.inner.book.lock().unwrap().fault.clone();
        let now = app::platform::now();
        let mut headers = match fault {
            Fault::BadAnswerSignature => self.signed_headers(&format!("{text} "), now),
            Fault::StaleAnswer => self.signed_headers(&text, now - 600),
            _ => self.signed_headers(&text, now),
        };
        if fault == Fault::UnknownAnswerSerial {
            headers
                .insert("wechatpay-serial", HeaderValue::from_static("PUB_KEY_ID_0199999999999999999999999999999999"));
        }
        headers.insert("request-id", HeaderValue::from_str(&format!("08F0-{}", sign::nonce())).expect("ascii"));
        if !text.is_empty() {
            headers.insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        }
        (status, headers, text).into_response()
    }

    /// The fault to show before handling a call, if it replaces the answer.
    async fn fault_answer(&self) -> Option<Response> {
        let fault = self.inner.book.lock().unwrap().fault.clone();
        match fault {
            Fault::Stall => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                None
            }
            Fault::Error { status, code, message } => Some(self.answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                json!({"code": code, "message": message}),
            )),
            _ => None,
        }
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        self.answer(status, json!({ "code": code, "message": message }))
    }
}

fn rfc3339(epoch: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    chrono::DateTime::from_timestamp(epoch, 0).unwrap_or_default().with_timezone(&offset).to_rfc3339()
}

/// Runs the checks every merchant call shares, then `handle` on the JSON body.
macro_rules! merchant_call {
    ($fake:ident, $method:ident, $uri:ident, $headers:ident, $body:ident) => {
        if let Err(refused) = $fake.authenticate(&$method, &$uri, &$headers, &$body) {
            return refused;
        }
        if let Some(answer) = $fake.fault_answer().await {
            return answer;
        }
    };
}

fn field<'a>(body: &'a Value, pointer: &str) -> Option<&'a Value> {
    body.pointer(pointer).filter(|v| !v.is_null())
}

async fn jsapi(
    State(fake): State<FakeWechatPay>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    merchant_call!(fake, method, uri, headers, body);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "请求体不是合法的JSON");
    };
    let text = |p: &str| field(&body, p).and_then(Value::as_str).map(str::to_string);
    let (Some(appid), Some(mchid), Some(description), Some(no), Some(expire), Some(notify_url), Some(openid)) = (
        text("/appid"),
        text("/mchid"),
        text("/description"),
        text("/out_trade_no"),
        text("/time_expire"),
        text("/notify_url"),
        text("/payer/openid"),
    ) else {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "缺少必填参数");
    };
    let m = &fake.inner.merchant;
    if appid != m.appid || mchid != m.mchid {
        return fake.error(StatusCode::BAD_REQUEST, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配");
    }
    let Some(total) = field(&body, "/amount/total").and_then(Value::as_i64).filter(|t| *t > 0) else {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "amount.total 应为正整数（分）");
    };
    if field(&body, "/amount/currency").and_then(Value::as_str).is_some_and(|c| c != "CNY")
        || !(6..=32).contains(&no.len())
        || description.len() > 127
    {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数格式错误");
    }
    // WeChat wants an https notify_url; the fake also takes plain http on loopback, where the tests' app listens.
    if !(notify_url.starts_with("https://") || notify_url.starts_with("http://127.0.0.1:")) {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "notify_url 应为 https 地址");
    }
    let Some(time_expire) = chrono::DateTime::parse_from_rfc3339(&expire).ok().map(|t| t.timestamp()) else {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "time_expire 格式错误");
    };
    let mut book = fake.inner.book.lock().unwrap();
    if let Some(existing) = book.orders.get(&no).cloned() {
        // Answers sign under the same lock: release it first.
        drop(book);
        return match existing.trade_state.as_str() {
            "SUCCESS" | "REFUND" => fake.error(StatusCode::BAD_REQUEST, "ORDERPAID", "该订单已支付"),
            "CLOSED" => fake.error(StatusCode::BAD_REQUEST, "ORDER_CLOSED", "该订单已关闭"),
            _ if existing.amount != total || existing.openid != openid => {
                fake.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "201 商户订单号重复")
            }
            _ => fake.answer(StatusCode::OK, json!({ "prepay_id": existing.prepay_id })),
        };
    }
    book.sequence += 1;
    let prepay_id = format!("wx{:030}", book.sequence);
    book.orders.insert(
        no.clone(),
        FakeOrder {
            out_trade_no: no,
            description,
            amount: total,
            notify_url,
            time_expire,
            openid,
            prepay_id: prepay_id.clone(),
            trade_state: "NOTPAY".into(),
            transaction_id: None,
            success_time: None,
        },
    );
    drop(book);
    fake.answer(StatusCode::OK, json!({ "prepay_id": prepay_id }))
}

#[derive(Deserialize)]
struct MchidQuery {
    mchid: Option<String>,
}

async fn query_order(
    State(fake): State<FakeWechatPay>,
    Path(no): Path<String>,
    Query(q): Query<MchidQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    merchant_call!(fake, method, uri, headers, body);
    if q.mchid.as_deref() != Some(fake.inner.merchant.mchid.as_str()) {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "mchid 参数错误");
    }
    match fake.order(&no) {
        Some(order) => fake.answer(StatusCode::OK, fake.transaction(&order)),
        None => fake.error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在"),
    }
}

async fn close_order(
    State(fake): State<FakeWechatPay>,
    Path(no): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    merchant_call!(fake, method, uri, headers, body);
    let mchid = serde_json::from_slice::<Value>(&body).ok().and_then(|b| b["mchid"].as_str().map(str::to_string));
    if mchid.as_deref() != Some(fake.inner.merchant.mchid.as_str()) {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "mchid 参数错误");
    }
    let mut book = fake.inner.book.lock().unwrap();
    let Some(order) = book.orders.get_mut(&no) else {
        drop(book);
        return fake.error(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在");
    };
    if order.trade_state == "SUCCESS" || order.trade_state == "REFUND" {
        drop(book);
        return fake.error(StatusCode::BAD_REQUEST, "ORDERPAID", "订单已支付，不能关闭");
    }
    order.trade_state = "CLOSED".into();
    drop(book);
    fake.answer(StatusCode::NO_CONTENT, Value::Null)
}

async fn create_refund(
    State(fake): State<FakeWechatPay>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    merchant_call!(fake, method, uri, headers, body);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "请求体不是合法的JSON");
    };
    let text = |p: &str| field(&body, p).and_then(Value::as_str).map(str::to_string);
    let (Some(refund_no), Some(refund), Some(total)) = (
        text("/out_refund_no"),
        field(&body, "/amount/refund").and_then(Value::as_i64),
        field(&body, "/amount/total").and_then(Value::as_i64),
    ) else {
        return fake.error(StatusCode::BAD_REQUEST, "PARAM_ERROR", "缺少必填参数");
    };
    let notify_url = text("/notify_url").unwrap_or_default();
    let mut book = fake.inner.book.lock().unwrap();
    let order = match (text("/transaction_id"), text("/out_trade_no")) {
        (Some(txn), _) => book.orders.values().find(|o| o.transaction_id.as_deref() == Some(txn.as_str())).cloned(),
        (None, Some(no)) => book.orders.get(&no).cloned(),
        (None, None) => None,
    };
    let Some(order) = order.filter(|o| o.transaction_id.is_some()) else {
        drop(book);
        return fake.error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在或未支付");
    };
    let txn = order.transaction_id.clone().unwrap_or_default();
    if let Some(existing) = book.refunds.get(&refund_no).cloned() {
        drop(book);
        if existing.out_trade_no != order.out_trade_no || existing.refund != refund {
            return fake.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "商户退款单号重复");
        }
        return fake.answer(StatusCode::OK, fake.refund_json(&existing, order.amount, &txn));
    }
    if total != order.amount {
        drop(book);
        return fake.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "订单金额与原订单不一致");
    }
    let refunded: i64 = book.refunds.values().filter(|r| r.out_trade_no == order.out_trade_no).map(|r| r.refund).sum();
    if refund <= 0 || refunded + refund > order.amount {
        drop(book);
        return fake.error(StatusCode::BAD_REQUEST, "NOT_ENOUGH", "退款金额超过订单可退金额");
    }
    book.sequence += 1;
    let created = FakeRefund {
        out_refund_no: refund_no.clone(),
        out_trade_no: order.out_trade_no.clone(),
        refund_id: format!("50300{:023}", book.sequence),
        refund,
        notify_url,
        status: "PROCESSING".into(),
        success_time: None,
    };
    book.refunds.insert(refund_no.clone(), created.clone());
    if let Some(o) = book.orders.get_mut(&order.out_trade_no) {
        o.trade_state = "REFUND".into();
    }
    drop(book);
    // The money reaches the payer a moment later, and WeChat says so.
    let settle = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        settle.settle_refund(&refund_no).await;
    });
    fake.answer(StatusCode::OK, fake.refund_json(&created, order.amount, &txn))
}

impl FakeWechatPay {
    /// The refund's money has reached the payer: it succeeds and its notification goes out.
    pub async fn settle_refund(&self, refund_no: &str) {
        let (refund, order) = {
            let mut book = self.inner.book.lock().unwrap();
            let Some(refund) = book.refunds.get_mut(refund_no) else { return };
            if refund.status != "PROCESSING" {
                return;
            }
            refund.status = "SUCCESS".into();
            refund.success_time = Some(app::platform::now());
            let refund = refund.clone();
            let order = book.orders.get(&refund.out_trade_no).cloned();
            (refund, order)
        };
        let Some(order) = order else { return };
        if refund.notify_url.is_empty() {
            return;
        }
        let resource = json!({
            "mchid": self.inner.merchant.mchid,
            "out_trade_no": refund.out_trade_no,
            "transaction_id": order.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_status": refund.status,
            "success_time": refund.success_time.map(rfc3339),
            "user_received_account": "支付用户零钱",
            "amount": { "total": order.amount, "refund": refund.refund, "payer_total": order.amount, "payer_refund": refund.refund },
        });
        let body = self.notification_body("REFUND.SUCCESS", "refund", &resource);
        self.deliver(refund_no, &refund.notify_url, body).await;
    }
}

async fn query_refund(
    State(fake): State<FakeWechatPay>,
    Path(no): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    merchant_call!(fake, method, uri, headers, body);
    let Some(refund) = fake.refund(&no) else {
        return fake.error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "退款单不存在");
    };
    let order = fake.order(&refund.out_trade_no);
    let (total, txn) = order.map(|o| (o.amount, o.transaction_id.unwrap_or_default())).unwrap_or_default();
    fake.answer(StatusCode::OK, fake.refund_json(&refund, total, &txn))
}

#[derive(Deserialize)]
struct BillQuery {
    bill_date: Option<String>,
    token: Option<String>,
}

impl FakeWechatPay {
    /// The day's bill file: the orders paid that Asia/Shanghai day, in WeChat's backtick CSV.
    fn bill_file(&self, date: &str) -> Option<String> {
        let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        let start = day.and_hms_opt(0, 0, 0)?.and_utc().timestamp() - 8 * 3600;
        let book = self.inner.book.lock().unwrap();
        let mut paid: Vec<&FakeOrder> =
            book.orders.values().filter(|o| o.success_time.is_some_and(|t| t >= start && t < start + 86_400)).collect();
        if paid.is_empty() {
            return None;
        }
        paid.sort_by_key(|o| o.success_time);
        let m = &self.inner.merchant;
        let yuan = |fen: i64| format!("{}.{:02}", fen / 100, fen % 100);
        let mut file = String::from(
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,\
应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注\r\n",
        );
        let offset = chrono::FixedOffset::east_opt(8 * 3600)?;
        for o in &paid {
            let at = chrono::DateTime::from_timestamp(o.success_time?, 0)?.with_timezone(&offset);
            file.push_str(&format!(
                "`{},`{},`{},`0,`,`{},`{},`{},`JSAPI,`SUCCESS,`OTHERS,`CNY,`{},`0.00,`{},`,`0.00000,`0.60%,`{},`\r\n",
                at.format("%Y-%m-%d %H:%M:%S"),
                m.appid,
                m.mchid,
                o.transaction_id.as_deref().unwrap_or_default(),
                o.out_trade_no,
                o.openid,
                yuan(o.amount),
                o.description,
                yuan(o.amount),
            ));
        }
        let sum: i64 = paid.iter().map(|o| o.amount).sum();
        file.push_str(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n",
        );
        file.push_str(&format!("`{},`{},`0.00,`0.00,`0.00000,`{},`0.00\r\n", paid.len(), yuan(sum), yuan(sum)));
        Some(file)
    }
}

async fn trade_bill(
    State(fake): State<FakeWechatPay>,
    Query(q): Query<BillQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    merchant_call!(fake, method, uri, headers, body);
    let date = q.bill_date.unwrap_or_default();
    let Some(file) = fake.bill_file(&date) else {
        return fake.error(StatusCode::BAD_REQUEST, "NO_STATEMENT_EXIST", "账单文件不存在");
    };
    fake.answer(
        StatusCode::OK,
        json!({
            "hash_type": "SHA1",
            "hash_value": hex::encode(Sha1::digest(file.as_bytes())),
            "download_url": format!("{}/v3/billdownload/file?token={date}", fake.base_url()),
        }),
    )
}

async fn download_bill(
    State(fake): State<FakeWechatPay>,
    Query(q): Query<BillQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    merchant_call!(fake, method, uri, headers, body);
    let Some(mut file) = fake.bill_file(q.token.as_deref().unwrap_or_default()) else {
        return fake.error(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "账单文件不存在");
    };
    if fake.inner.book.lock().unwrap().fault == Fault::TamperBill {
        file = file.replacen(",`SUCCESS,`OTHERS,`CNY,`", ",`SUCCESS,`OTHERS,`CNY,`1", 1);
    }
    // The download is the one answer WeChat does not sign: the bill's hash vouches for it.
    ([("content-type", "application/octet-stream")], file).into_response()
}

/// `POST /fake/jsapi/pay`: what WeChat's client does on `getBrandWCPayRequest` — checks the merchant's `paySign`
/// over the fields, takes the money and notifies the merchant — answered with the bridge's `err_msg`.
async fn bridge_pay(State(fake): State<FakeWechatPay>, Json(params): Json<Value>) -> Response {
    let fail = |why: &str| {
        tracing::warn!(why, "fake WeChat Pay refused getBrandWCPayRequest");
        Json(json!({ "err_msg": "get_brand_wcpay_request:fail", "err_desc": why })).into_response()
    };
    let text = |k: &str| params[k].as_str().unwrap_or_default().to_string();
    let (app_id, time_stamp, nonce_str, package, sign_type, pay_sign) =
        (text("appId"), text("timeStamp"), text("nonceStr"), text("package"), text("signType"), text("paySign"));
    if app_id != fake.inner.merchant.appid || sign_type != "RSA" {
        return fail("appId or signType is wrong");
    }
    let fresh = time_stamp.parse::<i64>().is_ok_and(|t| (app::platform::now() - t).abs() <= sign::MAX_SKEW_SECS);
    if !fresh {
        return fail("timeStamp is not fresh");
    }
    let signed = sign::message(&[&app_id, &time_stamp, &nonce_str, &package]);
    if !fake.inner.merchant.public_key.verifies(&signed, &pay_sign) {
        return fail("paySign does not verify");
    }
    let Some(prepay_id) = package.strip_prefix("prepay_id=") else { return fail("package is not prepay_id=…") };
    match fake.pay(prepay_id).await {
        Ok(()) => Json(json!({ "err_msg": "get_brand_wcpay_request:ok" })).into_response(),
        Err(why) => fail(&why),
    }
}

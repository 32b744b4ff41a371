//! A loopback fake of ICBC's open platform gateway, as `providers::icbc` reads the public SDKs: the H5 cashier
//! (`consumepurchaseshowpay`) and the `orderqry`, `merrefund`, `refundqry`, statement and 融e联 sign-in APIs, each
//! request's RSA2 signature checked with the merchant's public key (app id, timestamp and `msg_id` too), each answer
//! signed `RSA` with the fake's own gateway key, and results posted to the merchant's `notify_url` as the gateway's
//! signed form, whose signed answer it checks. Tests can make it refuse, stall, sign with a foreign key or pay a
//! different amount. Test and development code only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::icbc::pay::{CASHIER_PATH, DEFAULT_STATEMENT_PATH, ORDER_QUERY_PATH, REFUND_PATH, REFUND_QUERY_PATH};
use crate::icbc::sign::{self, SignType};

/// The sign-in API the fake serves; `ICBC_SIGNIN_PATH` must name it.
pub const SIGNIN_PATH: &str = "/api/rel/user/authcode/query/V1";
/// How far a request's `timestamp` may be from the fake's clock.
const MAX_SKEW_SECS: i64 = 300;
const PAY_TIME_FORMAT: &str = "%Y%m%d %H:%M:%S";

/// Keys for tests, made once per process: RSA keygen is slow in debug builds.
pub struct TestKeys {
    /// The merchant's 2048-bit key (RSA2).
    pub merchant: RsaPrivateKey,
    /// The fake gateway's key, 1024 bits like ICBC's own.
    pub gateway: RsaPrivateKey,
    /// A key nobody trusts, for forged signatures.
    pub stranger: RsaPrivateKey,
}

/// The process's test keys.
pub fn test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::thread_rng();
        TestKeys {
            merchant: RsaPrivateKey::new(&mut rng, 2048).expect("generate the merchant test key"),
            gateway: RsaPrivateKey::new(&mut rng, 1024).expect("generate the gateway test key"),
            stranger: RsaPrivateKey::new(&mut rng, 1024).expect("generate the stranger test key"),
        }
    })
}

/// A private key as PKCS#8 PEM, for the key file the adapter reads.
pub fn private_pem(key: &RsaPrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).expect("encode a private key").to_string()
}

/// A public key as SPKI PEM.
pub fn public_pem(key: &RsaPublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF).expect("encode a public key")
}

/// An order as the fake gateway holds it.
#[derive(Debug, Clone)]
pub struct FakeOrder {
    pub out_trade_no: String,
    pub amount_fen: i64,
    pub subject: String,
    pub notify_url: String,
    pub return_url: String,
    pub expires_at: i64,
    /// `orderqry`'s `pay_status`: 0 paid, 1 failed, 2 awaiting payment, 3 closed.
    pub pay_status: &'static str,
    /// ICBC's order number, once paid.
    pub order_id: String,
    pub paid_fen: i64,
    pub paid_at: i64,
    /// Whether the merchant answered the last notification with a valid signed success.
    pub acknowledged: bool,
}

#[derive(Debug, Clone)]
struct FakeRefund {
    out_trade_no: String,
    intrx_serial_no: String,
    amount_fen: i64,
    at: i64,
}

#[derive(Default)]
struct Inner {
    orders: HashMap<String, FakeOrder>,
    refunds: HashMap<String, FakeRefund>,
    codes: HashMap<String, String>,
    seen_msg_ids: HashSet<String>,
    fail_next: Option<(String, String)>,
    stall: Option<Duration>,
    foreign_signature: bool,
    pay_amount: Option<i64>,
    serial: u64,
}

#[derive(Clone)]
struct Shared {
    app_id: String,
    mer_id: String,
    merchant_key: RsaPublicKey,
    gateway_key: RsaPrivateKey,
    stranger_key: RsaPrivateKey,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

/// A running fake gateway.
#[derive(Clone)]
pub struct FakeIcbc {
    base_url: String,
    shared: Shared,
}

impl FakeIcbc {
    /// Starts the fake on a loopback port for app `app_id` and merchant `mer_id`, trusting `merchant_key`.
    pub async fn start(app_id: &str, mer_id: &str, merchant_key: RsaPublicKey) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake ICBC gateway");
        Self::serve_on(listener, app_id, mer_id, merchant_key)
    }

    /// Serves the fake on `listener` (for `fake-vendors`), signing with the test gateway key.
    pub fn serve_on(listener: TcpListener, app_id: &str, mer_id: &str, merchant_key: RsaPublicKey) -> Self {
        let keys = test_keys();
        let shared = Shared {
            app_id: app_id.into(),
            mer_id: mer_id.into(),
            merchant_key,
            gateway_key: keys.gateway.clone(),
            stranger_key: keys.stranger.clone(),
            inner: Arc::default(),
            // The production smoke test's app sits behind the edge's self-signed certificate on loopback.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .danger_accept_invalid_certs(true)
                .build()
                .expect("HTTP client"),
        };
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let router = Router::new()
            .route(CASHIER_PATH, get(cashier).post(cashier))
            .route("/fake-cashier/confirm", post(confirm))
            .fallback(api)
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base_url, shared }
    }

    /// Where the fake listens (`ICBC_GATEWAY_URL`).
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// The fake gateway's public key (`ICBC_GATEWAY_PUBLIC_KEY_FILE`).
    pub fn gateway_public_key(&self) -> RsaPublicKey {
        self.shared.gateway_key.to_public_key()
    }

    /// Makes the next API call answer `return_code` with `return_msg` (signed, as the gateway does).
    pub fn fail_next(&self, return_code: &str, return_msg: &str) {
        self.lock().fail_next = Some((return_code.into(), return_msg.into()));
    }

    /// Makes every API call wait this long before answering (`None` to stop).
    pub fn stall(&self, delay: Option<Duration>) {
        self.lock().stall = delay;
    }

    /// Makes answers and notifications signed with a key the merchant does not trust.
    pub fn sign_foreign(&self, on: bool) {
        self.lock().foreign_signature = on;
    }

    /// Makes the cashier take this amount instead of the order's (`None` for the order's).
    pub fn pay_amount(&self, fen: Option<i64>) {
        self.lock().pay_amount = fen;
    }

    /// Makes a 融e联 sign-in `code` stand for `user_id` until it is exchanged once.
    pub fn issue_code(&self, code: &str, user_id: &str) {
        self.lock().codes.insert(code.into(), user_id.into());
    }

    /// The order as the fake holds it.
    pub fn order(&self, out_trade_no: &str) -> Option<FakeOrder> {
        self.lock().orders.get(out_trade_no).cloned()
    }

    /// Pays (or, with `paid` false, fails) an order as the cashier's buttons do and posts the notification;
    /// returns whether the merchant acknowledged it with a valid signed answer.
    pub async fn settle(&self, out_trade_no: &str, paid: bool) -> bool {
        settle(&self.shared, out_trade_no, paid).await.is_ok_and(|acknowledged| acknowledged)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().expect("fake ICBC state")
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake ICBC state")
    }

    fn signing_key(&self) -> &RsaPrivateKey {
        if self.lock().foreign_signature {
            &self.stranger_key
        } else {
            &self.gateway_key
        }
    }

    /// A signed gateway answer: `{"response_biz_content":…,"sign":…}`, `RSA` over the content's exact text.
    fn answer(&self, biz: Value) -> Response {
        let content = biz.to_string();
        let signature = sign::sign(self.signing_key(), SignType::Rsa, &content);
        let body = format!("{{\"response_biz_content\":{content},\"sign\":\"{signature}\"}}");
        ([(axum::http::header::CONTENT_TYPE, "application/json; charset=UTF-8")], body).into_response()
    }

    fn refusal(&self, code: &str, message: &str) -> Response {
        self.answer(json!({ "return_code": code.parse::<i64>().map(Value::from).unwrap_or(Value::from(code)), "return_msg": message }))
    }

    /// Checks a merchant request's common parameters and signature; the `biz_content` on success.
    fn check_request(
        &self,
        path: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Value, (&'static str, &'static str)> {
        if params.get("app_id").map(String::as_str) != Some(self.app_id.as_str()) {
            return Err(("400012", "app_id不存在"));
        }
        let signature = params.get("sign").ok_or(("400011", "缺少签名"))?;
        if params.get("sign_type").map(String::as_str) != Some("RSA2") {
            return Err(("400011", "签名类型与登记不符"));
        }
        if !sign::verify(&self.merchant_key, SignType::Rsa2, &sign::signing_string(path, params), signature) {
            return Err(("400011", "验签失败"));
        }
        let stamp = params
            .get("timestamp")
            .and_then(|t| sign::parse_shanghai_timestamp(t))
            .ok_or(("400013", "时间戳格式错误"))?;
        if (app::platform::now() - stamp).abs() > MAX_SKEW_SECS {
            return Err(("400013", "时间戳超时"));
        }
        if params.get("format").map(String::as_str) != Some("json")
            || params.get("charset").map(String::as_str) != Some("UTF-8")
        {
            return Err(("400015", "format或charset错误"));
        }
        let msg_id = params.get("msg_id").filter(|m| !m.is_empty()).ok_or(("400014", "缺少msg_id"))?;
        if !self.lock().seen_msg_ids.insert(msg_id.clone()) {
            return Err(("400014", "msg_id重复"));
        }
        params
            .get("biz_content")
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .filter(|b| b.get("icbc_appid").and_then(Value::as_str) == Some(self.app_id.as_str()))
            .ok_or(("400016", "biz_content格式错误"))
    }

    fn next_serial(&self, prefix: &str) -> String {
        let mut inner = self.lock();
        inner.serial += 1;
        format!("{prefix}{:012}", inner.serial)
    }
}

fn params_of(query: Option<&str>, body: &[u8]) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    params.extend(form_urlencoded::parse(body).into_owned());
    params
}

fn str_field(biz: &Value, name: &str) -> String {
    match biz.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!("<!doctype html><meta charset=utf-8><h1>支付失败</h1><p>{}</p>", html_escape(message))),
    )
        .into_response()
}

/// The H5 cashier: checks the signed page request, registers the order (idempotently by `out_trade_no`) and shows
/// it with pay and cancel buttons.
async fn cashier(State(shared): State<Shared>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let params = params_of(query.as_deref(), &body);
    let biz = match shared.check_request(CASHIER_PATH, &params) {
        Ok(biz) => biz,
        Err((code, message)) => return error_page(&format!("{code} {message}")),
    };
    let out_trade_no = str_field(&biz, "out_trade_no");
    let amount_fen: i64 = match str_field(&biz, "order_amt").parse() {
        Ok(fen) if fen > 0 => fen,
        _ => return error_page("order_amt 格式错误"),
    };
    if str_field(&biz, "mer_id") != shared.mer_id || out_trade_no.is_empty() {
        return error_page("商户编号或订单号错误");
    }
    let expire_secs: i64 = str_field(&biz, "expire_time").parse().unwrap_or(0);
    let now = app::platform::now();
    let order = {
        let mut inner = shared.lock();
        let order = inner.orders.entry(out_trade_no.clone()).or_insert_with(|| FakeOrder {
            out_trade_no: out_trade_no.clone(),
            amount_fen,
            subject: str_field(&biz, "body"),
            notify_url: str_field(&biz, "notify_url"),
            return_url: str_field(&biz, "return_url"),
            expires_at: now + expire_secs,
            pay_status: "2",
            order_id: String::new(),
            paid_fen: 0,
            paid_at: 0,
            acknowledged: false,
        });
        if order.amount_fen != amount_fen {
            return error_page("同一订单号的金额不一致");
        }
        order.clone()
    };
    if order.pay_status != "2" {
        return error_page("订单已支付或已关闭");
    }
    Html(format!(
        "<!doctype html><html lang=zh-CN><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>工银收银台</title><h1>工银收银台</h1><p>{}</p><p>金额：<b>{}.{:02}</b> 元</p>\
         <form method=post action=/fake-cashier/confirm><input type=hidden name=out_trade_no value=\"{}\">\
         <button name=action value=pay>确认支付</button> <button name=action value=cancel>取消支付</button></form>",
        html_escape(&order.subject),
        order.amount_fen / 100,
        order.amount_fen % 100,
        html_escape(&order.out_trade_no),
    ))
    .into_response()
}

#[derive(Deserialize)]
struct Confirm {
    out_trade_no: String,
    action: String,
}

/// The cashier's buttons: settles the order, notifies the merchant, and sends the browser back.
async fn confirm(State(shared): State<Shared>, Form(form): Form<Confirm>) -> Response {
    match settle(&shared, &form.out_trade_no, form.action == "pay").await {
        Ok(_) => {
            let return_url =
                shared.lock().orders.get(&form.out_trade_no).map(|o| o.return_url.clone()).unwrap_or_default();
            Redirect::to(&return_url).into_response()
        }
        Err(message) => error_page(message),
    }
}

async fn settle(shared: &Shared, out_trade_no: &str, paid: bool) -> Result<bool, &'static str> {
    let now = app::platform::now();
    let order_id = shared.next_serial("ICBC");
    let order = {
        let mut inner = shared.lock();
        let pay_amount = inner.pay_amount;
        let order = inner.orders.get_mut(out_trade_no).ok_or("订单不存在")?;
        if order.pay_status != "2" {
            return Err("订单已支付或已关闭");
        }
        if now >= order.expires_at {
            order.pay_status = "3";
            return Err("订单已超时关闭");
        }
        if paid {
            order.pay_status = "0";
            order.order_id = order_id;
            order.paid_fen = pay_amount.unwrap_or(order.amount_fen);
            order.paid_at = now;
        } else {
            order.pay_status = "1";
        }
        order.clone()
    };
    let biz = json!({
        "return_code": if paid { "0" } else { "1" },
        "return_msg": if paid { "交易成功" } else { "用户取消支付" },
        "msg_id": shared.next_serial("N"),
        "mer_id": shared.mer_id,
        "out_trade_no": order.out_trade_no,
        "order_id": order.order_id,
        "total_amt": if paid { order.paid_fen } else { order.amount_fen }.to_string(),
        "pay_time": if paid { pay_time(order.paid_at) } else { String::new() },
    });
    let acknowledged = notify(shared, &order.notify_url, CASHIER_PATH, &biz).await;
    if let Some(o) = shared.lock().orders.get_mut(out_trade_no) {
        o.acknowledged = acknowledged;
    }
    Ok(acknowledged)
}

fn pay_time(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch + 8 * 3600, 0)
        .map(|t| t.format(PAY_TIME_FORMAT).to_string())
        .unwrap_or_default()
}

/// Posts a gateway notification to `notify_url` and says whether the merchant's answer is a valid signed success.
async fn notify(shared: &Shared, notify_url: &str, api: &str, biz: &Value) -> bool {
    let Ok(url) = reqwest::Url::parse(notify_url) else { return false };
    let mut params = BTreeMap::new();
    params.insert("from".to_string(), "icbc-api".to_string());
    params.insert("api".to_string(), api.to_string());
    params.insert("app_id".to_string(), shared.app_id.clone());
    params.insert("charset".to_string(), "UTF-8".to_string());
    params.insert("format".to_string(), "json".to_string());
    params.insert("timestamp".to_string(), sign::shanghai_timestamp(app::platform::now()));
    params.insert("biz_content".to_string(), biz.to_string());
    params.insert("sign_type".to_string(), SignType::Rsa.code().to_string());
    let signature = sign::sign(shared.signing_key(), SignType::Rsa, &sign::signing_string(url.path(), &params));
    params.insert("sign".to_string(), signature);
    let Ok(response) = shared.http.post(url).form(&params).send().await else { return false };
    let Ok(answer) = response.text().await else { return false };
    merchant_answer_accepted(&shared.merchant_key, &answer)
}

/// Whether a merchant's answer to a notification is signed (over the text after the first `{` up to
/// `,"sign":"`) and says `return_code` 0.
fn merchant_answer_accepted(merchant_key: &RsaPublicKey, answer: &str) -> bool {
    let answer = answer.trim();
    let (Some(end), Some(body)) = (answer.rfind(",\"sign\":\""), answer.strip_prefix('{')) else { return false };
    let signed = &body[..end - 1];
    let signature = answer[end + 9..].trim_end_matches('}').trim_end_matches('"');
    let Ok(parsed) = serde_json::from_str::<Value>(answer) else { return false };
    let sign_type = parsed.get("sign_type").and_then(Value::as_str).and_then(SignType::parse);
    let code = parsed.pointer("/response_biz_content/return_code");
    let code_ok = code.is_some_and(|c| c.as_i64() == Some(0) || c.as_str() == Some("0"));
    sign_type.is_some_and(|t| sign::verify(merchant_key, t, signed, signature)) && code_ok
}

/// Every `/api/…` call: checks the request, then answers by path.
async fn api(State(shared): State<Shared>, uri: Uri, body: Bytes) -> Response {
    let params = params_of(uri.query(), &body);
    let path = uri.path().to_string();
    let (stall, fail) = {
        let mut inner = shared.lock();
        (inner.stall, inner.fail_next.take())
    };
    if let Some(delay) = stall {
        tokio::time::sleep(delay).await;
    }
    let biz = match shared.check_request(&path, &params) {
        Ok(biz) => biz,
        Err((code, message)) => return shared.refusal(code, message),
    };
    if let Some((code, message)) = fail {
        return shared.refusal(&code, &message);
    }
    if str_field(&biz, "mer_id") != shared.mer_id && path != SIGNIN_PATH {
        return shared.refusal("400021", "商户编号不存在");
    }
    let msg_id = params.get("msg_id").cloned().unwrap_or_default();
    match path.as_str() {
        ORDER_QUERY_PATH => order_query(&shared, &biz, &msg_id),
        REFUND_PATH => refund(&shared, &biz, &msg_id).await,
        REFUND_QUERY_PATH => refund_query(&shared, &biz, &msg_id),
        DEFAULT_STATEMENT_PATH => statement(&shared, &biz),
        SIGNIN_PATH => {
            let code = str_field(&biz, "code");
            let user_id = shared.lock().codes.remove(&code);
            match user_id {
                Some(user_id) => shared
                    .answer(json!({ "return_code": 0, "return_msg": "success", "msg_id": msg_id, "user_id": user_id })),
                None => shared.refusal("400031", "授权码无效或已使用"),
            }
        }
        _ => shared.refusal("500020", "非法调用"),
    }
}

fn order_query(shared: &Shared, biz: &Value, msg_id: &str) -> Response {
    let now = app::platform::now();
    let close = str_field(biz, "deal_flag") == "1";
    let order = {
        let mut inner = shared.lock();
        let Some(order) = inner.orders.get_mut(&str_field(biz, "out_trade_no")) else {
            drop(inner);
            return shared.refusal("400041", "订单不存在");
        };
        if order.pay_status == "2" && (close || now >= order.expires_at) {
            order.pay_status = "3";
        }
        order.clone()
    };
    let paid = order.pay_status == "0";
    shared.answer(json!({
        "return_code": 0,
        "return_msg": "success",
        "msg_id": msg_id,
        "mer_id": shared.mer_id,
        "out_trade_no": order.out_trade_no,
        "order_id": order.order_id,
        "pay_status": order.pay_status,
        "total_amt": if paid { order.paid_fen } else { order.amount_fen }.to_string(),
        "pay_time": if paid { pay_time(order.paid_at) } else { String::new() },
    }))
}

async fn refund(shared: &Shared, biz: &Value, msg_id: &str) -> Response {
    let refund_no = str_field(biz, "outtrx_serial_no");
    let out_trade_no = str_field(biz, "out_trade_no");
    let Ok(amount) = str_field(biz, "ret_total_amt").parse::<i64>() else {
        return shared.refusal("400051", "退款金额格式错误");
    };
    let now = app::platform::now();
    let intrx = shared.next_serial("R");
    let record = {
        let mut inner = shared.lock();
        if let Some(existing) = inner.refunds.get(&refund_no) {
            // The same refund number again is the same refund.
            existing.clone()
        } else {
            let refunded: i64 =
                inner.refunds.values().filter(|r| r.out_trade_no == out_trade_no).map(|r| r.amount_fen).sum();
            let Some(order) = inner.orders.get(&out_trade_no) else {
                drop(inner);
                return shared.refusal("400041", "订单不存在");
            };
            if order.pay_status != "0" || str_field(biz, "order_id") != order.order_id {
                drop(inner);
                return shared.refusal("400052", "订单未支付或工行订单号不符");
            }
            if amount <= 0 || refunded + amount > order.paid_fen {
                drop(inner);
                return shared.refusal("400053", "退款金额超过可退金额");
            }
            let record =
                FakeRefund { out_trade_no: out_trade_no.clone(), intrx_serial_no: intrx, amount_fen: amount, at: now };
            inner.refunds.insert(refund_no.clone(), record.clone());
            record
        }
    };
    let content = refund_content(shared, &refund_no, &record, msg_id);
    let notify_url = str_field(biz, "notify_url");
    if !notify_url.is_empty() {
        let mut note = content.clone();
        note["msg_id"] = Value::from(shared.next_serial("N"));
        let shared = shared.clone();
        tokio::spawn(async move { notify(&shared, &notify_url, REFUND_PATH, &note).await });
    }
    shared.answer(content)
}

fn refund_content(shared: &Shared, refund_no: &str, record: &FakeRefund, msg_id: &str) -> Value {
    json!({
        "return_code": 0,
        "return_msg": "success",
        "msg_id": msg_id,
        "mer_id": shared.mer_id,
        "out_trade_no": record.out_trade_no,
        "outtrx_serial_no": refund_no,
        "intrx_serial_no": record.intrx_serial_no,
        "real_reject_amt": record.amount_fen.to_string(),
        "reject_time": sign::shanghai_timestamp(record.at),
    })
}

fn refund_query(shared: &Shared, biz: &Value, msg_id: &str) -> Response {
    let refund_no = str_field(biz, "outtrx_serial_no");
    let record = shared.lock().refunds.get(&refund_no).cloned();
    match record {
        Some(record) => shared.answer(refund_content(shared, &refund_no, &record, msg_id)),
        None => shared.refusal("400042", "退款记录不存在"),
    }
}

fn statement(shared: &Shared, biz: &Value) -> Response {
    let bill_date = str_field(biz, "bill_date");
    let lines: Vec<Value> = shared
        .lock()
        .orders
        .values()
        .filter(|o| o.pay_status == "0" && pay_time(o.paid_at).starts_with(&bill_date))
        .map(|o| {
            json!({
                "out_trade_no": o.out_trade_no,
                "order_id": o.order_id,
                "total_amt": o.paid_fen.to_string(),
                "pay_time": pay_time(o.paid_at),
            })
        })
        .collect();
    shared.answer(json!({ "return_code": 0, "return_msg": "success", "bill_date": bill_date, "detail_list": lines }))
}

//! The ICBC adapters against the loopback fake gateway: the H5 cashier and its signed notification, query, close,
//! refunds, statement and 融e联 sign-in, and every refusal (foreign signature, unknown app, stale timestamp,
//! tampered content, wrong amount, unknown order, vendor error, timeout). Our RSA2 signature is cross-checked
//! against Python's `cryptography` (the oracle venv) computing the same string independently.

#![cfg(feature = "fakes")]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::domain::{Channel, CivilDate};
use app::platform::gateway::{
    Checkout, GatewayError, GatewayOrder, GatewayState, Notification, NotifyError, PaymentGateway, RefundNotification,
    RefundRequest, RefundState,
};
use app::platform::platform_identity::{PlatformIdentity, SignInError};
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use providers::fakes::icbc::{self, FakeIcbc};
use providers::icbc::sign::{self, SignType};
use providers::icbc::{IcbcPay, IcbcSignIn};

const APP_ID: &str = "10000000000004095503";
const MER_ID: &str = "020053010625";

/// What the app's notify routes received, as our adapter read it.
#[derive(Default)]
struct Inbox {
    payments: Vec<(Vec<u8>, Result<Notification, NotifyError>)>,
    refunds: Vec<Result<RefundNotification, NotifyError>>,
}

struct Setup {
    fake: FakeIcbc,
    pay: Arc<IcbcPay>,
    app_url: String,
    inbox: Arc<Mutex<Inbox>>,
    settings: HashMap<String, String>,
}

fn key_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("icbc-test-{}", hex::encode(rand::random::<[u8; 8]>())));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lookup(settings: &HashMap<String, String>) -> impl Fn(&str) -> Option<String> + '_ {
    |name| settings.get(name).cloned()
}

async fn setup() -> Setup {
    let keys = icbc::test_keys();
    let fake = FakeIcbc::start(APP_ID, MER_ID, keys.merchant.to_public_key()).await;
    let dir = key_dir();
    std::fs::write(dir.join("merchant.pem"), icbc::private_pem(&keys.merchant)).unwrap();
    std::fs::write(dir.join("gateway.pem"), icbc::public_pem(&fake.gateway_public_key())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let settings: HashMap<String, String> = [
        ("ICBC_APP_ID", APP_ID.to_string()),
        ("ICBC_MER_ID", MER_ID.to_string()),
        ("ICBC_PRIVATE_KEY_FILE", dir.join("merchant.pem").display().to_string()),
        ("ICBC_GATEWAY_PUBLIC_KEY_FILE", dir.join("gateway.pem").display().to_string()),
        ("ICBC_GATEWAY_URL", fake.url().to_string()),
        ("ICBC_SIGNIN_PATH", icbc::SIGNIN_PATH.to_string()),
        ("ICBC_TIMEOUT_SECS", "1".to_string()),
        ("APP_BASE_URL", app_url.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let pay = Arc::new(IcbcPay::from_lookup(lookup(&settings)).unwrap());
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let (pay_for_payments, inbox_for_payments) = (pay.clone(), inbox.clone());
    let (pay_for_refunds, inbox_for_refunds) = (pay.clone(), inbox.clone());
    let router = Router::new()
        .route(
            "/pay/notify/icbc",
            post(move |headers: HeaderMap, body: Bytes| async move {
                let result = pay_for_payments.verify(&headers, &body, app::platform::now());
                let answer = pay_for_payments.notification_answer(&body, result.is_ok()).body;
                inbox_for_payments.lock().unwrap().payments.push((body.to_vec(), result));
                answer
            }),
        )
        .route(
            "/pay/refund-notify/icbc",
            post(move |headers: HeaderMap, body: Bytes| async move {
                let result = pay_for_refunds.verify_refund(&headers, &body, app::platform::now());
                let answer = pay_for_refunds.notification_answer(&body, result.is_ok()).body;
                inbox_for_refunds.lock().unwrap().refunds.push(result);
                answer
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    Setup { fake, pay, app_url, inbox, settings }
}

impl Setup {
    fn order(&self, order_no: &str, amount_fen: i64) -> GatewayOrder {
        GatewayOrder {
            order_no: order_no.into(),
            amount_fen,
            subject: "交通违法罚款 <决定书>".into(),
            notify_url: format!("{}/pay/notify/icbc", self.app_url),
            return_url: format!("{}/pay/return", self.app_url),
            time_expire: app::platform::now() + 900,
            payer_uid: None,
        }
    }

    /// Creates the order and opens the cashier page as the browser would; returns the page.
    async fn open_cashier(&self, order: &GatewayOrder) -> String {
        let Checkout::Redirect(url) = self.pay.create(order).await.unwrap() else {
            panic!("ICBC checks out by redirect")
        };
        assert!(url.starts_with(&format!(
            "{}/ui/cardbusiness/aggregatepay/b2c/online/ui/consumepurchaseshowpay/V1?",
            self.fake.url()
        )));
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// Presses a cashier button; returns where the browser is sent.
    async fn press(&self, order_no: &str, action: &str) -> String {
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let response = browser
            .post(format!("{}/fake-cashier/confirm", self.fake.url()))
            .form(&[("out_trade_no", order_no), ("action", action)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        response.headers()["location"].to_str().unwrap().to_string()
    }

    fn last_payment(&self) -> (Vec<u8>, Result<Notification, NotifyError>) {
        let inbox = self.inbox.lock().unwrap();
        let (body, result) = inbox.payments.last().expect("a payment notification arrived");
        (body.clone(), result.clone())
    }

    fn with(&self, name: &str, value: &str) -> HashMap<String, String> {
        let mut settings = self.settings.clone();
        settings.insert(name.into(), value.into());
        settings
    }
}

fn order_no() -> String {
    format!("P{}", hex::encode(rand::random::<[u8; 6]>()))
}

/// A notification form like the gateway's, signed by `key` for the merchant's notify path.
fn notification(key: &rsa::RsaPrivateKey, app_id: &str, timestamp: i64, biz: &serde_json::Value) -> Vec<u8> {
    let mut params = BTreeMap::new();
    for (k, v) in
        [("from", "icbc-api"), ("api", "/ui/x/V1"), ("charset", "UTF-8"), ("format", "json"), ("sign_type", "RSA")]
    {
        params.insert(k.to_string(), v.to_string());
    }
    params.insert("app_id".into(), app_id.into());
    params.insert("timestamp".into(), sign::shanghai_timestamp(timestamp));
    params.insert("biz_content".into(), biz.to_string());
    let signature = sign::sign(key, SignType::Rsa, &sign::signing_string("/pay/notify/icbc", &params));
    params.insert("sign".into(), signature);
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter()).finish().into_bytes()
}

fn paid_biz(order_no: &str, amount: &str) -> serde_json::Value {
    serde_json::json!({
        "return_code": "0", "msg_id": "N1", "out_trade_no": order_no, "order_id": "ICBC1",
        "total_amt": amount, "pay_time": "20261203 10:00:00",
    })
}

#[test]
fn our_rsa2_signature_verifies_and_refuses_tampering_or_another_key() {
    let keys = icbc::test_keys();
    let text = "/api/x/V1?app_id=1&biz_content={\"a\":\"金额\"}&timestamp=2026-12-03 10:00:00";
    let signature = sign::sign(&keys.merchant, SignType::Rsa2, text);
    let public = keys.merchant.to_public_key();
    assert!(sign::verify(&public, SignType::Rsa2, text, &signature));
    assert!(!sign::verify(&public, SignType::Rsa, text, &signature), "RSA2 is SHA256, not SHA1");
    assert!(!sign::verify(&public, SignType::Rsa2, &text.replace('1', "2"), &signature));
    assert!(!sign::verify(&keys.stranger.to_public_key(), SignType::Rsa2, text, &signature));
}

#[test]
fn our_signing_string_and_rsa2_signature_match_an_independent_implementation() {
    let Some(python) = providers::fakes::oracle::python() else { return };
    let keys = icbc::test_keys();
    let params: BTreeMap<String, String> = [
        ("timestamp", "2026-12-03 10:00:00"),
        ("app_id", APP_ID),
        ("msg_id", "abc"),
        ("ca", ""),
        ("biz_content", r#"{"mer_id":"020053010625","out_trade_no":"P1","body":"罚款"}"#),
        ("sign_type", "RSA2"),
        ("charset", "UTF-8"),
        ("format", "json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let path = "/api/cardbusiness/aggregatepay/b2c/online/orderqry/V1";
    let ours = sign::sign(&keys.merchant, SignType::Rsa2, &sign::signing_string(path, &params));
    // Written from ICBC's signing guide: path, '?', non-empty parameters sorted by name, k=v joined by '&';
    // SHA256withRSA, PKCS#1 v1.5, base64.
    let script = r#"
import sys, json, base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
i = json.load(sys.stdin)
text = i["path"] + "?" + "&".join(k + "=" + v for k, v in sorted(i["params"].items()) if v != "" and k != "sign")
key = serialization.load_pem_private_key(i["key"].encode(), password=None)
sig = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
gw = serialization.load_pem_private_key(i["gateway"].encode(), password=None)
answer = gw.sign(i["answer"].encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())
print(json.dumps({"text": text, "sign": base64.b64encode(sig).decode(), "answer": base64.b64encode(answer).decode()}))
"#;
    let answer = r#"{"return_code":0,"return_msg":"成功","pay_status":"0"}"#;
    let input = serde_json::json!({
        "path": path, "params": params, "key": icbc::private_pem(&keys.merchant),
        "gateway": icbc::private_pem(&keys.gateway), "answer": answer,
    });
    let oracle = providers::fakes::oracle::run(&python, script, &input);
    assert_eq!(oracle["text"], sign::signing_string(path, &params));
    assert_eq!(oracle["sign"], ours);
    // The gateway's answers are SHA1withRSA (`RSA`): one signed independently verifies with our reading.
    let body = format!(r#"{{"response_biz_content":{answer},"sign":"{}"}}"#, oracle["answer"].as_str().unwrap());
    let (content, signature) = sign::split_signed_answer(&body).unwrap();
    assert!(sign::verify(&keys.gateway.to_public_key(), SignType::Rsa, content, signature));
}

#[tokio::test]
async fn our_answer_to_a_notification_verifies_by_the_rule_icbc_documents() {
    let Some(python) = providers::fakes::oracle::python() else { return };
    let s = setup().await;
    let body = notification(&icbc::test_keys().gateway, APP_ID, app::platform::now(), &paid_biz("P1", "100"));
    let answer = s.pay.notification_answer(&body, true).body;
    // 上行网关通知: the text after the first '{' and before ',"sign"' is what the merchant signs (RSA2).
    let script = r#"
import sys, json, base64
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
i = json.load(sys.stdin)
a = i["answer"]
signed = a[a.index("{") + 1:a.rindex(',"sign"')]
sig = base64.b64decode(json.loads(a)["sign"])
key = serialization.load_pem_public_key(i["key"].encode())
try:
    key.verify(sig, signed.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    ok = True
except Exception:
    ok = False
print(json.dumps({"ok": ok, "biz": json.loads(a)["response_biz_content"], "sign_type": json.loads(a)["sign_type"]}))
"#;
    let input =
        serde_json::json!({ "answer": answer, "key": icbc::public_pem(&icbc::test_keys().merchant.to_public_key()) });
    let oracle = providers::fakes::oracle::run(&python, script, &input);
    assert_eq!(oracle["ok"], true, "{answer}");
    assert_eq!(oracle["sign_type"], "RSA2");
    assert_eq!(oracle["biz"]["return_code"], 0);
    assert_eq!(oracle["biz"]["msg_id"], "N1", "the answer echoes the notification's msg_id");
}

#[tokio::test]
async fn a_payment_at_the_h5_cashier_is_notified_verified_queried_stated_and_refunded() {
    let s = setup().await;
    let no = order_no();
    let order = s.order(&no, 20_000);
    let page = s.open_cashier(&order).await;
    assert!(page.contains("200.00") && page.contains("确认支付"), "{page}");
    assert!(page.contains("&lt;决定书&gt;"), "the subject is escaped: {page}");
    assert_eq!(s.press(&no, "pay").await, order.return_url);

    let (_, notified) = s.last_payment();
    let notified = notified.expect("the gateway's notification verifies");
    assert!(notified.paid && notified.order_no == no && notified.amount_fen == 20_000, "{notified:?}");
    assert!(!notified.txn_id.is_empty() && notified.paid_at.is_some());
    assert!(s.fake.order(&no).unwrap().acknowledged, "the gateway accepted our signed answer");

    let GatewayState::Paid { txn_id, amount_fen, paid_at } = s.pay.query(&no).await.unwrap() else { panic!("paid") };
    assert_eq!((txn_id.as_str(), amount_fen, Some(paid_at)), (notified.txn_id.as_str(), 20_000, notified.paid_at));
    // Closing a paid order leaves it paid.
    assert!(matches!(s.pay.close(&no).await.unwrap(), GatewayState::Paid { .. }));

    let today = CivilDate::shanghai_today_from_epoch(paid_at);
    let lines = s.pay.daily_statement(today).await.unwrap();
    assert!(lines
        .iter()
        .any(|l| l.order_no == no && l.txn_id == txn_id && l.amount_fen == 20_000 && l.paid_at == paid_at));
    let yesterday = today.checked_add_days(-1).unwrap();
    assert!(s.pay.daily_statement(yesterday).await.unwrap().iter().all(|l| l.order_no != no));

    let refund = RefundRequest {
        refund_no: format!("R{no}"),
        order_no: no.clone(),
        txn_id: txn_id.clone(),
        refund_fen: 5_000,
        total_fen: 20_000,
        reason: "重复缴费".into(),
        notify_url: format!("{}/pay/refund-notify/icbc", s.app_url),
    };
    assert!(matches!(s.pay.refund(&refund).await.unwrap(), RefundState::Succeeded { .. }));
    // The same refund number again refunds once.
    assert!(matches!(s.pay.refund(&refund).await.unwrap(), RefundState::Succeeded { .. }));
    assert!(matches!(s.pay.query_refund(&refund.refund_no).await.unwrap(), RefundState::Succeeded { .. }));
    let too_much = RefundRequest { refund_no: format!("S{no}"), refund_fen: 15_001, ..refund.clone() };
    assert!(matches!(s.pay.refund(&too_much).await, Err(GatewayError::Rejected(_))));
    for _ in 0..50 {
        if !s.inbox.lock().unwrap().refunds.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refunds = &s.inbox.lock().unwrap().refunds;
    let notified = refunds.first().expect("a refund notification").as_ref().expect("it verifies");
    assert_eq!((notified.refund_no.as_str(), notified.order_no.as_str()), (refund.refund_no.as_str(), no.as_str()));
    assert!(matches!(notified.state, RefundState::Succeeded { .. }));
}

#[tokio::test]
async fn a_cancelled_payment_is_notified_unpaid_and_an_unpaid_order_closes() {
    let s = setup().await;
    let cancelled = order_no();
    s.open_cashier(&s.order(&cancelled, 100)).await;
    s.press(&cancelled, "cancel").await;
    let notified = s.last_payment().1.unwrap();
    assert!(!notified.paid && notified.txn_id.is_empty() && notified.order_no == cancelled);
    assert_eq!(s.pay.query(&cancelled).await.unwrap(), GatewayState::Cancelled);

    let open = order_no();
    s.open_cashier(&s.order(&open, 100)).await;
    assert_eq!(s.pay.query(&open).await.unwrap(), GatewayState::Pending);
    assert_eq!(s.pay.close(&open).await.unwrap(), GatewayState::Closed);
    assert!(!s.fake.settle(&open, true).await, "a closed order cannot be paid");
    assert_eq!(s.pay.query(&open).await.unwrap(), GatewayState::Closed);
}

#[tokio::test]
async fn a_payment_of_another_amount_is_reported_as_paid_so_the_app_can_refuse_it() {
    let s = setup().await;
    s.fake.pay_amount(Some(1));
    let no = order_no();
    s.open_cashier(&s.order(&no, 20_000)).await;
    s.press(&no, "pay").await;
    let notified = s.last_payment().1.unwrap();
    assert_eq!(notified.amount_fen, 1, "the amount the gateway took, not the order's");
    assert!(matches!(s.pay.query(&no).await.unwrap(), GatewayState::Paid { amount_fen: 1, .. }));
}

#[tokio::test]
async fn unknown_orders_and_refunds_are_not_found() {
    let s = setup().await;
    assert_eq!(s.pay.query("NOPE").await.unwrap(), GatewayState::NotFound);
    assert_eq!(s.pay.close("NOPE").await.unwrap(), GatewayState::NotFound);
    assert_eq!(s.pay.query_refund("NOPE").await.unwrap(), RefundState::NotFound);
}

#[tokio::test]
async fn a_vendor_error_is_a_rejection_and_a_stall_a_timeout() {
    let s = setup().await;
    s.fake.fail_next("500020", "非法调用");
    let Err(GatewayError::Rejected(why)) = s.pay.query("ANY").await else { panic!("a vendor error is a rejection") };
    assert!(why.contains("500020"), "{why}");

    s.fake.stall(Some(Duration::from_millis(1500)));
    let Err(GatewayError::Unreachable(why)) = s.pay.query("ANY").await else { panic!("a stall times out") };
    assert!(why.contains("timed out"), "{why}");
    s.fake.stall(None);
    assert_eq!(s.pay.query("ANY").await.unwrap(), GatewayState::NotFound);
}

#[tokio::test]
async fn answers_and_notifications_signed_with_another_key_are_refused() {
    let s = setup().await;
    let no = order_no();
    s.open_cashier(&s.order(&no, 300)).await;
    s.fake.sign_foreign(true);
    assert!(matches!(s.pay.query(&no).await, Err(GatewayError::BadSignature)));
    assert!(!s.fake.settle(&no, true).await, "our refusal is not an acknowledgement");
    assert_eq!(s.last_payment().1, Err(NotifyError::BadSignature));
}

#[tokio::test]
async fn another_apps_calls_and_notifications_are_refused() {
    let s = setup().await;
    let other = IcbcPay::from_lookup(lookup(&s.with("ICBC_APP_ID", "10000000000000000001"))).unwrap();
    let Err(GatewayError::Rejected(why)) = other.query("ANY").await else { panic!("the gateway knows no such app") };
    assert!(why.contains("400012"), "{why}");

    let body =
        notification(&icbc::test_keys().gateway, "10000000000000000001", app::platform::now(), &paid_biz("P1", "100"));
    assert_eq!(s.pay.verify(&HeaderMap::new(), &body, app::platform::now()), Err(NotifyError::BadSignature));
}

#[tokio::test]
async fn stale_tampered_or_unsigned_notifications_are_refused() {
    let s = setup().await;
    let gateway = &icbc::test_keys().gateway;
    let now = app::platform::now();
    let genuine = notification(gateway, APP_ID, now, &paid_biz("P1", "100"));
    assert_eq!(s.pay.verify(&HeaderMap::new(), &genuine, now).unwrap().amount_fen, 100);
    assert_eq!(s.pay.verify(&HeaderMap::new(), &genuine, now + 301), Err(NotifyError::Stale));
    assert_eq!(s.pay.verify(&HeaderMap::new(), &genuine, now - 301), Err(NotifyError::Stale));

    let tampered = String::from_utf8(genuine.clone()).unwrap().replace("%22100%22", "%221%22");
    assert_ne!(tampered.as_bytes(), genuine.as_slice(), "the amount was found and changed");
    assert_eq!(s.pay.verify(&HeaderMap::new(), tampered.as_bytes(), now), Err(NotifyError::BadSignature));

    let unsigned: String = String::from_utf8(genuine.clone())
        .unwrap()
        .split('&')
        .filter(|p| !p.starts_with("sign="))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(s.pay.verify(&HeaderMap::new(), unsigned.as_bytes(), now), Err(NotifyError::Unsigned));

    let forged = notification(&icbc::test_keys().stranger, APP_ID, now, &paid_biz("P1", "100"));
    assert_eq!(s.pay.verify(&HeaderMap::new(), &forged, now), Err(NotifyError::BadSignature));

    // A paid notification without the gateway's order number or pay time is not a payment.
    let mut incomplete = paid_biz("P1", "100");
    incomplete.as_object_mut().unwrap().remove("order_id");
    let body = notification(gateway, APP_ID, now, &incomplete);
    assert_eq!(s.pay.verify(&HeaderMap::new(), &body, now), Err(NotifyError::Malformed));
    let body = notification(gateway, APP_ID, now, &paid_biz("P1", "1.00"));
    assert_eq!(s.pay.verify(&HeaderMap::new(), &body, now), Err(NotifyError::Malformed), "amounts are fen digits");
}

#[tokio::test]
async fn the_fake_gateway_refuses_forged_stale_and_replayed_requests() {
    let s = setup().await;
    let merchant = &icbc::test_keys().merchant;
    let path = "/api/cardbusiness/aggregatepay/b2c/online/orderqry/V1";
    let call = |timestamp: i64, msg_id: &str, tamper: bool| {
        let mut params = BTreeMap::new();
        for (k, v) in
            [("app_id", APP_ID), ("format", "json"), ("charset", "UTF-8"), ("sign_type", "RSA2"), ("msg_id", msg_id)]
        {
            params.insert(k.to_string(), v.to_string());
        }
        params.insert("timestamp".into(), sign::shanghai_timestamp(timestamp));
        params.insert(
            "biz_content".into(),
            format!(r#"{{"mer_id":"{MER_ID}","out_trade_no":"X","icbc_appid":"{APP_ID}"}}"#),
        );
        let signature = sign::sign(merchant, SignType::Rsa2, &sign::signing_string(path, &params));
        params.insert("sign".into(), signature);
        if tamper {
            params.insert(
                "biz_content".into(),
                format!(r#"{{"mer_id":"{MER_ID}","out_trade_no":"Y","icbc_appid":"{APP_ID}"}}"#),
            );
        }
        let url = format!("{}{path}", s.fake.url());
        async move { reqwest::Client::new().post(url).form(&params).send().await.unwrap().text().await.unwrap() }
    };
    let now = app::platform::now();
    assert!(call(now, "m1", false).await.contains("订单不存在"), "a genuine call reaches the API");
    assert!(call(now, "m1", false).await.contains("msg_id重复"));
    assert!(call(now, "m2", true).await.contains("验签失败"));
    assert!(call(now - 600, "m3", false).await.contains("时间戳超时"));
}

#[tokio::test]
async fn a_rong_e_lian_code_signs_its_user_in_once() {
    let s = setup().await;
    let signin = IcbcSignIn::from_lookup(lookup(&s.settings)).unwrap();
    s.fake.issue_code("code-1", "1037667612");
    let user = signin.exchange(Channel::Icbc, "code-1").await.unwrap();
    assert_eq!((user.channel, user.uid.as_str()), (Channel::Icbc, "1037667612"));
    assert_eq!(signin.exchange(Channel::Icbc, "code-1").await, Err(SignInError::InvalidCode), "codes are one-time");
    s.fake.issue_code("code-2", "u2");
    assert_eq!(signin.exchange(Channel::Wechat, "code-2").await, Err(SignInError::InvalidCode));
    assert_eq!(signin.exchange(Channel::Icbc, "").await, Err(SignInError::InvalidCode));

    s.fake.sign_foreign(true);
    assert_eq!(signin.exchange(Channel::Icbc, "code-2").await, Err(SignInError::NotConfigured));
    s.fake.sign_foreign(false);
    s.fake.stall(Some(Duration::from_millis(1500)));
    assert_eq!(signin.exchange(Channel::Icbc, "code-2").await, Err(SignInError::NotConfigured));
}

#[tokio::test]
async fn settings_are_required_named_and_never_printed() {
    let s = setup().await;
    let err = |settings: HashMap<String, String>| IcbcPay::from_lookup(lookup(&settings)).unwrap_err().to_string();
    let mut without_app = s.settings.clone();
    without_app.remove("ICBC_APP_ID");
    assert!(err(without_app).contains("ICBC_APP_ID"));
    let mut without_mer = s.settings.clone();
    without_mer.remove("ICBC_MER_ID");
    assert!(err(without_mer).contains("ICBC_MER_ID"));
    assert!(err(s.with("ICBC_PRIVATE_KEY_FILE", "/nonexistent/key.pem")).contains("ICBC_PRIVATE_KEY_FILE"));
    assert!(err(s.with("ICBC_GATEWAY_URL", "gw.open.icbc.com.cn")).contains("ICBC_GATEWAY_URL"));
    assert!(err(s.with("ICBC_TIMEOUT_SECS", "0")).contains("ICBC_TIMEOUT_SECS"));

    // A 1024-bit merchant key is too small for RSA2.
    let dir = key_dir();
    std::fs::write(dir.join("small.pem"), icbc::private_pem(&icbc::test_keys().stranger)).unwrap();
    let small = err(s.with("ICBC_PRIVATE_KEY_FILE", &dir.join("small.pem").display().to_string()));
    assert!(small.contains("ICBC_PRIVATE_KEY_FILE") && small.contains("1024"), "{small}");

    let mut without_path = s.settings.clone();
    without_path.remove("ICBC_SIGNIN_PATH");
    assert!(IcbcSignIn::from_lookup(lookup(&without_path)).unwrap_err().to_string().contains("ICBC_SIGNIN_PATH"));

    let debug = format!("{:?}", s.pay);
    assert!(debug.contains("redacted") && !debug.contains("BEGIN"), "{debug}");
}

//! The WeChat Pay API v3 adapter against the loopback fake, and both cross-checked against `wechatpayv3` (PyPI).

use std::time::Duration;

use app::domain::CivilDate;
use app::platform::gateway::{
    Checkout, GatewayError, GatewayOrder, GatewayState, JsApiParams, NotifyError, PaymentGateway, RefundRequest,
    RefundState,
};
use app::platform::now;
use axum::http::{HeaderMap, HeaderValue};
use providers::fakes::oracle;
use providers::fakes::wechat_pay::{test_key, FakeWechatPay, Fault, Merchant, PUBLIC_KEY_ID};
use providers::wechat_pay::sign::{self, ApiV3Key, PlatformKeys};
use providers::wechat_pay::{Settings, WechatPay};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const MCHID: &str = "1900000109";
const APPID: &str = "wxd678efh567hg6787";
const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const APIV3_KEY: &str = "a12d3924fd499edac8a5efc0123456ab";
const MERCHANT_SLOT: usize = 1;
const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// A fake WeChat Pay, the adapter pointed at it, and a notify URL whose deliveries arrive on `notified`.
struct Rig {
    fake: FakeWechatPay,
    pay: WechatPay,
    notify_url: String,
    notified: mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>,
}

async fn rig() -> Rig {
    rig_with(|_| {}).await
}

async fn rig_with(adjust: impl FnOnce(&mut Settings)) -> Rig {
    let merchant = test_key(MERCHANT_SLOT);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = FakeWechatPay::start(
        listener,
        Merchant {
            mchid: MCHID.into(),
            appid: APPID.into(),
            serial: SERIAL.into(),
            public_key: merchant.public.clone(),
            apiv3_key: APIV3_KEY.into(),
        },
    );
    let mut settings = Settings {
        mchid: MCHID.into(),
        appid: APPID.into(),
        merchant_serial: SERIAL.into(),
        merchant_key: merchant.private.clone(),
        apiv3_key: ApiV3Key::new(APIV3_KEY).unwrap(),
        platform: fake.platform_keys(),
        base_url: fake.base_url().to_string(),
        timeout: Duration::from_secs(2),
    };
    adjust(&mut settings);
    let (tx, notified) = mpsc::unbounded_channel();
    let receiver = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body.to_vec()));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let notify_url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    Rig { fake, pay: WechatPay::new(settings), notify_url, notified }
}

impl Rig {
    fn order(&self, no: &str, fen: i64) -> GatewayOrder {
        GatewayOrder {
            order_no: no.into(),
            amount_fen: fen,
            subject: "交通违法罚款 辽B12345".into(),
            notify_url: self.notify_url.clone(),
            return_url: "https://jt.example.cn/fines/result".into(),
            time_expire: now() + 900,
            payer_uid: Some(OPENID.into()),
        }
    }

    async fn js_params(&self, no: &str, fen: i64) -> JsApiParams {
        match self.pay.create(&self.order(no, fen)).await.expect("order placed") {
            Checkout::JsApi(params) => params,
            other => panic!("JSAPI payment expected, got {other:?}"),
        }
    }

    /// What the WeChat client does with the page's `getBrandWCPayRequest`.
    async fn bridge(&self, params: &JsApiParams) -> String {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/fake/jsapi/pay", self.fake.base_url()))
            .json(params)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["err_msg"].as_str().unwrap().to_string()
    }

    async fn next_notification(&mut self) -> (HeaderMap, Vec<u8>) {
        tokio::time::timeout(Duration::from_secs(5), self.notified.recv()).await.expect("a notification").unwrap()
    }
}

#[tokio::test]
async fn a_jsapi_payment_is_notified_queried_billed_and_refunded() {
    let mut rig = rig().await;
    let params = rig.js_params("DL20261202000001", 20_000).await;
    assert_eq!((params.app_id.as_str(), params.sign_type.as_str()), (APPID, "RSA"));
    assert!(params.package.starts_with("prepay_id=wx"), "{}", params.package);
    assert_eq!(rig.pay.query("DL20261202000001").await.unwrap(), GatewayState::Pending);
    // Ordering again with the same number is the same order, not a second charge.
    let again = rig.js_params("DL20261202000001", 20_000).await;
    assert_eq!(again.package, params.package);

    assert_eq!(rig.bridge(&params).await, "get_brand_wcpay_request:ok");
    let (headers, body) = rig.next_notification().await;
    let notification = rig.pay.verify(&headers, &body, now()).expect("a genuine notification verifies");
    assert_eq!(
        (notification.order_no.as_str(), notification.amount_fen, notification.paid),
        ("DL20261202000001", 20_000, true)
    );
    let txn = notification.txn_id.clone();
    assert!(txn.starts_with("42000"), "{txn}");
    let GatewayState::Paid { txn_id, amount_fen, .. } = rig.pay.query("DL20261202000001").await.unwrap() else {
        panic!("paid")
    };
    assert_eq!((txn_id.as_str(), amount_fen), (txn.as_str(), 20_000));
    // A paid order cannot be closed; close says it is paid.
    assert!(matches!(rig.pay.close("DL20261202000001").await.unwrap(), GatewayState::Paid { .. }));
    // The same delivery replayed verifies with the same nonce, which the app refuses as seen.
    assert_eq!(rig.pay.verify(&headers, &body, now()).unwrap().nonce, notification.nonce);

    let statement = rig.pay.daily_statement(CivilDate::shanghai_today_from_epoch(now())).await.unwrap();
    assert_eq!(statement.len(), 1);
    assert_eq!(
        (statement[0].order_no.as_str(), statement[0].txn_id.as_str(), statement[0].amount_fen),
        ("DL20261202000001", txn.as_str(), 20_000)
    );
    let yesterday = CivilDate::shanghai_today_from_epoch(now() - 86_400);
    assert_eq!(rig.pay.daily_statement(yesterday).await.unwrap(), vec![], "no bill: no payments that day");

    let refund = RefundRequest {
        refund_no: "RF20261202000001".into(),
        order_no: "DL20261202000001".into(),
        txn_id: txn.clone(),
        refund_fen: 20_000,
        total_fen: 20_000,
        reason: "重复缴款".into(),
        notify_url: rig.notify_url.clone(),
    };
    assert!(matches!(rig.pay.refund(&refund).await.unwrap(), RefundState::Processing { .. }));
    assert!(
        matches!(
            rig.pay.refund(&refund).await.unwrap(),
            RefundState::Processing { .. } | RefundState::Succeeded { .. }
        ),
        "a retried refund is the same refund"
    );
    let (headers, body) = rig.next_notification().await;
    let refunded = rig.pay.verify_refund(&headers, &body, now()).expect("the refund notification verifies");
    assert_eq!((refunded.refund_no.as_str(), refunded.order_no.as_str()), ("RF20261202000001", "DL20261202000001"));
    assert!(matches!(refunded.state, RefundState::Succeeded { .. }));
    assert!(matches!(rig.pay.query_refund("RF20261202000001").await.unwrap(), RefundState::Succeeded { .. }));
    assert_eq!(rig.pay.query_refund("RF-UNKNOWN-0001").await.unwrap(), RefundState::NotFound);
    // A second refund beyond what was paid is refused by WeChat Pay.
    let more = RefundRequest { refund_no: "RF20261202000002".into(), refund_fen: 1, ..refund };
    assert!(matches!(rig.pay.refund(&more).await, Err(GatewayError::Rejected(e)) if e.contains("NOT_ENOUGH")));
    // A payment notification is not a refund notification, nor the other way round.
    let (headers, body) = (headers.clone(), body.clone());
    assert_eq!(rig.pay.verify(&headers, &body, now()).unwrap_err(), NotifyError::Malformed);
}

#[tokio::test]
async fn unknown_orders_closing_and_expiry_follow_wechat() {
    let rig = rig().await;
    assert_eq!(rig.pay.query("DL-NEVER-PLACED").await.unwrap(), GatewayState::NotFound);
    let params = rig.js_params("DL20261202000002", 500).await;
    assert_eq!(rig.pay.close("DL20261202000002").await.unwrap(), GatewayState::Closed);
    assert_eq!(rig.pay.query("DL20261202000002").await.unwrap(), GatewayState::Closed);
    assert_eq!(rig.bridge(&params).await, "get_brand_wcpay_request:fail", "a closed order cannot be paid");
    // The same number with another amount is a different order: refused.
    rig.js_params("DL20261202000003", 500).await;
    let changed = rig.pay.create(&rig.order("DL20261202000003", 600)).await;
    assert!(matches!(changed, Err(GatewayError::Rejected(e)) if e.contains("INVALID_REQUEST")));
    // Without the payer's openid there is no JSAPI order.
    let anonymous = GatewayOrder { payer_uid: None, ..rig.order("DL20261202000004", 500) };
    assert!(matches!(rig.pay.create(&anonymous).await, Err(GatewayError::Rejected(_))));
}

#[tokio::test]
async fn the_bridge_refuses_a_forged_pay_sign() {
    let rig = rig().await;
    let mut params = rig.js_params("DL20261202000005", 800).await;
    params.pay_sign =
        sign::pay_sign(&test_key(7).private, &params.app_id, &params.time_stamp, &params.nonce_str, &params.package);
    assert_eq!(rig.bridge(&params).await, "get_brand_wcpay_request:fail");
    assert_eq!(rig.pay.query("DL20261202000005").await.unwrap(), GatewayState::Pending);
}

#[tokio::test]
async fn forged_stale_probing_and_tampered_notifications_are_refused() {
    let mut rig = rig().await;
    let params = rig.js_params("DL20261202000006", 1_000).await;
    assert_eq!(rig.bridge(&params).await, "get_brand_wcpay_request:ok");
    let (headers, body) = rig.next_notification().await;
    assert!(rig.pay.verify(&headers, &body, now()).is_ok());

    let text = String::from_utf8(body.clone()).unwrap();
    let tampered = text.replacen("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS ", 1);
    assert_eq!(rig.pay.verify(&headers, tampered.as_bytes(), now()).unwrap_err(), NotifyError::BadSignature);

    let mut probe = headers.clone();
    probe
        .insert("wechatpay-signature", HeaderValue::from_static("WECHATPAY/SIGNTEST/d2VjaGF0cGF5IHNpZ25hdHVyZSB0ZXN0"));
    assert_eq!(rig.pay.verify(&probe, &body, now()).unwrap_err(), NotifyError::BadSignature, "WeChat's probe");

    let mut unknown = headers.clone();
    unknown.insert("wechatpay-serial", HeaderValue::from_static("PUB_KEY_ID_0199999999999999999999999999999999"));
    assert_eq!(rig.pay.verify(&unknown, &body, now()).unwrap_err(), NotifyError::BadSignature);

    assert_eq!(rig.pay.verify(&headers, &body, now() + 301).unwrap_err(), NotifyError::Stale);
    let mut unsigned = headers.clone();
    unsigned.remove("wechatpay-signature");
    assert_eq!(rig.pay.verify(&unsigned, &body, now()).unwrap_err(), NotifyError::Unsigned);

    // A correctly signed envelope whose ciphertext was altered (or sealed with another APIv3 key) does not open.
    let mut envelope: Value = serde_json::from_slice(&body).unwrap();
    let ciphertext = envelope["resource"]["ciphertext"].as_str().unwrap().to_string();
    let flipped =
        if ciphertext.starts_with('A') { ciphertext.replacen('A', "B", 1) } else { format!("A{}", &ciphertext[1..]) };
    envelope["resource"]["ciphertext"] = json!(flipped);
    let resealed = envelope.to_string();
    let headers = rig.fake.signed_headers(&resealed, now());
    assert_eq!(rig.pay.verify(&headers, resealed.as_bytes(), now()).unwrap_err(), NotifyError::BadSignature);
    let foreign = ApiV3Key::new("ffffffffffffffffffffffffffffffff").unwrap();
    let mut envelope: Value = serde_json::from_slice(&body).unwrap();
    envelope["resource"]["ciphertext"] =
        json!(foreign.encrypt(b"{}", envelope["resource"]["nonce"].as_str().unwrap(), "transaction"));
    let foreign_body = envelope.to_string();
    let headers = rig.fake.signed_headers(&foreign_body, now());
    assert_eq!(rig.pay.verify(&headers, foreign_body.as_bytes(), now()).unwrap_err(), NotifyError::BadSignature);
}

#[tokio::test]
async fn a_notified_amount_is_reported_as_notified_for_the_app_to_compare() {
    let mut rig = rig().await;
    rig.fake.set_fault(Fault::WrongNotifiedAmount);
    let params = rig.js_params("DL20261202000007", 1_000).await;
    assert_eq!(rig.bridge(&params).await, "get_brand_wcpay_request:ok");
    let (headers, body) = rig.next_notification().await;
    // The adapter passes on what WeChat said; payments refuses an amount that is not the order's.
    assert_eq!(rig.pay.verify(&headers, &body, now()).unwrap().amount_fen, 1_001);
}

#[tokio::test]
async fn bad_answers_and_vendor_errors_are_not_trusted() {
    let rig = rig().await;
    rig.js_params("DL20261202000008", 1_000).await;
    let query = || rig.pay.query("DL20261202000008");

    rig.fake.set_fault(Fault::BadAnswerSignature);
    assert!(matches!(query().await, Err(GatewayError::BadSignature)));
    rig.fake.set_fault(Fault::UnknownAnswerSerial);
    assert!(matches!(query().await, Err(GatewayError::BadSignature)));
    rig.fake.set_fault(Fault::StaleAnswer);
    assert!(matches!(query().await, Err(GatewayError::Rejected(_))));
    rig.fake.set_fault(Fault::Error { status: 500, code: "SYSTEM_ERROR".into(), message: "系统错误".into() });
    assert!(matches!(query().await, Err(GatewayError::Unreachable(e)) if e.contains("SYSTEM_ERROR")));
    rig.fake.set_fault(Fault::Error { status: 429, code: "FREQUENCY_LIMITED".into(), message: "频率超限".into() });
    assert!(matches!(query().await, Err(GatewayError::Unreachable(_))), "rate limits are worth retrying");
    rig.fake.set_fault(Fault::Error { status: 403, code: "NO_AUTH".into(), message: "商户无权限".into() });
    assert!(matches!(query().await, Err(GatewayError::Rejected(e)) if e.contains("NO_AUTH")));
    rig.fake.set_fault(Fault::Stall);
    let started = std::time::Instant::now();
    assert!(matches!(query().await, Err(GatewayError::Unreachable(_))), "a stalled WeChat Pay times out");
    assert!(started.elapsed() < Duration::from_secs(10));
    rig.fake.set_fault(Fault::None);
    assert_eq!(query().await.unwrap(), GatewayState::Pending);

    let mut rig = rig;
    let params = rig.js_params("DL20261202000009", 1_000).await;
    assert_eq!(rig.bridge(&params).await, "get_brand_wcpay_request:ok");
    rig.next_notification().await;
    rig.fake.set_fault(Fault::TamperBill);
    let today = CivilDate::shanghai_today_from_epoch(now());
    assert!(matches!(rig.pay.daily_statement(today).await, Err(GatewayError::Rejected(e)) if e.contains("SHA1")));
}

#[tokio::test]
async fn calls_signed_with_another_key_or_serial_are_refused_by_wechat() {
    let rig = rig_with(|s| s.merchant_key = test_key(7).private).await;
    let refused = rig.pay.create(&rig.order("DL20261202000010", 1_000)).await;
    assert!(matches!(refused, Err(GatewayError::Rejected(e)) if e.contains("SIGN_ERROR")), "wrong merchant key");
    let rig = rig_with(|s| s.merchant_serial = "0000".into()).await;
    assert!(
        matches!(rig.pay.query("DL20261202000010").await, Err(GatewayError::Rejected(e)) if e.contains("SIGN_ERROR"))
    );
    // Answers verified against keys we were not given are not trusted, whatever they say.
    let rig = rig_with(|s| {
        let mut other = PlatformKeys::default();
        other.insert(PUBLIC_KEY_ID, test_key(7).public);
        s.platform = other;
    })
    .await;
    assert!(matches!(rig.pay.create(&rig.order("DL20261202000011", 1_000)).await, Err(GatewayError::BadSignature)));
    // A refusal we cannot verify is not believed either: it may be a proxy's, so it reads as unreachable.
    assert!(matches!(rig.pay.query("DL-NEVER-PLACED").await, Err(GatewayError::Unreachable(_))));
}

#[test]
fn settings_name_what_is_missing_and_read_keys_from_files() {
    let dir = std::env::temp_dir().join(format!("wxpay-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (merchant, platform) = (test_key(MERCHANT_SLOT), test_key(0));
    std::fs::write(dir.join("apiclient_key.pem"), &merchant.private_pem).unwrap();
    std::fs::write(dir.join("pub_key.pem"), &platform.public_pem).unwrap();
    let full = |key: &str| -> Option<String> {
        Some(match key {
            "WECHATPAY_MCHID" => MCHID.into(),
            "WECHAT_APP_ID" => APPID.into(),
            "WECHATPAY_MERCHANT_SERIAL" => SERIAL.into(),
            "WECHATPAY_MERCHANT_KEY_FILE" => dir.join("apiclient_key.pem").display().to_string(),
            "WECHATPAY_APIV3_KEY" => APIV3_KEY.into(),
            "WECHATPAY_PUBLIC_KEY_ID" => PUBLIC_KEY_ID.into(),
            "WECHATPAY_PUBLIC_KEY_FILE" => dir.join("pub_key.pem").display().to_string(),
            _ => return None,
        })
    };
    assert!(WechatPay::from_lookup(full).is_ok());
    for (missing, named) in [
        ("WECHATPAY_MCHID", "WECHATPAY_MCHID"),
        ("WECHATPAY_MERCHANT_KEY_FILE", "WECHATPAY_MERCHANT_KEY_FILE"),
        ("WECHATPAY_PUBLIC_KEY_ID", "WECHATPAY_PUBLIC_KEY_FILE"),
        ("WECHAT_APP_ID", "WECHATPAY_APPID"),
    ] {
        let err = WechatPay::from_lookup(|k| if k == missing { None } else { full(k) }).unwrap_err().to_string();
        assert!(err.contains(named), "without {missing}: {err}");
    }
    let short_key = WechatPay::from_lookup(|k| if k == "WECHATPAY_APIV3_KEY" { Some("short".into()) } else { full(k) });
    assert!(short_key.unwrap_err().to_string().contains("WECHATPAY_APIV3_KEY"));
    let not_a_key = WechatPay::from_lookup(|k| {
        if k == "WECHATPAY_MERCHANT_KEY_FILE" {
            Some(dir.join("pub_key.pem").display().to_string())
        } else {
            full(k)
        }
    });
    assert!(not_a_key.unwrap_err().to_string().contains("WECHATPAY_MERCHANT_KEY_FILE"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wechatpayv3` on the same inputs: our request signatures and paySign are its, it opens the fake's
/// notifications, our decryption opens what its crypto library seals, and as a client it pays through the fake.
#[tokio::test]
async fn wechatpayv3_agrees_with_the_adapter_and_the_fake() {
    let Some(python) = oracle::python() else { return };
    let mut rig = rig().await;
    let merchant = test_key(MERCHANT_SLOT);
    let (timestamp, nonce) = (now(), sign::nonce());
    let body = r#"{"mchid":"1900000109","out_trade_no":"DL1"}"#;
    let authorization = sign::authorization(
        &merchant.private,
        MCHID,
        SERIAL,
        "POST",
        "/v3/pay/transactions/jsapi",
        body,
        timestamp,
        &nonce,
    );
    let params = rig.js_params("DL20261202000011", 2_000).await;
    assert_eq!(rig.bridge(&params).await, "get_brand_wcpay_request:ok");
    let (headers, notification) = rig.next_notification().await;
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_string();
    let sealed_nonce = "0123456789ab";
    let input = json!({
        "private_key": merchant.private_pem,
        "platform_public_key": test_key(0).public_pem,
        "public_key_id": PUBLIC_KEY_ID,
        "mchid": MCHID, "appid": APPID, "serial": SERIAL, "apiv3_key": APIV3_KEY,
        "sign_str": sign::message(&["POST", "/v3/pay/transactions/jsapi", &timestamp.to_string(), &nonce, body]),
        "pay": [params.app_id, params.time_stamp, params.nonce_str, params.package],
        "headers": {
            "Wechatpay-Signature": header("wechatpay-signature"), "Wechatpay-Timestamp": header("wechatpay-timestamp"),
            "Wechatpay-Nonce": header("wechatpay-nonce"), "Wechatpay-Serial": header("wechatpay-serial"),
            "Wechatpay-Signature-Type": header("wechatpay-signature-type"),
        },
        "notification": String::from_utf8(notification.clone()).unwrap(),
        "plaintext": r#"{"out_trade_no":"DL1","amount":{"total":1}}"#,
        "sealed_nonce": sealed_nonce,
        "gateway": rig.fake.base_url(),
        "notify_url": rig.notify_url,
    });
    // The SDK calls the fake, which this runtime serves: run the blocking oracle off it.
    let answer = {
        let input = input.clone();
        tokio::task::spawn_blocking(move || oracle::run(&python, ORACLE, &input)).await.unwrap()
    };

    let signature = sign::parse_authorization(&authorization).unwrap().signature;
    assert_eq!(answer["request_signature"], json!(signature), "request signature");
    assert_eq!(answer["pay_sign"], json!(params.pay_sign), "paySign");
    let opened = &answer["callback"]["resource"];
    assert_eq!(
        (opened["out_trade_no"].as_str(), opened["amount"]["total"].as_i64()),
        (Some("DL20261202000011"), Some(2_000))
    );
    assert_eq!(answer["callback"]["event_type"], json!("TRANSACTION.SUCCESS"));
    assert_eq!(answer["tampered_callback"], Value::Null, "the SDK refuses what we refuse");
    let sealed = answer["sealed"].as_str().unwrap();
    let key = ApiV3Key::new(APIV3_KEY).unwrap();
    assert_eq!(
        key.decrypt(sealed, sealed_nonce, "transaction").unwrap(),
        input["plaintext"].as_str().unwrap().as_bytes()
    );
    // The SDK as the merchant's client: the fake takes its signed order and the SDK trusts the fake's answers.
    assert_eq!(answer["sdk_order"]["code"], json!(200), "{}", answer["sdk_order"]);
    assert!(answer["sdk_order"]["message"].as_str().unwrap().contains("prepay_id"));
    assert_eq!(answer["sdk_query"]["code"], json!(200));
    let order = rig.fake.order("DL20261202SDK001").expect("the SDK's order reached the fake");
    assert_eq!((order.amount, order.openid.as_str()), (300, OPENID));
    let _ = rig.notified.try_recv();
}

const ORACLE: &str = r#"
import json, sys, time
from base64 import b64encode
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import load_private_key, rsa_sign

i = json.load(sys.stdin)
wx = WeChatPay(wechatpay_type=WeChatPayType.JSAPI, mchid=i["mchid"], private_key=i["private_key"],
               cert_serial_no=i["serial"], appid=i["appid"], apiv3_key=i["apiv3_key"],
               notify_url=i["notify_url"], public_key=i["platform_public_key"], public_key_id=i["public_key_id"])
out = {}
out["request_signature"] = rsa_sign(load_private_key(i["private_key"]), i["sign_str"])
out["pay_sign"] = wx.sign(i["pay"])
out["callback"] = wx.callback(i["headers"], i["notification"])
out["tampered_callback"] = wx.callback(i["headers"], i["notification"].replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS "))
out["sealed"] = b64encode(AESGCM(i["apiv3_key"].encode()).encrypt(i["sealed_nonce"].encode(), i["plaintext"].encode(), b"transaction")).decode()
wx._core._gate_way = i["gateway"]
expire = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600 + 600))
code, message = wx.pay(description="交通违法罚款", out_trade_no="DL20261202SDK001", amount={"total": 300},
                       payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}, time_expire=expire, pay_type=WeChatPayType.JSAPI)
out["sdk_order"] = {"code": code, "message": message}
code, message = wx.query(out_trade_no="DL20261202SDK001")
out["sdk_query"] = {"code": code, "message": message}
print(json.dumps(out))
"#;

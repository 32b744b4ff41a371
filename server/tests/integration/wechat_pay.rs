//! 缴费 on the WeChat channel with the production wiring (`PAYMENT_PROVIDER=vendors`): WeChat Pay API v3 (the
//! loopback fake) through the JSAPI page, its verified notification, the receipt; on both databases.

use std::path::PathBuf;

use providers::fakes::{icbc, wechat_pay as fake};
use serde_json::Value;

use crate::payments::{shown_total, OVERDUE};
use crate::support::{Browser, TestApp, LI_SI, ZHANG_SAN};

const OPENID: &str = "oWx-zhangsan-openid-000000001";

/// The settings of a production-shaped payment setup: WeChat Pay at the fake, ICBC configured (not called here).
fn vendor_settings(wxpay: &fake::FakeWechatPay, dir: &PathBuf) -> Vec<(&'static str, String)> {
    std::fs::create_dir_all(dir).unwrap();
    let file = |name: &str, pem: &str| {
        std::fs::write(dir.join(name), pem).unwrap();
        dir.join(name).display().to_string()
    };
    let keys = icbc::test_keys();
    vec![
        ("PAYMENT_PROVIDER", "vendors".into()),
        ("WECHATPAY_MCHID", "1900000109".into()),
        ("WECHATPAY_APPID", "wxd678efh567hg6787".into()),
        ("WECHATPAY_MERCHANT_SERIAL", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into()),
        ("WECHATPAY_MERCHANT_KEY_FILE", file("apiclient_key.pem", &fake::test_key(1).private_pem)),
        ("WECHATPAY_APIV3_KEY", "a12d3924fd499edac8a5efc0123456ab".into()),
        ("WECHATPAY_PUBLIC_KEY_ID", fake::PUBLIC_KEY_ID.into()),
        ("WECHATPAY_PUBLIC_KEY_FILE", file("pub_key.pem", &fake::test_key(fake::PLATFORM_KEY_SLOT).public_pem)),
        ("WECHATPAY_BASE_URL", wxpay.base_url().into()),
        ("ICBC_APP_ID", "10000000000000012345".into()),
        ("ICBC_MER_ID", "020002040095".into()),
        ("ICBC_PRIVATE_KEY_FILE", file("icbc_merchant.pem", &icbc::private_pem(&keys.merchant))),
        ("ICBC_GATEWAY_PUBLIC_KEY_FILE", file("icbc_gateway.pem", &icbc::public_pem(&keys.gateway.to_public_key()))),
    ]
}

/// The island's own call of `wxpay_page`, as the hydrated page makes it.
async fn island_call(browser: &Browser, order_no: &str) -> reqwest::Response {
    browser
        .client
        .post(format!("{}/api/wxpay_page", browser.base))
        .header("origin", &browser.base)
        .header("accept", "application/json")
        .form(&[("order_no", order_no)])
        .send()
        .await
        .unwrap()
}

/// One app per database (demo data loaded) taking payments through `wxpay`; the key files live in a temporary folder.
async fn vendor_apps(wxpay: &fake::FakeWechatPay, name: &str) -> Vec<(&'static str, TestApp)> {
    let dir = std::env::temp_dir().join(format!("dlt-{name}-{}", std::process::id()));
    let settings = vendor_settings(wxpay, &dir);
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::each_with_demo_and(&settings).await
}

/// 张三 signs in through WeChat and presses 确认缴费 for the overdue fine: the order number, the total in fen, and
/// the page the browser lands on.
async fn confirm_payment(app: &TestApp) -> (Browser, String, String, reqwest::Response) {
    let browser = app.linked_browser("wechat", OPENID, &ZHANG_SAN).await;
    let total = shown_total(&browser, OVERDUE).await;
    let response = browser.post("/api/start_payment", &[("decision_no", OVERDUE), ("total_fen", &total)]).await;
    let order_no = response.url().query_pairs().find(|(k, _)| k == "order").map(|(_, v)| v.to_string());
    (browser, order_no.expect("the JSAPI page names the order"), total, response)
}

/// What WeChat's client does with the page's `getBrandWCPayRequest`: the bridge's `err_msg`.
async fn bridge(wxpay: &fake::FakeWechatPay, params: &Value) -> Value {
    let answer = reqwest::Client::new().post(format!("{}/fake/jsapi/pay", wxpay.base_url())).json(params).send();
    answer.await.unwrap().json::<Value>().await.unwrap()["err_msg"].clone()
}

async fn paid(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT paid FROM violations WHERE decision_no = $1")
        .bind(OVERDUE)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn fake_wechat_pay() -> fake::FakeWechatPay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake::FakeWechatPay::start(
        listener,
        fake::Merchant {
            mchid: "1900000109".into(),
            appid: "wxd678efh567hg6787".into(),
            serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into(),
            public_key: fake::test_key(1).public,
            apiv3_key: "a12d3924fd499edac8a5efc0123456ab".into(),
        },
    )
}

#[tokio::test]
async fn a_fine_is_paid_through_the_jsapi_page_and_wechat_pays_notification() {
    let wxpay = fake_wechat_pay().await;
    for (db, app) in vendor_apps(&wxpay, "wxpay-it").await {
        let (browser, order_no, total, response) = confirm_payment(&app).await;
        assert_eq!(response.url().path(), "/fines/wxpay", "{db}: 确认缴费 leads to the JSAPI page");
        let page = response.text().await.unwrap();
        for shown in ["微信支付", OVERDUE, "支付需要微信的 JavaScript", "查看缴费结果"] {
            assert!(page.contains(shown), "{db}: the JSAPI page shows {shown}: {page}");
        }
        let ordered = wxpay.order(&order_no).expect("the order reached WeChat Pay");
        assert_eq!((ordered.openid.as_str(), ordered.amount.to_string()), (OPENID, total.clone()), "{db}");
        assert!(ordered.notify_url.ends_with("/pay/notify/wechat"), "{db}: {}", ordered.notify_url);

        // What the island hands WeChat's bridge: the server function's signed fields.
        let data: Value = island_call(&browser, &order_no).await.json().await.unwrap();
        let params = &data["params"];
        assert_eq!(
            params["package"],
            Value::from(format!("prepay_id={}", ordered.prepay_id)),
            "{db}: same prepay order"
        );
        // Someone else's order is not theirs to pay.
        let li = app.linked_browser("wechat", "oWx-lisi", &LI_SI).await;
        assert_eq!(island_call(&li, &order_no).await.status(), 404, "{db}");

        // The payer confirms in WeChat: the fake checks paySign, takes the money and notifies the app.
        assert_eq!(bridge(&wxpay, params).await, "get_brand_wcpay_request:ok", "{db}");
        assert!(wxpay.deliveries().iter().any(|(no, status)| no == &order_no && *status == 200), "{db}: acknowledged");
        let result = browser.get(&format!("/fines/result?order={order_no}")).await;
        assert!(result.contains("缴费成功") && result.contains("电子缴款凭证"), "{db}: {result}");
        assert_eq!(paid(&app).await, 1, "{db}");
        // A paid order's JSAPI page offers no payment, only its result.
        let again = browser.get(&format!("/fines/wxpay?order={order_no}")).await;
        assert!(again.contains("该订单已不能支付") && !again.contains("支付需要微信的 JavaScript"), "{db}: {again}");
        assert_eq!(island_call(&browser, &order_no).await.json::<Value>().await.unwrap()["params"], Value::Null);
    }
}

#[tokio::test]
async fn a_forged_or_tampered_wechat_notification_pays_nothing() {
    let wxpay = fake_wechat_pay().await;
    for (db, app) in vendor_apps(&wxpay, "wxpay-forged").await {
        let (_, order_no, total, _) = confirm_payment(&app).await;
        let resource = serde_json::json!({
            "mchid": "1900000109", "appid": "wxd678efh567hg6787", "out_trade_no": order_no,
            "transaction_id": "4200000000000000000000000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
            "success_time": "2026-12-02T10:00:00+08:00", "amount": { "total": total.parse::<i64>().unwrap() },
        });
        let body = wxpay.notification_body("TRANSACTION.SUCCESS", "transaction", &resource);
        let notify = format!("{}/pay/notify/wechat", app.base);
        let client = reqwest::Client::new();
        // Signed by someone who is not WeChat Pay, and a genuine signature over another body.
        let mut forged = wxpay.signed_headers(&body, app::platform::now());
        let other_key = fake::test_key(7).private;
        let nonce = forged["wechatpay-nonce"].to_str().unwrap().to_string();
        let ts = forged["wechatpay-timestamp"].to_str().unwrap().to_string();
        let signature = other_key.sign(&providers::wechat_pay::sign::message(&[&ts, &nonce, &body]));
        forged.insert("wechatpay-signature", signature.parse().unwrap());
        let refused = client.post(&notify).headers(forged).body(body.clone()).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{db}: forged signature");
        assert!(refused.text().await.unwrap().contains("FAIL"), "{db}: WeChat's failure answer");
        let genuine = wxpay.signed_headers(&body, app::platform::now());
        let tampered = body.replacen("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS ", 1);
        let refused = client.post(&notify).headers(genuine.clone()).body(tampered).send().await.unwrap();
        assert_eq!(refused.status(), 401, "{db}: tampered body");
        let stale = wxpay.signed_headers(&body, app::platform::now() - 600);
        assert_eq!(client.post(&notify).headers(stale).body(body.clone()).send().await.unwrap().status(), 401);
        assert_eq!(paid(&app).await, 0, "{db}: nothing forged paid the fine");
        // The genuine one pays, once; its replay changes nothing.
        assert_eq!(
            client.post(&notify).headers(genuine.clone()).body(body.clone()).send().await.unwrap().status(),
            200
        );
        assert_eq!(client.post(&notify).headers(genuine).body(body.clone()).send().await.unwrap().status(), 200);
        let receipts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_orders WHERE receipt_no IS NOT NULL")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(receipts, 1, "{db}: one payment, one receipt");
    }
}

#[tokio::test]
async fn wechat_reporting_another_amount_pays_nothing_and_is_kept_for_the_bank() {
    let wxpay = fake_wechat_pay().await;
    wxpay.set_fault(fake::Fault::WrongNotifiedAmount);
    for (db, app) in vendor_apps(&wxpay, "wxpay-amount").await {
        let (browser, order_no, total, _) = confirm_payment(&app).await;
        let data: Value = island_call(&browser, &order_no).await.json().await.unwrap();
        assert_eq!(bridge(&wxpay, &data["params"]).await, "get_brand_wcpay_request:ok", "{db}");
        assert_eq!(paid(&app).await, 0, "{db}: a payment of another amount does not pay the fine");
        let kept: i64 = sqlx::query_scalar("SELECT amount_fen FROM payment_exceptions WHERE order_no = $1")
            .bind(&order_no)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(kept, total.parse::<i64>().unwrap() + 1, "{db}: what WeChat took is kept for the bank to refund");
    }
}

//! `fake-vendors`: the loopback fakes of every outside system plus the HTTPS edge, for the production smoke test
//! (`scripts/smoke-production.sh`). Test and development code only: built with the `fakes` feature.
//!
//! `fake-vendors ENV_FILE` starts them on ports from `FAKES_PORT` (default 3200) up — the edge, WeChat's
//! authorisation and API hosts, WeChat Pay, Tencent Cloud SMS, ICBC's gateway — writes the app's settings for them to
//! ENV_FILE (`KEY=value` lines; the keys it generates go in a `keys` folder beside it), and serves until killed.
//! The edge listens on `FAKES_PORT` and passes requests to the app at `FAKES_APP_ADDR` (default `127.0.0.1:3199`).
//! `FAKE_SMS_INBOX_URL` and `FAKE_WECHATPAY_JSAPI_URL` in the file are for the test: the phone's messages, and
//! what WeChat's client does on `getBrandWCPayRequest`.

use std::io::Write;
use std::path::Path;

use providers::fakes::{icbc, tencent_sms, wechat_oauth, wechat_pay};
use tokio::net::TcpListener;

const MCHID: &str = "1900000109";
const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const ICBC_APP_ID: &str = "10000000000000012345";
const ICBC_MER_ID: &str = "020002040095";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env_file = std::env::args().nth(1).ok_or("usage: fake-vendors ENV_FILE")?;
    let port: u16 = std::env::var("FAKES_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3200);
    let app_addr = std::env::var("FAKES_APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3199".into());
    let bind = |offset: u16| TcpListener::bind(("127.0.0.1", port + offset));
    let edge = bind(0).await?;
    let keys = Path::new(&env_file).parent().unwrap_or(Path::new(".")).join("keys");
    std::fs::create_dir_all(&keys)?;
    let key_file = |name: &str, pem: &str| -> std::io::Result<String> {
        let path = keys.join(name);
        std::fs::write(&path, pem)?;
        Ok(path.display().to_string())
    };
    let mut settings: Vec<(String, String)> = vec![
        ("APP_BASE_URL".into(), format!("https://127.0.0.1:{port}")),
        ("TRUSTED_PROXIES".into(), "127.0.0.1".into()),
        ("LEPTOS_SITE_ADDR".into(), app_addr.clone()),
        ("PAYMENT_PROVIDER".into(), "vendors".into()),
    ];

    let oauth = wechat_oauth::FakeWechatOAuth::start(bind(1).await?).await;
    settings.extend(oauth.settings().into_iter().map(|(k, v)| (k.to_string(), v)));
    let appid = settings.iter().find(|(k, _)| k == "WECHAT_APP_ID").map(|(_, v)| v.clone()).ok_or("no AppID")?;

    let (merchant, platform) = (wechat_pay::test_key(1), wechat_pay::test_key(wechat_pay::PLATFORM_KEY_SLOT));
    let apiv3_key: String = {
        use rand::Rng;
        rand::thread_rng().sample_iter(rand::distributions::Alphanumeric).take(32).map(char::from).collect()
    };
    let wxpay = wechat_pay::FakeWechatPay::start(
        bind(2).await?,
        wechat_pay::Merchant {
            mchid: MCHID.into(),
            appid,
            serial: MERCHANT_SERIAL.into(),
            public_key: merchant.public.clone(),
            apiv3_key: apiv3_key.clone(),
        },
    );
    settings.extend([
        ("WECHATPAY_MCHID".into(), MCHID.into()),
        ("WECHATPAY_MERCHANT_SERIAL".into(), MERCHANT_SERIAL.into()),
        ("WECHATPAY_MERCHANT_KEY_FILE".into(), key_file("apiclient_key.pem", &merchant.private_pem)?),
        ("WECHATPAY_APIV3_KEY".into(), apiv3_key),
        ("WECHATPAY_PUBLIC_KEY_ID".into(), wechat_pay::PUBLIC_KEY_ID.into()),
        ("WECHATPAY_PUBLIC_KEY_FILE".into(), key_file("pub_key.pem", &platform.public_pem)?),
        ("WECHATPAY_BASE_URL".into(), wxpay.base_url().into()),
        ("FAKE_WECHATPAY_JSAPI_URL".into(), format!("{}/fake/jsapi/pay", wxpay.base_url())),
    ]);

    let sms = tencent_sms::FakeTencentSms::serve(bind(3).await?, tencent_sms::FakeAccount::generate()).await?;
    settings.extend(sms.settings());
    settings.push(("FAKE_SMS_INBOX_URL".into(), format!("{}/fake/sms/inbox", sms.url())));

    let icbc_keys = icbc::test_keys();
    let icbc = icbc::FakeIcbc::serve_on(bind(4).await?, ICBC_APP_ID, ICBC_MER_ID, icbc_keys.merchant.to_public_key());
    settings.extend([
        ("ICBC_APP_ID".into(), ICBC_APP_ID.into()),
        ("ICBC_MER_ID".into(), ICBC_MER_ID.into()),
        ("ICBC_PRIVATE_KEY_FILE".into(), key_file("icbc_merchant.pem", &icbc::private_pem(&icbc_keys.merchant))?),
        (
            "ICBC_GATEWAY_PUBLIC_KEY_FILE".into(),
            key_file("icbc_gateway.pem", &icbc::public_pem(&icbc.gateway_public_key()))?,
        ),
        ("ICBC_GATEWAY_URL".into(), icbc.url().into()),
        ("ICBC_SIGNIN_PATH".into(), icbc::SIGNIN_PATH.into()),
    ]);

    settings.sort();
    // Written whole, then renamed: the smoke script starts the app as soon as the file appears.
    let partial = format!("{env_file}.partial");
    let mut out = std::fs::File::create(&partial)?;
    for (key, value) in &settings {
        writeln!(out, "{key}={value}")?;
    }
    drop(out);
    std::fs::rename(&partial, &env_file)?;
    println!("fake vendors ready; the app's settings are in {env_file}");
    providers::fakes::edge::serve(edge, format!("http://{app_addr}")).await?;
    Ok(())
}

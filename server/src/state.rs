//! The application state's assembly: which provider serves each outside system, chosen from the configuration.

use std::sync::Arc;

use app::platform::config::{Config, Mode, PaymentProvider, SmsProvider};
use app::platform::db::Db;
use app::platform::evidence::{DirectoryStore, EvidenceStore};
use app::platform::gateway::Gateways;
use app::platform::platform_identity::{DevIdentity, Identities, NoProvider, PlatformIdentity};
use app::platform::session::CookieSigner;
use app::platform::sms::{DevOutbox, SmsSender};
use app::platform::sms_dispatch::{SmsVendor, VendorOutbox};
use app::platform::state::{AppState, Shared};
use leptos::config::LeptosOptions;
use providers::icbc::{IcbcPay, IcbcSignIn};
use providers::wechat_oauth::{self, WechatOAuth};
use providers::wechat_pay::WechatPay;

/// A source of the vendors' settings (the process environment, or a test's own).
pub type Settings<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Wires the configured providers around an open database and the payment gateway adapter; the vendors' adapters
/// read their own settings (secrets, key files, template ids, base URLs) through `settings`, the environment in
/// production. A provider whose settings are missing or unusable is an error naming them.
pub fn assemble(
    config: Config,
    db: Db,
    leptos_options: LeptosOptions,
    gateways: Gateways,
    settings: Settings,
) -> Result<AppState, String> {
    let signer = CookieSigner::new(&config.cookie_key);
    let dev_identity = config.dev_login.then(|| Arc::new(DevIdentity::new(signer.clone())));
    // Development sign-in when it is on, else none.
    let fallback: Arc<dyn PlatformIdentity> = match &dev_identity {
        Some(dev) => dev.clone(),
        None => Arc::new(NoProvider),
    };
    let identities = Identities {
        wechat: wechat_identity(&config, settings)?.unwrap_or(fallback.clone()),
        icbc: icbc_identity(settings)?.unwrap_or(fallback),
    };
    let (sms, sms_vendor) = sms(&config, settings)?;
    let evidence = match &config.evidence_dir {
        Some(dir) => Some(Arc::new(DirectoryStore::open(dir)?) as Arc<dyn EvidenceStore>),
        None => None,
    };
    Ok(AppState::from_shared(Shared {
        leptos_options,
        gateways,
        dev_identity,
        identities,
        evidence,
        config,
        db,
        signer,
        sms,
        sms_vendor,
        readiness: Default::default(),
    }))
}

/// The SMS sender requests write through, and the vendor the dispatcher sends the outbox through (none for the
/// development outbox). The vendor's settings are read with `settings`; a missing one is an error naming it.
#[allow(clippy::type_complexity)]
pub fn sms(config: &Config, settings: Settings) -> Result<(Arc<dyn SmsSender>, Option<Arc<dyn SmsVendor>>), String> {
    match config.sms_provider {
        SmsProvider::DevOutbox => Ok((Arc::new(DevOutbox), None)),
        SmsProvider::Tencent => {
            let vendor = providers::tencent_sms::TencentSms::from_lookup(settings)
                .map_err(|e| format!("SMS_PROVIDER=tencent: {e}"))?;
            Ok((Arc::new(VendorOutbox), Some(Arc::new(vendor))))
        }
    }
}

/// The WeChat channel's sign-in: 公众号网页授权 when its settings are given (either of them asks for it, so a
/// half-configured one is an error, not a silent fallback); none otherwise, which production refuses.
fn wechat_identity(config: &Config, settings: Settings) -> Result<Option<Arc<dyn PlatformIdentity>>, String> {
    if wechat_oauth::SETTINGS.iter().any(|key| settings(key).is_some_and(|v| !v.trim().is_empty())) {
        let wechat = WechatOAuth::from_lookup(settings).map_err(|e| e.to_string())?;
        return Ok(Some(Arc::new(wechat)));
    }
    if config.mode == Mode::Production {
        return Err(format!(
            "production refuses to start: WeChat sign-in is not configured (set {})",
            wechat_oauth::SETTINGS.join(" and ")
        ));
    }
    Ok(None)
}

/// Each channel's payment gateway: with `PAYMENT_PROVIDER=vendors`, WeChat Pay API v3 for WeChat and ICBC's open
/// platform for 融e联, each from its own settings (never the sandbox in their place); otherwise the built-in sandbox.
pub fn gateway(config: &Config, settings: Settings) -> Result<Gateways, String> {
    match config.payment_provider {
        PaymentProvider::Vendors => {
            let wechat = WechatPay::from_lookup(settings).map_err(|e| format!("WeChat Pay: {e}"))?;
            let icbc = IcbcPay::from_lookup(settings).map_err(|e| format!("ICBC payment: {e}"))?;
            Ok(Gateways { wechat: Arc::new(wechat), icbc: Arc::new(icbc) })
        }
        PaymentProvider::Sandbox => sandbox(config),
    }
}

#[cfg(feature = "sandbox")]
fn sandbox(config: &Config) -> Result<Gateways, String> {
    let secret = config.payment_secret.as_bytes().to_vec();
    let client = sandbox::SandboxClient::new(config.sandbox_url.clone(), config.sandbox_url.clone(), secret);
    Ok(Gateways::both(Arc::new(client)))
}

/// Without the `sandbox` feature only the vendors' gateways exist.
#[cfg(not(feature = "sandbox"))]
fn sandbox(_config: &Config) -> Result<Gateways, String> {
    Err("PAYMENT_PROVIDER=sandbox, but this server was built without the `sandbox` feature".into())
}

/// The 融e联 channel's sign-in: ICBC's code exchange once ICBC has assigned its API path (`ICBC_SIGNIN_PATH`);
/// otherwise none, and only development sign-in (off in production) signs anyone in on that channel.
fn icbc_identity(settings: Settings) -> Result<Option<Arc<dyn PlatformIdentity>>, String> {
    if settings("ICBC_SIGNIN_PATH").is_none_or(|v| v.trim().is_empty()) {
        return Ok(None);
    }
    let icbc = IcbcSignIn::from_lookup(settings).map_err(|e| format!("ICBC sign-in: {e}"))?;
    Ok(Some(Arc::new(icbc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers::fakes;

    #[test]
    fn vendors_needs_each_gateways_settings_and_never_falls_back_to_the_sandbox() {
        let (config, lookup) = production(&[]);
        let refused = gateway(&config, &lookup).err().expect("vendors without settings is refused");
        assert!(refused.contains("WeChat Pay") && refused.contains("WECHATPAY_"), "{refused}");
        let dir = std::env::temp_dir().join(format!("dlt-vendor-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, pem: &str| {
            std::fs::write(dir.join(name), pem).unwrap();
            dir.join(name).display().to_string()
        };
        let (merchant, platform) = (fakes::wechat_pay::test_key(1), fakes::wechat_pay::test_key(0));
        let icbc = fakes::icbc::test_keys();
        let wechat = [
            ("WECHATPAY_MCHID", "1900000109".to_string()),
            ("WECHAT_APP_ID", "wxd678efh567hg6787".to_string()),
            ("WECHATPAY_MERCHANT_SERIAL", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".to_string()),
            ("WECHATPAY_MERCHANT_KEY_FILE", file("apiclient_key.pem", &merchant.private_pem)),
            ("WECHATPAY_APIV3_KEY", "a12d3924fd499edac8a5efc0123456ab".to_string()),
            ("WECHATPAY_PUBLIC_KEY_ID", fakes::wechat_pay::PUBLIC_KEY_ID.to_string()),
            ("WECHATPAY_PUBLIC_KEY_FILE", file("pub_key.pem", &platform.public_pem)),
        ];
        let pairs: Vec<(&str, &str)> = wechat.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (config, lookup) = production(&pairs);
        let refused = gateway(&config, &lookup).err().expect("WeChat Pay alone is not enough");
        assert!(refused.contains("ICBC payment") && refused.contains("ICBC_"), "{refused}");
        let icbc_settings = [
            ("ICBC_APP_ID", "10000000000000012345".to_string()),
            ("ICBC_MER_ID", "020002040095".to_string()),
            ("ICBC_PRIVATE_KEY_FILE", file("icbc_merchant.pem", &fakes::icbc::private_pem(&icbc.merchant))),
            (
                "ICBC_GATEWAY_PUBLIC_KEY_FILE",
                file("icbc_gateway.pem", &fakes::icbc::public_pem(&icbc.gateway.to_public_key())),
            ),
        ];
        let all: Vec<(&str, &str)> = wechat.iter().chain(icbc_settings.iter()).map(|(k, v)| (*k, v.as_str())).collect();
        let (config, lookup) = production(&all);
        assert!(gateway(&config, &lookup).is_ok(), "both gateways configured");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A production environment complete but for the vendors' settings under test.
    fn production(extra: &[(&str, &str)]) -> (Config, impl Fn(&str) -> Option<String>) {
        let mut pairs: Vec<(String, String)> = [
            ("APP_ENV", "production"),
            ("DEV_LOGIN", "false"),
            ("SMS_PROVIDER", "tencent"),
            ("PAYMENT_PROVIDER", "vendors"),
            ("COOKIE_KEY", "a-production-cookie-key-0123456789abcdef"),
            ("APP_BASE_URL", "https://jt.example.cn"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        pairs.reverse();
        let lookup = move |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        (Config::from_lookup(&lookup).expect("a production config"), lookup)
    }

    #[test]
    fn production_without_wechat_sign_in_refuses_to_start_naming_its_settings() {
        let (config, lookup) = production(&[]);
        let refused = wechat_identity(&config, &lookup).err().expect("no WeChat sign-in in production is refused");
        assert!(refused.contains("WECHAT_APP_ID") && refused.contains("WECHAT_APP_SECRET"), "{refused}");
        let (config, lookup) = production(&[("WECHAT_APP_ID", "wx0123456789abcdef")]);
        let refused = wechat_identity(&config, &lookup).err().expect("half a configuration is refused");
        assert!(refused.contains("WECHAT_APP_SECRET") && !refused.contains("WECHAT_APP_ID"), "{refused}");
        let (config, lookup) = production(&[("WECHAT_APP_ID", "wx0123456789abcdef"), ("WECHAT_APP_SECRET", "s")]);
        let wechat = wechat_identity(&config, &lookup).unwrap().expect("WeChat sign-in");
        let url = wechat.authorize_url("https://jt.example.cn/auth/callback?channel=wechat", "s1").unwrap();
        assert!(url.starts_with("https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef"));
    }

    #[test]
    fn development_without_wechat_settings_keeps_development_sign_in() {
        let config = Config::from_lookup(|_| None).unwrap();
        assert!(wechat_identity(&config, &|_| None).unwrap().is_none());
    }

    #[test]
    fn tencent_sms_needs_its_settings() {
        let config = Config::from_lookup(|key| (key == "SMS_PROVIDER").then(|| "tencent".to_string())).unwrap();
        let refused = sms(&config, &|_| None).err().expect("no settings, no start");
        assert!(refused.contains("SMS_PROVIDER=tencent") && refused.contains("TENCENT_SMS_SECRET_ID"), "{refused}");
        let required =
            ["SECRET_ID", "SECRET_KEY", "SDK_APP_ID", "SIGN_NAME", "TEMPLATE_ID"].map(|s| format!("TENCENT_SMS_{s}"));
        let settings = |key: &str| required.iter().any(|r| r == key).then(|| "1400000001".to_string());
        let (_, vendor) = sms(&config, &settings).expect("complete settings start");
        assert!(vendor.is_some(), "the dispatcher gets the vendor");
        let dev = Config::from_lookup(|_| None).unwrap();
        assert!(sms(&dev, &|_| None).expect("the dev outbox needs nothing").1.is_none());
    }
}

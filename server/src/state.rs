//! The application state's assembly: which provider serves each outside system, chosen from the configuration.

use std::sync::Arc;

use app::platform::config::{Config, Mode, SmsProvider};
use app::platform::db::Db;
use app::platform::evidence::{DirectoryStore, EvidenceStore};
use app::platform::gateway::Gateways;
use app::platform::platform_identity::{DevIdentity, Identities, NoProvider, PlatformIdentity};
use app::platform::session::CookieSigner;
use app::platform::sms::{DevOutbox, SmsSender};
use app::platform::state::{AppState, Shared};
use leptos::config::LeptosOptions;
use providers::wechat_oauth::{self, WechatOAuth};

/// A source of the vendors' settings (the process environment, or a test's own).
pub type Settings<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Wires the configured providers around an open database and the payment gateway adapter; the vendors' adapters
/// read their own settings through `settings`. A provider whose settings are missing or unusable is an error naming
/// them.
pub fn assemble(
    config: Config,
    db: Db,
    leptos_options: LeptosOptions,
    gateways: Gateways,
    settings: Settings,
) -> Result<AppState, String> {
    let signer = CookieSigner::new(&config.cookie_key);
    let dev_identity = config.dev_login.then(|| Arc::new(DevIdentity::new(signer.clone())));
    // Development sign-in when it is on, else none; 融e联 keeps it until its adapter lands.
    let fallback: Arc<dyn PlatformIdentity> = match &dev_identity {
        Some(dev) => dev.clone(),
        None => Arc::new(NoProvider),
    };
    let identities =
        Identities { wechat: wechat_identity(&config, settings)?.unwrap_or(fallback.clone()), icbc: fallback };
    let sms: Arc<dyn SmsSender> = match config.sms_provider {
        SmsProvider::DevOutbox => Arc::new(DevOutbox),
        SmsProvider::Tencent => {
            return Err("SMS_PROVIDER=tencent: the Tencent Cloud SMS adapter is not wired yet".into())
        }
    };
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
    }))
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

/// Each channel's payment gateway: the client of the built-in sandbox gateway for both, the only adapter wired so far.
#[cfg(feature = "sandbox")]
pub fn gateway(config: &Config) -> Result<Gateways, String> {
    if config.payment_provider == app::platform::config::PaymentProvider::Vendors {
        return Err("PAYMENT_PROVIDER=vendors: the WeChat Pay and ICBC adapters are not wired yet".into());
    }
    let secret = config.payment_secret.as_bytes().to_vec();
    let client = sandbox::SandboxClient::new(config.sandbox_url.clone(), config.sandbox_url.clone(), secret);
    Ok(Gateways::both(Arc::new(client)))
}

/// The payment gateway adapter: none, in a build without the `sandbox` feature, so the server refuses to start.
#[cfg(not(feature = "sandbox"))]
pub fn gateway(_config: &Config) -> Result<Gateways, String> {
    Err("no payment gateway: this server was built without the `sandbox` feature, and no other gateway adapter \
         exists yet"
        .into())
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use super::*;

    #[test]
    fn vendors_never_falls_back_to_the_sandbox() {
        let config = |provider: &str| {
            let provider = provider.to_string();
            Config::from_lookup(move |key| (key == "PAYMENT_PROVIDER").then(|| provider.clone())).unwrap()
        };
        assert!(gateway(&config("sandbox")).is_ok());
        let refused = gateway(&config("vendors")).err().expect("vendors is refused until its adapters exist");
        assert!(refused.contains("PAYMENT_PROVIDER=vendors"), "{refused}");
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
}

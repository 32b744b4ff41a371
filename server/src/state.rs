//! The application state's assembly: which provider serves each outside system, chosen from the configuration.

use std::sync::Arc;

use app::platform::config::{Config, SmsProvider};
use app::platform::db::Db;
use app::platform::gateway::Gateways;
use app::platform::platform_identity::{DevIdentity, NoProvider, PlatformIdentity};
use app::platform::session::CookieSigner;
use app::platform::sms::{DevOutbox, SmsSender};
use app::platform::sms_dispatch::{SmsVendor, VendorOutbox};
use app::platform::state::{AppState, Shared};
use leptos::config::LeptosOptions;

/// Wires the configured providers around an open database and the payment gateway adapter; the providers' own
/// settings (secrets, template ids, base URLs) come from `lookup`, the environment in production. A provider whose
/// settings are missing or unusable is an error naming them.
pub fn assemble(
    config: Config,
    db: Db,
    leptos_options: LeptosOptions,
    gateways: Gateways,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<AppState, String> {
    let signer = CookieSigner::new(&config.cookie_key);
    let dev_identity = config.dev_login.then(|| Arc::new(DevIdentity::new(signer.clone())));
    let identity: Arc<dyn PlatformIdentity> = match &dev_identity {
        Some(dev) => dev.clone(),
        None => Arc::new(NoProvider),
    };
    let (sms, sms_vendor) = sms(&config, lookup)?;
    Ok(AppState::from_shared(Shared {
        leptos_options,
        gateways,
        dev_identity,
        identity,
        config,
        db,
        signer,
        sms,
        sms_vendor,
    }))
}

/// The SMS sender requests write through, and the vendor the dispatcher sends the outbox through (none for the
/// development outbox). The vendor's settings are read with `lookup`; a missing one is an error naming it.
#[allow(clippy::type_complexity)]
pub fn sms(
    config: &Config,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(Arc<dyn SmsSender>, Option<Arc<dyn SmsVendor>>), String> {
    match config.sms_provider {
        SmsProvider::DevOutbox => Ok((Arc::new(DevOutbox), None)),
        SmsProvider::Tencent => {
            let vendor = providers::tencent_sms::TencentSms::from_lookup(lookup)
                .map_err(|e| format!("SMS_PROVIDER=tencent: {e}"))?;
            Ok((Arc::new(VendorOutbox), Some(Arc::new(vendor))))
        }
    }
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

    #[test]
    fn tencent_sms_needs_its_settings() {
        let config = Config::from_lookup(|key| (key == "SMS_PROVIDER").then(|| "tencent".to_string())).unwrap();
        let refused = sms(&config, |_| None).err().expect("no settings, no start");
        assert!(refused.contains("SMS_PROVIDER=tencent") && refused.contains("TENCENT_SMS_SECRET_ID"), "{refused}");
        let required =
            ["SECRET_ID", "SECRET_KEY", "SDK_APP_ID", "SIGN_NAME", "TEMPLATE_ID"].map(|s| format!("TENCENT_SMS_{s}"));
        let settings = |key: &str| required.iter().any(|r| r == key).then(|| "1400000001".to_string());
        let (_, vendor) = sms(&config, settings).expect("complete settings start");
        assert!(vendor.is_some(), "the dispatcher gets the vendor");
        let dev = Config::from_lookup(|_| None).unwrap();
        assert!(sms(&dev, |_| None).expect("the dev outbox needs nothing").1.is_none());
    }
}

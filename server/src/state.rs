//! The application state's assembly: which provider serves each outside system, chosen from the configuration.

use std::sync::Arc;

use app::platform::config::{Config, SmsProvider};
use app::platform::db::Db;
use app::platform::evidence::{DirectoryStore, EvidenceStore};
use app::platform::gateway::Gateways;
use app::platform::platform_identity::{DevIdentity, NoProvider, PlatformIdentity};
use app::platform::session::CookieSigner;
use app::platform::sms::{DevOutbox, SmsSender};
use app::platform::state::{AppState, Shared};
use leptos::config::LeptosOptions;

/// Wires the configured providers around an open database and the payment gateway adapter; a provider whose
/// settings are missing or unusable is an error naming them.
pub fn assemble(config: Config, db: Db, leptos_options: LeptosOptions, gateways: Gateways) -> Result<AppState, String> {
    let signer = CookieSigner::new(&config.cookie_key);
    let dev_identity = config.dev_login.then(|| Arc::new(DevIdentity::new(signer.clone())));
    let identity: Arc<dyn PlatformIdentity> = match &dev_identity {
        Some(dev) => dev.clone(),
        None => Arc::new(NoProvider),
    };
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
        identity,
        evidence,
        config,
        db,
        signer,
        sms,
    }))
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
}

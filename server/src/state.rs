//! The application state's assembly: which provider serves each outside system, chosen from the configuration.

use std::sync::Arc;

use app::payments::gateway::SandboxClient;
use app::platform::config::{Config, SmsProvider};
use app::platform::db::Db;
use app::platform::gateway::PaymentGateway;
use app::platform::platform_identity::{DevIdentity, NoProvider, PlatformIdentity};
use app::platform::session::CookieSigner;
use app::platform::sms::{DevOutbox, SmsSender};
use app::platform::state::{AppState, Shared};
use leptos::config::LeptosOptions;

/// Wires the configured providers around an open database.
pub fn assemble(config: Config, db: Db, leptos_options: LeptosOptions) -> AppState {
    let signer = CookieSigner::new(&config.cookie_key);
    let dev_identity = config.dev_login.then(|| Arc::new(DevIdentity::new(signer.clone())));
    let identity: Arc<dyn PlatformIdentity> = match &dev_identity {
        Some(dev) => dev.clone(),
        None => Arc::new(NoProvider),
    };
    let sms: Arc<dyn SmsSender> = match config.sms_provider {
        SmsProvider::DevOutbox => Arc::new(DevOutbox),
    };
    let gateway: Arc<dyn PaymentGateway> = Arc::new(SandboxClient::new(
        config.sandbox_url.clone(),
        config.sandbox_url.clone(),
        config.payment_secret.as_bytes().to_vec(),
    ));
    AppState::from_shared(Shared { leptos_options, gateway, dev_identity, identity, config, db, signer, sms })
}

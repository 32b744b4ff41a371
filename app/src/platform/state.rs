//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::config::{Config, SmsProvider};
use super::db::Db;
use super::platform_identity::{DevIdentity, NoProvider, PlatformIdentity};
use super::session::CookieSigner;
use super::sms::{DevOutbox, SmsSender};
use crate::payments::gateway::PaymentGateway;

/// The application state every handler and server function reaches. Leptos and axum clone it several times per
/// request, so it is one shared allocation: a clone is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// What `AppState` holds.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub config: Config,
    pub db: Db,
    pub signer: CookieSigner,
    pub sms: Arc<dyn SmsSender>,
    pub identity: Arc<dyn PlatformIdentity>,
    pub gateway: Arc<dyn PaymentGateway>,
    /// Present only when development sign-in is switched on.
    pub dev_identity: Option<Arc<DevIdentity>>,
}

impl AppState {
    /// Wires the configured providers around an open database. The payment gateway comes from `server`, which
    /// alone knows the gateway adapters (today the `sandbox` crate's client).
    pub fn new(config: Config, db: Db, leptos_options: LeptosOptions, gateway: Arc<dyn PaymentGateway>) -> Self {
        let signer = CookieSigner::new(&config.cookie_key);
        let dev_identity = config.dev_login.then(|| Arc::new(DevIdentity::new(signer.clone())));
        let identity: Arc<dyn PlatformIdentity> = match &dev_identity {
            Some(dev) => dev.clone(),
            None => Arc::new(NoProvider),
        };
        let sms: Arc<dyn SmsSender> = match config.sms_provider {
            SmsProvider::DevOutbox => Arc::new(DevOutbox),
        };
        Self(Arc::new(Shared { leptos_options, gateway, dev_identity, identity, config, db, signer, sms }))
    }
}

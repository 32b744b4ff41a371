//! What every request handler and server function can reach. `server` assembles it (`server::state`).

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::config::Config;
use super::db::Db;
use super::evidence::EvidenceStore;
use super::health::Readiness;
use super::platform_identity::{DevIdentity, Identities};
use super::session::CookieSigner;
use super::sms::SmsSender;
use super::sms_dispatch::SmsVendor;
use crate::domain::Channel;
use crate::platform::gateway::{Gateways, PaymentGateway};

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
    /// Each channel's sign-in provider; pick with `identities.get(channel)`.
    pub identities: Identities,
    /// The vendor the outbox's dispatcher sends through, when messages leave through one (`SMS_PROVIDER=tencent`).
    pub sms_vendor: Option<Arc<dyn SmsVendor>>,
    /// Each channel's payment gateway; pick with `gateway(channel)`, by the order's channel.
    pub gateways: Gateways,
    /// The police's evidence photos; without one (no `EVIDENCE_DIR`) every record's photo is the drawn sketch.
    pub evidence: Option<Arc<dyn EvidenceStore>>,
    /// Present only when development sign-in is switched on; it finishes the sign-ins `/auth/dev/login` starts,
    /// whichever provider the channel has.
    pub dev_identity: Option<Arc<DevIdentity>>,
    /// Whether this instance is stopping, and what the gateways answered when last probed (`/readyz`).
    pub readiness: Arc<Readiness>,
}

impl AppState {
    /// The state around its parts; `server` chooses the providers and assembles them.
    pub fn from_shared(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The gateway that takes `channel`'s payments.
    pub fn gateway(&self, channel: Channel) -> &dyn PaymentGateway {
        self.gateways.get(channel).as_ref()
    }
}

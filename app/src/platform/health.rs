//! `/healthz` and `/readyz` for the service manager and the load balancer: never cached, cheap enough to poll every
//! second. `/healthz` says the process answers; `/readyz` that it can serve: its database answers and carries every
//! migration this build expects (an instance of a newer build waits until its migrations have run), and it is not
//! stopping. It also reports whether each payment gateway answered its last probe, without failing on it: a
//! gateway outage is not cured by taking the app out of the load balancer, and reconciliation settles what it missed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::gateway::{GatewayError, Gateways};
use super::state::AppState;
use crate::domain::Channel;

/// The health routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// What an instance knows about its own readiness beyond the database: whether it is stopping, and what each
/// channel's gateway answered when last probed.
#[derive(Default)]
pub struct Readiness {
    draining: AtomicBool,
    gateways: Mutex<[Reachability; 2]>,
}

/// A gateway as its last probe found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reachability {
    /// Not probed yet.
    #[default]
    Unchecked,
    /// It answered (an unknown order's "not found" is an answer).
    Reachable,
    /// No answer: connection refused, timed out, or a server error.
    Unreachable,
    /// It answered, but its answer's signature did not verify: a key or certificate is wrong.
    Misconfigured,
}

impl Reachability {
    /// What a probe's outcome says about the gateway.
    pub fn of<T>(probe: &Result<T, GatewayError>) -> Self {
        match probe {
            Ok(_) | Err(GatewayError::Rejected(_)) => Self::Reachable,
            Err(GatewayError::Unreachable(_)) => Self::Unreachable,
            Err(GatewayError::BadSignature) => Self::Misconfigured,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Unchecked => "unchecked",
            Self::Reachable => "reachable",
            Self::Unreachable => "unreachable",
            Self::Misconfigured => "misconfigured",
        }
    }
}

/// The order number the probe asks the gateway about; no order ever has it (the app's numbers are digits only).
pub const PROBE_ORDER_NO: &str = "READYZ-PROBE";

impl Readiness {
    /// From now on `/readyz` answers 503, so load balancers stop sending before the listener closes.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn set_gateway(&self, channel: Channel, reachability: Reachability) {
        self.gateways.lock().unwrap_or_else(|e| e.into_inner())[slot(channel)] = reachability;
    }

    pub fn gateway(&self, channel: Channel) -> Reachability {
        self.gateways.lock().unwrap_or_else(|e| e.into_inner())[slot(channel)]
    }
}

fn slot(channel: Channel) -> usize {
    match channel {
        Channel::Wechat => 0,
        Channel::Icbc => 1,
    }
}

/// Asks each channel's gateway about an order that does not exist and records whether it answered; a gateway that
/// serves both channels is asked once. A change is logged, so an outage shows in the log when it starts and ends.
pub async fn probe_gateways(gateways: &Gateways, readiness: &Readiness) {
    let same = std::sync::Arc::ptr_eq(&gateways.wechat, &gateways.icbc);
    let wechat = Reachability::of(&gateways.wechat.query(PROBE_ORDER_NO).await);
    let icbc = if same { wechat } else { Reachability::of(&gateways.icbc.query(PROBE_ORDER_NO).await) };
    for (channel, now) in [(Channel::Wechat, wechat), (Channel::Icbc, icbc)] {
        let before = readiness.gateway(channel);
        if before != now {
            match now {
                Reachability::Reachable => tracing::info!(channel = channel.code(), "payment gateway reachable"),
                _ => tracing::warn!(channel = channel.code(), state = now.label(), "payment gateway not reachable"),
            }
        }
        readiness.set_gateway(channel, now);
    }
}

fn answer(status: StatusCode, body: String) -> Response {
    (status, [(CACHE_CONTROL, "no-store"), (CONTENT_TYPE, "application/json")], body).into_response()
}

async fn healthz() -> Response {
    answer(StatusCode::OK, r#"{"status":"ok"}"#.into())
}

async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = &state.readiness;
    let gateways = format!(
        r#""gateways":{{"wechat":"{}","icbc":"{}"}}"#,
        readiness.gateway(Channel::Wechat).label(),
        readiness.gateway(Channel::Icbc).label()
    );
    let unavailable = |body: &str| answer(StatusCode::SERVICE_UNAVAILABLE, format!(r#"{{{body},{gateways}}}"#));
    if readiness.is_draining() {
        return unavailable(r#""status":"draining""#);
    }
    match state.db.migrations_current().await {
        Ok(true) => {
            answer(StatusCode::OK, format!(r#"{{"status":"ready","database":"ok","migrations":"current",{gateways}}}"#))
        }
        Ok(false) => {
            tracing::warn!("not ready: the database lacks migrations this build expects");
            unavailable(r#""status":"not ready","database":"ok","migrations":"behind""#)
        }
        Err(e) => {
            tracing::error!(error = %e, "not ready: the database does not answer");
            unavailable(r#""status":"not ready","database":"unreachable""#)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_of_any_kind_means_reachable_and_a_bad_signature_misconfigured() {
        assert_eq!(Reachability::of(&Ok::<(), _>(())), Reachability::Reachable);
        assert_eq!(
            Reachability::of::<()>(&Err(GatewayError::Rejected("ORDER_NOT_EXIST".into()))),
            Reachability::Reachable
        );
        assert_eq!(
            Reachability::of::<()>(&Err(GatewayError::Unreachable("refused".into()))),
            Reachability::Unreachable
        );
        assert_eq!(Reachability::of::<()>(&Err(GatewayError::BadSignature)), Reachability::Misconfigured);
    }

    #[test]
    fn draining_is_remembered_and_each_channel_kept_apart() {
        let readiness = Readiness::default();
        assert!(!readiness.is_draining());
        readiness.set_gateway(Channel::Icbc, Reachability::Unreachable);
        assert_eq!(readiness.gateway(Channel::Wechat), Reachability::Unchecked);
        assert_eq!(readiness.gateway(Channel::Icbc), Reachability::Unreachable);
        readiness.start_draining();
        assert!(readiness.is_draining());
    }
}

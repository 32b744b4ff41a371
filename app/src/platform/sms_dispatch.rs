//! The production SMS outbox and its dispatcher. A request writes its message into `sms_dispatch` inside its own
//! transaction (`VendorOutbox`), so a rolled-back request sends nothing; a `Dispatcher` on every app instance then
//! claims due messages with a conditional update and sends each through the vendor (`SmsVendor`).
//!
//! Several instances share one database: a claim moves the message's `due_at` past a lease and counts an attempt
//! in the same statement, and only the instance whose statement changed the row sends it. A holder that dies
//! mid-send leaves the message to come due again when its lease ends; its late outcome is fenced out by `attempts`.
//! So each message is sent once, except that a message whose holder died after the vendor took it and before the
//! outcome was written is sent again (the vendor's API has no idempotency key to prevent that).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Any, Row, Transaction};

use super::db::Db;
use super::sms::{SmsMessage, SmsSender};
use crate::domain::Mobile;

/// The `sender` label of the messages the dispatcher sends.
const SENDER: &str = "vendor";

/// The production sender: the message waits in `sms_dispatch` until a dispatcher sends it after the commit.
pub struct VendorOutbox;

#[async_trait]
impl SmsSender for VendorOutbox {
    async fn send(
        &self,
        tx: &mut Transaction<'static, Any>,
        phone: &Mobile,
        message: &SmsMessage,
    ) -> Result<(), sqlx::Error> {
        let params = serde_json::to_string(&message.params).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let now = super::now();
        sqlx::query(
            "INSERT INTO sms_dispatch (phone, template, params, state, attempts, due_at, created_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $4)",
        )
        .bind(phone.as_str())
        .bind(&message.template)
        .bind(params)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Why the vendor did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DeliveryFailure {
    /// The vendor's error code (or the adapter's own, such as `Timeout`), for the log.
    pub code: String,
    /// What an operator reads about it, in Chinese.
    pub message: String,
    /// Whether the same message may go through later (rate limits, timeouts, the vendor's own faults).
    pub retry: bool,
}

/// An SMS vendor: sends one template message to one mainland phone and returns the vendor's reference for it.
#[async_trait]
pub trait SmsVendor: Send + Sync {
    /// Sends `template` filled with `params` to `phone` (11 digits, no country code).
    async fn deliver(&self, phone: &str, template: &str, params: &[String]) -> Result<String, DeliveryFailure>;
}

/// How a dispatcher paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// How often an idle dispatcher looks for due messages.
    pub poll: Duration,
    /// How long a claim holds a message: longer than the vendor's request timeout, so a live holder keeps it.
    pub lease_secs: i64,
    /// Claims a message gets before a retryable failure counts as final.
    pub max_attempts: i64,
    /// The wait after the first retryable failure; each further one doubles it, up to `MAX_BACKOFF_SECS`.
    pub first_retry_secs: i64,
}

/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 300;

impl Default for Pacing {
    /// A second's poll (a code arrives promptly), a two-minute lease, five attempts over about half a minute, well
    /// inside a verification code's life.
    fn default() -> Self {
        Self { poll: Duration::from_secs(1), lease_secs: 120, max_attempts: 5, first_retry_secs: 2 }
    }
}

impl Pacing {
    /// The wait after the `attempt`th claim failed and may be retried.
    fn backoff(&self, attempt: i64) -> i64 {
        let doublings = u32::try_from((attempt - 1).clamp(0, 16)).unwrap_or(16);
        (self.first_retry_secs.max(1) << doublings).min(MAX_BACKOFF_SECS)
    }
}

/// A message this dispatcher claimed; `attempt` fences the outcome against a later holder.
struct Claim {
    id: i64,
    phone: String,
    template: String,
    params: Option<String>,
    attempt: i64,
}

/// What became of a claimed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The vendor took it.
    Sent,
    /// It failed and waits for another attempt.
    Retrying,
    /// It failed for good (a permanent error, or its attempts ran out).
    Failed,
    /// Another holder settled it first (this one's lease had run out).
    Lost,
}

/// Sends the outbox through one vendor, on one app instance.
pub struct Dispatcher {
    db: Db,
    vendor: Arc<dyn SmsVendor>,
    pacing: Pacing,
    /// Who holds a claim, for operators reading the table.
    holder: String,
}

impl Dispatcher {
    /// A dispatcher for `db`'s outbox through `vendor`.
    pub fn new(db: Db, vendor: Arc<dyn SmsVendor>, pacing: Pacing) -> Self {
        let holder = super::session::random_token()[..12].to_string();
        Self { db, vendor, pacing, holder }
    }

    /// Sends due messages as they come, until `stop` turns true (a dropped sender never stops it). A message being
    /// sent is always finished and its outcome recorded first: stopping between sending and recording would send
    /// it again after the lease.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(holder = %self.holder, "SMS dispatcher started");
        loop {
            if let Err(e) = self.drain_until(&stop).await {
                tracing::error!(error = %e, "SMS dispatch failed");
            }
            tokio::select! {
                biased;
                Ok(_) = stop.wait_for(|stop| *stop) => break,
                () = tokio::time::sleep(self.pacing.poll) => {}
            }
        }
        tracing::info!(holder = %self.holder, "SMS dispatcher stopped");
    }

    /// As `drain`, but claims nothing more once `stop` is true.
    async fn drain_until(&self, stop: &tokio::sync::watch::Receiver<bool>) -> Result<(), sqlx::Error> {
        while !*stop.borrow() {
            let Some(claim) = self.claim().await? else { break };
            self.deliver(claim).await?;
        }
        Ok(())
    }

    /// Sends every message due now, one at a time; returns what became of each.
    pub async fn drain(&self) -> Result<Vec<Outcome>, sqlx::Error> {
        let mut outcomes = Vec::new();
        while let Some(claim) = self.claim().await? {
            outcomes.push(self.deliver(claim).await?);
        }
        Ok(outcomes)
    }

    /// Claims the oldest due message, or none when nothing is due. The read is cheap and takes no lock, so an idle
    /// instance polls without queuing on SQLite's write lock; the update claims only if the row is still due, so of
    /// two instances reading the same message only one gets it (the other looks again).
    async fn claim(&self) -> Result<Option<Claim>, sqlx::Error> {
        loop {
            let now = super::now();
            let due = self
                .db
                .fetch_optional(
                    sqlx::query(
                        "SELECT id FROM sms_dispatch WHERE state = 'queued' AND due_at <= $1 \
                         ORDER BY due_at, id LIMIT 1",
                    )
                    .bind(now),
                )
                .await?;
            let Some(row) = due else { return Ok(None) };
            let id: i64 = row.try_get("id")?;
            let claimed = sqlx::query(
                "UPDATE sms_dispatch SET attempts = attempts + 1, due_at = $1, holder = $2 \
                 WHERE id = $3 AND state = 'queued' AND due_at <= $4 \
                 RETURNING phone, template, params, attempts",
            )
            .bind(now + self.pacing.lease_secs)
            .bind(&self.holder)
            .bind(id)
            .bind(now)
            .fetch_optional(self.db.pool())
            .await?;
            if let Some(row) = claimed {
                return Ok(Some(Claim {
                    id,
                    phone: row.try_get("phone")?,
                    template: row.try_get("template")?,
                    params: row.try_get("params")?,
                    attempt: row.try_get("attempts")?,
                }));
            }
        }
    }

    /// Sends one claimed message and records the outcome.
    async fn deliver(&self, claim: Claim) -> Result<Outcome, sqlx::Error> {
        let (id, attempt, template) = (claim.id, claim.attempt, claim.template.as_str());
        // A holder that died on the last attempt leaves a claim past the limit: give up rather than send forever.
        if attempt > self.pacing.max_attempts {
            tracing::warn!(id, attempt, template, "SMS not sent: its attempts ran out");
            super::metrics::sms(SENDER, "failed");
            return self.settle(&claim, "failed", None, Some("短信发送失败：重试次数已用完")).await;
        }
        let Some(params) = claim.params.as_deref().and_then(|p| serde_json::from_str::<Vec<String>>(p).ok()) else {
            tracing::error!(id, template, "SMS not sent: its stored parameters are unreadable");
            super::metrics::sms(SENDER, "failed");
            return self.settle(&claim, "failed", None, Some("短信内容无法读取，未发送")).await;
        };
        match self.vendor.deliver(&claim.phone, template, &params).await {
            Ok(reference) => {
                tracing::info!(id, attempt, template, reference = %reference, "SMS sent");
                super::metrics::sms(SENDER, "sent");
                self.settle(&claim, "sent", Some(&reference), None).await
            }
            Err(failure) if failure.retry && attempt < self.pacing.max_attempts => {
                let wait = self.pacing.backoff(attempt);
                tracing::warn!(id, attempt, template, code = %failure.code, wait, "SMS failed, will retry");
                super::metrics::sms(SENDER, "retried");
                let done = sqlx::query(
                    "UPDATE sms_dispatch SET due_at = $1, holder = NULL, error = $2 \
                     WHERE id = $3 AND attempts = $4 AND state = 'queued'",
                )
                .bind(super::now() + wait)
                .bind(&failure.message)
                .bind(id)
                .bind(attempt)
                .execute(self.db.pool())
                .await?;
                Ok(if done.rows_affected() == 1 { Outcome::Retrying } else { Outcome::Lost })
            }
            Err(failure) => {
                tracing::error!(id, attempt, template, code = %failure.code, message = %failure.message,
                    "SMS failed for good");
                super::metrics::sms(SENDER, "failed");
                self.settle(&claim, "failed", None, Some(&failure.message)).await
            }
        }
    }

    /// Records a final outcome, if this claim is still the message's latest, and forgets the parameters (they can
    /// hold a verification code).
    async fn settle(
        &self,
        claim: &Claim,
        state: &str,
        reference: Option<&str>,
        error: Option<&str>,
    ) -> Result<Outcome, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE sms_dispatch SET state = $1, settled_at = $2, vendor_ref = $3, error = $4, params = NULL, \
             holder = NULL WHERE id = $5 AND attempts = $6 AND state = 'queued'",
        )
        .bind(state)
        .bind(super::now())
        .bind(reference)
        .bind(error)
        .bind(claim.id)
        .bind(claim.attempt)
        .execute(self.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            tracing::warn!(id = claim.id, attempt = claim.attempt, "SMS outcome not recorded: a later claim holds it");
            return Ok(Outcome::Lost);
        }
        Ok(if state == "sent" { Outcome::Sent } else { Outcome::Failed })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::platform::config::SmsLimits;
    use crate::platform::session::CookieSigner;
    use crate::platform::sms::{issue_code, Requester};
    use crate::platform::test_db::fresh_databases;

    /// A vendor that records what it was given, fails with the queued failures first, and takes a moment per send
    /// so that racing dispatchers interleave.
    #[derive(Default)]
    struct Recorder {
        sent: Mutex<Vec<(String, Vec<String>)>>,
        failures: Mutex<Vec<DeliveryFailure>>,
    }

    #[async_trait]
    impl SmsVendor for Recorder {
        async fn deliver(&self, phone: &str, _template: &str, params: &[String]) -> Result<String, DeliveryFailure> {
            tokio::time::sleep(Duration::from_millis(3)).await;
            if let Some(failure) = self.failures.lock().unwrap().pop() {
                return Err(failure);
            }
            let mut sent = self.sent.lock().unwrap();
            sent.push((phone.to_string(), params.to_vec()));
            Ok(format!("serial-{}", sent.len()))
        }
    }

    fn failure(retry: bool) -> DeliveryFailure {
        DeliveryFailure { code: "LimitExceeded.X".into(), message: "短信发送频率超限".into(), retry }
    }

    fn phone(n: usize) -> Mobile {
        Mobile::parse(&format!("139{n:08}")).unwrap()
    }

    async fn queue(db: &Db, phone: &Mobile, params: &[&str]) {
        let mut tx = db.begin_write().await.unwrap();
        let message = SmsMessage::new("verification_code", params.iter().map(|p| p.to_string()).collect(), "t".into());
        VendorOutbox.send(&mut tx, phone, &message).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn row(db: &Db, phone: &Mobile) -> (String, i64, Option<String>, Option<String>, i64) {
        let row = sqlx::query("SELECT state, attempts, params, error, due_at FROM sms_dispatch WHERE phone = $1")
            .bind(phone.as_str())
            .fetch_one(db.pool())
            .await
            .unwrap();
        (
            row.get("state"),
            row.get("attempts"),
            row.get("params"),
            row.get("error"),
            row.get::<i64, _>("due_at") - super::super::now(),
        )
    }

    fn dispatcher(db: &Db, vendor: &Arc<Recorder>) -> Dispatcher {
        Dispatcher::new(db.clone(), vendor.clone(), Pacing::default())
    }

    /// Two dispatchers draining one database at once send each of 40 messages exactly once.
    #[tokio::test]
    async fn two_dispatchers_send_each_message_once() {
        for (backend, db) in fresh_databases().await {
            for n in 0..40 {
                queue(&db, &phone(n), &[&format!("{n:06}"), "5"]).await;
            }
            let vendor = Arc::new(Recorder::default());
            let (a, b) = (dispatcher(&db, &vendor), dispatcher(&db, &vendor));
            let (ra, rb) = tokio::join!(a.drain(), b.drain());
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert_eq!(ra.len() + rb.len(), 40, "{backend}: every message claimed once");
            assert!(ra.iter().chain(&rb).all(|o| *o == Outcome::Sent), "{backend}");
            let mut counts: HashMap<String, usize> = HashMap::new();
            for (to, _) in vendor.sent.lock().unwrap().iter() {
                *counts.entry(to.clone()).or_default() += 1;
            }
            assert_eq!(counts.len(), 40, "{backend}");
            assert!(counts.values().all(|&c| c == 1), "{backend}: {counts:?}");
            let (state, attempts, params, _, _) = row(&db, &phone(7)).await;
            assert_eq!((state.as_str(), attempts, params), ("sent", 1, None), "{backend}: the code is forgotten");
            assert!(a.drain().await.unwrap().is_empty(), "{backend}: nothing left");
        }
    }

    /// A rolled-back request sends nothing; a committed one sends its template parameters, the code first.
    #[tokio::test]
    async fn only_committed_messages_are_sent() {
        for (backend, db) in fresh_databases().await {
            let vendor = Arc::new(Recorder::default());
            let mut tx = db.begin_write().await.unwrap();
            VendorOutbox.send(&mut tx, &phone(1), &SmsMessage::verification_code("111111", 5)).await.unwrap();
            tx.rollback().await.unwrap();
            assert!(dispatcher(&db, &vendor).drain().await.unwrap().is_empty(), "{backend}");

            let signer = CookieSigner::new("k");
            let requester = Requester { client: "c".into(), session: "s".into() };
            let limits = SmsLimits::default();
            issue_code(&db, &signer, &VendorOutbox, limits, &phone(2), "signin", &requester).await.unwrap();
            assert_eq!(dispatcher(&db, &vendor).drain().await.unwrap(), vec![Outcome::Sent], "{backend}");
            let sent = vendor.sent.lock().unwrap().clone();
            assert_eq!(sent.len(), 1, "{backend}");
            let (to, params) = &sent[0];
            assert_eq!(to, phone(2).as_str(), "{backend}");
            assert_eq!(params[0].len(), 6, "{backend}: the code");
            assert!(params[0].bytes().all(|b| b.is_ascii_digit()), "{backend}");
            assert_eq!(params[1], ((limits.code_ttl_secs + 59) / 60).to_string(), "{backend}: the minutes");
        }
    }

    /// A retryable failure comes back after a growing wait and then goes through; a permanent one is final and
    /// keeps the mapped message; a message whose attempts run out is given up.
    #[tokio::test]
    async fn retries_back_off_and_permanent_failures_stop() {
        for (backend, db) in fresh_databases().await {
            let vendor = Arc::new(Recorder::default());
            let d = dispatcher(&db, &vendor);
            queue(&db, &phone(1), &["123456", "5"]).await;
            vendor.failures.lock().unwrap().extend([failure(true), failure(true)]);
            assert_eq!(d.drain().await.unwrap(), vec![Outcome::Retrying], "{backend}");
            let (state, attempts, _, error, wait) = row(&db, &phone(1)).await;
            assert_eq!(
                (state.as_str(), attempts, error.as_deref()),
                ("queued", 1, Some("短信发送频率超限")),
                "{backend}"
            );
            assert!((1..=2).contains(&wait), "{backend}: first wait {wait}");
            assert!(d.drain().await.unwrap().is_empty(), "{backend}: not due yet");
            sqlx::query("UPDATE sms_dispatch SET due_at = 0").execute(db.pool()).await.unwrap();
            assert_eq!(d.drain().await.unwrap(), vec![Outcome::Retrying], "{backend}");
            let (_, attempts, _, _, wait) = row(&db, &phone(1)).await;
            assert_eq!(attempts, 2, "{backend}");
            assert!((3..=4).contains(&wait), "{backend}: the wait doubles, {wait}");
            sqlx::query("UPDATE sms_dispatch SET due_at = 0").execute(db.pool()).await.unwrap();
            assert_eq!(d.drain().await.unwrap(), vec![Outcome::Sent], "{backend}");
            assert_eq!(vendor.sent.lock().unwrap().len(), 1, "{backend}");

            queue(&db, &phone(2), &["654321", "5"]).await;
            vendor.failures.lock().unwrap().push(failure(false));
            assert_eq!(d.drain().await.unwrap(), vec![Outcome::Failed], "{backend}");
            let (state, attempts, params, error, _) = row(&db, &phone(2)).await;
            assert_eq!((state.as_str(), attempts, params), ("failed", 1, None), "{backend}");
            assert_eq!(error.as_deref(), Some("短信发送频率超限"), "{backend}");

            queue(&db, &phone(3), &["000000", "5"]).await;
            let pacing = Pacing { max_attempts: 3, ..Pacing::default() };
            let limited = Dispatcher::new(db.clone(), vendor.clone(), pacing);
            vendor.failures.lock().unwrap().extend((0..5).map(|_| failure(true)));
            for expected in [Outcome::Retrying, Outcome::Retrying, Outcome::Failed] {
                assert_eq!(limited.drain().await.unwrap(), vec![expected], "{backend}");
                sqlx::query("UPDATE sms_dispatch SET due_at = 0 WHERE state = 'queued'")
                    .execute(db.pool())
                    .await
                    .unwrap();
            }
            assert_eq!(row(&db, &phone(3)).await.0, "failed", "{backend}");
            assert_eq!(vendor.sent.lock().unwrap().len(), 1, "{backend}: nothing more went out");
        }
    }

    /// A claim whose holder vanished comes due again when its lease ends, and the stale holder cannot record an
    /// outcome over the new one.
    #[tokio::test]
    async fn an_abandoned_claim_comes_back_and_fences_the_old_holder() {
        for (backend, db) in fresh_databases().await {
            let vendor = Arc::new(Recorder::default());
            let d = dispatcher(&db, &vendor);
            queue(&db, &phone(1), &["123456", "5"]).await;
            let stale = d.claim().await.unwrap().expect("due");
            assert!(d.claim().await.unwrap().is_none(), "{backend}: held by its lease");
            sqlx::query("UPDATE sms_dispatch SET due_at = 0").execute(db.pool()).await.unwrap();
            assert_eq!(d.drain().await.unwrap(), vec![Outcome::Sent], "{backend}: the lease ran out");
            assert_eq!(d.deliver(stale).await.unwrap(), Outcome::Lost, "{backend}");
            let (state, attempts, ..) = row(&db, &phone(1)).await;
            assert_eq!((state.as_str(), attempts), ("sent", 2), "{backend}");
        }
    }
}

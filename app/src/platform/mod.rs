//! Server-only infrastructure under the features: configuration, the database and its migrations, the generic
//! session store and signed passes, the outside systems behind traits (payment gateway, platform sign-in, SMS, evidence photos),
//! HTTP guards and the edge's checks, audit, rate limits and housekeeping, the metrics facade and request ids, and
//! `AppState`, the struct every handler reaches. Every area may import `platform`; `platform` imports only `domain`
//! and `error`, never an area (`scripts/imports.sh` checks it).

pub mod audit;
pub mod client;
pub mod config;
pub mod db;
pub mod edge;
pub mod evidence;
pub mod gateway;
pub mod health;
pub mod housekeeping;
pub mod http;
pub mod metrics;
pub mod pass;
pub mod platform_identity;
pub mod rate_limit;
pub mod request_id;
pub mod session;
pub mod sms;
pub mod sms_dispatch;
pub mod state;
#[cfg(any(test, feature = "test-support"))]
pub mod test_db;

/// Seconds since the Unix epoch, the one representation of instants in storage.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The Asia/Shanghai calendar date (UTC+8 all year, no daylight saving since 1991) of an instant, YYYY-MM-DD.
pub fn shanghai_date(epoch_secs: i64) -> String {
    use chrono::Datelike;
    let t = shanghai(epoch_secs);
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// The Asia/Shanghai local time of an instant, YYYY-MM-DD HH:MM. (Written field by field: chrono's `format` parses
/// its pattern on every call, and list pages call this once per row.)
pub fn shanghai_time(epoch_secs: i64) -> String {
    use chrono::{Datelike, Timelike};
    let t = shanghai(epoch_secs);
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute())
}

fn shanghai(epoch_secs: i64) -> chrono::DateTime<chrono::FixedOffset> {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    chrono::DateTime::from_timestamp(epoch_secs, 0).unwrap_or_default().with_timezone(&offset)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shanghai_dates_turn_over_at_16_00_utc() {
        // 2026-01-31 15:59:59 UTC is 23:59:59 in Dalian; one second later it is 1 February there.
        assert_eq!(super::shanghai_date(1_769_875_199), "2026-01-31");
        assert_eq!(super::shanghai_date(1_769_875_200), "2026-02-01");
        assert_eq!(super::shanghai_time(1_769_875_200), "2026-02-01 00:00");
        assert_eq!(super::shanghai_time(1_769_875_200 + 9 * 3600 + 5 * 60 + 59), "2026-02-01 09:05");
        assert_eq!(super::shanghai_date(1_767_196_800), "2026-01-01");
    }
}

//! Configuration from environment variables; production refuses the settings that only suit a developer.

use std::env;

/// The development cookie key: refused in production so a forgotten setting cannot sign real sessions.
pub const DEV_COOKIE_KEY: &str = "dev-only-cookie-key-change-me-0123456789abcdef";

/// Where the app runs; production turns every unsafe default into a start-up error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

/// The development payment secret: refused in production.
pub const DEV_PAYMENT_SECRET: &str = "dev-only-sandbox-gateway-secret";

/// Which SMS provider sends verification codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsProvider {
    /// Stores messages in the database outbox, readable at `/dev/sms`.
    DevOutbox,
    /// Tencent Cloud SMS (`SendSms`, TC3-HMAC-SHA256); its settings are read by `providers::tencent_sms`.
    Tencent,
}

/// Which payment gateways take the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentProvider {
    /// The built-in sandbox gateway, for both channels: not real money.
    Sandbox,
    /// The real ones: WeChat Pay API v3 (JSAPI) for the WeChat channel, ICBC's open platform for 融e联. Their
    /// settings are read by the `providers` crate.
    Vendors,
}

/// Everything the server reads from its environment.
#[derive(Clone)]
pub struct Config {
    pub mode: Mode,
    pub database_url: String,
    pub cookie_key: String,
    pub dev_login: bool,
    pub sms_provider: SmsProvider,
    pub payment_provider: PaymentProvider,
    /// The folder of police evidence photos (`RECORD_NO.jpg`), filled by `server import evidence DIR`.
    pub evidence_dir: Option<String>,
    pub session_hours: i64,
    /// How long a stopping server waits for requests in flight before it exits anyway (`SHUTDOWN_DRAIN_SECS`).
    pub drain_secs: i64,
    /// How long a stopping server keeps serving with `/readyz` answering 503 before it closes its listener, so load
    /// balancers polling it stop sending first (`SHUTDOWN_DELAY_SECS`).
    pub shutdown_delay_secs: i64,
    /// How often each payment gateway is asked whether it answers, for `/readyz` (`GATEWAY_PROBE_SECS`).
    pub gateway_probe_secs: i64,
    pub public_origin: Option<String>,
    pub demo_data: bool,
    pub sms_limits: SmsLimits,
    /// The app's own public URL, for the gateway's notify and return addresses.
    pub base_url: String,
    /// The shared secret that signs gateway messages.
    pub payment_secret: String,
    /// Where the built-in sandbox gateway listens, and the URL browsers reach its cashier at.
    pub sandbox_addr: String,
    pub sandbox_url: String,
    /// 审验学习's study requirement in minutes ([162] Art.73: three hours).
    pub study_required_minutes: i64,
    /// Where the course videos are served from; by default the `videos` folder of the site root.
    pub video_dir: Option<String>,
    /// The leading digits of the card numbers 批准制卡 issues (6 to 12 digits; the bank's range).
    pub card_number_prefix: String,
    /// How many connections serve page reads at once; by default `db::DEFAULT_READERS`.
    pub db_readers: Option<usize>,
    /// The proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`); none by default.
    pub trusted_proxies: super::client::TrustedProxies,
    /// Where the Prometheus metrics are served (`METRICS_ADDR`, by default 127.0.0.1:9464; empty turns them off).
    /// Its own listener, never the public one: it shows the traffic and the payments' totals.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Whether `APP_ENV` was set at all: a server left on the development default must not face a network.
    pub mode_explicit: bool,
}

/// Verification-code timing; the defaults are the product's, tests shorten them to stay fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLimits {
    /// How long a code stays valid.
    pub code_ttl_secs: i64,
    /// The shortest wait between two codes for one phone.
    pub resend_after_secs: i64,
    /// Codes per phone per rolling hour for one asking client (the resend wait also counts per phone and client).
    pub codes_per_hour: i64,
    /// Codes per phone per rolling hour from everyone together: the ceiling that stops texting one phone nonstop.
    pub codes_per_phone_hour: i64,
    /// Code requests per client address (an IPv6 client's /64) per hour, so nobody can text every number.
    pub codes_per_client_hour: i64,
    /// Code requests per browser session per hour.
    pub codes_per_session_hour: i64,
}

impl Default for SmsLimits {
    fn default() -> Self {
        Self {
            code_ttl_secs: 300,
            resend_after_secs: 60,
            codes_per_hour: 5,
            codes_per_phone_hour: 20,
            codes_per_client_hour: 30,
            codes_per_session_hour: 10,
        }
    }
}

impl std::fmt::Debug for Config {
    // The cookie key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("mode", &self.mode)
            .field("database_url", &redact_url(&self.database_url))
            .field("dev_login", &self.dev_login)
            .field("sms_provider", &self.sms_provider)
            .field("payment_provider", &self.payment_provider)
            .field("evidence_dir", &self.evidence_dir)
            .field("session_hours", &self.session_hours)
            .field("drain_secs", &self.drain_secs)
            .field("shutdown_delay_secs", &self.shutdown_delay_secs)
            .field("gateway_probe_secs", &self.gateway_probe_secs)
            .field("public_origin", &self.public_origin)
            .field("demo_data", &self.demo_data)
            .field("sms_limits", &self.sms_limits)
            .field("base_url", &self.base_url)
            .field("sandbox_addr", &self.sandbox_addr)
            .field("sandbox_url", &self.sandbox_url)
            .field("study_required_minutes", &self.study_required_minutes)
            .field("video_dir", &self.video_dir)
            .field("card_number_prefix", &self.card_number_prefix)
            .field("db_readers", &self.db_readers)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

/// A setting that cannot be used as given.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| env::var(key).ok())
    }

    /// Reads settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mode_explicit = lookup("APP_ENV").is_some_and(|v| !v.is_empty());
        let mode = match lookup("APP_ENV").filter(|v| !v.is_empty()).as_deref().unwrap_or("development") {
            "development" => Mode::Development,
            "production" => Mode::Production,
            other => return Err(ConfigError(format!("APP_ENV must be development or production, not {other}"))),
        };
        let dev = mode == Mode::Development;
        let flag = |key: &str, default: bool| -> Result<bool, ConfigError> {
            match lookup(key).as_deref() {
                None | Some("") => Ok(default),
                Some("1" | "true" | "on") => Ok(true),
                Some("0" | "false" | "off") => Ok(false),
                Some(other) => Err(ConfigError(format!("{key} must be true or false, not {other}"))),
            }
        };
        let sms_provider = match lookup("SMS_PROVIDER").as_deref().unwrap_or("dev-outbox") {
            "dev-outbox" => SmsProvider::DevOutbox,
            "tencent" => SmsProvider::Tencent,
            other => return Err(ConfigError(format!("SMS_PROVIDER {other} is not supported"))),
        };
        let payment_provider = match lookup("PAYMENT_PROVIDER").as_deref().unwrap_or("sandbox") {
            "sandbox" => PaymentProvider::Sandbox,
            "vendors" => PaymentProvider::Vendors,
            other => return Err(ConfigError(format!("PAYMENT_PROVIDER must be sandbox or vendors, not {other}"))),
        };
        let number_opt = |key: &str, range: std::ops::RangeInclusive<i64>| -> Result<Option<i64>, ConfigError> {
            match lookup(key).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse::<i64>().ok().filter(|n| range.contains(n)).map(Some).ok_or_else(|| {
                    ConfigError(format!("{key} must be a whole number from {} to {}", range.start(), range.end()))
                }),
            }
        };
        let number = |key: &str, default: i64, range: std::ops::RangeInclusive<i64>| -> Result<i64, ConfigError> {
            Ok(number_opt(key, range)?.unwrap_or(default))
        };
        let defaults = SmsLimits::default();
        let sms_limits = SmsLimits {
            code_ttl_secs: number("SMS_CODE_TTL_SECS", defaults.code_ttl_secs, 5..=1800)?,
            resend_after_secs: number("SMS_RESEND_SECS", defaults.resend_after_secs, 1..=600)?,
            codes_per_hour: number("SMS_CODES_PER_HOUR", defaults.codes_per_hour, 1..=100)?,
            codes_per_phone_hour: number("SMS_CODES_PER_PHONE_HOUR", defaults.codes_per_phone_hour, 1..=1000)?,
            codes_per_client_hour: number("SMS_CODES_PER_CLIENT_HOUR", defaults.codes_per_client_hour, 1..=100_000)?,
            codes_per_session_hour: number("SMS_CODES_PER_SESSION_HOUR", defaults.codes_per_session_hour, 1..=1000)?,
        };
        let trusted_proxies = super::client::TrustedProxies::parse(&lookup("TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|item| ConfigError(format!("TRUSTED_PROXIES: {item} is not an IP address or CIDR range")))?;
        let session_hours = number("SESSION_HOURS", 12, 1..=720)?;
        let drain_secs = number("SHUTDOWN_DRAIN_SECS", 20, 1..=600)?;
        let shutdown_delay_secs = number("SHUTDOWN_DELAY_SECS", 0, 0..=120)?;
        let gateway_probe_secs = number("GATEWAY_PROBE_SECS", 30, 1..=3600)?;
        let card_number_prefix = lookup("CARD_NUMBER_PREFIX").unwrap_or_else(|| "62220299".into());
        if !crate::domain::card_no::is_card_prefix(&card_number_prefix) {
            return Err(ConfigError("CARD_NUMBER_PREFIX must be 6 to 12 digits".into()));
        }
        let db_readers = number_opt("DB_READERS", 1..=64)?.map(|n| n as usize);
        let metrics_addr = match lookup("METRICS_ADDR").unwrap_or_else(|| "127.0.0.1:9464".into()).trim() {
            "" => None,
            addr => Some(addr.parse().map_err(|_| {
                ConfigError(format!("METRICS_ADDR must be an address and port such as 127.0.0.1:9464, not {addr}"))
            })?),
        };
        let sandbox_addr = lookup("PAYMENT_SANDBOX_ADDR").unwrap_or_else(|| "127.0.0.1:3900".into());
        let sandbox_url = lookup("PAYMENT_SANDBOX_URL").unwrap_or_else(|| format!("http://{sandbox_addr}"));
        let base_url: String =
            lookup("APP_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into()).trim_end_matches('/').into();
        // Behind HTTPS the browser's Origin is the public URL's, whatever Host the proxy passes on.
        let public_origin = lookup("PUBLIC_ORIGIN")
            .filter(|o| !o.is_empty())
            .map(|o| o.trim_end_matches('/').to_string())
            .or_else(|| (!dev).then(|| origin_of(&base_url)));
        let config = Config {
            mode,
            database_url: lookup("DATABASE_URL").unwrap_or_else(|| "sqlite://dalian-traffic.db".into()),
            cookie_key: lookup("COOKIE_KEY").unwrap_or_else(|| if dev { DEV_COOKIE_KEY.into() } else { String::new() }),
            dev_login: flag("DEV_LOGIN", dev)?,
            sms_provider,
            payment_provider,
            evidence_dir: lookup("EVIDENCE_DIR").filter(|d| !d.is_empty()),
            session_hours,
            drain_secs,
            shutdown_delay_secs,
            gateway_probe_secs,
            public_origin,
            demo_data: flag("DEMO_DATA", false)?,
            sms_limits,
            base_url,
            payment_secret: lookup("PAYMENT_SECRET").unwrap_or_else(|| {
                if dev {
                    DEV_PAYMENT_SECRET.into()
                } else {
                    String::new()
                }
            }),
            sandbox_addr,
            sandbox_url,
            study_required_minutes: number("STUDY_REQUIRED_MINUTES", 180, 1..=1440)?,
            video_dir: lookup("STUDY_VIDEO_DIR").filter(|d| !d.is_empty()),
            card_number_prefix,
            db_readers,
            trusted_proxies,
            metrics_addr,
            mode_explicit,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.mode == Mode::Development {
            return Ok(());
        }
        let mut refused = Vec::new();
        if self.dev_login {
            refused.push("DEV_LOGIN is on");
        }
        if self.sms_provider == SmsProvider::DevOutbox {
            refused.push("SMS_PROVIDER is dev-outbox");
        }
        if self.cookie_key.len() < 32 || self.cookie_key == DEV_COOKIE_KEY {
            refused.push("COOKIE_KEY is missing, shorter than 32 characters or the development key");
        }
        if self.demo_data {
            refused.push("DEMO_DATA is on");
        }
        // The sandbox's payments are not real money; the real gateways check their own keys when assembled.
        if self.payment_provider == PaymentProvider::Sandbox {
            refused.push("PAYMENT_PROVIDER is sandbox");
        }
        if !self.base_url.starts_with("https://") {
            refused.push("APP_BASE_URL is not an https:// URL");
        }
        if !self.public_origin.as_deref().is_some_and(|o| o.starts_with("https://")) {
            refused.push("PUBLIC_ORIGIN is not an https:// origin");
        }
        if self.study_required_minutes < 180 {
            refused.push("STUDY_REQUIRED_MINUTES is below the 180 minutes of [162] Art.73");
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(format!("production refuses to start: {}", refused.join("; "))))
        }
    }

    /// Refuses to serve the network on the development default: with `APP_ENV` unset, only a loopback address
    /// may be listened on (`APP_ENV=development` says a developer means it).
    pub fn check_listen(&self, addr: std::net::SocketAddr) -> Result<(), ConfigError> {
        if self.mode_explicit || addr.ip().is_loopback() {
            return Ok(());
        }
        Err(ConfigError(format!(
            "APP_ENV is not set, so the development defaults (development sign-in, the SMS outbox, the sandbox \
             gateway) are on, and {addr} is not a loopback address: set APP_ENV=production for a real deployment, \
             or APP_ENV=development to serve a development build on the network"
        )))
    }

    /// Whether cookies must only travel over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.mode == Mode::Production
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
        None => url.to_string(),
    }
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn development_defaults_turn_on_dev_login_and_sqlite() {
        let c = config(&[]).unwrap();
        assert_eq!(c.mode, Mode::Development);
        assert!(c.dev_login);
        assert!(c.database_url.starts_with("sqlite:"));
        assert_eq!(c.cookie_key, DEV_COOKIE_KEY);
    }

    #[test]
    fn production_refuses_dev_login_dev_sms_and_missing_key() {
        let err = config(&[("APP_ENV", "production")]).unwrap_err().to_string();
        assert!(err.contains("SMS_PROVIDER"), "{err}");
        assert!(err.contains("COOKIE_KEY"), "{err}");
        let err = config(&[("APP_ENV", "production"), ("DEV_LOGIN", "true")]).unwrap_err().to_string();
        assert!(err.contains("DEV_LOGIN"), "{err}");
    }

    #[test]
    fn production_refuses_the_sandbox_gateway_and_its_development_secret() {
        let err = config(&[("APP_ENV", "production")]).unwrap_err().to_string();
        assert!(err.contains("PAYMENT_PROVIDER is sandbox"), "{err}");
        let err = config(&[("APP_ENV", "production"), ("PAYMENT_PROVIDER", "vendors")]).unwrap_err().to_string();
        assert!(!err.contains("PAYMENT_PROVIDER"), "{err}");
        assert!(config(&[("PAYMENT_PROVIDER", "paypal")]).is_err());
    }

    #[test]
    fn production_refuses_the_development_cookie_key() {
        let err = config(&[("APP_ENV", "production"), ("COOKIE_KEY", DEV_COOKIE_KEY)]).unwrap_err().to_string();
        assert!(err.contains("development key"), "{err}");
    }

    #[test]
    fn the_card_number_prefix_defaults_to_the_bank_range_and_must_be_6_to_12_digits() {
        assert_eq!(config(&[]).unwrap().card_number_prefix, "62220299");
        assert_eq!(config(&[("CARD_NUMBER_PREFIX", "622202")]).unwrap().card_number_prefix, "622202");
        for bad in ["62220", "6222029912345", "6222a299"] {
            let err = config(&[("CARD_NUMBER_PREFIX", bad)]).unwrap_err().to_string();
            assert!(err.contains("CARD_NUMBER_PREFIX"), "{bad}: {err}");
        }
    }

    #[test]
    fn db_readers_is_unset_by_default_and_must_be_1_to_64() {
        assert_eq!(config(&[]).unwrap().db_readers, None);
        assert_eq!(config(&[("DB_READERS", "")]).unwrap().db_readers, None);
        assert_eq!(config(&[("DB_READERS", "4")]).unwrap().db_readers, Some(4));
        for bad in ["0", "65", "four", "-2"] {
            let err = config(&[("DB_READERS", bad)]).unwrap_err().to_string();
            assert!(err.contains("DB_READERS must be a whole number from 1 to 64"), "{bad}: {err}");
        }
    }

    #[test]
    fn an_empty_number_setting_means_its_default_and_a_bad_one_is_refused() {
        assert_eq!(config(&[("SESSION_HOURS", "")]).unwrap().session_hours, 12);
        assert_eq!(config(&[("SESSION_HOURS", "24")]).unwrap().session_hours, 24);
        let err = config(&[("SESSION_HOURS", "0")]).unwrap_err().to_string();
        assert!(err.contains("SESSION_HOURS must be a whole number from 1 to 720"), "{err}");
    }

    fn production(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut pairs = vec![("APP_ENV", "production"), ("DEV_LOGIN", "false")];
        pairs.extend_from_slice(extra);
        config(&pairs)
    }

    #[test]
    fn production_requires_https_addresses_and_the_full_study_requirement() {
        let err = production(&[]).unwrap_err().to_string();
        assert!(err.contains("APP_BASE_URL is not an https:// URL"), "{err}");
        assert!(err.contains("PUBLIC_ORIGIN is not an https:// origin"), "{err}");
        let err = production(&[("APP_BASE_URL", "https://jt.example.cn/"), ("STUDY_REQUIRED_MINUTES", "27")])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("APP_BASE_URL") && !err.contains("PUBLIC_ORIGIN"), "the origin follows the URL: {err}");
        assert!(err.contains("STUDY_REQUIRED_MINUTES"), "{err}");
        let err = production(&[("APP_BASE_URL", "https://jt.example.cn"), ("PUBLIC_ORIGIN", "http://jt.example.cn")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("PUBLIC_ORIGIN is not an https:// origin"), "{err}");
        assert!(!err.contains("STUDY_REQUIRED_MINUTES"), "180 by default: {err}");
    }

    #[test]
    fn metrics_listen_on_loopback_by_default_and_empty_turns_them_off() {
        assert_eq!(config(&[]).unwrap().metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(
            config(&[("METRICS_ADDR", "[::1]:9100")]).unwrap().metrics_addr,
            Some("[::1]:9100".parse().unwrap())
        );
        assert_eq!(config(&[("METRICS_ADDR", "")]).unwrap().metrics_addr, None);
        let err = config(&[("METRICS_ADDR", "localhost")]).unwrap_err().to_string();
        assert!(err.contains("METRICS_ADDR"), "{err}");
    }

    #[test]
    fn an_unset_app_env_serves_loopback_only() {
        let unset = config(&[]).unwrap();
        assert!(unset.check_listen("127.0.0.1:3000".parse().unwrap()).is_ok());
        assert!(unset.check_listen("[::1]:3000".parse().unwrap()).is_ok());
        let err = unset.check_listen("0.0.0.0:3000".parse().unwrap()).unwrap_err().to_string();
        assert!(err.contains("APP_ENV is not set") && err.contains("0.0.0.0:3000"), "{err}");
        assert!(config(&[("APP_ENV", "")]).unwrap().check_listen("10.0.0.5:80".parse().unwrap()).is_err());
        let meant = config(&[("APP_ENV", "development")]).unwrap();
        assert!(meant.check_listen("0.0.0.0:3000".parse().unwrap()).is_ok());
    }

    #[test]
    fn trusted_proxies_and_the_client_limits_are_read_and_checked() {
        let c = config(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"), ("SMS_CODES_PER_CLIENT_HOUR", "7")]).unwrap();
        assert_eq!(c.trusted_proxies, super::super::client::TrustedProxies::parse("10.0.0.0/8,127.0.0.1").unwrap());
        assert_eq!(c.sms_limits.codes_per_client_hour, 7);
        assert_eq!(c.sms_limits.codes_per_session_hour, 10);
        let err = config(&[("TRUSTED_PROXIES", "lb.internal")]).unwrap_err().to_string();
        assert!(err.contains("TRUSTED_PROXIES: lb.internal"), "{err}");
    }

    #[test]
    fn database_password_is_not_printed() {
        let c = config(&[("DATABASE_URL", "postgres://app:secret@db/traffic")]).unwrap();
        assert!(!format!("{c:?}").contains("secret"));
    }
}

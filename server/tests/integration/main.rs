//! Server integration tests: the real router on port 0, against SQLite and PostgreSQL.

mod abuse;
mod backup;
mod cards;
mod cli;
mod console;
mod console_payments;
mod edge;
mod evidence;
mod exports;
mod health;
mod lifecycle;
mod metrics;
mod payment_finality;
mod payments;
mod realname;
mod refunds;
mod signin;
mod sms_vendor;
mod study;
mod support;
mod violations;
mod wechat_pay;
mod wechat_signin;

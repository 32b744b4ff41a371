//! Guest payment (SPEC §2B): a short-lived signed pass proves a successful lookup, so a guest needs no account
//! and no session, and the pass only opens the one decision it names.

use crate::platform::pass::PassKind;

/// The cookie that carries a paying guest's pass back from the gateway to the result page (`Path=/fines`).
pub const PASS_COOKIE: &str = "dlt_guest_pass";

/// A guest's pass: opens one decision for an hour after a successful lookup, for paying and reading the receipt.
pub const PASS: PassKind = PassKind::new("guest-pass", 60 * 60);

//! Guest payment (SPEC §2B): a short-lived signed pass proves a successful lookup, so a guest needs no account
//! and no session, and the pass only opens the one decision it names.

use crate::platform::session::CookieSigner;

/// The cookie that carries a paying guest's pass back from the gateway to the result page (`Path=/fines`).
pub const PASS_COOKIE: &str = "dlt_guest_pass";

/// How long a lookup stays good for paying and reading the receipt.
pub const PASS_TTL_SECS: i64 = 60 * 60;

/// Issues a pass for `decision_no`, valid until `now + PASS_TTL_SECS`.
pub fn issue(signer: &CookieSigner, decision_no: &str, now: i64) -> String {
    let expires = now + PASS_TTL_SECS;
    format!("{decision_no}.{expires}.{}", signer.digest(&format!("guest-pass:{decision_no}:{expires}")))
}

/// The decision number a genuine, unexpired pass names.
pub fn check(signer: &CookieSigner, pass: &str, now: i64) -> Option<String> {
    let mut parts = pass.splitn(3, '.');
    let (decision_no, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let expires_at: i64 = expires.parse().ok()?;
    let genuine = signer.digest(&format!("guest-pass:{decision_no}:{expires}")) == signature;
    (genuine && expires_at > now).then(|| decision_no.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_opens_its_decision_until_it_expires_and_cannot_be_altered() {
        let signer = CookieSigner::new("guest-pass-test-key-0123456789abcdef");
        let pass = issue(&signer, "2102021000015367", 1_000);
        assert_eq!(check(&signer, &pass, 1_001).as_deref(), Some("2102021000015367"));
        assert_eq!(check(&signer, &pass, 1_000 + PASS_TTL_SECS), None, "expired");
        let other = pass.replacen("2102021000015367", "2102021000009122", 1);
        assert_eq!(check(&signer, &other, 1_001), None, "a pass for one decision does not open another");
        assert_eq!(check(&CookieSigner::new("another-key-0123456789-abcdef-xyz"), &pass, 1_001), None);
        assert_eq!(check(&signer, "garbage", 1_001), None);
    }
}

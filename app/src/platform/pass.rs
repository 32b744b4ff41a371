//! Signed passes: a short-lived proof, carried in a link or a cookie, that the bearer may open one record — a
//! guest's successful fine lookup, an applicant's matching status lookup. No account and no stored row is needed;
//! a pass for one purpose or one record opens nothing else.

use super::session::CookieSigner;

/// A kind of pass: what it proves (part of what is signed) and how long it lasts.
#[derive(Debug, Clone, Copy)]
pub struct PassKind {
    purpose: &'static str,
    ttl_secs: i64,
}

impl PassKind {
    pub const fn new(purpose: &'static str, ttl_secs: i64) -> Self {
        Self { purpose, ttl_secs }
    }

    /// How long a pass of this kind stays good.
    pub const fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// A pass for `subject` (a record number, with no `.`), good until `now + ttl`: `subject.expires.signature`.
    pub fn issue(&self, signer: &CookieSigner, subject: &str, now: i64) -> String {
        let expires = now + self.ttl_secs;
        format!("{subject}.{expires}.{}", self.signature(signer, subject, &expires.to_string()))
    }

    /// The subject a genuine, unexpired pass of this kind names.
    pub fn check(&self, signer: &CookieSigner, pass: &str, now: i64) -> Option<String> {
        let mut parts = pass.splitn(3, '.');
        let (subject, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
        let expires_at: i64 = expires.parse().ok()?;
        let genuine = self.signature(signer, subject, expires) == signature;
        (genuine && expires_at > now).then(|| subject.to_string())
    }

    fn signature(&self, signer: &CookieSigner, subject: &str, expires: &str) -> String {
        signer.digest(&format!("{}:{subject}:{expires}", self.purpose))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUEST: PassKind = PassKind::new("guest-pass", 3600);
    const STATUS: PassKind = PassKind::new("card-status", 3600);

    #[test]
    fn a_pass_opens_its_record_until_it_expires_and_cannot_be_altered() {
        let signer = CookieSigner::new("pass-test-key-0123456789abcdef-0123");
        let pass = GUEST.issue(&signer, "2102021000015367", 1_000);
        assert_eq!(GUEST.check(&signer, &pass, 1_001).as_deref(), Some("2102021000015367"));
        assert_eq!(GUEST.check(&signer, &pass, 1_000 + GUEST.ttl_secs()), None, "expired");
        let other = pass.replacen("2102021000015367", "2102021000009122", 1);
        assert_eq!(GUEST.check(&signer, &other, 1_001), None, "a pass for one record does not open another");
        let later = pass.replacen(&(1_000 + 3600).to_string(), &(1_000 + 7200).to_string(), 1);
        assert_eq!(GUEST.check(&signer, &later, 1_001), None, "its expiry is signed");
        assert_eq!(GUEST.check(&CookieSigner::new("another-key-0123456789-abcdef-xyz"), &pass, 1_001), None);
        assert_eq!(GUEST.check(&signer, "garbage", 1_001), None);
        assert_eq!(GUEST.check(&signer, "", 1_001), None);
    }

    #[test]
    fn a_pass_for_one_purpose_opens_nothing_of_another() {
        let signer = CookieSigner::new("pass-test-key-0123456789abcdef-0123");
        let pass = STATUS.issue(&signer, "SQ20261124000042", 1_000);
        assert_eq!(STATUS.check(&signer, &pass, 1_001).as_deref(), Some("SQ20261124000042"));
        assert_eq!(GUEST.check(&signer, &pass, 1_001), None);
    }

    #[test]
    fn passes_issued_before_the_shared_type_still_open() {
        // The format the guest and status passes had: `subject.expires.digest("purpose:subject:expires")`.
        let signer = CookieSigner::new("pass-test-key-0123456789abcdef-0123");
        let old = format!("SQ1.5000.{}", signer.digest("card-status:SQ1:5000"));
        assert_eq!(STATUS.check(&signer, &old, 4_999).as_deref(), Some("SQ1"));
    }
}

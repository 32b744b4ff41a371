//! The open platform's signatures, as ICBC's SDKs compute them (`WebUtils.buildOrderedSignStr`,
//! `IcbcSignature.sign`/`verify`): the string signed is the API path, `?`, then every non-empty parameter but `sign`
//! sorted by name and joined `k=v&…` without URL encoding; `RSA2` is SHA256withRSA and `RSA` SHA1withRSA
//! (PKCS#1 v1.5), base64. The gateway signs its answers over the raw `response_biz_content` text.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::Digest;

/// The open platform's wire format for times: Asia/Shanghai wall clock, `yyyy-MM-dd HH:mm:ss`.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
const SHANGHAI_OFFSET_SECS: i32 = 8 * 3600;

/// A signature algorithm by its `sign_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    /// `RSA`: SHA1withRSA, what the gateway signs its answers and notifications with.
    Rsa,
    /// `RSA2`: SHA256withRSA, what the merchant signs with.
    Rsa2,
}

impl SignType {
    /// The `sign_type` parameter's value.
    pub fn code(self) -> &'static str {
        match self {
            SignType::Rsa => "RSA",
            SignType::Rsa2 => "RSA2",
        }
    }

    /// Reads a `sign_type`; `CA` and `SM2` are not supported.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "RSA" => Some(SignType::Rsa),
            "RSA2" => Some(SignType::Rsa2),
            _ => None,
        }
    }

    fn scheme_and_digest(self, text: &str) -> (Pkcs1v15Sign, Vec<u8>) {
        match self {
            SignType::Rsa => (Pkcs1v15Sign::new::<sha1::Sha1>(), sha1::Sha1::digest(text.as_bytes()).to_vec()),
            SignType::Rsa2 => (Pkcs1v15Sign::new::<sha2::Sha256>(), sha2::Sha256::digest(text.as_bytes()).to_vec()),
        }
    }
}

/// The string ICBC signs for a call to `path` (or a notification to the merchant's notify path) with `params`.
pub fn signing_string(path: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(path.len() + 256);
    out.push_str(path);
    out.push('?');
    let mut first = true;
    for (name, value) in params {
        // The SDKs leave out empty parameters (an unset `ca`, `app_auth_token`) and the signature itself.
        if value.is_empty() || name == "sign" {
            continue;
        }
        if !first {
            out.push('&');
        }
        first = false;
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// `text` signed with `key`, base64.
pub fn sign(key: &RsaPrivateKey, sign_type: SignType, text: &str) -> String {
    let (scheme, digest) = sign_type.scheme_and_digest(text);
    BASE64.encode(key.sign(scheme, &digest).expect("PKCS#1 v1.5 signing fails only for keys too small for the digest"))
}

/// Whether `signature` (base64) is `key`'s signature of `text`.
pub fn verify(key: &RsaPublicKey, sign_type: SignType, text: &str, signature: &str) -> bool {
    let Ok(raw) = BASE64.decode(signature.trim()) else { return false };
    let (scheme, digest) = sign_type.scheme_and_digest(text);
    key.verify(scheme, &digest, &raw).is_ok()
}

/// An instant as the open platform writes it.
pub fn shanghai_timestamp(epoch_secs: i64) -> String {
    let zone = FixedOffset::east_opt(SHANGHAI_OFFSET_SECS).expect("UTC+8 is a valid offset");
    zone.timestamp_opt(epoch_secs, 0).single().map(|t| t.format(TIMESTAMP_FORMAT).to_string()).unwrap_or_default()
}

/// Reads an open-platform time (`yyyy-MM-dd HH:mm:ss`, Asia/Shanghai) as epoch seconds.
pub fn parse_shanghai_timestamp(text: &str) -> Option<i64> {
    parse_shanghai(text, TIMESTAMP_FORMAT)
}

/// Reads an Asia/Shanghai wall-clock time in `format` as epoch seconds.
pub fn parse_shanghai(text: &str, format: &str) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), format).ok()?;
    Some(naive.and_utc().timestamp() - i64::from(SHANGHAI_OFFSET_SECS))
}

/// The raw `response_biz_content` text and the `sign` of a gateway answer `{"response_biz_content":{…},"sign":"…"}`,
/// found as the SDKs find them: from after the first `"response_biz_content":` to the comma before the last
/// `"sign"` key (whitespace around the colons and commas allowed). The signature covers exactly those bytes, so the
/// answer must not be re-serialised before it is checked.
pub fn split_signed_answer(body: &str) -> Option<(&str, &str)> {
    const ROOT: &str = "\"response_biz_content\"";
    const SIGN: &str = "\"sign\"";
    let after_root = body.find(ROOT)? + ROOT.len();
    let start = after_root + body[after_root..].find(':')? + 1;
    let sign_key = body.rfind(SIGN)?;
    let end = body[..sign_key].trim_end().strip_suffix(',')?.len();
    let value = body[sign_key + SIGN.len()..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let signature = &value[..value.find('"')?];
    (start < end).then(|| (body[start..end].trim(), signature))
}

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("is neither a PEM nor a base64 RSA key")]
    Unreadable,
    #[error("is a {0}-bit RSA key; at least {1} bits are required")]
    TooSmall(usize, usize),
}

/// Reads a private key: PEM (PKCS#8 or PKCS#1) or the bare base64 PKCS#8 that ICBC's key tool writes.
pub fn read_private_key(text: &str, min_bits: usize) -> Result<RsaPrivateKey, KeyError> {
    let text = text.trim();
    let key = RsaPrivateKey::from_pkcs8_pem(text)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(text))
        .ok()
        .or_else(|| BASE64.decode(strip_whitespace(text)).ok().and_then(|der| RsaPrivateKey::from_pkcs8_der(&der).ok()))
        .ok_or(KeyError::Unreadable)?;
    check_size(key.size() * 8, min_bits)?;
    Ok(key)
}

/// Reads a public key: PEM (SPKI or PKCS#1) or the bare base64 SPKI in which ICBC hands out its gateway key.
pub fn read_public_key(text: &str, min_bits: usize) -> Result<RsaPublicKey, KeyError> {
    let text = text.trim();
    let key = RsaPublicKey::from_public_key_pem(text)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(text))
        .ok()
        .or_else(|| {
            BASE64.decode(strip_whitespace(text)).ok().and_then(|der| RsaPublicKey::from_public_key_der(&der).ok())
        })
        .ok_or(KeyError::Unreadable)?;
    check_size(key.size() * 8, min_bits)?;
    Ok(key)
}

fn strip_whitespace(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn check_size(bits: usize, min_bits: usize) -> Result<(), KeyError> {
    if bits < min_bits {
        return Err(KeyError::TooSmall(bits, min_bits));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_signed_string_is_the_path_then_sorted_non_empty_parameters_without_sign() {
        let p = params(&[
            ("timestamp", "2022-08-05 20:05:42"),
            ("app_id", "10000000000000197550"),
            ("sign", "ignored"),
            ("ca", ""),
            ("biz_content", "{\"a\":1}"),
            ("msg_id", "1659701090056"),
            ("charset", "UTF-8"),
            ("format", "json"),
            ("sign_type", "RSA2"),
        ]);
        // The shape of the worked example in ICBC's signing guide (`/api/jft/api/vacct/token/get/V1?app_id=…`).
        assert_eq!(
            signing_string("/api/jft/api/vacct/token/get/V1", &p),
            "/api/jft/api/vacct/token/get/V1?app_id=10000000000000197550&biz_content={\"a\":1}&charset=UTF-8\
             &format=json&msg_id=1659701090056&sign_type=RSA2&timestamp=2022-08-05 20:05:42"
        );
    }

    #[test]
    fn timestamps_are_shanghai_wall_clock_both_ways() {
        // 2022-08-05 12:05:42 UTC.
        assert_eq!(shanghai_timestamp(1_659_701_142), "2022-08-05 20:05:42");
        assert_eq!(parse_shanghai_timestamp("2022-08-05 20:05:42"), Some(1_659_701_142));
        assert_eq!(parse_shanghai_timestamp("2022-08-05T20:05:42"), None);
    }

    #[test]
    fn a_signed_answer_splits_into_the_raw_content_and_the_signature() {
        let body = r#"{"response_biz_content":{"return_code":0,"sign":"x","msg_id":"m"},"sign":"c2ln"}"#;
        assert_eq!(split_signed_answer(body), Some((r#"{"return_code":0,"sign":"x","msg_id":"m"}"#, "c2ln")));
        let spaced = "{\n  \"response_biz_content\": {\"return_code\": 0},\n  \"sign\": \"c2ln\"\n}";
        assert_eq!(split_signed_answer(spaced), Some((r#"{"return_code": 0}"#, "c2ln")));
        assert_eq!(split_signed_answer(r#"{"return_code":0}"#), None);
        assert_eq!(split_signed_answer(r#"{"response_biz_content":{},"sign_type":"RSA"}"#), None);
    }
}

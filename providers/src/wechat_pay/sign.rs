//! WeChat Pay API v3's signatures and encryption, shared by the adapter and its fake: `WECHATPAY2-SHA256-RSA2048`
//! (SHA256withRSA, PKCS#1 v1.5, base64) over newline-terminated lines, and AEAD_AES_256_GCM with the APIv3 key.

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// The only signature scheme API v3 has (`Wechatpay-Signature-Type`, and the `Authorization` scheme).
pub const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// How far a signed answer's or notification's timestamp may be from our clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// The lines API v3 signs: each followed by `\n`, the last one included.
pub fn message(lines: &[&str]) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A 32-character random nonce, as WeChat's own SDKs make them.
pub fn nonce() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
}

/// An RSA private key that signs (the merchant's `apiclient_key.pem`, or a fake's platform key).
#[derive(Clone)]
pub struct PrivateKey(SigningKey<Sha256>);

impl PrivateKey {
    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the form WeChat Pay's certificate tool writes.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        RsaPrivateKey::from_pkcs8_pem(pem).map(Self::from).map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))
    }

    /// The base64 SHA256withRSA signature of `message`.
    pub fn sign(&self, message: &str) -> String {
        BASE64.encode(self.0.sign(message.as_bytes()).to_bytes())
    }
}

impl From<RsaPrivateKey> for PrivateKey {
    fn from(key: RsaPrivateKey) -> Self {
        Self(SigningKey::new(key))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// An RSA public key that verifies.
#[derive(Clone, Debug)]
pub struct PublicKey(VerifyingKey<Sha256>);

impl PublicKey {
    /// Reads an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), the form of WeChat Pay's public key file.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        RsaPublicKey::from_public_key_pem(pem).map(Self::from).map_err(|e| format!("not an RSA public key: {e}"))
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &str, signature: &str) -> bool {
        let Ok(bytes) = BASE64.decode(signature) else { return false };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else { return false };
        self.0.verify(message.as_bytes(), &signature).is_ok()
    }
}

impl From<RsaPublicKey> for PublicKey {
    fn from(key: RsaPublicKey) -> Self {
        Self(VerifyingKey::new(key))
    }
}

/// The keys WeChat Pay signs with, by the serial its `Wechatpay-Serial` header names: platform certificates' serial
/// numbers (upper-case hex), or the WeChat Pay public key's id (`PUB_KEY_ID_…`).
#[derive(Clone, Debug, Default)]
pub struct PlatformKeys(HashMap<String, PublicKey>);

impl PlatformKeys {
    /// Adds a key under its serial.
    pub fn insert(&mut self, serial: impl Into<String>, key: PublicKey) {
        self.0.insert(serial.into().to_ascii_uppercase(), key);
    }

    /// Adds a platform certificate (PEM) under its serial number.
    pub fn insert_certificate(&mut self, pem: &str) -> Result<String, String> {
        use x509_cert::der::{DecodePem, Encode};
        let cert = x509_cert::Certificate::from_pem(pem).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let serial = hex::encode_upper(cert.tbs_certificate.serial_number.as_bytes());
        let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
        let key = RsaPublicKey::from_public_key_der(&spki).map_err(|e| format!("certificate key is not RSA: {e}"))?;
        // DER may pad a serial with a leading zero byte; WeChat's header never carries it.
        let serial = serial.strip_prefix("00").map(str::to_string).unwrap_or(serial);
        self.insert(serial.clone(), key.into());
        Ok(serial)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks the `Wechatpay-*` headers over `body`: a known serial, a fresh timestamp, a valid signature.
    /// WeChat's deliberate probes (`WECHATPAY/SIGNTEST/…` signatures) fail here like any forgery.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), SignatureRefusal> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(timestamp), Some(nonce), Some(signature), Some(serial)) = (
            header("wechatpay-timestamp"),
            header("wechatpay-nonce"),
            header("wechatpay-signature"),
            header("wechatpay-serial"),
        ) else {
            return Err(SignatureRefusal::Unsigned);
        };
        if header("wechatpay-signature-type").is_some_and(|t| t != SCHEME) {
            return Err(SignatureRefusal::BadSignature);
        }
        let key = self.0.get(&serial.to_ascii_uppercase()).ok_or(SignatureRefusal::UnknownSerial)?;
        let timestamp: i64 = timestamp.parse().map_err(|_| SignatureRefusal::Unsigned)?;
        if (now - timestamp).abs() > MAX_SKEW_SECS {
            return Err(SignatureRefusal::Stale);
        }
        let body = std::str::from_utf8(body).map_err(|_| SignatureRefusal::BadSignature)?;
        if !key.verifies(&message(&[&timestamp.to_string(), nonce, body]), signature) {
            return Err(SignatureRefusal::BadSignature);
        }
        Ok(())
    }
}

/// Why a signed answer or notification from WeChat Pay was not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefusal {
    #[error("Wechatpay-* signature headers are missing")]
    Unsigned,
    #[error("Wechatpay-Serial names no platform certificate or public key we hold")]
    UnknownSerial,
    #[error("Wechatpay-Timestamp is more than 300 seconds from our clock")]
    Stale,
    #[error("Wechatpay-Signature does not verify")]
    BadSignature,
}

/// The `Authorization` header of a merchant API call: `method`, the URL's path with its query, and the body.
pub fn authorization(
    key: &PrivateKey,
    mchid: &str,
    serial: &str,
    method: &str,
    path_and_query: &str,
    body: &str,
    timestamp: i64,
    nonce: &str,
) -> String {
    let signature = key.sign(&message(&[method, path_and_query, &timestamp.to_string(), nonce, body]));
    format!(
        r#"{SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",timestamp="{timestamp}",serial_no="{serial}""#
    )
}

/// The fields of an `Authorization` header, for the side that checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationFields {
    pub mchid: String,
    pub nonce: String,
    pub signature: String,
    pub timestamp: i64,
    pub serial: String,
}

/// Reads an `Authorization` header of the API v3 scheme.
pub fn parse_authorization(header: &str) -> Option<AuthorizationFields> {
    let rest = header.strip_prefix(SCHEME)?.strip_prefix(' ')?;
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        fields.insert(name, value.strip_prefix('"')?.strip_suffix('"')?);
    }
    Some(AuthorizationFields {
        mchid: fields.get("mchid")?.to_string(),
        nonce: fields.get("nonce_str")?.to_string(),
        signature: fields.get("signature")?.to_string(),
        timestamp: fields.get("timestamp")?.parse().ok()?,
        serial: fields.get("serial_no")?.to_string(),
    })
}

/// The APIv3 key: 32 bytes that encrypt notifications' resources (AEAD_AES_256_GCM).
#[derive(Clone)]
pub struct ApiV3Key(Aes256Gcm);

impl ApiV3Key {
    /// The key as the merchant platform shows it: 32 ASCII characters.
    pub fn new(key: &str) -> Result<Self, String> {
        if key.len() != 32 {
            return Err(format!("the APIv3 key must be 32 characters, not {}", key.len()));
        }
        Ok(Self(Aes256Gcm::new_from_slice(key.as_bytes()).expect("32 bytes")))
    }

    /// Decrypts a notification's `resource` (base64 ciphertext with its 16-byte tag, a 12-character nonce).
    pub fn decrypt(&self, ciphertext: &str, nonce: &str, associated_data: &str) -> Option<Vec<u8>> {
        let data = BASE64.decode(ciphertext).ok()?;
        if nonce.len() != 12 {
            return None;
        }
        self.0
            .decrypt(Nonce::from_slice(nonce.as_bytes()), Payload { msg: &data, aad: associated_data.as_bytes() })
            .ok()
    }

    /// Encrypts as WeChat Pay does (the fake's side), to base64.
    pub fn encrypt(&self, plaintext: &[u8], nonce: &str, associated_data: &str) -> String {
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(nonce.as_bytes()), Payload { msg: plaintext, aad: associated_data.as_bytes() })
            .expect("AES-GCM encryption does not fail on short messages");
        BASE64.encode(sealed)
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(..)")
    }
}

/// The `paySign` of `getBrandWCPayRequest`: the merchant key's signature over appId, timeStamp, nonceStr, package.
pub fn pay_sign(key: &PrivateKey, app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> String {
    key.sign(&message(&[app_id, time_stamp, nonce_str, package]))
}

//! Tencent Cloud SMS `SendSms` (API 2021-01-11), signed with TC3-HMAC-SHA256.

//! Tencent Cloud SMS `SendSms` (API 2021-01-11), signed with TC3-HMAC-SHA256.
//!
//! Written from Tencent Cloud's API documents: 签名方法 v3 (the canonical request over `content-type;host` and the
//! body's SHA-256, the key chain `TC3`+key → date → service → `tc3_request`), `SendSms` (its request fields and
//! `SendStatusSet`), and the SMS and common error codes. Every answer is HTTP 200 with `{"Response": …}`: a
//! request-level failure carries `Response.Error`, a per-number one the number's `Code` in `SendStatusSet`.
//!
//! Assumptions that could not be confirmed against the live service: which codes come per number rather than per
//! request (the fake follows the documents' examples: the phone-number limits, a wrong number, the blacklist, an
//! empty package); a timed-out request is retried although Tencent may have sent it (`SendSms` has no idempotency
//! key); each template's parameters must fit the account's variable length limit (6 characters for new accounts),
//! which the verification code (6 digits, minutes) does and a card notice's branch name may not.

use std::time::Duration;

use app::platform::sms::VERIFICATION_CODE;
use app::platform::sms_dispatch::{DeliveryFailure, SmsVendor};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::SettingError;

/// Tencent Cloud's SMS endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
/// The API's action and version, sent as `X-TC-Action` and `X-TC-Version`.
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2021-01-11";
/// The service name in the signature's credential scope.
const SERVICE: &str = "sms";
const DEFAULT_REGION: &str = "ap-guangzhou";
const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// The Tencent Cloud SMS adapter: sends the outbox's template messages through `SendSms`.
pub struct TencentSms {
    secret_id: String,
    secret_key: String,
    sdk_app_id: String,
    sign_name: String,
    /// The app's template names (`verification_code`, `card_submitted`, …) with their Tencent template ids.
    templates: Vec<(String, String)>,
    region: String,
    endpoint: reqwest::Url,
    /// The `host` the signature covers: the endpoint's host, with its port when that is not the scheme's default.
    host: String,
    client: reqwest::Client,
}

/// The secret key never prints.
impl std::fmt::Debug for TencentSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentSms")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"[redacted]")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("sign_name", &self.sign_name)
            .field("templates", &self.templates)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint.as_str())
            .finish()
    }
}

impl TencentSms {
    /// Reads the settings (`TENCENT_SMS_*`); a missing or unusable one is an error naming it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let required = |name: &str| get(name).ok_or_else(|| SettingError(format!("{name} is not set")));
        let secret_id = required("TENCENT_SMS_SECRET_ID")?;
        let secret_key = required("TENCENT_SMS_SECRET_KEY")?;
        let sdk_app_id = required("TENCENT_SMS_SDK_APP_ID")?;
        let sign_name = required("TENCENT_SMS_SIGN_NAME")?;
        let mut templates = vec![(VERIFICATION_CODE.to_string(), required("TENCENT_SMS_TEMPLATE_ID")?)];
        if let Some(notices) = get("TENCENT_SMS_NOTICE_TEMPLATES") {
            for pair in notices.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some((name, id)) if !name.trim().is_empty() && !id.trim().is_empty() => {
                        templates.push((name.trim().to_string(), id.trim().to_string()))
                    }
                    _ => {
                        return Err(SettingError(format!(
                            "TENCENT_SMS_NOTICE_TEMPLATES: {pair:?} is not NAME=TEMPLATE_ID"
                        )))
                    }
                }
            }
        }
        let region = get("TENCENT_SMS_REGION").unwrap_or_else(|| DEFAULT_REGION.into());
        let endpoint_text = get("TENCENT_SMS_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        let endpoint = reqwest::Url::parse(&endpoint_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| SettingError(format!("TENCENT_SMS_ENDPOINT {endpoint_text:?} is not an http(s) URL")))?;
        let host = match endpoint.port() {
            Some(port) => format!("{}:{port}", endpoint.host_str().unwrap_or_default()),
            None => endpoint.host_str().unwrap_or_default().to_string(),
        };
        let timeout = match get("TENCENT_SMS_TIMEOUT_SECS") {
            None => DEFAULT_TIMEOUT_SECS,
            Some(v) => v.parse().ok().filter(|s| (1..=60).contains(s)).ok_or_else(|| {
                SettingError(format!("TENCENT_SMS_TIMEOUT_SECS {v:?} is not a number of seconds from 1 to 60"))
            })?,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout))
            .build()
            .map_err(|e| SettingError(format!("the HTTP client for Tencent Cloud SMS cannot start: {e}")))?;
        Ok(Self { secret_id, secret_key, sdk_app_id, sign_name, templates, region, endpoint, host, client })
    }

    /// Sends `template_id` filled with `params` to one mainland phone (11 digits); returns the vendor's serial.
    pub async fn send(&self, phone: &str, template_id: &str, params: &[String]) -> Result<String, DeliveryFailure> {
        let body = json!({
            "PhoneNumberSet": [format!("+86{phone}")],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": params,
        })
        .to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let authorization = authorization(&self.secret_id, &self.secret_key, &self.host, body.as_bytes(), timestamp);
        let answer = self
            .client
            .post(self.endpoint.clone())
            .header("Content-Type", "application/json")
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &self.region)
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(e) => return Err(transport(&e)),
        };
        let status = response.status();
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => return Err(transport(&e)),
        };
        if !status.is_success() {
            return Err(DeliveryFailure {
                code: format!("HTTP {}", status.as_u16()),
                message: format!("腾讯云短信接口返回 HTTP {}，稍后重试", status.as_u16()),
                retry: true,
            });
        }
        read_answer(&text)
    }
}

#[async_trait]
impl SmsVendor for TencentSms {
    async fn deliver(&self, phone: &str, template: &str, params: &[String]) -> Result<String, DeliveryFailure> {
        let Some((_, template_id)) = self.templates.iter().find(|(name, _)| name == template) else {
            return Err(DeliveryFailure {
                code: "NoTemplate".into(),
                message: format!("未配置短信模板 {template}（TENCENT_SMS_NOTICE_TEMPLATES），未发送"),
                retry: false,
            });
        };
        self.send(phone, template_id, params).await
    }
}

/// A request that got no answer: a timeout or a lost connection may clear, so both are retried.
fn transport(e: &reqwest::Error) -> DeliveryFailure {
    if e.is_timeout() {
        DeliveryFailure {
            code: "Timeout".into(), message: "腾讯云短信接口超时，稍后重试".into(), retry: true
        }
    } else {
        DeliveryFailure {
            code: "Network".into(), message: "无法连接腾讯云短信接口，稍后重试".into(), retry: true
        }
    }
}

/// Reads `SendSms`'s answer for one number: its serial on `Ok`, otherwise the mapped failure.
fn read_answer(text: &str) -> Result<String, DeliveryFailure> {
    let unreadable = || DeliveryFailure {
        code: "InvalidResponse".into(),
        message: "腾讯云短信接口的应答无法识别，稍后重试".into(),
        retry: true,
    };
    let answer: Value = serde_json::from_str(text).map_err(|_| unreadable())?;
    let response = answer.get("Response").ok_or_else(unreadable)?;
    if let Some(error) = response.get("Error") {
        let code = error.get("Code").and_then(Value::as_str).unwrap_or("UnknownError");
        return Err(failure(code));
    }
    let status = response.pointer("/SendStatusSet/0").ok_or_else(unreadable)?;
    match status.get("Code").and_then(Value::as_str) {
        Some("Ok") => Ok(status.get("SerialNo").and_then(Value::as_str).unwrap_or_default().to_string()),
        Some(code) => Err(failure(code)),
        None => Err(unreadable()),
    }
}

/// Maps one of Tencent's error codes to whether the message may go through later, and what an operator reads.
fn failure(code: &str) -> DeliveryFailure {
    let (retry, message): (bool, &str) = match code {
        "LimitExceeded.PhoneNumberThirtySecondLimit" => (true, "该手机号30秒内已收到短信，稍后重试"),
        "LimitExceeded.PhoneNumberOneHourLimit" => (false, "该手机号1小时内接收短信已达腾讯云上限"),
        "LimitExceeded.PhoneNumberDailyLimit" => (false, "该手机号今日接收短信已达腾讯云上限"),
        "LimitExceeded.PhoneNumberSameContentDailyLimit" => (false, "该手机号今日接收相同内容短信已达上限"),
        "LimitExceeded.DeliveryFrequencyLimit" => (false, "该手机号接收频率超过腾讯云的频率限制"),
        "LimitExceeded.PhoneNumberCountLimit" => (false, "单次请求的手机号数量超过上限"),
        "LimitExceeded.AppDailyLimit"
        | "LimitExceeded.DailyLimit"
        | "LimitExceeded.AppGlobalDailyLimit"
        | "LimitExceeded.AppMainlandChinaDailyLimit"
        | "LimitExceeded.AppCountryOrRegionDailyLimit" => {
            (false, "短信应用今日发送量已达腾讯云控制台设置的上限，请在控制台调整")
        }
        "LimitExceeded.GlobalSmsSendingRateLimit" | "RequestLimitExceeded" => {
            (true, "腾讯云短信接口请求频率超限，稍后重试")
        }
        "InvalidParameterValue.IncorrectPhoneNumber" | "FailedOperation.PhoneNumberParseFail" => {
            (false, "手机号格式错误，腾讯云无法发送")
        }
        "FailedOperation.PhoneNumberInBlacklist" => (false, "该手机号在腾讯云黑名单中（用户退订或投诉），无法发送"),
        "FailedOperation.InsufficientBalanceInSmsPackage" => (false, "腾讯云短信套餐包余量不足，请购买套餐包"),
        "UnauthorizedOperation.ServiceSuspendDueToArrears" => (false, "腾讯云账户欠费，短信服务已暂停，请充值"),
        "AuthFailure.SignatureFailure" | "AuthFailure.InvalidAuthorization" => {
            (false, "腾讯云签名校验失败：请检查 TENCENT_SMS_SECRET_KEY 与 TENCENT_SMS_SECRET_ID")
        }
        "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => {
            (false, "腾讯云密钥不存在或已停用：请检查 TENCENT_SMS_SECRET_ID")
        }
        "AuthFailure.SignatureExpire" => (false, "腾讯云签名已过期：请检查服务器时钟"),
        "AuthFailure.UnauthorizedOperation" | "UnauthorizedOperation.RequestPermissionDeny" => {
            (false, "腾讯云密钥无短信发送权限：请在访问管理中授权")
        }
        "UnauthorizedOperation.RequestIpNotInWhitelist" => (false, "服务器IP不在腾讯云短信应用的白名单中"),
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail"
        | "InvalidParameterValue.SdkAppIdNotExist"
        | "UnauthorizedOperation.SdkAppIdIsDisabled" => {
            (false, "短信应用不存在、不属于该账号或已停用：请检查 TENCENT_SMS_SDK_APP_ID")
        }
        "FailedOperation.SignatureIncorrectOrUnapproved" | "FailedOperation.MissingSignature" => {
            (false, "短信签名不存在或未审核通过：请检查 TENCENT_SMS_SIGN_NAME")
        }
        "FailedOperation.TemplateIncorrectOrUnapproved"
        | "FailedOperation.TemplateIdNotExist"
        | "FailedOperation.TemplateUnapprovedOrNotExist"
        | "FailedOperation.MissingTemplateList" => (false, "短信模板不存在或未审核通过：请检查模板ID"),
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
        | "InvalidParameterValue.TemplateParameterFormatError"
        | "InvalidParameterValue.TemplateParameterLengthLimit" => {
            (false, "模板参数与审核通过的模板不符（个数、格式或长度）")
        }
        "FailedOperation.ContainSensitiveWord"
        | "InvalidParameter.DirtyWordFound"
        | "InvalidParameterValue.TemplateWithDirtyWords" => (false, "短信内容含敏感词，腾讯云拒绝发送"),
        "UnsupportedOperation.UnsupportedRegion" | "InvalidRegion" => {
            (false, "地域不支持短信：请检查 TENCENT_SMS_REGION")
        }
        code if code.starts_with("InternalError")
            || code.starts_with("RequestLimitExceeded")
            || code == "ServiceUnavailable"
            || code == "ResourceUnavailable" =>
        {
            (true, "腾讯云短信服务内部错误，稍后重试")
        }
        _ => (false, "腾讯云短信拒绝发送，错误码见日志"),
    };
    DeliveryFailure { code: code.to_string(), message: message.to_string(), retry }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The UTC date of `timestamp`, `yyyy-mm-dd`, as the credential scope names it.
pub fn scope_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0).unwrap_or_default().format("%Y-%m-%d").to_string()
}

/// The `Authorization` header of a JSON POST to `/` of `host` with `body` at `timestamp` (TC3-HMAC-SHA256).
pub fn authorization(secret_id: &str, secret_key: &str, host: &str, body: &[u8], timestamp: i64) -> String {
    let canonical =
        format!("POST\n/\n\ncontent-type:application/json\nhost:{host}\n\ncontent-type;host\n{}", sha256_hex(body));
    let date = scope_date(timestamp);
    let scope = format!("{date}/{SERVICE}/tc3_request");
    let to_sign = format!("TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}", sha256_hex(canonical.as_bytes()));
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), &date);
    let k_service = hmac_sha256(&k_date, SERVICE);
    let k_signing = hmac_sha256(&k_service, "tc3_request");
    let signature = hex::encode(hmac_sha256(&k_signing, &to_sign));
    format!("TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}")
}

#[cfg(all(test, feature = "fakes"))]
mod tests {
    use std::sync::Arc;

    use app::domain::Mobile;
    use app::platform::db::Db;
    use app::platform::sms::{SmsMessage, SmsSender};
    use app::platform::sms_dispatch::{Dispatcher, Outcome, Pacing, VendorOutbox};
    use app::platform::test_db::fresh_databases;

    use super::*;
    use crate::fakes::oracle;
    use crate::fakes::tencent_sms::FakeTencentSms;

    fn adapter(fake: &FakeTencentSms, change: &[(&str, &str)]) -> TencentSms {
        let mut settings = fake.settings();
        for (key, value) in change {
            settings.retain(|(k, _)| k != key);
            settings.push((key.to_string(), value.to_string()));
        }
        TencentSms::from_lookup(|name| settings.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("the fake's settings are complete")
    }

    fn code(n: &str) -> Vec<String> {
        vec![n.to_string(), "5".to_string()]
    }

    /// Our Authorization header equals the one the Tencent Cloud SDK builds for the same secret, time and body,
    /// on the default host and on a host with a port.
    #[test]
    fn authorization_matches_the_sdk() {
        let Some(python) = oracle::python() else { return };
        let script = r#"
import json, sys
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import sms_client
i = json.load(sys.stdin)
abstract_client.time.time = lambda: i["timestamp"]
http = HttpProfile(endpoint=i["host"], reqMethod="POST")
client = sms_client.SmsClient(credential.Credential(i["id"], i["key"]), "ap-guangzhou", ClientProfile(httpProfile=http))
req = RequestInternal(i["host"], "POST", "/")
client._build_req_with_tc3_signature("SendSms", i["params"], req)
print(json.dumps({"body": req.data, "authorization": req.header["Authorization"],
                  "content_type": req.header["Content-Type"]}))
"#;
        for (host, timestamp) in [("sms.tencentcloudapi.com", 1_767_225_599_i64), ("127.0.0.1:18080", 1_767_225_600)] {
            let input = json!({
                "host": host, "timestamp": timestamp, "id": "AKIDexample0001", "key": "s3cr3t-Key/with+chars",
                "params": {"PhoneNumberSet": ["+8613900000001"], "SmsSdkAppId": "1400000001",
                           "SignName": "大连智慧交通", "TemplateId": "2000001", "TemplateParamSet": ["123456", "5"]},
            });
            let sdk = oracle::run(&python, script, &input);
            assert_eq!(sdk["content_type"], "application/json");
            let body = sdk["body"].as_str().unwrap().as_bytes();
            let ours = authorization("AKIDexample0001", "s3cr3t-Key/with+chars", host, body, timestamp);
            assert_eq!(ours, sdk["authorization"].as_str().unwrap(), "{host}");
            let wrong = authorization("AKIDexample0001", "s3cr3t-Key/with+chars", host, body, timestamp + 1);
            assert_ne!(wrong, ours, "the timestamp is signed");
        }
        assert!(authorization("a", "k", "h", b"{}", 1_767_225_599).contains("Credential=a/2025-12-31/sms/tc3_request"));
        assert!(authorization("a", "k", "h", b"{}", 1_767_225_600).contains("Credential=a/2026-01-01/sms/tc3_request"));
    }

    /// The SDK itself, pointed at the fake, is accepted with the right secret and refused with a wrong one, and
    /// reads the fake's per-number codes: the fake checks what Tencent checks, in Tencent's shapes.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_sdk_talks_to_the_fake() {
        let Some(python) = oracle::python() else { return };
        let fake = FakeTencentSms::start().await.unwrap();
        let script = r#"
import json, sys
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import sms_client, models
i = json.load(sys.stdin)
http = HttpProfile(endpoint=i["host"], protocol="http", reqMethod="POST")
client = sms_client.SmsClient(credential.Credential(i["id"], i["key"]), "ap-guangzhou", ClientProfile(httpProfile=http))
req = models.SendSmsRequest()
req.from_json_string(json.dumps({"PhoneNumberSet": ["+8613900000009"], "SmsSdkAppId": i["app"], "SignName": i["sign"],
                                 "TemplateId": i["template"], "TemplateParamSet": ["654321", "5"]}))
try:
    print(json.dumps({"code": client.SendSms(req).SendStatusSet[0].Code}))
except TencentCloudSDKException as e:
    print(json.dumps({"code": e.get_code()}))
"#;
        let a = fake.account().clone();
        let host = fake.url().trim_start_matches("http://").to_string();
        let input = |key: &str| {
            json!({"host": host, "id": a.secret_id, "key": key, "app": a.sdk_app_id, "sign": a.sign_name,
                   "template": a.template_ids[0]})
        };
        let run = |input: Value| {
            let python = python.clone();
            tokio::task::spawn_blocking(move || oracle::run(&python, script, &input))
        };
        assert_eq!(run(input(&a.secret_key)).await.unwrap()["code"], "Ok");
        assert_eq!(fake.inbox("13900000009").len(), 1);
        assert_eq!(fake.inbox("13900000009")[0].params, code("654321"));
        assert_eq!(run(input("not-the-key")).await.unwrap()["code"], "AuthFailure.SignatureFailure");
        fake.fail_next("LimitExceeded.PhoneNumberDailyLimit");
        assert_eq!(run(input(&a.secret_key)).await.unwrap()["code"], "LimitExceeded.PhoneNumberDailyLimit");
        assert_eq!(fake.inbox("13900000009").len(), 1, "refused messages are not delivered");
    }

    /// A code goes out through `SendSms` and lands in the fake's inbox with its template parameters, listed by the
    /// inbox route the production smoke test reads.
    #[tokio::test]
    async fn sends_a_code_through_the_fake() {
        let fake = FakeTencentSms::start().await.unwrap();
        let sms = adapter(&fake, &[]);
        let serial = sms.deliver("13900000001", VERIFICATION_CODE, &code("123456")).await.unwrap();
        assert!(!serial.is_empty());
        let listed: Value = reqwest::get(format!("{}/fake/sms/inbox?phone=13900000001", fake.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed[0]["params"], json!(["123456", "5"]));
        assert_eq!(listed[0]["template_id"], json!(fake.account().template_ids[0]));
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let other: Value = reqwest::get(format!("{}/fake/sms/inbox?phone=13900000002", fake.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(other, json!([]));
    }

    /// A wrong secret key or id is refused by the fake's signature check and mapped to a permanent failure that
    /// names the setting to fix.
    #[tokio::test]
    async fn a_wrong_secret_is_refused_and_named() {
        let fake = FakeTencentSms::start().await.unwrap();
        let wrong_key = adapter(&fake, &[("TENCENT_SMS_SECRET_KEY", "not-the-key")]);
        let refused = wrong_key.deliver("13900000001", VERIFICATION_CODE, &code("1")).await.unwrap_err();
        assert_eq!(refused.code, "AuthFailure.SignatureFailure");
        assert!(!refused.retry);
        assert!(refused.message.contains("TENCENT_SMS_SECRET_KEY"), "{}", refused.message);
        let wrong_id = adapter(&fake, &[("TENCENT_SMS_SECRET_ID", "AKIDnobody")]);
        let refused = wrong_id.deliver("13900000001", VERIFICATION_CODE, &code("1")).await.unwrap_err();
        assert_eq!((refused.code.as_str(), refused.retry), ("AuthFailure.SecretIdNotFound", false));
        assert!(fake.delivered().is_empty());
    }

    /// Unapproved app id, signature and template come back as Tencent's errors, mapped to their settings.
    #[tokio::test]
    async fn wrong_account_settings_are_named() {
        let fake = FakeTencentSms::start().await.unwrap();
        for (setting, value, expected) in [
            ("TENCENT_SMS_SDK_APP_ID", "1400999999", "InvalidParameterValue.SdkAppIdNotExist"),
            ("TENCENT_SMS_SIGN_NAME", "别的签名", "FailedOperation.SignatureIncorrectOrUnapproved"),
            ("TENCENT_SMS_TEMPLATE_ID", "42", "FailedOperation.TemplateIncorrectOrUnapproved"),
            ("TENCENT_SMS_REGION", "ap-shanghai", "UnsupportedOperation.UnsupportedRegion"),
        ] {
            let refused = adapter(&fake, &[(setting, value)])
                .deliver("13900000001", VERIFICATION_CODE, &code("1"))
                .await
                .unwrap_err();
            assert_eq!(refused.code, expected, "{setting}");
            assert!(!refused.retry, "{setting}");
            let named = setting == "TENCENT_SMS_TEMPLATE_ID" || refused.message.contains(setting);
            assert!(named, "{setting}: {}", refused.message);
        }
        let notice = adapter(&fake, &[]).deliver("13900000001", "card_made", &code("1")).await.unwrap_err();
        assert_eq!((notice.code.as_str(), notice.retry), ("NoTemplate", false));
        let mapped = adapter(&fake, &[("TENCENT_SMS_NOTICE_TEMPLATES", "card_made=42")]);
        let refused = mapped.deliver("13900000001", "card_made", &code("1")).await.unwrap_err();
        assert_eq!(refused.code, "FailedOperation.TemplateIncorrectOrUnapproved", "the notice's own template id");
        assert!(fake.delivered().is_empty());
    }

    /// The vendor's error codes, per request and per number, map to retry or not and to an operator's message.
    #[tokio::test]
    async fn vendor_error_codes_are_mapped() {
        let fake = FakeTencentSms::start().await.unwrap();
        let sms = adapter(&fake, &[]);
        for (vendor_code, retry, words) in [
            ("LimitExceeded.PhoneNumberDailyLimit", false, "今日"),
            ("LimitExceeded.PhoneNumberThirtySecondLimit", true, "30秒"),
            ("InvalidParameterValue.IncorrectPhoneNumber", false, "手机号格式错误"),
            ("FailedOperation.InsufficientBalanceInSmsPackage", false, "套餐包余量不足"),
            ("FailedOperation.PhoneNumberInBlacklist", false, "黑名单"),
            ("UnauthorizedOperation.ServiceSuspendDueToArrears", false, "欠费"),
            ("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", false, "模板参数"),
            ("InternalError.Timeout", true, "稍后重试"),
            ("RequestLimitExceeded", true, "频率超限"),
            ("FailedOperation.SomethingNew", false, "错误码见日志"),
        ] {
            fake.fail_next(vendor_code);
            let failed = sms.deliver("13900000001", VERIFICATION_CODE, &code("1")).await.unwrap_err();
            assert_eq!(failed.code, vendor_code);
            assert_eq!(failed.retry, retry, "{vendor_code}");
            assert!(failed.message.contains(words), "{vendor_code}: {}", failed.message);
        }
        assert!(fake.delivered().is_empty());
        sms.deliver("13900000001", VERIFICATION_CODE, &code("1")).await.expect("the failures were used up");
        let failed = sms.deliver("1390000000", VERIFICATION_CODE, &code("1")).await.unwrap_err();
        assert_eq!(failed.code, "InvalidParameterValue.IncorrectPhoneNumber", "the fake checks the number");
    }

    /// Requests signed at a stale time, with a tampered body, or for another action or version are refused as
    /// Tencent refuses them.
    #[tokio::test]
    async fn the_fake_refuses_stale_tampered_and_foreign_requests() {
        let fake = FakeTencentSms::start().await.unwrap();
        let a = fake.account().clone();
        let host = fake.url().trim_start_matches("http://").to_string();
        let body = json!({"PhoneNumberSet": ["+8613900000001"], "SmsSdkAppId": a.sdk_app_id, "SignName": a.sign_name,
                          "TemplateId": a.template_ids[0], "TemplateParamSet": ["1", "5"]})
        .to_string();
        let post = |signed_body: String, sent_body: String, ts: i64, action: &str, version: &str| {
            let auth = authorization(&a.secret_id, &a.secret_key, &host, signed_body.as_bytes(), ts);
            let request = reqwest::Client::new()
                .post(fake.url())
                .header("Content-Type", "application/json")
                .header("X-TC-Action", action)
                .header("X-TC-Version", version)
                .header("X-TC-Timestamp", ts.to_string())
                .header("X-TC-Region", "ap-guangzhou")
                .header("Authorization", auth)
                .body(sent_body);
            async move { read_answer(&request.send().await.unwrap().text().await.unwrap()) }
        };
        let now = chrono::Utc::now().timestamp();
        let tampered = body.replace("\"1\"", "\"2\"");
        let cases = [
            (body.clone(), body.clone(), now - 600, ACTION, VERSION, "AuthFailure.SignatureExpire"),
            (body.clone(), body.clone(), now + 600, ACTION, VERSION, "AuthFailure.SignatureExpire"),
            (body.clone(), tampered, now, ACTION, VERSION, "AuthFailure.SignatureFailure"),
            (body.clone(), body.clone(), now, "SendStatusStatistics", VERSION, "InvalidAction"),
            (body.clone(), body.clone(), now, ACTION, "2019-07-11", "NoSuchVersion"),
        ];
        for (signed, sent, ts, action, version, expected) in cases {
            let failed = post(signed, sent, ts, action, version).await.unwrap_err();
            assert_eq!(failed.code, expected);
        }
        assert!(fake.delivered().is_empty());
        post(body.clone(), body, now, ACTION, VERSION).await.expect("the same request, fresh and intact, goes through");
        assert_eq!(fake.delivered().len(), 1);
    }

    /// A vendor that does not answer within the timeout is a retryable failure.
    #[tokio::test]
    async fn a_stalled_vendor_times_out_and_is_retryable() {
        let fake = FakeTencentSms::start().await.unwrap();
        fake.stall(Some(std::time::Duration::from_secs(3)));
        let sms = adapter(&fake, &[("TENCENT_SMS_TIMEOUT_SECS", "1")]);
        let started = std::time::Instant::now();
        let failed = sms.deliver("13900000001", VERIFICATION_CODE, &code("1")).await.unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_millis(2500));
        assert_eq!((failed.code.as_str(), failed.retry), ("Timeout", true));
        let gone = TencentSms::from_lookup(|name| match name {
            "TENCENT_SMS_ENDPOINT" => Some("http://127.0.0.1:1".into()),
            _ => fake.settings().into_iter().find(|(k, _)| k == name).map(|(_, v)| v),
        })
        .unwrap();
        let failed = gone.deliver("13900000001", VERIFICATION_CODE, &code("1")).await.unwrap_err();
        assert_eq!((failed.code.as_str(), failed.retry), ("Network", true));
    }

    /// Each required setting missing is named; the endpoint and timeout are checked; the key never prints.
    #[test]
    fn settings_name_what_is_missing() {
        let full: Vec<(&str, &str)> = vec![
            ("TENCENT_SMS_SECRET_ID", "AKIDx"),
            ("TENCENT_SMS_SECRET_KEY", "topsecretkey"),
            ("TENCENT_SMS_SDK_APP_ID", "1400000001"),
            ("TENCENT_SMS_SIGN_NAME", "大连智慧交通"),
            ("TENCENT_SMS_TEMPLATE_ID", "2000001"),
        ];
        let with = |extra: &[(&'static str, &'static str)], without: &str| {
            let mut settings = full.clone();
            settings.retain(|(k, _)| *k != without);
            settings.extend_from_slice(extra);
            TencentSms::from_lookup(|name| settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
        };
        let sms = with(&[], "").unwrap();
        assert_eq!((sms.host.as_str(), sms.region.as_str()), ("sms.tencentcloudapi.com", "ap-guangzhou"));
        let printed = format!("{sms:?}");
        assert!(!printed.contains("topsecretkey") && printed.contains("redacted"), "{printed}");
        for (name, _) in &full {
            let err = with(&[], name).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
        assert_eq!(with(&[("TENCENT_SMS_ENDPOINT", "http://127.0.0.1:8443/")], "").unwrap().host, "127.0.0.1:8443");
        assert_eq!(with(&[("TENCENT_SMS_ENDPOINT", "https://h.example:443")], "").unwrap().host, "h.example");
        for (name, value) in [
            ("TENCENT_SMS_ENDPOINT", "ftp://x"),
            ("TENCENT_SMS_TIMEOUT_SECS", "0"),
            ("TENCENT_SMS_NOTICE_TEMPLATES", "card_made"),
        ] {
            let err = with(&[(name, value)], "").unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
        let notices = with(&[("TENCENT_SMS_NOTICE_TEMPLATES", "card_made=11, card_collected=12")], "").unwrap();
        assert_eq!(notices.templates.len(), 3);
    }

    async fn queue(db: &Db, phone: &str, code: &str) {
        let mut tx = db.begin_write().await.unwrap();
        let message = SmsMessage::verification_code(code, 5);
        VendorOutbox.send(&mut tx, &Mobile::parse(phone).unwrap(), &message).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// Two instances' dispatchers racing on one database send each message through the fake exactly once; a
    /// retryable failure is sent again after its wait, a permanent one is recorded with its message, and a rolled
    /// back request sends nothing — on SQLite and PostgreSQL.
    #[tokio::test]
    async fn dispatchers_race_through_the_fake_exactly_once() {
        for (backend, db) in fresh_databases().await {
            let fake = FakeTencentSms::start().await.unwrap();
            let phones: Vec<String> = (0..30).map(|n| format!("1370000{n:04}")).collect();
            for (n, phone) in phones.iter().enumerate() {
                queue(&db, phone, &format!("{n:06}")).await;
            }
            let mut tx = db.begin_write().await.unwrap();
            let message = SmsMessage::verification_code("999999", 5);
            VendorOutbox.send(&mut tx, &Mobile::parse("13800000000").unwrap(), &message).await.unwrap();
            tx.rollback().await.unwrap();
            let a = Dispatcher::new(db.clone(), Arc::new(adapter(&fake, &[])), Pacing::default());
            let b = Dispatcher::new(db.clone(), Arc::new(adapter(&fake, &[])), Pacing::default());
            let (ra, rb) = tokio::join!(a.drain(), b.drain());
            let outcomes: Vec<Outcome> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
            assert_eq!(outcomes.len(), 30, "{backend}");
            assert!(outcomes.iter().all(|o| *o == Outcome::Sent), "{backend}: {outcomes:?}");
            assert_eq!(fake.delivered().len(), 30, "{backend}: nothing twice, nothing rolled back");
            for (n, phone) in phones.iter().enumerate() {
                let inbox = fake.inbox(phone);
                assert_eq!(inbox.len(), 1, "{backend}: {phone}");
                assert_eq!(inbox[0].params, code(&format!("{n:06}")), "{backend}");
            }
            assert!(fake.inbox("13800000000").is_empty(), "{backend}");

            queue(&db, "13600000001", "111111").await;
            fake.fail_next("InternalError.Timeout");
            assert_eq!(a.drain().await.unwrap(), vec![Outcome::Retrying], "{backend}");
            assert!(fake.inbox("13600000001").is_empty(), "{backend}");
            sqlx::query("UPDATE sms_dispatch SET due_at = 0 WHERE state = 'queued'").execute(db.pool()).await.unwrap();
            assert_eq!(b.drain().await.unwrap(), vec![Outcome::Sent], "{backend}");
            assert_eq!(fake.inbox("13600000001").len(), 1, "{backend}");

            queue(&db, "13600000002", "222222").await;
            fake.fail_next("FailedOperation.InsufficientBalanceInSmsPackage");
            assert_eq!(a.drain().await.unwrap(), vec![Outcome::Failed], "{backend}");
            let error: Option<String> = sqlx::query_scalar("SELECT error FROM sms_dispatch WHERE phone = $1")
                .bind("13600000002")
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(error.as_deref(), Some("腾讯云短信套餐包余量不足，请购买套餐包"), "{backend}");
        }
    }
}

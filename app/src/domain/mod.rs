//! The shared vocabulary, for server and browser alike: validated value types (card and ID numbers, plates,
//! money, dates…), so bad input is rejected once, at the edge, and the words every area speaks (`Channel`, the
//! webview a user came from; `Flash`, the one-time message a form leaves for the next page). Anything may import
//! `domain`; it imports nothing of the crate but itself.

pub mod card_no;
pub mod channel;
pub mod civil_date;
pub mod decision_no;
pub mod flash;
pub mod id_number;
pub mod licence;
mod mask;
pub mod mobile;
pub mod money;
pub mod person_name;
pub mod plate;
pub mod sms_code;

pub use card_no::{luhn_check_digit, CardNo};
pub use channel::Channel;
pub use civil_date::CivilDate;
pub use decision_no::DecisionNo;
pub use flash::Flash;
pub use id_number::IdNumber;
pub use licence::{LicenceClass, LicenceStatus};
pub use mobile::Mobile;
pub use money::Fen;
pub use person_name::PersonName;
pub use plate::{Plate, PlateType};
pub use sms_code::SmsCode;

/// Why a value was rejected; the message is shown to the user verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum DomainError {
    /// The input was empty or only whitespace.
    #[error("必填项不能为空")]
    Required,
    /// The ID number is not 17 digits followed by a digit or X.
    #[error("身份证号格式不正确")]
    InvalidIdNumber,
    /// The ID number's check character does not match its first 17 digits.
    #[error("身份证号校验位不正确")]
    IdNumberChecksum,
    /// The ID number's embedded birth date is not a real date between 1900 and 2099.
    #[error("身份证号中的出生日期无效")]
    IdNumberBirthDate,
    /// The plate number does not follow the province + letter + serial layout.
    #[error("车牌号格式不正确（如：辽B12345）")]
    InvalidPlate,
    /// The plate type code is not one the app supports.
    #[error("号牌种类不正确")]
    InvalidPlateType,
    /// The card number is not 16 to 19 digits.
    #[error("交通服务卡卡号应为16至19位数字")]
    InvalidCardNo,
    /// The card number fails the Luhn check, usually a mistyped digit.
    #[error("交通服务卡卡号校验不通过，请核对")]
    CardNoChecksum,
    /// The mobile number is not a mainland 11-digit number.
    #[error("手机号格式不正确")]
    InvalidMobile,
    /// The decision number is not 15 or 16 digits.
    #[error("决定书编号应为15或16位数字")]
    InvalidDecisionNo,
    /// The amount is not a non-negative yuan value with at most two decimals.
    #[error("金额格式不正确")]
    InvalidAmount,
    /// The amount exceeds the 10,000,000 yuan ceiling.
    #[error("金额不能超过10000000元")]
    AmountTooLarge,
    /// The licence class code is unknown.
    #[error("准驾车型不正确")]
    InvalidLicenceClass,
    /// The licence status code is unknown.
    #[error("驾驶证状态不正确")]
    InvalidLicenceStatus,
    /// The name is not 2 to 20 Chinese characters (optionally joined by "·").
    #[error("姓名格式不正确")]
    InvalidName,
    /// The SMS code is not exactly 6 digits.
    #[error("验证码应为6位数字")]
    InvalidSmsCode,
}

/// Trims surrounding whitespace and rejects blank input; every `parse` starts here.
pub(crate) fn required(input: &str) -> Result<&str, DomainError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        Err(DomainError::Required)
    } else {
        Ok(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_trims_surrounding_whitespace() {
        assert_eq!(required("  辽B12345 \n"), Ok("辽B12345"));
    }

    #[test]
    fn required_treats_full_width_space_as_blank() {
        assert_eq!(required("\u{3000}"), Err(DomainError::Required));
    }

    #[test]
    fn required_rejects_empty_input() {
        assert_eq!(required(""), Err(DomainError::Required));
        assert_eq!(required("   "), Err(DomainError::Required));
    }

    #[test]
    fn errors_read_as_chinese_messages_for_the_user() {
        assert_eq!(DomainError::Required.to_string(), "必填项不能为空");
        assert_eq!(DomainError::InvalidPlate.to_string(), "车牌号格式不正确（如：辽B12345）");
        assert_eq!(DomainError::CardNoChecksum.to_string(), "交通服务卡卡号校验不通过，请核对");
        assert_eq!(DomainError::InvalidSmsCode.to_string(), "验证码应为6位数字");
    }
}

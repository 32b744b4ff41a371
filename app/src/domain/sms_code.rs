//! One-time codes sent by SMS to confirm a mobile number.

use std::fmt;

use super::{required, DomainError};

/// A 6-digit SMS verification code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SmsCode(String);

impl SmsCode {
    /// Parses a code, keeping leading zeros because they are significant.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let code = required(input)?;
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(DomainError::InvalidSmsCode)
        }
    }

    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SmsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_six_digits() {
        let code = SmsCode::parse("123456").unwrap();
        assert_eq!(code.as_str(), "123456");
        assert_eq!(code.to_string(), "123456");
    }

    #[test]
    fn keeps_leading_zeros() {
        assert_eq!(SmsCode::parse("000123").unwrap().as_str(), "000123");
    }

    #[test]
    fn trims_surrounding_whitespace_from_pasted_codes() {
        assert_eq!(SmsCode::parse(" 654321\n").unwrap().as_str(), "654321");
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(SmsCode::parse(""), Err(DomainError::Required));
        assert_eq!(SmsCode::parse(" "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_five_or_seven_digits() {
        assert_eq!(SmsCode::parse("12345"), Err(DomainError::InvalidSmsCode));
        assert_eq!(SmsCode::parse("1234567"), Err(DomainError::InvalidSmsCode));
    }

    #[test]
    fn rejects_letters_spaces_and_full_width_digits() {
        for input in ["12345a", "123 456", "１２３４５６", "-12345"] {
            assert_eq!(SmsCode::parse(input), Err(DomainError::InvalidSmsCode), "{input}");
        }
    }
}

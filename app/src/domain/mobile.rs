//! Mainland mobile phone numbers, used for SMS verification.

use std::fmt;

use super::mask::keep_ends;
use super::{required, DomainError};

/// An 11-digit mainland mobile number starting 13 to 19.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Mobile(String);

impl Mobile {
    /// Parses a mobile number, ignoring the spaces and hyphens people use to group digits.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let digits: String = required(input)?.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if valid {
            Ok(Self(digits))
        } else {
            Err(DomainError::InvalidMobile)
        }
    }

    /// The number as 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle four digits hidden, e.g. `138****5678`.
    pub fn masked(&self) -> String {
        keep_ends(&self.0, 3, 4)
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_an_eleven_digit_number() {
        let m = Mobile::parse("13812345678").unwrap();
        assert_eq!(m.as_str(), "13812345678");
        assert_eq!(m.to_string(), "13812345678");
    }

    #[test]
    fn accepts_second_digit_from_3_to_9() {
        for second in '3'..='9' {
            let input = format!("1{second}812345678");
            assert!(Mobile::parse(&input).is_ok(), "{input}");
        }
    }

    #[test]
    fn removes_spaces_and_hyphens() {
        assert_eq!(Mobile::parse(" 138 1234 5678 ").unwrap().as_str(), "13812345678");
        assert_eq!(Mobile::parse("138-1234-5678").unwrap().as_str(), "13812345678");
    }

    #[test]
    fn masks_the_middle_four_digits() {
        assert_eq!(Mobile::parse("13812345678").unwrap().masked(), "138****5678");
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(Mobile::parse(""), Err(DomainError::Required));
        assert_eq!(Mobile::parse("  "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_second_digit_0_to_2() {
        assert_eq!(Mobile::parse("10812345678"), Err(DomainError::InvalidMobile));
        assert_eq!(Mobile::parse("11812345678"), Err(DomainError::InvalidMobile));
        assert_eq!(Mobile::parse("12812345678"), Err(DomainError::InvalidMobile));
    }

    #[test]
    fn rejects_numbers_not_starting_with_1() {
        assert_eq!(Mobile::parse("23812345678"), Err(DomainError::InvalidMobile));
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(Mobile::parse("1381234567"), Err(DomainError::InvalidMobile));
        assert_eq!(Mobile::parse("138123456789"), Err(DomainError::InvalidMobile));
    }

    #[test]
    fn rejects_country_code_and_other_characters() {
        assert_eq!(Mobile::parse("+8613812345678"), Err(DomainError::InvalidMobile));
        assert_eq!(Mobile::parse("8613812345678"), Err(DomainError::InvalidMobile));
        assert_eq!(Mobile::parse("1381234567a"), Err(DomainError::InvalidMobile));
        assert_eq!(Mobile::parse("--"), Err(DomainError::InvalidMobile));
    }
}

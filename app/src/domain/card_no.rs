//! ICBC traffic service card numbers, used to pay fines.

use std::fmt;

use super::{required, DomainError};

/// A 16- to 19-digit card number that passes the Luhn check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CardNo(String);

impl CardNo {
    /// Parses a card number, ignoring the spaces people type between digit groups.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let digits: String = required(input)?.chars().filter(|c| !c.is_whitespace()).collect();
        if !(16..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::InvalidCardNo);
        }
        if !luhn_sum(&digits, false).is_multiple_of(10) {
            return Err(DomainError::CardNoChecksum);
        }
        Ok(Self(digits))
    }

    /// The card number as digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the last four digits, e.g. `****1234`, enough for the holder to recognise the card.
    pub fn masked(&self) -> String {
        format!("****{}", &self.0[self.0.len() - 4..])
    }
}

impl fmt::Display for CardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a configured card number prefix is usable: 6 to 12 digits.
pub fn is_card_prefix(prefix: &str) -> bool {
    (6..=12).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_digit())
}

/// The Luhn check digit to append to `payload` (the card number without its last digit).
///
/// # Panics
///
/// If `payload` contains anything but ASCII digits; it is meant for generating numbers, not for
/// checking user input.
pub fn luhn_check_digit(payload: &str) -> char {
    let sum = luhn_sum(payload, true);
    let check = (10 - sum % 10) % 10;
    char::from_digit(check, 10).expect("a value below 10 is a decimal digit")
}

/// Luhn sum, doubling every second digit from the right; `double_last` is true when the check
/// digit is still missing, which shifts the doubling by one place.
fn luhn_sum(digits: &str, double_last: bool) -> u32 {
    digits
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).expect("Luhn input must be ASCII digits");
            if (i % 2 == 0) == double_last {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check_digit(payload: &str) -> String {
        format!("{payload}{}", luhn_check_digit(payload))
    }

    #[test]
    fn check_digit_matches_the_textbook_luhn_example() {
        assert_eq!(luhn_check_digit("7992739871"), '3');
    }

    #[test]
    fn check_digit_wraps_a_full_ten_to_zero() {
        assert_eq!(luhn_check_digit("622202100112340"), '0');
        assert!(CardNo::parse("6222021001123400").is_ok());
    }

    #[test]
    fn check_digit_doubles_the_rightmost_payload_digit() {
        assert_eq!(luhn_check_digit("18"), '2');
        assert_eq!(luhn_check_digit("109"), '9');
    }

    #[test]
    fn generated_numbers_of_every_allowed_length_parse() {
        for payload in ["622202100112345", "6222021001123456", "62220210011234567", "622202100112345678"] {
            let number = with_check_digit(payload);
            let card = CardNo::parse(&number).unwrap();
            assert_eq!(card.as_str(), number);
        }
    }

    #[test]
    fn accepts_independently_computed_numbers() {
        assert!(CardNo::parse("6222021001123456789").is_ok());
        assert!(CardNo::parse("4111111111111111").is_ok());
    }

    #[test]
    #[should_panic(expected = "Luhn input must be ASCII digits")]
    fn check_digit_refuses_non_digit_payload() {
        luhn_check_digit("62220A");
    }

    #[test]
    fn removes_spaces_between_digit_groups() {
        let card = CardNo::parse(" 6222 0210 0112 3456 789 ").unwrap();
        assert_eq!(card.as_str(), "6222021001123456789");
        assert_eq!(card.to_string(), "6222021001123456789");
    }

    #[test]
    fn masks_all_but_the_last_four_digits() {
        let card = CardNo::parse("6222021001123456789").unwrap();
        assert_eq!(card.masked(), "****6789");
    }

    #[test]
    fn rejects_empty_input_as_required() {
        assert_eq!(CardNo::parse(""), Err(DomainError::Required));
        assert_eq!(CardNo::parse("   "), Err(DomainError::Required));
    }

    #[test]
    fn rejects_numbers_shorter_than_16_or_longer_than_19_digits() {
        let fifteen = with_check_digit("62220210011234");
        let twenty = with_check_digit("6222021001123456789");
        assert_eq!(CardNo::parse(&fifteen), Err(DomainError::InvalidCardNo));
        assert_eq!(CardNo::parse(&twenty), Err(DomainError::InvalidCardNo));
    }

    #[test]
    fn rejects_non_digits() {
        assert_eq!(CardNo::parse("6222-0210-0112-3456"), Err(DomainError::InvalidCardNo));
        assert_eq!(CardNo::parse("622202100112345A"), Err(DomainError::InvalidCardNo));
        assert_eq!(CardNo::parse("６２２２０２１００１１２３４５６"), Err(DomainError::InvalidCardNo));
    }

    #[test]
    fn rejects_a_single_mistyped_digit() {
        assert_eq!(CardNo::parse("6222021001123456788"), Err(DomainError::CardNoChecksum));
        assert_eq!(CardNo::parse("6222021001123546789"), Err(DomainError::CardNoChecksum));
    }
}
